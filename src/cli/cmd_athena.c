/* repart athena: Athena DDL for the repartitioned layout (see athena.h).
 * Without --partitions nothing is read from S3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "athena.h"
#include "avsc.h"
#include "cmd.h"
#include "dayfile.h"
#include "layout.h"
#include "log.h"
#include "ocf.h"
#include "pool.h"
#include "runtime.h"

static int cmp_day(const void *a, const void *b)
{
    return day_cmp(a, b);
}

/* Days with at least one .avro object under the data prefix. */
static int days_present(const struct config *cfg, struct runtime *rt, struct day_list *out,
                        struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *bucket = cfg->s3.repartitioned.bucket_name;
    const char *prefix = cfg->s3.repartitioned.data_prefix;
    struct s3_object_list l = {0};
    if (s3_list(rt->s3, bucket, prefix, &l, e) != 0)
        return err_prefix(e, "listing s3://%s/%s: ", bucket, prefix);
    size_t plen = strlen(prefix), cap = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const char *k = l.items[i].key;
        size_t kl = strlen(k);
        struct day d = {0};
        if (strncmp(k, prefix, plen) != 0 || kl < 5 || strcmp(k + kl - 5, ".avro") != 0 ||
            !athena_partition_of(k + plen, &d))
            continue;
        if (out->n && day_cmp(&out->v[out->n - 1], &d) == 0)
            continue;   /* keys come sorted: files of one day are adjacent */
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            struct day *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                rc = err_set(e, "out of memory");
                break;
            }
            out->v = v;
        }
        out->v[out->n++] = d;
    }
    s3_object_list_free(&l);
    if (rc == 0 && out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_day);
    return rc;
}

static int partitions(const struct cli_opts *o, const struct config *cfg,
                      const struct athena_opts *ao)
{
    struct err e = {0};
    struct day_list want = {0};
    if (cli_days_given(o) && cli_days(o, cfg, &want, &e) != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        return CLI_EXIT_USAGE;
    }
    /* names first: a bad one is a usage error before any request */
    char *check = athena_add_partitions(cfg, ao, NULL, 0, &e);
    if (!check) {
        fprintf(stderr, "repart: %s\n", e.msg);
        day_list_free(&want);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    free(check);
    struct runtime rt;
    if (runtime_open(&rt, cfg, RUNTIME_S3, &e) != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        runtime_close(&rt);
        day_list_free(&want);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    struct day_list have;
    int rc = days_present(cfg, &rt, &have, &e);
    runtime_close(&rt);
    if (rc != 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        day_list_free(&want);
        return CLI_EXIT_FAILED;
    }
    if (cli_days_given(o)) {
        size_t k = 0;
        for (size_t i = 0; i < have.n; i++)
            if (want.n && bsearch(&have.v[i], want.v, want.n, sizeof *want.v, cmp_day))
                have.v[k++] = have.v[i];
        have.n = k;
    }
    char *sql = athena_add_partitions(cfg, ao, have.v, have.n, &e);
    if (!sql) {
        fprintf(stderr, "repart: %s\n", e.msg);
        rc = -1;
    } else {
        fputs(sql, stdout);
        if (have.n == 0)
            fprintf(stderr, "repart: no merged files under s3://%s/%s%s\n",
                    cfg->s3.repartitioned.bucket_name, cfg->s3.repartitioned.data_prefix,
                    cli_days_given(o) ? " for the days given" : "");
        free(sql);
    }
    day_list_free(&have);
    day_list_free(&want);
    return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* One day file's header read (the first 64 KiB, else 1 MiB). */
struct header_task {
    struct s3_client *s3;
    const char *bucket, *key;
    struct waitgroup *wg;
    char *schema;             /* malloc'd writer schema, or NULL with err */
    struct err err;
};

static void header_run(void *arg)
{
    struct header_task *t = arg;
    for (long long span = 64 << 10; !t->schema && span <= (1 << 20); span *= 16) {
        struct bytebuf b = {0};
        struct ocf_reader r;
        err_clear(&t->err);
        if (s3_get_buffer_range(t->s3, t->bucket, t->key, 0, span - 1, &b, NULL, &t->err) == 0 &&
            ocf_reader_open(&r, t->key, b.data, b.len, &t->err) == 0) {
            t->schema = strndup(r.schema_json, r.schema_len);
            ocf_reader_close(&r);
            if (!t->schema)
                err_set(&t->err, "out of memory");
        }
        int more = !t->schema && b.len == (size_t)span && t->err.kind == ERR_DATA;
        bytebuf_free(&b);
        if (!more)
            break;
    }
    waitgroup_done(t->wg);
}

/* The dataset's schema as committed: every day file's header, widened into
 * one schema that holds them all (a day rebuilt with an added field adds
 * its column). *out = NULL when no day file exists yet. */
static int committed_schema(const struct config *cfg, struct runtime *rt, char **out,
                            struct err *e)
{
    *out = NULL;
    const char *bucket = cfg->s3.repartitioned.bucket_name;
    const char *prefix = cfg->s3.repartitioned.data_prefix;
    struct s3_object_list l = {0};
    if (s3_list(rt->s3, bucket, prefix, &l, e) != 0)
        return err_prefix(e, "listing s3://%s/%s: ", bucket, prefix);
    struct header_task *t = calloc(l.n ? l.n : 1, sizeof *t);
    if (!t) {
        s3_object_list_free(&l);
        return err_set(e, "out of memory");
    }
    struct waitgroup wg;
    waitgroup_init(&wg);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *k = l.items[i].key, *slash = strrchr(k, '/');
        if (strcmp(slash ? slash + 1 : k, LAYOUT_DAYFILE) != 0)
            continue;
        t[n] = (struct header_task){.s3 = rt->s3, .bucket = bucket, .key = k, .wg = &wg};
        waitgroup_add(&wg, 1);
        if (pool_submit(rt->pool, header_run, &t[n]) != 0)
            header_run(&t[n]);
        n++;
    }
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
    int rc = 0;
    char *acc = NULL;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && !t[i].schema) {
            *e = t[i].err;
            rc = err_prefix(e, "reading the header of s3://%s/%s: ", bucket, t[i].key);
        }
        if (rc == 0 && !acc) {
            acc = t[i].schema;
            t[i].schema = NULL;
        } else if (rc == 0) {
            char *w = NULL;
            if (avsc_widen(acc, strlen(acc), t[i].schema, strlen(t[i].schema), &w, e) != 0) {
                rc = err_prefix(e, "s3://%s/%s: its schema and another day's: ", bucket, t[i].key);
            } else if (w) {
                free(acc);
                acc = w;
            }
        }
        free(t[i].schema);
    }
    free(t);
    s3_object_list_free(&l);
    if (rc != 0) {
        free(acc);
        return rc;
    }
    *out = acc;
    return 0;
}

