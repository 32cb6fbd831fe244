/* pg_harness.c — see pg_harness.h. Commands run with tk_spawn_with (no shell), so paths need no
 * quoting; their output goes to <dir>/harness.log and is quoted in error messages. */
#include "pg_harness.h"
#include "testkit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db/db.h"

#define DIR_PREFIX "awm-pg-"
#define MAX_SERVERS 8

struct pg_harness {
    char dir[512];      /* the temp directory: socket, logs, owner.pid */
    char data[600];     /* dir/data: the cluster */
    char bindir[512];
    char conninfo[256];
    int port;
    bool running;
};

/* Postmaster pids the signal handler must kill (on whichever thread it runs): lock-free
 * atomics, so the handler needs no locks. */
static atomic_int g_pids[MAX_SERVERS];
static pg_harness *g_live[MAX_SERVERS];
static bool g_hooks_installed;
/* The process that started the servers: a forked child (a test's worker process) inherits
 * the hooks but must not take the servers down when it exits or gets SIGTERM. */
static pid_t g_owner_pid;

/* ---- small process and file helpers ------------------------------------------------------- */

/* Alive and not a zombie (PID 1 in a container may never reap a re-parented postmaster). */
static bool proc_alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return false;
    char buf[256];
    const char *st = tk_proc_stat(pid, buf, sizeof buf);
    return !(st && st[0] == 'Z');
}

static pid_t read_pid_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

static pid_t postmaster_pid(const char *data_dir)
{
    char path[700];
    snprintf(path, sizeof path, "%s/postmaster.pid", data_dir);
    return read_pid_file(path);
}

/* SIGKILL a postmaster's children (backends), then the postmaster, and wait for them. */
static void kill_server_tree(pid_t pm)
{
    if (pm <= 0)
        return;
    kill(pm, SIGKILL);
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        pid_t pid = (pid_t)atol(e->d_name);
        if (pid <= 0)
            continue;
        char buf[512];
        const char *st = tk_proc_stat(pid, buf, sizeof buf);
        char state;
        long ppid;
        if (st && sscanf(st, "%c %ld", &state, &ppid) == 2 && ppid == pm)
            kill(pid, SIGKILL);
    }
    if (d)
        closedir(d);
    for (int i = 0; i < 500 && proc_alive(pm); i++)
        tk_sleep_ms(10);
}

