/* repart-gen: writes synthetic SiteWise cold-tier data to a directory (see
 * src/gen.h for the layout and content). Prints a JSON summary on stdout.
 *
 *   repart-gen --out DIR --from YYYY-MM-DD [--to YYYY-MM-DD] [--series N]
 *              [--records-per-file K] [--seed S] [--codec snappy|deflate|null]
 *              [--data-prefix raw/] [--asset-metadata] [--block-size BYTES]
 *
 * Exit: 0 ok, 1 write error, 2 usage. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen.h"

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "repart-gen: %s\n", msg);
    fprintf(stderr,
            "usage: repart-gen --out DIR --from YYYY-MM-DD [--to YYYY-MM-DD] [--series N]\n"
            "                  [--records-per-file K] [--seed S] [--codec snappy|deflate|null]\n"
            "                  [--data-prefix raw/] [--asset-metadata] [--block-size BYTES]\n");
    return 2;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"series", required_argument, NULL, 'n'},
        {"records-per-file", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"codec", required_argument, NULL, 'c'},
        {"data-prefix", required_argument, NULL, 'p'},
        {"asset-metadata", no_argument, NULL, 'a'},
        {"block-size", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct gen_options o = {.series = 10, .records_per_file = 100, .seed = 1,
                            .codec = CODEC_SNAPPY, .data_prefix = "raw/"};
    const char *out = NULL, *from = NULL, *to = NULL;
    struct err e = {0};
    unsigned long long v;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'n':
            if (parse_uint(optarg, 1000000, &v) < 0 || v == 0)
                return usage("--series: a number 1..1000000");
            o.series = (unsigned)v;
            break;
        case 'k':
            if (parse_uint(optarg, 10000000, &v) < 0 || v == 0)
                return usage("--records-per-file: a number 1..10000000");
            o.records_per_file = (unsigned)v;
            break;
        case 's':
            if (parse_uint(optarg, UINT64_MAX, &v) < 0)
                return usage("--seed: a non-negative number");
            o.seed = v;
            break;
        case 'c':
            if (codec_parse(optarg, &o.codec, &e) < 0)
                return usage(e.msg);
            break;
        case 'p': o.data_prefix = optarg; break;
        case 'a': o.asset_metadata = 1; break;
        case 'b':
            if (parse_uint(optarg, 1u << 30, &v) < 0 || v == 0)
                return usage("--block-size: bytes, 1..1073741824");
            o.block_target = (size_t)v;
            break;
        case 'h': usage(NULL); return 0;
        default: return usage(NULL);
        }
    }
    if (optind != argc)
        return usage("unexpected argument");
    if (!out || !from)
        return usage("--out and --from are required");
    if (o.data_prefix[0] == '/'
        || (o.data_prefix[0] && o.data_prefix[strlen(o.data_prefix) - 1] != '/'))
        return usage("--data-prefix must not start with '/' and must end with '/' (or be empty)");
    if (day_parse(from, &o.from, &e) < 0)
        return usage(e.msg);
    if (day_parse(to ? to : from, &o.to, &e) < 0)
        return usage(e.msg);
    if (day_cmp(&o.from, &o.to) > 0)
        return usage("--from is after --to");
    if (mkdir(out, 0755) < 0) {
        struct stat st;
        if (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "repart-gen: %s: cannot create directory\n", out);
            return 1;
        }
    }
    struct gen_sink sink = {gen_dir_put, (void *)out};
    struct gen_summary s;
    if (gen_run(&o, &sink, &s, &e) < 0) {
        fprintf(stderr, "repart-gen: %s\n", e.msg);
        return e.kind == ERR_USAGE ? 2 : 1;
    }
    printf("{\"days\":%llu,\"series\":%llu,\"files\":%llu,\"records\":%llu,\"bytes\":%llu,"
           "\"metadata_files\":%llu,\"metadata_bytes\":%llu,\"codec\":\"%s\",\"seed\":%llu}\n",
           (unsigned long long)s.days, (unsigned long long)s.series,
           (unsigned long long)s.files, (unsigned long long)s.records,
           (unsigned long long)s.bytes, (unsigned long long)s.metadata_files,
           (unsigned long long)s.metadata_bytes, codec_name(o.codec),
           (unsigned long long)o.seed);
    return 0;
}
