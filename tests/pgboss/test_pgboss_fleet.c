/* test_pgboss_fleet.c — a mixed fleet on one pg-boss queue: the seed's Node worker (pg-boss 12.5.2
 * work() with default options, its supervision on) and two `awm worker`s on the pgboss backend
 * drain FLEET_JOBS jobs sent by pg-boss while workers are SIGKILLed at random and restarted.
 * Every job must end completed, exactly once, none lost. A trigger records each transition to
 * `completed`, so a job completed twice (two workers both counting their attempt) would show. */
#include <signal.h>

#include "pgboss/boss_fixture.h"
#include "worker/worker_harness.h"

#define FLEET_JOBS 500
#define FLEET_KILLS 6

static PGconn *conn;
static char api_url[64], export_dir[1200];
static wh_proc api;

static void start_api(void)
{
    int port = tk_free_port();
    char port_text[16], script[2100], log[1200];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(script, sizeof script, "%s/tests/pgboss/seed_api.mjs", getenv("AWM_SOURCE_ROOT"));
    snprintf(log, sizeof log, "%s/seed-api.log", bx_tmp);
    snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", port);
    const char *args[] = {script, port_text, "lenient", NULL};
    api.pid = tk_spawn(bx_node, args, log, NULL);
    char url[128];
    snprintf(url, sizeof url, "%s/api/jobs/x/start", api_url);
    for (int i = 0; i < 200; i++) {
        if (wh_http("POST", url, NULL, NULL, NULL) == 200)
            return;
        tk_sleep_ms(50);
    }
    bx_die("seed API stand-in", "did not start");
}

static void start_awm(wh_proc *w, int n, int life)
{
    char port[64], dir[1300], log[1300], api_env[100];
    snprintf(port, sizeof port, "DATABASE_PORT=%d", pg_harness_port(bx_pg));
    snprintf(dir, sizeof dir, "EXPORT_DIR=%s", export_dir);
    snprintf(api_env, sizeof api_env, "API_URL=%s", api_url);
    snprintf(log, sizeof log, "%s/awm-%d-%d.log", bx_tmp, n, life);
    const char *env[] = {"DATABASE_URL=", "DATABASE_HOST=127.0.0.1", port, "DATABASE_NAME=postgres",
                         "DATABASE_USER=awm", "QUEUE_BACKEND=pgboss", api_env, dir, "HEALTH_PORT=0",
                         "WORKER_POLL_INTERVAL_MS=100", "WORKER_SUPERVISE_INTERVAL_S=1", "WORKER_RENDER_DPI=10",
                         "WORKER_CONCURRENCY=2", "WORKER_API_KEY=", "STORAGE=local", "LOG_LEVEL=warn", NULL};
    const char *args[] = {"worker", NULL};
    CHECK(wh_spawn(w, args, env, log));
}

static void start_node(wh_proc *w, int life)
{
    char log[1300];
    snprintf(log, sizeof log, "%s/node-%d.log", bx_tmp, life);
    const char *args[] = {bx_script, "fleet-worker", QUEUE_EXPORT, NULL};
    w->pid = tk_spawn(bx_node, args, log, log);
    snprintf(w->log_path, sizeof w->log_path, "%s", log);
}

static long completed(void)
{
    return bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE name = 'export-map' AND state = 'completed'", NULL, NULL,
                  NULL);
}

