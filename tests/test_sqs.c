/* sqs: endpoint and region resolution, response parsers, retry policy,
 * argument checks and cancellation, without a server (tests/it_sqs.sh talks
 * to fauxqs and to a scripted stub). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqs.h"
#include "test.h"

static void test_region_from_host(void)
{
    const struct { const char *host, *region; } ok[] = {
        {"sqs.eu-west-1.amazonaws.com", "eu-west-1"},
        {"sqs.cn-north-1.amazonaws.com.cn", "cn-north-1"},
        {"sqs-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
        {"sqs.ap-southeast-2.api.aws", "ap-southeast-2"},
        {"vpce-0abc-def.sqs.us-east-2.vpce.amazonaws.com", "us-east-2"},
        {"queue.amazonaws.com", "us-east-1"},
        {"eu-central-1.queue.amazonaws.com", "eu-central-1"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char r[64] = "";
        CHECK_INT(sqs_region_from_host(ok[i].host, r, sizeof r), 1);
        CHECK_STR(r, ok[i].region);
    }
    const char *no[] = {"127.0.0.1", "localhost", "sqs.us-east-1.127.0.0.1",
                        "sqs.us-east-1.localhost", "example.com", "amazonaws.com",
                        "sqs.US_EAST.amazonaws.com", "a.b.queue.amazonaws.com"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        char r[64] = "";
        CHECK_INT(sqs_region_from_host(no[i], r, sizeof r), 0);
    }
}

static struct sqs_client *mk(const char *url, const char *region, const char *endpoint,
                             struct creds_provider *cp, struct err *e)
{
    struct sqs_config cfg = {0};
    cfg.queue_url = url;
    cfg.region = region;
    cfg.endpoint_url = endpoint;
    return sqs_client_new(&cfg, cp, e);
}

static void test_endpoints(void)
{
    struct creds_provider *cp = creds_provider_static("AKIDEXAMPLE", "secret", NULL);
    REQUIRE(cp);
    struct err e;
    unsetenv("AWS_ENDPOINT_URL_SQS");
    unsetenv("AWS_ENDPOINT_URL");

    struct sqs_client *c = mk("https://sqs.eu-west-1.amazonaws.com/111122223333/repart-events",
                              "us-east-1", NULL, cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "https://sqs.eu-west-1.amazonaws.com");
    CHECK_STR(sqs_client_region(c), "eu-west-1");   /* the URL's region wins */
    sqs_client_free(c);

    /* legacy host: the regional JSON endpoint */
    c = mk("https://queue.amazonaws.com/111122223333/q", NULL, NULL, cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "https://sqs.us-east-1.amazonaws.com");
    sqs_client_free(c);

    /* a local server: its scheme+host, the configured region */
    c = mk("http://127.0.0.1:4566/000000000000/q1", "ap-south-1", NULL, cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "http://127.0.0.1:4566");
    CHECK_STR(sqs_client_region(c), "ap-south-1");
    sqs_client_free(c);
    c = mk("HTTP://LocalHost:9324/queue/q1", NULL, NULL, cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "http://LocalHost:9324");
    CHECK_STR(sqs_client_region(c), "us-east-1");
    sqs_client_free(c);

    /* environment: _SQS first, then the generic one; explicit beats both */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1111", 1);
    c = mk("https://sqs.eu-west-1.amazonaws.com/1/q", NULL, NULL, cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "http://127.0.0.1:1111");
    CHECK_STR(sqs_client_region(c), "eu-west-1");
    sqs_client_free(c);
    setenv("AWS_ENDPOINT_URL_SQS", "http://[::1]:2222/", 1);
    c = mk("https://sqs.eu-west-1.amazonaws.com/1/q", NULL, NULL, cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "http://[::1]:2222");
    sqs_client_free(c);
    c = mk("https://sqs.eu-west-1.amazonaws.com/1/q", NULL, "https://vpce.example:8443", cp, &e);
    REQUIRE(c);
    CHECK_STR(sqs_client_endpoint(c), "https://vpce.example:8443");
    sqs_client_free(c);

    /* a bad endpoint names the variable it came from */
    setenv("AWS_ENDPOINT_URL_SQS", "ftp://x", 1);
    err_clear(&e);
    CHECK(mk("https://sqs.eu-west-1.amazonaws.com/1/q", NULL, NULL, cp, &e) == NULL);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, "AWS_ENDPOINT_URL_SQS") != NULL);
    /* credentials in it: refused, not printed */
    setenv("AWS_ENDPOINT_URL_SQS", "https://me:topsecretpw@vpce.example", 1);
    err_clear(&e);
    CHECK(mk("https://sqs.eu-west-1.amazonaws.com/1/q", NULL, NULL, cp, &e) == NULL);
    CHECK(strstr(e.msg, "topsecretpw") == NULL && strstr(e.msg, "user name or password"));
    unsetenv("AWS_ENDPOINT_URL_SQS");
    unsetenv("AWS_ENDPOINT_URL");

    const char *bad[] = {"", "sqs.eu-west-1.amazonaws.com/1/q", "https://", "https:///1/q",
                         "https://host", "https://host/", "https://user:pw@host/1/q",
                         "https://host:abc/1/q", "https://host/1/q?x=1", "https://ho st/1/q",
                         "ftp://host/1/q"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_clear(&e);
        c = mk(bad[i], NULL, NULL, cp, &e);
        CHECK(c == NULL);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(strstr(e.msg, "queue URL") != NULL || strstr(e.msg, "no queue URL") != NULL);
        if (c)
            sqs_client_free(c);
    }
    err_clear(&e);
    CHECK(mk("http://127.0.0.1/1/q", "Bad Region", NULL, cp, &e) == NULL);
    CHECK(strstr(e.msg, "region \"Bad Region\"") != NULL);
    creds_provider_free(cp);
}

