/* avsc_widen: the schema that holds every field of two schemas (avsc.h). */
#include "avsc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PRIMS[] = {"null", "boolean", "int", "long", "float", "double",
                                    "bytes", "string"};

static int is_prim(const char *s)
{
    for (size_t i = 0; i < sizeof PRIMS / sizeof *PRIMS; i++)
        if (!strcmp(s, PRIMS[i]))
            return 1;
    return 0;
}

/* The kind of a type: a primitive name, "record", "enum", "fixed", "array",
 * "map", "union", or "ref" (a named type used by name). */
static const char *kind_of(json_t *t)
{
    if (json_is_array(t))
        return "union";
    if (json_is_string(t))
        return is_prim(json_string_value(t)) ? json_string_value(t) : "ref";
    if (json_is_object(t)) {
        json_t *ty = json_object_get(t, "type");
        if (json_is_string(ty)) {
            const char *k = json_string_value(ty);
            if (!strcmp(k, "error"))
                return "record";
            if (is_prim(k) || !strcmp(k, "record") || !strcmp(k, "enum") ||
                !strcmp(k, "fixed") || !strcmp(k, "array") || !strcmp(k, "map"))
                return k;
            return "ref";
        }
        if (json_is_array(ty) || json_is_object(ty))
            return kind_of(ty);
    }
    return "?";
}

/* A nested {"type": <union or object>} wrapper is the type it wraps. */
static json_t *unwrap(json_t *t)
{
    while (json_is_object(t) && (json_is_array(json_object_get(t, "type")) ||
                                 json_is_object(json_object_get(t, "type"))))
        t = json_object_get(t, "type");
    return t;
}

static const char *named(json_t *t)
{
    if (json_is_string(t))
        return json_string_value(t);
    return json_string_value(json_object_get(t, "name"));
}

/* "ns.name" of a named type (the enclosing namespace when it has none). */
static void full_name(json_t *t, const char *ns, char *buf, size_t size)
{
    const char *n = named(t);
    const char *own = json_is_object(t) ? json_string_value(json_object_get(t, "namespace")) : NULL;
    if (!n)
        n = "?";
    if (strchr(n, '.'))
        snprintf(buf, size, "%s", n);
    else if (own && *own)
        snprintf(buf, size, "%s.%s", own, n);
    else if (ns && *ns)
        snprintf(buf, size, "%s.%s", ns, n);
    else
        snprintf(buf, size, "%s", n);
}

static void show(json_t *t, char *buf, size_t size)
{
    char *s = json_dumps(t, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!s) {
        snprintf(buf, size, "?");
        return;
    }
    if (strlen(s) > 120)
        snprintf(buf, size, "%.117s...", s);
    else
        snprintf(buf, size, "%s", s);
    free(s);
}

static int numeric_rank(const char *k)
{
    return !strcmp(k, "int") ? 1 : !strcmp(k, "long") ? 2 : !strcmp(k, "float") ? 3
         : !strcmp(k, "double") ? 4 : 0;
}

struct wctx {
    int changed;
    struct err *e;
};

static json_t *widen(struct wctx *c, json_t *a, json_t *b, const char *ns, const char *path,
                     int depth);

static int incompatible(struct wctx *c, const char *path, json_t *a, json_t *b)
{
    char sa[128], sb[128];
    show(a, sa, sizeof sa);
    show(b, sb, sizeof sb);
    return err_setk(c->e, ERR_DATA, "field \"%s\": type %s in the day's schema, %s in this "
                    "source: no Avro schema resolution holds both (only promotions int->long->"
                    "float->double, wider unions, added fields)", path, sa, sb);
}

/* 1 when writer type w resolves into reader branch r with no value lost
 * (same kind and name, or a numeric promotion) without changing r. */
