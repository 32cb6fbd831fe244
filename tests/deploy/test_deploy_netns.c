/* test_deploy_netns.c — the worker is decoupled from the API server: it runs in a network
 * namespace of its own, joined to the host by one veth pair (10.231.x.y/30, made by this test and
 * routed nowhere else), with PostgreSQL and `awm serve` listening on the host end. Over that link
 * it completes an export. Loopback of the host is not reachable from the namespace, so the link is
 * the only way. With the link down, a new job waits (pending_export) and the worker stays up; once
 * the link is back, the job completes. The namespace and the veth pair are removed at exit, on
 * fatal signals, and (for a run killed with SIGKILL) by the next run.
 * Needs root (ip netns); as another user it is skipped (exit 77). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deploy_util.h"
#include "support/pg_harness.h"
#include "test.h"
#include "worker/worker_harness.h"

#define NS_PREFIX "awm-deploy-"
#define KEY "netns-test-key-0123456789abcdef01234"

static char ns_name[64], host_if[16], ns_if[16];
static char host_ip[32], worker_ip[32];
static bool ns_made;
static pg_harness *pg;
static char dir[512], exports[600], api_url[128], db_url[256];
static wh_proc api, worker;
static char user_map_id[64];

/* ---- the namespace, its veth pair, and their cleanup ------------------------------------------- */

/* Async-signal-safe: fork + exec `ip netns del` and `ip link del` (a leftover veth). */
static void remove_namespace(void)
{
    if (!ns_made)
        return;
    char *const del_ns[] = {"ip", "netns", "del", ns_name, NULL};
    char *const del_if[] = {"ip", "link", "del", host_if, NULL};
    char *const *cmds[] = {del_ns, del_if};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execvp("ip", cmds[i]);
            _exit(127);
        }
        if (pid > 0)
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
    }
    ns_made = false;
}

static struct sigaction old_actions[NSIG];
static atomic_int postmaster; /* killed from the signal handler (the harness's may be replaced) */

static void on_fatal_signal(int sig)
{
    /* The worker lives in the namespace: kill it before removing the namespace. */
    if (worker.pid > 0)
        kill(worker.pid, SIGKILL);
    remove_namespace();
    if (postmaster > 0)
        kill(postmaster, SIGQUIT); /* PostgreSQL's immediate shutdown */
    /* Then whatever the harnesses installed before us (kill children, stop PostgreSQL). */
    sigaction(sig, &old_actions[sig], NULL);
    raise(sig);
}

static void install_signal_cleanup(void)
{
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, &old_actions[sigs[i]]);
    }
}

/* Namespaces and veths of earlier runs that died by SIGKILL (their pid is gone). */
static void sweep_leftovers(void)
{
    DIR *d = opendir("/run/netns");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, NS_PREFIX, strlen(NS_PREFIX)))
            continue;
        long pid = atol(e->d_name + strlen(NS_PREFIX));
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
            continue;
        dt_sh("ip netns del '%s'; ip link del awdh%ld 2>/dev/null; true", e->d_name, pid);
    }
    if (d)
        closedir(d);
}

static bool make_namespace(void)
{
    long pid = (long)getpid();
    snprintf(ns_name, sizeof ns_name, NS_PREFIX "%ld", pid);
    snprintf(host_if, sizeof host_if, "awdh%ld", pid);
    snprintf(ns_if, sizeof ns_if, "awdw%ld", pid);
    /* A /30 of 10.231.0.0/16 picked from the pid, skipping any already on this host. */
    for (long k = 0; k < 16384; k++) {
        long idx = (pid + k) % 16384;
        snprintf(host_ip, sizeof host_ip, "10.231.%ld.%ld", idx / 64, (idx % 64) * 4 + 1);
        snprintf(worker_ip, sizeof worker_ip, "10.231.%ld.%ld", idx / 64, (idx % 64) * 4 + 2);
        if (dt_sh("ip -o addr show | grep -qE 'inet (%s|%s)/'", host_ip, worker_ip) != 0)
            break;
    }
    ns_made = true;
    return dt_sh("ip netns add %s && ip link add %s type veth peer name %s && "
                 "ip link set %s netns %s && ip addr add %s/30 dev %s && ip link set %s up && "
                 "ip netns exec %s ip addr add %s/30 dev %s && ip netns exec %s ip link set %s up && "
                 "ip netns exec %s ip link set lo up",
                 ns_name, host_if, ns_if, ns_if, ns_name, host_ip, host_if, host_if, ns_name,
                 worker_ip, ns_if, ns_name, ns_if, ns_name) == 0;
}

