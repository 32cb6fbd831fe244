/* metrics.c — Prometheus metrics of the API server (GET /metrics): requests by route and
 * status, a latency histogram per route, the database pool, and print jobs by state (counted
 * by a query at most once every two seconds, so scrapes cost the database nothing much).
 * Counters are lock-free atomics: recording happens on every request. */
#include "api/api_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

static const unsigned STATUSES[] = {200, 201, 202, 204, 206, 302, 304, 400, 401, 403, 404, 421, 422, 429, 501,
                                    405, 409, 413, 415, 416, 500, 503, 0 /* other */};
#define N_STATUS (sizeof STATUSES / sizeof *STATUSES)
static const double BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKET (sizeof BUCKETS / sizeof *BUCKETS)

static _Atomic uint64_t g_requests[ROUTE_COUNT][N_STATUS];
static _Atomic uint64_t g_latency_buckets[ROUTE_COUNT][N_BUCKET];
static _Atomic uint64_t g_latency_count[ROUTE_COUNT];
static _Atomic uint64_t g_latency_sum_us[ROUTE_COUNT];

void api_metrics_record(api_route route, unsigned status, double seconds)
{
    size_t s = N_STATUS - 1;
    for (size_t i = 0; i + 1 < N_STATUS; i++)
        if (STATUSES[i] == status)
            s = i;
    atomic_fetch_add_explicit(&g_requests[route][s], 1, memory_order_relaxed);
    for (size_t b = 0; b < N_BUCKET; b++)
        if (seconds <= BUCKETS[b]) {
            atomic_fetch_add_explicit(&g_latency_buckets[route][b], 1, memory_order_relaxed);
            break;
        }
    atomic_fetch_add_explicit(&g_latency_count[route], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_latency_sum_us[route], (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

/* Cached print job counts. */
static const char *const JOB_STATES[] = {"pending_export", "exporting", "export_complete", "export_failed"};
static pthread_mutex_t g_jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static double g_jobs_at = -1e9;
static long g_jobs[4];
static long g_queue[QUEUE_STATE_COUNT];
static bool g_jobs_ok;

static void refresh_job_counts(api_request *r)
{
    pthread_mutex_lock(&g_jobs_lock);
    double now = awm_now_seconds();
    if (now - g_jobs_at >= 2.0) {
        g_jobs_at = now;
        g_jobs_ok = false;
        awm_error err = {{0}};
        PGconn *conn = api_pool_get(r->srv->pool, &err);
        if (conn) {
            PGresult *res = db_exec(conn, "cannot count print jobs",
                                    "SELECT state, count(*) FROM print_jobs GROUP BY state", 0, NULL, &err);
            if (res) {
                memset(g_jobs, 0, sizeof g_jobs);
                for (int i = 0; i < PQntuples(res); i++)
                    for (int s = 0; s < 4; s++)
                        if (!strcmp(PQgetvalue(res, i, 0), JOB_STATES[s]))
                            g_jobs[s] = atol(PQgetvalue(res, i, 1));
                PQclear(res);
                g_jobs_ok = queue_counts(conn, QUEUE_EXPORT, g_queue, &err);
            }
            api_pool_put(r->srv->pool, conn);
        }
    }
    pthread_mutex_unlock(&g_jobs_lock);
}

void api_handle_metrics(api_request *r)
{
    /* Counts of jobs and traffic are the operator's (SYSTEM.md §3), unless made public. */
    if (!r->srv->cfg.metrics_public && !api_check_operator(r, "/metrics (or set METRICS_PUBLIC=true)"))
        return;
    refresh_job_counts(r);
    awm_buf b = {0};
    awm_prom_family(&b, "awm_http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (int rt = 0; rt < ROUTE_COUNT; rt++)
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t n = atomic_load_explicit(&g_requests[rt][s], memory_order_relaxed);
            if (!n)
                continue;
            char st[8];
            if (STATUSES[s])
                snprintf(st, sizeof st, "%u", STATUSES[s]);
            else
                snprintf(st, sizeof st, "other");
            awm_prom_sample(&b, "awm_http_requests_total", (double)n, "route", api_route_label((api_route)rt),
                            "status", st, NULL);
        }
    awm_prom_family(&b, "awm_http_request_duration_seconds", "histogram",
                    "Time from request to answer, by route.");
    for (int rt = 0; rt < ROUTE_COUNT; rt++) {
        uint64_t count = atomic_load_explicit(&g_latency_count[rt], memory_order_relaxed);
        if (!count)
            continue;
        uint64_t cumulative[N_BUCKET], cum = 0;
        for (size_t i = 0; i < N_BUCKET; i++)
            cumulative[i] = cum += atomic_load_explicit(&g_latency_buckets[rt][i], memory_order_relaxed);
        double sum = (double)atomic_load_explicit(&g_latency_sum_us[rt], memory_order_relaxed) / 1e6;
        awm_prom_histogram(&b, "awm_http_request_duration_seconds", BUCKETS, cumulative, N_BUCKET, count, sum,
                           "route", api_route_label((api_route)rt), NULL);
    }
    int in_use, size;
    api_pool_stats(r->srv->pool, &in_use, &size);
    awm_prom_family(&b, "awm_db_pool_connections_in_use", "gauge", "Database connections checked out.");
    awm_prom_sample(&b, "awm_db_pool_connections_in_use", in_use, NULL);
    awm_prom_family(&b, "awm_db_pool_size", "gauge", "Database connections in the pool.");
    awm_prom_sample(&b, "awm_db_pool_size", size, NULL);
    awm_prom_family(&b, "awm_http_requests_in_flight", "gauge", "Requests received and not yet fully answered.");
    awm_prom_sample(&b, "awm_http_requests_in_flight", api_requests_in_flight(), NULL);
    awm_prom_family(&b, "awm_uptime_seconds", "gauge", "Seconds since the server started.");
    awm_prom_sample(&b, "awm_uptime_seconds", (double)(long)(awm_now_seconds() - r->srv->started_at), NULL);
    pthread_mutex_lock(&g_jobs_lock);
    awm_prom_family(&b, "awm_database_up", "gauge", "Whether the last count query reached the database.");
    awm_prom_sample(&b, "awm_database_up", g_jobs_ok ? 1 : 0, NULL);
    if (g_jobs_ok) {
        awm_prom_family(&b, "awm_print_jobs", "gauge", "Print jobs by state.");
        for (int s = 0; s < 4; s++)
            awm_prom_sample(&b, "awm_print_jobs", (double)g_jobs[s], "state", JOB_STATES[s], NULL);
        awm_prom_family(&b, "awm_queue_jobs", "gauge", "Jobs of the export-map queue by state.");
        for (int s = 0; s < QUEUE_STATE_COUNT; s++)
            awm_prom_sample(&b, "awm_queue_jobs", (double)g_queue[s], "queue", QUEUE_EXPORT, "state",
                            queue_state_name((queue_state)s), NULL);
    }
    pthread_mutex_unlock(&g_jobs_lock);
    api_respond_bytes(r, 200, AWM_PROM_CONTENT_TYPE, b.data, b.len);
    awm_buf_free(&b);
}
