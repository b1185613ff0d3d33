#include "s3.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "awscfg.h"
#include "awsreq.h"
#include "datetime.h"
#include "hex.h"
#include "log.h"
#include "md5.h"
#include "retry.h"
#include "s3_url.h"
#include "s3_xml.h"
#include "sigv4.h"

#define DEFAULT_RETRIES 8
#define S3_MOVED_MAX 8
#define DEFAULT_CONNS 64
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_RETRY_BASE_MS 100L
#define DEFAULT_RETRY_CAP_MS 20000L
#define DEFAULT_MIN_SPEED_BPS 1024L   /* a transfer slower than this ... */
#define DEFAULT_MIN_SPEED_SECS 60L    /* ... over this window fails (retryable) */
#define DEFAULT_DEADLINE_SECS 900L    /* no request runs longer (a 16 MiB part: >= 18 KB/s) */
/* Error bodies are only read for their Code and Message. */
#define ERRBODY_MAX (64 * 1024)
/* Single PUT limit of S3. */
#define PUT_MAX_BYTES (5LL * 1024 * 1024 * 1024)

static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* ---- client and handle pool ---------------------------------------------- */

enum { ST_LIST, ST_GET, ST_HEAD, ST_PUT, ST_OTHER };

struct s3_client {
    struct s3_endpoint ep;
    struct creds_provider *creds;
    int max_retries;
    int max_conns;
    long timeout_ms, retry_base_ms, retry_cap_ms;
    long min_speed_bps, min_speed_secs, deadline_secs;
    int page_size;
    struct {
        char sse[16], kms_key_id[2049], storage_class[32], acl[40], tagging[1025];
        char owner[16], owner_bucket[256];
        int bucket_key;
    } w;
    const volatile sig_atomic_t *cancel;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    CURL **idle;
    int n_idle, n_total;

    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

    atomic_llong n_req[5];
    atomic_llong retries, bytes_in, bytes_out;
    int adaptive;                 /* AWS_RETRY_MODE=adaptive */
    atomic_llong throttle_until;  /* adaptive: no request before (monotonic ms) */

    /* Buckets found in another region (S3's 301 with x-amz-bucket-region):
     * their endpoint, under mu. */
    struct {
        char bucket[64];
        struct s3_endpoint ep;
    } moved[S3_MOVED_MAX];
    int n_moved;
    atomic_int unreachable;   /* a request's every attempt failed to connect */
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *ud)
{
    (void)h;
    (void)acc;
    struct s3_client *c = ud;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    (void)h;
    struct s3_client *c = ud;
    if (data >= 0 && data < CURL_LOCK_DATA_LAST)
        pthread_mutex_unlock(&c->share_mu[data]);
}

struct s3_client *s3_client_new(const struct s3_config *cfg, struct creds_provider *creds,
                                struct err *e)
{
    static const struct s3_config defaults = {0};
    if (!cfg)
        cfg = &defaults;
    if (!creds) {
        err_setk(e, ERR_USAGE, "s3: no credential provider");
        return NULL;
    }
    if (awsreq_global_init(e) != 0) {
        err_prefix(e, "s3: ");
        return NULL;
    }
    struct s3_client *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(e, "s3: out of memory");
        return NULL;
    }
    char url[AWSCFG_URL_MAX + 1];
    int k = awscfg_endpoint(AWSCFG_S3, cfg->endpoint_url, cfg->region, url, sizeof url, NULL, e);
    if (k < 0 || s3_endpoint_init(&c->ep, cfg->region, k == 1 ? url : "", cfg->path_style,
                                  e) != 0) {
        free(c);
        return NULL;
    }
    const struct s3_write_opts *wo = &cfg->write;
    if ((wo->sse && strlen(wo->sse) >= sizeof c->w.sse) ||
        (wo->kms_key_id && strlen(wo->kms_key_id) >= sizeof c->w.kms_key_id) ||
        (wo->storage_class && strlen(wo->storage_class) >= sizeof c->w.storage_class) ||
        (wo->acl && strlen(wo->acl) >= sizeof c->w.acl) ||
        (wo->tagging && strlen(wo->tagging) >= sizeof c->w.tagging) ||
        (wo->expected_owner && strlen(wo->expected_owner) >= sizeof c->w.owner) ||
        (wo->owner_bucket && strlen(wo->owner_bucket) >= sizeof c->w.owner_bucket)) {
        free(c);
        err_setk(e, ERR_USAGE, "s3: an upload setting is too long");
        return NULL;
    }
#define WCOPY(dst, src) snprintf(dst, sizeof dst, "%s", (src) ? (src) : "")
    WCOPY(c->w.sse, wo->sse);
    WCOPY(c->w.kms_key_id, wo->kms_key_id);
    WCOPY(c->w.storage_class, wo->storage_class);
    WCOPY(c->w.acl, wo->acl);
    WCOPY(c->w.tagging, wo->tagging);
    WCOPY(c->w.owner, wo->expected_owner);
    WCOPY(c->w.owner_bucket, wo->owner_bucket);
#undef WCOPY
    c->w.bucket_key = wo->bucket_key;
    c->creds = creds;
    const struct awscfg *ac = awscfg_get();
    c->max_retries = cfg->max_retries > 0    ? cfg->max_retries
                     : ac->max_attempts > 0 ? ac->max_attempts - 1
                                            : DEFAULT_RETRIES;
    c->adaptive = ac->retry_mode == AWSCFG_RETRY_ADAPTIVE;
    c->max_conns = cfg->max_connections > 0 ? cfg->max_connections : DEFAULT_CONNS;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : DEFAULT_RETRY_BASE_MS;
    c->retry_cap_ms = cfg->retry_cap_ms > 0 ? cfg->retry_cap_ms : DEFAULT_RETRY_CAP_MS;
    c->cancel = cfg->cancel;
    c->min_speed_bps = cfg->min_speed_bps > 0 ? cfg->min_speed_bps : DEFAULT_MIN_SPEED_BPS;
    c->min_speed_secs = cfg->min_speed_secs > 0 ? cfg->min_speed_secs : DEFAULT_MIN_SPEED_SECS;
    c->deadline_secs = cfg->deadline_secs > 0 ? cfg->deadline_secs : DEFAULT_DEADLINE_SECS;
    c->page_size = cfg->list_page_size > 0 && cfg->list_page_size < 1000 ? cfg->list_page_size
                                                                         : 1000;
    c->idle = calloc((size_t)c->max_conns, sizeof *c->idle);
    if (!c->idle) {
        free(c);
        err_set(e, "s3: out of memory");
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_mu[i], NULL);
    /* DNS cache and TLS sessions shared by all handles of the pool. */
    c->share = curl_share_init();
    if (c->share) {
        curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
        curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
        curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
        curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    }
    return c;
}

void s3_client_free(struct s3_client *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    free(c->idle);
    if (c->share)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_mu[i]);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int s3_client_unreachable(struct s3_client *c)
{
    return atomic_load(&c->unreachable);
}

void s3_client_stats(struct s3_client *c, struct s3_stats *out)
{
    out->list_requests = atomic_load(&c->n_req[ST_LIST]);
    out->get_requests = atomic_load(&c->n_req[ST_GET]);
    out->head_requests = atomic_load(&c->n_req[ST_HEAD]);
    out->put_requests = atomic_load(&c->n_req[ST_PUT]);
    out->other_requests = atomic_load(&c->n_req[ST_OTHER]);
    out->retries = atomic_load(&c->retries);
    out->bytes_in = atomic_load(&c->bytes_in);
    out->bytes_out = atomic_load(&c->bytes_out);
}

/* Takes a handle (waiting while max_connections are in use). */
static CURL *pool_get(struct s3_client *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->n_idle == 0 && c->n_total >= c->max_conns)
        pthread_cond_wait(&c->cv, &c->mu);
    if (c->n_idle > 0) {
        CURL *h = c->idle[--c->n_idle];
        pthread_mutex_unlock(&c->mu);
        return h;
    }
    c->n_total++;
    pthread_mutex_unlock(&c->mu);
    CURL *h = awsreq_handle_new();
    if (!h) {
        pthread_mutex_lock(&c->mu);
        c->n_total--;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
    return h;
}

