/* test_api_ownership.c — a family's map is theirs (SYSTEM.md §3 "Who may do what"), over real
 * HTTP against `awm serve` (argv[1]) and a private PostgreSQL: the edit token given once and
 * stored only as a hash; PUT and DELETE with the right token, and nothing changes with a
 * wrong, missing or other map's token; DELETE leaves no row, queue job or poster file behind;
 * the anonymous list is refused and the operator's shows summaries only; a job's public view
 * hides the worker's file path; Host names outside ALLOWED_HOSTS are refused (DNS rebinding);
 * weak keys are refused at start-up; /metrics is the operator's; `awm maps list|delete`. */
#include <errno.h>
#include <sys/stat.h>

#include "api_fixture.h"

#define MAP_A                                                                                      \
    "{\"title\":\"The Silva Family\",\"people\":[{\"id\":\"ana\",\"name\":\"Ana\",\"locations\":[" \
    "{\"longitude\":-46.63,\"latitude\":-23.55,\"name\":\"São Paulo\"},{\"longitude\":8.54,"      \
    "\"latitude\":47.37}]},{\"id\":\"ben\",\"name\":\"Ben\",\"locations\":[{\"longitude\":0,"     \
    "\"latitude\":51.5}]}]}"
#define MAP_B "{\"title\":\"Renamed\",\"people\":[{\"id\":\"ana\",\"name\":\"Ana\",\"locations\":[]}]}"

typedef struct {
    char id[37];
    char token[64];
} made_map;

static made_map make_map(const char *body)
{
    made_map m = {"", ""};
    fx_response r = fx_http("POST", "/api/maps", body);
    CHECK_INT_EQ(r.status, 201);
    const char *id = json_string_value(json_object_get(json_object_get(r.json, "userMap"), "id"));
    const char *token = fx_str(&r, "editToken");
    snprintf(m.id, sizeof m.id, "%s", id ? id : "");
    snprintf(m.token, sizeof m.token, "%s", token ? token : "");
    CHECK(json_is_array(json_object_get(r.json, "warnings")));
    fx_response_free(&r);
    return m;
}

static char *map_title(const char *id)
{
    return fx_sql_text("SELECT data->>'title' FROM user_maps WHERE id = $1", id);
}

static void the_edit_token_is_given_once_and_only_its_hash_is_kept(void)
{
    made_map m = make_map(MAP_A);
    CHECK_INT_EQ(strlen(m.token), 43); /* 256 random bits, base64url */
    CHECK(strspn(m.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 43);
    made_map n = make_map(MAP_A);
    CHECK(strcmp(m.token, n.token) != 0);
    char *stored = fx_sql_text("SELECT edit_token_sha256 FROM user_maps WHERE id = $1", m.id);
    CHECK(stored && strlen(stored) == 64 && !strstr(stored, m.token));
    free(stored);
    char *anywhere = fx_sql_text("SELECT count(*)::text FROM user_maps WHERE data::text LIKE '%' || $1 || '%'",
                                 m.token);
    CHECK_STR_EQ(anywhere, "0");
    free(anywhere);
    /* Viewing needs only the id (it is the map's link); the token is never shown again. */
    char path[128];
    snprintf(path, sizeof path, "/api/maps/%s", m.id);
    fx_response r = fx_http("GET", path, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(!json_object_get(r.json, "editToken") && !strstr(r.body, m.token) && !strstr(r.body, "sha256"));
    fx_response_free(&r);
    /* Never logged. */
    char *log = NULL;
    size_t len;
    awm_read_file(fx_log_path, &log, &len, NULL);
    CHECK(log && !strstr(log, m.token));
    free(log);
}

static void put_replaces_the_map_with_its_token_only(void)
{
    made_map m = make_map(MAP_A), other = make_map(MAP_A);
    char path[128];
    snprintf(path, sizeof path, "/api/maps/%s", m.id);
    char *before = fx_sql_text("SELECT updated_at::text FROM user_maps WHERE id = $1", m.id);
    /* Missing, wrong and another map's token: refused, nothing changes. */
    fx_response r = fx_http_bearer("PUT", path, NULL, MAP_B);
    CHECK_INT_EQ(r.status, 401);
    char h[128];
    CHECK_STR_EQ(fx_header(&r, "WWW-Authenticate", h, sizeof h), "Bearer");
    fx_response_free(&r);
    r = fx_http_bearer("PUT", path, "wrong-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", MAP_B);
    CHECK_INT_EQ(r.status, 403);
    fx_response_free(&r);
    r = fx_http_bearer("PUT", path, other.token, MAP_B);
    CHECK_INT_EQ(r.status, 403);
    fx_response_free(&r);
    r = fx_http_bearer("PUT", path, FX_ADMIN_KEY, MAP_B); /* the operator may delete, not rewrite */
    CHECK_INT_EQ(r.status, 403);
    fx_response_free(&r);
    char *title = map_title(m.id);
    CHECK_STR_EQ(title, "The Silva Family");
    free(title);
    /* Validated like POST: an invalid definition is 400 with every message, and changes nothing. */
    r = fx_http_bearer("PUT", path, m.token, "{\"title\":\"\",\"people\":[]}");
    CHECK_INT_EQ(r.status, 400);
    CHECK(r.body && strstr(r.body, "title") && strstr(r.body, "people"));
    fx_response_free(&r);
    /* The right token: replaced, updated_at moves, the answer is the new map. */
    usleep(20000);
    r = fx_http_bearer("PUT", path, m.token, MAP_B);
    CHECK_INT_EQ(r.status, 200);
    json_t *um = json_object_get(r.json, "userMap");
    CHECK_STR_EQ(json_string_value(json_object_get(um, "id")), m.id);
    CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(um, "data"), "title")), "Renamed");
    CHECK(json_is_array(json_object_get(r.json, "warnings")));
    fx_response_free(&r);
    char *after = fx_sql_text("SELECT updated_at::text FROM user_maps WHERE id = $1", m.id);
    CHECK(before && after && strcmp(before, after) < 0);
    free(before);
    free(after);
    /* The other map was never touched. */
    title = map_title(other.id);
    CHECK_STR_EQ(title, "The Silva Family");
    free(title);
    /* Unknown or malformed ids: 404 whatever the token. */
    r = fx_http_bearer("PUT", "/api/maps/00000000-0000-4000-8000-000000000000", m.token, MAP_B);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
}

