/* avsc_widen: the schema that holds two schemas' fields (issue 12). */
#include "test.h"
#include "avsc.h"

#include <stdlib.h>

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"n\",\"fields\":[" fields "]}"
#define SREC(fields) "{\"type\":\"record\",\"name\":\"S\",\"fields\":[" fields "]}"
#define F(name, type) "{\"name\":\"" name "\",\"type\":" type "}"
#define FD(name, type, def) "{\"name\":\"" name "\",\"type\":" type ",\"default\":" def "}"

/* widen a by b: returns the result ("" when a holds b as it is), or NULL on
 * error (message in *e) */
static char *w(const char *a, const char *b, struct err *e)
{
    static char buf[4096];
    char *out = NULL;
    err_clear(e);
    if (avsc_widen(a, strlen(a), b, strlen(b), &out, e) != 0)
        return NULL;
    snprintf(buf, sizeof buf, "%s", out ? out : "");
    free(out);
    /* every result is a schema Avro C parses */
    if (buf[0]) {
        avro_schema_t s;
        struct err pe;
        CHECK(avsc_parse(buf, strlen(buf), &s, &pe) == 0);
        if (s)
            avro_schema_decref(s);
    }
    return buf;
}

static void test_same_and_narrower(void)
{
    struct err e;
    const char *a = REC(F("id", "\"string\"") "," FD("v", "[\"null\",\"double\"]", "null"));
    CHECK_STR(w(a, a, &e), "");
    /* a source lacking a field with a default: nothing to widen */
    CHECK_STR(w(a, REC(F("id", "\"string\"")), &e), "");
    /* other field order, extra attributes */
    CHECK_STR(w(a, REC(FD("v", "[\"null\",\"double\"]", "null") "," F("id",
                "{\"type\":\"string\",\"avro.java.string\":\"String\"}")), &e), "");
    /* promotions the schema absorbs: int into long, float into double */
    CHECK_STR(w(REC(F("x", "\"long\"")), REC(F("x", "\"int\"")), &e), "");
    CHECK_STR(w(REC(F("x", "\"double\"")), REC(F("x", "\"float\"")), &e), "");
    CHECK_STR(w(REC(FD("x", "[\"null\",\"double\"]", "null")),
                REC(FD("x", "[\"null\",\"float\"]", "null")), &e), "");
}

