/* assoc_load: the two sources of the associated set (S3 asset metadata, the
 * SiteWise ListTimeSeries API); see assoc.h. */
#include "assoc.h"
#include "awscfg.h"
#include "awsreq.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <strings.h>
#include <time.h>

#include "coldkey.h"
#include "config.h"
#include "creds.h"
#include "pool.h"
#include "retry.h"
#include "s3.h"
#include "sigv4.h"

/* ---- metadata source ---------------------------------------------------- */

struct md_job;

struct md_task {
    struct md_job *job;
    const char *key;
    long long size;
    struct assoc_set set;
    struct err err;
    int rc;           /* 0 ok, 1 vanished (404), -1 error, 2 not run */
};

struct md_job {
    struct s3_client *s3;
    const char *bucket;
    atomic_int stop;
    struct waitgroup wg;
};

static void md_fetch(struct md_task *t)
{
    struct md_job *job = t->job;
    if (atomic_load(&job->stop)) {
        t->rc = 2;
        return;
    }
    if (t->size > ASSOC_OBJECT_MAX) {
        t->rc = err_setk(&t->err, ERR_DATA, "s3://%s/%s: %lld bytes, more than the %d an asset "
                         "metadata object may have", job->bucket, t->key, t->size,
                         ASSOC_OBJECT_MAX);
        return;
    }
    struct bytebuf b = {0};
    if (s3_get_buffer(job->s3, job->bucket, t->key, ASSOC_OBJECT_MAX, &b, NULL, &t->err) < 0) {
        if (t->err.kind == ERR_NOT_FOUND) {
            t->rc = 1;   /* deleted since the listing (asset deleted): nothing to take */
        } else {
            err_prefix(&t->err, "asset metadata: ");
            t->rc = -1;
        }
    } else if (b.len > ASSOC_OBJECT_MAX) {
        t->rc = err_setk(&t->err, ERR_DATA, "s3://%s/%s: more than %d bytes", job->bucket, t->key,
                         ASSOC_OBJECT_MAX);
    } else {
        char name[COLDKEY_KEY_MAX + 300];
        snprintf(name, sizeof name, "s3://%s/%s", job->bucket, t->key);
        t->rc = assoc_parse_ndjson(b.data, b.len, name, &t->set, &t->err) < 0 ? -1 : 0;
    }
    bytebuf_free(&b);
}

static void md_task_run(void *arg)
{
    struct md_task *t = arg;
    md_fetch(t);
    if (t->rc < 0)
        atomic_store(&t->job->stop, 1);
    waitgroup_done(&t->job->wg);
}

/* asset_<something>.ndjson directly under prefix. */
static int is_asset_key(const char *key, size_t prefix_len)
{
    const char *f = key + prefix_len;
    size_t n = strlen(f);
    return strncmp(f, "asset_", 6) == 0 && n > 6 + 7 && strcmp(f + n - 7, ".ndjson") == 0 &&
           !strchr(f, '/');
}

static int list_metadata(struct s3_client *s3, const char *bucket, const char *prefix,
                         struct s3_object_list *objs, struct err *e)
{
    struct s3_object_list all = {0};
    if (s3_list(s3, bucket, prefix, &all, e) < 0) {
        s3_object_list_free(&all);
        return err_prefix(e, "asset metadata: listing s3://%s/%s: ", bucket, prefix);
    }
    size_t plen = strlen(prefix);
    size_t k = 0;
    for (size_t i = 0; i < all.n; i++) {
        if (is_asset_key(all.items[i].key, plen))
            all.items[k++] = all.items[i];
        else
            free(all.items[i].key);
    }
    all.n = k;
    *objs = all;
    return 0;
}

