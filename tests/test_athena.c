/* athena: the generated DDL, parsed back, has the columns of the output
 * schema in order with the Hive types the SiteWise fields need, the partition
 * columns, projection ranges from the config, and locations that name the
 * partitions repart writes. */
#include <jansson.h>

#include "athena.h"
#include "sitewise_schema.h"
#include "test.h"

static int load_cfg(struct config *c, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "s3:\n"
             "  cold_tier: { bucket_name: cold-b, data_prefix: raw/ }\n"
             "  repartitioned: { bucket_name: my-out.bucket, data_prefix: sw/consolidated/, "
             "index_prefix: sw/index/ }\n"
             "%s",
             extra);
    struct err e = {0};
    int rc = config_load_buffer(text, strlen(text), "t.yml", c, &e);
    if (rc != 0)
        fprintf(stderr, "config: %s\n", e.msg);
    return rc;
}

/* The text between the first "(\n" after `after` and the next "\n)". */
static char *section(const char *ddl, const char *after)
{
    const char *p = strstr(ddl, after);
    if (!p)
        return NULL;
    p = strstr(p, "(\n");
    if (!p)
        return NULL;
    p += 2;
    const char *q = strstr(p, "\n)");
    if (!q)
        return NULL;
    return strndup(p, (size_t)(q - p));
}

