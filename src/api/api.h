/* api.h — the HTTP API server (`awm serve`, SYSTEM.md §3) and the print-job commands
 * (`awm jobs`). The server is the single source of truth for maps and print jobs; workers
 * report every state change through it.
 *
 * Choices made here (documented for operators):
 * - HOST defaults to 127.0.0.1 (loopback only) for safety; set HOST=0.0.0.0 to serve the
 *   network (a worker in Docker needs that). PORT defaults to 5173.
 * - Layout: daemon.c (libmicrohttpd, start-up, stop), config.c, request.c (the request and
 *   response layer), router.c, and one routes_*.c file per group of routes.
 * - Connections: libmicrohttpd in epoll mode on API_IO_THREADS threads; a request whose headers
 *   and body are in is suspended and run by one of API_HANDLER_THREADS handler threads (they block
 *   on PostgreSQL and renders), so idle and slow connections cost no thread. Headers and bodies
 *   have deadlines (API_HEADER_TIMEOUT_S, API_BODY_TIMEOUT_S); one address may hold at most
 *   API_MAX_CONNECTIONS_PER_IP connections. Ambiguous framing is refused and the connection closed;
 *   the expensive routes have per-client rate limits (limits.c). See daemon.c.
 * - Database: a fixed pool of DB_POOL_SIZE connections; a request waits at most
 *   DB_POOL_TIMEOUT_MS for one. An unreachable database answers 503, never 500.
 * - An id in a path that is not a uuid names nothing: 404, like an unknown uuid.
 * - GET /exports/{file}: local storage streams the file from EXPORT_DIR; S3 storage answers
 *   302 to a presigned URL valid EXPORT_URL_EXPIRY_S seconds. Only names of the export
 *   pattern (YYYY-MM-DDTHH-MM-SS_<uuid>.png|pdf|svg|json) are accepted; anything else is 400.
 *
 * The queue job sent for each export (queue `export-map`) is queue.h's export job
 * (queue_send_export), the one definition the worker reads too. */
#ifndef AWM_API_H
#define AWM_API_H

#include <stdbool.h>
#include <stdio.h>
#include <libpq-fe.h>

#include "storage/storage.h"
#include "util/util.h"

#define API_DEFAULT_PORT 5173
#define API_DEFAULT_HOST "127.0.0.1"
#define API_DEFAULT_EXPORT_DIR "/app/exports"
#define API_DEFAULT_MAX_BODY_BYTES (1024L * 1024L)
#define API_MAX_JSON_DEPTH 64
#define API_LINGER_MIN_BYTES (16u << 20) /* an oversized body is read and dropped up to
                                          * max(this, 8 × MAX_BODY_BYTES) before its 413 */
#define API_MIN_KEY_LEN 32          /* WORKER_API_KEY and ADMIN_API_KEY: at least this many characters */
#define API_EXAMPLE_KEY "change-me" /* the placeholder of .env.example: refused as a key */

/* Expensive kinds of request, each with its own per-client rate (RATE_LIMIT_*, per minute). */
typedef enum {
    API_LIMIT_MAP_WRITES = 0, /* POST /api/maps, PUT and DELETE /api/maps/{id} */
    API_LIMIT_EXPORTS,        /* POST /api/export */
    API_LIMIT_RENDERS,        /* GET /render */
    API_LIMIT_PLACES,         /* GET /api/places */
    API_LIMIT_COUNT
} api_limit_class;

