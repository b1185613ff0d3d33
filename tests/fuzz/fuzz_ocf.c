/* libFuzzer target: the container reader and merge_add on arbitrary bytes.
 *
 * Each input is read block by block, then merged three ways into a memory
 * sink: block copy (the source's own codec and schema), re-encoded (another
 * codec, every record checked) and resolved into a fixed schema through Avro
 * C. Oracles: nothing crashes or leaks (ASan/UBSan); every block lies inside
 * the input; a failed merge_add writes nothing; and an output produced by a
 * fully checked path passes a full re-check itself.
 * Seeds: tests/data/avro (see tests/fuzz/fuzz_ocf.seeds). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "ocf.h"

/* A Weather-like schema with added fields (defaults) so that resolution
 * from the weather seeds exercises defaults, promotion and dropped fields. */
static const char RESOLVE_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Weather\",\"namespace\":\"test\",\"fields\":["
    "{\"name\":\"station\",\"type\":\"string\"},{\"name\":\"time\",\"type\":\"long\"},"
    "{\"name\":\"temp\",\"type\":\"double\"},"
    "{\"name\":\"extra\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"n\",\"type\":{\"type\":\"array\",\"items\":\"int\"},\"default\":[1,2]}]}";

#define OUT_CAP (4u << 20)

struct mem {
    unsigned char *buf;
    size_t len, cap;
};

static int mem_sink(void *ud, const void *p, size_t n)
{
    struct mem *m = ud;
    if (n > OUT_CAP - m->len)
        return -1;
    if (n > m->cap - m->len) {
        size_t nc = m->cap ? m->cap : 4096;
        while (nc - m->len < n)
            nc *= 2;
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

static void recheck(const struct mem *out)
{
    struct merge_options o = {.codec = CODEC_NULL, .verify = MERGE_VERIFY_FULL,
                              .max_block = 1u << 20};
    struct err e;
    struct mem sink = {0};
    struct merge *m = merge_open(&o, mem_sink, &sink, &e);
    if (!m)
        abort();
    if (merge_add(m, "output", out->buf, out->len, NULL, &e) < 0)
        abort();   /* we wrote something we cannot read back */
    merge_free(m);
    free(sink.buf);
}

static void run(const uint8_t *data, size_t size, const char *schema, int other_codec,
                enum merge_verify verify)
{
    struct ocf_reader r;
    struct err e;
    enum codec_id codec = CODEC_NULL;
    if (ocf_reader_open(&r, "fuzz", data, size, &e) == 0) {
        codec = r.codec;
        ocf_reader_close(&r);
    }
    if (other_codec)
        codec = codec == CODEC_SNAPPY ? CODEC_DEFLATE : CODEC_SNAPPY;
    struct merge_options o = {.schema_json = schema, .codec = codec, .verify = verify,
                              .max_block = 1u << 20, .block_target = 4096};
    memset(o.sync, 0x42, sizeof o.sync);
    struct mem out = {0};
    struct merge *m = merge_open(&o, mem_sink, &out, &e);
    if (!m)
        abort();
    struct merge_source_stats st;
    int rc = merge_add(m, "fuzz", data, size, &st, &e);
    if (rc < 0) {
        if (out.len != 0 || strstr(e.msg, "fuzz") == NULL)
            abort();   /* a bad source must leave no trace and be named */
    }
    int frc = merge_finish(m, NULL, &e);
    merge_free(m);
    /* outputs of fully checked paths must read back fully */
    if (rc == 0 && frc == 0 && (verify == MERGE_VERIFY_FULL || st.mode != MERGE_COPIED))
        recheck(&out);
    free(out.buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    /* the reader alone: blocks lie inside the input */
    struct ocf_reader r;
    struct err e;
    if (ocf_reader_open(&r, "fuzz", data, size, &e) == 0) {
        struct ocf_block b;
        int rc;
        while ((rc = ocf_reader_next(&r, &b, &e)) == 1) {
            if (b.data < data || b.size > size || b.data + b.size > data + size || b.count < 0)
                abort();
        }
        if (rc == 0 && r.pos != size)
            abort();
        ocf_reader_close(&r);
    }
    run(data, size, NULL, 0, MERGE_VERIFY_AUTO);     /* block copy */
    run(data, size, NULL, 0, MERGE_VERIFY_FULL);     /* block copy, checked */
    run(data, size, NULL, 1, MERGE_VERIFY_AUTO);     /* re-encoded */
    run(data, size, RESOLVE_SCHEMA, 0, MERGE_VERIFY_AUTO);   /* Avro C resolution */
    return 0;
}
