/* watch.c's batch logic: message -> days, duplicates, bad and no-work
 * messages, which messages may be deleted after the pipeline. */
#include <stdio.h>
#include <string.h>

#include "test.h"
#include "watch.h"

static const struct event_filter F = {"cold", "raw/", NULL};

#define KEY(d) "raw/startYear%3D2023/startMonth%3D1/startDay%3D" #d "/seriesBucket%3D0a/raw_s_1_GOOD.avro"
#define REC(b, k) "{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\"," \
                  "\"s3\":{\"bucket\":{\"name\":\"" b "\"},\"object\":{\"key\":\"" k "\"}}}"

static struct sqs_message msg(const char *id, const char *receipt, const char *body)
{
    struct sqs_message m;
    memset(&m, 0, sizeof m);
    m.message_id = (char *)id;
    m.receipt_handle = (char *)receipt;
    m.body = (char *)body;
    m.body_len = strlen(body);
    m.receive_count = 1;
    return m;
}

static struct watch_msg *add(struct watch_batch *b, const char *id, const char *receipt,
                             const char *body, int *dup, struct err *bad)
{
    struct sqs_message m = msg(id, receipt, body);
    struct err e;
    return watch_batch_add(b, &m, &F, dup, bad, &e);
}

static int is_day(const struct day *d, int y, int m, int dd)
{
    return d->y == y && d->m == m && d->d == dd;
}

static void test_add_states(void)
{
    struct watch_batch b;
    memset(&b, 0, sizeof b);
    int dup;
    struct err bad;
    struct watch_msg *w;

    /* two days in one message, one of them again in another */
    w = add(&b, "m1", "r1", "{\"Records\":[" REC("cold", KEY(5)) "," REC("cold", KEY(7)) "]}", &dup, &bad);
    REQUIRE(w != NULL);
    CHECK_INT(dup, 0);
    CHECK_INT(w->state, WATCH_MSG_WORK);
    CHECK_INT(w->held, 1);
    REQUIRE(w->days.n == 2);
    CHECK(is_day(&w->days.v[0], 2023, 1, 5) && is_day(&w->days.v[1], 2023, 1, 7));
    w = add(&b, "m2", "r2", "{\"Records\":[" REC("cold", KEY(7)) "]}", &dup, &bad);
    REQUIRE(w != NULL);
    CHECK_INT(w->state, WATCH_MSG_WORK);

    /* test event and foreign bucket: nothing to do */
    w = add(&b, "m3", "r3", "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}", &dup, &bad);
    REQUIRE(w != NULL);
    CHECK_INT(w->state, WATCH_MSG_NOWORK);
    CHECK_INT(w->held, 1);
    w = add(&b, "m4", "r4", "{\"Records\":[" REC("other", KEY(6)) "]}", &dup, &bad);
    REQUIRE(w != NULL);
    CHECK_INT(w->state, WATCH_MSG_NOWORK);
    CHECK_INT(b.ev.n_skipped_kept, 1);
    CHECK(strstr(b.ev.skipped[0], "sqs message m4") != NULL);
    CHECK(strstr(b.ev.skipped[0], "not the cold tier bucket") != NULL);

    /* not an event: bad, not held, the reason names the message */
    w = add(&b, "m5", "r5", "{\"Records\":[", &dup, &bad);
    REQUIRE(w != NULL);
    CHECK_INT(w->state, WATCH_MSG_BAD);
    CHECK_INT(w->held, 0);
    CHECK_INT(bad.kind, ERR_DATA);
    CHECK(strstr(bad.msg, "sqs message m5") != NULL);

    /* the same message again: counted once, newest receipt kept */
    w = add(&b, "m1", "r1-again", "{\"Records\":[" REC("cold", KEY(5)) "," REC("cold", KEY(7)) "]}",
            &dup, &bad);
    REQUIRE(w != NULL);
    CHECK_INT(dup, 1);
    CHECK_STR(w->receipt, "r1-again");
    CHECK_INT(b.n, 5);
    CHECK_INT(b.n_dup, 1);

    /* the union of the days, sorted */
    REQUIRE(b.ev.days.n == 2);
    CHECK(is_day(&b.ev.days.v[0], 2023, 1, 5) && is_day(&b.ev.days.v[1], 2023, 1, 7));
    watch_batch_free(&b);
    CHECK(b.v == NULL && b.n == 0);
}

static void test_settle(void)
{
    struct watch_batch b;
    memset(&b, 0, sizeof b);
    int dup;
    struct err bad;
    REQUIRE(add(&b, "a", "ra", "{\"Records\":[" REC("cold", KEY(5)) "," REC("cold", KEY(7)) "]}", &dup, &bad));
    REQUIRE(add(&b, "b", "rb", "{\"Records\":[" REC("cold", KEY(7)) "]}", &dup, &bad));
    REQUIRE(add(&b, "c", "rc", "{\"Records\":[" REC("cold", KEY(5)) "]}", &dup, &bad));
    REQUIRE(add(&b, "d", "rd", "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}", &dup, &bad));
    REQUIRE(add(&b, "e", "re", "not json", &dup, &bad));
    REQUIRE(b.ev.days.n == 2);

    struct day_result r[2];
    memset(r, 0, sizeof r);
    r[0].day = b.ev.days.v[0];   /* 5th: failed */
    r[0].status = DAY_FAILED;
    r[1].day = b.ev.days.v[1];   /* 7th: nothing new */
    r[1].status = DAY_NOTHING_NEW;
    CHECK_INT(watch_batch_settle(&b, r, 2), 2);
    CHECK_INT(b.v[0].deletable, 0);   /* names the failed day */
    CHECK_INT(b.v[1].deletable, 1);
    CHECK_INT(b.v[2].deletable, 0);
    CHECK_INT(b.v[3].deletable, 1);   /* test event */
    CHECK_INT(b.v[4].deletable, 0);   /* bad: left for the dead-letter queue */

    r[0].status = DAY_DONE;
    CHECK_INT(watch_batch_settle(&b, r, 2), 4);
    CHECK_INT(b.v[0].deletable, 1);
    CHECK_INT(b.v[4].deletable, 0);

    /* a day the pipeline did not report on counts as failed */
    CHECK_INT(watch_batch_settle(&b, r + 1, 1), 2);
    CHECK_INT(b.v[0].deletable, 0);
    CHECK_INT(b.v[1].deletable, 1);
    CHECK_INT(watch_batch_settle(&b, NULL, 0), 1);   /* only the test event */
    r[1].status = DAY_PENDING;
    CHECK_INT(watch_batch_settle(&b, r, 2), 2);
    CHECK_INT(b.v[1].deletable, 0);
    watch_batch_free(&b);
}

static void test_days_text(void)
{
    struct day d[10];
    for (int i = 0; i < 10; i++)
        d[i] = (struct day){2023, 1, i + 1, 0};
    char buf[256];
    CHECK_STR(watch_days_text(d, 0, buf, sizeof buf), "");
    CHECK_STR(watch_days_text(d, 2, buf, sizeof buf), "2023-01-01, 2023-01-02");
    watch_days_text(d, 10, buf, sizeof buf);
    CHECK(strstr(buf, "2023-01-08 and 2 more") != NULL);
    CHECK(strstr(buf, "2023-01-09") == NULL);
    char small[12];
    watch_days_text(d, 3, small, sizeof small);
    CHECK(strlen(small) < sizeof small);   /* truncated, still terminated */
    CHECK(strncmp(small, "2023-01-01", 10) == 0);
}

int main(void)
{
    RUN(test_add_states);
    RUN(test_settle);
    RUN(test_days_text);
    TEST_EXIT();
}
