/* verify: checks one day of the repartitioned bucket against its index and
 * the cold tier (`repart verify`), and the day-level facts `repart status`
 * shows.
 *
 * Per day: lists the cold tier and reads the index (scan.h), lists the day's
 * data prefix, then on the transfer pool, in parallel:
 *  - streams every merged file that the index names through the block
 *    scanner (ocf_stream.h): its record count, or the byte offset where it is
 *    truncated or corrupt; with `deep`, also decompresses every block, checks
 *    it record by record (datum.h) and decodes each record's seriesId
 *    (Avro C), which must be a series of that file's sources;
 *  - reads the block headers of every source the index says the file holds
 *    (cold tier; small objects): the file must hold the sum of their counts.
 * Then reports:
 *  problems  missing files (named by #src lines, absent), orphans (repart's
 *            merged_<32 hex>.avro that no #src line names), count mismatches,
 *            corrupt/truncated files, unreadable files, foreign series (deep);
 *  warnings  sources of the index gone from the cold tier or changed since
 *            (their file's count cannot be checked then), sources that could
 *            not be read;
 *  info      the original Python sample's merged_series_*.avro ("legacy",
 *            nothing checked) and other objects under the prefix.
 * With `repair`, orphans are deleted: with locking (config `locking`, the
 * pipeline's rule) while holding the day's lease (lease.h), as a writer
 * would; after reading the index once more (a file committed meanwhile is
 * not an orphan); and only when older than repair_min_age seconds: a run
 * uploads its merged file before it commits the index (a multipart upload's
 * LastModified is when it started), so a young unreferenced file may be a
 * commit in progress of a writer that runs without locking or lost its
 * lease. */
#ifndef REPART_VERIFY_H
#define REPART_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "day.h"
#include "err.h"
#include "pool.h"
#include "s3.h"
#include "scan.h"

/* Default of verify_env.repair_min_age (REPART_REPAIR_MIN_AGE overrides it in
 * the CLI). */
#define VERIFY_REPAIR_MIN_AGE_DEFAULT 3600

enum verify_sev { VERIFY_INFO = 0, VERIFY_WARNING = 1, VERIFY_PROBLEM = 2 };

enum verify_kind {
    VK_MISSING = 0,       /* a merged file the index names is absent */
    VK_ORPHAN,            /* merged_<32 hex>.avro that no #src line names */
    VK_COUNT_MISMATCH,    /* records in the file != sum over its sources */
    VK_CORRUPT,           /* the container does not parse (message: key and offset) */
    VK_UNREADABLE,        /* the GET of a merged file failed */
    VK_FOREIGN_SERIES,    /* deep: records of series none of its sources holds */
    VK_SOURCE_GONE,       /* warning: a source of the index is no longer in the cold tier */
    VK_SOURCE_CHANGED,    /* warning: a source's ETag or size differs from the index's */
    VK_SOURCE_UNREADABLE, /* warning: a source's records could not be counted */
    VK_REPAIRED,          /* info: an orphan was deleted */
    VK_LEGACY,            /* info: merged_series_*.avro of the Python sample */
    VK_OTHER,             /* info: another object under the day's data prefix */
    VK_INDEX_DAMAGED,     /* the #src ranges do not tile the day file (records untracked) */
    VK_SAMPLE_UNACCOUNTED, /* warning: a sample file no #file / #folded line accounts for:
                              the next run adopts or folds it; --repair rebuilds the day */
    VK_BAD_KEY,           /* .avro keys under the day that do not parse (a run fails the day) */
    VK_VALUE_MISMATCH,    /* deep: as many records as its sources, but other field values */
};
#define VK_LAST VK_VALUE_MISMATCH

struct verify_finding {
    enum verify_kind kind;
    enum verify_sev sev;
    char *key;            /* object it is about (owned; NULL when none) */
    char *msg;            /* owned */
};

