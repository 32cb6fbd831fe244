/* cmd_queue.c — `awm queue init --pgboss`: give an empty database pg-boss 12.5.2's own schema
 * (version 26), for an install that runs AWM workers on the pgboss backend with no Node at all.
 * A database that has the schema is never touched (AWM does not create over or migrate it). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "db/db.h"
#include "queue/queue.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm queue init --pgboss\n\n"
                 "Create pg-boss 12.5.2's schema (version %d) in schema PGBOSS_SCHEMA (default %s) of the\n"
                 "database in DATABASE_URL, exactly as pg-boss's own start() creates it on an empty database.\n"
                 "Refused when that schema exists: AWM never creates over or migrates a pg-boss schema.\n"
                 "Also creates the export queue (export-map) with pg-boss's defaults, as the seed's API does.\n\n"
                 "exit status: 0 created, 1 database error or schema present, 2 bad usage\n",
            QUEUE_PGBOSS_SCHEMA_VERSION, QUEUE_PGBOSS_DEFAULT_SCHEMA);
}

int cmd_queue(int argc, char **argv)
{
    bool init = false, pgboss = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        }
        if (!strcmp(argv[i], "init") && !init)
            init = true;
        else if (!strcmp(argv[i], "--pgboss"))
            pgboss = true;
        else {
            fprintf(stderr, "awm queue: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }
    if (!init || !pgboss) {
        fprintf(stderr, "awm queue: only `awm queue init --pgboss` exists (AWM's own queue comes with `awm migrate`)\n");
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    const char *url = awm_env_str("DATABASE_URL", NULL);
    queue_backend_config qb;
    awm_error err = {{0}};
    if (!url) {
        fprintf(stderr, "awm queue: DATABASE_URL is not set\n");
        return AWM_EXIT_INVALID;
    }
    if (!queue_backend_from_env(&qb, &err)) {
        fprintf(stderr, "awm queue: %s\n", err.msg);
        return AWM_EXIT_INVALID;
    }
    /* The export queue too, as the seed's API creates it (createQueue with no options), so a
     * worker started before the first export finds it. */
    qb.kind = QUEUE_BACKEND_PGBOSS;
    PGconn *conn = db_connect(url, &err);
    bool ok = conn && queue_pgboss_install(conn, qb.pgboss_schema, &err) && queue_backend_select(&qb, &err) &&
              queue_create(conn, QUEUE_EXPORT, NULL, &err);
    if (conn)
        PQfinish(conn);
    if (!ok) {
        awm_log(AWM_LOG_ERROR, "PGBOSS_INIT_FAILED", "{s:s, s:s}", "schema", qb.pgboss_schema, "error", err.msg);
        return AWM_EXIT_FAILURE;
    }
    awm_log(AWM_LOG_INFO, "PGBOSS_SCHEMA_CREATED", "{s:s, s:i}", "schema", qb.pgboss_schema, "version",
            QUEUE_PGBOSS_SCHEMA_VERSION);
    return AWM_EXIT_OK;
}
