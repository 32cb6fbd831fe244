/* test_render_cli.c — `awm render` as a user runs it: exit codes, every validator message,
 * the size list, overrides, formats from the extension, a missing font, and that an
 * interrupted render (SIGTERM, SIGKILL) leaves nothing in the output directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "png_read.h"
#include "support/testkit.h"
#include "test.h"
#include "util/util.h"

static char g_dir[256], g_awm[1024], g_err_path[300];

static void path_in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", g_dir, name);
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    path_in_dir(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Start `awm render args...` (at most 28) with stdout to /dev/null and stderr to g_err_path;
 * extra_env "NAME=value" or NULL. */
static pid_t spawn(const char *const *args, const char *extra_env)
{
    const char *argv[30] = {"render"};
    for (int i = 0; args[i] && i < 28; i++)
        argv[i + 1] = args[i];
    tk_spawn_options opt = {.env = (const char *const[]){extra_env, NULL}, .out_path = "/dev/null",
                            .err_path = g_err_path};
    return tk_spawn_with(g_awm, argv, &opt);
}

static int run(const char *const *args, const char *extra_env)
{
    pid_t pid = spawn(args, extra_env);
    return pid < 0 ? -1 : tk_wait(pid, 0);
}

static char *stderr_text(void)
{
    char *text = NULL;
    size_t len;
    if (!awm_read_file(g_err_path, &text, &len, NULL))
        return awm_strdup("");
    return text;
}

static bool stderr_has(const char *needle)
{
    char *t = stderr_text();
    bool found = strstr(t, needle) != NULL;
    if (!found)
        fprintf(stderr, "  stderr lacks \"%s\"; it was:\n%s\n", needle, t);
    free(t);
    return found;
}

/* Files in the output directory; `allowed_prefix` (or NULL) names ones that do not count. */
static int stray_files_but(const char *subdir, const char *allowed_prefix)
{
    char d[512];
    path_in_dir(d, sizeof d, subdir);
    DIR *dir = opendir(d);
    int n = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (allowed_prefix && !strncmp(e->d_name, allowed_prefix, strlen(allowed_prefix)))
            continue;
        fprintf(stderr, "  left in %s: %s\n", subdir, e->d_name);
        n++;
    }
    if (dir)
        closedir(dir);
    return n;
}

static int stray_files(const char *subdir)
{
    return stray_files_but(subdir, NULL);
}

/* `awm render` with `args` is refused as invalid (exit 2), saying `message` on stderr. */
static void check_refused(const char *const *args, const char *message)
{
    int status = run(args, NULL);
    CHECK_MSG(status == 2, "exit %d, want 2 (%s)", status, message);
    CHECK_MSG(stderr_has(message), "stderr does not say: %s", message);
}

static void test_help(void)
{
    const char *args[] = {"--help", NULL};
    CHECK_INT_EQ(run(args, NULL), 0);
}

static void test_invalid_definition_lists_every_violation(void)
{
    write_file("bad.json", "{\"title\": \"\", \"zoom\": 0, \"people\": [{\"id\": \"a\", \"name\": \"A\","
                           " \"color\": \"red\", \"locations\": [{\"longitude\": 200, \"latitude\": -95}]}]}");
    char in[512], out[512];
    path_in_dir(in, sizeof in, "bad.json");
    path_in_dir(out, sizeof out, "out/bad.png");
    const char *args[] = {in, out, "--size", "8x10", NULL};
    CHECK_INT_EQ(run(args, NULL), 2);
    CHECK(stderr_has("title: must not be empty"));
    CHECK(stderr_has("people[0].color: must be a color #RRGGBB"));
    CHECK(stderr_has("people[0].locations[0].longitude: must be between -180 and 180"));
    CHECK(stderr_has("people[0].locations[0].latitude: must be between -90 and 90"));
    CHECK(stderr_has("zoom: must be greater than 0 and at most 20"));
    CHECK(access(out, F_OK) != 0);

    write_file("broken.json", "{\"title\": \"x\", \"people\": [");
    path_in_dir(in, sizeof in, "broken.json");
    CHECK_INT_EQ(run(args, NULL), 2);
    CHECK_INT_EQ(stray_files("out"), 0);
}

