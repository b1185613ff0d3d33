/* event: every envelope of S3 events, key decoding, mapping to days,
 * skip reasons, errors on malformed documents, batches across documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "test.h"

static const struct event_filter COLD = {"sitewise-cold", "raw/", NULL};

static char *slurp(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/events/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Days of one document as "YYYY-MM-DD,..." into out. */
static const char *days_str(const struct day_list *l, char *out, size_t size)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n && o + DAY_STR_MAX + 1 < size; i++) {
        char b[DAY_STR_MAX];
        o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "," : "", day_format(&l->v[i], b));
    }
    return out;
}

/* Adds a data file to a fresh batch; returns the days it named. */
static int add_file(struct event_batch *b, const char *file, struct event_doc_days *dd,
                    struct err *e)
{
    size_t len;
    char *json = slurp(file, &len);
    if (!json)
        return -2;
    int rc = event_batch_add(b, json, len, file, &COLD, dd, e);
    free(json);
    return rc;
}

static int parse_file(const char *file, struct event_doc *doc, struct err *e)
{
    size_t len;
    char *json = slurp(file, &len);
    if (!json)
        return -2;
    int rc = event_parse(json, len, file, doc, e);
    free(json);
    return rc;
}

static void test_s3_put(void)
{
    struct event_doc doc;
    struct err e;
    REQUIRE(parse_file("s3-put.json", &doc, &e) == 0);
    REQUIRE(doc.n == 1);
    CHECK(!doc.ignored);
    const struct event_record *r = &doc.v[0];
    CHECK_INT(r->from, EVENT_FROM_S3);
    CHECK_STR(r->bucket, "sitewise-cold");
    CHECK_STR(r->key, "raw/startYear=2023/startMonth=1/startDay=5/seriesBucket=0a/"
                      "raw_7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a"
                      "_1672876800_GOOD.avro");
    CHECK_STR(r->event_name, "ObjectCreated:Put");
    CHECK_STR(r->etag, "d41d8cd98f00b204e9800998ecf8427e");
    CHECK_INT(r->size, 1024);
    CHECK(r->created);
    CHECK(r->skip == NULL);
    CHECK_STR(r->where, "Records[0]");

    struct day d;
    char why[512];
    CHECK_INT(event_record_day(r, &COLD, &d, why, sizeof why), 1);
    CHECK(d.y == 2023 && d.m == 1 && d.d == 5);

    /* another bucket or prefix in the filter: skipped with the reason */
    struct event_filter other = {"other-cold", "raw/", NULL};
    CHECK_INT(event_record_day(r, &other, &d, why, sizeof why), 0);
    CHECK(strstr(why, "s3://sitewise-cold/raw/startYear=2023/") != NULL);
    CHECK(strstr(why, "not the cold tier bucket \"other-cold\"") != NULL);
    struct event_filter pre = {"sitewise-cold", "data/raw/", NULL};
    CHECK_INT(event_record_day(r, &pre, &d, why, sizeof why), 0);
    CHECK(strstr(why, "outside the data prefix \"data/raw/\"") != NULL);

    /* both datasets: a raw key is a raw day; an agg key an agg day */
    struct event_filter both = {"sitewise-cold", "raw/", "agg/"};
    CHECK_INT(event_record_day(r, &both, &d, why, sizeof why), 1);
    CHECK(d.y == 2023 && d.m == 1 && d.d == 5 && d.ds == 0);
    struct event_record ra = *r;
    ra.key = "agg/startYear=2023/startMonth=1/startDay=7/seriesBucket=0a/agg_x_1673049600_GOOD.avro";
    CHECK_INT(event_record_day(&ra, &both, &d, why, sizeof why), 1);
    CHECK(d.y == 2023 && d.m == 1 && d.d == 7 && d.ds == 1);
    /* agg alone: a raw key is outside it; raw alone: an agg key is */
    struct event_filter agg_only = {"sitewise-cold", NULL, "agg/"};
    CHECK_INT(event_record_day(r, &agg_only, &d, why, sizeof why), 0);
    CHECK(strstr(why, "outside the data prefix \"agg/\"") != NULL);
    CHECK_INT(event_record_day(&ra, &COLD, &d, why, sizeof why), 0);
    CHECK(strstr(why, "outside the data prefix \"raw/\"") != NULL);
    ra.key = "other/x.avro";
    CHECK_INT(event_record_day(&ra, &both, &d, why, sizeof why), 0);
    CHECK(strstr(why, "outside the data prefixes \"raw/\" and \"agg/\"") != NULL);
    event_doc_free(&doc);
}

