/* hex: hex digits and the three percent-decodings (S3 listing keys and S3
 * event keys: '+' a space, strict; SigV4: lenient). */
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "test.h"

#define S(x) (x), (sizeof(x) - 1)

static void test_digits(void)
{
    CHECK_INT(hex_digit('0'), 0);
    CHECK_INT(hex_digit('9'), 9);
    CHECK_INT(hex_digit('a'), 10);
    CHECK_INT(hex_digit('F'), 15);
    CHECK_INT(hex_digit('g'), -1);
    CHECK_INT(hex_digit('/'), -1);
    CHECK_INT(hex_digit(0), -1);
    unsigned char b[3] = {0x00, 0xab, 0xff};
    char h[7];
    hex_encode(b, 3, h);
    CHECK_STR(h, "00abff");
}

/* as S3 events and listings (EncodingType=url) encode keys */
static void test_strict(void)
{
    size_t n;
    long bad;
    char *s = pct_decode(S("a+b%2Bc%3d%3D%2f+"), PCT_PLUS_SPACE, &n, &bad);
    REQUIRE(s);
    CHECK_STR(s, "a b+c==/ ");
    CHECK_INT(n, 9);
    free(s);
    s = pct_decode(S("%C3%A9t%C3%A9"), PCT_PLUS_SPACE, &n, NULL);   /* UTF-8 "été" */
    REQUIRE(s);
    CHECK_STR(s, "\xc3\xa9t\xc3\xa9");
    free(s);
    s = pct_decode(S("%E2%82%ac+x%2b"), PCT_PLUS_SPACE, &n, NULL);
    REQUIRE(s);
    CHECK_STR(s, "\xE2\x82\xAC x+");
    CHECK_INT(n, 6);
    free(s);
    s = pct_decode("", 0, PCT_PLUS_SPACE, &n, NULL);
    REQUIRE(s);
    CHECK_INT(n, 0);
    free(s);
    const struct { const char *in; long at; } badv[] = {
        {"abc%", 3}, {"abc%4", 3}, {"%G0", 0}, {"x%0g", 1}, {"ok%00nul", 2}, {"%%41", 0},
        {"%zz", 0}, {"%", 0},
    };
    for (size_t i = 0; i < sizeof badv / sizeof badv[0]; i++) {
        bad = 99;
        s = pct_decode(badv[i].in, strlen(badv[i].in), PCT_PLUS_SPACE, &n, &bad);
        CHECK(s == NULL);
        free(s);
        CHECK_INT(bad, badv[i].at);
    }
    /* a raw NUL byte */
    bad = 99;
    CHECK(pct_decode("ab\0c", 4, PCT_PLUS_SPACE, &n, &bad) == NULL);
    CHECK_INT(bad, 2);
    /* the length bounds the input: bytes after it are not read */
    s = pct_decode("ab%41", 2, PCT_PLUS_SPACE, &n, NULL);
    REQUIRE(s);
    CHECK_STR(s, "ab");
    free(s);
}

/* SigV4's canonical request: '+' is '+', a bad escape stays as it is */
static void test_lenient(void)
{
    size_t n;
    char *s = pct_decode(S("a+b%2Fc%zz%4%"), PCT_LENIENT, &n, NULL);
    REQUIRE(s);
    CHECK_STR(s, "a+b/c%zz%4%");
    free(s);
    s = pct_decode(S("x%00y"), PCT_LENIENT, &n, NULL);
    REQUIRE(s);
    CHECK_INT(n, 3);
    CHECK(memcmp(s, "x\0y", 3) == 0);
    free(s);
}

int main(void)
{
    RUN(test_digits);
    RUN(test_strict);
    RUN(test_lenient);
    return TEST_EXIT();
}
