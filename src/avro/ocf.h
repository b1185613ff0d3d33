/* ocf: Avro object container files at the block level (no record decoding).
 *
 * Reader: parses a whole file held in memory: magic "Obj\x01", the metadata
 * map (blocks with a negative count carry a byte size), the 16-byte sync
 * marker; then yields blocks (record count, byte size, pointer to the still
 * compressed bytes), checking each block's trailing sync marker. Every length
 * is checked against the input: truncation, a wrong sync marker, negative or
 * huge counts and sizes, bytes after the last block are errors (ERR_DATA)
 * naming the file and the byte offset. Nothing is allocated from a length
 * read from the file, except the metadata index, bounded by the file size.
 *
 * Writer: header with avro.schema and avro.codec only (in that order), a
 * caller-supplied sync marker, then blocks, all through a sink callback. */
#ifndef REPART_OCF_H
#define REPART_OCF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec.h"
#include "err.h"

#define OCF_SYNC_SIZE 16
/* Java's reader refuses blocks of 2 GiB or more; so do we. */
#define OCF_MAX_BLOCK_SIZE ((int64_t)INT32_MAX)
#define OCF_MAX_BLOCK_COUNT ((int64_t)INT32_MAX)

struct ocf_meta {
    const char *key;     /* points into the input; not NUL-terminated */
    size_t key_len;
    const unsigned char *val;
    size_t val_len;
};

struct ocf_block {
    int64_t count;               /* records in the block (>= 0) */
    const unsigned char *data;   /* block bytes as stored (compressed) */
    size_t size;
    size_t offset;               /* byte offset of the block header in the file */
    size_t data_offset;          /* byte offset of data */
};

struct ocf_reader {
    const char *name;            /* caller's name for messages (not copied) */
    const unsigned char *buf;
    size_t len;
    size_t pos;                  /* next unread byte */
    size_t header_len;           /* bytes up to and including the sync marker */
    unsigned char sync[OCF_SYNC_SIZE];
    const char *schema_json;     /* avro.schema value, points into buf */
    size_t schema_len;
    enum codec_id codec;         /* absent avro.codec = null */
    struct ocf_meta *meta;       /* all metadata entries, in file order */
    size_t n_meta;
    int done;
};

/* Parses the header of the container held in data[0..len). `name` names the
 * file in messages and must outlive the reader, as must `data`. Fails (ERR_DATA)
 * on a bad magic, a malformed metadata map, a missing avro.schema, or a codec
 * other than null/deflate/snappy (message names the codec). On failure
 * nothing needs freeing; on success call ocf_reader_close. */
int ocf_reader_open(struct ocf_reader *r, const char *name, const void *data, size_t len,
                    struct err *e);

/* Next block: returns 1 and fills *b, 0 at a clean end of file (the last sync
 * marker ends exactly at the end of the input), -1 on an error naming the file
 * and offset. After 0 or -1 it keeps returning the same. */
int ocf_reader_next(struct ocf_reader *r, struct ocf_block *b, struct err *e);

/* Frees the metadata index. */
void ocf_reader_close(struct ocf_reader *r);

/* Looks up a metadata value by key; returns 1 and sets val/len, 0 if absent. */
int ocf_reader_meta(const struct ocf_reader *r, const char *key,
                    const unsigned char **val, size_t *len);

/* Reads a whole file into a buffer (*buf grown with realloc as needed and
 * owned by the caller, who frees it; it may be reused across calls: pass the
 * previous buffer and capacity). Files larger than max_size are refused. */
int ocf_read_file(const char *path, size_t max_size, unsigned char **buf, size_t *cap,
                  size_t *len, struct err *e);

/* Same from an open stream (e.g. stdin); `name` for messages. */
int ocf_read_stream(FILE *f, const char *name, size_t max_size, unsigned char **buf,
                    size_t *cap, size_t *len, struct err *e);

/* ---- writer ---- */

/* Receives output bytes in order; returns 0, or -1 to abort (the writer then
 * reports "write failed"). */
typedef int (*ocf_sink_fn)(void *ud, const void *buf, size_t len);

struct ocf_writer {
    ocf_sink_fn sink;
    void *ud;
    unsigned char sync[OCF_SYNC_SIZE];
    enum codec_id codec;
    uint64_t bytes;              /* bytes written so far */
    uint64_t blocks;
    uint64_t records;
};

/* Writes the header: magic, {avro.schema: schema_json, avro.codec: name of
 * codec}, sync. No allocation; nothing to free. */
int ocf_writer_open(struct ocf_writer *w, const char *schema_json, size_t schema_len,
                    enum codec_id codec, const unsigned char sync[OCF_SYNC_SIZE],
                    ocf_sink_fn sink, void *ud, struct err *e);

/* Writes one block: count, size, the (already compressed) data, sync. */
int ocf_writer_block(struct ocf_writer *w, int64_t count, const void *data, size_t size,
                     struct err *e);

/* ---- Avro binary primitives (shared with the other Avro modules) ---- */

/* Decodes a zig-zag varint long at *pos (< len). Returns 0 and advances *pos,
 * or -1 when truncated or longer than 10 bytes. */
int ocf_read_long(const unsigned char *p, size_t len, size_t *pos, int64_t *out);

/* Encodes a long as zig-zag varint into out (>= 10 bytes); returns its length. */
size_t ocf_put_long(unsigned char *out, int64_t v);

#endif
