#include "merge.h"

#include <avro.h>

#include "avro_call.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avsc.h"
#include "datum.h"

#define DEFAULT_BLOCK_TARGET (64u * 1024)
#define SCHEMA_CACHE 8

/* A source schema seen before, keyed by its JSON text: SiteWise files all
 * carry the same text, so each is parsed and compared once per merge. */
struct sentry {
    char *json;
    size_t len;
    avro_schema_t schema;
    int equal;                 /* same as the output schema */
    struct datum_prog *prog;   /* checker for this writer schema */
    struct avsc_plan plan;     /* resolution to the output schema (resolve path) */
    int plan_ready;
    avro_value_t resolved;     /* resolved-writer value wrapping m->rvalue */
    int resolved_ready;
    int fits;                  /* widen: 1 the output schema holds it as it is */
    uint64_t used;             /* LRU clock */
};

struct merge {
    enum codec_id codec;
    unsigned char sync[OCF_SYNC_SIZE];
    size_t block_target;
    int level;
    size_t max_block;
    enum merge_verify verify;
    ocf_sink_fn sink;
    void *ud;

    char *out_json;            /* output schema text (owned) */
    size_t out_len;
    avro_schema_t out_schema;
    int adopted;               /* output schema taken from the first source */
    int widen;                 /* merge_options.widen */
    int sitewise;              /* merge_options.sitewise */
    char *wider;               /* ERR_WIDER: the schema to start again with */

    struct ocf_writer w;
    int header_written;
    uint64_t header_len;
    int failed;
    int finished;

    struct bytebuf pending;  /* uncompressed records of the next output block */
    int64_t pending_count;
    struct bytebuf dec;      /* decompressed source block */
    struct bytebuf comp;     /* compressed output block */
    struct bytebuf aug;      /* source block rewritten for resolution */

    avro_value_iface_t *rclass;  /* generic class of the output schema */
    avro_value_t rvalue;
    int rvalue_ready;
    avro_reader_t areader;
    avro_writer_t awriter;

    struct sentry cache[SCHEMA_CACHE];
    uint64_t clock;
    int flushed;               /* a block went to the sink during this merge_add */
    struct merge_stats st;
};

static void sentry_clear(struct sentry *s)
{
    if (s->resolved_ready)
        avro_value_decref(&s->resolved);
    avsc_plan_free(&s->plan);
    datum_free(s->prog);
    if (s->schema)
        avro_schema_decref(s->schema);
    free(s->json);
    memset(s, 0, sizeof *s);
}

struct merge *merge_open(const struct merge_options *o, ocf_sink_fn sink, void *ud,
                         struct err *e)
{
    struct merge *m = calloc(1, sizeof *m);
    if (!m) {
        err_set(e, "out of memory");
        return NULL;
    }
    m->codec = o->codec;
    memcpy(m->sync, o->sync, OCF_SYNC_SIZE);
    m->block_target = o->block_target ? o->block_target : DEFAULT_BLOCK_TARGET;
    m->level = o->deflate_level;
    m->max_block = o->max_block ? o->max_block : CODEC_DEFAULT_MAX_BLOCK;
    m->verify = o->verify;
    m->widen = o->widen;
    m->sitewise = o->sitewise;
    m->sink = sink;
    m->ud = ud;
    if (o->continue_at) {
        /* the header is out already: blocks follow it */
        m->w.sink = sink;
        m->w.ud = ud;
        m->w.codec = m->codec;
        memcpy(m->w.sync, m->sync, OCF_SYNC_SIZE);
        m->w.bytes = o->continue_at;
        m->header_len = o->continue_header_len;
        m->header_written = 1;
    }
    if (codec_name(m->codec)[0] == '?') {
        err_setk(e, ERR_USAGE, "unsupported output codec");
        goto fail;
    }
    m->areader = avro_reader_memory("", 0);
    m->awriter = avro_writer_memory("", 0);
    if (!m->areader || !m->awriter) {
        err_set(e, "out of memory");
        goto fail;
    }
    if (o->schema_json) {
        m->out_len = strlen(o->schema_json);
        if (!(m->out_json = strdup(o->schema_json))) {
            err_set(e, "out of memory");
            goto fail;
        }
        if (avsc_parse(m->out_json, m->out_len, &m->out_schema, e) < 0) {
            err_prefix(e, "output schema: ");
            e->kind = ERR_USAGE;
            goto fail;
        }
    }
    return m;
fail:
    merge_free(m);
    return NULL;
}

