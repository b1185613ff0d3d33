#include "scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout.h"

#define SCAN_GROUPS 16  /* seriesBucket=0.. to seriesBucket=f.. */

struct list_task {
    struct s3_client *s3;
    const char *bucket;
    char prefix[COLDKEY_KEY_MAX + 1];   /* a day's folder may have any name */
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
        struct bytebuf b = {0};
        /* checked against its ETag: a damaged index would make merged
         * sources look new */
        rc = s3_get_buffer_verified(ctx->s3, bucket, s->index_key, INDEX_OBJECT_MAX, &b, NULL, e);
        if (rc == 0) {
            rc = index_parse((const char *)b.data, b.len, &s->index, e);
            if (rc != 0)
                err_prefix(e, "index s3://%s/%s: ", bucket, s->index_key);
        } else {
            err_prefix(e, "reading index: ");
        }
        bytebuf_free(&b);
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

int scan_key_kind(const char *key, const char *data_prefix, const struct day *d,
                  struct coldkey *ck, struct err *e)
{
    size_t n = strlen(key);
    if (n == 0 || key[n - 1] == '/')
        return SCAN_KEY_SKIP;                  /* a folder marker */
    const char *name = strrchr(key, '/');
    name = name ? name + 1 : key;
    size_t nl = strlen(name);
    if (nl < 5 || strcasecmp(name + nl - 5, ".avro") != 0)
        return SCAN_KEY_SKIP;                  /* not data: temp, manifest, notes, ... */
    struct err ke = {0};
    if (coldkey_parse_ds(key, data_prefix, d->ds == 1 ? COLDKEY_AGG : COLDKEY_RAW, ck, &ke) != 0) {
        *e = ke;
        return SCAN_KEY_BAD;
    }
    if (day_cmp(&ck->day, d) != 0) {
        char want[DAY_PARTITION_MAX];
        err_setk(e, ERR_DATA, "key \"%.300s\": not a key of the day %s", key,
                 day_partition(d, want));
        return SCAN_KEY_BAD;
    }
    return SCAN_KEY_DATA;
}

static int cmp_object_key(const void *a, const void *b)
{
    const struct s3_object *x = a, *y = b;
    return strcmp(x->key, y->key);
}

/* Moves every item of *from to the end of *to (from is left empty). */
static int take_objects(struct s3_object_list *to, struct s3_object_list *from)
{
    if (from->n == 0)
        return 0;
    if (to->n + from->n > to->cap) {
        size_t cap = to->n + from->n;
        struct s3_object *p = realloc(to->items, cap * sizeof *p);
        if (!p)
            return -1;
        to->items = p;
        to->cap = cap;
    }
    memcpy(to->items + to->n, from->items, from->n * sizeof *from->items);
    to->n += from->n;
    from->n = 0;
    return 0;
}

/* A day of more than one page. Its folders are found first (one listing with
 * delimiter "/"); those named seriesBucket=<hex digit>... are listed as 16
 * parallel listings by that digit, every other folder by a listing of its
 * own, and the keys directly under the day come with the folder listing. So
 * every key of the day is listed whatever its name (a key no listing covers
 * would vanish from the day without a word). */
static int list_big_day(const struct scan_ctx *ctx, struct day_scan *s,
                        struct s3_object_list *all, struct err *e)
{
    const char *bucket = ctx->cfg->s3.cold_tier.bucket_name;
    size_t plen = strlen(s->day_prefix);
    char **cps = NULL;
    size_t n_cps = 0;
    if (s3_list_delimited(ctx->s3, bucket, s->day_prefix, "/", all, &cps, &n_cps, e) != 0)
        return err_prefix(e, "listing s3://%s/%s (folders): ", bucket, s->day_prefix);
    /* the other folders, each once (pages may repeat a prefix) */
    size_t n_other = 0;
    for (size_t i = 0; i < n_cps; i++) {
        const char *cp = cps[i];
        if (strncmp(cp, s->day_prefix, plen) != 0 || strlen(cp) > COLDKEY_KEY_MAX) {
            int rc = err_setk(e, ERR_DATA, "listing s3://%s/%s: the server returned the folder "
                              "\"%.200s\", not under the day", bucket, s->day_prefix, cp);
            s3_prefixes_free(cps, n_cps);
            return rc;
        }
        const char *rel = cp + plen;
        int dup = 0;
        for (size_t j = 0; j < n_other && !dup; j++)
            dup = strcmp(cps[j], cp) == 0;
        if (dup || (strncmp(rel, "seriesBucket=", 13) == 0 && strchr("0123456789abcdef", rel[13]) &&
                    rel[13]))
            continue;
        /* keep the other folders at the front */
        char *t = cps[n_other];
        cps[n_other] = cps[i];
        cps[i] = t;
        n_other++;
    }
    size_t n_tasks = SCAN_GROUPS + n_other;
    struct list_task *tasks = calloc(n_tasks, sizeof *tasks);
    if (!tasks) {
        s3_prefixes_free(cps, n_cps);
        return err_set(e, "out of memory");
    }
    struct waitgroup wg;
    waitgroup_init(&wg);
    for (int g = 0; g < SCAN_GROUPS; g++) {
        char prefix[sizeof tasks[g].prefix];
        snprintf(prefix, sizeof prefix, "%sseriesBucket=%x", s->day_prefix, g);
        start_listing(ctx, &tasks[g], &wg, prefix, 0);
    }
    for (size_t i = 0; i < n_other; i++)
        start_listing(ctx, &tasks[SCAN_GROUPS + i], &wg, cps[i], 0);
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
    s3_prefixes_free(cps, n_cps);
    int rc = 0;
    for (size_t t = 0; t < n_tasks; t++) {
        if (tasks[t].rc != 0 && rc == 0) {
            *e = tasks[t].err;
            err_prefix(e, "listing s3://%s/%s: ", bucket, tasks[t].prefix);
            rc = -1;
        }
        if (rc == 0 && take_objects(all, &tasks[t].out) != 0)
            rc = err_set(e, "out of memory");
        s3_object_list_free(&tasks[t].out);
    }
    free(tasks);
    s->n_listings = 2 + n_tasks;
    return rc;
}

/* Lists every object of the day into *all, reading the index meanwhile. */
static int list_day(const struct scan_ctx *ctx, struct day_scan *s, struct s3_object_list *all,
                    struct err *e)
{
    /* One page of the whole day first: a day of up to a page of objects
     * (and so most reruns) costs one listing. A bigger day is listed again
     * (list_big_day). */
    struct list_task first;
    memset(&first, 0, sizeof first);
    struct waitgroup wg;
    waitgroup_init(&wg);
    start_listing(ctx, &first, &wg, s->day_prefix, 1);
    /* the index is read on this thread meanwhile */
    struct err ie = {0};
    int irc = read_index(ctx, s, &ie);
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);

