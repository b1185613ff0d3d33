/* lease and locking without a server: the TTL variable, the auto/on/off
 * decision and its texts, lease_lost, and the renewal thread against an
 * endpoint that refuses connections (lost at expiry; stop at once). The
 * protocol against a server: tests/it_locking_probe.sh, tests/it_locking.sh. */
#include <stdlib.h>
#include <time.h>

#include "config.h"
#include "creds.h"
#include "lease.h"
#include "locking.h"
#include "test.h"

static void test_ttl_env(void)
{
    struct err e = {0};
    int ttl = 0;
    unsetenv(LEASE_TTL_ENV);
    CHECK_INT(lease_ttl_secs(1800, &ttl, &e), 0);
    CHECK_INT(ttl, 1800);
    setenv(LEASE_TTL_ENV, "", 1);
    CHECK_INT(lease_ttl_secs(1800, &ttl, &e), 0);
    CHECK_INT(ttl, 1800);
    setenv(LEASE_TTL_ENV, "3", 1);
    CHECK_INT(lease_ttl_secs(1800, &ttl, &e), 0);
    CHECK_INT(ttl, 3);
    setenv(LEASE_TTL_ENV, "86400", 1);
    CHECK_INT(lease_ttl_secs(1800, &ttl, &e), 0);
    CHECK_INT(ttl, 86400);
    const char *bad[] = {"2", "0", "-3", "86401", "abc", "10s", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv(LEASE_TTL_ENV, bad[i], 1);
        err_clear(&e);
        ttl = -1;
        CHECK_INT(lease_ttl_secs(1800, &ttl, &e), -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(strstr(e.msg, LEASE_TTL_ENV "=") != NULL);
        CHECK(strstr(e.msg, "3..86400") != NULL);
    }
    unsetenv(LEASE_TTL_ENV);
}

static void test_decide(void)
{
    struct err e = {0};
    int on = -1;
    CHECK_INT(locking_decide(CONFIG_LOCK_AUTO, 1, "http://x", &on, &e), 0);
    CHECK_INT(on, 1);
    CHECK_INT(locking_decide(CONFIG_LOCK_AUTO, 0, "http://x", &on, &e), 0);
    CHECK_INT(on, 0);
    CHECK_INT(locking_decide(CONFIG_LOCK_ON, 1, "http://x", &on, &e), 0);
    CHECK_INT(on, 1);
    CHECK_INT(locking_decide(CONFIG_LOCK_OFF, 1, "http://x", &on, &e), 0);
    CHECK_INT(on, 0);
    CHECK_INT(locking_decide(CONFIG_LOCK_OFF, 0, "http://x", &on, &e), 0);
    CHECK_INT(on, 0);
    on = -1;
    CHECK_INT(locking_decide(CONFIG_LOCK_ON, 0, "http://minio.local:9000", &on, &e), -1);
    CHECK_INT(on, 0);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, "http://minio.local:9000 does not honour conditional writes") != NULL);
    CHECK(strstr(e.msg, "locking: off") != NULL);

    char t[LOCKING_TEXT_MAX];
    locking_off_text(CONFIG_LOCK_AUTO, "http://minio.local:9000", t, sizeof t);
    CHECK(strstr(t, "locking is off: the S3 endpoint http://minio.local:9000 does not honour") ==
          t);
    locking_off_text(CONFIG_LOCK_OFF, "ignored", t, sizeof t);
    CHECK(strstr(t, "locking is off (locking: off)") == t);
    CHECK(strstr(t, "ignored") == NULL);
}

static void test_endpoint_name(void)
{
    struct config c;
    config_defaults(&c);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
    char b[256];
    strcpy(c.s3.region, "eu-west-1");
    CHECK_STR(locking_endpoint_name(&c, b, sizeof b), "AWS S3 (eu-west-1)");
    setenv("AWS_ENDPOINT_URL", "http://10.0.0.1:9000", 1);
    CHECK_STR(locking_endpoint_name(&c, b, sizeof b), "http://10.0.0.1:9000");
    setenv("AWS_ENDPOINT_URL_S3", "https://s3.example", 1);
    CHECK_STR(locking_endpoint_name(&c, b, sizeof b), "https://s3.example");
    /* a URL with credentials is refused by awscfg_endpoint; never printed */
    strcpy(c.s3.endpoint_url, "http://user:secret@minio:9000/base");
    CHECK(strstr(locking_endpoint_name(&c, b, sizeof b), "secret") == NULL);
    strcpy(c.s3.endpoint_url, "http://minio:9000/a@b");
    CHECK_STR(locking_endpoint_name(&c, b, sizeof b), "http://minio:9000/a@b");
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
}

