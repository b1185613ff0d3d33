/* Merge engine: copy/recode/resolve paths, bad sources, determinism,
 * corruption. Outputs are read back with Avro C's own file reader (an
 * independent decoder); tests/it_merge.sh does the same with python3-avro. */
#include <avro.h>
#include <stdint.h>
#include <unistd.h>

#include "avsc.h"
#include "merge.h"
#include "ocf.h"
#include "sitewise_schema.h"
#include "test.h"

#define AV TEST_DATA_DIR "/avro/"
#define WEATHER_SCHEMA \
    "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":[" \
    "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"}," \
    "{\"name\":\"temp\",\"type\":\"int\"}]}"

static char tmpdir[] = "/tmp/repart-test-merge-XXXXXX";

static unsigned char *load(const char *path, size_t *len)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    struct err e = {0};
    if (ocf_read_file(path, 1 << 24, &buf, &cap, len, &e) < 0) {
        fprintf(stderr, "load %s: %s\n", path, e.msg);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Growable in-memory sink. */
struct mem {
    unsigned char *buf;
    size_t len, cap;
    int calls;
};

static int mem_sink(void *ud, const void *p, size_t n)
{
    struct mem *m = ud;
    m->calls++;
    if (n > m->cap - m->len) {
        size_t nc = (m->cap + n) * 2;
        unsigned char *b = realloc(m->buf, nc);
        if (!b)
            return -1;
        m->buf = b;
        m->cap = nc;
    }
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return 0;
}

static int null_sink(void *ud, const void *p, size_t n)
{
    (void)ud;
    (void)p;
    (void)n;
    return 0;
}

static void opts(struct merge_options *o, const char *schema, enum codec_id c)
{
    memset(o, 0, sizeof *o);
    o->schema_json = schema;
    o->codec = c;
    for (int i = 0; i < 16; i++)
        o->sync[i] = (unsigned char)(0x30 + i);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(p, 1, n, f) == n ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

/* Decodes a file with Avro C; returns its records as sorted JSON lines. */
struct lines {
    char **v;
    size_t n;
};

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int avroc_dump_file(const char *path, struct lines *out)
{
    avro_file_reader_t r;
    if (avro_file_reader(path, &r) != 0) {
        fprintf(stderr, "avro_file_reader %s: %s\n", path, avro_strerror());
        return -1;
    }
    avro_schema_t s = avro_file_reader_get_writer_schema(r);
    avro_value_iface_t *cls = avro_generic_class_from_schema(s);
    avro_value_t v;
    avro_generic_value_new(cls, &v);
    while (avro_file_reader_read_value(r, &v) == 0) {
        char *j = NULL;
        avro_value_to_json(&v, 1, &j);
        out->v = realloc(out->v, (out->n + 1) * sizeof *out->v);
        out->v[out->n++] = j;
    }
    avro_value_decref(&v);
    avro_value_iface_decref(cls);
    avro_schema_decref(s);
    avro_file_reader_close(r);
    qsort(out->v, out->n, sizeof *out->v, cmp_line);
    return 0;
}

static int avroc_dump_mem(const struct mem *m, struct lines *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/out.avro", tmpdir);
    if (write_file(path, m->buf, m->len) < 0)
        return -1;
    return avroc_dump_file(path, out);
}

static int lines_equal(const struct lines *a, const struct lines *b)
{
    if (a->n != b->n) {
        fprintf(stderr, "  record counts differ: %zu vs %zu\n", a->n, b->n);
        return 0;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], b->v[i]) != 0) {
            fprintf(stderr, "  record differs:\n    %s\n    %s\n", a->v[i], b->v[i]);
            return 0;
        }
    }
    return 1;
}

/* Full re-check of an output: every block decompressed, every record walked. */
static int full_check(const struct mem *m, int64_t *records)
{
    struct merge_options o;
    opts(&o, NULL, CODEC_NULL);
    o.verify = MERGE_VERIFY_FULL;
    struct err e = {0};
    struct merge *mm = merge_open(&o, null_sink, NULL, &e);
    struct merge_source_stats st;
    int rc = mm ? merge_add(mm, "output", m->buf, m->len, &st, &e) : -1;
    if (rc < 0)
        fprintf(stderr, "  full check: %s\n", e.msg);
    else if (records)
        *records = (int64_t)st.records;
    merge_free(mm);
    return rc;
}

