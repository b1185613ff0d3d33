/* runtime: what every command that talks to S3 sets up from the config: the
 * credential chain, one S3 client (its connection pool sized to the
 * transfers) and the transfer pool of `concurrency` workers. */
#ifndef REPART_RUNTIME_H
#define REPART_RUNTIME_H

#include "config.h"
#include "creds.h"
#include "err.h"
#include "pool.h"
#include "s3.h"

struct runtime {
    const struct config *cfg;     /* borrowed */
    struct creds_provider *creds;
    struct s3_client *s3;
    struct pool *pool;
};

/* Fills *rt; free with runtime_close (also after a failure). */
int runtime_open(struct runtime *rt, const struct config *cfg, struct err *e);
void runtime_close(struct runtime *rt);

#endif
