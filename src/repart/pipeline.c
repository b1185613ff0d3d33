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

#include "dayfile.h"
#include "datetime.h"
#include "hex.h"
#include "index.h"
#include "layout.h"
#include "lease.h"
#include "log.h"
#include "merge.h"
#include "ocf_scan.h"
#include "progress.h"
#include "sampleadopt.h"
#include "stop.h"
#include "testhook.h"
#include "upload.h"

#define FETCH_ATTEMPTS 4     /* GETs of a source whose bytes do not match its listing */
#define MAX_SOURCE_BYTES (512u * 1024 * 1024)  /* a cold-tier file is ~10-500 KB */
#define LEASE_TTL_SECS 1800      /* a day's writer is presumed dead after 30 min */


struct run {
    struct upload_budget budget;   /* part buffers of all days in flight */
    const struct pipeline_env *env;
    struct pipeline_env ds_env[2]; /* env with the config of each dataset (day.ds) */
    struct config ds_cfg[2];
    int ds_bad[2];                 /* the dataset's config view failed: ds_err says why */
    struct err ds_err[2];
    enum pipeline_mode mode;
    const struct day *days;
    size_t n_days;
    struct day_result *results;
    atomic_size_t next_day;
    struct progress prog;
};

/* The env of the dataset a day (work item) belongs to. */
static const struct pipeline_env *run_env(const struct run *run, const struct day *d)
{
    return &run->ds_env[d->ds == 1];
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
    hex_encode(md, 16, hex);
    snprintf(name, 64, LAYOUT_V1_PREFIX "%s.avro", hex);
    /* the sync marker: the other half of the digest */
    memcpy(sync, md + 16, 16);
}

