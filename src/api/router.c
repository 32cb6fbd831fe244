/* router.c — which handler answers a request: the route table (paths, their one parameter,
 * the methods each accepts) and the dispatch to the route_*.c handlers. Handlers read the
 * request and answer through the response layer (request.c); none touches libmicrohttpd's
 * connection. */
#include "api/api_internal.h"

#include <string.h>

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
api_route api_route_of(const char *path, const char **param, size_t *param_len)
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
    case ROUTE_MAP: return "GET, HEAD, PUT, DELETE";
    case ROUTE_JOB_START:
    case ROUTE_JOB_COMPLETE:
    case ROUTE_JOB_FAIL: return "POST";
    default: return "GET, HEAD";
    }
}

static bool is_get(const char *m) { return !strcmp(m, "GET") || !strcmp(m, "HEAD"); }

/* Whether `allow` (", "-separated tokens) lists the method; HEAD goes with GET. */
static bool method_allowed(const char *allow, const char *method)
{
    const char *m = !strcmp(method, "HEAD") ? "GET" : method;
    size_t n = strlen(m);
    for (const char *p = allow; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, m, n))
            return true;
        p += len;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return false;
}

/* The per-client rate of the expensive routes (false: answered 429). */
static bool within_rate(api_request *r, api_route route, bool get)
{
    switch (route) {
    case ROUTE_MAPS: return get || api_rate_check(r, API_LIMIT_MAP_WRITES);
    case ROUTE_MAP: return get || api_rate_check(r, API_LIMIT_MAP_WRITES);
    case ROUTE_EXPORT: return get || api_rate_check(r, API_LIMIT_EXPORTS);
    case ROUTE_RENDER: return api_rate_check(r, API_LIMIT_RENDERS);
    case ROUTE_PLACES: return api_rate_check(r, API_LIMIT_PLACES);
    default: return true;
    }
}

void api_route_request(api_request *r)
{
    const char *param;
    size_t param_len;
    api_route route = api_route_of(r->url, &param, &param_len);
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
    if (!method_allowed(allow, r->method)) {
        /* The method is the client's (any token, any length): cut short; the error layer makes
         * it valid UTF-8. (Formatting it raw once read past a 256-byte buffer: fuzz_api.) */
        api_response_header(r, "Allow", allow);
        api_respond_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, NULL, "method %.40s not allowed on %s (allowed: %s)",
                          r->method, api_route_label(route), allow);
        return;
    }
    if (!within_rate(r, route, get))
        return;
    switch (route) {
    case ROUTE_INDEX: api_handle_index(r); break;
    case ROUTE_MAPS: post ? api_handle_maps_create(r) : api_handle_maps_list(r); break;
    case ROUTE_MAP:
        if (get)
            api_handle_map_get(r, id);
        else if (!strcmp(r->method, "PUT"))
            api_handle_map_update(r, id);
        else
            api_handle_map_delete(r, id);
        break;
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