static void test_s3_mixed(void)
{
    struct event_doc doc;
    struct err e;
    REQUIRE(parse_file("s3-mixed.json", &doc, &e) == 0);
    REQUIRE(doc.n == 10);
    /* '+' is a space, %2B a plus, %3D '=' */
    CHECK_STR(doc.v[0].key, "raw/startYear=2023/startMonth=1/startDay=6/seriesBucket=0b/"
                            "raw_a+b c_1672963200_GOOD.avro");
    CHECK_STR(doc.v[0].etag, "4af981f98d22a0b9979da24b259e5e42-12");
    CHECK_INT(doc.v[0].size, 104857600);
    CHECK_STR(doc.v[3].event_name, "ObjectRemoved:Delete");
    CHECK(!doc.v[3].created);
    CHECK_INT(doc.v[3].size, -1);  /* removals carry no size */
    CHECK(doc.v[9].key == NULL);
    CHECK(doc.v[9].skip && strstr(doc.v[9].skip, "invalid URL encoding in the key at byte 53"));
    event_doc_free(&doc);

    struct event_batch b = {0};
    struct event_doc_days dd;
    REQUIRE(add_file(&b, "s3-mixed.json", &dd, &e) == 0);
    char s[256];
    CHECK_STR(days_str(&dd.days, s, sizeof s), "2022-12-31,2023-01-05,2023-01-06");
    CHECK_INT(dd.n_records, 10);
    CHECK_INT(dd.n_used, 3);
    CHECK_INT(dd.n_skipped, 7);
    CHECK(!dd.ignored);
    CHECK_STR(days_str(&b.days, s, sizeof s), "2022-12-31,2023-01-05,2023-01-06");
    REQUIRE(b.n_skipped_kept == 7);
    CHECK_INT(b.n_skipped, 7);
    const char *want[] = {
        "s3-mixed.json: Records[3]: s3://sitewise-cold/raw/startYear=2023/startMonth=1/startDay=5/",
        "s3-mixed.json: Records[4]: s3://some-other-bucket/raw/",
        "s3-mixed.json: Records[5]: s3://sitewise-cold/asset_metadata/asset_7020c8e2",
        "s3-mixed.json: Records[6]: s3://sitewise-cold/consolidated/startYear=2023/",
        "s3-mixed.json: Records[7]: s3://sitewise-cold/raw/startYear=2023/startMonth=13/",
        "s3-mixed.json: Records[8]: s3://sitewise-cold/raw/startYear=2023/startMonth=1/: ",
        "s3-mixed.json: Records[9]: s3://sitewise-cold/raw/startYear%3D2023/startMonth%3D1/startDay%3D8/raw_%ZZ",
    };
    const char *why[] = {
        "ObjectRemoved:Delete is not a new object",
        "not the cold tier bucket \"sitewise-cold\"",
        "asset metadata",
        "outside the data prefix \"raw/\"",
        "startMonth",
        "not under a day partition",
        "invalid URL encoding",
    };
    for (size_t i = 0; i < 7; i++) {
        CHECK(strncmp(b.skipped[i], want[i], strlen(want[i])) == 0);
        CHECK(strstr(b.skipped[i], why[i]) != NULL);
        if (strncmp(b.skipped[i], want[i], strlen(want[i])) != 0 || !strstr(b.skipped[i], why[i]))
            fprintf(stderr, "  skipped[%zu] = %s\n", i, b.skipped[i]);
    }
    day_list_free(&dd.days);
    event_batch_free(&b);
}