static void test_unknown_size_lists_sizes(void)
{
    char out[512];
    path_in_dir(out, sizeof out, "out/x.png");
    const char *args[] = {"--sample", out, "--size", "9x9", NULL};
    check_refused(args, "unknown size '9x9'");
    CHECK(stderr_has("8x10, 12x16, 18x24, 24x36"));
    CHECK(stderr_has("A1-landscape"));
}

static void test_bad_options(void)
{
    char out[512];
    path_in_dir(out, sizeof out, "out/x.tiff");
    const char *fmt[] = {"--sample", out, "--size", "8x10", NULL};
    check_refused(fmt, "unknown format 'tiff'");
    path_in_dir(out, sizeof out, "out/x.png");
    const char *dpi[] = {"--sample", out, "--size", "8x10", "--dpi", "600", NULL};
    check_refused(dpi, "--dpi");
    const char *theme[] = {"--sample", out, "--size", "8x10", "--theme", "neon", NULL};
    check_refused(theme, "theme: unknown theme \"neon\"");
    const char *proj[] = {"--sample", out, "--size", "8x10", "--projection", "globe", NULL};
    check_refused(proj, "projection: must be one of");
    const char *none[] = {"--sample", NULL};
    CHECK_INT_EQ(run(none, NULL), 2);
    /* pdf-cmyk: a profile is required, must exist and must be CMYK, and applies to PDF only. */
    path_in_dir(out, sizeof out, "out/x.pdf");
    const char *no_profile[] = {"--sample", out, "--size", "8x10", "--format", "pdf-cmyk", NULL};
    check_refused(no_profile, "pdf-cmyk needs --cmyk-profile");
    const char *missing[] = {"--sample", out, "--size", "8x10", "--cmyk-profile", "/nonexistent/fogra.icc", NULL};
    check_refused(missing, "CMYK profile /nonexistent/fogra.icc cannot be read");
    path_in_dir(out, sizeof out, "out/x.png");
    const char *png_cmyk[] = {"--sample", out, "--size", "8x10", "--cmyk-profile",
                              "/usr/share/color/icc/ghostscript/default_cmyk.icc", NULL};
    check_refused(png_cmyk, "--cmyk-profile applies to PDF output only");
    CHECK_INT_EQ(stray_files("out"), 0);
}

static void test_renders_with_overrides_and_formats(void)
{
    char out[512];
    path_in_dir(out, sizeof out, "out/sample.png");
    const char *args[] = {"--sample", out, "--size", "10x8", "--dpi", "20", "--theme", "cool-blue",
                          "--projection", "robinson", "--quiet", NULL};
    CHECK_INT_EQ(run(args, NULL), 0);
    test_png png;
    if (test_png_read(out, &png)) {
        CHECK_INT_EQ(png.w, 205); /* 738 / 72 × 20 */
        CHECK_INT_EQ(png.h, 165); /* 594 / 72 × 20 */
        CHECK_INT_EQ(test_png_pixel(&png, 0, 0), 0xf0f4f8); /* cool-blue canvas */
        test_png_free(&png);
    } else {
        CHECK_MSG(false, "no PNG at %s", out);
    }
    unlink(out);

    path_in_dir(out, sizeof out, "out/sample.pdf");
    const char *pdf[] = {"--sample", out, "--size", "8x10", "--quiet", NULL};
    CHECK_INT_EQ(run(pdf, NULL), 0);
    char *data = NULL;
    size_t len = 0;
    if (awm_read_file(out, &data, &len, NULL)) {
        CHECK(len > 4 && !memcmp(data, "%PDF", 4));
        free(data);
    } else {
        CHECK(false);
    }
    unlink(out);
    CHECK_INT_EQ(stray_files("out"), 0);
}

/* `awm` draws PNG and SVG without the service and PDF libraries (its PDF renders and service
 * commands run in awm-server, as the PDF render above did): a poster's process start loads
 * 45 shared libraries, not 77. */
