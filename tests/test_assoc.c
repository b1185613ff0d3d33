/* assoc: the set of associated series (sorting, lookup, the type filter),
 * the asset metadata NDJSON parser, the ListTimeSeries page parser, the
 * metadata folder and API endpoint rules, and agreement with the generator's
 * keys and asset metadata. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "assoc.h"
#include "coldkey.h"
#include "config.h"
#include "gen.h"
#include "test.h"

#define A1 "7020c8e2-e6db-40fa-9845-ed0dddd4c77d"
#define P1 "95e63da7-d34e-43e1-bc6f-1b490154b07a"
#define P2 "c706d54d-4c11-42dc-9a01-63662fc697b4"
#define U1 "0b0e3c55-3a3b-4b1c-9e3d-2f6c8d1e4a77"

static int parse(const char *text, struct assoc_set *s, struct err *e)
{
    return assoc_parse_ndjson(text, strlen(text), "asset_metadata/asset_x.ndjson", s, e);
}

static void test_set(void)
{
    struct assoc_set s = {0};
    struct err e = {0};
    const char *ids[] = {"b", "a", "c_d", "a", "b", "zz", "a"};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        REQUIRE(assoc_set_add(&s, ids[i], strlen(ids[i]), &e) == 0);
    assoc_set_sort(&s);
    CHECK_INT(s.n, 4);
    CHECK_STR(s.ids[0], "a");
    CHECK_STR(s.ids[1], "b");
    CHECK_STR(s.ids[2], "c_d");
    CHECK_STR(s.ids[3], "zz");
    CHECK(assoc_contains(&s, "a"));
    CHECK(assoc_contains(&s, "zz"));
    CHECK(assoc_contains(&s, "c_d"));
    CHECK(!assoc_contains(&s, "c"));
    CHECK(!assoc_contains(&s, ""));
    CHECK(!assoc_contains(&s, "zzz"));

    CHECK(assoc_keep(CONFIG_TS_ALL, &s, "a"));
    CHECK(assoc_keep(CONFIG_TS_ALL, &s, "q"));
    CHECK(assoc_keep(CONFIG_TS_ASSOCIATED, &s, "b"));
    CHECK(!assoc_keep(CONFIG_TS_ASSOCIATED, &s, "q"));
    CHECK(!assoc_keep(CONFIG_TS_DISASSOCIATED, &s, "b"));
    CHECK(assoc_keep(CONFIG_TS_DISASSOCIATED, &s, "q"));

    /* an empty set: ASSOCIATED keeps nothing, DISASSOCIATED everything */
    struct assoc_set none = {0};
    CHECK(!assoc_contains(&none, "a"));
    CHECK(!assoc_keep(CONFIG_TS_ASSOCIATED, &none, "a"));
    CHECK(assoc_keep(CONFIG_TS_DISASSOCIATED, &none, "a"));

    /* move: everything ends up in `to`, from is empty */
    struct assoc_set t = {0};
    REQUIRE(assoc_set_add(&t, "m", 1, &e) == 0);
    REQUIRE(assoc_set_move(&t, &s, &e) == 0);
    CHECK_INT(s.n, 0);
    CHECK(s.ids == NULL);
    assoc_set_sort(&t);
    CHECK_INT(t.n, 5);
    CHECK(assoc_contains(&t, "m"));
    CHECK(assoc_contains(&t, "zz"));
    assoc_set_free(&t);
    assoc_set_free(&s);

    /* many ids: sorted, unique, every one found */
    struct assoc_set big = {0};
    for (int i = 0; i < 5000; i++) {
        char b[32];
        int n = snprintf(b, sizeof b, "id-%d", (i * 7919) % 3000);
        REQUIRE(assoc_set_add(&big, b, (size_t)n, &e) == 0);
    }
    assoc_set_sort(&big);
    CHECK_INT(big.n, 3000);
    for (size_t i = 1; i < big.n; i++)
        CHECK(strcmp(big.ids[i - 1], big.ids[i]) < 0);
    CHECK(assoc_contains(&big, "id-2999"));
    CHECK(!assoc_contains(&big, "id-3000"));
    assoc_set_free(&big);
}

