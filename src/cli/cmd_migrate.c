/* cmd_migrate.c — `awm migrate`: apply the SQL migrations in db/migrations to the database
 * named by DATABASE_URL. Each applied file is logged (MIGRATION_APPLIED); safe to run from
 * several processes at once and to re-run. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "db/db.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm migrate [--dir DIR]\n\n"
                 "Apply the SQL migrations not yet applied to the database in DATABASE_URL\n"
                 "(libpq connection string), in file-name order, each in a transaction.\n"
                 "DIR defaults to <assets>/db/migrations. Logs one JSON line per applied file\n"
                 "and a summary (MIGRATIONS_DONE).\n\n"
                 "exit status: 0 done, 1 database or migration error, 2 bad usage\n");
}

int cmd_migrate(int argc, char **argv)
{
    char dir[4096] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        }
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            if (snprintf(dir, sizeof dir, "%s", argv[++i]) >= (int)sizeof dir) {
                fprintf(stderr, "awm migrate: --dir path is too long (%zu bytes at most)\n", sizeof dir - 1);
                return AWM_EXIT_INVALID;
            }
            continue;
        }
        fprintf(stderr, "awm migrate: unexpected argument '%s'\n", argv[i]);
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    if (!dir[0] && !awm_asset_path(dir, sizeof dir, "db/migrations")) {
        fprintf(stderr, "awm migrate: assets directory path too long\n");
        return AWM_EXIT_FAILURE;
    }
    const char *url = awm_env_str("DATABASE_URL", NULL);
    if (!url) {
        awm_log(AWM_LOG_ERROR, "MIGRATIONS_FAILED", "{s:s}", "error", "DATABASE_URL is not set");
        return AWM_EXIT_INVALID;
    }
    awm_error err = {{0}};
    PGconn *conn = db_connect(url, &err);
    if (!conn) {
        awm_log(AWM_LOG_ERROR, "MIGRATIONS_FAILED", "{s:s}", "error", err.msg);
        return AWM_EXIT_FAILURE;
    }
    int applied = 0;
    bool ok = db_migrate(conn, dir, &applied, &err);
    PQfinish(conn);
    if (!ok) {
        awm_log(AWM_LOG_ERROR, "MIGRATIONS_FAILED", "{s:s, s:i}", "error", err.msg, "applied", applied);
        return AWM_EXIT_FAILURE;
    }
    awm_log(AWM_LOG_INFO, "MIGRATIONS_DONE", "{s:i, s:s}", "applied", applied, "dir", dir);
    return AWM_EXIT_OK;
}
