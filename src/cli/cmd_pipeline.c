/* The pipeline commands: download, merge, upload, all; and cmd_run_days,
 * which event and watch share with them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "layout.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "runtime.h"
#include "scan.h"
#include "stop.h"

static double wall_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_day(const void *a, const void *b)
{
    return day_item_cmp(a, b);
}

/* Days of dataset `ds` staged under <work_dir>/<stage>/ (folders named
 * YYYY-M-D; agg's under <work_dir>/agg/), appended to *out. */
static int staged_days(const struct config *cfg, int ds, const char *stage, struct day_list *out,
                       struct err *e)
{
    struct config view;
    if (config_dataset_view(cfg, ds, &view, e) != 0)
        return -1;
    char path[2048];
    if (layout_stage_dir(&view, stage, NULL, path, sizeof path) != 0)
        return err_setk(e, ERR_USAGE, "work_dir too long");
    DIR *d = opendir(path);
    if (!d)
        return 0;  /* nothing staged */
    size_t cap = out->n;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct day day = {0};
        char check[DAY_FOLDER_MAX], tail;
        if (sscanf(de->d_name, "%d-%d-%d%c", &day.y, &day.m, &day.d, &tail) != 3 ||
            !day_valid(&day) || strcmp(day_folder(&day, check), de->d_name) != 0)
            continue;
        day.ds = ds;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct day *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                closedir(d);
                return err_set(e, "out of memory");
            }
            out->v = v;
        }
        out->v[out->n++] = day;
    }
    closedir(d);
    return 0;
}

/* Every (day, dataset) pair of days x ds[0..nds), in work order. */
static int day_items(const struct day_list *days, const int *ds, int nds, struct day_list *out,
                     struct err *e)
{
    memset(out, 0, sizeof *out);
    if (!days->n || !nds)
        return 0;
    out->v = calloc(days->n * (size_t)nds, sizeof *out->v);
    if (!out->v)
        return err_set(e, "out of memory");
    for (size_t i = 0; i < days->n; i++)
        for (int k = 0; k < nds; k++) {
            out->v[out->n] = days->v[i];
            out->v[out->n++].ds = ds[k];
        }
    return 0;
}

/* 1 when anything is listed under bucket/prefix, 0 when nothing, -1 (e set)
 * when the listing fails. One page at most. */
static int prefix_has_keys(struct runtime *rt, const char *bucket, const char *prefix,
                           struct err *e)
{
    struct s3_object_list l = {0};
    int truncated = 0;
    int rc = s3_list_pages(rt->s3, bucket, prefix, 1, &l, &truncated, e);
    size_t found = l.n;
    s3_object_list_free(&l);
    return rc != 0 ? -1 : found > 0;
}

int cmd_datasets(const struct config *cfg, struct runtime *rt, int read_only, int ds[2])
{
    int n = config_dataset_list(cfg, ds);
    /* "all" means both where both exist: agg is left out, with one line,
     * when nothing is under its prefix (a cold tier without aggregates) and
     * nothing of it was committed (what verify, status and athena read) */
    if (cfg->datasets == CONFIG_DS_ALL && n == 2 && rt && rt->s3) {
        struct err e = {0};
        int has = prefix_has_keys(rt, cfg->s3.cold_tier.bucket_name, cfg->s3.cold_tier.agg_prefix,
                                  &e);
        if (has == 0)
            has = prefix_has_keys(rt, cfg->s3.repartitioned.bucket_name,
                                  cfg->s3.repartitioned.agg_index_prefix, &e);
        if (has < 0 && read_only) {
            /* a check must not pass by leaving out what it cannot see */
            log_msg(LOG_WARN, NULL, "dataset_unknown", "agg: cannot tell whether it exists (%s): "
                    "checked as well (--dataset raw leaves it out)", e.msg);
        } else if (has < 0) {
            /* e.g. a role that may list raw/ only: say so, go on with raw */
            log_msg(LOG_WARN, NULL, "dataset_unknown", "agg: cannot list s3://%s/%s (%s): only "
                    "raw is processed (--dataset agg processes it regardless)",
                    cfg->s3.cold_tier.bucket_name, cfg->s3.cold_tier.agg_prefix, e.msg);
            n = 1;
        } else if (has == 0) {
            log_msg(LOG_DEBUG, NULL, "dataset_absent", "agg: nothing under s3://%s/%s and "
                    "nothing committed under s3://%s/%s: only raw", cfg->s3.cold_tier.bucket_name,
                    cfg->s3.cold_tier.agg_prefix, cfg->s3.repartitioned.bucket_name,
                    cfg->s3.repartitioned.agg_index_prefix);
            n = 1;
        }
    }
    return n;
}

