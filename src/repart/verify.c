#include "verify.h"
#include "grow.h"

#include "dayfile.h"
#include "layout.h"

#include <avro.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_call.h"
#include "codec.h"
#include "datum.h"
#include "index.h"
#include "lease.h"
#include "ocf_stream.h"
#include "pipeline.h"
#include "sampleadopt.h"
#include "scan.h"

/* verify --repair holds a day's lease for one index read and a few deletes */
#define VERIFY_LEASE_TTL_SECS 300

int verify_is_merged_name(const char *name)
{
    return strcmp(name, LAYOUT_DAYFILE) == 0 || pipeline_is_merged_name(name);
}

int verify_is_legacy_name(const char *name)
{
    size_t n = strlen(name), p = strlen(LAYOUT_SAMPLE_PREFIX);
    return n > p + 5 && strncmp(name, LAYOUT_SAMPLE_PREFIX, p) == 0 && strcmp(name + n - 5, ".avro") == 0 &&
           !strchr(name, '/');
}

const char *verify_kind_name(enum verify_kind k)
{
    static const char *const names[] = {
        "missing", "orphan", "count_mismatch", "corrupt", "unreadable", "foreign_series",
        "source_gone", "source_changed", "source_unreadable", "repaired", "legacy", "other",
        "index_damaged", "sample_unaccounted", "bad_key", "value_mismatch",
    };
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "?";
}

int verify_day_needs_rebuild(const struct verify_day *v)
{
    return v->n_kind[VK_MISSING] || v->n_kind[VK_CORRUPT] || v->n_kind[VK_COUNT_MISMATCH] ||
           v->n_kind[VK_VALUE_MISMATCH] ||
           v->n_kind[VK_FOREIGN_SERIES] || v->n_kind[VK_INDEX_DAMAGED] ||
           v->n_kind[VK_SAMPLE_UNACCOUNTED];
}

const char *verify_sev_name(enum verify_sev s)
{
    return s == VERIFY_PROBLEM ? "problem" : s == VERIFY_WARNING ? "warning" : "info";
}

const char *verify_file_status_name(enum verify_file_status s)
{
    static const char *const names[] = {
        "ok", "unchecked", "missing", "orphan", "repaired", "count_mismatch", "corrupt",
        "unreadable", "foreign_series", "legacy", "other", "value_mismatch",
    };
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

/* ------------------------------------------------------------- findings */

static void add_finding(struct verify_day *v, enum verify_kind kind, enum verify_sev sev,
                        const char *key, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add_finding(struct verify_day *v, enum verify_kind kind, enum verify_sev sev,
                        const char *key, const char *fmt, ...)
{
    v->n_kind[kind]++;
    if (sev == VERIFY_PROBLEM)
        v->problems++;
    else if (sev == VERIFY_WARNING)
        v->warnings++;
    if (v->n_findings == v->cap_findings) {
        size_t cap = v->cap_findings ? v->cap_findings * 2 : 16;
        struct verify_finding *p = realloc(v->findings, cap * sizeof *p);
        if (!p)
            return;   /* counted above; the detail is lost */
        v->findings = p;
        v->cap_findings = cap;
    }
    char msg[ERR_MSG_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct verify_finding *f = &v->findings[v->n_findings];
    f->kind = kind;
    f->sev = sev;
    f->key = key ? strdup(key) : NULL;
    f->msg = strdup(msg);
    if (!f->msg || (key && !f->key)) {
        free(f->key);
        free(f->msg);
        return;
    }
    v->n_findings++;
}

void verify_day_free(struct verify_day *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n_files; i++) {
        free(v->files[i].name);
        free(v->files[i].key);
    }
    free(v->files);
    for (size_t i = 0; i < v->n_findings; i++) {
        free(v->findings[i].key);
        free(v->findings[i].msg);
    }
    free(v->findings);
    memset(v, 0, sizeof *v);
}

/* ---------------------------------------------------------------- survey */

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct verify_file *)a)->name, ((const struct verify_file *)b)->name);
}

static struct verify_file *find_file(struct verify_day *v, const char *name)
{
    struct verify_file key = {.name = (char *)name};
    return v->n_files ? bsearch(&key, v->files, v->n_files, sizeof key, cmp_file) : NULL;
}

static int push_file(struct verify_day *v, size_t *cap, const char *name, const char *key,
                     long long size, long long lm, enum verify_file_status st)
{
    if (v->n_files == *cap) {
        struct verify_file *p = grow_array(v->files, v->n_files, cap, sizeof *p, 16);
        if (!p)
            return -1;
        v->files = p;
    }
    struct verify_file *f = &v->files[v->n_files];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->key = strdup(key);
    if (!f->name || !f->key) {
        free(f->name);
        free(f->key);
        return -1;
    }
    f->size = size;
    f->last_modified = lm;
    f->status = st;
    f->records = f->expected = -1;
    v->n_files++;
    return 0;
}

static int data_prefix(const struct config *cfg, const struct day *d, char *buf, size_t size)
{
    char part[DAY_PARTITION_MAX];
    int n = snprintf(buf, size, "%s%s", cfg->s3.repartitioned.data_prefix, day_partition(d, part));
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Lists the day's data prefix into v->files, classified by name. */
static int list_files(const struct verify_env *env, const struct day *d, struct verify_day *v,
                      size_t *cap)
{
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    char prefix[CONFIG_PREFIX_MAX + DAY_PARTITION_MAX + 8];
    if (data_prefix(env->cfg, d, prefix, sizeof prefix) != 0)
        return err_setk(&v->err, ERR_USAGE, "data prefix too long");
    struct s3_object_list l = {0};
    if (s3_list(env->s3, bucket, prefix, &l, &v->err) != 0)
        return err_prefix(&v->err, "listing merged files s3://%s/%s: ", bucket, prefix);
    size_t plen = strlen(prefix);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const struct s3_object *o = &l.items[i];
        if (strncmp(o->key, prefix, plen) != 0)
            continue;
        const char *name = o->key + plen;
        enum verify_file_status st = VF_OTHER;
        if (verify_is_merged_name(name)) {
            st = VF_ORPHAN;   /* until an index line names it */
            v->merged_files++;
            v->merged_bytes += o->size;
        } else if (verify_is_legacy_name(name)) {
            st = VF_LEGACY;
            v->legacy_files++;
        } else {
            v->other_files++;
        }
        if (push_file(v, cap, name, o->key, o->size, o->last_modified, st) != 0)
            rc = err_set(&v->err, "out of memory");
        else
            snprintf(v->files[v->n_files - 1].etag, sizeof v->files[0].etag, "%s", o->etag);
    }
    s3_object_list_free(&l);
    if (rc == 0 && v->n_files > 1)
        qsort(v->files, v->n_files, sizeof *v->files, cmp_file);
    return rc;
}

