/* pgboss.c — the `pgboss` queue backend: queue.h on the tables of an existing pg-boss
 * installation at schema version 26 (pg-boss 11.1 to 12.5.x), so AWM workers share one queue
 * with pg-boss's Node workers and take their place without moving a job.
 *
 * Every statement is pg-boss 12.5.2's own (node_modules/pg-boss/dist/plans.js, read for this),
 * with the same effect on the rows; where it embeds a queue name as a literal we pass a
 * parameter. What that version does, and so what this file does:
 * - The job table is partitioned by queue name; a queue's partition is the queue row's
 *   table_name (job_common unless the queue was created with partition: true). Statements name
 *   that partition, as pg-boss's do; it is looked up once per queue and kept for the life of the
 *   process (lookup_queue), as pg-boss caches it too: a queue deleted and created again with
 *   another partitioning needs the workers restarted.
 * - send (insertJobs): the job takes the queue's settings unless the sender overrides them; a
 *   missing queue is created first with pg-boss's defaults, as the seed's API calls createQueue.
 *   Only the `standard` (and `short`) policies are fetched as pg-boss fetches them; the seed uses
 *   `standard`.
 * - fetch: created/retry jobs whose start_after < now(), priority desc, created_on, id, FOR UPDATE
 *   SKIP LOCKED; started_on = now(); retry_count grows when a job that had been started before is
 *   fetched again (not when it fails).
 * - fail: the row is deleted and inserted again as `retry` (start_after = now() + retry_delay, or
 *   with backoff now() + least(retry_delay_max, retry_delay + 2^min(16, n+1)/2 · (1 + random())) s,
 *   n = retry_count: additive, 61–62 s for the first retry of the seed's jobs) while retry_count <
 *   retry_limit, else as `failed` (+ a copy in the dead-letter queue). Output {"message": error},
 *   what pg-boss's fail(name, id, {message}) writes.
 * - expiry (supervise): active jobs with started_on + expire_seconds < now() are failed the same way
 *   with output {"value": {"message": "job timed out"}}, under pg-boss's advisory lock for that
 *   partition; the queue statistics pg-boss caches are refreshed first, under its lock too.
 * - deletion (maintain): finished jobs deletion_seconds after completed_on, and queued jobs past
 *   keep_until, under pg-boss's advisory lock.
 * pg-boss has no claim token. Ours is the job's started_on (µs since the epoch), which every
 * fetch by anyone sets anew, plus the index of the queue in this process's table cache (so that
 * complete, fail and release, given only the job id, name the partition): "<µs>:<index>".
 * complete, fail and release require state active and that started_on, so a worker whose job
 * expired and was fetched again (by AWM or by Node) changes nothing. pg-boss's own complete and
 * fail check only the state; release does not exist in pg-boss (its stop() fails the jobs in
 * hand, charging an attempt): ours puts the job back as if the fetch had not happened. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db/db.h"
#include "queue/pgboss_schema26.h"
#include "queue/queue_internal.h"

#define S queue_pgboss_schema()

/* ---- queues and their partitions ----------------------------------------------------- */

#define QUEUE_CACHE_MAX 256

typedef struct {
    char name[129];
    char table[64];
} cached_queue;

static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static cached_queue g_cache[QUEUE_CACHE_MAX];
static int g_cached;

/* pg-boss's rule for queue names (/^[\w.-]+$/), within ours (1–128 characters). */
static bool valid_name(const char *name, awm_error *err)
{
    if (!queue_valid_name(name, err))
        return false;
    if (strchr(name, '/')) {
        awm_error_set(err, "queue name '%s' is invalid for pg-boss (A-Z a-z 0-9 . _ - only)", name);
        return false;
    }
    return true;
}

/* A partition name as pg-boss makes them (job_common, j<sha224 hex>): nothing to quote. */
static bool valid_table(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n >= sizeof g_cache[0].table)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)t[i]) && !isdigit((unsigned char)t[i]) && t[i] != '_')
            return false;
    return true;
}

static int cache_find(const char *name)
{
    for (int i = 0; i < g_cached; i++)
        if (!strcmp(g_cache[i].name, name))
            return i;
    return -1;
}

/* The cache index of queue `name`, reading its row the first time; -1 on an error, -2 with
 * "unknown queue" when there is no such queue. */
static int lookup_queue(PGconn *conn, const char *name, awm_error *err)
{
    pthread_mutex_lock(&g_cache_lock);
    int idx = cache_find(name);
    pthread_mutex_unlock(&g_cache_lock);
    if (idx >= 0)
        return idx;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT table_name FROM %s.queue WHERE name = $1", S);
    const char *params[] = {name};
    PGresult *res = db_exec(conn, "reading pg-boss queue", sql, 1, params, err);
    if (!res)
        return -1;
    if (PQntuples(res) != 1) {
        PQclear(res);
        awm_error_setc(err, AWM_ENOTFOUND, "unknown queue '%s' (no row in %s.queue)", name, S);
        return -2;
    }
    const char *table = PQgetvalue(res, 0, 0);
    if (!valid_table(table)) {
        awm_error_set(err, "pg-boss queue '%s' names partition '%s', which is not a plain table name", name, table);
        PQclear(res);
        return -1;
    }
    pthread_mutex_lock(&g_cache_lock);
    idx = cache_find(name);
    if (idx < 0 && g_cached < QUEUE_CACHE_MAX) {
        idx = g_cached++;
        snprintf(g_cache[idx].name, sizeof g_cache[idx].name, "%s", name);
        snprintf(g_cache[idx].table, sizeof g_cache[idx].table, "%s", table);
    }
    pthread_mutex_unlock(&g_cache_lock);
    PQclear(res);
    if (idx < 0)
        awm_error_set(err, "more than %d pg-boss queues used by one process", QUEUE_CACHE_MAX);
    return idx;
}

/* Entries are never changed once written, so a copy taken under the lock stays right. */
static cached_queue cache_get(int idx)
{
    pthread_mutex_lock(&g_cache_lock);
    cached_queue q = g_cache[idx];
    pthread_mutex_unlock(&g_cache_lock);
    return q;
}

