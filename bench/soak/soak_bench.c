/* soak_bench.c — memory over a long run: `awm serve` under wrk load while an `awm worker`
 * processes a steady trickle of exports. The resident memory (VmRSS) of both processes is
 * sampled every 10 s; from the first minute after the warm-up to the last minute (medians),
 * neither may grow by more than 10 %.
 *
 * wrk (2 threads, 16 connections) mixes, per request: GET /api/health, GET /api/jobs/{id},
 * GET /api/maps?limit=5, POST /api/maps (a small definition, so the database grows as in real
 * use). The exports (8x10 at 30 DPI, one per second) keep the worker rendering throughout.
 *
 * usage: soak_bench [seconds]   (default 600; SOAK_WARMUP_S default 60, or a fifth of a short
 * run). Exit 0 = within the bound, 1 = memory grew, 2 = the set-up failed. Run it through
 * bench/soak/run.sh (a release build). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/testkit.h"
#include "util/util.h"
#include "worker/worker_harness.h"

#define SOAK_ADMIN_KEY "3f9c1a7e52d84b06a1e9c7d2b5f8034e6a2d9c1b7e4f5a08"

#define SAMPLE_S 10
#define MAX_GROWTH 0.10

static const char SMALL_MAP[] =
    "{\"title\":\"Soak\",\"people\":[{\"id\":\"a\",\"name\":\"A\",\"locations\":[{\"longitude\":2.35,\"latitude\":48.85},"
    "{\"longitude\":-74.0,\"latitude\":40.7,\"date\":\"2020-01-01\"}]}]}";

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Median of the samples taken in [from, to) seconds; -1 when there are none. */
static double window_median(const long *v, const double *at, int n, double from, double to)
{
    long *w = malloc((size_t)(n ? n : 1) * sizeof *w);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (at[i] >= from && at[i] < to)
            w[k++] = v[i];
    qsort(w, (size_t)k, sizeof *w, compare_long);
    double m = k == 0 ? -1 : k % 2 ? (double)w[k / 2] : (w[k / 2 - 1] + w[k / 2]) / 2.0;
    free(w);
    return m;
}

static pid_t start_wrk(const char *url, const char *script, int seconds, const char *log)
{
    char duration[32];
    snprintf(duration, sizeof duration, "%ds", seconds);
    tk_spawn_options opt = {.out_path = log, .search_path = true};
    return tk_spawn_with("nice", (const char *const[]){"-n", "5", "wrk", "-t2", "-c16", "-d", duration, "--latency",
                                                      "-s", script, url, NULL}, &opt);
}

