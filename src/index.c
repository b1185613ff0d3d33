#include "index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MAX_LINE 4096
#define INDEX_HEADER "#repart-index v1"
#define INDEX_SRC "#src\t"
#define INDEX_COMPAT "#compat\t"

void index_init(struct index *ix)
{
    memset(ix, 0, sizeof *ix);
}

void index_free(struct index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n_series; i++)
        free(ix->series[i]);
    free(ix->series);
    for (size_t i = 0; i < ix->n_compat; i++)
        free(ix->compat[i]);
    free(ix->compat);
    for (size_t i = 0; i < ix->n_sources; i++) {
        free(ix->sources[i].relkey);
        free(ix->sources[i].series);
        free(ix->sources[i].merged);
    }
    free(ix->sources);
    free(ix->src_series);
    memset(ix, 0, sizeof *ix);
}

int index_series_of(const char *relkey, char *out, size_t cap)
{
    const char *base = strrchr(relkey, '/');
    base = base ? base + 1 : relkey;
    size_t n = strlen(base);
    if (n < 4 + 5 || strncmp(base, "raw_", 4) != 0 || strcmp(base + n - 5, ".avro") != 0)
        return -1;
    const char *start = base + 4, *end = base + n - 5;
    /* drop the last two '_'-separated fields (start timestamp, quality) */
    for (int field = 0; field < 2; field++) {
        const char *p = end;
        while (p > start && p[-1] != '_')
            p--;
        if (p <= start)
            return -1;
        end = p - 1;
    }
    size_t len = (size_t)(end - start);
    if (len == 0 || len + 1 > cap)
        return -1;
    memcpy(out, start, len);
    out[len] = '\0';
    return 0;
}

static int push_str(char ***arr, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        char **p = realloc(*arr, c * sizeof *p);
        if (!p)
            return -1;
        *arr = p;
        *cap = c;
    }
    char *copy = strndup(s, len);
    if (!copy)
        return -1;
    (*arr)[(*n)++] = copy;
    return 0;
}

static int push_series(struct index *ix, const char *s, size_t len)
{
    return push_str(&ix->series, &ix->n_series, &ix->cap_series, s, len);
}

