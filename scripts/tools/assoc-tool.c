/* assoc-tool: loads the set of associated time series the way repart does
 * (src/repart/assoc.h) and prints it, one id per line, sorted.
 *
 *   assoc-tool -c config.yml [--type associated|disassociated]
 *              [--source metadata|api] [--threads N] [--stats]
 *   assoc-tool --parse-ndjson FILE...     parse local asset metadata files
 *   assoc-tool --parse-page FILE...       parse local ListTimeSeries pages
 *
 * --type/--source override the config (the type must not be ALL for a
 * load). --stats prints "ids N sources M skipped K" on stderr.
 * Exit status: 0 ok, 2 usage or configuration, else the error kind or 1. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assoc.h"
#include "config.h"
#include "creds.h"
#include "pool.h"
#include "s3.h"

static int usage(void)
{
    fprintf(stderr,
            "usage: assoc-tool -c config.yml [--type associated|disassociated]\n"
            "                  [--source metadata|api] [--threads N] [--stats]\n"
            "       assoc-tool --parse-ndjson FILE...\n"
            "       assoc-tool --parse-page FILE...\n");
    return 2;
}

static int fail(const struct err *e)
{
    fprintf(stderr, "assoc-tool: %s\n", e->msg);
    return e->kind > 0 ? e->kind : 1;
}

static int slurp(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "assoc-tool: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
        } else {
            b = nb;
            cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        free(b);
        fprintf(stderr, "assoc-tool: %s: read error\n", path);
        return -1;
    }
    *data = b;
    *len = n;
    return 0;
}

static void print_set(const struct assoc_set *s, int stats)
{
    for (size_t i = 0; i < s->n; i++)
        printf("%s\n", s->ids[i]);
    if (stats)
        fprintf(stderr, "ids %zu sources %zu skipped %zu\n", s->n, s->sources, s->skipped);
}

/* Parses local files: the pure parsers without any I/O around them. */
static int parse_files(int pages, char **files, int n, int stats)
{
    struct assoc_set s = {0};
    struct err e = {0};
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char *data;
        size_t len;
        if (slurp(files[i], &data, &len) < 0) {
            rc = 1;
            break;
        }
        if (pages) {
            char *tok = NULL;
            if (assoc_parse_api_page(data, len, &tok, &s, &e) < 0)
                rc = fail(&e);
            else if (tok)
                fprintf(stderr, "%s: nextToken %s\n", files[i], tok);
            free(tok);
        } else if (assoc_parse_ndjson(data, len, files[i], &s, &e) < 0) {
            rc = fail(&e);
        }
        s.sources++;
        free(data);
    }
    if (rc == 0) {
        assoc_set_sort(&s);
        print_set(&s, stats);
    }
    assoc_set_free(&s);
    return rc;
}

int main(int argc, char **argv)
{
    const char *cfg_path = NULL, *type = NULL, *source = NULL;
    int threads = 0, stats = 0, parse = 0;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"type", required_argument, NULL, 't'},
        {"source", required_argument, NULL, 's'},
        {"threads", required_argument, NULL, 'j'},
        {"stats", no_argument, NULL, 'S'},
        {"parse-ndjson", no_argument, NULL, 'N'},
        {"parse-page", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:t:s:j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cfg_path = optarg; break;
        case 't': type = optarg; break;
        case 's': source = optarg; break;
        case 'j': threads = atoi(optarg); break;
        case 'S': stats = 1; break;
        case 'N': parse = 1; break;
        case 'P': parse = 2; break;
        default: return usage();
        }
    }
    if (parse) {
        if (optind >= argc)
            return usage();
        return parse_files(parse == 2, argv + optind, argc - optind, stats);
    }
    if (!cfg_path || optind != argc)
        return usage();

    struct config cfg;
    struct err e = {0};
    if (config_load_file(cfg_path, &cfg, &e) < 0 || config_apply_env(&cfg, &e) < 0)
        return fail(&e);
    if (type) {
        if (strcasecmp(type, "associated") == 0)
            cfg.timeseries_type = CONFIG_TS_ASSOCIATED;
        else if (strcasecmp(type, "disassociated") == 0)
            cfg.timeseries_type = CONFIG_TS_DISASSOCIATED;
        else
            return usage();
    }
    if (source) {
        if (strcasecmp(source, "metadata") == 0)
            cfg.timeseries_source = CONFIG_TSSRC_METADATA;
        else if (strcasecmp(source, "api") == 0)
            cfg.timeseries_source = CONFIG_TSSRC_API;
        else
            return usage();
    }
    if (cfg.timeseries_type == CONFIG_TS_ALL) {
        fprintf(stderr, "assoc-tool: timeseries_type is ALL: no set to load (use --type)\n");
        return 2;
    }
    if (threads <= 0)
        threads = cfg.concurrency;

    int rc = 1;
    struct creds_provider *creds = creds_provider_new();
    struct s3_client *s3 = NULL;
    struct pool *pool = NULL;
    struct assoc_set set = {0};
    if (!creds) {
        fprintf(stderr, "assoc-tool: out of memory\n");
        goto out;
    }
    struct s3_config sc = {
        .region = cfg.s3.region,
        .endpoint_url = cfg.s3.endpoint_url,
        .path_style = cfg.s3.path_style,
        .max_connections = threads,
    };
    s3 = s3_client_new(&sc, creds, &e);
    if (!s3) {
        rc = fail(&e);
        goto out;
    }
    pool = pool_new(threads);
    if (!pool) {
        fprintf(stderr, "assoc-tool: cannot start %d threads\n", threads);
        goto out;
    }
    if (assoc_load(&cfg, s3, creds, pool, &set, &e) < 0) {
        rc = fail(&e);
        goto out;
    }
    print_set(&set, stats);
    rc = 0;
out:
    assoc_set_free(&set);
    pool_free(pool);
    s3_client_free(s3);
    creds_provider_free(creds);
    return rc;
}