static size_t real_series_lines(const struct index *ix)
{
    size_t n = ix->n_series;
    /* #compat short ids are listed in series[] too */
    return n >= ix->n_compat ? n - ix->n_compat : 0;
}

/* scan + listing; leaves the scan in *s for verify_day. */
static int survey(const struct verify_env *env, const struct scan_filter *filter,
                  const struct day *d, struct verify_day *v, struct day_scan *s, size_t *cap)
{
    memset(v, 0, sizeof *v);
    v->day = *d;
    struct scan_ctx sc = {env->cfg, env->s3, env->pool, filter};
    if (scan_day(&sc, d, s, &v->err) != 0)
        return -1;
    v->index_exists = s->index_exists;
    v->cold_objects = s->n_src;
    v->pending = s->n_new;
    v->cold_bytes = s->bytes;
    v->bad_keys = s->n_bad_keys;
    v->skipped_keys = s->n_skipped;
    v->pending_bytes = s->bytes_new;
    v->pending_series = s->series_new;
    v->index_series = real_series_lines(&s->index);
    v->index_sources = s->index.n_sources;
    if (list_files(env, d, v, cap) != 0)
        return -1;
    /* the files the index names */
    for (size_t i = 0; i < s->index.n_files; i++) {
        struct verify_file *f = find_file(v, s->index.files[i].name);
        if (f && f->status == VF_ORPHAN)
            f->status = VF_OK;
    }
    for (size_t i = 0; i < s->index.n_sources; i++) {
        struct verify_file *f = find_file(v, s->index.sources[i].merged);
        if (f && f->status == VF_ORPHAN)
            f->status = VF_OK;
        if (f)
            f->sources++;
    }
    return 0;
}

int verify_survey_day(const struct verify_env *env, const struct day *d, struct verify_day *out)
{
    struct day_scan s;
    size_t cap = 0;
    int rc = survey(env, env->filter, d, out, &s, &cap);
    scan_free(&s);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < out->n_files; i++)
        if (out->files[i].status == VF_ORPHAN)
            out->n_kind[VK_ORPHAN]++;
    return 0;
}

/* ----------------------------------------------------------------- reads */

/* Reading one object (a merged file or a source) through the block scanner. */
struct read_task {
    struct s3_client *s3;
    const char *bucket;
    const char *key;
    long long last;            /* > 0: read bytes 0..last only (a day file's committed part) */
    const struct index_file *want;  /* the #file line of the bytes read (its MD5 chain);
                                       NULL: none */
    struct md5chain chain;     /* with want */
    struct md5chain_check check;
    int checking;
    struct waitgroup *wg;
    int deep;
    /* deep: the series the file may hold (sorted, borrowed) */
    const char *const *series;
    size_t n_series;

    int rc;
    struct err err;
    int data_error;            /* the failure is in the bytes (ERR_DATA) */
    uint64_t records;

    /* deep state */
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
    int have_value;
    int series_field;
    struct datum_prog *prog;
    enum codec_id codec;
    struct bytebuf raw;
    avro_reader_t reader;
    uint64_t foreign;          /* records whose series is not one of `series` */
    uint64_t vsum, vxor;       /* deep: the multiset of record values (value_hash), as the
                                  sum and xor of each record's hash */
    char foreign_example[160];
    uint64_t foreign_offset;   /* block of the first */
};

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- record values, independent of the schema they are written in ----
 * Each record hashes to 64 bits over its non-null fields by name, in any
 * order (a field a narrower source lacks and the day file holds as null
 * hashes the same; fields listed in another order too),
 * union branches unwrapped, numbers by value (an int promoted to long, or an
 * integral value promoted to double, hashes as the same number; a long that
 * a double could not hold exactly does not). A day file's records, as a
 * multiset (sum and xor of the hashes), equal its sources' exactly when
 * every field value of every record was kept. */
struct vhash {
    uint64_t h;
};

static void vh_bytes(struct vhash *v, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        v->h ^= b[i];
        v->h *= 0x100000001b3ULL;   /* FNV-1a */
    }
}

static void vh_tag_len(struct vhash *v, char tag, uint64_t n)
{
    vh_bytes(v, &tag, 1);
    vh_bytes(v, &n, sizeof n);
}

static int vh_null(avro_value_t *x)
{
    avro_value_t br;
    if (avro_value_get_type(x) == AVRO_UNION) {
        if (avro_value_get_current_branch(x, &br) != 0)
            return 0;
        return vh_null(&br);
    }
    return avro_value_get_type(x) == AVRO_NULL;
}