static const char *GOOD[] = {
    "share/test/data/weather.avro", "share/test/data/weather-deflate.avro",
    "share/test/data/weather-snappy.avro", "share/test/data/weather-sorted.avro",
    "share/test/data/syncInMeta.avro", "share/test/data/schemas/simple/data.avro",
    "share/test/data/schemas/withUnion/data.avro",
    "share/test/interop/rpc/add/onePlusOne/request.avro",
    "share/test/interop/rpc/add/onePlusOne/response.avro",
    "share/test/interop/rpc/echo/foo/request.avro",
    "share/test/interop/rpc/echo/foo/response.avro",
    "share/test/interop/rpc/hello/world/request.avro",
    "share/test/interop/rpc/hello/world/response.avro",
    "lang/c/tests/avro-1237-good.avro", "lang/c/tests/avro-1238-good.avro",
    "lang/c/tests/avro-1279-codec.avro", "lang/c/tests/avro-1279-no-codec.avro",
    "lang/js/test/dat/person-10.avro",
    "lang/java/mapred/src/test/resources/org/apache/avro/mapreduce/mapreduce-test-input.avro/"
    "part-r-00000.avro",
};

static const struct {
    const char *path;
    const char *msg;
} BAD[] = {
    {"share/test/data/weather-zstd.avro", "unsupported codec 'zstandard'"},
    {"share/test/data/test.avro12", "Obj\\x00"},
    {"lang/c/tests/avro-1237-bad-union-discriminant.avro", "stray"},
    {"lang/c/tests/avro-1238-truncated.avro", "truncated sync marker"},
    {"lang/js/test/dat/person-10.no-codec.avro", "stray"},
};

/* Every good file merges alone, copied (own codec) or re-encoded (others),
 * with the same records as Avro C reads from the source. */
static void test_each_good_file(void)
{
    enum codec_id codecs[] = {CODEC_NULL, CODEC_DEFLATE, CODEC_SNAPPY};
    for (size_t i = 0; i < sizeof GOOD / sizeof GOOD[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, AV "%s", GOOD[i]);
        size_t len;
        unsigned char *src = load(path, &len);
        REQUIRE(src);
        struct lines want = {0};
        REQUIRE(avroc_dump_file(path, &want) == 0);
        struct ocf_reader r;
        struct err e = {0};
        REQUIRE(ocf_reader_open(&r, path, src, len, &e) == 0);
        enum codec_id src_codec = r.codec;
        ocf_reader_close(&r);
        for (int c = 0; c < 3; c++) {
            struct merge_options o;
            opts(&o, NULL, codecs[c]);
            struct mem out = {0};
            struct merge *m = merge_open(&o, mem_sink, &out, &e);
            REQUIRE(m);
            struct merge_source_stats st;
            if (merge_add(m, GOOD[i], src, len, &st, &e) < 0)
                fprintf(stderr, "  %s: %s\n", GOOD[i], e.msg);
            struct merge_stats ms;
            CHECK_INT(merge_finish(m, &ms, &e), 0);
            merge_free(m);
            CHECK_INT(st.mode, codecs[c] == src_codec ? MERGE_COPIED : MERGE_RECODED);
            CHECK_INT(ms.records_out, want.n);
            CHECK_INT(ms.records_in, want.n);
            CHECK_INT(ms.bytes_out, out.len);
            int64_t n = -1;
            CHECK_INT(full_check(&out, &n), 0);
            CHECK_INT(n, want.n);
            struct lines got = {0};
            CHECK(avroc_dump_mem(&out, &got) == 0);
            if (!lines_equal(&got, &want))
                fprintf(stderr, "  %s (codec %s) differs\n", GOOD[i], codec_name(codecs[c]));
            CHECK(lines_equal(&got, &want));
            lines_free(&got);
            free(out.buf);
        }
        lines_free(&want);
        free(src);
    }
}

/* Every bad file is refused with its name; the output stays as it was. */
static void test_each_bad_file(void)
{
    size_t glen;
    unsigned char *good = load(AV "share/test/data/weather.avro", &glen);
    REQUIRE(good);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, AV "%s", BAD[i].path);
        size_t len;
        unsigned char *src = load(path, &len);
        REQUIRE(src);
        for (int first = 0; first < 2; first++) {
            struct merge_options o;
            opts(&o, first ? NULL : WEATHER_SCHEMA, CODEC_NULL);
            struct mem out = {0};
            struct err e = {0};
            struct merge *m = merge_open(&o, mem_sink, &out, &e);
            REQUIRE(m);
            if (!first)
                CHECK_INT(merge_add(m, "good", good, glen, NULL, &e), 0);
            size_t before = out.len;
            CHECK_INT(merge_add(m, BAD[i].path, src, len, NULL, &e), -1);
            CHECK(strstr(e.msg, BAD[i].path) != NULL);
            if (!strstr(e.msg, BAD[i].msg))
                fprintf(stderr, "  %s: unexpected message: %s\n", BAD[i].path, e.msg);
            CHECK(strstr(e.msg, BAD[i].msg) != NULL);
            CHECK_INT(e.kind, ERR_DATA);
            CHECK_INT(out.len, before);
            struct merge_stats st;
            if (first) {
                /* nothing merged and no schema given: the bad file's schema was not adopted */
                CHECK_INT(merge_finish(m, &st, &e), -1);
            } else {
                CHECK_INT(merge_finish(m, &st, &e), 0);
                CHECK_INT(st.records_out, 5);
                CHECK_INT(st.sources, 1);
                CHECK_INT(st.sources_failed, 1);
            }
            merge_free(m);
            free(out.buf);
        }
        free(src);
    }
    free(good);
}