int pipeline_is_merged_name(const char *name)
{
    size_t n = strlen(name);
    if (n != strlen(LAYOUT_V1_PREFIX) + 32 + 5 || strncmp(name, LAYOUT_V1_PREFIX, 7) != 0 ||
        strcmp(name + n - 5, ".avro") != 0)
        return 0;
    for (size_t i = 7; i < 7 + 32; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return 0;
    return 1;
}

/* Test hooks (testhook.h). */
static void crashpoint(const char *point)
{
    testhook_point(point);
}

static int stopping(const struct pipeline_env *env)
{
    return env->stop && *env->stop;
}

/* The error of a day that stops before its commit (ERR_CANCELLED). */
static int stop_error(const struct pipeline_env *env, const char *when, struct err *e)
{
    (void)env;
    return err_setk(e, ERR_CANCELLED, "stopped by %s %s", stop_signal_name(stop_signal()), when);
}

/* ---------------------------------------------------------------- fetching */

/* The GET's answer must carry the ETag the listing gave (src->etag: what
 * the index records and what the MD5 check below trusts). A listing is
 * covered by no checksum: one damaged digit that leaves the ETag "not an
 * MD5" (e.g. 'f' -> 'g') made s3_etag_check return -1, which passed any
 * body, so a damaged body of that source was merged and committed (torture
 * seed 89173). A mismatch is the listing's (damaged, or the object changed
 * since): fetching again cannot help, the day fails and a rerun lists
 * again. Returns 1 for that case. */
static int etag_differs(const struct scan_source *src, const struct s3_get_info *info,
                        struct err *e)
{
    if (!src->etag[0] || !info->etag[0] || strcmp(src->etag, info->etag) == 0)
        return 0;
    err_setk(e, ERR_TRANSIENT, "%s: the GET answered ETag %s, the listing said %s (changed "
             "since the listing, or a damaged listing); a rerun lists the day again",
             src->key, info->etag, src->etag);
    return 1;
}

/* MD5 of a single-part object is its ETag (unless SSE-KMS/SSE-C); multipart
 * ETags ("...-N") say nothing about the bytes. */
static int check_md5(const struct scan_source *src, const struct bytebuf *b,
                     const struct s3_get_info *info, struct err *e)
{
    if (s3_etag_check(src->etag, info, b->data, b->len) == 0)
        return err_setk(e, ERR_TRANSIENT, "%s: MD5 of the %zu bytes received differs from its "
                        "ETag %s", src->key, b->len, src->etag);
    return 0;
}

struct fetch_slot {
    struct scan_source *src;
    struct bytebuf buf;
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
            rc = s3_get_buffer(f->s3, f->bucket, s->src->key, s->src->size > 0 ? s->src->size : 1,
                               &s->buf, &info, &e);
            if (rc != 0)
                break;
            if (etag_differs(s->src, &info, &e)) {
                rc = -1;
                break;
            }
            if ((long long)s->buf.len != s->src->size)
                rc = err_setk(&e, ERR_TRANSIENT, "%s: got %zu bytes, the listing said %lld",
                              s->src->key, s->buf.len, s->src->size);
            else
                rc = check_md5(s->src, &s->buf, &info, &e);
            if (rc == 0 || attempt >= FETCH_ATTEMPTS || atomic_load(&f->cancel))
                break;
            log_msg(LOG_WARN, NULL, "refetch", "%s (attempt %d of %d)", e.msg, attempt,
                    FETCH_ATTEMPTS);
            bytebuf_free(&s->buf);
            err_clear(&e);
        }
        if (rc == 0) {
            progress_fetched(f->prog, (long long)s->buf.len);
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
    bytebuf_free(&s->buf);
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
        bytebuf_free(&f->slots[i].buf);
    free(f->slots);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
}

/* ---------------------------------------------------------------- locking */

static int day_lease(const struct pipeline_env *env, const struct day *d, struct lease *l,
                     struct err *e)
{
    memset(l, 0, sizeof *l);
    if (!env->locking)
        return 0;
    char key[1200];
    if (layout_lease_key(env->cfg, d, key, sizeof key) != 0)
        return err_set(e, "lease key too long");
    int ttl;
    if (lease_ttl_secs(LEASE_TTL_SECS, &ttl, e) != 0 ||
        lease_acquire(env->s3, env->cfg->s3.repartitioned.bucket_name, key, ttl, l, e) != 0)
        return -1;
    /* renewed while the day runs: a long day keeps it */
    if (lease_keepalive_start(env->s3, env->cfg->s3.repartitioned.bucket_name, l, ttl, e) != 0) {
        lease_release(env->s3, env->cfg->s3.repartitioned.bucket_name, l);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ commit steps */

/* The commit. With locking, conditional on the index being what the day's
 * scan read (ix->etag, "" when there was none): a concurrent commit makes
 * this one fail (ERR_CONFLICT) instead of overwriting its entries. */
static int put_index(const struct pipeline_env *env, const struct lease *lease,
                     const char *index_key, const struct index *ix, struct err *e)
{
    if (lease && lease_lost(lease))
        return err_setk(e, ERR_CONFLICT, "the day's lease %s was lost (taken over, removed or "
                        "expired before a renewal); not committing", lease->key);
    size_t len = 0;
    char *doc = index_format(ix, &len);
    if (!doc)
        return err_set(e, "out of memory");
    struct s3_put_opts opts = {.content_type = "text/plain; charset=utf-8"};
    if (env->locking) {
        if (ix->etag[0])
            opts.if_match = ix->etag;
        else
            opts.if_none_match = "*";
    }
    int rc = s3_put(env->s3, env->cfg->s3.repartitioned.bucket_name, index_key, doc, len, &opts,
                    NULL, e);
    free(doc);
    if (rc != 0 && e && e->kind == ERR_CONFLICT) {
        err_prefix(e, "index %s changed since this run read it (another writer committed): ",
                   index_key);
    } else if (rc != 0 && e && (e->kind == ERR_TRANSIENT || e->kind == ERR_GENERIC)) {
        /* sent, and no answer that says it was refused: it may have landed */
        err_prefix(e, "writing index %s (the commit) got no answer that says whether it was "
                   "applied: ", index_key);
        e->kind = ERR_UNCERTAIN;
    } else if (rc != 0) {
        err_prefix(e, "writing index %s: ", index_key);
    }
    return rc;
}

/* Deletes what the committed index ix says is superseded: files folded
 * into the day file (#folded: only the version folded, by its ETag), and,
 * unless only_folded, files of index version 1 (merged_<hash>.avro) it no
 * longer names (their sources are all in the day file, or a version-1 run
 * died before its commit). Only ever after the commit that makes them
 * unneeded, and again by any later run of the day (a run stopped, or a
 * delete failed, in between): queries count their records twice until then. */
static int delete_superseded(const struct pipeline_env *env, const struct lease *lease,
                             const struct day *d, const struct index *ix, int only_folded,
                             const char *dayname)
{
    /* when the listing is not had, every folded file may still be there */
    int left = (int)ix->n_folded;
    if (lease && lease_lost(lease)) {
        log_msg(LOG_WARN, dayname, "superseded", "the day's lease was lost: superseded files "
                "left for the next run to delete");
        return left;
    }
    const struct config *cfg = env->cfg;
    char prefix[1100];
    if (layout_data_key(cfg, d, "", prefix, sizeof prefix) != 0)
        return left;
    struct s3_object_list l = {0};
    struct err e = {0};
    if (s3_list(env->s3, cfg->s3.repartitioned.bucket_name, prefix, &l, &e) != 0) {
        log_msg(LOG_WARN, dayname, "superseded", "could not list merged files to clean up: %s",
                e.msg);
        return left;
    }
    left = 0;
    for (size_t i = 0; i < l.n; i++) {
        const char *name = l.items[i].key + strlen(prefix);
        if (strchr(name, '/') || index_file_find(ix, name))
            continue;
        const struct index_folded *fo = index_folded_find(ix, name);
        int folded = fo && fo->etag[0] && strcmp(fo->etag, l.items[i].etag) == 0;
        int v1 = !only_folded && pipeline_is_merged_name(name);
        if (!folded && !v1)
            continue;
        int used = 0;
        for (size_t j = 0; j < ix->n_sources && !used; j++)
            used = strcmp(ix->sources[j].merged, name) == 0;
        if (used)
            continue;
        /* only the version listed: an object written since is not ours to judge */
        if (s3_delete_if_match(env->s3, cfg->s3.repartitioned.bucket_name, l.items[i].key,
                               l.items[i].etag, &e) == 0) {
            log_msg(LOG_INFO, dayname, "superseded_deleted",
                    "deleted %s (its records are in " LAYOUT_DAYFILE ")", l.items[i].key);
        } else {
            log_msg(LOG_WARN, dayname, "superseded", "could not delete %s: %s", l.items[i].key,
                    e.msg);
            left += folded;
        }
    }
    s3_object_list_free(&l);
    return left;
}

/* Multipart uploads of this day's files (merged.avro, merged_<hash>.avro)
 * that a killed run left open (its parts are billed, nothing reads them):
 * aborted once older than env->stale_upload_secs. Called by the day's
 * writer (under its lease with locking on), before it starts its own upload;
 * a live writer's upload is minutes old, and one that lost its upload fails
 * its day before any commit. A server without ListMultipartUploads leaves
 * them to the bucket's lifecycle rule (docs/deploy-batch.md). */
static void abort_stale_uploads(const struct pipeline_env *env, const struct day *d,
                                const char *dayname)
{
    const struct config *cfg = env->cfg;
    char prefix[1100];
    if (layout_data_key(cfg, d, "", prefix, sizeof prefix) != 0)
        return;
    struct s3_upload_list l = {0};
    struct err e = {0};
    if (s3_list_uploads(env->s3, cfg->s3.repartitioned.bucket_name, prefix, &l, &e) != 0) {
        log_msg(LOG_DEBUG, dayname, "stale_uploads", "multipart uploads not listed (%s): "
                "leftovers are the lifecycle rule's", e.msg);
        return;
    }
    long long now = (long long)time(NULL);
    long age_min = env->stale_upload_secs > 0 ? env->stale_upload_secs : 3600;
    for (size_t i = 0; i < l.n; i++) {
        const struct s3_upload *u = &l.items[i];
        const char *name = u->key + (strncmp(u->key, prefix, strlen(prefix)) == 0
                                         ? strlen(prefix) : 0);
        if (name == u->key || strchr(name, '/') ||
            (strcmp(name, LAYOUT_DAYFILE) != 0 && !pipeline_is_merged_name(name)))
            continue;   /* not one of repart's files of this day */
        if (u->initiated < 0 || now - u->initiated < age_min)
            continue;   /* age unknown, or young enough to be a live writer's */
        if (s3_mpu_abort(env->s3, cfg->s3.repartitioned.bucket_name, u->key, u->upload_id,
                         &e) == 0 || e.kind == ERR_NOT_FOUND)
            log_msg(LOG_INFO, dayname, "stale_upload_aborted", "aborted the multipart upload "
                    "of %s started %lld s ago and never completed (a run stopped before it "
                    "could)", u->key, now - u->initiated);
        else
            log_msg(LOG_WARN, dayname, "stale_uploads", "could not abort the multipart upload "
                    "of %s: %s", u->key, e.msg);
    }
    s3_upload_list_free(&l);
}

/* ---------------------------------------------------------------- the plan */

/* How a run writes the day, decided from the index alone (dayfile.h). */
struct plan {
    int rebuild;
    struct scan_source **srcs;   /* to merge, in merge order */
    size_t n;
    char **fold;                 /* other files the rebuild takes in (from the cold tier):
                                    version-1 files, and sample files that hold an
                                    overwritten source; deleted after the commit */
    size_t n_fold;
    struct index_source *keep;   /* (copies) day-file sources gone from the cold tier:
                                    a rebuild carries their committed blocks over */
    size_t n_keep;
};

static void plan_free(struct plan *p)
{
    for (size_t i = 0; i < p->n_fold; i++)
        free(p->fold[i]);
    free(p->fold);
    for (size_t i = 0; i < p->n_keep; i++) {
        free(p->keep[i].relkey);
        free(p->keep[i].series);
        free(p->keep[i].merged);
    }
    free(p->keep);
    free(p->srcs);
    memset(p, 0, sizeof *p);
}

static int plan_folds(const struct plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_fold; i++)
        if (strcmp(p->fold[i], name) == 0)
            return 1;
    return 0;
}

/* 1 when the index record of relkey belongs to the day file or a folded file. */
static int plan_rewrites(const struct plan *p, const struct index_source *x)
{
    return x && (strcmp(x->merged, LAYOUT_DAYFILE) == 0 || plan_folds(p, x->merged));
}

/* 1 when every source the index places in file m is still listed. */
static int plan_all_listed(const struct index *ix, const unsigned char *listed, const char *m)
{
    for (size_t k = 0; k < ix->n_sources; k++)
        if (strcmp(ix->sources[k].merged, m) == 0 && !listed[k])
            return 0;
    return 1;
}

static int plan_add_fold(struct plan *p, const char *m, struct err *e)
{
    if (plan_folds(p, m))
        return 0;
    if (!(p->fold[p->n_fold] = strdup(m)))
        return err_set(e, "out of memory");
    p->n_fold++;
    return 0;
}

/* A source overwritten since it went into file m, which is not the day
 * file: its old records must leave the day with m. m is folded (rebuilt
 * from the cold tier into the day file, then deleted) when the cold tier
 * still holds everything m holds: a version-1 file whose sources are all
 * listed, or a sample file whose records are all its sources' (unowned 0,
 * found when it was adopted) and whose sources are all listed. Otherwise
 * the old records cannot be told apart from ones no source backs any more:
 * the day stops, nothing written. */
static int plan_fold_changed(struct plan *p, const struct index *ix, const unsigned char *listed,
                             const struct scan_source *src, const char *m, struct err *e)
{
    const struct index_file *f = index_file_find(ix, m);
    int whole = pipeline_is_merged_name(m) || (f && f->unowned == 0);
    if (whole && plan_all_listed(ix, listed, m))
        return plan_add_fold(p, m, e);
    return err_setk(e, ERR_DATA, "%s was overwritten since it was merged into %s, which also "
                    "holds records that no object in the cold tier accounts for now (sources "
                    "deleted since): the old records cannot be taken out without losing those. "
                    "Nothing was written; restore the deleted objects, or see docs/design.md "
                    "(\"Overwritten sources\")", src->key, m);
}

/* rebuild: a new day file even when appending would do (the committed
 * bytes are in the copy a stopped rebuild saved only, or the sources need
 * a wider schema than the committed file's). */
static int plan_day(struct day_scan *s, struct plan *p, int rebuild, struct err *e)
{
    memset(p, 0, sizeof *p);
    struct index *ix = &s->index;
    const struct index_file *df = index_file_find(ix, LAYOUT_DAYFILE);
    struct err ce = {0};
    if ((df && index_check_file(ix, LAYOUT_DAYFILE, &ce) != 0) || index_check_adopted(ix, &ce) != 0)
        return err_setk(e, ERR_DATA, "index %s: %s; nothing is decided from it: run `repart "
                        "verify --repair` for this day", s->index_key, ce.msg);
    /* which indexed sources are still listed (as they are, or overwritten) */
    unsigned char *listed = calloc(ix->n_sources ? ix->n_sources : 1, 1);
    p->srcs = calloc(s->n_src ? s->n_src : 1, sizeof *p->srcs);
    p->fold = calloc(ix->n_sources ? ix->n_sources : 1, sizeof *p->fold);
    p->keep = calloc(ix->n_sources ? ix->n_sources : 1, sizeof *p->keep);
    int rc = listed && p->srcs && p->fold && p->keep ? 0 : err_set(e, "out of memory");
    for (size_t i = 0; rc == 0 && i < s->n_src; i++) {
        const struct index_source *x = index_source_find(ix, s->src[i].relkey);
        if (x)
            listed[x - ix->sources] = 1;
    }
    /* version-1 files are folded in whenever every source they hold is
     * still in the cold tier (the rebuild takes them from there) */
    for (size_t j = 0; rc == 0 && j < ix->n_sources; j++) {
        const char *m = ix->sources[j].merged;
        if (ix->sources[j].off < 0 && pipeline_is_merged_name(m) && !plan_folds(p, m) &&
            plan_all_listed(ix, listed, m))
            rc = plan_add_fold(p, m, e);
    }
    int changed = 0;
    for (size_t i = 0; rc == 0 && i < s->n_src; i++) {
        const struct index_source *x = index_source_find(ix, s->src[i].relkey);
        if (!s->src[i].changed || !x)
            continue;
        changed = 1;
        if (!plan_rewrites(p, x))
            rc = plan_fold_changed(p, ix, listed, &s->src[i], x->merged, e);
    }
    p->rebuild = !df || changed || p->n_fold > 0 || rebuild;
    /* the day file's sources gone from the cold tier: a rebuild keeps
     * their committed blocks (dayfile_read_committed) */
    for (size_t j = 0; rc == 0 && df && p->rebuild && j < ix->n_sources; j++) {
        const struct index_source *x = &ix->sources[j];
        if (listed[j] || strcmp(x->merged, LAYOUT_DAYFILE) != 0)
            continue;
        struct index_source *k = &p->keep[p->n_keep];
        *k = *x;
        k->relkey = strdup(x->relkey);
        k->series = strdup(x->series);
        k->merged = strdup(x->merged);
        p->n_keep++;
        if (!k->relkey || !k->series || !k->merged)
            rc = err_set(e, "out of memory");
    }
    free(listed);
    for (size_t i = 0; rc == 0 && i < s->n_src; i++) {
        struct scan_source *src = &s->src[i];
        if (src->is_new || (p->rebuild && plan_rewrites(p, index_source_find(ix, src->relkey))))
            p->srcs[p->n++] = src;
    }
    if (rc != 0)
        plan_free(p);
    return rc;
}

/* 1 when the day file is not the committed version and that version's
 * bytes are in the copy a rebuild saved before it stopped: appending to the
 * day file is then impossible (its committed prefix is gone), a rebuild
 * takes the committed blocks it keeps from the copy (read_committed_kept).
 * Without this, a day whose change went back (an overwritten source
 * restored) asked for `verify --repair`, which drops the records of sources
 * gone from the cold tier. */
static int committed_in_copy(const struct pipeline_env *env, const struct day_scan *s)
{
    const struct index_file *f = index_file_find(&s->index, LAYOUT_DAYFILE);
    char key[1200];
    struct s3_object o = {0};
    struct err e = {0};
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    if (!f || layout_data_key(env->cfg, &s->day, LAYOUT_DAYFILE, key, sizeof key) != 0)
        return 0;
    if (s3_head(env->s3, bucket, key, &o, &e) == 0 && o.size == f->size &&
        (!f->etag[0] || strcmp(o.etag, f->etag) == 0))
        return 0;
    if (layout_committed_copy_key(s->index_key, f->md5, key, sizeof key) != 0)
        return 0;
    memset(&o, 0, sizeof o);
    return s3_head(env->s3, bucket, key, &o, &e) == 0 && o.size == f->size;
}

/* The saved copy of the committed day file (keep_key names the committed
 * version, so bytes that differ from the index's MD5s are damage, never
 * another version): read again up to three times. No copy: *e = *none (the
 * day file's own error). A copy that cannot be read, or stays damaged, is a
 * fault (not ERR_DATA): no caller may then give up the records it holds. */
static int read_saved_copy(const struct pipeline_env *env, const char *bucket,
                           const char *keep_key, const struct index_file *cf,
                           struct bytebuf *k, const struct err *none, struct err *e)
{
    enum { READS = 3 };
    for (int n = 1; n <= READS; n++) {
        struct err ke = {0};
        k->len = 0;
        if (s3_get_buffer(env->s3, bucket, keep_key, cf->size > 0 ? cf->size : 1, k, NULL,
                          &ke) != 0) {
            *e = ke.kind == ERR_NOT_FOUND ? *none : ke;
            if (ke.kind == ERR_DATA)   /* e.g. longer than the committed size */
                e->kind = ERR_GENERIC;
            return -1;
        }
        if (dayfile_is_committed(cf, k->data, k->len))
            return 0;
    }
    return err_setk(e, ERR_GENERIC, "the saved committed copy %s differs from the index's MD5s "
                    "in %d reads: not used, no record given up", keep_key, READS);
}

/* The committed version of the day file into *out (caller frees): the day
 * file's first bytes when they are that version, else the copy a rebuild
 * saved before it stopped (*from_copy 1). ERR_DATA or ERR_NOT_FOUND when
 * neither is there. */
static int load_committed(const struct pipeline_env *env, const struct day *d,
                          const struct index *ix, const char *index_key, struct bytebuf *out,
                          int *from_copy, const char *dayname, struct err *e)
{
    const struct index_file *cf = index_file_find(ix, LAYOUT_DAYFILE);
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    char keep_key[1200];
    *from_copy = 0;
    if (!cf)
        return err_setk(e, ERR_DATA, "the index commits no " LAYOUT_DAYFILE);
    if (layout_committed_copy_key(index_key, cf->md5, keep_key, sizeof keep_key) != 0)
        return err_set(e, "index key too long");
    struct dayfile_env denv = {env->cfg, env->s3, env->pool, NULL, 1, env->locking};
    struct err de = {0};
    if (dayfile_read_committed(&denv, d, cf, out, &de) == 0)
        return 0;
    if (de.kind != ERR_DATA && de.kind != ERR_NOT_FOUND) {
        *e = de;
        return -1;
    }
    /* not the committed version: a rebuild stopped before its commit? */
    bytebuf_free(out);
    struct bytebuf k = {0};
    if (read_saved_copy(env, bucket, keep_key, cf, &k, &de, e) != 0) {
        bytebuf_free(&k);
        return -1;
    }
    log_msg(LOG_INFO, dayname, "kept_copy", "%s is not the committed version (a rebuild stopped "
            "before its commit): its committed bytes are taken from %s", LAYOUT_DAYFILE, keep_key);
    *out = k;
    *from_copy = 1;
    return 0;
}

/* Part size of the saved copy of the committed day file. */
static size_t keep_part_size(const struct pipeline_env *env)
{
    return (size_t)(env->cfg->part_size_mb > 0 ? env->cfg->part_size_mb : 16) << 20;
}

/* The committed version of the day file, for a rebuild that keeps the
 * records of sources gone from the cold tier. The bytes are also saved
 * beside the index (keep_key: <index prefix><partition>merged.avro.<md5>.committed,
 * never read by queries) before the rebuild replaces the day file: a run
 * that stops between that PUT and its commit leaves a day file that is no
 * longer the committed version, and the next run takes the bytes from the
 * copy. The copy is deleted after the commit. */
static int read_committed_kept(const struct pipeline_env *env, const struct day *d,
                               const struct index *ix, const char *index_key,
                               struct bytebuf *out, char *keep_key, size_t keep_size,
                               const char *dayname, struct err *e)
{
    const struct index_file *cf = index_file_find(ix, LAYOUT_DAYFILE);
    if (!cf || layout_committed_copy_key(index_key, cf->md5, keep_key, keep_size) != 0)
        return err_set(e, "index key too long");
    int from_copy = 0;
    if (load_committed(env, d, ix, index_key, out, &from_copy, dayname, e) != 0)
        return -1;
    if (from_copy)
        return 0;
    /* in parts, as the day file was written: one PUT of a large file is
     * refused by servers that bound a request's body (fauxqs: 11 MiB;
     * torture --pad) */
    struct s3_put_opts po = {0};
    struct upload *u = upload_open(env->s3, env->pool, env->cfg->s3.repartitioned.bucket_name,
                                   keep_key, keep_part_size(env), 1, &po, e);
    int rc = u ? upload_write(u, out->data, out->len, e) : -1;
    if (rc == 0)
        rc = upload_finish(u, NULL, NULL, e);
    upload_free(u);
    if (rc != 0)
        return err_prefix(e, "saving the committed version to %s: ", keep_key);
    return 0;
}

/* Before a rebuild that keeps nothing replaces the committed day file: its
 * committed version is saved beside the index all the same (keep_key; ""
 * when there is none to save), by a server-side copy. A run stopped after
 * the rebuild's PUT and before its commit leaves a day file that is no
 * longer the committed version; a source deleted from the cold tier after
 * that would otherwise have its records nowhere but in the uncommitted
 * file (and the next run, or `verify --repair`, could not keep them). */
static int save_committed_copy(const struct pipeline_env *env, const struct day *d,
                               const struct index *ix, const char *index_key, char *keep_key,
                               size_t keep_size, const char *dayname, struct err *e)
{
    const struct index_file *cf = index_file_find(ix, LAYOUT_DAYFILE);
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    char key[1200];
    keep_key[0] = '\0';
    if (!cf || cf->size <= 0 || layout_data_key(env->cfg, d, LAYOUT_DAYFILE, key, sizeof key) != 0)
        return 0;
    struct s3_object o = {0};
    struct err ce = {0};
    if (cf->size >= UPLOAD_COPY_MIN && cf->etag[0] &&
        s3_head(env->s3, bucket, key, &o, &ce) == 0 && o.size == cf->size &&
        strcmp(o.etag, cf->etag) == 0) {
        /* the server copies it (UploadPartCopy, only while it is that version) */
        if (layout_committed_copy_key(index_key, cf->md5, keep_key, keep_size) != 0)
            return err_set(e, "index key too long");
        struct s3_put_opts po = {0};
        struct upload *u = upload_open(env->s3, env->pool, bucket, keep_key, keep_part_size(env),
                                       1, &po, e);
        int rc = u ? upload_copy(u, bucket, key, 0, cf->size - 1, cf->etag, NULL, e) : -1;
        if (rc == 0)
            rc = upload_finish(u, NULL, NULL, e);
        upload_free(u);
        if (rc != 0)
            return err_prefix(e, "saving the committed version to %s: ", keep_key);
        return 0;
    }
    if (ce.kind == ERR_CANCELLED || ce.kind == ERR_TRANSIENT) {
        *e = ce;
        return -1;
    }
    /* small, or not the committed version (then the copy a stopped rebuild
     * saved, if any, stays): read, checked, and sent */
    struct bytebuf b = {0};
    memset(&ce, 0, sizeof ce);
    int rc = read_committed_kept(env, d, ix, index_key, &b, keep_key, keep_size, dayname, &ce);
    bytebuf_free(&b);
    if (rc == 0)
        return 0;
    if (ce.kind != ERR_DATA && ce.kind != ERR_NOT_FOUND) {
        *e = ce;
        return -1;
    }
    log_msg(LOG_DEBUG, dayname, "kept_copy", "no committed %s to save: %s", LAYOUT_DAYFILE, ce.msg);
    keep_key[0] = '\0';
    return 0;
}

/* sampleadopt_opts.read_committed: the committed day file of a scan. */
struct committed_reader {
    const struct pipeline_env *env;
    const struct day_scan *s;
    const char *dayname;
    const struct index *ix;     /* the index that names it; NULL: s->index */
};

static int committed_read(void *ud, struct bytebuf *out, struct err *e)
{
    const struct committed_reader *c = ud;
    int from_copy = 0;
    return load_committed(c->env, &c->s->day, c->ix ? c->ix : &c->s->index, c->s->index_key,
                          out, &from_copy, c->dayname, e);
}

/* The ETag of each file the plan folds (etags: p->n_fold entries), which
 * the #folded tombstone names so that exactly that version is deleted
 * after the commit. A file adopted before ETags were kept gets it by a
 * HEAD, when its size is still the one adopted. Called before anything is
 * written: a tombstone without an ETag would never be deleted (its records
 * twice for good), so a HEAD that fails (a stop, a fault) or a file that
 * changed since its adoption fails the day instead, nothing written. */
static int folded_etags(const struct pipeline_env *env, const struct day *d,
                        const struct index *ix, const struct plan *p, char (*etags)[80],
                        struct err *e)
{
    for (size_t i = 0; i < p->n_fold; i++) {
        const struct index_file *f = index_file_find(ix, p->fold[i]);
        if (!f)
            return err_setk(e, ERR_DATA, "%s: folded, but not in the index", p->fold[i]);
        if (f->etag[0]) {
            snprintf(etags[i], 80, "%s", f->etag);
            continue;
        }
        char key[1100];
        struct s3_object o = {0};
        if (layout_data_key(env->cfg, d, f->name, key, sizeof key) != 0)
            return err_set(e, "%s: key too long", f->name);
        if (s3_head(env->s3, env->cfg->s3.repartitioned.bucket_name, key, &o, e) != 0)
            return err_prefix(e, "reading the ETag of %s (adopted before ETags were kept), "
                              "which this rebuild folds: ", key);
        if (o.size != f->size || !o.etag[0])
            return err_setk(e, ERR_CONFLICT, "%s is %lld bytes, not the %lld adopted: it "
                            "changed since, so it is not folded; run `repart verify --repair` "
                            "for this day", key, o.size, f->size);
        snprintf(etags[i], 80, "%s", o.etag);
    }
    return 0;
}

/* Adds the plan's kept sources to the rebuild: each one's committed blocks
 * after the committed header make a container of its own (the header's
 * sync marker frames them). range receives 2 numbers per source. */
static int add_kept(struct dayfile *df, const struct plan *p, const struct bytebuf *committed,
                    long long header_len, long long *range, struct err *e)
{
    for (size_t i = 0; i < p->n_keep; i++) {
        const struct index_source *k = &p->keep[i];
        if (header_len <= 0 || k->off < header_len || k->len < 0 ||
            k->off + k->len > (long long)committed->len)
            return err_setk(e, ERR_DATA, "%s: its range %lld+%lld is not in the committed "
                            LAYOUT_DAYFILE, k->relkey, k->off, k->len);
        size_t n = (size_t)header_len + (size_t)k->len;
        unsigned char *buf = malloc(n);
        if (!buf)
            return err_set(e, "out of memory");
        memcpy(buf, committed->data, (size_t)header_len);
        memcpy(buf + header_len, committed->data + k->off, (size_t)k->len);
        int rc = dayfile_add(df, k->relkey, buf, n, &range[2 * i], &range[2 * i + 1], e);
        free(buf);
        if (rc != 0)
            return err_prefix(e, "carrying over %s: ", k->relkey);
    }
    return 0;
}

/* Where the bytes of the plan's sources come from: the transfer pool
 * (`all`) or the staged files (`upload`). */
struct feed {
    int (*get)(void *ud, size_t i, const void **data, size_t *len, struct err *e);
    void (*put)(void *ud, size_t i);
    void *ud;
};

/* the committed bytes of sources gone from the cold tier, before the
 * rebuild replaces them (and the committed version saved beside the
 * index before any rebuild replaces it: keep_key, "" when none) */
static int keep_committed(const struct pipeline_env *env, const struct day *d,
                          const struct index *ix, const char *index_key, const struct plan *p,
                          struct bytebuf *committed, char *keep_key, size_t keep_size,
                          const char *dayname, struct err *e)
{
    if (p->n_keep && read_committed_kept(env, d, ix, index_key, committed, keep_key,
                                         keep_size, dayname, e) != 0)
        return err_prefix(e, "keeping the records of %zu source(s) no longer in the cold tier: ",
                          p->n_keep);
    if (!p->n_keep && p->rebuild &&
        save_committed_copy(env, d, ix, index_key, keep_key, keep_size, dayname, e) != 0)
        return -1;
    return 0;
}

/* Adds the plan's sources to the day file as the feed hands them over
 * (range: 2 numbers per source); *t_wait: the seconds spent waiting for
 * their bytes. */
static int merge_sources(struct run *run, const struct pipeline_env *env, struct dayfile *df,
                         const struct plan *p, const struct feed *feed, struct day_result *r,
                         long long *range, double *t_wait, struct err *e)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        const void *data;
        size_t len;
        if (stopping(env)) {
            rc = stop_error(env, "while merging the day", e);
            break;
        }
        double tw = datetime_mono_secs();
        rc = feed->get(feed->ud, i, &data, &len, e);
        *t_wait += datetime_mono_secs() - tw;
        if (rc != 0)
            break;
        r->bytes_in += len;
        rc = dayfile_add(df, p->srcs[i]->key, data, len, &range[2 * i], &range[2 * i + 1], e);
        feed->put(feed->ud, i);
        if (i % 64 == 0)
            progress_draw(&run->prog);
        if (i == p->n / 2)
            crashpoint("mid_merge");
    }
    return rc;
}

