/* libFuzzer target: config_load_buffer on arbitrary bytes must either load a
 * config that satisfies the documented invariants or fail with ERR_USAGE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c;
    struct err e;
    err_clear(&e);
    if (config_load_buffer((const char *)data, size, "fuzz.yml", &c, &e) < 0) {
        if (e.kind != ERR_USAGE && strstr(e.msg, "out of memory") == NULL)
            abort();
        if (e.msg[0] == '\0')
            abort();
        return 0;
    }
    /* What every loaded config guarantees. */
    if (!c.s3.cold_tier.bucket_name[0] || !c.s3.repartitioned.bucket_name[0])
        abort();
    const char *p[3] = { c.s3.cold_tier.data_prefix, c.s3.repartitioned.data_prefix,
                         c.s3.repartitioned.index_prefix };
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(p[i]);
        if (n == 0 || p[i][0] == '/' || p[i][n - 1] != '/' || strstr(p[i], "//"))
            abort();
    }
    if (c.concurrency < 1 || c.concurrency > 1024 || c.part_size_mb < 5 || c.part_size_mb > 5120)
        abort();
    if (c.has_date_range && (!day_valid(&c.date_start) || !day_valid(&c.date_end) ||
                             day_cmp(&c.date_start, &c.date_end) > 0))
        abort();
    return 0;
}
