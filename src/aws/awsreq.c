#include "awsreq.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "awscfg.h"

/* ---- the transport ---- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int awsreq_global_init(struct err *e)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return err_set(e, "curl_global_init failed: %s", curl_easy_strerror(global_rc));
    return 0;
}

CURL *awsreq_handle_new(void)
{
    return awsreq_global_init(NULL) == 0 ? curl_easy_init() : NULL;
}

/* The body of a streamed PUT, read by curl. */
struct upload {
    const struct awsreq_xfer *x;
    size_t off;
};

static size_t on_read(char *buf, size_t sz, size_t nm, void *ud)
{
    struct upload *u = ud;
    size_t room = sz * nm, left = u->x->body_len - u->off;
    size_t n = left < room ? left : room;
    if (n) {
        memcpy(buf, (const char *)u->x->body + u->off, n);
        u->off += n;
    }
    return n;
}

/* curl rewinds the body when it sends a request again on a fresh
 * connection (a kept-alive one that turned out closed); without this it
 * fails with "rewinding of the data stream failed". */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    struct upload *u = ud;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > (uint64_t)u->x->body_len)
        return CURL_SEEKFUNC_FAIL;
    u->off = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t drop(char *p, size_t sz, size_t nm, void *ud)
{
    (void)p, (void)ud;
    return sz * nm;
}

/* How the method and its body are sent. */
static void set_method(CURL *h, const struct awsreq_xfer *x, struct upload *u)
{
    const char *m = x->method;
    if (strcmp(m, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (x->send == AWSREQ_SEND_STREAM) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, u);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, u);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->body_len);
        if (strcmp(m, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else if (x->send == AWSREQ_SEND_FIELDS) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body ? (const char *)x->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
}

void awsreq_transfer(CURL *h, const struct awsreq_xfer *x, struct awsreq_result *r)
{
    memset(r, 0, sizeof *r);
    struct upload u = {x, 0};
    curl_easy_reset(h);
    awscfg_curl_tls(h);
    curl_easy_setopt(h, CURLOPT_URL, x->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);   /* the path as signed: keys hold "./", "//" */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    if (x->no_proxy)
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    if (x->share)
        curl_easy_setopt(h, CURLOPT_SHARE, x->share);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, x->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, x->timeout_ms);
    if (x->low_speed_secs > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, x->low_speed_bps > 0 ? x->low_speed_bps : 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, x->low_speed_secs);
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->error);
    if (x->headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, x->on_body ? x->on_body : drop);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x->body_ud);
    if (x->on_header) {
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, x->on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, x->header_ud);
    }
    if (x->on_progress) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, x->on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, x->progress_ud);
    }
    set_method(h, x, &u);
    r->cc = curl_easy_perform(h);
    /* the handle outlives the header list and the error buffer */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    r->sent = x->send == AWSREQ_SEND_STREAM ? (long long)u.off
              : x->send == AWSREQ_SEND_FIELDS ? (long long)x->body_len : 0;
}

/* ---- signing ---- */

/* Appends "name: value" to *hl; -1 when out of memory. The line is wiped
 * (it may hold a token or a signature). */
static int add_line(struct curl_slist **hl, const char *name, const char *value)
{
    size_t l = strlen(name) + strlen(value) + 3;
    char *line = malloc(l);
    if (!line)
        return -1;
    snprintf(line, l, "%s: %s", name, value);
    struct curl_slist *t = curl_slist_append(*hl, line);
    OPENSSL_cleanse(line, l);
    free(line);
    if (!t)
        return -1;
    *hl = t;
    return 0;
}

static int add_fixed(struct curl_slist **hl)
{
    static const char *const fixed[] = {"Expect:", "User-Agent: repart/" REPART_VERSION};
    for (size_t i = 0; i < 2; i++) {
        struct curl_slist *t = curl_slist_append(*hl, fixed[i]);
        if (!t)
            return -1;
        *hl = t;
    }
    return 0;
}

struct curl_slist *awsreq_sign_headers(const struct awsreq_sig *s, struct err *e)
{
    enum { MAX_SIGNED = 24 };
    if (s->n_headers > MAX_SIGNED) {
        err_set(e, "signing: %zu headers, at most %d", s->n_headers, MAX_SIGNED);
        return NULL;
    }
    char date[17];
    sigv4_amz_date((long long)time(NULL), date);
    struct sigv4_header sh[MAX_SIGNED + 2];
    size_t n = 0;
    for (size_t i = 0; i < s->n_headers; i++)
        sh[n++] = s->headers[i];
    sh[n++] = (struct sigv4_header){"x-amz-date", date};
    if (s->cr->session_token[0])
        sh[n++] = (struct sigv4_header){"x-amz-security-token", s->cr->session_token};
    struct sigv4_request rq = {s->method, s->path, s->query, sh, n, s->payload_hash};
    struct sigv4_key key = {s->cr->access_key, s->cr->secret_key, s->region, s->service, date,
                            s->normalize_path};
    struct sigv4_result sr = {0};
    if (sigv4_sign(&rq, &key, &sr, e) < 0) {
        err_prefix(e, "signing: ");
        return NULL;
    }
    struct curl_slist *hl = NULL;
    int bad = 0;
    for (size_t i = 0; i < n && !bad; i++)
        bad = add_line(&hl, sh[i].name, sh[i].value) < 0;
    if (!bad)
        bad = add_line(&hl, "Authorization", sr.authorization) < 0 || add_fixed(&hl) < 0;
    sigv4_result_free(&sr);
    if (bad) {
        curl_slist_free_all(hl);
        err_set(e, "out of memory");
        return NULL;
    }
    return hl;
}

/* ---- retries ---- */

/* adaptive mode: the hold every request of the process shares */
static atomic_llong process_hold;

