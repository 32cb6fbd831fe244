/* api_bench.c — throughput and tail latency of `awm serve` under wrk (64 connections):
 *
 *   GET  /api/jobs/{id}   a print job with its events (one query, JSON built by PostgreSQL)
 *   POST /api/maps        a map definition validated and stored (wrk Lua script)
 *
 * A private PostgreSQL (tests/support/pg_harness, fsync on) and the server run on this
 * machine, as does wrk; the figures are what one host does with everything on it.
 *
 * --idle: no wrk. Idle, slow connections are opened in steps (default 0 — the baseline —, 100,
 * 500, 1000, 2000, 4000), at most 50 from each loopback address 127.1.x.y (under the per-address cap), each
 * trickling one header byte every 3 s; one that the server closes is dialled again, as an
 * attacker would. At each step another client (127.0.0.1) asks GET /api/health over a new
 * connection 300 times; its p50/p99 (a request with no answer within 2 s counts as 2 s) and
 * the server's threads and RSS are printed, and at the end the largest step whose p99 stayed
 * under 50 ms.
 *
 * usage: api_bench path/to/awm [seconds]            (run through bench/api/run.sh: release build)
 *        api_bench path/to/awm --idle [N N ...] */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
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

/* ---- --idle ------------------------------------------------------------------------------ */

enum {
    IDLE_PER_ADDRESS = 50,
    IDLE_TRICKLE_S = 3,
    IDLE_DIALS_PER_PASS = 100, /* so a server that refuses cannot stall the health checks */
    HEALTH_SAMPLES = 300,
    HEALTH_TIMEOUT_MS = 2000
};

typedef struct {
    int fd;
    double next_byte; /* when this connection sends its next header byte */
} idle_conn;

static const char idle_request[] = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/* A non-blocking connect from 127.1.(k / 50 / 250).(k / 50 % 250 + 1), given 200 ms; -1 when refused. */
static int idle_dial(int k)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int a = k / IDLE_PER_ADDRESS;
    struct sockaddr_in from = {.sin_family = AF_INET};
    from.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | ((unsigned)(a / 250) << 8) | (unsigned)(a % 250 + 1));
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
        (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (poll(&p, 1, 200) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Keep every connection open and trickling: a byte to those that are due, a new dial (at most
 * IDLE_DIALS_PER_PASS per call) for those the server closed or refused (counted in *redials). */
static void idle_tend(idle_conn *c, int n, long *redials)
{
    double now = awm_now_seconds();
    int dials = 0;
    for (int k = 0; k < n; k++) {
        if (c[k].fd >= 0) {
            char junk[256];
            ssize_t r = recv(c[k].fd, junk, sizeof junk, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(c[k].fd);
                c[k].fd = -1;
            }
        }
        if (c[k].fd < 0 && dials++ < IDLE_DIALS_PER_PASS) {
            c[k].fd = idle_dial(k);
            if (c[k].fd >= 0) {
                (*redials)++;
                ssize_t w = send(c[k].fd, idle_request, 5, MSG_NOSIGNAL); /* "GET /" */
                (void)w;
            }
            c[k].next_byte = now + IDLE_TRICKLE_S * (double)(k % 97) / 97;
        } else if (c[k].fd >= 0 && now >= c[k].next_byte) {
            ssize_t w = send(c[k].fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)w;
            c[k].next_byte = now + IDLE_TRICKLE_S;
        }
    }
}

/* One GET /api/health over a new connection from 127.0.0.1: its latency in ms (HEALTH_TIMEOUT_MS
 * when it got no 200 in time). */
static double health_ms(void)
{
    double t0 = awm_now_seconds();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (fd >= 0 && (connect(fd, (struct sockaddr *)&to, sizeof to) == 0 || errno == EINPROGRESS)) {
        static const char req[] = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        bool sent = false;
        char buf[512];
        size_t got = 0;
        for (;;) {
            int left = HEALTH_TIMEOUT_MS - (int)((awm_now_seconds() - t0) * 1000);
            struct pollfd p = {.fd = fd, .events = sent ? POLLIN : POLLOUT};
            if (left <= 0 || poll(&p, 1, left) != 1)
                break;
            if (!sent) {
                sent = send(fd, req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1);
                if (!sent)
                    break;
                continue;
            }
            ssize_t r = recv(fd, buf + got, sizeof buf - 1 - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
            if (got >= 12) {
                buf[got] = '\0';
                ok = !strncmp(buf, "HTTP/1.1 200", 12);
                break;
            }
        }
    }
    if (fd >= 0)
        close(fd);
    double ms = (awm_now_seconds() - t0) * 1000;
    return ok && ms < HEALTH_TIMEOUT_MS ? ms : HEALTH_TIMEOUT_MS;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int server_threads(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)g_server);
    FILE *f = fopen(path, "r");
    int threads = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &threads) == 1)
            break;
    if (f)
        fclose(f);
    return threads;
}