static void pool_put(struct s3_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    c->idle[c->n_idle++] = h;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- buffers --------------------------------------------------------------- */


/* ---- one request ------------------------------------------------------------ */

struct hdr {
    const char *name, *value;
};

struct resp;

struct req {
    const char *op;            /* S3 operation name, for messages */
    int stat;                  /* ST_* */
    const char *method;
    const char *bucket, *key;  /* key NULL: the bucket */
    const char *what;          /* shown instead of the key in messages (listings) */
    const char *query;         /* encoded, NULL for none */
    const void *body;          /* PUT/POST body (may be NULL with body_len 0) */
    size_t body_len;
    const char *content_type;
    int md5;                   /* send Content-MD5 */
    const unsigned char *md5_in;  /* with md5: the body's MD5 as the caller has it (NULL: computed) */
    unsigned char *md5_out;    /* with md5: receives the 16-byte MD5 sent (NULL: not wanted) */
    int writes;                /* PutObject / CreateMultipartUpload: the write options */
    const char *copy_bucket;   /* UploadPartCopy: the source bucket */
    struct hdr extra[3];
    int n_extra;
    size_t body_cap;           /* max body kept in resp.body (non-streamed) */
    long long max_body;        /* streamed GET: the most bytes the whole body may have (0: the
                                  range's) */
    /* GET streaming (write != NULL) */
    s3_write_fn write;
    void *ud;
    long long range_first, range_last;
    int stageable;             /* a part upload: cut short by the cancel flag like a GET */
    /* Looks at a 2xx answer: 0 good, -1 a final error, 1 a damaged or refused
     * answer worth asking again (from the first byte); e set unless 0. */
    int (*check)(void *ud, const struct resp *rs, struct err *e);
    void *check_ud;
};

struct resp {
    long status;
    struct bytebuf body;
    char etag[80];
    long long content_length;         /* -1: none */
    long long cr_first, cr_last, cr_total;  /* Content-Range; -1: none */
    long long last_modified;          /* -1: none */
    char bucket_region[64];
    char request_id[96];
    int etag_not_md5;
    long retry_after_ms;              /* Retry-After (seconds); -1: none */
    int connect_failed;               /* the attempt did not reach the server */
};

static void resp_reset(struct resp *r)
{
    r->status = 0;
    r->body.len = 0;
    if (r->body.data)
        r->body.data[0] = '\0';
    r->etag[0] = '\0';
    r->content_length = r->cr_first = r->cr_last = r->cr_total = r->last_modified = -1;
    r->bucket_region[0] = '\0';
    r->request_id[0] = '\0';
    r->etag_not_md5 = 0;
    r->retry_after_ms = -1;
    r->connect_failed = 0;
}

/* State of one attempt, shared with the curl callbacks. */
struct xfer {
    struct s3_client *c;
    const struct req *rq;
    struct resp *rs;
    long long body_bytes;   /* body bytes of this response */
    long long skip;         /* bytes to drop first (server ignored our Range) */
    long long limit;        /* bytes to deliver at most after skip; -1 none */
    int sent_range;
    long long range_start;  /* first byte asked for when sent_range */
    long long *delivered;   /* bytes handed to rq->write over all attempts */
    const char *resume_etag;/* ETag of the first answer, when resuming */
    int user_abort, overflow, too_long, stalled, oom, etag_changed, cancelled;
    int first_write;
    curl_off_t last_dl, last_ul;
    struct timespec last_progress;
};

static int parse_ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static void copy_token(char *dst, size_t dsz, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 1 < dsz; i++)
        dst[j++] = (s[i] >= 0x21 && s[i] < 0x7f) ? s[i] : '?';
    dst[j] = '\0';
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct xfer *x = ud;
    size_t n = sz * nm;
    size_t len = n;
    while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
        len--;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        /* a new response (e.g. after "100 Continue"): forget earlier headers */
        struct resp *r = x->rs;
        long status = 0;
        const char *sp = memchr(p, ' ', len);
        if (sp && (size_t)(p + len - sp) >= 4)
            status = strtol(sp + 1, NULL, 10);
        resp_reset(r);
        r->status = status;
        return n;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return n;
    size_t nl = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vl = len - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        vl--;
    }
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    struct resp *r = x->rs;
    if (nl == 11 && strncasecmp(p, "retry-after", 11) == 0) {
        long long secs = -1;   /* delta-seconds, or an HTTP-date (RFC 9110) */
        if (parse_ll(v, vl, &secs) != 0)
            secs = -1;
        long long at;
        if (secs < 0 && datetime_parse_http(v, vl, &at) == 0) {
            secs = at - (long long)time(NULL);
            if (secs < 0)
                secs = 0;   /* a date already past: retry now */
        }
        if (secs >= 0)
            r->retry_after_ms = secs > 3600 ? 3600000L : (long)secs * 1000L;
    } else if (nl == 4 && strncasecmp(p, "etag", 4) == 0) {
        if (s3_etag_copy(r->etag, v, vl) != 0)
            r->etag[0] = '\0';
    } else if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) {
        if (parse_ll(v, vl, &r->content_length) != 0)
            r->content_length = -1;
    } else if (nl == 13 && strncasecmp(p, "content-range", 13) == 0) {
        /* bytes FIRST-LAST/TOTAL or bytes * /TOTAL */
        if (vl > 6 && strncasecmp(v, "bytes ", 6) == 0) {
            const char *a = v + 6, *end = v + vl;
            const char *dash = memchr(a, '-', (size_t)(end - a));
            const char *slash = memchr(a, '/', (size_t)(end - a));
            if (dash && slash && dash < slash) {
                long long f, l, t;
                if (parse_ll(a, (size_t)(dash - a), &f) == 0 &&
                    parse_ll(dash + 1, (size_t)(slash - dash - 1), &l) == 0) {
                    r->cr_first = f;
                    r->cr_last = l;
                }
                if (parse_ll(slash + 1, (size_t)(end - slash - 1), &t) == 0)
                    r->cr_total = t;
            } else if (slash) {
                long long t;
                if (parse_ll(slash + 1, (size_t)(end - slash - 1), &t) == 0)
                    r->cr_total = t;
            }
        }
    } else if (nl == 13 && strncasecmp(p, "last-modified", 13) == 0) {
        if (datetime_parse_http(v, vl, &r->last_modified) != 0)
            r->last_modified = -1;
    } else if (nl == 19 && strncasecmp(p, "x-amz-bucket-region", 19) == 0) {
        copy_token(r->bucket_region, sizeof r->bucket_region, v, vl);
    } else if (nl == 16 && strncasecmp(p, "x-amz-request-id", 16) == 0) {
        copy_token(r->request_id, sizeof r->request_id, v, vl);
    } else if (nl == 28 && strncasecmp(p, "x-amz-server-side-encryption", 28) == 0) {
        /* aws:kms and aws:kms:dsse objects have ETags that are not MD5s */
        if (vl >= 7 && strncasecmp(v, "aws:kms", 7) == 0)
            r->etag_not_md5 = 1;
    } else if (nl == 47 &&
               strncasecmp(p, "x-amz-server-side-encryption-customer-algorithm", 47) == 0) {
        r->etag_not_md5 = 1;  /* SSE-C */
    }
    return n;
}

static size_t on_write(char *p, size_t sz, size_t nm, void *ud)
{
    struct xfer *x = ud;
    size_t n = sz * nm;
    x->body_bytes += (long long)n;
    atomic_fetch_add_explicit(&x->c->bytes_in, (long long)n, memory_order_relaxed);
    long st = x->rs->status;
    if (x->rq->write && st >= 200 && st < 300) {
        if (x->first_write) {
            x->first_write = 0;
            /* Never hand over bytes of another version of the object. */
            if (x->resume_etag && x->resume_etag[0] && x->rs->etag[0] &&
                strcmp(x->resume_etag, x->rs->etag) != 0) {
                x->etag_changed = 1;
                return 0;
            }
            /* A 200 to a ranged request: the server sent the whole object. */
            if (st == 200 && x->sent_range) {
                x->skip = x->range_start;
                x->limit = x->rq->range_last >= 0 ? x->rq->range_last - x->range_start + 1 : -1;
            }
        }
        const char *d = p;
        size_t dn = n;
        if (x->skip > 0) {
            size_t s = (long long)dn < x->skip ? dn : (size_t)x->skip;
            d += s;
            dn -= s;
            x->skip -= (long long)s;
        }
        if (x->limit >= 0 && (long long)dn > x->limit)
            dn = (size_t)x->limit;
        if (x->rq->max_body > 0 && (long long)dn > x->rq->max_body - *x->delivered) {
            x->too_long = 1;
            return 0;
        }
        if (dn > 0) {
            if (x->rq->write(x->rq->ud, d, dn) != 0) {
                x->user_abort = 1;
                return 0;
            }
            *x->delivered += (long long)dn;
            if (x->limit >= 0)
                x->limit -= (long long)dn;
        }
        return n;
    }
    size_t cap = (st >= 200 && st < 300) ? x->rq->body_cap : ERRBODY_MAX;
    if (x->rs->body.len + n > cap) {
        if (st >= 200 && st < 300) {
            x->overflow = 1;
            return 0;
        }
        n = x->rs->body.len < cap ? cap - x->rs->body.len : 0; /* error bodies: keep the head */
        if (n == 0)
            return sz * nm;
    }
    if (bytebuf_append(&x->rs->body, p, n, NULL) != 0) {
        x->oom = 1;
        return 0;
    }
    return sz * nm;
}

/* 1 when the client's cancel flag is raised and `rq` is a request it may cut
 * short (s3.h: reads and part uploads, never a commit, delete or abort). */
static int req_cancelled(const struct s3_client *c, const struct req *rq)
{
    return c->cancel && *c->cancel &&
           (rq->stageable || strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0);
}

