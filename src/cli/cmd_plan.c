/* repart plan: what a run would do per day. Writes nothing. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "runtime.h"
#include "scan.h"

struct plan_row {
    struct day day;
    int failed;
    struct err err;
    size_t objects, series, series_indexed, series_new, new_objects, bad_keys, skipped, filtered;
    size_t listings;
    long long bytes, new_bytes;
    int index_exists;
};

static json_t *row_json(const struct plan_row *r, const char *name)
{
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                          name ? "day" : "scope", name ? name : "total",
                          "objects", (json_int_t)r->objects, "bytes", (json_int_t)r->bytes,
                          "series", (json_int_t)r->series,
                          "series_indexed", (json_int_t)r->series_indexed,
                          "series_new", (json_int_t)r->series_new,
                          "new_objects", (json_int_t)r->new_objects,
                          "new_bytes", (json_int_t)r->new_bytes,
                          "bad_keys", (json_int_t)r->bad_keys,
                          "skipped_keys", (json_int_t)r->skipped);
    if (name) {
        json_object_set_new(o, "index_exists", json_boolean(r->index_exists));
        json_object_set_new(o, "listings", json_integer((json_int_t)r->listings));
        if (r->failed)
            json_object_set_new(o, "error", json_string(r->err.msg));
    }
    return o;
}

/* Throughput of `repart all` measured by scripts/bench-pipeline (see
 * docs/benchmarks.md: 183 MB day in ~3.6 s against the local server). Real
 * S3 from a well-placed instance is usually faster; REPART_PLAN_MBPS sets
 * another figure. */
#define PLAN_DEFAULT_MBPS 50.0

struct plan_estimate {
    long long bytes_in, bytes_out;   /* fetched; uploaded (block copy: about the same) */
    long long objects;
    long long requests;
    double seconds, mbps;
};

/* What a run over these rows would move and ask: per day with new data, the
 * listing (see scan.c) + the index (list, GET), one GET per new object, the upload
 * (one PUT, or create + parts + complete), the re-read GET, the index PUT;
 * per day with nothing new, the listings and the index. */
static void plan_estimate(const struct plan_row *rows, size_t n, const struct config *cfg,
                          struct plan_estimate *est)
{
    memset(est, 0, sizeof *est);
    long long part = (long long)cfg->part_size_mb << 20;
    for (size_t i = 0; i < n; i++) {
        const struct plan_row *r = &rows[i];
        /* one page of the day, or that page + the folders + 16 parallel
         * listings (+ one per other folder): as the scan did */
        est->requests += (long long)(r->listings ? r->listings : 1) + 2;
        if (r->failed || r->new_objects == 0)
            continue;
        est->objects += (long long)r->new_objects;
        est->bytes_in += r->new_bytes;
        est->bytes_out += r->new_bytes;
        long long parts = part > 0 ? (r->new_bytes + part - 1) / part : 1;
        est->requests += (long long)r->new_objects + (parts > 1 ? parts + 2 : 1) + 1 + 1;
    }
    const char *env = getenv("REPART_PLAN_MBPS");
    est->mbps = env && atof(env) > 0 ? atof(env) : PLAN_DEFAULT_MBPS;
    est->seconds = (double)est->bytes_in / 1e6 / est->mbps;
}

/* Scans day i of n into r; 0, or -1 with r->err (the day failed). */
static int plan_day(const struct scan_ctx *sc, const struct day *day, size_t i, size_t n,
                    struct plan_row *r)
{
    r->day = *day;
    struct day_scan s;
    char ds[DAY_STR_MAX];
    int rc = 0;
    log_progress("plan: %s (%zu/%zu)", day_format(&r->day, ds), i + 1, n);
    if (scan_day(sc, day, &s, &r->err) != 0) {
        r->failed = 1;
        rc = -1;
    } else {
        r->objects = s.n_src;
        r->bytes = s.bytes;
        r->series = s.series;
        r->series_indexed = s.series_indexed;
        r->series_new = s.series_new;
        r->new_objects = s.n_new;
        r->new_bytes = s.bytes_new;
        r->bad_keys = s.n_bad_keys;
        r->skipped = s.n_skipped;
        r->listings = s.n_listings;
        r->index_exists = s.index_exists;
        if (s.n_bad_keys)
            log_msg(LOG_WARN, ds, "bad_key", "%zu .avro key(s) do not parse (a run fails "
                    "the day); first: %s", s.n_bad_keys, s.bad_key.msg);
        if (s.n_skipped)
            log_msg(LOG_WARN, ds, "skipped_keys", "%zu key(s) that are not data skipped "
                    "(folder markers, names not ending in .avro); first: \"%s\"",
                    s.n_skipped, s.skipped_key);
    }
    scan_free(&s);
    return rc;
}

