/* s3-tool: a small command-line front end to the s3 module, for the
 * integration tests and for poking at a bucket by hand.
 *
 *   s3-tool [options] list BUCKET [PREFIX]          KEY<TAB>SIZE<TAB>ETAG per line
 *   s3-tool [options] get BUCKET KEY [FILE] [--range FIRST-LAST]
 *   s3-tool [options] head BUCKET KEY                SIZE<TAB>ETAG
 *   s3-tool [options] put BUCKET KEY FILE [--if-none-match] [--if-match ETAG]
 *   s3-tool [options] put-multipart BUCKET KEY FILE --part-size BYTES [--abort-after N]
 *   s3-tool [options] put-many BUCKET PREFIX COUNT [--threads N]
 *   s3-tool [options] delete BUCKET KEY
 * options: --endpoint URL --path-style --region R --retries N --timeout-ms MS
 *          --retry-base-ms MS --connections N --list-page N --access-key K
 *          --secret-key S --stats
 * Credentials: --access-key/--secret-key, else the AWS chain (env first).
 * Exit status: 0 ok, 2 usage, else the error kind (3 not found, 4 transient,
 * 6 conflict) or 1. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "s3.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: s3-tool [--endpoint URL] [--path-style] [--region R] [--retries N]\n"
            "               [--timeout-ms MS] [--retry-base-ms MS] [--connections N] [--list-page N]\n"
            "               [--access-key K --secret-key S] [--stats] COMMAND ...\n"
            "  list BUCKET [PREFIX]\n"
            "  get BUCKET KEY [FILE] [--range FIRST-LAST]\n"
            "  head BUCKET KEY\n"
            "  put BUCKET KEY FILE [--if-none-match] [--if-match ETAG]\n"
            "  put-multipart BUCKET KEY FILE --part-size BYTES [--abort-after N]\n"
            "  put-many BUCKET PREFIX COUNT [--threads N]\n"
            "  delete BUCKET KEY\n");
    return 2;
}

static int fail(const struct err *e)
{
    fprintf(stderr, "s3-tool: %s\n", e->msg);
    return e->kind > 0 ? e->kind : 1;
}

static int read_file(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "s3-tool: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    for (;;) {
        if (!b) {
            fprintf(stderr, "s3-tool: out of memory\n");
            return -1;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                b = NULL;
                continue;
            }
            b = nb;
        }
    }
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (bad) {
        fprintf(stderr, "s3-tool: reading %s failed\n", path);
        free(b);
        return -1;
    }
    *data = b;
    *len = n;
    return 0;
}

static int file_sink(void *ud, const void *p, size_t n)
{
    return fwrite(p, 1, n, ud) == n ? 0 : -1;
}

struct many {
    struct s3_client *c;
    const char *bucket, *prefix;
    long count;
    long next;
    pthread_mutex_t mu;
    int failed;
    struct err e;
};

static void *many_worker(void *ud)
{
    struct many *m = ud;
    for (;;) {
        pthread_mutex_lock(&m->mu);
        long i = m->failed ? m->count : m->next++;
        pthread_mutex_unlock(&m->mu);
        if (i >= m->count)
            return NULL;
        char key[1100], body[64];
        snprintf(key, sizeof key, "%s%06ld", m->prefix, i);
        int bl = snprintf(body, sizeof body, "object %ld\n", i);
        struct err e = {0};
        if (s3_put(m->c, m->bucket, key, body, (size_t)bl, NULL, NULL, &e) != 0) {
            pthread_mutex_lock(&m->mu);
            if (!m->failed) {
                m->failed = 1;
                m->e = e;
            }
            pthread_mutex_unlock(&m->mu);
            return NULL;
        }
    }
}

int main(int argc, char **argv)
{
    struct s3_config cfg = {0};
    const char *ak = NULL, *sk = NULL;
    int stats = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--path-style") == 0) {
            cfg.path_style = 1;
            continue;
        }
        if (strcmp(o, "--stats") == 0) {
            stats = 1;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (strcmp(o, "--endpoint") == 0)
            cfg.endpoint_url = v;
        else if (strcmp(o, "--region") == 0)
            cfg.region = v;
        else if (strcmp(o, "--retries") == 0)
            cfg.max_retries = atoi(v);
        else if (strcmp(o, "--timeout-ms") == 0)
            cfg.timeout_ms = atol(v);
        else if (strcmp(o, "--retry-base-ms") == 0)
            cfg.retry_base_ms = atol(v);
        else if (strcmp(o, "--list-page") == 0)
            cfg.list_page_size = atoi(v);
        else if (strcmp(o, "--connections") == 0)
            cfg.max_connections = atoi(v);
        else if (strcmp(o, "--access-key") == 0)
            ak = v;
        else if (strcmp(o, "--secret-key") == 0)
            sk = v;
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    const char *cmd = argv[i++];
    char **args = argv + i;
    int nargs = argc - i;

    struct creds_provider *cp = (ak && sk) ? creds_provider_static(ak, sk, NULL)
                                           : creds_provider_new();
    if (!cp) {
        fprintf(stderr, "s3-tool: out of memory\n");
        return 1;
    }
    struct err e = {0};
    struct s3_client *c = s3_client_new(&cfg, cp, &e);
    if (!c) {
        creds_provider_free(cp);
        return fail(&e);
    }
    int rc = 0;
    double t0 = now_s();

    if (strcmp(cmd, "list") == 0 && (nargs == 1 || nargs == 2)) {
        struct s3_object_list l = {0};
        if (s3_list(c, args[0], nargs == 2 ? args[1] : "", &l, &e) != 0) {
            rc = fail(&e);
        } else {
            for (size_t k = 0; k < l.n; k++)
                printf("%s\t%lld\t%s\n", l.items[k].key, l.items[k].size, l.items[k].etag);
            double dt = now_s() - t0;
            if (stats)
                fprintf(stderr, "listed %zu objects in %.3f s (%.0f objects/s)\n", l.n, dt,
                        dt > 0 ? l.n / dt : 0.0);
        }
        s3_object_list_free(&l);
    } else if (strcmp(cmd, "get") == 0 && nargs >= 2) {
        const char *file = NULL;
        long long first = -1, last = -1;
        for (int k = 2; k < nargs; k++) {
            if (strcmp(args[k], "--range") == 0 && k + 1 < nargs) {
                if (sscanf(args[++k], "%lld-%lld", &first, &last) < 1)
                    { rc = usage(); goto out; }
            } else if (!file) {
                file = args[k];
            } else {
                { rc = usage(); goto out; }
            }
        }
        FILE *f = (!file || strcmp(file, "-") == 0) ? stdout : fopen(file, "wb");
        if (!f) {
            fprintf(stderr, "s3-tool: %s: %s\n", file, strerror(errno));
            rc = 1;
        } else {
            struct s3_get_info info;
            if (s3_get(c, args[0], args[1], first, last, file_sink, f, &info, &e) != 0)
                rc = fail(&e);
            else if (stats)
                fprintf(stderr, "got %lld bytes of %lld, etag %s\n", info.content_length,
                        info.object_size, info.etag);
            if (f != stdout && fclose(f) != 0 && rc == 0) {
                fprintf(stderr, "s3-tool: %s: %s\n", file, strerror(errno));
                rc = 1;
            }
        }
    } else if (strcmp(cmd, "head") == 0 && nargs == 2) {
        struct s3_object o;
        if (s3_head(c, args[0], args[1], &o, &e) != 0)
            rc = fail(&e);
        else
            printf("%lld\t%s\n", o.size, o.etag);
    } else if (strcmp(cmd, "put") == 0 && nargs >= 3) {
        struct s3_put_opts po = {0};
        for (int k = 3; k < nargs; k++) {
            if (strcmp(args[k], "--if-none-match") == 0)
                po.if_none_match = "*";
            else if (strcmp(args[k], "--if-match") == 0 && k + 1 < nargs)
                po.if_match = args[++k];
            else
                { rc = usage(); goto out; }
        }
        unsigned char *data;
        size_t len;
        if (read_file(args[2], &data, &len) != 0) {
            rc = 1;
        } else {
            char etag[80];
            if (s3_put(c, args[0], args[1], data, len, &po, etag, &e) != 0)
                rc = fail(&e);
            else
                printf("%s\n", etag);
            free(data);
        }
    } else if (strcmp(cmd, "put-multipart") == 0 && nargs >= 3) {
        long long part_size = 8 << 20;
        int abort_after = -1;
        for (int k = 3; k < nargs; k++) {
            if (strcmp(args[k], "--part-size") == 0 && k + 1 < nargs)
                part_size = atoll(args[++k]);
            else if (strcmp(args[k], "--abort-after") == 0 && k + 1 < nargs)
                abort_after = atoi(args[++k]);
            else
                { rc = usage(); goto out; }
        }
        unsigned char *data;
        size_t len;
        if (part_size <= 0 || read_file(args[2], &data, &len) != 0) {
            rc = part_size <= 0 ? usage() : 1;
        } else {
            char *uid = NULL;
            size_t nparts = len == 0 ? 1 : (len + (size_t)part_size - 1) / (size_t)part_size;
            struct s3_part *parts = calloc(nparts, sizeof *parts);
            if (!parts || s3_mpu_create(c, args[0], args[1], NULL, &uid, &e) != 0) {
                rc = parts ? fail(&e) : 1;
            } else {
                size_t k;
                for (k = 0; k < nparts && rc == 0; k++) {
                    if (abort_after >= 0 && (int)k == abort_after)
                        break;
                    size_t off = k * (size_t)part_size;
                    size_t n = len - off < (size_t)part_size ? len - off : (size_t)part_size;
                    parts[k].number = (int)k + 1;
                    if (s3_mpu_upload_part(c, args[0], args[1], uid, (int)k + 1, data + off, n, NULL,
                                           parts[k].etag, &e) != 0)
                        rc = fail(&e);
                }
                if (rc == 0 && abort_after < 0) {
                    char etag[80];
                    if (s3_mpu_complete(c, args[0], args[1], uid, parts, nparts, NULL, etag,
                                        &e) != 0)
                        rc = fail(&e);
                    else
                        printf("%s\n", etag);
                } else {
                    struct err ae = {0};
                    if (s3_mpu_abort(c, args[0], args[1], uid, &ae) != 0) {
                        if (rc == 0)
                            rc = fail(&ae);
                    } else if (rc == 0) {
                        printf("aborted %s after %zu parts\n", uid, k);
                    }
                }
            }
            free(uid);
            free(parts);
            free(data);
        }
    } else if (strcmp(cmd, "put-many") == 0 && nargs >= 3) {
        int threads = 16;
        for (int k = 3; k < nargs; k++) {
            if (strcmp(args[k], "--threads") == 0 && k + 1 < nargs)
                threads = atoi(args[++k]);
            else
                { rc = usage(); goto out; }
        }
        if (threads < 1 || threads > 256)
            { rc = usage(); goto out; }
        struct many m = {.c = c, .bucket = args[0], .prefix = args[1], .count = atol(args[2])};
        pthread_mutex_init(&m.mu, NULL);
        pthread_t th[256];
        for (int k = 0; k < threads; k++)
            pthread_create(&th[k], NULL, many_worker, &m);
        for (int k = 0; k < threads; k++)
            pthread_join(th[k], NULL);
        pthread_mutex_destroy(&m.mu);
        if (m.failed)
            rc = fail(&m.e);
        else if (stats) {
            double dt = now_s() - t0;
            fprintf(stderr, "put %ld objects in %.3f s (%.0f objects/s)\n", m.count, dt,
                    dt > 0 ? m.count / dt : 0.0);
        }
    } else if (strcmp(cmd, "delete") == 0 && nargs == 2) {
        if (s3_delete(c, args[0], args[1], &e) != 0)
            rc = fail(&e);
    } else {
        rc = usage();
    }

out:
    if (stats) {
        struct s3_stats st;
        s3_client_stats(c, &st);
        fprintf(stderr,
                "stats: list %lld get %lld head %lld put %lld other %lld retries %lld "
                "bytes_in %lld bytes_out %lld\n",
                st.list_requests, st.get_requests, st.head_requests, st.put_requests,
                st.other_requests, st.retries, st.bytes_in, st.bytes_out);
    }
    s3_client_free(c);
    creds_provider_free(cp);
    return rc;
}
