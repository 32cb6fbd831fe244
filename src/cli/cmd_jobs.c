/* cmd_jobs.c — `awm jobs`: look at print jobs straight in the database (DATABASE_URL):
 * `status ID` prints a job's state and event history; `requeue` re-sends the queue job of
 * print jobs stuck in pending_export whose queue job is missing, failed or cancelled. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "cli/commands.h"
#include "queue/queue.h"
#include "db/db.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm jobs status [--json] ID\n"
                 "       awm jobs requeue [--dry-run]\n\n"
                 "status   a print job's state, file or error, and its events (oldest first)\n"
                 "requeue  re-send the export queue job of every print job still pending whose queue\n"
                 "         job is missing, failed or cancelled; prints one line per job\n\n"
                 "DATABASE_URL names the database.\n"
                 "exit status: 0 done, 1 database error or job not found, 2 bad usage\n");
}

int cmd_jobs(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? AWM_EXIT_INVALID : AWM_EXIT_OK;
    }
    bool json = false, dry_run = false;
    const char *id = NULL;
    bool status = !strcmp(argv[1], "status"), requeue = !strcmp(argv[1], "requeue");
    if (!status && !requeue) {
        fprintf(stderr, "awm jobs: unknown subcommand '%s'\n", argv[1]);
        usage(stderr);
        return AWM_EXIT_INVALID;
    }
    for (int i = 2; i < argc; i++) {
        if (status && !strcmp(argv[i], "--json"))
            json = true;
        else if (requeue && !strcmp(argv[i], "--dry-run"))
            dry_run = true;
        else if (status && !id && argv[i][0] != '-')
            id = argv[i];
        else {
            fprintf(stderr, "awm jobs: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }
    if (status && !id) {
        fprintf(stderr, "awm jobs status: missing the print job ID\n");
        return AWM_EXIT_INVALID;
    }
    const char *url = awm_env_str("DATABASE_URL", NULL);
    if (!url) {
        fprintf(stderr, "awm jobs: DATABASE_URL is not set\n");
        return AWM_EXIT_INVALID;
    }
    awm_error err = {{0}};
    queue_backend_config qb; /* requeue looks for and sends queue jobs on the deployment's queue */
    if (!queue_backend_from_env(&qb, &err) || !queue_backend_select(&qb, &err)) {
        fprintf(stderr, "awm jobs: %s\n", err.msg);
        return AWM_EXIT_INVALID;
    }
    PGconn *conn = db_connect(url, &err);
    if (!conn) {
        fprintf(stderr, "awm jobs: %s\n", err.msg);
        return AWM_EXIT_FAILURE;
    }
    bool ok;
    if (status) {
        bool found;
        ok = api_job_status(conn, id, json, stdout, &found, &err);
    } else {
        int n = 0;
        ok = api_jobs_requeue(conn, dry_run, stdout, &n, &err);
        if (ok)
            printf("%s %d print job%s\n", dry_run ? "would requeue" : "requeued", n, n == 1 ? "" : "s");
    }
    PQfinish(conn);
    if (!ok) {
        fprintf(stderr, "awm jobs: %s\n", err.msg);
        return AWM_EXIT_FAILURE;
    }
    return AWM_EXIT_OK;
}
