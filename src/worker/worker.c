/* worker.c — the worker's threads and life cycle.
 *
 * Start-up: check the queue exists, open the health listener, log where everything is
 * ("queue started", "polling for export jobs"), then run WORKER_CONCURRENCY job threads and
 * one LISTEN thread. The main thread waits for SIGTERM/SIGINT and meanwhile runs the queue's
 * supervision (expired jobs) and maintenance (old finished jobs) — safe with any number of
 * workers doing the same — samples the queue depth for /metrics, and sweeps temp directories
 * left by workers on this host that died without cleaning up (SIGKILL, power loss).
 *
 * Stop: no job is fetched any more; jobs in hand get WORKER_SHUTDOWN_TIMEOUT_S to finish.
 * Those still running then are released under their claim (queue_release: waiting again at
 * once, no attempt charged, so another worker takes them without the retry delay; should
 * this worker's render still finish, its claim is lost and it changes nothing), the API is told,
 * temp files are removed and the process exits 0 without waiting for the renders. */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"
#include "render/render.h"
#include "worker/worker_internal.h"

#define WORK_DIR_PREFIX "awm-worker-"
#define QUEUE_COUNTS_INTERVAL_S 5.0

static void timed_wait(worker_state *st, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&st->wake, &st->lock, &ts);
}

static void wake_all(worker_state *st)
{
    pthread_mutex_lock(&st->lock);
    st->wake_generation++;
    pthread_cond_broadcast(&st->wake);
    pthread_mutex_unlock(&st->lock);
}

/* ---- temp directories --------------------------------------------------------------- */

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[2400]; /* fits: a work dir (< 1100) + '/' + a file name (< 256) */
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Work directories are named awm-worker-<host>-<pid>: one whose process is gone (on this
 * host) belonged to a worker that died mid-job; its partial files are removed. */
static void sweep_stale_work_dirs(const worker_config *cfg, bool startup)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char prefix[300];
    snprintf(prefix, sizeof prefix, WORK_DIR_PREFIX "%s-", host);
    DIR *d = opendir(cfg->temp_dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)))
            continue;
        char *end;
        long pid = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end || pid <= 0)
            continue;
        /* At start-up a directory with our own pid is an earlier life's (a restarted container
         * often gets the same pid); later it is the one we are using. */
        bool ours = pid == (long)getpid();
        if (ours ? !startup : !(kill((pid_t)pid, 0) == -1 && errno == ESRCH))
            continue;
        char path[2400]; /* fits: temp_dir (< 1024) + '/' + a file name (< 256) */
        snprintf(path, sizeof path, "%s/%s", cfg->temp_dir, e->d_name);
        remove_dir(path);
        awm_log(AWM_LOG_INFO, "STALE_TEMP_REMOVED", "{s:s}", "dir", path);
    }
    closedir(d);
}

/* ---- job threads ----------------------------------------------------------------------- */

typedef struct {
    worker_thread t;
    pthread_t thread;
    bool started;
} job_thread;

/* Every 100 jobs, at debug level: the process's resident memory beside what malloc holds (in
 * use, free inside the heap, mapped for large blocks), so a soak can tell a leak or a cache
 * (in use grows) from fragmentation (free grows) from memory outside malloc (neither does). */
static void log_memory_every_100_jobs(void)
{
    static atomic_long jobs;
    long n = atomic_fetch_add(&jobs, 1) + 1;
    if (n % 100 != 0)
        return;
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    struct mallinfo2 mi = mallinfo2();
    awm_log(AWM_LOG_DEBUG, "WORKER_MEMORY", "{s:I, s:I, s:I, s:I, s:I}", "jobs", (json_int_t)n, "rssKiB",
            (json_int_t)(resident * (sysconf(_SC_PAGESIZE) / 1024)), "heapInUseKiB", (json_int_t)(mi.uordblks / 1024),
            "heapFreeKiB", (json_int_t)(mi.fordblks / 1024), "mmapKiB", (json_int_t)(mi.hblkhd / 1024));
}

