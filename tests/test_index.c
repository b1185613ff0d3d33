#include "test.h"
#include "index.h"

static void test_series_of(void)
{
    char s[256];
    CHECK_INT(index_series_of("seriesBucket=0a/raw_abc_1683158400_GOOD.avro", s, sizeof s), 0);
    CHECK_STR(s, "abc");
    CHECK_INT(index_series_of("raw_a1_b2_1683158400_GOOD.avro", s, sizeof s), 0);
    CHECK_STR(s, "a1_b2");
    CHECK_INT(index_series_of("raw_x_y_z_1_GOOD.avro", s, sizeof s), 0);
    CHECK_STR(s, "x_y_z");
    CHECK_INT(index_series_of("raw__1_GOOD.avro", s, sizeof s), -1);   /* empty id */
    CHECK_INT(index_series_of("raw_1_GOOD.avro", s, sizeof s), -1);    /* too few fields */
    CHECK_INT(index_series_of("raw_a_1_GOOD.txt", s, sizeof s), -1);
    CHECK_INT(index_series_of("merged_a_1_GOOD.avro", s, sizeof s), -1);
    CHECK_INT(index_series_of("raw_abcdef_1_GOOD.avro", s, 4), -1);    /* does not fit */
}

/* An index written by the original Python sample: ids only, some legacy
 * short entries (the part before the first '_'), a trailing newline missing. */
static void test_python_index(void)
{
    const char *doc = "assetA\nplain-series\n\nassetB_prop1";
    struct index ix;
    index_init(&ix);
    struct err e = {0};
    REQUIRE(index_parse(doc, strlen(doc), &ix, &e) == 0);
    CHECK_INT(ix.n_series, 4);  /* + "assetB", marked #compat */
    CHECK_INT(ix.n_compat, 1);
    CHECK_INT(ix.n_sources, 0);
    CHECK(index_has_series(&ix, "assetA_prop9"));       /* legacy short entry covers it */
    CHECK(index_has_series(&ix, "plain-series"));
    CHECK(index_has_series(&ix, "assetB_prop1"));
    CHECK(!index_has_series(&ix, "assetB_prop2"));      /* full entry covers only itself */
    CHECK(!index_has_series(&ix, "assetAB_prop1"));     /* prefix of a different id */
    CHECK(!index_has_series(&ix, "plain"));
    /* series lines alone cover no object (the sample's files are adopted) */
    CHECK_INT(index_source_state(&ix, "seriesBucket=00/raw_assetA_p_5_GOOD.avro", 1, "E"),
              INDEX_SRC_ABSENT);
    index_free(&ix);
}

static void test_roundtrip_and_late_file(void)
{
    struct index ix;
    index_init(&ix);
    REQUIRE(index_add(&ix, "seriesBucket=1f/raw_s2_100_GOOD.avro", "s2", 10, "e2", "merged_x.avro") == 0);
    REQUIRE(index_add(&ix, "seriesBucket=0a/raw_s1_100_GOOD.avro", "s1", 20, "e1", "merged_x.avro") == 0);
    REQUIRE(index_add(&ix, "seriesBucket=0a/raw_s1_200_GOOD.avro", "s1", 30, "e1b", "merged_x.avro") == 0);
    index_sort(&ix);
    size_t len = 0;
    char *doc = index_format(&ix, &len);
    REQUIRE(doc);
    const char *expect =
        "s1\ns2\n#repart-index v2\n"
        "#src\tseriesBucket=0a/raw_s1_100_GOOD.avro\t20\te1\tmerged_x.avro\n"
        "#src\tseriesBucket=0a/raw_s1_200_GOOD.avro\t30\te1b\tmerged_x.avro\n"
        "#src\tseriesBucket=1f/raw_s2_100_GOOD.avro\t10\te2\tmerged_x.avro\n";
    CHECK_STR(doc, expect);
    CHECK_INT(len, strlen(expect));

    struct index back;
    index_init(&back);
    struct err e = {0};
    REQUIRE(index_parse(doc, len, &back, &e) == 0);
    back.last_modified = 5000;
    CHECK_INT(back.n_series, 2);
    CHECK_INT(back.n_sources, 3);
    CHECK(index_source_find(&back, "seriesBucket=0a/raw_s1_100_GOOD.avro") != NULL);
    /* a late file of an indexed series is not covered */
    CHECK(index_source_find(&back, "seriesBucket=0a/raw_s1_300_GOOD.avro") == NULL);
    CHECK(index_source_find(&back, "seriesBucket=22/raw_s3_300_GOOD.avro") == NULL);
    size_t len2 = 0;
    char *doc2 = index_format(&back, &len2);
    CHECK_STR(doc2, doc);   /* parse(format(x)) formats the same */
    free(doc);
    free(doc2);
    index_free(&back);
    index_free(&ix);
}

