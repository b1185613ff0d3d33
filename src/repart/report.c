#include "report.h"

#include "stop.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *report_status_name(enum day_status s)
{
    switch (s) {
    case DAY_DONE: return "done";
    case DAY_NOTHING_NEW: return "nothing_new";
    case DAY_FAILED: return "failed";
    case DAY_STOPPED: return "stopped";
    default: return "pending";
    }
}

void report_totals(const struct day_result *r, size_t n, double secs, struct report_totals *t)
{
    memset(t, 0, sizeof *t);
    t->days = n;
    t->secs = secs;
    for (size_t i = 0; i < n; i++) {
        t->done += r[i].status == DAY_DONE;
        t->nothing_new += r[i].status == DAY_NOTHING_NEW;
        t->failed += r[i].status == DAY_FAILED;
        t->stopped += r[i].status == DAY_STOPPED;
        t->uncertain += r[i].status == DAY_FAILED && r[i].commit_uncertain;
        t->objects += r[i].objects;
        t->bytes_in += r[i].bytes_in;   /* moved, committed or not */
        if (r[i].status != DAY_DONE)
            continue;   /* merged, records, sent: only what was committed (staged) */
        t->new_objects += r[i].new_objects;
        t->records += r[i].records;
        t->bytes_out += r[i].bytes_out;
    }
}

int report_needs_rerun(const struct day_result *r)
{
    return r->status == DAY_FAILED || r->status == DAY_STOPPED || r->cleanup_pending;
}

static json_t *str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;
    return j ? j : json_null();
}

int report_write(const char *path, struct s3_client *s3, const char *command,
                 const struct day_result *r, size_t n, const struct report_totals *t,
                 const char *rerun, struct err *e)
{
    json_t *days = json_array();
    for (size_t i = 0; i < n; i++) {
        char ds[DAY_STR_MAX];
        json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f, s:f}}",
                              "day", day_format(&r[i].day, ds),
                              "dataset", r[i].day.ds == 1 ? "agg" : "raw",
                              "status", report_status_name(r[i].status),
                              "objects", (json_int_t)r[i].objects,
                              "new_objects", (json_int_t)r[i].new_objects,
                              "new_series", (json_int_t)r[i].series_new,
                              "records", (json_int_t)r[i].records,
                              "bytes_in", (json_int_t)r[i].bytes_in,
                              "bytes_out", (json_int_t)r[i].bytes_out,
                              "sources_block_copied", (json_int_t)r[i].sources_copied,
                              "seconds", "list", r[i].secs_list, "download", r[i].secs_download,
                              "merge", r[i].secs_merge, "upload", r[i].secs_upload,
                              "total", r[i].secs_total);
        if (r[i].merged_key[0] && r[i].status == DAY_DONE)
            json_object_set_new(d, "merged_key", str_or_null(r[i].merged_key));
        if (r[i].status == DAY_FAILED || (r[i].status == DAY_STOPPED && r[i].err.msg[0]))
            json_object_set_new(d, "error", str_or_null(r[i].err.msg));
        if (r[i].cleanup_pending)
            json_object_set_new(d, "cleanup_pending", json_true());
        if (r[i].status == DAY_FAILED)
            json_object_set_new(d, "commit", json_string(r[i].commit_uncertain ? "uncertain"
                                                                               : "none"));
        json_array_append_new(days, d);
    }
    json_t *root = json_pack("{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}, s:o}",
                             "command", command,
                             "totals", "days", (json_int_t)t->days, "done", (json_int_t)t->done,
                             "nothing_new", (json_int_t)t->nothing_new,
                             "failed", (json_int_t)t->failed, "objects", (json_int_t)t->objects,
                             "new_objects", (json_int_t)t->new_objects,
                             "records", (json_int_t)t->records,
                             "bytes_in", (json_int_t)t->bytes_in,
                             "bytes_out", (json_int_t)t->bytes_out, "seconds", t->secs,
                             "days", days);
    if (!root)
        return err_set(e, "out of memory");
    json_t *tot = json_object_get(root, "totals");
    json_object_set_new(tot, "stopped", json_integer((json_int_t)t->stopped));
    json_object_set_new(tot, "commit_uncertain", json_integer((json_int_t)t->uncertain));
    json_object_set_new(root, "stopped_by", t->signal ? json_string(stop_signal_name(t->signal))
                                                      : json_null());
    json_object_set_new(root, "rerun", str_or_null(rerun));
    int rc = report_save(path, s3, root, e);
    json_decref(root);
    return rc;
}

/* s3://BUCKET/KEY: 1 with bucket and key split, 0 when path is not an s3 URL,
 * -1 when it is one of the wrong form. */
static int s3_path(const char *path, char *bucket, size_t bsize, const char **key)
{
    if (strncmp(path, "s3://", 5) != 0)
        return 0;
    const char *b = path + 5, *slash = strchr(b, '/');
    if (!slash || slash == b || (size_t)(slash - b) >= bsize || !slash[1] ||
        path[strlen(path) - 1] == '/')
        return -1;
    memcpy(bucket, b, (size_t)(slash - b));
    bucket[slash - b] = '\0';
    *key = slash + 1;
    return 1;
}

int report_check_path(const char *path, struct err *e)
{
    char bucket[256];
    const char *key;
    if (strcmp(path, "-") == 0)
        return 0;
    int s3 = s3_path(path, bucket, sizeof bucket, &key);
    if (s3 < 0)
        return err_setk(e, ERR_USAGE, "--report %s: expected s3://BUCKET/KEY (a key, not a "
                        "folder)", path);
    if (s3 > 0)
        return 0;
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return err_setk(e, ERR_USAGE, "--report %s: is a directory", path);
        if (!S_ISREG(st.st_mode))
            return err_setk(e, ERR_USAGE, "--report %s: not a regular file", path);
        if (access(path, W_OK) != 0)
            return err_setk(e, ERR_USAGE, "--report %s: %s", path, strerror(errno));
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (stat(dir, &st) != 0)
        return err_setk(e, ERR_USAGE, "--report %s: folder %s: %s", path, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return err_setk(e, ERR_USAGE, "--report %s: %s is not a folder", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
        return err_setk(e, ERR_USAGE, "--report %s: folder %s is not writable: %s", path, dir,
                        strerror(errno));
    return 0;
}

int report_save(const char *path, struct s3_client *s3, json_t *doc, struct err *e)
{
    if (strcmp(path, "-") == 0) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        fflush(stdout);
        return 0;
    }
    char bucket[256];
    const char *key;
    int is_s3 = s3_path(path, bucket, sizeof bucket, &key);
    if (is_s3 < 0)
        return err_setk(e, ERR_USAGE, "cannot write the report %s: expected s3://BUCKET/KEY",
                        path);
    if (is_s3 > 0) {
        if (!s3)
            return err_set(e, "cannot write the report %s: no S3 client", path);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
            return err_set(e, "cannot write the report %s: out of memory", path);
        struct s3_put_opts po = {.content_type = "application/json"};
        int rc = s3_put(s3, bucket, key, text, strlen(text), &po, NULL, e);
        free(text);
        if (rc != 0)
            return err_prefix(e, "cannot write the report %s: ", path);
        return 0;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0) {
        int en = errno;
        unlink(tmp);
        return err_set(e, "cannot write the report %s: %s", path, strerror(en));
    }
    if (rename(tmp, path) != 0) {
        int en = errno;
        unlink(tmp);
        return err_set(e, "cannot write the report %s: %s", path, strerror(en));
    }
    return 0;
}
