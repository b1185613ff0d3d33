/* report: the run report (`--report FILE`) and the end-of-run summary.
 *
 * The report is one JSON document: the command, totals, and per day its
 * status, objects, records, bytes and durations; failed days with their
 * error, and the exact command that reruns only them. */
#ifndef REPART_REPORT_H
#define REPART_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include "err.h"
#include "s3.h"
#include "pipeline.h"

struct report_totals {
    size_t days, done, nothing_new, failed;
    size_t stopped;              /* DAY_STOPPED: not started or stopped before the commit */
    size_t uncertain;            /* failed days whose commit is uncertain */
    int signal;                  /* the signal that stopped the run, 0 when none */
    size_t objects, new_objects;
    unsigned long long records, bytes_in, bytes_out;
    double secs;
};

/* Sums the days: new_objects, records and bytes_out count only the days
 * that committed (DAY_DONE); objects and bytes_in every day. */
void report_totals(const struct day_result *r, size_t n, double secs, struct report_totals *t);

/* Writes the JSON report (its schema: docs/report.schema.json) to `path`
 * (report_save). `rerun` may be NULL when nothing failed. `s3` is needed
 * for an s3:// path only (may be NULL otherwise). */
int report_write(const char *path, struct s3_client *s3, const char *command,
                 const struct day_result *r, size_t n, const struct report_totals *t,
                 const char *rerun, struct err *e);

/* Checks a --report destination before any work starts: "-" (standard
 * output), s3://BUCKET/KEY (a key not ending in '/'), or a file whose folder
 * exists and is writable and that is not a directory (an existing file must
 * be writable). ERR_USAGE naming what is wrong. Writes nothing. */
int report_check_path(const char *path, struct err *e);

/* Writes `doc` (indented JSON) to `path`: "-" standard output; s3://BUCKET/KEY
 * a PutObject through `s3` (application/json); else a file, written beside
 * it first and renamed into place (a reader never sees half a report). */
int report_save(const char *path, struct s3_client *s3, json_t *doc, struct err *e);

/* The days a rerun has to do: failed and stopped ones. */
int report_needs_rerun(const struct day_result *r);

/* The status word of a day in reports and summaries. */
const char *report_status_name(enum day_status s);

#endif