/* splitmix finaliser: sums of hashes stay well spread */
static uint64_t vh_mix(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void vh_number(struct vhash *v, double d)
{
    /* every double that is an int64 value hashes as that integer */
    if (d == d && d >= -0x1p63 && d < 0x1p63 && (double)(int64_t)d == d &&
        !(d == 0 && signbit(d))) {   /* -0.0 is a value of its own */
        int64_t i = (int64_t)d;
        vh_tag_len(v, 'I', (uint64_t)i);
    } else {
        uint64_t u;
        memcpy(&u, &d, 8);
        vh_tag_len(v, 'D', u);
    }
}

/* null, booleans and numbers (an int promoted to long hashes the same) */
static int vh_number_value(struct vhash *v, avro_value_t *x)
{
    switch (avro_value_get_type(x)) {
    case AVRO_NULL:
        vh_tag_len(v, 'N', 0);
        return 0;
    case AVRO_BOOLEAN: {
        int b = 0;
        avro_value_get_boolean(x, &b);
        vh_tag_len(v, 'B', (uint64_t)(b != 0));
        return 0;
    }
    case AVRO_INT32: {
        int32_t i = 0;
        avro_value_get_int(x, &i);
        vh_tag_len(v, 'I', (uint64_t)(int64_t)i);
        return 0;
    }
    case AVRO_INT64: {
        int64_t i = 0;
        avro_value_get_long(x, &i);
        vh_tag_len(v, 'I', (uint64_t)i);
        return 0;
    }
    case AVRO_FLOAT: {
        float f = 0;
        avro_value_get_float(x, &f);
        vh_number(v, (double)f);
        return 0;
    }
    case AVRO_DOUBLE: {
        double d = 0;
        avro_value_get_double(x, &d);
        vh_number(v, d);
        return 0;
    }
    default:
        return -1;
    }
}

/* strings, bytes and enum symbols */
static int vh_text_value(struct vhash *v, avro_value_t *x)
{
    switch (avro_value_get_type(x)) {
    case AVRO_STRING: {
        const char *p = NULL;
        size_t n = 0;
        avro_value_get_string(x, &p, &n);
        n = n ? n - 1 : 0;   /* Avro C counts the NUL */
        vh_tag_len(v, 'S', n);
        vh_bytes(v, p, n);
        return 0;
    }
    case AVRO_BYTES:
    case AVRO_FIXED: {   /* the same bytes, whichever type holds them */
        const void *p = NULL;
        size_t n = 0;
        if (avro_value_get_type(x) == AVRO_BYTES)
            avro_value_get_bytes(x, &p, &n);
        else
            avro_value_get_fixed(x, &p, &n);
        vh_tag_len(v, 'Y', n);
        vh_bytes(v, p, n);
        return 0;
    }
    case AVRO_ENUM: {
        int i = 0;
        avro_value_get_enum(x, &i);
        const char *sym = avro_schema_enum_get(avro_value_get_schema(x), i);
        size_t n = sym ? strlen(sym) : 0;
        vh_tag_len(v, 'E', n);
        vh_bytes(v, sym, n);
        return 0;
    }
    default:
        return -1;
    }
}

static int vh_value(struct vhash *v, avro_value_t *x, int depth);

/* fields by name, in any order: each non-null field hashed on its own, the
 * hashes summed (a source may list its fields in another order than the day
 * file) */
static int vh_record(struct vhash *v, avro_value_t *x, int depth)
{
    size_t n = 0;
    avro_value_get_size(x, &n);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        avro_value_t f;
        const char *name = NULL;
        if (avro_value_get_by_index(x, i, &f, &name) != 0 || !name)
            return -1;
        if (vh_null(&f))
            continue;   /* absent and null are the same value */
        struct vhash fv = {0xcbf29ce484222325ULL};
        vh_tag_len(&fv, 'F', strlen(name));
        vh_bytes(&fv, name, strlen(name));
        if (vh_value(&fv, &f, depth + 1) != 0)
            return -1;
        sum += vh_mix(fv.h);
    }
    vh_tag_len(v, 'R', sum);
    return 0;
}

/* arrays and maps: elements in order, a map's keys with them */
static int vh_list(struct vhash *v, avro_value_t *x, int depth)
{
    size_t n = 0;
    int map = avro_value_get_type(x) == AVRO_MAP;
    avro_value_get_size(x, &n);
    vh_tag_len(v, map ? 'M' : 'A', n);
    for (size_t i = 0; i < n; i++) {
        avro_value_t el;
        const char *key = NULL;
        if (avro_value_get_by_index(x, i, &el, map ? &key : NULL) != 0)
            return -1;
        if (map && key)
            vh_bytes(v, key, strlen(key) + 1);
        if (vh_value(v, &el, depth + 1) != 0)
            return -1;
    }
    return 0;
}

static int vh_value(struct vhash *v, avro_value_t *x, int depth)
{
    if (depth > 64)
        return -1;
    switch (avro_value_get_type(x)) {
    case AVRO_NULL:
    case AVRO_BOOLEAN:
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        return vh_number_value(v, x);
    case AVRO_STRING:
    case AVRO_BYTES:
    case AVRO_FIXED:
    case AVRO_ENUM:
        return vh_text_value(v, x);
    case AVRO_UNION: {
        avro_value_t br;
        if (avro_value_get_current_branch(x, &br) != 0)
            return -1;
        return vh_value(v, &br, depth + 1);
    }
    case AVRO_RECORD:
        return vh_record(v, x, depth);
    case AVRO_ARRAY:
    case AVRO_MAP:
        return vh_list(v, x, depth);
    default:
        return -1;
    }
}

/* The hash of one record (value_hash above); 0 when it cannot be walked. */
static uint64_t record_hash(avro_value_t *rec)
{
    struct vhash v = {0xcbf29ce484222325ULL};
    if (vh_value(&v, rec, 0) != 0)
        return 0;
    return vh_mix(v.h);
}