void merge_free(struct merge *m)
{
    if (!m)
        return;
    for (int i = 0; i < SCHEMA_CACHE; i++)
        sentry_clear(&m->cache[i]);
    if (m->rvalue_ready)
        avro_value_decref(&m->rvalue);
    if (m->rclass)
        avro_value_iface_decref(m->rclass);
    if (m->out_schema)
        avro_schema_decref(m->out_schema);
    if (m->areader)
        avro_reader_free(m->areader);
    if (m->awriter)
        avro_writer_free(m->awriter);
    free(m->out_json);
    free(m->wider);
    bytebuf_free(&m->pending);
    bytebuf_free(&m->dec);
    bytebuf_free(&m->comp);
    bytebuf_free(&m->aug);
    free(m);
}

const char *merge_wider_schema(const struct merge *m)
{
    return m->wider;
}

const char *merge_schema(const struct merge *m)
{
    return m->out_json;
}

/* The output schema becomes `json` (owned now): only while nothing is
 * written. Every comparison made against the old one is forgotten. */
static int replace_output_schema(struct merge *m, char *json, struct err *e)
{
    avro_schema_t sch;
    if (avsc_parse(json, strlen(json), &sch, e) < 0) {
        free(json);
        return err_prefix(e, "widened output schema: ");
    }
    for (int i = 0; i < SCHEMA_CACHE; i++) {
        struct sentry *s = &m->cache[i];
        if (s->resolved_ready)
            avro_value_decref(&s->resolved);
        s->resolved_ready = 0;
        avsc_plan_free(&s->plan);
        memset(&s->plan, 0, sizeof s->plan);
        s->plan_ready = 0;
        s->equal = 0;
        s->fits = 0;
    }
    if (m->rvalue_ready)
        avro_value_decref(&m->rvalue);
    m->rvalue_ready = 0;
    if (m->rclass)
        avro_value_iface_decref(m->rclass);
    m->rclass = NULL;
    if (m->out_schema)
        avro_schema_decref(m->out_schema);
    free(m->out_json);
    m->out_schema = sch;
    m->out_json = json;
    m->out_len = strlen(json);
    return 0;
}

uint64_t merge_header_len(const struct merge *m)
{
    return m->header_len;
}

void merge_get_stats(const struct merge *m, struct merge_stats *out)
{
    *out = m->st;
    out->bytes_out = m->w.bytes;
    out->blocks_out = m->w.blocks;
    out->records_out = m->w.records;
}

/* ---- output ---- */

static int ensure_header(struct merge *m, struct err *e)
{
    if (m->header_written)
        return 0;
    if (!m->out_json)
        return err_set(e, "no output schema: none given and no source added");
    if (ocf_writer_open(&m->w, m->out_json, m->out_len, m->codec, m->sync, m->sink, m->ud,
                        e) < 0)
        return -1;
    m->header_written = 1;
    m->header_len = m->w.bytes;
    m->flushed = 1;
    return 0;
}

static int flush_pending(struct merge *m, struct err *e)
{
    if (m->pending_count == 0)
        return 0;
    if (ensure_header(m, e) < 0)
        return -1;
    const unsigned char *p = m->pending.data;
    size_t n = m->pending.len;
    if (m->codec != CODEC_NULL) {
        if (codec_compress(m->codec, m->level, m->pending.data, m->pending.len, &m->comp, e) < 0)
            return -1;
        p = m->comp.data;
        n = m->comp.len;
    }
    m->flushed = 1;
    if (ocf_writer_block(&m->w, m->pending_count, p, n, e) < 0)
        return -1;
    m->pending.len = 0;
    m->pending_count = 0;
    return 0;
}

/* ---- schema cache ---- */

