/* creds: the AWS credential chain.
 *
 * Order (as the AWS SDKs): environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN), AWS_PROFILE (default "default") in ~/.aws/credentials and
 * ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE override the
 * paths), the container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI /
 * _RELATIVE_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE / _TOKEN), EC2
 * IMDSv2. Temporary credentials are refreshed before they expire.
 * Secrets never appear in an error message. */
#ifndef REPART_CREDS_H
#define REPART_CREDS_H

#include "err.h"

struct creds {
    char access_key[256];
    char secret_key[256];
    char session_token[4096];  /* "" when none */
    long long expires_at;      /* unix seconds; 0 = never */
    char source[64];           /* "env", "profile:NAME", "container", "imds" (safe to print) */
};

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

#endif
