#include "gen.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assoc.h"
#include "coldkey.h"
#include "ocf.h"
#include "sitewise_schema.h"

#define SIX_HOURS 21600

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stream seeded from (seed, a, b). */
static uint64_t mix3(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t s = seed ^ 0x5bd1e995u;
    splitmix(&s);
    s ^= a * 0x9e3779b97f4a7c15ULL;
    splitmix(&s);
    s ^= b * 0xc2b2ae3d27d4eb4fULL;
    return splitmix(&s);
}

static void uuid_fmt(uint64_t hi, uint64_t lo, char *buf, size_t size)
{
    /* version 4, variant 10xx */
    snprintf(buf, size, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(hi >> 32),
             (unsigned)(hi >> 16) & 0xffff, (unsigned)hi & 0xfff,
             (unsigned)(0x8000 | ((lo >> 48) & 0x3fff)),
             (unsigned long long)(lo & 0xffffffffffffULL));
}

static void make_uuid(uint64_t seed, uint64_t kind, uint64_t n, char *buf, size_t size)
{
    uint64_t s = mix3(seed, kind, n);
    uint64_t hi = splitmix(&s), lo = splitmix(&s);
    uuid_fmt(hi, lo, buf, size);
}

/* Series i is associated unless i % 5 == 4; associated series are grouped
 * four per asset. */
static int is_associated(unsigned i)
{
    return i % 5 != 4;
}

static unsigned asset_of(unsigned i)
{
    return (i - i / 5) / 4;
}

enum vkind { V_DOUBLE, V_INT, V_STRING, V_BOOL, V_JSON };

static enum vkind kind_of(unsigned i)
{
    unsigned t = i % 20;
    if (t < 14)
        return V_DOUBLE;
    if (t < 16)
        return V_INT;
    if (t < 18)
        return V_STRING;
    if (t < 19)
        return V_BOOL;
    return V_JSON;
}

/* The asset property data type (SiteWise: STRING | INTEGER | DOUBLE |
 * BOOLEAN | STRUCT; JSON values are STRUCT properties). */
static const char *kind_name(enum vkind k)
{
    static const char *const n[] = {"DOUBLE", "INTEGER", "STRING", "BOOLEAN", "STRUCT"};
    return n[k];
}

void gen_series_id(uint64_t seed, unsigned i, char *buf, size_t size)
{
    char a[40], p[40];
    if (is_associated(i)) {
        make_uuid(seed, 1, asset_of(i), a, sizeof a);
        make_uuid(seed, 2, i, p, sizeof p);
        snprintf(buf, size, "%s_%s", a, p);
    } else {
        make_uuid(seed, 3, i, buf, size);
    }
}

unsigned gen_series_bucket(const char *series_id)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(series_id, strlen(series_id), md, &n, EVP_sha256(), NULL) || n == 0)
        return 0;
    return md[0];
}

/* ---- encoding ---- */

static inline size_t put_long(unsigned char *p, int64_t v)
{
    return ocf_put_long(p, v);
}

static size_t put_str(unsigned char *p, const char *s, size_t n)
{
    size_t k = put_long(p, (int64_t)n);
    memcpy(p + k, s, n);
    return k + n;
}

struct membuf {
    struct bytebuf b;
    struct err *e;
};

static int mem_sink(void *ud, const void *p, size_t n)
{
    struct membuf *m = ud;
    return bytebuf_append(&m->b, p, n, m->e);
}

struct gen_state {
    const struct gen_options *o;
    const struct gen_sink *sink;
    struct gen_summary *sum;
    struct bytebuf block;    /* uncompressed records */
    struct bytebuf comp;
    struct membuf file;
    char key[COLDKEY_KEY_MAX + 1];
    char agg_prefix[COLDKEY_PREFIX_MAX + 1];   /* with o->agg */
};

