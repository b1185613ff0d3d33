#include "runtime.h"

#include "lease.h"
#include "locking.h"
#include "log.h"
#include "stop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* An optional positive integer from the environment (0 when unset). */
static int env_long(const char *name, long max, long *out, struct err *e)
{
    const char *v = getenv(name);
    *out = 0;
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || x < 1 || x > max)
        return err_setk(e, ERR_USAGE, "%s=%s: expected an integer within 1..%ld", name, v, max);
    *out = x;
    return 0;
}

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
        .write = {
            .sse = config_sse_name(cfg->s3.upload.sse),
            .kms_key_id = cfg->s3.upload.kms_key_id,
            .bucket_key = cfg->s3.upload.bucket_key,
            .storage_class = config_storage_class_name(cfg->s3.upload.storage_class),
            .acl = config_acl_name(cfg->s3.upload.acl),
            .tagging = cfg->s3.upload.tags,
            .expected_owner = cfg->s3.upload.expected_bucket_owner,
            .owner_bucket = cfg->s3.repartitioned.bucket_name,
        },
        /* raised only where stop_install() was called (stop.h) */
        .cancel = stop_flag(),
    };
    /* Tuning for tests and odd networks; unset = the client's defaults. */
    long timeout_ms, retry_base_ms, max_retries, page_size;
    if (env_long("REPART_S3_TIMEOUT_MS", 600000, &timeout_ms, e) != 0 ||
        env_long("REPART_S3_RETRY_BASE_MS", 60000, &retry_base_ms, e) != 0 ||
        env_long("REPART_S3_MAX_RETRIES", 100, &max_retries, e) != 0 ||
        env_long("REPART_S3_MIN_SPEED_BPS", 1L << 30, &sc.min_speed_bps, e) != 0 ||
        env_long("REPART_S3_MIN_SPEED_SECS", 3600, &sc.min_speed_secs, e) != 0 ||
        env_long("REPART_S3_DEADLINE_SECS", 86400, &sc.deadline_secs, e) != 0 ||
        env_long("REPART_STALE_UPLOAD_SECS", 30L * 86400, &rt->stale_upload_secs, e) != 0 ||
        env_long("REPART_S3_LIST_PAGE_SIZE", 1000, &page_size, e) != 0)
        return -1;
    sc.list_page_size = (int)page_size;  /* tests: days of many pages with few objects */
    sc.timeout_ms = timeout_ms;
    sc.retry_base_ms = retry_base_ms;
    sc.max_retries = (int)max_retries;
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
    if (flags & RUNTIME_WRITES) {
        char off[LOCKING_TEXT_MAX];
        int ttl;
        if (lease_ttl_secs(1800, &ttl, e) != 0 ||  /* a bad REPART_LEASE_TTL_SECS: exit 2 */
            locking_setup(rt->s3, cfg, &rt->locking, off, sizeof off, e) != 0)
            return -1;
        if (!rt->locking)
            log_msg(cfg->locking == CONFIG_LOCK_OFF ? LOG_INFO : LOG_WARN, NULL, "locking_off",
                    "%s", off);
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
