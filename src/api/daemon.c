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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render/render.h"

static const char *mhd_lookup(void *ctx, enum MHD_ValueKind kind, const char *key)
{
    return MHD_lookup_connection_value(ctx, kind, key);
}

static enum MHD_Result mhd_queue(void *ctx, unsigned status, struct MHD_Response *resp)
{
    return MHD_queue_response(ctx, status, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_request *r = *con_cls;
    if (!r) {
        api_io io = {mhd_lookup, mhd_queue, mc};
        *con_cls = r = api_request_begin(cls, &io, method, url);
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr)
            getnameinfo(ci->client_addr, ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                               : sizeof(struct sockaddr_in),
                        r->client, sizeof r->client, NULL, 0, NI_NUMERICHOST);
        return r->result;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return api_request_body(r, upload_data, n) ? MHD_YES : MHD_NO;
    }
    api_request_dispatch(r);
    return r->result;
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
    api_request_finish(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
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
    bool migrated = db_migrate(conn, dir, &applied, err);
    PQfinish(conn);
    if (!migrated)
        goto out;

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

    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, so every message goes through it */
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
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
    awm_log(AWM_LOG_INFO, "SERVER_LISTENING", "{s:s, s:i, s:i, s:s, s:b, s:b}", "host", cfg->host, "port",
            port, "migrationsApplied", applied, "storage", storage_desc, "workerAuth",
            cfg->worker_api_key != NULL, "renderer", srv->render_ready);

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
    if (d)
        MHD_stop_daemon(d);
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
