/* progress: the percentage, ETA and counts of the progress line. */
#include "test.h"
#include "progress.h"

static void test_nothing_known(void)
{
    struct progress p;
    progress_init(&p, 4, 100.0);
    char buf[256];
    double f;
    progress_line(&p, 100.0, buf, sizeof buf, &f);
    CHECK_STR(buf, "0% | ETA -- | days 0/4 | objects 0/0 | 0.0 MB, 0.0 MB/s");
    CHECK(f == 0);
}

static void test_bytes_and_eta(void)
{
    struct progress p;
    progress_init(&p, 4, 100.0);
    /* two of four days scanned, 1 MB each: 4 MB expected in all */
    progress_planned(&p, 10, 1000000);
    progress_planned(&p, 10, 1000000);
    for (int i = 0; i < 10; i++)
        progress_fetched(&p, 100000);   /* 1 MB of 4: 25% */
    char buf[256];
    double f;
    progress_line(&p, 110.0, buf, sizeof buf, &f);   /* 10 s for 25%: 30 s left */
    CHECK(f > 0.2499 && f < 0.2501);
    CHECK_STR(buf, "25% | ETA 30s | days 0/4 | objects 10/20 | 1.0 MB, 0.1 MB/s");
    progress_day_done(&p, 0);
    progress_day_done(&p, 1);
    /* days finished count at least as their share (two of four: 50%) */
    progress_line(&p, 200.0, buf, sizeof buf, &f);
    CHECK(f > 0.4999 && f < 0.5001);
    CHECK_STR(buf, "50% | ETA 1m40s | days 2/4, 1 failed | objects 10/20 | 1.0 MB, 0.0 MB/s");
    progress_day_done(&p, 0);
    progress_day_done(&p, 0);
    progress_line(&p, 4000.0, buf, sizeof buf, &f);
    CHECK(f == 1);
    CHECK_STR(buf, "100% | ETA 0s | days 4/4, 1 failed | objects 10/20 | 1.0 MB, 0.0 MB/s");
}

static void test_long_eta(void)
{
    struct progress p;
    progress_init(&p, 1000, 0.0);
    progress_planned(&p, 1, 1000000);
    progress_fetched(&p, 10000);   /* 1% of the first day of 1000 */
    char buf[256];
    progress_line(&p, 1.0, buf, sizeof buf, NULL);
    CHECK_STR(buf, "0% | ETA -- | days 0/1000 | objects 1/1 | 0.0 MB, 0.0 MB/s");
    progress_day_done(&p, 0);
    progress_line(&p, 36.0, buf, sizeof buf, NULL);  /* 1 of 1000 days in 36 s */
    CHECK_STR(buf, "0% | ETA 9h59m | days 1/1000 | objects 1/1 | 0.0 MB, 0.0 MB/s");
}

int main(void)
{
    RUN(test_nothing_known);
    RUN(test_bytes_and_eta);
    RUN(test_long_eta);
    return TEST_EXIT();
}
