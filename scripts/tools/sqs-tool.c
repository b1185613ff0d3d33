/* sqs-tool: a small SQS command line on src/aws/sqs.c, for tests and operators.
 *
 *   sqs-tool [options] QUEUE_URL send [--delay S] BODY...      one message per BODY ("-": stdin)
 *   sqs-tool [options] QUEUE_URL receive [--max N] [--wait S] [--visibility S] [--attrs]
 *       prints one JSON object per message:
 *       {"id":..,"receipt":..,"body":..,"receive_count":N}
 *   sqs-tool [options] QUEUE_URL delete HANDLE...              DeleteMessageBatch, 10 per call
 *   sqs-tool [options] QUEUE_URL delete-one HANDLE             DeleteMessage
 *   sqs-tool [options] QUEUE_URL visibility SECONDS HANDLE     ChangeMessageVisibility
 *   sqs-tool [options] QUEUE_URL visibility-batch SECONDS HANDLE...
 *   sqs-tool [options] QUEUE_URL attrs                         GetQueueAttributes
 * Options: --endpoint URL, --region R, --attempts N, --timeout-ms N, --stats.
 * Credentials: the usual AWS chain. Batch commands print "ok N" or
 * "failed N CODE MESSAGE" per entry and exit 1 when an entry failed. Errors
 * go to stderr, exit 1; usage errors exit 2. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "sqs.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: sqs-tool [--endpoint URL] [--region R] [--attempts N] [--timeout-ms N] [--stats]\n"
            "                QUEUE_URL send [--delay S] BODY...\n"
            "              | QUEUE_URL receive [--max N] [--wait S] [--visibility S] [--attrs]\n"
            "              | QUEUE_URL delete HANDLE... | delete-one HANDLE\n"
            "              | QUEUE_URL visibility SECONDS HANDLE | visibility-batch SECONDS HANDLE...\n"
            "              | QUEUE_URL attrs\n");
    exit(2);
}

static int int_arg(const char *s, int lo, int hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "sqs-tool: \"%s\" is not a number in %d..%d\n", s, lo, hi);
        exit(2);
    }
    return (int)v;
}

static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0, r;
    char *b = malloc(cap);
    while (b && (r = fread(b + n, 1, cap - n - 1, stdin)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    if (b)
        b[n] = '\0';
    *len = n;
    return b;
}

static int print_batch(const struct sqs_batch_result *r, size_t base)
{
    int bad = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->entry[i].ok) {
            printf("ok %zu\n", base + i);
        } else {
            printf("failed %zu %s %s\n", base + i, r->entry[i].code, r->entry[i].message);
            bad = 1;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    struct sqs_config cfg = {0};
    int stats = 0;
    static const struct option opts[] = {
        {"endpoint", required_argument, 0, 'e'}, {"region", required_argument, 0, 'r'},
        {"attempts", required_argument, 0, 'a'}, {"timeout-ms", required_argument, 0, 't'},
        {"stats", no_argument, 0, 's'},          {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int ch;
    /* '+': stop at the first non-option (the queue URL); commands parse their own */
    while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (ch) {
        case 'e': cfg.endpoint_url = optarg; break;
        case 'r': cfg.region = optarg; break;
        case 'a': cfg.max_attempts = int_arg(optarg, 1, 100); break;
        case 't': cfg.timeout_ms = int_arg(optarg, 1, 3600000); break;
        case 's': stats = 1; break;
        default: usage();
        }
    }
    if (argc - optind < 2)
        usage();
    cfg.queue_url = argv[optind];
    const char *cmd = argv[optind + 1];
    int ac = argc - optind - 1;
    char **av = argv + optind + 1;

    struct err e;
    err_clear(&e);
    struct creds_provider *cp = creds_provider_new();
    if (!cp) {
        fprintf(stderr, "sqs-tool: out of memory\n");
        return 1;
    }
    struct sqs_client *c = sqs_client_new(&cfg, cp, &e);
    if (!c) {
        fprintf(stderr, "sqs-tool: %s\n", e.msg);
        creds_provider_free(cp);
        return e.kind == ERR_USAGE ? 2 : 1;
    }

    int rc = 0;
    optind = 1;   /* re-parse the command's own options */
    if (strcmp(cmd, "send") == 0) {
        static const struct option so[] = {{"delay", required_argument, 0, 'd'}, {0, 0, 0, 0}};
        int delay = 0;
        while ((ch = getopt_long(ac, av, "+", so, NULL)) != -1) {
            if (ch == 'd')
                delay = int_arg(optarg, 0, 900);
            else
                usage();
        }
        if (optind >= ac)
            usage();
        for (int i = optind; i < ac && rc == 0; i++) {
            size_t len;
            char *stdin_body = NULL;
            const char *body = av[i];
            if (strcmp(body, "-") == 0) {
                body = stdin_body = read_stdin(&len);
                if (!body) {
                    fprintf(stderr, "sqs-tool: cannot read stdin\n");
                    rc = 1;
                    break;
                }
            } else {
                len = strlen(body);
            }
            char id[128];
            if (sqs_send(c, body, len, delay, id, sizeof id, &e) < 0) {
                fprintf(stderr, "sqs-tool: %s\n", e.msg);
                rc = 1;
            } else {
                printf("%s\n", id);
            }
            free(stdin_body);
        }
    } else if (strcmp(cmd, "receive") == 0) {
        static const struct option ro[] = {
            {"max", required_argument, 0, 'm'}, {"wait", required_argument, 0, 'w'},
            {"visibility", required_argument, 0, 'v'}, {"attrs", no_argument, 0, 'A'},
            {0, 0, 0, 0},
        };
        struct sqs_receive_opts o = {10, 0, -1, 0};
        while ((ch = getopt_long(ac, av, "+", ro, NULL)) != -1) {
            switch (ch) {
            case 'm': o.max_messages = int_arg(optarg, 1, 10); break;
            case 'w': o.wait_seconds = int_arg(optarg, 0, 20); break;
            case 'v': o.visibility_timeout = int_arg(optarg, 0, 43200); break;
            case 'A': o.want_attributes = 1; break;
            default: usage();
            }
        }
        if (optind != ac)
            usage();
        struct sqs_messages m;
        if (sqs_receive(c, &o, &m, &e) < 0) {
            fprintf(stderr, "sqs-tool: %s\n", e.msg);
            rc = 1;
        } else {
            for (size_t i = 0; i < m.n; i++) {
                json_t *j = json_pack("{s:s,s:s,s:s%,s:i}", "id", m.v[i].message_id, "receipt",
                                      m.v[i].receipt_handle, "body", m.v[i].body,
                                      m.v[i].body_len, "receive_count", m.v[i].receive_count);
                char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
                if (!s) {
                    fprintf(stderr, "sqs-tool: cannot print message %zu\n", i);
                    rc = 1;
                } else {
                    printf("%s\n", s);
                }
                free(s);
                json_decref(j);
            }
        }
        sqs_messages_free(&m);
    } else if (strcmp(cmd, "delete") == 0 || strcmp(cmd, "visibility-batch") == 0) {
        int vis = strcmp(cmd, "delete") != 0;
        int first = 1, seconds = 0;
        if (vis) {
            if (ac < 3)
                usage();
            seconds = int_arg(av[1], 0, 43200);
            first = 2;
        } else if (ac < 2) {
            usage();
        }
        for (int i = first; i < ac && rc != 1; i += SQS_BATCH_MAX) {
            size_t n = (size_t)(ac - i) < SQS_BATCH_MAX ? (size_t)(ac - i) : SQS_BATCH_MAX;
            struct sqs_batch_result r;
            int ok = vis ? sqs_change_visibility_batch(c, (const char *const *)av + i, n, seconds,
                                                       &r, &e)
                         : sqs_delete_batch(c, (const char *const *)av + i, n, &r, &e);
            if (ok < 0) {
                fprintf(stderr, "sqs-tool: %s\n", e.msg);
                rc = 1;
            } else if (print_batch(&r, (size_t)(i - first))) {
                rc = 3;   /* go on with the other batches, exit 1 at the end */
            }
        }
        if (rc == 3)
            rc = 1;
    } else if (strcmp(cmd, "delete-one") == 0) {
        if (ac != 2)
            usage();
        if (sqs_delete(c, av[1], &e) < 0) {
            fprintf(stderr, "sqs-tool: %s\n", e.msg);
            rc = 1;
        }
    } else if (strcmp(cmd, "visibility") == 0) {
        if (ac != 3)
            usage();
        if (sqs_change_visibility(c, av[2], int_arg(av[1], 0, 43200), &e) < 0) {
            fprintf(stderr, "sqs-tool: %s\n", e.msg);
            rc = 1;
        }
    } else if (strcmp(cmd, "attrs") == 0) {
        struct sqs_queue_attrs a;
        if (sqs_get_attributes(c, &a, &e) < 0) {
            fprintf(stderr, "sqs-tool: %s\n", e.msg);
            rc = 1;
        } else {
            printf("visible %lld\nnot_visible %lld\ndelayed %lld\nvisibility_timeout %d\n"
                   "receive_wait %d\nqueue_arn %s\ndead_letter_arn %s\nmax_receive_count %d\n",
                   a.visible, a.not_visible, a.delayed, a.visibility_timeout, a.receive_wait,
                   a.queue_arn, a.dead_letter_arn, a.max_receive_count);
        }
    } else {
        fprintf(stderr, "sqs-tool: unknown command \"%s\"\n", cmd);
        rc = 2;
    }
    if (stats) {
        struct sqs_stats st;
        sqs_client_stats(c, &st);
        fprintf(stderr, "sqs-tool: endpoint %s region %s requests %lld retries %lld\n",
                sqs_client_endpoint(c), sqs_client_region(c), st.requests, st.retries);
    }
    sqs_client_free(c);
    creds_provider_free(cp);
    return rc;
}
