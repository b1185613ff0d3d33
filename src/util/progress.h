/* progress: the live progress line of a run on a terminal (log_progress;
 * never drawn when stderr is not a tty, nor with -q).
 *
 *   42% | ETA 1m12s | days 3/10, 1 failed | objects 120/300 | 12.3 MB, 4.1 MB/s
 *
 * Totals come from the plan as the days are scanned: the objects and bytes
 * the scanned days have to move; the days not scanned yet are assumed to be
 * like the scanned ones (bytes per day) until they are. With nothing to move
 * the share of days finished is the percentage. Counters are atomics, bumped
 * by the day threads and the transfer pool. */
#ifndef REPART_PROGRESS_H
#define REPART_PROGRESS_H

#include <stdatomic.h>
#include <stddef.h>

struct progress {
    long days_total;
    atomic_long days_done, days_failed, days_scanned;
    atomic_llong objects_done, objects_total;
    atomic_llong bytes_done, bytes_total;
    double t0;   /* monotonic seconds at the start */
};

void progress_init(struct progress *p, long days_total, double now);

/* The day's plan is known: it has `objects` sources of `bytes` to move. */
void progress_planned(struct progress *p, long long objects, long long bytes);
/* A source of `bytes` arrived. */
void progress_fetched(struct progress *p, long long bytes);
/* A day ended (failed: 1 when it failed or stopped). */
void progress_day_done(struct progress *p, int failed);

/* The line for the counters as they are at `now` (monotonic seconds);
 * returns buf. *fraction (may be NULL) gets the share done, 0..1, or -1
 * when unknown. */
char *progress_line(struct progress *p, double now, char *buf, size_t size, double *fraction);

/* log_progress(progress_line(now)). */
void progress_draw(struct progress *p);

#endif
