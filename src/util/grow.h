/* grow: room for one more element in a growable array (the one doubling
 * policy of every list repart builds). */
#ifndef REPART_GROW_H
#define REPART_GROW_H

#include <stddef.h>

/* Returns items, or the block realloc moved it to, with room for more than n
 * elements of elem bytes: *cap doubles (from `first` when 0). NULL when out
 * of memory or too large; then items is still valid and *cap unchanged. */
void *grow_array(void *items, size_t n, size_t *cap, size_t elem, size_t first);

#endif
