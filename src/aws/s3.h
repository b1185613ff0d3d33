/* s3: an S3 client on libcurl (transfers), OpenSSL (SigV4, MD5) and expat
 * (XML responses).
 *
 * One `struct s3_client` is shared by all threads: it keeps a pool of curl
 * easy handles so that keep-alive connections are reused across requests,
 * and every call takes a handle from the pool for its duration.
 * Retries: exponential backoff with full jitter on 5xx, 503 SlowDown,
 * 408/429, timeouts and connection resets; never on other 4xx. */
#ifndef REPART_S3_H
#define REPART_S3_H

#include <signal.h>
#include <stddef.h>
#include "bytebuf.h"
#include "err.h"
#include "s3_types.h"
#include "creds.h"

/* Errors: messages read "OPERATION s3://BUCKET/KEY: HTTP STATUS CODE: S3
 * message [request id]" (or the curl error), never a signature or secret.
 * Kinds: ERR_NOT_FOUND for 404, ERR_CONFLICT for 412 and 409
 * ConditionalRequestConflict, ERR_TRANSIENT when retries ran out on a
 * retryable failure, ERR_USAGE for a bad bucket name, key (empty or > 1024
 * bytes) or argument, ERR_DATA for a response that does not parse. */

/* What writes are sent with (enterprise bucket policies): every PutObject
 * and CreateMultipartUpload carries the set ones of x-amz-server-side-
 * encryption (+ -aws-kms-key-id, -bucket-key-enabled), x-amz-storage-class,
 * x-amz-acl and x-amz-tagging; every request to `owner_bucket` carries
 * x-amz-expected-bucket-owner (and an UploadPartCopy from it
 * x-amz-source-expected-bucket-owner). NULL or "": not sent. */
struct s3_write_opts {
    const char *sse;              /* "AES256", "aws:kms" */
    const char *kms_key_id;
    int bucket_key;
    const char *storage_class;
    const char *acl;
    const char *tagging;
    const char *expected_owner;   /* 12 digits */
    const char *owner_bucket;
};

struct s3_config {
    const char *region;        /* "us-east-1" when NULL/"" */
    const char *endpoint_url;  /* "" = AWS (virtual-hosted https://BUCKET.s3.REGION.amazonaws.com);
                                  otherwise awscfg_endpoint(AWSCFG_S3) resolves it (env,
                                  services section, profile) */
    int path_style;            /* 1: ENDPOINT/BUCKET/KEY */
    int max_retries;           /* attempts after the first; 0 = default (8) */
    int max_connections;       /* size of the handle pool; 0 = default (64) */
    long timeout_ms;           /* a request with no progress for this long fails (retryable);
                                  0 = default (30000) */
    long retry_base_ms;        /* backoff base; 0 = default (100) */
    long retry_cap_ms;         /* backoff cap; 0 = default (20000) */
    int list_page_size;        /* max-keys of ListObjectsV2; 0 = default (1000) */
    struct s3_write_opts write;  /* copied */
    long min_speed_bps;        /* a request moving fewer bytes per second than this ... */
    long min_speed_secs;       /* ... over this many seconds fails (retryable): a trickle;
                                  0 = defaults (1024 B/s over 60 s) */
    long deadline_secs;        /* no attempt runs longer (retryable); 0 = default (900) */
    const volatile sig_atomic_t *cancel;  /* NULL, or a flag (stop.h) that, once raised,
                                  cuts short the requests that only read or stage data:
                                  GETs (objects, listings, HEADs) and part uploads fail
                                  with ERR_CANCELLED, in flight or before being sent,
                                  without retries. Commits (PutObject, Complete), deletes
                                  and aborts go on, so a stop never leaves them half done. */
};

struct s3_client;

/* Creates a client. `creds` is borrowed: it must outlive the client.
 * Free with s3_client_free. */
struct s3_client *s3_client_new(const struct s3_config *cfg, struct creds_provider *creds,
                                struct err *e);
void s3_client_free(struct s3_client *c);

/* Counters since the client was created (for progress lines and tests).
 * Requests count HTTP attempts (a retried GET counts twice); bytes count
 * bodies sent and received, error bodies included. */
struct s3_stats {
    long long list_requests, get_requests, head_requests, put_requests, other_requests;
    long long retries;
    long long bytes_in, bytes_out;   /* bodies only */
};
void s3_client_stats(struct s3_client *c, struct s3_stats *out);

