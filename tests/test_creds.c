/* The credential chain without network: environment, profile files,
 * precedence, the INI parser on malformed input, ISO 8601, the container URL
 * rules, and that messages never carry secrets. The HTTP sources (container
 * endpoint, IMDSv2) are covered by tests/it_creds.sh against a local server. */
#include "test.h"
#include "ini.h"
#include "creds.h"

#include <ftw.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

static char tmpdir[256];

static const char *const VARS[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
};

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* A clean slate: no credentials anywhere, HOME is an empty temp dir, and
 * IMDS is off so that no test touches the network. */
static void reset_env(void)
{
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
    setenv("HOME", tmp_path("emptyhome"), 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void write_file(const char *name, const char *text, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fwrite(text, 1, len, f);
    fclose(f);
}

static void write_str(const char *name, const char *text) { write_file(name, text, strlen(text)); }

/* Resolves with a fresh provider; returns the rc. */
static int resolve(struct creds *c, struct err *e)
{
    struct creds_provider *p = creds_provider_new();
    if (!p)
        return -2;
    memset(c, 0, sizeof *c);
    err_clear(e);
    int rc = creds_provider_get(p, c, e);
    creds_provider_free(p);
    return rc;
}

static void test_env(void)
{
    reset_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envSecret/+=", 1);
    struct creds c;
    struct err e;
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.source, "env");
    CHECK_STR(c.access_key, "AKIAENV");
    CHECK_STR(c.secret_key, "envSecret/+=");
    CHECK_STR(c.session_token, "");
    CHECK_INT(c.expires_at, 0);

    setenv("AWS_SESSION_TOKEN", "envToken", 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.session_token, "envToken");

    /* An empty variable counts as unset. */
    setenv("AWS_SESSION_TOKEN", "", 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.session_token, "");
}

static void test_env_partial(void)
{
    reset_env();
    setenv("AWS_SECRET_ACCESS_KEY", "partialSecretXYZ", 1);
    struct creds c;
    struct err e;
    CHECK(resolve(&c, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, "AWS_ACCESS_KEY_ID") != NULL);
    CHECK(strstr(e.msg, "partialSecretXYZ") == NULL);
}

static void test_profile_credentials_file(void)
{
    reset_env();
    mkdir(tmp_path(".aws"), 0700);
    write_str(".aws/credentials",
              "# comment\n"
              "[default]\n"
              "aws_access_key_id = AKIADEFAULT\n"
              "aws_secret_access_key = defaultSecret\n"
              "\n"
              "[dev]\r\n"
              "  AWS_ACCESS_KEY_ID=AKIADEV   ; inline comment\r\n"
              "aws_secret_access_key=devSecret/abc+def\r\n"
              "aws_session_token = devToken==\r\n");
    struct creds c;
    struct err e;
    /* ~/.aws/credentials through HOME */
    setenv("HOME", tmpdir, 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.source, "profile:default");
    CHECK_STR(c.access_key, "AKIADEFAULT");
    CHECK_STR(c.secret_key, "defaultSecret");
    CHECK_STR(c.session_token, "");

    setenv("AWS_PROFILE", "dev", 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.source, "profile:dev");
    CHECK_STR(c.access_key, "AKIADEV");
    CHECK_STR(c.secret_key, "devSecret/abc+def");
    CHECK_STR(c.session_token, "devToken==");
}

static void test_profile_config_file(void)
{
    reset_env();
    write_str("creds-empty", "");
    write_str("config",
              "[default]\n"
              "region = eu-west-1\n"
              "aws_access_key_id = AKIACFGDEFAULT\n"
              "aws_secret_access_key = cfgDefaultSecret\n"
              "[profile prod]\n"
              "region = us-east-1\n"
              "s3 =\n"
              "    max_concurrent_requests = 20\n"
              "aws_access_key_id = AKIACFGPROD\n"
              "aws_secret_access_key = cfgProdSecret\n"
              "[prod]\n"       /* not a config-file profile name: ignored */
              "aws_access_key_id = WRONG\n"
              "aws_secret_access_key = WRONG\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("creds-empty"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("config"), 1);
    struct creds c;
    struct err e;
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.source, "profile:default");
    CHECK_STR(c.access_key, "AKIACFGDEFAULT");
    setenv("AWS_PROFILE", "prod", 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.source, "profile:prod");
    CHECK_STR(c.access_key, "AKIACFGPROD");
    CHECK_STR(c.secret_key, "cfgProdSecret");
}

static void test_precedence(void)
{
    reset_env();
    write_str("p-creds", "[default]\naws_access_key_id=AKIAFROMCREDS\naws_secret_access_key=s1\n");
    write_str("p-config", "[default]\naws_access_key_id=AKIAFROMCONFIG\naws_secret_access_key=s2\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("p-creds"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("p-config"), 1);
    /* A container endpoint that must not be contacted: the profile wins. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/never", 1);
    struct creds c;
    struct err e;
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.access_key, "AKIAFROMCREDS");   /* credentials file before config */
    setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s0", 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.access_key, "AKIAFROMENV");     /* environment first */
    CHECK_STR(c.source, "env");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    write_str("p-creds", "[other]\naws_access_key_id=X\naws_secret_access_key=Y\n");
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.access_key, "AKIAFROMCONFIG");  /* falls through to config */
}

static void test_profile_errors(void)
{
    struct creds c;
    struct err e;
    reset_env();
    write_str("e-creds", "[default]\naws_secret_access_key = onlyTheSecret123\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("e-creds"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("does-not-exist"), 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "aws_access_key_id") != NULL);
    CHECK(strstr(e.msg, "onlyTheSecret123") == NULL);

    /* An explicitly named profile that does not exist is an error. */
    write_str("e-creds", "[default]\naws_access_key_id=A\naws_secret_access_key=topSecret9\n");
    setenv("AWS_PROFILE", "missing", 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "\"missing\"") != NULL);
    CHECK(strstr(e.msg, "not found") != NULL);
    CHECK(strstr(e.msg, "topSecret9") == NULL);

    /* An incomplete SSO profile says what it lacks (issue 13: SSO profiles
     * are supported; tests/it_creds_role.sh covers them). */
    write_str("e-config", "[profile sso]\nsso_session = corp\nsso_account_id = 1\n");
    setenv("AWS_CONFIG_FILE", tmp_path("e-config"), 1);
    setenv("AWS_PROFILE", "sso", 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "sso_session") != NULL);
    CHECK(strstr(e.msg, "sso_role_name") != NULL);

    /* A value longer than the field is an error, not a truncation. */
    char big[600];
    memset(big, 'k', sizeof big);
    big[sizeof big - 1] = '\0';
    char text[800];
    snprintf(text, sizeof text, "[default]\naws_access_key_id=A\naws_secret_access_key=%s\n", big);
    write_str("e-creds", text);
    unsetenv("AWS_PROFILE");
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "too long") != NULL);
    CHECK(strstr(e.msg, "kkkkkkkk") == NULL);

    /* A directory instead of a file is reported, not crashed on. */
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmpdir, 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, tmpdir) != NULL);
}

