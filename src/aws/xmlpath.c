#include "xmlpath.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

void xp_fail(struct xp *x, const char *msg)
{
    if (!x->failed) {
        x->failed = 1;
        snprintf(x->errmsg, sizeof x->errmsg, "%s", msg);
    }
    XML_StopParser(x->p, XML_FALSE);
}

/* Local name of a (possibly prefixed) element name. */
static const char *local_name(const char *n)
{
    const char *c = strrchr(n, ':');
    return c ? c + 1 : n;
}

static void XMLCALL xp_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    struct xp *x = ud;
    if (x->failed)
        return;
    if (x->depth >= XP_MAX_DEPTH) {
        xp_fail(x, "elements nested too deeply");
        return;
    }
    snprintf(x->names[x->depth], XP_NAME_MAX, "%s", local_name(name));
    x->depth++;
    x->tlen = 0;
    x->text_overflow = 0;
    if (x->on_start)
        x->on_start(x, x->ud);
}

static void XMLCALL xp_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct xp *x = ud;
    if (x->failed)
        return;
    x->text[x->tlen] = '\0';
    if (x->on_end)
        x->on_end(x, x->text_overflow ? NULL : x->text, x->tlen, x->ud);
    x->depth--;
    x->tlen = 0;
    x->text_overflow = 0;
}

static void XMLCALL xp_chars(void *ud, const XML_Char *s, int len)
{
    struct xp *x = ud;
    if (x->failed || len <= 0)
        return;
    if (x->text_overflow || (size_t)len > XP_TEXT_MAX - x->tlen) {
        /* Only an error if the element turns out to matter (on_end gets NULL). */
        x->text_overflow = 1;
        return;
    }
    memcpy(x->text + x->tlen, s, (size_t)len);
    x->tlen += (size_t)len;
}

static void XMLCALL xp_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                               const XML_Char *pubid, int has_internal)
{
    (void)name; (void)sysid; (void)pubid; (void)has_internal;
    xp_fail(ud, "a DTD is not allowed");
}

int xp_at(const struct xp *x, int n, ...)
{
    if (x->depth != n)
        return 0;
    va_list ap;
    va_start(ap, n);
    int ok = 1;
    for (int i = 0; i < n; i++) {
        const char *want = va_arg(ap, const char *);
        if (!want || strcmp(x->names[i], want) != 0) {
            ok = 0;
            break;
        }
    }
    va_end(ap);
    return ok;
}

static int xp_run(struct xp *x, const char *xml, size_t len, size_t max, char *why,
                  size_t why_sz)
{
    if (len > max) {
        snprintf(why, why_sz, "XML body of %zu bytes exceeds the %zu byte limit", len, max);
        return -1;
    }
    x->p = XML_ParserCreate("UTF-8");
    if (!x->p) {
        snprintf(why, why_sz, "out of memory creating an XML parser");
        return -1;
    }
    XML_SetUserData(x->p, x);
    XML_SetElementHandler(x->p, xp_start, xp_end);
    XML_SetCharacterDataHandler(x->p, xp_chars);
    XML_SetStartDoctypeDeclHandler(x->p, xp_doctype);
    int rc = 0;
    enum XML_Status st = XML_Parse(x->p, xml ? xml : "", (int)len, XML_TRUE);
    if (x->failed) {
        snprintf(why, why_sz, "%s (line %lu)", x->errmsg,
                 (unsigned long)XML_GetCurrentLineNumber(x->p));
        rc = -1;
    } else if (st != XML_STATUS_OK) {
        snprintf(why, why_sz, "malformed XML: %s (line %lu, column %lu)",
                 XML_ErrorString(XML_GetErrorCode(x->p)),
                 (unsigned long)XML_GetCurrentLineNumber(x->p),
                 (unsigned long)XML_GetCurrentColumnNumber(x->p));
        rc = -1;
    }
    XML_ParserFree(x->p);
    x->p = NULL;
    return rc;
}

int xp_parse(xp_start_fn on_start, xp_end_fn on_end, void *ud, const char *xml, size_t len,
             size_t max, char *why, size_t why_sz, int *refused)
{
    if (refused)
        *refused = 0;
    struct xp *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(why, why_sz, "out of memory creating an XML parser");
        return -1;
    }
    x->on_start = on_start;
    x->on_end = on_end;
    x->ud = ud;
    int rc = xp_run(x, xml, len, max, why, why_sz);
    if (refused)
        *refused = x->failed;
    OPENSSL_cleanse(x, sizeof *x);
    free(x);
    return rc;
}

void xp_root(struct xp *x, const char *root, int *ok)
{
    if (strcmp(x->names[0], root) == 0) {
        *ok = 1;
    } else if (strcmp(x->names[0], "Error") != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "not a %s document", root);
        xp_fail(x, msg);
    }
}
