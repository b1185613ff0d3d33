/* config: repart's config.yml (libyaml), validated in full before anything runs.
 *
 *   timeseries_type: ALL            # ALL | ASSOCIATED | DISASSOCIATED
 *   timeseries_source: metadata     # metadata | api   (repart; where the associated list comes from)
 *   locking: auto                   # auto | on | off  (repart)
 *   read_back: auto                 # auto | always    (repart; see dayfile.h)
 *   log_format: text                # text | json      (repart; --log-format overrides)
 *   s3:
 *     region: eu-west-1              # optional: see config_resolve_region
 *     endpoint_url: ""
 *     path_style: false
 *     cold_tier:     { bucket_name: ..., data_prefix: raw/ }
 *     repartitioned: { bucket_name: ..., data_prefix: consolidated/, index_prefix: index/ }
 *     glue_assets:   { bucket_name: ..., scripts_prefix: ... }   # accepted and ignored
 *     upload:                       # (repart) what every written object is sent with
 *       sse: AES256                 # none | AES256 | aws:kms
 *       kms_key_id: arn:aws:kms:... # aws:kms only
 *       bucket_key: true            # aws:kms only
 *       storage_class: STANDARD_IA  # STANDARD | STANDARD_IA | INTELLIGENT_TIERING | ONEZONE_IA | GLACIER_IR | REDUCED_REDUNDANCY
 *       acl: bucket-owner-full-control   # private | bucket-owner-full-control | bucket-owner-read
 *       expected_bucket_owner: "111122223333"
 *       tags: "team=data&env=prod"
 *   date_range: { date_start: "2023-01-01", date_end: "2023-01-31" }
 *   work_dir: /tmp/sitewise
 *   concurrency: 16
 *   part_size_mb: 16
 *   output_codec: snappy            # snappy | deflate | null
 *   watch:                          # (repart) `repart watch`, see watch.h
 *     batch_messages: 100           # 1..10000 messages gathered into one batch
 *     batch_seconds: 60             # 1..3600  longest gathering after a batch's first message
 *     quiet_seconds: 5              # 0..20    a batch is complete after this long without a message
 *     visibility_timeout: 0         # 0..43200 seconds; 0 = the queue's VisibilityTimeout
 *
 * The original Python sample's current config.yml (timeseries_type,
 * s3.cold_tier.*, s3.repartitioned.*, s3.glue_assets.*) loads as it is;
 * s3.glue_assets only served its AWS Glue packaging and is ignored. Keys of
 * the sample's older layouts (s3_buckets, local_dirs, credentials) are
 * rejected with a hint naming the key to use instead.
 *
 * Every error has kind ERR_USAGE and reads "<file>:<line>: <key.path>: <reason>"
 * (no line when the key is missing). Rejected: unknown and duplicate keys,
 * aliases, more than one document, a mapping or list where a value belongs
 * (and the reverse), values out of range, prefixes that are empty, start
 * with '/', do not end with '/' or contain "//", bad dates, date_start after
 * date_end, a repartitioned data prefix that overlaps the index prefix or
 * the cold tier's data, a file larger than CONFIG_FILE_MAX.
 *
 * Enumerated values are matched case-insensitively. A plain `~`, `null` or
 * empty value means "not set" (the default applies) — except that
 * `output_codec: null` names the null codec. Numbers and booleans may be
 * quoted. */
#ifndef REPART_CONFIG_H
#define REPART_CONFIG_H

#include <stddef.h>
#include "codec.h"
#include "day.h"
#include "err.h"

#define CONFIG_FILE_MAX    (1024 * 1024)
#define CONFIG_BUCKET_MAX  255
#define CONFIG_PREFIX_MAX  512     /* equals COLDKEY_PREFIX_MAX */
#define CONFIG_REGION_MAX  63
#define CONFIG_URL_MAX     1024
#define CONFIG_PATH_MAX    1024

