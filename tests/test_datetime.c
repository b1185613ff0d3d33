/* datetime: ISO 8601 and HTTP dates to unix seconds (expected values from
 * `date -u -d ... +%s`). */
#include <stdio.h>
#include <string.h>

#include "datetime.h"
#include "test.h"

static void test_iso8601(void)
{
    long long t = 0;
    /* without a zone: refused, except where S3's XML is read (UTC) */
    t = 7;
    CHECK_INT(datetime_parse_iso8601("2015-08-30T12:36:00", &t), -1);
    CHECK_INT(t, 7);
    CHECK_INT(datetime_parse_iso8601_utc("2015-08-30T12:36:00", &t), 0);
    CHECK_INT(t, 1440938160);
    CHECK_INT(datetime_parse_iso8601_utc("2015-08-30T12:36:00.500", &t), 0);
    CHECK_INT(t, 1440938160);
    CHECK_INT(datetime_parse_iso8601_utc("2015-08-30T14:36:00+02:00", &t), 0);
    CHECK_INT(t, 1440938160);
    CHECK_INT(datetime_parse_iso8601_utc("2015-08-30T12:36:00 junk", &t), -1);
    CHECK_INT(datetime_parse_iso8601("2015-08-30T12:36:00Z", &t), 0);
    CHECK_INT(t, 1440938160LL);
    CHECK_INT(datetime_parse_iso8601("1970-01-01T00:00:00Z", &t), 0);
    CHECK_INT(t, 0);
    CHECK_INT(datetime_parse_iso8601("2024-02-29T23:59:59.123456Z", &t), 0);
    CHECK_INT(t, 1709251199LL);
    CHECK_INT(datetime_parse_iso8601("2015-08-30T14:36:00+02:00", &t), 0);
    CHECK_INT(t, 1440938160LL);
    CHECK_INT(datetime_parse_iso8601("2015-08-30T07:06:00-0530", &t), 0);
    CHECK_INT(t, 1440938160LL);
    /* as S3 lists objects */
    CHECK_INT(datetime_parse_iso8601("2009-10-12T17:50:30.000Z", &t), 0);
    CHECK_INT(t, 1255369830LL);
    CHECK_INT(datetime_parse_iso8601("2009-10-12T17:50:30Z", &t), 0);
    CHECK_INT(t, 1255369830LL);
    static const char *bad[] = {"", "2015-08-30", "2015-08-30T12:36:00", "2015-13-01T00:00:00Z",
                                "2015-08-32T00:00:00Z", "2015-08-30T24:00:00Z",
                                "2015-08-30T12:36:00Zjunk", "2015-08-30T12:36:00.Z",
                                "20150830T123600Z", "2015-08-30T12:36:00+2",
                                "2009-13-12T17:50:30Z", "2009-10-12"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = 42;
        if (datetime_parse_iso8601(bad[i], &t) != -1) {
            fprintf(stderr, "iso8601 accepted \"%s\"\n", bad[i]);
            test_failures++;
        }
        CHECK_INT(t, 42);
    }
    CHECK_INT(datetime_parse_iso8601(NULL, &t), -1);
}

static void test_http(void)
{
    long long t = 0;
    const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
    CHECK_INT(datetime_parse_http(d, strlen(d), &t), 0);
    CHECK_INT(t, 784111777LL);
    /* only n bytes are read */
    const char *tail = "Sun, 06 Nov 1994 08:49:37 GMTxyz";
    CHECK_INT(datetime_parse_http(tail, strlen(d), &t), 0);
    CHECK_INT(t, 784111777LL);
    /* the obsolete forms RFC 9110 still accepts */
    d = "Sunday, 06-Nov-94 08:49:37 GMT";
    CHECK_INT(datetime_parse_http(d, strlen(d), &t), 0);
    CHECK_INT(t, 784111777LL);
    d = "Sun Nov  6 08:49:37 1994";
    CHECK_INT(datetime_parse_http(d, strlen(d), &t), 0);
    CHECK_INT(t, 784111777LL);
    CHECK_INT(datetime_parse_http("", 0, &t), -1);
    CHECK_INT(datetime_parse_http("soon", 4, &t), -1);
    char big[100];
    memset(big, 'x', sizeof big);
    CHECK_INT(datetime_parse_http(big, sizeof big, &t), -1);
}

int main(void)
{
    RUN(test_iso8601);
    RUN(test_http);
    return TEST_EXIT();
}