static void print_summary(const char *cmd, const struct day_result *r, size_t n,
                          const struct report_totals *t, const char *rerun)
{
    char stopped[160] = "";
    if (t->signal)
        snprintf(stopped, sizeof stopped, ", %zu stopped or not started (stopped by %s)",
                 t->stopped, stop_signal_name(t->signal));
    else if (t->stopped)
        snprintf(stopped, sizeof stopped, ", %zu not started (the S3 endpoint cannot be "
                 "reached)", t->stopped);
    struct log_field fs[] = {
        LOG_INT("days", t->days), LOG_INT("done", t->done), LOG_INT("nothing_new", t->nothing_new),
        LOG_INT("failed", t->failed), LOG_INT("stopped", t->stopped),
        LOG_INT("objects", t->new_objects), LOG_INT("records", t->records),
        LOG_INT("bytes_in", t->bytes_in), LOG_INT("bytes_out", t->bytes_out),
        LOG_NUM("seconds", t->secs),
    };
    log_event(t->signal ? LOG_WARN : LOG_INFO, NULL, "summary", fs, sizeof fs / sizeof *fs,
            "%s: %zu day(s): %zu done, %zu with nothing new, %zu failed%s; %zu object(s) merged, "
            "%llu records, %.1f MB in, %.1f MB out, %.1f s (%.1f MB/s)",
            cmd, t->days, t->done, t->nothing_new, t->failed, stopped, t->new_objects,
            t->records, (double)t->bytes_in / 1e6, (double)t->bytes_out / 1e6, t->secs,
            t->secs > 0 ? (double)t->bytes_in / 1e6 / t->secs : 0.0);
    size_t untidy = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].cleanup_pending) {
            untidy++;
            char dn[DAY_ITEM_MAX];
            day_item_format(&r[i].day, dn);
            log_msg(LOG_WARN, dn, "cleanup_pending", "committed, but a "
                    "file folded into merged.avro is still there: queries count its records "
                    "twice until the day's next run deletes it (the rerun command names it)");
        }
    for (size_t i = 0; i < n; i++)
        if (r[i].status == DAY_FAILED) {
            char dn[DAY_ITEM_MAX];
            day_item_format(&r[i].day, dn);
            log_msg(LOG_ERROR, dn, "day_failed", "%s%s", r[i].err.msg,
                    r[i].commit_uncertain ? " (commit uncertain: a rerun settles it)" : "");
        }
    if (rerun)
        log_msg(LOG_ERROR, NULL, "rerun", "to rerun only the %s days: %s",
                t->stopped ? t->failed ? "failed, stopped and not started" : "stopped and not started"
                           : !t->failed ? "not tidied"
                           : untidy ? "failed and not tidied" : "failed", rerun);
}

int cmd_run_days(const struct cli_opts *o, const struct config *cfg, struct runtime *rt,
                 enum pipeline_mode mode, const struct day *days, size_t n,
                 struct day_result *results, size_t *n_failed)
{
    struct err e = {0};
    struct pipeline_env env = {cfg, rt->s3, rt->pool, &rt->filter, 0, rt->locking,
                               stop_flag(), rt->stale_upload_secs};
    double t0 = wall_secs();
    size_t failed = pipeline_run(&env, mode, days, n, results);
    *n_failed = failed;
    struct report_totals t;
    report_totals(results, n, wall_secs() - t0, &t);
    t.signal = stop_signal();

