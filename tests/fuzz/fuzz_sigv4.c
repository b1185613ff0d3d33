/* libFuzzer: sigv4_sign with arbitrary paths, queries and header values,
 * both path modes. Input: path \0 query \0 header-value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *path = buf;
    const char *query = path + strlen(path) + 1;
    if (query > buf + size)
        query = buf + size;
    const char *value = query + strlen(query) + 1;
    if (value > buf + size)
        value = buf + size;
    struct sigv4_header h[] = {{"Host", "h"}, {"X-Amz-Date", "20150830T123600Z"}, {"x-a", value},
                               {"X-A", value}};
    struct sigv4_request req = {"GET", path, query, h, 4, "UNSIGNED-PAYLOAD"};
    for (int norm = 0; norm < 2; norm++) {
        struct sigv4_key key = {"AK", "SK", "us-east-1", "s3", "20150830T123600Z", norm};
        struct sigv4_result r;
        if (sigv4_sign(&req, &key, &r, NULL) == 0)
            sigv4_result_free(&r);
    }
    char *enc = sigv4_uri_encode(buf, size, size & 1);
    free(enc);
    free(buf);
    return 0;
}
