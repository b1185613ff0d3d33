/* ocf_scan: checks the framing of an Avro object container file fed in
 * pieces of any size (a download as it streams in), in constant memory.
 *
 * It follows what ocf_reader checks at the block level: magic "Obj\x01", the
 * metadata map (keys and values are skipped, not kept), the 16-byte sync
 * marker, then blocks of count (0..2^31-1), byte size (0..2^31-1), data
 * (skipped) and a sync marker equal to the header's. It counts records and
 * blocks. It neither decompresses nor decodes: a block's contents are not
 * checked. Used to re-read a merged object after its upload before the index
 * may name it. Errors (ERR_DATA) name the object and the byte offset. */
#ifndef REPART_OCF_SCAN_H
#define REPART_OCF_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ocf.h"

struct ocf_scan {
    const char *name;          /* for messages; borrowed, must outlive the scan */
    int state;
    uint64_t offset;           /* bytes consumed so far */
    uint64_t item_at;          /* offset where the item being read began */
    /* a varint or a fixed-size field being read */
    uint64_t acc;
    int shift;
    unsigned char fix[OCF_SYNC_SIZE];
    size_t fix_len;
    uint64_t skip;             /* bytes of data still to skip */
    int64_t meta_left;         /* entries left in the current metadata block */
    int64_t block_count;
    int failed;
    /* results */
    unsigned char sync[OCF_SYNC_SIZE];  /* the header's, once read */
    int have_sync;
    uint64_t header_len;       /* bytes of the header, once its sync marker is read */
    uint64_t records, blocks;
};

/* Starts a scan; nothing to free. */
void ocf_scan_init(struct ocf_scan *s, const char *name);

/* Consumes len bytes. 0, or -1 once the framing is wrong (every later call
 * fails too). */
int ocf_scan_feed(struct ocf_scan *s, const void *data, size_t len, struct err *e);

/* 0 if the bytes fed so far end exactly after a complete header or block
 * (a well-formed file), else -1 ("truncated ..."). */
int ocf_scan_end(struct ocf_scan *s, struct err *e);

#endif
