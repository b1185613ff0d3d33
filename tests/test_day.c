#include "test.h"
#include "day.h"

static struct day D(int y, int m, int d)
{
    struct day r = {y, m, d, 0};
    return r;
}

static void test_parse_ok(void)
{
    struct day d;
    struct err e;
    REQUIRE(day_parse("2023-01-05", &d, &e) == 0);
    CHECK_INT(d.y, 2023);
    CHECK_INT(d.m, 1);
    CHECK_INT(d.d, 5);
    REQUIRE(day_parse("2024-02-29", &d, &e) == 0);  /* leap year */
    CHECK_INT(d.d, 29);
    REQUIRE(day_parse("2000-02-29", &d, &e) == 0);  /* divisible by 400 */
    REQUIRE(day_parse("1970-01-01", &d, &e) == 0);
    REQUIRE(day_parse("9999-12-31", &d, &e) == 0);
    REQUIRE(day_parse("2023-12-31", &d, &e) == 0);
    CHECK_INT(d.m, 12);
    CHECK_INT(d.d, 31);
}

static void test_parse_bad(void)
{
    static const char *bad[] = {
        "", "2023-1-5", "2023-01-5", "23-01-05", "2023/01/05", "2023-01-05 ", " 2023-01-05",
        "2023-01-05x", "2023-00-10", "2023-13-01", "2023-01-00", "2023-01-32", "2023-02-29",
        "1900-02-29", "2100-02-29", "2023-04-31", "1969-12-31", "0000-01-01", "+023-01-01",
        "2023-0a-01", "2023-01-0-", "2023--01-01", "20230105", "2023-06-31",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct day d = {-1, -1, -1, 0};
        struct err e;
        err_clear(&e);
        int rc = day_parse(bad[i], &d, &e);
        if (rc != -1)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK(rc == -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(e.msg[0] != '\0');
        CHECK_INT(d.y, -1);  /* untouched on error */
    }
    struct err e;
    CHECK(day_parse(NULL, &(struct day){0}, &e) == -1);
    /* The message says why. */
    struct day d;
    CHECK(day_parse("2023-02-29", &d, &e) == -1);
    CHECK(strstr(e.msg, "2023-02-29") != NULL);
    CHECK(strstr(e.msg, "28 days") != NULL);
    CHECK(day_parse("2024-13-01", &d, &e) == -1);
    CHECK(strstr(e.msg, "month") != NULL);
}

static void test_format(void)
{
    char b[DAY_STR_MAX], f[DAY_FOLDER_MAX], p[DAY_PARTITION_MAX];
    struct day d = D(2023, 1, 5);
    CHECK_STR(day_format(&d, b), "2023-01-05");
    CHECK_STR(day_folder(&d, f), "2023-1-5");
    CHECK_STR(day_partition(&d, p), "startYear=2023/startMonth=1/startDay=5/");
    d = D(2023, 12, 31);
    CHECK_STR(day_format(&d, b), "2023-12-31");
    CHECK_STR(day_folder(&d, f), "2023-12-31");
    CHECK_STR(day_partition(&d, p), "startYear=2023/startMonth=12/startDay=31/");
    /* a work item's name: agg days say so, raw days keep their plain name */
    char it[DAY_ITEM_MAX];
    CHECK_STR(day_item_format(&d, it), "2023-12-31");
    d.ds = 1;
    CHECK_STR(day_item_format(&d, it), "agg:2023-12-31");
    CHECK_STR(day_format(&d, b), "2023-12-31");
    d.ds = 0;
    /* Round trip through the parser. */
    struct day r;
    struct err e;
    REQUIRE(day_parse(day_format(&d, b), &r, &e) == 0);
    CHECK(day_cmp(&r, &d) == 0);
    /* Out-of-range structs cannot overflow the buffers. */
    d = D(-5, 1000, 12345);
    day_format(&d, b);
    day_folder(&d, f);
    day_partition(&d, p);
    CHECK(strlen(b) < DAY_STR_MAX);
}

static void test_next_prev_cmp(void)
{
    struct day d = day_next(D(2023, 1, 31));
    CHECK(d.y == 2023 && d.m == 2 && d.d == 1);
    d = day_next(D(2023, 2, 28));
    CHECK(d.m == 3 && d.d == 1);
    d = day_next(D(2024, 2, 28));
    CHECK(d.m == 2 && d.d == 29);
    d = day_next(D(2023, 12, 31));
    CHECK(d.y == 2024 && d.m == 1 && d.d == 1);
    d = day_prev(D(2024, 1, 1));
    CHECK(d.y == 2023 && d.m == 12 && d.d == 31);
    d = day_prev(D(2024, 3, 1));
    CHECK(d.m == 2 && d.d == 29);
    d = day_prev(D(2023, 3, 1));
    CHECK(d.m == 2 && d.d == 28);

    struct day a = D(2023, 1, 5), b = D(2023, 1, 6), c = D(2022, 12, 31);
    CHECK(day_cmp(&a, &b) < 0);
    CHECK(day_cmp(&b, &a) > 0);
    CHECK(day_cmp(&a, &a) == 0);
    CHECK(day_cmp(&c, &a) < 0);
    struct day m1 = D(2023, 2, 1);
    CHECK(day_cmp(&a, &m1) < 0);
}

static void test_epoch(void)
{
    struct day d = D(1970, 1, 1);
    CHECK_INT(day_to_epoch_days(&d), 0);
    d = D(2021, 1, 2);  /* 1609577700 is 2021-01-02T08:55:00Z */
    CHECK_INT(day_to_epoch_days(&d), 1609577700 / 86400);
    d = D(2000, 3, 1);
    CHECK_INT(day_to_epoch_days(&d), 11017);
    /* Walk every day from 1970 to 2100: next() and the epoch count agree,
     * and from_epoch inverts to_epoch. */
    d = D(1970, 1, 1);
    long n = 0;
    int ok = 1;
    while (d.y < 2101) {
        if (!day_valid(&d) || day_to_epoch_days(&d) != n) {
            ok = 0;
            break;
        }
        struct day r = day_from_epoch_days(n);
        if (day_cmp(&r, &d) != 0) {
            ok = 0;
            break;
        }
        d = day_next(d);
        n++;
    }
    CHECK(ok);
    CHECK_INT(n, 47847);  /* days in 1970..2100: 131*365 + 32 leap days */
    struct day a = D(2023, 1, 1), b = D(2024, 1, 1);
    CHECK_INT(day_between(&a, &b), 365);
    CHECK_INT(day_between(&b, &a), -365);
    a = D(2024, 1, 1), b = D(2025, 1, 1);
    CHECK_INT(day_between(&a, &b), 366);
}

static void test_valid(void)
{
    CHECK(day_valid(&(struct day){2024, 2, 29, 0}));
    CHECK(!day_valid(&(struct day){2023, 2, 29, 0}));
    CHECK(!day_valid(&(struct day){2023, 0, 1, 0}));
    CHECK(!day_valid(&(struct day){1969, 12, 31, 0}));
    CHECK(!day_valid(&(struct day){10000, 1, 1, 0}));
    CHECK(!day_valid(NULL));
    CHECK_INT(day_month_days(2023, 2), 28);
    CHECK_INT(day_month_days(2024, 2), 29);
    CHECK_INT(day_month_days(2023, 4), 30);
    CHECK_INT(day_month_days(2023, 13), 0);
}

static void test_range(void)
{
    struct day_list l;
    struct err e;
    struct day a = D(2023, 2, 27), b = D(2023, 3, 2);
    REQUIRE(day_list_range(&a, &b, &l, &e) == 0);
    REQUIRE(l.n == 4);
    CHECK(l.v[0].m == 2 && l.v[0].d == 27);
    CHECK(l.v[1].m == 2 && l.v[1].d == 28);
    CHECK(l.v[2].m == 3 && l.v[2].d == 1);
    CHECK(l.v[3].m == 3 && l.v[3].d == 2);
    day_list_free(&l);
    REQUIRE(day_list_range(&a, &a, &l, &e) == 0);
    CHECK_INT(l.n, 1);
    day_list_free(&l);
    CHECK(day_list_range(&b, &a, &l, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, "2023-03-02") != NULL);
    CHECK(l.v == NULL && l.n == 0);
    struct day lo = D(1970, 1, 1), hi = D(9999, 12, 31);
    CHECK(day_list_range(&lo, &hi, &l, &e) == -1);
    CHECK(strstr(e.msg, "limit") != NULL);
    struct day bad = D(2023, 2, 30);
    CHECK(day_list_range(&bad, &hi, &l, &e) == -1);
}

static void test_list_parse(void)
{
    struct day_list l;
    struct err e;
    REQUIRE(day_list_parse("2023-01-05,2023-01-03, 2023-01-05 ,2022-12-31", &l, &e) == 0);
    REQUIRE(l.n == 3);  /* sorted, duplicate removed */
    CHECK(l.v[0].y == 2022 && l.v[0].m == 12 && l.v[0].d == 31);
    CHECK(l.v[1].d == 3);
    CHECK(l.v[2].d == 5);
    day_list_free(&l);
    REQUIRE(day_list_parse("2024-02-29", &l, &e) == 0);
    CHECK_INT(l.n, 1);
    day_list_free(&l);

    static const char *bad[] = { "", ",", "2023-01-05,", ",2023-01-05", "2023-01-05,,2023-01-06",
                                 "2023-01-05;2023-01-06", "2023-02-30", "2023-01-05,x",
                                 "2023-01-05,2023-01-0512345678901234567890" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        l.v = (struct day *)1;
        int rc = day_list_parse(bad[i], &l, &e);
        if (rc != -1)
            fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
        CHECK(rc == -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(l.v == NULL);
    }
    CHECK(day_list_parse("2023-01-05,2023-02-30", &l, &e) == -1);
    CHECK(strstr(e.msg, "2023-02-30") != NULL);
}

static void test_shard(void)
{
    struct day_list l;
    struct err e;
    struct day a = D(2023, 1, 1), b = D(2023, 1, 10);
    /* Every day lands in exactly one of 3 shards, by its epoch day number
     * (2023-01-01 is day 19358, 19358 % 3 == 2). */
    int seen[10] = { 0 };
    for (unsigned s = 0; s < 3; s++) {
        REQUIRE(day_list_range(&a, &b, &l, &e) == 0);
        day_list_shard(&l, s, 3);
        CHECK(l.n == (s == 2 ? 4u : 3u));
        if (l.n)
            CHECK_INT(day_to_epoch_days(&l.v[0]) % 3, s);
        for (size_t i = 0; i < l.n; i++)
            seen[l.v[i].d - 1]++;
        day_list_free(&l);
    }
    for (int i = 0; i < 10; i++)
        CHECK_INT(seen[i], 1);
    REQUIRE(day_list_range(&a, &b, &l, &e) == 0);
    day_list_shard(&l, 0, 1);
    CHECK_INT(l.n, 10);
    day_list_shard(&l, 1, 20);      /* 19361 % 20 == 1: 2023-01-04 */
    CHECK_INT(l.n, 1);
    CHECK_INT(l.v[0].d, 4);
    day_list_free(&l);
}

int main(void)
{
    RUN(test_parse_ok);
    RUN(test_parse_bad);
    RUN(test_format);
    RUN(test_next_prev_cmp);
    RUN(test_epoch);
    RUN(test_valid);
    RUN(test_range);
    RUN(test_list_parse);
    RUN(test_shard);
    return TEST_EXIT();
}
