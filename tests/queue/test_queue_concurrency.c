/* test_queue_concurrency.c — no job lost, none done twice: a worker process killed with
 * SIGKILL mid-job (its job expires and another worker completes it), 4 threads × 500 jobs
 * sending and working at once (every job fetched and completed exactly once), a crash-like
 * server restart (committed jobs survive, the listener reconnects), and the harness's own
 * stop/kill/cleanup. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "queue_fixture.h"
#include "support/testkit.h"

static void create_queue(PGconn *c, const char *name, int retry_limit, int expire_in_s)
{
    queue_options o;
    queue_options_default(&o);
    o.retry_limit = retry_limit;
    o.expire_in_s = expire_in_s;
    awm_error err = {{0}};
    CHECK_MSG(queue_create(c, name, &o, &err), "%s", err.msg);
}

/* ---- a worker process dies mid-job -------------------------------------------------------------- */

static void test_killed_worker_job_is_picked_up_after_expiry(void)
{
    PGconn *c = fx_connect();
    create_queue(c, "kill", 3, 2);
    char id[QUEUE_ID_LEN];
    awm_error err = {{0}};
    CHECK(queue_send(c, "kill", "{\"poster\": 1}", NULL, id, &err));

    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t child = fork();
    if (child == 0) {
        /* The doomed worker: its own connection, takes the job, then hangs "rendering". */
        close(fds[0]);
        awm_error cerr = {{0}};
        PGconn *wc = db_connect(pg_harness_conninfo(fx_pg), &cerr);
        queue_job *jobs = NULL;
        size_t n = 0;
        if (wc && queue_fetch(wc, "kill", 1, &jobs, &n, &cerr) && n == 1) {
            if (write(fds[1], jobs[0].id, 36) != 36)
                _exit(3);
        }
        for (;;)
            pause();
    }
    close(fds[1]);
    char got[QUEUE_ID_LEN] = "";
    ssize_t r = read(fds[0], got, 36);
    close(fds[0]);
    CHECK_INT_EQ(r, 36);
    got[36] = '\0';
    CHECK_STR_EQ(got, id);
    kill(child, SIGKILL);
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    queue_job j;
    CHECK_INT_EQ(queue_get(c, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_ACTIVE); /* the dead worker still holds it */
    queue_job_free(&j);

    /* A surviving worker supervises until the 2 s expiry passes, then takes the job. */
    long expired = 0;
    for (int i = 0; i < 100 && expired == 0; i++) {
        CHECK(queue_supervise(c, &expired, &err));
        if (!expired)
            tk_sleep_ms(100);
    }
    CHECK_INT_EQ(expired, 1);
    queue_job *jobs = NULL;
    size_t n = 0;
    CHECK(queue_fetch(c, "kill", 1, &jobs, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
        CHECK_STR_EQ(jobs[0].id, id);
        CHECK_STR_EQ(jobs[0].data, "{\"poster\": 1}");
        CHECK_INT_EQ(queue_complete(c, jobs[0].id, jobs[0].claim, NULL, &err), QUEUE_OK);
    }
    queue_jobs_free(jobs, n);
    CHECK_INT_EQ(queue_get(c, id, &j, &err), QUEUE_OK);
    CHECK_INT_EQ(j.state, QUEUE_STATE_COMPLETED);
    CHECK_INT_EQ(j.retry_count, 1);
    queue_job_free(&j);
    PQfinish(c);
}

/* A forked child (a worker under test) inherits the harness's atexit and signal hooks; its
 * exit or its SIGTERM must leave the parent's server running. */
static void test_forked_child_leaves_server_alone(void)
{
    pid_t child = fork();
    if (child == 0)
        exit(0);
    int status;
    waitpid(child, &status, 0);
    child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    usleep(100000);
    kill(child, SIGTERM);
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    usleep(200000);
    CHECK(pg_harness_pid(fx_pg) > 0);
    awm_error err = {{0}};
    PGconn *c = db_connect(pg_harness_conninfo(fx_pg), &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    PQfinish(c);
}

/* ---- many threads send and work at once -------------------------------------------------------- */

enum { THREADS = 4, JOBS_PER_THREAD = 500, TOTAL = THREADS * JOBS_PER_THREAD };

static atomic_int fetched[TOTAL];
static atomic_int completed[TOTAL];
static atomic_int senders_done;
static atomic_int errors;

static void work_batch(PGconn *c, int batch)
{
    queue_job *jobs = NULL;
    size_t n = 0;
    awm_error err = {{0}};
    if (!queue_fetch(c, "many", batch, &jobs, &n, &err)) {
        fprintf(stderr, "fetch: %s\n", err.msg);
        atomic_fetch_add(&errors, 1);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        int idx = atoi(jobs[i].data ? jobs[i].data : "-1");
        if (idx < 0 || idx >= TOTAL) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        atomic_fetch_add(&fetched[idx], 1);
        /* Half one by one, half as a batch, to cover both completion paths. */
        if (i % 2 == 0) {
            if (queue_complete(c, jobs[i].id, jobs[i].claim, NULL, &err) == QUEUE_OK)
                atomic_fetch_add(&completed[idx], 1);
            else
                atomic_fetch_add(&errors, 1);
        }
    }
    const char *ids[64];
    int idx_of[64];
    size_t m = 0;
    for (size_t i = 1; i < n; i += 2) {
        ids[m] = jobs[i].id;
        idx_of[m++] = atoi(jobs[i].data);
    }
    size_t done = 0;
    if (m && queue_complete_many(c, ids, m, jobs[0].claim, NULL, &done, &err) && done == m) {
        for (size_t i = 0; i < m; i++)
            atomic_fetch_add(&completed[idx_of[i]], 1);
    } else if (m) {
        atomic_fetch_add(&errors, 1);
    }
    queue_jobs_free(jobs, n);
}

static void *worker_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    PGconn *c = fx_connect();
    awm_error err = {{0}};
    /* Sends in small batches (single sends are covered elsewhere; this keeps the commit
     * count, hence the run time, modest), each followed by some work. */
    for (int k = 0; k < JOBS_PER_THREAD; k += 10) {
        char data[10][16];
        const char *items[10];
        for (int i = 0; i < 10; i++) {
            snprintf(data[i], sizeof data[i], "%d", t * JOBS_PER_THREAD + k + i);
            items[i] = data[i];
        }
        size_t sent = 0;
        if (!queue_send_batch(c, "many", items, 10, NULL, &sent, &err) || sent != 10) {
            fprintf(stderr, "send: %s\n", err.msg);
            atomic_fetch_add(&errors, 1);
        }
        work_batch(c, 1 + (k / 10) % 16);
    }
    atomic_fetch_add(&senders_done, 1);
    /* Drain until every thread has sent and nothing is left. */
    for (;;) {
        long counts[QUEUE_STATE_COUNT];
        if (!queue_counts(c, "many", counts, &err)) {
            atomic_fetch_add(&errors, 1);
            break;
        }
        if (atomic_load(&senders_done) == THREADS && counts[QUEUE_STATE_CREATED] == 0 &&
            counts[QUEUE_STATE_RETRY] == 0)
            break;
        work_batch(c, 25);
    }
    PQfinish(c);
    return NULL;
}

static void test_threads_complete_every_job_exactly_once(void)
{
    PGconn *c = fx_connect();
    create_queue(c, "many", 2, 900);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker_thread, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_INT_EQ(atomic_load(&errors), 0);
    int missing = 0, duplicated = 0;
    for (int i = 0; i < TOTAL; i++) {
        int f = atomic_load(&fetched[i]), d = atomic_load(&completed[i]);
        missing += f == 0 || d == 0;
        duplicated += f > 1 || d > 1;
    }
    CHECK_INT_EQ(missing, 0);
    CHECK_INT_EQ(duplicated, 0);
    long counts[QUEUE_STATE_COUNT];
    awm_error err = {{0}};
    CHECK(queue_counts(c, "many", counts, &err));
    CHECK_INT_EQ(counts[QUEUE_STATE_COMPLETED], TOTAL);
    CHECK_INT_EQ(counts[QUEUE_STATE_ACTIVE], 0);
    PQfinish(c);
}

/* ---- the server crashes and comes back -------------------------------------------------------- */

static void test_server_restart_keeps_jobs_and_listener_recovers(void)
{
    PGconn *c = fx_connect();
    create_queue(c, "restart", 2, 900);
    awm_error err = {{0}};
    queue_listener *l = queue_listener_open(pg_harness_conninfo(fx_pg), &err);
    CHECK_MSG(l != NULL, "%s", err.msg);
    char id[QUEUE_ID_LEN];
    CHECK(queue_send(c, "restart", "{\"kept\": true}", NULL, id, &err));
    CHECK(l && queue_wait(l, "restart", 10000) == QUEUE_WAKE_NOTIFIED);

    /* Crash-like: no checkpoint, recovery from the WAL on start. */
    CHECK_MSG(pg_harness_restart(fx_pg, true, &err), "%s", err.msg);
    if (l) {
        queue_wake w = queue_wait(l, "restart", 10000);
        CHECK_INT_EQ(w, QUEUE_WAKE_RECONNECTED);
    }
    queue_job j;
    queue_result r = queue_get(c, id, &j, &err); /* first call on the old connection may fail */
    if (r == QUEUE_ERROR)
        r = queue_get(c, id, &j, &err);
    CHECK_MSG(r == QUEUE_OK, "%s", err.msg);
    if (r == QUEUE_OK) {
        CHECK_STR_EQ(j.data, "{\"kept\": true}");
        queue_job_free(&j);
    }
    CHECK(queue_send(c, "restart", "{}", NULL, id, &err));
    CHECK(l && queue_wait(l, "restart", 10000) == QUEUE_WAKE_NOTIFIED);
    queue_listener_close(l);
    PQfinish(c);
}

/* Gone or a zombie waiting to be reaped (by an init that may be slow to do it). */
static bool process_gone(pid_t pid)
{
    char buf[256];
    for (int i = 0; i < 100; i++) {
        const char *st = tk_proc_stat(pid, buf, sizeof buf);
        if (!st || st[0] == 'Z')
            return true;
        tk_sleep_ms(50);
    }
    return false;
}

/* ---- the harness itself ---------------------------------------------------------------------------- */

static void test_harness_stop_kill_resume_and_cleanup(void)
{
    awm_error err = {{0}};
    pg_harness *pg = pg_harness_start(&err);
    CHECK_MSG(pg != NULL, "%s", err.msg);
    if (!pg)
        return;
    pid_t pm = pg_harness_pid(pg);
    CHECK(pm > 0);
    CHECK(pg_harness_stop(pg, &err));
    CHECK_INT_EQ(pg_harness_pid(pg), 0);
    CHECK(process_gone(pm));
    CHECK_MSG(pg_harness_resume(pg, &err), "%s", err.msg);
    pm = pg_harness_pid(pg);
    CHECK(pm > 0);
    pg_harness_kill(pg);
    CHECK(process_gone(pm));
    CHECK_MSG(pg_harness_resume(pg, &err), "%s", err.msg);
    PGconn *c = db_connect(pg_harness_conninfo(pg), &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    PQfinish(c);
    char dir[600];
    snprintf(dir, sizeof dir, "%s", pg_harness_dir(pg));
    pm = pg_harness_pid(pg);
    pg_harness_destroy(pg);
    struct stat st;
    CHECK(stat(dir, &st) != 0);
    CHECK(process_gone(pm));
}

int main(void)
{
    awm_log_init("test_queue_concurrency");
    awm_log_set_level(AWM_LOG_ERROR);
    fx_start();
    /* Fork before any thread exists. */
    RUN(test_killed_worker_job_is_picked_up_after_expiry);
    RUN(test_forked_child_leaves_server_alone);
    RUN(test_threads_complete_every_job_exactly_once);
    RUN(test_server_restart_keeps_jobs_and_listener_recovers);
    RUN(test_harness_stop_kill_resume_and_cleanup);
    pg_harness_destroy(fx_pg);
    return TEST_EXIT();
}