static int absorbs(json_t *r, json_t *w, const char *ns)
{
    const char *kr = kind_of(r), *kw = kind_of(w);
    if (json_equal(r, w))
        return 1;
    if (strcmp(kr, kw) == 0) {
        if (!strcmp(kr, "record") || !strcmp(kr, "enum") || !strcmp(kr, "fixed") ||
            !strcmp(kr, "ref") || !strcmp(kr, "array") || !strcmp(kr, "map") || !strcmp(kr, "?"))
            return 0;   /* compared by widen() */
        return 1;       /* same primitive (other attributes) */
    }
    (void)ns;
    int nr = numeric_rank(kr), nw = numeric_rank(kw);
    /* int->long, int->double, long->double, float->double; not int or long
     * into float (digits lost) */
    return nr && nw && nw <= nr && !(nr == 3 && nw < 3);
}

/* Same branch identity in a union: same kind, and same full name if named. */
static int same_branch(json_t *x, json_t *y, const char *ns)
{
    const char *kx = kind_of(x), *ky = kind_of(y);
    if (strcmp(kx, ky) != 0)
        return 0;
    if (!strcmp(kx, "record") || !strcmp(kx, "enum") || !strcmp(kx, "fixed") || !strcmp(kx, "ref")) {
        char fx[512], fy[512];
        full_name(x, ns, fx, sizeof fx);
        full_name(y, ns, fy, sizeof fy);
        return !strcmp(fx, fy);
    }
    return 1;
}

static json_t *widen_union(struct wctx *c, json_t *a, json_t *b, const char *ns,
                           const char *path, int depth)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    json_t *ab = json_is_array(a) ? a : NULL, *bb = json_is_array(b) ? b : NULL;
    size_t na = ab ? json_array_size(ab) : 1, nb = bb ? json_array_size(bb) : 1;
    for (size_t i = 0; i < na; i++)
        json_array_append(out, ab ? json_array_get(ab, i) : a);
    for (size_t j = 0; j < nb; j++) {
        json_t *w = unwrap(bb ? json_array_get(bb, j) : b);
        size_t hit = (size_t)-1;
        for (size_t i = 0; i < json_array_size(out) && hit == (size_t)-1; i++)
            if (same_branch(unwrap(json_array_get(out, i)), w, ns))
                hit = i;
        if (hit != (size_t)-1) {
            json_t *r = widen(c, json_array_get(out, hit), w, ns, path, depth + 1);
            if (!r) {
                json_decref(out);
                return NULL;
            }
            json_array_set_new(out, hit, r);
            continue;
        }
        int absorbed = 0;
        for (size_t i = 0; i < json_array_size(out) && !absorbed; i++)
            absorbed = absorbs(unwrap(json_array_get(out, i)), w, ns);
        if (!absorbed) {
            json_array_append(out, w);
            c->changed = 1;
        }
    }
    if (!ab)
        c->changed = 1;   /* a plain type became a union */
    /* Numeric branches in ascending order (int, long, float, double), each
     * in the slot one of them had: a writer's value goes to the first
     * branch that takes it, promotion included (Avro C as the spec), so a
     * long before a float keeps a long a long (after it, the float branch
     * would round it). */
    size_t slot[16], n_num = 0;
    for (size_t i = 0; i < json_array_size(out) && n_num < 16; i++)
        if (numeric_rank(kind_of(unwrap(json_array_get(out, i)))))
            slot[n_num++] = i;
    for (size_t i = 1; i < n_num; i++)
        for (size_t j = i; j > 0; j--) {
            json_t *x = json_array_get(out, slot[j - 1]), *y = json_array_get(out, slot[j]);
            if (numeric_rank(kind_of(unwrap(x))) <= numeric_rank(kind_of(unwrap(y))))
                break;
            json_incref(x);
            json_incref(y);
            json_array_set_new(out, slot[j - 1], y);
            json_array_set_new(out, slot[j], x);
            c->changed = 1;
        }
    return out;
}

/* A field type that may be missing: ["null", ...] with null first. */
static json_t *optional(json_t *t)
{
    t = unwrap(t);
    json_t *u = json_array();
    json_array_append_new(u, json_string("null"));
    if (json_is_array(t)) {
        size_t i;
        json_t *x;
        json_array_foreach(t, i, x)
            if (!(json_is_string(x) && !strcmp(json_string_value(x), "null")))
                json_array_append(u, x);
    } else if (!(json_is_string(t) && !strcmp(json_string_value(t), "null"))) {
        json_array_append(u, t);
    }
    return u;
}

