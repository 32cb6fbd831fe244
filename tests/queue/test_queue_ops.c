/* test_queue_ops.c — every queue operation and state transition against a real PostgreSQL
 * (a private server from pg_harness): migrations, queues, send, fetch order, complete, fail
 * with retry delays and backoff, dead-letter copies, singleton keys, the claim fence,
 * cancel/resume/retry, counts, supervision, maintenance and LISTEN/NOTIFY wake-ups. */
#include <dirent.h>
#include <pthread.h>
#include <string.h>

#include "queue_fixture.h"

static PGconn *conn;

static queue_job fetch_one(const char *queue)
{
    queue_job *jobs = NULL;
    size_t n = 0;
    awm_error err = {{0}};
    queue_job j;
    memset(&j, 0, sizeof j);
    CHECK_MSG(queue_fetch(conn, queue, 1, &jobs, &n, &err), "%s", err.msg);
    if (n == 1) {
        j = jobs[0];
        free(jobs);
    } else {
        queue_jobs_free(jobs, n);
    }
    return j;
}

static void send_ok(const char *queue, const char *data, const queue_send_options *o, char id[QUEUE_ID_LEN])
{
    awm_error err = {{0}};
    CHECK_MSG(queue_send(conn, queue, data, o, id, &err), "%s", err.msg);
}

static void create_queue(const char *name, int retry_limit, int delay, bool backoff, int delay_max,
                         const char *dead_letter)
{
    queue_options o;
    queue_options_default(&o);
    o.retry_limit = retry_limit;
    o.retry_delay_s = delay;
    o.retry_backoff = backoff;
    o.retry_delay_max_s = delay_max;
    if (dead_letter)
        snprintf(o.dead_letter, sizeof o.dead_letter, "%s", dead_letter);
    awm_error err = {{0}};
    CHECK_MSG(queue_create(conn, name, &o, &err), "%s", err.msg);
}

/* Seconds from the database's now to the job's start_after. */
static double start_after_offset(const char *id)
{
    return fx_sql_double(conn, "SELECT extract(epoch FROM start_after - now()) FROM queue.job WHERE id = $1::uuid", id);
}

static void make_fetchable(const char *id)
{
    fx_sql(conn, "UPDATE queue.job SET start_after = now() WHERE id = $1::uuid", id, NULL, NULL);
}

/* ---- migrations ---------------------------------------------------------------------------- */

static int count_migration_files(void)
{
    char dir[4096];
    awm_asset_path(dir, sizeof dir, "db/migrations");
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        n += len > 4 && !strcmp(e->d_name + len - 4, ".sql");
    }
    if (d)
        closedir(d);
    return n;
}

typedef struct {
    char conninfo[512];
    int applied;
    bool ok;
} migrate_arg;

static void *migrate_thread(void *p)
{
    migrate_arg *a = p;
    char dir[4096];
    awm_asset_path(dir, sizeof dir, "db/migrations");
    awm_error err = {{0}};
    PGconn *c = db_connect(a->conninfo, &err);
    a->ok = c && db_migrate(c, dir, &a->applied, &err);
    if (!a->ok)
        fprintf(stderr, "migrate: %s\n", err.msg);
    PQfinish(c);
    return NULL;
}

