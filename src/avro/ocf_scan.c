#include "ocf_scan.h"

#include <string.h>

enum {
    ST_MAGIC,
    ST_META_COUNT,
    ST_META_BSIZE,
    ST_KEY_LEN,
    ST_KEY,
    ST_VAL_LEN,
    ST_VAL,
    ST_HDR_SYNC,
    ST_BLK_COUNT,
    ST_BLK_SIZE,
    ST_BLK_DATA,
    ST_BLK_SYNC,
};

static const char *const WHAT[] = {
    "magic", "metadata map", "metadata block size", "metadata key length", "metadata key",
    "metadata value length", "metadata value", "sync marker", "block record count",
    "block size", "block data", "sync marker after a block",
};

void ocf_scan_init(struct ocf_scan *s, const char *name)
{
    memset(s, 0, sizeof *s);
    s->name = name ? name : "(input)";
    s->state = ST_MAGIC;
}

static int fail(struct ocf_scan *s, struct err *e, const char *what)
{
    s->failed = 1;
    return err_setk(e, ERR_DATA, "%s: offset %llu: %s", s->name,
                    (unsigned long long)s->item_at, what);
}

/* Feeds one byte of a zig-zag varint. 1: *out complete; 0: more needed;
 * -1: longer than 10 bytes or overflowing 64 bits (as ocf_read_long). */
static int varint_byte(struct ocf_scan *s, unsigned char b, int64_t *out)
{
    if (s->shift == 63 && (b & 0xfe))
        return -1;
    s->acc |= (uint64_t)(b & 0x7f) << s->shift;
    if (b & 0x80) {
        s->shift += 7;
        return s->shift < 70 ? 0 : -1;
    }
    *out = (int64_t)((s->acc >> 1) ^ -(s->acc & 1));
    s->acc = 0;
    s->shift = 0;
    return 1;
}

/* The state after a metadata entry, or after a map block's header. */
static int after_meta_entry(struct ocf_scan *s)
{
    return s->meta_left > 0 ? ST_KEY_LEN : ST_META_COUNT;
}

/* Skips up to avail bytes of a metadata key or value, or of a block's data;
 * returns how many. */
static size_t skip_bytes(struct ocf_scan *s, int st, size_t avail)
{
    size_t n = avail;
    if ((uint64_t)n > s->skip)
        n = (size_t)s->skip;
    s->skip -= n;
    if (s->skip == 0) {
        if (st == ST_KEY) {
            s->state = ST_VAL_LEN;
        } else if (st == ST_VAL) {
            s->meta_left--;
            s->state = after_meta_entry(s);
        } else {
            s->state = ST_BLK_SYNC;
        }
    }
    return n;
}

/* Reads the magic or a sync marker, which may arrive in pieces: p[*i..len)
 * is what is left of this feed. */
static int fixed_field(struct ocf_scan *s, int st, const unsigned char *p, size_t len,
                       size_t *i, struct err *e)
{
    static const unsigned char MAGIC[4] = {'O', 'b', 'j', 1};
    size_t need = (st == ST_MAGIC ? 4 : OCF_SYNC_SIZE) - s->fix_len;
    size_t n = len - *i < need ? len - *i : need;
    memcpy(s->fix + s->fix_len, p + *i, n);
    s->fix_len += n;
    *i += n;
    if (n < need)
        return 0;
    s->fix_len = 0;
    if (st == ST_MAGIC) {
        if (memcmp(s->fix, MAGIC, 4) != 0) {
            s->offset += *i;
            return fail(s, e, "not an Avro object container file (bad magic)");
        }
        s->state = ST_META_COUNT;
    } else if (st == ST_HDR_SYNC) {
        memcpy(s->sync, s->fix, OCF_SYNC_SIZE);
        s->have_sync = 1;
        s->header_len = s->offset + *i;
        s->state = ST_BLK_COUNT;
    } else {
        if (memcmp(s->fix, s->sync, OCF_SYNC_SIZE) != 0) {
            s->offset += *i;
            return fail(s, e, "sync marker mismatch after a block");
        }
        s->records += (uint64_t)s->block_count;
        s->blocks++;
        s->state = ST_BLK_COUNT;
    }
    return 0;
}

