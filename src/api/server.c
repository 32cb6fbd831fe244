/* server.c — `awm serve`: configuration, the libmicrohttpd daemon, routing, request bodies,
 * responses, the access log and graceful shutdown. Handlers live in the routes_*.c files. */
#include "api/api_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include "render/render.h"

/* ---- configuration ----------------------------------------------------------------- */

bool api_config_from_env(api_config *cfg, awm_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->database_url = awm_env_str("DATABASE_URL", NULL);
    if (!awm_env_files_ok(err)) /* DATABASE_URL_FILE unreadable: say so, not "not set" */
        return false;
    if (!cfg->database_url) {
        awm_error_set(err, "DATABASE_URL is not set (a libpq connection string, e.g. "
                           "postgresql://user:pass@localhost:5432/awm)");
        return false;
    }
    cfg->host = awm_env_str("HOST", API_DEFAULT_HOST);
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo(cfg->host, NULL, &hints, &ai);
    if (gai != 0) {
        awm_error_set(err, "HOST=%s: not an address this machine can listen on (%s)", cfg->host,
                      gai_strerror(gai));
        return false;
    }
    freeaddrinfo(ai);
    cfg->worker_api_key = awm_env_str("WORKER_API_KEY", NULL);
    if (!storage_config_from_env(&cfg->storage, err))
        return false;
    long v;
    if (!awm_env_long("EXPORT_URL_EXPIRY_S", 900, 1, 604800, &v, err))
        return false;
    cfg->presign_expiry_s = (int)v;
    if (!awm_env_long("PORT", API_DEFAULT_PORT, 0, 65535, &v, err))
        return false;
    cfg->port = (int)v;
    if (!awm_env_long("MAX_BODY_BYTES", API_DEFAULT_MAX_BODY_BYTES, 1, 1L << 30, &cfg->max_body_bytes, err))
        return false;
    if (!awm_env_long("DB_POOL_SIZE", 16, 1, 1000, &v, err))
        return false;
    cfg->db_pool_size = (int)v;
    if (!awm_env_long("DB_POOL_TIMEOUT_MS", 5000, 1, 600000, &v, err))
        return false;
    cfg->db_pool_timeout_ms = (int)v;
    if (!awm_env_long("API_MAX_CONNECTIONS", 512, 1, 100000, &v, err))
        return false;
    cfg->max_connections = (int)v;
    if (!awm_env_long("API_MAX_CONNECTIONS_PER_IP", 64, 0, 100000, &v, err))
        return false;
    cfg->max_connections_per_ip = (int)v;
    if (!awm_env_long("API_CONNECTION_TIMEOUT_S", 30, 1, 86400, &v, err))
        return false;
    cfg->connection_timeout_s = (int)v;
    if (!awm_env_long("API_SHUTDOWN_GRACE_S", 10, 0, 3600, &v, err))
        return false;
    cfg->shutdown_grace_s = (int)v;
    if (!awm_env_long("RENDER_CONCURRENCY", 1, 1, 64, &v, err))
        return false;
    cfg->render_concurrency = (int)v;
    return awm_env_files_ok(err);
}

/* ---- routing ------------------------------------------------------------------------- */

static const char *const ROUTE_LABELS[ROUTE_COUNT] = {
    [ROUTE_INDEX] = "/",
    [ROUTE_STATIC] = "static",
    [ROUTE_MAPS] = "/api/maps",
    [ROUTE_MAP] = "/api/maps/{id}",
    [ROUTE_EXPORT] = "/api/export",
    [ROUTE_JOB] = "/api/jobs/{id}",
    [ROUTE_JOB_START] = "/api/jobs/{id}/start",
    [ROUTE_JOB_COMPLETE] = "/api/jobs/{id}/complete",
    [ROUTE_JOB_FAIL] = "/api/jobs/{id}/fail",
    [ROUTE_HEALTH] = "/api/health",
    [ROUTE_RENDER] = "/render",
    [ROUTE_EXPORT_FILE] = "/exports/{file}",
    [ROUTE_METRICS] = "/metrics",
    [ROUTE_PLACES] = "/api/places",
    [ROUTE_UNKNOWN] = "unknown",
};

const char *api_route_label(api_route r) { return ROUTE_LABELS[r]; }

/* The rest of `path` after `prefix`, or NULL. Not inlined: GCC 12 otherwise mistakes the
 * pointer arithmetic after the strcmp tests below for a read past a literal. */