static void test_lost(void)
{
    struct lease l;
    memset(&l, 0, sizeof l);
    CHECK_INT(lease_lost(&l), 0);  /* not held: nothing to lose */
    l.held = 1;
    atomic_store(&l.expires, (long long)time(NULL) + 100);
    CHECK_INT(lease_lost(&l), 0);
    atomic_store(&l.lost, 1);
    CHECK_INT(lease_lost(&l), 1);
    atomic_store(&l.lost, 0);
    atomic_store(&l.expires, (long long)time(NULL) - 1);
    CHECK_INT(lease_lost(&l), 1);  /* expired: another writer may take it */
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client whose requests all fail fast (nothing listens on port 1). */
static struct s3_client *dead_client(struct creds_provider **cp)
{
    *cp = creds_provider_static("AKIDEXAMPLE", "secret", NULL);
    struct s3_config sc = {.endpoint_url = "http://127.0.0.1:1", .path_style = 1,
                           .max_retries = 1, .retry_base_ms = 1, .retry_cap_ms = 2,
                           .timeout_ms = 2000};
    struct err e = {0};
    return s3_client_new(&sc, *cp, &e);
}

static void test_keepalive_args(void)
{
    struct creds_provider *cp;
    struct s3_client *s3 = dead_client(&cp);
    REQUIRE(s3);
    struct err e = {0};
    struct lease l;
    memset(&l, 0, sizeof l);
    strcpy(l.key, "index/k/.repart-lease");
    CHECK_INT(lease_keepalive_start(s3, "bkt", &l, 3, &e), 0);  /* not held: no thread */
    CHECK(l.keeper == NULL);
    l.held = 1;
    atomic_store(&l.expires, (long long)time(NULL) + 100);
    CHECK_INT(lease_keepalive_start(s3, "bkt", &l, 2, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK_INT(lease_keepalive_start(s3, "bkt", &l, 86401, &e), -1);
    CHECK(l.keeper == NULL);
    /* stop is immediate even with a 20 s renewal interval */
    CHECK_INT(lease_keepalive_start(s3, "bkt", &l, 60, &e), 0);
    CHECK(l.keeper != NULL);
    CHECK_INT(lease_keepalive_start(s3, "bkt", &l, 60, &e), -1);  /* one thread per lease */
    double t0 = mono();
    lease_keepalive_stop(&l);
    CHECK(mono() - t0 < 1.0);
    CHECK(l.keeper == NULL);
    lease_keepalive_stop(&l);  /* idempotent */
    CHECK_INT(lease_lost(&l), 0);
    s3_client_free(s3);
    creds_provider_free(cp);
}

static void test_keepalive_expires(void)
{
    struct creds_provider *cp;
    struct s3_client *s3 = dead_client(&cp);
    REQUIRE(s3);
    struct err e = {0};
    struct lease l;
    memset(&l, 0, sizeof l);
    strcpy(l.key, "index/k/.repart-lease");
    strcpy(l.etag, "0123456789abcdef0123456789abcdef");
    l.held = 1;
    atomic_store(&l.expires, (long long)time(NULL) + 3);
    REQUIRE(lease_keepalive_start(s3, "bkt", &l, 3, &e) == 0);
    /* every renewal fails: the thread itself marks the lease lost once the
     * expiry has passed (bounded wait, polled) */
    double t0 = mono();
    while (!atomic_load(&l.lost) && mono() - t0 < 10)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    CHECK_INT(atomic_load(&l.lost), 1);
    CHECK(mono() - t0 >= 1.5);  /* not before the expiry came near */
    CHECK_INT(lease_lost(&l), 1);
    lease_keepalive_stop(&l);
    s3_client_free(s3);
    creds_provider_free(cp);
}

int main(void)
{
    RUN(test_ttl_env);
    RUN(test_decide);
    RUN(test_endpoint_name);
    RUN(test_lost);
    RUN(test_keepalive_args);
    RUN(test_keepalive_expires);
    return TEST_EXIT();
}