/* The bad-union file without its stray trailing byte: only the union index is
 * wrong, and it must still be an error on every path. */
static void test_bad_union(void)
{
    size_t len;
    unsigned char *src = load(AV "lang/c/tests/avro-1237-bad-union-discriminant.avro", &len);
    REQUIRE(src);
    REQUIRE(len == 106);
    len = 105;
    enum codec_id codecs[] = {CODEC_NULL, CODEC_SNAPPY};
    enum merge_verify verifies[] = {MERGE_VERIFY_AUTO, MERGE_VERIFY_FULL};
    for (int c = 0; c < 2; c++) {
        for (int v = 0; v < 2; v++) {
            struct merge_options o;
            opts(&o, NULL, codecs[c]);
            o.verify = verifies[v];
            struct mem out = {0};
            struct err e = {0};
            struct merge *m = merge_open(&o, mem_sink, &out, &e);
            REQUIRE(m);
            CHECK_INT(merge_add(m, "bad-union.avro", src, len, NULL, &e), -1);
            CHECK(strstr(e.msg, "bad-union.avro") != NULL);
            CHECK(strstr(e.msg, "invalid union discriminant 2") != NULL);
            CHECK_INT(out.len, 0);
            merge_free(m);
        }
    }
    /* resolution path too: into ["null","long"] */
    struct merge_options o;
    opts(&o, "[\"null\",\"long\"]", CODEC_NULL);
    struct err e = {0};
    struct merge *m = merge_open(&o, null_sink, NULL, &e);
    REQUIRE(m);
    CHECK_INT(merge_add(m, "bad-union.avro", src, len, NULL, &e), -1);
    CHECK(strstr(e.msg, "invalid union discriminant") != NULL);
    merge_free(m);
    free(src);
}

static void test_mixed_codecs(void)
{
    const char *files[] = {"share/test/data/weather.avro", "share/test/data/weather-deflate.avro",
                           "share/test/data/weather-snappy.avro",
                           "share/test/data/weather-sorted.avro"};
    struct lines want = {0};
    struct merge_options o;
    opts(&o, NULL, CODEC_SNAPPY);
    struct mem out = {0};
    struct err e = {0};
    struct merge *m = merge_open(&o, mem_sink, &out, &e);
    REQUIRE(m);
    for (int i = 0; i < 4; i++) {
        char path[256];
        snprintf(path, sizeof path, AV "%s", files[i]);
        REQUIRE(avroc_dump_file(path, &want) == 0);
        size_t len;
        unsigned char *src = load(path, &len);
        REQUIRE(src);
        struct merge_source_stats st;
        CHECK_INT(merge_add(m, files[i], src, len, &st, &e), 0);
        CHECK_INT(st.mode, i == 2 ? MERGE_COPIED : MERGE_RECODED);
        free(src);
    }
    qsort(want.v, want.n, sizeof *want.v, cmp_line);
    struct merge_stats st;
    REQUIRE(merge_finish(m, &st, &e) == 0);
    merge_free(m);
    CHECK_INT(st.sources, 4);
    CHECK_INT(st.sources_copied, 1);
    CHECK_INT(st.sources_recoded, 3);
    CHECK_INT(st.records_out, 20);
    struct lines got = {0};
    REQUIRE(avroc_dump_mem(&out, &got) == 0);
    CHECK(lines_equal(&got, &want));
    /* the output header names its codec */
    struct ocf_reader r;
    REQUIRE(ocf_reader_open(&r, "out", out.buf, out.len, &e) == 0);
    CHECK_INT(r.codec, CODEC_SNAPPY);
    CHECK(memcmp(r.sync, o.sync, 16) == 0);
    ocf_reader_close(&r);
    lines_free(&got);
    lines_free(&want);
    free(out.buf);
}

/* Writes a file with Avro C: `n` records of schema `json` built by fill(). */
typedef void (*fill_fn)(avro_value_t *rec, int i);

static int avroc_write(const char *path, const char *json, const char *codec, int n, fill_fn fill)
{
    avro_schema_t s;
    if (avro_schema_from_json_length(json, strlen(json), &s) != 0)
        return -1;
    avro_file_writer_t w;
    unlink(path);
    if (avro_file_writer_create_with_codec(path, s, &w, codec, 0) != 0) {
        fprintf(stderr, "writer: %s\n", avro_strerror());
        avro_schema_decref(s);
        return -1;
    }
    avro_value_iface_t *cls = avro_generic_class_from_schema(s);
    avro_value_t v;
    avro_generic_value_new(cls, &v);
    for (int i = 0; i < n; i++) {
        avro_value_reset(&v);
        fill(&v, i);
        avro_file_writer_append_value(w, &v);
    }
    avro_file_writer_close(w);
    avro_value_decref(&v);
    avro_value_iface_decref(cls);
    avro_schema_decref(s);
    return 0;
}

