/* test_pgboss_queue.c — the pgboss queue backend against the real pg-boss 12.5.2 (from npm,
 * pinned by tests/pgboss/package-lock.json) on a real PostgreSQL: what one side writes, the
 * other reads; the same failures and expiries through either give the same rows. */
#include "pgboss/boss_fixture.h"

#define OPTS_SEED "{\"retryLimit\":3,\"retryDelay\":60,\"retryBackoff\":true,\"expireInSeconds\":3600}"

static PGconn *conn;

static const char *jstr(json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

/* ---- schema: refusal and installation ------------------------------------------------------ */

static void check_refused(const char *schema, const char *want1, const char *want2)
{
    bx_use_pgboss(schema);
    awm_error err = {{0}};
    CHECK(!queue_backend_check(conn, &err));
    CHECK_MSG(strstr(err.msg, want1) && strstr(err.msg, want2), "schema %s: message \"%s\" lacks \"%s\"/\"%s\"",
              schema, err.msg, want1, want2);
    CHECK_MSG(strstr(err.msg, "supported: "), "message names what is supported: %s", err.msg);
}

static void test_version_refusal(void)
{
    check_refused("pgboss", "no pg-boss schema 'pgboss'", "version 26");
    /* Schemas of later pg-boss versions: 12.6.0 moved to 27, 12.38 is at 46. */
    const char *versions[] = {"27", "46"};
    for (int i = 0; i < 2; i++) {
        char sql[300], schema[32];
        snprintf(schema, sizeof schema, "boss_v%s", versions[i]);
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s; CREATE TABLE %s.version (version int primary key, cron_on timestamptz);"
                 " INSERT INTO %s.version VALUES (%s)", schema, schema, schema, versions[i]);
        PGresult *r = PQexec(conn, sql);
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
        PQclear(r);
        char want[64];
        snprintf(want, sizeof want, "is at version %s", versions[i]);
        check_refused(schema, want, "version 26 only");
        /* And nothing was changed. */
        snprintf(sql, sizeof sql, "SELECT version FROM %s.version", schema);
        CHECK_INT_EQ(bx_sql(conn, sql, NULL, NULL, NULL), atol(versions[i]));
    }
    /* The worker refuses to start on it, naming the version (its log says why). */
    bx_use_pgboss("pgboss");
}

/* pg_dump --schema-only of schema pgboss in database db, into a string. */
static char *dump_schema(const char *db)
{
    char bindir[1024] = "/usr/lib/postgresql/15/bin";
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p) {
        if (fgets(bindir, sizeof bindir, p))
            bindir[strcspn(bindir, "\n")] = '\0';
        pclose(p);
    }
    char prog[1100], port[16], out[1100];
    snprintf(prog, sizeof prog, "%s/pg_dump", bindir);
    snprintf(port, sizeof port, "%d", pg_harness_port(bx_pg));
    snprintf(out, sizeof out, "%s/dump-%s.sql", bx_tmp, db);
    const char *args[] = {"-h", "127.0.0.1", "-p", port, "-U", "awm", "--schema-only", "--no-owner", "-n", "pgboss",
                          db, NULL};
    int rc = tk_run(prog, args, out, NULL);
    CHECK_INT_EQ(rc, 0);
    char *text = NULL;
    size_t len;
    awm_read_file(out, &text, &len, NULL);
    /* pg_dump frames its output with \restrict <random key> lines: not part of the schema. */
    awm_buf kept = {0};
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line + 1) : strlen(line);
        if (strncmp(line, "\\restrict ", 10) && strncmp(line, "\\unrestrict ", 12))
            awm_buf_append(&kept, line, n);
        line += n;
    }
    free(text);
    return kept.data;
}

