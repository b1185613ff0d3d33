#include "adopt.h"

#include <avro.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "avsc.h"
#include "codec.h"
#include "datum.h"
#include "merge.h"
#include "ocf.h"

#define KEY_SIZE 16
/* A slot: the key, then the record's count + 1 (0 = empty slot), as bytes:
 * 20 instead of the 24 an aligned struct would take. */
#define SLOT_SIZE (KEY_SIZE + 4)
/* Fullest the table may get: linear probing stays short up to here. */
#define LOAD_NUM 4
#define LOAD_DEN 5
#define MIN_SLOTS 1024
/* The home slot is (32 hash bits * cap) >> 32. */
#define MAX_SLOTS ((size_t)UINT32_MAX)
#define SOURCE_CACHE 8
/* Tiny records (never RawDatum's) can be many per input byte: their keys
 * are kept, so a flood of them costs a lookup instead of a digest. */
#define MEMO_SLOTS 256
#define MEMO_MAX_LEN 16
/* Records of zero bytes (schemas like "null") per container: each still
 * costs a walk step and a table update; real data has none. */
#define EMPTY_BUDGET (1u << 24)
/* Keys go to the table in batches: the table is far larger than the
 * caches, so each key's slot is fetched a few keys ahead. */
#define BATCH 4096
#define PREFETCH_AHEAD 8

struct memo {
    size_t schema;
    unsigned char valid;
    unsigned char len;
    unsigned char rec[MEMO_MAX_LEN];
    unsigned char key[KEY_SIZE];
};

/* A distinct schema of the sample files (Avro C's equality). */
struct schema {
    char *json;                /* NUL-terminated copy (merge.h wants one) */
    size_t len;
    avro_schema_t schema;
    struct datum_prog *prog;
};

/* A sample file. Its keys are the record keys XOR its pad, so that each
 * file has keys of its own and a taken source names the file it is in. */
struct sfile {
    char *name;
    size_t schema;
    unsigned char pad[KEY_SIZE];
    uint64_t records, left;
    /* the current trial */
    struct bytebuf undo;     /* table slots it took a record from (size_t each) */
    uint64_t present, missing;
};

/* A source schema seen before, keyed by its text: SiteWise files all carry
 * the same text, so each is parsed and compared once. */
struct sschema {
    char *json;
    size_t len;
    avro_schema_t schema;
    struct datum_prog *prog;
    int eq;                    /* the sample schema equal to it, or -1 */
    size_t checked;            /* sample schemas compared so far (more may come) */
    uint64_t used;
};

struct adopt_set {
    unsigned char *tab;
    size_t cap;                /* slots */
    size_t used;               /* occupied slots */
    uint64_t records, left, sources_taken, records_taken;

    struct schema *schemas;
    size_t n_schemas;
    struct sfile *files;
    size_t n_files;
    long last_file;            /* the file of the last source taken, or -1 */
    int failed;
    char fail_msg[256];

    struct sschema cache[SOURCE_CACHE];
    uint64_t clock;

    struct memo memo[MEMO_SLOTS];
    uint64_t empty_seen;       /* zero-byte records in the current container */
    EVP_MD_CTX *md;
    EVP_MD *sha256;
    struct bytebuf dec;      /* a decompressed block */
    struct bytebuf keys;     /* a batch of record keys (at most BATCH) */
    struct bytebuf resolved; /* a source re-encoded into another schema */
};

/* ---- the key table ---- */

static uint32_t slot_count(const unsigned char *slot)
{
    uint32_t c;
    memcpy(&c, slot + KEY_SIZE, 4);
    return c;
}

static void set_count(unsigned char *slot, uint32_t c)
{
    memcpy(slot + KEY_SIZE, &c, 4);
}

static size_t home(const unsigned char *key, size_t cap)
{
    uint32_t h;
    memcpy(&h, key, 4);
    return (size_t)(((uint64_t)h * (uint64_t)cap) >> 32);
}