static void test_prefix_with_space(void)
{
    /* a data prefix with a space and a plus, encoded by S3 */
    const char *json =
        "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
        "\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":"
        "\"my+data%2Bx/startYear%3D2024/startMonth%3D2/startDay%3D29/seriesBucket%3D00/raw_s_1_GOOD.avro\","
        "\"size\":7}}}]}";
    struct event_filter f = {"b", "my data+x/", NULL};
    struct event_batch b = {0};
    struct event_doc_days dd;
    struct err e;
    REQUIRE(event_batch_add(&b, json, strlen(json), "inline", &f, &dd, &e) == 0);
    char s[64];
    CHECK_STR(days_str(&dd.days, s, sizeof s), "2024-02-29");
    day_list_free(&dd.days);
    event_batch_free(&b);
}

static void test_test_event(void)
{
    const char *files[] = {"s3-testevent.json", "sns-testevent.json",
                           "sns-subscription-confirmation.json"};
    const char *what[] = {"s3:TestEvent", "s3:TestEvent", "SubscriptionConfirmation"};
    for (size_t i = 0; i < 3; i++) {
        struct event_doc doc;
        struct err e;
        REQUIRE(parse_file(files[i], &doc, &e) == 0);
        CHECK(doc.ignored);
        CHECK_INT(doc.n, 0);
        CHECK_STR(doc.ignored_what, what[i]);
        event_doc_free(&doc);

        struct event_batch b = {0};
        struct event_doc_days dd;
        REQUIRE(add_file(&b, files[i], &dd, &e) == 0);
        CHECK(dd.ignored);
        CHECK_INT(dd.days.n, 0);
        CHECK_INT(b.n_ignored, 1);
        CHECK_INT(b.n_docs, 1);
        event_batch_free(&b);
    }
}

