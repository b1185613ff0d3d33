#include "layout.h"

#include <stdio.h>
#include <string.h>

#include "md5.h"

static int fits(int n, size_t size)
{
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int layout_data_key(const struct config *cfg, const struct day *d, const char *name, char *buf,
                    size_t size)
{
    char part[DAY_PARTITION_MAX];
    return fits(snprintf(buf, size, "%s%s%s", cfg->s3.repartitioned.data_prefix,
                         day_partition(d, part), name), size);
}

int layout_index_key(const struct config *cfg, const struct day *d, char *buf, size_t size)
{
    char part[DAY_PARTITION_MAX];
    return fits(snprintf(buf, size, "%s%s" LAYOUT_INDEX, cfg->s3.repartitioned.index_prefix,
                         day_partition(d, part)), size);
}

int layout_lease_key(const struct config *cfg, const struct day *d, char *buf, size_t size)
{
    char part[DAY_PARTITION_MAX];
    return fits(snprintf(buf, size, "%s%s" LAYOUT_LEASE, cfg->s3.repartitioned.index_prefix,
                         day_partition(d, part)), size);
}

int layout_committed_copy_key(const char *index_key, const char *md5_chain, char *buf,
                              size_t size)
{
    const char *base = strrchr(index_key, '/');
    size_t dir = base ? (size_t)(base - index_key) + 1 : 0;
    char id[MD5_HEX_LEN];
    md5chain_id(md5_chain, id);
    return fits(snprintf(buf, size, "%.*s" LAYOUT_DAYFILE ".%s.committed", (int)dir, index_key,
                         id), size);
}

int layout_stage_dir(const struct config *cfg, const char *stage, const struct day *d, char *buf,
                     size_t size)
{
    if (!d)
        return fits(snprintf(buf, size, "%s/%s", cfg->work_dir, stage), size);
    char folder[DAY_FOLDER_MAX];
    return fits(snprintf(buf, size, "%s/%s/%s", cfg->work_dir, stage, day_folder(d, folder)),
                size);
}
