/* Container reader/writer, codecs and the record checker. */
#include <avro.h>
#include <stdint.h>

#include "avsc.h"
#include "codec.h"
#include "datum.h"
#include "ocf.h"
#include "test.h"

#define AV TEST_DATA_DIR "/avro/"

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

/* Reads all blocks; returns 0 at a clean end, -1 on error (message in e). */
static int read_all(const char *name, const void *data, size_t len, int64_t *records,
                    int *blocks, enum codec_id *codec, struct err *e)
{
    struct ocf_reader r;
    *records = 0;
    *blocks = 0;
    if (ocf_reader_open(&r, name, data, len, e) < 0)
        return -1;
    if (codec)
        *codec = r.codec;
    struct ocf_block b;
    int rc;
    while ((rc = ocf_reader_next(&r, &b, e)) == 1) {
        *records += b.count;
        (*blocks)++;
        if (b.data < (const unsigned char *)data || b.data + b.size > (const unsigned char *)data + len)
            rc = -2;
    }
    ocf_reader_close(&r);
    return rc;
}

/* Expected values from tests/data/avro/README.md (counted independently). */
static const struct {
    const char *path;
    int ok;
    enum codec_id codec;
    int blocks;
    int records;
    const char *err;    /* substring of the error */
} FILES[] = {
    {"share/test/data/weather.avro", 1, CODEC_NULL, 1, 5, NULL},
    {"share/test/data/weather-deflate.avro", 1, CODEC_DEFLATE, 1, 5, NULL},
    {"share/test/data/weather-snappy.avro", 1, CODEC_SNAPPY, 1, 5, NULL},
    {"share/test/data/weather-sorted.avro", 1, CODEC_DEFLATE, 1, 5, NULL},
    {"share/test/data/weather-zstd.avro", 0, 0, 0, 0, "zstandard"},
    {"share/test/data/syncInMeta.avro", 1, CODEC_DEFLATE, 12, 6001, NULL},
    {"share/test/data/test.avro12", 0, 0, 0, 0, "offset 3"},
    {"share/test/data/schemas/simple/data.avro", 1, CODEC_NULL, 1, 3, NULL},
    {"share/test/data/schemas/withUnion/data.avro", 1, CODEC_NULL, 1, 3, NULL},
    {"share/test/interop/rpc/add/onePlusOne/request.avro", 1, CODEC_NULL, 1, 1, NULL},
    {"share/test/interop/rpc/add/onePlusOne/response.avro", 1, CODEC_NULL, 1, 1, NULL},
    {"share/test/interop/rpc/echo/foo/request.avro", 1, CODEC_NULL, 1, 1, NULL},
    {"share/test/interop/rpc/echo/foo/response.avro", 1, CODEC_NULL, 1, 1, NULL},
    {"share/test/interop/rpc/hello/world/request.avro", 1, CODEC_NULL, 1, 1, NULL},
    {"share/test/interop/rpc/hello/world/response.avro", 1, CODEC_NULL, 1, 1, NULL},
    {"lang/c/tests/avro-1237-good.avro", 1, CODEC_NULL, 1, 2, NULL},
    /* this file also has a stray byte after its last sync marker */
    {"lang/c/tests/avro-1237-bad-union-discriminant.avro", 0, 0, 0, 0, "offset 105"},
    {"lang/c/tests/avro-1238-good.avro", 1, CODEC_NULL, 1, 2, NULL},
    {"lang/c/tests/avro-1238-truncated.avro", 0, 0, 0, 0, "truncated sync marker"},
    {"lang/c/tests/avro-1279-codec.avro", 1, CODEC_NULL, 1, 3, NULL},
    {"lang/c/tests/avro-1279-no-codec.avro", 1, CODEC_NULL, 1, 3, NULL},
    {"lang/js/test/dat/person-10.avro", 1, CODEC_NULL, 1, 10, NULL},
    {"lang/js/test/dat/person-10.no-codec.avro", 0, 0, 0, 0, "offset 494"},
    {"lang/java/mapred/src/test/resources/org/apache/avro/mapreduce/mapreduce-test-input.avro/"
     "part-r-00000.avro", 1, CODEC_NULL, 1, 3, NULL},
};