static void *job_thread_main(void *arg)
{
    worker_thread *t = arg;
    worker_state *st = t->st;
    const worker_config *cfg = st->cfg;
    long backoff_ms = 0;
    double last_db_log = 0;
    awm_error err;
    for (;;) {
        pthread_mutex_lock(&st->lock);
        if (backoff_ms)
            timed_wait(st, backoff_ms);
        bool stop = st->stopping;
        unsigned long gen = st->wake_generation;
        pthread_mutex_unlock(&st->lock);
        if (stop)
            break;
        if (!t->conn)
            t->conn = db_connect(cfg->database_url, &err);
        queue_job *jobs = NULL;
        size_t n = 0;
        if (!t->conn || !queue_fetch(t->conn, cfg->queue, 1, &jobs, &n, &err)) {
            /* The database is down or was restarted: back off; the next call reconnects. */
            if (awm_now_seconds() - last_db_log > 30) {
                awm_log(AWM_LOG_ERROR, "QUEUE_FETCH_FAILED", "{s:i, s:s}", "thread", t->index, "error", err.msg);
                last_db_log = awm_now_seconds();
            }
            backoff_ms = backoff_ms ? (backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2) : 500;
            continue;
        }
        if (backoff_ms && last_db_log)
            awm_log(AWM_LOG_INFO, "QUEUE_RECONNECTED", "{s:i}", "thread", t->index);
        backoff_ms = 0;
        last_db_log = 0;
        if (n == 0) {
            pthread_mutex_lock(&st->lock);
            if (!st->stopping && gen == st->wake_generation)
                timed_wait(st, cfg->poll_interval_ms);
            pthread_mutex_unlock(&st->lock);
            continue;
        }
        worker_slot *slot = &st->slots[t->index];
        pthread_mutex_lock(&st->lock);
        slot->busy = true;
        slot->released = false;
        snprintf(slot->id, sizeof slot->id, "%s", jobs[0].id);
        snprintf(slot->claim, sizeof slot->claim, "%s", jobs[0].claim);
        queue_export_job ej;
        queue_export_job_parse(jobs[0].data, &ej, NULL);
        snprintf(slot->print_job_id, sizeof slot->print_job_id, "%s", ej.print_job_id ? ej.print_job_id : "");
        queue_export_job_free(&ej);
        pthread_mutex_unlock(&st->lock);
        pthread_mutex_lock(&st->metrics.lock);
        st->metrics.in_flight++;
        pthread_mutex_unlock(&st->metrics.lock);

        worker_process_job(t, &jobs[0]);
        awm_malloc_trim(0); /* a job's render buffers go back to the system, not to a thread's arena */
        log_memory_every_100_jobs();

        pthread_mutex_lock(&st->metrics.lock);
        st->metrics.in_flight--;
        pthread_mutex_unlock(&st->metrics.lock);
        pthread_mutex_lock(&st->lock);
        slot->busy = false;
        pthread_cond_broadcast(&st->wake); /* the main thread may be waiting for jobs to end */
        pthread_mutex_unlock(&st->lock);
        queue_jobs_free(jobs, n);
    }
    return NULL;
}

/* ---- LISTEN thread ---------------------------------------------------------------------- */

static void *listen_thread_main(void *arg)
{
    worker_state *st = arg;
    const worker_config *cfg = st->cfg;
    queue_listener *l = NULL;
    awm_error err;
    bool logged = false;
    while (!st->stopping) {
        if (!l) {
            l = queue_listener_open(cfg->database_url, &err);
            if (!l) {
                if (!logged)
                    awm_log(AWM_LOG_WARN, "LISTEN_UNAVAILABLE", "{s:s}", "error", err.msg);
                logged = true;
                pthread_mutex_lock(&st->lock);
                if (!st->stopping)
                    timed_wait(st, cfg->poll_interval_ms);
                pthread_mutex_unlock(&st->lock);
                continue;
            }
            logged = false;
            wake_all(st); /* notices sent while we were not listening are lost: look now */
        }
        /* Short waits so a stop request is noticed within a second. */
        queue_wake w = queue_wait(l, cfg->queue, 1000);
        if (w != QUEUE_WAKE_TIMEOUT)
            wake_all(st);
    }
    queue_listener_close(l);
    return NULL;
}

/* ---- main thread ------------------------------------------------------------------------ */

