#include "dayfile.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "layout.h"
#include "log.h"
#include "md5.h"
#include "merge.h"
#include "ocf.h"
#include "ocf_scan.h"

#define REREAD_ATTEMPTS 4

struct dayfile {
    const struct dayfile_env *env;
    char key[1100];
    struct upload *up;
    struct merge *m;
    EVP_MD_CTX *md;             /* of the bytes this process sends: those after the ones
                                   the server copied (upload_copied: 0, or a segment end) */
    EVP_MD_CTX *hmd;            /* of the header, while it is being sent (from offset 0) */
    char sent_header_md5[MD5_HEX_LEN];
    long long sent;
    struct ocf_scan scan;       /* framing of what is sent (after the header read when copied) */
    int scan_failed;
    struct err scan_err;
    long long kept;             /* committed bytes carried over */
    struct md5chain kept_chain; /* theirs, as the index says */
    int copied_segs;            /* segments of it the server copied, each checked by its
                                   copy's ETag; -1: copied whole, unchecked (read back) */
    unsigned long long carried_records;  /* in the committed blocks sent again */
    long long header_len;       /* append: the header the added blocks are for, */
    char header_md5[MD5_HEX_LEN];  /* as read (a ranged GET no checksum covers) */
    int exists;                 /* the object as HEAD saw it when the run began */
    struct s3_object cur;
    struct s3_put_opts put;     /* conditions of the write (borrowed by the upload) */
    unsigned long long kept_records;
    unsigned char sync[OCF_SYNC_SIZE];
};

const char *dayfile_key(const struct dayfile *df)
{
    return df->key;
}

/* Every byte this process sends goes through here (the merge's sink, and
 * the carried committed bytes): hashed, its framing scanned, then uploaded.
 * Sent from offset 0, the header's own MD5 is taken too (the index records
 * it, so that an append can check the header it reads apart). */
static int send_bytes(void *ud, const void *data, size_t len)
{
    struct dayfile *df = ud;
    EVP_DigestUpdate(df->md, data, len);
    int had_header = df->scan.have_sync;
    if (!df->scan_failed && ocf_scan_feed(&df->scan, data, len, &df->scan_err) != 0)
        df->scan_failed = 1;
    if (df->hmd && !had_header) {
        size_t n = len;
        if (df->scan.have_sync)
            n = (size_t)((long long)df->scan.header_len - df->sent);
        EVP_DigestUpdate(df->hmd, data, n);
        if (df->scan.have_sync)
            md5_final_hex(df->hmd, df->sent_header_md5);
    }
    df->sent += (long long)len;
    return upload_sink(df->up, data, len);
}

/* The committed version's bytes from the start of segment `from`, streamed
 * from the object into the new upload; they must be the index's (a version
 * written after the commit and never committed is longer: only its
 * committed prefix is read). */
struct carry {
    struct dayfile *df;
    struct md5chain_check check;
    EVP_MD_CTX *header;         /* of its first header_len bytes (from 0) */
    long long at;
};

static int carry_sink(void *ud, const void *data, size_t len)
{
    struct carry *c = ud;
    md5chain_check_feed(&c->check, data, len);
    if (c->header && c->at < c->df->header_len) {
        long long left = c->df->header_len - c->at;
        EVP_DigestUpdate(c->header, data, left < (long long)len ? (size_t)left : len);
    }
    c->at += (long long)len;
    return send_bytes(c->df, data, len);
}

