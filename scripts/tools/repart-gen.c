/* repart-gen: writes synthetic SiteWise cold-tier data to a directory or
 * straight into a bucket (see src/repart/gen.h for the layout and content). Prints
 * a JSON summary on stdout.
 *
 *   repart-gen (--out DIR | --bucket NAME [--endpoint URL] [--path-style])
 *              --from YYYY-MM-DD [--to YYYY-MM-DD] [--series N]
 *              [--records-per-file K] [--seed S] [--codec snappy|deflate|null]
 *              [--data-prefix raw/] [--asset-metadata] [--agg] [--block-size BYTES]
 *
 * Exit: 0 ok, 1 write error, 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "creds.h"
#include "gen.h"
#include "pool.h"
#include "s3.h"

/* A sink that PUTs each file with repart's S3 client, many at a time, with
 * at most BUCKET_INFLIGHT files held in memory. */
#define BUCKET_INFLIGHT 64

struct bucket_sink {
    struct s3_client *s3;
    struct pool *pool;
    const char *bucket;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    int failed;
    struct err err;
};

struct bucket_put {
    struct bucket_sink *b;
    char *key;
    void *data;
    size_t len;
};

static void bucket_put_run(void *arg)
{
    struct bucket_put *p = arg;
    struct err e = {0};
    int rc = s3_put(p->b->s3, p->b->bucket, p->key, p->data, p->len, NULL, NULL, &e);
    pthread_mutex_lock(&p->b->mu);
    if (rc != 0 && !p->b->failed) {
        p->b->failed = 1;
        p->b->err = e;
    }
    p->b->inflight--;
    pthread_cond_broadcast(&p->b->cv);
    pthread_mutex_unlock(&p->b->mu);
    free(p->key);
    free(p->data);
    free(p);
}

static int bucket_put(void *ud, const char *key, const void *data, size_t len, struct err *e)
{
    struct bucket_sink *b = ud;
    struct bucket_put *p = calloc(1, sizeof *p);
    if (!p || !(p->key = strdup(key)) || !(p->data = malloc(len ? len : 1))) {
        if (p)
            free(p->key);
        free(p);
        return err_set(e, "out of memory");
    }
    memcpy(p->data, data, len);
    p->len = len;
    p->b = b;
    pthread_mutex_lock(&b->mu);
    while (b->inflight >= BUCKET_INFLIGHT && !b->failed)
        pthread_cond_wait(&b->cv, &b->mu);
    int failed = b->failed;
    if (failed && e)
        *e = b->err;
    if (!failed)
        b->inflight++;
    pthread_mutex_unlock(&b->mu);
    if (failed) {
        free(p->key);
        free(p->data);
        free(p);
        return -1;
    }
    if (pool_submit(b->pool, bucket_put_run, p) != 0)
        bucket_put_run(p);
    return 0;
}

