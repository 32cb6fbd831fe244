/* daemon.c — `awm serve`'s process: the libmicrohttpd daemon and its callbacks (which hand
 * each request to the request layer), path unescaping, start-up (address, migrations,
 * storage, pool, renderer) and the graceful stop on SIGTERM/SIGINT. */
#include "api/api_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue.h"
#include "render/render.h"

/* ---- the connection model ---------------------------------------------------------------
 * libmicrohttpd runs in epoll mode on a few I/O threads (API_IO_THREADS): an idle or slow
 * connection costs a socket and a little memory, never a thread, so thousands of them cannot
 * lock other clients out (the thread-per-connection model this replaced gave each one a thread:
 * 512 slow connections took the server). A request whose headers and body have arrived is
 * suspended and handed to a fixed pool of handler threads (API_HANDLER_THREADS), because
 * handlers block on PostgreSQL and renders; when the handler has answered, the connection is
 * resumed and the answer sent by the I/O thread. Each connection has a deadline for its headers
 * (API_HEADER_TIMEOUT_S) and its body (API_BODY_TIMEOUT_S), kept by a sweeper thread: a client
 * sending a byte now and then is closed when its phase's deadline passes. */

typedef enum { PHASE_HEADERS = 0, PHASE_BODY, PHASE_HANDLER } conn_phase;

/* One per connection, from NOTIFY_CONNECTION started to closed; guarded by the tracker lock. */
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    conn_phase phase;
    double since; /* when the phase began */
} conn_track;

typedef struct {
    pthread_mutex_t lock;
    conn_track head; /* circular list */
    double header_timeout_s, body_timeout_s;
    bool stop;
    pthread_cond_t wake;
    pthread_t thread;
    long closed_slow; /* connections closed for a passed deadline */
} conn_tracker;

static conn_tracker g_tracker;

static void track_phase(conn_track *t, conn_phase phase)
{
    if (!t)
        return;
    pthread_mutex_lock(&g_tracker.lock);
    t->phase = phase;
    t->since = awm_now_seconds();
    pthread_mutex_unlock(&g_tracker.lock);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_track *t = awm_xcalloc(1, sizeof *t);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        t->fd = ci ? ci->connect_fd : -1;
        t->since = awm_now_seconds();
        pthread_mutex_lock(&g_tracker.lock);
        t->next = g_tracker.head.next;
        t->prev = &g_tracker.head;
        t->next->prev = t;
        g_tracker.head.next = t;
        pthread_mutex_unlock(&g_tracker.lock);
        *socket_context = t;
    } else if (*socket_context) {
        conn_track *t = *socket_context;
        pthread_mutex_lock(&g_tracker.lock);
        t->prev->next = t->next;
        t->next->prev = t->prev;
        pthread_mutex_unlock(&g_tracker.lock);
        free(t);
        *socket_context = NULL;
    }
}

/* Closing is done by shutting the socket down: libmicrohttpd then sees the end of the stream and
 * closes the connection itself (its CLOSED notice takes the entry out under the same lock, so
 * the fd is never one that was closed and reused). */
static void *sweep_slow_connections(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_tracker.lock);
    while (!g_tracker.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&g_tracker.wake, &g_tracker.lock, &ts);
        /* A burst is over: give its memory back to the system (malloc_trim; see util.h). */
        if (api_idle_after_requests())
            awm_malloc_trim(0);
        double now = awm_now_seconds();
        for (conn_track *t = g_tracker.head.next; t != &g_tracker.head; t = t->next) {
            double limit = t->phase == PHASE_HEADERS ? g_tracker.header_timeout_s
                           : t->phase == PHASE_BODY  ? g_tracker.body_timeout_s
                                                     : 0;
            if (limit > 0 && now - t->since > limit && t->fd >= 0) {
                shutdown(t->fd, SHUT_RDWR);
                t->fd = -1; /* once */
                g_tracker.closed_slow++;
            }
        }
    }
    pthread_mutex_unlock(&g_tracker.lock);
    return NULL;
}