static void fill_extra(avro_value_t *rec, int i)
{
    avro_value_t f, b;
    avro_value_get_by_name(rec, "station", &f, NULL);
    avro_value_set_string(&f, i % 2 ? "st-odd" : "st-even");
    avro_value_get_by_name(rec, "extra", &f, NULL);
    avro_value_set_branch(&f, 1, &b);
    avro_value_set_string(&b, "dropped");
    avro_value_get_by_name(rec, "time", &f, NULL);
    avro_value_set_long(&f, 1000 + i);
    avro_value_get_by_name(rec, "temp", &f, NULL);
    avro_value_set_int(&f, -i);
}

static void fill_union(avro_value_t *rec, int i)
{
    avro_value_t f, b;
    avro_value_get_by_name(rec, "f", &f, NULL);
    if (i == 3) {
        avro_value_set_branch(&f, 1, &b);
        avro_value_set_string(&b, "not an int");
    } else {
        avro_value_set_branch(&f, 0, &b);
        avro_value_set_null(&b);
    }
}

/* A writer union branch that the output cannot hold is only found while
 * decoding (Avro C resolves unions per value): still no trace in the output. */
static void test_resolution_runtime_error(void)
{
    char src_path[256];
    snprintf(src_path, sizeof src_path, "%s/union.avro", tmpdir);
    REQUIRE(avroc_write(src_path, "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                        "{\"name\":\"f\",\"type\":[\"null\",\"string\"]}]}", "null", 5,
                        fill_union) == 0);
    size_t len, glen;
    unsigned char *src = load(src_path, &len);
    REQUIRE(src);
    struct merge_options o;
    opts(&o, "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
             "{\"name\":\"f\",\"type\":[\"null\",\"int\"]}]}", CODEC_NULL);
    o.block_target = 1;   /* flush after every block: nothing may be pending */
    struct mem out = {0};
    struct err e = {0};
    struct merge *m = merge_open(&o, mem_sink, &out, &e);
    REQUIRE(m);
    /* first a source that resolves (all nulls), so output is already out */
    char good_path[256];
    snprintf(good_path, sizeof good_path, "%s/nulls.avro", tmpdir);
    REQUIRE(avroc_write(good_path, "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
                        "{\"name\":\"f\",\"type\":[\"null\",\"string\"]}]}", "null", 3,
                        fill_union) == 0);
    unsigned char *good = load(good_path, &glen);
    REQUIRE(good);
    struct merge_source_stats st;
    CHECK_INT(merge_add(m, "nulls.avro", good, glen, &st, &e), 0);
    CHECK_INT(st.mode, MERGE_RESOLVED);
    size_t before = out.len;
    CHECK(before > 0);
    CHECK_INT(merge_add(m, "union.avro", src, len, NULL, &e), -1);
    CHECK(strstr(e.msg, "union.avro") != NULL);
    CHECK(strstr(e.msg, "record 3") != NULL);
    CHECK_INT(out.len, before);
    struct merge_stats ms;
    CHECK_INT(merge_finish(m, &ms, &e), 0);
    CHECK_INT(ms.records_out, 3);
    merge_free(m);
    free(out.buf);
    free(good);
    free(src);
}

static void test_resolution(void)
{
    char src_path[256], out_path[256];
    snprintf(src_path, sizeof src_path, "%s/extra.avro", tmpdir);
    snprintf(out_path, sizeof out_path, "%s/resolved.avro", tmpdir);
    /* a: the source has an extra field (with a default), in another position */
    const char *extra_schema =
        "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
        "{\"name\":\"station\",\"type\":\"string\"},"
        "{\"name\":\"extra\",\"type\":[\"null\",\"string\"],\"default\":null},"
        "{\"name\":\"time\",\"type\":\"long\"},{\"name\":\"temp\",\"type\":\"int\"}]}";
    REQUIRE(avroc_write(src_path, extra_schema, "deflate", 4, fill_extra) == 0);
    const char *srcs[] = {src_path, AV "share/test/data/weather.avro"};
    struct merge_options o;
    opts(&o, WEATHER_SCHEMA, CODEC_NULL);
    struct merge_stats st;
    struct err e = {0};
    if (merge_files(srcs, 2, out_path, &o, &st, &e) < 0)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK_INT(st.sources_resolved, 1);
    CHECK_INT(st.sources_copied, 1);
    CHECK_INT(st.records_out, 9);
    struct lines got = {0};
    REQUIRE(avroc_dump_file(out_path, &got) == 0);
    CHECK_INT(got.n, 9);
    int found = 0;
    for (size_t i = 0; i < got.n; i++) {
        CHECK(strstr(got.v[i], "dropped") == NULL);
        if (!strcmp(got.v[i], "{\"station\": \"st-odd\", \"time\": 1003, \"temp\": -3}"))
            found++;
    }
    if (!found && got.n)
        fprintf(stderr, "  e.g. %s\n", got.v[0]);
    CHECK_INT(found, 1);
    lines_free(&got);

    /* b: the output has fields the source lacks: defaults fill them, and temp
     * is promoted int -> double */
    const char *wider =
        "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
        "{\"name\":\"note\",\"type\":\"string\",\"default\":\"n/a\"},"
        "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"},"
        "{\"name\":\"temp\",\"type\":\"double\"},"
        "{\"name\":\"opt\",\"type\":[\"null\",\"long\"],\"default\":null},"
        "{\"name\":\"n\",\"type\":\"int\",\"default\":-7},"
        "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"},\"default\":[\"a\",\"b\"]},"
        "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F2\",\"size\":2},\"default\":\"\\u00ff\\u0001\"},"
        "{\"name\":\"en\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"X\",\"Y\"]},\"default\":\"Y\"},"
        "{\"name\":\"sub\",\"type\":{\"type\":\"record\",\"name\":\"Sub\",\"fields\":["
        "{\"name\":\"x\",\"type\":\"float\"}]},\"default\":{\"x\":1.5}}]}";
    opts(&o, wider, CODEC_SNAPPY);
    if (merge_files(srcs, 2, out_path, &o, &st, &e) < 0)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK_INT(st.sources_resolved, 2);
    CHECK_INT(st.records_out, 9);
    REQUIRE(avroc_dump_file(out_path, &got) == 0);
    CHECK_INT(got.n, 9);
    found = 0;
    for (size_t i = 0; i < got.n; i++) {
        if (strstr(got.v[i], "\"station\": \"011990-99999\", \"time\": -619524000000, "
                             "\"temp\": 0.0, \"opt\": null, \"n\": -7, \"tags\": [\"a\", \"b\"], "
                             "\"fx\": \"\\u00FF\\u0001\", \"en\": \"Y\", \"sub\": {\"x\": 1.5}}")
            && strstr(got.v[i], "{\"note\": \"n/a\""))
            found++;
    }
    if (found != 1 && got.n)
        fprintf(stderr, "  e.g. %s\n", got.v[0]);
    CHECK_INT(found, 1);
    lines_free(&got);

    /* c: an added field without a default cannot be resolved */
    const char *nodef =
        "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
        "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"},"
        "{\"name\":\"temp\",\"type\":\"int\"},{\"name\":\"must\",\"type\":\"int\"}]}";
    opts(&o, nodef, CODEC_NULL);
    CHECK_INT(merge_files(srcs + 1, 1, out_path, &o, &st, &e), -1);
    CHECK(strstr(e.msg, "weather.avro") != NULL);
    CHECK(strstr(e.msg, "'must'") != NULL && strstr(e.msg, "no default") != NULL);

    /* d: incompatible types (string into int) */
    const char *incompat =
        "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
        "{\"name\":\"station\",\"type\":\"int\"}]}";
    opts(&o, incompat, CODEC_NULL);
    CHECK_INT(merge_files(srcs + 1, 1, out_path, &o, &st, &e), -1);
    CHECK(strstr(e.msg, "weather.avro") != NULL && strstr(e.msg, "cannot resolve") != NULL);
    /* a failed merge_files leaves neither the output nor its .part */
    char part[300];
    snprintf(part, sizeof part, "%s.part", out_path);
    CHECK(access(part, F_OK) != 0);
}

