#include "lease.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "hex.h"

static char owner_id[160];
static pthread_once_t owner_once = PTHREAD_ONCE_INIT;

static void owner_init(void)
{
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    unsigned char r[6] = {0};
    RAND_bytes(r, sizeof r);
    snprintf(owner_id, sizeof owner_id, "%s:%ld:%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
             r[0], r[1], r[2], r[3], r[4], r[5]);
}

const char *lease_owner(void)
{
    pthread_once(&owner_once, owner_init);
    return owner_id;
}

int lease_ttl_secs(int default_secs, int *out, struct err *e)
{
    *out = default_secs;
    const char *v = getenv(LEASE_TTL_ENV);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < LEASE_TTL_MIN || x > LEASE_TTL_MAX)
        return err_setk(e, ERR_USAGE, "%s=%s: expected a whole number of seconds within %d..%d",
                        LEASE_TTL_ENV, v, LEASE_TTL_MIN, LEASE_TTL_MAX);
    *out = (int)x;
    return 0;
}

/* The lease document; "renewed" only after the first write. */
static char *lease_body(const struct lease *l, long long now, long long expires, size_t *len)
{
    json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "owner", lease_owner(), "token", l->token,
                          "acquired", (json_int_t)l->acquired, "expires", (json_int_t)expires);
    if (o && now != l->acquired && json_object_set_new(o, "renewed", json_integer(now)) != 0) {
        json_decref(o);
        o = NULL;
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s)
        *len = strlen(s);
    return s;
}

struct lease_doc {
    char owner[160];
    char token[40];
    long long expires;
};

/* Reads the lease object as it is now: its document (fields "" / 0 when
 * unreadable) and its ETag. The bytes are checked against the ETag: a
 * damaged read must not decide who holds a day. */
static int lease_read(struct s3_client *s3, const char *bucket, const char *key,
                      struct lease_doc *d, char etag[80], struct err *e)
{
    memset(d, 0, sizeof *d);
    struct bytebuf b = {0};
    struct s3_get_info info = {0};
    if (s3_get_buffer_verified(s3, bucket, key, LEASE_DOC_MAX, &b, &info, e) != 0) {
        bytebuf_free(&b);
        return -1;
    }
    memcpy(etag, info.etag, 80);
    json_error_t je;
    json_t *o = json_loadb((const char *)b.data, b.len, 0, &je);
    bytebuf_free(&b);
    const char *who = json_string_value(json_object_get(o, "owner"));
    const char *tok = json_string_value(json_object_get(o, "token"));
    snprintf(d->owner, sizeof d->owner, "%s", who ? who : "");
    snprintf(d->token, sizeof d->token, "%s", tok ? tok : "");
    d->expires = (long long)json_integer_value(json_object_get(o, "expires"));
    json_decref(o);
    return 0;
}

static int doc_is_ours(const struct lease_doc *d, const struct lease *l)
{
    return l->token[0] && strcmp(d->token, l->token) == 0 && strcmp(d->owner, lease_owner()) == 0;
}

/* After a conditional write or delete failed its condition: is the lease
 * still ours (an earlier attempt of ours landed, its answer was lost)? Then
 * *etag_now and *expires_now describe it. */
static int still_ours(struct s3_client *s3, const char *bucket, const struct lease *l,
                      char etag_now[80], long long *expires_now)
{
    struct lease_doc d;
    struct err re = {0};
    if (lease_read(s3, bucket, l->key, &d, etag_now, &re) != 0)
        return re.kind == ERR_NOT_FOUND ? 0 : -1;
    if (!doc_is_ours(&d, l))
        return 0;
    *expires_now = d.expires;
    return 1;
}

/* "2023-01-05 14:03:07 UTC" for messages (a lease's times are unix seconds). */
static char *utc_text(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, 32, "%lld (unix time)", t);
    return out;
}

static void lease_take(struct lease *l, const char *etag, long long expires)
{
    snprintf(l->etag, sizeof l->etag, "%s", etag);
    atomic_store(&l->expires, expires);
    atomic_store(&l->lost, 0);
    l->held = 1;
}

