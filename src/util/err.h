/* err: errors travel up as values with a message; only the CLI prints them.
 *
 * Convention used by every module: a function returns 0 on success and -1 on
 * failure, filling the caller's `struct err` (which may be NULL when the
 * caller does not care). Messages name what they are about (day, object key,
 * file and byte offset) and never contain secrets. */
#ifndef REPART_ERR_H
#define REPART_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 1024

struct err {
    char msg[ERR_MSG_MAX];
    int  kind;   /* ERR_* below: lets callers tell usage errors from transient ones */
};

enum {
    ERR_GENERIC   = 0,
    ERR_USAGE     = 2,  /* bad command line or configuration: exit 2 */
    ERR_NOT_FOUND = 3,  /* e.g. S3 404 / NoSuchKey */
    ERR_TRANSIENT = 4,  /* retries exhausted on a retryable failure */
    ERR_DATA      = 5,  /* bad input bytes (corrupt Avro, key that does not parse) */
    ERR_CONFLICT  = 6,  /* precondition failed (412) or conflicting write (409) */
    ERR_CANCELLED = 7,  /* stopped on request (signal, a sibling task failed) */
    ERR_UNCERTAIN = 8,  /* a commit whose answer was lost: it may or may not have landed */
    ERR_WIDER     = 9,  /* a source needs a wider output schema than the one already
                           written (merge_wider_schema): write the output again with it */
    ERR_NOT_COMMITTED = 10, /* an append found the day file in the bucket is not the version
                           the index commits (a run stopped between its PUT and its commit,
                           or a damaged file): a rebuild does not need its bytes */
};

/* Sets the message (printf-style) and kind ERR_GENERIC. Returns -1 so that
 * `return err_set(e, "...")` reads naturally. `e` may be NULL. */
int err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Same as err_set with an explicit kind. */
int err_setk(struct err *e, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context: "day 2023-1-5: " + existing message. Keeps the kind.
 * Returns -1. */
int err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void err_clear(struct err *e);

#endif