enum { CONFIG_TS_ALL = 0, CONFIG_TS_ASSOCIATED = 1, CONFIG_TS_DISASSOCIATED = 2 };
enum { CONFIG_TSSRC_METADATA = 0, CONFIG_TSSRC_API = 1 };
enum { CONFIG_LOCK_AUTO = 0, CONFIG_LOCK_ON = 1, CONFIG_LOCK_OFF = 2 };
enum { CONFIG_READ_BACK_AUTO = 0, CONFIG_READ_BACK_ALWAYS = 1 };
enum { CONFIG_LOG_TEXT = 0, CONFIG_LOG_JSON = 1 };  /* same values as log.h's LOG_FORMAT_* */
enum { CONFIG_CODEC_SNAPPY = 0, CONFIG_CODEC_DEFLATE = 1, CONFIG_CODEC_NULL = 2 };
/* datasets: which parts of the cold tier repart re-partitions (issue 12:
 * only raw is processed so far; agg is configured and validated). */
enum { CONFIG_DS_ALL = 0, CONFIG_DS_RAW = 1, CONFIG_DS_AGG = 2 };
enum { CONFIG_SSE_NONE = 0, CONFIG_SSE_AES256 = 1, CONFIG_SSE_KMS = 2 };
enum { CONFIG_ACL_NONE = 0 };       /* else an index into config_acl_name */
enum { CONFIG_CLASS_NONE = 0 };     /* else an index into config_storage_class_name */

/* What every object repart writes (merged files, indexes, leases, the
 * locking probe) is sent with, for bucket policies that demand it. */
struct config_upload {
    int  sse;                        /* CONFIG_SSE_*: x-amz-server-side-encryption */
    char kms_key_id[2049];           /* with aws:kms: ...-aws-kms-key-id ("" = the AWS key) */
    int  bucket_key;                 /* with aws:kms: ...-bucket-key-enabled: true */
    int  storage_class;              /* x-amz-storage-class (STANDARD, STANDARD_IA, ...) */
    int  acl;                        /* x-amz-acl (private, bucket-owner-full-control, ...) */
    char expected_bucket_owner[13];  /* 12 digits: x-amz-expected-bucket-owner on every
                                        request to the repartitioned bucket */
    char tags[1025];                 /* x-amz-tagging: "k=v&k2=v2", URL-encoded */
};

struct config {
    char path[CONFIG_PATH_MAX];     /* file it was read from; the name given to config_load_buffer */

    int timeseries_type;            /* CONFIG_TS_*       default ALL */
    int timeseries_source;          /* CONFIG_TSSRC_*    default metadata */
    int locking;                    /* CONFIG_LOCK_*     default auto */
    int read_back;                  /* CONFIG_READ_BACK_* default auto */
    int log_format;                 /* CONFIG_LOG_*      default text */
    int log_format_set;             /* 1 when the file sets log_format */

    struct {
        char region[CONFIG_REGION_MAX + 1];     /* see config_resolve_region */
        int  region_set;                        /* 1 when the file sets it */
        const char *region_from;                /* where region came from (static string:
                                                   "s3.region", "--region", "AWS_REGION",
                                                   "AWS_DEFAULT_REGION", "profile region",
                                                   "default"); NULL before resolving */
        char endpoint_url[CONFIG_URL_MAX + 1];  /* "" = AWS; the S3 client applies
                                                   AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL to "" */
        int  path_style;                        /* 0/1, default 0 */
        struct {
            char bucket_name[CONFIG_BUCKET_MAX + 1];  /* required */
            char data_prefix[CONFIG_PREFIX_MAX + 1];  /* default raw/; key_prefix + raw/ */
            char key_prefix[CONFIG_PREFIX_MAX + 1];   /* the SiteWise keyPrefix (the level
                                                         above raw/ and agg/); "" = not set */
            char agg_prefix[CONFIG_PREFIX_MAX + 1];   /* metrics, transforms, aggregates:
                                                         key_prefix + agg/, or data_prefix
                                                         with its last raw/ made agg/; ""
                                                         when neither applies */
        } cold_tier;
        struct {
            char bucket_name[CONFIG_BUCKET_MAX + 1];  /* required */
            char data_prefix[CONFIG_PREFIX_MAX + 1];  /* default consolidated/ */
            char index_prefix[CONFIG_PREFIX_MAX + 1]; /* default index/ */
            char agg_data_prefix[CONFIG_PREFIX_MAX + 1];  /* default consolidated_agg/ */
            char agg_index_prefix[CONFIG_PREFIX_MAX + 1]; /* default index_agg/ */
        } repartitioned;
        struct config_upload upload;            /* s3.upload.*; all unset by default */
    } s3;

    int        has_date_range;      /* 1 when date_range gives both days */
    struct day date_start, date_end;