static int push_source(struct index *ix, const char *relkey, const char *series,
                       long long size, const char *etag, const char *merged)
{
    if (ix->n_sources == ix->cap_sources) {
        size_t cap = ix->cap_sources ? ix->cap_sources * 2 : 64;
        struct index_source *p = realloc(ix->sources, cap * sizeof *p);
        if (!p)
            return -1;
        ix->sources = p;
        ix->cap_sources = cap;
    }
    struct index_source *s = &ix->sources[ix->n_sources];
    memset(s, 0, sizeof *s);
    s->relkey = strdup(relkey);
    s->series = strdup(series);
    s->merged = strdup(merged);
    if (!s->relkey || !s->series || !s->merged) {
        free(s->relkey);
        free(s->series);
        free(s->merged);
        return -1;
    }
    s->size = size;
    snprintf(s->etag, sizeof s->etag, "%s", etag);
    ix->n_sources++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_source(const void *a, const void *b)
{
    return strcmp(((const struct index_source *)a)->relkey,
                  ((const struct index_source *)b)->relkey);
}

static void sort_unique(char **arr, size_t *n)
{
    if (*n < 2)
        return;
    qsort(arr, *n, sizeof *arr, cmp_str);
    size_t w = 1;
    for (size_t r = 1; r < *n; r++) {
        if (strcmp(arr[r], arr[w - 1]) == 0)
            free(arr[r]);
        else
            arr[w++] = arr[r];
    }
    *n = w;
}

static int sorted_has(char *const *arr, size_t n, const char *s);

/* Adds the sample's short id of every associated series that has no line of
 * its own yet, marked #compat. */
static void add_compat_lines(struct index *ix)
{
    size_t n = ix->n_series;
    for (size_t i = 0; i < n; i++) {
        const char *us = strchr(ix->series[i], '_');
        if (!us || us == ix->series[i])
            continue;
        size_t len = (size_t)(us - ix->series[i]);
        char shortid[INDEX_MAX_LINE];
        if (len >= sizeof shortid)
            continue;
        memcpy(shortid, ix->series[i], len);
        shortid[len] = '\0';
        if (sorted_has(ix->series, n, shortid) || sorted_has(ix->compat, ix->n_compat, shortid))
            continue;  /* a line of its own (legacy or already compat) */
        if (push_str(&ix->compat, &ix->n_compat, &ix->cap_compat, shortid, len) != 0)
            return;
        sort_unique(ix->compat, &ix->n_compat);
    }
    for (size_t i = 0; i < ix->n_compat; i++)
        if (!sorted_has(ix->series, n, ix->compat[i]))
            push_series(ix, ix->compat[i], strlen(ix->compat[i]));
    sort_unique(ix->series, &ix->n_series);
}

void index_sort(struct index *ix)
{
    sort_unique(ix->series, &ix->n_series);
    sort_unique(ix->compat, &ix->n_compat);
    add_compat_lines(ix);
    if (ix->n_sources > 1) {
        qsort(ix->sources, ix->n_sources, sizeof *ix->sources, cmp_source);
        size_t w = 1;  /* a relkey recorded twice keeps its first record */
        for (size_t r = 1; r < ix->n_sources; r++) {
            if (strcmp(ix->sources[r].relkey, ix->sources[w - 1].relkey) == 0) {
                free(ix->sources[r].relkey);
                free(ix->sources[r].series);
                free(ix->sources[r].merged);
            } else {
                ix->sources[w++] = ix->sources[r];
            }
        }
        ix->n_sources = w;
    }
    free(ix->src_series);
    ix->src_series = NULL;
    ix->n_src_series = 0;
    if (ix->n_sources) {
        ix->src_series = malloc(ix->n_sources * sizeof *ix->src_series);
        if (!ix->src_series)
            return;  /* lookups fall back to a linear scan */
        for (size_t i = 0; i < ix->n_sources; i++)
            ix->src_series[i] = ix->sources[i].series;
        qsort(ix->src_series, ix->n_sources, sizeof *ix->src_series, cmp_str);
        size_t w = 1;
        for (size_t r = 1; r < ix->n_sources; r++)
            if (strcmp(ix->src_series[r], ix->src_series[w - 1]) != 0)
                ix->src_series[w++] = ix->src_series[r];
        ix->n_src_series = w;
    }
}

/* Splits a #src line body into fields; returns the number found. */
static int split_tabs(char *s, char **fields, int max)
{
    int n = 0;
    while (n < max) {
        fields[n++] = s;
        char *t = strchr(s, '\t');
        if (!t)
            break;
        *t = '\0';
        s = t + 1;
    }
    return n;
}

/* Control characters (and, for has_blank, spaces) do not survive a write
 * and a read: lines are trimmed, fields split at tabs, a final CR dropped. */
static int has_ctl(const char *s, size_t n, int space_too)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || (space_too && s[i] == ' '))
            return 1;
    return 0;
}

static int has_blank(const char *s, size_t n)
{
    return has_ctl(s, n, 1);
}

static int parse_src_line(struct index *ix, char *body, size_t lineno, struct err *e)
{
    char *f[6];
    int n = split_tabs(body, f, 6);
    if (n != 4 || strchr(f[3], '\t'))
        return err_setk(e, ERR_DATA, "line %zu: a #src line needs 4 tab-separated fields", lineno);
    char series[INDEX_MAX_LINE];
    if (index_series_of(f[0], series, sizeof series) != 0)
        return err_setk(e, ERR_DATA, "line %zu: source key '%s' is not raw_<series>_<ts>_<quality>.avro",
                        lineno, f[0]);
    char *end;
    long long size = strtoll(f[1], &end, 10);
    if (*f[1] == '\0' || *end || size < 0)
        return err_setk(e, ERR_DATA, "line %zu: bad size '%s'", lineno, f[1]);
    if (strlen(f[2]) >= sizeof ix->sources[0].etag || f[3][0] == '\0')
        return err_setk(e, ERR_DATA, "line %zu: bad etag or merged file name", lineno);
    if (has_ctl(f[0], strlen(f[0]), 0) || has_ctl(f[2], strlen(f[2]), 0) ||
        has_ctl(f[3], strlen(f[3]), 0))
        return err_setk(e, ERR_DATA, "line %zu: a #src field holds a control character", lineno);
    if (push_source(ix, f[0], series, size, f[2], f[3]) != 0)
        return err_set(e, "out of memory");
    return 0;
}

