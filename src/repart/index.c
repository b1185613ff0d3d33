#include "index.h"
#include "grow.h"
#include "md5.h"
#include "strbuf.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MAX_LINE 4096
#define INDEX_HEADER "#repart-index v2"
#define INDEX_HEADER_ANY "#repart-index v"
#define INDEX_SRC "#src\t"
#define INDEX_FILE "#file\t"
#define INDEX_COMPAT "#compat\t"
#define INDEX_FOLDED "#folded\t"

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
    for (size_t i = 0; i < ix->n_files; i++)
        free(ix->files[i].name);
    free(ix->files);
    for (size_t i = 0; i < ix->n_folded; i++)
        free(ix->folded[i].name);
    free(ix->folded);
    free(ix->src_series);
    memset(ix, 0, sizeof *ix);
}

int index_series_of(const char *relkey, char *out, size_t cap)
{
    const char *base = strrchr(relkey, '/');
    base = base ? base + 1 : relkey;
    size_t n = strlen(base);
    /* raw_ in a raw day's index, agg_ in an agg day's (the index of each
     * dataset only ever names keys its scan listed) */
    if (n < 4 + 5 || (strncmp(base, "raw_", 4) != 0 && strncmp(base, "agg_", 4) != 0) ||
        strcmp(base + n - 5, ".avro") != 0)
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
        char **p = grow_array(*arr, *n, cap, sizeof *p, 64);
        if (!p)
            return -1;
        *arr = p;
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
                       long long size, const char *etag, const char *merged, long long off,
                       long long len)
{
    if (ix->n_sources == ix->cap_sources) {
        struct index_source *p = grow_array(ix->sources, ix->n_sources, &ix->cap_sources,
                                            sizeof *p, 64);
        if (!p)
            return -1;
        ix->sources = p;
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
    s->off = off;
    s->len = len;
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
    char *f[7];
    int n = split_tabs(body, f, 7);
    if ((n != 4 && n != 6) || strchr(f[n - 1], '\t'))
        return err_setk(e, ERR_DATA, "line %zu: a #src line needs 4 or 6 tab-separated fields",
                        lineno);
    char series[INDEX_MAX_LINE];
    if (index_series_of(f[0], series, sizeof series) != 0)
        return err_setk(e, ERR_DATA, "line %zu: source key '%s' is not raw_|agg_<series>_<ts>_<quality>.avro",
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
    long long off = -1, len = -1;
    if (n == 6) {
        off = strtoll(f[4], &end, 10);
        if (*f[4] == '\0' || *end || off < 0)
            return err_setk(e, ERR_DATA, "line %zu: bad offset '%s'", lineno, f[4]);
        len = strtoll(f[5], &end, 10);
        if (*f[5] == '\0' || *end || len < 0 || len > LLONG_MAX - off)
            return err_setk(e, ERR_DATA, "line %zu: bad length '%s'", lineno, f[5]);
    }
    if (push_source(ix, f[0], series, size, f[2], f[3], off, len) != 0)
        return err_set(e, "out of memory");
    return 0;
}

static int parse_file_line(struct index *ix, char *body, size_t lineno, struct err *e)
{
    char *f[9];
    int n = split_tabs(body, f, 9);
    if (n < 5 || n == 7 || n > 8 || strchr(f[n - 1], '\t'))
        return err_setk(e, ERR_DATA, "line %zu: a #file line needs 5, 6 or 8 tab-separated "
                        "fields", lineno);
    const char *etag = n >= 6 && strcmp(f[5], "-") != 0 ? f[5] : "";
    long long adopted[2] = {-1, -1};     /* unowned, sources */
    for (int i = 0; n == 8 && i < 2; i++) {
        char *end;
        adopted[i] = strtoll(f[6 + i], &end, 10);
        if (!f[6 + i][0] || *end || adopted[i] < 0)
            return err_setk(e, ERR_DATA, "line %zu: bad number '%s'", lineno, f[6 + i]);
    }
    if (strlen(etag) >= sizeof ix->files[0].etag || has_ctl(etag, strlen(etag), 1))
        return err_setk(e, ERR_DATA, "line %zu: bad ETag", lineno);
    char *end;
    long long v[3];
    const char *num[3] = {f[1], f[3], f[4]};   /* size, records, header length */
    for (int i = 0; i < 3; i++) {
        v[i] = strtoll(num[i], &end, 10);
        if (*num[i] == '\0' || *end || v[i] < 0)
            return err_setk(e, ERR_DATA, "line %zu: bad number '%s'", lineno, num[i]);
    }
    struct md5chain chain;
    if (strlen(f[2]) >= sizeof ix->files[0].md5 || md5chain_parse(f[2], v[0], &chain, e) != 0)
        return err_setk(e, ERR_DATA, "line %zu: bad MD5 '%.80s'", lineno, f[2]);
    if (!f[0][0] || strchr(f[0], '/') || has_ctl(f[0], strlen(f[0]), 1))
        return err_setk(e, ERR_DATA, "line %zu: bad file name", lineno);
    if (index_file_find(ix, f[0]))
        return err_setk(e, ERR_DATA, "line %zu: file %s named twice", lineno, f[0]);
    if (v[2] > v[0])
        return err_setk(e, ERR_DATA, "line %zu: header longer than the file", lineno);
    if (index_file_set(ix, f[0], v[0], f[2], (unsigned long long)v[1], v[2], etag) != 0)
        return err_set(e, "out of memory");
    struct index_file *nf = (struct index_file *)index_file_find(ix, f[0]);
    nf->unowned = adopted[0];
    nf->sources = adopted[1];
    return 0;
}

int index_parse(const char *text, size_t len, struct index *out, struct err *e)
{
    char line[INDEX_MAX_LINE + 1];
    size_t lineno = 0, pos = 0;
    out->version = 0;
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
        /* a UTF-8 byte order mark, as editors on Windows save the sample's
         * file (also where two such files were concatenated): not part of
         * the first id */
        while (n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            memmove(line, line + 3, n - 3 + 1);
            n -= 3;
        }
        if (n == 0)
            continue;
        if (strncmp(line, INDEX_HEADER_ANY, strlen(INDEX_HEADER_ANY)) == 0) {
            int v = atoi(line + strlen(INDEX_HEADER_ANY));
            if (v > out->version)
                out->version = v;
            if (v > 2)
                return err_setk(e, ERR_DATA, "line %zu: index version %d is newer than this "
                                "repart understands (2): upgrade repart", lineno, v);
            continue;
        }
        if (strncmp(line, INDEX_FILE, strlen(INDEX_FILE)) == 0) {
            if (parse_file_line(out, line + strlen(INDEX_FILE), lineno, e) != 0)
                return -1;
        } else if (strncmp(line, INDEX_SRC, strlen(INDEX_SRC)) == 0) {
            if (parse_src_line(out, line + strlen(INDEX_SRC), lineno, e) != 0)
                return -1;
        } else if (strncmp(line, INDEX_FOLDED, strlen(INDEX_FOLDED)) == 0) {
            char *f[3];
            int n = split_tabs(line + strlen(INDEX_FOLDED), f, 3);
            if (n != 2 || !f[0][0] || strchr(f[0], '/') || has_ctl(f[0], strlen(f[0]), 1) ||
                strlen(f[1]) >= sizeof out->folded[0].etag || has_ctl(f[1], strlen(f[1]), 1))
                return err_setk(e, ERR_DATA, "line %zu: bad #folded line", lineno);
            if (index_add_folded(out, f[0], strcmp(f[1], "-") == 0 ? "" : f[1]) != 0)
                return err_set(e, "out of memory");
        } else if (strncmp(line, INDEX_COMPAT, strlen(INDEX_COMPAT)) == 0) {
            const char *id = line + strlen(INDEX_COMPAT);
            /* a short id: the part of a series id before its first '_'; one
             * that starts with a byte order mark would come back without it
             * from its series line (fuzz_index) */
            if (!*id || has_blank(id, strlen(id)) || strchr(id, '_') ||
                strncmp(id, "\xEF\xBB\xBF", 3) == 0)
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
            /* byte order marks after blanks: the same as at the start (found by
             * fuzz_index: one stripped, the next read stripped the second) */
            while (m >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                s += 3;
                m -= 3;
                while (m && (*s == ' ' || *s == '\t')) {
                    s++;
                    m--;
                }
            }
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

char *index_format(const struct index *ix, size_t *len_out)
{
    struct strbuf b = {0};
    for (size_t i = 0; i < ix->n_series; i++) {
        strbuf_add(&b, ix->series[i]);
        strbuf_add(&b, "\n");
    }
    if (ix->n_sources || ix->n_compat || ix->n_files || ix->n_folded) {
        strbuf_add(&b, INDEX_HEADER "\n");
        for (size_t i = 0; i < ix->n_compat; i++) {
            strbuf_add(&b, INDEX_COMPAT);
            strbuf_add(&b, ix->compat[i]);
            strbuf_add(&b, "\n");
        }
        char num[128 + MD5CHAIN_TEXT_MAX];
        for (size_t i = 0; i < ix->n_files; i++) {
            const struct index_file *f = &ix->files[i];
            strbuf_add(&b, INDEX_FILE);
            strbuf_add(&b, f->name);
            snprintf(num, sizeof num, "\t%lld\t%s\t%llu\t%lld", f->size, f->md5, f->records,
                     f->header_len);
            strbuf_add(&b, num);
            if (f->etag[0] || f->unowned >= 0) {
                strbuf_add(&b, "\t");
                strbuf_add(&b, f->etag[0] ? f->etag : "-");
            }
            if (f->unowned >= 0) {
                snprintf(num, sizeof num, "\t%lld\t%lld", f->unowned,
                         f->sources >= 0 ? f->sources : 0);
                strbuf_add(&b, num);
            }
            strbuf_add(&b, "\n");
        }
        for (size_t i = 0; i < ix->n_folded; i++) {
            strbuf_add(&b, INDEX_FOLDED);
            strbuf_add(&b, ix->folded[i].name);
            strbuf_add(&b, "\t");
            strbuf_add(&b, ix->folded[i].etag[0] ? ix->folded[i].etag : "-");
            strbuf_add(&b, "\n");
        }
        for (size_t i = 0; i < ix->n_sources; i++) {
            const struct index_source *s = &ix->sources[i];
            snprintf(num, sizeof num, "%lld", s->size);
            strbuf_add(&b, INDEX_SRC);
            strbuf_add(&b, s->relkey);
            strbuf_add(&b, "\t");
            strbuf_add(&b, num);
            strbuf_add(&b, "\t");
            strbuf_add(&b, s->etag);
            strbuf_add(&b, "\t");
            strbuf_add(&b, s->merged);
            if (s->off >= 0) {
                snprintf(num, sizeof num, "\t%lld\t%lld", s->off, s->len);
                strbuf_add(&b, num);
            }
            strbuf_add(&b, "\n");
        }
    }
    return strbuf_take(&b, len_out);
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

int index_add(struct index *ix, const char *relkey, const char *series_id, long long size,
              const char *etag, const char *merged)
{
    return index_add_range(ix, relkey, series_id, size, etag, merged, -1, -1);
}

int index_add_range(struct index *ix, const char *relkey, const char *series_id, long long size,
                    const char *etag, const char *merged, long long off, long long len)
{
    if (push_source(ix, relkey, series_id, size, etag, merged, off, len) != 0)
        return -1;
    return push_series(ix, series_id, strlen(series_id));
}

const struct index_source *index_source_find(const struct index *ix, const char *relkey)
{
    struct index_source key = {.relkey = (char *)relkey};
    return ix->n_sources ? bsearch(&key, ix->sources, ix->n_sources, sizeof key, cmp_source)
                         : NULL;
}

enum index_src_state index_source_state(const struct index *ix, const char *relkey,
                                        long long size, const char *etag)
{
    const struct index_source *s = index_source_find(ix, relkey);
    if (!s)
        return INDEX_SRC_ABSENT;
    return s->size == size && strcmp(s->etag, etag) == 0 ? INDEX_SRC_SAME : INDEX_SRC_CHANGED;
}

const struct index_file *index_file_find(const struct index *ix, const char *name)
{
    for (size_t i = 0; i < ix->n_files; i++)
        if (strcmp(ix->files[i].name, name) == 0)
            return &ix->files[i];
    return NULL;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct index_file *)a)->name, ((const struct index_file *)b)->name);
}

int index_file_set(struct index *ix, const char *name, long long size, const char *md5,
                   unsigned long long records, long long header_len, const char *etag)
{
    struct index_file *f = (struct index_file *)index_file_find(ix, name);
    if (!f) {
        if (ix->n_files == ix->cap_files) {
            struct index_file *p = grow_array(ix->files, ix->n_files, &ix->cap_files,
                                              sizeof *p, 4);
            if (!p)
                return -1;
            ix->files = p;
        }
        f = &ix->files[ix->n_files];
        memset(f, 0, sizeof *f);
        f->unowned = -1;
        f->sources = -1;
        if (!(f->name = strdup(name)))
            return -1;
        ix->n_files++;
    }
    f->size = size;
    snprintf(f->md5, sizeof f->md5, "%s", md5);
    f->records = records;
    f->header_len = header_len;
    snprintf(f->etag, sizeof f->etag, "%s", etag ? etag : "");
    qsort(ix->files, ix->n_files, sizeof *ix->files, cmp_file);
    return 0;
}

void index_forget_file(struct index *ix, const char *merged)
{
    size_t w = 0;
    for (size_t r = 0; r < ix->n_sources; r++) {
        if (strcmp(ix->sources[r].merged, merged) == 0) {
            free(ix->sources[r].relkey);
            free(ix->sources[r].series);
            free(ix->sources[r].merged);
        } else {
            ix->sources[w++] = ix->sources[r];
        }
    }
    ix->n_sources = w;
    for (size_t i = 0; i < ix->n_files; i++) {
        if (strcmp(ix->files[i].name, merged) == 0) {
            free(ix->files[i].name);
            memmove(&ix->files[i], &ix->files[i + 1], (ix->n_files - i - 1) * sizeof *ix->files);
            ix->n_files--;
            break;
        }
    }
    index_sort(ix);
}

void index_forget_source(struct index *ix, const char *relkey)
{
    struct index_source *s = (struct index_source *)index_source_find(ix, relkey);
    if (!s)
        return;
    free(s->relkey);
    free(s->series);
    free(s->merged);
    size_t i = (size_t)(s - ix->sources);
    memmove(s, s + 1, (ix->n_sources - i - 1) * sizeof *s);
    ix->n_sources--;
    index_sort(ix);
}

static int cmp_range(const void *a, const void *b)
{
    const struct index_source *x = *(const struct index_source *const *)a;
    const struct index_source *y = *(const struct index_source *const *)b;
    return x->off < y->off ? -1 : x->off > y->off;
}

int index_check_file(const struct index *ix, const char *name, struct err *e)
{
    const struct index_file *f = index_file_find(ix, name);
    if (!f)
        return err_setk(e, ERR_DATA, "the index has no #file line for %s", name);
    size_t n = 0;
    for (size_t i = 0; i < ix->n_sources; i++)
        n += strcmp(ix->sources[i].merged, name) == 0;
    const struct index_source **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return err_set(e, "out of memory");
    size_t k = 0;
    int rc = 0;
    for (size_t i = 0; i < ix->n_sources && rc == 0; i++) {
        const struct index_source *s = &ix->sources[i];
        if (strcmp(s->merged, name) != 0)
            continue;
        if (s->off < 0)
            rc = err_setk(e, ERR_DATA, "%s: source %s has no byte range", name, s->relkey);
        else if (s->len > 0)   /* a source without records holds no bytes */
            v[k++] = s;
    }
    if (rc == 0)
        qsort(v, k, sizeof *v, cmp_range);
    long long at = f->header_len;
    for (size_t i = 0; i < k && rc == 0; i++) {
        if (v[i]->off != at)
            rc = err_setk(e, ERR_DATA, "%s: bytes %lld..%lld are named by no #src line (next: %s "
                          "at %lld); the index lost track of records in this file",
                          name, at, v[i]->off, v[i]->relkey, v[i]->off);
        at = v[i]->off + v[i]->len;
    }
    if (rc == 0 && at != f->size)
        rc = err_setk(e, ERR_DATA, "%s: the #src ranges end at byte %lld, the file at %lld; the "
                      "index lost track of records in this file", name, at, f->size);
    free(v);
    return rc;
}

size_t index_unbacked_series(const struct index *ix)
{
    size_t n = 0;
    for (size_t i = 0; i < ix->n_series; i++) {
        const char *id = ix->series[i];
        if (sorted_has(ix->compat, ix->n_compat, id) ||
            sorted_has((char *const *)ix->src_series, ix->n_src_series, id))
            continue;
        /* a legacy short entry: backed when a recorded series starts with "<id>_" */
        size_t l = strlen(id);
        int backed = 0;
        for (size_t j = 0; j < ix->n_src_series && !backed; j++)
            backed = strncmp(ix->src_series[j], id, l) == 0 && ix->src_series[j][l] == '_';
        n += (size_t)!backed;
    }
    return n;
}

int index_check_adopted(const struct index *ix, struct err *e)
{
    for (size_t i = 0; i < ix->n_files; i++) {
        const struct index_file *f = &ix->files[i];
        if (f->sources < 0)
            continue;
        long long n = 0;
        for (size_t j = 0; j < ix->n_sources; j++)
            n += strcmp(ix->sources[j].merged, f->name) == 0;
        if (n != f->sources)
            return err_setk(e, ERR_DATA, "%s: %lld #src line(s) name it, the index recorded %lld "
                            "when it was adopted; the index lost track of records in this file",
                            f->name, n, f->sources);
    }
    return 0;
}

const struct index_folded *index_folded_find(const struct index *ix, const char *name)
{
    for (size_t i = 0; i < ix->n_folded; i++)
        if (strcmp(ix->folded[i].name, name) == 0)
            return &ix->folded[i];
    return NULL;
}

int index_add_folded(struct index *ix, const char *name, const char *etag)
{
    struct index_folded *had = (struct index_folded *)index_folded_find(ix, name);
    if (had) {
        /* a later object of that name folded too (the sample wrote the same
         * name again): that version is the one to delete */
        if (etag && etag[0])
            snprintf(had->etag, sizeof had->etag, "%s", etag);
        return 0;
    }
    if (ix->n_folded == ix->cap_folded) {
        struct index_folded *p = grow_array(ix->folded, ix->n_folded, &ix->cap_folded,
                                            sizeof *p, 4);
        if (!p)
            return -1;
        ix->folded = p;
    }
    struct index_folded *f = &ix->folded[ix->n_folded];
    if (!(f->name = strdup(name)))
        return -1;
    snprintf(f->etag, sizeof f->etag, "%s", etag ? etag : "");
    ix->n_folded++;
    return 0;
}