static void test_reference_files(void)
{
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, AV "%s", FILES[i].path);
        size_t len;
        unsigned char *buf = load(path, &len);
        REQUIRE(buf);
        struct err e = {0};
        int64_t records;
        int blocks;
        enum codec_id codec = 99;
        int rc = read_all(FILES[i].path, buf, len, &records, &blocks, &codec, &e);
        if (FILES[i].ok) {
            if (rc != 0)
                fprintf(stderr, "  %s: %s\n", FILES[i].path, e.msg);
            CHECK_INT(rc, 0);
            CHECK_INT(codec, FILES[i].codec);
            CHECK_INT(blocks, FILES[i].blocks);
            CHECK_INT(records, FILES[i].records);
        } else {
            CHECK_INT(rc, -1);
            CHECK(strstr(e.msg, FILES[i].path) != NULL);
            if (!strstr(e.msg, FILES[i].err))
                fprintf(stderr, "  %s: unexpected message: %s\n", FILES[i].path, e.msg);
            CHECK(strstr(e.msg, FILES[i].err) != NULL);
            CHECK_INT(e.kind, ERR_DATA);
        }
        free(buf);
    }
}

static void test_header_fields(void)
{
    size_t len;
    unsigned char *buf = load(AV "share/test/data/syncInMeta.avro", &len);
    REQUIRE(buf);
    struct ocf_reader r;
    struct err e = {0};
    REQUIRE(ocf_reader_open(&r, "syncInMeta", buf, len, &e) == 0);
    const unsigned char *v;
    size_t vl;
    /* the extra avro.sync entry equals the real marker and must not confuse us */
    REQUIRE(ocf_reader_meta(&r, "avro.sync", &v, &vl) == 1);
    CHECK_INT(vl, 16);
    CHECK(memcmp(v, r.sync, 16) == 0);
    CHECK(r.schema_len > 0 && r.schema_json[0] == '{');
    CHECK(ocf_reader_meta(&r, "no.such.key", &v, &vl) == 0);
    ocf_reader_close(&r);
    free(buf);

    /* no avro.codec key means null */
    buf = load(AV "lang/c/tests/avro-1279-no-codec.avro", &len);
    REQUIRE(buf);
    REQUIRE(ocf_reader_open(&r, "no-codec", buf, len, &e) == 0);
    CHECK(ocf_reader_meta(&r, "avro.codec", &v, &vl) == 0);
    CHECK_INT(r.codec, CODEC_NULL);
    ocf_reader_close(&r);
    free(buf);
}

struct mem {
    unsigned char buf[8192];
    size_t len;
    int fail_after;   /* fail the Nth call when > 0 */
    int calls;
};

static int mem_sink(void *ud, const void *p, size_t n)
{
    struct mem *m = ud;
    if (m->fail_after && ++m->calls >= m->fail_after)
        return -1;
    if (n > sizeof m->buf - m->len)
        return -1;
    memcpy(m->buf + m->len, p, n);
    m->len += n;
    return 0;
}

