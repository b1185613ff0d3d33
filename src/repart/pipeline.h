/* pipeline: the day-by-day work of `download`, `merge`, `upload` and `all`.
 *
 * Per day, in one direction: scan (list + index) -> keep what the index does
 * not cover -> fetch on the transfer pool (a bounded window, keep-alive
 * connections) -> merge (block copy when it can) -> upload (single PUT, or
 * multipart with parallel parts while the merge is still producing) -> write
 * the updated index last: the index PUT is the commit. A day's merged file is
 * named from its sources (merged_<sha256 prefix>.avro), so a rerun after a
 * crash overwrites the same object; merged files of this naming that no
 * index line refers to (left by a run that died before its commit) are
 * deleted after the next commit of that day.
 *
 * Several days run at once (each on its own thread); all their transfers
 * share one pool of `concurrency` workers. A day that fails is reported and
 * the others go on; nothing of a failed day is committed. */
#ifndef REPART_PIPELINE_H
#define REPART_PIPELINE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "day.h"
#include "err.h"
#include "pool.h"
#include "s3.h"
#include "scan.h"

enum pipeline_mode {
    PIPELINE_ALL = 0,      /* download + merge + upload, streamed, nothing staged on disk */
    PIPELINE_DOWNLOAD,     /* fetch new sources into <work_dir>/raw/<day>/ */
    PIPELINE_MERGE,        /* <work_dir>/raw/<day>/ -> <work_dir>/merged/<day>/ */
    PIPELINE_UPLOAD,       /* <work_dir>/merged/<day>/ -> bucket, then index, then clean up */
    PIPELINE_REPAIR,       /* rebuild the day file from the cold tier, whatever the index says
                              of it (`verify --repair`) */
};

enum day_status {
    DAY_PENDING = 0,
    DAY_DONE,              /* new data merged and committed (or staged, for download/merge) */
    DAY_NOTHING_NEW,       /* nothing to do */
    DAY_FAILED,
    DAY_STOPPED,           /* a graceful stop (stop.h): not started, or stopped before its
                              commit; nothing of it committed, a rerun does it */
};

struct day_result {
    struct day day;
    enum day_status status;
    size_t objects;            /* source objects of the day */
    size_t new_objects;        /* merged by this run */
    size_t series_new;
    size_t bad_keys;           /* .avro keys that do not parse (the day fails) */
    size_t skipped_keys;       /* keys that are not data (warned about, skipped) */
    uint64_t records;
    uint64_t bytes_in;         /* source bytes fetched */
    uint64_t bytes_out;        /* merged bytes */
    uint64_t sources_copied, sources_reencoded;
    double secs_list, secs_download, secs_merge, secs_upload, secs_total;
    char merged_key[1100];     /* object written, "" when none */
    struct err err;            /* when DAY_FAILED or DAY_STOPPED in flight */
    int commit_uncertain;      /* DAY_FAILED: the index PUT was sent and its answer lost
                                  (err.kind ERR_UNCERTAIN): the day may be committed */
    int cleanup_pending;       /* committed (or nothing new), but a file folded into the day
                                  file is still there (its listing or delete was cut short:
                                  a stop, a fault): queries count its records twice until
                                  the day's next run deletes it; in the rerun command */
};

struct pipeline_env {
    const struct config *cfg;
    struct s3_client *s3;
    struct pool *pool;                 /* transfer pool (concurrency workers) */
    const struct scan_filter *filter;  /* NULL = ALL */
    int days_in_flight;                /* 0 = default */
    int locking;                       /* one writer per day: lease + conditional commit */
    const volatile sig_atomic_t *stop; /* NULL, or raised by a signal (stop.h): no new day
                                          starts, days in flight stop before their commit */
    long stale_upload_secs;            /* a day's writer aborts multipart uploads of its day
                                          file older than this (left by a killed run);
                                          0 = default (3600) */
};

/* Runs `mode` for each day; results[i] is filled for days[i]. Returns the
 * number of failed days (0 = all fine). Never stops early for a failed day;
 * stops early when env->stop is raised (the days it did not finish are
 * DAY_STOPPED, not counted as failed). */
size_t pipeline_run(const struct pipeline_env *env, enum pipeline_mode mode,
                    const struct day *days, size_t n_days, struct day_result *results);

/* Parses the text of a staged day's state file (<work_dir>/raw|merged/<day>/
 * repart-day.json) as `merge` and `upload` do, and adds its sources to *ix
 * as the commit would. 0, or -1 with *e set (ERR_DATA for a malformed file).
 * For tests and fuzzing. */
struct index;
int pipeline_state_parse(const char *text, size_t len, struct index *ix, struct err *e);

/* "merged_<32 hex>.avro": the name of the merged file of these sources
 * (relkey and ETag of each, in merge order), and the output sync marker. */
void pipeline_merged_name(const struct scan_source *const *srcs, size_t n, char name[64],
                          unsigned char sync[16]);

/* 1 for names repart gives merged files: merged_<32 lower hex>.avro. Files
 * of other names (the Python sample's merged_series_<ts>.avro) are never
 * touched. */
int pipeline_is_merged_name(const char *name);



#endif
