/* test_deploy_demo.c — `scripts/demo --exit`, the README's first command, run from the tree as a
 * user would (setup, release build in build/, private PostgreSQL, awm serve, awm worker, the
 * sample map exported over HTTP), in a var directory of its own (AWM_DEMO_VAR) so a developer's
 * running demo is left alone. It ends with a valid 18×24 poster: 5475×7275 px, an ICC profile,
 * 300 DPI; the services were stopped cleanly; a second run reuses the database.
 * Slow-ish (a release build and a full-size render): suite 'demo'. */
#include <png.h>
#include <setjmp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_util.h"
#include "test.h"
#include "worker/worker_harness.h"

static char var[512];

typedef struct {
    unsigned w, h;
    bool iccp;
    png_uint_32 ppm_x, ppm_y;
    int unit;
} png_head;

/* Header chunks only (the pixels are not needed). */
static bool read_png_head(const char *path, png_head *out)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        return false;
    }
    png_init_io(png, fp);
    png_read_info(png, info);
    out->w = png_get_image_width(png, info);
    out->h = png_get_image_height(png, info);
    png_charp name;
    int comp;
    png_bytep prof;
    png_uint_32 len;
    out->iccp = png_get_iCCP(png, info, &name, &comp, &prof, &len) && len > 0;
    png_get_pHYs(png, info, &out->ppm_x, &out->ppm_y, &out->unit);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return true;
}

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
        png_head h;
        CHECK_MSG(read_png_head(poster, &h), "%s is not a PNG", poster);
        CHECK_INT_EQ(h.w, 5475);
        CHECK_INT_EQ(h.h, 7275);
        CHECK(h.iccp);
        CHECK_INT_EQ(h.unit, PNG_RESOLUTION_METER);
        CHECK_INT_EQ(h.ppm_x, 11811); /* 300 DPI */
        CHECK_INT_EQ(h.ppm_y, 11811);
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
