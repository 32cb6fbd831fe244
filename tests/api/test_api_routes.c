/* test_api_routes.c — a real `awm serve` (argv[1]) on loopback with a private PostgreSQL:
 * the seed's curl sequence (POST /api/maps, POST /api/export 18×24 → 202 + queue job), map
 * listing, export validation (sizes, themes, fields), GET /api/export, the error contract
 * (malformed JSON, wrong types, depth, 413 by Content-Length and chunked, 415, 405 + Allow,
 * unknown routes), /exports/{file} with traversal attempts, /render, /metrics, /,
 * X-Request-Id, and the configuration errors of `awm serve`. */
#include <pthread.h>

#include "api_fixture.h"

#define SEED_MAP                                                                                   \
    "{\"title\":\"Docker Worker Test\",\"subtitle\":\"2025\",\"projection\":\"orthographic\","     \
    "\"people\":[{\"id\":\"ana\",\"name\":\"Ana\",\"locations\":[{\"longitude\":-74.006,"         \
    "\"latitude\":40.7128,\"date\":\"2010-01-01\",\"name\":\"New York\"},{\"longitude\":-0.1276," \
    "\"latitude\":51.5074,\"date\":\"2015-06-15\"}]}]}"

static char *create_map(const char *body)
{
    fx_response r = fx_http("POST", "/api/maps", body);
    CHECK_INT_EQ(r.status, 201);
    const char *id = json_string_value(json_object_get(json_object_get(r.json, "userMap"), "id"));
    char *out = id ? awm_strdup(id) : awm_strdup("");
    fx_response_free(&r);
    return out;
}

static void seed_curl_sequence_queues_an_export(void)
{
    fx_response m = fx_http("POST", "/api/maps", SEED_MAP);
    CHECK_INT_EQ(m.status, 201);
    json_t *um = json_object_get(m.json, "userMap");
    const char *map_id = json_string_value(json_object_get(um, "id"));
    CHECK(map_id && strlen(map_id) == 36);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(um, "data"), "title")), "Docker Worker Test");
    CHECK(json_object_get(um, "created_at") && json_object_get(um, "updated_at"));
    char body[512];
    snprintf(body, sizeof body,
             "{\"userMapId\":\"%s\",\"widthInches\":18,\"heightInches\":24,\"paperSizeName\":\"18×24\"}", map_id);
    fx_response e = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(e.status, 202);
    CHECK_STR_EQ(fx_str(&e, "message"), "Export job queued");
    const char *job_id = fx_str(&e, "printJobId");
    CHECK(job_id && strlen(job_id) == 36);
    json_t *pm = json_object_get(e.json, "printableMap");
    CHECK_STR_EQ(json_string_value(json_object_get(pm, "user_map_id")), map_id);
    CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(pm, "data"), "widthInches")), 18);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(pm, "data"), "paperSizeName")), "18×24");

    /* The queue job exists with the data the worker needs. */
    char *qdata = fx_sql_text("SELECT data::text FROM queue.job WHERE name = 'export-map' AND "
                              "data->>'printJobId' = $1 AND state = 'created'",
                              job_id);
    CHECK_MSG(qdata != NULL, "no queue job for print job %s", job_id);
    json_t *q = qdata ? json_loads(qdata, 0, NULL) : NULL;
    CHECK_STR_EQ(json_string_value(json_object_get(q, "printJobId")), job_id);
    CHECK_STR_EQ(json_string_value(json_object_get(q, "userMapId")), map_id);
    CHECK_STR_EQ(json_string_value(json_object_get(q, "printableMapId")),
                 json_string_value(json_object_get(pm, "id")));
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(q, "userMap"), "title")), "Docker Worker Test");
    CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(q, "printableMap"), "heightInches")), 24);
    json_decref(q);
    free(qdata);

    /* The print job is pending with one `created` event. */
    char path[128];
    snprintf(path, sizeof path, "/api/jobs/%s", job_id);
    fx_response j = fx_http("GET", path, NULL);
    CHECK_INT_EQ(j.status, 200);
    CHECK_STR_EQ(fx_str(&j, "state"), "pending_export");
    json_t *events = json_object_get(j.json, "events");
    CHECK_INT_EQ(json_array_size(events), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(events, 0), "event_type")), "created");
    CHECK(json_object_get(j.json, "downloadUrl") == NULL);
    fx_response_free(&j);

    /* GET /api/maps/{id} returns it. */
    snprintf(path, sizeof path, "/api/maps/%s", map_id);
    fx_response g = fx_http("GET", path, NULL);
    CHECK_INT_EQ(g.status, 200);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(g.json, "userMap"), "id")), map_id);
    fx_response_free(&g);
    fx_response_free(&e);
    fx_response_free(&m);
}

