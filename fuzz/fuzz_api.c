/* fuzz_api.c — the API server's request handling: the same api_request_begin / _body /
 * _dispatch / _finish sequence libmicrohttpd drives in server.c (Content-Length and body
 * limits, routing, methods, worker authentication, JSON bodies, every handler), with the
 * connection replaced by an in-memory one. There is no database (its socket does not exist),
 * so every route that needs it must answer 503 — never crash, never 500.
 *
 * Input:  "<METHOD> <path>[?<query>]\n" then "<Name>: <value>\n" headers, a blank line, and
 * the body (delivered in two pieces to exercise the incremental path). */
#include "fuzz.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_internal.h"

#define MAX_VALUES 32

typedef struct {
    const char *key[MAX_VALUES], *value[MAX_VALUES];
    int count;
} value_list;

typedef struct {
    value_list headers, args;
    unsigned status;
    int answers;
} fake_connection;

static const char *fake_lookup(void *ctx, enum MHD_ValueKind kind, const char *key)
{
    fake_connection *c = ctx;
    const value_list *l = kind == MHD_HEADER_KIND ? &c->headers : kind == MHD_GET_ARGUMENT_KIND ? &c->args : NULL;
    if (!l || !key)
        return NULL;
    for (int i = 0; i < l->count; i++)
        if (kind == MHD_HEADER_KIND ? !strcasecmp(l->key[i], key) : !strcmp(l->key[i], key))
            return l->value[i];
    return NULL;
}

static enum MHD_Result fake_queue(void *ctx, unsigned status, struct MHD_Response *resp)
{
    MHD_destroy_response(resp); /* the queue takes the response */
    fake_connection *c = ctx;
    c->status = status;
    c->answers++;
    return MHD_YES;
}

static api_server *server(void)
{
    static api_server *srv;
    if (srv)
        return srv;
    awm_log_set_level(AWM_LOG_ERROR);
    srv = awm_xcalloc(1, sizeof *srv);
    srv->cfg.database_url = "host=/nonexistent/awm-fuzz dbname=awm connect_timeout=1";
    srv->cfg.host = "127.0.0.1";
    srv->cfg.worker_api_key = "fuzz-worker-key-0123456789abcdef0123";
    srv->cfg.admin_api_key = "fuzz-operator-key-0123456789abcdef01";
    srv->any_host = true; /* every Host reaches the routes (the allowlist itself is tested in tests/api) */
    storage_config_defaults(&srv->cfg.storage);
    snprintf(srv->cfg.storage.export_dir, sizeof srv->cfg.storage.export_dir, "/nonexistent/awm-fuzz-exports");
    srv->cfg.presign_expiry_s = 900;
    srv->cfg.max_body_bytes = 64 * 1024;
    srv->cfg.db_pool_size = 2;
    srv->cfg.db_pool_timeout_ms = 100;
    srv->cfg.render_concurrency = 1;
    awm_error err = {{0}};
    srv->storage = storage_new(&srv->cfg.storage, &err);
    if (!srv->storage) {
        fprintf(stderr, "fuzz_api: %s\n", err.msg);
        abort();
    }
    srv->pool = api_pool_create(srv->cfg.database_url, srv->cfg.db_pool_size, srv->cfg.db_pool_timeout_ms);
    srv->started_at = awm_now_seconds();
    pthread_mutex_init(&srv->render_lock, NULL);
    pthread_cond_init(&srv->render_freed, NULL);
    /* No renderer: GET /render answers 503 without starting a render thread. */
    srv->render_ready = false;
    return srv;
}

/* Percent-decode in place, like the server's unescape callback (which leaves %00 encoded). */
static void unescape(char *s)
{
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], 0};
            unsigned v = (unsigned)strtoul(hex, NULL, 16);
            if (v) {
                *w++ = (char)v;
                p += 2;
                continue;
            }
        }
        *w++ = *p;
    }
    *w = '\0';
}

static void parse_query(char *q, value_list *args)
{
    for (char *save = NULL, *pair = strtok_r(q, "&", &save); pair && args->count < MAX_VALUES;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq++ = '\0';
        unescape(pair);
        if (eq)
            unescape(eq);
        args->key[args->count] = pair;
        args->value[args->count++] = eq ? eq : "";
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    api_server *srv = server();
    /* A NUL-terminated copy of the head (request line + headers); the body stays binary. */
    const uint8_t *blank = memmem(data, size, "\n\n", 2);
    size_t head_len = blank ? (size_t)(blank - data) + 1 : size;
    const uint8_t *body = blank ? blank + 2 : data + size;
    size_t body_len = (size_t)(data + size - body);
    char *head = malloc(head_len + 1);
    memcpy(head, data, head_len);
    head[head_len] = '\0';
    if (strlen(head) != head_len) { /* a NUL inside the head cannot come from HTTP */
        free(head);
        return 0;
    }

    fake_connection conn = {0};
    char root_path[] = "/"; /* writable: the path is unescaped in place */
    char *save = NULL;
    char *line = strtok_r(head, "\n", &save);
    char *method = line ? line : (char *)"GET";
    char *url = line ? strchr(line, ' ') : NULL;
    if (url)
        *url++ = '\0';
    else
        url = root_path;
    char *query = strchr(url, '?');
    if (query) {
        *query++ = '\0';
        parse_query(query, &conn.args);
    }
    unescape(url);
    while ((line = strtok_r(NULL, "\n", &save)) && conn.headers.count < MAX_VALUES) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon++ = '\0';
        while (*colon == ' ')
            colon++;
        conn.headers.key[conn.headers.count] = line;
        conn.headers.value[conn.headers.count++] = colon;
    }

    api_io io = {fake_lookup, fake_queue, &conn};
    api_request *r = api_request_begin(srv, &io, method, url, "127.0.0.1");
    bool open = true;
    size_t half = body_len / 2;
    if (half)
        open = api_request_body(r, (const char *)body, half);
    if (open && body_len - half)
        open = api_request_body(r, (const char *)body + half, body_len - half);
    if (open)
        api_request_dispatch(r);
    bool answered = r->responded;
    api_request_finish(r, open);
    free(head);

    /* Every request that was not cut off gets exactly one answer, and none is a fault. */
    if (open && (!answered || conn.answers != 1))
        abort();
    if (conn.status == 500)
        abort();
    return 0;
}
