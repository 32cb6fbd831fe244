/* test_worker_failures.c — the worker when things go wrong, with real processes:
 *  - a worker SIGKILLed mid-render: after the job's expiry another worker completes it, and no
 *    partial file (AWM_TEMP_PREFIX) is left behind;
 *  - the API down for a while: the job fails transiently, is retried, and finishes once the
 *    API is back;
 *  - a print job deleted before the worker takes it: fails once (fatal), the queue job is
 *    finished, never retried;
 *  - invalid map data and an unknown print size in the job: fatal, reported to the API;
 *  - SIGTERM mid-job: the job finishes before the worker exits 0; with a zero deadline it is
 *    released to the queue and another worker completes it — never lost;
 *  - the database restarted under a running worker: it reconnects and takes new jobs. */
#include <signal.h>
#include <string.h>

#include "db/db.h"
#include "queue/queue.h"
#include "test.h"
#include "worker_harness.h"

static wh_fixture fx;

static void log_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s.log", fx.dir, name);
}

/* JOB_* lines of a log that concern print job `id`. */
static int count_events_for(const char *log, const char *event, const char *id, int *fatal)
{
    json_t *a = wh_log_events(log, event);
    int n = 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *e = json_array_get(a, i);
        const char *pj = json_string_value(json_object_get(e, "printJobId"));
        if (pj && !strcmp(pj, id)) {
            n++;
            if (fatal)
                *fatal += json_is_true(json_object_get(e, "fatal"));
        }
    }
    json_decref(a);
    return n;
}

/* A job refused for its input: one fatal JOB_FAILED in the worker's log, and its print job
 * export_failed with an error naming `what` (and `also`, when given). */
static void check_refused(const char *log, const char *id, const char *what, const char *also)
{
    int fatal = 0;
    CHECK_INT_EQ(count_events_for(log, "JOB_FAILED", id, &fatal), 1);
    CHECK_INT_EQ(fatal, 1);
    json_t *job = wh_wait_job_state(&fx, id, "export_failed", 10);
    CHECK(job != NULL);
    const char *msg = json_string_value(json_object_get(job, "export_error"));
    CHECK_MSG(msg && strstr(msg, what) && (!also || strstr(msg, also)), "%s: %s", id, msg ? msg : "(null)");
    json_decref(job);
}