/* The slot holding key, or the empty slot where it would go (the table is
 * never full, so the probe ends). */
static size_t probe(const unsigned char *tab, size_t cap, const unsigned char *key)
{
    size_t i = home(key, cap);
    for (;;) {
        const unsigned char *sl = tab + i * SLOT_SIZE;
        if (slot_count(sl) == 0 || memcmp(sl, key, KEY_SIZE) == 0)
            return i;
        if (++i == cap)
            i = 0;
    }
}

static void prefetch_slot(const struct adopt_set *s, const unsigned char *key)
{
    __builtin_prefetch(s->tab + home(key, s->cap) * SLOT_SIZE);
}

static int max_used_ok(size_t used, size_t cap)
{
    return used <= cap / LOAD_DEN * LOAD_NUM;
}

/* Makes room for `more` new keys. Keys with no record left are dropped on
 * the way: nothing can match them any more. Only while no trial is open
 * (trials note slot positions). */
static int reserve(struct adopt_set *s, uint64_t more, struct err *e)
{
    if (s->tab && more <= s->cap && max_used_ok(s->used + (size_t)more, s->cap))
        return 0;
    uint64_t need = (uint64_t)s->used + more;
    uint64_t cap = need / LOAD_NUM * LOAD_DEN + LOAD_DEN;
    if (s->tab && cap < (uint64_t)s->cap * 2)
        cap = (uint64_t)s->cap * 2;
    if (cap < MIN_SLOTS)
        cap = MIN_SLOTS;
    if (cap > MAX_SLOTS || cap > SIZE_MAX / SLOT_SIZE)
        return err_set(e, "too many records for the key table (%llu)", (unsigned long long)need);
    unsigned char *nt = calloc((size_t)cap, SLOT_SIZE);
    if (!nt)
        return err_set(e, "out of memory for the key table (%llu slots)",
                       (unsigned long long)cap);
    size_t used = 0;
    for (size_t i = 0; i < s->cap; i++) {
        const unsigned char *sl = s->tab + i * SLOT_SIZE;
        if (slot_count(sl) > 1) {
            memcpy(nt + probe(nt, (size_t)cap, sl) * SLOT_SIZE, sl, SLOT_SIZE);
            used++;
        }
    }
    free(s->tab);
    s->tab = nt;
    s->cap = (size_t)cap;
    s->used = used;
    return 0;
}

static int insert(struct adopt_set *s, const unsigned char *key, struct err *e)
{
    if (!max_used_ok(s->used + 1, s->cap) && reserve(s, 1, e) < 0)
        return -1;
    unsigned char *sl = s->tab + probe(s->tab, s->cap, key) * SLOT_SIZE;
    uint32_t c = slot_count(sl);
    if (c == 0) {
        memcpy(sl, key, KEY_SIZE);
        s->used++;
        c = 1;
    }
    if (c == UINT32_MAX)
        return err_setk(e, ERR_DATA, "one record occurs more than %u times", UINT32_MAX - 1);
    set_count(sl, c + 1);
    return 0;
}

/* ---- keys ---- */

static void xor_key(unsigned char out[KEY_SIZE], const unsigned char *a, const unsigned char *b)
{
    for (int i = 0; i < KEY_SIZE; i++)
        out[i] = a[i] ^ b[i];
}

/* A record's key under sample schema `schema`: SHA-256 over a prefix, the
 * schema's index (equal bytes under different schemas are different
 * records) and the record's bytes, truncated to 128 bits. */
