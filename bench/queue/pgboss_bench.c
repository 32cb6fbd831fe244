/* pgboss_bench.c — AWM workers on the pgboss backend beside pg-boss 12.5.2's own worker, on one
 * private PostgreSQL (fsync on) in one run (bench/queue/run_pgboss.sh):
 *
 * - drain: a backlog of DRAIN_JOBS jobs taken by 2 worker processes. AWM: the `awm worker` job
 *   loop without the render (queue_fetch of one job, queue_complete). pg-boss: work() with its
 *   default options (what the seed's Node worker runs: batchSize 1, a 2 s polling interval that
 *   also paces a busy worker) over a DEFAULT_WINDOW_S window, and work() tuned (batchSize 50,
 *   0.5 s polling, its minimum). Rate = jobs / (last completed_on - first started_on), server
 *   clock, so process start-up is not counted.
 * - pickup: started_on - created_on (server clock) of jobs sent to one worker: arriving 0.1–0.6 s
 *   apart (faster than one per poll: pg-boss's default worker takes one job per 2 s, so a queue
 *   builds up), and to an idle worker, further apart than its poll interval. AWM with its default
 *   2 s poll (schema 26 has no NOTIFY) and 250 ms; pg-boss with its default 2 s and its minimum 0.5 s.
 * Prints one table. */
#include <signal.h>
#include <sys/wait.h>

#include "../../tests/pgboss/boss_fixture.h"

#define DRAIN_JOBS 3000
#define DEFAULT_WINDOW_S 8

static PGconn *conn;

static void create_queue(const char *name)
{
    awm_error err = {{0}};
    if (!queue_create(conn, name, NULL, &err))
        bx_die("create queue", err.msg);
}

static void backlog(const char *queue, int n)
{
    const char **data = awm_xcalloc((size_t)n, sizeof *data);
    for (int i = 0; i < n; i++)
        data[i] = "{\"bench\":true}";
    awm_error err = {{0}};
    size_t sent = 0;
    if (!queue_send_batch(conn, queue, data, (size_t)n, NULL, &sent, &err) || sent != (size_t)n)
        bx_die("backlog", err.msg);
    free(data);
}

static long done_count(const char *queue)
{
    return bx_sql(conn, "SELECT count(*) FROM pgboss.job WHERE name = $1 AND state = 'completed'", queue, NULL, NULL);
}

static double drain_rate(const char *queue)
{
    return bx_sql_double(conn, "SELECT count(*) / nullif(date_part('epoch', max(completed_on) - min(started_on)), 0)"
                               " FROM pgboss.job WHERE name = $1 AND state = 'completed'", queue);
}

/* The awm worker's loop, minus the render: fetch one, complete it; poll_ms when idle. */
static void awm_worker_loop(const char *queue, int poll_ms, bool exit_when_empty)
{
    awm_error err = {{0}};
    PGconn *c = db_connect(bx_url, &err);
    queue_listener *l = queue_listener_open(bx_url, &err);
    for (;;) {
        queue_job *jobs = NULL;
        size_t n = 0;
        if (!c || !queue_fetch(c, queue, 1, &jobs, &n, &err))
            _exit(1);
        if (n == 0) {
            if (exit_when_empty)
                _exit(0);
            queue_wait(l, queue, poll_ms);
            continue;
        }
        queue_complete(c, jobs[0].id, jobs[0].claim, "{\"done\":true}", &err);
        queue_jobs_free(jobs, n);
    }
}

static pid_t fork_awm(const char *queue, int poll_ms, bool exit_when_empty)
{
    pid_t p = fork();
    if (p == 0)
        awm_worker_loop(queue, poll_ms, exit_when_empty);
    return p;
}

static pid_t spawn_node(const char *queue, const char *batch, const char *poll_s)
{
    const char *args[] = {bx_script, "bench-work", queue, batch, poll_s, NULL};
    return tk_spawn(bx_node, args, "/dev/null", NULL);
}

static void stop(pid_t p)
{
    kill(p, SIGKILL);
    tk_wait(p, 10);
}