    char work_dir[CONFIG_PATH_MAX + 1];  /* default /tmp/sitewise */
    int  concurrency;                    /* 1..1024, default 16 */
    int  part_size_mb;                   /* 5..5120, default 16 */
    int  output_codec;                   /* CONFIG_CODEC_*, default snappy */
    int  datasets;                       /* CONFIG_DS_*, default all */
    int  dataset;                        /* the dataset this config describes: 0 = raw (the
                                            file as loaded), 1 = agg (a view made by
                                            config_dataset_view); coldkey.h's values */

    struct {
        int batch_messages;              /* 1..10000, default 100 */
        int batch_seconds;               /* 1..3600, default 60 */
        int quiet_seconds;               /* 0..20, default 5 */
        int visibility_timeout;          /* 0..43200, default 0 = the queue's */
    } watch;
};

/* Fills every default; buckets empty, no date range. */
void config_defaults(struct config *c);

/* Reads and validates `path` (at most CONFIG_FILE_MAX bytes). A missing or
 * unreadable file is an ERR_USAGE error naming the path. Does not look at
 * the environment (see config_apply_env). Nothing to free. */
int config_load_file(const char *path, struct config *out, struct err *e);

/* Same from bytes; `name` is used in messages (NULL: "config"). `buf` need
 * not be NUL-terminated. */
int config_load_buffer(const char *buf, size_t len, const char *name, struct config *out,
                       struct err *e);

/* Resolves s3.region as the AWS CLI does (awscfg_region): region_opt
 * (--region; may be NULL), else the file's s3.region, else AWS_REGION,
 * AWS_DEFAULT_REGION, the AWS profile's region; us-east-1 when none is set.
 * Sets s3.region_from. Error ERR_USAGE naming the variable or profile. The
 * endpoint settings are left to the clients (awscfg_endpoint). */
int config_resolve_region(struct config *c, const char *region_opt, struct err *e);

/* config_resolve_region(c, NULL, e). */
int config_apply_env(struct config *c, struct err *e);

/* Names for messages and --json output ("ALL", "metadata", "auto", "text",
 * "snappy"). */
const char *config_ts_type_name(int v);
const char *config_ts_source_name(int v);
const char *config_locking_name(int v);
const char *config_log_format_name(int v);
const char *config_codec_name(int v);
const char *config_datasets_name(int v);      /* "all", "raw", "agg" */

/* Header values of s3.upload ("" / NULL when unset). */
const char *config_sse_name(int v);            /* "AES256", "aws:kms" */
const char *config_acl_name(int v);
const char *config_storage_class_name(int v);

/* The rules of s3.upload (also after --sse etc. changed it): a KMS key id or
 * bucket key only with aws:kms, an account id of 12 digits, tags as a URL
 * query of at most 10 pairs. ERR_USAGE naming the key. */
int config_upload_check(const struct config_upload *u, struct err *e);

/* Parses one value of s3.upload given on the command line (`key` is
 * "sse", "kms_key_id", "bucket_key", "storage_class", "acl",
 * "expected_bucket_owner" or "tags"), then config_upload_check. */
int config_upload_set(struct config_upload *u, const char *key, const char *value,
                      struct err *e);

/* The config as one dataset sees it (ds: 0 = raw, 1 = agg, as coldkey.h's
 * enum coldkey_ds): for agg, s3.cold_tier.data_prefix is agg_prefix, the
 * repartitioned data and index prefixes are the agg ones, and work_dir is
 * <work_dir>/agg (its stage folders apart from raw's). Every module that
 * reads those prefixes then serves the dataset unchanged. ERR_USAGE when agg
 * has no prefix or the paths do not fit. `out` holds no pointers into `c`. */
int config_dataset_view(const struct config *c, int ds, struct config *out, struct err *e);

/* The datasets `c->datasets` selects, in order (raw before agg), into
 * out[2]; agg only when it has a prefix. Returns how many. */
int config_dataset_list(const struct config *c, int out[2]);

/* The schema a dataset's day file starts from: the SiteWise RawDatum schema
 * for raw; NULL for agg (the first source's schema, widened as the others
 * need: its record name comes from the files, never assumed). Static. */
const char *config_base_schema(const struct config *c);

/* "raw" / "agg", for messages. */
const char *config_dataset_name(int ds);

/* The codec that `output_codec` names. */
enum codec_id config_output_codec(const struct config *c);

#endif
