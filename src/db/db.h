/* db.h — the PostgreSQL basics every database user in AWM shares: opening a connection
 * from a libpq connection string, the migration runner, and small libpq helpers that turn
 * server errors into awm_error messages.
 *
 * Threads: a PGconn belongs to one thread at a time (libpq's rule); open one per thread. */
#ifndef AWM_DB_H
#define AWM_DB_H

#include <stdbool.h>
#include <libpq-fe.h>

#include "util/util.h"

/* Seconds libpq waits for a connection when the connection string sets no connect_timeout. */
#define DB_DEFAULT_CONNECT_TIMEOUT_S 10

/* Open a connection from a libpq connection string ("postgres://…" URL or "key=value …").
 * Adds connect_timeout (unless given) and TCP keepalives, so a dead server or a cut
 * network is noticed in seconds, not hours. NULL on failure; the message never contains
 * the password. Close with PQfinish. */
PGconn *db_connect(const char *conninfo, awm_error *err);

/* Apply every .sql file in migrations_dir not yet recorded in schema_migrations, in file-name
 * order, each in its own transaction together with its schema_migrations row. Runs under
 * a session advisory lock, so several processes starting at once apply each file once.
 * Re-running is a no-op. Files must not contain BEGIN/COMMIT themselves.
 * *applied (may be NULL) receives the number of files applied now; each is logged
 * (MIGRATION_APPLIED). The directory is usually awm_asset_path("db/migrations"). */
bool db_migrate(PGconn *conn, const char *migrations_dir, int *applied, awm_error *err);

/* A statement with parameters (text format, NULL = SQL NULL); the result when its status is
 * PGRES_TUPLES_OK or PGRES_COMMAND_OK, else NULL with the server's message prefixed by
 * `what`. A connection the server dropped is re-opened (PQreset) before the statement when
 * no transaction was open, so one call fails and the next one works again. */
PGresult *db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
                  const char *const *params, awm_error *err);
/* db_exec for hot statements: prepared on first use on each connection, then executed by
 * name (no parsing or planning per call). `sql` MUST be a string literal — it is
 * remembered by address. Thread-safe (one PGconn per thread, as always). */
PGresult *db_exec_cached(PGconn *conn, const char *what, const char *sql, int nparams,
                         const char *const *params, awm_error *err);
/* Drop what db_exec_cached remembers about a connection; call it before PQfinish when
 * connections come and go often (optional: a re-opened connection is recognised anyway). */
void db_forget_connection(PGconn *conn);

/* Deadlines for every connection opened and command sent from now on: connect_s (0: the default,
 * DB_DEFAULT_CONNECT_TIMEOUT_S; a connection string's own connect_timeout wins) and statement_ms
 * (0: none). A command past its deadline fails with AWM_EUNAVAILABLE and its connection is closed
 * (CONNECTION_BAD; db_ensure_connected re-opens it). The API server sets both; a frozen database
 * then answers 503 within seconds instead of holding requests. */
void db_set_timeouts(int connect_s, int statement_ms);

/* The same for a statement whose result is not needed (BEGIN, COMMIT, DDL…). */
bool db_run(PGconn *conn, const char *what, const char *sql, awm_error *err);

/* db_exec for an INSERT, UPDATE or DELETE whose rows are not read: *changed (may be NULL)
 * receives how many rows it changed (PQcmdTuples). False with err when it failed. */
bool db_exec_changed(PGconn *conn, const char *what, const char *sql, int nparams,
                     const char *const *params, long *changed, awm_error *err);

/* Re-open a connection whose status is CONNECTION_BAD; true when it is usable. */
bool db_ensure_connected(PGconn *conn, awm_error *err);

/* The kind of a database failure: AWM_EUNAVAILABLE when the server cannot be reached (or is
 * shutting down, or a statement timed out), AWM_ENOTFOUND for a foreign-key violation (the
 * row referred to is gone), AWM_ECONFLICT for unique/serialization/deadlock failures,
 * AWM_EINVALID for data exceptions, else AWM_EFAIL. db_error_from sets it on err. */
awm_error_code db_error_code(PGconn *conn, const PGresult *res);
/* Copy the server's or libpq's message (first line, trimmed) into err, prefixed by `what`. */
void db_error_from(awm_error *err, PGconn *conn, const PGresult *res, const char *what);

/* The 5-character SQLSTATE of a failed result ("" when none), e.g. "23505" unique violation. */
const char *db_sqlstate(const PGresult *res);

#endif