/* A claim of ours, split: the attempt's started_on (µs since the epoch, as text) and its queue. */
typedef struct {
    char started_us[24];
    cached_queue q;
} pb_claim;

/* A claim "<started_on µs>:<cache index>" split; false when it is not one of ours. */
static bool parse_claim(const char *claim, pb_claim *out)
{
    if (!claim)
        return false;
    const char *colon = strchr(claim, ':');
    size_t n = colon ? (size_t)(colon - claim) : 0;
    if (n == 0 || n >= 24)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)claim[i]))
            return false;
    char *end;
    long idx = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || idx < 0)
        return false;
    pthread_mutex_lock(&g_cache_lock);
    bool known = idx < g_cached;
    pthread_mutex_unlock(&g_cache_lock);
    if (!known)
        return false;
    memcpy(out->started_us, claim, n);
    out->started_us[n] = '\0';
    out->q = cache_get((int)idx);
    return true;
}

/* ---- reading jobs ------------------------------------------------------------------------ */

#define PB_MS(expr) "coalesce((date_part('epoch', " expr ") * 1000)::bigint, 0)"
#define PB_STARTED_US "(date_part('epoch', j.started_on) * 1000000)::bigint"
/* The job columns in queue_job_from_row's order (alias j); the claim without its ":index". */
#define PB_COLUMNS                                                                              \
    "j.id::text, CASE WHEN j.state = 'active' THEN " PB_STARTED_US "::text ELSE '' END,"          \
    " j.name, j.data::text, j.output::text, j.singleton_key, j.dead_letter, j.state::text,"     \
    " j.priority, j.retry_limit, j.retry_count, j.retry_delay, coalesce(j.retry_delay_max, 0),"  \
    " j.expire_seconds, j.retry_backoff, " PB_MS("j.created_on") ", " PB_MS("j.start_after") ", " \
    PB_MS("j.started_on") ", " PB_MS("j.started_on + j.expire_seconds * interval '1s'") ", "       \
    PB_MS("j.completed_on")

static void add_claim_index(queue_job *j, int idx)
{
    if (j->claim[0]) {
        size_t n = strlen(j->claim);
        snprintf(j->claim + n, sizeof j->claim - n, ":%d", idx);
    }
}

static void jobs_from(const PGresult *res, int idx, queue_job **jobs, size_t *n)
{
    int rows = PQntuples(res);
    *jobs = rows ? awm_xcalloc((size_t)rows, sizeof **jobs) : NULL;
    *n = (size_t)rows;
    for (int i = 0; i < rows; i++) {
        queue_job_from_row(res, i, 0, &(*jobs)[i]);
        add_claim_index(&(*jobs)[i], idx);
    }
}

/* ---- advisory locks, as pg-boss takes them ----------------------------------------------- */

/* pg-boss's locked(): one transaction with its lock timeouts and a transaction advisory lock
 * keyed sha224(current_database() || '.pgboss.' || schema || key), so this and pg-boss's own
 * supervision of the same partition never run at once. `sql` runs with `params` inside it;
 * its result is returned (NULL on error, rolled back). */
