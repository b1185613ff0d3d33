/* Unit tests of S3 endpoint resolution and request URL building (s3_url),
 * and of the retry backoff bounds. Expected URLs follow the S3 addressing
 * rules (virtual-hosted https://BUCKET.s3.REGION.amazonaws.com/KEY, path
 * style https://s3.REGION.amazonaws.com/BUCKET/KEY) and the SigV4 URI
 * encoding (RFC 3986 unreserved kept, '/' kept in paths, %XX upper case). */
#include "test.h"

#include "retry.h"
#include "s3_url.h"

static void check_target(const struct s3_endpoint *ep, const char *bucket, const char *key,
                         const char *query, const char *url, const char *host,
                         const char *path, int line)
{
    struct s3_target t;
    struct err e = {0};
    if (s3_target_build(ep, bucket, key, query, &t, &e) != 0) {
        fprintf(stderr, "line %d: unexpected error: %s\n", line, e.msg);
        test_failures++;
        return;
    }
    if (strcmp(t.url, url) || strcmp(t.host, host) || strcmp(t.path, path)) {
        fprintf(stderr, "line %d:\n  url  %s (want %s)\n  host %s (want %s)\n  path %s (want %s)\n",
                line, t.url, url, t.host, host, t.path, path);
        test_failures++;
    }
    s3_target_free(&t);
}
#define TARGET(ep, b, k, q, url, host, path) check_target(ep, b, k, q, url, host, path, __LINE__)

static void test_aws_default(void)
{
    struct s3_endpoint ep;
    struct err e = {0};
    REQUIRE(s3_endpoint_init(&ep, "eu-west-1", "", 0, &e) == 0);
    TARGET(&ep, "my-bucket", "raw/startYear=2023/a b+c.avro", NULL,
           "https://my-bucket.s3.eu-west-1.amazonaws.com/raw/startYear%3D2023/a%20b%2Bc.avro",
           "my-bucket.s3.eu-west-1.amazonaws.com", "/raw/startYear%3D2023/a%20b%2Bc.avro");
    /* the bucket itself, with a query */
    TARGET(&ep, "my-bucket", NULL, "list-type=2&prefix=raw%2F",
           "https://my-bucket.s3.eu-west-1.amazonaws.com/?list-type=2&prefix=raw%2F",
           "my-bucket.s3.eu-west-1.amazonaws.com", "/");
    /* dotted bucket names cannot match the TLS wildcard: path style */
    TARGET(&ep, "my.bucket", "k", NULL, "https://s3.eu-west-1.amazonaws.com/my.bucket/k",
           "s3.eu-west-1.amazonaws.com", "/my.bucket/k");
    /* NULL region is us-east-1 */
    REQUIRE(s3_endpoint_init(&ep, NULL, NULL, 1, &e) == 0);
    TARGET(&ep, "bkt", "a/b", NULL, "https://s3.us-east-1.amazonaws.com/bkt/a/b",
           "s3.us-east-1.amazonaws.com", "/bkt/a/b");
    TARGET(&ep, "bkt", NULL, NULL, "https://s3.us-east-1.amazonaws.com/bkt",
           "s3.us-east-1.amazonaws.com", "/bkt");
    REQUIRE(s3_endpoint_init(&ep, "cn-north-1", "", 0, &e) == 0);
    TARGET(&ep, "bkt", "k", NULL, "https://bkt.s3.cn-north-1.amazonaws.com.cn/k",
           "bkt.s3.cn-north-1.amazonaws.com.cn", "/k");
}

