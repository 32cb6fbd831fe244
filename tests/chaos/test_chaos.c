/* test_chaos.c — nothing lost, nothing duplicated while everything crashes.
 *
 * PostgreSQL + `awm serve` + 3 `awm worker`s (real processes). Exports of a small poster at a
 * low DPI are submitted through the HTTP API while a controller, at random moments from a fixed
 * seed, SIGKILLs a worker (and starts a new one), restarts the API server (SIGKILL or SIGTERM,
 * alternately) and restarts PostgreSQL in immediate mode (a crash: no checkpoint, recovery on
 * start). The queue runs with a short expiry and retry delay so jobs held by a killed worker come
 * back quickly. Then the chaos stops and the system drains. Checked at the end:
 *   - every print job is export_complete, with exactly one `completed` event;
 *   - its event history is a legal path of the state machine (created, then started /
 *     failed / retrying / completed with matching from/to states, ending in completed);
 *   - its file exists, passes render_verify_png and is the only file named after the job;
 *   - no file in the export directory belongs to no job; no temp file (AWM_TEMP_PREFIX) and no
 *     worker work directory is left;
 *   - every queue job is completed, and there is exactly one per print job.
 * Prints a summary (jobs, kills, restarts, retries, time).
 *
 * Environment: CHAOS_JOBS (default 300), CHAOS_SEED (default 20261128), CHAOS_WORKERS (3),
 * CHAOS_DPI (20). AWM_KEEP_TEST_DIR=1 keeps the logs. */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "map/map.h"
#include "render/render.h"
#include "test.h"
#include "db/db.h"
#include "util/util.h"
#include "worker/worker_harness.h"

#define MAX_WORKERS 8

/* A precondition: without it the rest cannot run. */
#define REQUIRE(cond)                                                                          \
    do {                                                                                     \
        bool ok_ = (cond);                                                                   \
        CHECK_MSG(ok_, "%s", #cond);                                                         \
        if (!ok_) {                                                                          \
            wh_fixture_stop(&c.fx);                                                           \
            return TEST_EXIT();                                                              \
        }                                                                                    \
    } while (0)
#define SIZE_KEY "8x10"

typedef struct {
    wh_fixture fx;
    wh_proc workers[MAX_WORKERS];
    char worker_names[MAX_WORKERS][32]; /* their log is <fx.dir>/<name>.log */
    int worker_count, worker_serial;
    const char *dpi_env;
    int kills, api_restarts, pg_restarts;
    int submit_retries;   /* POSTs answered 503 / not at all, sent again */
    int submit_unexpected; /* other non-202 answers (reported) */
    unsigned seed;
    atomic_bool stop;
} chaos;

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : fallback;
}

static bool start_worker(chaos *c, int slot)
{
    char name[32];
    snprintf(name, sizeof name, "worker-%d", ++c->worker_serial);
    snprintf(c->worker_names[slot], sizeof c->worker_names[slot], "%s", name);
    /* Short API retries so a worker notices an API restart quickly; LOG_LEVEL keeps logs small. */
    const char *extra[] = {c->dpi_env, "WORKER_API_ATTEMPTS=3", "WORKER_API_TIMEOUT_S=10", NULL};
    return wh_worker_start(&c->fx, &c->workers[slot], name, extra, NULL);
}

static void kill_worker(chaos *c, unsigned *seed)
{
    int slot = (int)(rand_r(seed) % (unsigned)c->worker_count);
    wh_stop(&c->workers[slot], SIGKILL, 5); /* reaped, so its work directory counts as stale */
    c->kills++;
    if (!start_worker(c, slot))
        fprintf(stderr, "chaos: cannot start a replacement worker\n");
}

static void restart_api(chaos *c)
{
    /* Alternate a crash and a graceful stop. */
    wh_stop(&c->fx.api, c->api_restarts % 2 ? SIGTERM : SIGKILL, 20);
    c->api_restarts++;
    if (!wh_api_start(&c->fx))
        fprintf(stderr, "chaos: awm serve did not come back\n");
}

static void restart_pg(chaos *c)
{
    awm_error err = {{0}};
    if (!pg_harness_restart(c->fx.pg, true, &err))
        fprintf(stderr, "chaos: PostgreSQL restart failed: %s\n", err.msg);
    c->pg_restarts++;
}

/* At random moments (from the seed): a worker SIGKILLed and replaced (half the time), the API
 * server restarted (three in ten), PostgreSQL restarted in immediate mode (two in ten). */
