/* test_deploy_nginx.c — deploy/nginx/awm.conf with the real nginx from Debian in front of
 * `awm serve` (PostgreSQL from pg_harness), on loopback, over TLS with a certificate made here
 * with openssl. nginx runs as a child in the foreground (one process: master_process off) with
 * its prefix, pid, logs and temp files in a temp dir; of the file only the upstream address,
 * the listen ports and the certificate folder are replaced (each replacement is checked, so the
 * file cannot drift from what is tested).
 *
 * Through nginx: health; a map created, read back, changed with its edit token and refused
 * without it (403) or with a wrong one, deleted, then 404; an export accepted (202); a body over
 * the edge's 1 MiB refused by nginx with its JSON 413 while one of exactly 1 MiB reaches awm;
 * nginx's limit_req answering 429 (JSON, Retry-After) with awm's own export limit off; and awm's
 * per-client map-write limit counting each real client (127.0.0.2, 127.0.0.3) on its own, which
 * it can only do from nginx's X-Forwarded-For (awm sees one address, nginx's, otherwise). */
#include <curl/curl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_util.h"
#include "support/pg_harness.h"
#include "support/testkit.h"
#include "test.h"
#include "worker/worker_harness.h"

static pg_harness *pg;
static char dir[512], edge[128], ca[700];
static wh_proc api;
static pid_t nginx_pid = -1;
static int http_port;

/* awm's map-write allowance per client: more than test_api_through_nginx makes (6). */
#define MAP_WRITES 8
#define STR_(x) #x
#define STR(x) STR_(x)

static void kill_nginx(void)
{
    if (nginx_pid > 0)
        kill(nginx_pid, SIGKILL);
}

/* The shipped file with the test's addresses; false when a line to replace is not there. */
static bool write_config(int api_port, int https_port)
{
    char *conf = dt_read_source("deploy/nginx/awm.conf");
    if (!conf)
        return false;
    static const char *const lines[] = {"server api:5173;", "listen 443 ssl http2;", "listen 80;",
                                        "/etc/nginx/tls/fullchain.pem", "/etc/nginx/tls/privkey.pem"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        CHECK_MSG(strstr(conf, lines[i]), "deploy/nginx/awm.conf has no \"%s\"", lines[i]);
    free(conf);
    int rc = dt_sh("cd '%s' && sed -e 's|server api:5173;|server 127.0.0.1:%d;|' "
                   "-e 's|listen 443 ssl http2;|listen 127.0.0.1:%d ssl http2;|' "
                   "-e 's|listen 80;|listen 127.0.0.1:%d;|' -e 's|/etc/nginx/tls/|%s/|' "
                   "'%s/deploy/nginx/awm.conf' > awm.conf && mkdir -p tmp logs && "
                   "printf 'pid %s/nginx.pid;\\nerror_log %s/logs/error.log info;\\n"
                   "events { worker_connections 512; }\\nhttp {\\n  access_log %s/logs/access.log;\\n"
                   "  client_body_temp_path %s/tmp/body;\\n  proxy_temp_path %s/tmp/proxy;\\n"
                   "  fastcgi_temp_path %s/tmp/fcgi;\\n  uwsgi_temp_path %s/tmp/uwsgi;\\n"
                   "  scgi_temp_path %s/tmp/scgi;\\n  include %s/awm.conf;\\n}\\n' > nginx.conf",
                   dir, api_port, https_port, http_port, dir, dt_source_root(), dir, dir, dir, dir,
                   dir, dir, dir, dir, dir);
    return rc == 0;
}

static bool start_nginx(void)
{
    char conf[700], prefix[600], log[700];
    snprintf(conf, sizeof conf, "%s/nginx.conf", dir);
    snprintf(prefix, sizeof prefix, "%s/", dir);
    snprintf(log, sizeof log, "%s/nginx.out", dir);
    const char *args[] = {"-p", prefix, "-c", conf, "-e", "stderr", "-g",
                          "daemon off; master_process off;", NULL};
    tk_spawn_options opt = {.out_path = log, .err_path = log, .null_stdin = true,
                            .search_path = true};
    const char *prog = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
    nginx_pid = tk_spawn_with(prog, args, &opt);
    if (nginx_pid < 0)
        return false;
    tk_on_fatal_signal(kill_nginx);
    char url[200];
    snprintf(url, sizeof url, "%s/api/health", edge);
    for (int i = 0; i < 100; i++) {
        tk_request rq = {.ca_file = ca, .timeout_s = 5};
        tk_response r = tk_http("GET", url, &rq);
        long status = r.status;
        tk_response_free(&r);
        if (status == 200)
            return true;
        tk_sleep_ms(100);
    }
    return false;
}

/* A request to the edge (https, the test's certificate), from `source` ("127.0.0.x"). */
static tk_response edge_request(const char *method, const char *path, const char *body,
                                size_t body_len, const char *bearer, const char *source)
{
    char url[4096], auth[600];
    snprintf(url, sizeof url, "%s%s", edge, path);
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        headers[1] = auth;
    }
    tk_request rq = {.headers = headers, .body = body, .body_len = body ? body_len : 0,
                     .timeout_s = 30, .ca_file = ca, .source_ip = source};
    return tk_http(method, url, &rq);
}

