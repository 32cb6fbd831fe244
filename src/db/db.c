/* db.c — connections, libpq error messages, and statement helpers. */
#include "db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

/* ---- statements with a deadline ---------------------------------------------------------------
 * libpq waits for an answer as long as it takes, and a frozen server (stopped, or its disk hung)
 * never answers; the kernel keeps the TCP connection alive, so keepalives do not notice. With a
 * statement timeout set, commands are sent asynchronously and the answer awaited with poll():
 * past the deadline the socket is shut down, libpq sees the connection end, and the caller gets
 * AWM_EUNAVAILABLE (the API answers 503; the pool re-opens the connection on its next use). */
static _Atomic int g_statement_timeout_ms;
static _Atomic int g_connect_timeout_s = DB_DEFAULT_CONNECT_TIMEOUT_S;

void db_set_timeouts(int connect_s, int statement_ms)
{
    atomic_store(&g_connect_timeout_s, connect_s > 0 ? connect_s : DB_DEFAULT_CONNECT_TIMEOUT_S);
    atomic_store(&g_statement_timeout_ms, statement_ms > 0 ? statement_ms : 0);
}

awm_error_code db_error_code(PGconn *conn, const PGresult *res)
{
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return AWM_EUNAVAILABLE;
    const char *state = db_sqlstate(res);
    /* Class 08: connection exception; 57P0x: the server is shutting down or starting;
     * 57014: a statement timeout or cancel. */
    if (!strncmp(state, "08", 2) || !strncmp(state, "57", 2))
        return AWM_EUNAVAILABLE;
    if (!strcmp(state, "23503")) /* foreign_key_violation: the row referred to is gone */
        return AWM_ENOTFOUND;
    if (!strcmp(state, "23505") || !strcmp(state, "40001") || !strcmp(state, "40P01"))
        return AWM_ECONFLICT; /* unique violation, serialization failure, deadlock */
    if (!strncmp(state, "22", 2)) /* data exception: the value given is not acceptable */
        return AWM_EINVALID;
    return AWM_EFAIL;
}

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
    awm_error_setc(err, db_error_code(conn, res), "%s: %.*s", what, (int)n, msg);
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
        awm_error_setc(err, AWM_EINVALID, "database connection string is empty (set DATABASE_URL)");
        return NULL;
    }
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        awm_error_setc(err, AWM_EINVALID, "database connection string is malformed: %s",
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
    snprintf(timeout, sizeof timeout, "%d", atomic_load(&g_connect_timeout_s));
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
        awm_error_setc(err, AWM_EUNAVAILABLE, "cannot connect to the database: out of memory");
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
        awm_error_setc(err, AWM_EUNAVAILABLE, "no database connection");
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

/* The result of the command just sent (the last one; the first error wins), or NULL. */
static PGresult *await_result(PGconn *conn, bool *timed_out)
{
    *timed_out = false;
    int timeout_ms = atomic_load(&g_statement_timeout_ms);
    if (timeout_ms > 0) {
        double deadline = awm_now_seconds() + timeout_ms / 1000.0;
        while (PQisBusy(conn)) {
            int left = (int)((deadline - awm_now_seconds()) * 1000.0);
            if (left <= 0) {
                *timed_out = true;
                shutdown(PQsocket(conn), SHUT_RDWR);
                PQconsumeInput(conn); /* reads the end: the connection is now CONNECTION_BAD */
                break;
            }
            struct pollfd p = {.fd = PQsocket(conn), .events = POLLIN};
            int n = poll(&p, 1, left);
            if (n < 0 && errno != EINTR)
                break;
            if (n > 0 && !PQconsumeInput(conn))
                break;
        }
    }
    PGresult *keep = NULL, *res;
    while ((res = PQgetResult(conn))) {
        ExecStatusType st = PQresultStatus(res);
        bool failed = st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK;
        if (!keep || (failed && (PQresultStatus(keep) == PGRES_TUPLES_OK || PQresultStatus(keep) == PGRES_COMMAND_OK))) {
            PQclear(keep);
            keep = res;
        } else {
            PQclear(res);
        }
        if (PQstatus(conn) != CONNECTION_OK)
            break;
    }
    return keep;
}

/* Error of a failed or timed-out command. */
static void command_failed(awm_error *err, PGconn *conn, const PGresult *res, const char *what, bool timed_out)
{
    if (timed_out)
        awm_error_setc(err, AWM_EUNAVAILABLE, "%s: the database did not answer within %d ms", what,
                       atomic_load(&g_statement_timeout_ms));
    else
        db_error_from(err, conn, res, what);
}

PGresult *db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
                  const char *const *params, awm_error *err)
{
    if (!db_ensure_connected(conn, err)) {
        awm_error_prefix(err, "%s", what);
        return NULL;
    }
    bool timed_out = false;
    PGresult *res = PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)
                        ? await_result(conn, &timed_out)
                        : NULL;
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    command_failed(err, conn, res, what, timed_out);
    PQclear(res);
    return NULL;
}

bool db_run(PGconn *conn, const char *what, const char *sql, awm_error *err)
{
    PGresult *res = db_exec(conn, what, sql, 0, NULL, err);
    PQclear(res);
    return res != NULL;
}

