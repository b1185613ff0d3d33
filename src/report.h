/* report: the run report (`--report FILE`) and the end-of-run summary.
 *
 * The report is one JSON document: the command, totals, and per day its
 * status, objects, records, bytes and durations; failed days with their
 * error, and the exact command that reruns only them. */
#ifndef REPART_REPORT_H
#define REPART_REPORT_H

#include <stddef.h>
#include "err.h"
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

void report_totals(const struct day_result *r, size_t n, double secs, struct report_totals *t);

/* Writes the JSON report to `path` ("-" = stdout). `rerun` may be NULL when
 * nothing failed. */
int report_write(const char *path, const char *command, const struct day_result *r, size_t n,
                 const struct report_totals *t, const char *rerun, struct err *e);

/* The days a rerun has to do: failed and stopped ones. */
int report_needs_rerun(const struct day_result *r);

/* The status word of a day in reports and summaries. */
const char *report_status_name(enum day_status s);

#endif