static int make_key(struct adopt_set *s, size_t schema, const unsigned char *rec, size_t len,
                    unsigned char key[KEY_SIZE], struct err *e)
{
    struct memo *mm = NULL;
    if (len <= MEMO_MAX_LEN) {
        if (len == 0 && ++s->empty_seen > EMPTY_BUDGET)
            return err_setk(e, ERR_DATA, "more than %u records of zero bytes", EMPTY_BUDGET);
        unsigned h = (unsigned)len * 31u + (unsigned)schema;
        for (size_t i = 0; i < len; i++)
            h = h * 131u + rec[i];
        mm = &s->memo[h % MEMO_SLOTS];
        if (mm->valid && mm->schema == schema && mm->len == len
            && memcmp(mm->rec, rec, len) == 0) {
            memcpy(key, mm->key, KEY_SIZE);
            return 0;
        }
    }
    unsigned char prefix[20] = "repart-adopt-v1";
    for (int i = 0; i < 4; i++)
        prefix[16 + i] = (unsigned char)(schema >> (8 * i));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_DigestInit_ex2(s->md, s->sha256, NULL) != 1
        || EVP_DigestUpdate(s->md, prefix, sizeof prefix) != 1
        || EVP_DigestUpdate(s->md, rec, len) != 1
        || EVP_DigestFinal_ex(s->md, md, &mdlen) != 1 || mdlen < KEY_SIZE)
        return err_set(e, "SHA-256 failed");
    memcpy(key, md, KEY_SIZE);
    if (mm) {
        mm->valid = 1;
        mm->schema = schema;
        mm->len = (unsigned char)len;
        memcpy(mm->rec, rec, len);
        memcpy(mm->key, key, KEY_SIZE);
    }
    return 0;
}

enum walk_mode {
    CHECK_ONLY,     /* records checked, no keys */
    INSERT,         /* keys added to the table, as records of file `file` */
    TRIAL,          /* keys taken out of every file of schema `schema` where present */
    DRAIN,          /* keys still left in file `file` taken out, each passed to `each` */
};

struct walk {
    struct adopt_set *s;
    size_t schema;
    size_t file;               /* INSERT, DRAIN */
    enum walk_mode mode;
    int (*each)(void *ud, const char *series, size_t n, int64_t time); /* DRAIN */
    void *ud;
    int raw;                   /* DRAIN: the schema is RawDatum's (raw_datum_like) */
};

/* A zigzag varint at rec[*at..len): 0 and the value, -1 when it runs out. */
static int read_long(const unsigned char *rec, size_t len, size_t *at, int64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; *at < len && shift < 64; shift += 7) {
        unsigned char c = rec[(*at)++];
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return -1;
}

/* RawDatum's first two fields, seriesId (string) and timeInSeconds (long),
 * of a record checked against the schema already. */
static void series_time(const unsigned char *rec, size_t len, const char **series, size_t *n,
                        int64_t *time)
{
    size_t at = 0;
    int64_t l;
    *series = NULL;
    *n = 0;
    if (read_long(rec, len, &at, &l) != 0 || l < 0 || (uint64_t)l > len - at)
        return;
    size_t t_at = at + (size_t)l;
    if (read_long(rec, len, &t_at, time) != 0)
        return;
    *series = (const char *)rec + at;
    *n = (size_t)l;
}

/* 1 when a schema's records start with RawDatum's seriesId and timeInSeconds. */
static int raw_datum_like(avro_schema_t sc)
{
    if (!sc || !is_avro_record(sc) || avro_schema_record_size(sc) < 2)
        return 0;
    const char *f0 = avro_schema_record_field_name(sc, 0);
    const char *f1 = avro_schema_record_field_name(sc, 1);
    avro_schema_t t0 = avro_schema_record_field_get_by_index(sc, 0);
    avro_schema_t t1 = avro_schema_record_field_get_by_index(sc, 1);
    return f0 && f1 && strcmp(f0, "seriesId") == 0 && strcmp(f1, "timeInSeconds") == 0 &&
           is_avro_string(t0) && is_avro_int64(t1);
}

