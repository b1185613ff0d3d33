/* creds_types: a set of AWS credentials, the plain data the credential
 * chain (creds.h) produces and the request engine (awsreq.h) signs with. */
#ifndef REPART_CREDS_TYPES_H
#define REPART_CREDS_TYPES_H

struct creds {
    char access_key[256];
    char secret_key[256];
    char session_token[4096];  /* "" when none */
    long long expires_at;      /* unix seconds; 0 = never */
    char source[64];           /* "env", "profile:NAME", "web-identity", "container", "imds"
                                  (safe to print) */
};

#endif