static void test_widened(void)
{
    struct err e;
    /* an added field without a default becomes optional */
    CHECK_STR(w(REC(F("id", "\"string\"")), REC(F("id", "\"string\"") "," F("u", "\"string\"")), &e),
              REC(F("id", "\"string\"") "," FD("u", "[\"null\",\"string\"]", "null")));
    /* a field the source lacks, without a default: made optional */
    CHECK_STR(w(REC(F("id", "\"string\"") "," F("k", "\"long\"")), REC(F("id", "\"string\"")), &e),
              REC(F("id", "\"string\"") "," FD("k", "[\"null\",\"long\"]", "null")));
    /* an added field with its own default keeps it */
    CHECK_STR(w(REC(F("id", "\"string\"")), REC(F("id", "\"string\"") "," FD("c", "\"int\"", "0")), &e),
              REC(F("id", "\"string\"") "," FD("c", "\"int\"", "0")));
    /* a wider union: branches added after the schema's own */
    CHECK_STR(w(REC(FD("v", "[\"null\",\"double\"]", "null")),
                REC(FD("v", "[\"null\",\"double\",\"string\"]", "null")), &e),
              REC(FD("v", "[\"null\",\"double\",\"string\"]", "null")));
    /* int and long: long; long and float: double */
    CHECK_STR(w(REC(F("x", "\"int\"")), REC(F("x", "\"long\"")), &e), REC(F("x", "\"long\"")));
    CHECK_STR(w(REC(F("x", "\"float\"")), REC(F("x", "\"long\"")), &e), REC(F("x", "\"double\"")));
    /* inside a union: int meets long, a long branch is added (the int
     * values keep their branch) */
    CHECK_STR(w(REC(FD("x", "[\"null\",\"int\"]", "null")), REC(FD("x", "[\"null\",\"long\"]", "null")), &e),
              REC(FD("x", "[\"null\",\"int\",\"long\"]", "null")));
    /* a plain type meeting a union with null: null first for the default */
    CHECK_STR(w(REC(FD("x", "[\"null\",\"string\"]", "null")), REC(F("x", "\"string\"")), &e), "");
    /* enum symbols: added after the day's own, where the source has them
     * (Avro C resolves an enum by position) */
    CHECK_STR(w(REC(F("q", "{\"type\":\"enum\",\"name\":\"Q\",\"symbols\":[\"GOOD\",\"BAD\"]}")),
                REC(F("q", "{\"type\":\"enum\",\"name\":\"Q\",\"symbols\":[\"GOOD\",\"BAD\",\"UNCERTAIN\"]}")), &e),
              REC(F("q", "{\"type\":\"enum\",\"name\":\"Q\",\"symbols\":[\"GOOD\",\"BAD\",\"UNCERTAIN\"]}")));
    /* numeric branches of a union in ascending order: a long before a float
     * (after it, the float branch would take and round the long values) */
    CHECK_STR(w(REC(FD("v", "[\"null\",\"float\"]", "null")), REC(FD("v", "[\"null\",\"long\"]", "null")), &e),
              REC(FD("v", "[\"null\",\"long\",\"float\"]", "null")));
    CHECK_STR(w(REC(FD("v", "[\"null\",\"double\",\"string\"]", "null")),
                REC(FD("v", "[\"null\",\"int\"]", "null")), &e), "");   /* int->double is exact */
    /* nested records, arrays and maps */
    CHECK_STR(w(REC(F("a", "{\"type\":\"array\",\"items\":\"int\"}")),
                REC(F("a", "{\"type\":\"array\",\"items\":\"long\"}")), &e),
              REC(F("a", "{\"type\":\"array\",\"items\":\"long\"}")));
    CHECK_STR(w(REC(F("m", "{\"type\":\"map\",\"values\":" SREC(F("i", "\"int\"")) "}")),
                REC(F("m", "{\"type\":\"map\",\"values\":" SREC(F("i", "\"int\"") "," F("j", "\"string\"")) "}")), &e),
              REC(F("m", "{\"type\":\"map\",\"values\":" SREC(F("i", "\"int\"") "," FD("j", "[\"null\",\"string\"]", "null")) "}")));
}

static void test_incompatible(void)
{
    struct err e;
    /* enum symbols in another order: values would change (review 16) */
    CHECK(w(REC(F("q", "{\"type\":\"enum\",\"name\":\"Q\",\"symbols\":[\"GOOD\",\"BAD\"]}")),
            REC(F("q", "{\"type\":\"enum\",\"name\":\"Q\",\"symbols\":[\"GOOD\",\"UNCERTAIN\"]}")), &e) == NULL);
    CHECK_INT(e.kind, ERR_DATA);
    CHECK(strstr(e.msg, "field \"q\": enum n.Q has the symbols [\"GOOD\",\"UNCERTAIN\"] in this source") != NULL);
    CHECK(w(REC(F("quality", "\"string\"")), REC(F("quality", "\"long\"")), &e) == NULL);
    CHECK_INT(e.kind, ERR_DATA);
    CHECK(strstr(e.msg, "field \"quality\": type \"string\" in the day's schema, \"long\" in this source") != NULL);
    /* the path names nested fields */
    CHECK(w(REC(F("o", SREC(F("p", "\"boolean\"")))), REC(F("o", SREC(F("p", "\"double\"")))), &e) == NULL);
    CHECK(strstr(e.msg, "field \"o.p\"") != NULL);
    /* record names */
    CHECK(w(REC(F("id", "\"string\"")),
            "{\"type\":\"record\",\"name\":\"Other\",\"namespace\":\"x\",\"fields\":[]}", &e) == NULL);
    CHECK(strstr(e.msg, "record name n.R in the day's schema, x.Other in this source") != NULL);
    /* fixed sizes */
    CHECK(w(REC(F("f", "{\"type\":\"fixed\",\"name\":\"H\",\"size\":16}")),
            REC(F("f", "{\"type\":\"fixed\",\"name\":\"H\",\"size\":8}")), &e) == NULL);
    CHECK(strstr(e.msg, "field \"f\"") != NULL);
    /* not JSON */
    CHECK(w(REC(F("id", "\"string\"")), "{", &e) == NULL);
}

int main(void)
{
    RUN(test_same_and_narrower);
    RUN(test_widened);
    RUN(test_incompatible);
    return TEST_EXIT();
}
