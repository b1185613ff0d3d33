/* pipeline_state_parse: the state file of a staged day, as `merge` and
 * `upload` read it. What `download` writes parses; damage and edits that
 * would break the index or name other files are refused (ERR_DATA). */
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "pipeline.h"
#include "test.h"

#define MERGED "\"merged\": \"merged.avro\""
#define KEY "raw/startYear=2023/startMonth=5/startDay=1/seriesBucket=98/raw_a-b_p-q_1682899200_GOOD.avro"
#define REL "seriesBucket=98/raw_a-b_p-q_1682899200_GOOD.avro"

/* A state document with one source; the caller frees it. (Each case its own
 * copy: one static buffer made every refusal case test the last one.) */
static char *doc(const char *key, const char *rel, const char *series, const char *size,
                 const char *etag)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"version\": 2, \"day\": \"2023-05-01\", " MERGED ", \"sources\": [{\"key\": \"%s\", "
             "\"relkey\": \"%s\", \"series\": \"%s\", \"size\": %s, \"etag\": \"%s\"}]}",
             key, rel, series, size, etag);
    return strdup(buf);
}

static int parse(const char *text, struct err *e)
{
    struct index ix;
    index_init(&ix);
    int rc = pipeline_state_parse(text, strlen(text), &ix, e);
    if (rc == 0 && ix.n_sources != 1)
        rc = 99;
    index_free(&ix);
    return rc;
}

static void test_good(void)
{
    struct err e = {0};
    char *g = doc(KEY, REL, "a-b_p-q", "852", "5822919005d6f6673335a229547b360a");
    REQUIRE(g);
    CHECK_INT(parse(g, &e), 0);
    free(g);
    /* the parsed sources go into an index that reads back */
    struct index ix, back;
    index_init(&ix);
    index_init(&back);
    char *t = doc(KEY, REL, "a-b_p-q", "852", "abc");
    REQUIRE(t);
    int rc = pipeline_state_parse(t, strlen(t), &ix, &e);
    free(t);
    REQUIRE(rc == 0);
    size_t len = 0;
    char *d = index_format(&ix, &len);
    CHECK(d && index_parse(d, len, &back, &e) == 0);
    CHECK(index_source_find(&back, REL) != NULL);
    free(d);
    index_free(&ix);
    index_free(&back);
}

static void test_refused(void)
{
    char *bad[] = {
        doc(KEY, REL, "a-b_p-q", "-5", "e"),                 /* negative size */
        doc(KEY, REL, "other", "5", "e"),                     /* series not the relkey's */
        doc(KEY, "seriesBucket=00/raw_a-b_p-q_1682899200_GOOD.avro", "a-b_p-q", "5", "e"),
        doc(KEY, REL, "a-b_p-q", "5", "e\\u007f"),            /* found by fuzz_state */
        doc(KEY, REL, "a-b_p-q", "5", "e\\tf"),
        doc("raw/x/" REL "\\n", REL "\\n", "a-b_p-q", "5", "e"),
        doc("raw/x/..", "..", "a-b_p-q", "5", "e"),           /* not a file name */
        doc(KEY, REL, "a-b_p-q", "\"5\"", "e"),
        strdup("{\"merged\": \"merged_x.avro\", \"sources\": []}"),
        strdup("{\"version\": 2, " MERGED ", \"sources\": ["),
        strdup("{" MERGED ", " MERGED ", \"sources\": []}"),          /* duplicate member */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct err e = {0};
        REQUIRE(bad[i]);
        /* every case differs from the others (each is its own document) */
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(bad[i], bad[j]) != 0);
        int rc = parse(bad[i], &e);
        if (rc != -1)
            fprintf(stderr, "case %zu accepted: %s\n", i, bad[i]);
        CHECK_INT(rc, -1);
        CHECK_INT(e.kind, ERR_DATA);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        free(bad[i]);
}

int main(void)
{
    RUN(test_good);
    RUN(test_refused);
    return TEST_EXIT();
}
