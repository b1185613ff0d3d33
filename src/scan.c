#include "scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_GROUPS 16  /* seriesBucket=0.. to seriesBucket=f.. */

struct list_task {
    struct s3_client *s3;
    const char *bucket;
    char prefix[COLDKEY_DAY_PREFIX_MAX + 32];
    struct s3_object_list out;
    long max_pages;         /* 0 = all */
    int truncated;
    int rc;
    struct err err;
    struct waitgroup *wg;
};

static void list_run(void *arg)
{
    struct list_task *t = arg;
    t->rc = s3_list_pages(t->s3, t->bucket, t->prefix, t->max_pages, &t->out, &t->truncated,
                          &t->err);
    waitgroup_done(t->wg);
}

static void start_listing(const struct scan_ctx *ctx, struct list_task *t, struct waitgroup *wg,
                          const char *prefix, long max_pages)
{
    t->s3 = ctx->s3;
    t->bucket = ctx->cfg->s3.cold_tier.bucket_name;
    t->wg = wg;
    t->max_pages = max_pages;
    snprintf(t->prefix, sizeof t->prefix, "%s", prefix);
    waitgroup_add(wg, 1);
    if (pool_submit(ctx->pool, list_run, t) != 0)
        list_run(t);
}

int scan_index_key(const struct config *cfg, const struct day *d, char *buf, size_t size)
{
    char part[DAY_PARTITION_MAX];
    int n = snprintf(buf, size, "%s%stimeseries.txt", cfg->s3.repartitioned.index_prefix,
                     day_partition(d, part));
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int cmp_source(const void *a, const void *b)
{
    const struct scan_source *x = a, *y = b;
    return coldkey_cmp(&x->ck, x->key, &y->ck, y->key);
}

static int str_in(char *const *arr, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(arr[mid], s);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int selected(const struct scan_filter *f, const char *series)
{
    if (!f || f->type == CONFIG_TS_ALL)
        return 1;
    int assoc = str_in(f->assoc, f->n_assoc, series);
    return f->type == CONFIG_TS_ASSOCIATED ? assoc : !assoc;
}

/* Reads the index (ListObjectsV2 gives its ETag and LastModified in the same
 * request that tells whether it exists). */
static int read_index(const struct scan_ctx *ctx, struct day_scan *s, struct err *e)
{
    const char *bucket = ctx->cfg->s3.repartitioned.bucket_name;
    struct s3_object_list l = {0};
    if (s3_list(ctx->s3, bucket, s->index_key, &l, e) != 0)
        return err_prefix(e, "reading index: ");
    const struct s3_object *found = NULL;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.items[i].key, s->index_key) == 0)
            found = &l.items[i];
    int rc = 0;
    if (found) {
        struct s3_buf b = {0};
        /* checked against its ETag: a damaged index would make merged
         * sources look new */
        rc = s3_get_buffer_verified(ctx->s3, bucket, s->index_key, &b, NULL, e);
        if (rc == 0) {
            rc = index_parse((const char *)b.data, b.len, &s->index, e);
            if (rc != 0)
                err_prefix(e, "index s3://%s/%s: ", bucket, s->index_key);
        } else {
            err_prefix(e, "reading index: ");
        }
        s3_buf_free(&b);
        s->index_exists = rc == 0;
        s->index.last_modified = found->last_modified;
        snprintf(s->index.etag, sizeof s->index.etag, "%s", found->etag);
    }
    s3_object_list_free(&l);
    return rc;
}

static int count_distinct_series(const struct scan_source *src, size_t n, int only_new)
{
    /* sources are sorted by series first */
    int count = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        if (only_new && !src[i].is_new)
            continue;
        if (!prev || strcmp(prev, src[i].ck.series_id) != 0)
            count++;
        prev = src[i].ck.series_id;
    }
    return count;
}

/* Marks each source new or covered by the index, and counts. A source is
 * covered only by a #src line with its key, size and ETag: series lines
 * alone (the original sample's) cover nothing until the sample's own file
 * has been adopted (sampleadopt.h). */
void scan_classify(struct day_scan *s)
{
    s->n_new = 0;
    s->n_changed = 0;
    s->bytes_new = 0;
    s->series_new = s->series_indexed = 0;
    for (size_t i = 0; i < s->n_src; i++) {
        struct scan_source *src = &s->src[i];
        enum index_src_state st = index_source_state(&s->index, src->relkey, src->size, src->etag);
        src->changed = st == INDEX_SRC_CHANGED;
        src->is_new = st != INDEX_SRC_SAME;
        s->n_changed += (size_t)src->changed;
        if (src->is_new) {
            s->n_new++;
            s->bytes_new += src->size;
        }
    }
    const char *prev = NULL;
    for (size_t i = 0; i < s->n_src; i++) {
        const char *id = s->src[i].ck.series_id;
        if (prev && strcmp(prev, id) == 0)
            continue;
        prev = id;
        if (index_has_series(&s->index, id))
            s->series_indexed++;
        else
            s->series_new++;
    }
}

