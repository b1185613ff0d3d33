/* libFuzzer target: adopt.h on arbitrary bytes, used as the sample file and
 * as the source.
 *
 * Oracles beyond no crash/leak (ASan, UBSan):
 *  - a rejected sample file is named in the message;
 *  - a file offered against itself is taken whole (taken = 1 when it holds
 *    records) and leaves 0 records; offered again it is not taken;
 *  - its records re-blocked (3 per block) under another codec, as the
 *    original sample re-wrote them, hold the same records: the original is
 *    taken whole from that file too;
 *  - offered to a sample file of another schema (one record), the input
 *    goes through re-encoding into that schema (merge.h, Avro C), and
 *    added as a second sample file beside it, it is taken whole from there,
 *    leaving exactly the other file's record.
 * Seeds: tests/data/avro, tests/data/adopt (tests/fuzz/fuzz_adopt.seeds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adopt.h"
#include "avsc.h"
#include "codec.h"
#include "datum.h"
#include "ocf.h"

#define MAX_REBLOCK_RECORDS 20000

/* A Weather-like schema with more fields, so that the weather seeds are
 * re-encoded into it (defaults, a promotion, a dropped field). */
static const char OTHER_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
    "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"},"
    "{\"name\":\"temp\",\"type\":\"double\"},"
    "{\"name\":\"extra\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"n\",\"type\":{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,2]}]}";