/* 1 when a request gave up because the endpoint refused every connection
 * (connect or name resolution failed on each attempt): until a request
 * reaches the server again, requests get one attempt each, and callers that
 * work through many days stop starting new ones. */
int s3_client_unreachable(struct s3_client *c);


/* ListObjectsV2 of every key under `prefix`, following continuation tokens;
 * appends to *out (which may already hold items). Keys are URL-decoded only
 * when the response says <EncodingType>url</EncodingType> (the request asks
 * for it; servers that ignore it send plain keys). On failure *out is left
 * as it was. */
int  s3_list(struct s3_client *c, const char *bucket, const char *prefix,
             struct s3_object_list *out, struct err *e);
/* The same, stopping after max_pages pages (0 = all); *truncated (may be
 * NULL) tells whether keys were left. */
int  s3_list_pages(struct s3_client *c, const char *bucket, const char *prefix, long max_pages,
                   struct s3_object_list *out, int *truncated, struct err *e);
/* ListObjectsV2 with a delimiter (e.g. "/"), every page: the keys with no
 * delimiter after `prefix` are appended to *out, the CommonPrefixes (decoded,
 * malloc'd each, in the server's order, possibly repeated across pages) are
 * returned in *prefixes / *n_prefixes (free with s3_prefixes_free, also on
 * failure, when they are NULL / 0). */
int  s3_list_delimited(struct s3_client *c, const char *bucket, const char *prefix,
                       const char *delimiter, struct s3_object_list *out, char ***prefixes,
                       size_t *n_prefixes, struct err *e);
void s3_prefixes_free(char **prefixes, size_t n);

/* Receives body bytes of a GET; return 0 to go on, non-zero to abort (the
 * GET then fails with ERR_CANCELLED). */
typedef int (*s3_write_fn)(void *ud, const void *buf, size_t len);

struct s3_get_info {
    long long content_length;  /* bytes of this response's body */
    long long object_size;     /* whole object (from Content-Range or Content-Length) */
    char etag[80];
    int etag_not_md5;          /* 1: SSE-KMS or SSE-C, whose ETags are not MD5s */
};

/* GET streamed to `write`. range_first/range_last: inclusive byte range, or
 * -1/-1 for the whole object. A retry after part of the body was delivered
 * resumes from the first undelivered byte (If-Match on the ETag), so `write`
 * sees every byte exactly once, in order. A body shorter than Content-Length
 * is an error (retried). 404 is ERR_NOT_FOUND. `info` may be NULL. */
int s3_get(struct s3_client *c, const char *bucket, const char *key,
           long long range_first, long long range_last,
           s3_write_fn write, void *ud, struct s3_get_info *info, struct err *e);


/* GET the whole object into *out (appended; caller frees with bytebuf_free).
 * max (> 0): the most bytes it may have (its listed size, or what the
 * reader accepts): a longer body stops at the first byte past it, nothing
 * more is kept, ERR_TRANSIENT (the object changed since it was listed, or
 * the server misbehaves). Untrusted sizes are never unbounded. */
int s3_get_buffer(struct s3_client *c, const char *bucket, const char *key, long long max,
                  struct bytebuf *out, struct s3_get_info *info, struct err *e);
/* The same for bytes first..last (inclusive) of the object. */
int s3_get_buffer_range(struct s3_client *c, const char *bucket, const char *key,
                        long long first, long long last, struct bytebuf *out,
                        struct s3_get_info *info, struct err *e);

/* Whether the bytes of a whole object match its ETag (as listed or as
 * answered): 1 they do, 0 they do not, -1 the ETag says nothing about them
 * (multipart "...-N", not 32 hex digits, or `info` (may be NULL) of the GET
 * says SSE-KMS/SSE-C). */
int s3_etag_check(const char *etag, const struct s3_get_info *info, const void *data,
                  size_t len);

/* s3_get_buffer, then the bytes are checked against the answer's ETag
 * (s3_etag_check); a mismatch is read again, 4 times in all, then fails with
 * ERR_TRANSIENT. For small objects whose damage would go unnoticed (indexes). */
int s3_get_buffer_verified(struct s3_client *c, const char *bucket, const char *key,
                           long long max, struct bytebuf *out, struct s3_get_info *info,
                           struct err *e);

/* HEAD. 404 is ERR_NOT_FOUND. Fills size and etag (out->key is left NULL). */
int s3_head(struct s3_client *c, const char *bucket, const char *key,
            struct s3_object *out, struct err *e);

