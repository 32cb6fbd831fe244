/* commands.h — the subcommands of the `awm` binary. Each lives in its own cmd_*.c and is a
 * thin layer over one part's interface: argument parsing, exit codes, nothing else. */
#ifndef AWM_CLI_COMMANDS_H
#define AWM_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes shared by every command. */
enum { AWM_EXIT_OK = 0, AWM_EXIT_FAILURE = 1, AWM_EXIT_INVALID = 2 };

typedef int (*awm_command_fn)(int argc, char **argv);

/* Replaces this process with the awm-server beside this binary, running the command `argv`
 * (argv[0] its name) with the program name typed; returns only on failure, with the exit code.
 * How `awm` runs what it leaves out (main.c, cmd_render.c). */
int cli_exec_server(int argc, char **argv);

/* Arguments of a listing command (`--json`, `--help`): -1 to go on, else the exit code
 * (after printing the usage for --help or a bad argument). */
int cli_parse_listing_args(int argc, char **argv, const char *command, void (*usage)(FILE *out),
                           bool *as_json);

int cmd_render(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_sizes(int argc, char **argv);
int cmd_themes(int argc, char **argv);
int cmd_geo_bench(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_jobs(int argc, char **argv);
int cmd_maps(int argc, char **argv);
int cmd_worker(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_places(int argc, char **argv);

#endif
