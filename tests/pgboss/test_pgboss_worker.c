/* test_pgboss_worker.c — `awm worker` with QUEUE_BACKEND=pgboss in the seed's deployment: jobs
 * sent by the real pg-boss 12.5.2 the way the seed's API sends them, a stand-in of the seed's
 * API that answers every error with 400 (seed_api.mjs), the database named by the seed's
 * DATABASE_HOST/PORT/NAME/USER variables. */
#include <regex.h>
#include <signal.h>
#include <sys/stat.h>

#include "pgboss/boss_fixture.h"
#include "worker/worker_harness.h"

#define GOOD "3f2e1d0c-9b8a-4765-8432-10fedcba9876"
#define UNKNOWN "00000000-1111-4222-8333-444444444444"
#define STUCK "eeeeeeee-1111-4222-8333-444444444444"   /* print job already export_failed */
#define OUTAGE "dddddddd-1111-4222-8333-444444444444"  /* the API's database is down */

static PGconn *conn;
static char api_log[1200], export_dir[1200], api_url[64];
static wh_proc api;

static char *send_seed(const char *pj)
{
    char payload[2048];
    bx_seed_payload(payload, sizeof payload, pj);
    json_t *r = bx_boss("send", QUEUE_EXPORT, payload, NULL);
    char *id = awm_strdup(r && json_string_value(json_object_get(r, "id")) ? json_string_value(json_object_get(r, "id")) : "");
    json_decref(r);
    CHECK(awm_is_uuid(id));
    return id;
}

static bool start_seed_api(void)
{
    int port = tk_free_port();
    char port_text[16], script[2100];
    snprintf(port_text, sizeof port_text, "%d", port);
    snprintf(script, sizeof script, "%s/tests/pgboss/seed_api.mjs", getenv("AWM_SOURCE_ROOT"));
    snprintf(api_log, sizeof api_log, "%s/seed-api.log", bx_tmp);
    snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", port);
    const char *args[] = {script, port_text, NULL};
    api.pid = tk_spawn(bx_node, args, api_log, NULL);
    snprintf(api.log_path, sizeof api.log_path, "%s", api_log);
    for (int i = 0; i < 300; i++) {
        char *text = NULL;
        size_t len;
        if (awm_read_file(api_log, &text, &len, NULL) && strstr(text, "listening")) {
            free(text);
            return true;
        }
        free(text);
        tk_sleep_ms(50);
    }
    return false;
}

/* The stand-in's log lines for one print job's route (`action`). */
static json_t *api_calls(const char *pj, const char *action)
{
    char want[200];
    snprintf(want, sizeof want, "/api/jobs/%s/%s", pj, action);
    return wh_log_lines(api_log, "url", want);
}

static char *job_field(const char *pj, const char *expr)
{
    char sql[600];
    snprintf(sql, sizeof sql, "SELECT %s FROM pgboss.job WHERE data->>'printJobId' = $1", expr);
    return bx_sql_text(conn, sql, pj, NULL, NULL);
}

static void start_worker(wh_proc *w, const char *name, const char *const *extra)
{
    char host_port[64], health[64], dir[1300], log[1300];
    snprintf(host_port, sizeof host_port, "DATABASE_PORT=%d", pg_harness_port(bx_pg));
    /* 0: the worker takes a free port itself (a port picked here could be taken by a parallel
     * test before the worker binds it; nothing here reads the health port). */
    snprintf(health, sizeof health, "HEALTH_PORT=0");
    snprintf(dir, sizeof dir, "EXPORT_DIR=%s", export_dir);
    snprintf(log, sizeof log, "%s/%s.log", bx_tmp, name);
    char api_env[100];
    snprintf(api_env, sizeof api_env, "API_URL=%s", api_url);
    const char *env[40] = {"DATABASE_URL=", "DATABASE_HOST=127.0.0.1", host_port, "DATABASE_NAME=postgres",
                           "DATABASE_USER=awm", "DATABASE_PASSWORD=unused", "QUEUE_BACKEND=pgboss", api_env, dir,
                           health, "WORKER_POLL_INTERVAL_MS=200", "WORKER_RENDER_DPI=20",
                           "WORKER_API_RETRY_DELAY_MS=50", "WORKER_API_KEY=", "STORAGE=local"};
    wh_env_append(env, 40, extra);
    const char *args[] = {"worker", NULL};
    CHECK(wh_spawn(w, args, env, log));
}

