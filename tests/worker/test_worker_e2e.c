/* test_worker_e2e.c — the export flow end to end with real processes: a private PostgreSQL,
 * `awm serve` and `awm worker`. POST a map, POST an export, the worker renders and stores the
 * poster; the job reaches export_complete with the event history created → started →
 * completed; the file is a print PNG (pixel size, ICC, pHYs 300 DPI); the DEBUG_MODE sidecar
 * sits next to it; the logs, /healthz, /readyz and /metrics say what happened; SIGTERM stops
 * the worker cleanly (exit 0). Also: `awm worker --check`, and two workers sharing 20 jobs
 * (each done once, both used). */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "render/render.h"
#include "test.h"
#include "worker_harness.h"

static wh_fixture fx;

/* pHYs of a PNG file: pixels per metre (x) and the unit byte; false when absent. */
static bool png_phys(const char *path, uint32_t *ppm_x, uint32_t *ppm_y, int *unit)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char sig[8], hdr[8];
    bool found = false;
    if (fread(sig, 1, 8, f) == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8)) {
        while (fread(hdr, 1, 8, f) == 8) {
            uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
            if (!memcmp(hdr + 4, "pHYs", 4) && len == 9) {
                unsigned char d[9];
                if (fread(d, 1, 9, f) == 9) {
                    *ppm_x = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
                    *ppm_y = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7];
                    *unit = d[8];
                    found = true;
                }
                break;
            }
            if (!memcmp(hdr + 4, "IDAT", 4) || fseek(f, (long)len + 4, SEEK_CUR) != 0)
                break; /* pHYs must come before the image data */
        }
    }
    fclose(f);
    return found;
}

/* Debian libgs-common ships it (scripts/packages.sh). */
#define GS_CMYK "/usr/share/color/icc/ghostscript/default_cmyk.icc"

static const char *event_type(json_t *job, size_t i)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(job, "events"), i), "event_type"));
}

static long metric(const char *text, const char *name)
{
    const char *p = text;
    size_t n = strlen(name);
    while ((p = strstr(p, name))) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtol(p + n + 1, NULL, 10);
        p += n;
    }
    return -1;
}

static void test_check_command(void)
{
    char env_db[512], env_api[200], env_dir[700], log[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", pg_harness_conninfo(fx.pg));
    snprintf(env_api, sizeof env_api, "API_URL=%s", fx.api_url);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s", fx.export_dir);
    snprintf(log, sizeof log, "%s/check.log", fx.dir);
    const char *env[] = {env_db, env_api, env_dir, "STORAGE=local", "WORKER_API_KEY=" WH_API_KEY, NULL};
    char *text = NULL;
    CHECK_INT_EQ(wh_run_check(env, log, &text), 0);
    CHECK_MSG(strstr(text, "database  ok") && strstr(text, "api       ok") && strstr(text, "storage   ok"), "%s", text);
    CHECK_MSG(strstr(text, "cmyk      ok    no CMYK_PROFILE: pdf-cmyk exports are refused"), "%s", text);
    free(text);

    /* With a CMYK profile: the check names it and its description. */
    char log_cmyk[700];
    snprintf(log_cmyk, sizeof log_cmyk, "%s/check-cmyk.log", fx.dir);
    const char *env_cmyk[] = {env_db, env_api, env_dir, "STORAGE=local", "WORKER_API_KEY=" WH_API_KEY,
                              "CMYK_PROFILE=" GS_CMYK, NULL};
    CHECK_INT_EQ(wh_run_check(env_cmyk, log_cmyk, &text), 0);
    CHECK_MSG(strstr(text, "cmyk      ok    " GS_CMYK ": \"") && strstr(text, "pdf-cmyk exports convert"), "%s", text);
    free(text);

    /* The API not listening: the check names it and fails. */
    char log2[700], env_bad[200];
    snprintf(log2, sizeof log2, "%s/check-bad.log", fx.dir);
    snprintf(env_bad, sizeof env_bad, "API_URL=http://127.0.0.1:%d", tk_free_port());
    const char *env2[] = {env_db, env_bad, env_dir, "STORAGE=local", "WORKER_API_KEY=" WH_API_KEY, NULL};
    CHECK_INT_EQ(wh_run_check(env2, log2, &text), 1);
    CHECK_MSG(strstr(text, "api       FAIL") && strstr(text, "database  ok"), "%s", text);
    free(text);

    /* A wrong worker key: the API is up, but its worker routes refuse the key. */
    char log3[700];
    snprintf(log3, sizeof log3, "%s/check-key.log", fx.dir);
    const char *env3[] = {env_db, env_api, env_dir, "STORAGE=local", "WORKER_API_KEY=wrong-key", NULL};
    CHECK_INT_EQ(wh_run_check(env3, log3, &text), 1);
    CHECK_MSG(strstr(text, "api       FAIL") && strstr(text, "401") && !strstr(text, "wrong-key"), "%s", text);
    free(text);
}

/* A worker with the wrong key cannot start jobs; that is its fault, not the job's: the job is
 * failed transiently (retried), and a worker with the right key then completes it. */
static void test_wrong_key(void)
{
    char id[64] = "", bad[700], good[700];
    snprintf(bad, sizeof bad, "%s/wrong-key.log", fx.dir);
    snprintf(good, sizeof good, "%s/right-key.log", fx.dir);
    CHECK(wh_post_export(&fx, 8, 10, NULL, id));
    wh_proc w;
    const char *extra[] = {"WORKER_API_KEY=wrong-key", "WORKER_API_ATTEMPTS=1", NULL};
    CHECK(wh_worker_start(&fx, &w, "wrong-key", extra, NULL));
    CHECK(wh_wait_log_event(bad, "JOB_FAILED", 1, 60));
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
    json_t *ev = wh_log_events(bad, "JOB_FAILED");
    json_t *f = json_array_get(ev, 0);
    CHECK(json_is_false(json_object_get(f, "fatal")));
    CHECK(json_is_true(json_object_get(f, "willRetry")));
    const char *msg = json_string_value(json_object_get(f, "error"));
    CHECK_MSG(msg && strstr(msg, "401"), "%s", msg ? msg : "(null)");
    json_decref(ev);
    CHECK(wh_worker_start(&fx, &w, "right-key", NULL, NULL));
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 120);
    CHECK_MSG(job != NULL, "see %s", good);
    json_decref(job);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
}

