/* retry: exponential backoff with full jitter (the AWS recommendation):
 * the n-th retry waits a uniformly random time in [0, min(cap, base * 2^n)]. */
#ifndef REPART_RETRY_H
#define REPART_RETRY_H

#include <signal.h>
#include <stdatomic.h>

#include <curl/curl.h>

/* Delay in ms before retry number `attempt` (0 = the first retry).
 * Thread-safe (per-thread random state). */
long retry_backoff_ms(int attempt, long base_ms, long cap_ms);

/* 1 when a failed transfer is worth another try: no answer, a connection
 * reset or refused, a timeout, a body cut short (the one list shared by the
 * S3, SQS and SiteWise API clients). */
int retry_curl_code(CURLcode code);

/* Sleeps ms milliseconds (restarted after signals). */
void retry_sleep_ms(long ms);

/* ---- the retry loop: every AWS client (S3, SQS, STS, the SiteWise API)
 * runs its attempts through retry_run, so the modes, the backoff, the
 * server's Retry-After and cancellation behave the same everywhere. */

struct retry_policy {
    int max_attempts;                    /* in all, the first included (< 1: one) */
    long base_ms, cap_ms;                /* full-jitter backoff */
    _Atomic long long *hold_until;       /* adaptive mode: a throttled failure holds back
                                            every request that shares this (monotonic ms);
                                            NULL: standard mode */
    const volatile sig_atomic_t *cancel; /* raised: waits end at once (NULL: none) */
    const char *what;                    /* names the request in the debug log */
};

/* What one failed attempt says about the next. */
struct retry_verdict {
    int retryable;          /* worth another try */
    int throttled;          /* the server asked to slow down (adaptive mode) */
    long retry_after_ms;    /* the server's Retry-After; -1: none */
    int again_now;          /* try again at once without counting (a redirect followed) */
    const char *why;        /* the failure, for the debug log */
};

/* One attempt: 0 on success; otherwise fills *v (zeroed, retry_after_ms -1,
 * before each call). `attempt` counts from 0. */
typedef int (*retry_try_fn)(void *ud, int attempt, struct retry_verdict *v);

/* Calls try until it succeeds, fails in a way not worth another try, or has
 * used p->max_attempts; waits between attempts (backoff, at least the
 * server's Retry-After up to cap_ms, the adaptive hold). A raised cancel
 * flag only cuts the waits short: try sees the flag and says why it stops.
 * Returns try's last result; *retries (may be NULL) gets the waits made and
 * *last the last verdict (may be NULL). */
int retry_run(const struct retry_policy *p, retry_try_fn try_fn, void *ud, int *retries,
              struct retry_verdict *last);

#endif