static PGresult *run_locked(PGconn *conn, const char *what, const char *key, const char *sql, int nparams,
                            const char *const *params, awm_error *err)
{
    char lock_key[300];
    snprintf(lock_key, sizeof lock_key, ".pgboss.%s%s", S, key);
    const char *lp[] = {lock_key};
    if (!db_run(conn, what, "BEGIN", err))
        return NULL;
    PGresult *res = NULL;
    bool ok = db_run(conn, what, "SET LOCAL lock_timeout = 30000", err) &&
              db_run(conn, what, "SET LOCAL idle_in_transaction_session_timeout = 30000", err);
    if (ok) {
        PGresult *l = db_exec(conn, what,
            "SELECT pg_advisory_xact_lock(('x' || encode(sha224((current_database() || $1)::bytea), 'hex'))"
            "::bit(64)::bigint)", 1, lp, err);
        ok = l != NULL;
        PQclear(l);
    }
    if (ok)
        res = db_exec(conn, what, sql, nparams, params, err);
    if (res && !db_run(conn, what, "COMMIT", err)) {
        PQclear(res);
        res = NULL;
    }
    if (!res && PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_run(conn, "rollback", "ROLLBACK", NULL);
    return res;
}

/* ---- start-up check and installation ----------------------------------------------------- */

static bool pb_check(PGconn *conn, awm_error *err)
{
    char sql[256];
    const char *params[] = {S};
    PGresult *res = db_exec(conn, "checking the pg-boss schema",
                            "SELECT to_regclass(quote_ident($1) || '.version') IS NOT NULL, current_database()",
                            1, params, err);
    if (!res)
        return false;
    bool present = PQgetvalue(res, 0, 0)[0] == 't';
    char db[128];
    snprintf(db, sizeof db, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!present) {
        awm_error_setc(err, AWM_ENOTFOUND, "QUEUE_BACKEND=pgboss: no pg-boss schema '%s' in database %s (table %s.version not "
                           "found); supported: pg-boss schema version %d (pg-boss 11.1 to 12.5.x). Start the "
                           "system's pg-boss once, set PGBOSS_SCHEMA, or on an empty database run "
                           "`awm queue init --pgboss`", S, db, S, QUEUE_PGBOSS_SCHEMA_VERSION);
        return false;
    }
    snprintf(sql, sizeof sql, "SELECT version::text FROM %s.version", S);
    res = db_exec(conn, "reading the pg-boss schema version", sql, 0, NULL, err);
    if (!res)
        return false;
    char found[64] = "";
    if (PQntuples(res) > 0)
        snprintf(found, sizeof found, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (strcmp(found, "26") != 0) {
        awm_error_setc(err, AWM_ECONFLICT, "QUEUE_BACKEND=pgboss: pg-boss schema '%s' in database %s is at version %s; supported: "
                           "version %d only (pg-boss 11.1 to 12.5.x). AWM never migrates pg-boss's schema",
                      S, db, found[0] ? found : "(none: empty version table)", QUEUE_PGBOSS_SCHEMA_VERSION);
        return false;
    }
    return true;
}

bool queue_pgboss_install(PGconn *conn, const char *schema, awm_error *err)
{
    if (!queue_valid_schema(schema ? schema : "", err))
        return false;
    const char *check = schema;
    const char *params[] = {check};
    PGresult *res = db_exec(conn, "looking for the schema", "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                            1, params, err);
    if (!res)
        return false;
    bool exists = atoi(PQgetvalue(res, 0, 0)) > 0;
    PQclear(res);
    if (exists) {
        awm_error_setc(err, AWM_ECONFLICT, "schema '%s' already exists: not touched (AWM never creates over or migrates a pg-boss "
                           "schema; `awm queue init --pgboss` is for a database without one)", check);
        return false;
    }
    /* The plan, placeholder replaced by the (validated) schema name. */
    awm_buf plan = {0};
    const char *p = PGBOSS_SCHEMA26_PLAN, *hit;
    size_t plen = strlen(PGBOSS_SCHEMA_PLACEHOLDER);
    while ((hit = strstr(p, PGBOSS_SCHEMA_PLACEHOLDER))) {
        awm_buf_append(&plan, p, (size_t)(hit - p));
        awm_buf_append(&plan, check, strlen(check));
        p = hit + plen;
    }
    awm_buf_append(&plan, p, strlen(p));
    /* A multi-statement script with its own BEGIN … COMMIT, as pg-boss runs it. */
    res = PQexec(conn, plan.data);
    awm_buf_free(&plan);
    bool ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        db_error_from(err, conn, res, "creating the pg-boss schema");
    PQclear(res);
    if (!ok && PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_run(conn, "rollback", "ROLLBACK", NULL);
    return ok;
}

/* ---- queues ------------------------------------------------------------------------------ */

/* The options object pg-boss's createQueue passes to <schema>.create_queue. */
static char *queue_options_json(const queue_options *o)
{
    json_t *j = json_pack("{s:s}", "policy", "standard");
    if (o) {
        json_object_set_new(j, "retryLimit", json_integer(o->retry_limit));
        json_object_set_new(j, "retryDelay", json_integer(o->retry_delay_s));
        json_object_set_new(j, "retryBackoff", json_boolean(o->retry_backoff));
        if (o->retry_delay_max_s > 0)
            json_object_set_new(j, "retryDelayMax", json_integer(o->retry_delay_max_s));
        json_object_set_new(j, "expireInSeconds", json_integer(o->expire_in_s));
        json_object_set_new(j, "deleteAfterSeconds", json_integer(o->retention_s));
        if (o->dead_letter[0])
            json_object_set_new(j, "deadLetter", json_string(o->dead_letter));
    }
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return text;
}

/* createQueue: <schema>.create_queue under pg-boss's 'create-queue' lock, in the caller's
 * transaction when there is one (the lock is then held until it ends). */
static bool pb_create(PGconn *conn, const char *name, const queue_options *opts, awm_error *err)
{
    if (!valid_name(name, err))
        return false;
    if (opts && (opts->retry_limit < 0 || opts->retry_delay_s < 0 || opts->expire_in_s <= 0 ||
                 opts->retention_s < 1 || !strcmp(opts->dead_letter, name))) {
        awm_error_set(err, "queue '%s': invalid options (retry limit and delay >= 0, expiry > 0, retention >= 1 s, "
                           "not its own dead-letter queue)", name);
        return false;
    }
    char *options = queue_options_json(opts);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s.create_queue($1, $2::jsonb)", S);
    const char *params[] = {name, options};
    PGresult *res;
    if (PQtransactionStatus(conn) == PQTRANS_INTRANS) {
        char lock_key[300];
        snprintf(lock_key, sizeof lock_key, ".pgboss.%screate-queue", S);
        const char *lp[] = {lock_key};
        res = db_exec(conn, "creating pg-boss queue",
                      "SELECT pg_advisory_xact_lock(('x' || encode(sha224((current_database() || $1)::bytea), 'hex'))"
                      "::bit(64)::bigint)", 1, lp, err);
        PQclear(res);
        res = res ? db_exec(conn, "creating pg-boss queue", sql, 2, params, err) : NULL;
    } else {
        res = run_locked(conn, "creating pg-boss queue", "create-queue", sql, 2, params, err);
    }
    free(options);
    PQclear(res);
    return res != NULL;
}

static bool pb_update(PGconn *conn, const char *name, const queue_options *o, awm_error *err)
{
    if (!valid_name(name, err))
        return false;
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE %s.queue SET retry_limit = $2::int, retry_delay = $3::int, retry_backoff = $4::bool,"
             " retry_delay_max = nullif($5::int, 0), expire_seconds = $6::int, deletion_seconds = $7::int,"
             " dead_letter = $8, updated_on = now() WHERE name = $1", S);
    return queue_update_options(conn, "updating pg-boss queue", sql, name, o, err);
}

static bool pb_get_options(PGconn *conn, const char *name, queue_options *out, awm_error *err)
{
    if (!valid_name(name, err))
        return false;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT retry_limit, retry_delay, retry_backoff, coalesce(retry_delay_max, 0), expire_seconds,"
             " deletion_seconds, coalesce(dead_letter, '') FROM %s.queue WHERE name = $1", S);
    return queue_read_options(conn, "reading pg-boss queue", sql, name, out, err);
}

/* ---- sending ------------------------------------------------------------------------------ */

/* One element of the JSON array pg-boss's insertJobs reads (json_to_recordset), as its
 * createJob builds it; `data` is taken. */
static json_t *insert_item(const queue_send_options *o, json_t *data)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_null());
    json_object_set_new(j, "data", data);
    json_object_set_new(j, "priority", json_integer(o->priority));
    if (o->start_in_s > 0) /* pg-boss: '' + seconds, cast to an interval */
        json_object_set_new(j, "startAfter", json_sprintf("%.3f seconds", o->start_in_s));
    json_object_set_new(j, "singletonKey", o->singleton_key ? json_string(o->singleton_key) : json_null());
    json_object_set_new(j, "singletonOffset", json_integer(0));
    if (o->expire_in_s > 0)
        json_object_set_new(j, "expireInSeconds", json_integer(o->expire_in_s));
    if (o->retry_limit >= 0)
        json_object_set_new(j, "retryLimit", json_integer(o->retry_limit));
    if (o->retry_delay_s >= 0)
        json_object_set_new(j, "retryDelay", json_integer(o->retry_delay_s));
    if (o->retry_backoff >= 0)
        json_object_set_new(j, "retryBackoff", json_boolean(o->retry_backoff));
    if (o->retry_delay_max_s >= 0)
        json_object_set_new(j, "retryDelayMax", json_integer(o->retry_delay_max_s));
    return j;
}

