#include "ocf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char MAGIC[4] = {'O', 'b', 'j', 1};

int ocf_read_long(const unsigned char *p, size_t len, size_t *pos, int64_t *out)
{
    uint64_t v = 0;
    size_t i = *pos;
    for (int shift = 0; shift < 70; shift += 7) {
        if (i >= len)
            return -1;
        unsigned char b = p[i++];
        /* the 10th byte may only hold the top bit of a 64-bit value */
        if (shift == 63 && (b & 0xfe))
            return -1;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pos = i;
            *out = (int64_t)((v >> 1) ^ -(v & 1));
            return 0;
        }
    }
    return -1;
}

size_t ocf_put_long(unsigned char *out, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80) {
        out[n++] = (unsigned char)(z | 0x80);
        z >>= 7;
    }
    out[n++] = (unsigned char)z;
    return n;
}

/* Reads a long that must lie in [0, max]; `what` names it in messages. */
static int read_len(struct ocf_reader *r, const char *what, int64_t max, int64_t *out,
                    struct err *e)
{
    size_t at = r->pos;
    if (ocf_read_long(r->buf, r->len, &r->pos, out) < 0)
        return err_setk(e, ERR_DATA, "%s: offset %zu: truncated or malformed %s",
                        r->name, at, what);
    if (*out < 0 || *out > max)
        return err_setk(e, ERR_DATA, "%s: offset %zu: invalid %s %lld", r->name, at, what,
                        (long long)*out);
    return 0;
}

/* A string/bytes value: length then bytes, all inside the input. */
static int read_bytes(struct ocf_reader *r, const char *what, const unsigned char **p,
                      size_t *n, struct err *e)
{
    size_t at = r->pos;
    int64_t l = 0;
    if (read_len(r, what, INT64_MAX, &l, e) < 0)
        return -1;
    if ((uint64_t)l > r->len - r->pos)
        return err_setk(e, ERR_DATA, "%s: offset %zu: %s of %lld bytes runs past the end of "
                        "the file (%zu bytes left)", r->name, at, what, (long long)l,
                        r->len - r->pos);
    *p = r->buf + r->pos;
    *n = (size_t)l;
    r->pos += (size_t)l;
    return 0;
}

static int key_is(const struct ocf_meta *m, const char *key)
{
    size_t n = strlen(key);
    return m->key_len == n && memcmp(m->key, key, n) == 0;
}

int ocf_reader_meta(const struct ocf_reader *r, const char *key,
                    const unsigned char **val, size_t *len)
{
    for (size_t i = 0; i < r->n_meta; i++) {
        if (key_is(&r->meta[i], key)) {
            *val = r->meta[i].val;
            *len = r->meta[i].val_len;
            return 1;
        }
    }
    return 0;
}

static int parse_meta(struct ocf_reader *r, struct err *e)
{
    size_t cap = 0;
    for (;;) {
        size_t at = r->pos;
        int64_t count;
        if (ocf_read_long(r->buf, r->len, &r->pos, &count) < 0)
            return err_setk(e, ERR_DATA, "%s: offset %zu: truncated metadata map", r->name, at);
        if (count == 0)
            break;
        size_t block_end = 0;
        if (count < 0) {
            /* negative count: a byte size follows (allows skipping the block) */
            if (count == INT64_MIN)
                return err_setk(e, ERR_DATA, "%s: offset %zu: invalid metadata block count",
                                r->name, at);
            count = -count;
            int64_t bsize = 0;
            if (read_len(r, "metadata block size", INT64_MAX, &bsize, e) < 0)
                return -1;
            if ((uint64_t)bsize > r->len - r->pos)
                return err_setk(e, ERR_DATA, "%s: offset %zu: metadata block size %lld runs "
                                "past the end of the file", r->name, at, (long long)bsize);
            block_end = r->pos + (size_t)bsize;
        }
        /* each entry takes at least two bytes: bounds the allocation */
        if ((uint64_t)count > (r->len - r->pos) / 2)
            return err_setk(e, ERR_DATA, "%s: offset %zu: metadata block count %lld exceeds "
                            "what the file can hold", r->name, at, (long long)count);
        if (r->n_meta + (size_t)count > cap) {
            size_t ncap = r->n_meta + (size_t)count;
            struct ocf_meta *m = realloc(r->meta, ncap * sizeof *m);
            if (!m)
                return err_set(e, "%s: out of memory", r->name);
            r->meta = m;
            cap = ncap;
        }
        for (int64_t i = 0; i < count; i++) {
            struct ocf_meta m;
            const unsigned char *k;
            size_t entry_at = r->pos;
            if (read_bytes(r, "metadata key", &k, &m.key_len, e) < 0
                || read_bytes(r, "metadata value", &m.val, &m.val_len, e) < 0)
                return -1;
            m.key = (const char *)k;
            for (size_t j = 0; j < r->n_meta; j++)
                if (r->meta[j].key_len == m.key_len && memcmp(r->meta[j].key, k, m.key_len) == 0)
                    return err_setk(e, ERR_DATA, "%s: offset %zu: duplicate metadata key '%.*s'",
                                    r->name, entry_at, (int)(m.key_len > 64 ? 64 : m.key_len),
                                    m.key);
            r->meta[r->n_meta++] = m;
        }
        if (block_end && r->pos != block_end)
            return err_setk(e, ERR_DATA, "%s: offset %zu: metadata block size does not match "
                            "its entries", r->name, at);
    }
    return 0;
}

