/* assoc: the set, the parsers and the locations (no I/O; the loaders are in
 * assoc_load.c, so that this part links without the S3 client). */
#include "assoc.h"
#include "grow.h"
#include "awscfg.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coldkey.h"
#include "config.h"

/* ---- the set ------------------------------------------------------------ */

void assoc_set_free(struct assoc_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
    s->ids = NULL;
    s->n = s->cap = 0;
}

int assoc_set_add(struct assoc_set *s, const char *id, size_t len, struct err *e)
{
    if (s->n == s->cap) {
        char **ids = grow_array(s->ids, s->n, &s->cap, sizeof *ids, 64);
        if (!ids)
            return err_set(e, "out of memory");
        s->ids = ids;
    }
    char *c = malloc(len + 1);
    if (!c)
        return err_set(e, "out of memory");
    memcpy(c, id, len);
    c[len] = '\0';
    s->ids[s->n++] = c;
    return 0;
}

static int cmp_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void assoc_set_sort(struct assoc_set *s)
{
    if (s->n < 2)
        return;
    qsort(s->ids, s->n, sizeof *s->ids, cmp_ids);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->ids[i], s->ids[k - 1]) == 0)
            free(s->ids[i]);
        else
            s->ids[k++] = s->ids[i];
    }
    s->n = k;
}

int assoc_set_move(struct assoc_set *to, struct assoc_set *from, struct err *e)
{
    if (from->n == 0)
        return 0;
    if (to->n + from->n > to->cap) {
        size_t cap = to->cap ? to->cap : 64;
        while (cap < to->n + from->n)
            cap *= 2;
        char **ids = realloc(to->ids, cap * sizeof *ids);
        if (!ids)
            return err_set(e, "out of memory");
        to->ids = ids;
        to->cap = cap;
    }
    memcpy(to->ids + to->n, from->ids, from->n * sizeof *from->ids);
    to->n += from->n;
    to->skipped += from->skipped;
    free(from->ids);
    from->ids = NULL;
    from->n = from->cap = from->skipped = 0;
    return 0;
}

int assoc_contains(const struct assoc_set *s, const char *series_id)
{
    if (!s || s->n == 0)
        return 0;
    return bsearch(&series_id, s->ids, s->n, sizeof *s->ids, cmp_ids) != NULL;
}

int assoc_keep(int timeseries_type, const struct assoc_set *s, const char *series_id)
{
    switch (timeseries_type) {
    case CONFIG_TS_ASSOCIATED:
        return assoc_contains(s, series_id);
    case CONFIG_TS_DISASSOCIATED:
        return !assoc_contains(s, series_id);
    default:
        return 1;
    }
}

/* ---- parsing ------------------------------------------------------------ */

/* An id a cold-tier key can carry (coldkey.h: [A-Za-z0-9._-], 1..255). */
static int id_ok(const char *s, size_t len)
{
    if (len == 0 || len > COLDKEY_SERIES_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '-') || c >= 0x80)
            return 0;
    }
    return 1;
}

/* A string field, or NULL when absent or null. -1 (message "<field> is not a
 * string") when it has another type. */
