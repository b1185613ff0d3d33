/* creds_sts: the pure parts of the web-identity credential provider
 * (AssumeRoleWithWebIdentity): the form encoding of the request and the
 * parser of STS's XML answer. The network part lives in creds.c. */
#ifndef REPART_CREDS_STS_H
#define REPART_CREDS_STS_H

#include <stddef.h>

#include "err.h"

/* The credentials of an STS answer (creds.c copies them into its own
 * struct creds: this module stays below it). Secrets: wipe after use. */
struct creds_sts_result {
    char access_key[256];
    char secret_key[256];
    char session_token[4096];
    long long expires_at;      /* unix seconds */
};

/* Largest STS answer we accept (the real one is about 1.5 KiB). */
#define CREDS_STS_MAX_XML (64 * 1024)

/* What an STS error document said; printable ASCII only, truncated. */
struct creds_sts_error {
    char code[64];
    char message[256];
};

/* Parses an AssumeRoleWithWebIdentity or AssumeRole answer.
 *  0: a result document; access key, secret, session token and expiry are in
 *     *out (source left empty).
 *  1: an <ErrorResponse><Error><Code/><Message/>; *se filled (code may be "").
 * -1: anything else (not XML, a DTD, missing or oversized fields, more than
 *     CREDS_STS_MAX_XML bytes); e says what, never quoting the document.
 * *out is wiped unless the result is 0. Never reads past len. */
int creds_sts_parse(const char *xml, size_t len, struct creds_sts_result *out,
                    struct creds_sts_error *se, struct err *e);

/* Appends the application/x-www-form-urlencoded form of s[0..len) to out
 * (unreserved A-Z a-z 0-9 - . _ ~ kept, everything else %XX). Returns the
 * new length of out, or (size_t)-1 when it would not fit in cap (including
 * the NUL). out must be NUL-terminated at *used. */
size_t creds_form_append(char *out, size_t cap, size_t used, const char *s, size_t len);

#endif
