/* libFuzzer: the STS AssumeRoleWithWebIdentity answer parser on arbitrary
 * bytes. Checks that what it fills is NUL-terminated within its fields. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "creds_sts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct creds_sts_result c;
    struct creds_sts_error se;
    struct err e = {.kind = 0};
    int rc = creds_sts_parse((const char *)data, size, &c, &se, &e);
    if (rc == 0 && (memchr(c.access_key, 0, sizeof c.access_key) == NULL ||
                    memchr(c.secret_key, 0, sizeof c.secret_key) == NULL ||
                    memchr(c.session_token, 0, sizeof c.session_token) == NULL ||
                    !c.access_key[0] || !c.secret_key[0]))
        __builtin_trap();
    if (rc == 1 && (memchr(se.code, 0, sizeof se.code) == NULL ||
                    memchr(se.message, 0, sizeof se.message) == NULL))
        __builtin_trap();
    if (rc != 0 && c.secret_key[0])
        __builtin_trap();   /* wiped on failure */
    char out[64];
    out[0] = '\0';
    size_t n = creds_form_append(out, sizeof out, 0, (const char *)data, size < 40 ? size : 40);
    if (n != (size_t)-1 && (n >= sizeof out || strlen(out) != n))
        __builtin_trap();
    return 0;
}
