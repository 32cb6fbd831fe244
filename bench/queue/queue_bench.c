/* queue_bench.c — throughput and latency of the queue on a private PostgreSQL (fsync on),
 * printed next to pg-boss 12.38's figures measured on the same machine.
 *
 *   single sends/s   one job per send, autocommit, one connection
 *   drain jobs/s     2 worker processes, batches of 50: complete a batch and fetch the next
 *                    in one statement (queue_complete_and_fetch)
 *   pickup latency   an idle worker waiting with default settings (LISTEN/NOTIFY, polling
 *                    every QUEUE_DEFAULT_POLL_MS as fallback): send commit → fetch returned
 *
 * usage: queue_bench [--quick]   (DATABASE_URL set: use that database instead of a
 * private server; it must be migrated). Run through bench/queue/run.sh (release build). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "queue/queue.h"
#include "support/pg_harness.h"
#include "support/testkit.h"

static const char *g_conninfo;
static pid_t g_postmaster; /* private server: its CPU time is measured too */

/* utime+stime (+ reaped children's when `with_children`) of a process, in seconds. */
static double proc_cpu(pid_t pid, bool with_children, pid_t *ppid)
{
    char buf[1024];
    const char *p = tk_proc_stat(pid, buf, sizeof buf);
    char state;
    long pp;
    unsigned long ut, st;
    long cut, cst;
    if (!p || sscanf(p, "%c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld", &state, &pp,
                     &ut, &st, &cut, &cst) != 6)
        return 0;
    if (ppid)
        *ppid = (pid_t)pp;
    double ticks = (double)sysconf(_SC_CLK_TCK);
    return (double)(ut + st + (with_children ? (unsigned long)(cut + cst) : 0)) / ticks;
}

/* CPU seconds used so far by the private server: the postmaster, its live processes, and
 * the backends that already exited (counted in the postmaster's children time). */
static double server_cpu(void)
{
    if (g_postmaster <= 0)
        return 0;
    double total = proc_cpu(g_postmaster, true, NULL);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        pid_t pid = (pid_t)atol(e->d_name), ppid = 0;
        if (pid <= 0)
            continue;
        double cpu = proc_cpu(pid, false, &ppid);
        if (ppid == g_postmaster)
            total += cpu;
    }
    if (d)
        closedir(d);
    return total;
}

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static void die(const char *what, const awm_error *err)
{
    fprintf(stderr, "queue_bench: %s: %s\n", what, err ? err->msg : "");
    exit(1);
}

