/* bytebuf: the growable byte buffer (bodies of S3 answers, Avro blocks,
 * day files held in memory). Owned by its user, freed with bytebuf_free.
 * A buffer filled only by bytebuf_append has its bytes followed by a NUL
 * (not counted in len), so a text body (an XML answer) can be read as a
 * string; one filled through bytebuf_reserve and direct writes (the Avro
 * decoders) has none. strbuf is its text twin for
 * building strings (out of memory sticky, no error values). */
#ifndef REPART_BYTEBUF_H
#define REPART_BYTEBUF_H

#include <stddef.h>

#include "err.h"

struct bytebuf {
    unsigned char *data;    /* NULL until the first reserve */
    size_t len, cap;
};

/* Room for extra more bytes after len (cap - len >= extra). 0, or -1 with e
 * set (e may be NULL). */
int bytebuf_reserve(struct bytebuf *b, size_t extra, struct err *e);

/* Appends n bytes. 0, or -1 with e set (e may be NULL). */
int bytebuf_append(struct bytebuf *b, const void *p, size_t n, struct err *e);

void bytebuf_free(struct bytebuf *b);

#endif
