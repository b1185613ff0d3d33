#include "sigv4.h"
#include "hex.h"
#include "strbuf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* ---- hashing ---------------------------------------------------------- */

void sigv4_sha256_hex(const void *buf, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(buf ? buf : (const void *)"", len, md);
    hex_encode(md, sizeof md, out);
}

static int hmac256(const void *key, size_t klen, const void *msg, size_t mlen,
                   unsigned char out[32])
{
    unsigned int olen = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) || olen != 32)
        return -1;
    return 0;
}

int sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
                      const char *service, unsigned char out[32])
{
    size_t slen = strlen(secret_key);
    char *k = malloc(slen + 5);
    if (!k)
        return -1;
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret_key, slen + 1);
    unsigned char a[32], b[32];
    int rc = hmac256(k, slen + 4, date8, strlen(date8), a);
    OPENSSL_cleanse(k, slen + 4);
    free(k);
    if (rc == 0)
        rc = hmac256(a, 32, region, strlen(region), b);
    if (rc == 0)
        rc = hmac256(b, 32, service, strlen(service), a);
    if (rc == 0)
        rc = hmac256(a, 32, "aws4_request", 12, out);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    return rc;
}

/* ---- encoding --------------------------------------------------------- */

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.' || c == '~';
}

static void sb_encode(struct strbuf *b, const char *s, size_t len, int keep_slash)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            strbuf_addc(b, (char)c);
        } else {
            char t[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15]};
            strbuf_addn(b, t, 3);
        }
    }
}

char *sigv4_uri_encode(const char *s, size_t len, int keep_slash)
{
    struct strbuf b = {0};
    sb_encode(&b, s, len, keep_slash);
    return strbuf_take(&b, NULL);
}

/* ---- canonical URI ---------------------------------------------------- */

/* S3 style: the path is already encoded once and is used as given. Bytes that
 * a client should have encoded but did not (a raw space, UTF-8) are encoded
 * here, and the hex digits of existing escapes are upper-cased, so that the
 * result is what the server derives from the wire. */
static void canon_path_s3(struct strbuf *b, const char *p)
{
    size_t n = strlen(p);
    if (n == 0) {
        strbuf_addc(b, '/');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%' && i + 2 < n && hex_digit((unsigned char)p[i + 1]) >= 0 &&
            hex_digit((unsigned char)p[i + 2]) >= 0) {
            char t[3] = {'%', (char)toupper((unsigned char)p[i + 1]),
                         (char)toupper((unsigned char)p[i + 2])};
            strbuf_addn(b, t, 3);
            i += 2;
        } else if (is_unreserved(c) || c == '/') {
            strbuf_addc(b, (char)c);
        } else {
            char t[3] = {'%', HEX_UPPER[c >> 4], HEX_UPPER[c & 15]};
            strbuf_addn(b, t, 3);
        }
    }
}

/* Generic services: remove dot segments and empty segments (RFC 3986 5.2.4
 * plus duplicate-slash removal), then encode each segment of the path as
 * sent. A path that was already percent-encoded is thereby encoded a second
 * time ("%20" -> "%2520"), which is what these services expect. */
static int canon_path_normalized(struct strbuf *b, const char *p)
{
    size_t n = strlen(p);
    /* segment start/length pairs; at most n/1 + 1 segments */
    size_t cap = n / 2 + 2;
    size_t *st = malloc(cap * sizeof *st), *ln = malloc(cap * sizeof *ln);
    if (!st || !ln) {
        free(st);
        free(ln);
        return -1;
    }
    size_t k = 0;
    int trailing = 0;
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i;
        int last = (j >= n);
        if (len == 0) {
            if (last)
                trailing = 1;   /* path ends with '/' (or is empty) */
        } else if (len == 1 && p[i] == '.') {
            if (last)
                trailing = 1;
        } else if (len == 2 && p[i] == '.' && p[i + 1] == '.') {
            if (k > 0)
                k--;
            if (last)
                trailing = 1;
        } else {
            if (k < cap) {
                st[k] = i;
                ln[k] = len;
                k++;
            }
            if (last)
                trailing = 0;
        }
        i = j + 1;
    }
    strbuf_addc(b, '/');
    for (size_t s = 0; s < k; s++) {
        if (s > 0)
            strbuf_addc(b, '/');
        sb_encode(b, p + st[s], ln[s], 0);
    }
    if (k > 0 && trailing)
        strbuf_addc(b, '/');
    free(st);
    free(ln);
    return 0;
}

/* ---- canonical query -------------------------------------------------- */

