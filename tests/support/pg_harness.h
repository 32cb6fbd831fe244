/* pg_harness.h — a private PostgreSQL 15 server for one test process.
 *
 *   pg_harness *pg = pg_harness_start(&err);        // initdb + start, or NULL (err says why)
 *   PGconn *c = PQconnectdb(pg_harness_conninfo(pg)); // or db_connect(...)
 *   ...
 *   pg_harness_destroy(pg);                          // stop the server, remove its directory
 *
 * The server lives in a fresh directory under $TMPDIR (or /tmp) named awm-pg-*, listens on a
 * free TCP port on 127.0.0.1 and on a unix socket in that directory, trusts local
 * connections (user "awm", database "postgres") and keeps fsync on. Binaries come from
 * `pg_config --bindir`, else /usr/lib/postgresql/15/bin. PostgreSQL refuses to run as root,
 * so as root the server runs as the `postgres` system user (runuser) and owns the directory.
 *
 * No server outlives its test: destroy stops it; an atexit hook and handlers for SIGINT,
 * SIGTERM, SIGHUP and SIGABRT (where ASan and failed asserts end) kill any server still
 * running (SIGQUIT, PostgreSQL's immediate shutdown) before the process dies; and each start
 * first removes servers left behind by test processes that died by SIGKILL. Only the process
 * that started a server does this: a forked child (a worker under test) may exit or be sent
 * SIGTERM without touching the server.
 * The first start builds a template cluster with initdb in $TMPDIR/awm-pgtemplate-<uid>-<hash>
 * and every start copies it (much faster than initdb); it is kept for later runs.
 * Not thread-safe: start, stop and destroy from one thread. */
#ifndef AWM_TESTS_PG_HARNESS_H
#define AWM_TESTS_PG_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/util.h"

typedef struct pg_harness pg_harness;

/* Create the cluster and start the server; waits until it accepts connections. */
pg_harness *pg_harness_start(awm_error *err);

/* "host=127.0.0.1 port=N user=awm dbname=postgres connect_timeout=10" */
const char *pg_harness_conninfo(const pg_harness *pg);
int pg_harness_port(const pg_harness *pg);
const char *pg_harness_dir(const pg_harness *pg);   /* the cluster's data directory */

/* Start again after stop or kill (same directory, port and data). */
bool pg_harness_resume(pg_harness *pg, awm_error *err);
/* Stop: fast shutdown (clients disconnected, a clean checkpoint). */
bool pg_harness_stop(pg_harness *pg, awm_error *err);
/* Restart; `immediate` = crash-like (no checkpoint; recovery on start), else fast. */
bool pg_harness_restart(pg_harness *pg, bool immediate, awm_error *err);
/* SIGKILL the postmaster and wait until it is gone (a host losing power, roughly). */
void pg_harness_kill(pg_harness *pg);
/* The postmaster's pid, 0 when it is not running. */
pid_t pg_harness_pid(const pg_harness *pg);

/* Stop the server if running, remove the directory, free. NULL is fine. */
void pg_harness_destroy(pg_harness *pg);

/* Run the repository's migrations (AWM_ASSETS_DIR/db/migrations) on the server. */
bool pg_harness_migrate(pg_harness *pg, awm_error *err);

/* pg_harness_start, then pg_harness_migrate when `migrate`, for a test's main: when either
 * fails it says why on stderr and ends the process with status 1, so no case runs without
 * its server. */
pg_harness *pg_harness_start_or_exit(bool migrate);

#endif
