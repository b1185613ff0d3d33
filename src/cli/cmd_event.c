/* repart event [--object s3://BUCKET/KEY]... [FILE|-]: the days named by one
 * S3 event document (or by the objects given), each processed once with
 * the `all` pipeline. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "event.h"
#include "log.h"
#include "report.h"
#include "stop.h"
#include "watch.h"

/* Reads the whole of `path` ("-" = stdin) into a malloc'd buffer (caller
 * frees), at most EVENT_DOC_MAX bytes. Returns 0, or -1 with e (ERR_USAGE
 * when the file cannot be opened, ERR_DATA when it is too large). */
static int read_input(const char *path, char **out, size_t *len, struct err *e)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (!f)
        return err_setk(e, ERR_USAGE, "%s: %s", path, strerror(errno));
    const char *name = is_stdin ? "standard input" : path;
    size_t cap = 64 * 1024, n = 0;
    char *b = malloc(cap);
    int rc = -1;
    if (!b) {
        err_set(e, "out of memory");
        goto out;
    }
    for (;;) {
        if (n == cap) {
            if (cap > EVENT_DOC_MAX) {
                err_setk(e, ERR_DATA, "%s: larger than %u bytes: not an event document", name,
                         EVENT_DOC_MAX);
                goto out;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                err_set(e, "out of memory");
                goto out;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                err_set(e, "%s: read error: %s", name, strerror(errno));
                goto out;
            }
            break;
        }
    }
    if (n > EVENT_DOC_MAX) {
        err_setk(e, ERR_DATA, "%s: larger than %u bytes: not an event document", name,
                 EVENT_DOC_MAX);
        goto out;
    }
    *out = b;
    *len = n;
    b = NULL;
    rc = 0;
out:
    free(b);
    if (!is_stdin)
        fclose(f);
    return rc;
}

/* --object s3://BUCKET/KEY (the form cli.c checked): the day, as an
 * EventBridge "Object Created" event of that object would name it. */
static int object_day(const char *arg, const struct event_filter *f, struct day_list *days,
                      size_t *skipped, struct err *e)
{
    const char *b = arg + 5, *slash = strchr(b, '/');
    char bucket[256];
    size_t bl = (size_t)(slash - b);
    if (bl >= sizeof bucket || strlen(slash + 1) > EVENT_KEY_MAX) {
        log_msg(LOG_WARN, NULL, "skip", "--object %.80s...: bucket or key too long", arg);
        (*skipped)++;
        return 0;
    }
    memcpy(bucket, b, bl);
    bucket[bl] = '\0';
    struct event_record r = {
        .from = EVENT_FROM_EVENTBRIDGE,
        .where = "--object",
        .bucket = bucket,
        .key = (char *)(slash + 1),
        .event_name = "Object Created",
        .size = -1,
        .created = 1,
    };
    struct day d = {0};
    char why[ERR_MSG_MAX];
    if (!event_record_day(&r, f, &d, why, sizeof why)) {
        log_msg(LOG_INFO, NULL, "skip", "--object: %s", why);
        (*skipped)++;
        return 0;
    }
    if (event_day_list_add(days, &d) < 0)
        return err_set(e, "out of memory");
    return 0;
}