static void test_determinism(void)
{
    const char *files[] = {AV "share/test/data/weather-snappy.avro", AV "share/test/data/weather.avro",
                           AV "share/test/data/weather-deflate.avro", AV "share/test/data/weather-snappy.avro"};
    struct mem outs[3] = {{0}};
    for (int run = 0; run < 3; run++) {
        struct merge_options o;
        opts(&o, NULL, CODEC_SNAPPY);
        if (run == 2)
            o.sync[0] ^= 1;
        struct err e = {0};
        struct merge *m = merge_open(&o, mem_sink, &outs[run], &e);
        REQUIRE(m);
        for (int i = 0; i < 4; i++) {
            size_t len;
            unsigned char *src = load(files[i], &len);
            REQUIRE(src);
            CHECK_INT(merge_add(m, files[i], src, len, NULL, &e), 0);
            free(src);
        }
        CHECK_INT(merge_finish(m, NULL, &e), 0);
        merge_free(m);
    }
    CHECK(outs[0].len == outs[1].len && memcmp(outs[0].buf, outs[1].buf, outs[0].len) == 0);
    CHECK(outs[0].len == outs[2].len && memcmp(outs[0].buf, outs[2].buf, outs[0].len) != 0);
    for (int i = 0; i < 3; i++)
        free(outs[i].buf);

    /* the derived marker depends on the set, not on the order */
    const char *a[] = {"k1", "k2", "k3"}, *b[] = {"k3", "k1", "k2"}, *c[] = {"k1", "k2"};
    unsigned char sa[16], sb[16], sc[16];
    merge_derive_sync(a, 3, sa);
    merge_derive_sync(b, 3, sb);
    merge_derive_sync(c, 2, sc);
    CHECK(memcmp(sa, sb, 16) == 0);
    CHECK(memcmp(sa, sc, 16) != 0);
}

