/* Data generator: layout, keys, determinism, valid Avro, asset metadata. */
#include <jansson.h>
#include <stdint.h>

#include "coldkey.h"
#include "gen.h"
#include "merge.h"
#include "ocf.h"
#include "sitewise_schema.h"
#include "test.h"

struct obj {
    char *key;
    unsigned char *data;
    size_t len;
};

struct store {
    struct obj *v;
    size_t n;
    int fail_at;    /* fail the Nth put when > 0 */
};

static int store_put(void *ud, const char *key, const void *data, size_t len, struct err *e)
{
    struct store *s = ud;
    if (s->fail_at && (int)s->n + 1 == s->fail_at)
        return err_set(e, "disk full");
    s->v = realloc(s->v, (s->n + 1) * sizeof *s->v);
    s->v[s->n].key = strdup(key);
    s->v[s->n].data = malloc(len ? len : 1);
    memcpy(s->v[s->n].data, data, len);
    s->v[s->n].len = len;
    s->n++;
    return 0;
}

static void store_free(struct store *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].data);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int null_sink(void *ud, const void *p, size_t n)
{
    (void)ud;
    (void)p;
    (void)n;
    return 0;
}

static void base_opts(struct gen_options *o)
{
    memset(o, 0, sizeof *o);
    struct err e;
    day_parse("2023-02-27", &o->from, &e);
    day_parse("2023-03-01", &o->to, &e);   /* crosses a month end */
    o->series = 7;
    o->records_per_file = 50;
    o->seed = 42;
    o->codec = CODEC_SNAPPY;
    o->data_prefix = "raw/";
    o->asset_metadata = 1;
}

static void test_layout_and_content(void)
{
    struct gen_options o;
    base_opts(&o);
    struct store s = {0};
    struct gen_sink sink = {store_put, &s};
    struct gen_summary sum;
    struct err e = {0};
    REQUIRE(gen_run(&o, &sink, &sum, &e) == 0);
    CHECK_INT(sum.days, 3);
    CHECK_INT(sum.files, 3 * 7 * 4);
    CHECK_INT(sum.records, 3 * 7 * 4 * 50);
    /* 7 series: 0-3 and 5-6 associated (assets 0 and 1), 4 plain */
    CHECK_INT(sum.metadata_files, 2);
    CHECK_INT(s.n, sum.files + sum.metadata_files);

    uint64_t bytes = 0;
    int plain = 0, assoc = 0, seen_day[3] = {0};
    for (size_t i = 0; i < s.n; i++) {
        if (!strncmp(s.v[i].key, "asset_metadata/", 15))
            continue;
        bytes += s.v[i].len;
        struct coldkey k;
        if (coldkey_parse(s.v[i].key, "raw/", &k, &e) < 0) {
            fprintf(stderr, "  %s\n", e.msg);
            CHECK(0);
            continue;
        }
        CHECK_STR(k.quality, "GOOD");
        CHECK_INT(k.bucket, gen_series_bucket(k.series_id));
        if (strchr(k.series_id, '_'))
            assoc++;
        else
            plain++;
        /* start timestamps are the four six-hour marks of the partition day */
        long day_start = day_to_epoch_days(&k.day) * 86400L;
        CHECK(k.start_ts >= day_start && k.start_ts < day_start + 86400 &&
              (k.start_ts - day_start) % 21600 == 0);
        seen_day[day_to_epoch_days(&k.day) - day_to_epoch_days(&o.from)]++;
        /* month and day are not zero-padded */
        CHECK(strstr(s.v[i].key, "startMonth=0") == NULL);
        /* a valid container with the SiteWise schema, every record checked */
        struct ocf_reader r;
        REQUIRE(ocf_reader_open(&r, s.v[i].key, s.v[i].data, s.v[i].len, &e) == 0);
        CHECK_INT(r.codec, CODEC_SNAPPY);
        CHECK(r.schema_len == strlen(sitewise_schema_json) &&
              memcmp(r.schema_json, sitewise_schema_json, r.schema_len) == 0);
        ocf_reader_close(&r);
        struct merge_options mo = {.codec = CODEC_NULL, .verify = MERGE_VERIFY_FULL};
        struct merge *m = merge_open(&mo, null_sink, NULL, &e);
        struct merge_source_stats st;
        CHECK_INT(merge_add(m, s.v[i].key, s.v[i].data, s.v[i].len, &st, &e), 0);
        CHECK_INT(st.records, 50);
        merge_free(m);
    }
    CHECK_INT(bytes, sum.bytes);
    CHECK_INT(plain, 3 * 4);
    CHECK_INT(assoc, 3 * 6 * 4);
    for (int d = 0; d < 3; d++)
        CHECK_INT(seen_day[d], 28);
    CHECK(strstr(s.v[0].key, "raw/startYear=2023/startMonth=2/startDay=27/seriesBucket=") == s.v[0].key);

    /* asset metadata: one JSON per line, each naming an associated series */
    int lines = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (strncmp(s.v[i].key, "asset_metadata/asset_", 21))
            continue;
        char *text = strndup((char *)s.v[i].data, s.v[i].len);
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
            json_error_t je;
            json_t *j = json_loads(line, 0, &je);
            REQUIRE(j);
            const char *ts = json_string_value(json_object_get(j, "timeSeriesId"));
            const char *a = json_string_value(json_object_get(j, "assetId"));
            const char *p = json_string_value(json_object_get(j, "assetPropertyId"));
            const char *b = json_string_value(json_object_get(j, "timeSeriesBucket"));
            CHECK(b && ts && strtoul(b, NULL, 16) == gen_series_bucket(ts) && strlen(b) == 2);
            CHECK(ts && a && p);
            if (ts && a && p) {
                char want[100];
                snprintf(want, sizeof want, "%s_%s", a, p);
                CHECK_STR(ts, want);
                /* the file is named after the asset */
                CHECK(strstr(s.v[i].key, a) != NULL);
            }
            json_decref(j);
            lines++;
        }
        free(text);
    }
    CHECK_INT(lines, 6);
    store_free(&s);
}