static const char *tmp_root(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* The last lines of a log file, for error messages. */
static void log_tail(const char *path, char *out, size_t size)
{
    out[0] = '\0';
    char *text = NULL;
    size_t len = 0;
    if (!awm_read_file(path, &text, &len, NULL))
        return;
    size_t keep = size - 1 < 600 ? size - 1 : 600;
    const char *start = len > keep ? text + len - keep : text;
    snprintf(out, size, "%s", start);
    for (char *c = out; *c; c++)
        if (*c == '\n')
            *c = ' ';
    free(text);
}

/* Run argv (PATH lookup), output appended to dir/harness.log; true when it exits 0. */
static bool run_argv(pg_harness *pg, const char *const *argv, awm_error *err)
{
    char logpath[600];
    snprintf(logpath, sizeof logpath, "%s/harness.log", pg->dir);
    tk_spawn_options opt = {.out_path = logpath, .err_path = logpath, .append = true, .null_stdin = true,
                            .search_path = true};
    int code = tk_run_with(argv[0], argv + 1, &opt);
    if (code == 0)
        return true;
    char tail[700];
    log_tail(logpath, tail, sizeof tail);
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (!strcmp(name, "runuser") && argv[4])
        name = strrchr(argv[4], '/') ? strrchr(argv[4], '/') + 1 : argv[4];
    awm_error_set(err, "pg_harness: %s failed (status %d; -1: it could not be started): %s", name, code, tail);
    return false;
}

/* Run a PostgreSQL program from bindir, as `postgres` when we are root. */
static bool run_pg(pg_harness *pg, const char *prog, const char *const *args, awm_error *err)
{
    char exe[700];
    snprintf(exe, sizeof exe, "%s/%s", pg->bindir, prog);
    const char *argv[32];
    int n = 0;
    if (geteuid() == 0) {
        argv[n++] = "runuser";
        argv[n++] = "-u";
        argv[n++] = "postgres";
        argv[n++] = "--";
    }
    argv[n++] = exe;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return run_argv(pg, argv, err);
}

/* As root, give a directory to the `postgres` user (PostgreSQL refuses to run as root). */
static bool hand_to_postgres(const char *dir, awm_error *err)
{
    if (geteuid() != 0)
        return true;
    struct passwd *pw = getpwnam("postgres");
    if (!pw) {
        awm_error_set(err, "pg_harness: running as root needs the `postgres` user "
                           "(install postgresql-15)");
        return false;
    }
    if (chown(dir, pw->pw_uid, pw->pw_gid) != 0 || chmod(dir, 0700) != 0) {
        awm_error_set(err, "pg_harness: cannot hand %s to postgres: %m", dir);
        return false;
    }
    return true;
}

/* initdb: superuser awm, trust auth, UTF-8, C locale. --no-sync only for initdb's own
 * writes (speed); the running server keeps fsync on. */
static bool run_initdb(pg_harness *pg, const char *data_dir, awm_error *err)
{
    const char *args[] = {"-D", data_dir, "-U", "awm", "--auth=trust", "--no-sync",
                          "-E", "UTF8", "--locale=C", NULL};
    return run_pg(pg, "initdb", args, err);
}

/* initdb costs 1–4 s of CPU, copying its result a fraction of that: the first start builds a
 * template cluster in <tmp>/awm-pgtemplate-<uid>-<hash of bindir>/data (under an flock, so
 * concurrent tests build it once) and every start copies it. The template stays for later
 * runs; delete the directory to rebuild it. false: the caller runs initdb itself. */
#define TEMPLATE_VERSION 1 /* bump when run_initdb's arguments change */
static bool copy_template(pg_harness *pg)
{
    unsigned long h = 5381 + TEMPLATE_VERSION;
    for (const char *c = pg->bindir; *c; c++)
        h = h * 33 + (unsigned char)*c;
    char tdir[700], tdata[720], ready[720], lock_path[720];
    snprintf(tdir, sizeof tdir, "%s/awm-pgtemplate-%d-%lx", tmp_root(), (int)geteuid(), h);
    snprintf(tdata, sizeof tdata, "%s/data", tdir);
    snprintf(ready, sizeof ready, "%s/ready", tdir);
    snprintf(lock_path, sizeof lock_path, "%s.lock", tdir);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0)
        return false;
    bool ok = flock(lock, LOCK_EX) == 0;
    if (ok && access(ready, F_OK) != 0) {
        tk_remove_tree(tdir); /* a half-built template from an interrupted run */
        ok = mkdir(tdir, 0700) == 0 && hand_to_postgres(tdir, NULL) && run_initdb(pg, tdata, NULL);
        int fd = ok ? open(ready, O_WRONLY | O_CREAT, 0644) : -1;
        ok = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    if (ok) {
        /* cp -a keeps the postgres ownership and the 0700 mode PostgreSQL insists on. */
        const char *argv[] = {"cp", "-a", tdata, pg->data, NULL};
        ok = run_argv(pg, argv, NULL);
        if (!ok) {
            tk_remove_tree(pg->data);
            unlink(ready); /* broken template: the next start builds it again */
        }
    }
    close(lock);
    return ok;
}

/* ---- cleanup on exit and on fatal signals ------------------------------------------------- */

static void stop_servers_now(void)
{
    for (int i = 0; getpid() == g_owner_pid && i < MAX_SERVERS; i++)
        if (g_pids[i] > 0)
            kill(g_pids[i], SIGQUIT); /* immediate shutdown; async-signal-safe */
}

static void on_exit_cleanup(void)
{
    if (getpid() != g_owner_pid)
        return;
    for (int i = 0; i < MAX_SERVERS; i++)
        if (g_live[i])
            pg_harness_destroy(g_live[i]);
}

static void install_hooks(void)
{
    if (g_hooks_installed)
        return;
    g_hooks_installed = true;
    g_owner_pid = getpid();
    atexit(on_exit_cleanup);
    tk_on_fatal_signal(stop_servers_now);
}

static void track(pg_harness *pg, bool live)
{
    for (int i = 0; i < MAX_SERVERS; i++) {
        if (live && !g_live[i]) {
            g_live[i] = pg;
            return;
        }
        if (!live && g_live[i] == pg) {
            g_live[i] = NULL;
            g_pids[i] = 0;
            return;
        }
    }
}

static void set_running(pg_harness *pg, bool running)
{
    pg->running = running;
    pid_t pm = running ? postmaster_pid(pg->data) : 0;
    for (int i = 0; i < MAX_SERVERS; i++)
        if (g_live[i] == pg)
            g_pids[i] = pm;
}

/* Servers whose test process died by SIGKILL (no hook ran): kill and remove them. */
static void sweep_leftovers(void)
{
    DIR *d = opendir(tmp_root());
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)))
            continue;
        char dir[1024], path[1100];
        snprintf(dir, sizeof dir, "%s/%s", tmp_root(), e->d_name);
        snprintf(path, sizeof path, "%s/owner.pid", dir);
        pid_t owner = read_pid_file(path);
        if (owner <= 0 || proc_alive(owner))
            continue;
        snprintf(path, sizeof path, "%s/data", dir);
        pid_t pm = postmaster_pid(path);
        if (pm > 0 && proc_alive(pm))
            kill_server_tree(pm);
        tk_remove_tree(dir);
    }
    if (d)
        closedir(d);
}