static void test_drawing_binary_leaves_out_service_libraries(void)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "readelf -d '%s' | grep NEEDED | grep -E 'libpq|libcurl|libmicrohttpd|libqpdf'", g_awm);
    CHECK_MSG(system(cmd) != 0, "%s links a service or PDF library", g_awm);
    snprintf(cmd, sizeof cmd, "readelf -d '%s-server' | grep NEEDED | grep -q libqpdf", g_awm);
    CHECK_MSG(system(cmd) == 0, "%s-server does not link libqpdf", g_awm);
}

/* The same map gives the same bytes in two processes a second apart: the embedded ICC
 * profile carries no creation time (lcms stamps one unless it is pinned). */
static void test_same_map_same_bytes_across_runs(void)
{
    char out[2][512];
    char *data[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        if (i)
            usleep(1100 * 1000);
        path_in_dir(out[i], sizeof out[i], i ? "out/same-b.png" : "out/same-a.png");
        const char *args[] = {"--sample", out[i], "--size", "8x10", "--dpi", "20", "--quiet", NULL};
        CHECK_INT_EQ(run(args, NULL), 0);
        CHECK(awm_read_file(out[i], &data[i], &len[i], NULL));
    }
    CHECK(data[0] && data[1] && len[0] == len[1] && !memcmp(data[0], data[1], len[0]));
    for (int i = 0; i < 2; i++) {
        free(data[i]);
        unlink(out[i]);
    }
}

static void test_missing_fonts_fail_clearly(void)
{
    char in[512], out[512], env[600];
    path_in_dir(in, sizeof in, "good.json");
    write_file("good.json", "{\"title\": \"x\", \"people\": [{\"id\": \"a\", \"name\": \"A\", \"locations\": []}]}");
    path_in_dir(out, sizeof out, "out/nofont.png");
    /* An assets folder without @fontsource: no silent fallback to a system font. */
    snprintf(env, sizeof env, "AWM_ASSETS_DIR=%s/empty-assets", g_dir);
    char empty[512];
    path_in_dir(empty, sizeof empty, "empty-assets");
    mkdir(empty, 0755);
    const char *args[] = {in, out, "--size", "8x10", "--dpi", "10", NULL};
    CHECK_INT_EQ(run(args, env), 1);
    CHECK(stderr_has("font"));
    CHECK(access(out, F_OK) != 0);
    CHECK_INT_EQ(stray_files("out"), 0);
}

/* A render's own copy of the assets in `dest`: the sample map, the 110m geography, the fonts. */
static bool copy_assets(const char *dest)
{
    char cmd[2048];
    const char *src = awm_assets_dir();
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/assets/node_modules/world-atlas' && cp '%s/assets/sample-map.json' '%s/assets/' && "
             "cp '%s'/assets/node_modules/world-atlas/*-110m.json '%s/assets/node_modules/world-atlas/' && "
             "cp -r '%s/assets/node_modules/@fontsource' '%s/assets/node_modules/'",
             dest, src, dest, src, dest, src, dest);
    return system(cmd) == 0;
}

/* An installed system's assets are read-only: a render from a read-only copy of them keeps its
 * decoded geography in AWM_CACHE_DIR, and the next render reads it from there. (Tests run as
 * root, who may write into a read-only folder anyway: so what is checked is that no file
 * appeared in the assets, not only that the render worked.) */