int scan_day(const struct scan_ctx *ctx, const struct day *d, struct day_scan *s, struct err *e)
{
    const struct config *cfg = ctx->cfg;
    memset(s, 0, sizeof *s);
    s->day = *d;
    index_init(&s->index);
    if (coldkey_day_prefix(s->day_prefix, sizeof s->day_prefix, cfg->s3.cold_tier.data_prefix,
                           d, e) < 0 ||
        scan_index_key(cfg, d, s->index_key, sizeof s->index_key) != 0)
        return err_setk(e, ERR_USAGE, "prefix too long");

    /* One page of the whole day first: a day of up to a page of objects
     * (and so most reruns) costs one listing. A bigger day is listed again
     * as 16 parallel listings, one per first hex digit of seriesBucket. */
    struct list_task tasks[SCAN_GROUPS];
    memset(tasks, 0, sizeof tasks);
    struct waitgroup wg;
    waitgroup_init(&wg);
    start_listing(ctx, &tasks[0], &wg, s->day_prefix, 1);
    /* the index is read on this thread meanwhile */
    struct err ie = {0};
    int irc = read_index(ctx, s, &ie);
    waitgroup_wait(&wg);
    int groups = 1;
    if (tasks[0].rc == 0 && tasks[0].truncated) {
        s3_object_list_free(&tasks[0].out);
        memset(&tasks[0], 0, sizeof tasks[0]);
        groups = SCAN_GROUPS;
        for (int g = 0; g < groups; g++) {
            char prefix[sizeof tasks[g].prefix];
            snprintf(prefix, sizeof prefix, "%sseriesBucket=%x", s->day_prefix, g);
            start_listing(ctx, &tasks[g], &wg, prefix, 0);
        }
        waitgroup_wait(&wg);
    }
    waitgroup_destroy(&wg);

    int rc = 0;
    size_t total = 0;
    for (int g = 0; g < groups; g++) {
        if (tasks[g].rc != 0 && rc == 0) {
            *e = tasks[g].err;
            err_prefix(e, "listing s3://%s/%s: ", cfg->s3.cold_tier.bucket_name, tasks[g].prefix);
            rc = -1;
        }
        total += tasks[g].out.n;
    }
    if (rc == 0 && irc != 0) {
        *e = ie;
        rc = -1;
    }
    if (rc == 0 && total) {
        s->src = calloc(total, sizeof *s->src);
        if (!s->src)
            rc = err_set(e, "out of memory");
    }
    size_t prefix_len = strlen(s->day_prefix);
    for (int g = 0; g < groups; g++) {
        struct s3_object_list *l = &tasks[g].out;
        for (size_t i = 0; rc == 0 && i < l->n; i++) {
            struct s3_object *o = &l->items[i];
            struct scan_source *src = &s->src[s->n_src];
            struct err ke = {0};
            /* only the seriesBucket= folders hold cold-tier data (the 16
             * parallel listings see nothing else either) */
            if (strncmp(o->key + prefix_len, "seriesBucket=", 13) != 0)
                continue;
            if (coldkey_parse(o->key, cfg->s3.cold_tier.data_prefix, &src->ck, &ke) != 0 ||
                day_cmp(&src->ck.day, d) != 0) {
                if (s->n_bad_keys++ == 0)
                    s->bad_key = ke.msg[0] ? ke : (struct err){"not a key of this day", ERR_DATA};
                continue;
            }
            src->key = o->key;  /* steal the string */
            o->key = NULL;
            src->relkey = src->key + prefix_len;
            src->size = o->size;
            src->last_modified = o->last_modified;
            memcpy(src->etag, o->etag, sizeof src->etag);
            s->n_src++;
        }
        s3_object_list_free(l);
    }
    if (rc != 0)
        return rc;

    if (s->n_src > 1)
        qsort(s->src, s->n_src, sizeof *s->src, cmp_source);
    size_t kept = 0;
    const char *prev = NULL;
    if (s->n_src && !(s->filtered = calloc(s->n_src, sizeof *s->filtered)))
        rc = err_set(e, "out of memory");
    for (size_t i = 0; i < s->n_src; i++) {
        struct scan_source *src = &s->src[i];
        /* a key listed twice (overlapping pages of an S3-compatible server)
         * is one object */
        if (rc != 0 || (prev && strcmp(prev, src->key) == 0)) {
            s->n_listed_twice += rc == 0;
            free(src->key);
            continue;
        }
        prev = src->key;
        if (!selected(ctx->filter, src->ck.series_id)) {
            s->filtered[s->n_filtered++] = *src;
            continue;
        }
        s->bytes += src->size;
        s->src[kept++] = *src;
    }
    s->n_src = kept;
    if (rc != 0)
        return rc;
    s->series = (size_t)count_distinct_series(s->src, s->n_src, 0);
    scan_classify(s);
    return 0;
}

int scan_refresh_index(const struct scan_ctx *ctx, struct day_scan *s, struct err *e)
{
    index_free(&s->index);
    index_init(&s->index);
    s->index_exists = 0;
    if (read_index(ctx, s, e) != 0)
        return -1;
    scan_classify(s);
    return 0;
}

void scan_free(struct day_scan *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_src; i++)
        free(s->src[i].key);
    free(s->src);
    for (size_t i = 0; i < s->n_filtered; i++)
        free(s->filtered[i].key);
    free(s->filtered);
    index_free(&s->index);
    memset(s, 0, sizeof *s);
}