static struct sentry *lookup_schema(struct merge *m, const struct ocf_reader *r,
                                    struct err *e)
{
    struct sentry *victim = &m->cache[0];
    for (int i = 0; i < SCHEMA_CACHE; i++) {
        struct sentry *s = &m->cache[i];
        if (s->json && s->len == r->schema_len && memcmp(s->json, r->schema_json, s->len) == 0) {
            s->used = ++m->clock;
            return s;
        }
        if (!s->json || (victim->json && s->used < victim->used))
            victim = s;
    }
    sentry_clear(victim);
    struct sentry *s = victim;
    if (!(s->json = malloc(r->schema_len + 1))) {
        err_set(e, "out of memory");
        return NULL;
    }
    memcpy(s->json, r->schema_json, r->schema_len);
    s->json[r->schema_len] = '\0';
    s->len = r->schema_len;
    if (avsc_parse(s->json, s->len, &s->schema, e) < 0
        || !(s->prog = datum_compile(s->schema, NULL, 0, e))) {
        sentry_clear(s);
        return NULL;
    }
    s->used = ++m->clock;
    return s;
}

static int prepare_resolution(struct merge *m, struct sentry *s, struct err *e)
{
    if (!s->plan_ready) {
        if (avsc_plan_resolution(s->json, s->len, s->schema, m->out_json, m->out_len,
                                 m->out_schema, &s->plan, e) < 0)
            return -1;
        s->plan_ready = 1;
    }
    char msg[AVRO_CALL_MSG_MAX];
    if (!m->rclass) {
        if (!(m->rclass = avro_call_generic_class(m->out_schema, msg)))
            return err_set(e, "output schema: %s", msg);
    }
    if (!m->rvalue_ready) {
        if (avro_call_generic_value_new(m->rclass, &m->rvalue, msg) != 0)
            return err_set(e, "output schema: %s", msg);
        m->rvalue_ready = 1;
    }
    if (!s->resolved_ready) {
        if (avro_call_resolved_writer_value(s->plan.resolver, &s->resolved, msg) != 0)
            return err_set(e, "schema resolution: %s", msg);
        avro_resolved_writer_set_dest(&s->resolved, &m->rvalue);
        s->resolved_ready = 1;
    }
    return 0;
}

/* ---- per-block work ---- */

enum pass { CHECK, EMIT };

/* Decoded (uncompressed) bytes of a source block, in m->dec unless the codec
 * is null (then the block itself). */
static int block_bytes(struct merge *m, const struct ocf_reader *r, const struct ocf_block *b,
                       const unsigned char **p, size_t *n, struct err *e)
{
    if (r->codec == CODEC_NULL) {
        if (b->size > m->max_block)
            return err_setk(e, ERR_DATA, "block of %zu bytes exceeds the limit of %zu",
                            b->size, m->max_block);
        *p = b->data;
        *n = b->size;
        return 0;
    }
    if (codec_decompress(r->codec, b->data, b->size, m->max_block, &m->dec, e) < 0)
        return -1;
    *p = m->dec.data;
    *n = m->dec.len;
    return 0;
}

/* Decodes one checked block through Avro C and, unless dst is NULL (the
 * checking pass), re-encodes it into dst (appending). */
static int resolve_block(struct merge *m, struct sentry *s, const unsigned char *p, size_t n,
                         int64_t count, struct bytebuf *dst, struct err *e)
{
    if (datum_rewrites(s->plan.prog)) {
        m->aug.len = 0;
        if (datum_check_block(s->plan.prog, p, n, count, &m->aug, e) < 0)
            return -1;
        p = m->aug.data;
        n = m->aug.len;
    }
    avro_reader_memory_set_source(m->areader, (const char *)p, (int64_t)n);
    for (int64_t i = 0; i < count; i++) {
        avro_value_reset(&m->rvalue);
        /* per record: no lock, so not Avro C's message (avro_call.h) */
        if (avro_value_read(m->areader, &s->resolved) != 0)
            return err_setk(e, ERR_DATA, "record %lld of the block does not decode under its "
                            "schema (Avro C)", (long long)i);
        if (!dst)
            continue;
        for (;;) {
            if (bytebuf_reserve(dst, dst->cap - dst->len < 4096 ? 65536 : 0, e) < 0)
                return -1;
            avro_writer_memory_set_dest(m->awriter, (const char *)dst->data + dst->len,
                                        (int64_t)(dst->cap - dst->len));
            int rc = avro_value_write(m->awriter, &m->rvalue);
            if (rc == 0) {
                dst->len += (size_t)avro_writer_tell(m->awriter);
                break;
            }
            if (rc != ENOSPC)
                return err_set(e, "record %lld of the block: Avro C cannot encode it under the "
                               "output schema (error %d)", (long long)i, rc);
            if (bytebuf_reserve(dst, dst->cap * 2 - dst->len, e) < 0)
                return -1;
        }
    }
    char extra;
    if (avro_read(m->areader, &extra, 1) == 0)
        return err_setk(e, ERR_DATA, "Avro C left bytes unread at the end of the block");
    return 0;
}

