#include "test.h"
#include "coldkey.h"
#include "scan.h"

#define ASSOC "7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a"
#define PLAIN "f74c2828-5317-4df3-ba16-6d41b5bcb531"

/* The example path from the SiteWise user guide ("File paths and schemas of
 * data saved in the cold tier"), with keyPrefix "keyPrefix". */
static void test_doc_example(void)
{
    struct coldkey k;
    struct err e;
    const char *key = "keyPrefix/raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/"
                      "raw_" ASSOC "_1609577700_GOOD.avro";
    REQUIRE(coldkey_parse(key, "keyPrefix/raw/", &k, &e) == 0);
    CHECK_INT(k.day.y, 2021);
    CHECK_INT(k.day.m, 1);
    CHECK_INT(k.day.d, 2);
    CHECK_INT(k.bucket, 0xa2);
    CHECK_STR(k.series_id, ASSOC);
    CHECK_INT(k.start_ts, 1609577700);
    CHECK_STR(k.quality, "GOOD");
}

static void test_plain_and_edges(void)
{
    struct coldkey k;
    struct err e;
    REQUIRE(coldkey_parse("raw/startYear=2023/startMonth=12/startDay=31/seriesBucket=00/raw_" PLAIN
                          "_1704006000_UNCERTAIN.avro", "raw/", &k, &e) == 0);
    CHECK_STR(k.series_id, PLAIN);
    CHECK_INT(k.day.m, 12);
    CHECK_INT(k.day.d, 31);
    CHECK_INT(k.bucket, 0);
    CHECK_STR(k.quality, "UNCERTAIN");
    CHECK_INT(k.start_ts, 1704006000);

    REQUIRE(coldkey_parse("raw/startYear=2024/startMonth=2/startDay=29/seriesBucket=ff/raw_a_0_BAD.avro",
                          "raw/", &k, &e) == 0);
    CHECK_STR(k.series_id, "a");
    CHECK_INT(k.start_ts, 0);
    CHECK_INT(k.bucket, 255);
    CHECK_STR(k.quality, "BAD");

    /* A series id with several '_' keeps all but the last two fields. */
    REQUIRE(coldkey_parse("raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_a_b_c_42_GOOD.avro",
                          "raw/", &k, &e) == 0);
    CHECK_STR(k.series_id, "a_b_c");
    CHECK_INT(k.start_ts, 42);

    /* An empty data prefix is allowed by the parser (config forbids it). */
    REQUIRE(coldkey_parse("startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro",
                          "", &k, &e) == 0);

    /* Largest accepted series id and timestamp. */
    char key[2048], id[COLDKEY_SERIES_MAX + 2];
    memset(id, 'a', COLDKEY_SERIES_MAX);
    id[COLDKEY_SERIES_MAX] = '\0';
    snprintf(key, sizeof key,
             "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_%s_999999999999_GOOD.avro", id);
    REQUIRE(coldkey_parse(key, "raw/", &k, &e) == 0);
    CHECK_INT(strlen(k.series_id), COLDKEY_SERIES_MAX);
    CHECK_INT(k.start_ts, 999999999999LL);
    id[COLDKEY_SERIES_MAX] = 'a';
    id[COLDKEY_SERIES_MAX + 1] = '\0';
    snprintf(key, sizeof key,
             "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_%s_1_GOOD.avro", id);
    CHECK(coldkey_parse(key, "raw/", &k, &e) == -1);
    CHECK(strstr(e.msg, "longer") != NULL);
}

struct bad_case {
    const char *key;
    const char *why;  /* a word the message must contain */
};

