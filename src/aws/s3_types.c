#include "s3_types.h"

#include <stdlib.h>
#include <string.h>

void s3_object_list_free(struct s3_object_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].key);
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}

void s3_upload_list_free(struct s3_upload_list *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].upload_id);
    }
    if (l) {
        free(l->items);
        memset(l, 0, sizeof *l);
    }
}
