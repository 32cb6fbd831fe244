/* test_api_jobs.c — print jobs through a real `awm serve` (argv[1]) and a private PostgreSQL:
 * every transition of the state machine and its idempotent repeats, events oldest first,
 * downloadUrl and the download's name (Content-Disposition: title and size), 409s naming the state, two racing starts → one transition and one event,
 * worker auth (401 without or with a wrong key), `awm jobs status` and `awm jobs requeue`,
 * the database going away (503 from health and data routes) and coming back, and SIGTERM:
 * no new connections, the request in flight still answered, a clean exit. */
#include <pthread.h>
#include <stdatomic.h>

#include "api_fixture.h"

#define MAP "{\"title\":\"Jobs\",\"people\":[{\"id\":\"a\",\"name\":\"A\",\"locations\":[{\"longitude\":2.35,\"latitude\":48.85}]}]}"

/* A new print job (pending_export) through the API; its id is malloc'd. */
static char *new_job(void)
{
    fx_response m = fx_http("POST", "/api/maps", MAP);
    CHECK_INT_EQ(m.status, 201);
    fx_response e = fx_export(json_string_value(json_object_get(json_object_get(m.json, "userMap"), "id")),
                              "\"widthInches\":8,\"heightInches\":10");
    char *id = awm_strdup(fx_str(&e, "printJobId") ? fx_str(&e, "printJobId") : "");
    fx_response_free(&m);
    fx_response_free(&e);
    return id;
}

static json_t *job_of(const fx_response *r) { return json_object_get(r->json, "job"); }
static const char *job_state(const fx_response *r)
{
    return json_string_value(json_object_get(job_of(r), "state"));
}
static bool changed(const fx_response *r) { return json_is_true(json_object_get(r->json, "changed")); }

/* The job's events, oldest first, are `want` (their types joined with ','). */
static void check_event_types(const char *id, const char *want)
{
    char path[128];
    snprintf(path, sizeof path, "/api/jobs/%s", id);
    fx_response r = fx_http("GET", path, NULL);
    awm_buf got = {0};
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(r.json, "events"), i, e)
        awm_buf_printf(&got, "%s%s", i ? "," : "", json_string_value(json_object_get(e, "event_type")));
    CHECK_MSG(got.data && !strcmp(got.data, want), "job %s: events %s, want %s", id, got.data ? got.data : "(none)",
              want);
    awm_buf_free(&got);
    fx_response_free(&r);
}

/* A worker call the job's state does not allow: 409, naming that state (when `state` is not
 * NULL). */
static void check_refused(const char *id, const char *action, const char *body, const char *state)
{
    fx_response r = fx_worker(id, action, body);
    CHECK_MSG(r.status == 409, "%s of job %s: status %ld, want 409", action, id, r.status);
    if (state)
        CHECK_STR_EQ(fx_str(&r, "state"), state);
    fx_response_free(&r);
}

static void start_complete_and_their_repeats(void)
{
    char *id = new_job();
    fx_response r = fx_worker(id, "start", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(json_is_true(json_object_get(r.json, "success")));
    CHECK_STR_EQ(job_state(&r), "exporting");
    CHECK(changed(&r));
    CHECK(json_is_string(json_object_get(job_of(&r), "export_started_at")));
    fx_response_free(&r);

    r = fx_worker(id, "start", NULL); /* repeat: unchanged */
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(job_state(&r), "exporting");
    CHECK(!changed(&r));
    fx_response_free(&r);

    char file[256], body[400];
    snprintf(file, sizeof file, "/app/exports/2026-11-28T20-00-00_%s.png", id);
    snprintf(body, sizeof body, "{\"filePath\":\"%s\"}", file);
    r = fx_worker(id, "complete", body);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(job_state(&r), "export_complete");
    CHECK_STR_EQ(json_string_value(json_object_get(job_of(&r), "export_file_path")), file);
    char url[256];
    snprintf(url, sizeof url, "/exports/2026-11-28T20-00-00_%s.png", id);
    CHECK_STR_EQ(json_string_value(json_object_get(job_of(&r), "downloadUrl")), url);
    fx_response_free(&r);

    r = fx_worker(id, "complete", body); /* same file: unchanged */
    CHECK_INT_EQ(r.status, 200);
    CHECK(!changed(&r));
    fx_response_free(&r);

    r = fx_worker(id, "complete", "{\"filePath\":\"/elsewhere/other.png\"}");
    CHECK_INT_EQ(r.status, 409);
    CHECK_STR_EQ(fx_str(&r, "state"), "export_complete");
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "export_complete"));
    fx_response_free(&r);

    r = fx_worker(id, "start", NULL);
    CHECK_INT_EQ(r.status, 409);
    CHECK_STR_EQ(fx_str(&r, "error"), "cannot start a print job in state export_complete");
    fx_response_free(&r);
    check_refused(id, "fail", "{\"error\":\"late\"}", NULL);

    /* GET shows the columns, events oldest first, and downloadUrl. */
    char path[128];
    snprintf(path, sizeof path, "/api/jobs/%s", id);
    r = fx_http("GET", path, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_str(&r, "downloadUrl"), url);
    CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "export_retry_count")), 0);
    CHECK(json_is_string(json_object_get(r.json, "export_completed_at")));
    json_t *events = json_object_get(r.json, "events");
    CHECK_INT_EQ(json_array_size(events), 3);
    json_t *last = json_array_get(events, 2);
    CHECK_STR_EQ(json_string_value(json_object_get(last, "from_state")), "exporting");
    CHECK_STR_EQ(json_string_value(json_object_get(last, "to_state")), "export_complete");
    fx_response_free(&r);
    check_event_types(id, "created,started,completed");
    free(id);
}

