#include "avsc.h"
#include "grow.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_call.h"
#include "ocf.h"

int avsc_parse(const char *json, size_t len, avro_schema_t *out, struct err *e)
{
    *out = NULL;
    char m[AVRO_CALL_MSG_MAX];
    if (avro_call_schema_from_json(json, len, out, m) != 0) {
        *out = NULL;
        return err_setk(e, ERR_DATA, "invalid schema: %s", *m ? m : "parse error");
    }
    return 0;
}

int avsc_equal(avro_schema_t a, avro_schema_t b)
{
    return avro_schema_equal(a, b) && avro_schema_equal(b, a);
}

/* ---- records of a parsed schema ---- */

struct rec {
    avro_schema_t s;     /* record node (not a link) */
    char *fullname;
    json_t *fields;      /* JSON "fields" array from the schema text (borrowed) */
};

struct recs {
    struct rec *v;
    size_t n, cap;
};

static void recs_free(struct recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].fullname);
    free(r->v);
    memset(r, 0, sizeof *r);
}

static char *full_name(const char *ns, const char *name)
{
    char *s;
    if (strchr(name, '.') || !ns || !*ns)
        s = strdup(name);
    else if (asprintf(&s, "%s.%s", ns, name) < 0)
        s = NULL;
    return s;
}

static int recs_add(struct recs *r, avro_schema_t s, char *fullname, struct err *e)
{
    if (!fullname)
        return err_set(e, "out of memory");
    if (r->n == r->cap) {
        struct rec *nv = grow_array(r->v, r->n, &r->cap, sizeof *nv, 16);
        if (!nv) {
            free(fullname);
            return err_set(e, "out of memory");
        }
        r->v = nv;
    }
    r->v[r->n++] = (struct rec){.s = s, .fullname = fullname, .fields = NULL};
    return 0;
}

/* Collects every record node reachable from s (each once). */
static int collect_records(avro_schema_t s, struct recs *r, int depth, struct err *e)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    if (!s || depth > 256)
        return err_set(e, "schema too deep or dangling reference");
    switch (avro_typeof(s)) {
    case AVRO_RECORD: {
        for (size_t i = 0; i < r->n; i++)
            if (r->v[i].s == s)
                return 0;
        if (recs_add(r, s, full_name(avro_schema_namespace(s), avro_schema_name(s)), e) < 0)
            return -1;
        size_t k = avro_schema_record_size(s);
        for (size_t i = 0; i < k; i++)
            if (collect_records(avro_schema_record_field_get_by_index(s, (int)i), r, depth + 1,
                                e) < 0)
                return -1;
        return 0;
    }
    case AVRO_UNION: {
        size_t k = avro_schema_union_size(s);
        for (size_t i = 0; i < k; i++)
            if (collect_records(avro_schema_union_branch(s, (int)i), r, depth + 1, e) < 0)
                return -1;
        return 0;
    }
    case AVRO_ARRAY:
        return collect_records(avro_schema_array_items(s), r, depth + 1, e);
    case AVRO_MAP:
        return collect_records(avro_schema_map_values(s), r, depth + 1, e);
    default:
        return 0;
    }
}

/* Calls fn for every record definition in schema JSON, with its full name. */
typedef int (*json_rec_fn)(void *ud, const char *fullname, json_t *obj, struct err *e);