/* A bad source between good ones leaves no trace, even with records of a
 * re-encoded source still pending in the output buffer. */
static void test_rollback(void)
{
    size_t glen, blen, slen;
    unsigned char *good = load(AV "share/test/data/weather.avro", &glen);
    unsigned char *bad = load(AV "lang/c/tests/avro-1238-truncated.avro", &blen);
    unsigned char *snappy = load(AV "share/test/data/weather-snappy.avro", &slen);
    REQUIRE(good && bad && snappy);
    /* a source that fails late: a valid first block, a corrupt second one */
    struct mem two = {0};
    struct ocf_writer w;
    struct err e = {0};
    unsigned char sync[16] = {9};
    REQUIRE(ocf_writer_open(&w, WEATHER_SCHEMA, strlen(WEATHER_SCHEMA), CODEC_NULL, sync,
                            mem_sink, &two, &e) == 0);
    struct ocf_reader r;
    REQUIRE(ocf_reader_open(&r, "g", good, glen, &e) == 0);
    struct ocf_block b;
    REQUIRE(ocf_reader_next(&r, &b, &e) == 1);
    REQUIRE(ocf_writer_block(&w, b.count, b.data, b.size, &e) == 0);
    REQUIRE(ocf_writer_block(&w, b.count + 1, b.data, b.size, &e) == 0);   /* count wrong */
    ocf_reader_close(&r);

    struct mem ref = {0}, out = {0};
    for (int pass = 0; pass < 2; pass++) {
        struct merge_options o;
        opts(&o, NULL, CODEC_DEFLATE);
        struct merge *m = merge_open(&o, mem_sink, pass ? &out : &ref, &e);
        REQUIRE(m);
        CHECK_INT(merge_add(m, "good1", good, glen, NULL, &e), 0);
        if (pass) {
            CHECK_INT(merge_add(m, "bad", bad, blen, NULL, &e), -1);
            CHECK_INT(merge_add(m, "two", two.buf, two.len, NULL, &e), -1);
            CHECK(strstr(e.msg, "two: block at offset") != NULL);
        }
        CHECK_INT(merge_add(m, "snappy", snappy, slen, NULL, &e), 0);
        CHECK_INT(merge_add(m, "good2", good, glen, NULL, &e), 0);
        struct merge_stats st;
        CHECK_INT(merge_finish(m, &st, &e), 0);
        CHECK_INT(st.records_out, 15);
        CHECK_INT(st.sources_failed, pass ? 2 : 0);
        merge_free(m);
    }
    CHECK(ref.len == out.len && memcmp(ref.buf, out.buf, ref.len) == 0);
    free(ref.buf);
    free(out.buf);
    free(two.buf);
    free(good);
    free(bad);
    free(snappy);
}

/* Truncation anywhere is an error; byte flips never crash, and under full
 * verification never produce an output that fails a full re-check. */
