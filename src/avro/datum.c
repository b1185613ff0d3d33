#include "datum.h"

#include <stdlib.h>
#include <string.h>

#include "ocf.h"

enum dkind {
    DK_NULL, DK_BOOL, DK_INT, DK_LONG, DK_FLOAT, DK_DOUBLE, DK_BYTES, DK_FIXED,
    DK_ENUM, DK_ARRAY, DK_MAP, DK_UNION, DK_RECORD,
};

struct dnode {
    enum dkind kind;
    int64_t n;               /* fixed size, enum symbols, union branches, record fields */
    struct dnode **kids;     /* union branches, record fields, array/map item */
    unsigned char *append;   /* record: bytes appended after its fields */
    size_t append_len;
    size_t min_size;         /* lower bound of one datum's encoded size */
    int min_state;           /* 0 not computed, 1 in progress, 2 done */
    avro_schema_t schema;    /* memo key only; never dereferenced after compile */
};

struct datum_prog {
    struct dnode *root;
    struct dnode **nodes;
    size_t n_nodes, cap_nodes;
    int rewrites;
};

/* Deeper nesting is possible only with recursive schemas; real data is flat. */
#define MAX_DEPTH 256
/* Datums that may encode to zero bytes (null, empty records) are bounded by
 * count only; cap the total per block so a tiny hostile block cannot spin. */
#define ZERO_SIZE_BUDGET ((uint64_t)1 << 24)

static struct dnode *new_node(struct datum_prog *p, avro_schema_t s, enum dkind k,
                              struct err *e)
{
    if (p->n_nodes == p->cap_nodes) {
        size_t nc = p->cap_nodes ? p->cap_nodes * 2 : 32;
        struct dnode **nn = realloc(p->nodes, nc * sizeof *nn);
        if (!nn) {
            err_set(e, "out of memory");
            return NULL;
        }
        p->nodes = nn;
        p->cap_nodes = nc;
    }
    struct dnode *n = calloc(1, sizeof *n);
    if (!n) {
        err_set(e, "out of memory");
        return NULL;
    }
    n->kind = k;
    n->schema = s;
    p->nodes[p->n_nodes++] = n;
    return n;
}

static struct dnode *compile(struct datum_prog *p, avro_schema_t s,
                             const struct datum_append *ap, size_t nap, int depth,
                             struct err *e)
{
    while (s && is_avro_link(s))
        s = avro_schema_link_target(s);
    if (!s) {
        err_set(e, "schema has a dangling reference");
        return NULL;
    }
    if (depth > MAX_DEPTH) {
        err_set(e, "schema nested too deeply");
        return NULL;
    }
    for (size_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i]->schema == s)
            return p->nodes[i];
    struct dnode *n;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return new_node(p, s, DK_NULL, e);
    case AVRO_BOOLEAN: return new_node(p, s, DK_BOOL, e);
    case AVRO_INT32: return new_node(p, s, DK_INT, e);
    case AVRO_INT64: return new_node(p, s, DK_LONG, e);
    case AVRO_FLOAT: return new_node(p, s, DK_FLOAT, e);
    case AVRO_DOUBLE: return new_node(p, s, DK_DOUBLE, e);
    case AVRO_STRING:
    case AVRO_BYTES: return new_node(p, s, DK_BYTES, e);
    case AVRO_FIXED:
        if (!(n = new_node(p, s, DK_FIXED, e)))
            return NULL;
        n->n = avro_schema_fixed_size(s);
        if (n->n < 0) {
            err_set(e, "fixed type with negative size");
            return NULL;
        }
        return n;
    case AVRO_ENUM:
        if (!(n = new_node(p, s, DK_ENUM, e)))
            return NULL;
        n->n = avro_schema_enum_number_of_symbols(s);
        return n;
    case AVRO_ARRAY:
    case AVRO_MAP: {
        int is_map = avro_typeof(s) == AVRO_MAP;
        if (!(n = new_node(p, s, is_map ? DK_MAP : DK_ARRAY, e)))
            return NULL;
        if (!(n->kids = calloc(1, sizeof *n->kids))) {
            err_set(e, "out of memory");
            return NULL;
        }
        avro_schema_t item = is_map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        if (!(n->kids[0] = compile(p, item, ap, nap, depth + 1, e)))
            return NULL;
        n->n = 1;
        return n;
    }
    case AVRO_UNION:
    case AVRO_RECORD: {
        int is_rec = avro_typeof(s) == AVRO_RECORD;
        if (!(n = new_node(p, s, is_rec ? DK_RECORD : DK_UNION, e)))
            return NULL;
        size_t k = is_rec ? avro_schema_record_size(s) : avro_schema_union_size(s);
        if (k > 0 && !(n->kids = calloc(k, sizeof *n->kids))) {
            err_set(e, "out of memory");
            return NULL;
        }
        n->n = (int64_t)k;
        for (size_t i = 0; i < k; i++) {
            avro_schema_t c = is_rec ? avro_schema_record_field_get_by_index(s, (int)i)
                                     : avro_schema_union_branch(s, (int)i);
            if (!(n->kids[i] = compile(p, c, ap, nap, depth + 1, e)))
                return NULL;
        }
        if (is_rec) {
            for (size_t i = 0; i < nap; i++) {
                if (ap[i].record == s && ap[i].len > 0) {
                    if (!(n->append = malloc(ap[i].len))) {
                        err_set(e, "out of memory");
                        return NULL;
                    }
                    memcpy(n->append, ap[i].bytes, ap[i].len);
                    n->append_len = ap[i].len;
                    p->rewrites = 1;
                }
            }
        }
        return n;
    }
    default:
        err_set(e, "unsupported schema type %s", avro_schema_type_name(s));
        return NULL;
    }
}

