/* adopt: which sources a merged file of the original Python sample holds.
 *
 * Sources come from the generator (SiteWise's layout and schema); "sample
 * files" are built here the way the sample built them: every record taken
 * out of its source and written again, in blocks that cut across the
 * sources' blocks, with another codec and the schema text as Python prints
 * it. tests/data/adopt holds a file python3-avro itself wrote. */
#include <dirent.h>
#include <stdint.h>

#include "adopt.h"
#include "avsc.h"
#include "codec.h"
#include "datum.h"
#include "day.h"
#include "gen.h"
#include "merge.h"
#include "ocf.h"
#include "sitewise_schema.h"
#include "test.h"

/* The RawDatum schema as python3-avro writes it into its files: other text
 * (attribute order, spacing), the same schema. */
static const char PY_SCHEMA[] =
    "{\"type\": \"record\", \"name\": \"RawDatum\", \"namespace\": "
    "\"amazon.aws.iot.sitewise.raw\", \"fields\": [{\"type\": \"string\", \"name\": "
    "\"seriesId\"}, {\"type\": \"long\", \"name\": \"timeInSeconds\"}, {\"type\": \"long\", "
    "\"name\": \"offsetInNanos\"}, {\"type\": \"string\", \"name\": \"quality\"}, {\"type\": "
    "[\"null\", \"double\"], \"name\": \"doubleValue\", \"default\": null}, {\"type\": "
    "[\"null\", \"string\"], \"name\": \"stringValue\", \"default\": null}, {\"type\": "
    "[\"null\", \"int\"], \"name\": \"integerValue\", \"default\": null}, {\"type\": "
    "[\"null\", \"boolean\"], \"name\": \"booleanValue\", \"default\": null}, {\"type\": "
    "[\"null\", \"string\"], \"name\": \"jsonValue\", \"default\": null}, {\"type\": "
    "[\"null\", \"long\"], \"name\": \"recordVersion\", \"default\": null}]}";

#define WEATHER_SCHEMA \
    "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":[" \
    "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"}," \
    "{\"name\":\"temp\",\"type\":\"int\"}]}"

/* RawDatum with one more field at the end, as a later schema version might
 * have: resolving it into RawDatum drops the field. */
static char *ext_schema(void)
{
    const char *s = sitewise_schema_json;
    size_t n = strlen(s);
    const char *end = strrchr(s, ']');
    const char *add = ",{\"name\":\"site\",\"type\":\"string\",\"default\":\"\"}";
    char *out = malloc(n + strlen(add) + 1);
    size_t k = (size_t)(end - s);
    memcpy(out, s, k);
    strcpy(out + k, add);
    strcat(out, end);
    return out;
}

/* ---- objects and records ---- */

struct obj {
    char *key;
    unsigned char *data;
    size_t len;
};

struct objs {
    struct obj *v;
    size_t n;
};

static int objs_put(void *ud, const char *key, const void *data, size_t len, struct err *e)
{
    (void)e;
    struct objs *o = ud;
    o->v = realloc(o->v, (o->n + 1) * sizeof *o->v);
    struct obj *x = &o->v[o->n++];
    const char *base = strrchr(key, '/');
    x->key = strdup(base ? base + 1 : key);
    x->data = malloc(len ? len : 1);
    memcpy(x->data, data, len);
    x->len = len;
    return 0;
}

static void objs_free(struct objs *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].key);
        free(o->v[i].data);
    }
    free(o->v);
    memset(o, 0, sizeof *o);
}

/* One day of `series` series, four files each; small blocks so that each
 * source has several. */
static int gen_day(struct objs *o, unsigned series, unsigned recs, uint64_t seed,
                   enum codec_id codec)
{
    struct gen_options g = {0};
    struct err e = {0};
    day_parse("2023-05-07", &g.from, &e);
    g.to = g.from;
    g.series = series;
    g.records_per_file = recs;
    g.seed = seed;
    g.codec = codec;
    g.data_prefix = "";
    g.block_target = 700;
    struct gen_sink sink = {objs_put, o};
    struct gen_summary sum;
    if (gen_run(&g, &sink, &sum, &e) < 0) {
        fprintf(stderr, "gen_run: %s\n", e.msg);
        return -1;
    }
    return 0;
}

struct recs {
    unsigned char **p;
    size_t *len;
    size_t n;
};

static int recs_push(void *ud, const unsigned char *rec, size_t len, struct err *e)
{
    (void)e;
    struct recs *r = ud;
    r->p = realloc(r->p, (r->n + 1) * sizeof *r->p);
    r->len = realloc(r->len, (r->n + 1) * sizeof *r->len);
    r->p[r->n] = malloc(len ? len : 1);
    memcpy(r->p[r->n], rec, len);
    r->len[r->n++] = len;
    return 0;
}

static void recs_free(struct recs *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->p[i]);
    free(r->p);
    free(r->len);
    memset(r, 0, sizeof *r);
}

/* Appends the records of a container to r (independently of adopt.c: its
 * own reader pass, schema and checker). */