static void test_nothing_found(void)
{
    reset_env();
    struct creds c;
    struct err e;
    CHECK(resolve(&c, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    fprintf(stderr, "  (message: %s)\n", e.msg);
    CHECK(strstr(e.msg, "no AWS credentials found") != NULL);
    CHECK(strstr(e.msg, "environment") != NULL);
    CHECK(strstr(e.msg, "profile \"default\"") != NULL);
    CHECK(strstr(e.msg, ".aws/credentials: no such file") != NULL);
    CHECK(strstr(e.msg, "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN not set)") != NULL);
    CHECK(strstr(e.msg, "container endpoint") != NULL);
    CHECK(strstr(e.msg, "AWS_EC2_METADATA_DISABLED") != NULL);
}

static void test_container_url(void)
{
    char url[512];
    struct err e;
    reset_env();
    CHECK_INT(creds_container_url(url, sizeof url, &e), 0);
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc", 1);
    CHECK_INT(creds_container_url(url, sizeof url, &e), 1);
    CHECK_STR(url, "http://169.254.170.2/v2/credentials/abc");
    /* RELATIVE_URI wins over FULL_URI */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.com/", 1);
    CHECK_INT(creds_container_url(url, sizeof url, &e), 1);
    CHECK_STR(url, "http://169.254.170.2/v2/credentials/abc");
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");

    static const struct { const char *u; int ok; } cases[] = {
        {"https://creds.example.com/get", 1},
        {"http://127.0.0.1:8080/creds", 1},
        {"http://127.1.2.3/creds", 1},
        {"http://localhost:9/x", 1},
        {"http://[::1]:9/x", 1},
        {"http://169.254.170.2/v1", 1},
        {"http://169.254.170.23/v1/credentials", 1},
        {"http://evil.example.com/", 0},
        {"http://128.0.0.1/", 0},
        {"http://169.254.169.254/", 0},
        {"ftp://127.0.0.1/", 0},
        {"not a url", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", cases[i].u, 1);
        err_clear(&e);
        int rc = creds_container_url(url, sizeof url, &e);
        if (rc != (cases[i].ok ? 1 : -1)) {
            fprintf(stderr, "container url %s: rc %d (%s)\n", cases[i].u, rc, e.msg);
            test_failures++;
        }
        if (!cases[i].ok)
            CHECK_INT(e.kind, ERR_USAGE);
    }
    /* The chain stops with the error rather than trying IMDS. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.com/", 1);
    struct creds c;
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "not allowed") != NULL);
}

static void test_container_token_file_errors(void)
{
    reset_env();
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_path("no-such-token"), 1);
    struct creds c;
    struct err e;
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") != NULL);
    /* A token with a line break would inject headers: refused, not quoted. */
    write_str("bad-token", "tokPart1\nX-Injected: tokPart2\n");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tmp_path("bad-token"), 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "line break") != NULL);
    CHECK(strstr(e.msg, "tokPart") == NULL);
}

static void test_ini_parser(void)
{
    char v[64];
    const char *t1 = "[a]\nk=1\n[b]\nk = 2\n[a]\nk=3\n";   /* later definition wins */
    CHECK_INT(ini_find(t1, strlen(t1), "a", "k", v, sizeof v), 1);
    CHECK_STR(v, "3");
    CHECK_INT(ini_find(t1, strlen(t1), "b", "K", v, sizeof v), 1);
    CHECK_STR(v, "2");
    CHECK_INT(ini_find(t1, strlen(t1), "c", "k", v, sizeof v), 0);
    CHECK_INT(ini_has_section(t1, strlen(t1), "b"), 1);
    CHECK_INT(ini_has_section(t1, strlen(t1), "c"), 0);

    /* value too long for the buffer */
    char small[4];
    CHECK_INT(ini_find("[a]\nk=12345\n", 12, "a", "k", small, sizeof small), -1);
    /* the length bound is honoured: text after len is not seen */
    CHECK_INT(ini_find("[a]\nk=1\nj=2\n", 8, "a", "j", v, sizeof v), 0);

    static const struct { const char *text, *want; } cases[] = {
        {"[s]\nk = v # comment", "v"},
        {"[s]\nk = v;not-a-comment", "v;not-a-comment"},
        {"[s]\nk=v\n  continued line\n", "v"},
        {"  [ s ]  \n\tk\t=\tv\t\n", "v"},
        {"[s]\r\nk=v\r\n", "v"},
        {"[s]\nk=\n", ""},
        {"[s]\n=novalue\nk=v\n", "v"},
        {"[s]\njunk line without equals\nk=v", "v"},
        {"[s\nk=v\n", NULL},            /* unterminated header: section not entered */
        {"[s]\n[broken\nk=v\n", NULL},  /* broken header leaves the section */
        {"k=v\n[s]\n", NULL},
        {"; [s]\n# k=v\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(v, 'x', sizeof v);
        int rc = ini_find(cases[i].text, strlen(cases[i].text), "s", "k", v, sizeof v);
        if (cases[i].want ? (rc != 1 || strcmp(v, cases[i].want) != 0) : rc != 0) {
            fprintf(stderr, "ini case %zu: rc %d value \"%.20s\"\n", i, rc, rc == 1 ? v : "");
            test_failures++;
        }
    }
    /* NUL bytes inside the text */
    const char nul[] = "[s]\nk=a\0b\nj=c\n";
    CHECK_INT(ini_find(nul, sizeof nul - 1, "s", "j", v, sizeof v), 1);
    CHECK_STR(v, "c");
}

/* Random and truncated inputs must never crash or overrun (run under ASan). */
static void test_ini_fuzz(void)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    const char alphabet[] = "[]=;# \t\r\nakpsd\0";
    char v[16];
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(x % 200);
        char *buf = malloc(len ? len : 1);   /* exact size: ASan sees any overrun */
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (x & 0x100) ? (char)(x & 0xff) : alphabet[x % (sizeof alphabet - 1)];
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int rc = ini_find(buf, len, "s", "k", v, sizeof v);
        CHECK(rc >= -1 && rc <= 1);
        if (rc == 1)
            CHECK(strlen(v) < sizeof v);
        ini_has_section(buf, len, "s");
        free(buf);
    }
    /* A profile file of garbage goes through the whole chain without crashing. */
    reset_env();
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        junk[i] = (char)(x & 0xff);
    }
    write_file("junk", junk, sizeof junk);
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("junk"), 1);
    setenv("AWS_CONFIG_FILE", tmp_path("junk"), 1);
    struct creds c;
    struct err e;
    CHECK(resolve(&c, &e) == -1);
    /* A very long line */
    size_t big = 300000;
    char *longline = malloc(big);
    REQUIRE(longline);
    memcpy(longline, "[default]\naws_access_key_id=", 28);
    memset(longline + 28, 'A', big - 28);
    write_file("long", longline, big);
    free(longline);
    setenv("AWS_SHARED_CREDENTIALS_FILE", tmp_path("long"), 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "too long") != NULL);
}

