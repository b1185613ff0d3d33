#include "pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index.h"
#include "lease.h"
#include "log.h"
#include "merge.h"
#include "ocf_scan.h"
#include "sitewise_schema.h"
#include "upload.h"

#define STATE_FILE "repart-day.json"
#define MERGED_PREFIX "merged_"
#define FETCH_ATTEMPTS 4     /* GETs of a source whose bytes do not match its listing */
#define MAX_SOURCE_BYTES (512u * 1024 * 1024)  /* a cold-tier file is ~10-500 KB */
#define LEASE_TTL_SECS 1800      /* a day's writer is presumed dead after 30 min */


/* Progress counters shared by the days of one run. */
struct progress {
    atomic_long days_done;
    long days_total;
    atomic_llong objects_done, objects_total;
    atomic_llong bytes_done;
    double t0;
};

struct run {
    struct upload_budget budget;   /* part buffers of all days in flight */
    const struct pipeline_env *env;
    enum pipeline_mode mode;
    const struct day *days;
    size_t n_days;
    struct day_result *results;
    atomic_size_t next_day;
    struct progress prog;
};

static double now_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_draw(struct progress *p)
{
    double secs = now_secs() - p->t0;
    double mb = (double)atomic_load(&p->bytes_done) / 1e6;
    log_progress("days %ld/%ld | objects %lld/%lld | %.1f MB | %.1f MB/s",
                 atomic_load(&p->days_done), p->days_total, atomic_load(&p->objects_done),
                 atomic_load(&p->objects_total), mb, secs > 0 ? mb / secs : 0.0);
}

static enum codec_id output_codec(const struct config *c)
{
    switch (c->output_codec) {
    case CONFIG_CODEC_DEFLATE: return CODEC_DEFLATE;
    case CONFIG_CODEC_NULL: return CODEC_NULL;
    default: return CODEC_SNAPPY;
    }
}

/* Part buffers: 24 MiB for the whole run (at least two parts), shared by the
 * days in flight (upload_budget), and per upload at most that minus the part
 * being filled in flight (16 MiB parts: 1 + 1; 8 MiB: 2 + 1; 5 MiB: 3 + 1).
 * DESIGN §5 bounds memory by concurrency x part size, not by the day; with
 * default settings a run stays under 64 MiB. */
static size_t part_budget(const struct config *c)
{
    size_t part = (size_t)(c->part_size_mb > 0 ? c->part_size_mb : 16) << 20;
    size_t b = (size_t)24 << 20;
    return b < 2 * part ? 2 * part : b;
}

static int parts_in_flight(const struct config *c)
{
    size_t part = (size_t)(c->part_size_mb > 0 ? c->part_size_mb : 16) << 20;
    int n = (int)(part_budget(c) / part) - 1;
    if (n < 1)
        n = 1;
    if (n > c->concurrency)
        n = c->concurrency;
    return n;
}


void pipeline_merged_name(const struct scan_source *const *srcs, size_t n, char name[64],
                          unsigned char sync[16])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (size_t i = 0; i < n; i++) {
        EVP_DigestUpdate(ctx, srcs[i]->relkey, strlen(srcs[i]->relkey));
        EVP_DigestUpdate(ctx, "\t", 1);
        EVP_DigestUpdate(ctx, srcs[i]->etag, strlen(srcs[i]->etag));
        EVP_DigestUpdate(ctx, "\n", 1);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(name, 64, MERGED_PREFIX "%s.avro", hex);
    /* the sync marker: the other half of the digest */
    memcpy(sync, md + 16, 16);
}

