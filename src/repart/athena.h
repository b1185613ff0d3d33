/* athena: Athena (Hive) DDL for the repartitioned layout.
 *
 *   athena_create_table    CREATE EXTERNAL TABLE IF NOT EXISTS with the Avro
 *                          SerDe, the columns of the output schema (Avro ->
 *                          Hive types), partitions startyear/startmonth/
 *                          startday (int) and, by default, partition
 *                          projection: integer ranges without padding digits,
 *                          which is what the unpadded `startMonth=5` paths
 *                          need, and a storage.location.template.
 *   athena_add_partitions  ALTER TABLE ... ADD IF NOT EXISTS PARTITION ...
 *                          LOCATION ... for given days (tables without
 *                          projection; with projection Athena ignores them).
 *
 * Partition column names are written in lower case: the Glue catalog keeps
 * column names in lower case, and the projection properties and the
 * ${...} placeholders of the template name the columns as the catalog has
 * them. The S3 path keeps its own spelling (startYear=...).
 *
 * Names: database and table must be 1..255 of [a-z0-9_] (what Glue accepts
 * unquoted); they are written in backquotes. The bucket and prefix go into
 * single-quoted literals, so a prefix with a quote, a backslash or a control
 * character is refused rather than escaped. */
#ifndef REPART_ATHENA_H
#define REPART_ATHENA_H

#include <stddef.h>

#include "config.h"
#include "day.h"
#include "err.h"

#define ATHENA_NAME_MAX 255
#define ATHENA_DEFAULT_DATABASE "default"
#define ATHENA_DEFAULT_TABLE "sitewise_consolidated"
/* First year of the projection when nothing says otherwise (SiteWise's cold
 * tier exists since 2021). */
#define ATHENA_FIRST_YEAR 2021
/* Last projected year: far enough that the table never needs printing
 * again as days arrive (unfiltered queries enumerate the whole range:
 * filter on startyear). */
#define ATHENA_LAST_YEAR 2099
/* Partitions per ALTER TABLE statement (Athena limits the query length). */
#define ATHENA_PARTITIONS_PER_STATEMENT 500

struct athena_opts {
    const char *database;       /* NULL: ATHENA_DEFAULT_DATABASE */
    const char *table;          /* NULL: ATHENA_DEFAULT_TABLE */
    int projection;             /* 1: partition projection properties */
    int create_database;        /* 1: CREATE DATABASE IF NOT EXISTS before the table */
    int year_from, year_to;     /* projection.startyear.range */
    const char *schema_json;    /* NULL: the SiteWise RawDatum schema */
};

/* Projection years: ATHENA_FIRST_YEAR (or this_year, if earlier) to
 * ATHENA_LAST_YEAR (at least this_year + 1), widened to the years of from/to
 * (--from/--to) and of the config's date_range where they lie outside. */
void athena_years(const struct config *cfg, const struct day *from, const struct day *to,
                  int this_year, int *year_from, int *year_to);

/* 0 when `name` is a usable database/table name; else ERR_USAGE naming `what`. */
int athena_check_name(const char *what, const char *name, struct err *e);

/* One column: the Avro field name and its Hive type. */
struct athena_column {
    char name[128];
    char type[16];
};

/* The columns of a record schema, in field order: string->string,
 * long->bigint, int->int, double->double, float->float, boolean->boolean,
 * bytes->binary, and a union of null and one of those -> that type. Other
 * types are refused (ERR_USAGE). *out is malloc'd (caller frees). */
int athena_columns(const char *schema_json, struct athena_column **out, size_t *n, struct err *e);

/* The DDL, malloc'd and NUL-terminated (caller frees), ending in ";\n". */
char *athena_create_table(const struct config *cfg, const struct athena_opts *o, struct err *e);

/* ALTER TABLE statements adding the partitions of `days` (any order; each
 * statement ends in ";\n", statements separated by a blank line). An empty
 * string when n == 0. Caller frees. */
char *athena_add_partitions(const struct config *cfg, const struct athena_opts *o,
                            const struct day *days, size_t n, struct err *e);

/* If `rest` (a key after the data prefix) starts with a day partition
 * "startYear=Y/startMonth=M/startDay=D/" as repart writes it (no padding),
 * sets *d and returns 1; else 0. */
int athena_partition_of(const char *rest, struct day *d);

#endif