/* Stall detection: fails the transfer when no byte moved for timeout_ms. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)ultotal;
    struct xfer *x = ud;
    if (req_cancelled(x->c, x->rq)) {
        x->cancelled = 1;
        return 1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (dlnow != x->last_dl || ulnow != x->last_ul) {
        x->last_dl = dlnow;
        x->last_ul = ulnow;
        x->last_progress = ts;
        return 0;
    }
    long long idle = (long long)(ts.tv_sec - x->last_progress.tv_sec) * 1000 +
                     (ts.tv_nsec - x->last_progress.tv_nsec) / 1000000;
    if (idle > x->c->timeout_ms) {
        x->stalled = 1;
        return 1;
    }
    return 0;
}

/* S3 error codes worth another try even though the status is 4xx (or 200). */
static int code_retryable(const char *code)
{
    static const char *const codes[] = {
        "RequestTimeout", "RequestTimeTooSkewed", "SlowDown", "InternalError",
        "ServiceUnavailable", "OperationAborted", "Throttling", "ThrottlingException",
        "RequestThrottled", "ExpiredToken", "TokenRefreshRequired", "IDPCommunicationError",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "EC2ThrottledException",
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

/* "OP s3://bucket/key" for messages. */
static void describe(char *out, size_t n, const struct req *rq)
{
    if (rq->what)
        snprintf(out, n, "%s s3://%s/%s", rq->op, rq->bucket, rq->what);
    else
        snprintf(out, n, "%s s3://%s/%s", rq->op, rq->bucket, rq->key ? rq->key : "");
}

/* The message for a failed HTTP status; returns the ERR_* kind and sets
 * *retryable. */
static int status_error(const struct req *rq, const struct resp *rs, int *retryable,
                        struct err *e)
{
    char what[1200];
    describe(what, sizeof what, rq);
    struct s3_xml_error xe;
    int have = rs->body.len > 0 &&
               s3_xml_parse_error((const char *)rs->body.data, rs->body.len, &xe) == 1;
    if (!have) {
        memset(&xe, 0, sizeof xe);
        const char *c = rs->status == 404   ? "NotFound"
                        : rs->status == 412 ? "PreconditionFailed"
                        : rs->status == 403 ? "Forbidden"
                        : rs->status == 503 ? "ServiceUnavailable"
                        : rs->status == 304 ? "NotModified"
                                            : "";
        snprintf(xe.code, sizeof xe.code, "%s", c);
    }
    long st = rs->status;
    int kind = ERR_GENERIC;
    *retryable = 0;
    if (st >= 500 || st == 408 || st == 429 || code_retryable(xe.code))
        *retryable = 1;
    if (st == 404)
        kind = ERR_NOT_FOUND;
    else if (st == 412 || (st == 409 && strcmp(xe.code, "ConditionalRequestConflict") == 0))
        kind = ERR_CONFLICT;
    if (kind == ERR_CONFLICT)
        *retryable = 0;
    char hint[160] = "";
    if (st >= 300 && st < 400 && rs->bucket_region[0])
        snprintf(hint, sizeof hint, " (the bucket is in region %s)", rs->bucket_region);
    else if (st == 301 || st == 307 || strcmp(xe.code, "PermanentRedirect") == 0 ||
             strcmp(xe.code, "AuthorizationHeaderMalformed") == 0)
        snprintf(hint, sizeof hint, " (wrong region?)");
    char rid[128] = "";
    const char *id = xe.request_id[0] ? xe.request_id : rs->request_id;
    if (id[0])
        snprintf(rid, sizeof rid, " [request id %s]", id);
    err_setk(e, kind, "%s: HTTP %ld%s%s%s%s%s%s", what, st, xe.code[0] ? " " : "", xe.code,
             xe.message[0] ? ": " : "", xe.message, hint, rid);
    return kind;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* Per-request data computed once for all attempts. */
struct prepared {
    struct s3_target tgt;
    char region[64];          /* signing region (the bucket's) */
    char sha256[65];
    char md5_b64[32];
};

/* The Range (and If-Match, when resuming) of a GET attempt: the caller's
 * range, moved past what was delivered. */
struct get_range {
    char range[80], ifmatch[96];
    long long start;
    int sent;
};

static void get_range_for(const struct req *rq, long long delivered, const char *resume_etag,
                          struct get_range *g)
{
    memset(g, 0, sizeof *g);
    if (!rq->write)
        return;
    long long first = rq->range_first >= 0 ? rq->range_first : 0;
    g->start = first + delivered;
    if (rq->range_first >= 0 || delivered > 0) {
        g->sent = 1;
        if (rq->range_last >= 0)
            snprintf(g->range, sizeof g->range, "bytes=%lld-%lld", g->start, rq->range_last);
        else
            snprintf(g->range, sizeof g->range, "bytes=%lld-", g->start);
    }
    if (delivered > 0 && resume_etag && resume_etag[0])
        snprintf(g->ifmatch, sizeof g->ifmatch, "\"%s\"", resume_etag);
}

static int is_body_method(const struct req *rq)
{
    return strcmp(rq->method, "PUT") == 0 || strcmp(rq->method, "POST") == 0;
}

/* The headers S3 signs for rq (x-amz-date and the token are added by
 * awsreq_sign_headers). Returns how many (hs has room for 24). */
static size_t s3_headers(const struct s3_client *c, const struct req *rq,
                         const struct prepared *pp, const struct get_range *g,
                         struct sigv4_header *hs)
{
    size_t nh = 0;
    hs[nh++] = (struct sigv4_header){"host", pp->tgt.host};
    hs[nh++] = (struct sigv4_header){"x-amz-content-sha256", rq->body ? pp->sha256 : EMPTY_SHA256};
    if (rq->md5)
        hs[nh++] = (struct sigv4_header){"content-md5", pp->md5_b64};
    if (is_body_method(rq))
        hs[nh++] = (struct sigv4_header){"content-type",
                                         rq->content_type ? rq->content_type
                                                          : "application/octet-stream"};
    if (g->range[0])
        hs[nh++] = (struct sigv4_header){"range", g->range};
    if (g->ifmatch[0])
        hs[nh++] = (struct sigv4_header){"if-match", g->ifmatch};
    for (int i = 0; i < rq->n_extra; i++)
        hs[nh++] = (struct sigv4_header){rq->extra[i].name, rq->extra[i].value};
    if (c->w.owner[0]) {
        if (rq->bucket && strcmp(rq->bucket, c->w.owner_bucket) == 0)
            hs[nh++] = (struct sigv4_header){"x-amz-expected-bucket-owner", c->w.owner};
        if (rq->copy_bucket && strcmp(rq->copy_bucket, c->w.owner_bucket) == 0)
            hs[nh++] = (struct sigv4_header){"x-amz-source-expected-bucket-owner", c->w.owner};
    }
    if (!rq->writes)
        return nh;
    if (c->w.sse[0])
        hs[nh++] = (struct sigv4_header){"x-amz-server-side-encryption", c->w.sse};
    if (c->w.kms_key_id[0])
        hs[nh++] = (struct sigv4_header){"x-amz-server-side-encryption-aws-kms-key-id",
                                         c->w.kms_key_id};
    if (c->w.bucket_key)
        hs[nh++] = (struct sigv4_header){"x-amz-server-side-encryption-bucket-key-enabled",
                                         "true"};
    if (c->w.storage_class[0])
        hs[nh++] = (struct sigv4_header){"x-amz-storage-class", c->w.storage_class};
    if (c->w.acl[0])
        hs[nh++] = (struct sigv4_header){"x-amz-acl", c->w.acl};
    if (c->w.tagging[0])
        hs[nh++] = (struct sigv4_header){"x-amz-tagging", c->w.tagging};
    return nh;
}

/* The signed header lines of an attempt; NULL with e set. */
static struct curl_slist *signed_lines(struct s3_client *c, const struct req *rq,
                                       const struct prepared *pp, const struct get_range *g,
                                       const char *what, struct err *e)
{
    struct creds cr;
    if (creds_provider_get(c->creds, &cr, e) != 0) {
        err_prefix(e, "%s: credentials: ", what);
        return NULL;
    }
    struct sigv4_header hs[24];
    size_t nh = s3_headers(c, rq, pp, g, hs);
    struct awsreq_sig sig = {
        .cr = &cr, .service = "s3", .region = pp->region, .method = rq->method,
        .path = pp->tgt.path, .query = rq->query,
        .payload_hash = rq->body ? pp->sha256 : EMPTY_SHA256, .headers = hs, .n_headers = nh,
        .normalize_path = 0,
    };
    struct curl_slist *hl = awsreq_sign_headers(&sig, e);
    OPENSSL_cleanse(&cr, sizeof cr);
    if (!hl)
        err_prefix(e, "%s: ", what);
    return hl;
}

/* What an attempt's transfer came to: 0 good, -1 with *retryable set. */
static int attempt_outcome(const struct s3_client *c, const struct req *rq, struct resp *rs,
                           const struct xfer *x, const struct awsreq_result *ar,
                           const char *what, const char *resume_etag, int *retryable,
                           struct err *e)
{
    if (x->user_abort)
        return err_setk(e, ERR_CANCELLED, "%s: stopped by the receiver of the data", what);
    if (x->cancelled)
        return err_setk(e, ERR_CANCELLED, "%s: cut short by the stop", what);
    if (x->etag_changed)
        return err_setk(e, ERR_CONFLICT, "%s: the object changed during the download "
                                         "(ETag %s, then %s)", what, resume_etag, rs->etag);
    if (x->oom)
        return err_set(e, "%s: out of memory", what);
    if (x->overflow)
        return err_setk(e, ERR_DATA, "%s: response body exceeds %zu bytes", what, rq->body_cap);
    if (x->too_long)
        return err_setk(e, ERR_TRANSIENT, "%s: body longer than the %lld bytes expected (changed "
                        "since it was listed?)", what, rq->max_body);
    if (x->stalled) {
        *retryable = 1;
        return err_setk(e, ERR_TRANSIENT, "%s: no progress for %ld ms", what, c->timeout_ms);
    }
    CURLcode crc = ar->cc;
    if (crc != CURLE_OK) {
        rs->connect_failed = crc == CURLE_COULDNT_CONNECT || crc == CURLE_COULDNT_RESOLVE_HOST ||
                             crc == CURLE_COULDNT_RESOLVE_PROXY;
        *retryable = retry_curl_code(crc);
        return err_setk(e, *retryable ? ERR_TRANSIENT : ERR_GENERIC, "%s: %s%s%s", what,
                        curl_easy_strerror(crc), ar->error[0] ? ": " : "", ar->error);
    }
    long st = rs->status;
    if (st < 200 || st >= 300) {
        status_error(rq, rs, retryable, e);
        return -1;
    }
    /* A body shorter than announced is a broken transfer (curl reports most
     * as CURLE_PARTIAL_FILE; this also covers a proxy that hides it). */
    if (strcmp(rq->method, "HEAD") != 0 && rs->content_length >= 0 &&
        x->body_bytes != rs->content_length) {
        *retryable = 1;
        return err_setk(e, ERR_TRANSIENT, "%s: body of %lld bytes, Content-Length %lld", what,
                        x->body_bytes, rs->content_length);
    }
    if (rq->write && st == 206 && x->sent_range && rs->cr_first != x->range_start)
        return err_setk(e, ERR_DATA, "%s: asked for bytes from %lld, got Content-Range from %lld",
                        what, x->range_start, rs->cr_first);
    return 0;
}

/* One attempt. Returns 0 on success, -1 with *retryable set. */
static int attempt(struct s3_client *c, CURL *h, const struct req *rq, const struct prepared *pp,
                   struct resp *rs, long long *delivered, const char *resume_etag,
                   int *retryable, struct err *e)
{
    *retryable = 0;
    char what[1200];
    describe(what, sizeof what, rq);
    struct get_range g;
    get_range_for(rq, *delivered, resume_etag, &g);
    struct curl_slist *hl = signed_lines(c, rq, pp, &g, what, e);
    if (!hl)
        return -1;

    struct xfer x = {0};
    x.c = c;
    x.rq = rq;
    x.rs = rs;
    x.delivered = delivered;
    x.resume_etag = *delivered > 0 ? resume_etag : NULL;
    x.limit = -1;
    x.sent_range = g.sent;
    x.range_start = g.start;
    x.first_write = 1;
    clock_gettime(CLOCK_MONOTONIC, &x.last_progress);
    resp_reset(rs);

    /* bounded waits: a trickle (bytes moving, too slowly) fails like a
     * stall, and no request outlives its deadline; both are retried */
    struct awsreq_xfer ax = {
        .method = rq->method, .url = pp->tgt.url, .headers = hl,
        .send = strcmp(rq->method, "PUT") == 0    ? AWSREQ_SEND_STREAM
                : strcmp(rq->method, "POST") == 0 ? AWSREQ_SEND_FIELDS
                                                  : AWSREQ_SEND_NONE,
        .body = rq->body, .body_len = rq->body_len, .share = c->share,
        .connect_ms = c->timeout_ms, .timeout_ms = c->deadline_secs * 1000L,
        .low_speed_bps = c->min_speed_bps, .low_speed_secs = c->min_speed_secs,
        .on_body = on_write, .body_ud = &x, .on_header = on_header, .header_ud = &x,
        .on_progress = on_progress, .progress_ud = &x,
    };
    atomic_fetch_add_explicit(&c->n_req[rq->stat], 1, memory_order_relaxed);
    struct awsreq_result ar;
    awsreq_transfer(h, &ax, &ar);
    curl_slist_free_all(hl);
    if (ar.status > 0)
        rs->status = ar.status;
    atomic_fetch_add_explicit(&c->bytes_out, ar.sent, memory_order_relaxed);
    return attempt_outcome(c, rq, rs, &x, &ar, what, resume_etag, retryable, e);
}

/* The endpoint of a bucket: the client's, or the one of the region S3 said
 * the bucket is in. */
static void bucket_endpoint(struct s3_client *c, const char *bucket, struct s3_endpoint *ep)
{
    pthread_mutex_lock(&c->mu);
    *ep = c->ep;
    for (int i = 0; i < c->n_moved; i++)
        if (bucket && strcmp(c->moved[i].bucket, bucket) == 0)
            *ep = c->moved[i].ep;
    pthread_mutex_unlock(&c->mu);
}

/* Records that `bucket` is in `region` (said once, as a warning with the
 * fix); *ep gets its endpoint. -1 when it cannot be followed. */
static int bucket_moved(struct s3_client *c, const char *bucket, const char *region,
                        struct s3_endpoint *ep)
{
    if (!bucket || strlen(bucket) >= sizeof c->moved[0].bucket)
        return -1;
    int said = 0, rc = 0;
    pthread_mutex_lock(&c->mu);
    int i;
    for (i = 0; i < c->n_moved; i++)
        if (strcmp(c->moved[i].bucket, bucket) == 0)
            break;
    if (i == c->n_moved) {
        if (c->n_moved == S3_MOVED_MAX) {
            rc = -1;
        } else {
            c->n_moved++;
            said = 1;
        }
    }
    if (rc == 0) {
        snprintf(c->moved[i].bucket, sizeof c->moved[i].bucket, "%s", bucket);
        c->moved[i].ep = c->ep;
        snprintf(c->moved[i].ep.region, sizeof c->moved[i].ep.region, "%s", region);
        *ep = c->moved[i].ep;
    }
    pthread_mutex_unlock(&c->mu);
    if (said)
        log_msg(LOG_WARN, NULL, "bucket_region",
                "s3://%s is in region %s, not %s: following S3's redirect; set s3.region: %s "
                "(or --region %s, AWS_REGION) to skip it", bucket, region, c->ep.region, region,
                region);
    return rc;
}

/* The state of one request over its attempts (retry_run's ud). */
struct run {
    struct s3_client *c;
    const struct req *rq;
    struct resp *rs;
    struct s3_get_info *info;   /* may be NULL */
    CURL *h;
    struct prepared pp;
    struct s3_endpoint ep;
    char what[1200];
    long long delivered;        /* bytes handed to rq->write */
    char first_etag[80];
    int have_first;
    long long expect_total;     /* bytes the caller is to receive in all; -1 unknown */
    int redirected;
    int connect_only;           /* every attempt so far failed to connect */
    struct err ae;
};

/* The payload's SHA-256 and, when asked for, its Content-MD5. */
static int prepare_body(const struct req *rq, struct prepared *pp, const char *what, struct err *e)
{
    if (!rq->body) {
        strcpy(pp->sha256, EMPTY_SHA256);
        if (rq->md5)
            strcpy(pp->md5_b64, "1B2M2Y8AsgTpgAmY7PhCfg=="); /* MD5 of nothing */
        return 0;
    }
    sigv4_sha256_hex(rq->body, rq->body_len, pp->sha256);
    if (!rq->md5)
        return 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (rq->md5_in)
        memcpy(md, rq->md5_in, 16);
    else if (!EVP_Digest(rq->body, rq->body_len, md, &ml, EVP_md5(), NULL) || ml != 16)
        return err_set(e, "%s: MD5 failed", what);
    base64(md, 16, pp->md5_b64);
    if (rq->md5_out)
        memcpy(rq->md5_out, md, 16);
    return 0;
}

/* A streamed GET's first good answer fixes what the caller is to receive and
 * the ETag every later (resumed) answer must have. -1 when a later answer is
 * of another version. */
static int note_answer(struct run *r)
{
    const struct req *rq = r->rq;
    const struct resp *rs = r->rs;
    if (!rq->write || rs->status < 200 || rs->status >= 300)
        return 0;
    if (r->have_first) {
        if (rs->etag[0] && r->first_etag[0] && strcmp(rs->etag, r->first_etag) != 0)
            return err_setk(&r->ae, ERR_CONFLICT, "%s: the object changed during the download "
                            "(ETag %s, then %s)", r->what, r->first_etag, rs->etag);
        return 0;
    }
    r->have_first = 1;
    memcpy(r->first_etag, rs->etag, sizeof r->first_etag);
    long long cl = rs->content_length;
    if (rs->status == 206 || rq->range_first < 0) {
        r->expect_total = cl;
    } else if (cl >= 0) {
        /* 200 to a ranged GET: what the range covers of the object */
        long long first = rq->range_first;
        long long last = rq->range_last >= 0 && rq->range_last < cl ? rq->range_last : cl - 1;
        r->expect_total = last >= first ? last - first + 1 : 0;
    }
    if (r->info) {
        r->info->content_length = r->expect_total;
        r->info->object_size = rs->cr_total >= 0 ? rs->cr_total : rs->status == 200 ? cl : -1;
        memcpy(r->info->etag, rs->etag, sizeof r->info->etag);
        r->info->etag_not_md5 = rs->etag_not_md5;
    }
    return 0;
}

/* S3's answer for a bucket of another region: follow it, once. 1 when the
 * request now goes to the bucket's region. */
static int follow_region(struct run *r)
{
    const struct resp *rs = r->rs;
    if (r->redirected || !rs->bucket_region[0] || strcmp(rs->bucket_region, r->pp.region) == 0 ||
        !(rs->status == 301 || rs->status == 307 || rs->status == 400) ||
        !awscfg_region_ok(rs->bucket_region) ||
        bucket_moved(r->c, r->rq->bucket, rs->bucket_region, &r->ep) != 0)
        return 0;
    struct s3_target nt;
    if (s3_target_build(&r->ep, r->rq->bucket, r->rq->key, r->rq->query, &nt, &r->ae) != 0)
        return 0;
    s3_target_free(&r->pp.tgt);
    r->pp.tgt = nt;
    snprintf(r->pp.region, sizeof r->pp.region, "%s", r->ep.region);
    r->redirected = 1;
    return 1;
}

/* A whole answer through the request's check: 0 good; -1 final; -1 with
 * v->retryable when it is to be asked again from the first byte. */
static int check_answer(struct run *r, const struct resp *rs, struct retry_verdict *v)
{
    if (!r->rq->check)
        return 0;
    int rc = r->rq->check(r->rq->check_ud, rs, &r->ae);
    if (rc == 0)
        return 0;
    if (rc > 0) {
        r->delivered = 0;
        r->have_first = 0;
        r->expect_total = -1;
        v->retryable = 1;
        v->why = r->ae.msg;
    }
    return -1;
}

/* One attempt of perform (a retry_try_fn). */
static int perform_try(void *ud, int att, struct retry_verdict *v)
{
    (void)att;
    struct run *r = ud;
    const struct req *rq = r->rq;
    struct resp *rs = r->rs;
    err_clear(&r->ae);
    if (r->have_first && r->expect_total >= 0 && r->delivered == r->expect_total) {
        /* everything arrived; only the end of a response was lost. The
         * answer is still checked, as the first answer's (review 24). */
        struct resp whole = *rs;
        memcpy(whole.etag, r->first_etag, sizeof whole.etag);
        return check_answer(r, &whole, v);
    }
    if (req_cancelled(r->c, rq))
        return err_setk(&r->ae, ERR_CANCELLED, "%s: not sent (stopping)", r->what);
    int retryable = 0;
    int rc = attempt(r->c, r->h, rq, &r->pp, rs, &r->delivered, r->first_etag, &retryable,
                     &r->ae);
    if (note_answer(r) != 0)
        return -1;
    if (rs->status > 0 || !rs->connect_failed) {
        r->connect_only = 0;
        if (rs->status > 0)
            atomic_store(&r->c->unreachable, 0);
    }
    if (rc == 0)
        return check_answer(r, rs, v);
    if (follow_region(r)) {
        v->again_now = 1;
        return -1;
    }
    if (rq->write && r->delivered > 0 && rs->status == 412)
        err_setk(&r->ae, ERR_CONFLICT, "%s: the object changed during the download (ETag %s)",
                 r->what, r->first_etag);
    v->retryable = retryable;
    v->retry_after_ms = rs->retry_after_ms;
    v->throttled = rs->status == 503 || rs->status == 429 || strstr(r->ae.msg, "SlowDown") ||
                   strstr(r->ae.msg, "Throttl");
    v->why = r->ae.msg;
    return -1;
}

/* Runs a request with retries (retry_run). For streamed GETs, *info (may be
 * NULL) gets the first response's length, object size and ETag. */
static int perform(struct s3_client *c, const struct req *rq, struct resp *rs,
                   struct s3_get_info *info, struct err *e)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return err_set(e, "%s s3://%s: out of memory", rq->op, rq->bucket);
    *r = (struct run){.c = c, .rq = rq, .rs = rs, .info = info, .expect_total = -1,
                      .connect_only = 1};
    describe(r->what, sizeof r->what, rq);
    bucket_endpoint(c, rq->bucket, &r->ep);
    snprintf(r->pp.region, sizeof r->pp.region, "%s", r->ep.region);
    if (s3_target_build(&r->ep, rq->bucket, rq->key, rq->query, &r->pp.tgt, e) != 0) {
        free(r);
        return err_prefix(e, "%s: ", rq->op);
    }
    int prc = prepare_body(rq, &r->pp, r->what, e);
    if (prc == 0 && !(r->h = pool_get(c)))
        prc = err_set(e, "%s: cannot create a curl handle", r->what);
    if (prc != 0) {
        s3_target_free(&r->pp.tgt);
        free(r);
        return -1;
    }
    /* once a request found the endpoint refusing connections, the others try
     * once: a run over many days fails fast instead of retrying each */
    int cancellable = rq->stageable || strcmp(rq->method, "GET") == 0 ||
                      strcmp(rq->method, "HEAD") == 0;
    struct retry_policy pol = {
        .max_attempts = atomic_load(&c->unreachable) ? 1 : c->max_retries + 1,
        .base_ms = c->retry_base_ms, .cap_ms = c->retry_cap_ms,
        .hold_until = c->adaptive ? &c->throttle_until : NULL,
        .cancel = cancellable ? c->cancel : NULL, .what = r->what,
    };
    int retries = 0;
    struct retry_verdict last;
    int rc = retry_run(&pol, perform_try, r, &retries, &last);
    atomic_fetch_add_explicit(&c->retries, retries, memory_order_relaxed);
    if (rc != 0 && last.retryable) {
        r->ae.kind = ERR_TRANSIENT;
        err_prefix(&r->ae, "giving up after %d attempt%s: ", retries + 1, retries ? "s" : "");
        if (r->connect_only) {
            atomic_store(&c->unreachable, 1);
            err_prefix(&r->ae, "%s cannot be reached (connections refused or name not "
                       "found): ", r->pp.tgt.host);
        }
    }
    pool_put(c, r->h);
    s3_target_free(&r->pp.tgt);
    if (rc != 0 && e)
        *e = r->ae;
    free(r);
    return rc;
}

/* perform for a request whose answer says nothing but its status. */
static int perform_only(struct s3_client *c, const struct req *rq, struct err *e)
{
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, rq, &rs, NULL, e);
    bytebuf_free(&rs.body);
    return rc;
}

/* ---- operations -------------------------------------------------------------- */

static int key_check(const char *op, const char *bucket, const char *key, struct err *e)
{
    if (!bucket || !key || !*key || strlen(key) > S3_KEY_MAX)
        return err_setk(e, ERR_USAGE, "%s s3://%s/%.64s: key is empty or longer than 1024 bytes",
                        op, bucket ? bucket : "", key ? key : "");
    return 0;
}

static char *enc(const char *s)
{
    return sigv4_uri_encode(s, strlen(s), 0);
}

int s3_list(struct s3_client *c, const char *bucket, const char *prefix,
            struct s3_object_list *out, struct err *e)
{
    return s3_list_pages(c, bucket, prefix, 0, out, NULL, e);
}

static int list_impl(struct s3_client *c, const char *bucket, const char *prefix,
                     const char *delimiter, long max_pages, struct s3_object_list *out,
                     char ***cprefixes, size_t *n_cprefixes, int *truncated, struct err *e);

int s3_list_pages(struct s3_client *c, const char *bucket, const char *prefix, long max_pages,
                  struct s3_object_list *out, int *truncated, struct err *e)
{
    return list_impl(c, bucket, prefix, NULL, max_pages, out, NULL, NULL, truncated, e);
}

int s3_list_delimited(struct s3_client *c, const char *bucket, const char *prefix,
                      const char *delimiter, struct s3_object_list *out, char ***prefixes,
                      size_t *n_prefixes, struct err *e)
{
    *prefixes = NULL;
    *n_prefixes = 0;
    if (!delimiter || !*delimiter)
        return err_setk(e, ERR_USAGE, "ListObjectsV2 s3://%s/%s: empty delimiter",
                        bucket ? bucket : "", prefix ? prefix : "");
    return list_impl(c, bucket, prefix, delimiter, 0, out, prefixes, n_prefixes, NULL, e);
}

void s3_prefixes_free(char **prefixes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(prefixes[i]);
    free(prefixes);
}

/* A ListObjectsV2 query, its parameters in canonical (sorted) order; pfx
 * and dlm are encoded, token is not. Caller frees; NULL when out of memory. */
static char *list_query(const char *pfx, const char *dlm, const char *token, int page_size)
{
    char *tok = token ? enc(token) : NULL;
    size_t ql = strlen(pfx) + (tok ? strlen(tok) : 0) + (dlm ? strlen(dlm) : 0) + 128;
    char *q = malloc(ql);
    if (q && (!token || tok))
        snprintf(q, ql, "%s%s%s%s%s%sencoding-type=url&list-type=2&max-keys=%d&prefix=%s",
                 tok ? "continuation-token=" : "", tok ? tok : "", tok ? "&" : "",
                 dlm ? "delimiter=" : "", dlm ? dlm : "", dlm ? "&" : "", page_size, pfx);
    if (token && !tok) {
        free(q);
        q = NULL;
    }
    free(tok);
    return q;
}

/* Moves a page's common prefixes to the end of *cprefixes; -1 out of memory. */
static int take_prefixes(struct s3_list_page *pg, char ***cprefixes, size_t *n_cprefixes)
{
    if (!pg->n_prefixes)
        return 0;
    char **np = realloc(*cprefixes, (*n_cprefixes + pg->n_prefixes) * sizeof *np);
    if (!np)
        return -1;
    *cprefixes = np;
    for (size_t i = 0; i < pg->n_prefixes; i++) {
        np[(*n_cprefixes)++] = pg->prefixes[i];
        pg->prefixes[i] = NULL;
    }
    return 0;
}

static int list_impl(struct s3_client *c, const char *bucket, const char *prefix,
                     const char *delimiter, long max_pages, struct s3_object_list *out,
                     char ***cprefixes, size_t *n_cprefixes, int *truncated, struct err *e)
{
    if (truncated)
        *truncated = 0;
    if (!prefix)
        prefix = "";
    if (strlen(prefix) > S3_KEY_MAX)
        return err_setk(e, ERR_USAGE, "ListObjectsV2 s3://%s/: prefix longer than 1024 bytes",
                        bucket ? bucket : "");
    size_t first_n = out->n;
    char *pfx = enc(prefix);
    char *dlm = delimiter ? enc(delimiter) : NULL;
    char *token = NULL;
    char *what = malloc(strlen(prefix) + 2);
    if (!pfx || !what || (delimiter && !dlm)) {
        free(pfx);
        free(dlm);
        free(what);
        return err_set(e, "ListObjectsV2 s3://%s/%s: out of memory", bucket, prefix);
    }
    sprintf(what, "%s*", prefix);
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = 0;
    long pages = 0;
    for (;;) {
        char *q = list_query(pfx, dlm, token, c->page_size);
        if (!q) {
            rc = err_set(e, "ListObjectsV2 s3://%s/%s: out of memory", bucket, what);
            break;
        }
        struct req rq = {.op = "ListObjectsV2", .stat = ST_LIST, .method = "GET",
                         .bucket = bucket, .what = what, .query = q,
                         .body_cap = S3_XML_MAX_BYTES, .range_first = -1, .range_last = -1};
        rc = perform(c, &rq, &rs, NULL, e);
        free(q);
        if (rc != 0)
            break;
        struct s3_list_page pg;
        if (s3_xml_parse_list((const char *)rs.body.data, rs.body.len, out, &pg, e) != 0) {
            err_prefix(e, "ListObjectsV2 s3://%s/%s page %ld: ", bucket, what, pages + 1);
            rc = -1;
            break;
        }
        pages++;
        if (cprefixes && take_prefixes(&pg, cprefixes, n_cprefixes) != 0) {
            s3_list_page_free(&pg);
            rc = err_set(e, "ListObjectsV2 s3://%s/%s: out of memory", bucket, what);
            break;
        }
        if (!pg.is_truncated) {
            s3_list_page_free(&pg);
            break;
        }
        if (max_pages > 0 && pages >= max_pages) {
            if (truncated)
                *truncated = 1;
            s3_list_page_free(&pg);
            break;
        }
        if (token && strcmp(token, pg.next_token) == 0) {
            s3_list_page_free(&pg);
            rc = err_setk(e, ERR_DATA,
                          "ListObjectsV2 s3://%s/%s: the server repeated a continuation token",
                          bucket, what);
            break;
        }
        free(token);
        token = pg.next_token;
        pg.next_token = NULL;
        s3_list_page_free(&pg);
    }
    free(token);
    free(pfx);
    free(dlm);
    free(what);
    bytebuf_free(&rs.body);
    if (rc != 0) {
        for (size_t i = first_n; i < out->n; i++)
            free(out->items[i].key);
        out->n = first_n;
        if (cprefixes) {
            s3_prefixes_free(*cprefixes, *n_cprefixes);
            *cprefixes = NULL;
            *n_cprefixes = 0;
        }
    }
    return rc;
}

/* A checker of a GET's answer (struct req's check) and its ud. */
struct get_check {
    int (*fn)(void *ud, const struct resp *rs, struct err *e);
    void *ud;
};

static int get_capped(struct s3_client *c, const char *bucket, const char *key,
                      long long range_first, long long range_last, long long max,
                      s3_write_fn write, void *ud, const struct get_check *chk,
                      struct s3_get_info *info, struct err *e)
{
    if (key_check("GetObject", bucket, key, e) != 0)
        return -1;
    if (!write)
        return err_setk(e, ERR_USAGE, "GetObject s3://%s/%s: no write function", bucket, key);
    if (range_first < -1 || (range_first < 0 && range_last >= 0) ||
        (range_last >= 0 && range_last < range_first))
        return err_setk(e, ERR_USAGE, "GetObject s3://%s/%s: bad range %lld-%lld", bucket, key,
                        range_first, range_last);
    if (range_first >= 0 && range_last < -1)
        return err_setk(e, ERR_USAGE, "GetObject s3://%s/%s: bad range end", bucket, key);
    if (info) {
        memset(info, 0, sizeof *info);
        info->content_length = info->object_size = -1;
    }
    struct req rq = {.op = "GetObject", .stat = ST_GET, .method = "GET", .bucket = bucket,
                     .key = key, .write = write, .ud = ud, .range_first = range_first,
                     .range_last = range_last, .body_cap = ERRBODY_MAX, .max_body = max,
                     .check = chk ? chk->fn : NULL, .check_ud = chk ? chk->ud : NULL};
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, &rq, &rs, info, e);
    bytebuf_free(&rs.body);
    return rc;
}

