#include "log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hex.h"

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

/* Length of the valid UTF-8 sequence at p (1..4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    unsigned cp = c & (0x3f >> (n - 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

char *log_escape(const char *in, char *out, size_t size)
{
    size_t o = 0;
    if (!size)
        return out;
    for (const unsigned char *p = (const unsigned char *)in; *p;) {
        size_t n = utf8_len(p);
        int esc = n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)) || (n == 2 && p[0] == 0xc2 &&
                                                                      p[1] < 0xa0); /* C1 */
        if (esc) {
            if (o + 4 >= size)
                break;
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = HEX_LOWER[*p >> 4];
            out[o++] = HEX_LOWER[*p & 15];
            p++;
        } else {
            if (o + n >= size)
                break;
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    return out;
}

static void vlog(enum log_level lvl, const char *day, const char *event,
                 const struct log_field *fields, size_t n_fields, const char *fmt, va_list ap)
{
    if ((int)lvl > L.verbosity)
        return;
    char raw[2048], msg[4 * 2048];
    vsnprintf(raw, sizeof raw, fmt, ap);
    log_escape(raw, msg, sizeof msg);

    FILE *out = L.out ? L.out : stdout;
    FILE *err = L.err ? L.err : stderr;
    pthread_mutex_lock(&L.mu);
    clear_progress_locked();
    if (L.fmt == LOG_FORMAT_JSON) {
        char ts[40];
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        struct tm tm;
        time_t secs = now.tv_sec;
        gmtime_r(&secs, &tm);
        size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + tl, sizeof ts - tl, ".%03ldZ", now.tv_nsec / 1000000);
        json_t *o = json_object();
        json_object_set_new(o, "timestamp", json_string(ts));
        json_object_set_new(o, "level", json_string(level_name(lvl)));
        if (day)
            json_object_set_new(o, "day", json_string(day));
        if (event)
            json_object_set_new(o, "event", json_string(event));
        for (size_t i = 0; i < n_fields; i++)
            json_object_set_new(o, fields[i].name,
                                fields[i].integer ? json_integer((json_int_t)fields[i].value)
                                                  : json_real(fields[i].value));
        /* escaped: valid UTF-8, which json_string requires */
        json_t *m = json_string(msg);
        json_object_set_new(o, "msg", m ? m : json_string("(message not UTF-8)"));
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

void log_msg(enum log_level lvl, const char *day, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, day, event, NULL, 0, fmt, ap);
    va_end(ap);
}

void log_event(enum log_level lvl, const char *day, const char *event,
               const struct log_field *fields, size_t n_fields, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, day, event, fields, n_fields, fmt, ap);
    va_end(ap);
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

const char *log_quote(const char *s, char *out, size_t n)
{
    size_t i = 0, max = n - 4;
    if (!s)
        s = "";
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}
