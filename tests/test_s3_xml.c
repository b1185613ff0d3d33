/* Unit tests of the S3 XML parsing (ListObjectsV2 pages, Error documents,
 * multipart results) and of the CompleteMultipartUpload body.
 * The sample documents follow the examples in the Amazon S3 API reference
 * (ListObjectsV2, InitiateMultipartUpload, CompleteMultipartUpload, Error
 * responses); expected values are read off those documents by hand. */
#include "test.h"

#include "s3_xml.h"

#define S(lit) lit, sizeof(lit) - 1

static const char PAGE_DOC[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "    <Name>bucket</Name>\n"
    "    <Prefix/>\n"
    "    <KeyCount>2</KeyCount>\n"
    "    <MaxKeys>1000</MaxKeys>\n"
    "    <IsTruncated>false</IsTruncated>\n"
    "    <Contents>\n"
    "        <Key>my-image.jpg</Key>\n"
    "        <LastModified>2009-10-12T17:50:30.000Z</LastModified>\n"
    "        <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>\n"
    "        <Size>434234</Size>\n"
    "        <StorageClass>STANDARD</StorageClass>\n"
    "    </Contents>\n"
    "    <Contents>\n"
    "        <Key>raw/startYear=2023/startMonth=1/a&amp;b.avro</Key>\n"
    "        <LastModified>2026-11-22T04:06:37Z</LastModified>\n"
    "        <ETag>\"5d41402abc4b2a76b9719d911017c592-3\"</ETag>\n"
    "        <Size>0</Size>\n"
    "    </Contents>\n"
    "</ListBucketResult>\n";

static void test_list_page(void)
{
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    REQUIRE(s3_xml_parse_list(S(PAGE_DOC), &l, &pg, &e) == 0);
    CHECK_INT(l.n, 2);
    CHECK_INT(pg.key_count, 2);
    CHECK_INT(pg.is_truncated, 0);
    CHECK(pg.next_token == NULL);
    CHECK_INT(pg.encoding_url, 0);
    if (l.n == 2) {
        CHECK_STR(l.items[0].key, "my-image.jpg");
        CHECK_INT(l.items[0].size, 434234);
        CHECK_STR(l.items[0].etag, "fba9dede5f27731c9771645a39863328");
        CHECK_INT(l.items[0].last_modified, 1255369830LL);
        CHECK_STR(l.items[1].key, "raw/startYear=2023/startMonth=1/a&b.avro");
        CHECK_INT(l.items[1].size, 0);
        CHECK_STR(l.items[1].etag, "5d41402abc4b2a76b9719d911017c592-3");
        CHECK_INT(l.items[1].last_modified, 1795320397LL);
    }
    s3_list_page_free(&pg);
    s3_object_list_free(&l);
}

static const char TRUNC_DOC[] =
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>p/</Prefix>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<KeyCount>1</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/happyface.jpg</Key><LastModified>2014-11-21T19:40:05.000Z</LastModified>"
    "<ETag>\"70ee1738b6b21e2c8a43f3a5ab0eee71\"</ETag><Size>11</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "</ListBucketResult>";

static void test_list_continuation_appends(void)
{
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    REQUIRE(s3_xml_parse_list(S(PAGE_DOC), &l, &pg, &e) == 0);
    s3_list_page_free(&pg);
    REQUIRE(s3_xml_parse_list(S(TRUNC_DOC), &l, &pg, &e) == 0);
    CHECK_INT(l.n, 3);
    CHECK_INT(pg.is_truncated, 1);
    CHECK_STR(pg.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    if (l.n == 3) {
        CHECK_STR(l.items[0].key, "my-image.jpg");
        CHECK_STR(l.items[2].key, "p/happyface.jpg");
        CHECK_INT(l.items[2].size, 11);
    }
    s3_list_page_free(&pg);
    s3_object_list_free(&l);
    CHECK(l.items == NULL && l.n == 0);
}

static void test_list_encoding_url(void)
{
    /* EncodingType after the Contents: decoding must not depend on order. */
    static const char doc[] =
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<Contents><Key>a%20b%2Bc+d%25e%3D%E2%82%AC</Key><Size>5</Size></Contents>"
        "<Contents><Key>x/y%2Fz</Key><Size>1</Size></Contents>"
        "<CommonPrefixes><Prefix>q%3D1/</Prefix></CommonPrefixes>"
        "<EncodingType>url</EncodingType></ListBucketResult>";
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    REQUIRE(s3_xml_parse_list(S(doc), &l, &pg, &e) == 0);
    CHECK_INT(pg.encoding_url, 1);
    REQUIRE(l.n == 2);
    CHECK_STR(l.items[0].key, "a b+c d%e=\xE2\x82\xAC");
    CHECK_STR(l.items[1].key, "x/y/z");
    CHECK_INT(l.items[0].etag[0], 0);
    REQUIRE(pg.n_prefixes == 1);
    CHECK_STR(pg.prefixes[0], "q=1/");
    s3_list_page_free(&pg);
    s3_object_list_free(&l);
}

static void test_list_plain_keys_kept(void)
{
    /* Without EncodingType, '+' and '%' are literal key characters. */
    static const char doc[] =
        "<ListBucketResult><IsTruncated>false</IsTruncated>"
        "<Contents><Key>a+b%20c \xE2\x82\xAC</Key><Size>5</Size></Contents>"
        "</ListBucketResult>";
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    REQUIRE(s3_xml_parse_list(S(doc), &l, &pg, &e) == 0);
    REQUIRE(l.n == 1);
    CHECK_STR(l.items[0].key, "a+b%20c \xE2\x82\xAC");
    s3_list_page_free(&pg);
    s3_object_list_free(&l);
}

static void test_list_empty(void)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
        "<Prefix>none/</Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
        "<IsTruncated>false</IsTruncated></ListBucketResult>";
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    REQUIRE(s3_xml_parse_list(S(doc), &l, &pg, &e) == 0);
    CHECK_INT(l.n, 0);
    CHECK_INT(pg.is_truncated, 0);
    s3_list_page_free(&pg);
}

/* Each bad document must fail with ERR_DATA and leave the list unchanged. */
static void expect_bad_list(const char *doc, size_t len, const char *why_part, int line)
{
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    /* a list that already holds one item */
    REQUIRE(s3_xml_parse_list(S(TRUNC_DOC), &l, &pg, &e) == 0);
    s3_list_page_free(&pg);
    int rc = s3_xml_parse_list(doc, len, &l, &pg, &e);
    if (rc != -1 || e.kind != ERR_DATA || l.n != 1 || pg.next_token || pg.n_prefixes ||
        (why_part && !strstr(e.msg, why_part))) {
        fprintf(stderr, "line %d: rc=%d kind=%d n=%zu msg=\"%s\"\n", line, rc, e.kind, l.n,
                e.msg);
        test_failures++;
    }
    s3_list_page_free(&pg);
    s3_object_list_free(&l);
}
#define BAD(lit, why) expect_bad_list(lit, sizeof(lit) - 1, why, __LINE__)

static void test_list_malformed(void)
{
    BAD("", "malformed");
    BAD("not xml at all", "malformed");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents>", "malformed");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Content></ListBucketResult>",
        "malformed");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>x",
        "malformed");
    BAD("<Other/>", "not a ListBucketResult");
    BAD("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "without a NextContinuationToken");
    BAD("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>", "IsTruncated");
    BAD("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "without Key");
    BAD("<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
        "without Key or Size");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
        "Size");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999</Size></Contents>"
        "</ListBucketResult>", "Size");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>1</Size><LastModified>yesterday"
        "</LastModified></Contents></ListBucketResult>", "LastModified");
    BAD("<ListBucketResult><Contents><Key></Key><Size>1</Size></Contents></ListBucketResult>",
        "Key");
    BAD("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%2</Key><Size>1</Size>"
        "</Contents></ListBucketResult>", "bad escape");
    BAD("<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>a%00b</Key><Size>1"
        "</Size></Contents></ListBucketResult>", "NUL");
    BAD("<ListBucketResult><Contents><Key>a&#0;</Key><Size>1</Size></Contents></ListBucketResult>",
        "malformed");
    BAD("<ListBucketResult><EncodingType>gzip</EncodingType></ListBucketResult>", "EncodingType");
    BAD("<ListBucketResult><Contents><Key>a</Key><Key>b</Key><Size>1</Size></Contents>"
        "</ListBucketResult>", "two Keys");
    BAD("<ListBucketResult><Contents><Key>a</Key><Size>1</Size><ETag>"
        "\"0123456789012345678901234567890123456789012345678901234567890123456789012345678901\""
        "</ETag></Contents></ListBucketResult>", "ETag");
    /* entity expansion: any DTD is refused */
    BAD("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
        "<ListBucketResult><Contents><Key>&lol2;</Key><Size>1</Size></Contents>"
        "</ListBucketResult>", "DTD");
    /* external entity */
    BAD("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><ListBucketResult>"
        "<Contents><Key>&e;</Key><Size>1</Size></Contents></ListBucketResult>", "DTD");
    /* an Error document in place of a listing names the S3 code */
    BAD("<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        "AccessDenied");

    /* nesting deeper than the parser's bound */
    char deep[2048] = "<ListBucketResult>";
    for (int i = 0; i < 40; i++)
        strcat(deep, "<a>");
    for (int i = 0; i < 40; i++)
        strcat(deep, "</a>");
    strcat(deep, "</ListBucketResult>");
    expect_bad_list(deep, strlen(deep), "nested", __LINE__);

    /* a key longer than 1024 bytes once decoded */
    char *big = malloc(4000);
    REQUIRE(big);
    strcpy(big, "<ListBucketResult><Contents><Key>");
    size_t n = strlen(big);
    memset(big + n, 'k', 1025);
    big[n + 1025] = '\0';
    strcat(big, "</Key><Size>1</Size></Contents></ListBucketResult>");
    expect_bad_list(big, strlen(big), "longer than 1024", __LINE__);
    free(big);

    /* a body over the size cap is refused before parsing */
    expect_bad_list(PAGE_DOC, (size_t)S3_XML_MAX_BYTES + 1, "limit", __LINE__);

    /* an over-long continuation token */
    size_t tl = S3_TOKEN_MAX + 100;
    char *tok = malloc(tl + 200);
    REQUIRE(tok);
    strcpy(tok, "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>");
    n = strlen(tok);
    memset(tok + n, 'T', tl);
    tok[n + tl] = '\0';
    strcat(tok, "</NextContinuationToken></ListBucketResult>");
    expect_bad_list(tok, strlen(tok), "NextContinuationToken", __LINE__);
    free(tok);
}