#define PB_INSERT_FORMAT                                                                         \
    "INSERT INTO %1$s.%2$s (id, name, data, priority, start_after, singleton_key, singleton_on,"  \
    " expire_seconds, deletion_seconds, keep_until, retry_limit, retry_delay, retry_backoff,"      \
    " retry_delay_max, policy, dead_letter)"                                                      \
    " SELECT COALESCE(id, gen_random_uuid()) as id, $2 as name, data,"                           \
    " COALESCE(priority, 0) as priority, j.start_after, \"singletonKey\","                        \
    " CASE WHEN \"singletonSeconds\" IS NOT NULL THEN 'epoch'::timestamp + '1s'::interval *"      \
    "   (\"singletonSeconds\" * floor(( date_part('epoch', now()) + COALESCE(\"singletonOffset\",0))" \
    "   / \"singletonSeconds\" )) ELSE NULL END as singleton_on,"                                 \
    " COALESCE(\"expireInSeconds\", q.expire_seconds) as expire_seconds,"                         \
    " COALESCE(\"deleteAfterSeconds\", q.deletion_seconds) as deletion_seconds,"                  \
    " j.start_after + (COALESCE(\"retentionSeconds\", q.retention_seconds) * interval '1s') as keep_until," \
    " COALESCE(\"retryLimit\", q.retry_limit) as retry_limit,"                                    \
    " COALESCE(\"retryDelay\", q.retry_delay) as retry_delay,"                                    \
    " COALESCE(\"retryBackoff\", q.retry_backoff, false) as retry_backoff,"                       \
    " COALESCE(\"retryDelayMax\", q.retry_delay_max) as retry_delay_max, q.policy, q.dead_letter" \
    " FROM (SELECT *, CASE WHEN right(\"startAfter\", 1) = 'Z'"                                   \
    "   THEN CAST(\"startAfter\" as timestamp with time zone)"                                    \
    "   ELSE now() + CAST(COALESCE(\"startAfter\",'0') as interval) END as start_after"           \
    "  FROM json_to_recordset($1::json) as x (id uuid, priority integer, data jsonb,"            \
    "   \"startAfter\" text, \"retryLimit\" integer, \"retryDelay\" integer, \"retryDelayMax\" integer," \
    "   \"retryBackoff\" boolean, \"singletonKey\" text, \"singletonSeconds\" integer,"           \
    "   \"singletonOffset\" integer, \"expireInSeconds\" integer, \"deleteAfterSeconds\" integer,"  \
    "   \"retentionSeconds\" integer)) j"                                                         \
    " JOIN %1$s.queue q ON q.name = $2"                                                          \
    " ON CONFLICT DO NOTHING RETURNING id::text"

/* Insert the jobs of `items` (a JSON array) into queue `queue`, creating the queue with
 * pg-boss's defaults when it does not exist (as the seed's API calls createQueue first). */
static PGresult *insert_jobs(PGconn *conn, const char *queue, json_t *items, awm_error *err)
{
    int idx = lookup_queue(conn, queue, err);
    if (idx < 0) {
        if (idx != -2 || !pb_create(conn, queue, NULL, err))
            return NULL;
        idx = lookup_queue(conn, queue, err);
        if (idx < 0)
            return NULL;
    }
    cached_queue q = cache_get(idx);
    awm_buf sql = {0};
    awm_buf_printf(&sql, PB_INSERT_FORMAT, S, q.table);
    char *text = json_dumps(items, JSON_COMPACT | JSON_ENCODE_ANY);
    const char *params[] = {text, queue};
    char what[200];
    snprintf(what, sizeof what, "sending to pg-boss queue '%s'", queue);
    PGresult *res = db_exec(conn, what, sql.data, 2, params, err);
    free(text);
    awm_buf_free(&sql);
    /* No row: a singleton key collided, or the queue was deleted since we looked it up (the
     * insert joins the queue row). The second is an error, not a silent loss. */
    if (res && PQntuples(res) == 0) {
        snprintf(what, sizeof what, "SELECT count(*) FROM %s.queue WHERE name = $1", S);
        const char *qp[] = {queue};
        PGresult *q2 = db_exec(conn, "reading pg-boss queue", what, 1, qp, err);
        bool gone = q2 && atoi(PQgetvalue(q2, 0, 0)) == 0;
        if (!q2 || gone) {
            if (gone)
                awm_error_setc(err, AWM_ENOTFOUND, "sending to pg-boss queue '%s': the queue was deleted", queue);
            PQclear(res);
            res = NULL;
        }
        PQclear(q2);
    }
    return res;
}

static bool check_send_options(const char *queue, const queue_send_options *o, awm_error *err)
{
    if (!queue_check_send_options(queue, o, err))
        return false;
    if (o->dead_letter) {
        awm_error_set(err, "sending to queue '%s': pg-boss %d takes the dead-letter queue from the queue, not "
                           "from a job", queue, QUEUE_PGBOSS_SCHEMA_VERSION);
        return false;
    }
    return true;
}

