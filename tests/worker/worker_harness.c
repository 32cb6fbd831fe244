/* worker_harness.c — see worker_harness.h. */
#include "worker_harness.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/testkit.h"
#include "util/util.h"


#define MAX_CHILDREN 32
/* Read by the fatal-signal handler, on whichever thread it runs: lock-free atomics. */
static atomic_int g_children[MAX_CHILDREN];
static bool g_hooks;

static void kill_children(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (g_children[i] > 0)
            kill(g_children[i], SIGKILL);
}

static void install_hooks(void)
{
    if (g_hooks)
        return;
    g_hooks = true;
    atexit(kill_children);
    tk_on_fatal_signal(kill_children);
}

static void track(pid_t pid, bool add)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        if (add && g_children[i] == 0) {
            g_children[i] = pid;
            return;
        }
        if (!add && g_children[i] == pid) {
            g_children[i] = 0;
            return;
        }
    }
}

const char *wh_awm_path(void)
{
    static char path[2048];
    snprintf(path, sizeof path, "%s/src/cli/awm", awm_env_str("AWM_BUILD_ROOT", "."));
    return path;
}

bool wh_spawn(wh_proc *p, const char *const *args, const char *const *env, const char *log_path)
{
    install_hooks();
    memset(p, 0, sizeof *p);
    snprintf(p->log_path, sizeof p->log_path, "%s", log_path);
    /* Its own process group, so a test's terminal signals reach only the test. */
    tk_spawn_options opt = {.env = env, .out_path = log_path, .err_path = log_path, .append = true,
                            .null_stdin = true, .own_group = true};
    pid_t pid = tk_spawn_with(wh_awm_path(), args, &opt);
    if (pid < 0)
        return false;
    p->pid = pid;
    track(pid, true);
    return true;
}

bool wh_alive(const wh_proc *p)
{
    if (p->pid <= 0)
        return false;
    int st;
    return waitpid(p->pid, &st, WNOHANG) == 0;
}

static bool reap(wh_proc *p, double timeout_s)
{
    double end = awm_now_seconds() + timeout_s;
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            track(p->pid, false);
            p->pid = 0;
            return true;
        }
        if (r < 0) {
            p->pid = 0;
            return true;
        }
        if (awm_now_seconds() >= end)
            return false;
        tk_sleep_ms(20);
    }
}

bool wh_wait(wh_proc *p, double timeout_s)
{
    return p->pid <= 0 || reap(p, timeout_s);
}

int wh_stop(wh_proc *p, int sig, double timeout_s)
{
    if (p->pid <= 0)
        return p->exit_status;
    kill(p->pid, sig);
    if (!reap(p, timeout_s)) {
        kill(p->pid, SIGKILL);
        reap(p, 10);
        p->exit_status = -1; /* did not stop in time */
    }
    return p->exit_status;
}

/* JSON content type always, the bearer token when given; an empty body on a bare POST so it
 * carries Content-Length: 0. Status 0 when no answer came. */
static tk_response http_raw(const char *method, const char *url, const char *body, const char *bearer)
{
    char auth[600];
    const char *headers[3] = {"Content-Type: application/json", NULL, NULL};
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        headers[1] = auth;
    }
    if (!body && !strcmp(method, "POST"))
        body = "";
    tk_request req = {.headers = headers, .body = body, .body_len = body ? strlen(body) : 0, .timeout_s = 60};
    tk_response r = tk_http(method, url, &req);
    if (r.status < 0)
        r.status = 0;
    return r;
}

long wh_http(const char *method, const char *url, const char *body, const char *bearer, json_t **json)
{
    tk_response r = http_raw(method, url, body, bearer);
    long status = r.status;
    if (json) {
        *json = r.json;
        r.json = NULL;
    }
    tk_response_free(&r);
    return status;
}

char *wh_http_text(const char *url, long *status)
{
    tk_response r = http_raw("GET", url, NULL, NULL);
    *status = r.status;
    char *text = r.body;
    r.body = NULL;
    tk_response_free(&r);
    return text;
}

bool wh_wait_http_ok(const char *url, double timeout_s)
{
    double end = awm_now_seconds() + timeout_s;
    while (awm_now_seconds() < end) {
        if (wh_http("GET", url, NULL, NULL, NULL) == 200)
            return true;
        tk_sleep_ms(100);
    }
    return false;
}

void wh_env_append(const char **env, size_t cap, const char *const *extra)
{
    size_t n = 0;
    while (env[n])
        n++;
    for (size_t i = 0; extra && extra[i] && n + 1 < cap; i++)
        env[n++] = extra[i];
    env[n] = NULL;
}

