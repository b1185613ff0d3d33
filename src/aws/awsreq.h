/* awsreq: one SigV4-signed request to an AWS API that answers JSON (SQS's
 * JSON protocol, the SiteWise API), over a curl handle the caller keeps
 * (connection reuse): credentials, signing, the headers, TLS settings,
 * timeouts, a bounded answer, cancellation. The caller decides what the
 * answer means and whether to try again (retry.h).
 *
 * Left for later (issue 16): the retry loop of each client, and the S3
 * client and the credential endpoints, which still drive curl themselves. */
#ifndef REPART_AWSREQ_H
#define REPART_AWSREQ_H

#include <signal.h>
#include <stddef.h>

#include <curl/curl.h>

#include "creds.h"
#include "err.h"
#include "strbuf.h"

/* A header that is signed and sent as given (name in lower case). */
struct awsreq_header {
    const char *name;
    const char *value;
};

struct awsreq {
    CURL *curl;
    struct creds_provider *creds;
    const char *service, *region;       /* SigV4 scope */
    const char *method;                 /* "GET" or "POST" */
    const char *url;                    /* what is requested */
    const char *host, *path, *query;    /* as signed (query NULL: none) */
    const struct awsreq_header *headers;
    size_t n_headers;
    const char *body;                   /* POST */
    size_t body_len;
    long connect_ms, timeout_ms;
    long low_speed_secs;                /* > 0: fail when no byte moves for this long */
    size_t max_answer;                  /* a longer answer is cut: too_long */
    const volatile sig_atomic_t *cancel;  /* NULL: none */
};

struct awsreq_answer {
    CURLcode cc;                /* CURLE_OK: status is the server's */
    long status;
    struct strbuf body;         /* the answer's body (NUL-terminated) */
    int too_long, cancelled;
    char errtype[128];          /* x-amzn-ErrorType, its name part ("" none) */
    char error[CURL_ERROR_SIZE];/* the transport error when cc != CURLE_OK */
    char akid[256];             /* what was sent in the clear, for awsreq_redact */
    char token[4096];
};

/* Sends rq once. -1 (e set) only when nothing could be sent: credentials,
 * signing, memory. Free ans with awsreq_answer_free (it wipes the token). */
int awsreq_once(const struct awsreq *rq, struct awsreq_answer *ans, struct err *e);

/* Replaces the access key id and session token sent with "***" in text
 * (a server's message may quote them). */
void awsreq_redact(const struct awsreq_answer *ans, char *text);

void awsreq_answer_free(struct awsreq_answer *ans);

#endif