static int carry_from(struct dayfile *df, const struct index_file *f, int from, struct err *e)
{
    const struct dayfile_env *env = df->env;
    const struct md5chain *kc = &df->kept_chain;
    long long first = md5chain_seg_start(kc, from);
    if (from >= kc->n)
        return 0;       /* all copied */
    struct carry c = {df, {0}, NULL, first};
    int rc = md5chain_check_init(&c.check, kc, from) == 0 &&
                     (first > 0 || (c.header = md5_new()) != NULL)
                 ? 0
                 : err_set(e, "out of memory");
    if (rc == 0)
        rc = s3_get(env->s3, env->cfg->s3.repartitioned.bucket_name, df->key, first,
                    f->size - 1, carry_sink, &c, NULL, e);
    char header[MD5_HEX_LEN] = "";
    md5_final_hex(c.header, header);
    EVP_MD_CTX_free(c.header);
    if (rc != 0) {
        md5chain_check_free(&c.check);
        upload_failed(df->up, e);
        return err_prefix(e, "carrying over the committed %s: ", df->key);
    }
    if (md5chain_check_end(&c.check, df->key, e) != 0) {
        e->kind = ERR_NOT_COMMITTED;
        return err_prefix(e, "not the committed version the index names (another writer "
                          "without locking, or a damaged file: run `repart verify --repair`): ");
    }
    df->carried_records = df->scan.records;
    /* the header read apart (whose schema, codec and sync marker the new
     * blocks follow) must be the one just carried over */
    if (first == 0 && strcmp(header, df->header_md5) != 0)
        return err_setk(e, ERR_TRANSIENT, "%s: the committed header (MD5 %s) is not the header "
                        "this run read (MD5 %s): a damaged transfer", df->key, header,
                        df->header_md5);
    return 0;
}

/* The committed bytes go first. The server copies each committed segment
 * (md5.h) of at least S3's minimum part size, only from the version the
 * index names (its ETag), and the copy's ETag must be the segment's MD5 the
 * index records: every copied byte is checked without reading it. From the
 * first smaller segment on (an earlier append's short tail) the bytes are
 * read, checked and sent again, and become one segment with the new blocks.
 * An index that records no header MD5 (written before chains) or a chain at
 * its longest has the whole version copied unchecked: the new version is
 * read back (dayfile_finish), and its chain starts again as one MD5. */
static int carry_committed(struct dayfile *df, const struct index_file *f, const struct bytebuf *hb,
                           struct err *e)
{
    const char *bucket = df->env->cfg->s3.repartitioned.bucket_name;
    const struct md5chain *kc = &df->kept_chain;
    if (!df->exists || df->cur.size < f->size)
        return err_setk(e, df->exists ? ERR_NOT_COMMITTED : ERR_DATA, "%s: %s, the index committed %lld bytes: run `repart verify "
                        "--repair` for this day", df->key,
                        df->exists ? "shorter than that" : "missing", f->size);
    int copyable = f->size > UPLOAD_COPY_MIN && f->etag[0] && strcmp(df->cur.etag, f->etag) == 0;
    /* every range one part: none over S3's part maximum, none under its
     * minimum but the last (which is carried) */
    /* a KMS-encrypted copy's ETag is no MD5: nothing to check the ranges by */
    int chained = kc->header[0] && kc->n < MD5CHAIN_SEGS_MAX &&
                  df->env->cfg->s3.upload.sse != CONFIG_SSE_KMS;
    for (int i = 0; chained && i < kc->n; i++) {
        long long len = kc->seg[i].end - md5chain_seg_start(kc, i);
        chained = len <= UPLOAD_COPY_PART_MAX && (len >= UPLOAD_COPY_MIN || i + 1 == kc->n);
    }
    if (copyable && !chained) {
        df->copied_segs = -1;
        if (upload_copy(df->up, bucket, df->key, 0, f->size - 1, f->etag, NULL, e) != 0)
            return -1;
    } else if (copyable) {
        /* the header read is the committed one (read_header) */
        int i = 0;
        for (; i < kc->n; i++) {
            long long first = md5chain_seg_start(kc, i);
            if (kc->seg[i].end - first < UPLOAD_COPY_MIN)
                break;
            if (upload_copy(df->up, bucket, df->key, first, kc->seg[i].end - 1, f->etag,
                            kc->seg[i].md5, e) != 0)
                return err_prefix(e, "copying the committed %s: ", df->key);
        }
        df->copied_segs = i;
    }
    /* copied by the server: the scan takes the header as read, then the
     * blocks sent (blocks are self-delimiting) */
    if (upload_copied(df->up) > 0 &&
        ocf_scan_feed(&df->scan, hb->data, hb->len, &df->scan_err) != 0)
        df->scan_failed = 1;
    if (df->copied_segs < 0)
        return 0;
    return carry_from(df, f, df->copied_segs, e);
}

int dayfile_is_committed(const struct index_file *f, const void *data, size_t len)
{
    return md5chain_matches(f->md5, f->size, data, len);
}

