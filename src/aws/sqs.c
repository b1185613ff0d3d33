#include "sqs.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "awscfg.h"
#include "awsreq.h"
#include "hex.h"
#include "md5.h"
#include "log.h"
#include "retry.h"
#include "sigv4.h"

#define DEFAULT_ATTEMPTS     6
#define DEFAULT_CONNECT_MS   5000L
#define DEFAULT_TIMEOUT_MS   30000L
#define BACKOFF_BASE_MS      200
#define BACKOFF_CAP_MS       20000
#define SEND_MAX             (1024 * 1024)   /* SQS message size limit */
#define QUOTE_MAX            300

struct sqs_client {
    char queue_url[SQS_URL_MAX + 1];
    char queue_q[QUOTE_MAX + 4];       /* queue URL quoted for messages */
    char endpoint[SQS_URL_MAX + 1];    /* scheme://authority */
    char request_url[2 * SQS_URL_MAX + 2];
    char authority[256];
    char path[SQS_URL_MAX + 1];
    char region[64];
    int  max_attempts;
    long connect_ms, timeout_ms;
    const volatile sig_atomic_t *cancel;
    struct creds_provider *creds;
    CURL *curl;
    struct sqs_stats stats;
};

/* Printable and bounded: queue URLs and AWS messages end up in logs. */

/* snprintf for messages that may be cut short on purpose (through a va_list,
 * so that gcc -O3 does not warn about the intended truncation). */
