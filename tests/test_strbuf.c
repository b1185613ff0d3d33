/* strbuf: appends, printf, take; nothing added gives "". */
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "test.h"

static void test_build(void)
{
    struct strbuf b = {0};
    strbuf_add(&b, "GET");
    strbuf_addc(&b, '\n');
    strbuf_addn(&b, "/a/bXYZ", 4);
    strbuf_printf(&b, "?n=%d&s=%s", 42, "x y");
    size_t n = 0;
    char *s = strbuf_take(&b, &n);
    REQUIRE(s);
    CHECK_STR(s, "GET\n/a/b?n=42&s=x y");
    CHECK_INT(n, strlen(s));
    CHECK(b.p == NULL && b.len == 0);
    free(s);
    /* longer than the first allocation, in pieces */
    char piece[100];
    memset(piece, 'q', sizeof piece);
    for (int i = 0; i < 50; i++)
        strbuf_addn(&b, piece, sizeof piece);
    strbuf_printf(&b, "%0300d", 7);
    s = strbuf_take(&b, &n);
    REQUIRE(s);
    CHECK_INT(n, 5000 + 300);
    CHECK(s[4999] == 'q' && s[5299] == '7' && s[5300] == '\0');
    free(s);
}

static void test_empty(void)
{
    struct strbuf b = {0};
    size_t n = 99;
    char *s = strbuf_take(&b, &n);
    REQUIRE(s);
    CHECK_STR(s, "");
    CHECK_INT(n, 0);
    free(s);
    strbuf_add(&b, "x");
    strbuf_free(&b);
    CHECK(b.p == NULL);
}

int main(void)
{
    RUN(test_build);
    RUN(test_empty);
    return TEST_EXIT();
}
