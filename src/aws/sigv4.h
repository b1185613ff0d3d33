/* sigv4: AWS Signature Version 4 (header-signed requests).
 *
 * Pure functions, no I/O: given a request as it will go on the wire, compute
 * the canonical request, the string to sign and the Authorization header.
 * Checked against the AWS test vectors in tests/data/sigv4/. */
#ifndef REPART_SIGV4_H
#define REPART_SIGV4_H

#include <stddef.h>
#include "err.h"

struct sigv4_header {
    const char *name;   /* any case; canonicalised (lower-cased) by the signer */
    const char *value;  /* trimmed, inner runs of spaces collapsed by the signer */
};

struct sigv4_request {
    const char *method;        /* "GET", "PUT", ... */
    const char *path;          /* URI path exactly as sent, already percent-encoded */
    const char *query;         /* query string as sent, without '?'; NULL or "" for none */
    const struct sigv4_header *headers;  /* every header to sign, including host
                                            and x-amz-date (and x-amz-security-token) */
    size_t n_headers;
    const char *payload_hash;  /* lower-case hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
};

struct sigv4_key {
    const char *access_key;
    const char *secret_key;
    const char *region;        /* "us-east-1" */
    const char *service;       /* "s3", "sqs", "iotsitewise" */
    const char *amz_date;      /* "20150830T123600Z" */
    int normalize_path;        /* 1 for most services: dot segments and '//' removed,
                                  then the path encoded again ("%20" -> "%2520").
                                  0 for S3: the path as sent (build it with
                                  sigv4_uri_encode(key, len, 1)); only bytes that
                                  were left unencoded get encoded, escapes are
                                  upper-cased. Query names/values are decoded
                                  and re-encoded; '+' is a literal plus. */
};

/* Intermediate and final products, for tests and for debugging (never log
 * `authorization`: it holds the signature). All strings are heap-allocated;
 * free with sigv4_result_free. */
struct sigv4_result {
    char *canonical_request;
    char *string_to_sign;
    char *signed_headers;
    char *signature;       /* lower-case hex */
    char *authorization;   /* full "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
};

int  sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
                struct sigv4_result *out, struct err *e);
void sigv4_result_free(struct sigv4_result *r);

/* The SigV4 signing key HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date8), region),
 * service), "aws4_request") into out. date8 is "YYYYMMDD". Returns 0 / -1. */
int  sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
                       const char *service, unsigned char out[32]);

/* Lower-case hex SHA-256 of buf into out (65 bytes incl. NUL). */
void sigv4_sha256_hex(const void *buf, size_t len, char out[65]);

/* Percent-encodes per SigV4/S3 rules: unreserved A-Z a-z 0-9 - _ . ~ kept,
 * everything else %XX (upper-case hex); '/' kept when keep_slash.
 * Returns a malloc'd string (caller frees) or NULL on OOM. */
char *sigv4_uri_encode(const char *s, size_t len, int keep_slash);

/* "20150830T123600Z" for the given time (UTC). */
void sigv4_amz_date(long long unix_seconds, char out[17]);

#endif