static void fail_retry_and_their_repeats(void)
{
    char *id = new_job();
    check_refused(id, "complete", "{\"filePath\":\"x.png\"}", "pending_export"); /* not started */
    check_refused(id, "fail", "{\"error\":\"boom\"}", NULL);

    fx_response r = fx_worker(id, "start", NULL);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
    r = fx_worker(id, "fail", "{\"error\":\"render failed: out of memory\"}");
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(job_state(&r), "export_failed");
    CHECK_INT_EQ(json_integer_value(json_object_get(job_of(&r), "export_retry_count")), 1);
    CHECK_STR_EQ(json_string_value(json_object_get(job_of(&r), "export_error")), "render failed: out of memory");
    fx_response_free(&r);

    r = fx_worker(id, "fail", "{\"error\":\"render failed: out of memory\"}"); /* same: unchanged */
    CHECK_INT_EQ(r.status, 200);
    CHECK(!changed(&r));
    CHECK_INT_EQ(json_integer_value(json_object_get(job_of(&r), "export_retry_count")), 1);
    fx_response_free(&r);

    r = fx_worker(id, "fail", "{\"error\":\"storage unreachable\"}"); /* another error */
    CHECK_INT_EQ(r.status, 200);
    CHECK(changed(&r));
    CHECK_INT_EQ(json_integer_value(json_object_get(job_of(&r), "export_retry_count")), 2);
    CHECK_STR_EQ(json_string_value(json_object_get(job_of(&r), "export_error")), "storage unreachable");
    fx_response_free(&r);

    check_refused(id, "complete", "{\"filePath\":\"x.png\"}", "export_failed"); /* not a transition from failed */

    r = fx_worker(id, "start", NULL); /* a retry */
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(job_state(&r), "exporting");
    CHECK(changed(&r));
    fx_response_free(&r);
    r = fx_worker(id, "fail", "{\"error\":\"storage unreachable\"}"); /* a real failure again */
    CHECK_INT_EQ(r.status, 200);
    CHECK(changed(&r));
    CHECK_INT_EQ(json_integer_value(json_object_get(job_of(&r), "export_retry_count")), 3);
    fx_response_free(&r);
    r = fx_worker(id, "start", NULL);
    fx_response_free(&r);
    r = fx_worker(id, "complete", "{\"filePath\":\"/x/2026-11-28T20-00-00_a.png\",\"metadata\":{\"bytes\":123}}");
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(job_state(&r), "export_complete");
    fx_response_free(&r);

    check_event_types(id, "created,started,failed,failed,retrying,failed,retrying,completed");
    char *meta = fx_sql_text("SELECT metadata->>'bytes' FROM print_job_events WHERE print_job_id = $1 AND "
                             "event_type = 'completed'",
                             id);
    CHECK_STR_EQ(meta, "123");
    free(meta);

    /* Bad bodies and unknown jobs. */
    r = fx_worker(id, "complete", "{}");
    CHECK_INT_EQ(r.status, 400);
    fx_response_free(&r);
    r = fx_worker(id, "fail", "{\"error\":7}");
    CHECK_INT_EQ(r.status, 400);
    fx_response_free(&r);
    r = fx_worker("00000000-0000-4000-8000-000000000000", "start", NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    r = fx_worker("not-a-uuid", "start", NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    free(id);
}

static void worker_routes_need_the_key(void)
{
    char *id = new_job();
    char path[128];
    snprintf(path, sizeof path, "/api/jobs/%s/start", id);
    fx_response r = fx_http_ex("POST", path, NULL, NULL, 0, false);
    CHECK_INT_EQ(r.status, 401);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "key required"));
    fx_response_free(&r);
    static const char *const wrong[] = {"Authorization: Bearer not-the-key", NULL};
    r = fx_http_ex("POST", path, wrong, NULL, 0, false);
    CHECK_INT_EQ(r.status, 401);
    fx_response_free(&r);
    static const char *const prefix[] = {"Authorization: Bearer " FX_KEY "x", NULL};
    r = fx_http_ex("POST", path, prefix, NULL, 0, false);
    CHECK_INT_EQ(r.status, 401);
    fx_response_free(&r);
    /* Nothing changed. */
    snprintf(path, sizeof path, "/api/jobs/%s", id);
    r = fx_http("GET", path, NULL);
    CHECK_STR_EQ(fx_str(&r, "state"), "pending_export");
    fx_response_free(&r);
    free(id);
}

