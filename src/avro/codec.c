#include "codec.h"

#include <errno.h>
#include <limits.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>


static const char *const names[] = {
    [CODEC_NULL] = "null",
    [CODEC_DEFLATE] = "deflate",
    [CODEC_SNAPPY] = "snappy",
};

int codec_from_name(const char *name, size_t len, enum codec_id *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) {
            *out = (enum codec_id)i;
            return 0;
        }
    }
    return -1;
}

const char *codec_name(enum codec_id c)
{
    if ((unsigned)c < sizeof names / sizeof names[0])
        return names[c];
    return "?";
}

int codec_parse(const char *name, enum codec_id *out, struct err *e)
{
    if (name && codec_from_name(name, strlen(name), out) == 0)
        return 0;
    return err_setk(e, ERR_USAGE,
                    "unsupported codec '%s' (supported: null, deflate, snappy)",
                    name ? name : "");
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* zlib takes uInt lengths; feed it in chunks so size_t inputs are safe. */
#define ZCHUNK ((size_t)1 << 30)

static int inflate_raw(const unsigned char *in, size_t in_len, size_t max_out,
                       struct bytebuf *out, struct err *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK)
        return err_set(e, "deflate: cannot initialise zlib");
    int rc = -1;
    size_t in_left = in_len;
    zs.next_in = (Bytef *)in;
    for (;;) {
        if (zs.avail_in == 0 && in_left > 0) {
            zs.avail_in = (uInt)(in_left < ZCHUNK ? in_left : ZCHUNK);
            in_left -= zs.avail_in;
        }
        if (out->len == out->cap && out->len < max_out) {
            size_t want = out->cap ? out->cap : in_len * 4 + 1024;
            if (want > max_out - out->len)
                want = max_out - out->len;
            if (bytebuf_reserve(out, want, e) < 0)
                goto done;
        }
        size_t room = out->cap - out->len;
        if (room > max_out - out->len)
            room = max_out - out->len;
        if (room > ZCHUNK)
            room = ZCHUNK;
        /* With room == 0 (limit reached) inflate may still find the end of
         * the stream; anything else means the block is too large. */
        zs.next_out = out->data + out->len;
        zs.avail_out = (uInt)room;
        int z = inflate(&zs, Z_NO_FLUSH);
        out->len += room - zs.avail_out;
        if (z == Z_STREAM_END) {
            /* Bytes after the end of the stream are ignored, as Java and
             * Python do: python3-avro writes zlib.compress(data)[2:-1], which
             * leaves 3 bytes of the Adler-32 trailer in every block. */
            rc = 0;
            goto done;
        }
        if (z != Z_OK && z != Z_BUF_ERROR) {
            err_setk(e, ERR_DATA, "deflate: corrupt data (%s)", zs.msg ? zs.msg : "zlib error");
            goto done;
        }
        if (room == 0 || (out->len >= max_out && zs.avail_out == 0 && z == Z_BUF_ERROR)) {
            err_setk(e, ERR_DATA, "deflate: block decompresses to more than %zu bytes", max_out);
            goto done;
        }
        if (z == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0) {
            err_setk(e, ERR_DATA, "deflate: compressed stream is truncated");
            goto done;
        }
    }
done:
    inflateEnd(&zs);
    return rc;
}

static int snappy_dec(const unsigned char *in, size_t in_len, size_t max_out,
                      struct bytebuf *out, struct err *e)
{
    if (in_len < 4)
        return err_setk(e, ERR_DATA, "snappy: block of %zu bytes is shorter than its 4-byte CRC",
                        in_len);
    size_t clen = in_len - 4;
    size_t ulen;
    if (snappy_uncompressed_length((const char *)in, clen, &ulen) != SNAPPY_OK)
        return err_setk(e, ERR_DATA, "snappy: corrupt block (bad length header)");
    if (ulen > max_out)
        return err_setk(e, ERR_DATA, "snappy: block decompresses to %zu bytes, more than the "
                        "limit of %zu", ulen, max_out);
    if (bytebuf_reserve(out, ulen ? ulen : 1, e) < 0)
        return -1;
    size_t got = ulen;
    if (snappy_uncompress((const char *)in, clen, (char *)out->data, &got) != SNAPPY_OK
        || got != ulen)
        return err_setk(e, ERR_DATA, "snappy: corrupt block");
    out->len = ulen;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < ulen;) {
        size_t n = ulen - off < ZCHUNK ? ulen - off : ZCHUNK;
        crc = crc32(crc, out->data + off, (uInt)n);
        off += n;
    }
    uint32_t want = get_be32(in + clen);
    if ((uint32_t)crc != want)
        return err_setk(e, ERR_DATA, "snappy: CRC32 mismatch (block says %08x, data has %08x)",
                        want, (unsigned)(uint32_t)crc);
    return 0;
}

int codec_decompress(enum codec_id c, const void *in, size_t in_len,
                     size_t max_out, struct bytebuf *out, struct err *e)
{
    out->len = 0;
    switch (c) {
    case CODEC_NULL:
        if (in_len > max_out)
            return err_setk(e, ERR_DATA, "block of %zu bytes exceeds the limit of %zu",
                            in_len, max_out);
        return bytebuf_append(out, in, in_len, e);
    case CODEC_DEFLATE:
        return inflate_raw(in, in_len, max_out, out, e);
    case CODEC_SNAPPY:
        return snappy_dec(in, in_len, max_out, out, e);
    }
    return err_set(e, "unknown codec %d", (int)c);
}

static int deflate_raw(int level, const unsigned char *in, size_t in_len,
                       struct bytebuf *out, struct err *e)
{
    if (level < 1 || level > 9)
        level = 6;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return err_set(e, "deflate: cannot initialise zlib");
    int rc = -1;
    if (in_len > ZCHUNK) {
        err_set(e, "deflate: block of %zu bytes is too large", in_len);
        goto done;
    }
    uLong bound = deflateBound(&zs, (uLong)in_len);
    if (bytebuf_reserve(out, bound, e) < 0)
        goto done;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = out->data;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        err_set(e, "deflate: compression failed");
        goto done;
    }
    out->len = bound - zs.avail_out;
    rc = 0;
done:
    deflateEnd(&zs);
    return rc;
}

static int snappy_enc(const unsigned char *in, size_t in_len, struct bytebuf *out,
                      struct err *e)
{
    size_t max = snappy_max_compressed_length(in_len);
    if (bytebuf_reserve(out, max + 4, e) < 0)
        return -1;
    size_t clen = max;
    if (snappy_compress((const char *)in, in_len, (char *)out->data, &clen) != SNAPPY_OK)
        return err_set(e, "snappy: compression failed");
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < in_len;) {
        size_t n = in_len - off < ZCHUNK ? in_len - off : ZCHUNK;
        crc = crc32(crc, in + off, (uInt)n);
        off += n;
    }
    unsigned char *p = out->data + clen;
    p[0] = (unsigned char)(crc >> 24);
    p[1] = (unsigned char)(crc >> 16);
    p[2] = (unsigned char)(crc >> 8);
    p[3] = (unsigned char)crc;
    out->len = clen + 4;
    return 0;
}

int codec_compress(enum codec_id c, int level, const void *in, size_t in_len,
                   struct bytebuf *out, struct err *e)
{
    out->len = 0;
    switch (c) {
    case CODEC_NULL:
        return bytebuf_append(out, in, in_len, e);
    case CODEC_DEFLATE:
        return deflate_raw(level, in, in_len, out, e);
    case CODEC_SNAPPY:
        return snappy_enc(in, in_len, out, e);
    }
    return err_set(e, "unknown codec %d", (int)c);
}
