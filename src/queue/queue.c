/* queue.c — queues, sending, fetching and finishing jobs, supervision and maintenance.
 * Each operation is one parameterised statement (see queue.h for why). */
#include "queue/queue.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db/db.h"
#include "queue/queue_internal.h"

static const char *const STATE_NAMES[QUEUE_STATE_COUNT] = {
    "created", "retry", "active", "completed", "cancelled", "failed",
};

const char *queue_state_name(queue_state s)
{
    return (unsigned)s < QUEUE_STATE_COUNT ? STATE_NAMES[s] : "unknown";
}

queue_state queue_state_from_name(const char *s)
{
    for (int i = 0; i < QUEUE_STATE_COUNT; i++)
        if (!strcmp(s, STATE_NAMES[i]))
            return (queue_state)i;
    return QUEUE_STATE_FAILED;
}

/* ---- validation ---------------------------------------------------------------------- */

bool queue_valid_name(const char *name, awm_error *err)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n >= 1 && n <= 128;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        ok = isalnum(c) || c == '.' || c == '_' || c == '/' || c == '-';
    }
    if (!ok)
        awm_error_set(err, "queue name '%s' is invalid (1-128 of A-Z a-z 0-9 . _ / -)",
                      name ? name : "(null)");
    return ok;
}

bool queue_valid_job_id(const char *id, awm_error *err)
{
    if (awm_is_uuid(id))
        return true;
    awm_error_set(err, "job id '%s' is not a uuid", id ? id : "(null)");
    return false;
}

bool queue_uuid_array(const char *const *ids, size_t n, awm_buf *out, awm_error *err)
{
    awm_buf_append(out, "{", 1);
    for (size_t i = 0; i < n; i++) {
        if (!queue_valid_job_id(ids[i], err)) {
            awm_buf_free(out);
            return false;
        }
        if (i)
            awm_buf_append(out, ",", 1);
        awm_buf_append(out, ids[i], 36);
    }
    awm_buf_append(out, "}", 1);
    return true;
}

bool queue_options_from_result(const PGresult *res, queue_options *out)
{
    if (PQntuples(res) != 1)
        return false;
    memset(out, 0, sizeof *out);
    out->retry_limit = atoi(PQgetvalue(res, 0, 0));
    out->retry_delay_s = atoi(PQgetvalue(res, 0, 1));
    out->retry_backoff = PQgetvalue(res, 0, 2)[0] == 't';
    out->retry_delay_max_s = atoi(PQgetvalue(res, 0, 3));
    out->expire_in_s = atoi(PQgetvalue(res, 0, 4));
    out->retention_s = atoi(PQgetvalue(res, 0, 5));
    snprintf(out->dead_letter, sizeof out->dead_letter, "%s", PQgetvalue(res, 0, 6));
    return true;
}

bool queue_read_counts(PGconn *conn, const char *what, const char *sql, const char *queue,
                       long counts[QUEUE_STATE_COUNT], awm_error *err)
{
    const char *params[] = {queue};
    PGresult *res = db_exec(conn, what, sql, 1, params, err);
    if (!res)
        return false;
    for (int i = 0; i < PQntuples(res); i++)
        counts[queue_state_from_name(PQgetvalue(res, i, 0))] = atol(PQgetvalue(res, i, 1));
    PQclear(res);
    return true;
}

queue_result queue_read_job(PGconn *conn, const char *what, const char *sql, const char *id, queue_job *out,
                            awm_error *err)
{
    const char *params[] = {id};
    PGresult *res = db_exec(conn, what, sql, 1, params, err);
    if (!res)
        return QUEUE_ERROR;
    queue_result r = PQntuples(res) == 1 ? QUEUE_OK : QUEUE_NOT_FOUND;
    if (r == QUEUE_OK)
        queue_job_from_row(res, 0, 0, out);
    PQclear(res);
    return r;
}

static bool valid_options(const char *name, const queue_options *o, awm_error *err)
{
    const char *bad = NULL;
    if (o->retry_limit < 0) bad = "retry_limit must be >= 0";
    else if (o->retry_delay_s < 0) bad = "retry_delay must be >= 0";
    else if (o->retry_delay_max_s < 0) bad = "retry_delay_max must be >= 0";
    else if (o->expire_in_s <= 0) bad = "expire_in must be > 0";
    else if (o->retention_s < 0) bad = "retention must be >= 0";
    if (bad) {
        awm_error_set(err, "queue '%s': %s", name, bad);
        return false;
    }
    if (!strcmp(o->dead_letter, name)) {
        /* Its failed jobs would come back to it forever. */
        awm_error_set(err, "queue '%s' cannot be its own dead-letter queue", name);
        return false;
    }
    if (o->dead_letter[0] && !queue_valid_name(o->dead_letter, err)) {
        awm_error_prefix(err, "queue '%s': dead-letter queue", name);
        return false;
    }
    return true;
}

/* ---- queues ---------------------------------------------------------------------------- */

void queue_options_default(queue_options *o)
{
    memset(o, 0, sizeof *o);
    o->retry_limit = 2;
    o->retry_delay_s = 0;
    o->retry_backoff = false;
    o->retry_delay_max_s = 3600;
    o->expire_in_s = 900;
    o->retention_s = 14 * 24 * 3600;
}