/* Writes the day file, still holding the lease and not stopping. */
static int finish_dayfile(const struct pipeline_env *env, const struct lease *lease,
                          struct dayfile *df, struct dayfile_result *res, struct err *e)
{
    /* readers see the day file before the index commits it: not without the lease */
    if (lease && lease_lost(lease))
        return err_setk(e, ERR_CONFLICT, "the day's lease %s was lost (taken over, removed or "
                        "expired before a renewal); the day file is not written", lease->key);
    if (stopping(env))
        return stop_error(env, "before the day file was written", e);
    return dayfile_finish(df, res, e);
}

/* Records the written day file in *ix (its sources' byte ranges, the files
 * folded) and commits the index. */
static int commit_index(const struct pipeline_env *env, const struct lease *lease,
                        struct index *ix, const char *index_key, const struct plan *p,
                        char (*fold_etag)[80], const long long *range,
                        const struct dayfile_result *res, struct err *e)
{
    int rc = 0;
    crashpoint("before_index");
    if (p->rebuild) {
        index_forget_file(ix, LAYOUT_DAYFILE);
        for (size_t i = 0; rc == 0 && i < p->n_fold; i++) {
            if (index_add_folded(ix, p->fold[i], fold_etag[i]) != 0)
                rc = err_set(e, "out of memory");
            index_forget_file(ix, p->fold[i]);
        }
    }
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        const struct scan_source *src = p->srcs[i];
        index_forget_source(ix, src->relkey);
        if (index_add_range(ix, src->relkey, src->ck.series_id, src->size, src->etag,
                            LAYOUT_DAYFILE, range[2 * i], range[2 * i + 1]) != 0)
            rc = err_set(e, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < p->n_keep; i++) {
        const struct index_source *k = &p->keep[i];
        const long long *kr = &range[2 * (p->n + i)];
        if (index_add_range(ix, k->relkey, k->series, k->size, k->etag, LAYOUT_DAYFILE, kr[0],
                            kr[1]) != 0)
            rc = err_set(e, "out of memory");
    }
    if (rc == 0 && index_file_set(ix, LAYOUT_DAYFILE, res->size, res->md5, res->records,
                                  res->header_len, res->etag) != 0)
        rc = err_set(e, "out of memory");
    index_sort(ix);
    if (rc == 0)
        rc = put_index(env, lease, index_key, ix, e);
    return rc;
}