__attribute__((noinline)) static const char *after_prefix(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) ? NULL : path + n;
}

/* The route of a path and its one parameter (an id or a file name, pointing into path). */
static api_route route_of(const char *path, const char **param, size_t *param_len)
{
    *param = NULL;
    *param_len = 0;
    if (!strcmp(path, "/"))
        return ROUTE_INDEX;
    if (!strcmp(path, "/api/maps"))
        return ROUTE_MAPS;
    if (!strcmp(path, "/api/export"))
        return ROUTE_EXPORT;
    if (!strcmp(path, "/api/places"))
        return ROUTE_PLACES;
    if (!strcmp(path, "/api/health"))
        return ROUTE_HEALTH;
    if (!strcmp(path, "/render"))
        return ROUTE_RENDER;
    if (!strcmp(path, "/metrics"))
        return ROUTE_METRICS;
    const char *rest;
    if ((rest = after_prefix(path, "/exports/"))) {
        *param = rest;
        *param_len = strlen(rest);
        return ROUTE_EXPORT_FILE;
    }
    if ((rest = after_prefix(path, "/api/maps/")) && *rest && !strchr(rest, '/')) {
        *param = rest;
        *param_len = strlen(rest);
        return ROUTE_MAP;
    }
    if ((rest = after_prefix(path, "/api/jobs/")) && *rest) {
        size_t id_len = strcspn(rest, "/");
        *param = rest;
        *param_len = id_len;
        if (!rest[id_len])
            return ROUTE_JOB;
        const char *slash = rest + id_len;
        if (!strcmp(slash, "/start"))
            return ROUTE_JOB_START;
        if (!strcmp(slash, "/complete"))
            return ROUTE_JOB_COMPLETE;
        if (!strcmp(slash, "/fail"))
            return ROUTE_JOB_FAIL;
    }
    if (!strncmp(path, "/api/", 5) || !strcmp(path, "/api"))
        return ROUTE_UNKNOWN;
    return ROUTE_STATIC;
}

/* Methods each route accepts (HEAD goes with GET), for dispatch and the Allow header. */
static const char *route_allow(api_route r)
{
    switch (r) {
    case ROUTE_MAPS:
    case ROUTE_EXPORT: return "GET, HEAD, POST";
    case ROUTE_JOB_START:
    case ROUTE_JOB_COMPLETE:
    case ROUTE_JOB_FAIL: return "POST";
    default: return "GET, HEAD";
    }
}

/* ---- responses ------------------------------------------------------------------------ */

void api_respond_response(api_request *r, unsigned status, struct MHD_Response *resp)
{
    if (r->responded) {
        MHD_destroy_response(resp);
        return;
    }
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    r->result = r->io.queue(r->io.ctx, status, resp);
    r->responded = r->result == MHD_YES;
    if (r->responded)
        r->status = status;
    MHD_destroy_response(resp);
}

void api_respond_bytes(api_request *r, unsigned status, const char *content_type, const void *data,
                       size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    api_respond_response(r, status, resp);
}

void api_respond_json_text(api_request *r, unsigned status, const char *json_text, size_t len)
{
    api_respond_bytes(r, status, "application/json; charset=utf-8", json_text, len);
}

void api_respond_json(api_request *r, unsigned status, json_t *body)
{
    /* 15 significant digits: decimal inputs such as 8.27 come back as written. */
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (!text) {
        api_respond_fault(r, "cannot serialise a response");
        return;
    }
    api_respond_json_text(r, status, text, strlen(text));
    free(text);
}

/* Replace each byte that does not start a well-formed UTF-8 sequence (the rules jansson
 * enforces) with '?'. Messages echo the request (a path with %E3 in it, say, or one cut short
 * mid-character by the message buffer); jansson refuses invalid UTF-8, which used to turn a
 * plain 404 into a 500 (found by fuzz/fuzz_api). */
static void force_utf8(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        unsigned c = p[0];
        int n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80, hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
        bool ok = n > 0;
        for (int i = 1; ok && i < n; i++)
            ok = i == 1 ? p[i] >= lo && p[i] <= hi : p[i] >= 0x80 && p[i] <= 0xBF;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

void api_respond_error(api_request *r, unsigned status, json_t *extra, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    force_utf8(msg);
    json_t *body = json_pack("{s:s}", "error", msg);
    if (extra) {
        json_object_update_missing(body, extra);
        json_decref(extra);
    }
    api_respond_json(r, status, body);
}

void api_respond_fault(api_request *r, const char *what)
{
    awm_log(AWM_LOG_ERROR, "REQUEST_FAILED", "{s:s, s:s, s:s, s:s}", "requestId", r->request_id,
            "method", r->method, "path", r->url, "error", what);
    api_respond_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, json_pack("{s:s}", "requestId", r->request_id),
                      "internal server error");
}

