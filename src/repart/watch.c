#include "watch.h"
#include "grow.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "datetime.h"

/* ------------------------------------------------------------- batch -- */

static void msg_free(struct watch_msg *m)
{
    free(m->id);
    free(m->receipt);
    day_list_free(&m->days);
    memset(m, 0, sizeof *m);
}

void watch_batch_free(struct watch_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        msg_free(&b->v[i]);
    free(b->v);
    event_batch_free(&b->ev);
    memset(b, 0, sizeof *b);
}

struct watch_msg *watch_batch_add(struct watch_batch *b, const struct sqs_message *m,
                                  const struct event_filter *f, int *is_dup, struct err *bad,
                                  struct err *e)
{
    *is_dup = 0;
    if (bad)
        err_clear(bad);
    const char *id = m->message_id ? m->message_id : "";
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->v[i].id, id) == 0) {
            char *r = strdup(m->receipt_handle ? m->receipt_handle : "");
            if (!r) {
                err_set(e, "out of memory");
                return NULL;
            }
            free(b->v[i].receipt);
            b->v[i].receipt = r;
            *is_dup = 1;
            b->n_dup++;
            return &b->v[i];
        }
    if (b->n == b->cap) {
        struct watch_msg *v = grow_array(b->v, b->n, &b->cap, sizeof *v, 16);
        if (!v) {
            err_set(e, "out of memory");
            return NULL;
        }
        b->v = v;
    }
    struct watch_msg w;
    memset(&w, 0, sizeof w);
    w.id = strdup(id);
    w.receipt = strdup(m->receipt_handle ? m->receipt_handle : "");
    w.receive_count = m->receive_count;
    if (!w.id || !w.receipt) {
        msg_free(&w);
        err_set(e, "out of memory");
        return NULL;
    }
    char name[160];
    snprintf(name, sizeof name, "sqs message %.100s", id);
    struct event_doc_days dd;
    struct err pe;
    err_clear(&pe);
    if (event_batch_add(&b->ev, m->body, m->body_len, name, f, &dd, &pe) < 0) {
        if (pe.kind != ERR_DATA) {   /* out of memory: not the message's fault */
            msg_free(&w);
            if (e)
                *e = pe;
            return NULL;
        }
        w.state = WATCH_MSG_BAD;
        if (bad)
            *bad = pe;
    } else {
        w.state = dd.days.n ? WATCH_MSG_WORK : WATCH_MSG_NOWORK;
        w.days = dd.days;
        w.held = 1;
    }
    b->v[b->n++] = w;
    return &b->v[b->n - 1];
}

static const struct day_result *find_result(const struct day_result *r, size_t n,
                                            const struct day *d)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = day_item_cmp(&r[mid].day, d);
        if (c == 0)
            return &r[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t watch_batch_settle(struct watch_batch *b, const struct day_result *results, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct watch_msg *m = &b->v[i];
        m->deletable = 0;
        if (m->state == WATCH_MSG_NOWORK) {
            m->deletable = 1;
        } else if (m->state == WATCH_MSG_WORK) {
            int ok = 1;
            for (size_t j = 0; ok && j < m->days.n; j++) {
                const struct day_result *r = find_result(results, n, &m->days.v[j]);
                ok = r && (r->status == DAY_DONE || r->status == DAY_NOTHING_NEW);
            }
            m->deletable = ok;
        }
        k += (size_t)m->deletable;
    }
    return k;
}

/* ------------------------------------------------------------ helpers -- */

char *watch_days_text(const struct day *days, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    if (!size)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        char d[DAY_STR_MAX];
        int w;
        if (i == 8) {
            w = snprintf(buf + len, size - len, " and %zu more", n - i);
            break;
        }
        w = snprintf(buf + len, size - len, "%s%s", i ? ", " : "", day_format(&days[i], d));
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return buf;
}

