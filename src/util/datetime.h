/* datetime: the timestamps repart reads from AWS answers, as unix seconds.
 * One parser per format: ISO 8601 (S3 XML, STS, credential documents) here;
 * HTTP dates (RFC 9110: Last-Modified, Retry-After) through libcurl's
 * curl_getdate. */
#ifndef REPART_DATETIME_H
#define REPART_DATETIME_H

#include <stddef.h>

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH[:]MM|-HH[:]MM)" ('t' or ' ' for 'T',
 * 'z' for 'Z') -> unix seconds. -1 (out untouched) on anything else: a time
 * without its zone, trailing text, a field out of range. */
int datetime_parse_iso8601(const char *s, long long *out);

/* The same, but a time without its zone is UTC: S3's XML (ListObjectsV2's
 * LastModified, ListMultipartUploads' Initiated), where AWS always writes
 * 'Z' and some S3-compatible servers write nothing. */
int datetime_parse_iso8601_utc(const char *s, long long *out);

/* An HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete forms
 * RFC 9110 still accepts) of n bytes -> unix seconds; -1 if it is none. */
int datetime_parse_http(const char *s, size_t n, long long *out);

/* The monotonic clock, for durations: seconds, and milliseconds. */
double datetime_mono_secs(void);
long long datetime_mono_ms(void);

#endif
