/* routes_render.c — GET /render: the poster itself, drawn on request (the web page's live
 * preview, and the same drawing as the export at any DPI up to 300).
 *
 * A render takes one of RENDER_CONCURRENCY slots only while it draws: the image goes to an
 * unlinked temp file, the slot is given back, and the file is then sent by the I/O threads
 * (sendfile) at the client's pace. A client that never reads holds a descriptor, not a slot,
 * and is dropped by the connection timeout. Every parameter is checked, and the drawing
 * finished, before a status line is sent, so a failure is always a proper error answer. */
#include "api/api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    /* Waiting renders hold handler threads: a quarter of them at most may wait, so a flood of
     * renders never keeps the other routes from being answered. */
    int may_wait = srv->cfg.handler_threads / 4 > 0 ? srv->cfg.handler_threads / 4 : 1;
    int rc = srv->renders_waiting >= may_wait ? ETIMEDOUT : 0;
    srv->renders_waiting++;
    while (srv->renders_running >= srv->cfg.render_concurrency && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&srv->render_freed, &srv->render_lock, &deadline);
    srv->renders_waiting--;
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

static bool write_to_fd(void *user, const void *data, size_t len)
{
    int fd = *(int *)user;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        len -= (size_t)w;
    }
    return true;
}

/* An anonymous file for the drawing: never visible by name, gone when its last descriptor closes. */
static int spool_file(void)
{
    const char *dir = awm_env_str("TMPDIR", "/tmp");
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[4096];
    snprintf(path, sizeof path, "%s/awm-render-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
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
    /* The preview is never CMYK: the server has no print shop's profile (workers do). */
    if (format && (!render_format_parse(format, &opt.format) || opt.format == RENDER_PDF_CMYK))
        json_array_append_new(details, json_string("format: must be png, svg or pdf"));
    if (dpi_s) {
        char *end;
        double dpi = strtod(dpi_s, &end);
        if (!*dpi_s || *end || !(dpi >= 1) || dpi > 300)
            json_array_append_new(details, json_string("dpi: must be a number from 1 to 300"));
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
    map_definition def;
    map_violations v;
    bool ok = map_definition_parse(text, len, &def, &v);
    free(text);
    if (!ok) {
        map_definition_free(&def);
        api_respond_error(r, 400, json_pack("{s:o}", "details", map_violations_json(&v)), "invalid map definition");
        map_violations_free(&v);
        return;
    }
    map_violations_free(&v);

    if (!api_render_slot_acquire(r->srv, RENDER_WAIT_S)) {
        map_definition_free(&def);
        api_response_header(r, "Retry-After", "5");
        api_respond_error(r, 503, NULL, "renderer busy, try again shortly");
        return;
    }
    int fd = spool_file();
    awm_error err = {{0}};
    render_result res;
    bool drawn = fd >= 0 && render_poster_write(&def, spec, &opt, write_to_fd, &fd, &res, &err);
    api_render_slot_release(r->srv); /* drawn: the slot is free while the bytes go out */
    map_definition_free(&def);
    awm_malloc_trim(0); /* a render's band buffers and scene are megabytes: give them back now */
    struct stat st;
    if (!drawn || fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0) {
        if (fd >= 0)
            close(fd);
        if (!err.msg[0])
            snprintf(err.msg, sizeof err.msg, "cannot spool the render: %s", strerror(errno));
        awm_log(AWM_LOG_WARN, "RENDER_FAILED", "{s:s, s:s}", "requestId", r->request_id, "error", err.msg);
        if (err.code == AWM_EINVALID)
            api_respond_error(r, 400, NULL, "cannot render: %s", err.msg);
        else
            api_respond_fault(r, err.msg);
        return;
    }
    awm_log(AWM_LOG_INFO, "RENDER_DONE", "{s:s, s:s, s:f, s:I}", "requestId", r->request_id, "size", spec->key,
            "seconds", res.seconds, "bytes", (json_int_t)res.bytes);
    struct MHD_Response *resp = MHD_create_response_from_fd64((uint64_t)st.st_size, fd); /* closes fd */
    if (!resp) {
        close(fd);
        api_respond_fault(r, "cannot create the render response");
        return;
    }
    char dotted[16];
    snprintf(dotted, sizeof dotted, "x.%s", render_format_extension(opt.format));
    MHD_add_response_header(resp, "Content-Type", awm_content_type(dotted));
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    api_respond_response(r, 200, resp);
}
