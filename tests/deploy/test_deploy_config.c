/* test_deploy_config.c — the deployment files agree with the programs (no Docker engine needed):
 *  - both compose files pass `docker-compose config` with .env.example, have what the guide
 *    promises (restart policy, health checks on the ports the programs use, resource limits,
 *    json-file log rotation, the exports volume where EXPORT_DIR points, a worker that can
 *    scale), and refuse to start without DATABASE_URL / POSTGRES_PASSWORD;
 *  - every environment variable the programs read (found in src/) is documented in
 *    docs/WORKER-DEPLOYMENT.md and .env.example, and neither names a variable nobody reads;
 *  - the run stage of Dockerfile.worker installs packages whose dependency closure covers every
 *    shared library `ldd awm` reports, and every package named exists in Debian 12; the images'
 *    entry points, ports, health checks, user and assets directory match the programs;
 *  - deploy/install.sh makes a layout the programs render from without re-parsing geography;
 *  - the systemd units pass `systemd-analyze verify`;
 *  - every repository path and `awm` subcommand the guide names exists. */
#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <regex.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_util.h"
#include "test.h"
#include "worker/worker_harness.h"

static char tmp[512];
static char empty_env[600]; /* an env file that sets nothing */
static char *doc, *env_example;

/* Variables only the compose files use (interpolation), not the programs. */
static const char *const COMPOSE_ONLY[] = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB",
                                           "AWM_API_PORT", "AWM_EXPORTS_HOST_DIR", "AWM_ENV_FILE",
                                           "AWM_BUILD_NETWORK", "AWM_POSTGRES_IMAGE",
                                           "AWM_HTTPS_PORT", "AWM_HTTP_PORT", "AWM_TLS_DIR", NULL};

/* Variables the programs read that need not be documented, each with its reason (even the
 * installed-layout ones, AWM_ASSETS_DIR, AWM_CACHE_DIR, AWM_FONT_CACHE and TMPDIR, are). */
static const struct { const char *name, *why; } INTERNAL[] = {
    {"XDG_CACHE_HOME", "the user's cache folder, a default for AWM_CACHE_DIR (named in its row)"},
    {"HOME", "the user's home, a default for AWM_CACHE_DIR (named in its row)"},
    {NULL, NULL},
};

static bool in_list(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (!strcmp(*list, name))
            return true;
    return false;
}

static bool is_internal(const char *name)
{
    for (size_t i = 0; INTERNAL[i].name; i++)
        if (!strcmp(INTERNAL[i].name, name))
            return true;
    return false;
}

