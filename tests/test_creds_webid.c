/* Web identity without network: the STS XML parser (result, error document,
 * malformed, missing and oversized fields, a DTD), the form encoding, the STS
 * endpoint rules, and the chain's checks before any request (token file
 * missing, empty, too large; bad session name). The HTTP exchange is covered
 * by tests/it_creds_webid.sh against a local STS. */
#include "test.h"
#include "creds.h"
#include "creds_sts.h"

#include <unistd.h>

#define NS "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\""

static const char GOOD[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<AssumeRoleWithWebIdentityResponse " NS ">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>\n"
    "    <AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn>"
    "<AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>\n        FwoGZXIvYXdzEJr//////////wEaD+tok=\n      </SessionToken>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>\n"
    "      <Expiration>2024-05-01T12:34:56Z</Expiration>\n"
    "      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static int parse(const char *xml, struct creds_sts_result *c, struct creds_sts_error *se, struct err *e)
{
    err_clear(e);
    return creds_sts_parse(xml, strlen(xml), c, se, e);
}

static void test_parse_good(void)
{
    struct creds_sts_result c;
    struct creds_sts_error se;
    struct err e;
    REQUIRE(parse(GOOD, &c, &se, &e) == 0);
    CHECK_STR(c.access_key, "ASIAEXAMPLE");
    CHECK_STR(c.secret_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    CHECK_STR(c.session_token, "FwoGZXIvYXdzEJr//////////wEaD+tok=");   /* trimmed */
    CHECK_INT(c.expires_at, 1714566896LL);

    /* a namespace prefix and entities are fine */
    const char *pref =
        "<s:AssumeRoleWithWebIdentityResponse xmlns:s=\"urn:x\"><s:AssumeRoleWithWebIdentityResult>"
        "<s:Credentials><s:AccessKeyId>ASIA2</s:AccessKeyId>"
        "<s:SecretAccessKey>a&amp;b&lt;c</s:SecretAccessKey><s:SessionToken>t</s:SessionToken>"
        "<s:Expiration>2024-05-01T12:34:56.123+00:00</s:Expiration></s:Credentials>"
        "</s:AssumeRoleWithWebIdentityResult></s:AssumeRoleWithWebIdentityResponse>";
    REQUIRE(parse(pref, &c, &se, &e) == 0);
    CHECK_STR(c.access_key, "ASIA2");
    CHECK_STR(c.secret_key, "a&b<c");
    CHECK_INT(c.expires_at, 1714566896LL);
}

static void test_parse_error_document(void)
{
    struct creds_sts_result c;
    struct creds_sts_error se;
    struct err e;
    const char *doc =
        "<ErrorResponse " NS "><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        "<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>"
        "<RequestId>x</RequestId></ErrorResponse>";
    REQUIRE(parse(doc, &c, &se, &e) == 1);
    CHECK_STR(se.code, "AccessDenied");
    CHECK_STR(se.message, "Not authorized to perform sts:AssumeRoleWithWebIdentity");
    CHECK_STR(c.access_key, "");

    /* control characters in the message are flattened; a long one truncated */
    char big[2000];
    int k = snprintf(big, sizeof big, "<ErrorResponse><Error><Code>Throttling</Code><Message>a\tb");
    memset(big + k, 'm', 1000);
    snprintf(big + k + 1000, sizeof big - (size_t)k - 1000, "</Message></Error></ErrorResponse>");
    REQUIRE(parse(big, &c, &se, &e) == 1);
    CHECK_STR(se.code, "Throttling");
    CHECK_INT(strlen(se.message), sizeof se.message - 1);
    CHECK(strncmp(se.message, "a b", 3) == 0);

    /* an error document without a Code still counts as one */
    REQUIRE(parse("<ErrorResponse/>", &c, &se, &e) == 1);
    CHECK_STR(se.code, "");

    /* an oversized Code is refused */
    k = snprintf(big, sizeof big, "<ErrorResponse><Error><Code>");
    memset(big + k, 'C', 100);
    snprintf(big + k + 100, sizeof big - (size_t)k - 100, "</Code></Error></ErrorResponse>");
    CHECK(parse(big, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "Code is too long") != NULL);
}

static void test_parse_malformed(void)
{
    struct creds_sts_result c;
    struct creds_sts_error se;
    struct err e;
    /* truncated after the secret: the message must not quote it */
    const char *trunc = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                        "<Credentials><SecretAccessKey>TopSecretValue123";
    CHECK(parse(trunc, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "not well-formed") != NULL);
    CHECK(strstr(e.msg, "TopSecretValue123") == NULL);
    CHECK_STR(c.secret_key, "");   /* wiped */

    CHECK(parse("", &c, &se, &e) == -1);
    CHECK(parse("not xml at all", &c, &se, &e) == -1);
    CHECK(parse("{\"AccessKeyId\": \"x\"}", &c, &se, &e) == -1);
    CHECK(parse("<Other/>", &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "unexpected root element") != NULL);

    /* a DTD (entity expansion) is refused */
    const char *dtd = "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><ErrorResponse>&a;</ErrorResponse>";
    CHECK(parse(dtd, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "DTD") != NULL);

    /* a field twice */
    const char *twice =
        "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
        "<AccessKeyId>A</AccessKeyId><AccessKeyId>B</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
        "<SessionToken>t</SessionToken><Expiration>2024-05-01T12:34:56Z</Expiration>"
        "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    CHECK(parse(twice, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "twice") != NULL);

    /* deep nesting */
    char deep[400] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, i == 0 ? "<ErrorResponse>" : "<a>");
    CHECK(parse(deep, &c, &se, &e) == -1);
}

/* GOOD with one field's element replaced. */
static void without(const char *elem, const char *replacement, char *out, size_t n)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", elem);
    snprintf(close, sizeof close, "</%s>", elem);
    const char *a = strstr(GOOD, open), *b = strstr(GOOD, close);
    snprintf(out, n, "%.*s%s%s", (int)(a - GOOD), GOOD, replacement, b + strlen(close));
}

