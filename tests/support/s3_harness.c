/* s3_harness.c — see s3_harness.h. The server is `node tests/s3server/start.js <dir> <bucket>
 * <key> <secret>`, run with tk_spawn_with (no shell); it prints "S3RVER_READY <port>" on stdout
 * once it serves, and its stderr goes to <dir>/s3rver.log, quoted in error messages. */
#include "s3_harness.h"
#include "testkit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR_PREFIX "awm-s3-"
#define READY_TIMEOUT_MS 60000

struct s3_harness {
    char dir[512];        /* temp directory: owner.pid, s3rver.log, data/ */
    char endpoint[64];
    int port;
    pid_t pid;
    int stdin_fd;         /* write end of the server's stdin: closing it stops the server */
};

static const char *tmp_root(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* Directories of test processes that died without destroy (their servers went with them). */
static void sweep_stale_dirs(void)
{
    DIR *d = opendir(tmp_root());
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/owner.pid", tmp_root(), e->d_name);
        FILE *f = fopen(path, "r");
        long pid = 0;
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        if (pid <= 0) {
            /* No owner recorded yet: maybe a start in progress elsewhere; only old ones go. */
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", tmp_root(), e->d_name);
            if (stat(path, &sb) != 0 || time(NULL) - sb.st_mtime < 3600)
                continue;
        }
        snprintf(path, sizeof path, "%s/%s", tmp_root(), e->d_name);
        tk_remove_tree(path);
    }
    closedir(d);
}

/* The last lines of the server's log, for error messages. */
static void log_tail(const s3_harness *s3, char *out, size_t size)
{
    char path[600];
    snprintf(path, sizeof path, "%s/s3rver.log", s3->dir);
    char *data = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (!awm_read_file(path, &data, &len, NULL))
        return;
    const char *start = len > size - 1 ? data + len - (size - 1) : data;
    snprintf(out, size, "%s", start);
    free(data);
}

static bool find_script(char *script, size_t size, awm_error *err)
{
    const char *root = awm_env_str("AWM_SOURCE_ROOT", AWM_DEFAULT_ASSETS_DIR);
    snprintf(script, size, "%s/tests/s3server/start.js", root);
    char mod[1200];
    snprintf(mod, sizeof mod, "%s/tests/s3server/node_modules/@20minutes/s3rver/package.json", root);
    if (access(script, R_OK) != 0 || access(mod, R_OK) != 0) {
        awm_error_set(err, "s3 harness: %s or its node_modules missing (run scripts/setup: npm ci in "
                      "tests/s3server)", script);
        return false;
    }
    return true;
}

s3_harness *s3_harness_start(const char *bucket, const char *access_key_id,
                             const char *secret_access_key, awm_error *err)
{
    char script[1100];
    if (!find_script(script, sizeof script, err))
        return NULL;
    sweep_stale_dirs();
    s3_harness *s3 = awm_xcalloc(1, sizeof *s3);
    s3->stdin_fd = -1;
    snprintf(s3->dir, sizeof s3->dir, "%s/" DIR_PREFIX "XXXXXX", tmp_root());
    if (!mkdtemp(s3->dir)) {
        awm_error_set(err, "s3 harness: cannot create %s: %s", s3->dir, strerror(errno));
        free(s3);
        return NULL;
    }
    char path[700], data_dir[600];
    snprintf(path, sizeof path, "%s/owner.pid", s3->dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
    snprintf(data_dir, sizeof data_dir, "%s/data", s3->dir);
    snprintf(path, sizeof path, "%s/s3rver.log", s3->dir);
    int in_pipe[2], out_pipe[2];
    /* O_CLOEXEC: no other child of this process may inherit the stdin write end, or the
     * server would live as long as that child does. */
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
        awm_error_set(err, "s3 harness: pipe: %s", strerror(errno));
        tk_remove_tree(s3->dir);
        free(s3);
        return NULL;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
        awm_error_set(err, "s3 harness: pipe: %s", strerror(errno));
        close(in_pipe[0]), close(in_pipe[1]);
        tk_remove_tree(s3->dir);
        free(s3);
        return NULL;
    }
    const char *args[] = {script, data_dir, bucket, access_key_id, secret_access_key, NULL};
    tk_spawn_options opt = {.in_fd = in_pipe[0], .out_fd = out_pipe[1], .err_path = path, .search_path = true};
    pid_t pid = tk_spawn_with("node", args, &opt);
    if (pid < 0)
        pid = tk_spawn_with("/usr/bin/node", args, &opt);
    close(in_pipe[0]);
    close(out_pipe[1]);
    s3->stdin_fd = in_pipe[1];
    if (pid < 0) {
        awm_error_set(err, "s3 harness: cannot run node (is it installed? scripts/setup)");
        close(out_pipe[0]);
        s3_harness_destroy(s3);
        return NULL;
    }
    s3->pid = pid;

    /* Wait for "S3RVER_READY <port>\n" (or EOF: the server died). */
    char line[128];
    size_t used = 0;
    double deadline = awm_now_seconds() + READY_TIMEOUT_MS / 1000.0;
    bool ready = false;
    while (!ready && used + 1 < sizeof line) {
        int left = (int)((deadline - awm_now_seconds()) * 1000);
        if (left <= 0)
            break;
        struct pollfd pfd = {out_pipe[0], POLLIN, 0};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        ssize_t n = read(out_pipe[0], line + used, sizeof line - 1 - used);
        if (n <= 0)
            break;
        used += (size_t)n;
        line[used] = '\0';
        ready = strchr(line, '\n') && sscanf(line, "S3RVER_READY %d", &s3->port) == 1;
    }
    close(out_pipe[0]);
    if (!ready) {
        char tail[600];
        tk_sleep_ms(100); /* let a dying server finish its message */
        log_tail(s3, tail, sizeof tail);
        awm_error_set(err, "s3 harness: the server did not start (log %s/s3rver.log): %s", s3->dir,
                      tail[0] ? tail : "(empty)");
        s3_harness_destroy(s3);
        return NULL;
    }
    snprintf(s3->endpoint, sizeof s3->endpoint, "http://127.0.0.1:%d", s3->port);
    return s3;
}

const char *s3_harness_endpoint(const s3_harness *s3)
{
    return s3->endpoint;
}

int s3_harness_port(const s3_harness *s3)
{
    return s3->port;
}

const char *s3_harness_dir(const s3_harness *s3)
{
    return s3->dir;
}

pid_t s3_harness_pid(const s3_harness *s3)
{
    return s3->pid;
}

void s3_harness_destroy(s3_harness *s3)
{
    if (!s3)
        return;
    if (s3->stdin_fd >= 0)
        close(s3->stdin_fd);
    if (s3->pid > 0) {
        bool gone = false;
        for (int i = 0; i < 100 && !gone; i++) {
            pid_t r = waitpid(s3->pid, NULL, WNOHANG);
            gone = r == s3->pid || (r < 0 && errno == ECHILD);
            if (!gone)
                tk_sleep_ms(50);
        }
        if (!gone) {
            kill(s3->pid, SIGKILL);
            waitpid(s3->pid, NULL, 0);
        }
    }
    if (s3->dir[0])
        tk_remove_tree(s3->dir);
    free(s3);
}
