#include "cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "awscfg.h"


const struct cli_command *cli_find(const char *name)
{
    for (const struct cli_command *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* ---------------------------------------------------------------- help -- */

struct opt_help {
    unsigned bit;               /* 0: global */
    const char *left, *text;
};

static const struct opt_help cmd_opt_help[] = {
    { CLI_OPT_RANGE, "--from D", "first day (YYYY-MM-DD, UTC; or today, today-N);\n"
                                 "needs --to" },
    { CLI_OPT_RANGE, "--to D", "last day, inclusive; needs --from" },
    { CLI_OPT_RANGE, "--days D1,D2,...", "these days only (instead of --from/--to)" },
    { CLI_OPT_RANGE, "--shard I/N", "only this worker's share of the days: those whose\n"
                                    "number since 1970-01-01 is I modulo N (0 <= I < N).\n"
                                    "I may be \"auto\": $AWS_BATCH_JOB_ARRAY_INDEX, else\n"
                                    "$JOB_COMPLETION_INDEX" },
    { CLI_OPT_JSON, "--json", "print the result as JSON on standard output" },
    { CLI_OPT_REPORT, "--report FILE", "also write a JSON summary of the run to FILE,\n"
                                       "s3://BUCKET/KEY or - (stdout): per day outcome,\n"
                                       "objects, bytes, error; the rerun command\n"
                                       "(docs/report.schema.json). Checked before any work" },
    { CLI_OPT_QUEUE, "--queue URL", "the SQS queue URL (required)" },
    { CLI_OPT_ONCE, "--once", "process what the queue holds now, then exit" },
    { CLI_OPT_OBJECT, "--object s3://BUCKET/KEY", "a new object (the plain key, not URL-encoded);\n"
                                                  "repeatable; instead of FILE" },
    { CLI_OPT_DEEP, "--deep", "decode every record instead of trusting block counts" },
    { CLI_OPT_REPAIR, "--repair", "rebuild a day file that is missing, damaged or untracked\n"
                                  "by its index from the cold tier; delete index-v1 orphans\n"
                                  "older than $REPART_REPAIR_MIN_AGE seconds (default 3600)" },
    { CLI_OPT_ATHENA, "--table NAME", "table name (default sitewise_consolidated; a-z 0-9 _)" },
    { CLI_OPT_ATHENA, "--database NAME", "database name (default \"default\"; a-z 0-9 _)" },
    { CLI_OPT_ATHENA, "--partitions", "print ALTER TABLE ADD PARTITION for the days present" },
    { CLI_OPT_ATHENA, "--no-projection", "CREATE TABLE without partition projection" },
    { CLI_OPT_ATHENA, "--create-database", "also CREATE DATABASE IF NOT EXISTS first" },
};

static const struct opt_help global_opt_help[] = {
    { 0, "-c, --config FILE", "configuration file or s3://BUCKET/KEY (default\n"
                              "$REPART_CONFIG_YAML, the YAML itself, when set; else\n"
                              "$REPART_CONFIG; else " CLI_DEFAULT_CONFIG ")" },
    { 0, "-v, --verbose", "more detail; repeat for debug output" },
    { 0, "-q, --quiet", "only warnings and errors; no progress line" },
    { 0, "--log-format FMT", "text or json: one object per line (timestamp, level,\n"
                             "day, event, numeric fields, msg); default: log_format\n"
                             "in the config" },
    { 0, "--profile NAME", "AWS profile of ~/.aws/config and ~/.aws/credentials\n"
                           "(default $AWS_PROFILE, else \"default\")" },
    { 0, "--region REGION", "AWS region (default: s3.region in the config, else\n"
                            "$AWS_REGION, $AWS_DEFAULT_REGION, the profile's region)" },
    { 0, "--dataset D", "raw, agg or all: the cold-tier datasets to process\n"
                        "(default: datasets in the config, all = both where\n"
                        "present)" },
    { 0, "--sse MODE", "server-side encryption of what repart writes: AES256,\n"
                       "aws:kms or none (config: s3.upload.sse)" },
    { 0, "--sse-kms-key-id ID", "the KMS key of aws:kms (s3.upload.kms_key_id)" },
    { 0, "--bucket-key", "S3 Bucket Key with aws:kms (s3.upload.bucket_key)" },
    { 0, "--storage-class C", "storage class of what repart writes, e.g. STANDARD_IA\n"
                              "(s3.upload.storage_class)" },
    { 0, "--acl ACL", "canned ACL, e.g. bucket-owner-full-control (s3.upload.acl)" },
    { 0, "--expected-bucket-owner ID", "account that must own the repartitioned bucket\n"
                                       "(s3.upload.expected_bucket_owner)" },
    { 0, "--tags K=V&...", "object tags of what repart writes (s3.upload.tags)" },
    { 0, "--version", "print the version and exit" },
    { 0, "-h, --help", "this help; `repart COMMAND --help` for a command" },
};

static void print_opt(FILE *f, const struct opt_help *h)
{
    const char *t = h->text;
    /* Options without a short form line up after "-x, ". */
    const char *indent = h->left[1] == '-' ? "    " : "";
    /* at least two spaces between an option and its text, else a new line */
    if (strlen(indent) + strlen(h->left) > 22)
        fprintf(f, "  %s%s\n  %24s", indent, h->left, "");
    else
        fprintf(f, "  %s%-*s", indent, 24 - (int)strlen(indent), h->left);
    for (;;) {
        const char *nl = strchr(t, '\n');
        if (!nl) {
            fprintf(f, "%s\n", t);
            break;
        }
        fprintf(f, "%.*s\n  %24s", (int)(nl - t), t, "");
        t = nl + 1;
    }
}

void cli_usage(FILE *f)
{
    fprintf(f,
            "Usage: repart [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
            "\n"
            "Merges AWS IoT SiteWise cold-tier Avro files into one file per day, with an\n"
            "index so that a later run takes only what is new.\n"
            "\n"
            "Commands:\n");
    for (const struct cli_command *c = cli_commands; c->name; c++)
        fprintf(f, "  %-10s%s\n", c->name, c->summary);
    fprintf(f, "\nGlobal options (also accepted after the command):\n");
    for (size_t i = 0; i < sizeof global_opt_help / sizeof *global_opt_help; i++)
        print_opt(f, &global_opt_help[i]);
    fprintf(f,
            "\n"
            "Days are YYYY-MM-DD (UTC). Without --from/--to or --days, the config's\n"
            "date_range applies.\n"
            "\n"
            "Exit status: 0 all done; 1 some days failed (each is named, with a command\n"
            "that reruns them); 2 usage or configuration error; 130/143 stopped by\n"
            "SIGINT/SIGTERM.\n"
            "\n"
            "SIGTERM or SIGINT (download, merge, upload, all, event): no new day starts,\n"
            "the days in flight stop before their commit (open multipart uploads are\n"
            "aborted, leases released), the summary with the rerun command and the\n"
            "--report are written, then exit 128 + signal. A second signal ends the\n"
            "process at once. Nothing a stop leaves is committed: the rerun is exact.\n");
}

/* The option words of a help entry's left column: "-c, --config FILE" gives
 * "-c" and "--config". The words point into static storage. */
static size_t left_words(const char *left, const char **words, size_t n, size_t max)
{
    static char store[64][40];
    static size_t used;
    const char *p = left;
    while (*p == '-' && n < max && used < 64) {
        size_t len = strcspn(p, ", ");
        if (len >= sizeof store[0])
            break;
        memcpy(store[used], p, len);
        store[used][len] = '\0';
        words[n++] = store[used++];
        p += len;
        p += strspn(p, ", ");
        if (*p != '-')
            break;
    }
    return n;
}

size_t cli_option_words(const struct cli_command *c, const char **words, size_t max)
{
    size_t n = 0;
    if (!c) {
        for (size_t i = 0; i < sizeof global_opt_help / sizeof *global_opt_help; i++)
            n = left_words(global_opt_help[i].left, words, n, max);
        return n;
    }
    for (size_t i = 0; i < sizeof cmd_opt_help / sizeof *cmd_opt_help; i++)
        if (c->opts & cmd_opt_help[i].bit)
            n = left_words(cmd_opt_help[i].left, words, n, max);
    if (n < max)
        words[n++] = "--help";
    return n;
}

void cli_command_help(FILE *f, const struct cli_command *c)
{
    fprintf(f, "Usage: repart [GLOBAL OPTIONS] %s", c->name);
    if (c->opts & CLI_OPT_RANGE)
        fprintf(f, " [--from D --to D | --days D1,D2,...] [--shard I/N]");
    if (c->opts & CLI_OPT_QUEUE)
        fprintf(f, " --queue URL");
    if (c->opts & CLI_OPT_ONCE)
        fprintf(f, " [--once]");
    if (c->opts & CLI_OPT_DEEP)
        fprintf(f, " [--deep]");
    if (c->opts & CLI_OPT_REPAIR)
        fprintf(f, " [--repair]");
    if (c->opts & CLI_OPT_JSON)
        fprintf(f, " [--json]");
    if (c->opts & CLI_OPT_REPORT)
        fprintf(f, " [--report FILE]");
    if (c->opts & CLI_OPT_ATHENA)
        fprintf(f, " [--table NAME] [--database NAME] [--create-database] [--partitions | "
                   "--no-projection]");
    if (c->opts & CLI_OPT_OBJECT)
        fprintf(f, " [--object s3://BUCKET/KEY]...");
    if (c->args && *c->args)
        fprintf(f, " %s", c->args);
    fprintf(f, "\n\n%s\n", c->details);
    fprintf(f, "\nOptions:\n");
    for (size_t i = 0; i < sizeof cmd_opt_help / sizeof *cmd_opt_help; i++)
        if (c->opts & cmd_opt_help[i].bit)
            print_opt(f, &cmd_opt_help[i]);
    print_opt(f, &(struct opt_help){ 0, "-h, --help", "this help" });
    if (c->opts & CLI_OPT_RANGE) {
        if (strcmp(c->name, "merge") == 0 || strcmp(c->name, "upload") == 0)
            fprintf(f, "\nWithout --from/--to or --days: every day staged in <work_dir>.\n");
        else if (strcmp(c->name, "athena") == 0)
            fprintf(f, "\nWithout --from/--to or --days: projected years from the config's "
                    "date_range;\n--partitions takes every day found in the bucket.\n");
        else
            fprintf(f, "\nWithout --from/--to or --days: the config's date_range.\n");
    }
    fprintf(f, "\nGlobal options: -c FILE, -v, -q, --log-format FMT, --profile NAME,\n"
               "--region REGION, --dataset D, --sse MODE, ... (see `repart --help`).\n");
}

/* ------------------------------------------------------------- parsing -- */

enum {
    OPT_FROM = 256, OPT_TO, OPT_DAYS, OPT_SHARD, OPT_JSON, OPT_REPORT, OPT_QUEUE, OPT_ONCE,
    OPT_DEEP, OPT_REPAIR, OPT_LOG_FORMAT, OPT_VERSION, OPT_TABLE, OPT_DATABASE, OPT_PARTITIONS,
    OPT_NO_PROJECTION, OPT_OBJECT, OPT_PROFILE, OPT_REGION, OPT_DATASET, OPT_CREATE_DB,
    OPT_UPLOAD_FIRST, /* the s3.upload flags, in cli_upload_keys order */
    OPT_SSE = OPT_UPLOAD_FIRST, OPT_KMS_KEY, OPT_BUCKET_KEY, OPT_STORAGE_CLASS, OPT_ACL,
    OPT_EXPECTED_OWNER, OPT_TAGS,
};

const char *const cli_upload_keys[CLI_UPLOAD_KEYS] = {
    "sse", "kms_key_id", "bucket_key", "storage_class", "acl", "expected_bucket_owner", "tags",
};

static const struct option long_opts[] = {
    { "config", required_argument, NULL, 'c' },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "version", no_argument, NULL, OPT_VERSION },
    { "profile", required_argument, NULL, OPT_PROFILE },
    { "region", required_argument, NULL, OPT_REGION },
    { "dataset", required_argument, NULL, OPT_DATASET },
    { "sse", required_argument, NULL, OPT_SSE },
    { "sse-kms-key-id", required_argument, NULL, OPT_KMS_KEY },
    { "bucket-key", no_argument, NULL, OPT_BUCKET_KEY },
    { "storage-class", required_argument, NULL, OPT_STORAGE_CLASS },
    { "acl", required_argument, NULL, OPT_ACL },
    { "expected-bucket-owner", required_argument, NULL, OPT_EXPECTED_OWNER },
    { "tags", required_argument, NULL, OPT_TAGS },
    { "from", required_argument, NULL, OPT_FROM },
    { "to", required_argument, NULL, OPT_TO },
    { "days", required_argument, NULL, OPT_DAYS },
    { "shard", required_argument, NULL, OPT_SHARD },
    { "json", no_argument, NULL, OPT_JSON },
    { "report", required_argument, NULL, OPT_REPORT },
    { "queue", required_argument, NULL, OPT_QUEUE },
    { "once", no_argument, NULL, OPT_ONCE },
    { "deep", no_argument, NULL, OPT_DEEP },
    { "repair", no_argument, NULL, OPT_REPAIR },
    { "table", required_argument, NULL, OPT_TABLE },
    { "database", required_argument, NULL, OPT_DATABASE },
    { "partitions", no_argument, NULL, OPT_PARTITIONS },
    { "no-projection", no_argument, NULL, OPT_NO_PROJECTION },
    { "create-database", no_argument, NULL, OPT_CREATE_DB },
    { "object", required_argument, NULL, OPT_OBJECT },
    { NULL, 0, NULL, 0 },
};

/* Global options are the first fifteen entries. */
#define N_GLOBAL_OPTS 15

static const char *opt_name(int val)
{
    for (const struct option *l = long_opts; l->name; l++)
        if (l->val == val)
            return l->name;
    return "?";
}

static unsigned opt_bit(int val)
{
    switch (val) {
    case OPT_FROM: case OPT_TO: case OPT_DAYS: case OPT_SHARD: return CLI_OPT_RANGE;
    case OPT_JSON: return CLI_OPT_JSON;
    case OPT_REPORT: return CLI_OPT_REPORT;
    case OPT_QUEUE: return CLI_OPT_QUEUE;
    case OPT_ONCE: return CLI_OPT_ONCE;
    case OPT_DEEP: return CLI_OPT_DEEP;
    case OPT_REPAIR: return CLI_OPT_REPAIR;
    case OPT_TABLE: case OPT_DATABASE: case OPT_PARTITIONS: case OPT_NO_PROJECTION:
    case OPT_CREATE_DB:
        return CLI_OPT_ATHENA;
    case OPT_OBJECT: return CLI_OPT_OBJECT;
    default: return 0;
    }
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
    unsigned long v = 0;
    if (!*s || strlen(s) > 9)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int parse_shard(const char *arg, struct cli_opts *o, struct err *e)
{
    const char *slash = strchr(arg, '/');
    char idx[32];
    unsigned n, i;
    if (!slash || (size_t)(slash - arg) >= sizeof idx)
        return err_setk(e, ERR_USAGE, "--shard \"%.40s\": expected I/N, e.g. 0/4", arg);
    memcpy(idx, arg, (size_t)(slash - arg));
    idx[slash - arg] = '\0';
    if (parse_uint(slash + 1, CLI_SHARD_MAX, &n) < 0 || n == 0)
        return err_setk(e, ERR_USAGE, "--shard \"%.40s\": N must be a whole number 1..%d",
                        arg, CLI_SHARD_MAX);
    if (strcmp(idx, "auto") == 0) {
        static const char *const vars[] = { "AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX" };
        const char *var = NULL, *val = NULL;
        for (int k = 0; k < 2 && !val; k++) {
            const char *v = getenv(vars[k]);
            if (v && *v) {
                var = vars[k];
                val = v;
            }
        }
        if (!val)
            return err_setk(e, ERR_USAGE, "--shard auto/%u: neither AWS_BATCH_JOB_ARRAY_INDEX "
                            "nor JOB_COMPLETION_INDEX is set", n);
        if (parse_uint(val, CLI_SHARD_MAX, &i) < 0 || i >= n)
            return err_setk(e, ERR_USAGE, "--shard auto/%u: %s=\"%.20s\" is not an index 0..%u",
                            n, var, val, n - 1);
    } else if (parse_uint(idx, CLI_SHARD_MAX, &i) < 0 || i >= n) {
        return err_setk(e, ERR_USAGE, "--shard \"%.40s\": I must be 0..%u (or auto)", arg, n - 1);
    }
    o->have_shard = 1;
    o->shard_index = i;
    o->shard_count = n;
    return 0;
}

/* A day on the command line: YYYY-MM-DD, or "today" / "today-N" (UTC), so
 * that a schedule (CronJob, EventBridge Scheduler) can name the last days
 * without a shell. */
static int parse_day_arg(const char *arg, struct day *out, struct err *e)
{
    if (strncmp(arg, "today", 5) != 0)
        return day_parse(arg, out, e);
    unsigned back = 0;
    if (arg[5] && (arg[5] != '-' || parse_uint(arg + 6, 36500, &back) < 0))
        return err_setk(e, ERR_USAGE, "\"%.40s\": expected today or today-N (N days back, "
                        "0..36500)", arg);
    *out = day_from_epoch_days((long)(time(NULL) / 86400) - (long)back);
    return 0;
}

static int once_only(int *seen, const char *name, struct err *e)
{
    if (*seen)
        return err_setk(e, ERR_USAGE, "--%s given more than once", name);
    *seen = 1;
    return 0;
}

/* --sse and the other s3.upload flags. */
static int upload_option(int c, const char *arg, struct cli_opts *o, struct err *e)
{
    struct err de;
    struct config_upload u = {0};
    const char *v = c == OPT_BUCKET_KEY ? "true" : arg;
    int k = c - OPT_UPLOAD_FIRST;
    /* the value alone (combinations are checked with the config) */
    if (config_upload_set(&u, cli_upload_keys[k], v, &de) != 0 &&
        !strstr(de.msg, "needs sse"))
        return err_setk(e, ERR_USAGE, "--%s: %s", opt_name(c), de.msg);
    o->upload[k] = v;
    return 0;
}

/* A global option: those without a command bit (opt_bit 0). */
static int global_option(int c, const char *arg, struct cli_opts *o, struct err *e)
{
    switch (c) {
    case 'c':
        if (!*arg)
            return err_setk(e, ERR_USAGE, "--config: empty file name");
        o->config_path = arg;
        o->config_from = CLI_CONFIG_OPTION;
        return 0;
    case 'v':
        o->verbose++;
        return 0;
    case 'q':
        o->quiet = 1;
        return 0;
    case 'h':
        o->help = 1;
        return 0;
    case OPT_VERSION:
        o->version = 1;
        return 0;
    case OPT_PROFILE:
        if (!*arg || strlen(arg) > 128 || strpbrk(arg, "[]\r\n"))
            return err_setk(e, ERR_USAGE, "--profile: not a valid profile name");
        o->profile = arg;
        return 0;
    case OPT_SSE: case OPT_KMS_KEY: case OPT_BUCKET_KEY: case OPT_STORAGE_CLASS: case OPT_ACL:
    case OPT_EXPECTED_OWNER: case OPT_TAGS:
        return upload_option(c, arg, o, e);
    case OPT_REGION:
        if (!awscfg_region_ok(arg))
            return err_setk(e, ERR_USAGE, "--region \"%.64s\": not a region name (e.g. "
                            "us-east-1)", arg);
        o->region = arg;
        return 0;
    case OPT_DATASET:
        if (strcmp(arg, "all") == 0)
            o->dataset = CONFIG_DS_ALL;
        else if (strcmp(arg, "raw") == 0)
            o->dataset = CONFIG_DS_RAW;
        else if (strcmp(arg, "agg") == 0)
            o->dataset = CONFIG_DS_AGG;
        else
            return err_setk(e, ERR_USAGE, "--dataset \"%.40s\": must be raw, agg or all", arg);
        return 0;
    case OPT_LOG_FORMAT:
        if (strcmp(arg, "text") == 0)
            o->log_format = CONFIG_LOG_TEXT;
        else if (strcmp(arg, "json") == 0)
            o->log_format = CONFIG_LOG_JSON;
        else
            return err_setk(e, ERR_USAGE, "--log-format \"%.40s\": must be text or json", arg);
        return 0;
    }
    return err_setk(e, ERR_USAGE, "unexpected option");
}

/* --object s3://BUCKET/KEY, repeatable. */
static int add_object(const char *arg, struct cli_opts *o, struct err *e)
{
    const char *b = arg + 5, *slash = strncmp(arg, "s3://", 5) == 0 ? strchr(b, '/') : NULL;
    if (!slash || slash == b || !slash[1])
        return err_setk(e, ERR_USAGE, "--object \"%.80s\": must be s3://BUCKET/KEY", arg);
    if (o->n_objects == CLI_OBJECTS_MAX)
        return err_setk(e, ERR_USAGE, "--object: more than %d objects", CLI_OBJECTS_MAX);
    const char **v = realloc(o->objects, (o->n_objects + 1) * sizeof *v);
    if (!v)
        return err_set(e, "out of memory");
    o->objects = v;
    o->objects[o->n_objects++] = arg;
    return 0;
}

/* A command option, once handle() has checked that the command takes it. */
static int command_option(int c, const char *arg, struct cli_opts *o, int *seen,
                          struct err *e)
{
    struct err de;
    switch (c) {
    case OPT_FROM:
    case OPT_TO: {
        int *have = c == OPT_FROM ? &o->have_from : &o->have_to;
        if (once_only(have, opt_name(c), e) < 0)
            return -1;
        if (parse_day_arg(arg, c == OPT_FROM ? &o->from : &o->to, &de) < 0)
            return err_setk(e, ERR_USAGE, "--%s %s", opt_name(c), de.msg);
        return 0;
    }
    case OPT_DAYS:
        if (once_only(&o->have_days, "days", e) < 0)
            return -1;
        if (day_list_parse(arg, &o->days, &de) < 0)
            return err_setk(e, ERR_USAGE, "--days: %s", de.msg);
        return 0;
    case OPT_SHARD:
        if (once_only(&seen[0], "shard", e) < 0)
            return -1;
        return parse_shard(arg, o, e);
    case OPT_JSON:
        o->json = 1;
        return 0;
    case OPT_REPORT:
        if (once_only(&seen[1], "report", e) < 0)
            return -1;
        if (!*arg)
            return err_setk(e, ERR_USAGE, "--report: empty file name");
        o->report = arg;
        return 0;
    case OPT_QUEUE:
        if (once_only(&seen[2], "queue", e) < 0)
            return -1;
        if (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0)
            return err_setk(e, ERR_USAGE, "--queue \"%.80s\": must be the queue URL "
                            "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)", arg);
        o->queue = arg;
        return 0;
    case OPT_ONCE:
        o->once = 1;
        return 0;
    case OPT_DEEP:
        o->deep = 1;
        return 0;
    case OPT_REPAIR:
        o->repair = 1;
        return 0;
    case OPT_TABLE:
    case OPT_DATABASE: {
        const char **dst = c == OPT_TABLE ? &o->table : &o->database;
        if (*dst)
            return err_setk(e, ERR_USAGE, "--%s given more than once", opt_name(c));
        if (!*arg)
            return err_setk(e, ERR_USAGE, "--%s: empty name", opt_name(c));
        *dst = arg;
        return 0;
    }
    case OPT_PARTITIONS:
        o->partitions = 1;
        return 0;
    case OPT_NO_PROJECTION:
        o->no_projection = 1;
        return 0;
    case OPT_CREATE_DB:
        o->create_database = 1;
        return 0;
    case OPT_OBJECT:
        return add_object(arg, o, e);
    }
    return err_setk(e, ERR_USAGE, "unexpected option");
}

/* Handles one option (global or command). `cmd` is NULL before the command. */
static int handle(int c, const char *arg, const struct cli_command *cmd, struct cli_opts *o,
                  int *seen, struct err *e)
{
    unsigned bit = opt_bit(c);
    if (bit && !cmd)
        return err_setk(e, ERR_USAGE, "--%s belongs after the command (e.g. repart plan --%s ...)",
                        opt_name(c), opt_name(c));
    if (bit && !(cmd->opts & bit))
        return err_setk(e, ERR_USAGE, "%s does not take --%s (see repart %s --help)", cmd->name,
                        opt_name(c), cmd->name);
    return bit ? command_option(c, arg, o, seen, e) : global_option(c, arg, o, e);
}

/* getopt's error returns: name the option as it was written. */
static int getopt_error(int c, char **argv, int idx, struct err *e)
{
    const char *word = idx > 0 ? argv[idx - 1] : "?";
    if (c == ':') {
        if (optopt && optopt < 256)
            return err_setk(e, ERR_USAGE, "option -%c needs a value", optopt);
        if (optopt)
            return err_setk(e, ERR_USAGE, "option --%s needs a value", opt_name(optopt));
        return err_setk(e, ERR_USAGE, "option %.60s needs a value", word);
    }
    if (optopt && optopt < 256)
        return err_setk(e, ERR_USAGE, "unknown option -%c", optopt);
    if (optopt)   /* a known long option written with =VALUE that takes none */
        return err_setk(e, ERR_USAGE, "option --%s takes no value", opt_name(optopt));
    return err_setk(e, ERR_USAGE, "unknown option %.60s", word);
}

/* Positional arguments. ('+' in the option strings: options after a
 * positional argument are not parsed, so `event FILE --report x` is refused
 * here rather than silently taking --report as a file.) */
static int positionals(struct cli_opts *o, int npos, char **pos, struct err *e)
{
    if (npos > 0) {
        const char *first = pos[0];
        if (!(o->cmd->opts & CLI_OPT_INPUT))
            return err_setk(e, ERR_USAGE, "%s takes no arguments (got \"%.60s\")", o->cmd->name,
                            first);
        if (npos > 1)
            return err_setk(e, ERR_USAGE, "%s takes at most one FILE (got \"%.60s\" and more; "
                            "options go before the FILE)", o->cmd->name, first);
        if (!*first)
            return err_setk(e, ERR_USAGE, "%s: empty file name", o->cmd->name);
        if (o->n_objects)
            return err_setk(e, ERR_USAGE, "%s: FILE and --object do not go together",
                            o->cmd->name);
        o->input = first;
    } else if ((o->cmd->opts & CLI_OPT_INPUT) && !o->n_objects) {
        o->input = "-";
    }
    return 0;
}

/* Options that do not go together, or need another. */
static int combinations(const struct cli_opts *o, struct err *e)
{
    if (o->verbose && o->quiet)
        return err_setk(e, ERR_USAGE, "-q and -v do not go together");
    if (o->have_from != o->have_to)
        return err_setk(e, ERR_USAGE, "%s needs %s as well", o->have_from ? "--from" : "--to",
                        o->have_from ? "--to" : "--from");
    if (o->have_days && o->have_from)
        return err_setk(e, ERR_USAGE, "--days and --from/--to do not go together");
    if (o->have_from && day_cmp(&o->from, &o->to) > 0) {
        char a[DAY_STR_MAX], b[DAY_STR_MAX];
        return err_setk(e, ERR_USAGE, "--from %s is after --to %s", day_format(&o->from, a),
                        day_format(&o->to, b));
    }
    if (o->have_from && day_between(&o->from, &o->to) >= DAY_LIST_MAX)
        return err_setk(e, ERR_USAGE, "--from/--to: more than %d days", DAY_LIST_MAX);
    if (o->partitions && o->no_projection)
        return err_setk(e, ERR_USAGE, "--partitions and --no-projection do not go together "
                        "(create the table with --no-projection, then add partitions with "
                        "--partitions)");
    if ((o->cmd->opts & CLI_OPT_QUEUE) && !o->queue)
        return err_setk(e, ERR_USAGE, "%s needs --queue URL", o->cmd->name);
    return 0;
}

int cli_parse(int argc, char **argv, struct cli_opts *o, struct err *e)
{
    int seen[3] = { 0, 0, 0 };
    memset(o, 0, sizeof *o);
    o->log_format = -1;
    o->dataset = -1;
    o->config_path = CLI_DEFAULT_CONFIG;
    o->config_from = CLI_CONFIG_DEFAULT;
    const char *env = getenv("REPART_CONFIG");
    if (env && *env) {
        o->config_path = env;
        o->config_from = CLI_CONFIG_ENV;
    }
    if (argc < 1)
        return err_setk(e, ERR_USAGE, "no arguments");

    /* Global options, up to the command word ('+': stop at the first
     * non-option; ':' first: report missing values ourselves). */
    opterr = 0;
    optind = 0;   /* GNU: full reinitialisation */
    for (;;) {
        int c = getopt_long(argc, argv, "+:c:vqh", long_opts, NULL);
        if (c == -1)
            break;
        if (c == '?' || c == ':')
            return getopt_error(c, argv, optind, e);
        if (handle(c, optarg, NULL, o, seen, e) < 0)
            return -1;
    }
    if (optind >= argc) {
        if (o->help || o->version)
            return 0;
        return err_setk(e, ERR_USAGE, "no command given (one of plan, download, merge, upload, "
                        "all, event, watch, status, verify, athena)");
    }
    const char *name = argv[optind];
    o->cmd = cli_find(name);
    if (!o->cmd) {
        if (o->help || o->version) {   /* `repart --help foo`: say what is wrong */
            o->help = o->version = 0;
        }
        return err_setk(e, ERR_USAGE, "unknown command \"%.40s\" (see repart --help)", name);
    }

    /* Command options: argv[optind] is the command, parsed as argv[0]. */
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0;
    for (;;) {
        int c = getopt_long(sub_argc, sub_argv, "+:c:vqh", long_opts, NULL);
        if (c == -1)
            break;
        if (c == '?' || c == ':')
            return getopt_error(c, sub_argv, optind, e);
        if (handle(c, optarg, o->cmd, o, seen, e) < 0)
            return -1;
    }
    if (positionals(o, sub_argc - optind, sub_argv + optind, e) < 0)
        return -1;
    if (o->help || o->version)
        return 0;
    return combinations(o, e);
}

void cli_opts_free(struct cli_opts *o)
{
    if (o) {
        day_list_free(&o->days);
        free(o->objects);
        o->objects = NULL;
        o->n_objects = 0;
    }
}

int cli_days_given(const struct cli_opts *o)
{
    return o->have_days || o->have_from;
}

int cli_days(const struct cli_opts *o, const struct config *cfg, struct day_list *out,
             struct err *e)
{
    out->v = NULL;
    out->n = 0;
    if (o->have_days) {
        out->v = malloc((o->days.n ? o->days.n : 1) * sizeof *out->v);
        if (!out->v)
            return err_set(e, "out of memory");
        memcpy(out->v, o->days.v, o->days.n * sizeof *out->v);
        out->n = o->days.n;
    } else if (o->have_from) {
        if (day_list_range(&o->from, &o->to, out, e) < 0)
            return err_prefix(e, "--from/--to: ");
    } else if (cfg && cfg->has_date_range) {
        if (day_list_range(&cfg->date_start, &cfg->date_end, out, e) < 0)
            return err_prefix(e, "%s: date_range: ", cfg->path);
    } else {
        return err_setk(e, ERR_USAGE, "no days given: use --from D --to D or --days D1,D2,... "
                        "or set date_range in %s", cfg ? cfg->path : "the config");
    }
    if (o->have_shard)
        day_list_shard(out, o->shard_index, o->shard_count);
    for (size_t i = 0; cfg && i < out->n; i++)
        out->v[i].ds = cfg->dataset;   /* the days of the dataset this config view serves */
    return 0;
}

/* Appends s to buf[*len..size), keeping room for "..." on overflow. */
static void put(char *buf, size_t size, size_t *len, int *full, const char *s)
{
    size_t n = strlen(s);
    if (*full)
        return;
    if (*len + n + 4 > size) {
        if (*len + 4 <= size) {
            memcpy(buf + *len, "...", 4);
            *len += 3;
        }
        *full = 1;
        return;
    }
    memcpy(buf + *len, s, n + 1);
    *len += n;
}

static int shell_safe(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-=:,+@%",
                    *s))
            return 0;
    return 1;
}

