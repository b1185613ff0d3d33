/* coldkey: the object keys SiteWise writes to the cold tier, and the listing
 * prefixes that find them.
 *
 *   <data_prefix>startYear=YYYY/startMonth=M/startDay=D/seriesBucket=XX/
 *       raw_<seriesId>_<startTimestamp>_<quality>.avro
 *   (agg_<seriesId>_<startTimestamp>_<quality>.avro under <keyPrefix>/agg/:
 *   coldkey_parse_ds)
 *
 * e.g. raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/
 *      raw_7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a_1609577700_GOOD.avro
 *
 * The parser is strict; it accepts exactly what SiteWise writes:
 * - year: 4 digits; month and day: NOT zero-padded (1..12, 1..31), a real
 *   calendar day. A padded "startMonth=05" is rejected: SiteWise never writes
 *   it, and such a key would not be under the day prefix this module builds
 *   (so it could not be listed, merged or indexed consistently).
 * - seriesBucket: exactly two lower-case hex digits (SiteWise writes 00..ff
 *   lower-case; the per-bucket listing prefixes are lower-case too).
 * - seriesId: everything between "raw_" and the last two '_'-separated
 *   fields; it may contain '_' (associated series are
 *   <assetUuid>_<propertyUuid>). Characters [A-Za-z0-9._-], 1..COLDKEY_SERIES_MAX.
 * - startTimestamp: Unix seconds, decimal digits only (no sign, no leading
 *   zero), at most 12 digits. It is not checked against the day: the
 *   partition is the exclusive start of the export window, not a promise
 *   about the timestamp.
 * - quality: ASCII letters (GOOD, BAD, UNCERTAIN, ...), 1..COLDKEY_QUALITY_MAX.
 * - whole key at most COLDKEY_KEY_MAX bytes (the S3 limit).
 * Anything else is an error of kind ERR_DATA whose message quotes the key
 * and says which part is wrong; it is the caller's business whether that is
 * fatal (it fails one day, not the run). */
#ifndef REPART_COLDKEY_H
#define REPART_COLDKEY_H

#include <stddef.h>
#include <stdint.h>
#include "day.h"
#include "err.h"

#define COLDKEY_KEY_MAX      1024   /* S3 keys are at most 1024 bytes */
#define COLDKEY_SERIES_MAX   255
#define COLDKEY_QUALITY_MAX  31
#define COLDKEY_PREFIX_MAX   512    /* longest data_prefix accepted by the builders */

/* Sizes (including the NUL) of the prefix builders' outputs. */
#define COLDKEY_DAY_PREFIX_MAX    (COLDKEY_PREFIX_MAX + DAY_PARTITION_MAX)
#define COLDKEY_BUCKET_PREFIX_MAX (COLDKEY_DAY_PREFIX_MAX + 16)   /* + "seriesBucket=xx/" */

#define COLDKEY_BUCKETS 256

struct coldkey {
    struct day day;
    unsigned   bucket;                            /* 0..255 (from "seriesBucket=XX") */
    char       series_id[COLDKEY_SERIES_MAX + 1];
    int64_t    start_ts;                          /* Unix seconds */
    char       quality[COLDKEY_QUALITY_MAX + 1];
};

/* The datasets of the cold tier, by the file name's first word: measurements
 * (raw_...) under <keyPrefix>/raw/, and metrics, transforms and aggregates
 * (agg_<seriesId>_<startTimestamp>_<quality>.avro, the same rules) under
 * <keyPrefix>/agg/. */
enum coldkey_ds { COLDKEY_RAW = 0, COLDKEY_AGG = 1 };
const char *coldkey_ds_name(enum coldkey_ds ds);   /* "raw", "agg" */

/* Parses `key` (a cold-tier object key) that must start with `data_prefix`
 * (e.g. "raw/"). Fills *out on success. Error kind ERR_DATA. */
int coldkey_parse(const char *key, const char *data_prefix, struct coldkey *out, struct err *e);

/* The same for a dataset: the file name starts with "<ds name>_". */
int coldkey_parse_ds(const char *key, const char *data_prefix, enum coldkey_ds ds,
                     struct coldkey *out, struct err *e);

/* Only the day partition of a key (for routing event keys to days): checks
 * "<data_prefix>startYear=YYYY/startMonth=M/startDay=D/" at the start of the
 * key, with the same rules as coldkey_parse, and nothing after it. */
int coldkey_parse_day(const char *key, const char *data_prefix, struct day *out, struct err *e);

/* Order for merging: by seriesId (bytewise), then start timestamp, then key
 * (bytewise) so that the order is total and stable across runs. */
int coldkey_cmp(const struct coldkey *a, const char *key_a,
                const struct coldkey *b, const char *key_b);

/* "<data_prefix>startYear=YYYY/startMonth=M/startDay=D/" into buf[size].
 * Returns the length, or -1 (ERR_USAGE) if it does not fit or the day is
 * not valid. */
int coldkey_day_prefix(char *buf, size_t size, const char *data_prefix, const struct day *d,
                       struct err *e);

/* "<day prefix>seriesBucket=xx/" for bucket 0..255 (lower-case hex), the 256
 * prefixes that let one day be listed in parallel. Returns the length or -1. */
int coldkey_bucket_prefix(char *buf, size_t size, const char *data_prefix, const struct day *d,
                          unsigned bucket, struct err *e);

#endif