void queue_option_params_fill(queue_option_params *p, const char *name, const queue_options *o)
{
    snprintf(p->buf[0], sizeof p->buf[0], "%d", o->retry_limit);
    snprintf(p->buf[1], sizeof p->buf[1], "%d", o->retry_delay_s);
    snprintf(p->buf[2], sizeof p->buf[2], "%s", o->retry_backoff ? "true" : "false");
    snprintf(p->buf[3], sizeof p->buf[3], "%d", o->retry_delay_max_s);
    snprintf(p->buf[4], sizeof p->buf[4], "%d", o->expire_in_s);
    snprintf(p->buf[5], sizeof p->buf[5], "%d", o->retention_s);
    p->params[0] = name;
    for (int i = 0; i < 6; i++)
        p->params[i + 1] = p->buf[i];
    p->params[7] = o->dead_letter[0] ? o->dead_letter : NULL;
}

bool queue_update_options(PGconn *conn, const char *what, const char *sql, const char *name,
                          const queue_options *o, awm_error *err)
{
    queue_option_params p;
    queue_option_params_fill(&p, name, o);
    long changed = 0;
    if (!db_exec_changed(conn, what, sql, 8, p.params, &changed, err))
        return false;
    if (changed == 0)
        awm_error_setc(err, AWM_ENOTFOUND, "%s: unknown queue '%s'", what, name);
    return changed > 0;
}

bool queue_read_options(PGconn *conn, const char *what, const char *sql, const char *name,
                        queue_options *out, awm_error *err)
{
    const char *params[] = {name};
    PGresult *res = db_exec(conn, what, sql, 1, params, err);
    if (!res)
        return false;
    bool found = queue_options_from_result(res, out);
    PQclear(res);
    if (!found)
        awm_error_setc(err, AWM_ENOTFOUND, "%s: unknown queue '%s'", what, name);
    return found;
}

static bool aq_create(PGconn *conn, const char *name, const queue_options *opts, awm_error *err)
{
    queue_options defaults;
    if (!opts) {
        queue_options_default(&defaults);
        opts = &defaults;
    }
    if (!queue_valid_name(name, err) || !valid_options(name, opts, err))
        return false;
    queue_option_params p;
    queue_option_params_fill(&p, name, opts);
    return db_exec_changed(conn, "creating queue",
        "INSERT INTO queue.queues (name, retry_limit, retry_delay, retry_backoff, retry_delay_max,"
        " expire_in, retention, dead_letter)"
        " VALUES ($1, $2::int, $3::int, $4::bool, $5::int, $6::int, $7::int, $8)"
        " ON CONFLICT (name) DO NOTHING",
        8, p.params, NULL, err);
}

static bool aq_update(PGconn *conn, const char *name, const queue_options *opts, awm_error *err)
{
    if (!queue_valid_name(name, err) || !valid_options(name, opts, err))
        return false;
    return queue_update_options(conn, "updating queue",
        "UPDATE queue.queues SET retry_limit = $2::int, retry_delay = $3::int,"
        " retry_backoff = $4::bool, retry_delay_max = $5::int, expire_in = $6::int,"
        " retention = $7::int, dead_letter = $8, updated_on = now() WHERE name = $1",
        name, opts, err);
}

static bool aq_get_options(PGconn *conn, const char *name, queue_options *out, awm_error *err)
{
    if (!queue_valid_name(name, err))
        return false;
    return queue_read_options(conn, "reading queue",
        "SELECT retry_limit, retry_delay, retry_backoff, retry_delay_max, expire_in, retention,"
        " coalesce(dead_letter, '') FROM queue.queues WHERE name = $1",
        name, out, err);
}

/* ---- sending ------------------------------------------------------------------------------ */

void queue_send_options_init(queue_send_options *o)
{
    memset(o, 0, sizeof *o);
    o->retry_limit = -1;
    o->retry_delay_s = -1;
    o->retry_backoff = -1;
    o->retry_delay_max_s = -1;
    o->expire_in_s = -1;
}

void queue_send_options_export(queue_send_options *o)
{
    queue_send_options_init(o);
    o->retry_limit = 3;
    o->retry_delay_s = 60;
    o->retry_backoff = 1;
    o->expire_in_s = 3600;
}

/* Options as parameters $3…$11 of both send statements. */
typedef struct {
    char buf[8][32];
    const char *params[9];
} send_params;

bool queue_check_send_options(const char *queue, const queue_send_options *o, awm_error *err)
{
    if (o->expire_in_s == 0) {
        awm_error_set(err, "sending to queue '%s': expire_in must be > 0", queue);
        return false;
    }
    if (o->start_in_s < 0 || o->start_in_s > 1e9) {
        awm_error_set(err, "sending to queue '%s': start_in must be between 0 and 1e9 s", queue);
        return false;
    }
    return true;
}

static const char *int_or_null(char *buf, int v)
{
    if (v < 0)
        return NULL;
    snprintf(buf, 32, "%d", v);
    return buf;
}