/* Splits "  `name` type,\n..." into names and types. */
static size_t parse_columns(char *body, char names[][64], char types[][16], size_t max)
{
    size_t n = 0;
    for (char *line = strtok(body, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        char name[64], type[16];
        if (sscanf(line, " `%63[^`]` %15[a-z]", name, type) != 2)
            return (size_t)-1;
        strcpy(names[n], name);
        strcpy(types[n], type);
        n++;
    }
    return n;
}

/* Value of 'key'='value' in the DDL (first occurrence after `from`). */
static char *prop(const char *ddl, const char *from, const char *key)
{
    const char *p = strstr(ddl, from);
    if (!p)
        return NULL;
    char pat[128];
    snprintf(pat, sizeof pat, "'%s'='", key);
    p = strstr(p, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    const char *q = strchr(p, '\'');
    return q ? strndup(p, (size_t)(q - p)) : NULL;
}

static char *replace(const char *s, const char *what, const char *with)
{
    const char *p = strstr(s, what);
    if (!p)
        return strdup(s);
    size_t n = strlen(s) - strlen(what) + strlen(with) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(p - s), s, with, p + strlen(what));
    return out;
}

static void test_create_table(void)
{
    struct config c;
    REQUIRE(load_cfg(&c, "date_range: { date_start: \"2022-11-05\", date_end: \"2023-02-01\" }\n") == 0);
    struct athena_opts o = {.database = "iot", .table = "sitewise_daily", .projection = 1};
    athena_years(&c, NULL, NULL, 2025, &o.year_from, &o.year_to);
    CHECK_INT(o.year_from, ATHENA_FIRST_YEAR);   /* date_range starts later: the default */
    CHECK_INT(o.year_to, ATHENA_LAST_YEAR);      /* never frozen to the range */
    struct err e = {0};
    char *ddl = athena_create_table(&c, &o, &e);
    REQUIRE(ddl);
    const char *head = "CREATE EXTERNAL TABLE IF NOT EXISTS `iot`.`sitewise_daily` (\n";
    CHECK(strncmp(ddl, head, strlen(head)) == 0);
    CHECK(strstr(ddl, ");\n") && strcmp(ddl + strlen(ddl) - 3, ");\n") == 0);

    /* columns: the schema's fields, in order, with these types */
    static const char *const want_types[] = {
        "string", "bigint", "bigint", "string", "double", "string", "int", "boolean", "string",
        "bigint",
    };
    char *cols = section(ddl, "CREATE EXTERNAL TABLE");
    REQUIRE(cols);
    char names[32][64], types[32][16];
    size_t n = parse_columns(cols, names, types, 32);
    free(cols);
    json_t *schema = json_loads(sitewise_schema_json, 0, NULL);
    REQUIRE(schema);
    json_t *fields = json_object_get(schema, "fields");
    CHECK_INT(n, json_array_size(fields));
    CHECK_INT(n, sizeof want_types / sizeof *want_types);
    for (size_t i = 0; i < n && i < json_array_size(fields) && i < 10; i++) {
        CHECK_STR(names[i], json_string_value(json_object_get(json_array_get(fields, i), "name")));
        CHECK_STR(types[i], want_types[i]);
    }
    CHECK_STR(names[0], "seriesId");
    CHECK_STR(names[9], "recordVersion");

    /* partitions */
    char *parts = section(ddl, "PARTITIONED BY");
    REQUIRE(parts);
    n = parse_columns(parts, names, types, 32);
    free(parts);
    CHECK_INT(n, 3);
    CHECK_STR(names[0], "startyear");
    CHECK_STR(names[1], "startmonth");
    CHECK_STR(names[2], "startday");
    CHECK_STR(types[0], "int");
    CHECK_STR(types[2], "int");

    /* SerDe and formats */
    CHECK(strstr(ddl, "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.avro.AvroSerDe'\n"));
    CHECK(strstr(ddl, "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat'"));
    CHECK(strstr(ddl, "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat'"));

    /* the schema literal (serde and table properties) is the output schema */
    char *lit = prop(ddl, "WITH SERDEPROPERTIES", "avro.schema.literal");
    char *lit2 = prop(ddl, "TBLPROPERTIES", "avro.schema.literal");
    REQUIRE(lit && lit2);
    json_t *ls = json_loads(lit, 0, NULL), *ls2 = json_loads(lit2, 0, NULL);
    CHECK(ls && json_equal(ls, schema));
    CHECK(ls2 && json_equal(ls2, schema));
    json_decref(ls);
    json_decref(ls2);
    free(lit);
    free(lit2);
    json_decref(schema);

    /* location and projection */
    CHECK(strstr(ddl, "\nLOCATION 's3://my-out.bucket/sw/consolidated/'\n"));
    char *v = prop(ddl, "TBLPROPERTIES", "projection.enabled");
    CHECK_STR(v, "true");
    free(v);
    static const char *const ranges[][3] = {
        {"startyear", "integer", "2021,2099"},
        {"startmonth", "integer", "1,12"},
        {"startday", "integer", "1,31"},
    };
    for (int i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "projection.%s.type", ranges[i][0]);
        v = prop(ddl, "TBLPROPERTIES", key);
        CHECK_STR(v, ranges[i][1]);
        free(v);
        snprintf(key, sizeof key, "projection.%s.range", ranges[i][0]);
        v = prop(ddl, "TBLPROPERTIES", key);
        CHECK_STR(v, ranges[i][2]);
        free(v);
        /* no zero padding: the paths are startMonth=5, not 05 */
        snprintf(key, sizeof key, "projection.%s.digits", ranges[i][0]);
        CHECK(prop(ddl, "TBLPROPERTIES", key) == NULL);
    }
    /* the template, filled in for 2023-05-07, is where repart writes that day */
    char *tmpl = prop(ddl, "TBLPROPERTIES", "storage.location.template");
    REQUIRE(tmpl);
    char *a = replace(tmpl, "${startyear}", "2023");
    char *b = replace(a, "${startmonth}", "5");
    char *filled = replace(b, "${startday}", "7");
    CHECK_STR(filled, "s3://my-out.bucket/sw/consolidated/startYear=2023/startMonth=5/startDay=7/");
    free(a);
    free(b);
    free(filled);
    free(tmpl);
    free(ddl);

    /* without projection: no projection properties */
    o.projection = 0;
    ddl = athena_create_table(&c, &o, &e);
    REQUIRE(ddl);
    CHECK(strstr(ddl, "projection.") == NULL);
    CHECK(strstr(ddl, "storage.location.template") == NULL);
    CHECK(strstr(ddl, "'avro.schema.literal'") != NULL);
    free(ddl);
}