static void housekeeping(worker_state *st, PGconn **conn, double *next_supervise, double *next_maintain,
                         double *next_counts)
{
    const worker_config *cfg = st->cfg;
    double now = awm_now_seconds();
    if (now < *next_supervise && now < *next_maintain && now < *next_counts)
        return;
    awm_error err;
    if (!*conn)
        *conn = db_connect(cfg->database_url, &err);
    if (!*conn) {
        pthread_mutex_lock(&st->metrics.lock);
        st->metrics.queue_counts_known = false;
        pthread_mutex_unlock(&st->metrics.lock);
        *next_counts = now + QUEUE_COUNTS_INTERVAL_S;
        return;
    }
    if (now >= *next_supervise) {
        /* The queue logs what it expired (QUEUE_JOBS_EXPIRED) and deleted itself. */
        if (!queue_supervise(*conn, NULL, &err))
            awm_log(AWM_LOG_WARN, "QUEUE_SUPERVISE_FAILED", "{s:s}", "error", err.msg);
        sweep_stale_work_dirs(cfg, false);
        *next_supervise = now + cfg->supervise_interval_s;
    }
    if (now >= *next_maintain) {
        if (!queue_maintain(*conn, NULL, &err))
            awm_log(AWM_LOG_WARN, "QUEUE_MAINTAIN_FAILED", "{s:s}", "error", err.msg);
        *next_maintain = now + cfg->maintain_interval_s;
    }
    if (now >= *next_counts) {
        long counts[QUEUE_STATE_COUNT];
        bool ok = queue_counts(*conn, cfg->queue, counts, &err);
        pthread_mutex_lock(&st->metrics.lock);
        st->metrics.queue_counts_known = ok;
        if (ok)
            memcpy(st->metrics.queue_counts, counts, sizeof counts);
        pthread_mutex_unlock(&st->metrics.lock);
        *next_counts = now + QUEUE_COUNTS_INTERVAL_S;
    }
}

/* Give every job still in hand back to the queue (the deadline passed). */
static void release_jobs(worker_state *st, PGconn **conn)
{
    const worker_config *cfg = st->cfg;
    awm_error err;
    worker_api api;
    bool api_ok = worker_api_init(&api, cfg, &err);
    if (!*conn)
        *conn = db_connect(cfg->database_url, &err);
    pthread_mutex_lock(&st->lock);
    worker_slot slots[WORKER_MAX_CONCURRENCY];
    memcpy(slots, st->slots, sizeof slots);
    pthread_mutex_unlock(&st->lock);
    for (int i = 0; i < cfg->concurrency; i++) {
        if (!slots[i].busy)
            continue;
        const char *msg = "worker shutting down: job released to the queue";
        queue_result qr = *conn ? queue_release(*conn, slots[i].id, slots[i].claim, &err) : QUEUE_ERROR;
        if (!*conn)
            awm_error_set(&err, "no database connection");
        /* Not released (claim lost, database down): the job's expiry brings it back instead. */
        awm_log(qr == QUEUE_OK ? AWM_LOG_WARN : AWM_LOG_ERROR, "JOB_RELEASED", "{s:s, s:s, s:s}", "queueJobId",
                slots[i].id, "queueState", qr == QUEUE_OK ? "released" : "unchanged",
                "error", qr == QUEUE_OK ? msg : err.msg);
        if (qr == QUEUE_OK) {
            pthread_mutex_lock(&st->metrics.lock);
            st->metrics.released++;
            pthread_mutex_unlock(&st->metrics.lock);
        }
        /* Tell the API too (one try: we are leaving), so the print job does not look stuck in
         * `exporting`; the next worker's start is then a retry. Not the seed's API: it never
         * starts a print job again once it is export_failed, so the released job could not be
         * done by anyone. */
        if (api_ok && cfg->api_flavor != WORKER_API_SEED && slots[i].print_job_id[0] &&
            !strpbrk(slots[i].print_job_id, "/?#")) {
            char path[128];
            snprintf(path, sizeof path, "/api/jobs/%s/fail", slots[i].print_job_id);
            json_t *body = json_pack("{s:s}", "error", msg);
            worker_api_result r;
            worker_api_call(&api, "POST", path, body, 1, &r);
            worker_api_result_free(&r);
            json_decref(body);
        }
    }
    if (api_ok)
        worker_api_cleanup(&api);
}

