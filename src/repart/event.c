#include "event.h"
#include "grow.h"
#include "hex.h"
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coldkey.h"

/* Keys, bucket names and event names come from outside: quote them printable
 * and bounded so that a hostile document cannot garble or flood a log line. */
#define QUOTE_MAX 300

static const char *quote(const char *s, char out[QUOTE_MAX + 4])
{
    return log_quote(s, out, QUOTE_MAX + 4);
}

/* ---- URL decoding ---- */

/* ---- parsing ---- */

#define PATH_MAX_LEN 256

struct ctx {
    const char       *name;
    struct event_doc *doc;
    struct err       *e;
    int               n_ignored;   /* ignored sub-documents seen */
};

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a number";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    case JSON_NULL:    return "null";
    }
    return "a value";
}

/* path + suffix into out (truncated with "..." when too long: it only
 * serves messages). */
static void path_join(char out[PATH_MAX_LEN], const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void path_join(char out[PATH_MAX_LEN], const char *path, const char *fmt, ...)
{
    char suffix[PATH_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(suffix, sizeof suffix, fmt, ap);
    va_end(ap);
    const char *dot = (path[0] && suffix[0] != '[') ? "." : "";
    int n = snprintf(out, PATH_MAX_LEN, "%s%s%s", path, dot, suffix);
    if (n >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

/* "<name>: <path>: " prefix for errors; the top level has no path. */
static int fail(struct ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, const char *path, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char qn[QUOTE_MAX + 4];
    quote(c->name, qn);
    if (path && path[0])
        return err_setk(c->e, ERR_DATA, "%s: %s: %s", qn, path, msg);
    return err_setk(c->e, ERR_DATA, "%s: %s", qn, msg);
}

static int oom(struct ctx *c)
{
    char qn[QUOTE_MAX + 4];
    return err_setk(c->e, ERR_GENERIC, "%s: out of memory", quote(c->name, qn));
}

/* Member `field` of object `o` that must be of `type` (JSON null counts as
 * absent). Returns 1 found, 0 absent (an error when required), -1 error. */
static int member(struct ctx *c, json_t *o, const char *path, const char *field, json_type type,
                  int required, json_t **out)
{
    char p[PATH_MAX_LEN];
    json_t *v = json_object_get(o, field);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (!required)
            return 0;
        path_join(p, path, "%s", field);
        return fail(c, p, "missing");
    }
    if (json_typeof(v) != type) {
        static const char *want[] = {
            [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
            [JSON_INTEGER] = "an integer",
        };
        path_join(p, path, "%s", field);
        return fail(c, p, "expected %s, got %s", type <= JSON_INTEGER ? want[type] : "?",
                    type_name(v));
    }
    *out = v;
    return 1;
}

static int str_member(struct ctx *c, json_t *o, const char *path, const char *field,
                      int required, const char **out)
{
    json_t *v;
    int r = member(c, o, path, field, JSON_STRING, required, &v);
    *out = r == 1 ? json_string_value(v) : NULL;
    return r;
}

static struct event_record *new_record(struct ctx *c, int from, const char *where)
{
    struct event_doc *d = c->doc;
    if (d->n == d->cap) {
        struct event_record *nv = grow_array(d->v, d->n, &d->cap, sizeof *nv, 8);
        if (!nv)
            return NULL;
        d->v = nv;
    }
    struct event_record *r = &d->v[d->n];
    memset(r, 0, sizeof *r);
    r->from = from;
    r->size = -1;
    r->where = strdup(where);
    if (!r->where)
        return NULL;
    d->n++;
    return r;
}

static int set_str(char **dst, const char *s)
{
    if (!s)
        return 0;
    *dst = strdup(s);
    return *dst ? 0 : -1;
}

static int set_skip(struct event_record *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int set_skip(struct event_record *r, const char *fmt, ...)
{
    char buf[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return set_str(&r->skip, buf);
}

/* Optional non-negative integer `size`. */
static int size_member(struct ctx *c, json_t *obj, const char *path, long long *out)
{
    json_t *v;
    int r = member(c, obj, path, "size", JSON_INTEGER, 0, &v);
    if (r < 0)
        return -1;
    if (r == 1) {
        if (json_integer_value(v) < 0) {
            char p[PATH_MAX_LEN];
            path_join(p, path, "size");
            return fail(c, p, "negative");
        }
        *out = (long long)json_integer_value(v);
    }
    return 0;
}

static int parse_doc(struct ctx *c, const char *json, size_t len, const char *path, int depth);
static int parse_value(struct ctx *c, json_t *root, const char *path, int depth);

/* Records[i] with eventSource aws:s3. */
/* {"bucket":{"name":..}, "object":{"key":.., "<etag_field>":.., "size":..}}
 * under `parent` (an S3 record's "s3", an EventBridge "detail"). */
static int bucket_object(struct ctx *c, json_t *parent, const char *ppath, const char *etag_field,
                         const char **bucket, const char **key, const char **etag,
                         long long *size)
{
    char p_b[PATH_MAX_LEN], p_o[PATH_MAX_LEN];
    json_t *b, *o;
    if (member(c, parent, ppath, "bucket", JSON_OBJECT, 1, &b) < 0 ||
        member(c, parent, ppath, "object", JSON_OBJECT, 1, &o) < 0)
        return -1;
    path_join(p_b, ppath, "bucket");
    path_join(p_o, ppath, "object");
    if (str_member(c, b, p_b, "name", 1, bucket) < 0 || str_member(c, o, p_o, "key", 1, key) < 0 ||
        str_member(c, o, p_o, etag_field, 0, etag) < 0)
        return -1;
    return size_member(c, o, p_o, size);
}

static int parse_s3_record(struct ctx *c, json_t *rec, const char *path)
{
    char p_s3[PATH_MAX_LEN];
    const char *event_name, *bucket, *key, *etag;
    json_t *s3;
    if (str_member(c, rec, path, "eventName", 1, &event_name) < 0)
        return -1;
    if (member(c, rec, path, "s3", JSON_OBJECT, 1, &s3) < 0)
        return -1;
    path_join(p_s3, path, "s3");
    long long size = -1;
    if (bucket_object(c, s3, p_s3, "eTag", &bucket, &key, &etag, &size) < 0)
        return -1;

    struct event_record *r = new_record(c, EVENT_FROM_S3, path);
    if (!r || set_str(&r->bucket, bucket) < 0 || set_str(&r->event_name, event_name) < 0 ||
        set_str(&r->etag, etag) < 0)
        return oom(c);
    r->size = size;
    r->created = strncmp(event_name, "ObjectCreated:", 14) == 0;

    char q[QUOTE_MAX + 4];
    size_t klen = strlen(key);  /* no NUL inside: we do not set JSON_ALLOW_NUL */
    long bad = 0;
    size_t dlen = 0;
    char *dec = pct_decode(key, klen, PCT_PLUS_SPACE, &dlen, &bad);
    if (!dec) {
        if (bad < 0)
            return oom(c);
        char qb[QUOTE_MAX + 4];
        if (set_skip(r, "s3://%s/%s: invalid URL encoding in the key at byte %ld",
                     quote(bucket, qb), quote(key, q), bad) < 0)
            return oom(c);
        return 0;
    }
    r->key = dec;
    if (dlen == 0 || dlen > EVENT_KEY_MAX) {
        char qb[QUOTE_MAX + 4];
        if (set_skip(r, "s3://%s/%s: key %s", quote(bucket, qb), quote(dec, q),
                     dlen ? "longer than 1024 bytes" : "empty") < 0)
            return oom(c);
    }
    return 0;
}

/* An SNS message object (top level with "Type", or Records[i].Sns). */
static int parse_sns(struct ctx *c, json_t *o, const char *path, int depth)
{
    const char *type, *msg;
    char p[PATH_MAX_LEN];
    if (str_member(c, o, path, "Type", 1, &type) < 0)
        return -1;
    if (strcmp(type, "Notification") == 0) {
        if (str_member(c, o, path, "Message", 1, &msg) < 0)
            return -1;
        path_join(p, path, "Message");
        return parse_doc(c, msg, json_string_length(json_object_get(o, "Message")), p, depth + 1);
    }
    if (strcmp(type, "SubscriptionConfirmation") == 0 ||
        strcmp(type, "UnsubscribeConfirmation") == 0) {
        c->n_ignored++;
        if (!c->doc->ignored_what && set_str(&c->doc->ignored_what, type) < 0)
            return oom(c);
        return 0;
    }
    char q[QUOTE_MAX + 4];
    path_join(p, path, "Type");
    return fail(c, p, "unsupported SNS message type \"%s\"", quote(type, q));
}

static int parse_records(struct ctx *c, json_t *arr, const char *path, int depth)
{
    char p[PATH_MAX_LEN], q[QUOTE_MAX + 4];
    size_t i;
    json_t *rec;
    json_array_foreach(arr, i, rec) {
        path_join(p, path, "[%zu]", i);
        if (!json_is_object(rec))
            return fail(c, p, "expected an object, got %s", type_name(rec));
        const char *src;
        /* Lambda's SNS events spell it EventSource */
        const char *field = json_object_get(rec, "eventSource") ? "eventSource" : "EventSource";
        if (str_member(c, rec, p, field, 0, &src) < 0)
            return -1;
        if (src && strcmp(src, "aws:s3") == 0) {
            if (parse_s3_record(c, rec, p) < 0)
                return -1;
        } else if (src && strcmp(src, "aws:sqs") == 0) {
            const char *body;
            char pb[PATH_MAX_LEN];
            if (str_member(c, rec, p, "body", 1, &body) < 0)
                return -1;
            path_join(pb, p, "body");
            if (parse_doc(c, body, json_string_length(json_object_get(rec, "body")), pb,
                          depth + 1) < 0)
                return -1;
        } else if (src && strcmp(src, "aws:sns") == 0) {
            json_t *sns;
            char ps[PATH_MAX_LEN];
            if (member(c, rec, p, "Sns", JSON_OBJECT, 1, &sns) < 0)
                return -1;
            path_join(ps, p, "Sns");
            if (parse_sns(c, sns, ps, depth) < 0)
                return -1;
        } else {
            struct event_record *r = new_record(c, 0, p);
            if (!r)
                return oom(c);
            int rc = src ? set_skip(r, "unsupported eventSource \"%s\"", quote(src, q))
                         : set_skip(r, "record without eventSource");
            if (rc < 0)
                return oom(c);
        }
    }
    return 0;
}

static int parse_eventbridge(struct ctx *c, json_t *o, const char *path)
{
    const char *source, *dtype, *bucket, *key, *etag;
    char q[QUOTE_MAX + 4], p_d[PATH_MAX_LEN];
    json_t *d;
    if (str_member(c, o, path, "source", 1, &source) < 0 ||
        str_member(c, o, path, "detail-type", 1, &dtype) < 0)
        return -1;
    if (strcmp(source, "aws.s3") != 0) {
        path_join(p_d, path, "source");
        return fail(c, p_d, "EventBridge event from \"%s\", not aws.s3", quote(source, q));
    }
    if (member(c, o, path, "detail", JSON_OBJECT, 1, &d) < 0)
        return -1;
    path_join(p_d, path, "detail");
    long long size = -1;
    if (bucket_object(c, d, p_d, "etag", &bucket, &key, &etag, &size) < 0)
        return -1;

    struct event_record *r = new_record(c, EVENT_FROM_EVENTBRIDGE, path[0] ? path : "detail");
    if (!r || set_str(&r->bucket, bucket) < 0 || set_str(&r->event_name, dtype) < 0 ||
        set_str(&r->etag, etag) < 0 || set_str(&r->key, key) < 0)
        return oom(c);
    r->size = size;
    r->created = strcmp(dtype, "Object Created") == 0;
    size_t klen = strlen(key);  /* no NUL inside: we do not set JSON_ALLOW_NUL */
    if (klen == 0 || klen > EVENT_KEY_MAX) {
        char qb[QUOTE_MAX + 4];
        if (set_skip(r, "s3://%s/%s: key %s", quote(bucket, qb), quote(key, q),
                     klen ? "longer than 1024 bytes" : "empty") < 0)
            return oom(c);
    }
    return 0;
}

static int parse_value(struct ctx *c, json_t *root, const char *path, int depth)
{
    json_t *v;
    char p[PATH_MAX_LEN];
    if (!json_is_object(root))
        return fail(c, path, "expected a JSON object, got %s", type_name(root));

    if (json_object_get(root, "Records")) {
        if (member(c, root, path, "Records", JSON_ARRAY, 1, &v) < 0)
            return -1;
        path_join(p, path, "Records");
        return parse_records(c, v, p, depth);
    }
    if (json_object_get(root, "Messages")) {
        /* `aws sqs receive-message` output */
        if (member(c, root, path, "Messages", JSON_ARRAY, 1, &v) < 0)
            return -1;
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            char pm[PATH_MAX_LEN], pb[PATH_MAX_LEN];
            const char *body;
            path_join(pm, path, "Messages[%zu]", i);
            if (!json_is_object(m))
                return fail(c, pm, "expected an object, got %s", type_name(m));
            if (str_member(c, m, pm, "Body", 1, &body) < 0)
                return -1;
            path_join(pb, pm, "Body");
            if (parse_doc(c, body, json_string_length(json_object_get(m, "Body")), pb,
                          depth + 1) < 0)
                return -1;
        }
        return 0;
    }
    if (json_object_get(root, "detail-type") || json_object_get(root, "detail"))
        return parse_eventbridge(c, root, path);
    if (json_object_get(root, "Type"))
        return parse_sns(c, root, path, depth);
    if (json_object_get(root, "Event")) {
        const char *ev;
        if (str_member(c, root, path, "Event", 1, &ev) < 0)
            return -1;
        if (strcmp(ev, "s3:TestEvent") == 0) {
            c->n_ignored++;
            if (!c->doc->ignored_what && set_str(&c->doc->ignored_what, ev) < 0)
                return oom(c);
            return 0;
        }
        char q[QUOTE_MAX + 4];
        path_join(p, path, "Event");
        return fail(c, p, "unsupported event \"%s\"", quote(ev, q));
    }
    return fail(c, path,
                "not an S3 event: expected \"Records\" (S3, SQS or SNS records), \"Messages\", "
                "an SNS envelope (\"Type\"), an EventBridge event (\"detail-type\") or "
                "s3:TestEvent (\"Event\")");
}

static int parse_doc(struct ctx *c, const char *json, size_t len, const char *path, int depth)
{
    if (depth > EVENT_NEST_MAX)
        return fail(c, path, "documents nested more than %d deep", EVENT_NEST_MAX);
    if (len > EVENT_DOC_MAX)
        return fail(c, path, "document of %zu bytes is larger than the limit of %u", len,
                    EVENT_DOC_MAX);
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root) {
        char q[QUOTE_MAX + 4];
        return fail(c, path, "invalid JSON at line %d, column %d: %s", je.line, je.column,
                    quote(je.text, q));
    }
    int rc = parse_value(c, root, path, depth);
    json_decref(root);
    return rc;
}

void event_doc_free(struct event_doc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        struct event_record *r = &d->v[i];
        free(r->where);
        free(r->bucket);
        free(r->key);
        free(r->event_name);
        free(r->etag);
        free(r->skip);
    }
    free(d->v);
    free(d->ignored_what);
    memset(d, 0, sizeof *d);
}

int event_parse(const char *json, size_t len, const char *name, struct event_doc *out,
                struct err *e)
{
    memset(out, 0, sizeof *out);
    struct ctx c = {.name = name ? name : "event", .doc = out, .e = e};
    if (!json)
        json = "";
    if (parse_doc(&c, json, len, "", 0) < 0) {
        event_doc_free(out);
        return -1;
    }
    out->ignored = c.n_ignored > 0 && out->n == 0;
    if (!out->ignored) {
        free(out->ignored_what);
        out->ignored_what = NULL;
    }
    return 0;
}

/* ---- mapping to days ---- */

int event_record_day(const struct event_record *r, const struct event_filter *f,
                     struct day *day, char *why, size_t why_size)
{
    char qb[QUOTE_MAX + 4], qk[QUOTE_MAX + 4], qx[QUOTE_MAX + 4];
    if (r->skip) {
        snprintf(why, why_size, "%s", r->skip);
        return 0;
    }
    quote(r->bucket, qb);
    quote(r->key, qk);
    if (!r->created) {
        snprintf(why, why_size, "s3://%s/%s: %s is not a new object", qb, qk,
                 quote(r->event_name, qx));
        return 0;
    }
    if (!r->bucket || !f->bucket || strcmp(r->bucket, f->bucket) != 0) {
        snprintf(why, why_size, "s3://%s/%s: not the cold tier bucket \"%s\"", qb, qk,
                 quote(f->bucket, qx));
        return 0;
    }
    const char *prefix = f->data_prefix ? f->data_prefix : "";
    int ds = 0;
    if (f->agg_prefix && f->agg_prefix[0] && r->key &&
        strncmp(r->key, f->agg_prefix, strlen(f->agg_prefix)) == 0) {
        prefix = f->agg_prefix;
        ds = 1;
    } else if (f->agg_prefix && f->agg_prefix[0] && !prefix[0]) {
        prefix = NULL;   /* raw not selected */
    }
    size_t plen = prefix ? strlen(prefix) : 0;
    if (!r->key || !prefix || strncmp(r->key, prefix, plen) != 0) {
        if (r->key && strncmp(r->key, "asset_metadata/", 15) == 0)
            snprintf(why, why_size, "s3://%s/%s: asset metadata, not data of a day", qb, qk);
        else if (f->agg_prefix && f->agg_prefix[0] && prefix) {
            char qa[QUOTE_MAX + 4];
            snprintf(why, why_size, "s3://%s/%s: outside the data prefixes \"%s\" and \"%s\"",
                     qb, qk, quote(prefix, qx), quote(f->agg_prefix, qa));
        } else
            snprintf(why, why_size, "s3://%s/%s: outside the data prefix \"%s\"", qb, qk,
                     quote(prefix ? prefix : f->agg_prefix, qx));
        return 0;
    }
    /* The day part is "startYear=Y/startMonth=M/startDay=D/": up to the third
     * '/' after the prefix. */
    const char *p = r->key + plen;
    const char *s = p;
    int slashes = 0;
    while (*s && slashes < 3) {
        if (*s == '/')
            slashes++;
        s++;
    }
    size_t part = (size_t)(s - p);
    if (slashes < 3 || part >= DAY_PARTITION_MAX || plen > COLDKEY_PREFIX_MAX) {
        snprintf(why, why_size,
                 "s3://%s/%s: not under a day partition (startYear=Y/startMonth=M/startDay=D/)",
                 qb, qk);
        return 0;
    }
    char buf[COLDKEY_PREFIX_MAX + DAY_PARTITION_MAX + 1];
    memcpy(buf, r->key, plen + part);
    buf[plen + part] = '\0';
    struct err ce;
    err_clear(&ce);
    if (coldkey_parse_day(buf, prefix, day, &ce) < 0) {
        snprintf(why, why_size, "s3://%s/%s: not under a day partition: %s", qb, qk, ce.msg);
        return 0;
    }
    day->ds = ds;
    return 1;
}

/* ---- batch ---- */

static size_t day_lower_bound(const struct day_list *l, const struct day *d)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (day_item_cmp(&l->v[mid], d) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int event_day_list_add(struct day_list *l, const struct day *d)
{
    size_t i = day_lower_bound(l, d);
    if (i < l->n && day_item_cmp(&l->v[i], d) == 0)
        return 0;
    struct day *nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    l->v = nv;
    memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof *nv);
    l->v[i] = *d;
    l->n++;
    return 0;
}

/* a ∪ b (both sorted unique) into a fresh list. */
static int day_union(const struct day_list *a, const struct day_list *b, struct day_list *out)
{
    out->n = 0;
    out->v = malloc((a->n + b->n + 1) * sizeof *out->v);
    if (!out->v)
        return -1;
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1 : day_item_cmp(&a->v[i], &b->v[j]);
        if (c <= 0) {
            out->v[out->n++] = a->v[i++];
            if (c == 0)
                j++;
        } else {
            out->v[out->n++] = b->v[j++];
        }
    }
    return 0;
}

int event_batch_add(struct event_batch *b, const char *json, size_t len, const char *name,
                    const struct event_filter *f, struct event_doc_days *doc_days,
                    struct err *e)
{
    struct event_doc_days dd;
    memset(&dd, 0, sizeof dd);
    if (doc_days)
        memset(doc_days, 0, sizeof *doc_days);
    if (!name)
        name = "event";

    struct event_doc doc;
    if (event_parse(json, len, name, &doc, e) < 0)
        return -1;

    char qn[QUOTE_MAX + 4];
    quote(name, qn);
    char **reasons = NULL;
    size_t n_reasons = 0;
    struct day_list merged = {0};
    int rc = -1;

    if (doc.n) {
        reasons = calloc(doc.n, sizeof *reasons);
        if (!reasons)
            goto oom;
    }
    for (size_t i = 0; i < doc.n; i++) {
        struct day d = {0};
        char why[ERR_MSG_MAX];
        if (event_record_day(&doc.v[i], f, &d, why, sizeof why)) {
            if (event_day_list_add(&dd.days, &d) < 0)
                goto oom;
            dd.n_used++;
        } else {
            dd.n_skipped++;
            size_t need = strlen(qn) + strlen(doc.v[i].where) + strlen(why) + 5;
            char *s = malloc(need);
            if (!s)
                goto oom;
            snprintf(s, need, "%s: %s: %s", qn, doc.v[i].where, why);
            reasons[n_reasons++] = s;
        }
    }
    dd.n_records = doc.n;
    dd.ignored = doc.ignored;

    /* Commit: nothing below fails after the batch starts changing. */
    if (day_union(&b->days, &dd.days, &merged) < 0)
        goto oom;
    size_t keep = n_reasons;
    if (b->n_skipped_kept + keep > EVENT_SKIP_MAX)
        keep = EVENT_SKIP_MAX - b->n_skipped_kept;
    if (keep) {
        char **ns = realloc(b->skipped, (b->n_skipped_kept + keep) * sizeof *ns);
        if (!ns)
            goto oom;
        b->skipped = ns;
    }
    for (size_t i = 0; i < n_reasons; i++) {
        if (i < keep) {
            b->skipped[b->n_skipped_kept++] = reasons[i];
            reasons[i] = NULL;
        }
    }
    day_list_free(&b->days);
    b->days = merged;
    merged.v = NULL;
    b->n_skipped += dd.n_skipped;
    b->n_docs++;
    b->n_ignored += dd.ignored ? 1 : 0;
    b->n_records += dd.n_records;
    b->n_used += dd.n_used;
    if (doc_days) {
        *doc_days = dd;
        dd.days.v = NULL;
    }
    rc = 0;
    goto out;

oom:
    err_setk(e, ERR_GENERIC, "%s: out of memory", qn);
out:
    for (size_t i = 0; i < n_reasons; i++)
        free(reasons[i]);
    free(reasons);
    day_list_free(&merged);
    day_list_free(&dd.days);
    event_doc_free(&doc);
    return rc;
}

void event_batch_free(struct event_batch *b)
{
    if (!b)
        return;
    day_list_free(&b->days);
    for (size_t i = 0; i < b->n_skipped_kept; i++)
        free(b->skipped[i]);
    free(b->skipped);
    memset(b, 0, sizeof *b);
}
