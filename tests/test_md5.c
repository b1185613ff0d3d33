/* md5: hex digests and the index's MD5 chains (expected values from
 * Python's hashlib, e.g. hashlib.md5(b"hello").hexdigest()). */
#include <stdio.h>

#include "md5.h"
#include "test.h"

#define H_HELLO "5d41402abc4b2a76b9719d911017c592"
#define H_WORLD "7d793037a0760186574b0282f2f435e7"
#define H_HELLOWORLD "fc5e038d38a57032085441e7fe7010b0"
#define H_HE "6f96cfdfe5ccc627cadf24b41725caa4"

static void test_hex(void)
{
    char out[MD5_HEX_LEN];
    md5_hex("hello", 5, out);
    CHECK_STR(out, H_HELLO);
    EVP_MD_CTX *md = md5_new();
    REQUIRE(md);
    EVP_DigestUpdate(md, "hello", 3);
    EVP_DigestUpdate(md, "lo", 2);
    md5_final_hex(md, out);
    EVP_MD_CTX_free(md);
    CHECK_STR(out, H_HELLO);
}

static void test_parse_format(void)
{
    struct md5chain c;
    struct err e = {0};
    /* one plain MD5 (what earlier versions wrote) */
    REQUIRE(md5chain_parse(H_HELLOWORLD, 10, &c, &e) == 0);
    CHECK_INT(c.n, 1);
    CHECK_INT(c.seg[0].end, 10);
    CHECK_STR(c.header, "");
    char buf[MD5CHAIN_TEXT_MAX];
    REQUIRE(md5chain_format(&c, buf, sizeof buf) == 0);
    CHECK_STR(buf, H_HELLOWORLD);
    /* two segments and a header */
    const char *t = H_HELLO "@5+" H_WORLD "/" H_HE;
    REQUIRE(md5chain_parse(t, 10, &c, &e) == 0);
    CHECK_INT(c.n, 2);
    CHECK_INT(c.seg[0].end, 5);
    CHECK_INT(c.seg[1].end, 10);
    CHECK_INT(md5chain_seg_start(&c, 1), 5);
    CHECK_STR(c.seg[1].md5, H_WORLD);
    CHECK_STR(c.header, H_HE);
    REQUIRE(md5chain_format(&c, buf, sizeof buf) == 0);
    CHECK_STR(buf, t);
    /* too small a buffer */
    CHECK_INT(md5chain_format(&c, buf, 40), -1);
}

static void test_parse_refuses(void)
{
    struct md5chain c;
    const char *bad[] = {
        "",                                     /* no MD5 */
        H_HELLO "x",                            /* trailing junk */
        "5D41402ABC4B2A76B9719D911017C592",     /* upper case: not what repart writes */
        H_HELLO "@5",                           /* an end with no segment after it */
        H_HELLO "@5+",                          /* likewise */
        H_HELLO "@0+" H_WORLD,                  /* empty first segment */
        H_HELLO "@10+" H_WORLD,                 /* end at the size: empty last segment */
        H_HELLO "@11+" H_WORLD,                 /* end past the size */
        H_HELLO "@05+" H_WORLD,                 /* leading zero */
        H_HELLO "@-5+" H_WORLD,
        H_HELLO "@3+" H_HELLO "@3+" H_WORLD,    /* ends not rising */
        H_HELLO "@99999999999999999999+" H_WORLD,  /* overflow */
        H_HELLOWORLD "/",                       /* empty header MD5 */
        H_HELLOWORLD "/" H_HE "/" H_HE,         /* two */
        H_HELLOWORLD "/abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err e = {0};
        int rc = md5chain_parse(bad[i], 10, &c, &e);
        if (rc == 0)
            fprintf(stderr, "accepted: '%s'\n", bad[i]);
        CHECK(rc != 0);
        CHECK_INT(e.kind, ERR_DATA);
    }
    /* at most MD5CHAIN_SEGS_MAX segments */
    char buf[MD5CHAIN_TEXT_MAX * 2] = "";
    size_t at = 0;
    for (int i = 1; i <= MD5CHAIN_SEGS_MAX; i++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, H_HELLO "@%d+", i);
    snprintf(buf + at, sizeof buf - at, H_WORLD);
    struct err e = {0};
    CHECK(md5chain_parse(buf, 1000, &c, &e) != 0);
}