static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* In-progress nodes (recursion) count as 0: a lower bound stays a bound. */
static size_t min_size(struct dnode *n)
{
    if (n->min_state == 2)
        return n->min_size;
    if (n->min_state == 1)
        return 0;
    n->min_state = 1;
    size_t m = 0;
    switch (n->kind) {
    case DK_NULL: m = 0; break;
    case DK_FLOAT: m = 4; break;
    case DK_DOUBLE: m = 8; break;
    case DK_FIXED: m = (size_t)n->n; break;
    case DK_UNION: {
        size_t best = SIZE_MAX;
        for (int64_t i = 0; i < n->n; i++) {
            size_t k = min_size(n->kids[i]);
            if (k < best)
                best = k;
        }
        m = sat_add(1, best == SIZE_MAX ? 0 : best);
        break;
    }
    case DK_RECORD:
        for (int64_t i = 0; i < n->n; i++)
            m = sat_add(m, min_size(n->kids[i]));
        break;
    case DK_ARRAY:
    case DK_MAP:
        min_size(n->kids[0]);
        m = 1;
        break;
    default: m = 1; break;
    }
    n->min_size = m;
    n->min_state = 2;
    return m;
}

struct datum_prog *datum_compile(avro_schema_t w, const struct datum_append *appends,
                                 size_t n_appends, struct err *e)
{
    struct datum_prog *p = calloc(1, sizeof *p);
    if (!p) {
        err_set(e, "out of memory");
        return NULL;
    }
    p->root = compile(p, w, appends, n_appends, 0, e);
    if (!p->root) {
        datum_free(p);
        return NULL;
    }
    for (size_t i = 0; i < p->n_nodes; i++)
        min_size(p->nodes[i]);
    return p;
}

void datum_free(struct datum_prog *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_nodes; i++) {
        free(p->nodes[i]->kids);
        free(p->nodes[i]->append);
        free(p->nodes[i]);
    }
    free(p->nodes);
    free(p);
}

int datum_rewrites(const struct datum_prog *p)
{
    return p->rewrites;
}

struct wstate {
    const unsigned char *p;
    size_t len, pos;
    size_t copied;             /* rewrite: input copied to out up to here */
    struct bytebuf *out;     /* NULL: check only */
    uint64_t zero_budget;
    int64_t record;
    struct err *e;
};

static int fail(struct wstate *s, size_t at, const char *what, long long v)
{
    return err_setk(s->e, ERR_DATA, "record %lld: byte %zu of the block: %s %lld",
                    (long long)s->record, at, what, v);
}

static int trunc_fail(struct wstate *s, size_t at, const char *what)
{
    return err_setk(s->e, ERR_DATA, "record %lld: byte %zu of the block: %s runs past the "
                    "end of the block", (long long)s->record, at, what);
}