static void log_start(const worker_config *cfg, const storage *store, int health_port)
{
    char db[600], desc[512], backend[128];
    worker_describe_database(cfg->database_url, db, sizeof db);
    storage_describe(store, desc, sizeof desc);
    queue_backend_describe(backend, sizeof backend);
    awm_log(AWM_LOG_INFO, "WORKER_STARTING",
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:b, s:i, s:f, s:s, s:i}", "queue", cfg->queue,
            "queueBackend", backend, "apiFlavor", cfg->api_flavor == WORKER_API_SEED ? "seed" : "awm", "database", db,
            "apiUrl", cfg->api_url, "renderBaseUrl", cfg->render_base_url, "storage", desc, "concurrency",
            cfg->concurrency, "healthPort", health_port, "debugMode", cfg->debug_mode, "apiKeySet",
            cfg->api_key[0] != 0, "shutdownTimeoutS", cfg->shutdown_timeout_s, "renderDpi", cfg->render_dpi,
            "cmykProfile", cfg->cmyk_profile, "pid", (int)getpid());
}

int worker_run(const worker_config *cfg)
{
    awm_log_set_level(cfg->log_level);
    awm_error err = {{0}};
    if (!render_init(&err)) {
        awm_log(AWM_LOG_ERROR, "WORKER_START_FAILED", "{s:s}", "error", err.msg);
        return 1;
    }
    worker_state *st = awm_xcalloc(1, sizeof *st);
    st->cfg = cfg;
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->metrics.lock, NULL);
    awm_cond_init_monotonic(&st->wake);
    int rc = 1;
    PGconn *conn = NULL;
    worker_health *health = NULL;
    job_thread *threads = awm_xcalloc((size_t)cfg->concurrency, sizeof *threads);
    pthread_t listener;
    bool listener_started = false;

    /* Signals go to the main thread only (sigtimedwait below); every other thread, the
     * renderer's included, inherits this mask. Blocked before anything else, so a SIGTERM
     * that arrives while the worker is still starting up is a graceful stop, not a kill. */
    sigset_t stop_signals;
    awm_block_stop_signals(&stop_signals);

    if (!queue_backend_select(&cfg->queue_backend, &err))
        goto out;
    st->store = storage_new(&cfg->storage, &err);
    if (!st->store)
        goto out;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    if (snprintf(st->work_dir, sizeof st->work_dir, "%s/" WORK_DIR_PREFIX "%s-%d", cfg->temp_dir, host,
                 (int)getpid()) >= (int)sizeof st->work_dir) {
        st->work_dir[0] = '\0'; /* a path cut short is never used, nor removed at the end */
        awm_error_set(&err, "WORKER_TEMP_DIR %.200s is too long for this worker's work directory", cfg->temp_dir);
        goto out;
    }
    if (!awm_mkdir_p(cfg->temp_dir, &err))
        goto out;
    sweep_stale_work_dirs(cfg, true);
    if (!awm_mkdir_p(st->work_dir, &err))
        goto out;


    int health_port = 0;
    health = worker_health_start(st, &health_port, &err);
    if (!health)
        goto out;
    log_start(cfg, st->store, health_port);
    awm_log(AWM_LOG_INFO, "HEALTH_LISTENING", "{s:i, s:[s,s,s]}", "port", health_port, "paths", "/healthz",
            "/readyz", "/metrics");

    /* The queue must exist; a database that is not up yet is waited for (as in a compose
     * start-up where the worker may come up first). */
    double next_log = 0;
    for (;;) {
        queue_options qo;
        if (!conn)
            conn = db_connect(cfg->database_url, &err);
        bool schema_ok = conn && queue_backend_check(conn, &err);
        if (conn && !schema_ok && PQstatus(conn) == CONNECTION_OK)
            goto out; /* no pg-boss schema, or one of another version: refused, never migrated */
        if (schema_ok && queue_get_options(conn, cfg->queue, &qo, &err)) {
            awm_log(AWM_LOG_INFO, "QUEUE_STARTED", "{s:s, s:s, s:i, s:i, s:i}", "message", "queue started",
                    "queue", cfg->queue, "retryLimit", qo.retry_limit, "retryDelayS", qo.retry_delay_s,
                    "expireInS", qo.expire_in_s);
            break;
        }
        if (err.code == AWM_ENOTFOUND)
            goto out; /* a misconfigured WORKER_QUEUE (or no migrations): waiting will not help */
        if (awm_now_seconds() >= next_log) {
            awm_log(AWM_LOG_WARN, "DATABASE_UNAVAILABLE", "{s:s}", "error", err.msg);
            next_log = awm_now_seconds() + 30;
        }
        struct timespec ts = {1, 0};
        if (sigtimedwait(&stop_signals, NULL, &ts) > 0) {
            rc = 0;
            goto out;
        }
    }

    for (int i = 0; i < cfg->concurrency; i++) {
        worker_thread *t = &threads[i].t;
        t->st = st;
        t->index = i;
        if (!worker_api_init(&t->api, cfg, &err))
            goto stop;
        if (pthread_create(&threads[i].thread, NULL, job_thread_main, t) != 0) {
            awm_error_set(&err, "cannot start job thread %d", i);
            goto stop;
        }
        threads[i].started = true;
    }
    listener_started = pthread_create(&listener, NULL, listen_thread_main, st) == 0;
    awm_log(AWM_LOG_INFO, "POLLING", "{s:s, s:s, s:i, s:i, s:b}", "message", "polling for export jobs",
            "queue", cfg->queue, "concurrency", cfg->concurrency, "pollIntervalMs", cfg->poll_interval_ms,
            "listen", listener_started);

    double now = awm_now_seconds();
    double next_supervise = now, next_maintain = now, next_counts = now;
    for (;;) {
        housekeeping(st, &conn, &next_supervise, &next_maintain, &next_counts);
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&stop_signals, NULL, &ts);
        if (sig > 0) {
            awm_log(AWM_LOG_INFO, "WORKER_STOPPING", "{s:s, s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
                    "deadlineS", cfg->shutdown_timeout_s);
            break;
        }
    }
    rc = 0;