static int json_walk(json_t *j, const char *ns, json_rec_fn fn, void *ud, int depth,
                     struct err *e)
{
    if (depth > 256)
        return err_set(e, "schema JSON nested too deeply");
    if (json_is_array(j)) {
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x)
            if (json_walk(x, ns, fn, ud, depth + 1, e) < 0)
                return -1;
        return 0;
    }
    if (!json_is_object(j))
        return 0;
    json_t *type = json_object_get(j, "type");
    const char *t = json_string_value(type);
    if (!t)
        return json_is_object(type) || json_is_array(type)
            ? json_walk(type, ns, fn, ud, depth + 1, e) : 0;
    if (!strcmp(t, "array"))
        return json_walk(json_object_get(j, "items"), ns, fn, ud, depth + 1, e);
    if (!strcmp(t, "map"))
        return json_walk(json_object_get(j, "values"), ns, fn, ud, depth + 1, e);
    if (strcmp(t, "record") && strcmp(t, "error"))
        return 0;
    const char *name = json_string_value(json_object_get(j, "name"));
    if (!name)
        return 0;
    const char *own_ns = json_string_value(json_object_get(j, "namespace"));
    if (json_object_get(j, "namespace") && own_ns)
        ns = own_ns;
    char *fn_ = full_name(ns, name);
    if (!fn_)
        return err_set(e, "out of memory");
    /* the namespace for nested definitions is that of the full name */
    char *inner = strdup(fn_);
    if (!inner) {
        free(fn_);
        return err_set(e, "out of memory");
    }
    char *dot = strrchr(inner, '.');
    if (dot)
        *dot = '\0';
    else
        inner[0] = '\0';
    int rc = fn(ud, fn_, j, e);
    free(fn_);
    json_t *fields = json_object_get(j, "fields");
    size_t i;
    json_t *f;
    if (rc == 0 && json_is_array(fields)) {
        json_array_foreach(fields, i, f)
            if ((rc = json_walk(json_object_get(f, "type"), inner, fn, ud, depth + 1, e)) < 0)
                break;
    }
    free(inner);
    return rc;
}

static int attach_fields(void *ud, const char *fullname, json_t *obj, struct err *e)
{
    (void)e;
    struct recs *r = ud;
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].fullname, fullname) && !r->v[i].fields)
            r->v[i].fields = json_object_get(obj, "fields");
    return 0;
}

static struct rec *find_rec(struct recs *r, const char *fullname, const char *shortname)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->v[i].fullname, fullname))
            return &r->v[i];
    /* Avro C matches records by short name: follow it when unambiguous */
    struct rec *hit = NULL;
    for (size_t i = 0; i < r->n; i++) {
        if (!strcmp(avro_schema_name(r->v[i].s), shortname)) {
            if (hit)
                return NULL;
            hit = &r->v[i];
        }
    }
    return hit;
}

static json_t *field_json(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
        if (json_is_string(json_object_get(f, "name"))
            && !strcmp(json_string_value(json_object_get(f, "name")), name))
            return f;
    return NULL;
}

/* ---- default values ---- */

static int put_long(struct bytebuf *out, int64_t v, struct err *e)
{
    unsigned char b[10];
    return bytebuf_append(out, b, ocf_put_long(b, v), e);
}

/* bytes/fixed defaults are JSON strings whose code points are byte values */
static int latin1(const char *s, size_t n, struct bytebuf *out, size_t *count, struct err *e)
{
    *count = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        unsigned v;
        if (c < 0x80) {
            v = c;
            i++;
        } else if ((c & 0xe0) == 0xc0 && i + 1 < n) {
            v = (unsigned)(c & 0x1f) << 6 | ((unsigned char)s[i + 1] & 0x3f);
            i += 2;
        } else {
            return err_setk(e, ERR_DATA, "bytes default has a character above U+00FF");
        }
        if (v > 0xff)
            return err_setk(e, ERR_DATA, "bytes default has a character above U+00FF");
        unsigned char b = (unsigned char)v;
        if (bytebuf_append(out, &b, 1, e) < 0)
            return -1;
        (*count)++;
    }
    return 0;
}

static int enc_default(avro_schema_t s, json_t *v, struct bytebuf *out, int depth,
                       struct err *e);

/* floats and doubles: IEEE 754, little-endian */
static int enc_float(json_t *v, struct bytebuf *out, struct err *e)
{
    float f = (float)json_number_value(v);
    uint32_t u;
    memcpy(&u, &f, 4);
    unsigned char b[4] = {(unsigned char)u, (unsigned char)(u >> 8),
                          (unsigned char)(u >> 16), (unsigned char)(u >> 24)};
    return bytebuf_append(out, b, 4, e);
}

static int enc_double(json_t *v, struct bytebuf *out, struct err *e)
{
    double d = json_number_value(v);
    uint64_t u;
    memcpy(&u, &d, 8);
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    return bytebuf_append(out, b, 8, e);
}