    int rc = 0;
    s->n_listings = 1;
    if (first.rc != 0) {
        *e = first.err;
        err_prefix(e, "listing s3://%s/%s: ", ctx->cfg->s3.cold_tier.bucket_name, first.prefix);
        rc = -1;
    } else if (first.truncated) {
        rc = list_big_day(ctx, s, all, e);
    } else if (take_objects(all, &first.out) != 0) {
        rc = err_set(e, "out of memory");
    }
    s3_object_list_free(&first.out);
    if (rc == 0 && irc != 0) {
        *e = ie;
        rc = -1;
    }
    return rc;
}

/* The data keys of the listing become s->src (their strings taken from
 * *all); keys that are not data, that do not parse, or that are listed
 * twice are counted. */
static int take_sources(const struct scan_ctx *ctx, const struct day *d, struct day_scan *s,
                        struct s3_object_list *all, struct err *e)
{
    /* each key once (a key listed twice, by overlapping pages of an
     * S3-compatible server, is one object) */
    if (all->n > 1)
        qsort(all->items, all->n, sizeof *all->items, cmp_object_key);
    if (all->n) {
        s->src = calloc(all->n, sizeof *s->src);
        if (!s->src)
            return err_set(e, "out of memory");
    }
    size_t prefix_len = strlen(s->day_prefix);
    const char *prev = NULL;   /* the previous key (stolen or not, still allocated) */
    for (size_t i = 0; i < all->n; i++) {
        struct s3_object *o = &all->items[i];
        if (prev && strcmp(prev, o->key) == 0) {
            s->n_listed_twice++;
            continue;
        }
        prev = o->key;
        struct scan_source *src = &s->src[s->n_src];
        struct err ke = {0};
        switch (scan_key_kind(o->key, ctx->cfg->s3.cold_tier.data_prefix, d, &src->ck, &ke)) {
        case SCAN_KEY_SKIP:
            if (s->n_skipped++ == 0)
                snprintf(s->skipped_key, sizeof s->skipped_key, "%.*s",
                         (int)(sizeof s->skipped_key - 1), o->key);
            continue;
        case SCAN_KEY_BAD:
            if (s->n_bad_keys++ == 0)
                s->bad_key = ke;
            continue;
        default:
            break;
        }
        src->key = o->key;  /* steal the string */
        o->key = NULL;
        src->relkey = src->key + prefix_len;
        src->size = o->size;
        src->last_modified = o->last_modified;
        memcpy(src->etag, o->etag, sizeof src->etag);
        s->n_src++;
    }
    return 0;
}

