#include "s3_xml.h"
#include "grow.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "datetime.h"
#include "hex.h"
#include "xmlpath.h"

/* ---- helpers ------------------------------------------------------------ */

int s3_etag_copy(char out[80], const char *etag, size_t len)
{
    /* trim whitespace, then one pair of quotes */
    while (len > 0 && (etag[0] == ' ' || etag[0] == '\t' || etag[0] == '\n' || etag[0] == '\r')) {
        etag++;
        len--;
    }
    while (len > 0 && (etag[len - 1] == ' ' || etag[len - 1] == '\t' || etag[len - 1] == '\n' ||
                       etag[len - 1] == '\r'))
        len--;
    if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"') {
        etag++;
        len -= 2;
    }
    if (len > 79) {
        out[0] = '\0';
        return -1;
    }
    memcpy(out, etag, len);
    out[len] = '\0';
    return 0;
}

/* Copies display text, replacing control characters, truncating. */
static void copy_display(char *dst, size_t dsz, const char *s, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < dsz; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    dst[j] = '\0';
}

static int parse_nonneg(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 18)
        return -1;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* ---- object lists -------------------------------------------------------- */

static int list_push(struct s3_object_list *l, const struct s3_object *o)
{
    if (l->n == l->cap) {
        struct s3_object *ni = grow_array(l->items, l->n, &l->cap, sizeof *ni, 256);
        if (!ni)
            return -1;
        l->items = ni;
    }
    l->items[l->n++] = *o;
    return 0;
}

void s3_list_page_free(struct s3_list_page *p)
{
    if (!p)
        return;
    free(p->next_token);
    for (size_t i = 0; i < p->n_prefixes; i++)
        free(p->prefixes[i]);
    free(p->prefixes);
    memset(p, 0, sizeof *p);
}

/* ---- Error documents ------------------------------------------------------ */

struct err_ctx {
    struct s3_xml_error *out;
};

static void error_end(struct xp *x, const char *t, size_t n, void *ud)
{
    struct err_ctx *c = ud;
    if (!t)
        return; /* over-long text: not something we report */
    if (xp_at(x, 2, "Error", "Code"))
        copy_display(c->out->code, sizeof c->out->code, t, n);
    else if (xp_at(x, 2, "Error", "Message"))
        copy_display(c->out->message, sizeof c->out->message, t, n);
    else if (xp_at(x, 2, "Error", "RequestId"))
        copy_display(c->out->request_id, sizeof c->out->request_id, t, n);
}

int s3_xml_parse_error(const char *xml, size_t len, struct s3_xml_error *out)
{
    memset(out, 0, sizeof *out);
    if (!xml || len == 0)
        return 0;
    struct err_ctx c = {out};
    char why[512];
    int is_error = 0;
    if (xp_parse(NULL, error_end, &c, xml, len, S3_XML_MAX_BYTES, why, sizeof why, NULL) == 0 &&
        out->code[0])
        is_error = 1;
    if (!is_error)
        memset(out, 0, sizeof *out);
    return is_error;
}

/* ---- ListObjectsV2 ------------------------------------------------------- */

struct list_ctx {
    struct s3_list_page *page;
    struct s3_object_list *out;
    size_t first;              /* index of this page's first object in out */
    struct s3_object cur;
    int in_contents, have_key, have_size;
    int root_ok;
    struct s3_xml_error xerr;
};

static void list_start(struct xp *x, void *ud)
{
    struct list_ctx *c = ud;
    if (x->depth == 1) {
        xp_root(x, "ListBucketResult", &c->root_ok);
        return;
    }
    if (c->root_ok && xp_at(x, 2, "ListBucketResult", "Contents")) {
        memset(&c->cur, 0, sizeof c->cur);
        c->in_contents = 1;
        c->have_key = c->have_size = 0;
    }
}

