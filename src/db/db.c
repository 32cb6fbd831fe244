/* db.c — connections, libpq error messages, and statement helpers. */
#include "db/db.h"

#include <stdio.h>
#include <string.h>

void db_error_from(awm_error *err, PGconn *conn, const PGresult *res, const char *what)
{
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = conn ? PQerrorMessage(conn) : "no connection";
    if (!msg || !*msg)
        msg = "unknown database error";
    /* libpq messages start with "ERROR:  " and end with a newline; keep the first line. */
    if (!strncmp(msg, "ERROR:  ", 8))
        msg += 8;
    size_t n = strcspn(msg, "\n");
    while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\r'))
        n--;
    awm_error_set(err, "%s: %.*s", what, (int)n, msg);
}

const char *db_sqlstate(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

/* Server notices ("relation … already exists, skipping") become debug log lines instead
 * of raw text on stderr, which would break the one-JSON-object-per-line logs. */
static void log_notice(void *arg, const char *message)
{
    (void)arg;
    size_t n = strcspn(message, "\n");
    awm_log(AWM_LOG_DEBUG, "DB_NOTICE", "{s:s%}", "message", message, n);
}

PGconn *db_connect(const char *conninfo, awm_error *err)
{
    if (!conninfo || !*conninfo) {
        awm_error_set(err, "database connection string is empty (set DATABASE_URL)");
        return NULL;
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        awm_error_set(err, "database connection string is malformed: %s",
                      perr ? perr : "out of memory");
        if (perr)
            PQfreemem(perr);
        return NULL;
    }
    bool has_timeout = false;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (!strcmp(o->keyword, "connect_timeout") && o->val && *o->val)
            has_timeout = true;
    PQconninfoFree(opts);

    /* Defaults first: with expand_dbname, keywords from the connection string (the last
     * entry) override earlier ones, so whatever the user wrote wins. */
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", DB_DEFAULT_CONNECT_TIMEOUT_S);
    const char *keys[8], *vals[8];
    int n = 0;
    if (!has_timeout) {
        keys[n] = "connect_timeout";
        vals[n++] = timeout;
    }
    keys[n] = "keepalives_idle";     vals[n++] = "30";
    keys[n] = "keepalives_interval"; vals[n++] = "10";
    keys[n] = "keepalives_count";    vals[n++] = "3";
    keys[n] = "dbname";              vals[n++] = conninfo;
    keys[n] = NULL;                  vals[n] = NULL;
    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn) {
        awm_error_set(err, "cannot connect to the database: out of memory");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        db_error_from(err, conn, NULL, "cannot connect to the database");
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, log_notice, NULL);
    return conn;
}

bool db_ensure_connected(PGconn *conn, awm_error *err)
{
    if (!conn) {
        awm_error_set(err, "no database connection");
        return false;
    }
    if (PQstatus(conn) == CONNECTION_OK)
        return true;
    PQreset(conn);
    if (PQstatus(conn) != CONNECTION_OK) {
        db_error_from(err, conn, NULL, "cannot reconnect to the database");
        return false;
    }
    awm_log(AWM_LOG_INFO, "DB_RECONNECTED", NULL);
    return true;
}

PGresult *db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
                  const char *const *params, awm_error *err)
{
    if (!db_ensure_connected(conn, err)) {
        awm_error_prefix(err, "%s", what);
        return NULL;
    }
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    db_error_from(err, conn, res, what);
    PQclear(res);
    return NULL;
}

bool db_run(PGconn *conn, const char *what, const char *sql, awm_error *err)
{
    PGresult *res = db_exec(conn, what, sql, 0, NULL, err);
    PQclear(res);
    return res != NULL;
}
