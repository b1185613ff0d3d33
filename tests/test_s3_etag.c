/* s3_etag_check: single-part ETags are the MD5 of the bytes, unless the
 * object is SSE-KMS/SSE-C encrypted; multipart ETags say nothing. */
#include <stdio.h>

#include "s3.h"
#include "test.h"

static void test_etag_check(void)
{
    /* MD5("hello") = 5d41402abc4b2a76b9719d911017c592 */
    struct s3_get_info plain = {0}, kms = {0};
    kms.etag_not_md5 = 1;
    CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c592", NULL, "hello", 5), 1);
    CHECK_INT(s3_etag_check("5D41402ABC4B2A76B9719D911017C592", &plain, "hello", 5), 1);
    CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c592", &plain, "hellp", 5), 0);
    CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c592", &plain, "hell", 4), 0);
    /* MD5 of nothing */
    CHECK_INT(s3_etag_check("d41d8cd98f00b204e9800998ecf8427e", &plain, "", 0), 1);
    /* says nothing */
    CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c592", &kms, "hellp", 5), -1);
    CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c592-2", &plain, "hellp", 5), -1);
    CHECK_INT(s3_etag_check("", &plain, "hello", 5), -1);
    CHECK_INT(s3_etag_check("5d41402abc4b2a76b9719d911017c59z", &plain, "hello", 5), -1);
}

/* The ETag S3 gives a multipart object (expected values computed with
 * Python's hashlib: md5(md5(b"hello").digest() + md5(b"world").digest())). */
static void test_multipart_etag(void)
{
    struct s3_part p[2] = {{1, "5d41402abc4b2a76b9719d911017c592"},
                           {2, "7D793037A0760186574B0282F2F435E7"}};
    char out[80];
    s3_multipart_etag(p, 2, out);
    CHECK_STR(out, "065947336a2f2a95ba8899f3675c3be6-2");
    s3_multipart_etag(p, 1, out);
    CHECK_STR(out, "62109206880d38a4010a98e11243924a-1");
    /* a part whose ETag is not an MD5 (SSE-KMS): nothing to compare with */
    snprintf(p[1].etag, sizeof p[1].etag, "%s", "7d793037a0760186574b0282f2f435e7-3");
    s3_multipart_etag(p, 2, out);
    CHECK_STR(out, "");
    CHECK_INT(s3_etag_is_md5("5d41402abc4b2a76b9719d911017c592"), 1);
    CHECK_INT(s3_etag_is_md5("5D41402ABC4B2A76B9719D911017C592"), 1);
    CHECK_INT(s3_etag_is_md5("5d41402abc4b2a76b9719d911017c59"), 0);
    CHECK_INT(s3_etag_is_md5("5d41402abc4b2a76b9719d911017c592-1"), 0);
    CHECK_INT(s3_etag_is_md5("5d41402abc4b2a76b9719d911017c59g"), 0);
    CHECK_INT(s3_etag_is_md5(""), 0);
}

int main(void)
{
    RUN(test_etag_check);
    RUN(test_multipart_etag);
    return TEST_EXIT();
}
