/* awscfg: the AWS settings outside repart's own config, read as the AWS CLI v2
 * and the SDKs read them: which profile is in use, its keys in the shared
 * config file, the region, the one endpoint resolver of every service repart
 * calls (S3, SQS, STS, SiteWise, SSO), the CA bundle, and the retry settings.
 *
 * Profile: --profile NAME (awscfg_init), else AWS_PROFILE, else "default".
 * Its keys are read from AWS_CONFIG_FILE (default ~/.aws/config), section
 * [profile NAME] ([default] also for "default").
 *
 * Region: an explicit setting (config file s3.region, --region), then
 * AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`.
 *
 * Endpoint of a service (AWS's "service-specific endpoints" order): an
 * explicit URL (repart's config s3.endpoint_url), AWS_ENDPOINT_URL_<SERVICE>,
 * `endpoint_url` of the service in the profile's `services` section,
 * AWS_ENDPOINT_URL, the profile's `endpoint_url`; all but the explicit one are
 * ignored with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (or the profile's
 * ignore_configured_endpoint_urls = true). Otherwise the AWS endpoint of the
 * region, FIPS (AWS_USE_FIPS_ENDPOINT / use_fips_endpoint) and dual-stack
 * (AWS_USE_DUALSTACK_ENDPOINT / use_dualstack_endpoint) applied. A URL with
 * user:password@ in it is refused, and the message does not quote it.
 *
 * TLS: AWS_CA_BUNDLE, else the profile's ca_bundle, is handed to libcurl
 * (CURLOPT_CAINFO) by every client.
 *
 * Retries: AWS_MAX_ATTEMPTS / max_attempts (1..100, attempts in all, the
 * first included) and AWS_RETRY_MODE / retry_mode (legacy, standard,
 * adaptive).
 *
 * Settings are read once (awscfg_init, or lazily by the first user) and
 * never change afterwards: safe to read from any thread. */
#ifndef REPART_AWSCFG_H
#define REPART_AWSCFG_H

#include <stddef.h>

#include <curl/curl.h>

#include "err.h"

#define AWSCFG_PROFILE_MAX 128
#define AWSCFG_REGION_MAX 63
#define AWSCFG_URL_MAX 1024
#define AWSCFG_PATH_MAX 1024

enum awscfg_service { AWSCFG_S3, AWSCFG_SQS, AWSCFG_STS, AWSCFG_SITEWISE, AWSCFG_SSO };
enum awscfg_retry_mode { AWSCFG_RETRY_DEFAULT, AWSCFG_RETRY_LEGACY, AWSCFG_RETRY_STANDARD,
                         AWSCFG_RETRY_ADAPTIVE };

struct awscfg {
    char profile[AWSCFG_PROFILE_MAX + 1];
    const char *profile_from;      /* "--profile", "AWS_PROFILE" or "default" */
    char config_file[AWSCFG_PATH_MAX];  /* "" when HOME and AWS_CONFIG_FILE are unset */
    char ca_bundle[AWSCFG_PATH_MAX];    /* "" = libcurl's default */
    const char *ca_bundle_from;    /* "AWS_CA_BUNDLE" or "ca_bundle" (NULL when none) */
    int max_attempts;              /* 0 = the client's default */
    int retry_mode;                /* AWSCFG_RETRY_* */
    int fips, dualstack;           /* 0/1 */
    int ignore_endpoints;          /* AWS_IGNORE_CONFIGURED_ENDPOINT_URLS */
};

/* Reads the settings (profile: `profile` when non-NULL, as --profile gives
 * it). Call once, before any thread starts; a second call replaces the
 * settings. ERR_USAGE naming the variable or key on a bad value. */
int awscfg_init(const char *profile, struct err *e);

/* The settings (awscfg_init(NULL) first when it was not called, its error
 * then ignored: main calls awscfg_init itself). Never NULL. */
const struct awscfg *awscfg_get(void);

/* The profile in use now: --profile (awscfg_init), else AWS_PROFILE (read
 * at each call), else "default"; *from (may be NULL) gets "--profile",
 * "AWS_PROFILE" or "default". Not checked (creds does). */
const char *awscfg_profile_name(const char **from);

/* 1 when `r` is a region name (1..63 of a-z 0-9 '-'): the one check. */
int awscfg_region_ok(const char *r);

/* The region: `explicit` (may be NULL or ""; named `explicit_from` in
 * messages), else AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
 * 1 with the region in out and *from (may be NULL) naming its source, 0 when
 * none is set, -1 (ERR_USAGE) when the one found is not a region name. */
int awscfg_region(const char *explicit, const char *explicit_from, char *out, size_t n,
                  const char **from, struct err *e);

/* A key of a profile's section (profile NULL: awscfg_profile_name) of the
 * config file. 1 found (value in out),
 * 0 not, -1 error (file unreadable or too large, value too long). */
int awscfg_profile_value(const char *profile, const char *key, char *out, size_t n,
                         struct err *e);

/* Checks an endpoint URL (`from` names it in messages): http(s), a host, no
 * user:password@, no query or fragment. Copies it to out without trailing
 * '/'. 0 or -1 (ERR_USAGE, the URL not quoted when it holds credentials). */
int awscfg_url_check(const char *url, const char *from, char *out, size_t n, struct err *e);

/* The endpoint of a service: 1 with a configured URL in out (checked,
 * *from names where it came from), 0 with the AWS endpoint of `region`
 * ("https://sts.eu-west-1.amazonaws.com", FIPS and dual-stack applied; for S3
 * "https://s3.REGION.amazonaws.com"; the host itself: awscfg_aws_host), -1
 * on error. `explicit` may be NULL or "". `region` NULL/"": us-east-1 (STS:
 * the global endpoint). */
/* The host name of an AWS service endpoint in `region` (with -fips,
 * dual-stack), as awscfg_endpoint and the S3 client's per-bucket host use
 * it: the one place that spells AWS endpoints. -1 if it does not fit. */
int awscfg_aws_host(enum awscfg_service svc, const char *region, int fips, int dualstack,
                    char *out, size_t n);

int awscfg_endpoint(enum awscfg_service svc, const char *explicit, const char *region,
                    char *out, size_t n, const char **from, struct err *e);

/* Applies the CA bundle to a curl handle (after curl_easy_reset). */
void awscfg_curl_tls(CURL *h);

/* The path of an AWS file: $var (a leading "~/" is HOME), else
 * ~/.aws/<name>. 0, 1 when there is no HOME (out ""), -1 too long. */
int awscfg_file_path(const char *var, const char *name, char *out, size_t n);

/* The SDKs' name of a retry mode ("standard", ...). */
const char *awscfg_retry_mode_name(int mode);



#endif
