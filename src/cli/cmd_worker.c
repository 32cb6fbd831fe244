/* cmd_worker.c — placeholder until its part lands. */
#include <stdio.h>

#include "cli/commands.h"

int cmd_worker(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "awm: this command is not built yet\n");
    return AWM_EXIT_FAILURE;
}
