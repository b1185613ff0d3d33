#include "coldkey.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

/* Keys come from listings and events: quote them printable and bounded so a
 * hostile key cannot garble or flood a log line. */
#define QUOTE_MAX 300

static const char *quote(const char *key, char out[QUOTE_MAX + 4])
{
    size_t i = 0;
    for (; key[i] && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)key[i];
        out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    if (key[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

/* Matches `lit` at *p and advances. */
static int lit(const char **p, const char *s)
{
    size_t n = strlen(s);
    if (strncmp(*p, s, n) != 0)
        return 0;
    *p += n;
    return 1;
}

/* An unpadded decimal of 1..maxdig digits followed by '/'. Returns the value
 * or -1; *padded is set when the number has a leading zero. */
static int unpadded(const char **p, int maxdig, int *padded)
{
    const char *s = *p;
    int v = 0, n = 0;
    while (s[n] >= '0' && s[n] <= '9') {
        if (n == maxdig)
            return -1;
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n == 0 || s[n] != '/')
        return -1;
    *padded = n > 1 && s[0] == '0';
    *p = s + n + 1;
    return v;
}

/* Parses the partition after the data prefix; *p is left after "startDay=D/". */
static int parse_partition(const char **p, const char *key, struct day *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    const char *s = *p;
    struct day d = {0};
    int padded = 0;

    if (!lit(&s, "startYear="))
        return err_setk(e, ERR_DATA, "key \"%s\": expected \"startYear=\" after the prefix",
                        quote(key, q));
    d.y = 0;
    for (int i = 0; i < 4; i++) {
        if (s[i] < '0' || s[i] > '9')
            return err_setk(e, ERR_DATA, "key \"%s\": startYear is not 4 digits",
                            quote(key, q));
        d.y = d.y * 10 + (s[i] - '0');
    }
    if (s[4] != '/')
        return err_setk(e, ERR_DATA, "key \"%s\": startYear is not 4 digits", quote(key, q));
    s += 5;
    if (!lit(&s, "startMonth="))
        return err_setk(e, ERR_DATA, "key \"%s\": expected \"startMonth=\" after startYear",
                        quote(key, q));
    if ((d.m = unpadded(&s, 2, &padded)) < 0)
        return err_setk(e, ERR_DATA, "key \"%s\": startMonth is not a number of 1 or 2 digits",
                        quote(key, q));
    if (padded)
        return err_setk(e, ERR_DATA,
                        "key \"%s\": startMonth is zero-padded (SiteWise writes startMonth=%d)",
                        quote(key, q), d.m);
    if (!lit(&s, "startDay="))
        return err_setk(e, ERR_DATA, "key \"%s\": expected \"startDay=\" after startMonth",
                        quote(key, q));
    if ((d.d = unpadded(&s, 2, &padded)) < 0)
        return err_setk(e, ERR_DATA, "key \"%s\": startDay is not a number of 1 or 2 digits",
                        quote(key, q));
    if (padded)
        return err_setk(e, ERR_DATA,
                        "key \"%s\": startDay is zero-padded (SiteWise writes startDay=%d)",
                        quote(key, q), d.d);
    if (!day_valid(&d))
        return err_setk(e, ERR_DATA, "key \"%s\": %04d-%02d-%02d is not a valid day",
                        quote(key, q), d.y, d.m, d.d);
    *out = d;
    *p = s;
    return 0;
}

static int check_prefix(const char *key, const char *data_prefix, struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (!key)
        return err_setk(e, ERR_DATA, "missing key");
    if (strnlen(key, COLDKEY_KEY_MAX + 1) > COLDKEY_KEY_MAX)
        return err_setk(e, ERR_DATA, "key \"%s\": longer than %d bytes", quote(key, q),
                        COLDKEY_KEY_MAX);
    if (strncmp(key, data_prefix, strlen(data_prefix)) != 0)
        return err_setk(e, ERR_DATA, "key \"%s\": not under the cold tier prefix \"%.100s\"",
                        quote(key, q), data_prefix);
    return 0;
}

int coldkey_parse_day(const char *key, const char *data_prefix, struct day *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (check_prefix(key, data_prefix, e) < 0)
        return -1;
    const char *p = key + strlen(data_prefix);
    if (parse_partition(&p, key, out, e) < 0)
        return -1;
    if (*p)
        return err_setk(e, ERR_DATA, "key \"%s\": unexpected text after startDay",
                        quote(key, q));
    return 0;
}

static int series_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == '.';
}

const char *coldkey_ds_name(enum coldkey_ds ds)
{
    return ds == COLDKEY_AGG ? "agg" : "raw";
}

int coldkey_parse(const char *key, const char *data_prefix, struct coldkey *out, struct err *e)
{
    return coldkey_parse_ds(key, data_prefix, COLDKEY_RAW, out, e);
}

/* "seriesBucket=XX/": two lower-case hex digits (the bucket is written so). */
static int parse_bucket(const char **p, const char *key, unsigned *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (!lit(p, "seriesBucket="))
        return err_setk(e, ERR_DATA, "key \"%s\": expected \"seriesBucket=\" after startDay",
                        quote(key, q));
    const char *s = *p;
    int h1 = isupper((unsigned char)s[0]) ? -1 : hex_digit((unsigned char)s[0]);
    int h2 = h1 < 0 || isupper((unsigned char)s[1]) ? -1 : hex_digit((unsigned char)s[1]);
    if (h1 < 0 || h2 < 0 || s[2] != '/')
        return err_setk(e, ERR_DATA,
                        "key \"%s\": seriesBucket is not two lower-case hex digits",
                        quote(key, q));
    *out = (unsigned)(h1 * 16 + h2);
    *p = s + 3;
    return 0;
}

static int check_quality(const char *key, const char *qual, size_t qlen, struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (qlen == 0 || qlen > COLDKEY_QUALITY_MAX)
        return err_setk(e, ERR_DATA, "key \"%s\": quality must be 1..%d letters",
                        quote(key, q), COLDKEY_QUALITY_MAX);
    for (size_t i = 0; i < qlen; i++)
        if (!((qual[i] >= 'A' && qual[i] <= 'Z') || (qual[i] >= 'a' && qual[i] <= 'z')))
            return err_setk(e, ERR_DATA, "key \"%s\": quality must be letters only",
                            quote(key, q));
    return 0;
}

static int parse_timestamp(const char *key, const char *ts, size_t tlen, int64_t *out,
                           struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (tlen == 0 || tlen > 12 || (tlen > 1 && ts[0] == '0'))
        return err_setk(e, ERR_DATA,
                        "key \"%s\": startTimestamp must be 1..12 digits without leading zero",
                        quote(key, q));
    int64_t t = 0;
    for (size_t i = 0; i < tlen; i++) {
        if (ts[i] < '0' || ts[i] > '9')
            return err_setk(e, ERR_DATA,
                            "key \"%s\": startTimestamp is not a decimal number of seconds",
                            quote(key, q));
        t = t * 10 + (ts[i] - '0');
    }
    *out = t;
    return 0;
}

static int check_series(const char *key, const char *sid, size_t slen, struct err *e)
{
    char q[QUOTE_MAX + 4];
    if (slen == 0)
        return err_setk(e, ERR_DATA, "key \"%s\": empty seriesId", quote(key, q));
    if (slen > COLDKEY_SERIES_MAX)
        return err_setk(e, ERR_DATA, "key \"%s\": seriesId longer than %d bytes",
                        quote(key, q), COLDKEY_SERIES_MAX);
    if (sid[0] == '_' || sid[slen - 1] == '_')
        return err_setk(e, ERR_DATA, "key \"%s\": seriesId starts or ends with '_'",
                        quote(key, q));
    for (size_t i = 0; i < slen; i++)
        if (!series_char(sid[i]))
            return err_setk(e, ERR_DATA,
                            "key \"%s\": seriesId has a character outside [A-Za-z0-9._-]",
                            quote(key, q));
    return 0;
}

int coldkey_parse_ds(const char *key, const char *data_prefix, enum coldkey_ds ds,
                     struct coldkey *out, struct err *e)
{
    char q[QUOTE_MAX + 4];
    struct coldkey k;
    const char *dsn = coldkey_ds_name(ds);
    char head[8];
    snprintf(head, sizeof head, "%s_", dsn);
    if (check_prefix(key, data_prefix, e) < 0)
        return -1;
    const char *p = key + strlen(data_prefix);
    if (parse_partition(&p, key, &k.day, e) < 0)
        return -1;

    if (parse_bucket(&p, key, &k.bucket, e) < 0)
        return -1;

    /* File name: raw_<seriesId>_<startTimestamp>_<quality>.avro (agg_ for
     * metrics, transforms and aggregates) */
    const char *name = p;
    if (strchr(name, '/'))
        return err_setk(e, ERR_DATA, "key \"%s\": extra path level after seriesBucket",
                        quote(key, q));
    size_t len = strlen(name);
    if (len < 5 || strcmp(name + len - 5, ".avro") != 0)
        return err_setk(e, ERR_DATA, "key \"%s\": file name does not end in \".avro\"",
                        quote(key, q));
    if (!lit(&p, head))
        return err_setk(e, ERR_DATA, "key \"%s\": file name does not start with \"%s\"",
                        quote(key, q), head);
    const char *end = name + len - 5;               /* at ".avro" */
    const char *u2 = end;                           /* '_' before quality */
    while (u2 > p && u2[-1] != '_')
        u2--;
    if (u2 == p)
        return err_setk(e, ERR_DATA,
                        "key \"%s\": file name is not %s<seriesId>_<startTimestamp>_<quality>.avro",
                        quote(key, q), head);
    const char *qual = u2;
    u2--;                                           /* at the '_' */
    const char *u1 = u2;                            /* '_' before the timestamp */
    while (u1 > p && u1[-1] != '_')
        u1--;
    if (u1 == p)
        return err_setk(e, ERR_DATA,
                        "key \"%s\": file name is not %s<seriesId>_<startTimestamp>_<quality>.avro",
                        quote(key, q), head);
    const char *ts = u1;
    u1--;                                           /* at the '_' */

    size_t qlen = (size_t)(end - qual), slen = (size_t)(u1 - p);
    int64_t t = 0;
    if (check_quality(key, qual, qlen, e) < 0 ||
        parse_timestamp(key, ts, (size_t)(u2 - ts), &t, e) < 0 ||
        check_series(key, p, slen, e) < 0)
        return -1;

    memcpy(k.series_id, p, slen);
    k.series_id[slen] = '\0';
    memcpy(k.quality, qual, qlen);
    k.quality[qlen] = '\0';
    k.start_ts = t;
    k.day.ds = (int)ds;
    *out = k;
    return 0;
}

int coldkey_cmp(const struct coldkey *a, const char *key_a,
                const struct coldkey *b, const char *key_b)
{
    int c = strcmp(a->series_id, b->series_id);
    if (c)
        return c < 0 ? -1 : 1;
    if (a->start_ts != b->start_ts)
        return a->start_ts < b->start_ts ? -1 : 1;
    c = strcmp(key_a, key_b);
    return c < 0 ? -1 : c > 0;
}

int coldkey_day_prefix(char *buf, size_t size, const char *data_prefix, const struct day *d,
                       struct err *e)
{
    char part[DAY_PARTITION_MAX];
    if (!day_valid(d))
        return err_setk(e, ERR_USAGE, "invalid day %d-%d-%d", d->y, d->m, d->d);
    int n = snprintf(buf, size, "%s%s", data_prefix, day_partition(d, part));
    if (n < 0 || (size_t)n >= size)
        return err_setk(e, ERR_USAGE, "prefix \"%.100s\" too long for a day prefix", data_prefix);
    return n;
}

int coldkey_bucket_prefix(char *buf, size_t size, const char *data_prefix, const struct day *d,
                          unsigned bucket, struct err *e)
{
    char part[DAY_PARTITION_MAX];
    if (!day_valid(d))
        return err_setk(e, ERR_USAGE, "invalid day %d-%d-%d", d->y, d->m, d->d);
    if (bucket >= COLDKEY_BUCKETS)
        return err_setk(e, ERR_USAGE, "series bucket %u outside 0..255", bucket);
    int n = snprintf(buf, size, "%s%sseriesBucket=%02x/", data_prefix, day_partition(d, part),
                     bucket);
    if (n < 0 || (size_t)n >= size)
        return err_setk(e, ERR_USAGE, "prefix \"%.100s\" too long for a bucket prefix",
                        data_prefix);
    return n;
}
