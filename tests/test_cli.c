#include "test.h"
#include <time.h>
#include "cli.h"
#include "cmd.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof *(a)))

static int parse(int argc, char **argv, struct cli_opts *o, struct err *e)
{
    err_clear(e);
    return cli_parse(argc, argv, o, e);
}

static void test_table(void)
{
    static const char *const names[] = { "plan", "download", "merge", "upload", "all", "event",
                                         "watch", "status", "verify", "athena" };
    size_t n = 0;
    for (const struct cli_command *c = cli_commands; c->name; c++)
        n++;
    CHECK_INT(n, 10);
    for (size_t i = 0; i < 10; i++) {
        const struct cli_command *c = cli_find(names[i]);
        REQUIRE(c != NULL);
        CHECK(c->run != NULL);
        CHECK(c->summary && *c->summary);
    }
    CHECK(cli_find("frob") == NULL);
    CHECK(cli_find("plan")->run == cmd_plan);
    CHECK(cli_find("athena")->run == cmd_athena);
}

static void test_globals_and_range(void)
{
    struct cli_opts o;
    struct err e;
    unsetenv("REPART_CONFIG");
    char *a[] = { "repart", "-vv", "--log-format", "json", "plan", "-c", "x.yml",
                  "--from", "2023-01-30", "--to", "2023-02-02", "--json", "--shard", "1/2" };
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    REQUIRE(o.cmd != NULL);
    CHECK_STR(o.cmd->name, "plan");
    CHECK_INT(o.verbose, 2);
    CHECK_INT(o.log_format, CONFIG_LOG_JSON);
    CHECK_STR(o.config_path, "x.yml");
    CHECK_INT(o.config_from, CLI_CONFIG_OPTION);
    CHECK(o.have_from && o.have_to && !o.have_days);
    CHECK(o.from.m == 1 && o.from.d == 30 && o.to.m == 2 && o.to.d == 2);
    CHECK(o.json);
    CHECK(o.have_shard && o.shard_index == 1 && o.shard_count == 2);
    CHECK(cli_days_given(&o));

    struct day_list l;
    REQUIRE(cli_days(&o, NULL, &l, &e) == 0);
    /* 01-30 (epoch day 19387), 01-31, 02-01, 02-02 -> shard 1/2 keeps the odd
     * epoch days: 01-30 and 02-01 */
    REQUIRE(l.n == 2);
    CHECK(l.v[0].m == 1 && l.v[0].d == 30);
    CHECK(l.v[1].m == 2 && l.v[1].d == 1);
    day_list_free(&l);
    cli_opts_free(&o);
}

static void test_defaults_env_config(void)
{
    struct cli_opts o;
    struct err e;
    char *a[] = { "repart", "merge" };
    unsetenv("REPART_CONFIG");
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK_STR(o.config_path, CLI_DEFAULT_CONFIG);
    CHECK_INT(o.config_from, CLI_CONFIG_DEFAULT);
    CHECK_INT(o.log_format, -1);
    CHECK(!cli_days_given(&o));
    cli_opts_free(&o);

    setenv("REPART_CONFIG", "/etc/repart.yml", 1);
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK_STR(o.config_path, "/etc/repart.yml");
    CHECK_INT(o.config_from, CLI_CONFIG_ENV);
    cli_opts_free(&o);
    char *b[] = { "repart", "--config=/x.yml", "merge" };
    REQUIRE(parse(ARGC(b), b, &o, &e) == 0);
    CHECK_STR(o.config_path, "/x.yml");   /* the option beats the environment */
    cli_opts_free(&o);
    unsetenv("REPART_CONFIG");

    /* Days from the config when the command line has none. */
    struct config cfg;
    config_defaults(&cfg);
    strcpy(cfg.path, "c.yml");
    struct day_list l;
    CHECK(cli_days(&o, &cfg, &l, &e) == -1);
    CHECK(strstr(e.msg, "--from") && strstr(e.msg, "--days") && strstr(e.msg, "c.yml"));
    cfg.has_date_range = 1;
    cfg.date_start = (struct day){2023, 12, 30, 0};
    cfg.date_end = (struct day){2024, 1, 2, 0};
    REQUIRE(cli_days(&o, &cfg, &l, &e) == 0);
    CHECK_INT(l.n, 4);
    day_list_free(&l);

    /* --days beats the config. */
    char *c[] = { "repart", "status", "--days", "2023-05-02,2023-05-01" };
    REQUIRE(parse(ARGC(c), c, &o, &e) == 0);
    REQUIRE(cli_days(&o, &cfg, &l, &e) == 0);
    REQUIRE(l.n == 2);
    CHECK(l.v[0].d == 1 && l.v[1].d == 2);
    day_list_free(&l);
    cli_opts_free(&o);
}