static int deep_header(void *ud, const char *schema_json, size_t len, enum codec_id codec,
                       struct err *e)
{
    struct read_task *t = ud;
    t->codec = codec;
    char msg[AVRO_CALL_MSG_MAX];
    if (avro_call_schema_from_json(schema_json, len, &t->schema, msg) != 0) {
        t->schema = NULL;
        return err_setk(e, ERR_DATA, "%s: header: schema does not parse: %s", t->key, msg);
    }
    if (!is_avro_record(t->schema))
        return err_setk(e, ERR_DATA, "%s: header: schema is not a record", t->key);
    /* (Avro C reads past a missing field's slot: ask for the index first) */
    avro_schema_t f = avro_schema_record_field_get_index(t->schema, "seriesId") >= 0
                          ? avro_schema_record_field_get(t->schema, "seriesId") : NULL;
    if (!f || !is_avro_string(f))
        return err_setk(e, ERR_DATA, "%s: header: schema has no string field seriesId", t->key);
    t->series_field = avro_schema_record_field_get_index(t->schema, "seriesId");
    t->prog = datum_compile(t->schema, NULL, 0, e);
    if (!t->prog)
        return err_prefix(e, "%s: header: ", t->key);
    t->iface = avro_call_generic_class(t->schema, msg);
    if (!t->iface || avro_call_generic_value_new(t->iface, &t->value, msg) != 0)
        return err_set(e, "%s: header: %s", t->key, *msg ? msg : "out of memory");
    t->have_value = 1;
    t->reader = avro_reader_memory("", 0);
    if (!t->reader)
        return err_set(e, "%s: out of memory", t->key);
    return 0;
}

static int deep_block(void *ud, const struct ocf_stream_block *b, struct err *e)
{
    struct read_task *t = ud;
    const unsigned char *data = b->data;
    size_t len = b->size;
    if (t->codec != CODEC_NULL) {
        if (codec_decompress(t->codec, b->data, b->size, CODEC_DEFAULT_MAX_BLOCK, &t->raw, e) != 0)
            return err_prefix(e, "%s: block at offset %llu: ", t->key, (unsigned long long)b->offset);
        data = t->raw.data;
        len = t->raw.len;
    }
    /* every length checked before Avro C reads a byte of it */
    if (datum_check_block(t->prog, data, len, b->count, NULL, e) != 0)
        return err_prefix(e, "%s: block at offset %llu: ", t->key, (unsigned long long)b->offset);
    avro_reader_memory_set_source(t->reader, (const char *)data, (int64_t)len);
    for (int64_t i = 0; i < b->count; i++) {
        avro_value_t field;
        const char *sid = NULL;
        size_t sl = 0;
        if (avro_value_read(t->reader, &t->value) != 0 ||
            avro_value_get_by_index(&t->value, (size_t)t->series_field, &field, NULL) != 0 ||
            avro_value_get_string(&field, &sid, &sl) != 0 || !sid)
            return err_setk(e, ERR_DATA, "%s: block at offset %llu: record %lld does not decode",
                            t->key, (unsigned long long)b->offset, (long long)i);
        uint64_t h = record_hash(&t->value);
        t->vsum += h;
        t->vxor ^= h;
        if (!t->n_series || !bsearch(&sid, t->series, t->n_series, sizeof *t->series, str_cmp)) {
            if (t->foreign++ == 0) {
                snprintf(t->foreign_example, sizeof t->foreign_example, "%s", sid);
                t->foreign_offset = b->offset;
            }
        }
    }
    return 0;
}

static int feed(void *ud, const void *buf, size_t len)
{
    struct ocf_stream *s = ((void **)ud)[0];
    struct err *e = ((void **)ud)[1];
    struct read_task *t = ((void **)ud)[2];
    if (t->checking)
        md5chain_check_feed(&t->check, buf, len);
    return ocf_stream_feed(s, buf, len, e) == 0 ? 0 : -1;
}

/* The bytes read are the ones the index names (its MD5 chain): a file
 * whose records all decode may still not be the committed version. */
static int check_md5(struct read_task *t)
{
    t->checking = 0;
    if (md5chain_check_end(&t->check, t->key, &t->err) == 0)
        return 0;
    t->data_error = 1;
    return err_prefix(&t->err, "not the version the index committed: ");
}

static void read_run(void *arg)
{
    struct read_task *t = arg;
    struct ocf_stream_cbs cbs = {NULL, NULL, t};
    if (t->deep) {
        cbs.header = deep_header;
        cbs.block = deep_block;
    }
    struct ocf_stream *s = ocf_stream_new(t->key, t->deep, 0, &cbs);
    struct err se = {0};
    if (t->want && (md5chain_parse(t->want->md5, t->want->size, &t->chain, NULL) != 0 ||
                    md5chain_check_init(&t->check, &t->chain, 0) != 0)) {
        ocf_stream_free(s);
        s = NULL;
    }
    t->checking = s && t->want;
    if (!s) {
        t->rc = err_set(&t->err, "%s: out of memory", t->key);
    } else {
        void *ud[3] = {s, &se, t};
        t->rc = s3_get(t->s3, t->bucket, t->key, t->last > 0 ? 0 : -1,
                       t->last > 0 ? t->last : -1, feed, ud, NULL, &t->err);
        if (t->rc != 0 && t->err.kind == ERR_CANCELLED && se.msg[0]) {
            /* the scanner stopped the transfer: its message is the one */
            t->err = se;
            t->data_error = 1;
        } else if (t->rc == 0 && ocf_stream_finish(s, &t->err) != 0) {
            t->rc = -1;
            t->data_error = 1;
        } else if (t->rc == 0 && t->checking && check_md5(t) != 0) {
            t->rc = -1;
        }
        if (t->data_error && t->err.kind != ERR_DATA)
            t->data_error = 0;   /* e.g. out of memory */
        t->records = ocf_stream_records(s);
        ocf_stream_free(s);
    }
    if (t->reader)
        avro_reader_free(t->reader);
    if (t->have_value)
        avro_value_decref(&t->value);
    if (t->iface)
        avro_value_iface_decref(t->iface);
    if (t->schema)
        avro_schema_decref(t->schema);
    datum_free(t->prog);
    if (t->checking)
        md5chain_check_free(&t->check);
    t->checking = 0;
    bytebuf_free(&t->raw);
    t->reader = NULL;
    t->have_value = 0;
    t->iface = NULL;
    t->schema = NULL;
    t->prog = NULL;
    waitgroup_done(t->wg);
}

/* ---------------------------------------------------------------- verify */

struct src_ref {
    const struct index_source *ix;
    const struct scan_source *cold;   /* NULL when gone */
    struct read_task *task;           /* NULL when not read */
};