stop:
    if (rc != 0)
        awm_log(AWM_LOG_ERROR, "WORKER_START_FAILED", "{s:s}", "error", err.msg);
    pthread_mutex_lock(&st->lock);
    atomic_store(&st->stopping, true);
    pthread_cond_broadcast(&st->wake);
    /* Wait for the jobs in hand, up to the deadline; a second signal does not shorten it. */
    double deadline = awm_now_seconds() + cfg->shutdown_timeout_s;
    for (;;) {
        int busy = 0;
        for (int i = 0; i < cfg->concurrency; i++)
            busy += st->slots[i].busy;
        if (!busy || awm_now_seconds() >= deadline)
            break;
        timed_wait(st, 200);
    }
    int busy = 0;
    for (int i = 0; i < cfg->concurrency; i++)
        busy += st->slots[i].busy;
    pthread_mutex_unlock(&st->lock);
    if (busy) {
        atomic_store(&st->releasing, true);
        release_jobs(st, &conn);
        remove_dir(st->work_dir);
        awm_atomic_cleanup_all();
        awm_log(AWM_LOG_WARN, "WORKER_STOPPED", "{s:i, s:s}", "released", busy, "message",
                "shutdown deadline passed; unfinished jobs were released to the queue");
        fflush(NULL);
        /* Renders are still running on other threads: leave without unwinding them. */
        _exit(0);
    }
    for (int i = 0; i < cfg->concurrency; i++) {
        if (threads[i].started)
            pthread_join(threads[i].thread, NULL);
        if (threads[i].t.conn)
            PQfinish(threads[i].t.conn);
        worker_api_cleanup(&threads[i].t.api);
    }
    if (listener_started)
        pthread_join(listener, NULL);
    if (rc == 0)
        awm_log(AWM_LOG_INFO, "WORKER_STOPPED", "{s:s}", "message", "all jobs in hand finished");

out:
    if (rc != 0 && !listener_started && err.msg[0] && !st->stopping)
        awm_log(AWM_LOG_ERROR, "WORKER_START_FAILED", "{s:s}", "error", err.msg);
    worker_health_stop(health);
    if (conn)
        PQfinish(conn);
    if (st->work_dir[0])
        remove_dir(st->work_dir);
    storage_free(st->store);
    free(threads);
    pthread_cond_destroy(&st->wake);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->metrics.lock);
    free(st);
    return rc;
}