static int drain_one(struct walk *w, const unsigned char *rec, size_t len, struct err *e)
{
    struct adopt_set *s = w->s;
    struct sfile *f = &s->files[w->file];
    unsigned char k[KEY_SIZE], key[KEY_SIZE];
    if (make_key(s, w->schema, rec, len, k, e) < 0)
        return -1;
    xor_key(key, k, f->pad);
    unsigned char *sl = s->tab + probe(s->tab, s->cap, key) * SLOT_SIZE;
    uint32_t c = slot_count(sl);
    if (c <= 1)
        return 0;
    set_count(sl, c - 1);
    f->left--;
    s->left--;
    const char *series = NULL;
    size_t n = 0;
    int64_t time = 0;
    if (w->raw)
        series_time(rec, len, &series, &n, &time);
    return w->each(w->ud, series, n, time);
}

static int insert_batch(struct adopt_set *s, struct sfile *f, size_t n, struct err *e)
{
    if (reserve(s, n, e) < 0)
        return -1;
    unsigned char key[KEY_SIZE], next[KEY_SIZE];
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) {
            xor_key(next, s->keys.data + (i + PREFETCH_AHEAD) * KEY_SIZE, f->pad);
            prefetch_slot(s, next);
        }
        xor_key(key, s->keys.data + i * KEY_SIZE, f->pad);
        if (insert(s, key, e) < 0)
            return -1;
        f->records++;
        f->left++;
        s->records++;
        s->left++;
    }
    return 0;
}

static int trial_batch(struct adopt_set *s, struct sfile *f, size_t n, struct err *e)
{
    unsigned char key[KEY_SIZE], next[KEY_SIZE];
    for (size_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) {
            xor_key(next, s->keys.data + (i + PREFETCH_AHEAD) * KEY_SIZE, f->pad);
            prefetch_slot(s, next);
        }
        xor_key(key, s->keys.data + i * KEY_SIZE, f->pad);
        size_t at = probe(s->tab, s->cap, key);
        unsigned char *sl = s->tab + at * SLOT_SIZE;
        uint32_t c = slot_count(sl);
        if (c <= 1) {
            f->missing++;
            continue;
        }
        /* at most one entry per record of the file */
        if (bytebuf_append(&f->undo, &at, sizeof at, e) < 0)
            return -1;
        set_count(sl, c - 1);
        f->present++;
    }
    return 0;
}

static int flush_batch(struct walk *w, struct err *e)
{
    struct adopt_set *s = w->s;
    size_t n = s->keys.len / KEY_SIZE;
    s->keys.len = 0;
    if (w->mode == INSERT)
        return insert_batch(s, &s->files[w->file], n, e);
    for (size_t f = 0; f < s->n_files; f++)
        if (s->files[f].schema == w->schema && trial_batch(s, &s->files[f], n, e) < 0)
            return -1;
    return 0;
}

static int push_key(void *ud, const unsigned char *rec, size_t len, struct err *e)
{
    struct walk *w = ud;
    struct adopt_set *s = w->s;
    if (w->mode == DRAIN)
        return drain_one(w, rec, len, e);
    if (bytebuf_reserve(&s->keys, KEY_SIZE, e) < 0
        || make_key(s, w->schema, rec, len, s->keys.data + s->keys.len, e) < 0)
        return -1;
    s->keys.len += KEY_SIZE;
    return s->keys.len >= BATCH * KEY_SIZE ? flush_batch(w, e) : 0;
}

/* Walks every record of a container with prog, doing w->mode with its key.
 * Errors name the container and block offset. *records gets the records
 * walked. */