static bool send_params_fill(send_params *p, const char *queue, const queue_send_options *opts,
                             awm_error *err)
{
    if (!queue_check_send_options(queue, opts, err))
        return false;
    if (opts->dead_letter && opts->dead_letter[0] && !queue_valid_name(opts->dead_letter, err)) {
        awm_error_prefix(err, "sending to queue '%s': dead-letter queue", queue);
        return false;
    }
    snprintf(p->buf[0], 32, "%d", opts->priority);
    snprintf(p->buf[1], 32, "%.3f", opts->start_in_s);
    p->params[0] = p->buf[0];
    p->params[1] = p->buf[1];
    p->params[2] = opts->singleton_key;
    p->params[3] = int_or_null(p->buf[2], opts->retry_limit);
    p->params[4] = int_or_null(p->buf[3], opts->retry_delay_s);
    p->params[5] = opts->retry_backoff < 0 ? NULL : opts->retry_backoff ? "true" : "false";
    p->params[6] = int_or_null(p->buf[4], opts->retry_delay_max_s);
    p->params[7] = int_or_null(p->buf[5], opts->expire_in_s);
    p->params[8] = opts->dead_letter;
    return true;
}

/* The INSERT … SELECT shared by single and batch sends: the job takes the queue's settings
 * unless the sender overrides them. Jobs of one batch get created_on 1 µs apart, so they are
 * fetched in the order given (and lie next to each other in the table, which makes fetching
 * them cheaper than in uuid order). ON CONFLICT DO NOTHING skips a job whose singleton key
 * is already queued. The notification is sent only when a row was inserted and, being in
 * the same transaction, is delivered when it commits. */
#define SEND_SQL(DATA_EXPR, CREATED_EXPR, DATA_FROM)                                            \
    "WITH q AS (SELECT * FROM queue.queues WHERE name = $1),"                                  \
    " ins AS ("                                                                                \
    "  INSERT INTO queue.job (name, data, created_on, priority, start_after, singleton_key,"   \
    "   retry_limit, retry_delay, retry_backoff, retry_delay_max, expire_in, dead_letter)"     \
    "  SELECT q.name, " DATA_EXPR ", " CREATED_EXPR ", $3::int,"                               \
    "   now() + $4::float8 * interval '1 second', $5,"                                         \
    "   coalesce($6::int, q.retry_limit), coalesce($7::int, q.retry_delay),"                   \
    "   coalesce($8::bool, q.retry_backoff), coalesce($9::int, q.retry_delay_max),"            \
    "   coalesce($10::int, q.expire_in),"                                                      \
    "   CASE WHEN $11::text IS NULL THEN q.dead_letter ELSE nullif($11::text, '') END"         \
    "  FROM q" DATA_FROM                                                                       \
    "  ON CONFLICT DO NOTHING RETURNING id),"                                                  \
    " notified AS (SELECT pg_notify('" QUEUE_NOTIFY_CHANNEL "', $1) FROM (SELECT 1 FROM ins LIMIT 1) x)"

static bool aq_send(PGconn *conn, const char *queue, const char *data_json,
                const queue_send_options *opts, char id_out[QUEUE_ID_LEN], awm_error *err)
{
    if (id_out)
        id_out[0] = '\0';
    send_params sp;
    if (!queue_valid_name(queue, err) || !send_params_fill(&sp, queue, opts, err))
        return false;
    const char *params[11] = {queue, data_json};
    memcpy(params + 2, sp.params, sizeof sp.params);
    char what[200];
    snprintf(what, sizeof what, "sending to queue '%s'", queue);
    PGresult *res = db_exec_cached(conn, what,
        SEND_SQL("$2::jsonb", "now()", "")
        " SELECT (SELECT count(*) FROM q), (SELECT id::text FROM ins), (SELECT count(*) FROM notified)",
        11, params, err);
    if (!res)
        return false;
    bool known = atoi(PQgetvalue(res, 0, 0)) > 0;
    if (known && id_out && !PQgetisnull(res, 0, 1))
        snprintf(id_out, QUEUE_ID_LEN, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!known)
        awm_error_setc(err, AWM_ENOTFOUND, "%s: unknown queue (create it first)", what);
    return known;
}

static bool aq_send_batch(PGconn *conn, const char *queue, const char *const *data_json, size_t n,
                      const queue_send_options *opts, size_t *sent, awm_error *err)
{
    if (sent)
        *sent = 0;
    send_params sp;
    if (!queue_valid_name(queue, err) || !send_params_fill(&sp, queue, opts, err))
        return false;
    if (n == 0)
        return true;
    /* One JSON array parameter carries every job's data; each item is parsed first so a bad
     * item is named, and so no item can change the array's shape. */
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *item = data_json[i] ? json_loads(data_json[i], JSON_DECODE_ANY, &jerr) : json_null();
        if (!item) {
            awm_error_set(err, "sending to queue '%s': data of job %zu is not JSON: %s", queue, i,
                          jerr.text);
            json_decref(arr);
            return false;
        }
        json_array_append_new(arr, item);
    }
    char *array_text = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(arr);
    const char *params[11] = {queue, array_text};
    memcpy(params + 2, sp.params, sizeof sp.params);
    char what[200];
    snprintf(what, sizeof what, "sending a batch to queue '%s'", queue);
    PGresult *res = db_exec_cached(conn, what,
        SEND_SQL("d.value", "now() + d.ordinality * interval '1 microsecond'",
                 ", jsonb_array_elements($2::jsonb) WITH ORDINALITY d ORDER BY d.ordinality")
        " SELECT (SELECT count(*) FROM q), (SELECT count(*) FROM ins), (SELECT count(*) FROM notified)",
        11, params, err);
    free(array_text);
    if (!res)
        return false;
    bool known = atoi(PQgetvalue(res, 0, 0)) > 0;
    if (known && sent)
        *sent = (size_t)atol(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!known)
        awm_error_setc(err, AWM_ENOTFOUND, "%s: unknown queue (create it first)", what);
    return known;
}

