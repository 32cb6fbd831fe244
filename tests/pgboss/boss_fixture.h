/* boss_fixture.h — shared set-up of the pgboss backend's tests: a private PostgreSQL server
 * (pg_harness), the real pg-boss 12.5.2 (tests/pgboss/node_modules, pinned by the lockfile)
 * driven through tests/pgboss/boss.mjs, and SQL helpers for arranging situations. */
#ifndef AWM_TESTS_BOSS_FIXTURE_H
#define AWM_TESTS_BOSS_FIXTURE_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "queue/queue.h"
#include "support/pg_harness.h"
#include "support/testkit.h"
#include "test.h"

static pg_harness *bx_pg;
static char bx_url[512];       /* postgresql:// URL of the database the tests use (node-postgres needs one) */
static char bx_node[1024];     /* the node binary */
static char bx_script[2048];   /* tests/pgboss/boss.mjs */
static char bx_tmp[1024];      /* this test's scratch directory */

static inline void bx_die(const char *what, const char *msg)
{
    fprintf(stderr, "%s: %s\n", what, msg);
    pg_harness_destroy(bx_pg);
    exit(1);
}

static inline void bx_find_node(void)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/usr/local/bin");
    for (char *dir = strtok(buf, ":"); dir; dir = strtok(NULL, ":")) {
        snprintf(bx_node, sizeof bx_node, "%s/node", dir);
        if (access(bx_node, X_OK) == 0)
            return;
    }
    bx_die("node", "not found on PATH (scripts/setup installs it)");
}

/* The URL of database `db` on the test server. */
static inline void bx_db_url(char *buf, size_t size, const char *db)
{
    snprintf(buf, size, "postgresql://awm@127.0.0.1:%d/%s", pg_harness_port(bx_pg), db);
}

static inline void bx_start(void)
{
    awm_error err = {{0}};
    bx_pg = pg_harness_start(&err);
    if (!bx_pg)
        bx_die("cannot start PostgreSQL", err.msg);
    bx_db_url(bx_url, sizeof bx_url, "postgres");
    setenv("DATABASE_URL", bx_url, 1);
    bx_find_node();
    snprintf(bx_script, sizeof bx_script, "%s/tests/pgboss/boss.mjs", getenv("AWM_SOURCE_ROOT"));
    if (!tk_mkdtemp(bx_tmp, sizeof bx_tmp, "pgboss-test"))
        bx_die("cannot make a temp dir", "awm-pgboss-test-XXXXXX");
}

/* Ends the test's server; the scratch directory is kept when a check failed. */
static inline void bx_finish(void)
{
    if (test_failures_ == 0)
        tk_remove_tree(bx_tmp);
    else
        fprintf(stderr, "kept %s\n", bx_tmp);
    pg_harness_destroy(bx_pg);
}

static inline PGconn *bx_connect(void)
{
    awm_error err = {{0}};
    PGconn *c = db_connect(bx_url, &err);
    if (!c)
        bx_die("connect", err.msg);
    return c;
}

static inline json_t *bx_boss(const char *cmd, ...)
{
    const char *args[8] = {bx_script, cmd};
    size_t n = 2;
    va_list ap;
    va_start(ap, cmd);
    const char *a;
    while (n < 7 && (a = va_arg(ap, const char *)))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    char out[1100], errp[1100];
    snprintf(out, sizeof out, "%s/boss.out", bx_tmp);
    snprintf(errp, sizeof errp, "%s/boss.err", bx_tmp);
    int rc = tk_run(bx_node, args, out, errp);
    char *text = NULL, *etext = NULL;
    size_t len;
    awm_read_file(out, &text, &len, NULL);
    json_t *j = NULL;
    if (rc == 0 && text) {
        char *last = text, *nl;
        while ((nl = strchr(last, '\n')) && nl[1])
            last = nl + 1;
        j = json_loads(last, JSON_DECODE_ANY, NULL);
    }
    if (!j) {
        awm_read_file(errp, &etext, &len, NULL);
        fprintf(stderr, "boss.mjs %s failed (exit %d): %s%s\n", cmd, rc, text ? text : "", etext ? etext : "");
    }
    free(text);
    free(etext);
    return j;
}

/* What the seed's API does at its start: pg-boss's schema (boss.start) and the export queue
 * (createQueue), through the real pg-boss. */
static inline void bx_seed_start(void)
{
    json_decref(bx_boss("init", NULL));
    json_decref(bx_boss("create-queue", QUEUE_EXPORT, NULL));
}

/* Run boss.mjs with up to five arguments (NULL-terminated); its stdout parsed as JSON (the
 * last line; NULL when it failed, with its stderr printed). */

/* Run SQL with up to three text parameters; the first column of the first row as text
 * (malloc'd; NULL when none or NULL). Fails the test on an error. */
static inline char *bx_sql_text(PGconn *c, const char *sql, const char *p1, const char *p2, const char *p3)
{
    const char *params[] = {p1, p2, p3};
    int n = p3 ? 3 : p2 ? 2 : p1 ? 1 : 0;
    awm_error err = {{0}};
    PGresult *res = db_exec(c, "test SQL", sql, n, params, &err);
    CHECK_MSG(res != NULL, "%s: %s", sql, err.msg);
    char *v = NULL;
    if (res && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
        v = awm_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static inline long bx_sql(PGconn *c, const char *sql, const char *p1, const char *p2, const char *p3)
{
    char *t = bx_sql_text(c, sql, p1, p2, p3);
    long v = t ? atol(t) : 0;
    free(t);
    return v;
}

static inline double bx_sql_double(PGconn *c, const char *sql, const char *p1)
{
    char *t = bx_sql_text(c, sql, p1, NULL, NULL);
    double v = t ? atof(t) : 0;
    free(t);
    return v;
}

/* The seed's export payload for print job `pj` (SEED-SYSTEM.md). */
static inline void bx_seed_payload(char *buf, size_t size, const char *pj)
{
    snprintf(buf, size,
             "{\"printJobId\":\"%s\",\"printableMapId\":\"6f1c1f1e-8a53-4c7b-9d36-0c5e2f4b7a10\","
             "\"userMapData\":{\"title\":\"Our Family\",\"subtitle\":\"2025\",\"rotation\":[-20,-30,0],"
             "\"people\":[{\"id\":\"p1\",\"name\":\"Ada\",\"color\":\"#d62728\",\"locations\":["
             "{\"name\":\"London\",\"countryCode\":\"GB\",\"longitude\":-0.1276,\"latitude\":51.5072}]}]},"
             "\"printableMapData\":{\"widthInches\":18,\"heightInches\":24,\"paperSizeName\":\"18x24\","
             "\"projection\":\"orthographic\",\"rotation\":[-20,-30,0],\"zoom\":1,\"pan\":[0,0]}}",
             pj);
}

static inline void bx_use_pgboss(const char *schema)
{
    queue_backend_config cfg = {.kind = QUEUE_BACKEND_PGBOSS};
    snprintf(cfg.pgboss_schema, sizeof cfg.pgboss_schema, "%s", schema);
    awm_error err = {{0}};
    if (!queue_backend_select(&cfg, &err))
        bx_die("queue_backend_select", err.msg);
}

#endif