static int write_empty_report(const struct cli_opts *o, const struct config *cfg)
{
    struct err e = {0};
    struct report_totals t;
    report_totals(NULL, 0, 0, &t);
    if (!o->report)
        return CLI_EXIT_OK;
    /* an s3:// report needs a client (no credentials are resolved before) */
    struct runtime rt;
    int rc = runtime_open(&rt, cfg, 0, &e);
    if (rc == 0)
        rc = report_write(o->report, rt.s3, o->cmd->name, NULL, 0, &t, NULL, &e);
    runtime_close(&rt);
    if (rc != 0) {
        log_msg(LOG_ERROR, NULL, "report", "%s", e.msg);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

void cmd_event_filter(const struct config *cfg, struct event_filter *f)
{
    int ds[2], n = config_dataset_list(cfg, ds);
    f->bucket = cfg->s3.cold_tier.bucket_name;
    f->data_prefix = NULL;
    f->agg_prefix = NULL;
    for (int i = 0; i < n; i++) {
        if (ds[i] == 0)
            f->data_prefix = cfg->s3.cold_tier.data_prefix;
        else
            f->agg_prefix = cfg->s3.cold_tier.agg_prefix;
    }
}

int cmd_event(const struct cli_opts *o, const struct config *cfg)
{
    struct err e = {0};
    struct event_filter f;
    cmd_event_filter(cfg, &f);
    struct event_batch b;
    memset(&b, 0, sizeof b);
    int exit_code;
    size_t records, used, skipped;
    const char *what;

    if (o->n_objects) {
        skipped = 0;
        for (size_t i = 0; i < o->n_objects; i++)
            if (object_day(o->objects[i], &f, &b.days, &skipped, &e) < 0) {
                log_msg(LOG_ERROR, NULL, "event", "%s", e.msg);
                event_batch_free(&b);
                return CLI_EXIT_FAILED;
            }
        records = o->n_objects;
        used = records - skipped;
        what = "--object";
    } else {
        char *buf;
        size_t len;
        what = strcmp(o->input, "-") == 0 ? "standard input" : o->input;
        if (read_input(o->input, &buf, &len, &e) < 0) {
            log_msg(LOG_ERROR, NULL, "event", "%s", e.msg);
            return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        }
        struct event_doc_days dd;
        int rc = event_batch_add(&b, buf, len, what, &f, &dd, &e);
        free(buf);
        if (rc < 0) {
            /* bad input, not a usage error: exit 1 so that a job retries or alarms */
            log_msg(LOG_ERROR, NULL, "event", "%s", e.msg);
            event_batch_free(&b);
            return CLI_EXIT_FAILED;
        }
        day_list_free(&dd.days);
        for (size_t i = 0; i < b.n_skipped_kept; i++)
            log_msg(LOG_INFO, NULL, "skip", "%s", b.skipped[i]);
        if (b.n_skipped > b.n_skipped_kept)
            log_msg(LOG_INFO, NULL, "skip", "%zu more record(s) skipped",
                    b.n_skipped - b.n_skipped_kept);
        if (dd.ignored) {
            log_msg(LOG_INFO, NULL, "event", "%s: a test event or SNS subscription message: "
                    "nothing to do", what);
            event_batch_free(&b);
            return write_empty_report(o, cfg);
        }
        records = b.n_records;
        used = b.n_used;
        skipped = b.n_skipped;
    }

    size_t nd = b.days.n;
    char dt[256];
    log_msg(LOG_INFO, NULL, "event", "%s: %zu object record(s), %zu used, %zu skipped: %zu day(s)%s%s",
            what, records, used, skipped, nd, nd ? ": " : "",
            watch_days_text(b.days.v, nd, dt, sizeof dt));
    if (nd == 0) {
        event_batch_free(&b);
        return write_empty_report(o, cfg);
    }

    struct runtime rt;
    stop_install();   /* SIGTERM/SIGINT: graceful stop (stop.h) */
    if (runtime_open(&rt, cfg, RUNTIME_S3 | RUNTIME_WRITES, &e) != 0) {
        log_msg(LOG_ERROR, NULL, "setup", "%s", e.msg);
        runtime_close(&rt);
        event_batch_free(&b);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    struct day_result *results = calloc(nd, sizeof *results);
    if (!results) {
        log_msg(LOG_ERROR, NULL, "setup", "out of memory");
        exit_code = CLI_EXIT_FAILED;
    } else {
        size_t failed;
        exit_code = cmd_run_days(o, cfg, &rt, PIPELINE_ALL, b.days.v, nd, results, &failed);
    }
    free(results);
    runtime_close(&rt);
    event_batch_free(&b);
    return exit_code;
}