/* ---- reading jobs ------------------------------------------------------------------------- */

/* date_part gives a double; extract() gives numeric, measurably slower per row. */
#define MS(col) "coalesce((date_part('epoch', t." col ") * 1000)::bigint, 0)"
/* Every column a queue_job carries, in the order job_from_row reads them; table alias t. */
#define JOB_COLUMNS                                                                             \
    "t.id::text, CASE WHEN t.state = 'active' THEN t.claim::text ELSE '' END,"                   \
    " t.name, t.data::text, t.output::text, t.singleton_key,"                                    \
    " t.dead_letter, t.state::text, t.priority, t.retry_limit, t.retry_count,"  \
    " t.retry_delay, t.retry_delay_max, t.expire_in, t.retry_backoff, " MS("created_on") ", "    \
    MS("start_after") ", " MS("started_on") ", " MS("expire_on") ", " MS("completed_on")

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : awm_strdup(PQgetvalue(res, row, col));
}

void queue_job_from_row(const PGresult *res, int row, int o, queue_job *j)
{
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", PQgetvalue(res, row, o + 0));
    snprintf(j->claim, sizeof j->claim, "%s", PQgetvalue(res, row, o + 1));
    j->name = dup_or_null(res, row, o + 2);
    j->data = dup_or_null(res, row, o + 3);
    j->output = dup_or_null(res, row, o + 4);
    j->singleton_key = dup_or_null(res, row, o + 5);
    j->dead_letter = dup_or_null(res, row, o + 6);
    j->state = queue_state_from_name(PQgetvalue(res, row, o + 7));
    j->priority = atoi(PQgetvalue(res, row, o + 8));
    j->retry_limit = atoi(PQgetvalue(res, row, o + 9));
    j->retry_count = atoi(PQgetvalue(res, row, o + 10));
    j->retry_delay_s = atoi(PQgetvalue(res, row, o + 11));
    j->retry_delay_max_s = atoi(PQgetvalue(res, row, o + 12));
    j->expire_in_s = atoi(PQgetvalue(res, row, o + 13));
    j->retry_backoff = PQgetvalue(res, row, o + 14)[0] == 't';
    j->created_on_ms = atoll(PQgetvalue(res, row, o + 15));
    j->start_after_ms = atoll(PQgetvalue(res, row, o + 16));
    j->started_on_ms = atoll(PQgetvalue(res, row, o + 17));
    j->expire_on_ms = atoll(PQgetvalue(res, row, o + 18));
    j->completed_on_ms = atoll(PQgetvalue(res, row, o + 19));
}

void queue_job_free(queue_job *j)
{
    if (!j)
        return;
    free(j->name);
    free(j->data);
    free(j->output);
    free(j->singleton_key);
    free(j->dead_letter);
    memset(j, 0, sizeof *j);
}

void queue_jobs_free(queue_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        queue_job_free(&jobs[i]);
    free(jobs);
}

static queue_result aq_get(PGconn *conn, const char *id, queue_job *out, awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    return queue_read_job(conn, "reading job", "SELECT " JOB_COLUMNS " FROM queue.job t WHERE t.id = $1::uuid",
                          id, out, err);
}

static bool aq_counts(PGconn *conn, const char *queue, long counts[QUEUE_STATE_COUNT], awm_error *err)
{
    memset(counts, 0, sizeof(long) * QUEUE_STATE_COUNT);
    if (!queue_valid_name(queue, err))
        return false;
    return queue_read_counts(conn, "counting jobs",
                             "SELECT state::text, count(*) FROM queue.job WHERE name = $1 GROUP BY state",
                             queue, counts, err);
}

/* ---- fetching and finishing ------------------------------------------------------------------ */

/* Take up to LIMIT jobs of queue NAME (parameters): SKIP LOCKED passes over rows another
 * fetcher is taking right now instead of waiting for them, so concurrent workers never
 * block on or double-take a job. One claim token per fetch. CTE `fetched` returns them.
 * The update finds the locked rows by their ctid (a TID scan): while we hold the row lock the
 * version cannot change, and it saves 50 random primary-key descents per batch (a third of
 * a fetch's time during a drain). `ctid = ANY (ARRAY(…))` also keeps the plan a TID scan in
 * a generic plan of the prepared statement, which would otherwise guess LIMIT $2 as 10 % of
 * the table and hash-join against a sequential scan of it. A row that another transaction
 * updated after our snapshot but that still matched when locked is not updated (its new
 * version is invisible to the TID scan): it stays waiting for the next fetch, never taken
 * twice. The batch size is written into the statement (see fetch_sql), not a parameter. */
