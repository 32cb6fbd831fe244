/* migrate.c — the migration runner: plain SQL files applied once each, in name order. */
#include "db/db.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Key of the session advisory lock that serialises migration runs ('AWMM'). */
static const char *const MIGRATION_LOCK_KEY = "1096175949";

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.sql names in dir, sorted bytewise ("0001_…" before "0002_…"). */
static char **list_sql_files(const char *dir, size_t *count, awm_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        awm_error_set(err, "migrations directory %s cannot be read: %m", dir);
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || e->d_name[0] == '.' || strcmp(e->d_name + len - 4, ".sql"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            names = awm_xrealloc(names, cap * sizeof *names);
        }
        names[n++] = awm_strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    *count = n;
    if (!names)
        names = awm_xcalloc(1, sizeof *names);
    return names;
}

static bool already_applied(PGconn *conn, const char *name, bool *applied, awm_error *err)
{
    const char *params[] = {name};
    PGresult *res = db_exec(conn, "reading schema_migrations",
                            "SELECT 1 FROM schema_migrations WHERE name = $1", 1, params, err);
    if (!res)
        return false;
    *applied = PQntuples(res) > 0;
    PQclear(res);
    return true;
}

static bool apply_one(PGconn *conn, const char *dir, const char *name, awm_error *err)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        awm_error_set(err, "migration path too long: %s/%s", dir, name);
        return false;
    }
    char *sql = NULL;
    size_t len = 0;
    if (!awm_read_file(path, &sql, &len, err))
        return false;
    char what[512];
    snprintf(what, sizeof what, "migration %s", name);
    bool ok = db_run(conn, what, "BEGIN", err);
    if (ok) {
        /* The file is trusted code from the repository, several statements long: the simple
         * query protocol runs them all inside the transaction opened above. */
        PGresult *res = PQexec(conn, sql);
        ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            db_error_from(err, conn, res, what);
            ok = false;
        }
        PQclear(res);
    }
    if (ok) {
        const char *params[] = {name};
        PGresult *res = db_exec(conn, what,
                                "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, now())",
                                1, params, err);
        ok = res != NULL;
        PQclear(res);
    }
    if (ok)
        ok = db_run(conn, what, "COMMIT", err);
    if (!ok) {
        PGresult *res = PQexec(conn, "ROLLBACK");
        PQclear(res);
    }
    free(sql);
    return ok;
}

bool db_migrate(PGconn *conn, const char *migrations_dir, int *applied, awm_error *err)
{
    if (applied)
        *applied = 0;
    size_t count = 0;
    char **names = list_sql_files(migrations_dir, &count, err);
    if (!names)
        return false;

    const char *lock_params[] = {MIGRATION_LOCK_KEY};
    PGresult *res = db_exec(conn, "taking the migration lock", "SELECT pg_advisory_lock($1::bigint)",
                            1, lock_params, err);
    bool ok = res != NULL;
    PQclear(res);
    bool locked = ok;
    if (ok)
        ok = db_run(conn, "creating schema_migrations",
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " name text PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    err);
    for (size_t i = 0; ok && i < count; i++) {
        bool done = false;
        ok = already_applied(conn, names[i], &done, err);
        if (!ok || done)
            continue;
        ok = apply_one(conn, migrations_dir, names[i], err);
        if (ok) {
            if (applied)
                (*applied)++;
            awm_log(AWM_LOG_INFO, "MIGRATION_APPLIED", "{s:s}", "name", names[i]);
        }
    }
    if (locked) {
        /* On a broken connection the server has released the lock already. */
        res = PQexecParams(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, lock_params,
                           NULL, NULL, 0);
        PQclear(res);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    return ok;
}
