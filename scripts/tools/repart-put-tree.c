/* repart-put-tree: uploads every file under DIR to s3://BUCKET/<path relative
 * to DIR>, in parallel, with repart's own S3 client. Used by the demo, the
 * integration tests and the benchmarks to fill a local cold tier.
 *
 *   repart-put-tree [--endpoint URL] [--path-style] [--jobs N] DIR BUCKET */
#include <dirent.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "creds.h"
#include "ocf.h"
#include "pool.h"
#include "s3.h"

struct job {
    struct s3_client *s3;
    const char *bucket;
    char *path, *key;
    struct waitgroup *wg;
    atomic_int *failed;
    atomic_llong *bytes;
};

static void put_one(void *arg)
{
    struct job *j = arg;
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    struct err e = {0};
    if (ocf_read_file(j->path, (size_t)1 << 30, &buf, &cap, &len, &e) != 0 ||
        s3_put(j->s3, j->bucket, j->key, buf, len, NULL, NULL, &e) != 0) {
        fprintf(stderr, "repart-put-tree: %s: %s\n", j->path, e.msg);
        atomic_store(j->failed, 1);
    } else {
        atomic_fetch_add(j->bytes, (long long)len);
    }
    free(buf);
    free(j->path);
    free(j->key);
    waitgroup_done(j->wg);
    free(j);
}

struct walk {
    struct pool *pool;
    struct s3_client *s3;
    const char *bucket;
    struct waitgroup wg;
    atomic_int failed;
    atomic_llong bytes;
    long files;
};

static int walk_dir(struct walk *w, const char *root, const char *rel)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char relp[4096], full[8192];
        snprintf(relp, sizeof relp, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(full, sizeof full, "%s/%s", root, relp);
        struct stat st;
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (walk_dir(w, root, relp) != 0) {
                closedir(d);
                return -1;
            }
            continue;
        }
        struct job *j = calloc(1, sizeof *j);
        j->s3 = w->s3;
        j->bucket = w->bucket;
        j->path = strdup(full);
        j->key = strdup(relp);
        j->wg = &w->wg;
        j->failed = &w->failed;
        j->bytes = &w->bytes;
        waitgroup_add(&w->wg, 1);
        w->files++;
        pool_submit(w->pool, put_one, j);
    }
    closedir(d);
    return 0;
}

int main(int argc, char **argv)
{
    const char *endpoint = "";
    int path_style = 0, jobs = 32;
    static const struct option opts[] = {
        {"endpoint", required_argument, 0, 'e'},
        {"path-style", no_argument, 0, 'p'},
        {"jobs", required_argument, 0, 'j'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'e')
            endpoint = optarg;
        else if (c == 'p')
            path_style = 1;
        else if (c == 'j')
            jobs = atoi(optarg);
        else
            return 2;
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: repart-put-tree [--endpoint URL] [--path-style] [--jobs N] DIR BUCKET\n");
        return 2;
    }
    struct err e = {0};
    struct creds_provider *cp = creds_provider_new();
    struct s3_config sc = {.endpoint_url = endpoint, .path_style = path_style,
                           .max_connections = jobs + 4};
    struct s3_client *s3 = s3_client_new(&sc, cp, &e);
    if (!s3) {
        fprintf(stderr, "repart-put-tree: %s\n", e.msg);
        return 1;
    }
    struct walk w = {0};
    w.pool = pool_new(jobs);
    w.s3 = s3;
    w.bucket = argv[optind + 1];
    waitgroup_init(&w.wg);
    int rc = walk_dir(&w, argv[optind], "");
    waitgroup_wait(&w.wg);
    waitgroup_destroy(&w.wg);
    pool_free(w.pool);
    s3_client_free(s3);
    creds_provider_free(cp);
    if (rc != 0 || atomic_load(&w.failed))
        return 1;
    printf("{\"files\": %ld, \"bytes\": %lld}\n", w.files, (long long)atomic_load(&w.bytes));
    return 0;
}