static void test_install_equals_pgboss(void)
{
    PGresult *r = PQexec(conn, "CREATE DATABASE by_node");
    PQclear(r);
    r = PQexec(conn, "CREATE DATABASE by_awm");
    PQclear(r);
    char url[512];
    bx_db_url(url, sizeof url, "by_node");
    setenv("DATABASE_URL", url, 1);
    json_t *v = bx_boss("init", NULL);
    setenv("DATABASE_URL", bx_url, 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "version")), 26);
    json_decref(v);

    bx_db_url(url, sizeof url, "by_awm");
    awm_error err = {{0}};
    PGconn *c = db_connect(url, &err);
    CHECK(c != NULL);
    CHECK_MSG(queue_pgboss_install(c, "pgboss", &err), "%s", err.msg);
    /* A second time the schema exists: refused, nothing touched. */
    CHECK(!queue_pgboss_install(c, "pgboss", &err));
    CHECK_MSG(strstr(err.msg, "already exists"), "%s", err.msg);
    CHECK(!queue_pgboss_install(c, "Bad-Name", &err));
    CHECK_MSG(strstr(err.msg, "PGBOSS_SCHEMA"), "%s", err.msg);
    PQfinish(c);

    char *a = dump_schema("by_node"), *b = dump_schema("by_awm");
    CHECK(a && b && strlen(a) > 1000);
    size_t at = 0;
    while (a && b && a[at] && a[at] == b[at])
        at++;
    CHECK_MSG(a && b && !strcmp(a, b), "the schema AWM builds differs from pg-boss's at byte %zu: \"%.80s\" vs \"%.80s\"",
              at, a ? a + at : "", b ? b + at : "");
    free(a);
    free(b);
    /* And pg-boss accepts AWM's schema as its own (no migration wanted, starts). */
    setenv("DATABASE_URL", url, 1);
    v = bx_boss("init", NULL);
    setenv("DATABASE_URL", bx_url, 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(v, "version")), 26);
    json_decref(v);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

static json_t *node_get(const char *queue, const char *id)
{
    json_t *j = bx_boss("get", queue, id, NULL);
    CHECK_MSG(json_is_object(j), "getJobById(%s, %s)", queue, id);
    return j;
}

static void test_node_sends_awm_completes(void)
{
    json_t *r = bx_boss("create-queue", QUEUE_EXPORT, NULL);
    json_decref(r);
    char payload[2048];
    bx_seed_payload(payload, sizeof payload, "0b5a4c1e-1d2f-4e3a-9b8c-7d6e5f4a3b2c");
    r = bx_boss("send", QUEUE_EXPORT, payload, NULL);
    char id[QUEUE_ID_LEN] = "";
    snprintf(id, sizeof id, "%s", r ? jstr(r, "id") : "");
    json_decref(r);
    CHECK(awm_is_uuid(id));

    awm_error err = {{0}};
    queue_options qo;
    CHECK_MSG(queue_get_options(conn, QUEUE_EXPORT, &qo, &err), "%s", err.msg);
    CHECK_INT_EQ(qo.retry_limit, 2); /* createQueue with no options: pg-boss's defaults */
    queue_job *jobs = NULL;
    size_t n = 0;
    CHECK_MSG(queue_fetch(conn, QUEUE_EXPORT, 1, &jobs, &n, &err), "%s", err.msg);
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
        CHECK_STR_EQ(jobs[0].id, id);
        CHECK(jobs[0].state == QUEUE_STATE_ACTIVE);
        CHECK_INT_EQ(jobs[0].retry_limit, 3);
        CHECK_INT_EQ(jobs[0].retry_delay_s, 60);
        CHECK(jobs[0].retry_backoff);
        CHECK_INT_EQ(jobs[0].expire_in_s, 3600);
        CHECK_INT_EQ(jobs[0].retry_count, 0);
        CHECK(jobs[0].data && strstr(jobs[0].data, "\"userMapData\""));
        CHECK(jobs[0].claim[0] != '\0');
        json_t *mid = node_get(QUEUE_EXPORT, id);
        CHECK_STR_EQ(jstr(mid, "state"), "active");
        json_decref(mid);
        CHECK_INT_EQ(queue_complete(conn, id, jobs[0].claim, "{\"filePath\":\"/app/exports/x.png\"}", &err), QUEUE_OK);
        /* A second complete with the same claim: the job is no longer active. */
        CHECK_INT_EQ(queue_complete(conn, id, jobs[0].claim, NULL, &err), QUEUE_CLAIM_LOST);
    }
    queue_jobs_free(jobs, n);
    json_t *done = node_get(QUEUE_EXPORT, id);
    CHECK_STR_EQ(jstr(done, "state"), "completed");
    CHECK_STR_EQ(jstr(json_object_get(done, "output"), "filePath"), "/app/exports/x.png");
    CHECK(json_is_string(json_object_get(done, "completedOn")));
    json_decref(done);
    long counts[QUEUE_STATE_COUNT];
    CHECK(queue_counts(conn, QUEUE_EXPORT, counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_COMPLETED], 1);
}

/* A job's row as pg-boss keeps it, for comparing the two sides. */
typedef struct {
    char state[16];
    long retry_count;
    char output[256];
    double start_after, completed_on; /* epoch seconds; 0 = NULL */
} row;