enum verify_file_status {
    VF_OK = 0,            /* record count checked and right */
    VF_UNCHECKED,         /* read fine, but the expected count is unknown (sources gone) */
    VF_MISSING,
    VF_ORPHAN,
    VF_REPAIRED,          /* orphan, deleted */
    VF_MISMATCH,
    VF_CORRUPT,
    VF_UNREADABLE,
    VF_FOREIGN_SERIES,
    VF_LEGACY,
    VF_OTHER,
    VF_VALUE_MISMATCH,    /* deep: the records' field values are not its sources' */
};

struct verify_file {
    char *name;           /* the part after the day's data prefix (owned) */
    char *key;            /* full key (owned) */
    long long size;       /* -1 when missing */
    long long last_modified;
    char etag[80];        /* as listed */
    enum verify_file_status status;
    size_t sources;       /* #src lines that name it */
    long long records;    /* read from the file; -1 when not read */
    long long expected;   /* sum over its sources; -1 when unknown */
};

struct verify_day {
    struct day day;
    struct err err;               /* when verify_day returned -1 */
    int index_exists;
    size_t cold_objects;          /* parsed keys under the day in the cold tier */
    long long cold_bytes;
    size_t bad_keys;              /* .avro keys under the day that do not parse */
    size_t skipped_keys;          /* keys under the day that are not data */
    size_t pending;               /* of them, not covered by the index (a run would merge) */
    long long pending_bytes;
    size_t pending_series;        /* series the index does not name yet */
    size_t index_series;          /* series lines (the sample's #compat short ids excluded) */
    size_t index_sources;         /* #src lines */
    size_t merged_files, legacy_files, other_files;
    long long merged_bytes;       /* of repart's merged files */
    uint64_t records;             /* in the merged files read */
    uint64_t records_expected;    /* over the files whose expected count is known */
    size_t sources_read;          /* source objects whose blocks were counted */
    struct verify_file *files;    /* sorted by name; missing files included */
    size_t n_files;
    struct verify_finding *findings;
    size_t n_findings, cap_findings;
    size_t problems, warnings;
    size_t n_kind[VK_LAST + 1];  /* findings per kind */
};

struct verify_env {
    int locking;                         /* the run keeps writers apart (runtime.locking) */
    const struct config *cfg;
    struct s3_client *s3;
    struct pool *pool;            /* GETs run here (one task per object) */
    const struct scan_filter *filter;  /* timeseries_type, for `pending` of
                                          verify_survey_day; NULL = ALL. verify_day
                                          always looks at every cold-tier object. */
    int deep;
    int repair;
    long long repair_min_age;     /* seconds */
    long long now;                /* unix seconds, for the age of orphans */
};

/* Verifies one day into *out (zeroed first; free with verify_day_free, also
 * after a failure). Returns 0 when the day could be read (problems are
 * counted in out->problems), -1 when it could not (listing or index failed;
 * out->err names what). Never prints. */
int verify_day(const struct verify_env *env, const struct day *d, struct verify_day *out);
void verify_day_free(struct verify_day *v);

/* The facts `status` shows, without reading any data: cold-tier objects,
 * the index, and the merged files present (out->files, classified by name;
 * nothing read). Same return convention. */
int verify_survey_day(const struct verify_env *env, const struct day *d, struct verify_day *out);

/* "missing", "orphan", ... and "ok", "unchecked", ... for output. */
const char *verify_kind_name(enum verify_kind k);

/* 1 when the day's findings call for rebuilding its day file from the cold
 * tier (`verify --repair`): a named file missing, corrupt or holding other
 * records than its sources, or an index that lost track of records. */
int verify_day_needs_rebuild(const struct verify_day *v);
const char *verify_sev_name(enum verify_sev s);
const char *verify_file_status_name(enum verify_file_status s);

/* merged_<32 lower hex>.avro: the names repart gives merged files. */
int verify_is_merged_name(const char *name);
/* merged_series_<anything>.avro: the original Python sample's. */
int verify_is_legacy_name(const char *name);

#endif
