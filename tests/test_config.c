#include "test.h"
#include "config.h"

#include <unistd.h>

#define MIN "s3:\n  cold_tier:\n    bucket_name: cold-b\n  repartitioned:\n    bucket_name: rep-b\n"

static int load(const char *text, struct config *c, struct err *e)
{
    err_clear(e);
    return config_load_buffer(text, strlen(text), "t.yml", c, e);
}

static void test_defaults(void)
{
    struct config c;
    struct err e;
    REQUIRE(load(MIN, &c, &e) == 0);
    CHECK_STR(c.path, "t.yml");
    CHECK_INT(c.timeseries_type, CONFIG_TS_ALL);
    CHECK_INT(c.timeseries_source, CONFIG_TSSRC_METADATA);
    CHECK_INT(c.locking, CONFIG_LOCK_AUTO);
    CHECK_INT(c.read_back, CONFIG_READ_BACK_AUTO);
    CHECK_INT(c.log_format, CONFIG_LOG_TEXT);
    CHECK_INT(c.log_format_set, 0);
    CHECK_STR(c.s3.region, "us-east-1");
    CHECK_INT(c.s3.region_set, 0);
    CHECK_STR(c.s3.endpoint_url, "");
    CHECK_INT(c.s3.path_style, 0);
    CHECK_STR(c.s3.cold_tier.bucket_name, "cold-b");
    CHECK_STR(c.s3.cold_tier.data_prefix, "raw/");
    CHECK_STR(c.s3.repartitioned.bucket_name, "rep-b");
    CHECK_STR(c.s3.repartitioned.data_prefix, "consolidated/");
    CHECK_STR(c.s3.repartitioned.index_prefix, "index/");
    CHECK_INT(c.has_date_range, 0);
    CHECK_STR(c.work_dir, "/tmp/sitewise");
    CHECK_INT(c.concurrency, 16);
    CHECK_INT(c.part_size_mb, 16);
    CHECK_INT(c.output_codec, CONFIG_CODEC_SNAPPY);
    CHECK_STR(config_codec_name(c.output_codec), "snappy");
    CHECK_INT(c.watch.batch_messages, 100);
    CHECK_INT(c.watch.batch_seconds, 60);
    CHECK_INT(c.watch.quiet_seconds, 5);
    CHECK_INT(c.watch.visibility_timeout, 0);
}

static void test_full(void)
{
    const char *y =
        "timeseries_type: 'DISASSOCIATED'\n"
        "timeseries_source: api\n"
        "locking: \"off\"\n"
        "read_back: always\n"
        "log_format: JSON\n"
        "s3:\n"
        "  region: eu-west-3\n"
        "  endpoint_url: http://127.0.0.1:4568\n"
        "  path_style: true\n"
        "  cold_tier: { bucket_name: my.cold_bucket, data_prefix: 'pre/fix/raw/' }\n"
        "  repartitioned: { bucket_name: rep, data_prefix: out/, index_prefix: idx/ }\n"
        "date_range: { date_start: 2024-02-28, date_end: \"2024-03-01\" }\n"
        "work_dir: /var/tmp/r\n"
        "concurrency: '64'\n"
        "part_size_mb: 5120\n"
        "output_codec: null\n"
        "watch: { batch_messages: 10000, batch_seconds: 1, quiet_seconds: 0, visibility_timeout: 43200 }\n";
    struct config c;
    struct err e;
    if (load(y, &c, &e) < 0)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(load(y, &c, &e) == 0);
    CHECK_INT(c.timeseries_type, CONFIG_TS_DISASSOCIATED);
    CHECK_INT(c.timeseries_source, CONFIG_TSSRC_API);
    CHECK_INT(c.locking, CONFIG_LOCK_OFF);
    CHECK_INT(c.read_back, CONFIG_READ_BACK_ALWAYS);
    CHECK_INT(c.log_format, CONFIG_LOG_JSON);
    CHECK_INT(c.log_format_set, 1);
    CHECK_STR(c.s3.region, "eu-west-3");
    CHECK_INT(c.s3.region_set, 1);
    CHECK_STR(c.s3.endpoint_url, "http://127.0.0.1:4568");
    CHECK_INT(c.s3.path_style, 1);
    CHECK_STR(c.s3.cold_tier.bucket_name, "my.cold_bucket");
    CHECK_STR(c.s3.cold_tier.data_prefix, "pre/fix/raw/");
    CHECK_STR(c.s3.repartitioned.data_prefix, "out/");
    CHECK_STR(c.s3.repartitioned.index_prefix, "idx/");
    CHECK_INT(c.has_date_range, 1);
    CHECK(c.date_start.y == 2024 && c.date_start.m == 2 && c.date_start.d == 28);
    CHECK(c.date_end.y == 2024 && c.date_end.m == 3 && c.date_end.d == 1);
    CHECK_STR(c.work_dir, "/var/tmp/r");
    CHECK_INT(c.concurrency, 64);
    CHECK_INT(c.part_size_mb, 5120);
    CHECK_INT(c.output_codec, CONFIG_CODEC_NULL);
    CHECK_INT(c.watch.batch_messages, 10000);
    CHECK_INT(c.watch.batch_seconds, 1);
    CHECK_INT(c.watch.quiet_seconds, 0);
    CHECK_INT(c.watch.visibility_timeout, 43200);
}