static void test_corruption(void)
{
    const char *files[] = {AV "share/test/data/weather-snappy.avro", AV "lang/js/test/dat/person-10.avro",
                           AV "share/test/data/weather-deflate.avro",
                           AV "share/test/data/schemas/withUnion/data.avro"};
    for (int f = 0; f < 4; f++) {
        size_t len;
        unsigned char *src = load(files[f], &len);
        REQUIRE(src);
        struct ocf_reader r;
        struct err e = {0};
        REQUIRE(ocf_reader_open(&r, "x", src, len, &e) == 0);
        size_t header_len = r.header_len;
        enum codec_id codec = r.codec;
        ocf_reader_close(&r);
        for (size_t cut = 0; cut < len; cut++) {
            if (cut == header_len)
                continue;   /* a valid empty file */
            unsigned char *copy = malloc(cut ? cut : 1);
            memcpy(copy, src, cut);
            struct merge_options o;
            opts(&o, NULL, codec);
            struct mem out = {0};
            struct merge *m = merge_open(&o, mem_sink, &out, &e);
            CHECK_INT(merge_add(m, "cut.avro", copy, cut, NULL, &e), -1);
            CHECK(strstr(e.msg, "cut.avro") != NULL);
            CHECK_INT(out.len, 0);
            merge_free(m);
            free(copy);
        }
        unsigned char *copy = malloc(len);
        const unsigned char xors[] = {0x01, 0x02, 0x40, 0x80, 0xff};
        int accepted = 0, rejected = 0;
        for (size_t i = 0; i < len; i++) {
            for (size_t x = 0; x < sizeof xors; x++) {
                memcpy(copy, src, len);
                copy[i] ^= xors[x];
                for (int v = 0; v < 2; v++) {
                    struct merge_options o;
                    /* v=0: copy path (own codec); v=1: full verify, re-encoded to null */
                    opts(&o, NULL, v ? CODEC_NULL : codec);
                    o.verify = v ? MERGE_VERIFY_FULL : MERGE_VERIFY_AUTO;
                    struct mem out = {0};
                    struct merge *m = merge_open(&o, mem_sink, &out, &e);
                    int rc = merge_add(m, "flip.avro", copy, len, NULL, &e);
                    if (rc == 0)
                        rc = merge_finish(m, NULL, &e);
                    merge_free(m);
                    if (rc < 0) {
                        rejected++;
                        CHECK(strstr(e.msg, "flip.avro") != NULL);
                    } else {
                        accepted++;
                        if (v == 1)
                            CHECK_INT(full_check(&out, NULL), 0);
                    }
                    free(out.buf);
                }
            }
        }
        CHECK(rejected > 0);
        CHECK(accepted > 0);
        free(copy);
        free(src);
    }
}

static void test_empty_and_schema(void)
{
    struct err e = {0};
    /* a header-only source counts as merged and adds nothing */
    struct mem empty = {0};
    struct ocf_writer w;
    unsigned char sync[16] = {7};
    REQUIRE(ocf_writer_open(&w, WEATHER_SCHEMA, strlen(WEATHER_SCHEMA), CODEC_SNAPPY, sync,
                            mem_sink, &empty, &e) == 0);
    struct merge_options o;
    opts(&o, sitewise_schema_json, CODEC_SNAPPY);
    struct mem out = {0};
    struct merge *m = merge_open(&o, mem_sink, &out, &e);
    REQUIRE(m);
    struct merge_source_stats st;
    /* the schema differs but the source has no records: nothing to resolve */
    CHECK_INT(merge_add(m, "empty", empty.buf, empty.len, &st, &e), 0);
    CHECK_INT(st.mode, MERGE_EMPTY);
    struct merge_stats ms;
    CHECK_INT(merge_finish(m, &ms, &e), 0);
    CHECK_INT(ms.sources_empty, 1);
    CHECK_INT(ms.records_out, 0);
    merge_free(m);
    /* the output is a valid empty container with the SiteWise schema */
    struct ocf_reader r;
    REQUIRE(ocf_reader_open(&r, "out", out.buf, out.len, &e) == 0);
    CHECK_INT(r.schema_len, strlen(sitewise_schema_json));
    struct ocf_block b;
    CHECK_INT(ocf_reader_next(&r, &b, &e), 0);
    ocf_reader_close(&r);
    free(out.buf);
    free(empty.buf);

    /* no schema and no source: error */
    opts(&o, NULL, CODEC_NULL);
    m = merge_open(&o, null_sink, NULL, &e);
    CHECK_INT(merge_finish(m, NULL, &e), -1);
    merge_free(m);
    /* a bad output schema is a usage error */
    opts(&o, "{\"type\":\"nope\"}", CODEC_NULL);
    CHECK(merge_open(&o, null_sink, NULL, &e) == NULL);
    CHECK_INT(e.kind, ERR_USAGE);

    /* the SiteWise schema parses and is what DESIGN §1 lists */
    avro_schema_t s;
    REQUIRE(avsc_parse(sitewise_schema_json, strlen(sitewise_schema_json), &s, &e) == 0);
    CHECK_STR(avro_schema_name(s), "RawDatum");
    CHECK_STR(avro_schema_namespace(s), "amazon.aws.iot.sitewise.raw");
    CHECK_INT(avro_schema_record_size(s), 10);
    const char *names[] = {"seriesId", "timeInSeconds", "offsetInNanos", "quality", "doubleValue",
                           "stringValue", "integerValue", "booleanValue", "jsonValue",
                           "recordVersion"};
    for (int i = 0; i < 10; i++)
        CHECK_STR(avro_schema_record_field_name(s, i), names[i]);
    avro_schema_decref(s);
}