/* ---- the server ------------------------------------------------------------------------------ */

static bool find_bindir(char *out, size_t size)
{
    FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
    if (p) {
        char line[512] = "";
        if (fgets(line, sizeof line, p))
            line[strcspn(line, "\n")] = '\0';
        pclose(p);
        char exe[600];
        snprintf(exe, sizeof exe, "%s/initdb", line);
        if (line[0] && access(exe, X_OK) == 0) {
            snprintf(out, size, "%s", line);
            return true;
        }
    }
    if (access("/usr/lib/postgresql/15/bin/initdb", X_OK) == 0) {
        snprintf(out, size, "/usr/lib/postgresql/15/bin");
        return true;
    }
    return false;
}

/* Append the server settings; later lines win, so a retry with a new port just appends. */
static bool write_settings(pg_harness *pg, awm_error *err)
{
    char path[700];
    snprintf(path, sizeof path, "%s/postgresql.conf", pg->data);
    FILE *f = fopen(path, "a");
    if (!f) {
        awm_error_set(err, "pg_harness: cannot write %s: %m", path);
        return false;
    }
    fprintf(f, "\n# pg_harness\nport = %d\nlisten_addresses = '127.0.0.1'\n"
               "unix_socket_directories = '%s'\nfsync = on\nmax_connections = 100\n"
               "log_min_messages = warning\n",
            pg->port, pg->dir);
    fclose(f);
    snprintf(pg->conninfo, sizeof pg->conninfo,
             "host=127.0.0.1 port=%d user=awm dbname=postgres connect_timeout=10", pg->port);
    return true;
}

static bool pg_ctl_start(pg_harness *pg, awm_error *err)
{
    char logpath[600];
    snprintf(logpath, sizeof logpath, "%s/postgres.log", pg->dir);
    const char *args[] = {"-D", pg->data, "-l", logpath, "-w", "-t", "60", "start", NULL};
    if (!run_pg(pg, "pg_ctl", args, err)) {
        char tail[700];
        log_tail(logpath, tail, sizeof tail);
        awm_error_prefix(err, "server log: %s; ", tail);
        return false;
    }
    set_running(pg, true);
    return true;
}

