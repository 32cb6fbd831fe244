/* test_pgboss_serve.c — `awm serve` with QUEUE_BACKEND=pgboss feeds the seed's queue: the export
 * queue is created when missing, each export is sent with the seed's options and payload, and a
 * pg-boss work() handler (what the seed's Node worker runs) receives it. The seed's own export
 * body is accepted. */
#include <signal.h>

#include "pgboss/boss_fixture.h"
#include "worker/worker_harness.h"

static wh_fixture fx;
static PGconn *conn;

static void test_serve_refuses_without_pgboss_schema(void)
{
    wh_stop(&fx.api, SIGTERM, 20);
    setenv("QUEUE_BACKEND", "pgboss", 1);
    char env_db[600], env_port[32], log[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", bx_url);
    snprintf(env_port, sizeof env_port, "PORT=%d", fx.api_port);
    snprintf(log, sizeof log, "%s/api-refused.log", fx.dir);
    const char *env[] = {env_db, env_port, "HOST=127.0.0.1", NULL};
    const char *args[] = {"serve", NULL};
    wh_proc p;
    CHECK(wh_spawn(&p, args, env, log));
    CHECK(wh_wait(&p, 60));
    CHECK_INT_EQ(p.exit_status, 1);
    json_t *ev = wh_log_events(log, "SERVER_FAILED");
    const char *msg = json_string_value(json_object_get(json_array_get(ev, 0), "error"));
    CHECK_MSG(msg && strstr(msg, "no pg-boss schema 'pgboss'") && strstr(msg, "version 26"), "%s", msg ? msg : "(none)");
    json_decref(ev);
}

static void test_export_reaches_a_pgboss_worker(void)
{
    /* pg-boss's schema exists (the seed's API started once); the queue does not yet. */
    json_decref(bx_boss("init", NULL));
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.queue", NULL, NULL, NULL), 0);
    CHECK(wh_api_start(&fx));

    /* The seed's own export body (its WORKER-DOCKER-SETUP.md example). */
    char url[300], body[400];
    snprintf(url, sizeof url, "%s/api/export", fx.api_url);
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":18,\"heightInches\":24,\"paperSizeName\":\"18×24\"}",
             fx.user_map_id);
    json_t *answer = NULL;
    long status = wh_http("POST", url, body, NULL, &answer);
    CHECK_INT_EQ(status, 202);
    const char *pj = json_string_value(json_object_get(answer, "printJobId"));
    char print_job[64] = "";
    snprintf(print_job, sizeof print_job, "%s", pj ? pj : "");
    CHECK(awm_is_uuid(print_job));
    CHECK(json_is_object(json_object_get(answer, "printableMap")));
    CHECK(json_is_string(json_object_get(answer, "message")));
    json_decref(answer);

    /* The queue as createQueue('export-map') makes it, the job with the seed's options. */
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.queue WHERE name = 'export-map' AND policy = 'standard'"
                              " AND retry_limit = 2 AND retry_delay = 0 AND expire_seconds = 900", NULL, NULL, NULL), 1);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE name = 'export-map' AND retry_limit = 3"
                              " AND retry_delay = 60 AND retry_backoff AND expire_seconds = 3600 AND state = 'created'"
                              " AND data->>'printJobId' = $1", print_job, NULL, NULL), 1);

    /* What the seed's Node worker runs: work('export-map', handler) with default options. */
    json_t *got = bx_boss("work", QUEUE_EXPORT, "1", NULL);
    json_t *data = json_object_get(got, "data");
    CHECK_STR_EQ(json_string_value(json_object_get(data, "printJobId")), print_job);
    CHECK(json_is_string(json_object_get(data, "printableMapId")));
    CHECK_INT_EQ(json_object_size(data), 4);
    json_t *um = json_object_get(data, "userMapData"), *pm = json_object_get(data, "printableMapData");
    CHECK_STR_EQ(json_string_value(json_object_get(um, "title")), "Our Family Journey");
    CHECK(json_array_size(json_object_get(um, "people")) >= 1);
    CHECK(json_is_array(json_object_get(um, "rotation")));
    CHECK_INT_EQ(json_number_value(json_object_get(pm, "widthInches")), 18);
    CHECK_INT_EQ(json_number_value(json_object_get(pm, "heightInches")), 24);
    CHECK_STR_EQ(json_string_value(json_object_get(pm, "paperSizeName")), "18×24");
    json_decref(got);
    /* The handler returned, so pg-boss completed the job. */
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE state = 'completed' AND data->>'printJobId' = $1",
                        print_job, NULL, NULL), 1);

    /* `awm jobs requeue` finds a pending print job whose pg-boss job is gone and sends it again,
     * in the seed's shape; one whose job is still there is left alone. */
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM print_jobs WHERE state = 'pending_export'", NULL, NULL, NULL), 1);
    char env_db[600], log[800];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", bx_url);
    snprintf(log, sizeof log, "%s/requeue.log", fx.dir);
    const char *env[] = {env_db, "QUEUE_BACKEND=pgboss", NULL};
    const char *args[] = {"jobs", "requeue", NULL};
    wh_proc p;
    CHECK(wh_spawn(&p, args, env, log));
    CHECK(wh_wait(&p, 60));
    CHECK_INT_EQ(p.exit_status, 0);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE data->>'printJobId' = $1", print_job, NULL, NULL), 1);
    bx_sql(conn, "DELETE FROM pgboss.job WHERE data->>'printJobId' = $1", print_job, NULL, NULL);
    CHECK(wh_spawn(&p, args, env, log));
    CHECK(wh_wait(&p, 60));
    CHECK_INT_EQ(p.exit_status, 0);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE data->>'printJobId' = $1 AND state = 'created'"
                              " AND retry_limit = 3 AND data ? 'userMapData' AND data ? 'printableMapData'",
                        print_job, NULL, NULL), 1);
}

