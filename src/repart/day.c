#include "day.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const month_names[12] = {
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
};

int day_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int day_month_days(int y, int m)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (m < 1 || m > 12)
        return 0;
    return len[m - 1] + (m == 2 && day_is_leap(y));
}

int day_valid(const struct day *d)
{
    return d && d->y >= DAY_YEAR_MIN && d->y <= DAY_YEAR_MAX && d->m >= 1 && d->m <= 12 &&
           d->d >= 1 && d->d <= day_month_days(d->y, d->m);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int day_parse(const char *s, struct day *out, struct err *e)
{
    struct day d = {0};
    if (!s)
        return err_setk(e, ERR_USAGE, "missing date (expected YYYY-MM-DD)");
    /* Quote at most a bounded prefix of the input in messages. */
    size_t len = strnlen(s, 64);
    if (len != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &d.y) ||
        digits(s + 5, 2, &d.m) || digits(s + 8, 2, &d.d))
        return err_setk(e, ERR_USAGE, "\"%.40s\": not a date of the form YYYY-MM-DD", s);
    if (d.y < DAY_YEAR_MIN || d.y > DAY_YEAR_MAX)
        return err_setk(e, ERR_USAGE, "\"%s\": year outside %d..%d", s, DAY_YEAR_MIN,
                        DAY_YEAR_MAX);
    if (d.m < 1 || d.m > 12)
        return err_setk(e, ERR_USAGE, "\"%s\": month must be 01..12", s);
    if (d.d < 1 || d.d > day_month_days(d.y, d.m))
        return err_setk(e, ERR_USAGE, "\"%s\": no such day (%s %d has %d days)", s,
                        month_names[d.m - 1], d.y, day_month_days(d.y, d.m));
    *out = d;
    return 0;
}

/* The writers clamp their fields so that even an invalid struct cannot
 * overflow the documented buffer sizes. */
static int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

char *day_format(const struct day *d, char buf[DAY_STR_MAX])
{
    snprintf(buf, DAY_STR_MAX, "%04d-%02d-%02d", clampi(d->y, 0, 9999), clampi(d->m, 0, 99),
             clampi(d->d, 0, 99));
    return buf;
}

char *day_item_format(const struct day *d, char buf[DAY_ITEM_MAX])
{
    char ds[DAY_STR_MAX];
    snprintf(buf, DAY_ITEM_MAX, "%s%s", d->ds == 1 ? "agg:" : "", day_format(d, ds));
    return buf;
}

char *day_folder(const struct day *d, char buf[DAY_FOLDER_MAX])
{
    snprintf(buf, DAY_FOLDER_MAX, "%d-%d-%d", clampi(d->y, 0, 9999), clampi(d->m, 0, 99),
             clampi(d->d, 0, 99));
    return buf;
}

char *day_partition(const struct day *d, char buf[DAY_PARTITION_MAX])
{
    snprintf(buf, DAY_PARTITION_MAX, "startYear=%d/startMonth=%d/startDay=%d/",
             clampi(d->y, 0, 9999), clampi(d->m, 0, 99), clampi(d->d, 0, 99));
    return buf;
}

int day_cmp(const struct day *a, const struct day *b)
{
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->m != b->m)
        return a->m < b->m ? -1 : 1;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return 0;
}

int day_item_cmp(const struct day *a, const struct day *b)
{
    int c = day_cmp(a, b);
    return c ? c : a->ds < b->ds ? -1 : a->ds > b->ds;
}

/* Civil-date <-> day-count conversions after H. Hinnant's public-domain
 * algorithms (eras of 400 years, March-based years). */