static void test_read_only_assets_cache_elsewhere(void)
{
    char assets[512], cache[512], out[512], cmd[2048], src[1024], saved_cache[1024];
    snprintf(src, sizeof src, "%s", awm_assets_dir());
    snprintf(saved_cache, sizeof saved_cache, "%s", awm_env_str("AWM_CACHE_DIR", ""));
    path_in_dir(assets, sizeof assets, "ro-assets");
    path_in_dir(cache, sizeof cache, "cache");
    path_in_dir(out, sizeof out, "out/ro.png");
    CHECK(copy_assets(assets));
    snprintf(cmd, sizeof cmd, "chmod -R a-w '%s'", assets);
    CHECK_INT_EQ(system(cmd), 0);
    int before = tk_count_files(assets, "");
    CHECK(before > 3);
    setenv("AWM_ASSETS_DIR", assets, 1);
    setenv("AWM_CACHE_DIR", cache, 1);
    setenv("LOG_LEVEL", "debug", 1);
    const char *args[] = {"--sample", out, "--size", "8x10", "--dpi", "30", NULL};
    CHECK_INT_EQ(run(args, NULL), 0);
    CHECK_INT_EQ(tk_count_files(assets, ""), before);
    char path[700];
    snprintf(path, sizeof path, "%s/geo/land-110m.awmgeo", cache);
    CHECK_MSG(access(path, R_OK) == 0, "no geography cache at %s", path);
    snprintf(path, sizeof path, "%s/geo/countries-110m.awmgeo", cache);
    CHECK_MSG(access(path, R_OK) == 0, "no geography cache at %s", path);
    snprintf(path, sizeof path, "%s/geo/borders-110m.awmgeo", cache);
    CHECK_MSG(access(path, R_OK) == 0, "no borders cache at %s", path);
    CHECK(stderr_has("GEO_CACHE_WRITTEN"));
    /* The second render decodes no JSON: both layers come from the cache. */
    CHECK_INT_EQ(run(args, NULL), 0);
    char *log = stderr_text();
    CHECK_MSG(!strstr(log, "GEO_CACHE_MISS") && !strstr(log, "GEO_CACHE_WRITTEN"), "%s", log);
    free(log);
    CHECK_INT_EQ(tk_count_files(assets, ""), before);
    unsetenv("LOG_LEVEL");
    setenv("AWM_CACHE_DIR", saved_cache, 1);
    setenv("AWM_ASSETS_DIR", src, 1);
    unlink(out);
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'", assets);
    CHECK_INT_EQ(system(cmd), 0);
}

/* The fonts unpacked to TrueType are named by their source's content: a fresh checkout or clone
 * (new mtimes, same files) reuses them instead of adding twins; a changed file gets its own. */
static void test_font_cache_keyed_on_content(void)
{
    char assets[512], fonts[512], out[512], cmd[2048], src[1024];
    snprintf(src, sizeof src, "%s", awm_assets_dir());
    path_in_dir(assets, sizeof assets, "font-assets");
    path_in_dir(fonts, sizeof fonts, "font-cache");
    path_in_dir(out, sizeof out, "out/fonts.png");
    CHECK(copy_assets(assets));
    setenv("AWM_ASSETS_DIR", assets, 1);
    setenv("AWM_FONT_CACHE", fonts, 1);
    const char *args[] = {"--sample", out, "--size", "8x10", "--dpi", "10", NULL};
    CHECK_INT_EQ(run(args, NULL), 0);
    int unpacked = tk_count_files(fonts, "");
    CHECK_MSG(unpacked > 10, "%d entries in the font cache", unpacked);
    /* A clone: the same files with other mtimes. */
    snprintf(cmd, sizeof cmd, "find '%s/assets/node_modules/@fontsource' -type f -exec touch -d 2001-01-01 {} +",
             assets);
    CHECK_INT_EQ(system(cmd), 0);
    CHECK_INT_EQ(run(args, NULL), 0);
    CHECK_INT_EQ(tk_count_files(fonts, ""), unpacked);
    /* New content under a file's name (the serif's Latin file: still a font with Latin). */
    snprintf(cmd, sizeof cmd,
             "cd '%s/assets/node_modules/@fontsource' && "
             "cp cormorant-garamond/files/cormorant-garamond-latin-400-normal.woff2 dm-sans/files/dm-sans-latin-400-normal.woff2",
             assets);
    CHECK_INT_EQ(system(cmd), 0);
    CHECK_INT_EQ(run(args, NULL), 0);
    CHECK_INT_EQ(tk_count_files(fonts, ""), unpacked + 1);
    setenv("AWM_ASSETS_DIR", src, 1);
    unsetenv("AWM_FONT_CACHE");
    unlink(out);
}

