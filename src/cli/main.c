/* main.c — `awm`: one binary, many subcommands. Only dispatch lives here. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "util/util.h"

typedef struct {
    const char *name;
    awm_command_fn fn;
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"render", cmd_render, "draw a poster (PNG, PDF or SVG) from a map definition"},
    {"validate", cmd_validate, "check a map definition and list every problem"},
    {"sizes", cmd_sizes, "list the print sizes"},
    {"themes", cmd_themes, "list the themes"},
    {"geo-bench", cmd_geo_bench, "time loading, projecting and clipping the 10m geography"},
    {"migrate", cmd_migrate, "apply the database migrations (DATABASE_URL)"},
    {"serve", cmd_serve, "run the API server (maps, exports, jobs, render, web page)"},
    {"jobs", cmd_jobs, "inspect print jobs: status ID, requeue"},
    {"maps", cmd_maps, "the operator's view of maps: list, delete ID"},
    {"worker", cmd_worker, "run an export worker (queue -> render -> storage)"},
    {"places", cmd_places, "search the gazetteer as GET /api/places does (builds its index)"},
    {"queue", cmd_queue, "queue init --pgboss: create pg-boss 12.5.2's schema on an empty database"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: awm <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n`awm <command> --help` tells more.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return AWM_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (!strcmp(argv[1], COMMANDS[i].name)) {
            awm_log_init(COMMANDS[i].name);
            return COMMANDS[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "awm: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return AWM_EXIT_INVALID;
}