int assoc_load_metadata(struct s3_client *s3, const char *bucket, const char *data_prefix,
                        struct pool *pool, struct assoc_set *out, struct err *e)
{
    char prefix[ASSOC_PREFIX_MAX];
    if (assoc_metadata_prefix(prefix, sizeof prefix, data_prefix) < 0)
        return err_setk(e, ERR_USAGE, "asset metadata: data prefix too long");
    struct s3_object_list objs = {0};
    if (list_metadata(s3, bucket, prefix, &objs, e) < 0)
        return -1;
    if (objs.n == 0 && strcmp(prefix, "asset_metadata/") != 0) {
        s3_object_list_free(&objs);
        if (list_metadata(s3, bucket, "asset_metadata/", &objs, e) < 0)
            return -1;
    }
    if (objs.n == 0) {
        s3_object_list_free(&objs);
        if (strcmp(prefix, "asset_metadata/") != 0)
            return err_setk(e, ERR_USAGE, "asset metadata: no asset_*.ndjson object under "
                            "s3://%s/%s nor s3://%s/asset_metadata/ (needed by timeseries_type; "
                            "check s3.cold_tier.data_prefix, or set timeseries_source: api)",
                            bucket, prefix, bucket);
        return err_setk(e, ERR_USAGE, "asset metadata: no asset_*.ndjson object under "
                        "s3://%s/%s (needed by timeseries_type; check "
                        "s3.cold_tier.data_prefix, or set timeseries_source: api)", bucket, prefix);
    }

    struct md_task *tasks = calloc(objs.n, sizeof *tasks);
    if (!tasks) {
        s3_object_list_free(&objs);
        return err_set(e, "out of memory");
    }
    struct md_job job = {.s3 = s3, .bucket = bucket};
    atomic_init(&job.stop, 0);
    waitgroup_init(&job.wg);
    for (size_t i = 0; i < objs.n; i++) {
        tasks[i].job = &job;
        tasks[i].key = objs.items[i].key;
        tasks[i].size = objs.items[i].size;
        tasks[i].rc = 2;
    }
    for (size_t i = 0; i < objs.n; i++) {
        waitgroup_add(&job.wg, 1);
        if (!pool || pool_submit(pool, md_task_run, &tasks[i]) < 0)
            md_task_run(&tasks[i]);   /* no pool (or shutting down): here and now */
    }
    waitgroup_wait(&job.wg);
    waitgroup_destroy(&job.wg);

    /* The first failing object in key order, so that the message is stable. */
    int rc = 0;
    for (size_t i = 0; i < objs.n && rc == 0; i++) {
        if (tasks[i].rc < 0) {
            if (e)
                *e = tasks[i].err;
            rc = -1;
        }
    }
    struct assoc_set set = {0};
    for (size_t i = 0; i < objs.n; i++) {
        if (rc == 0 && tasks[i].rc == 0) {
            if (assoc_set_move(&set, &tasks[i].set, e) < 0)
                rc = -1;
            else
                set.sources++;
        }
        assoc_set_free(&tasks[i].set);
    }
    free(tasks);
    s3_object_list_free(&objs);
    if (rc < 0) {
        assoc_set_free(&set);
        return -1;
    }
    assoc_set_sort(&set);
    *out = set;
    return 0;
}

/* ---- API source --------------------------------------------------------- */

#define API_MAX_RETRIES  8
#define API_BASE_MS      250
#define API_CAP_MS       20000
#define API_MAX_PAGES    1000000

static void api_error_text(const struct awsreq_answer *r, char *type, size_t tsize, char *msg,
                           size_t msize)
{
    snprintf(type, tsize, "%s", r->errtype);
    msg[0] = '\0';
    json_t *j = r->body.p ? json_loadb(r->body.p, r->body.len, 0, NULL) : NULL;
    if (json_is_object(j)) {
        if (!type[0]) {
            const char *t = json_string_value(json_object_get(j, "__type"));
            if (!t)
                t = json_string_value(json_object_get(j, "code"));
            if (t) {
                const char *h = strrchr(t, '#');
                snprintf(type, tsize, "%s", h ? h + 1 : t);
            }
        }
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m)
            m = json_string_value(json_object_get(j, "Message"));
        if (m) {
            if ((r->akid[0] && strstr(m, r->akid)) || (r->token[0] && strstr(m, r->token)) ||
                strstr(m, "Signature="))
                snprintf(msg, msize, "(message withheld: it quotes the request's credentials)");
            else
                snprintf(msg, msize, "%s", m);
        }
    }
    json_decref(j);
    for (char *p = type; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.')
            *p = '?';
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            *p = ' ';
    if (strlen(msg) > 300)
        strcpy(msg + 297, "...");
}