static void maps_list_newest_first_with_limit_and_offset(void)
{
    char *a = create_map(SEED_MAP), *b = create_map(SEED_MAP), *c = create_map(SEED_MAP);
    fx_response r = fx_http_bearer("GET", "/api/maps?limit=2", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    json_t *list = json_object_get(r.json, "userMaps");
    CHECK_INT_EQ(json_array_size(list), 2);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(list, 0), "id")), c);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(list, 1), "id")), b);
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/api/maps?limit=1&offset=2", FX_ADMIN_KEY, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(json_object_get(r.json, "userMaps"), 0), "id")), a);
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/api/maps", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(json_array_size(json_object_get(r.json, "userMaps")) >= 3);
    CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "limit")), 50);
    fx_response_free(&r);
    const char *bad[] = {"/api/maps?limit=0", "/api/maps?limit=501", "/api/maps?limit=x", "/api/maps?offset=-1"};
    for (size_t i = 0; i < 4; i++) {
        r = fx_http_bearer("GET", bad[i], FX_ADMIN_KEY, NULL);
        CHECK_MSG(r.status == 400, "%s -> %ld", bad[i], r.status);
        fx_response_free(&r);
    }
    free(a);
    free(b);
    free(c);
}

static void unknown_and_malformed_ids_are_404(void)
{
    const char *paths[] = {"/api/maps/00000000-0000-4000-8000-000000000000", "/api/maps/not-a-uuid",
                           "/api/jobs/00000000-0000-4000-8000-000000000000", "/api/jobs/xyz"};
    for (size_t i = 0; i < 4; i++) {
        fx_response r = fx_http("GET", paths[i], NULL);
        CHECK_MSG(r.status == 404, "%s -> %ld", paths[i], r.status);
        CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "not found"));
        fx_response_free(&r);
    }
}

static void invalid_maps_list_every_violation(void)
{
    fx_response r = fx_http("POST", "/api/maps", "{\"title\":5,\"people\":[{\"id\":\"a\",\"name\":\"A\","
                                                 "\"locations\":[{\"longitude\":0,\"latitude\":95}]}]}");
    CHECK_INT_EQ(r.status, 400);
    json_t *details = json_object_get(r.json, "details");
    CHECK(json_array_size(details) >= 2);
    char *all = json_dumps(details, 0);
    CHECK_MSG(all && strstr(all, "title") && strstr(all, "latitude"), "details: %s", all ? all : "");
    free(all);
    fx_response_free(&r);

    r = fx_http("POST", "/api/maps", "{\"title\": \"x\",");
    CHECK_INT_EQ(r.status, 400);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "malformed JSON"));
    fx_response_free(&r);

    r = fx_http("POST", "/api/maps", "[1,2]");
    CHECK_INT_EQ(r.status, 400);
    CHECK_STR_EQ(fx_str(&r, "error"), "request body must be a JSON object");
    fx_response_free(&r);

    awm_buf deep = {0};
    awm_buf_printf(&deep, "{\"title\":");
    for (int i = 0; i < 200; i++)
        awm_buf_append(&deep, "[", 1);
    for (int i = 0; i < 200; i++)
        awm_buf_append(&deep, "]", 1);
    awm_buf_append(&deep, "}", 1);
    r = fx_http("POST", "/api/maps", deep.data);
    CHECK_INT_EQ(r.status, 400);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "nested deeper"));
    fx_response_free(&r);
    awm_buf_free(&deep);
}