json_t *wh_log_lines(const char *log_path, const char *key, const char *value)
{
    json_t *out = json_array();
    FILE *f = fopen(log_path, "r");
    if (!f)
        return out;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] != '{')
            continue;
        json_t *j = json_loads(line, 0, NULL);
        const char *v = json_string_value(json_object_get(j, key));
        if (v && !strcmp(v, value))
            json_array_append(out, j);
        json_decref(j);
    }
    free(line);
    fclose(f);
    return out;
}

json_t *wh_log_events(const char *log_path, const char *event)
{
    return wh_log_lines(log_path, "event", event);
}

bool wh_wait_log_event(const char *log_path, const char *event, int count, double timeout_s)
{
    return wh_wait_log_events(&log_path, 1, event, count, timeout_s);
}

bool wh_wait_log_events(const char *const *log_paths, size_t n, const char *event, int count, double timeout_s)
{
    double end = awm_now_seconds() + timeout_s;
    for (;;) {
        size_t seen = 0;
        for (size_t i = 0; i < n; i++) {
            json_t *a = wh_log_events(log_paths[i], event);
            seen += json_array_size(a);
            json_decref(a);
        }
        if ((int)seen >= count)
            return true;
        if (awm_now_seconds() >= end)
            return false;
        tk_sleep_ms(50);
    }
}

/* ---- fixture ------------------------------------------------------------------------------ */
#include "db/db.h"
#include "queue/queue.h"

