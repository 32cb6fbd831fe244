/* routes_misc.c — health, finished files (/exports/{file}) and the web page (/ and static
 * files from <assets>/web when installed). */
#include "api/api_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "map/map.h"

#ifndef AWM_VERSION
#define AWM_VERSION "unknown"
#endif

void api_handle_health(api_request *r)
{
    awm_error err = {{0}};
    r->db = api_pool_get(r->srv->pool, &err);
    PGresult *res = r->db ? api_query(r, "health check", "SELECT 1", 0, NULL, &err) : NULL;
    bool ok = res != NULL;
    PQclear(res);
    double uptime = awm_now_seconds() - r->srv->started_at;
    json_t *body = json_pack("{s:s, s:s, s:s, s:f, s:s}", "status", ok ? "ok" : "degraded", "database",
                             ok ? "ok" : "unreachable", "version", AWM_VERSION, "uptime", uptime, "renderer",
                             r->srv->render_ready ? "ok" : "unavailable");
    if (!ok)
        awm_log(AWM_LOG_WARN, "HEALTH_DEGRADED", "{s:s, s:s}", "requestId", r->request_id, "error", err.msg);
    api_respond_json(r, ok ? 200 : 503, body);
}

/* ---- /exports/{file} ---- */

/* Answer with an open file as a stream (the kernel sends it; nothing is read into memory).
 * Takes the fd. disposition: a Content-Disposition value (the file is a download), or NULL. */
static void serve_fd(api_request *r, int fd, uint64_t size, const char *name, const char *disposition)
{
    struct MHD_Response *resp = MHD_create_response_from_fd64(size, fd);
    if (!resp) {
        close(fd);
        api_respond_fault(r, "cannot create a file response");
        return;
    }
    MHD_add_response_header(resp, "Content-Type", awm_content_type(name));
    if (disposition)
        MHD_add_response_header(resp, "Content-Disposition", disposition);
    api_respond_response(r, 200, resp);
}

/* The name a poster is saved under: "<title> – <size>.<ext>" (a person's file, not the store's
 * key), with characters file systems refuse, control characters and quotes replaced and the title
 * cut at a character boundary. Written as RFC 6266 / RFC 5987: filename*=UTF-8''<percent-encoded>
 * for browsers, and an ASCII filename="…" (dashes for dashes, '_' for other non-ASCII) for the rest. */
static void download_disposition(const char *title, const char *size, const char *ext, awm_buf *out)
{
    awm_buf name = {0};
    size_t kept = 0;
    bool space = false;
    for (const unsigned char *p = (const unsigned char *)(title ? title : ""); *p && kept < 120; p++) {
        unsigned char c = *p;
        if (c == '.' && !name.len)
            continue; /* no hidden file, no ".." */
        if (c < 0x20 || c == 0x7f || strchr("/\\\":*?<>|", c) || c == ' ') {
            space = name.len > 0; /* runs of blanks and refused characters become one space */
            continue;
        }
        if (c >= 0x80) { /* copy the whole UTF-8 sequence, or stop before a cut one */
            size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
            size_t k = 1;
            while (n && k < n && (p[k] & 0xc0) == 0x80)
                k++;
            if (!n || k != n)
                continue;
            if (space)
                awm_buf_append(&name, " ", 1);
            awm_buf_append(&name, p, n);
            p += n - 1;
        } else {
            if (space)
                awm_buf_append(&name, " ", 1);
            awm_buf_append(&name, p, 1);
        }
        space = false;
        kept++;
    }
    while (name.len && name.data[name.len - 1] == '.') /* "Family." – 18x24 would read oddly */
        name.len--;
    if (!name.len)
        awm_buf_append(&name, "Poster", 6);
    char tail[80];
    int tn = snprintf(tail, sizeof tail, " \u2013 %s.%s", size && *size ? size : "poster", ext);
    for (int k = 0; k < tn && k < (int)sizeof tail - 1; k++) /* the size label: plain characters only */
        if (strchr("/\\\":*?<>|", tail[k]) || (unsigned char)tail[k] < 0x20)
            tail[k] = '_';
    awm_buf_append(&name, tail, strlen(tail));

    awm_buf_printf(out, "attachment; filename=\"");
    for (size_t k = 0; k < name.len; k++) {
        unsigned char c = (unsigned char)name.data[k];
        if (c < 0x80) {
            awm_buf_append(out, &name.data[k], 1);
            continue;
        }
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        bool dash = n == 3 && c == 0xe2 && (unsigned char)name.data[k + 1] == 0x80 &&
                    ((unsigned char)name.data[k + 2] == 0x93 || (unsigned char)name.data[k + 2] == 0x94);
        awm_buf_append(out, dash ? "-" : "_", 1);
        k += n - 1;
    }
    awm_buf_printf(out, "\"; filename*=UTF-8''");
    for (size_t k = 0; k < name.len; k++) {
        unsigned char c = (unsigned char)name.data[k];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c))
            awm_buf_append(out, &name.data[k], 1);
        else
            awm_buf_printf(out, "%%%02X", c);
    }
    awm_buf_free(&name);
}

