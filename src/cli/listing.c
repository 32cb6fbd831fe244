/* listing.c — the arguments of the listing commands (`awm sizes`, `awm themes`): only
 * `--json` and `--help`, parsed the same way for each. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int cli_parse_listing_args(int argc, char **argv, const char *command, void (*usage)(FILE *out),
                           bool *as_json)
{
    *as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        } else if (!strcmp(argv[i], "--json")) {
            *as_json = true;
        } else {
            fprintf(stderr, "awm %s: unexpected argument '%s'\n", command, argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }
    return -1;
}