static void test_worker_takes_the_seeds_jobs(void)
{
    char *good = send_seed(GOOD), *unknown = send_seed(UNKNOWN), *stuck = send_seed(STUCK), *outage = send_seed(OUTAGE);
    wh_proc w;
    start_worker(&w, "worker", NULL);
    /* Until every job has had its attempt (no timing asserted: a generous deadline). */
    long settled = 0;
    for (int i = 0; i < 1200 && settled < 4; i++) {
        settled = bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE name = 'export-map' AND"
                               " (state = 'completed' OR (state = 'retry' AND output IS NOT NULL))", NULL, NULL, NULL);
        if (settled < 4)
            tk_sleep_ms(100);
    }
    CHECK_INT_EQ(settled, 4);

    /* The good one: rendered, stored under the seed's file name, completed in pg-boss. */
    char *state = job_field(GOOD, "state::text"), *path = job_field(GOOD, "output->>'filePath'");
    CHECK_STR_EQ(state, "completed");
    CHECK(path && !strncmp(path, export_dir, strlen(export_dir)));
    struct stat sb;
    CHECK_MSG(path && stat(path, &sb) == 0 && sb.st_size > 1000, "poster %s", path ? path : "(none)");
    regex_t re;
    regcomp(&re, "/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}_" GOOD "\\.png$", REG_EXTENDED);
    CHECK_MSG(path && regexec(&re, path, 0, NULL, 0) == 0, "file name %s", path ? path : "");
    regfree(&re);
    json_t *starts = api_calls(GOOD, "start"), *completes = api_calls(GOOD, "complete");
    CHECK_INT_EQ(json_array_size(starts), 1);
    CHECK_INT_EQ(json_array_size(completes), 1);
    json_t *c = json_array_get(completes, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(c, "body"), "filePath")), path);
    CHECK_STR_EQ(json_string_value(json_object_get(c, "contentType")), "application/json");
    CHECK(json_is_null(json_object_get(c, "authorization")));
    CHECK(json_is_null(json_object_get(json_array_get(starts, 0), "body")));
    json_decref(starts);
    json_decref(completes);
    free(state);
    free(path);

    /* An unknown print job ("not found" in a 400): fatal, completed, never retried. */
    state = job_field(UNKNOWN, "state::text");
    char *fatal = job_field(UNKNOWN, "output->>'fatal'"), *count = job_field(UNKNOWN, "retry_count::text");
    CHECK_STR_EQ(state, "completed");
    CHECK_STR_EQ(fatal, "true");
    CHECK_STR_EQ(count, "0");
    free(state);
    free(fatal);
    free(count);

    /* A print job the seed's API will never start again (export_failed): fatal, not looped. */
    state = job_field(STUCK, "state::text");
    fatal = job_field(STUCK, "output->>'fatal'");
    CHECK_STR_EQ(state, "completed");
    CHECK_STR_EQ(fatal, "true");
    json_t *stuck_starts = api_calls(STUCK, "start"), *stuck_fails = api_calls(STUCK, "fail");
    CHECK_INT_EQ(json_array_size(stuck_starts), 1);
    CHECK_INT_EQ(json_array_size(stuck_fails), 0);
    json_decref(stuck_starts);
    json_decref(stuck_fails);
    free(state);
    free(fatal);

    /* The API's database down (a 400 with another message): transient, pg-boss retries it. */
    state = job_field(OUTAGE, "state::text");
    char *msg = job_field(OUTAGE, "output->>'message'");
    double delay = bx_sql_double(conn, "SELECT date_part('epoch', start_after - now()) FROM pgboss.job"
                                       " WHERE data->>'printJobId' = $1", OUTAGE);
    CHECK_STR_EQ(state, "retry");
    CHECK_MSG(msg && strstr(msg, "Connection terminated unexpectedly"), "%s", msg ? msg : "(null)");
    CHECK_MSG(delay > 30 && delay <= 62, "retry in %.1f s (60 s + backoff)", delay);
    free(state);
    free(msg);

    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 30), 0);
    json_t *started = wh_log_events(w.log_path, "WORKER_STARTING");
    const char *backend = json_string_value(json_object_get(json_array_get(started, 0), "queueBackend"));
    CHECK_MSG(backend && strstr(backend, "pgboss"), "%s", backend ? backend : "(none)");
    const char *db = json_string_value(json_object_get(json_array_get(started, 0), "database"));
    CHECK_MSG(db && strstr(db, "127.0.0.1") && !strstr(db, "unused"), "database described as %s (no password)",
              db ? db : "(none)");
    json_decref(started);
    free(good);
    free(unknown);
    free(stuck);
    free(outage);
}