/* Deleting a map leaves none of its data in the pg-boss queue (the seed-shaped message has no
 * userMapId: its jobs are found through their printable map). */
static void test_map_deletion_empties_the_queue(void)
{
    char url[300], body[400];
    snprintf(url, sizeof url, "%s/api/maps", fx.api_url);
    json_t *made = NULL;
    CHECK_INT_EQ(wh_http("POST", url, "{\"title\":\"Gone soon\",\"people\":[{\"id\":\"a\",\"name\":\"A\","
                                      "\"color\":\"#123456\",\"locations\":[{\"name\":\"Oslo\",\"countryCode\":\"NO\","
                                      "\"longitude\":10.75,\"latitude\":59.91}]}]}", NULL, &made), 201);
    char id[64] = "", token[128] = "";
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(json_object_get(made, "userMap"), "id")) ?: "");
    snprintf(token, sizeof token, "%s", json_string_value(json_object_get(made, "editToken")) ?: "");
    json_decref(made);
    snprintf(url, sizeof url, "%s/api/export", fx.api_url);
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":18,\"heightInches\":24}", id);
    json_t *answer = NULL;
    CHECK_INT_EQ(wh_http("POST", url, body, NULL, &answer), 202);
    json_decref(answer);
    const char *count_sql = "SELECT count(*) FROM pgboss.job WHERE data->>'printableMapId' IN"
                            " (SELECT id::text FROM printable_maps WHERE user_map_id = $1::uuid)";
    CHECK_INT_EQ(bx_sql(conn, count_sql, id, NULL, NULL), 1);
    long before = bx_sql(conn, "SELECT count(*) FROM pgboss.job", NULL, NULL, NULL);
    snprintf(url, sizeof url, "%s/api/maps/%s", fx.api_url, id);
    long status = wh_http("DELETE", url, NULL, token, NULL);
    CHECK_MSG(status == 200 || status == 204, "DELETE answered %ld", status);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job", NULL, NULL, NULL), before - 1);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE data::text LIKE '%Gone soon%'", NULL, NULL, NULL), 0);
}

int main(void)
{
    if (!wh_fixture_start(&fx)) {
        fprintf(stderr, "fixture failed\n");
        return 1;
    }
    /* boss.mjs on the fixture's server. */
    bx_pg = fx.pg;
    bx_db_url(bx_url, sizeof bx_url, "postgres");
    setenv("DATABASE_URL", bx_url, 1);
    bx_find_node();
    snprintf(bx_script, sizeof bx_script, "%s/tests/pgboss/boss.mjs", getenv("AWM_SOURCE_ROOT"));
    snprintf(bx_tmp, sizeof bx_tmp, "%s", fx.dir);
    conn = bx_connect();
    RUN(test_serve_refuses_without_pgboss_schema);
    RUN(test_export_reaches_a_pgboss_worker);
    RUN(test_map_deletion_empties_the_queue);
    PQfinish(conn);
    return wh_fixture_finish(&fx, TEST_EXIT());
}
