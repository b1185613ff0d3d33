/* sqs: an Amazon SQS client over the AWS JSON 1.0 protocol (POST / with
 * X-Amz-Target: AmazonSQS.<Action>, SigV4 service "sqs"), for `repart watch`
 * and tools.
 *
 * One client = one queue and one curl easy handle (keep-alive between
 * calls). Not thread-safe: use a client from one thread at a time.
 *
 * Endpoint: the explicit `endpoint_url`, else AWS_ENDPOINT_URL_SQS, else
 * AWS_ENDPOINT_URL, else the queue URL's scheme and host
 * (https://sqs.<region>.amazonaws.com for AWS; the legacy queue.amazonaws.com
 * hosts map to the regional endpoint). Region: the one named by an AWS queue
 * URL's host, else the configured one, else us-east-1.
 *
 * Retries: exponential backoff with full jitter on connection errors,
 * timeouts, HTTP 5xx and 429, and throttling / transient error codes; other
 * errors fail at once. Error messages name the call and the queue URL and
 * give AWS's error code and message; never credentials or signatures.
 * Kinds: ERR_NOT_FOUND (queue does not exist), ERR_TRANSIENT (retries
 * exhausted), ERR_CANCELLED (the cancel flag was raised), ERR_USAGE (bad
 * queue URL / endpoint / arguments), ERR_GENERIC (anything else). */
#ifndef REPART_SQS_H
#define REPART_SQS_H

#include <signal.h>
#include <stddef.h>
#include "creds.h"
#include "err.h"

#define SQS_BATCH_MAX      10            /* entries per batch call, messages per receive */
#define SQS_URL_MAX        2048
#define SQS_RESPONSE_MAX   (64u * 1024 * 1024)

struct sqs_config {
    const char *queue_url;      /* required: https://sqs.<region>.amazonaws.com/<account>/<name> */
    const char *region;         /* used when the URL does not name one; NULL/"" = us-east-1 */
    const char *endpoint_url;   /* NULL/"" = from the environment or the queue URL (above) */
    int   max_attempts;         /* tries per call, 0 = default (6) */
    long  connect_timeout_ms;   /* 0 = default (5000) */
    long  timeout_ms;           /* per request, added to a long poll's wait; 0 = default (30000) */
    const volatile sig_atomic_t *cancel;  /* optional: when it becomes non-zero, a call in
                                             progress (also a long poll or a backoff sleep)
                                             stops with ERR_CANCELLED */
};

struct sqs_client;

/* Creates a client; `creds` is borrowed and must outlive it. Validates the
 * queue URL and endpoint (ERR_USAGE). No request is sent. Free with
 * sqs_client_free. */
struct sqs_client *sqs_client_new(const struct sqs_config *cfg, struct creds_provider *creds,
                                  struct err *e);
void sqs_client_free(struct sqs_client *c);

/* What the client resolved (owned by the client): "https://sqs.eu-west-1.amazonaws.com",
 * "eu-west-1", the queue URL. */
const char *sqs_client_endpoint(const struct sqs_client *c);
const char *sqs_client_region(const struct sqs_client *c);
const char *sqs_client_queue_url(const struct sqs_client *c);

/* Requests sent and retries made (for logs and tests). */
struct sqs_stats {
    long long requests, retries;
};
void sqs_client_stats(const struct sqs_client *c, struct sqs_stats *out);

/* ---- ReceiveMessage ---- */

struct sqs_message {
    char  *message_id;
    char  *receipt_handle;
    char  *body;              /* NUL-terminated; body_len bytes (UTF-8, no NUL inside) */
    size_t body_len;
    int    receive_count;     /* ApproximateReceiveCount, 0 when not asked for */
    long long sent_ms;        /* SentTimestamp (ms since the epoch), 0 when not asked for */
};

struct sqs_messages {
    struct sqs_message *v;
    size_t n;
};

struct sqs_receive_opts {
    int max_messages;         /* 1..10 (0 = 10) */
    int wait_seconds;         /* 0..20: long poll */
    int visibility_timeout;   /* seconds 0..43200, or -1 = the queue's default */
    int want_attributes;      /* 1: ask for ApproximateReceiveCount and SentTimestamp */
};

