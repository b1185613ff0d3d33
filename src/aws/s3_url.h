/* s3_url: where S3 requests go — endpoint resolution and request URLs.
 *
 * Default (no endpoint URL): AWS, virtual-hosted
 * https://BUCKET.s3.REGION.amazonaws.com/KEY (s3-fips, s3.dualstack,
 * s3-fips.dualstack with AWS_USE_FIPS_ENDPOINT / AWS_USE_DUALSTACK_ENDPOINT) (path style on
 * https://s3.REGION.amazonaws.com/BUCKET/KEY when asked, or when the bucket
 * name cannot be a host label, e.g. it holds a '.'). With an endpoint URL
 * (awscfg_endpoint: the config, AWS_ENDPOINT_URL_S3, a services section, ...):
 * ENDPOINT/BUCKET/KEY in path style, else SCHEME://BUCKET.HOST[:PORT]/KEY.
 * Keys are percent-encoded once (SigV4 rules, '/' kept). */
#ifndef REPART_S3_URL_H
#define REPART_S3_URL_H

#include <stddef.h>
#include "err.h"

struct s3_endpoint {
    char scheme[8];        /* "https" or "http" */
    char host[256];        /* lower-case host name or IP literal (IPv6 in brackets) */
    int port;              /* 0: the scheme's default */
    char base_path[256];   /* "" or "/some/prefix" (no trailing '/') */
    char region[64];
    int path_style;
    int aws;               /* no endpoint URL: the AWS host naming applies */
    int fips, dualstack;   /* with aws: from awscfg (set by s3_endpoint_init) */
};

/* Fills *ep from a region ("" or NULL: us-east-1) and an endpoint URL
 * ("" or NULL: AWS). Kind ERR_USAGE on a bad URL or region. */
int s3_endpoint_init(struct s3_endpoint *ep, const char *region, const char *endpoint_url,
                     int path_style, struct err *e);

/* 0 when `bucket` is a usable S3 bucket name (3-63 of [a-z0-9.-], starting
 * and ending with a letter or digit; legacy upper case and '_' accepted for
 * path style); else -1 with ERR_USAGE. */
int s3_bucket_name_check(const char *bucket, struct err *e);

/* One request's target. All strings malloc'd; free with s3_target_free. */
struct s3_target {
    char *url;    /* full URL as sent (with "?query" when query non-empty) */
    char *host;   /* Host header value (with ":port" when not the default) */
    char *path;   /* the URI path as sent, percent-encoded: what SigV4 signs */
};

/* Builds the target for bucket/key (key NULL: the bucket itself) and a query
 * string that is already encoded (NULL or "" for none). Kind ERR_USAGE for
 * a bad bucket name or a key that is empty or longer than 1024 bytes. */
int s3_target_build(const struct s3_endpoint *ep, const char *bucket, const char *key,
                    const char *query, struct s3_target *t, struct err *e);
void s3_target_free(struct s3_target *t);

#endif