/* The queue job of a print job: state and retry count. */
static bool queue_job_of(const char *print_job_id, char state[32], int *retry_count, char **output)
{
    awm_error err;
    PGconn *c = db_connect(pg_harness_conninfo(fx.pg), &err);
    const char *params[] = {print_job_id};
    PGresult *r = c ? db_exec(c, "queue job", "SELECT state::text, retry_count, output::text FROM queue.job "
                                              "WHERE data->>'printJobId' = $1 ORDER BY created_on DESC LIMIT 1",
                              1, params, &err)
                    : NULL;
    bool ok = r && PQntuples(r) == 1;
    if (ok) {
        snprintf(state, 32, "%s", PQgetvalue(r, 0, 0));
        *retry_count = atoi(PQgetvalue(r, 0, 1));
        if (output)
            *output = PQgetisnull(r, 0, 2) ? NULL : awm_strdup(PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    if (c)
        PQfinish(c);
    return ok;
}

static bool sql(const char *statement, const char *param)
{
    awm_error err;
    PGconn *c = db_connect(pg_harness_conninfo(fx.pg), &err);
    const char *params[] = {param};
    PGresult *r = c ? db_exec(c, "test sql", statement, param ? 1 : 0, params, &err) : NULL;
    if (!r)
        fprintf(stderr, "%s\n", err.msg);
    bool ok = r != NULL;
    PQclear(r);
    if (c)
        PQfinish(c);
    return ok;
}

static bool wait_state_exporting(const char *id)
{
    json_t *j = wh_wait_job_state(&fx, id, "exporting", 60);
    json_decref(j);
    return j != NULL;
}

static void test_killed_worker(void)
{
    CHECK(wh_queue_settings(&fx, 3, 1, 8)); /* expiry 8 s: longer than one render, short for the test */
    char la[700], lb[700], id[64] = "";
    log_path(la, sizeof la, "kill-a");
    log_path(lb, sizeof lb, "kill-b");
    CHECK(wh_post_export(&fx, 18, 24, NULL, id));
    wh_proc a, b;
    CHECK(wh_worker_start(&fx, &a, "kill-a", NULL, NULL));
    CHECK(wait_state_exporting(id)); /* A has started it and is rendering */
    CHECK_INT_EQ(wh_stop(&a, SIGKILL, 10), 128 + SIGKILL);
    /* B renders at a low DPI so its attempt stays well inside the short expiry even on a
     * loaded machine. */
    const char *fast[] = {"WORKER_RENDER_DPI=30", NULL};
    CHECK(wh_worker_start(&fx, &b, "kill-b", fast, NULL));
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 120);
    CHECK_MSG(job != NULL, "see %s", lb);
    json_decref(job);
    /* The API shows export_complete before the worker completes the queue job and logs. */
    CHECK(wh_wait_log_event(lb, "JOB_SUCCESS", 1, 30));
    CHECK_INT_EQ(count_events_for(lb, "JOB_SUCCESS", id, NULL), 1);
    CHECK_INT_EQ(count_events_for(la, "JOB_SUCCESS", id, NULL), 0);
    char state[32] = "";
    int retries = -1;
    CHECK(queue_job_of(id, state, &retries, NULL));
    CHECK_STR_EQ(state, "completed");
    CHECK_INT_EQ(retries, 1); /* the expiry counted as A's failed attempt */
    CHECK_INT_EQ(wh_stop(&b, SIGTERM, 60), 0);
    CHECK_INT_EQ(tk_count_files(fx.export_dir, AWM_TEMP_PREFIX), 0);
    CHECK_INT_EQ(tk_count_files(fx.export_dir, "awm-worker-"), 0); /* A's work dir swept by B */
    CHECK(wh_queue_settings(&fx, 3, 1, 600));
}

static void test_api_down(void)
{
    CHECK(wh_queue_settings(&fx, 50, 1, 600));
    char id[64] = "", lw[700];
    log_path(lw, sizeof lw, "api-down");
    CHECK(wh_post_export(&fx, 8, 10, NULL, id));
    CHECK_INT_EQ(wh_stop(&fx.api, SIGTERM, 30), 0);
    wh_proc w;
    const char *extra[] = {"WORKER_RENDER_DPI=20", "WORKER_API_ATTEMPTS=2", NULL};
    int health = 0;
    CHECK(wh_worker_start(&fx, &w, "api-down", extra, &health));
    /* At least two attempts failed for want of the API, each a transient failure. */
    CHECK_MSG(wh_wait_log_event(lw, "JOB_FAILED", 2, 60), "see %s", lw);
    int fatal = 0;
    CHECK(count_events_for(lw, "JOB_FAILED", id, &fatal) >= 2);
    CHECK_INT_EQ(fatal, 0);
    /* Not ready while the API is unreachable; still alive. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", health);
    json_t *ready = NULL;
    CHECK_INT_EQ(wh_http("GET", url, NULL, NULL, &ready), 503);
    CHECK_STR_EQ(json_string_value(json_object_get(ready, "api")), "unreachable");
    CHECK_STR_EQ(json_string_value(json_object_get(ready, "database")), "ok");
    json_decref(ready);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", health);
    CHECK_INT_EQ(wh_http("GET", url, NULL, NULL, NULL), 200);
    CHECK(wh_api_start(&fx));
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 120);
    CHECK_MSG(job != NULL, "see %s", lw);
    json_decref(job);
    CHECK(wh_wait_log_event(lw, "JOB_SUCCESS", 1, 30));
    CHECK_INT_EQ(count_events_for(lw, "JOB_SUCCESS", id, NULL), 1);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
    CHECK(wh_queue_settings(&fx, 3, 1, 600));
}

static void test_deleted_and_invalid_jobs(void)
{
    char gone[64] = "", bad_map[64] = "", bad_size[64] = "", good[64] = "", lw[700];
    log_path(lw, sizeof lw, "invalid");
    /* Deleted before any worker runs. */
    CHECK(wh_post_export(&fx, 8, 10, NULL, gone));
    CHECK(sql("DELETE FROM print_jobs WHERE id = $1", gone));
    /* Print jobs whose queue jobs are replaced by broken ones (the API never sends such data,
     * but a queue is shared and data can be old). */
    CHECK(wh_post_export(&fx, 8, 10, NULL, bad_map));
    CHECK(wh_post_export(&fx, 8, 10, NULL, bad_size));
    CHECK(sql("UPDATE queue.job SET state = 'cancelled' WHERE data->>'printJobId' = $1", bad_map));
    CHECK(sql("UPDATE queue.job SET state = 'cancelled' WHERE data->>'printJobId' = $1", bad_size));
    awm_error err;
    PGconn *c = db_connect(pg_harness_conninfo(fx.pg), &err);
    char data[512];
    snprintf(data, sizeof data, "{\"printJobId\":\"%s\",\"userMap\":{\"title\":5,\"people\":[]},"
                                "\"printableMap\":{\"widthInches\":8,\"heightInches\":10}}", bad_map);
    CHECK(c && queue_send(c, QUEUE_EXPORT, data, NULL, NULL, &err));
    snprintf(data, sizeof data, "{\"printJobId\":\"%s\",\"userMap\":{\"title\":\"T\",\"people\":[{\"id\":\"a\","
                                "\"name\":\"A\",\"locations\":[{\"longitude\":1,\"latitude\":2}]}]},"
                                "\"printableMap\":{\"widthInches\":7,\"heightInches\":7}}", bad_size);
    CHECK(c && queue_send(c, QUEUE_EXPORT, data, NULL, NULL, &err));
    if (c)
        PQfinish(c);

    wh_proc w;
    const char *extra[] = {"WORKER_RENDER_DPI=20", NULL};
    CHECK(wh_worker_start(&fx, &w, "invalid", extra, NULL));
    CHECK_MSG(wh_wait_log_event(lw, "JOB_FAILED", 3, 60), "see %s", lw);
    /* Then a good job, sent last, completes: the worker went on. */
    CHECK(wh_post_export(&fx, 8, 10, NULL, good));
    json_t *job = wh_wait_job_state(&fx, good, "export_complete", 60);
    CHECK(job != NULL);
    json_decref(job);

    int fatal = 0;
    CHECK_INT_EQ(count_events_for(lw, "JOB_FAILED", gone, &fatal), 1);
    CHECK_INT_EQ(fatal, 1);
    char state[32] = "";
    int retries = -1;
    char *output = NULL;
    CHECK(queue_job_of(gone, state, &retries, &output));
    CHECK_STR_EQ(state, "completed"); /* finished: never fetched again */
    CHECK_INT_EQ(retries, 0);
    CHECK_MSG(output && strstr(output, "\"fatal\": true") && strstr(output, "not found"), "%s", output ? output : "");
    free(output);

    check_refused(lw, bad_map, "invalid map data", "title");
    check_refused(lw, bad_size, "no print spec for 7x7", NULL);
    CHECK(queue_job_of(bad_size, state, &retries, NULL));
    CHECK_STR_EQ(state, "completed");
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
}

static void test_sigterm_finishes_job(void)
{
    char id[64] = "", lw[700];
    log_path(lw, sizeof lw, "sigterm");
    CHECK(wh_post_export(&fx, 18, 24, NULL, id));
    wh_proc w;
    CHECK(wh_worker_start(&fx, &w, "sigterm", NULL, NULL));
    CHECK(wait_state_exporting(id));
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 120), 0);
    /* The job in hand was finished before the exit. */
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 1);
    CHECK_MSG(job != NULL, "see %s", lw);
    json_decref(job);
    CHECK(wh_wait_log_event(lw, "WORKER_STOPPING", 1, 1));
    CHECK(wh_wait_log_event(lw, "WORKER_STOPPED", 1, 1));
    CHECK_INT_EQ(tk_count_files(fx.export_dir, AWM_TEMP_PREFIX), 0);
}