static int each_record(struct walk *w, const void *data, size_t len, const char *name,
                       const struct datum_prog *prog, uint64_t *records, struct err *e)
{
    struct adopt_set *s = w->s;
    struct ocf_reader r;
    if (ocf_reader_open(&r, name, data, len, e) < 0)
        return -1;
    struct ocf_block b;
    int rc;
    uint64_t n = 0;
    s->empty_seen = 0;
    s->keys.len = 0;
    while ((rc = ocf_reader_next(&r, &b, e)) == 1) {
        const unsigned char *p = b.data;
        size_t plen = b.size;
        if (r.codec != CODEC_NULL) {
            if (codec_decompress(r.codec, b.data, b.size, CODEC_DEFAULT_MAX_BLOCK, &s->dec,
                                 e) < 0) {
                rc = -1;
            } else {
                p = s->dec.data;
                plen = s->dec.len;
            }
        } else if (b.size > CODEC_DEFAULT_MAX_BLOCK) {
            rc = err_setk(e, ERR_DATA, "block of %zu bytes exceeds the limit of %u", b.size,
                          CODEC_DEFAULT_MAX_BLOCK);
        }
        if (rc == 1 && (w->mode == CHECK_ONLY
                            ? datum_check_block(prog, p, plen, b.count, NULL, e)
                            : datum_each_record(prog, p, plen, b.count, push_key, w, e)) < 0)
            rc = -1;
        if (rc < 0) {
            err_prefix(e, "%s: block at offset %zu: ", name, b.offset);
            break;
        }
        n += (uint64_t)b.count;
    }
    ocf_reader_close(&r);
    if (rc == 0 && w->mode != CHECK_ONLY && w->mode != DRAIN && flush_batch(w, e) < 0) {
        err_prefix(e, "%s: ", name);
        rc = -1;
    }
    if (records)
        *records = n;
    return rc < 0 ? -1 : 0;
}

/* ---- sample files ---- */

static void schema_clear(struct schema *sc)
{
    datum_free(sc->prog);
    if (sc->schema)
        avro_schema_decref(sc->schema);
    free(sc->json);
    memset(sc, 0, sizeof *sc);
}

static void sschema_clear(struct sschema *c)
{
    datum_free(c->prog);
    if (c->schema)
        avro_schema_decref(c->schema);
    free(c->json);
    memset(c, 0, sizeof *c);
}

/* The index of a sample file's schema, added when no known one equals it. */
static int find_schema(struct adopt_set *s, const char *json, size_t len, size_t *out,
                       struct err *e)
{
    for (size_t i = 0; i < s->n_schemas; i++) {
        if (s->schemas[i].len == len && memcmp(s->schemas[i].json, json, len) == 0) {
            *out = i;
            return 0;
        }
    }
    struct schema sc = {0};
    if (!(sc.json = malloc(len + 1)))
        return err_set(e, "out of memory");
    memcpy(sc.json, json, len);
    sc.json[len] = '\0';
    sc.len = len;
    if (avsc_parse(sc.json, len, &sc.schema, e) < 0
        || !(sc.prog = datum_compile(sc.schema, NULL, 0, e))) {
        if (e)
            e->kind = ERR_DATA;
        schema_clear(&sc);
        return -1;
    }
    for (size_t i = 0; i < s->n_schemas; i++) {
        if (avsc_equal(s->schemas[i].schema, sc.schema)) {
            schema_clear(&sc);
            *out = i;
            return 0;
        }
    }
    struct schema *ns = realloc(s->schemas, (s->n_schemas + 1) * sizeof *ns);
    if (!ns) {
        schema_clear(&sc);
        return err_set(e, "out of memory");
    }
    s->schemas = ns;
    s->schemas[s->n_schemas] = sc;
    *out = s->n_schemas++;
    return 0;
}

static int add_file(struct adopt_set *s, const void *data, size_t len, const char *name,
                    struct err *e)
{
    struct sfile *nf = realloc(s->files, (s->n_files + 1) * sizeof *nf);
    if (!nf)
        return err_set(e, "out of memory");
    s->files = nf;
    struct sfile *f = &s->files[s->n_files];
    memset(f, 0, sizeof *f);
    if (!(f->name = strdup(name)))
        return err_set(e, "out of memory");
    size_t fi = s->n_files++;
    unsigned char pad[KEY_SIZE] = "repart-adopt-f";
    for (int i = 0; i < 2; i++)
        pad[14 + i] = (unsigned char)(fi >> (8 * i));
    if (make_key(s, (size_t)-1, pad, sizeof pad, f->pad, e) < 0)
        return -1;