/* Sleeps up to `secs`, returning early when *stop is raised. */
static void nap(double secs, const volatile sig_atomic_t *stop)
{
    double end = datetime_mono_secs() + secs;
    while (!(stop && *stop)) {
        double left = end - datetime_mono_secs();
        if (left <= 0)
            break;
        struct timespec ts = {0, (long)((left < 0.2 ? left : 0.2) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

/* Short form of a message id for log lines. */
static const char *short_id(const char *id)
{
    return id && *id ? id : "?";
}

/* ---------------------------------------------------------- heartbeat -- */

struct beat {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int quit;
    struct watch_batch *batch;   /* guarded by mu; NULL when none is held */
    struct sqs_client *client;
    int visibility;
    double period;
};

/* Extends the visibility of every held message of the batch. Called with
 * h->mu held, which it keeps through the calls: the main thread marks a
 * message not held (under mu) before it deletes or releases it, so a
 * deleted message is never extended. */
static void beat_extend(struct beat *h)
{
    struct watch_batch *b = h->batch;
    if (!b)
        return;
    size_t n = 0, extended = 0, failed = 0, i = 0;
    while (i < b->n) {
        const char *handles[SQS_BATCH_MAX];
        size_t k = 0;
        for (; i < b->n && k < SQS_BATCH_MAX; i++)
            if (b->v[i].held)
                handles[k++] = b->v[i].receipt;
        if (!k)
            break;
        n += k;
        struct sqs_batch_result res;
        struct err e;
        err_clear(&e);
        if (sqs_change_visibility_batch(h->client, handles, k, h->visibility, &res, &e) < 0) {
            if (e.kind != ERR_CANCELLED)
                log_msg(LOG_WARN, NULL, "heartbeat", "extending the visibility of %zu message(s): "
                        "%s (they may be delivered again; processing is idempotent)", k, e.msg);
            failed += k;
            continue;
        }
        extended += res.n_ok;
        failed += res.n_failed;
        for (size_t j = 0; j < k; j++)
            if (!res.entry[j].ok)
                log_msg(LOG_WARN, NULL, "heartbeat", "extending the visibility of a message: %s: "
                        "%s (it may be delivered again; processing is idempotent)",
                        res.entry[j].code, res.entry[j].message);
    }
    if (n)
        log_msg(LOG_DEBUG, NULL, "heartbeat", "visibility of %zu message(s) extended to %d s "
                "(%zu failed)", extended, h->visibility, failed);
}

static void *beat_main(void *arg)
{
    struct beat *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_sec + (double)until.tv_nsec / 1e9 + h->period;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
        int rc = 0;
        while (!h->quit && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&h->cv, &h->mu, &until);
        if (h->quit)
            break;
        beat_extend(h);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ------------------------------------------------------------ delete -- */

/* Deletes (del = 1) or releases (visibility 0) the messages i with
 * pick(m) true, 10 per call, through `c`. Returns how many went through. */
static size_t settle_calls(struct sqs_client *c, struct beat *h, struct watch_batch *b, int del,
                           int (*pick)(const struct watch_msg *), size_t *failures)
{
    size_t done = 0;
    size_t idx[SQS_BATCH_MAX];
    const char *handles[SQS_BATCH_MAX];
    size_t i = 0;
    while (i < b->n) {
        size_t k = 0;
        for (; i < b->n && k < SQS_BATCH_MAX; i++)
            if (pick(&b->v[i])) {
                idx[k] = i;
                handles[k++] = b->v[i].receipt;
            }
        if (!k)
            break;
        /* no heartbeat for them from now on (see beat_extend) */
        pthread_mutex_lock(&h->mu);
        for (size_t j = 0; j < k; j++)
            b->v[idx[j]].held = 0;
        pthread_mutex_unlock(&h->mu);
        struct sqs_batch_result res;
        struct err e;
        err_clear(&e);
        int rc = del ? sqs_delete_batch(c, handles, k, &res, &e)
                     : sqs_change_visibility_batch(c, handles, k, 0, &res, &e);
        if (rc < 0) {
            log_msg(LOG_WARN, NULL, del ? "delete_failed" : "release_failed",
                    "%s %zu message(s): %s (they come back after their visibility timeout)",
                    del ? "deleting" : "releasing", k, e.msg);
            *failures += k;
        }
        for (size_t j = 0; j < k; j++) {
            struct watch_msg *m = &b->v[idx[j]];
            if (rc == 0 && res.entry[j].ok) {
                done++;
            } else if (rc == 0) {
                (*failures)++;
                log_msg(LOG_WARN, NULL, del ? "delete_failed" : "release_failed",
                        "message %s: %s: %s: %s (it comes back after its visibility timeout)",
                        short_id(m->id), del ? "not deleted" : "not released",
                        res.entry[j].code, res.entry[j].message);
            }
        }
    }
    return done;
}

static int pick_deletable(const struct watch_msg *m) { return m->held && m->deletable; }
/* pick_held after a batch did not start: every message still held */
static int pick_held(const struct watch_msg *m) { return m->held; }

/* ---------------------------------------------------------- seen ids -- */

/* With `once`: ids of messages left in the queue by this run. */
struct idset {
    char **v;
    size_t n, cap;
};

static int idset_has(const struct idset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], id) == 0)
            return 1;
    return 0;
}

static void idset_add(struct idset *s, const char *id)
{
    if (idset_has(s, id))
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;   /* only costs a repeated attempt */
        s->v = v;
        s->cap = cap;
    }
    if ((s->v[s->n] = strdup(id)))
        s->n++;
}

static void idset_free(struct idset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* --------------------------------------------------------------- run -- */

static void log_skips(const struct event_batch *ev, size_t from)
{
    for (size_t i = from; i < ev->n_skipped_kept; i++)
        log_msg(LOG_INFO, NULL, "skip", "%s", ev->skipped[i]);
}

enum { GATHER_OK, GATHER_STOP, GATHER_FATAL };

/* Adds one received message to the batch and logs what it is: 1 when it is
 * fresh (not one left for the next run), 0 when not, -1 when it cannot be
 * added. *held counts the messages the batch holds, *t_first is when the
 * first came. */
static int take_message(const struct watch_params *p, struct beat *h, struct watch_batch *b,
                        const struct sqs_message *m, struct idset *left, size_t *held,
                        double *t_first, struct watch_totals *tot, struct err *e)
{
    if (p->once && idset_has(left, m->message_id ? m->message_id : "")) {
        log_msg(LOG_DEBUG, NULL, "redelivered", "message %s came back; left for the next "
                "run", short_id(m->message_id));
        return 0;
    }
    size_t skips_before = b->ev.n_skipped_kept;
    int dup;
    struct err bad;
    pthread_mutex_lock(&h->mu);
    struct watch_msg *w = watch_batch_add(b, m, p->filter, &dup, &bad, e);
    pthread_mutex_unlock(&h->mu);
    if (!w)
        return -1;
    if (dup) {
        tot->duplicates++;
        log_msg(LOG_DEBUG, NULL, "duplicate", "message %s received again in this batch",
                short_id(w->id));
        return 1;
    }
    tot->messages++;
    log_skips(&b->ev, skips_before);
    if (w->state == WATCH_MSG_BAD) {
        tot->bad++;
        log_msg(LOG_WARN, NULL, "bad_message", "%s (received %d time(s); left in the "
                "queue for its dead-letter queue)", bad.msg, w->receive_count);
        if (p->once)
            idset_add(left, w->id);
        return 1;
    }
    (*held)++;
    if (w->state == WATCH_MSG_NOWORK) {
        tot->nowork++;
        log_msg(LOG_DEBUG, NULL, "message", "message %s names no day (deleted with the "
                "batch)", short_id(w->id));
    } else {
        char d0[DAY_STR_MAX];
        log_msg(LOG_DEBUG, NULL, "message", "message %s names %zu day(s) from %s",
                short_id(w->id), w->days.n, day_format(&w->days.v[0], d0));
    }
    if (*t_first == 0)
        *t_first = datetime_mono_secs();
    return 1;
}

/* Gathers one batch into b (see watch.h). *drained = 1 when, with `once`,
 * the first receive found nothing new. */
static int gather(const struct watch_params *p, const struct watch_clients *c, struct beat *h,
                  struct watch_batch *b, struct idset *left, int *drained, double *backoff,
                  struct watch_totals *tot, struct err *e)
{
    double t_first = 0;
    size_t held = 0;
    *drained = 0;
    while (held < (size_t)p->batch_messages) {
        if (*p->stop)
            return GATHER_STOP;
        int wait;
        if (held == 0) {
            wait = p->once ? (p->quiet_seconds > 0 ? p->quiet_seconds : 1) : 20;
        } else {
            double rest = t_first + p->batch_seconds - datetime_mono_secs();
            if (rest <= 0)
                break;
            wait = p->quiet_seconds < rest ? p->quiet_seconds : (int)rest;
        }
        size_t want = (size_t)p->batch_messages - held;
        struct sqs_receive_opts ro = {
            .max_messages = want < SQS_BATCH_MAX ? (int)want : SQS_BATCH_MAX,
            .wait_seconds = wait,
            .visibility_timeout = p->visibility,
            .want_attributes = 1,
        };
        struct sqs_messages ms;
        struct err re;
        err_clear(&re);
        if (sqs_receive(c->recv, &ro, &ms, &re) < 0) {
            sqs_messages_free(&ms);
            if (re.kind == ERR_CANCELLED || *p->stop)
                return GATHER_STOP;
            if (re.kind != ERR_TRANSIENT || p->once) {
                if (e)
                    *e = re;
                return GATHER_FATAL;
            }
            log_msg(LOG_WARN, NULL, "receive_failed", "%s (trying again in %.0f s)", re.msg,
                    *backoff);
            if (held)
                break;   /* process what the batch holds */
            nap(*backoff, p->stop);
            *backoff = *backoff * 2 > 60 ? 60 : *backoff * 2;
            continue;
        }
        *backoff = 1;
        size_t fresh = 0;
        for (size_t i = 0; i < ms.n; i++) {
            int t = take_message(p, h, b, &ms.v[i], left, &held, &t_first, tot, e);
            if (t < 0) {
                sqs_messages_free(&ms);
                return GATHER_FATAL;
            }
            fresh += (size_t)t;
        }
        sqs_messages_free(&ms);
        if (fresh == 0) {
            if (held == 0 && b->n == 0) {
                if (p->once) {
                    *drained = 1;
                    break;
                }
                continue;   /* keep long-polling */
            }
            if (held == 0 && p->once) {   /* only bad messages so far */
                *drained = 1;
                break;
            }
            if (held)
                break;      /* a quiet window passed */
        }
    }
    return GATHER_OK;
}

/* Starts the heartbeat thread, which extends the held messages' visibility. */
static int beat_start(struct beat *h, const struct watch_params *p,
                      const struct watch_clients *c, pthread_t *th, struct err *e)
{
    memset(h, 0, sizeof *h);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->client = c->beat;
    h->visibility = p->visibility;
    h->period = p->visibility / 2.0 < 1 ? 1 : p->visibility / 2.0;
    *c->beat_cancel = 0;
    if (pthread_create(th, NULL, beat_main, h) != 0) {
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        return err_set(e, "cannot start the heartbeat thread");
    }
    return 0;
}

static void beat_stop(struct beat *h, const struct watch_clients *c, pthread_t th)
{
    *c->beat_cancel = 1;   /* ends a heartbeat call in progress, which holds h.mu */
    pthread_mutex_lock(&h->mu);
    h->quit = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(th, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}

/* stopping or broken: hand the gathered messages back at once */
static void release_gathered(const struct watch_clients *c, struct beat *h,
                             struct watch_batch *b, struct watch_totals *tot)
{
    size_t n_held = 0;
    for (size_t i = 0; i < b->n; i++)
        n_held += (size_t)b->v[i].held;
    size_t failures = 0;
    size_t released = n_held ? settle_calls(c->ctl, h, b, 0, pick_held, &failures) : 0;
    tot->released += released;
    if (n_held)
        log_msg(LOG_INFO, NULL, "released", "%zu gathered message(s) handed back to the "
                "queue unprocessed", released);
}

/* Runs the batch's days (p->process); *failed: how many did not commit.
 * NULL when there is no day, or no memory for their results (then all
 * failed). */
static struct day_result *process_days(const struct watch_params *p,
                                       const struct watch_batch *b, size_t *failed)
{
    size_t nd = b->ev.days.n;
    struct day_result *results = NULL;
    *failed = 0;
    if (nd) {
        results = calloc(nd, sizeof *results);
        if (results) {
            p->process(p->process_ctx, b->ev.days.v, nd, results);
            for (size_t i = 0; i < nd; i++)
                *failed += results[i].status != DAY_DONE &&
                           results[i].status != DAY_NOTHING_NEW;
        } else {
            *failed = nd;
            log_msg(LOG_ERROR, NULL, "batch", "out of memory for %zu day(s)", nd);
        }
    }
    return results;
}

/* A message left in the queue, named with the first of its days that did
 * not commit. */
static void log_left(const struct watch_msg *m, const struct day_result *results, size_t nd)
{
    /* name the first day that did not commit */
    char ds[DAY_STR_MAX] = "?";
    for (size_t j = 0; j < m->days.n; j++) {
        const struct day_result *r =
            results ? find_result(results, nd, &m->days.v[j]) : NULL;
        if (!r || (r->status != DAY_DONE && r->status != DAY_NOTHING_NEW)) {
            day_format(&m->days.v[j], ds);
            break;
        }
    }
    log_msg(LOG_INFO, ds, "left", "message %s left in the queue: day %s (of the "
            "%zu it names) did not commit; the message comes back after its "
            "visibility timeout", short_id(m->id), ds, m->days.n);
}

/* After the deletes: no message is held any more; those not deleted are
 * left in the queue (with `once`, remembered in *left). Returns how many. */
static size_t leave_rest(const struct watch_params *p, struct beat *h, struct watch_batch *b,
                         const struct day_result *results, size_t nd, struct idset *left)
{
    size_t n_left = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct watch_msg *m = &b->v[i];
        pthread_mutex_lock(&h->mu);
        m->held = 0;
        pthread_mutex_unlock(&h->mu);
        if (m->deletable)
            continue;
        n_left++;
        if (p->once)
            idset_add(left, m->id);
        if (m->state == WATCH_MSG_WORK)
            log_left(m, results, nd);
    }
    return n_left;
}

/* Runs a gathered batch: its days, then the messages of the days that
 * committed deleted, the others left. *before: the totals before it was
 * gathered. */
static void run_batch(const struct watch_params *p, const struct watch_clients *c, struct beat *h,
                      struct watch_batch *b, struct idset *left, struct watch_totals *tot,
                      const struct watch_totals *before)
{
    tot->batches++;
    size_t nd = b->ev.days.n;
    char dt[256];
    log_msg(LOG_INFO, NULL, "batch_start", "batch %zu: %zu message(s), %zu day(s)%s%s",
            tot->batches, b->n, nd, nd ? ": " : "",
            watch_days_text(b->ev.days.v, nd, dt, sizeof dt));
    size_t failed;
    struct day_result *results = process_days(p, b, &failed);
    watch_batch_settle(b, results, results ? nd : 0);
    tot->days_run += nd;
    tot->days_failed += failed;
    size_t failures = 0;
    size_t deleted = settle_calls(c->ctl, h, b, 1, pick_deletable, &failures);
    tot->deleted += deleted;
    tot->delete_failures += failures;
    size_t n_left = leave_rest(p, h, b, results, nd, left);
    free(results);
    tot->left += n_left;
    log_msg(failed ? LOG_WARN : LOG_INFO, NULL, "batch",
            "batch %zu: %zu message(s) (%zu ignored, %zu bad, %zu duplicate), %zu day(s): "
            "%zu committed, %zu failed; %zu message(s) deleted, %zu left in the queue",
            tot->batches, b->n, tot->nowork - before->nowork, tot->bad - before->bad,
            tot->duplicates - before->duplicates, nd, nd - failed, failed, deleted, n_left);
}

int watch_run(const struct watch_params *p, const struct watch_clients *c,
              struct watch_totals *tot, struct err *e)
{
    memset(tot, 0, sizeof *tot);
    struct beat h;
    pthread_t th;
    if (beat_start(&h, p, c, &th, e) != 0)
        return -1;

    struct idset left = {0};
    double backoff = 1;
    int rc = 0;
    for (;;) {
        struct watch_batch b;
        memset(&b, 0, sizeof b);
        pthread_mutex_lock(&h.mu);
        h.batch = &b;
        pthread_mutex_unlock(&h.mu);

        int drained = 0;
        struct watch_totals before = *tot;
        int g = gather(p, c, &h, &b, &left, &drained, &backoff, tot, e);
        if (g != GATHER_OK) {
            release_gathered(c, &h, &b, tot);
            rc = g == GATHER_FATAL ? -1 : 0;
        } else if (b.n) {
            run_batch(p, c, &h, &b, &left, tot, &before);
        }

        pthread_mutex_lock(&h.mu);
        h.batch = NULL;
        pthread_mutex_unlock(&h.mu);
        watch_batch_free(&b);
        if (g != GATHER_OK || drained || *p->stop)
            break;
    }

    beat_stop(&h, c, th);
    idset_free(&left);
    return rc;
}