/* Takes the value v of the varint read in state st: the next state. 1 if v
 * is invalid there. */
static int varint_field(struct ocf_scan *s, int st, int64_t v)
{
    int bad = 0;
    switch (st) {
    case ST_META_COUNT:
        if (v == 0) {
            s->state = ST_HDR_SYNC;
        } else if (v < 0) {
            bad = v == INT64_MIN;
            s->meta_left = -v;
            s->state = ST_META_BSIZE;
        } else {
            s->meta_left = v;
            s->state = ST_KEY_LEN;
        }
        break;
    case ST_META_BSIZE:
        bad = v < 0;
        s->state = after_meta_entry(s);
        break;
    case ST_KEY_LEN:
    case ST_VAL_LEN:
        bad = v < 0;
        s->skip = (uint64_t)v;
        s->state = st == ST_KEY_LEN ? ST_KEY : ST_VAL;
        if (!bad && v == 0) {
            if (st == ST_KEY_LEN) {
                s->state = ST_VAL_LEN;
            } else {
                s->meta_left--;
                s->state = after_meta_entry(s);
            }
        }
        break;
    case ST_BLK_COUNT:
        bad = v < 0 || v > OCF_MAX_BLOCK_COUNT;
        s->block_count = v;
        s->state = ST_BLK_SIZE;
        break;
    case ST_BLK_SIZE:
        bad = v < 0 || v > OCF_MAX_BLOCK_SIZE;
        s->skip = (uint64_t)v;
        s->state = v == 0 ? ST_BLK_SYNC : ST_BLK_DATA;
        break;
    }
    return bad;
}

int ocf_scan_feed(struct ocf_scan *s, const void *data, size_t len, struct err *e)
{
    const unsigned char *p = data;
    if (s->failed)
        return err_setk(e, ERR_DATA, "%s: scan already failed", s->name);
    size_t i = 0;
    while (i < len) {
        int st = s->state;
        if (s->shift == 0 && s->fix_len == 0 && st != ST_KEY && st != ST_VAL && st != ST_BLK_DATA)
            s->item_at = s->offset + i;
        if (st == ST_KEY || st == ST_VAL || st == ST_BLK_DATA) {
            i += skip_bytes(s, st, len - i);
            continue;
        }
        if (st == ST_MAGIC || st == ST_HDR_SYNC || st == ST_BLK_SYNC) {
            if (fixed_field(s, st, p, len, &i, e) < 0)
                return -1;
            continue;
        }
        /* a varint */
        int64_t v = 0;
        int r = varint_byte(s, p[i++], &v);
        if (r < 0) {
            s->offset += i;
            s->failed = 1;
            return err_setk(e, ERR_DATA, "%s: offset %llu: malformed %s", s->name,
                            (unsigned long long)s->item_at, WHAT[st]);
        }
        if (r == 0)
            continue;
        if (varint_field(s, st, v)) {
            s->offset += i;
            s->failed = 1;
            return err_setk(e, ERR_DATA, "%s: offset %llu: invalid %s %lld", s->name,
                            (unsigned long long)s->item_at, WHAT[st], (long long)v);
        }
    }
    s->offset += len;
    return 0;
}

int ocf_scan_end(struct ocf_scan *s, struct err *e)
{
    if (s->failed)
        return err_setk(e, ERR_DATA, "%s: scan already failed", s->name);
    if (s->state == ST_BLK_COUNT && s->shift == 0)
        return 0;
    s->failed = 1;
    return err_setk(e, ERR_DATA, "%s: truncated at byte %llu (in the %s that starts at offset %llu)",
                    s->name, (unsigned long long)s->offset, WHAT[s->state],
                    (unsigned long long)s->item_at);
}
