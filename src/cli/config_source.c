#include "config_source.h"

#include <stdlib.h>
#include <string.h>

#include "awscfg.h"
#include "cli.h"
#include "creds.h"
#include "s3.h"
#include "s3_url.h"

#define CONFIG_S3_MAX (1024 * 1024)

static int sink(void *ud, const void *p, size_t n)
{
    struct bytebuf *b = ud;
    if (b->len + n > CONFIG_S3_MAX)
        return 1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        unsigned char *d = realloc(b->data, cap);
        if (!d)
            return 1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static int load_s3(const char *url, struct config *cfg, struct err *e)
{
    const char *b = url + 5, *slash = strchr(b, '/');
    char bucket[256];
    if (!slash || slash == b || !slash[1] || (size_t)(slash - b) >= sizeof bucket)
        return err_setk(e, ERR_USAGE, "config %s: expected s3://BUCKET/KEY", url);
    memcpy(bucket, b, (size_t)(slash - b));
    bucket[slash - b] = '\0';
    /* No config yet: the region and the endpoint come from where the AWS CLI
     * takes them (environment, profile), by the same resolver as every client. */
    char region[AWSCFG_REGION_MAX + 1], endpoint[AWSCFG_URL_MAX];
    int k = awscfg_region(NULL, NULL, region, sizeof region, NULL, e);
    if (k < 0)
        return -1;
    if (k == 0)
        region[0] = '\0';
    int configured = awscfg_endpoint(AWSCFG_S3, NULL, region, endpoint, sizeof endpoint, NULL, e);
    if (configured < 0)
        return -1;
    struct s3_config sc = {.region = region, .endpoint_url = "", .path_style = configured == 1,
                           .max_retries = 3};
    struct creds_provider *cp = creds_provider_new();
    if (!cp)
        return err_set(e, "out of memory");
    struct s3_client *s3 = s3_client_new(&sc, cp, e);
    int rc = -1;
    struct bytebuf buf = {0};
    if (s3) {
        rc = s3_get(s3, bucket, slash + 1, -1, -1, sink, &buf, NULL, e);
        if (rc != 0 && e->kind == ERR_CANCELLED)
            err_setk(e, ERR_USAGE, "larger than %d bytes", CONFIG_S3_MAX);
        if (rc == 0)
            rc = config_load_buffer((const char *)buf.data, buf.len, url, cfg, e);
        else
            err_prefix(e, "config %s: ", url);
    }
    bytebuf_free(&buf);
    s3_client_free(s3);
    creds_provider_free(cp);
    if (rc != 0)
        e->kind = ERR_USAGE;
    return rc;
}

int config_source_load(const char *path, int from, struct config *cfg, struct err *e)
{
    const char *yaml = getenv("REPART_CONFIG_YAML");
    int rc;
    if (from != CLI_CONFIG_OPTION && yaml && *yaml)
        rc = config_load_buffer(yaml, strlen(yaml), "$REPART_CONFIG_YAML", cfg, e);
    else if (strncmp(path, "s3://", 5) == 0)
        rc = load_s3(path, cfg, e);
    else
        rc = config_load_file(path, cfg, e);
    if (rc == 0)
        rc = config_apply_env(cfg, e);
    return rc;
}