static void test_envelopes(void)
{
    struct {
        const char *file, *days, *first_where;
        size_t n_records;
    } cases[] = {
        {"sns-envelope.json", "2023-01-07", "Message.Records[0]", 1},
        {"lambda-sqs.json", "2023-01-05,2023-01-06", "Records[0].body.Records[0]", 2},
        {"lambda-sqs-sns.json", "2022-12-31", "Records[0].body.Message.Records[0]", 1},
        {"lambda-sns.json", "2023-01-06", "Records[0].Sns.Message.Records[0]", 1},
        {"sqs-receive-message.json", "2022-12-31,2023-01-07", "Messages[0].Body.Records[0]", 2},
        {"eventbridge-created.json", "2023-01-07", "detail", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct event_doc doc;
        struct err e;
        int rc = parse_file(cases[i].file, &doc, &e);
        if (rc != 0)
            fprintf(stderr, "  %s: %s\n", cases[i].file, e.msg);
        REQUIRE(rc == 0);
        CHECK_INT(doc.n, cases[i].n_records);
        CHECK(!doc.ignored);  /* lambda-sqs.json also holds a test event */
        if (doc.n)
            CHECK_STR(doc.v[0].where, cases[i].first_where);
        event_doc_free(&doc);

        struct event_batch b = {0};
        struct event_doc_days dd;
        REQUIRE(add_file(&b, cases[i].file, &dd, &e) == 0);
        char s[128];
        CHECK_STR(days_str(&dd.days, s, sizeof s), cases[i].days);
        CHECK_INT(dd.n_skipped, 0);
        day_list_free(&dd.days);
        event_batch_free(&b);
    }
}

static void test_eventbridge(void)
{
    struct event_doc doc;
    struct err e;
    REQUIRE(parse_file("eventbridge-created.json", &doc, &e) == 0);
    REQUIRE(doc.n == 1);
    const struct event_record *r = &doc.v[0];
    CHECK_INT(r->from, EVENT_FROM_EVENTBRIDGE);
    /* not URL-decoded: the '+' stays a plus */
    CHECK_STR(r->key, "raw/startYear=2023/startMonth=1/startDay=7/seriesBucket=ff/"
                      "raw_x+y_1673049600_GOOD.avro");
    CHECK_STR(r->event_name, "Object Created");
    CHECK_STR(r->etag, "b1946ac92492d2347c6235b4d2611184");
    CHECK_INT(r->size, 198524144);
    CHECK(r->created);
    event_doc_free(&doc);

    REQUIRE(parse_file("eventbridge-deleted.json", &doc, &e) == 0);
    REQUIRE(doc.n == 1);
    CHECK(!doc.v[0].created);
    CHECK_INT(doc.v[0].size, -1);
    struct day d;
    char why[512];
    CHECK_INT(event_record_day(&doc.v[0], &COLD, &d, why, sizeof why), 0);
    CHECK(strstr(why, "Object Deleted is not a new object") != NULL);
    event_doc_free(&doc);
}

/* Error cases: each must fail with ERR_DATA naming the input and saying where. */
static void test_errors(void)
{
    const struct { const char *json, *want1, *want2; } cases[] = {
        {"", "doc-0: invalid JSON at line", NULL},
        {"{\"Records\":[", "invalid JSON at line 1, column 12", NULL},
        {"{\"Records\":[]}\n{}", "invalid JSON at line 2", NULL},
        {"[1,2]", "expected a JSON object, got an array", NULL},
        {"{\"Records\":{}}", "Records: expected an array, got an object", NULL},
        {"{\"Records\":[7]}", "Records[0]: expected an object, got an integer", NULL},
        {"{\"Records\":[{\"eventSource\":1}]}", "Records[0].eventSource: expected a string", NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
         "\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":5}}}]}",
         "Records[0].s3.object.key: expected a string, got an integer", NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
         "\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\",\"size\":\"5\"}}}]}",
         "Records[0].s3.object.size: expected an integer, got a string", NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
         "\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\",\"size\":-1}}}]}",
         "Records[0].s3.object.size: negative", NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
         "\"s3\":{\"object\":{\"key\":\"k\"}}}]}", "Records[0].s3.bucket: missing", NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:s3\",\"s3\":{}}]}", "Records[0].eventName: missing",
         NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:sqs\",\"body\":\"{not json\"}]}",
         "Records[0].body: invalid JSON at line 1, column", NULL},
        {"{\"Records\":[{\"eventSource\":\"aws:sqs\",\"body\":{}}]}",
         "Records[0].body: expected a string, got an object", NULL},
        {"{\"Type\":\"Notification\",\"Message\":\"[]\"}", "Message: expected a JSON object", NULL},
        {"{\"Type\":\"Notification\"}", "Message: missing", NULL},
        {"{\"Type\":\"Weird\"}", "Type: unsupported SNS message type \"Weird\"", NULL},
        {"{\"source\":\"aws.ec2\",\"detail-type\":\"EC2 Instance State-change Notification\","
         "\"detail\":{}}", "source: EventBridge event from \"aws.ec2\", not aws.s3", NULL},
        {"{\"source\":\"aws.s3\",\"detail-type\":\"Object Created\",\"detail\":{\"bucket\":"
         "{\"name\":\"b\"},\"object\":{\"key\":[]}}}",
         "detail.object.key: expected a string, got an array", NULL},
        {"{\"Event\":\"s3:Other\"}", "Event: unsupported event", NULL},
        {"{\"hello\":\"world\"}", "not an S3 event", NULL},
        {"{\"Messages\":[{\"Body\":null}]}", "Messages[0].Body: missing", NULL},
        /* a NUL inside a string is not accepted */
        {"{\"Records\":[{\"eventSource\":\"aws:sqs\",\"body\":\"{\\u0000}\"}]}", "invalid JSON",
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "doc-%zu", i);
        struct event_doc doc;
        struct err e;
        err_clear(&e);
        int rc = event_parse(cases[i].json, strlen(cases[i].json), name, &doc, &e);
        CHECK_INT(rc, -1);
        CHECK_INT(e.kind, ERR_DATA);
        CHECK(strncmp(e.msg, name, strlen(name)) == 0);
        CHECK(strstr(e.msg, cases[i].want1) != NULL);
        if (rc != -1 || !strstr(e.msg, cases[i].want1))
            fprintf(stderr, "  case %zu: rc %d msg \"%s\"\n", i, rc, e.msg);
        CHECK(doc.n == 0 && doc.v == NULL);

        /* a failed document leaves the batch as it was */
        struct event_batch b = {0};
        struct event_doc_days dd;
        REQUIRE(add_file(&b, "s3-put.json", NULL, &e) == 0);
        CHECK_INT(event_batch_add(&b, cases[i].json, strlen(cases[i].json), name, &COLD, &dd, &e),
                  -1);
        CHECK_INT(dd.days.n, 0);
        CHECK_INT(b.n_docs, 1);
        CHECK_INT(b.days.n, 1);
        event_batch_free(&b);
    }
}

