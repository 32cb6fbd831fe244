/* web_bench.c — what the web page waits for: the live preview and the place search.
 *
 *   GET /render?data=<sample map>&size=18x24&dpi=60&format=png   the preview of
 *       assets/sample-map.json (18x24 at 60 DPI = 1095 × 1455 px), 30 requests one after
 *       another after 3 warm-ups, timed to the last byte
 *   GET /api/places?q=...&limit=8                                  1600 searches (16 queries:
 *       prefixes, names in four scripts, "City, Country"), median, p90 and p99
 *   the place index's size and load time at start-up (the server's PLACES_LOADED log line)
 *   with AWM_BENCH_BROWSER (set by run.sh): the page in chromium, first preview after navigation
 *       and preview after an edit, two versions interleaved (bench/web/browser.mjs)
 *
 * A private PostgreSQL (tests/support/pg_harness) and `awm serve` run on this machine.
 * Target: preview median ≤ 100 ms.
 *
 * usage: web_bench path/to/awm [requests]   (run through bench/web/run.sh: release build) */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/pg_harness.h"
#include "support/testkit.h"
#include "util/util.h"

static int g_port;
static pg_harness *g_pg;
static pid_t g_server;

static void die(const char *what)
{
    fprintf(stderr, "web_bench: %s\n", what);
    if (g_server > 0)
        kill(g_server, SIGTERM);
    pg_harness_destroy(g_pg);
    exit(1);
}

static size_t count_bytes(char *d, size_t s, size_t n, void *u)
{
    (void)d;
    *(size_t *)u += s * n;
    return s * n;
}

/* GET path; seconds to the last byte; status and body size out. */
static double timed_get(CURL *c, const char *path, long *status, size_t *bytes)
{
    static char url[1 << 16];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    *bytes = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, bytes);
    double t0 = awm_now_seconds();
    CURLcode rc = curl_easy_perform(c);
    double t = awm_now_seconds() - t0;
    *status = 0;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    return t;
}