static void test_event_and_watch(void)
{
    struct cli_opts o;
    struct err e;
    char *a[] = { "repart", "event" };
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK_STR(o.input, "-");
    cli_opts_free(&o);
    char *b[] = { "repart", "event", "--report", "r.json", "ev.json" };
    REQUIRE(parse(ARGC(b), b, &o, &e) == 0);
    CHECK_STR(o.input, "ev.json");
    CHECK_STR(o.report, "r.json");
    cli_opts_free(&o);
    char *b2[] = { "repart", "event", "--object", "s3://cold/raw/a b", "--object", "s3://c/k" };
    REQUIRE(parse(ARGC(b2), b2, &o, &e) == 0);
    CHECK(o.input == NULL);
    REQUIRE(o.n_objects == 2);
    CHECK_STR(o.objects[0], "s3://cold/raw/a b");
    CHECK_STR(o.objects[1], "s3://c/k");
    cli_opts_free(&o);
    CHECK(o.objects == NULL && o.n_objects == 0);
    char *c[] = { "repart", "watch", "--queue", "https://sqs.eu-west-1.amazonaws.com/1/q", "--once" };
    REQUIRE(parse(ARGC(c), c, &o, &e) == 0);
    CHECK_STR(o.queue, "https://sqs.eu-west-1.amazonaws.com/1/q");
    CHECK(o.once);
    cli_opts_free(&o);
    char *d[] = { "repart", "verify", "--deep", "--repair", "--days", "2023-01-01" };
    REQUIRE(parse(ARGC(d), d, &o, &e) == 0);
    CHECK(o.deep && o.repair && o.have_days);
    cli_opts_free(&o);
}

static void test_help_and_version(void)
{
    struct cli_opts o;
    struct err e;
    char *a[] = { "repart", "--help" };
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK(o.help && o.cmd == NULL);
    cli_opts_free(&o);
    char *b[] = { "repart", "verify", "-h" };
    REQUIRE(parse(ARGC(b), b, &o, &e) == 0);
    CHECK(o.help && o.cmd == cli_find("verify"));
    cli_opts_free(&o);
    /* --help wins over checks that would fail (watch without --queue). */
    char *c[] = { "repart", "watch", "--help" };
    REQUIRE(parse(ARGC(c), c, &o, &e) == 0);
    CHECK(o.help);
    cli_opts_free(&o);
    char *d[] = { "repart", "--version" };
    REQUIRE(parse(ARGC(d), d, &o, &e) == 0);
    CHECK(o.version);
    cli_opts_free(&o);
}

static void test_today(void)
{
    struct cli_opts o;
    struct err e;
    char *a[] = { "repart", "all", "--from", "today-3", "--to", "today" };
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    long today = (long)(time(NULL) / 86400);
    CHECK(day_to_epoch_days(&o.to) == today || day_to_epoch_days(&o.to) == today + 1);
    CHECK_INT(day_between(&o.from, &o.to), 3);
    cli_opts_free(&o);
    char *b[] = { "repart", "all", "--from", "today-x", "--to", "today" };
    CHECK(parse(ARGC(b), b, &o, &e) < 0);
    CHECK(strstr(e.msg, "today-N") != NULL);
    cli_opts_free(&o);
    char *c[] = { "repart", "all", "--from", "todayy", "--to", "today" };
    CHECK(parse(ARGC(c), c, &o, &e) < 0);
    cli_opts_free(&o);
}

struct bad {
    const char *args[8];
    const char *want;
};