static int cmp_ref(const void *a, const void *b)
{
    const struct src_ref *x = a, *y = b;
    int c = strcmp(x->ix->merged, y->ix->merged);
    return c ? c : strcmp(x->ix->relkey, y->ix->relkey);
}

static int cmp_cold(const void *a, const void *b)
{
    return strcmp((*(const struct scan_source *const *)a)->relkey,
                  (*(const struct scan_source *const *)b)->relkey);
}

static const struct scan_source *find_cold(const struct scan_source *const *v, size_t n,
                                           const char *relkey)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid]->relkey, relkey);
        if (c == 0)
            return v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}


/* Deletes the orphans old enough, holding the day's lease (with locking) and
 * after reading the index once more. */
static void repair(const struct verify_env *env, const struct day_scan *s, struct verify_day *v)
{
    const char *bucket = env->cfg->s3.repartitioned.bucket_name;
    struct index fresh;
    index_init(&fresh);
    struct err e = {0};
    struct lease lease;
    memset(&lease, 0, sizeof lease);
    int rc = 0;
    if (env->locking) {
        char key[sizeof lease.key];
        rc = layout_lease_key(env->cfg, &s->day, key, sizeof key) == 0
                 ? 0
                 : err_set(&e, "lease key too long");
        if (rc == 0)
            rc = lease_acquire(env->s3, bucket, key, VERIFY_LEASE_TTL_SECS, &lease, &e);
        if (rc == 0)
            rc = lease_keepalive_start(env->s3, bucket, &lease, VERIFY_LEASE_TTL_SECS, &e);
        if (rc != 0)
            err_prefix(&e, "the day's lease: ");
    }
    if (rc == 0) {
        struct bytebuf b = {0};
        /* checked against its ETag: this read decides what is deleted */
        rc = s3_get_buffer_verified(env->s3, bucket, s->index_key, INDEX_OBJECT_MAX, &b, NULL,
                                    &e);
        if (rc == 0)
            rc = index_parse((const char *)b.data, b.len, &fresh, &e);
        else if (e.kind == ERR_NOT_FOUND)
            rc = 0;
        if (rc != 0)
            err_prefix(&e, "re-reading the index: ");
        bytebuf_free(&b);
    }
    for (size_t i = 0; i < v->n_files; i++) {
        struct verify_file *f = &v->files[i];
        /* the day file is never deleted: a damaged index is repaired by a
         * rebuild (verify_day_needs_rebuild), not by removing data */
        if (f->status != VF_ORPHAN || strcmp(f->name, LAYOUT_DAYFILE) == 0)
            continue;
        if (rc != 0) {
            add_finding(v, VK_ORPHAN, VERIFY_PROBLEM, f->key,
                        "%s: no index line names it; not deleted: %s", f->key, e.msg);
            continue;
        }
        int named = 0;
        for (size_t j = 0; j < fresh.n_sources && !named; j++)
            named = strcmp(fresh.sources[j].merged, f->name) == 0;
        named |= index_file_find(&fresh, f->name) != NULL;
        if (named) {
            f->status = VF_UNCHECKED;
            add_finding(v, VK_OTHER, VERIFY_INFO, f->key,
                        "%s: committed while verify ran; not checked (run verify again)", f->key);
            continue;
        }
        long long age = env->now - f->last_modified;
        if (age < env->repair_min_age) {
            add_finding(v, VK_ORPHAN, VERIFY_PROBLEM, f->key,
                        "%s: no index line names it; not deleted: modified %lld s ago, less than "
                        "%lld s (a run may be about to commit it)", f->key, age,
                        env->repair_min_age);
            continue;
        }
        struct err de = {0};
        if (lease_lost(&lease)) {
            add_finding(v, VK_ORPHAN, VERIFY_PROBLEM, f->key,
                        "%s: no index line names it; not deleted: the day's lease was lost",
                        f->key);
            continue;
        }
        if (s3_delete(env->s3, bucket, f->key, &de) != 0) {
            add_finding(v, VK_ORPHAN, VERIFY_PROBLEM, f->key,
                        "%s: no index line names it; deleting it failed: %s", f->key, de.msg);
            continue;
        }
        f->status = VF_REPAIRED;
        add_finding(v, VK_REPAIRED, VERIFY_INFO, f->key,
                    "%s: deleted (no index line named it; %lld bytes)", f->key, f->size);
    }
    lease_release(env->s3, bucket, &lease);
    index_free(&fresh);
}

/* verify_day's state, shared by its steps */
struct vday {
    const struct verify_env *env;
    const struct day *d;
    struct verify_day *v;
    struct day_scan s;
    size_t cap;                        /* of v->files */
    struct src_ref *refs;              /* the index's #src lines, by merged file */
    size_t n_refs;
    const struct scan_source **cold;   /* the cold-tier sources, by relkey */
    struct read_task *tasks;
    size_t n_tasks;
    const char **series;               /* runs of it: each merged file's series (--deep) */
    size_t n_series;
    struct read_task **ftask;          /* per v->files[i]: its read */
    const struct index_file *dfile;    /* the day file's #file line; NULL: none */
    int dayfile_tail;                  /* the day file has bytes after the committed ones */
};

/* every key of the day accounted for: what a run would fail on */
static void report_keys(struct verify_day *v, const struct day_scan *s)
{
    if (s->n_bad_keys)
        add_finding(v, VK_BAD_KEY, VERIFY_PROBLEM, NULL,
                    "%zu .avro key(s) under %s do not parse (a run fails the day until they "
                    "are renamed or removed); first: %s", s->n_bad_keys, s->day_prefix,
                    s->bad_key.msg);
    if (s->n_skipped)
        add_finding(v, VK_OTHER, VERIFY_WARNING, NULL,
                    "%zu key(s) under %s that are not data (skipped); first: \"%s\"",
                    s->n_skipped, s->day_prefix, s->skipped_key);
}

