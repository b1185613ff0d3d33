/* cmd: the commands' entry points, one per file src/cmd_<name>.c.
 * Each returns the process exit status (CLI_EXIT_OK, CLI_EXIT_FAILED when
 * some days failed, CLI_EXIT_USAGE) and may print: commands are the layer
 * that talks to the user. */
#ifndef REPART_CMD_H
#define REPART_CMD_H

#include <stddef.h>
#include "cli.h"
#include "config.h"
#include "pipeline.h"
#include "runtime.h"

int cmd_plan(const struct cli_opts *o, const struct config *cfg);
int cmd_download(const struct cli_opts *o, const struct config *cfg);
int cmd_merge(const struct cli_opts *o, const struct config *cfg);
int cmd_upload(const struct cli_opts *o, const struct config *cfg);
int cmd_all(const struct cli_opts *o, const struct config *cfg);
int cmd_event(const struct cli_opts *o, const struct config *cfg);
int cmd_watch(const struct cli_opts *o, const struct config *cfg);
int cmd_status(const struct cli_opts *o, const struct config *cfg);
int cmd_verify(const struct cli_opts *o, const struct config *cfg);
int cmd_athena(const struct cli_opts *o, const struct config *cfg);

/* The days of the command line (cli_days) and an S3 runtime for them.
 * Returns CLI_EXIT_OK with both set up (the caller frees them), or the exit
 * status to return after printing why (nothing left to free). */
int cmd_open_days(const struct cli_opts *o, const struct config *cfg, struct day_list *days,
                  struct runtime *rt, int runtime_flags);

/* Runs `mode` for days[0..n) on an open runtime (all, event, watch share it):
 * pipeline_run into results[0..n) (the caller allocates them) with the
 * series filter rt->filter, then the summary line (named after o->cmd),
 * each failed day with its error and the command that reruns them, and the
 * --report file when o->report is set.
 * *n_failed gets the failed days. Returns the exit status: CLI_EXIT_OK, or
 * CLI_EXIT_FAILED (a day failed or the report could not be written). */
/* The datasets a run over ranges of days processes, into ds[2] (raw before
 * agg): those the config selects, without agg when datasets is "all" and
 * nothing is under the agg prefix nor committed under the agg index prefix
 * (rt may be NULL: no such check). When that cannot be listed, agg is left
 * out with a warning, except for read_only commands (verify, status, plan,
 * athena), which check it rather than pass without it. */
int cmd_datasets(const struct config *cfg, struct runtime *rt, int read_only, int ds[2]);

/* Runs fn (plan, status, verify, athena) once per dataset cmd_datasets
 * selects, with that dataset's config view; a header line names each
 * dataset in text output when there are two. Returns the worst exit code. */
int cmd_each_dataset(const struct cli_opts *o, const struct config *cfg, cli_run_fn fn);

/* The keys events count: the cold-tier bucket, and the prefixes of the
 * datasets the config selects. */
struct event_filter;
void cmd_event_filter(const struct config *cfg, struct event_filter *f);

int cmd_run_days(const struct cli_opts *o, const struct config *cfg, struct runtime *rt,
                 enum pipeline_mode mode, const struct day *days, size_t n,
                 struct day_result *results, size_t *n_failed);

#endif