struct qparam {
    char *name, *value;   /* encoded */
};

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *reencode(const char *s, size_t len)
{
    size_t dl;
    char *d = pct_decode(s, len, PCT_LENIENT, &dl, NULL);
    if (!d)
        return NULL;
    char *r = sigv4_uri_encode(d, dl, 0);
    free(d);
    return r;
}

static int canon_query(struct strbuf *b, const char *q)
{
    if (!q || !*q)
        return 0;
    size_t n = strlen(q), count = 1;
    for (size_t i = 0; i < n; i++)
        if (q[i] == '&')
            count++;
    struct qparam *ps = calloc(count, sizeof *ps);
    if (!ps)
        return -1;
    size_t k = 0;
    int rc = 0;
    const char *s = q;
    while (1) {
        const char *amp = strchr(s, '&');
        size_t len = amp ? (size_t)(amp - s) : strlen(s);
        if (len > 0) {
            const char *eq = memchr(s, '=', len);
            size_t nl = eq ? (size_t)(eq - s) : len;
            ps[k].name = reencode(s, nl);
            ps[k].value = eq ? reencode(eq + 1, len - nl - 1) : strdup("");
            if (!ps[k].name || !ps[k].value) {
                free(ps[k].name);
                free(ps[k].value);
                rc = -1;
                break;
            }
            k++;
        }
        if (!amp)
            break;
        s = amp + 1;
    }
    if (rc == 0) {
        qsort(ps, k, sizeof *ps, qparam_cmp);
        for (size_t i = 0; i < k; i++) {
            if (i)
                strbuf_addc(b, '&');
            strbuf_add(b, ps[i].name);
            strbuf_addc(b, '=');
            strbuf_add(b, ps[i].value);
        }
    }
    for (size_t i = 0; i < k; i++) {
        free(ps[i].name);
        free(ps[i].value);
    }
    free(ps);
    return rc;
}

/* ---- canonical headers ------------------------------------------------ */

struct chdr {
    char *name;        /* lower-cased, trimmed */
    const char *value;
    size_t idx;        /* original order, keeps multi-value order stable */
};

static int chdr_cmp(const void *a, const void *b)
{
    const struct chdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Appends value trimmed, with runs of whitespace collapsed to one space. */
static void sb_add_value(struct strbuf *b, const char *v)
{
    while (*v && is_ws(*v))
        v++;
    int pending = 0;
    for (; *v; v++) {
        if (is_ws(*v)) {
            pending = 1;
        } else {
            if (pending)
                strbuf_addc(b, ' ');
            pending = 0;
            strbuf_addc(b, *v);
        }
    }
}

/* ---- sign ------------------------------------------------------------- */

void sigv4_result_free(struct sigv4_result *r)
{
    if (!r)
        return;
    free(r->canonical_request);
    free(r->string_to_sign);
    free(r->signed_headers);
    free(r->signature);
    free(r->authorization);
    memset(r, 0, sizeof *r);
}

/* The canonical headers (lower-case names, sorted (stable), values of one
 * name joined with ',') into cr, their names joined with ';' into sh.
 * 0; -1 out of memory; -2 header *bad has an empty name. */
static int canon_headers(const struct sigv4_request *req, struct strbuf *cr, struct strbuf *sh,
                         size_t *bad)
{
    size_t nh = req->n_headers;
    struct chdr *hs = calloc(nh ? nh : 1, sizeof *hs);
    if (!hs)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < nh && rc == 0; i++) {
        const char *nm = req->headers[i].name;
        while (is_ws(*nm))
            nm++;
        size_t l = strlen(nm);
        while (l > 0 && is_ws(nm[l - 1]))
            l--;
        if (l == 0) {
            *bad = i;
            rc = -2;
        } else if (!(hs[i].name = malloc(l + 1))) {
            rc = -1;
        } else {
            for (size_t j = 0; j < l; j++)
                hs[i].name[j] = (char)tolower((unsigned char)nm[j]);
            hs[i].name[l] = '\0';
            hs[i].value = req->headers[i].value;
            hs[i].idx = i;
        }
    }
    if (rc == 0)
        qsort(hs, nh, sizeof *hs, chdr_cmp);
    for (size_t i = 0; rc == 0 && i < nh;) {
        strbuf_add(cr, hs[i].name);
        strbuf_addc(cr, ':');
        if (sh->len)
            strbuf_addc(sh, ';');
        strbuf_add(sh, hs[i].name);
        size_t j = i;
        for (; j < nh && strcmp(hs[j].name, hs[i].name) == 0; j++) {
            if (j > i)
                strbuf_addc(cr, ',');
            sb_add_value(cr, hs[j].value);
        }
        strbuf_addc(cr, '\n');
        i = j;
    }
    for (size_t i = 0; i < nh; i++)
        free(hs[i].name);
    free(hs);
    return rc;
}