static void test_parse_missing_fields(void)
{
    struct creds_sts_result c;
    struct creds_sts_error se;
    struct err e;
    char doc[4096];
    const char *fields[] = {"AccessKeyId", "SecretAccessKey", "SessionToken"};
    for (int i = 0; i < 3; i++) {
        without(fields[i], "", doc, sizeof doc);
        CHECK(parse(doc, &c, &se, &e) == -1);
        CHECK(strstr(e.msg, "lacks AccessKeyId, SecretAccessKey or SessionToken") != NULL);
        CHECK_STR(c.access_key, "");
        char empty[64];
        snprintf(empty, sizeof empty, "<%s></%s>", fields[i], fields[i]);
        without(fields[i], empty, doc, sizeof doc);
        CHECK(parse(doc, &c, &se, &e) == -1);
    }
    without("Expiration", "", doc, sizeof doc);
    CHECK(parse(doc, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "lacks Expiration") != NULL);
    without("Expiration", "<Expiration>tomorrow</Expiration>", doc, sizeof doc);
    CHECK(parse(doc, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "ISO 8601") != NULL);

    /* fields in the wrong place do not count */
    const char *misplaced =
        "<AssumeRoleWithWebIdentityResponse><Credentials><AccessKeyId>A</AccessKeyId>"
        "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
        "<Expiration>2024-05-01T12:34:56Z</Expiration></Credentials>"
        "</AssumeRoleWithWebIdentityResponse>";
    CHECK(parse(misplaced, &c, &se, &e) == -1);
}