static int rd_long(struct wstate *s, const char *what, int64_t *v)
{
    size_t at = s->pos;
    if (ocf_read_long(s->p, s->len, &s->pos, v) < 0)
        return trunc_fail(s, at, what);
    return 0;
}

/* Avro ints are at most 5 varint bytes and must fit in 32 bits. */
static int rd_int(struct wstate *s, const char *what, int64_t *v)
{
    size_t at = s->pos;
    if (ocf_read_long(s->p, s->len, &s->pos, v) < 0)
        return trunc_fail(s, at, what);
    if (s->pos - at > 5 || *v < INT32_MIN || *v > INT32_MAX)
        return fail(s, at, "int out of range for", (long long)(s->pos - at));
    return 0;
}

static int need(struct wstate *s, size_t n, const char *what)
{
    if (n > s->len - s->pos)
        return trunc_fail(s, s->pos, what);
    return 0;
}

static int walk(struct wstate *s, const struct dnode *n, int depth);

/* A string or bytes: a length, then that many bytes within the block. */
static int walk_bytes(struct wstate *s)
{
    int64_t v;
    size_t at = s->pos;
    if (rd_long(s, "string/bytes length", &v) < 0)
        return -1;
    if (v < 0)
        return fail(s, at, "negative string/bytes length", v);
    if ((uint64_t)v > s->len - s->pos)
        return fail(s, at, "string/bytes length past the end of the block:", v);
    s->pos += (size_t)v;
    return 0;
}

/* An array/map block's item count c (read at `at`), made positive; a
 * negative count is followed by the block's byte size, whose end goes to
 * *end. The count is bounded by the bytes left (or, for items that may take
 * no bytes, by the zero-size budget) before any item is read. */
static int block_head(struct wstate *s, size_t at, size_t item_min, int64_t *c, size_t *end)
{
    if (*c < 0) {
        if (*c == INT64_MIN)
            return fail(s, at, "invalid array/map block count", *c);
        *c = -*c;
        int64_t bsize;
        size_t bat = s->pos;
        if (rd_long(s, "array/map block size", &bsize) < 0)
            return -1;
        if (bsize < 0 || (uint64_t)bsize > s->len - s->pos)
            return fail(s, bat, "invalid array/map block size", bsize);
        *end = s->pos + (size_t)bsize;
    }
    if (item_min > 0) {
        if ((uint64_t)*c > (s->len - s->pos) / item_min)
            return fail(s, at, "array/map block count exceeds the data:", *c);
    } else {
        if ((uint64_t)*c > s->zero_budget)
            return fail(s, at, "too many zero-size array/map items:", *c);
        s->zero_budget -= (uint64_t)*c;
    }
    return 0;
}

/* A map entry's key: a length, then the bytes. */
static int skip_map_key(struct wstate *s)
{
    int64_t v;
    size_t kat = s->pos;
    if (rd_long(s, "map key length", &v) < 0)
        return -1;
    if (v < 0 || (uint64_t)v > s->len - s->pos)
        return fail(s, kat, "invalid map key length", v);
    s->pos += (size_t)v;
    return 0;
}

/* An array or map: blocks of items up to a block of count 0. */
static int walk_items(struct wstate *s, const struct dnode *n, int depth)
{
    const struct dnode *item = n->kids[0];
    size_t item_min = item->min_size + (n->kind == DK_MAP ? 1 : 0);
    for (;;) {
        size_t at = s->pos;
        int64_t c;
        if (rd_long(s, "array/map block count", &c) < 0)
            return -1;
        if (c == 0)
            return 0;
        size_t end = 0;
        if (block_head(s, at, item_min, &c, &end) < 0)
            return -1;
        for (int64_t i = 0; i < c; i++) {
            if (n->kind == DK_MAP && skip_map_key(s) < 0)
                return -1;
            if (walk(s, item, depth + 1) < 0)
                return -1;
        }
        if (end && s->pos != end)
            return fail(s, at, "array/map block size does not match its items; size ends "
                        "at", (long long)end);
    }
}

/* A record: its fields; when rewriting, the input up to here and then the
 * bytes to append (the defaults of fields the writer lacks). */
