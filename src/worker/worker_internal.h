/* worker_internal.h — shared between the worker's source files only. */
#ifndef AWM_WORKER_INTERNAL_H
#define AWM_WORKER_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "queue/queue.h"
#include "storage/storage.h"
#include "worker/worker.h"

/* ---- API client (api_client.c): one per thread, libcurl easy handle ---- */
typedef struct {
    CURL *curl;
    const worker_config *cfg;
    struct curl_slist *headers; /* Content-Type, Accept, Authorization */
} worker_api;

typedef struct {
    long status;       /* HTTP status; 0 = no answer (transport error or timeout) */
    json_t *body;      /* parsed JSON answer, NULL when none or not JSON */
    char error[600];   /* what went wrong: the answer's "error" field or curl's message */
} worker_api_result;

bool worker_api_init(worker_api *api, const worker_config *cfg, awm_error *err);
void worker_api_cleanup(worker_api *api);
/* One call, retried up to `attempts` times with doubling back-off on transport errors, 5xx,
 * 408 and 429. body_json may be NULL. r->status == 2xx on success. */
void worker_api_call(worker_api *api, const char *method, const char *path, const json_t *body,
                     int attempts, worker_api_result *r);
void worker_api_result_free(worker_api_result *r);

/* ---- shared run-time state (worker.c) and metrics (health.c) ---- */
#define WORKER_DURATION_BUCKETS 10

typedef struct {
    pthread_mutex_t lock;
    long processed, failed_fatal, failed_transient, retried, released, in_flight;
    double duration_sum;
    long duration_count;
    long duration_buckets[WORKER_DURATION_BUCKETS]; /* cumulative at render time, see health.c */
    double last_success_unix;
    long queue_counts[QUEUE_STATE_COUNT];
    bool queue_counts_known;
} worker_metrics;

extern const double WORKER_DURATION_BOUNDS[WORKER_DURATION_BUCKETS];

void worker_metrics_observe(worker_metrics *m, double seconds);

/* One job in hand, so the main thread can release it when the shutdown deadline passes. */
typedef struct {
    bool busy;
    char id[QUEUE_ID_LEN];
    char claim[QUEUE_ID_LEN];
    char print_job_id[QUEUE_ID_LEN];
    bool released; /* the main thread gave it back to the queue: its result is ignored */
} worker_slot;

typedef struct worker_state {
    const worker_config *cfg;
    storage *store;
    char work_dir[1100];              /* this process's temp directory */
    worker_metrics metrics;
    pthread_mutex_t lock;             /* guards the fields below */
    pthread_cond_t wake;              /* job available / stopping */
    unsigned long wake_generation;
    atomic_bool stopping;             /* also read without the lock (health listener, job threads) */
    /* The shutdown deadline passed and the jobs in hand are being given back to the queue: what
     * happens to them from now on (their work folder is removed under them) is not reported. */
    atomic_bool releasing;
    worker_slot slots[WORKER_MAX_CONCURRENCY];
} worker_state;

/* ---- one job (job.c) ---- */
typedef struct {
    worker_state *st;
    int index;
    PGconn *conn;
    worker_api api;
} worker_thread;

void worker_process_job(worker_thread *t, const queue_job *job);

/* ---- health listener (health.c) ---- */
typedef struct worker_health worker_health;
worker_health *worker_health_start(worker_state *st, int *port_out, awm_error *err);
void worker_health_stop(worker_health *h);

#endif