/* Lines in the shape of the user guide's asset metadata example. */
static void test_ndjson_documented(void)
{
    const char *text =
        "{\"assetId\":\"" A1 "\",\"assetName\":\"Wind Turbine Asset 2\",\"assetModelId\":\"ec1d924f-f07d-444f-b072-e2994c165d35\","
        "\"assetModelName\":\"Wind Turbine Asset Model\",\"assetPropertyId\":\"" P1 "\",\"assetPropertyName\":\"Temperature\","
        "\"assetPropertyDataType\":\"DOUBLE\",\"assetPropertyUnit\":\"Celsius\",\"assetPropertyAlias\":\"USA/Washington/Seattle/WT2/temp\","
        "\"timeSeriesId\":\"" A1 "_" P1 "\",\"timeSeriesBucket\":\"f6\",\"assetArn\":null,\"assetCompositeModelDescription\":null,"
        "\"assetCompositeModelName\":null,\"assetCompositeModelType\":null,\"assetCreationDate\":1619466323,"
        "\"assetLastUpdateDate\":1623859856,\"assetStatusErrorCode\":null,\"assetStatusErrorMessage\":null,\"assetStatusState\":\"ACTIVE\"}\n"
        "{\"assetId\":\"" A1 "\",\"assetPropertyId\":\"" P2 "\",\"assetPropertyUnit\":null,\"assetPropertyAlias\":null,"
        "\"timeSeriesId\":\"" A1 "_" P2 "\",\"timeSeriesBucket\":\"1e\"}\n";
    struct assoc_set s = {0};
    struct err e = {0};
    REQUIRE(parse(text, &s, &e) == 0);
    assoc_set_sort(&s);
    CHECK_INT(s.n, 2);
    CHECK(assoc_contains(&s, A1 "_" P1));
    CHECK(assoc_contains(&s, A1 "_" P2));
    CHECK(!assoc_contains(&s, A1));
    CHECK_INT(s.skipped, 0);

    /* the set holds exactly what the key parser yields for the raw file */
    struct coldkey k;
    REQUIRE(coldkey_parse("raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/raw_" A1 "_" P1
                          "_1609577700_GOOD.avro", "raw/", &k, &e) == 0);
    CHECK(assoc_contains(&s, k.series_id));
    assoc_set_free(&s);
}

static void test_ndjson_ids(void)
{
    struct assoc_set s = {0};
    struct err e = {0};
    /* timeSeriesId a plain UUID plus asset and property: both forms; no
     * timeSeriesId: the composed form; propertyId accepted as well; nothing
     * usable: skipped; null id: skipped; ids no key can carry: skipped. */
    const char *text =
        "\xEF\xBB\xBF{\"timeSeriesId\":\"" U1 "\",\"assetId\":\"" A1 "\",\"assetPropertyId\":\"" P1 "\"}\r\n"
        "\n"
        "   \t\r\n"
        "{\"assetId\":\"" A1 "\",\"assetPropertyId\":\"" P2 "\"}\n"
        "{\"assetId\":\"aa\",\"propertyId\":\"bb\",\"timeSeriesId\":null}\n"
        "{\"assetName\":\"no ids\"}\n"
        "{\"timeSeriesId\":null}\n"
        "{\"timeSeriesId\":\"has space\"}\n"
        "{\"timeSeriesId\":\"caf\\u00e9\"}\n"
        "{\"timeSeriesId\":\"slash/in\"}\n"
        "{\"timeSeriesId\":\"\"}\n"
        "{\"timeSeriesId\":\"ok.id-1\"}";   /* no final newline */
    REQUIRE(parse(text, &s, &e) == 0);
    assoc_set_sort(&s);
    CHECK_INT(s.n, 5);
    CHECK(assoc_contains(&s, U1));
    CHECK(assoc_contains(&s, A1 "_" P1));
    CHECK(assoc_contains(&s, A1 "_" P2));
    CHECK(assoc_contains(&s, "aa_bb"));
    CHECK(assoc_contains(&s, "ok.id-1"));
    CHECK(!assoc_contains(&s, "has space"));
    CHECK_INT(s.skipped, 6);
    assoc_set_free(&s);

    /* an id at the key limit is kept, one byte more is not */
    char line[700];
    char id[COLDKEY_SERIES_MAX + 2];
    memset(id, 'x', sizeof id);
    id[COLDKEY_SERIES_MAX] = '\0';
    snprintf(line, sizeof line, "{\"timeSeriesId\":\"%s\"}\n", id);
    REQUIRE(parse(line, &s, &e) == 0);
    CHECK_INT(s.n, 1);
    id[COLDKEY_SERIES_MAX] = 'x';
    id[COLDKEY_SERIES_MAX + 1] = '\0';
    snprintf(line, sizeof line, "{\"timeSeriesId\":\"%s\"}\n", id);
    REQUIRE(parse(line, &s, &e) == 0);
    CHECK_INT(s.n, 1);
    assoc_set_free(&s);

    /* an empty object is fine (no ids) */
    REQUIRE(assoc_parse_ndjson("", 0, "x", &s, &e) == 0);
    CHECK_INT(s.n, 0);
}

