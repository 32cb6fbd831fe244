/* api_internal.h — what the API server's files share. Not for other parts.
 *   daemon.c   the libmicrohttpd daemon, start-up and graceful stop
 *   config.c   the configuration from the environment
 *   request.c  the request/response layer: a request's life, its body, every way to answer
 *   router.c   the route table and dispatch to the handlers
 *   routes_*.c the handlers (maps and exports, jobs, render, files and health), places.c,
 *              metrics.c; pool.c the database pool */
#ifndef AWM_API_INTERNAL_H
#define AWM_API_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"
#include "db/db.h"

/* Routes, for metrics labels and dispatch. */
typedef enum {
    ROUTE_INDEX = 0,
    ROUTE_STATIC,
    ROUTE_MAPS,
    ROUTE_MAP,
    ROUTE_EXPORT,
    ROUTE_JOB,
    ROUTE_JOB_START,
    ROUTE_JOB_COMPLETE,
    ROUTE_JOB_FAIL,
    ROUTE_HEALTH,
    ROUTE_RENDER,
    ROUTE_EXPORT_FILE,
    ROUTE_METRICS,
    ROUTE_PLACES,
    ROUTE_UNKNOWN,
    ROUTE_COUNT
} api_route;

const char *api_route_label(api_route r);
/* The route of a path and its one parameter (an id or a file name, pointing into path). */
api_route api_route_of(const char *path, const char **param, size_t *param_len);

/* ---- database pool ---- */
typedef struct api_pool api_pool;
api_pool *api_pool_create(const char *conninfo, int size, int timeout_ms);
void api_pool_destroy(api_pool *p);
/* A connected connection, or NULL (err says why) when the database cannot be reached or no
 * connection was free within the timeout — both answer 503. */
PGconn *api_pool_get(api_pool *p, awm_error *err);
void api_pool_put(api_pool *p, PGconn *conn);
void api_pool_stats(api_pool *p, int *in_use, int *size);

/* ---- the server ---- */
typedef struct {
    api_config cfg;
    api_pool *pool;
    storage *storage;
    double started_at; /* awm_now_seconds() */
    char web_dir[4096]; /* "" when no web page is installed */
    pthread_mutex_t render_lock;
    pthread_cond_t render_freed; /* CLOCK_MONOTONIC */
    int renders_running;
    int renders_waiting;    /* for a slot (at most API_HANDLER_THREADS / 4) */
    bool render_ready;      /* render_init succeeded */
    char render_error[256];
    char **allowed_hosts;   /* Host names answered (api_allowed_hosts_init) */
    size_t allowed_host_count;
    bool any_host;          /* ALLOWED_HOSTS=* */
} api_server;

/* Where a request's headers and query arguments come from and where its answer goes: the
 * server wraps libmicrohttpd's connection; the API fuzz target (fuzz/fuzz_api.c) supplies its
 * own, so both run the same request code below. */
typedef struct {
    const char *(*lookup)(void *ctx, enum MHD_ValueKind kind, const char *key);
    /* Takes the response (destroys it when sent, or at once when it cannot be queued). */
    enum MHD_Result (*queue)(void *ctx, unsigned status, struct MHD_Response *resp);
    void *ctx;
} api_io;

/* Extra headers for the answer (Allow, WWW-Authenticate, Retry-After, Content-Disposition…). */
#define API_MAX_RESPONSE_HEADERS 4
typedef struct {
    char name[32];
    char value[256];
} api_header;

typedef struct {
    api_server *srv;
    api_io io;
    const char *method, *url;
    char request_id[17];
    api_route route;
    double t0;
    unsigned status;
    /* body */
    awm_buf body;
    bool body_too_large;
    size_t discarded; /* bytes of an oversized body read and dropped */
    bool responded;
    enum MHD_Result result;
    /* the database connection held by this request (returned when it ends) */
    PGconn *db;
    api_header headers[API_MAX_RESPONSE_HEADERS];
    size_t header_count;
    char peer[64];   /* the connection's address */
    char client[64]; /* the client: the peer, or from X-Forwarded-For behind TRUSTED_PROXIES */
} api_request;

/* Request ids get a random per-process prefix (call once at start-up). */
void api_requests_init(void);

/* A request's life, as libmicrohttpd drives it: begin (an announced oversized body is answered
 * 413 at once), body bytes as they arrive (false = cut the connection off), the end of the body
 * (routing and the handler), then finish (logs it and frees r; complete = fully answered). */
api_request *api_request_begin(api_server *srv, const api_io *io, const char *method, const char *url,
                               const char *peer);
