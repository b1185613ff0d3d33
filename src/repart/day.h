/* day: calendar days (UTC, proleptic Gregorian) and their spellings.
 *
 * A day appears in four forms:
 *   "2023-01-05"                                 command line, config (day_parse / day_format)
 *   "startYear=2023/startMonth=1/startDay=5/"    S3 partition path, month and day NOT padded
 *                                                (day_partition)
 *   "2023-1-5"                                   work folder name, as the original Python
 *                                                sample names them (day_folder)
 * Years are limited to 1970..9999 so that every form has a 4-digit year and
 * every day maps to non-negative Unix time. */
#ifndef REPART_DAY_H
#define REPART_DAY_H

#include <stddef.h>
#include "err.h"

struct day {
    int y, m, d;
    int ds;     /* as a work item: the cold-tier dataset the day belongs to
                   (coldkey.h's enum coldkey_ds: 0 = raw, 1 = agg). The
                   calendar functions ignore it; day_item_cmp orders by it. */
};

#define DAY_YEAR_MIN 1970
#define DAY_YEAR_MAX 9999

/* Buffer sizes (including the NUL) big enough for every valid day. */
#define DAY_STR_MAX        11   /* "YYYY-MM-DD" */
#define DAY_FOLDER_MAX     11   /* "YYYY-M-D" */
#define DAY_PARTITION_MAX  48   /* "startYear=YYYY/startMonth=MM/startDay=DD/" */

/* Upper bound on the number of days in one day list (a range or --days):
 * about 270 years, far more than any cold tier holds, and it keeps a typo
 * such as --to 9999-12-31 from allocating without bound. */
#define DAY_LIST_MAX 100000

/* 1 if y-m-d is a real calendar day within DAY_YEAR_MIN..DAY_YEAR_MAX. */
int day_valid(const struct day *d);

/* 1 for leap years, and the number of days of month m (1..12) of year y. */
int day_is_leap(int y);
int day_month_days(int y, int m);

/* Parses exactly "YYYY-MM-DD" (zero-padded month and day, nothing before or
 * after). The error (kind ERR_USAGE) quotes the input and says what is wrong,
 * e.g. `"2023-02-30": no such day (February 2023 has 28 days)`. */
int day_parse(const char *s, struct day *out, struct err *e);

/* Writers: NUL-terminated, always fit in the buffer sizes above for a valid
 * day. Each returns its argument `buf` for use in printf. */
char *day_format(const struct day *d, char buf[DAY_STR_MAX]);
char *day_folder(const struct day *d, char buf[DAY_FOLDER_MAX]);
char *day_partition(const struct day *d, char buf[DAY_PARTITION_MAX]);

/* A work item's name in log lines: "2023-01-05" for raw, "agg:2023-01-05"
 * for agg. Returns buf. */
#define DAY_ITEM_MAX (DAY_STR_MAX + 4)
char *day_item_format(const struct day *d, char buf[DAY_ITEM_MAX]);

/* <0, 0, >0 as a is before, equal to, after b (the calendar day only). */
int day_cmp(const struct day *a, const struct day *b);

/* day_cmp, then the dataset: the order (and identity) of work items. */
int day_item_cmp(const struct day *a, const struct day *b);

/* Days since 1970-01-01 and back. day_from_epoch_days does not check the
 * year range (day_valid does). */
long day_to_epoch_days(const struct day *d);
struct day day_from_epoch_days(long n);

/* Following / preceding day (not range-checked: 9999-12-31 + 1 is not valid). */
struct day day_next(struct day d);
struct day day_prev(struct day d);

/* b - a in days (negative when b is before a). */
long day_between(const struct day *a, const struct day *b);

/* Iteration: for (struct day d = from; day_cmp(&d, &to) <= 0; d = day_next(d)) */

/* A list of days, owned by the list (free with day_list_free). */
struct day_list {
    struct day *v;
    size_t n;
};

/* Every day from..to inclusive, ascending. Error (ERR_USAGE) if from > to or
 * the range holds more than DAY_LIST_MAX days. `out` is overwritten. */
int day_list_range(const struct day *from, const struct day *to, struct day_list *out,
                   struct err *e);

/* Parses "D1,D2,..." (the --days argument): every item a strict YYYY-MM-DD,
 * no empty items, spaces around items allowed. The result is sorted
 * ascending with duplicates removed. Errors (ERR_USAGE) name the bad item. */
int day_list_parse(const char *csv, struct day_list *out, struct err *e);

/* Keeps only this worker's share: the days whose number since 1970-01-01
 * is index modulo count. The share of a day does not depend on the range
 * it came in, so workers given different ranges still agree on who owns a
 * day. Requires 0 <= index < count. */
void day_list_shard(struct day_list *l, unsigned index, unsigned count);

void day_list_free(struct day_list *l);

#endif