static json_t *parse_data(const char *queue, const char *data_json, size_t i, awm_error *err)
{
    if (!data_json)
        return json_null();
    json_error_t jerr;
    json_t *d = json_loads(data_json, JSON_DECODE_ANY, &jerr);
    if (!d) {
        awm_error_set(err, "sending to queue '%s': data of job %zu is not JSON: %s", queue, i, jerr.text);
        return NULL;
    }
    return d;
}

/* Both sends: the options checked, each message parsed, all inserted in one statement.
 * *res holds the inserted rows' ids (NULL when n is 0: nothing to insert). */
static bool send_jobs(PGconn *conn, const char *queue, const char *const *data_json, size_t n,
                      const queue_send_options *opts, PGresult **res, awm_error *err)
{
    *res = NULL;
    if (!valid_name(queue, err) || !check_send_options(queue, opts, err))
        return false;
    if (n == 0)
        return true;
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *data = parse_data(queue, data_json[i], i, err);
        if (!data) {
            json_decref(items);
            return false;
        }
        json_array_append_new(items, insert_item(opts, data));
    }
    *res = insert_jobs(conn, queue, items, err);
    json_decref(items);
    return *res != NULL;
}

static bool pb_send(PGconn *conn, const char *queue, const char *data_json, const queue_send_options *opts,
                    char id_out[QUEUE_ID_LEN], awm_error *err)
{
    if (id_out)
        id_out[0] = '\0';
    PGresult *res;
    if (!send_jobs(conn, queue, &data_json, 1, opts, &res, err))
        return false;
    if (id_out && PQntuples(res) == 1)
        snprintf(id_out, QUEUE_ID_LEN, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}

static bool pb_send_batch(PGconn *conn, const char *queue, const char *const *data_json, size_t n,
                          const queue_send_options *opts, size_t *sent, awm_error *err)
{
    if (sent)
        *sent = 0;
    PGresult *res;
    if (!send_jobs(conn, queue, data_json, n, opts, &res, err))
        return false;
    if (sent && res)
        *sent = (size_t)PQntuples(res);
    PQclear(res);
    return true;
}

/* ---- fetching and finishing --------------------------------------------------------------- */

static bool pb_fetch(PGconn *conn, const char *queue, int batch, queue_job **jobs, size_t *n, awm_error *err)
{
    *jobs = NULL;
    *n = 0;
    if (!valid_name(queue, err))
        return false;
    if (batch < 1 || batch > 10000) {
        awm_error_set(err, "fetching from queue '%s': batch size %d is not in 1..10000", queue, batch);
        return false;
    }
    int idx = lookup_queue(conn, queue, err);
    if (idx < 0)
        return false;
    cached_queue q = cache_get(idx);
    /* fetchNextJob (standard policy, priority on, includeMetadata). */
    awm_buf sql = {0};
    awm_buf_printf(&sql,
        "WITH next as (SELECT id FROM %1$s.%2$s WHERE name = $1 AND state < 'active' AND start_after < now()"
        " ORDER BY priority desc, created_on, id LIMIT %3$d FOR UPDATE SKIP LOCKED)"
        " UPDATE %1$s.%2$s j SET state = 'active', started_on = now(),"
        " retry_count = CASE WHEN started_on IS NOT NULL THEN retry_count + 1 ELSE retry_count END"
        " FROM next WHERE name = $1 AND j.id = next.id RETURNING " PB_COLUMNS,
        S, q.table, batch);
    const char *params[] = {queue};
    PGresult *res = db_exec(conn, "fetching pg-boss jobs", sql.data, 1, params, err);
    awm_buf_free(&sql);
    if (!res)
        return false;
    jobs_from(res, idx, jobs, n);
    PQclear(res);
    return true;
}

/* After a fenced statement matched nothing: a missing job, or one not active under this claim. */
static queue_result explain_no_match(PGconn *conn, const char *id, const cached_queue *q, awm_error *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s.job WHERE id = $1::uuid", S);
    const char *params[] = {id};
    PGresult *res = db_exec(conn, "reading pg-boss job", sql, 1, params, err);
    if (!res)
        return QUEUE_ERROR;
    bool exists = PQntuples(res) > 0;
    PQclear(res);
    if (!exists) {
        awm_error_set(err, "no job %s%s%s", id, q ? " in queue " : "", q ? q->name : "");
        return QUEUE_NOT_FOUND;
    }
    awm_error_set(err, "job %s: claim lost (expired, failed, cancelled or taken by another worker)", id);
    return QUEUE_CLAIM_LOST;
}

/* complete, fail and release begin here: the id checked, the claim parsed into the attempt's
 * start (µs) and its queue. Anything but QUEUE_OK is the answer: no job this claim holds. */
static queue_result claimed(PGconn *conn, const char *id, const char *claim, pb_claim *c, awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    if (!parse_claim(claim, c))
        return explain_no_match(conn, id, NULL, err);
    return QUEUE_OK;
}

/* pg-boss's mapCompletionDataArg: an object is stored as it is, anything else as {value}. */
static char *completion_output(const char *output_json)
{
    if (!output_json)
        return NULL;
    json_t *v = json_loads(output_json, JSON_DECODE_ANY, NULL);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        json_t *w = json_pack("{s:o}", "value", v);
        v = w;
    }
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return text;
}

/* completeJobs, fenced by the claim. */
static bool complete_ids(PGconn *conn, const pb_claim *c, const char *ids_array, const char *output_json,
                         long *done, awm_error *err)
{
    char *out = completion_output(output_json);
    awm_buf sql = {0};
    awm_buf_printf(&sql,
        "UPDATE %1$s.%2$s j SET completed_on = now(), state = 'completed', output = $3::jsonb"
        " WHERE name = $1 AND id IN (SELECT UNNEST($2::uuid[])) AND state = 'active'"
        " AND " PB_STARTED_US " = $4::bigint", S, c->q.table);
    const char *params[] = {c->q.name, ids_array, out, c->started_us};
    bool ok = db_exec_changed(conn, "completing pg-boss job", sql.data, 4, params, done, err);
    awm_buf_free(&sql);
    free(out);
    return ok;
}

