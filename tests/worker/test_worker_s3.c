/* test_worker_s3.c — the export flow with STORAGE=s3 against a real S3-compatible server
 * (s3rver from tests/support/s3_harness): the poster lands in the bucket under S3_PREFIX,
 * pixel-identical to a local render of the same map; the print job's file path is the s3://
 * location. With a wrong secret the server answers 403 SignatureDoesNotMatch and the job
 * fails with that message; `awm worker --check` says the same before any job is taken. */
#include <curl/curl.h>
#include <png.h>
#include <signal.h>
#include <string.h>

#include "render/render.h"
#include "storage/storage.h"
#include "support/s3_harness.h"
#include "test.h"
#include "worker_harness.h"

#define BUCKET "posters"
#define KEY_ID "AKIDWORKERTEST"
#define SECRET "worker-test-secret"

static wh_fixture fx;
static s3_harness *s3;

static void s3_env(char (*buf)[300], const char *secret, const char **env)
{
    snprintf(buf[0], 300, "S3_ENDPOINT=%s", s3_harness_endpoint(s3));
    snprintf(buf[1], 300, "AWS_SECRET_ACCESS_KEY=%s", secret);
    snprintf(buf[2], 300, "WORKER_TEMP_DIR=%s/tmp", fx.dir);
    int n = 0;
    env[n++] = "STORAGE=s3";
    env[n++] = "S3_BUCKET=" BUCKET;
    env[n++] = "S3_REGION=us-east-1";
    env[n++] = "S3_PREFIX=exports";
    env[n++] = "AWS_ACCESS_KEY_ID=" KEY_ID;
    env[n++] = buf[0];
    env[n++] = buf[1];
    env[n++] = buf[2];
    env[n] = NULL;
}

/* Decode a PNG held in memory to 8-bit RGB; caller frees. */
static unsigned char *decode_png(const void *data, size_t len, int *w, int *h)
{
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len))
        return NULL;
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) {
        free(px);
        png_image_free(&img);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
}

/* Download an object through a presigned URL made with the same storage settings. */
static bool fetch_object(const char *name, awm_buf *out)
{
    storage_config cfg;
    storage_config_defaults(&cfg);
    cfg.kind = STORAGE_S3;
    snprintf(cfg.bucket, sizeof cfg.bucket, BUCKET);
    snprintf(cfg.endpoint, sizeof cfg.endpoint, "%s", s3_harness_endpoint(s3));
    snprintf(cfg.prefix, sizeof cfg.prefix, "exports");
    snprintf(cfg.access_key_id, sizeof cfg.access_key_id, KEY_ID);
    snprintf(cfg.secret_access_key, sizeof cfg.secret_access_key, SECRET);
    awm_error err;
    storage *st = storage_new(&cfg, &err);
    char *url = st ? storage_presign_get(st, name, 300, &err) : NULL;
    storage_free(st);
    if (!url)
        return false;
    long status = 0;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, NULL);
    FILE *mem = open_memstream(&out->data, &out->len);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, mem);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    fclose(mem);
    free(url);
    return rc == CURLE_OK && status == 200;
}

/* Starts worker `name` with `extra` (it keeps running in *w, its log at log), posts an 8x10
 * export (its print job id into id) and waits until the print job is in `state`: that job's row,
 * or NULL after a failed check that names the log. */
static json_t *export_through(const char *name, const char *const *extra, const char *state, wh_proc *w,
                              char log[700], char id[64])
{
    snprintf(log, 700, "%s/%s.log", fx.dir, name);
    CHECK(wh_worker_start(&fx, w, name, extra, NULL));
    CHECK(wh_post_export(&fx, 8, 10, NULL, id));
    json_t *job = wh_wait_job_state(&fx, id, state, 120);
    CHECK_MSG(job != NULL, "see %s", log);
    return job;
}