static void log_committed(const struct config *cfg, const struct plan *p,
                          const struct day_result *r, const struct dayfile_result *res,
                          const char *dayname)
{
    struct log_field fs[] = {
        LOG_INT("objects", p->n), LOG_INT("records", r->records),
        LOG_INT("bytes_in", r->bytes_in), LOG_INT("bytes_out", r->bytes_out),
        LOG_INT("day_file_bytes", res->size), LOG_NUM("seconds_download", r->secs_download),
        LOG_NUM("seconds_merge", r->secs_merge), LOG_NUM("seconds_upload", r->secs_upload),
    };
    log_event(LOG_INFO, dayname, "committed", fs, sizeof fs / sizeof *fs,
            "%s %zu objects, %llu records -> s3://%s/%s (%.1f MB new, %.1f MB sent, %.1f MB in "
            "all); index "
            "committed (%zu copied as blocks, %zu re-encoded) ** Download %.1f s, merge %.1f s, "
            "upload %.1f s **", p->rebuild ? "rebuilt with" : "appended", p->n,
            (unsigned long long)r->records, cfg->s3.repartitioned.bucket_name, r->merged_key,
            (double)res->bytes_new / 1e6, (double)r->bytes_out / 1e6, (double)res->size / 1e6,
            (size_t)r->sources_copied,
            (size_t)r->sources_reencoded, r->secs_download, r->secs_merge, r->secs_upload);
    if (p->n_keep)
        log_msg(LOG_INFO, dayname, "kept", "the records of %zu source(s) no longer in the cold "
                "tier were carried over from the committed " LAYOUT_DAYFILE, p->n_keep);
}

/* Writes the day's next version from the plan's sources and commits it:
 * the new version is uploaded and read back, then the index (with each
 * source's byte range) is written. *ix is the index as read; updated. */
static int day_write(struct run *run, const struct day *d, const struct lease *lease,
                     struct index *ix, const char *index_key, const struct plan *p,
                     const char *schema, const struct feed *feed, struct day_result *r,
                     const char *dayname, char **wider, struct err *e)
{
    const struct pipeline_env *env = run_env(run, d);
    const struct config *cfg = env->cfg;
    char unused[64];
    unsigned char sync[16];
    pipeline_merged_name((const struct scan_source *const *)p->srcs, p->n, unused, sync);
    struct dayfile_env denv = {cfg, env->s3, env->pool, &run->budget, parts_in_flight(cfg),
                               env->locking};
    unsigned long long kept_records = 0;
    const struct index_file *old = index_file_find(ix, LAYOUT_DAYFILE);
    if (old && !p->rebuild)
        kept_records = old->records;
    double t0 = datetime_mono_secs();
    /* the ETags of the files to fold, before anything is written */
    char (*fold_etag)[80] = calloc(p->n_fold + 1, sizeof *fold_etag);
    if (!fold_etag || folded_etags(env, d, ix, p, fold_etag, e) != 0) {
        if (!fold_etag)
            err_set(e, "out of memory");
        free(fold_etag);
        return -1;
    }
    struct bytebuf committed = {0};
    char keep_key[1200] = "";
    if (keep_committed(env, d, ix, index_key, p, &committed, keep_key, sizeof keep_key, dayname,
                       e) != 0) {
        bytebuf_free(&committed);
        free(fold_etag);
        return -1;
    }
    struct dayfile *df = dayfile_open(&denv, d, ix, p->rebuild, sync, schema, e);
    long long *range = calloc(2 * (p->n + p->n_keep + 1), sizeof *range);
    int rc = df && range ? 0 : -1;
    if (df && !range)
        err_set(e, "out of memory");
    if (df)
        snprintf(r->merged_key, sizeof r->merged_key, "%s", dayfile_key(df));
    double t_wait = 0;
    if (rc == 0)
        rc = merge_sources(run, env, df, p, feed, r, range, &t_wait, e);
    if (rc == 0 && p->n_keep) {
        /* records kept come from the committed day file, which the index names */
        const struct index_file *kept_from = index_file_find(ix, LAYOUT_DAYFILE);
        rc = kept_from ? add_kept(df, p, &committed, kept_from->header_len, range + 2 * p->n, e)
                       : err_set(e, "records to keep, but the index names no day file");
    }
    bytebuf_free(&committed);
    if (rc != 0 && e->kind == ERR_WIDER && dayfile_wider_schema(df))
        *wider = strdup(dayfile_wider_schema(df));
    double t1 = datetime_mono_secs();
    struct dayfile_result res;
    memset(&res, 0, sizeof res);
    if (rc == 0)
        rc = finish_dayfile(env, lease, df, &res, e);
    dayfile_free(df);
    r->secs_download = t_wait;
    r->secs_merge = t1 - t0 - t_wait;
    r->secs_upload = datetime_mono_secs() - t1;
    r->records = res.records - (p->rebuild ? 0 : kept_records);
    r->bytes_out = (uint64_t)(res.bytes_sent > 0 ? res.bytes_sent : 0);
    r->sources_copied = res.sources_copied;
    r->sources_reencoded = res.sources_reencoded;
    if (rc == 0)
        rc = commit_index(env, lease, ix, index_key, p, fold_etag, range, &res, e);
    free(range);
    free(fold_etag);
    if (rc != 0)
        return rc;
    crashpoint("after_index");
    if (keep_key[0]) {
        struct err ke = {0};
        if (s3_delete(env->s3, cfg->s3.repartitioned.bucket_name, keep_key, &ke) != 0)
            log_msg(LOG_WARN, dayname, "kept_copy", "could not delete %s: %s", keep_key, ke.msg);
    }
    r->status = DAY_DONE;
    log_committed(cfg, p, r, &res, dayname);
    if (p->rebuild || ix->n_folded)
        r->cleanup_pending = delete_superseded(env, lease, d, ix, !p->rebuild, dayname) > 0;
    return 0;
}

/* ------------------------------------------------------------------- days */