static void expect_error(const char *text, size_t len, const char *want1, const char *want2)
{
    struct assoc_set s = {0};
    struct err e = {0};
    int rc = assoc_parse_ndjson(text, len, "asset_metadata/asset_x.ndjson", &s, &e);
    CHECK_INT(rc, -1);
    CHECK_INT(e.kind, ERR_DATA);
    if (!strstr(e.msg, want1) || (want2 && !strstr(e.msg, want2))) {
        fprintf(stderr, "  message: %s\n  wanted:  %s / %s\n", e.msg, want1, want2 ? want2 : "");
        CHECK(0);
    }
    assoc_set_free(&s);
}

static void test_ndjson_errors(void)
{
    const char *good = "{\"timeSeriesId\":\"a\"}\n";
    char buf[512];
    /* malformed JSON on line 3 */
    snprintf(buf, sizeof buf, "%s%s{\"timeSeriesId\":\"b\",}\n%s", good, good, good);
    expect_error(buf, strlen(buf), "asset_metadata/asset_x.ndjson:3:", "not valid JSON");
    /* truncated last line */
    snprintf(buf, sizeof buf, "%s{\"timeSeriesId\":\"b", good);
    expect_error(buf, strlen(buf), "asset_x.ndjson:2:", "not valid JSON");
    /* not an object */
    expect_error("[1,2]\n", 6, "asset_x.ndjson:1: not a JSON object", NULL);
    expect_error("\"str\"\n", 6, "asset_x.ndjson:1: not a JSON object", NULL);
    /* two values on one line */
    expect_error("{\"timeSeriesId\":\"a\"} {}\n", 24, "asset_x.ndjson:1:", "not valid JSON");
    /* wrong types */
    snprintf(buf, sizeof buf, "%s{\"timeSeriesId\":5}\n", good);
    expect_error(buf, strlen(buf), "asset_x.ndjson:2: timeSeriesId is not a string", NULL);
    expect_error("{\"assetId\":[\"a\"]}", 17, "asset_x.ndjson:1: assetId is not a string", NULL);
    expect_error("{\"assetPropertyId\":{}}", 22, ":1: assetPropertyId is not a string", NULL);
    expect_error("{\"propertyId\":true}", 19, ":1: propertyId is not a string", NULL);
    /* a duplicate field is ambiguous */
    expect_error("{\"timeSeriesId\":\"a\",\"timeSeriesId\":\"b\"}", 39, ":1:", "not valid JSON");
    /* a NUL byte inside a line, and an escaped one */
    expect_error("{\"timeSeriesId\":\"a\0b\"}\n", 23, ":1:", "not valid JSON");
    expect_error("{\"timeSeriesId\":\"a\\u0000b\"}\n", 28, ":1:", "not valid JSON");
    /* invalid UTF-8 */
    expect_error("{\"timeSeriesId\":\"a\xff\"}\n", 21, ":1:", "not valid JSON");
    /* a deep nesting does not crash */
    size_t dn = 100000;
    char *deep = malloc(dn);
    REQUIRE(deep);
    memset(deep, '[', dn);
    expect_error(deep, dn, ":1:", NULL);
    free(deep);
}

static void test_ndjson_huge_lines(void)
{
    /* a line of exactly ASSOC_LINE_MAX bytes is read; one byte more is not */
    size_t n = ASSOC_LINE_MAX;
    char *buf = malloc(n + 64);
    REQUIRE(buf);
    const char *head = "{\"timeSeriesId\":\"big\",\"pad\":\"";
    size_t hl = strlen(head);
    memcpy(buf, head, hl);
    memset(buf + hl, 'p', n - hl - 2);
    memcpy(buf + n - 2, "\"}", 2);
    buf[n] = '\n';
    struct assoc_set s = {0};
    struct err e = {0};
    CHECK_INT(assoc_parse_ndjson(buf, n + 1, "m", &s, &e), 0);
    CHECK(assoc_contains(&s, "big"));
    assoc_set_free(&s);
    memmove(buf + hl + 1, buf + hl, n + 1 - hl);   /* one more 'p' */
    expect_error(buf, n + 2, "asset_x.ndjson:1: line longer than", NULL);
    /* the same as second line: the line number is right */
    char *two = malloc(n + 200);
    REQUIRE(two);
    int k = snprintf(two, 64, "{\"timeSeriesId\":\"a\"}\n");
    memcpy(two + k, buf, n + 2);
    expect_error(two, (size_t)k + n + 2, "asset_x.ndjson:2: line longer than", NULL);
    free(two);
    free(buf);
}

