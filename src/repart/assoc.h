/* assoc: the set of time series that are associated with an asset property,
 * for `timeseries_type: ASSOCIATED | DISASSOCIATED` (ALL needs no set).
 *
 * Where the set comes from (config `timeseries_source`):
 *
 * - metadata (default): the cold tier's own asset metadata. SiteWise writes
 *     {keyPrefix}/asset_metadata/asset_{assetId}.ndjson
 *   beside {keyPrefix}/raw/ (AWS IoT SiteWise User Guide, "File paths and
 *   schemas of data saved in the cold tier", section "Asset metadata"), one
 *   JSON object per asset property and line: assetId, assetName,
 *   assetModelId, assetModelName, assetPropertyId, assetPropertyName,
 *   assetPropertyDataType, assetPropertyUnit, assetPropertyAlias,
 *   timeSeriesId, timeSeriesBucket, assetComposite*, assetCreationDate,
 *   assetLastUpdateDate, assetStatus* (many may be null). The folder is the
 *   sibling of cold_tier.data_prefix's last segment ("raw/" ->
 *   "asset_metadata/", "exports/raw/" -> "exports/asset_metadata/"); when
 *   that holds no asset_*.ndjson object, "asset_metadata/" at the bucket
 *   root is tried as well. Finding none at all is an error (ERR_USAGE): the
 *   data prefix is probably wrong, and an empty set would silently drop
 *   (ASSOCIATED) or keep (DISASSOCIATED) everything.
 *
 * - api: the SiteWise ListTimeSeries API, as the original Python sample does:
 *     GET /timeseries/?maxResults=250&nextToken=..&timeSeriesType=ASSOCIATED
 *   on https://api.iotsitewise.<s3.region>.amazonaws.com (env
 *   AWS_ENDPOINT_URL_IOTSITEWISE, then AWS_ENDPOINT_URL, override it), SigV4
 *   service "iotsitewise". The response is
 *     {"TimeSeriesSummaries":[{"timeSeriesId","assetId","propertyId","alias",
 *       "dataType",...}],"nextToken":"..."}
 *   Both types list ASSOCIATED: DISASSOCIATED keeps the complement, exactly
 *   as with the metadata source. Throttling (429 / ThrottlingException), 5xx
 *   and connection errors are retried with exponential backoff and full
 *   jitter.
 *
 * Ids. The cold tier's object keys and records name a series by the same id
 * as timeSeriesId: for an associated series it is "<assetId>_<propertyId>"
 * (the user guide's asset metadata example has
 * "timeSeriesId":"7020c8e2-..._95e63da7-...", the raw file
 * raw_7020c8e2-..._95e63da7-..._1609577700_GOOD.avro, and "You can use this
 * field to join raw data and asset metadata"; the API reference gives
 * TimeSeriesSummary.timeSeriesId a length of 36..73 = UUID or UUID_UUID),
 * for a disassociated one a plain UUID. So the set holds timeSeriesId as it
 * is, which is what coldkey_parse yields as `series_id`. Where a line or
 * summary also names the asset and the property (metadata: assetId +
 * assetPropertyId; API: assetId + propertyId), "<assetId>_<propertyId>" is
 * added too, so that the key form is covered even if timeSeriesId were
 * spelled differently; it also covers lines that lack timeSeriesId.
 * Ids that no cold-tier key can carry (characters outside [A-Za-z0-9._-],
 * longer than COLDKEY_SERIES_MAX) are skipped: they could never match.
 *
 * Parsing is strict where it matters and lenient where SiteWise varies:
 * a line that is not a JSON object, or a timeSeriesId/assetId/propertyId
 * that is neither a string nor null, is an error (ERR_DATA) naming the
 * object and line; unknown fields are ignored; a line with no usable id is
 * skipped; blank lines are ignored. Lines are at most ASSOC_LINE_MAX bytes,
 * objects at most ASSOC_OBJECT_MAX, API pages at most ASSOC_PAGE_MAX. */
#ifndef REPART_ASSOC_H
#define REPART_ASSOC_H

#include <stddef.h>
#include "err.h"

struct config;
struct s3_client;
struct creds_provider;
struct pool;