static void test_happy_path(void)
{
    wh_proc w;
    int health = 0;
    const char *extra[] = {"DEBUG_MODE=true", NULL};
    CHECK(wh_worker_start(&fx, &w, "worker-happy", extra, &health));
    char log[700];
    snprintf(log, sizeof log, "%s/worker-happy.log", fx.dir);
    CHECK_MSG(wh_wait_log_event(log, "POLLING", 1, 60), "worker did not start polling (see %s)", log);

    char id[64] = "";
    CHECK(wh_post_export(&fx, 8, 10, "{\"paperSizeName\":\"8×10\"}", id));
    json_t *job = wh_wait_job_state(&fx, id, "export_complete", 120);
    CHECK_MSG(job != NULL, "job %s did not complete (see %s)", id, log);
    if (job) {
        CHECK_STR_EQ(event_type(job, 0), "created");
        CHECK_STR_EQ(event_type(job, 1), "started");
        CHECK_STR_EQ(event_type(job, 2), "completed");
        CHECK_INT_EQ(json_array_size(json_object_get(job, "events")), 3);
        const char *path = json_string_value(json_object_get(job, "export_file_path"));
        CHECK(path != NULL);
        if (path) {
            const map_print_spec *spec = map_print_spec_find("8x10");
            awm_error err = {{0}};
            CHECK_MSG(render_verify_png(path, spec->px_w, spec->px_h, &err), "%s", err.msg);
            uint32_t px = 0, py = 0;
            int unit = -1;
            CHECK(png_phys(path, &px, &py, &unit));
            CHECK_INT_EQ(px, 11811); /* 300 DPI in pixels per metre */
            CHECK_INT_EQ(py, 11811);
            CHECK_INT_EQ(unit, 1);
            /* Named <UTC stamp>_<printJobId>.png in EXPORT_DIR. */
            const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
            CHECK_MSG(!strncmp(path, fx.export_dir, strlen(fx.export_dir)), "%s", path);
            CHECK_INT_EQ(strlen(base), 19 + 1 + 36 + 4);
            CHECK(strstr(base, id) == base + 20);
            /* The sidecar: same stem, .json. */
            char side[1200];
            snprintf(side, sizeof side, "%.*s.json", (int)(strlen(path) - 4), path);
            json_t *sc = json_load_file(side, 0, NULL);
            CHECK_MSG(sc != NULL, "no sidecar %s", side);
            CHECK_STR_EQ(json_string_value(json_object_get(sc, "printJobId")), id);
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(sc, "file"), "path")), path);
            struct stat sb;
            CHECK(stat(path, &sb) == 0);
            CHECK_INT_EQ(json_integer_value(json_object_get(json_object_get(sc, "file"), "sizeBytes")), sb.st_size);
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(sc, "page"), "orientation")), "portrait");
            CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(sc, "map"), "projection")), "orthographic");
            char preview[400];
            snprintf(preview, sizeof preview, "%s/render?mapId=%s&size=8x10&format=png&dpi=72", fx.api_url,
                     fx.user_map_id);
            CHECK_STR_EQ(json_string_value(json_object_get(sc, "previewUrl")), preview);
            long preview_status = 0;
            free(wh_http_text(preview, &preview_status)); /* the link works: the API draws it */
            CHECK_INT_EQ(preview_status, 200);
            json_decref(sc);
        }
        json_decref(job);
    }

    /* Logs: the start-up lines and the job's life. */
    CHECK(wh_wait_log_event(log, "JOB_SUCCESS", 1, 10));
    json_t *ev = wh_log_events(log, "QUEUE_STARTED");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(ev, 0), "message")), "queue started");
    json_decref(ev);
    ev = wh_log_events(log, "WORKER_STARTING");
    json_t *st = json_array_get(ev, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(st, "queue")), "export-map");
    CHECK_STR_EQ(json_string_value(json_object_get(st, "apiUrl")), fx.api_url);
    CHECK(json_string_value(json_object_get(st, "database")) && strstr(json_string_value(json_object_get(st, "database")), "127.0.0.1"));
    CHECK(json_string_value(json_object_get(st, "storage")) != NULL);
    json_decref(ev);
    ev = wh_log_events(log, "JOB_START");
    CHECK_STR_EQ(json_string_value(json_object_get(json_array_get(ev, 0), "printJobId")), id);
    json_decref(ev);
    ev = wh_log_events(log, "JOB_SUCCESS");
    json_t *ok = json_array_get(ev, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(ok, "printJobId")), id);
    CHECK(json_integer_value(json_object_get(ok, "sizeBytes")) > 0);
    CHECK(json_object_get(ok, "durationMs") != NULL);
    CHECK(json_string_value(json_object_get(ok, "file")) != NULL);
    json_decref(ev);
    char *all = NULL;
    size_t len;
    CHECK(awm_read_file(log, &all, &len, NULL));
    CHECK_MSG(all && !strstr(all, WH_API_KEY), "the API key appears in the log");
    free(all);

    /* Health endpoints. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", health);
    CHECK_INT_EQ(wh_http("GET", url, NULL, NULL, NULL), 200);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", health);
    json_t *ready = NULL;
    CHECK_INT_EQ(wh_http("GET", url, NULL, NULL, &ready), 200);
    CHECK_STR_EQ(json_string_value(json_object_get(ready, "database")), "ok");
    CHECK_STR_EQ(json_string_value(json_object_get(ready, "api")), "ok");
    json_decref(ready);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", health);
    long status = 0;
    char *m = wh_http_text(url, &status);
    CHECK_INT_EQ(status, 200);
    CHECK_INT_EQ(metric(m, "awm_jobs_processed_total"), 1);
    CHECK_INT_EQ(metric(m, "awm_jobs_in_flight"), 0);
    CHECK_INT_EQ(metric(m, "awm_job_duration_seconds_count"), 1);
    CHECK_MSG(strstr(m, "awm_queue_jobs{queue=\"export-map\",state=\"completed\"}"), "%s", m);
    CHECK(metric(m, "awm_last_success_timestamp_seconds") > 1700000000);
    free(m);

    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
    CHECK(wh_wait_log_event(log, "WORKER_STOPPED", 1, 1));
    CHECK_INT_EQ(tk_count_files(fx.export_dir, AWM_TEMP_PREFIX), 0);
}

/* Two workers, 20 jobs: every job completed exactly once, and both workers took some. */
static void test_two_workers(void)
{
    const char *extra[] = {"WORKER_RENDER_DPI=20", NULL};
    wh_proc a, b;
    CHECK(wh_worker_start(&fx, &a, "worker-a", extra, NULL));
    CHECK(wh_worker_start(&fx, &b, "worker-b", extra, NULL));
    char la[700], lb[700];
    snprintf(la, sizeof la, "%s/worker-a.log", fx.dir);
    snprintf(lb, sizeof lb, "%s/worker-b.log", fx.dir);
    CHECK(wh_wait_log_event(la, "POLLING", 1, 60));
    CHECK(wh_wait_log_event(lb, "POLLING", 1, 60));
    enum { N = 20 };
    char ids[N][64];
    for (int i = 0; i < N; i++)
        CHECK(wh_post_export(&fx, 8, 10, NULL, ids[i]));
    for (int i = 0; i < N; i++) {
        json_t *job = wh_wait_job_state(&fx, ids[i], "export_complete", 120);
        CHECK_MSG(job != NULL, "job %d not complete", i);
        if (job)
            CHECK_INT_EQ(json_array_size(json_object_get(job, "events")), 3); /* started once */
        json_decref(job);
    }
    /* The API shows export_complete before the worker finishes the queue job and writes
     * JOB_SUCCESS, so wait for the last success line rather than reading the logs at once. */
    const char *logs[] = {la, lb};
    CHECK(wh_wait_log_events(logs, 2, "JOB_SUCCESS", N, 30));
    json_t *ea = wh_log_events(la, "JOB_SUCCESS"), *eb = wh_log_events(lb, "JOB_SUCCESS");
    CHECK_INT_EQ(json_array_size(ea) + json_array_size(eb), N);
    CHECK_MSG(json_array_size(ea) > 0 && json_array_size(eb) > 0, "a did %zu, b did %zu", json_array_size(ea),
              json_array_size(eb));
    /* Each print job appears in exactly one success line. */
    for (int i = 0; i < N; i++) {
        int seen = 0;
        json_t *arrs[2] = {ea, eb};
        for (int k = 0; k < 2; k++)
            for (size_t j = 0; j < json_array_size(arrs[k]); j++)
                seen += !strcmp(json_string_value(json_object_get(json_array_get(arrs[k], j), "printJobId")), ids[i]);
        CHECK_INT_EQ(seen, 1);
    }
    json_decref(ea);
    json_decref(eb);
    CHECK_INT_EQ(wh_stop(&a, SIGTERM, 60), 0);
    CHECK_INT_EQ(wh_stop(&b, SIGTERM, 60), 0);
}