int pipeline_is_merged_name(const char *name)
{
    size_t n = strlen(name);
    if (n != strlen(MERGED_PREFIX) + 32 + 5 || strncmp(name, MERGED_PREFIX, 7) != 0 ||
        strcmp(name + n - 5, ".avro") != 0)
        return 0;
    for (size_t i = 7; i < 7 + 32; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

/* Test hook: REPART_TEST_CRASH_AT=<point> kills the process at that point
 * (SIGKILL, as a crash would), so the tests can prove what a rerun does
 * after a crash there. Points: mid_merge (half of a day's sources merged),
 * before_index (data uploaded, index not written), after_index (committed,
 * orphans not yet cleaned), after_lease (the day's lease just taken). */
static void crashpoint(const char *point)
{
    const char *at = getenv("REPART_TEST_CRASH_AT");
    if (at && strcmp(at, point) == 0)
        raise(SIGKILL);
    /* REPART_TEST_PAUSE_AT=<point>:<ms> holds the day there instead, so a
     * test can make two writers overlap. */
    const char *pause = getenv("REPART_TEST_PAUSE_AT");
    size_t n = strlen(point);
    if (pause && strncmp(pause, point, n) == 0 && pause[n] == ':') {
        long ms = atol(pause + n + 1);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---------------------------------------------------------------- fetching */

/* MD5 of a single-part object is its ETag (unless SSE-KMS/SSE-C); multipart
 * ETags ("...-N") say nothing about the bytes. */
static int check_md5(const struct scan_source *src, const struct s3_buf *b,
                     const struct s3_get_info *info, struct err *e)
{
    if (s3_etag_check(src->etag, info, b->data, b->len) == 0)
        return err_setk(e, ERR_TRANSIENT, "%s: MD5 of the %zu bytes received differs from its "
                        "ETag %s", src->key, b->len, src->etag);
    return 0;
}

struct fetch_slot {
    struct scan_source *src;
    struct s3_buf buf;
    int done, rc;
    struct err err;
};

struct fetcher {
    struct s3_client *s3;
    struct pool *pool;
    const char *bucket;
    struct fetch_slot *slots;
    size_t n, next, window;
    size_t consumed;        /* the slot the merge waits for or merges now */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long outstanding;
    atomic_int cancel;
    struct progress *prog;
};

struct fetch_task {
    struct fetcher *f;
    size_t i;
};

static void fetcher_fill_locked(struct fetcher *f);

static void fetch_run(void *arg)
{
    struct fetch_task *t = arg;
    struct fetcher *f = t->f;
    struct fetch_slot *s = &f->slots[t->i];
    free(t);
    int rc = -1;
    struct err e = {0};
    if (atomic_load(&f->cancel)) {
        err_setk(&e, ERR_CANCELLED, "cancelled");
    } else if ((unsigned long long)s->src->size > MAX_SOURCE_BYTES) {
        err_setk(&e, ERR_DATA, "%s: %lld bytes, more than a cold-tier file can hold (%u)",
                 s->src->key, s->src->size, MAX_SOURCE_BYTES);
    } else {
        /* s3_get_buffer retries transfers; a body that arrives whole but
         * does not match the listing (size, MD5) is fetched again, a few
         * times, before the day fails. */
        for (int attempt = 1;; attempt++) {
            struct s3_get_info info;
            rc = s3_get_buffer(f->s3, f->bucket, s->src->key, &s->buf, &info, &e);
            if (rc != 0)
                break;
            if ((long long)s->buf.len != s->src->size)
                rc = err_setk(&e, ERR_TRANSIENT, "%s: got %zu bytes, the listing said %lld",
                              s->src->key, s->buf.len, s->src->size);
            else
                rc = check_md5(s->src, &s->buf, &info, &e);
            if (rc == 0 || attempt >= FETCH_ATTEMPTS || atomic_load(&f->cancel))
                break;
            log_msg(LOG_WARN, NULL, "refetch", "%s (attempt %d of %d)", e.msg, attempt,
                    FETCH_ATTEMPTS);
            s3_buf_free(&s->buf);
            err_clear(&e);
        }
        if (rc == 0) {
            atomic_fetch_add(&f->prog->objects_done, 1);
            atomic_fetch_add(&f->prog->bytes_done, (long long)s->buf.len);
        }
    }
    pthread_mutex_lock(&f->mu);
    s->rc = rc;
    s->err = e;
    s->done = 1;
    f->outstanding--;
    fetcher_fill_locked(f);
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

static void fetcher_init(struct fetcher *f, const struct pipeline_env *env, struct progress *prog,
                         struct scan_source **srcs, size_t n)
{
    memset(f, 0, sizeof *f);
    f->s3 = env->s3;
    f->pool = env->pool;
    f->bucket = env->cfg->s3.cold_tier.bucket_name;
    f->n = n;
    f->window = (size_t)(env->cfg->concurrency > 0 ? env->cfg->concurrency : 16);
    f->prog = prog;
    f->slots = calloc(n ? n : 1, sizeof *f->slots);
    for (size_t i = 0; f->slots && i < n; i++)
        f->slots[i].src = srcs[i];
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
}

/* Starts fetches up to `window` ahead of the slot being merged. Called with
 * f->mu held, by the merging thread and by every finishing fetch, so the
 * window stays full while the merge waits for an upload part. */
static void fetcher_fill_locked(struct fetcher *f)
{
    while (f->next < f->n && f->next < f->consumed + f->window && !atomic_load(&f->cancel)) {
        struct fetch_task *t = malloc(sizeof *t);
        size_t i = f->next++;
        f->outstanding++;
        if (t) {
            t->f = f;
            t->i = i;
        }
        if (!t || pool_submit(f->pool, fetch_run, t) != 0) {
            free(t);
            f->slots[i].rc = err_setk(&f->slots[i].err, ERR_GENERIC,
                                      "cannot queue the fetch of %s", f->slots[i].src->key);
            f->slots[i].done = 1;
            f->outstanding--;
        }
    }
}

/* Waits for source i and returns its slot, or NULL with *e set. */
static struct fetch_slot *fetcher_get(struct fetcher *f, size_t i, struct err *e)
{
    pthread_mutex_lock(&f->mu);
    f->consumed = i;
    fetcher_fill_locked(f);
    while (!f->slots[i].done)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    if (f->slots[i].rc != 0) {
        *e = f->slots[i].err;
        return NULL;
    }
    return &f->slots[i];
}

static void fetcher_release(struct fetch_slot *s)
{
    s3_buf_free(&s->buf);
}

/* Stops the fetches not yet started, waits for the running ones, frees. */
static void fetcher_free(struct fetcher *f)
{
    atomic_store(&f->cancel, 1);
    pthread_mutex_lock(&f->mu);
    while (f->outstanding > 0)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; f->slots && i < f->n; i++)
        s3_buf_free(&f->slots[i].buf);
    free(f->slots);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}

/* ---------------------------------------------------------------- locking */

int pipeline_locking_on(const struct config *cfg)
{
    if (cfg->locking == CONFIG_LOCK_ON)
        return 1;
    if (cfg->locking == CONFIG_LOCK_OFF)
        return 0;
    const char *env_s3 = getenv("AWS_ENDPOINT_URL_S3"), *env = getenv("AWS_ENDPOINT_URL");
    return !cfg->s3.endpoint_url[0] && !(env_s3 && *env_s3) && !(env && *env);
}

static int day_lease(const struct pipeline_env *env, const struct day *d, struct lease *l,
                     struct err *e)
{
    memset(l, 0, sizeof *l);
    if (!pipeline_locking_on(env->cfg))
        return 0;
    char key[1200], part[DAY_PARTITION_MAX];
    snprintf(key, sizeof key, "%s%s" LEASE_NAME, env->cfg->s3.repartitioned.index_prefix,
             day_partition(d, part));
    return lease_acquire(env->s3, env->cfg->s3.repartitioned.bucket_name, key, LEASE_TTL_SECS, l,
                         e);
}

/* ------------------------------------------------------------ commit steps */

static int data_key(const struct config *cfg, const struct day *d, const char *name, char *buf,
                    size_t size)
{
    char part[DAY_PARTITION_MAX];
    int n = snprintf(buf, size, "%s%s%s", cfg->s3.repartitioned.data_prefix,
                     day_partition(d, part), name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The merged object must be there, with every byte we produced, before the
 * index may point at it: it is read back (one streamed GET, constant memory)
 * and compared with what was written: size, MD5 (whatever the bucket's
 * encryption does to ETags), container framing, sync marker and record
 * count. A mismatch may be the transfer's: the read is tried again. */
struct reread {
    struct ocf_scan scan;
    EVP_MD_CTX *md;
    long long bytes;
    int bad;
    struct err err;
};

static int reread_sink(void *ud, const void *buf, size_t len)
{
    struct reread *r = ud;
    r->bytes += (long long)len;
    EVP_DigestUpdate(r->md, buf, len);
    if (ocf_scan_feed(&r->scan, buf, len, &r->err) != 0) {
        r->bad = 1;
        return 1;
    }
    return 0;
}

/* What was uploaded, as seen by the producer. */
struct written {
    long long bytes;
    uint64_t records;
    unsigned char sync[16];
    unsigned char md5[16];
};

static int reread_once(const struct pipeline_env *env, const char *key, const struct written *w,
                       struct err *e)
{
    struct reread r;
    memset(&r, 0, sizeof r);
    ocf_scan_init(&r.scan, key);
    r.md = EVP_MD_CTX_new();
    if (!r.md || !EVP_DigestInit_ex(r.md, EVP_md5(), NULL)) {
        EVP_MD_CTX_free(r.md);
        return err_set(e, "out of memory");
    }
    int rc = s3_get(env->s3, env->cfg->s3.repartitioned.bucket_name, key, -1, -1, reread_sink, &r,
                    NULL, e);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(r.md, md, &mdlen);
    EVP_MD_CTX_free(r.md);
    if (rc != 0 && r.bad)
        *e = r.err;
    if (rc == 0 && ocf_scan_end(&r.scan, e) != 0)
        rc = -1;
    if (rc == 0 && r.bytes != w->bytes)
        rc = err_set(e, "%s has %lld bytes, %lld were written", key, r.bytes, w->bytes);
    if (rc == 0 && memcmp(md, w->md5, 16) != 0)
        rc = err_set(e, "%s: MD5 of the %lld bytes read differs from that of the bytes written",
                     key, r.bytes);
    if (rc == 0 && memcmp(r.scan.sync, w->sync, 16) != 0)
        rc = err_set(e, "%s: not the sync marker this merge wrote", key);
    if (rc == 0 && r.scan.records != w->records)
        rc = err_set(e, "%s holds %llu records, %llu were written", key,
                     (unsigned long long)r.scan.records, (unsigned long long)w->records);
    if (rc != 0 && e->kind != ERR_NOT_FOUND && e->kind != ERR_TRANSIENT)
        e->kind = ERR_DATA;  /* read whole, but not what was written */
    return rc;
}

static int verify_uploaded(const struct pipeline_env *env, const char *key,
                           const struct written *w, struct err *e)
{
    int rc;
    for (int attempt = 1;; attempt++) {
        rc = reread_once(env, key, w, e);
        if (rc == 0 || e->kind != ERR_DATA || attempt >= FETCH_ATTEMPTS)
            break;
        log_msg(LOG_WARN, NULL, "reread", "%s (attempt %d of %d)", e->msg, attempt,
                FETCH_ATTEMPTS);
        err_clear(e);
    }
    if (rc != 0) {
        if (e->kind != ERR_NOT_FOUND)
            e->kind = ERR_TRANSIENT;  /* a rerun uploads it again */
        err_prefix(e, "re-reading the uploaded merged file: ");
    }
    return rc;
}

/* A merge sink that uploads and takes the MD5 of what it passes on. */
struct tee {
    struct upload *up;
    EVP_MD_CTX *md;
};

static int tee_sink(void *ud, const void *data, size_t len)
{
    struct tee *t = ud;
    EVP_DigestUpdate(t->md, data, len);
    return upload_sink(t->up, data, len);
}

static void md5_final(EVP_MD_CTX *md, unsigned char out[16])
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, buf, &n);
    memcpy(out, buf, 16);
}

/* The commit. With locking, conditional on the index being what the day's
 * scan read (ix->etag, "" when there was none): a concurrent commit makes
 * this one fail (ERR_CONFLICT) instead of overwriting its entries. */
static int put_index(const struct pipeline_env *env, const char *index_key, const struct index *ix,
                     struct err *e)
{
    size_t len = 0;
    char *doc = index_format(ix, &len);
    if (!doc)
        return err_set(e, "out of memory");
    struct s3_put_opts opts = {.content_type = "text/plain; charset=utf-8"};
    if (pipeline_locking_on(env->cfg)) {
        if (ix->etag[0])
            opts.if_match = ix->etag;
        else
            opts.if_none_match = "*";
    }
    int rc = s3_put(env->s3, env->cfg->s3.repartitioned.bucket_name, index_key, doc, len, &opts,
                    NULL, e);
    free(doc);
    if (rc != 0 && e && e->kind == ERR_CONFLICT)
        err_prefix(e, "index %s changed since this run read it (another writer committed): ",
                   index_key);
    else if (rc != 0)
        err_prefix(e, "writing index %s: ", index_key);
    return rc;
}

/* Merged files of repart's naming under the day that `ix` does not refer
 * to: left by a run that died before its commit (their records are in the
 * committed file too). Deleted when `do_delete`; returns how many there are
 * (-1 when the listing failed). Callers hold the day's lease when locking is
 * on, so that a concurrent writer's not-yet-committed file is never taken
 * for an orphan. */
static int delete_orphans(const struct pipeline_env *env, const struct day *d,
                          const struct index *ix, const char *dayname, int do_delete)
{
    const struct config *cfg = env->cfg;
    char prefix[1100], part[DAY_PARTITION_MAX];
    snprintf(prefix, sizeof prefix, "%s%s", cfg->s3.repartitioned.data_prefix,
             day_partition(d, part));
    struct s3_object_list l = {0};
    struct err e = {0};
    if (s3_list(env->s3, cfg->s3.repartitioned.bucket_name, prefix, &l, &e) != 0) {
        log_msg(LOG_WARN, dayname, "orphans", "could not list merged files to clean up: %s", e.msg);
        return -1;
    }
    int found = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *name = l.items[i].key + strlen(prefix);
        if (strchr(name, '/') || !pipeline_is_merged_name(name))
            continue;
        int used = 0;
        for (size_t j = 0; j < ix->n_sources && !used; j++)
            used = strcmp(ix->sources[j].merged, name) == 0;
        if (used)
            continue;
        found++;
        if (!do_delete)
            continue;
        if (s3_delete(env->s3, cfg->s3.repartitioned.bucket_name, l.items[i].key, &e) == 0)
            log_msg(LOG_INFO, dayname, "orphan_deleted",
                    "deleted %s (left by a run that stopped before its commit)", l.items[i].key);
        else
            log_msg(LOG_WARN, dayname, "orphans", "could not delete %s: %s", l.items[i].key, e.msg);
    }
    s3_object_list_free(&l);
    return found;
}

/* A day with nothing new may still hold an orphan (a run that died after
 * its commit, before its clean-up). Costs one listing; with locking, the
 * clean-up itself happens under the lease against a fresh index. */
static void clean_orphans_idle_day(const struct pipeline_env *env, struct day_scan *s,
                                   const char *dayname)
{
    if (!s->index_exists || delete_orphans(env, &s->day, &s->index, dayname, 0) <= 0)
        return;
    if (!pipeline_locking_on(env->cfg)) {
        delete_orphans(env, &s->day, &s->index, dayname, 1);
        return;
    }
    struct lease l;
    struct err e = {0};
    if (day_lease(env, &s->day, &l, &e) != 0) {
        log_msg(LOG_INFO, dayname, "orphans", "orphan clean-up left for later: %s", e.msg);
        return;
    }
    struct index fresh;
    index_init(&fresh);
    struct s3_buf b = {0};
    if (s3_get_buffer(env->s3, env->cfg->s3.repartitioned.bucket_name, s->index_key, &b, NULL,
                      &e) == 0 &&
        index_parse((const char *)b.data, b.len, &fresh, &e) == 0)
        delete_orphans(env, &s->day, &fresh, dayname, 1);
    s3_buf_free(&b);
    index_free(&fresh);
    lease_release(env->s3, env->cfg->s3.repartitioned.bucket_name, &l);
}

static int index_add_sources(struct index *ix, struct scan_source **srcs, size_t n,
                             const char *merged, struct err *e)
{
    for (size_t i = 0; i < n; i++)
        if (index_add(ix, srcs[i]->relkey, srcs[i]->ck.series_id, srcs[i]->size, srcs[i]->etag,
                      merged) != 0)
            return err_set(e, "out of memory");
    index_sort(ix);
    return 0;
}

/* ------------------------------------------------------------------- days */

static void report_scan(const struct day_scan *s, const char *dayname, struct day_result *r)
{
    r->objects = s->n_src;
    r->new_objects = s->n_new;
    r->series_new = s->series_new;
    r->bad_keys = s->n_bad_keys;
    log_msg(LOG_INFO, dayname, "reviewing",
            "Reviewing --> year: %d, month: %d, day: %d: %zu objects (%.1f MB), %zu series",
            s->day.y, s->day.m, s->day.d, s->n_src, (double)s->bytes / 1e6, s->series);
    if (s->index_exists)
        log_msg(LOG_INFO, dayname, "indexed", "# of timeseries previously processed: %zu",
                s->series_indexed);
    if (s->series_new)
        log_msg(LOG_INFO, dayname, "new_series", "# of new timeseries detected: %zu", s->series_new);
    if (s->n_filtered)
        log_msg(LOG_INFO, dayname, "filtered", "%zu objects left out by timeseries_type",
                s->n_filtered);
}

static struct scan_source **new_sources(struct day_scan *s, struct err *e)
{
    struct scan_source **v = calloc(s->n_new ? s->n_new : 1, sizeof *v);
    if (!v) {
        err_set(e, "out of memory");
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->n_src; i++)
        if (s->src[i].is_new)
            v[k++] = &s->src[i];
    return v;
}

static int scan_for_run(struct run *run, const struct day *d, struct day_scan *s,
                        struct day_result *r, const char *dayname, struct err *e)
{
    struct scan_ctx sc = {run->env->cfg, run->env->s3, run->env->pool, run->env->filter};
    double t = now_secs();
    int rc = scan_day(&sc, d, s, e);
    r->secs_list = now_secs() - t;
    if (rc != 0)
        return -1;
    report_scan(s, dayname, r);
    if (s->n_bad_keys) {
        /* DESIGN §5: a key that does not parse fails its day */
        return err_setk(e, ERR_DATA, "%zu object key(s) under %s do not parse; first: %s",
                        s->n_bad_keys, s->day_prefix, s->bad_key.msg);
    }
    atomic_fetch_add(&run->prog.objects_total, (long long)s->n_new);
    return 0;
}

static void merge_options_for(const struct config *cfg, const unsigned char sync[16],
                              struct merge_options *mo)
{
    memset(mo, 0, sizeof *mo);
    mo->schema_json = sitewise_schema_json;
    mo->codec = output_codec(cfg);
    memcpy(mo->sync, sync, 16);
}

static void result_from_merge(struct day_result *r, const struct merge_stats *ms)
{
    r->records = ms->records_out;
    r->bytes_in = ms->bytes_in;
    r->bytes_out = ms->bytes_out;
    r->sources_copied = ms->sources_copied;
    r->sources_reencoded = ms->sources_recoded + ms->sources_resolved;
}

static int day_all(struct run *run, const struct day *d, struct day_result *r, const char *dayname,
                   struct err *e)
{
    const struct pipeline_env *env = run->env;
    const struct config *cfg = env->cfg;
    struct day_scan s;
    int rc = scan_for_run(run, d, &s, r, dayname, e);
    if (rc != 0 || s.n_new == 0) {
        if (rc == 0) {
            r->status = DAY_NOTHING_NEW;
            log_msg(LOG_INFO, dayname, "skip", "Skip, no new data");
            clean_orphans_idle_day(env, &s, dayname);
        }
        scan_free(&s);
        return rc;
    }
    /* One writer per day from here to the commit (locking on). */
    struct lease lease;
    if (day_lease(env, d, &lease, e) != 0) {
        scan_free(&s);
        return -1;
    }
    if (lease.held) {
        crashpoint("after_lease");
        struct scan_ctx sc = {cfg, env->s3, env->pool, env->filter};
        size_t before = s.n_new;
        if (scan_refresh_index(&sc, &s, e) != 0) {
            lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
            scan_free(&s);
            return -1;
        }
        if (s.n_new != before)
            log_msg(LOG_INFO, dayname, "index_changed",
                    "another writer committed meanwhile: %zu new objects left of %zu", s.n_new,
                    before);
        if (s.n_new == 0) {
            r->status = DAY_NOTHING_NEW;
            lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
            scan_free(&s);
            return 0;
        }
    }
    r->new_objects = s.n_new;
    log_msg(LOG_INFO, dayname, "start", "Found data, merging %zu new objects (%.1f MB)", s.n_new,
            (double)s.bytes_new / 1e6);
    struct scan_source **srcs = new_sources(&s, e);
    if (!srcs) {
        lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
        scan_free(&s);
        return -1;
    }
    char name[64];
    unsigned char sync[16];
    pipeline_merged_name((const struct scan_source *const *)srcs, s.n_new, name, sync);
    if (data_key(cfg, d, name, r->merged_key, sizeof r->merged_key) != 0) {
        lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
        free(srcs);
        scan_free(&s);
        return err_set(e, "merged key too long");
    }

    double t0 = now_secs();
    struct merge_options mo;
    merge_options_for(cfg, sync, &mo);
    struct upload *up = upload_open(env->s3, env->pool, cfg->s3.repartitioned.bucket_name,
                                    r->merged_key, (size_t)cfg->part_size_mb << 20,
                                    parts_in_flight(cfg), NULL, e);
    struct tee tee = {up, EVP_MD_CTX_new()};
    if (up && (!tee.md || !EVP_DigestInit_ex(tee.md, EVP_md5(), NULL))) {
        upload_free(up);
        up = NULL;
        err_set(e, "out of memory");
    }
    if (up)
        upload_set_budget(up, &run->budget);
    struct merge *m = up ? merge_open(&mo, tee_sink, &tee, e) : NULL;
    struct fetcher f;
    fetcher_init(&f, env, &run->prog, srcs, s.n_new);
    rc = (m && f.slots) ? 0 : -1;
    if (!f.slots)
        err_set(e, "out of memory");
    double t_wait = 0;
    for (size_t i = 0; rc == 0 && i < s.n_new; i++) {
        double tw = now_secs();
        struct fetch_slot *slot = fetcher_get(&f, i, e);
        t_wait += now_secs() - tw;
        if (!slot) {
            rc = -1;
            break;
        }
        if (merge_add(m, slot->src->key, slot->buf.data, slot->buf.len, NULL, e) != 0)
            rc = -1;
        fetcher_release(slot);
        if (i % 64 == 0)
            progress_draw(&run->prog);
        if (i == s.n_new / 2)
            crashpoint("mid_merge");
    }
    fetcher_free(&f);
    struct merge_stats ms = {0};
    if (rc == 0)
        rc = merge_finish(m, &ms, e);
    if (rc != 0 && up)
        upload_failed(up, e);  /* an upload error reaches the merge as a sink
                                  error: report the upload's own message */
    double t1 = now_secs();
    struct written w = {.records = ms.records_out};
    memcpy(w.sync, sync, 16);
    if (rc == 0)
        rc = upload_finish(up, NULL, &w.bytes, e);
    if (rc == 0) {
        md5_final(tee.md, w.md5);
        rc = verify_uploaded(env, r->merged_key, &w, e);
    }
    EVP_MD_CTX_free(tee.md);
    double t2 = now_secs();
    result_from_merge(r, &ms);
    r->secs_download = t_wait;
    r->secs_merge = t1 - t0 - t_wait;
    r->secs_upload = t2 - t1;
    merge_free(m);
    upload_free(up);  /* aborts an unfinished multipart upload */

    if (rc == 0) {
        crashpoint("before_index");
        rc = index_add_sources(&s.index, srcs, s.n_new, name, e);
        if (rc == 0)
            rc = put_index(env, s.index_key, &s.index, e);
        if (rc == 0) {
            crashpoint("after_index");
            r->status = DAY_DONE;
            log_msg(LOG_INFO, dayname, "committed",
                    "merged %zu objects, %llu records, %.1f MB -> s3://%s/%s; index committed "
                    "(%zu copied as blocks, %zu re-encoded) ** Download %.1f s, merge %.1f s, upload %.1f s **",
                    s.n_new, (unsigned long long)r->records, (double)r->bytes_out / 1e6,
                    cfg->s3.repartitioned.bucket_name, r->merged_key, (size_t)r->sources_copied,
                    (size_t)r->sources_reencoded, r->secs_download, r->secs_merge, r->secs_upload);
            delete_orphans(env, d, &s.index, dayname, 1);
        }
    }
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    free(srcs);
    scan_free(&s);
    return rc;
}

/* ------------------------------------------------------------ stage files */

static int stage_dir(const struct config *cfg, const char *stage, const struct day *d, char *buf,
                     size_t size)
{
    char folder[DAY_FOLDER_MAX];
    int n = snprintf(buf, size, "%s/%s/%s", cfg->work_dir, stage, day_folder(d, folder));
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int mkdir_p(const char *path, struct err *e)
{
    char tmp[2048];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return err_set(e, "path too long: %s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return err_set(e, "mkdir %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return err_set(e, "mkdir %s: %s", tmp, strerror(errno));
    return 0;
}

/* Removes a day folder (flat: files only) and the folder itself. */
static void remove_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir)
        return;
    struct dirent *de;
    char p[4096];
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        unlink(p);
    }
    closedir(dir);
    rmdir(path);
}

static int write_file(const char *path, const void *data, size_t len, struct err *e)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return err_set(e, "cannot write %s: %s", tmp, strerror(errno));
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    int bad = w != len;
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return err_set(e, "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

static const char *base_name(const char *key)
{
    const char *s = strrchr(key, '/');
    return s ? s + 1 : key;
}

/* State of a staged day: the sources (in merge order) and the merged name. */
static json_t *state_json(const struct day *d, const char *name, struct scan_source **srcs, size_t n)
{
    char ds[DAY_STR_MAX];
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:s}",
                                             "key", srcs[i]->key, "relkey", srcs[i]->relkey,
                                             "series", srcs[i]->ck.series_id,
                                             "size", (json_int_t)srcs[i]->size,
                                             "etag", srcs[i]->etag,
                                             "last_modified", (json_int_t)srcs[i]->last_modified,
                                             "file", base_name(srcs[i]->key)));
    return json_pack("{s:i, s:s, s:s, s:o}", "version", 1, "day", day_format(d, ds), "merged", name,
                     "sources", arr);
}

