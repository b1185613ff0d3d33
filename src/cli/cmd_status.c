/* repart status: per day, what the cold tier holds, what the index covers,
 * which merged files are there and what a run would still have to do.
 * Reads listings and indexes only (no data). Exit 1 if a day could not be
 * read. */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "runtime.h"
#include "verify.h"

#define STATUS_DAYS_IN_FLIGHT 4

struct status_run {
    const struct verify_env *env;
    const struct day *days;
    size_t n;
    struct verify_day *rows;
    int *failed;
    atomic_size_t next, done;
};

static void *status_thread(void *arg)
{
    struct status_run *r = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            return NULL;
        r->failed[i] = verify_survey_day(r->env, &r->days[i], &r->rows[i]) != 0;
        size_t d = atomic_fetch_add(&r->done, 1) + 1;
        log_progress("status: %zu/%zu days", d, r->n);
    }
}

static json_t *row_json(const struct verify_day *v, int failed, const char *name)
{
    json_t *o = json_object();
    json_object_set_new(o, name ? "day" : "scope", json_string(name ? name : "total"));
    if (failed) {
        json_object_set_new(o, "error", json_string(v->err.msg));
        return o;
    }
    json_object_set_new(o, "objects", json_integer((json_int_t)v->cold_objects));
    json_object_set_new(o, "bytes", json_integer((json_int_t)v->cold_bytes));
    json_object_set_new(o, "bad_keys", json_integer((json_int_t)v->bad_keys));
    if (name)
        json_object_set_new(o, "index_exists", json_boolean(v->index_exists));
    json_object_set_new(o, "indexed_series", json_integer((json_int_t)v->index_series));
    json_object_set_new(o, "indexed_sources", json_integer((json_int_t)v->index_sources));
    json_object_set_new(o, "merged_files", json_integer((json_int_t)v->merged_files));
    json_object_set_new(o, "merged_bytes", json_integer((json_int_t)v->merged_bytes));
    json_object_set_new(o, "orphan_files", json_integer((json_int_t)v->n_kind[VK_ORPHAN]));
    json_object_set_new(o, "legacy_files", json_integer((json_int_t)v->legacy_files));
    json_object_set_new(o, "other_files", json_integer((json_int_t)v->other_files));
    json_object_set_new(o, "pending_objects", json_integer((json_int_t)v->pending));
    json_object_set_new(o, "pending_bytes", json_integer((json_int_t)v->pending_bytes));
    json_object_set_new(o, "new_series", json_integer((json_int_t)v->pending_series));
    if (name) {
        json_t *files = json_array();
        for (size_t i = 0; i < v->n_files; i++) {
            const struct verify_file *f = &v->files[i];
            const char *kind = f->status == VF_LEGACY  ? "legacy"
                               : f->status == VF_OTHER  ? "other"
                               : f->status == VF_ORPHAN ? "orphan"
                                                        : "merged";
            json_array_append_new(files, json_pack("{s:s, s:s, s:I, s:I}", "name", f->name,
                                                   "kind", kind, "size", (json_int_t)f->size,
                                                   "sources", (json_int_t)f->sources));
        }
        json_object_set_new(o, "files", files);
    }
    return o;
}

static void add(struct verify_day *t, const struct verify_day *v)
{
    t->cold_objects += v->cold_objects;
    t->cold_bytes += v->cold_bytes;
    t->bad_keys += v->bad_keys;
    t->index_series += v->index_series;
    t->index_sources += v->index_sources;
    t->merged_files += v->merged_files;
    t->merged_bytes += v->merged_bytes;
    t->n_kind[VK_ORPHAN] += v->n_kind[VK_ORPHAN];
    t->legacy_files += v->legacy_files;
    t->other_files += v->other_files;
    t->pending += v->pending;
    t->pending_bytes += v->pending_bytes;
    t->pending_series += v->pending_series;
}

static void print_row(const char *name, const struct verify_day *v)
{
    printf("%-10s %8zu %12lld %8zu %8zu %7zu %13lld %7zu %7zu %8zu %12lld\n", name, v->cold_objects,
           v->cold_bytes, v->index_series, v->index_sources, v->merged_files, v->merged_bytes,
           v->n_kind[VK_ORPHAN], v->legacy_files, v->pending, v->pending_bytes);
}

int cmd_status(const struct cli_opts *o, const struct config *cfg)
{
    struct day_list days = {0};
    struct runtime rt;
    int setup = cmd_open_days(o, cfg, &days, &rt, RUNTIME_S3);
    if (setup != CLI_EXIT_OK)
        return setup;
    struct verify_env env = {.cfg = cfg, .s3 = rt.s3, .pool = rt.pool, .filter = &rt.filter};
    struct verify_day *rows = calloc(days.n ? days.n : 1, sizeof *rows);
    int *failed = calloc(days.n ? days.n : 1, sizeof *failed);
    if (!rows || !failed) {
        fprintf(stderr, "repart: out of memory\n");
        free(rows);
        free(failed);
        runtime_close(&rt);
        day_list_free(&days);
        return CLI_EXIT_FAILED;
    }
    struct status_run run = {.env = &env, .days = days.v, .n = days.n, .rows = rows,
                             .failed = failed};
    pthread_t tids[STATUS_DAYS_IN_FLIGHT];
    int started = 0;
    for (int i = 0; i < STATUS_DAYS_IN_FLIGHT && (size_t)i < days.n; i++)
        if (pthread_create(&tids[started], NULL, status_thread, &run) == 0)
            started++;
    if (started == 0)
        status_thread(&run);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    log_progress_done();

    struct verify_day tot;
    memset(&tot, 0, sizeof tot);
    size_t n_failed = 0;
    for (size_t i = 0; i < days.n; i++) {
        if (failed[i])
            n_failed++;
        else
            add(&tot, &rows[i]);
    }
    if (o->json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < days.n; i++) {
            char ds[DAY_STR_MAX];
            json_array_append_new(arr, row_json(&rows[i], failed[i], day_format(&days.v[i], ds)));
        }
        json_t *total = row_json(&tot, 0, NULL);
        json_object_set_new(total, "days", json_integer((json_int_t)days.n));
        json_object_set_new(total, "days_failed", json_integer((json_int_t)n_failed));
        json_t *root = json_pack("{s:o, s:o}", "days", arr, "total", total);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(root);
    } else {
        printf("%-10s %8s %12s %8s %8s %7s %13s %7s %7s %8s %12s\n", "day", "objects", "bytes",
               "idx_ser", "idx_src", "merged", "merged_bytes", "orphans", "legacy", "pending",
               "pending_bytes");
        for (size_t i = 0; i < days.n; i++) {
            char ds[DAY_STR_MAX];
            day_format(&days.v[i], ds);
            if (failed[i])
                printf("%-10s FAILED: %s\n", ds, rows[i].err.msg);
            else
                print_row(ds, &rows[i]);
        }
        print_row("total", &tot);
    }
    for (size_t i = 0; i < days.n; i++) {
        char ds[DAY_STR_MAX];
        day_format(&days.v[i], ds);
        if (failed[i])
            fprintf(stderr, "repart: %s: %s\n", ds, rows[i].err.msg);
        else if (rows[i].bad_keys)
            log_msg(LOG_WARN, ds, "bad_key", "%zu key(s) under the day do not parse", rows[i].bad_keys);
        verify_day_free(&rows[i]);
    }
    free(rows);
    free(failed);
    runtime_close(&rt);
    day_list_free(&days);
    return n_failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}