/* Documents nested in strings: up to EVENT_NEST_MAX, not more. */
static void test_nesting(void)
{
    const char *inner =
        "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
        "\"s3\":{\"bucket\":{\"name\":\"sitewise-cold\"},\"object\":{\"key\":"
        "\"raw/startYear%3D2023/startMonth%3D3/startDay%3D1/seriesBucket%3D00/raw_s_1_GOOD.avro\"}}}]}";
    char *doc = strdup(inner);
    for (int level = 1; level <= EVENT_NEST_MAX + 1; level++) {
        /* wrap as an SNS envelope: escape the previous document as a JSON string */
        size_t n = strlen(doc);
        char *esc = malloc(2 * n + 64);
        REQUIRE(esc);
        size_t o = (size_t)sprintf(esc, "{\"Type\":\"Notification\",\"Message\":\"");
        for (size_t i = 0; i < n; i++) {
            if (doc[i] == '"' || doc[i] == '\\')
                esc[o++] = '\\';
            esc[o++] = doc[i];
        }
        strcpy(esc + o, "\"}");
        free(doc);
        doc = esc;

        struct event_doc d;
        struct err e;
        int rc = event_parse(doc, strlen(doc), "nested", &d, &e);
        if (level <= EVENT_NEST_MAX) {
            CHECK_INT(rc, 0);
            CHECK_INT(d.n, 1);
            event_doc_free(&d);
        } else {
            CHECK_INT(rc, -1);
            CHECK(strstr(e.msg, "nested more than") != NULL);
        }
    }
    free(doc);

    /* deep JSON arrays: bounded by the parser, no crash */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 16);
    REQUIRE(deep);
    strcpy(deep, "{\"Records\":");
    size_t o = strlen(deep);
    memset(deep + o, '[', depth);
    memset(deep + o + depth, ']', depth);
    strcpy(deep + o + 2 * depth, "}");
    struct event_doc d;
    struct err e;
    CHECK_INT(event_parse(deep, strlen(deep), "deep", &d, &e), -1);
    free(deep);
}

static void test_size_limit(void)
{
    struct event_doc d;
    struct err e;
    /* the length is checked before anything is read */
    CHECK_INT(event_parse("{}", (size_t)EVENT_DOC_MAX + 1, "big", &d, &e), -1);
    CHECK(strstr(e.msg, "big: document of 16777217 bytes is larger than the limit") != NULL);

    /* an over-long decoded key is skipped, not an error */
    size_t klen = 1100;
    char *json = malloc(klen + 256);
    REQUIRE(json);
    int n = sprintf(json, "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
                          "\"s3\":{\"bucket\":{\"name\":\"sitewise-cold\"},\"object\":{\"key\":\"raw/");
    memset(json + n, 'k', klen);
    strcpy(json + n + klen, "\"}}}]}");
    REQUIRE(event_parse(json, strlen(json), "long", &d, &e) == 0);
    REQUIRE(d.n == 1);
    CHECK(d.v[0].skip && strstr(d.v[0].skip, "longer than 1024 bytes"));
    /* the reason quotes the key bounded */
    CHECK(strlen(d.v[0].skip) < 400);
    event_doc_free(&d);
    free(json);
}

/* Hostile bytes in keys do not reach reasons raw. */
static void test_reason_quoting(void)
{
    const char *json =
        "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
        "\"s3\":{\"bucket\":{\"name\":\"sitewise-cold\"},\"object\":{\"key\":"
        "\"elsewhere/a%0Aforged+log+line%1B%5B31m\"}}}]}";
    struct event_batch b = {0};
    struct err e;
    REQUIRE(event_batch_add(&b, json, strlen(json), "q", &COLD, NULL, &e) == 0);
    REQUIRE(b.n_skipped_kept == 1);
    for (const char *p = b.skipped[0]; *p; p++)
        CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    CHECK(strstr(b.skipped[0], "elsewhere/a?forged log line?[31m") != NULL);
    event_batch_free(&b);
}