struct staged {
    json_t *root;
    const char *merged;
    size_t n;
    struct scan_source *src;    /* relkey/key/series/size/etag from the state file */
    struct scan_source **ptrs;
};

static void staged_free(struct staged *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->src[i].key);
    free(st->src);
    free(st->ptrs);
    json_decref(st->root);
    memset(st, 0, sizeof *st);
}

/* 1 when s holds a control character (it would break an index line). */
static int has_ctl(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

/* Parses the text of a day state file (`name` for messages). Returns 1,
 * or -1 on an error; free *st with staged_free either way. Every field is
 * checked as it would be in a listing: the sources go into the index as
 * they are. */
static int staged_parse(const char *text, size_t len, const char *name, struct staged *st,
                        struct err *e)
{
    memset(st, 0, sizeof *st);
    json_error_t je;
    st->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!st->root)
        return err_setk(e, ERR_DATA, "%s:%d: %s", name, je.line, je.text);
    json_t *sources = json_object_get(st->root, "sources");
    st->merged = json_string_value(json_object_get(st->root, "merged"));
    if (!json_is_array(sources) || !st->merged || !pipeline_is_merged_name(st->merged))
        return err_setk(e, ERR_DATA, "%s: not a repart day state file", name);
    st->n = json_array_size(sources);
    st->src = calloc(st->n ? st->n : 1, sizeof *st->src);
    st->ptrs = calloc(st->n ? st->n : 1, sizeof *st->ptrs);
    if (!st->src || !st->ptrs)
        return err_set(e, "out of memory");
    size_t k = 0;
    for (; k < st->n; k++) {
        json_t *o = json_array_get(sources, k);
        const char *key = json_string_value(json_object_get(o, "key"));
        const char *relkey = json_string_value(json_object_get(o, "relkey"));
        const char *series = json_string_value(json_object_get(o, "series"));
        const char *etag = json_string_value(json_object_get(o, "etag"));
        json_t *size = json_object_get(o, "size");
        size_t kl = key ? strlen(key) : 0, rl = relkey ? strlen(relkey) : 0;
        if (!key || !relkey || !series || !etag || !json_is_integer(size) || rl > kl ||
            strcmp(key + kl - rl, relkey) != 0 || strlen(series) > COLDKEY_SERIES_MAX ||
            strlen(etag) >= sizeof st->src[k].etag || strchr(base_name(key), '\\'))
            break;
        /* what the listing and the index accept: a non-negative size, no
         * control characters, a relkey whose series is `series`, a file
         * name that is one */
        char sid[COLDKEY_SERIES_MAX + 1];
        const char *file = base_name(key);
        if (json_integer_value(size) < 0 || has_ctl(key) || has_ctl(etag) ||
            index_series_of(relkey, sid, sizeof sid) != 0 || strcmp(sid, series) != 0 ||
            !*file || !strcmp(file, ".") || !strcmp(file, "..") || !strcmp(file, STATE_FILE))
            break;
        struct scan_source *s = &st->src[k];
        s->key = strdup(key);
        if (!s->key)
            break;
        s->relkey = s->key + (kl - rl);
        snprintf(s->ck.series_id, sizeof s->ck.series_id, "%s", series);
        snprintf(s->etag, sizeof s->etag, "%s", etag);
        s->size = (long long)json_integer_value(size);
        st->ptrs[k] = s;
    }
    if (k != st->n) {
        st->n = k;
        return err_setk(e, ERR_DATA, "%s: source %zu is malformed", name, k);
    }
    return 1;
}

