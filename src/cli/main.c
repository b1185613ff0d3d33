/* repart: parse the command line, load the configuration, run the command.
 * Exit status: 0 all done, 1 some days failed, 2 usage or configuration error. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "awscfg.h"
#include "cli.h"
#include "config.h"
#include "cmd.h"
#include "config_source.h"
#include "log.h"
#include "report.h"
#include "version.h"

int main(int argc, char **argv)
{
    /* Part buffers (MiBs) are allocated on one thread and freed on another.
     * A fixed mmap threshold keeps them mmapped, so a freed part goes back
     * to the system instead of staying in some thread's arena: peak RSS then
     * follows the parts in flight, not the number of threads. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    struct cli_opts o;
    struct config cfg;
    struct err e;
    err_clear(&e);

    if (cli_parse(argc, argv, &o, &e) < 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        if (o.cmd)
            fprintf(stderr, "Try 'repart %s --help'.\n", o.cmd->name);
        else
            fprintf(stderr, "Try 'repart --help'.\n");
        cli_opts_free(&o);
        return CLI_EXIT_USAGE;
    }
    if (o.version) {
        version_print(stdout);
        cli_opts_free(&o);
        return CLI_EXIT_OK;
    }
    if (o.help) {
        if (o.cmd)
            cli_command_help(stdout, o.cmd);
        else
            cli_usage(stdout);
        cli_opts_free(&o);
        return CLI_EXIT_OK;
    }

    if (awscfg_init(o.profile, &e) < 0 ||
        config_source_load(o.config_path, o.config_from, &cfg, &e) < 0 ||
        config_resolve_region(&cfg, o.region, &e) < 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        if (o.config_from == CLI_CONFIG_DEFAULT && strstr(e.msg, strerror(ENOENT)))
            fprintf(stderr, "Give the configuration with -c FILE (or s3://BUCKET/KEY), "
                            "REPART_CONFIG or REPART_CONFIG_YAML (see config.yml.example).\n");
        cli_opts_free(&o);
        return CLI_EXIT_USAGE;
    }
    if (o.dataset >= 0) {
        cfg.datasets = o.dataset;
        if (o.dataset == CONFIG_DS_AGG && !cfg.s3.cold_tier.agg_prefix[0]) {
            fprintf(stderr, "repart: --dataset agg: %s has no agg prefix (s3.cold_tier.data_prefix "
                    "\"%s\" does not end in raw/): set s3.cold_tier.key_prefix or "
                    "s3.cold_tier.agg_prefix\n", cfg.path, cfg.s3.cold_tier.data_prefix);
            cli_opts_free(&o);
            return CLI_EXIT_USAGE;
        }
    }
    /* a --report that cannot be written is refused before any work */
    if (o.report && report_check_path(o.report, &e) < 0) {
        fprintf(stderr, "repart: %s\n", e.msg);
        cli_opts_free(&o);
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < CLI_UPLOAD_KEYS; i++) {
        if (o.upload[i] && config_upload_set(&cfg.s3.upload, cli_upload_keys[i], o.upload[i],
                                             &e) != 0) {
            fprintf(stderr, "repart: %s (command line and s3.upload of %s)\n", e.msg,
                    cfg.path);
            cli_opts_free(&o);
            return CLI_EXIT_USAGE;
        }
    }
    if (o.log_format < 0)
        o.log_format = cfg.log_format;
    log_setup(stdout, stderr, o.log_format == CONFIG_LOG_JSON ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT,
              o.quiet ? LOG_WARN : o.verbose ? LOG_DEBUG : LOG_INFO, !o.quiet);

    /* the read-only commands over ranges of days run once per dataset; the
     * pipeline commands, event and watch take (day, dataset) work items */
    const char *per_ds[] = {"plan", "status", "verify", "athena", NULL};
    int each = 0;
    for (int i = 0; per_ds[i]; i++)
        each |= strcmp(o.cmd->name, per_ds[i]) == 0;
    int rc = each ? cmd_each_dataset(&o, &cfg, o.cmd->run) : o.cmd->run(&o, &cfg);
    cli_opts_free(&o);
    return rc;
}