int main(int argc, char **argv)
{
    awm_log_init("soak");
    int seconds = argc > 1 ? atoi(argv[1]) : 600;
    if (seconds < 30)
        seconds = 30;
    const char *w = getenv("SOAK_WARMUP_S");
    int warmup = w ? atoi(w) : (seconds >= 300 ? 60 : seconds / 5);
    setenv("LOG_LEVEL", "warn", 1); /* millions of requests: keep the logs small */
    /* The load comes from one address: the edge's per-client limits would refuse most of it (the
     * harness already turns the export limits off). */
    setenv("RATE_LIMIT_RENDERS", "0", 1);
    setenv("RATE_LIMIT_MAP_WRITES", "0", 1);
    /* The map list is the operator's (SYSTEM.md §3): the soak lists as the operator does. */
    setenv("ADMIN_API_KEY", SOAK_ADMIN_KEY, 1);

    wh_fixture fx;
    if (!wh_fixture_start(&fx)) {
        fprintf(stderr, "soak: the fixture did not start\n");
        wh_fixture_stop(&fx);
        return 2;
    }
    wh_proc worker;
    /* LOG_LEVEL=debug for the worker: its WORKER_MEMORY lines (every 100 jobs) are printed at the end. */
    const char *extra[] = {"WORKER_RENDER_DPI=30", "LOG_LEVEL=debug", NULL};
    char job[64];
    if (!wh_worker_start(&fx, &worker, "worker", extra, NULL) || !wh_post_export(&fx, 8, 10, NULL, job)) {
        fprintf(stderr, "soak: the worker or the first export did not start\n");
        wh_fixture_stop(&fx);
        return 2;
    }

    char script[700], wrk_log[700];
    snprintf(script, sizeof script, "%s/soak.lua", fx.dir);
    snprintf(wrk_log, sizeof wrk_log, "%s/wrk.log", fx.dir);
    FILE *f = fopen(script, "w");
    fprintf(f,
            "local n = 0\n"
            "request = function()\n"
            "  n = n + 1\n"
            "  local k = n %% 4\n"
            "  if k == 0 then return wrk.format('GET', '/api/health') end\n"
            "  if k == 1 then return wrk.format('GET', '/api/jobs/%s') end\n"
            "  if k == 2 then return wrk.format('GET', '/api/maps?limit=5', {['Authorization'] = 'Bearer " SOAK_ADMIN_KEY "'}) end\n"
            "  return wrk.format('POST', '/api/maps', {['Content-Type'] = 'application/json'}, '%s')\n"
            "end\n",
            job, SMALL_MAP);
    fclose(f);
    pid_t wrk = start_wrk(fx.api_url, script, seconds, wrk_log);

    printf("soak: %d s of wrk (2 threads, 16 connections) on awm serve + 1 worker (an 8x10 export per second);"
           " warm-up %d s; RSS every %d s\n", seconds, warmup, SAMPLE_S);
    printf("%6s %12s %12s %8s\n", "t (s)", "serve (KiB)", "worker (KiB)", "exports");
    double t0 = awm_now_seconds(), next_sample = t0, next_export = t0;
    enum { MAX_SAMPLES = 100000 / SAMPLE_S };
    static long api_rss[MAX_SAMPLES], worker_rss[MAX_SAMPLES];
    static double at[MAX_SAMPLES];
    int samples = 0, exports = 1;
    while (awm_now_seconds() - t0 < seconds) {
        double now = awm_now_seconds();
        if (now >= next_export) {
            char id[64];
            exports += wh_post_export(&fx, 8, 10, NULL, id);
            next_export += 1.0;
        }
        if (now >= next_sample) {
            long a = tk_rss_kb(fx.api.pid), k = tk_rss_kb(worker.pid);
            printf("%6.0f %12ld %12ld %8d\n", now - t0, a, k, exports);
            fflush(stdout);
            if (a < 0 || k < 0) {
                fprintf(stderr, "soak: a process is gone (serve %ld, worker %ld)\n", a, k);
                break;
            }
            if (samples < MAX_SAMPLES) {
                api_rss[samples] = a;
                worker_rss[samples] = k;
                at[samples] = now - t0;
                samples++;
            }
            next_sample += SAMPLE_S;
        }
        tk_sleep_ms(100);
    }
    int status;
    waitpid(wrk, &status, 0);
    char line[512];
    f = fopen(wrk_log, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "Requests/sec") || strstr(line, "requests in") || strstr(line, "Non-2xx") ||
            strstr(line, "Socket errors") || strstr(line, " 99%"))
            printf("wrk: %s", line);
    if (f)
        fclose(f);

    /* Resting levels: the median of the first minute after the warm-up against the median of
     * the last minute. A single sample can land in the middle of a render (the worker's band
     * buffers, 1-2 MB) or a burst of requests; medians compare like with like. */
    double win = seconds - warmup >= 180 ? 60 : (seconds - warmup) / 3.0; /* a third of a short run */
    double api_start_med = window_median(api_rss, at, samples, warmup, warmup + win);
    double worker_start_med = window_median(worker_rss, at, samples, warmup, warmup + win);
    double api_end_med = window_median(api_rss, at, samples, seconds - win, seconds + 1);
    double worker_end_med = window_median(worker_rss, at, samples, seconds - win, seconds + 1);
    double api_growth = api_start_med > 0 ? api_end_med / api_start_med - 1 : 1;
    double worker_growth = worker_start_med > 0 ? worker_end_med / worker_start_med - 1 : 1;
    long api_max = 0, worker_max = 0;
    for (int i = 0; i < samples; i++)
        if (at[i] >= warmup) {
            api_max = api_rss[i] > api_max ? api_rss[i] : api_max;
            worker_max = worker_rss[i] > worker_max ? worker_rss[i] : worker_max;
        }
    printf("serve:  start %.0f KiB, end %.0f KiB (medians; max %ld): %+.1f %%\n",
           api_start_med, api_end_med, api_max, api_growth * 100);
    printf("worker: start %.0f KiB, end %.0f KiB (medians; max %ld): %+.1f %%\n",
           worker_start_med, worker_end_med, worker_max, worker_growth * 100);
    printf("worker: resting RSS %+.0f KiB per 1,000 jobs (end - start medians over %d exports)\n",
           exports > 0 ? (worker_end_med - worker_start_med) * 1000.0 / exports : 0.0, exports);

    /* Where the worker's memory is, every 100 jobs: malloc's in-use bytes growing is a leak or a
     * cache, its free bytes growing is fragmentation, RSS growing alone is memory outside malloc. */
    json_t *mem = wh_log_events(worker.log_path, "WORKER_MEMORY");
    printf("%8s %10s %14s %12s %10s\n", "jobs", "RSS KiB", "heap in use", "heap free", "mmap");
    for (size_t i = 0; i < json_array_size(mem); i++) {
        json_t *j = json_array_get(mem, i);
        printf("%8lld %10lld %14lld %12lld %10lld\n", (long long)json_integer_value(json_object_get(j, "jobs")),
               (long long)json_integer_value(json_object_get(j, "rssKiB")),
               (long long)json_integer_value(json_object_get(j, "heapInUseKiB")),
               (long long)json_integer_value(json_object_get(j, "heapFreeKiB")),
               (long long)json_integer_value(json_object_get(j, "mmapKiB")));
    }
    json_decref(mem);

    /* The burst: 10 s of 32 connections asking for 18x24 renders at 100 DPI (one slot, the rest
     * wait or get 503), then 20 s idle; the server's RSS before, at its peak and after. */
    char burst_url[2048], burst_log[700];
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    awm_buf data = {0};
    const unsigned char *m = (const unsigned char *)SMALL_MAP;
    size_t mlen = sizeof SMALL_MAP - 1;
    for (size_t i = 0; i < mlen; i += 3) {
        uint32_t v = (uint32_t)m[i] << 16 | (i + 1 < mlen ? (uint32_t)m[i + 1] << 8 : 0) | (i + 2 < mlen ? m[i + 2] : 0);
        int chars = i + 2 < mlen ? 4 : i + 1 < mlen ? 3 : 2;
        for (int c = 0; c < chars; c++)
            awm_buf_append(&data, &b64[(v >> (18 - 6 * c)) & 63], 1);
    }
    snprintf(burst_url, sizeof burst_url, "%s/render?size=18x24&dpi=100&data=%.*s", fx.api_url, (int)data.len, data.data);
    awm_buf_free(&data);
    snprintf(burst_log, sizeof burst_log, "%s/wrk-burst.log", fx.dir);
    long before = tk_rss_kb(fx.api.pid), peak = before;
    tk_spawn_options bopt = {.out_path = burst_log, .search_path = true};
    pid_t burst = tk_spawn_with("wrk", (const char *const[]){"-t2", "-c32", "-d10s", "--timeout", "60s", burst_url, NULL},
                                &bopt);
    for (double end = awm_now_seconds() + 12; awm_now_seconds() < end;) {
        long a = tk_rss_kb(fx.api.pid);
        peak = a > peak ? a : peak;
        tk_sleep_ms(250);
    }
    waitpid(burst, &status, 0);
    for (double end = awm_now_seconds() + 5; awm_now_seconds() < end; tk_sleep_ms(250)) {
        long a = tk_rss_kb(fx.api.pid);
        peak = a > peak ? a : peak;
    }
    tk_sleep_ms(15000);
    long after = tk_rss_kb(fx.api.pid);
    f = fopen(burst_log, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "requests in") || strstr(line, "Non-2xx"))
            printf("burst wrk: %s", line);
    if (f)
        fclose(f);
    printf("serve burst (render flood): before %ld KiB, peak %ld KiB, 20 s after %ld KiB\n", before, peak, after);

    bool ok = samples >= 3 && api_growth <= MAX_GROWTH && worker_growth <= MAX_GROWTH;
    printf("soak: %s (bound +%.0f %%; %d exports sent)\n", ok ? "PASS" : "FAIL: memory grew", MAX_GROWTH * 100,
           exports);
    wh_stop(&worker, SIGTERM, 60);
    wh_fixture_stop(&fx);
    return ok ? 0 : 1;
}