typedef struct {
    const char *database_url;   /* DATABASE_URL (required) */
    const char *host;           /* HOST */
    int port;                   /* PORT; 0 = any free port (tests read it from the log) */
    const char *worker_api_key; /* WORKER_API_KEY; NULL = worker routes open */
    const char *admin_api_key;  /* ADMIN_API_KEY: the operator (list and delete any map, see
                                 * job file paths, /metrics); NULL = no operator access */
    const char *allowed_hosts;  /* ALLOWED_HOSTS: comma-separated Host names answered; NULL = the
                                 * loopback names, HOST and (HOST a wildcard) this machine's names
                                 * and addresses; "*" = any (warned at start-up) */
    bool metrics_public;        /* METRICS_PUBLIC: /metrics without the operator key */
    const char *trusted_proxies; /* TRUSTED_PROXIES: addresses/CIDRs whose X-Forwarded-For is believed */
    double rate_per_minute[API_LIMIT_COUNT]; /* RATE_LIMIT_MAP_WRITES (60), _EXPORTS (20), _RENDERS
                                 * (120), _PLACES (600); 0 = no limit */
    int max_pending_exports;    /* EXPORT_MAX_PENDING_PER_MAP: exports of one map waiting at once (5) */
    int io_threads;             /* API_IO_THREADS: libmicrohttpd's epoll threads (default 2) */
    int handler_threads;        /* API_HANDLER_THREADS: threads running handlers (default 16) */
    int header_timeout_s;       /* API_HEADER_TIMEOUT_S: a request's headers must arrive within (15) */
    int body_timeout_s;         /* API_BODY_TIMEOUT_S: and its body within (120) */
    int db_connect_timeout_s;   /* DB_CONNECT_TIMEOUT_S: opening a database connection (5) */
    int db_statement_timeout_ms; /* DB_STATEMENT_TIMEOUT_MS: one statement's answer (5000; 0 = none) */
    storage_config storage;     /* STORAGE, EXPORT_DIR, S3_*, AWS_* (see storage.h) */
    int presign_expiry_s;       /* EXPORT_URL_EXPIRY_S: life of S3 download links (default 900) */
    long max_body_bytes;        /* MAX_BODY_BYTES */
    int db_pool_size;           /* DB_POOL_SIZE (default 16) */
    int db_pool_timeout_ms;     /* DB_POOL_TIMEOUT_MS (default 5000) */
    int max_connections;        /* API_MAX_CONNECTIONS (default 512) */
    int max_connections_per_ip; /* API_MAX_CONNECTIONS_PER_IP (default 64; 0 = no limit) */
    int connection_timeout_s;   /* API_CONNECTION_TIMEOUT_S (default 30) */
    int render_concurrency;     /* RENDER_CONCURRENCY: renders at once for GET /render (default 1);
                                 * more wait up to 30 s for a slot, then 503 */
    int shutdown_grace_s;       /* API_SHUTDOWN_GRACE_S: wait for requests in flight (default 10) */
} api_config;

/* Read the configuration from the environment. A bad value is an error naming the variable
 * (the caller exits 2). */
bool api_config_from_env(api_config *cfg, awm_error *err);

/* Apply the migrations, start listening, serve until SIGTERM or SIGINT, then stop accepting,
 * finish the requests in flight and close the database pool. Logs SERVER_LISTENING with
 * the host and the actual port. false when start-up fails (err says why). */
bool api_serve(const api_config *cfg, awm_error *err);

/* ---- `awm maps` and DELETE /api/maps/{id} --------------------------------------------------- */

typedef struct {
    bool found;           /* the map existed */
    bool storage_failed;  /* a poster could not be deleted: nothing else was */
    int posters;          /* poster files deleted (each with its sidecar) */
    long queue_jobs;      /* queue jobs deleted */
} api_purge_result;

/* Delete a map and everything made from it: its poster files (local or S3) first, then in one
 * transaction its queue jobs and its rows (printable maps, print jobs, events). */
bool api_map_purge(PGconn *conn, storage *st, const char *id, api_purge_result *out, awm_error *err);
/* Print the operator's list of map summaries (newest first) to out. */
bool api_maps_list(PGconn *conn, long limit, long offset, FILE *out, awm_error *err);

/* ---- `awm jobs` --------------------------------------------------------------------- */

/* Print a print job's state and its event history (oldest first) to `out`; json = one JSON
 * document (the same shape as GET /api/jobs/{id}). false with "print job not found: ID"
 * when it does not exist (*found = false), or on a database error. */
bool api_job_status(PGconn *conn, const char *id, bool json, FILE *out, bool *found, awm_error *err);

/* Re-send the queue job of every print job still in pending_export whose queue job is
 * missing, failed or cancelled (a lost message would leave it pending forever). Each
 * re-send is printed as one line on `out`; *requeued = how many. dry_run only prints. */
bool api_jobs_requeue(PGconn *conn, bool dry_run, FILE *out, int *requeued, awm_error *err);

/* Place search as GET /api/places answers it (places.c; the index is loaded, or built and
 * cached, on first use): JSON text of at most `limit` places (caller frees), or NULL with err
 * (AWM_EINVALID: the query or limit, the message naming which; AWM_EUNAVAILABLE: no gazetteer). */
char *api_places_search_json(const char *q, int limit, awm_error *err);

#endif