bool api_db_unreachable(PGconn *conn, const PGresult *res)
{
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return true;
    const char *state = db_sqlstate(res);
    /* Class 08 = connection exception; 57P0x = the server is shutting down or starting. */
    return !strncmp(state, "08", 2) || !strncmp(state, "57P", 3);
}

void api_respond_db_error(api_request *r, PGconn *conn, const awm_error *err)
{
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        awm_log(AWM_LOG_WARN, "DATABASE_UNREACHABLE", "{s:s, s:s}", "requestId", r->request_id, "error",
                err ? err->msg : "");
        api_respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "database unreachable");
        return;
    }
    api_respond_fault(r, err ? err->msg : "database error");
}

/* ---- database access for a request ------------------------------------------------------ */

PGconn *api_db(api_request *r)
{
    if (r->db)
        return r->db;
    awm_error err = {{0}};
    r->db = api_pool_get(r->srv->pool, &err);
    if (!r->db) {
        awm_log(AWM_LOG_WARN, "DATABASE_UNREACHABLE", "{s:s, s:s}", "requestId", r->request_id, "error",
                err.msg);
        api_respond_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, NULL, "database unreachable");
    }
    return r->db;
}

PGresult *api_query(api_request *r, const char *what, const char *sql, int n, const char *const *params,
                    awm_error *err)
{
    PGconn *conn = r->db;
    bool in_tx = PQtransactionStatus(conn) != PQTRANS_IDLE;
    /* Prepared once per connection: every caller passes a literal (or a constant string). */
    PGresult *res = db_exec_cached(conn, what, sql, n, params, err);
    if (!res && !in_tx && PQstatus(conn) != CONNECTION_OK)
        res = db_exec_cached(conn, what, sql, n, params, err); /* re-opens it first */
    return res;
}

bool api_begin(api_request *r, awm_error *err)
{
    bool ok = db_run(r->db, "cannot start a transaction", "BEGIN", err);
    if (!ok && PQstatus(r->db) != CONNECTION_OK) /* stale after a restart: db_run re-opens it */
        ok = db_run(r->db, "cannot start a transaction", "BEGIN", err);
    return ok;
}

/* ---- requests ----------------------------------------------------------------------------- */

const char *api_request_value(api_request *r, enum MHD_ValueKind kind, const char *key)
{
    return r->io.lookup(r->io.ctx, kind, key);
}

const char *api_query_arg(api_request *r, const char *key)
{
    return api_request_value(r, MHD_GET_ARGUMENT_KIND, key);
}

/* Nesting depth of JSON text (brackets outside strings), so hostile input is refused before
 * the parser recurses into it. */
static int json_depth(const char *s, size_t n)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                max = depth;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return max;
}

static bool content_type_is_json(api_request *r)
{
    const char *ct = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/json", 16))
        return false;
    char next = ct[16];
    return next == '\0' || next == ';' || next == ' ';
}

json_t *api_body_json(api_request *r, bool allow_empty)
{
    if (r->body.len == 0 && allow_empty)
        return json_object();
    if (!content_type_is_json(r)) {
        api_respond_error(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                          "Content-Type must be application/json");
        return NULL;
    }
    if (r->body.len == 0) {
        api_respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, "request body is empty (expected a JSON object)");
        return NULL;
    }
    if (json_depth(r->body.data, r->body.len) > API_MAX_JSON_DEPTH) {
        api_respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, "JSON nested deeper than %d levels",
                          API_MAX_JSON_DEPTH);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        api_respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, "malformed JSON: %s (line %d, column %d)", jerr.text,
                          jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        api_respond_error(r, MHD_HTTP_BAD_REQUEST, NULL, "request body must be a JSON object");
        return NULL;
    }
    return root;
}