int s3_get(struct s3_client *c, const char *bucket, const char *key, long long range_first,
           long long range_last, s3_write_fn write, void *ud, struct s3_get_info *info,
           struct err *e)
{
    return get_capped(c, bucket, key, range_first, range_last, 0, write, ud, NULL, info, e);
}

int s3_etag_check(const char *etag, const struct s3_get_info *info, const void *data,
                  size_t len)
{
    if ((info && info->etag_not_md5) || strlen(etag) != 32 ||
        strspn(etag, "0123456789abcdefABCDEF") != 32)
        return -1;
    char hex[MD5_HEX_LEN];
    md5_hex(data, len, hex);
    if (!hex[0])
        return -1;
    return strcasecmp(hex, etag) == 0;
}

static int buf_sink(void *ud, const void *p, size_t n)
{
    return bytebuf_append(ud, p, n, NULL);
}

static int get_buffer(struct s3_client *c, const char *bucket, const char *key, long long first,
                      long long last, long long max, struct bytebuf *out,
                      const struct get_check *chk, struct s3_get_info *info, struct err *e)
{
    size_t before = out->len;
    int rc = get_capped(c, bucket, key, first, last, max, buf_sink, out, chk, info, e);
    if (rc != 0) {
        out->len = before;
        /* our own sink only stops when memory runs out; a stop stays a stop */
        if (e && e->kind == ERR_CANCELLED && !(c->cancel && *c->cancel))
            e->kind = ERR_GENERIC;
    }
    return rc;
}

