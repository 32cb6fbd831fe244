/* test_web_ui.c — the web page in a real browser against the real system: a private
 * PostgreSQL, `awm serve` (serving web/ from the source tree) and one `awm worker`, started
 * here (tests/worker/worker_harness), then `node --test tests/web/web.test.mjs`, which drives
 * Debian's chromium through playwright-core (tests/web/node_modules, installed by scripts/setup).
 * The node script holds the browser assertions; this program passes when it does and when
 * the server and worker then stop cleanly.
 *
 * Environment for the script: AWM_URL (the server), AWM_TMP (a scratch directory), AWM_DATABASE_URL
 * (to count maps with psql), AWM_CONTROL (see serve_control) and, passed
 * through when set, AWM_SCREENSHOT (where to save a screenshot of the page, e.g.
 * docs/screenshot.png) and CHROMIUM (the browser binary; default /usr/bin/chromium).
 * The README's screenshot is refreshed with
 *   AWM_SCREENSHOT=$PWD/docs/screenshot.png meson test -C build-asan web_ui */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#include "test.h"
#include "worker/worker_harness.h"


static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The script may stop and restart `awm serve` (to show the page riding out a server that goes
 * away): it writes "stop" or "start" to $AWM_CONTROL/request; this answers in
 * $AWM_CONTROL/done ("ok", or "failed") once the server is down, or up and healthy, on the same
 * port. A real stop, not SIGSTOP: a stopped process would leave requests hanging, not failing. */
static void serve_control(wh_fixture *fx, const char *dir)
{
    char request[1100], done[1100], tmp[1100], what[16] = "";
    snprintf(request, sizeof request, "%s/request", dir);
    FILE *f = fopen(request, "r");
    if (!f)
        return;
    bool read = fgets(what, sizeof what, f) != NULL;
    fclose(f);
    if (!read || !strchr(what, '\n'))
        return; /* still being written (the script ends the word with a newline) */
    unlink(request);
    bool ok = false;
    if (!strcmp(what, "stop\n"))
        ok = wh_stop(&fx->api, SIGTERM, 30) == 0;
    else if (!strcmp(what, "start\n"))
        ok = wh_api_start(fx);
    CHECK_MSG(ok, "the browser test asked to %.*s awm serve, which failed", (int)strcspn(what, "\n"), what);
    /* written under another name, then renamed: the script never reads half an answer */
    snprintf(tmp, sizeof tmp, "%s/done.tmp", dir);
    snprintf(done, sizeof done, "%s/done", dir);
    f = fopen(tmp, "w");
    if (f) {
        fputs(ok ? "ok\n" : "failed\n", f);
        fclose(f);
        rename(tmp, done);
    }
}

/* Run the browser script, serving its control requests meanwhile; its exit status (128 + signal
 * when killed). */
static int run_node(wh_fixture *fx, const char *source_root)
{
    char script[1024], modules[1024], control[700];
    snprintf(script, sizeof script, "%s/tests/web/web.test.mjs", source_root);
    snprintf(modules, sizeof modules, "%s/tests/web/node_modules/playwright-core", source_root);
    snprintf(control, sizeof control, "%s/control", fx->dir);
    const char *chromium = getenv("CHROMIUM") ? getenv("CHROMIUM") : "/usr/bin/chromium";
    CHECK_MSG(exists(modules), "%s is missing: run scripts/setup (npm ci in tests/web)", modules);
    CHECK_MSG(exists(chromium), "%s is missing: run scripts/setup (Debian package chromium)", chromium);
    if (!exists(modules) || !exists(chromium))
        return -1;
    CHECK_MSG(mkdir(control, 0700) == 0, "cannot create %s", control);
    setenv("AWM_URL", fx->api_url, 1);
    setenv("AWM_TMP", fx->dir, 1);
    setenv("AWM_CONTROL", control, 1);
    setenv("AWM_DATABASE_URL", pg_harness_conninfo(fx->pg), 1);
    setenv("CHROMIUM", chromium, 1);
    char *argv[] = {"node", "--test", "--test-concurrency=1", script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "node", NULL, NULL, argv, environ);
    CHECK_MSG(rc == 0, "cannot start node: %s", strerror(rc));
    if (rc != 0)
        return -1;
    int status = 0;
    pid_t waited;
    while ((waited = waitpid(pid, &status, WNOHANG)) == 0) {
        serve_control(fx, control);
        tk_sleep_ms(50);
    }
    if (waited < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The last lines of a log in dir, on stderr, to tell what the server or worker was doing. */
static void print_tail(const char *dir, const char *name)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "echo '--- last lines of %s:'; tail -n 30 '%s/%s' | cut -c1-400 >&2", name, dir, name);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot read %s/%s\n", dir, name);
}

int main(void)
{
    const char *source_root = getenv("AWM_SOURCE_ROOT");
    if (!source_root) {
        fprintf(stderr, "AWM_SOURCE_ROOT is not set (meson sets it)\n");
        return 2;
    }
    wh_fixture fx;
    bool started = wh_fixture_start(&fx);
    CHECK(started);
    wh_proc worker = {0};
    bool worker_started = started && wh_worker_start(&fx, &worker, "worker", NULL, NULL);
    CHECK(worker_started);
    if (worker_started) {
        int status = run_node(&fx, source_root);
        CHECK_MSG(status == 0, "the browser tests failed (node exit status %d)", status);
        if (status != 0) {
            print_tail(fx.dir, "api.log");
            print_tail(fx.dir, "worker.log");
        }
        CHECK_INT_EQ(wh_stop(&worker, SIGTERM, 60), 0);
    }
    if (started) {
        CHECK_INT_EQ(wh_stop(&fx.api, SIGTERM, 30), 0);
        wh_fixture_stop(&fx);
    }
    return TEST_EXIT();
}
