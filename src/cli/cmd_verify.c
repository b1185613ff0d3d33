/* repart verify: merged files against their sources and the index, per day
 * (see verify.h). Exit 1 when a day has a problem or could not be read. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "report.h"
#include "log.h"
#include "runtime.h"
#include "pipeline.h"
#include "verify.h"

/* REPART_REPAIR_MIN_AGE: seconds an orphan must have existed before
 * --repair deletes it. */
static int repair_min_age(long long *out, struct err *e)
{
    const char *v = getenv("REPART_REPAIR_MIN_AGE");
    *out = VERIFY_REPAIR_MIN_AGE_DEFAULT;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end || n < 0 || n > 10LL * 365 * 86400)
        return err_setk(e, ERR_USAGE, "REPART_REPAIR_MIN_AGE=\"%.20s\": must be a number of "
                        "seconds (0 or more)", v);
    *out = n;
    return 0;
}

static const char *day_word(const struct verify_day *v, int failed)
{
    return failed ? "failed" : v->problems ? "problems" : "ok";
}

static json_t *day_json(const struct verify_day *v, int failed)
{
    char ds[DAY_STR_MAX];
    json_t *o = json_pack("{s:s, s:s}", "day", day_format(&v->day, ds), "status", day_word(v, failed));
    if (failed) {
        json_object_set_new(o, "error", json_string(v->err.msg));
        return o;
    }
    json_object_set_new(o, "index_exists", json_boolean(v->index_exists));
    json_object_set_new(o, "cold_objects", json_integer((json_int_t)v->cold_objects));
    json_object_set_new(o, "pending_objects", json_integer((json_int_t)v->pending));
    json_object_set_new(o, "index_series", json_integer((json_int_t)v->index_series));
    json_object_set_new(o, "index_sources", json_integer((json_int_t)v->index_sources));
    json_object_set_new(o, "merged_files", json_integer((json_int_t)v->merged_files));
    json_object_set_new(o, "merged_bytes", json_integer((json_int_t)v->merged_bytes));
    json_object_set_new(o, "legacy_files", json_integer((json_int_t)v->legacy_files));
    json_object_set_new(o, "other_files", json_integer((json_int_t)v->other_files));
    json_object_set_new(o, "records", json_integer((json_int_t)v->records));
    json_object_set_new(o, "records_expected", json_integer((json_int_t)v->records_expected));
    json_object_set_new(o, "sources_read", json_integer((json_int_t)v->sources_read));
    json_object_set_new(o, "problems", json_integer((json_int_t)v->problems));
    json_object_set_new(o, "warnings", json_integer((json_int_t)v->warnings));
    json_t *counts = json_object();
    for (int k = 0; k <= VK_LAST; k++)
        json_object_set_new(counts, verify_kind_name((enum verify_kind)k),
                            json_integer((json_int_t)v->n_kind[k]));
    json_object_set_new(o, "counts", counts);
    json_t *files = json_array();
    for (size_t i = 0; i < v->n_files; i++) {
        const struct verify_file *f = &v->files[i];
        json_t *fo = json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", f->name, "key", f->key,
                               "status", verify_file_status_name(f->status),
                               "size", (json_int_t)f->size, "sources", (json_int_t)f->sources);
        json_object_set_new(fo, "records", f->records >= 0 ? json_integer(f->records) : json_null());
        json_object_set_new(fo, "expected", f->expected >= 0 ? json_integer(f->expected) : json_null());
        json_array_append_new(files, fo);
    }
    json_object_set_new(o, "files", files);
    json_t *fs = json_array();
    for (size_t i = 0; i < v->n_findings; i++) {
        const struct verify_finding *f = &v->findings[i];
        json_t *fo = json_pack("{s:s, s:s, s:s}", "severity", verify_sev_name(f->sev),
                               "kind", verify_kind_name(f->kind), "message", f->msg);
        json_object_set_new(fo, "key", f->key ? json_string(f->key) : json_null());
        json_array_append_new(fs, fo);
    }
    json_object_set_new(o, "findings", fs);
    return o;
}

struct totals {
    size_t days, ok, with_problems, failed, problems, warnings, repaired, merged_files, missing,
        orphans, legacy_files;
    unsigned long long records, records_expected;
};

static json_t *totals_json(const struct totals *t)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "days", (json_int_t)t->days, "ok", (json_int_t)t->ok,
                     "with_problems", (json_int_t)t->with_problems, "failed", (json_int_t)t->failed,
                     "problems", (json_int_t)t->problems, "warnings", (json_int_t)t->warnings,
                     "repaired", (json_int_t)t->repaired, "merged_files", (json_int_t)t->merged_files,
                     "legacy_files", (json_int_t)t->legacy_files,
                     "records", (json_int_t)t->records,
                     "records_expected", (json_int_t)t->records_expected,
                     "missing", (json_int_t)t->missing);
}

static void add_totals(struct totals *t, const struct verify_day *v, int failed)
{
    t->days++;
    if (failed)
        t->failed++;
    else if (v->problems)
        t->with_problems++;
    else
        t->ok++;
    t->problems += v->problems;
    t->warnings += v->warnings;
    t->repaired += v->n_kind[VK_REPAIRED];
    t->missing += v->n_kind[VK_MISSING];
    t->orphans += v->n_kind[VK_ORPHAN];
    t->merged_files += v->merged_files;
    t->legacy_files += v->legacy_files;
    t->records += v->records;
    t->records_expected += v->records_expected;
}

