/* libFuzzer target: ocf_scan (the streaming framing check of an uploaded
 * merged file, src/avro/ocf_scan.h) against ocf_reader on the same bytes.
 * Oracles: nothing crashes; the result does not depend on how the input is
 * cut into pieces (whole, then pieces of 1..37 bytes, by the input size);
 * whatever ocf_reader reads to a clean end, ocf_scan accepts with the same
 * records, blocks and sync marker.
 * Seeds: tests/data/avro (see tests/fuzz/fuzz_ocf_scan.seeds). */
#include <stdint.h>
#include <string.h>

#include "ocf.h"
#include "ocf_scan.h"

static int scan(const uint8_t *d, size_t n, size_t piece, struct ocf_scan *s)
{
    struct err e = {0};
    ocf_scan_init(s, "fuzz");
    for (size_t off = 0; off < n; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        if (ocf_scan_feed(s, d + off, k, &e) != 0) {
            if (e.kind != ERR_DATA || !e.msg[0])
                __builtin_trap();
            return -1;
        }
    }
    return ocf_scan_end(s, &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t piece = size % 37 + 1;
    struct ocf_scan a, b;
    int ra = scan(data, size, size ? size : 1, &a);
    int rb = scan(data, size, piece, &b);
    if (ra != rb || (ra == 0 && (a.records != b.records || a.blocks != b.blocks)))
        __builtin_trap();

    struct ocf_reader r;
    struct err e = {0};
    if (ocf_reader_open(&r, "fuzz", data, size, &e) != 0)
        return 0;
    uint64_t records = 0, blocks = 0;
    struct ocf_block blk;
    int rc;
    while ((rc = ocf_reader_next(&r, &blk, &e)) == 1) {
        records += (uint64_t)blk.count;
        blocks++;
    }
    if (rc == 0 && (ra != 0 || a.records != records || a.blocks != blocks ||
                    memcmp(a.sync, r.sync, OCF_SYNC_SIZE) != 0))
        __builtin_trap();
    ocf_reader_close(&r);
    return 0;
}