char *cli_rerun_command(const struct cli_opts *o, const struct day *days, size_t n,
                        char *buf, size_t size)
{
    size_t len = 0;
    int full = 0;
    if (!size)
        return buf;
    buf[0] = '\0';
    put(buf, size, &len, &full, "repart");
    if (o->config_path && o->config_from != CLI_CONFIG_DEFAULT) {
        put(buf, size, &len, &full, " -c ");
        if (shell_safe(o->config_path)) {
            put(buf, size, &len, &full, o->config_path);
        } else {
            put(buf, size, &len, &full, "'");
            for (const char *p = o->config_path; *p; p++) {
                char ch[2] = { *p, '\0' };
                put(buf, size, &len, &full, *p == '\'' ? "'\\''" : ch);
            }
            put(buf, size, &len, &full, "'");
        }
    }
    /* Days that came in through events are rerun with `all`. */
    const char *cmd = o->cmd ? o->cmd->name : "all";
    if (!o->cmd || !(o->cmd->opts & CLI_OPT_RANGE))
        cmd = "all";
    put(buf, size, &len, &full, " ");
    put(buf, size, &len, &full, cmd);
    put(buf, size, &len, &full, " --days ");
    for (size_t i = 0; i < n; i++) {
        char d[DAY_STR_MAX];
        if (i)
            put(buf, size, &len, &full, ",");
        put(buf, size, &len, &full, day_format(&days[i], d));
    }
    return buf;
}
