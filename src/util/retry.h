/* retry: exponential backoff with full jitter (the AWS recommendation):
 * the n-th retry waits a uniformly random time in [0, min(cap, base * 2^n)]. */
#ifndef REPART_RETRY_H
#define REPART_RETRY_H

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

#endif
