/* config_source: where the configuration comes from, so that one image
 * serves every environment:
 *   -c FILE | -c s3://BUCKET/KEY     (the option wins)
 *   $REPART_CONFIG_YAML              the YAML text itself (a container's env)
 *   $REPART_CONFIG                   a file or s3://BUCKET/KEY
 *   ./config.yml
 * An s3:// configuration is read with the AWS credential chain, the region of
 * $AWS_REGION / $AWS_DEFAULT_REGION (us-east-1 without) and the endpoint of
 * $AWS_ENDPOINT_URL_S3 / $AWS_ENDPOINT_URL (path-style requests when one is
 * set, virtual-hosted on AWS). Then config_apply_env. Errors are ERR_USAGE
 * (exit 2) naming the source. */
#ifndef REPART_CONFIG_SOURCE_H
#define REPART_CONFIG_SOURCE_H

#include "config.h"
#include "err.h"

/* path and from: cli_opts.config_path / config_from (CLI_CONFIG_*). */
int config_source_load(const char *path, int from, struct config *cfg, struct err *e);

#endif
