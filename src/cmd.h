/* cmd: the commands' entry points, one per file src/cmd_<name>.c.
 * Each returns the process exit status (CLI_EXIT_OK, CLI_EXIT_FAILED when
 * some days failed, CLI_EXIT_USAGE) and may print: commands are the layer
 * that talks to the user. Commands not written yet are stubs in
 * src/cmd_stubs.c; replacing one means deleting its stub there. */
#ifndef REPART_CMD_H
#define REPART_CMD_H

#include "cli.h"
#include "config.h"

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

#endif
