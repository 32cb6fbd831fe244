/* api_bench.c — throughput and tail latency of `awm serve` under wrk (64 connections):
 *
 *   GET  /api/jobs/{id}   a print job with its events (one query, JSON built by PostgreSQL)
 *   POST /api/maps        a map definition validated and stored (wrk Lua script)
 *
 * A private PostgreSQL (tests/support/pg_harness, fsync on) and the server run on this
 * machine, as does wrk; the figures are what one host does with everything on it.
 *
 * usage: api_bench path/to/awm [seconds]   (run through bench/api/run.sh: release build) */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
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

#define MAP                                                                                         \
    "{\"title\":\"Bench\",\"subtitle\":\"2025\",\"projection\":\"orthographic\",\"people\":[{\"id\":" \
    "\"a\",\"name\":\"Ana\",\"locations\":[{\"longitude\":-74.006,\"latitude\":40.7128,\"date\":"      \
    "\"2010-01-01\"},{\"longitude\":-0.1276,\"latitude\":51.5074,\"date\":\"2015-06-15\"}]}]}"

static int g_port;
static pg_harness *g_pg;
static pid_t g_server;

static void die(const char *what)
{
    fprintf(stderr, "api_bench: %s\n", what);
    if (g_server > 0)
        kill(g_server, SIGTERM);
    pg_harness_destroy(g_pg);
    exit(1);
}

static json_t *http(const char *method, const char *path, const char *body, long *status)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    tk_request req = {.headers = headers, .body = body, .body_len = body ? strlen(body) : 0};
    tk_response r = tk_http(method, url, &req);
    *status = r.status;
    json_t *j = r.json;
    r.json = NULL;
    tk_response_free(&r);
    return j;
}

/* Run wrk and pull "Requests/sec" and the 50% and 99% latencies (ms) from its --latency output. */
static void run_wrk(const char *label, const char *path, const char *script, int seconds)
{
    char cmd[1024], url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", g_port, path);
    snprintf(cmd, sizeof cmd, "nice -n 5 wrk -t2 -c64 -d%ds --latency %s%s %s 2>&1", seconds,
             script ? "-s " : "", script ? script : "", url);
    FILE *p = popen(cmd, "r");
    if (!p)
        die("cannot run wrk");
    char line[512];
    double rps = 0, p50 = 0, p99 = 0;
    long non2xx = 0;
    while (fgets(line, sizeof line, p)) {
        char unit[8] = "";
        double v;
        if (sscanf(line, " Requests/sec: %lf", &v) == 1)
            rps = v;
        else if (sscanf(line, " 99%% %lf%7s", &v, unit) == 2)
            p99 = !strcmp(unit, "us") ? v / 1000 : !strcmp(unit, "s") ? v * 1000 : v;
        else if (sscanf(line, " 50%% %lf%7s", &v, unit) == 2)
            p50 = !strcmp(unit, "us") ? v / 1000 : !strcmp(unit, "s") ? v * 1000 : v;
        else if (sscanf(line, " Non-2xx or 3xx responses: %ld", &non2xx) == 1) {
        }
    }
    pclose(p);
    printf("%-22s %8.0f req/s   p50 %6.2f ms   p99 %7.2f ms%s\n", label, rps, p50, p99,
           non2xx ? "   (non-2xx answers!)" : "");
    fflush(stdout);
}

/* The 1-minute load average: the machine is shared, so figures are read next to it. */
static double load_average(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: api_bench path/to/awm [seconds]\n");
        return 2;
    }
    int seconds = argc > 2 ? atoi(argv[2]) : 10;
    curl_global_init(CURL_GLOBAL_ALL);
    awm_error err = {{0}};
    g_pg = pg_harness_start(&err);
    if (!g_pg)
        die(err.msg);
    g_port = tk_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", g_port);
    setenv("DATABASE_URL", pg_harness_conninfo(g_pg), 1);
    setenv("PORT", port, 1);
    setenv("HOST", "127.0.0.1", 1);
    setenv("EXPORT_DIR", "/tmp", 1);
    g_server = tk_spawn(argv[1], (const char *const[]){"serve", NULL}, NULL, "/dev/null");
    if (g_server < 0)
        die("cannot start awm serve");
    long st = -1;
    for (int i = 0; i < 300 && st < 0; i++) {
        json_decref(http("GET", "/api/health", NULL, &st));
        if (st < 0)
            usleep(100000);
    }
    if (st != 200)
        die("server did not become healthy");

    json_t *m = http("POST", "/api/maps", MAP, &st);
    const char *map_id = json_string_value(json_object_get(json_object_get(m, "userMap"), "id"));
    if (st != 201 || !map_id)
        die("POST /api/maps failed");
    char body[256];
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":18,\"heightInches\":24}", map_id);
    json_t *e = http("POST", "/api/export", body, &st);
    const char *job_id = json_string_value(json_object_get(e, "printJobId"));
    if (st != 202 || !job_id)
        die("POST /api/export failed");
    char job_path[128];
    snprintf(job_path, sizeof job_path, "/api/jobs/%s", job_id);
    /* A job with a few events, as a worker leaves it. */
    char act[160];
    snprintf(act, sizeof act, "%s/start", job_path);
    json_decref(http("POST", act, NULL, &st));

    char script[] = "/tmp/awm-api-bench-XXXXXX.lua";
    int fd = mkstemps(script, 4);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = '%s'\n", MAP);
    fclose(f);

    printf("awm serve under wrk: 2 threads, 64 connections, %d s each; PostgreSQL on this host (fsync on)\n"
           "load average before: %.2f\n",
           seconds, load_average());
    run_wrk("GET /api/health", "/api/health", NULL, seconds);
    run_wrk("GET /api/jobs/{id}", job_path, NULL, seconds);
    run_wrk("POST /api/maps", "/api/maps", script, seconds);
    unlink(script);
    printf("load average after: %.2f\n", load_average());

    json_decref(m);
    json_decref(e);
    kill(g_server, SIGTERM);
    waitpid(g_server, NULL, 0);
    pg_harness_destroy(g_pg);
    curl_global_cleanup();
    return 0;
}