bool wh_api_start(wh_fixture *fx)
{
    char env_db[512], env_port[32], env_dir[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", pg_harness_conninfo(fx->pg));
    snprintf(env_port, sizeof env_port, "PORT=%d", fx->api_port);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s", fx->export_dir);
    /* The worker's tests send many exports of one map at once: the edge's limits (tested in
     * tests/api/test_api_edge.c) are off here. */
    const char *env[] = {env_db, env_port, env_dir, "HOST=127.0.0.1", "WORKER_API_KEY=" WH_API_KEY,
                         "STORAGE=local", "RATE_LIMIT_EXPORTS=0", "RATE_LIMIT_MAP_WRITES=0",
                         "EXPORT_MAX_PENDING_PER_MAP=10000", NULL};
    const char *args[] = {"serve", NULL};
    char log[700], health[200];
    snprintf(log, sizeof log, "%s/api.log", fx->dir);
    if (!wh_spawn(&fx->api, args, env, log))
        return false;
    if (!fx->api_port) {
        /* First start: PORT=0, the port it bound read from /proc (a port picked here could be
         * taken by a parallel test before the server binds it). Restarts reuse that port, so
         * URLs handed out stay valid. */
        fx->api_port = tk_listening_port(fx->api.pid, 60);
        if (!fx->api_port)
            return false;
        snprintf(fx->api_url, sizeof fx->api_url, "http://127.0.0.1:%d", fx->api_port);
    }
    snprintf(health, sizeof health, "%s/api/health", fx->api_url);
    return wh_wait_http_ok(health, 60);
}

bool wh_fixture_start(wh_fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    awm_error err;
    if (!tk_mkdtemp(fx->dir, sizeof fx->dir, "worker-test")) {
        fprintf(stderr, "cannot create a temp dir\n");
        return false;
    }
    snprintf(fx->export_dir, sizeof fx->export_dir, "%s/exports", fx->dir);
    mkdir(fx->export_dir, 0755);
    fx->pg = pg_harness_start(&err);
    if (!fx->pg || !pg_harness_migrate(fx->pg, &err)) {
        fprintf(stderr, "postgres: %s\n", err.msg);
        return false;
    }
    if (!wh_api_start(fx)) {
        fprintf(stderr, "awm serve did not become healthy (see %s/api.log)\n", fx->dir);
        return false;
    }
    char sample[4096], url[256];
    char *text = NULL;
    size_t len;
    if (!awm_asset_path(sample, sizeof sample, "assets/sample-map.json") || !awm_read_file(sample, &text, &len, &err))
        return false;
    snprintf(url, sizeof url, "%s/api/maps", fx->api_url);
    json_t *answer = NULL;
    long status = wh_http("POST", url, text, NULL, &answer);
    free(text);
    const char *id = json_string_value(json_object_get(json_object_get(answer, "userMap"), "id"));
    if (status != 201 || !id) {
        fprintf(stderr, "POST /api/maps answered %ld\n", status);
        json_decref(answer);
        return false;
    }
    snprintf(fx->user_map_id, sizeof fx->user_map_id, "%s", id);
    json_decref(answer);
    return true;
}

void wh_fixture_stop(wh_fixture *fx)
{
    wh_stop(&fx->api, SIGTERM, 20);
    pg_harness_destroy(fx->pg);
    fx->pg = NULL;
    if (fx->dir[0] && !getenv("AWM_KEEP_TEST_DIR"))
        tk_remove_tree(fx->dir);
    curl_global_cleanup();
}

int wh_fixture_finish(wh_fixture *fx, int rc)
{
    if (rc) {
        setenv("AWM_KEEP_TEST_DIR", "1", 1);
        fprintf(stderr, "logs kept in %s\n", fx->dir);
    }
    wh_fixture_stop(fx);
    return rc;
}

int wh_run_check(const char *const *env, const char *log_path, char **output)
{
    const char *args[] = {"worker", "--check", NULL};
    wh_proc p;
    int status = -1;
    if (wh_spawn(&p, args, env, log_path)) {
        if (wh_wait(&p, 60))
            status = p.exit_status;
        else
            wh_stop(&p, SIGKILL, 5);
    }
    size_t len;
    if (!awm_read_file(log_path, output, &len, NULL))
        *output = awm_strdup("");
    return status;
}

bool wh_worker_start(wh_fixture *fx, wh_proc *p, const char *name, const char *const *extra, int *health_port)
{
    char env_db[512], env_api[200], env_dir[700], log[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", pg_harness_conninfo(fx->pg));
    snprintf(env_api, sizeof env_api, "API_URL=%s", fx->api_url);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s", fx->export_dir);
    /* HEALTH_PORT=0: the worker binds a port the kernel picks (read back from /proc). A port
     * picked here and bound later can be taken in between by a test running beside this one. */
    const char *env[40] = {env_db, env_api, env_dir, "HEALTH_PORT=0", "WORKER_API_KEY=" WH_API_KEY,
                           "WORKER_POLL_INTERVAL_MS=300", "WORKER_SUPERVISE_INTERVAL_S=1",
                           "WORKER_API_RETRY_DELAY_MS=100", "STORAGE=local", "DEBUG_MODE=", "WORKER_RENDER_DPI="};
    wh_env_append(env, 40, extra);
    snprintf(log, sizeof log, "%s/%s.log", fx->dir, name);
    const char *args[] = {"worker", NULL};
    if (!wh_spawn(p, args, env, log))
        return false;
    if (!health_port)
        return true;
    *health_port = tk_listening_port(p->pid, 60);
    if (!*health_port)
        fprintf(stderr, "worker %s is not listening (see %s)\n", name, log);
    return *health_port > 0;
}

bool wh_post_export(wh_fixture *fx, double w_in, double h_in, const char *extra_json, char id[64])
{
    json_t *body = json_pack("{s:s, s:f, s:f}", "userMapId", fx->user_map_id, "widthInches", w_in,
                             "heightInches", h_in);
    if (extra_json) {
        json_t *extra = json_loads(extra_json, 0, NULL);
        json_object_update(body, extra);
        json_decref(extra);
    }
    char *text = json_dumps(body, JSON_COMPACT);
    char url[256];
    snprintf(url, sizeof url, "%s/api/export", fx->api_url);
    json_t *answer = NULL;
    long status = wh_http("POST", url, text, NULL, &answer);
    free(text);
    json_decref(body);
    const char *pj = json_string_value(json_object_get(answer, "printJobId"));
    bool ok = status == 202 && pj;
    if (ok)
        snprintf(id, 64, "%s", pj);
    else
        fprintf(stderr, "POST /api/export answered %ld\n", status);
    json_decref(answer);
    return ok;
}

json_t *wh_wait_job_state(wh_fixture *fx, const char *id, const char *state, double timeout_s)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/jobs/%s", fx->api_url, id);
    double end = awm_now_seconds() + timeout_s;
    for (;;) {
        json_t *job = NULL;
        /* As the worker sees it (the public view has no file path). */
        long status = wh_http("GET", url, NULL, WH_API_KEY, &job);
        const char *s = json_string_value(json_object_get(job, "state"));
        if (status == 200 && s && !strcmp(s, state))
            return job;
        if (awm_now_seconds() >= end) {
            fprintf(stderr, "job %s: still '%s' (want '%s')\n", id, s ? s : "?", state);
            json_decref(job);
            return NULL;
        }
        json_decref(job);
        tk_sleep_ms(100);
    }
}

bool wh_queue_settings(wh_fixture *fx, int retry_limit, int retry_delay_s, int expire_in_s)
{
    awm_error err;
    PGconn *c = db_connect(pg_harness_conninfo(fx->pg), &err);
    queue_options o;
    bool ok = c && queue_get_options(c, QUEUE_EXPORT, &o, &err);
    if (ok) {
        o.retry_limit = retry_limit;
        o.retry_delay_s = retry_delay_s;
        o.retry_backoff = false;
        o.expire_in_s = expire_in_s;
        ok = queue_update(c, QUEUE_EXPORT, &o, &err);
    }
    if (!ok)
        fprintf(stderr, "queue settings: %s\n", err.msg);
    if (c)
        PQfinish(c);
    return ok;
}