static int get_str(json_t *o, const char *field, const char **out, size_t *len)
{
    json_t *v = json_object_get(o, field);
    *out = NULL;
    *len = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

/* Adds the ids of one metadata line or API summary. `prop1`/`prop2` are the
 * names of the property id field (prop2 may be NULL). `where` prefixes
 * messages. */
static int take_ids(json_t *o, const char *prop1, const char *prop2, struct assoc_set *set,
                    const char *where, struct err *e)
{
    const char *ts, *asset, *prop;
    size_t ts_len, asset_len, prop_len;
    const char *bad = NULL;
    if (get_str(o, "timeSeriesId", &ts, &ts_len) < 0)
        bad = "timeSeriesId";
    else if (get_str(o, "assetId", &asset, &asset_len) < 0)
        bad = "assetId";
    else if (get_str(o, prop1, &prop, &prop_len) < 0)
        bad = prop1;
    else if (!prop && prop2 && get_str(o, prop2, &prop, &prop_len) < 0)
        bad = prop2;
    if (bad)
        return err_setk(e, ERR_DATA, "%s: %s is not a string", where, bad);

    int added = 0;
    if (ts && id_ok(ts, ts_len)) {
        if (assoc_set_add(set, ts, ts_len, e) < 0)
            return -1;
        added = 1;
    }
    if (asset && prop && id_ok(asset, asset_len) && id_ok(prop, prop_len) &&
        asset_len + 1 + prop_len <= COLDKEY_SERIES_MAX) {
        char buf[COLDKEY_SERIES_MAX + 1];
        memcpy(buf, asset, asset_len);
        buf[asset_len] = '_';
        memcpy(buf + asset_len + 1, prop, prop_len);
        size_t n = asset_len + 1 + prop_len;
        if (!(ts && ts_len == n && memcmp(ts, buf, n) == 0)) {
            if (assoc_set_add(set, buf, n, e) < 0)
                return -1;
        }
        added = 1;
    }
    if (!added)
        set->skipped++;
    return 0;
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* jansson's message for a parse error, made printable (it may quote input). */
static void json_msg(const json_error_t *je, char *out, size_t size)
{
    size_t k = 0;
    for (const char *p = je->text; *p && k + 1 < size; p++)
        out[k++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    out[k] = '\0';
}

int assoc_parse_ndjson(const void *buf, size_t len, const char *name, struct assoc_set *set,
                       struct err *e)
{
    const char *p = buf, *end = p + len;
    if (!name)
        name = "asset metadata";
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;   /* a UTF-8 byte order mark */
    size_t line = 0;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = (size_t)((nl ? nl : end) - p);
        if (ll > ASSOC_LINE_MAX)
            return err_setk(e, ERR_DATA, "%s:%zu: line longer than %d bytes", name, line,
                            ASSOC_LINE_MAX);
        if (!blank(p, ll)) {
            json_error_t je;
            json_t *j = json_loadb(p, ll, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
            if (!j) {
                char msg[200];
                json_msg(&je, msg, sizeof msg);
                return err_setk(e, ERR_DATA, "%s:%zu: not valid JSON (column %d): %s", name,
                                line, je.column, msg);
            }
            if (!json_is_object(j)) {
                json_decref(j);
                return err_setk(e, ERR_DATA, "%s:%zu: not a JSON object", name, line);
            }
            char where[COLDKEY_KEY_MAX + 32];
            snprintf(where, sizeof where, "%s:%zu", name, line);
            int rc = take_ids(j, "assetPropertyId", "propertyId", set, where, e);
            json_decref(j);
            if (rc < 0)
                return -1;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static int token_ok(const char *s, size_t len)
{
    if (len == 0 || len > ASSOC_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '+' || c == '/' || c == '=') || c >= 0x80)
            return 0;
    }
    return 1;
}

int assoc_parse_api_page(const void *buf, size_t len, char **next_token, struct assoc_set *set,
                         struct err *e)
{
    *next_token = NULL;
    if (len > ASSOC_PAGE_MAX)
        return err_setk(e, ERR_DATA, "ListTimeSeries response larger than %d bytes",
                        ASSOC_PAGE_MAX);
    json_error_t je;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j) {
        char msg[200];
        json_msg(&je, msg, sizeof msg);
        return err_setk(e, ERR_DATA, "ListTimeSeries response: not valid JSON (line %d column %d): %s",
                        je.line, je.column, msg);
    }
    int rc = -1;
    if (!json_is_object(j)) {
        err_setk(e, ERR_DATA, "ListTimeSeries response: not a JSON object");
        goto done;
    }
    json_t *list = json_object_get(j, "TimeSeriesSummaries");
    if (!json_is_array(list)) {
        err_setk(e, ERR_DATA, "ListTimeSeries response: TimeSeriesSummaries %s",
                 list ? "is not an array" : "is missing");
        goto done;
    }
    const char *tok;
    size_t tok_len;
    if (get_str(j, "nextToken", &tok, &tok_len) < 0) {
        err_setk(e, ERR_DATA, "ListTimeSeries response: nextToken is not a string");
        goto done;
    }
    if (tok && tok_len > 0 && !token_ok(tok, tok_len)) {
        err_setk(e, ERR_DATA, "ListTimeSeries response: nextToken is not 1..%d characters of "
                 "[A-Za-z0-9+/=]", ASSOC_TOKEN_MAX);
        goto done;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        char where[96];
        snprintf(where, sizeof where, "ListTimeSeries response: TimeSeriesSummaries[%zu]", i);
        if (!json_is_object(v)) {
            err_setk(e, ERR_DATA, "%s is not an object", where);
            goto done;
        }
        if (take_ids(v, "propertyId", NULL, set, where, e) < 0)
            goto done;
    }
    if (tok && tok_len > 0) {
        *next_token = strndup(tok, tok_len);
        if (!*next_token) {
            err_set(e, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(j);
    return rc;
}

/* ---- locations ---------------------------------------------------------- */

int assoc_metadata_prefix(char *buf, size_t size, const char *data_prefix)
{
    size_t n = data_prefix ? strlen(data_prefix) : 0;
    while (n > 0 && data_prefix[n - 1] == '/')
        n--;
    while (n > 0 && data_prefix[n - 1] != '/')
        n--;   /* n: length of the parent, including its '/' */
    int len = snprintf(buf, size, "%.*sasset_metadata/", (int)n, data_prefix ? data_prefix : "");
    if (len < 0 || (size_t)len >= size)
        return -1;
    return len;
}

int assoc_api_endpoint(char *buf, size_t size, const char *region, struct err *e)
{
    int k = awscfg_endpoint(AWSCFG_SITEWISE, NULL, region, buf, size, NULL, e);
    return k < 0 ? -1 : (int)strlen(buf);
}