static void test_sigterm_releases_job(void)
{
    char id[64] = "", l1[700], l2[700];
    log_path(l1, sizeof l1, "release-1");
    log_path(l2, sizeof l2, "release-2");
    /* An hour's retry delay: a release charged as a failed attempt would keep the job from the
     * second worker far longer than this test waits for it. */
    CHECK(wh_queue_settings(&fx, 3, 3600, 600));
    CHECK(wh_post_export(&fx, 18, 24, NULL, id));
    wh_proc w1, w2;
    const char *extra[] = {"WORKER_SHUTDOWN_TIMEOUT_S=0", NULL};
    CHECK(wh_worker_start(&fx, &w1, "release-1", extra, NULL));
    CHECK(wait_state_exporting(id));
    CHECK_INT_EQ(wh_stop(&w1, SIGTERM, 60), 0);
    json_t *rel = wh_log_events(l1, "JOB_RELEASED");
    bool released = json_array_size(rel) == 1;
    if (released)
        CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(rel, 0), "queueState")), "released");
    json_decref(rel);
    char state[32] = "";
    int retries = -1;
    CHECK(queue_job_of(id, state, &retries, NULL));
    if (released)
        CHECK_STR_EQ(state, "created"); /* back in the queue for another worker, at once */
    else
        CHECK_STR_EQ(state, "completed"); /* it happened to finish first */
    CHECK_INT_EQ(retries, 0); /* the release did not count as an attempt */
    CHECK_INT_EQ(tk_count_files(fx.export_dir, AWM_TEMP_PREFIX), 0);
    CHECK_INT_EQ(tk_count_files(fx.export_dir, "awm-worker-"), 0);
    CHECK(wh_worker_start(&fx, &w2, "release-2", NULL, NULL));
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 120);
    CHECK_MSG(job != NULL, "see %s", l2);
    json_decref(job);
    CHECK(wh_wait_log_event(l2, "POLLING", 1, 10));
    CHECK_INT_EQ(wh_stop(&w2, SIGTERM, 60), 0);
    CHECK(queue_job_of(id, state, &retries, NULL));
    CHECK_STR_EQ(state, "completed");
    CHECK_INT_EQ(retries, 0);
    CHECK(wh_queue_settings(&fx, 3, 1, 600));
}

static void test_database_restart(void)
{
    char id[64] = "", lw[700];
    log_path(lw, sizeof lw, "db-restart");
    wh_proc w;
    const char *extra[] = {"WORKER_RENDER_DPI=20", NULL};
    CHECK(wh_worker_start(&fx, &w, "db-restart", extra, NULL));
    CHECK(wh_wait_log_event(lw, "POLLING", 1, 60));
    awm_error err;
    CHECK(pg_harness_restart(fx.pg, true, &err));
    CHECK(wh_post_export(&fx, 8, 10, NULL, id) || wh_post_export(&fx, 8, 10, NULL, id));
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 120);
    CHECK_MSG(job != NULL, "see %s", lw);
    json_decref(job);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
}

int main(void)
{
    if (!wh_fixture_start(&fx))
        return wh_fixture_finish(&fx, 1);
    CHECK(wh_queue_settings(&fx, 3, 1, 600));
    RUN(test_killed_worker);
    RUN(test_api_down);
    RUN(test_deleted_and_invalid_jobs);
    RUN(test_sigterm_finishes_job);
    RUN(test_sigterm_releases_job);
    RUN(test_database_restart);
    return wh_fixture_finish(&fx, TEST_EXIT());
}