int ocf_reader_open(struct ocf_reader *r, const char *name, const void *data, size_t len,
                    struct err *e)
{
    memset(r, 0, sizeof *r);
    r->name = name ? name : "(input)";
    r->buf = data;
    r->len = len;
    if (len < 4 || memcmp(r->buf, MAGIC, 3) != 0)
        return err_setk(e, ERR_DATA, "%s: offset 0: not an Avro object container file "
                        "(bad magic)", r->name);
    if (r->buf[3] != 1)
        return err_setk(e, ERR_DATA, "%s: offset 3: unsupported Avro container version %u "
                        "(magic Obj\\x%02x; only Obj\\x01 is supported)", r->name,
                        r->buf[3], r->buf[3]);
    r->pos = 4;
    if (parse_meta(r, e) < 0)
        goto fail;
    if (r->len - r->pos < OCF_SYNC_SIZE) {
        err_setk(e, ERR_DATA, "%s: offset %zu: truncated header (sync marker)", r->name, r->pos);
        goto fail;
    }
    memcpy(r->sync, r->buf + r->pos, OCF_SYNC_SIZE);
    r->pos += OCF_SYNC_SIZE;
    r->header_len = r->pos;

    const unsigned char *v;
    size_t vl;
    if (!ocf_reader_meta(r, "avro.schema", &v, &vl) || vl == 0) {
        err_setk(e, ERR_DATA, "%s: header has no avro.schema", r->name);
        goto fail;
    }
    r->schema_json = (const char *)v;
    r->schema_len = vl;
    r->codec = CODEC_NULL;
    if (ocf_reader_meta(r, "avro.codec", &v, &vl)) {
        if (codec_from_name((const char *)v, vl, &r->codec) < 0) {
            /* print the name only if it is short printable text */
            int printable = vl <= 64;
            for (size_t i = 0; printable && i < vl; i++)
                if (v[i] < 0x20 || v[i] > 0x7e)
                    printable = 0;
            err_setk(e, ERR_DATA, "%s: unsupported codec '%.*s' (supported: null, deflate, "
                     "snappy)", r->name, printable ? (int)vl : 1, printable ? (const char *)v : "?");
            goto fail;
        }
    }
    return 0;
fail:
    ocf_reader_close(r);
    return -1;
}

int ocf_reader_next(struct ocf_reader *r, struct ocf_block *b, struct err *e)
{
    if (r->done)
        return r->done > 0 ? 0 : err_setk(e, ERR_DATA, "%s: reader already failed", r->name);
    if (r->pos == r->len) {
        r->done = 1;
        return 0;
    }
    size_t at = r->pos;
    int64_t count, size;
    if (ocf_read_long(r->buf, r->len, &r->pos, &count) < 0
        || ocf_read_long(r->buf, r->len, &r->pos, &size) < 0) {
        r->done = -1;
        return err_setk(e, ERR_DATA, "%s: offset %zu: truncated block header (%zu stray bytes "
                        "after the last complete block)", r->name, at, r->len - at);
    }
    if (count < 0 || count > OCF_MAX_BLOCK_COUNT) {
        r->done = -1;
        return err_setk(e, ERR_DATA, "%s: offset %zu: invalid block record count %lld", r->name,
                        at, (long long)count);
    }
    if (size < 0 || size > OCF_MAX_BLOCK_SIZE) {
        r->done = -1;
        return err_setk(e, ERR_DATA, "%s: offset %zu: invalid block size %lld", r->name, at,
                        (long long)size);
    }
    size_t left = r->len - r->pos;
    if ((uint64_t)size > left) {
        r->done = -1;
        return err_setk(e, ERR_DATA, "%s: offset %zu: block of %lld bytes runs past the end of "
                        "the file (%zu bytes left; truncated?)", r->name, at, (long long)size,
                        left);
    }
    b->count = count;
    b->size = (size_t)size;
    b->offset = at;
    b->data_offset = r->pos;
    b->data = r->buf + r->pos;
    r->pos += (size_t)size;
    left = r->len - r->pos;
    if (left < OCF_SYNC_SIZE) {
        r->done = -1;
        return err_setk(e, ERR_DATA, "%s: offset %zu: truncated sync marker after the block at "
                        "offset %zu (%zu of 16 bytes)", r->name, r->pos, at, left);
    }
    if (memcmp(r->buf + r->pos, r->sync, OCF_SYNC_SIZE) != 0) {
        r->done = -1;
        return err_setk(e, ERR_DATA, "%s: offset %zu: sync marker mismatch after the block at "
                        "offset %zu", r->name, r->pos, at);
    }
    r->pos += OCF_SYNC_SIZE;
    return 1;
}

