/* config.c — the worker's configuration from the environment (SYSTEM.md §5), checked at
 * start-up so a typo is reported before any job is taken, and `awm worker --check`. */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db.h"
#include "queue/queue.h"
#include "render/render.h"
#include "worker/worker.h"
#include "worker/worker_internal.h"

/* Problems are collected, one per line, so the operator fixes them all in one go. */
typedef struct {
    awm_buf lines;
    int count;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    awm_buf_printf(&p->lines, "%s%s", p->count ? "\n" : "", line);
    p->count++;
}

static void read_int(problems *p, const char *name, long fallback, long min, long max, int *out)
{
    long v;
    awm_error e;
    if (awm_env_long(name, fallback, min, max, &v, &e))
        *out = (int)v;
    else
        problem(p, "%s", e.msg);
}

/* Copy `value` into a fixed buffer; too long is a problem naming the variable. */
static void read_str(problems *p, const char *name, const char *value, char *out, size_t size)
{
    if (strlen(value) >= size) {
        problem(p, "%s: too long (at most %zu bytes)", name, size - 1);
        out[0] = '\0';
        return;
    }
    snprintf(out, size, "%s", value);
}

/* An http(s) base URL with a host; the trailing '/' is dropped so paths can be appended. */
static void read_url(problems *p, const char *name, const char *fallback, char *out, size_t size)
{
    const char *v = awm_env_str(name, fallback);
    read_str(p, name, v, out, size);
    if (!out[0])
        return;
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = '\0';
    const char *rest = !strncasecmp(out, "http://", 7) ? out + 7 : !strncasecmp(out, "https://", 8) ? out + 8 : NULL;
    if (!rest || !*rest || *rest == '/' || strpbrk(out, " \t\r\n?#"))
        problem(p, "%s=%s: must be an http:// or https:// URL with a host, e.g. %s", name, v,
                WORKER_DEFAULT_API_URL);
}

/* '…' quoted for a libpq key=value string: backslash and quote escaped. */
static void conninfo_value(awm_buf *b, const char *key, const char *v)
{
    awm_buf_printf(b, "%s%s='", b->len ? " " : "", key);
    for (const char *c = v; *c; c++) {
        if (*c == '\\' || *c == '\'')
            awm_buf_append(b, "\\", 1);
        awm_buf_append(b, c, 1);
    }
    awm_buf_append(b, "'", 1);
}

/* DATABASE_URL from the five variables the seed's docker-compose.yml sets: DATABASE_HOST,
 * DATABASE_PORT (default 5432), DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD (optional).
 * Written as key=value pairs, so no value needs %-encoding. "" when one is missing (reported). */
static const char *build_database_url(problems *p, char *out, size_t size)
{
    const char *host = awm_env_str("DATABASE_HOST", NULL), *name = awm_env_str("DATABASE_NAME", NULL);
    const char *user = awm_env_str("DATABASE_USER", NULL), *pass = awm_env_str("DATABASE_PASSWORD", NULL);
    long port;
    awm_error e;
    bool ok = true;
    if (!awm_env_long("DATABASE_PORT", 5432, 1, 65535, &port, &e)) {
        problem(p, "%s", e.msg);
        ok = false;
    }
    if (!name || !user) {
        problem(p, "DATABASE_HOST is set but DATABASE_URL is not: DATABASE_NAME and DATABASE_USER are required too");
        ok = false;
    }
    if (!ok)
        return "";
    awm_buf b = {0};
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%ld", port);
    conninfo_value(&b, "host", host);
    conninfo_value(&b, "port", port_text);
    conninfo_value(&b, "dbname", name);
    conninfo_value(&b, "user", user);
    if (pass)
        conninfo_value(&b, "password", pass);
    if (b.len >= size) {
        problem(p, "DATABASE_HOST, DATABASE_NAME, DATABASE_USER, DATABASE_PASSWORD: too long together");
        awm_buf_free(&b);
        return "";
    }
    snprintf(out, size, "%s", b.data);
    awm_buf_free(&b);
    return out;
}

