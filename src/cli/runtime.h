/* runtime: what every command that talks to S3 sets up from the config: the
 * credential chain, one S3 client (its connection pool sized to the
 * transfers) and the transfer pool of `concurrency` workers. */
#ifndef REPART_RUNTIME_H
#define REPART_RUNTIME_H

#include "config.h"
#include "creds.h"
#include "err.h"
#include "assoc.h"
#include "pool.h"
#include "s3.h"
#include "scan.h"

struct runtime {
    const struct config *cfg;     /* borrowed */
    struct creds_provider *creds;
    struct s3_client *s3;
    struct pool *pool;
    struct assoc_set assoc;       /* timeseries_type ASSOCIATED/DISASSOCIATED */
    struct scan_filter filter;    /* what scans keep (points into assoc) */
    int locking;                  /* RUNTIME_WRITES: writers of a day kept apart (locking.h) */
    long stale_upload_secs;       /* $REPART_STALE_UPLOAD_SECS, 0 when unset */
};

enum {
    RUNTIME_S3 = 1,   /* the command talks to S3: resolve credentials now (a
                         missing or broken credential chain is ERR_USAGE, one
                         message instead of one per day) and load the set of
                         associated series when timeseries_type needs it */
    RUNTIME_WRITES = 2, /* the command writes to the repartitioned bucket: decide
                           locking once (locking_setup probes the server unless
                           `locking: off`) and say so when it is off */
};

/* Fills *rt; free with runtime_close (also after a failure). */
int runtime_open(struct runtime *rt, const struct config *cfg, int flags, struct err *e);
void runtime_close(struct runtime *rt);

#endif