/* A bytes or fixed default; v is a JSON string. */
static int enc_bytes(avro_schema_t s, json_t *v, struct bytebuf *out, struct err *e)
{
    /* encode into a scratch buffer first: bytes need the length in front */
    struct bytebuf tmp = {0};
    size_t n;
    if (latin1(json_string_value(v), json_string_length(v), &tmp, &n, e) < 0) {
        bytebuf_free(&tmp);
        return -1;
    }
    int rc;
    if (avro_typeof(s) == AVRO_FIXED) {
        rc = (int64_t)n == avro_schema_fixed_size(s)
            ? bytebuf_append(out, tmp.data, tmp.len, e)
            : err_setk(e, ERR_DATA, "fixed default has %zu bytes, the type %lld", n,
                       (long long)avro_schema_fixed_size(s));
    } else {
        rc = put_long(out, (int64_t)n, e);
        if (rc == 0)
            rc = bytebuf_append(out, tmp.data, tmp.len, e);
    }
    bytebuf_free(&tmp);
    return rc;
}

/* An array default (v a JSON array): one block of all items, then the end. */
static int enc_array(avro_schema_t s, json_t *v, struct bytebuf *out, int depth,
                     struct err *e)
{
    size_t i, n = json_array_size(v);
    json_t *x;
    if (n && put_long(out, (int64_t)n, e) < 0)
        return -1;
    json_array_foreach(v, i, x)
        if (enc_default(avro_schema_array_items(s), x, out, depth + 1, e) < 0)
            return -1;
    return put_long(out, 0, e);
}

/* A map default (v a JSON object): one block of all entries, then the end. */
static int enc_map(avro_schema_t s, json_t *v, struct bytebuf *out, int depth,
                   struct err *e)
{
    size_t n = json_object_size(v);
    const char *k;
    json_t *x;
    if (n && put_long(out, (int64_t)n, e) < 0)
        return -1;
    json_object_foreach(v, k, x) {
        size_t kl = strlen(k);
        if (put_long(out, (int64_t)kl, e) < 0 || bytebuf_append(out, k, kl, e) < 0
            || enc_default(avro_schema_map_values(s), x, out, depth + 1, e) < 0)
            return -1;
    }
    return put_long(out, 0, e);
}

/* A record default (v a JSON object): every field, in the schema's order. */
static int enc_record(avro_schema_t s, json_t *v, struct bytebuf *out, int depth,
                      struct err *e)
{
    size_t k = avro_schema_record_size(s);
    for (size_t i = 0; i < k; i++) {
        const char *fname = avro_schema_record_field_name(s, (int)i);
        json_t *x = json_object_get(v, fname);
        if (!x)
            return err_setk(e, ERR_DATA, "record default lacks field '%s'", fname);
        if (enc_default(avro_schema_record_field_get_by_index(s, (int)i), x, out,
                        depth + 1, e) < 0)
            return -1;
    }
    return 0;
}

/* Encodes v, a JSON default value, as a datum of s (as the Avro spec reads
 * defaults: bytes as code points, a union's of its first branch). */
static int enc_default(avro_schema_t s, json_t *v, struct bytebuf *out, int depth,
                       struct err *e)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    if (!s || depth > 64)
        return err_setk(e, ERR_DATA, "default value nested too deeply");
    const char *tn = avro_schema_type_name(s);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        if (!json_is_null(v))
            goto bad;
        return 0;
    case AVRO_BOOLEAN: {
        if (!json_is_boolean(v))
            goto bad;
        unsigned char b = json_is_true(v);
        return bytebuf_append(out, &b, 1, e);
    }
    case AVRO_INT32:
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN
            || json_integer_value(v) > INT32_MAX)
            goto bad;
        return put_long(out, json_integer_value(v), e);
    case AVRO_INT64:
        if (!json_is_integer(v))
            goto bad;
        return put_long(out, json_integer_value(v), e);
    case AVRO_FLOAT:
        if (!json_is_number(v))
            goto bad;
        return enc_float(v, out, e);
    case AVRO_DOUBLE:
        if (!json_is_number(v))
            goto bad;
        return enc_double(v, out, e);
    case AVRO_STRING:
        if (!json_is_string(v))
            goto bad;
        if (put_long(out, (int64_t)json_string_length(v), e) < 0)
            return -1;
        return bytebuf_append(out, json_string_value(v), json_string_length(v), e);
    case AVRO_BYTES:
    case AVRO_FIXED:
        if (!json_is_string(v))
            goto bad;
        return enc_bytes(s, v, out, e);
    case AVRO_ENUM: {
        if (!json_is_string(v))
            goto bad;
        int i = avro_schema_enum_get_by_name(s, json_string_value(v));
        if (i < 0)
            return err_setk(e, ERR_DATA, "enum default '%s' is not a symbol",
                            json_string_value(v));
        return put_long(out, i, e);
    }
    case AVRO_ARRAY:
        if (!json_is_array(v))
            goto bad;
        return enc_array(s, v, out, depth, e);
    case AVRO_MAP:
        if (!json_is_object(v))
            goto bad;
        return enc_map(s, v, out, depth, e);
    case AVRO_UNION:
        if (avro_schema_union_size(s) == 0)
            goto bad;
        if (put_long(out, 0, e) < 0)
            return -1;
        return enc_default(avro_schema_union_branch(s, 0), v, out, depth + 1, e);
    case AVRO_RECORD:
        if (!json_is_object(v))
            goto bad;
        return enc_record(s, v, out, depth, e);
    default:
        break;
    }