bool api_check_worker_auth(api_request *r)
{
    const char *key = r->srv->cfg.worker_api_key;
    if (!key)
        return true;
    const char *h = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h && !strncasecmp(h, "Bearer ", 7) && awm_secret_equal(h + 7, key))
        return true;
    struct MHD_Response *resp = NULL;
    char *text = awm_strdup(h ? "{\"error\":\"wrong worker API key\"}"
                              : "{\"error\":\"worker API key required (Authorization: Bearer <key>)\"}");
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    api_respond_response(r, MHD_HTTP_UNAUTHORIZED, resp);
    return false;
}

static bool is_get(const char *m) { return !strcmp(m, "GET") || !strcmp(m, "HEAD"); }

static void dispatch(api_request *r)
{
    const char *param;
    size_t param_len;
    api_route route = route_of(r->url, &param, &param_len);
    r->route = route;
    char id[128] = "";
    if (param && param_len < sizeof id) {
        memcpy(id, param, param_len);
        id[param_len] = '\0';
    } else if (param) {
        memcpy(id, param, sizeof id - 1); /* too long to be anything valid; handlers refuse it */
        id[sizeof id - 1] = '\0';
    }
    bool get = is_get(r->method), post = !strcmp(r->method, "POST");
    if (route == ROUTE_UNKNOWN) {
        api_respond_error(r, MHD_HTTP_NOT_FOUND, NULL, "no route for %s %s", r->method, r->url);
        return;
    }
    if (route == ROUTE_STATIC) {
        if (get && api_handle_static(r, r->url))
            return;
        r->route = ROUTE_UNKNOWN;
        api_respond_error(r, MHD_HTTP_NOT_FOUND, NULL, "no route for %s %s", r->method, r->url);
        return;
    }
    const char *allow = route_allow(route);
    bool allowed = (get && strstr(allow, "GET")) || (post && strstr(allow, "POST"));
    if (!allowed) {
        /* The method is the client's (any token, any length): cut short and JSON-encoded.
         * (Formatting it raw once read past a 256-byte buffer into the response: fuzz_api.) */
        char msg[256];
        snprintf(msg, sizeof msg, "method %.40s not allowed on %s (allowed: %s)", r->method,
                 api_route_label(route), allow);
        force_utf8(msg);
        json_t *body = json_pack("{s:s}", "error", msg);
        char *text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!text) {
            api_respond_fault(r, "cannot serialise a response");
            return;
        }
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(resp, "Allow", allow);
        api_respond_response(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
        return;
    }
    switch (route) {
    case ROUTE_INDEX: api_handle_index(r); break;
    case ROUTE_MAPS: post ? api_handle_maps_create(r) : api_handle_maps_list(r); break;
    case ROUTE_MAP: api_handle_map_get(r, id); break;
    case ROUTE_EXPORT: post ? api_handle_export_create(r) : api_handle_export_describe(r); break;
    case ROUTE_JOB: api_handle_job_get(r, id); break;
    case ROUTE_JOB_START:
    case ROUTE_JOB_COMPLETE:
    case ROUTE_JOB_FAIL: api_handle_job_transition(r, id, route); break;
    case ROUTE_HEALTH: api_handle_health(r); break;
    case ROUTE_RENDER: api_handle_render(r); break;
    case ROUTE_EXPORT_FILE: api_handle_export_file(r, param); break;
    case ROUTE_METRICS: api_handle_metrics(r); break;
    case ROUTE_PLACES: api_handle_places(r); break;
    default: api_respond_error(r, MHD_HTTP_NOT_FOUND, NULL, "no route for %s %s", r->method, r->url);
    }
    if (!r->responded)
        api_respond_fault(r, "handler returned without an answer");
}

/* ---- libmicrohttpd callbacks ---------------------------------------------------------------- */

static uint32_t g_id_prefix;
static uint32_t g_id_counter;
static int g_in_flight; /* requests between their first callback and completion */

int api_requests_in_flight(void) { return __atomic_load_n(&g_in_flight, __ATOMIC_RELAXED); }

static void new_request_id(char out[17])
{
    uint32_t n = __atomic_add_fetch(&g_id_counter, 1, __ATOMIC_RELAXED);
    snprintf(out, 17, "%08x%08x", g_id_prefix, n);
}

static void respond_too_large(api_request *r)
{
    size_t ignored_len;
    const char *ignored;
    r->route = route_of(r->url, &ignored, &ignored_len);
    long limit = r->srv->cfg.max_body_bytes;
    api_respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, json_pack("{s:I}", "limit", (json_int_t)limit),
                      "request body larger than %ld bytes", limit);
}

