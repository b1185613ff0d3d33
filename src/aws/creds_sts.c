#include "creds_sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "datetime.h"
#include "hex.h"
#include "xmlpath.h"

enum { F_AK, F_SK, F_TOK, F_EXP, F_CODE, F_MSG, F_N };

struct sts {
    int root;                  /* 1 result document, 2 error document */
    int seen[F_N];
    struct creds_sts_result *out;
    struct creds_sts_error *se;
};

static void on_start(struct xp *x, void *ud)
{
    struct sts *s = ud;
    if (x->depth != 1)
        return;
    if (strcmp(x->names[0], "AssumeRoleWithWebIdentityResponse") == 0 ||
        strcmp(x->names[0], "AssumeRoleResponse") == 0)
        s->root = 1;
    else if (strcmp(x->names[0], "ErrorResponse") == 0)
        s->root = 2;
    else
        xp_fail(x, "unexpected root element");
}

/* Which field the open path names, or -1. */
static int field_at(const struct xp *x, const struct sts *s)
{
    if (s->root == 1 && (xp_at(x, 4, "AssumeRoleWithWebIdentityResponse",
                               "AssumeRoleWithWebIdentityResult", "Credentials", x->names[3]) ||
                         xp_at(x, 4, "AssumeRoleResponse", "AssumeRoleResult", "Credentials",
                               x->names[3]))) {
        static const char *const n[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                        "Expiration"};
        for (int i = 0; i < 4; i++)
            if (strcmp(x->names[3], n[i]) == 0)
                return i;
    }
    if (s->root == 2 && xp_at(x, 3, "ErrorResponse", "Error", "Code"))
        return F_CODE;
    if (s->root == 2 && xp_at(x, 3, "ErrorResponse", "Error", "Message"))
        return F_MSG;
    return -1;
}

/* Copies printable ASCII, truncating (an error message is informative only). */
static void copy_printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    dst[k] = '\0';
}

/* text: the element's text, NULL when longer than the driver keeps */
static void on_end(struct xp *x, const char *text, size_t len, void *ud)
{
    struct sts *s = ud;
    int f = field_at(x, s);
    if (f < 0)
        return;
    if (s->seen[f]) {
        xp_fail(x, "a field appears twice");
        return;
    }
    s->seen[f] = 1;
    /* trim the whitespace a pretty-printer may add */
    const char *a = text ? text : "", *b = a + (text ? len : 0);
    while (a < b && (*a == ' ' || *a == '\n' || *a == '\r' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\n' || b[-1] == '\r' || b[-1] == '\t'))
        b--;
    size_t n = (size_t)(b - a);
    if (f == F_MSG) {
        copy_printable(s->se->message, sizeof s->se->message, a, n);
        return;
    }
    if (!text) {
        xp_fail(x, "a credential field is too long");
        return;
    }
    char *dst = NULL;
    size_t cap = 0;
    switch (f) {
    case F_AK: dst = s->out->access_key; cap = sizeof s->out->access_key; break;
    case F_SK: dst = s->out->secret_key; cap = sizeof s->out->secret_key; break;
    case F_TOK: dst = s->out->session_token; cap = sizeof s->out->session_token; break;
    case F_CODE: dst = s->se->code; cap = sizeof s->se->code; break;
    case F_EXP: {
        char t[64];
        if (n >= sizeof t) {
            xp_fail(x, "Expiration is not an ISO 8601 time");
            return;
        }
        memcpy(t, a, n);
        t[n] = '\0';
        if (datetime_parse_iso8601(t, &s->out->expires_at) != 0)
            xp_fail(x, "Expiration is not an ISO 8601 time");
        return;
    }
    }
    if (n >= cap || memchr(a, '\0', n)) {
        xp_fail(x, f == F_CODE ? "the error Code is too long" : "a credential field is too long");
        return;
    }
    if (f == F_CODE) {
        copy_printable(dst, cap, a, n);
    } else {
        memcpy(dst, a, n);
        dst[n] = '\0';
    }
}

int creds_sts_parse(const char *xml, size_t len, struct creds_sts_result *out,
                    struct creds_sts_error *se, struct err *e)
{
    memset(out, 0, sizeof *out);
    memset(se, 0, sizeof *se);
    if (len > CREDS_STS_MAX_XML)
        return err_set(e, "STS answer is larger than %d bytes", CREDS_STS_MAX_XML);
    struct sts s = {.out = out, .se = se};
    char why[256];
    int rc = -1, refused = 0;
    if (xp_parse(on_start, on_end, &s, xml, len, CREDS_STS_MAX_XML, why, sizeof why,
                 &refused) != 0) {
        if (refused)
            err_set(e, "STS answer: %s", why);
        else
            err_set(e, "STS answer is not well-formed XML (%s)", why);
    } else if (s.root == 2) {
        rc = 1;
    } else if (!s.seen[F_AK] || !s.seen[F_SK] || !s.seen[F_TOK] || !out->access_key[0] ||
               !out->secret_key[0] || !out->session_token[0]) {
        err_set(e, "STS answer lacks AccessKeyId, SecretAccessKey or SessionToken");
    } else if (!s.seen[F_EXP]) {
        err_set(e, "STS answer lacks Expiration");
    } else {
        rc = 0;
    }
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof *out);
    if (rc == -1)
        memset(se, 0, sizeof *se);
    return rc;
}

size_t creds_form_append(char *out, size_t cap, size_t used, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '.' || c == '_' || c == '~';
        size_t need = keep ? 1 : 3;
        if (used + need >= cap)
            return (size_t)-1;
        if (keep) {
            out[used++] = (char)c;
        } else {
            out[used++] = '%';
            out[used++] = HEX_UPPER[c >> 4];
            out[used++] = HEX_UPPER[c & 15];
        }
    }
    if (used >= cap)
        return (size_t)-1;
    out[used] = '\0';
    return used;
}