/* A map with an export whose poster (and sidecar) were stored: a finished job. */
static void export_and_finish(const made_map *m, char job_id[37], char poster[512], char sidecar[512])
{
    fx_response e = fx_export(m->id, "\"widthInches\":8,\"heightInches\":10");
    snprintf(job_id, 37, "%s", fx_str(&e, "printJobId") ? fx_str(&e, "printJobId") : "");
    fx_response_free(&e);
    snprintf(poster, 512, "%s/2026-01-02T03-04-05_%s.png", fx_export_dir, job_id);
    snprintf(sidecar, 512, "%s/2026-01-02T03-04-05_%s.json", fx_export_dir, job_id);
    FILE *f = fopen(poster, "w");
    if (f) {
        fputs("png", f);
        fclose(f);
    }
    f = fopen(sidecar, "w");
    if (f) {
        fputs("{}", f);
        fclose(f);
    }
    fx_response r = fx_worker(job_id, "start", NULL);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
    char done[700];
    snprintf(done, sizeof done, "{\"filePath\":\"%s\"}", poster);
    r = fx_worker(job_id, "complete", done);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
}

static long count_rows(const char *sql, const char *p1)
{
    char *n = fx_sql_text(sql, p1);
    long v = n ? atol(n) : -1;
    free(n);
    return v;
}

static void delete_leaves_nothing_behind(void)
{
    made_map m = make_map(MAP_A), other = make_map(MAP_A);
    char job_id[37], poster[512], sidecar[512];
    export_and_finish(&m, job_id, poster, sidecar);
    /* A second export still queued. */
    fx_response e = fx_export(m.id, "\"widthInches\":18,\"heightInches\":24");
    fx_response_free(&e);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM queue.job WHERE data->>'userMapId' = $1", m.id), 2);
    char path[128];
    snprintf(path, sizeof path, "/api/maps/%s", m.id);
    /* Missing, wrong, another map's token: refused, nothing gone. */
    fx_response r = fx_http_bearer("DELETE", path, NULL, NULL);
    CHECK_INT_EQ(r.status, 401);
    fx_response_free(&r);
    r = fx_http_bearer("DELETE", path, other.token, NULL);
    CHECK_INT_EQ(r.status, 403);
    fx_response_free(&r);
    r = fx_http_bearer("DELETE", path, FX_KEY, NULL); /* the worker's key is not an operator's */
    CHECK_INT_EQ(r.status, 403);
    fx_response_free(&r);
    struct stat st;
    CHECK(stat(poster, &st) == 0);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE id = $1", m.id), 1);
    /* The right token: 204, and nothing of the map is left. */
    r = fx_http_bearer("DELETE", path, m.token, NULL);
    CHECK_INT_EQ(r.status, 204);
    fx_response_free(&r);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE id = $1", m.id), 0);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM printable_maps WHERE user_map_id = $1", m.id), 0);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM print_jobs WHERE id = $1", job_id), 0);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM print_job_events WHERE print_job_id = $1", job_id), 0);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM queue.job WHERE data->>'userMapId' = $1", m.id), 0);
    CHECK(stat(poster, &st) != 0 && errno == ENOENT);
    CHECK(stat(sidecar, &st) != 0 && errno == ENOENT);
    r = fx_http("GET", path, NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    r = fx_http_bearer("DELETE", path, m.token, NULL);
    CHECK_INT_EQ(r.status, 404);
    fx_response_free(&r);
    /* The other map is untouched; the operator may delete it too. */
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE id = $1", other.id), 1);
    snprintf(path, sizeof path, "/api/maps/%s", other.id);
    r = fx_http_bearer("DELETE", path, FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 204);
    fx_response_free(&r);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE id = $1", other.id), 0);
}