/* Loads <dir>/repart-day.json. Returns 1 if present and valid, 0 if absent,
 * -1 on error. */
static int staged_load(const char *dir, struct staged *st, struct err *e)
{
    memset(st, 0, sizeof *st);
    char path[4200];
    snprintf(path, sizeof path, "%s/" STATE_FILE, dir);
    if (access(path, F_OK) != 0)
        return 0;
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = ocf_read_file(path, 64u << 20, &buf, &cap, &len, e);
    if (rc == 0)
        rc = staged_parse((const char *)buf, len, path, st, e);
    free(buf);
    return rc;
}

int pipeline_state_parse(const char *text, size_t len, struct index *ix, struct err *e)
{
    struct staged st;
    int rc = staged_parse(text, len, "state", &st, e);
    if (rc == 1)
        rc = index_add_sources(ix, st.ptrs, st.n, st.merged, e);
    staged_free(&st);
    return rc == 1 || rc == 0 ? 0 : -1;
}

/* A day's two stage folders (<work_dir>/raw/<day>, <work_dir>/merged/<day>)
 * and the state staged in `from` ("raw" or "merged"). Returns 1 with *st
 * loaded (free with staged_free), 0 when nothing is staged there (the day
 * has nothing new), -1 on error. */
static int stage_open(const struct config *cfg, const struct day *d, const char *from,
                      char raw[2048], char out[2048], struct staged *st, struct day_result *r,
                      struct err *e)
{
    memset(st, 0, sizeof *st);
    if (stage_dir(cfg, "raw", d, raw, 2048) != 0 || stage_dir(cfg, "merged", d, out, 2048) != 0)
        return err_setk(e, ERR_USAGE, "work_dir too long");
    int have = staged_load(strcmp(from, "raw") == 0 ? raw : out, st, e);
    if (have <= 0) {
        staged_free(st);
        if (have == 0)
            r->status = DAY_NOTHING_NEW;
        return have;
    }
    r->new_objects = st->n;
    return 1;
}