static void report_scan(const struct day_scan *s, const char *dayname, struct day_result *r)
{
    r->objects = s->n_src;
    r->new_objects = s->n_new;
    r->series_new = s->series_new;
    r->bad_keys = s->n_bad_keys;
    r->skipped_keys = s->n_skipped;
    struct log_field fs[] = {LOG_INT("objects", s->n_src), LOG_INT("bytes", s->bytes),
                             LOG_INT("series", s->series), LOG_INT("new_objects", s->n_new)};
    log_event(LOG_INFO, dayname, "reviewing", fs, sizeof fs / sizeof *fs,
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
    if (s->n_skipped)
        log_msg(LOG_WARN, dayname, "skipped_keys", "%zu key(s) under %s that are not data "
                "skipped (folder markers, names not ending in .avro); first: \"%s\"",
                s->n_skipped, s->day_prefix, s->skipped_key);
}

static int scan_for_run(struct run *run, const struct day *d, struct day_scan *s,
                        struct day_result *r, const char *dayname, struct err *e)
{
    const struct pipeline_env *env = run_env(run, d);
    struct scan_ctx sc = {env->cfg, env->s3, env->pool, env->filter};
    double t = datetime_mono_secs();
    int rc = scan_day(&sc, d, s, e);
    r->secs_list = datetime_mono_secs() - t;
    if (rc != 0)
        return -1;
    crashpoint("after_scan");
    report_scan(s, dayname, r);
    if (s->n_bad_keys) {
        /* DESIGN §5: a key that does not parse fails its day */
        return err_setk(e, ERR_DATA, "%zu .avro key(s) under %s do not parse; first: %s",
                        s->n_bad_keys, s->day_prefix, s->bad_key.msg);
    }
    progress_planned(&run->prog, (long long)s->n_new, (long long)s->bytes_new);
    return 0;
}

static void merge_options_for(const struct config *cfg, const unsigned char sync[16],
                              struct merge_options *mo)
{
    memset(mo, 0, sizeof *mo);
    mo->schema_json = config_base_schema(cfg);
    mo->codec = config_output_codec(cfg);
    mo->widen = 1;
    mo->sitewise = 1;
    memcpy(mo->sync, sync, 16);
}

/* `all`: the plan's sources come from the transfer pool. */
static int fetch_feed_get(void *ud, size_t i, const void **data, size_t *len, struct err *e)
{
    struct fetch_slot *slot = fetcher_get(ud, i, e);
    if (!slot)
        return -1;
    *data = slot->buf.data;
    *len = slot->buf.len;
    return 0;
}

static void fetch_feed_put(void *ud, size_t i)
{
    struct fetcher *f = ud;
    fetcher_release(&f->slots[i]);
}

/* day_write with the plan's sources fetched from the cold tier on the pool. */
/* After day_write failed with ERR_WIDER (a source has fields or types the
 * day file's schema lacks): the day is planned again as a rebuild, to be
 * written with the wider schema. 1: go again; 0: give up (rc stands). */
#define WIDEN_ATTEMPTS 8
static int widen_again(struct day_scan *s, struct plan *p, char **schema, char *wider,
                       int attempt, struct day_result *r, const char *dayname, struct err *e)
{
    if (e->kind == ERR_NOT_COMMITTED && !p->rebuild && attempt + 1 < WIDEN_ATTEMPTS) {
        /* An append needs the committed bytes in the bucket; they are not
         * there when a rebuild (e.g. for a wider schema) stopped between
         * its PUT and its commit. A rebuild takes every source from the
         * cold tier (and the committed blocks of sources gone from it from
         * the copy saved beside the index), so it does not need them. */
        free(wider);
        log_msg(LOG_WARN, dayname, "rebuild", "%s; the day file is written anew (rebuilt) from "
                "the cold tier", e->msg);
        plan_free(p);
        if (plan_day(s, p, 1, e) != 0)
            return 0;
        r->bytes_in = 0;
        err_clear(e);
        return 1;
    }
    if (e->kind != ERR_WIDER || !wider) {
        free(wider);
        return 0;
    }
    if (attempt + 1 >= WIDEN_ATTEMPTS) {
        free(wider);
        err_prefix(e, "after %d wider schemas: ", attempt + 1);
        e->kind = ERR_DATA;
        return 0;
    }
    log_msg(LOG_INFO, dayname, "widened", "%s; the day file is written anew (rebuilt) with a "
            "schema that holds every field of every source", e->msg);
    free(*schema);
    if (!p->rebuild) {
        /* An append's output schema is the committed header's, read by a
         * ranged GET that no checksum covers: a damaged read (one byte:
         * "stringValue" as "stringWalue") would otherwise become a field of
         * the day for good. The rebuild takes its schema from what it
         * merges (sources checked against their MD5, kept blocks against
         * the index's) and widens again from there if it must. */
        free(wider);
        wider = NULL;
    }
    *schema = wider;
    if (!p->rebuild) {
        /* an append becomes a rebuild: planned again */
        plan_free(p);
        if (plan_day(s, p, 1, e) != 0)
            return 0;
    }
    /* a rebuild keeps its plan (its keep list may be the caller's own:
     * `verify --repair` plans against an index that names no day file) */
    r->bytes_in = 0;
    err_clear(e);
    return 1;
}

static int day_write_fetched(struct run *run, const struct day *d, const struct lease *lease,
                             struct day_scan *s, struct plan *p, struct day_result *r,
                             const char *dayname, struct err *e)
{
    char *schema = NULL;
    int rc;
    for (int attempt = 0;; attempt++) {
        struct fetcher f;
        fetcher_init(&f, run_env(run, d), &run->prog, p->srcs, p->n);
        rc = f.slots ? 0 : err_set(e, "out of memory");
        struct feed feed = {fetch_feed_get, fetch_feed_put, &f};
        char *wider = NULL;
        if (rc == 0)
            rc = day_write(run, d, lease, &s->index, s->index_key, p, schema, &feed, r, dayname,
                           &wider, e);
        fetcher_free(&f);
        if (rc == 0 || !widen_again(s, p, &schema, wider, attempt, r, dayname, e))
            break;
    }
    free(schema);
    return rc;
}

/* Nothing new to merge, only the sample's files to take over (adopted
 * sources, folded files): the index alone commits it, then the folded files
 * are deleted. */
static int commit_adoption(const struct pipeline_env *env, const struct lease *lease,
                           const struct day *d, struct day_scan *s,
                           const struct sampleadopt_result *ar, struct day_result *r,
                           const char *dayname, struct err *e)
{
    int rc = put_index(env, lease, s->index_key, &s->index, e);
    if (rc != 0)
        return rc;
    r->status = DAY_DONE;
    log_msg(LOG_INFO, dayname, "committed", "index committed: %zu source(s) of the original "
            "sample's merged file recorded, %zu sample file(s) of deleted sources only "
            "recorded, %zu folded, nothing new to merge", ar->adopted, ar->unowned_files,
            ar->folded);
    if (ar->folded)
        r->cleanup_pending = delete_superseded(env, lease, d, &s->index, 1, dayname) > 0;
    return 0;
}
/* What the day's data prefix holds that the index does not commit (one
 * LIST): *untidy, the day file is not the version the index commits (a run
 * stopped between its PUT and its commit left records after the committed
 * bytes, or a file no index names; with nothing new to merge, those sources
 * are covered elsewhere by now: another run, the sample's adopted file, so
 * the committed version is written again; a missing file is verify's
 * business); *unaccounted, a sample file the index does not account for
 * (sampleadopt_unaccounted: the sample ran since the last commit). */
static void day_out_state(const struct pipeline_env *env, const struct day_scan *s, int *untidy,
                          int *unaccounted)
{
    *untidy = *unaccounted = 0;
    char prefix[1100];
    if (layout_data_key(env->cfg, &s->day, "", prefix, sizeof prefix) != 0)
        return;
    struct s3_object_list l = {0};
    struct err e = {0};
    if (s3_list(env->s3, env->cfg->s3.repartitioned.bucket_name, prefix, &l, &e) != 0) {
        s3_object_list_free(&l);
        return;
    }
    const struct index_file *f = index_file_find(&s->index, LAYOUT_DAYFILE);
    for (size_t i = 0; i < l.n; i++) {
        const char *name = l.items[i].key + strlen(prefix);
        if (strcmp(name, LAYOUT_DAYFILE) == 0)
            *untidy = !f || l.items[i].size != f->size ||
                      (f->etag[0] && strcmp(l.items[i].etag, f->etag) != 0);
        else if (sampleadopt_unaccounted(&s->index, name, l.items[i].etag) ||
                 sampleadopt_changed(&s->index, name, l.items[i].size, l.items[i].etag))
            *unaccounted = 1;   /* sampleadopt_day adopts, folds or stops the day */
    }
    s3_object_list_free(&l);
}

/* A day with nothing new whose listing shows a sample file the index does
 * not account for: under the lease, on the index as it is then, the sample's
 * files are adopted (or folded) and the index committed, as `all` does with
 * nothing new. r->status is DAY_DONE when something was committed. */
static int settle_unaccounted(const struct pipeline_env *env, const struct day *d,
                              struct day_scan *s, struct day_result *r, const char *dayname,
                              struct err *e)
{
    const struct config *cfg = env->cfg;
    struct lease lease;
    int rc = stopping(env) ? stop_error(env, "before its lease was taken", e)
                           : day_lease(env, d, &lease, e);
    if (rc != 0)
        return rc;
    if (lease.held) {
        struct scan_ctx sc = {cfg, env->s3, env->pool, env->filter};
        rc = scan_refresh_index(&sc, s, e);
    }
    /* new sources on the index as it is now (another writer's): left to the
     * staged path, which adopts against it and plans them */
    struct sampleadopt_result ar = {0};
    struct committed_reader cr = {env, s, dayname, NULL};
    struct sampleadopt_opts ao = {1, NULL, 0, committed_read, &cr, NULL, 0, 0, NULL};
    if (rc == 0 && s->n_new == 0)
        rc = sampleadopt_day(env->s3, cfg, s, dayname, &ao, &ar, e);
    if (rc == 0 && s->n_new == 0 && (ar.adopted || ar.folded || ar.unowned_files))
        rc = commit_adoption(env, &lease, d, s, &ar, r, dayname, e);
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    return rc;
}

static int day_all(struct run *run, const struct day *d, struct day_result *r, const char *dayname,
                   struct err *e)
{
    const struct pipeline_env *env = run_env(run, d);
    const struct config *cfg = env->cfg;
    struct day_scan s;
    int rc = scan_for_run(run, d, &s, r, dayname, e);
    if (rc == 0 && s.index.n_folded)
        r->cleanup_pending =   /* left by a stopped run */
            delete_superseded(env, NULL, d, &s.index, 1, dayname) > 0;
    int untidy = 0, unaccounted = 0;
    if (rc == 0 && s.n_new == 0)
        day_out_state(env, &s, &untidy, &unaccounted);
    if (rc != 0 || (s.n_new == 0 && !untidy && !unaccounted)) {
        if (rc == 0) {
            r->status = DAY_NOTHING_NEW;
            log_msg(LOG_INFO, dayname, "skip", "Skip, no new data");
        }
        scan_free(&s);
        return rc;
    }
    /* One writer per day from here to the commit (locking on); the index
     * is read again under the lease (another writer may have committed). */
    struct lease lease;
    rc = stopping(env) ? stop_error(env, "before its lease was taken", e)
                       : day_lease(env, d, &lease, e);
    if (rc != 0)
        memset(&lease, 0, sizeof lease);
    if (rc == 0 && lease.held) {
        crashpoint("after_lease");
        struct scan_ctx sc = {cfg, env->s3, env->pool, env->filter};
        rc = scan_refresh_index(&sc, &s, e);
    }
    if (rc == 0)
        abort_stale_uploads(env, d, dayname);
    struct sampleadopt_result ar = {0};
    struct committed_reader cr = {env, &s, dayname, NULL};
    struct sampleadopt_opts ao = {1, NULL, 0, committed_read, &cr, NULL, 0, 0, NULL};
    if (rc == 0)
        rc = sampleadopt_day(env->s3, cfg, &s, dayname, &ao, &ar, e);
    untidy = 0;
    if (rc == 0 && s.n_new == 0)
        day_out_state(env, &s, &untidy, &unaccounted);
    struct plan p = {0};
    if (rc == 0 && s.n_new == 0 && !untidy) {
        r->new_objects = 0;
        if (ar.adopted || ar.folded || ar.unowned_files) {
            rc = commit_adoption(env, &lease, d, &s, &ar, r, dayname, e);
        } else {
            r->status = DAY_NOTHING_NEW;
        }
    } else if (rc == 0) {
        /* the day file not the committed version (a rebuild stopped
         * before its commit): appending is impossible, a rebuild takes
         * the committed bytes from the saved copy; also with new sources */
        rc = plan_day(&s, &p, committed_in_copy(env, &s), e);
        if (rc == 0) {
            r->new_objects = s.n_new;
            if (s.n_new)
                log_msg(LOG_INFO, dayname, "start", "Found data, merging %zu new objects "
                        "(%.1f MB)%s", s.n_new, (double)s.bytes_new / 1e6,
                        p.rebuild ? "; the day file is written anew" : "");
            else
                log_msg(LOG_INFO, dayname, "start", "the day file holds bytes no index commits "
                        "(a run stopped before its commit): writing the committed version again");
            rc = day_write_fetched(run, d, &lease, &s, &p, r, dayname, e);
        }
    }
    plan_free(&p);
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    scan_free(&s);
    return rc;
}

/* 1 when `verify --repair` keeps the day file's index lines: some source
 * it commits is gone from the cold tier, the index's lines of it are
 * intact (their ranges tile it) and its committed bytes are there (the
 * day file as committed, or the copy a stopped rebuild saved). The rebuild
 * then carries those sources' blocks over, as a plain run's rebuild does.
 * Otherwise their records cannot be had any more: said, and rebuilt from
 * the cold tier alone. */
static int repair_keeps(const struct pipeline_env *env, const struct day_scan *s,
                        const char *dayname, struct err *e)
{
    const struct index *ix = &s->index;
    const struct index_file *df = index_file_find(ix, LAYOUT_DAYFILE);
    size_t gone = 0;
    for (size_t j = 0; df && j < ix->n_sources; j++)
        gone += strcmp(ix->sources[j].merged, LAYOUT_DAYFILE) == 0;
    for (size_t i = 0; gone && i < s->n_src; i++) {
        const struct index_source *x = index_source_find(ix, s->src[i].relkey);
        gone -= x && strcmp(x->merged, LAYOUT_DAYFILE) == 0;
    }
    if (!gone)
        return 0;
    struct err ce = {0};
    if (index_check_file(ix, LAYOUT_DAYFILE, &ce) != 0) {
        log_msg(LOG_WARN, dayname, "repair_loses", "%zu source(s) of %s are no longer in the "
                "cold tier and the index's lines of them are damaged (%s): their records "
                "cannot be kept", gone, LAYOUT_DAYFILE, ce.msg);
        return 0;
    }
    char key[1200];
    struct s3_object o = {0};
    if (layout_data_key(env->cfg, &s->day, LAYOUT_DAYFILE, key, sizeof key) == 0 &&
        s3_head(env->s3, env->cfg->s3.repartitioned.bucket_name, key, &o, &ce) == 0 &&
        o.size == df->size && df->etag[0] && strcmp(o.etag, df->etag) == 0)
        return 1;
    struct bytebuf b = {0};
    int from_copy = 0;
    memset(&ce, 0, sizeof ce);
    int rc = load_committed(env, &s->day, ix, s->index_key, &b, &from_copy, dayname, &ce);
    bytebuf_free(&b);
    if (rc == 0)
        return 1;
    if (ce.kind != ERR_DATA && ce.kind != ERR_NOT_FOUND) {
        *e = ce;   /* a stop, a fault: no repair that might drop records */
        return -1;
    }
    log_msg(LOG_WARN, dayname, "repair_loses", "%zu source(s) of %s are no longer in the cold "
            "tier, and its committed version cannot be read (%s): their records cannot be "
            "kept", gone, LAYOUT_DAYFILE, ce.msg);
    return 0;
}

/* The sources of the committed day file gone from the cold tier (copies of
 * their index lines, *out: caller frees with repair_gone_free), for a
 * repair that keeps them (repair_keeps). -1 when out of memory. */
static int repair_gone(const struct day_scan *s, struct index_source **out, size_t *n)
{
    const struct index *ix = &s->index;
    unsigned char *listed = calloc(ix->n_sources ? ix->n_sources : 1, 1);
    *out = calloc(ix->n_sources ? ix->n_sources : 1, sizeof **out);
    *n = 0;
    int rc = listed && *out ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < s->n_src; i++) {
        const struct index_source *x = index_source_find(ix, s->src[i].relkey);
        if (x)
            listed[x - ix->sources] = 1;
    }
    /* a source this run's timeseries_type leaves out is kept as committed
     * while it is unchanged; overwritten, its old records leave the day as
     * a listed one's do (its new content waits for a run that selects it) */
    for (size_t i = 0; rc == 0 && i < s->n_filtered; i++) {
        const struct scan_source *f = &s->filtered[i];
        const struct index_source *x = index_source_find(ix, f->relkey);
        if (x && index_source_state(ix, f->relkey, f->size, f->etag) != INDEX_SRC_SAME)
            listed[x - ix->sources] = 1;
    }
    for (size_t j = 0; rc == 0 && j < ix->n_sources; j++) {
        const struct index_source *x = &ix->sources[j];
        if (listed[j] || strcmp(x->merged, LAYOUT_DAYFILE) != 0)
            continue;
        struct index_source *k = &(*out)[(*n)++];
        *k = *x;
        k->relkey = strdup(x->relkey);
        k->series = strdup(x->series);
        k->merged = strdup(x->merged);
        if (!k->relkey || !k->series || !k->merged)
            rc = -1;
    }
    free(listed);
    return rc;
}

