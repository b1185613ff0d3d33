#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int err_vset(struct err *e, int kind, const char *fmt, va_list ap)
{
    if (!e)
        return -1;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    e->kind = kind;
    return -1;
}

int err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, ERR_GENERIC, fmt, ap);
    va_end(ap);
    return -1;
}

int err_setk(struct err *e, int kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char head[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char old[ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    /* concatenate by hand: snprintf("%s%s") trips -Wformat-truncation at -O2 */
    size_t hl = strnlen(head, sizeof head - 1);
    size_t ol = strnlen(old, sizeof old - 1);
    if (ol > sizeof e->msg - 1 - hl)
        ol = sizeof e->msg - 1 - hl;
    memcpy(e->msg, head, hl);
    memcpy(e->msg + hl, old, ol);
    e->msg[hl + ol] = '\0';
    return -1;
}

void err_clear(struct err *e)
{
    if (e) {
        e->msg[0] = '\0';
        e->kind = ERR_GENERIC;
    }
}
