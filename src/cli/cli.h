/* cli: the command line. Parses
 *
 *   repart [GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS] [ARGS]
 *
 * with getopt_long (global options are also accepted after the command),
 * into a struct cli_opts, and holds the table of commands. Each command's
 * run function lives in src/cmd_<name>.c (see cmd.h) and returns the exit
 * status: CLI_EXIT_OK, CLI_EXIT_FAILED (some days failed) or CLI_EXIT_USAGE.
 *
 * Nothing here prints except cli_usage / cli_command_help, which write the
 * help texts to the FILE they are given. */
#ifndef REPART_CLI_H
#define REPART_CLI_H

#include <stdio.h>
#include "config.h"
#include "day.h"
#include "err.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILED = 1, CLI_EXIT_USAGE = 2 };

#define CLI_DEFAULT_CONFIG "./config.yml"
#define CLI_SHARD_MAX 100000

/* Where the config path came from. */
enum { CLI_CONFIG_DEFAULT = 0, CLI_CONFIG_ENV = 1, CLI_CONFIG_OPTION = 2 };

struct cli_command;

#define CLI_UPLOAD_KEYS 7
/* The s3.upload keys of cli_opts.upload, in order. */
extern const char *const cli_upload_keys[CLI_UPLOAD_KEYS];

struct cli_opts {
    /* Global options. */
    const char *config_path;    /* -c FILE, else $REPART_CONFIG, else CLI_DEFAULT_CONFIG */
    int config_from;            /* CLI_CONFIG_* */
    int verbose;                /* number of -v */
    int quiet;                  /* -q */
    int log_format;             /* --log-format: CONFIG_LOG_TEXT/JSON, or -1 when not given
                                   (main then takes the config's log_format) */
    int help;                   /* -h/--help: print help (of the command, if any) and exit 0 */
    int version;                /* --version */
    const char *profile;        /* --profile NAME (NULL: AWS_PROFILE / "default") */
    const char *region;         /* --region REGION (checked; NULL when not given) */
    int dataset;                /* --dataset: CONFIG_DS_*, or -1 when not given (main
                                   then keeps the config's datasets) */
    const char *upload[7];      /* --sse, --sse-kms-key-id, --bucket-key, --storage-class,
                                   --acl, --expected-bucket-owner, --tags: the value for
                                   s3.upload's cli_upload_keys[i], NULL when not given */

    const struct cli_command *cmd;  /* NULL only with help/version */

    /* Days (plan, download, merge, upload, all, status, verify). */
    int have_from, have_to;     /* --from D / --to D (always both, checked) */
    struct day from, to;
    int have_days;              /* --days D1,D2,...: sorted, unique */
    struct day_list days;       /* owned (cli_opts_free) */
    int have_shard;             /* --shard I/N: 0 <= shard_index < shard_count */
    unsigned shard_index, shard_count;

    int json;                   /* --json (plan, status, verify) */
    const char *report;         /* --report FILE (download, merge, upload, all, event, verify) */
    const char *queue;          /* --queue URL (watch; required there) */
    int once;                   /* --once (watch) */
    int deep;                   /* --deep (verify) */
    int repair;                 /* --repair (verify) */
    const char *input;          /* event: FILE, or "-" for stdin (the default); NULL
                                   when --object names the objects instead */
    const char **objects;       /* --object s3://BUCKET/KEY (event; repeatable): the
                                   arguments as given, checked to have that form;
                                   the array is owned (cli_opts_free) */
    size_t n_objects;
    const char *table;          /* --table NAME (athena) */
    const char *database;       /* --database NAME (athena) */
    int partitions;             /* --partitions (athena) */
    int no_projection;          /* --no-projection (athena) */
    int create_database;        /* --create-database (athena) */
};

typedef int (*cli_run_fn)(const struct cli_opts *o, const struct config *cfg);

struct cli_command {
    const char *name;
    cli_run_fn  run;
    unsigned    opts;           /* CLI_OPT_* accepted */
    const char *args;           /* positional arguments for the usage line ("" if none) */
    const char *summary;        /* one line for `repart --help` */
    const char *details;        /* paragraph for `repart COMMAND --help` */
};

enum {
    CLI_OPT_RANGE  = 1 << 0,    /* --from --to --days --shard */
    CLI_OPT_JSON   = 1 << 1,
    CLI_OPT_REPORT = 1 << 2,
    CLI_OPT_QUEUE  = 1 << 3,
    CLI_OPT_ONCE   = 1 << 4,
    CLI_OPT_DEEP   = 1 << 5,
    CLI_OPT_REPAIR = 1 << 6,
    CLI_OPT_INPUT  = 1 << 7,    /* one optional positional FILE|- */
    CLI_OPT_ATHENA = 1 << 8,    /* --table --database --partitions --no-projection */
    CLI_OPT_OBJECT = 1 << 9,    /* --object s3://BUCKET/KEY, repeatable */
};

#define CLI_OBJECTS_MAX 10000

/* The commands, in help order, terminated by an entry with name NULL. */
extern const struct cli_command cli_commands[];

const struct cli_command *cli_find(const char *name);

/* Parses argv. On error (kind ERR_USAGE) the message names the option or
 * command; the caller prints it and exits CLI_EXIT_USAGE. Reads the
 * environment for REPART_CONFIG and, for --shard auto/N,
 * AWS_BATCH_JOB_ARRAY_INDEX then JOB_COMPLETION_INDEX. Uses getopt's global
 * state (not thread-safe; call once from main). `argv` must outlive `o`.
 * Free with cli_opts_free, also after an error. */
int  cli_parse(int argc, char **argv, struct cli_opts *o, struct err *e);
void cli_opts_free(struct cli_opts *o);

/* The days to work on: --days, else --from/--to, else the config's
 * date_range, else an error (ERR_USAGE) saying how to give them; then this
 * shard's share (day_list_shard). The list may be empty after sharding.
 * Caller frees *out with day_list_free. */
int cli_days(const struct cli_opts *o, const struct config *cfg, struct day_list *out,
             struct err *e);

/* 1 when the command line named days (--days or --from/--to); merge and
 * upload then work on those, otherwise on whatever the work dir holds. */
int cli_days_given(const struct cli_opts *o);

/* Writes into buf a command that reruns `o`'s command on just `days`
 * (for the "some days failed" summary), e.g.
 *   repart -c /etc/repart.yml all --days 2023-01-05,2023-01-07
 * quoting the config path for a POSIX shell when needed. Returns buf
 * (truncated with "..." if it does not fit). */
char *cli_rerun_command(const struct cli_opts *o, const struct day *days, size_t n,
                        char *buf, size_t size);

/* Help texts. */
void cli_usage(FILE *f);
void cli_command_help(FILE *f, const struct cli_command *c);

/* The option words `c` accepts (NULL: the global ones), e.g. "--from",
 * "-c", "--config", for shell completion; returns how many were stored
 * (at most max). From the same tables as the help texts. */
size_t cli_option_words(const struct cli_command *c, const char **words, size_t max);

#endif
