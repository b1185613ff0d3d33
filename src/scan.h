/* scan: what one day holds and what of it is new.
 *
 * Lists the day's cold-tier objects (16 listings in parallel, one per first
 * hex digit of seriesBucket), parses every key, reads the day's index and
 * marks each source new or covered. Shared by plan, status and the pipeline,
 * so they can never disagree about what a run would do. */
#ifndef REPART_SCAN_H
#define REPART_SCAN_H

#include <stddef.h>
#include "coldkey.h"
#include "config.h"
#include "err.h"
#include "index.h"
#include "pool.h"
#include "s3.h"

struct scan_source {
    char *key;              /* full object key (owned) */
    const char *relkey;     /* key relative to the day prefix (points into key) */
    struct coldkey ck;
    long long size;
    char etag[80];
    long long last_modified;
    int is_new;             /* not covered by the index (and selected by timeseries_type) */
    int changed;            /* the index names this key with another size or ETag */
};

/* The series a timeseries_type other than ALL selects by, sorted (see assoc.h). */
struct scan_filter {
    int type;               /* CONFIG_TS_* */
    char **assoc;           /* sorted associated series ids (borrowed) */
    size_t n_assoc;
};

struct day_scan {
    struct day day;
    char day_prefix[COLDKEY_DAY_PREFIX_MAX];    /* cold tier */
    char index_key[COLDKEY_DAY_PREFIX_MAX + 32];
    struct scan_source *src;   /* every parsed source, in merge order (coldkey_cmp) */
    size_t n_src;
    size_t n_bad_keys;         /* keys under the day that do not parse */
    struct err bad_key;        /* the first of them */
    size_t n_filtered;         /* left out by timeseries_type */
    struct scan_source *filtered;  /* those sources (not merged by this run; the sample's
                                      files may hold them: sampleadopt offers them) */
    struct index index;        /* the day's index as read (empty if none) */
    int index_exists;
    size_t n_new;              /* sources to merge (changed ones included) */
    size_t n_changed;          /* overwritten since they were merged */
    size_t n_listed_twice;     /* keys the listing returned more than once */
    long long bytes, bytes_new;
    size_t series, series_new, series_indexed;  /* distinct series: all, not in index, in index */
};

struct scan_ctx {
    const struct config *cfg;
    struct s3_client *s3;
    struct pool *pool;              /* listings run here */
    const struct scan_filter *filter;  /* NULL = ALL */
};

/* Scans one day into *out (zeroed by the function; free with scan_free,
 * also after a failure). Unparsable keys are counted, not fatal. */
int scan_day(const struct scan_ctx *ctx, const struct day *d, struct day_scan *out,
             struct err *e);
void scan_free(struct day_scan *s);

/* Reads the day's index again and re-marks the sources (after taking the
 * day's lease: another writer may have committed since the scan). */
int scan_refresh_index(const struct scan_ctx *ctx, struct day_scan *s, struct err *e);

/* Marks every source new or covered by s->index again and recounts (after
 * the index was changed in memory). */
void scan_classify(struct day_scan *s);

/* Index key of a day: <repartitioned.index_prefix><partition>timeseries.txt */
int scan_index_key(const struct config *cfg, const struct day *d, char *buf, size_t size);

#endif