static int day_download(struct run *run, const struct day *d, struct day_result *r,
                        const char *dayname, struct err *e)
{
    const struct pipeline_env *env = run->env;
    const struct config *cfg = env->cfg;
    char dir[2048];
    if (stage_dir(cfg, "raw", d, dir, sizeof dir) != 0)
        return err_setk(e, ERR_USAGE, "work_dir too long");
    struct day_scan s;
    int rc = scan_for_run(run, d, &s, r, dayname, e);
    if (rc != 0 || s.n_new == 0) {
        if (rc == 0) {
            r->status = DAY_NOTHING_NEW;
            log_msg(LOG_INFO, dayname, "skip", "Skip, no new data");
        }
        scan_free(&s);
        return rc;
    }
    log_msg(LOG_INFO, dayname, "start", "Found data, starting to download %zu objects (%.1f MB)",
            s.n_new, (double)s.bytes_new / 1e6);
    struct scan_source **srcs = new_sources(&s, e);
    if (!srcs) {
        scan_free(&s);
        return -1;
    }
    char name[64];
    unsigned char sync[16];
    pipeline_merged_name((const struct scan_source *const *)srcs, s.n_new, name, sync);
    remove_dir(dir);  /* a download supersedes an earlier one never uploaded */
    rc = mkdir_p(dir, e);
    double t0 = now_secs();
    struct fetcher f;
    fetcher_init(&f, env, &run->prog, srcs, s.n_new);
    if (!f.slots)
        rc = err_set(e, "out of memory");
    char path[4200];
    for (size_t i = 0; rc == 0 && i < s.n_new; i++) {
        struct fetch_slot *slot = fetcher_get(&f, i, e);
        if (!slot) {
            rc = -1;
            break;
        }
        snprintf(path, sizeof path, "%s/%s", dir, base_name(slot->src->key));
        rc = write_file(path, slot->buf.data, slot->buf.len, e);
        r->bytes_in += slot->buf.len;
        fetcher_release(slot);
        if (i % 64 == 0)
            progress_draw(&run->prog);
    }
    fetcher_free(&f);
    if (rc == 0) {
        /* the index as read, as the Python sample keeps it */
        size_t len = 0;
        char *doc = index_format(&s.index, &len);
        snprintf(path, sizeof path, "%s/timeseries-previous.txt", dir);
        rc = doc ? write_file(path, doc, len, e) : err_set(e, "out of memory");
        free(doc);
    }
    if (rc == 0) {
        json_t *state = state_json(d, name, srcs, s.n_new);
        char *txt = state ? json_dumps(state, JSON_INDENT(1)) : NULL;
        snprintf(path, sizeof path, "%s/" STATE_FILE, dir);
        rc = txt ? write_file(path, txt, strlen(txt), e) : err_set(e, "out of memory");
        free(txt);
        json_decref(state);
    }
    r->secs_download = now_secs() - t0;
    if (rc == 0) {
        r->status = DAY_DONE;
        log_msg(LOG_INFO, dayname, "downloaded", "downloaded %zu objects (%.1f MB) into %s ** Download time: %.1f secs **",
                s.n_new, (double)r->bytes_in / 1e6, dir, r->secs_download);
    } else {
        remove_dir(dir);  /* never leave a half-downloaded day that merge could take */
    }
    free(srcs);
    scan_free(&s);
    return rc;
}