/* the day file against its #file line */
static void check_dayfile(struct vday *x)
{
    struct verify_day *v = x->v;
    const struct day_scan *s = &x->s;
    const struct index_file *dfile = index_file_find(&s->index, LAYOUT_DAYFILE);
    const struct verify_file *dvf = find_file(v, LAYOUT_DAYFILE);
    struct err ce = {0};
    x->dfile = dfile;
    if (dfile && index_check_file(&s->index, LAYOUT_DAYFILE, &ce) != 0)
        add_finding(v, VK_INDEX_DAMAGED, VERIFY_PROBLEM, s->index_key,
                    "%s: %s (`verify --repair` rebuilds the day file from the cold tier)",
                    s->index_key, ce.msg);
    if (index_check_adopted(&s->index, &ce) != 0)
        add_finding(v, VK_INDEX_DAMAGED, VERIFY_PROBLEM, s->index_key,
                    "%s: %s (`verify --repair` adopts the sample's files again from their "
                    "records)", s->index_key, ce.msg);
    if (dfile && dvf && dvf->size > dfile->size) {
        x->dayfile_tail = 1;
        add_finding(v, VK_OTHER, VERIFY_WARNING, dvf->key,
                    "%s: %lld bytes after the %lld committed ones, written by a run that stopped "
                    "before its commit (records of real sources; the next run writes them "
                    "again); the committed bytes are checked", dvf->key,
                    dvf->size - dfile->size, dfile->size);
    }
    if (dfile && dvf && dvf->size >= 0 && dvf->size < dfile->size)
        add_finding(v, VK_CORRUPT, VERIFY_PROBLEM, dvf->key,
                    "%s: %lld bytes, shorter than the %lld bytes the index committed",
                    dvf->key, dvf->size, dfile->size);
}

/* The index's #src lines sorted by merged file, each with its cold-tier
 * object; and room for the reads. */
static int pair_sources(struct vday *x)
{
    struct verify_day *v = x->v;
    const struct day_scan *s = &x->s;
    size_t n_refs = x->n_refs = s->index.n_sources;
    x->refs = calloc(n_refs ? n_refs : 1, sizeof *x->refs);
    x->cold = calloc(s->n_src ? s->n_src : 1, sizeof *x->cold);
    x->series = calloc(n_refs ? n_refs : 1, sizeof *x->series);
    /* one task per referenced merged file present, one per readable source */
    x->tasks = calloc(n_refs + v->n_files + 1, sizeof *x->tasks);
    x->ftask = calloc(v->n_files + 1, sizeof *x->ftask);
    if (!x->refs || !x->cold || !x->tasks || !x->series || !x->ftask)
        return err_set(&v->err, "out of memory");
    for (size_t i = 0; i < s->n_src; i++)
        x->cold[i] = &s->src[i];
    qsort(x->cold, s->n_src, sizeof *x->cold, cmp_cold);
    for (size_t i = 0; i < n_refs; i++) {
        x->refs[i].ix = &s->index.sources[i];
        x->refs[i].cold = find_cold(x->cold, s->n_src, x->refs[i].ix->relkey);
    }
    qsort(x->refs, n_refs, sizeof *x->refs, cmp_ref);
    return 0;
}

/* The end of the run of refs from `first` that name the same merged file. */
static size_t ref_run_end(const struct vday *x, size_t first)
{
    const char *name = x->refs[first].ix->merged;
    size_t end;
    for (end = first; end < x->n_refs && strcmp(x->refs[end].ix->merged, name) == 0; end++)
        ;
    return end;
}

static void start_read(const struct vday *x, struct read_task *t)
{
    waitgroup_add(t->wg, 1);
    if (pool_submit(x->env->pool, read_run, t) != 0)
        read_run(t);
}

/* The series of refs [first, end), for --deep: a run of x->series, sorted,
 * each once. */
static const char **file_series(struct vday *x, size_t first, size_t end, size_t *n)
{
    const char **fs = x->series + x->n_series;
    size_t nfs = 0;
    for (size_t i = first; i < end; i++)
        fs[nfs++] = x->refs[i].ix->series;
    qsort(fs, nfs, sizeof *fs, str_cmp);
    size_t w = 0;
    for (size_t i = 0; i < nfs; i++)
        if (!w || strcmp(fs[w - 1], fs[i]) != 0)
            fs[w++] = fs[i];
    x->n_series += w;
    *n = w;
    return fs;
}

/* Starts the read of the merged file of refs [first, end), when present, and
 * of its sources unchanged in the cold tier. */
static void read_merged(struct vday *x, struct waitgroup *wg, size_t first, size_t end)
{
    const struct verify_env *env = x->env;
    struct src_ref *refs = x->refs;
    const char *name = refs[first].ix->merged;
    struct verify_file *f = find_file(x->v, name);
    if (!f)
        return;   /* missing: reported by judge_files */
    size_t w;
    const char **fs = file_series(x, first, end, &w);
    struct read_task *t = &x->tasks[x->n_tasks++];
    *t = (struct read_task){.s3 = env->s3, .bucket = env->cfg->s3.repartitioned.bucket_name,
                            .key = f->key, .wg = wg, .deep = env->deep, .series = fs,
                            .n_series = w};
    /* a day file with an uncommitted tail: what the index committed is checked */
    if (x->dayfile_tail && strcmp(name, LAYOUT_DAYFILE) == 0)
        t->last = x->dfile->size - 1;
    /* files the index records whole (#file): their bytes are checked too */
    const struct index_file *xf = index_file_find(&x->s.index, name);
    if (xf && (t->last > 0 ? t->last + 1 : f->size) == xf->size)
        t->want = xf;
    x->ftask[f - x->v->files] = t;
    start_read(x, t);
    for (size_t i = first; i < end; i++) {
        const struct scan_source *c = refs[i].cold;
        if (!c || strcmp(c->etag, refs[i].ix->etag) != 0 || c->size != refs[i].ix->size)
            continue;   /* gone or changed: reported by judge_file */
        struct read_task *st = &x->tasks[x->n_tasks++];
        /* deep: each source's record values too (value_hash) */
        *st = (struct read_task){.s3 = env->s3, .bucket = env->cfg->s3.cold_tier.bucket_name,
                                 .key = c->key, .wg = wg, .deep = env->deep};
        refs[i].task = st;
        start_read(x, st);
    }
}

