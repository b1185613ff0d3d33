/* libFuzzer target: the container/IMDS credentials response parser
 * (creds_parse_json) on arbitrary bytes. Oracles: nothing crashes or leaks;
 * on success the keys are non-empty NUL-terminated strings; on failure the
 * message quotes neither the secret key nor the token
 * found in the input (messages never carry secrets).
 * Seeds: tests/fuzz/corpus/fuzz_creds_json. */
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "creds.h"

/* The value of a string member, if the input is a JSON object with one. */
static const char *member(json_t *root, const char *k)
{
    const char *v = json_string_value(json_object_get(root, k));
    return v && strlen(v) >= 6 ? v : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct creds c;
    struct err e = {0};
    memset(&c, 0x5a, sizeof c);
    int rc = creds_parse_json((const char *)data, size, "fuzz", &c, &e);
    if (rc == 0) {
        if (!memchr(c.access_key, 0, sizeof c.access_key) || !c.access_key[0] ||
            !memchr(c.secret_key, 0, sizeof c.secret_key) || !c.secret_key[0] ||
            !memchr(c.session_token, 0, sizeof c.session_token))
            __builtin_trap();
        return 0;
    }
    if (!e.msg[0])
        __builtin_trap();
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    const char *sk = member(root, "SecretAccessKey"), *tok = member(root, "Token");
    /* a short Code is quoted: a "secret" inside it is not leaked by us */
    const char *code = json_string_value(json_object_get(root, "Code"));
    if ((sk && strstr(e.msg, sk) && !(code && strstr(code, sk))) ||
        (tok && strstr(e.msg, tok) && !(code && strstr(code, tok))))
        __builtin_trap();
    json_decref(root);
    return 0;
}