static queue_result pb_complete(PGconn *conn, const char *id, const char *claim, const char *output_json,
                                awm_error *err)
{
    pb_claim c;
    queue_result held = claimed(conn, id, claim, &c, err);
    if (held != QUEUE_OK)
        return held;
    char arr[40];
    snprintf(arr, sizeof arr, "{%s}", id);
    long done = 0;
    if (!complete_ids(conn, &c, arr, output_json, &done, err))
        return QUEUE_ERROR;
    return done == 1 ? QUEUE_OK : explain_no_match(conn, id, &c.q, err);
}

static bool pb_complete_many(PGconn *conn, const char *const *ids, size_t n, const char *claim,
                             const char *output_json, size_t *done, awm_error *err)
{
    if (done)
        *done = 0;
    if (n == 0)
        return true;
    pb_claim c;
    if (!parse_claim(claim, &c)) {
        awm_error_set(err, "completing jobs: claim '%s' is not one of this process's", claim ? claim : "(null)");
        return false;
    }
    awm_buf arr = {0};
    if (!queue_uuid_array(ids, n, &arr, err))
        return false;
    long d = 0;
    bool ok = complete_ids(conn, &c, arr.data, output_json, &d, err);
    awm_buf_free(&arr);
    if (ok && done)
        *done = (size_t)d;
    return ok;
}

static bool pb_complete_and_fetch(PGconn *conn, const char *const *done_ids, size_t n_done, const char *claim,
                                  const char *output_json, size_t *done, const char *queue, int batch,
                                  queue_job **jobs, size_t *n, awm_error *err)
{
    *jobs = NULL;
    *n = 0;
    return pb_complete_many(conn, done_ids, n_done, claim, output_json, done, err) &&
           pb_fetch(conn, queue, batch, jobs, n, err);
}

/* failJobs: delete the rows matching WHERE (%3$s) and insert them again as retry or failed,
 * with OUTPUT (%4$s); failed ones are copied to their dead-letter queue. Verbatim but for the
 * parameters. Selects the new state of each job. */
#define PB_FAIL_FORMAT                                                                           \
    "WITH deleted_jobs AS (DELETE FROM %1$s.%2$s WHERE %3$s RETURNING *),"                        \
    " retried_jobs AS (INSERT INTO %1$s.%2$s (id, name, priority, data, state, retry_limit,"      \
    "  retry_count, retry_delay, retry_backoff, retry_delay_max, start_after, started_on,"        \
    "  singleton_key, singleton_on, expire_seconds, deletion_seconds, created_on, completed_on,"  \
    "  keep_until, policy, output, dead_letter)"                                                  \
    "  SELECT id, name, priority, data,"                                                          \
    "   CASE WHEN retry_count < retry_limit THEN 'retry'::%1$s.job_state"                          \
    "   ELSE 'failed'::%1$s.job_state END as state,"                                               \
    "   retry_limit, retry_count, retry_delay, retry_backoff, retry_delay_max,"                    \
    "   CASE WHEN retry_count = retry_limit THEN start_after"                                      \
    "    WHEN NOT retry_backoff THEN now() + retry_delay * interval '1'"                           \
    "    ELSE now() + LEAST(retry_delay_max, retry_delay + ("                                      \
    "     2 ^ LEAST(16, retry_count + 1) / 2 + 2 ^ LEAST(16, retry_count + 1) / 2 * random()"     \
    "    )) * interval '1s' END as start_after,"                                                   \
    "   started_on, singleton_key, singleton_on, expire_seconds, deletion_seconds, created_on,"    \
    "   CASE WHEN retry_count < retry_limit THEN NULL ELSE now() END as completed_on,"             \
    "   keep_until, policy, %4$s, dead_letter"                                                     \
    "  FROM deleted_jobs ON CONFLICT DO NOTHING RETURNING *),"                                     \
    " failed_jobs as (INSERT INTO %1$s.%2$s (id, name, priority, data, state, retry_limit,"        \
    "  retry_count, retry_delay, retry_backoff, retry_delay_max, start_after, started_on,"        \
    "  singleton_key, singleton_on, expire_seconds, deletion_seconds, created_on, completed_on,"  \
    "  keep_until, policy, output, dead_letter)"                                                  \
    "  SELECT id, name, priority, data, 'failed'::%1$s.job_state as state, retry_limit,"           \
    "   retry_count, retry_delay, retry_backoff, retry_delay_max, start_after, started_on,"        \
    "   singleton_key, singleton_on, expire_seconds, deletion_seconds, created_on,"                \
    "   now() as completed_on, keep_until, policy, %4$s, dead_letter"                               \
    "  FROM deleted_jobs WHERE id NOT IN (SELECT id from retried_jobs) RETURNING *),"              \
    " results as (SELECT * FROM retried_jobs UNION ALL SELECT * FROM failed_jobs),"                \
    " dlq_jobs as (INSERT INTO %1$s.job (name, data, output, retry_limit, retry_backoff,"          \
    "  retry_delay, keep_until, deletion_seconds)"                                                 \
    "  SELECT r.dead_letter, data, output, q.retry_limit, q.retry_backoff, q.retry_delay,"         \
    "   now() + q.retention_seconds * interval '1s', q.deletion_seconds"                           \
    "  FROM results r JOIN %1$s.queue q ON q.name = r.dead_letter WHERE state = 'failed')"         \
    " SELECT state::text FROM results"

static queue_result pb_fail(PGconn *conn, const char *id, const char *claim, const char *error_message,
                            queue_state *new_state, awm_error *err)
{
    pb_claim c;
    queue_result held = claimed(conn, id, claim, &c, err);
    if (held != QUEUE_OK)
        return held;
    awm_buf sql = {0};
    /* failJobsById's WHERE, narrowed by the fence to the active attempt this claim names. */
    awm_buf_printf(&sql, PB_FAIL_FORMAT, S, c.q.table,
                   "name = $1 AND id = $2::uuid AND state = 'active'"
                   " AND (date_part('epoch', started_on) * 1000000)::bigint = $4::bigint",
                   "jsonb_build_object('message', $3::text)");
    const char *params[] = {c.q.name, id, error_message ? error_message : "failed", c.started_us};
    PGresult *res = db_exec(conn, "failing pg-boss job", sql.data, 4, params, err);
    awm_buf_free(&sql);
    if (!res)
        return QUEUE_ERROR;
    bool done = PQntuples(res) == 1;
    if (done && new_state)
        *new_state = queue_state_from_name(PQgetvalue(res, 0, 0));
    PQclear(res);
    return done ? QUEUE_OK : explain_no_match(conn, id, &c.q, err);
}