static void read_row(const char *id, row *r)
{
    const char *params[] = {id};
    awm_error err = {{0}};
    PGresult *res = db_exec(conn, "row",
                            "SELECT state::text, retry_count, coalesce(output::text, ''),"
                            " date_part('epoch', start_after), coalesce(date_part('epoch', completed_on), 0)"
                            " FROM pgboss.job WHERE id = $1::uuid", 1, params, &err);
    memset(r, 0, sizeof *r);
    if (res && PQntuples(res) == 1) {
        snprintf(r->state, sizeof r->state, "%s", PQgetvalue(res, 0, 0));
        r->retry_count = atol(PQgetvalue(res, 0, 1));
        snprintf(r->output, sizeof r->output, "%s", PQgetvalue(res, 0, 2));
        r->start_after = atof(PQgetvalue(res, 0, 3));
        r->completed_on = atof(PQgetvalue(res, 0, 4));
    }
    PQclear(res);
}

static double db_now(void)
{
    return bx_sql_double(conn, "SELECT date_part('epoch', clock_timestamp())", NULL);
}

static char *send_node(const char *queue, const char *opts)
{
    char payload[2048];
    bx_seed_payload(payload, sizeof payload, "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a");
    json_t *r = bx_boss("send", queue, payload, opts, NULL);
    char *id = awm_strdup(r && jstr(r, "id") ? jstr(r, "id") : "");
    json_decref(r);
    return id;
}

static void test_fail_differential(void)
{
    json_decref(bx_boss("create-queue", "diff-node", NULL));
    json_decref(bx_boss("create-queue", "diff-awm", NULL));
    char *a = send_node("diff-node", OPTS_SEED), *b = send_node("diff-awm", OPTS_SEED);
    /* Backoff window of the retry after attempt n (retry_count n): 60 + 2^n … 60 + 2^(n+1) s. */
    for (int round = 0; round < 4; round++) {
        /* pg-boss's worker side: fetch, then fail with the error object. */
        json_t *fj = bx_boss("fetch", "diff-node", NULL);
        CHECK_MSG(fj && json_is_object(fj), "round %d: node fetched nothing", round);
        CHECK_STR_EQ(fj ? jstr(fj, "id") : "", a);
        double t0 = db_now();
        json_decref(bx_boss("fail", "diff-node", a, "{\"message\":\"render failed: boom\"}", NULL));
        double t1 = db_now();
        json_decref(fj);
        /* AWM's. */
        awm_error err = {{0}};
        queue_job *jobs = NULL;
        size_t n = 0;
        CHECK(queue_fetch(conn, "diff-awm", 1, &jobs, &n, &err));
        CHECK_INT_EQ(n, 1);
        queue_state ns = QUEUE_STATE_CREATED;
        double t2 = db_now();
        if (n == 1)
            CHECK_INT_EQ(queue_fail(conn, jobs[0].id, jobs[0].claim, "render failed: boom", &ns, &err), QUEUE_OK);
        double t3 = db_now();
        queue_jobs_free(jobs, n);

        row ra, rb;
        read_row(a, &ra);
        read_row(b, &rb);
        CHECK_STR_EQ(ra.state, rb.state);
        CHECK_STR_EQ(ra.state, round < 3 ? "retry" : "failed");
        CHECK(ns == (round < 3 ? QUEUE_STATE_RETRY : QUEUE_STATE_FAILED));
        CHECK_INT_EQ(ra.retry_count, round);
        CHECK_INT_EQ(rb.retry_count, round);
        CHECK_STR_EQ(ra.output, rb.output);
        CHECK_STR_EQ(rb.output, "{\"message\": \"render failed: boom\"}");
        if (round < 3) {
            double lo = 60 + (1 << round), hi = 60 + (2 << round);
            CHECK_MSG(ra.start_after >= t0 + lo - 0.01 && ra.start_after <= t1 + hi + 0.01,
                      "round %d node: start_after %.3f not in [%.3f, %.3f]", round, ra.start_after, t0 + lo, t1 + hi);
            CHECK_MSG(rb.start_after >= t2 + lo - 0.01 && rb.start_after <= t3 + hi + 0.01,
                      "round %d awm: start_after %.3f not in [%.3f, %.3f]", round, rb.start_after, t2 + lo, t3 + hi);
            CHECK(ra.completed_on == 0 && rb.completed_on == 0);
            /* Make both fetchable again (the test does not wait out a minute). */
            bx_sql(conn, "UPDATE pgboss.job SET start_after = now() - interval '1 second' WHERE id IN ($1::uuid, $2::uuid)",
                   a, b, NULL);
        } else {
            CHECK(ra.completed_on > 0 && rb.completed_on > 0);
        }
    }
    free(a);
    free(b);
}

