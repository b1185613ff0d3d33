#include "runtime.h"

#include <string.h>

int runtime_open(struct runtime *rt, const struct config *cfg, struct err *e)
{
    memset(rt, 0, sizeof *rt);
    rt->cfg = cfg;
    rt->creds = creds_provider_new();
    if (!rt->creds)
        return err_set(e, "out of memory");
    struct s3_config sc = {
        .region = cfg->s3.region,
        .endpoint_url = cfg->s3.endpoint_url,
        .path_style = cfg->s3.path_style,
        /* transfers, listings and part uploads of several days share it */
        .max_connections = cfg->concurrency + 16,
    };
    rt->s3 = s3_client_new(&sc, rt->creds, e);
    if (!rt->s3)
        return -1;
    rt->pool = pool_new(cfg->concurrency);
    if (!rt->pool)
        return err_set(e, "cannot start %d worker threads", cfg->concurrency);
    return 0;
}

void runtime_close(struct runtime *rt)
{
    pool_free(rt->pool);
    s3_client_free(rt->s3);
    creds_provider_free(rt->creds);
    memset(rt, 0, sizeof *rt);
}