void awsreq_retry_policy(struct retry_policy *p, int default_attempts, long base_ms, long cap_ms,
                         const volatile sig_atomic_t *cancel, const char *what)
{
    const struct awscfg *ac = awscfg_get();
    *p = (struct retry_policy){
        .max_attempts = ac->max_attempts > 0 ? ac->max_attempts : default_attempts,
        .base_ms = base_ms, .cap_ms = cap_ms,
        .hold_until = ac->retry_mode == AWSCFG_RETRY_ADAPTIVE ? &process_hold : NULL,
        .cancel = cancel, .what = what,
    };
}

/* ---- one request to a small-answer API ---- */

struct sink {
    struct awsreq_answer *ans;
    size_t max;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct sink *k = ud;
    size_t n = sz * nm;
    if (n > k->max - k->ans->body.len) {
        k->ans->too_long = 1;
        return 0;
    }
    strbuf_addn(&k->ans->body, p, n);
    return k->ans->body.oom ? 0 : n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct awsreq_answer *ans = ud;
    size_t n = sz * nm;
    static const char name[] = "x-amzn-errortype:";
    if (n > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
        size_t i = sizeof name - 1, k = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t'))
            i++;
        /* "ThrottlingException:http://internal.amazon.com/..." -> the name */
        while (i < n && k + 1 < sizeof ans->errtype &&
               (isalnum((unsigned char)p[i]) || p[i] == '.'))
            ans->errtype[k++] = p[i++];
        ans->errtype[k] = '\0';
    }
    return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    const struct awsreq *rq = ud;
    return rq->cancel && *rq->cancel ? 1 : 0;
}

/* The header lines of rq: signed with cr, or as given when anonymous. */
static struct curl_slist *request_headers(const struct awsreq *rq, const struct creds *cr,
                                          struct err *e)
{
    if (rq->anonymous) {
        struct curl_slist *hl = NULL;
        int bad = 0;
        for (size_t i = 0; i < rq->n_headers && !bad; i++)
            bad = add_line(&hl, rq->headers[i].name, rq->headers[i].value) < 0;
        if (bad || add_fixed(&hl) < 0) {
            curl_slist_free_all(hl);
            err_set(e, "out of memory");
            return NULL;
        }
        return hl;
    }
    char hash[65];
    sigv4_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, hash);
    struct sigv4_header sh[24];
    if (rq->n_headers >= 24) {
        err_set(e, "signing: %zu headers, at most 23", rq->n_headers);
        return NULL;
    }
    size_t n = 0;
    sh[n++] = (struct sigv4_header){"host", rq->host};
    for (size_t i = 0; i < rq->n_headers; i++)
        sh[n++] = (struct sigv4_header){rq->headers[i].name, rq->headers[i].value};
    struct awsreq_sig sig = {cr, rq->service, rq->region, rq->method, rq->path, rq->query, hash,
                             sh, n, 1};
    return awsreq_sign_headers(&sig, e);
}

int awsreq_once(const struct awsreq *rq, struct awsreq_answer *ans, struct err *e)
{
    memset(ans, 0, sizeof *ans);
    const struct creds *cr = rq->anonymous ? NULL : rq->cr;
    if (!rq->anonymous && !cr)
        return err_set(e, "credentials: none given");
    struct curl_slist *hl = request_headers(rq, cr, e);
    if (cr) {
        snprintf(ans->akid, sizeof ans->akid, "%s", cr->access_key);
        snprintf(ans->token, sizeof ans->token, "%s", cr->session_token);
    }
    if (!hl)
        return -1;
    struct sink k = {ans, rq->max_answer};
    if (rq->secret_answer)
        strbuf_reserve(&ans->body, rq->max_answer);
    struct awsreq_xfer x = {
        .method = rq->method, .url = rq->url, .headers = hl,
        .send = strcmp(rq->method, "POST") == 0 ? AWSREQ_SEND_FIELDS : AWSREQ_SEND_NONE,
        .body = rq->body, .body_len = rq->body_len,
        .connect_ms = rq->connect_ms, .timeout_ms = rq->timeout_ms,
        .low_speed_secs = rq->low_speed_secs,
        .on_body = on_body, .body_ud = &k, .on_header = on_header, .header_ud = ans,
        .on_progress = on_progress, .progress_ud = (void *)rq,
    };
    struct awsreq_result r;
    awsreq_transfer(rq->curl, &x, &r);
    curl_slist_free_all(hl);
    ans->cc = r.cc;
    if (ans->cc == CURLE_OK)
        ans->status = r.status;
    else if (ans->cc == CURLE_ABORTED_BY_CALLBACK && rq->cancel && *rq->cancel)
        ans->cancelled = 1;
    snprintf(ans->error, sizeof ans->error, "%s",
             r.error[0] ? r.error : ans->cc != CURLE_OK ? curl_easy_strerror(ans->cc) : "");
    if (ans->body.oom)
        return err_set(e, "out of memory");
    return 0;
}

static void redact_one(char *s, const char *secret)
{
    size_t n = strlen(secret);
    if (n < 4)
        return;
    char *p;
    while ((p = strstr(s, secret)) != NULL) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + n, strlen(p + n) + 1);
    }
}

void awsreq_redact(const struct awsreq_answer *ans, char *text)
{
    redact_one(text, ans->akid);
    redact_one(text, ans->token);
}

void awsreq_answer_free(struct awsreq_answer *ans)
{
    if (ans->body.p)
        OPENSSL_cleanse(ans->body.p, ans->body.cap);
    strbuf_free(&ans->body);
    OPENSSL_cleanse(ans->akid, sizeof ans->akid);
    OPENSSL_cleanse(ans->token, sizeof ans->token);
}
