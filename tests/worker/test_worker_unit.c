/* test_worker_unit.c — the worker's pieces that need no server: configuration from the
 * environment (defaults, every bad value named), error classification, the database
 * description in logs (never the password), export file names and the DEBUG_MODE sidecar. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "worker/worker.h"

static const char *const VARS[] = {
    "DATABASE_URL", "API_URL", "RENDER_BASE_URL", "EXPORT_DIR", "STORAGE", "S3_BUCKET", "S3_REGION",
    "S3_ENDPOINT", "S3_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WORKER_API_KEY",
    "WORKER_CONCURRENCY", "HEALTH_PORT", "DEBUG_MODE", "LOG_LEVEL", "WORKER_QUEUE", "WORKER_TEMP_DIR",
    "WORKER_POLL_INTERVAL_MS", "WORKER_SHUTDOWN_TIMEOUT_S", "WORKER_API_TIMEOUT_S", "WORKER_API_ATTEMPTS",
    "WORKER_API_RETRY_DELAY_MS", "WORKER_SUPERVISE_INTERVAL_S", "WORKER_MAINTAIN_INTERVAL_S",
    "WORKER_RENDER_DPI", "CMYK_PROFILE", "QUEUE_BACKEND", "PGBOSS_SCHEMA", "API_FLAVOR", "DATABASE_HOST",
    "DATABASE_PORT", "DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD", NULL};

static void clear_env(void)
{
    for (int i = 0; VARS[i]; i++)
        unsetenv(VARS[i]);
}

static void test_defaults(void)
{
    clear_env();
    setenv("DATABASE_URL", "postgresql://awm:secret@db.example.com:5433/alwaysmap", 1);
    worker_config cfg;
    awm_error err = {{0}};
    CHECK_MSG(worker_config_from_env(&cfg, &err), "%s", err.msg);
    CHECK_STR_EQ(cfg.api_url, "http://localhost:5173");
    CHECK_STR_EQ(cfg.render_base_url, "http://localhost:5173");
    CHECK_STR_EQ(cfg.storage.export_dir, "/app/exports");
    CHECK_INT_EQ(cfg.storage.kind, STORAGE_LOCAL);
    CHECK_STR_EQ(cfg.temp_dir, "/app/exports/.awm-work");
    CHECK_STR_EQ(cfg.queue, "export-map");
    CHECK_INT_EQ(cfg.concurrency, 1);
    CHECK_INT_EQ(cfg.health_port, 8081);
    CHECK(!cfg.debug_mode);
    CHECK_INT_EQ(cfg.log_level, AWM_LOG_INFO);
    CHECK_INT_EQ(cfg.shutdown_timeout_s, 60);
    CHECK_INT_EQ(cfg.poll_interval_ms, 2000);
    CHECK_NEAR(cfg.render_dpi, 300, 0);
    CHECK_STR_EQ(cfg.api_key, "");
    CHECK_STR_EQ(cfg.cmyk_profile, ""); /* none: pdf-cmyk jobs are refused */
}

static void test_values(void)
{
    clear_env();
    setenv("DATABASE_URL", "host=127.0.0.1 port=5432 dbname=awm", 1);
    setenv("API_URL", "https://api.example.com/", 1);
    setenv("RENDER_BASE_URL", "https://app.example.com", 1);
    setenv("WORKER_CONCURRENCY", "4", 1);
    setenv("HEALTH_PORT", "9100", 1);
    setenv("DEBUG_MODE", "true", 1);
    setenv("LOG_LEVEL", "debug", 1);
    setenv("WORKER_API_KEY", "k3y", 1);
    setenv("EXPORT_DIR", "/srv/exports", 1);
    setenv("WORKER_SHUTDOWN_TIMEOUT_S", "5", 1);
    worker_config cfg;
    awm_error err = {{0}};
    CHECK_MSG(worker_config_from_env(&cfg, &err), "%s", err.msg);
    CHECK_STR_EQ(cfg.api_url, "https://api.example.com"); /* trailing slash dropped */
    CHECK_STR_EQ(cfg.render_base_url, "https://app.example.com");
    CHECK_INT_EQ(cfg.concurrency, 4);
    CHECK_INT_EQ(cfg.health_port, 9100);
    CHECK(cfg.debug_mode);
    CHECK_INT_EQ(cfg.log_level, AWM_LOG_DEBUG);
    CHECK_STR_EQ(cfg.api_key, "k3y");
    CHECK_STR_EQ(cfg.temp_dir, "/srv/exports/.awm-work");
    CHECK_INT_EQ(cfg.shutdown_timeout_s, 5);

    setenv("CMYK_PROFILE", "/usr/share/color/icc/ghostscript/default_cmyk.icc", 1);
    CHECK_MSG(worker_config_from_env(&cfg, &err), "%s", err.msg);
    CHECK_STR_EQ(cfg.cmyk_profile, "/usr/share/color/icc/ghostscript/default_cmyk.icc");
}

