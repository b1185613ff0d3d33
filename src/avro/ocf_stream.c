#include "ocf_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocf.h"

/* The longest block header: two 10-byte varints. */
#define BLOCK_HEAD_MAX 20

enum st { ST_HEADER, ST_HEAD, ST_DATA, ST_SYNC, ST_FAILED };

struct ocf_stream {
    char *name;
    int keep_data;
    size_t max_block;
    struct ocf_stream_cbs cbs;
    enum st st;
    struct err failed;          /* the error, once ST_FAILED */
    struct err header_err;      /* last header parse error (more bytes may fix it) */

    unsigned char *pend;        /* unconsumed input */
    size_t pend_len, pend_cap, pend_pos;
    uint64_t pend_off;          /* file offset of pend[0] */

    unsigned char sync[OCF_SYNC_SIZE];
    char *schema;
    size_t schema_len;
    enum codec_id codec;

    /* the block in progress */
    int64_t count;
    size_t size, left;
    uint64_t block_off;
    struct bytebuf data;

    uint64_t records, blocks, fed;
};

struct ocf_stream *ocf_stream_new(const char *name, int keep_data, size_t max_block,
                                  const struct ocf_stream_cbs *cbs)
{
    struct ocf_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->name = strdup(name ? name : "(input)");
    if (!s->name) {
        free(s);
        return NULL;
    }
    s->keep_data = keep_data;
    s->max_block = max_block ? max_block : CODEC_DEFAULT_MAX_BLOCK;
    if (cbs)
        s->cbs = *cbs;
    s->st = ST_HEADER;
    return s;
}

void ocf_stream_free(struct ocf_stream *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->pend);
    free(s->schema);
    bytebuf_free(&s->data);
    free(s);
}

uint64_t ocf_stream_records(const struct ocf_stream *s) { return s->records; }
uint64_t ocf_stream_blocks(const struct ocf_stream *s) { return s->blocks; }
uint64_t ocf_stream_bytes(const struct ocf_stream *s) { return s->fed; }

static int fail(struct ocf_stream *s, struct err *e)
{
    s->failed = *e;
    s->st = ST_FAILED;
    return -1;
}

static int failf(struct ocf_stream *s, struct err *e, const char *what, uint64_t off)
{
    err_setk(e, ERR_DATA, "%s: offset %llu: %s", s->name, (unsigned long long)off, what);
    return fail(s, e);
}

static size_t avail(const struct ocf_stream *s)
{
    return s->pend_len - s->pend_pos;
}

static uint64_t pos_off(const struct ocf_stream *s)
{
    return s->pend_off + s->pend_pos;
}

static int try_header(struct ocf_stream *s, int eof, struct err *e)
{
    struct ocf_reader r;
    if (ocf_reader_open(&r, s->name, s->pend, s->pend_len, &s->header_err) != 0) {
        if (eof || s->pend_len >= OCF_STREAM_HEADER_MAX) {
            *e = s->header_err;
            return fail(s, e);
        }
        return 0;   /* perhaps only incomplete: wait for more */
    }
    s->schema = malloc(r.schema_len ? r.schema_len : 1);
    if (!s->schema) {
        ocf_reader_close(&r);
        err_set(e, "%s: out of memory", s->name);
        return fail(s, e);
    }
    memcpy(s->schema, r.schema_json, r.schema_len);
    s->schema_len = r.schema_len;
    s->codec = r.codec;
    memcpy(s->sync, r.sync, OCF_SYNC_SIZE);
    s->pend_pos = r.header_len;
    ocf_reader_close(&r);
    s->st = ST_HEAD;
    if (s->cbs.header && s->cbs.header(s->cbs.ud, s->schema, s->schema_len, s->codec, e) != 0)
        return fail(s, e);
    return 0;
}

/* The steps of run() for a block: 1 done, go on; 0 more bytes needed;
 * -1 failed. */

/* The block's record count and byte size. */
static int step_head(struct ocf_stream *s, int eof, struct err *e)
{
    if (avail(s) == 0)
        return 0;
    size_t p = s->pend_pos;
    int64_t count, size;
    uint64_t at = pos_off(s);
    if (ocf_read_long(s->pend, s->pend_len, &p, &count) < 0 ||
        ocf_read_long(s->pend, s->pend_len, &p, &size) < 0) {
        if (!eof && avail(s) < BLOCK_HEAD_MAX)
            return 0;
        char what[160];
        snprintf(what, sizeof what, "%s block header (%zu stray bytes after the last "
                 "complete block)", eof && avail(s) < BLOCK_HEAD_MAX ? "truncated"
                 : "malformed", avail(s));
        return failf(s, e, what, at);
    }
    if (count < 0 || count > OCF_MAX_BLOCK_COUNT) {
        char what[96];
        snprintf(what, sizeof what, "invalid block record count %lld", (long long)count);
        return failf(s, e, what, at);
    }
    if (size < 0 || size > OCF_MAX_BLOCK_SIZE) {
        char what[96];
        snprintf(what, sizeof what, "invalid block size %lld", (long long)size);
        return failf(s, e, what, at);
    }
    if (s->keep_data && (uint64_t)size > s->max_block) {
        char what[128];
        snprintf(what, sizeof what, "block of %lld bytes is larger than the limit of %zu",
                 (long long)size, s->max_block);
        return failf(s, e, what, at);
    }
    s->pend_pos = p;
    s->count = count;
    s->size = s->left = (size_t)size;
    s->block_off = at;
    s->data.len = 0;
    s->st = ST_DATA;
    return 1;
}