static void listing_is_the_operators_and_shows_summaries_only(void)
{
    made_map m = make_map(MAP_A);
    fx_response r = fx_http("GET", "/api/maps?limit=500", NULL);
    CHECK_INT_EQ(r.status, 401);
    CHECK(!strstr(r.body, "Silva"));
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/api/maps", "not-the-operator-key-000000000000000", NULL);
    CHECK_INT_EQ(r.status, 401);
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/api/maps", m.token, NULL); /* an edit token lists nothing */
    CHECK_INT_EQ(r.status, 401);
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/api/maps?limit=500", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    json_t *first = json_array_get(json_object_get(r.json, "userMaps"), 0);
    CHECK_STR_EQ(json_string_value(json_object_get(first, "id")), m.id);
    CHECK_STR_EQ(json_string_value(json_object_get(first, "title")), "The Silva Family");
    CHECK_INT_EQ(json_integer_value(json_object_get(first, "peopleCount")), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(first, "locationCount")), 3);
    CHECK(json_object_get(first, "created_at") && json_object_get(first, "updated_at"));
    CHECK(!json_object_get(first, "data") && !strstr(r.body, "São Paulo") && !strstr(r.body, "Ana"));
    fx_response_free(&r);
}

static void a_jobs_public_view_hides_the_file_path(void)
{
    made_map m = make_map(MAP_A);
    char job_id[37], poster[512], sidecar[512];
    export_and_finish(&m, job_id, poster, sidecar);
    char path[128];
    snprintf(path, sizeof path, "/api/jobs/%s", job_id);
    fx_response r = fx_http("GET", path, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(fx_str(&r, "state"), "export_complete");
    CHECK(fx_str(&r, "downloadUrl") && strstr(fx_str(&r, "downloadUrl"), "/exports/2026-01-02T03-04-05_"));
    CHECK_MSG(!strstr(r.body, fx_export_dir) && !json_object_get(r.json, "export_file_path"), "%s", r.body);
    fx_response_free(&r);
    r = fx_http_bearer("GET", path, FX_KEY, NULL); /* the worker */
    CHECK_STR_EQ(fx_str(&r, "export_file_path"), poster);
    fx_response_free(&r);
    r = fx_http_bearer("GET", path, FX_ADMIN_KEY, NULL); /* the operator */
    CHECK_STR_EQ(fx_str(&r, "export_file_path"), poster);
    fx_response_free(&r);
}

static void other_host_names_are_refused(void)
{
    const char *evil[] = {"Host: attacker.example", NULL};
    fx_response r = fx_http_ex("GET", "/api/health", evil, NULL, 0, false);
    CHECK_INT_EQ(r.status, 421);
    CHECK(!strstr(r.body, "\"database\""));
    fx_response_free(&r);
    const char *evil_port[] = {"Host: attacker.example:5173", NULL};
    r = fx_http_ex("GET", "/", evil_port, NULL, 0, false);
    CHECK_INT_EQ(r.status, 421);
    fx_response_free(&r);
    const char *names[] = {"Host: localhost", "Host: 127.0.0.1:1234", "Host: LOCALHOST.", NULL};
    for (int i = 0; names[i]; i++) {
        const char *h[] = {names[i], NULL};
        r = fx_http_ex("GET", "/api/health", h, NULL, 0, false);
        CHECK_MSG(r.status == 200, "%s -> %ld", names[i], r.status);
        fx_response_free(&r);
    }
}

static void metrics_are_the_operators(void)
{
    fx_response r = fx_http("GET", "/metrics", NULL);
    CHECK_INT_EQ(r.status, 401);
    CHECK(!strstr(r.body, "awm_print_jobs"));
    fx_response_free(&r);
    r = fx_http_bearer("GET", "/metrics", FX_ADMIN_KEY, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK(strstr(r.body, "awm_http_requests_total"));
    fx_response_free(&r);
}

/* A second server on another port, with extra environment; its start-up output in *out. */
static int serve_exit_status(const char *name, const char *value, char **out)
{
    setenv(name, value, 1);
    char port[16];
    snprintf(port, sizeof port, "%d", fx_free_port());
    setenv("PORT", port, 1);
    int code = fx_run_awm((const char *const[]){"serve", NULL}, out);
    unsetenv("PORT");
    return code;
}

static void weak_keys_are_refused_at_start_up(void)
{
    char *out = NULL;
    CHECK_INT_EQ(serve_exit_status("WORKER_API_KEY", "short-key", &out), 2);
    CHECK_MSG(out && strstr(out, "WORKER_API_KEY is too short") && strstr(out, "openssl rand -base64 32"), "%s",
              out ? out : "");
    free(out);
    CHECK_INT_EQ(serve_exit_status("WORKER_API_KEY", "change-me", &out), 2);
    CHECK_MSG(out && strstr(out, "example value"), "%s", out ? out : "");
    free(out);
    setenv("WORKER_API_KEY", FX_KEY, 1);
    CHECK_INT_EQ(serve_exit_status("ADMIN_API_KEY", "0123456789012345678901234567890", &out), 2); /* 31 */
    CHECK_MSG(out && strstr(out, "ADMIN_API_KEY is too short (31 characters"), "%s", out ? out : "");
    free(out);
    setenv("ADMIN_API_KEY", FX_ADMIN_KEY, 1);
}

static void the_operator_lists_and_deletes_on_the_command_line(void)
{
    made_map m = make_map(MAP_A);
    char *out = NULL;
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"maps", "list", "--limit", "1", NULL}, &out), 0);
    CHECK_MSG(out && strstr(out, m.id) && strstr(out, "The Silva Family") && !strstr(out, "São Paulo"), "%s",
              out ? out : "");
    free(out);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"maps", "delete", m.id, NULL}, &out), 0);
    CHECK_MSG(out && strstr(out, "deleted map"), "%s", out ? out : "");
    free(out);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE id = $1", m.id), 0);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"maps", "delete", m.id, NULL}, &out), 1);
    CHECK_MSG(out && strstr(out, "map not found"), "%s", out ? out : "");
    free(out);
    CHECK_INT_EQ(fx_run_awm((const char *const[]){"maps", "delete", "nope", NULL}, &out), 2);
    free(out);
}

