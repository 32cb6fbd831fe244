/* testkit.h — small helpers shared by the test fixtures and the benches, so each does not keep
 * its own copy: a free loopback TCP port, removing a directory tree, a tiny HTTP client. */
#ifndef AWM_TESTKIT_H
#define AWM_TESTKIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A TCP port that was free a moment ago, chosen at random below the kernel's ephemeral range so
 * that no outgoing connection is given it before the caller binds; 0 when none could be had.
 * Another test can still take it first, so callers that can retry should. */
int tk_free_port(void);

/* The TCP port process pid listens on (its first listening IPv4/IPv6 socket, read from /proc),
 * waiting up to timeout_s for it to bind; 0 when it did not. For servers started with port 0,
 * which cannot lose their port to another process the way a port picked beforehand can. */
int tk_listening_port(pid_t pid, double timeout_s);

/* Remove dir and everything under it (symlinks are removed, not followed); missing is fine. */
void tk_remove_tree(const char *dir);
/* How many entries under dir (files and folders, recursively, dir itself included) have a
 * name that starts with prefix ("" counts them all). Not thread-safe. */
int tk_count_files(const char *dir, const char *prefix);

/* Every harness and test starts its child processes with these (posix_spawn: no code runs
 * between fork and exec). How tk_spawn_with starts a program; all fields may be zero. */
typedef struct {
    const char *const *env; /* "NAME=value" on top of this process's environment ("NAME=" removes
                               NAME; a later entry for a name wins); NULL-terminated */
    const char *out_path;   /* stdout to this file (NULL: inherited) */
    const char *err_path;   /* stderr to this file (NULL: inherited); equal to out_path: one file */
    bool append;            /* append to those files instead of truncating them */
    int in_fd, out_fd, err_fd; /* when > 2: the child's stdin / stdout / stderr (a pipe's end) */
    bool null_stdin;        /* stdin from /dev/null */
    bool own_group;         /* in a process group of its own */
    bool search_path;       /* find prog in PATH, as execvp does */
} tk_spawn_options;

/* Start prog with args (NULL-terminated, not counting the program's name; at most 30). The
 * pid, or -1 when it could not be started. */
pid_t tk_spawn_with(const char *prog, const char *const *args, const tk_spawn_options *opt);
/* tk_spawn_with with only stdout and stderr redirected (created or truncated; NULL: inherited). */
pid_t tk_spawn(const char *prog, const char *const *args, const char *out_path, const char *err_path);

/* Wait for pid: its exit code, 128 + the signal that ended it, or -1 when it had not ended
 * within timeout_s (then it is killed and reaped). timeout_s <= 0 waits as long as it takes. */
int tk_wait(pid_t pid, double timeout_s);

/* tk_spawn + tk_wait with no timeout; -1 when it could not be started. */
int tk_run(const char *prog, const char *const *args, const char *out_path, const char *err_path);
/* tk_spawn_with + tk_wait with no timeout; -1 when it could not be started. */
int tk_run_with(const char *prog, const char *const *args, const tk_spawn_options *opt);

/* Sleep ms milliseconds (resumed after a signal). */
void tk_sleep_ms(long ms);
/* Make a fresh directory "$TMPDIR/awm-<name>-XXXXXX" (TMPDIR default /tmp) into buf; false when
 * it could not be made. Remove it with tk_remove_tree. */
bool tk_mkdtemp(char *buf, size_t size, const char *name);
/* tk_mkdtemp for a test's main: when the directory cannot be made it says so on stderr and ends
 * the test with status 1, so no case runs without its scratch directory. */
void tk_mkdtemp_or_exit(char *buf, size_t size, const char *name);

/* The fields of /proc/<pid>/stat after the command name, from the state letter on ("S 1 …"),
 * read into buf; NULL when the process is gone (or the file cannot be read). */
const char *tk_proc_stat(pid_t pid, char *buf, size_t size);

/* Run `cleanup` when this process is ended by SIGINT, SIGTERM, SIGHUP or SIGABRT, then let the
 * signal end it as usual. Each fixture registers its own (at most 8 in all); cleanup runs inside
 * the signal handler, so it may only do async-signal-safe things (kill, not free). */
void tk_on_fatal_signal(void (*cleanup)(void));

/* Resident memory of process pid in kB (VmRSS from /proc), -1 when it cannot be read. */
long tk_rss_kb(pid_t pid);

/* One HTTP request's options; all may be zero. */
typedef struct {
    const char *const *headers; /* NULL-terminated "Name: value" list */
    const char *body;           /* NULL: no body */
    size_t body_len;
    bool chunked;   /* send the body with Transfer-Encoding: chunked, no Content-Length */
    long timeout_s; /* 0: none */
    const char *ca_file;   /* https: trust this PEM (NULL: the system's) */
    const char *source_ip; /* connect from this local address, e.g. "127.0.0.2" (NULL: any) */
} tk_request;

typedef struct {
    long status;   /* HTTP status; -1 when no answer came (connection refused, timeout...) */
    char *body;    /* always NUL-terminated, never NULL */
    size_t len;
    char *headers; /* the raw header block ("Name: value\r\n" lines), NUL-terminated */
    json_t *json;  /* the parsed body when it is JSON, else NULL */
} tk_response;

/* Send method to url (sent as written: ../ is not resolved); HEAD asks for no body. Free the
 * answer with tk_response_free. */
tk_response tk_http(const char *method, const char *url, const tk_request *req);
void tk_response_free(tk_response *r);

#endif