/* Reads every merged file named by the index and its sources, in the pool. */
static void read_all(struct vday *x)
{
    struct waitgroup wg;
    waitgroup_init(&wg);
    for (size_t first = 0, end; first < x->n_refs; first = end) {
        end = ref_run_end(x, first);
        read_merged(x, &wg, first, end);
    }
    waitgroup_wait(&wg);
    waitgroup_destroy(&wg);
}

/* What the reads of a merged file's sources found. */
struct src_tally {
    size_t gone, changed, unreadable;
    const char *gone_ex, *changed_ex;
    struct err unread_ex;
    long long expected;          /* records of the sources read */
    uint64_t want_sum, want_xor; /* their values (value_hash) */
};

static void tally_sources(const struct vday *x, size_t first, size_t end, struct src_tally *t)
{
    const struct src_ref *refs = x->refs;
    for (size_t i = first; i < end; i++) {
        if (!refs[i].cold) {
            if (!t->gone++)
                t->gone_ex = refs[i].ix->relkey;
        } else if (!refs[i].task) {
            if (!t->changed++)
                t->changed_ex = refs[i].ix->relkey;
        } else {
            if (refs[i].task->rc != 0) {
                if (!t->unreadable++)
                    t->unread_ex = refs[i].task->err;
            } else {
                t->expected += (long long)refs[i].task->records;
                t->want_sum += refs[i].task->vsum;
                t->want_xor ^= refs[i].task->vxor;
                x->v->sources_read++;
            }
        }
    }
}

/* the sources whose records cannot be counted */
static void report_sources(struct verify_day *v, const struct verify_file *f,
                           const struct src_tally *t, size_t n, const char *day_prefix)
{
    if (t->gone)
        add_finding(v, VK_SOURCE_GONE, VERIFY_WARNING, f->key,
                    "%s: %zu of its %zu sources are no longer in the cold tier (e.g. %s%s); "
                    "its record count cannot be checked", f->key, t->gone, n, day_prefix,
                    t->gone_ex);
    if (t->changed)
        add_finding(v, VK_SOURCE_CHANGED, VERIFY_WARNING, f->key,
                    "%s: %zu of its %zu sources have another ETag or size than the index "
                    "records (e.g. %s%s); its record count cannot be checked", f->key,
                    t->changed, n, day_prefix, t->changed_ex);
    if (t->unreadable)
        add_finding(v, VK_SOURCE_UNREADABLE, VERIFY_WARNING, f->key,
                    "%s: %zu of its %zu sources could not be read (%s); its record count "
                    "cannot be checked", f->key, t->unreadable, n, t->unread_ex.msg);
}

/* Judges the merged file f of refs [first, end) against its sources. */
static void judge_file(struct vday *x, struct verify_file *f, size_t first, size_t end)
{
    const struct verify_env *env = x->env;
    struct verify_day *v = x->v;
    size_t n = end - first;
    struct read_task *t = x->ftask[f - v->files];
    struct src_tally st = {0};
    tally_sources(x, first, end, &st);
    report_sources(v, f, &st, n, x->s.day_prefix);
    /* an adopted sample file's records that no listed source accounted
     * for when it was adopted (sources deleted before) */
    const struct index_file *xf = index_file_find(&x->s.index, f->name);
    long long unowned = xf && xf->unowned > 0 ? xf->unowned : 0;
    long long expected = st.expected + unowned;
    int known = !st.gone && !st.changed && !st.unreadable;
    f->expected = known ? expected : -1;
    if (t->rc != 0) {
        if (t->data_error) {
            f->status = VF_CORRUPT;
            add_finding(v, VK_CORRUPT, VERIFY_PROBLEM, f->key, "corrupt: %s", t->err.msg);
        } else {
            f->status = VF_UNREADABLE;
            add_finding(v, VK_UNREADABLE, VERIFY_PROBLEM, f->key, "unreadable: %s", t->err.msg);
        }
        return;
    }
    f->records = (long long)t->records;
    v->records += t->records;
    if (known)
        v->records_expected += (uint64_t)expected;
    if (t->foreign && (long long)t->foreign > unowned) {
        f->status = VF_FOREIGN_SERIES;
        add_finding(v, VK_FOREIGN_SERIES, VERIFY_PROBLEM, f->key,
                    "%s: %llu record(s) of series that none of its %zu sources holds "
                    "(first: seriesId \"%s\" in the block at offset %llu)", f->key,
                    (unsigned long long)t->foreign, n, t->foreign_example,
                    (unsigned long long)t->foreign_offset);
    } else if (known && (long long)t->records != expected) {
        f->status = VF_MISMATCH;
        add_finding(v, VK_COUNT_MISMATCH, VERIFY_PROBLEM, f->key,
                    "%s: holds %llu records, its %zu sources hold %lld", f->key,
                    (unsigned long long)t->records, n, expected);
    } else if (known && env->deep && !unowned &&
               (t->vsum != st.want_sum || t->vxor != st.want_xor)) {
        /* (an adopted file with unowned records has values no source
         * accounts for: counts only) */
        f->status = VF_VALUE_MISMATCH;
        add_finding(v, VK_VALUE_MISMATCH, VERIFY_PROBLEM, f->key,
                    "%s: holds as many records as its %zu sources (%lld), but not their "
                    "field values (a value changed or dropped)", f->key, n, expected);
    } else {
        f->status = known ? VF_OK : VF_UNCHECKED;
    }
}

/* The merged files the index names that are not in the bucket (n_missing of
 * them, each named by missing_n[i] #src lines), as files of their own. */
