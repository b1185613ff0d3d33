/* pool: a fixed pool of worker threads running queued tasks, and a wait
 * group to wait for a batch of them.
 *
 * Rule that keeps it deadlock-free: a task never waits for another task of
 * the same pool. Day-level work (which waits for its fetches and part
 * uploads) runs on its own threads, outside the pool. */
#ifndef REPART_POOL_H
#define REPART_POOL_H

#include <pthread.h>

struct pool;

/* Starts `threads` workers. Free with pool_free. NULL on failure. */
struct pool *pool_new(int threads);

/* Queues fn(arg). Returns -1 if the pool is shutting down. */
int pool_submit(struct pool *p, void (*fn)(void *arg), void *arg);

/* Runs every queued task, then joins the workers and frees the pool. */
void pool_free(struct pool *p);

/* A counter one can wait on reaching zero. */
struct waitgroup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long n;
};
void waitgroup_init(struct waitgroup *wg);
void waitgroup_add(struct waitgroup *wg, long delta);
void waitgroup_done(struct waitgroup *wg);
void waitgroup_wait(struct waitgroup *wg);
void waitgroup_destroy(struct waitgroup *wg);

#endif