/* One record of it: "x", 0, 0.0, null, [] */
static const unsigned char OTHER_RECORD[] = {2, 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static int buf_sink(void *ud, const void *p, size_t n)
{
    return bytebuf_append(ud, p, n, NULL);
}

struct reblock {
    struct ocf_writer w;
    enum codec_id codec;
    struct bytebuf raw, comp;
    int64_t pending;
    size_t records;
};

static int flush(struct reblock *rb, struct err *e)
{
    if (rb->pending == 0)
        return 0;
    const unsigned char *p = rb->raw.data;
    size_t n = rb->raw.len;
    if (rb->codec != CODEC_NULL) {
        if (codec_compress(rb->codec, 1, rb->raw.data, rb->raw.len, &rb->comp, e) < 0)
            return -1;
        p = rb->comp.data;
        n = rb->comp.len;
    }
    if (ocf_writer_block(&rb->w, rb->pending, p, n, e) < 0)
        return -1;
    rb->raw.len = 0;
    rb->pending = 0;
    return 0;
}

static int on_record(void *ud, const unsigned char *rec, size_t len, struct err *e)
{
    struct reblock *rb = ud;
    if (++rb->records > MAX_REBLOCK_RECORDS)
        return -1;
    if (bytebuf_append(&rb->raw, rec, len, e) < 0)
        return -1;
    return ++rb->pending == 3 ? flush(rb, e) : 0;
}

/* The records of a valid container written again: 0, or -1 when the input
 * is not one (or too large to bother). */
static int reblock(const uint8_t *data, size_t size, struct bytebuf *out)
{
    struct ocf_reader r;
    struct err e;
    if (ocf_reader_open(&r, "in", data, size, &e) < 0)
        return -1;
    avro_schema_t s = NULL;
    struct datum_prog *p = NULL;
    struct reblock rb = {.codec = r.codec == CODEC_SNAPPY ? CODEC_DEFLATE : CODEC_SNAPPY};
    struct bytebuf dec = {0};
    unsigned char sync[OCF_SYNC_SIZE];
    memset(sync, 0x5a, sizeof sync);
    int rc = -1;
    if (avsc_parse(r.schema_json, r.schema_len, &s, &e) < 0
        || !(p = datum_compile(s, NULL, 0, &e))
        || ocf_writer_open(&rb.w, r.schema_json, r.schema_len, rb.codec, sync, buf_sink, out,
                           &e) < 0)
        goto done;
    struct ocf_block b;
    int k;
    while ((k = ocf_reader_next(&r, &b, &e)) == 1) {
        const unsigned char *q = b.data;
        size_t n = b.size;
        if (r.codec != CODEC_NULL) {
            if (codec_decompress(r.codec, b.data, b.size, CODEC_DEFAULT_MAX_BLOCK, &dec, &e) < 0)
                goto done;
            q = dec.data;
            n = dec.len;
        }
        if (datum_each_record(p, q, n, b.count, on_record, &rb, &e) < 0)
            goto done;
    }
    if (k == 0 && flush(&rb, &e) == 0)
        rc = 0;
done:
    bytebuf_free(&dec);
    bytebuf_free(&rb.raw);
    bytebuf_free(&rb.comp);
    datum_free(p);
    if (s)
        avro_schema_decref(s);
    ocf_reader_close(&r);
    return rc;
}

static int other_sample(struct bytebuf *out)
{
    struct ocf_writer w;
    struct err e;
    unsigned char sync[OCF_SYNC_SIZE];
    memset(sync, 0x33, sizeof sync);
    return ocf_writer_open(&w, OTHER_SCHEMA, strlen(OTHER_SCHEMA), CODEC_NULL, sync, buf_sink,
                           out, &e) < 0
        || ocf_writer_block(&w, 1, OTHER_RECORD, sizeof OTHER_RECORD, &e) < 0 ? -1 : 0;
}

static void against_other_schema(const uint8_t *data, size_t size)
{
    struct bytebuf other = {0};
    struct err e;
    int taken = 7;
    if (other_sample(&other) < 0)
        abort();
    struct adopt_set *s = adopt_open(other.data, other.len, "fuzz-other", &e);
    if (!s)
        abort();
    if (adopt_take(s, data, size, "fuzz-source", &taken, &e) < 0 && !strstr(e.msg, "fuzz-source"))
        abort();
    adopt_free(s);

    if (!(s = adopt_open(other.data, other.len, "fuzz-other", &e)))
        abort();
    if (adopt_add(s, data, size, "fuzz-second", &e) == 0) {
        uint64_t n = adopt_left(s) - 1;
        if (adopt_take(s, data, size, "fuzz-source", &taken, &e) < 0 || taken != (n > 0)
            || adopt_left(s) != 1)
            abort();
    } else if (adopt_take(s, data, size, "fuzz-source", &taken, &e) == 0) {
        abort();   /* a set left incomplete must refuse */
    }
    adopt_free(s);
    bytebuf_free(&other);
}

static int count_drained(void *ud, const char *series, size_t n, int64_t time)
{
    (void)time;
    if (series && n > (1u << 20))
        abort();
    ++*(uint64_t *)ud;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    struct err e;
    against_other_schema(data, size);
    struct adopt_set *s = adopt_open(data, size, "fuzz-sample", &e);
    if (!s) {
        if (!strstr(e.msg, "fuzz-sample"))
            abort();
        return 0;
    }
    uint64_t n = adopt_left(s);
    /* draining what is left (everything) calls back once per record */
    uint64_t drained = 0;
    if (adopt_drain_left(s, data, size, "fuzz-sample", count_drained, &drained, &e) < 0 ||
        drained != n || adopt_left(s) != 0)
        abort();
    adopt_free(s);
    if (!(s = adopt_open(data, size, "fuzz-sample", &e)))
        abort();
    int taken = 7;
    if (adopt_take(s, data, size, "fuzz-source", &taken, &e) < 0 || taken != (n > 0)
        || adopt_left(s) != 0)
        abort();
    if (adopt_take(s, data, size, "fuzz-source", &taken, &e) < 0 || taken != 0)
        abort();
    adopt_free(s);

    /* the same records in other blocks and another codec */
    struct bytebuf other = {0};
    if (reblock(data, size, &other) == 0) {
        s = adopt_open(other.data, other.len, "fuzz-reblocked", &e);
        if (!s)
            abort();
        if (adopt_left(s) != n)
            abort();
        if (adopt_take(s, data, size, "fuzz-source", &taken, &e) < 0 || taken != (n > 0)
            || adopt_left(s) != 0)
            abort();
        adopt_free(s);
    }
    bytebuf_free(&other);
    return 0;
}