static int throttle_type(const char *t)
{
    return strcmp(t, "ThrottlingException") == 0 || strcmp(t, "Throttling") == 0 ||
           strcmp(t, "TooManyRequestsException") == 0 || strcmp(t, "RequestLimitExceeded") == 0 ||
           strcmp(t, "ProvisionedThroughputExceededException") == 0;
}

struct api_ctx {
    CURL *h;
    char endpoint[CONFIG_URL_MAX + 1];
    char origin[CONFIG_URL_MAX + 1];   /* scheme://host[:port] */
    const char *host;                  /* host[:port] inside origin */
    char base_path[CONFIG_URL_MAX + 1];/* "" or "/some/path" */
    const char *region;
    struct creds_provider *creds;
};

/* One attempt of a ListTimeSeries call (a retry_try_fn). */
struct api_try {
    struct awsreq *rq;
    struct creds_provider *creds;
    int page;
    struct strbuf *body;    /* the 200 answer's body */
    char what[600];         /* the last failure */
    int hard;               /* a failure stated in e */
    struct err *e;
};

static int api_try(void *ud, int att, struct retry_verdict *v)
{
    (void)att;
    struct api_try *t = ud;
    struct awsreq_answer r;
    struct creds cr;
    if (creds_provider_get(t->creds, &cr, t->e) < 0) {
        t->hard = 1;
        return err_prefix(t->e, "iotsitewise ListTimeSeries: credentials: ");
    }
    t->rq->cr = &cr;
    int sent = awsreq_once(t->rq, &r, t->e);
    OPENSSL_cleanse(&cr, sizeof cr);
    t->rq->cr = NULL;
    if (sent < 0) {
        awsreq_answer_free(&r);
        t->hard = 1;
        return err_prefix(t->e, "iotsitewise ListTimeSeries: ");
    }
    if (r.cc == CURLE_OK && r.status == 200) {
        *t->body = r.body;
        memset(&r.body, 0, sizeof r.body);
        awsreq_answer_free(&r);
        return 0;
    }
    if (r.cc != CURLE_OK && r.too_long) {
        awsreq_answer_free(&r);
        t->hard = 1;
        return err_setk(t->e, ERR_DATA, "iotsitewise ListTimeSeries (page %d): response larger "
                        "than %d bytes", t->page, ASSOC_PAGE_MAX);
    }
    if (r.cc != CURLE_OK) {
        v->retryable = retry_curl_code(r.cc);
        snprintf(t->what, sizeof t->what, "%s", r.error);
    } else {
        char type[128], msg[320];
        api_error_text(&r, type, sizeof type, msg, sizeof msg);
        v->throttled = r.status == 429 || throttle_type(type);
        v->retryable = r.status == 408 || r.status >= 500 || v->throttled;
        snprintf(t->what, sizeof t->what, "HTTP %ld%s%s%s%s", r.status, type[0] ? " " : "", type,
                 msg[0] ? ": " : "", msg);
    }
    v->why = t->what;
    awsreq_answer_free(&r);
    return -1;
}

/* One ListTimeSeries call (with its retries). *body receives the 200 body
 * (caller frees: strbuf_free). */
static int api_call(struct api_ctx *a, const char *token, int page, struct strbuf *body,
                    struct err *e)
{
    char *enc = NULL;
    if (token) {
        enc = sigv4_uri_encode(token, strlen(token), 0);
        if (!enc)
            return err_set(e, "out of memory");
    }
    size_t qcap = 128 + (enc ? strlen(enc) : 0);
    char *query = malloc(qcap);
    size_t pcap = strlen(a->base_path) + 16;
    char *path = malloc(pcap);
    size_t ucap = strlen(a->origin) + pcap + qcap + 2;
    char *url = malloc(ucap);
    int rc = -1;
    if (!query || !path || !url) {
        err_set(e, "out of memory");
        goto out;
    }
    snprintf(query, qcap, "maxResults=250%s%s&timeSeriesType=ASSOCIATED", enc ? "&nextToken=" : "",
             enc ? enc : "");
    snprintf(path, pcap, "%s/timeseries/", a->base_path);
    snprintf(url, ucap, "%s%s?%s", a->origin, path, query);
    const struct awsreq_header accept = {"accept", "application/json"};
    struct awsreq rq = {
        .curl = a->h, .service = "iotsitewise", .region = a->region,
        .method = "GET", .url = url, .host = a->host, .path = path, .query = query,
        .headers = &accept, .n_headers = 1, .connect_ms = 10000, .timeout_ms = 120000,
        .low_speed_secs = 30, .max_answer = ASSOC_PAGE_MAX,
    };
    struct api_try t = {.rq = &rq, .creds = a->creds, .page = page, .body = body, .e = e};
    char what[64];
    snprintf(what, sizeof what, "iotsitewise ListTimeSeries (page %d)", page);
    struct retry_policy pol;
    awsreq_retry_policy(&pol, API_MAX_RETRIES + 1, API_BASE_MS, API_CAP_MS, NULL, what);
    struct retry_verdict last;
    int retries = 0;
    rc = retry_run(&pol, api_try, &t, &retries, &last);
    if (rc != 0 && !t.hard && last.retryable)
        err_setk(e, ERR_TRANSIENT, "%s: %s (gave up after %d attempts)", what, t.what,
                 retries + 1);
    else if (rc != 0 && !t.hard)
        err_setk(e, ERR_GENERIC, "%s: %s", what, t.what);
out:
    free(enc);
    free(query);
    free(path);
    free(url);
    return rc;
}

