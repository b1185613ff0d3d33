/* index: the per-day index that makes a run incremental and is its commit.
 *
 * One object per day, `<index_prefix>startYear=Y/startMonth=M/startDay=D/timeseries.txt`,
 * read by the original Python sample as newline-separated series ids. repart
 * writes the same file and adds its source-level record as extra lines that
 * start with '#', which the sample carries along as opaque "ids" (it matches
 * ids by equality, so they never match a series):
 *
 *     <seriesId>                      one per line (sorted, unique)
 *     #repart-index v2
 *     #compat<TAB><shortId>
 *     #file<TAB><name><TAB><size><TAB><md5><TAB><records><TAB><header length>[<TAB><etag>[<TAB><unowned><TAB><sources>]]
 *     #src<TAB><relkey><TAB><size><TAB><etag><TAB><file><TAB><offset><TAB><length>
 *     #folded<TAB><name><TAB><etag>
 *
 * A #file line is the committed version of one data file of the day (its
 * name under the day's data partition, size, MD5 of its bytes as hex, record
 * count and the length of its Avro header). The MD5 field of a day file that
 * grew by server-side copies is a chain of ranges with the header's MD5
 * (md5.h); one plain MD5 is a chain of one range. A #src line says that the
 * source object relkey, with exactly this size and ETag, has its records in
 * `file`, as the blocks at bytes [offset, offset + length). Version 1 (still
 * read) had no #file lines and no offset/length; its sources read back with
 * offset -1.
 *
 * The sample identifies a series by the key's second '_'-field, i.e. only
 * the asset id of an associated `<assetId>_<propertyId>` series. So that the
 * sample, continuing a bucket repart filled, skips what repart merged, repart
 * also writes that short id as a plain line, and lists it in a #compat line
 * so that repart itself never reads it as a legacy entry.
 *
 * relkey is the source key relative to the day prefix
 * (`seriesBucket=XX/raw_<seriesId>_<ts>_<quality>.avro`).
 *
 * Whether a listed object is merged is decided by its #src line alone
 * (index_source_state: key, size and ETag). Series lines say nothing about
 * objects: the sample's are taken over by adopting its files (sampleadopt.h).
 * Keeping everything in one object keeps the commit a single PUT. */
#ifndef REPART_INDEX_H
#define REPART_INDEX_H

#include <stddef.h>
#include "err.h"
#include "md5.h"

/* The ETag of a #src line (size 0) for a source whose earlier content, not
 * known any more, is in its file: a sample file that merged the source
 * before it was overwritten. Never equal to a listed object's. */
#define INDEX_ETAG_EARLIER "-"

/* The largest index object read (a day of about a million sources): a
 * bigger one is not a repart index, and is not read into memory. */
#define INDEX_OBJECT_MAX (512LL << 20)

struct index_source {
    char *relkey;       /* owned */
    char *series;       /* owned: series id parsed from relkey */
    long long size;
    char etag[80];
    char *merged;       /* owned: merged file name that holds its records */
    long long off, len; /* its blocks in `merged`; -1 = not known (v1, adopted) */
};

struct index_file {
    char *name;         /* owned: object name under the day's data partition */
    long long size;
    char md5[MD5CHAIN_TEXT_MAX];  /* MD5 of its committed bytes, lower hex, as a chain of
                                     ranges (md5.h): one plain MD5 when written whole */
    unsigned long long records;
    long long header_len;
    char etag[80];      /* the object's ETag as S3 gave it for this version ("" unknown) */
    long long unowned;  /* records no #src line accounts for; -1 = not known. Recorded
                           for the sample's adopted files only (7th field; the ETag is
                           then "-" when unknown): 0 means the file holds exactly its
                           sources' records, so it may be folded into the day file */
    long long sources;  /* #src lines that name it (8th field, with unowned); -1 = not
                           known. A different count means the index lost lines */
};

/* A file folded into the day file: its records are there now, and the
 * object of that name with that ETag (the version folded) is to be deleted
 * by any run of the day (a run stopped, or a delete failed, after the
 * commit). Kept once written: the ETag guards a later file of that name. */
struct index_folded {
    char *name;         /* owned */
    char etag[80];      /* "" when not known: then only version-1 names are deleted */
};