static void *chaos_controller(void *arg)
{
    chaos *c = arg;
    double next = awm_now_seconds() + 1.0 + (rand_r(&c->seed) % 2000) / 1000.0;
    while (!atomic_load(&c->stop)) {
        if (awm_now_seconds() < next) {
            tk_sleep_ms(50);
            continue;
        }
        unsigned pick = rand_r(&c->seed) % 10;
        if (pick < 5)
            kill_worker(c, &c->seed);
        else if (pick < 8)
            restart_api(c);
        else
            restart_pg(c);
        next = awm_now_seconds() + 0.5 + (rand_r(&c->seed) % 2000) / 1000.0;
    }
    return NULL;
}

/* POST /api/export until it is accepted (the API or the database may be down for a moment). */
static bool submit(chaos *c, char id[64])
{
    char url[256], body[256];
    snprintf(url, sizeof url, "%s/api/export", c->fx.api_url);
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"paperSizeName\":\"" SIZE_KEY "\",\"widthInches\":8,"
             "\"heightInches\":10}", c->fx.user_map_id);
    double give_up = awm_now_seconds() + 120;
    while (awm_now_seconds() < give_up) {
        json_t *answer = NULL;
        long status = wh_http("POST", url, body, NULL, &answer);
        const char *pj = json_string_value(json_object_get(answer, "printJobId"));
        if (status == 202 && pj) {
            snprintf(id, 64, "%s", pj);
            json_decref(answer);
            return true;
        }
        json_decref(answer);
        if (status == 0 || status == 503)
            c->submit_retries++;
        else {
            c->submit_unexpected++;
            fprintf(stderr, "chaos: POST /api/export answered %ld (sent again)\n", status);
        }
        tk_sleep_ms(200);
    }
    return false;
}

static PGresult *query(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "chaos: query failed: %s: %s\n", sql, PQerrorMessage(conn));
        PQclear(res);
        return NULL;
    }
    return res;
}

static long count_where(PGconn *conn, const char *sql)
{
    PGresult *res = query(conn, sql);
    long n = res && PQntuples(res) ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return n;
}

static PGconn *connect_db(chaos *c)
{
    awm_error err = {{0}};
    for (int i = 0; i < 50; i++) {
        PGconn *conn = db_connect(pg_harness_conninfo(c->fx.pg), &err);
        if (conn)
            return conn;
        tk_sleep_ms(200);
    }
    fprintf(stderr, "chaos: cannot connect: %s\n", err.msg);
    return NULL;
}

/* One job's events (oldest first) form a legal path: created → (started | retrying) → … →
 * completed, each event leaving from the state the previous one entered. */
static bool legal_history(PGresult *res, int first, int n, char *why, size_t why_size)
{
    const char *state = NULL;
    int completed = 0;
    for (int i = first; i < first + n; i++) {
        const char *from = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2);
        const char *to = PQgetvalue(res, i, 3), *type = PQgetvalue(res, i, 4);
        bool ok;
        if (i == first)
            ok = !strcmp(type, "created") && !from && !strcmp(to, "pending_export");
        else if (!from || strcmp(from, state))
            ok = false;
        else if (!strcmp(type, "started"))
            ok = !strcmp(from, "pending_export") && !strcmp(to, "exporting");
        else if (!strcmp(type, "retrying"))
            ok = !strcmp(from, "export_failed") && !strcmp(to, "exporting");
        else if (!strcmp(type, "failed"))
            ok = (!strcmp(from, "exporting") || !strcmp(from, "export_failed")) && !strcmp(to, "export_failed");
        else if (!strcmp(type, "completed"))
            ok = !strcmp(from, "exporting") && !strcmp(to, "export_complete");
        else
            ok = false;
        if (!ok) {
            snprintf(why, why_size, "event %d: %s %s -> %s after state %s", i - first, type, from ? from : "(none)",
                     to, state ? state : "(none)");
            return false;
        }
        completed += !strcmp(type, "completed");
        state = to;
    }
    if (completed != 1 || !state || strcmp(state, "export_complete")) {
        snprintf(why, why_size, "%d completed events, ends in %s", completed, state ? state : "(none)");
        return false;
    }
    return true;
}

/* Names in `dir` containing `needle` (how many; the last in *found). */
static int files_naming(const char *dir, const char *needle, char *found, size_t size)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, needle)) {
            n++;
            snprintf(found, size, "%s", e->d_name);
        }
    if (d)
        closedir(d);
    return n;
}

