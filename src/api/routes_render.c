/* routes_render.c — GET /render: the poster itself, drawn on request (the web page's live
 * preview, and the same drawing as the export at any DPI up to 300). Renders take one of
 * RENDER_CONCURRENCY slots; the image is streamed to the client through a pipe while it is
 * drawn. */
#include "api/api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "map/map.h"
#include "render/render.h"

/* A render waits this long for a free slot (RENDER_CONCURRENCY) before answering 503. */
#define RENDER_WAIT_S 30

bool api_render_slot_acquire(api_server *srv, int wait_s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_s;
    pthread_mutex_lock(&srv->render_lock);
    int rc = 0;
    while (srv->renders_running >= srv->cfg.render_concurrency && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&srv->render_freed, &srv->render_lock, &deadline);
    bool ok = srv->renders_running < srv->cfg.render_concurrency;
    if (ok)
        srv->renders_running++;
    pthread_mutex_unlock(&srv->render_lock);
    return ok;
}

void api_render_slot_release(api_server *srv)
{
    pthread_mutex_lock(&srv->render_lock);
    srv->renders_running--;
    pthread_cond_broadcast(&srv->render_freed);
    pthread_mutex_unlock(&srv->render_lock);
}

typedef struct {
    api_server *srv;
    map_definition def;
    const map_print_spec *spec;
    render_options opt;
    int fd; /* write end of the pipe the response reads */
    char request_id[17];
} render_task;

static bool write_to_pipe(void *user, const void *data, size_t len)
{
    render_task *t = user;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(t->fd, p, len);
        if (w <= 0)
            return false; /* the client went away: stop rendering */
        p += w;
        len -= (size_t)w;
    }
    return true;
}

static void *render_thread(void *arg)
{
    render_task *t = arg;
    awm_error err = {{0}};
    render_result res;
    if (!render_poster_write(&t->def, t->spec, &t->opt, write_to_pipe, t, &res, &err))
        awm_log(AWM_LOG_WARN, "RENDER_FAILED", "{s:s, s:s}", "requestId", t->request_id, "error", err.msg);
    else
        awm_log(AWM_LOG_INFO, "RENDER_DONE", "{s:s, s:s, s:f, s:I}", "requestId", t->request_id, "size",
                t->spec->key, "seconds", res.seconds, "bytes", (json_int_t)res.bytes);
    map_definition_free(&t->def);
    /* Release the slot before the response can end (closing the pipe ends it): shutdown
     * waits for both, and then nothing here touches the server any more. */
    api_render_slot_release(t->srv);
    close(t->fd);
    free(t);
    return NULL;
}

/* base64url (padding optional) → bytes; NULL when malformed. */
static char *base64url_decode(const char *s, size_t *out_len)
{
    size_t n = strlen(s);
    char *out = awm_xmalloc(n * 3 / 4 + 4);
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '-' || c == '+') v = 62;
        else if (c == '_' || c == '/') v = 63;
        else if (c == '=') break;
        else {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

void api_handle_render(api_request *r)
{
    if (!r->srv->render_ready) {
        api_respond_error(r, 503, NULL, "renderer not available");
        return;
    }
    const char *data = api_query_arg(r, "data"), *map_id = api_query_arg(r, "mapId");
    const char *size = api_query_arg(r, "size"), *format = api_query_arg(r, "format");
    const char *dpi_s = api_query_arg(r, "dpi");
    json_t *details = json_array();
    if (!data == !map_id)
        json_array_append_new(details, json_string("data or mapId: give exactly one"));
    else if (map_id && !awm_is_uuid(map_id))
        json_array_append_new(details, json_string("mapId: must be a uuid"));
    const map_print_spec *spec = map_print_spec_find(size ? size : "18x24");
    if (!spec)
        json_array_append_new(details, json_sprintf("size: unknown size '%s'; sizes: %s", size,
                                                    map_print_spec_list()));
    render_options opt;
    render_options_default(&opt);
    if (format && !render_format_parse(format, &opt.format))
        json_array_append_new(details, json_string("format: must be png, svg or pdf"));
    if (dpi_s) {
        char *end;
        double dpi = strtod(dpi_s, &end);
        if (!*dpi_s || *end || !(dpi > 0) || dpi > 300)
            json_array_append_new(details, json_string("dpi: must be a number above 0 and at most 300"));
        else
            opt.dpi = dpi;
    }
    char *text = NULL;
    size_t len = 0;
    if (json_array_size(details) == 0 && data) {
        if (strlen(data) > (size_t)r->srv->cfg.max_body_bytes * 4 / 3 + 4)
            json_array_append_new(details, json_string("data: larger than the body limit"));
        else if (!(text = base64url_decode(data, &len)))
            json_array_append_new(details, json_string("data: not base64url"));
    }
    if (json_array_size(details) > 0) {
        api_respond_error(r, 400, json_pack("{s:o}", "details", details), "invalid render request");
        return;
    }
    json_decref(details);
    if (map_id) {
        if (!api_db(r))
            return;
        const char *params[] = {map_id};
        awm_error err = {{0}};
        PGresult *res = api_query(r, "cannot read the map", "SELECT data::text FROM user_maps WHERE id = $1", 1,
                                  params, &err);
        if (!res) {
            api_respond_db_error(r, &err);
            return;
        }
        if (PQntuples(res) == 0) {
            PQclear(res);
            api_respond_error(r, 404, NULL, "user map not found: %s", map_id);
            return;
        }
        text = awm_strdup(PQgetvalue(res, 0, 0));
        len = strlen(text);
        PQclear(res);
    }
    render_task *t = awm_xcalloc(1, sizeof *t);
    map_violations v;
    bool ok = map_definition_parse(text, len, &t->def, &v);
    free(text);
    if (!ok) {
        map_definition_free(&t->def);
        free(t);
        api_respond_error(r, 400, json_pack("{s:o}", "details", map_violations_json(&v)), "invalid map definition");
        map_violations_free(&v);
        return;
    }
    map_violations_free(&v);

    if (!api_render_slot_acquire(r->srv, RENDER_WAIT_S)) {
        map_definition_free(&t->def);
        free(t);
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            strlen("{\"error\":\"renderer busy, try again shortly\"}"),
            (void *)"{\"error\":\"renderer busy, try again shortly\"}", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        MHD_add_response_header(resp, "Retry-After", "5");
        api_respond_response(r, 503, resp);
        return;
    }
    /* Stream: the render thread writes into a pipe the response reads, so the client gets
     * bytes as bands are encoded and memory stays bounded for every size. */
    int fds[2];
    pthread_t th;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        fds[0] = fds[1] = -1;
        goto failed;
    }
    t->srv = r->srv;
    t->spec = spec;
    t->opt = opt;
    t->fd = fds[1];
    memcpy(t->request_id, r->request_id, sizeof t->request_id);
    struct MHD_Response *resp = MHD_create_response_from_pipe(fds[0]);
    if (!resp)
        goto failed;
    if (pthread_create(&th, NULL, render_thread, t) != 0) {
        MHD_destroy_response(resp); /* closes fds[0] */
        fds[0] = -1;
        goto failed;
    }
    pthread_detach(th);
    char dotted[16];
    snprintf(dotted, sizeof dotted, "x.%s", render_format_extension(opt.format));
    MHD_add_response_header(resp, "Content-Type", awm_content_type(dotted));
    api_respond_response(r, 200, resp);
    return;
failed:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    map_definition_free(&t->def);
    free(t);
    api_render_slot_release(r->srv);
    api_respond_fault(r, "cannot start the render");
}

