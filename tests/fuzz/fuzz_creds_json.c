/* libFuzzer target: the container/IMDS credentials response parser
 * (creds_parse_json) on arbitrary bytes. Oracles: nothing crashes or leaks;
 * on success the keys are non-empty NUL-terminated strings; on failure the
 * message quotes neither the secret key nor the token
 * found in the input (messages never carry secrets).
 * Seeds: tests/fuzz/corpus/fuzz_creds_json. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"

/* The value of a string member, if the input is a JSON object with one. */
static const char *member(json_t *root, const char *k)
{
    const char *v = json_string_value(json_object_get(root, k));
    return v && strlen(v) >= 6 ? v : NULL;
}

/* 1 when the message quotes member k's value: it holds the value, and the
 * message for the same document with another value there does not (so the
 * value is not just a word of the message's own text). */
static int leaks(json_t *root, const char *k, const char *msg)
{
    const char *v = member(root, k);
    if (!v || !strstr(msg, v) || strspn(v, "Z") == strlen(v))
        return 0;
    json_t *other = json_deep_copy(root);
    size_t n = strlen(v);
    char *z = malloc(n + 1);
    if (!other || !z) {
        json_decref(other);
        free(z);
        return 0;
    }
    memset(z, 'Z', n);
    z[n] = '\0';
    json_object_set_new(other, k, json_string(z));
    free(z);
    char *doc = json_dumps(other, JSON_COMPACT);
    json_decref(other);
    int leaked = 0;
    if (doc) {
        struct creds c;
        struct err e = {0};
        if (creds_parse_json(doc, strlen(doc), "fuzz", &c, &e) != 0)
            leaked = strstr(e.msg, v) == NULL;
        free(doc);
    }
    return leaked;
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
    if (leaks(root, "SecretAccessKey", e.msg) || leaks(root, "Token", e.msg))
        __builtin_trap();
    json_decref(root);
    return 0;
}