#define FETCH_CTES(NAME)                                                                          \
    " next AS ("                                                                                 \
    "  SELECT ctid AS tid FROM queue.job"                                                        \
    "  WHERE name = " NAME " AND state < 'active' AND start_after <= now()"                      \
    "  ORDER BY priority DESC, created_on, id LIMIT %d"                                          \
    "  FOR UPDATE SKIP LOCKED),"                                                                 \
    " token AS MATERIALIZED (SELECT gen_random_uuid() AS claim),"                                \
    " fetched AS ("                                                                              \
    "  UPDATE queue.job t SET state = 'active', started_on = now(),"                             \
    "   expire_on = now() + t.expire_in * interval '1 second',"                                  \
    "   claim = (SELECT claim FROM token)"                                                       \
    "  WHERE t.ctid = ANY (ARRAY(SELECT tid FROM next))"                                         \
    "  RETURNING " JOB_COLUMNS ")"

/* The two fetch statements (FETCH_SQL_*), with the batch size written in as a literal: with
 * `LIMIT $n` the planner must guess the limit for a generic plan (10 % of the table), prices
 * it far above the custom plans and so re-plans the prepared statement on every call, which
 * cost as much as running it. With the literal it settles on the generic plan after five
 * calls. db_exec_cached knows statements by address, so each text made here is kept for the
 * life of the process (a worker uses one or two batch sizes); past FETCH_SQL_KEPT distinct
 * ones the text is built in `local` and run unprepared. */
enum { FETCH_SQL_FETCH, FETCH_SQL_COMPLETE_AND_FETCH };
#define FETCH_SQL_KEPT 32

#define FETCH_SQL_FETCH_FORMAT "WITH" FETCH_CTES("$1") " SELECT * FROM fetched"
/* The LEFT JOIN yields one row even when nothing was fetched, to carry the done count. */
#define FETCH_SQL_COMPLETE_AND_FETCH_FORMAT                                                      \
    "WITH done AS ("                                                                             \
    "  UPDATE queue.job SET state = 'completed', completed_on = now(), output = $4::jsonb"       \
    "  WHERE id = ANY($2::uuid[]) AND claim = $3::uuid AND state = 'active' RETURNING 1),"       \
    FETCH_CTES("$1")                                                                             \
    " SELECT d.n, f.* FROM (SELECT count(*) AS n FROM done) d LEFT JOIN fetched f ON true"

static const char *fetch_sql(int kind, int batch, char *local, size_t local_size, bool *kept)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static struct { int kind, batch; char *sql; } made[FETCH_SQL_KEPT];
    static int n_made;
    int n = kind == FETCH_SQL_FETCH ? snprintf(local, local_size, FETCH_SQL_FETCH_FORMAT, batch)
                                    : snprintf(local, local_size, FETCH_SQL_COMPLETE_AND_FETCH_FORMAT, batch);
    if (n < 0 || (size_t)n >= local_size) { /* a statement cut short must never be run */
        *kept = false;
        return NULL;
    }
    const char *sql = NULL;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_made && !sql; i++)
        if (made[i].kind == kind && made[i].batch == batch)
            sql = made[i].sql;
    if (!sql && n_made < FETCH_SQL_KEPT) {
        made[n_made].kind = kind;
        made[n_made].batch = batch;
        made[n_made].sql = awm_strdup(local);
        sql = made[n_made++].sql;
    }
    pthread_mutex_unlock(&lock);
    *kept = sql != NULL;
    return sql ? sql : local;
}

/* db_exec_cached for a statement from fetch_sql, db_exec when it was not kept. */
static PGresult *exec_fetch_sql(PGconn *conn, const char *what, int kind, int batch, int nparams,
                                const char *const *params, awm_error *err)
{
    char local[4096];
    bool kept;
    const char *sql = fetch_sql(kind, batch, local, sizeof local, &kept);
    if (!sql) {
        awm_error_set(err, "%s: the statement does not fit in %zu bytes", what, sizeof local);
        return NULL;
    }
    return kept ? db_exec_cached(conn, what, sql, nparams, params, err)
                : db_exec(conn, what, sql, nparams, params, err);
}

static bool valid_fetch_args(const char *queue, int batch, awm_error *err)
{
    if (!queue_valid_name(queue, err))
        return false;
    if (batch < 1 || batch > 10000) {
        awm_error_set(err, "fetching from queue '%s': batch size %d is not in 1..10000", queue, batch);
        return false;
    }
    return true;
}

/* The jobs in a result whose job columns start at `offset` (rows with a NULL id skipped). */
static void jobs_from_result(const PGresult *res, int offset, queue_job **jobs, size_t *n)
{
    int rows = PQntuples(res);
    *jobs = NULL;
    *n = 0;
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, offset))
            continue;
        if (!*jobs)
            *jobs = awm_xcalloc((size_t)rows, sizeof **jobs);
        queue_job_from_row(res, i, offset, &(*jobs)[(*n)++]);
    }
}