static void test_expiry_differential(void)
{
    json_decref(bx_boss("create-queue", "exp-node", NULL));
    json_decref(bx_boss("create-queue", "exp-awm", NULL));
    char *a = send_node("exp-node", OPTS_SEED), *b = send_node("exp-awm", OPTS_SEED);
    char *c = send_node("exp-awm", OPTS_SEED); /* fetched, not expired: left alone */
    json_decref(bx_boss("fetch", "exp-node", NULL));
    awm_error err = {{0}};
    queue_job *jobs = NULL;
    size_t n = 0;
    CHECK(queue_fetch(conn, "exp-awm", 2, &jobs, &n, &err));
    CHECK_INT_EQ(n, 2);
    char claim[QUEUE_ID_LEN] = "";
    for (size_t i = 0; i < n; i++)
        if (!strcmp(jobs[i].id, b))
            snprintf(claim, sizeof claim, "%s", jobs[i].claim);
    queue_jobs_free(jobs, n);
    /* Their expiry passes (expire_seconds 0 keeps started_on, which the claim is). */
    bx_sql(conn, "UPDATE pgboss.job SET expire_seconds = 0 WHERE id IN ($1::uuid, $2::uuid)", a, b, NULL);

    double t0 = db_now();
    json_decref(bx_boss("supervise", "exp-node", NULL));
    double t1 = db_now();
    row ra, rb;
    read_row(b, &rb);
    CHECK_STR_EQ(rb.state, "active"); /* pg-boss supervised only its queue */
    long expired = 0;
    CHECK_MSG(queue_supervise(conn, &expired, &err), "%s", err.msg);
    double t2 = db_now();
    CHECK_INT_EQ(expired, 1);
    read_row(a, &ra);
    read_row(b, &rb);
    CHECK_STR_EQ(ra.state, "retry");
    CHECK_STR_EQ(rb.state, "retry");
    CHECK_INT_EQ(ra.retry_count, 0);
    CHECK_INT_EQ(rb.retry_count, 0);
    CHECK_STR_EQ(ra.output, "{\"value\": {\"message\": \"job timed out\"}}");
    CHECK_STR_EQ(rb.output, ra.output);
    CHECK(ra.start_after >= t0 + 61 - 0.01 && ra.start_after <= t1 + 62 + 0.01);
    CHECK(rb.start_after >= t1 + 61 - 0.01 && rb.start_after <= t2 + 62 + 0.01);
    row rc;
    read_row(c, &rc);
    CHECK_STR_EQ(rc.state, "active");

    /* The late complete of the worker whose job expired changes nothing … */
    CHECK_INT_EQ(queue_complete(conn, b, claim, "{\"late\":true}", &err), QUEUE_CLAIM_LOST);
    CHECK_INT_EQ(queue_fail(conn, b, claim, "late", NULL, &err), QUEUE_CLAIM_LOST);
    row again;
    read_row(b, &again);
    CHECK_STR_EQ(again.state, "retry");
    CHECK_STR_EQ(again.output, rb.output);
    /* … also once a Node worker has fetched it again: that attempt stays its own. */
    bx_sql(conn, "UPDATE pgboss.job SET start_after = now() - interval '1 second' WHERE id = $1::uuid", b, NULL, NULL);
    json_t *fj = bx_boss("fetch", "exp-awm", NULL);
    CHECK_STR_EQ(fj ? jstr(fj, "id") : "", b);
    CHECK_INT_EQ(json_integer_value(json_object_get(fj, "retryCount")), 1);
    json_decref(fj);
    CHECK_INT_EQ(queue_complete(conn, b, claim, "{\"late\":true}", &err), QUEUE_CLAIM_LOST);
    read_row(b, &again);
    CHECK_STR_EQ(again.state, "active");
    json_decref(bx_boss("complete", "exp-awm", b, "{\"by\":\"node\"}", NULL));
    read_row(b, &again);
    CHECK_STR_EQ(again.state, "completed");
    CHECK_STR_EQ(again.output, "{\"by\": \"node\"}");
    free(a);
    free(b);
    free(c);
}