static void test_migrations_idempotent_and_locked(void)
{
    int files = count_migration_files();
    CHECK(files >= 1);
    /* The fixture applied them: running again applies nothing. */
    migrate_arg again = {.applied = -1};
    snprintf(again.conninfo, sizeof again.conninfo, "%s", pg_harness_conninfo(fx_pg));
    migrate_thread(&again);
    CHECK(again.ok);
    CHECK_INT_EQ(again.applied, 0);
    CHECK_INT_EQ(fx_sql(conn, "SELECT count(*) FROM schema_migrations", NULL, NULL, NULL), files);

    /* Two processes migrating a fresh database at once: each file applied exactly once. */
    fx_sql(conn, "CREATE DATABASE fresh", NULL, NULL, NULL);
    migrate_arg a[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        memset(&a[i], 0, sizeof a[i]);
        snprintf(a[i].conninfo, sizeof a[i].conninfo, "%s dbname=fresh", pg_harness_conninfo(fx_pg));
        pthread_create(&t[i], NULL, migrate_thread, &a[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(a[0].ok && a[1].ok);
    CHECK_INT_EQ(a[0].applied + a[1].applied, files);

    /* A missing directory is named in the error. */
    awm_error err = {{0}};
    CHECK(!db_migrate(conn, "/nonexistent/migrations", NULL, &err));
    CHECK(strstr(err.msg, "/nonexistent/migrations") != NULL);
}

/* ---- queues ----------------------------------------------------------------------------------- */

static void test_export_queue_defaults(void)
{
    queue_options o;
    awm_error err = {{0}};
    CHECK_MSG(queue_get_options(conn, QUEUE_EXPORT, &o, &err), "%s", err.msg);
    CHECK_INT_EQ(o.retry_limit, 3);
    CHECK_INT_EQ(o.retry_delay_s, 60);
    CHECK(o.retry_backoff);
    CHECK_INT_EQ(o.expire_in_s, 3600);
}

/* Callers decide on err.code, never on the message: each kind of database failure says so. */
static void test_database_errors_carry_their_kind(void)
{
    awm_error err = {{0}};
    queue_options o;
    CHECK(!queue_get_options(conn, "no-such-queue", &o, &err));
    CHECK_INT_EQ(err.code, AWM_ENOTFOUND);
    const char *params[] = {"0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b"};
    PGresult *res = db_exec(conn, "orphan printable map",
                            "INSERT INTO printable_maps (user_map_id, data) VALUES ($1, '{}')", 1, params, &err);
    CHECK(!res);
    CHECK_INT_EQ(err.code, AWM_ENOTFOUND); /* a foreign key to a row that is gone */
    CHECK(!db_run(conn, "bad cast", "SELECT 'x'::int", &err));
    CHECK_INT_EQ(err.code, AWM_EINVALID);
    CHECK(db_run(conn, "temp table", "CREATE TEMP TABLE u (k int PRIMARY KEY)", &err));
    CHECK(!db_run(conn, "unique", "INSERT INTO u VALUES (1), (1)", &err));
    CHECK_INT_EQ(err.code, AWM_ECONFLICT);
    PGconn *nowhere = db_connect("host=127.0.0.1 port=1 dbname=x connect_timeout=2", &err);
    CHECK(!nowhere);
    CHECK_INT_EQ(err.code, AWM_EUNAVAILABLE);
}

static void test_queue_create_update(void)
{
    awm_error err = {{0}};
    queue_options o, got;
    queue_options_default(&o);
    o.retry_limit = 5;
    o.expire_in_s = 42;
    o.retention_s = 100;
    CHECK_MSG(queue_create(conn, "cfg", &o, &err), "%s", err.msg);
    CHECK(queue_get_options(conn, "cfg", &got, &err));
    CHECK_INT_EQ(got.retry_limit, 5);
    CHECK_INT_EQ(got.expire_in_s, 42);
    CHECK_INT_EQ(got.retention_s, 100);
    CHECK_STR_EQ(got.dead_letter, "");

    /* Creating an existing queue leaves it as it is; update changes it. */
    queue_options other;
    queue_options_default(&other);
    CHECK(queue_create(conn, "cfg", &other, &err));
    CHECK(queue_get_options(conn, "cfg", &got, &err));
    CHECK_INT_EQ(got.retry_limit, 5);
    o.retry_limit = 1;
    snprintf(o.dead_letter, sizeof o.dead_letter, "%s", QUEUE_EXPORT);
    CHECK_MSG(queue_update(conn, "cfg", &o, &err), "%s", err.msg);
    CHECK(queue_get_options(conn, "cfg", &got, &err));
    CHECK_INT_EQ(got.retry_limit, 1);
    CHECK_STR_EQ(got.dead_letter, QUEUE_EXPORT);

    /* Bad input is an error that names the problem. */
    CHECK(!queue_create(conn, "bad name!", NULL, &err));
    CHECK(strstr(err.msg, "bad name!") != NULL);
    CHECK(!queue_update(conn, "nosuch", &o, &err));
    CHECK(strstr(err.msg, "unknown queue") != NULL);
    CHECK(!queue_get_options(conn, "nosuch", &got, &err));
    o.expire_in_s = 0;
    CHECK(!queue_create(conn, "cfg2", &o, &err));
    CHECK(strstr(err.msg, "expire_in") != NULL);
    queue_options_default(&o);
    snprintf(o.dead_letter, sizeof o.dead_letter, "missing-dlq");
    CHECK(!queue_create(conn, "cfg3", &o, &err));
    snprintf(o.dead_letter, sizeof o.dead_letter, "cfg");
    CHECK(!queue_update(conn, "cfg", &o, &err));
    CHECK(strstr(err.msg, "own dead-letter") != NULL);
}

/* ---- send, get, fetch --------------------------------------------------------------------------- */

static void test_send_and_get(void)
{
    create_queue("s", 2, 5, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    queue_send_options so;
    queue_send_options_init(&so);
    so.priority = 5;
    send_ok("s", "{\"a\": 1}", &so, id);
    CHECK_INT_EQ(strlen(id), 36);
    queue_job j;
    awm_error err = {{0}};
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_STR_EQ(j.name, "s");
    CHECK_STR_EQ(j.data, "{\"a\": 1}");
    CHECK_INT_EQ(j.state, QUEUE_STATE_CREATED);
    CHECK_INT_EQ(j.priority, 5);
    CHECK_INT_EQ(j.retry_limit, 2);
    CHECK_INT_EQ(j.retry_delay_s, 5);
    CHECK_INT_EQ(j.retry_count, 0);
    CHECK(j.created_on_ms > 0);
    CHECK(j.started_on_ms == 0 && j.completed_on_ms == 0);
    CHECK_STR_EQ(j.claim, "");
    queue_job_free(&j);

    /* Per-job overrides win over the queue's settings. */
    queue_send_options_init(&so);
    so.retry_limit = 7;
    so.expire_in_s = 10;
    so.retry_backoff = 1;
    send_ok("s", NULL, &so, id);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.retry_limit, 7);
    CHECK_INT_EQ(j.expire_in_s, 10);
    CHECK(j.retry_backoff);
    CHECK(j.data == NULL);
    queue_job_free(&j);

    CHECK(!queue_send(conn, "nosuch", "{}", NULL, id, &err));
    CHECK(strstr(err.msg, "unknown queue") != NULL);
    CHECK(!queue_send(conn, "s", "{not json", NULL, id, &err));
    CHECK(strstr(err.msg, "json") != NULL);
    CHECK_INT_EQ(queue_get(conn, "00000000-0000-0000-0000-000000000000", &j, &err), QUEUE_NOT_FOUND);
    CHECK_INT_EQ(queue_get(conn, "nope", &j, &err), QUEUE_ERROR);
    CHECK(strstr(err.msg, "not a uuid") != NULL);
}

/* Job ids lead with their creation time in ms (UUIDv7 layout), so the primary key grows at
 * its right edge instead of at random pages (migration 0006). */
static void test_job_ids_are_time_ordered(void)
{
    create_queue("ids", 2, 0, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    send_ok("ids", "{}", NULL, id);
    CHECK_INT_EQ(id[14], '7');
    CHECK(strchr("89ab", id[19]) != NULL);
    long from_id = fx_sql(conn, "SELECT ('x' || lpad(replace(substr($1, 1, 13), '-', ''), 16, '0'))::bit(64)::bigint",
                          id, NULL, NULL);
    long created = fx_sql(conn, "SELECT (extract(epoch FROM created_on) * 1000)::bigint FROM queue.job"
                                " WHERE id = $1::uuid", id, NULL, NULL);
    /* created_on is the transaction's start, the id's time a moment later: close, not equal. */
    CHECK(labs(created - from_id) <= 5000);
}

static void test_fetch_order_and_start_after(void)
{
    create_queue("order", 2, 0, false, 3600, NULL);
    char a[QUEUE_ID_LEN], b[QUEUE_ID_LEN], c[QUEUE_ID_LEN], d[QUEUE_ID_LEN];
    queue_send_options so;
    queue_send_options_init(&so);
    send_ok("order", "\"a\"", &so, a);
    send_ok("order", "\"b\"", &so, b);
    so.priority = 10;
    send_ok("order", "\"c\"", &so, c);
    so.priority = 100;
    so.start_in_s = 3600;
    send_ok("order", "\"d\"", &so, d);

    queue_job j = fetch_one("order");
    CHECK_STR_EQ(j.id, c); /* highest priority first */
    CHECK_INT_EQ(j.state, QUEUE_STATE_ACTIVE);
    CHECK_INT_EQ(strlen(j.claim), 36);
    CHECK(j.started_on_ms > 0);
    CHECK_INT_EQ(j.expire_on_ms - j.started_on_ms, 900 * 1000);
    queue_job_free(&j);
    j = fetch_one("order");
    CHECK_STR_EQ(j.id, a); /* then oldest */
    queue_job_free(&j);
    j = fetch_one("order");
    CHECK_STR_EQ(j.id, b);
    queue_job_free(&j);
    j = fetch_one("order"); /* d starts in an hour */
    CHECK_STR_EQ(j.id, "");
    queue_job_free(&j);
    make_fetchable(d);
    j = fetch_one("order");
    CHECK_STR_EQ(j.id, d);
    queue_job_free(&j);

    awm_error err = {{0}};
    queue_job *jobs;
    size_t n;
    CHECK(!queue_fetch(conn, "order", 0, &jobs, &n, &err));
    CHECK(strstr(err.msg, "batch") != NULL);
}

static void test_batch_send_fetch_complete(void)
{
    create_queue("batch", 2, 0, false, 3600, NULL);
    const char *data[120];
    char buf[120][32];
    for (int i = 0; i < 120; i++) {
        snprintf(buf[i], sizeof buf[i], "{\"i\": %d}", i);
        data[i] = buf[i];
    }
    awm_error err = {{0}};
    size_t sent = 0;
    CHECK_MSG(queue_send_batch(conn, "batch", data, 120, NULL, &sent, &err), "%s", err.msg);
    CHECK_INT_EQ(sent, 120);

    queue_job *jobs = NULL;
    size_t n = 0;
    CHECK(queue_fetch(conn, "batch", 50, &jobs, &n, &err));
    CHECK_INT_EQ(n, 50);
    long counts[QUEUE_STATE_COUNT];
    CHECK(queue_counts(conn, "batch", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_ACTIVE], 50);
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED], 70);
    const char *ids[50];
    for (size_t i = 0; i < n; i++) {
        ids[i] = jobs[i].id;
        CHECK_STR_EQ(jobs[i].claim, jobs[0].claim); /* one claim per fetch */
    }
    size_t done = 0;
    CHECK_MSG(queue_complete_many(conn, ids, n, jobs[0].claim, "{\"ok\": true}", &done, &err), "%s", err.msg);
    CHECK_INT_EQ(done, 50);
    CHECK(queue_counts(conn, "batch", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_COMPLETED], 50);
    queue_jobs_free(jobs, n);

    /* The rest with complete-and-fetch: each call finishes one batch and takes the next. */
    CHECK(queue_fetch(conn, "batch", 50, &jobs, &n, &err));
    CHECK_INT_EQ(n, 50);
    for (int round = 0; n > 0 && round < 5; round++) {
        for (size_t i = 0; i < n; i++)
            ids[i] = jobs[i].id;
        queue_job *next = NULL;
        size_t n_next = 0;
        size_t expected_done = n;
        CHECK_MSG(queue_complete_and_fetch(conn, ids, n, jobs[0].claim, NULL, &done, "batch", 50,
                                           &next, &n_next, &err), "%s", err.msg);
        CHECK_INT_EQ(done, expected_done);
        CHECK_INT_EQ(n_next, round == 0 ? 20 : 0);
        for (size_t i = 0; i < n_next; i++)
            CHECK_INT_EQ(next[i].state, QUEUE_STATE_ACTIVE);
        queue_jobs_free(jobs, n);
        jobs = next;
        n = n_next;
    }
    queue_jobs_free(jobs, n);
    CHECK(queue_counts(conn, "batch", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_COMPLETED], 120);
    CHECK_INT_EQ(counts[QUEUE_STATE_ACTIVE], 0);

    /* A bad item is named and nothing is sent. */
    data[3] = "{oops";
    CHECK(!queue_send_batch(conn, "batch", data, 10, NULL, &sent, &err));
    CHECK(strstr(err.msg, "job 3") != NULL);
    CHECK(queue_counts(conn, "batch", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED], 0);
}

static void test_batch_is_fetched_in_the_order_given(void)
{
    create_queue("border", 2, 0, false, 3600, NULL);
    const char *data[] = {"0", "1", "2", "3", "4", "5", "6", "7"};
    awm_error err = {{0}};
    CHECK(queue_send_batch(conn, "border", data, 8, NULL, NULL, &err));
    for (int i = 0; i < 8; i++) {
        queue_job j = fetch_one("border");
        CHECK_STR_EQ(j.data, data[i]);
        queue_job_free(&j);
    }
}

/* ---- complete, fail, retries ---------------------------------------------------------------------- */

static void test_complete_stores_output(void)
{
    create_queue("done", 2, 0, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    send_ok("done", "{}", NULL, id);
    queue_job j = fetch_one("done");
    awm_error err = {{0}};
    CHECK_INT_EQ(queue_complete(conn, j.id, j.claim, "{\"file\": \"x.png\"}", &err), QUEUE_OK);
    queue_job_free(&j);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_COMPLETED);
    CHECK_STR_EQ(j.output, "{\"file\": \"x.png\"}");
    CHECK_STR_EQ(j.claim, ""); /* only active jobs have a claim */
    CHECK(j.completed_on_ms >= j.started_on_ms && j.started_on_ms > 0);
    queue_job_free(&j);
}

static void test_fail_retries_with_fixed_delay(void)
{
    create_queue("fixed", 2, 30, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    send_ok("fixed", "{}", NULL, id);
    awm_error err = {{0}};
    for (int attempt = 0; attempt < 3; attempt++) {
        queue_job j = fetch_one("fixed");
        CHECK_STR_EQ(j.id, id);
        queue_state st = QUEUE_STATE_COUNT;
        CHECK_INT_EQ(queue_fail(conn, j.id, j.claim, "boom", &st, &err), QUEUE_OK);
        queue_job_free(&j);
        CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
        CHECK_STR_EQ(j.output, "{\"message\": \"boom\"}");
        if (attempt < 2) {
            CHECK_INT_EQ(st, QUEUE_STATE_RETRY);
            CHECK_INT_EQ(j.state, QUEUE_STATE_RETRY);
            CHECK_INT_EQ(j.retry_count, attempt + 1);
            CHECK_NEAR(start_after_offset(id), 30, 2);
            CHECK(j.completed_on_ms == 0);
            queue_job none = fetch_one("fixed"); /* not before the delay */
            CHECK_STR_EQ(none.id, "");
            make_fetchable(id);
        } else {
            CHECK_INT_EQ(st, QUEUE_STATE_FAILED);
            CHECK_INT_EQ(j.state, QUEUE_STATE_FAILED);
            CHECK_INT_EQ(j.retry_count, 2);
            CHECK(j.completed_on_ms > 0);
        }
        queue_job_free(&j);
    }
}

static void test_backoff_doubles_with_jitter_and_cap(void)
{
    create_queue("backoff", 5, 10, true, 50, NULL);
    char id[QUEUE_ID_LEN];
    send_ok("backoff", "{}", NULL, id);
    /* delay × 2^n × [1, 2), capped at 50 s */
    const double lo[] = {10, 20, 40, 50, 50};
    const double hi[] = {20, 40, 50, 50, 50};
    awm_error err = {{0}};
    for (int n = 0; n < 5; n++) {
        queue_job j = fetch_one("backoff");
        CHECK_STR_EQ(j.id, id);
        CHECK_INT_EQ(queue_fail(conn, j.id, j.claim, "again", NULL, &err), QUEUE_OK);
        queue_job_free(&j);
        double off = start_after_offset(id);
        CHECK_MSG(off >= lo[n] - 1.5 && off <= hi[n] + 1.5, "retry %d: delay %.2f s not in [%g, %g]", n,
                  off, lo[n], hi[n]);
        make_fetchable(id);
    }
}

static void test_dead_letter_copy(void)
{
    create_queue("dlq", 2, 0, false, 3600, NULL);
    create_queue("main", 0, 0, false, 3600, "dlq");
    char id[QUEUE_ID_LEN];
    send_ok("main", "{\"x\": 42}", NULL, id);
    queue_job j = fetch_one("main");
    awm_error err = {{0}};
    queue_state st;
    CHECK_INT_EQ(queue_fail(conn, j.id, j.claim, "fatal", &st, &err), QUEUE_OK);
    CHECK_INT_EQ(st, QUEUE_STATE_FAILED);
    queue_job_free(&j);
    long counts[QUEUE_STATE_COUNT];
    CHECK(queue_counts(conn, "dlq", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED], 1);
    j = fetch_one("dlq");
    CHECK_STR_EQ(j.data, "{\"x\": 42}");
    CHECK(strcmp(j.id, id) != 0);
    queue_job_free(&j);

    /* A job that is retried is not copied. */
    queue_send_options so;
    queue_send_options_init(&so);
    so.retry_limit = 1;
    send_ok("main", "{}", &so, id);
    j = fetch_one("main");
    CHECK_INT_EQ(queue_fail(conn, j.id, j.claim, "transient", &st, &err), QUEUE_OK);
    CHECK_INT_EQ(st, QUEUE_STATE_RETRY);
    queue_job_free(&j);
    CHECK(queue_counts(conn, "dlq", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED] + counts[QUEUE_STATE_ACTIVE], 1);
}

static void test_singleton_keys(void)
{
    create_queue("single", 2, 0, false, 3600, NULL);
    create_queue("single2", 2, 0, false, 3600, NULL);
    queue_send_options so;
    queue_send_options_init(&so);
    so.singleton_key = "map-1";
    char first[QUEUE_ID_LEN], id[QUEUE_ID_LEN];
    send_ok("single", "{}", &so, first);
    CHECK_INT_EQ(strlen(first), 36);
    send_ok("single", "{}", &so, id);
    CHECK_STR_EQ(id, ""); /* suppressed: one queued job per key */
    send_ok("single2", "{}", &so, id);
    CHECK_INT_EQ(strlen(id), 36); /* keys are per queue */

    queue_job j = fetch_one("single");
    send_ok("single", "{}", &so, id);
    CHECK_STR_EQ(id, ""); /* active still counts as queued */
    awm_error err = {{0}};
    CHECK_INT_EQ(queue_complete(conn, j.id, j.claim, NULL, &err), QUEUE_OK);
    queue_job_free(&j);
    send_ok("single", "{}", &so, id);
    CHECK_INT_EQ(strlen(id), 36); /* finished jobs do not block the key */

    so.singleton_key = "map-2";
    const char *data[] = {"1", "2", "3"};
    size_t sent = 0;
    CHECK(queue_send_batch(conn, "single", data, 3, &so, &sent, &err));
    CHECK_INT_EQ(sent, 1);
}

/* ---- claim fence and supervision ------------------------------------------------------------------- */

static void test_claim_fence(void)
{
    create_queue("fence", 3, 0, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    send_ok("fence", "{}", NULL, id);
    queue_job first = fetch_one("fence");
    /* The first worker stalls past its expiry; supervision puts the job back. */
    fx_sql(conn, "UPDATE queue.job SET expire_on = now() - interval '1 second' WHERE id = $1::uuid", id, NULL, NULL);
    long expired = 0;
    awm_error err = {{0}};
    CHECK(queue_supervise(conn, &expired, &err));
    CHECK_INT_EQ(expired, 1);
    queue_job j;
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_RETRY);
    CHECK_STR_EQ(j.output, "{\"message\": \"expired\"}");
    queue_job_free(&j);

    queue_job second = fetch_one("fence");
    CHECK_STR_EQ(second.id, id);
    CHECK(strcmp(second.claim, first.claim) != 0);
    /* The stale worker comes back: it changes nothing. */
    CHECK_INT_EQ(queue_complete(conn, id, first.claim, "{}", &err), QUEUE_CLAIM_LOST);
    CHECK(strstr(err.msg, "claim lost") != NULL);
    CHECK_INT_EQ(queue_fail(conn, id, first.claim, "late", NULL, &err), QUEUE_CLAIM_LOST);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_ACTIVE);
    CHECK_INT_EQ(j.retry_count, 1);
    CHECK_STR_EQ(j.claim, second.claim);
    queue_job_free(&j);

    CHECK_INT_EQ(queue_complete(conn, id, second.claim, NULL, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_complete(conn, id, second.claim, NULL, &err), QUEUE_CLAIM_LOST);
    CHECK_INT_EQ(queue_complete(conn, "00000000-0000-0000-0000-000000000000", second.claim, NULL, &err),
                 QUEUE_NOT_FOUND);
    CHECK_INT_EQ(queue_complete(conn, id, "garbage", NULL, &err), QUEUE_CLAIM_LOST);
    queue_job_free(&first);
    queue_job_free(&second);

    /* Nothing else is expired now. */
    CHECK(queue_supervise(conn, &expired, &err));
    CHECK_INT_EQ(expired, 0);
}

static void test_release_gives_job_back_without_an_attempt(void)
{
    /* An hour's retry delay: a release counted as a failure would hide the job that long. */
    create_queue("release", 3, 3600, false, 3600, NULL);
    awm_error err = {{0}};
    queue_listener *l = queue_listener_open(pg_harness_conninfo(fx_pg), &err);
    CHECK_MSG(l != NULL, "%s", err.msg);
    PGconn *other = fx_connect();
    char id[QUEUE_ID_LEN];
    send_ok("release", "{\"n\": 1}", NULL, id);
    queue_job first = fetch_one("release");
    CHECK_STR_EQ(first.id, id);
    if (l)
        while (queue_wait(l, "release", 0) != QUEUE_WAKE_TIMEOUT) {} /* the send's notice */

    CHECK_INT_EQ(queue_release(conn, id, first.claim, &err), QUEUE_OK);
    if (l)
        CHECK_INT_EQ(queue_wait(l, "release", 10000), QUEUE_WAKE_NOTIFIED);
    queue_job j;
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_CREATED);
    CHECK_INT_EQ(j.retry_count, 0);
    CHECK_STR_EQ(j.claim, "");
    CHECK(start_after_offset(id) <= 0);
    queue_job_free(&j);
    /* The stale claim can neither finish nor release it again. */
    CHECK_INT_EQ(queue_release(conn, id, first.claim, &err), QUEUE_CLAIM_LOST);
    CHECK_INT_EQ(queue_complete(conn, id, first.claim, NULL, &err), QUEUE_CLAIM_LOST);

    /* Another consumer takes it at once, as the same attempt. */
    queue_job *jobs = NULL;
    size_t n = 0;
    CHECK_MSG(queue_fetch(other, "release", 1, &jobs, &n, &err), "%s", err.msg);
    CHECK_INT_EQ((long)n, 1);
    if (n == 1) {
        CHECK_STR_EQ(jobs[0].id, id);
        CHECK_STR_EQ(jobs[0].data, "{\"n\": 1}");
        CHECK_INT_EQ(jobs[0].retry_count, 0);
        CHECK(strcmp(jobs[0].claim, first.claim) != 0);
        /* A stale claim cannot release the job from its new holder. */
        CHECK_INT_EQ(queue_release(conn, id, first.claim, &err), QUEUE_CLAIM_LOST);
        CHECK(strstr(err.msg, "claim lost") != NULL);
        /* A job retried once goes back as `retry`, its count unchanged. */
        CHECK_INT_EQ(queue_fail(other, id, jobs[0].claim, "transient", NULL, &err), QUEUE_OK);
        make_fetchable(id);
    }
    queue_jobs_free(jobs, n);
    queue_job second = fetch_one("release");
    CHECK_STR_EQ(second.id, id);
    CHECK_INT_EQ(second.retry_count, 1);
    CHECK_INT_EQ(queue_release(conn, id, second.claim, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_RETRY);
    CHECK_INT_EQ(j.retry_count, 1);
    queue_job_free(&j);

    /* A job that is not active cannot be released: here waiting, then completed. */
    CHECK_INT_EQ(queue_release(conn, id, second.claim, &err), QUEUE_CLAIM_LOST);
    queue_job third = fetch_one("release");
    CHECK_STR_EQ(third.id, id);
    CHECK_INT_EQ(third.retry_count, 1);
    CHECK_INT_EQ(queue_complete(conn, id, third.claim, NULL, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_release(conn, id, third.claim, &err), QUEUE_CLAIM_LOST);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_COMPLETED);
    queue_job_free(&j);
    CHECK_INT_EQ(queue_release(conn, "00000000-0000-0000-0000-000000000000", third.claim, &err),
                 QUEUE_NOT_FOUND);
    CHECK_INT_EQ(queue_release(conn, "not-a-uuid", third.claim, &err), QUEUE_ERROR);
    queue_job_free(&first);
    queue_job_free(&second);
    queue_job_free(&third);
    PQfinish(other);
    queue_listener_close(l);
}

static void test_expired_job_past_retries_goes_to_dead_letter(void)
{
    create_queue("exp-dlq", 2, 0, false, 3600, NULL);
    create_queue("exp", 0, 0, false, 3600, "exp-dlq");
    char id[QUEUE_ID_LEN];
    send_ok("exp", "{\"y\": 1}", NULL, id);
    queue_job j = fetch_one("exp");
    queue_job_free(&j);
    fx_sql(conn, "UPDATE queue.job SET expire_on = now() - interval '1 second' WHERE id = $1::uuid", id, NULL, NULL);
    awm_error err = {{0}};
    long expired = 0;
    CHECK(queue_supervise(conn, &expired, &err));
    CHECK_INT_EQ(expired, 1);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_FAILED);
    queue_job_free(&j);
    long counts[QUEUE_STATE_COUNT];
    CHECK(queue_counts(conn, "exp-dlq", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED], 1);
}

typedef struct {
    long expired;
    bool ok;
} supervise_arg;

static void *supervise_thread(void *p)
{
    supervise_arg *a = p;
    PGconn *c = fx_connect();
    awm_error err = {{0}};
    a->ok = queue_supervise(c, &a->expired, &err);
    PQfinish(c);
    return NULL;
}

static void test_concurrent_supervisors_handle_each_job_once(void)
{
    create_queue("sup", 3, 0, false, 3600, NULL);
    const char *data[60];
    for (int i = 0; i < 60; i++)
        data[i] = "{}";
    awm_error err = {{0}};
    CHECK(queue_send_batch(conn, "sup", data, 60, NULL, NULL, &err));
    queue_job *jobs;
    size_t n;
    CHECK(queue_fetch(conn, "sup", 60, &jobs, &n, &err));
    CHECK_INT_EQ(n, 60);
    queue_jobs_free(jobs, n);
    fx_sql(conn, "UPDATE queue.job SET expire_on = now() - interval '1 second' WHERE name = 'sup'", NULL, NULL, NULL);
    supervise_arg a[3] = {{0}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, supervise_thread, &a[i]);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    CHECK(a[0].ok && a[1].ok && a[2].ok);
    CHECK_INT_EQ(a[0].expired + a[1].expired + a[2].expired, 60);
    CHECK_INT_EQ(fx_sql(conn, "SELECT sum(retry_count) FROM queue.job WHERE name = 'sup'", NULL, NULL, NULL), 60);
    CHECK_INT_EQ(fx_sql(conn, "SELECT count(*) FROM queue.job WHERE name = 'sup' AND state = 'retry'", NULL, NULL, NULL), 60);
}

/* ---- cancel, resume, retry, counts --------------------------------------------------------------- */

static void test_cancel_resume_retry(void)
{
    create_queue("crr", 0, 0, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    send_ok("crr", "{}", NULL, id);
    awm_error err = {{0}};
    queue_job j;
    CHECK_INT_EQ(queue_cancel(conn, id, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_CANCELLED);
    CHECK(j.completed_on_ms > 0);
    queue_job_free(&j);
    CHECK_INT_EQ(queue_cancel(conn, id, &err), QUEUE_WRONG_STATE);
    CHECK_INT_EQ(queue_retry(conn, id, &err), QUEUE_WRONG_STATE);
    j = fetch_one("crr");
    CHECK_STR_EQ(j.id, ""); /* cancelled jobs are not fetched */
    CHECK_INT_EQ(queue_resume(conn, id, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_resume(conn, id, &err), QUEUE_WRONG_STATE);

    /* Cancelling an active job fences its worker out. */
    j = fetch_one("crr");
    CHECK_STR_EQ(j.id, id);
    CHECK_INT_EQ(queue_cancel(conn, id, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_complete(conn, id, j.claim, NULL, &err), QUEUE_CLAIM_LOST);
    queue_job_free(&j);

    /* retry gives a failed job exactly one more attempt. */
    CHECK_INT_EQ(queue_resume(conn, id, &err), QUEUE_OK);
    j = fetch_one("crr");
    queue_state st;
    CHECK_INT_EQ(queue_fail(conn, id, j.claim, "no", &st, &err), QUEUE_OK);
    CHECK_INT_EQ(st, QUEUE_STATE_FAILED);
    queue_job_free(&j);
    CHECK_INT_EQ(queue_retry(conn, id, &err), QUEUE_OK);
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_RETRY);
    CHECK(j.completed_on_ms == 0);
    queue_job_free(&j);
    CHECK_NEAR(start_after_offset(id), 0, 1.5);
    j = fetch_one("crr");
    CHECK_STR_EQ(j.id, id);
    CHECK_INT_EQ(queue_fail(conn, id, j.claim, "still no", &st, &err), QUEUE_OK);
    CHECK_INT_EQ(st, QUEUE_STATE_FAILED);
    queue_job_free(&j);

    CHECK_INT_EQ(queue_cancel(conn, "00000000-0000-0000-0000-000000000000", &err), QUEUE_NOT_FOUND);
}

static void test_counts_per_state(void)
{
    create_queue("cnt", 0, 0, false, 3600, NULL);
    char id[QUEUE_ID_LEN];
    awm_error err = {{0}};
    for (int i = 0; i < 6; i++)
        send_ok("cnt", "{}", NULL, id);
    queue_job a = fetch_one("cnt"), b = fetch_one("cnt"), c = fetch_one("cnt"), d = fetch_one("cnt");
    queue_complete(conn, a.id, a.claim, NULL, &err);
    queue_fail(conn, b.id, b.claim, "x", NULL, &err);
    queue_cancel(conn, c.id, &err);
    long counts[QUEUE_STATE_COUNT];
    CHECK(queue_counts(conn, "cnt", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED], 2);
    CHECK_INT_EQ(counts[QUEUE_STATE_ACTIVE], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_COMPLETED], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_FAILED], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_CANCELLED], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_RETRY], 0);
    queue_job_free(&a);
    queue_job_free(&b);
    queue_job_free(&c);
    queue_job_free(&d);
}

/* ---- maintenance ---------------------------------------------------------------------------------- */

static void test_maintenance_deletes_only_old_finished_jobs(void)
{
    queue_options o;
    queue_options_default(&o);
    o.retry_limit = 1;
    o.retention_s = 3600;
    awm_error err = {{0}};
    CHECK(queue_create(conn, "maint", &o, &err));
    char id[QUEUE_ID_LEN];
    for (int i = 0; i < 7; i++)
        send_ok("maint", "{}", NULL, id);
    queue_job done_old = fetch_one("maint"), failed_old = fetch_one("maint"),
              done_new = fetch_one("maint"), retried = fetch_one("maint"),
              active = fetch_one("maint"), cancelled = fetch_one("maint");
    queue_complete(conn, done_old.id, done_old.claim, NULL, &err);
    queue_complete(conn, done_new.id, done_new.claim, NULL, &err);
    queue_fail(conn, failed_old.id, failed_old.claim, "x", NULL, &err);
    fx_sql(conn, "UPDATE queue.job SET start_after = now() WHERE id = $1::uuid", failed_old.id, NULL, NULL);
    queue_job again = fetch_one("maint");
    queue_fail(conn, again.id, again.claim, "x", NULL, &err);
    queue_fail(conn, retried.id, retried.claim, "x", NULL, &err);
    queue_cancel(conn, cancelled.id, &err);
    /* Everything but done_new looks two days old — even the unfinished ones, which must stay. */
    fx_sql(conn, "UPDATE queue.job SET created_on = now() - interval '2 days',"
                 " completed_on = now() - interval '2 days' WHERE name = 'maint' AND id <> $1::uuid",
           done_new.id, NULL, NULL);
    long deleted = 0;
    CHECK_MSG(queue_maintain(conn, &deleted, &err), "%s", err.msg);
    CHECK_INT_EQ(deleted, 3);
    long counts[QUEUE_STATE_COUNT];
    CHECK(queue_counts(conn, "maint", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_COMPLETED], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_FAILED], 0);
    CHECK_INT_EQ(counts[QUEUE_STATE_CANCELLED], 0);
    CHECK_INT_EQ(counts[QUEUE_STATE_CREATED], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_RETRY], 1);
    CHECK_INT_EQ(counts[QUEUE_STATE_ACTIVE], 1);
    queue_job j;
    CHECK_INT_EQ(queue_get(conn, done_new.id, &j, &err), QUEUE_OK);
    queue_job_free(&j);
    queue_job *all[] = {&done_old, &failed_old, &done_new, &retried, &active, &cancelled, &again};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        queue_job_free(all[i]);
}

