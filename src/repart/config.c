#include "config.h"
#include "grow.h"
#include "sitewise_schema.h"
#include "awscfg.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

/* ---------------------------------------------------------------- tree --
 * The YAML stream is first turned into a small tree (built from libyaml's
 * events with an explicit stack, so depth and size are bounded here rather
 * than by recursion), then walked against the schema below. */

#define TREE_DEPTH_MAX 16
#define TREE_NODES_MAX 100000

enum { YN_SCALAR, YN_MAP, YN_SEQ };

struct ynode {
    int type;
    int line;                /* 1-based */
    int plain;               /* scalar written without quotes */
    char *str;               /* scalar value, NUL-terminated */
    size_t len;
    struct ynode **kids;     /* map: key, value, key, value, ...; seq: items */
    size_t n, cap;
};

static void ynode_free(struct ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        ynode_free(n->kids[i]);   /* depth is bounded by TREE_DEPTH_MAX */
    free(n->kids);
    free(n->str);
    free(n);
}

/* Messages quote user text printable and bounded. */
#define QMAX 80
static const char *q(const char *s, size_t len, char out[QMAX + 4])
{
    size_t i = 0;
    for (; i < len && i < QMAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (i < len) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static int attach(struct ynode **stack, int depth, struct ynode **root, struct ynode *n,
                  const char *name, struct err *e)
{
    if (depth == 0) {
        *root = n;
        return 0;
    }
    struct ynode *p = stack[depth - 1];
    if (p->type == YN_MAP && p->n % 2 == 0 && n->type != YN_SCALAR) {
        err_setk(e, ERR_USAGE, "%s:%d: a key must be a plain name, not a %s", name, n->line,
                 n->type == YN_MAP ? "mapping" : "list");
        ynode_free(n);
        return -1;
    }
    if (p->n == p->cap) {
        struct ynode **k = grow_array(p->kids, p->n, &p->cap, sizeof *k, 8);
        if (!k) {
            ynode_free(n);
            return err_set(e, "%s: out of memory", name);
        }
        p->kids = k;
    }
    p->kids[p->n++] = n;
    return 0;
}

/* build_tree's state */
struct tree {
    const char *name;
    struct ynode *stack[TREE_DEPTH_MAX];
    struct ynode *root;
    int depth, docs, done;
    long nodes;
};

/* The parser's error, with its place. */
static int parse_error(const yaml_parser_t *p, const char *name, struct err *e)
{
    if (p->error == YAML_READER_ERROR)
        return err_setk(e, ERR_USAGE, "%s: byte %zu: not valid YAML text: %s", name,
                        p->problem_offset, p->problem ? p->problem : "unreadable");
    return err_setk(e, ERR_USAGE, "%s:%zu:%zu: YAML syntax error: %s%s%s", name,
                    p->problem_mark.line + 1, p->problem_mark.column + 1,
                    p->problem ? p->problem : "unknown problem",
                    p->context ? " " : "", p->context ? p->context : "");
}

/* The node a scalar, mapping start or sequence start event makes. */
static struct ynode *new_node(const yaml_event_t *ev, int line, const char *name,
                              struct err *e)
{
    struct ynode *n = calloc(1, sizeof *n);
    if (!n) {
        err_set(e, "%s: out of memory", name);
        return NULL;
    }
    n->line = line;
    if (ev->type == YAML_SCALAR_EVENT) {
        n->type = YN_SCALAR;
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->str = malloc(n->len + 1);
        if (!n->str) {
            free(n);
            err_set(e, "%s: out of memory", name);
            return NULL;
        }
        memcpy(n->str, ev->data.scalar.value, n->len);
        n->str[n->len] = '\0';
    } else {
        n->type = ev->type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ;
    }
    return n;
}

/* One parser event into the tree. */
static int tree_event(struct tree *t, const yaml_event_t *ev, struct err *e)
{
    const char *name = t->name;
    char qb[QMAX + 4];
    int line = (int)ev->start_mark.line + 1;
    struct ynode *n;
    switch (ev->type) {
    case YAML_STREAM_END_EVENT:
        t->done = 1;
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (++t->docs > 1)
            return err_setk(e, ERR_USAGE, "%s:%d: only one YAML document is allowed", name,
                            line);
        return 0;
    case YAML_ALIAS_EVENT:
        return err_setk(e, ERR_USAGE, "%s:%d: aliases (*%s) are not supported", name, line,
                        q((const char *)ev->data.alias.anchor,
                          strlen((const char *)ev->data.alias.anchor), qb));
    case YAML_SCALAR_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        if (++t->nodes > TREE_NODES_MAX)
            return err_setk(e, ERR_USAGE, "%s:%d: more than %d YAML nodes", name, line,
                            TREE_NODES_MAX);
        if (!(n = new_node(ev, line, name, e)))
            return -1;
        if (attach(t->stack, t->depth, &t->root, n, name, e) < 0)
            return -1;
        if (n->type != YN_SCALAR) {
            if (t->depth == TREE_DEPTH_MAX)
                return err_setk(e, ERR_USAGE, "%s:%d: nested more than %d levels deep", name,
                                line, TREE_DEPTH_MAX);
            t->stack[t->depth++] = n;
        }
        return 0;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        if (t->depth > 0)
            t->depth--;
        return 0;
    default:
        return 0;
    }
}

static int build_tree(const char *buf, size_t len, const char *name, struct ynode **out,
                      struct err *e)
{
    yaml_parser_t p;
    struct tree t = {.name = name};
    int rc = 0;

    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return err_set(e, "%s: out of memory", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    while (rc == 0 && !t.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = parse_error(&p, name, e);
            break;
        }
        rc = tree_event(&t, &ev, e);
        yaml_event_delete(&ev);
    }
    if (rc == 0) {
        *out = t.root;
        t.root = NULL;
    }
    ynode_free(t.root);
    yaml_parser_delete(&p);
    return rc;
}

/* -------------------------------------------------------------- schema -- */

enum {
    K_MAP, K_IGNORE, K_ENUM, K_BOOL, K_INT, K_DATE,
    K_BUCKET, K_PREFIX, K_REGION, K_URL, K_DIR, K_TEXT,
};

/* Post-checks need the lines of a few keys. */
enum { L_NONE, L_DATE_START, L_DATE_END, L_COLD_PREFIX, L_REP_DATA, L_REP_INDEX, L_KEY_PREFIX,
       L_AGG_PREFIX, L_REP_AGG_DATA, L_REP_AGG_INDEX, L_DATASETS, L_MAX };

struct field {
    const char *key;
    int kind;
    size_t off;                  /* into struct config (not for K_MAP / K_IGNORE) */
    size_t size;                 /* string buffer size */
    int lo, hi;                  /* K_INT range */
    const char *const *names;    /* K_ENUM values (index = stored value), NULL-terminated */
    const struct field *kids;    /* K_MAP children, terminated by key NULL */
    int setflag;                 /* 1: also set the int at setoff */
    size_t setoff;
    int slot;                    /* L_* */
};

struct ctx {
    const char *name;
    struct config *c;
    struct err *e;
    int lines[L_MAX];
};

static const char *const ts_type_names[] = { "ALL", "ASSOCIATED", "DISASSOCIATED", NULL };
static const char *const ts_source_names[] = { "metadata", "api", NULL };
static const char *const locking_names[] = { "auto", "on", "off", NULL };
static const char *const read_back_names[] = { "auto", "always", NULL };
static const char *const log_names[] = { "text", "json", NULL };
static const char *const codec_names[] = { "snappy", "deflate", "null", NULL };
static const char *const ds_names[] = { "all", "raw", "agg", NULL };
static const char *const sse_names[] = { "none", "AES256", "aws:kms", NULL };
static const char *const acl_names[] = { "none", "private", "bucket-owner-full-control",
                                         "bucket-owner-read", NULL };
/* GLACIER and DEEP_ARCHIVE are left out: a merged file is read back
 * (UploadPartCopy) by the next run. */
static const char *const class_names[] = { "none", "STANDARD", "STANDARD_IA",
                                           "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR",
                                           "REDUCED_REDUNDANCY", NULL };

#define OFF(m) offsetof(struct config, m)
#define SZ(m)  sizeof(((struct config *)0)->m)

static const struct field cold_fields[] = {
    { "bucket_name", K_BUCKET, OFF(s3.cold_tier.bucket_name), SZ(s3.cold_tier.bucket_name), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "data_prefix", K_PREFIX, OFF(s3.cold_tier.data_prefix), SZ(s3.cold_tier.data_prefix), 0, 0, NULL, NULL, 0, 0, L_COLD_PREFIX },
    { "key_prefix", K_PREFIX, OFF(s3.cold_tier.key_prefix), SZ(s3.cold_tier.key_prefix), 0, 0, NULL, NULL, 0, 0, L_KEY_PREFIX },
    { "agg_prefix", K_PREFIX, OFF(s3.cold_tier.agg_prefix), SZ(s3.cold_tier.agg_prefix), 0, 0, NULL, NULL, 0, 0, L_AGG_PREFIX },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
static const struct field rep_fields[] = {
    { "bucket_name", K_BUCKET, OFF(s3.repartitioned.bucket_name), SZ(s3.repartitioned.bucket_name), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "data_prefix", K_PREFIX, OFF(s3.repartitioned.data_prefix), SZ(s3.repartitioned.data_prefix), 0, 0, NULL, NULL, 0, 0, L_REP_DATA },
    { "index_prefix", K_PREFIX, OFF(s3.repartitioned.index_prefix), SZ(s3.repartitioned.index_prefix), 0, 0, NULL, NULL, 0, 0, L_REP_INDEX },
    { "agg_data_prefix", K_PREFIX, OFF(s3.repartitioned.agg_data_prefix), SZ(s3.repartitioned.agg_data_prefix), 0, 0, NULL, NULL, 0, 0, L_REP_AGG_DATA },
    { "agg_index_prefix", K_PREFIX, OFF(s3.repartitioned.agg_index_prefix), SZ(s3.repartitioned.agg_index_prefix), 0, 0, NULL, NULL, 0, 0, L_REP_AGG_INDEX },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
/* The Python sample's AWS Glue packaging; nothing for repart to do with it. */
static const struct field glue_fields[] = {
    { "bucket_name", K_IGNORE, 0, 0, 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "scripts_prefix", K_IGNORE, 0, 0, 0, 0, NULL, NULL, 0, 0, L_NONE },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
static const struct field upload_fields[] = {
    { "sse", K_ENUM, OFF(s3.upload.sse), 0, 0, 0, sse_names, NULL, 0, 0, L_NONE },
    { "kms_key_id", K_TEXT, OFF(s3.upload.kms_key_id), SZ(s3.upload.kms_key_id), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "bucket_key", K_BOOL, OFF(s3.upload.bucket_key), 0, 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "storage_class", K_ENUM, OFF(s3.upload.storage_class), 0, 0, 0, class_names, NULL, 0, 0, L_NONE },
    { "acl", K_ENUM, OFF(s3.upload.acl), 0, 0, 0, acl_names, NULL, 0, 0, L_NONE },
    { "expected_bucket_owner", K_TEXT, OFF(s3.upload.expected_bucket_owner), SZ(s3.upload.expected_bucket_owner), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "tags", K_TEXT, OFF(s3.upload.tags), SZ(s3.upload.tags), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
static const struct field s3_fields[] = {
    { "region", K_REGION, OFF(s3.region), SZ(s3.region), 0, 0, NULL, NULL, 1, OFF(s3.region_set), L_NONE },
    { "endpoint_url", K_URL, OFF(s3.endpoint_url), SZ(s3.endpoint_url), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "path_style", K_BOOL, OFF(s3.path_style), 0, 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "cold_tier", K_MAP, 0, 0, 0, 0, NULL, cold_fields, 0, 0, L_NONE },
    { "repartitioned", K_MAP, 0, 0, 0, 0, NULL, rep_fields, 0, 0, L_NONE },
    { "glue_assets", K_MAP, 0, 0, 0, 0, NULL, glue_fields, 0, 0, L_NONE },
    { "upload", K_MAP, 0, 0, 0, 0, NULL, upload_fields, 0, 0, L_NONE },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
static const struct field date_fields[] = {
    { "date_start", K_DATE, OFF(date_start), 0, 0, 0, NULL, NULL, 0, 0, L_DATE_START },
    { "date_end", K_DATE, OFF(date_end), 0, 0, 0, NULL, NULL, 0, 0, L_DATE_END },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
static const struct field watch_fields[] = {
    { "batch_messages", K_INT, OFF(watch.batch_messages), 0, 1, 10000, NULL, NULL, 0, 0, L_NONE },
    { "batch_seconds", K_INT, OFF(watch.batch_seconds), 0, 1, 3600, NULL, NULL, 0, 0, L_NONE },
    { "quiet_seconds", K_INT, OFF(watch.quiet_seconds), 0, 0, 20, NULL, NULL, 0, 0, L_NONE },
    { "visibility_timeout", K_INT, OFF(watch.visibility_timeout), 0, 0, 43200, NULL, NULL, 0, 0, L_NONE },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};
static const struct field top_fields[] = {
    { "timeseries_type", K_ENUM, OFF(timeseries_type), 0, 0, 0, ts_type_names, NULL, 0, 0, L_NONE },
    { "timeseries_source", K_ENUM, OFF(timeseries_source), 0, 0, 0, ts_source_names, NULL, 0, 0, L_NONE },
    { "locking", K_ENUM, OFF(locking), 0, 0, 0, locking_names, NULL, 0, 0, L_NONE },
    { "read_back", K_ENUM, OFF(read_back), 0, 0, 0, read_back_names, NULL, 0, 0, L_NONE },
    { "log_format", K_ENUM, OFF(log_format), 0, 0, 0, log_names, NULL, 1, OFF(log_format_set), L_NONE },
    { "s3", K_MAP, 0, 0, 0, 0, NULL, s3_fields, 0, 0, L_NONE },
    { "date_range", K_MAP, 0, 0, 0, 0, NULL, date_fields, 0, 0, L_NONE },
    { "work_dir", K_DIR, OFF(work_dir), SZ(work_dir), 0, 0, NULL, NULL, 0, 0, L_NONE },
    { "concurrency", K_INT, OFF(concurrency), 0, 1, 1024, NULL, NULL, 0, 0, L_NONE },
    { "part_size_mb", K_INT, OFF(part_size_mb), 0, 5, 5120, NULL, NULL, 0, 0, L_NONE },
    { "output_codec", K_ENUM, OFF(output_codec), 0, 0, 0, codec_names, NULL, 0, 0, L_NONE },
    { "datasets", K_ENUM, OFF(datasets), 0, 0, 0, ds_names, NULL, 0, 0, L_DATASETS },
    { "watch", K_MAP, 0, 0, 0, 0, NULL, watch_fields, 0, 0, L_NONE },
    { NULL, 0, 0, 0, 0, 0, NULL, NULL, 0, 0, 0 },
};

/* Keys of the Python sample's older config layouts: say what replaced them. */
static const struct { const char *key, *hint; } legacy_hints[] = {
    { "s3_buckets", "an older layout of the Python sample; use s3.cold_tier.bucket_name, "
                    "s3.cold_tier.data_prefix and s3.repartitioned.{bucket_name,data_prefix,index_prefix}" },
    { "local_dirs", "an older layout of the Python sample; use work_dir" },
    { "credentials", "credentials are not configured here; use AWS_PROFILE or the other AWS "
                     "credential sources" },
};

static int is_null(const struct ynode *v)
{
    return v->type == YN_SCALAR && v->plain &&
           (v->len == 0 || strcmp(v->str, "~") == 0 || strcmp(v->str, "null") == 0 ||
            strcmp(v->str, "Null") == 0 || strcmp(v->str, "NULL") == 0);
}

static const char *kind_name(int type)
{
    return type == YN_MAP ? "a mapping" : type == YN_SEQ ? "a list" : "a single value";
}

static int need_scalar(struct ctx *x, const char *path, const struct ynode *v)
{
    if (v->type != YN_SCALAR)
        return err_setk(x->e, ERR_USAGE, "%s:%d: %s: must be a single value, not %s", x->name,
                        v->line, path, kind_name(v->type));
    if (memchr(v->str, '\0', v->len))
        return err_setk(x->e, ERR_USAGE, "%s:%d: %s: contains a NUL character", x->name,
                        v->line, path);
    for (size_t i = 0; i < v->len; i++) {
        unsigned char ch = (unsigned char)v->str[i];
        if (ch < 0x20 || ch == 0x7f)
            return err_setk(x->e, ERR_USAGE, "%s:%d: %s: contains a control character",
                            x->name, v->line, path);
    }
    return 0;
}

#define FAIL(v, ...) fail(x, (v)->line, path, __VA_ARGS__)
static int fail(struct ctx *x, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct ctx *x, int line, const char *path, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return err_setk(x->e, ERR_USAGE, "%s:%d: %s: %s", x->name, line, path, why);
}

static int set_string(struct ctx *x, const char *path, const struct field *f,
                      const struct ynode *v)
{
    char qb[QMAX + 4];
    char *dst = (char *)x->c + f->off;
    const char *s = v->str;
    size_t n = v->len;

    if (need_scalar(x, path, v) < 0)
        return -1;
    if (is_null(v) || n == 0) {
        /* Not set: keep the default. Required values are checked at the end;
         * a prefix cannot be empty. */
        if (f->kind == K_PREFIX)
            return FAIL(v, "must not be empty (e.g. \"raw/\")");
        if (f->kind == K_BUCKET || f->kind == K_DIR)
            return FAIL(v, "must not be empty");
        if (f->kind == K_URL)
            dst[0] = '\0';
        return 0;
    }
    if (n >= f->size)
        return FAIL(v, "longer than %zu characters", f->size - 1);

    switch (f->kind) {
    case K_BUCKET:
        if (n < 3)
            return FAIL(v, "\"%s\" is not a bucket name (3 characters or more)", q(s, n, qb));
        for (size_t i = 0; i < n; i++)
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_'))
                return FAIL(v, "\"%s\" is not a bucket name (letters, digits, '.', '-', '_'; "
                               "no \"s3://\" and no prefix)", q(s, n, qb));
        break;
    case K_PREFIX:
        if (s[0] == '/')
            return FAIL(v, "must not start with '/' (got \"%s\")", q(s, n, qb));
        if (s[n - 1] != '/')
            return FAIL(v, "must end with '/' (got \"%s\")", q(s, n, qb));
        if (strstr(s, "//"))
            return FAIL(v, "must not contain \"//\" (got \"%s\")", q(s, n, qb));
        /* a day's or bucket's folder: every range would list nothing */
        if (strstr(s, "startYear=") || strstr(s, "startMonth=") || strstr(s, "startDay=") ||
            strstr(s, "seriesBucket="))
            return FAIL(v, "\"%s\" names a partition folder: give the prefix above the "
                        "startYear= partitions (e.g. raw/)", q(s, n, qb));
        break;
    case K_REGION:
        if (!awscfg_region_ok(s))
            return FAIL(v, "\"%s\" is not a region name (e.g. us-east-1)", q(s, n, qb));
        break;
    case K_URL:
        if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
            return FAIL(v, "must start with http:// or https:// (got \"%s\")", q(s, n, qb));
        if (strchr(s, ' '))
            return FAIL(v, "must not contain spaces");
        if (strlen(s) <= (s[4] == 's' ? 8u : 7u))
            return FAIL(v, "has no host");
        break;
    case K_DIR:
        break;
    case K_TEXT:
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
                return FAIL(v, "must be printable ASCII without spaces");
        break;
    }
    memcpy(dst, s, n + 1);
    if (f->setflag)
        *(int *)((char *)x->c + f->setoff) = 1;
    return 0;
}

static int set_enum(struct ctx *x, const char *path, const struct field *f,
                    const struct ynode *v)
{
    char qb[QMAX + 4], list[128] = "";
    if (need_scalar(x, path, v) < 0)
        return -1;
    /* `~` and empty mean "not set"; the word null is a value (output_codec). */
    if (v->plain && (v->len == 0 || strcmp(v->str, "~") == 0))
        return 0;
    for (int i = 0; f->names[i]; i++) {
        if (strcasecmp(v->str, f->names[i]) == 0) {
            *(int *)((char *)x->c + f->off) = i;
            if (f->setflag)
                *(int *)((char *)x->c + f->setoff) = 1;
            return 0;
        }
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? " | " : "", f->names[i]);
    }
    return FAIL(v, "\"%s\" is not one of %s", q(v->str, v->len, qb), list);
}

static int set_bool(struct ctx *x, const char *path, const struct field *f,
                    const struct ynode *v)
{
    char qb[QMAX + 4];
    if (need_scalar(x, path, v) < 0)
        return -1;
    if (is_null(v))
        return 0;
    int b;
    if (strcasecmp(v->str, "true") == 0)
        b = 1;
    else if (strcasecmp(v->str, "false") == 0)
        b = 0;
    else
        return FAIL(v, "\"%s\" is not true or false", q(v->str, v->len, qb));
    *(int *)((char *)x->c + f->off) = b;
    return 0;
}

static int set_int(struct ctx *x, const char *path, const struct field *f,
                   const struct ynode *v)
{
    char qb[QMAX + 4];
    if (need_scalar(x, path, v) < 0)
        return -1;
    if (is_null(v))
        return 0;
    long val = 0;
    int ok = v->len > 0 && v->len <= 9;
    for (size_t i = 0; ok && i < v->len; i++) {
        if (v->str[i] < '0' || v->str[i] > '9')
            ok = 0;
        else
            val = val * 10 + (v->str[i] - '0');
    }
    if (!ok)
        return FAIL(v, "\"%s\" is not a whole number (%d..%d)", q(v->str, v->len, qb), f->lo,
                    f->hi);
    if (val < f->lo || val > f->hi)
        return FAIL(v, "%ld is outside %d..%d", val, f->lo, f->hi);
    *(int *)((char *)x->c + f->off) = (int)val;
    return 0;
}

static int set_date(struct ctx *x, const char *path, const struct field *f,
                    const struct ynode *v)
{
    struct err de;
    if (need_scalar(x, path, v) < 0)
        return -1;
    if (is_null(v))
        return 0;
    struct day d = {0};
    if (day_parse(v->str, &d, &de) < 0)
        return FAIL(v, "%s", de.msg);
    *(struct day *)((char *)x->c + f->off) = d;
    return 0;
}

static int walk_map(struct ctx *x, const char *path, const struct ynode *m,
                    const struct field *fields);

static int apply(struct ctx *x, const char *path, const struct field *f, const struct ynode *v)
{
    if (f->slot)
        x->lines[f->slot] = v->line;
    switch (f->kind) {
    case K_MAP:
        if (is_null(v))
            return 0;
        if (v->type != YN_MAP)
            return FAIL(v, "must be a mapping of keys, not %s", kind_name(v->type));
        return walk_map(x, path, v, f->kids);
    case K_IGNORE:
        return need_scalar(x, path, v);
    case K_ENUM:
        return set_enum(x, path, f, v);
    case K_BOOL:
        return set_bool(x, path, f, v);
    case K_INT:
        return set_int(x, path, f, v);
    case K_DATE:
        return set_date(x, path, f, v);
    default:
        return set_string(x, path, f, v);
    }
}

static int walk_map(struct ctx *x, const char *path, const struct ynode *m,
                    const struct field *fields)
{
    char qb[QMAX + 4];
    for (size_t i = 0; i + 1 < m->n; i += 2) {
        const struct ynode *k = m->kids[i], *v = m->kids[i + 1];
        char sub[256];
        /* Keys before this one are known and distinct (an unknown or
         * repeated key stops the walk), so this scan is short. */
        for (size_t j = 0; j < i; j += 2)
            if (m->kids[j]->len == k->len && memcmp(m->kids[j]->str, k->str, k->len) == 0)
                return err_setk(x->e, ERR_USAGE, "%s:%d: %s%s%s: duplicate key (first at line %d)",
                                x->name, k->line, path, *path ? "." : "",
                                q(k->str, k->len, qb), m->kids[j]->line);
        const struct field *f = fields;
        while (f->key && !(strlen(f->key) == k->len && memcmp(f->key, k->str, k->len) == 0))
            f++;
        if (!f->key) {
            const char *hint = NULL;
            if (!*path)
                for (size_t h = 0; h < sizeof legacy_hints / sizeof *legacy_hints; h++)
                    if (strlen(legacy_hints[h].key) == k->len &&
                        memcmp(legacy_hints[h].key, k->str, k->len) == 0)
                        hint = legacy_hints[h].hint;
            char known[256] = "";
            for (const struct field *g = fields; g->key; g++) {
                size_t l = strlen(known);
                snprintf(known + l, sizeof known - l, "%s%s", g == fields ? "" : ", ", g->key);
            }
            return err_setk(x->e, ERR_USAGE, "%s:%d: %s%s%s: unknown key (%s%s)", x->name,
                            k->line, path, *path ? "." : "", q(k->str, k->len, qb),
                            hint ? hint : "known here: ", hint ? "" : known);
        }
        snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", f->key);
        if (apply(x, sub, f, v) < 0)
            return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- post-checks */

static int missing(struct ctx *x, const char *path, const char *why)
{
    return err_setk(x->e, ERR_USAGE, "%s: %s: %s", x->name, path, why);
}

/* 1 when a is a prefix of b or b of a. */
static int overlaps(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return strncmp(a, b, la < lb ? la : lb) == 0;
}

/* the buckets, the date range (both ends or neither), the upload settings */
static int check_required(struct ctx *x)
{
    struct config *c = x->c;
    char a[DAY_STR_MAX], b[DAY_STR_MAX];
    if (!c->s3.cold_tier.bucket_name[0])
        return missing(x, "s3.cold_tier.bucket_name", "missing (the bucket SiteWise exports to)");
    if (!c->s3.repartitioned.bucket_name[0])
        return missing(x, "s3.repartitioned.bucket_name", "missing (the bucket repart writes to)");

    int hs = x->lines[L_DATE_START] && day_valid(&c->date_start);
    int he = x->lines[L_DATE_END] && day_valid(&c->date_end);
    if (hs && !he)
        return missing(x, "date_range.date_end", "missing (date_start is set)");
    if (he && !hs)
        return missing(x, "date_range.date_start", "missing (date_end is set)");
    if (hs && he) {
        if (day_cmp(&c->date_start, &c->date_end) > 0)
            return fail(x, x->lines[L_DATE_START], "date_range.date_start",
                        "%s is after date_end %s", day_format(&c->date_start, a),
                        day_format(&c->date_end, b));
        c->has_date_range = 1;
    }

    struct err ue = {0};
    if (config_upload_check(&c->s3.upload, &ue) != 0)
        return missing(x, "s3.upload", ue.msg);
    return 0;
}

/* the cold tier's datasets: from the SiteWise keyPrefix, or the sample's
 * data_prefix (raw/) with agg/ beside it */
static int check_cold_prefixes(struct ctx *x)
{
    struct config *c = x->c;
    if (x->lines[L_KEY_PREFIX] && x->lines[L_COLD_PREFIX])
        return fail(x, x->lines[L_KEY_PREFIX], "s3.cold_tier.key_prefix",
                    "set with s3.cold_tier.data_prefix: give one of them (key_prefix is the "
                    "level above raw/ and agg/; data_prefix is raw/ itself)");
    if (c->s3.cold_tier.key_prefix[0]) {
        if (strlen(c->s3.cold_tier.key_prefix) + 4 > CONFIG_PREFIX_MAX)
            return fail(x, x->lines[L_KEY_PREFIX], "s3.cold_tier.key_prefix", "too long");
        snprintf(c->s3.cold_tier.data_prefix, sizeof c->s3.cold_tier.data_prefix, "%sraw/", c->s3.cold_tier.key_prefix);
        if (!x->lines[L_AGG_PREFIX])
            snprintf(c->s3.cold_tier.agg_prefix, sizeof c->s3.cold_tier.agg_prefix, "%sagg/", c->s3.cold_tier.key_prefix);
    } else if (!x->lines[L_AGG_PREFIX]) {
        size_t n = strlen(c->s3.cold_tier.data_prefix);
        if (n >= 4 && strcmp(c->s3.cold_tier.data_prefix + n - 4, "raw/") == 0 &&
            (n == 4 || c->s3.cold_tier.data_prefix[n - 5] == '/'))
            snprintf(c->s3.cold_tier.agg_prefix, sizeof c->s3.cold_tier.agg_prefix, "%.*sagg/", (int)(n - 4),
                     c->s3.cold_tier.data_prefix);
    }
    if (c->datasets == CONFIG_DS_AGG && !c->s3.cold_tier.agg_prefix[0])
        return fail(x, x->lines[L_DATASETS], "datasets",
                    "agg: no prefix for it (s3.cold_tier.data_prefix \"%s\" does not end in "
                    "raw/): set s3.cold_tier.key_prefix or s3.cold_tier.agg_prefix",
                    c->s3.cold_tier.data_prefix);
    if (c->s3.cold_tier.agg_prefix[0] && overlaps(c->s3.cold_tier.agg_prefix, c->s3.cold_tier.data_prefix))
        return fail(x, x->lines[L_AGG_PREFIX] ? x->lines[L_AGG_PREFIX] : x->lines[L_COLD_PREFIX],
                    "s3.cold_tier.agg_prefix", "\"%s\" overlaps the raw data prefix \"%s\"",
                    c->s3.cold_tier.agg_prefix, c->s3.cold_tier.data_prefix);
    return 0;
}

/* the four output prefixes never overlap (nor, in the cold tier's bucket,
 * its prefixes) */
static int check_out_prefixes(struct ctx *x)
{
    const struct config *c = x->c;
    const struct { const char *v, *name; int line; } outs[] = {
        { c->s3.repartitioned.data_prefix, "s3.repartitioned.data_prefix", L_REP_DATA },
        { c->s3.repartitioned.index_prefix, "s3.repartitioned.index_prefix", L_REP_INDEX },
        { c->s3.repartitioned.agg_data_prefix, "s3.repartitioned.agg_data_prefix",
          L_REP_AGG_DATA },
        { c->s3.repartitioned.agg_index_prefix, "s3.repartitioned.agg_index_prefix",
          L_REP_AGG_INDEX },
    };
    int same = strcmp(c->s3.cold_tier.bucket_name, c->s3.repartitioned.bucket_name) == 0;
    for (int i = 2; i < 4; i++) {
        for (int j = 0; j < i; j++)
            if (overlaps(outs[i].v, outs[j].v))
                return fail(x, x->lines[outs[i].line] ? x->lines[outs[i].line]
                                                      : x->lines[outs[j].line],
                            outs[i].name, "\"%s\" overlaps %s \"%s\"", outs[i].v,
                            outs[j].name, outs[j].v);
        if (same && c->s3.cold_tier.agg_prefix[0] && overlaps(outs[i].v, c->s3.cold_tier.agg_prefix))
            return fail(x, x->lines[outs[i].line], outs[i].name, "\"%s\" overlaps "
                        "s3.cold_tier.agg_prefix \"%s\" in the same bucket", outs[i].v,
                        c->s3.cold_tier.agg_prefix);
        if (same && overlaps(outs[i].v, c->s3.cold_tier.data_prefix))
            return fail(x, x->lines[outs[i].line], outs[i].name, "\"%s\" overlaps "
                        "s3.cold_tier.data_prefix \"%s\" in the same bucket", outs[i].v,
                        c->s3.cold_tier.data_prefix);
    }
    for (int j = 0; same && c->s3.cold_tier.agg_prefix[0] && j < 2; j++)
        if (overlaps(outs[j].v, c->s3.cold_tier.agg_prefix))
            return fail(x, x->lines[outs[j].line], outs[j].name, "\"%s\" overlaps "
                        "s3.cold_tier.agg_prefix \"%s\" in the same bucket", outs[j].v,
                        c->s3.cold_tier.agg_prefix);
    return 0;
}

/* the raw data's output prefixes against each other and the cold tier's */
static int check_raw_out_prefixes(struct ctx *x)
{
    const struct config *c = x->c;
    const char *rd = c->s3.repartitioned.data_prefix, *ri = c->s3.repartitioned.index_prefix;
    if (overlaps(rd, ri))
        return fail(x, x->lines[L_REP_INDEX] ? x->lines[L_REP_INDEX] : x->lines[L_REP_DATA],
                    "s3.repartitioned.index_prefix",
                    "\"%s\" overlaps s3.repartitioned.data_prefix \"%s\" (index files would be "
                    "read as data)", ri, rd);
    if (strcmp(c->s3.cold_tier.bucket_name, c->s3.repartitioned.bucket_name) == 0) {
        const char *cd = c->s3.cold_tier.data_prefix;
        if (overlaps(cd, rd))
            return fail(x, x->lines[L_REP_DATA] ? x->lines[L_REP_DATA] : x->lines[L_COLD_PREFIX],
                        "s3.repartitioned.data_prefix",
                        "\"%s\" overlaps s3.cold_tier.data_prefix \"%s\" in the same bucket "
                        "(merged files would be read as input)", rd, cd);
        if (overlaps(cd, ri))
            return fail(x, x->lines[L_REP_INDEX] ? x->lines[L_REP_INDEX] : x->lines[L_COLD_PREFIX],
                        "s3.repartitioned.index_prefix",
                        "\"%s\" overlaps s3.cold_tier.data_prefix \"%s\" in the same bucket",
                        ri, cd);
    }
    return 0;
}

static int post_checks(struct ctx *x)
{
    int rc = check_required(x);
    if (rc == 0)
        rc = check_cold_prefixes(x);
    if (rc == 0)
        rc = check_out_prefixes(x);
    if (rc == 0)
        rc = check_raw_out_prefixes(x);
    return rc;
}

/* ------------------------------------------------------------------ API -- */

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->timeseries_type = CONFIG_TS_ALL;
    c->timeseries_source = CONFIG_TSSRC_METADATA;
    c->locking = CONFIG_LOCK_AUTO;
    c->log_format = CONFIG_LOG_TEXT;
    strcpy(c->s3.region, "us-east-1");
    strcpy(c->s3.cold_tier.data_prefix, "raw/");
    strcpy(c->s3.repartitioned.data_prefix, "consolidated/");
    strcpy(c->s3.repartitioned.index_prefix, "index/");
    strcpy(c->s3.repartitioned.agg_data_prefix, "consolidated_agg/");
    strcpy(c->s3.repartitioned.agg_index_prefix, "index_agg/");
    strcpy(c->work_dir, "/tmp/sitewise");
    c->concurrency = 16;
    c->part_size_mb = 16;
    c->output_codec = CONFIG_CODEC_SNAPPY;
    c->watch.batch_messages = 100;
    c->watch.batch_seconds = 60;
    c->watch.quiet_seconds = 5;
    c->watch.visibility_timeout = 0;
}

int config_load_buffer(const char *buf, size_t len, const char *name, struct config *out,
                       struct err *e)
{
    struct config *c = malloc(sizeof *c);   /* *out is only written on success */
    struct ynode *root = NULL;
    int rc = -1;
    if (!name)
        name = "config";
    if (!c)
        return err_set(e, "%s: out of memory", name);
    config_defaults(c);
    snprintf(c->path, sizeof c->path, "%s", name);
    struct ctx x = { .name = c->path, .c = c, .e = e };

    if (len > CONFIG_FILE_MAX) {
        err_setk(e, ERR_USAGE, "%s: larger than %d bytes", name, CONFIG_FILE_MAX);
        goto out;
    }
    if (build_tree(buf, len, x.name, &root, e) < 0)
        goto out;
    if (root && !is_null(root)) {
        if (root->type != YN_MAP) {
            err_setk(e, ERR_USAGE, "%s:%d: the top level must be a mapping of keys "
                     "(timeseries_type, s3, ...), not %s", x.name, root->line,
                     kind_name(root->type));
            goto out;
        }
        if (walk_map(&x, "", root, top_fields) < 0)
            goto out;
    }
    if (post_checks(&x) < 0)
        goto out;
    *out = *c;
    rc = 0;
out:
    ynode_free(root);
    free(c);
    return rc;
}

int config_load_file(const char *path, struct config *out, struct err *e)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not hang the run */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return err_setk(e, ERR_USAGE, "config file %s: %s", path, strerror(errno));
    struct stat st;
    const char *what = NULL;
    if (fstat(fd, &st) != 0)
        what = strerror(errno);
    else if (S_ISDIR(st.st_mode))
        what = "is a directory";
    else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
        what = "is a pipe or socket, not a regular file";
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
        what = "is a device, not a regular file";
    else if (!S_ISREG(st.st_mode))
        what = "is not a regular file";
    FILE *f = what ? NULL : fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return err_setk(e, ERR_USAGE, "config file %s: %s", path, what ? what : strerror(errno));
    }
    /* Read at most one byte more than allowed to tell "too large". */
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return err_set(e, "config file %s: out of memory", path);
    }
    size_t n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        return err_setk(e, ERR_USAGE, "config file %s: read error", path);
    }
    if (n > CONFIG_FILE_MAX) {
        free(buf);
        return err_setk(e, ERR_USAGE, "config file %s: larger than %d bytes", path,
                        CONFIG_FILE_MAX);
    }
    int rc = config_load_buffer(buf, n, path, out, e);
    free(buf);
    return rc;
}

int config_apply_env(struct config *c, struct err *e)
{
    return config_resolve_region(c, NULL, e);
}

int config_resolve_region(struct config *c, const char *region_opt, struct err *e)
{
    const char *explicit = NULL, *from = NULL;
    if (region_opt && *region_opt) {
        explicit = region_opt;
        from = "--region";
    } else if (c->s3.region_set) {
        explicit = c->s3.region;
        from = "s3.region";
    }
    char r[CONFIG_REGION_MAX + 1];
    const char *got = NULL;
    int k = awscfg_region(explicit, from, r, sizeof r, &got, e);
    if (k < 0)
        return -1;
    if (k == 0) {
        strcpy(c->s3.region, "us-east-1");
        c->s3.region_from = "default";
        return 0;
    }
    memcpy(c->s3.region, r, strlen(r) + 1);
    c->s3.region_from = got;
    return 0;
}

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

const char *config_ts_type_name(int v) { return name_of(ts_type_names, 3, v); }
const char *config_ts_source_name(int v) { return name_of(ts_source_names, 2, v); }
const char *config_locking_name(int v) { return name_of(locking_names, 3, v); }
const char *config_log_format_name(int v) { return name_of(log_names, 2, v); }
const char *config_codec_name(int v) { return name_of(codec_names, 3, v); }
const char *config_datasets_name(int v) { return name_of(ds_names, 3, v); }

int config_dataset_view(const struct config *c, int ds, struct config *out, struct err *e)
{
    if (out != c)
        *out = *c;
    if (c->dataset == ds)
        return 0;
    if (c->dataset != 0)   /* a view's own prefixes replaced raw's */
        return err_setk(e, ERR_USAGE, "%s: the %s dataset cannot be derived from the %s view",
                        c->path, config_dataset_name(ds), config_dataset_name(c->dataset));
    out->dataset = ds;
    if (!c->s3.cold_tier.agg_prefix[0])
        return err_setk(e, ERR_USAGE, "%s: the agg dataset has no prefix (s3.cold_tier.data_prefix "
                        "\"%s\" does not end in raw/): set s3.cold_tier.key_prefix or "
                        "s3.cold_tier.agg_prefix", c->path, c->s3.cold_tier.data_prefix);
    memcpy(out->s3.cold_tier.data_prefix, c->s3.cold_tier.agg_prefix, sizeof out->s3.cold_tier.data_prefix);
    memcpy(out->s3.repartitioned.data_prefix, c->s3.repartitioned.agg_data_prefix,
           sizeof out->s3.repartitioned.data_prefix);
    memcpy(out->s3.repartitioned.index_prefix, c->s3.repartitioned.agg_index_prefix,
           sizeof out->s3.repartitioned.index_prefix);
    int n = snprintf(out->work_dir, sizeof out->work_dir, "%s/agg", c->work_dir);
    if (n < 0 || (size_t)n >= sizeof out->work_dir)
        return err_setk(e, ERR_USAGE, "%s: work_dir too long", c->path);
    return 0;
}

int config_dataset_list(const struct config *c, int out[2])
{
    int n = 0;
    if (c->datasets != CONFIG_DS_AGG)
        out[n++] = 0;
    if (c->datasets != CONFIG_DS_RAW && c->s3.cold_tier.agg_prefix[0])
        out[n++] = 1;
    return n;
}

const char *config_base_schema(const struct config *c)
{
    return c->dataset == 0 ? sitewise_schema_json : NULL;
}

const char *config_dataset_name(int ds)
{
    return ds == 1 ? "agg" : "raw";
}

const char *config_sse_name(int v) { return v > 0 ? name_of(sse_names, 3, v) : NULL; }
const char *config_acl_name(int v) { return v > 0 ? name_of(acl_names, 4, v) : NULL; }
const char *config_storage_class_name(int v) { return v > 0 ? name_of(class_names, 7, v) : NULL; }

int config_upload_check(const struct config_upload *u, struct err *e)
{
    if (u->kms_key_id[0] && u->sse != CONFIG_SSE_KMS)
        return err_setk(e, ERR_USAGE, "kms_key_id needs sse: aws:kms");
    if (u->bucket_key && u->sse != CONFIG_SSE_KMS)
        return err_setk(e, ERR_USAGE, "bucket_key needs sse: aws:kms");
    for (const char *p = u->kms_key_id; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr(":/_-", *p)))
            return err_setk(e, ERR_USAGE, "kms_key_id: a key id, alias or ARN has only "
                            "A-Z a-z 0-9 : / _ -");
    size_t ol = strlen(u->expected_bucket_owner);
    if (ol) {
        int ok = ol == 12;
        for (size_t i = 0; ok && i < ol; i++)
            ok = isdigit((unsigned char)u->expected_bucket_owner[i]);
        if (!ok)
            return err_setk(e, ERR_USAGE, "expected_bucket_owner: an AWS account id is 12 digits");
    }
    if (u->tags[0]) {
        int pairs = 1;
        for (const char *p = u->tags; *p; p++) {
            if (*p == '&')
                pairs++;
            else if (!(isalnum((unsigned char)*p) || strchr("-._~%=+", *p)))
                return err_setk(e, ERR_USAGE, "tags: a URL query (k1=v1&k2=v2, URL-encoded), "
                                "got '%c'", *p);
        }
        if (pairs > 10)
            return err_setk(e, ERR_USAGE, "tags: at most 10 tags per object (S3)");
    }
    return 0;
}

static int pick(const char *const *names, const char *v, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

int config_upload_set(struct config_upload *u, const char *key, const char *value,
                      struct err *e)
{
    int bad = 0;
    char *dst = NULL;
    size_t cap = 0;
    if (strcmp(key, "sse") == 0)
        bad = pick(sse_names, value, &u->sse);
    else if (strcmp(key, "storage_class") == 0)
        bad = pick(class_names, value, &u->storage_class);
    else if (strcmp(key, "acl") == 0)
        bad = pick(acl_names, value, &u->acl);
    else if (strcmp(key, "bucket_key") == 0) {
        if (strcasecmp(value, "true") == 0)
            u->bucket_key = 1;
        else if (strcasecmp(value, "false") == 0)
            u->bucket_key = 0;
        else
            bad = 1;
    } else if (strcmp(key, "kms_key_id") == 0) {
        dst = u->kms_key_id;
        cap = sizeof u->kms_key_id;
    } else if (strcmp(key, "expected_bucket_owner") == 0) {
        dst = u->expected_bucket_owner;
        cap = sizeof u->expected_bucket_owner;
    } else if (strcmp(key, "tags") == 0) {
        dst = u->tags;
        cap = sizeof u->tags;
    } else {
        return err_setk(e, ERR_USAGE, "s3.upload has no key %s", key);
    }
    if (dst) {
        if (strlen(value) >= cap)
            return err_setk(e, ERR_USAGE, "%s: longer than %zu characters", key, cap - 1);
        snprintf(dst, cap, "%s", value);
    }
    if (bad)
        return err_setk(e, ERR_USAGE, "%s: \"%.40s\" is not one of the accepted values", key,
                        value);
    return config_upload_check(u, e);
}

enum codec_id config_output_codec(const struct config *c)
{
    switch (c->output_codec) {
    case CONFIG_CODEC_DEFLATE: return CODEC_DEFLATE;
    case CONFIG_CODEC_NULL: return CODEC_NULL;
    default: return CODEC_SNAPPY;
    }
}