/* NAME as a whole word (not part of a longer NAME_X) in text. */
static bool has_word(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p += n) {
        bool left = p == text || !(p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
        char c = p[n];
        bool right = !(c == '_' || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
        if (left && right)
            return true;
    }
    return false;
}

/* ---- the variables the programs read ------------------------------------------------------ */

static json_t *g_vars; /* object: name -> first file that reads it */
static regex_t g_env_re;

static int scan_source(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    size_t n = strlen(path);
    if (flag != FTW_F || n < 2 || strcmp(path + n - 2, ".c"))
        return 0;
    char *text = NULL;
    size_t len;
    if (!awm_read_file(path, &text, &len, NULL))
        return 0;
    regmatch_t m[4];
    for (const char *p = text; regexec(&g_env_re, p, 4, m, 0) == 0; p += m[0].rm_eo) {
        char name[128];
        int l = (int)(m[3].rm_eo - m[3].rm_so);
        snprintf(name, sizeof name, "%.*s", l, p + m[3].rm_so);
        if (!json_object_get(g_vars, name))
            json_object_set_new(g_vars, name, json_string(path + strlen(dt_source_root()) + 1));
    }
    free(text);
    return 0;
}

/* Reads through getenv, the awm_env_* helpers, or the config readers that wrap them
 * (read_int/read_url/read_str in the worker, env_copy in storage): the first string argument. */
static json_t *program_variables(void)
{
    g_vars = json_object();
    CHECK(regcomp(&g_env_re, "(getenv|awm_env_[a-z]+|read_[a-z]+|env_[a-z]+)\\((&p, *)?\"([A-Z][A-Z0-9_]*)\"",
                  REG_EXTENDED) == 0);
    char src[4096];
    snprintf(src, sizeof src, "%s/src", dt_source_root());
    nftw(src, scan_source, 16, FTW_PHYS);
    regfree(&g_env_re);
    return g_vars;
}

static void test_variables_documented(void)
{
    json_t *vars = program_variables();
    /* The scan itself works: variables of the worker, the server, storage and util. */
    CHECK(json_object_get(vars, "DATABASE_URL") && json_object_get(vars, "WORKER_CONCURRENCY") &&
          json_object_get(vars, "S3_BUCKET") && json_object_get(vars, "PORT") && json_object_get(vars, "LOG_LEVEL"));
    CHECK(json_object_size(vars) >= 30);
    const char *name;
    json_t *where;
    json_object_foreach(vars, name, where) {
        if (is_internal(name))
            continue;
        char ticked[140];
        snprintf(ticked, sizeof ticked, "`%s`", name);
        CHECK_MSG(strstr(doc, ticked), "%s (read in %s) is not documented in docs/WORKER-DEPLOYMENT.md", name,
                  json_string_value(where));
        CHECK_MSG(has_word(env_example, name), "%s (read in %s) is not in .env.example", name,
                  json_string_value(where));
    }
    /* The other way: the guide's tables and .env.example name nothing that nobody reads. */
    char *line_save = NULL;
    char *copy = strdup(doc);
    for (char *line = strtok_r(copy, "\n", &line_save); line; line = strtok_r(NULL, "\n", &line_save)) {
        if (strncmp(line, "| `", 3))
            continue;
        char *cell_end = strstr(line + 2, " |");
        if (cell_end)
            *cell_end = '\0';
        for (char *p = line + 2; (p = strchr(p, '`'));) {
            char *q = strchr(p + 1, '`');
            if (!q)
                break;
            char var[128];
            snprintf(var, sizeof var, "%.*s", (int)(q - p - 1), p + 1);
            if (var[0] >= 'A' && var[0] <= 'Z' && strspn(var, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(var))
                CHECK_MSG(json_object_get(vars, var) || in_list(COMPOSE_ONLY, var),
                          "the guide's table documents %s, which no program reads", var);
            p = q + 1;
        }
    }
    free(copy);
    copy = strdup(env_example);
    for (char *line = strtok_r(copy, "\n", &line_save); line; line = strtok_r(NULL, "\n", &line_save)) {
        char *s = line;
        if (*s == '#')
            s++;
        while (*s == ' ')
            s++;
        size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (n == 0 || s[n] != '=')
            continue;
        s[n] = '\0';
        CHECK_MSG(json_object_get(vars, s) || in_list(COMPOSE_ONLY, s), ".env.example sets %s, which no program reads", s);
    }
    free(copy);
    for (size_t i = 0; COMPOSE_ONLY[i]; i++)
        CHECK_MSG(strstr(doc, COMPOSE_ONLY[i]) && has_word(env_example, COMPOSE_ONLY[i]),
                  "compose variable %s is not documented", COMPOSE_ONLY[i]);
    json_decref(vars);
}

/* ---- compose files ----------------------------------------------------------------------------- */

/* `docker-compose config` in a clean environment, .env.example as the env file; the resolved
 * configuration as JSON, or NULL (output in *log). */
static json_t *compose_config(const char *files, const char *env_file, char **log)
{
    char out[700];
    snprintf(out, sizeof out, "%s/config.yml", tmp);
    int status = dt_sh_out(log,
                           "cd '%s' && env -i PATH=\"$PATH\" HOME=\"$HOME\" AWM_ENV_FILE=%s "
                           "docker-compose --env-file %s %s config > '%s'",
                           dt_source_root(), env_file, env_file, files, out);
    if (status != 0)
        return NULL;
    char *json_text = NULL;
    if (dt_sh_out(&json_text, "python3 -c 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))' < '%s'",
                  out) != 0) {
        fprintf(stderr, "yaml to json: %s\n", json_text);
        free(json_text);
        return NULL;
    }
    json_t *j = json_loads(json_text, 0, NULL);
    free(json_text);
    return j;
}

/* compose_config with .env.example, the env file the guide copies: it must be accepted (a
 * failed check with compose's output when not). */
static json_t *compose_valid(const char *files)
{
    char *log = NULL;
    json_t *c = compose_config(files, ".env.example", &log);
    CHECK_MSG(c, "%s: %s", files, log);
    free(log);
    return c;
}

/* With an env file that sets nothing, compose refuses the files and names what must be set. */
static void check_compose_requires(const char *files, const char *needed)
{
    char *out = NULL;
    CHECK(compose_config(files, empty_env, &out) == NULL);
    CHECK_MSG(strstr(out, needed), "%s: %s", files, out);
    free(out);
}

static const char *jstr(json_t *root, const char *path)
{
    /* dotted path of object keys */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    static char num[64];
    if (json_is_number(cur)) {
        snprintf(num, sizeof num, "%g", json_number_value(cur));
        return num;
    }
    return json_string_value(cur);
}

/* A health check that runs curl on the port the program listens on, at the given path. */
static void check_healthcheck(json_t *svc, const char *name, const char *url)
{
    json_t *test = json_object_get(json_object_get(svc, "healthcheck"), "test");
    char *flat = json_dumps(test, JSON_COMPACT);
    CHECK_MSG(flat && strstr(flat, url), "%s: health check %s does not ask %s", name, flat ? flat : "(none)", url);
    free(flat);
}

static void check_logging(json_t *svc, const char *name)
{
    CHECK_MSG(jstr(svc, "logging.driver") && !strcmp(jstr(svc, "logging.driver"), "json-file"), "%s: logging driver", name);
    CHECK_MSG(jstr(svc, "logging.options.max-size") && !strcmp(jstr(svc, "logging.options.max-size"), "10m"), "%s: max-size", name);
    CHECK_MSG(jstr(svc, "logging.options.max-file") && !strcmp(jstr(svc, "logging.options.max-file"), "3"), "%s: max-file", name);
}

static void check_limits(json_t *svc, const char *name)
{
    const char *mem = jstr(svc, "deploy.resources.limits.memory");
    const char *cpus = jstr(svc, "deploy.resources.limits.cpus");
    const char *rmem = jstr(svc, "deploy.resources.reservations.memory");
    const char *rcpus = jstr(svc, "deploy.resources.reservations.cpus");
    CHECK_MSG(mem && !strcmp(mem, "2G") && cpus && atof(cpus) == 2.0, "%s: limits %s / %s", name, mem ? mem : "-",
              cpus ? cpus : "-");
    CHECK_MSG(rmem && !strcmp(rmem, "1G") && rcpus && atof(rcpus) == 1.0, "%s: reservations", name);
}

/* The exports volume is mounted where EXPORT_DIR points inside the container. */
static void check_exports_mount(json_t *svc, const char *name)
{
    const char *dir = jstr(svc, "environment.EXPORT_DIR");
    CHECK_MSG(dir && !strcmp(dir, "/app/exports"), "%s: EXPORT_DIR %s", name, dir ? dir : "(unset)");
    bool mounted = false;
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(svc, "volumes"), i, v) {
        /* short syntax "source:target[:mode]", or the long one with "target" */
        char target[512] = "";
        if (json_is_string(v)) {
            const char *colon = strchr(json_string_value(v), ':');
            if (colon)
                snprintf(target, sizeof target, "%.*s", (int)strcspn(colon + 1, ":"), colon + 1);
        } else if (jstr(v, "target")) {
            snprintf(target, sizeof target, "%s", jstr(v, "target"));
        }
        if (dir && !strcmp(target, dir))
            mounted = true;
    }
    CHECK_MSG(mounted, "%s: nothing is mounted at EXPORT_DIR", name);
}

/* The worker service scales (--scale worker=3): no fixed name, no published port; and it has
 * its resource limits. */
static void check_scalable_worker(json_t *w)
{
    check_limits(w, "worker");
    CHECK(!json_object_get(w, "container_name"));
    CHECK(!json_object_get(w, "ports"));
}

static void test_worker_compose(void)
{
    json_t *c = compose_valid("-f docker-compose.worker.yml");
    json_t *w = json_object_get(json_object_get(c, "services"), "worker");
    CHECK(w);
    CHECK_STR_EQ(jstr(w, "restart"), "unless-stopped");
    CHECK_STR_EQ(jstr(w, "build.dockerfile"), "Dockerfile.worker");
    CHECK(jstr(w, "environment.DATABASE_URL") && jstr(w, "environment.API_URL") && jstr(w, "environment.RENDER_BASE_URL"));
    CHECK(jstr(w, "environment.WORKER_API_KEY")); /* from the env file */
    const char *hp = jstr(w, "environment.HEALTH_PORT");
    CHECK_STR_EQ(hp, "8081");
    /* The check follows HEALTH_PORT (the docker suite's host-network override changes it). */
    check_healthcheck(w, "worker", "http://127.0.0.1:$${HEALTH_PORT}/healthz");
    CHECK(json_is_true(json_object_get(w, "read_only")));
    check_logging(w, "worker");
    check_exports_mount(w, "worker");
    check_scalable_worker(w);
    json_decref(c);

    /* DATABASE_URL is required: without it, compose says so. */
    check_compose_requires("-f docker-compose.worker.yml", "set DATABASE_URL");

    /* The Docker-secrets override of the guide combines with it. */
    c = compose_valid("-f docker-compose.worker.yml -f deploy/docker-compose.secrets.yml");
    json_t *secrets = json_object_get(json_object_get(json_object_get(c, "services"), "worker"), "secrets");
    CHECK_INT_EQ(json_array_size(secrets), 2);
    json_decref(c);
}

static void test_full_compose(void)
{
    json_t *c = compose_valid("-f docker-compose.yml");
    json_t *services = json_object_get(c, "services");
    json_t *pg = json_object_get(services, "postgres"), *api = json_object_get(services, "api"),
           *w = json_object_get(services, "worker");
    CHECK(pg && api && w);
    CHECK(json_object_get(pg, "healthcheck"));
    CHECK_STR_EQ(jstr(api, "depends_on.postgres.condition"), "service_healthy");
    CHECK_STR_EQ(jstr(w, "depends_on.api.condition"), "service_healthy");
    CHECK_STR_EQ(jstr(api, "build.dockerfile"), "Dockerfile");
    CHECK_STR_EQ(jstr(w, "build.dockerfile"), "Dockerfile.worker");
    /* The API listens where the workers and the health check look for it. */
    CHECK_STR_EQ(jstr(api, "environment.HOST"), "0.0.0.0");
    CHECK_STR_EQ(jstr(api, "environment.PORT"), "5173");
    CHECK_STR_EQ(jstr(w, "environment.API_URL"), "http://api:5173");
    check_healthcheck(api, "api", "http://127.0.0.1:5173/api/health");
    check_healthcheck(w, "worker", "http://127.0.0.1:8081/healthz");
    CHECK_STR_EQ(jstr(w, "environment.HEALTH_PORT"), "8081");
    /* Both talk to the bundled database with the same URL, and share the key and the exports. */
    CHECK(jstr(api, "environment.DATABASE_URL") && jstr(w, "environment.DATABASE_URL") &&
          !strcmp(jstr(api, "environment.DATABASE_URL"), jstr(w, "environment.DATABASE_URL")));
    CHECK(strstr(jstr(w, "environment.DATABASE_URL") ?: "", "@postgres:5432/"));
    CHECK(jstr(api, "environment.WORKER_API_KEY") && jstr(w, "environment.WORKER_API_KEY") &&
          !strcmp(jstr(api, "environment.WORKER_API_KEY"), jstr(w, "environment.WORKER_API_KEY")));
    check_exports_mount(api, "api");
    check_exports_mount(w, "worker");
    CHECK(json_object_get(json_object_get(c, "volumes"), "exports"));
    for (const char *const *s = (const char *const[]){"postgres", "api", "worker", NULL}; *s; s++)
        check_logging(json_object_get(services, *s), *s);
    check_scalable_worker(w);
    json_decref(c);

    check_compose_requires("-f docker-compose.yml", "POSTGRES_PASSWORD");
}

/* The nginx edge: only with --profile edge (the plain `up` stays postgres, api, workers), built
 * from deploy/nginx/Dockerfile with deploy/nginx/awm.conf, in front of the api service. */
static void test_edge_compose(void)
{
    json_t *c = compose_valid("-f docker-compose.yml --profile edge");
    json_t *e = json_object_get(json_object_get(c, "services"), "edge");
    CHECK(e != NULL);
    CHECK_STR_EQ(jstr(e, "build.dockerfile") ?: "", "deploy/nginx/Dockerfile");
    CHECK_STR_EQ(jstr(e, "depends_on.api.condition") ?: "", "service_healthy");
    json_t *profiles = json_object_get(e, "profiles");
    CHECK(json_is_array(profiles) && json_array_size(profiles) == 1 &&
          !strcmp(json_string_value(json_array_get(profiles, 0)) ?: "", "edge"));
    char *volumes = json_dumps(json_object_get(e, "volumes"), 0);
    CHECK_MSG(volumes && strstr(volumes, "/etc/nginx/tls"), "%s", volumes ?: "");
    free(volumes);
    check_logging(e, "edge");
    json_decref(c);
    /* The file the image copies is the one awm.conf's upstream and certificate paths fit. */
    char *df = dt_read_source("deploy/nginx/Dockerfile"), *conf = dt_read_source("deploy/nginx/awm.conf");
    CHECK(df && strstr(df, "FROM debian:12-slim") && strstr(df, "nginx-light") &&
          strstr(df, "COPY deploy/nginx/awm.conf /etc/nginx/conf.d/awm.conf"));
    CHECK(conf && strstr(conf, "server api:5173;") && strstr(conf, "/etc/nginx/tls/fullchain.pem"));
    free(df);
    free(conf);
}

/* ---- Dockerfiles ------------------------------------------------------------------------------- */

/* The text after the last FROM line (the stage that runs). */
static const char *run_stage(const char *dockerfile)
{
    const char *last = NULL;
    for (const char *p = dockerfile; (p = strstr(p, "\nFROM ")); p++)
        last = p + 1;
    return last ? last : dockerfile;
}

static void check_copy_sources(const char *name, const char *text)
{
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "COPY ", 5) || strstr(line, "--from="))
            continue;
        char *words[16];
        int n = 0;
        char *wsave = NULL;
        for (char *w = strtok_r(line + 5, " ", &wsave); w && n < 16; w = strtok_r(NULL, " ", &wsave))
            words[n++] = w;
        for (int i = 0; i < n - 1; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dt_source_root(), words[i]);
            CHECK_MSG(access(path, R_OK) == 0, "%s copies %s, which is not in the repository", name, words[i]);
        }
    }
    free(copy);
}