/* What the poster will shorten comes back as warnings, beside a 201. */
static void warnings_beside_the_map(void)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"title\":\"");
    for (int i = 0; i < 16; i++) /* 192 characters: valid, too long for two lines at 16 pt */
        awm_buf_printf(&b, "Generations ");
    awm_buf_printf(&b, "\",\"people\":[{\"id\":\"a\",\"name\":\"A\",\"locations\":[]}]}");
    fx_response r = fx_http("POST", "/api/maps", b.data);
    CHECK_INT_EQ(r.status, 201);
    json_t *w = json_object_get(r.json, "warnings");
    CHECK_MSG(json_array_size(w) >= 1 && strstr(json_string_value(json_array_get(w, 0)), "title"), "%s", r.body);
    fx_response_free(&r);
    awm_buf_free(&b);
}

/* The seed's operator guide: create a map, export it with the id alone (no token). */
static void the_seeds_curl_sequence_needs_no_token(void)
{
    fx_response m = fx_http("POST", "/api/maps", MAP_A);
    CHECK_INT_EQ(m.status, 201);
    fx_response e = fx_export(json_string_value(json_object_get(json_object_get(m.json, "userMap"), "id")),
                              "\"widthInches\":18,\"heightInches\":24,\"paperSizeName\":\"18×24\"");
    CHECK_STR_EQ(fx_str(&e, "message"), "Export job queued");
    fx_response_free(&e);
    fx_response_free(&m);
}

int main(int argc, char **argv)
{
    fx_start(argc, argv);
    RUN(the_edit_token_is_given_once_and_only_its_hash_is_kept);
    RUN(put_replaces_the_map_with_its_token_only);
    RUN(delete_leaves_nothing_behind);
    RUN(listing_is_the_operators_and_shows_summaries_only);
    RUN(a_jobs_public_view_hides_the_file_path);
    RUN(other_host_names_are_refused);
    RUN(metrics_are_the_operators);
    RUN(weak_keys_are_refused_at_start_up);
    RUN(the_operator_lists_and_deletes_on_the_command_line);
    RUN(the_seeds_curl_sequence_needs_no_token);
    RUN(warnings_beside_the_map);
    RUN(fx_check_clean_shutdown);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
