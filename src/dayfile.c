#include "dayfile.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
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
                                   the server copied (upload_copied: 0, or `kept`) */
    struct ocf_scan scan;       /* framing of what is sent (after the header read when copied) */
    int scan_failed;
    struct err scan_err;
    long long kept;             /* committed bytes carried over */
    char kept_md5[33];          /* theirs, as the index says */
    long long header_len;       /* append: the header the added blocks are for, */
    char header_md5[33];        /* as read (a ranged GET no checksum covers) */
    int exists;                 /* the object as HEAD saw it when the run began */
    struct s3_object cur;
    struct s3_put_opts put;     /* conditions of the write (borrowed by the upload) */
    unsigned long long kept_records;
    unsigned char sync[OCF_SYNC_SIZE];
    struct err sink_err;
};

int dayfile_data_key(const struct config *cfg, const struct day *d, const char *name, char *buf,
                     size_t size)
{
    char part[DAY_PARTITION_MAX];
    int n = snprintf(buf, size, "%s%s%s", cfg->s3.repartitioned.data_prefix,
                     day_partition(d, part), name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

const char *dayfile_key(const struct dayfile *df)
{
    return df->key;
}

/* Every byte this process sends goes through here (the merge's sink, and
 * the carried committed bytes): hashed, its framing scanned, then uploaded. */
static int send_bytes(void *ud, const void *data, size_t len)
{
    struct dayfile *df = ud;
    EVP_DigestUpdate(df->md, data, len);
    if (!df->scan_failed && ocf_scan_feed(&df->scan, data, len, &df->scan_err) != 0)
        df->scan_failed = 1;
    return upload_sink(df->up, data, len);
}

static void md5_hex(EVP_MD_CTX *md, char out[33])
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(md, buf, &n);
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
}

/* The committed version's bytes, streamed from the object into the new
 * upload; their MD5 must be the index's (a version written after the
 * commit and never committed is longer: only its committed prefix is read). */
struct carry {
    struct dayfile *df;
    EVP_MD_CTX *md;
    EVP_MD_CTX *header;         /* of its first header_len bytes */
    long long at;
};

static int carry_sink(void *ud, const void *data, size_t len)
{
    struct carry *c = ud;
    EVP_DigestUpdate(c->md, data, len);
    if (c->at < c->df->header_len) {
        long long left = c->df->header_len - c->at;
        EVP_DigestUpdate(c->header, data, left < (long long)len ? (size_t)left : len);
    }
    c->at += (long long)len;
    return send_bytes(c->df, data, len);
}

/* Small committed versions are carried over through this process (and
 * checked against the index's MD5 right away); from S3's minimum part size
 * on, the server copies them (UploadPartCopy, only from the version HEAD
 * saw) and the read-back checks them. */
static int carry_committed(struct dayfile *df, const struct index_file *f, struct err *e)
{
    const struct dayfile_env *env = df->env;
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    if (!df->exists || df->cur.size < f->size)
        return err_setk(e, df->exists ? ERR_NOT_COMMITTED : ERR_DATA, "%s: %s, the index committed %lld bytes: run `repart verify "
                        "--repair` for this day", df->key,
                        df->exists ? "shorter than that" : "missing", f->size);
    /* S3 copies a range only of objects over 5 MiB, and only the version
     * the index names is copied unseen (its ETag); anything else (an
     * uncommitted tail after it) is read and checked first */
    if (f->size > UPLOAD_COPY_MIN && f->etag[0] && strcmp(df->cur.etag, f->etag) == 0)
        return upload_copy(df->up, bucket, df->key, 0, f->size - 1, f->etag, e);
    struct carry c = {df, EVP_MD_CTX_new(), EVP_MD_CTX_new(), 0};
    int rc = c.md && c.header && EVP_DigestInit_ex(c.md, EVP_md5(), NULL) &&
                     EVP_DigestInit_ex(c.header, EVP_md5(), NULL)
                 ? 0
                 : err_set(e, "out of memory");
    if (rc == 0)
        rc = s3_get(env->s3, bucket, df->key, 0, f->size - 1, carry_sink, &c, NULL, e);
    char hex[33] = "", header[33] = "";
    if (c.md)
        md5_hex(c.md, hex);
    if (c.header)
        md5_hex(c.header, header);
    EVP_MD_CTX_free(c.md);
    EVP_MD_CTX_free(c.header);
    if (rc != 0) {
        upload_failed(df->up, e);
        return err_prefix(e, "carrying over the committed %s: ", df->key);
    }
    if (strcmp(hex, f->md5) != 0)
        return err_setk(e, ERR_NOT_COMMITTED, "%s: its first %lld bytes are not the committed "
                        "version the index names (MD5 %s, index %s); another writer without "
                        "locking, or a "
                        "damaged file: run `repart verify --repair`", df->key, f->size, hex,
                        f->md5);
    /* the header read apart (whose schema, codec and sync marker the new
     * blocks follow) must be the one just carried over */
    if (strcmp(header, df->header_md5) != 0)
        return err_setk(e, ERR_TRANSIENT, "%s: the committed header (MD5 %s) is not the header "
                        "this run read (MD5 %s): a damaged transfer", df->key, header,
                        df->header_md5);
    return 0;
}

static void buf_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    out[0] = '\0';
    if (EVP_Digest(data, len, md, &n, EVP_md5(), NULL))
        for (unsigned i = 0; i < 16 && i < n; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int dayfile_is_committed(const struct index_file *f, const void *data, size_t len)
{
    char hex[33];
    buf_md5_hex(data, len, hex);
    return (long long)len == f->size && strcmp(hex, f->md5) == 0;
}

int dayfile_read_committed(const struct dayfile_env *env, const struct day *d,
                           const struct index_file *f, struct s3_buf *out, struct err *e)
{
    char key[1100];
    if (dayfile_data_key(env->cfg, d, DAYFILE_NAME, key, sizeof key) != 0)
        return err_set(e, "data key too long");
    size_t had = out->len;
    if (f->size <= 0)
        return err_setk(e, ERR_DATA, "%s: the index commits no bytes of it", key);
    if (s3_get_buffer_range(env->s3, env->cfg->s3.repartitioned.bucket_name, key,
                                           0, f->size - 1, out, NULL, e) != 0)
        return err_prefix(e, "reading the committed %s: ", key);
    char hex[33] = "";
    buf_md5_hex(out->data + had, out->len - had, hex);
    if ((long long)(out->len - had) != f->size || strcmp(hex, f->md5) != 0)
        return err_setk(e, ERR_DATA, "%s: its first %lld bytes are not the committed version "
                        "the index names (%zu bytes, MD5 %s; index %s); another writer without "
                        "locking, or a damaged file: run `repart verify --repair`", key, f->size,
                        out->len - had, hex, f->md5);
    return 0;
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
    if (dayfile_data_key(cfg, d, DAYFILE_NAME, df->key, sizeof df->key) != 0) {
        err_set(e, "merged key too long");
        goto fail;
    }
    ocf_scan_init(&df->scan, df->key);
    if (!(df->md = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(df->md, EVP_md5(), NULL)) {
        err_set(e, "out of memory");
        goto fail;
    }
    struct err he = {0};
    if (s3_head(env->s3, cfg->s3.repartitioned.bucket_name, df->key, &df->cur, &he) == 0) {
        df->exists = 1;
    } else if (he.kind != ERR_NOT_FOUND) {
        *e = he;
        err_prefix(e, "%s: ", df->key);
        goto fail;
    }
    /* With locking, the new version replaces only the one seen now: a writer
     * that lost its lease meanwhile cannot overwrite what another committed. */
    df->put.content_type = "avro/binary";
    if (env->locking) {
        if (df->exists)
            df->put.if_match = df->cur.etag;
        else
            df->put.if_none_match = "*";
    }
    df->up = upload_open(env->s3, env->pool, cfg->s3.repartitioned.bucket_name, df->key,
                         (size_t)cfg->part_size_mb << 20, env->parts_in_flight, &df->put, e);
    if (!df->up)
        goto fail;
    if (env->budget)
        upload_set_budget(df->up, env->budget);

    struct merge_options mo;
    memset(&mo, 0, sizeof mo);
    char *schema = NULL;
    if (rebuild) {
        mo.schema_json = rschema ? rschema : config_base_schema(cfg);
        mo.codec = config_output_codec(cfg);
        memcpy(df->sync, sync, OCF_SYNC_SIZE);
    } else {
        const struct index_file *f = index_file_find(committed, DAYFILE_NAME);
        if (!f) {
            err_set(e, "%s: the index names no committed version to append to", df->key);
            goto fail;
        }
        /* its header: the schema, codec and sync marker of the blocks to add */
        struct s3_buf hb = {0};
        struct ocf_reader r;
        if (f->header_len <= 0 || f->header_len > (1 << 20)) {
            err_setk(e, ERR_DATA, "%s: implausible header length %lld in the index", df->key,
                     f->header_len);
            goto fail;
        }
        if (s3_get_buffer_range(env->s3, cfg->s3.repartitioned.bucket_name, df->key, 0,
                                f->header_len - 1, &hb, NULL, e) != 0) {
            err_prefix(e, "reading the header of %s: ", df->key);
            s3_buf_free(&hb);
            goto fail;
        }
        if ((long long)hb.len != f->header_len ||
            ocf_reader_open(&r, df->key, hb.data, hb.len, e) != 0 ||
            (long long)r.header_len != f->header_len) {
            if ((long long)hb.len == f->header_len)
                ocf_reader_close(&r);
            s3_buf_free(&hb);
            if (!e->msg[0])
                err_setk(e, ERR_DATA, "%s: the header is not the %lld bytes the index says",
                         df->key, f->header_len);
            e->kind = ERR_NOT_COMMITTED;
            err_prefix(e, "the committed day file does not match its index (run verify): ");
            goto fail;
        }
        /* nothing checks these bytes now: the read-back proves that the
         * object's header is this one (that the blocks added are encoded
         * for the schema it names) */
        unsigned char hmd[EVP_MAX_MD_SIZE];
        unsigned int hn = 0;
        if (!EVP_Digest(hb.data, hb.len, hmd, &hn, EVP_md5(), NULL) || hn != 16)
            hn = 0;
        for (unsigned i = 0; i < hn; i++)
            snprintf(df->header_md5 + 2 * i, 3, "%02x", hmd[i]);
        df->header_len = f->header_len;
        schema = hn ? strndup(r.schema_json, r.schema_len) : NULL;
        mo.codec = r.codec;
        memcpy(df->sync, r.sync, OCF_SYNC_SIZE);
        ocf_reader_close(&r);
        if (!schema) {
            s3_buf_free(&hb);
            err_set(e, "out of memory");
            goto fail;
        }
        mo.schema_json = schema;
        mo.continue_at = (uint64_t)f->size;
        mo.continue_header_len = (uint64_t)f->header_len;
        df->kept = f->size;
        df->kept_records = f->records;

        snprintf(df->kept_md5, sizeof df->kept_md5, "%s", f->md5);
        /* the committed bytes go first */
        if (carry_committed(df, f, e) != 0) {
            s3_buf_free(&hb);
            free(schema);
            goto fail;
        }
        /* copied by the server: the scan takes the header as read, then
         * the blocks this run adds (blocks are self-delimiting) */
        if (upload_copied(df->up) > 0 && ocf_scan_feed(&df->scan, hb.data, hb.len, &df->scan_err) != 0)
            df->scan_failed = 1;
        s3_buf_free(&hb);
    }
    memcpy(mo.sync, df->sync, OCF_SYNC_SIZE);
    mo.widen = 1;
    mo.sitewise = 1;
    df->m = merge_open(&mo, send_bytes, df, e);
    free(schema);
    if (!df->m)
        goto fail;
    return df;
fail:
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
    EVP_MD_CTX *part[2];        /* [0, kept) and [sent_from, end) */
    EVP_MD_CTX *header;         /* [0, header_len) */
    long long kept;
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
    size_t head = 0, skip = 0;
    if (r->bytes < r->kept)
        head = (size_t)(r->kept - r->bytes) < len ? (size_t)(r->kept - r->bytes) : len;
    if (r->bytes < r->sent_from)
        skip = (size_t)(r->sent_from - r->bytes) < len ? (size_t)(r->sent_from - r->bytes) : len;
    EVP_DigestUpdate(r->part[0], p, head);
    if (r->bytes < r->header_len) {
        long long left = r->header_len - r->bytes;
        EVP_DigestUpdate(r->header, p, left < (long long)len ? (size_t)left : len);
    }
    EVP_DigestUpdate(r->part[1], p + skip, len - skip);
    r->bytes += (long long)len;
    EVP_DigestUpdate(r->md, buf, len);
    if (ocf_scan_feed(&r->scan, buf, len, &r->err) != 0) {
        r->bad = 1;
        return 1;
    }
    return 0;
}

/* w->md5 holds the MD5 of the bytes sent (after `sent_from`) on the way in,
 * of the whole object on the way out. */
static int reread_once(const struct dayfile *df, struct dayfile_result *w, struct err *e)
{
    const struct dayfile_env *env = df->env;
    const char *key = df->key;
    const unsigned char *sync = df->sync;
    struct reread r;
    memset(&r, 0, sizeof r);
    ocf_scan_init(&r.scan, key);
    r.kept = df->kept;
    r.sent_from = upload_copied(df->up);
    r.header_len = df->header_len;
    r.md = EVP_MD_CTX_new();
    r.part[0] = EVP_MD_CTX_new();
    r.part[1] = EVP_MD_CTX_new();
    r.header = EVP_MD_CTX_new();
    struct s3_get_info info;
    memset(&info, 0, sizeof info);
    int ok = r.md && r.part[0] && r.part[1] && r.header;
    for (int i = 0; ok && i < 3; i++)
        ok = EVP_DigestInit_ex(i == 2 ? r.md : r.part[i], EVP_md5(), NULL);
    if (ok)
        ok = EVP_DigestInit_ex(r.header, EVP_md5(), NULL);
    int rc = ok ? s3_get(env->s3, env->cfg->s3.repartitioned.bucket_name, key, -1, -1,
                         reread_sink, &r, &info, e)
                : err_set(e, "out of memory");
    char hex[33] = "", head[33] = "", tail[33] = "", header[33] = "";
    if (ok) {
        md5_hex(r.md, hex);
        md5_hex(r.part[0], head);
        md5_hex(r.part[1], tail);
        md5_hex(r.header, header);
    }
    EVP_MD_CTX_free(r.md);
    EVP_MD_CTX_free(r.part[0]);
    EVP_MD_CTX_free(r.part[1]);
    EVP_MD_CTX_free(r.header);
    if (rc != 0 && r.bad)
        *e = r.err;
    if (rc == 0 && ocf_scan_end(&r.scan, e) != 0)
        rc = -1;
    if (rc == 0 && r.bytes != w->size)
        rc = err_set(e, "%s has %lld bytes, %lld were written", key, r.bytes, w->size);
    if (rc == 0 && df->kept && strcmp(head, df->kept_md5) != 0)
        rc = err_set(e, "%s: its first %lld bytes are not the committed version the index "
                     "names (MD5 %s, index %s)", key, df->kept, head, df->kept_md5);
    if (rc == 0 && df->header_len && strcmp(header, df->header_md5) != 0)
        rc = err_set(e, "%s: its header (%lld bytes, MD5 %s) is not the header this run read "
                     "and added blocks for (MD5 %s)", key, df->header_len, header,
                     df->header_md5);
    if (rc == 0 && strcmp(tail, w->md5) != 0)
        rc = err_set(e, "%s: MD5 of the %lld bytes read differs from that of the bytes written",
                     key, r.bytes - r.sent_from);
    if (rc == 0)
        memcpy(w->md5, hex, sizeof hex);
    if (rc == 0 && memcmp(r.scan.sync, sync, 16) != 0)
        rc = err_set(e, "%s: not the sync marker this run wrote", key);
    if (rc == 0 && r.scan.records != w->records)
        rc = err_set(e, "%s holds %llu records, %llu were written", key,
                     (unsigned long long)r.scan.records, w->records);
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
 * completed: a file the merge got wrong is never written. */
static int check_produced(struct dayfile *df, unsigned long long records, struct err *e)
{
    if (df->scan_failed || ocf_scan_end(&df->scan, &df->scan_err) != 0) {
        *e = df->scan_err;
        e->kind = ERR_TRANSIENT;
        return err_prefix(e, "the merged file as produced: ");
    }
    unsigned long long scanned =
        df->scan.records + (upload_copied(df->up) ? df->kept_records : 0);
    if (memcmp(df->scan.sync, df->sync, OCF_SYNC_SIZE) != 0 || scanned != records)
        return err_setk(e, ERR_TRANSIENT, "%s: the file as produced holds %llu records under "
                        "its sync marker, %llu were written", df->key, scanned, records);
    return 0;
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
    md5_hex(df->md, out->md5);
    EVP_MD_CTX_free(df->md);
    df->md = NULL;
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
    /* Every byte went through this process and the server's ETag is the
     * one these bytes give (upload_proven): the object is what was produced
     * and scanned, and its MD5 is known. A prefix the server copied has no
     * byte here: the new version's MD5, which the index must record, can
     * only be had by reading it (the server's own MD5s of it were tried and
     * dropped: an answer damaged on its way, or a copy of another version on
     * a server that ignores x-amz-copy-source-if-match, put an MD5 into the
     * index that was not the object's; reviews 19 and 20). */
    const char *why = copied ? "its committed prefix was copied by the server"
                      : "the server's ETag is not one its bytes give";
    if (df->env->cfg->read_back == CONFIG_READ_BACK_ALWAYS) {
        why = "read_back: always";
    } else if (!copied && upload_proven(df->up)) {
        log_msg(LOG_DEBUG, NULL, "upload", "%s: ETag %s is that of the %lld bytes produced; no "
                "read-back", df->key, out->etag, bytes);
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
    free(df);
}