bool worker_config_from_env(worker_config *cfg, awm_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    problems p = {{0}, 0};

    char built[2048] = "";
    const char *db = awm_env_str("DATABASE_URL", NULL);
    if (!db && awm_env_str("DATABASE_HOST", NULL))
        db = build_database_url(&p, built, sizeof built);
    if (!db)
        problem(&p, "DATABASE_URL: required (the PostgreSQL connection string of the queue, e.g. "
                    "postgresql://user:pass@host:5432/awm), or DATABASE_HOST, DATABASE_PORT, DATABASE_NAME, "
                    "DATABASE_USER and DATABASE_PASSWORD");
    else if (db[0]) {
        read_str(&p, "DATABASE_URL", db, cfg->database_url, sizeof cfg->database_url);
        char *perr = NULL;
        PQconninfoOption *opts = cfg->database_url[0] ? PQconninfoParse(cfg->database_url, &perr) : NULL;
        /* libpq's message quotes parts of the string, which may hold a password: not shown. */
        if (!opts && cfg->database_url[0])
            problem(&p, "DATABASE_URL: not a valid PostgreSQL connection string (expected "
                        "postgresql://user:pass@host:port/db or key=value pairs; check %%-encoding and the port)");
        PQconninfoFree(opts);
        PQfreemem(perr);
    }

    awm_error qe;
    if (!queue_backend_from_env(&cfg->queue_backend, &qe))
        problem(&p, "%s", qe.msg);
    const char *flavor = awm_env_str("API_FLAVOR", cfg->queue_backend.kind == QUEUE_BACKEND_PGBOSS ? "seed" : "awm");
    if (!strcasecmp(flavor, "awm"))
        cfg->api_flavor = WORKER_API_AWM;
    else if (!strcasecmp(flavor, "seed"))
        cfg->api_flavor = WORKER_API_SEED;
    else
        problem(&p, "API_FLAVOR=%s: must be awm (AWM's API) or seed (the seed's API: every error a 400)", flavor);

    read_url(&p, "API_URL", WORKER_DEFAULT_API_URL, cfg->api_url, sizeof cfg->api_url);
    if (awm_env_str("RENDER_BASE_URL", NULL))
        read_url(&p, "RENDER_BASE_URL", NULL, cfg->render_base_url, sizeof cfg->render_base_url);
    else
        snprintf(cfg->render_base_url, sizeof cfg->render_base_url, "%s", cfg->api_url);
    read_str(&p, "WORKER_API_KEY", awm_env_str("WORKER_API_KEY", ""), cfg->api_key, sizeof cfg->api_key);
    if (strpbrk(cfg->api_key, "\r\n"))
        problem(&p, "WORKER_API_KEY: must not contain line breaks");

    awm_error e;
    if (!storage_config_from_env(&cfg->storage, &e))
        problem(&p, "%s", e.msg);

    read_str(&p, "WORKER_QUEUE", awm_env_str("WORKER_QUEUE", QUEUE_EXPORT), cfg->queue, sizeof cfg->queue);

    const char *tmp = awm_env_str("WORKER_TEMP_DIR", NULL);
    if (tmp)
        read_str(&p, "WORKER_TEMP_DIR", tmp, cfg->temp_dir, sizeof cfg->temp_dir);
    else if (cfg->storage.kind == STORAGE_LOCAL) {
        /* Same filesystem as the exports: storing a poster is then a rename, not a copy. */
        char work[sizeof cfg->storage.export_dir + 16];
        snprintf(work, sizeof work, "%s/.awm-work", cfg->storage.export_dir); /* sized to fit */
        read_str(&p, "EXPORT_DIR (with /.awm-work, the default WORKER_TEMP_DIR)", work, cfg->temp_dir,
                 sizeof cfg->temp_dir);
    } else {
        read_str(&p, "TMPDIR", awm_env_str("TMPDIR", "/tmp"), cfg->temp_dir, sizeof cfg->temp_dir);
    }

    read_int(&p, "WORKER_CONCURRENCY", 1, 1, WORKER_MAX_CONCURRENCY, &cfg->concurrency);
    read_int(&p, "HEALTH_PORT", 8081, 0, 65535, &cfg->health_port);
    read_str(&p, "HEALTH_HOST", awm_env_str("HEALTH_HOST", "0.0.0.0"), cfg->health_host, sizeof cfg->health_host);
    if (!awm_env_bool("DEBUG_MODE", false, &cfg->debug_mode, &e))
        problem(&p, "%s", e.msg);

    const char *lv = awm_env_str("LOG_LEVEL", "info");
    if (!strcasecmp(lv, "debug")) cfg->log_level = AWM_LOG_DEBUG;
    else if (!strcasecmp(lv, "info")) cfg->log_level = AWM_LOG_INFO;
    else if (!strcasecmp(lv, "warn") || !strcasecmp(lv, "warning")) cfg->log_level = AWM_LOG_WARN;
    else if (!strcasecmp(lv, "error")) cfg->log_level = AWM_LOG_ERROR;
    else problem(&p, "LOG_LEVEL=%s: must be debug, info, warn or error", lv);

    read_int(&p, "WORKER_POLL_INTERVAL_MS", QUEUE_DEFAULT_POLL_MS, 50, 600000, &cfg->poll_interval_ms);
    read_int(&p, "WORKER_SHUTDOWN_TIMEOUT_S", 60, 0, 86400, &cfg->shutdown_timeout_s);
    read_int(&p, "WORKER_API_TIMEOUT_S", 30, 1, 3600, &cfg->api_timeout_s);
    read_int(&p, "WORKER_API_ATTEMPTS", 4, 1, 20, &cfg->api_attempts);
    read_int(&p, "WORKER_API_RETRY_DELAY_MS", 500, 0, 60000, &cfg->api_retry_delay_ms);
    read_int(&p, "WORKER_SUPERVISE_INTERVAL_S", 30, 1, 86400, &cfg->supervise_interval_s);
    read_int(&p, "WORKER_MAINTAIN_INTERVAL_S", 3600, 1, 7 * 86400, &cfg->maintain_interval_s);

    const char *dpi = awm_env_str("WORKER_RENDER_DPI", NULL);
    cfg->render_dpi = MAP_DPI;
    if (dpi) {
        char *end;
        double v = strtod(dpi, &end);
        if (end == dpi || *end || !(v >= 10 && v <= MAP_DPI))
            problem(&p, "WORKER_RENDER_DPI=%s: must be a number from 10 to %g", dpi, MAP_DPI);
        else
            cfg->render_dpi = v;
    }
    if (!awm_env_files_ok(&e)) /* a NAME_FILE that could not be read */
        problem(&p, "%s", e.msg);

    /* A profile that is set but missing or unusable is a start-up error, like a missing font. */
    const char *cmyk = awm_env_str("CMYK_PROFILE", NULL);
    cfg->cmyk_profile[0] = '\0';
    if (cmyk && *cmyk) {
        awm_error perr;
        if (strlen(cmyk) >= sizeof cfg->cmyk_profile)
            problem(&p, "CMYK_PROFILE: path too long");
        else if (!render_cmyk_profile_check(cmyk, NULL, 0, &perr))
            problem(&p, "CMYK_PROFILE=%s: %s", cmyk, perr.msg);
        else
            snprintf(cfg->cmyk_profile, sizeof cfg->cmyk_profile, "%s", cmyk);
    }

    bool ok = p.count == 0;
    if (!ok)
        awm_error_set(err, "%s", p.lines.data);
    awm_buf_free(&p.lines);
    return ok;
}

