/* cmd_places.c — `awm places [--limit N] QUERY`: the place search of GET /api/places from the
 * command line. The first run builds the index into the cache folder (deploy/install.sh --warm
 * runs it so a server's first start only reads it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/commands.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm places [--limit N] QUERY\n\n"
                 "Search the gazetteer as GET /api/places does: QUERY is a place name or its start,\n"
                 "in any script, optionally with a country or region after commas\n"
                 "(\"Paris, Texas\"). Prints a JSON array, best match first.\n"
                 "  --limit N   at most N places (1-50, default 10)\n");
}

int cmd_places(int argc, char **argv)
{
    long limit = 10;
    const char *q = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            char *end;
            limit = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || limit < 1 || limit > 50) {
                fprintf(stderr, "awm places: --limit must be a whole number from 1 to 50\n");
                return AWM_EXIT_INVALID;
            }
        } else if (!q && argv[i][0] != '-') {
            q = argv[i];
        } else {
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }
    if (!q) {
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    awm_error err = {{0}};
    char *text = api_places_search_json(q, (int)limit, &err);
    if (!text) {
        fprintf(stderr, "awm places: %s\n", err.msg);
        return err.code == AWM_EINVALID ? AWM_EXIT_INVALID : AWM_EXIT_FAILURE;
    }
    puts(text);
    free(text);
    return AWM_EXIT_OK;
}