static void test_bad_keys(void)
{
    static const struct bad_case bad[] = {
        /* prefix */
        { "other/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "prefix" },
        { "ra/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "prefix" },
        { "RAW/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "prefix" },
        { "", "prefix" },
        /* partition */
        { "raw/startyear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "startYear" },
        { "raw/startYear=23/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "startYear" },
        { "raw/startYear=20231/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "startYear" },
        { "raw/startYear=1969/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "valid day" },
        { "raw/startYear=2023/startMonth=01/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "zero-padded" },
        { "raw/startYear=2023/startMonth=1/startDay=05/seriesBucket=1f/raw_x_1_GOOD.avro", "zero-padded" },
        { "raw/startYear=2023/startMonth=0/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "valid day" },
        { "raw/startYear=2023/startMonth=13/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "valid day" },
        { "raw/startYear=2023/startMonth=100/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "startMonth" },
        { "raw/startYear=2023/startMonth=/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "startMonth" },
        { "raw/startYear=2023/startMonth=2/startDay=29/seriesBucket=1f/raw_x_1_GOOD.avro", "valid day" },
        { "raw/startYear=2023/startMonth=2/startDay=0/seriesBucket=1f/raw_x_1_GOOD.avro", "valid day" },
        { "raw/startYear=2023/startMonth=1/startDay=-5/seriesBucket=1f/raw_x_1_GOOD.avro", "startDay" },
        { "raw/startYear=2023/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro", "startMonth" },
        { "raw/startYear=2023/startMonth=1/seriesBucket=1f/raw_x_1_GOOD.avro", "startDay" },
        { "raw/startYear=2023/startMonth=1/startDay=5", "startDay" },
        /* bucket */
        { "raw/startYear=2023/startMonth=1/startDay=5/raw_x_1_GOOD.avro", "seriesBucket" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1F/raw_x_1_GOOD.avro", "hex" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1/raw_x_1_GOOD.avro", "hex" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1ff/raw_x_1_GOOD.avro", "hex" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=g0/raw_x_1_GOOD.avro", "hex" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=/raw_x_1_GOOD.avro", "hex" },
        /* file name */
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/", ".avro" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/x/raw_x_1_GOOD.avro", "path level" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.avro.tmp", ".avro" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD.AVRO", ".avro" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/agg_x_1_GOOD.avro", "raw_" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_.avro", "raw_<seriesId>" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x.avro", "raw_<seriesId>" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_GOOD.avro", "raw_<seriesId>" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_1_GOOD.avro", "raw_<seriesId>" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw__1_GOOD.avro", "empty seriesId" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x__GOOD.avro", "startTimestamp" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_.avro", "quality" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GO0D.avro", "quality" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1_GOOD-1.avro", "quality" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_-1_GOOD.avro", "startTimestamp" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_+1_GOOD.avro", "startTimestamp" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_01_GOOD.avro", "leading zero" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1.5_GOOD.avro", "startTimestamp" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x_1609577700000_GOOD.avro", "startTimestamp" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x y_1_GOOD.avro", "seriesId" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x\ny_1_GOOD.avro", "seriesId" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x%2Fy_1_GOOD.avro", "seriesId" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_x__1_GOOD.avro", "ends with '_'" },
        { "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw___x_1_GOOD.avro", "starts or ends" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct coldkey k;
        struct err e;
        err_clear(&e);
        k.series_id[0] = '#';
        int rc = coldkey_parse(bad[i].key, "raw/", &k, &e);
        if (rc != -1 || !strstr(e.msg, bad[i].why))
            fprintf(stderr, "case %zu \"%s\": rc=%d msg=%s\n", i, bad[i].key, rc, e.msg);
        CHECK(rc == -1);
        CHECK_INT(e.kind, ERR_DATA);
        CHECK(strstr(e.msg, bad[i].why) != NULL);
        CHECK(k.series_id[0] == '#');  /* output untouched on error */
    }
}

static void test_message_is_bounded_and_printable(void)
{
    struct coldkey k;
    struct err e;
    char key[COLDKEY_KEY_MAX + 64];
    memset(key, 'x', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    memcpy(key, "raw/", 4);
    CHECK(coldkey_parse(key, "raw/", &k, &e) == -1);
    CHECK(strstr(e.msg, "longer than 1024") != NULL);
    CHECK(strlen(e.msg) < 400);
    /* A control character in the key is not copied into the message. */
    CHECK(coldkey_parse("raw/\x1b[31mstartYear", "raw/", &k, &e) == -1);
    CHECK(strchr(e.msg, '\x1b') == NULL);
    CHECK(coldkey_parse(NULL, "raw/", &k, &e) == -1);
}

static void test_parse_day(void)
{
    struct day d;
    struct err e;
    REQUIRE(coldkey_parse_day("raw/startYear=2023/startMonth=11/startDay=9/", "raw/", &d, &e) == 0);
    CHECK(d.y == 2023 && d.m == 11 && d.d == 9);
    CHECK(coldkey_parse_day("raw/startYear=2023/startMonth=11/startDay=9/x", "raw/", &d, &e) == -1);
    CHECK(coldkey_parse_day("raw/startYear=2023/startMonth=11/startDay=09/", "raw/", &d, &e) == -1);
    CHECK(coldkey_parse_day("x/startYear=2023/startMonth=11/startDay=9/", "raw/", &d, &e) == -1);
}

static void test_cmp(void)
{
    struct coldkey a, b;
    struct err e;
    const char *ka = "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_s1_200_GOOD.avro";
    const char *kb = "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_s1_1000_GOOD.avro";
    REQUIRE(coldkey_parse(ka, "raw/", &a, &e) == 0);
    REQUIRE(coldkey_parse(kb, "raw/", &b, &e) == 0);
    /* Numeric timestamp order, not string order ("1000" < "200" as text). */
    CHECK(coldkey_cmp(&a, ka, &b, kb) < 0);
    CHECK(coldkey_cmp(&b, kb, &a, ka) > 0);
    CHECK(coldkey_cmp(&a, ka, &a, ka) == 0);
    /* Series id first. */
    const char *kc = "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=00/raw_s0_9999_GOOD.avro";
    struct coldkey c;
    REQUIRE(coldkey_parse(kc, "raw/", &c, &e) == 0);
    CHECK(coldkey_cmp(&c, kc, &a, ka) < 0);
    /* Same series and timestamp: the key decides (quality differs). */
    const char *kd = "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=1f/raw_s1_200_BAD.avro";
    struct coldkey d;
    REQUIRE(coldkey_parse(kd, "raw/", &d, &e) == 0);
    CHECK(coldkey_cmp(&d, kd, &a, ka) < 0);
    CHECK(coldkey_cmp(&a, ka, &d, kd) > 0);
}

static void test_prefixes(void)
{
    char buf[COLDKEY_BUCKET_PREFIX_MAX];
    struct err e;
    struct day d = {2023, 1, 5, 0};
    CHECK_INT(coldkey_day_prefix(buf, sizeof buf, "raw/", &d, &e), 43);
    CHECK_STR(buf, "raw/startYear=2023/startMonth=1/startDay=5/");
    CHECK(coldkey_bucket_prefix(buf, sizeof buf, "a/raw/", &d, 0x0a, &e) > 0);
    CHECK_STR(buf, "a/raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=0a/");
    CHECK(coldkey_bucket_prefix(buf, sizeof buf, "raw/", &d, 255, &e) > 0);
    CHECK_STR(buf, "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=ff/");
    CHECK(coldkey_bucket_prefix(buf, sizeof buf, "raw/", &d, 256, &e) == -1);
    char small[20];
    CHECK(coldkey_day_prefix(small, sizeof small, "raw/", &d, &e) == -1);
    struct day bad = {2023, 2, 30, 0};
    CHECK(coldkey_day_prefix(buf, sizeof buf, "raw/", &bad, &e) == -1);

    /* Every one of the 256 bucket prefixes, plus a file name, parses back to
     * that bucket and day; and they are all distinct. */
    int ok = 1;
    for (unsigned b = 0; b < COLDKEY_BUCKETS; b++) {
        char key[COLDKEY_KEY_MAX + 1];
        struct coldkey k;
        int n = coldkey_bucket_prefix(key, sizeof key, "raw/", &d, b, &e);
        if (n < 0)
            ok = 0;
        snprintf(key + n, sizeof key - (size_t)n, "raw_id_1_GOOD.avro");
        if (coldkey_parse(key, "raw/", &k, &e) < 0 || k.bucket != b || day_cmp(&k.day, &d))
            ok = 0;
    }
    CHECK(ok);
}

/* scan_key_kind: what a listed key under a day is (issue 12: every key
 * accounted for). */
static void test_key_kind(void)
{
    struct coldkey k;
    struct err e;
    struct day d = {2023, 11, 1, 0};
#define DP "raw/startYear=2023/startMonth=11/startDay=1/"
    CHECK_INT(scan_key_kind(DP "seriesBucket=0a/raw_s_1700000000_GOOD.avro", "raw/", &d, &k, &e),
              SCAN_KEY_DATA);
    CHECK_STR(k.series_id, "s");
    /* not data: folder markers, other names */
    CHECK_INT(scan_key_kind(DP, "raw/", &d, &k, &e), SCAN_KEY_SKIP);
    CHECK_INT(scan_key_kind(DP "seriesBucket=0a/", "raw/", &d, &k, &e), SCAN_KEY_SKIP);
    CHECK_INT(scan_key_kind(DP "_manifest.json", "raw/", &d, &k, &e), SCAN_KEY_SKIP);
    CHECK_INT(scan_key_kind(DP "seriesBucket=0a/raw_s_1_GOOD.avro.tmp", "raw/", &d, &k, &e),
              SCAN_KEY_SKIP);
    CHECK_INT(scan_key_kind(DP "tmp/part-0001", "raw/", &d, &k, &e), SCAN_KEY_SKIP);
    /* .avro keys that do not parse, wherever they are */
    CHECK_INT(scan_key_kind(DP "raw_s_1_GOOD.avro", "raw/", &d, &k, &e), SCAN_KEY_BAD);
    CHECK(strstr(e.msg, "seriesBucket") != NULL);
    CHECK_INT(scan_key_kind(DP "seriesBucket=A0/raw_s_1_GOOD.avro", "raw/", &d, &k, &e),
              SCAN_KEY_BAD);
    CHECK_INT(scan_key_kind(DP "seriesBucket=0a/agg_s_1_GOOD.avro", "raw/", &d, &k, &e),
              SCAN_KEY_BAD);
    CHECK_INT(scan_key_kind(DP "seriesBucket=0a/raw_s_1_GOOD.AVRO", "raw/", &d, &k, &e),
              SCAN_KEY_BAD);
    CHECK_INT(scan_key_kind(DP "other/x.avro", "raw/", &d, &k, &e), SCAN_KEY_BAD);
    /* a key of another day (not under this day's prefix in a listing, but
     * never taken for this day) */
    CHECK_INT(scan_key_kind("raw/startYear=2023/startMonth=11/startDay=2/seriesBucket=0a/"
                            "raw_s_1_GOOD.avro", "raw/", &d, &k, &e), SCAN_KEY_BAD);
#undef DP
}

/* The agg dataset: agg_<seriesId>_<startTimestamp>_<quality>.avro under
 * <keyPrefix>/agg/ (issue 12), the same rules as raw_. */
static void test_agg_keys(void)
{
    struct coldkey k;
    struct err e;
    const char *key = "keyPrefix/agg/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/"
                      "agg_" ASSOC "_1609545600_GOOD.avro";
    REQUIRE(coldkey_parse_ds(key, "keyPrefix/agg/", COLDKEY_AGG, &k, &e) == 0);
    CHECK_STR(k.series_id, ASSOC);
    CHECK_INT(k.start_ts, 1609545600);
    CHECK_STR(k.quality, "GOOD");
    CHECK_INT(k.bucket, 0xa2);
    CHECK_INT(k.day.d, 2);
    /* an agg_ key is not a raw key, nor the reverse */
    CHECK_INT(coldkey_parse_ds(key, "keyPrefix/agg/", COLDKEY_RAW, &k, &e), -1);
    CHECK(strstr(e.msg, "does not start with \"raw_\"") != NULL);
    CHECK_INT(coldkey_parse(key, "keyPrefix/agg/", &k, &e), -1);
    CHECK_INT(coldkey_parse_ds("raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=00/"
                               "raw_s_1_GOOD.avro", "raw/", COLDKEY_AGG, &k, &e), -1);
    CHECK(strstr(e.msg, "does not start with \"agg_\"") != NULL);
    CHECK_INT(coldkey_parse_ds("agg/startYear=2021/startMonth=1/startDay=2/seriesBucket=00/"
                               "agg_s_1.avro", "agg/", COLDKEY_AGG, &k, &e), -1);
    CHECK(strstr(e.msg, "agg_<seriesId>_<startTimestamp>_<quality>.avro") != NULL);
    CHECK_STR(coldkey_ds_name(COLDKEY_AGG), "agg");
    CHECK_STR(coldkey_ds_name(COLDKEY_RAW), "raw");
}

int main(void)
{
    RUN(test_doc_example);
    RUN(test_plain_and_edges);
    RUN(test_bad_keys);
    RUN(test_message_is_bounded_and_printable);
    RUN(test_parse_day);
    RUN(test_cmp);
    RUN(test_prefixes);
    RUN(test_key_kind);
    RUN(test_agg_keys);
    return TEST_EXIT();
}