static int split(const unsigned char *data, size_t len, struct recs *r)
{
    struct ocf_reader rd;
    struct err e = {0};
    if (ocf_reader_open(&rd, "split", data, len, &e) < 0)
        return -1;
    avro_schema_t s;
    if (avsc_parse(rd.schema_json, rd.schema_len, &s, &e) < 0) {
        ocf_reader_close(&rd);
        return -1;
    }
    struct datum_prog *p = datum_compile(s, NULL, 0, &e);
    struct bytebuf dec = {0};
    struct ocf_block b;
    int rc;
    while (p && (rc = ocf_reader_next(&rd, &b, &e)) == 1) {
        const unsigned char *q = b.data;
        size_t n = b.size;
        if (rd.codec != CODEC_NULL) {
            if (codec_decompress(rd.codec, b.data, b.size, 1 << 26, &dec, &e) < 0)
                break;
            q = dec.data;
            n = dec.len;
        }
        if (datum_each_record(p, q, n, b.count, recs_push, r, &e) < 0)
            break;
    }
    if (e.msg[0])
        fprintf(stderr, "split: %s\n", e.msg);
    bytebuf_free(&dec);
    datum_free(p);
    avro_schema_decref(s);
    ocf_reader_close(&rd);
    return e.msg[0] ? -1 : 0;
}

static int buf_sink(void *ud, const void *p, size_t n)
{
    return bytebuf_append(ud, p, n, NULL);
}

/* Writes records [from, to) of r into a new container: blocks of
 * pattern[i % npat] records, the given codec and schema text. */
static int write_recs(struct bytebuf *out, const char *schema, enum codec_id codec,
                      const struct recs *r, size_t from, size_t to, const size_t *pattern,
                      size_t npat, unsigned char sync_byte)
{
    unsigned char sync[OCF_SYNC_SIZE];
    memset(sync, sync_byte, sizeof sync);
    struct ocf_writer w;
    struct err e = {0};
    struct bytebuf raw = {0}, comp = {0};
    out->len = 0;
    if (ocf_writer_open(&w, schema, strlen(schema), codec, sync, buf_sink, out, &e) < 0)
        return -1;
    size_t i = from, blk = 0;
    int rc = 0;
    while (i < to && rc == 0) {
        size_t k = pattern[blk++ % npat];
        if (k > to - i)
            k = to - i;
        raw.len = 0;
        for (size_t j = 0; j < k; j++)
            bytebuf_append(&raw, r->p[i + j], r->len[i + j], &e);
        const unsigned char *p = raw.data;
        size_t n = raw.len;
        if (codec != CODEC_NULL) {
            rc = codec_compress(codec, 6, raw.data, raw.len, &comp, &e);
            p = comp.data;
            n = comp.len;
        }
        if (rc == 0)
            rc = ocf_writer_block(&w, (int64_t)k, p, n, &e);
        i += k;
    }
    bytebuf_free(&raw);
    bytebuf_free(&comp);
    return rc;
}

static const size_t PATTERN[] = {7, 13, 1, 64, 3};
#define NPAT (sizeof PATTERN / sizeof PATTERN[0])

/* A "sample file" of sources [from, to) of o: their records re-blocked. */
static int sample_of(struct bytebuf *out, const struct objs *o, size_t from, size_t to,
                     enum codec_id codec)
{
    struct recs r = {0};
    for (size_t i = from; i < to; i++)
        if (split(o->v[i].data, o->v[i].len, &r) < 0) {
            recs_free(&r);
            return -1;
        }
    int rc = write_recs(out, PY_SCHEMA, codec, &r, 0, r.n, PATTERN, NPAT, 0x5a);
    recs_free(&r);
    return rc;
}

static void take_all(struct adopt_set *s, const struct objs *o, size_t from, size_t to,
                     int expect)
{
    for (size_t i = from; i < to; i++) {
        struct err e = {0};
        int taken = 7;
        int rc = adopt_take(s, o->v[i].data, o->v[i].len, o->v[i].key, &taken, &e);
        if (rc != 0)
            fprintf(stderr, "  %s: %s\n", o->v[i].key, e.msg);
        CHECK_INT(rc, 0);
        CHECK_INT(taken, expect);
    }
}

/* ---- tests ---- */

static void test_all_taken(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 8, 50, 1, CODEC_SNAPPY) == 0);
    REQUIRE(o.n == 32);
    struct bytebuf smp = {0};
    REQUIRE(sample_of(&smp, &o, 0, o.n, CODEC_SNAPPY) == 0);
    struct err e = {0};
    struct adopt_set *s = adopt_open(smp.data, smp.len, "merged_series_1.avro", &e);
    REQUIRE(s);
    struct adopt_stats st;
    adopt_get_stats(s, &st);
    CHECK_INT(st.records, 32 * 50);
    CHECK_INT(adopt_left(s), 32 * 50);
    CHECK_INT(st.distinct, 32 * 50);
    take_all(s, &o, 0, o.n, 1);
    CHECK_INT(adopt_left(s), 0);
    /* offered again: nothing of it is left */
    take_all(s, &o, 0, 2, 0);
    adopt_get_stats(s, &st);
    CHECK_INT(st.sources_taken, 32);
    CHECK_INT(st.records_taken, 32 * 50);
    CHECK_INT(st.distinct, 0);
    /* memory: at most 80% full, 20 bytes a slot */
    CHECK(st.table_bytes <= (size_t)(32 * 50) * 20 * 5 / 4 + 20 * 1024 + 100);
    adopt_free(s);
    bytebuf_free(&smp);
    objs_free(&o);
}

