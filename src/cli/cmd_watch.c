/* repart watch --queue URL [--once]: the SQS worker (see watch.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "log.h"
#include "sqs.h"
#include "watch.h"

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_beat_cancel;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

struct process_ctx {
    const struct cli_opts *o;
    const struct config *cfg;
    struct runtime *rt;
};

static void process_days(void *arg, const struct day *days, size_t n, struct day_result *results)
{
    struct process_ctx *x = arg;
    size_t failed;
    cmd_run_days(x->o, x->cfg, x->rt, PIPELINE_ALL, days, n, results, &failed);
}

/* One client per thread and role (watch.h): the receive client stops on a
 * signal, the control client does not. The endpoint comes from
 * AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL or the queue URL, never from
 * s3.endpoint_url. -1 unless all three are made. */
static int open_clients(const struct cli_opts *o, const struct config *cfg,
                        const struct runtime *rt, struct watch_clients *wc, struct err *e)
{
    struct sqs_config sc = {
        .queue_url = o->queue,
        .region = cfg->s3.region,
        .cancel = &g_stop,
    };
    wc->recv = sqs_client_new(&sc, rt->creds, e);
    sc.cancel = NULL;
    if (wc->recv)
        wc->ctl = sqs_client_new(&sc, rt->creds, e);
    sc.cancel = &g_beat_cancel;
    if (wc->ctl)
        wc->beat = sqs_client_new(&sc, rt->creds, e);
    return wc->beat ? 0 : -1;
}

/* The queue exists and we may read it; its visibility timeout (*vis, unless
 * the config sets one) and dead-letter queue. */
static int check_queue(const struct cli_opts *o, const struct config *cfg,
                       struct sqs_client *ctl, int *vis, struct err *e)
{
    struct sqs_queue_attrs qa;
    if (sqs_get_attributes(ctl, &qa, e) < 0)
        return -1;
    *vis = cfg->watch.visibility_timeout;
    if (*vis == 0)
        *vis = qa.visibility_timeout > 0 ? qa.visibility_timeout : 30;
    if (!qa.dead_letter_arn[0])
        log_msg(LOG_WARN, NULL, "setup", "%s has no dead-letter queue (RedrivePolicy): a message "
                "that is not an S3 event, or names a day that keeps failing, comes back forever",
                sqs_client_queue_url(ctl));
    log_msg(LOG_INFO, NULL, "watch", "watching %s (endpoint %s, region %s): %d visible, %d in "
            "flight; batches of up to %d message(s), %d s quiet window, %d s longest gathering, "
            "visibility %d s%s",
            sqs_client_queue_url(ctl), sqs_client_endpoint(ctl), sqs_client_region(ctl),
            (int)qa.visible, (int)qa.not_visible, cfg->watch.batch_messages,
            cfg->watch.quiet_seconds, cfg->watch.batch_seconds, *vis,
            o->once ? "; until the queue is drained (--once)" : "");
    return 0;
}

/* watch_run with SIGTERM and SIGINT caught (they set g_stop) while it runs. */
static int run_watch(const struct cli_opts *o, const struct config *cfg, struct runtime *rt,
                     const struct watch_clients *wc, int vis, struct watch_totals *t,
                     struct err *e)
{
    struct sigaction sa, old_term, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* a second signal kills at once: nothing uncommitted is ever deleted,
     * messages in flight come back after their visibility timeout */
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    g_stop = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGINT, &sa, &old_int);

    struct event_filter f;
    cmd_event_filter(cfg, &f);
    struct process_ctx px = {o, cfg, rt};
    struct watch_params p = {
        .batch_messages = cfg->watch.batch_messages,
        .batch_seconds = cfg->watch.batch_seconds,
        .quiet_seconds = cfg->watch.quiet_seconds,
        .visibility = vis,
        .once = o->once,
        .filter = &f,
        .stop = &g_stop,
        .process = process_days,
        .process_ctx = &px,
    };
    int rc = watch_run(&p, wc, t, e);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGINT, &old_int, NULL);
    return rc;
}

/* The summary line, and the exit code of the run. */
static int watch_exit(const struct cli_opts *o, int rc, const struct watch_totals *t,
                      const struct err *e)
{
    log_msg(t->days_failed || t->bad || rc < 0 ? LOG_WARN : LOG_INFO, NULL, "summary",
            "watch: %zu batch(es), %zu message(s) (%zu ignored, %zu bad, %zu duplicate); "
            "%zu day run(s), %zu failed; %zu message(s) deleted, %zu left in the queue, "
            "%zu handed back%s",
            t->batches, t->messages, t->nowork, t->bad, t->duplicates, t->days_run,
            t->days_failed, t->deleted, t->left, t->released,
            g_stop ? "; stopped by a signal" : "");
    if (rc < 0) {
        log_msg(LOG_ERROR, NULL, "watch", "%s", e->msg);
        return e->kind == ERR_NOT_FOUND || e->kind == ERR_USAGE ? CLI_EXIT_USAGE
                                                                : CLI_EXIT_FAILED;
    }
    if (o->once)
        return t->days_failed || t->bad ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    return CLI_EXIT_OK;   /* stopped by a signal */
}

int cmd_watch(const struct cli_opts *o, const struct config *cfg)
{
    struct err e = {0};
    struct runtime rt;
    struct watch_clients wc = {NULL, NULL, NULL, &g_beat_cancel};
    int exit_code = CLI_EXIT_FAILED;

    if (runtime_open(&rt, cfg, RUNTIME_S3 | RUNTIME_WRITES, &e) != 0) {
        log_msg(LOG_ERROR, NULL, "setup", "%s", e.msg);
        exit_code = e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    if (open_clients(o, cfg, &rt, &wc, &e) < 0) {
        log_msg(LOG_ERROR, NULL, "setup", "%s", e.msg);
        exit_code = e.kind == ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
        goto out;
    }
    int vis;
    if (check_queue(o, cfg, wc.ctl, &vis, &e) < 0) {
        log_msg(LOG_ERROR, NULL, "setup", "%s", e.msg);
        exit_code = e.kind == ERR_NOT_FOUND || e.kind == ERR_USAGE ? CLI_EXIT_USAGE
                                                                     : CLI_EXIT_FAILED;
        goto out;
    }
    struct watch_totals t;
    int rc = run_watch(o, cfg, &rt, &wc, vis, &t, &e);
    exit_code = watch_exit(o, rc, &t, &e);
out:
    sqs_client_free(wc.beat);
    sqs_client_free(wc.ctl);
    sqs_client_free(wc.recv);
    runtime_close(&rt);
    return exit_code;
}