/* The layout of the original Python sample's current config.yml. */
static void test_python_sample_layout(void)
{
    const char *y =
        "# configure sitewise timeseries type\n"
        "timeseries_type: 'ASSOCIATED' #Retrieve only associated or disassociated series\n"
        "\n"
        "# Configure S3 Bucket Names\n"
        "s3:\n"
        "  cold_tier:\n"
        "    bucket_name: 'coldtier'\n"
        "    data_prefix: 'raw/'\n"
        "  repartitioned:\n"
        "    bucket_name: 'sitewise-consolidated'\n"
        "    data_prefix: 'consolidated/'\n"
        "    index_prefix: 'index/'\n"
        "  glue_assets:\n"
        "    bucket_name: 'sitewise-repartitioning-assets'\n"
        "    scripts_prefix: 'scripts/'\n";
    struct config c;
    struct err e;
    REQUIRE(load(y, &c, &e) == 0);
    CHECK_INT(c.timeseries_type, CONFIG_TS_ASSOCIATED);
    CHECK_STR(c.s3.cold_tier.bucket_name, "coldtier");
    CHECK_STR(c.s3.repartitioned.bucket_name, "sitewise-consolidated");

    /* Its older layout is refused with a hint. */
    const char *old = "timeseries_type: 'ASSOCIATED'\n"
                      "s3_buckets:\n  cold_tier_bucket_name: 'x'\n";
    CHECK(load(old, &c, &e) == -1);
    CHECK(strstr(e.msg, "t.yml:2: s3_buckets: unknown key") != NULL);
    CHECK(strstr(e.msg, "s3.cold_tier.bucket_name") != NULL);
}

static void test_example_file_loads(void)
{
    struct config c;
    struct err e;
    const char *path = TEST_DATA_DIR "/../../config.yml.example";
    if (config_load_file(path, &c, &e) < 0)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(config_load_file(path, &c, &e) == 0);
    CHECK_STR(c.s3.cold_tier.bucket_name, "my-sitewise-cold-tier");
    CHECK_STR(c.s3.repartitioned.bucket_name, "my-sitewise-repartitioned");
    CHECK_INT(c.has_date_range, 1);
    CHECK_INT(c.date_end.d, 31);
    CHECK_INT(c.s3.path_style, 0);
    CHECK_STR(c.path, path);
}

struct bad {
    const char *yaml;
    const char *want;   /* substring of the message */
};

