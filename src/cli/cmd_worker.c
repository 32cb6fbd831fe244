/* cmd_worker.c — `awm worker`: the export worker (worker.h); `awm worker --check` tests the
 * database, the API and the storage and exits 0 (all reachable) or 1. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "worker/worker.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: awm worker [--check]\n\n"
            "Take export jobs from the queue, render each poster, store it and report to the API.\n"
            "Runs until SIGTERM or SIGINT; jobs in hand finish or go back to the queue.\n\n"
            "  --check   verify the database (queue present), the API (/api/health) and the\n"
            "            storage are reachable and writable; exit 0 when all are, else 1\n\n"
            "environment: DATABASE_URL (required), API_URL (http://localhost:5173), RENDER_BASE_URL,\n"
            "  EXPORT_DIR (/app/exports), STORAGE (local|s3), S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_PREFIX,\n"
            "  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, WORKER_API_KEY, WORKER_CONCURRENCY (1),\n"
            "  HEALTH_PORT (8081), DEBUG_MODE (false), LOG_LEVEL (info); tuning: WORKER_QUEUE,\n"
            "  WORKER_TEMP_DIR, WORKER_POLL_INTERVAL_MS (2000), WORKER_SHUTDOWN_TIMEOUT_S (60),\n"
            "  WORKER_API_TIMEOUT_S (30), WORKER_API_ATTEMPTS (4), WORKER_API_RETRY_DELAY_MS (500),\n"
            "  WORKER_SUPERVISE_INTERVAL_S (30), WORKER_MAINTAIN_INTERVAL_S (3600), WORKER_RENDER_DPI (300)\n\n"
            "exit status: 0 stopped cleanly (or --check passed), 2 invalid configuration, 1 other failure\n");
}

int cmd_worker(int argc, char **argv)
{
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check")) {
            check = true;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        } else {
            fprintf(stderr, "awm worker: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }
    awm_malloc_bound_arenas(2); /* before any thread: see util.h */
    worker_config cfg;
    awm_error err;
    if (!worker_config_from_env(&cfg, &err)) {
        fprintf(stderr, "awm worker: invalid configuration:\n%s\n", err.msg);
        return AWM_EXIT_INVALID;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "awm worker: libcurl initialisation failed\n");
        return AWM_EXIT_FAILURE;
    }
    int rc;
    if (check)
        rc = worker_check(&cfg, stdout) ? AWM_EXIT_OK : AWM_EXIT_FAILURE;
    else
        rc = worker_run(&cfg) == 0 ? AWM_EXIT_OK : AWM_EXIT_FAILURE;
    curl_global_cleanup();
    return rc;
}