static PGconn *connect_or_die(void)
{
    awm_error err = {{0}};
    PGconn *c = db_connect(g_conninfo, &err);
    if (!c)
        die("connect", &err);
    return c;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

static void make_queue(PGconn *c, const char *name)
{
    awm_error err = {{0}};
    if (!queue_create(c, name, NULL, &err))
        die("create queue", &err);
    const char *params[] = {name};
    PGresult *r = db_exec(c, "clean", "DELETE FROM queue.job WHERE name = $1", 1, params, &err);
    PQclear(r);
    db_run(c, "vacuum", "VACUUM ANALYZE queue.job", &err);
}

/* ---- single sends ------------------------------------------------------------------------ */

static double bench_single_sends(int n)
{
    PGconn *c = connect_or_die();
    make_queue(c, "bench-send");
    awm_error err = {{0}};
    double t0 = awm_now_seconds();
    for (int i = 0; i < n; i++) {
        char data[48];
        snprintf(data, sizeof data, "{\"i\": %d}", i);
        if (!queue_send(c, "bench-send", data, NULL, NULL, &err))
            die("send", &err);
    }
    double rate = n / (awm_now_seconds() - t0);
    PQfinish(c);
    return rate;
}

/* ---- drain --------------------------------------------------------------------------------- */

static void fill(PGconn *c, const char *queue, int n)
{
    awm_error err = {{0}};
    const char *items[1000];
    char buf[1000][48];
    for (int done = 0; done < n; done += 1000) {
        int k = n - done < 1000 ? n - done : 1000;
        for (int i = 0; i < k; i++) {
            snprintf(buf[i], sizeof buf[i], "{\"mapId\": %d, \"size\": \"18x24\"}", done + i);
            items[i] = buf[i];
        }
        if (!queue_send_batch(c, queue, items, (size_t)k, NULL, NULL, &err))
            die("fill", &err);
    }
}

/* A worker process, until the queue is empty: fetch 50, then either complete them
 * (queue_complete_many) and fetch again — two statements per batch — or, `combined`,
 * complete them and fetch the next 50 in one statement (queue_complete_and_fetch). */
static int drain_worker(bool combined)
{
    PGconn *c = connect_or_die();
    awm_error err = {{0}};
    long total = 0;
    queue_job *jobs = NULL;
    size_t n = 0;
    if (!queue_fetch(c, "bench-drain", 50, &jobs, &n, &err))
        die("fetch", &err);
    while (n > 0) {
        const char *ids[50];
        for (size_t i = 0; i < n; i++)
            ids[i] = jobs[i].id;
        queue_job *next = NULL;
        size_t n_next = 0, done = 0;
        bool ok = combined
            ? queue_complete_and_fetch(c, ids, n, jobs[0].claim, NULL, &done, "bench-drain", 50,
                                       &next, &n_next, &err)
            : queue_complete_many(c, ids, n, jobs[0].claim, NULL, &done, &err) &&
                  queue_fetch(c, "bench-drain", 50, &next, &n_next, &err);
        if (!ok || done != n)
            die("complete", &err);
        total += (long)n;
        queue_jobs_free(jobs, n);
        jobs = next;
        n = n_next;
    }
    PQfinish(c);
    return total > 0 ? 0 : 2;
}

/* CPU time (server + worker processes) per drained job, in µs, of the last bench_drain:
 * unlike jobs/s it hardly depends on what else the shared machine is doing. */
static double g_drain_cpu_us;

static double bench_drain(int n, int workers, bool combined)
{
    PGconn *c = connect_or_die();
    make_queue(c, "bench-drain");
    fill(c, "bench-drain", n);
    awm_error err = {{0}};
    db_run(c, "analyze", "ANALYZE queue.job", &err);
    double cpu0 = server_cpu() + children_cpu();
    double t0 = awm_now_seconds();
    pid_t pids[8];
    for (int w = 0; w < workers; w++) {
        pids[w] = fork();
        if (pids[w] == 0)
            _exit(drain_worker(combined));
    }
    for (int w = 0; w < workers; w++) {
        int st;
        waitpid(pids[w], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            die("drain worker failed", NULL);
    }
    double rate = n / (awm_now_seconds() - t0);
    g_drain_cpu_us = (server_cpu() + children_cpu() - cpu0) * 1e6 / n;
    long counts[QUEUE_STATE_COUNT];
    if (!queue_counts(c, "bench-drain", counts, &err) || counts[QUEUE_STATE_COMPLETED] != n)
        die("drain left jobs behind", &err);
    PQfinish(c);
    return rate;
}

/* ---- pickup latency -------------------------------------------------------------------------- */

typedef struct {
    int expected;
    double *committed_at; /* by job index: when the send returned (= committed) */
    double *fetched_at;   /* by job index: when the worker's fetch returned it */
    atomic_bool ready;
} pickup_state;

static void *idle_worker(void *arg)
{
    pickup_state *s = arg;
    PGconn *c = connect_or_die();
    awm_error err = {{0}};
    queue_listener *l = queue_listener_open(g_conninfo, &err);
    if (!l)
        die("listener", &err);
    atomic_store(&s->ready, true);
    int got = 0;
    /* The default worker loop: take what is there, else wait for a wake-up or the poll. */
    while (got < s->expected) {
        queue_job *jobs = NULL;
        size_t n = 0;
        if (!queue_fetch(c, "bench-pickup", 1, &jobs, &n, &err))
            die("fetch", &err);
        double now = awm_now_seconds();
        for (size_t i = 0; i < n; i++) {
            int idx = atoi(jobs[i].data);
            if (idx >= 0 && idx < s->expected)
                s->fetched_at[idx] = now;
            queue_complete(c, jobs[i].id, jobs[i].claim, NULL, &err);
            got++;
        }
        queue_jobs_free(jobs, n);
        if (n == 0)
            queue_wait(l, "bench-pickup", QUEUE_DEFAULT_POLL_MS);
    }
    queue_listener_close(l);
    PQfinish(c);
    return NULL;
}

static void bench_pickup(int n, double *median, double *p95)
{
    PGconn *c = connect_or_die();
    make_queue(c, "bench-pickup");
    pickup_state s = {.expected = n, .committed_at = calloc((size_t)n, sizeof(double)),
                      .fetched_at = calloc((size_t)n, sizeof(double))};
    pthread_t t;
    pthread_create(&t, NULL, idle_worker, &s);
    while (!atomic_load(&s.ready))
        usleep(1000);
    usleep(100000);
    awm_error err = {{0}};
    for (int i = 0; i < n; i++) {
        char data[16];
        snprintf(data, sizeof data, "%d", i);
        if (!queue_send(c, "bench-pickup", data, NULL, NULL, &err))
            die("send", &err);
        /* The send returns after its autocommit: the job is visible from now on. */
        s.committed_at[i] = awm_now_seconds();
        /* The worker is idle (waiting) again before the next send. */
        usleep(20000 + (unsigned)(rand() % 10000));
    }
    pthread_join(t, NULL);
    double *latency_ms = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++)
        latency_ms[i] = (s.fetched_at[i] - s.committed_at[i]) * 1000.0;
    *median = percentile(latency_ms, n, 0.5);
    *p95 = percentile(latency_ms, n, 0.95);
    free(latency_ms);
    free(s.committed_at);
    free(s.fetched_at);
    PQfinish(c);
}

/* fdatasync calls per second on a file in $TMPDIR for `seconds`: what bounds single sends
 * with fsync on, and a gauge of how busy the shared disk is during the run. */
static double fsync_rate(double seconds)
{
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/queue-bench-fsync-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    unlink(path);
    char block[8192] = {0};
    long n = 0;
    double t0 = awm_now_seconds();
    while (awm_now_seconds() - t0 < seconds) {
        if (pwrite(fd, block, sizeof block, 0) != (ssize_t)sizeof block || fdatasync(fd) != 0)
            break;
        n++;
    }
    close(fd);
    return n / (awm_now_seconds() - t0);
}

static double load_average(void)
{
    double l = 0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = 0;
        fclose(f);
    }
    return l;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && !strcmp(argv[1], "--quick");
    awm_log_init("queue_bench");
    awm_log_set_level(AWM_LOG_ERROR);
    pg_harness *pg = NULL;
    g_conninfo = getenv("DATABASE_URL");
    if (!g_conninfo || !*g_conninfo) {
        awm_error err = {{0}};
        pg = pg_harness_start(&err);
        if (!pg || !pg_harness_migrate(pg, &err))
            die("private PostgreSQL", &err);
        g_conninfo = pg_harness_conninfo(pg);
        g_postmaster = pg_harness_pid(pg);
    }
    double fsync_before = fsync_rate(1.0), load_before = load_average();
    int reps = quick ? 1 : 3;
    double sends[3], drains[3], drains_combined[3], cpu[3], cpu_combined[3];
    for (int r = 0; r < reps; r++) {
        sends[r] = bench_single_sends(quick ? 500 : 3000);
        drains[r] = bench_drain(quick ? 10000 : 60000, 2, false);
        cpu[r] = g_drain_cpu_us;
        drains_combined[r] = bench_drain(quick ? 10000 : 60000, 2, true);
        cpu_combined[r] = g_drain_cpu_us;
    }
    double cpu_us = percentile(cpu, reps, 0.5), cpu_combined_us = percentile(cpu_combined, reps, 0.5);
    double send_rate = percentile(sends, reps, 0.5), drain_rate = percentile(drains, reps, 0.5);
    double drain_combined = percentile(drains_combined, reps, 0.5);
    double med, p95;
    bench_pickup(quick ? 50 : 300, &med, &p95);

    double fsync_after = fsync_rate(1.0);
    printf("queue benchmark (PostgreSQL 15, fsync on%s; median of %d runs)\n",
           pg ? ", private server" : "", reps);
    printf("machine: load average %.2f at start; fdatasync %.0f/s before, %.0f/s after "
           "(bounds single sends)\n", load_before, fsync_before, fsync_after);
    printf("%-52s %14s %14s %8s\n", "measure", "awm", "pg-boss 12.38", "ratio");
    printf("%-52s %14.0f %14.0f %7.2fx\n", "single sends/s (1 job per send, autocommit)", send_rate,
           1400.0, send_rate / 1400.0);
    printf("%-52s %14.0f %14.0f %7.2fx\n", "drain jobs/s (50/batch, 2 workers, fetch+complete)",
           drain_rate, 15700.0, drain_rate / 15700.0);
    printf("%-52s %14.0f %14.0f %7.2fx\n", "drain jobs/s (same, complete_and_fetch)", drain_combined,
           15700.0, drain_combined / 15700.0);
    if (g_postmaster > 0) {
        printf("%-52s %14.1f\n", "drain CPU us/job (server + workers), fetch+complete", cpu_us);
        printf("%-52s %14.1f\n", "drain CPU us/job, complete_and_fetch", cpu_combined_us);
        printf("%-52s %14.0f %14.0f %7.2fx\n", "drain jobs/s if 2 idle cores (2 s / CPU per job)",
               2e6 / cpu_combined_us, 15700.0, 2e6 / cpu_combined_us / 15700.0);
    }
    printf("%-52s %14.2f %14.0f %7.0fx\n", "pickup median ms (default settings)", med, 930.0,
           930.0 / med);
    printf("%-52s %14.2f %14s\n", "pickup p95 ms (default settings)", p95, "-");
    printf("%-52s %14s %14.1f\n", "pickup median ms, pg-boss with LISTEN/NOTIFY", "", 1.2);
    printf("targets: drain >= %.0f jobs/s: %s; pickup median <= 5 ms: %s\n", 2 * 15700.0,
           (drain_rate > drain_combined ? drain_rate : drain_combined) >= 31400 ? "met" : "NOT met", med <= 5 ? "met" : "NOT met");
    pg_harness_destroy(pg);
    return 0;
}