static void fmt_trunc(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt_trunc(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

static const char *quote(const char *s, char out[QUOTE_MAX + 4])
{
    return log_quote(s, out, QUOTE_MAX + 4);
}

/* ---- URLs ---- */

/* Splits scheme://authority[/path] (no userinfo, query or fragment). */
static int split_url(const char *url, char *scheme, size_t ssize, char *authority, size_t asize,
                     char *host, size_t hsize, const char **path)
{
    const char *p = strstr(url, "://");
    if (!p || (size_t)(p - url) >= ssize)
        return -1;
    memcpy(scheme, url, (size_t)(p - url));
    scheme[p - url] = '\0';
    for (char *s = scheme; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        return -1;
    const char *a = p + 3;
    size_t alen = strcspn(a, "/?#");
    if (alen == 0 || alen >= asize || a[alen] == '?' || a[alen] == '#')
        return -1;
    for (size_t i = 0; i < alen; i++) {
        unsigned char ch = (unsigned char)a[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '\\')
            return -1;  /* no userinfo (credentials do not belong in URLs) */
    }
    memcpy(authority, a, alen);
    authority[alen] = '\0';
    /* host: without the port; [v6] kept with brackets */
    size_t hlen = alen;
    if (authority[0] == '[') {
        const char *rb = strchr(authority, ']');
        if (!rb)
            return -1;
        hlen = (size_t)(rb - authority) + 1;
        if (authority[hlen] && authority[hlen] != ':')
            return -1;
    } else {
        const char *colon = strchr(authority, ':');
        if (colon)
            hlen = (size_t)(colon - authority);
    }
    if (hlen == 0 || hlen >= hsize)
        return -1;
    if (hlen < alen) {   /* the port: digits only */
        const char *port = authority + hlen + 1;
        if (!*port || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5)
            return -1;
    }
    memcpy(host, authority, hlen);
    host[hlen] = '\0';
    for (char *s = host; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
    *path = a + alen;
    for (const char *s = *path; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#')
            return -1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int region_ok(const char *r, size_t n)
{
    char b[AWSCFG_REGION_MAX + 1];
    if (n == 0 || n > AWSCFG_REGION_MAX)
        return 0;
    memcpy(b, r, n);
    b[n] = '\0';
    return awscfg_region_ok(b);
}

int sqs_region_from_host(const char *host, char *out, size_t out_size)
{
    static const char *aws[] = {".amazonaws.com", ".amazonaws.com.cn", ".api.aws"};
    int is_aws = 0;
    for (size_t i = 0; i < sizeof aws / sizeof aws[0]; i++)
        is_aws |= ends_with(host, aws[i]);
    if (!is_aws)
        return 0;
    if (strcmp(host, "queue.amazonaws.com") == 0) {
        snprintf(out, out_size, "us-east-1");
        return 1;
    }
    const char *r = NULL;
    size_t n;
    if (ends_with(host, ".queue.amazonaws.com")) {   /* legacy <region>.queue.amazonaws.com */
        r = host;
        n = strlen(host) - strlen(".queue.amazonaws.com");
        if (strchr(r, '.') != r + n)
            return 0;
    } else {
        /* sqs.<region>.…, sqs-fips.<region>.…, vpce-….sqs.<region>.vpce.amazonaws.com */
        const char *s = NULL;
        if (strncmp(host, "sqs.", 4) == 0)
            s = host + 4;
        else if (strncmp(host, "sqs-fips.", 9) == 0)
            s = host + 9;
        else if ((s = strstr(host, ".sqs.")) != NULL)
            s += 5;
        if (!s)
            return 0;
        r = s;
        const char *dot = strchr(r, '.');
        if (!dot)
            return 0;
        n = (size_t)(dot - r);
    }
    if (!region_ok(r, n) || n >= out_size)
        return 0;
    memcpy(out, r, n);
    out[n] = '\0';
    return 1;
}

/* ---- client ---- */

/* Where requests go: the one endpoint resolver (explicit, AWS_ENDPOINT_URL_SQS,
 * services section, AWS_ENDPOINT_URL, profile); else the queue URL's host
 * (FIPS / dual-stack: AWS's endpoint of the region). scheme (8 bytes) may be
 * rewritten. */
static int resolve_endpoint(struct sqs_client *c, const struct sqs_config *cfg, char *scheme,
                            const char *host, const char *authority, struct err *e)
{
    char q[QUOTE_MAX + 4];
    char epbuf[AWSCFG_URL_MAX + 1];
    const char *ep_name = NULL;
    int k = awscfg_endpoint(AWSCFG_SQS, cfg->endpoint_url, c->region, epbuf, sizeof epbuf,
                            &ep_name, e);
    if (k < 0) {
        return err_prefix(e, "sqs: ");
    }
    const struct awscfg *ac = awscfg_get();
    const char *ep = k == 1 || ac->fips || ac->dualstack ? epbuf : NULL;
    if (!ep_name)
        ep_name = "endpoint";
    const char *path = "/";
    if (ep && ep[0]) {
        char eh[256];
        const char *epath;
        if (strlen(ep) > SQS_URL_MAX ||
            split_url(ep, scheme, 8, c->authority, sizeof c->authority, eh,
                      sizeof eh, &epath) < 0) {
            err_setk(e, ERR_USAGE, "sqs: %s \"%s\" is not an http(s)://HOST[:PORT][/PATH] URL",
                     ep_name, quote(ep, q));
            return -1;
        }
        if (epath[0])
            path = epath;
    } else if (strcmp(host, "queue.amazonaws.com") == 0 || ends_with(host, ".queue.amazonaws.com")) {
        /* legacy queue URL hosts: the JSON protocol goes to the regional endpoint */
        snprintf(scheme, 8, "https");
        if (awscfg_aws_host(AWSCFG_SQS, c->region, 0, 0, c->authority, sizeof c->authority) != 0) {
            err_setk(e, ERR_USAGE, "sqs: region \"%.64s\" gives no endpoint", c->region);
            return -1;
        }
    } else {
        snprintf(c->authority, sizeof c->authority, "%s", authority);
    }
    snprintf(c->endpoint, sizeof c->endpoint, "%s://%s", scheme, c->authority);
    snprintf(c->path, sizeof c->path, "%s", path);
    snprintf(c->request_url, sizeof c->request_url, "%s%s", c->endpoint, c->path);
    return 0;
}

struct sqs_client *sqs_client_new(const struct sqs_config *cfg, struct creds_provider *creds,
                                  struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (!cfg || !cfg->queue_url || !cfg->queue_url[0]) {
        err_setk(e, ERR_USAGE, "sqs: no queue URL");
        return NULL;
    }
    if (strlen(cfg->queue_url) > SQS_URL_MAX) {
        err_setk(e, ERR_USAGE, "sqs: queue URL \"%s\" is longer than %d bytes",
                 quote(cfg->queue_url, q), SQS_URL_MAX);
        return NULL;
    }
    if (!creds) {
        err_setk(e, ERR_USAGE, "sqs: no credentials provider");
        return NULL;
    }
    struct sqs_client *c = calloc(1, sizeof *c);
    if (!c) {
        err_set(e, "sqs: out of memory");
        return NULL;
    }
    snprintf(c->queue_url, sizeof c->queue_url, "%s", cfg->queue_url);
    quote(c->queue_url, c->queue_q);

    char scheme[8], host[256], authority[256];
    const char *qpath;
    if (split_url(c->queue_url, scheme, sizeof scheme, authority, sizeof authority, host,
                  sizeof host, &qpath) < 0 || strlen(qpath) < 2) {
        err_setk(e, ERR_USAGE,
                 "sqs: queue URL \"%s\" is not http(s)://HOST/ACCOUNT/QUEUE", c->queue_q);
        goto fail;
    }
    if (!sqs_region_from_host(host, c->region, sizeof c->region)) {
        const char *r = cfg->region && cfg->region[0] ? cfg->region : "us-east-1";
        if (!awscfg_region_ok(r) || strlen(r) >= sizeof c->region) {
            err_setk(e, ERR_USAGE, "sqs: region \"%s\" is not valid", quote(r, q));
            goto fail;
        }
        snprintf(c->region, sizeof c->region, "%s", r);
    }

    if (resolve_endpoint(c, cfg, scheme, host, authority, e) < 0)
        goto fail;

    c->max_attempts = cfg->max_attempts > 0           ? cfg->max_attempts
                      : awscfg_get()->max_attempts > 0 ? awscfg_get()->max_attempts
                                                       : DEFAULT_ATTEMPTS;
    c->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_MS;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->cancel = cfg->cancel;
    c->creds = creds;

    c->curl = awsreq_handle_new();
    if (!c->curl) {
        err_set(e, "sqs: cannot initialise libcurl");
        goto fail;
    }
    return c;
fail:
    sqs_client_free(c);
    return NULL;
}

void sqs_client_free(struct sqs_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    free(c);
}

const char *sqs_client_endpoint(const struct sqs_client *c) { return c->endpoint; }
const char *sqs_client_region(const struct sqs_client *c) { return c->region; }
const char *sqs_client_queue_url(const struct sqs_client *c) { return c->queue_url; }

void sqs_client_stats(const struct sqs_client *c, struct sqs_stats *out)
{
    *out = c->stats;
}

/* ---- errors ---- */

int sqs_parse_error(const char *json, size_t len, char *code, size_t code_size, char *msg,
                    size_t msg_size)
{
    code[0] = '\0';
    msg[0] = '\0';
    json_t *root = json_loadb(json, len, 0, NULL);
    if (!root)
        return -1;
    int rc = -1;
    json_t *t = json_object_get(root, "__type");
    if (!json_is_string(t))
        t = json_object_get(root, "code");
    if (json_is_string(t)) {
        const char *s = json_string_value(t);
        const char *h = strrchr(s, '#');
        snprintf(code, code_size, "%s", h ? h + 1 : s);
        rc = 0;
    }
    json_t *m = json_object_get(root, "message");
    if (!json_is_string(m))
        m = json_object_get(root, "Message");
    if (json_is_string(m))
        snprintf(msg, msg_size, "%s", json_string_value(m));
    json_decref(root);
    return rc;
}

int sqs_code_retryable(const char *code)
{
    static const char *codes[] = {
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException",
        "RequestThrottled", "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
        "ServiceUnavailable", "ServiceUnavailableException", "InternalError", "InternalFailure",
        "InternalServerError", "RequestTimeout", "RequestTimeoutException", "KmsThrottled",
        "KMSThrottlingException", "OverLimit", "ExpiredToken", "ExpiredTokenException",
        "RequestExpired", "IDPCommunicationError",
    };
    if (!code)
        return 0;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static int code_not_found(const char *code)
{
    return strcmp(code, "QueueDoesNotExist") == 0 ||
           strcmp(code, "AWS.SimpleQueueService.NonExistentQueue") == 0 ||
           strcmp(code, "NonExistentQueue") == 0;
}

/* ---- transport ---- */

static int cancelled(const struct sqs_client *c)
{
    return c->cancel && *c->cancel;
}

enum { OUT_OK, OUT_TRANSPORT, OUT_HTTP };

struct outcome {
    int  kind;          /* OUT_* */
    long status;        /* HTTP status for OUT_HTTP / OUT_OK */
    int  retryable;
    int  is_cancel;
    char what[512];     /* transport error text or "HTTP 400 Code: message" */
    char code[128];
};

static int attempt_result(const struct awsreq_answer *ans, struct outcome *out);

/* One signed POST (awsreq). The answer's body stays in *ans. */
static int attempt(struct sqs_client *c, const char *action, const char *body, size_t blen,
                   long extra_ms, struct awsreq_answer *ans, struct outcome *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    char target[64];
    snprintf(target, sizeof target, "AmazonSQS.%s", action);
    struct awsreq_header hs[2] = {
        {"x-amz-target", target},
        {"content-type", "application/x-amz-json-1.0"},
    };
    memset(ans, 0, sizeof *ans);
    struct creds cr;
    if (creds_provider_get(c->creds, &cr, e) < 0)
        return err_prefix(e, "sqs %s %s: credentials: ", action, c->queue_q);
    struct awsreq rq = {
        .curl = c->curl, .cr = &cr, .service = "sqs", .region = c->region,
        .method = "POST", .url = c->request_url, .host = c->authority, .path = c->path,
        .headers = hs, .n_headers = 2, .body = body, .body_len = blen,
        .connect_ms = c->connect_ms, .timeout_ms = c->timeout_ms + extra_ms,
        .max_answer = SQS_RESPONSE_MAX, .cancel = c->cancel,
    };
    c->stats.requests++;
    int rc = awsreq_once(&rq, ans, e);
    OPENSSL_cleanse(&cr, sizeof cr);
    if (rc < 0)
        return err_prefix(e, "sqs %s %s: ", action, c->queue_q);
    return attempt_result(ans, out);
}

static int attempt_result(const struct awsreq_answer *ans, struct outcome *out)
{
    char q[QUOTE_MAX + 4];
    if (ans->cc != CURLE_OK) {
        out->kind = OUT_TRANSPORT;
        if (ans->cancelled) {
            out->is_cancel = 1;
        } else if (ans->too_long) {
            snprintf(out->what, sizeof out->what, "response larger than %u bytes",
                     SQS_RESPONSE_MAX);
        } else {
            out->retryable = retry_curl_code(ans->cc);
            snprintf(out->what, sizeof out->what, "%s", quote(ans->error, q));
        }
        return 0;
    }
    out->status = ans->status;
    if (out->status == 200) {
        out->kind = OUT_OK;
        return 0;
    }
    out->kind = OUT_HTTP;
    char code[128], msg[512];
    if (ans->body.p && sqs_parse_error(ans->body.p, ans->body.len, code, sizeof code, msg,
                                       sizeof msg) == 0) {
        awsreq_redact(ans, msg);
        snprintf(out->code, sizeof out->code, "%s", code);
    } else {
        code[0] = msg[0] = '\0';
    }
    char qc[QUOTE_MAX + 4], qm[QUOTE_MAX + 4];
    if (code[0])
        fmt_trunc(out->what, sizeof out->what, "HTTP %ld %s: %s", out->status, quote(code, qc),
                  quote(msg, qm));
    else
        fmt_trunc(out->what, sizeof out->what, "HTTP %ld", out->status);
    out->retryable = out->status >= 500 || out->status == 429 || sqs_code_retryable(code);
    return 0;
}

/* One call over its attempts (retry_run's ud). */
struct call_run {
    struct sqs_client *c;
    const char *action, *body;
    size_t blen;
    int wait_s;
    struct awsreq_answer ans;
    struct outcome o;
    json_t *resp;
    int hard;           /* an error that is not the answer's (e set) */
    struct err *e;
};

static int call_try(void *ud, int att, struct retry_verdict *v)
{
    (void)att;
    struct call_run *r = ud;
    memset(&r->o, 0, sizeof r->o);
    if (cancelled(r->c)) {
        r->o.is_cancel = 1;
        return -1;
    }
    awsreq_answer_free(&r->ans);
    if (attempt(r->c, r->action, r->body, r->blen, (long)r->wait_s * 1000, &r->ans, &r->o,
                r->e) < 0) {
        r->hard = 1;
        return -1;
    }
    if (r->o.is_cancel)
        return -1;
    if (r->o.kind == OUT_OK) {
        json_error_t je;
        r->resp = r->ans.body.p ? json_loadb(r->ans.body.p, r->ans.body.len, 0, &je) : NULL;
        if (r->resp && json_is_object(r->resp))
            return 0;
        json_decref(r->resp);
        r->resp = NULL;
        /* a cut or garbled answer: retry as a transport error */
        snprintf(r->o.what, sizeof r->o.what,
                 "HTTP 200 with a response that is not a JSON object");
        r->o.retryable = 1;
    }
    v->retryable = r->o.retryable;
    v->throttled = r->o.status == 429 || strstr(r->o.code, "Throttl") != NULL;
    v->why = r->o.what;
    return -1;
}

/* Sends `req` (adds QueueUrl; takes the reference) as `action`, retrying;
 * on success *resp is the parsed JSON object (caller decrefs). */
static int call(struct sqs_client *c, const char *action, json_t *req, int wait_s,
                json_t **resp, struct err *e)
{
    *resp = NULL;
    if (!req)
        return err_set(e, "sqs %s %s: out of memory", action, c->queue_q);
    if (json_object_set_new(req, "QueueUrl", json_string(c->queue_url)) < 0) {
        json_decref(req);
        return err_set(e, "sqs %s %s: out of memory", action, c->queue_q);
    }
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!body)
        return err_set(e, "sqs %s %s: cannot encode the request (invalid UTF-8?)", action,
                       c->queue_q);
    struct call_run r = {.c = c, .action = action, .body = body, .blen = strlen(body),
                         .wait_s = wait_s, .e = e};
    char what[512];
    snprintf(what, sizeof what, "sqs %s %s", action, c->queue_q);
    struct retry_policy pol;
    awsreq_retry_policy(&pol, c->max_attempts, BACKOFF_BASE_MS, BACKOFF_CAP_MS, c->cancel, what);
    /* sqs_client_new resolved it already: the config's, else AWS's, else 6 */
    pol.max_attempts = c->max_attempts;
    int retries = 0;
    int rc = retry_run(&pol, call_try, &r, &retries, NULL);
    c->stats.retries += retries;
    if (rc == 0) {
        *resp = r.resp;
    } else if (r.hard) {
        /* e says it */
    } else if (r.o.is_cancel || cancelled(c)) {
        err_setk(e, ERR_CANCELLED, "sqs %s %s: cancelled", action, c->queue_q);
    } else if (r.o.retryable) {
        err_setk(e, ERR_TRANSIENT, "sqs %s %s: %s (after %d attempts)", action, c->queue_q,
                 r.o.what, retries + 1);
    } else {
        err_setk(e, code_not_found(r.o.code) ? ERR_NOT_FOUND : ERR_GENERIC, "sqs %s %s: %s",
                 action, c->queue_q, r.o.what);
    }
    awsreq_answer_free(&r.ans);
    free(body);
    return rc;
}

/* ---- response helpers ---- */

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void sqs_messages_free(struct sqs_messages *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->v[i].message_id);
        free(m->v[i].receipt_handle);
        free(m->v[i].body);
    }
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

int sqs_receive(struct sqs_client *c, const struct sqs_receive_opts *o, struct sqs_messages *out,
                struct err *e)
{
    out->v = NULL;
    out->n = 0;
    int max = o && o->max_messages ? o->max_messages : SQS_BATCH_MAX;
    int wait = o ? o->wait_seconds : 0;
    int vis = o ? o->visibility_timeout : -1;
    if (max < 1 || max > SQS_BATCH_MAX || wait < 0 || wait > 20 || vis < -1 || vis > 43200)
        return err_setk(e, ERR_USAGE,
                        "sqs ReceiveMessage %s: MaxNumberOfMessages %d (1..10), WaitTimeSeconds "
                        "%d (0..20), VisibilityTimeout %d (0..43200)",
                        c->queue_q, max, wait, vis);
    json_t *req = json_object();
    if (req) {
        json_object_set_new(req, "MaxNumberOfMessages", json_integer(max));
        json_object_set_new(req, "WaitTimeSeconds", json_integer(wait));
        if (vis >= 0)
            json_object_set_new(req, "VisibilityTimeout", json_integer(vis));
        if (o && o->want_attributes) {
            /* the current name and the older one, for SQS-compatible servers */
            json_object_set_new(req, "MessageSystemAttributeNames",
                                json_pack("[ss]", "ApproximateReceiveCount", "SentTimestamp"));
            json_object_set_new(req, "AttributeNames",
                                json_pack("[ss]", "ApproximateReceiveCount", "SentTimestamp"));
        }
    }
    json_t *resp;
    if (call(c, "ReceiveMessage", req, wait, &resp, e) < 0)
        return -1;

    int rc = -1;
    json_t *msgs = json_object_get(resp, "Messages");
    if (!msgs || json_is_null(msgs)) {
        rc = 0;
        goto out;
    }
    if (!json_is_array(msgs)) {
        err_set(e, "sqs ReceiveMessage %s: Messages is not an array", c->queue_q);
        goto out;
    }
    size_t n = json_array_size(msgs);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v) {
        err_set(e, "sqs ReceiveMessage %s: out of memory", c->queue_q);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        const char *id = jstr(m, "MessageId"), *rh = jstr(m, "ReceiptHandle");
        json_t *bodyv = json_object_get(m, "Body");
        if (!id || !rh || !json_is_string(bodyv)) {
            err_set(e, "sqs ReceiveMessage %s: message %zu lacks MessageId, ReceiptHandle or Body",
                    c->queue_q, i);
            goto out;
        }
        char qi[QUOTE_MAX + 4];
        const char *body = json_string_value(bodyv);
        size_t blen = json_string_length(bodyv);
        const char *md5 = jstr(m, "MD5OfBody");
        if (md5) {
            char got[33];
            md5_hex(body, blen, got);
            if (strcasecmp(got, md5) != 0) {
                err_set(e, "sqs ReceiveMessage %s: message %s: MD5 of the body is %s, SQS says %s",
                        c->queue_q, quote(id, qi), got, quote(md5, qi));
                goto out;
            }
        }
        struct sqs_message *sm = &out->v[out->n];
        sm->message_id = strdup(id);
        sm->receipt_handle = strdup(rh);
        sm->body = malloc(blen + 1);
        out->n++;
        if (!sm->message_id || !sm->receipt_handle || !sm->body) {
            err_set(e, "sqs ReceiveMessage %s: out of memory", c->queue_q);
            goto out;
        }
        memcpy(sm->body, body, blen);
        sm->body[blen] = '\0';
        sm->body_len = blen;
        json_t *attrs = json_object_get(m, "Attributes");
        if (json_is_object(attrs)) {
            const char *rcnt = jstr(attrs, "ApproximateReceiveCount");
            const char *sent = jstr(attrs, "SentTimestamp");
            if (rcnt)
                sm->receive_count = (int)strtol(rcnt, NULL, 10);
            if (sent)
                sm->sent_ms = strtoll(sent, NULL, 10);
        }
    }
    rc = 0;
out:
    json_decref(resp);
    if (rc < 0)
        sqs_messages_free(out);
    return rc;
}

int sqs_parse_batch_result(const char *json, size_t len, size_t n, struct sqs_batch_result *res,
                           struct err *e)
{
    memset(res, 0, sizeof *res);
    if (n > SQS_BATCH_MAX)
        return err_setk(e, ERR_USAGE, "batch of %zu entries (at most %d)", n, SQS_BATCH_MAX);
    res->n = n;
    for (size_t i = 0; i < n; i++)
        snprintf(res->entry[i].code, sizeof res->entry[i].code, "NoResult");
    json_t *root = json_loadb(json, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return err_set(e, "batch response is not a JSON object");
    }
    static const char *lists[] = {"Successful", "Failed"};
    for (int l = 0; l < 2; l++) {
        json_t *arr = json_object_get(root, lists[l]);
        size_t i;
        json_t *it;
        if (arr && !json_is_array(arr) && !json_is_null(arr)) {
            json_decref(root);
            return err_set(e, "batch response: %s is not an array", lists[l]);
        }
        json_array_foreach(arr, i, it) {
            const char *id = jstr(it, "Id");
            char *end;
            if (!id || !*id)
                continue;
            unsigned long k = strtoul(id, &end, 10);
            if (*end || k >= n)
                continue;
            struct sqs_entry_result *r = &res->entry[k];
            r->ok = l == 0;
            r->code[0] = r->message[0] = '\0';
            if (l == 1) {
                char q[QUOTE_MAX + 4];
                json_t *sf = json_object_get(it, "SenderFault");
                r->sender_fault = json_is_true(sf);
                fmt_trunc(r->code, sizeof r->code, "%s", quote(jstr(it, "Code"), q));
                fmt_trunc(r->message, sizeof r->message, "%s", quote(jstr(it, "Message"), q));
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (res->entry[i].ok)
            res->n_ok++;
        else
            res->n_failed++;
    }
    json_decref(root);
    return 0;
}

/* Entries [{Id:"0", ReceiptHandle, (VisibilityTimeout)}, ...] */
static json_t *batch_entries(const char *const *handles, size_t n, int seconds)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        char id[24];
        snprintf(id, sizeof id, "%zu", i);
        json_t *it = json_pack("{s:s,s:s}", "Id", id, "ReceiptHandle", handles[i]);
        if (it && seconds >= 0)
            json_object_set_new(it, "VisibilityTimeout", json_integer(seconds));
        if (!it || json_array_append_new(arr, it) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int batch_call(struct sqs_client *c, const char *action, const char *const *handles,
                      size_t n, int seconds, struct sqs_batch_result *res, struct err *e)
{
    memset(res, 0, sizeof *res);
    if (n < 1 || n > SQS_BATCH_MAX)
        return err_setk(e, ERR_USAGE, "sqs %s %s: %zu entries (1..%d)", action, c->queue_q, n,
                        SQS_BATCH_MAX);
    for (size_t i = 0; i < n; i++)
        if (!handles[i] || !handles[i][0])
            return err_setk(e, ERR_USAGE, "sqs %s %s: entry %zu has no receipt handle", action,
                            c->queue_q, i);
    json_t *req = json_object();
    json_t *entries = batch_entries(handles, n, seconds);
    if (req && entries)
        json_object_set_new(req, "Entries", entries);
    else {
        json_decref(req);
        json_decref(entries);
        req = NULL;
    }
    json_t *resp;
    if (call(c, action, req, 0, &resp, e) < 0)
        return -1;
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    if (!text)
        return err_set(e, "sqs %s %s: out of memory", action, c->queue_q);
    int rc = sqs_parse_batch_result(text, strlen(text), n, res, e);
    free(text);
    if (rc < 0)
        return err_prefix(e, "sqs %s %s: ", action, c->queue_q);
    return 0;
}

int sqs_delete_batch(struct sqs_client *c, const char *const *receipt_handles, size_t n,
                     struct sqs_batch_result *res, struct err *e)
{
    return batch_call(c, "DeleteMessageBatch", receipt_handles, n, -1, res, e);
}

int sqs_change_visibility_batch(struct sqs_client *c, const char *const *receipt_handles,
                                size_t n, int seconds, struct sqs_batch_result *res,
                                struct err *e)
{
    if (seconds < 0 || seconds > 43200)
        return err_setk(e, ERR_USAGE, "sqs ChangeMessageVisibilityBatch %s: VisibilityTimeout %d "
                        "(0..43200)", c->queue_q, seconds);
    return batch_call(c, "ChangeMessageVisibilityBatch", receipt_handles, n, seconds, res, e);
}

int sqs_delete(struct sqs_client *c, const char *receipt_handle, struct err *e)
{
    if (!receipt_handle || !receipt_handle[0])
        return err_setk(e, ERR_USAGE, "sqs DeleteMessage %s: no receipt handle", c->queue_q);
    json_t *resp;
    if (call(c, "DeleteMessage", json_pack("{s:s}", "ReceiptHandle", receipt_handle), 0, &resp,
             e) < 0)
        return -1;
    json_decref(resp);
    return 0;
}

int sqs_change_visibility(struct sqs_client *c, const char *receipt_handle, int seconds,
                          struct err *e)
{
    if (!receipt_handle || !receipt_handle[0] || seconds < 0 || seconds > 43200)
        return err_setk(e, ERR_USAGE, "sqs ChangeMessageVisibility %s: needs a receipt handle and "
                        "0..43200 seconds (got %d)", c->queue_q, seconds);
    json_t *resp;
    if (call(c, "ChangeMessageVisibility",
             json_pack("{s:s,s:i}", "ReceiptHandle", receipt_handle, "VisibilityTimeout", seconds),
             0, &resp, e) < 0)
        return -1;
    json_decref(resp);
    return 0;
}

int sqs_send(struct sqs_client *c, const char *body, size_t len, int delay_seconds,
             char *id_out, size_t id_size, struct err *e)
{
    if (id_out && id_size)
        id_out[0] = '\0';
    if (len == 0 || len > SEND_MAX)
        return err_setk(e, ERR_USAGE, "sqs SendMessage %s: body of %zu bytes (1..%d)", c->queue_q,
                        len, SEND_MAX);
    if (delay_seconds < 0 || delay_seconds > 900)
        return err_setk(e, ERR_USAGE, "sqs SendMessage %s: DelaySeconds %d (0..900)", c->queue_q,
                        delay_seconds);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)body[i];
        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
            return err_setk(e, ERR_USAGE, "sqs SendMessage %s: control character 0x%02x at byte "
                            "%zu (SQS does not allow it)", c->queue_q, ch, i);
    }
    json_t *bv = json_stringn(body, len);
    if (!bv)
        return err_setk(e, ERR_USAGE, "sqs SendMessage %s: body is not valid UTF-8", c->queue_q);
    json_t *req = json_object();
    if (req) {
        json_object_set_new(req, "MessageBody", bv);
        if (delay_seconds)
            json_object_set_new(req, "DelaySeconds", json_integer(delay_seconds));
    } else {
        json_decref(bv);
    }
    json_t *resp;
    if (call(c, "SendMessage", req, 0, &resp, e) < 0)
        return -1;
    int rc = 0;
    const char *id = jstr(resp, "MessageId"), *md5 = jstr(resp, "MD5OfMessageBody");
    char got[33];
    md5_hex(body, len, got);
    if (!id) {
        rc = err_set(e, "sqs SendMessage %s: no MessageId in the response", c->queue_q);
    } else if (md5 && strcasecmp(md5, got) != 0) {
        char q[QUOTE_MAX + 4];
        rc = err_set(e, "sqs SendMessage %s: MD5 of the body is %s, SQS says %s", c->queue_q, got,
                     quote(md5, q));
    } else if (id_out && id_size) {
        snprintf(id_out, id_size, "%s", id);
    }
    json_decref(resp);
    return rc;
}

static long long attr_num(json_t *attrs, const char *k, long long dflt)
{
    const char *s = jstr(attrs, k);
    if (!s)
        return dflt;
    char *end;
    long long v = strtoll(s, &end, 10);
    return (*s && !*end) ? v : dflt;
}

int sqs_get_attributes(struct sqs_client *c, struct sqs_queue_attrs *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    out->visibility_timeout = -1;
    out->receive_wait = -1;
    json_t *resp;
    if (call(c, "GetQueueAttributes", json_pack("{s:[s]}", "AttributeNames", "All"), 0, &resp,
             e) < 0)
        return -1;
    json_t *a = json_object_get(resp, "Attributes");
    if (!json_is_object(a)) {
        json_decref(resp);
        return err_set(e, "sqs GetQueueAttributes %s: no Attributes in the response", c->queue_q);
    }
    out->visible = attr_num(a, "ApproximateNumberOfMessages", 0);
    out->not_visible = attr_num(a, "ApproximateNumberOfMessagesNotVisible", 0);
    out->delayed = attr_num(a, "ApproximateNumberOfMessagesDelayed", 0);
    out->visibility_timeout = (int)attr_num(a, "VisibilityTimeout", -1);
    out->receive_wait = (int)attr_num(a, "ReceiveMessageWaitTimeSeconds", -1);
    const char *arn = jstr(a, "QueueArn");
    if (arn)
        snprintf(out->queue_arn, sizeof out->queue_arn, "%s", arn);
    const char *rp = jstr(a, "RedrivePolicy");
    if (rp) {
        json_t *p = json_loads(rp, 0, NULL);
        const char *dl = jstr(p, "deadLetterTargetArn");
        if (dl)
            snprintf(out->dead_letter_arn, sizeof out->dead_letter_arn, "%s", dl);
        json_t *mr = json_object_get(p, "maxReceiveCount");
        if (json_is_integer(mr))
            out->max_receive_count = (int)json_integer_value(mr);
        else if (json_is_string(mr))
            out->max_receive_count = atoi(json_string_value(mr));
        json_decref(p);
    }
    json_decref(resp);
    return 0;
}
