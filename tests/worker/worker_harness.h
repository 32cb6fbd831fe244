/* worker_harness.h — what the worker's end-to-end tests share: child processes (`awm serve`,
 * `awm worker`) with their own environment and log file, free ports, a small libcurl client
 * and readers for the JSON-line logs. Children are killed if the test dies (atexit, signals). */
#ifndef AWM_TESTS_WORKER_HARNESS_H
#define AWM_TESTS_WORKER_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char log_path[1024];
    int exit_status; /* after wait: exit code, or 128 + signal */
} wh_proc;

/* A free TCP port on 127.0.0.1 (bound and released). */
int wh_free_port(void);

/* The `awm` binary of this build ($AWM_BUILD_ROOT/src/cli/awm). */
const char *wh_awm_path(void);

/* Start `awm <args...>` with the current environment plus `env` ("NAME=value" strings,
 * NULL-terminated; "NAME=" removes NAME). stdout and stderr go to log_path (appended). */
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

/* Log lines (JSON objects) of a process whose "event" is `event`; new array reference. */
json_t *wh_log_events(const char *log_path, const char *event);
/* Wait until the log has at least `count` lines with `event`, up to timeout_s. */
bool wh_wait_log_event(const char *log_path, const char *event, int count, double timeout_s);

void wh_sleep_ms(long ms);
double wh_now(void);

/* A temp directory under $TMPDIR (or /tmp); removed (recursively) by wh_rmtree. */
bool wh_mkdtemp(char *buf, size_t size, const char *name);
void wh_rmtree(const char *dir);
/* Files (recursively) whose name starts with `prefix`; how many. */
int wh_count_files(const char *dir, const char *prefix);

#endif
