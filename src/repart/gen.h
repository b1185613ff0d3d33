/* gen: synthetic SiteWise cold-tier data, for tests, demos and benchmarks.
 *
 * For each day in [from, to] and each of `series` time series, writes four
 * six-hour files
 *   <data_prefix>startYear=Y/startMonth=M/startDay=D/seriesBucket=XX/
 *       raw_<seriesId>_<startTimestampSeconds>_GOOD.avro
 * (RawDatum schema, sitewise_schema.h) with `records_per_file` records each.
 * Most series are associated (<assetUuid>_<propertyUuid>, four properties
 * per asset), every fifth is a plain <uuid>; most carry doubles, some ints,
 * strings, booleans or JSON. XX is the first byte of SHA-256(seriesId) in
 * lower-case hex. With `asset_metadata`, also writes
 * asset_metadata/asset_<assetUuid>.ndjson beside the data folder (data
 * prefix "x/raw/" -> "x/asset_metadata/", as SiteWise does; see assoc.h),
 * one JSON line per associated series in the user guide's shape
 * ({"assetId","assetName","assetModelId",...,"assetPropertyId",
 * "assetPropertyDataType","assetPropertyAlias","timeSeriesId",
 * "timeSeriesBucket",...}, timeSeriesId = "<assetId>_<assetPropertyId>").
 *
 * With `agg`, also four six-hour files per day and series of metrics,
 * transforms and aggregates,
 *   <keyPrefix>agg/startYear=.../seriesBucket=XX/agg_<seriesId>_<start>_GOOD.avro
 * holding `records_per_file` records of the resolutions 1m, 15m, 1h and 1d
 * in turn, each in the generator's reading of the user guide's field list
 * (gen_agg_schema_json): seriesId, timeInSeconds, offsetInNanos, quality,
 * resolution, count, average, min, max, sum (["null","double"]: the API's
 * aggregates are optional doubles), recordVersion ["null","long"]. repart
 * assumes none of it: an agg day's schema is taken from its files.
 *
 * Everything derives from the seed: the same options give byte-identical
 * files (the sync marker of each file is derived from the seed and its key).
 * Records are encoded directly (no Avro C), so thousands of files take
 * seconds. Files are produced whole in memory and handed to a sink, so the
 * destination (directory, S3 bucket) is the caller's choice. */
#ifndef REPART_GEN_H
#define REPART_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "day.h"
#include "err.h"

struct gen_options {
    struct day from, to;          /* inclusive */
    unsigned series;              /* time series per day */
    unsigned records_per_file;
    uint64_t seed;
    enum codec_id codec;          /* SiteWise writes snappy */
    const char *data_prefix;      /* e.g. "" or "raw/" (must end with '/' if not empty) */
    int asset_metadata;           /* also write asset_metadata/ files */
    int agg;                      /* also write the agg dataset beside raw/ (data_prefix
                                     must end in raw/: x/raw/ -> x/agg/), see below */
    size_t block_target;          /* uncompressed bytes per block; 0 = 64000 (Java's default) */
};

/* Receives each generated object: key relative to the destination root, and
 * its bytes (valid during the call only). Returns 0, or -1 with e set. */
struct gen_sink {
    int (*put)(void *ud, const char *key, const void *data, size_t len, struct err *e);
    void *ud;
};

/* The schema of the agg files this generator writes (see above). */
extern const char gen_agg_schema_json[];

struct gen_summary {
    uint64_t files;               /* .avro files (raw and agg) */
    uint64_t agg_files;           /* of which agg */
    uint64_t records;
    uint64_t bytes;               /* bytes of .avro files */
    uint64_t days;
    uint64_t series;
    uint64_t metadata_files;
    uint64_t metadata_bytes;
};

/* Generates everything into the sink. Fails on bad options (ERR_USAGE) or a
 * sink error (its message, prefixed with the key). */
int gen_run(const struct gen_options *o, const struct gen_sink *sink, struct gen_summary *sum,
            struct err *e);

/* The seriesId of series i (0-based) for a seed, into buf (>= 80 bytes);
 * and its seriesBucket (0..255). For tests that predict keys. */
void gen_series_id(uint64_t seed, unsigned i, char *buf, size_t size);
unsigned gen_series_bucket(const char *series_id);

/* A sink writing under a local directory (creating subdirectories). */
int gen_dir_put(void *dir, const char *key, const void *data, size_t len, struct err *e);

#endif