static bool aq_fetch(PGconn *conn, const char *queue, int batch, queue_job **jobs, size_t *n,
                 awm_error *err)
{
    *jobs = NULL;
    *n = 0;
    if (!valid_fetch_args(queue, batch, err))
        return false;
    const char *params[] = {queue};
    PGresult *res = exec_fetch_sql(conn, "fetching jobs", FETCH_SQL_FETCH, batch, 1, params, err);
    if (!res)
        return false;
    jobs_from_result(res, 0, jobs, n);
    PQclear(res);
    return true;
}

/* The jobs a worker completes under one claim, as a uuid[] parameter in *out; false when the
 * claim or an id is not a uuid. */
static bool claimed_ids(const char *claim, const char *const *ids, size_t n, awm_buf *out, awm_error *err)
{
    if (!awm_is_uuid(claim)) {
        awm_error_set(err, "completing jobs: claim '%s' is not a uuid", claim ? claim : "(null)");
        return false;
    }
    return queue_uuid_array(ids, n, out, err);
}

static bool aq_complete_and_fetch(PGconn *conn, const char *const *done_ids, size_t n_done,
                              const char *claim, const char *output_json, size_t *done,
                              const char *queue, int batch, queue_job **jobs, size_t *n,
                              awm_error *err)
{
    *jobs = NULL;
    *n = 0;
    if (done)
        *done = 0;
    if (!valid_fetch_args(queue, batch, err))
        return false;
    if (n_done == 0)
        return aq_fetch(conn, queue, batch, jobs, n, err);
    awm_buf ids = {0};
    if (!claimed_ids(claim, done_ids, n_done, &ids, err))
        return false;
    const char *params[] = {queue, ids.data, claim, output_json};
    PGresult *res = exec_fetch_sql(conn, "completing and fetching jobs", FETCH_SQL_COMPLETE_AND_FETCH,
                                   batch, 4, params, err);
    awm_buf_free(&ids);
    if (!res)
        return false;
    if (done && PQntuples(res) > 0)
        *done = (size_t)atol(PQgetvalue(res, 0, 0));
    jobs_from_result(res, 1, jobs, n);
    PQclear(res);
    return true;
}

/* After an UPDATE that matched nothing: tell a missing job from one in another state. */
static queue_result explain_no_match(PGconn *conn, const char *id, queue_result when_exists,
                                     awm_error *err)
{
    const char *params[] = {id};
    PGresult *res = db_exec(conn, "reading job", "SELECT 1 FROM queue.job WHERE id = $1::uuid", 1,
                            params, err);
    if (!res)
        return QUEUE_ERROR;
    queue_result r = PQntuples(res) ? when_exists : QUEUE_NOT_FOUND;
    PQclear(res);
    if (r == QUEUE_NOT_FOUND)
        awm_error_set(err, "no job %s", id);
    else if (r == QUEUE_CLAIM_LOST)
        awm_error_set(err, "job %s: claim lost (expired, cancelled or taken by another worker)", id);
    else
        awm_error_set(err, "job %s is not in a state that allows this", id);
    return r;
}

static queue_result aq_complete(PGconn *conn, const char *id, const char *claim,
                            const char *output_json, awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    if (!awm_is_uuid(claim))
        return explain_no_match(conn, id, QUEUE_CLAIM_LOST, err);
    const char *params[] = {id, claim, output_json};
    PGresult *res = db_exec_cached(conn, "completing job",
        "UPDATE queue.job SET state = 'completed', completed_on = now(), output = $3::jsonb"
        " WHERE id = $1::uuid AND claim = $2::uuid AND state = 'active'",
        3, params, err);
    if (!res)
        return QUEUE_ERROR;
    bool done = atoi(PQcmdTuples(res)) == 1;
    PQclear(res);
    return done ? QUEUE_OK : explain_no_match(conn, id, QUEUE_CLAIM_LOST, err);
}

static bool aq_complete_many(PGconn *conn, const char *const *ids, size_t n, const char *claim,
                         const char *output_json, size_t *done, awm_error *err)
{
    if (done)
        *done = 0;
    if (n == 0)
        return true;
    awm_buf arr = {0};
    if (!claimed_ids(claim, ids, n, &arr, err))
        return false;
    const char *params[] = {arr.data, claim, output_json};
    PGresult *res = db_exec_cached(conn, "completing jobs",
        "UPDATE queue.job SET state = 'completed', completed_on = now(), output = $3::jsonb"
        " WHERE id = ANY($1::uuid[]) AND claim = $2::uuid AND state = 'active'",
        3, params, err);
    awm_buf_free(&arr);
    if (!res)
        return false;
    if (done)
        *done = (size_t)atol(PQcmdTuples(res));
    PQclear(res);
    return true;
}

/* The failure rule shared by queue_fail and queue_supervise (table alias t; the values on
 * the right are the row's old ones): retry while retries remain, pushing start_after by the
 * delay — with backoff delay × 2^retry_count × (1 + random), i.e. doubling with jitter,
 * capped at retry_delay_max — else failed. ERR is the parameter holding the message. */