/* 1 when the object at key has the index's size and ETag for f. */
static int committed_object(const struct dayfile_env *env, const char *key,
                            const struct index_file *f)
{
    struct s3_object o = {0};
    struct err he = {0};
    return s3_head(env->s3, env->cfg->s3.repartitioned.bucket_name, key, &o, &he) == 0 &&
           o.size == f->size && strcmp(o.etag, f->etag) == 0;
}

int dayfile_read_committed(const struct dayfile_env *env, const struct day *d,
                           const struct index_file *f, struct bytebuf *out, struct err *e)
{
    char key[1100];
    if (layout_data_key(env->cfg, d, LAYOUT_DAYFILE, key, sizeof key) != 0)
        return err_set(e, "data key too long");
    size_t had = out->len;
    if (f->size <= 0)
        return err_setk(e, ERR_DATA, "%s: the index commits no bytes of it", key);
    struct md5chain c;
    if (md5chain_parse(f->md5, f->size, &c, e) != 0)
        return err_prefix(e, "%s: ", key);
    /* bytes that differ from the index's MD5s are read again when the object
     * still has the committed size: a transfer damaged on the way differs
     * once, another version every time. An object of another size is another
     * version (an uncommitted rebuild or append): no second read of it. */
    enum { READS = 3 };
    for (int n = 1;; n++) {
        out->len = had;
        struct s3_get_info info;
        if (s3_get_buffer_range(env->s3, env->cfg->s3.repartitioned.bucket_name, key,
                                0, f->size - 1, out, &info, e) != 0)
            return err_prefix(e, "reading the committed %s: ", key);
        struct md5chain_check k;
        if (md5chain_check_init(&k, &c, 0) != 0)
            return err_set(e, "out of memory");
        md5chain_check_feed(&k, out->data + had, out->len - had);
        if (md5chain_check_end(&k, key, e) == 0)
            return 0;
        if (n == READS && f->etag[0] && committed_object(env, key, f)) {
            /* the object is the committed version (its size and ETag are the
             * index's): the reads were damaged, not another version */
            out->len = had;
            e->kind = ERR_TRANSIENT;
            return err_prefix(e, "reading the committed %s: damaged in %d reads: ", key, n);
        }
        if (n == READS || info.object_size != f->size) {
            out->len = had;
            return err_prefix(e, "not the committed version the index names (%d read%s; "
                              "another writer without locking, or a damaged file: run "
                              "`repart verify --repair`): ", n, n > 1 ? "s" : "");
        }
        log_msg(LOG_DEBUG, NULL, "retry", "%s: the bytes read differ from the index's MD5s; "
                "reading again", key);
    }
}

/* The committed header (the schema, codec and sync marker of the blocks to
 * add), by a ranged GET that no checksum covers: checked against the index's
 * header MD5 when it records one (else against the bytes carried over, or
 * by the read-back), and read again when damaged on its way. */
static int read_header(struct dayfile *df, const struct index_file *f, struct bytebuf *hb,
                       struct err *e)
{
    const char *want = df->kept_chain.header;
    for (int attempt = 1;; attempt++) {
        hb->len = 0;
        if (s3_get_buffer_range(df->env->s3, df->env->cfg->s3.repartitioned.bucket_name,
                                df->key, 0, f->header_len - 1, hb, NULL, e) != 0)
            return err_prefix(e, "reading the header of %s: ", df->key);
        md5_hex(hb->data, hb->len, df->header_md5);
        if (!want[0] || strcmp(df->header_md5, want) == 0)
            return 0;
        /* not the committed version at all (a run stopped after its PUT):
         * reading it again will not help */
        int other = !df->exists || strcmp(df->cur.etag, f->etag) != 0;
        if (other || attempt == REREAD_ATTEMPTS)
            return err_setk(e, other ? ERR_NOT_COMMITTED : ERR_TRANSIENT, "%s: its header (MD5 "
                            "%s) is not the committed header the index names (MD5 %s)%s",
                            df->key, df->header_md5, want,
                            other ? "" : ", read again and again: a damaged transfer");
        log_msg(LOG_WARN, NULL, "append", "%s: its header read (MD5 %s) is not the committed "
                "header the index names (MD5 %s): reading it again (attempt %d of %d)",
                df->key, df->header_md5, want, attempt, REREAD_ATTEMPTS);
    }
}