static int copy_checks(struct merge *m, const struct ocf_reader *r, struct sentry *s,
                       const struct ocf_block *b, struct err *e)
{
    int walk = m->verify == MERGE_VERIFY_FULL
        || (m->verify == MERGE_VERIFY_AUTO && r->codec == CODEC_NULL);
    if (walk) {
        const unsigned char *p = NULL;
        size_t n = 0;
        if (block_bytes(m, r, b, &p, &n, e) < 0)
            return -1;
        return datum_check_block(s->prog, p, n, b->count, NULL, e);
    }
    if (m->verify == MERGE_VERIFY_AUTO && r->codec == CODEC_SNAPPY) {
        if (b->size < 4)
            return err_setk(e, ERR_DATA, "snappy: block of %zu bytes is shorter than its "
                            "4-byte CRC", b->size);
    }
    return 0;
}

static int do_block(struct merge *m, const struct ocf_reader *r, struct sentry *s,
                    enum merge_mode mode, enum pass pass, const struct ocf_block *b,
                    struct err *e)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    if (b->count == 0)
        return pass == CHECK && mode != MERGE_COPIED
            ? (block_bytes(m, r, b, &p, &n, e) < 0 ? -1
               : datum_check_block(s->prog, p, n, 0, NULL, e))
            : 0;
    switch (mode) {
    case MERGE_COPIED:
        if (pass == CHECK)
            return copy_checks(m, r, s, b, e);
        if (ensure_header(m, e) < 0)
            return -1;
        m->flushed = 1;
        return ocf_writer_block(&m->w, b->count, b->data, b->size, e);
    case MERGE_RECODED:
        if (block_bytes(m, r, b, &p, &n, e) < 0)
            return -1;
        if (pass == CHECK)
            return datum_check_block(s->prog, p, n, b->count, NULL, e);
        if (bytebuf_append(&m->pending, p, n, e) < 0)
            return -1;
        m->pending_count += b->count;
        return m->pending.len >= m->block_target ? flush_pending(m, e) : 0;
    case MERGE_RESOLVED:
        if (block_bytes(m, r, b, &p, &n, e) < 0)
            return -1;
        if (pass == CHECK) {
            if (datum_check_block(s->prog, p, n, b->count, NULL, e) < 0)
                return -1;
            /* decode once while checking: Avro C may still refuse something
             * our checks cannot know (a writer union branch or enum symbol
             * the output schema cannot hold) */
            return resolve_block(m, s, p, n, b->count, NULL, e);
        }
        if (resolve_block(m, s, p, n, b->count, &m->pending, e) < 0)
            return -1;
        m->pending_count += b->count;
        return m->pending.len >= m->block_target ? flush_pending(m, e) : 0;
    case MERGE_EMPTY:
        return 0;
    }
    return 0;
}

static int run_pass(struct merge *m, const char *name, const void *data, size_t len,
                    struct sentry *s, enum merge_mode mode, enum pass pass, struct err *e)
{
    struct ocf_reader r;
    if (ocf_reader_open(&r, name, data, len, e) < 0)
        return -1;
    struct ocf_block b;
    int rc;
    while ((rc = ocf_reader_next(&r, &b, e)) == 1) {
        if (do_block(m, &r, s, mode, pass, &b, e) < 0) {
            err_prefix(e, "%s: block at offset %zu: ", name, b.offset);
            rc = -1;
            break;
        }
    }
    ocf_reader_close(&r);
    return rc;
}