/* Start the worker with its network namespace switched to ours for the fork. */
static bool spawn_worker_in_namespace(void)
{
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", ns_name);
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int target = open(path, O_RDONLY | O_CLOEXEC);
    bool ok = self >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
    if (ok) {
        char env_db[400], env_api[200], env_dir[700], log[700];
        snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", db_url);
        snprintf(env_api, sizeof env_api, "API_URL=%s", api_url);
        snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s", exports);
        snprintf(log, sizeof log, "%s/worker.log", dir);
        const char *env[] = {env_db, env_api, env_dir, "HEALTH_PORT=8081", "WORKER_API_KEY=" KEY,
                             "STORAGE=local", "WORKER_RENDER_DPI=40", "WORKER_POLL_INTERVAL_MS=300",
                             "WORKER_API_RETRY_DELAY_MS=200", NULL};
        const char *args[] = {"worker", NULL};
        ok = wh_spawn(&worker, args, env, log);
        if (setns(self, CLONE_NEWNET) != 0) {
            fprintf(stderr, "cannot return to the test's network namespace: %s\n", strerror(errno));
            abort();
        }
    }
    if (self >= 0)
        close(self);
    if (target >= 0)
        close(target);
    return ok;
}

/* ---- the API ------------------------------------------------------------------------------------ */

static bool post_export(char id[64])
{
    char url[256], body[300];
    snprintf(url, sizeof url, "%s/api/export", api_url);
    snprintf(body, sizeof body, "{\"userMapId\":\"%s\",\"widthInches\":8,\"heightInches\":10,"
                                "\"paperSizeName\":\"8×10\"}", user_map_id);
    json_t *answer = NULL;
    long status = wh_http("POST", url, body, NULL, &answer);
    const char *pj = json_string_value(json_object_get(answer, "printJobId"));
    bool ok = status == 202 && pj;
    snprintf(id, 64, "%s", pj ? pj : "");
    json_decref(answer);
    return ok;
}

static char *job_state(const char *id)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/jobs/%s", api_url, id);
    json_t *job = NULL;
    wh_http("GET", url, NULL, NULL, &job);
    const char *s = json_string_value(json_object_get(job, "state"));
    char *copy = strdup(s ? s : "?");
    json_decref(job);
    return copy;
}

static bool wait_complete(const char *id, double timeout_s)
{
    double end = awm_now_seconds() + timeout_s;
    for (;;) {
        char *s = job_state(id);
        bool done = !strcmp(s, "export_complete"), failed = !strcmp(s, "export_failed");
        free(s);
        if (done)
            return true;
        if (failed || awm_now_seconds() >= end)
            return false;
        tk_sleep_ms(200);
    }
}

/* ---- the cases ---------------------------------------------------------------------------------- */

static void test_only_the_link_reaches_the_host(void)
{
    /* The host's loopback API is not reachable from the namespace (it has its own lo)... */
    CHECK(dt_sh("ip netns exec %s curl -sS -m 3 -o /dev/null http://127.0.0.1:%d/api/health",
                ns_name, atoi(strrchr(api_url, ':') + 1)) != 0);
    /* ...and nothing beyond the /30: the namespace has no default route. */
    char *routes = NULL;
    CHECK_INT_EQ(dt_sh_out(&routes, "ip netns exec %s ip route show", ns_name), 0);
    CHECK_MSG(!strstr(routes, "default"), "%s", routes);
    free(routes);
    /* Through the link, it is. */
    CHECK(dt_sh("ip netns exec %s curl -fsS -m 10 -o /dev/null %s/api/health", ns_name, api_url) == 0);
}

static void test_export_over_the_link(void)
{
    CHECK(spawn_worker_in_namespace());
    char id[64];
    CHECK(post_export(id));
    CHECK_MSG(wait_complete(id, 180), "job %s did not complete over the link (see %s/worker.log)", id, dir);
    CHECK_INT_EQ(tk_count_files(exports, "20"), 1);
    /* The worker said where it connects: the host end of the link, nothing else. */
    json_t *starts = wh_log_events(worker.log_path, "WORKER_STARTING");
    const char *database = json_string_value(json_object_get(json_array_get(starts, 0), "database"));
    CHECK_MSG(database && strstr(database, host_ip), "%s", database ? database : "(no WORKER_STARTING)");
    json_decref(starts);
}