static void test_custom_endpoint(void)
{
    struct s3_endpoint ep;
    struct err e = {0};
    REQUIRE(s3_endpoint_init(&ep, "us-east-1", "http://127.0.0.1:4568", 1, &e) == 0);
    TARGET(&ep, "bkt", "x/\xE2\x82\xAC %=~", "uploads=",
           "http://127.0.0.1:4568/bkt/x/%E2%82%AC%20%25%3D~?uploads=", "127.0.0.1:4568",
           "/bkt/x/%E2%82%AC%20%25%3D~");
    /* trailing slash and base path; default port dropped; host lower-cased */
    REQUIRE(s3_endpoint_init(&ep, "", "HTTPS://Minio.Example:443/s3/", 1, &e) == 0);
    TARGET(&ep, "bkt", "k", NULL, "https://minio.example/s3/bkt/k", "minio.example",
           "/s3/bkt/k");
    /* virtual-hosted on a custom endpoint */
    REQUIRE(s3_endpoint_init(&ep, "", "http://localhost:9000", 0, &e) == 0);
    TARGET(&ep, "bkt", "k", NULL, "http://bkt.localhost:9000/k", "bkt.localhost:9000", "/k");
    /* IPv6 literal */
    REQUIRE(s3_endpoint_init(&ep, "", "http://[::1]:8080", 1, &e) == 0);
    TARGET(&ep, "bkt", "k", NULL, "http://[::1]:8080/bkt/k", "[::1]:8080", "/bkt/k");
    /* dot segments and double slashes are part of the key, sent as they are */
    REQUIRE(s3_endpoint_init(&ep, "", "http://h:1", 1, &e) == 0);
    TARGET(&ep, "bkt", "a/./b//../c", NULL, "http://h:1/bkt/a/./b//../c", "h:1",
           "/bkt/a/./b//../c");
}

static void test_bad_config(void)
{
    struct s3_endpoint ep;
    struct err e = {0};
    const char *bad[] = {"ftp://x", "127.0.0.1:9000", "http://", "http://h:0", "http://h:99999",
                         "http://u@h", "http://h/p?q=1", "http://h#f", "http://[::1", "http://h:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.kind = 0;
        if (s3_endpoint_init(&ep, "", bad[i], 0, &e) != -1 || e.kind != ERR_USAGE) {
            fprintf(stderr, "endpoint \"%s\" accepted\n", bad[i]);
            test_failures++;
        }
    }
    CHECK(s3_endpoint_init(&ep, "US_EAST", "", 0, &e) == -1 && e.kind == ERR_USAGE);
    CHECK(s3_endpoint_init(&ep, "us-east-1/../x", "", 0, &e) == -1);

    REQUIRE(s3_endpoint_init(&ep, "", "", 0, &e) == 0);
    struct s3_target t;
    const char *bad_buckets[] = {"", "ab", "a/b", "a b", "buck?et", "b#ck", "x@y"};
    for (size_t i = 0; i < sizeof bad_buckets / sizeof bad_buckets[0]; i++) {
        e.kind = 0;
        if (s3_target_build(&ep, bad_buckets[i], "k", NULL, &t, &e) != -1 || e.kind != ERR_USAGE) {
            fprintf(stderr, "bucket \"%s\" accepted\n", bad_buckets[i]);
            test_failures++;
        }
    }
    CHECK(s3_target_build(&ep, "bkt", "", NULL, &t, &e) == -1 && e.kind == ERR_USAGE);
    char longkey[1100];
    memset(longkey, 'k', 1025);
    longkey[1025] = '\0';
    CHECK(s3_target_build(&ep, "bkt", longkey, NULL, &t, &e) == -1 && e.kind == ERR_USAGE);
    longkey[1024] = '\0';
    CHECK(s3_target_build(&ep, "bkt", longkey, NULL, &t, &e) == 0);
    s3_target_free(&t);
}

static void test_backoff_bounds(void)
{
    /* full jitter: within [0, min(cap, base * 2^n)], and not constant */
    long maxseen[12] = {0};
    int distinct = 0;
    long prev = -1;
    for (int round = 0; round < 2000; round++) {
        for (int a = 0; a < 12; a++) {
            long d = retry_backoff_ms(a, 100, 20000);
            long ceil = 100L << a;
            if (ceil > 20000)
                ceil = 20000;
            if (d < 0 || d > ceil) {
                fprintf(stderr, "attempt %d: delay %ld outside [0,%ld]\n", a, d, ceil);
                test_failures++;
                return;
            }
            if (d > maxseen[a])
                maxseen[a] = d;
            if (a == 3 && d != prev)
                distinct++;
            if (a == 3)
                prev = d;
        }
    }
    CHECK(distinct > 100);
    CHECK(maxseen[0] > 50);      /* the range is really used */
    CHECK(maxseen[11] > 10000);  /* capped at 20 s, not 204.8 s */
    CHECK_INT(retry_backoff_ms(5, 0, 100), 0);
    CHECK_INT(retry_backoff_ms(1000, 100, 20000) <= 20000, 1);
}

int main(void)
{
    RUN(test_aws_default);
    RUN(test_custom_endpoint);
    RUN(test_bad_config);
    RUN(test_backoff_bounds);
    return TEST_EXIT();
}