static void body_limits_and_content_types(void)
{
    /* MAX_BODY_BYTES=65536 in the fixture. */
    size_t big = 200000;
    char *body = awm_xmalloc(big + 1);
    memset(body, ' ', big);
    body[0] = '{';
    body[big - 1] = '}';
    body[big] = '\0';
    static const char *const json_h[] = {"Content-Type: application/json", NULL};
    fx_response r = fx_http_ex("POST", "/api/maps", json_h, body, big, false);
    CHECK_INT_EQ(r.status, 413);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "larger than 65536"));
    fx_response_free(&r);
    /* Chunked (no Content-Length): a little over the limit still gets its 413… */
    r = fx_http_ex("POST", "/api/maps", json_h, body, 100000, true);
    CHECK_INT_EQ(r.status, 413);
    fx_response_free(&r);
    free(body);
    /* …a sender that keeps going is cut off, and the server carries on. */
    size_t huge = 8 << 20;
    body = awm_xcalloc(1, huge + 1);
    memset(body, ' ', huge);
    r = fx_http_ex("POST", "/api/maps", json_h, body, huge, true);
    CHECK_MSG(r.status == 413 || r.status == -1, "status %ld", r.status);
    fx_response_free(&r);
    free(body);
    r = fx_http("GET", "/api/health", NULL);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);

    static const char *const text_h[] = {"Content-Type: text/plain", NULL};
    r = fx_http_ex("POST", "/api/maps", text_h, SEED_MAP, strlen(SEED_MAP), false);
    CHECK_INT_EQ(r.status, 415);
    CHECK_STR_EQ(fx_str(&r, "error"), "Content-Type must be application/json");
    fx_response_free(&r);
    r = fx_http_ex("POST", "/api/export", NULL, "{}", 2, false); /* curl's default form type */
    CHECK_INT_EQ(r.status, 415);
    fx_response_free(&r);
    static const char *const charset_h[] = {"Content-Type: application/json; charset=utf-8", NULL};
    r = fx_http_ex("POST", "/api/maps", charset_h, SEED_MAP, strlen(SEED_MAP), false);
    CHECK_INT_EQ(r.status, 201);
    fx_response_free(&r);
}