static void test_dockerfiles(void)
{
    char *worker = dt_read_source("Dockerfile.worker"), *api = dt_read_source("Dockerfile");
    CHECK(worker && api);
    if (!worker || !api) {
        free(worker);
        free(api);
        return;
    }
    const char *wrun = run_stage(worker), *arun = run_stage(api);
    CHECK(!strncmp(wrun, "FROM debian:12-slim", 19) && !strncmp(arun, "FROM debian:12-slim", 19));
    CHECK(strstr(worker, "FROM debian:12 AS build") && strstr(api, "FROM debian:12 AS build"));
    CHECK(strstr(wrun, "ENTRYPOINT [\"awm\", \"worker\"]"));
    CHECK(strstr(arun, "ENTRYPOINT [\"awm\", \"serve\"]"));
    CHECK(strstr(wrun, "EXPOSE 8081") && strstr(wrun, "HEALTH_PORT=8081") && strstr(wrun, "/healthz"));
    CHECK(strstr(arun, "EXPOSE 5173") && strstr(arun, "PORT=5173") && strstr(arun, "/api/health") &&
          strstr(arun, "HOST=0.0.0.0"));
    for (const char *const *t = (const char *const[]){wrun, arun, NULL}; *t; t++) {
        /* Not root; the assets where the build says they are; the seed's defaults. */
        CHECK(strstr(*t, "\nUSER awm\n"));
        CHECK(strstr(*t, "AWM_ASSETS_DIR=/usr/share/awm"));
        /* The decoded geography is made at build time in the cache dir, not in the assets. */
        CHECK(strstr(*t, "AWM_CACHE_DIR=/var/cache/awm") && strstr(*t, "find /var/cache/awm/geo"));
        CHECK(strstr(*t, "EXPORT_DIR=/app/exports"));
        CHECK(strstr(*t, "awm geo-bench") && strstr(*t, "awm render --sample"));
        CHECK(strstr(*t, "\"${AWM_RUNTIME_PACKAGES[@]}\""));
        CHECK(!strstr(*t, "AWM_BUILD_PACKAGES"));
        CHECK(!strstr(*t, "DATABASE_URL=")); /* required: no default */
    }
    CHECK(strstr(wrun, "API_URL=http://localhost:5173") && strstr(wrun, "RENDER_BASE_URL=http://localhost:5173"));
    CHECK(strstr(worker, "-Dassets_dir=/usr/share/awm") && strstr(worker, "--prefix /usr"));
    CHECK(strstr(api, "-Dassets_dir=/usr/share/awm") && strstr(api, "--prefix /usr"));
    check_copy_sources("Dockerfile.worker", worker);
    check_copy_sources("Dockerfile", api);
    free(worker);
    free(api);

    /* .dockerignore keeps local state out but not what the build copies. */
    char *ignore = dt_read_source(".dockerignore");
    CHECK(ignore && strstr(ignore, "\n.env\n") && strstr(ignore, "**/node_modules") && strstr(ignore, "\nbuild-*"));
    CHECK(ignore && strstr(ignore, "!.env.example"));
    for (const char *const *p = (const char *const[]){"src", "scripts", "assets", "db", "deploy", "tests", "bench", "meson.build", NULL}; *p; p++) {
        char needle[64];
        snprintf(needle, sizeof needle, "\n%s\n", *p);
        CHECK_MSG(!strstr(ignore ?: "", needle), ".dockerignore excludes %s, which the build needs", *p);
    }
    free(ignore);
}