typedef struct {
    const char *id;
    long status;
    bool changed;
} race_arg;

static void *race_start(void *p)
{
    race_arg *a = p;
    fx_response r = fx_worker(a->id, "start", NULL);
    a->status = r.status;
    a->changed = changed(&r);
    fx_response_free(&r);
    return NULL;
}

static void concurrent_starts_apply_once(void)
{
    for (int round = 0; round < 3; round++) {
        char *id = new_job();
        enum { N = 6 };
        pthread_t th[N];
        race_arg args[N];
        for (int i = 0; i < N; i++) {
            args[i] = (race_arg){id, 0, false};
            pthread_create(&th[i], NULL, race_start, &args[i]);
        }
        int changed_count = 0;
        for (int i = 0; i < N; i++) {
            pthread_join(th[i], NULL);
            CHECK_INT_EQ(args[i].status, 200);
            changed_count += args[i].changed;
        }
        CHECK_INT_EQ(changed_count, 1);
        check_event_types(id, "created,started");
        free(id);
    }
}

static void jobs_cli_status_and_requeue(void)
{
    char *id = new_job();
    fx_response r = fx_worker(id, "start", NULL);
    fx_response_free(&r);
    r = fx_worker(id, "fail", "{\"error\":\"disk full\"}");
    fx_response_free(&r);
    char *out = NULL;
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"jobs", "status", id, NULL}, &out), 0);
    CHECK_MSG(out && strstr(out, "state:       export_failed") && strstr(out, "last error:  disk full") &&
                  strstr(out, "started   pending_export -> exporting") && strstr(out, "error: disk full"),
              "%s", out ? out : "");
    free(out);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"jobs", "status", "--json", id, NULL}, &out), 0);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    CHECK_STR_EQ(json_string_value(json_object_get(j, "state")), "export_failed");
    json_decref(j);
    free(out);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"jobs", "status", "00000000-0000-4000-8000-000000000000", NULL},
                            &out),
                 1);
    CHECK(out && strstr(out, "print job not found"));
    free(out);

    /* A pending job whose queue job was lost is requeued; one still queued is left alone. */
    char *lost = new_job(), *queued = new_job();
    PGconn *c = fx_db();
    const char *p[] = {lost};
    PQclear(PQexecParams(c, "DELETE FROM queue.job WHERE data->>'printJobId' = $1", 1, NULL, p, NULL, NULL, 0));
    PQfinish(c);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"jobs", "requeue", "--dry-run", NULL}, &out), 0);
    CHECK_MSG(out && strstr(out, lost) && !strstr(out, queued) && strstr(out, "would requeue 1 print job"), "%s",
              out ? out : "");
    free(out);
    char *count = fx_sql_text("SELECT count(*) FROM queue.job WHERE data->>'printJobId' = $1", lost);
    CHECK_STR_EQ(count, "0");
    free(count);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"jobs", "requeue", NULL}, &out), 0);
    CHECK_MSG(out && strstr(out, lost) && strstr(out, "requeued 1 print job"), "%s", out ? out : "");
    free(out);
    char *data = fx_sql_text("SELECT data::text FROM queue.job WHERE data->>'printJobId' = $1 AND state = 'created'",
                             lost);
    json_t *q = data ? json_loads(data, 0, NULL) : NULL;
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(q, "userMap"), "title")), "Jobs");
    CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(q, "printableMap"), "widthInches")), 8);
    json_decref(q);
    free(data);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"jobs", "requeue", NULL}, &out), 0);
    CHECK(out && strstr(out, "requeued 0 print jobs"));
    free(out);
    free(lost);
    free(queued);
    free(id);
}

