/* testhook: named points in the code where the integration tests can act,
 * driven by the environment (unset in production: each point is a getenv).
 *
 *   REPART_TEST_CRASH_AT=<point>          SIGKILL there, as a crash would
 *   REPART_TEST_PAUSE_AT=<point>:<ms>[:<file>]  hold there for ms (two writers overlap);
 *                                       file, if given, is created as the hold starts
 *   REPART_TEST_READY_AT=<point>:<file>   create <file> there, then hold until a
 *                                         graceful stop is asked (stop.h; at most
 *                                         120 s), so a test sends its signal at a
 *                                         known moment instead of after a sleep
 *
 * Points: after_scan (the day's cold tier listed and its index read),
 * mid_merge (half of a day's sources merged), before_index (data
 * uploaded, index not written), after_index (committed, orphans not yet
 * cleaned), after_lease (the day's lease just taken), mpu_created (a
 * multipart upload of a day file was just created, no part sent yet). */
#ifndef REPART_TESTHOOK_H
#define REPART_TESTHOOK_H

/* Compiled in only with -DREPART_TEST_HOOKS=ON (scripts/test does; the
 * default build, what is installed and benchmarked, has none: a stray
 * REPART_TEST_CRASH_AT in production does nothing). */
#ifdef REPART_TEST_HOOKS
void testhook_point(const char *point);
#else
static inline void testhook_point(const char *point)
{
    (void)point;
}
#endif

#endif