long day_to_epoch_days(const struct day *d)
{
    long y = d->y - (d->m <= 2);
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long mp = (d->m + 9) % 12;
    long doy = (153 * mp + 2) / 5 + d->d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

struct day day_from_epoch_days(long n)
{
    n += 719468;
    long era = (n >= 0 ? n : n - 146096) / 146097;
    long doe = n - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    struct day r = {0};
    r.d = (int)(doy - (153 * mp + 2) / 5 + 1);
    r.m = (int)(mp < 10 ? mp + 3 : mp - 9);
    r.y = (int)(yoe + era * 400 + (r.m <= 2));
    return r;
}

struct day day_next(struct day d)
{
    if (d.d < day_month_days(d.y, d.m)) {
        d.d++;
    } else if (d.m < 12) {
        d.m++;
        d.d = 1;
    } else {
        d.y++;
        d.m = 1;
        d.d = 1;
    }
    return d;
}

struct day day_prev(struct day d)
{
    if (d.d > 1) {
        d.d--;
    } else if (d.m > 1) {
        d.m--;
        d.d = day_month_days(d.y, d.m);
    } else {
        d.y--;
        d.m = 12;
        d.d = 31;
    }
    return d;
}

long day_between(const struct day *a, const struct day *b)
{
    return day_to_epoch_days(b) - day_to_epoch_days(a);
}

int day_list_range(const struct day *from, const struct day *to, struct day_list *out,
                   struct err *e)
{
    char a[DAY_STR_MAX], b[DAY_STR_MAX];
    out->v = NULL;
    out->n = 0;
    if (!day_valid(from) || !day_valid(to))
        return err_setk(e, ERR_USAGE, "invalid day in range");
    long n = day_between(from, to) + 1;
    if (n <= 0)
        return err_setk(e, ERR_USAGE, "range %s..%s: start is after end",
                        day_format(from, a), day_format(to, b));
    if (n > DAY_LIST_MAX)
        return err_setk(e, ERR_USAGE, "range %s..%s: %ld days, more than the limit of %d",
                        day_format(from, a), day_format(to, b), n, DAY_LIST_MAX);
    out->v = malloc((size_t)n * sizeof *out->v);
    if (!out->v)
        return err_set(e, "out of memory for %ld days", n);
    struct day d = *from;
    for (long i = 0; i < n; i++, d = day_next(d))
        out->v[i] = d;
    out->n = (size_t)n;
    return 0;
}

static int cmp_day_qsort(const void *a, const void *b)
{
    return day_cmp(a, b);
}

int day_list_parse(const char *csv, struct day_list *out, struct err *e)
{
    out->v = NULL;
    out->n = 0;
    if (!csv || !*csv)
        return err_setk(e, ERR_USAGE, "empty list of days");
    size_t items = 1;
    for (const char *p = csv; *p; p++)
        items += *p == ',';
    if (items > DAY_LIST_MAX)
        return err_setk(e, ERR_USAGE, "more than %d days listed", DAY_LIST_MAX);
    struct day *v = malloc(items * sizeof *v);
    if (!v)
        return err_set(e, "out of memory for %zu days", items);
    size_t n = 0;
    const char *p = csv;
    for (size_t i = 0; i < items; i++) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *s = p, *t = end;
        while (s < t && (*s == ' ' || *s == '\t'))
            s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        char item[16];
        size_t len = (size_t)(t - s);
        if (len == 0) {
            free(v);
            return err_setk(e, ERR_USAGE, "empty item %zu in list of days", i + 1);
        }
        if (len >= sizeof item) {
            free(v);
            return err_setk(e, ERR_USAGE, "\"%.*s...\": not a date of the form YYYY-MM-DD",
                            20, s);
        }
        memcpy(item, s, len);
        item[len] = '\0';
        if (day_parse(item, &v[n], e) < 0) {
            free(v);
            return -1;
        }
        n++;
        p = *end ? end + 1 : end;
    }
    qsort(v, n, sizeof *v, cmp_day_qsort);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || day_cmp(&v[w - 1], &v[i]) != 0)
            v[w++] = v[i];
    out->v = v;
    out->n = w;
    return 0;
}

void day_list_shard(struct day_list *l, unsigned index, unsigned count)
{
    if (count <= 1)
        return;
    /* by the day itself, not its position: a day belongs to the same shard
     * whatever range it was listed in */
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++)
        if ((unsigned long)day_to_epoch_days(&l->v[i]) % count == index)
            l->v[w++] = l->v[i];
    l->n = w;
}

void day_list_free(struct day_list *l)
{
    if (l) {
        free(l->v);
        l->v = NULL;
        l->n = 0;
    }
}