pg_harness *pg_harness_start(awm_error *err)
{
    install_hooks();
    sweep_leftovers();
    pg_harness *pg = awm_xcalloc(1, sizeof *pg);
    if (!find_bindir(pg->bindir, sizeof pg->bindir)) {
        awm_error_set(err, "pg_harness: PostgreSQL server binaries not found "
                           "(pg_config --bindir, /usr/lib/postgresql/15/bin): install postgresql-15");
        free(pg);
        return NULL;
    }
    snprintf(pg->dir, sizeof pg->dir, "%s/" DIR_PREFIX "XXXXXX", tmp_root());
    if (!mkdtemp(pg->dir)) {
        awm_error_set(err, "pg_harness: cannot create a directory in %s: %m", tmp_root());
        free(pg);
        return NULL;
    }
    snprintf(pg->data, sizeof pg->data, "%s/data", pg->dir);
    char path[700];
    snprintf(path, sizeof path, "%s/owner.pid", pg->dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    track(pg, true);
    if (!hand_to_postgres(pg->dir, err) ||
        (!copy_template(pg) && !run_initdb(pg, pg->data, err))) {
        pg_harness_destroy(pg);
        return NULL;
    }
    /* A free port can be taken between probing and binding; try a few. */
    for (int attempt = 0; attempt < 4; attempt++) {
        pg->port = tk_free_port();
        if (pg->port > 0 && write_settings(pg, err) && pg_ctl_start(pg, err))
            return pg;
    }
    pg_harness_destroy(pg);
    return NULL;
}

const char *pg_harness_conninfo(const pg_harness *pg) { return pg->conninfo; }
int pg_harness_port(const pg_harness *pg) { return pg->port; }
const char *pg_harness_dir(const pg_harness *pg) { return pg->data; }

pid_t pg_harness_pid(const pg_harness *pg)
{
    pid_t pm = pg->running ? postmaster_pid(pg->data) : 0;
    return pm > 0 && proc_alive(pm) ? pm : 0;
}

bool pg_harness_resume(pg_harness *pg, awm_error *err)
{
    if (pg_harness_pid(pg))
        return true;
    return pg_ctl_start(pg, err);
}

bool pg_harness_stop(pg_harness *pg, awm_error *err)
{
    if (!pg_harness_pid(pg)) {
        set_running(pg, false);
        return true;
    }
    const char *args[] = {"-D", pg->data, "-m", "fast", "-w", "-t", "60", "stop", NULL};
    bool ok = run_pg(pg, "pg_ctl", args, err);
    if (ok)
        set_running(pg, false);
    return ok;
}

bool pg_harness_restart(pg_harness *pg, bool immediate, awm_error *err)
{
    char logpath[600];
    snprintf(logpath, sizeof logpath, "%s/postgres.log", pg->dir);
    const char *args[] = {"-D", pg->data, "-l", logpath, "-m", immediate ? "immediate" : "fast",
                          "-w", "-t", "60", "restart", NULL};
    if (!run_pg(pg, "pg_ctl", args, err))
        return false;
    set_running(pg, true);
    return true;
}

void pg_harness_kill(pg_harness *pg)
{
    kill_server_tree(pg_harness_pid(pg));
    /* A postmaster killed with SIGKILL leaves postmaster.pid behind, and until its zombie is
     * reaped PostgreSQL takes that pid for a running server; it is dead, so drop the file
     * and the socket's lock file, which carry the same check. */
    char path[700];
    snprintf(path, sizeof path, "%s/postmaster.pid", pg->data);
    unlink(path);
    snprintf(path, sizeof path, "%s/.s.PGSQL.%d.lock", pg->dir, pg->port);
    unlink(path);
    snprintf(path, sizeof path, "%s/.s.PGSQL.%d", pg->dir, pg->port);
    unlink(path);
    set_running(pg, false);
}

void pg_harness_destroy(pg_harness *pg)
{
    if (!pg)
        return;
    pid_t pm = pg_harness_pid(pg);
    if (pm) {
        /* Immediate shutdown: the data is thrown away, nothing to flush. */
        kill(pm, SIGQUIT);
        for (int i = 0; i < 500 && proc_alive(pm); i++)
            tk_sleep_ms(10);
        if (proc_alive(pm))
            kill_server_tree(pm);
    }
    track(pg, false);
    tk_remove_tree(pg->dir);
    free(pg);
}

bool pg_harness_migrate(pg_harness *pg, awm_error *err)
{
    char dir[4096];
    if (!awm_asset_path(dir, sizeof dir, "db/migrations")) {
        awm_error_set(err, "pg_harness: migrations path too long");
        return false;
    }
    PGconn *conn = db_connect(pg->conninfo, err);
    if (!conn)
        return false;
    bool ok = db_migrate(conn, dir, NULL, err);
    PQfinish(conn);
    return ok;
}

pg_harness *pg_harness_start_or_exit(bool migrate)
{
    awm_error err = {{0}};
    pg_harness *pg = pg_harness_start(&err);
    if (!pg || (migrate && !pg_harness_migrate(pg, &err))) {
        fprintf(stderr, "cannot %s PostgreSQL: %s\n", pg ? "migrate" : "start", err.msg);
        pg_harness_destroy(pg);
        exit(1);
    }
    return pg;
}
