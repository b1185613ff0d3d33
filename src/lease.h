/* lease: one writer per day, with S3 conditional writes.
 *
 * Before a day is scanned, its writer creates the day's lease object
 * (`<index_prefix><partition>.repart-lease`) with `If-None-Match: *`: exactly
 * one concurrent writer succeeds (S3 answers 412 or 409 to the others). The
 * lease names its owner and an expiry; an expired lease (a writer that died)
 * is taken over with `If-Match: <its ETag>`, so that again only one can take
 * it. The index commit itself is `If-Match` on the ETag the scan read (or
 * `If-None-Match: *` when there was none), so even a writer that lost its
 * lease, or the Python sample writing at the same time, cannot make an
 * index entry disappear. The lease is deleted after the commit.
 *
 * Conditional writes exist on AWS S3 (2024) but on no local server; the
 * tests exercise the protocol through tests/helpers/condproxy.mjs. */
#ifndef REPART_LEASE_H
#define REPART_LEASE_H

#include "err.h"
#include "s3.h"

#define LEASE_NAME ".repart-lease"

struct lease {
    char key[1200];
    char etag[80];
    int held;
};

/* A process-wide owner id: "<host>:<pid>:<random>" (stable for the process). */
const char *lease_owner(void);

/* Tries to take the lease at bucket/key for ttl_secs. ERR_CONFLICT when
 * another writer holds it (the message names the owner and expiry). */
int lease_acquire(struct s3_client *s3, const char *bucket, const char *key, int ttl_secs,
                  struct lease *out, struct err *e);

/* Deletes the lease if held (best effort; an expired lease is harmless). */
void lease_release(struct s3_client *s3, const char *bucket, struct lease *l);

#endif