int assoc_load_api(const char *region, struct creds_provider *creds, struct assoc_set *out,
                   struct err *e)
{
    if (!creds)
        return err_setk(e, ERR_USAGE, "iotsitewise ListTimeSeries: no credentials provider");
    struct api_ctx a = {.region = (region && *region) ? region : "us-east-1", .creds = creds};
    if (assoc_api_endpoint(a.endpoint, sizeof a.endpoint, a.region, e) < 0)
        return err_prefix(e, "iotsitewise ListTimeSeries: ");
    /* split scheme://host[:port] from an optional path */
    const char *hs = strstr(a.endpoint, "://") + 3;
    const char *ps = strchr(hs, '/');
    size_t olen = ps ? (size_t)(ps - a.endpoint) : strlen(a.endpoint);
    memcpy(a.origin, a.endpoint, olen);
    a.origin[olen] = '\0';
    a.host = a.origin + (hs - a.endpoint);
    snprintf(a.base_path, sizeof a.base_path, "%s", ps ? ps : "");

    a.h = awsreq_handle_new();
    if (!a.h)
        return err_set(e, "iotsitewise ListTimeSeries: cannot initialise libcurl");
    struct assoc_set set = {0};
    char *token = NULL;
    int rc = -1;
    for (int page = 1;; page++) {
        if (page > API_MAX_PAGES) {
            err_setk(e, ERR_DATA, "iotsitewise ListTimeSeries: more than %d pages",
                     API_MAX_PAGES);
            goto done;
        }
        struct strbuf body = {0};
        if (api_call(&a, token, page, &body, e) < 0)
            goto done;
        char *next = NULL;
        int prc = assoc_parse_api_page(body.p, body.len, &next, &set, e);
        strbuf_free(&body);
        if (prc < 0) {
            err_prefix(e, "iotsitewise ListTimeSeries (page %d): ", page);
            goto done;
        }
        set.sources++;
        if (next && token && strcmp(next, token) == 0) {
            free(next);
            err_setk(e, ERR_DATA, "iotsitewise ListTimeSeries (page %d): the same nextToken "
                     "again", page);
            goto done;
        }
        free(token);
        token = next;
        if (!token)
            break;
    }
    rc = 0;
done:
    free(token);
    curl_easy_cleanup(a.h);
    if (rc < 0) {
        assoc_set_free(&set);
        return -1;
    }
    assoc_set_sort(&set);
    *out = set;
    return 0;
}

/* ---- entry point -------------------------------------------------------- */

int assoc_load(const struct config *cfg, struct s3_client *s3, struct creds_provider *creds,
               struct pool *pool, struct assoc_set *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (cfg->timeseries_type == CONFIG_TS_ALL)
        return 0;
    if (cfg->timeseries_source == CONFIG_TSSRC_API)
        return assoc_load_api(cfg->s3.region, creds, out, e);
    if (!s3)
        return err_setk(e, ERR_USAGE, "asset metadata: no S3 client");
    return assoc_load_metadata(s3, cfg->s3.cold_tier.bucket_name, cfg->s3.cold_tier.data_prefix,
                               pool, out, e);
}
