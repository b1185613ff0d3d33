/* codec: Avro container block codecs (null, deflate, snappy).
 *
 * Avro C 1.11.1 neither caps decompressed sizes nor checks short snappy
 * blocks, so every block is decoded here, with limits, before Avro C ever
 * sees its bytes. Deflate is raw RFC 1951 (no zlib header); a snappy block is
 * the compressed data followed by the big-endian CRC32 of the uncompressed
 * data, which is verified. */
#ifndef REPART_CODEC_H
#define REPART_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "err.h"

enum codec_id {
    CODEC_NULL = 0,
    CODEC_DEFLATE,
    CODEC_SNAPPY,
};

/* Default cap on one decompressed block (Avro writers use blocks of 16 KiB to
 * a few MiB; SiteWise's are far smaller). */
#define CODEC_DEFAULT_MAX_BLOCK (64u * 1024 * 1024)


/* Looks up a codec by its avro.codec name (not NUL-terminated: `len` bytes).
 * Returns 0 and sets *out, or -1 when the name is not one of null, deflate,
 * snappy (e.g. zstandard, bzip2, xz). */
int codec_from_name(const char *name, size_t len, enum codec_id *out);

/* The avro.codec name ("null", "deflate", "snappy"). */
const char *codec_name(enum codec_id c);

/* Parses a codec name from configuration/CLI; on failure fills e
 * (ERR_USAGE) naming the supported codecs. */
int codec_parse(const char *name, enum codec_id *out, struct err *e);

/* Decompresses one block into out (out->len is reset to 0 first; its buffer is
 * reused). Fails with ERR_DATA when the data is corrupt, a snappy CRC does not
 * match, or the output would exceed max_out bytes. For CODEC_NULL the input is
 * copied (callers avoid that by using the input directly). The message says
 * what is wrong; the caller prefixes file and offset. */
int codec_decompress(enum codec_id c, const void *in, size_t in_len,
                     size_t max_out, struct bytebuf *out, struct err *e);

/* Compresses one block into out (out->len reset to 0 first). `level` is the
 * deflate level 1..9 (ignored otherwise; 0 or out of range means 6). */
int codec_compress(enum codec_id c, int level, const void *in, size_t in_len,
                   struct bytebuf *out, struct err *e);

#endif