static queue_result pb_release(PGconn *conn, const char *id, const char *claim, awm_error *err)
{
    pb_claim c;
    queue_result held = claimed(conn, id, claim, &c, err);
    if (held != QUEUE_OK)
        return held;
    /* Undo the fetch: its retry_count step is taken back (a first attempt forgets started_on,
     * so the next fetch does not count it; a retry keeps started_on and one count less, so the
     * next fetch counts it once); start_after = now() makes it fetchable at once. */
    awm_buf sql = {0};
    awm_buf_printf(&sql,
        "UPDATE %1$s.%2$s j SET"
        " state = CASE WHEN retry_count = 0 THEN 'created'::%1$s.job_state ELSE 'retry'::%1$s.job_state END,"
        " started_on = CASE WHEN retry_count = 0 THEN NULL ELSE started_on END,"
        " retry_count = greatest(retry_count - 1, 0), start_after = now()"
        " WHERE name = $1 AND id = $2::uuid AND state = 'active' AND " PB_STARTED_US " = $3::bigint",
        S, c.q.table);
    const char *params[] = {c.q.name, id, c.started_us};
    long changed = 0;
    bool ok = db_exec_changed(conn, "releasing pg-boss job", sql.data, 3, params, &changed, err);
    awm_buf_free(&sql);
    if (!ok)
        return QUEUE_ERROR;
    return changed == 1 ? QUEUE_OK : explain_no_match(conn, id, &c.q, err);
}

/* cancel / resume / retry by id alone: on the partitioned parent table (pg-boss's own statements
 * name the queue; these are rare operator actions, so the scan over partitions is acceptable). */
static queue_result change_state(PGconn *conn, const char *id, const char *what, const char *set_where,
                                 awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    awm_buf sql = {0};
    awm_buf_printf(&sql, "UPDATE %s.job SET %s", S, set_where);
    const char *params[] = {id};
    PGresult *res = db_exec(conn, what, sql.data, 1, params, err);
    awm_buf_free(&sql);
    if (!res)
        return QUEUE_ERROR;
    bool done = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    if (done)
        return QUEUE_OK;
    queue_result r = explain_no_match(conn, id, NULL, err);
    if (r == QUEUE_CLAIM_LOST) {
        awm_error_set(err, "job %s is not in a state that allows this", id);
        r = QUEUE_WRONG_STATE;
    }
    return r;
}

static queue_result pb_cancel(PGconn *conn, const char *id, awm_error *err)
{
    return change_state(conn, id, "cancelling pg-boss job",
                        "completed_on = now(), state = 'cancelled' WHERE id = $1::uuid AND state < 'completed'", err);
}

static queue_result pb_resume(PGconn *conn, const char *id, awm_error *err)
{
    return change_state(conn, id, "resuming pg-boss job",
                        "completed_on = NULL, state = 'created' WHERE id = $1::uuid AND state = 'cancelled'", err);
}

static queue_result pb_retry(PGconn *conn, const char *id, awm_error *err)
{
    return change_state(conn, id, "retrying pg-boss job",
                        "state = 'retry', retry_limit = retry_limit + 1 WHERE id = $1::uuid AND state = 'failed'",
                        err);
}

static queue_result pb_get(PGconn *conn, const char *id, queue_job *out, awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    awm_buf sql = {0};
    awm_buf_printf(&sql, "SELECT " PB_COLUMNS " FROM %s.job j WHERE j.id = $1::uuid", S);
    queue_result r = queue_read_job(conn, "reading pg-boss job", sql.data, id, out, err);
    awm_buf_free(&sql);
    if (r == QUEUE_OK) {
        awm_error ignore;
        int idx = out->claim[0] ? lookup_queue(conn, out->name, &ignore) : -1;
        if (idx >= 0)
            add_claim_index(out, idx);
        else
            out->claim[0] = '\0';
    }
    return r;
}

static bool pb_counts(PGconn *conn, const char *queue, long counts[QUEUE_STATE_COUNT], awm_error *err)
{
    memset(counts, 0, sizeof(long) * QUEUE_STATE_COUNT);
    if (!valid_name(queue, err))
        return false;
    int idx = lookup_queue(conn, queue, err);
    if (idx < 0)
        return false;
    cached_queue q = cache_get(idx);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT state::text, count(*) FROM %s.%s WHERE name = $1 GROUP BY state", S, q.table);
    return queue_read_counts(conn, "counting pg-boss jobs", sql, queue, counts, err);
}

/* ---- supervision and maintenance ----------------------------------------------------------- */

/* Every queue's name grouped by partition, as boss.supervise() groups them: calls `each` once
 * per partition with a text[] literal of its queue names; the rows each touched are added up
 * into *total (when not NULL) and, when there are any, logged as `event` at `level`. */
typedef bool (*per_table_fn)(PGconn *conn, const char *table, const char *names, long *count, awm_error *err);

static bool for_each_table(PGconn *conn, per_table_fn each, long *total_out, awm_log_level level,
                           const char *event, awm_error *err)
{
    long total = 0;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT table_name, array_agg(name ORDER BY name)::text FROM %s.queue GROUP BY table_name ORDER BY 1", S);
    PGresult *res = db_exec(conn, "listing pg-boss queues", sql, 0, NULL, err);
    if (!res)
        return false;
    bool ok = true;
    for (int i = 0; i < PQntuples(res) && ok; i++) {
        const char *table = PQgetvalue(res, i, 0);
        if (!valid_table(table))
            continue;
        long n = 0;
        ok = each(conn, table, PQgetvalue(res, i, 1), &n, err);
        total += n;
    }
    PQclear(res);
    if (total_out)
        *total_out = total;
    if (total > 0)
        awm_log(level, event, "{s:I, s:s}", "count", (json_int_t)total, "backend", "pgboss");
    return ok;
}

