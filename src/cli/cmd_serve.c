/* cmd_serve.c — `awm serve`: run the API server (see api/api.h) until SIGTERM or SIGINT. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli/commands.h"
#include "queue/queue.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: awm serve\n\n"
            "Run the API server: maps, exports, print jobs, /render, downloads, health and metrics.\n"
            "Applies the database migrations first. Stops gracefully on SIGTERM or SIGINT.\n\n"
            "environment:\n"
            "  DATABASE_URL        PostgreSQL connection string (required)\n"
            "  HOST                address to listen on (default 127.0.0.1; 0.0.0.0 for all)\n"
            "  PORT                port (default 5173)\n"
            "  EXPORT_DIR          finished posters, served at /exports/{file} (default /app/exports)\n"
            "  STORAGE             local (default) or s3 (S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_PREFIX,\n"
            "                      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY); s3 downloads redirect to a\n"
            "                      presigned URL valid EXPORT_URL_EXPIRY_S seconds (default 900)\n"
            "  WORKER_API_KEY      bearer key required on the worker routes when set\n"
            "  QUEUE_BACKEND       awm (default) or pgboss: send export jobs to an existing pg-boss 12.5.x\n"
            "                      queue (schema PGBOSS_SCHEMA, default pgboss, version 26) as the seed's API does\n"
            "  MAX_BODY_BYTES      request body limit (default 1048576)\n"
            "  DB_POOL_SIZE        database connections (default 16)\n"
            "  DB_POOL_TIMEOUT_MS  wait for a free connection before answering 503 (default 5000)\n"
            "  API_SHUTDOWN_GRACE_S  on SIGTERM, wait this long for requests in flight (default 10)\n"
            "  API_MAX_CONNECTIONS (512), API_CONNECTION_TIMEOUT_S (30), RENDER_CONCURRENCY (1), LOG_LEVEL\n\n"
            "exit status: 0 stopped by a signal, 1 start-up failure, 2 bad configuration\n");
}

int cmd_serve(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        }
        fprintf(stderr, "awm serve: unexpected argument '%s'\n", argv[i]);
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    awm_malloc_bound_arenas(2); /* before any thread: see util.h */
    api_config cfg;
    awm_error err = {{0}};
    queue_backend_config qb;
    if (!queue_backend_from_env(&qb, &err) || !queue_backend_select(&qb, &err)) {
        fprintf(stderr, "awm serve: %s\n", err.msg);
        awm_log(AWM_LOG_ERROR, "CONFIG_INVALID", "{s:s}", "error", err.msg);
        return AWM_EXIT_INVALID;
    }
    if (!api_config_from_env(&cfg, &err)) {
        fprintf(stderr, "awm serve: %s\n", err.msg);
        awm_log(AWM_LOG_ERROR, "CONFIG_INVALID", "{s:s}", "error", err.msg);
        return AWM_EXIT_INVALID;
    }
    if (!api_serve(&cfg, &err)) {
        awm_log(AWM_LOG_ERROR, "SERVER_FAILED", "{s:s}", "error", err.msg);
        return AWM_EXIT_FAILURE;
    }
    return AWM_EXIT_OK;
}