/* A child of the ListBucketResult root: a Contents closed, or a page field. */
static void list_page_field(struct xp *x, struct list_ctx *c, const char *t, size_t n)
{
    const char *nm = x->names[1];
    if (strcmp(nm, "Contents") == 0) {
        if (!c->have_key || !c->have_size) {
            free(c->cur.key);
            c->cur.key = NULL;
            xp_fail(x, "a Contents element without Key or Size");
            return;
        }
        if (list_push(c->out, &c->cur) != 0) {
            free(c->cur.key);
            c->cur.key = NULL;
            xp_fail(x, "out of memory");
            return;
        }
        c->cur.key = NULL;
        c->in_contents = 0;
        c->page->key_count++;
        return;
    }
    if (!t) {
        if (strcmp(nm, "NextContinuationToken") == 0)
            xp_fail(x, "NextContinuationToken too long");
        return;
    }
    if (strcmp(nm, "IsTruncated") == 0) {
        if (n == 4 && memcmp(t, "true", 4) == 0)
            c->page->is_truncated = 1;
        else if (n == 5 && memcmp(t, "false", 5) == 0)
            c->page->is_truncated = 0;
        else
            xp_fail(x, "IsTruncated is neither true nor false");
    } else if (strcmp(nm, "NextContinuationToken") == 0) {
        if (n == 0 || n > S3_TOKEN_MAX) {
            xp_fail(x, "bad NextContinuationToken length");
            return;
        }
        free(c->page->next_token);
        c->page->next_token = strndup(t, n);
        if (!c->page->next_token)
            xp_fail(x, "out of memory");
    } else if (strcmp(nm, "EncodingType") == 0) {
        if (n == 3 && memcmp(t, "url", 3) == 0)
            c->page->encoding_url = 1;
        else
            xp_fail(x, "unknown EncodingType");
    }
}

/* A field of the Contents element being read. */
static void list_contents_field(struct xp *x, struct list_ctx *c, const char *t, size_t n)
{
    const char *nm = x->names[2];
    if (strcmp(nm, "Key") == 0) {
        if (!t || n == 0 || n > 3 * S3_KEY_MAX) {
            xp_fail(x, "a Key that is empty or too long");
            return;
        }
        if (c->have_key) {
            xp_fail(x, "two Keys in one Contents");
            return;
        }
        c->cur.key = strndup(t, n);
        if (!c->cur.key) {
            xp_fail(x, "out of memory");
            return;
        }
        if (strlen(c->cur.key) != n) {
            xp_fail(x, "a Key holding a NUL character");
            return;
        }
        c->have_key = 1;
    } else if (strcmp(nm, "Size") == 0) {
        if (!t || parse_nonneg(t, n, &c->cur.size) != 0) {
            xp_fail(x, "a Size that is not a non-negative integer");
            return;
        }
        c->have_size = 1;
    } else if (strcmp(nm, "ETag") == 0) {
        if (!t || s3_etag_copy(c->cur.etag, t, n) != 0)
            xp_fail(x, "an ETag longer than 79 bytes");
    } else if (strcmp(nm, "LastModified") == 0) {
        if (!t || datetime_parse_iso8601_utc(t, &c->cur.last_modified) != 0)
            xp_fail(x, "a LastModified that is not an ISO 8601 time");
    }
}

/* A CommonPrefixes/Prefix (a delimited listing). */
static void list_prefix(struct xp *x, struct list_ctx *c, const char *t, size_t n)
{
    if (!t || n > 3 * S3_KEY_MAX) {
        xp_fail(x, "a CommonPrefixes Prefix that is too long");
        return;
    }
    if (c->page->n_prefixes >= 100000) {
        xp_fail(x, "too many CommonPrefixes");
        return;
    }
    char **np = realloc(c->page->prefixes, (c->page->n_prefixes + 1) * sizeof *np);
    if (!np) {
        xp_fail(x, "out of memory");
        return;
    }
    c->page->prefixes = np;
    char *s = strndup(t, n);
    if (!s) {
        xp_fail(x, "out of memory");
        return;
    }
    c->page->prefixes[c->page->n_prefixes++] = s;
}

static void list_end(struct xp *x, const char *t, size_t n, void *ud)
{
    struct list_ctx *c = ud;
    if (!c->root_ok) {
        if (t && xp_at(x, 2, "Error", "Code"))
            copy_display(c->xerr.code, sizeof c->xerr.code, t, n);
        else if (t && xp_at(x, 2, "Error", "Message"))
            copy_display(c->xerr.message, sizeof c->xerr.message, t, n);
        return;
    }
    if (x->depth == 2)
        list_page_field(x, c, t, n);
    else if (x->depth == 3 && c->in_contents && strcmp(x->names[1], "Contents") == 0)
        list_contents_field(x, c, t, n);
    else if (x->depth == 3 && strcmp(x->names[1], "CommonPrefixes") == 0 &&
             strcmp(x->names[2], "Prefix") == 0)
        list_prefix(x, c, t, n);
}