static void test_deterministic(void)
{
    struct gen_options o;
    base_opts(&o);
    struct store a = {0}, b = {0}, c = {0};
    struct gen_sink sa = {store_put, &a}, sb = {store_put, &b}, sc = {store_put, &c};
    struct gen_summary sum;
    struct err e = {0};
    REQUIRE(gen_run(&o, &sa, &sum, &e) == 0);
    REQUIRE(gen_run(&o, &sb, &sum, &e) == 0);
    o.seed = 43;
    REQUIRE(gen_run(&o, &sc, &sum, &e) == 0);
    REQUIRE(a.n == b.n && a.n == c.n);
    int same_keys_c = 0;
    for (size_t i = 0; i < a.n; i++) {
        CHECK_STR(a.v[i].key, b.v[i].key);
        CHECK(a.v[i].len == b.v[i].len && !memcmp(a.v[i].data, b.v[i].data, a.v[i].len));
        same_keys_c += !strcmp(a.v[i].key, c.v[i].key);
    }
    CHECK_INT(same_keys_c, 0);
    /* each file has its own sync marker */
    struct ocf_reader r1, r2;
    REQUIRE(ocf_reader_open(&r1, "1", a.v[0].data, a.v[0].len, &e) == 0);
    REQUIRE(ocf_reader_open(&r2, "2", a.v[1].data, a.v[1].len, &e) == 0);
    CHECK(memcmp(r1.sync, r2.sync, 16) != 0);
    ocf_reader_close(&r1);
    ocf_reader_close(&r2);
    store_free(&a);
    store_free(&b);
    store_free(&c);
}

static void test_options_and_errors(void)
{
    struct gen_options o;
    base_opts(&o);
    o.asset_metadata = 0;
    o.series = 1;
    o.records_per_file = 3000;
    o.codec = CODEC_DEFLATE;
    o.block_target = 10000;
    o.data_prefix = "";
    struct store s = {0};
    struct gen_sink sink = {store_put, &s};
    struct gen_summary sum;
    struct err e = {0};
    REQUIRE(gen_run(&o, &sink, &sum, &e) == 0);
    CHECK(strncmp(s.v[0].key, "startYear=2023/", 15) == 0);
    /* several blocks per file at a small block size */
    struct ocf_reader r;
    REQUIRE(ocf_reader_open(&r, "x", s.v[0].data, s.v[0].len, &e) == 0);
    CHECK_INT(r.codec, CODEC_DEFLATE);
    struct ocf_block b;
    int blocks = 0;
    int64_t recs = 0;
    while (ocf_reader_next(&r, &b, &e) == 1) {
        blocks++;
        recs += b.count;
    }
    ocf_reader_close(&r);
    CHECK(blocks > 10);
    CHECK_INT(recs, 3000);
    store_free(&s);

    /* sink errors name the key */
    base_opts(&o);
    struct store f = {.fail_at = 5};
    struct gen_sink fs = {store_put, &f};
    CHECK_INT(gen_run(&o, &fs, &sum, &e), -1);
    CHECK(strstr(e.msg, "disk full") && strstr(e.msg, "raw/startYear=2023/"));
    store_free(&f);
    /* bad ranges */
    base_opts(&o);
    struct day t = o.from;
    o.from = o.to;
    o.to = t;
    CHECK_INT(gen_run(&o, &sink, &sum, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    base_opts(&o);
    o.series = 0;
    CHECK_INT(gen_run(&o, &sink, &sum, &e), -1);
}

int main(void)
{
    RUN(test_layout_and_content);
    RUN(test_deterministic);
    RUN(test_options_and_errors);
    return TEST_EXIT();
}