static void test_errors(void)
{
    static const struct bad bad[] = {
        { { "repart" }, "no command given" },
        { { "repart", "frob" }, "unknown command \"frob\"" },
        { { "repart", "--frob", "plan" }, "unknown option --frob" },
        { { "repart", "plan", "--frob" }, "unknown option --frob" },
        { { "repart", "plan", "-x" }, "unknown option -x" },
        { { "repart", "plan", "--from" }, "option --from needs a value" },
        { { "repart", "plan", "-c" }, "option -c needs a value" },
        { { "repart", "plan", "--json=yes" }, "option --json takes no value" },
        { { "repart", "merge", "--json" }, "merge does not take --json" },
        { { "repart", "athena", "--json" }, "athena does not take --json" },
        { { "repart", "verify", "--table", "t" }, "verify does not take --table" },
        { { "repart", "athena", "--partitions", "--no-projection" }, "--partitions and --no-projection do not go together" },
        { { "repart", "athena", "--table", "a", "--table", "b" }, "--table given more than once" },
        { { "repart", "plan", "--queue", "https://q" }, "plan does not take --queue" },
        { { "repart", "--from", "2023-01-01", "plan" }, "--from belongs after the command" },
        { { "repart", "plan", "--from", "2023-01-01" }, "--from needs --to" },
        { { "repart", "plan", "--to", "2023-01-01" }, "--to needs --from" },
        { { "repart", "plan", "--from", "2023-1-1", "--to", "2023-01-02" }, "--from \"2023-1-1\"" },
        { { "repart", "plan", "--from", "2023-01-03", "--to", "2023-01-02" }, "--from 2023-01-03 is after --to 2023-01-02" },
        { { "repart", "plan", "--from", "1970-01-01", "--to", "9999-12-31" }, "more than" },
        { { "repart", "plan", "--days", "2023-01-01,x" }, "--days: \"x\"" },
        { { "repart", "plan", "--days", "2023-01-01", "--from", "2023-01-01", "--to", "2023-01-01" }, "do not go together" },
        { { "repart", "plan", "--days", "2023-01-01", "--days", "2023-01-02" }, "--days given more than once" },
        { { "repart", "plan", "--from", "2023-01-01", "--from", "2023-01-01" }, "--from given more than once" },
        { { "repart", "plan", "--shard", "2/2" }, "--shard \"2/2\": I must be 0..1" },
        { { "repart", "plan", "--shard", "0/0" }, "N must be" },
        { { "repart", "plan", "--shard", "1" }, "expected I/N" },
        { { "repart", "plan", "--shard", "-1/2" }, "I must be" },
        { { "repart", "watch" }, "watch needs --queue" },
        { { "repart", "watch", "--queue", "q" }, "must be the queue URL" },
        { { "repart", "plan", "extra" }, "plan takes no arguments" },
        { { "repart", "event", "a", "b" }, "at most one FILE" },
        { { "repart", "event", "" }, "empty file name" },
        { { "repart", "event", "--object", "s3://b/k", "f.json" }, "FILE and --object do not go together" },
        { { "repart", "event", "--object", "b/k" }, "--object \"b/k\": must be s3://BUCKET/KEY" },
        { { "repart", "event", "--object", "s3://b" }, "must be s3://BUCKET/KEY" },
        { { "repart", "event", "--object", "s3://b/" }, "must be s3://BUCKET/KEY" },
        { { "repart", "event", "--object", "s3:///k" }, "must be s3://BUCKET/KEY" },
        { { "repart", "all", "--object", "s3://b/k" }, "all does not take --object" },
        { { "repart", "-v", "-q", "plan" }, "-q and -v" },
        { { "repart", "--log-format", "xml", "plan" }, "--log-format \"xml\"" },
        { { "repart", "-c", "", "plan" }, "--config: empty file name" },
        { { "repart", "verify", "--report", "" }, "--report: empty file name" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *argv[9];
        int argc = 0;
        while (argc < 8 && bad[i].args[argc]) {
            argv[argc] = (char *)bad[i].args[argc];
            argc++;
        }
        argv[argc] = NULL;
        struct cli_opts o;
        struct err e;
        int rc = parse(argc, argv, &o, &e);
        if (rc != -1 || !strstr(e.msg, bad[i].want))
            fprintf(stderr, "case %zu: rc=%d msg=%s\n  want: %s\n", i, rc, e.msg, bad[i].want);
        CHECK(rc == -1);
        CHECK_INT(e.kind, ERR_USAGE);
        CHECK(strstr(e.msg, bad[i].want) != NULL);
        cli_opts_free(&o);
    }
}

static void test_shard_auto(void)
{
    struct cli_opts o;
    struct err e;
    char *a[] = { "repart", "all", "--shard", "auto/4" };
    setenv("AWS_BATCH_JOB_ARRAY_INDEX", "3", 1);
    setenv("JOB_COMPLETION_INDEX", "1", 1);
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK_INT(o.shard_index, 3);
    CHECK_INT(o.shard_count, 4);
    cli_opts_free(&o);
    unsetenv("AWS_BATCH_JOB_ARRAY_INDEX");
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK_INT(o.shard_index, 1);
    cli_opts_free(&o);
    setenv("JOB_COMPLETION_INDEX", "4", 1);
    CHECK(parse(ARGC(a), a, &o, &e) == -1);
    CHECK(strstr(e.msg, "JOB_COMPLETION_INDEX=\"4\"") != NULL);
    cli_opts_free(&o);
    unsetenv("JOB_COMPLETION_INDEX");
    CHECK(parse(ARGC(a), a, &o, &e) == -1);
    cli_opts_free(&o);
}

static void test_rerun_command(void)
{
    struct cli_opts o;
    struct err e;
    struct day days[2] = { {2023, 1, 5, 0}, {2023, 1, 7, 0} };
    char buf[256];
    unsetenv("REPART_CONFIG");
    char *a[] = { "repart", "-c", "/etc/rep art's.yml", "all", "--from", "2023-01-01", "--to", "2023-01-09" };
    REQUIRE(parse(ARGC(a), a, &o, &e) == 0);
    CHECK_STR(cli_rerun_command(&o, days, 2, buf, sizeof buf),
              "repart -c '/etc/rep art'\\''s.yml' all --days 2023-01-05,2023-01-07");
    cli_opts_free(&o);
    char *b[] = { "repart", "event", "-" };
    REQUIRE(parse(ARGC(b), b, &o, &e) == 0);
    CHECK_STR(cli_rerun_command(&o, days, 1, buf, sizeof buf), "repart all --days 2023-01-05");
    cli_opts_free(&o);
    char *c[] = { "repart", "-c", "/etc/r.yml", "upload" };
    REQUIRE(parse(ARGC(c), c, &o, &e) == 0);
    CHECK_STR(cli_rerun_command(&o, days, 2, buf, sizeof buf),
              "repart -c /etc/r.yml upload --days 2023-01-05,2023-01-07");
    /* Truncated, never overflowing. */
    char small[30];
    cli_rerun_command(&o, days, 2, small, sizeof small);
    CHECK(strlen(small) < sizeof small);
    CHECK(strstr(small, "...") != NULL);
    cli_opts_free(&o);
}

static void test_help_texts(void)
{
    /* Every option a command accepts appears in its help, and no other. */
    static const struct { unsigned bit; const char *opt; } opts[] = {
        { CLI_OPT_RANGE, "--from" }, { CLI_OPT_RANGE, "--to" }, { CLI_OPT_RANGE, "--days" },
        { CLI_OPT_RANGE, "--shard" }, { CLI_OPT_JSON, "--json" }, { CLI_OPT_REPORT, "--report" },
        { CLI_OPT_QUEUE, "--queue" }, { CLI_OPT_ONCE, "--once" }, { CLI_OPT_DEEP, "--deep" },
        { CLI_OPT_REPAIR, "--repair" },
    };
    for (const struct cli_command *c = cli_commands; c->name; c++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        REQUIRE(f != NULL);
        cli_command_help(f, c);
        fclose(f);
        for (size_t i = 0; i < sizeof opts / sizeof *opts; i++) {
            char needle[32];
            snprintf(needle, sizeof needle, "%s ", opts[i].opt);
            int present = strstr(text, needle) != NULL;
            int want = (c->opts & opts[i].bit) != 0;
            if (present != want)
                fprintf(stderr, "%s help: %s %s\n", c->name, opts[i].opt,
                        want ? "missing" : "present but not accepted");
            CHECK(present == want);
        }
        free(text);
    }
}

int main(void)
{
    RUN(test_today);
    RUN(test_table);
    RUN(test_globals_and_range);
    RUN(test_defaults_env_config);
    RUN(test_event_and_watch);
    RUN(test_help_and_version);
    RUN(test_errors);
    RUN(test_shard_auto);
    RUN(test_rerun_command);
    RUN(test_help_texts);
    return TEST_EXIT();
}
