#include "runtime.h"

#include <string.h>

int runtime_open(struct runtime *rt, const struct config *cfg, int flags, struct err *e)
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
    rt->filter.type = cfg->timeseries_type;
    if (!(flags & RUNTIME_S3))
        return 0;
    struct creds c;
    if (creds_provider_get(rt->creds, &c, e) != 0) {
        memset(&c, 0, sizeof c);
        return -1;
    }
    memset(&c, 0, sizeof c);  /* do not leave a copy of the secret behind */
    if (cfg->timeseries_type != CONFIG_TS_ALL) {
        if (assoc_load(cfg, rt->s3, rt->creds, rt->pool, &rt->assoc, e) != 0)
            return err_prefix(e, "timeseries_type %s: ", config_ts_type_name(cfg->timeseries_type));
        rt->filter.assoc = rt->assoc.ids;
        rt->filter.n_assoc = rt->assoc.n;
    }
    return 0;
}

void runtime_close(struct runtime *rt)
{
    assoc_set_free(&rt->assoc);
    pool_free(rt->pool);
    s3_client_free(rt->s3);
    creds_provider_free(rt->creds);
    memset(rt, 0, sizeof *rt);
}
