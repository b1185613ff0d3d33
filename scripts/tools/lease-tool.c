/* lease-tool: the lease and locking modules driven from a shell, for the
 * integration tests (tests/it_locking_probe.sh) and for trying a server by
 * hand. Uses the config's repartitioned bucket and the same runtime setup as
 * repart.
 *
 *   lease-tool -c CONFIG probe
 *       locking_setup as a run does it: prints "on=0|1", then "off: <text>"
 *       when locking is off. Exit 2 for `locking: on` on a
 *       server that ignores conditional writes (the message on stderr).
 *   lease-tool -c CONFIG hold KEY
 *       takes the lease at KEY (TTL: REPART_LEASE_TTL_SECS, default 1800),
 *       starts its renewals, prints "acquired", then reads commands from
 *       stdin, one per line, answering each on stdout:
 *         status    "lost=0|1 expires=<unix s>"
 *         release   stops the renewals, releases; "released ms=<time taken>"
 *       End of input releases too. Log lines (lease_lost, ...) go to stderr.
 * Exit status: 0 ok, 2 usage or configuration, else the error kind
 * (6 conflict) or 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "lease.h"
#include "locking.h"
#include "log.h"
#include "runtime.h"

static int usage(void)
{
    fprintf(stderr, "usage: lease-tool -c CONFIG probe\n"
                    "       lease-tool -c CONFIG hold KEY   (stdin: status | release)\n");
    return 2;
}

static int fail(const struct err *e)
{
    fprintf(stderr, "lease-tool: %s\n", e->msg);
    return e->kind > 0 ? e->kind : 1;
}

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int do_probe(struct runtime *rt, const struct config *cfg)
{
    struct err e = {0};
    int on = 0;
    char off[LOCKING_TEXT_MAX] = "";
    if (locking_setup(rt->s3, cfg, &on, off, sizeof off, &e) != 0)
        return fail(&e);
    printf("on=%d\n", on);
    if (!on)
        printf("off: %s\n", off);
    return 0;
}

static int do_hold(struct runtime *rt, const struct config *cfg, const char *key)
{
    struct err e = {0};
    int ttl;
    if (lease_ttl_secs(1800, &ttl, &e) != 0)
        return fail(&e);
    const char *bucket = cfg->s3.repartitioned.bucket_name;
    struct lease l;
    if (lease_acquire(rt->s3, bucket, key, ttl, &l, &e) != 0)
        return fail(&e);
    if (lease_keepalive_start(rt->s3, bucket, &l, ttl, &e) != 0) {
        lease_release(rt->s3, bucket, &l);
        return fail(&e);
    }
    printf("acquired ttl=%d\n", ttl);
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "status") == 0) {
            printf("lost=%d expires=%lld\n", lease_lost(&l), (long long)atomic_load(&l.expires));
        } else if (strcmp(line, "release") == 0) {
            break;
        } else if (line[0]) {
            printf("unknown command: %s\n", line);
        }
    }
    long long t0 = ms_now();
    lease_release(rt->s3, bucket, &l);
    printf("released ms=%lld\n", ms_now() - t0);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4 || strcmp(argv[1], "-c") != 0)
        return usage();
    log_setup(stderr, stderr, LOG_FORMAT_TEXT, LOG_INFO, 0);
    struct config cfg;
    struct err e = {0};
    if (config_load_file(argv[2], &cfg, &e) != 0 || config_apply_env(&cfg, &e) != 0)
        return fail(&e);
    struct runtime rt;
    if (runtime_open(&rt, &cfg, 0, &e) != 0) {
        runtime_close(&rt);
        return fail(&e);
    }
    int rc;
    if (strcmp(argv[3], "probe") == 0 && argc == 4)
        rc = do_probe(&rt, &cfg);
    else if (strcmp(argv[3], "hold") == 0 && argc == 5)
        rc = do_hold(&rt, &cfg, argv[4]);
    else
        rc = usage();
    runtime_close(&rt);
    return rc;
}