static int walk_record(struct wstate *s, const struct dnode *n, int depth)
{
    for (int64_t i = 0; i < n->n; i++)
        if (walk(s, n->kids[i], depth + 1) < 0)
            return -1;
    if (n->append_len && s->out) {
        if (bytebuf_append(s->out, s->p + s->copied, s->pos - s->copied, s->e) < 0
            || bytebuf_append(s->out, n->append, n->append_len, s->e) < 0)
            return -1;
        s->copied = s->pos;
    }
    return 0;
}

static int walk(struct wstate *s, const struct dnode *n, int depth)
{
    int64_t v;
    size_t at;
    if (depth > MAX_DEPTH)
        return fail(s, s->pos, "data nested deeper than", MAX_DEPTH);
    switch (n->kind) {
    case DK_NULL:
        return 0;
    case DK_BOOL:
        if (need(s, 1, "boolean") < 0)
            return -1;
        if (s->p[s->pos] > 1)
            return fail(s, s->pos, "invalid boolean byte", s->p[s->pos]);
        s->pos++;
        return 0;
    case DK_INT:
        return rd_int(s, "int", &v);
    case DK_LONG:
        return rd_long(s, "long", &v);
    case DK_FLOAT:
        if (need(s, 4, "float") < 0)
            return -1;
        s->pos += 4;
        return 0;
    case DK_DOUBLE:
        if (need(s, 8, "double") < 0)
            return -1;
        s->pos += 8;
        return 0;
    case DK_BYTES:
        return walk_bytes(s);
    case DK_FIXED:
        if (need(s, (size_t)n->n, "fixed") < 0)
            return -1;
        s->pos += (size_t)n->n;
        return 0;
    case DK_ENUM:
        at = s->pos;
        if (rd_int(s, "enum index", &v) < 0)
            return -1;
        if (v < 0 || v >= n->n)
            return fail(s, at, "enum index out of range:", v);
        return 0;
    case DK_UNION:
        at = s->pos;
        if (rd_int(s, "union index", &v) < 0)
            return -1;
        if (v < 0 || v >= n->n)
            return fail(s, at, "invalid union discriminant", v);
        return walk(s, n->kids[v], depth + 1);
    case DK_ARRAY:
    case DK_MAP:
        return walk_items(s, n, depth);
    case DK_RECORD:
        return walk_record(s, n, depth);
    }
    return err_set(s->e, "internal error: bad node kind");
}

static int check_block(const struct datum_prog *p, const unsigned char *data, size_t len,
                       int64_t count, struct bytebuf *out, datum_record_fn fn, void *ud,
                       struct err *e)
{
    struct wstate s = {
        .p = data, .len = len, .out = out, .zero_budget = ZERO_SIZE_BUDGET, .e = e,
    };
    if (count < 0)
        return err_setk(e, ERR_DATA, "negative record count %lld", (long long)count);
    size_t rmin = p->root->min_size;
    if (rmin > 0 ? (uint64_t)count > len / rmin : (uint64_t)count > ZERO_SIZE_BUDGET)
        return err_setk(e, ERR_DATA, "block claims %lld records but has only %zu bytes",
                        (long long)count, len);
    if (rmin == 0)
        s.zero_budget -= (uint64_t)count;
    for (s.record = 0; s.record < count; s.record++) {
        size_t start = s.pos;
        if (walk(&s, p->root, 0) < 0 || (fn && fn(ud, data + start, s.pos - start, e) < 0))
            return -1;
    }
    if (s.pos != len)
        return err_setk(e, ERR_DATA, "block has %zu bytes after its %lld records",
                        len - s.pos, (long long)count);
    if (out && bytebuf_append(out, data + s.copied, len - s.copied, e) < 0)
        return -1;
    return 0;
}

int datum_check_block(const struct datum_prog *p, const unsigned char *data, size_t len,
                      int64_t count, struct bytebuf *out, struct err *e)
{
    return check_block(p, data, len, count, out, NULL, NULL, e);
}

int datum_each_record(const struct datum_prog *p, const unsigned char *data, size_t len,
                      int64_t count, datum_record_fn fn, void *ud, struct err *e)
{
    return check_block(p, data, len, count, NULL, fn, ud, e);
}