static void test_parse_error(void)
{
    char code[64], msg[256];
    const char *j = "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"gone\"}";
    CHECK_INT(sqs_parse_error(j, strlen(j), code, sizeof code, msg, sizeof msg), 0);
    CHECK_STR(code, "QueueDoesNotExist");
    CHECK_STR(msg, "gone");
    j = "{\"__type\":\"AccessDenied\",\"Message\":\"no\"}";
    CHECK_INT(sqs_parse_error(j, strlen(j), code, sizeof code, msg, sizeof msg), 0);
    CHECK_STR(code, "AccessDenied");
    CHECK_STR(msg, "no");
    j = "<html>502 Bad Gateway</html>";
    CHECK_INT(sqs_parse_error(j, strlen(j), code, sizeof code, msg, sizeof msg), -1);
    CHECK_STR(code, "");

    CHECK(sqs_code_retryable("ThrottlingException"));
    CHECK(sqs_code_retryable("RequestThrottled"));
    CHECK(sqs_code_retryable("ServiceUnavailable"));
    CHECK(sqs_code_retryable("KmsThrottled"));
    CHECK(!sqs_code_retryable("AccessDenied"));
    CHECK(!sqs_code_retryable("QueueDoesNotExist"));
    CHECK(!sqs_code_retryable("ReceiptHandleIsInvalid"));
    CHECK(!sqs_code_retryable(""));
}

static void test_parse_batch(void)
{
    struct sqs_batch_result r;
    struct err e;
    const char *j = "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"2\"}],"
                    "\"Failed\":[{\"Id\":\"1\",\"SenderFault\":true,\"Code\":\"ReceiptHandleIsInvalid\","
                    "\"Message\":\"The input receipt handle is invalid.\"}]}";
    REQUIRE(sqs_parse_batch_result(j, strlen(j), 4, &r, &e) == 0);
    CHECK_INT(r.n, 4);
    CHECK_INT(r.n_ok, 2);
    CHECK_INT(r.n_failed, 2);
    CHECK(r.entry[0].ok && r.entry[2].ok);
    CHECK(!r.entry[1].ok && r.entry[1].sender_fault);
    CHECK_STR(r.entry[1].code, "ReceiptHandleIsInvalid");
    CHECK_STR(r.entry[1].message, "The input receipt handle is invalid.");
    /* an entry the service did not mention is not taken as done */
    CHECK(!r.entry[3].ok);
    CHECK_STR(r.entry[3].code, "NoResult");

    /* unknown or out-of-range ids are ignored, not written out of bounds */
    j = "{\"Successful\":[{\"Id\":\"7\"},{\"Id\":\"x\"},{\"Id\":\"-1\"},{\"Id\":\"0\"}]}";
    REQUIRE(sqs_parse_batch_result(j, strlen(j), 1, &r, &e) == 0);
    CHECK_INT(r.n_ok, 1);
    j = "{\"Successful\":{}}";
    CHECK_INT(sqs_parse_batch_result(j, strlen(j), 1, &r, &e), -1);
    j = "[]";
    CHECK_INT(sqs_parse_batch_result(j, strlen(j), 1, &r, &e), -1);
    CHECK_INT(sqs_parse_batch_result("{}", 2, 11, &r, &e), -1);
}