int s3_get_buffer(struct s3_client *c, const char *bucket, const char *key, long long max,
                  struct bytebuf *out, struct s3_get_info *info, struct err *e)
{
    if (max <= 0)
        return err_setk(e, ERR_USAGE, "GetObject s3://%s/%s: no bound on the body", bucket, key);
    return get_buffer(c, bucket, key, -1, -1, max, out, NULL, info, e);
}

int s3_get_buffer_range(struct s3_client *c, const char *bucket, const char *key,
                        long long first, long long last, struct bytebuf *out,
                        struct s3_get_info *info, struct err *e)
{
    /* the range bounds the body (the transfer keeps only its bytes) */
    return get_buffer(c, bucket, key, first, last, 0, out, NULL, info, e);
}

/* s3_get_buffer_verified's check: the body's MD5 against the ETag. */
struct md5_check {
    struct bytebuf *out;
    size_t before;
    const char *bucket, *key;
};

static int check_md5(void *ud, const struct resp *rs, struct err *e)
{
    struct md5_check *k = ud;
    struct s3_get_info info = {.etag_not_md5 = rs->etag_not_md5};
    const void *body = k->out->data ? (const void *)(k->out->data + k->before) : "";
    if (s3_etag_check(rs->etag, &info, body, k->out->len - k->before) != 0)
        return 0;   /* it matches, or the ETag is not an MD5 */
    k->out->len = k->before;
    err_setk(e, ERR_TRANSIENT, "GetObject s3://%s/%s: MD5 of the body differs from its ETag %s",
             k->bucket, k->key, rs->etag);
    return 1;
}