static void database_down_then_back(void)
{
    char *id = new_job();
    awm_error err = {{0}};
    CHECK_MSG(pg_harness_stop(fx_pg, &err), "%s", err.msg);
    fx_response r = fx_http("GET", "/api/health", NULL);
    CHECK_INT_EQ(r.status, 503);
    CHECK_STR_EQ(fx_str(&r, "status"), "degraded");
    CHECK_STR_EQ(fx_str(&r, "database"), "unreachable");
    fx_response_free(&r);
    const char *gets[] = {"/api/maps", "/api/jobs/00000000-0000-4000-8000-000000000000"};
    for (int i = 0; i < 2; i++) {
        r = fx_http_bearer("GET", gets[i], FX_ADMIN_KEY, NULL);
        CHECK_MSG(r.status == 503, "%s -> %ld", gets[i], r.status);
        CHECK_STR_EQ(fx_str(&r, "error"), "database unreachable");
        fx_response_free(&r);
    }
    r = fx_http("POST", "/api/maps", MAP);
    CHECK_INT_EQ(r.status, 503);
    fx_response_free(&r);
    r = fx_worker(id, "start", NULL);
    CHECK_INT_EQ(r.status, 503);
    fx_response_free(&r);
    /* Input errors are still 4xx: they need no database. */
    r = fx_http("POST", "/api/maps", "{");
    CHECK_INT_EQ(r.status, 400);
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/metrics", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(strstr(r.body, "awm_http_requests_total{route=\"/api/health\",status=\"503\"}"));
    fx_response_free(&r);

    CHECK_MSG(pg_harness_resume(fx_pg, &err), "%s", err.msg);
    /* The first requests after the restart already work: broken pooled connections are re-opened. */
    r = fx_http("GET", "/api/health", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_str(&r, "database"), "ok");
    fx_response_free(&r);
    for (int i = 0; i < 6; i++) { /* more than the pool's 4 connections */
        r = fx_http_bearer("GET", "/api/maps?limit=1", FX_ADMIN_KEY, NULL);
        CHECK_INT_EQ(r.status, 200);
        fx_response_free(&r);
    }
    r = fx_worker(id, "start", NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(job_state(&r), "exporting");
    fx_response_free(&r);

    /* A restart while connections sit idle in the pool (no request in between). */
    CHECK_MSG(pg_harness_restart(fx_pg, false, &err), "%s", err.msg);
    r = fx_http_bearer("GET", "/api/maps?limit=1", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
    r = fx_worker(id, "complete", "{\"filePath\":\"/x/y.png\"}");
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
    free(id);
}

/* ---- graceful shutdown ---- */

static atomic_bool g_release_body;

typedef struct {
    size_t sent;
    long status;
} slow_upload;

/* Sends the first half of the map, then waits until the test releases the rest. */
static size_t slow_read(char *buf, size_t size, size_t n, void *user)
{
    slow_upload *u = user;
    size_t total = strlen(MAP), half = total / 2;
    if (u->sent == 0) {
        memcpy(buf, MAP, half);
        u->sent = half;
        return half;
    }
    while (!atomic_load(&g_release_body))
        usleep(10000);
    size_t k = total - u->sent;
    if (k > size * n)
        k = size * n;
    memcpy(buf, &MAP[u->sent], k);
    u->sent += k;
    return k;
}

static size_t discard(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    (void)u;
    return s * n;
}

static void *slow_post(void *p)
{
    slow_upload *u = p;
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/maps", fx_port);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
    curl_easy_setopt(c, CURLOPT_READFUNCTION, slow_read);
    curl_easy_setopt(c, CURLOPT_READDATA, u);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &u->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static void sigterm_finishes_the_request_in_flight(void)
{
    slow_upload u = {0, -1};
    pthread_t th;
    pthread_create(&th, NULL, slow_post, &u);
    /* Wait until the server holds the slow request (the metrics request itself is the other one). */
    bool held = false;
    for (int i = 0; i < 1000 && !held; i++) {
        fx_response r = fx_http_bearer("GET", "/metrics", FX_ADMIN_KEY, NULL);
        held = r.body && strstr(r.body, "awm_http_requests_in_flight 2\n");
        fx_response_free(&r);
        if (!held)
            usleep(10000);
    }
    CHECK(held);
    kill(fx_server, SIGTERM);
    /* New connections are refused once the server stops accepting… */
    bool refused = false;
    for (int i = 0; i < 1000 && !refused; i++) {
        fx_response r = fx_http("GET", "/api/health", NULL);
        refused = r.status < 0;
        fx_response_free(&r);
        if (!refused)
            usleep(10000);
    }
    CHECK(refused);
    /* …while the request in flight is still answered. */
    atomic_store(&g_release_body, true);
    pthread_join(th, NULL);
    CHECK_INT_EQ(u.status, 201);
    int code = tk_wait(fx_server, 0);
    fx_server = 0;
    CHECK_INT_EQ(code, 0);
    char *log = NULL;
    size_t len;
    awm_read_file(fx_log_path, &log, &len, NULL);
    CHECK(log && strstr(log, "\"SERVER_STOPPING\"") && strstr(log, "\"SERVER_STOPPED\""));
    CHECK_MSG(log && !strstr(log, "Sanitizer") && !strstr(log, "runtime error"), "%s", log ? log : "");
    free(log);
}

/* A finished poster of a map titled `title` (JSON-escaped), exported at 8x10 with paperSizeName
 * `size` (NULL: none), downloaded: its Content-Disposition into out. */
static void download_disposition_of(const char *title, const char *size, char *out, size_t n)
{
    char map[512], body[400], file[400], path[700];
    snprintf(map, sizeof map, "{\"title\":\"%s\",\"people\":[{\"id\":\"a\",\"name\":\"A\",\"locations\":"
             "[{\"longitude\":2.35,\"latitude\":48.85}]}]}", title);
    fx_response m = fx_http("POST", "/api/maps", map);
    CHECK_INT_EQ(m.status, 201);
    int k = snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":8,\"heightInches\":10",
                     json_string_value(json_object_get(json_object_get(m.json, "userMap"), "id")));
    snprintf(body + k, sizeof body - (size_t)k, size ? ",\"paperSizeName\":\"%s\"}" : "}", size);
    fx_response e = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(e.status, 202);
    const char *id = fx_str(&e, "printJobId") ? fx_str(&e, "printJobId") : "";
    fx_response st = fx_worker(id, "start", NULL);
    CHECK_INT_EQ(st.status, 200);
    fx_response_free(&st);
    snprintf(file, sizeof file, "2026-11-28T20-00-00_%s.png", id);
    snprintf(body, sizeof body, "{\"filePath\":\"/app/exports/%s\"}", file);
    fx_response c = fx_worker(id, "complete", body);
    CHECK_INT_EQ(c.status, 200);
    snprintf(path, sizeof path, "%s/%s", fx_export_dir, file);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
        fclose(f);
    }
    snprintf(path, sizeof path, "/exports/%s", file);
    fx_response d = fx_http("GET", path, NULL);
    CHECK_INT_EQ(d.status, 200);
    fx_header(&d, "Content-Disposition", out, n);
    fx_response_free(&m);
    fx_response_free(&e);
    fx_response_free(&c);
    fx_response_free(&d);
}

