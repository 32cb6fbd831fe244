/* worker_harness.h — what the worker's end-to-end tests share: child processes (`awm serve`,
 * `awm worker`) with their own environment and log file, free ports, a small libcurl client
 * and readers for the JSON-line logs. Children are killed if the test dies (atexit, signals). */
#ifndef AWM_TESTS_WORKER_HARNESS_H
#define AWM_TESTS_WORKER_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "support/testkit.h"

typedef struct {
    pid_t pid;
    char log_path[1024];
    int exit_status; /* after wait: exit code, or 128 + signal */
} wh_proc;

/* The `awm` binary of this build ($AWM_BUILD_ROOT/src/cli/awm). */
const char *wh_awm_path(void);

/* Start `awm <args...>` with the current environment plus `env` ("NAME=value" strings,
 * NULL-terminated; "NAME=" removes NAME). stdout and stderr go to log_path (appended). Started
 * with testkit's tk_spawn_with, as every child of the tests; free ports, temp directories,
 * sleeping and removing trees are testkit's too (tk_free_port, tk_mkdtemp, tk_sleep_ms,
 * tk_remove_tree). */
bool wh_spawn(wh_proc *p, const char *const *args, const char *const *env, const char *log_path);

/* Send `sig` and wait up to timeout_s for the exit; SIGKILL after that. Returns the status. */
int wh_stop(wh_proc *p, int sig, double timeout_s);
/* Wait (up to timeout_s) for the process to exit by itself; false if it did not. */
bool wh_wait(wh_proc *p, double timeout_s);
bool wh_alive(const wh_proc *p);

/* HTTP: status (0 = no answer); *json = parsed body or NULL (caller decrefs). */
long wh_http(const char *method, const char *url, const char *body, const char *bearer, json_t **json);
/* The raw body as text (caller frees); status in *status. */
char *wh_http_text(const char *url, long *status);

/* Poll url until it answers 200, up to timeout_s. */
bool wh_wait_http_ok(const char *url, double timeout_s);

/* Add the NULL-terminated `extra` ("NAME=value") to the NULL-terminated env, an array of cap
 * slots; what does not fit is left out. */
void wh_env_append(const char **env, size_t cap, const char *const *extra);

/* Log lines (JSON objects) of a process whose string field `key` is `value`; new array reference. */
json_t *wh_log_lines(const char *log_path, const char *key, const char *value);
/* wh_log_lines for "event" = `event`. */
json_t *wh_log_events(const char *log_path, const char *event);
/* Wait until the log has at least `count` lines with `event`, up to timeout_s. */
bool wh_wait_log_event(const char *log_path, const char *event, int count, double timeout_s);
/* The same over n logs together (lines of all of them counted). */
bool wh_wait_log_events(const char *const *log_paths, size_t n, const char *event, int count, double timeout_s);


/* Run `awm worker --check` with `env` (as for wh_spawn), output to log_path. Returns its exit
 * status (-1 when it did not finish within 60 s); *output = what it printed (never NULL;
 * caller frees). */
int wh_run_check(const char *const *env, const char *log_path, char **output);

/* ---- the end-to-end fixture: PostgreSQL + `awm serve` + any number of `awm worker` ---- */
#include "support/pg_harness.h"

#define WH_API_KEY "test-worker-key-0123456789abcdef0123"

typedef struct {
    pg_harness *pg;
    char dir[512];         /* temp dir: logs, exports */
    char export_dir[600];
    int api_port;
    char api_url[128];
    wh_proc api;
    char user_map_id[64];  /* the sample map, posted once */
} wh_fixture;

/* Start PostgreSQL (migrated) and `awm serve`, post the sample map. */
bool wh_fixture_start(wh_fixture *fx);
void wh_fixture_stop(wh_fixture *fx);
/* (Re)start `awm serve`: the first time on a port it picks (PORT=0), then on that port; stop
 * with wh_stop(&fx->api, SIGTERM, ...). */
bool wh_api_start(wh_fixture *fx);
/* Start a worker with the fixture's DATABASE_URL, API_URL, EXPORT_DIR, key, HEALTH_PORT=0
 * (the port it bound, in *health_port), fast polling and supervision, plus `extra` env; log
 * in <dir>/<name>.log. */
bool wh_worker_start(wh_fixture *fx, wh_proc *p, const char *name, const char *const *extra, int *health_port);
/* POST /api/export for the sample map; copies the print job id; extra_json merged into the body. */
bool wh_post_export(wh_fixture *fx, double w_in, double h_in, const char *extra_json, char id[64]);
/* GET /api/jobs/{id} until `state` (or export_failed when state is something else), up to
 * timeout_s; returns the job (caller decrefs) or NULL. */
json_t *wh_wait_job_state(wh_fixture *fx, const char *id, const char *state, double timeout_s);
/* Change the export queue's retry/expiry settings (jobs sent afterwards get them). */
bool wh_queue_settings(wh_fixture *fx, int retry_limit, int retry_delay_s, int expire_in_s);
/* The end of a test program: stops the fixture and returns rc. When rc is non-zero the
 * temp dir (logs, exports) is kept and its path printed, so a CI failure can be read. */
int wh_fixture_finish(wh_fixture *fx, int rc);

#endif