/* ---- wake-ups ------------------------------------------------------------------------------------- */

static void test_notify_wakes_listener_on_commit(void)
{
    create_queue("wake", 2, 0, false, 3600, NULL);
    create_queue("elsewhere", 2, 0, false, 3600, NULL);
    awm_error err = {{0}};
    queue_listener *l = queue_listener_open(pg_harness_conninfo(fx_pg), &err);
    CHECK_MSG(l != NULL, "%s", err.msg);
    if (!l)
        return;
    CHECK_INT_EQ(queue_wait(l, "wake", 0), QUEUE_WAKE_TIMEOUT);
    char id[QUEUE_ID_LEN];
    send_ok("wake", "{}", NULL, id);
    CHECK_INT_EQ(queue_wait(l, "wake", 10000), QUEUE_WAKE_NOTIFIED);
    CHECK_INT_EQ(queue_wait(l, "wake", 0), QUEUE_WAKE_TIMEOUT);

    send_ok("elsewhere", "{}", NULL, id);
    CHECK_INT_EQ(queue_wait(l, "wake", 200), QUEUE_WAKE_TIMEOUT); /* another queue's job */

    /* The notification is part of the sender's transaction: delivered on commit only. */
    CHECK(db_run(conn, "test", "BEGIN", &err));
    send_ok("wake", "{}", NULL, id);
    CHECK_INT_EQ(queue_wait(l, "wake", 200), QUEUE_WAKE_TIMEOUT);
    CHECK(db_run(conn, "test", "COMMIT", &err));
    CHECK_INT_EQ(queue_wait(l, "wake", 10000), QUEUE_WAKE_NOTIFIED);
    CHECK(db_run(conn, "test", "BEGIN", &err));
    send_ok("wake", "{}", NULL, id);
    CHECK(db_run(conn, "test", "ROLLBACK", &err));
    CHECK_INT_EQ(queue_wait(l, "wake", 200), QUEUE_WAKE_TIMEOUT);
    queue_job j;
    CHECK_INT_EQ(queue_get(conn, id, &j, &err), QUEUE_NOT_FOUND); /* rolled back with the caller */
    queue_listener_close(l);
}

