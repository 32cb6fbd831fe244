/* listener.c — waking workers: a dedicated LISTEN connection, re-opened when it drops.
 * With a backend that never notifies (pgboss, schema 26) a listener holds no connection and
 * every wait simply times out: its users poll, as pg-boss's own workers do. */
#include "queue/queue.h"
#include "queue/queue_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"

struct queue_listener {
    PGconn *conn;   /* NULL or bad while the server is unreachable */
    char *conninfo;
    bool silent;    /* the backend sends no notifications: waits only time out */
};

static bool start_listening(queue_listener *l, awm_error *err)
{
    return db_run(l->conn, "listening for jobs", "LISTEN " QUEUE_NOTIFY_CHANNEL, err);
}

queue_listener *queue_listener_open(const char *conninfo, awm_error *err)
{
    if (!queue_backend_current()->notifies) {
        queue_listener *l = awm_xcalloc(1, sizeof *l);
        l->silent = true;
        return l;
    }
    PGconn *conn = db_connect(conninfo, err);
    if (!conn)
        return NULL;
    queue_listener *l = awm_xcalloc(1, sizeof *l);
    l->conn = conn;
    l->conninfo = awm_strdup(conninfo);
    if (!start_listening(l, err)) {
        queue_listener_close(l);
        return NULL;
    }
    return l;
}

void queue_listener_close(queue_listener *l)
{
    if (!l)
        return;
    if (l->conn)
        PQfinish(l->conn);
    free(l->conninfo);
    free(l);
}

int queue_listener_backend_pid(const queue_listener *l)
{
    return l && l->conn && PQstatus(l->conn) == CONNECTION_OK ? PQbackendPID(l->conn) : 0;
}

static bool reconnect(queue_listener *l)
{
    awm_error err = {{0}};
    if (l->conn)
        PQfinish(l->conn);
    l->conn = db_connect(l->conninfo, &err);
    if (l->conn && start_listening(l, &err)) {
        awm_log(AWM_LOG_INFO, "QUEUE_LISTENER_RECONNECTED", NULL);
        return true;
    }
    awm_log(AWM_LOG_WARN, "QUEUE_LISTENER_DOWN", "{s:s}", "error", err.msg);
    if (l->conn) {
        PQfinish(l->conn);
        l->conn = NULL;
    }
    return false;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

/* Take every pending notification; true when one concerns `queue` (any when NULL). */
static bool drain_notifications(PGconn *conn, const char *queue)
{
    bool match = false;
    PGnotify *n;
    while ((n = PQnotifies(conn))) {
        if (!queue || (n->extra && !strcmp(n->extra, queue)))
            match = true;
        PQfreemem(n);
    }
    return match;
}

queue_wake queue_wait(queue_listener *l, const char *queue, int timeout_ms)
{
    double deadline = awm_now_seconds() + (timeout_ms > 0 ? timeout_ms : 0) / 1000.0;
    if (l->silent) {
        sleep_ms(timeout_ms > 0 ? timeout_ms : 0);
        return QUEUE_WAKE_TIMEOUT;
    }
    for (;;) {
        if (!l->conn || PQstatus(l->conn) != CONNECTION_OK) {
            if (reconnect(l))
                return QUEUE_WAKE_RECONNECTED;
            /* Server unreachable: try again in a while, but never past the caller's timeout. */
            long left = (long)((deadline - awm_now_seconds()) * 1000);
            if (left <= 0)
                return QUEUE_WAKE_TIMEOUT;
            sleep_ms(left < 1000 ? left : 1000);
            continue;
        }
        if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
            awm_log(AWM_LOG_WARN, "QUEUE_LISTENER_LOST", "{s:s}", "error",
                    PQerrorMessage(l->conn));
            PQfinish(l->conn);
            l->conn = NULL;
            continue;
        }
        if (drain_notifications(l->conn, queue))
            return QUEUE_WAKE_NOTIFIED;
        long left = (long)((deadline - awm_now_seconds()) * 1000);
        if (left <= 0)
            return QUEUE_WAKE_TIMEOUT;
        struct pollfd pfd = {.fd = PQsocket(l->conn), .events = POLLIN};
        if (pfd.fd < 0) {
            PQfinish(l->conn);
            l->conn = NULL;
            continue;
        }
        int r = poll(&pfd, 1, (int)left);
        if (r < 0 && errno != EINTR) {
            sleep_ms(10);
        }
    }
}
