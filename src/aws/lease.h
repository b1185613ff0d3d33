/* lease: one writer per day, with S3 conditional writes.
 *
 * Protocol (every step conditional, so that of two writers only one wins):
 *
 *  - Acquire. Before a day is scanned, its writer creates the day's lease
 *    object (`<index_prefix><partition>.repart-lease`) with
 *    `If-None-Match: *`: exactly one concurrent writer succeeds (S3 answers
 *    412 or 409 to the others). The lease is a small JSON document:
 *    {"owner","token","acquired","expires"[,"renewed"]}; `owner` names the
 *    process (host:pid:random), `token` this one lease, `expires` is a unix
 *    time. An expired lease (a writer that died) is taken over with
 *    `If-Match: <its ETag>`, so that again only one can take it.
 *  - Renew. While the day runs, a thread (lease_keepalive_start) rewrites
 *    the lease every ttl/3 with a new expiry, `If-Match: <our current
 *    ETag>`, and keeps the new ETag. A 412 or 404 means another writer took
 *    the lease over (or removed it): the lease is lost. So is a lease whose
 *    expiry passes before a renewal succeeds. A lost lease is never renewed
 *    again, and its writer must not commit (lease_lost()).
 *  - Commit. The index commit itself is `If-Match` on the ETag the scan read
 *    (or `If-None-Match: *` when there was none), so even a writer that lost
 *    its lease, or the Python sample writing at the same time, cannot make an
 *    index entry disappear.
 *  - Release. After the commit the lease is deleted with `If-Match: <our
 *    ETag>` (DeleteObject honours If-Match on S3 general purpose buckets):
 *    a lease that another writer has taken over meanwhile stays.
 *
 * A write whose answer was lost (the PUT landed, the client saw an error,
 * its retry then fails the condition against our own new ETag) is told
 * from a real takeover by reading the lease back: owner and token ours means
 * it is still ours.
 *
 * Whether the server honours conditional writes at all is probed once per
 * run (src/repart/locking.h). Conditional writes exist on AWS S3 (2024, deletes
 * 2025) but on no local server; the tests exercise the protocol through
 * tests/helpers/condproxy.mjs. */
#ifndef REPART_LEASE_H
#define REPART_LEASE_H

#include <stdatomic.h>
#include "err.h"
#include "s3.h"

#define LEASE_TTL_MIN 3          /* renewals every ttl/3: at least every second */
#define LEASE_TTL_MAX 86400
#define LEASE_DOC_MAX (64 * 1024)  /* a lease object is a line of JSON: more is not one */
#define LEASE_TTL_ENV "REPART_LEASE_TTL_SECS"

struct lease_keeper;

struct lease {
    char key[1200];
    char etag[80];        /* our lease's current ETag; the renewal thread's while it runs */
    char token[40];       /* this lease's random id (in the document) */
    long long acquired;   /* unix seconds */
    int held;
    atomic_int lost;      /* 1: taken over, removed, or expired unrenewed */
    atomic_llong expires; /* unix seconds our last successful write runs until */
    struct lease_keeper *keeper;  /* renewal thread, NULL when none */
};

/* A process-wide owner id: "<host>:<pid>:<random>" (stable for the process). */
const char *lease_owner(void);

/* The TTL to use: env REPART_LEASE_TTL_SECS when set (short TTLs let tests
 * watch renewals), else default_secs. ERR_USAGE when the variable is not an
 * integer within LEASE_TTL_MIN..LEASE_TTL_MAX. Read the env here only. */
int lease_ttl_secs(int default_secs, int *out, struct err *e);

/* Tries to take the lease at bucket/key for ttl_secs. ERR_CONFLICT when
 * another writer holds it (the message names the owner and expiry). *out
 * is overwritten: release a lease it held first. */
int lease_acquire(struct s3_client *s3, const char *bucket, const char *key, int ttl_secs,
                  struct lease *out, struct err *e);

/* Starts renewing a held lease every ttl_secs/3 until lease_keepalive_stop
 * (or lease_release). A no-op (0) for a lease not held (locking off).
 * `s3` must outlive the renewal thread; `bucket` is copied. ERR_USAGE for
 * a ttl outside LEASE_TTL_MIN..LEASE_TTL_MAX or a second start. */
int lease_keepalive_start(struct s3_client *s3, const char *bucket, struct lease *l,
                          int ttl_secs, struct err *e);

/* Stops the renewal thread at once (a renewal in flight is finished first).
 * Idempotent; a no-op when none runs. */
void lease_keepalive_stop(struct lease *l);

/* 1 when a held lease is no longer ours or may not be: taken over or
 * removed (seen by a renewal), or past the expiry of our last successful
 * write. Check it right before the commit and before any delete the lease
 * guards. Thread-safe; 0 for a lease not held. */
int lease_lost(const struct lease *l);

/* Stops the renewals, then deletes the lease if it is still ours
 * (If-Match on our ETag). A lease taken over by another writer is left in
 * place (logged); other failures are ignored (an expired lease is
 * harmless). */
void lease_release(struct s3_client *s3, const char *bucket, struct lease *l);

#endif
