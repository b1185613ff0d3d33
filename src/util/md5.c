#include "md5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

void md5_hex(const void *data, size_t len, char out[MD5_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL) && n == 16)
        hex_encode(md, 16, out);
}

void md5_final_hex(EVP_MD_CTX *md, char out[MD5_HEX_LEN])
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (md && EVP_DigestFinal_ex(md, buf, &n) && n == 16)
        hex_encode(buf, 16, out);
}

EVP_MD_CTX *md5_new(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md && !EVP_DigestInit_ex(md, EVP_md5(), NULL)) {
        EVP_MD_CTX_free(md);
        md = NULL;
    }
    return md;
}

static int is_md5(const char *s, size_t n)
{
    if (n != 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int md5chain_parse(const char *text, long long size, struct md5chain *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    const char *slash = strchr(text, '/');
    size_t chain_len = slash ? (size_t)(slash - text) : strlen(text);
    if (slash) {
        if (!is_md5(slash + 1, strlen(slash + 1)))
            return err_setk(e, ERR_DATA, "bad header MD5 in '%.80s'", text);
        memcpy(out->header, slash + 1, 33);
    }
    const char *p = text, *stop = text + chain_len;
    long long prev = 0;
    for (;;) {
        if (out->n == MD5CHAIN_SEGS_MAX)
            return err_setk(e, ERR_DATA, "more than %d MD5 segments", MD5CHAIN_SEGS_MAX);
        struct md5chain_seg *s = &out->seg[out->n];
        if (stop - p < 32 || !is_md5(p, 32))
            return err_setk(e, ERR_DATA, "bad MD5 '%.80s'", text);
        memcpy(s->md5, p, 32);
        s->md5[32] = '\0';
        p += 32;
        out->n++;
        if (p == stop) {
            s->end = size;
            break;
        }
        if (*p != '@')
            return err_setk(e, ERR_DATA, "bad MD5 '%.80s'", text);
        p++;
        long long end = 0;
        int digits = 0;
        for (; p < stop && *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
            end = end * 10 + (*p - '0');
        if (!digits || p == stop || *p != '+' || (digits > 1 && p[-digits] == '0'))
            return err_setk(e, ERR_DATA, "bad MD5 segment end in '%.80s'", text);
        p++;
        if (end <= prev || end >= size)
            return err_setk(e, ERR_DATA, "MD5 segment end %lld out of order (file of %lld "
                            "bytes)", end, size);
        s->end = prev = end;
    }
    return 0;
}

int md5chain_format(const struct md5chain *c, char *buf, size_t size)
{
    size_t at = 0;
    for (int i = 0; i < c->n; i++) {
        int k = i + 1 < c->n ? snprintf(buf + at, size - at, "%s@%lld+", c->seg[i].md5,
                                        c->seg[i].end)
                             : snprintf(buf + at, size - at, "%s", c->seg[i].md5);
        if (k < 0 || (size_t)k >= size - at)
            return -1;
        at += (size_t)k;
    }
    if (c->header[0]) {
        int k = snprintf(buf + at, size - at, "/%s", c->header);
        if (k < 0 || (size_t)k >= size - at)
            return -1;
    }
    return c->n > 0 ? 0 : -1;
}

long long md5chain_seg_start(const struct md5chain *c, int i)
{
    return i > 0 ? c->seg[i - 1].end : 0;
}

int md5chain_check_init(struct md5chain_check *k, const struct md5chain *c, int from)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->seg = from;
    k->at = md5chain_seg_start(c, from);
    k->md = md5_new();
    return k->md ? 0 : -1;
}

/* Segment k->seg is complete: compare, and start the next. */
static void close_seg(struct md5chain_check *k)
{
    char hex[MD5_HEX_LEN];
    md5_final_hex(k->md, hex);
    if (!k->bad && strcmp(hex, k->c->seg[k->seg].md5) != 0) {
        k->bad = 1;
        k->bad_start = md5chain_seg_start(k->c, k->seg);
        k->bad_end = k->c->seg[k->seg].end;
        memcpy(k->got, hex, sizeof hex);
        memcpy(k->want, k->c->seg[k->seg].md5, sizeof hex);
    }
    k->seg++;
    EVP_DigestInit_ex(k->md, EVP_md5(), NULL);
}

void md5chain_check_feed(struct md5chain_check *k, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0 && k->seg < k->c->n) {
        long long left = k->c->seg[k->seg].end - k->at;
        size_t n = left < (long long)len ? (size_t)left : len;
        EVP_DigestUpdate(k->md, p, n);
        k->at += (long long)n;
        p += n;
        len -= n;
        if (k->at == k->c->seg[k->seg].end)
            close_seg(k);
    }
}

int md5chain_check_end(struct md5chain_check *k, const char *what, struct err *e)
{
    /* an empty last segment (an empty file) closes here */
    if (k->seg < k->c->n && k->at == k->c->seg[k->seg].end)
        close_seg(k);
    int rc = 0;
    if (k->seg < k->c->n)
        rc = err_setk(e, ERR_DATA, "%s: %lld bytes, the index committed %lld", what, k->at,
                      k->c->seg[k->c->n - 1].end);
    else if (k->bad && k->bad_start == 0 && k->bad_end == k->c->seg[k->c->n - 1].end)
        rc = err_setk(e, ERR_DATA, "%s: MD5 of its committed bytes is %s, the index names %s",
                      what, k->got, k->want);
    else if (k->bad)
        rc = err_setk(e, ERR_DATA, "%s: MD5 of its bytes %lld to %lld is %s, the index names "
                      "%s", what, k->bad_start, k->bad_end, k->got, k->want);
    md5chain_check_free(k);
    return rc;
}

void md5chain_check_free(struct md5chain_check *k)
{
    EVP_MD_CTX_free(k->md);
    k->md = NULL;
}

int md5chain_matches(const char *text, long long size, const void *data, size_t len)
{
    struct md5chain c;
    struct md5chain_check k;
    if ((long long)len != size || md5chain_parse(text, size, &c, NULL) != 0 ||
        md5chain_check_init(&k, &c, 0) != 0)
        return 0;
    md5chain_check_feed(&k, data, len);
    return md5chain_check_end(&k, "", NULL) == 0;
}

void md5chain_id(const char *text, char out[MD5_HEX_LEN])
{
    if (is_md5(text, strlen(text)))
        memcpy(out, text, MD5_HEX_LEN);
    else
        md5_hex(text, strlen(text), out);
}
