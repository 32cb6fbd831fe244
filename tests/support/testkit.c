/* testkit.c — see testkit.h. */
#include "testkit.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/util.h"

extern char **environ;

/* The lowest port the kernel hands to outgoing connections (ip_local_port_range). */
static int ephemeral_low(void)
{
    int low = 32768, high = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose(f);
    }
    return low;
}

static bool port_is_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_ANY)};
    bool free = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return free;
}

int tk_free_port(void)
{
    /* Below the ephemeral range: a port the kernel chose (bind to port 0) is one it may hand to
     * any outgoing connection before the test's server binds it, which on a busy machine it did
     * (a docker edge port taken between the pick and `compose up`). Random, so parallel tests
     * rarely try the same one. */
    static _Atomic unsigned seed;
    unsigned s = atomic_fetch_add(&seed, 1) + (unsigned)getpid() * 2654435761u + (unsigned)time(NULL);
    int low = 10000, high = ephemeral_low() - 1;
    for (int attempt = 0; high > low && attempt < 200; attempt++) {
        s = s * 1103515245u + 12345u;
        int port = low + (int)((s >> 8) % (unsigned)(high - low + 1));
        if (port_is_free(port))
            return port;
    }
    return 0;
}

/* The inodes of pid's sockets, from the links in /proc/<pid>/fd ("socket:[N]"). */
static size_t socket_inodes(pid_t pid, unsigned long *inodes, size_t max)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < max && (e = readdir(d))) {
        char link[128], target[64];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) == 1)
            inodes[n++] = inode;
    }
    closedir(d);
    return n;
}

/* A listening port (state 0A) in /proc/<pid>/net/tcp or tcp6 whose inode is one of pid's. */
static int listening_port_in(pid_t pid, const char *table, const unsigned long *inodes, size_t n)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/net/%s", (int)pid, table);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    int port = 0;
    while (!port && fgets(line, sizeof line, f)) {
        char local[64];
        unsigned state;
        unsigned long inode;
        /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &state, &inode) != 3 || state != 0x0A)
            continue;
        const char *colon = strrchr(local, ':');
        for (size_t i = 0; colon && i < n; i++)
            if (inodes[i] == inode)
                port = (int)strtol(colon + 1, NULL, 16);
    }
    fclose(f);
    return port;
}

int tk_listening_port(pid_t pid, double timeout_s)
{
    double end = awm_now_seconds() + timeout_s;
    for (;;) {
        unsigned long inodes[256];
        size_t n = socket_inodes(pid, inodes, 256);
        int port = listening_port_in(pid, "tcp", inodes, n);
        if (!port)
            port = listening_port_in(pid, "tcp6", inodes, n);
        if (port || awm_now_seconds() >= end)
            return port;
        tk_sleep_ms(20);
    }
}

/* The child's environment: environ with `over` applied. Pointers into both; free the array only. */
static char **merged_env(const char *const *over)
{
    size_t n_env = 0, n_over = 0;
    while (environ[n_env])
        n_env++;
    while (over && over[n_over])
        n_over++;
    char **envp = awm_xcalloc(n_env + n_over + 1, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++) {
        bool replaced = false;
        for (size_t j = 0; j < n_over && !replaced; j++) {
            size_t nl = strcspn(over[j], "=");
            replaced = !strncmp(environ[i], over[j], nl) && environ[i][nl] == '=';
        }
        if (!replaced)
            envp[k++] = environ[i];
    }
    for (size_t j = 0; j < n_over; j++) {
        size_t nl = strcspn(over[j], "=");
        bool later = false; /* a later setting of the same name wins */
        for (size_t l = j + 1; l < n_over; l++)
            later |= !strncmp(over[l], over[j], nl) && over[l][nl] == '=';
        if (!later && over[j][nl] == '=' && over[j][nl + 1] != '\0') /* "NAME=" removes */
            envp[k++] = (char *)over[j];
    }
    envp[k] = NULL;
    return envp;
}

