/* sitewise_schema: the record schema of AWS IoT SiteWise cold-tier files
 * (amazon.aws.iot.sitewise.raw.RawDatum), used as repart's output schema and
 * by the test-data generator. */
#ifndef REPART_SITEWISE_SCHEMA_H
#define REPART_SITEWISE_SCHEMA_H

/* Schema JSON, NUL-terminated. Field order is the binary layout. */
extern const char sitewise_schema_json[];

#endif
