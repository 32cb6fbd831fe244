/* test_deploy_tls.c — the database link over TLS as docs/WORKER-DEPLOYMENT.md describes it:
 * a private PostgreSQL with ssl=on and a server certificate for "localhost" signed by a CA made
 * here with openssl, and a pg_hba.conf that accepts TLS connections only. The API server and a
 * worker using `sslmode=verify-full sslrootcert=ca.pem host=localhost` complete an export, and
 * every client connection is encrypted. `awm worker --check` then refuses, with a message naming
 * the problem, a name that does not match the certificate (127.0.0.1), a certificate from
 * another CA, a plain connection, and a server whose certificate is for another host.
 * A role with a password (SCRAM) connects with the password in a libpq passfile (the guide's
 * Docker-secrets recipe) and is refused without it. */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db/db.h"
#include "deploy_util.h"
#include "support/pg_harness.h"
#include "test.h"
#include "worker/worker_harness.h"

#define TLS_KEY "tls-test-key-0123456789abcdef0123456"

static pg_harness *pg;
static char dir[512];
static char api_url[128];
static wh_proc api;

/* Copy a PEM pair into the data directory under the names ssl_cert_file/ssl_key_file use,
 * owned by the server's user (postgres when we are root) and private, as PostgreSQL demands. */
static bool install_server_cert(const char *name)
{
    struct stat st;
    if (stat(pg_harness_dir(pg), &st) != 0)
        return false;
    return dt_sh("cp '%s/%s.crt' '%s/server.crt' && cp '%s/%s.key' '%s/server.key' && "
                 "chown %d:%d '%s/server.crt' '%s/server.key' && chmod 600 '%s/server.key'",
                 dir, name, pg_harness_dir(pg), dir, name, pg_harness_dir(pg), (int)st.st_uid,
                 (int)st.st_gid, pg_harness_dir(pg), pg_harness_dir(pg), pg_harness_dir(pg)) == 0;
}

static bool make_certificates(void)
{
    /* EC keys: quick to make. The CA from `req -x509` carries CA:TRUE (OpenSSL's v3_ca). */
    return dt_sh("cd '%s' && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "  -keyout ca.key -out ca.pem -days 2 -subj '/CN=AWM test CA' && "
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "  -keyout wrongca.key -out wrongca.pem -days 2 -subj '/CN=Another CA' && "
                 "for n in localhost:localhost other:db.example.com; do "
                 "  f=${n%%%%:*}; cn=${n#*:}; "
                 "  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "    -keyout $f.key -out $f.csr -subj \"/CN=$cn\" && "
                 "  printf 'subjectAltName=DNS:%%s\\n' \"$cn\" > $f.ext && "
                 "  openssl x509 -req -in $f.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                 "    -out $f.crt -days 2 -extfile $f.ext || exit 1; "
                 "done",
                 dir) == 0;
}

/* ssl = on and TLS-only client authentication, then a restart. */
static bool enable_tls(void)
{
    return install_server_cert("localhost") &&
           dt_sh("cd '%s' && printf \"\\nssl = on\\nssl_cert_file = 'server.crt'\\n"
                 "ssl_key_file = 'server.key'\\n\" >> postgresql.conf && "
                 "printf 'local all all trust\\n"
                 "hostssl all secure 127.0.0.1/32 scram-sha-256\\nhostssl all secure ::1/128 scram-sha-256\\n"
                 "hostssl all all 127.0.0.1/32 trust\\nhostssl all all ::1/128 trust\\n' > pg_hba.conf",
                 pg_harness_dir(pg)) == 0;
}

static void conninfo(char *buf, size_t size, const char *host, const char *sslmode, const char *ca)
{
    snprintf(buf, size, "host=%s port=%d user=awm dbname=postgres connect_timeout=10 sslmode=%s%s%s%s",
             host, pg_harness_port(pg), sslmode, ca ? " sslrootcert=" : "", ca ? dir : "",
             ca ? ca : "");
}

/* `awm worker --check` with this DATABASE_URL; its exit status, output in *out. */
static int worker_check(const char *db, char **out)
{
    static int n;
    char env_db[700], env_api[200], env_dir[700], log[700];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    snprintf(env_api, sizeof env_api, "API_URL=%s", api_url);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s/exports", dir);
    snprintf(log, sizeof log, "%s/check-%d.log", dir, ++n);
    const char *env[] = {env_db, env_api, env_dir, "STORAGE=local", "WORKER_API_KEY=" TLS_KEY, NULL};
    return wh_run_check(env, log, out);
}