static int day_merge(struct run *run, const struct day *d, struct day_result *r,
                     const char *dayname, struct err *e)
{
    const struct config *cfg = run->env->cfg;
    char raw[2048], out[2048];
    struct staged st;
    int have = stage_open(cfg, d, "raw", raw, out, &st, r, e);
    if (have <= 0)
        return have;
    remove_dir(out);
    int rc = mkdir_p(out, e);
    double t0 = now_secs();
    char **paths = calloc(st.n ? st.n : 1, sizeof *paths);
    if (!paths)
        rc = err_set(e, "out of memory");
    for (size_t i = 0; rc == 0 && i < st.n; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", raw, base_name(st.src[i].key));
        paths[i] = strdup(p);
        if (!paths[i])
            rc = err_set(e, "out of memory");
    }
    char merged_path[4200];
    snprintf(merged_path, sizeof merged_path, "%s/%s", out, st.merged);
    struct merge_stats ms = {0};
    if (rc == 0) {
        struct scan_source *const *ps = st.ptrs;
        char name[64];
        unsigned char sync[16];
        pipeline_merged_name((const struct scan_source *const *)ps, st.n, name, sync);
        if (strcmp(name, st.merged) != 0)
            rc = err_setk(e, ERR_DATA, "%s/" STATE_FILE ": sources do not match the merged name %s",
                          raw, st.merged);
        struct merge_options mo;
        merge_options_for(cfg, sync, &mo);
        if (rc == 0)
            rc = merge_files((const char *const *)paths, st.n, merged_path, &mo, &ms, e);
    }
    for (size_t i = 0; paths && i < st.n; i++)
        free(paths[i]);
    free(paths);
    if (rc == 0) {
        /* the index this day will have once uploaded */
        char p[4200];
        snprintf(p, sizeof p, "%s/timeseries-previous.txt", raw);
        struct index ix;
        index_init(&ix);
        unsigned char *buf = NULL;
        size_t cap = 0, len = 0;
        if (ocf_read_file(p, 256u << 20, &buf, &cap, &len, e) == 0 &&
            index_parse((const char *)buf, len, &ix, e) == 0 &&
            index_add_sources(&ix, st.ptrs, st.n, st.merged, e) == 0) {
            size_t dl = 0;
            char *doc = index_format(&ix, &dl);
            snprintf(p, sizeof p, "%s/timeseries.txt", out);
            rc = doc ? write_file(p, doc, dl, e) : err_set(e, "out of memory");
            free(doc);
        } else {
            rc = -1;
        }
        free(buf);
        index_free(&ix);
    }
    if (rc == 0) {
        char src[4200], dst[4200];
        snprintf(src, sizeof src, "%s/" STATE_FILE, raw);
        snprintf(dst, sizeof dst, "%s/" STATE_FILE, out);
        unsigned char *buf = NULL;
        size_t cap = 0, len = 0;
        rc = ocf_read_file(src, 64u << 20, &buf, &cap, &len, e);
        if (rc == 0)
            rc = write_file(dst, buf, len, e);
        free(buf);
    }
    result_from_merge(r, &ms);
    r->secs_merge = now_secs() - t0;
    if (rc == 0) {
        r->status = DAY_DONE;
        log_msg(LOG_INFO, dayname, "merged",
                "merged %zu files, %llu records -> %s (%zu copied as blocks, %zu re-encoded) ** Merge time: %.1f secs **",
                st.n, (unsigned long long)r->records, merged_path, (size_t)r->sources_copied,
                (size_t)r->sources_reencoded, r->secs_merge);
    } else {
        remove_dir(out);
    }
    staged_free(&st);
    return rc;
}

