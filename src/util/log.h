/* log: what a person (text) or a machine (JSON lines) sees of a run.
 *
 * Library modules return errors as values; the pipeline reports progress
 * through this module, which the CLI configures. Thread-safe: lines from
 * days processed in parallel never interleave mid-line. On a terminal a live
 * progress line is kept at the bottom of stderr. */
#ifndef REPART_LOG_H
#define REPART_LOG_H

#include <stdio.h>

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* Sets up the process-wide logger. `out` receives info/debug lines,
 * `err` warnings and errors (text) — in JSON mode everything goes to `out`.
 * verbosity: LOG_INFO by default, LOG_WARN with -q, LOG_DEBUG with -v.
 * progress: 1 to draw a live progress line on `err` (only when it is a tty). */
void log_setup(FILE *out, FILE *err, enum log_format fmt, int verbosity, int progress);

/* A line about `day` ("2023-01-05", or NULL for the run as a whole). In JSON
 * mode one object per line: {"timestamp":"2023-01-05T10:00:00.123Z",
 * "level":..., "day":..., "event":..., [numeric fields,] "msg":...}; `event` is
 * a short machine name ("committed", "skip", "failed", "summary", ...), may be
 * NULL. The message is escaped (log_escape). */
/* Text from outside (keys, queue URLs, codes, messages) made safe for a log
 * line: control bytes, non-ASCII, '"' and '\\' become '?', and at most n - 4
 * characters are kept ("..." marks the cut). out has n bytes (n >= 4);
 * returns out. */
const char *log_quote(const char *s, char *out, size_t n);

void log_msg(enum log_level lvl, const char *day, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A numeric field of a JSON log line (objects, bytes, records, seconds...),
 * for CloudWatch Logs Insights queries and metric filters. Text lines do not
 * show them (the message says the same in words). */
struct log_field {
    const char *name;
    double value;
    int integer;          /* 1: written as an integer */
};
#define LOG_INT(n, v) ((struct log_field){(n), (double)(v), 1})
#define LOG_NUM(n, v) ((struct log_field){(n), (double)(v), 0})

/* log_msg with numeric fields: in JSON mode each becomes a member of the
 * line's object (after "event", before "msg"). */
void log_event(enum log_level lvl, const char *day, const char *event,
               const struct log_field *fields, size_t n_fields, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Copies `in` into out[size] with every byte that would not copy back as
 * itself escaped as \xHH: control characters and bytes that are not valid
 * UTF-8 (an object key may hold any bytes). Valid UTF-8 text is kept. Always
 * NUL-terminates (truncating). Returns out. Every log line goes through it. */
char *log_escape(const char *in, char *out, size_t size);

/* Replaces the live progress line (no-op unless enabled and a tty). */
void log_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Removes the progress line (call before the final summary). */
void log_progress_done(void);

int log_json(void);   /* 1 in JSON mode */

#endif