static void test_years(void)
{
    struct config c;
    REQUIRE(load_cfg(&c, "") == 0);
    int f, t;
    athena_years(&c, NULL, NULL, 2024, &f, &t);
    CHECK_INT(f, ATHENA_FIRST_YEAR);
    CHECK_INT(t, ATHENA_LAST_YEAR);
    /* --from/--to widen the range, never narrow it */
    struct day from = {2019, 3, 1, 0}, to = {2031, 1, 1, 0};
    athena_years(&c, &from, &to, 2024, &f, &t);
    CHECK_INT(f, 2019);
    CHECK_INT(t, ATHENA_LAST_YEAR);
    struct day f2 = {2023, 3, 1, 0}, t2 = {2023, 4, 1, 0};
    athena_years(&c, &f2, &t2, 2024, &f, &t);
    CHECK_INT(f, ATHENA_FIRST_YEAR);
    CHECK_INT(t, ATHENA_LAST_YEAR);
    REQUIRE(load_cfg(&c, "date_range: { date_start: \"2019-01-01\", date_end: \"2130-12-31\" }\n") == 0);
    athena_years(&c, NULL, NULL, 2024, &f, &t);
    CHECK_INT(f, 2019);
    CHECK_INT(t, 2130);
    /* a clock past the horizon still projects next year */
    athena_years(NULL, NULL, NULL, 2200, &f, &t);
    CHECK_INT(f, ATHENA_FIRST_YEAR);
    CHECK_INT(t, 2201);
}

static void test_names(void)
{
    struct err e = {0};
    CHECK(athena_check_name("--table", "sitewise_2024", &e) == 0);
    CHECK(athena_check_name("--table", "a", &e) == 0);
    static const char *const bad[] = {"", "Upper", "a;drop", "a b", "a`b", "a'b", "a.b", "a-b", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(athena_check_name("--table", bad[i], &e) != 0);
        CHECK_INT(e.kind, ERR_USAGE);
    }
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(athena_check_name("--table", longname, &e) != 0);
    longname[255] = '\0';
    CHECK(athena_check_name("--table", longname, &e) == 0);

    struct config c;
    REQUIRE(load_cfg(&c, "") == 0);
    struct athena_opts o = {.table = "x;y", .projection = 1, .year_from = 2021, .year_to = 2022};
    CHECK(athena_create_table(&c, &o, &e) == NULL);
    CHECK(strstr(e.msg, "--table") != NULL);
    o.table = NULL;
    o.database = "Bad";
    CHECK(athena_add_partitions(&c, &o, NULL, 0, &e) == NULL);
    CHECK(strstr(e.msg, "--database") != NULL);
    /* a prefix that would need escaping inside '...' */
    o.database = NULL;
    snprintf(c.s3.repartitioned.data_prefix, sizeof c.s3.repartitioned.data_prefix, "it's/");
    CHECK(athena_create_table(&c, &o, &e) == NULL);
    CHECK(strstr(e.msg, "data_prefix") != NULL);
}

static void test_columns(void)
{
    struct athena_column *cols;
    size_t n;
    struct err e = {0};
    REQUIRE(athena_columns("{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                           "{\"name\":\"a\",\"type\":[\"float\",\"null\"]},"
                           "{\"name\":\"b\",\"type\":{\"type\":\"bytes\"}}]}", &cols, &n, &e) == 0);
    CHECK_INT(n, 2);
    CHECK_STR(cols[0].type, "float");
    CHECK_STR(cols[1].type, "binary");
    free(cols);
    static const char *const bad[] = {
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\"}}]}",
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":[\"null\",\"int\",\"string\"]}]}",
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}}]}",
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[{\"name\":\"a b\",\"type\":\"int\"}]}",
        "{\"type\":\"record\",\"name\":\"r\",\"fields\":[]}",
        "\"string\"",
        "{not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(athena_columns(bad[i], &cols, &n, &e) != 0);
        CHECK(cols == NULL);
    }
}