/* NULL when `s` holds SiteWise records (merge_options.sitewise), else why not. */
static const char *sitewise_shape(avro_schema_t s)
{
    if (!s || !is_avro_record(s))
        return "not a record";
    /* the index first: Avro C reads past a missing field's slot */
    int i = avro_schema_record_field_get_index(s, "seriesId");
    if (i < 0)
        return "no field seriesId";
    if (!is_avro_string(avro_schema_record_field_get_by_index(s, i)))
        return "seriesId is not a string";
    i = avro_schema_record_field_get_index(s, "timeInSeconds");
    if (i < 0)
        return "no field timeInSeconds";
    avro_schema_t t = avro_schema_record_field_get_by_index(s, i);
    if (!is_avro_int64(t) && !is_avro_int32(t))
        return "timeInSeconds is not a long";
    return NULL;
}

static int sitewise_check_json(const char *json, const char *name, struct err *e)
{
    avro_schema_t sch;
    if (avsc_parse(json, strlen(json), &sch, e) < 0)
        return err_prefix(e, "%s: ", name);
    const char *why = sitewise_shape(sch);
    avro_schema_decref(sch);
    if (why)
        return err_setk(e, ERR_DATA, "%s: the day file's schema would not hold SiteWise records "
                        "(%s): every record needs a string seriesId and a long timeInSeconds",
                        name, why);
    return 0;
}

static void unadopt(struct merge *m)
{
    /* only while no source has been merged with it */
    if (m->adopted && !m->header_written) {
        avro_schema_decref(m->out_schema);
        m->out_schema = NULL;
        free(m->out_json);
        m->out_json = NULL;
        m->out_len = 0;
        m->adopted = 0;
        /* cached comparisons were made against the abandoned schema */
        for (int i = 0; i < SCHEMA_CACHE; i++)
            sentry_clear(&m->cache[i]);
    }
}

/* Pass 0: the header and the framing of every block; counts the source's
 * records and blocks and finds its schema's cache entry. NULL on error. */
static struct sentry *scan_source(struct merge *m, const char *name, const void *data,
                                  size_t len, enum codec_id *codec, uint64_t *records,
                                  uint64_t *blocks, struct err *e)
{
    struct ocf_reader r;
    if (ocf_reader_open(&r, name, data, len, e) < 0)
        return NULL;
    *codec = r.codec;
    struct ocf_block b;
    int rc;
    while ((rc = ocf_reader_next(&r, &b, e)) == 1) {
        *records += (uint64_t)b.count;
        (*blocks)++;
    }
    struct sentry *s = rc < 0 ? NULL : lookup_schema(m, &r, e);
    if (rc == 0 && !s)
        err_prefix(e, "%s: ", name);
    ocf_reader_close(&r);
    return s;
}

/* The first source defines the output schema. */
static int adopt_schema(struct merge *m, struct sentry *s, const char *name, struct err *e)
{
    const char *why = m->sitewise ? sitewise_shape(s->schema) : NULL;
    if (why)
        return err_setk(e, ERR_DATA, "%s: not SiteWise records (%s): every record needs a "
                        "string seriesId and a long timeInSeconds", name, why);
    if (!(m->out_json = strdup(s->json)))
        return err_set(e, "out of memory");
    m->out_len = s->len;
    m->out_schema = avro_schema_incref(s->schema);
    m->adopted = 1;
    return 0;
}

/* merge_options.widen: a source the output's schema cannot hold widens it
 * while nothing is written, else fails with ERR_WIDER and the wider schema
 * kept for merge_wider_schema. */
static int widen_schema(struct merge *m, struct sentry *s, const char *name, struct err *e)
{
    char *wider = NULL;
    if (avsc_widen(m->out_json, m->out_len, s->json, s->len, &wider, e) < 0)
        return err_prefix(e, "%s: ", name);
    if (wider && m->sitewise && sitewise_check_json(wider, name, e) < 0) {
        free(wider);
        return -1;
    }
    if (!wider) {
        s->fits = 1;
    } else if (!m->header_written && m->st.sources == 0) {
        /* nothing written yet: the output takes the wider schema now */
        if (replace_output_schema(m, wider, e) < 0)
            return err_prefix(e, "%s: ", name);
        m->adopted = 0;
        s->fits = 1;
    } else {
        free(m->wider);
        m->wider = wider;
        return err_setk(e, ERR_WIDER, "%s: has fields or types the output's schema "
                        "(written already) lacks: the output must be written again "
                        "with a wider schema", name);
    }
    return 0;
}