int index_parse(const char *text, size_t len, struct index *out, struct err *e)
{
    char line[INDEX_MAX_LINE + 1];
    size_t lineno = 0, pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (n > INDEX_MAX_LINE)
            return err_setk(e, ERR_DATA, "line %zu: longer than %d bytes", lineno, INDEX_MAX_LINE);
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')   /* written on Windows */
            line[--n] = '\0';
        if (memchr(line, '\0', n))
            return err_setk(e, ERR_DATA, "line %zu: contains a NUL byte", lineno);
        if (n == 0)
            continue;
        if (strncmp(line, INDEX_SRC, strlen(INDEX_SRC)) == 0) {
            if (parse_src_line(out, line + strlen(INDEX_SRC), lineno, e) != 0)
                return -1;
        } else if (strncmp(line, INDEX_COMPAT, strlen(INDEX_COMPAT)) == 0) {
            const char *id = line + strlen(INDEX_COMPAT);
            /* a short id: the part of a series id before its first '_' */
            if (!*id || has_blank(id, strlen(id)) || strchr(id, '_'))
                return err_setk(e, ERR_DATA, "line %zu: bad #compat line", lineno);
            if (push_str(&out->compat, &out->n_compat, &out->cap_compat, id, strlen(id)) != 0)
                return err_set(e, "out of memory");
        } else if (line[0] == '#') {
            continue;  /* header or a comment of a later version */
        } else {
            /* trim surrounding blanks: hand-edited files */
            char *s = line;
            while (*s == ' ' || *s == '\t' || *s == '\r')
                s++;
            size_t m = strlen(s);
            while (m && (s[m - 1] == ' ' || s[m - 1] == '\t' || s[m - 1] == '\r'))
                m--;
            if (m && s[0] == '#')
                continue;  /* an indented comment: not a series id either */
            /* ids come from object keys: a blank or control character
             * inside would not read back the same (trimmed, or a malformed
             * #compat line) */
            if (has_blank(s, m))
                return err_setk(e, ERR_DATA, "line %zu: series id with a blank or control "
                                "character", lineno);
            if (m && push_series(out, s, m) != 0)
                return err_set(e, "out of memory");
        }
    }
    index_sort(out);
    return 0;
}

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

char *index_format(const struct index *ix, size_t *len_out)
{
    struct sbuf b = {0};
    sb_add(&b, "", 0);
    for (size_t i = 0; i < ix->n_series; i++) {
        sb_str(&b, ix->series[i]);
        sb_str(&b, "\n");
    }
    if (ix->n_sources || ix->n_compat) {
        sb_str(&b, INDEX_HEADER "\n");
        for (size_t i = 0; i < ix->n_compat; i++) {
            sb_str(&b, INDEX_COMPAT);
            sb_str(&b, ix->compat[i]);
            sb_str(&b, "\n");
        }
        char num[32];
        for (size_t i = 0; i < ix->n_sources; i++) {
            const struct index_source *s = &ix->sources[i];
            snprintf(num, sizeof num, "%lld", s->size);
            sb_str(&b, INDEX_SRC);
            sb_str(&b, s->relkey);
            sb_str(&b, "\t");
            sb_str(&b, num);
            sb_str(&b, "\t");
            sb_str(&b, s->etag);
            sb_str(&b, "\t");
            sb_str(&b, s->merged);
            sb_str(&b, "\n");
        }
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len_out)
        *len_out = b.len;
    return b.p;
}

static int sorted_has(char *const *arr, size_t n, const char *s)
{
    return arr && n && bsearch(&s, arr, n, sizeof *arr, cmp_str) != NULL;
}

/* A series line that counts for coverage: present, and not a #compat line. */
static int real_line(const struct index *ix, const char *s)
{
    return sorted_has(ix->series, ix->n_series, s) && !sorted_has(ix->compat, ix->n_compat, s);
}

int index_has_series(const struct index *ix, const char *series_id)
{
    if (real_line(ix, series_id))
        return 1;
    /* legacy short entry: the id up to its first '_' */
    const char *us = strchr(series_id, '_');
    if (!us)
        return 0;
    char shortid[INDEX_MAX_LINE];
    size_t n = (size_t)(us - series_id);
    if (n == 0 || n >= sizeof shortid)
        return 0;
    memcpy(shortid, series_id, n);
    shortid[n] = '\0';
    return real_line(ix, shortid);
}

int index_covers(const struct index *ix, const char *relkey, const char *series_id,
                 long long last_modified)
{
    struct index_source key = {.relkey = (char *)relkey};
    if (ix->n_sources && bsearch(&key, ix->sources, ix->n_sources, sizeof key, cmp_source))
        return 1;
    if (sorted_has((char *const *)ix->src_series, ix->n_src_series, series_id))
        return 0;
    if (!index_has_series(ix, series_id))
        return 0;
    return ix->last_modified == 0 || last_modified <= ix->last_modified;
}

int index_add(struct index *ix, const char *relkey, const char *series_id, long long size,
              const char *etag, const char *merged)
{
    if (push_source(ix, relkey, series_id, size, etag, merged) != 0)
        return -1;
    return push_series(ix, series_id, strlen(series_id));
}