bool db_exec_changed(PGconn *conn, const char *what, const char *sql, int nparams,
                     const char *const *params, long *changed, awm_error *err)
{
    PGresult *res = db_exec(conn, what, sql, nparams, params, err);
    if (!res)
        return false;
    if (changed)
        *changed = atol(PQcmdTuples(res));
    PQclear(res);
    return true;
}

/* ---- statements prepared once per connection ---------------------------------------------
 * libpq keeps no per-connection user data, so a small registry remembers which statements
 * each (connection, server process) has prepared. A re-opened connection has a new server
 * pid, hence a fresh entry. Each entry has its own generation number in its statement
 * names, so an entry evicted from the registry and created again never collides with
 * names already prepared on that server process. */

enum { PREP_ENTRIES = 64 };

typedef struct {
    PGconn *conn;
    int pid;
    unsigned gen;
    const char **sqls; /* prepared statements, by index in the name */
    int n, cap;
    unsigned long last_use;
} prep_entry;

static prep_entry g_prep[PREP_ENTRIES];
static unsigned g_prep_gen;
static unsigned long g_prep_clock;
static pthread_mutex_t g_prep_lock = PTHREAD_MUTEX_INITIALIZER;

static void prep_entry_clear(prep_entry *e)
{
    free(e->sqls);
    memset(e, 0, sizeof *e);
}

/* The entry of (conn, pid), created (evicting the least recently used) when missing. */
static prep_entry *prep_entry_for(PGconn *conn, int pid)
{
    prep_entry *free_slot = NULL, *oldest = &g_prep[0];
    for (int i = 0; i < PREP_ENTRIES; i++) {
        prep_entry *e = &g_prep[i];
        if (e->conn == conn && e->pid == pid) {
            e->last_use = ++g_prep_clock;
            return e;
        }
        if (e->conn == conn) /* the same PGconn re-opened: its old statements are gone */
            prep_entry_clear(e);
        if (!e->conn && !free_slot)
            free_slot = e;
        if (e->last_use < oldest->last_use)
            oldest = e;
    }
    prep_entry *e = free_slot ? free_slot : oldest;
    prep_entry_clear(e);
    e->conn = conn;
    e->pid = pid;
    e->gen = ++g_prep_gen;
    e->last_use = ++g_prep_clock;
    return e;
}

/* Name of `sql` on this connection; *known = false when it still has to be prepared. */
static void prep_lookup(PGconn *conn, const char *sql, char *name, size_t size, bool *known)
{
    pthread_mutex_lock(&g_prep_lock);
    prep_entry *e = prep_entry_for(conn, PQbackendPID(conn));
    int idx = -1;
    for (int i = 0; i < e->n; i++)
        if (e->sqls[i] == sql)
            idx = i;
    *known = idx >= 0;
    if (idx < 0) {
        if (e->n == e->cap) {
            e->cap = e->cap ? e->cap * 2 : 8;
            e->sqls = awm_xrealloc(e->sqls, (size_t)e->cap * sizeof *e->sqls);
        }
        idx = e->n;
        e->sqls[e->n++] = sql; /* reserved now; dropped again if preparing fails */
    }
    snprintf(name, size, "awm_%u_%d", e->gen, idx);
    pthread_mutex_unlock(&g_prep_lock);
}

static void prep_forget(PGconn *conn)
{
    pthread_mutex_lock(&g_prep_lock);
    for (int i = 0; i < PREP_ENTRIES; i++)
        if (g_prep[i].conn == conn)
            prep_entry_clear(&g_prep[i]);
    pthread_mutex_unlock(&g_prep_lock);
}

void db_forget_connection(PGconn *conn)
{
    prep_forget(conn);
}

PGresult *db_exec_cached(PGconn *conn, const char *what, const char *sql, int nparams,
                         const char *const *params, awm_error *err)
{
    for (int attempt = 0;; attempt++) {
        if (!db_ensure_connected(conn, err)) {
            awm_error_prefix(err, "%s", what);
            return NULL;
        }
        PGTransactionStatusType before = PQtransactionStatus(conn);
        char name[48];
        bool known;
        prep_lookup(conn, sql, name, sizeof name, &known);
        bool timed_out = false;
        if (!known) {
            PGresult *prep = PQsendPrepare(conn, name, sql, nparams, NULL) ? await_result(conn, &timed_out) : NULL;
            if (!prep || PQresultStatus(prep) != PGRES_COMMAND_OK) {
                command_failed(err, conn, prep, what, timed_out);
                PQclear(prep);
                prep_forget(conn);
                return NULL;
            }
            PQclear(prep);
        }
        PGresult *res = PQsendQueryPrepared(conn, name, nparams, params, NULL, NULL, 0)
                            ? await_result(conn, &timed_out)
                            : NULL;
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
            return res;
        /* 26000: the registry mistook a new server process for an old one (a freed PGconn's
         * address and pid both reused). Outside a transaction it is safe to prepare again. */
        bool stale = !strcmp(db_sqlstate(res), "26000");
        if (stale)
            prep_forget(conn);
        if (stale && attempt == 0 && before == PQTRANS_IDLE) {
            PQclear(res);
            continue;
        }
        command_failed(err, conn, res, what, timed_out);
        PQclear(res);
        return NULL;
    }
}
