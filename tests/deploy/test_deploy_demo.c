/* test_deploy_demo.c — `scripts/demo --exit`, the README's first command, run from the tree as a
 * user would (setup, release build in build/, private PostgreSQL, awm serve, awm worker, the
 * sample map exported over HTTP), in a var directory of its own (AWM_DEMO_VAR) so a developer's
 * running demo is left alone. It ends with a valid 18×24 poster: 5475×7275 px, an ICC profile,
 * 300 DPI; the services were stopped cleanly; a second run reuses the database.
 * Slow-ish (a release build and a full-size render): suite 'demo'. */
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_util.h"
#include "render/png_read.h"
#include "test.h"
#include "worker/worker_harness.h"

static char var[512];

/* The value printed after "label:" in the demo's summary (caller frees), or NULL. */
static char *summary_value(const char *out, const char *label)
{
    const char *p = strstr(out, label);
    if (!p)
        return NULL;
    p += strlen(label);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " \n");
    return strndup(p, n);
}

static int run_demo(char **out)
{
    return dt_sh_out(out, "cd '%s' && env AWM_DEMO_VAR='%s' scripts/demo --exit", dt_source_root(), var);
}

static void test_first_run_makes_a_poster(void)
{
    char *out = NULL;
    int status = run_demo(&out);
    CHECK_MSG(status == 0, "scripts/demo --exit exited %d:\n%s", status, out);
    CHECK_MSG(strstr(out, "creating the database cluster"), "%s", out);
    char *poster = summary_value(out, "poster:");
    CHECK_MSG(poster, "no poster line:\n%s", out);
    if (poster) {
        CHECK_MSG(!strncmp(poster, var, strlen(var)), "poster %s is not under %s/exports", poster, var);
        test_png h;
        CHECK_MSG(test_png_read_head(poster, &h), "%s is not a PNG", poster);
        CHECK_INT_EQ(h.w, 5475);
        CHECK_INT_EQ(h.h, 7275);
        CHECK(h.has_iccp && h.icc_len > 0);
        CHECK(h.has_phys);
        CHECK_INT_EQ(h.phys_unit, PNG_RESOLUTION_METER);
        CHECK_INT_EQ(h.phys_x, 11811); /* 300 DPI */
        CHECK_INT_EQ(h.phys_y, 11811);
    }
    free(poster);
    char *download = summary_value(out, "download:"), *page = summary_value(out, "web page:");
    CHECK(download && strstr(download, "/exports/"));
    CHECK(page && !strncmp(page, "http://127.0.0.1:", 17));
    free(download);
    free(page);

    /* Stopped cleanly: the worker and the server logged their stop, PostgreSQL is down. */
    char log[700];
    snprintf(log, sizeof log, "%s/logs/worker.log", var);
    json_t *ev = wh_log_events(log, "WORKER_STOPPED");
    CHECK_INT_EQ(json_array_size(ev), 1);
    json_decref(ev);
    ev = wh_log_events(log, "JOB_SUCCESS");
    CHECK_INT_EQ(json_array_size(ev), 1);
    json_decref(ev);
    snprintf(log, sizeof log, "%s/logs/serve.log", var);
    ev = wh_log_events(log, "SERVER_STOPPED");
    CHECK_INT_EQ(json_array_size(ev), 1);
    json_decref(ev);
    char pidfile[700];
    snprintf(pidfile, sizeof pidfile, "%s/postgres/postmaster.pid", var);
    CHECK_MSG(access(pidfile, F_OK) != 0, "PostgreSQL still running after the demo");
    snprintf(pidfile, sizeof pidfile, "%s/awm.pids", var);
    CHECK(access(pidfile, F_OK) != 0);
    free(out);
}

static void test_second_run_reuses_the_database(void)
{
    char *out = NULL;
    int status = run_demo(&out);
    CHECK_MSG(status == 0, "second run exited %d:\n%s", status, out);
    CHECK_MSG(strstr(out, "reusing the database"), "%s", out);
    CHECK(!strstr(out, "creating the database cluster"));
    CHECK_MSG(strstr(out, "poster:"), "%s", out);
    /* Both posters are there: the exports (and the database) outlived the first run. */
    char exports[700];
    snprintf(exports, sizeof exports, "%s/exports", var);
    CHECK_INT_EQ(tk_count_files(exports, "20"), 2);
    free(out);
}

int main(void)
{
    tk_mkdtemp_or_exit(var, sizeof var, "deploy-demo");
    /* As root, PostgreSQL runs as `postgres`, which must be able to enter the directory. */
    chmod(var, 0755);
    RUN(test_first_run_makes_a_poster);
    RUN(test_second_run_reuses_the_database);
    if (!getenv("AWM_KEEP_TEST_DIR"))
        tk_remove_tree(var);
    return TEST_EXIT();
}