static void repair_gone_free(struct index_source *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++) {
        free(g[i].relkey);
        free(g[i].series);
        free(g[i].merged);
    }
    free(g);
}

/* What a repair keeps of the committed day file: its #file line (so that
 * the rebuild reads the committed bytes), the index that commits it, and
 * its sources gone from the cold tier. */
struct repair_kept {
    struct index_file file;
    char name[sizeof LAYOUT_DAYFILE];
    struct index committed;
    struct index_source *gone;
    size_t n_gone;
    unsigned char *held;       /* per gone source: a sample file holds it */
};

static int repair_read_kept(const struct pipeline_env *env, const struct day_scan *s,
                            const char *dayname, struct repair_kept *k, struct err *e)
{
    int keep = repair_keeps(env, s, dayname, e);
    if (keep < 0)
        return err_prefix(e, "reading the committed " LAYOUT_DAYFILE " to keep the records of "
                          "sources no longer in the cold tier: ");
    if (keep == 0)
        return 0;
    k->file = *index_file_find(&s->index, LAYOUT_DAYFILE);
    k->file.name = k->name;
    size_t len = 0;
    char *txt = index_format(&s->index, &len);
    int rc = 0;
    if (!txt || index_parse(txt, len, &k->committed, e) != 0 ||
        repair_gone(s, &k->gone, &k->n_gone) != 0 ||
        !(k->held = calloc(k->n_gone ? k->n_gone : 1, 1)))
        rc = err_set(e, "out of memory");
    free(txt);
    return rc;
}

/* forget what the index says of repart's files (rebuilt), and of
 * the sample's when the index lost track of them (adopted again
 * from their records); an intact adoption is kept as it is */
static void repair_forget(struct index *ix)
{
    struct err ae = {0};
    int sample_too = index_check_adopted(ix, &ae) != 0;
    for (size_t j = 0; j < ix->n_files;) {
        const char *m = ix->files[j].name;
        if (sample_too || strcmp(m, LAYOUT_DAYFILE) == 0 || pipeline_is_merged_name(m))
            index_forget_file(ix, m);
        else
            j++;
    }
    for (size_t j = 0; j < ix->n_sources;) {
        const char *m = ix->sources[j].merged;
        if (!index_file_find(ix, m))
            index_forget_file(ix, m);
        else
            j++;
    }
}

/* The index forgets what is rebuilt; the sample's files are adopted again
 * (offered the gone sources); *adopted: the sample files settled. */
static int repair_adopt(const struct pipeline_env *env, struct day_scan *s, const char *dayname,
                        struct repair_kept *k, size_t *adopted, struct err *e)
{
    repair_forget(&s->index);
    scan_classify(s);
    struct committed_reader cr = {env, s, dayname, &k->committed};
    struct sampleadopt_opts ao = {1, NULL, 1, committed_read, &cr,
                                  k->gone, k->n_gone, k->file.header_len, k->held};
    struct sampleadopt_result ar = {0};
    int rc = sampleadopt_day(env->s3, env->cfg, s, dayname, &ao, &ar, e);
    *adopted = ar.adopted + ar.folded + ar.unowned_files;
    return rc;
}

/* the gone sources no sample file holds: carried over from the
 * committed bytes, which the rebuild reads by the #file line */
static int repair_carry(struct index *ix, struct plan *p, struct repair_kept *k, struct err *e)
{
    int rc = 0;
    if (k->n_gone) {
        /* plan_day kept nothing (the index names no day file now) */
        free(p->keep);
        p->n_keep = 0;
        if (!(p->keep = calloc(k->n_gone, sizeof *p->keep)))
            rc = err_set(e, "out of memory");
    }
    for (size_t j = 0; rc == 0 && j < k->n_gone; j++) {
        /* held by a sample file, or adopted into one (a source this run's
         * timeseries_type leaves out is offered to them as a source) */
        if (k->held[j] || index_source_find(ix, k->gone[j].relkey))
            continue;
        p->keep[p->n_keep++] = k->gone[j];
        memset(&k->gone[j], 0, sizeof k->gone[j]);   /* the plan owns its strings now */
    }
    if (rc == 0 && p->n_keep &&
        index_file_set(ix, LAYOUT_DAYFILE, k->file.size, k->file.md5, k->file.records,
                       k->file.header_len, k->file.etag) != 0)
        rc = err_set(e, "out of memory");
    return rc;
}

/* `verify --repair`: the day file (and version-1 files) rebuilt from the
 * cold tier, every listed source once, whatever the index says of them; the
 * sample's own files keep their adoption, or are adopted again by their
 * records where the index lost track of them (and folded where one holds an
 * overwritten source). For a day file missing or damaged, or an index that
 * lost track of records, or a sample file no plain run can settle. The
 * records of the day file's sources deleted from the cold tier are carried
 * over from its committed version when it and the index's lines of it are
 * intact (repair_keeps), as a plain rebuild does, unless a sample file
 * holds them whole: they stay there (counted as its `unowned`). */
static int day_repair(struct run *run, const struct day *d, struct day_result *r,
                      const char *dayname, struct err *e)
{
    const struct pipeline_env *env = run_env(run, d);
    const struct config *cfg = env->cfg;
    struct day_scan s;
    int rc = scan_for_run(run, d, &s, r, dayname, e);
    struct lease lease = {0};
    if (rc == 0)
        rc = day_lease(env, d, &lease, e);
    if (rc == 0 && lease.held) {
        struct scan_ctx sc = {cfg, env->s3, env->pool, env->filter};
        rc = scan_refresh_index(&sc, &s, e);
    }
    if (rc == 0)
        abort_stale_uploads(env, d, dayname);
    size_t adopted = 0;
    struct plan p = {0};
    struct repair_kept k = {.name = LAYOUT_DAYFILE};
    index_init(&k.committed);
    if (rc == 0)
        rc = repair_read_kept(env, &s, dayname, &k, e);
    if (rc == 0)
        rc = repair_adopt(env, &s, dayname, &k, &adopted, e);
    if (rc == 0)
        rc = plan_day(&s, &p, 1, e);
    if (rc == 0)
        rc = repair_carry(&s.index, &p, &k, e);
    if (rc == 0 && p.n == 0 && p.n_keep == 0 && !adopted) {
        r->status = DAY_NOTHING_NEW;
    } else if (rc == 0) {
        r->new_objects = p.n;
        rc = day_write_fetched(run, d, &lease, &s, &p, r, dayname, e);
    }
    plan_free(&p);
    repair_gone_free(k.gone, k.n_gone);
    free(k.held);
    index_free(&k.committed);
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    scan_free(&s);
    return rc;
}

/* ------------------------------------------------------------ stage files */

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

/* Removes a day folder with what it holds (files and the seriesBucket=
 * folders below it). */
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
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_dir(p);
        else
            unlink(p);
    }
    closedir(dir);
    rmdir(path);
}

/* Number of .avro files in a folder and the folders below it (at most two
 * levels: <day>/seriesBucket=XX/), for a day nobody staged. */
static size_t count_avro(const char *path, int depth)
{
    DIR *dir = opendir(path);
    if (!dir)
        return 0;
    size_t n = 0;
    struct dirent *de;
    char p[4096];
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", path, de->d_name);
        struct stat st;
        size_t l = strlen(de->d_name);
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (depth > 0)
                n += count_avro(p, depth - 1);
        } else if (l > 5 && strcmp(de->d_name + l - 5, ".avro") == 0) {
            n++;
        }
    }
    closedir(dir);
    return n;
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

/* State of a staged day: the sources (in merge order, each staged at
 * <dir>/<relkey>) and whether the day file is rebuilt from them. */
