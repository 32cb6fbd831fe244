/* backend.c — queue.h's job functions, each passed to the backend chosen at start-up
 * (queue_backend_select), and the QUEUE_BACKEND / PGBOSS_SCHEMA configuration. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db/db.h"
#include "queue/queue.h"
#include "queue/queue_internal.h"

static const queue_backend_ops *g_ops = &queue_backend_awm;
static char g_schema[64] = QUEUE_PGBOSS_DEFAULT_SCHEMA;

const queue_backend_ops *queue_backend_current(void)
{
    return g_ops;
}

const char *queue_pgboss_schema(void)
{
    return g_schema;
}

/* pg-boss puts the schema name into its SQL unquoted; an identifier that needs no quoting
 * is the only kind both of us can name the same way. */
bool queue_valid_schema(const char *s, awm_error *err)
{
    size_t n = strlen(s);
    bool ok = n >= 1 && n <= 63 && (islower((unsigned char)s[0]) || s[0] == '_');
    for (size_t i = 0; ok && i < n; i++)
        ok = islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_';
    if (!ok)
        awm_error_set(err, "PGBOSS_SCHEMA=%s: must be a lower-case SQL identifier (a-z 0-9 _, "
                           "not starting with a digit, at most 63 characters), e.g. pgboss", s);
    return ok;
}

bool queue_backend_from_env(queue_backend_config *cfg, awm_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    const char *kind = awm_env_str("QUEUE_BACKEND", "awm");
    if (!strcasecmp(kind, "awm"))
        cfg->kind = QUEUE_BACKEND_AWM;
    else if (!strcasecmp(kind, "pgboss") || !strcasecmp(kind, "pg-boss"))
        cfg->kind = QUEUE_BACKEND_PGBOSS;
    else {
        awm_error_set(err, "QUEUE_BACKEND=%s: must be awm (AWM's own queue tables) or pgboss (an existing "
                           "pg-boss %d schema)", kind, QUEUE_PGBOSS_SCHEMA_VERSION);
        return false;
    }
    const char *schema = awm_env_str("PGBOSS_SCHEMA", QUEUE_PGBOSS_DEFAULT_SCHEMA);
    if (!queue_valid_schema(schema, err))
        return false;
    snprintf(cfg->pgboss_schema, sizeof cfg->pgboss_schema, "%s", schema);
    return true;
}

bool queue_backend_select(const queue_backend_config *cfg, awm_error *err)
{
    if (cfg->kind == QUEUE_BACKEND_PGBOSS) {
        if (!queue_valid_schema(cfg->pgboss_schema, err))
            return false;
        snprintf(g_schema, sizeof g_schema, "%s", cfg->pgboss_schema);
        g_ops = &queue_backend_pgboss;
    } else {
        g_ops = &queue_backend_awm;
    }
    return true;
}

void queue_backend_describe(char *buf, size_t size)
{
    if (g_ops == &queue_backend_pgboss)
        snprintf(buf, size, "pgboss (schema %s, version %d)", g_schema, QUEUE_PGBOSS_SCHEMA_VERSION);
    else
        snprintf(buf, size, "awm (schema queue)");
}

bool queue_backend_check(PGconn *conn, awm_error *err)
{
    return g_ops->check(conn, err);
}

/* ---- the interface, passed on ------------------------------------------------------- */

bool queue_create(PGconn *conn, const char *name, const queue_options *opts, awm_error *err)
{
    return g_ops->create(conn, name, opts, err);
}

bool queue_update(PGconn *conn, const char *name, const queue_options *opts, awm_error *err)
{
    return g_ops->update(conn, name, opts, err);
}

bool queue_get_options(PGconn *conn, const char *name, queue_options *out, awm_error *err)
{
    return g_ops->get_options(conn, name, out, err);
}

/* A send without options takes the queue's settings (queue_send_options_init): the backends
 * are always given options. */
static const queue_send_options *send_options_or_defaults(const queue_send_options *opts,
                                                          queue_send_options *defaults)
{
    if (opts)
        return opts;
    queue_send_options_init(defaults);
    return defaults;
}