/* The canonical request (caller frees) and, in *signed_headers (caller
 * frees), the names signed; NULL with e set. */
static char *canon_request(const struct sigv4_request *req, const struct sigv4_key *key,
                           char **signed_headers, struct err *e)
{
    struct strbuf cr = {0}, sh = {0};
    *signed_headers = NULL;
    strbuf_add(&cr, req->method);
    strbuf_addc(&cr, '\n');
    int rc = key->normalize_path ? canon_path_normalized(&cr, req->path) : 0;
    if (!key->normalize_path)
        canon_path_s3(&cr, req->path);
    strbuf_addc(&cr, '\n');
    if (rc == 0)
        rc = canon_query(&cr, req->query);
    strbuf_addc(&cr, '\n');
    size_t bad = 0;
    if (rc == 0)
        rc = canon_headers(req, &cr, &sh, &bad);
    if (rc != 0) {
        strbuf_free(&cr);
        strbuf_free(&sh);
        return rc == -2 ? (err_set(e, "sigv4: header %zu has an empty name", bad), NULL)
                        : (err_set(e, "sigv4: out of memory"), NULL);
    }
    strbuf_printf(&cr, "\n%s\n%s", sh.p ? sh.p : "",
                  req->payload_hash ? req->payload_hash : "UNSIGNED-PAYLOAD");
    char *creq = strbuf_take(&cr, NULL);
    *signed_headers = strbuf_take(&sh, NULL);
    if (!creq || !*signed_headers) {
        free(creq);
        free(*signed_headers);
        *signed_headers = NULL;
        err_set(e, "sigv4: out of memory");
        return NULL;
    }
    return creq;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
               struct sigv4_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    if (!req || !key || !req->method || !req->path || !key->access_key || !key->secret_key ||
        !key->region || !key->service || !key->amz_date)
        return err_set(e, "sigv4: missing request or key field");
    if (strlen(key->amz_date) != 16 || key->amz_date[8] != 'T' || key->amz_date[15] != 'Z')
        return err_set(e, "sigv4: amz_date \"%.32s\" is not YYYYMMDDTHHMMSSZ", key->amz_date);
    if (req->n_headers && !req->headers)
        return err_set(e, "sigv4: headers missing");
    for (size_t i = 0; i < req->n_headers; i++)
        if (!req->headers[i].name || !req->headers[i].value)
            return err_set(e, "sigv4: header %zu has no name or value", i);

    char *signed_headers = NULL;
    char *creq = canon_request(req, key, &signed_headers, e);
    if (!creq)
        return -1;
    char date8[9], creq_hash[65];
    memcpy(date8, key->amz_date, 8);
    date8[8] = '\0';
    sigv4_sha256_hex(creq, strlen(creq), creq_hash);
    struct strbuf tmp = {0};
    strbuf_printf(&tmp, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", key->amz_date, date8,
                  key->region, key->service, creq_hash);
    char *sts = strbuf_take(&tmp, NULL);
    unsigned char ks[32], sig[32];
    int ok = sts && sigv4_signing_key(key->secret_key, date8, key->region, key->service, ks) == 0 &&
             hmac256(ks, 32, sts, strlen(sts), sig) == 0;
    OPENSSL_cleanse(ks, sizeof ks);
    if (!ok) {
        free(sts);
        free(creq);
        free(signed_headers);
        return err_set(e, sts ? "sigv4: HMAC-SHA256 failed" : "sigv4: out of memory");
    }
    char sighex[65];
    hex_encode(sig, 32, sighex);
    strbuf_printf(&tmp, "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                  "Signature=%s", key->access_key, date8, key->region, key->service,
                  signed_headers, sighex);
    out->authorization = strbuf_take(&tmp, NULL);
    out->signature = strdup(sighex);
    out->canonical_request = creq;
    out->string_to_sign = sts;
    out->signed_headers = signed_headers;
    if (!out->authorization || !out->signature) {
        sigv4_result_free(out);
        return err_set(e, "sigv4: out of memory");
    }
    return 0;
}

void sigv4_amz_date(long long unix_seconds, char out[17])
{
    time_t t = (time_t)unix_seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        memcpy(out, "19700101T000000Z", 17);
        return;
    }
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        memcpy(out, "19700101T000000Z", 17);
}
