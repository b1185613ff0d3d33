/* ocf_stream: an Avro object container file read as a stream of bytes, at
 * the block level (no record decoding), in bounded memory.
 *
 * ocf.h's reader wants the whole file in memory; `verify` reads merged files
 * of a day (up to GBs) straight from a GET, so this scanner is fed the bytes
 * as they arrive and reports each block (record count, size, offset). Memory
 * is the header (at most OCF_STREAM_HEADER_MAX) plus the bytes of one network
 * chunk; with keep_data, also one block (at most max_block bytes).
 *
 * The header is parsed by ocf_reader_open (same checks, same messages); the
 * blocks get the same checks as ocf_reader_next: counts and sizes in range,
 * every block followed by the header's sync marker, a clean end exactly after
 * a sync marker. Errors are ERR_DATA and read "<name>: offset N: what". */
#ifndef REPART_OCF_STREAM_H
#define REPART_OCF_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

#define OCF_STREAM_HEADER_MAX (1u << 20)

struct ocf_stream_block {
    int64_t count;
    const unsigned char *data;   /* the block as stored (compressed); NULL unless keep_data */
    size_t size;
    uint64_t offset;             /* of the block's header (count) in the file */
};

struct ocf_stream_cbs {
    /* Called once the header is parsed (may be NULL). schema_json is not
     * NUL-terminated and valid until ocf_stream_free. Return -1 (filling e)
     * to stop. */
    int (*header)(void *ud, const char *schema_json, size_t schema_len, enum codec_id codec,
                  struct err *e);
    /* Called for every block after its sync marker checked out (may be NULL).
     * Return -1 (filling e) to stop. */
    int (*block)(void *ud, const struct ocf_stream_block *b, struct err *e);
    void *ud;
};

struct ocf_stream;

/* `name` names the file in messages (copied). keep_data: hand every block's
 * bytes to the block callback (blocks larger than max_block are then an
 * error; 0 = CODEC_DEFAULT_MAX_BLOCK). cbs may be NULL. Returns NULL on OOM.
 * Free with ocf_stream_free. */
struct ocf_stream *ocf_stream_new(const char *name, int keep_data, size_t max_block,
                                  const struct ocf_stream_cbs *cbs);

/* Feeds the next bytes. After an error every later call fails again with
 * the same message. */
int ocf_stream_feed(struct ocf_stream *s, const void *data, size_t len, struct err *e);

/* End of input: fails unless the input ended right after a block's sync
 * marker (or after the header, for a file without blocks). */
int ocf_stream_finish(struct ocf_stream *s, struct err *e);

/* Totals so far. */
uint64_t ocf_stream_records(const struct ocf_stream *s);
uint64_t ocf_stream_blocks(const struct ocf_stream *s);
uint64_t ocf_stream_bytes(const struct ocf_stream *s);    /* bytes fed */

void ocf_stream_free(struct ocf_stream *s);

#endif
