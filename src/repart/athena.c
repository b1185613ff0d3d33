#include "athena.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitewise_schema.h"
#include "strbuf.h"

#define SERDE "org.apache.hadoop.hive.serde2.avro.AvroSerDe"
#define INPUT_FORMAT "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat"
#define OUTPUT_FORMAT "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat"

void athena_years(const struct config *cfg, const struct day *from, const struct day *to,
                  int this_year, int *year_from, int *year_to)
{
    /* from the first year anything may hold to a far horizon: never frozen
     * to the range of the run that printed it */
    int first = ATHENA_FIRST_YEAR < this_year ? ATHENA_FIRST_YEAR : this_year;
    int last = ATHENA_LAST_YEAR > this_year + 1 ? ATHENA_LAST_YEAR : this_year + 1;
    if (from && from->y < first)
        first = from->y;
    if (to && to->y > last)
        last = to->y;
    if (cfg && cfg->has_date_range) {
        if (cfg->date_start.y < first)
            first = cfg->date_start.y;
        if (cfg->date_end.y > last)
            last = cfg->date_end.y;
    }
    *year_from = first;
    *year_to = last;
}

int athena_check_name(const char *what, const char *name, struct err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > ATHENA_NAME_MAX)
        return err_setk(e, ERR_USAGE, "%s: must be 1 to %d characters", what, ATHENA_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return err_setk(e, ERR_USAGE, "%s \"%.60s\": only lower-case letters, digits and _ "
                            "(what the Glue catalog accepts)", what, name);
    }
    return 0;
}

/* ------------------------------------------------------------- columns */