static void test_worker_refuses_other_versions(void)
{
    PGresult *r = PQexec(conn, "CREATE SCHEMA boss_v27; CREATE TABLE boss_v27.version (version int primary key,"
                               " cron_on timestamptz); INSERT INTO boss_v27.version VALUES (27)");
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
    PQclear(r);
    const char *schemas[] = {"PGBOSS_SCHEMA=boss_v27", "PGBOSS_SCHEMA=absent"};
    const char *wants[] = {"is at version 27", "no pg-boss schema 'absent'"};
    for (int i = 0; i < 2; i++) {
        wh_proc w;
        const char *extra[] = {schemas[i], NULL};
        start_worker(&w, i ? "refused-absent" : "refused-27", extra);
        CHECK(wh_wait(&w, 60));
        CHECK_INT_EQ(w.exit_status, 1);
        json_t *ev = wh_log_events(w.log_path, "WORKER_START_FAILED");
        const char *msg = json_string_value(json_object_get(json_array_get(ev, 0), "error"));
        CHECK_MSG(msg && strstr(msg, wants[i]) && strstr(msg, "version 26"), "%s", msg ? msg : "(no message)");
        json_decref(ev);
    }
    CHECK_INT_EQ(bx_sql(conn, "SELECT version FROM boss_v27.version", NULL, NULL, NULL), 27);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'absent'", NULL, NULL, NULL), 0);
}

/* SIGTERM with a job in hand past the deadline: the job goes back to pg-boss as it was before
 * the fetch (no attempt used), and the seed's API is not told "fail" (it would never start that
 * print job again). */
#define SLOW "5a5a5a5a-1111-4222-8333-444444444444"
static void test_shutdown_releases(void)
{
    char *id = send_seed(SLOW);
    wh_proc w;
    const char *extra[] = {"WORKER_RENDER_DPI=300", "WORKER_SHUTDOWN_TIMEOUT_S=0", NULL};
    start_worker(&w, "slow", extra);
    CHECK(wh_wait_log_event(w.log_path, "JOB_START", 1, 60));
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 30), 0);
    json_t *ev = wh_log_events(w.log_path, "JOB_RELEASED");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(ev, 0), "queueState")), "released");
    json_decref(ev);
    char *state = job_field(SLOW, "state::text"), *count = job_field(SLOW, "retry_count::text");
    char *started = job_field(SLOW, "coalesce(started_on::text, 'null')");
    CHECK_STR_EQ(state, "created");
    CHECK_STR_EQ(count, "0");
    CHECK_STR_EQ(started, "null");
    json_t *fails = api_calls(SLOW, "fail");
    CHECK_INT_EQ(json_array_size(fails), 0);
    json_decref(fails);
    free(state);
    free(count);
    free(started);
    bx_sql(conn, "DELETE FROM pgboss.job WHERE id = $1::uuid", id, NULL, NULL);
    free(id);
}