static void methods_and_routes(void)
{
    char allow[128];
    fx_response r = fx_http("PUT", "/api/maps", NULL);
    CHECK_INT_EQ(r.status, 405);
    CHECK_STR_EQ(fx_header(&r, "Allow", allow, sizeof allow), "GET, HEAD, POST");
    fx_response_free(&r);
    r = fx_http("GET", "/api/jobs/00000000-0000-4000-8000-000000000000/start", NULL);
    CHECK_INT_EQ(r.status, 405);
    CHECK_STR_EQ(fx_header(&r, "Allow", allow, sizeof allow), "POST");
    fx_response_free(&r);
    r = fx_http("POST", "/api/health", "{}");
    CHECK_INT_EQ(r.status, 405);
    fx_response_free(&r);
    r = fx_http("GET", "/api/nothing-here", NULL);
    CHECK_INT_EQ(r.status, 404);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "no route"));
    fx_response_free(&r);
    r = fx_http("GET", "/nothing-here.html", NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    /* Every answer carries a request id. */
    char id[64];
    r = fx_http("GET", "/", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(strstr(r.body, "/api/health") && strstr(r.body, "/api/export"));
    CHECK_INT_EQ(strlen(fx_header(&r, "X-Request-Id", id, sizeof id)), 16);
    fx_response_free(&r);
}

static void export_validation(void)
{
    char *map_id = create_map(SEED_MAP);
    char body[1024];
    /* Unknown size: 400 listing the sizes. */
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":17,\"heightInches\":23}", map_id);
    fx_response r = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(r.status, 400);
    CHECK_INT_EQ(json_array_size(json_object_get(r.json, "sizes")), 16);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "no print size matches 17 × 23 inches"));
    fx_response_free(&r);
    /* Unknown theme and bad projection override, listed together. */
    snprintf(body, sizeof body,
             "{\"userMapId\":\"%s\",\"widthInches\":24,\"heightInches\":18,\"theme\":\"neon\","
             "\"projection\":\"flat\"}",
             map_id);
    r = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(r.status, 400);
    char *details = json_dumps(json_object_get(r.json, "details"), 0);
    CHECK_MSG(details && strstr(details, "theme") && strstr(details, "neon") && strstr(details, "projection"),
              "details: %s", details ? details : "");
    free(details);
    fx_response_free(&r);
    /* Missing and wrong fields, all listed. */
    r = fx_http("POST", "/api/export", "{\"userMapId\":5,\"heightInches\":\"x\",\"format\":\"gif\",\"dpi\":3}");
    CHECK_INT_EQ(r.status, 400);
    details = json_dumps(json_object_get(r.json, "details"), 0);
    CHECK_MSG(details && strstr(details, "userMapId: must be a uuid") && strstr(details, "widthInches: required") &&
                  strstr(details, "heightInches: must be") && strstr(details, "format:") &&
                  strstr(details, "dpi: unknown field"),
              "details: %s", details ? details : "");
    free(details);
    fx_response_free(&r);
    /* Unknown map: 404. */
    r = fx_http("POST", "/api/export",
                "{\"userMapId\":\"00000000-0000-4000-8000-000000000000\",\"widthInches\":18,\"heightInches\":24}");
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    /* A4 by inches with overrides is accepted and stored with them. */
    snprintf(body, sizeof body,
             "{\"userMapId\":\"%s\",\"widthInches\":8.27,\"heightInches\":11.69,\"paperSizeName\":\"A4\","
             "\"theme\":\"cool-blue\",\"projection\":\"robinson\",\"zoom\":1.5,\"format\":\"pdf\"}",
             map_id);
    r = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(r.status, 202);
    json_t *data = json_object_get(json_object_get(r.json, "printableMap"), "data");
    CHECK_STR_EQ(json_string_value(json_object_get(data, "theme")), "cool-blue");
    CHECK_NEAR(json_number_value(json_object_get(data, "widthInches")), 8.27, 1e-12);
    fx_response_free(&r);
    free(map_id);

    r = fx_http("GET", "/api/export", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_INT_EQ(json_array_size(json_object_get(r.json, "sizes")), 16);
    CHECK_INT_EQ(json_array_size(json_object_get(r.json, "themes")), 4);
    CHECK(json_array_size(json_object_get(r.json, "projections")) >= 5);
    CHECK(json_object_get(json_object_get(r.json, "body"), "widthInches") != NULL);
    fx_response_free(&r);
}