static tk_response edge_json(const char *method, const char *path, const char *body,
                             const char *bearer, const char *source)
{
    return edge_request(method, path, body, body ? strlen(body) : 0, bearer, source);
}

static const char *jget(json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(j, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

static const char MAP[] = "{\"title\":\"Edge\",\"people\":[{\"id\":\"a\",\"name\":\"Ann\","
                          "\"locations\":[{\"longitude\":2.35,\"latitude\":48.85}]}]}";

static void test_api_through_nginx(void)
{
    tk_response r = edge_json("GET", "/api/health", NULL, NULL, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(jget(r.json, "database", NULL) ?: "", "ok");
    tk_response_free(&r);

    r = edge_json("POST", "/api/maps", MAP, NULL, NULL);
    CHECK_INT_EQ(r.status, 201);
    char id[64] = "", token[200] = "";
    snprintf(id, sizeof id, "%s", jget(r.json, "userMap", "id") ?: "");
    snprintf(token, sizeof token, "%s", jget(r.json, "editToken", NULL) ?: "");
    tk_response_free(&r);
    CHECK(id[0] && token[0]);
    char path[200];
    snprintf(path, sizeof path, "/api/maps/%s", id);

    r = edge_json("GET", path, NULL, NULL, NULL);
    CHECK_INT_EQ(r.status, 200);
    CHECK_MSG(strstr(r.body, "\"Edge\""), "%s", r.body);
    tk_response_free(&r);

    static const char changed[] = "{\"title\":\"Edge 2\",\"people\":[{\"id\":\"a\",\"name\":\"Ann\"}]}";
    r = edge_json("PUT", path, changed, NULL, NULL); /* no token */
    CHECK_MSG(r.status == 401 || r.status == 403, "PUT without the edit token: %ld %s", r.status, r.body);
    tk_response_free(&r);
    r = edge_json("PUT", path, changed, "not-the-edit-token-0123456789abcdef", NULL);
    CHECK_INT_EQ(r.status, 403);
    tk_response_free(&r);
    r = edge_json("PUT", path, changed, token, NULL); /* Authorization passes through nginx */
    CHECK_INT_EQ(r.status, 200);
    tk_response_free(&r);
    r = edge_json("GET", path, NULL, NULL, NULL);
    CHECK_MSG(strstr(r.body, "\"Edge 2\""), "%s", r.body);
    tk_response_free(&r);

    char body[300];
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":8,\"heightInches\":10}", id);
    r = edge_json("POST", "/api/export", body, NULL, NULL);
    CHECK_MSG(r.status == 202, "export: %ld %s", r.status, r.body);
    CHECK(jget(r.json, "printJobId", NULL) != NULL);
    tk_response_free(&r);

    r = edge_json("DELETE", path, NULL, NULL, NULL);
    CHECK_MSG(r.status == 401 || r.status == 403, "DELETE without the token: %ld", r.status);
    tk_response_free(&r);
    r = edge_json("DELETE", path, NULL, token, NULL);
    CHECK_INT_EQ(r.status, 204);
    tk_response_free(&r);
    r = edge_json("GET", path, NULL, NULL, NULL);
    CHECK_INT_EQ(r.status, 404);
    tk_response_free(&r);
}

/* Plain HTTP is only a redirect to https. */
static void test_http_redirects(void)
{
    char url[200];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/health", http_port);
    tk_request rq = {.timeout_s = 10};
    tk_response r = tk_http("GET", url, &rq);
    CHECK_INT_EQ(r.status, 301);
    CHECK_MSG(strcasestr(r.headers, "\nLocation: https://127.0.0.1/api/health"), "%s", r.headers);
    tk_response_free(&r);
}

/* awm serve takes bodies up to 4 MiB here: a 2 MiB body is nginx's to refuse. */
static void test_body_limit(void)
{
    size_t big = 2u << 20;
    char *body = awm_xmalloc(big + 1);
    memset(body, ' ', big);
    body[big] = '\0';
    body[0] = '{';
    tk_response r = edge_request("POST", "/api/maps", body, big, NULL, "127.0.0.4");
    CHECK_INT_EQ(r.status, 413);
    CHECK_MSG(r.json && strstr(jget(r.json, "error", NULL) ?: "", "at most 1048576 bytes"), "%s",
              r.body);
    tk_response_free(&r);
    /* Exactly the limit reaches awm (which says what is wrong with it). */
    r = edge_request("POST", "/api/maps", body, 1u << 20, NULL, "127.0.0.4");
    CHECK_INT_EQ(r.status, 400);
    CHECK_MSG(!strstr(r.body, "client_max_body_size"), "%s", r.body);
    tk_response_free(&r);
    free(body);
}

/* awm's own export limit is off: every 429 here is nginx's. Invalid bodies cost awm nothing. */
static void test_limit_req(void)
{
    int refused = 0, passed = 0;
    for (int i = 0; i < 60 && !refused; i++) {
        tk_response r = edge_json("POST", "/api/export", "{}", NULL, "127.0.0.5");
        if (r.status == 429) {
            refused++;
            CHECK_MSG(strcasestr(r.headers, "\nRetry-After: 30\r\n"), "%s", r.headers);
            CHECK_MSG(strstr(jget(r.json, "error", NULL) ?: "", "limit_req"), "%s", r.body);
        } else {
            CHECK_INT_EQ(r.status, 400);
            passed++;
        }
        tk_response_free(&r);
    }
    CHECK_MSG(refused == 1 && passed >= 20, "%d passed, %d refused", passed, refused);
    /* Another client is not affected. */
    tk_response r = edge_json("POST", "/api/export", "{}", NULL, "127.0.0.6");
    CHECK_INT_EQ(r.status, 400);
    tk_response_free(&r);
}

/* awm's map-write limit is MAP_WRITES a minute per client here. */
static void test_real_client_address(void)
{
    for (int i = 0; i < MAP_WRITES; i++) {
        tk_response r = edge_json("POST", "/api/maps", MAP, NULL, "127.0.0.2");
        CHECK_INT_EQ(r.status, 201);
        tk_response_free(&r);
    }
    tk_response r = edge_json("POST", "/api/maps", MAP, NULL, "127.0.0.2");
    CHECK_INT_EQ(r.status, 429);
    CHECK_MSG(!strstr(r.body, "limit_req"), "awm's 429 expected, got nginx's: %s", r.body);
    CHECK(strcasestr(r.headers, "\nRetry-After:") != NULL);
    tk_response_free(&r);
    /* Another client behind the same nginx still has its own allowance. */
    r = edge_json("POST", "/api/maps", MAP, NULL, "127.0.0.3");
    CHECK_MSG(r.status == 201, "127.0.0.3: %ld %s", r.status, r.body);
    tk_response_free(&r);
    /* And writing someone else's address into X-Forwarded-For does not borrow theirs. */
    char url[200];
    snprintf(url, sizeof url, "%s/api/maps", edge);
    const char *headers[] = {"Content-Type: application/json", "X-Forwarded-For: 127.0.0.9", NULL};
    tk_request rq = {.headers = headers, .body = MAP, .body_len = strlen(MAP), .timeout_s = 30,
                     .ca_file = ca, .source_ip = "127.0.0.2"};
    r = tk_http("POST", url, &rq);
    CHECK_INT_EQ(r.status, 429);
    tk_response_free(&r);
}

int main(void)
{
    if (dt_sh("command -v nginx >/dev/null || test -x /usr/sbin/nginx") != 0) {
        fprintf(stderr, "nginx is not installed (scripts/setup installs nginx-light: AWM_TEST_PACKAGES)\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!tk_mkdtemp(dir, sizeof dir, "deploy-nginx")) {
        fprintf(stderr, "cannot create a temp dir\n");
        return 1;
    }
    snprintf(ca, sizeof ca, "%s/fullchain.pem", dir);
    int rc = 1;
    awm_error err = {{0}};
    if (dt_sh("cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
              "-nodes -keyout privkey.pem -out fullchain.pem -days 2 -subj /CN=localhost "
              "-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1'", dir) != 0) {
        fprintf(stderr, "openssl could not make a certificate\n");
        goto out;
    }
    pg = pg_harness_start(&err);
    if (!pg || !pg_harness_migrate(pg, &err)) {
        fprintf(stderr, "postgres: %s\n", err.msg);
        goto out;
    }
    int api_port = tk_free_port(), https_port = tk_free_port();
    http_port = tk_free_port();
    snprintf(edge, sizeof edge, "https://127.0.0.1:%d", https_port);
    char env_db[512], env_port[32], env_dir[700], log[700], health[200];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", pg_harness_conninfo(pg));
    snprintf(env_port, sizeof env_port, "PORT=%d", api_port);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s", dir);
    snprintf(log, sizeof log, "%s/api.log", dir);
    const char *env[] = {env_db, env_port, env_dir, "HOST=127.0.0.1", "STORAGE=local",
                         "TRUSTED_PROXIES=127.0.0.1", "API_MAX_CONNECTIONS_PER_IP=0",
                         "RATE_LIMIT_MAP_WRITES=" STR(MAP_WRITES), "RATE_LIMIT_EXPORTS=0",
                         "MAX_BODY_BYTES=4194304", NULL};
    const char *args[] = {"serve", NULL};
    snprintf(health, sizeof health, "http://127.0.0.1:%d/api/health", api_port);
    if (!wh_spawn(&api, args, env, log) || !wh_wait_http_ok(health, 60)) {
        fprintf(stderr, "awm serve did not become healthy (see %s)\n", log);
        goto out;
    }
    if (!write_config(api_port, https_port) || !start_nginx()) {
        fprintf(stderr, "nginx did not start (see %s/nginx.out, logs/error.log)\n", dir);
        goto out;
    }
    RUN(test_api_through_nginx);
    RUN(test_http_redirects);
    RUN(test_body_limit);
    RUN(test_limit_req);
    RUN(test_real_client_address);
    rc = TEST_EXIT();
out:
    if (nginx_pid > 0) {
        kill(nginx_pid, SIGTERM);
        tk_wait(nginx_pid, 10);
        nginx_pid = -1;
    }
    wh_stop(&api, SIGTERM, 20);
    pg_harness_destroy(pg);
    if (rc == 0 && !getenv("AWM_KEEP_TEST_DIR"))
        tk_remove_tree(dir);
    else
        fprintf(stderr, "logs kept in %s\n", dir);
    curl_global_cleanup();
    return rc;
}