static void check_refused(const char *db, const char *why, const char *expect)
{
    char *out = NULL;
    int status = worker_check(db, &out);
    CHECK_MSG(status == 1, "%s: --check exited %d, want 1: %s", why, status, out);
    CHECK_MSG(strstr(out, "database  FAIL"), "%s: no database failure line: %s", why, out);
    CHECK_MSG(strstr(out, expect), "%s: the message does not say \"%s\": %s", why, expect, out);
    free(out);
}

static void test_export_over_verified_tls(void)
{
    char db[600];
    conninfo(db, sizeof db, "localhost", "verify-full", "/ca.pem");

    char env_db[700], env_port[32], env_dir[700], log[700], url[256];
    int port = tk_free_port();
    snprintf(api_url, sizeof api_url, "http://127.0.0.1:%d", port);
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db);
    snprintf(env_port, sizeof env_port, "PORT=%d", port);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s/exports", dir);
    snprintf(log, sizeof log, "%s/api.log", dir);
    const char *api_env[] = {env_db, env_port, env_dir, "HOST=127.0.0.1", "WORKER_API_KEY=" TLS_KEY,
                             "STORAGE=local", NULL};
    const char *serve[] = {"serve", NULL};
    CHECK(wh_spawn(&api, serve, api_env, log));
    snprintf(url, sizeof url, "%s/api/health", api_url);
    CHECK_MSG(wh_wait_http_ok(url, 60), "awm serve over TLS is not healthy (see %s)", log);

    char *out = NULL;
    CHECK_INT_EQ(worker_check(db, &out), 0);
    CHECK_MSG(strstr(out, "database  ok"), "%s", out);
    free(out);

    /* A whole job: map and export through the API, the worker renders and reports. */
    char env_api[200];
    snprintf(env_api, sizeof env_api, "API_URL=%s", api_url);
    snprintf(log, sizeof log, "%s/worker.log", dir);
    const char *worker_env[] = {env_db, env_api, env_dir, "HEALTH_PORT=0", "WORKER_API_KEY=" TLS_KEY, "STORAGE=local",
                                "WORKER_RENDER_DPI=40", "WORKER_POLL_INTERVAL_MS=300", NULL};
    const char *worker_args[] = {"worker", NULL};
    wh_proc worker;
    CHECK(wh_spawn(&worker, worker_args, worker_env, log));

    char sample[4096];
    char *map = NULL;
    size_t len;
    CHECK(awm_asset_path(sample, sizeof sample, "assets/sample-map.json") && awm_read_file(sample, &map, &len, NULL));
    snprintf(url, sizeof url, "%s/api/maps", api_url);
    json_t *answer = NULL;
    CHECK_INT_EQ(wh_http("POST", url, map, NULL, &answer), 201);
    free(map);
    const char *map_id = json_string_value(json_object_get(json_object_get(answer, "userMap"), "id"));
    char body[300];
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":8,\"heightInches\":10}", map_id ? map_id : "");
    json_decref(answer);
    snprintf(url, sizeof url, "%s/api/export", api_url);
    CHECK_INT_EQ(wh_http("POST", url, body, NULL, &answer), 202);
    char job_id[64] = "";
    snprintf(job_id, sizeof job_id, "%s", json_string_value(json_object_get(answer, "printJobId")) ?: "");
    json_decref(answer);

    const char *state = NULL;
    json_t *job = NULL;
    double end = awm_now_seconds() + 180;
    snprintf(url, sizeof url, "%s/api/jobs/%s", api_url, job_id);
    while (awm_now_seconds() < end) {
        json_decref(job);
        job = NULL;
        wh_http("GET", url, NULL, NULL, &job);
        state = json_string_value(json_object_get(job, "state"));
        if (state && (!strcmp(state, "export_complete") || !strcmp(state, "export_failed")))
            break;
        tk_sleep_ms(200);
    }
    CHECK_MSG(state && !strcmp(state, "export_complete"), "job %s: %s (%s)", job_id, state ? state : "?",
              json_string_value(json_object_get(job, "export_error")) ?: "");
    json_decref(job);

    /* Every client connection (the server's pool, the worker's queue connections, ours) is TLS. */
    awm_error err;
    PGconn *c = db_connect(db, &err);
    CHECK_MSG(c, "%s", err.msg);
    if (c) {
        PGresult *r = PQexec(c, "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) "
                                "FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                                "WHERE a.backend_type = 'client backend'");
        CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            CHECK_MSG(atoi(PQgetvalue(r, 0, 0)) >= 3, "TLS connections: %s", PQgetvalue(r, 0, 0));
            CHECK_MSG(atoi(PQgetvalue(r, 0, 1)) == 0, "plain connections: %s", PQgetvalue(r, 0, 1));
        }
        PQclear(r);
        PQfinish(c);
    }
    CHECK_INT_EQ(wh_stop(&worker, SIGTERM, 60), 0);
}