static void test_listener_and_worker_recover_from_dropped_connections(void)
{
    create_queue("drop", 2, 0, false, 3600, NULL);
    awm_error err = {{0}};
    queue_listener *l = queue_listener_open(pg_harness_conninfo(fx_pg), &err);
    CHECK_MSG(l != NULL, "%s", err.msg);
    if (!l)
        return;
    int pid = queue_listener_backend_pid(l);
    CHECK(pid > 0);
    char pid_text[16];
    snprintf(pid_text, sizeof pid_text, "%d", pid);
    fx_sql(conn, "SELECT pg_terminate_backend($1::int)", pid_text, NULL, NULL);
    CHECK_INT_EQ(queue_wait(l, "drop", 10000), QUEUE_WAKE_RECONNECTED);
    CHECK(queue_listener_backend_pid(l) > 0 && queue_listener_backend_pid(l) != pid);
    char id[QUEUE_ID_LEN];
    send_ok("drop", "{}", NULL, id);
    CHECK_INT_EQ(queue_wait(l, "drop", 10000), QUEUE_WAKE_NOTIFIED);
    queue_listener_close(l);

    /* A worker's connection dropped by the server: one call fails, the next one works. */
    PGconn *worker = fx_connect();
    snprintf(pid_text, sizeof pid_text, "%d", PQbackendPID(worker));
    fx_sql(conn, "SELECT pg_terminate_backend($1::int)", pid_text, NULL, NULL);
    queue_job *jobs = NULL;
    size_t n = 0;
    bool first = queue_fetch(worker, "drop", 1, &jobs, &n, &err);
    if (!first)
        CHECK_MSG(queue_fetch(worker, "drop", 1, &jobs, &n, &err), "%s", err.msg);
    CHECK_INT_EQ(n, 1);
    if (n == 1)
        CHECK_STR_EQ(jobs[0].id, id);
    queue_jobs_free(jobs, n);
    PQfinish(worker);
}

