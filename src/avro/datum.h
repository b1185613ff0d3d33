/* datum: checks Avro binary-encoded data against a writer schema without
 * decoding it into values (no allocation per record).
 *
 * Avro C 1.11.1 trusts the lengths it reads (a negative string length reaches
 * malloc, a bad union discriminant is only caught in some paths), so every
 * block is walked here first: string/bytes lengths, union and enum indexes,
 * array/map block counts, booleans (0 or 1), varint widths, fixed sizes, and
 * that a block's records end exactly at the end of the block.
 *
 * The walk can also rewrite the data on the fly for schema resolution: after
 * the fields of given records it appends fixed bytes (the encoded defaults of
 * fields that the writer lacks), turning data of schema W into data of W+
 * (W with those fields appended); see avsc.h. */
#ifndef REPART_DATUM_H
#define REPART_DATUM_H

#include <avro.h>
#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "err.h"

struct datum_prog;

/* Bytes to append after every datum of one writer record schema. */
struct datum_append {
    avro_schema_t record;          /* a record node of the writer schema */
    const unsigned char *bytes;    /* copied by datum_compile */
    size_t len;
};

/* Compiles writer schema w (and optional appends) into a checker. Returns
 * NULL and fills e on failure. Free with datum_free. The schema is not
 * referenced after the call. */
struct datum_prog *datum_compile(avro_schema_t w, const struct datum_append *appends,
                                 size_t n_appends, struct err *e);
void datum_free(struct datum_prog *p);

/* 1 when the program has appends (so datum_check_block can rewrite). */
int datum_rewrites(const struct datum_prog *p);

/* Checks that data[0..len) holds exactly `count` datums. When out is not NULL
 * the (rewritten, if the program has appends) data is appended to out.
 * Errors are ERR_DATA: "record N: byte offset K in block: what". */
int datum_check_block(const struct datum_prog *p, const unsigned char *data, size_t len,
                      int64_t count, struct bytebuf *out, struct err *e);

/* Receives one datum's encoded bytes (valid during the call only). Returns 0,
 * or -1 (filling e) to stop the walk. */
typedef int (*datum_record_fn)(void *ud, const unsigned char *rec, size_t len, struct err *e);

/* Checks data[0..len) like datum_check_block without rewriting (appends are
 * ignored) and hands each datum's byte extent to fn, in order, as soon as it
 * is walked: a failure at record N comes after N calls. */
int datum_each_record(const struct datum_prog *p, const unsigned char *data, size_t len,
                      int64_t count, datum_record_fn fn, void *ud, struct err *e);

#endif