static void test_parse_oversize(void)
{
    struct creds_sts_result c;
    struct creds_sts_error se;
    struct err e;
    size_t n = sizeof c.session_token + 2000;
    char *tok = malloc(n + 1);
    REQUIRE(tok);
    memset(tok, 'T', n);
    tok[n] = '\0';
    char *doc = malloc(n + 4096);
    REQUIRE(doc);
    /* a session token longer than the result holds */
    char *tmp = malloc(n + 4096);
    REQUIRE(tmp);
    snprintf(tmp, n + 4096, "<SessionToken>%s</SessionToken>", tok);
    without("SessionToken", tmp, doc, n + 4096);
    CHECK(parse(doc, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "too long") != NULL);
    CHECK(strstr(e.msg, "TTTT") == NULL);

    /* the largest token that fits is accepted */
    tok[sizeof c.session_token - 1] = '\0';
    snprintf(tmp, n + 4096, "<SessionToken>%s</SessionToken>", tok);
    without("SessionToken", tmp, doc, n + 4096);
    CHECK(parse(doc, &c, &se, &e) == 0);
    CHECK_INT(strlen(c.session_token), sizeof c.session_token - 1);

    /* a long element that does not matter is fine */
    tok[5000] = '\0';
    snprintf(tmp, n + 4096, "<Audience>%s</Audience>", tok);
    without("Audience", tmp, doc, n + 4096);
    CHECK(parse(doc, &c, &se, &e) == 0);

    /* a document over the limit is refused before parsing */
    size_t big = CREDS_STS_MAX_XML + 1;
    char *huge = malloc(big);
    REQUIRE(huge);
    memset(huge, ' ', big);
    memcpy(huge, GOOD, strlen(GOOD));
    err_clear(&e);
    CHECK(creds_sts_parse(huge, big, &c, &se, &e) == -1);
    CHECK(strstr(e.msg, "larger than") != NULL);
    free(huge);
    free(tmp);
    free(doc);
    free(tok);
}

static void test_form_append(void)
{
    char out[64] = "";
    size_t n = creds_form_append(out, sizeof out, 0, "aZ09-._~ +/=&%\xc3\xa9", 16);
    CHECK_STR(out, "aZ09-._~%20%2B%2F%3D%26%25%C3%A9");
    CHECK_INT(n, strlen(out));
    n = creds_form_append(out, sizeof out, n, "x", 1);
    CHECK_STR(out, "aZ09-._~%20%2B%2F%3D%26%25%C3%A9x");
    /* does not fit: refused, never written past cap */
    char small[8] = "";
    CHECK(creds_form_append(small, sizeof small, 0, "abcdefgh", 8) == (size_t)-1);
    CHECK(creds_form_append(small, sizeof small, 0, "abcdef", 6) == 6);
    CHECK(creds_form_append(small, sizeof small, 0, "abcde/", 6) == (size_t)-1);
}

static const char *const VARS[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_REGION",
    "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
};

static char tmpdir[256];

static void reset_env(void)
{
    for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
        unsetenv(VARS[i]);
    char home[300];
    snprintf(home, sizeof home, "%s/emptyhome", tmpdir);
    setenv("HOME", home, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void test_sts_url(void)
{
    char url[256];
    struct err e;
    reset_env();
    REQUIRE(creds_sts_url(url, sizeof url, &e) == 0);
    CHECK_STR(url, "https://sts.amazonaws.com/");
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    REQUIRE(creds_sts_url(url, sizeof url, &e) == 0);
    CHECK_STR(url, "https://sts.eu-west-1.amazonaws.com/");
    setenv("AWS_REGION", "cn-north-1", 1);   /* wins over AWS_DEFAULT_REGION */
    REQUIRE(creds_sts_url(url, sizeof url, &e) == 0);
    CHECK_STR(url, "https://sts.cn-north-1.amazonaws.com.cn/");
    setenv("AWS_REGION", "eu-west-1/../x", 1);
    CHECK(creds_sts_url(url, sizeof url, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/any", 1);
    REQUIRE(creds_sts_url(url, sizeof url, &e) == 0);
    CHECK_STR(url, "http://127.0.0.1:9/any");
    setenv("AWS_ENDPOINT_URL_STS", "https://sts.example/", 1);
    REQUIRE(creds_sts_url(url, sizeof url, &e) == 0);
    CHECK_STR(url, "https://sts.example/");
    setenv("AWS_ENDPOINT_URL_STS", "ftp://x/", 1);
    CHECK(creds_sts_url(url, sizeof url, &e) == -1);
    CHECK(strstr(e.msg, "AWS_ENDPOINT_URL_STS") != NULL);
    reset_env();
}

static int resolve(struct creds *c, struct err *e)
{
    struct creds_provider *p = creds_provider_new();
    if (!p)
        return -2;
    err_clear(e);
    int rc = creds_provider_get(p, c, e);
    creds_provider_free(p);
    return rc;
}

/* Failures before any request: STS points at a closed port so that a
 * request, if one were made, would fail differently. */
static void test_chain_checks(void)
{
    struct creds c;
    struct err e;
    char tok[300], big[300];
    snprintf(tok, sizeof tok, "%s/token", tmpdir);
    snprintf(big, sizeof big, "%s/big", tmpdir);
    reset_env();
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1/", 1);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::1:role/r", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);

    unlink(tok);
    CHECK(resolve(&c, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, tok) != NULL);

    FILE *f = fopen(tok, "w");
    REQUIRE(f);
    fputs(" \n", f);
    fclose(f);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "empty") != NULL);

    f = fopen(big, "w");
    REQUIRE(f);
    for (int i = 0; i < 20000; i++)
        fputc('J', f);
    fclose(f);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", big, 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "larger than") != NULL);
    CHECK(strstr(e.msg, "JJJJ") == NULL);

    f = fopen(tok, "w");
    REQUIRE(f);
    fputs("tokenTOKENtoken12345", f);
    fclose(f);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tok, 1);
    setenv("AWS_ROLE_SESSION_NAME", "bad name!", 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "AWS_ROLE_SESSION_NAME") != NULL);
    unsetenv("AWS_ROLE_SESSION_NAME");

    /* a transport failure names the role, the file and the endpoint, not the token */
    CHECK(resolve(&c, &e) == -1);
    fprintf(stderr, "  (message: %s)\n", e.msg);
    CHECK_INT(e.kind, ERR_TRANSIENT);
    CHECK(strstr(e.msg, "arn:aws:iam::1:role/r") != NULL);
    CHECK(strstr(e.msg, "http://127.0.0.1:1/") != NULL);
    CHECK(strstr(e.msg, tok) != NULL);
    CHECK(strstr(e.msg, "tokenTOKEN") == NULL);

    /* environment keys win without reading the token file */
    unlink(tok);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
    REQUIRE(resolve(&c, &e) == 0);
    CHECK_STR(c.source, "env");
    unlink(big);
    reset_env();
}