static void test_writer_roundtrip(void)
{
    struct mem m = {.len = 0};
    struct ocf_writer w;
    struct err e = {0};
    unsigned char sync[16];
    for (int i = 0; i < 16; i++)
        sync[i] = (unsigned char)(0xa0 + i);
    REQUIRE(ocf_writer_open(&w, "\"long\"", 6, CODEC_NULL, sync, mem_sink, &m, &e) == 0);
    /* two blocks of longs: {1,-1} and {300} */
    unsigned char d1[20];
    size_t n1 = ocf_put_long(d1, 1);
    n1 += ocf_put_long(d1 + n1, -1);
    unsigned char d2[10];
    size_t n2 = ocf_put_long(d2, 300);
    REQUIRE(ocf_writer_block(&w, 2, d1, n1, &e) == 0);
    REQUIRE(ocf_writer_block(&w, 1, d2, n2, &e) == 0);
    CHECK_INT(w.bytes, m.len);
    CHECK_INT(w.records, 3);
    CHECK(memcmp(m.buf, "Obj\x01", 4) == 0);

    struct ocf_reader r;
    REQUIRE(ocf_reader_open(&r, "mem", m.buf, m.len, &e) == 0);
    CHECK_INT(r.schema_len, 6);
    CHECK(memcmp(r.schema_json, "\"long\"", 6) == 0);
    CHECK_INT(r.codec, CODEC_NULL);
    CHECK(memcmp(r.sync, sync, 16) == 0);
    CHECK_INT(r.n_meta, 2);
    /* deterministic order: schema then codec */
    CHECK(r.meta[0].key_len == 11 && memcmp(r.meta[0].key, "avro.schema", 11) == 0);
    CHECK(r.meta[1].key_len == 10 && memcmp(r.meta[1].key, "avro.codec", 10) == 0);
    struct ocf_block b;
    REQUIRE(ocf_reader_next(&r, &b, &e) == 1);
    CHECK_INT(b.count, 2);
    CHECK_INT(b.size, n1);
    size_t pos = 0;
    int64_t v;
    CHECK(ocf_read_long(b.data, b.size, &pos, &v) == 0 && v == 1);
    CHECK(ocf_read_long(b.data, b.size, &pos, &v) == 0 && v == -1);
    REQUIRE(ocf_reader_next(&r, &b, &e) == 1);
    pos = 0;
    CHECK(ocf_read_long(b.data, b.size, &pos, &v) == 0 && v == 300);
    CHECK_INT(ocf_reader_next(&r, &b, &e), 0);
    CHECK_INT(ocf_reader_next(&r, &b, &e), 0);
    ocf_reader_close(&r);

    /* a failing sink is reported */
    struct mem f = {.fail_after = 2};
    CHECK_INT(ocf_writer_open(&w, "\"long\"", 6, CODEC_SNAPPY, sync, mem_sink, &f, &e), -1);
    CHECK(strstr(e.msg, "write failed") != NULL);
}