void ocf_reader_close(struct ocf_reader *r)
{
    free(r->meta);
    r->meta = NULL;
    r->n_meta = 0;
}

int ocf_read_stream(FILE *f, const char *name, size_t max_size, unsigned char **buf,
                    size_t *cap, size_t *len, struct err *e)
{
    size_t n = 0;
    for (;;) {
        if (n == *cap) {
            if (*cap > max_size)
                return err_setk(e, ERR_DATA, "%s: larger than the limit of %zu bytes", name,
                                max_size);
            size_t ncap = *cap ? *cap * 2 : 65536;
            if (ncap > max_size + 1)
                ncap = max_size + 1;
            unsigned char *p = realloc(*buf, ncap);
            if (!p)
                return err_set(e, "%s: out of memory", name);
            *buf = p;
            *cap = ncap;
        }
        size_t got = fread(*buf + n, 1, *cap - n, f);
        n += got;
        if (n > max_size)
            return err_setk(e, ERR_DATA, "%s: larger than the limit of %zu bytes", name,
                            max_size);
        if (got == 0) {
            if (ferror(f))
                return err_set(e, "%s: read error", name);
            break;
        }
    }
    *len = n;
    return 0;
}

int ocf_read_file(const char *path, size_t max_size, unsigned char **buf, size_t *cap,
                  size_t *len, struct err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int en = errno;
        close(fd);
        return err_set(e, "%s: cannot stat: %s", path, strerror(en));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return err_setk(e, ERR_DATA, "%s: %lld bytes, larger than the limit of %zu", path,
                        (long long)st.st_size, max_size);
    }
    size_t want = (size_t)st.st_size;
    if (want + 1 > *cap) {
        /* one spare byte lets us notice a file that grew while reading */
        unsigned char *p = realloc(*buf, want + 1);
        if (!p) {
            close(fd);
            return err_set(e, "%s: out of memory (%zu bytes)", path, want + 1);
        }
        *buf = p;
        *cap = want + 1;
    }
    size_t n = 0;
    while (n < want + 1) {
        ssize_t got = read(fd, *buf + n, want + 1 - n);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            int en = errno;
            close(fd);
            return err_set(e, "%s: read error: %s", path, strerror(en));
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (n != want)
        return err_set(e, "%s: file changed size while being read", path);
    *len = n;
    return 0;
}

/* ---- writer ---- */

static int emit(struct ocf_writer *w, const void *p, size_t n, struct err *e)
{
    if (n == 0)
        return 0;
    if (w->sink(w->ud, p, n) != 0)
        return err_set(e, "write failed after %llu bytes of output",
                       (unsigned long long)w->bytes);
    w->bytes += n;
    return 0;
}

static size_t put_str(unsigned char *out, const char *s, size_t n)
{
    size_t k = ocf_put_long(out, (int64_t)n);
    memcpy(out + k, s, n);
    return k + n;
}

int ocf_writer_open(struct ocf_writer *w, const char *schema_json, size_t schema_len,
                    enum codec_id codec, const unsigned char sync[OCF_SYNC_SIZE],
                    ocf_sink_fn sink, void *ud, struct err *e)
{
    memset(w, 0, sizeof *w);
    w->sink = sink;
    w->ud = ud;
    w->codec = codec;
    memcpy(w->sync, sync, OCF_SYNC_SIZE);
    if (!schema_json || schema_len == 0)
        return err_set(e, "output schema is empty");
    unsigned char head[64];
    size_t n = 0;
    memcpy(head, MAGIC, 4);
    n = 4;
    n += ocf_put_long(head + n, 2);
    n += put_str(head + n, "avro.schema", 11);
    n += ocf_put_long(head + n, (int64_t)schema_len);
    if (emit(w, head, n, e) < 0 || emit(w, schema_json, schema_len, e) < 0)
        return -1;
    const char *cn = codec_name(codec);
    n = put_str(head, "avro.codec", 10);
    n += put_str(head + n, cn, strlen(cn));
    n += ocf_put_long(head + n, 0);
    memcpy(head + n, w->sync, OCF_SYNC_SIZE);
    n += OCF_SYNC_SIZE;
    return emit(w, head, n, e);
}

int ocf_writer_block(struct ocf_writer *w, int64_t count, const void *data, size_t size,
                     struct err *e)
{
    unsigned char head[20];
    size_t n = ocf_put_long(head, count);
    n += ocf_put_long(head + n, (int64_t)size);
    if (emit(w, head, n, e) < 0 || emit(w, data, size, e) < 0
        || emit(w, w->sync, OCF_SYNC_SIZE, e) < 0)
        return -1;
    w->blocks++;
    w->records += (uint64_t)count;
    return 0;
}