static void test_link_down_jobs_wait_then_complete(void)
{
    CHECK(dt_sh("ip netns exec %s ip link set %s down", ns_name, ns_if) == 0);
    char id[64];
    CHECK(post_export(id));
    /* While the link is down the job cannot be taken: it waits, and the worker stays up. */
    tk_sleep_ms(4000);
    char *s = job_state(id);
    CHECK_STR_EQ(s, "pending_export");
    free(s);
    CHECK(wh_alive(&worker));
    CHECK(dt_sh("ip netns exec %s ip link set %s up", ns_name, ns_if) == 0);
    CHECK_MSG(wait_complete(id, 240), "job %s did not complete after the link came back (see %s/worker.log)",
              id, dir);
    CHECK_INT_EQ(tk_count_files(exports, "20"), 2);
    CHECK_INT_EQ(wh_stop(&worker, SIGTERM, 60), 0);
}

static bool start_services(void)
{
    awm_error err;
    pg = pg_harness_start(&err);
    if (!pg || !pg_harness_migrate(pg, &err)) {
        fprintf(stderr, "postgres: %s\n", err.msg);
        return false;
    }
    /* PostgreSQL also listens on the host end of the link and lets the worker's address in. */
    if (dt_sh("cd '%s' && printf \"\\nlisten_addresses = '127.0.0.1,%s'\\n\" >> postgresql.conf && "
              "printf 'host all all %s/32 trust\\n' >> pg_hba.conf",
              pg_harness_dir(pg), host_ip, worker_ip) != 0 ||
        !pg_harness_restart(pg, false, &err)) {
        fprintf(stderr, "postgres on %s: %s\n", host_ip, err.msg);
        return false;
    }
    snprintf(db_url, sizeof db_url, "host=%s port=%d user=awm dbname=postgres connect_timeout=10", host_ip,
             pg_harness_port(pg));

    int port = tk_free_port();
    snprintf(api_url, sizeof api_url, "http://%s:%d", host_ip, port);
    char env_db[400], env_host[64], env_port[32], env_dir[700], log[700], url[256];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", pg_harness_conninfo(pg));
    snprintf(env_host, sizeof env_host, "HOST=%s", host_ip);
    snprintf(env_port, sizeof env_port, "PORT=%d", port);
    snprintf(env_dir, sizeof env_dir, "EXPORT_DIR=%s", exports);
    snprintf(log, sizeof log, "%s/api.log", dir);
    const char *env[] = {env_db, env_host, env_port, env_dir, "WORKER_API_KEY=" KEY, "STORAGE=local", NULL};
    const char *args[] = {"serve", NULL};
    snprintf(url, sizeof url, "%s/api/health", api_url);
    if (!wh_spawn(&api, args, env, log) || !wh_wait_http_ok(url, 60)) {
        fprintf(stderr, "awm serve on %s did not become healthy (see %s)\n", api_url, log);
        return false;
    }

    char sample[4096];
    char *map = NULL;
    size_t len;
    if (!awm_asset_path(sample, sizeof sample, "assets/sample-map.json") || !awm_read_file(sample, &map, &len, NULL))
        return false;
    snprintf(url, sizeof url, "%s/api/maps", api_url);
    json_t *answer = NULL;
    long status = wh_http("POST", url, map, NULL, &answer);
    free(map);
    const char *id = json_string_value(json_object_get(json_object_get(answer, "userMap"), "id"));
    snprintf(user_map_id, sizeof user_map_id, "%s", id ? id : "");
    json_decref(answer);
    return status == 201 && id;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: needs root to create a network namespace and a veth pair (ip netns)\n");
        return 77;
    }
    tk_mkdtemp_or_exit(dir, sizeof dir, "deploy-netns");
    snprintf(exports, sizeof exports, "%s/exports", dir);
    mkdir(exports, 0755);
    sweep_leftovers();
    atexit(remove_namespace);
    if (!make_namespace()) {
        fprintf(stderr, "cannot create the network namespace %s and its veth pair\n", ns_name);
        return 1;
    }
    if (!start_services())
        return 1;
    /* Now, after the harnesses installed theirs: ours runs first and then chains to them. */
    postmaster = pg_harness_pid(pg);
    install_signal_cleanup();
    RUN(test_only_the_link_reaches_the_host);
    RUN(test_export_over_the_link);
    RUN(test_link_down_jobs_wait_then_complete);
    wh_stop(&worker, SIGKILL, 10);
    wh_stop(&api, SIGTERM, 20);
    pg_harness_destroy(pg);
    remove_namespace();
    if (!getenv("AWM_KEEP_TEST_DIR"))
        tk_remove_tree(dir);
    return TEST_EXIT();
}
