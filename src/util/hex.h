/* hex: hex digits and percent-encoding, the one place for both.
 *
 * Percent-decoding comes in the three flavours repart meets: S3 keys in a
 * listing (EncodingType=url) and in S3 event notifications ('+' is a space;
 * a bad escape or a NUL byte refuses the whole string) and SigV4's
 * canonical request ('+' stays '+'; a '%' not followed by two hex digits is
 * kept as it is). */
#ifndef REPART_HEX_H
#define REPART_HEX_H

#include <stddef.h>

extern const char HEX_LOWER[17];   /* "0123456789abcdef" */
extern const char HEX_UPPER[17];   /* "0123456789ABCDEF" */

/* The value of one hex digit (either case), or -1. */
int hex_digit(int c);

/* Lower hex of n bytes into out (2n + 1 chars, NUL-terminated). */
void hex_encode(const unsigned char *in, size_t n, char *out);

enum {
    PCT_PLUS_SPACE = 1,     /* '+' decodes to ' ' (form and S3-event encoding) */
    PCT_LENIENT = 2,        /* a bad escape is kept literally, NUL bytes allowed */
};

/* Percent-decodes s[0..len) into a new NUL-terminated string (caller
 * frees); *out_len (may be NULL) gets its length. NULL when out of memory,
 * or, without PCT_LENIENT, at a '%' not followed by two hex digits or a NUL
 * byte (raw or decoded); *bad_at (may be NULL) then gets its offset (-1 for
 * out of memory). */
char *pct_decode(const char *s, size_t len, int flags, size_t *out_len, long *bad_at);

#endif
