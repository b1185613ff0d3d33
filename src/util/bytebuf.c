#include "bytebuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int bytebuf_reserve(struct bytebuf *b, size_t extra, struct err *e)
{
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len)
        return err_set(e, "buffer size overflow");
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p)
        return err_set(e, "out of memory (%zu bytes)", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int bytebuf_append(struct bytebuf *b, const void *p, size_t n, struct err *e)
{
    if (n > SIZE_MAX / 2 || bytebuf_reserve(b, n + 1, e) < 0)   /* and the NUL */
        return n > SIZE_MAX / 2 ? err_set(e, "buffer size overflow") : -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void bytebuf_free(struct bytebuf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