/* Uploads a staged merged file, checking its framing on the way; *w gets
 * what verify_uploaded compares. */
static int upload_file(const struct pipeline_env *env, struct upload_budget *budget,
                       const char *path, const char *key, struct written *w, struct err *e)
{
    const struct config *cfg = env->cfg;
    FILE *f = fopen(path, "rb");
    if (!f)
        return err_set(e, "cannot open %s: %s", path, strerror(errno));
    struct upload *up = upload_open(env->s3, env->pool, cfg->s3.repartitioned.bucket_name, key,
                                    (size_t)cfg->part_size_mb << 20, parts_in_flight(cfg), NULL, e);
    int rc = up ? 0 : -1;
    if (up)
        upload_set_budget(up, budget);
    unsigned char *buf = malloc(1 << 20);
    if (!buf)
        rc = err_set(e, "out of memory");
    size_t n;
    struct ocf_scan scan;
    ocf_scan_init(&scan, path);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (rc == 0 && (!md || !EVP_DigestInit_ex(md, EVP_md5(), NULL)))
        rc = err_set(e, "out of memory");
    while (rc == 0 && (n = fread(buf, 1, 1 << 20, f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        rc = ocf_scan_feed(&scan, buf, n, e);
        if (rc == 0)
            rc = upload_write(up, buf, n, e);
    }
    if (rc == 0 && ferror(f))
        rc = err_set(e, "reading %s: %s", path, strerror(errno));
    if (rc == 0)
        rc = ocf_scan_end(&scan, e);
    if (rc == 0) {
        md5_final(md, w->md5);
        w->records = scan.records;
        memcpy(w->sync, scan.sync, 16);
    }
    EVP_MD_CTX_free(md);
    if (rc == 0)
        rc = upload_finish(up, NULL, &w->bytes, e);
    free(buf);
    upload_free(up);
    fclose(f);
    return rc;
}

static int day_upload(struct run *run, const struct day *d, struct day_result *r,
                      const char *dayname, struct err *e)
{
    const struct pipeline_env *env = run->env;
    const struct config *cfg = env->cfg;
    char raw[2048], out[2048];
    struct staged st;
    int have = stage_open(cfg, d, "merged", raw, out, &st, r, e);
    if (have <= 0)
        return have;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", out, st.merged);
    int rc = data_key(cfg, d, st.merged, r->merged_key, sizeof r->merged_key);
    if (rc != 0)
        err_set(e, "merged key too long");
    double t0 = now_secs();
    struct written w = {0};
    if (rc == 0)
        rc = upload_file(env, &run->budget, path, r->merged_key, &w, e);
    if (rc == 0)
        rc = verify_uploaded(env, r->merged_key, &w, e);
    long long bytes = w.bytes;
    r->bytes_out = (uint64_t)bytes;
    /* Commit: the index as it is now in the bucket (another run may have
     * committed since the download) plus this day's sources. */
    struct day_scan cur;
    memset(&cur, 0, sizeof cur);
    index_init(&cur.index);
    if (rc == 0 && scan_index_key(cfg, d, cur.index_key, sizeof cur.index_key) != 0)
        rc = err_set(e, "index key too long");
    struct lease lease = {0};
    if (rc == 0)
        rc = day_lease(env, d, &lease, e);
    if (rc == 0) {
        struct s3_buf b = {0};
        struct err ge = {0};
        struct s3_get_info info = {0};
        int g = s3_get_buffer_verified(env->s3, cfg->s3.repartitioned.bucket_name, cur.index_key,
                                       &b, &info, &ge);
        if (g == 0) {
            rc = index_parse((const char *)b.data, b.len, &cur.index, e);
            snprintf(cur.index.etag, sizeof cur.index.etag, "%s", info.etag);
        }
        else if (ge.kind != ERR_NOT_FOUND) {
            *e = ge;
            rc = -1;
        }
        s3_buf_free(&b);
    }
    if (rc == 0) {
        crashpoint("before_index");
        rc = index_add_sources(&cur.index, st.ptrs, st.n, st.merged, e);
    }
    if (rc == 0)
        rc = put_index(env, cur.index_key, &cur.index, e);
    r->secs_upload = now_secs() - t0;
    if (rc == 0) {
        r->status = DAY_DONE;
        log_msg(LOG_INFO, dayname, "committed",
                "uploaded s3://%s/%s (%.1f MB) and the index ** Upload time: %.1f secs **",
                cfg->s3.repartitioned.bucket_name, r->merged_key, (double)bytes / 1e6,
                r->secs_upload);
        delete_orphans(env, d, &cur.index, dayname, 1);
        remove_dir(raw);
        remove_dir(out);
    }
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    index_free(&cur.index);
    staged_free(&st);
    return rc;
}

/* ------------------------------------------------------------------- run */

static void *day_thread(void *arg)
{
    struct run *run = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&run->next_day, 1);
        if (i >= run->n_days)
            return NULL;
        const struct day *d = &run->days[i];
        struct day_result *r = &run->results[i];
        memset(r, 0, sizeof *r);
        r->day = *d;
        char dayname[DAY_STR_MAX];
        day_format(d, dayname);
        double t0 = now_secs();
        struct err e = {0};
        int rc;
        switch (run->mode) {
        case PIPELINE_DOWNLOAD: rc = day_download(run, d, r, dayname, &e); break;
        case PIPELINE_MERGE: rc = day_merge(run, d, r, dayname, &e); break;
        case PIPELINE_UPLOAD: rc = day_upload(run, d, r, dayname, &e); break;
        default: rc = day_all(run, d, r, dayname, &e); break;
        }
        r->secs_total = now_secs() - t0;
        if (rc != 0) {
            r->status = DAY_FAILED;
            r->err = e;
            log_msg(LOG_ERROR, dayname, "failed", "%s (nothing of this day was committed)", e.msg);
        }
        atomic_fetch_add(&run->prog.days_done, 1);
        progress_draw(&run->prog);
    }
}

size_t pipeline_run(const struct pipeline_env *env, enum pipeline_mode mode,
                    const struct day *days, size_t n_days, struct day_result *results)
{
    struct run run;
    memset(&run, 0, sizeof run);
    run.env = env;
    run.mode = mode;
    run.days = days;
    run.n_days = n_days;
    run.results = results;
    run.prog.days_total = (long)n_days;
    run.prog.t0 = now_secs();
    upload_budget_init(&run.budget, part_budget(env->cfg));
    int threads = env->days_in_flight > 0 ? env->days_in_flight : 4;
    if ((size_t)threads > n_days)
        threads = (int)n_days;
    pthread_t tids[64];
    if (threads > 64)
        threads = 64;
    int started = 0;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tids[i], NULL, day_thread, &run) == 0)
            started++;
    if (started == 0 && n_days)
        day_thread(&run);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    log_progress_done();
    upload_budget_destroy(&run.budget);
    size_t failed = 0;
    for (size_t i = 0; i < n_days; i++)
        failed += results[i].status == DAY_FAILED;
    return failed;
}
