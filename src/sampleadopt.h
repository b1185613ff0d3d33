/* sampleadopt: takes over, once and exactly, what the original Python
 * sample merged into a day.
 *
 * The sample writes `merged_series_<ts>.avro` beside repart's day file and
 * only series ids into timeseries.txt, so its index lines say nothing about
 * which objects (or which content of them) it merged. When some listed
 * source of a day has no #src line, every sample file of the day that no
 * #file line names yet (one LIST of the day's data prefix) is read, and each listed source without a
 * #src line is offered to it (adopt.h: all of the source's records present
 * in the file, byte for byte). A source found whole gets a #src line naming
 * the sample's file (no byte range: the file is the sample's and is never
 * rewritten or deleted), the file a #file line (only once it holds at
 * least one: until then it is looked at again). Sources found in no sample
 * file stay new. A source found in part fails the day. No LastModified time
 * is involved. */
#ifndef REPART_SAMPLEADOPT_H
#define REPART_SAMPLEADOPT_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "s3.h"
#include "scan.h"

#define SAMPLE_MERGED_PREFIX "merged_series_"

/* Adopts into s->index (and re-marks s->src) what the day's sample files
 * hold. *adopted receives how many sources were adopted; the caller must
 * then commit the index even when nothing is left to merge. */
int sampleadopt_day(struct s3_client *s3, const struct config *cfg, struct day_scan *s,
                    const char *dayname, size_t *adopted, struct err *e);

#endif