static void test_list_1000_keys_at_max_length(void)
{
    /* a full page of maximal url-encoded keys (3 x 1024 bytes each) parses */
    size_t cap = 1000 * (3 * 1024 + 100) + 200;
    char *doc = malloc(cap);
    REQUIRE(doc);
    size_t n = (size_t)sprintf(doc, "<ListBucketResult><EncodingType>url</EncodingType>"
                                    "<IsTruncated>false</IsTruncated>");
    for (int i = 0; i < 1000; i++) {
        n += (size_t)sprintf(doc + n, "<Contents><Key>");
        n += (size_t)sprintf(doc + n, "%04d", i);
        for (int j = 4; j < 1024; j++) {
            memcpy(doc + n, "%C3", 3);
            n += 3;
            j++;  /* two bytes per %C3%A9 pair */
            memcpy(doc + n, "%A9", 3);
            n += 3;
        }
        n += (size_t)sprintf(doc + n, "</Key><Size>%d</Size></Contents>", i);
    }
    n += (size_t)sprintf(doc + n, "</ListBucketResult>");
    REQUIRE(n < cap);
    struct s3_object_list l = {0};
    struct s3_list_page pg;
    struct err e = {0};
    int rc = s3_xml_parse_list(doc, n, &l, &pg, &e);
    if (rc != 0)
        fprintf(stderr, "  %s\n", e.msg);
    CHECK_INT(rc, 0);
    CHECK_INT(l.n, 1000);
    if (l.n == 1000) {
        CHECK_INT(strlen(l.items[999].key), 1024);
        CHECK(memcmp(l.items[999].key, "0999\xC3\xA9", 6) == 0);
        CHECK_INT(l.items[999].size, 999);
    }
    s3_list_page_free(&pg);
    s3_object_list_free(&l);
    free(doc);
}