static void test_partitions(void)
{
    struct config c;
    REQUIRE(load_cfg(&c, "") == 0);
    struct athena_opts o = {.table = "t"};
    struct err e = {0};
    /* 1200 distinct days given twice, shuffled: 3 statements of 500, 500, 200 */
    size_t n = 2400;
    struct day *days = malloc(n * sizeof *days);
    struct day first = {2020, 1, 1, 0};
    for (size_t i = 0; i < 1200; i++)   /* 7 is prime to 1200: a permutation */
        days[(i * 7) % 1200] = day_from_epoch_days(day_to_epoch_days(&first) + (long)i);
    for (size_t i = 0; i < 1200; i++)
        days[1200 + i] = day_from_epoch_days(day_to_epoch_days(&first) + (long)(1199 - i));
    char *sql = athena_add_partitions(&c, &o, days, n, &e);
    REQUIRE(sql);
    size_t stmts = 0, parts = 0;
    for (const char *p = sql; (p = strstr(p, "ALTER TABLE `default`.`t` ADD IF NOT EXISTS\n")); p++)
        stmts++;
    for (const char *p = sql; (p = strstr(p, "  PARTITION (")); p++)
        parts++;
    CHECK_INT(stmts, 3);
    CHECK_INT(parts, 1200);
    size_t semis = 0;
    for (const char *p = sql; *p; p++)
        semis += *p == ';';
    CHECK_INT(semis, 3);
    /* sorted: the first is 2020-01-01, then 2020-01-02 */
    const char *p1 = strstr(sql, "PARTITION (startyear=2020, startmonth=1, startday=1) "
                                 "LOCATION 's3://my-out.bucket/sw/consolidated/startYear=2020/startMonth=1/startDay=1/'\n");
    const char *p2 = strstr(sql, "PARTITION (startyear=2020, startmonth=1, startday=2) ");
    CHECK(p1 && p2 && p1 < p2);
    /* the last day: 2020-01-01 + 1199 days = 2023-04-14, ending a statement */
    CHECK(strstr(sql, "PARTITION (startyear=2023, startmonth=4, startday=14) LOCATION "
                      "'s3://my-out.bucket/sw/consolidated/startYear=2023/startMonth=4/startDay=14/';\n"));
    free(sql);
    free(days);
    sql = athena_add_partitions(&c, &o, NULL, 0, &e);
    REQUIRE(sql);
    CHECK_STR(sql, "");
    free(sql);
}

static void test_partition_of(void)
{
    struct day d;
    CHECK(athena_partition_of("startYear=2023/startMonth=5/startDay=7/merged_x.avro", &d) == 1);
    CHECK(d.y == 2023 && d.m == 5 && d.d == 7);
    CHECK(athena_partition_of("startYear=2023/startMonth=12/startDay=31/", &d) == 1);
    static const char *const bad[] = {
        "startYear=2023/startMonth=05/startDay=7/x", "startYear=2023/startMonth=2/startDay=30/x",
        "startYear=2023/startMonth=5/startDay=7", "startYear=2023/startMonth=+5/startDay=7/x",
        "startYear=2023/startMonth= 5/startDay=7/x", "x/startYear=2023/startMonth=5/startDay=7/",
        "startYear=02023/startMonth=5/startDay=7/x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(athena_partition_of(bad[i], &d) == 0);
}

int main(void)
{
    RUN(test_create_table);
    RUN(test_years);
    RUN(test_names);
    RUN(test_columns);
    RUN(test_partitions);
    RUN(test_partition_of);
    return TEST_EXIT();
}