/* Receives up to max_messages (none is not an error). MD5OfBody is
 * checked. *out is overwritten; free with sqs_messages_free (also after an
 * error, where it is empty). */
int  sqs_receive(struct sqs_client *c, const struct sqs_receive_opts *o, struct sqs_messages *out,
                 struct err *e);
void sqs_messages_free(struct sqs_messages *m);

/* ---- batch calls: per-entry results ---- */

struct sqs_entry_result {
    int  ok;                  /* 1 = done */
    int  sender_fault;        /* failure caused by the request (e.g. stale receipt handle) */
    char code[64];            /* e.g. "ReceiptHandleIsInvalid" */
    char message[256];
};

struct sqs_batch_result {
    size_t n, n_ok, n_failed;
    struct sqs_entry_result entry[SQS_BATCH_MAX];   /* in the order of the request */
};

/* DeleteMessageBatch of n (1..10) receipt handles. Returns 0 when the call
 * went through (then see res: some entries may still have failed), -1 when
 * the whole call failed. */
int sqs_delete_batch(struct sqs_client *c, const char *const *receipt_handles, size_t n,
                     struct sqs_batch_result *res, struct err *e);

/* DeleteMessage of one receipt handle. */
int sqs_delete(struct sqs_client *c, const char *receipt_handle, struct err *e);

/* ChangeMessageVisibility: the message becomes visible again `seconds`
 * (0..43200) from now; 0 releases it at once. */
int sqs_change_visibility(struct sqs_client *c, const char *receipt_handle, int seconds,
                          struct err *e);

/* ChangeMessageVisibilityBatch, same timeout for n (1..10) handles; results as
 * for sqs_delete_batch. */
int sqs_change_visibility_batch(struct sqs_client *c, const char *const *receipt_handles,
                                size_t n, int seconds, struct sqs_batch_result *res,
                                struct err *e);

/* ---- SendMessage ---- */

/* Sends body[0..len) (valid UTF-8 of the characters SQS allows, at most
 * 1 MiB); delay_seconds 0..900. The new message id goes to id_out (may be
 * NULL). The MD5 SQS returns is checked. */
int sqs_send(struct sqs_client *c, const char *body, size_t len, int delay_seconds,
             char *id_out, size_t id_size, struct err *e);

/* ---- GetQueueAttributes ---- */

struct sqs_queue_attrs {
    long long visible;            /* ApproximateNumberOfMessages */
    long long not_visible;        /* ApproximateNumberOfMessagesNotVisible (in flight) */
    long long delayed;            /* ApproximateNumberOfMessagesDelayed */
    int  visibility_timeout;      /* seconds; -1 when not returned */
    int  receive_wait;            /* ReceiveMessageWaitTimeSeconds; -1 when not returned */
    char queue_arn[256];          /* "" when not returned */
    char dead_letter_arn[256];    /* from RedrivePolicy; "" = no dead-letter queue */
    int  max_receive_count;       /* from RedrivePolicy; 0 = none */
};

int sqs_get_attributes(struct sqs_client *c, struct sqs_queue_attrs *out, struct err *e);

/* ---- helpers, public for tests ---- */

/* Region named by an AWS SQS host ("sqs.eu-west-1.amazonaws.com" ->
 * "eu-west-1", "queue.amazonaws.com" -> "us-east-1"), into out. Returns 1
 * found, 0 for other hosts (local servers). */
int sqs_region_from_host(const char *host, char *out, size_t out_size);

/* Parses a ...Batch response body into res for n request entries with ids
 * "0".."n-1". Entries absent from the response count as failed. */
int sqs_parse_batch_result(const char *json, size_t len, size_t n, struct sqs_batch_result *res,
                           struct err *e);

/* Parses an error response: code (after any '#' in __type) and message.
 * Returns 0, or -1 when the body is not a JSON error. */
int sqs_parse_error(const char *json, size_t len, char *code, size_t code_size, char *msg,
                    size_t msg_size);

/* 1 for error codes worth retrying (throttling, service unavailable, ...). */
int sqs_code_retryable(const char *code);

#endif