#define FAIL_SET(ERR)                                                                            \
    " state = CASE WHEN t.retry_count < t.retry_limit THEN 'retry'::queue.job_state"             \
    "   ELSE 'failed'::queue.job_state END,"                                                     \
    " retry_count = CASE WHEN t.retry_count < t.retry_limit THEN t.retry_count + 1"              \
    "   ELSE t.retry_count END,"                                                                 \
    " start_after = CASE WHEN t.retry_count < t.retry_limit THEN now() + interval '1 second' *"  \
    "   CASE WHEN t.retry_backoff THEN least(t.retry_delay_max::float8,"                         \
    "     t.retry_delay * power(2, least(16, t.retry_count)) * (1 + random()))"                  \
    "   ELSE t.retry_delay::float8 END"                                                          \
    "   ELSE t.start_after END,"                                                                 \
    " completed_on = CASE WHEN t.retry_count < t.retry_limit THEN NULL ELSE now() END,"          \
    " output = jsonb_build_object('message', " ERR "::text)"

/* After the failing UPDATE (CTE `failed_jobs`): copy finally failed jobs to their
 * dead-letter queue (with that queue's settings), and wake waiters of every queue that
 * got a job it can take now. */
#define FAIL_FOLLOW_UP                                                                            \
    " dl AS ("                                                                                   \
    "  INSERT INTO queue.job (name, data, priority, retry_limit, retry_delay, retry_backoff,"     \
    "   retry_delay_max, expire_in, dead_letter)"                                                \
    "  SELECT q.name, f.data, f.priority, q.retry_limit, q.retry_delay, q.retry_backoff,"        \
    "   q.retry_delay_max, q.expire_in, q.dead_letter"                                           \
    "  FROM failed_jobs f JOIN queue.queues q ON q.name = f.dead_letter"                         \
    "  WHERE f.state = 'failed' RETURNING name),"                                                \
    " notified AS (SELECT pg_notify('" QUEUE_NOTIFY_CHANNEL "', w.name) FROM ("                  \
    "  SELECT name FROM dl UNION"                                                                \
    "  SELECT name FROM failed_jobs WHERE state = 'retry' AND start_after <= now()) w)"

static queue_result aq_fail(PGconn *conn, const char *id, const char *claim, const char *error_message,
                        queue_state *new_state, awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    if (!awm_is_uuid(claim))
        return explain_no_match(conn, id, QUEUE_CLAIM_LOST, err);
    const char *params[] = {id, claim, error_message ? error_message : "failed"};
    PGresult *res = db_exec_cached(conn, "failing job",
        "WITH failed_jobs AS ("
        "  UPDATE queue.job t SET" FAIL_SET("$3")
        "  WHERE t.id = $1::uuid AND t.claim = $2::uuid AND t.state = 'active'"
        "  RETURNING t.*),"
        FAIL_FOLLOW_UP
        " SELECT f.state::text, (SELECT count(*) FROM notified) FROM failed_jobs f",
        3, params, err);
    if (!res)
        return QUEUE_ERROR;
    bool done = PQntuples(res) == 1;
    if (done && new_state)
        *new_state = queue_state_from_name(PQgetvalue(res, 0, 0));
    PQclear(res);
    return done ? QUEUE_OK : explain_no_match(conn, id, QUEUE_CLAIM_LOST, err);
}

static queue_result aq_release(PGconn *conn, const char *id, const char *claim, awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    if (!awm_is_uuid(claim))
        return explain_no_match(conn, id, QUEUE_CLAIM_LOST, err);
    const char *params[] = {id, claim};
    /* The claim is cleared so the old holder can neither complete nor fail it; the next fetch
     * gives it a fresh one. */
    PGresult *res = db_exec_cached(conn, "releasing job",
        "WITH r AS ("
        "  UPDATE queue.job SET state = CASE WHEN retry_count = 0 THEN 'created'::queue.job_state"
        "   ELSE 'retry'::queue.job_state END,"
        "   start_after = now(), started_on = NULL, expire_on = NULL, claim = NULL"
        "  WHERE id = $1::uuid AND claim = $2::uuid AND state = 'active' RETURNING name),"
        " n AS (SELECT pg_notify('" QUEUE_NOTIFY_CHANNEL "', name) FROM r)"
        " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n)",
        2, params, err);
    if (!res)
        return QUEUE_ERROR;
    bool done = atoi(PQgetvalue(res, 0, 0)) == 1;
    PQclear(res);
    return done ? QUEUE_OK : explain_no_match(conn, id, QUEUE_CLAIM_LOST, err);
}