#define ASSOC_LINE_MAX    (256 * 1024)
#define ASSOC_OBJECT_MAX  (64 * 1024 * 1024)
#define ASSOC_PAGE_MAX    (16 * 1024 * 1024)
#define ASSOC_TOKEN_MAX   4096       /* ListTimeSeries nextToken, per the API reference */
#define ASSOC_PREFIX_MAX  600

/* A set of series ids. While being filled (assoc_set_add, the parsers) it
 * is an unsorted list; assoc_set_sort makes it sorted and unique
 * (strcmp order), which assoc_contains needs. assoc_load returns it sorted.
 * `ids` and every string are owned by the set: free with assoc_set_free. */
struct assoc_set {
    char **ids;
    size_t n, cap;
    size_t sources;   /* assoc_load: metadata objects read, or API pages fetched */
    size_t skipped;   /* lines/summaries without a usable id */
};

void assoc_set_free(struct assoc_set *s);
/* Copies id[0..len) into the set. -1 on OOM. */
int  assoc_set_add(struct assoc_set *s, const char *id, size_t len, struct err *e);
/* Sorts and removes duplicates. */
void assoc_set_sort(struct assoc_set *s);
/* Moves every id of *from into *to (from is left empty). -1 on OOM. */
int  assoc_set_move(struct assoc_set *to, struct assoc_set *from, struct err *e);
/* 1 when the (sorted) set holds series_id, else 0. */
int  assoc_contains(const struct assoc_set *s, const char *series_id);
/* Whether a series passes the timeseries_type filter (CONFIG_TS_*): ALL
 * keeps everything, ASSOCIATED what the set holds, DISASSOCIATED the rest. */
int  assoc_keep(int timeseries_type, const struct assoc_set *s, const char *series_id);

/* Parses one asset metadata object (NDJSON) and adds its ids to *set.
 * `name` (the object key) is used in messages: "<name>:<line>: ...". */
int assoc_parse_ndjson(const void *buf, size_t len, const char *name, struct assoc_set *set,
                       struct err *e);

/* Parses one ListTimeSeries response body and adds its ids to *set.
 * *next_token receives a malloc'd nextToken (caller frees), or NULL on the
 * last page. A token longer than ASSOC_TOKEN_MAX or with characters
 * outside [A-Za-z0-9+/=] is an error. */
int assoc_parse_api_page(const void *buf, size_t len, char **next_token, struct assoc_set *set,
                         struct err *e);

/* The asset metadata folder for a cold-tier data prefix: the data prefix
 * with its last segment replaced by "asset_metadata/" ("raw/" ->
 * "asset_metadata/"). Returns the length, or -1 when it does not fit. */
int assoc_metadata_prefix(char *buf, size_t size, const char *data_prefix);

/* The ListTimeSeries endpoint: AWS_ENDPOINT_URL_IOTSITEWISE, then
 * AWS_ENDPOINT_URL, else https://api.iotsitewise.<region>.amazonaws.com
 * (.amazonaws.com.cn for cn-* regions), without a trailing '/'. Returns
 * the length or -1 (ERR_USAGE: not http(s)://host, or too long). */
int assoc_api_endpoint(char *buf, size_t size, const char *region, struct err *e);

/* Loads the set for cfg->timeseries_type from cfg->timeseries_source.
 * ALL: an empty set, no I/O. metadata: lists and GETs through `s3`, the GETs
 * in parallel on `pool` (may be NULL: one at a time; must not be called from
 * a task of that pool). api: signs with `creds` (may be NULL for metadata).
 * On success *out (which must be zeroed) is sorted; free with
 * assoc_set_free. On error *out is left empty. */
int assoc_load(const struct config *cfg, struct s3_client *s3, struct creds_provider *creds,
               struct pool *pool, struct assoc_set *out, struct err *e);

/* The two sources on their own (assoc_load picks one). */
int assoc_load_metadata(struct s3_client *s3, const char *bucket, const char *data_prefix,
                        struct pool *pool, struct assoc_set *out, struct err *e);
int assoc_load_api(const char *region, struct creds_provider *creds, struct assoc_set *out,
                   struct err *e);

#endif
