#include "awsreq.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "awscfg.h"
#include "sigv4.h"

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

/* The request's header lines, signed; NULL when out of memory. */
static struct curl_slist *signed_headers(const struct awsreq *rq, const struct creds *cr,
                                         struct err *e)
{
    char date[17], hash[65];
    sigv4_amz_date((long long)time(NULL), date);
    sigv4_sha256_hex(rq->body ? rq->body : "", rq->body ? rq->body_len : 0, hash);
    struct sigv4_header sh[12];
    size_t n = 0;
    sh[n++] = (struct sigv4_header){"host", rq->host};
    sh[n++] = (struct sigv4_header){"x-amz-date", date};
    for (size_t i = 0; i < rq->n_headers && n < 11; i++)
        sh[n++] = (struct sigv4_header){rq->headers[i].name, rq->headers[i].value};
    if (cr->session_token[0])
        sh[n++] = (struct sigv4_header){"x-amz-security-token", cr->session_token};
    struct sigv4_request sr_rq = {rq->method, rq->path, rq->query, sh, n, hash};
    struct sigv4_key key = {cr->access_key, cr->secret_key, rq->region, rq->service, date, 1};
    struct sigv4_result sr = {0};
    if (sigv4_sign(&sr_rq, &key, &sr, e) < 0) {
        err_prefix(e, "signing: ");
        return NULL;
    }
    struct curl_slist *hl = NULL;
    int ok = 1;
    char line[4400];
    for (size_t i = 0; i < n + 1 && ok; i++) {
        if (i < n)
            snprintf(line, sizeof line, "%s: %s", sh[i].name, sh[i].value);
        else
            snprintf(line, sizeof line, "Authorization: %s", sr.authorization);
        struct curl_slist *t = curl_slist_append(hl, line);
        if (!t)
            ok = 0;
        else
            hl = t;
    }
    static const char *const fixed[] = {"Expect:", "User-Agent: repart/" REPART_VERSION};
    for (size_t i = 0; i < 2 && ok; i++) {
        struct curl_slist *t = curl_slist_append(hl, fixed[i]);
        if (!t)
            ok = 0;
        else
            hl = t;
    }
    OPENSSL_cleanse(line, sizeof line);
    sigv4_result_free(&sr);
    if (!ok) {
        curl_slist_free_all(hl);
        err_set(e, "out of memory");
        return NULL;
    }
    return hl;
}

int awsreq_once(const struct awsreq *rq, struct awsreq_answer *ans, struct err *e)
{
    memset(ans, 0, sizeof *ans);
    struct creds cr;
    if (creds_provider_get(rq->creds, &cr, e) < 0)
        return err_prefix(e, "credentials: ");
    struct curl_slist *hl = signed_headers(rq, &cr, e);
    snprintf(ans->akid, sizeof ans->akid, "%s", cr.access_key);
    snprintf(ans->token, sizeof ans->token, "%s", cr.session_token);
    OPENSSL_cleanse(&cr, sizeof cr);
    if (!hl)
        return -1;
    CURL *h = rq->curl;
    struct sink k = {ans, rq->max_answer};
    curl_easy_reset(h);
    awscfg_curl_tls(h);
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);   /* the path as signed */
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->low_speed_secs > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, rq->low_speed_secs);
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ans->error);
    if (strcmp(rq->method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, ans);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)rq);
    ans->cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hl);
    if (ans->cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ans->status);
    else if (ans->cc == CURLE_ABORTED_BY_CALLBACK && rq->cancel && *rq->cancel)
        ans->cancelled = 1;
    else if (!ans->error[0])
        snprintf(ans->error, sizeof ans->error, "%s", curl_easy_strerror(ans->cc));
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
    strbuf_free(&ans->body);
    OPENSSL_cleanse(ans->akid, sizeof ans->akid);
    OPENSSL_cleanse(ans->token, sizeof ans->token);
}
