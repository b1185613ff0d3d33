/* Minimal unit-test harness: each tests/test_*.c is one ctest executable.
 * CHECK records a failure and goes on; REQUIRE stops the current test. */
#ifndef REPART_TEST_H
#define REPART_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int test_failures;

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    test_failures++; } } while (0)

#define REQUIRE(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
    test_failures++; return; } } while (0)

#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
    fprintf(stderr, "%s:%d: CHECK_STR failed: %s\n  got:      \"%s\"\n  expected: \"%s\"\n", \
            __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    test_failures++; } } while (0)

#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) { fprintf(stderr, "%s:%d: CHECK_INT failed: %s = %lld, expected %lld\n", \
            __FILE__, __LINE__, #a, a_, b_); test_failures++; } } while (0)

#define RUN(fn) do { int before_ = test_failures; fn(); \
    fprintf(stderr, "%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn); } while (0)

#define TEST_EXIT() (test_failures ? (fprintf(stderr, "%d check(s) failed\n", test_failures), 1) : 0)

/* Directory holding tests/data, passed by CMake as a compile definition. */
#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif

#endif
