/* queue_fixture.h — shared set-up of the queue tests: one private PostgreSQL server with
 * the migrations applied, connections to it, and raw SQL for arranging test situations. */
#ifndef AWM_TESTS_QUEUE_FIXTURE_H
#define AWM_TESTS_QUEUE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "db/db.h"
#include "queue/queue.h"
#include "support/pg_harness.h"
#include "test.h"

static pg_harness *fx_pg;

static void fx_start(void)
{
    fx_pg = pg_harness_start_or_exit(true);
}

static PGconn *fx_connect(void)
{
    awm_error err = {{0}};
    PGconn *c = db_connect(pg_harness_conninfo(fx_pg), &err);
    if (!c) {
        fprintf(stderr, "connect: %s\n", err.msg);
        pg_harness_destroy(fx_pg);
        exit(1);
    }
    return c;
}

/* Run SQL with up to three text parameters; the first column of the first row as a long
 * (0 when none). Fails the test on an error. */
static inline long fx_sql(PGconn *c, const char *sql, const char *p1, const char *p2, const char *p3)
{
    const char *params[] = {p1, p2, p3};
    int n = p3 ? 3 : p2 ? 2 : p1 ? 1 : 0;
    awm_error err = {{0}};
    PGresult *res = db_exec(c, "test SQL", sql, n, params, &err);
    CHECK_MSG(res != NULL, "%s: %s", sql, err.msg);
    long v = 0;
    if (res && PQntuples(res) > 0 && PQnfields(res) > 0 && !PQgetisnull(res, 0, 0))
        v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

/* Same, first column as double. */
static inline double fx_sql_double(PGconn *c, const char *sql, const char *p1)
{
    const char *params[] = {p1};
    awm_error err = {{0}};
    PGresult *res = db_exec(c, "test SQL", sql, p1 ? 1 : 0, params, &err);
    CHECK_MSG(res != NULL, "%s: %s", sql, err.msg);
    double v = res && PQntuples(res) > 0 ? atof(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    return v;
}

#endif