    /* framing first, and the record count to size the table once */
    struct ocf_reader r;
    if (ocf_reader_open(&r, name, data, len, e) < 0)
        return -1;
    struct ocf_block b;
    int rc;
    uint64_t claimed = 0;
    while ((rc = ocf_reader_next(&r, &b, e)) == 1)
        claimed += (uint64_t)b.count;
    if (rc == 0 && find_schema(s, r.schema_json, r.schema_len, &f->schema, e) < 0) {
        err_prefix(e, "%s: ", name);
        rc = -1;
    }
    ocf_reader_close(&r);
    if (rc < 0)
        return -1;
    /* counts are not checked yet: a hostile header may claim far more
     * records than the file holds; real records take several bytes each */
    uint64_t cap_claim = (uint64_t)len / 4 + 16;
    if (reserve(s, claimed < cap_claim ? claimed : cap_claim, e) < 0) {
        err_prefix(e, "%s: ", name);
        return -1;
    }
    struct walk w = {.s = s, .schema = f->schema, .file = fi, .mode = INSERT};
    return each_record(&w, data, len, name, s->schemas[f->schema].prog, NULL, e);
}

int adopt_add(struct adopt_set *s, const void *container, size_t len, const char *name,
              struct err *e)
{
    if (!name)
        name = "(sample file)";
    if (s->failed)
        return err_set(e, "%s: not read: %s", name, s->fail_msg);
    if (s->n_files >= 0xffff)
        return err_set(e, "%s: not read: too many sample files", name);
    if (add_file(s, container, len, name, e) < 0) {
        /* part of the file may be in the table: the set is no good now */
        s->failed = 1;
        snprintf(s->fail_msg, sizeof s->fail_msg,
                 "the set of sample records is incomplete (reading %s failed)", name);
        return -1;
    }
    return 0;
}

struct adopt_set *adopt_open(const void *container, size_t len, const char *name,
                             struct err *e)
{
    struct adopt_set *s = calloc(1, sizeof *s);
    if (!s) {
        err_set(e, "out of memory");
        return NULL;
    }
    s->last_file = -1;
    s->md = EVP_MD_CTX_new();
    s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!s->md || !s->sha256) {
        err_set(e, "SHA-256 unavailable");
        adopt_free(s);
        return NULL;
    }
    if (adopt_add(s, container, len, name, e) < 0) {
        adopt_free(s);
        return NULL;
    }
    return s;
}

/* ---- sources ---- */

static struct sschema *source_schema(struct adopt_set *s, const struct ocf_reader *r,
                                     struct err *e)
{
    struct sschema *c = NULL, *victim = &s->cache[0];
    for (int i = 0; i < SOURCE_CACHE && !c; i++) {
        struct sschema *x = &s->cache[i];
        if (x->json && x->len == r->schema_len && memcmp(x->json, r->schema_json, x->len) == 0)
            c = x;
        else if (!x->json || (victim->json && x->used < victim->used))
            victim = x;
    }
    if (!c) {
        c = victim;
        sschema_clear(c);
        if (!(c->json = malloc(r->schema_len + 1))) {
            err_set(e, "out of memory");
            return NULL;
        }
        memcpy(c->json, r->schema_json, r->schema_len);
        c->json[r->schema_len] = '\0';
        c->len = r->schema_len;
        if (avsc_parse(c->json, c->len, &c->schema, e) < 0
            || !(c->prog = datum_compile(c->schema, NULL, 0, e))) {
            if (e)
                e->kind = ERR_DATA;
            sschema_clear(c);
            return NULL;
        }
        c->eq = -1;
    }
    c->used = ++s->clock;
    for (; c->checked < s->n_schemas; c->checked++) {
        const struct schema *sc = &s->schemas[c->checked];
        if (c->eq < 0 && ((sc->len == c->len && memcmp(sc->json, c->json, c->len) == 0)
                          || avsc_equal(sc->schema, c->schema)))
            c->eq = (int)c->checked;
    }
    return c;
}

