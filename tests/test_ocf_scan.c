/* ocf_scan against ocf_reader on the Avro project's sample files: the same
 * records and blocks whatever the chunking; every prefix is accepted exactly
 * when it ends at a header or block boundary; corruptions are refused. */
#include <stdlib.h>
#include <string.h>

#include "ocf.h"
#include "ocf_scan.h"
#include "test.h"

static const char *const FILES[] = {
    "avro/share/test/data/weather.avro",
    "avro/share/test/data/weather-snappy.avro",
    "avro/share/test/data/weather-deflate.avro",
    "avro/share/test/data/syncInMeta.avro",
    "avro/lang/c/tests/avro-1238-good.avro",
    "avro/lang/js/test/dat/person-10.avro",
    "avro/lang/java/mapred/src/test/resources/org/apache/avro/mapreduce/mapreduce-test-input.avro/part-r-00000.avro",
};

struct ref {
    uint64_t records, blocks;
    size_t bounds[4096];     /* offsets where a well-formed file may end */
    uint64_t recs_at[4096];  /* records up to that boundary */
    size_t n_bounds;
};

static int load(const char *rel, unsigned char **buf, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TEST_DATA_DIR, rel);
    size_t cap = 0;
    struct err e = {0};
    *buf = NULL;
    return ocf_read_file(path, 64u << 20, buf, &cap, len, &e);
}

static int reference(const unsigned char *buf, size_t len, struct ref *rf)
{
    struct ocf_reader r;
    struct err e = {0};
    memset(rf, 0, sizeof *rf);
    if (ocf_reader_open(&r, "ref", buf, len, &e) != 0)
        return -1;
    rf->bounds[rf->n_bounds++] = r.header_len;
    struct ocf_block b;
    int rc;
    while ((rc = ocf_reader_next(&r, &b, &e)) == 1) {
        rf->records += (uint64_t)b.count;
        rf->blocks++;
        if (rf->n_bounds < 4096) {
            rf->recs_at[rf->n_bounds] = rf->records;
            rf->bounds[rf->n_bounds++] = b.data_offset + b.size + OCF_SYNC_SIZE;
        }
    }
    ocf_reader_close(&r);
    return rc;
}

static int scan_chunked(const unsigned char *buf, size_t len, size_t chunk, struct ocf_scan *s,
                        struct err *e)
{
    ocf_scan_init(s, "x.avro");
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (ocf_scan_feed(s, buf + off, n, e) != 0)
            return -1;
    }
    return ocf_scan_end(s, e);
}

static void test_same_as_reader(void)
{
    static const size_t chunks[] = {1, 2, 3, 7, 16, 17, 4096, (size_t)1 << 30};
    for (size_t f = 0; f < sizeof FILES / sizeof FILES[0]; f++) {
        unsigned char *buf;
        size_t len;
        REQUIRE(load(FILES[f], &buf, &len) == 0);
        struct ref rf;
        CHECK(reference(buf, len, &rf) == 0);
        CHECK(rf.records > 0);
        for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
            struct ocf_scan s;
            struct err e = {0};
            int rc = scan_chunked(buf, len, chunks[c], &s, &e);
            if (rc != 0)
                fprintf(stderr, "%s chunk %zu: %s\n", FILES[f], chunks[c], e.msg);
            CHECK(rc == 0);
            CHECK_INT(s.records, rf.records);
            CHECK_INT(s.blocks, rf.blocks);
            CHECK(s.have_sync && memcmp(s.sync, buf + rf.bounds[0] - OCF_SYNC_SIZE, 16) == 0);
        }
        free(buf);
    }
}

static void test_every_prefix(void)
{
    unsigned char *buf;
    size_t len;
    REQUIRE(load(FILES[0], &buf, &len) == 0);
    struct ref rf;
    REQUIRE(reference(buf, len, &rf) == 0);
    size_t next = 0;
    for (size_t l = 0; l <= len; l++) {
        struct ocf_scan s;
        struct err e = {0};
        int rc = scan_chunked(buf, l, 5, &s, &e);
        int boundary = next < rf.n_bounds && rf.bounds[next] == l;
        if (boundary) {
            CHECK(rc == 0);
            CHECK_INT(s.records, rf.recs_at[next]);
            next++;
        } else {
            CHECK(rc == -1);
            CHECK(e.kind == ERR_DATA);
            CHECK(strstr(e.msg, "x.avro") != NULL);
        }
    }
    CHECK_INT(next, rf.n_bounds);
    free(buf);
}

static void test_corruptions(void)
{
    unsigned char *buf;
    size_t len;
    REQUIRE(load(FILES[1], &buf, &len) == 0);
    struct ref rf;
    REQUIRE(reference(buf, len, &rf) == 0);
    REQUIRE(rf.n_bounds >= 2);
    struct ocf_scan s;
    struct err e = {0};
    /* bad magic */
    buf[0] ^= 1;
    CHECK(scan_chunked(buf, len, 64, &s, &e) == -1);
    CHECK(strstr(e.msg, "offset 0: not an Avro") != NULL);
    buf[0] ^= 1;
    /* a flipped byte in the first block's trailing sync marker */
    size_t at = rf.bounds[1] - 3;
    buf[at] ^= 0x40;
    CHECK(scan_chunked(buf, len, 64, &s, &e) == -1);
    CHECK(strstr(e.msg, "sync marker mismatch") != NULL);
    buf[at] ^= 0x40;
    /* a bigger size in the first block header (its varint's low bits) */
    size_t hdr = rf.bounds[0];
    size_t p = hdr;
    int64_t count, size;
    REQUIRE(ocf_read_long(buf, len, &p, &count) == 0);
    size_t size_at = p;
    REQUIRE(ocf_read_long(buf, len, &p, &size) == 0);
    buf[size_at] ^= 0x02;  /* +-1 byte: the sync marker lands elsewhere */
    CHECK(scan_chunked(buf, len, 64, &s, &e) == -1);
    buf[size_at] ^= 0x02;
    /* trailing garbage after the last block */
    unsigned char *more = malloc(len + 3);
    REQUIRE(more);
    memcpy(more, buf, len);
    memcpy(more + len, "\x02\x04x", 3);
    CHECK(scan_chunked(more, len + 3, 64, &s, &e) == -1);
    CHECK(strstr(e.msg, "truncated") != NULL);
    /* a negative block count */
    memcpy(more, buf, hdr);
    more[hdr] = 0x01;  /* zig-zag -1 */
    CHECK(scan_chunked(more, hdr + 1, 64, &s, &e) == -1);
    CHECK(strstr(e.msg, "invalid block record count -1") != NULL);
    /* a varint longer than 10 bytes */
    memset(more + hdr, 0xff, 11);
    CHECK(scan_chunked(more, hdr + 11, 3, &s, &e) == -1);
    CHECK(strstr(e.msg, "malformed block record count") != NULL);
    /* calls after a failure fail too */
    CHECK(ocf_scan_feed(&s, buf, 1, &e) == -1);
    CHECK(ocf_scan_end(&s, &e) == -1);
    free(more);
    free(buf);
}

int main(void)
{
    RUN(test_same_as_reader);
    RUN(test_every_prefix);
    RUN(test_corruptions);
    return TEST_EXIT();
}
