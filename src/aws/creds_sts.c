#include "creds_sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <openssl/crypto.h>

#include "datetime.h"
#include "hex.h"

#define STS_MAX_DEPTH 8
#define STS_NAME_MAX  48
/* The longest leaf we keep: a session token (the result holds 4096). */
#define STS_TEXT_MAX  (sizeof ((struct creds_sts_result *)0)->session_token)

enum { F_AK, F_SK, F_TOK, F_EXP, F_CODE, F_MSG, F_N };

struct sts {
    XML_Parser p;
    int depth;
    char names[STS_MAX_DEPTH][STS_NAME_MAX];
    char text[STS_TEXT_MAX + 1];
    size_t tlen;
    int overflow;
    int failed;
    char why[96];
    int root;                  /* 1 result document, 2 error document */
    int seen[F_N];
    struct creds_sts_result *out;
    struct creds_sts_error *se;
};

static void sts_fail(struct sts *s, const char *why)
{
    if (!s->failed) {
        s->failed = 1;
        snprintf(s->why, sizeof s->why, "%s", why);
    }
    XML_StopParser(s->p, XML_FALSE);
}

static const char *local_name(const char *n)
{
    const char *c = strrchr(n, ':');
    return c ? c + 1 : n;
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct sts *s = ud;
    if (s->failed)
        return;
    if (s->depth >= STS_MAX_DEPTH) {
        sts_fail(s, "elements nested too deeply");
        return;
    }
    snprintf(s->names[s->depth], STS_NAME_MAX, "%s", local_name(name));
    if (s->depth == 0) {
        if (strcmp(s->names[0], "AssumeRoleWithWebIdentityResponse") == 0 ||
            strcmp(s->names[0], "AssumeRoleResponse") == 0)
            s->root = 1;
        else if (strcmp(s->names[0], "ErrorResponse") == 0)
            s->root = 2;
        else {
            sts_fail(s, "unexpected root element");
            return;
        }
    }
    s->depth++;
    s->tlen = 0;
    s->overflow = 0;
}

/* Which field the open path names, or -1. */
static int field_at(const struct sts *s)
{
    if (s->root == 1 && s->depth == 4 &&
        (strcmp(s->names[1], "AssumeRoleWithWebIdentityResult") == 0 ||
         strcmp(s->names[1], "AssumeRoleResult") == 0) &&
        strcmp(s->names[2], "Credentials") == 0) {
        static const char *const n[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
                                        "Expiration"};
        for (int i = 0; i < 4; i++)
            if (strcmp(s->names[3], n[i]) == 0)
                return i;
    }
    if (s->root == 2 && s->depth == 3 && strcmp(s->names[1], "Error") == 0) {
        if (strcmp(s->names[2], "Code") == 0)
            return F_CODE;
        if (strcmp(s->names[2], "Message") == 0)
            return F_MSG;
    }
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

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct sts *s = ud;
    if (s->failed)
        return;
    int f = field_at(s);
    if (f >= 0) {
        if (s->seen[f]) {
            sts_fail(s, "a field appears twice");
            return;
        }
        s->seen[f] = 1;
        /* trim the whitespace a pretty-printer may add */
        const char *a = s->text, *b = s->text + s->tlen;
        while (a < b && (*a == ' ' || *a == '\n' || *a == '\r' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\n' || b[-1] == '\r' || b[-1] == '\t'))
            b--;
        size_t n = (size_t)(b - a);
        if (f == F_MSG) {
            copy_printable(s->se->message, sizeof s->se->message, a, s->overflow ? 0 : n);
        } else if (s->overflow) {
            sts_fail(s, "a credential field is too long");
            return;
        } else {
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
                    sts_fail(s, "Expiration is not an ISO 8601 time");
                    return;
                }
                memcpy(t, a, n);
                t[n] = '\0';
                if (datetime_parse_iso8601(t, &s->out->expires_at) != 0)
                    sts_fail(s, "Expiration is not an ISO 8601 time");
                break;
            }
            }
            if (dst) {
                if (n >= cap || memchr(a, '\0', n)) {
                    sts_fail(s, f == F_CODE ? "the error Code is too long"
                                            : "a credential field is too long");
                    return;
                }
                if (f == F_CODE) {
                    copy_printable(dst, cap, a, n);
                } else {
                    memcpy(dst, a, n);
                    dst[n] = '\0';
                }
            }
        }
    }
    s->depth--;
    s->tlen = 0;
    s->overflow = 0;
}

static void XMLCALL on_chars(void *ud, const XML_Char *t, int len)
{
    struct sts *s = ud;
    if (s->failed || len <= 0)
        return;
    if (s->overflow || (size_t)len > STS_TEXT_MAX - s->tlen) {
        s->overflow = 1;   /* an error only where the element matters */
        return;
    }
    memcpy(s->text + s->tlen, t, (size_t)len);
    s->tlen += (size_t)len;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name; (void)sysid; (void)pubid; (void)has_internal;
    sts_fail(ud, "a DTD is not allowed");
}

int creds_sts_parse(const char *xml, size_t len, struct creds_sts_result *out,
                    struct creds_sts_error *se, struct err *e)
{
    memset(out, 0, sizeof *out);
    memset(se, 0, sizeof *se);
    if (len > CREDS_STS_MAX_XML)
        return err_set(e, "STS answer is larger than %d bytes", CREDS_STS_MAX_XML);
    struct sts *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(e, "out of memory");
    s->out = out;
    s->se = se;
    s->p = XML_ParserCreate("UTF-8");
    if (!s->p) {
        free(s);
        return err_set(e, "out of memory");
    }
    XML_SetUserData(s->p, s);
    XML_SetElementHandler(s->p, on_start, on_end);
    XML_SetCharacterDataHandler(s->p, on_chars);
    XML_SetStartDoctypeDeclHandler(s->p, on_doctype);
    int rc = -1;
    enum XML_Status st = XML_Parse(s->p, xml ? xml : "", (int)len, XML_TRUE);
    if (s->failed) {
        err_set(e, "STS answer: %s", s->why);
    } else if (st != XML_STATUS_OK) {
        err_set(e, "STS answer is not well-formed XML (line %lu: %s)",
                (unsigned long)XML_GetCurrentLineNumber(s->p),
                XML_ErrorString(XML_GetErrorCode(s->p)));
    } else if (s->root == 2) {
        rc = 1;
    } else if (!s->seen[F_AK] || !s->seen[F_SK] || !s->seen[F_TOK] || !out->access_key[0] ||
               !out->secret_key[0] || !out->session_token[0]) {
        err_set(e, "STS answer lacks AccessKeyId, SecretAccessKey or SessionToken");
    } else if (!s->seen[F_EXP]) {
        err_set(e, "STS answer lacks Expiration");
    } else {
        rc = 0;
    }
    XML_ParserFree(s->p);
    OPENSSL_cleanse(s, sizeof *s);   /* the text buffer held the secret */
    free(s);
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