static void trial_reset(struct adopt_set *s)
{
    for (size_t f = 0; f < s->n_files; f++) {
        s->files[f].undo.len = 0;
        s->files[f].present = s->files[f].missing = 0;
    }
}

/* Gives back what the trial took out of file f. */
static void rollback(struct adopt_set *s, struct sfile *f)
{
    size_t n = f->undo.len / sizeof(size_t);
    for (size_t i = 0; i < n; i++) {
        size_t at;
        memcpy(&at, f->undo.data + i * sizeof at, sizeof at);
        unsigned char *sl = s->tab + at * SLOT_SIZE;
        set_count(sl, slot_count(sl) + 1);
    }
    f->undo.len = 0;
}

static void rollback_all(struct adopt_set *s)
{
    for (size_t f = 0; f < s->n_files; f++)
        rollback(s, &s->files[f]);
}

static int resolve_sink(void *ud, const void *p, size_t n)
{
    return bytebuf_append(ud, p, n, NULL);
}

/* The source's records re-encoded into sample schema k, as the sample's
 * Python writer did, into s->resolved (a null-codec container). Returns 1,
 * or 0 when the source cannot be expressed in that schema. */
static int resolve_into(struct adopt_set *s, size_t k, const void *src, size_t len,
                        const char *name, struct err *e)
{
    struct merge_options o = {
        .schema_json = s->schemas[k].json, .codec = CODEC_NULL,
        .block_target = 1u << 20, .verify = MERGE_VERIFY_FULL,
    };
    s->resolved.len = 0;
    struct err me = {0};
    struct merge *m = merge_open(&o, resolve_sink, &s->resolved, &me);
    if (!m)
        return err_set(e, "%s: re-encoding into the sample's schema: %s", name, me.msg);
    int rc = merge_add(m, name, src, len, NULL, &me) == 0 && merge_finish(m, NULL, &me) == 0;
    merge_free(m);
    if (!rc && me.kind != ERR_DATA)   /* out of memory, not the schema */
        return err_set(e, "%s: re-encoding into the sample's schema: %s", name, me.msg);
    return rc;
}

/* After a trial under schema k: takes the source from the first file of
 * that schema that holds all of it (returns 1), else gives everything back
 * and notes the best partial file. */
static int settle(struct adopt_set *s, size_t k, uint64_t records, uint64_t *best,
                  long *best_file)
{
    long got = -1;
    for (size_t f = 0; f < s->n_files && got < 0; f++)
        if (s->files[f].schema == k && s->files[f].missing == 0
            && s->files[f].present == records)
            got = (long)f;
    for (size_t f = 0; f < s->n_files; f++) {
        struct sfile *x = &s->files[f];
        if (x->schema != k)
            continue;
        if ((long)f == got) {
            x->undo.len = 0;   /* keep what was taken */
            x->left -= x->present;
            continue;
        }
        if (x->present > *best) {
            *best = x->present;
            *best_file = (long)f;
        }
        rollback(s, x);
    }
    if (got < 0)
        return 0;
    s->left -= records;
    s->records_taken += records;
    s->sources_taken++;
    s->last_file = got;
    return 1;
}