static bool aq_supervise(PGconn *conn, long *expired, awm_error *err)
{
    if (expired)
        *expired = 0;
    const char *params[] = {"expired"};
    for (;;) {
        PGresult *res = db_exec(conn, "supervising expired jobs",
            "WITH expired AS ("
            "  SELECT id FROM queue.job WHERE state = 'active' AND expire_on < now()"
            "  ORDER BY expire_on LIMIT 500 FOR UPDATE SKIP LOCKED),"
            " failed_jobs AS ("
            "  UPDATE queue.job t SET" FAIL_SET("$1")
            "  WHERE t.id = ANY (ARRAY(SELECT id FROM expired)) RETURNING t.*),"
            FAIL_FOLLOW_UP
            " SELECT (SELECT count(*) FROM failed_jobs), (SELECT count(*) FROM notified)",
            1, params, err);
        if (!res)
            return false;
        long n = atol(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (expired)
            *expired += n;
        if (n > 0)
            awm_log(AWM_LOG_WARN, "QUEUE_JOBS_EXPIRED", "{s:I}", "count", (json_int_t)n);
        if (n < 500)
            return true;
    }
}

static bool aq_maintain(PGconn *conn, long *deleted, awm_error *err)
{
    if (deleted)
        *deleted = 0;
    long n = 0;
    if (!db_exec_changed(conn, "deleting old finished jobs",
            "DELETE FROM queue.job t USING queue.queues q"
            " WHERE t.name = q.name AND t.state > 'active'"
            " AND t.completed_on < now() - q.retention * interval '1 second'",
            0, NULL, &n, err))
        return false;
    if (deleted)
        *deleted = n;
    if (n > 0)
        awm_log(AWM_LOG_INFO, "QUEUE_JOBS_DELETED", "{s:I}", "count", (json_int_t)n);
    return true;
}

/* ---- cancel, resume, retry ------------------------------------------------------------------- */

/* Run a state-change UPDATE on one job (returning its queue name as column 0); a job that
 * becomes fetchable wakes its queue's waiters. */
static queue_result change_state(PGconn *conn, const char *id, const char *what, const char *sql,
                                 awm_error *err)
{
    if (!queue_valid_job_id(id, err))
        return QUEUE_ERROR;
    const char *params[] = {id};
    PGresult *res = db_exec(conn, what, sql, 1, params, err);
    if (!res)
        return QUEUE_ERROR;
    bool done = atoi(PQgetvalue(res, 0, 0)) == 1;
    PQclear(res);
    return done ? QUEUE_OK : explain_no_match(conn, id, QUEUE_WRONG_STATE, err);
}

static queue_result aq_cancel(PGconn *conn, const char *id, awm_error *err)
{
    return change_state(conn, id, "cancelling job",
        "WITH c AS (UPDATE queue.job SET state = 'cancelled', completed_on = now()"
        "  WHERE id = $1::uuid AND state <= 'active' RETURNING 1)"
        " SELECT count(*) FROM c", err);
}

/* Make a finished job (state FROM) fetchable again as state TO, now, and wake its queue. */
#define REOPEN_SQL(TO, FROM)                                                                    \
    "WITH r AS (UPDATE queue.job SET state = '" TO "', completed_on = NULL, start_after = now()"  \
    "  WHERE id = $1::uuid AND state = '" FROM "' RETURNING name),"                              \
    " n AS (SELECT pg_notify('" QUEUE_NOTIFY_CHANNEL "', name) FROM r)"                          \
    " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n)"

static queue_result aq_resume(PGconn *conn, const char *id, awm_error *err)
{
    return change_state(conn, id, "resuming job", REOPEN_SQL("created", "cancelled"), err);
}

static queue_result aq_retry(PGconn *conn, const char *id, awm_error *err)
{
    /* retry_count stays at retry_limit, so a further failure fails the job again. */
    return change_state(conn, id, "retrying job", REOPEN_SQL("retry", "failed"), err);
}

/* ---- the backend --------------------------------------------------------------------------- */

/* AWM's schema comes with `awm migrate`, which the API server runs at its start-up: a worker
 * starting beside it may find it missing for a moment, and the queue lookup that follows waits
 * for it. So there is nothing to refuse here. */
static bool aq_check(PGconn *conn, awm_error *err)
{
    (void)conn;
    (void)err;
    return true;
}

static bool aq_delete_export_jobs(PGconn *conn, const char *user_map_id, long *deleted, awm_error *err)
{
    const char *params[] = {user_map_id};
    return db_exec_changed(conn, "deleting the map's queue jobs",
                           "DELETE FROM queue.job WHERE data->>'userMapId' = $1", 1, params, deleted, err);
}

static const char *aq_job_schema(void)
{
    return "queue";
}

const queue_backend_ops queue_backend_awm = {
    .name = "awm",
    .check = aq_check,
    .create = aq_create,
    .update = aq_update,
    .get_options = aq_get_options,
    .send = aq_send,
    .send_batch = aq_send_batch,
    .fetch = aq_fetch,
    .complete = aq_complete,
    .complete_many = aq_complete_many,
    .complete_and_fetch = aq_complete_and_fetch,
    .fail = aq_fail,
    .release = aq_release,
    .cancel = aq_cancel,
    .resume = aq_resume,
    .retry = aq_retry,
    .get = aq_get,
    .counts = aq_counts,
    .supervise = aq_supervise,
    .maintain = aq_maintain,
    .delete_export_jobs = aq_delete_export_jobs,
    .job_schema = aq_job_schema,
    .notifies = true,
    .seed_export_message = false,
};