/* Wait until `queue` has `n` completed jobs or `limit_s` passed. */
static void wait_done(const char *queue, long n, double limit_s)
{
    double end = awm_now_seconds() + limit_s;
    while (done_count(queue) < n && awm_now_seconds() < end)
        usleep(100000);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Send n jobs to a worker's queue, each gap_min_ms + [0, 500) ms after the last; median and
 * p90 of started_on - created_on in ms. */
static void pickup(const char *queue, int n_jobs, int gap_min_ms, double *median, double *p90)
{
    awm_error err = {{0}};
    for (int i = 0; i < n_jobs; i++) {
        usleep((useconds_t)(gap_min_ms + rand() % 500) * 1000);
        if (!queue_send(conn, queue, "{\"pickup\":true}", NULL, NULL, &err))
            bx_die("send", err.msg);
    }
    wait_done(queue, n_jobs, 40);
    const char *params[] = {queue};
    PGresult *res = db_exec(conn, "pickup", "SELECT date_part('epoch', coalesce(started_on, now()) - created_on) * 1000"
                            " FROM pgboss.job WHERE name = $1 ORDER BY 1", 1, params, &err);
    int n = res ? PQntuples(res) : 0;
    double *v = awm_xcalloc((size_t)(n ? n : 1), sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = atof(PQgetvalue(res, i, 0));
    PQclear(res);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *median = n ? v[n / 2] : -1;
    *p90 = n ? v[(n * 9) / 10 < n ? (n * 9) / 10 : n - 1] : -1;
    free(v);
}

/* One idle worker (AWM forked, or a pg-boss work() process) on `queue`, then pickup(). */
static void pickup_with(bool awm, const char *queue, int poll_ms, int n_jobs, int gap_min_ms, double *median,
                        double *p90)
{
    char poll_s[16];
    snprintf(poll_s, sizeof poll_s, "%g", poll_ms / 1000.0);
    pid_t w = awm ? fork_awm(queue, poll_ms, false) : spawn_node(queue, "1", poll_s);
    sleep(awm ? 1 : 3); /* started and idle */
    pickup(queue, n_jobs, gap_min_ms, median, p90);
    stop(w);
}

int main(void)
{
    bx_start();
    conn = bx_connect();
    json_decref(bx_boss("init", NULL));
    bx_use_pgboss("pgboss");
    awm_error err = {{0}};
    if (!queue_backend_check(conn, &err))
        bx_die("check", err.msg);
    srand(26);
    const char *queues[] = {"drain-awm", "drain-boss-default", "drain-boss-tuned", "pick-awm-busy", "pick-boss-busy",
                            "pick-awm-2000", "pick-boss-2000", "pick-awm-250", "pick-boss-500"};
    for (size_t i = 0; i < sizeof queues / sizeof *queues; i++)
        create_queue(queues[i]);

    /* Drains. */
    backlog("drain-awm", DRAIN_JOBS);
    pid_t a1 = fork_awm("drain-awm", 2000, true), a2 = fork_awm("drain-awm", 2000, true);
    tk_wait(a1, 300);
    tk_wait(a2, 300);
    double awm_rate = drain_rate("drain-awm");

    backlog("drain-boss-default", DRAIN_JOBS);
    pid_t n1 = spawn_node("drain-boss-default", "1", NULL), n2 = spawn_node("drain-boss-default", "1", NULL);
    sleep(DEFAULT_WINDOW_S + 2); /* node start-up, then the window */
    stop(n1);
    stop(n2);
    double boss_default_rate = drain_rate("drain-boss-default");
    long boss_default_done = done_count("drain-boss-default");

    backlog("drain-boss-tuned", DRAIN_JOBS);
    n1 = spawn_node("drain-boss-tuned", "50", "0.5");
    n2 = spawn_node("drain-boss-tuned", "50", "0.5");
    wait_done("drain-boss-tuned", DRAIN_JOBS, 120);
    stop(n1);
    stop(n2);
    double boss_tuned_rate = drain_rate("drain-boss-tuned");

    /* Pickup: jobs arriving faster than one per poll interval (≈3/s), then an idle worker
     * (jobs further apart than its poll interval). */
    double med[6], p90[6];
    pickup_with(true, "pick-awm-busy", 2000, 12, 100, &med[0], &p90[0]);
    pickup_with(false, "pick-boss-busy", 2000, 12, 100, &med[1], &p90[1]);
    pickup_with(true, "pick-awm-2000", 2000, 6, 2100, &med[2], &p90[2]);
    pickup_with(false, "pick-boss-2000", 2000, 6, 2100, &med[3], &p90[3]);
    pickup_with(true, "pick-awm-250", 250, 8, 300, &med[4], &p90[4]);
    pickup_with(false, "pick-boss-500", 500, 8, 600, &med[5], &p90[5]);

    double load[3] = {0};
    getloadavg(load, 3);
    printf("pgboss backend vs pg-boss 12.5.2's worker (schema 26), PostgreSQL 15, fsync on, load %.1f\n", load[0]);
    printf("| measure | AWM workers (pgboss backend) | pg-boss work(), default options | pg-boss work(), tuned |\n");
    printf("|---|---|---|---|\n");
    printf("| drain jobs/s, 2 worker processes, one job per fetch (AWM) | %.0f | %.1f (%ld jobs in %d s) | %.0f (batchSize 50, 0.5 s poll) |\n",
           awm_rate, boss_default_rate, boss_default_done, DEFAULT_WINDOW_S, boss_tuned_rate);
    printf("| pickup median / p90 ms, jobs 0.1-0.6 s apart, 2 s poll (both defaults) | %.0f / %.0f | %.0f / %.0f | |\n",
           med[0], p90[0], med[1], p90[1]);
    printf("| pickup median / p90 ms, idle worker, jobs 2.1-2.6 s apart, 2 s poll | %.0f / %.0f | %.0f / %.0f | |\n",
           med[2], p90[2], med[3], p90[3]);
    printf("| pickup median / p90 ms, idle worker, faster poll | %.0f / %.0f (250 ms poll) | | %.0f / %.0f (0.5 s poll, its minimum) |\n",
           med[4], p90[4], med[5], p90[5]);
    PQfinish(conn);
    bx_finish();
    return 0;
}
