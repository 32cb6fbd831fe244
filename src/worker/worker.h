/* worker.h — the export worker (`awm worker`, SYSTEM.md §5): takes `export-map` jobs from the
 * PostgreSQL queue, renders each poster in-process, stores it (directory or S3), and reports
 * every state change to the API server. It never touches the map and print-job tables.
 *
 * Per job: POST /api/jobs/{id}/start → definition from the job data (printable map overrides
 * win) → print spec → render to a temp file → verify → store → POST complete {filePath} →
 * complete the queue job. On error: POST fail {error}, then fatal errors (job gone, invalid
 * map, no print spec, other 4xx) complete the queue job with {"error", "fatal": true} in its
 * output so it never loops; transient ones (network, 5xx, timeouts, a rejected worker key,
 * database, storage, render I/O) fail the queue job so the queue retries it with backoff.
 *
 * Threads: WORKER_CONCURRENCY job threads (each with its own PGconn and curl handle), one
 * thread holding the LISTEN connection that wakes idle job threads (they also poll), the main
 * thread (signals, queue supervision and maintenance, metrics of the queue depth) and the
 * health listener (libmicrohttpd: /healthz, /readyz, /metrics). */
#ifndef AWM_WORKER_H
#define AWM_WORKER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "map/map.h"
#include "queue/queue.h"
#include "storage/storage.h"
#include "util/util.h"

#define WORKER_DEFAULT_API_URL "http://localhost:5173"
#define WORKER_MAX_CONCURRENCY 64

/* Which API the worker reports to (API_FLAVOR). */
typedef enum {
    WORKER_API_AWM = 0,   /* AWM's own API: the status code says what went wrong */
    WORKER_API_SEED       /* the seed's SvelteKit API: every error is a 400, the message tells */
} worker_api_flavor;

typedef struct {
    char database_url[2048];   /* DATABASE_URL, or built from DATABASE_HOST, _PORT, _NAME, _USER,
                                * _PASSWORD (the seed's compose file) when it is not set */
    queue_backend_config queue_backend; /* QUEUE_BACKEND (awm|pgboss), PGBOSS_SCHEMA */
    worker_api_flavor api_flavor;       /* API_FLAVOR (awm|seed); default seed with pgboss, else awm */
    char api_url[1024];        /* API_URL, no trailing '/' */
    char render_base_url[1024];/* RENDER_BASE_URL, default API_URL (preview links only) */
    char api_key[512];         /* WORKER_API_KEY, "" = none; never logged */
    storage_config storage;    /* STORAGE, EXPORT_DIR, S3_*, AWS_* */
    char queue[129];           /* WORKER_QUEUE, default export-map */
    char temp_dir[1024];       /* WORKER_TEMP_DIR; default <EXPORT_DIR>/.awm-work (local) or $TMPDIR */
    int concurrency;           /* WORKER_CONCURRENCY 1..64, default 1 */
    int health_port;           /* HEALTH_PORT, default 8081; 0 = any free port (logged) */
    char health_host[256];     /* HEALTH_HOST, default 0.0.0.0 (a container's health check and a
                                * Prometheus scraper reach it); 127.0.0.1 keeps it on the host */
    bool debug_mode;           /* DEBUG_MODE: JSON sidecar next to each poster */
    awm_log_level log_level;   /* LOG_LEVEL */
    int poll_interval_ms;      /* WORKER_POLL_INTERVAL_MS, default 2000 */
    int shutdown_timeout_s;    /* WORKER_SHUTDOWN_TIMEOUT_S, default 60 */
    int api_timeout_s;         /* WORKER_API_TIMEOUT_S: one API request, default 30 */
    int api_attempts;          /* WORKER_API_ATTEMPTS: tries per API call, default 4 */
    int api_retry_delay_ms;    /* WORKER_API_RETRY_DELAY_MS: first back-off, doubled, default 500 */
    int supervise_interval_s;  /* WORKER_SUPERVISE_INTERVAL_S: expire stuck jobs, default 30 */
    int maintain_interval_s;   /* WORKER_MAINTAIN_INTERVAL_S: delete old finished jobs, default 3600 */
    double render_dpi;         /* WORKER_RENDER_DPI, default 300 (lower only for tests/previews) */
    char cmyk_profile[1024];   /* CMYK_PROFILE: ICC CMYK output profile for pdf-cmyk exports; "" = none,
                                  and pdf-cmyk jobs fail. Checked at start-up. */
} worker_config;

/* Read every variable above. All problems are reported at once in err (one per line, each
 * naming the variable); the caller exits 2. */
bool worker_config_from_env(worker_config *cfg, awm_error *err);

/* `awm worker --check`: connect to the database and find the queue schema and queue, GET
 * /api/health, the worker key accepted by a worker route (a start on a non-job id: 404 means
 * the key passed, 401 that it did not), storage_check, the CMYK profile (when set). Prints one line per check to `out`; true when all pass. */
bool worker_check(const worker_config *cfg, FILE *out);

/* Run until SIGTERM/SIGINT, then stop gracefully (see worker.c). Returns the exit status. */
int worker_run(const worker_config *cfg);

/* ---- pieces exposed for tests ---------------------------------------------------------- */

/* How a failed API call ends a job: 404 and other 4xx are fatal (retrying cannot help); 5xx,
 * 408, 429, transport errors (status 0) and 401/403 (this worker's WORKER_API_KEY is wrong,
 * the job is fine) are transient. */
bool worker_http_status_is_fatal(long status);
/* The same for the seed's API, which answers every error with 400 and a message: as its own
 * worker decides, a 400 whose message (lower-cased) contains "not found", "bad request",
 * "unprocessable entity", "validation failed", "invalid page size", "invalid dimensions" or
 * "no print specification found" is fatal, any other is transient; so are no answer and 5xx
 * (from a proxy in front of it). */
bool worker_seed_answer_is_fatal(long status, const char *message);

/* "host:port/dbname (user U)" from a libpq connection string, never the password. */
void worker_describe_database(const char *conninfo, char *buf, size_t size);

/* The DEBUG_MODE sidecar (MAPS-AND-PRINT.md §6): job ids, page size and orientation, print
 * spec, pixel size, map summary, file path and size. New reference. */
typedef struct {
    const char *queue_job_id, *print_job_id, *printable_map_id, *user_map_id;
    const char *paper_size_name; /* printableMap.paperSizeName or NULL */
    const char *format;          /* "png", "pdf", "svg" */
    double dpi;
    int px_w, px_h;
    const char *file_path;       /* the stored location */
    const char *preview_url;     /* RENDER_BASE_URL/render?mapId=…, or NULL */
    uint64_t file_size;
    double render_seconds;
} worker_sidecar_info;

json_t *worker_sidecar_json(const worker_sidecar_info *info, const map_print_spec *spec,
                            const map_definition *map);


#endif
