/* adopt: which source objects does a merged file written by the original
 * Python sample hold?
 *
 * The sample decoded every record of its sources and re-encoded it into
 * `merged_series_<ts>.avro` under the first source's schema. Avro's binary
 * encoding of a value under one schema is canonical (Java and Python write
 * minimal varints, RawDatum has no arrays or maps), so a re-encoded record
 * has the same bytes as in its source. The sample's blocks, codec and
 * schema text differ from the sources'; the records' bytes do not.
 *
 * So: the sample file's records become a multiset of 128-bit keys (SHA-256
 * of the schema and the record's encoded bytes), and each candidate source
 * is offered in turn. A source is taken when every one of its records is
 * present (with multiplicity) in one sample file; those keys are then
 * removed, so two sources holding the same record both need a copy of it.
 * No LastModified time, no series id or time window is involved.
 *
 * Several sample files (each run of the sample that found new series of the
 * day wrote one): each file's keys are its own (the record keys XOR a
 * per-file pad), so a source is taken from the one file that holds all of
 * it, and adopt_last_file names that file.
 *
 * Schemas: sample files whose schemas are equal (Avro C's equality, both
 * ways: avsc_equal) hash records alike; equal bytes under different schemas
 * never match. A source whose schema equals a file's is compared byte for
 * byte; against a file of another schema its records are first re-encoded
 * into that schema with the merge module (what the sample's writer did:
 * dropped extra fields, defaults, promotions); a source that cannot be
 * re-encoded into it has none of its records there.
 *
 * Memory: 20 bytes per slot of an open-addressing table kept at most 80%
 * full, sized once from the sample's block counts: 25 bytes per distinct
 * record (1 M records: 25 MB; a 1.7 M-record day: 42.5 MB). Besides: one
 * decompressed block, a batch of 4096 keys (64 KiB), and while a source is
 * offered 8 bytes per record of it found in the set (bounded by the set).
 * The containers are the caller's and are not kept after a call.
 *
 * Identical records (same bytes) are interchangeable: whichever source one
 * is attributed to, the day's records counted as a multiset come out right,
 * so an arbitrary attribution among identical records is harmless.
 *
 * Untrusted bytes: both the sample file and the sources go through the
 * bounded container reader, the codecs' size cap and the record checker
 * (datum.h) before anything is hashed. */
#ifndef REPART_ADOPT_H
#define REPART_ADOPT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct adopt_set;

/* Reads a whole sample file (container[0..len), a merged file of the
 * original sample) into a new set. `name` names it in messages (copied).
 * Fails with ERR_DATA naming the file, the block offset and the record for a
 * corrupt or truncated file, and with ERR_GENERIC when out of memory.
 * Returns NULL on failure; otherwise the caller frees with adopt_free. */
struct adopt_set *adopt_open(const void *container, size_t len, const char *name,
                             struct err *e);

/* Adds another sample file of the same day (the sample ran once per day it
 * was started, so a day may hold several; at most 65535). On failure the
 * set is left incomplete and every later call on it fails: free it. */
int adopt_add(struct adopt_set *s, const void *container, size_t len, const char *name,
              struct err *e);

/* Offers one source object (a raw_ container, whole in source[0..len)).
 *  - every record present: *taken = 1, its records leave the set;
 *  - none present (also: a source without records): *taken = 0, the set
 *    is unchanged;
 *  - some but not all (in every sample file): returns -1 with ERR_DATA
 *    naming the source, the sample file that holds most of it and the
 *    counts, *taken = -1, the set unchanged: the sample file holds part of
 *    this source, so exactly-once cannot be established automatically.
 * A corrupt source fails with ERR_DATA naming it and the byte offset,
 * *taken = 0, the set unchanged (out of memory: ERR_GENERIC).
 *
 * Records shared by several sources make the answer depend on the order of
 * the offers: a source whose shared records belong to a source not offered
 * yet comes back partial. Offer such a source (*taken == -1) again after
 * all the others; only a source still partial then is an error of the day.
 * (Offering larger sources first also avoids a small source being taken
 * for records that a larger one holds, which would then be partial.) */
int adopt_take(struct adopt_set *s, const void *source, size_t len, const char *source_name,
               int *taken, struct err *e);

/* After adopt_take set *taken = 1: the name of the sample file that holds
 * the source (as given to adopt_open/adopt_add; valid until adopt_free).
 * NULL after any other outcome. A source merged twice by the sample (in
 * two of its files) is taken from the first; the other copy stays left. */
const char *adopt_last_file(const struct adopt_set *s);

/* Records of the sample file(s) not attributed to any source taken so far.
 * After every candidate was offered, nonzero means the sample file holds
 * records of sources that are no longer in the cold tier (or that were not
 * offered): worth reporting, not an error. */
uint64_t adopt_left(const struct adopt_set *s);

/* The same for one sample file (by the name it was added with); 0 for a
 * name not in the set. */
uint64_t adopt_file_left(const struct adopt_set *s, const char *name);

/* Takes the records still left in sample file `name` out of the set, and
 * calls each(ud, series, n, time) once per record (per copy) with its
 * seriesId and timeInSeconds when the file's schema starts with RawDatum's
 * two fields (else series NULL). `container` must be the bytes the file
 * was added with. For telling which sources the records no source accounts
 * for belong to; adopt_take is not meaningful afterwards. A nonzero return
 * of `each` stops the walk and is returned. */
int adopt_drain_left(struct adopt_set *s, const void *container, size_t len, const char *name,
                     int (*each)(void *ud, const char *series, size_t n, int64_t time),
                     void *ud, struct err *e);

struct adopt_stats {
    uint64_t records;        /* records read from the sample file(s) */
    uint64_t left;           /* adopt_left */
    uint64_t distinct;       /* distinct records still held */
    uint64_t sources_taken;
    uint64_t records_taken;
    size_t table_bytes;      /* memory of the key table */
};

void adopt_get_stats(const struct adopt_set *s, struct adopt_stats *out);

void adopt_free(struct adopt_set *s);

#endif