bool queue_send(PGconn *conn, const char *queue, const char *data_json, const queue_send_options *opts,
                char id_out[QUEUE_ID_LEN], awm_error *err)
{
    queue_send_options defaults;
    return g_ops->send(conn, queue, data_json, send_options_or_defaults(opts, &defaults), id_out, err);
}

bool queue_send_batch(PGconn *conn, const char *queue, const char *const *data_json, size_t n,
                      const queue_send_options *opts, size_t *sent, awm_error *err)
{
    queue_send_options defaults;
    return g_ops->send_batch(conn, queue, data_json, n, send_options_or_defaults(opts, &defaults), sent, err);
}

bool queue_fetch(PGconn *conn, const char *queue, int batch, queue_job **jobs, size_t *n, awm_error *err)
{
    return g_ops->fetch(conn, queue, batch, jobs, n, err);
}

queue_result queue_complete(PGconn *conn, const char *id, const char *claim, const char *output_json,
                            awm_error *err)
{
    return g_ops->complete(conn, id, claim, output_json, err);
}

bool queue_complete_many(PGconn *conn, const char *const *ids, size_t n, const char *claim,
                         const char *output_json, size_t *done, awm_error *err)
{
    return g_ops->complete_many(conn, ids, n, claim, output_json, done, err);
}

bool queue_complete_and_fetch(PGconn *conn, const char *const *done_ids, size_t n_done, const char *claim,
                              const char *output_json, size_t *done, const char *queue, int batch,
                              queue_job **jobs, size_t *n, awm_error *err)
{
    return g_ops->complete_and_fetch(conn, done_ids, n_done, claim, output_json, done, queue, batch, jobs, n,
                                     err);
}

queue_result queue_fail(PGconn *conn, const char *id, const char *claim, const char *error_message,
                        queue_state *new_state, awm_error *err)
{
    return g_ops->fail(conn, id, claim, error_message, new_state, err);
}

queue_result queue_release(PGconn *conn, const char *id, const char *claim, awm_error *err)
{
    return g_ops->release(conn, id, claim, err);
}

queue_result queue_cancel(PGconn *conn, const char *id, awm_error *err)
{
    return g_ops->cancel(conn, id, err);
}

queue_result queue_resume(PGconn *conn, const char *id, awm_error *err)
{
    return g_ops->resume(conn, id, err);
}

queue_result queue_retry(PGconn *conn, const char *id, awm_error *err)
{
    return g_ops->retry(conn, id, err);
}

queue_result queue_get(PGconn *conn, const char *id, queue_job *out, awm_error *err)
{
    return g_ops->get(conn, id, out, err);
}

bool queue_counts(PGconn *conn, const char *queue, long counts[QUEUE_STATE_COUNT], awm_error *err)
{
    return g_ops->counts(conn, queue, counts, err);
}

bool queue_supervise(PGconn *conn, long *expired, awm_error *err)
{
    return g_ops->supervise(conn, expired, err);
}

bool queue_maintain(PGconn *conn, long *deleted, awm_error *err)
{
    return g_ops->maintain(conn, deleted, err);
}

bool queue_latest_export_state(PGconn *conn, const char *schema, const char *print_job_id, bool *found,
                               queue_state *state, awm_error *err)
{
    char sql[300];
    if (snprintf(sql, sizeof sql, "SELECT state::text FROM %s.job WHERE name = 'export-map' AND "
                 "data->>'printJobId' = $1 ORDER BY created_on DESC LIMIT 1", schema) >= (int)sizeof sql) {
        awm_error_setc(err, AWM_EINVALID, "queue schema name too long: %s", schema);
        return false;
    }
    const char *params[] = {print_job_id};
    PGresult *res = db_exec(conn, "reading the print job's queue job", sql, 1, params, err);
    if (!res)
        return false;
    *found = PQntuples(res) == 1;
    if (*found)
        *state = queue_state_from_name(PQgetvalue(res, 0, 0));
    PQclear(res);
    return true;
}
