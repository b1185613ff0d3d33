/* libFuzzer target: SQS response bodies (src/aws/sqs.h): a ...Batch result
 * (sqs_parse_batch_result, for 1..10 request entries, the count taken from
 * the input size) and an error body (sqs_parse_error). Oracles: nothing
 * crashes or leaks; a batch result accounts for every entry exactly once
 * (n_ok + n_failed == n, each entry either ok or with a code); codes and
 * messages are NUL-terminated within their buffers.
 * Seeds: tests/fuzz/corpus/fuzz_sqs. */
#include <stdint.h>
#include <string.h>

#include "sqs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    size_t n = size % SQS_BATCH_MAX + 1;
    struct sqs_batch_result res;
    struct err e = {0};
    if (sqs_parse_batch_result(json, size, n, &res, &e) == 0) {
        if (res.n != n || res.n_ok + res.n_failed != n)
            __builtin_trap();
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            if (!memchr(res.entry[i].code, 0, sizeof res.entry[i].code))
                __builtin_trap();
            ok += res.entry[i].ok != 0;
        }
        if (ok != res.n_ok)
            __builtin_trap();
    } else if (!e.msg[0]) {
        __builtin_trap();
    }
    char code[64], msg[128];
    if (sqs_parse_error(json, size, code, sizeof code, msg, sizeof msg) == 0 &&
        (!memchr(code, 0, sizeof code) || !memchr(msg, 0, sizeof msg)))
        __builtin_trap();
    return 0;
}