/* The download's Content-Disposition for an export file: named after its map's title and page
 * size when the database knows the job, else after the file itself (the download still works). */
static void export_disposition(api_request *r, const char *name, awm_buf *out)
{
    char job_id[37], ext[5];
    awm_error err = {{0}};
    if (storage_export_name_parse(name, job_id, ext)) {
        r->db = r->db ? r->db : api_pool_get(r->srv->pool, &err);
        const char *params[] = {job_id};
        PGresult *res = r->db ? api_query(r, "cannot find the poster's map",
                                          "SELECT um.data->>'title', coalesce(pm.data->>'paperSizeName', "
                                          "(pm.data->>'widthInches') || 'x' || (pm.data->>'heightInches')) "
                                          "FROM print_jobs j "
                                          "JOIN printable_maps pm ON pm.id = j.printable_map_id "
                                          "JOIN user_maps um ON um.id = pm.user_map_id WHERE j.id = $1::uuid",
                                          1, params, &err)
                              : NULL;
        bool found = res && PQntuples(res) == 1;
        if (found)
            download_disposition(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), ext, out);
        PQclear(res);
        if (found)
            return;
        if (err.msg[0])
            awm_log(AWM_LOG_WARN, "DOWNLOAD_NAME_UNKNOWN", "{s:s, s:s}", "requestId", r->request_id, "error",
                    err.msg);
    }
    awm_buf_printf(out, "attachment; filename=\"%s\"", name);
}

/* A regular file (not a symlink) at path; false when there is none. */
static bool serve_file(api_request *r, const char *path, const char *name)
{
    /* O_NONBLOCK: a FIFO or device under the web folder must not block a thread on open(). */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return false;
    }
    serve_fd(r, fd, (uint64_t)st.st_size, name, NULL);
    return true;
}

void api_handle_export_file(api_request *r, const char *name)
{
    if (!storage_export_name_parse(name, NULL, NULL)) {
        api_respond_error(r, 400, NULL,
                          "invalid export file name (expected YYYY-MM-DDTHH-MM-SS_<printJobId>.png|pdf|svg|json)");
        return;
    }
    awm_error err = {{0}};
    if (storage_get_kind(r->srv->storage) == STORAGE_S3) {
        /* The bucket serves the bytes; the link expires, so it is never cached here. */
        char *url = storage_presign_get(r->srv->storage, name, r->srv->cfg.presign_expiry_s, &err);
        if (!url) {
            api_respond_fault(r, err.msg);
            return;
        }
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Location", url);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        free(url);
        api_respond_response(r, 302, resp);
        return;
    }
    uint64_t size;
    bool not_found;
    int fd = storage_open_local(r->srv->storage, name, &size, &not_found, &err);
    if (fd < 0) {
        if (not_found)
            api_respond_error(r, 404, NULL, "export file not found: %s", name);
        else
            api_respond_fault(r, err.msg);
        return;
    }
    awm_buf disp = {0};
    export_disposition(r, name, &disp);
    serve_fd(r, fd, size, name, disp.data);
    awm_buf_free(&disp);
}

/* ---- web page ---- */

static const char INDEX_HTML[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>AWM</title></head>\n"
    "<body><h1>AWM — map posters</h1>\n"
    "<p>The API server is running. The web page is not installed in this build.</p>\n"
    "<ul><li><a href=\"/api/export\">/api/export</a> — how to request a poster, sizes, projections, themes</li>\n"
    "<li><a href=\"/api/health\">/api/health</a> — server and database health</li>\n"
    "<li><a href=\"/metrics\">/metrics</a> — Prometheus metrics</li></ul>\n</body></html>\n";

/* A path under the web directory made only of plain name segments (no '..', no hidden files). */
static bool is_web_path(const char *path)
{
    if (path[0] != '/' || strlen(path) > 512)
        return false;
    for (const char *p = path; *p; p++) {
        char c = *p;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '_' || c == '-' || c == '/';
        if (!plain)
            return false;
        if (c == '/' && (p[1] == '.' || p[1] == '/'))
            return false;
    }
    return true;
}

bool api_handle_static(api_request *r, const char *path)
{
    if (!r->srv->web_dir[0] || !is_web_path(path))
        return false;
    char full[8192];
    size_t n = strlen(path);
    if (snprintf(full, sizeof full, "%s%s%s", r->srv->web_dir, path, path[n - 1] == '/' ? "index.html" : "") >=
        (int)sizeof full)
        return false; /* no such file (a path cut short could name another) */
    const char *name = strrchr(full, '/') + 1;
    r->route = ROUTE_STATIC;
    return serve_file(r, full, name);
}

void api_handle_index(api_request *r)
{
    if (api_handle_static(r, "/index.html")) {
        r->route = ROUTE_INDEX;
        return;
    }
    api_respond_bytes(r, 200, "text/html; charset=utf-8", INDEX_HTML, sizeof INDEX_HTML - 1);
}