void worker_describe_database(const char *conninfo, char *buf, size_t size)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    const char *host = NULL, *hostaddr = NULL, *port = NULL, *dbname = NULL, *user = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "host")) host = o->val;
        else if (!strcmp(o->keyword, "hostaddr")) hostaddr = o->val;
        else if (!strcmp(o->keyword, "port")) port = o->val;
        else if (!strcmp(o->keyword, "dbname")) dbname = o->val;
        else if (!strcmp(o->keyword, "user")) user = o->val;
    }
    snprintf(buf, size, "%s:%s/%s%s%s%s", host ? host : hostaddr ? hostaddr : "localhost",
             port ? port : "5432", dbname ? dbname : (user ? user : ""), user ? " (user " : "",
             user ? user : "", user ? ")" : "");
    PQconninfoFree(opts);
}

/* ---- awm worker --check -------------------------------------------------------------- */

static bool check_database(const worker_config *cfg, FILE *out)
{
    char where[600];
    worker_describe_database(cfg->database_url, where, sizeof where);
    awm_error err;
    PGconn *conn = db_connect(cfg->database_url, &err);
    if (!conn) {
        fprintf(out, "database  FAIL  %s: %s\n", where, err.msg);
        return false;
    }
    queue_options qo;
    long counts[QUEUE_STATE_COUNT];
    char backend[128];
    queue_backend_describe(backend, sizeof backend);
    bool ok = queue_backend_check(conn, &err) && queue_get_options(conn, cfg->queue, &qo, &err) &&
              queue_counts(conn, cfg->queue, counts, &err);
    if (ok)
        fprintf(out, "database  ok    %s: %s queue '%s' present (retry limit %d, expiry %d s), %ld waiting, %ld active\n",
                where, backend, cfg->queue, qo.retry_limit, qo.expire_in_s,
                counts[QUEUE_STATE_CREATED] + counts[QUEUE_STATE_RETRY], counts[QUEUE_STATE_ACTIVE]);
    else
        fprintf(out, "database  FAIL  %s: connected, but the %s queue is not usable: %s\n", where, backend, err.msg);
    PQfinish(conn);
    return ok;
}