static void export_files_are_served_without_traversal(void)
{
    const char *name = "2026-01-02T03-04-05_0b5c8f0e-1234-4abc-8def-0123456789ab.png";
    char path[600];
    snprintf(path, sizeof path, "%s/%s", fx_export_dir, name);
    FILE *f = fopen(path, "wb");
    fwrite("\x89PNG\r\n\x1a\nfake", 1, 12, f);
    fclose(f);
    char url[300], ct[128];
    snprintf(url, sizeof url, "/exports/%s", name);
    fx_response r = fx_http("GET", url, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_INT_EQ(r.len, 12);
    CHECK(r.body && !memcmp(r.body, "\x89PNG", 4));
    CHECK_STR_EQ(fx_header(&r, "Content-Type", ct, sizeof ct), "image/png");
    fx_response_free(&r);
    r = fx_http("GET", "/exports/2026-01-02T03-04-05_0b5c8f0e-1234-4abc-8def-0123456789ac.png", NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    /* A secret next to the export directory must never be reachable. */
    const char *attacks[] = {
        "/exports/../../etc/passwd",
        "/exports/..%2f..%2fetc%2fpasswd",
        "/exports/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/exports/%2E%2E/serve.log",
        "/exports/..%2fserve.log",
        "/exports/../serve.log",
        "/exports/%2fetc%2fpasswd",
        "/exports/2026-01-02T03-04-05_0b5c8f0e-1234-4abc-8def-0123456789ab.png%00.txt",
        "/exports/2026-01-02T03-04-05_0b5c8f0e-1234-4abc-8def-0123456789ab.png/..",
        "/exports/",
    };
    for (size_t i = 0; i < sizeof attacks / sizeof *attacks; i++) {
        r = fx_http("GET", attacks[i], NULL);
        CHECK_MSG(r.status == 400, "%s -> %ld", attacks[i], r.status);
        CHECK_MSG(!strstr(r.body, "root:") && !strstr(r.body, "SERVER_LISTENING"), "%s leaked a file", attacks[i]);
        fx_response_free(&r);
    }
}

typedef struct {
    const char *url;
    long status;
    size_t len;
} render_call;

static void *render_in_thread(void *p)
{
    render_call *c = p;
    fx_response r = fx_http("GET", c->url, NULL);
    c->status = r.status;
    c->len = r.len;
    fx_response_free(&r);
    return NULL;
}

static void render_endpoint(void)
{
    /* base64url of the seed map */
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *s = (const unsigned char *)SEED_MAP;
    size_t n = strlen(SEED_MAP);
    awm_buf b = {0};
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        char out[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], tbl[v >> 6 & 63], tbl[v & 63]};
        awm_buf_append(&b, out, i + 2 < n ? 4 : i + 1 < n ? 3 : 2);
    }
    awm_buf url = {0};
    awm_buf_printf(&url, "/render?size=8x10&dpi=12&format=png&data=%s", b.data);
    fx_response r = fx_http("GET", url.data, NULL);
    char ct[64];
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_header(&r, "Content-Type", ct, sizeof ct), "image/png");
    CHECK(r.len > 100 && !memcmp(r.body, "\x89PNG\r\n\x1a\n", 8));
    fx_response_free(&r);
    /* Three at once with one render slot (RENDER_CONCURRENCY=1): they wait their turn. */
    render_call calls[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        calls[i] = (render_call){url.data, 0, 0};
        pthread_create(&th[i], NULL, render_in_thread, &calls[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT_EQ(calls[i].status, 200);
        CHECK(calls[i].len > 100);
    }
    awm_buf_free(&url);

    char *map_id = create_map(SEED_MAP);
    awm_buf_printf(&url, "/render?size=8x10&format=svg&mapId=%s", map_id);
    r = fx_http("GET", url.data, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_header(&r, "Content-Type", ct, sizeof ct), "image/svg+xml");
    CHECK(r.body && strstr(r.body, "<svg"));
    fx_response_free(&r);
    awm_buf_free(&url);
    free(map_id);

    const char *bad[] = {"/render?size=8x10", "/render?size=9x9&mapId=00000000-0000-4000-8000-000000000000",
                         "/render?dpi=301&data=e30", "/render?format=gif&data=e30", "/render?data=e30"};
    for (size_t i = 0; i < 5; i++) {
        r = fx_http_bearer("GET", bad[i], FX_ADMIN_KEY, NULL);
        CHECK_MSG(r.status == 400, "%s -> %ld", bad[i], r.status);
        fx_response_free(&r);
    }
    r = fx_http("GET", "/render?mapId=00000000-0000-4000-8000-000000000000", NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    awm_buf_free(&b);
}

static void health_and_metrics(void)
{
    fx_response r = fx_http("GET", "/api/health", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_str(&r, "status"), "ok");
    CHECK_STR_EQ(fx_str(&r, "database"), "ok");
    CHECK(fx_str(&r, "version") != NULL);
    CHECK(json_is_number(json_object_get(r.json, "uptime")));
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/metrics", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(strstr(r.body, "awm_http_requests_total{route=\"/api/maps\",status=\"201\"}"));
    CHECK(strstr(r.body, "awm_http_requests_total{route=\"/api/export\",status=\"400\"}"));
    CHECK(strstr(r.body, "awm_http_request_duration_seconds_bucket{route=\"/api/maps\",le=\"+Inf\"}"));
    CHECK(strstr(r.body, "awm_db_pool_size 4"));
    CHECK(strstr(r.body, "awm_print_jobs{state=\"pending_export\"}"));
    CHECK(strstr(r.body, "awm_queue_jobs{queue=\"export-map\",state=\"created\"}"));
    fx_response_free(&r);
}

/* A real fault (here: a table gone) is a 500 whose body and X-Request-Id name the request,
 * and the log has the error under the same id. */
static void faults_are_500_with_a_request_id(void)
{
    char *ok = fx_sql_text("ALTER TABLE user_maps RENAME TO user_maps_away", NULL);
    free(ok);
    fx_response r = fx_http("GET", "/api/maps/00000000-0000-4000-8000-000000000001", NULL);
    CHECK_INT_EQ(r.status, 500);
    char id[64];
    fx_header(&r, "X-Request-Id", id, sizeof id);
    CHECK_INT_EQ(strlen(id), 16);
    CHECK_STR_EQ(fx_str(&r, "requestId"), id);
    CHECK_STR_EQ(fx_str(&r, "error"), "internal server error");
    fx_response_free(&r);
    ok = fx_sql_text("ALTER TABLE user_maps_away RENAME TO user_maps", NULL);
    free(ok);
    r = fx_http_bearer("GET", "/api/maps?limit=1", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
    char *log = NULL;
    size_t len;
    awm_read_file(fx_log_path, &log, &len, NULL);
    char want[64];
    snprintf(want, sizeof want, "\"requestId\":\"%s\"", id);
    const char *line = log ? strstr(log, "\"REQUEST_FAILED\"") : NULL;
    CHECK_MSG(line && strstr(line, want) && strstr(line, "user_maps"), "no REQUEST_FAILED line for %s", id);
    free(log);
}

static void configuration_errors_exit_2(void)
{
    char *out = NULL;
    setenv("PORT", "notaport", 1);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"serve", NULL}, &out), 2);
    CHECK_MSG(out && strstr(out, "PORT=notaport"), "%s", out ? out : "");
    free(out);
    char port[16];
    snprintf(port, sizeof port, "%d", fx_port);
    setenv("PORT", port, 1);
    setenv("STORAGE", "ftp", 1);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"serve", NULL}, &out), 2);
    CHECK_MSG(out && strstr(out, "STORAGE") && strstr(out, "ftp"), "%s", out ? out : "");
    free(out);
    unsetenv("STORAGE");
    setenv("HOST", "no-such-host.invalid", 1);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"serve", NULL}, &out), 2);
    CHECK_MSG(out && strstr(out, "HOST=no-such-host.invalid"), "%s", out ? out : "");
    free(out);
    setenv("HOST", "127.0.0.1", 1);
    setenv("MAX_BODY_BYTES", "0", 1);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"serve", NULL}, &out), 2);
    CHECK_MSG(out && strstr(out, "MAX_BODY_BYTES=0"), "%s", out ? out : "");
    free(out);
    setenv("MAX_BODY_BYTES", "65536", 1);
    char *saved = awm_strdup(getenv("DATABASE_URL"));
    unsetenv("DATABASE_URL");
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"serve", NULL}, &out), 2);
    CHECK(out && strstr(out, "DATABASE_URL is not set"));
    free(out);
    setenv("DATABASE_URL", saved, 1);
    free(saved);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A second server with S3 storage: downloads redirect to a presigned URL; a server listening
 * beyond loopback without WORKER_API_KEY warns at start-up; an installed web page (assets
 * dir with web/) is served as static files, hidden files and traversal excepted. */
