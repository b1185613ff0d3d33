/* strbuf: a growable NUL-terminated string for building text (canonical
 * requests, index documents, DDL). Out of memory is sticky: appends after
 * it do nothing and strbuf_take returns NULL, so builders check once. */
#ifndef REPART_STRBUF_H
#define REPART_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *p;            /* NULL until the first append */
    size_t len, cap;
    int oom;
};

/* Makes room for extra more bytes at once (a buffer that will hold secrets
 * is sized up front, so no realloc leaves a copy behind). */
void strbuf_reserve(struct strbuf *b, size_t extra);

void strbuf_addn(struct strbuf *b, const char *s, size_t n);
void strbuf_add(struct strbuf *b, const char *s);
void strbuf_addc(struct strbuf *b, char c);
void strbuf_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The string (caller frees; "" when nothing was added), or NULL when out of
 * memory; b is empty again either way. */
char *strbuf_take(struct strbuf *b, size_t *len_out);

/* Frees what b holds. */
void strbuf_free(struct strbuf *b);

#endif