/* A statement on one partition under lock `key`, $1 the partition's queue names: run_locked
 * on `sql` (freed here); *count (may be NULL) gets the rows it returned or, when it returns
 * none, the rows it changed. */
static bool run_locked_on(PGconn *conn, const char *what, const char *key, awm_buf *sql, const char *names,
                          long *count, awm_error *err)
{
    const char *params[] = {names};
    PGresult *res = run_locked(conn, what, key, sql->data, 1, params, err);
    awm_buf_free(sql);
    if (!res)
        return false;
    if (count)
        *count = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : atol(PQcmdTuples(res));
    PQclear(res);
    return true;
}

static bool supervise_table(PGconn *conn, const char *table, const char *names, long *count, awm_error *err)
{
    /* monitor: cacheQueueStats under the 'queue-stats' lock (the counts pg-boss's queue rows show,
     * and the active singletons its fetch skips), stamping monitor_on as trySetQueueMonitorTime
     * does, so a Node process still running skips work just done. */
    awm_buf sql = {0};
    awm_buf_printf(&sql,
        "WITH stats AS (SELECT name, (count(*) FILTER (WHERE start_after > now()))::int as \"deferredCount\","
        " (count(*) FILTER (WHERE state < 'active'))::int as \"queuedCount\","
        " (count(*) FILTER (WHERE state = 'active'))::int as \"activeCount\", count(*)::int as \"totalCount\","
        " array_agg(singleton_key) FILTER (WHERE policy IN ('singleton','stately') AND state = 'active')"
        " as \"singletonsActive\" FROM %1$s.%2$s WHERE name = ANY($1::text[]) GROUP BY 1)"
        " UPDATE %1$s.queue SET monitor_on = now(), deferred_count = \"deferredCount\", queued_count = \"queuedCount\","
        " active_count = \"activeCount\", total_count = \"totalCount\", singletons_active = \"singletonsActive\""
        " FROM stats WHERE queue.name = stats.name",
        S, table);
    if (!run_locked_on(conn, "caching pg-boss queue statistics", "queue-stats", &sql, names, NULL, err))
        return false;
    /* failJobsByTimeout under '<table>failJobsByTimeout'. */
    char key[128];
    snprintf(key, sizeof key, "%sfailJobsByTimeout", table);
    awm_buf_printf(&sql, PB_FAIL_FORMAT, S, table,
                   "state = 'active' AND (started_on + expire_seconds * interval '1s') < now()"
                   " AND name = ANY($1::text[])",
                   "'{ \"value\": { \"message\": \"job timed out\" } }'::jsonb");
    return run_locked_on(conn, "expiring pg-boss jobs", key, &sql, names, count, err);
}

static bool pb_supervise(PGconn *conn, long *expired, awm_error *err)
{
    return for_each_table(conn, supervise_table, expired, AWM_LOG_WARN, "QUEUE_JOBS_EXPIRED", err);
}

static bool maintain_table(PGconn *conn, const char *table, const char *names, long *count, awm_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%sdeletion", table);
    awm_buf sql = {0};
    /* deletion, with maintain_on stamped as trySetQueueDeletionTime does. */
    awm_buf_printf(&sql,
        "WITH stamped AS (UPDATE %1$s.queue SET maintain_on = now() WHERE name = ANY($1::text[]) RETURNING 1)"
        " DELETE FROM %1$s.%2$s WHERE name = ANY($1::text[]) AND (completed_on + deletion_seconds * interval '1s'"
        " < now() OR (state < 'active' AND keep_until < now()))",
        S, table);
    return run_locked_on(conn, "deleting old pg-boss jobs", key, &sql, names, count, err);
}

static bool pb_maintain(PGconn *conn, long *deleted, awm_error *err)
{
    return for_each_table(conn, maintain_table, deleted, AWM_LOG_INFO, "QUEUE_JOBS_DELETED", err);
}

/* The seed-shaped message has no userMapId: its jobs are found by their printable map, whose row
 * (AWM's API tables, in the same database) names the user map; the caller deletes that row
 * after this, in the same transaction. Jobs in our own shape are matched directly. */
static bool pb_delete_export_jobs(PGconn *conn, const char *user_map_id, long *deleted, awm_error *err)
{
    if (!awm_is_uuid(user_map_id)) {
        awm_error_setc(err, AWM_EINVALID, "user map id '%s' is not a uuid", user_map_id ? user_map_id : "(null)");
        return false;
    }
    char sql[400];
    snprintf(sql, sizeof sql,
             "DELETE FROM %s.job WHERE data->>'userMapId' = $1 OR data->>'printableMapId' IN"
             " (SELECT id::text FROM printable_maps WHERE user_map_id = $1::uuid)", S);
    const char *params[] = {user_map_id};
    return db_exec_changed(conn, "deleting the map's pg-boss jobs", sql, 1, params, deleted, err);
}

const queue_backend_ops queue_backend_pgboss = {
    .name = "pgboss",
    .check = pb_check,
    .create = pb_create,
    .update = pb_update,
    .get_options = pb_get_options,
    .send = pb_send,
    .send_batch = pb_send_batch,
    .fetch = pb_fetch,
    .complete = pb_complete,
    .complete_many = pb_complete_many,
    .complete_and_fetch = pb_complete_and_fetch,
    .fail = pb_fail,
    .release = pb_release,
    .cancel = pb_cancel,
    .resume = pb_resume,
    .retry = pb_retry,
    .get = pb_get,
    .counts = pb_counts,
    .supervise = pb_supervise,
    .maintain = pb_maintain,
    .delete_export_jobs = pb_delete_export_jobs,
    .job_schema = queue_pgboss_schema,
    .notifies = false,
    .seed_export_message = true,
};
