#include "sitewise_schema.h"

/* Field order and unions as in SiteWise's cold-tier files; every union has
 * null first and defaults to null, so older/newer writers resolve. */
const char sitewise_schema_json[] =
    "{\"type\":\"record\",\"name\":\"RawDatum\",\"namespace\":\"amazon.aws.iot.sitewise.raw\","
    "\"fields\":["
    "{\"name\":\"seriesId\",\"type\":\"string\"},"
    "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
    "{\"name\":\"quality\",\"type\":\"string\"},"
    "{\"name\":\"doubleValue\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"stringValue\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"integerValue\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"booleanValue\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
    "{\"name\":\"jsonValue\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"],\"default\":null}"
    "]}";