static void test_varints(void)
{
    int64_t vals[] = {0, 1, -1, 63, -64, 64, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        unsigned char b[10];
        size_t n = ocf_put_long(b, vals[i]);
        size_t pos = 0;
        int64_t v = 0;
        CHECK(ocf_read_long(b, n, &pos, &v) == 0);
        CHECK(v == vals[i]);
        CHECK_INT(pos, n);
        /* every shorter prefix is truncated */
        for (size_t k = 0; k < n; k++) {
            pos = 0;
            CHECK(ocf_read_long(b, k, &pos, &v) == -1);
        }
    }
    /* 11 bytes, or a 10th byte with more than one bit: invalid */
    unsigned char over[11];
    memset(over, 0xff, sizeof over);
    size_t pos = 0;
    int64_t v;
    CHECK(ocf_read_long(over, 11, &pos, &v) == -1);
    unsigned char ten[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    pos = 0;
    CHECK(ocf_read_long(ten, 10, &pos, &v) == -1);
}

/* Builds a header by hand: metadata in a negative-count block with its size. */
static size_t build_neg_meta(unsigned char *out, int bad_size)
{
    size_t n = 0;
    memcpy(out, "Obj\x01", 4);
    n = 4;
    unsigned char entries[64];
    size_t en = 0;
    en += ocf_put_long(entries + en, 11);
    memcpy(entries + en, "avro.schema", 11);
    en += 11;
    en += ocf_put_long(entries + en, 5);
    memcpy(entries + en, "\"int\"", 5);
    en += 5;
    n += ocf_put_long(out + n, -1);
    n += ocf_put_long(out + n, (int64_t)en + (bad_size ? 1 : 0));
    memcpy(out + n, entries, en);
    n += en;
    n += ocf_put_long(out + n, 0);
    memset(out + n, 0x5a, 16);
    n += 16;
    /* one block: 1 record, int 7 */
    n += ocf_put_long(out + n, 1);
    n += ocf_put_long(out + n, 1);
    n += ocf_put_long(out + n, 7);
    memset(out + n, 0x5a, 16);
    n += 16;
    return n;
}

static void test_negative_meta_count(void)
{
    unsigned char f[128];
    size_t n = build_neg_meta(f, 0);
    int64_t records;
    int blocks;
    struct err e = {0};
    CHECK_INT(read_all("neg", f, n, &records, &blocks, NULL, &e), 0);
    CHECK_INT(records, 1);
    n = build_neg_meta(f, 1);
    CHECK_INT(read_all("negbad", f, n, &records, &blocks, NULL, &e), -1);
    CHECK(strstr(e.msg, "negbad") != NULL);
}

static void test_bad_headers(void)
{
    struct err e = {0};
    struct ocf_reader r;
    CHECK_INT(ocf_reader_open(&r, "empty", "", 0, &e), -1);
    CHECK(strstr(e.msg, "empty: offset 0") != NULL);
    CHECK_INT(ocf_reader_open(&r, "text", "hello world", 11, &e), -1);
    /* huge metadata count: refused before any allocation of that size */
    unsigned char h[32] = "Obj\x01";
    size_t n = 4 + ocf_put_long(h + 4, INT64_MAX / 2);
    CHECK_INT(ocf_reader_open(&r, "huge", h, n + 8, &e), -1);
    CHECK(strstr(e.msg, "huge: offset 4") != NULL);
    /* no schema */
    n = 4 + ocf_put_long(h + 4, 0);
    memset(h + n, 0, 16);
    CHECK_INT(ocf_reader_open(&r, "noschema", h, n + 16, &e), -1);
    CHECK(strstr(e.msg, "avro.schema") != NULL);
}

static void test_block_limits(void)
{
    /* valid header from the writer, then hand-made block headers */
    struct mem m = {.len = 0};
    struct ocf_writer w;
    struct err e = {0};
    unsigned char sync[16] = {1, 2, 3};
    REQUIRE(ocf_writer_open(&w, "\"int\"", 5, CODEC_NULL, sync, mem_sink, &m, &e) == 0);
    size_t hl = m.len;
    int64_t cases[][2] = {{-1, 1}, {1, -1}, {INT64_MAX, 1}, {1, INT64_MAX}, {1, 1000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        m.len = hl;
        unsigned char b[40];
        size_t n = ocf_put_long(b, cases[i][0]);
        n += ocf_put_long(b + n, cases[i][1]);
        b[n++] = 2;
        memcpy(b + n, sync, 16);
        n += 16;
        memcpy(m.buf + m.len, b, n);
        int64_t records;
        int blocks;
        CHECK_INT(read_all("lim", m.buf, m.len + n, &records, &blocks, NULL, &e), -1);
        CHECK(strstr(e.msg, "lim: offset") != NULL);
    }
    /* wrong sync marker */
    m.len = hl;
    unsigned char b[40];
    size_t n = ocf_put_long(b, 1);
    n += ocf_put_long(b + n, 1);
    b[n++] = 2;
    memset(b + n, 9, 16);
    n += 16;
    memcpy(m.buf + m.len, b, n);
    int64_t records;
    int blocks;
    CHECK_INT(read_all("sync", m.buf, m.len + n, &records, &blocks, NULL, &e), -1);
    CHECK(strstr(e.msg, "sync marker mismatch") != NULL);
}

/* Truncating a file anywhere must give an error; flipping bytes must never
 * crash (ASan/UBSan builds check that). */
static void test_truncate_and_flip(void)
{
    const char *files[] = {"share/test/data/weather-snappy.avro", "lang/js/test/dat/person-10.avro",
                           "share/test/data/weather-deflate.avro"};
    for (size_t f = 0; f < 3; f++) {
        char path[256];
        snprintf(path, sizeof path, AV "%s", files[f]);
        size_t len;
        unsigned char *buf = load(path, &len);
        REQUIRE(buf);
        int64_t records;
        int blocks;
        struct err e = {0};
        struct ocf_reader r;
        REQUIRE(ocf_reader_open(&r, "h", buf, len, &e) == 0);
        size_t header_len = r.header_len;
        ocf_reader_close(&r);
        for (size_t cut = 0; cut < len; cut++) {
            unsigned char *copy = malloc(cut ? cut : 1);   /* exact size: ASan sees overreads */
            memcpy(copy, buf, cut);
            int rc = read_all("cut", copy, cut, &records, &blocks, NULL, &e);
            /* cut right after the header: a valid file without blocks */
            int want = cut == header_len ? 0 : -1;
            if (rc != want)
                fprintf(stderr, "  %s cut at %zu: rc %d\n", files[f], cut, rc);
            CHECK_INT(rc, want);
            if (rc == -1)
                CHECK(strstr(e.msg, "cut: offset") != NULL);
            free(copy);
        }
        unsigned char *copy = malloc(len);
        const unsigned char xors[] = {0x01, 0x80, 0xff, 0x7f};
        int failures = 0;
        for (size_t i = 0; i < len; i++) {
            for (size_t x = 0; x < sizeof xors; x++) {
                memcpy(copy, buf, len);
                copy[i] ^= xors[x];
                if (read_all("flip", copy, len, &records, &blocks, NULL, &e) < 0)
                    failures++;
            }
        }
        CHECK(failures > 0);
        free(copy);
        free(buf);
    }
}

static void test_codecs(void)
{
    struct err e = {0};
    enum codec_id c;
    CHECK(codec_from_name("snappy", 6, &c) == 0 && c == CODEC_SNAPPY);
    CHECK(codec_from_name("deflate", 7, &c) == 0 && c == CODEC_DEFLATE);
    CHECK(codec_from_name("null", 4, &c) == 0 && c == CODEC_NULL);
    CHECK(codec_from_name("zstandard", 9, &c) == -1);
    CHECK(codec_from_name("snap", 4, &c) == -1);
    CHECK(codec_parse("bzip2", &c, &e) == -1 && e.kind == ERR_USAGE && strstr(e.msg, "bzip2"));

    /* round trips */
    unsigned char in[100000];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)((i * 7) % 251 < 100 ? 'a' : i * 13);
    enum codec_id all[] = {CODEC_NULL, CODEC_DEFLATE, CODEC_SNAPPY};
    struct bytebuf z = {0}, u = {0};
    for (int k = 0; k < 3; k++) {
        REQUIRE(codec_compress(all[k], 0, in, sizeof in, &z, &e) == 0);
        REQUIRE(codec_decompress(all[k], z.data, z.len, sizeof in, &u, &e) == 0);
        CHECK_INT(u.len, sizeof in);
        CHECK(memcmp(u.data, in, sizeof in) == 0);
        /* a cap below the real size is an error */
        CHECK_INT(codec_decompress(all[k], z.data, z.len, sizeof in - 1, &u, &e), -1);
        CHECK_INT(e.kind, ERR_DATA);
        /* empty input round trip */
        REQUIRE(codec_compress(all[k], 0, in, 0, &z, &e) == 0);
        CHECK(codec_decompress(all[k], z.data, z.len, 10, &u, &e) == 0 && u.len == 0);
    }

    /* snappy: CRC is checked, short blocks refused */
    REQUIRE(codec_compress(CODEC_SNAPPY, 0, in, 1000, &z, &e) == 0);
    z.data[z.len - 1] ^= 1;
    CHECK_INT(codec_decompress(CODEC_SNAPPY, z.data, z.len, 1 << 20, &u, &e), -1);
    CHECK(strstr(e.msg, "CRC") != NULL);
    for (size_t n = 0; n < 4; n++) {
        CHECK_INT(codec_decompress(CODEC_SNAPPY, "\0\0\0\0", n, 1 << 20, &u, &e), -1);
        CHECK(strstr(e.msg, "shorter") != NULL);
    }
    /* a snappy length header claiming 4 GB is refused before allocating */
    unsigned char big[9] = {0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0};
    CHECK_INT(codec_decompress(CODEC_SNAPPY, big, sizeof big, 1 << 20, &u, &e), -1);

    /* deflate: truncated stream, trailing bytes, garbage */
    REQUIRE(codec_compress(CODEC_DEFLATE, 9, in, sizeof in, &z, &e) == 0);
    CHECK_INT(codec_decompress(CODEC_DEFLATE, z.data, z.len / 2, 1 << 20, &u, &e), -1);
    CHECK(strstr(e.msg, "truncated") != NULL);
    /* bytes after the end of the stream are ignored (python3-avro leaves 3) */
    REQUIRE(bytebuf_append(&z, "xxx", 3, &e) == 0);
    CHECK_INT(codec_decompress(CODEC_DEFLATE, z.data, z.len, 1 << 20, &u, &e), 0);
    CHECK_INT(u.len, sizeof in);
    CHECK_INT(codec_decompress(CODEC_DEFLATE, "\xff\xff\xff\xff", 4, 1 << 20, &u, &e), -1);

    /* a deflate bomb: 64 MB of zeros compresses to ~64 KB; cap at 1 MB */
    size_t bomb = 64u << 20;
    unsigned char *zeros = calloc(1, bomb);
    REQUIRE(zeros);
    REQUIRE(codec_compress(CODEC_DEFLATE, 9, zeros, bomb, &z, &e) == 0);
    free(zeros);
    CHECK_INT(codec_decompress(CODEC_DEFLATE, z.data, z.len, 1 << 20, &u, &e), -1);
    CHECK(strstr(e.msg, "more than") != NULL);
    CHECK(u.cap <= (1 << 20));
    bytebuf_free(&z);
    bytebuf_free(&u);
}

static struct datum_prog *prog_for(const char *json)
{
    avro_schema_t s;
    struct err e = {0};
    if (avsc_parse(json, strlen(json), &s, &e) < 0) {
        fprintf(stderr, "schema: %s\n", e.msg);
        return NULL;
    }
    struct datum_prog *p = datum_compile(s, NULL, 0, &e);
    avro_schema_decref(s);
    return p;
}

static void test_datum_checks(void)
{
    struct err e = {0};
    struct datum_prog *p = prog_for("[\"null\",\"int\"]");
    REQUIRE(p);
    unsigned char ok[] = {0x00, 0x02, 0xc8, 0x01};  /* null, int 100 */
    CHECK_INT(datum_check_block(p, ok, sizeof ok, 2, NULL, &e), 0);
    CHECK_INT(datum_check_block(p, ok, sizeof ok, 1, NULL, &e), -1);   /* bytes left */
    CHECK(strstr(e.msg, "after its 1 records") != NULL);
    CHECK_INT(datum_check_block(p, ok, sizeof ok, 3, NULL, &e), -1);   /* runs out */
    unsigned char bad[] = {0x00, 0x04, 0xc8, 0x01};  /* union index 2 */
    CHECK_INT(datum_check_block(p, bad, sizeof bad, 2, NULL, &e), -1);
    CHECK(strstr(e.msg, "invalid union discriminant 2") != NULL);
    unsigned char neg[] = {0x01};                    /* union index -1 */
    CHECK_INT(datum_check_block(p, neg, 1, 1, NULL, &e), -1);
    datum_free(p);

    p = prog_for("{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"s\",\"type\":\"string\"},"
                 "{\"name\":\"b\",\"type\":\"boolean\"},{\"name\":\"i\",\"type\":\"int\"}]}");
    REQUIRE(p);
    unsigned char r1[] = {0x04, 'h', 'i', 0x01, 0x02};
    CHECK_INT(datum_check_block(p, r1, sizeof r1, 1, NULL, &e), 0);
    unsigned char r2[] = {0x04, 'h', 'i', 0x02, 0x02};  /* boolean 2 */
    CHECK_INT(datum_check_block(p, r2, sizeof r2, 1, NULL, &e), -1);
    CHECK(strstr(e.msg, "boolean") != NULL);
    unsigned char r3[] = {0x03, 'h', 'i', 0x01, 0x02};  /* string length -2 */
    CHECK_INT(datum_check_block(p, r3, sizeof r3, 1, NULL, &e), -1);
    CHECK(strstr(e.msg, "negative") != NULL);
    unsigned char r4[] = {0x40, 'h', 'i', 0x01, 0x02};  /* length 32 > block */
    CHECK_INT(datum_check_block(p, r4, sizeof r4, 1, NULL, &e), -1);
    unsigned char r5[] = {0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x7f};  /* int > 32 bits */
    CHECK_INT(datum_check_block(p, r5, sizeof r5, 1, NULL, &e), -1);
    /* a count that cannot fit the bytes is refused up front */
    CHECK_INT(datum_check_block(p, r1, sizeof r1, 1000000000, NULL, &e), -1);
    datum_free(p);

    /* arrays of nulls take no bytes: huge counts hit the budget, not a loop */
    p = prog_for("{\"type\":\"array\",\"items\":\"null\"}");
    REQUIRE(p);
    unsigned char a[12];
    size_t n = ocf_put_long(a, (int64_t)1 << 40);
    a[n++] = 0;
    CHECK_INT(datum_check_block(p, a, n, 1, NULL, &e), -1);
    n = ocf_put_long(a, 3);
    a[n++] = 0;
    CHECK_INT(datum_check_block(p, a, n, 1, NULL, &e), 0);
    /* negative block count with a byte size */
    n = ocf_put_long(a, -3);
    n += ocf_put_long(a + n, 0);
    a[n++] = 0;
    CHECK_INT(datum_check_block(p, a, n, 1, NULL, &e), 0);
    datum_free(p);

    /* map of longs with a wrong block byte size */
    p = prog_for("{\"type\":\"map\",\"values\":\"long\"}");
    REQUIRE(p);
    unsigned char mp[] = {0x01, 0x08, 0x02, 'k', 0x02, 0x00};  /* -1 items, size 4 (is 3) */
    CHECK_INT(datum_check_block(p, mp, sizeof mp, 1, NULL, &e), -1);
    mp[1] = 0x06;
    CHECK_INT(datum_check_block(p, mp, sizeof mp, 1, NULL, &e), 0);
    datum_free(p);

    /* recursive schema: a linked list; deep nesting is bounded */
    p = prog_for("{\"type\":\"record\",\"name\":\"L\",\"fields\":[{\"name\":\"n\",\"type\":"
                 "[\"null\",\"L\"]}]}");
    REQUIRE(p);
    unsigned char deep[2001];
    memset(deep, 0x02, sizeof deep);
    deep[sizeof deep - 1] = 0x00;
    CHECK_INT(datum_check_block(p, deep, 11, 1, NULL, &e), -1);    /* truncated */
    deep[10] = 0x00;
    CHECK_INT(datum_check_block(p, deep, 11, 1, NULL, &e), 0);
    deep[10] = 0x02;
    CHECK_INT(datum_check_block(p, deep, sizeof deep, 1, NULL, &e), -1);  /* too deep */
    CHECK(strstr(e.msg, "deeper") != NULL);
    datum_free(p);
}

static void test_read_file_cap(void)
{
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    struct err e = {0};
    CHECK_INT(ocf_read_file(AV "share/test/data/syncInMeta.avro", 1000, &buf, &cap, &len, &e), -1);
    CHECK(strstr(e.msg, "limit") != NULL);
    CHECK_INT(ocf_read_file(AV "share/test/data/syncInMeta.avro", 1 << 20, &buf, &cap, &len, &e), 0);
    CHECK_INT(len, 22609);
    CHECK_INT(ocf_read_file(AV "no/such/file.avro", 1 << 20, &buf, &cap, &len, &e), -1);
    CHECK(strstr(e.msg, "no/such/file.avro") != NULL);
    FILE *f = fopen(AV "share/test/data/weather.avro", "rb");
    REQUIRE(f);
    CHECK_INT(ocf_read_stream(f, "stdin", 100, &buf, &cap, &len, &e), -1);
    rewind(f);
    CHECK_INT(ocf_read_stream(f, "stdin", 1000, &buf, &cap, &len, &e), 0);
    CHECK_INT(len, 358);
    fclose(f);
    free(buf);
}

int main(void)
{
    RUN(test_reference_files);
    RUN(test_header_fields);
    RUN(test_writer_roundtrip);
    RUN(test_varints);
    RUN(test_negative_meta_count);
    RUN(test_bad_headers);
    RUN(test_block_limits);
    RUN(test_truncate_and_flip);
    RUN(test_codecs);
    RUN(test_datum_checks);
    RUN(test_read_file_cap);
    return TEST_EXIT();
}