static void tracker_start(const api_config *cfg)
{
    pthread_mutex_init(&g_tracker.lock, NULL);
    awm_cond_init_monotonic(&g_tracker.wake);
    g_tracker.head.next = g_tracker.head.prev = &g_tracker.head;
    g_tracker.header_timeout_s = cfg->header_timeout_s;
    g_tracker.body_timeout_s = cfg->body_timeout_s;
    g_tracker.stop = false;
    pthread_create(&g_tracker.thread, NULL, sweep_slow_connections, NULL);
}

static void tracker_stop(void)
{
    pthread_mutex_lock(&g_tracker.lock);
    g_tracker.stop = true;
    pthread_cond_signal(&g_tracker.wake);
    pthread_mutex_unlock(&g_tracker.lock);
    pthread_join(g_tracker.thread, NULL);
    pthread_cond_destroy(&g_tracker.wake);
    pthread_mutex_destroy(&g_tracker.lock);
}

/* ---- the handler pool ----------------------------------------------------------------------- */

typedef struct task {
    struct task *next;
    api_request *r;
    struct MHD_Connection *mc;
} task;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready, idle;
    task *first, *last;
    int running; /* tasks taken and not finished */
    bool stop;
    pthread_t *threads;
    int count;
} g_pool;

static void *handler_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_pool.lock);
    for (;;) {
        while (!g_pool.first && !g_pool.stop)
            pthread_cond_wait(&g_pool.ready, &g_pool.lock);
        if (!g_pool.first)
            break;
        task *t = g_pool.first;
        g_pool.first = t->next;
        if (!g_pool.first)
            g_pool.last = NULL;
        g_pool.running++;
        pthread_mutex_unlock(&g_pool.lock);
        api_request_dispatch(t->r); /* answers into the request (see stash below) */
        MHD_resume_connection(t->mc);
        free(t);
        pthread_mutex_lock(&g_pool.lock);
        g_pool.running--;
        if (!g_pool.first && g_pool.running == 0)
            pthread_cond_broadcast(&g_pool.idle);
    }
    pthread_mutex_unlock(&g_pool.lock);
    return NULL;
}

static void pool_start(int threads)
{
    pthread_mutex_init(&g_pool.lock, NULL);
    pthread_cond_init(&g_pool.ready, NULL);
    pthread_cond_init(&g_pool.idle, NULL);
    g_pool.first = g_pool.last = NULL;
    g_pool.running = 0;
    g_pool.stop = false;
    g_pool.count = threads;
    g_pool.threads = awm_xcalloc((size_t)threads, sizeof *g_pool.threads);
    for (int i = 0; i < threads; i++)
        pthread_create(&g_pool.threads[i], NULL, handler_thread, NULL);
}

static void pool_submit(api_request *r, struct MHD_Connection *mc)
{
    task *t = awm_xcalloc(1, sizeof *t);
    t->r = r;
    t->mc = mc;
    pthread_mutex_lock(&g_pool.lock);
    if (g_pool.last)
        g_pool.last->next = t;
    else
        g_pool.first = t;
    g_pool.last = t;
    pthread_cond_signal(&g_pool.ready);
    pthread_mutex_unlock(&g_pool.lock);
}

/* Wait until every task handed to the pool has finished and its connection was resumed. */
static void pool_drain(void)
{
    pthread_mutex_lock(&g_pool.lock);
    while (g_pool.first || g_pool.running > 0)
        pthread_cond_wait(&g_pool.idle, &g_pool.lock);
    pthread_mutex_unlock(&g_pool.lock);
}

