/* libFuzzer: the shared config INI parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "creds.h"
#include "ini.h"
#include "datetime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char v[32];
    const char *text = (const char *)data;
    int rc = ini_find(text, size, "default", "aws_access_key_id", v, sizeof v);
    if (rc == 1 && strlen(v) >= sizeof v)
        __builtin_trap();
    ini_find(text, size, "profile x", "k", v, sizeof v);
    ini_has_section(text, size, "default");
    /* the ISO 8601 parser wants a NUL-terminated string */
    char t[64];
    size_t n = size < sizeof t - 1 ? size : sizeof t - 1;
    memcpy(t, data, n);
    t[n] = '\0';
    long long ts;
    datetime_parse_iso8601(t, &ts);
    return 0;
}
