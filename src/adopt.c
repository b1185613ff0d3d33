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
#define MAX_NAMES_IN_MSG 3
#define MEMO_SLOTS 256
#define MEMO_MAX_LEN 16
/* Records of zero bytes (schemas like "null") per container: each still
 * costs a walk step and a table update; real data has none. */
#define EMPTY_BUDGET (1u << 24)

struct memo {
    size_t slot;
    unsigned char valid;
    unsigned char len;
    unsigned char rec[MEMO_MAX_LEN];
    unsigned char key[KEY_SIZE];
};

/* A schema of the sample file(s). Records are keyed under its index. */
struct slot {
    char *json;                /* NUL-terminated copy (merge.h wants one) */
    size_t len;
    avro_schema_t schema;
    struct datum_prog *prog;
};

/* A source schema seen before, keyed by its text: SiteWise files all carry
 * the same text, so each is parsed and compared once. */
struct sschema {
    char *json;
    size_t len;
    avro_schema_t schema;
    struct datum_prog *prog;
    int eq_slot;               /* the slot with an equal schema, or -1 */
    size_t slots_checked;      /* slots compared so far (adopt_add may add more) */
    uint64_t used;
};

struct adopt_set {
    unsigned char *tab;
    size_t cap;                /* slots */
    size_t used;               /* occupied slots */
    uint64_t records, left, sources_taken, records_taken;

    struct slot *slots;
    size_t n_slots;
    char **names;              /* sample files, for messages */
    size_t n_names;
    int failed;
    char fail_msg[256];

    struct sschema cache[SOURCE_CACHE];
    uint64_t clock;

    struct memo memo[MEMO_SLOTS];
    uint64_t empty_seen;       /* zero-byte records in the current container */
    EVP_MD_CTX *md;
    EVP_MD *sha256;
    struct codec_buf dec;      /* a decompressed block */
    struct codec_buf keys;     /* a batch of keys (at most BATCH) */
    struct codec_buf undo;     /* slots a trial took a record from (size_t each) */
    struct codec_buf resolved; /* a source resolved into another slot's schema */
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

static int max_used_ok(size_t used, size_t cap)
{
    return used <= cap / LOAD_DEN * LOAD_NUM;
}

/* Makes room for `more` new keys. Keys with no record left are dropped on
 * the way: nothing can match them any more. */
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
    s->records++;
    s->left++;
    return 0;
}

/* ---- keys ---- */

static int make_key(struct adopt_set *s, size_t slot, const unsigned char *rec, size_t len,
                    unsigned char key[KEY_SIZE], struct err *e)
{
    /* Tiny records (never RawDatum's) can be many per input byte: keep
     * their keys, so a flood of them costs a lookup instead of a digest. */
    struct memo *mm = NULL;
    if (len <= MEMO_MAX_LEN) {
        if (len == 0 && ++s->empty_seen > EMPTY_BUDGET)
            return err_setk(e, ERR_DATA, "more than %u records of zero bytes", EMPTY_BUDGET);
        unsigned h = (unsigned)len * 31u + (unsigned)slot;
        for (size_t i = 0; i < len; i++)
            h = h * 131u + rec[i];
        mm = &s->memo[h % MEMO_SLOTS];
        if (mm->valid && mm->slot == slot && mm->len == len && memcmp(mm->rec, rec, len) == 0) {
            memcpy(key, mm->key, KEY_SIZE);
            return 0;
        }
    }
    /* the slot keeps equal bytes under different schemas apart */
    unsigned char prefix[20] = "repart-adopt-v1";
    for (int i = 0; i < 4; i++)
        prefix[16 + i] = (unsigned char)(slot >> (8 * i));
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
        mm->slot = slot;
        mm->len = (unsigned char)len;
        memcpy(mm->rec, rec, len);
        memcpy(mm->key, key, KEY_SIZE);
    }
    return 0;
}

/* Keys go to the table in batches: the table is far larger than the
 * caches, so each key's slot is fetched a few keys ahead. */
