/* worker_bench.c — end-to-end export time with real processes (private PostgreSQL, `awm serve`,
 * `awm worker`, local storage): seconds from POST /api/export to export_complete for one
 * 18x24 poster at 300 DPI (median of N, one worker idle and waiting), then throughput in
 * posters per minute with 1 and with 2 workers (WORKER_CONCURRENCY=1 each) on a backlog.
 * Run with bench/worker/run.sh (release build). Target: median ≤ 1.5 s. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "worker/worker_harness.h" /* tests/worker/ */

static wh_fixture fx;

/* Wait for export_complete, polling finely so the figure is the worker's, not the poll's. */
static bool wait_complete(const char *id, double timeout_s)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/jobs/%s", fx.api_url, id);
    double end = awm_now_seconds() + timeout_s;
    while (awm_now_seconds() < end) {
        json_t *job = NULL;
        wh_http("GET", url, NULL, NULL, &job);
        const char *s = json_string_value(json_object_get(job, "state"));
        bool done = s && !strcmp(s, "export_complete");
        bool failed = s && !strcmp(s, "export_failed");
        json_decref(job);
        if (done)
            return true;
        if (failed) {
            fprintf(stderr, "job %s failed\n", id);
            return false;
        }
        tk_sleep_ms(5);
    }
    return false;
}

static double throughput(int workers, int jobs, const char *size_w, const char *size_h)
{
    wh_proc w[2];
    char name[32], log[700];
    for (int i = 0; i < workers; i++) {
        snprintf(name, sizeof name, "tp%d-%d", workers, i);
        snprintf(log, sizeof log, "%s/%s.log", fx.dir, name);
        if (!wh_worker_start(&fx, &w[i], name, NULL, NULL) || !wh_wait_log_event(log, "POLLING", 1, 60))
            return -1;
    }
    char (*ids)[64] = calloc((size_t)jobs, 64);
    double t0 = awm_now_seconds();
    for (int i = 0; i < jobs; i++)
        if (!wh_post_export(&fx, atof(size_w), atof(size_h), NULL, ids[i]))
            return -1;
    bool ok = true;
    for (int i = 0; i < jobs && ok; i++)
        ok = wait_complete(ids[i], 600);
    double seconds = awm_now_seconds() - t0;
    for (int i = 0; i < workers; i++)
        wh_stop(&w[i], SIGTERM, 60);
    free(ids);
    return ok ? jobs / seconds * 60.0 : -1;
}

int main(int argc, char **argv)
{
    int runs = 10, jobs = 10;
    if (argc > 1 && !strcmp(argv[1], "--quick"))
        runs = 3, jobs = 4;
    if (!wh_fixture_start(&fx)) {
        fprintf(stderr, "fixture failed (see %s)\n", fx.dir);
        wh_fixture_stop(&fx);
        return 1;
    }
    wh_queue_settings(&fx, 3, 1, 3600);

    /* Latency: one idle worker (woken by LISTEN/NOTIFY), one export at a time. */
    wh_proc w;
    char log[700];
    snprintf(log, sizeof log, "%s/latency.log", fx.dir);
    if (!wh_worker_start(&fx, &w, "latency", NULL, NULL) || !wh_wait_log_event(log, "POLLING", 1, 60)) {
        wh_fixture_stop(&fx);
        return 1;
    }
    double t[64];
    char id[64];
    /* One warm-up: fonts and geography are loaded on the first render. */
    if (!wh_post_export(&fx, 18, 24, NULL, id) || !wait_complete(id, 300))
        return 1;
    for (int i = 0; i < runs; i++) {
        tk_sleep_ms(300); /* the worker is idle again, waiting on LISTEN */
        double t0 = awm_now_seconds();
        if (!wh_post_export(&fx, 18, 24, NULL, id) || !wait_complete(id, 300))
            return 1;
        t[i] = awm_now_seconds() - t0;
    }
    wh_stop(&w, SIGTERM, 60);
    double median = awm_median(t, (size_t)runs); /* sorts t */
    printf("18x24 PNG 300 DPI, POST /api/export -> export_complete: median %.3f s (min %.3f, max %.3f, n=%d)\n",
           median, t[0], t[runs - 1], runs);

    double one = throughput(1, jobs, "18", "24");
    double two = throughput(2, jobs, "18", "24");
    printf("throughput 18x24, backlog of %d: 1 worker %.1f posters/min, 2 workers %.1f posters/min (x%.2f)\n",
           jobs, one, two, one > 0 ? two / one : 0);
    printf("target: median <= 1.5 s: %s\n", median <= 1.5 ? "met" : "NOT met");
    wh_fixture_stop(&fx);
    return 0;
}