/* WORKER_CONCURRENCY=3 with a backlog: several jobs are in hand at once (a second JOB_START
 * comes before the first JOB_SUCCESS), and all complete. */
static void test_concurrency(void)
{
    enum { N = 6 };
    char ids[N][64];
    for (int i = 0; i < N; i++)
        CHECK(wh_post_export(&fx, 8, 10, NULL, ids[i]));
    wh_proc w;
    int health = 0;
    const char *extra[] = {"WORKER_CONCURRENCY=3", NULL};
    CHECK(wh_worker_start(&fx, &w, "concurrency", extra, &health));
    for (int i = 0; i < N; i++) {
        json_t *job = wh_wait_job_state(&fx, ids[i], "export_complete", 120);
        CHECK(job != NULL);
        json_decref(job);
    }
    char log[700];
    snprintf(log, sizeof log, "%s/concurrency.log", fx.dir);
    CHECK(wh_wait_log_event(log, "JOB_SUCCESS", N, 10));
    FILE *f = fopen(log, "r");
    char line[8192];
    int starts = 0, max_before_success = 0;
    bool succeeded = false;
    while (f && fgets(line, sizeof line, f)) {
        if (strstr(line, "\"event\":\"JOB_START\"") && !succeeded)
            max_before_success = ++starts;
        if (strstr(line, "\"event\":\"JOB_SUCCESS\""))
            succeeded = true;
    }
    if (f)
        fclose(f);
    CHECK_MSG(max_before_success >= 2, "only %d job(s) started before the first finished", max_before_success);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", health);
    long status = 0;
    char *m = wh_http_text(url, &status);
    CHECK_INT_EQ(metric(m, "awm_jobs_processed_total"), N);
    CHECK_INT_EQ(metric(m, "awm_worker_concurrency"), 3);
    free(m);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
}

