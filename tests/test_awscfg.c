/* awscfg: profile name, region precedence, the endpoint resolver (env,
 * services sections, profile endpoint_url, ignore, FIPS/dual-stack,
 * credentials in URLs refused unprinted), retry and TLS settings. */
#include "awscfg.h"
#include "ini.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256], cfgpath[300];

static const char *const VARS[] = {
    "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_IOTSITEWISE", "AWS_ENDPOINT_URL_SSO", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT", "AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
};

static void clean_env(void)
{
    for (size_t i = 0; i < sizeof VARS / sizeof *VARS; i++)
        unsetenv(VARS[i]);
    setenv("AWS_CONFIG_FILE", cfgpath, 1);
}

static void write_cfg(const char *text)
{
    FILE *f = fopen(cfgpath, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static const char CFG[] =
    "[default]\n"
    "region = us-west-2\n"
    "[profile eu]\n"
    "region = eu-west-1\n"
    "services = local\n"
    "endpoint_url = http://profile-wide:1\n"
    "[profile plain]\n"
    "region = ap-south-1   ; comment\n"
    "endpoint_url = http://plain:9/\n"
    "[profile bad]\n"
    "region = Not/A/Region\n"
    "[services local]\n"
    "s3 =\n"
    "  endpoint_url = http://s3-from-services:2\n"
    "sts =\n"
    "  endpoint_url = http://sts-from-services:3/\n"
    "[profile fips]\n"
    "use_fips_endpoint = true\n"
    "use_dualstack_endpoint = true\n"
    "max_attempts = 5\n"
    "retry_mode = adaptive\n";

static void test_region(void)
{
    clean_env();
    write_cfg(CFG);
    REQUIRE(awscfg_init(NULL, NULL) == 0);
    char r[64];
    const char *from = NULL;
    struct err e = {0};
    /* the default profile's region */
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "us-west-2");
    CHECK_STR(from, "profile region");
    /* AWS_PROFILE read at each call */
    setenv("AWS_PROFILE", "eu", 1);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "eu-west-1");
    /* inline comment stripped */
    setenv("AWS_PROFILE", "plain", 1);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "ap-south-1");
    /* env beats the profile; AWS_REGION beats AWS_DEFAULT_REGION */
    setenv("AWS_DEFAULT_REGION", "eu-north-1", 1);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "eu-north-1");
    setenv("AWS_REGION", "ca-central-1", 1);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "ca-central-1");
    CHECK_STR(from, "AWS_REGION");
    /* explicit beats everything */
    CHECK_INT(awscfg_region("sa-east-1", "--region", r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "sa-east-1");
    CHECK_STR(from, "--region");
    /* a bad one is an error naming its source */
    setenv("AWS_REGION", "bad region", 1);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), -1);
    CHECK(strstr(e.msg, "AWS_REGION") != NULL);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    setenv("AWS_PROFILE", "bad", 1);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), -1);
    CHECK(strstr(e.msg, "profile \"bad\"") != NULL);
    /* --profile beats AWS_PROFILE */
    REQUIRE(awscfg_init("eu", NULL) == 0);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 1);
    CHECK_STR(r, "eu-west-1");
    CHECK_STR(awscfg_profile_name(&from), "eu");
    CHECK_STR(from, "--profile");
    /* no region anywhere */
    REQUIRE(awscfg_init("nosuch", NULL) == 0);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 0);
    unlink(cfgpath);
    CHECK_INT(awscfg_region(NULL, NULL, r, sizeof r, &from, &e), 0);
    /* invalid profile names */
    CHECK_INT(awscfg_init("a]b", &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(awscfg_region_ok("us-east-1") && !awscfg_region_ok("") && !awscfg_region_ok("US") &&
          !awscfg_region_ok("a.b"));
}

static void test_endpoint(void)
{
    clean_env();
    write_cfg(CFG);
    char u[256];
    const char *from = NULL;
    struct err e = {0};
    REQUIRE(awscfg_init(NULL, NULL) == 0);
    /* AWS endpoints */
    CHECK_INT(awscfg_endpoint(AWSCFG_STS, NULL, "eu-west-1", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://sts.eu-west-1.amazonaws.com");
    CHECK_INT(awscfg_endpoint(AWSCFG_STS, NULL, NULL, u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://sts.amazonaws.com");
    CHECK_INT(awscfg_endpoint(AWSCFG_SITEWISE, NULL, "cn-north-1", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://api.iotsitewise.cn-north-1.amazonaws.com.cn");
    CHECK_INT(awscfg_endpoint(AWSCFG_SSO, NULL, "eu-west-1", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://portal.sso.eu-west-1.amazonaws.com");
    CHECK_INT(awscfg_endpoint(AWSCFG_SQS, NULL, "x/y", u, sizeof u, &from, &e), -1);

    /* profile endpoint_url < AWS_ENDPOINT_URL < services < AWS_ENDPOINT_URL_<SVC> < explicit */
    setenv("AWS_PROFILE", "plain", 1);
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), 1);
    CHECK_STR(u, "http://plain:9");
    setenv("AWS_PROFILE", "eu", 1);
    CHECK_INT(awscfg_endpoint(AWSCFG_SQS, "", "eu-west-1", u, sizeof u, &from, &e), 1);
    CHECK_STR(u, "http://profile-wide:1");
    setenv("AWS_ENDPOINT_URL", "http://global:4", 1);
    CHECK_INT(awscfg_endpoint(AWSCFG_SQS, "", "eu-west-1", u, sizeof u, &from, &e), 1);
    CHECK_STR(u, "http://global:4");
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), 1);
    CHECK_STR(u, "http://s3-from-services:2");
    CHECK(strstr(from, "services local") != NULL);
    CHECK_INT(awscfg_endpoint(AWSCFG_STS, "", "eu-west-1", u, sizeof u, &from, &e), 1);
    CHECK_STR(u, "http://sts-from-services:3");
    setenv("AWS_ENDPOINT_URL_S3", "http://s3-env:5", 1);
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), 1);
    CHECK_STR(u, "http://s3-env:5");
    CHECK_STR(from, "AWS_ENDPOINT_URL_S3");
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "http://explicit:6/", "eu-west-1", u, sizeof u, &from,
                              &e), 1);
    CHECK_STR(u, "http://explicit:6");
    /* ignore: everything but the explicit one */
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    REQUIRE(awscfg_init(NULL, NULL) == 0);
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://s3.eu-west-1.amazonaws.com");
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "http://explicit:6", "eu-west-1", u, sizeof u, &from,
                              &e), 1);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "maybe", 1);
    CHECK_INT(awscfg_init(NULL, &e), -1);
    CHECK(strstr(e.msg, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") != NULL);
    unsetenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");
    REQUIRE(awscfg_init(NULL, NULL) == 0);

    /* refused URLs; credentials never quoted */
    const char *bad[] = {"ftp://x", "http://", "https:///path", "127.0.0.1:9", "http://h?q=1",
                         "http://h#f", "http://h x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("AWS_ENDPOINT_URL_S3", bad[i], 1);
        CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(strstr(e.msg, "AWS_ENDPOINT_URL_S3") != NULL);
    }
    setenv("AWS_ENDPOINT_URL_S3", "https://AKIDUSER:pa55w0rdSECRET@s3.example:443/x", 1);
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), -1);
    CHECK(strstr(e.msg, "pa55w0rdSECRET") == NULL && strstr(e.msg, "AKIDUSER") == NULL);
    CHECK(strstr(e.msg, "user name or password") != NULL);
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "http://u:secretpw@h:1", "eu-west-1", u, sizeof u,
                              &from, &e), -1);
    CHECK(strstr(e.msg, "secretpw") == NULL);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");

    /* FIPS and dual-stack from the profile */
    REQUIRE(awscfg_init("fips", NULL) == 0);
    CHECK_INT(awscfg_get()->fips, 1);
    CHECK_INT(awscfg_get()->dualstack, 1);
    CHECK_INT(awscfg_get()->max_attempts, 5);
    CHECK_INT(awscfg_get()->retry_mode, AWSCFG_RETRY_ADAPTIVE);
    CHECK_INT(awscfg_endpoint(AWSCFG_S3, "", "eu-west-1", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://s3-fips.dualstack.eu-west-1.amazonaws.com");
    CHECK_INT(awscfg_endpoint(AWSCFG_STS, "", "us-east-2", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://sts-fips.us-east-2.api.aws");
    /* the environment wins over the profile */
    setenv("AWS_USE_DUALSTACK_ENDPOINT", "false", 1);
    setenv("AWS_MAX_ATTEMPTS", "2", 1);
    setenv("AWS_RETRY_MODE", "STANDARD", 1);
    REQUIRE(awscfg_init("fips", NULL) == 0);
    CHECK_INT(awscfg_get()->max_attempts, 2);
    CHECK_INT(awscfg_get()->retry_mode, AWSCFG_RETRY_STANDARD);
    CHECK_INT(awscfg_endpoint(AWSCFG_SQS, "", "us-east-2", u, sizeof u, &from, &e), 0);
    CHECK_STR(u, "https://sqs-fips.us-east-2.amazonaws.com");
    const char *badret[][2] = {{"AWS_MAX_ATTEMPTS", "0"}, {"AWS_MAX_ATTEMPTS", "3x"},
                               {"AWS_MAX_ATTEMPTS", "101"}, {"AWS_RETRY_MODE", "fast"}};
    for (size_t i = 0; i < 4; i++) {
        setenv(badret[i][0], badret[i][1], 1);
        CHECK_INT(awscfg_init(NULL, &e), -1);
        CHECK(strstr(e.msg, badret[i][0]) != NULL);
        unsetenv(badret[i][0]);
    }
    /* CA bundle: must be readable */
    setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1);
    CHECK_INT(awscfg_init(NULL, &e), -1);
    CHECK(strstr(e.msg, "AWS_CA_BUNDLE") != NULL);
    setenv("AWS_CA_BUNDLE", cfgpath, 1);
    CHECK_INT(awscfg_init(NULL, &e), 0);
    CHECK_STR(awscfg_get()->ca_bundle, cfgpath);
    clean_env();
    REQUIRE(awscfg_init(NULL, NULL) == 0);
}

static void test_subvalue(void)
{
    static const char t[] =
        "[services a]\n"
        "s3 =\n"
        "  endpoint_url = http://one\n"
        "  other = x\n"
        "sqs = \n"
        "\tendpoint_url=http://two\n"
        "[services b]\n"
        "  endpoint_url = http://orphan\n"
        "s3 =\n";
    char v[64];
    CHECK_INT(ini_subvalue(t, sizeof t - 1, "services a", "s3", "endpoint_url", v, sizeof v), 1);
    CHECK_STR(v, "http://one");
    CHECK_INT(ini_subvalue(t, sizeof t - 1, "services a", "sqs", "endpoint_url", v, sizeof v), 1);
    CHECK_STR(v, "http://two");
    CHECK_INT(ini_subvalue(t, sizeof t - 1, "services b", "s3", "endpoint_url", v, sizeof v), 0);
    CHECK_INT(ini_subvalue(t, sizeof t - 1, "services a", "s3", "endpoint_url", v, 5), -1);
    /* every prefix of the text: bounded, no crash */
    for (size_t n = 0; n < sizeof t; n++)
        (void)ini_subvalue(t, n, "services a", "sqs", "endpoint_url", v, sizeof v);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/test_awscfg.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    snprintf(cfgpath, sizeof cfgpath, "%s/config", dir);
    RUN(test_region);
    RUN(test_endpoint);
    RUN(test_subvalue);
    unlink(cfgpath);
    rmdir(dir);
    return TEST_EXIT();
}