/* Calls against a closed loopback port: retried, then ERR_TRANSIENT;
 * argument checks fail before any request; a raised cancel flag stops at
 * once. */
static void test_calls_without_server(void)
{
    struct creds_provider *cp = creds_provider_static("AKIDEXAMPLE", "secret", NULL);
    REQUIRE(cp);
    unsetenv("AWS_ENDPOINT_URL_SQS");
    unsetenv("AWS_ENDPOINT_URL");
    volatile sig_atomic_t stop = 0;
    struct sqs_config cfg = {0};
    cfg.queue_url = "http://127.0.0.1:1/000000000000/q";
    cfg.max_attempts = 3;
    cfg.connect_timeout_ms = 1000;
    cfg.cancel = &stop;
    struct err e;
    struct sqs_client *c = sqs_client_new(&cfg, cp, &e);
    REQUIRE(c);

    struct sqs_queue_attrs a;
    err_clear(&e);
    CHECK_INT(sqs_get_attributes(c, &a, &e), -1);
    CHECK_INT(e.kind, ERR_TRANSIENT);
    CHECK(strstr(e.msg, "sqs GetQueueAttributes http://127.0.0.1:1/000000000000/q: ") != NULL);
    CHECK(strstr(e.msg, "(after 3 attempts)") != NULL);
    CHECK(strstr(e.msg, "secret") == NULL);
    struct sqs_stats st;
    sqs_client_stats(c, &st);
    CHECK_INT(st.requests, 3);
    CHECK_INT(st.retries, 2);

    struct sqs_receive_opts o = {11, 0, -1, 0};
    struct sqs_messages m;
    CHECK_INT(sqs_receive(c, &o, &m, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    o.max_messages = 10;
    o.wait_seconds = 21;
    CHECK_INT(sqs_receive(c, &o, &m, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(m.n == 0 && m.v == NULL);
    struct sqs_batch_result r;
    const char *h[11] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"};
    CHECK_INT(sqs_delete_batch(c, h, 11, &r, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK_INT(sqs_delete_batch(c, h, 0, &r, &e), -1);
    CHECK_INT(sqs_change_visibility(c, "a", 43201, &e), -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK_INT(sqs_send(c, "", 0, 0, NULL, 0, &e), -1);
    CHECK_INT(sqs_send(c, "a\001b", 3, 0, NULL, 0, &e), -1);
    CHECK(strstr(e.msg, "control character 0x01 at byte 1") != NULL);
    CHECK_INT(sqs_send(c, "\xff\xfe", 2, 0, NULL, 0, &e), -1);
    CHECK(strstr(e.msg, "not valid UTF-8") != NULL);
    CHECK_INT(sqs_send(c, "x", 1, 901, NULL, 0, &e), -1);
    sqs_client_stats(c, &st);
    CHECK_INT(st.requests, 3);   /* none of the bad calls went out */

    stop = 1;
    CHECK_INT(sqs_get_attributes(c, &a, &e), -1);
    CHECK_INT(e.kind, ERR_CANCELLED);
    sqs_client_stats(c, &st);
    CHECK_INT(st.requests, 3);
    sqs_client_free(c);
    creds_provider_free(cp);
}

int main(void)
{
    RUN(test_region_from_host);
    RUN(test_endpoints);
    RUN(test_parse_error);
    RUN(test_parse_batch);
    RUN(test_calls_without_server);
    return TEST_EXIT();
}