static void test_static_provider(void)
{
    struct creds_provider *p = creds_provider_static("AKIASTATIC", "staticSecret", NULL);
    REQUIRE(p);
    struct creds c;
    struct err e;
    CHECK(creds_provider_get(p, &c, &e) == 0);
    CHECK_STR(c.access_key, "AKIASTATIC");
    CHECK_STR(c.secret_key, "staticSecret");
    CHECK_STR(c.session_token, "");
    CHECK_STR(c.source, "static");
    creds_provider_free(p);
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK(creds_provider_static(big, "s", NULL) == NULL);
    CHECK(creds_provider_static(NULL, "s", NULL) == NULL);
}

struct thr {
    struct creds_provider *p;
    int bad;
};

static void *hammer(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < 2000; i++) {
        struct creds c;
        struct err e;
        if (creds_provider_get(t->p, &c, &e) != 0 || strcmp(c.access_key, "AKIATHREADS") != 0)
            t->bad++;
    }
    return NULL;
}

/* One provider shared by threads: every get sees the same credentials
 * (races would show under ASan/TSan builds). */
static void test_threads(void)
{
    reset_env();
    setenv("AWS_ACCESS_KEY_ID", "AKIATHREADS", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "threadSecret", 1);
    struct creds_provider *p = creds_provider_new();
    REQUIRE(p);
    pthread_t th[8];
    struct thr a[8];
    for (int i = 0; i < 8; i++) {
        a[i].p = p;
        a[i].bad = 0;
        pthread_create(&th[i], NULL, hammer, &a[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(a[i].bad, 0);
    }
    /* Non-expiring credentials are resolved once: changing the environment
     * afterwards does not change what this provider returns. */
    setenv("AWS_ACCESS_KEY_ID", "AKIACHANGED", 1);
    struct creds c;
    struct err e;
    CHECK(creds_provider_get(p, &c, &e) == 0);
    CHECK_STR(c.access_key, "AKIATHREADS");
    creds_provider_free(p);
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/test_creds.XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    mkdir(tmp_path("emptyhome"), 0700);
    RUN(test_env);
    RUN(test_env_partial);
    RUN(test_profile_credentials_file);
    RUN(test_profile_config_file);
    RUN(test_precedence);
    RUN(test_profile_errors);
    RUN(test_nothing_found);
    RUN(test_container_url);
    RUN(test_container_token_file_errors);
    RUN(test_ini_parser);
    RUN(test_ini_fuzz);
    RUN(test_static_provider);
    RUN(test_threads);
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_EXIT();
}
