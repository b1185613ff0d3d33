#include "retry.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "datetime.h"
#include "log.h"

static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
    if (rng_state == 0) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)&seed;
        }
        rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
    }
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

long retry_backoff_ms(int attempt, long base_ms, long cap_ms)
{
    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    long ceil_ms = base_ms;
    for (int i = 0; i < attempt && ceil_ms < cap_ms; i++)
        ceil_ms *= 2;
    if (ceil_ms > cap_ms)
        ceil_ms = cap_ms;
    return (long)(rng_next() % (uint64_t)(ceil_ms + 1));
}

void retry_sleep_ms(long ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int retry_curl_code(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_SEND_FAIL_REWIND:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_AGAIN:
    case CURLE_BAD_CONTENT_ENCODING:
        return 1;
    default:
        return 0;
    }
}

static int cancelled(const struct retry_policy *p)
{
    return p->cancel && *p->cancel;
}

/* Sleeps ms in slices, ending early when the cancel flag is raised. */
static void wait_ms(const struct retry_policy *p, long long ms)
{
    while (ms > 0 && !cancelled(p)) {
        long slice = ms < 50 ? (long)ms : 50;
        retry_sleep_ms(slice);
        ms -= slice;
    }
}

/* Adaptive mode: waits while an earlier throttled answer holds requests back. */
static void wait_hold(const struct retry_policy *p)
{
    if (!p->hold_until)
        return;
    long long hold = atomic_load(p->hold_until) - datetime_mono_ms();
    if (hold > 0)
        wait_ms(p, hold);
}

/* Adaptive mode: holds every request sharing the policy back for ms. */
static void extend_hold(const struct retry_policy *p, long ms)
{
    long long until = datetime_mono_ms() + ms;
    long long cur = atomic_load(p->hold_until);
    while (cur < until && !atomic_compare_exchange_weak(p->hold_until, &cur, until))
        ;
}

int retry_run(const struct retry_policy *p, retry_try_fn try_fn, void *ud, int *retries,
              struct retry_verdict *last)
{
    int max = p->max_attempts < 1 ? 1 : p->max_attempts;
    int waits = 0, rc = 0;
    struct retry_verdict v;
    for (int att = 0;; att++) {
        wait_hold(p);
        v = (struct retry_verdict){.retry_after_ms = -1};
        rc = try_fn(ud, att, &v);
        if (rc == 0)
            break;
        if (v.again_now) {
            att--;
            continue;
        }
        if (!v.retryable || att + 1 >= max)
            break;
        long wait = retry_backoff_ms(att, p->base_ms, p->cap_ms);
        if (v.retry_after_ms > wait)
            wait = v.retry_after_ms < p->cap_ms ? v.retry_after_ms : p->cap_ms;
        if (p->hold_until && v.throttled)
            extend_hold(p, wait);
        log_msg(LOG_DEBUG, NULL, "retry", "%s: attempt %d of %d failed (%s); retrying in %ld ms",
                p->what ? p->what : "request", att + 1, max, v.why ? v.why : "?", wait);
        waits++;
        wait_ms(p, wait);
    }
    if (retries)
        *retries = waits;
    if (last)
        *last = v;
    return rc;
}