    char rerun[4096];
    const char *rerun_cmd = NULL;
    size_t rerun_n = 0;
    for (size_t i = 0; i < n; i++)
        rerun_n += report_needs_rerun(&results[i]) != 0;
    if (rerun_n) {
        /* the calendar days once each; --dataset when only one dataset needs it
         * in a run that had both */
        struct day *fd = calloc(rerun_n, sizeof *fd);
        size_t k = 0;
        int need[2] = {0, 0}, had[2] = {0, 0};
        for (size_t i = 0; i < n; i++)
            had[days[i].ds == 1] = 1;
        for (size_t i = 0; fd && i < n; i++)
            if (report_needs_rerun(&results[i])) {
                need[results[i].day.ds == 1] = 1;
                if (!k || day_cmp(&fd[k - 1], &results[i].day) != 0)
                    fd[k++] = results[i].day;
            }
        if (fd)
            rerun_cmd = cli_rerun_command(o, fd, k, rerun, sizeof rerun);
        if (rerun_cmd && (need[0] != need[1]) && (had[0] && had[1] ? 1 : need[1])) {
            size_t l = strlen(rerun);
            snprintf(rerun + l, sizeof rerun - l, " --dataset %s", need[1] ? "agg" : "raw");
        }
        free(fd);
    }
    print_summary(o->cmd->name, results, n, &t, rerun_cmd);
    /* days not started without a signal: the endpoint cannot be reached */
    int exit_code = t.signal ? stop_exit_code()
                  : failed || t.stopped ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    /* a whole range that lists nothing: a prefix one level too high is a
     * configuration error, not "nothing new" */
    if (exit_code == CLI_EXIT_OK && n && (mode == PIPELINE_ALL || mode == PIPELINE_DOWNLOAD)) {
        size_t listed = 0;
        for (size_t i = 0; i < n; i++)
            listed += results[i].objects + results[i].bad_keys + results[i].skipped_keys;
        struct scan_ctx sc = {cfg, rt->s3, rt->pool, &rt->filter};
        char why[1600];
        if (listed == 0 && scan_prefix_misplaced(&sc, why, sizeof why)) {
            log_msg(LOG_ERROR, NULL, "prefix", "%s", why);
            exit_code = CLI_EXIT_USAGE;
        }
    }
    if (o->report && report_write(o->report, rt->s3, o->cmd->name, results, n, &t, rerun_cmd, &e) != 0) {
        log_msg(LOG_ERROR, NULL, "report", "%s", e.msg);
        if (!t.signal)
            exit_code = CLI_EXIT_FAILED;
    }
    return exit_code;
}

