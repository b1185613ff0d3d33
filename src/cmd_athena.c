/* repart athena: Athena DDL for the repartitioned layout (see athena.h).
 * Without --partitions nothing is read from S3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "athena.h"
#include "cmd.h"
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

int cmd_athena(const struct cli_opts *o, const struct config *cfg)
{
    struct athena_opts ao = {
        .database = o->database, .table = o->table, .projection = !o->no_projection,
    };
    if (o->partitions)
        return partitions(o, cfg, &ao);
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
    struct err e = {0};
    char *sql = athena_create_table(cfg, &ao, &e);
    if (!sql) {
        fprintf(stderr, "repart: %s\n", e.msg);
        return e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    fputs(sql, stdout);
    free(sql);
    return CLI_EXIT_OK;
}