static void print_day(const struct cli_opts *o, const char *ds, const struct verify_day *v,
                      int failed)
{
    if (failed) {
        printf("%-10s FAILED: %s\n", ds, v->err.msg);
    } else {
        printf("%-10s %-8s %3zu merged file(s), %zu legacy, %zu source(s) counted, "
               "%llu records (%llu expected from known sources), %zu problem(s), "
               "%zu warning(s)\n", ds, day_word(v, 0), v->merged_files, v->legacy_files,
               v->sources_read, (unsigned long long)v->records,
               (unsigned long long)v->records_expected, v->problems, v->warnings);
        for (size_t k = 0; k < v->n_findings; k++) {
            const struct verify_finding *f = &v->findings[k];
            if (f->sev == VERIFY_INFO && o->verbose == 0 && f->kind != VK_REPAIRED &&
                f->kind != VK_LEGACY)
                continue;
            printf("    %-7s %-17s %s\n", verify_sev_name(f->sev), verify_kind_name(f->kind),
                   f->msg);
        }
    }
    fflush(stdout);
}

/* --repair of a day whose records the index counts as merged are not
 * readable as it says: the day file is rebuilt from the cold tier, then the
 * day is verified again (*v replaced). Returns whether the day failed. */
static int rebuild_day(const struct cli_opts *o, const struct config *cfg,
                       const struct runtime *rt, const struct verify_env *env,
                       const struct day *d, const char *ds, struct verify_day *v,
                       struct totals *t)
{
    struct pipeline_env penv = {cfg, rt->s3, rt->pool, &rt->filter, 1, rt->locking, NULL,
                                rt->stale_upload_secs};
    struct day_result res;
    pipeline_run(&penv, PIPELINE_REPAIR, d, 1, &res);
    if (res.status == DAY_DONE) {
        t->repaired++;
        if (!o->json)
            printf("%-10s rebuilt  %s from the cold tier (%zu objects, %llu records)\n", ds,
                   res.merged_key, res.new_objects, (unsigned long long)res.records);
        verify_day_free(v);
        return verify_day(env, d, v) != 0;
    }
    if (res.status == DAY_FAILED) {
        /* the day is not repaired: it counts as failed (exit 1, in the
         * rerun command), whatever the verify found */
        if (!o->json)
            printf("%-10s rebuild failed: %s\n", ds, res.err.msg);
        fprintf(stderr, "error: %s: the repair failed: %s\n", ds, res.err.msg);
        return 1;
    }
    return 0;
}

int cmd_verify(const struct cli_opts *o, const struct config *cfg)
{
    struct err e = {0};
    struct day_list days = {0};
    long long min_age = 0;
    if (repair_min_age(&min_age, &e) != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        return CLI_EXIT_USAGE;
    }
    struct runtime rt;
    int setup = cmd_open_days(o, cfg, &days, &rt, RUNTIME_S3 | (o->repair ? RUNTIME_WRITES : 0));
    if (setup != CLI_EXIT_OK)
        return setup;
    struct verify_env env = {
        .cfg = cfg, .s3 = rt.s3, .pool = rt.pool, .filter = &rt.filter, .deep = o->deep,
        .repair = o->repair, .repair_min_age = min_age, .now = (long long)time(NULL),
        .locking = rt.locking,
    };
    struct totals t;
    memset(&t, 0, sizeof t);
    json_t *jdays = json_array();
    struct day *failed_days = calloc(days.n ? days.n : 1, sizeof *failed_days);
    size_t n_failed = 0;
    for (size_t i = 0; i < days.n; i++) {
        char ds[DAY_STR_MAX];
        day_format(&days.v[i], ds);
        log_progress("verify: %s (%zu/%zu)", ds, i + 1, days.n);
        struct verify_day v;
        int failed = verify_day(&env, &days.v[i], &v) != 0;
        if (!failed && o->repair && verify_day_needs_rebuild(&v))
            failed = rebuild_day(o, cfg, &rt, &env, &days.v[i], ds, &v, &t);
        add_totals(&t, &v, failed);
        if (failed && failed_days)
            failed_days[n_failed++] = days.v[i];
        json_array_append_new(jdays, day_json(&v, failed));
        log_progress_done();
        if (!o->json)
            print_day(o, ds, &v, failed);
        verify_day_free(&v);
    }
    log_progress_done();
    json_t *doc = json_pack("{s:s, s:b, s:b, s:o, s:o}", "command", "verify", "deep", o->deep,
                            "repair", o->repair, "days", jdays, "total", totals_json(&t));
    if (o->json) {
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        printf("%-10s %zu day(s): %zu ok, %zu with problems, %zu could not be read; %zu merged "
               "file(s), %llu records; %zu problem(s), %zu warning(s), %zu repaired\n",
               "total", t.days, t.ok, t.with_problems, t.failed, t.merged_files, t.records,
               t.problems, t.warnings, t.repaired);
    }
    int rc = (t.failed || t.problems) ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    if (o->report && report_save(o->report, rt.s3, doc, &e) != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        rc = CLI_EXIT_FAILED;
    }
    json_decref(doc);
    if (n_failed) {
        char rerun[4096];
        fprintf(stderr, "repart: %zu day(s) could not be read; to verify only them: %s\n",
                n_failed, cli_rerun_command(o, failed_days, n_failed, rerun, sizeof rerun));
    }
    if (t.problems && !o->repair && t.orphans)
        fprintf(stderr, "repart: %zu orphaned merged file(s); `repart verify --repair` deletes "
                "them\n", t.orphans);
    free(failed_days);
    runtime_close(&rt);
    day_list_free(&days);
    return rc;
}