static void page_ok(const char *text, struct assoc_set *s, char **tok)
{
    struct err e = {0};
    int rc = assoc_parse_api_page(text, strlen(text), tok, s, &e);
    if (rc != 0)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK_INT(rc, 0);
}

static void page_bad(const char *text, const char *want)
{
    struct assoc_set s = {0};
    struct err e = {0};
    char *tok = (char *)"unchanged";
    CHECK_INT(assoc_parse_api_page(text, strlen(text), &tok, &s, &e), -1);
    CHECK(tok == NULL);
    CHECK_INT(e.kind, ERR_DATA);
    if (!strstr(e.msg, want)) {
        fprintf(stderr, "  message: %s\n  wanted:  %s\n", e.msg, want);
        CHECK(0);
    }
    assoc_set_free(&s);
}

static void test_api_page(void)
{
    struct assoc_set s = {0};
    char *tok = NULL;
    page_ok("{\"TimeSeriesSummaries\":["
            "{\"assetId\":\"" A1 "\",\"propertyId\":\"" P1 "\",\"alias\":\"/a/b\",\"timeSeriesId\":\"" A1 "_" P1 "\","
            "\"dataType\":\"DOUBLE\",\"timeSeriesCreationDate\":1.6e9,\"timeSeriesLastUpdateDate\":1.7e9,"
            "\"timeSeriesArn\":\"arn:aws:iotsitewise:us-east-1:123456789012:time-series/" A1 "_" P1 "\"},"
            "{\"assetId\":\"" A1 "\",\"propertyId\":\"" P2 "\",\"timeSeriesId\":\"" U1 "\"},"
            "{\"alias\":\"/only/alias\",\"timeSeriesId\":\"dddddddd-0000-4000-8000-000000000001\"}],"
            "\"nextToken\":\"AbC+/9==\"}", &s, &tok);
    CHECK_STR(tok, "AbC+/9==");
    free(tok);
    assoc_set_sort(&s);
    CHECK_INT(s.n, 4);
    CHECK(assoc_contains(&s, A1 "_" P1));
    CHECK(assoc_contains(&s, A1 "_" P2));
    CHECK(assoc_contains(&s, U1));
    CHECK(assoc_contains(&s, "dddddddd-0000-4000-8000-000000000001"));
    assoc_set_free(&s);

    /* last pages: nextToken absent, null or empty */
    tok = (char *)"x";
    page_ok("{\"TimeSeriesSummaries\":[]}", &s, &tok);
    CHECK(tok == NULL);
    tok = (char *)"x";
    page_ok("{\"TimeSeriesSummaries\":[],\"nextToken\":null}", &s, &tok);
    CHECK(tok == NULL);
    tok = (char *)"x";
    page_ok("{\"nextToken\":\"\",\"TimeSeriesSummaries\":[{\"timeSeriesId\":\"a\"}],\"extra\":{}}", &s, &tok);
    CHECK(tok == NULL);
    CHECK_INT(s.n, 1);
    assoc_set_free(&s);

    /* a token of the maximum length is taken */
    char *big = malloc(ASSOC_TOKEN_MAX + 100);
    REQUIRE(big);
    int k = snprintf(big, 100, "{\"TimeSeriesSummaries\":[],\"nextToken\":\"");
    memset(big + k, 'T', ASSOC_TOKEN_MAX);
    strcpy(big + k + ASSOC_TOKEN_MAX, "\"}");
    page_ok(big, &s, &tok);
    CHECK(tok && strlen(tok) == ASSOC_TOKEN_MAX);
    free(tok);
    memmove(big + k + 1, big + k, ASSOC_TOKEN_MAX + 3);   /* one more */
    page_bad(big, "nextToken is not 1..4096 characters");
    free(big);

    page_bad("", "not valid JSON");
    page_bad("<html>", "not valid JSON");
    page_bad("[]", "not a JSON object");
    page_bad("{}", "TimeSeriesSummaries is missing");
    page_bad("{\"TimeSeriesSummaries\":{}}", "TimeSeriesSummaries is not an array");
    page_bad("{\"TimeSeriesSummaries\":[{\"timeSeriesId\":\"a\"},7]}", "TimeSeriesSummaries[1] is not an object");
    page_bad("{\"TimeSeriesSummaries\":[{\"timeSeriesId\":1}]}", "TimeSeriesSummaries[0]: timeSeriesId is not a string");
    page_bad("{\"TimeSeriesSummaries\":[{\"propertyId\":1}]}", "TimeSeriesSummaries[0]: propertyId is not a string");
    page_bad("{\"TimeSeriesSummaries\":[],\"nextToken\":5}", "nextToken is not a string");
    page_bad("{\"TimeSeriesSummaries\":[],\"nextToken\":\"a&b=c\"}", "nextToken is not 1..");
    page_bad("{\"TimeSeriesSummaries\":[],\"nextToken\":\"a b\"}", "nextToken is not 1..");
}

