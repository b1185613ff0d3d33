/* watch: the SQS worker loop of `repart watch`: receive S3 event messages,
 * gather them into a batch, run the pipeline once for the union of the
 * days they name, then delete exactly the messages whose days all
 * committed.
 *
 * One batch:
 *   1. gather: long-poll ReceiveMessage (10 per call) until the batch holds
 *      `batch_messages` messages, or `quiet_seconds` pass without a new
 *      message, or `batch_seconds` have passed since its first message.
 *      Each message is mapped to its days (event_batch_add):
 *        - work:    it names at least one day;
 *        - no work: an s3:TestEvent / SNS confirmation, or every record is
 *                   skipped (another bucket, outside the prefix, a delete):
 *                   deleted with the batch, it names nothing to do;
 *        - bad:     not an event document (bad JSON, unknown shape): left
 *                   alone, so that it comes back after its visibility
 *                   timeout and, after maxReceiveCount receives, moves to
 *                   the dead-letter queue. Logged with the reason.
 *      The same MessageId received twice in a batch (SQS delivers at least
 *      once) counts once; the newest receipt handle is kept.
 *   2. process: the pipeline runs once for the union of the days.
 *   3. settle: DeleteMessageBatch for every no-work message and every work
 *      message whose days are all DAY_DONE or DAY_NOTHING_NEW. A message
 *      that names a failed day is not deleted: it comes back after its
 *      visibility timeout and its days run again (processing is idempotent).
 * While a batch is held (from its first message to its deletion) a
 * heartbeat thread extends the visibility of its messages
 * (ChangeMessageVisibilityBatch to `visibility` seconds) every
 * visibility/2 seconds, so a long day is not handed to another worker.
 *
 * Stopping (the `stop` flag, raised by SIGTERM/SIGINT): no new receive;
 * a batch still gathering is handed back at once (visibility 0, nothing
 * deleted); a batch whose pipeline runs finishes, its committed messages
 * are deleted, then watch_run returns.
 *
 * `once`: the first receive of each batch waits only the quiet window; when
 * it finds nothing new the queue counts as drained and watch_run returns.
 * Messages that come back within the run after their day failed or that
 * were bad are not taken again (they are left for the next run).
 *
 * Logs (log_msg): one line per batch (messages, days, committed, failed,
 * deleted, left), every skipped record, every bad message, failed deletes. */
#ifndef REPART_WATCH_H
#define REPART_WATCH_H

#include <signal.h>
#include <stddef.h>
#include "day.h"
#include "err.h"
#include "event.h"
#include "pipeline.h"
#include "sqs.h"

enum watch_msg_state {
    WATCH_MSG_WORK = 0,    /* names days */
    WATCH_MSG_NOWORK,      /* test event, or nothing usable: delete */
    WATCH_MSG_BAD,         /* not an event document: leave for the dead-letter queue */
};

struct watch_msg {
    char *id;                    /* MessageId (owned) */
    char *receipt;               /* newest receipt handle (owned) */
    int   receive_count;         /* ApproximateReceiveCount, 0 when unknown */
    enum watch_msg_state state;
    struct day_list days;        /* WORK: its days, sorted, unique */
    int   held;                  /* 1: the heartbeat extends it (work / no work, not yet settled) */
    int   deletable;             /* set by watch_batch_settle */
};

/* A batch of messages. Zero-initialise; free with watch_batch_free. */
struct watch_batch {
    struct watch_msg *v;
    size_t n, cap;
    size_t n_dup;                /* receipts of a message already in the batch */
    struct event_batch ev;       /* ev.days: the union of the days; skip reasons */
};

/* Adds a received message: parses its body with `f` and sets its state. A
 * MessageId already in the batch only takes the new receipt handle
 * (*is_dup = 1). For a bad message, `bad` (may be NULL) gets the reason.
 * Returns the message (owned by the batch, valid until the next add), or
 * NULL when out of memory (e). */
struct watch_msg *watch_batch_add(struct watch_batch *b, const struct sqs_message *m,
                                  const struct event_filter *f, int *is_dup, struct err *bad,
                                  struct err *e);

/* Marks what to delete after the pipeline ran: results[i] is the outcome of
 * b->ev.days.v[i] (n == b->ev.days.n). No-work messages are deletable; a
 * work message is deletable when each of its days is DAY_DONE or
 * DAY_NOTHING_NEW (a day missing from results counts as failed).
 * Returns the number of deletable messages. */
size_t watch_batch_settle(struct watch_batch *b, const struct day_result *results, size_t n);

void watch_batch_free(struct watch_batch *b);

/* "2023-01-05, 2023-01-07" (at most 8 days, then "and N more") into buf. */
char *watch_days_text(const struct day *days, size_t n, char *buf, size_t size);

/* Runs the pipeline for days[0..n), filling results[0..n) (allocated by the
 * caller). */
typedef void (*watch_process_fn)(void *ctx, const struct day *days, size_t n,
                                 struct day_result *results);

struct watch_params {
    int batch_messages;          /* 1..10000 */
    int batch_seconds;           /* >= 1 */
    int quiet_seconds;           /* 0..20 */
    int visibility;              /* seconds >= 1: receive with it, extend to it */
    int once;                    /* drain, then return */
    const struct event_filter *filter;
    const volatile sig_atomic_t *stop;   /* raised by a signal; also the cancel flag of `recv` */
    watch_process_fn process;
    void *process_ctx;
};

/* Three clients of the same queue, each used by one thread: `recv` for
 * ReceiveMessage (its cancel flag should be params.stop, so a long poll ends
 * at once on a signal), `ctl` for deletes and releases (no cancel flag: a
 * batch that finished must still be deleted after a signal), `beat` for the
 * heartbeat thread (its cancel flag must be `beat_cancel`, which watch_run
 * raises to stop the heartbeat). */
struct watch_clients {
    struct sqs_client *recv, *ctl, *beat;
    volatile sig_atomic_t *beat_cancel;
};

struct watch_totals {
    size_t batches, messages, bad, nowork, duplicates;
    size_t days_run, days_failed;        /* summed over batches */
    size_t deleted, left, released;
    size_t delete_failures;
};

/* Runs batches until `stop`, or with `once` until the queue is drained.
 * Returns 0 then, or -1 when the queue cannot be used (receive failing with
 * something other than a transient error, e.g. the queue was deleted or
 * access is denied) with e set; a transient receive failure is retried with
 * backoff (with `once`: it ends the run with -1). */
int watch_run(const struct watch_params *p, const struct watch_clients *c,
              struct watch_totals *tot, struct err *e);

#endif