static int flush_block(struct gen_state *g, struct ocf_writer *w, int64_t *count, struct err *e)
{
    if (*count == 0)
        return 0;
    const void *p = g->block.data;
    size_t n = g->block.len;
    if (g->o->codec != CODEC_NULL) {
        if (codec_compress(g->o->codec, 6, g->block.data, g->block.len, &g->comp, e) < 0)
            return -1;
        p = g->comp.data;
        n = g->comp.len;
    }
    if (ocf_writer_block(w, *count, p, n, e) < 0)
        return -1;
    g->block.len = 0;
    *count = 0;
    return 0;
}

static size_t put_opt_double(unsigned char *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    p[0] = 2;   /* union branch 1: double */
    for (int k = 0; k < 8; k++)
        p[1 + k] = (unsigned char)(u >> (8 * k));
    return 9;
}

/* Starts the file <prefix><day>/seriesBucket=XX/<head>_<series>_<start>_GOOD.avro
 * (its key in g->key) with `schema`, in memory. */
static int file_open(struct gen_state *g, const char *data_prefix, const char *head,
                     const struct day *d, int64_t start, const char *series_id,
                     const char *schema, struct ocf_writer *w, struct err *e)
{
    char prefix[COLDKEY_DAY_PREFIX_MAX];
    if (coldkey_day_prefix(prefix, sizeof prefix, data_prefix, d, e) < 0)
        return -1;
    int kl = snprintf(g->key, sizeof g->key, "%sseriesBucket=%02x/%s_%s_%lld_GOOD.avro", prefix,
                      gen_series_bucket(series_id), head, series_id, (long long)start);
    if (kl < 0 || (size_t)kl >= sizeof g->key)
        return err_setk(e, ERR_USAGE, "generated key too long");

    /* sync marker: from the seed and the key, so reruns are identical */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char seedkey[COLDKEY_KEY_MAX + 32];
    int sl = snprintf(seedkey, sizeof seedkey, "%llu/%s", (unsigned long long)g->o->seed, g->key);
    if (!EVP_Digest(seedkey, (size_t)sl, md, &mdlen, EVP_sha256(), NULL))
        return err_set(e, "sha256 failed");
    g->file.b.len = 0;
    g->file.e = e;
    return ocf_writer_open(w, schema, strlen(schema), g->o->codec, md, mem_sink, &g->file, e);
}

/* Ends the file file_open started and hands it to the sink. */
static int file_close(struct gen_state *g, struct ocf_writer *w, int64_t *count, struct err *e)
{
    if (flush_block(g, w, count, e) < 0)
        return -1;
    if (g->sink->put(g->sink->ud, g->key, g->file.b.data, g->file.b.len, e) < 0)
        return err_prefix(e, "%s: ", g->key);
    g->sum->files++;
    g->sum->records += g->o->records_per_file;
    g->sum->bytes += g->file.b.len;
    return 0;
}

