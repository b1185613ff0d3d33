/* libFuzzer target: the state file of a staged day
 * (<work_dir>/raw|merged/<day>/repart-day.json, read by `merge` and
 * `upload`) on arbitrary bytes, through pipeline_state_parse. Oracles:
 * nothing crashes or leaks; a rejection is ERR_DATA (or out of memory) with a
 * message; the sources of an accepted file, put into an index as the commit
 * does, give an index document that index_parse accepts with every source
 * (a state file must never make a day's index unreadable).
 * Seeds: tests/fuzz/corpus/fuzz_state (state files as `download` writes). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct index ix, back;
    struct err e = {0};
    index_init(&ix);
    index_init(&back);
    if (pipeline_state_parse((const char *)data, size, &ix, &e) != 0) {
        if (!e.msg[0] || (e.kind != ERR_DATA && !strstr(e.msg, "out of memory")))
            __builtin_trap();
        index_free(&ix);
        return 0;
    }
    size_t len = 0;
    char *doc = index_format(&ix, &len);
    if (doc) {
        if (index_parse(doc, len, &back, &e) != 0)
            __builtin_trap();
        for (size_t i = 0; i < ix.n_sources; i++)
            if (!index_source_find(&back, ix.sources[i].relkey))
                __builtin_trap();
    }
    free(doc);
    index_free(&back);
    index_free(&ix);
    return 0;
}