/* Undoes the page's items appended after `first`. */
static void list_truncate(struct s3_object_list *l, size_t first)
{
    for (size_t i = first; i < l->n; i++)
        free(l->items[i].key);
    if (l->n > first)
        l->n = first;
}

/* Decodes (if url-encoded) and validates a key in place. */
static int fix_key(char **key, int encoded, const char **why)
{
    size_t n = strlen(*key);
    if (encoded) {
        size_t dn;
        char *d = pct_decode(*key, n, PCT_PLUS_SPACE, &dn, NULL);
        if (!d) {
            *why = "a url-encoded key with a bad escape or a NUL byte";
            return -1;
        }
        free(*key);
        *key = d;
        n = dn;
    }
    if (n == 0 || n > S3_KEY_MAX) {
        *why = "a key that is empty or longer than 1024 bytes";
        return -1;
    }
    return 0;
}

int s3_xml_parse_list(const char *xml, size_t len, struct s3_object_list *out,
                      struct s3_list_page *page, struct err *e)
{
    memset(page, 0, sizeof *page);
    struct list_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return err_setk(e, ERR_DATA, "out of memory parsing a listing");
    c->page = page;
    c->out = out;
    c->first = out->n;
    char why[512];
    int rc = xp_parse(list_start, list_end, c, xml, len, S3_XML_MAX_BYTES, why, sizeof why, NULL);
    free(c->cur.key);
    c->cur.key = NULL;
    if (rc == 0 && !c->root_ok) {
        if (c->xerr.code[0])
            snprintf(why, sizeof why, "S3 error %s: %s", c->xerr.code, c->xerr.message);
        else
            snprintf(why, sizeof why, "not a ListBucketResult document");
        rc = -1;
    }
    if (rc == 0) {
        const char *kwhy = NULL;
        for (size_t i = c->first; i < out->n && rc == 0; i++)
            if (fix_key(&out->items[i].key, page->encoding_url, &kwhy) != 0)
                rc = -1;
        for (size_t i = 0; i < page->n_prefixes && rc == 0; i++) {
            if (page->encoding_url) {
                char *d = pct_decode(page->prefixes[i], strlen(page->prefixes[i]), PCT_PLUS_SPACE, NULL,
                                     NULL);
                if (!d) {
                    kwhy = "a url-encoded prefix with a bad escape";
                    rc = -1;
                    break;
                }
                free(page->prefixes[i]);
                page->prefixes[i] = d;
            }
        }
        if (rc != 0)
            snprintf(why, sizeof why, "%s", kwhy);
    }
    if (rc == 0 && page->is_truncated && !page->next_token) {
        snprintf(why, sizeof why, "IsTruncated true without a NextContinuationToken");
        rc = -1;
    }
    size_t first = c->first;
    free(c);
    if (rc != 0) {
        list_truncate(out, first);
        s3_list_page_free(page);
        return err_setk(e, ERR_DATA, "bad ListObjectsV2 response: %s", why);
    }
    return 0;
}

/* ---- multipart ------------------------------------------------------------ */

struct mpu_ctx {
    const char *root;       /* expected root element */
    const char *field;      /* the child we want */
    char *value;            /* malloc'd */
    size_t max;
    int root_ok;
    struct s3_xml_error xerr;
};

static void mpu_start(struct xp *x, void *ud)
{
    struct mpu_ctx *c = ud;
    if (x->depth == 1) {
        if (strcmp(x->names[0], c->root) == 0)
            c->root_ok = 1;
        else if (strcmp(x->names[0], "Error") != 0)
            xp_fail(x, "unexpected root element");
    }
}

static void mpu_end(struct xp *x, const char *t, size_t n, void *ud)
{
    struct mpu_ctx *c = ud;
    if (!c->root_ok) {
        if (t && xp_at(x, 2, "Error", "Code"))
            copy_display(c->xerr.code, sizeof c->xerr.code, t, n);
        else if (t && xp_at(x, 2, "Error", "Message"))
            copy_display(c->xerr.message, sizeof c->xerr.message, t, n);
        else if (t && xp_at(x, 2, "Error", "RequestId"))
            copy_display(c->xerr.request_id, sizeof c->xerr.request_id, t, n);
        return;
    }
    if (xp_at(x, 2, c->root, c->field)) {
        if (!t || n == 0 || n > c->max) {
            xp_fail(x, "field empty or too long");
            return;
        }
        free(c->value);
        c->value = strndup(t, n);
        if (!c->value)
            xp_fail(x, "out of memory");
    }
}

