/* sampleadopt: takes over, once and exactly, what the original Python
 * sample merged into a day.
 *
 * The sample writes `merged_series_<ts>.avro` beside repart's day file and
 * only series ids into timeseries.txt, so its index lines say nothing about
 * which objects (or which content of them) it merged. When some listed
 * source of a day has no #src line, every sample file of the day that no
 * #file line names yet (one LIST of the day's data prefix) is read, and each listed source without a
 * #src line is offered to it (adopt.h: all of the source's records present
 * in the file, byte for byte). A source found whole gets a #src line naming
 * the sample's file (no byte range: the file is the sample's and is never
 * rewritten or deleted), the file a #file line (only once it holds at
 * least one: until then it is looked at again). Sources found in no sample
 * file stay new. A source found in part fails the day. No LastModified time
 * is involved. */
#ifndef REPART_SAMPLEADOPT_H
#define REPART_SAMPLEADOPT_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "s3.h"
#include "scan.h"


/* 1 when name (relative to the day's data prefix; etag as listed) is a
 * sample file the index ix does not account for: no #file line names it,
 * no #folded line with this ETag. Every run of the day looks at such a
 * file (sampleadopt_day), also one with nothing new. */
int sampleadopt_unaccounted(const struct index *ix, const char *name, const char *etag);

struct sampleadopt_opts {
    int may_fold;                   /* 0: a file to fold is left for a later run
                                       (download: nothing is merged now) */
    const struct day_scan *merging; /* the sources the caller merges now (upload: the
                                       staged ones); NULL: every new source of s */
    int readopt_changed;            /* verify --repair: an adopted sample file that is no
                                       longer the version its #file line names is adopted
                                       again from its records; otherwise the day stops */
    /* Reads the committed version of merged.avro (as the index names it)
     * into *out (the caller frees it, also on failure); ERR_DATA when it
     * is not available. NULL: not offered (see sampleadopt_day). */
    int (*read_committed)(void *ud, struct bytebuf *out, struct err *e);
    void *committed_ud;
    /* verify --repair (which forgets what the index says of merged.avro):
     * merged.avro's sources gone from the cold tier, as the committed index
     * names them (n_gone entries, their ranges in the committed version,
     * whose header is gone_header_len bytes). Offered instead of the stale
     * sources above: a sample file that holds one whole keeps it there
     * (gone_held[j] = 1, its records counted as the file's `unowned`); the
     * caller's rebuild carries the others over. */
    const struct index_source *gone;
    size_t n_gone;
    long long gone_header_len;
    unsigned char *gone_held;
};

/* 1 when the sample's file `name`, listed with size and etag, is adopted
 * (#file) as another version: the sample rewrote it (run again in the same
 * second), so its records are not those the index counts. */
int sampleadopt_changed(const struct index *ix, const char *name, long long size,
                        const char *etag);

struct sampleadopt_result {
    size_t adopted;                 /* sources recorded with a #src line naming a sample file */
    size_t folded;                  /* sample files recorded as #folded: they hold sources
                                       committed in another file already (the sample ran
                                       while repart merged them); their other sources stay
                                       new. The caller merges those, commits, then deletes
                                       the folded files (#folded, by ETag) */
    size_t unowned_files;           /* sample files adopted with no source of the cold tier
                                       in them (#file line only: sources deleted since) */
};

/* Adopts into s->index (and re-marks s->src) what the day's sample files
 * hold, every sample file that no #file line names and no #folded line
 * with its ETag (one LIST of the day's data prefix). A file that also holds
 * sources committed in another file is folded instead (o->may_fold, and
 * every other source of it merged by the caller), and stops the day
 * (ERR_DATA, naming the file) when some of its records belong to no listed
 * source. The records the day file commits of sources no longer as
 * committed (deleted or overwritten since) are offered too, read through
 * o->read_committed, when a file has records left: a file holding them is
 * a second copy of them. A file holding records of no listed source only
 * (sources deleted from the cold tier) is adopted with all of them
 * `unowned`, provided a listing of the cold tier taken now shows no source
 * the scan did not (else the sample may have written it from one that
 * arrived since: it is left for the next run). After adopted or folded, the caller must commit the index even
 * when nothing is left to merge. */
int sampleadopt_day(struct s3_client *s3, const struct config *cfg, struct day_scan *s,
                    const char *dayname, const struct sampleadopt_opts *o,
                    struct sampleadopt_result *res, struct err *e);

#endif
