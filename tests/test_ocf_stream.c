/* ocf_stream: the streaming block scanner agrees with the in-memory reader
 * (ocf.h) on every file and every prefix of it, whatever the chunking, and
 * reports the record and block counts the test data's README gives. */
#include "ocf.h"
#include "ocf_stream.h"
#include "test.h"

struct seen {
    int64_t counts[64];
    size_t offsets[64];
    size_t sizes[64];
    unsigned char *data[64];
    size_t n;
    int headers;
    enum codec_id codec;
};

static int on_header(void *ud, const char *schema, size_t len, enum codec_id codec, struct err *e)
{
    (void)e;
    struct seen *s = ud;
    s->headers++;
    s->codec = codec;
    return schema && len ? 0 : -1;
}

static int on_block(void *ud, const struct ocf_stream_block *b, struct err *e)
{
    (void)e;
    struct seen *s = ud;
    if (s->n < 64) {
        s->counts[s->n] = b->count;
        s->offsets[s->n] = (size_t)b->offset;
        s->sizes[s->n] = b->size;
        s->data[s->n] = NULL;
        if (b->data) {
            s->data[s->n] = malloc(b->size ? b->size : 1);
            memcpy(s->data[s->n], b->data, b->size);
        }
    }
    s->n++;
    return 0;
}

static void seen_free(struct seen *s)
{
    for (size_t i = 0; i < s->n && i < 64; i++)
        free(s->data[i]);
}

static unsigned char *load(const char *rel, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, rel);
    unsigned char *buf = NULL;
    size_t cap = 0;
    struct err e = {0};
    if (ocf_read_file(path, 1 << 24, &buf, &cap, len, &e) != 0) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    return buf;
}

/* Streams data[0..len) in chunks of `chunk` bytes. Returns 0/-1. */
static int stream(const unsigned char *data, size_t len, size_t chunk, int keep, struct seen *sn,
                  uint64_t *records, struct err *e)
{
    struct ocf_stream_cbs cbs = {on_header, on_block, sn};
    struct ocf_stream *s = ocf_stream_new("f.avro", keep, 0, &cbs);
    if (!s)
        return -1;
    int rc = 0;
    for (size_t off = 0; rc == 0 && off < len; off += chunk)
        rc = ocf_stream_feed(s, data + off, len - off < chunk ? len - off : chunk, e);
    if (rc == 0)
        rc = ocf_stream_finish(s, e);
    if (records)
        *records = ocf_stream_records(s);
    if (rc == 0)
        CHECK_INT(ocf_stream_bytes(s), len);
    ocf_stream_free(s);
    return rc;
}

/* What the in-memory reader says about data[0..len): 0 and the record count,
 * or -1. */
static int reference(const unsigned char *data, size_t len, uint64_t *records, size_t *blocks)
{
    struct ocf_reader r;
    struct err e = {0};
    *records = 0;
    *blocks = 0;
    if (ocf_reader_open(&r, "f.avro", data, len, &e) != 0)
        return -1;
    struct ocf_block b;
    int rc;
    while ((rc = ocf_reader_next(&r, &b, &e)) == 1) {
        *records += (uint64_t)b.count;
        (*blocks)++;
    }
    ocf_reader_close(&r);
    return rc;
}

static void check_file(const char *rel, uint64_t want_records, size_t want_blocks,
                       enum codec_id want_codec)
{
    size_t len = 0;
    unsigned char *data = load(rel, &len);
    REQUIRE(data);
    static const size_t chunks[] = {1, 2, 3, 17, 255, 4096, 1 << 20};
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
        struct seen sn = {0};
        uint64_t rec = 0;
        struct err e = {0};
        int keep = c % 2;
        int rc = stream(data, len, chunks[c], keep, &sn, &rec, &e);
        if (rc != 0)
            fprintf(stderr, "%s chunk %zu: %s\n", rel, chunks[c], e.msg);
        CHECK_INT(rc, 0);
        CHECK_INT(rec, want_records);
        CHECK_INT(sn.n, want_blocks);
        CHECK_INT(sn.headers, 1);
        CHECK_INT(sn.codec, want_codec);
        /* blocks as the in-memory reader sees them */
        struct ocf_reader r;
        REQUIRE(ocf_reader_open(&r, "f.avro", data, len, &e) == 0);
        struct ocf_block b;
        for (size_t i = 0; i < sn.n && i < 64 && ocf_reader_next(&r, &b, &e) == 1; i++) {
            CHECK_INT(sn.counts[i], b.count);
            CHECK_INT(sn.offsets[i], b.offset);
            CHECK_INT(sn.sizes[i], b.size);
            if (keep)
                CHECK(sn.data[i] && memcmp(sn.data[i], b.data, b.size) == 0);
            else
                CHECK(sn.data[i] == NULL);
        }
        ocf_reader_close(&r);
        seen_free(&sn);
    }
    free(data);
}