static void test_check(void)
{
    struct md5chain c;
    struct err e = {0};
    REQUIRE(md5chain_parse(H_HELLO "@5+" H_WORLD, 10, &c, &e) == 0);
    CHECK_INT(md5chain_matches(H_HELLO "@5+" H_WORLD, 10, "helloworld", 10), 1);
    CHECK_INT(md5chain_matches(H_HELLO "@5+" H_WORLD, 10, "hellOworld", 10), 0);
    CHECK_INT(md5chain_matches(H_HELLO "@5+" H_WORLD, 10, "helloworl", 9), 0);
    CHECK_INT(md5chain_matches(H_HELLOWORLD, 10, "helloworld", 10), 1);
    /* fed in pieces that straddle the segment end */
    struct md5chain_check k;
    REQUIRE(md5chain_check_init(&k, &c, 0) == 0);
    md5chain_check_feed(&k, "hel", 3);
    md5chain_check_feed(&k, "lowo", 4);
    md5chain_check_feed(&k, "rld and more", 12);   /* past the end: ignored */
    CHECK_INT(md5chain_check_end(&k, "obj", &e), 0);
    /* from the second segment */
    REQUIRE(md5chain_check_init(&k, &c, 1) == 0);
    md5chain_check_feed(&k, "world", 5);
    CHECK_INT(md5chain_check_end(&k, "obj", &e), 0);
    /* a wrong second segment is named with its range and both MD5s */
    REQUIRE(md5chain_check_init(&k, &c, 0) == 0);
    md5chain_check_feed(&k, "hello!", 6);
    md5chain_check_feed(&k, "orld", 4);
    CHECK_INT(md5chain_check_end(&k, "obj", &e), -1);
    CHECK_INT(e.kind, ERR_DATA);
    CHECK(strstr(e.msg, "obj: MD5 of its bytes 5 to 10 is ") != NULL);
    CHECK(strstr(e.msg, "the index names " H_WORLD) != NULL);
    /* short */
    REQUIRE(md5chain_check_init(&k, &c, 0) == 0);
    md5chain_check_feed(&k, "hellowo", 7);
    CHECK_INT(md5chain_check_end(&k, "obj", &e), -1);
    CHECK(strstr(e.msg, "obj: 7 bytes, the index committed 10") != NULL);
    /* one segment, wrong: the whole-file message */
    REQUIRE(md5chain_parse(H_HELLOWORLD, 10, &c, &e) == 0);
    REQUIRE(md5chain_check_init(&k, &c, 0) == 0);
    md5chain_check_feed(&k, "helloworlD", 10);
    CHECK_INT(md5chain_check_end(&k, "obj", &e), -1);
    CHECK(strstr(e.msg, "obj: MD5 of its committed bytes is ") != NULL);
    CHECK(strstr(e.msg, "the index names " H_HELLOWORLD) != NULL);
    /* the empty file */
    CHECK_INT(md5chain_matches("d41d8cd98f00b204e9800998ecf8427e", 0, "", 0), 1);
}

static void test_id(void)
{
    char id[MD5_HEX_LEN];
    md5chain_id(H_HELLO, id);
    CHECK_STR(id, H_HELLO);
    /* anything else: the MD5 of the text (a key component, never a path) */
    md5chain_id(H_HELLO "/" H_HE, id);
    char want[MD5_HEX_LEN];
    md5_hex(H_HELLO "/" H_HE, 65, want);
    CHECK_STR(id, want);
    CHECK(strchr(id, '/') == NULL);
}

int main(void)
{
    RUN(test_hex);
    RUN(test_parse_format);
    RUN(test_parse_refuses);
    RUN(test_check);
    RUN(test_id);
    return TEST_EXIT();
}
