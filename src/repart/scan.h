/* scan: what one day holds and what of it is new.
 *
 * Lists the day's cold-tier objects (one page; a bigger day by its folders:
 * 16 listings in parallel, one per first hex digit of seriesBucket, and one
 * per any other folder), classifies and parses every key, reads the day's index and
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
    size_t n_bad_keys;         /* .avro keys under the day that do not parse (fail the day) */
    struct err bad_key;        /* the first of them */
    size_t n_skipped;          /* keys that are not data: folder markers, names not ending
                                  in .avro (temp, manifest files); skipped with a warning */
    char skipped_key[320];     /* the first of them (truncated) */
    size_t n_listings;         /* ListObjectsV2 listings the scan made (not pages) */
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

/* What a listed key under a day is (scan_key_kind). */
enum { SCAN_KEY_DATA = 0, SCAN_KEY_BAD, SCAN_KEY_SKIP };

/* Classifies one key listed under day `d`: a key ending in '/' (a folder
 * marker) or whose name does not end in ".avro" (any case) is not data
 * (SCAN_KEY_SKIP); a ".avro" key is data when coldkey_parse accepts it and it
 * belongs to `d` (SCAN_KEY_DATA, *ck filled), else SCAN_KEY_BAD with *e
 * naming the key and what is wrong. */
int scan_key_kind(const char *key, const char *data_prefix, const struct day *d,
                  struct coldkey *ck, struct err *e);

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

/* For a range of days that listed nothing at all: 1 when the cold tier's
 * data_prefix holds raw/ or agg/ right below it (the SiteWise keyPrefix was
 * configured as data_prefix), with a message for the operator in msg; else
 * 0 (also when the listing fails: it only explains an empty result). */
int scan_prefix_misplaced(const struct scan_ctx *ctx, char *msg, size_t size);


#endif