static const char *hive_primitive(const char *avro)
{
    static const char *const map[][2] = {
        {"string", "string"}, {"long", "bigint"}, {"int", "int"}, {"double", "double"},
        {"float", "float"}, {"boolean", "boolean"}, {"bytes", "binary"},
    };
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(avro, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* A field type: "long", {"type":"long"} (no logicalType), or ["null", T]. */
static const char *hive_type(json_t *t)
{
    if (json_is_string(t))
        return hive_primitive(json_string_value(t));
    if (json_is_object(t)) {
        if (json_object_get(t, "logicalType"))
            return NULL;
        json_t *inner = json_object_get(t, "type");
        return json_is_string(inner) ? hive_primitive(json_string_value(inner)) : NULL;
    }
    if (json_is_array(t) && json_array_size(t) == 2) {
        json_t *a = json_array_get(t, 0), *b = json_array_get(t, 1);
        int a_null = json_is_string(a) && strcmp(json_string_value(a), "null") == 0;
        int b_null = json_is_string(b) && strcmp(json_string_value(b), "null") == 0;
        if (a_null != b_null)
            return hive_type(a_null ? b : a);
    }
    return NULL;
}

int athena_columns(const char *schema_json, struct athena_column **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    json_error_t je;
    json_t *root = json_loads(schema_json, 0, &je);
    if (!root)
        return err_setk(e, ERR_USAGE, "schema: line %d: %s", je.line, je.text);
    json_t *fields = json_object_get(root, "fields");
    const char *type = json_string_value(json_object_get(root, "type"));
    if (!type || strcmp(type, "record") != 0 || !json_is_array(fields) || !json_array_size(fields)) {
        json_decref(root);
        return err_setk(e, ERR_USAGE, "schema: not a record with fields");
    }
    size_t k = json_array_size(fields);
    struct athena_column *cols = calloc(k, sizeof *cols);
    if (!cols) {
        json_decref(root);
        return err_set(e, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < k; i++) {
        json_t *f = json_array_get(fields, i);
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *ht = hive_type(json_object_get(f, "type"));
        if (!name || !*name || strlen(name) >= sizeof cols[i].name) {
            rc = err_setk(e, ERR_USAGE, "schema: field %zu has no usable name", i);
            break;
        }
        for (const char *p = name; rc == 0 && *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_'))
                rc = err_setk(e, ERR_USAGE, "schema: field name \"%.60s\" is not an identifier",
                              name);
        if (rc == 0 && !ht)
            rc = err_setk(e, ERR_USAGE, "schema: field %s: type has no Hive column type here",
                          name);
        if (rc == 0) {
            snprintf(cols[i].name, sizeof cols[i].name, "%s", name);
            snprintf(cols[i].type, sizeof cols[i].type, "%s", ht);
        }
    }
    if (rc != 0) {
        free(cols);
        json_decref(root);
        return -1;
    }
    json_decref(root);
    *out = cols;
    *n = k;
    return 0;
}

/* ---------------------------------------------------------------- text */

/* The text built, or NULL (out of memory, e set). */
static char *sb_done(struct strbuf *b, struct err *e)
{
    char *r = strbuf_take(b, NULL);
    if (!r)
        err_set(e, "out of memory");
    return r;
}

/* Bucket and prefix go into '...' literals: refuse what would need escaping. */
static int literal_safe(const char *what, const char *s, struct err *e)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '\'' || *p == '\\' || *p < 0x20 || *p == 0x7f)
            return err_setk(e, ERR_USAGE, "%s \"%.80s\" contains a quote, backslash or control "
                            "character; the DDL would need escaping", what, s);
    return 0;
}

static int check_common(const struct config *cfg, const struct athena_opts *o, const char **db,
                        const char **table, struct err *e)
{
    *db = o->database ? o->database : ATHENA_DEFAULT_DATABASE;
    *table = o->table ? o->table : ATHENA_DEFAULT_TABLE;
    if (athena_check_name("--database", *db, e) != 0 || athena_check_name("--table", *table, e) != 0)
        return -1;
    if (literal_safe("s3.repartitioned.bucket_name", cfg->s3.repartitioned.bucket_name, e) != 0 ||
        literal_safe("s3.repartitioned.data_prefix", cfg->s3.repartitioned.data_prefix, e) != 0)
        return -1;
    return 0;
}

char *athena_create_table(const struct config *cfg, const struct athena_opts *o, struct err *e)
{
    const char *db, *table;
    if (check_common(cfg, o, &db, &table, e) != 0)
        return NULL;
    const char *schema = o->schema_json ? o->schema_json : sitewise_schema_json;
    if (literal_safe("schema", schema, e) != 0)
        return NULL;
    if (o->projection && (o->year_from < DAY_YEAR_MIN || o->year_to > DAY_YEAR_MAX + 1 ||
                          o->year_from > o->year_to)) {
        err_setk(e, ERR_USAGE, "projection years %d..%d out of range", o->year_from, o->year_to);
        return NULL;
    }
    struct athena_column *cols;
    size_t n;
    if (athena_columns(schema, &cols, &n, e) != 0)
        return NULL;
    /* the literal carries the schema on one line, as the file header does */
    json_t *sj = json_loads(schema, 0, NULL);
    char *compact = sj ? json_dumps(sj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(sj);
    if (!compact) {
        free(cols);
        err_set(e, "out of memory");
        return NULL;
    }
    const char *bucket = cfg->s3.repartitioned.bucket_name;
    const char *prefix = cfg->s3.repartitioned.data_prefix;
    struct strbuf b = {0};
    if (o->create_database)
        strbuf_printf(&b, "CREATE DATABASE IF NOT EXISTS `%s`;\n\n", db);
    strbuf_printf(&b, "CREATE EXTERNAL TABLE IF NOT EXISTS `%s`.`%s` (\n", db, table);
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&b, "  `%s` %s%s\n", cols[i].name, cols[i].type, i + 1 < n ? "," : "");
    strbuf_printf(&b, ")\n"
                  "PARTITIONED BY (\n"
                  "  `startyear` int,\n"
                  "  `startmonth` int,\n"
                  "  `startday` int\n"
                  ")\n"
                  "ROW FORMAT SERDE '" SERDE "'\n"
                  "WITH SERDEPROPERTIES ('avro.schema.literal'='%s')\n"
                  "STORED AS INPUTFORMAT '" INPUT_FORMAT "'\n"
                  "  OUTPUTFORMAT '" OUTPUT_FORMAT "'\n"
                  "LOCATION 's3://%s/%s'\n"
                  "TBLPROPERTIES (\n"
                  "  'avro.schema.literal'='%s'",
              compact, bucket, prefix, compact);
    if (o->projection) {
        strbuf_printf(&b, ",\n"
                      "  'projection.enabled'='true',\n"
                      "  'projection.startyear.type'='integer',\n"
                      "  'projection.startyear.range'='%d,%d',\n"
                      "  'projection.startmonth.type'='integer',\n"
                      "  'projection.startmonth.range'='1,12',\n"
                      "  'projection.startday.type'='integer',\n"
                      "  'projection.startday.range'='1,31',\n"
                      "  'storage.location.template'='s3://%s/%sstartYear=${startyear}/"
                      "startMonth=${startmonth}/startDay=${startday}/'",
                  o->year_from, o->year_to, bucket, prefix);
    }
    strbuf_printf(&b, "\n);\n");
    free(compact);
    free(cols);
    return sb_done(&b, e);
}

static int cmp_day(const void *a, const void *b)
{
    return day_cmp(a, b);
}

char *athena_add_partitions(const struct config *cfg, const struct athena_opts *o,
                            const struct day *days, size_t n, struct err *e)
{
    const char *db, *table;
    if (check_common(cfg, o, &db, &table, e) != 0)
        return NULL;
    struct day *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        err_set(e, "out of memory");
        return NULL;
    }
    if (n)
        memcpy(sorted, days, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_day);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || day_cmp(&sorted[i], &sorted[u - 1]) != 0)
            sorted[u++] = sorted[i];
    n = u;
    struct strbuf b = {0};
    size_t in_stmt = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_stmt == 0)
            strbuf_printf(&b, "%sALTER TABLE `%s`.`%s` ADD IF NOT EXISTS\n", b.len ? "\n" : "", db,
                      table);
        char part[DAY_PARTITION_MAX];
        strbuf_printf(&b, "  PARTITION (startyear=%d, startmonth=%d, startday=%d) LOCATION 's3://%s/%s%s'",
                  sorted[i].y, sorted[i].m, sorted[i].d, cfg->s3.repartitioned.bucket_name,
                  cfg->s3.repartitioned.data_prefix, day_partition(&sorted[i], part));
        int last = ++in_stmt == ATHENA_PARTITIONS_PER_STATEMENT || i + 1 == n;
        strbuf_printf(&b, "%s\n", last ? ";" : "");
        if (last)
            in_stmt = 0;
    }
    free(sorted);
    return sb_done(&b, e);
}

int athena_partition_of(const char *rest, struct day *d)
{
    int y, m, dd, used = 0;
    if (sscanf(rest, "startYear=%4d/startMonth=%2d/startDay=%2d/%n", &y, &m, &dd, &used) != 3 ||
        used == 0)
        return 0;
    struct day day = {y, m, dd, 0};
    if (!day_valid(&day))
        return 0;
    char part[DAY_PARTITION_MAX];
    day_partition(&day, part);
    if (strlen(part) != (size_t)used || strncmp(part, rest, (size_t)used) != 0)
        return 0;   /* padded, signs, spaces: not a partition repart writes */
    *d = day;
    return 1;
}