static void s3_downloads_redirect_and_open_worker_routes_warn(void)
{
    char log_path[400], assets[400], p[600];
    snprintf(log_path, sizeof log_path, "%s/serve-s3.log", fx_dir);
    snprintf(assets, sizeof assets, "%s/assets-root", fx_dir);
    snprintf(p, sizeof p, "%s/web/js", assets);
    awm_mkdir_p(p, NULL);
    const char *src = awm_env_str("AWM_SOURCE_ROOT", ".");
    char target[600];
    snprintf(target, sizeof target, "%s/db", src);
    snprintf(p, sizeof p, "%s/db", assets);
    CHECK(symlink(target, p) == 0);
    snprintf(target, sizeof target, "%s/assets", src);
    snprintf(p, sizeof p, "%s/assets", assets);
    CHECK(symlink(target, p) == 0);
    snprintf(p, sizeof p, "%s/web/index.html", assets);
    write_text(p, "<!doctype html><title>the AWM web page</title>");
    snprintf(p, sizeof p, "%s/web/js/app.js", assets);
    write_text(p, "console.log('awm');");
    snprintf(p, sizeof p, "%s/web/.env", assets);
    write_text(p, "SECRET=1");
    char *saved_assets = awm_strdup(awm_env_str("AWM_ASSETS_DIR", ""));
    setenv("AWM_ASSETS_DIR", assets, 1);
    setenv("STORAGE", "s3", 1);
    setenv("S3_BUCKET", "posters", 1);
    setenv("S3_REGION", "eu-west-1", 1);
    setenv("S3_ENDPOINT", "http://127.0.0.1:9", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret-example-key", 1);
    setenv("HOST", "0.0.0.0", 1);
    unsetenv("WORKER_API_KEY");
    int port = fx_free_port();
    pid_t pid = fx_spawn_serve(port, log_path);
    CHECK(pid > 0);
    int saved_port = fx_port;
    fx_port = port;
    fx_response r = fx_http("GET", "/exports/2026-01-02T03-04-05_0b5c8f0e-1234-4abc-8def-0123456789ab.png", NULL);
    CHECK_INT_EQ(r.status, 302);
    char loc[2048];
    fx_header(&r, "Location", loc, sizeof loc);
    CHECK_MSG(strstr(loc, "http://127.0.0.1:9/posters/2026-01-02T03-04-05_0b5c8f0e-1234-4abc-8def-0123456789ab.png?") &&
                  strstr(loc, "X-Amz-Signature=") && strstr(loc, "X-Amz-Expires=900"),
              "Location: %s", loc);
    fx_response_free(&r);
    r = fx_http("GET", "/exports/..%2f..%2fsecret.png", NULL);
    CHECK_INT_EQ(r.status, 400);
    fx_response_free(&r);

    char ct[128];
    r = fx_http("GET", "/", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(r.body && strstr(r.body, "the AWM web page"));
    CHECK_STR_EQ(fx_header(&r, "Content-Type", ct, sizeof ct), "text/html; charset=utf-8");
    fx_response_free(&r);
    r = fx_http("GET", "/js/app.js", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_header(&r, "Content-Type", ct, sizeof ct), "text/javascript; charset=utf-8");
    fx_response_free(&r);
    const char *hidden[] = {"/.env", "/js/../.env", "/../db/migrations/0001_queue.sql", "/%2e%2e/db/migrations/0001_queue.sql",
                            "/js//app.js"};
    for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++) {
        r = fx_http("GET", hidden[i], NULL);
        CHECK_MSG(r.status == 404, "%s -> %ld", hidden[i], r.status);
        CHECK(!strstr(r.body, "SECRET") && !strstr(r.body, "CREATE"));
        fx_response_free(&r);
    }
    fx_port = saved_port;
    if (pid > 0) {
        kill(pid, SIGTERM);
        tk_wait(pid, 0);
    }
    char *log = NULL;
    size_t len;
    awm_read_file(log_path, &log, &len, NULL);
    CHECK(log && strstr(log, "WORKER_API_KEY_UNSET"));
    CHECK_MSG(log && !strstr(log, "secret-example-key"), "the S3 secret appears in the log");
    free(log);
    unsetenv("STORAGE");
    setenv("AWM_ASSETS_DIR", saved_assets, 1);
    free(saved_assets);
    setenv("HOST", "127.0.0.1", 1);
    setenv("WORKER_API_KEY", FX_KEY, 1);
}

int main(int argc, char **argv)
{
    fx_start(argc, argv);
    RUN(seed_curl_sequence_queues_an_export);
    RUN(maps_list_newest_first_with_limit_and_offset);
    RUN(unknown_and_malformed_ids_are_404);
    RUN(invalid_maps_list_every_violation);
    RUN(body_limits_and_content_types);
    RUN(methods_and_routes);
    RUN(export_validation);
    RUN(export_files_are_served_without_traversal);
    RUN(render_endpoint);
    RUN(health_and_metrics);
    RUN(faults_are_500_with_a_request_id);
    RUN(configuration_errors_exit_2);
    RUN(s3_downloads_redirect_and_open_worker_routes_warn);
    RUN(fx_check_clean_shutdown);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