/* A bad configuration: exit 2 and a message naming each variable, before anything starts. */
/* format "pdf-cmyk": a worker without CMYK_PROFILE fails the job for good, saying why; a worker
 * with one writes a PDF whose colours are all CMYK. */
static void test_pdf_cmyk_export(void)
{
    char id[64] = "", log[700];
    snprintf(log, sizeof log, "%s/worker-rgb-only.log", fx.dir);
    wh_proc w;
    const char *extra[] = {"WORKER_RENDER_DPI=20", NULL};
    CHECK(wh_worker_start(&fx, &w, "worker-rgb-only", extra, NULL));
    CHECK(wh_post_export(&fx, 8, 10, "{\"format\":\"pdf-cmyk\"}", id));
    json_t *job = wh_wait_job_state(&fx, id, "export_failed", 120);
    CHECK_MSG(job != NULL, "job %s did not fail (see %s)", id, log);
    const char *msg = job ? json_string_value(json_object_get(job, "export_error")) : NULL;
    CHECK_MSG(msg && strstr(msg, "needs a CMYK profile") && strstr(msg, "CMYK_PROFILE"), "%s", msg ? msg : "(null)");
    json_decref(job);
    CHECK_MSG(wh_wait_log_event(log, "JOB_FAILED", 1, 30), "see %s", log); /* logged after the report */
    json_t *failed = wh_log_events(log, "JOB_FAILED");
    CHECK_INT_EQ(json_array_size(failed), 1);
    CHECK(json_is_true(json_object_get(json_array_get(failed, 0), "fatal")));
    json_decref(failed);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);

    const char *extra_cmyk[] = {"WORKER_RENDER_DPI=20", "CMYK_PROFILE=" GS_CMYK, NULL};
    CHECK(wh_worker_start(&fx, &w, "worker-cmyk", extra_cmyk, NULL));
    snprintf(log, sizeof log, "%s/worker-cmyk.log", fx.dir);
    CHECK(wh_post_export(&fx, 8, 10, "{\"format\":\"pdf-cmyk\"}", id));
    job = wh_wait_job_state(&fx, id, "export_complete", 180);
    CHECK_MSG(job != NULL, "job %s did not complete (see %s)", id, log);
    const char *path = job ? json_string_value(json_object_get(job, "export_file_path")) : NULL;
    CHECK(path && strlen(path) > 4 && !strcmp(path + strlen(path) - 4, ".pdf"));
    char *data = NULL;
    size_t len = 0;
    if (path && awm_read_file(path, &data, &len, NULL)) {
        CHECK(len > 5 && !memcmp(data, "%PDF-", 5));
        CHECK(memmem(data, len, "/DeviceCMYK", 11) && !memmem(data, len, "/DeviceRGB", 10));
        CHECK(memmem(data, len, "/GTS_PDFX", 9) != NULL);
        free(data);
    }
    json_decref(job);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
}