/* Many documents: days sorted and unique across the batch, counts add up. */
static void test_batch(void)
{
    const char *files[] = {"s3-put.json", "lambda-sqs.json", "s3-mixed.json",
                           "eventbridge-created.json", "sns-envelope.json", "s3-testevent.json",
                           "s3-put.json"};
    struct event_batch b = {0};
    struct err e;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        REQUIRE(add_file(&b, files[i], NULL, &e) == 0);
    char s[256];
    CHECK_STR(days_str(&b.days, s, sizeof s), "2022-12-31,2023-01-05,2023-01-06,2023-01-07");
    CHECK_INT(b.n_docs, 7);
    CHECK_INT(b.n_ignored, 1);
    CHECK_INT(b.n_records, 1 + 2 + 10 + 1 + 1 + 0 + 1);
    CHECK_INT(b.n_used, 1 + 2 + 3 + 1 + 1 + 0 + 1);
    CHECK_INT(b.n_skipped, 7);
    event_batch_free(&b);

    /* generated: 3000 documents in reverse order, two per day, sorted unique */
    struct event_batch g = {0};
    for (int i = 2999; i >= 0; i--) {
        struct day d = day_from_epoch_days(19000 + i / 2);
        char json[512];
        int n = snprintf(json, sizeof json,
                         "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
                         "\"s3\":{\"bucket\":{\"name\":\"sitewise-cold\"},\"object\":{\"key\":"
                         "\"raw/startYear%%3D%d/startMonth%%3D%d/startDay%%3D%d/seriesBucket%%3D00/"
                         "raw_s_%d_GOOD.avro\"}}}]}",
                         d.y, d.m, d.d, i);
        REQUIRE(event_batch_add(&g, json, (size_t)n, "gen", &COLD, NULL, &e) == 0);
    }
    CHECK_INT(g.days.n, 1500);
    int sorted = 1;
    for (size_t i = 1; i < g.days.n; i++)
        sorted &= day_cmp(&g.days.v[i - 1], &g.days.v[i]) < 0;
    CHECK(sorted);
    CHECK_INT(day_to_epoch_days(&g.days.v[0]), 19000);
    event_batch_free(&g);

    /* skip reasons are capped, counts are not */
    struct event_batch c = {0};
    const char *rm = "{\"Records\":[{\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectRemoved:Delete\","
                     "\"s3\":{\"bucket\":{\"name\":\"x\"},\"object\":{\"key\":\"k\"}}}]}";
    for (int i = 0; i < EVENT_SKIP_MAX + 5; i++)
        REQUIRE(event_batch_add(&c, rm, strlen(rm), "rm", &COLD, NULL, &e) == 0);
    CHECK_INT(c.n_skipped_kept, EVENT_SKIP_MAX);
    CHECK_INT(c.n_skipped, EVENT_SKIP_MAX + 5);
    event_batch_free(&c);
}

static void test_unsupported_source(void)
{
    const char *json = "{\"Records\":[{\"eventSource\":\"aws:kinesis\"},{\"foo\":1}]}";
    struct event_batch b = {0};
    struct event_doc_days dd;
    struct err e;
    REQUIRE(event_batch_add(&b, json, strlen(json), "k", &COLD, &dd, &e) == 0);
    CHECK_INT(dd.n_skipped, 2);
    REQUIRE(b.n_skipped_kept == 2);
    CHECK(strstr(b.skipped[0], "k: Records[0]: unsupported eventSource \"aws:kinesis\"") != NULL);
    CHECK(strstr(b.skipped[1], "k: Records[1]: record without eventSource") != NULL);
    day_list_free(&dd.days);
    event_batch_free(&b);
}

int main(void)
{
    RUN(test_s3_put);
    RUN(test_s3_mixed);
    RUN(test_prefix_with_space);
    RUN(test_test_event);
    RUN(test_envelopes);
    RUN(test_eventbridge);
    RUN(test_errors);
    RUN(test_nesting);
    RUN(test_size_limit);
    RUN(test_reason_quoting);
    RUN(test_batch);
    RUN(test_unsupported_source);
    return TEST_EXIT();
}