static void pool_stop(void)
{
    pthread_mutex_lock(&g_pool.lock);
    g_pool.stop = true;
    pthread_cond_broadcast(&g_pool.ready);
    pthread_mutex_unlock(&g_pool.lock);
    for (int i = 0; i < g_pool.count; i++)
        pthread_join(g_pool.threads[i], NULL);
    free(g_pool.threads);
    pthread_cond_destroy(&g_pool.ready);
    pthread_cond_destroy(&g_pool.idle);
    pthread_mutex_destroy(&g_pool.lock);
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------------ */

/* What the request layer sees of a libmicrohttpd connection. An answer given on an I/O thread
 * (an early 400/413) is queued at once; one given by a handler thread is kept in the request
 * until the connection is resumed, because libmicrohttpd takes responses only inside its own
 * callback. */
typedef struct {
    struct MHD_Connection *mc;
    conn_track *track;
    bool in_handler;
    unsigned status;
    struct MHD_Response *stashed;
} mhd_ctx;

static const char *mhd_lookup(void *ctx, enum MHD_ValueKind kind, const char *key)
{
    return MHD_lookup_connection_value(((mhd_ctx *)ctx)->mc, kind, key);
}

static enum MHD_Result mhd_queue(void *ctx, unsigned status, struct MHD_Response *resp)
{
    mhd_ctx *c = ctx;
    if (c->in_handler) {
        if (c->stashed)
            MHD_destroy_response(c->stashed);
        c->stashed = resp;
        c->status = status;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_queue_response(c->mc, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* RFC 9112 §6.1/§6.3: a request whose length is ambiguous may smuggle a second one. A request
 * with both Content-Length and Transfer-Encoding, two Content-Lengths, a space or tab in a header
 * name (before the colon), a NUL in a header value, or a transfer coding other than chunked is
 * refused (400; 501 for the coding) and its connection closed. */
typedef struct {
    int content_lengths, transfer_encodings;
    bool bad_name, nul_value, unknown_coding;
} framing;

static enum MHD_Result inspect_header(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                                      const char *value, size_t value_size)
{
    (void)kind;
    framing *f = cls;
    if (memchr(key, ' ', key_size) || memchr(key, '\t', key_size))
        f->bad_name = true;
    if (value && memchr(value, '\0', value_size))
        f->nul_value = true;
    if (key_size == 14 && !strncasecmp(key, "Content-Length", 14))
        f->content_lengths++;
    if (key_size == 17 && !strncasecmp(key, "Transfer-Encoding", 17)) {
        f->transfer_encodings++;
        if (!value || strcasecmp(value, "chunked"))
            f->unknown_coding = true;
    }
    return MHD_YES;
}

/* 0 when the framing is sound, else the status to answer with (its message in *why). */
static unsigned check_framing(struct MHD_Connection *mc, const char **why)
{
    framing f = {0};
    MHD_get_connection_values_n(mc, MHD_HEADER_KIND, inspect_header, &f);
    if (f.bad_name) {
        *why = "malformed request: white space in a header name";
        return MHD_HTTP_BAD_REQUEST;
    }
    if (f.nul_value) {
        *why = "malformed request: a NUL byte in a header value";
        return MHD_HTTP_BAD_REQUEST;
    }
    if (f.content_lengths > 1) {
        *why = "ambiguous request: more than one Content-Length";
        return MHD_HTTP_BAD_REQUEST;
    }
    if (f.content_lengths && f.transfer_encodings) {
        *why = "ambiguous request: both Content-Length and Transfer-Encoding";
        return MHD_HTTP_BAD_REQUEST;
    }
    if (f.transfer_encodings > 1 || f.unknown_coding) {
        *why = "unsupported Transfer-Encoding (only chunked is understood)";
        return MHD_HTTP_NOT_IMPLEMENTED;
    }
    return 0;
}

static void client_address(struct MHD_Connection *mc, char *out, size_t size)
{
    out[0] = '\0';
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, len, out, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        out[0] = '\0';
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_request *r = *con_cls;
    if (!r) {
        mhd_ctx *c = awm_xcalloc(1, sizeof *c);
        c->mc = mc;
        const union MHD_ConnectionInfo *si = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        c->track = si ? si->socket_context : NULL;
        track_phase(c->track, PHASE_BODY);
        char peer[64];
        client_address(mc, peer, sizeof peer);
        api_io io = {mhd_lookup, mhd_queue, c};
        *con_cls = r = api_request_begin(cls, &io, method, url, peer);
        const char *why = NULL;
        unsigned refuse = check_framing(mc, &why);
        if (refuse && !r->responded) {
            api_response_header(r, "Connection", "close"); /* nothing after it on this connection */
            api_respond_error(r, refuse, NULL, "%s", why);
        }
        return r->result;
    }
    mhd_ctx *c = r->io.ctx;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return api_request_body(r, upload_data, n) ? MHD_YES : MHD_NO;
    }
    if (c->stashed) { /* resumed: the handler has answered */
        struct MHD_Response *resp = c->stashed;
        c->stashed = NULL;
        enum MHD_Result ret = MHD_queue_response(mc, c->status, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (r->responded || c->in_handler)
        return r->result;
    if (r->body_too_large) { /* answered here: no handler needed for a 413 */
        api_request_dispatch(r);
        return r->result;
    }
    /* Headers and body are in: the handler runs on the pool, the connection waits suspended. */
    track_phase(c->track, PHASE_HANDLER);
    c->in_handler = true;
    MHD_suspend_connection(mc);
    pool_submit(r, mc);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    api_request *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    mhd_ctx *c = r->io.ctx;
    track_phase(c->track, PHASE_HEADERS); /* keep-alive: the next request's headers are due */
    if (c->stashed)
        MHD_destroy_response(c->stashed);
    api_request_finish(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    free(c);
}

/* Percent-decoding of the path and query arguments, except that %00 is left encoded: a NUL
 * would silently cut a file name short, while "%00" is simply not a valid name. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            unsigned v = (unsigned)strtoul(hex, NULL, 16);
            if (v != 0) {
                *w++ = (char)v;
                p += 2;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
    return (size_t)(w - s);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    awm_log(AWM_LOG_WARN, "HTTP_SERVER_MESSAGE", "{s:s}", "message", msg);
}

static bool host_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a);
    }
    return false;
}

bool api_serve(const api_config *cfg, awm_error *err)
{
    bool ok = false;
    struct addrinfo *ai = NULL;
    api_server *srv = NULL;
    struct MHD_Daemon *d = NULL;
    bool render_sync = false;
    bool pool_running = false;

    /* Resolve HOST to an address first: a typo is a start-up error, not a silent default. */
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port_text[16];
    snprintf(port_text, sizeof port_text, "%d", cfg->port);
    int gai = getaddrinfo(cfg->host, port_text, &hints, &ai);
    if (gai != 0) {
        ai = NULL;
        awm_error_setc(err, AWM_EINVALID, "HOST=%s: cannot resolve: %s", cfg->host, gai_strerror(gai));
        goto out;
    }
    bool loopback = host_is_loopback(ai->ai_addr);
    if (!cfg->worker_api_key && !loopback)
        awm_log(AWM_LOG_WARN, "WORKER_API_KEY_UNSET", "{s:s, s:s}", "host", cfg->host, "message",
                "worker routes (/api/jobs/{id}/start|complete|fail) are open to anyone who can reach "
                "this address; set WORKER_API_KEY");

    /* Migrations before listening: a server never answers with a schema it does not know. */
    char dir[4096];
    if (!awm_asset_path(dir, sizeof dir, "db/migrations")) {
        awm_error_set(err, "assets directory path too long");
        goto out;
    }
    PGconn *conn = db_connect(cfg->database_url, err);
    if (!conn)
        goto out;
    int applied = 0;
    /* … and never with a queue it does not understand (pgboss: schema version 26 only). */
    bool migrated = db_migrate(conn, dir, &applied, err) && queue_backend_check(conn, err);
    PQfinish(conn);
    if (!migrated)
        goto out;
    /* From here on a frozen database answers 503 within seconds (migrations may take longer). */
    db_set_timeouts(cfg->db_connect_timeout_s, cfg->db_statement_timeout_ms);

    srv = awm_xcalloc(1, sizeof *srv);
    srv->cfg = *cfg;
    srv->started_at = awm_now_seconds();
    srv->storage = storage_new(&cfg->storage, err);
    if (!srv->storage)
        goto out;
    char storage_desc[512];
    storage_describe(srv->storage, storage_desc, sizeof storage_desc);
    srv->pool = api_pool_create(cfg->database_url, cfg->db_pool_size, cfg->db_pool_timeout_ms);
    pthread_mutex_init(&srv->render_lock, NULL);
    awm_cond_init_monotonic(&srv->render_freed);
    render_sync = true;
    awm_error rerr = {{0}};
    srv->render_ready = render_init(&rerr);
    api_places_init();
    if (!srv->render_ready) {
        snprintf(srv->render_error, sizeof srv->render_error, "%s", rerr.msg);
        awm_log(AWM_LOG_WARN, "RENDERER_UNAVAILABLE", "{s:s}", "error", rerr.msg);
    }
    struct stat st;
    if (!awm_asset_path(srv->web_dir, sizeof srv->web_dir, "web") || stat(srv->web_dir, &st) != 0 ||
        !S_ISDIR(st.st_mode))
        srv->web_dir[0] = '\0'; /* no web page installed */
    api_requests_init();
    api_allowed_hosts_init(srv);

    /* Signals are taken by sigwait below; block them before MHD starts its threads so they
     * inherit the mask. SIGPIPE is ignored: a client hanging up must not kill the server. */
    sigset_t stop_signals;
    awm_block_stop_signals(&stop_signals);

    /* Thousands of connections need as many descriptors: raise the soft limit to the hard one,
     * and never accept more connections than descriptors are left for files and PostgreSQL. */
    struct rlimit rl;
    unsigned max_connections = (unsigned)cfg->max_connections;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)max_connections + 256)
            max_connections = rl.rlim_cur > 512 ? (unsigned)(rl.rlim_cur - 256) : 256;
    }
    tracker_start(cfg);
    pool_start(cfg->handler_threads);
    pool_running = true;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, so every message goes through it */
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->io_threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_CONNECTION_LIMIT, max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
        /* Request line + headers: room for a /render?data=<map> URL of about 100 KB. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!d) {
        awm_error_set(err, "cannot listen on %s:%d: %s", cfg->host, cfg->port,
                      errno ? strerror(errno) : "libmicrohttpd refused the configuration");
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? (int)info->port : cfg->port;
    awm_log(AWM_LOG_INFO, "SERVER_LISTENING", "{s:s, s:i, s:i, s:s, s:b, s:b, s:i, s:i, s:i}", "host", cfg->host,
            "port", port, "migrationsApplied", applied, "storage", storage_desc, "workerAuth",
            cfg->worker_api_key != NULL, "renderer", srv->render_ready, "maxConnections", (int)max_connections,
            "ioThreads", cfg->io_threads, "handlerThreads", cfg->handler_threads);

    int sig = 0;
    sigwait(&stop_signals, &sig);
    awm_log(AWM_LOG_INFO, "SERVER_STOPPING", "{s:s, s:i}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT",
            "inFlight", api_requests_in_flight());
    /* Stop accepting, then give the requests in flight time to finish before closing. */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    double deadline = awm_now_seconds() + cfg->shutdown_grace_s;
    while (api_requests_in_flight() > 0 && awm_now_seconds() < deadline)
        usleep(20000);
    ok = true;

out:
    if (pool_running)
        pool_drain(); /* no connection may stay suspended when the daemon stops */
    if (d)
        MHD_stop_daemon(d);
    if (pool_running) {
        pool_stop();
        tracker_stop();
    }
    if (render_sync) {
        /* Renders still running write into closed pipes and stop at their next band. */
        for (;;) {
            pthread_mutex_lock(&srv->render_lock);
            int running = srv->renders_running;
            pthread_mutex_unlock(&srv->render_lock);
            if (running == 0)
                break;
            usleep(20000);
        }
        pthread_mutex_destroy(&srv->render_lock);
        pthread_cond_destroy(&srv->render_freed);
    }
    if (srv) {
        if (srv->pool)
            api_pool_destroy(srv->pool);
        api_allowed_hosts_free(srv);
        storage_free(srv->storage);
        free(srv);
    }
    if (ai)
        freeaddrinfo(ai);
    if (ok)
        awm_log(AWM_LOG_INFO, "SERVER_STOPPED", NULL);
    return ok;
}