/* Conditional-write options (AWS S3 only; NULL fields = unconditional).
 * A failed condition is ERR_CONFLICT. */
struct s3_put_opts {
    const char *content_type;   /* default application/octet-stream */
    const char *if_none_match;  /* "*" */
    const char *if_match;       /* an ETag */
    const unsigned char *content_md5;  /* s3_put: the body's MD5 (16 bytes) as the caller
                                          computed it from the bytes it meant to send, sent as
                                          Content-MD5 so that the server refuses a body that
                                          differs; NULL: computed from the body */
};

/* PUT with Content-MD5. etag_out (may be NULL) receives the new ETag.
 * With if_none_match, a 412 after which the object holds exactly these bytes
 * (its ETag is their MD5: an earlier attempt landed, its answer was lost) is
 * success. */
int s3_put(struct s3_client *c, const char *bucket, const char *key,
           const void *data, size_t len, const struct s3_put_opts *opts,
           char etag_out[80], struct err *e);

int s3_delete(struct s3_client *c, const char *bucket, const char *key, struct err *e);

/* DeleteObject with If-Match: deletes only while the object's ETag is
 * `etag` (quotes optional). A different ETag is ERR_CONFLICT (412; also 409
 * ConditionalRequestConflict), a missing key ERR_NOT_FOUND (also when an
 * earlier attempt whose answer was lost deleted it). Servers without
 * conditional deletes ignore the header and delete unconditionally. */
int s3_delete_if_match(struct s3_client *c, const char *bucket, const char *key,
                       const char *etag, struct err *e);

/* Multipart upload (struct s3_part: s3_types.h). */
/* 1 if etag (unquoted) is 32 hex digits: an MD5, as S3 gives objects
 * written in one PUT without SSE-KMS or SSE-C. */
int s3_etag_is_md5(const char *etag);
/* The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, "-N".
 * Empty when a part ETag is not a plain MD5 (e.g. SSE-KMS). */
void s3_multipart_etag(const struct s3_part *parts, size_t n, char out[80]);
int s3_mpu_create(struct s3_client *c, const char *bucket, const char *key,
                  const struct s3_put_opts *opts, char **upload_id_out, struct err *e);
/* md5 (16 bytes, may be NULL: computed from data): as for s3_put_opts'
 * content_md5. The answer's ETag, when it is an MD5, must be that MD5. */
int s3_mpu_upload_part(struct s3_client *c, const char *bucket, const char *key,
                       const char *upload_id, int part_number,
                       const void *data, size_t len, const unsigned char *md5,
                       char etag_out[80], struct err *e);
/* UploadPartCopy: part `part_number` is bytes first..last (inclusive) of
 * src_bucket/src_key, copied by the server, only if that object's ETag is
 * still `if_match` (NULL: any). S3 requires every part but the last to be at
 * least 5 MiB. ERR_CONFLICT when the source changed. *etag_not_md5 (may be
 * NULL) is set to 1 when the answer says the part is SSE-KMS or SSE-C
 * encrypted: its ETag, 32 hex digits all the same, is not the MD5 of the
 * bytes copied. */
int s3_mpu_upload_part_copy(struct s3_client *c, const char *bucket, const char *key,
                            const char *upload_id, int part_number, const char *src_bucket,
                            const char *src_key, long long first, long long last,
                            const char *if_match, char etag_out[80], int *etag_not_md5,
                            struct err *e);
/* `parts` in ascending part number. NoSuchUpload when the object now has
 * the ETag these parts give (a retried Complete whose first attempt landed)
 * is success. S3's "200 with an <Error> body" is retried. */
int s3_mpu_complete(struct s3_client *c, const char *bucket, const char *key,
                    const char *upload_id, const struct s3_part *parts, size_t n_parts,
                    const struct s3_put_opts *opts, char etag_out[80], struct err *e);
int s3_mpu_abort(struct s3_client *c, const char *bucket, const char *key,
                 const char *upload_id, struct err *e);


/* ListMultipartUploads of the keys under `prefix`, following its markers
 * (at most 100 pages); appends to *out. A server without the operation
 * answers an error (e.g. 501 NotImplemented) or a document that does not
 * parse (ERR_DATA). */
int s3_list_uploads(struct s3_client *c, const char *bucket, const char *prefix,
                    struct s3_upload_list *out, struct err *e);

#endif