int adopt_take(struct adopt_set *s, const void *source, size_t len, const char *source_name,
               int *taken, struct err *e)
{
    *taken = 0;
    const char *name = source_name ? source_name : "(source)";
    if (s->failed)
        return err_set(e, "%s: not compared: %s", name, s->fail_msg);
    s->last_file = -1;

    struct ocf_reader r;
    if (ocf_reader_open(&r, name, source, len, e) < 0)
        return -1;
    struct sschema *c = source_schema(s, &r, e);
    if (!c)
        err_prefix(e, "%s: ", name);
    ocf_reader_close(&r);
    if (!c)
        return -1;

    /* check the whole source under its own schema; when sample files have
     * that schema, its records are looked up in them on the way */
    uint64_t records = 0, best = 0;
    long best_file = -1;
    trial_reset(s);
    struct walk w = {.s = s, .schema = c->eq >= 0 ? (size_t)c->eq : 0,
                     .mode = c->eq >= 0 ? TRIAL : CHECK_ONLY};
    if (each_record(&w, source, len, name, c->prog, &records, e) < 0) {
        rollback_all(s);
        return -1;
    }
    if (records == 0)
        return 0;
    if (c->eq >= 0 && settle(s, (size_t)c->eq, records, &best, &best_file)) {
        *taken = 1;
        return 0;
    }
    /* then the files of other schemas, the source re-encoded into each */
    for (size_t k = 0; k < s->n_schemas; k++) {
        if ((int)k == c->eq)
            continue;
        int ok = resolve_into(s, k, source, len, name, e);
        if (ok < 0)
            return -1;
        if (!ok)
            continue;
        trial_reset(s);
        w = (struct walk){.s = s, .schema = k, .mode = TRIAL};
        if (each_record(&w, s->resolved.data, s->resolved.len, name, s->schemas[k].prog, NULL,
                        e) < 0) {
            rollback_all(s);
            return err_prefix(e, "re-encoded into the sample's schema: ");
        }
        if (settle(s, k, records, &best, &best_file)) {
            *taken = 1;
            return 0;
        }
    }
    if (best == 0)
        return 0;
    *taken = -1;
    return err_setk(e, ERR_DATA, "%s: %llu of its %llu records are in the sample file %s, "
                    "%llu are not: the sample file holds part of this source, so which of its "
                    "records were merged cannot be established automatically", name,
                    (unsigned long long)best, (unsigned long long)records,
                    s->files[best_file].name, (unsigned long long)(records - best));
}

int adopt_drain_left(struct adopt_set *s, const void *container, size_t len, const char *name,
                     int (*each)(void *ud, const char *series, size_t n, int64_t time),
                     void *ud, struct err *e)
{
    if (s->failed)
        return err_set(e, "%s: %s", name, s->fail_msg);
    for (size_t f = 0; f < s->n_files; f++) {
        if (strcmp(s->files[f].name, name) != 0)
            continue;
        if (!s->files[f].left)
            return 0;
        struct walk w = {.s = s, .schema = s->files[f].schema, .file = f, .mode = DRAIN,
                         .each = each, .ud = ud};
        w.raw = raw_datum_like(s->schemas[w.schema].schema);
        return each_record(&w, container, len, name, s->schemas[w.schema].prog, NULL, e);
    }
    return 0;
}

const char *adopt_last_file(const struct adopt_set *s)
{
    return s->last_file >= 0 ? s->files[s->last_file].name : NULL;
}

uint64_t adopt_left(const struct adopt_set *s)
{
    return s->left;
}

uint64_t adopt_file_left(const struct adopt_set *s, const char *name)
{
    for (size_t f = 0; f < s->n_files; f++)
        if (strcmp(s->files[f].name, name) == 0)
            return s->files[f].left;
    return 0;
}

void adopt_get_stats(const struct adopt_set *s, struct adopt_stats *out)
{
    memset(out, 0, sizeof *out);
    out->records = s->records;
    out->left = s->left;
    out->sources_taken = s->sources_taken;
    out->records_taken = s->records_taken;
    out->table_bytes = s->cap * SLOT_SIZE;
    for (size_t i = 0; i < s->cap; i++)
        if (slot_count(s->tab + i * SLOT_SIZE) > 1)
            out->distinct++;
}

void adopt_free(struct adopt_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_schemas; i++)
        schema_clear(&s->schemas[i]);
    free(s->schemas);
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files[i].name);
        bytebuf_free(&s->files[i].undo);
    }
    free(s->files);
    for (int i = 0; i < SOURCE_CACHE; i++)
        sschema_clear(&s->cache[i]);
    EVP_MD_CTX_free(s->md);
    EVP_MD_free(s->sha256);
    bytebuf_free(&s->dec);
    bytebuf_free(&s->keys);
    bytebuf_free(&s->resolved);
    free(s->tab);
    free(s);
}