static json_t *state_json(const struct day *d, const struct plan *p)
{
    char ds[DAY_STR_MAX];
    json_t *arr = json_array();
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}",
                                             "key", p->srcs[i]->key, "relkey", p->srcs[i]->relkey,
                                             "series", p->srcs[i]->ck.series_id,
                                             "size", (json_int_t)p->srcs[i]->size,
                                             "etag", p->srcs[i]->etag,
                                             "last_modified",
                                             (json_int_t)p->srcs[i]->last_modified));
    return json_pack("{s:i, s:s, s:s, s:b, s:o}", "version", 2, "day", day_format(d, ds),
                     "merged", LAYOUT_DAYFILE, "rebuild", p->rebuild, "sources", arr);
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
    if (!json_is_array(sources) || !st->merged)
        return err_setk(e, ERR_DATA, "%s: not a repart day state file", name);
    if (json_integer_value(json_object_get(st->root, "version")) != 2 ||
        strcmp(st->merged, LAYOUT_DAYFILE) != 0)
        return err_setk(e, ERR_DATA, "%s: staged by an older repart; run `repart download` for "
                        "this day again", name);
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
        const char *slash = strchr(relkey, '/');
        if (strncmp(relkey, "seriesBucket=", 13) != 0 || !slash || strchr(slash + 1, '/') ||
            slash == relkey + 13 || strstr(relkey, ".."))
            break;
        if (json_integer_value(size) < 0 || has_ctl(key) || has_ctl(etag) ||
            index_series_of(relkey, sid, sizeof sid) != 0 || strcmp(sid, series) != 0 ||
            !*file || !strcmp(file, ".") || !strcmp(file, "..") || !strcmp(file, LAYOUT_STATE_FILE))
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
    snprintf(path, sizeof path, "%s/" LAYOUT_STATE_FILE, dir);
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
    for (size_t i = 0; rc == 1 && i < st.n; i++)
        if (index_add(ix, st.src[i].relkey, st.src[i].ck.series_id, st.src[i].size,
                      st.src[i].etag, st.merged) != 0)
            rc = err_set(e, "out of memory");
    index_sort(ix);
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
    if (layout_stage_dir(cfg, "raw", d, raw, 2048) != 0 || layout_stage_dir(cfg, "merged", d, out, 2048) != 0)
        return err_setk(e, ERR_USAGE, "work_dir too long");
    int have = staged_load(strcmp(from, "raw") == 0 ? raw : out, st, e);
    if (have == 0 && strcmp(from, "raw") != 0) {
        /* downloaded, not merged: say so (not "put there by hand") */
        struct staged dl;
        struct err de = {0};
        if (staged_load(raw, &dl, &de) == 1)
            have = err_setk(e, ERR_USAGE, "%s: %zu source(s) downloaded but not merged: run "
                            "`repart merge` for this day, then `repart upload`", raw, dl.n);
        staged_free(&dl);
    }
    if (have == 0) {
        /* .avro files put there by hand, as the original sample's users did,
         * are not what repart fetched: it cannot know their keys and ETags */
        size_t hand = count_avro(raw, 1);
        if (hand)
            have = err_setk(e, ERR_DATA, "%s holds %zu .avro file(s) that `repart download` did "
                            "not stage (no " LAYOUT_STATE_FILE "); repart takes sources from the cold "
                            "tier itself: remove them and run `repart download` for this day",
                            raw, hand);
    }
    if (have == 1) {
        /* files put by hand beside the staged ones would be left out */
        size_t all = count_avro(raw, 1);
        if (all > st->n)
            have = err_setk(e, ERR_DATA, "%s holds %zu .avro file(s) besides the %zu that `repart "
                            "download` staged (" LAYOUT_STATE_FILE "); repart takes sources from the "
                            "cold tier itself: remove them and run `repart download` for this "
                            "day", raw, all - st->n, st->n);
    }
    if (have <= 0) {
        staged_free(st);
        if (have == 0)
            r->status = DAY_NOTHING_NEW;
        return have;
    }
    r->new_objects = st->n;
    return 1;
}

/* A staged source, read from <dir>/<relkey> and checked against what was
 * listed (size, and MD5 against the ETag): a staged file replaced or
 * damaged after the download never reaches a merged file. *buf is freed by
 * the caller. */
static int staged_read(const char *dir, const struct scan_source *src, unsigned char **buf,
                       size_t *len, struct err *e)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, src->relkey);
    size_t cap = 0;
    *buf = NULL;
    *len = 0;
    if (ocf_read_file(path, MAX_SOURCE_BYTES, buf, &cap, len, e) != 0)
        return -1;
    if ((long long)*len != src->size || s3_etag_check(src->etag, NULL, *buf, *len) == 0)
        return err_setk(e, ERR_DATA, "%s is not the object `repart download` fetched (%lld "
                        "bytes, ETag %s): it changed after the download; run `repart download` "
                        "for this day again", path, src->size, src->etag);
    return 0;
}

/* Removes the day's stage folders (raw: dir, and merged). */
static void remove_stage(const struct config *cfg, const struct day *d, const char *dir)
{
    char merged_dir[2048];
    remove_dir(dir);
    if (layout_stage_dir(cfg, "merged", d, merged_dir, sizeof merged_dir) == 0)
        remove_dir(merged_dir);
}

/* nothing to stage, but a sample file the index does not account for
 * (the sample ran since the last commit): settled here as `all`
 * settles it with nothing new (adopted, or folded where merged.avro
 * holds its sources), since `merge` and `upload` get no staged day */
static int download_nothing_new(const struct pipeline_env *env, const struct day *d,
                                struct day_scan *s, struct day_result *r, const char *dir,
                                const char *dayname, struct err *e)
{
    int untidy = 0, unaccounted = 0;
    day_out_state(env, s, &untidy, &unaccounted);
    if (unaccounted) {
        int rc = settle_unaccounted(env, d, s, r, dayname, e);
        if (rc != 0)
            return rc;
        if (r->status == DAY_DONE) {
            remove_stage(env->cfg, d, dir);
            return 0;
        }
    }
    r->status = DAY_NOTHING_NEW;
    log_msg(LOG_INFO, dayname, "skip", "Skip, no new data");
    remove_stage(env->cfg, d, dir);  /* an earlier staging is out of date: not for upload */
    return 0;
}

/* What the sample's files hold is committed here, as `all` does when
 * nothing else is new: `upload` plans against the index as it then is
 * (it sees only the staged sources, not the day's listing), and a
 * sample file to fold must be named there. Under the lease, on the
 * index as it is now. */
static int download_adopt(const struct pipeline_env *env, const struct day *d,
                          struct day_scan *s, const char *dayname, struct err *e)
{
    const struct config *cfg = env->cfg;
    size_t adopted = 0;
    struct lease lease = {0};
    int rc = day_lease(env, d, &lease, e);
    if (rc == 0 && lease.held) {
        struct scan_ctx sc = {cfg, env->s3, env->pool, env->filter};
        rc = scan_refresh_index(&sc, s, e);
    }
    /* a sample file to fold is left for `upload` (nothing is merged here) */
    struct committed_reader cr = {env, s, dayname, NULL};
    struct sampleadopt_opts ao = {0, NULL, 0, committed_read, &cr, NULL, 0, 0, NULL};
    struct sampleadopt_result ar = {0};
    if (rc == 0)
        rc = sampleadopt_day(env->s3, cfg, s, dayname, &ao, &ar, e);
    adopted = ar.adopted + ar.unowned_files;
    if (rc == 0 && adopted) {
        rc = put_index(env, &lease, s->index_key, &s->index, e);
        if (rc == 0)
            log_msg(LOG_INFO, dayname, "committed", "index committed: %zu source(s) of the "
                    "original sample's merged file recorded, %zu sample file(s) of deleted "
                    "sources only recorded", ar.adopted, ar.unowned_files);
    }
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    return rc;
}

/* Fetches the plan's sources into dir/<relkey>; *t0: when the transfers
 * started. */
static int stage_sources(struct run *run, const struct pipeline_env *env, const struct plan *p,
                         const char *dir, struct day_result *r, double *t0, struct err *e)
{
    int rc = mkdir_p(dir, e);
    *t0 = datetime_mono_secs();
    struct fetcher f;
    fetcher_init(&f, env, &run->prog, p->srcs, p->n);
    if (!f.slots && rc == 0)   /* a failed mkdir keeps its own message */
        rc = err_set(e, "out of memory");
    char path[4200];
    for (size_t i = 0; rc == 0 && i < p->n; i++) {
        struct fetch_slot *slot = fetcher_get(&f, i, e);
        if (!slot) {
            rc = -1;
            break;
        }
        /* seriesBucket=XX/ kept: equal file names in two folders stay apart */
        snprintf(path, sizeof path, "%s/%s", dir, slot->src->relkey);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        rc = mkdir_p(path, e);
        *slash = '/';
        if (rc == 0)
            rc = write_file(path, slot->buf.data, slot->buf.len, e);
        r->bytes_in += slot->buf.len;
        fetcher_release(slot);
        if (i % 64 == 0)
            progress_draw(&run->prog);
    }
    fetcher_free(&f);
    return rc;
}

/* Beside the staged sources: the index as read and the state `merge` and
 * `upload` take the day from. */
static int stage_state(const struct day *d, const struct day_scan *s, const struct plan *p,
                       const char *dir, struct err *e)
{
    char path[4200];
    /* the index as read, as the Python sample keeps it */
    size_t len = 0;
    char *doc = index_format(&s->index, &len);
    snprintf(path, sizeof path, "%s/timeseries-previous.txt", dir);
    int rc = doc ? write_file(path, doc, len, e) : err_set(e, "out of memory");
    free(doc);
    if (rc == 0) {
        json_t *state = state_json(d, p);
        char *txt = state ? json_dumps(state, JSON_INDENT(1)) : NULL;
        snprintf(path, sizeof path, "%s/" LAYOUT_STATE_FILE, dir);
        rc = txt ? write_file(path, txt, strlen(txt), e) : err_set(e, "out of memory");
        free(txt);
        json_decref(state);
    }
    return rc;
}

/* The day's new sources staged in dir, the sample's files adopted first. */
static int download_new(struct run *run, const struct pipeline_env *env, const struct day *d,
                        struct day_scan *s, struct day_result *r, const char *dir,
                        const char *dayname, struct err *e)
{
    struct plan p = {0};
    int rc = download_adopt(env, d, s, dayname, e);
    if (rc == 0)
        rc = plan_day(s, &p, committed_in_copy(env, s), e);
    if (rc != 0) {
        plan_free(&p);
        return rc;
    }
    log_msg(LOG_INFO, dayname, "start", "Found data, starting to download %zu objects (%.1f MB)",
            p.n, (double)s->bytes_new / 1e6);
    remove_stage(env->cfg, d, dir);  /* a download supersedes an earlier one never uploaded */
    double t0;
    rc = stage_sources(run, env, &p, dir, r, &t0, e);
    if (rc == 0)
        rc = stage_state(d, s, &p, dir, e);
    r->secs_download = datetime_mono_secs() - t0;
    r->new_objects = p.n;
    if (rc == 0) {
        r->status = DAY_DONE;
        log_msg(LOG_INFO, dayname, "downloaded", "downloaded %zu objects (%.1f MB) into %s ** Download time: %.1f secs **",
                p.n, (double)r->bytes_in / 1e6, dir, r->secs_download);
    } else {
        remove_dir(dir);  /* never leave a half-downloaded day that merge could take */
    }
    plan_free(&p);
    return rc;
}

static int day_download(struct run *run, const struct day *d, struct day_result *r,
                        const char *dayname, struct err *e)
{
    const struct pipeline_env *env = run_env(run, d);
    char dir[2048];
    if (layout_stage_dir(env->cfg, "raw", d, dir, sizeof dir) != 0)
        return err_setk(e, ERR_USAGE, "work_dir too long");
    struct day_scan s;
    int rc = scan_for_run(run, d, &s, r, dayname, e);
    if (rc == 0 && s.index.n_folded)
        r->cleanup_pending =   /* folded files a stopped run left, as `all` deletes them */
            delete_superseded(env, NULL, d, &s.index, 1, dayname) > 0;
    if (rc == 0 && s.n_new == 0)
        rc = download_nothing_new(env, d, &s, r, dir, dayname, e);
    else if (rc == 0)
        rc = download_new(run, env, d, &s, r, dir, dayname, e);
    scan_free(&s);
    return rc;
}

static int file_sink(void *ud, const void *p, size_t n)
{
    return fwrite(p, 1, n, ud) == n ? 0 : 1;
}

