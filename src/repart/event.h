/* event: S3 "object created" events, in every envelope AWS delivers them,
 * mapped to the cold-tier days they touch (`repart event`, `repart watch`).
 *
 * One document (a file, stdin, or one SQS message body) may be:
 *   - an S3 Event Notification     {"Records":[{"eventSource":"aws:s3","eventName":..,"s3":{..}}]}
 *     (also what a Lambda function receives from S3). Keys are form-URL-encoded:
 *     '+' is a space, %XX a byte.
 *   - an SQS message as Lambda passes it {"Records":[{"eventSource":"aws:sqs","body":"<doc>"}]},
 *     or the output of `aws sqs receive-message` {"Messages":[{"Body":"<doc>"}]}
 *   - an SNS envelope {"Type":"Notification","Message":"<doc>",..} (SNS -> SQS without
 *     raw delivery), or a Lambda SNS event {"Records":[{"EventSource":"aws:sns","Sns":{..}}]}
 *   - an EventBridge event {"source":"aws.s3","detail-type":"Object Created","detail":{..}};
 *     its key is NOT URL-encoded (AWS S3 User Guide, "EventBridge event message
 *     structure": detail.object.key is the plain key, unlike notification keys).
 *   - the S3 test message {"Service":"Amazon S3","Event":"s3:TestEvent",..}, or an SNS
 *     SubscriptionConfirmation / UnsubscribeConfirmation: nothing to do (doc->ignored).
 * Envelopes nest (EventBridge -> SNS -> SQS -> Lambda); at most EVENT_NEST_MAX
 * documents inside strings.
 *
 * Errors (kind ERR_DATA) are for documents that cannot be understood: bad
 * JSON (with line and column), a wrong type at any path this module reads,
 * an unknown shape. They name the input and the JSON path. A record that is
 * understood but not usable (not ObjectCreated, another bucket, outside the
 * data prefix, not under a day partition, a key with a bad %-escape) is not
 * an error: it is skipped with a reason the CLI logs. */
#ifndef REPART_EVENT_H
#define REPART_EVENT_H

#include <stddef.h>
#include "day.h"
#include "err.h"

#define EVENT_DOC_MAX   (16u * 1024 * 1024)  /* bytes of one document (a Lambda batch is <= 6 MB) */
#define EVENT_NEST_MAX  4                    /* JSON documents inside strings, e.g. SNS in SQS in Lambda = 2 */
#define EVENT_KEY_MAX   1024                 /* S3 key limit, after decoding */
#define EVENT_SKIP_MAX  10000                /* reasons kept by a batch; more are only counted */

enum {
    EVENT_FROM_S3 = 1,           /* an S3 Event Notification record (key was URL-decoded) */
    EVENT_FROM_EVENTBRIDGE = 2,  /* an EventBridge event (key taken as it is) */
};

/* One object event. Strings are owned by the event_doc. */
struct event_record {
    int   from;         /* EVENT_FROM_* */
    char *where;        /* JSON path inside the document, e.g. "Records[0].body.Records[2]" */
    char *bucket;       /* NULL when unknown (only for skipped records) */
    char *key;          /* decoded key; NULL when it could not be decoded (see skip) */
    char *event_name;   /* "ObjectCreated:Put", or EventBridge's "Object Created" */
    char *etag;         /* NULL when absent */
    long long size;     /* -1 when absent */
    int   created;      /* 1 when the event announces a new object (ObjectCreated:*, Object Created) */
    char *skip;         /* NULL, or why this record cannot be used (bad %-escape,
                           unsupported eventSource); event_record_day reports it */
};

struct event_doc {
    struct event_record *v;
    size_t n, cap;
    int   ignored;       /* 1: s3:TestEvent or an SNS (un)subscription confirmation */
    char *ignored_what;  /* e.g. "s3:TestEvent" when ignored, else NULL */
};

/* Parses one document of any shape above (`json` need not be NUL-terminated;
 * at most EVENT_DOC_MAX bytes). `name` (e.g. the file name or "sqs message
 * <id>") starts every error message. On success *out holds the records (maybe
 * none) and the caller frees it with event_doc_free; on error *out is empty. */
int  event_parse(const char *json, size_t len, const char *name, struct event_doc *out,
                 struct err *e);
void event_doc_free(struct event_doc *d);

/* Which events count: the cold tier's bucket and data prefix (from config). */
struct event_filter {
    const char *bucket;       /* cold_tier.bucket_name */
    const char *data_prefix;  /* cold_tier.data_prefix, e.g. "raw/"; NULL or "" with
                                 agg_prefix set: raw is not selected */
    const char *agg_prefix;   /* cold_tier.agg_prefix when agg is selected, else NULL:
                                 a key under it names a day of the agg dataset */
};

/* Maps a record to the day it adds data to: 1 with *day set (day->ds: the
 * dataset whose prefix holds the key), or 0 with the
 * reason in why[why_size] (e.g. `s3://b/raw/x: ObjectRemoved:Delete is not a
 * new object`). Keys in reasons are quoted printable and bounded. */
int event_record_day(const struct event_record *r, const struct event_filter *f,
                     struct day *day, char *why, size_t why_size);

/* Days touched by many documents (watch gathers a batch of SQS messages;
 * `repart event` reads one or more files). Zero-initialise before use. */
struct event_batch {
    struct day_list days;   /* sorted ascending, unique */
    char  **skipped;        /* reasons, "<name>: <where>: <why>", at most EVENT_SKIP_MAX */
    size_t  n_skipped_kept; /* entries in skipped[] */
    size_t  n_skipped;      /* all skipped records (also those not kept) */
    size_t  n_docs;         /* documents added successfully */
    size_t  n_ignored;      /* of which test events / confirmations */
    size_t  n_records;      /* object records seen, used or skipped */
    size_t  n_used;         /* records that named a day */
};

/* What one document contributed (for watch: message -> days). */
struct event_doc_days {
    struct day_list days;   /* sorted, unique; free with day_list_free */
    int    ignored;         /* the document was a test event / confirmation */
    size_t n_records, n_used, n_skipped;
};

/* Parses one document and merges its days into the batch. `doc_days` may be
 * NULL; otherwise it is overwritten (also when the document names no day).
 * On error (bad document, ERR_DATA; no memory) the batch is unchanged and
 * doc_days is empty. */
int event_batch_add(struct event_batch *b, const char *json, size_t len, const char *name,
                    const struct event_filter *f, struct event_doc_days *doc_days,
                    struct err *e);
void event_batch_free(struct event_batch *b);

/* Inserts d into a sorted unique day list (no-op when present). 0 / -1 on OOM. */
int event_day_list_add(struct day_list *l, const struct day *d);

#endif
