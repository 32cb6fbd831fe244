/* testkit.c — see testkit.h. */
#include "testkit.h"

#include <arpa/inet.h>
#include <curl/curl.h>
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
#include <unistd.h>

#include "util/util.h"

extern char **environ;

int tk_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = 0;
    /* Port 0 asks the kernel for an unused one; getsockname says which it chose. */
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

pid_t tk_spawn(const char *prog, const char *const *args, const char *out_path, const char *err_path)
{
    char *argv[32];
    size_t n = 0;
    argv[n++] = (char *)prog;
    for (size_t i = 0; args && args[i] && n < 31; i++)
        argv[n++] = (char *)args[i];
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out_path)
        posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err_path)
        posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
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