/* The totals, once a source is in the output. */
static void count_merged(struct merge *m, enum merge_mode mode, uint64_t records, size_t len)
{
    m->adopted = 0;   /* a source was merged: the output schema is fixed now */
    m->st.sources++;
    m->st.records_in += records;
    m->st.bytes_in += len;
    switch (mode) {
    case MERGE_EMPTY: m->st.sources_empty++; break;
    case MERGE_COPIED: m->st.sources_copied++; break;
    case MERGE_RECODED: m->st.sources_recoded++; break;
    case MERGE_RESOLVED: m->st.sources_resolved++; break;
    }
}

int merge_add(struct merge *m, const char *name, const void *data, size_t len,
              struct merge_source_stats *st, struct err *e)
{
    struct merge_source_stats local = {0};
    if (!st)
        st = &local;
    memset(st, 0, sizeof *st);
    st->bytes = len;
    if (!name)
        name = "(source)";
    if (m->failed)
        return err_set(e, "%s: not merged: the merge already failed after writing part of "
                       "a source; discard the output", name);
    if (m->finished)
        return err_set(e, "%s: not merged: merge_finish was already called", name);

    enum codec_id src_codec = CODEC_NULL;
    uint64_t records = 0, blocks = 0;
    struct sentry *s = scan_source(m, name, data, len, &src_codec, &records, &blocks, e);
    if (!s) {
        m->st.sources_failed++;
        return -1;
    }
    st->records = records;
    st->blocks = blocks;

    if ((!m->out_schema && adopt_schema(m, s, name, e) < 0)
        || (m->widen && records > 0 && s->fits == 0 && widen_schema(m, s, name, e) < 0)) {
        m->st.sources_failed++;
        return -1;
    }
    if (s->equal == 0)
        s->equal = avsc_equal(s->schema, m->out_schema) ? 1 : -1;

    enum merge_mode mode;
    if (records == 0)
        mode = MERGE_EMPTY;
    else if (s->equal > 0)
        mode = src_codec == m->codec ? MERGE_COPIED : MERGE_RECODED;
    else
        mode = MERGE_RESOLVED;
    st->mode = mode;

    size_t save_len = m->pending.len;
    int64_t save_count = m->pending_count;
    m->flushed = 0;
    if (mode == MERGE_RESOLVED && prepare_resolution(m, s, e) < 0) {
        err_prefix(e, "%s: ", name);
        goto fail;
    }
    /* pass 1: check everything; nothing reaches the sink */
    if (run_pass(m, name, data, len, s, mode, CHECK, e) < 0)
        goto fail;
    /* pass 2: emit; the source's records end their own block, so that its
     * byte range in the output holds it alone */
    if (mode != MERGE_EMPTY) {
        if (flush_pending(m, e) < 0 || ensure_header(m, e) < 0)
            goto fail;
        st->out_offset = m->w.bytes;
        if (run_pass(m, name, data, len, s, mode, EMIT, e) < 0 || flush_pending(m, e) < 0)
            goto fail;
        st->out_len = m->w.bytes - st->out_offset;
    }
    count_merged(m, mode, records, len);
    return 0;
fail:
    m->st.sources_failed++;
    if (m->flushed) {
        m->failed = 1;
        err_prefix(e, "output is incomplete (part of this source was written): ");
    } else {
        m->pending.len = save_len;
        m->pending_count = save_count;
        unadopt(m);
    }
    return -1;
}

int merge_finish(struct merge *m, struct merge_stats *out, struct err *e)
{
    if (m->failed)
        return err_set(e, "merge failed earlier; output is incomplete");
    if (m->finished)
        return err_set(e, "merge_finish called twice");
    if (flush_pending(m, e) < 0 || ensure_header(m, e) < 0) {
        m->failed = 1;
        return -1;
    }
    m->finished = 1;
    if (out)
        merge_get_stats(m, out);
    return 0;
}