static void test_mixed_fleet_does_every_job_once(void)
{
    /* Every transition to completed, recorded with who completed it. */
    PGresult *r = PQexec(conn,
        "CREATE TABLE completions (id uuid, by text);"
        "CREATE FUNCTION record_completion() RETURNS trigger AS $$ BEGIN"
        "  INSERT INTO completions VALUES (NEW.id, coalesce(NEW.output->>'by', 'awm')); RETURN NEW; END $$"
        " LANGUAGE plpgsql;"
        "CREATE TRIGGER completion AFTER UPDATE ON pgboss.job FOR EACH ROW"
        " WHEN (NEW.state = 'completed' AND OLD.state IS DISTINCT FROM 'completed')"
        " EXECUTE FUNCTION record_completion()");
    CHECK_MSG(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(conn));
    PQclear(r);
    /* Short expiry so a killed worker's job comes back soon; no retry delay. */
    char payload[2048], count[16];
    bx_seed_payload(payload, sizeof payload, "00000000-0000-4000-8000-000000000000");
    snprintf(count, sizeof count, "%d", FLEET_JOBS);
    json_t *sent = bx_boss("send-many", QUEUE_EXPORT, count, payload,
                           "{\"retryLimit\":50,\"retryDelay\":0,\"expireInSeconds\":4}", NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(sent, "sent")), FLEET_JOBS);
    json_decref(sent);

    wh_proc workers[3]; /* 0: Node, 1 and 2: AWM */
    int lives[3] = {0, 0, 0};
    start_node(&workers[0], 0);
    start_awm(&workers[1], 1, 0);
    start_awm(&workers[2], 2, 0);
    srand(14);
    int kills = 0;
    double deadline = awm_now_seconds() + 150;
    long done = 0;
    /* Kills are spread over the work by progress, not by the clock: kill k comes once
     * (k + 1) / (FLEET_KILLS + 2) of the jobs are done, so every kill lands while jobs remain
     * however fast the machine drains them. */
    while ((done = completed()) < FLEET_JOBS && awm_now_seconds() < deadline) {
        if (kills < FLEET_KILLS && done >= (long)(kills + 1) * FLEET_JOBS / (FLEET_KILLS + 2)) {
            int v = kills == 0 ? 0 : rand() % 3; /* the Node worker at least once */
            kill(workers[v].pid, SIGKILL);
            tk_wait(workers[v].pid, 10);
            lives[v]++;
            if (v == 0)
                start_node(&workers[0], lives[0]);
            else
                start_awm(&workers[v], v, lives[v]);
            kills++;
        }
        tk_sleep_ms(100);
    }
    CHECK_INT_EQ(kills, FLEET_KILLS);
    CHECK_INT_EQ(done, FLEET_JOBS);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE name = 'export-map'", NULL, NULL, NULL), FLEET_JOBS);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(DISTINCT id) FROM completions", NULL, NULL, NULL), FLEET_JOBS);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM (SELECT id FROM completions GROUP BY id HAVING count(*) > 1) d",
                        NULL, NULL, NULL), 0);
    long by_node = bx_sql(conn, "SELECT count(*) FROM completions WHERE by = 'node'", NULL, NULL, NULL);
    long by_awm = bx_sql(conn, "SELECT count(*) FROM completions WHERE by = 'awm'", NULL, NULL, NULL);
    CHECK_MSG(by_node > 0 && by_awm > 0, "node %ld, awm %ld: both kinds of worker took jobs", by_node, by_awm);
    /* Killed workers' jobs came back: some were fetched more than once. */
    long retried = bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE name = 'export-map' AND retry_count > 0", NULL,
                          NULL, NULL);
    fprintf(stderr, "fleet: %ld by node, %ld by awm, %ld fetched again after a kill, %d kills\n", by_node, by_awm,
            retried, kills);
    for (int i = 0; i < 3; i++) {
        kill(workers[i].pid, i == 0 ? SIGKILL : SIGTERM);
        tk_wait(workers[i].pid, 30);
    }
}

int main(void)
{
    bx_start();
    conn = bx_connect();
    snprintf(export_dir, sizeof export_dir, "%s/exports", bx_tmp);
    bx_seed_start();
    start_api();
    RUN(test_mixed_fleet_does_every_job_once);
    kill(api.pid, SIGTERM);
    tk_wait(api.pid, 10);
    PQfinish(conn);
    bx_finish();
    return TEST_EXIT();
}