/* Every problem is reported at once, each naming its variable; the password never appears. */
static void test_errors(void)
{
    clear_env();
    worker_config cfg;
    awm_error err = {{0}};
    CHECK(!worker_config_from_env(&cfg, &err));
    CHECK_MSG(strstr(err.msg, "DATABASE_URL: required"), "%s", err.msg);

    setenv("DATABASE_URL", "postgresql://u:hunter2@h:notaport/db?bogus=%zz", 1);
    setenv("API_URL", "ftp://example.com", 1);
    setenv("WORKER_CONCURRENCY", "65", 1);
    setenv("HEALTH_PORT", "http", 1);
    setenv("DEBUG_MODE", "perhaps", 1);
    setenv("LOG_LEVEL", "chatty", 1);
    setenv("STORAGE", "floppy", 1);
    setenv("WORKER_RENDER_DPI", "600", 1);
    setenv("CMYK_PROFILE", "/nonexistent/fogra39.icc", 1);
    CHECK(!worker_config_from_env(&cfg, &err));
    static const char *const expected[] = {"DATABASE_URL: not a valid PostgreSQL connection string",
                                           "API_URL=ftp://example.com: must be an http",
                                           "WORKER_CONCURRENCY=65: must be a whole number from 1 to 64",
                                           "HEALTH_PORT=http", "DEBUG_MODE=perhaps: must be true or false",
                                           "LOG_LEVEL=chatty", "STORAGE", "WORKER_RENDER_DPI=600",
                                           "CMYK_PROFILE=/nonexistent/fogra39.icc: CMYK profile", NULL};
    for (int i = 0; expected[i]; i++)
        CHECK_MSG(strstr(err.msg, expected[i]), "missing '%s' in:\n%s", expected[i], err.msg);
    CHECK_MSG(!strstr(err.msg, "hunter2"), "password leaked: %s", err.msg);

    clear_env();
    setenv("DATABASE_URL", "host=x", 1);
    setenv("STORAGE", "s3", 1); /* no bucket, no keys */
    CHECK(!worker_config_from_env(&cfg, &err));
    CHECK_MSG(strstr(err.msg, "S3_BUCKET"), "%s", err.msg);
    clear_env();
}

static void test_classification(void)
{
    CHECK(worker_http_status_is_fatal(404));
    CHECK(worker_http_status_is_fatal(400));
    CHECK(!worker_http_status_is_fatal(401)); /* our key is wrong, not the job */
    CHECK(!worker_http_status_is_fatal(403));
    CHECK(worker_http_status_is_fatal(409));
    CHECK(!worker_http_status_is_fatal(0));   /* no answer: network */
    CHECK(!worker_http_status_is_fatal(408)); /* timeout */
    CHECK(!worker_http_status_is_fatal(429)); /* slow down */
    CHECK(!worker_http_status_is_fatal(500));
    CHECK(!worker_http_status_is_fatal(503));
}