static int gen_file(struct gen_state *g, const struct day *d, long epoch_day, unsigned i,
                    int quarter, const char *series_id, struct err *e)
{
    const struct gen_options *o = g->o;
    int64_t start = (int64_t)epoch_day * 86400 + (int64_t)quarter * SIX_HOURS;
    struct ocf_writer w;
    if (file_open(g, o->data_prefix, "raw", d, start, series_id, sitewise_schema_json, &w, e) < 0)
        return -1;

    uint64_t rs = mix3(o->seed, ((uint64_t)i << 32) | 0x7e, (uint64_t)start);
    enum vkind kind = kind_of(i);
    size_t sid_len = strlen(series_id);
    double level = (double)(splitmix(&rs) % 10000) / 10.0;
    int64_t count = 0;
    size_t target = o->block_target ? o->block_target : 64000;
    for (unsigned j = 0; j < o->records_per_file; j++) {
        if (bytebuf_reserve(&g->block, sid_len + 200, e) < 0)
            return -1;
        unsigned char *p = g->block.data + g->block.len;
        size_t n = 0;
        uint64_t r = splitmix(&rs);
        int64_t t = start + (int64_t)((uint64_t)j * SIX_HOURS / o->records_per_file);
        int64_t nanos = (int64_t)(r % 1000) * 1000000;   /* millisecond timestamps */
        n += put_str(p + n, series_id, sid_len);
        n += put_long(p + n, t);
        n += put_long(p + n, nanos);
        n += put_str(p + n, "GOOD", 4);
        /* doubleValue, stringValue, integerValue, booleanValue, jsonValue */
        if (kind == V_DOUBLE) {
            level += ((double)(int64_t)(r >> 40 & 0xffff) - 32767.5) / 32768.0;
            n += put_opt_double(p + n, level);
        } else {
            p[n++] = 0;
        }
        if (kind == V_STRING) {
            static const char *const states[] = {"RUNNING", "IDLE", "STOPPED", "FAULT"};
            const char *s = states[(r >> 20) % 4];
            p[n++] = 2;
            n += put_str(p + n, s, strlen(s));
        } else {
            p[n++] = 0;
        }
        if (kind == V_INT) {
            p[n++] = 2;
            n += put_long(p + n, (int64_t)(r >> 33) % 100000);
        } else {
            p[n++] = 0;
        }
        if (kind == V_BOOL) {
            p[n++] = 2;
            p[n++] = (unsigned char)((r >> 17) & 1);
        } else {
            p[n++] = 0;
        }
        if (kind == V_JSON) {
            char js[64];
            int jl = snprintf(js, sizeof js, "{\"count\":%u,\"ok\":%s}", (unsigned)(r >> 40) % 1000,
                              (r >> 7) & 1 ? "true" : "false");
            p[n++] = 2;
            n += put_str(p + n, js, (size_t)jl);
        } else {
            p[n++] = 0;
        }
        p[n++] = 0;   /* recordVersion: null */
        g->block.len += n;
        count++;
        if (g->block.len >= target && flush_block(g, &w, &count, e) < 0)
            return -1;
    }
    return file_close(g, &w, &count, e);
}

const char gen_agg_schema_json[] =
    "{\"type\":\"record\",\"name\":\"AggregatedDatum\",\"namespace\":\"amazon.aws.iot.sitewise.agg\","
    "\"fields\":["
    "{\"name\":\"seriesId\",\"type\":\"string\"},"
    "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
    "{\"name\":\"quality\",\"type\":\"string\"},"
    "{\"name\":\"resolution\",\"type\":\"string\"},"
    "{\"name\":\"count\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"average\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"min\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"max\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"sum\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"],\"default\":null}]}";

/* One six-hour agg file of series i: records_per_file records, resolutions
 * 1m, 15m, 1h, 1d in turn, each at the next window of its resolution inside
 * the six hours (1d windows start at the file's start). */
static int gen_agg_file(struct gen_state *g, const struct day *d, long epoch_day, unsigned i,
                        int quarter, const char *series_id, struct err *e)
{
    const struct gen_options *o = g->o;
    int64_t start = (int64_t)epoch_day * 86400 + (int64_t)quarter * SIX_HOURS;
    struct ocf_writer w;
    if (file_open(g, g->agg_prefix, "agg", d, start, series_id, gen_agg_schema_json, &w, e) < 0)
        return -1;
    static const char *const res[] = {"1m", "15m", "1h", "1d"};
    static const int64_t width[] = {60, 900, 3600, 86400};
    uint64_t rs = mix3(o->seed, ((uint64_t)i << 32) | 0xa9, (uint64_t)start);
    size_t sid_len = strlen(series_id);
    int64_t count = 0;
    size_t target = o->block_target ? o->block_target : 64000;
    for (unsigned j = 0; j < o->records_per_file; j++) {
        if (bytebuf_reserve(&g->block, sid_len + 120, e) < 0)
            return -1;
        unsigned char *p = g->block.data + g->block.len;
        size_t n = 0;
        uint64_t r = splitmix(&rs);
        unsigned k = j % 4, slot = j / 4;
        int64_t t = start + (k == 3 ? 0 : (int64_t)slot * width[k] % SIX_HOURS);
        n += put_str(p + n, series_id, sid_len);
        n += put_long(p + n, t);
        n += put_long(p + n, 0);
        n += put_str(p + n, "GOOD", 4);
        n += put_str(p + n, res[k], strlen(res[k]));
        double cnt = (double)(1 + r % 600), lo = (double)(r >> 20 & 0xffff) / 100.0;
        double hi = lo + (double)(r >> 40 & 0xfff) / 100.0, avg = (lo + hi) / 2;
        if (kind_of(i) == V_DOUBLE || kind_of(i) == V_INT) {
            n += put_opt_double(p + n, cnt);
            n += put_opt_double(p + n, avg);
            n += put_opt_double(p + n, lo);
            n += put_opt_double(p + n, hi);
            n += put_opt_double(p + n, avg * cnt);
        } else {
            /* non-numeric properties: only the count aggregate */
            n += put_opt_double(p + n, cnt);
            for (int z = 0; z < 4; z++)
                p[n++] = 0;
        }
        p[n++] = 0;   /* recordVersion: null */
        g->block.len += n;
        count++;
        if (g->block.len >= target && flush_block(g, &w, &count, e) < 0)
            return -1;
    }
    if (file_close(g, &w, &count, e) < 0)
        return -1;
    g->sum->agg_files++;
    return 0;
}

