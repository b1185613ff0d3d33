#include "progress.h"

#include <stdio.h>
#include <time.h>

#include "log.h"

void progress_init(struct progress *p, long days_total, double now)
{
    p->days_total = days_total;
    atomic_init(&p->days_done, 0);
    atomic_init(&p->days_failed, 0);
    atomic_init(&p->days_scanned, 0);
    atomic_init(&p->objects_done, 0);
    atomic_init(&p->objects_total, 0);
    atomic_init(&p->bytes_done, 0);
    atomic_init(&p->bytes_total, 0);
    p->t0 = now;
}

void progress_planned(struct progress *p, long long objects, long long bytes)
{
    atomic_fetch_add(&p->days_scanned, 1);
    atomic_fetch_add(&p->objects_total, objects);
    atomic_fetch_add(&p->bytes_total, bytes);
}

void progress_fetched(struct progress *p, long long bytes)
{
    atomic_fetch_add(&p->objects_done, 1);
    atomic_fetch_add(&p->bytes_done, bytes);
}

void progress_day_done(struct progress *p, int failed)
{
    atomic_fetch_add(&p->days_done, 1);
    if (failed)
        atomic_fetch_add(&p->days_failed, 1);
}

static void duration(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, size, "%lds", t);
}

char *progress_line(struct progress *p, double now, char *buf, size_t size, double *fraction)
{
    long days_done = atomic_load(&p->days_done), failed = atomic_load(&p->days_failed);
    long scanned = atomic_load(&p->days_scanned);
    long long obj_done = atomic_load(&p->objects_done), obj_total = atomic_load(&p->objects_total);
    long long b_done = atomic_load(&p->bytes_done), b_total = atomic_load(&p->bytes_total);
    double secs = now - p->t0;
    double f = -1;
    if (p->days_total > 0 && days_done >= p->days_total) {
        f = 1;
    } else if (b_total > 0 && scanned > 0) {
        /* bytes of the days not scanned yet: like the scanned ones */
        double est = (double)b_total * (double)p->days_total / (double)scanned;
        double by_days = (double)days_done / (double)p->days_total;
        f = (double)b_done / est;
        if (f < by_days)
            f = by_days;
        if (f > 0.999)
            f = 0.999;
    } else if (p->days_total > 0) {
        f = (double)days_done / (double)p->days_total;
    }
    char pct[16] = "--%", eta[32] = "ETA --";
    if (f >= 0)
        snprintf(pct, sizeof pct, "%.0f%%", f * 100);
    if (f >= 1) {
        snprintf(eta, sizeof eta, "ETA 0s");
    } else if (f > 0.0005 && secs > 0) {
        char d[24];
        duration(secs * (1 - f) / f, d, sizeof d);
        snprintf(eta, sizeof eta, "ETA %s", d);
    }
    char fl[32] = "";
    if (failed)
        snprintf(fl, sizeof fl, ", %ld failed", failed);
    double mb = (double)b_done / 1e6;
    snprintf(buf, size, "%s | %s | days %ld/%ld%s | objects %lld/%lld | %.1f MB, %.1f MB/s", pct,
             eta, days_done, p->days_total, fl, obj_done, obj_total, mb,
             secs > 0 ? mb / secs : 0.0);
    if (fraction)
        *fraction = f;
    return buf;
}

void progress_draw(struct progress *p)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[256];
    progress_line(p, (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, line, sizeof line, NULL);
    log_progress("%s", line);
}
