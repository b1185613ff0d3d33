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
 * of the schema's slot in the set and the record's encoded bytes), and each
 * candidate source is offered in turn. A source is taken when every one of
 * its records is present (with multiplicity); those keys are then removed,
 * so two sources holding the same record both need a copy of it. No
 * LastModified time, no series id or time window is involved.
 *
 * Schemas: sample files whose schemas are equal (Avro C's equality, both
 * ways: avsc_equal) share a slot; records under different slots never match.
 * A source whose schema equals a slot's is compared byte for byte; under any
 * other slot its records are first resolved into that slot's schema with the
 * merge module (what the sample's re-encoding did: dropped extra fields,
 * defaults, promotions); a source that cannot be resolved into a slot has
 * none of its records there.
 *
 * Memory: 20 bytes per slot of an open-addressing table kept at most 80%
 * full (about 25-27 bytes per distinct record; 1.7 M records ~ 45 MB), plus
 * one decompressed block and one source's keys while it is offered. The
 * containers themselves are the caller's and are not kept.
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
 * was started, so a day may hold several). Its records join the multiset;
 * sources are then attributed to the union. On failure the set is left
 * incomplete and every later call on it fails: free it. */
int adopt_add(struct adopt_set *s, const void *container, size_t len, const char *name,
              struct err *e);

/* Offers one source object (a raw_ container, whole in source[0..len)).
 *  - every record present: *taken = 1, its records leave the set;
 *  - none present (also: a source without records): *taken = 0, the set
 *    is unchanged;
 *  - some but not all: returns -1 with ERR_DATA naming the source, the
 *    sample file(s) and the counts, *taken = -1, the set unchanged: the
 *    sample file holds part of this source, so exactly-once cannot be
 *    established automatically.
 * A corrupt source fails with ERR_DATA naming it and *taken = 0.
 *
 * Records shared by several sources make the answer depend on the order of
 * the offers: offer larger sources first, and offer a source that came back
 * partial (*taken == -1) again after all the others; only a source still
 * partial then is an error of the day. */
int adopt_take(struct adopt_set *s, const void *source, size_t len, const char *source_name,
               int *taken, struct err *e);

/* Records of the sample file(s) not attributed to any source taken so far.
 * After every candidate was offered, nonzero means the sample file holds
 * records of sources that are no longer in the cold tier (or that were not
 * offered): worth reporting, not an error. */
uint64_t adopt_left(const struct adopt_set *s);

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