static void test_errors_name_the_key(void)
{
    static const struct bad bad[] = {
        /* missing / empty buckets */
        { "s3:\n  repartitioned:\n    bucket_name: rep-b\n", "t.yml: s3.cold_tier.bucket_name: missing" },
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n", "t.yml: s3.repartitioned.bucket_name: missing" },
        { "", "s3.cold_tier.bucket_name: missing" },
        { "# only a comment\n", "s3.cold_tier.bucket_name: missing" },
        { MIN "  cold_tier:\n    bucket_name: x\n", "t.yml:6: s3.cold_tier: duplicate key (first at line 2)" },
        { "s3:\n  cold_tier:\n    bucket_name: ''\n", "t.yml:3: s3.cold_tier.bucket_name: must not be empty" },
        { "s3:\n  cold_tier:\n    bucket_name: s3://b\n", "t.yml:3: s3.cold_tier.bucket_name: \"s3://b\" is not a bucket name" },
        { "s3:\n  cold_tier:\n    bucket_name: b/raw\n", "s3.cold_tier.bucket_name: \"b/raw\" is not a bucket name" },
        { "s3:\n  cold_tier:\n    bucket_name: ab\n", "s3.cold_tier.bucket_name: \"ab\" is not a bucket name" },
        /* prefixes */
        { MIN "  cold_tier:\n", "duplicate key" },
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n    data_prefix: raw\n", "t.yml:4: s3.cold_tier.data_prefix: must end with '/'" },
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n    data_prefix: /raw/\n", "t.yml:4: s3.cold_tier.data_prefix: must not start with '/'" },
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n    data_prefix: ''\n", "s3.cold_tier.data_prefix: must not be empty" },
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n    data_prefix: a//raw/\n", "s3.cold_tier.data_prefix: must not contain \"//\"" },
        /* one level too low: a partition folder */
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n    data_prefix: raw/startYear=2023/\n", "t.yml:4: s3.cold_tier.data_prefix: \"raw/startYear=2023/\" names a partition folder" },
        { "s3:\n  cold_tier:\n    bucket_name: cold-b\n    agg_prefix: x/agg/startYear=2023/startMonth=1/\n", "s3.cold_tier.agg_prefix: \"x/agg/startYear=2023/startMonth=1/\" names a partition folder" },
        { "s3:\n  repartitioned:\n    data_prefix: out\n", "s3.repartitioned.data_prefix: must end with '/'" },
        { "s3:\n  repartitioned:\n    index_prefix: /idx/\n", "s3.repartitioned.index_prefix: must not start with '/'" },
        { MIN "    data_prefix: index/\n", "s3.repartitioned.index_prefix: \"index/\" overlaps s3.repartitioned.data_prefix" },
        { MIN "    index_prefix: consolidated/idx/\n", "s3.repartitioned.index_prefix: \"consolidated/idx/\" overlaps" },
        { "s3:\n  cold_tier: {bucket_name: same}\n  repartitioned: {bucket_name: same, data_prefix: raw/out/}\n",
          "s3.repartitioned.data_prefix: \"raw/out/\" overlaps s3.cold_tier.data_prefix" },
        { "s3:\n  cold_tier: {bucket_name: same, data_prefix: x/}\n  repartitioned: {bucket_name: same, index_prefix: x/}\n",
          "s3.repartitioned.index_prefix: \"x/\" overlaps s3.cold_tier.data_prefix" },
        /* unknown keys */
        { MIN "colour: blue\n", "t.yml:6: colour: unknown key" },
        { MIN "  regoin: x\n", "t.yml:6: s3.regoin: unknown key" },
        { "s3:\n  cold_tier:\n    bucket: x\n", "t.yml:3: s3.cold_tier.bucket: unknown key" },
        { MIN "date_range:\n  start: 2023-01-01\n", "t.yml:7: date_range.start: unknown key" },
        { MIN "  glue_assets:\n    role: x\n", "s3.glue_assets.role: unknown key" },
        { MIN "local_dirs:\n  local_tmp_raw_dir_name: raw\n", "local_dirs: unknown key (an older layout of the Python sample; use work_dir)" },
        { MIN "credentials:\n  profile: x\n", "credentials: unknown key" },
        /* enums */
        { MIN "timeseries_type: SOME\n", "t.yml:6: timeseries_type: \"SOME\" is not one of ALL | ASSOCIATED | DISASSOCIATED" },
        { MIN "timeseries_source: sitewise\n", "timeseries_source: \"sitewise\" is not one of metadata | api" },
        { MIN "locking: maybe\n", "locking: \"maybe\" is not one of auto | on | off" },
        { MIN "read_back: never\n", "read_back: \"never\" is not one of auto | always" },
        { MIN "log_format: xml\n", "log_format: \"xml\" is not one of text | json" },
        { MIN "output_codec: zstandard\n", "output_codec: \"zstandard\" is not one of snappy | deflate | null" },
        /* numbers and booleans */
        { MIN "concurrency: 0\n", "t.yml:6: concurrency: 0 is outside 1..1024" },
        { MIN "concurrency: 1025\n", "concurrency: 1025 is outside 1..1024" },
        { MIN "concurrency: -1\n", "concurrency: \"-1\" is not a whole number" },
        { MIN "concurrency: 1e3\n", "concurrency: \"1e3\" is not a whole number" },
        { MIN "concurrency: 99999999999999999999\n", "concurrency: \"99999999999999999999\" is not a whole number" },
        { MIN "part_size_mb: 4\n", "part_size_mb: 4 is outside 5..5120" },
        { MIN "part_size_mb: 5121\n", "part_size_mb: 5121 is outside 5..5120" },
        { MIN "part_size_mb: 16MB\n", "part_size_mb: \"16MB\" is not a whole number" },
        { MIN "watch:\n  batch_messages: 0\n", "t.yml:7: watch.batch_messages: 0 is outside 1..10000" },
        { MIN "watch:\n  quiet_seconds: 21\n", "watch.quiet_seconds: 21 is outside 0..20" },
        { MIN "watch:\n  batch_seconds: 0\n", "watch.batch_seconds: 0 is outside 1..3600" },
        { MIN "watch:\n  visibility_timeout: 43201\n", "watch.visibility_timeout: 43201 is outside 0..43200" },
        { MIN "watch:\n  wait: 3\n", "t.yml:7: watch.wait: unknown key" },
        { MIN "  path_style: yes please\n", "s3.path_style: \"yes please\" is not true or false" },
        /* strings */
        { MIN "  region: US East\n", "s3.region: \"US East\" is not a region name" },
        { MIN "  endpoint_url: 127.0.0.1:4568\n", "s3.endpoint_url: must start with http:// or https://" },
        { MIN "  endpoint_url: 'http://'\n", "s3.endpoint_url: has no host" },
        { MIN "work_dir: ''\n", "work_dir: must not be empty" },
        { MIN "work_dir: \"a\\tb\"\n", "work_dir: contains a control character" },
        { MIN "work_dir: \"a\\0b\"\n", "work_dir: contains a NUL character" },
        /* dates */
        { MIN "date_range:\n  date_start: 2023-02-30\n  date_end: 2023-03-01\n",
          "t.yml:7: date_range.date_start: \"2023-02-30\": no such day" },
        { MIN "date_range:\n  date_start: 2023-1-5\n  date_end: 2023-03-01\n", "date_range.date_start: \"2023-1-5\": not a date" },
        { MIN "date_range:\n  date_start: 2023-03-02\n  date_end: 2023-03-01\n",
          "t.yml:7: date_range.date_start: 2023-03-02 is after date_end 2023-03-01" },
        { MIN "date_range:\n  date_start: 2023-03-02\n", "t.yml: date_range.date_end: missing (date_start is set)" },
        { MIN "date_range:\n  date_end: 2023-03-02\n", "date_range.date_start: missing (date_end is set)" },
        { MIN "date_range: 2023-01-01\n", "t.yml:6: date_range: must be a mapping of keys, not a single value" },
        /* wrong shapes */
        { MIN "concurrency:\n  a: 1\n", "t.yml:7: concurrency: must be a single value, not a mapping" },
        { MIN "work_dir: [a, b]\n", "t.yml:6: work_dir: must be a single value, not a list" },
        { "s3: [1, 2]\n", "t.yml:1: s3: must be a mapping of keys, not a list" },
        { "s3:\n  cold_tier: cold-b\n", "t.yml:2: s3.cold_tier: must be a mapping of keys, not a single value" },
        { "- a\n- b\n", "t.yml:1: the top level must be a mapping" },
        { "just text\n", "the top level must be a mapping" },
        { MIN "? [a, b]\n: c\n", "a key must be a plain name, not a list" },
        /* YAML level */
        { "s3:\n  cold_tier:\n    bucket_name: x\n   bad indent: 1\n", "t.yml:4:" },
        { "s3: {\n", "YAML syntax error" },
        { "a: 'unterminated\n", "t.yml:" },
        { MIN "x: &a 1\ny: *a\n", "t.yml:7: aliases (*a) are not supported" },
        { MIN "---\na: 1\n", "only one YAML document" },
        { "a: \x01\n", "not valid YAML text" },
        { "a: \xff\xfe\n", "not valid YAML text" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct config c;
        struct err e;
        c.concurrency = -42;
        int rc = load(bad[i].yaml, &c, &e);
        if (rc != -1 || !strstr(e.msg, bad[i].want))
            fprintf(stderr, "case %zu: rc=%d\n  msg:  %s\n  want: %s\n", i, rc, e.msg, bad[i].want);
        CHECK(rc == -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(strstr(e.msg, bad[i].want) != NULL);
        CHECK_INT(c.concurrency, -42);   /* *out untouched on error */
    }
}

static void test_null_means_default(void)
{
    struct config c;
    struct err e;
    REQUIRE(load(MIN "  region: ~\n  endpoint_url:\ntimeseries_type:\nconcurrency: null\n"
                     "date_range:\nlog_format: ~\n", &c, &e) == 0);
    CHECK_STR(c.s3.region, "us-east-1");
    CHECK_INT(c.s3.region_set, 0);
    CHECK_INT(c.concurrency, 16);
    CHECK_INT(c.has_date_range, 0);
    CHECK_INT(c.log_format_set, 0);
    /* For output_codec the word null (any case, quoted or not) names the codec. */
    REQUIRE(load(MIN "output_codec: 'NULL'\n", &c, &e) == 0);
    CHECK_INT(c.output_codec, CONFIG_CODEC_NULL);
    REQUIRE(load(MIN "output_codec: deflate\n", &c, &e) == 0);
    CHECK_INT(c.output_codec, CONFIG_CODEC_DEFLATE);
}

static void test_files(void)
{
    struct config c;
    struct err e;
    CHECK(config_load_file("/nonexistent/dir/config.yml", &c, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, "/nonexistent/dir/config.yml") != NULL);
    CHECK(config_load_file(TEST_DATA_DIR "/..", &c, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);

    /* A file over the size cap is refused before parsing. */
    char path[] = "/tmp/repart-test-config-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    FILE *f = fdopen(fd, "w");
    REQUIRE(f != NULL);
    fputs(MIN, f);
    for (int i = 0; i < CONFIG_FILE_MAX / 10 + 1; i++)
        fputs("#########\n", f);
    fclose(f);
    CHECK(config_load_file(path, &c, &e) == -1);
    CHECK(strstr(e.msg, "larger than") != NULL);
    /* The same content under the cap loads (comments only). */
    REQUIRE(truncate(path, CONFIG_FILE_MAX) == 0);
    if (config_load_file(path, &c, &e) < 0)
        fprintf(stderr, "%s\n", e.msg);
    CHECK(config_load_file(path, &c, &e) == 0);
    unlink(path);

    /* Deep nesting and large node counts are bounded. */
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    CHECK(load(deep, &c, &e) == -1);
    CHECK(strstr(e.msg, "nested") != NULL || strstr(e.msg, "syntax") != NULL);
}

static void test_upload(void)
{
    struct config c;
    struct err e;
    REQUIRE(load(MIN, &c, &e) == 0);
    CHECK_INT(c.s3.upload.sse, CONFIG_SSE_NONE);
    CHECK(config_sse_name(c.s3.upload.sse) == NULL);
    REQUIRE(load(MIN "  upload:\n    sse: AWS:KMS\n    kms_key_id: alias/repart\n"
                 "    bucket_key: true\n    storage_class: standard_ia\n"
                 "    acl: bucket-owner-full-control\n    expected_bucket_owner: \"111122223333\"\n"
                 "    tags: a=1&b=x%20y\n", &c, &e) == 0);
    CHECK_STR(config_sse_name(c.s3.upload.sse), "aws:kms");
    CHECK_STR(c.s3.upload.kms_key_id, "alias/repart");
    CHECK_INT(c.s3.upload.bucket_key, 1);
    CHECK_STR(config_storage_class_name(c.s3.upload.storage_class), "STANDARD_IA");
    CHECK_STR(config_acl_name(c.s3.upload.acl), "bucket-owner-full-control");
    CHECK_STR(c.s3.upload.expected_bucket_owner, "111122223333");
    CHECK_STR(c.s3.upload.tags, "a=1&b=x%20y");
    static const char *const bad[] = {
        "    kms_key_id: k\n",                          /* without aws:kms */
        "    sse: AES256\n    bucket_key: true\n",
        "    storage_class: GLACIER\n",
        "    acl: public-read\n",
        "    expected_bucket_owner: \"1234\"\n",
        "    tags: a=b c\n",
        "    tags: \"a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11\"\n",
        "    sse: aws:kms\n    kms_key_id: \"k\\u0001\"\n",
        "    colour: blue\n",
    };
    char buf[512];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(buf, sizeof buf, MIN "  upload:\n%s", bad[i]);
        CHECK(load(buf, &c, &e) == -1);
        CHECK(strstr(e.msg, "upload") != NULL || strstr(e.msg, "kms") != NULL);
    }
    /* the command line's values */
    struct config_upload u = {0};
    CHECK(config_upload_set(&u, "sse", "aws:kms", &e) == 0);
    CHECK(config_upload_set(&u, "kms_key_id", "arn:aws:kms:eu-west-1:1:key/x", &e) == 0);
    CHECK(config_upload_set(&u, "sse", "AES256", &e) == -1);   /* the key needs aws:kms */
    CHECK(strstr(e.msg, "kms_key_id needs sse") != NULL);
    CHECK(config_upload_set(&u, "storage_class", "DEEP_ARCHIVE", &e) == -1);
    CHECK(config_upload_set(&u, "nosuch", "x", &e) == -1);
}

static void test_env(void)
{
    struct config c;
    struct err e;
    REQUIRE(load(MIN, &c, &e) == 0);
    setenv("AWS_REGION", "ap-south-1", 1);
    setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
    REQUIRE(config_apply_env(&c, &e) == 0);
    CHECK_STR(c.s3.region, "ap-south-1");
    unsetenv("AWS_REGION");
    REQUIRE(load(MIN, &c, &e) == 0);
    REQUIRE(config_apply_env(&c, &e) == 0);
    CHECK_STR(c.s3.region, "eu-north-1");
    /* The file wins over the environment. */
    REQUIRE(load(MIN "  region: us-west-2\n", &c, &e) == 0);
    REQUIRE(config_apply_env(&c, &e) == 0);
    CHECK_STR(c.s3.region, "us-west-2");
    setenv("AWS_REGION", "bad region", 1);
    REQUIRE(load(MIN, &c, &e) == 0);
    CHECK(config_apply_env(&c, &e) == -1);
    CHECK(strstr(e.msg, "AWS_REGION") != NULL);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
}

/* The cold tier's datasets (issue 12): the SiteWise keyPrefix, or the
 * sample's data_prefix with agg/ beside it; the agg outputs. */
static void test_datasets(void)
{
    struct config c;
    struct err e;
    REQUIRE(load(MIN, &c, &e) == 0);
    CHECK_INT(c.datasets, CONFIG_DS_ALL);
    CHECK_STR(config_datasets_name(c.datasets), "all");
    CHECK_STR(c.s3.cold_tier.data_prefix, "raw/");
    CHECK_STR(c.s3.cold_tier.agg_prefix, "agg/");
    CHECK_STR(c.s3.cold_tier.key_prefix, "");
    CHECK_STR(c.s3.repartitioned.agg_data_prefix, "consolidated_agg/");
    CHECK_STR(c.s3.repartitioned.agg_index_prefix, "index_agg/");
    REQUIRE(load("s3:\n  cold_tier: {bucket_name: cold-b, key_prefix: sw/exports/}\n"
                 "  repartitioned: {bucket_name: rep-b}\ndatasets: agg\n", &c, &e) == 0);
    CHECK_STR(c.s3.cold_tier.data_prefix, "sw/exports/raw/");
    CHECK_STR(c.s3.cold_tier.agg_prefix, "sw/exports/agg/");
    CHECK_INT(c.datasets, CONFIG_DS_AGG);
    REQUIRE(load("s3:\n  cold_tier: {bucket_name: cold-b, data_prefix: sw/raw/}\n"
                 "  repartitioned: {bucket_name: rep-b, agg_data_prefix: a/, agg_index_prefix: ai/}\n",
                 &c, &e) == 0);
    CHECK_STR(c.s3.cold_tier.agg_prefix, "sw/agg/");
    CHECK_STR(c.s3.repartitioned.agg_data_prefix, "a/");
    /* a data_prefix that is not .../raw/: no agg unless named */
    REQUIRE(load("s3:\n  cold_tier: {bucket_name: cold-b, data_prefix: exports/}\n"
                 "  repartitioned: {bucket_name: rep-b}\n", &c, &e) == 0);
    CHECK_STR(c.s3.cold_tier.agg_prefix, "");
    REQUIRE(load("s3:\n  cold_tier: {bucket_name: cold-b, data_prefix: myraw/}\n"
                 "  repartitioned: {bucket_name: rep-b}\n", &c, &e) == 0);
    CHECK_STR(c.s3.cold_tier.agg_prefix, "");
    REQUIRE(load("s3:\n  cold_tier: {bucket_name: cold-b, data_prefix: exports/, agg_prefix: aggs/}\n"
                 "  repartitioned: {bucket_name: rep-b}\ndatasets: agg\n", &c, &e) == 0);
    CHECK_STR(c.s3.cold_tier.agg_prefix, "aggs/");
    static const struct bad bad[] = {
        { "s3:\n  cold_tier: {bucket_name: cold-b, data_prefix: raw/, key_prefix: sw/}\n"
          "  repartitioned: {bucket_name: rep-b}\n",
          "t.yml:2: s3.cold_tier.key_prefix: set with s3.cold_tier.data_prefix" },
        { "s3:\n  cold_tier: {bucket_name: cold-b, data_prefix: exports/}\n"
          "  repartitioned: {bucket_name: rep-b}\ndatasets: agg\n",
          "t.yml:4: datasets: agg: no prefix for it" },
        { MIN "datasets: both\n", "datasets: \"both\" is not one of all | raw | agg" },
        { "s3:\n  cold_tier: {bucket_name: cold-b, agg_prefix: raw/agg/}\n"
          "  repartitioned: {bucket_name: rep-b}\n",
          "s3.cold_tier.agg_prefix: \"raw/agg/\" overlaps the raw data prefix" },
        { MIN "    agg_data_prefix: consolidated/agg/\n",
          "s3.repartitioned.agg_data_prefix: \"consolidated/agg/\" overlaps s3.repartitioned.data_prefix" },
        { MIN "    agg_index_prefix: consolidated_agg/i/\n",
          "s3.repartitioned.agg_index_prefix: \"consolidated_agg/i/\" overlaps s3.repartitioned.agg_data_prefix" },
        { "s3:\n  cold_tier: {bucket_name: same}\n  repartitioned: {bucket_name: same, agg_data_prefix: agg/x/}\n",
          "s3.repartitioned.agg_data_prefix: \"agg/x/\" overlaps s3.cold_tier.agg_prefix \"agg/\" in the same bucket" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(load(bad[i].yaml, &c, &e) != 0);
        CHECK_INT(e.kind, ERR_USAGE);
        if (!strstr(e.msg, bad[i].want))
            fprintf(stderr, "  case %zu: got \"%s\"\n", i, e.msg);
        CHECK(strstr(e.msg, bad[i].want) != NULL);
    }
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_full);
    RUN(test_python_sample_layout);
    RUN(test_example_file_loads);
    RUN(test_errors_name_the_key);
    RUN(test_null_means_default);
    RUN(test_files);
    RUN(test_env);
    RUN(test_upload);
    RUN(test_datasets);
    return TEST_EXIT();
}