static void test_password_from_passfile(void)
{
    awm_error err;
    PGconn *c = db_connect(pg_harness_conninfo(pg), &err);
    CHECK_MSG(c, "%s", err.msg);
    if (!c)
        return;
    PGresult *r = PQexec(c, "CREATE ROLE secure LOGIN SUPERUSER PASSWORD 'pw-in-a-file'");
    CHECK_MSG(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    CHECK(dt_sh("cd '%s' && printf 'localhost:%d:postgres:secure:pw-in-a-file\\n' > pgpass && chmod 600 pgpass",
                dir, pg_harness_port(pg)) == 0);

    char db[800];
    snprintf(db, sizeof db, "postgresql://secure@localhost:%d/postgres?sslmode=verify-full&sslrootcert=%s/ca.pem"
             "&passfile=%s/pgpass", pg_harness_port(pg), dir, dir);
    char *out = NULL;
    CHECK_INT_EQ(worker_check(db, &out), 0);
    CHECK_MSG(strstr(out, "database  ok"), "%s", out);
    CHECK_MSG(!strstr(out, "pw-in-a-file"), "the password is printed: %s", out);
    free(out);
    snprintf(db, sizeof db, "postgresql://secure@localhost:%d/postgres?sslmode=verify-full&sslrootcert=%s/ca.pem",
             pg_harness_port(pg), dir);
    check_refused(db, "no password", "no password supplied");
}

static void test_refusals(void)
{
    char db[600];
    conninfo(db, sizeof db, "127.0.0.1", "verify-full", "/ca.pem");
    check_refused(db, "address instead of the certificate's name", "does not match host name");
    conninfo(db, sizeof db, "localhost", "verify-full", "/wrongca.pem");
    check_refused(db, "certificate from another CA", "certificate verify failed");
    conninfo(db, sizeof db, "localhost", "disable", NULL);
    check_refused(db, "plain connection", "no encryption");

    /* The server now presents a certificate for db.example.com. */
    awm_error err;
    CHECK(install_server_cert("other"));
    CHECK_MSG(pg_harness_restart(pg, false, &err), "%s", err.msg);
    conninfo(db, sizeof db, "localhost", "verify-full", "/ca.pem");
    check_refused(db, "certificate for another host", "\"db.example.com\" does not match host name \"localhost\"");
}

int main(void)
{
    awm_error err;
    tk_mkdtemp_or_exit(dir, sizeof dir, "deploy-tls");
    char exports[600];
    snprintf(exports, sizeof exports, "%s/exports", dir);
    mkdir(exports, 0755);
    pg = pg_harness_start(&err);
    if (!pg || !pg_harness_migrate(pg, &err)) {
        fprintf(stderr, "postgres: %s\n", err.msg);
        return 1;
    }
    if (!make_certificates() || !enable_tls() || !pg_harness_restart(pg, false, &err)) {
        fprintf(stderr, "could not set up TLS (openssl or restart): %s\n", err.msg);
        pg_harness_destroy(pg);
        return 1;
    }
    RUN(test_export_over_verified_tls);
    RUN(test_password_from_passfile);
    RUN(test_refusals);
    wh_stop(&api, SIGTERM, 20);
    pg_harness_destroy(pg);
    if (!getenv("AWM_KEEP_TEST_DIR"))
        tk_remove_tree(dir);
    return TEST_EXIT();
}