api_request *api_request_begin(api_server *srv, const api_io *io, const char *method, const char *url)
{
    api_request *r = awm_xcalloc(1, sizeof *r);
    r->srv = srv;
    r->io = *io;
    r->method = method;
    r->url = url;
    r->t0 = awm_now_seconds();
    r->route = ROUTE_UNKNOWN;
    r->result = MHD_YES;
    new_request_id(r->request_id);
    __atomic_add_fetch(&g_in_flight, 1, __ATOMIC_RELAXED);
    /* Refuse an announced oversized body before reading any of it. */
    const char *cl = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > (unsigned long long)srv->cfg.max_body_bytes)
            respond_too_large(r);
    }
    return r;
}

bool api_request_body(api_request *r, const char *data, size_t n)
{
    if (r->responded)
        return true;
    long limit = r->srv->cfg.max_body_bytes;
    if (r->body_too_large) {
        /* Discard up to one more limit's worth (twice the limit in all) so an ordinary client
         * still reads its 413; a sender that keeps going is cut off (MHD cannot answer in
         * mid-body). Comparing with the limit itself cut off at the very next piece of data,
         * so whether a client got its 413 depended on how the bytes arrived. */
        r->discarded += n;
        return r->discarded <= 2 * (size_t)limit;
    }
    if (r->body.len + n > (size_t)limit) {
        /* A body without Content-Length (chunked) grew past the limit: keep none of it. */
        r->body_too_large = true;
        r->discarded = r->body.len + n;
        awm_buf_free(&r->body);
        return true;
    }
    awm_buf_append(&r->body, data, n);
    return true;
}

void api_request_dispatch(api_request *r)
{
    if (r->responded)
        return;
    if (r->body_too_large)
        respond_too_large(r);
    else
        dispatch(r);
}

void api_request_finish(api_request *r, bool complete)
{
    if (r->db)
        api_pool_put(r->srv->pool, r->db);
    double seconds = awm_now_seconds() - r->t0;
    unsigned status = r->responded ? r->status : 0;
    api_metrics_record(r->route, status, seconds);
    awm_log(AWM_LOG_INFO, "HTTP_REQUEST", "{s:s, s:s, s:i, s:f, s:s, s:b}", "method", r->method, "path",
            r->url, "status", (int)status, "ms", seconds * 1000.0, "requestId", r->request_id, "complete",
            complete);
    awm_buf_free(&r->body);
    free(r);
    __atomic_sub_fetch(&g_in_flight, 1, __ATOMIC_RELAXED);
}

static const char *mhd_lookup(void *ctx, enum MHD_ValueKind kind, const char *key)
{
    return MHD_lookup_connection_value(ctx, kind, key);
}