static json_t *field_named(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (n && !strcmp(n, name))
            return f;
    }
    return NULL;
}

/* Puts "null" first in a union type whose field defaults to null. */
static void null_first(json_t *field)
{
    json_t *t = json_object_get(field, "type");
    json_t *d = json_object_get(field, "default");
    if (!json_is_array(t) || !d || !json_is_null(d))
        return;
    for (size_t i = 1; i < json_array_size(t); i++) {
        json_t *x = json_array_get(t, i);
        if (json_is_string(x) && !strcmp(json_string_value(x), "null")) {
            json_incref(x);
            json_array_remove(t, i);
            json_array_insert_new(t, 0, x);
            return;
        }
    }
}

static json_t *widen_record(struct wctx *c, json_t *a, json_t *b, const char *ns,
                            const char *path, int depth)
{
    char fa[512], fb[512];
    full_name(a, ns, fa, sizeof fa);
    full_name(b, ns, fb, sizeof fb);
    if (strcmp(fa, fb) != 0) {
        err_setk(c->e, ERR_DATA, "%s%s%srecord name %s in the day's schema, %s in this source",
                 *path ? "field \"" : "", path, *path ? "\": " : "", fa, fb);
        return NULL;
    }
    /* nested definitions take the record's namespace */
    char inner[512];
    snprintf(inner, sizeof inner, "%s", fa);
    char *dot = strrchr(inner, '.');
    if (dot)
        *dot = '\0';
    else
        inner[0] = '\0';
    json_t *out = json_deep_copy(a);
    json_t *fields = json_object_get(out, "fields");
    json_t *bfields = json_object_get(b, "fields");
    if (!json_is_array(fields) || !json_is_array(bfields)) {
        json_decref(out);
        err_setk(c->e, ERR_DATA, "record %s without a fields array", fa);
        return NULL;
    }
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        char sub[600];
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", n ? n : "?");
        json_t *g = n ? field_named(bfields, n) : NULL;
        if (!g) {
            /* the source lacks it: its records need the default */
            if (!json_object_get(f, "default")) {
                json_object_set_new(f, "type", optional(json_object_get(f, "type")));
                json_object_set_new(f, "default", json_null());
                c->changed = 1;
            }
            continue;
        }
        json_t *t = widen(c, json_object_get(f, "type"), json_object_get(g, "type"), inner, sub,
                          depth + 1);
        if (!t) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(f, "type", t);
        null_first(f);
    }
    json_array_foreach(bfields, i, f) {
        const char *n = json_string_value(json_object_get(f, "name"));
        if (!n || field_named(fields, n))
            continue;
        /* a field the day's schema lacks: added, with a default so that the
         * records without it resolve */
        json_t *nf = json_deep_copy(f);
        if (!json_object_get(nf, "default")) {
            json_object_set_new(nf, "type", optional(json_object_get(nf, "type")));
            json_object_set_new(nf, "default", json_null());
        }
        json_array_append_new(fields, nf);
        c->changed = 1;
    }
    return out;
}