/* The seed's deployment: its compose file's DATABASE_* variables, the pgboss backend, its API. */
static void test_seed_settings(void)
{
    clear_env();
    setenv("DATABASE_HOST", "db", 1);
    setenv("DATABASE_NAME", "alwaysmap", 1);
    setenv("DATABASE_USER", "postgres", 1);
    setenv("DATABASE_PASSWORD", "it's \\ secret", 1);
    setenv("QUEUE_BACKEND", "pgboss", 1);
    worker_config cfg;
    awm_error err = {{0}};
    CHECK_MSG(worker_config_from_env(&cfg, &err), "%s", err.msg);
    CHECK_STR_EQ(cfg.database_url, "host='db' port='5432' dbname='alwaysmap' user='postgres' password='it\\'s \\\\ secret'");
    CHECK(cfg.queue_backend.kind == QUEUE_BACKEND_PGBOSS);
    CHECK_STR_EQ(cfg.queue_backend.pgboss_schema, "pgboss");
    CHECK(cfg.api_flavor == WORKER_API_SEED); /* the default with pgboss */
    char desc[600];
    worker_describe_database(cfg.database_url, desc, sizeof desc);
    CHECK_STR_EQ(desc, "db:5432/alwaysmap (user postgres)");
    /* DATABASE_URL wins when both are set. */
    setenv("DATABASE_URL", "postgresql://a@b/c", 1);
    CHECK(worker_config_from_env(&cfg, &err));
    CHECK_STR_EQ(cfg.database_url, "postgresql://a@b/c");

    clear_env();
    setenv("DATABASE_HOST", "db", 1);
    setenv("DATABASE_PORT", "eighty", 1);
    setenv("QUEUE_BACKEND", "rabbitmq", 1);
    setenv("PGBOSS_SCHEMA", "Bad-Schema", 1);
    setenv("API_FLAVOR", "svelte", 1);
    CHECK(!worker_config_from_env(&cfg, &err));
    const char *want[] = {"DATABASE_PORT", "DATABASE_NAME and DATABASE_USER are required", "QUEUE_BACKEND=rabbitmq",
                          "API_FLAVOR=svelte"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK_MSG(strstr(err.msg, want[i]), "'%s' missing from: %s", want[i], err.msg);
    clear_env();
    setenv("DATABASE_URL", "postgresql://a@b/c", 1);
    setenv("QUEUE_BACKEND", "pgboss", 1);
    setenv("PGBOSS_SCHEMA", "Bad-Schema", 1);
    CHECK(!worker_config_from_env(&cfg, &err));
    CHECK_MSG(strstr(err.msg, "PGBOSS_SCHEMA=Bad-Schema"), "%s", err.msg);
    clear_env();
}

/* The seed's API says everything with 400; its worker reads the message (SEED-SYSTEM.md). */
static void test_seed_classification(void)
{
    CHECK(worker_seed_answer_is_fatal(400, "POST x answered 400: Print job not found"));
    CHECK(worker_seed_answer_is_fatal(400, "Bad Request"));
    CHECK(worker_seed_answer_is_fatal(400, "Unprocessable Entity"));
    CHECK(worker_seed_answer_is_fatal(400, "Validation failed: title"));
    CHECK(worker_seed_answer_is_fatal(400, "Invalid page size"));
    CHECK(worker_seed_answer_is_fatal(400, "invalid dimensions 1x1"));
    CHECK(worker_seed_answer_is_fatal(400, "No print specification found for 7x7"));
    CHECK(!worker_seed_answer_is_fatal(400, "Connection terminated unexpectedly"));
    CHECK(!worker_seed_answer_is_fatal(400, "Invalid state transition from exporting to exported"));
    CHECK(!worker_seed_answer_is_fatal(0, "not found")); /* no answer at all: transient */
    CHECK(!worker_seed_answer_is_fatal(502, "Bad Gateway: not found")); /* a proxy, not the API */
    CHECK(!worker_seed_answer_is_fatal(400, NULL));
}

static void test_describe_database(void)
{
    char buf[600];
    worker_describe_database("postgresql://awm:hunter2@db.example.com:5433/alwaysmap?sslmode=require", buf, sizeof buf);
    CHECK_STR_EQ(buf, "db.example.com:5433/alwaysmap (user awm)");
    worker_describe_database("host=10.0.0.5 dbname=q password=hunter2", buf, sizeof buf);
    CHECK_STR_EQ(buf, "10.0.0.5:5432/q");
    CHECK(!strstr(buf, "hunter2"));
}

static void test_sidecar(void)
{
    const char *text = "{\"title\":\"T\",\"projection\":\"orthographic\",\"rotation\":[10,20,0],"
                       "\"people\":[{\"id\":\"a\",\"name\":\"A\",\"locations\":["
                       "{\"longitude\":1,\"latitude\":2},{\"longitude\":3,\"latitude\":4}]},"
                       "{\"id\":\"b\",\"name\":\"B\",\"locations\":[{\"longitude\":5,\"latitude\":6}]}]}";
    json_t *user = json_loads(text, 0, NULL);
    json_t *over = json_pack("{s:s, s:f, s:[f,f], s:f, s:f}", "projection", "equirectangular", "zoom", 1.5,
                             "pan", 10.0, -5.0, "widthInches", 24.0, "heightInches", 18.0);
    map_definition map;
    map_violations v = {0};
    CHECK(map_definition_from_json_with_overrides(user, over, &map, &v));
    const map_print_spec *spec = map_print_spec_match(24, 18);
    CHECK(spec != NULL);
    if (spec) {
        worker_sidecar_info info = {.queue_job_id = "q1", .print_job_id = "p1", .printable_map_id = "pm1",
                                    .user_map_id = "u1", .paper_size_name = "24×18", .format = "png",
                                    .dpi = 300, .px_w = spec->px_w, .px_h = spec->px_h,
                                    .file_path = "/x/y.png", .file_size = 1234, .render_seconds = 0.5};
        json_t *j = worker_sidecar_json(&info, spec, &map);
        CHECK_STR_EQ(json_string_value(json_object_get(j, "printJobId")), "p1");
        CHECK_STR_EQ(json_string_value(json_object_get(j, "queueJobId")), "q1");
        CHECK_STR_EQ(json_string_value(json_object_get(j, "printableMapId")), "pm1");
        json_t *page = json_object_get(j, "page");
        CHECK_STR_EQ(json_string_value(json_object_get(page, "orientation")), "landscape");
        CHECK_NEAR(json_number_value(json_object_get(page, "widthInches")), 24, 1e-9);
        CHECK_STR_EQ(json_string_value(json_object_get(page, "paperSizeName")), "24×18");
        CHECK_STR_EQ(json_string_value(json_object_get(json_object_get(j, "printSpec"), "key")), spec->key);
        json_t *out = json_object_get(j, "output");
        CHECK_INT_EQ(json_integer_value(json_object_get(out, "pixelWidth")), spec->px_w);
        CHECK_INT_EQ(json_integer_value(json_object_get(out, "pixelHeight")), spec->px_h);
        json_t *m = json_object_get(j, "map");
        CHECK_STR_EQ(json_string_value(json_object_get(m, "projection")), "equirectangular"); /* override won */
        CHECK_NEAR(json_number_value(json_object_get(m, "zoom")), 1.5, 1e-12);
        CHECK_NEAR(json_number_value(json_array_get(json_object_get(m, "rotation"), 1)), 20, 1e-12);
        CHECK_NEAR(json_number_value(json_array_get(json_object_get(m, "pan"), 1)), -5, 1e-12);
        CHECK_INT_EQ(json_integer_value(json_object_get(m, "people")), 2);
        CHECK_INT_EQ(json_integer_value(json_object_get(m, "locations")), 3);
        json_t *f = json_object_get(j, "file");
        CHECK_STR_EQ(json_string_value(json_object_get(f, "path")), "/x/y.png");
        CHECK_INT_EQ(json_integer_value(json_object_get(f, "sizeBytes")), 1234);
        json_decref(j);
    }
    map_definition_free(&map);
    map_violations_free(&v);
    json_decref(user);
    json_decref(over);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_values);
    RUN(test_errors);
    RUN(test_classification);
    RUN(test_seed_settings);
    RUN(test_seed_classification);
    RUN(test_describe_database);
    RUN(test_sidecar);
    return TEST_EXIT();
}