static int run_stage(const struct cli_opts *o, const struct config *cfg, enum pipeline_mode mode)
{
    struct err e = {0};
    struct day_list days = {0}, given = {0};
    int rc = 0;
    int staged = (mode == PIPELINE_MERGE || mode == PIPELINE_UPLOAD) && !cli_days_given(o);
    stop_install();   /* SIGTERM/SIGINT: graceful stop (stop.h) */
    if (!staged && cli_days(o, cfg, &given, &e) != 0) {
        log_msg(LOG_ERROR, NULL, "usage", "%s", e.msg);
        return CLI_EXIT_USAGE;
    }
    struct runtime rt;
    /* download writes too: it commits what the sample's files hold */
    int flags = mode == PIPELINE_MERGE ? 0 : RUNTIME_S3 | RUNTIME_WRITES;
    if (runtime_open(&rt, cfg, flags, &e) != 0) {
        log_msg(LOG_ERROR, NULL, "setup", "%s", e.msg);
        runtime_close(&rt);
        day_list_free(&given);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    int ds[2], nds = config_dataset_list(cfg, ds);
    if (staged) {
        for (int k = 0; rc == 0 && k < nds; k++)
            rc = staged_days(cfg, ds[k], mode == PIPELINE_MERGE ? "raw" : "merged", &days, &e);
        if (rc == 0 && days.n)
            qsort(days.v, days.n, sizeof *days.v, cmp_day);
    } else {
        if (flags & RUNTIME_S3)
            nds = cmd_datasets(cfg, &rt, 0, ds);
        rc = day_items(&given, ds, nds, &days, &e);
    }
    day_list_free(&given);
    if (rc != 0) {
        log_msg(LOG_ERROR, NULL, "usage", "%s", e.msg);
        runtime_close(&rt);
        day_list_free(&days);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    if (cfg->timeseries_type != CONFIG_TS_ALL)
        log_msg(LOG_INFO, NULL, "timeseries_type", "timeseries_type %s: %zu associated series known",
                config_ts_type_name(cfg->timeseries_type), rt.assoc.n);
    struct day_result *results = calloc(days.n ? days.n : 1, sizeof *results);
    size_t failed;
    int exit_code;
    if (!results) {
        log_msg(LOG_ERROR, NULL, "setup", "out of memory");
        exit_code = CLI_EXIT_FAILED;
    } else {
        exit_code = cmd_run_days(o, cfg, &rt, mode, days.v, days.n, results, &failed);
    }
    free(results);
    runtime_close(&rt);
    day_list_free(&days);
    return exit_code;
}

int cmd_download(const struct cli_opts *o, const struct config *cfg)
{
    return run_stage(o, cfg, PIPELINE_DOWNLOAD);
}

int cmd_merge(const struct cli_opts *o, const struct config *cfg)
{
    return run_stage(o, cfg, PIPELINE_MERGE);
}

int cmd_upload(const struct cli_opts *o, const struct config *cfg)
{
    return run_stage(o, cfg, PIPELINE_UPLOAD);
}

int cmd_all(const struct cli_opts *o, const struct config *cfg)
{
    return run_stage(o, cfg, PIPELINE_ALL);
}

int cmd_each_dataset(const struct cli_opts *o, const struct config *cfg, cli_run_fn fn)
{
    int ds[2], nds = config_dataset_list(cfg, ds);
    if (nds == 2 && cfg->datasets == CONFIG_DS_ALL) {
        struct runtime rt;
        struct err e = {0};
        /* verify, status and plan check agg when its presence cannot be
         * told; athena prints what it can (agg's table needs its files) */
        int check = !(o->cmd && strcmp(o->cmd->name, "athena") == 0);
        if (runtime_open(&rt, cfg, 0, &e) == 0)
            nds = cmd_datasets(cfg, &rt, check, ds);
        runtime_close(&rt);
    }
    int worst = CLI_EXIT_OK;
    for (int k = 0; k < nds; k++) {
        struct config view;
        struct err e = {0};
        if (config_dataset_view(cfg, ds[k], &view, &e) != 0) {
            fprintf(stderr, "repart: %s\n", e.msg);
            return CLI_EXIT_USAGE;
        }
        if (k && o->cmd && strcmp(o->cmd->name, "athena") == 0) {
            printf("\n");   /* between the two tables' statements */
            fflush(stdout);
        } else if (nds > 1 && !o->json && !(o->cmd && strcmp(o->cmd->name, "athena") == 0)) {
            printf("%s== dataset %s (s3://%s/%s) ==\n", k ? "\n" : "",
                   config_dataset_name(ds[k]), view.s3.cold_tier.bucket_name,
                   view.s3.cold_tier.data_prefix);
            fflush(stdout);
        }
        int rc = fn(o, &view);
        if (rc == CLI_EXIT_USAGE)
            return rc;
        if (rc > worst)
            worst = rc;
    }
    return worst;
}

int cmd_open_days(const struct cli_opts *o, const struct config *cfg, struct day_list *days,
                  struct runtime *rt, int runtime_flags)
{
    struct err e = {0};
    memset(days, 0, sizeof *days);
    if (cli_days(o, cfg, days, &e) != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        day_list_free(days);
        return CLI_EXIT_USAGE;
    }
    if (runtime_open(rt, cfg, runtime_flags, &e) != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        runtime_close(rt);
        day_list_free(days);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}