/* The object as it is now (HEAD) and the upload of its new version: with
 * locking, the new version replaces only the one seen now, so a writer that
 * lost its lease meanwhile cannot overwrite what another committed. */
static int open_upload(struct dayfile *df, struct err *e)
{
    const struct dayfile_env *env = df->env;
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    struct err he = {0};
    if (s3_head(env->s3, bucket, df->key, &df->cur, &he) == 0) {
        df->exists = 1;
    } else if (he.kind != ERR_NOT_FOUND) {
        *e = he;
        return err_prefix(e, "%s: ", df->key);
    }
    df->put.content_type = "avro/binary";
    if (env->locking) {
        if (df->exists)
            df->put.if_match = df->cur.etag;
        else
            df->put.if_none_match = "*";
    }
    df->up = upload_open(env->s3, env->pool, bucket, df->key,
                         (size_t)env->cfg->part_size_mb << 20, env->parts_in_flight, &df->put, e);
    if (!df->up)
        return -1;
    if (env->budget)
        upload_set_budget(df->up, env->budget);
    return 0;
}

/* An append: the committed header gives the schema (*schema, caller frees),
 * codec and sync marker of the blocks to add; the committed bytes go first. */
static int open_append(struct dayfile *df, const struct index *committed,
                       struct merge_options *mo, char **schema, struct err *e)
{
    const struct index_file *f = index_file_find(committed, LAYOUT_DAYFILE);
    if (!f)
        return err_set(e, "%s: the index names no committed version to append to", df->key);
    if (f->header_len <= 0 || f->header_len > (1 << 20))
        return err_setk(e, ERR_DATA, "%s: implausible header length %lld in the index", df->key,
                        f->header_len);
    struct bytebuf hb = {0};
    if (md5chain_parse(f->md5, f->size, &df->kept_chain, e) != 0 ||
        read_header(df, f, &hb, e) != 0) {
        bytebuf_free(&hb);
        return -1;
    }
    struct ocf_reader r;
    int opened = (long long)hb.len == f->header_len &&
                 ocf_reader_open(&r, df->key, hb.data, hb.len, e) == 0;
    if (!opened || (long long)r.header_len != f->header_len) {
        if (opened)
            ocf_reader_close(&r);
        bytebuf_free(&hb);
        if (!e->msg[0])
            err_setk(e, ERR_DATA, "%s: the header is not the %lld bytes the index says",
                     df->key, f->header_len);
        e->kind = ERR_NOT_COMMITTED;
        return err_prefix(e, "the committed day file does not match its index (run verify): ");
    }
    df->header_len = f->header_len;
    *schema = strndup(r.schema_json, r.schema_len);
    mo->codec = r.codec;
    memcpy(df->sync, r.sync, OCF_SYNC_SIZE);
    ocf_reader_close(&r);
    if (!*schema) {
        bytebuf_free(&hb);
        return err_set(e, "out of memory");
    }
    mo->schema_json = *schema;
    mo->continue_at = (uint64_t)f->size;
    mo->continue_header_len = (uint64_t)f->header_len;
    df->kept = f->size;
    df->kept_records = f->records;
    int rc = carry_committed(df, f, &hb, e);
    bytebuf_free(&hb);
    return rc;
}

struct dayfile *dayfile_open(const struct dayfile_env *env, const struct day *d,
                             const struct index *committed, int rebuild,
                             const unsigned char sync[16], const char *rschema, struct err *e)
{
    struct dayfile *df = calloc(1, sizeof *df);
    if (!df) {
        err_set(e, "out of memory");
        return NULL;
    }
    df->env = env;
    const struct config *cfg = env->cfg;
    struct merge_options mo;
    memset(&mo, 0, sizeof mo);
    char *schema = NULL;
    if (layout_data_key(cfg, d, LAYOUT_DAYFILE, df->key, sizeof df->key) != 0) {
        err_set(e, "merged key too long");
        goto fail;
    }
    ocf_scan_init(&df->scan, df->key);
    if (!(df->md = md5_new()) || !(df->hmd = md5_new())) {
        err_set(e, "out of memory");
        goto fail;
    }
    if (open_upload(df, e) != 0)
        goto fail;
    if (rebuild) {
        mo.schema_json = rschema ? rschema : config_base_schema(cfg);
        mo.codec = config_output_codec(cfg);
        memcpy(df->sync, sync, OCF_SYNC_SIZE);
    } else if (open_append(df, committed, &mo, &schema, e) != 0) {
        goto fail;
    }
    memcpy(mo.sync, df->sync, OCF_SYNC_SIZE);
    mo.widen = 1;
    mo.sitewise = 1;
    df->m = merge_open(&mo, send_bytes, df, e);
    free(schema);
    schema = NULL;
    if (!df->m)
        goto fail;
    return df;
fail:
    free(schema);
    dayfile_free(df);
    return NULL;
}