/* Waits for every PUT; returns -1 (and *e) if one failed. */
static int bucket_drain(struct bucket_sink *b, struct err *e)
{
    pthread_mutex_lock(&b->mu);
    while (b->inflight > 0)
        pthread_cond_wait(&b->cv, &b->mu);
    int failed = b->failed;
    if (failed && e)
        *e = b->err;
    pthread_mutex_unlock(&b->mu);
    return failed ? -1 : 0;
}

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "repart-gen: %s\n", msg);
    fprintf(stderr,
            "usage: repart-gen (--out DIR | --bucket NAME [--endpoint URL] [--path-style])\n"
            "                  --from YYYY-MM-DD [--to YYYY-MM-DD] [--series N]\n"
            "                  [--records-per-file K] [--seed S] [--codec snappy|deflate|null]\n"
            "                  [--data-prefix raw/] [--asset-metadata] [--agg] [--block-size BYTES]\n"
            "  --agg: also the agg dataset (metrics, transforms, aggregates) beside raw/\n");
    return 2;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"series", required_argument, NULL, 'n'},
        {"records-per-file", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"codec", required_argument, NULL, 'c'},
        {"data-prefix", required_argument, NULL, 'p'},
        {"asset-metadata", no_argument, NULL, 'a'},
        {"agg", no_argument, NULL, 'g'},
        {"block-size", required_argument, NULL, 'b'},
        {"bucket", required_argument, NULL, 'B'},
        {"endpoint", required_argument, NULL, 'E'},
        {"path-style", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct gen_options o = {.series = 10, .records_per_file = 100, .seed = 1,
                            .codec = CODEC_SNAPPY, .data_prefix = "raw/"};
    const char *out = NULL, *from = NULL, *to = NULL, *bucket = NULL, *endpoint = "";
    int path_style = 0;
    struct err e = {0};
    unsigned long long v;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'n':
            if (parse_uint(optarg, 1000000, &v) < 0 || v == 0)
                return usage("--series: a number 1..1000000");
            o.series = (unsigned)v;
            break;
        case 'k':
            if (parse_uint(optarg, 10000000, &v) < 0 || v == 0)
                return usage("--records-per-file: a number 1..10000000");
            o.records_per_file = (unsigned)v;
            break;
        case 's':
            if (parse_uint(optarg, UINT64_MAX, &v) < 0)
                return usage("--seed: a non-negative number");
            o.seed = v;
            break;
        case 'c':
            if (codec_parse(optarg, &o.codec, &e) < 0)
                return usage(e.msg);
            break;
        case 'p': o.data_prefix = optarg; break;
        case 'a': o.asset_metadata = 1; break;
        case 'g': o.agg = 1; break;
        case 'b':
            if (parse_uint(optarg, 1u << 30, &v) < 0 || v == 0)
                return usage("--block-size: bytes, 1..1073741824");
            o.block_target = (size_t)v;
            break;
        case 'B': bucket = optarg; break;
        case 'E': endpoint = optarg; break;
        case 'P': path_style = 1; break;
        case 'h': usage(NULL); return 0;
        default: return usage(NULL);
        }
    }
    if (optind != argc)
        return usage("unexpected argument");
    if ((!out == !bucket) || !from)
        return usage("--from and one of --out or --bucket are required");
    if (o.data_prefix[0] == '/'
        || (o.data_prefix[0] && o.data_prefix[strlen(o.data_prefix) - 1] != '/'))
        return usage("--data-prefix must not start with '/' and must end with '/' (or be empty)");
    if (day_parse(from, &o.from, &e) < 0)
        return usage(e.msg);
    if (day_parse(to ? to : from, &o.to, &e) < 0)
        return usage(e.msg);
    if (day_cmp(&o.from, &o.to) > 0)
        return usage("--from is after --to");
    struct gen_sink sink = {gen_dir_put, (void *)out};
    struct bucket_sink bs;
    memset(&bs, 0, sizeof bs);
    struct creds_provider *cp = NULL;
    if (bucket) {
        cp = creds_provider_new();
        struct s3_config sc = {.endpoint_url = endpoint, .path_style = path_style,
                               .max_connections = 36};
        bs.s3 = cp ? s3_client_new(&sc, cp, &e) : NULL;
        bs.pool = pool_new(32);
        bs.bucket = bucket;
        pthread_mutex_init(&bs.mu, NULL);
        pthread_cond_init(&bs.cv, NULL);
        if (!bs.s3 || !bs.pool) {
            fprintf(stderr, "repart-gen: %s\n", e.msg[0] ? e.msg : "cannot set up the S3 client");
            return 1;
        }
        sink = (struct gen_sink){bucket_put, &bs};
    } else if (mkdir(out, 0755) < 0) {
        struct stat st;
        if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "repart-gen: %s: cannot create directory\n", out);
            return 1;
        }
    }
    struct gen_summary s;
    int rc = gen_run(&o, &sink, &s, &e);
    if (bucket) {
        struct err de = {0};
        if (bucket_drain(&bs, &de) < 0 && rc == 0) {
            e = de;
            rc = -1;
        }
        pool_free(bs.pool);
        s3_client_free(bs.s3);
        creds_provider_free(cp);
        pthread_mutex_destroy(&bs.mu);
        pthread_cond_destroy(&bs.cv);
    }
    if (rc < 0) {
        fprintf(stderr, "repart-gen: %s\n", e.msg);
        return e.kind == ERR_USAGE ? 2 : 1;
    }
    printf("{\"days\":%llu,\"series\":%llu,\"agg_files\":%llu,\"files\":%llu,\"records\":%llu,\"bytes\":%llu,"
           "\"metadata_files\":%llu,\"metadata_bytes\":%llu,\"codec\":\"%s\",\"seed\":%llu}\n",
           (unsigned long long)s.days, (unsigned long long)s.series,
           (unsigned long long)s.agg_files, (unsigned long long)s.files,
           (unsigned long long)s.records,
           (unsigned long long)s.bytes, (unsigned long long)s.metadata_files,
           (unsigned long long)s.metadata_bytes, codec_name(o.codec),
           (unsigned long long)o.seed);
    return 0;
}