static void test_schema_equal(void)
{
    struct err e = {0};
    avro_schema_t a, b, c;
    REQUIRE(avsc_parse(WEATHER_SCHEMA, strlen(WEATHER_SCHEMA), &a, &e) == 0);
    const char *more = "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
                       "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"},"
                       "{\"name\":\"temp\",\"type\":\"int\"},{\"name\":\"x\",\"type\":\"int\"}]}";
    REQUIRE(avsc_parse(more, strlen(more), &b, &e) == 0);
    /* same schema, other formatting and a doc string */
    const char *same = "{ \"namespace\":\"test\", \"doc\":\"d\", \"type\":\"record\",\"name\":\"Weather\","
                       "\"fields\":[{\"name\":\"station\",\"type\":{\"type\":\"string\"}},"
                       "{\"name\":\"time\",\"type\":\"long\"},{\"name\":\"temp\",\"type\":\"int\"}]}";
    REQUIRE(avsc_parse(same, strlen(same), &c, &e) == 0);
    CHECK(avsc_equal(a, b) == 0);
    CHECK(avsc_equal(b, a) == 0);
    CHECK(avsc_equal(a, c) == 1);
    avro_schema_decref(a);
    avro_schema_decref(b);
    avro_schema_decref(c);
    /* Avro C 1.11.1's avro_schema_equal only walks the first union's branches */
    REQUIRE(avsc_parse("[\"null\",\"int\"]", 14, &a, &e) == 0);
    REQUIRE(avsc_parse("[\"null\",\"int\",\"string\"]", 23, &b, &e) == 0);
    CHECK(avro_schema_equal(a, b) == 1);
    CHECK(avsc_equal(a, b) == 0);
    CHECK(avsc_equal(b, a) == 0);
    avro_schema_decref(a);
    avro_schema_decref(b);
}

static void test_defaults(void)
{
    struct err e = {0};
    struct bytebuf out = {0};
    avro_schema_t s;
    const char *u = "[\"null\",\"string\"]";
    REQUIRE(avsc_parse(u, strlen(u), &s, &e) == 0);
    CHECK_INT(avsc_encode_default_json(s, "null", &out, &e), 0);
    CHECK(out.len == 1 && out.data[0] == 0);
    out.len = 0;
    CHECK_INT(avsc_encode_default_json(s, "\"x\"", &out, &e), -1);   /* first branch only */
    avro_schema_decref(s);
    REQUIRE(avsc_parse("\"long\"", 6, &s, &e) == 0);
    out.len = 0;
    CHECK_INT(avsc_encode_default_json(s, "-65", &out, &e), 0);
    CHECK(out.len == 2 && out.data[0] == 0x81 && out.data[1] == 0x01);
    CHECK_INT(avsc_encode_default_json(s, "1.5", &out, &e), -1);
    avro_schema_decref(s);
    REQUIRE(avsc_parse("\"bytes\"", 7, &s, &e) == 0);
    out.len = 0;
    CHECK_INT(avsc_encode_default_json(s, "\"\\u00e9A\"", &out, &e), 0);
    CHECK(out.len == 3 && out.data[0] == 4 && out.data[1] == 0xe9 && out.data[2] == 'A');
    CHECK_INT(avsc_encode_default_json(s, "\"\\u0100\"", &out, &e), -1);
    avro_schema_decref(s);
    bytebuf_free(&out);
}

/* Re-encoded output is cut into blocks near the target size. */
static void test_block_target(void)
{
    size_t len;
    unsigned char *src = load(AV "share/test/data/syncInMeta.avro", &len);
    REQUIRE(src);
    struct merge_options o;
    opts(&o, NULL, CODEC_SNAPPY);
    o.block_target = 4096;
    struct mem out = {0};
    struct err e = {0};
    struct merge *m = merge_open(&o, mem_sink, &out, &e);
    REQUIRE(m);
    CHECK_INT(merge_add(m, "syncInMeta", src, len, NULL, &e), 0);
    struct merge_stats st;
    CHECK_INT(merge_finish(m, &st, &e), 0);
    merge_free(m);
    CHECK_INT(st.records_out, 6001);
    /* source blocks (~20 KB uncompressed) are appended whole and flushed once
     * past the target; the two small last ones share a block */
    CHECK_INT(st.blocks_out, 11);
    int64_t n;
    CHECK_INT(full_check(&out, &n), 0);
    CHECK_INT(n, 6001);
    free(out.buf);
    /* with a large target everything fits one block */
    out = (struct mem){0};
    o.block_target = 1 << 20;
    m = merge_open(&o, mem_sink, &out, &e);
    REQUIRE(m);
    CHECK_INT(merge_add(m, "syncInMeta", src, len, NULL, &e), 0);
    CHECK_INT(merge_finish(m, &st, &e), 0);
    merge_free(m);
    CHECK_INT(st.blocks_out, 1);
    free(out.buf);
    free(src);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_each_good_file);
    RUN(test_each_bad_file);
    RUN(test_bad_union);
    RUN(test_mixed_codecs);
    RUN(test_resolution);
    RUN(test_resolution_runtime_error);
    RUN(test_determinism);
    RUN(test_rollback);
    RUN(test_corruption);
    RUN(test_empty_and_schema);
    RUN(test_schema_equal);
    RUN(test_defaults);
    RUN(test_block_target);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
    return TEST_EXIT();
}
