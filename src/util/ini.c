#include "ini.h"

#include <string.h>
#include <strings.h>

enum { LINE_SECTION, LINE_BAD_SECTION, LINE_KEY, LINE_OTHER };

/* One meaningful line: a section header, or name = value (both trimmed). */
struct line {
    int kind;       /* LINE_* */
    int indented;
    const char *a, *b;      /* the section's name, or the key */
    const char *va, *vb;    /* the value */
};

static int is_sp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

static void trim(const char **a, const char **b)
{
    while (*a < *b && is_sp(**a))
        (*a)++;
    while (*b > *a && is_sp((*b)[-1]))
        (*b)--;
}

/* The next line that is neither blank nor a comment; 0 at the end. */
static int next_line(const char **p, const char *end, struct line *l)
{
    while (*p < end) {
        const char *nl = memchr(*p, '\n', (size_t)(end - *p));
        const char *a = *p, *b = nl ? nl : end;
        *p = nl ? nl + 1 : end;
        l->indented = a < b && (*a == ' ' || *a == '\t');
        trim(&a, &b);
        if (a == b || *a == '#' || *a == ';')
            continue;
        if (*a == '[') {
            const char *rb = memchr(a, ']', (size_t)(b - a));
            l->kind = rb ? LINE_SECTION : LINE_BAD_SECTION;
            l->a = a + 1;
            l->b = rb ? rb : a + 1;
            trim(&l->a, &l->b);
            return 1;
        }
        const char *eq = memchr(a, '=', (size_t)(b - a));
        if (!eq) {
            l->kind = LINE_OTHER;
            return 1;
        }
        l->kind = LINE_KEY;
        l->a = a;
        l->b = eq;
        l->va = eq + 1;
        l->vb = b;
        trim(&l->a, &l->b);
        trim(&l->va, &l->vb);
        return 1;
    }
    return 0;
}

static int name_is(const char *a, const char *b, const char *name, int fold)
{
    size_t n = strlen(name);
    return (size_t)(b - a) == n && (fold ? strncasecmp(a, name, n) : memcmp(a, name, n)) == 0;
}

/* Copies [a, b) into out: 1, or -1 when it does not fit. */
static int copy_value(const char *a, const char *b, char *out, size_t n)
{
    size_t vl = (size_t)(b - a);
    if (vl >= n)
        return -1;
    memcpy(out, a, vl);
    out[vl] = '\0';
    return 1;
}

/* Walks the text: whether [section] is there and the last value of key
 * (key NULL: only the section). */
static int scan(const char *text, size_t len, const char *section, const char *key, char *out,
                size_t n, int *has_section)
{
    int in_section = 0, seen_key = 0, result = 0;
    const char *p = text, *end = text + len;
    struct line l;
    *has_section = 0;
    while (next_line(&p, end, &l)) {
        if (l.kind == LINE_SECTION || l.kind == LINE_BAD_SECTION) {
            seen_key = 0;       /* a malformed header: ignore what follows */
            in_section = l.kind == LINE_SECTION && name_is(l.a, l.b, section, 0);
            if (in_section)
                *has_section = 1;
            continue;
        }
        if (l.kind != LINE_KEY || (l.indented && seen_key))
            continue;           /* continuation / sub-property */
        seen_key = 1;
        if (!in_section || !key)
            continue;
        /* inline comment: ';' or '#' after whitespace */
        for (const char *c = l.va; c < l.vb; c++) {
            if ((*c == '#' || *c == ';') && c > l.va && is_sp(c[-1])) {
                l.vb = c;
                trim(&l.va, &l.vb);
                break;
            }
        }
        if (name_is(l.a, l.b, key, 1))
            result = copy_value(l.va, l.vb, out, n) < 0 ? -1 : 1;
    }
    return result;
}

int ini_find(const char *text, size_t len, const char *section, const char *key, char *out,
             size_t n)
{
    int has;
    if (!text || !section || !key || !out || n == 0)
        return 0;
    return scan(text, len, section, key, out, n, &has);
}

int ini_has_section(const char *text, size_t len, const char *section)
{
    int has;
    char dummy[1];
    if (!text || !section)
        return 0;
    scan(text, len, section, NULL, dummy, sizeof dummy, &has);
    return has;
}

int ini_subvalue(const char *text, size_t len, const char *section, const char *key,
                 const char *subkey, char *out, size_t n)
{
    int in_section = 0, in_key = 0, result = 0;
    const char *p = text, *end = text + len;
    struct line l;
    while (next_line(&p, end, &l)) {
        if (l.kind == LINE_SECTION || l.kind == LINE_BAD_SECTION) {
            if (l.indented)
                continue;
            in_key = 0;
            in_section = l.kind == LINE_SECTION && name_is(l.a, l.b, section, 0);
            continue;
        }
        if (l.kind != LINE_KEY)
            continue;
        if (!l.indented) {
            in_key = in_section && name_is(l.a, l.b, key, 1);
            continue;
        }
        if (in_key && name_is(l.a, l.b, subkey, 1))
            result = copy_value(l.va, l.vb, out, n) < 0 ? -1 : 1;
    }
    return result;
}