bad:
    return err_setk(e, ERR_DATA, "default value does not match type %s", tn ? tn : "?");
}

int avsc_encode_default_json(avro_schema_t s, const char *json, struct bytebuf *out,
                             struct err *e)
{
    json_error_t je;
    json_t *v = json_loads(json, JSON_DECODE_ANY, &je);
    if (!v)
        return err_setk(e, ERR_DATA, "invalid JSON: %s", je.text);
    int rc = enc_default(s, v, out, 0, e);
    json_decref(v);
    return rc;
}

/* ---- resolution plan ---- */

struct missing {
    struct rec *w;             /* writer record */
    json_t *fields;            /* JSON array of reader field objects to append */
    struct bytebuf bytes;    /* their encoded defaults, in order */
};

struct augment_ctx {
    struct missing *m;
    size_t n;
};

static int augment_record(void *ud, const char *fullname, json_t *obj, struct err *e)
{
    struct augment_ctx *c = ud;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->m[i].w->fullname, fullname) != 0 || !c->m[i].fields)
            continue;
        json_t *fields = json_object_get(obj, "fields");
        if (!json_is_array(fields))
            return err_set(e, "record %s has no fields array", fullname);
        if (json_array_extend(fields, c->m[i].fields) != 0)
            return err_set(e, "out of memory");
        json_decref(c->m[i].fields);
        c->m[i].fields = NULL;   /* appended once, at its definition */
    }
    return 0;
}

/* For each writer record that the output schema also has, the output's
 * fields the writer lacks: their JSON definitions and encoded defaults go to
 * miss[*n_miss] (one slot per such record). A missing field without a default
 * cannot be resolved. */
static int find_missing(struct recs *wr, struct recs *rr, struct missing *miss, size_t *n_miss,
                        struct err *e)
{
    for (size_t i = 0; i < wr->n; i++) {
        struct rec *wrec = &wr->v[i];
        struct rec *rrec = find_rec(rr, wrec->fullname, avro_schema_name(wrec->s));
        if (!rrec)
            continue;
        size_t k = avro_schema_record_size(rrec->s);
        struct missing *m = &miss[*n_miss];   /* this writer record's slot */
        for (size_t f = 0; f < k; f++) {
            const char *fname = avro_schema_record_field_name(rrec->s, (int)f);
            if (avro_schema_record_field_get_index(wrec->s, fname) >= 0)
                continue;
            json_t *fj = rrec->fields ? field_json(rrec->fields, fname) : NULL;
            json_t *def = fj ? json_object_get(fj, "default") : NULL;
            if (!def)
                return err_setk(e, ERR_DATA, "cannot resolve schemas: field '%s' of record %s "
                                "is missing in the source and has no default in the output "
                                "schema", fname, rrec->fullname);
            if (!m->w) {
                m->w = wrec;
                if (!(m->fields = json_array()))
                    return err_set(e, "out of memory");
                (*n_miss)++;
            }
            if (enc_default(avro_schema_record_field_get_by_index(rrec->s, (int)f), def,
                            &m->bytes, 0, e) < 0)
                return err_prefix(e, "cannot resolve schemas: default of field '%s' of record "
                                  "%s: ", fname, rrec->fullname);
            if (json_array_append(m->fields, fj) != 0)
                return err_set(e, "out of memory");
        }
    }
    return 0;
}