int main(void)
{
    awm_log_init("test_chaos");
    chaos c = {0};
    int jobs = (int)env_long("CHAOS_JOBS", 300);
    const unsigned first_seed = (unsigned)env_long("CHAOS_SEED", 20261128);
    unsigned seed = first_seed;
    c.worker_count = (int)env_long("CHAOS_WORKERS", 3);
    if (c.worker_count < 1 || c.worker_count > MAX_WORKERS)
        c.worker_count = 3;
    long dpi = env_long("CHAOS_DPI", 20);
    char dpi_env[64];
    snprintf(dpi_env, sizeof dpi_env, "WORKER_RENDER_DPI=%ld", dpi);
    c.dpi_env = dpi_env;
    double t0 = awm_now_seconds();

    REQUIRE(wh_fixture_start(&c.fx));
    printf("chaos: logs and exports in %s\n", c.fx.dir);
    fflush(stdout);
    /* Jobs held by a killed worker expire after 8 s; failed attempts come back after 1 s. The
     * retry limit is high: under this much chaos one job may fail several times, and a job
     * that exhausts its retries would be lost by design, not by a bug. */
    REQUIRE(wh_queue_settings(&c.fx, 50, 1, 8));
    for (int i = 0; i < c.worker_count; i++)
        REQUIRE(start_worker(&c, i));

    /* The controller disturbs on its own thread while this one submits at a pace the workers
     * can follow, so the chaos hits submission and work alike. */
    c.seed = seed;
    pthread_t controller;
    REQUIRE(pthread_create(&controller, NULL, chaos_controller, &c) == 0);
    int submitted = 0;
    PGconn *conn = NULL;
    while (submitted < jobs) {
        char id[64];
        if (!submit(&c, id)) {
            fprintf(stderr, "chaos: an export could not be submitted for 120 s\n");
            break;
        }
        submitted++;
        tk_sleep_ms(80);
    }
    tk_sleep_ms(10000); /* keep disturbing the queue's tail for a while */
    atomic_store(&c.stop, true);
    pthread_join(controller, NULL);
    double chaos_end = awm_now_seconds();
    /* Every worker alive again (one killed at the last moment was replaced already). */
    for (int i = 0; i < c.worker_count; i++)
        if (!wh_alive(&c.workers[i])) {
            fprintf(stderr, "chaos: worker pid %d gone (%s)\n", (int)c.workers[i].pid, strerror(errno));
            CHECK(start_worker(&c, i));
        }

    /* Drain: wait until every print job has left pending/exporting (bounded). */
    conn = connect_db(&c);
    REQUIRE(conn != NULL);
    double drain_deadline = awm_now_seconds() + 600;
    long open = -1;
    while (awm_now_seconds() < drain_deadline) {
        open = count_where(conn, "SELECT count(*) FROM print_jobs WHERE state <> 'export_complete'");
        long queue_open = count_where(conn, "SELECT count(*) FROM queue.job WHERE state IN ('created','retry','active')");
        if (open == 0 && queue_open == 0)
            break;
        if (PQstatus(conn) != CONNECTION_OK) {
            PQfinish(conn);
            conn = connect_db(&c);
            REQUIRE(conn != NULL);
        }
        tk_sleep_ms(500);
    }
    double drained = awm_now_seconds();
    CHECK_MSG(open == 0, "%ld print jobs not export_complete after draining", open);

    /* Workers stop gracefully now: each removes its own work directory; the ones killed
     * earlier must have been swept by the survivors. */
    for (int i = 0; i < c.worker_count; i++)
    {
        /* A replacement started moments ago may still be before main(), where no program
         * can handle a signal: wait until it says it is taking jobs, then stop it. */
        char log[700];
        snprintf(log, sizeof log, "%s/%s.log", c.fx.dir, c.worker_names[i]);
        CHECK_MSG(wh_wait_log_event(log, "QUEUE_STARTED", 1, 60), "worker %d never started (%s)", i, log);
        int status = wh_stop(&c.workers[i], SIGTERM, 60);
        CHECK_MSG(status == 0, "worker %d did not stop cleanly (status %d)", i, status);
    }

    /* ---- the checks ---- */
    long print_jobs = count_where(conn, "SELECT count(*) FROM print_jobs");
    CHECK_MSG(print_jobs >= submitted, "%ld print jobs for %d accepted exports", print_jobs, submitted);
    CHECK_MSG(submitted == jobs, "%d of %d exports submitted", submitted, jobs);

    PGresult *ev = query(conn, "SELECT e.print_job_id, j.state, e.from_state, e.to_state, e.event_type, "
                               "j.export_file_path FROM print_job_events e JOIN print_jobs j ON j.id = e.print_job_id "
                               "ORDER BY e.print_job_id, e.created_at, e.id");
    REQUIRE(ev != NULL);
    const map_print_spec *spec = map_print_spec_find(SIZE_KEY);
    REQUIRE(spec != NULL);
    int px_w, px_h;
    map_print_spec_pixels(spec, (double)dpi, &px_w, &px_h);
    int rows = PQntuples(ev), checked = 0, bad_history = 0, bad_files = 0, retries = 0;
    for (int i = 0; i < rows;) {
        const char *id = PQgetvalue(ev, i, 0);
        int n = 0;
        while (i + n < rows && !strcmp(PQgetvalue(ev, i + n, 0), id))
            n++;
        char why[256];
        if (!legal_history(ev, i, n, why, sizeof why)) {
            if (bad_history++ < 10)
                fprintf(stderr, "chaos: job %s: illegal history: %s\n", id, why);
        }
        for (int k = i; k < i + n; k++)
            retries += !strcmp(PQgetvalue(ev, k, 4), "retrying");
        const char *path = PQgetvalue(ev, i, 5);
        char found[512] = "";
        int files = files_naming(c.fx.export_dir, id, found, sizeof found);
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        awm_error err = {{0}};
        if (files != 1 || strcmp(found, base)) {
            if (bad_files++ < 10)
                fprintf(stderr, "chaos: job %s: %d files name it (recorded: %s)\n", id, files, path);
        } else if (!render_verify_png(path, px_w, px_h, &err)) {
            if (bad_files++ < 10)
                fprintf(stderr, "chaos: job %s: %s\n", id, err.msg);
        }
        checked++;
        i += n;
    }
    PQclear(ev);
    CHECK_MSG(checked == print_jobs, "%d of %ld print jobs have events", checked, print_jobs);
    CHECK_MSG(bad_history == 0, "%d print jobs with an illegal event history", bad_history);
    CHECK_MSG(bad_files == 0, "%d print jobs without exactly one valid file", bad_files);

    /* Files that belong to no print job (a poster stored twice under two names, say). */
    int orphans = 0, temps = 0, files_total = 0;
    DIR *d = opendir(c.fx.export_dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".awm-work")))
            continue;
        files_total++;
        if (!strncmp(e->d_name, AWM_TEMP_PREFIX, strlen(AWM_TEMP_PREFIX))) {
            temps++;
            fprintf(stderr, "chaos: temp file left: %s\n", e->d_name);
            continue;
        }
        const char *us = strchr(e->d_name, '_');
        char id[64] = "";
        if (us)
            snprintf(id, sizeof id, "%.36s", us + 1);
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM print_jobs WHERE id::text = '%s'", id);
        bool known = strlen(id) == 36 && strspn(id, "0123456789abcdef-") == 36 && count_where(conn, sql) == 1;
        if (!known && orphans++ < 10)
            fprintf(stderr, "chaos: file of no print job: %s\n", e->d_name);
    }
    if (d)
        closedir(d);
    CHECK_MSG(orphans == 0, "%d files belong to no print job", orphans);
    CHECK_MSG(temps == 0, "%d temp files left in the export directory", temps);
    CHECK_MSG(files_total == print_jobs, "%d files for %ld print jobs", files_total, print_jobs);
    char work[700];
    snprintf(work, sizeof work, "%s/.awm-work", c.fx.export_dir);
    DIR *wd = opendir(work);
    int entries = 0;
    while (wd && (e = readdir(wd)))
        entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (wd)
        closedir(wd);
    CHECK_MSG(entries == 0, "worker work directory not empty: %d entries in %s", entries, work);

    long queue_jobs = count_where(conn, "SELECT count(*) FROM queue.job WHERE name = 'export-map'");
    long queue_done = count_where(conn, "SELECT count(*) FROM queue.job WHERE name = 'export-map' AND state = 'completed'");
    long jobs_one_queue_job = count_where(
        conn, "SELECT count(*) FROM print_jobs p WHERE (SELECT count(*) FROM queue.job q WHERE q.name = 'export-map' "
              "AND q.data->>'printJobId' = p.id::text) = 1");
    long queue_retries = count_where(conn, "SELECT coalesce(sum(retry_count), 0) FROM queue.job WHERE name = 'export-map'");
    CHECK_MSG(queue_done == queue_jobs, "%ld of %ld queue jobs completed", queue_done, queue_jobs);
    CHECK_MSG(jobs_one_queue_job == print_jobs, "%ld of %ld print jobs have exactly one queue job", jobs_one_queue_job,
              print_jobs);
    PQfinish(conn);

    printf("chaos summary: seed %u; %d exports submitted, %ld print jobs, %ld queue jobs (%ld completed); "
           "%d worker kills, %d API restarts, %d PostgreSQL restarts; %d print-job retries, %ld queue retries; "
           "%d submissions re-sent (API/database down), %d unexpected answers; chaos %.0f s, drain %.0f s, total %.0f s\n",
           first_seed, submitted, print_jobs, queue_jobs, queue_done, c.kills, c.api_restarts, c.pg_restarts, retries,
           queue_retries, c.submit_retries, c.submit_unexpected, chaos_end - t0, drained - chaos_end, awm_now_seconds() - t0);
    wh_fixture_stop(&c.fx);
    return TEST_EXIT();
}