static void test_error_doc(void)
{
    static const char sig[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
        "does not match the signature you provided. Check your key and signing method.</Message>"
        "<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId>"
        "<StringToSign>AWS4-HMAC-SHA256\n20150830T123600Z</StringToSign>"
        "<SignatureProvided>deadbeef</SignatureProvided>"
        "<RequestId>4442587FB7D0A2F9</RequestId></Error>";
    struct s3_xml_error x;
    CHECK_INT(s3_xml_parse_error(S(sig), &x), 1);
    CHECK_STR(x.code, "SignatureDoesNotMatch");
    CHECK(strncmp(x.message, "The request signature we calculated", 35) == 0);
    CHECK_STR(x.request_id, "4442587FB7D0A2F9");
    CHECK(!strstr(x.message, "deadbeef") && !strstr(x.message, "AKID"));

    static const char nokey[] =
        "<Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist\n"
        "</Message><Resource>/mybucket/myfoto.jpg</Resource></Error>";
    CHECK_INT(s3_xml_parse_error(S(nokey), &x), 1);
    CHECK_STR(x.code, "NoSuchKey");
    /* control characters never reach a message */
    CHECK(strchr(x.message, '\n') == NULL);

    CHECK_INT(s3_xml_parse_error(S(PAGE_DOC), &x), 0);
    CHECK_INT(x.code[0], 0);
    CHECK_INT(s3_xml_parse_error(S("{\"statusCode\":500}"), &x), 0);
    CHECK_INT(s3_xml_parse_error(S("<Error><Code>Trunc"), &x), 0);
    CHECK_INT(s3_xml_parse_error(NULL, 0, &x), 0);
    CHECK_INT(s3_xml_parse_error(S("<Error><Message>no code</Message></Error>"), &x), 0);

    /* a very long message is truncated, not overflowed */
    char longmsg[3000];
    strcpy(longmsg, "<Error><Code>SlowDown</Code><Message>");
    size_t n = strlen(longmsg);
    memset(longmsg + n, 'm', 2000);
    longmsg[n + 2000] = '\0';
    strcat(longmsg, "</Message></Error>");
    CHECK_INT(s3_xml_parse_error(longmsg, strlen(longmsg), &x), 1);
    CHECK_STR(x.code, "SlowDown");
    CHECK_INT(strlen(x.message), sizeof x.message - 1);
}

static void test_multipart_docs(void)
{
    static const char init[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Bucket>example-bucket</Bucket><Key>example-object</Key>"
        "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
        "</InitiateMultipartUploadResult>";
    struct err e = {0};
    char *id = NULL;
    CHECK_INT(s3_xml_parse_initiate(S(init), &id, &e), 0);
    CHECK_STR(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    free(id);
    id = NULL;
    CHECK_INT(s3_xml_parse_initiate(S("<InitiateMultipartUploadResult><Bucket>b</Bucket>"
                                      "</InitiateMultipartUploadResult>"), &id, &e), -1);
    CHECK(id == NULL);
    CHECK(strstr(e.msg, "UploadId") != NULL);
    CHECK_INT(s3_xml_parse_initiate(S("<Error><Code>AccessDenied</Code></Error>"), &id, &e), -1);
    CHECK(strstr(e.msg, "AccessDenied") != NULL);
    CHECK_INT(s3_xml_parse_initiate(S("<InitiateMultipartUploadResult><UploadId>x"), &id, &e), -1);
    CHECK(id == NULL);

    static const char done[] =
        "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Location>http://Example-Bucket.s3.us-east-1.amazonaws.com/Example-Object</Location>"
        "<Bucket>Example-Bucket</Bucket><Key>Example-Object</Key>"
        "<ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag></CompleteMultipartUploadResult>";
    char etag[80];
    struct s3_xml_error xe;
    CHECK_INT(s3_xml_parse_complete(S(done), etag, &xe, &e), 0);
    CHECK_STR(etag, "3858f62230ac3c915f300c664312c11f-9");

    /* 200 OK with an Error body (S3 documents this for CompleteMultipartUpload) */
    static const char fail[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error><Code>InternalError</Code>"
        "<Message>We encountered an internal error. Please try again.</Message>"
        "<RequestId>656c76696e6727732072657175657374</RequestId></Error>";
    CHECK_INT(s3_xml_parse_complete(S(fail), etag, &xe, &e), 1);
    CHECK_STR(xe.code, "InternalError");
    CHECK_INT(s3_xml_parse_complete(S("<Other/>"), etag, &xe, &e), -1);
    CHECK_INT(s3_xml_parse_complete(S(""), etag, &xe, &e), -1);
}

static void test_build_complete(void)
{
    struct s3_part parts[2] = {{1, "a54357aff0632cce46d942af68356b38"},
                               {2, "0c78aef83f66abc1fa1e8477f296d394"}};
    size_t len = 0;
    char *b = s3_xml_build_complete(parts, 2, &len);
    REQUIRE(b);
    CHECK_STR(b, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                 "<Part><PartNumber>1</PartNumber><ETag>\"a54357aff0632cce46d942af68356b38\"</ETag></Part>"
                 "<Part><PartNumber>2</PartNumber><ETag>\"0c78aef83f66abc1fa1e8477f296d394\"</ETag></Part>"
                 "</CompleteMultipartUpload>");
    CHECK_INT(len, strlen(b));
    free(b);

    struct s3_part odd = {7, "a<b&\"c"};
    b = s3_xml_build_complete(&odd, 1, &len);
    REQUIRE(b);
    CHECK(strstr(b, "<ETag>\"a&lt;b&amp;&quot;c\"</ETag>") != NULL);
    free(b);

    struct s3_part bad = {0, "x"};
    CHECK(s3_xml_build_complete(&bad, 1, &len) == NULL);
    CHECK(s3_xml_build_complete(parts, 0, &len) == NULL);
}

static void test_helpers(void)
{

    char et[80];
    CHECK_INT(s3_etag_copy(et, S("\"abc-2\"")), 0);
    CHECK_STR(et, "abc-2");
    CHECK_INT(s3_etag_copy(et, S("W/\"x\"")), 0);
    CHECK_STR(et, "W/\"x\"");
    CHECK_INT(s3_etag_copy(et, S("abc")), 0);
    CHECK_STR(et, "abc");
}


static void test_parse_uploads(void)
{
    const char *doc =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Bucket>out</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
        "<NextKeyMarker>c/d.avro</NextKeyMarker><NextUploadIdMarker>id2</NextUploadIdMarker>"
        "<MaxUploads>1000</MaxUploads><IsTruncated>true</IsTruncated>"
        "<Upload><Key>c/a.avro</Key><UploadId>id1</UploadId>"
        "<Initiated>2023-01-05T10:00:00.000Z</Initiated></Upload>"
        "<Upload><Key>c/d.avro</Key><UploadId>id2</UploadId></Upload>"
        "</ListMultipartUploadsResult>";
    struct s3_upload_list l = {0};
    int tr;
    char *nk, *ni;
    struct err e = {0};
    REQUIRE(s3_xml_parse_uploads(doc, strlen(doc), &l, &tr, &nk, &ni, &e) == 0);
    CHECK_INT(l.n, 2);
    CHECK_STR(l.items[0].key, "c/a.avro");
    CHECK_STR(l.items[0].upload_id, "id1");
    CHECK_INT(l.items[0].initiated, 1672912800LL);
    CHECK_INT(l.items[1].initiated, -1);
    CHECK_INT(tr, 1);
    CHECK_STR(nk, "c/d.avro");
    CHECK_STR(ni, "id2");
    free(nk);
    free(ni);
    /* bad documents leave the list as it was */
    static const char *bad[] = {
        "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
        "<ListMultipartUploadsResult><Upload><Key>x</Key></Upload></ListMultipartUploadsResult>",
        "<ListMultipartUploadsResult><Upload><UploadId>i</UploadId>",
        "<Error><Code>NotImplemented</Code><Message>no</Message></Error>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(s3_xml_parse_uploads(bad[i], strlen(bad[i]), &l, &tr, &nk, &ni, &e) != 0);
        CHECK_INT(l.n, 2);
        CHECK_INT(e.kind, ERR_DATA);
    }
    s3_upload_list_free(&l);
}

int main(void)
{
    RUN(test_parse_uploads);
    RUN(test_list_page);
    RUN(test_list_continuation_appends);
    RUN(test_list_encoding_url);
    RUN(test_list_plain_keys_kept);
    RUN(test_list_empty);
    RUN(test_list_malformed);
    RUN(test_list_1000_keys_at_max_length);
    RUN(test_error_doc);
    RUN(test_multipart_docs);
    RUN(test_build_complete);
    RUN(test_helpers);
    return TEST_EXIT();
}
