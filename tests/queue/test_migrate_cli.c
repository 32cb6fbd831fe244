/* test_migrate_cli.c — `awm migrate`: applies the migrations to DATABASE_URL and logs each
 * file, a second run applies nothing, a missing DATABASE_URL or an unreachable server is a
 * clear error with a non-zero exit status. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "support/pg_harness.h"
#include "support/testkit.h"
#include "test.h"

static pg_harness *pg;

/* Run `awm migrate` with DATABASE_URL = url (unset when NULL); its stderr into *out. */
static int run_migrate(const char *url, awm_buf *out)
{
    char exe[4096];
    snprintf(exe, sizeof exe, "%s/src/cli/awm", awm_env_str("AWM_BUILD_ROOT", "."));
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    awm_buf env = {0};
    awm_buf_printf(&env, "DATABASE_URL=%s", url ? url : ""); /* "DATABASE_URL=": unset */
    tk_spawn_options opt = {.env = (const char *const[]){env.data, NULL}, .err_fd = fds[1]};
    pid_t child = tk_spawn_with(exe, (const char *const[]){"migrate", NULL}, &opt);
    close(fds[1]);
    awm_buf_free(&env);
    if (child < 0) {
        close(fds[0]);
        return -1;
    }
    char buf[4096];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        awm_buf_append(out, buf, (size_t)n);
    close(fds[0]);
    int code = tk_wait(child, 0);
    return code > 127 ? -1 : code; /* ended by a signal */
}

static int count(const char *haystack, const char *needle)
{
    int n = 0;
    for (const char *p = haystack; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_migrate_applies_once(void)
{
    awm_buf out = {0};
    CHECK_INT_EQ(run_migrate(pg_harness_conninfo(pg), &out), 0);
    CHECK(out.data && strstr(out.data, "\"MIGRATION_APPLIED\"") && strstr(out.data, "0001_queue.sql"));
    int applied_first = count(out.data, "\"MIGRATION_APPLIED\"");
    CHECK(applied_first >= 1);
    awm_buf_free(&out);

    memset(&out, 0, sizeof out);
    CHECK_INT_EQ(run_migrate(pg_harness_conninfo(pg), &out), 0);
    CHECK_INT_EQ(count(out.data, "\"MIGRATION_APPLIED\""), 0);
    CHECK(out.data && strstr(out.data, "\"applied\":0"));
    awm_buf_free(&out);

    awm_error err = {{0}};
    PGconn *c = db_connect(pg_harness_conninfo(pg), &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    PGresult *r = db_exec(c, "count", "SELECT count(*) FROM schema_migrations", 0, NULL, &err);
    CHECK(r && atoi(PQgetvalue(r, 0, 0)) == applied_first);
    PQclear(r);
    PQfinish(c);
}

static void test_migrate_errors(void)
{
    awm_buf out = {0};
    CHECK(run_migrate(NULL, &out) != 0);
    CHECK(out.data && strstr(out.data, "DATABASE_URL is not set"));
    awm_buf_free(&out);
    memset(&out, 0, sizeof out);
    CHECK(run_migrate("postgresql://awm@127.0.0.1:1/postgres?connect_timeout=2", &out) != 0);
    CHECK(out.data && strstr(out.data, "cannot connect"));
    awm_buf_free(&out);
}

int main(void)
{
    pg = pg_harness_start_or_exit(false);
    RUN(test_migrate_applies_once);
    RUN(test_migrate_errors);
    pg_harness_destroy(pg);
    return TEST_EXIT();
}