static int put_metadata(struct gen_state *g, unsigned asset, struct bytebuf *lines,
                        struct err *e)
{
    if (lines->len == 0)
        return 0;
    char a[40];
    make_uuid(g->o->seed, 1, asset, a, sizeof a);
    /* beside the data folder, as SiteWise does ({keyPrefix}/raw/ and
     * {keyPrefix}/asset_metadata/) */
    char key[ASSOC_PREFIX_MAX + 64];
    int n = assoc_metadata_prefix(key, sizeof key, g->o->data_prefix);
    if (n < 0)
        return err_setk(e, ERR_USAGE, "data prefix too long");
    snprintf(key + n, sizeof key - (size_t)n, "asset_%s.ndjson", a);
    if (g->sink->put(g->sink->ud, key, lines->data, lines->len, e) < 0)
        return err_prefix(e, "%s: ", key);
    g->sum->metadata_files++;
    g->sum->metadata_bytes += lines->len;
    lines->len = 0;
    return 0;
}

static int gen_metadata(struct gen_state *g, struct err *e)
{
    struct bytebuf lines = {0};
    unsigned cur = 0;
    int have = 0, rc = -1;
    for (unsigned i = 0; i < g->o->series; i++) {
        if (!is_associated(i))
            continue;
        unsigned asset = asset_of(i);
        if (have && asset != cur && put_metadata(g, cur, &lines, e) < 0)
            goto done;
        cur = asset;
        have = 1;
        /* The shape of the user guide's "Asset metadata" section (File
         * paths and schemas of data saved in the cold tier). */
        char a[40], p[40], m[40], sid[96], line[1400];
        make_uuid(g->o->seed, 1, asset, a, sizeof a);
        make_uuid(g->o->seed, 2, i, p, sizeof p);
        make_uuid(g->o->seed, 4, 0, m, sizeof m);
        gen_series_id(g->o->seed, i, sid, sizeof sid);
        int n = snprintf(line, sizeof line,
                         "{\"assetId\":\"%s\",\"assetName\":\"asset-%u\","
                         "\"assetModelId\":\"%s\",\"assetModelName\":\"repart-gen model\","
                         "\"assetPropertyId\":\"%s\",\"assetPropertyName\":\"property-%u\","
                         "\"assetPropertyDataType\":\"%s\",\"assetPropertyUnit\":null,"
                         "\"assetPropertyAlias\":\"/repart-gen/asset-%u/property-%u\","
                         "\"timeSeriesId\":\"%s\",\"timeSeriesBucket\":\"%02x\","
                         "\"assetArn\":null,\"assetCompositeModelDescription\":null,"
                         "\"assetCompositeModelName\":null,\"assetCompositeModelType\":null,"
                         "\"assetCreationDate\":1672531200,\"assetLastUpdateDate\":1672531200,"
                         "\"assetStatusErrorCode\":null,\"assetStatusErrorMessage\":null,"
                         "\"assetStatusState\":\"ACTIVE\"}\n",
                         a, asset, m, p, i, kind_name(kind_of(i)), asset, i, sid,
                         gen_series_bucket(sid));
        if (n < 0 || (size_t)n >= sizeof line) {
            err_set(e, "asset metadata line too long");
            goto done;
        }
        if (bytebuf_append(&lines, line, (size_t)n, e) < 0)
            goto done;
    }
    if (have && put_metadata(g, cur, &lines, e) < 0)
        goto done;
    rc = 0;
done:
    bytebuf_free(&lines);
    return rc;
}

