/* merge: streams many Avro container files into one.
 *
 * Usage: merge_open, then merge_add once per source file (whole file in
 * memory), then merge_finish, then merge_free. Output bytes go to a sink
 * callback as they are produced; memory stays bounded by the largest block
 * (not by the number or size of the sources).
 *
 * Per source, one of three paths:
 *  - copy:    source schema equals the output schema (Avro C's schema
 *             equality, both ways) and the codec is the output codec: blocks
 *             are re-emitted as they are, with the output's sync marker. No
 *             decompression; framing and sync markers are checked (see
 *             merge_verify for what else).
 *  - recode:  same schema, other codec: blocks are decompressed, checked
 *             record by record (datum.h) and recompressed; no Avro C decode.
 *  - resolve: other schema: records are checked, then decoded by Avro C with
 *             schema resolution into the output schema (avsc.h: defaults for
 *             missing fields, dropped extra fields, promotions) and re-encoded.
 *
 * A source is checked completely before any of its bytes reach the sink, so
 * a bad source (corrupt, truncated, unsupported codec, unresolvable schema)
 * fails merge_add with an error naming it and byte offset, and leaves the
 * output as it was: the caller may go on with other sources or give up. */
#ifndef REPART_MERGE_H
#define REPART_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"
#include "ocf.h"

enum merge_verify {
    /* Copied blocks: framing and sync markers; uncompressed (null codec)
     * blocks are also walked record by record (cheap), snappy blocks get
     * their length header checked. Re-encoded sources are always fully
     * checked. The default. */
    MERGE_VERIFY_AUTO = 0,
    /* Copied blocks: framing and sync markers only. */
    MERGE_VERIFY_FRAMING,
    /* Copied blocks are also decompressed (snappy CRC checked) and walked
     * record by record: catches corrupt data inside compressed blocks at the
     * cost of decompressing everything (see docs/benchmarks.md). */
    MERGE_VERIFY_FULL,
};

struct merge_options {
    /* Output schema JSON (NUL-terminated). NULL: take the first added
     * source's schema (its text, as is). */
    const char *schema_json;
    enum codec_id codec;                    /* output codec */
    /* Output sync marker. Callers derive it from the set of sources, so a
     * rerun over the same sources writes the same bytes. */
    unsigned char sync[OCF_SYNC_SIZE];
    size_t block_target;    /* uncompressed bytes per re-encoded block; 0 = 64 KiB */
    int deflate_level;      /* 1..9; 0 = 6 */
    size_t max_block;       /* cap on a decompressed source block; 0 = 64 MiB */
    enum merge_verify verify;
    /* Continue a container whose header (and `continue_at` bytes in all)
     * the sink already has: no header is written, and output offsets count
     * from continue_at. The header's schema, codec and sync marker must be
     * the ones given above. 0 = write a new file. */
    uint64_t continue_at;
    uint64_t continue_header_len;   /* that file's header length (for merge_header_len) */
    /* No field of any source is ever dropped: a source whose schema has
     * what the output schema lacks (a field, a union branch, a wider type:
     * avsc_widen) widens the output schema while nothing has been written
     * yet; after that merge_add fails with ERR_WIDER and
     * merge_wider_schema() gives the schema to write the output again with.
     * No schema holding both: ERR_DATA naming the field and both types.
     * 0: sources are resolved into the output schema as it is (their extra
     * fields dropped). */
    int widen;
    /* The output must stay a SiteWise record: a record with a string
     * seriesId and a long (or int) timeInSeconds, whatever the first source
     * or a widening makes it (an agg day has no schema of its own to start
     * from). A source that would make it anything else fails with ERR_DATA
     * naming it. */
    int sitewise;
};

enum merge_mode {
    MERGE_EMPTY = 0,    /* no records: nothing written, still counts as merged */
    MERGE_COPIED,
    MERGE_RECODED,
    MERGE_RESOLVED,
};

struct merge_source_stats {
    enum merge_mode mode;
    uint64_t records;
    uint64_t blocks;
    uint64_t bytes;      /* size of the source file */
    /* Where its records went: output bytes [out_offset, out_offset + out_len),
     * whole blocks that hold this source's records and no other's (each
     * source ends its own blocks). out_len 0 for an empty source. */
    uint64_t out_offset, out_len;
};

struct merge_stats {
    uint64_t sources;            /* successfully added */
    uint64_t sources_copied;
    uint64_t sources_recoded;
    uint64_t sources_resolved;
    uint64_t sources_empty;
    uint64_t sources_failed;     /* merge_add calls that failed */
    uint64_t records_in;
    uint64_t records_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t blocks_out;
};

struct merge;

/* Returns NULL on error (bad output schema: ERR_USAGE). Nothing is written
 * until the first source's data or merge_finish. Free with merge_free. */
struct merge *merge_open(const struct merge_options *o, ocf_sink_fn sink, void *ud,
                         struct err *e);

/* Adds one source file held in data[0..len). `name` (object key or path)
 * names it in messages. st may be NULL. On failure the output is unchanged,
 * except in the unlikely case that Avro C rejects data our checks accepted
 * after some of it was written: then the merge is marked failed and every
 * later call fails (the error says so). */
int merge_add(struct merge *m, const char *name, const void *data, size_t len,
              struct merge_source_stats *st, struct err *e);

/* Flushes the last block (and the header if nothing was written yet). With
 * no output schema and no source added, fails. out may be NULL. */
int merge_finish(struct merge *m, struct merge_stats *out, struct err *e);

/* After merge_add failed with ERR_WIDER: the output schema that holds the
 * output's and that source's fields (owned by the merge), else NULL. */
const char *merge_wider_schema(const struct merge *m);

/* The output schema (NULL before one is known). */
const char *merge_schema(const struct merge *m);

/* Length of the output's header (once written, or the continued file's). */
uint64_t merge_header_len(const struct merge *m);

/* Current statistics (also valid after a failure). */
void merge_get_stats(const struct merge *m, struct merge_stats *out);

void merge_free(struct merge *m);

/* Merges files into out_path (written as out_path + ".part", renamed on
 * success, removed on failure). Stops at the first bad source. Used by tests
 * and by `repart merge` on a directory of downloaded files. */
int merge_files(const char *const *paths, size_t n, const char *out_path,
                const struct merge_options *o, struct merge_stats *st, struct err *e);

/* Derives a sync marker from a list of strings (e.g. source keys and ETags):
 * the first 16 bytes of SHA-256 over each string with its length. The same
 * set in the same order gives the same marker. */
void merge_derive_sync(const char *const *items, size_t n, unsigned char sync[OCF_SYNC_SIZE]);

#endif
