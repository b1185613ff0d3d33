/* repart-avro: small command-line front end to the container/merge modules,
 * for tests and benchmarks.
 *
 *   repart-avro merge -o OUT [--codec null|deflate|snappy] [--schema FILE | --sitewise]
 *                     [--verify auto|framing|full] [--block-size N] [--keep-going] FILE...
 *       Merges FILEs into OUT; prints a JSON summary on stdout. The sync marker
 *       is derived from the FILE names, so the same command gives the same bytes.
 *       Default codec: that of the first FILE. --keep-going skips bad sources
 *       (each reported on stderr) instead of stopping.
 *   repart-avro check FILE...
 *       Reads every block of every FILE, decompresses and checks every record
 *       against the writer schema; prints "records blocks codec FILE".
 *   repart-avro header FILE
 *       Prints the codec and the schema JSON.
 * Exit: 0 ok, 1 a file failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "datum.h"
#include "avsc.h"
#include "merge.h"
#include "ocf.h"
#include "sitewise_schema.h"

#define MAX_FILE ((size_t)1 << 31)

static int usage(void)
{
    fprintf(stderr,
            "usage: repart-avro merge -o OUT [--codec C] [--schema FILE|--sitewise]\n"
            "                   [--verify auto|framing|full] [--block-size N] [--keep-going] FILE...\n"
            "       repart-avro check FILE...\n"
            "       repart-avro header FILE\n");
    return 2;
}

static int null_sink(void *ud, const void *p, size_t n)
{
    (void)ud;
    (void)p;
    (void)n;
    return 0;
}

struct fsink {
    FILE *f;
};

static int file_sink(void *ud, const void *p, size_t n)
{
    struct fsink *s = ud;
    return fwrite(p, 1, n, s->f) == n ? 0 : -1;
}

static int cmd_merge(int argc, char **argv)
{
    const char *out = NULL, *schema_file = NULL, *codec = NULL;
    int sitewise = 0, keep_going = 0;
    struct merge_options o = {0};
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-o") && v) {
            out = v;
            i++;
        } else if (!strcmp(a, "--codec") && v) {
            codec = v;
            i++;
        } else if (!strcmp(a, "--schema") && v) {
            schema_file = v;
            i++;
        } else if (!strcmp(a, "--sitewise")) {
            sitewise = 1;
        } else if (!strcmp(a, "--keep-going")) {
            keep_going = 1;
        } else if (!strcmp(a, "--block-size") && v) {
            o.block_target = (size_t)strtoull(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--verify") && v) {
            if (!strcmp(v, "auto"))
                o.verify = MERGE_VERIFY_AUTO;
            else if (!strcmp(v, "framing"))
                o.verify = MERGE_VERIFY_FRAMING;
            else if (!strcmp(v, "full"))
                o.verify = MERGE_VERIFY_FULL;
            else
                return usage();
            i++;
        } else {
            return usage();
        }
    }
    if (!out || i >= argc)
        return usage();
    char **files = argv + i;
    size_t n = (size_t)(argc - i);
    struct err e = {0};
    char *schema = NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, len = 0;
    int rc = 1;

    if (schema_file) {
        FILE *f = fopen(schema_file, "rb");
        if (!f) {
            fprintf(stderr, "repart-avro: %s: cannot open\n", schema_file);
            return 2;
        }
        unsigned char *sb = NULL;
        size_t scap = 0, slen = 0;
        if (ocf_read_stream(f, schema_file, 1 << 24, &sb, &scap, &slen, &e) < 0) {
            fclose(f);
            fprintf(stderr, "repart-avro: %s\n", e.msg);
            return 2;
        }
        fclose(f);
        schema = malloc(slen + 1);
        memcpy(schema, sb, slen);
        schema[slen] = '\0';
        free(sb);
        o.schema_json = schema;
    } else if (sitewise) {
        o.schema_json = sitewise_schema_json;
    }
    if (codec) {
        if (codec_parse(codec, &o.codec, &e) < 0) {
            fprintf(stderr, "repart-avro: %s\n", e.msg);
            free(schema);
            return 2;
        }
    } else {
        /* default: the first file's codec */
        struct ocf_reader r;
        if (ocf_read_file(files[0], MAX_FILE, &buf, &cap, &len, &e) < 0
            || ocf_reader_open(&r, files[0], buf, len, &e) < 0) {
            fprintf(stderr, "repart-avro: %s\n", e.msg);
            free(schema);
            free(buf);
            return 1;
        }
        o.codec = r.codec;
        ocf_reader_close(&r);
    }
    merge_derive_sync((const char *const *)files, n, o.sync);

    char *tmp = NULL, *obuf = NULL;
    if (asprintf(&tmp, "%s.part", out) < 0)
        return 1;
    struct fsink fs = {fopen(tmp, "wb")};
    struct merge *m = NULL;
    if (!fs.f) {
        fprintf(stderr, "repart-avro: %s: cannot create\n", tmp);
        goto done;
    }
    /* glibc ignores the size unless given the buffer: without it, 4 KiB */
    obuf = malloc(1 << 20);
    if (obuf)
        setvbuf(fs.f, obuf, _IOFBF, 1 << 20);
    if (!(m = merge_open(&o, file_sink, &fs, &e))) {
        fprintf(stderr, "repart-avro: %s\n", e.msg);
        goto done;
    }
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        if (ocf_read_file(files[k], MAX_FILE, &buf, &cap, &len, &e) < 0
            || merge_add(m, files[k], buf, len, NULL, &e) < 0) {
            fprintf(stderr, "repart-avro: %s\n", e.msg);
            bad++;
            if (!keep_going)
                goto done;
        }
    }
    struct merge_stats st;
    if (merge_finish(m, &st, &e) < 0) {
        fprintf(stderr, "repart-avro: %s\n", e.msg);
        goto done;
    }
    if (fclose(fs.f) != 0) {
        fs.f = NULL;
        fprintf(stderr, "repart-avro: %s: write failed\n", tmp);
        goto done;
    }
    fs.f = NULL;
    if (rename(tmp, out) != 0) {
        fprintf(stderr, "repart-avro: cannot rename %s\n", tmp);
        goto done;
    }
    printf("{\"sources\":%llu,\"copied\":%llu,\"recoded\":%llu,\"resolved\":%llu,"
           "\"empty\":%llu,\"failed\":%llu,\"records_in\":%llu,\"records_out\":%llu,"
           "\"bytes_in\":%llu,\"bytes_out\":%llu,\"blocks_out\":%llu}\n",
           (unsigned long long)st.sources, (unsigned long long)st.sources_copied,
           (unsigned long long)st.sources_recoded, (unsigned long long)st.sources_resolved,
           (unsigned long long)st.sources_empty, (unsigned long long)st.sources_failed,
           (unsigned long long)st.records_in, (unsigned long long)st.records_out,
           (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
           (unsigned long long)st.blocks_out);
    rc = bad ? 1 : 0;
done:
    if (fs.f) {
        fclose(fs.f);
        remove(tmp);
    }
    merge_free(m);
    free(obuf);
    free(tmp);
    free(buf);
    free(schema);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    int rc = 0;
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    for (int i = 0; i < argc; i++) {
        struct err e = {0};
        struct ocf_reader r;
        if (ocf_read_file(argv[i], MAX_FILE, &buf, &cap, &len, &e) < 0
            || ocf_reader_open(&r, argv[i], buf, len, &e) < 0) {
            fprintf(stderr, "repart-avro: %s\n", e.msg);
            rc = 1;
            continue;
        }
        enum codec_id c = r.codec;
        ocf_reader_close(&r);
        /* a full-verify merge into nothing checks every record */
        struct merge_options o = {.codec = c, .verify = MERGE_VERIFY_FULL};
        struct merge *m = merge_open(&o, null_sink, NULL, &e);
        struct merge_source_stats st;
        if (!m || merge_add(m, argv[i], buf, len, &st, &e) < 0) {
            fprintf(stderr, "repart-avro: %s\n", e.msg);
            rc = 1;
        } else {
            printf("%llu %llu %s %s\n", (unsigned long long)st.records,
                   (unsigned long long)st.blocks, codec_name(c), argv[i]);
        }
        merge_free(m);
    }
    free(buf);
    return rc;
}

static int cmd_header(int argc, char **argv)
{
    if (argc != 1)
        return usage();
    struct err e = {0};
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    struct ocf_reader r;
    if (ocf_read_file(argv[0], MAX_FILE, &buf, &cap, &len, &e) < 0
        || ocf_reader_open(&r, argv[0], buf, len, &e) < 0) {
        fprintf(stderr, "repart-avro: %s\n", e.msg);
        free(buf);
        return 1;
    }
    printf("codec %s\n%.*s\n", codec_name(r.codec), (int)r.schema_len, r.schema_json);
    ocf_reader_close(&r);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "merge"))
        return cmd_merge(argc - 2, argv + 2);
    if (!strcmp(argv[1], "check") && argc > 2)
        return cmd_check(argc - 2, argv + 2);
    if (!strcmp(argv[1], "header"))
        return cmd_header(argc - 2, argv + 2);
    return usage();
}