static void test_source_not_in_file(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 8, 30, 2, CODEC_SNAPPY) == 0);
    struct bytebuf smp = {0};
    REQUIRE(sample_of(&smp, &o, 0, 16, CODEC_SNAPPY) == 0);
    struct err e = {0};
    struct adopt_set *s = adopt_open(smp.data, smp.len, "merged_series_2.avro", &e);
    REQUIRE(s);
    take_all(s, &o, 16, 32, 0);
    CHECK_INT(adopt_left(s), 16 * 30);
    take_all(s, &o, 0, 16, 1);
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    /* a sample file holding sources that are gone: their records are left */
    REQUIRE((s = adopt_open(smp.data, smp.len, "merged_series_2.avro", &e)));
    take_all(s, &o, 4, 16, 1);
    CHECK_INT(adopt_left(s), 4 * 30);
    adopt_free(s);
    bytebuf_free(&smp);
    objs_free(&o);
}

static void test_partial(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 1, 50, 3, CODEC_SNAPPY) == 0);
    struct recs r = {0};
    for (size_t i = 0; i < 3; i++)
        REQUIRE(split(o.v[i].data, o.v[i].len, &r) == 0);
    REQUIRE(r.n == 150);
    /* source 0, the first half of source 1, source 2 */
    struct recs part = {0};
    for (size_t i = 0; i < 150; i++)
        if (i < 75 || i >= 100)
            recs_push(&part, r.p[i], r.len[i], NULL);
    struct bytebuf smp = {0};
    REQUIRE(write_recs(&smp, PY_SCHEMA, CODEC_SNAPPY, &part, 0, part.n, PATTERN, NPAT, 1) == 0);
    struct err e = {0};
    struct adopt_set *s = adopt_open(smp.data, smp.len, "merged_series_3.avro", &e);
    REQUIRE(s);
    int taken = 7;
    CHECK_INT(adopt_take(s, o.v[1].data, o.v[1].len, o.v[1].key, &taken, &e), -1);
    CHECK_INT(taken, -1);
    CHECK_INT(e.kind, ERR_DATA);
    CHECK(strstr(e.msg, o.v[1].key) != NULL);
    CHECK(strstr(e.msg, "merged_series_3.avro") != NULL);
    CHECK(strstr(e.msg, "25 of its 50 records") != NULL);
    CHECK(strstr(e.msg, "25 are not") != NULL);
    CHECK_INT(adopt_left(s), 125);   /* unchanged */
    take_all(s, &o, 0, 1, 1);
    take_all(s, &o, 2, 3, 1);
    CHECK_INT(adopt_left(s), 25);
    /* still partial, and the set is still unchanged */
    CHECK_INT(adopt_take(s, o.v[1].data, o.v[1].len, o.v[1].key, &taken, &e), -1);
    CHECK_INT(adopt_left(s), 25);
    adopt_free(s);
    recs_free(&part);
    recs_free(&r);
    bytebuf_free(&smp);
    objs_free(&o);
}

