/* api_fixture.h — what the API tests share: a private PostgreSQL (tests/support/pg_harness),
 * a real `awm serve` process (argv[1]) on a free loopback port, and an HTTP client (libcurl)
 * that returns status, headers and body. */
#ifndef AWM_TESTS_API_FIXTURE_H
#define AWM_TESTS_API_FIXTURE_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "support/pg_harness.h"
#include "support/testkit.h"
#include "test.h"
#include "util/util.h"

static pg_harness *fx_pg;
static const char *fx_awm;
static pid_t fx_server;
static int fx_port;
static char fx_dir[] = "/tmp/awm-test-api-XXXXXX";
static char fx_export_dir[300];
static char fx_log_path[300];
#define FX_KEY "test-worker-key-0123456789abcdef0123"
#define FX_ADMIN_KEY "test-operator-key-0123456789abcdef01"

/* Responses are testkit's: status, body, len, headers, json. */
typedef tk_response fx_response;

static inline void fx_response_free(fx_response *r) { tk_response_free(r); }

/* Value of a response header (case-insensitive name), copied into out; "" when absent. */
static inline const char *fx_header(const fx_response *r, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        if (!end)
            break;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(end - v), v);
        }
        line = end + 2;
    }
    return out;
}

/* One HTTP request. `headers` is a NULL-terminated list ("Name: value"); body may be NULL.
 * chunked: send the body without Content-Length. */
static inline fx_response fx_http_ex(const char *method, const char *path, const char *const *headers,
                                     const char *body, size_t body_len, bool chunked)
{
    char url[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fx_port, path);
    tk_request req = {.headers = headers, .body = body, .body_len = body_len, .chunked = chunked, .timeout_s = 120};
    return tk_http(method, url, &req);
}

static fx_response fx_http(const char *method, const char *path, const char *json_body)
{
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    return fx_http_ex(method, path, json_body ? json_headers : NULL, json_body,
                      json_body ? strlen(json_body) : 0, false);
}

/* POST /api/export for user map `map_id` with the other fields of the request (`fields`, e.g.
 * "\"widthInches\":8,\"heightInches\":10"); a 202 is checked. The caller frees the answer. */
static inline fx_response fx_export(const char *map_id, const char *fields)
{
    char body[512];
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",%s}", map_id ? map_id : "", fields);
    fx_response e = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(e.status, 202);
    return e;
}

/* A request with `Authorization: Bearer <secret>` (secret NULL: none) and a JSON body (may be NULL). */
static inline fx_response fx_http_bearer(const char *method, const char *path, const char *secret, const char *json_body)
{
    char auth[512];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", secret ? secret : "");
    const char *headers[] = {"Content-Type: application/json", secret ? auth : NULL, NULL};
    return fx_http_ex(method, path, headers, json_body, json_body ? strlen(json_body) : 0, false);
}

/* A worker call with the key. */
static inline fx_response fx_worker(const char *job_id, const char *verb, const char *json_body)
{
    static const char *const headers[] = {"Content-Type: application/json", "Authorization: Bearer " FX_KEY, NULL};
    char path[256];
    snprintf(path, sizeof path, "/api/jobs/%s/%s", job_id, verb);
    return fx_http_ex("POST", path, headers, json_body, json_body ? strlen(json_body) : 0, false);
}