/* The sources of series the filter leaves out move to s->filtered; s->bytes
 * counts the others. */
static int filter_sources(const struct scan_ctx *ctx, struct day_scan *s, struct err *e)
{
    size_t kept = 0;
    /* (keys listed twice were dropped above) */
    if (s->n_src && !(s->filtered = calloc(s->n_src, sizeof *s->filtered))) {
        for (size_t i = 0; i < s->n_src; i++)
            free(s->src[i].key);
        s->n_src = 0;
        return err_set(e, "out of memory");
    }
    for (size_t i = 0; i < s->n_src; i++) {
        struct scan_source *src = &s->src[i];
        if (!selected(ctx->filter, src->ck.series_id)) {
            s->filtered[s->n_filtered++] = *src;
            continue;
        }
        s->bytes += src->size;
        s->src[kept++] = *src;
    }
    s->n_src = kept;
    return 0;
}

int scan_day(const struct scan_ctx *ctx, const struct day *d, struct day_scan *s, struct err *e)
{
    const struct config *cfg = ctx->cfg;
    memset(s, 0, sizeof *s);
    s->day = *d;
    index_init(&s->index);
    if (coldkey_day_prefix(s->day_prefix, sizeof s->day_prefix, cfg->s3.cold_tier.data_prefix,
                           d, e) < 0 ||
        layout_index_key(cfg, d, s->index_key, sizeof s->index_key) != 0)
        return err_setk(e, ERR_USAGE, "prefix too long");
    struct s3_object_list all = {0};
    int rc = list_day(ctx, s, &all, e);
    if (rc == 0)
        rc = take_sources(ctx, d, s, &all, e);
    s3_object_list_free(&all);
    if (rc != 0)
        return rc;
    if (s->n_src > 1)
        qsort(s->src, s->n_src, sizeof *s->src, cmp_source);
    if (filter_sources(ctx, s, e) != 0)
        return -1;
    s->series = (size_t)count_distinct_series(s->src, s->n_src, 0);
    scan_classify(s);
    return 0;
}

int scan_prefix_misplaced(const struct scan_ctx *ctx, char *msg, size_t size)
{
    const char *bucket = ctx->cfg->s3.cold_tier.bucket_name;
    const char *dp = ctx->cfg->s3.cold_tier.data_prefix;
    struct s3_object_list l = {0};
    char **cps = NULL;
    size_t n = 0;
    struct err e = {0};
    int found = 0;
    if (s3_list_delimited(ctx->s3, bucket, dp, "/", &l, &cps, &n, &e) == 0) {
        size_t pl = strlen(dp);
        for (size_t i = 0; i < n && !found; i++) {
            const char *rel = strncmp(cps[i], dp, pl) == 0 ? cps[i] + pl : "";
            if (strcmp(rel, "raw/") == 0 || strcmp(rel, "agg/") == 0) {
                found = 1;
                snprintf(msg, size, "s3.cold_tier.data_prefix \"%s\" lists nothing for these "
                         "days, and s3://%s/%s is right below it: data_prefix is the folder "
                         "holding the startYear= partitions (set data_prefix: %sraw/, or "
                         "key_prefix: %s for the SiteWise keyPrefix)", dp, bucket, cps[i], dp,
                         dp);
            }
        }
    }
    s3_prefixes_free(cps, n);
    s3_object_list_free(&l);
    return found;
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
