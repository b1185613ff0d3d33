/* libFuzzer target: the asset metadata NDJSON parser and the ListTimeSeries
 * page parser (src/repart/assoc.h). The first byte picks the parser (even: NDJSON,
 * odd: API page), the rest is the input. Whatever is accepted must be ids a
 * cold-tier key can carry, and the sorted set strictly ordered; a token must
 * be 1..ASSOC_TOKEN_MAX characters of [A-Za-z0-9+/=]; a rejection must be
 * ERR_DATA with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assoc.h"
#include "coldkey.h"

static int id_chars_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > COLDKEY_SERIES_MAX)
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int page = data[0] & 1;
    const uint8_t *buf = data + 1;
    size_t len = size - 1;
    struct assoc_set s = {0};
    struct err e = {0};
    char *tok = NULL;
    int rc = page ? assoc_parse_api_page(buf, len, &tok, &s, &e)
                  : assoc_parse_ndjson(buf, len, "fuzz.ndjson", &s, &e);
    if (rc == 0) {
        for (size_t i = 0; i < s.n; i++)
            if (!id_chars_ok(s.ids[i]))
                abort();
        assoc_set_sort(&s);
        for (size_t i = 1; i < s.n; i++)
            if (strcmp(s.ids[i - 1], s.ids[i]) >= 0)
                abort();
        for (size_t i = 0; i < s.n; i++)
            if (!assoc_contains(&s, s.ids[i]))
                abort();
        if (tok) {
            size_t n = strlen(tok);
            if (n == 0 || n > ASSOC_TOKEN_MAX ||
                strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
                abort();
        }
    } else if (e.kind != ERR_DATA || e.msg[0] == '\0' || tok != NULL) {
        abort();
    }
    free(tok);
    assoc_set_free(&s);
    return 0;
}