/* `merge`: checks every staged source against what was listed and merges
 * them into <work_dir>/merged/<day>/merged.avro, a preview of what
 * `upload` adds to the day file (upload takes the staged sources again, so
 * that each source's byte range in the day file is known). */
static int day_merge(struct run *run, const struct day *d, struct day_result *r,
                     const char *dayname, struct err *e)
{
    const struct config *cfg = run_env(run, d)->cfg;
    char raw[2048], out[2048];
    struct staged st;
    int have = stage_open(cfg, d, "raw", raw, out, &st, r, e);
    if (have <= 0)
        return have;
    remove_dir(out);
    int rc = mkdir_p(out, e);
    double t0 = datetime_mono_secs();
    char merged_path[4200];
    snprintf(merged_path, sizeof merged_path, "%s/" LAYOUT_DAYFILE, out);
    struct merge_stats ms = {0};
    char unused[64];
    unsigned char sync[16];
    pipeline_merged_name((const struct scan_source *const *)st.ptrs, st.n, unused, sync);
    struct merge_options mo;
    merge_options_for(cfg, sync, &mo);
    char *schema = NULL;   /* a wider one, when a source needs it */
    for (int attempt = 0; rc == 0; attempt++) {
        if (schema)
            mo.schema_json = schema;
        FILE *fo = fopen(merged_path, "wb");
        if (!fo) {
            rc = err_set(e, "cannot write %s: %s", merged_path, strerror(errno));
            break;
        }
        struct merge *m = merge_open(&mo, file_sink, fo, e);
        if (!m)
            rc = -1;
        for (size_t i = 0; rc == 0 && i < st.n; i++) {
            unsigned char *buf;
            size_t len;
            rc = staged_read(raw, &st.src[i], &buf, &len, e);
            if (rc == 0)
                rc = merge_add(m, st.src[i].key, buf, len, NULL, e);
            free(buf);
        }
        if (rc == 0)
            rc = merge_finish(m, &ms, e);
        char *wider = rc != 0 && e->kind == ERR_WIDER && m && merge_wider_schema(m)
            ? strdup(merge_wider_schema(m)) : NULL;
        merge_free(m);
        int bad = ferror(fo);
        bad |= fclose(fo) != 0;
        if (bad && rc == 0)
            rc = err_set(e, "writing %s: %s", merged_path, strerror(errno));
        if (!wider || attempt + 1 >= WIDEN_ATTEMPTS) {
            free(wider);
            break;
        }
        free(schema);
        schema = wider;
        err_clear(e);
        rc = 0;
    }
    free(schema);
    if (rc == 0) {
        char src[4200], dst[4200];
        snprintf(src, sizeof src, "%s/" LAYOUT_STATE_FILE, raw);
        snprintf(dst, sizeof dst, "%s/" LAYOUT_STATE_FILE, out);
        unsigned char *buf = NULL;
        size_t cap = 0, len = 0;
        rc = ocf_read_file(src, 64u << 20, &buf, &cap, &len, e);
        if (rc == 0)
            rc = write_file(dst, buf, len, e);
        free(buf);
    }
    r->records = ms.records_out;
    r->bytes_in = ms.bytes_in;
    r->bytes_out = ms.bytes_out;
    r->sources_copied = ms.sources_copied;
    r->sources_reencoded = ms.sources_recoded + ms.sources_resolved;
    r->secs_merge = datetime_mono_secs() - t0;
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

/* `upload`: the plan's sources come from the staged files. */
struct staged_feed {
    const char *dir;
    struct scan_source *const *srcs;
    unsigned char *buf;
};

static int staged_feed_get(void *ud, size_t i, const void **data, size_t *len, struct err *e)
{
    struct staged_feed *f = ud;
    if (staged_read(f->dir, f->srcs[i], &f->buf, len, e) != 0) {
        free(f->buf);
        f->buf = NULL;
        return -1;
    }
    *data = f->buf;
    return 0;
}

static void staged_feed_put(void *ud, size_t i)
{
    struct staged_feed *f = ud;
    (void)i;
    free(f->buf);
    f->buf = NULL;
}

/* The staged sources must still be what the cold tier holds (key, size,
 * ETag): a staged copy older than an object overwritten since would
 * replace newer committed content. *now receives the day as it is now
 * (listing and index; free with scan_free, also after a failure). */
static int staged_current(const struct scan_ctx *sc, const struct day_scan *staged,
                          struct day_scan *now, struct err *e)
{
    if (scan_day(sc, &staged->day, now, e) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < staged->n_src; i++) {
        const struct scan_source *x = &staged->src[i];
        int same = 0;
        for (size_t j = 0; j < now->n_src && !same; j++)
            same = strcmp(now->src[j].key, x->key) == 0 && now->src[j].size == x->size &&
                   strcmp(now->src[j].etag, x->etag) == 0;
        if (!same)
            rc = err_setk(e, ERR_DATA, "%s changed in the cold tier (or is gone) since `repart "
                          "download` staged it; run `repart download` for this day again",
                          x->key);
    }
    return rc;
}

static int day_upload(struct run *run, const struct day *d, struct day_result *r,
                      const char *dayname, struct err *e)
{
    const struct pipeline_env *env = run_env(run, d);
    const struct config *cfg = env->cfg;
    char raw[2048], out[2048];
    struct staged st;
    int have = stage_open(cfg, d, "merged", raw, out, &st, r, e);
    if (have <= 0)
        return have;
    /* The staged sources, judged against the index as it is now (another
     * run may have committed since the download), by the rules `all` uses. */
    struct day_scan cur, now;
    memset(&cur, 0, sizeof cur);
    memset(&now, 0, sizeof now);
    cur.day = *d;
    index_init(&cur.index);
    cur.src = st.src;
    cur.n_src = st.n;
    st.src = NULL;
    st.n = 0;
    int rc = layout_index_key(cfg, d, cur.index_key, sizeof cur.index_key);
    if (rc != 0)
        err_set(e, "index key too long");
    struct lease lease = {0};
    if (rc == 0)
        rc = day_lease(env, d, &lease, e);
    struct scan_ctx sc = {cfg, env->s3, env->pool, env->filter};
    /* the day's listing and index, read under the lease */
    if (rc == 0)
        rc = staged_current(&sc, &cur, &now, e);
    /* The sample's files, judged on the day's whole listing (the sample may
     * have run since the download: its file may hold the staged sources,
     * or sources merged.avro holds already); the index that results is the
     * one the staged sources are planned against. */
    struct committed_reader cr = {env, &now, dayname, NULL};
    struct sampleadopt_opts ao = {1, &cur, 0, committed_read, &cr, NULL, 0, 0, NULL};
    struct sampleadopt_result ar = {0};
    if (rc == 0)
        rc = sampleadopt_day(env->s3, cfg, &now, dayname, &ao, &ar, e);
    if (rc == 0) {
        index_free(&cur.index);
        cur.index = now.index;
        cur.index_exists = now.index_exists;
        index_init(&now.index);
        scan_classify(&cur);
    }
    struct plan p = {0};
    if (rc == 0 && cur.n_new == 0) {
        if (ar.adopted || ar.folded || ar.unowned_files) {
            rc = commit_adoption(env, &lease, d, &cur, &ar, r, dayname, e);
        } else {
            r->status = DAY_NOTHING_NEW;
            log_msg(LOG_INFO, dayname, "skip", "the staged sources were committed meanwhile");
        }
        if (rc == 0) {
            remove_dir(raw);
            remove_dir(out);
        }
    } else if (rc == 0) {
        abort_stale_uploads(env, d, dayname);
        rc = plan_day(&cur, &p, committed_in_copy(env, &cur), e);
        /* a rebuild for a wider schema takes the staged sources again; the
         * day file's other sources (not staged) are carried over from its
         * committed bytes */
        char *schema = NULL;
        for (int attempt = 0; rc == 0; attempt++) {
            struct staged_feed sf = {raw, p.srcs, NULL};
            struct feed feed = {staged_feed_get, staged_feed_put, &sf};
            char *wider = NULL;
            rc = day_write(run, d, &lease, &cur.index, cur.index_key, &p, schema, &feed, r,
                           dayname, &wider, e);
            if (rc == 0 || !widen_again(&cur, &p, &schema, wider, attempt, r, dayname, e))
                break;
            rc = 0;
        }
        free(schema);
        if (rc == 0) {
            remove_dir(raw);
            remove_dir(out);
        }
    }
    plan_free(&p);
    lease_release(env->s3, cfg->s3.repartitioned.bucket_name, &lease);
    scan_free(&now);
    scan_free(&cur);
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
        if (stopping(run->env)) {
            r->status = DAY_STOPPED;   /* not started */
            continue;
        }
        if (run->ds_bad[d->ds == 1]) {
            r->status = DAY_FAILED;
            r->err = run->ds_err[d->ds == 1];
            continue;
        }
        if (run->env->s3 && s3_client_unreachable(run->env->s3)) {
            /* not tried: each would only wait for its retries to run out */
            r->status = DAY_STOPPED;
            err_setk(&r->err, ERR_CANCELLED, "not started: the S3 endpoint cannot be reached "
                     "(see the first failed day)");
            continue;
        }
        /* log lines name an agg day "agg:2023-01-05"; raw days keep their plain name */
        char dayname[DAY_ITEM_MAX];
        day_item_format(d, dayname);
        double t0 = datetime_mono_secs();
        struct err e = {0};
        int rc;
        switch (run->mode) {
        case PIPELINE_DOWNLOAD: rc = day_download(run, d, r, dayname, &e); break;
        case PIPELINE_MERGE: rc = day_merge(run, d, r, dayname, &e); break;
        case PIPELINE_UPLOAD: rc = day_upload(run, d, r, dayname, &e); break;
        case PIPELINE_REPAIR: rc = day_repair(run, d, r, dayname, &e); break;
        default: rc = day_all(run, d, r, dayname, &e); break;
        }
        r->secs_total = datetime_mono_secs() - t0;
        struct log_field secs = LOG_NUM("seconds", r->secs_total);
        if (rc != 0 && e.kind == ERR_CANCELLED && stopping(run->env)) {
            r->status = DAY_STOPPED;
            r->err = e;
            log_event(LOG_WARN, dayname, "stopped", &secs, 1,
                      "%s (nothing of this day was committed)", e.msg);
        } else if (rc != 0) {
            r->status = DAY_FAILED;
            r->err = e;
            r->commit_uncertain = e.kind == ERR_UNCERTAIN;
            if (r->commit_uncertain)
                log_event(LOG_ERROR, dayname, "failed", &secs, 1, "%s (the index may have been "
                          "written: whether this day was committed is uncertain; a rerun "
                          "settles it)", e.msg);
            else
                log_event(LOG_ERROR, dayname, "failed", &secs, 1,
                          "%s (nothing of this day was committed)", e.msg);
        }
        progress_day_done(&run->prog, r->status == DAY_FAILED || r->status == DAY_STOPPED);
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
    for (int k = 0; k < 2; k++) {
        run.ds_env[k] = *env;
        run.ds_env[k].cfg = &run.ds_cfg[k];
        int used = 0;
        for (size_t i = 0; i < n_days && !used; i++)
            used = (days[i].ds == 1) == k;
        /* no agg prefix: an agg day fails with the reason */
        if (used)
            run.ds_bad[k] = config_dataset_view(env->cfg, k, &run.ds_cfg[k], &run.ds_err[k]) != 0;
    }
    progress_init(&run.prog, (long)n_days, datetime_mono_secs());
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