const char *dayfile_wider_schema(const struct dayfile *df)
{
    return df && df->m ? merge_wider_schema(df->m) : NULL;
}

int dayfile_add(struct dayfile *df, const char *name, const void *data, size_t len,
                long long *off, long long *range_len, struct err *e)
{
    struct merge_source_stats st;
    if (merge_add(df->m, name, data, len, &st, e) != 0) {
        upload_failed(df->up, e);
        return -1;
    }
    *off = (long long)st.out_offset;
    *range_len = (long long)st.out_len;
    return 0;
}

/* ---------------------------------------------------------------- re-read */

struct reread {
    struct ocf_scan scan;
    EVP_MD_CTX *md;             /* whole object */
    struct md5chain_check kept; /* [0, kept) against the committed chain */
    EVP_MD_CTX *sent;           /* [sent_from, end) */
    EVP_MD_CTX *header;         /* [0, header_len) */
    long long kept_len;
    long long sent_from;
    long long header_len;
    long long bytes;
    int bad;
    struct err err;
};

static int reread_sink(void *ud, const void *buf, size_t len)
{
    struct reread *r = ud;
    const unsigned char *p = buf;
    size_t skip = 0;
    if (r->bytes < r->sent_from)
        skip = (size_t)(r->sent_from - r->bytes) < len ? (size_t)(r->sent_from - r->bytes) : len;
    if (r->kept_len)
        md5chain_check_feed(&r->kept, p, len);
    if (r->bytes < r->header_len) {
        long long left = r->header_len - r->bytes;
        EVP_DigestUpdate(r->header, p, left < (long long)len ? (size_t)left : len);
    }
    EVP_DigestUpdate(r->sent, p + skip, len - skip);
    r->bytes += (long long)len;
    EVP_DigestUpdate(r->md, buf, len);
    if (ocf_scan_feed(&r->scan, buf, len, &r->err) != 0) {
        r->bad = 1;
        return 1;
    }
    return 0;
}

/* w->md5 holds the MD5 of the bytes sent (after `sent_from`) on the way in,
 * the new version's chain (one MD5 of the whole object, and its header's) on
 * the way out. */