static enum MHD_Result mhd_queue(void *ctx, unsigned status, struct MHD_Response *resp)
{
    return MHD_queue_response(ctx, status, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_request *r = *con_cls;
    if (!r) {
        api_io io = {mhd_lookup, mhd_queue, mc};
        *con_cls = r = api_request_begin(cls, &io, method, url);
        return r->result;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return api_request_body(r, upload_data, n) ? MHD_YES : MHD_NO;
    }
    api_request_dispatch(r);
    return r->result;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    api_request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    api_request_finish(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
}

/* Percent-decoding of the path and query arguments, except that %00 is left encoded: a NUL
 * would silently cut a file name short, while "%00" is simply not a valid name. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            unsigned v = (unsigned)strtoul(hex, NULL, 16);
            if (v != 0) {
                *w++ = (char)v;
                p += 2;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
    return (size_t)(w - s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    awm_log(AWM_LOG_WARN, "HTTP_SERVER_MESSAGE", "{s:s}", "message", msg);
}

static bool host_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a);
    }
    return false;
}

bool api_serve(const api_config *cfg, awm_error *err)
{
    /* Resolve HOST to an address first: a typo is a start-up error, not a silent default. */
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", cfg->port);
    int gai = getaddrinfo(cfg->host, port_text, &hints, &ai);
    if (gai != 0) {
        awm_error_set(err, "HOST=%s: cannot resolve: %s", cfg->host, gai_strerror(gai));
        return false;
    }
    bool loopback = host_is_loopback(ai->ai_addr);
    if (!cfg->worker_api_key && !loopback)
        awm_log(AWM_LOG_WARN, "WORKER_API_KEY_UNSET", "{s:s, s:s}", "host", cfg->host, "message",
                "worker routes (/api/jobs/{id}/start|complete|fail) are open to anyone who can reach "
                "this address; set WORKER_API_KEY");

    /* Migrations before listening: a server never answers with a schema it does not know. */
    PGconn *conn = db_connect(cfg->database_url, err);
    if (!conn) {
        freeaddrinfo(ai);
        return false;
    }
    char dir[4096];
    if (!awm_asset_path(dir, sizeof dir, "db/migrations")) {
        PQfinish(conn);
        freeaddrinfo(ai);
        awm_error_set(err, "assets directory path too long");
        return false;
    }
    int applied = 0;
    bool migrated = db_migrate(conn, dir, &applied, err);
    PQfinish(conn);
    if (!migrated) {
        freeaddrinfo(ai);
        return false;
    }

    api_server *srv = awm_xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->started_at = awm_now_seconds();
    srv->storage = storage_new(&cfg->storage, err);
    if (!srv->storage) {
        free(srv);
        freeaddrinfo(ai);
        return false;
    }
    char storage_desc[512];
    storage_describe(srv->storage, storage_desc, sizeof storage_desc);
    srv->pool = api_pool_create(cfg->database_url, cfg->db_pool_size, cfg->db_pool_timeout_ms);
    pthread_mutex_init(&srv->render_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->render_freed, &ca);
    pthread_condattr_destroy(&ca);
    awm_error rerr = {{0}};
    srv->render_ready = render_init(&rerr);
    api_places_init();
    if (!srv->render_ready) {
        snprintf(srv->render_error, sizeof srv->render_error, "%s", rerr.msg);
        awm_log(AWM_LOG_WARN, "RENDERER_UNAVAILABLE", "{s:s}", "error", rerr.msg);
    }
    struct stat st;
    if (awm_asset_path(srv->web_dir, sizeof srv->web_dir, "web") && stat(srv->web_dir, &st) == 0 &&
        S_ISDIR(st.st_mode)) {
        /* served as static files */
    } else {
        srv->web_dir[0] = '\0';
    }
    if (getrandom(&g_id_prefix, sizeof g_id_prefix, 0) != sizeof g_id_prefix)
        g_id_prefix = (uint32_t)getpid();

    /* Signals are taken by sigwait below; block them before MHD starts its threads so they
     * inherit the mask. SIGPIPE is ignored: a client hanging up must not kill the server. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, so every message goes through it */
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
        /* Request line + headers: room for a /render?data=<map> URL of about 100 KB. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!d) {
        awm_error_set(err, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
                      errno ? strerror(errno) : "libmicrohttpd refused the configuration");
        api_pool_destroy(srv->pool);
        storage_free(srv->storage);
        pthread_mutex_destroy(&srv->render_lock);
        pthread_cond_destroy(&srv->render_freed);
        free(srv);
        return false;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? (int)info->port : cfg->port;
    awm_log(AWM_LOG_INFO, "SERVER_LISTENING", "{s:s, s:i, s:i, s:s, s:b, s:b}", "host", cfg->host, "port",
            port, "migrationsApplied", applied, "storage", storage_desc, "workerAuth",
            cfg->worker_api_key != NULL, "renderer", srv->render_ready);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    awm_log(AWM_LOG_INFO, "SERVER_STOPPING", "{s:s, s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            "inFlight", __atomic_load_n(&g_in_flight, __ATOMIC_RELAXED));
    /* Stop accepting, then give the requests in flight time to finish before closing. */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double deadline = awm_now_seconds() + cfg->shutdown_grace_s;
    while (__atomic_load_n(&g_in_flight, __ATOMIC_RELAXED) > 0 && awm_now_seconds() < deadline)
        usleep(20000);
    MHD_stop_daemon(d);
    /* Renders still running write into closed pipes and stop at their next band. */
    for (;;) {
        pthread_mutex_lock(&srv->render_lock);
        int running = srv->renders_running;
        pthread_mutex_unlock(&srv->render_lock);
        if (running == 0)
            break;
        usleep(20000);
    }
    api_pool_destroy(srv->pool);
    storage_free(srv->storage);
    pthread_mutex_destroy(&srv->render_lock);
    pthread_cond_destroy(&srv->render_freed);
    free(srv);
    awm_log(AWM_LOG_INFO, "SERVER_STOPPED", NULL);
    return true;
}