/* The Python sample continuing a repart-written index appends new ids after
 * our lines; both must survive. */
static void test_python_appends(void)
{
    const char *doc = "s1\n#repart-index v2\n#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t1\te\tm.avro\nnewA\nnewB_p";
    struct index ix;
    index_init(&ix);
    struct err e = {0};
    REQUIRE(index_parse(doc, strlen(doc), &ix, &e) == 0);
    CHECK_INT(ix.n_series, 4);  /* + the compat line "newB" */
    CHECK(index_has_series(&ix, "newB_p"));
    CHECK(!index_has_series(&ix, "newB_q"));
    CHECK(index_has_series(&ix, "newA"));
    CHECK(index_source_find(&ix, "seriesBucket=0a/raw_s1_1_GOOD.avro") != NULL);
    index_free(&ix);
}

/* Found by fuzz_index: an indented "#..." line was read as a series id,
 * which the next read took for a comment (the index lost it). */
static void test_indented_comment(void)
{
    struct index ix;
    index_init(&ix);
    struct err e = {0};
    const char *doc = "a1\n  #comment\n\tb2 \n \r\t\n";  /* and a blank line */
    CHECK_INT(index_parse(doc, strlen(doc), &ix, &e), 0);
    CHECK_INT(ix.n_series, 2);
    CHECK(index_has_series(&ix, "a1") && index_has_series(&ix, "b2"));
    index_free(&ix);
}

static void test_malformed(void)
{
    const char *bad[] = {
        "#src\tonly-two\tfields\n",
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\tx\te\tm.avro\n",
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t-1\te\tm.avro\n",
        "#src\tnot-a-source-key\t1\te\tm.avro\n",
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t1\te\t\n",
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t1\te\tm\textra\n",
        /* found by fuzz_index: its short id became a #compat line with a tab,
         * which the next read refused (the day's index unreadable for good) */
        "A#src\tseriesBucket=0a/raw_x_p_1_GOOD.avro\t5\tabc\tm.avro\n",
        /* found by fuzz_index: a short id never holds '_' (this one added
         * a line of its own to every later write) */
        "#compat\ta_b\n",
        "#compat\tab \n",
        "a b\n",
        "a\x01\n",
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t1\te\tm.avro\r\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct index ix;
        index_init(&ix);
        struct err e = {0};
        CHECK_INT(index_parse(bad[i], strlen(bad[i]), &ix, &e), -1);
        CHECK(strstr(e.msg, "line 1") != NULL);
        index_free(&ix);
    }
    /* a NUL inside, an over-long line */
    struct index ix;
    index_init(&ix);
    struct err e = {0};
    CHECK_INT(index_parse("a\0b\n", 4, &ix, &e), -1);
    index_free(&ix);
    char *big = malloc(10000);
    memset(big, 'x', 10000);
    index_init(&ix);
    CHECK_INT(index_parse(big, 10000, &ix, &e), -1);
    index_free(&ix);
    free(big);
}

/* Associated series: repart also writes the sample's short id (so the sample
 * skips them), marked #compat so that repart never reads it as legacy. */