/* The block's bytes, kept or passed over. */
static int step_data(struct ocf_stream *s, int eof, struct err *e)
{
    size_t n = avail(s) < s->left ? avail(s) : s->left;
    if (s->keep_data && n &&
        bytebuf_append(&s->data, s->pend + s->pend_pos, n, e) != 0)
        return fail(s, e);
    s->pend_pos += n;
    s->left -= n;
    if (s->left) {
        if (!eof)
            return 0;
        char what[160];
        snprintf(what, sizeof what, "block of %zu bytes runs past the end of the file "
                 "(%zu bytes of it missing; truncated?)", s->size, s->left);
        return failf(s, e, what, s->block_off);
    }
    s->st = ST_SYNC;
    return 1;
}

/* The sync marker that ends the block; then the block goes to the callback. */
static int step_sync(struct ocf_stream *s, int eof, struct err *e)
{
    if (avail(s) < OCF_SYNC_SIZE) {
        if (!eof)
            return 0;
        char what[160];
        snprintf(what, sizeof what, "truncated sync marker after the block at offset %llu "
                 "(%zu of %d bytes)", (unsigned long long)s->block_off, avail(s), OCF_SYNC_SIZE);
        return failf(s, e, what, pos_off(s));
    }
    if (memcmp(s->pend + s->pend_pos, s->sync, OCF_SYNC_SIZE) != 0) {
        char what[128];
        snprintf(what, sizeof what, "sync marker mismatch after the block at offset %llu",
                 (unsigned long long)s->block_off);
        return failf(s, e, what, pos_off(s));
    }
    s->pend_pos += OCF_SYNC_SIZE;
    s->records += (uint64_t)s->count;
    s->blocks++;
    s->st = ST_HEAD;
    if (s->cbs.block) {
        struct ocf_stream_block b = {
            .count = s->count,
            .data = s->keep_data ? s->data.data : NULL,
            .size = s->size,
            .offset = s->block_off,
        };
        if (s->keep_data && !b.data)
            b.data = (const unsigned char *)"";
        if (s->cbs.block(s->cbs.ud, &b, e) != 0)
            return fail(s, e);
    }
    return 1;
}

/* Runs the state machine over the pending bytes. eof: no more will come. */
static int run(struct ocf_stream *s, int eof, struct err *e)
{
    for (;;) {
        int rc = 1;
        switch (s->st) {
        case ST_FAILED:
            *e = s->failed;
            return -1;
        case ST_HEADER:
            if (try_header(s, eof, e) != 0)
                return -1;
            if (s->st == ST_HEADER)
                return 0;
            break;
        case ST_HEAD:
            rc = step_head(s, eof, e);
            break;
        case ST_DATA:
            rc = step_data(s, eof, e);
            break;
        case ST_SYNC:
            rc = step_sync(s, eof, e);
            break;
        }
        if (rc <= 0)
            return rc;
    }
}

int ocf_stream_feed(struct ocf_stream *s, const void *data, size_t len, struct err *e)
{
    if (s->st == ST_FAILED) {
        *e = s->failed;
        return -1;
    }
    s->fed += len;
    /* drop what was consumed, then append */
    if (s->pend_pos) {
        memmove(s->pend, s->pend + s->pend_pos, s->pend_len - s->pend_pos);
        s->pend_len -= s->pend_pos;
        s->pend_off += s->pend_pos;
        s->pend_pos = 0;
    }
    /* A block's bytes that are not kept need not be copied at all. */
    if (s->st == ST_DATA && !s->keep_data && s->pend_len == 0) {
        size_t n = len < s->left ? len : s->left;
        s->left -= n;
        s->pend_off += n;
        data = (const unsigned char *)data + n;
        len -= n;
    }
    if (len) {
        if (s->pend_len + len > s->pend_cap) {
            size_t cap = s->pend_cap ? s->pend_cap : 65536;
            while (cap < s->pend_len + len)
                cap *= 2;
            unsigned char *p = realloc(s->pend, cap);
            if (!p) {
                err_set(e, "%s: out of memory", s->name);
                return fail(s, e);
            }
            s->pend = p;
            s->pend_cap = cap;
        }
        memcpy(s->pend + s->pend_len, data, len);
        s->pend_len += len;
    }
    return run(s, 0, e);
}

int ocf_stream_finish(struct ocf_stream *s, struct err *e)
{
    if (run(s, 1, e) != 0)
        return -1;
    if (s->st != ST_HEAD || avail(s) != 0) {
        /* run() with eof either consumes everything or fails */
        err_setk(e, ERR_DATA, "%s: offset %llu: unexpected end of file", s->name,
                 (unsigned long long)pos_off(s));
        return fail(s, e);
    }
    return 0;
}