pid_t tk_spawn_with(const char *prog, const char *const *args, const tk_spawn_options *opt)
{
    static const tk_spawn_options none = {0};
    if (!opt)
        opt = &none;
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)prog;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    int mode = O_WRONLY | O_CREAT | (opt->append ? O_APPEND : O_TRUNC);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (opt->null_stdin)
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (opt->in_fd > 2)
        posix_spawn_file_actions_adddup2(&fa, opt->in_fd, 0);
    if (opt->out_fd > 2)
        posix_spawn_file_actions_adddup2(&fa, opt->out_fd, 1);
    else if (opt->out_path)
        posix_spawn_file_actions_addopen(&fa, 1, opt->out_path, mode, 0644);
    if (opt->err_fd > 2)
        posix_spawn_file_actions_adddup2(&fa, opt->err_fd, 2);
    else if (opt->err_path && opt->out_path && opt->out_fd <= 2 && !strcmp(opt->err_path, opt->out_path))
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    else if (opt->err_path)
        posix_spawn_file_actions_addopen(&fa, 2, opt->err_path, mode, 0644);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (opt->own_group) {
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    }
    char **envp = opt->env ? merged_env(opt->env) : environ;
    pid_t pid;
    int rc = opt->search_path ? posix_spawnp(&pid, prog, &fa, &attr, argv, envp)
                              : posix_spawn(&pid, prog, &fa, &attr, argv, envp);
    if (envp != environ)
        free(envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

pid_t tk_spawn(const char *prog, const char *const *args, const char *out_path, const char *err_path)
{
    tk_spawn_options opt = {.out_path = out_path, .err_path = err_path};
    return tk_spawn_with(prog, args, &opt);
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

int tk_wait(pid_t pid, double timeout_s)
{
    int status = 0;
    if (timeout_s <= 0) {
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR)
                return -1;
        return exit_code(status);
    }
    double end = awm_now_seconds() + timeout_s;
    while (awm_now_seconds() < end) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return exit_code(status);
        if (r < 0 && errno != EINTR)
            return -1;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

int tk_run(const char *prog, const char *const *args, const char *out_path, const char *err_path)
{
    pid_t pid = tk_spawn(prog, args, out_path, err_path);
    return pid < 0 ? -1 : tk_wait(pid, 0);
}

int tk_run_with(const char *prog, const char *const *args, const tk_spawn_options *opt)
{
    pid_t pid = tk_spawn_with(prog, args, opt);
    return pid < 0 ? -1 : tk_wait(pid, 0);
}

void tk_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

bool tk_mkdtemp(char *buf, size_t size, const char *name)
{
    int n = snprintf(buf, size, "%s/awm-%s-XXXXXX", awm_env_str("TMPDIR", "/tmp"), name);
    return n > 0 && (size_t)n < size && mkdtemp(buf) != NULL;
}

void tk_mkdtemp_or_exit(char *buf, size_t size, const char *name)
{
    if (!tk_mkdtemp(buf, size, name)) {
        fprintf(stderr, "cannot make a temp dir awm-%s-XXXXXX in %s: %s\n", name,
                awm_env_str("TMPDIR", "/tmp"), strerror(errno));
        exit(1);
    }
}

long tk_rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

const char *tk_proc_stat(pid_t pid, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The command name may hold spaces and parentheses: it ends at the last ')'. */
    const char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p + 2 : NULL;
}

#define TK_MAX_CLEANUPS 8
/* Read by the handler, on whichever thread the signal lands: lock-free atomics. */
typedef void (*tk_cleanup)(void);
static _Atomic(tk_cleanup) g_cleanups[TK_MAX_CLEANUPS];
static atomic_int g_cleanup_count;

static void on_fatal_signal(int sig)
{
    for (int i = 0; i < atomic_load(&g_cleanup_count); i++)
        atomic_load(&g_cleanups[i])();
    signal(sig, SIG_DFL);
    raise(sig); /* ends the process once this handler returns */
}

void tk_on_fatal_signal(void (*cleanup)(void))
{
    if (g_cleanup_count == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT};
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            sigaction(sigs[i], &sa, NULL);
    }
    if (g_cleanup_count < TK_MAX_CLEANUPS) {
        g_cleanups[g_cleanup_count] = cleanup;
        g_cleanup_count++;
    }
}

static const char *g_count_prefix;
static int g_count;
static int count_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (!strncmp(path + ftw->base, g_count_prefix, strlen(g_count_prefix)))
        g_count++;
    return 0;
}

int tk_count_files(const char *dir, const char *prefix)
{
    g_count_prefix = prefix;
    g_count = 0;
    nftw(dir, count_entry, 16, FTW_PHYS);
    return g_count;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void tk_remove_tree(const char *dir)
{
    /* Depth-first so directories are empty when removed; FTW_PHYS so links are not followed. */
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    awm_buf_append(user, data, size * n);
    return size * n;
}

typedef struct {
    const char *data;
    size_t len, pos;
} upload;

static size_t read_upload(char *buf, size_t size, size_t n, void *user)
{
    upload *u = user;
    size_t k = size * n;
    if (k > u->len - u->pos)
        k = u->len - u->pos;
    memcpy(buf, u->data + u->pos, k);
    u->pos += k;
    return k;
}

tk_response tk_http(const char *method, const char *url, const tk_request *req)
{
    static const tk_request none = {0};
    if (!req)
        req = &none;
    tk_response r = {0};
    CURL *c = curl_easy_init();
    awm_buf b = {0}, h = {0};
    struct curl_slist *list = NULL;
    for (size_t i = 0; req->headers && req->headers[i]; i++)
        list = curl_slist_append(list, req->headers[i]);
    upload up = {req->body, req->body_len, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* tests send ../ on purpose */
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* timeouts without SIGALRM: safe with threads */
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (req->body && req->chunked) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_upload);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
    } else if (req->body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    if (req->body) /* no "Expect: 100-continue" round trip before large bodies */
        list = curl_slist_append(list, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    if (req->timeout_s > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, req->timeout_s);
    if (req->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, req->ca_file);
    if (req->source_ip)
        curl_easy_setopt(c, CURLOPT_INTERFACE, req->source_ip);
    r.status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    awm_buf_append(&b, "", 0); /* allocates and terminates an empty body too */
    awm_buf_append(&h, "", 0);
    r.body = b.data;
    r.len = b.len;
    r.headers = h.data;
    r.json = json_loadb(r.body, r.len, 0, NULL);
    return r;
}

void tk_response_free(tk_response *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}
