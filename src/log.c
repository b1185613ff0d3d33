#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
    FILE *out, *err;
    enum log_format fmt;
    int verbosity;
    int progress;        /* progress line enabled (tty) */
    char line[512];      /* current progress line, "" when none shown */
    pthread_mutex_t mu;
} L = {NULL, NULL, LOG_FORMAT_TEXT, LOG_INFO, 0, "", PTHREAD_MUTEX_INITIALIZER};

void log_setup(FILE *out, FILE *err, enum log_format fmt, int verbosity, int progress)
{
    pthread_mutex_lock(&L.mu);
    L.out = out;
    L.err = err;
    L.fmt = fmt;
    L.verbosity = verbosity;
    L.progress = progress && fmt == LOG_FORMAT_TEXT && err && isatty(fileno(err));
    pthread_mutex_unlock(&L.mu);
}

int log_json(void)
{
    return L.fmt == LOG_FORMAT_JSON;
}

static void clear_progress_locked(void)
{
    if (L.progress && L.line[0]) {
        fputs("\r\033[K", L.err);
        fflush(L.err);
    }
}

static void draw_progress_locked(void)
{
    if (L.progress && L.line[0]) {
        fprintf(L.err, "\r\033[K%s", L.line);
        fflush(L.err);
    }
}

static const char *level_name(enum log_level l)
{
    switch (l) {
    case LOG_ERROR: return "error";
    case LOG_WARN: return "warn";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

void log_msg(enum log_level lvl, const char *day, const char *event, const char *fmt, ...)
{
    if ((int)lvl > L.verbosity)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    FILE *out = L.out ? L.out : stdout;
    FILE *err = L.err ? L.err : stderr;
    pthread_mutex_lock(&L.mu);
    clear_progress_locked();
    if (L.fmt == LOG_FORMAT_JSON) {
        char ts[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_t *o = json_object();
        json_object_set_new(o, "time", json_string(ts));
        json_object_set_new(o, "level", json_string(level_name(lvl)));
        if (day)
            json_object_set_new(o, "day", json_string(day));
        if (event)
            json_object_set_new(o, "event", json_string(event));
        /* json_string rejects invalid UTF-8: keep the line anyway */
        json_t *m = json_string(msg);
        json_object_set_new(o, "msg", m ? m : json_stringn_nocheck(msg, strlen(msg)));
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s) {
            fprintf(out, "%s\n", s);
            free(s);
        }
        json_decref(o);
        fflush(out);
    } else {
        FILE *f = lvl <= LOG_WARN ? err : out;
        const char *tag = lvl == LOG_ERROR ? "error: " : lvl == LOG_WARN ? "warning: " : "";
        if (day)
            fprintf(f, "%s%s: %s\n", tag, day, msg);
        else
            fprintf(f, "%s%s\n", tag, msg);
        fflush(f);
    }
    draw_progress_locked();
    pthread_mutex_unlock(&L.mu);
}

void log_progress(const char *fmt, ...)
{
    if (!L.progress)
        return;
    pthread_mutex_lock(&L.mu);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L.line, sizeof L.line, fmt, ap);
    va_end(ap);
    draw_progress_locked();
    pthread_mutex_unlock(&L.mu);
}

void log_progress_done(void)
{
    pthread_mutex_lock(&L.mu);
    clear_progress_locked();
    L.line[0] = '\0';
    pthread_mutex_unlock(&L.mu);
}