int cmd_athena(const struct cli_opts *o, const struct config *cfg)
{
    /* the agg table is <table>_agg (both are printed by default) */
    char agg_table[ATHENA_NAME_MAX + 8];
    snprintf(agg_table, sizeof agg_table, "%s_agg", o->table ? o->table : ATHENA_DEFAULT_TABLE);
    struct athena_opts ao = {
        .database = o->database, .table = cfg->dataset == 1 ? agg_table : o->table,
        .projection = !o->no_projection, .create_database = o->create_database,
    };
    if (o->partitions)
        return partitions(o, cfg, &ao);
    /* columns from the day files' headers; raw falls back to RawDatum when
     * they cannot be read, agg has no schema of its own to fall back to */
    struct err e = {0};
    char *schema = NULL;
    struct runtime rt;
    int rrc = runtime_open(&rt, cfg, 0, &e);
    if (rrc == 0)
        rrc = committed_schema(cfg, &rt, &schema, &e);
    runtime_close(&rt);
    if (rrc != 0 && cfg->dataset == 1) {
        fprintf(stderr, "repart: the agg table's columns come from its day files: %s\n", e.msg);
        return CLI_EXIT_FAILED;
    }
    if (rrc != 0)
        log_msg(LOG_WARN, NULL, "athena_schema", "the committed schema cannot be read (%s): the "
                "table describes RawDatum", e.msg);
    if (rrc == 0 && !schema && cfg->dataset == 1) {
        fprintf(stderr, "repart: no agg day file under s3://%s/%s yet: the agg table's columns "
                "come from its files (run `repart all` first)\n", cfg->s3.repartitioned.bucket_name,
                cfg->s3.repartitioned.data_prefix);
        return CLI_EXIT_FAILED;
    }
    ao.schema_json = schema;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    const struct day *from = NULL, *to = NULL;
    if (o->have_from) {
        from = &o->from;
        to = &o->to;
    } else if (o->have_days && o->days.n) {
        from = &o->days.v[0];
        to = &o->days.v[o->days.n - 1];
    }
    athena_years(cfg, from, to, tm.tm_year + 1900, &ao.year_from, &ao.year_to);
    err_clear(&e);
    char *sql = athena_create_table(cfg, &ao, &e);
    free(schema);
    if (!sql) {
        fprintf(stderr, "repart: %s\n", e.msg);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    fputs(sql, stdout);
    free(sql);
    return CLI_EXIT_OK;
}
