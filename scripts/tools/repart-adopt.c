/* repart-adopt: which sources does a merged file of the original Python
 * sample hold (src/repart/adopt.h)? For checking by hand and for measuring.
 *
 *   repart-adopt [-q] -s SAMPLE.avro [-s SAMPLE2.avro ...] SOURCE.avro...
 *
 * Offers the sources largest first and the partial ones again at the end
 * (the order adopt.h recommends), prints one line per source
 * ("taken|none|partial|error NAME [in SAMPLE] [message]") unless -q (partial
 * and failed sources are printed anyway), then a JSON summary:
 * records, left, sources taken/none/partial/failed, seconds and records per
 * second (wall clock) and CPU seconds, for reading the sample file(s) and
 * for the offers (sources are read from disk before the clock starts), the
 * table's bytes and the peak RSS.
 * Exit: 0 every source answered (taken or none), 1 a source partial or
 * failed, 2 usage or a sample file that cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "adopt.h"
#include "ocf.h"

#define MAX_FILE ((size_t)1 << 31)

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

/* CPU time too: on a shared machine wall time says little */
static double cpu(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

struct src {
    const char *path;
    unsigned char *data;
    size_t len;
    int state;   /* 7 not offered, 1 taken, 0 none, -1 partial, -2 failed */
    const char *in;   /* the sample file it was taken from */
    char msg[ERR_MSG_MAX];
};

static int by_size_desc(const void *a, const void *b)
{
    const struct src *x = a, *y = b;
    return x->len < y->len ? 1 : x->len > y->len ? -1 : strcmp(x->path, y->path);
}

static int usage(void)
{
    fprintf(stderr, "usage: repart-adopt [-q] -s SAMPLE.avro [-s SAMPLE.avro ...] "
                    "SOURCE.avro...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *samples[64];
    int n_samples = 0, quiet = 0, opt;
    while ((opt = getopt(argc, argv, "qs:")) != -1) {
        if (opt == 's' && n_samples < 64)
            samples[n_samples++] = optarg;
        else if (opt == 'q')
            quiet = 1;
        else
            return usage();
    }
    if (n_samples == 0)
        return usage();
    size_t n = (size_t)(argc - optind);
    struct src *v = calloc(n ? n : 1, sizeof *v);
    struct err e = {0};
    /* sources are read before the clock starts: this measures adopt.c */
    for (size_t i = 0; i < n; i++) {
        size_t cap = 0;
        v[i].path = argv[optind + (int)i];
        v[i].state = 7;
        if (ocf_read_file(v[i].path, MAX_FILE, &v[i].data, &cap, &v[i].len, &e) < 0) {
            fprintf(stderr, "repart-adopt: %s\n", e.msg);
            return 2;
        }
    }
    qsort(v, n, sizeof *v, by_size_desc);

    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    struct adopt_set *s = NULL;
    double t_read = 0, c_read = 0;
    uint64_t sample_bytes = 0;
    for (int i = 0; i < n_samples; i++) {
        if (ocf_read_file(samples[i], MAX_FILE, &buf, &cap, &len, &e) < 0) {
            fprintf(stderr, "repart-adopt: %s\n", e.msg);
            return 2;
        }
        sample_bytes += len;
        double t0 = now(), c0 = cpu();
        int rc = s ? adopt_add(s, buf, len, samples[i], &e)
                   : ((s = adopt_open(buf, len, samples[i], &e)) ? 0 : -1);
        t_read += now() - t0;
        c_read += cpu() - c0;
        if (rc < 0) {
            fprintf(stderr, "repart-adopt: %s\n", e.msg);
            return 2;
        }
    }
    free(buf);

    double t0 = now(), c0 = cpu();
    uint64_t offered_records = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (pass == 1 && v[i].state != -1)
                continue;
            int taken = 0;
            uint64_t before = adopt_left(s);
            if (adopt_take(s, v[i].data, v[i].len, v[i].path, &taken, &e) == 0) {
                v[i].state = taken;
                v[i].in = adopt_last_file(s);
                v[i].msg[0] = '\0';
            } else {
                v[i].state = taken == -1 ? -1 : -2;
                snprintf(v[i].msg, sizeof v[i].msg, "%s", e.msg);
            }
            offered_records += before - adopt_left(s);
        }
    }
    double t_take = now() - t0, c_take = cpu() - c0;

    int counts[4] = {0};   /* taken, none, partial, failed */
    for (size_t i = 0; i < n; i++) {
        int k = v[i].state == 1 ? 0 : v[i].state == 0 ? 1 : v[i].state == -1 ? 2 : 3;
        counts[k]++;
        if (!quiet || k >= 2)
            printf("%s %s%s%s%s%s\n", (const char *[]){"taken", "none", "partial", "error"}[k],
                   v[i].path, v[i].in && n_samples > 1 ? " in " : "",
                   v[i].in && n_samples > 1 ? v[i].in : "", v[i].msg[0] ? " " : "", v[i].msg);
    }
    struct adopt_stats st;
    adopt_get_stats(s, &st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t source_bytes = 0;
    for (size_t i = 0; i < n; i++)
        source_bytes += v[i].len;
    printf("{\"sample_files\":%d,\"sample_bytes\":%llu,\"records\":%llu,\"left\":%llu,"
           "\"sources\":%zu,\"source_bytes\":%llu,\"taken\":%d,\"none\":%d,\"partial\":%d,"
           "\"failed\":%d,\"records_taken\":%llu,\"read_s\":%.3f,\"read_records_per_s\":%.0f,"
           "\"read_cpu_s\":%.3f,\"take_s\":%.3f,\"take_records_per_s\":%.0f,\"take_cpu_s\":%.3f,"
           "\"table_bytes\":%zu,"
           "\"table_bytes_per_record\":%.1f,\"max_rss_kb\":%ld}\n",
           n_samples, (unsigned long long)sample_bytes, (unsigned long long)st.records,
           (unsigned long long)st.left, n, (unsigned long long)source_bytes, counts[0],
           counts[1], counts[2], counts[3], (unsigned long long)st.records_taken, t_read,
           t_read > 0 ? (double)st.records / t_read : 0.0, c_read, t_take,
           t_take > 0 ? (double)offered_records / t_take : 0.0, c_take, st.table_bytes,
           st.records ? (double)st.table_bytes / (double)st.records : 0.0, ru.ru_maxrss);
    adopt_free(s);
    for (size_t i = 0; i < n; i++)
        free(v[i].data);
    free(v);
    return counts[2] || counts[3] ? 1 : 0;
}