static void test_counts(void)
{
    check_file("avro/share/test/data/weather.avro", 5, 1, CODEC_NULL);
    check_file("avro/share/test/data/weather-snappy.avro", 5, 1, CODEC_SNAPPY);
    check_file("avro/share/test/data/weather-deflate.avro", 5, 1, CODEC_DEFLATE);
    check_file("avro/share/test/data/syncInMeta.avro", 6001, 12, CODEC_DEFLATE);
}

/* Every prefix (a truncated upload) is judged as the in-memory reader judges
 * it, and a failure names the file and an offset. */
static void prefixes(const char *rel, size_t step)
{
    size_t len = 0;
    unsigned char *data = load(rel, &len);
    REQUIRE(data);
    size_t ok = 0, bad = 0;
    for (size_t l = 0; l <= len; l += (l < 400 ? 1 : step)) {
        uint64_t want_rec = 0, got_rec = 0;
        size_t want_blocks = 0;
        int want = reference(data, l, &want_rec, &want_blocks);
        struct seen sn = {0};
        struct err e = {0};
        int got = stream(data, l, 61, 0, &sn, &got_rec, &e);
        if ((want == 0) != (got == 0))
            fprintf(stderr, "%s prefix %zu: reader %d, stream %d (%s)\n", rel, l, want, got, e.msg);
        CHECK((want == 0) == (got == 0));
        if (got == 0) {
            CHECK_INT(got_rec, want_rec);
            ok++;
        } else {
            CHECK(strstr(e.msg, "f.avro: ") == e.msg);
            CHECK(strstr(e.msg, "offset ") != NULL);
            CHECK_INT(e.kind, ERR_DATA);
            bad++;
        }
        seen_free(&sn);
        if (l == len)
            break;
        if (l + (l < 400 ? 1 : step) > len)
            l = len - (l < 400 ? 1 : step);   /* always try the full file last */
    }
    CHECK(ok >= 1);
    CHECK(bad > ok);
    free(data);
}

static void test_prefixes(void)
{
    prefixes("avro/share/test/data/weather.avro", 1);
    prefixes("avro/share/test/data/syncInMeta.avro", 7);
}

/* A flipped sync byte, a garbage tail, a bad magic. */
static void test_damage(void)
{
    size_t len = 0;
    unsigned char *data = load("avro/share/test/data/syncInMeta.avro", &len);
    REQUIRE(data);
    struct ocf_reader r;
    struct err e = {0};
    REQUIRE(ocf_reader_open(&r, "x", data, len, &e) == 0);
    struct ocf_block b1, b2;
    REQUIRE(ocf_reader_next(&r, &b1, &e) == 1);
    REQUIRE(ocf_reader_next(&r, &b2, &e) == 1);
    ocf_reader_close(&r);
    size_t sync_at = b2.data_offset + b2.size;   /* marker after the second block */

    unsigned char *copy = malloc(len + 5);
    memcpy(copy, data, len);
    copy[sync_at + 3] ^= 0x55;
    struct seen sn = {0};
    CHECK(stream(copy, len, 100, 0, &sn, NULL, &e) != 0);
    char want[64];
    snprintf(want, sizeof want, "offset %zu: sync marker mismatch", sync_at);
    CHECK(strstr(e.msg, want) != NULL);
    CHECK_INT(sn.n, 1);   /* the first block was reported, the second not */
    seen_free(&sn);

    memcpy(copy, data, len);
    memcpy(copy + len, "\x02\x40zzz", 5);   /* 1 record of 32 bytes, 3 present */
    memset(&sn, 0, sizeof sn);
    CHECK(stream(copy, len + 5, 1000, 0, &sn, NULL, &e) != 0);
    CHECK(strstr(e.msg, "block of 32 bytes runs past the end") != NULL);
    seen_free(&sn);

    copy[0] = 'X';
    memset(&sn, 0, sizeof sn);
    CHECK(stream(copy, len, 4096, 0, &sn, NULL, &e) != 0);
    CHECK(strstr(e.msg, "bad magic") != NULL);
    CHECK_INT(sn.headers, 0);
    seen_free(&sn);

    /* keep_data with a cap below the block size */
    struct ocf_stream *s = ocf_stream_new("cap.avro", 1, 16, NULL);
    REQUIRE(s);
    CHECK(ocf_stream_feed(s, data, len, &e) != 0);
    CHECK(strstr(e.msg, "larger than the limit") != NULL);
    CHECK(ocf_stream_finish(s, &e) != 0);   /* stays failed */
    ocf_stream_free(s);
    free(copy);
    free(data);
}

int main(void)
{
    RUN(test_counts);
    RUN(test_prefixes);
    RUN(test_damage);
    return TEST_EXIT();
}