static void add_total(struct plan_row *tot, const struct plan_row *r)
{
    tot->objects += r->objects;
    tot->bytes += r->bytes;
    tot->series += r->series;
    tot->series_indexed += r->series_indexed;
    tot->series_new += r->series_new;
    tot->new_objects += r->new_objects;
    tot->new_bytes += r->new_bytes;
    tot->bad_keys += r->bad_keys;
    tot->skipped += r->skipped;
}

/* --json: the rows, the total and the estimate as one document. */
static void print_json(const struct plan_row *rows, size_t n, const struct plan_row *tot,
                       const struct plan_estimate *est)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char ds[DAY_STR_MAX];
        json_array_append_new(arr, row_json(&rows[i], day_format(&rows[i].day, ds)));
    }
    json_t *root = json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I, s:f, s:f}}", "days", arr,
                             "total", row_json(tot, NULL), "estimate",
                             "objects", (json_int_t)est->objects,
                             "bytes_in", (json_int_t)est->bytes_in,
                             "bytes_out", (json_int_t)est->bytes_out,
                             "requests", (json_int_t)est->requests,
                             "seconds", est->seconds, "mb_per_second", est->mbps);
    json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(root);
}

/* The table: a line per day, the total, the estimate. */
static void print_table(const struct plan_row *rows, size_t n, const struct plan_row *tot,
                        const struct plan_estimate *est)
{
    printf("%-10s %9s %12s %8s %8s %8s %9s %12s %8s %8s\n", "day", "objects", "bytes",
           "series", "indexed", "new_ser", "new_obj", "new_bytes", "bad_keys", "skipped");
    for (size_t i = 0; i < n; i++) {
        const struct plan_row *r = &rows[i];
        char ds[DAY_STR_MAX];
        day_format(&r->day, ds);
        if (r->failed)
            printf("%-10s FAILED: %s\n", ds, r->err.msg);
        else
            printf("%-10s %9zu %12lld %8zu %8zu %8zu %9zu %12lld %8zu %8zu\n", ds,
                   r->objects, r->bytes, r->series, r->series_indexed, r->series_new,
                   r->new_objects, r->new_bytes, r->bad_keys, r->skipped);
    }
    printf("%-10s %9zu %12lld %8zu %8zu %8zu %9zu %12lld %8zu %8zu\n", "total", tot->objects,
           tot->bytes, tot->series, tot->series_indexed, tot->series_new, tot->new_objects,
           tot->new_bytes, tot->bad_keys, tot->skipped);
    printf("estimate: fetch %lld objects (%.1f MB), upload ~%.1f MB, ~%lld requests, "
           "~%.0f s at %.0f MB/s (docs/benchmarks.md; REPART_PLAN_MBPS to change)\n",
           est->objects, (double)est->bytes_in / 1e6, (double)est->bytes_out / 1e6,
           est->requests, est->seconds, est->mbps);
}

int cmd_plan(const struct cli_opts *o, const struct config *cfg)
{
    struct day_list days = {0};
    struct runtime rt;
    int setup = cmd_open_days(o, cfg, &days, &rt, RUNTIME_S3);
    if (setup != CLI_EXIT_OK)
        return setup;
    struct plan_row *rows = calloc(days.n ? days.n : 1, sizeof *rows);
    if (!rows) {
        fprintf(stderr, "repart: plan: out of memory for %zu days\n", days.n);
        day_list_free(&days);
        runtime_close(&rt);
        return CLI_EXIT_FAILED;
    }
    size_t n = days.n;
    struct plan_row tot;
    memset(&tot, 0, sizeof tot);
    struct scan_ctx sc = {cfg, rt.s3, rt.pool, &rt.filter};
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (plan_day(&sc, &days.v[i], i, days.n, &rows[i]) < 0)
            failed++;
        add_total(&tot, &rows[i]);
    }
    log_progress_done();

    struct plan_estimate est;
    plan_estimate(rows, n, cfg, &est);
    if (o->json)
        print_json(rows, n, &tot, &est);
    else
        print_table(rows, n, &tot, &est);
    int misplaced = 0;
    if (rows && days.n && !failed && tot.objects + tot.bad_keys + tot.skipped == 0) {
        char why[1600];
        if ((misplaced = scan_prefix_misplaced(&sc, why, sizeof why)))
            fprintf(stderr, "repart: %s\n", why);
    }
    for (size_t i = 0; i < n; i++)
        if (rows[i].failed) {
            char ds[DAY_STR_MAX];
            fprintf(stderr, "repart: %s: %s\n", day_format(&rows[i].day, ds), rows[i].err.msg);
        }
    free(rows);
    runtime_close(&rt);
    day_list_free(&days);
    return failed ? CLI_EXIT_FAILED : misplaced ? CLI_EXIT_USAGE : CLI_EXIT_OK;
}