static json_t *widen(struct wctx *c, json_t *a, json_t *b, const char *ns, const char *path,
                     int depth)
{
    if (depth > 64) {
        err_setk(c->e, ERR_DATA, "field \"%s\": schema nested too deeply", path);
        return NULL;
    }
    if (json_equal(a, b))
        return json_incref(a);
    json_t *ua = unwrap(a), *ub = unwrap(b);
    const char *ka = kind_of(ua), *kb = kind_of(ub);
    if (!strcmp(ka, "union") || !strcmp(kb, "union"))
        return widen_union(c, ua, ub, ns, path, depth);
    if (!strcmp(ka, kb)) {
        if (!strcmp(ka, "record"))
            return widen_record(c, ua, ub, ns, path, depth);
        if (!strcmp(ka, "array") || !strcmp(ka, "map")) {
            const char *what = !strcmp(ka, "array") ? "items" : "values";
            json_t *t = widen(c, json_object_get(ua, what), json_object_get(ub, what), ns, path,
                              depth + 1);
            if (!t)
                return NULL;
            json_t *out = json_deep_copy(ua);
            json_object_set_new(out, what, t);
            return out;
        }
        if (!strcmp(ka, "enum")) {
            char fa[512], fb[512];
            full_name(ua, ns, fa, sizeof fa);
            full_name(ub, ns, fb, sizeof fb);
            if (strcmp(fa, fb) != 0) {
                err_setk(c->e, ERR_DATA, "field \"%s\": enum %s in the day's schema, %s in this "
                         "source", path, fa, fb);
                return NULL;
            }
            json_t *out = json_deep_copy(ua);
            json_t *syms = json_object_get(out, "symbols");
            size_t i;
            json_t *s;
            json_array_foreach(json_object_get(ub, "symbols"), i, s) {
                int have = 0;
                size_t k;
                json_t *x;
                json_array_foreach(syms, k, x)
                    have |= json_equal(x, s);
                if (!have) {
                    json_array_append(syms, s);
                    c->changed = 1;
                }
            }
            /* Avro C resolves an enum by the symbol's position, not its
             * name: the source's symbols must be where it has them */
            json_array_foreach(json_object_get(ub, "symbols"), i, s) {
                if (!json_equal(json_array_get(syms, i), s)) {
                    char *sa = json_dumps(syms, JSON_COMPACT), *sb = json_dumps(
                        json_object_get(ub, "symbols"), JSON_COMPACT);
                    err_setk(c->e, ERR_DATA, "field \"%s\": enum %s has the symbols %.200s in "
                             "this source, %.200s in the day's schema: another order, whose "
                             "values would change in the merge", path, fa, sb ? sb : "?",
                             sa ? sa : "?");
                    free(sa);
                    free(sb);
                    json_decref(out);
                    return NULL;
                }
            }
            return out;
        }
        if (!strcmp(ka, "fixed") || !strcmp(ka, "ref")) {
            char fa[512], fb[512];
            full_name(ua, ns, fa, sizeof fa);
            full_name(ub, ns, fb, sizeof fb);
            if (!strcmp(fa, fb) && (!strcmp(ka, "ref") ||
                json_equal(json_object_get(ua, "size"), json_object_get(ub, "size"))))
                return json_incref(a);
            incompatible(c, path, a, b);
            return NULL;
        }
        if (is_prim(ka))
            return json_incref(a);   /* same primitive, other attributes */
    }
    int na = numeric_rank(ka), nb = numeric_rank(kb);
    if (na && nb) {
        if (absorbs(ua, ub, ns))
            return json_incref(a);
        /* int+long: long; anything with float or double: double */
        c->changed = 1;
        return json_string(na <= 2 && nb <= 2 ? "long" : "double");
    }
    incompatible(c, path, a, b);
    return NULL;
}

int avsc_widen(const char *base, size_t blen, const char *src, size_t slen, char **out,
               struct err *e)
{
    *out = NULL;
    json_error_t je;
    json_t *a = json_loadb(base, blen, JSON_DECODE_ANY, &je);
    if (!a)
        return err_setk(e, ERR_DATA, "the day's schema is not JSON: %s", je.text);
    json_t *b = json_loadb(src, slen, JSON_DECODE_ANY, &je);
    if (!b) {
        json_decref(a);
        return err_setk(e, ERR_DATA, "schema is not JSON: %s", je.text);
    }
    struct wctx c = {0, e};
    json_t *w = widen(&c, a, b, "", "", 0);
    int rc = 0;
    if (!w) {
        rc = -1;
    } else if (c.changed) {
        *out = json_dumps(w, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (!*out)
            rc = err_set(e, "out of memory");
    }
    json_decref(w);
    json_decref(a);
    json_decref(b);
    return rc;
}