static void test_metadata_prefix(void)
{
    char b[64];
    CHECK_INT(assoc_metadata_prefix(b, sizeof b, "raw/"), 15);
    CHECK_STR(b, "asset_metadata/");
    assoc_metadata_prefix(b, sizeof b, "exports/site1/raw/");
    CHECK_STR(b, "exports/site1/asset_metadata/");
    assoc_metadata_prefix(b, sizeof b, "a/data/");
    CHECK_STR(b, "a/asset_metadata/");
    assoc_metadata_prefix(b, sizeof b, "");
    CHECK_STR(b, "asset_metadata/");
    assoc_metadata_prefix(b, sizeof b, "raw");
    CHECK_STR(b, "asset_metadata/");
    CHECK_INT(assoc_metadata_prefix(b, 15, "raw/"), -1);
    CHECK_INT(assoc_metadata_prefix(b, 16, "raw/"), 15);
}

static void test_endpoint(void)
{
    char b[256];
    struct err e = {0};
    unsetenv("AWS_ENDPOINT_URL_IOTSITEWISE");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    CHECK(assoc_api_endpoint(b, sizeof b, "eu-west-1", &e) > 0);
    CHECK_STR(b, "https://api.iotsitewise.eu-west-1.amazonaws.com");
    CHECK(assoc_api_endpoint(b, sizeof b, NULL, &e) > 0);
    CHECK_STR(b, "https://api.iotsitewise.us-east-1.amazonaws.com");
    CHECK(assoc_api_endpoint(b, sizeof b, "cn-north-1", &e) > 0);
    CHECK_STR(b, "https://api.iotsitewise.cn-north-1.amazonaws.com.cn");
    CHECK_INT(assoc_api_endpoint(b, sizeof b, "us-east-1/../x", &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);

    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
    CHECK(assoc_api_endpoint(b, sizeof b, "eu-west-1", &e) > 0);
    CHECK_STR(b, "http://127.0.0.1:4566");
    setenv("AWS_ENDPOINT_URL_IOTSITEWISE", "https://sitewise.example:8443/base//", 1);
    CHECK(assoc_api_endpoint(b, sizeof b, "eu-west-1", &e) > 0);
    CHECK_STR(b, "https://sitewise.example:8443/base");
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    CHECK(assoc_api_endpoint(b, sizeof b, "eu-west-1", &e) > 0);
    CHECK_STR(b, "https://api.iotsitewise.eu-west-1.amazonaws.com");
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

    const char *bad[] = {"ftp://x", "http://", "https:///path", "127.0.0.1:9", "http://h?q=1",
                         "http://h#f", "http://h x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("AWS_ENDPOINT_URL_IOTSITEWISE", bad[i], 1);
        CHECK_INT(assoc_api_endpoint(b, sizeof b, "eu-west-1", &e), -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(strstr(e.msg, "AWS_ENDPOINT_URL_IOTSITEWISE") != NULL);
    }
    /* an empty variable does not count */
    setenv("AWS_ENDPOINT_URL_IOTSITEWISE", "", 1);
    CHECK(assoc_api_endpoint(b, sizeof b, "eu-west-1", &e) > 0);
    CHECK_STR(b, "http://127.0.0.1:4566");
    CHECK_INT(assoc_api_endpoint(b, 10, "eu-west-1", &e), -1);
    unsetenv("AWS_ENDPOINT_URL_IOTSITEWISE");
    unsetenv("AWS_ENDPOINT_URL");
}

static void test_load_all(void)
{
    /* ALL needs no set and does no I/O (no client given) */
    struct config c;
    config_defaults(&c);
    struct assoc_set s = {0};
    struct err e = {0};
    CHECK_INT(assoc_load(&c, NULL, NULL, NULL, &s, &e), 0);
    CHECK_INT(s.n, 0);
    CHECK(s.ids == NULL);
    /* a source without its client is a usage error, not a crash */
    c.timeseries_type = CONFIG_TS_ASSOCIATED;
    CHECK_INT(assoc_load(&c, NULL, NULL, NULL, &s, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    c.timeseries_source = CONFIG_TSSRC_API;
    CHECK_INT(assoc_load(&c, NULL, NULL, NULL, &s, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
}

/* The generator's asset metadata, parsed by assoc, names exactly the
 * series whose keys look associated, and sits beside the data folder. */
struct store {
    char **keys;
    struct assoc_set set;
    size_t n, meta;
    const char *meta_prefix;
    int bad_place;
};

static int store_put(void *ud, const char *key, const void *data, size_t len, struct err *e)
{
    struct store *s = ud;
    if (strstr(key, ".ndjson")) {
        s->meta++;
        if (strncmp(key, s->meta_prefix, strlen(s->meta_prefix)) != 0 ||
            strncmp(key + strlen(s->meta_prefix), "asset_", 6) != 0)
            s->bad_place++;
        return assoc_parse_ndjson(data, len, key, &s->set, e);
    }
    char **k = realloc(s->keys, (s->n + 1) * sizeof *k);
    if (!k)
        return err_set(e, "oom");
    s->keys = k;
    s->keys[s->n++] = strdup(key);
    return 0;
}

static void check_gen(const char *data_prefix, const char *meta_prefix)
{
    struct gen_options o;
    memset(&o, 0, sizeof o);
    struct err e = {0};
    day_parse("2024-02-28", &o.from, &e);
    day_parse("2024-02-28", &o.to, &e);
    o.series = 23;
    o.records_per_file = 3;
    o.seed = 7;
    o.codec = CODEC_NULL;
    o.data_prefix = data_prefix;
    o.asset_metadata = 1;
    struct store s = {0};
    s.meta_prefix = meta_prefix;
    struct gen_sink sink = {store_put, &s};
    struct gen_summary sum;
    REQUIRE(gen_run(&o, &sink, &sum, &e) == 0);
    assoc_set_sort(&s.set);
    CHECK_INT(s.meta, sum.metadata_files);
    CHECK(s.meta > 1);
    CHECK_INT(s.bad_place, 0);
    CHECK_INT(s.set.skipped, 0);
    size_t assoc = 0, plain = 0;
    for (size_t i = 0; i < s.n; i++) {
        struct coldkey k;
        if (coldkey_parse(s.keys[i], data_prefix, &k, &e) < 0) {
            fprintf(stderr, "  %s\n", e.msg);
            CHECK(0);
        } else if (strchr(k.series_id, '_')) {
            assoc++;
            CHECK(assoc_contains(&s.set, k.series_id));
            CHECK(assoc_keep(CONFIG_TS_ASSOCIATED, &s.set, k.series_id));
            CHECK(!assoc_keep(CONFIG_TS_DISASSOCIATED, &s.set, k.series_id));
        } else {
            plain++;
            CHECK(!assoc_contains(&s.set, k.series_id));
            CHECK(assoc_keep(CONFIG_TS_DISASSOCIATED, &s.set, k.series_id));
        }
        free(s.keys[i]);
    }
    free(s.keys);
    CHECK(assoc > 0 && plain > 0);
    CHECK_INT(s.set.n, assoc / 4);   /* four files per series and day */
    assoc_set_free(&s.set);
}

static void test_generator_agrees(void)
{
    check_gen("raw/", "asset_metadata/");
    check_gen("exports/raw/", "exports/asset_metadata/");
}

int main(void)
{
    RUN(test_set);
    RUN(test_ndjson_documented);
    RUN(test_ndjson_ids);
    RUN(test_ndjson_errors);
    RUN(test_ndjson_huge_lines);
    RUN(test_api_page);
    RUN(test_metadata_prefix);
    RUN(test_endpoint);
    RUN(test_load_all);
    RUN(test_generator_agrees);
    return TEST_EXIT();
}