struct index {
    char **series;               /* owned strings; sorted and unique after index_parse/index_add */
    size_t n_series, cap_series;
    struct index_source *sources;/* sorted by relkey */
    size_t n_sources, cap_sources;
    char **compat;               /* owned, sorted: plain lines written for the sample only */
    size_t n_compat, cap_compat;
    const char **src_series;     /* borrowed from sources[]: sorted unique series that
                                    have #src lines (built by index_sort) */
    size_t n_src_series;
    struct index_file *files;    /* in name order */
    size_t n_files, cap_files;
    struct index_folded *folded;
    size_t n_folded, cap_folded;
    int version;                 /* 0 = no repart header (the sample's), 1, 2 */
    long long last_modified;     /* of the index object (unix s); 0 = unknown */
    char etag[80];               /* of the index object; "" when it did not exist */
};

/* Parses an index document (as GET returned it). *out must be zeroed or
 * index_init'ed; free with index_free. Malformed #src lines are an error. */
int index_parse(const char *text, size_t len, struct index *out, struct err *e);
void index_init(struct index *ix);
void index_free(struct index *ix);

/* Renders the document. Returns a malloc'd NUL-terminated string (caller
 * frees) and its length in *len_out, or NULL on OOM. */
char *index_format(const struct index *ix, size_t *len_out);

/* 1 when the series id is named by a series line (exact or legacy short). */
int index_has_series(const struct index *ix, const char *series_id);

/* Series lines that no #src record backs (neither exactly nor as a legacy
 * short id): what the original sample wrote for the sources in its own
 * merged file. */
size_t index_unbacked_series(const struct index *ix);

/* The #src record of relkey, or NULL. */
const struct index_source *index_source_find(const struct index *ix, const char *relkey);

/* Whether a listed object is merged: INDEX_SRC_SAME when a #src line names
 * its key with this size and ETag, INDEX_SRC_CHANGED when it names the key
 * with other content (the object was overwritten), INDEX_SRC_ABSENT. */
enum index_src_state { INDEX_SRC_ABSENT = 0, INDEX_SRC_SAME, INDEX_SRC_CHANGED };
enum index_src_state index_source_state(const struct index *ix, const char *relkey,
                                        long long size, const char *etag);

/* The #file record named `name`, or NULL. */
const struct index_file *index_file_find(const struct index *ix, const char *name);

/* Sets (adds or replaces) a #file record (unowned -1). -1 on OOM. */
int index_file_set(struct index *ix, const char *name, long long size, const char *md5,
                   unsigned long long records, long long header_len, const char *etag);

/* Records a folded file (once per name; a known name takes the new ETag).
 * -1 on OOM. */
int index_add_folded(struct index *ix, const char *name, const char *etag);

/* The #folded record of name, or NULL. */
const struct index_folded *index_folded_find(const struct index *ix, const char *name);

/* Removes the #src record of relkey, if any. */
void index_forget_source(struct index *ix, const char *relkey);

/* Removes every #src record of `merged` and its #file record. */
void index_forget_file(struct index *ix, const char *merged);

/* Checks that the #src ranges recorded for `name` tile its committed bytes
 * exactly: sorted by offset, the non-empty ones start at the header's end, follow each
 * other without gap or overlap and end at its size. A gap means records the
 * index lost track of (a hand edit, a damaged index): nothing may then be
 * decided from it. 0, or -1 (ERR_DATA) naming the first gap. */
int index_check_file(const struct index *ix, const char *name, struct err *e);

/* Checks that every #file line that records how many #src lines name it
 * (an adopted sample file) is named by that many. 0, or -1 (ERR_DATA)
 * naming the first file that lost lines. */
int index_check_adopted(const struct index *ix, struct err *e);

/* Records a merged source (and its series). Keeps arrays sorted: call
 * index_sort once after a batch of adds. Returns -1 on OOM. */
int index_add(struct index *ix, const char *relkey, const char *series_id, long long size,
              const char *etag, const char *merged);
/* The same with the source's byte range in `merged`. */
int index_add_range(struct index *ix, const char *relkey, const char *series_id, long long size,
                    const char *etag, const char *merged, long long off, long long len);
void index_sort(struct index *ix);

/* The series id of a source relkey ("seriesBucket=XX/raw_<id>_<ts>_<q>.avro",
 * agg_ the same,
 * or a bare basename): writes it into out (size cap). Returns -1 if the name
 * does not have that shape. */
int index_series_of(const char *relkey, char *out, size_t cap);

#endif