/* ---- sync marker ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void merge_derive_sync(const char *const *items, size_t n, unsigned char sync[OCF_SYNC_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    const char **sorted = n ? malloc(n * sizeof *sorted) : NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    memset(sync, 0, OCF_SYNC_SIZE);
    if (!ctx || (n && !sorted))
        goto done;
    memcpy(sorted, items, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);   /* a set: order does not matter */
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, "repart-sync-v1", 14);
    for (size_t i = 0; i < n; i++) {
        uint64_t l = strlen(sorted[i]);
        unsigned char lb[8];
        for (int k = 0; k < 8; k++)
            lb[k] = (unsigned char)(l >> (8 * k));
        EVP_DigestUpdate(ctx, lb, 8);
        EVP_DigestUpdate(ctx, sorted[i], l);
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    memcpy(sync, md, OCF_SYNC_SIZE);
done:
    EVP_MD_CTX_free(ctx);
    free(sorted);
}

/* ---- whole files ---- */

struct fsink {
    int fd;
    unsigned char *buf;
    size_t len, cap;
    int err;
};

static int fsink_flush(struct fsink *f)
{
    size_t off = 0;
    while (off < f->len) {
        ssize_t k = write(f->fd, f->buf + off, f->len - off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            f->err = errno;
            return -1;
        }
        off += (size_t)k;
    }
    f->len = 0;
    return 0;
}

static int fsink_write(void *ud, const void *p, size_t n)
{
    struct fsink *f = ud;
    if (n > f->cap - f->len && fsink_flush(f) < 0)
        return -1;
    if (n >= f->cap) {
        /* large blocks go straight to the file */
        const unsigned char *q = p;
        while (n > 0) {
            ssize_t k = write(f->fd, q, n);
            if (k < 0) {
                if (errno == EINTR)
                    continue;
                f->err = errno;
                return -1;
            }
            q += k;
            n -= (size_t)k;
        }
        return 0;
    }
    memcpy(f->buf + f->len, p, n);
    f->len += n;
    return 0;
}

int merge_files(const char *const *paths, size_t n, const char *out_path,
                const struct merge_options *o, struct merge_stats *st, struct err *e)
{
    char *tmp = NULL;
    struct fsink fs = {.fd = -1};
    struct merge *m = NULL;
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = -1;

    if (asprintf(&tmp, "%s.part", out_path) < 0) {
        tmp = NULL;
        err_set(e, "out of memory");
        goto done;
    }
    fs.cap = 1 << 20;
    if (!(fs.buf = malloc(fs.cap))) {
        err_set(e, "out of memory");
        goto done;
    }
    fs.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fs.fd < 0) {
        err_set(e, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    if (!(m = merge_open(o, fsink_write, &fs, e)))
        goto done;
    size_t max_file = (size_t)1 << 31;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (ocf_read_file(paths[i], max_file, &buf, &cap, &len, e) < 0
            || merge_add(m, paths[i], buf, len, NULL, e) < 0)
            goto done;
    }
    if (merge_finish(m, st, e) < 0)
        goto done;
    if (fsink_flush(&fs) < 0 || fsync(fs.fd) < 0) {
        err_set(e, "%s: write failed: %s", tmp, strerror(fs.err ? fs.err : errno));
        goto done;
    }
    if (close(fs.fd) < 0) {
        fs.fd = -1;
        err_set(e, "%s: close failed: %s", tmp, strerror(errno));
        goto done;
    }
    fs.fd = -1;
    if (rename(tmp, out_path) < 0) {
        err_set(e, "%s: cannot rename to %s: %s", tmp, out_path, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    if (rc < 0 && fs.err && e && !strstr(e->msg, strerror(fs.err)))
        err_prefix(e, "%s: %s: ", tmp ? tmp : out_path, strerror(fs.err));
    if (m && st && rc < 0)
        merge_get_stats(m, st);
    merge_free(m);
    if (fs.fd >= 0)
        close(fs.fd);
    if (rc < 0 && tmp)
        unlink(tmp);
    free(fs.buf);
    free(buf);
    free(tmp);
    return rc;
}