int lease_acquire(struct s3_client *s3, const char *bucket, const char *key, int ttl_secs,
                  struct lease *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    snprintf(out->key, sizeof out->key, "%s", key);
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return err_set(e, "no random bytes for the lease token");
    hex_encode(r, sizeof r, out->token);
    long long now = (long long)time(NULL);
    out->acquired = now;
    size_t len = 0;
    char *body = lease_body(out, now, now + ttl_secs, &len);
    if (!body)
        return err_set(e, "out of memory");
    char etag[80] = "";
    struct s3_put_opts create = {.content_type = "application/json", .if_none_match = "*"};
    struct err pe = {0};
    if (s3_put(s3, bucket, key, body, len, &create, etag, &pe) == 0) {
        free(body);
        lease_take(out, etag, now + ttl_secs);
        return 0;
    }
    if (pe.kind != ERR_CONFLICT) {
        free(body);
        *e = pe;
        return err_prefix(e, "taking the day's lease: ");
    }
    /* Someone holds it, or held it and died: read who and until when. */
    struct lease_doc d;
    char cur_etag[80] = "";
    struct err ge = {0};
    if (lease_read(s3, bucket, key, &d, cur_etag, &ge) != 0) {
        free(body);
        if (ge.kind == ERR_NOT_FOUND)  /* released meanwhile: let the caller retry later */
            return err_setk(e, ERR_CONFLICT, "the day's lease s3://%s/%s changed hands; retry",
                            bucket, key);
        *e = ge;
        return err_prefix(e, "reading the day's lease: ");
    }
    const char *who = d.owner[0] ? d.owner : "(unreadable lease)";
    char when[32];
    if (d.expires > now) {
        free(body);
        return err_setk(e, ERR_CONFLICT,
                        "another writer (%s) holds this day until %s (%lld s from now); "
                        "rerun the day after that",
                        who, utc_text(d.expires, when), d.expires - now);
    }
    /* Expired (or unreadable): take it over, only if nobody else did first. */
    struct s3_put_opts takeover = {.content_type = "application/json", .if_match = cur_etag};
    int rc = s3_put(s3, bucket, key, body, len, &takeover, etag, &pe);
    free(body);
    long long exp_now = 0;
    if (rc == 0 || ((pe.kind == ERR_CONFLICT || pe.kind == ERR_NOT_FOUND) &&
                    still_ours(s3, bucket, out, etag, &exp_now) == 1)) {
        lease_take(out, etag, rc == 0 ? now + ttl_secs : exp_now);
        log_msg(LOG_INFO, NULL, "lease_takeover",
                "took over the expired lease s3://%s/%s of %s (expired %lld s ago)", bucket, key,
                who, now - d.expires);
        return 0;
    }
    if (pe.kind == ERR_CONFLICT || pe.kind == ERR_NOT_FOUND)
        return err_setk(e, ERR_CONFLICT, "another writer took over the expired lease of %s first",
                        who);
    *e = pe;
    return err_prefix(e, "taking over the day's lease: ");
}

int lease_lost(const struct lease *l)
{
    if (!l->held)
        return 0;
    return atomic_load(&l->lost) || (long long)time(NULL) >= atomic_load(&l->expires);
}

/* ------------------------------------------------------------ renewals */

struct lease_keeper {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* on CLOCK_MONOTONIC: wall-clock jumps do not shift renewals */
    int stop;              /* under mu */
    struct s3_client *s3;
    char bucket[256];
    struct lease *l;
    int ttl_secs;
};

static void mark_lost(struct lease *l, const char *bucket, const char *why)
{
    atomic_store(&l->lost, 1);
    log_msg(LOG_WARN, NULL, "lease_lost",
            "lease s3://%s/%s lost (%s): this writer will not commit the day", bucket, l->key,
            why);
}