int main(void)
{
    awm_log_init("test_queue_ops");
    awm_log_set_level(AWM_LOG_ERROR);
    fx_start();
    conn = fx_connect();
    RUN(test_migrations_idempotent_and_locked);
    RUN(test_export_queue_defaults);
    RUN(test_database_errors_carry_their_kind);
    RUN(test_queue_create_update);
    RUN(test_send_and_get);
    RUN(test_job_ids_are_time_ordered);
    RUN(test_fetch_order_and_start_after);
    RUN(test_batch_send_fetch_complete);
    RUN(test_batch_is_fetched_in_the_order_given);
    RUN(test_complete_stores_output);
    RUN(test_fail_retries_with_fixed_delay);
    RUN(test_backoff_doubles_with_jitter_and_cap);
    RUN(test_dead_letter_copy);
    RUN(test_singleton_keys);
    RUN(test_claim_fence);
    RUN(test_release_gives_job_back_without_an_attempt);
    RUN(test_expired_job_past_retries_goes_to_dead_letter);
    RUN(test_concurrent_supervisors_handle_each_job_once);
    RUN(test_cancel_resume_retry);
    RUN(test_counts_per_state);
    RUN(test_maintenance_deletes_only_old_finished_jobs);
    RUN(test_notify_wakes_listener_on_commit);
    RUN(test_listener_and_worker_recover_from_dropped_connections);
    PQfinish(conn);
    pg_harness_destroy(fx_pg);
    return TEST_EXIT();
}
