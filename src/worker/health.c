/* health.c — the worker's small HTTP listener (libmicrohttpd) on HEALTH_PORT:
 *   /healthz  alive (the process answers)
 *   /readyz   database and API reachable (checked at most every READY_CACHE_S seconds)
 *   /metrics  Prometheus text: jobs processed/failed/retried, in flight, duration histogram,
 *             last success time, queue depth by state. */
#include <microhttpd.h>
#include <netdb.h>
#include <string.h>

#include "db/db.h"
#include "worker/worker_internal.h"

#define READY_CACHE_S 5.0

const double WORKER_DURATION_BOUNDS[WORKER_DURATION_BUCKETS] = {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300};

void worker_metrics_observe(worker_metrics *m, double seconds)
{
    pthread_mutex_lock(&m->lock);
    m->duration_sum += seconds;
    m->duration_count++;
    for (int i = 0; i < WORKER_DURATION_BUCKETS; i++)
        if (seconds <= WORKER_DURATION_BOUNDS[i])
            m->duration_buckets[i]++;
    pthread_mutex_unlock(&m->lock);
}

struct worker_health {
    struct MHD_Daemon *daemon;
    worker_state *st;
    pthread_mutex_t ready_lock; /* one readiness check at a time; guards the fields below */
    PGconn *conn;
    worker_api api;
    bool api_ok;
    double checked_at;
    bool db_ready, api_ready;
    char db_error[512], api_error[600];
};

static void check_readiness(worker_health *h, bool *db, bool *api, char *db_err, char *api_err)
{
    pthread_mutex_lock(&h->ready_lock);
    double now = awm_now_seconds();
    if (h->checked_at == 0 || now - h->checked_at >= READY_CACHE_S) {
        awm_error err;
        h->db_error[0] = '\0';
        if (!h->conn)
            h->conn = db_connect(h->st->cfg->database_url, &err);
        h->db_ready = h->conn && db_run(h->conn, "readiness", "SELECT 1", &err);
        if (!h->db_ready)
            snprintf(h->db_error, sizeof h->db_error, "%s", err.msg);
        worker_api_result r = {0};
        h->api_error[0] = '\0';
        if (h->api_ok) {
            worker_api_call(&h->api, "GET", "/api/health", NULL, 1, &r);
            h->api_ready = r.status == 200;
            snprintf(h->api_error, sizeof h->api_error, "%s", h->api_ready ? "" : r.error);
            worker_api_result_free(&r);
        }
        h->checked_at = awm_now_seconds();
    }
    *db = h->db_ready;
    *api = h->api_ready;
    snprintf(db_err, 512, "%s", h->db_error);
    snprintf(api_err, 600, "%s", h->api_error);
    pthread_mutex_unlock(&h->ready_lock);
}

