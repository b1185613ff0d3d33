#include "upload.h"
#include "hex.h"

#include "md5.h"
#include "testhook.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

struct upload {
    struct upload_budget *budget;   /* NULL = none */
    struct s3_client *s3;
    struct pool *pool;
    const struct s3_put_opts *opts;
    char *bucket, *key;
    size_t part_size;
    int max_inflight;

    unsigned char *cur;      /* part being filled (NULL until its first byte) */
    size_t cur_len;
    EVP_MD_CTX *cur_md;      /* MD5 of the bytes written into it, taken from the caller's
                                bytes, not the buffer: it goes as Content-MD5, so the server
                                refuses a part whose buffer is not what was written */
    long long total;
    long long copied;        /* of total: bytes the server copied (upload_copy) */
    int copy_unchecked;      /* a copied part's ETag was not checked against an MD5 */

    char *upload_id;         /* NULL until the first part leaves */
    struct s3_part *parts;   /* parts[i] is part number i + 1 */
    size_t n_parts, cap_parts;
    int completed;
    int proven;              /* the object's ETag is the one its bytes give (upload_proven) */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    int failed;
    struct err err;          /* first failure */
};

struct part_task {
    struct upload *u;
    int number;
    unsigned char *data;
    size_t len;
    unsigned char md5[16];
};

void upload_budget_init(struct upload_budget *b, size_t bytes)
{
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->avail = bytes;
}

void upload_budget_destroy(struct upload_budget *b)
{
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
}

/* A part buffer, taken from the budget (waiting for one to come back if
 * need be). NULL on OOM. */
