/* creds: the AWS credential chain.
 *
 * Order (as the AWS SDKs): environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN; skipped when --profile named the profile), the profile
 * (awscfg_profile_name: --profile, AWS_PROFILE, "default") in ~/.aws/credentials
 * and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE override the
 * paths): access keys, an assume-role profile (role_arn + source_profile or
 * credential_source Environment / Ec2InstanceMetadata / EcsContainer;
 * external_id, role_session_name, duration_seconds; chains up to 5 roles;
 * mfa_serial refused; a SigV4-signed STS AssumeRole), credential_process (run
 * with /bin/sh, its JSON read, its output never quoted), IAM Identity Center
 * (sso_session or legacy sso_start_url: the cached token of `aws sso login`,
 * ~/.aws/sso/cache/<sha1>.json, exchanged by GetRoleCredentials), web identity (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, as
 * Kubernetes IRSA sets them, or a profile with role_arn +
 * web_identity_token_file [+ role_session_name]: an unsigned STS
 * AssumeRoleWithWebIdentity, the token file re-read on every refresh), the
 * container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI /
 * _RELATIVE_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / _TOKEN), EC2
 * IMDSv2. Temporary credentials are refreshed before they expire.
 * Secrets never appear in an error message. */
#ifndef REPART_CREDS_H
#define REPART_CREDS_H

#include "creds_types.h"
#include "err.h"


struct creds_provider;

/* Creates a provider that resolves the chain lazily on first get.
 * Free with creds_provider_free. Thread-safe to share between threads. */
struct creds_provider *creds_provider_new(void);

/* Fixed credentials (tests, or config). Copies the strings. */
struct creds_provider *creds_provider_static(const char *access_key,
                                             const char *secret_key,
                                             const char *session_token);

/* Copies current credentials into *out, resolving or refreshing them first
 * when needed (within 5 minutes of expiry). Thread-safe. */
int creds_provider_get(struct creds_provider *p, struct creds *out, struct err *e);

void creds_provider_free(struct creds_provider *p);

/* ---- helpers, public for tests and fuzzing ---- */



/* Parses a container/IMDS credentials response {"AccessKeyId",
 * "SecretAccessKey", "Token", "Expiration"[, "Code"]} into *out (wiped when
 * it fails after reading the JSON). `what` names the source in messages,
 * which never quote the body. */
int creds_parse_json(const char *body, size_t len, const char *what, struct creds *out,
                     struct err *e);

/* The container endpoint URL the chain would use, from
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (appended to http://169.254.170.2) or
 * AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http to a loopback host,
 * 169.254.170.2 or 169.254.170.23). Returns 1 with the URL in out, 0 when
 * neither variable is set, -1 (with e) when the URL is not allowed. */
int creds_container_url(char *out, size_t out_size, struct err *e);

/* The STS endpoint web identity and assume-role call: awscfg_endpoint
 * (AWSCFG_STS) for the region awscfg_region finds (AWS_ENDPOINT_URL_STS, a
 * services section, AWS_ENDPOINT_URL, the profile's endpoint_url, else
 * https://sts.REGION.amazonaws.com/, ".com.cn" for cn-*, or the global
 * https://sts.amazonaws.com/ without a region), with a '/' path when it has
 * none. 0 with the URL in out, -1 (with e) when a setting is malformed or
 * the URL does not fit. */
int creds_sts_url(char *out, size_t out_size, struct err *e);

#endif