static int report_missing(struct vday *x, const char **missing, const size_t *missing_n,
                          size_t n_missing)
{
    struct verify_day *v = x->v;
    for (size_t i = 0; i < n_missing; i++) {
        char prefix[CONFIG_PREFIX_MAX + DAY_PARTITION_MAX + 8];
        if (data_prefix(x->env->cfg, x->d, prefix, sizeof prefix) != 0)
            return err_set(&v->err, "%s: the day's data prefix is too long", x->s.day_prefix);
        size_t kl = strlen(prefix) + strlen(missing[i]) + 1;
        char *key = malloc(kl);
        if (!key)   /* a finding is never dropped: the day fails instead */
            return err_set(&v->err, "out of memory");
        snprintf(key, kl, "%s%s", prefix, missing[i]);
        const struct src_ref *r = NULL;
        for (size_t j = 0; j < x->n_refs && !r; j++)
            if (strcmp(x->refs[j].ix->merged, missing[i]) == 0)
                r = &x->refs[j];
        add_finding(v, VK_MISSING, VERIFY_PROBLEM, key,
                    "%s: missing: %zu source(s) of the index (#src lines) name it, e.g. %s%s",
                    key, missing_n[i], x->s.day_prefix, r ? r->ix->relkey : "?");
        if (push_file(v, &x->cap, missing[i], key, -1, 0, VF_MISSING) == 0)
            v->files[v->n_files - 1].sources = missing_n[i];
        free(key);
    }
    return 0;
}

/* judge each merged file named by the index; the missing ones after (they
 * join v->files, which moves it) */
static int judge_files(struct vday *x)
{
    struct verify_day *v = x->v;
    size_t n_refs = x->n_refs;
    const char **missing = calloc(n_refs ? n_refs : 1, sizeof *missing);
    size_t *missing_n = calloc(n_refs ? n_refs : 1, sizeof *missing_n);
    size_t n_missing = 0;
    if (!missing || !missing_n) {
        free(missing);
        free(missing_n);
        return err_set(&v->err, "out of memory");
    }
    for (size_t first = 0, end; first < n_refs; first = end) {
        const char *name = x->refs[first].ix->merged;
        end = ref_run_end(x, first);
        struct verify_file *f = find_file(v, name);
        if (!f) {
            missing[n_missing] = name;
            missing_n[n_missing++] = end - first;
            continue;
        }
        judge_file(x, f, first, end);
    }
    int rc = report_missing(x, missing, missing_n, n_missing);
    free(missing);
    free(missing_n);
    return rc;
}

/* orphans: deleted with --repair, else reported */
static void check_orphans(struct vday *x)
{
    struct verify_day *v = x->v;
    if (x->env->repair && v->n_files) {
        int any = 0;
        for (size_t i = 0; i < v->n_files && !any; i++)
            any = v->files[i].status == VF_ORPHAN;
        if (any)
            repair(x->env, &x->s, v);
    } else {
        for (size_t i = 0; i < v->n_files; i++)
            if (v->files[i].status == VF_ORPHAN)
                add_finding(v, VK_ORPHAN, VERIFY_PROBLEM, v->files[i].key,
                            "%s: orphan: no index line names it (left by a run that stopped "
                            "before its commit; `verify --repair` deletes it)", v->files[i].key);
    }
}

/* legacy (the Python sample's files) and other objects */
static void report_others(struct verify_day *v, const struct index *ix)
{
    for (size_t i = 0; i < v->n_files; i++) {
        const struct verify_file *f = &v->files[i];
        const struct index_folded *fo =
            f->status == VF_LEGACY ? index_folded_find(ix, f->name) : NULL;
        if (fo && !fo->etag[0])
            add_finding(v, VK_OTHER, VERIFY_PROBLEM, f->key,
                        "%s: folded into " LAYOUT_DAYFILE ", but the index did not record which "
                        "version (an earlier build), so no run deletes it and queries count "
                        "its records twice: delete it by hand", f->key);
        else if (fo)
            add_finding(v, VK_OTHER, VERIFY_PROBLEM, f->key,
                        "%s: folded into " LAYOUT_DAYFILE " by a run that stopped before deleting "
                        "it: queries count its records twice until the next `repart all` of "
                        "the day deletes it", f->key);
        else if (f->status == VF_LEGACY &&
                 sampleadopt_changed(ix, f->name, f->size, f->etag))
            add_finding(v, VK_OTHER, VERIFY_PROBLEM, f->key,
                        "%s: merged by the original Python sample and adopted by the index, "
                        "but rewritten since (%lld bytes; the sample run again in the same "
                        "second): the records the index counts there are gone; `verify "
                        "--repair` adopts it again and rebuilds the day", f->key, f->size);
        else if (f->status == VF_LEGACY && !index_file_find(ix, f->name))
            add_finding(v, VK_SAMPLE_UNACCOUNTED, VERIFY_WARNING, f->key,
                        "%s: merged by the original Python sample and not accounted for by the "
                        "index (no #file line): the next run of the day adopts it, or folds it "
                        "when " LAYOUT_DAYFILE " holds its sources already; `verify --repair` "
                        "rebuilds the day", f->key);
        else if (f->status == VF_LEGACY)
            add_finding(v, VK_LEGACY, VERIFY_INFO, f->key,
                        "%s: merged by the original Python sample; not checked", f->key);
        else if (f->status == VF_OTHER)
            add_finding(v, VK_OTHER, VERIFY_INFO, f->key,
                        "%s: not a merged file of repart or the Python sample; not checked", f->key);
    }
}

int verify_day(const struct verify_env *env, const struct day *d, struct verify_day *v)
{
    struct vday x = {.env = env, .d = d, .v = v};
    int rc = survey(env, NULL, d, v, &x.s, &x.cap);
    if (rc == 0) {
        report_keys(v, &x.s);
        check_dayfile(&x);
        rc = pair_sources(&x);
    }
    if (rc == 0) {
        read_all(&x);
        rc = judge_files(&x);
    }
    if (rc == 0) {
        if (v->n_files > 1)
            qsort(v->files, v->n_files, sizeof *v->files, cmp_file);
        check_orphans(&x);
        report_others(v, &x.s.index);
    }
    free(x.refs);
    free(x.cold);
    free(x.tasks);
    free(x.series);
    free(x.ftask);
    scan_free(&x.s);
    return rc;
}