static void test_run_stage_libraries(void)
{
    /* What the run stage has: the runtime list of scripts/packages.sh, the literal packages on
     * the same apt-get line (curl for the health check), and what debian:12-slim itself holds
     * (the Essential packages and apt, which brings libstdc++6 and libgcc-s1). */
    char *dockerfile = dt_read_source("Dockerfile.worker");
    const char *run = dockerfile ? run_stage(dockerfile) : "";
    const char *list = strstr(run, "\"${AWM_RUNTIME_PACKAGES[@]}\"");
    CHECK(list);
    char extra[256] = "";
    if (list) {
        list += strlen("\"${AWM_RUNTIME_PACKAGES[@]}\"");
        size_t n = strcspn(list, "\\&\n");
        snprintf(extra, sizeof extra, "%.*s", (int)n, list);
    }
    free(dockerfile);
    char *packages = NULL;
    CHECK_INT_EQ(dt_sh_out(&packages, "cd '%s' && bash -c 'source scripts/packages.sh && echo \"${AWM_RUNTIME_PACKAGES[*]}\"'",
                           dt_source_root()), 0);
    packages[strcspn(packages, "\n")] = '\0';
    char *closure = NULL;
    CHECK_INT_EQ(dt_sh_out(&closure,
                           "apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks "
                           "--no-replaces --no-enhances %s %s apt $(dpkg-query -W -f='${Package} ${Essential}\\n' | "
                           "awk '$2 == \"yes\" {print $1}') | grep -v '^ ' | sed 's/:.*//; s/[<>]//g' | sort -u",
                           packages, extra),
                 0);

    /* Every library of the binary, with its package (tests/deploy/library-packages.sh). */
    char *pairs = NULL;
    CHECK_INT_EQ(dt_sh_out(&pairs, "'%s/tests/deploy/library-packages.sh' '%s'", dt_source_root(), wh_awm_path()), 0);
    char *wrapped = NULL;
    if (asprintf(&wrapped, "\n%s", closure) < 0)
        wrapped = NULL;
    int count = 0;
    char *save = NULL;
    for (char *line = strtok_r(pairs, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *pkg = strrchr(line, ' ');
        if (!pkg)
            continue;
        *pkg++ = '\0';
        CHECK_MSG(strcmp(pkg, "?"), "no Debian package owns %s", line);
        char needle[200];
        snprintf(needle, sizeof needle, "\n%s\n", pkg);
        CHECK_MSG(wrapped && strstr(wrapped, needle),
                  "%s comes from %s, which the run stage of Dockerfile.worker does not install "
                  "(add it to AWM_RUNTIME_PACKAGES in scripts/packages.sh)", line, pkg);
        count++;
    }
    CHECK_MSG(count >= 20, "only %d libraries found by ldd", count);
    free(wrapped);
    free(pairs);
    free(closure);

    /* Every package the images install exists in Debian 12 (needs apt's package lists). */
    char *all = NULL;
    dt_sh_out(&all, "cd '%s' && bash -c 'source scripts/packages.sh && echo \"${AWM_RUNTIME_PACKAGES[*]} "
                    "${AWM_BUILD_PACKAGES[*]}\"'", dt_source_root());
    if (dt_sh("ls /var/lib/apt/lists/ 2>/dev/null | grep -q _Packages") == 0) {
        all[strcspn(all, "\n")] = '\0';
        char *known = NULL;
        dt_sh_out(&known, "apt-cache show --no-all-versions %s curl 2>/dev/null | sed -n 's/^Package: //p' | sort -u", all);
        char *wrapped_known = NULL;
        if (asprintf(&wrapped_known, "\n%s", known) < 0)
            wrapped_known = NULL;
        char *wsave = NULL;
        for (char *p = strtok_r(all, " ", &wsave); p; p = strtok_r(NULL, " ", &wsave)) {
            char needle[200];
            snprintf(needle, sizeof needle, "\n%s\n", p);
            CHECK_MSG(wrapped_known && strstr(wrapped_known, needle), "package %s is unknown to apt", p);
        }
        CHECK(wrapped_known && strstr(wrapped_known, "\ncurl\n"));
        free(known);
        free(wrapped_known);
    } else {
        fprintf(stderr, "note: no apt package lists here (apt-get update): package names not checked\n");
    }
    free(all);
    free(packages);
}

/* ---- the installed layout and the systemd units ------------------------------------------------ */

static void test_install_layout(void)
{
    char *out = NULL;
    int status = dt_sh_out(&out, "cd '%s' && deploy/install.sh --build '%s' --prefix /usr --destdir '%s/root' --warm",
                           dt_source_root(), awm_env_str("AWM_BUILD_ROOT", "."), tmp);
    CHECK_MSG(status == 0, "install.sh: %s", out);
    free(out);
    CHECK_INT_EQ(dt_sh("test -x '%s/root/usr/bin/awm'", tmp), 0);
    CHECK_INT_EQ(dt_sh("test -x '%s/root/usr/bin/awm-server'", tmp), 0); /* `awm places` below runs it */
    CHECK_INT_EQ(dt_sh("cd '%s' && diff -r db/migrations '%s/root/usr/share/awm/db/migrations' >/dev/null", dt_source_root(), tmp), 0);
    /* A render from the installed tree alone, with the geography caches hit (no JSON parsing). */
    status = dt_sh_out(&out, "env AWM_ASSETS_DIR='%s/root/usr/share/awm' AWM_CACHE_DIR='%s/root/var/cache/awm' "
                             "AWM_FONT_CACHE='%s/fonts' LOG_LEVEL=debug "
                             "'%s/root/usr/bin/awm' render --sample '%s/p.png' --size 8x10 --dpi 30 --quiet",
                       tmp, tmp, tmp, tmp, tmp);
    CHECK_MSG(status == 0, "render from the installed layout: %s", out);
    CHECK_MSG(!strstr(out, "GEO_CACHE_MISS"), "the geography was parsed again: %s", out);
    free(out);
    CHECK_INT_EQ(dt_sh("test -z \"$(find '%s/root/usr/share/awm' -name '*.awmgeo')\"", tmp), 0);
    /* The place search from the installed tree, its index read from the cache --warm made. */
    status = dt_sh_out(&out, "env AWM_ASSETS_DIR='%s/root/usr/share/awm' AWM_CACHE_DIR='%s/root/var/cache/awm' "
                             "'%s/root/usr/bin/awm' places --limit 1 'München, Deutschland' 2>&1",
                       tmp, tmp, tmp);
    CHECK_MSG(status == 0 && strstr(out, "\"Munich\"") && strstr(out, "\"built\":false") &&
                  !strstr(out, "PLACES_CACHE_MISS"),
              "place search from the installed layout: %s", out);
    free(out);
    /* As in the image: an unprivileged user, for whom the installed tree is read-only, renders
     * with only its own font cache writable. */
    if (geteuid() == 0 && dt_sh("id nobody >/dev/null 2>&1") == 0) {
        chmod(tmp, 0755);
        status = dt_sh_out(&out, "mkdir -p '%s/nobody-fonts' '%s/nobody-out' && chown nobody '%s/nobody-fonts' '%s/nobody-out' && "
                                 "chmod 700 '%s/nobody-fonts' && runuser -u nobody -- env AWM_ASSETS_DIR='%s/root/usr/share/awm' "
                                 "AWM_CACHE_DIR='%s/root/var/cache/awm' "
                                 "AWM_FONT_CACHE='%s/nobody-fonts' LOG_LEVEL=debug TMPDIR='%s/nobody-out' "
                                 "'%s/root/usr/bin/awm' render --sample '%s/nobody-out/p.png' --size 8x10 --dpi 30 --quiet",
                           tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp);
        CHECK_MSG(status == 0, "render as nobody from the read-only layout: %s", out);
        CHECK_MSG(!strstr(out, "GEO_CACHE_MISS"), "the geography was parsed again: %s", out);
        free(out);
    }
}

static void test_systemd_units(void)
{
    char *env = dt_read_source("deploy/systemd/awm.env.example");
    CHECK(env);
    /* Settings in the units' env file are ones the programs read. */
    json_t *vars = program_variables();
    char *save = NULL;
    for (char *line = env ? strtok_r(env, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
        if (n && line[n] == '=') {
            line[n] = '\0';
            CHECK_MSG(json_object_get(vars, line), "awm.env.example sets %s, which no program reads", line);
        }
    }
    json_decref(vars);
    free(env);
    if (dt_sh("command -v systemd-analyze >/dev/null") != 0) {
        fprintf(stderr, "note: systemd-analyze not installed: unit files not verified\n");
        return;
    }
    /* Verified with the binary of this build in place of /usr/local/bin/awm. */
    char *out = NULL;
    int status = dt_sh_out(&out, "cd '%s' && sed 's#/usr/local/bin/awm#%s#g' deploy/systemd/awm-api.service > '%s/awm-api.service' && "
                                 "sed 's#/usr/local/bin/awm#%s#g' 'deploy/systemd/awm-worker@.service' > '%s/awm-worker@1.service' && "
                                 "systemd-analyze verify --man=no '%s/awm-api.service' '%s/awm-worker@1.service'",
                           dt_source_root(), wh_awm_path(), tmp, wh_awm_path(), tmp, tmp, tmp);
    CHECK_MSG(status == 0 && !out[0], "systemd-analyze verify: %s", out);
    free(out);
}

/* ---- the guide's references --------------------------------------------------------------------- */

static void test_guide_references(void)
{
    /* Repository paths it names exist. */
    regex_t re;
    CHECK(regcomp(&re, "(^|[ `(])((deploy|scripts|docs|tests|db)/[A-Za-z0-9_.@/-]*[A-Za-z0-9_@]|"
                       "Dockerfile(\\.worker)?|docker-compose(\\.worker)?\\.yml|\\.env\\.example|assets/sample-map\\.json)",
                  REG_EXTENDED | REG_NEWLINE) == 0);
    regmatch_t m[3];
    int n = 0;
    for (const char *p = doc; regexec(&re, p, 3, m, 0) == 0; p += m[0].rm_eo) {
        char rel[512], path[4200];
        snprintf(rel, sizeof rel, "%.*s", (int)(m[2].rm_eo - m[2].rm_so), p + m[2].rm_so);
        snprintf(path, sizeof path, "%s/%s", dt_source_root(), rel);
        CHECK_MSG(access(path, F_OK) == 0, "the guide names %s, which does not exist", rel);
        n++;
    }
    regfree(&re);
    CHECK(n >= 20);
    /* `awm <command>` uses commands the binary has. */
    char *help = NULL;
    dt_sh_out(&help, "'%s' --help", wh_awm_path());
    CHECK(regcomp(&re, "awm ([a-z][a-z-]*)", REG_EXTENDED) == 0);
    for (const char *p = doc; regexec(&re, p, 2, m, 0) == 0; p += m[0].rm_eo) {
        char cmd[64], needle[80];
        snprintf(cmd, sizeof cmd, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        /* "awm" as an entry point (--entrypoint awm api …), a group (-g awm) or the end of a
         * path (ninja … src/cli/awm src/cli/awm-server) is no command. */
        const char *at = p + m[0].rm_so;
        bool as_option = (at - doc >= 13 && !strncmp(at - 13, "--entrypoint ", 13)) ||
                         (at - doc >= 3 && !strncmp(at - 3, "-g ", 3)) || (at > doc && at[-1] == '/');
        if (as_option)
            continue;
        snprintf(needle, sizeof needle, "  %s ", cmd);
        CHECK_MSG(strstr(help, needle), "the guide runs `awm %s`, which is not a command", cmd);
    }
    regfree(&re);
    free(help);
}

int main(void)
{
    tk_mkdtemp_or_exit(tmp, sizeof tmp, "deploy-config");
    snprintf(empty_env, sizeof empty_env, "%s/empty.env", tmp);
    FILE *f = fopen(empty_env, "w");
    if (f)
        fclose(f);
    doc = dt_read_source("docs/WORKER-DEPLOYMENT.md");
    env_example = dt_read_source(".env.example");
    if (!doc || !env_example) {
        fprintf(stderr, "docs/WORKER-DEPLOYMENT.md or .env.example is missing\n");
        return 1;
    }
    if (dt_sh("command -v docker-compose >/dev/null") != 0) {
        fprintf(stderr, "docker-compose is not installed (scripts/setup installs it: AWM_TEST_PACKAGES)\n");
        return 1;
    }
    RUN(test_variables_documented);
    RUN(test_worker_compose);
    RUN(test_full_compose);
    RUN(test_edge_compose);
    RUN(test_dockerfiles);
    RUN(test_run_stage_libraries);
    RUN(test_install_layout);
    RUN(test_systemd_units);
    RUN(test_guide_references);
    free(doc);
    free(env_example);
    if (!getenv("AWM_KEEP_TEST_DIR"))
        tk_remove_tree(tmp);
    return TEST_EXIT();
}