int s3_get_buffer_verified(struct s3_client *c, const char *bucket, const char *key,
                           long long max, struct bytebuf *out, struct s3_get_info *info,
                           struct err *e)
{
    if (max <= 0)
        return err_setk(e, ERR_USAGE, "GetObject s3://%s/%s: no bound on the body", bucket, key);
    struct md5_check k = {out, out->len, bucket, key};
    struct get_check chk = {check_md5, &k};
    return get_buffer(c, bucket, key, -1, -1, max, out, &chk, info, e);
}

int s3_head(struct s3_client *c, const char *bucket, const char *key, struct s3_object *out,
            struct err *e)
{
    if (key_check("HeadObject", bucket, key, e) != 0)
        return -1;
    struct req rq = {.op = "HeadObject", .stat = ST_HEAD, .method = "HEAD", .bucket = bucket,
                     .key = key, .body_cap = ERRBODY_MAX, .range_first = -1, .range_last = -1};
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, &rq, &rs, NULL, e);
    if (rc == 0) {
        memset(out, 0, sizeof *out);
        out->size = rs.content_length;
        memcpy(out->etag, rs.etag, sizeof out->etag);
        out->last_modified = rs.last_modified > 0 ? rs.last_modified : 0;
        if (rs.content_length < 0)
            rc = err_setk(e, ERR_DATA, "HeadObject s3://%s/%s: no Content-Length", bucket, key);
    }
    bytebuf_free(&rs.body);
    return rc;
}

/* Fills the conditional headers of a write. */
static void put_conditions(struct req *rq, const struct s3_put_opts *opts, char *ifmatch,
                           size_t ifmatch_sz)
{
    if (!opts)
        return;
    if (opts->if_none_match && *opts->if_none_match)
        rq->extra[rq->n_extra++] = (struct hdr){"if-none-match", opts->if_none_match};
    if (opts->if_match && *opts->if_match) {
        /* accept an ETag with or without quotes */
        if (opts->if_match[0] == '"')
            snprintf(ifmatch, ifmatch_sz, "%s", opts->if_match);
        else
            snprintf(ifmatch, ifmatch_sz, "\"%s\"", opts->if_match);
        rq->extra[rq->n_extra++] = (struct hdr){"if-match", ifmatch};
    }
}

int s3_etag_is_md5(const char *etag)
{
    size_t i = 0;
    for (; etag[i]; i++)
        if (hex_digit(etag[i]) < 0)
            return 0;
    return i == 32;
}