#define BATCH 4096
#define PREFETCH_AHEAD 8

enum walk_mode {
    CHECK_ONLY,     /* records checked, no keys */
    INSERT,         /* keys added to the table */
    TRIAL,          /* keys taken out of the table where present, noted in s->undo */
};

struct walk {
    struct adopt_set *s;
    size_t slot;
    enum walk_mode mode;
    uint64_t present, missing;   /* TRIAL */
};

static void prefetch_slot(const struct adopt_set *s, const unsigned char *key)
{
    __builtin_prefetch(s->tab + home(key, s->cap) * SLOT_SIZE);
}

static int flush_batch(struct walk *w, struct err *e)
{
    struct adopt_set *s = w->s;
    size_t n = s->keys.len / KEY_SIZE;
    s->keys.len = 0;
    if (w->mode == INSERT && reserve(s, n, e) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *key = s->keys.data + i * KEY_SIZE;
        if (i + PREFETCH_AHEAD < n)
            prefetch_slot(s, key + PREFETCH_AHEAD * KEY_SIZE);
        if (w->mode == INSERT) {
            if (insert(s, key, e) < 0)
                return -1;
            continue;
        }
        size_t at = probe(s->tab, s->cap, key);
        unsigned char *sl = s->tab + at * SLOT_SIZE;
        uint32_t c = slot_count(sl);
        if (c <= 1) {
            w->missing++;
            continue;
        }
        /* undo holds at most one entry per record of the sample */
        if (codec_buf_append(&s->undo, &at, sizeof at, e) < 0)
            return -1;
        set_count(sl, c - 1);
        w->present++;
    }
    return 0;
}

static int push_key(void *ud, const unsigned char *rec, size_t len, struct err *e)
{
    struct walk *w = ud;
    struct adopt_set *s = w->s;
    if (codec_buf_reserve(&s->keys, KEY_SIZE, e) < 0
        || make_key(s, w->slot, rec, len, s->keys.data + s->keys.len, e) < 0)
        return -1;
    s->keys.len += KEY_SIZE;
    return s->keys.len >= BATCH * KEY_SIZE ? flush_batch(w, e) : 0;
}

/* Gives back what a trial took out. */
static void rollback(struct adopt_set *s)
{
    size_t n = s->undo.len / sizeof(size_t);
    for (size_t i = 0; i < n; i++) {
        size_t at;
        memcpy(&at, s->undo.data + i * sizeof at, sizeof at);
        unsigned char *sl = s->tab + at * SLOT_SIZE;
        set_count(sl, slot_count(sl) + 1);
    }
    s->undo.len = 0;
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
    if (rc == 0 && w->mode != CHECK_ONLY && flush_batch(w, e) < 0) {
        err_prefix(e, "%s: ", name);
        rc = -1;
    }
    if (records)
        *records = n;
    return rc < 0 ? -1 : 0;
}

/* ---- sample files ---- */

static void slot_clear(struct slot *sl)
{
    datum_free(sl->prog);
    if (sl->schema)
        avro_schema_decref(sl->schema);
    free(sl->json);
    memset(sl, 0, sizeof *sl);
}

static void sschema_clear(struct sschema *c)
{
    datum_free(c->prog);
    if (c->schema)
        avro_schema_decref(c->schema);
    free(c->json);
    memset(c, 0, sizeof *c);
}