/* `awm worker --check` in the seed's deployment: the pg-boss schema and queue, the seed's API. */
static void test_check(void)
{
    char port[64], dir[1300], api_env[100], log[1300];
    snprintf(port, sizeof port, "DATABASE_PORT=%d", pg_harness_port(bx_pg));
    snprintf(dir, sizeof dir, "EXPORT_DIR=%s", export_dir);
    snprintf(api_env, sizeof api_env, "API_URL=%s", api_url);
    snprintf(log, sizeof log, "%s/check.log", bx_tmp);
    const char *env[] = {"DATABASE_URL=", "DATABASE_HOST=127.0.0.1", port, "DATABASE_NAME=postgres",
                         "DATABASE_USER=awm", "QUEUE_BACKEND=pgboss", api_env, dir, "WORKER_API_KEY=", "STORAGE=local",
                         NULL};
    char *out = NULL;
    CHECK_INT_EQ(wh_run_check(env, log, &out), 0);
    CHECK_MSG(strstr(out, "database  ok") && strstr(out, "pgboss (schema pgboss, version 26) queue 'export-map'"), "%s", out);
    CHECK_MSG(strstr(out, "api       ok") && strstr(out, "answers like the seed's API"), "%s", out);
    free(out);
    /* A schema at another version: the check fails, naming it. */
    const char *env27[] = {"DATABASE_URL=", "DATABASE_HOST=127.0.0.1", port, "DATABASE_NAME=postgres",
                           "DATABASE_USER=awm", "QUEUE_BACKEND=pgboss", "PGBOSS_SCHEMA=boss_v27", api_env, dir,
                           "WORKER_API_KEY=", "STORAGE=local", NULL};
    CHECK_INT_EQ(wh_run_check(env27, log, &out), 1);
    CHECK_MSG(strstr(out, "database  FAIL") && strstr(out, "is at version 27"), "%s", out);
    free(out);
}

/* `awm queue init --pgboss` on an empty database: pg-boss's schema and the export queue; a
 * second run finds the schema and changes nothing. */
static void test_queue_init_cli(void)
{
    PGresult *r = PQexec(conn, "CREATE DATABASE fresh");
    PQclear(r);
    char url[512], env_url[600], log[1300];
    bx_db_url(url, sizeof url, "fresh");
    snprintf(env_url, sizeof env_url, "DATABASE_URL=%s", url);
    snprintf(log, sizeof log, "%s/queue-init.log", bx_tmp);
    const char *env[] = {env_url, NULL};
    const char *args[] = {"queue", "init", "--pgboss", NULL};
    for (int run = 0; run < 2; run++) {
        wh_proc p;
        CHECK(wh_spawn(&p, args, env, log));
        CHECK(wh_wait(&p, 60));
        CHECK_INT_EQ(p.exit_status, run == 0 ? 0 : 1);
    }
    json_t *failed = wh_log_events(log, "PGBOSS_INIT_FAILED");
    const char *msg = json_string_value(json_object_get(json_array_get(failed, 0), "error"));
    CHECK_MSG(msg && strstr(msg, "already exists"), "%s", msg ? msg : "(none)");
    json_decref(failed);
    awm_error err = {{0}};
    PGconn *c = db_connect(url, &err);
    CHECK(c != NULL);
    if (c) {
        PGresult *v = PQexec(c, "SELECT (SELECT version FROM pgboss.version)::text || ' ' ||"
                                " (SELECT policy || ' ' || retry_limit FROM pgboss.queue WHERE name = 'export-map')");
        CHECK_STR_EQ(PQresultStatus(v) == PGRES_TUPLES_OK ? PQgetvalue(v, 0, 0) : "", "26 standard 2");
        PQclear(v);
        PQfinish(c);
    }
    /* pg-boss itself takes it as its own and sends to the queue. */
    setenv("DATABASE_URL", url, 1);
    char payload[2048];
    bx_seed_payload(payload, sizeof payload, GOOD);
    json_t *sent = bx_boss("send", QUEUE_EXPORT, payload, NULL);
    CHECK(awm_is_uuid(json_string_value(json_object_get(sent, "id"))));
    json_decref(sent);
    setenv("DATABASE_URL", bx_url, 1);
}

int main(void)
{
    bx_start();
    conn = bx_connect();
    snprintf(export_dir, sizeof export_dir, "%s/exports", bx_tmp);
    bx_seed_start();
    if (!start_seed_api())
        bx_die("seed API stand-in", "did not start");
    RUN(test_worker_takes_the_seeds_jobs);
    RUN(test_worker_refuses_other_versions);
    RUN(test_shutdown_releases);
    RUN(test_check);
    RUN(test_queue_init_cli);
    wh_stop(&api, SIGTERM, 10);
    PQfinish(conn);
    bx_finish();
    return TEST_EXIT();
}