static bool check_api(const worker_config *cfg, FILE *out)
{
    worker_api api;
    awm_error err;
    if (!worker_api_init(&api, cfg, &err)) {
        fprintf(out, "api       FAIL  %s: %s\n", cfg->api_url, err.msg);
        return false;
    }
    worker_api_result r;
    if (cfg->api_flavor == WORKER_API_SEED) {
        /* The seed's API has no health route and no worker key; a start on a job that cannot
         * exist answers 400 {success: false, error} when it is up (nothing changes). */
        worker_api_call(&api, "POST", "/api/jobs/00000000-0000-4000-8000-000000000000/start", NULL, 1, &r);
        bool up = r.status == 400 && json_is_false(json_object_get(r.body, "success"));
        if (up)
            fprintf(out, "api       ok    %s answers like the seed's API (API_FLAVOR=seed)\n", cfg->api_url);
        else
            fprintf(out, "api       FAIL  %s does not answer like the seed's API: %s\n", cfg->api_url,
                    r.error[0] ? r.error : "unexpected answer");
        worker_api_result_free(&r);
        worker_api_cleanup(&api);
        return up;
    }
    worker_api_call(&api, "GET", "/api/health", NULL, 1, &r);
    bool ok = r.status == 200;
    if (!ok)
        fprintf(out, "api       FAIL  %s\n", r.error);
    worker_api_result_free(&r);
    if (ok) {
        /* Authorisation comes before the id check, and "-" is no job id: nothing changes. */
        worker_api_call(&api, "POST", "/api/jobs/-/start", NULL, 1, &r);
        ok = r.status == 404;
        if (ok)
            fprintf(out, "api       ok    %s/api/health answered 200; worker routes accept the key%s\n",
                    cfg->api_url, cfg->api_key[0] ? "" : " (none set)");
        else
            fprintf(out, "api       FAIL  %s/api/health answered 200, but a worker route refused: %s\n",
                    cfg->api_url, r.error);
        worker_api_result_free(&r);
    }
    worker_api_cleanup(&api);
    return ok;
}

static bool check_storage(const worker_config *cfg, FILE *out)
{
    awm_error err;
    storage *st = storage_new(&cfg->storage, &err);
    char desc[512] = "";
    if (st)
        storage_describe(st, desc, sizeof desc);
    bool ok = st && storage_check(st, &err);
    fprintf(out, "storage   %s  %s%s%s\n", ok ? "ok  " : "FAIL", desc, ok ? "" : ": ", ok ? "" : err.msg);
    storage_free(st);
    return ok;
}

static bool check_cmyk(const worker_config *cfg, FILE *out)
{
    if (!cfg->cmyk_profile[0]) {
        fprintf(out, "cmyk      ok    no CMYK_PROFILE: pdf-cmyk exports are refused\n");
        return true;
    }
    awm_error err;
    char desc[256];
    bool ok = render_cmyk_profile_check(cfg->cmyk_profile, desc, sizeof desc, &err);
    if (ok)
        fprintf(out, "cmyk      ok    %s: \"%s\" (pdf-cmyk exports convert through it)\n", cfg->cmyk_profile, desc);
    else
        fprintf(out, "cmyk      FAIL  %s\n", err.msg);
    return ok;
}

bool worker_check(const worker_config *cfg, FILE *out)
{
    awm_error err;
    if (!queue_backend_select(&cfg->queue_backend, &err)) {
        fprintf(out, "database  FAIL  %s\n", err.msg);
        return false;
    }
    bool db = check_database(cfg, out);
    bool api = check_api(cfg, out);
    bool st = check_storage(cfg, out);
    bool cmyk = check_cmyk(cfg, out);
    return db && api && st && cmyk;
}