void s3_multipart_etag(const struct s3_part *parts, size_t n, char out[80])
{
    out[0] = '\0';
    unsigned char *cat = malloc(n * 16 + 1);
    if (!cat)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strlen(parts[i].etag) != 32) {
            free(cat);
            return;
        }
        for (int j = 0; j < 16; j++) {
            int h = hex_digit(parts[i].etag[2 * j]), l = hex_digit(parts[i].etag[2 * j + 1]);
            if (h < 0 || l < 0) {
                free(cat);
                return;
            }
            cat[i * 16 + (size_t)j] = (unsigned char)(h * 16 + l);
        }
    }
    char hex[33];
    md5_hex(cat, n * 16, hex);
    free(cat);
    if (hex[0])
        snprintf(out, 80, "%s-%zu", hex, n);
}

/* After a write failed in a way a lost answer to an earlier attempt could
 * explain (412 on If-None-Match, NoSuchUpload on Complete): is the object
 * there with exactly the ETag our write gives it? */
static int already_written(struct s3_client *c, const char *bucket, const char *key,
                           const char *want_etag)
{
    if (!want_etag[0])
        return 0;
    struct s3_object o;
    struct err he = {0};
    if (s3_head(c, bucket, key, &o, &he) != 0)
        return 0;
    return strcasecmp(o.etag, want_etag) == 0;
}

int s3_put(struct s3_client *c, const char *bucket, const char *key, const void *data,
           size_t len, const struct s3_put_opts *opts, char etag_out[80], struct err *e)
{
    if (key_check("PutObject", bucket, key, e) != 0)
        return -1;
    if ((long long)len > PUT_MAX_BYTES)
        return err_setk(e, ERR_USAGE, "PutObject s3://%s/%s: %zu bytes exceed the 5 GiB limit "
                                      "of a single PUT", bucket, key, len);
    char ifmatch[96];
    struct req rq = {.op = "PutObject", .stat = ST_PUT, .method = "PUT", .bucket = bucket,
                     .writes = 1,
                     .key = key, .body = data ? data : "", .body_len = len, .md5 = 1,
                     .content_type = opts && opts->content_type ? opts->content_type : NULL,
                     .body_cap = ERRBODY_MAX, .range_first = -1, .range_last = -1};
    put_conditions(&rq, opts, ifmatch, sizeof ifmatch);
    unsigned char sent[16] = {0};
    rq.md5_in = opts ? opts->content_md5 : NULL;
    rq.md5_out = sent;
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, &rq, &rs, NULL, e);
    if (rc != 0 && e && e->kind == ERR_CONFLICT && opts && (opts->if_none_match || opts->if_match)) {
        /* A retried PUT whose first attempt landed: the object is ours. */
        char md5[33];
        hex_encode(sent, 16, md5);
        if (already_written(c, bucket, key, md5)) {
            rc = 0;
            err_clear(e);
            memcpy(rs.etag, md5, 33);
        }
    }
    if (rc == 0 && etag_out)
        memcpy(etag_out, rs.etag, 80);
    bytebuf_free(&rs.body);
    return rc;
}

int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct err *e)
{
    if (key_check("DeleteObject", bucket, key, e) != 0)
        return -1;
    struct req rq = {.op = "DeleteObject", .stat = ST_OTHER, .method = "DELETE",
                     .bucket = bucket, .key = key, .body_cap = ERRBODY_MAX,
                     .range_first = -1, .range_last = -1};
    return perform_only(c, &rq, e);
}

/* If-Match on DeleteObject: honoured by S3 general purpose buckets since
 * 2025-09 (S3 User Guide, "How to perform conditional deletes"): 204 when
 * the current ETag matches, 412 PreconditionFailed when it differs, 404
 * NoSuchKey when the key is missing, 409 on a concurrent conflicting write. */
int s3_delete_if_match(struct s3_client *c, const char *bucket, const char *key,
                       const char *etag, struct err *e)
{
    if (key_check("DeleteObject", bucket, key, e) != 0)
        return -1;
    if (!etag || !*etag)
        return err_setk(e, ERR_USAGE, "DeleteObject s3://%s/%s: no ETag to match", bucket, key);
    char ifmatch[96];
    struct req rq = {.op = "DeleteObject", .stat = ST_OTHER, .method = "DELETE",
                     .bucket = bucket, .key = key, .body_cap = ERRBODY_MAX,
                     .range_first = -1, .range_last = -1};
    put_conditions(&rq, &(struct s3_put_opts){.if_match = etag}, ifmatch, sizeof ifmatch);
    return perform_only(c, &rq, e);
}

int s3_mpu_create(struct s3_client *c, const char *bucket, const char *key,
                  const struct s3_put_opts *opts, char **upload_id_out, struct err *e)
{
    *upload_id_out = NULL;
    if (key_check("CreateMultipartUpload", bucket, key, e) != 0)
        return -1;
    struct req rq = {.op = "CreateMultipartUpload", .stat = ST_OTHER, .method = "POST",
                     .bucket = bucket, .key = key, .query = "uploads=", .writes = 1,
                     .content_type = opts && opts->content_type ? opts->content_type : NULL,
                     .body_cap = S3_XML_MAX_BYTES, .range_first = -1, .range_last = -1};
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, &rq, &rs, NULL, e);
    if (rc == 0 &&
        s3_xml_parse_initiate((const char *)rs.body.data, rs.body.len, upload_id_out, e) != 0) {
        err_prefix(e, "s3://%s/%s: ", bucket, key);
        rc = -1;
    }
    bytebuf_free(&rs.body);
    return rc;
}

static char *upload_query(const char *upload_id, int part_number)
{
    char *id = enc(upload_id);
    if (!id)
        return NULL;
    size_t l = strlen(id) + 64;
    char *q = malloc(l);
    if (q) {
        if (part_number > 0)
            snprintf(q, l, "partNumber=%d&uploadId=%s", part_number, id);
        else
            snprintf(q, l, "uploadId=%s", id);
    }
    free(id);
    return q;
}

int s3_mpu_upload_part(struct s3_client *c, const char *bucket, const char *key,
                       const char *upload_id, int part_number, const void *data, size_t len,
                       const unsigned char *md5, char etag_out[80], struct err *e)
{
    if (key_check("UploadPart", bucket, key, e) != 0)
        return -1;
    if (part_number < 1 || part_number > 10000)
        return err_setk(e, ERR_USAGE, "UploadPart s3://%s/%s: part number %d not in 1..10000",
                        bucket, key, part_number);
    if ((long long)len > PUT_MAX_BYTES)
        return err_setk(e, ERR_USAGE, "UploadPart s3://%s/%s: part %d of %zu bytes exceeds 5 GiB",
                        bucket, key, part_number, len);
    if (!upload_id || !*upload_id || strlen(upload_id) > S3_TOKEN_MAX)
        return err_setk(e, ERR_USAGE, "UploadPart s3://%s/%s: bad upload id", bucket, key);
    char *q = upload_query(upload_id, part_number);
    if (!q)
        return err_set(e, "UploadPart s3://%s/%s: out of memory", bucket, key);
    char op[48];
    snprintf(op, sizeof op, "UploadPart %d", part_number);
    struct req rq = {.op = op, .stat = ST_PUT, .method = "PUT", .bucket = bucket, .key = key,
                     .query = q, .body = data ? data : "", .body_len = len, .md5 = 1,
                     .body_cap = ERRBODY_MAX, .range_first = -1, .range_last = -1,
                     .stageable = 1};
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    unsigned char md[16];
    rq.md5_in = md5;
    rq.md5_out = md;
    int rc = perform(c, &rq, &rs, NULL, e);
    if (rc == 0) {
        char hex[33];
        hex_encode(md, 16, hex);
        if (!rs.etag[0])
            rc = err_setk(e, ERR_DATA, "UploadPart %d s3://%s/%s: no ETag in the response",
                          part_number, bucket, key);
        /* an ETag that is an MD5 must be that of the bytes sent: the
         * object's ETag is checked against these (s3_multipart_etag) */
        else if (!rs.etag_not_md5 && s3_etag_is_md5(rs.etag) && strcasecmp(rs.etag, hex) != 0)
            rc = err_setk(e, ERR_TRANSIENT, "UploadPart %d s3://%s/%s: the server's ETag %s is "
                          "not the MD5 %s of the part sent", part_number, bucket, key, rs.etag,
                          hex);
        else if (etag_out)
            memcpy(etag_out, rs.etag, 80);
    }
    free(q);
    bytebuf_free(&rs.body);
    return rc;
}

/* UploadPartCopy and CompleteMultipartUpload may answer 200 with an <Error>
 * body: a struct req check that reads the result's ETag, or the error. */
struct result200 {
    const char *root;      /* the result's element; NULL: CompleteMultipartUploadResult */
    const char *op, *bucket, *key;
    char etag[80];
};

static int check_200(void *ud, const struct resp *rs, struct err *e)
{
    struct result200 *k = ud;
    struct s3_xml_error xe;
    const char *body = (const char *)rs->body.data;
    int pr = k->root ? s3_xml_parse_etag_result(body, rs->body.len, k->root, k->etag, &xe, e)
                     : s3_xml_parse_complete(body, rs->body.len, k->etag, &xe, e);
    if (pr == 0)
        return 0;
    if (pr < 0)
        return err_prefix(e, "s3://%s/%s: ", k->bucket, k->key);
    int again = code_retryable(xe.code);
    err_setk(e, again ? ERR_TRANSIENT : ERR_GENERIC, "%s s3://%s/%s: HTTP 200 with error %s: %s",
             k->op, k->bucket, k->key, xe.code, xe.message);
    return again ? 1 : -1;
}

