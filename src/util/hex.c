#include "hex.h"

#include <stdlib.h>

const char HEX_LOWER[17] = "0123456789abcdef";
const char HEX_UPPER[17] = "0123456789ABCDEF";

int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX_LOWER[in[i] >> 4];
        out[2 * i + 1] = HEX_LOWER[in[i] & 15];
    }
    out[2 * n] = '\0';
}

char *pct_decode(const char *s, size_t len, int flags, size_t *out_len, long *bad_at)
{
    int lenient = flags & PCT_LENIENT;
    char *out = malloc(len + 1);
    if (!out) {
        if (bad_at)
            *bad_at = -1;
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t at = i;
        if (c == '%') {
            int hi = i + 1 < len ? hex_digit((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_digit((unsigned char)s[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                c = (unsigned char)(hi * 16 + lo);
                i += 2;
            } else if (!lenient) {
                c = '\0';       /* refused below */
            }
        } else if (c == '+' && (flags & PCT_PLUS_SPACE)) {
            c = ' ';
        }
        if (c == '\0' && !lenient) {
            free(out);
            if (bad_at)
                *bad_at = (long)at;
            return NULL;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}
