/* layout: every key and path repart writes or reads, in one place.
 *
 * In the repartitioned bucket, per day (<partition> is
 * startYear=Y/startMonth=M/startDay=D/, day_partition):
 *   <data_prefix><partition>merged.avro              the day file (LAYOUT_DAYFILE)
 *   <data_prefix><partition>merged_<md5>.avro        a file of index version 1
 *   <data_prefix><partition>merged_series_<ts>.avro  the original Python sample's
 *   <index_prefix><partition>timeseries.txt          the index, the commit
 *   <index_prefix><partition>.repart-lease           one writer per day (lease.h)
 *   <index_prefix><partition>merged.avro.<id>.committed
 *                                                    the committed day file saved
 *                                                    during a rebuild (id: md5chain_id)
 * On disk, for the stage commands:
 *   <work_dir>/<stage>/<Y-M-D>/repart-day.json       stage raw (download) or merged
 * The agg dataset has the same layout under its own prefixes and work_dir
 * (config_dataset_view). Each function returns 0, or -1 when the result does
 * not fit in size bytes. */
#ifndef REPART_LAYOUT_H
#define REPART_LAYOUT_H

#include <stddef.h>

#include "config.h"
#include "day.h"

#define LAYOUT_DAYFILE "merged.avro"
#define LAYOUT_V1_PREFIX "merged_"
#define LAYOUT_SAMPLE_PREFIX "merged_series_"
#define LAYOUT_INDEX "timeseries.txt"
#define LAYOUT_LEASE ".repart-lease"
#define LAYOUT_STATE_FILE "repart-day.json"

/* <data_prefix><partition><name> */
int layout_data_key(const struct config *cfg, const struct day *d, const char *name, char *buf,
                    size_t size);

/* <index_prefix><partition>timeseries.txt */
int layout_index_key(const struct config *cfg, const struct day *d, char *buf, size_t size);

/* <index_prefix><partition>.repart-lease */
int layout_lease_key(const struct config *cfg, const struct day *d, char *buf, size_t size);

/* Beside the index key: merged.avro.<id>.committed, id from the committed
 * version's MD5 chain text. */
int layout_committed_copy_key(const char *index_key, const char *md5_chain, char *buf,
                              size_t size);

/* <work_dir>/<stage>/<Y-M-D>; d NULL: <work_dir>/<stage> */
int layout_stage_dir(const struct config *cfg, const char *stage, const struct day *d, char *buf,
                     size_t size);

#endif