/* Wait until the child has its output file open in `dir` (an unnamed O_TMPFILE shows in
 * /proc as "<dir>/#<inode> (deleted)", a named temp file by its path). */
static bool wait_for_output_open(pid_t pid, const char *dir)
{
    for (int tries = 0; tries < 3000; tries++) {
        char fddir[64];
        snprintf(fddir, sizeof fddir, "/proc/%d/fd", (int)pid);
        DIR *d = opendir(fddir);
        struct dirent *e;
        bool found = false;
        while (d && (e = readdir(d))) {
            char link[128], target[1024];
            snprintf(link, sizeof link, "%s/%s", fddir, e->d_name);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n > 0) {
                target[n] = '\0';
                if (!strncmp(target, dir, strlen(dir)) && target[strlen(dir)] == '/')
                    found = true;
            }
        }
        if (d)
            closedir(d);
        if (found)
            return true;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void kill_mid_render(int sig, const char *subdir)
{
    char dir[512], out[600];
    path_in_dir(dir, sizeof dir, subdir);
    mkdir(dir, 0755);
    snprintf(out, sizeof out, "%s/poster.png", dir);
    /* A big poster, so it is still being written when the signal comes. */
    const char *args[] = {"--sample", out, "--size", "24x36", "--quiet", NULL};
    pid_t pid = spawn(args, NULL);
    bool open_seen = wait_for_output_open(pid, dir);
    CHECK_MSG(open_seen, "the render never opened its output in %s", dir);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    if (open_seen) {
        CHECK(WIFSIGNALED(status));
        if (WIFSIGNALED(status))
            CHECK_INT_EQ(WTERMSIG(status), sig);
    }
    /* The renderer writes an unnamed file (O_TMPFILE) that vanishes with the process. Where
     * the filesystem lacks O_TMPFILE it falls back to a named temp file: SIGTERM still
     * removes it, SIGKILL cannot, and then the leftover must carry the temp prefix that
     * sweepers look for (and never the final name). */
    int probe = open(dir, O_TMPFILE | O_WRONLY, 0600);
    bool unnamed = probe >= 0;
    if (probe >= 0)
        close(probe);
    if (!unnamed && sig == SIGKILL) {
        fprintf(stderr, "  note: no O_TMPFILE in %s; checking the temp prefix only\n", dir);
        CHECK(access(out, F_OK) != 0);
        CHECK_INT_EQ(stray_files_but(subdir, AWM_TEMP_PREFIX), 0);
    } else {
        CHECK_INT_EQ(stray_files(subdir), 0);
    }
}

static void test_sigterm_leaves_nothing(void)
{
    kill_mid_render(SIGTERM, "term");
}

static void test_sigkill_leaves_nothing(void)
{
    kill_mid_render(SIGKILL, "kill");
}

int main(void)
{
    const char *build = getenv("AWM_BUILD_ROOT");
    snprintf(g_awm, sizeof g_awm, "%s/src/cli/awm", build ? build : ".");
    if (access(g_awm, X_OK) != 0) {
        fprintf(stderr, "awm binary not found at %s\n", g_awm);
        return 1;
    }
    tk_mkdtemp_or_exit(g_dir, sizeof g_dir, "render-cli");
    /* stderr of the children goes outside the output directories */
    snprintf(g_err_path, sizeof g_err_path, "%s/stderr.txt", g_dir);
    char out[512];
    path_in_dir(out, sizeof out, "out");
    mkdir(out, 0755);

    RUN(test_help);
    RUN(test_invalid_definition_lists_every_violation);
    RUN(test_unknown_size_lists_sizes);
    RUN(test_bad_options);
    RUN(test_renders_with_overrides_and_formats);
    RUN(test_same_map_same_bytes_across_runs);
    RUN(test_drawing_binary_leaves_out_service_libraries);
    RUN(test_missing_fonts_fail_clearly);
    RUN(test_read_only_assets_cache_elsewhere);
    RUN(test_font_cache_keyed_on_content);
    RUN(test_sigterm_leaves_nothing);
    RUN(test_sigkill_leaves_nothing);
    tk_remove_tree(g_dir);
    return TEST_EXIT();
}