static void test_bad_config(void)
{
    char log[700];
    snprintf(log, sizeof log, "%s/bad-config.log", fx.dir);
    const char *env[] = {"DATABASE_URL=host=127.0.0.1", "WORKER_CONCURRENCY=0", "HEALTH_PORT=99999",
                         "API_URL=localhost:5173", NULL};
    const char *args[] = {"worker", NULL};
    wh_proc p;
    CHECK(wh_spawn(&p, args, env, log));
    CHECK(wh_wait(&p, 30));
    CHECK_INT_EQ(p.exit_status, 2);
    char *text = NULL;
    size_t len;
    CHECK(awm_read_file(log, &text, &len, NULL));
    CHECK_MSG(text && strstr(text, "WORKER_CONCURRENCY=0") && strstr(text, "HEALTH_PORT=99999") &&
                  strstr(text, "API_URL=localhost:5173"),
              "%s", text ? text : "");
    free(text);

    /* A CMYK profile that is not there: a start-up error naming the variable, like a bad value. */
    snprintf(log, sizeof log, "%s/bad-cmyk.log", fx.dir);
    const char *env_cmyk[] = {"DATABASE_URL=host=127.0.0.1", "CMYK_PROFILE=/nonexistent/gracol.icc", NULL};
    CHECK(wh_spawn(&p, args, env_cmyk, log));
    CHECK(wh_wait(&p, 30));
    CHECK_INT_EQ(p.exit_status, 2);
    CHECK(awm_read_file(log, &text, &len, NULL));
    CHECK_MSG(text && strstr(text, "CMYK_PROFILE=/nonexistent/gracol.icc"), "%s", text ? text : "");
    free(text);

    /* A queue that does not exist: exit 1 at start-up, saying so (waiting would not help). */
    wh_proc w;
    const char *extra[] = {"WORKER_QUEUE=no-such-queue", NULL};
    CHECK(wh_worker_start(&fx, &w, "no-queue", extra, NULL));
    CHECK(wh_wait(&w, 60));
    CHECK_INT_EQ(w.exit_status, 1);
    snprintf(log, sizeof log, "%s/no-queue.log", fx.dir);
    json_t *ev = wh_log_events(log, "WORKER_START_FAILED");
    CHECK_INT_EQ(json_array_size(ev), 1);
    const char *msg = json_string_value(json_object_get(json_array_get(ev, 0), "error"));
    CHECK_MSG(msg && strstr(msg, "no-such-queue"), "%s", msg ? msg : "(null)");
    json_decref(ev);
}

int main(void)
{
    if (!wh_fixture_start(&fx))
        return wh_fixture_finish(&fx, 1);
    CHECK(wh_queue_settings(&fx, 3, 1, 600));
    RUN(test_check_command);
    RUN(test_happy_path);
    RUN(test_two_workers);
    RUN(test_concurrency);
    RUN(test_bad_config);
    RUN(test_wrong_key);
    RUN(test_pdf_cmyk_export);
    return wh_fixture_finish(&fx, TEST_EXIT());
}
