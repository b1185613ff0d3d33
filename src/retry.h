/* retry: exponential backoff with full jitter (the AWS recommendation):
 * the n-th retry waits a uniformly random time in [0, min(cap, base * 2^n)]. */
#ifndef REPART_RETRY_H
#define REPART_RETRY_H

/* Delay in ms before retry number `attempt` (0 = the first retry).
 * Thread-safe (per-thread random state). */
long retry_backoff_ms(int attempt, long base_ms, long cap_ms);

/* Sleeps ms milliseconds (restarted after signals). */
void retry_sleep_ms(long ms);

#endif
