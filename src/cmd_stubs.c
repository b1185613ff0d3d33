/* Commands not implemented yet. To implement one, write src/cmd_<name>.c
 * with its cmd_<name> function and delete its line here. */
#include <stdio.h>

#include "cmd.h"

static int not_yet(const char *name)
{
    fprintf(stderr, "repart: %s: not implemented yet\n", name);
    return CLI_EXIT_USAGE;
}

#define STUB(name) \
    int cmd_##name(const struct cli_opts *o, const struct config *cfg) \
    { (void)o; (void)cfg; return not_yet(#name); }

STUB(status)
STUB(verify)
STUB(athena)