int gen_run(const struct gen_options *o, const struct gen_sink *sink, struct gen_summary *sum,
            struct err *e)
{
    memset(sum, 0, sizeof *sum);
    if (!day_valid(&o->from) || !day_valid(&o->to) || day_cmp(&o->from, &o->to) > 0)
        return err_setk(e, ERR_USAGE, "bad day range");
    if (o->series == 0 || o->records_per_file == 0)
        return err_setk(e, ERR_USAGE, "--series and --records-per-file must be at least 1");
    if (!o->data_prefix)
        return err_setk(e, ERR_USAGE, "no data prefix");
    struct gen_state g = {.o = o, .sink = sink, .sum = sum};
    if (o->agg) {
        size_t n = strlen(o->data_prefix);
        if (n < 4 || strcmp(o->data_prefix + n - 4, "raw/") != 0 ||
            (n > 4 && o->data_prefix[n - 5] != '/') || n >= sizeof g.agg_prefix)
            return err_setk(e, ERR_USAGE, "--agg: the data prefix \"%s\" does not end in raw/ "
                            "(agg/ is written beside it)", o->data_prefix);
        snprintf(g.agg_prefix, sizeof g.agg_prefix, "%.*sagg/", (int)(n - 4), o->data_prefix);
    }
    int rc = -1;
    char sid[96];
    long first = day_to_epoch_days(&o->from), last = day_to_epoch_days(&o->to);
    for (long dn = first; dn <= last; dn++) {
        struct day d = day_from_epoch_days(dn);
        for (unsigned i = 0; i < o->series; i++) {
            gen_series_id(o->seed, i, sid, sizeof sid);
            for (int q = 0; q < 4; q++)
                if (gen_file(&g, &d, dn, i, q, sid, e) < 0 ||
                    (o->agg && gen_agg_file(&g, &d, dn, i, q, sid, e) < 0))
                    goto done;
        }
        sum->days++;
    }
    sum->series = o->series;
    if (o->asset_metadata && gen_metadata(&g, e) < 0)
        goto done;
    rc = 0;
done:
    bytebuf_free(&g.block);
    bytebuf_free(&g.comp);
    bytebuf_free(&g.file.b);
    return rc;
}

/* ---- directory sink ---- */

static int mkdirs(char *path, struct err *e)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            int en = errno;
            err_set(e, "%s: cannot create directory: %s", path, strerror(en));
            *p = '/';
            return -1;
        }
        *p = '/';
    }
    return 0;
}

int gen_dir_put(void *dir, const char *key, const void *data, size_t len, struct err *e)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", (const char *)dir, key);
    if (n < 0 || (size_t)n >= sizeof path)
        return err_set(e, "path too long");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        if (mkdirs(path, e) < 0)
            return -1;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        return err_set(e, "%s: cannot create: %s", path, strerror(errno));
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            int en = errno;
            close(fd);
            return err_set(e, "%s: write failed: %s", path, strerror(en));
        }
        p += k;
        len -= (size_t)k;
    }
    if (close(fd) < 0)
        return err_set(e, "%s: close failed: %s", path, strerror(errno));
    return 0;
}
