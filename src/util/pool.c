#include "pool.h"

#include <stdlib.h>

struct task {
    void (*fn)(void *);
    void *arg;
    struct task *next;
};

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct task *head, *tail;
    int stopping;
    int n_threads;
    pthread_t *threads;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        struct task *t = p->head;
        if (!t) {  /* stopping and drained */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        p->head = t->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        t->fn(t->arg);
        free(t);
    }
}

struct pool *pool_new(int threads)
{
    if (threads < 1)
        threads = 1;
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_worker, p) != 0)
            break;
        p->n_threads++;
    }
    if (p->n_threads == 0) {
        pool_free(p);
        return NULL;
    }
    return p;
}

int pool_submit(struct pool *p, void (*fn)(void *), void *arg)
{
    struct task *t = malloc(sizeof *t);
    if (!t)
        return -1;
    t->fn = fn;
    t->arg = arg;
    t->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(t);
        return -1;
    }
    if (p->tail)
        p->tail->next = t;
    else
        p->head = t;
    p->tail = t;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

void waitgroup_init(struct waitgroup *wg)
{
    pthread_mutex_init(&wg->mu, NULL);
    pthread_cond_init(&wg->cv, NULL);
    wg->n = 0;
}

void waitgroup_add(struct waitgroup *wg, long delta)
{
    pthread_mutex_lock(&wg->mu);
    wg->n += delta;
    if (wg->n <= 0)
        pthread_cond_broadcast(&wg->cv);
    pthread_mutex_unlock(&wg->mu);
}

void waitgroup_done(struct waitgroup *wg)
{
    waitgroup_add(wg, -1);
}

void waitgroup_wait(struct waitgroup *wg)
{
    pthread_mutex_lock(&wg->mu);
    while (wg->n > 0)
        pthread_cond_wait(&wg->cv, &wg->mu);
    pthread_mutex_unlock(&wg->mu);
}

void waitgroup_destroy(struct waitgroup *wg)
{
    pthread_mutex_destroy(&wg->mu);
    pthread_cond_destroy(&wg->cv);
}