static unsigned char *buffer_take(struct upload *u)
{
    struct upload_budget *b = u->budget;
    if (b) {
        pthread_mutex_lock(&b->mu);
        while (b->avail < u->part_size)
            pthread_cond_wait(&b->cv, &b->mu);
        b->avail -= u->part_size;
        pthread_mutex_unlock(&b->mu);
    }
    unsigned char *p = malloc(u->part_size);
    if (!p && b) {
        pthread_mutex_lock(&b->mu);
        b->avail += u->part_size;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
    return p;
}

static void buffer_give(struct upload *u, unsigned char *p)
{
    if (!p)
        return;
    free(p);
    struct upload_budget *b = u->budget;
    if (b) {
        pthread_mutex_lock(&b->mu);
        b->avail += u->part_size;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
}

void upload_set_budget(struct upload *u, struct upload_budget *b)
{
    u->budget = b;
}

static void part_run(void *arg)
{
    struct part_task *t = arg;
    struct upload *u = t->u;
    char etag[80] = "";
    struct err e = {0};
    int skip;
    pthread_mutex_lock(&u->mu);
    skip = u->failed;  /* no point sending more once one part failed */
    pthread_mutex_unlock(&u->mu);
    int rc = skip ? -1 : s3_mpu_upload_part(u->s3, u->bucket, u->key, u->upload_id, t->number,
                                            t->data, t->len, t->md5, etag, &e);
    buffer_give(u, t->data);
    pthread_mutex_lock(&u->mu);
    if (rc == 0) {
        memcpy(u->parts[t->number - 1].etag, etag, sizeof etag);
    } else if (!u->failed) {
        u->failed = 1;
        u->err = e;
    }
    u->inflight--;
    pthread_cond_broadcast(&u->cv);
    pthread_mutex_unlock(&u->mu);
    free(t);
}

struct upload *upload_open(struct s3_client *s3, struct pool *pool, const char *bucket,
                           const char *key, size_t part_size, int max_inflight,
                           const struct s3_put_opts *opts, struct err *e)
{
    struct upload *u = calloc(1, sizeof *u);
    if (!u) {
        err_set(e, "out of memory");
        return NULL;
    }
    u->s3 = s3;
    u->pool = pool;
    u->opts = opts;
    u->part_size = part_size;
    u->max_inflight = max_inflight < 1 ? 1 : max_inflight;
    u->bucket = strdup(bucket);
    u->key = strdup(key);
    pthread_mutex_init(&u->mu, NULL);
    pthread_cond_init(&u->cv, NULL);
    u->cur_md = EVP_MD_CTX_new();
    if (!u->bucket || !u->key || part_size == 0 || !u->cur_md ||
        !EVP_DigestInit_ex(u->cur_md, EVP_md5(), NULL)) {
        upload_free(u);
        err_set(e, "out of memory");
        return NULL;
    }
    return u;
}

/* A new part number with no buffer behind it (a copied part). */
static int add_part(struct upload *u, struct err *e)
{
    if (u->n_parts == u->cap_parts) {
        size_t cap = u->cap_parts ? u->cap_parts * 2 : 16;
        struct s3_part *p = realloc(u->parts, cap * sizeof *p);
        if (!p)
            return err_set(e, "out of memory");
        u->parts = p;
        u->cap_parts = cap;
    }
    u->n_parts++;
    u->parts[u->n_parts - 1].number = (int)u->n_parts;
    u->parts[u->n_parts - 1].etag[0] = '\0';
    return 0;
}

/* The MD5 of the part being filled, taken; the next part starts a new one. */
static int part_md5(struct upload *u, unsigned char out[16], struct err *e)
{
    unsigned int n = 0;
    if (!EVP_DigestFinal_ex(u->cur_md, out, &n) || n != 16 ||
        !EVP_DigestInit_ex(u->cur_md, EVP_md5(), NULL))
        return err_set(e, "MD5 failed");
    return 0;
}

/* Hands the filled buffer to the pool as the next part. */
static int send_part(struct upload *u, struct err *e)
{
    if (!u->upload_id) {
        if (s3_mpu_create(u->s3, u->bucket, u->key, u->opts, &u->upload_id, e) != 0)
            return -1;
        testhook_point("mpu_created");
    }
    unsigned char md[16];
    if (part_md5(u, md, e) != 0)
        return -1;
    pthread_mutex_lock(&u->mu);
    while (u->inflight >= u->max_inflight && !u->failed)
        pthread_cond_wait(&u->cv, &u->mu);
    if (u->failed) {
        if (e)
            *e = u->err;
        pthread_mutex_unlock(&u->mu);
        return -1;
    }
    struct part_task *t = malloc(sizeof *t);
    if (!t || add_part(u, e) != 0) {
        free(t);
        pthread_mutex_unlock(&u->mu);
        return t ? -1 : err_set(e, "out of memory");
    }
    *t = (struct part_task){u, (int)u->n_parts, u->cur, u->cur_len, {0}};
    memcpy(t->md5, md, sizeof md);
    u->inflight++;
    pthread_mutex_unlock(&u->mu);
    u->cur = NULL;  /* the next part takes its buffer when its first byte comes */
    u->cur_len = 0;
    if (pool_submit(u->pool, part_run, t) != 0) {
        part_run(t);  /* pool shutting down: send it from here */
    }
    return 0;
}

int upload_copy(struct upload *u, const char *src_bucket, const char *src_key, long long first,
                long long last, const char *if_match, const char *want_md5, struct err *e)
{
    long long len = last - first + 1;
    /* parts of at most 4 GiB (S3: 5 GiB), all of equal size, so none is
     * under the 5 MiB minimum; a checked range is one part (its ETag is the
     * range's MD5) */
    long long max = UPLOAD_COPY_PART_MAX;
    if (u->total != u->copied || u->cur || len < UPLOAD_COPY_MIN || (want_md5 && len > max))
        return err_setk(e, ERR_USAGE, "upload_copy: before any write, at least %lld bytes "
                        "(checked: at most %lld)", UPLOAD_COPY_MIN, max);
    if (!u->upload_id &&
        s3_mpu_create(u->s3, u->bucket, u->key, u->opts, &u->upload_id, e) != 0)
        return -1;
    long long n = (len + max - 1) / max, at = first;
    for (long long i = 0; i < n; i++) {
        long long size = len / n + (i < len % n ? 1 : 0);
        if (add_part(u, e) != 0)
            return -1;
        char *etag = u->parts[u->n_parts - 1].etag;
        int not_md5 = 0;
        if (s3_mpu_upload_part_copy(u->s3, u->bucket, u->key, u->upload_id, (int)u->n_parts,
                                    src_bucket, src_key, at, at + size - 1, if_match,
                                    etag, &not_md5, e) != 0)
            return -1;
        /* the copy's ETag is the MD5 of the bytes copied: against what the
         * caller knows they are, it checks every one of them. An SSE-KMS or
         * SSE-C part's ETag (32 hex digits all the same; the answer says so)
         * or one that is no MD5 checks nothing: upload_copies_checked
         * (review 22: KMS appends failed on every run) */
        if (!want_md5 || not_md5 || !s3_etag_is_md5(etag))
            u->copy_unchecked = 1;
        else if (strcasecmp(etag, want_md5) != 0)
            return err_setk(e, ERR_TRANSIENT, "UploadPartCopy of bytes %lld to %lld of s3://%s/%s: "
                            "ETag %s, not the MD5 %s those bytes have (a damaged answer, or "
                            "another version copied)", at, at + size - 1, src_bucket, src_key,
                            etag, want_md5);
        at += size;
    }
    u->total += len;
    u->copied += len;
    return 0;
}

long long upload_copied(const struct upload *u)
{
    return u->copied;
}

int upload_copies_checked(const struct upload *u)
{
    return !u->copy_unchecked;
}

int upload_proven(const struct upload *u)
{
    return u->completed && u->proven;
}

int upload_write(struct upload *u, const void *data, size_t len, struct err *e)
{
    const unsigned char *p = data;
    while (len > 0) {
        if (u->cur_len == u->part_size && send_part(u, e) != 0)
            return -1;
        if (!u->cur && !(u->cur = buffer_take(u)))
            return err_set(e, "out of memory");
        size_t n = u->part_size - u->cur_len;
        if (n > len)
            n = len;
        memcpy(u->cur + u->cur_len, p, n);
        EVP_DigestUpdate(u->cur_md, p, n);
        u->cur_len += n;
        u->total += (long long)n;
        p += n;
        len -= n;
    }
    return 0;
}

int upload_sink(void *ud, const void *data, size_t len)
{
    struct upload *u = ud;
    struct err e = {0};
    if (upload_write(u, data, len, &e) == 0)
        return 0;
    pthread_mutex_lock(&u->mu);
    if (!u->failed) {
        u->failed = 1;
        u->err = e;
    }
    pthread_mutex_unlock(&u->mu);
    return -1;
}

int upload_failed(struct upload *u, struct err *out)
{
    pthread_mutex_lock(&u->mu);
    int failed = u->failed;
    if (failed && out)
        *out = u->err;
    pthread_mutex_unlock(&u->mu);
    return failed;
}

static void wait_idle(struct upload *u)
{
    pthread_mutex_lock(&u->mu);
    while (u->inflight > 0)
        pthread_cond_wait(&u->cv, &u->mu);
    pthread_mutex_unlock(&u->mu);
}

int upload_finish(struct upload *u, char etag_out[80], long long *bytes_out, struct err *e)
{
    if (u->failed) {
        wait_idle(u);
        if (e)
            *e = u->err;
        return -1;
    }
    char etag[80] = "", want[80] = "";
    if (!u->upload_id) {
        unsigned char md[16];
        if (part_md5(u, md, e) != 0)
            return -1;
        hex_encode(md, 16, want);
        struct s3_put_opts o = u->opts ? *u->opts : (struct s3_put_opts){0};
        o.content_md5 = md;
        int rc = s3_put(u->s3, u->bucket, u->key, u->cur ? u->cur : (unsigned char *)"",
                        u->cur_len, &o, etag, e);
        buffer_give(u, u->cur);
        u->cur = NULL;
        if (rc != 0)
            return -1;
    } else {
        if (u->cur_len > 0 && send_part(u, e) != 0) {
            wait_idle(u);
            return -1;
        }
        wait_idle(u);
        if (u->failed) {
            if (e)
                *e = u->err;
            return -1;
        }
        if (s3_mpu_complete(u->s3, u->bucket, u->key, u->upload_id, u->parts, u->n_parts,
                            u->opts, etag, e) != 0)
            return -1;
        s3_multipart_etag(u->parts, u->n_parts, want);
    }
    u->completed = 1;
    u->proven = want[0] && strcasecmp(etag, want) == 0;
    if (etag_out)
        memcpy(etag_out, etag, 80);
    if (bytes_out)
        *bytes_out = u->total;
    return 0;
}

void upload_free(struct upload *u)
{
    if (!u)
        return;
    wait_idle(u);
    if (u->upload_id && !u->completed) {
        struct err ignored = {0};
        s3_mpu_abort(u->s3, u->bucket, u->key, u->upload_id, &ignored);
    }
    pthread_mutex_destroy(&u->mu);
    pthread_cond_destroy(&u->cv);
    EVP_MD_CTX_free(u->cur_md);
    free(u->upload_id);
    free(u->parts);
    buffer_give(u, u->cur);
    free(u->bucket);
    free(u->key);
    free(u);
}
