/* cmd_maps.c — `awm maps`: the operator's view of the families' maps, straight in the database
 * (DATABASE_URL): `list` prints summaries (never the full data), `delete ID` removes a map and
 * everything made from it, posters included (the storage variables say where they are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/commands.h"
#include "db/db.h"
#include "storage/storage.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm maps list [--limit N] [--offset N]\n"
                 "       awm maps delete ID\n\n"
                 "list    one line per map, newest first: id, people, places, last change, title\n"
                 "delete  the map, its printable maps, print jobs, queue jobs and poster files\n\n"
                 "DATABASE_URL names the database; STORAGE, EXPORT_DIR and S3_* where the posters are.\n"
                 "exit status: 0 done, 1 failure or map not found, 2 bad usage\n");
}

static bool whole_number(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0)
        return false;
    *out = v;
    return true;
}

int cmd_maps(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? AWM_EXIT_INVALID : AWM_EXIT_OK;
    }
    bool list = !strcmp(argv[1], "list"), del = !strcmp(argv[1], "delete");
    long limit = 50, offset = 0;
    const char *id = NULL;
    for (int i = 2; i < argc; i++) {
        if (list && i + 1 < argc && !strcmp(argv[i], "--limit") && whole_number(argv[i + 1], &limit) && limit > 0)
            i++;
        else if (list && i + 1 < argc && !strcmp(argv[i], "--offset") && whole_number(argv[i + 1], &offset))
            i++;
        else if (del && !id && argv[i][0] != '-')
            id = argv[i];
        else {
            fprintf(stderr, "awm maps: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }
    if (!list && !del) {
        fprintf(stderr, "awm maps: unknown subcommand '%s'\n", argv[1]);
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    if (del && (!id || !awm_is_uuid(id))) {
        fprintf(stderr, "awm maps delete: give the map's id (a uuid)\n");
        return AWM_EXIT_INVALID;
    }
    const char *url = awm_env_str("DATABASE_URL", NULL);
    if (!url) {
        fprintf(stderr, "awm maps: DATABASE_URL is not set\n");
        return AWM_EXIT_INVALID;
    }
    awm_error err = {{0}};
    storage_config sc;
    storage *st = NULL;
    if (del && (!storage_config_from_env(&sc, &err) || !(st = storage_new(&sc, &err)))) {
        fprintf(stderr, "awm maps: %s\n", err.msg);
        return AWM_EXIT_INVALID;
    }
    PGconn *conn = db_connect(url, &err);
    int rc = AWM_EXIT_FAILURE;
    if (!conn)
        goto out;
    if (list) {
        if (api_maps_list(conn, limit, offset, stdout, &err))
            rc = AWM_EXIT_OK;
    } else {
        api_purge_result done;
        if (api_map_purge(conn, st, id, &done, &err)) {
            if (done.found) {
                printf("deleted map %s (%d poster%s, %ld queue job%s)\n", id, done.posters,
                       done.posters == 1 ? "" : "s", done.queue_jobs, done.queue_jobs == 1 ? "" : "s");
                rc = AWM_EXIT_OK;
            } else {
                awm_error_setc(&err, AWM_ENOTFOUND, "map not found: %s", id);
            }
        }
    }
out:
    if (rc != AWM_EXIT_OK)
        fprintf(stderr, "awm maps: %s\n", err.msg);
    if (conn)
        PQfinish(conn);
    storage_free(st);
    return rc;
}