/* The slot of a sample file's schema, added when no slot's schema equals it. */
static int find_slot(struct adopt_set *s, const char *json, size_t len, size_t *out,
                     struct err *e)
{
    for (size_t i = 0; i < s->n_slots; i++) {
        if (s->slots[i].len == len && memcmp(s->slots[i].json, json, len) == 0) {
            *out = i;
            return 0;
        }
    }
    struct slot sl = {0};
    if (!(sl.json = malloc(len + 1)))
        return err_set(e, "out of memory");
    memcpy(sl.json, json, len);
    sl.json[len] = '\0';
    sl.len = len;
    if (avsc_parse(sl.json, len, &sl.schema, e) < 0
        || !(sl.prog = datum_compile(sl.schema, NULL, 0, e))) {
        if (e)
            e->kind = ERR_DATA;
        slot_clear(&sl);
        return -1;
    }
    for (size_t i = 0; i < s->n_slots; i++) {
        if (avsc_equal(s->slots[i].schema, sl.schema)) {
            slot_clear(&sl);
            *out = i;
            return 0;
        }
    }
    struct slot *ns = realloc(s->slots, (s->n_slots + 1) * sizeof *ns);
    if (!ns) {
        slot_clear(&sl);
        return err_set(e, "out of memory");
    }
    s->slots = ns;
    s->slots[s->n_slots] = sl;
    *out = s->n_slots++;
    return 0;
}