static char *base64url(const char *s, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = awm_xmalloc(n * 4 / 3 + 4), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)s[i + 2];
        *o++ = A[v >> 18 & 63];
        *o++ = A[v >> 12 & 63];
        if (i + 1 < n) *o++ = A[v >> 6 & 63];
        if (i + 2 < n) *o++ = A[v & 63];
    }
    *o = '\0';
    return out;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("%-44s median %7.1f ms   p90 %7.1f ms   min %7.1f ms   max %7.1f ms   (n=%d)\n", what,
           t[n / 2] * 1e3, t[(n * 9) / 10] * 1e3, t[0] * 1e3, t[n - 1] * 1e3, n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s path/to/awm [requests]\n", argv[0]);
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 30;
    if (n < 3 || n > 10000)
        n = 30;
    awm_error err = {{0}};
    char sample_path[4096];
    char *sample = NULL;
    size_t sample_len;
    if (!awm_asset_path(sample_path, sizeof sample_path, "assets/sample-map.json") ||
        !awm_read_file(sample_path, &sample, &sample_len, &err))
        die(err.msg[0] ? err.msg : "cannot find assets/sample-map.json");
    curl_global_init(CURL_GLOBAL_ALL);
    g_pg = pg_harness_start(&err);
    if (!g_pg)
        die(err.msg);
    g_port = tk_free_port();
    char port_text[16], log_path[] = "/tmp/awm-web-bench-XXXXXX";
    int log_fd = mkstemp(log_path);
    if (log_fd < 0)
        die("cannot create a log file");
    close(log_fd);
    snprintf(port_text, sizeof port_text, "%d", g_port);
    setenv("PORT", port_text, 1);
    setenv("HOST", "127.0.0.1", 1);
    setenv("DATABASE_URL", pg_harness_conninfo(g_pg), 1);
    setenv("EXPORT_DIR", "/tmp", 1);
    setenv("RATE_LIMIT_PLACES", "0", 1); /* off: the bench sends more than the 600 a minute allowed */
    setenv("RATE_LIMIT_RENDERS", "0", 1);    /* and more previews than 120 a minute (the browser rounds) */
    setenv("RATE_LIMIT_MAP_WRITES", "0", 1); /* each browser round's edit saves a new map */
    g_server = tk_spawn(argv[1], (const char *const[]){"serve", NULL}, NULL, log_path);
    if (g_server < 0)
        die("cannot start awm serve");
    CURL *c = curl_easy_init();
    long status = 0;
    size_t bytes;
    for (int i = 0; i < 300 && status != 200; i++) {
        usleep(100000);
        timed_get(c, "/api/health", &status, &bytes);
    }
    if (status != 200)
        die("awm serve did not answer");

    char *data = base64url(sample, sample_len);
    awm_buf path = {0};
    awm_buf_printf(&path, "/render?size=18x24&dpi=60&format=png&data=%s", data);
    double *t = awm_xcalloc((size_t)n, sizeof *t);
    for (int i = 0; i < 3; i++)
        timed_get(c, path.data, &status, &bytes);
    for (int i = 0; i < n; i++) {
        t[i] = timed_get(c, path.data, &status, &bytes);
        if (status != 200)
            die("GET /render did not answer 200");
    }
    printf("preview PNG: 18x24 at 60 DPI, %zu bytes\n", bytes);
    report("GET /render (sample map, 18x24, 60 DPI)", t, n);

    /* Prefixes, whole names in four scripts, and "City, Country/Region" (URL-encoded). */
    static const char *const queries[] = {"lon", "sao%20p", "zur", "new%20y", "par", "tok", "be", "san",
                                          "m%C3%BCnchen", "york", "%E6%9D%B1%E4%BA%AC",
                                          "%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0", "Paris%2C%20France",
                                          "Paris%2C%20Texas", "Hallstatt", "s"};
    const int nkinds = (int)(sizeof queries / sizeof *queries), nq = 1600;
    double *tq = awm_xcalloc(nq, sizeof *tq);
    for (int i = 0; i < nq; i++) {
        char qp[128];
        snprintf(qp, sizeof qp, "/api/places?limit=8&q=%s", queries[i % nkinds]);
        tq[i] = timed_get(c, qp, &status, &bytes);
        if (status != 200)
            die("GET /api/places did not answer 200");
    }
    report("GET /api/places (16 queries, limit 8)", tq, nq);
    printf("GET /api/places p99 %.2f ms, median %.2f ms\n", tq[(nq * 99) / 100] * 1e3, tq[nq / 2] * 1e3);

    /* The page in a browser (bench/web/browser.mjs), when run.sh found node and chromium. */
    const char *browser = getenv("AWM_BENCH_BROWSER");
    if (browser && *browser) {
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", g_port);
        setenv("AWM_URL", url, 1);
        fflush(stdout);
        tk_spawn_options opt = {.search_path = true};
        if (tk_run_with("node", (const char *const[]){browser, getenv("AWM_BENCH_ROUNDS"), NULL}, &opt) != 0)
            die("bench/web/browser.mjs failed");
    }

    kill(g_server, SIGTERM);
    waitpid(g_server, NULL, 0);
    g_server = 0;
    char *log = NULL;
    size_t log_len;
    if (awm_read_file(log_path, &log, &log_len, NULL)) {
        const char *line = strstr(log, "\"PLACES_LOADED\"");
        const char *ms = line ? strstr(line, "\"ms\":") : NULL, *size = line ? strstr(line, "\"bytes\":") : NULL;
        const char *built = line ? strstr(line, "\"built\":true") : NULL;
        if (ms && size)
            printf("gazetteer index %s at start-up: %.1f ms, %.1f MB%s\n", built ? "built" : "loaded",
                   strtod(ms + 5, NULL), strtod(size + 8, NULL) / 1e6,
                   built ? " (no cache yet: run again for the load time)" : "");
    }
    free(log);
    unlink(log_path);
    curl_easy_cleanup(c);
    free(t);
    free(tq);
    free(data);
    free(sample);
    awm_buf_free(&path);
    pg_harness_destroy(g_pg);
    curl_global_cleanup();
    return 0;
}