static void test_compat_lines(void)
{
    struct index ix;
    index_init(&ix);
    REQUIRE(index_add(&ix, "seriesBucket=01/raw_a1_p1_100_GOOD.avro", "a1_p1", 5, "e", "m.avro") == 0);
    REQUIRE(index_add(&ix, "seriesBucket=02/raw_plain_100_GOOD.avro", "plain", 5, "e", "m.avro") == 0);
    index_sort(&ix);
    char *doc = index_format(&ix, NULL);
    REQUIRE(doc);
    CHECK_STR(doc, "a1\na1_p1\nplain\n#repart-index v2\n#compat\ta1\n"
                   "#src\tseriesBucket=01/raw_a1_p1_100_GOOD.avro\t5\te\tm.avro\n"
                   "#src\tseriesBucket=02/raw_plain_100_GOOD.avro\t5\te\tm.avro\n");
    struct index back;
    index_init(&back);
    struct err e = {0};
    REQUIRE(index_parse(doc, strlen(doc), &back, &e) == 0);
    CHECK(index_has_series(&back, "a1_p1"));
    CHECK(!index_has_series(&back, "a1_p2"));   /* the compat line covers nothing */
    char *doc2 = index_format(&back, NULL);
    CHECK_STR(doc2, doc);
    free(doc);
    free(doc2);
    index_free(&back);
    index_free(&ix);

    /* a legacy short line written by the sample stays legacy when repart
     * adds a series of that asset */
    const char *py = "a1\n";
    index_init(&ix);
    REQUIRE(index_parse(py, strlen(py), &ix, &e) == 0);
    REQUIRE(index_add(&ix, "seriesBucket=01/raw_a1_p9_100_GOOD.avro", "a1_p9", 5, "e", "m.avro") == 0);
    index_sort(&ix);
    CHECK_INT(ix.n_compat, 0);
    ix.last_modified = 100;
    CHECK(index_has_series(&ix, "a1_p2"));
    index_free(&ix);
}

/* Index version 2: #file lines and byte ranges read back; coverage is by
 * key, size and ETag; the ranges must tile the file; a BOM (at the start or
 * after blanks, as concatenated files have it) is not part of an id. */
static void test_v2(void)
{
    struct err e = {0};
    struct index ix;
    index_init(&ix);
    const char *doc =
        "\xEF\xBB\xBFs1\r\n  \xEF\xBB\xBFs2\r\n#repart-index v2\n"
        "#file\tmerged.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\n"
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t10\tE1\tmerged.avro\t100\t120\n"
        "#src\tseriesBucket=0b/raw_s2_1_GOOD.avro\t20\tE2\tmerged.avro\t220\t80\n";
    REQUIRE(index_parse(doc, strlen(doc), &ix, &e) == 0);
    CHECK_INT((int)ix.version, 2);
    CHECK_INT((int)ix.n_series, 2);
    CHECK_STR(ix.series[0], "s1");
    CHECK_STR(ix.series[1], "s2");
    CHECK_INT(index_source_state(&ix, "seriesBucket=0a/raw_s1_1_GOOD.avro", 10, "E1"),
              INDEX_SRC_SAME);
    CHECK_INT(index_source_state(&ix, "seriesBucket=0a/raw_s1_1_GOOD.avro", 10, "E9"),
              INDEX_SRC_CHANGED);
    CHECK_INT(index_source_state(&ix, "seriesBucket=0a/raw_s1_1_GOOD.avro", 11, "E1"),
              INDEX_SRC_CHANGED);
    CHECK_INT(index_source_state(&ix, "seriesBucket=0c/raw_s3_1_GOOD.avro", 1, "E"),
              INDEX_SRC_ABSENT);
    CHECK_INT(index_check_file(&ix, "merged.avro", &e), 0);
    /* the same document written and read again */
    size_t len = 0;
    char *out = index_format(&ix, &len);
    struct index back;
    index_init(&back);
    REQUIRE(out && index_parse(out, len, &back, &e) == 0);
    CHECK_INT((int)back.n_files, 1);
    CHECK_INT((int)back.files[0].header_len, 100);
    CHECK_INT((int)index_source_find(&back, "seriesBucket=0b/raw_s2_1_GOOD.avro")->off, 220);
    free(out);
    index_free(&back);
    /* a #src line gone: the file has bytes no line names */
    index_forget_source(&ix, "seriesBucket=0a/raw_s1_1_GOOD.avro");
    CHECK_INT(index_check_file(&ix, "merged.avro", &e), -1);
    CHECK(strstr(e.msg, "bytes 100..220") != NULL);
    index_free(&ix);
    /* ranges that overlap, or run past the file */
    const char *bad =
        "#repart-index v2\n#file\tmerged.avro\t200\t0123456789abcdef0123456789abcdef\t2\t100\n"
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t10\tE1\tmerged.avro\t100\t150\n";
    index_init(&ix);
    REQUIRE(index_parse(bad, strlen(bad), &ix, &e) == 0);
    CHECK_INT(index_check_file(&ix, "merged.avro", &e), -1);
    index_free(&ix);
    const char *newer = "#repart-index v3\n";
    index_init(&ix);
    CHECK_INT(index_parse(newer, strlen(newer), &ix, &e), -1);
    CHECK(strstr(e.msg, "newer") != NULL);
    index_free(&ix);
}