/* Returns 0 with c->value set, 1 for an <Error> document (c->xerr), -1 on
 * a parse failure (why). */
static int mpu_parse(struct mpu_ctx *c, const char *xml, size_t len, char *why, size_t why_sz)
{
    int rc = xp_parse(mpu_start, mpu_end, c, xml, len, S3_XML_MAX_BYTES, why, why_sz, NULL);
    if (rc != 0)
        return -1;
    if (!c->root_ok) {
        if (c->xerr.code[0])
            return 1;
        snprintf(why, why_sz, "no %s element", c->root);
        return -1;
    }
    if (!c->value) {
        snprintf(why, why_sz, "no %s in %s", c->field, c->root);
        return -1;
    }
    return 0;
}

int s3_xml_parse_initiate(const char *xml, size_t len, char **upload_id, struct err *e)
{
    *upload_id = NULL;
    struct mpu_ctx c = {.root = "InitiateMultipartUploadResult", .field = "UploadId",
                        .max = S3_TOKEN_MAX};
    char why[512];
    int rc = mpu_parse(&c, xml, len, why, sizeof why);
    if (rc == 1) {
        free(c.value);
        return err_setk(e, ERR_DATA, "CreateMultipartUpload answered S3 error %s: %s",
                        c.xerr.code, c.xerr.message);
    }
    if (rc != 0) {
        free(c.value);
        return err_setk(e, ERR_DATA, "bad CreateMultipartUpload response: %s", why);
    }
    *upload_id = c.value;
    return 0;
}

int s3_xml_parse_complete(const char *xml, size_t len, char etag[80],
                          struct s3_xml_error *err_out, struct err *e)
{
    return s3_xml_parse_etag_result(xml, len, "CompleteMultipartUploadResult", etag, err_out, e);
}

int s3_xml_parse_etag_result(const char *xml, size_t len, const char *root, char etag[80],
                             struct s3_xml_error *err_out, struct err *e)
{
    etag[0] = '\0';
    struct mpu_ctx c = {.root = root, .field = "ETag", .max = 200};
    char why[512];
    int rc = mpu_parse(&c, xml, len, why, sizeof why);
    if (rc == 1) {
        free(c.value);
        if (err_out)
            *err_out = c.xerr;
        return 1;
    }
    if (rc != 0) {
        free(c.value);
        return err_setk(e, ERR_DATA, "bad %s: %s", root, why);
    }
    rc = s3_etag_copy(etag, c.value, strlen(c.value));
    free(c.value);
    if (rc != 0)
        return err_setk(e, ERR_DATA, "bad %s: ETag too long", root);
    return 0;
}

char *s3_xml_build_complete(const struct s3_part *parts, size_t n, size_t *len_out)
{
    static const char head[] =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    static const char tail[] = "</CompleteMultipartUpload>";
    if (n == 0 || n > 10000)
        return NULL;
    /* per part: fixed tags ~60 bytes + number + quoted, escaped etag (<= 79*6) */
    size_t cap = sizeof head + sizeof tail + n * (80 + 16 + 79 * 6);
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    size_t len = 0;
    memcpy(buf, head, sizeof head - 1);
    len += sizeof head - 1;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].number < 1 || parts[i].number > 10000 ||
            strnlen(parts[i].etag, 80) >= 80) {
            free(buf);
            return NULL;
        }
        len += (size_t)snprintf(buf + len, cap - len, "<Part><PartNumber>%d</PartNumber><ETag>\"",
                                parts[i].number);
        for (const char *p = parts[i].etag; *p; p++) {
            const char *rep = NULL;
            switch (*p) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            default: break;
            }
            if (rep) {
                size_t rl = strlen(rep);
                memcpy(buf + len, rep, rl);
                len += rl;
            } else {
                buf[len++] = *p;
            }
        }
        len += (size_t)snprintf(buf + len, cap - len, "\"</ETag></Part>");
    }
    memcpy(buf + len, tail, sizeof tail);
    len += sizeof tail - 1;
    if (len_out)
        *len_out = len;
    return buf;
}

/* ---- ListMultipartUploads ------------------------------------------------ */

struct uploads_ctx {
    struct s3_upload_list *out;
    size_t first;
    struct s3_upload cur;
    int root_ok, truncated;
    char *next_key, *next_id;
    struct s3_xml_error xerr;
};