static int reread_once(const struct dayfile *df, struct dayfile_result *w, struct err *e)
{
    const struct dayfile_env *env = df->env;
    const char *key = df->key;
    const unsigned char *sync = df->sync;
    struct reread r;
    memset(&r, 0, sizeof r);
    ocf_scan_init(&r.scan, key);
    r.kept_len = df->kept;
    r.sent_from = upload_copied(df->up);
    r.header_len = w->header_len;
    r.md = md5_new();
    r.sent = md5_new();
    r.header = md5_new();
    struct s3_get_info info;
    memset(&info, 0, sizeof info);
    int ok = r.md && r.sent && r.header &&
             (!r.kept_len || md5chain_check_init(&r.kept, &df->kept_chain, 0) == 0);
    int rc = ok ? s3_get(env->s3, env->cfg->s3.repartitioned.bucket_name, key, -1, -1,
                         reread_sink, &r, &info, e)
                : err_set(e, "out of memory");
    char hex[MD5_HEX_LEN] = "", tail[MD5_HEX_LEN] = "", header[MD5_HEX_LEN] = "";
    md5_final_hex(r.md, hex);
    md5_final_hex(r.sent, tail);
    md5_final_hex(r.header, header);
    EVP_MD_CTX_free(r.md);
    EVP_MD_CTX_free(r.sent);
    EVP_MD_CTX_free(r.header);
    if (rc != 0 && r.bad)
        *e = r.err;
    if (rc == 0 && ocf_scan_end(&r.scan, e) != 0)
        rc = -1;
    if (rc == 0 && r.bytes != w->size)
        rc = err_set(e, "%s has %lld bytes, %lld were written", key, r.bytes, w->size);
    if (r.kept_len && rc == 0)
        rc = md5chain_check_end(&r.kept, key, e);
    else if (r.kept_len)
        md5chain_check_free(&r.kept);
    if (rc == 0 && df->header_len && strcmp(header, df->header_md5) != 0)
        rc = err_set(e, "%s: its header (%lld bytes, MD5 %s) is not the header this run read "
                     "and added blocks for (MD5 %s)", key, df->header_len, header,
                     df->header_md5);
    if (rc == 0 && strcmp(tail, w->md5) != 0)
        rc = err_set(e, "%s: MD5 of the %lld bytes read differs from that of the bytes written",
                     key, r.bytes - r.sent_from);
    if (rc == 0 && memcmp(r.scan.sync, sync, 16) != 0)
        rc = err_set(e, "%s: not the sync marker this run wrote", key);
    if (rc == 0 && r.scan.records != w->records)
        rc = err_set(e, "%s holds %llu records, %llu were written", key,
                     (unsigned long long)r.scan.records, w->records);
    if (rc == 0 && snprintf(w->md5, sizeof w->md5, "%s/%s", hex, header) >= (int)sizeof w->md5)
        rc = err_set(e, "MD5 chain too long");
    /* the index records the ETag of the version just read and checked, not
     * the one the write's answer gave: a read-back runs when that answer's
     * ETag proved nothing, and it may have been damaged on its way (review
     * 21: a flipped digit was committed, switching off the server-side copy
     * of this version until a later run rewrote the day) */
    if (rc == 0 && info.etag[0] && strcmp(info.etag, w->etag) != 0) {
        log_msg(LOG_WARN, NULL, "reread", "%s: its ETag is %s, the upload's answer said %s: "
                "the index records %s", key, info.etag, w->etag, info.etag);
        memcpy(w->etag, info.etag, sizeof w->etag);
    }
    if (rc != 0 && e->kind != ERR_NOT_FOUND && e->kind != ERR_TRANSIENT &&
        e->kind != ERR_CANCELLED)
        e->kind = ERR_DATA;  /* read whole, but not what was written */
    return rc;
}

/* The object must be there, with every byte we produced, before the index
 * may point at it. A mismatch may be the transfer's: the read is tried again. */
static int verify_uploaded(const struct dayfile *df, struct dayfile_result *w, struct err *e)
{
    int rc;
    for (int attempt = 1;; attempt++) {
        rc = reread_once(df, w, e);
        if (rc == 0 || e->kind != ERR_DATA || attempt >= REREAD_ATTEMPTS)
            break;
        log_msg(LOG_WARN, NULL, "reread", "%s (attempt %d of %d)", e->msg, attempt,
                REREAD_ATTEMPTS);
        err_clear(e);
    }
    if (rc != 0) {
        if (e->kind != ERR_NOT_FOUND && e->kind != ERR_CANCELLED)
            e->kind = ERR_TRANSIENT;  /* a rerun uploads it again (a stop: stopped) */
        err_prefix(e, "re-reading the uploaded merged file: ");
    }
    return rc;
}

/* The framing of what this process sent (every block under the sync marker
 * of the header it follows) and its record count, before the object is
 * completed: a file the merge got wrong is never written. Committed blocks
 * sent again after copied ones are counted by the scan, not by the index. */
static int check_produced(struct dayfile *df, unsigned long long records, struct err *e)
{
    if (df->scan_failed || ocf_scan_end(&df->scan, &df->scan_err) != 0) {
        *e = df->scan_err;
        e->kind = ERR_TRANSIENT;
        return err_prefix(e, "the merged file as produced: ");
    }
    unsigned long long want = records;
    if (upload_copied(df->up))
        want = records - df->kept_records + df->carried_records;
    if (memcmp(df->scan.sync, df->sync, OCF_SYNC_SIZE) != 0 || df->scan.records != want)
        return err_setk(e, ERR_TRANSIENT, "%s: the file as produced holds %llu records under "
                        "its sync marker, %llu were written", df->key,
                        df->scan.records + records - want, records);
    return 0;
}