/* The writer schema with the missing fields appended to its records
 * (out->wplus: what Avro C resolves from), and the program that appends
 * their defaults to each datum (out->prog). */
static int plan_augmented(const char *wjson, size_t wlen, avro_schema_t w, struct missing *miss,
                          size_t n_miss, struct avsc_plan *out, struct err *e)
{
    json_t *wroot = NULL;
    char *wplus_json = NULL;
    struct datum_append *ap = NULL;
    json_error_t je;
    int rc = -1;

    wroot = json_loadb(wjson, wlen, JSON_DECODE_ANY, &je);
    if (!wroot) {
        err_setk(e, ERR_DATA, "source schema JSON: %s", je.text);
        goto done;
    }
    struct augment_ctx ctx = {miss, n_miss};
    if (json_walk(wroot, NULL, augment_record, &ctx, 0, e) < 0)
        goto done;
    for (size_t i = 0; i < n_miss; i++) {
        if (miss[i].fields) {
            err_setk(e, ERR_DATA, "cannot resolve schemas: record %s not found in the "
                     "source schema JSON", miss[i].w->fullname);
            goto done;
        }
    }
    wplus_json = json_dumps(wroot, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!wplus_json) {
        err_set(e, "out of memory");
        goto done;
    }
    if (avsc_parse(wplus_json, strlen(wplus_json), &out->wplus, e) < 0) {
        err_prefix(e, "cannot resolve schemas (source schema with the output's added "
                   "fields): ");
        goto done;
    }
    if (!(ap = calloc(n_miss, sizeof *ap))) {
        err_set(e, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_miss; i++)
        ap[i] = (struct datum_append){miss[i].w->s, miss[i].bytes.data, miss[i].bytes.len};
    out->prog = datum_compile(w, ap, n_miss, e);
    rc = 0;
done:
    free(ap);
    free(wplus_json);
    json_decref(wroot);
    return rc;
}

int avsc_plan_resolution(const char *wjson, size_t wlen, avro_schema_t w,
                         const char *rjson, size_t rlen, avro_schema_t r,
                         struct avsc_plan *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct recs wr = {0}, rr = {0};
    struct missing *miss = NULL;
    size_t n_miss = 0;
    json_t *rroot = NULL;
    json_error_t je;
    int rc = -1;

    if (collect_records(w, &wr, 0, e) < 0 || collect_records(r, &rr, 0, e) < 0)
        goto done;
    if (rr.n > 0) {
        rroot = json_loadb(rjson, rlen, JSON_DECODE_ANY, &je);
        if (!rroot) {
            err_setk(e, ERR_DATA, "output schema JSON: %s", je.text);
            goto done;
        }
        if (json_walk(rroot, NULL, attach_fields, &rr, 0, e) < 0)
            goto done;
    }
    if (wr.n && !(miss = calloc(wr.n, sizeof *miss))) {
        err_set(e, "out of memory");
        goto done;
    }
    if (find_missing(&wr, &rr, miss, &n_miss, e) < 0)
        goto done;

    if (n_miss == 0) {
        out->wplus = avro_schema_incref(w);
        out->prog = datum_compile(w, NULL, 0, e);
    } else if (plan_augmented(wjson, wlen, w, miss, n_miss, out, e) < 0) {
        goto done;
    }
    if (!out->prog)
        goto done;
    char m[AVRO_CALL_MSG_MAX];
    out->resolver = avro_call_resolved_writer(out->wplus, r, m);
    if (!out->resolver) {
        err_setk(e, ERR_DATA, "cannot resolve schemas: %s", *m ? m : "incompatible");
        goto done;
    }
    rc = 0;
done:
    if (rc < 0)
        avsc_plan_free(out);
    for (size_t i = 0; i < wr.n && miss; i++) {
        json_decref(miss[i].fields);
        bytebuf_free(&miss[i].bytes);
    }
    free(miss);
    json_decref(rroot);
    recs_free(&wr);
    recs_free(&rr);
    return rc;
}

void avsc_plan_free(struct avsc_plan *p)
{
    if (p->resolver)
        avro_value_iface_decref(p->resolver);
    if (p->wplus)
        avro_schema_decref(p->wplus);
    datum_free(p->prog);
    memset(p, 0, sizeof *p);
}
