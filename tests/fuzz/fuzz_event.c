/* libFuzzer target for event parsing: any bytes must parse or fail cleanly
 * (never crash, leak or read past the input), and what parses must be
 * consistent: every record names a bucket and key unless it says why it is
 * skipped, a failed document leaves the batch unchanged, and the batch's days
 * stay sorted and unique. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *json = (const char *)data;
    struct err e;
    struct event_doc doc;
    struct event_filter f = {"sitewise-cold", "raw/", "agg/"};

    if (event_parse(json, size, "fuzz", &doc, &e) == 0) {
        for (size_t i = 0; i < doc.n; i++) {
            const struct event_record *r = &doc.v[i];
            if (!r->where)
                abort();
            if (!r->skip && (!r->bucket || !r->key || !r->event_name))
                abort();
            if (r->key && !r->skip && (strlen(r->key) == 0 || strlen(r->key) > EVENT_KEY_MAX))
                abort();
            struct day d;
            char why[512];
            int got = event_record_day(r, &f, &d, why, sizeof why);
            /* a day of the dataset whose prefix holds the key */
            if (got == 1 && (!day_valid(&d) ||
                             strncmp(r->key, d.ds == 1 ? "agg/" : "raw/", 4) != 0))
                abort();
            if (got == 0 && why[0] == '\0')
                abort();
        }
        if (doc.ignored && (doc.n != 0 || !doc.ignored_what))
            abort();
        event_doc_free(&doc);
    } else if (doc.n != 0 || doc.v != NULL || e.msg[0] == '\0' ||
               strncmp(e.msg, "fuzz", 4) != 0) {
        abort();
    }

    /* the same document twice in a batch: the second adds no day */
    struct event_batch b = {0};
    struct event_doc_days dd;
    int rc = event_batch_add(&b, json, size, "fuzz", &f, &dd, &e);
    if (rc == 0) {
        size_t n = b.days.n;
        if (dd.days.n != n)
            abort();
        day_list_free(&dd.days);
        if (event_batch_add(&b, json, size, "fuzz", &f, NULL, &e) != 0 || b.days.n != n ||
            b.n_docs != 2)
            abort();
        for (size_t i = 1; i < b.days.n; i++)
            if (day_item_cmp(&b.days.v[i - 1], &b.days.v[i]) >= 0)
                abort();
    } else if (b.n_docs != 0 || b.days.n != 0 || dd.days.n != 0) {
        abort();
    }
    event_batch_free(&b);

    /* the decoder on the raw bytes (bounded by size, not by a NUL) */
    size_t n;
    long bad;
    char *s = pct_decode(json, size, PCT_PLUS_SPACE, &n, &bad);
    if (s) {
        if (n > size || strlen(s) != n)
            abort();
        free(s);
    } else if (bad < 0 || (size_t)bad >= size) {
        abort();
    }
    return 0;
}
