/* pool.c — a fixed pool of PostgreSQL connections shared by the request threads. Checkout
 * blocks up to a timeout (so a burst queues briefly instead of failing), connections are
 * opened lazily and re-opened when found broken, so the server starts and keeps answering
 * (503) while the database is down and recovers by itself when it comes back. */
#include "api/api_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

struct api_pool {
    char *conninfo;
    int size, timeout_ms;
    PGconn **idle;       /* stack of free slots; NULL entries are slots not yet connected */
    int idle_count;
    int in_use;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

api_pool *api_pool_create(const char *conninfo, int size, int timeout_ms)
{
    api_pool *p = awm_xcalloc(1, sizeof *p);
    p->conninfo = awm_strdup(conninfo);
    p->size = size;
    p->timeout_ms = timeout_ms;
    p->idle = awm_xcalloc((size_t)size, sizeof *p->idle);
    p->idle_count = size;
    pthread_mutex_init(&p->lock, NULL);
    awm_cond_init_monotonic(&p->freed);
    return p;
}

void api_pool_destroy(api_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->idle_count; i++)
        if (p->idle[i]) {
            db_forget_connection(p->idle[i]);
            PQfinish(p->idle[i]);
        }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p->idle);
    free(p->conninfo);
    free(p);
}

PGconn *api_pool_get(api_pool *p, awm_error *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->timeout_ms / 1000;
    deadline.tv_nsec += (long)(p->timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    while (p->idle_count == 0) {
        if (pthread_cond_timedwait(&p->freed, &p->lock, &deadline) == ETIMEDOUT && p->idle_count == 0) {
            pthread_mutex_unlock(&p->lock);
            awm_error_setc(err, AWM_EUNAVAILABLE, "no database connection free within %d ms (pool of %d)", p->timeout_ms,
                          p->size);
            return NULL;
        }
    }
    PGconn *conn = p->idle[--p->idle_count];
    p->in_use++;
    pthread_mutex_unlock(&p->lock);

    /* Connect outside the lock: it can take up to the connect timeout. */
    if (!conn) {
        conn = db_connect(p->conninfo, err);
    } else if (PQstatus(conn) != CONNECTION_OK && !db_ensure_connected(conn, err)) {
        db_forget_connection(conn);
        PQfinish(conn);
        conn = NULL;
    }
    if (!conn)
        api_pool_put(p, NULL); /* give the slot back, still unconnected */
    return conn;
}

void api_pool_put(api_pool *p, PGconn *conn)
{
    /* A connection left inside a transaction (a handler bug or a broken link) is not reusable. */
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        db_forget_connection(conn);
        PQfinish(conn);
        conn = NULL;
    }
    pthread_mutex_lock(&p->lock);
    p->idle[p->idle_count++] = conn;
    p->in_use--;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

void api_pool_stats(api_pool *p, int *in_use, int *size)
{
    pthread_mutex_lock(&p->lock);
    *in_use = p->in_use;
    *size = p->size;
    pthread_mutex_unlock(&p->lock);
}
