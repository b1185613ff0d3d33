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
    /* head + old message, truncated to fit */
    size_t hl = strlen(head), ol = strnlen(e->msg, sizeof e->msg - 1);
    if (hl > sizeof e->msg - 1)
        hl = sizeof e->msg - 1;
    if (hl + ol > sizeof e->msg - 1)
        ol = sizeof e->msg - 1 - hl;
    memmove(e->msg + hl, e->msg, ol);
    memcpy(e->msg, head, hl);
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