static inline const char *fx_str(const fx_response *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

static inline int fx_free_port(void) { return tk_free_port(); }

/* Run awm with args; stdout/stderr into files in fx_dir; returns the exit status. */
static inline int fx_run_awm(const char *const *args, char **out_text)
{
    char out_path[400], err_path[400];
    snprintf(out_path, sizeof out_path, "%s/cmd.out", fx_dir);
    snprintf(err_path, sizeof err_path, "%s/cmd.err", fx_dir);
    int code = tk_run(fx_awm, args, out_path, err_path);
    if (code < 0)
        return -1;
    if (out_text) {
        size_t len;
        char *o = NULL, *e = NULL;
        awm_read_file(out_path, &o, &len, NULL);
        awm_read_file(err_path, &e, &len, NULL);
        awm_buf b = {0};
        awm_buf_printf(&b, "%s%s", o ? o : "", e ? e : "");
        free(o);
        free(e);
        *out_text = b.data ? b.data : awm_strdup("");
    }
    return code;
}

/* SIGTERM the server; its exit status (0 = clean, and no leak under LSan), -1 when none. */
static int fx_stop_server(void)
{
    int code = -1;
    if (fx_server > 0) {
        kill(fx_server, SIGTERM);
        code = tk_wait(fx_server, 0);
        fx_server = 0;
    }
    return code;
}

/* Stop the server and check it shut down cleanly and said so. */
static inline void fx_check_clean_shutdown(void)
{
    CHECK_INT_EQ(fx_stop_server(), 0);
    char *log = NULL;
    size_t len;
    awm_read_file(fx_log_path, &log, &len, NULL);
    CHECK(log && strstr(log, "\"SERVER_STOPPED\""));
    bool clean = log && !strstr(log, "Sanitizer") && !strstr(log, "runtime error");
    CHECK_MSG(clean, "sanitizer report in the server log:\n%s", log ? log : "(no log)");
    free(log);
}

static void fx_cleanup(void)
{
    fx_stop_server();
    pg_harness_destroy(fx_pg);
    fx_pg = NULL;
    tk_remove_tree(fx_dir);
}

/* Start `awm serve` with the current environment on `port` (stderr to log_path) and wait
 * until it answers; its pid, or -1 when it exited or never answered. */
static pid_t fx_spawn_serve(int port, const char *log_path)
{
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", port);
    setenv("PORT", port_text, 1);
    pid_t pid = tk_spawn(fx_awm, (const char *const[]){"serve", NULL}, NULL, log_path);
    if (pid < 0) {
        fprintf(stderr, "cannot start %s serve\n", fx_awm);
        return -1;
    }
    /* Wait for the first answer (start-up applies migrations and registers fonts). */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/health", port);
    for (int i = 0; i < 600; i++) {
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_cleanup(c);
        if (cc == CURLE_OK)
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "awm serve exited at start-up; log in %s\n", log_path);
            return -1;
        }
        usleep(100000);
    }
    fprintf(stderr, "awm serve did not answer\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* Start PostgreSQL and `awm serve` (with WORKER_API_KEY=FX_KEY); wait until it answers. */
static void fx_start(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/awm\n", argv[0]);
        exit(2);
    }
    fx_awm = argv[1];
    curl_global_init(CURL_GLOBAL_ALL);
    if (!mkdtemp(fx_dir)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(fx_export_dir, sizeof fx_export_dir, "%s/exports", fx_dir);
    snprintf(fx_log_path, sizeof fx_log_path, "%s/serve.log", fx_dir);
    awm_mkdir_p(fx_export_dir, NULL);
    awm_error err = {{0}};
    fx_pg = pg_harness_start(&err);
    if (!fx_pg) {
        fprintf(stderr, "cannot start PostgreSQL: %s\n", err.msg);
        exit(1);
    }
    fx_port = fx_free_port();
    setenv("DATABASE_URL", pg_harness_conninfo(fx_pg), 1);
    setenv("HOST", "127.0.0.1", 1);
    setenv("EXPORT_DIR", fx_export_dir, 1);
    setenv("WORKER_API_KEY", FX_KEY, 1);
    setenv("ADMIN_API_KEY", FX_ADMIN_KEY, 1);
    setenv("DB_POOL_SIZE", "4", 1);
    setenv("DB_POOL_TIMEOUT_MS", "3000", 1);
    setenv("MAX_BODY_BYTES", "65536", 1);
    fx_server = fx_spawn_serve(fx_port, fx_log_path);
    if (fx_server <= 0) {
        fx_cleanup();
        exit(1);
    }
}

/* A direct database connection for checking rows. */
static inline PGconn *fx_db(void)
{
    awm_error err = {{0}};
    PGconn *c = db_connect(pg_harness_conninfo(fx_pg), &err);
    if (!c)
        fprintf(stderr, "connect: %s\n", err.msg);
    return c;
}

/* The first column of the first row as text (malloc'd), or NULL. */
static inline char *fx_sql_text(const char *sql, const char *p1)
{
    PGconn *c = fx_db();
    if (!c)
        return NULL;
    const char *params[] = {p1};
    awm_error err = {{0}};
    PGresult *res = db_exec(c, "test SQL", sql, p1 ? 1 : 0, params, &err);
    char *out = NULL;
    if (!res)
        fprintf(stderr, "%s: %s\n", sql, err.msg);
    else if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        out = awm_strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(c);
    return out;
}

#endif