static void test_s3_export(void)
{
    char bufs[3][300];
    const char *extra[12];
    s3_env(bufs, SECRET, extra);
    wh_proc w;
    char log[700], id[64] = "";
    json_t *job = export_through("s3", extra, "export_complete", &w, log, id);
    const char *path = json_string_value(json_object_get(job, "export_file_path"));
    CHECK_MSG(path && !strncmp(path, "s3://" BUCKET "/exports/", strlen("s3://" BUCKET "/exports/")), "%s",
              path ? path : "(null)");
    if (path && strrchr(path, '/')) {
        const char *name = strrchr(path, '/') + 1;
        CHECK(strstr(name, id) != NULL);
        awm_buf object = {0};
        CHECK(fetch_object(name, &object));

        /* The same map rendered here, locally, gives the same bytes. */
        char sample[4096], local[800];
        CHECK(awm_asset_path(sample, sizeof sample, "assets/sample-map.json"));
        char *text = NULL;
        size_t len = 0;
        map_definition map;
        CHECK(awm_read_file(sample, &text, &len, NULL));
        CHECK(map_definition_parse(text, len, &map, NULL));
        free(text);
        render_options opt;
        render_options_default(&opt);
        snprintf(local, sizeof local, "%s/local.png", fx.dir);
        awm_error err = {{0}};
        CHECK_MSG(render_poster(&map, map_print_spec_find("8x10"), &opt, local, NULL, &err), "%s", err.msg);
        map_definition_free(&map);
        char *mine = NULL;
        size_t mine_len = 0;
        CHECK(awm_read_file(local, &mine, &mine_len, NULL));
        /* The stored object is exactly what was uploaded (a valid print PNG)... */
        char stored[800];
        snprintf(stored, sizeof stored, "%s/stored.png", fx.dir);
        FILE *f = fopen(stored, "wb");
        CHECK(f && fwrite(object.data, 1, object.len, f) == object.len);
        if (f)
            fclose(f);
        const map_print_spec *spec = map_print_spec_find("8x10");
        CHECK_MSG(render_verify_png(stored, spec->px_w, spec->px_h, &err), "%s", err.msg);
        /* ...and its image is the local render's, pixel for pixel. (Bytes differ: the embedded
         * ICC profile carries its creation time.) */
        int w1 = 0, h1 = 0, w2 = 0, h2 = 0;
        unsigned char *p1 = object.data ? decode_png(object.data, object.len, &w1, &h1) : NULL;
        unsigned char *p2 = mine ? decode_png(mine, mine_len, &w2, &h2) : NULL;
        CHECK(p1 && p2);
        CHECK_INT_EQ(w1, w2);
        CHECK_INT_EQ(h1, h2);
        CHECK(p1 && p2 && w1 == w2 && h1 == h2 && !memcmp(p1, p2, (size_t)w1 * (size_t)h1 * 3));
        free(p1);
        free(p2);
        free(mine);
        free(object.data);
    }
    json_decref(job);
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
}

static void test_s3_wrong_secret(void)
{
    char bufs[3][300];
    const char *extra[12];
    s3_env(bufs, "not-the-secret", extra);

    /* --check finds it first. */
    char env_db[512], env_api[200], check_log[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", pg_harness_conninfo(fx.pg));
    snprintf(env_api, sizeof env_api, "API_URL=%s", fx.api_url);
    snprintf(check_log, sizeof check_log, "%s/s3-check.log", fx.dir);
    const char *env[16] = {env_db, env_api};
    int n = 2;
    for (int i = 0; extra[i]; i++)
        env[n++] = extra[i];
    env[n] = NULL;
    char *text = NULL;
    CHECK_INT_EQ(wh_run_check(env, check_log, &text), 1);
    CHECK_MSG(strstr(text, "storage   FAIL") && strstr(text, "SignatureDoesNotMatch"), "%s", text);
    CHECK_MSG(!strstr(text, "not-the-secret"), "the secret appears in the output");
    free(text);

    CHECK(wh_queue_settings(&fx, 0, 1, 600)); /* no retries: the failure is final at once */
    wh_proc w;
    char log[700], id[64] = "";
    json_t *job = export_through("s3-bad", extra, "export_failed", &w, log, id);
    const char *msg = json_string_value(json_object_get(job, "export_error"));
    CHECK_MSG(msg && strstr(msg, "403") && strstr(msg, "SignatureDoesNotMatch"), "%s", msg ? msg : "(null)");
    json_decref(job);
    CHECK(wh_wait_log_event(log, "JOB_FAILED", 1, 10));
    CHECK_INT_EQ(wh_stop(&w, SIGTERM, 60), 0);
    size_t len;
    CHECK(awm_read_file(log, &text, &len, NULL));
    CHECK_MSG(text && !strstr(text, "not-the-secret"), "the secret appears in the log");
    free(text);
    CHECK_INT_EQ(tk_count_files(fx.dir, AWM_TEMP_PREFIX), 0);
}

int main(void)
{
    awm_error err;
    bool up = wh_fixture_start(&fx);
    s3 = up ? s3_harness_start(BUCKET, KEY_ID, SECRET, &err) : NULL;
    if (!up || !s3) {
        if (up)
            fprintf(stderr, "s3 server: %s\n", err.msg);
        s3_harness_destroy(s3);
        return wh_fixture_finish(&fx, 1);
    }
    CHECK(wh_queue_settings(&fx, 3, 1, 600));
    RUN(test_s3_export);
    RUN(test_s3_wrong_secret);
    int rc = TEST_EXIT();
    s3_harness_destroy(s3);
    return wh_fixture_finish(&fx, rc);
}