/* One renewal. Returns 0 to go on, -1 once the lease is lost. */
static int renew_once(struct lease_keeper *k)
{
    struct lease *l = k->l;
    long long before = atomic_load(&l->expires);
    long long now = (long long)time(NULL);
    if (now >= before) {
        mark_lost(l, k->bucket, "expired before a renewal succeeded");
        return -1;
    }
    size_t len = 0;
    char *body = lease_body(l, now, now + k->ttl_secs, &len);
    if (!body) {
        log_msg(LOG_WARN, NULL, "lease_renewal", "lease s3://%s/%s: out of memory; will retry",
                k->bucket, l->key);
        return 0;
    }
    char etag[80] = "";
    long long expires = now + k->ttl_secs;
    struct s3_put_opts o = {.content_type = "application/json", .if_match = l->etag};
    struct err pe = {0};
    int rc = s3_put(k->s3, k->bucket, l->key, body, len, &o, etag, &pe);
    free(body);
    if (rc != 0 && (pe.kind == ERR_CONFLICT || pe.kind == ERR_NOT_FOUND)) {
        if (still_ours(k->s3, k->bucket, l, etag, &expires) != 1) {
            mark_lost(l, k->bucket, pe.kind == ERR_NOT_FOUND ? "removed by someone else"
                                                             : "taken over by another writer");
            return -1;
        }
        rc = 0;  /* an earlier attempt of this renewal landed */
    }
    if (rc != 0) {
        if ((long long)time(NULL) >= before) {
            mark_lost(l, k->bucket, "expired before a renewal succeeded");
            return -1;
        }
        log_msg(LOG_WARN, NULL, "lease_renewal", "renewing lease s3://%s/%s failed (%s); "
                "retrying before it expires in %lld s", k->bucket, l->key, pe.msg,
                before - (long long)time(NULL));
        return 0;
    }
    snprintf(l->etag, sizeof l->etag, "%s", etag);
    /* Exclusivity ended at `before` if we got here only after it: stay lost. */
    if ((long long)time(NULL) >= before) {
        mark_lost(l, k->bucket, "expired before a renewal succeeded");
        return -1;
    }
    atomic_store(&l->expires, expires);
    return 0;
}

static void deadline_after(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static int reached(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

static void *keeper_main(void *arg)
{
    struct lease_keeper *k = arg;
    long interval_ms = (long)k->ttl_secs * 1000 / 3;
    struct timespec next;
    pthread_mutex_lock(&k->mu);
    deadline_after(&next, interval_ms);
    while (!k->stop) {
        pthread_cond_timedwait(&k->cv, &k->mu, &next);
        if (k->stop || !reached(&next))
            continue;  /* stopped, or woken early */
        pthread_mutex_unlock(&k->mu);
        int rc = renew_once(k);
        pthread_mutex_lock(&k->mu);
        if (rc != 0)
            break;
        deadline_after(&next, interval_ms);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

int lease_keepalive_start(struct s3_client *s3, const char *bucket, struct lease *l,
                          int ttl_secs, struct err *e)
{
    if (!l->held)
        return 0;
    if (l->keeper)
        return err_setk(e, ERR_USAGE, "lease %s: renewals already running", l->key);
    if (ttl_secs < LEASE_TTL_MIN || ttl_secs > LEASE_TTL_MAX)
        return err_setk(e, ERR_USAGE, "lease %s: TTL %d s outside %d..%d", l->key, ttl_secs,
                        LEASE_TTL_MIN, LEASE_TTL_MAX);
    struct lease_keeper *k = calloc(1, sizeof *k);
    if (!k)
        return err_set(e, "out of memory");
    k->s3 = s3;
    k->l = l;
    k->ttl_secs = ttl_secs;
    snprintf(k->bucket, sizeof k->bucket, "%s", bucket);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&k->mu, NULL);
    int rc = pthread_create(&k->th, NULL, keeper_main, k);
    if (rc != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return err_set(e, "lease %s: cannot start the renewal thread: %s", l->key, strerror(rc));
    }
    l->keeper = k;
    return 0;
}

void lease_keepalive_stop(struct lease *l)
{
    struct lease_keeper *k = l->keeper;
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->th, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
    l->keeper = NULL;
}

/* ------------------------------------------------------------ release */

void lease_release(struct s3_client *s3, const char *bucket, struct lease *l)
{
    lease_keepalive_stop(l);
    if (!l->held)
        return;
    l->held = 0;
    struct err de = {0};
    if (s3_delete_if_match(s3, bucket, l->key, l->etag, &de) == 0 || de.kind == ERR_NOT_FOUND)
        return;
    if (de.kind == ERR_CONFLICT) {
        /* A renewal of ours that landed unseen changed the ETag, or another
         * writer holds the lease now: delete only in the first case. */
        char etag[80];
        long long expires;
        int ours = still_ours(s3, bucket, l, etag, &expires);
        if (ours == 1) {
            if (s3_delete_if_match(s3, bucket, l->key, etag, &de) == 0 ||
                de.kind == ERR_NOT_FOUND)
                return;
        } else if (ours == 0) {
            log_msg(LOG_INFO, NULL, "lease_kept",
                    "lease s3://%s/%s belongs to another writer now; left in place", bucket,
                    l->key);
            return;
        }
    }
    log_msg(LOG_WARN, NULL, "lease_release",
            "could not release lease s3://%s/%s (%s); other writers wait until it expires",
            bucket, l->key, de.msg);
}
