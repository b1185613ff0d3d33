/* s3_etag_check: single-part ETags are the MD5 of the bytes, unless the
 * object is SSE-KMS/SSE-C encrypted; multipart ETags say nothing. */
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

int main(void)
{
    RUN(test_etag_check);
    return TEST_EXIT();
}