/* The new version's MD5 chain when every byte of it is known without
 * reading it: sent by this process (from offset 0: one MD5 and the header's),
 * or committed segments the server copied, each checked by its copy's ETag,
 * followed by what this process sent as one new segment. 0 and *out filled,
 * or -1 (a prefix copied unchecked: only a read-back knows). */
static int known_chain(const struct dayfile *df, long long size, const char *sent_md5,
                       long long header_len, char *out, size_t n)
{
    long long copied = upload_copied(df->up);
    struct md5chain c;
    memset(&c, 0, sizeof c);
    if (!copied) {
        if (!df->scan.have_sync || (long long)df->scan.header_len != header_len)
            return -1;
        memcpy(c.header, df->sent_header_md5, MD5_HEX_LEN);
    } else if (df->copied_segs > 0 && upload_copies_checked(df->up)) {
        c.n = df->copied_segs;
        memcpy(c.seg, df->kept_chain.seg, (size_t)c.n * sizeof c.seg[0]);
        memcpy(c.header, df->kept_chain.header, MD5_HEX_LEN);
    } else {
        return -1;
    }
    if (size > copied) {
        c.seg[c.n].end = size;
        memcpy(c.seg[c.n].md5, sent_md5, MD5_HEX_LEN);
        c.n++;
    }
    return c.header[0] && md5chain_format(&c, out, n) == 0 ? 0 : -1;
}

int dayfile_finish(struct dayfile *df, struct dayfile_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct merge_stats ms = {0};
    int rc = merge_finish(df->m, &ms, e);
    if (rc == 0)
        rc = check_produced(df, df->kept_records + ms.records_out, e);
    if (rc != 0)
        upload_failed(df->up, e);
    long long bytes = 0;
    if (rc == 0)
        rc = upload_finish(df->up, out->etag, &bytes, e);
    if (rc != 0)
        return -1;
    out->size = bytes;
    md5_final_hex(df->md, out->md5);
    out->records = df->kept_records + ms.records_out;
    out->header_len = (long long)merge_header_len(df->m);
    out->bytes_new = bytes - df->kept;
    out->sources_copied = ms.sources_copied;
    out->sources_reencoded = ms.sources_recoded + ms.sources_resolved;
    if ((uint64_t)bytes != ms.bytes_out)
        return err_set(e, "%s: %lld bytes uploaded, %llu produced", df->key, bytes,
                       (unsigned long long)ms.bytes_out);
    long long copied = upload_copied(df->up);
    out->bytes_sent = bytes - copied;
    /* The server's ETag is the one the parts give (upload_proven), every
     * part sent went with the Content-MD5 of the bytes produced and scanned,
     * and every copied part's ETag was the MD5 the index records for the
     * committed range it copied: the object is what was produced, and its
     * chain is known. Otherwise (a prefix copied unchecked, an ETag that is
     * not an MD5) only reading it tells. */
    char chain[MD5CHAIN_TEXT_MAX];
    const char *why = "the server's ETag is not one its bytes give";
    if (df->env->cfg->read_back == CONFIG_READ_BACK_ALWAYS) {
        why = "read_back: always";
    } else if (known_chain(df, bytes, out->md5, out->header_len, chain, sizeof chain) != 0) {
        why = "its committed prefix was copied unchecked (an index without a header MD5, a "
              "chain at its longest, or copies whose ETags are not MD5s)";
    } else if (upload_proven(df->up)) {
        log_msg(LOG_DEBUG, NULL, "upload", "%s: ETag %s is that of the %lld bytes produced%s; "
                "no read-back", df->key, out->etag, bytes,
                copied ? " and the committed ranges copied" : "");
        memcpy(out->md5, chain, sizeof chain);
        return 0;
    }
    log_msg(LOG_DEBUG, NULL, "upload", "%s: reading it back (%s)", df->key, why);
    return verify_uploaded(df, out, e);
}

void dayfile_free(struct dayfile *df)
{
    if (!df)
        return;
    merge_free(df->m);
    upload_free(df->up);
    EVP_MD_CTX_free(df->md);
    EVP_MD_CTX_free(df->hmd);
    free(df);
}