int s3_mpu_upload_part_copy(struct s3_client *c, const char *bucket, const char *key,
                            const char *upload_id, int part_number, const char *src_bucket,
                            const char *src_key, long long first, long long last,
                            const char *if_match, char etag_out[80], int *etag_not_md5,
                            struct err *e)
{
    if (key_check("UploadPartCopy", bucket, key, e) != 0 ||
        key_check("UploadPartCopy", src_bucket, src_key, e) != 0)
        return -1;
    if (part_number < 1 || part_number > 10000 || first < 0 || last < first ||
        last - first + 1 > PUT_MAX_BYTES || !upload_id || !*upload_id ||
        strlen(upload_id) > S3_TOKEN_MAX)
        return err_setk(e, ERR_USAGE, "UploadPartCopy s3://%s/%s: bad part %d (%lld..%lld)",
                        bucket, key, part_number, first, last);
    char *q = upload_query(upload_id, part_number);
    char *src_enc = enc(src_key);
    char *source = NULL;
    if (src_enc && asprintf(&source, "/%s/%s", src_bucket, src_enc) < 0)
        source = NULL;
    free(src_enc);
    if (!q || !source) {
        free(q);
        free(source);
        return err_set(e, "UploadPartCopy s3://%s/%s: out of memory", bucket, key);
    }
    char range[64], cond[96];
    snprintf(range, sizeof range, "bytes=%lld-%lld", first, last);
    char op[48];
    snprintf(op, sizeof op, "UploadPartCopy %d", part_number);
    struct req rq = {.op = op, .stat = ST_PUT, .method = "PUT", .bucket = bucket, .key = key,
                     .query = q, .body = "", .body_len = 0, .body_cap = S3_XML_MAX_BYTES,
                     .range_first = -1, .range_last = -1, .stageable = 1};
    rq.copy_bucket = src_bucket;
    rq.extra[rq.n_extra++] = (struct hdr){"x-amz-copy-source", source};
    rq.extra[rq.n_extra++] = (struct hdr){"x-amz-copy-source-range", range};
    if (if_match) {
        snprintf(cond, sizeof cond, "\"%s\"", if_match);
        rq.extra[rq.n_extra++] = (struct hdr){"x-amz-copy-source-if-match", cond};
    }
    struct result200 chk = {.root = "CopyPartResult", .op = op, .bucket = bucket, .key = key};
    rq.check = check_200;
    rq.check_ud = &chk;
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, &rq, &rs, NULL, e);
    if (rc == 0) {
        if (etag_out)
            memcpy(etag_out, chk.etag, 80);
        if (etag_not_md5)
            *etag_not_md5 = rs.etag_not_md5;
    }
    free(q);
    free(source);
    bytebuf_free(&rs.body);
    return rc;
}

int s3_mpu_complete(struct s3_client *c, const char *bucket, const char *key,
                    const char *upload_id, const struct s3_part *parts, size_t n_parts,
                    const struct s3_put_opts *opts, char etag_out[80], struct err *e)
{
    if (key_check("CompleteMultipartUpload", bucket, key, e) != 0)
        return -1;
    if (!upload_id || !*upload_id || strlen(upload_id) > S3_TOKEN_MAX)
        return err_setk(e, ERR_USAGE, "CompleteMultipartUpload s3://%s/%s: bad upload id",
                        bucket, key);
    for (size_t i = 1; i < n_parts; i++)
        if (parts[i].number <= parts[i - 1].number)
            return err_setk(e, ERR_USAGE, "CompleteMultipartUpload s3://%s/%s: parts not in "
                                          "ascending order", bucket, key);
    size_t blen = 0;
    char *body = s3_xml_build_complete(parts, n_parts, &blen);
    if (!body)
        return err_setk(e, ERR_USAGE, "CompleteMultipartUpload s3://%s/%s: no parts or an "
                                      "invalid part", bucket, key);
    char *q = upload_query(upload_id, 0);
    if (!q) {
        free(body);
        return err_set(e, "CompleteMultipartUpload s3://%s/%s: out of memory", bucket, key);
    }
    char ifmatch[96];
    struct req rq = {.op = "CompleteMultipartUpload", .stat = ST_OTHER, .method = "POST",
                     .bucket = bucket, .key = key, .query = q, .body = body, .body_len = blen,
                     .content_type = "application/xml", .body_cap = S3_XML_MAX_BYTES,
                     .range_first = -1, .range_last = -1};
    put_conditions(&rq, opts, ifmatch, sizeof ifmatch);
    struct result200 chk = {.root = NULL, .op = rq.op, .bucket = bucket, .key = key};
    rq.check = check_200;
    rq.check_ud = &chk;
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = perform(c, &rq, &rs, NULL, e);
    if (rc != 0 && e && e->kind == ERR_NOT_FOUND) {
        /* NoSuchUpload: an earlier attempt may have completed it and lost
         * the answer. The object's ETag tells. */
        char want[80];
        s3_multipart_etag(parts, n_parts, want);
        if (already_written(c, bucket, key, want)) {
            err_clear(e);
            memcpy(chk.etag, want, 80);
            rc = 0;
        }
    }
    if (rc == 0 && etag_out)
        memcpy(etag_out, chk.etag, 80);
    free(q);
    free(body);
    bytebuf_free(&rs.body);
    return rc;
}

int s3_mpu_abort(struct s3_client *c, const char *bucket, const char *key,
                 const char *upload_id, struct err *e)
{
    if (key_check("AbortMultipartUpload", bucket, key, e) != 0)
        return -1;
    if (!upload_id || !*upload_id || strlen(upload_id) > S3_TOKEN_MAX)
        return err_setk(e, ERR_USAGE, "AbortMultipartUpload s3://%s/%s: bad upload id", bucket,
                        key);
    char *q = upload_query(upload_id, 0);
    if (!q)
        return err_set(e, "AbortMultipartUpload s3://%s/%s: out of memory", bucket, key);
    struct req rq = {.op = "AbortMultipartUpload", .stat = ST_OTHER, .method = "DELETE",
                     .bucket = bucket, .key = key, .query = q, .body_cap = ERRBODY_MAX,
                     .range_first = -1, .range_last = -1};
    int rc = perform_only(c, &rq, e);
    free(q);
    return rc;
}

int s3_list_uploads(struct s3_client *c, const char *bucket, const char *prefix,
                    struct s3_upload_list *out, struct err *e)
{
    if (!prefix)
        prefix = "";
    if (strlen(prefix) > S3_KEY_MAX)
        return err_setk(e, ERR_USAGE, "ListMultipartUploads s3://%s/: prefix too long",
                        bucket ? bucket : "");
    size_t first_n = out->n;
    char *pfx = enc(prefix), *key_marker = NULL, *id_marker = NULL;
    char *what = malloc(strlen(prefix) + 2);
    if (!pfx || !what) {
        free(pfx);
        free(what);
        return err_set(e, "ListMultipartUploads s3://%s/%s: out of memory", bucket, prefix);
    }
    sprintf(what, "%s*", prefix);
    struct resp rs;
    memset(&rs, 0, sizeof rs);
    int rc = 0;
    for (int page = 0;; page++) {
        if (page >= 100) {
            rc = err_setk(e, ERR_DATA, "ListMultipartUploads s3://%s/%s: more than 100 pages",
                          bucket, what);
            break;
        }
        char *km = key_marker ? enc(key_marker) : NULL, *im = id_marker ? enc(id_marker) : NULL;
        size_t ql = strlen(pfx) + (km ? strlen(km) : 0) + (im ? strlen(im) : 0) + 64;
        char *q = malloc(ql);
        if (!q || (key_marker && !km) || (id_marker && !im)) {
            free(q);
            free(km);
            free(im);
            rc = err_set(e, "ListMultipartUploads s3://%s/%s: out of memory", bucket, what);
            break;
        }
        /* parameters in canonical (sorted) order */
        snprintf(q, ql, "%s%s%sprefix=%s%s%s%suploads=", km ? "key-marker=" : "", km ? km : "",
                 km ? "&" : "", pfx, im ? "&upload-id-marker=" : "", im ? im : "", "&");
        free(km);
        free(im);
        struct req rq = {.op = "ListMultipartUploads", .stat = ST_LIST, .method = "GET",
                         .bucket = bucket, .what = what, .query = q,
                         .body_cap = S3_XML_MAX_BYTES, .range_first = -1, .range_last = -1};
        rc = perform(c, &rq, &rs, NULL, e);
        free(q);
        if (rc != 0)
            break;
        int truncated;
        char *nk, *ni;
        if (s3_xml_parse_uploads((const char *)rs.body.data, rs.body.len, out, &truncated, &nk,
                                 &ni, e) != 0) {
            err_prefix(e, "ListMultipartUploads s3://%s/%s: ", bucket, what);
            rc = -1;
            break;
        }
        if (!truncated || !nk) {
            free(nk);
            free(ni);
            break;
        }
        free(key_marker);
        free(id_marker);
        key_marker = nk;
        id_marker = ni;
    }
    free(key_marker);
    free(id_marker);
    free(pfx);
    free(what);
    bytebuf_free(&rs.body);
    if (rc != 0) {
        for (size_t i = first_n; i < out->n; i++) {
            free(out->items[i].key);
            free(out->items[i].upload_id);
        }
        out->n = first_n;
    }
    return rc;
}