/* A profile with role_arn + web_identity_token_file is a web-identity
 * profile; with source_profile or credential_source it stays unsupported. */
static void test_profile_webid(void)
{
    struct creds c;
    struct err e;
    char cfg[300], tok[300];
    snprintf(cfg, sizeof cfg, "%s/config", tmpdir);
    snprintf(tok, sizeof tok, "%s/profile-token-missing", tmpdir);
    reset_env();
    setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1/", 1);
    setenv("AWS_CONFIG_FILE", cfg, 1);
    setenv("AWS_PROFILE", "irsa", 1);
    FILE *f = fopen(cfg, "w");
    REQUIRE(f);
    fprintf(f, "[profile irsa]\nrole_arn = arn:aws:iam::1:role/p\nweb_identity_token_file = %s\n"
               "[profile chained]\nrole_arn = arn:aws:iam::1:role/p\nsource_profile = irsa\n"
               "web_identity_token_file = %s\n"
               "[profile badname]\nrole_arn = arn:aws:iam::1:role/p\nweb_identity_token_file = %s\n"
               "role_session_name = no spaces allowed\n", tok, tok, tok);
    fclose(f);
    CHECK(resolve(&c, &e) == -1);
    CHECK_INT(e.kind, ERR_USAGE);
    CHECK(strstr(e.msg, tok) != NULL);          /* it went for the token file */
    CHECK(strstr(e.msg, "web identity") != NULL);

    /* role_arn + source_profile is an assume-role profile (issue 13): the
     * source's web identity is tried first (the closed STS port fails it) */
    setenv("AWS_PROFILE", "chained", 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "profile \"chained\"") != NULL);
    CHECK(strstr(e.msg, "web identity") != NULL);

    setenv("AWS_PROFILE", "badname", 1);
    CHECK(resolve(&c, &e) == -1);
    CHECK(strstr(e.msg, "role_session_name") != NULL);
    unlink(cfg);
    reset_env();
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/test_creds_webid.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_parse_good);
    RUN(test_parse_error_document);
    RUN(test_parse_malformed);
    RUN(test_parse_missing_fields);
    RUN(test_parse_oversize);
    RUN(test_form_append);
    RUN(test_sts_url);
    RUN(test_chain_checks);
    RUN(test_profile_webid);
    rmdir(tmpdir);
    return TEST_EXIT();
}
