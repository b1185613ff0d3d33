/* avsc: Avro schema helpers around Avro C: parsing with a readable error,
 * equality for block copying, and the plan to resolve a writer schema
 * against the output (reader) schema.
 *
 * Avro C 1.11.1's resolver cannot fill reader fields that the writer lacks
 * ("Reader field x doesn't appear in writer"): it has no default values. The
 * plan works around it: for each writer record that lacks fields of the
 * same-named reader record, the encoded defaults (taken from the reader
 * schema's JSON) are appended to every datum while it is checked (see
 * datum.h), and the data is decoded with W+ = W plus those fields. Avro C's
 * resolved writer then does the rest (field order, dropped writer fields,
 * promotions int->long->float->double, unions, enums by symbol). */
#ifndef REPART_AVSC_H
#define REPART_AVSC_H

#include <avro.h>
#include <stddef.h>

#include "datum.h"
#include "err.h"

/* Parses schema JSON (len bytes, need not be NUL-terminated). The caller owns
 * *out (avro_schema_decref). Fails with ERR_DATA and Avro C's message. */
int avsc_parse(const char *json, size_t len, avro_schema_t *out, struct err *e);

/* 1 when a and b describe the same binary encoding and names (Avro C's
 * avro_schema_equal, checked both ways: 1.11.1 compares union branches and
 * enum symbols only as far as its first argument has them). */
int avsc_equal(avro_schema_t a, avro_schema_t b);

struct avsc_plan {
    avro_schema_t wplus;            /* schema to decode the checked data with */
    struct datum_prog *prog;        /* checker for W data, appends defaults */
    avro_value_iface_t *resolver;   /* avro_resolved_writer(wplus -> reader) */
};

/* Prepares decoding data written with schema w (JSON wjson) into reader
 * schema r (JSON rjson, for the defaults). Fails (ERR_DATA) when the schemas
 * cannot be resolved: a reader field missing from the writer without a
 * default, incompatible types (message from Avro C). On success the caller
 * frees with avsc_plan_free. */
int avsc_plan_resolution(const char *wjson, size_t wlen, avro_schema_t w,
                         const char *rjson, size_t rlen, avro_schema_t r,
                         struct avsc_plan *out, struct err *e);
void avsc_plan_free(struct avsc_plan *p);

/* The schema that holds every field of both `base` (the day's output schema)
 * and `src` (a source's writer schema) with no value lost, by the Avro
 * resolution rules: a field one side lacks is added (made ["null", T] with
 * default null when it has no default of its own), a plain type meeting a
 * union or a union meeting another becomes the union of their branches
 * (base's first; "null" first where the field defaults to null), int+long
 * widen to long and any other numeric pair to double, enums gain symbols;
 * nested records, arrays and maps likewise. *out = NULL when `base` already
 * holds `src` as it is; else a malloc'd compact JSON text. -1 (ERR_DATA)
 * when no such schema exists: the message names the field (path) and the
 * two types, or the two record names. */
int avsc_widen(const char *base, size_t blen, const char *src, size_t slen, char **out,
               struct err *e);

/* Encodes a JSON default value (text) for schema s, appending to out; for a
 * union the value is for its first branch. Exposed for tests. */
int avsc_encode_default_json(avro_schema_t s, const char *json, struct bytebuf *out,
                             struct err *e);

#endif