static void uploads_start(struct xp *x, void *ud)
{
    struct uploads_ctx *c = ud;
    if (x->depth == 1) {
        xp_root(x, "ListMultipartUploadsResult", &c->root_ok);
        return;
    }
    if (c->root_ok && xp_at(x, 2, "ListMultipartUploadsResult", "Upload")) {
        free(c->cur.key);
        free(c->cur.upload_id);
        memset(&c->cur, 0, sizeof c->cur);
        c->cur.initiated = -1;
    }
}

static int set_text(struct xp *x, char **dst, const char *t, size_t n, size_t max)
{
    if (!t || n > max) {
        xp_fail(x, "field too long");
        return -1;
    }
    free(*dst);
    *dst = strndup(t, n);
    if (!*dst) {
        xp_fail(x, "out of memory");
        return -1;
    }
    return 0;
}

static void uploads_end(struct xp *x, const char *t, size_t n, void *ud)
{
    struct uploads_ctx *c = ud;
    if (!c->root_ok) {
        if (t && xp_at(x, 2, "Error", "Code"))
            copy_display(c->xerr.code, sizeof c->xerr.code, t, n);
        else if (t && xp_at(x, 2, "Error", "Message"))
            copy_display(c->xerr.message, sizeof c->xerr.message, t, n);
        return;
    }
    const char *R = "ListMultipartUploadsResult";
    if (xp_at(x, 2, R, "IsTruncated")) {
        c->truncated = t && n == 4 && memcmp(t, "true", 4) == 0;
    } else if (xp_at(x, 2, R, "NextKeyMarker")) {
        if (n)
            set_text(x, &c->next_key, t, n, S3_KEY_MAX);
    } else if (xp_at(x, 2, R, "NextUploadIdMarker")) {
        if (n)
            set_text(x, &c->next_id, t, n, S3_TOKEN_MAX);
    } else if (xp_at(x, 3, R, "Upload", "Key")) {
        if (!n)
            xp_fail(x, "an Upload with an empty Key");
        else
            set_text(x, &c->cur.key, t, n, S3_KEY_MAX);
    } else if (xp_at(x, 3, R, "Upload", "UploadId")) {
        if (!n)
            xp_fail(x, "an Upload with an empty UploadId");
        else
            set_text(x, &c->cur.upload_id, t, n, S3_TOKEN_MAX);
    } else if (xp_at(x, 3, R, "Upload", "Initiated")) {
        char buf[64];
        if (t && n < sizeof buf) {
            memcpy(buf, t, n);
            buf[n] = '\0';
            if (datetime_parse_iso8601_utc(buf, &c->cur.initiated) != 0)
                c->cur.initiated = -1;
        }
    } else if (xp_at(x, 2, R, "Upload")) {
        if (!c->cur.key || !c->cur.upload_id) {
            xp_fail(x, "an Upload without Key or UploadId");
            return;
        }
        struct s3_upload_list *l = c->out;
        if (l->n == l->cap) {
            struct s3_upload *v = grow_array(l->items, l->n, &l->cap, sizeof *v, 16);
            if (!v) {
                xp_fail(x, "out of memory");
                return;
            }
            l->items = v;
        }
        l->items[l->n++] = c->cur;
        memset(&c->cur, 0, sizeof c->cur);
    }
}

int s3_xml_parse_uploads(const char *xml, size_t len, struct s3_upload_list *out,
                         int *truncated, char **next_key, char **next_upload_id,
                         struct err *e)
{
    *truncated = 0;
    *next_key = *next_upload_id = NULL;
    struct uploads_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(e, "out of memory");
    c->out = out;
    c->first = out->n;
    char why[512];
    int rc = xp_parse(uploads_start, uploads_end, c, xml, len, S3_XML_MAX_BYTES, why, sizeof why,
                      NULL);
    free(c->cur.key);
    free(c->cur.upload_id);
    if (rc == 0 && !c->root_ok) {
        if (c->xerr.code[0])
            snprintf(why, sizeof why, "S3 error %s: %s", c->xerr.code, c->xerr.message);
        else
            snprintf(why, sizeof why, "no ListMultipartUploadsResult element");
        rc = -1;
    }
    if (rc != 0) {
        for (size_t i = c->first; i < out->n; i++) {
            free(out->items[i].key);
            free(out->items[i].upload_id);
        }
        out->n = c->first;
        free(c->next_key);
        free(c->next_id);
        free(c);
        return err_setk(e, ERR_DATA, "bad ListMultipartUploads response: %s", why);
    }
    *truncated = c->truncated;
    *next_key = c->next_key;
    *next_upload_id = c->next_id;
    free(c);
    return 0;
}