static void metrics_text(worker_state *st, awm_buf *b)
{
    worker_metrics m;
    pthread_mutex_lock(&st->metrics.lock);
    m = st->metrics;
    pthread_mutex_unlock(&st->metrics.lock);
    awm_prom_family(b, "awm_jobs_processed_total", "counter",
                    "Total number of export jobs processed (poster stored, job completed).");
    awm_prom_sample(b, "awm_jobs_processed_total", (double)m.processed, NULL);
    awm_prom_family(b, "awm_jobs_failed_total", "counter",
                    "Export job attempts that failed, by kind (fatal: not retried).");
    awm_prom_sample(b, "awm_jobs_failed_total", (double)m.failed_fatal, "kind", "fatal", NULL);
    awm_prom_sample(b, "awm_jobs_failed_total", (double)m.failed_transient, "kind", "transient", NULL);
    awm_prom_family(b, "awm_jobs_retried_total", "counter", "Failed attempts the queue will retry.");
    awm_prom_sample(b, "awm_jobs_retried_total", (double)m.retried, NULL);
    awm_prom_family(b, "awm_jobs_released_total", "counter", "Jobs given back to the queue at shutdown.");
    awm_prom_sample(b, "awm_jobs_released_total", (double)m.released, NULL);
    awm_prom_family(b, "awm_jobs_in_flight", "gauge", "Export jobs being processed now.");
    awm_prom_sample(b, "awm_jobs_in_flight", (double)m.in_flight, NULL);
    awm_prom_family(b, "awm_job_duration_seconds", "histogram", "Time from taking a job to finishing it.");
    uint64_t cumulative[WORKER_DURATION_BUCKETS];
    for (int i = 0; i < WORKER_DURATION_BUCKETS; i++)
        cumulative[i] = (uint64_t)m.duration_buckets[i];
    awm_prom_histogram(b, "awm_job_duration_seconds", WORKER_DURATION_BOUNDS, cumulative, WORKER_DURATION_BUCKETS,
                       (uint64_t)m.duration_count, m.duration_sum, NULL);
    awm_prom_family(b, "awm_last_success_timestamp_seconds", "gauge",
                    "Unix time of the last successful export (0: none yet).");
    awm_prom_sample(b, "awm_last_success_timestamp_seconds", m.last_success_unix, NULL);
    if (m.queue_counts_known) {
        awm_prom_family(b, "awm_queue_jobs", "gauge", "Jobs in the worker's queue by state.");
        for (int s = 0; s < QUEUE_STATE_COUNT; s++)
            awm_prom_sample(b, "awm_queue_jobs", (double)m.queue_counts[s], "queue", st->cfg->queue, "state",
                            queue_state_name((queue_state)s), NULL);
    }
    awm_prom_family(b, "awm_worker_concurrency", "gauge", "Jobs this worker runs at once.");
    awm_prom_sample(b, "awm_worker_concurrency", st->cfg->concurrency, NULL);
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type, awm_buf *b)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(b->len, b->data ? b->data : (char *)"",
                                                             MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    awm_buf_free(b);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    worker_health *h = cls;
    if (!*con_cls) { /* first call: headers only */
        *con_cls = h;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* bodies are ignored */
        return MHD_YES;
    }
    awm_buf b = {0};
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        awm_buf_printf(&b, "{\"error\":\"method not allowed\"}\n");
        return respond(c, 405, "application/json", &b);
    }
    if (!strcmp(url, "/healthz")) {
        awm_buf_printf(&b, "{\"status\":\"ok\",\"stopping\":%s}\n", h->st->stopping ? "true" : "false");
        return respond(c, 200, "application/json", &b);
    }
    if (!strcmp(url, "/readyz")) {
        bool db, api;
        char db_err[512], api_err[600];
        check_readiness(h, &db, &api, db_err, api_err);
        bool ready = db && api && !h->st->stopping;
        json_t *j = json_pack("{s:s, s:s, s:s, s:b}", "status", ready ? "ready" : "not ready",
                              "database", db ? "ok" : "unreachable", "api", api ? "ok" : "unreachable",
                              "stopping", h->st->stopping != 0);
        if (!db)
            json_object_set_new(j, "databaseError", json_string(db_err));
        if (!api)
            json_object_set_new(j, "apiError", json_string(api_err));
        char *text = json_dumps(j, JSON_COMPACT);
        awm_buf_printf(&b, "%s\n", text);
        free(text);
        json_decref(j);
        return respond(c, ready ? 200 : 503, "application/json", &b);
    }
    if (!strcmp(url, "/metrics")) {
        metrics_text(h->st, &b);
        return respond(c, 200, AWM_PROM_CONTENT_TYPE, &b);
    }
    awm_buf_printf(&b, "{\"error\":\"not found: use /healthz, /readyz or /metrics\"}\n");
    return respond(c, 404, "application/json", &b);
}

worker_health *worker_health_start(worker_state *st, int *port_out, awm_error *err)
{
    worker_health *h = awm_xcalloc(1, sizeof *h);
    h->st = st;
    pthread_mutex_init(&h->ready_lock, NULL);
    h->api_ok = worker_api_init(&h->api, st->cfg, err);
    if (!h->api_ok)
        snprintf(h->api_error, sizeof h->api_error, "%s", err->msg);
    char port[16];
    snprintf(port, sizeof port, "%d", st->cfg->health_port);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(st->cfg->health_host, port, &hints, &ai);
    if (gai != 0) {
        awm_error_setc(err, AWM_EINVALID, "HEALTH_HOST=%s: not an address to listen on (%s)", st->cfg->health_host,
                       gai_strerror(gai));
        worker_health_stop(h);
        return NULL;
    }
    /* A thread per connection: a slow readiness check never delays /healthz. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, (uint16_t)st->cfg->health_port, NULL, NULL, handle, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                 MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        awm_error_set(err, "cannot listen on HEALTH_HOST %s, HEALTH_PORT %d (in use?)", st->cfg->health_host,
                      st->cfg->health_port);
        worker_health_stop(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    *port_out = info ? info->port : st->cfg->health_port;
    return h;
}

void worker_health_stop(worker_health *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    if (h->conn)
        PQfinish(h->conn);
    if (h->api_ok)
        worker_api_cleanup(&h->api);
    pthread_mutex_destroy(&h->ready_lock);
    free(h);
}