static void test_release_charges_no_attempt(void)
{
    json_decref(bx_boss("create-queue", "rel", NULL));
    char *a = send_node("rel", OPTS_SEED);
    awm_error err = {{0}};
    queue_job *jobs = NULL;
    size_t n = 0;
    CHECK(queue_fetch(conn, "rel", 1, &jobs, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
        CHECK_INT_EQ(queue_release(conn, a, jobs[0].claim, &err), QUEUE_OK);
        CHECK_INT_EQ(queue_release(conn, a, jobs[0].claim, &err), QUEUE_CLAIM_LOST);
    }
    queue_jobs_free(jobs, n);
    row r;
    read_row(a, &r);
    CHECK_STR_EQ(r.state, "created");
    json_t *fj = bx_boss("fetch", "rel", NULL); /* at once: no delay */
    CHECK_STR_EQ(fj ? jstr(fj, "id") : "", a);
    CHECK_INT_EQ(json_integer_value(json_object_get(fj, "retryCount")), 0);
    json_decref(fj);
    /* A retry released: the next fetch counts that retry once, not twice. */
    json_decref(bx_boss("fail", "rel", a, "{\"message\":\"x\"}", NULL));
    bx_sql(conn, "UPDATE pgboss.job SET start_after = now() - interval '1 second' WHERE id = $1::uuid", a, NULL, NULL);
    CHECK(queue_fetch(conn, "rel", 1, &jobs, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
        CHECK_INT_EQ(jobs[0].retry_count, 1);
        CHECK_INT_EQ(queue_release(conn, a, jobs[0].claim, &err), QUEUE_OK);
    }
    queue_jobs_free(jobs, n);
    read_row(a, &r);
    CHECK_STR_EQ(r.state, "retry");
    fj = bx_boss("fetch", "rel", NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(fj, "retryCount")), 1);
    json_decref(fj);
    free(a);
}

/* AWM sends an export as the seed's API does: the queue is created when missing, the job has
 * the seed's options and payload — the same row as pg-boss's send from the seed's code. */
static void test_awm_sends_like_the_seed(void)
{
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.queue WHERE name = 'export-map'", NULL, NULL, NULL), 0);
    awm_error err = {{0}};
    char id[QUEUE_ID_LEN];
    CHECK_MSG(queue_send_export(conn, "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "6f1c1f1e-8a53-4c7b-9d36-0c5e2f4b7a10",
                                "11111111-2222-4333-8444-555555555555", "{\"title\":\"Our Family\"}",
                                "{\"widthInches\":18,\"heightInches\":24}", id, &err), "%s", err.msg);
    CHECK(awm_is_uuid(id));
    char *node_id = send_node(QUEUE_EXPORT, OPTS_SEED);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.queue WHERE name = 'export-map' AND policy = 'standard'"
                              " AND retry_limit = 2 AND expire_seconds = 900 AND table_name = 'job_common'",
                        NULL, NULL, NULL), 1);
    /* Every column but the ids, data and times is the same as pg-boss's own send's. */
    const char *cols = "SELECT name || policy || priority || state || retry_limit || retry_count || retry_delay ||"
                       " retry_backoff || coalesce(retry_delay_max, -1) || expire_seconds || deletion_seconds ||"
                       " coalesce(singleton_key, '-') || coalesce(dead_letter, '-') ||"
                       " round(date_part('epoch', keep_until - start_after)) FROM pgboss.job WHERE id = $1::uuid";
    char *mine = bx_sql_text(conn, cols, id, NULL, NULL), *theirs = bx_sql_text(conn, cols, node_id, NULL, NULL);
    CHECK_STR_EQ(mine, theirs);
    free(mine);
    free(theirs);
    char *keys = bx_sql_text(conn, "SELECT string_agg(k, ',' ORDER BY k) FROM pgboss.job, jsonb_object_keys(data) k"
                                   " WHERE id = $1::uuid", id, NULL, NULL);
    CHECK_STR_EQ(keys, "printJobId,printableMapData,printableMapId,userMapData");
    free(keys);
    char *title = bx_sql_text(conn, "SELECT data->'userMapData'->>'title' FROM pgboss.job WHERE id = $1::uuid", id,
                              NULL, NULL);
    CHECK_STR_EQ(title, "Our Family");
    free(title);
    free(node_id);
    bx_sql(conn, "DELETE FROM pgboss.job WHERE name = 'export-map'", NULL, NULL, NULL);
}

