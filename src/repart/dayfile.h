/* dayfile: the day's one merged file and how a run writes its next version.
 *
 * Every day has one repart file, `<data_prefix><partition>merged.avro`
 * (LAYOUT_DAYFILE). Its committed version is the one the index's #file line
 * describes (size, MD5, records, header length); every source in it has a
 * #src line with its byte range (index.h). A run writes the next version to
 * the same key, one of two ways:
 *
 *  - append: the committed bytes, unchanged (same header, same sync
 *    marker), then blocks of the new sources. An S3 PUT replaces an object
 *    atomically, so a reader sees the old version or the new one, and the
 *    new one starts with every byte of the old: nothing committed is ever
 *    missing or doubled, even for a reader that planned byte ranges on the
 *    old size.
 *  - rebuild: a new file from the cold tier (a new header and sync marker),
 *    when a source was overwritten in place (its old records must leave),
 *    or when the day still has files of index version 1 to fold in.
 *
 * Either way the new version is read back whole (size, MD5, framing,
 * records) before the index may name it; the index PUT is the commit. A
 * version written but not committed (a crash between the two PUTs) holds
 * the committed bytes plus records of real sources, which the next run
 * writes again after the same committed prefix. */
#ifndef REPART_DAYFILE_H
#define REPART_DAYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "day.h"
#include "err.h"
#include "index.h"
#include "layout.h"
#include "md5.h"
#include "pool.h"
#include "s3.h"
#include "upload.h"

struct dayfile_env {
    const struct config *cfg;
    struct s3_client *s3;
    struct pool *pool;
    struct upload_budget *budget;   /* may be NULL */
    int parts_in_flight;
    int locking;                    /* write only over the version seen at the start */
};

struct dayfile;

/* Starts the next version of day d's file. `committed` is the day's index
 * as read (borrowed, only during the call). rebuild = 0: append to the
 * committed version (which must exist: index_file_find(committed,
 * LAYOUT_DAYFILE)); its bytes are streamed into the new upload and checked
 * against the index's MD5. rebuild = 1: a new file with sync marker `sync`
 * and schema `schema` (NULL: RawDatum), widened by the first source when it
 * has more. Either way no field of a source is dropped: a source that needs
 * a wider schema than the one written fails dayfile_add with ERR_WIDER, and
 * dayfile_wider_schema() names the schema to rebuild the day with.
 * Free with dayfile_free. */
struct dayfile *dayfile_open(const struct dayfile_env *env, const struct day *d,
                             const struct index *committed, int rebuild,
                             const unsigned char sync[16], const char *schema, struct err *e);

/* Adds one source container (name for messages); *off and *len receive the
 * byte range of its records in the new version. */
int dayfile_add(struct dayfile *df, const char *name, const void *data, size_t len,
                long long *off, long long *range_len, struct err *e);

struct dayfile_result {
    long long size;             /* of the new version */
    char md5[MD5CHAIN_TEXT_MAX];  /* its MD5 chain (md5.h), as the index records it */
    unsigned long long records;
    long long header_len;
    long long bytes_new;        /* bytes this run produced (size minus the kept prefix) */
    long long bytes_sent;       /* bytes this process uploaded (the rest the server copied) */
    char etag[80];              /* the new version's, as S3 answered */
    uint64_t sources_copied, sources_reencoded;
};

/* Finishes the upload and makes sure, before anything may commit it, that
 * the object holds exactly the bytes meant, correctly framed, with the
 * records written. What this process sends is scanned as it goes (framing,
 * sync marker, record count) and checked before the object is completed.
 * When every byte of the object went through this process (a new or rebuilt
 * file, or an append whose committed bytes were carried over), it is proven
 * by its ETag without a second transfer: every part went with the
 * Content-MD5 of the bytes written into it and its ETag was checked, and the
 * object's ETag is the one those parts give. Otherwise (a committed prefix
 * the server copied; SSE-KMS or SSE-C ETags, servers that compute ETags
 * their own way) or with `read_back: always`, the object is read back whole
 * and checked the same way; -v says which. */
int dayfile_finish(struct dayfile *df, struct dayfile_result *out, struct err *e);

/* After ERR_WIDER from dayfile_add: the schema to rebuild with (owned by df). */
const char *dayfile_wider_schema(const struct dayfile *df);

/* The object key (for messages). */
const char *dayfile_key(const struct dayfile *df);

/* Aborts an unfinished upload and frees. NULL is fine. */
void dayfile_free(struct dayfile *df);

/* Reads the committed version of day d's file, the bytes the index's #file
 * line f describes (an uncommitted tail after them is left out), into *out
 * (appended; caller frees with bytebuf_free), checked against its size and
 * MD5. For a rebuild that carries over the records of sources gone from the
 * cold tier. ERR_DATA when the bytes are not the committed version. */
int dayfile_read_committed(const struct dayfile_env *env, const struct day *d,
                           const struct index_file *f, struct bytebuf *out, struct err *e);

/* 1 when data[0..len) are the committed version f describes (size, MD5). */
int dayfile_is_committed(const struct index_file *f, const void *data, size_t len);


#endif
