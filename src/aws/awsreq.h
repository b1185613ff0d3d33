/* awsreq: the one HTTP engine of repart's AWS clients (S3, SQS, STS, SSO,
 * IMDS, the container endpoint, the SiteWise API).
 *
 * Three levels:
 * - awsreq_transfer: one exchange on a curl handle the caller keeps
 *   (connection reuse). The only place where repart performs a transfer: TLS
 *   settings, protocols, no redirects, paths as signed, timeouts, the body
 *   sent, the answer handed to callbacks.
 * - awsreq_sign_headers: the header lines of a SigV4-signed request.
 * - awsreq_once: one request to an API that answers a small document (SQS's
 *   JSON, the SiteWise API, STS): credentials, signing, a bounded answer,
 *   cancellation.
 * Retries: every client runs its attempts through retry_run (retry.h) with
 * a policy from awsreq_retry_policy. */
#ifndef REPART_AWSREQ_H
#define REPART_AWSREQ_H

#include <signal.h>
#include <stddef.h>

#include <curl/curl.h>

#include "creds_types.h"
#include "err.h"
#include "retry.h"
#include "sigv4.h"
#include "strbuf.h"

/* ---- the transport ---- */

enum awsreq_send {
    AWSREQ_SEND_NONE,    /* no body (GET, HEAD, DELETE) */
    AWSREQ_SEND_FIELDS,  /* body from memory as one block (POST; a PUT with an empty body) */
    AWSREQ_SEND_STREAM,  /* body read from memory by curl, rewindable (PUT) */
};

typedef size_t (*awsreq_data_fn)(char *p, size_t size, size_t n, void *ud);
typedef int (*awsreq_progress_fn)(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                                  curl_off_t ultotal, curl_off_t ulnow);

struct awsreq_xfer {
    const char *method, *url;
    struct curl_slist *headers;      /* as sent (NULL: none) */
    enum awsreq_send send;
    const void *body;
    size_t body_len;
    int no_proxy;                    /* link-local and loopback endpoints: no proxy */
    CURLSH *share;                   /* NULL: none */
    long connect_ms, timeout_ms;
    long low_speed_bps, low_speed_secs;  /* > 0: fail below this speed for this long */
    awsreq_data_fn on_body;          /* NULL: the body is dropped */
    void *body_ud;
    awsreq_data_fn on_header;        /* NULL: none */
    void *header_ud;
    awsreq_progress_fn on_progress;  /* NULL: none; nonzero from it aborts */
    void *progress_ud;
};

struct awsreq_result {
    CURLcode cc;                 /* CURLE_OK: status is the server's */
    long status;                 /* the last answer's status; 0: none */
    long long sent;              /* body bytes sent */
    char error[CURL_ERROR_SIZE]; /* curl's detail when cc != CURLE_OK ("" none) */
};

/* Initialises libcurl once for the process (never cleaned up: handles may
 * live until exit). 0, or -1 with e set. */
int awsreq_global_init(struct err *e);

/* A new curl handle for awsreq_transfer (libcurl initialised first); NULL
 * when it cannot be made. Free with curl_easy_cleanup. */
CURL *awsreq_handle_new(void);

/* One exchange on h (reset first). Never fails by itself: r says what happened. */
void awsreq_transfer(CURL *h, const struct awsreq_xfer *x, struct awsreq_result *r);

/* ---- signing ---- */

struct awsreq_sig {
    const struct creds *cr;
    const char *service, *region, *method;
    const char *path, *query;              /* as signed (query NULL: none) */
    const char *payload_hash;              /* hex SHA-256 of the body */
    const struct sigv4_header *headers;    /* "host" and the others to sign (at most 24) */
    size_t n_headers;
    int normalize_path;                    /* 0 for S3 */
};

/* The header lines of a signed request: the given headers, x-amz-date, the
 * session token, Authorization, and unsigned "Expect:" (no 100-continue
 * round trip) and User-Agent. NULL with e set on failure; free with
 * curl_slist_free_all. Temporary copies of secrets are wiped. */
struct curl_slist *awsreq_sign_headers(const struct awsreq_sig *s, struct err *e);

/* ---- retries ---- */

/* A retry policy from the AWS settings (max_attempts, retry_mode; awscfg.h):
 * default_attempts unless max_attempts is set; in adaptive mode all requests
 * of the process share one hold. */
void awsreq_retry_policy(struct retry_policy *p, int default_attempts, long base_ms, long cap_ms,
                         const volatile sig_atomic_t *cancel, const char *what);

/* ---- one request to a small-answer API ---- */

/* A header that is signed (unless anonymous) and sent as given (name in
 * lower case). */
struct awsreq_header {
    const char *name;
    const char *value;
};

struct awsreq {
    CURL *curl;
    int anonymous;                      /* not signed (STS web identity) */
    const struct creds *cr;             /* signed: the credentials */
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
    int secret_answer;                  /* the answer holds secrets (STS): its buffer is
                                           sized once and wiped when freed */
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