/* A day file's MD5 chain (md5.h) in its #file line: read, written and read
 * again unchanged; one that does not fit the file's size is refused. */
static void test_md5_chain(void)
{
    struct err e = {0};
    struct index ix;
    index_init(&ix);
    const char *chain = "0123456789abcdef0123456789abcdef@6000000+"
                        "fedcba9876543210fedcba9876543210/00112233445566778899aabbccddeeff";
    char doc[600];
    snprintf(doc, sizeof doc, "#repart-index v2\n#file\tmerged.avro\t9000000\t%s\t7\t100\t\"e1\"\n",
             chain);
    REQUIRE(index_parse(doc, strlen(doc), &ix, &e) == 0);
    CHECK_STR(index_file_find(&ix, "merged.avro")->md5, chain);
    size_t len = 0;
    char *out = index_format(&ix, &len);
    REQUIRE(out);
    CHECK(strstr(out, chain) != NULL);
    free(out);
    index_free(&ix);
    /* the first range ends past the file */
    snprintf(doc, sizeof doc, "#repart-index v2\n#file\tmerged.avro\t5000000\t%s\t7\t100\n", chain);
    index_init(&ix);
    CHECK_INT(index_parse(doc, strlen(doc), &ix, &e), -1);
    CHECK_INT(e.kind, ERR_DATA);
    CHECK(strstr(e.msg, "line 2") != NULL);
    index_free(&ix);
}

/* A sample file's #file line with what adoption found of it (7th field):
 * read, written and read again; absent means not known. */
static void test_unowned(void)
{
    struct err e = {0};
    struct index ix;
    index_init(&ix);
    const char *doc =
        "#repart-index v2\n"
        "#file\tmerged_series_1.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\t-\t0\t1\n"
        "#file\tmerged_series_2.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\t\"E\"\t3\t0\n"
        "#file\tmerged.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\t\"F\"\n"
        "#src\tseriesBucket=0a/raw_s1_1_GOOD.avro\t0\t" INDEX_ETAG_EARLIER
        "\tmerged_series_1.avro\n";
    REQUIRE(index_parse(doc, strlen(doc), &ix, &e) == 0);
    CHECK_INT((int)index_file_find(&ix, "merged_series_1.avro")->unowned, 0);
    CHECK_STR(index_file_find(&ix, "merged_series_1.avro")->etag, "");
    CHECK_INT((int)index_file_find(&ix, "merged_series_2.avro")->unowned, 3);
    CHECK_INT((int)index_file_find(&ix, "merged.avro")->unowned, -1);
    /* an earlier content is never the listed one */
    CHECK_INT(index_source_state(&ix, "seriesBucket=0a/raw_s1_1_GOOD.avro", 0, "\"x\""),
              INDEX_SRC_CHANGED);
    size_t len = 0;
    char *out = index_format(&ix, &len);
    REQUIRE(out != NULL);
    CHECK(strstr(out, "merged_series_1.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\t-\t0\t1\n"));
    CHECK_INT((int)index_file_find(&ix, "merged_series_1.avro")->sources, 1);
    CHECK(strstr(out, "\tmerged.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\t\"F\"\n"));
    struct index back;
    index_init(&back);
    REQUIRE(index_parse(out, len, &back, &e) == 0);
    CHECK_INT((int)index_file_find(&back, "merged_series_2.avro")->unowned, 3);
    CHECK_INT((int)index_file_find(&back, "merged.avro")->unowned, -1);
    free(out);
    index_free(&back);
    index_free(&ix);
    const char *bad = "#repart-index v2\n"
        "#file\tm.avro\t300\t0123456789abcdef0123456789abcdef\t7\t100\t-\t-1\t0\n";
    index_init(&ix);
    CHECK_INT(index_parse(bad, strlen(bad), &ix, &e), -1);
    index_free(&ix);
}

int main(void)
{
    RUN(test_unowned);
    RUN(test_v2);
    RUN(test_md5_chain);
    RUN(test_compat_lines);
    RUN(test_series_of);
    RUN(test_python_index);
    RUN(test_roundtrip_and_late_file);
    RUN(test_python_appends);
    RUN(test_malformed);
    RUN(test_indented_comment);
    return TEST_EXIT();
}
