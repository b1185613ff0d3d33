/* log: escaping of bytes that would not copy back, JSON lines with numeric
 * fields, the timestamp. */
#include "test.h"
#include "log.h"

#include <jansson.h>

static void test_escape(void)
{
    char out[256];
    CHECK_STR(log_escape("plain key/raw_a_1_GOOD.avro", out, sizeof out),
              "plain key/raw_a_1_GOOD.avro");
    /* valid UTF-8 kept as it is: it copies back */
    CHECK_STR(log_escape("temp\xc3\xa9rature \xe2\x82\xac", out, sizeof out),
              "temp\xc3\xa9rature \xe2\x82\xac");
    /* invalid bytes, control characters, DEL and C1 controls escaped */
    CHECK_STR(log_escape("a\xff" "b\xc3(c\x01\x1b[2J\x7f", out, sizeof out),
              "a\\xffb\\xc3(c\\x01\\x1b[2J\\x7f");
    CHECK_STR(log_escape("\xc2\x85x", out, sizeof out), "\\xc2\\x85x");
    /* overlong and surrogate encodings are not valid UTF-8 */
    CHECK_STR(log_escape("\xc0\xaf\xed\xa0\x80", out, sizeof out),
              "\\xc0\\xaf\\xed\\xa0\\x80");
    /* a truncated sequence at the end */
    CHECK_STR(log_escape("k\xe2\x82", out, sizeof out), "k\\xe2\\x82");
    /* truncation never splits an escape or a character */
    char small[6];
    CHECK_STR(log_escape("ab\xff\xff", small, sizeof small), "ab");
    CHECK_STR(log_escape("a\xc3\xa9\xc3\xa9", small, sizeof small), "a\xc3\xa9\xc3\xa9");
    CHECK_STR(log_escape("ab\xc3\xa9\xc3\xa9", small, sizeof small), "ab\xc3\xa9");
}

static char *read_all(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    rewind(f);
    char *buf = calloc(1, (size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
        buf[0] = '\0';
    return buf;
}

static void test_json_line(void)
{
    FILE *f = tmpfile();
    REQUIRE(f);
    log_setup(f, f, LOG_FORMAT_JSON, LOG_INFO, 0);
    struct log_field fs[] = {LOG_INT("objects", 12), LOG_INT("bytes", 3456789012LL),
                             LOG_NUM("seconds", 1.5)};
    log_event(LOG_INFO, "2023-01-05", "committed", fs, 3, "key raw/\xff\x01.avro done");
    log_msg(LOG_DEBUG, NULL, "hidden", "not at info level");
    char *text = read_all(f);
    fclose(f);
    log_setup(stdout, stderr, LOG_FORMAT_TEXT, LOG_INFO, 0);
    REQUIRE(text);
    char *nl = strchr(text, '\n');
    REQUIRE(nl && nl[1] == '\0');   /* one line: the debug one is not written */
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    free(text);
    REQUIRE(o);
    const char *ts = json_string_value(json_object_get(o, "timestamp"));
    REQUIRE(ts);
    /* 2023-01-05T10:00:00.123Z */
    CHECK_INT(strlen(ts), 24);
    CHECK(ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
    CHECK_STR(json_string_value(json_object_get(o, "level")), "info");
    CHECK_STR(json_string_value(json_object_get(o, "day")), "2023-01-05");
    CHECK_STR(json_string_value(json_object_get(o, "event")), "committed");
    CHECK(json_is_integer(json_object_get(o, "objects")));
    CHECK_INT(json_integer_value(json_object_get(o, "objects")), 12);
    CHECK_INT(json_integer_value(json_object_get(o, "bytes")), 3456789012LL);
    CHECK(json_is_real(json_object_get(o, "seconds")));
    CHECK(json_real_value(json_object_get(o, "seconds")) == 1.5);
    CHECK_STR(json_string_value(json_object_get(o, "msg")), "key raw/\\xff\\x01.avro done");
    json_decref(o);
}

static void test_text_line(void)
{
    FILE *out = tmpfile(), *err = tmpfile();
    REQUIRE(out && err);
    log_setup(out, err, LOG_FORMAT_TEXT, LOG_INFO, 1);  /* not a tty: no progress drawn */
    log_progress("50%% | ETA 1 s");
    log_event(LOG_ERROR, "2023-01-05", "failed", NULL, 0, "bad key a\x1b[31mb");
    log_msg(LOG_INFO, NULL, "summary", "done");
    char *o = read_all(out), *e = read_all(err);
    fclose(out);
    fclose(err);
    log_setup(stdout, stderr, LOG_FORMAT_TEXT, LOG_INFO, 0);
    CHECK_STR(o, "done\n");
    CHECK_STR(e, "error: 2023-01-05: bad key a\\x1b[31mb\n");
    free(o);
    free(e);
}

int main(void)
{
    RUN(test_escape);
    RUN(test_json_line);
    RUN(test_text_line);
    return TEST_EXIT();
}