/* The download is named after the map and its size, for people (RFC 5987, UTF-8) and for old
 * clients (an ASCII fallback); what a file system refuses never reaches the name. */
static void downloads_are_named_after_title_and_size(void)
{
    char got[600];
    download_disposition_of("The Silva Family", "18x24", got, sizeof got);
    CHECK_STR_EQ(got, "attachment; filename=\"The Silva Family - 18x24.png\"; "
                      "filename*=UTF-8''The%20Silva%20Family%20%E2%80%93%2018x24.png");
    /* slashes, quotes, colons, runs of blanks and trailing dots go; other scripts stay (UTF-8) */
    download_disposition_of("../a/b:\\\"c\\\"   Zürich 東京..", "A4", got, sizeof got);
    CHECK_STR_EQ(got, "attachment; filename=\"a b c Z_rich __ - A4.png\"; "
                      "filename*=UTF-8''a%20b%20c%20Z%C3%BCrich%20%E6%9D%B1%E4%BA%AC%20%E2%80%93%20A4.png");
    /* no paper size name: the inches; a title of nothing usable: "Poster" */
    download_disposition_of("///", NULL, got, sizeof got);
    CHECK_STR_EQ(got, "attachment; filename=\"Poster - 8x10.png\"; filename*=UTF-8''Poster%20%E2%80%93%208x10.png");
}

int main(int argc, char **argv)
{
    fx_start(argc, argv);
    RUN(start_complete_and_their_repeats);
    RUN(fail_retry_and_their_repeats);
    RUN(downloads_are_named_after_title_and_size);
    RUN(worker_routes_need_the_key);
    RUN(concurrent_starts_apply_once);
    RUN(jobs_cli_status_and_requeue);
    RUN(database_down_then_back);
    RUN(sigterm_finishes_the_request_in_flight);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
