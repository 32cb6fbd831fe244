/* request.c — the request/response layer of `awm serve`: a request's life (begin, body,
 * dispatch, finish), its headers, query arguments and JSON body, its database connection,
 * and every way of answering it (JSON, bytes, errors with their extra headers, faults, database
 * failures). libmicrohttpd is reached only through api_io, so the fuzz target drives the same
 * code (fuzz/fuzz_api.c). */
#include "api/api_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/* ---- responses ------------------------------------------------------------------------ */

void api_response_header(api_request *r, const char *name, const char *value)
{
    if (r->header_count == API_MAX_RESPONSE_HEADERS)
        return; /* a handler bug, not a client's doing: the fixed set is documented */
    api_header *h = &r->headers[r->header_count];
    if (snprintf(h->name, sizeof h->name, "%s", name) >= (int)sizeof h->name ||
        snprintf(h->value, sizeof h->value, "%s", value) >= (int)sizeof h->value) {
        /* also a handler bug: a header cut short is never sent */
        awm_log(AWM_LOG_ERROR, "RESPONSE_HEADER_TOO_LONG", "{s:s}", "header", name);
        return;
    }
    r->header_count++;
}

void api_respond_response(api_request *r, unsigned status, struct MHD_Response *resp)
{
    if (r->responded) {
        MHD_destroy_response(resp);
        return;
    }
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    for (size_t i = 0; i < r->header_count; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    r->result = r->io.queue(r->io.ctx, status, resp); /* takes resp */
    r->responded = r->result == MHD_YES;
    if (r->responded)
        r->status = status;
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

void api_respond_error(api_request *r, unsigned status, json_t *extra, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    awm_utf8_sanitize(msg); /* messages echo the request, or were cut mid-character */
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

void api_respond_db_error(api_request *r, const awm_error *err)
{
    if (err && err->code == AWM_EUNAVAILABLE) {
        awm_log(AWM_LOG_WARN, "DATABASE_UNREACHABLE", "{s:s, s:s}", "requestId", r->request_id, "error", err->msg);
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

/* ---- reading the request ------------------------------------------------------------------ */

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

/* ---- a request's life ----------------------------------------------------------------------- */

static _Atomic uint32_t g_id_prefix;
static _Atomic uint32_t g_id_counter;
static atomic_bool g_served_since_trim; /* a request finished since api_idle_after_requests said so */
static _Atomic int g_in_flight; /* requests between their first callback and completion */

void api_requests_init(void)
{
    uint32_t prefix;
    if (getrandom(&prefix, sizeof prefix, 0) != sizeof prefix)
        prefix = (uint32_t)getpid();
    atomic_store(&g_id_prefix, prefix);
}

int api_requests_in_flight(void) { return atomic_load_explicit(&g_in_flight, memory_order_relaxed); }

static void new_request_id(char out[17])
{
    uint32_t n = atomic_fetch_add_explicit(&g_id_counter, 1, memory_order_relaxed) + 1;
    snprintf(out, 17, "%08x%08x", atomic_load_explicit(&g_id_prefix, memory_order_relaxed), n);
}

static void respond_too_large(api_request *r)
{
    size_t ignored_len;
    const char *ignored;
    r->route = api_route_of(r->url, &ignored, &ignored_len);
    long limit = r->srv->cfg.max_body_bytes;
    api_respond_error(r, MHD_HTTP_CONTENT_TOO_LARGE, json_pack("{s:I}", "limit", (json_int_t)limit),
                      "request body larger than %ld bytes", limit);
}

/* How much of an oversized body is read and dropped before answering 413. */
static size_t linger_bound(const api_server *srv)
{
    size_t limit = (size_t)srv->cfg.max_body_bytes;
    return limit * 8 > API_LINGER_MIN_BYTES ? limit * 8 : API_LINGER_MIN_BYTES;
}

api_request *api_request_begin(api_server *srv, const api_io *io, const char *method, const char *url,
                               const char *peer)
{
    api_request *r = awm_xcalloc(1, sizeof *r);
    r->srv = srv;
    r->io = *io;
    snprintf(r->peer, sizeof r->peer, "%s", peer ? peer : "");
    api_client_address(r);
    r->method = method;
    r->url = url;
    r->t0 = awm_now_seconds();
    r->route = ROUTE_UNKNOWN;
    r->result = MHD_YES;
    new_request_id(r->request_id);
    atomic_fetch_add_explicit(&g_in_flight, 1, memory_order_relaxed);
    /* An announced oversized body is not kept. Up to the linger bound it is read and dropped
     * before the 413 goes out, so clients that write their whole body before reading (Python's
     * urllib, Node's fetch) get the answer instead of a reset connection, as nginx's lingering
     * close does; past the bound, answer at once and close. */
    const char *cl = api_request_value(r, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (errno || *end || n > linger_bound(srv)) {
            api_response_header(r, "Connection", "close");
            respond_too_large(r);
        } else if (n > (unsigned long long)srv->cfg.max_body_bytes) {
            r->body_too_large = true;
        }
    }
    return r;
}

bool api_request_body(api_request *r, const char *data, size_t n)
{
    if (r->responded)
        return true;
    long limit = r->srv->cfg.max_body_bytes;
    if (r->body_too_large) {
        /* Read and dropped (see api_request_begin); a sender past the bound is cut off. */
        r->discarded += n;
        return r->discarded <= linger_bound(r->srv);
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
    if (r->body_too_large) {
        api_response_header(r, "Connection", "close");
        respond_too_large(r);
    } else if (api_check_host(r))
        api_route_request(r);
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
    atomic_fetch_sub_explicit(&g_in_flight, 1, memory_order_relaxed);
    atomic_store_explicit(&g_served_since_trim, true, memory_order_relaxed);
}

bool api_idle_after_requests(void)
{
    return atomic_load_explicit(&g_in_flight, memory_order_relaxed) == 0 &&
           atomic_exchange_explicit(&g_served_since_trim, false, memory_order_relaxed);
}