static void test_shared_records(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 1, 20, 4, CODEC_SNAPPY) == 0);
    struct recs r = {0};
    REQUIRE(split(o.v[0].data, o.v[0].len, &r) == 0);
    REQUIRE(r.n == 20);
    size_t one[] = {4};
    /* A = r0..r9, B = r5..r14 (shares r5..r9), C = r5..r9 (inside A),
     * D = r0 twice */
    struct bytebuf a = {0}, b = {0}, c = {0}, d = {0}, smp = {0};
    REQUIRE(write_recs(&a, sitewise_schema_json, CODEC_SNAPPY, &r, 0, 10, one, 1, 0xa) == 0);
    REQUIRE(write_recs(&b, sitewise_schema_json, CODEC_DEFLATE, &r, 5, 15, one, 1, 0xb) == 0);
    REQUIRE(write_recs(&c, sitewise_schema_json, CODEC_NULL, &r, 5, 10, one, 1, 0xc) == 0);
    struct recs twice = {0};
    recs_push(&twice, r.p[0], r.len[0], NULL);
    recs_push(&twice, r.p[0], r.len[0], NULL);
    REQUIRE(write_recs(&d, sitewise_schema_json, CODEC_NULL, &twice, 0, 2, one, 1, 0xd) == 0);

    /* the sample holds A and B: r5..r9 twice */
    struct recs ab = {0};
    for (size_t i = 0; i < 10; i++)
        recs_push(&ab, r.p[i], r.len[i], NULL);
    for (size_t i = 5; i < 15; i++)
        recs_push(&ab, r.p[i], r.len[i], NULL);
    REQUIRE(write_recs(&smp, PY_SCHEMA, CODEC_SNAPPY, &ab, 0, ab.n, PATTERN, NPAT, 1) == 0);
    struct err e = {0};
    int taken = 7;
    struct adopt_set *s = adopt_open(smp.data, smp.len, "ab.avro", &e);
    REQUIRE(s);
    struct adopt_stats st;
    adopt_get_stats(s, &st);
    CHECK_INT(st.records, 20);
    CHECK_INT(st.distinct, 15);
    CHECK_INT(adopt_take(s, b.data, b.len, "B", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_INT(adopt_take(s, a.data, a.len, "A", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    /* the sample holds A only; B offered first comes back partial and, once
     * A is taken, none: offer partial sources again at the end */
    REQUIRE(write_recs(&smp, PY_SCHEMA, CODEC_SNAPPY, &r, 0, 10, PATTERN, NPAT, 2) == 0);
    REQUIRE((s = adopt_open(smp.data, smp.len, "a.avro", &e)));
    CHECK_INT(adopt_take(s, b.data, b.len, "B", &taken, &e), -1);
    CHECK_INT(taken, -1);
    CHECK(strstr(e.msg, "5 of its 10 records are in the sample file a.avro") != NULL);
    CHECK_INT(adopt_take(s, a.data, a.len, "A", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_INT(adopt_take(s, b.data, b.len, "B", &taken, &e), 0);
    CHECK_INT(taken, 0);
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    /* C lies inside A: larger sources first attributes right */
    REQUIRE((s = adopt_open(smp.data, smp.len, "a.avro", &e)));
    CHECK_INT(adopt_take(s, a.data, a.len, "A", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_INT(adopt_take(s, c.data, c.len, "C", &taken, &e), 0);
    CHECK_INT(taken, 0);
    /* a record twice in a source needs two copies in the sample */
    adopt_free(s);
    REQUIRE((s = adopt_open(smp.data, smp.len, "a.avro", &e)));
    CHECK_INT(adopt_take(s, d.data, d.len, "D", &taken, &e), -1);
    CHECK(strstr(e.msg, "1 of its 2 records") != NULL);
    CHECK_INT(adopt_left(s), 10);
    adopt_free(s);
    /* ... and is taken when the sample has both */
    REQUIRE((s = adopt_open(d.data, d.len, "d.avro", &e)));
    CHECK_INT(adopt_take(s, d.data, d.len, "D", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    recs_free(&ab);
    recs_free(&twice);
    recs_free(&r);
    bytebuf_free(&a);
    bytebuf_free(&b);
    bytebuf_free(&c);
    bytebuf_free(&d);
    bytebuf_free(&smp);
    objs_free(&o);
}

static void test_codecs(void)
{
    const enum codec_id src_codecs[] = {CODEC_SNAPPY, CODEC_DEFLATE};
    const enum codec_id smp_codecs[] = {CODEC_DEFLATE, CODEC_NULL, CODEC_SNAPPY};
    for (size_t i = 0; i < 2; i++) {
        struct objs o = {0};
        REQUIRE(gen_day(&o, 3, 40, 5 + i, src_codecs[i]) == 0);
        for (size_t j = 0; j < 3; j++) {
            struct bytebuf smp = {0};
            REQUIRE(sample_of(&smp, &o, 0, 8, smp_codecs[j]) == 0);
            struct err e = {0};
            struct adopt_set *s = adopt_open(smp.data, smp.len, "smp.avro", &e);
            REQUIRE(s);
            take_all(s, &o, 8, o.n, 0);
            take_all(s, &o, 0, 8, 1);
            CHECK_INT(adopt_left(s), 0);
            adopt_free(s);
            bytebuf_free(&smp);
        }
        objs_free(&o);
    }
}

/* A sample file made by repart's own merge (block copy, and recoded into
 * big blocks that join sources). */
static void test_merge_module_sample(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 4, 30, 6, CODEC_SNAPPY) == 0);
    const enum codec_id codecs[] = {CODEC_SNAPPY, CODEC_DEFLATE};
    for (size_t j = 0; j < 2; j++) {
        struct merge_options mo = {.codec = codecs[j], .block_target = 5000};
        memset(mo.sync, 0x11, sizeof mo.sync);
        struct bytebuf out = {0};
        struct err e = {0};
        struct merge *m = merge_open(&mo, buf_sink, &out, &e);
        REQUIRE(m);
        for (size_t i = 0; i < 10; i++)
            REQUIRE(merge_add(m, o.v[i].key, o.v[i].data, o.v[i].len, NULL, &e) == 0);
        REQUIRE(merge_finish(m, NULL, &e) == 0);
        merge_free(m);
        struct adopt_set *s = adopt_open(out.data, out.len, "merged_x.avro", &e);
        REQUIRE(s);
        take_all(s, &o, 10, o.n, 0);
        take_all(s, &o, 0, 10, 1);
        CHECK_INT(adopt_left(s), 0);
        adopt_free(s);
        bytebuf_free(&out);
    }
    objs_free(&o);
}

/* Sources of another schema: the sample re-encoded them into its own. */
static void test_other_schema(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 1, 25, 7, CODEC_SNAPPY) == 0);
    struct recs r = {0};
    REQUIRE(split(o.v[0].data, o.v[0].len, &r) == 0);
    /* the same records with the extra field "site" = "x" */
    struct recs rx = {0};
    for (size_t i = 0; i < r.n; i++) {
        unsigned char buf[1024];
        REQUIRE(r.len[i] + 2 <= sizeof buf);
        memcpy(buf, r.p[i], r.len[i]);
        buf[r.len[i]] = 2;
        buf[r.len[i] + 1] = 'x';
        recs_push(&rx, buf, r.len[i] + 2, NULL);
    }
    char *xs = ext_schema();
    struct bytebuf xsrc = {0}, wsrc = {0}, smp = {0};
    size_t five[] = {5};
    REQUIRE(write_recs(&xsrc, xs, CODEC_SNAPPY, &rx, 0, rx.n, five, 1, 3) == 0);

    /* the sample: source 1 as is, then the extended source re-encoded into
     * RawDatum (merge's resolve path, as Python's writer did) */
    struct merge_options mo = {.schema_json = PY_SCHEMA, .codec = CODEC_SNAPPY};
    memset(mo.sync, 0x22, sizeof mo.sync);
    struct err e = {0};
    struct merge *m = merge_open(&mo, buf_sink, &smp, &e);
    REQUIRE(m);
    struct merge_source_stats ms;
    REQUIRE(merge_add(m, o.v[1].key, o.v[1].data, o.v[1].len, NULL, &e) == 0);
    REQUIRE(merge_add(m, "ext.avro", xsrc.data, xsrc.len, &ms, &e) == 0);
    CHECK_INT(ms.mode, MERGE_RESOLVED);
    REQUIRE(merge_finish(m, NULL, &e) == 0);
    merge_free(m);

    struct adopt_set *s = adopt_open(smp.data, smp.len, "smp.avro", &e);
    REQUIRE(s);
    CHECK_INT(adopt_left(s), 50);
    int taken = 7;
    /* a source that cannot be expressed in RawDatum has none of its records there */
    struct recs w = {0};
    recs_push(&w, (const unsigned char *)"\x02" "a\x02\x04", 4, NULL);
    REQUIRE(write_recs(&wsrc, WEATHER_SCHEMA, CODEC_NULL, &w, 0, 1, five, 1, 4) == 0);
    CHECK_INT(adopt_take(s, wsrc.data, wsrc.len, "weather.avro", &taken, &e), 0);
    CHECK_INT(taken, 0);
    CHECK_INT(adopt_take(s, xsrc.data, xsrc.len, "ext.avro", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_STR(adopt_last_file(s), "smp.avro");
    CHECK_INT(adopt_left(s), 25);
    /* source 0 (same records without the field) shares every record with
     * ext.avro, whose copies are gone now */
    take_all(s, &o, 0, 1, 0);
    take_all(s, &o, 1, 2, 1);
    CHECK_INT(adopt_left(s), 0);

    /* a second sample file of another schema: records stay apart */
    REQUIRE(adopt_add(s, wsrc.data, wsrc.len, "weather-sample.avro", &e) == 0);
    CHECK_INT(adopt_left(s), 1);
    take_all(s, &o, 2, 3, 0);
    CHECK_INT(adopt_take(s, wsrc.data, wsrc.len, "weather.avro", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_STR(adopt_last_file(s), "weather-sample.avro");
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    free(xs);
    recs_free(&w);
    recs_free(&r);
    recs_free(&rx);
    bytebuf_free(&xsrc);
    bytebuf_free(&wsrc);
    bytebuf_free(&smp);
    objs_free(&o);
}

/* A day with several sample files: each source is attributed to the file
 * that holds all of it. */
static void test_several_files(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 4, 20, 12, CODEC_SNAPPY) == 0);
    REQUIRE(o.n == 16);
    struct bytebuf s1 = {0}, s2 = {0}, s3 = {0};
    REQUIRE(sample_of(&s1, &o, 0, 8, CODEC_SNAPPY) == 0);
    REQUIRE(sample_of(&s2, &o, 8, 15, CODEC_DEFLATE) == 0);
    struct err e = {0};
    struct adopt_set *s = adopt_open(s1.data, s1.len, "merged_series_1.avro", &e);
    REQUIRE(s);
    REQUIRE(adopt_add(s, s2.data, s2.len, "merged_series_2.avro", &e) == 0);
    CHECK_INT(adopt_left(s), 15 * 20);
    CHECK_INT(adopt_file_left(s, "merged_series_1.avro"), 8 * 20);
    CHECK_INT(adopt_file_left(s, "merged_series_2.avro"), 7 * 20);
    CHECK_INT(adopt_file_left(s, "nope.avro"), 0);
    for (size_t i = 0; i < o.n; i++) {
        int taken = 7;
        CHECK_INT(adopt_take(s, o.v[i].data, o.v[i].len, o.v[i].key, &taken, &e), 0);
        CHECK_INT(taken, i < 15);
        if (i < 15)
            CHECK_STR(adopt_last_file(s), i < 8 ? "merged_series_1.avro" : "merged_series_2.avro");
        else
            CHECK(adopt_last_file(s) == NULL);
    }
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    /* a source in both files (the sample merged it twice): taken from the
     * first, the other copy stays; offered again, it comes from the second */
    REQUIRE(sample_of(&s3, &o, 7, 9, CODEC_NULL) == 0);
    REQUIRE((s = adopt_open(s1.data, s1.len, "merged_series_1.avro", &e)));
    REQUIRE(adopt_add(s, s3.data, s3.len, "merged_series_3.avro", &e) == 0);
    int taken = 7;
    CHECK_INT(adopt_take(s, o.v[7].data, o.v[7].len, o.v[7].key, &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_STR(adopt_last_file(s), "merged_series_1.avro");
    CHECK_INT(adopt_file_left(s, "merged_series_3.avro"), 40);
    CHECK_INT(adopt_take(s, o.v[7].data, o.v[7].len, o.v[7].key, &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_STR(adopt_last_file(s), "merged_series_3.avro");
    CHECK_INT(adopt_file_left(s, "merged_series_3.avro"), 20);
    adopt_free(s);

    /* a source split across two files is partial, whatever the union holds */
    struct recs r = {0};
    REQUIRE(split(o.v[0].data, o.v[0].len, &r) == 0);
    REQUIRE(write_recs(&s1, PY_SCHEMA, CODEC_SNAPPY, &r, 0, 12, PATTERN, NPAT, 7) == 0);
    REQUIRE(write_recs(&s2, PY_SCHEMA, CODEC_SNAPPY, &r, 12, 20, PATTERN, NPAT, 8) == 0);
    REQUIRE((s = adopt_open(s1.data, s1.len, "first.avro", &e)));
    REQUIRE(adopt_add(s, s2.data, s2.len, "second.avro", &e) == 0);
    CHECK_INT(adopt_take(s, o.v[0].data, o.v[0].len, o.v[0].key, &taken, &e), -1);
    CHECK_INT(taken, -1);
    CHECK(adopt_last_file(s) == NULL);
    CHECK(strstr(e.msg, "12 of its 20 records are in the sample file first.avro, 8 are not")
          != NULL);
    CHECK_INT(adopt_left(s), 20);
    adopt_free(s);
    recs_free(&r);
    bytebuf_free(&s1);
    bytebuf_free(&s2);
    bytebuf_free(&s3);
    objs_free(&o);
}

/* Every truncation and many byte changes of a sample file: an error naming
 * the file, or (a change the framing cannot see, e.g. in a null-codec
 * string) a set; never a crash. */
static void test_corrupt_sample(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 1, 12, 8, CODEC_SNAPPY) == 0);
    const enum codec_id codecs[] = {CODEC_SNAPPY, CODEC_DEFLATE, CODEC_NULL};
    for (size_t c = 0; c < 3; c++) {
        struct bytebuf smp = {0};
        REQUIRE(sample_of(&smp, &o, 0, 4, codecs[c]) == 0);
        unsigned char *bad = malloc(smp.len);
        int failures = 0;
        for (size_t n = 0; n < smp.len; n++) {
            struct err e = {0};
            struct adopt_set *s = adopt_open(smp.data, n, "trunc.avro", &e);
            if (!s) {
                failures++;
                CHECK_INT(e.kind, ERR_DATA);
                CHECK(strstr(e.msg, "trunc.avro") != NULL);
            } else {
                /* cut right after a sync marker: a shorter valid file */
                CHECK(adopt_left(s) < 48);
            }
            adopt_free(s);
        }
        /* every length but the header's and the block ends' */
        CHECK(failures >= (int)smp.len - 1 - (int)(48 / 3));
        for (size_t i = 0; i < smp.len; i++) {
            for (int v = 0; v < 3; v++) {
                memcpy(bad, smp.data, smp.len);
                bad[i] ^= (unsigned char)(v == 0 ? 0x01 : v == 1 ? 0x80 : 0xff);
                struct err e = {0};
                struct adopt_set *s = adopt_open(bad, smp.len, "flip.avro", &e);
                if (!s) {
                    CHECK(strstr(e.msg, "flip.avro") != NULL);
                    continue;
                }
                /* whatever was read, the sources still get an answer */
                for (size_t k = 0; k < 4; k++) {
                    int taken;
                    adopt_take(s, o.v[k].data, o.v[k].len, o.v[k].key, &taken, &e);
                }
                adopt_free(s);
            }
        }
        free(bad);
        bytebuf_free(&smp);
    }
    /* not a container at all */
    struct err e = {0};
    CHECK(adopt_open("hello", 5, "text.avro", &e) == NULL);
    CHECK(strstr(e.msg, "text.avro") != NULL);
    CHECK(adopt_open("", 0, "empty.avro", &e) == NULL);
    objs_free(&o);
}

static void test_corrupt_source(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 1, 12, 9, CODEC_SNAPPY) == 0);
    struct bytebuf smp = {0};
    REQUIRE(sample_of(&smp, &o, 0, 4, CODEC_SNAPPY) == 0);
    struct err e = {0};
    struct adopt_set *s = adopt_open(smp.data, smp.len, "smp.avro", &e);
    REQUIRE(s);
    struct obj *x = &o.v[0];
    unsigned char *bad = malloc(x->len);
    int valid_prefixes = 0;
    for (size_t n = 0; n < x->len; n++) {
        int taken = 7;
        if (adopt_take(s, x->data, n, x->key, &taken, &e) == 0) {
            /* cut right after a sync marker: a shorter valid source, whose
             * records are in the sample (the pipeline checks sizes first) */
            CHECK(taken == 1 || (taken == 0 && n < 1000));
            valid_prefixes++;
            adopt_free(s);
            REQUIRE((s = adopt_open(smp.data, smp.len, "smp.avro", &e)));
            continue;
        }
        CHECK_INT(taken, 0);
        CHECK(strstr(e.msg, x->key) != NULL);
    }
    CHECK(valid_prefixes >= 1 && valid_prefixes < 12);
    struct ocf_reader rd;
    REQUIRE(ocf_reader_open(&rd, "x", x->data, x->len, &e) == 0);
    size_t header_len = rd.header_len;
    ocf_reader_close(&rd);
    for (size_t i = 0; i < x->len; i++) {
        memcpy(bad, x->data, x->len);
        bad[i] ^= 0x40;
        int taken = 7;
        int rc = adopt_take(s, bad, x->len, x->key, &taken, &e);
        if (rc < 0)
            CHECK(strstr(e.msg, x->key) != NULL);
        if (i >= header_len) {
            /* blocks: framing, sync markers and snappy's CRC see every flip */
            CHECK_INT(rc, -1);
            CHECK_INT(taken, 0);
        } else if (taken == 1) {
            /* a header flip that leaves the encoding alone (e.g. "namespace"
             * becomes an unknown attribute): the same records, rightly taken */
            adopt_free(s);
            REQUIRE((s = adopt_open(smp.data, smp.len, "smp.avro", &e)));
        }
    }
    CHECK_INT(adopt_left(s), 48);
    take_all(s, &o, 0, 4, 1);
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);

    /* a sample file added later that fails: the set is no good any more */
    REQUIRE((s = adopt_open(smp.data, smp.len, "smp.avro", &e)));
    CHECK_INT(adopt_add(s, smp.data, smp.len - 1, "second.avro", &e), -1);
    int taken = 7;
    CHECK_INT(adopt_take(s, x->data, x->len, x->key, &taken, &e), -1);
    CHECK(strstr(e.msg, "second.avro") != NULL);
    adopt_free(s);
    free(bad);
    bytebuf_free(&smp);
    objs_free(&o);
}

static void test_empty(void)
{
    struct objs o = {0};
    REQUIRE(gen_day(&o, 1, 5, 10, CODEC_SNAPPY) == 0);
    struct recs none = {0};
    size_t one[] = {1};
    struct bytebuf empty = {0};
    REQUIRE(write_recs(&empty, sitewise_schema_json, CODEC_SNAPPY, &none, 0, 0, one, 1, 5) == 0);
    struct err e = {0};
    /* an empty sample file: nothing is taken */
    struct adopt_set *s = adopt_open(empty.data, empty.len, "empty.avro", &e);
    REQUIRE(s);
    CHECK_INT(adopt_left(s), 0);
    take_all(s, &o, 0, o.n, 0);
    adopt_free(s);
    /* an empty source: not attributed */
    struct bytebuf smp = {0};
    REQUIRE(sample_of(&smp, &o, 0, o.n, CODEC_SNAPPY) == 0);
    REQUIRE((s = adopt_open(smp.data, smp.len, "smp.avro", &e)));
    int taken = 7;
    CHECK_INT(adopt_take(s, empty.data, empty.len, "empty.avro", &taken, &e), 0);
    CHECK_INT(taken, 0);
    CHECK_INT(adopt_left(s), 20);
    adopt_free(s);
    bytebuf_free(&smp);
    bytebuf_free(&empty);
    objs_free(&o);
}

/* Files of all kinds of schemas adopt themselves entirely. */
static void test_self(void)
{
    static const char *files[] = {
        "share/test/data/weather.avro", "share/test/data/weather-deflate.avro",
        "share/test/data/weather-snappy.avro", "share/test/data/syncInMeta.avro",
        "share/test/data/schemas/withUnion/data.avro",
        "share/test/interop/rpc/echo/foo/request.avro",
        "share/test/interop/rpc/add/onePlusOne/response.avro",
        "lang/js/test/dat/person-10.avro",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/avro/%s", TEST_DATA_DIR, files[i]);
        unsigned char *buf = NULL;
        size_t cap = 0, len = 0;
        struct err e = {0};
        REQUIRE(ocf_read_file(path, 1 << 24, &buf, &cap, &len, &e) == 0);
        struct adopt_set *s = adopt_open(buf, len, files[i], &e);
        if (!s)
            fprintf(stderr, "  %s: %s\n", files[i], e.msg);
        CHECK(s != NULL);
        if (s) {
            int taken = 7;
            CHECK_INT(adopt_take(s, buf, len, files[i], &taken, &e), 0);
            CHECK_INT(taken, 1);
            CHECK_INT(adopt_left(s), 0);
            adopt_free(s);
        }
        free(buf);
    }
}

/* The file python3-avro wrote (tests/data/adopt/README.md). */
static void test_python_sample_file(void)
{
    const char *dir = TEST_DATA_DIR "/adopt";
    char path[1024];
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    struct err e = {0};
    snprintf(path, sizeof path, "%s/merged_series_1690000000.avro", dir);
    REQUIRE(ocf_read_file(path, 1 << 24, &buf, &cap, &len, &e) == 0);
    struct adopt_set *s = adopt_open(buf, len, "merged_series_1690000000.avro", &e);
    REQUIRE(s);
    CHECK_INT(adopt_left(s), 400);

    snprintf(path, sizeof path, "%s/in_sample.txt", dir);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char in[4096] = "";
    size_t n = fread(in, 1, sizeof in - 1, f);
    in[n] = '\0';
    fclose(f);

    snprintf(path, sizeof path, "%s/raw", dir);
    DIR *d = opendir(path);
    REQUIRE(d);
    struct dirent *de;
    int sources = 0, taken_n = 0;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "raw_", 4) != 0)
            continue;
        snprintf(path, sizeof path, "%s/raw/%s", dir, de->d_name);
        REQUIRE(ocf_read_file(path, 1 << 24, &buf, &cap, &len, &e) == 0);
        int taken = 7;
        CHECK_INT(adopt_take(s, buf, len, de->d_name, &taken, &e), 0);
        int expect = strstr(in, de->d_name) != NULL;
        if (taken != expect)
            fprintf(stderr, "  %s: taken %d, expected %d\n", de->d_name, taken, expect);
        CHECK_INT(taken, expect);
        sources++;
        taken_n += taken == 1;
    }
    closedir(d);
    CHECK_INT(sources, 24);
    CHECK_INT(taken_n, 20);
    CHECK_INT(adopt_left(s), 0);
    adopt_free(s);
    free(buf);
}

/* Zero-byte records (schema "null"): bounded work, and multiplicity. */
static void test_zero_size_records(void)
{
    struct bytebuf smp = {0}, src = {0};
    struct recs r = {0};
    for (int i = 0; i < 5; i++)
        recs_push(&r, (const unsigned char *)"", 0, NULL);
    size_t two[] = {2};
    REQUIRE(write_recs(&smp, "\"null\"", CODEC_NULL, &r, 0, 5, two, 1, 1) == 0);
    REQUIRE(write_recs(&src, "\"null\"", CODEC_DEFLATE, &r, 0, 3, two, 1, 2) == 0);
    struct err e = {0};
    struct adopt_set *s = adopt_open(smp.data, smp.len, "nulls.avro", &e);
    REQUIRE(s);
    int taken = 7;
    CHECK_INT(adopt_take(s, src.data, src.len, "three.avro", &taken, &e), 0);
    CHECK_INT(taken, 1);
    CHECK_INT(adopt_left(s), 2);
    CHECK_INT(adopt_take(s, src.data, src.len, "three.avro", &taken, &e), -1);
    CHECK(strstr(e.msg, "2 of its 3") != NULL);
    adopt_free(s);

    /* a header claiming 2^31-1 empty records per block, block after block */
    struct ocf_writer w;
    unsigned char sync[OCF_SYNC_SIZE] = {0};
    smp.len = 0;
    REQUIRE(ocf_writer_open(&w, "\"null\"", 6, CODEC_NULL, sync, buf_sink, &smp, &e) == 0);
    for (int i = 0; i < 100; i++)
        REQUIRE(ocf_writer_block(&w, INT32_MAX, "", 0, &e) == 0);
    s = adopt_open(smp.data, smp.len, "flood.avro", &e);
    CHECK(s == NULL);
    CHECK(strstr(e.msg, "flood.avro") != NULL);
    adopt_free(s);
    recs_free(&r);
    bytebuf_free(&smp);
    bytebuf_free(&src);
}

int main(void)
{
    RUN(test_all_taken);
    RUN(test_source_not_in_file);
    RUN(test_partial);
    RUN(test_shared_records);
    RUN(test_codecs);
    RUN(test_merge_module_sample);
    RUN(test_other_schema);
    RUN(test_several_files);
    RUN(test_corrupt_sample);
    RUN(test_corrupt_source);
    RUN(test_empty);
    RUN(test_self);
    RUN(test_python_sample_file);
    RUN(test_zero_size_records);
    return TEST_EXIT();
}
