/* libFuzzer target: index_parse (the per-day index object read from the
 * bucket, src/repart/index.h) on arbitrary bytes. Oracles: nothing crashes or leaks
 * (ASan/UBSan); a rejection is ERR_DATA with a message naming the line (or
 * out of memory); what parses renders to a document that parses again into
 * the same document (index_format is a fixed point after one round); every
 * #src entry covers its own source; series and sources stay sorted.
 * Seeds: tests/fuzz/corpus/fuzz_index (indexes as repart and the Python
 * sample write them). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct index ix;
    struct err e = {0};
    index_init(&ix);
    if (index_parse((const char *)data, size, &ix, &e) != 0) {
        if (!e.msg[0] || (e.kind != ERR_DATA && !strstr(e.msg, "out of memory")))
            __builtin_trap();
        index_free(&ix);
        return 0;
    }
    for (size_t i = 1; i < ix.n_series; i++)
        if (strcmp(ix.series[i - 1], ix.series[i]) >= 0)
            __builtin_trap();
    for (size_t i = 1; i < ix.n_sources; i++)
        if (strcmp(ix.sources[i - 1].relkey, ix.sources[i].relkey) > 0)
            __builtin_trap();
    for (size_t i = 0; i < ix.n_sources; i++)
        if (!index_source_find(&ix, ix.sources[i].relkey))
            __builtin_trap();
    size_t l1 = 0, l2 = 0;
    char *d1 = index_format(&ix, &l1);
    index_free(&ix);
    if (!d1)
        return 0;
    index_init(&ix);
    if (index_parse(d1, l1, &ix, &e) != 0)
        __builtin_trap();  /* our own output must parse */
    char *d2 = index_format(&ix, &l2);
    if (d2 && (l1 != l2 || memcmp(d1, d2, l1) != 0))
        __builtin_trap();
    free(d1);
    free(d2);
    index_free(&ix);
    return 0;
}