bool api_request_body(api_request *r, const char *data, size_t n);
void api_request_dispatch(api_request *r);
/* The router (router.c): the handler for r's method and path, 404/405 otherwise. */
void api_route_request(api_request *r);
void api_request_finish(api_request *r, bool complete);
/* A request header (MHD_HEADER_KIND) or query argument (MHD_GET_ARGUMENT_KIND), or NULL. */
const char *api_request_value(api_request *r, enum MHD_ValueKind kind, const char *key);

/* Responses; each records the status and adds X-Request-Id and the headers added with
 * api_response_header before it. Functions taking json_t steal it. */
void api_response_header(api_request *r, const char *name, const char *value);
void api_respond_json(api_request *r, unsigned status, json_t *body);
void api_respond_json_text(api_request *r, unsigned status, const char *json_text, size_t len);
void api_respond_bytes(api_request *r, unsigned status, const char *content_type, const void *data,
                       size_t len);
void api_respond_response(api_request *r, unsigned status, struct MHD_Response *resp);
/* {"error": msg} plus the fields of `extra` (stolen; may be NULL). */
void api_respond_error(api_request *r, unsigned status, json_t *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 500 for a real fault: logged with the request id, which the body repeats. */
void api_respond_fault(api_request *r, const char *what);
/* A database failure: 503 when err's code says the database is unavailable, else a 500 fault. */
void api_respond_db_error(api_request *r, const awm_error *err);

/* The request's pooled connection (checked out on first use); NULL after answering 503. */
PGconn *api_db(api_request *r);
/* Statement on the request's connection; a connection found broken outside a transaction is
 * re-opened and the statement tried once more (after a database restart, the first use of
 * each pooled connection would otherwise fail). */
PGresult *api_query(api_request *r, const char *what, const char *sql, int n, const char *const *params,
                    awm_error *err);
/* BEGIN on the request's connection, re-opening a connection found broken (once). */
bool api_begin(api_request *r, awm_error *err);

/* Body as JSON: answers 415/400 itself and returns NULL when it is not acceptable. An empty
 * body gives an empty object when allow_empty. */
json_t *api_body_json(api_request *r, bool allow_empty);
const char *api_query_arg(api_request *r, const char *key);

/* ---- limits at the edge (limits.c) ---- */
/* Set r->client from r->peer and, when the peer is one of TRUSTED_PROXIES, X-Forwarded-For. */
void api_client_address(api_request *r);
/* One token of the client's bucket for this kind; false after answering 429 + Retry-After. */
bool api_rate_check(api_request *r, api_limit_class kind);

/* ---- who may do what (auth.c) ---- */
/* Worker routes: false after answering 401 when a key is configured and not presented. */
bool api_check_worker_auth(api_request *r);
/* Operator routes (`what` names it in the answer): false after answering 403 when ADMIN_API_KEY
 * is not set, 401 when it is not presented. */
bool api_check_operator(api_request *r, const char *what);
bool api_is_operator(api_request *r); /* presents ADMIN_API_KEY */
bool api_is_worker(api_request *r);   /* presents WORKER_API_KEY */
#define API_TOKEN_LEN 43      /* 32 random bytes, base64url */
#define API_TOKEN_HASH_LEN 64 /* SHA-256, hex */
void api_edit_token_new(char token[API_TOKEN_LEN + 1], char hash_hex[API_TOKEN_HASH_LEN + 1]);
void api_edit_token_hash(const char *token, char hash_hex[API_TOKEN_HASH_LEN + 1]);
/* Changing a map: its edit token (stored_hash NULL: the map has none), or the operator's key when
 * operator_may. false after answering 401 (no token) or 403 (wrong token). */
bool api_check_edit_token(api_request *r, const char *stored_hash, bool operator_may);
/* The Host names answered (ALLOWED_HOSTS): built once at start-up, checked on every request
 * (false after answering 421). */
void api_allowed_hosts_init(api_server *srv);
void api_allowed_hosts_free(api_server *srv);
bool api_check_host(api_request *r);

/* ---- Idempotency-Key (idempotency.c) ---- */
#define API_IDEMPOTENCY_KEY_MAX 255 /* characters of an Idempotency-Key */
typedef struct {
    bool active; /* a key was sent and no answer is stored: a transaction is open on r->db */
    char key[API_IDEMPOTENCY_KEY_MAX + 1];
    char scope[API_TOKEN_HASH_LEN + 1];        /* SHA-256 of the caller */
    char key_hash[API_TOKEN_HASH_LEN + 1];     /* SHA-256 of the key */
    char request_hash[API_TOKEN_HASH_LEN + 1]; /* SHA-256 of method, route and body */
} api_idempotency;
/* Read the request's Idempotency-Key. false after answering: 400 for a bad key, the stored
 * answer again, 422 when the key was used with another request, 503. true: go on; when
 * idem->active, a transaction holding the key's lock is open on r->db: make the new rows in it,
 * api_idempotency_record the answer, COMMIT, then answer. */
bool api_idempotency_begin(api_request *r, const char *route, api_idempotency *idem);
/* Record a 2xx answer in the open transaction (no-op without a key). `secret` (may be NULL), found
 * at byte secret_at of body, is stored sealed with the key, never in clear. */
bool api_idempotency_record(api_request *r, const api_idempotency *idem, unsigned status, const char *body,
                            size_t len, const char *secret, size_t secret_at, awm_error *err);
/* After the handler: roll back what was not committed (it answered an error). */
void api_idempotency_end(api_request *r, const api_idempotency *idem);

/* ---- handlers ---- */
void api_handle_maps_create(api_request *r);
void api_handle_maps_list(api_request *r);
void api_handle_map_get(api_request *r, const char *id);
void api_handle_map_update(api_request *r, const char *id); /* PUT, with the edit token */
void api_handle_map_delete(api_request *r, const char *id); /* DELETE, edit token or operator */
void api_handle_export_create(api_request *r);
void api_handle_export_describe(api_request *r);
void api_handle_job_get(api_request *r, const char *id);
void api_handle_job_transition(api_request *r, const char *id, api_route which);
void api_handle_health(api_request *r);
void api_handle_metrics(api_request *r);
void api_handle_export_file(api_request *r, const char *name);
void api_handle_render(api_request *r);
void api_handle_index(api_request *r);
bool api_handle_static(api_request *r, const char *path); /* false: no such file */
/* GET /api/places (places.c). Init loads the gazetteer once (also called at start-up, so the
 * first search does not pay for it); a missing one is logged and the route answers 503. */
void api_places_init(void);
void api_handle_places(api_request *r);

/* The place-search index (places_index.c): built from the GeoNames assets, cached under the
 * cache folder. Every offset points into `keys` (folded, NUL-terminated) or `text` (display
 * names); the arrays all live in one image. */
typedef struct {
    int32_t lat_e5, lon_e5; /* degrees × 1e5 */
    uint32_t population, name, region; /* region: index into regions, PLACES_NONE when unknown */
    uint16_t country, pad;
} places_place; /* sorted by population, most first: a lower index ranks higher */
#define PLACES_NONE UINT32_MAX
/* places_entry.place: the place's index (19 bits), two flags, and the weight the ranking uses
 * (11 bits: 64 × log2 of the population, 256 less for an alternate name), so a search reads
 * nothing but the entries of its range. */
#define PLACES_PLACE_MASK 0x7FFFFu
#define PLACES_LATER_WORD (1u << 19) /* the key is a later word of a name */
#define PLACES_ALTERNATE (1u << 20)  /* the key is an alternate name */
#define PLACES_WEIGHT_SHIFT 21
typedef struct {
    uint32_t key, place;
} places_entry; /* sorted by key (bytes), so a prefix is one range */
typedef struct {
    char code[4];
    uint32_t name, first_alias, alias_count; /* aliases: folded names in every language, the code */
} places_country;
typedef struct {
    uint32_t name, key, code_key; /* code_key: the folded code after "CC." when it has a letter ("tx") */
    uint16_t country, pad;
} places_region;
typedef struct {
    const places_place *places;
    const places_entry *entries;
    const places_country *countries;
    const uint32_t *aliases;
    const places_region *regions;
    const char *keys, *text;
    size_t place_count, entry_count, country_count, alias_count, region_count, keys_len, text_len;
    void *image; /* what all of the above point into */
    size_t image_len;
} places_index;
/* Fold UTF-8 text for matching and append it to out with a NUL: lower case (Latin, Greek,
 * Cyrillic, Armenian, Georgian, full-width), diacritics dropped, '-', '.', '_' and runs of space
 * one space, apostrophes dropped. false when the text is not valid UTF-8. */
bool places_fold(const char *text, size_t n, awm_buf *out);
/* The index for the gazetteer at cities_path (GeoNames cities TSV): from the cache when it
 * was made by this build from these very sources, else built and cached. *built says which. */
bool places_index_load(places_index *ix, const char *cities_path, bool *built, awm_error *err);
void places_index_free(places_index *ix);
/* Render slots (RENDER_CONCURRENCY): acquire waits up to wait_s; false = still busy. */
bool api_render_slot_acquire(api_server *srv, int wait_s);
void api_render_slot_release(api_server *srv);

/* ---- metrics ---- */
void api_metrics_record(api_route route, unsigned status, double seconds);
int api_requests_in_flight(void); /* requests received and not yet fully answered */
/* True once when no request is in flight and some finished since the last true: a burst ended. */
bool api_idle_after_requests(void);

/* The job document (columns + events + downloadUrl) as JSON text built by PostgreSQL; shared
 * by GET /api/jobs/{id}, the transitions and `awm jobs status`. $1 = the job id. */
extern const char *const API_JOB_JSON_SQL;

#endif
