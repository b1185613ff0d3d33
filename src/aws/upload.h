/* upload: an object upload fed as a stream (the merge writes into it).
 *
 * Bytes are gathered into part-sized buffers. An object that ends within the
 * first part goes up as one PUT (with Content-MD5); a larger one becomes a
 * multipart upload whose parts are sent on the transfer pool while the
 * producer goes on, at most `max_inflight` at a time, so memory stays at
 * (max_inflight + 1) x part_size. Any failure aborts the multipart upload. */
#ifndef REPART_UPLOAD_H
#define REPART_UPLOAD_H

#include <pthread.h>
#include <stddef.h>
#include "err.h"
#include "s3.h"
#include "pool.h"

struct upload;

/* Memory shared by the uploads of one run: every part buffer (the one being
 * filled and those in flight) is taken from it, so that several days in
 * flight together stay within one bound. A buffer is taken when the first
 * byte of a part arrives, so a day that merges nothing holds nothing. */
struct upload_budget {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t avail;
};
/* `bytes` must be at least one part size, or uploads would wait forever. */
void upload_budget_init(struct upload_budget *b, size_t bytes);
void upload_budget_destroy(struct upload_budget *b);

/* Starts an upload of bucket/key. `s3`, `pool` and `opts` are borrowed and
 * must outlive the upload. Free with upload_free (which aborts an
 * unfinished multipart upload). */
struct upload *upload_open(struct s3_client *s3, struct pool *pool, const char *bucket,
                           const char *key, size_t part_size, int max_inflight,
                           const struct s3_put_opts *opts, struct err *e);

/* Takes part buffers from `b` (borrowed; NULL = no shared bound). Call
 * before the first write. */
void upload_set_budget(struct upload *u, struct upload_budget *b);

/* Makes bytes first..last of src_bucket/src_key (whose ETag must still be
 * if_match, NULL: any) the next part of the object, copied by the server
 * (UploadPartCopy) instead of sent: the object becomes a multipart upload.
 * Call before any write (copies may follow each other); at least
 * UPLOAD_COPY_MIN bytes (S3's minimum size of a part that is not the last).
 * want_md5 (lower hex, NULL: none): the MD5 the caller knows those bytes
 * have; the range is then one part (at most UPLOAD_COPY_PART_MAX bytes) whose
 * ETag, when it is an MD5, must be it, else ERR_TRANSIENT. */
#define UPLOAD_COPY_MIN (5LL << 20)
#define UPLOAD_COPY_PART_MAX (4LL << 30)
int upload_copy(struct upload *u, const char *src_bucket, const char *src_key, long long first,
                long long last, const char *if_match, const char *want_md5, struct err *e);

/* Appends bytes. May block while max_inflight parts are being sent. */
int upload_write(struct upload *u, const void *data, size_t len, struct err *e);

/* An s3-style sink callback around upload_write (ud is the upload); the
 * error is kept and returned by upload_finish. */
int upload_sink(void *ud, const void *data, size_t len);

/* 1 (and *out set) when a part or a write has failed; the object will not
 * be committed. Does not send anything. */
int upload_failed(struct upload *u, struct err *out);

/* Bytes of the object that upload_copy had the server copy. */
long long upload_copied(const struct upload *u);

/* 1 when every part upload_copy made had its ETag checked against the
 * caller's MD5 (0 once one had no want_md5, or an ETag that is no MD5). */
int upload_copies_checked(const struct upload *u);

/* After upload_finish: 1 when the object's ETag shows that it holds exactly
 * the bytes written and copied, in order. A single PUT's ETag must be the
 * MD5 of its body (which went with Content-MD5); a multipart object's must be
 * the MD5 of its parts' MD5s, "-N", where every sent part's ETag was checked
 * against the MD5 of the bytes sent and a copied part's is the server's MD5
 * of the range copied (which only upload_copy's want_md5 checks). 0 when the server gives other ETags (SSE-KMS, SSE-C,
 * servers that compute them their own way): the caller must read the object
 * back to know. */
int upload_proven(const struct upload *u);

/* Sends what is left and commits the object. etag_out may be NULL. */
int upload_finish(struct upload *u, char etag_out[80], long long *bytes_out, struct err *e);

/* Aborts (if a multipart upload was started and not completed) and frees. */
void upload_free(struct upload *u);

#endif
