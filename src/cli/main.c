/* main.c — `awm` and `awm-server`: many subcommands. Only dispatch lives here. Built twice
 * (src/cli/meson.build): awm-server with every command, and awm (AWM_CLI_DRAWING_ONLY) with the
 * drawing ones, which hands the others to the awm-server beside it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/commands.h"
#include "util/util.h"

typedef struct {
    const char *name;
    awm_command_fn fn;
    const char *summary;
} command;

/* In awm, a command the awm-server beside it runs (NULL: cli_exec_server). */
#ifdef AWM_CLI_DRAWING_ONLY
#define SERVER_COMMAND(fn) NULL
#else
#define SERVER_COMMAND(fn) fn
#endif

static const command COMMANDS[] = {
    {"render", cmd_render, "draw a poster (PNG, PDF or SVG) from a map definition"},
    {"validate", cmd_validate, "check a map definition and list every problem"},
    {"sizes", cmd_sizes, "list the print sizes"},
    {"themes", cmd_themes, "list the themes"},
    {"geo-bench", cmd_geo_bench, "time loading, projecting and clipping the 10m geography"},
    {"migrate", SERVER_COMMAND(cmd_migrate), "apply the database migrations (DATABASE_URL)"},
    {"serve", SERVER_COMMAND(cmd_serve), "run the API server (maps, exports, jobs, render, web page)"},
    {"jobs", SERVER_COMMAND(cmd_jobs), "inspect print jobs: status ID, requeue"},
    {"maps", SERVER_COMMAND(cmd_maps), "the operator's view of maps: list, delete ID"},
    {"worker", SERVER_COMMAND(cmd_worker), "run an export worker (queue -> render -> storage)"},
    {"places", SERVER_COMMAND(cmd_places), "search the gazetteer as GET /api/places does (builds its index)"},
    {"queue", SERVER_COMMAND(cmd_queue), "queue init --pgboss: create pg-boss 12.5.2's schema on an empty database"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: awm <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\n`awm <command> --help` tells more.\n");
}

#define SERVER_PROGRAM "awm-server"
static char *g_program; /* argv[0], for cli_exec_server */

int cli_exec_server(int argc, char **argv)
{
    char self[PATH_MAX], server[PATH_MAX + 16];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "awm: %s: cannot find this program's folder (/proc/self/exe: %s)\n", argv[0], strerror(errno));
        return AWM_EXIT_FAILURE;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!strcmp(slash + 1, SERVER_PROGRAM)) { /* a build mistake must not exec forever */
        fprintf(stderr, SERVER_PROGRAM ": %s is not built into this program\n", argv[0]);
        return AWM_EXIT_FAILURE;
    }
    *slash = '\0';
    snprintf(server, sizeof server, "%s/" SERVER_PROGRAM, self);
    /* The same arguments, argv[0] too, so `ps` shows what was typed. */
    char **args = awm_xcalloc((size_t)argc + 2, sizeof *args);
    args[0] = g_program;
    memcpy(args + 1, argv, (size_t)argc * sizeof *argv);
    execv(server, args);
    fprintf(stderr, "awm: %s is run by %s, which cannot be started: %s (install both binaries)\n", argv[0], server,
            strerror(errno));
    free(args);
    return AWM_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
    g_program = argv[0];
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
            if (!COMMANDS[i].fn)
                return cli_exec_server(argc - 1, argv + 1);
            awm_log_init(COMMANDS[i].name);
            return COMMANDS[i].fn(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "awm: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return AWM_EXIT_INVALID;
}