static int add_file(struct adopt_set *s, const void *data, size_t len, const char *name,
                    struct err *e)
{
    /* framing first, and the record count to size the table once */
    struct ocf_reader r;
    if (ocf_reader_open(&r, name, data, len, e) < 0)
        return -1;
    struct ocf_block b;
    int rc;
    uint64_t claimed = 0;
    while ((rc = ocf_reader_next(&r, &b, e)) == 1)
        claimed += (uint64_t)b.count;
    size_t slot = 0;
    if (rc == 0 && find_slot(s, r.schema_json, r.schema_len, &slot, e) < 0) {
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
    struct walk w = {.s = s, .slot = slot, .mode = INSERT};
    return each_record(&w, data, len, name, s->slots[slot].prog, NULL, e);
}

static int add_name(struct adopt_set *s, const char *name, struct err *e)
{
    char **nn = realloc(s->names, (s->n_names + 1) * sizeof *nn);
    if (!nn)
        return err_set(e, "out of memory");
    s->names = nn;
    if (!(s->names[s->n_names] = strdup(name)))
        return err_set(e, "out of memory");
    s->n_names++;
    return 0;
}

int adopt_add(struct adopt_set *s, const void *container, size_t len, const char *name,
              struct err *e)
{
    if (!name)
        name = "(sample file)";
    if (s->failed)
        return err_set(e, "%s: not read: %s", name, s->fail_msg);
    if (add_name(s, name, e) < 0 || add_file(s, container, len, name, e) < 0) {
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
        c->eq_slot = -1;
    }
    c->used = ++s->clock;
    for (; c->slots_checked < s->n_slots; c->slots_checked++) {
        const struct slot *sl = &s->slots[c->slots_checked];
        if (c->eq_slot < 0 && ((sl->len == c->len && memcmp(sl->json, c->json, c->len) == 0)
                               || avsc_equal(sl->schema, c->schema)))
            c->eq_slot = (int)c->slots_checked;
    }
    return c;
}

static int resolve_sink(void *ud, const void *p, size_t n)
{
    return codec_buf_append(ud, p, n, NULL);
}

/* The source's records re-encoded into slot k's schema, as the sample's
 * Python writer did, into s->resolved (a null-codec container). Returns 1,
 * or 0 when the source cannot be expressed in that schema. */
static int resolve_into(struct adopt_set *s, size_t k, const void *src, size_t len,
                        const char *name, struct err *e)
{
    struct merge_options o = {
        .schema_json = s->slots[k].json, .codec = CODEC_NULL,
        .block_target = 1u << 20, .verify = MERGE_VERIFY_FULL,
    };
    s->resolved.len = 0;
    struct err me = {0};
    struct merge *m = merge_open(&o, resolve_sink, &s->resolved, &me);
    if (!m)
        return err_set(e, "%s: resolving into the sample's schema: %s", name, me.msg);
    int rc = merge_add(m, name, src, len, NULL, &me) == 0 && merge_finish(m, NULL, &me) == 0;
    merge_free(m);
    if (!rc && me.kind != ERR_DATA)   /* out of memory, not the schema */
        return err_set(e, "%s: resolving into the sample's schema: %s", name, me.msg);
    return rc;
}

static void sample_names(const struct adopt_set *s, char *buf, size_t size)
{
    size_t n = s->n_names < MAX_NAMES_IN_MSG ? s->n_names : MAX_NAMES_IN_MSG;
    int off = snprintf(buf, size, "%s", s->n_names > 1 ? "sample files " : "sample file ");
    for (size_t i = 0; i < n && off >= 0 && (size_t)off < size; i++)
        off += snprintf(buf + off, size - (size_t)off, "%s%s", i ? ", " : "", s->names[i]);
    if (s->n_names > n && off >= 0 && (size_t)off < size)
        snprintf(buf + off, size - (size_t)off, " (+%zu more)", s->n_names - n);
}

int adopt_take(struct adopt_set *s, const void *source, size_t len, const char *source_name,
               int *taken, struct err *e)
{
    *taken = 0;
    const char *name = source_name ? source_name : "(source)";
    if (s->failed)
        return err_set(e, "%s: not compared: %s", name, s->fail_msg);

    struct ocf_reader r;
    if (ocf_reader_open(&r, name, source, len, e) < 0)
        return -1;
    struct sschema *c = source_schema(s, &r, e);
    if (!c)
        err_prefix(e, "%s: ", name);
    ocf_reader_close(&r);
    if (!c)
        return -1;

    /* check the whole source under its own schema; when a slot has that
     * schema, its records are looked up on the way */
    uint64_t records = 0, best = 0;
    struct walk w = {.s = s, .slot = c->eq_slot >= 0 ? (size_t)c->eq_slot : 0,
                     .mode = c->eq_slot >= 0 ? TRIAL : CHECK_ONLY};
    s->undo.len = 0;
    if (each_record(&w, source, len, name, c->prog, &records, e) < 0) {
        rollback(s);
        return -1;
    }
    /* then the other slots, the source re-encoded into their schemas */
    for (size_t k = 0; records > 0; k++) {
        if (w.mode == TRIAL) {
            if (w.missing == 0) {
                s->undo.len = 0;   /* keep what was taken */
                s->left -= w.present;
                s->records_taken += w.present;
                s->sources_taken++;
                *taken = 1;
                return 0;
            }
            if (w.present > best)
                best = w.present;
            rollback(s);
        }
        if (k == (size_t)c->eq_slot)
            k++;
        if (k >= s->n_slots)
            break;
        int ok = resolve_into(s, k, source, len, name, e);
        if (ok < 0)
            return -1;
        w = (struct walk){.s = s, .slot = k, .mode = ok ? TRIAL : CHECK_ONLY};
        if (ok && each_record(&w, s->resolved.data, s->resolved.len, name, s->slots[k].prog,
                              NULL, e) < 0) {
            rollback(s);
            return err_prefix(e, "re-encoded into the sample's schema: ");
        }
    }
    if (best == 0)
        return 0;
    *taken = -1;
    char names[512];
    sample_names(s, names, sizeof names);
    return err_setk(e, ERR_DATA, "%s: %llu of its %llu records are in the %s, %llu are not: "
                    "the sample file holds part of this source, so which of its records were "
                    "merged cannot be established automatically", name,
                    (unsigned long long)best, (unsigned long long)records, names,
                    (unsigned long long)(records - best));
}

uint64_t adopt_left(const struct adopt_set *s)
{
    return s->left;
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
    for (size_t i = 0; i < s->n_slots; i++)
        slot_clear(&s->slots[i]);
    free(s->slots);
    for (size_t i = 0; i < s->n_names; i++)
        free(s->names[i]);
    free(s->names);
    for (int i = 0; i < SOURCE_CACHE; i++)
        sschema_clear(&s->cache[i]);
    EVP_MD_CTX_free(s->md);
    EVP_MD_free(s->sha256);
    codec_buf_free(&s->dec);
    codec_buf_free(&s->keys);
    codec_buf_free(&s->undo);
    codec_buf_free(&s->resolved);
    free(s->tab);
    free(s);
}