static void run_idle(int nsteps, const int *steps)
{
    int most = 0;
    for (int i = 0; i < nsteps; i++)
        most = steps[i] > most ? steps[i] : most;
    idle_conn *c = awm_xcalloc((size_t)most + 1, sizeof *c);
    for (int k = 0; k < most; k++)
        c[k].fd = -1;
    printf("idle connections (%d per address, a byte every %d s, redialled when closed) vs GET /api/health "
           "from another address, %d samples per step\n"
           "%6s %6s %8s %8s %9s %9s %6s %8s %9s\n",
           IDLE_PER_ADDRESS, IDLE_TRICKLE_S, HEALTH_SAMPLES, "N", "held", "redials", "p50 ms", "p99 ms", "failed",
           "thr", "RSS MB", "load");
    int best = 0;
    for (int i = 0; i < nsteps; i++) {
        int n = steps[i];
        long redials = 0;
        /* Open the new ones (10 s at most) and let every connection send a byte before measuring. */
        double start = awm_now_seconds();
        for (int open = 0; awm_now_seconds() < start + 10 && (open < n || awm_now_seconds() < start + IDLE_TRICKLE_S);) {
            idle_tend(c, n, &redials);
            open = 0;
            for (int k = 0; k < n; k++)
                open += c[k].fd >= 0;
            tk_sleep_ms(50);
        }
        redials = 0;
        double ms[HEALTH_SAMPLES];
        int failed = 0;
        for (int s = 0; s < HEALTH_SAMPLES; s++) {
            idle_tend(c, n, &redials);
            ms[s] = health_ms();
            failed += ms[s] >= HEALTH_TIMEOUT_MS;
            tk_sleep_ms(20);
        }
        int held = 0;
        for (int k = 0; k < n; k++)
            held += c[k].fd >= 0;
        qsort(ms, HEALTH_SAMPLES, sizeof *ms, cmp_double);
        double p50 = ms[HEALTH_SAMPLES / 2], p99 = ms[HEALTH_SAMPLES * 99 / 100];
        printf("%6d %6d %8ld %8.2f %9.2f %9d %6d %8.1f %9.2f\n", n, held, redials, p50, p99, failed,
               server_threads(), tk_rss_kb(g_server) / 1024.0, load_average());
        fflush(stdout);
        if (p99 < 50 && failed == 0 && n > best)
            best = n;
    }
    printf("largest N with /api/health p99 < 50 ms and none failed: %d (N = 0 is the baseline: the load of "
           "the machine alone)\n", best);
    for (int k = 0; k < most; k++)
        if (c[k].fd >= 0)
            close(c[k].fd);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: api_bench path/to/awm [seconds]\n");
        return 2;
    }
    bool idle = argc > 2 && !strcmp(argv[2], "--idle");
    int seconds = argc > 2 && !idle ? atoi(argv[2]) : 10;
    int steps[32] = {0, 100, 500, 1000, 2000, 4000}, nsteps = 6;
    if (idle && argc > 3)
        for (nsteps = 0; nsteps < 32 && 3 + nsteps < argc; nsteps++)
            steps[nsteps] = atoi(argv[3 + nsteps]);
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

    if (idle) {
        printf("load average before: %.2f\n", load_average());
        run_idle(nsteps, steps);
        goto out;
    }

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

out:
    json_decref(m);
    json_decref(e);
    kill(g_server, SIGTERM);
    waitpid(g_server, NULL, 0);
    pg_harness_destroy(g_pg);
    curl_global_cleanup();
    return 0;
}
