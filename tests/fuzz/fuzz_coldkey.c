/* libFuzzer target: coldkey_parse on arbitrary keys. A key that parses must
 * be exactly the canonical spelling of what was parsed (the parser accepts
 * one spelling per object), and coldkey_parse_day must agree on the day. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coldkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * COLDKEY_KEY_MAX)
        return 0;
    char *key = malloc(size + 1);
    if (!key)
        return 0;
    memcpy(key, data, size);
    key[size] = '\0';

    struct coldkey k;
    struct err e;
    if (coldkey_parse(key, "raw/", &k, &e) == 0) {
        char re[COLDKEY_KEY_MAX + 64];
        int n = coldkey_bucket_prefix(re, sizeof re, "raw/", &k.day, k.bucket, &e);
        if (n < 0)
            abort();
        snprintf(re + n, sizeof re - (size_t)n, "raw_%s_%" PRId64 "_%s.avro", k.series_id,
                 k.start_ts, k.quality);
        if (strcmp(re, key) != 0)
            abort();
        struct day d;
        char dp[COLDKEY_DAY_PREFIX_MAX];
        if (coldkey_day_prefix(dp, sizeof dp, "raw/", &k.day, &e) < 0)
            abort();
        if (coldkey_parse_day(dp, "raw/", &d, &e) < 0 || day_cmp(&d, &k.day) != 0)
            abort();
        if (coldkey_cmp(&k, key, &k, key) != 0)
            abort();
    } else if (e.kind != ERR_DATA || strlen(e.msg) == 0) {
        abort();
    }
    /* the agg dataset's spelling: agg_ under agg/, never a raw key */
    if (coldkey_parse_ds(key, "agg/", COLDKEY_AGG, &k, &e) == 0) {
        char re[COLDKEY_KEY_MAX + 64];
        int n = coldkey_bucket_prefix(re, sizeof re, "agg/", &k.day, k.bucket, &e);
        if (n < 0 || k.day.ds != COLDKEY_AGG)
            abort();
        snprintf(re + n, sizeof re - (size_t)n, "agg_%s_%" PRId64 "_%s.avro", k.series_id,
                 k.start_ts, k.quality);
        if (strcmp(re, key) != 0)
            abort();
    } else if (e.kind != ERR_DATA || strlen(e.msg) == 0) {
        abort();
    }
    struct day d;
    (void)coldkey_parse_day(key, "raw/", &d, &e);
    free(key);
    return 0;
}