/* AWM's supervision takes pg-boss's own advisory lock: while a Node process holds it, AWM's
 * expiry of that partition waits, and runs once it is released. */
static void test_supervision_shares_the_lock(void)
{
    json_t *k = bx_boss("lock-key", "job_commonfailJobsByTimeout", NULL);
    const char *locked = k ? jstr(k, "sql") : NULL;
    CHECK(locked && strstr(locked, "pg_advisory_xact_lock"));
    /* pg-boss's locked() script with its statement removed: take the lock and keep it. */
    awm_buf sql = {0};
    const char *start = locked ? strstr(locked, "SELECT pg_advisory_xact_lock") : NULL;
    const char *end = start ? strstr(start, ");") : NULL;
    if (start && end)
        awm_buf_printf(&sql, "BEGIN; %.*s)", (int)(end - start), start);
    json_decref(k);
    PGconn *holder = bx_connect();
    PGresult *r = PQexec(holder, sql.data ? sql.data : "SELECT 1");
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    awm_buf_free(&sql);
    /* AWM's supervise on another connection, sent without waiting for it. */
    PGconn *awm = bx_connect();
    PQsetnonblocking(awm, 0);
    const char *lock_key_sql = "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                               " WHERE l.locktype = 'advisory' AND NOT l.granted AND a.pid = $1::int";
    char pid[16];
    snprintf(pid, sizeof pid, "%d", PQbackendPID(awm));
    pid_t child = fork();
    if (child == 0) {
        awm_error e;
        long expired = 0;
        bool ok = queue_supervise(awm, &expired, &e);
        _exit(ok ? 0 : 1);
    }
    /* Wait (no timing asserted) until AWM's backend is queued behind the lock. */
    long waiting = 0;
    for (int i = 0; i < 600 && !waiting; i++) {
        waiting = bx_sql(conn, lock_key_sql, pid, NULL, NULL);
        if (!waiting)
            usleep(50000);
    }
    CHECK_MSG(waiting == 1, "AWM's supervision did not wait for pg-boss's advisory lock");
    r = PQexec(holder, "COMMIT");
    PQclear(r);
    CHECK_INT_EQ(tk_wait(child, 60), 0);
    PQfinish(holder);
    /* The child used the connection; the parent only closes its socket. */
    PQfinish(awm);
}

static void test_maintenance_deletes_like_pgboss(void)
{
    json_decref(bx_boss("create-queue", "old", NULL));
    char *done = send_node("old", OPTS_SEED), *queued = send_node("old", OPTS_SEED);
    bx_sql(conn, "UPDATE pgboss.job SET state = 'completed', completed_on = now() - interval '8 days'"
                 " WHERE id = $1::uuid", done, NULL, NULL);
    long deleted = 0;
    awm_error err = {{0}};
    CHECK_MSG(queue_maintain(conn, &deleted, &err), "%s", err.msg);
    CHECK(deleted >= 1);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE id = $1::uuid", done, NULL, NULL), 0);
    CHECK_INT_EQ(bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE id = $1::uuid", queued, NULL, NULL), 1);
    free(done);
    free(queued);
}

static void test_listener_only_times_out(void)
{
    awm_error err = {{0}};
    queue_listener *l = queue_listener_open(bx_url, &err);
    CHECK(l != NULL);
    if (l) {
        CHECK_INT_EQ(queue_wait(l, QUEUE_EXPORT, 50), QUEUE_WAKE_TIMEOUT);
        CHECK_INT_EQ(queue_listener_backend_pid(l), 0);
    }
    queue_listener_close(l);
}

int main(void)
{
    bx_start();
    conn = bx_connect();
    RUN(test_version_refusal);
    RUN(test_install_equals_pgboss);
    json_t *v = bx_boss("init", NULL); /* pg-boss creates its schema in the main database */
    json_decref(v);
    bx_use_pgboss("pgboss");
    awm_error err = {{0}};
    CHECK_MSG(queue_backend_check(conn, &err), "%s", err.msg);
    RUN(test_awm_sends_like_the_seed);
    RUN(test_node_sends_awm_completes);
    RUN(test_fail_differential);
    RUN(test_expiry_differential);
    RUN(test_release_charges_no_attempt);
    RUN(test_supervision_shares_the_lock);
    RUN(test_maintenance_deletes_like_pgboss);
    RUN(test_listener_only_times_out);
    PQfinish(conn);
    bx_finish();
    return TEST_EXIT();
}
