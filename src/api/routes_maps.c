/* routes_maps.c — map definitions (POST/GET /api/maps, GET /api/maps/{id}) and export
 * requests (POST/GET /api/export). Rows are turned into JSON by PostgreSQL itself
 * (json_build_object), so stored maps go out exactly as they were stored. */
#include "api/api_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "map/map.h"
#include "render/render.h"
#include "queue/queue.h"

#define USER_MAP_JSON                                                                            \
    "json_build_object('id', m.id, 'data', m.data, 'created_at', m.created_at, 'updated_at', "    \
    "m.updated_at)::text"

/* Answer {"<key>": <json_text>} without re-parsing the text. */
static void respond_wrapped(api_request *r, unsigned status, const char *key, const char *json_text)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"%s\":%s}", key, json_text);
    api_respond_json_text(r, status, b.data, b.len);
    awm_buf_free(&b);
}

static void respond_violations(api_request *r, const char *what, map_violations *v)
{
    api_respond_error(r, 400, json_pack("{s:o}", "details", map_violations_json(v)), "%s", what);
}

/* The body checked as a map definition: what the poster will shorten (a JSON array, owned by
 * the caller), or NULL after answering 415/400 (every violation). */
static json_t *map_body_warnings(api_request *r)
{
    json_t *root = api_body_json(r, false);
    if (!root)
        return NULL;
    json_t *warnings = json_array();
    map_definition def;
    map_violations v;
    bool ok = map_definition_from_json(root, &def, &v);
    if (ok) {
        map_violations w = {0};
        awm_error err = {{0}};
        if (render_map_warnings(&def, &w, &err)) {
            json_decref(warnings);
            warnings = map_violations_json(&w);
        }
        map_violations_free(&w);
    }
    map_definition_free(&def);
    if (!ok) {
        respond_violations(r, "invalid map definition", &v);
        json_decref(warnings);
        warnings = NULL;
    }
    json_decref(root);
    map_violations_free(&v);
    return warnings;
}

/* {"userMap": <row>, "editToken"?: "...", "warnings": [...]} into b (warnings stolen); *token_at
 * (may be NULL) gets the offset of the token in it. */
static void map_answer(awm_buf *b, const char *user_map_json, const char *edit_token, json_t *warnings,
                       size_t *token_at)
{
    char *w = json_dumps(warnings, JSON_COMPACT);
    json_decref(warnings);
    awm_buf_printf(b, "{\"userMap\":%s", user_map_json);
    if (edit_token) {
        awm_buf_printf(b, ",\"editToken\":\"");
        if (token_at)
            *token_at = b->len;
        awm_buf_printf(b, "%s\"", edit_token);
    }
    awm_buf_printf(b, ",\"warnings\":%s}", w ? w : "[]");
    free(w);
}

static void respond_map(api_request *r, unsigned status, const char *user_map_json, const char *edit_token,
                        json_t *warnings)
{
    awm_buf b = {0};
    map_answer(&b, user_map_json, edit_token, warnings, NULL);
    api_respond_json_text(r, status, b.data, b.len);
    awm_buf_free(&b);
}

static void maps_create(api_request *r, const api_idempotency *idem)
{
    json_t *warnings = map_body_warnings(r);
    if (!warnings)
        return;
    if (!api_db(r)) {
        json_decref(warnings);
        return;
    }
    /* The token is answered once; only its hash is stored. Store the text as received (jsonb
     * keeps numbers exactly as written); awm_buf keeps a NUL after the data. */
    char token[API_TOKEN_LEN + 1], hash[API_TOKEN_HASH_LEN + 1];
    api_edit_token_new(token, hash);
    awm_error err = {{0}};
    const char *params[] = {r->body.data, hash};
    PGresult *res = api_query(r, "cannot store the map",
                              "INSERT INTO user_maps AS m (data, edit_token_sha256) VALUES ($1::jsonb, $2) "
                              "RETURNING " USER_MAP_JSON,
                              2, params, &err);
    awm_buf b = {0};
    size_t token_at = 0;
    bool ok = res != NULL;
    if (ok) {
        map_answer(&b, PQgetvalue(res, 0, 0), token, warnings, &token_at);
        ok = !idem->active || (api_idempotency_record(r, idem, 201, b.data, b.len, token, token_at, &err) &&
                               db_run(r->db, "cannot commit the map", "COMMIT", &err));
    } else {
        json_decref(warnings);
    }
    if (ok)
        api_respond_json_text(r, 201, b.data, b.len);
    else
        api_respond_db_error(r, &err);
    explicit_bzero(token, sizeof token);
    if (b.data)
        explicit_bzero(b.data, b.len);
    awm_buf_free(&b);
    PQclear(res);
}

/* A create route under its Idempotency-Key: a repeat gets the first answer again. */
static void idempotent(api_request *r, const char *route, void (*create)(api_request *, const api_idempotency *))
{
    api_idempotency idem;
    if (!api_idempotency_begin(r, route, &idem))
        return;
    create(r, &idem);
    api_idempotency_end(r, &idem);
}

void api_handle_maps_create(api_request *r)
{
    idempotent(r, "/api/maps", maps_create);
}

/* The map's stored edit-token hash (copied into hash; "" when the map has none), or false after
 * answering 404 (no such map) or a database failure. */
static bool map_token_hash(api_request *r, const char *id, char hash[API_TOKEN_HASH_LEN + 1])
{
    if (!awm_is_uuid(id)) {
        api_respond_error(r, 404, NULL, "user map not found: %s", id);
        return false;
    }
    if (!api_db(r))
        return false;
    awm_error err = {{0}};
    const char *params[] = {id};
    PGresult *res = api_query(r, "cannot read the map", "SELECT edit_token_sha256 FROM user_maps WHERE id = $1",
                              1, params, &err);
    if (!res) {
        api_respond_db_error(r, &err);
        return false;
    }
    bool found = PQntuples(res) == 1;
    if (found)
        snprintf(hash, API_TOKEN_HASH_LEN + 1, "%s", PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
    else
        api_respond_error(r, 404, NULL, "user map not found: %s", id);
    PQclear(res);
    return found;
}

void api_handle_map_update(api_request *r, const char *id)
{
    char hash[API_TOKEN_HASH_LEN + 1];
    if (!map_token_hash(r, id, hash) || !api_check_edit_token(r, hash[0] ? hash : NULL, false))
        return;
    json_t *warnings = map_body_warnings(r);
    if (!warnings)
        return;
    awm_error err = {{0}};
    const char *params[] = {id, r->body.data};
    PGresult *res = api_query(r, "cannot update the map",
                              "UPDATE user_maps AS m SET data = $2::jsonb, updated_at = now() WHERE m.id = $1 "
                              "RETURNING " USER_MAP_JSON,
                              2, params, &err);
    if (!res) {
        json_decref(warnings);
        api_respond_db_error(r, &err);
        return;
    }
    if (PQntuples(res) == 0) { /* deleted meanwhile */
        json_decref(warnings);
        api_respond_error(r, 404, NULL, "user map not found: %s", id);
    } else {
        respond_map(r, 200, PQgetvalue(res, 0, 0), NULL, warnings);
    }
    PQclear(res);
}

/* Remove a poster and its DEBUG_MODE sidecar, named by a print job's file path. */
static bool delete_poster_files(storage *st, const char *path, awm_error *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    char job_id[37], ext[5];
    if (!storage_export_name_parse(name, job_id, ext))
        return true; /* not a name this system made: nothing of ours to remove */
    char sidecar[STORAGE_EXPORT_NAME_LEN + 1];
    snprintf(sidecar, sizeof sidecar, "%.*sjson", (int)(strlen(name) - strlen(ext)), name);
    return storage_delete(st, name, err) && storage_delete(st, sidecar, err);
}

bool api_map_purge(PGconn *conn, storage *st, const char *id, api_purge_result *out, awm_error *err)
{
    memset(out, 0, sizeof *out);
    /* Posters first: if storage cannot be reached, the map stays (and can be deleted again)
     * rather than leaving files nobody can find any more. */
    const char *params[] = {id};
    PGresult *files = db_exec_cached(conn, "cannot find the map's posters",
                                     "SELECT j.export_file_path FROM print_jobs j JOIN printable_maps pm ON "
                                     "pm.id = j.printable_map_id WHERE pm.user_map_id = $1 AND "
                                     "j.export_file_path IS NOT NULL",
                                     1, params, err);
    if (!files)
        return false;
    bool ok = true;
    for (int i = 0; i < PQntuples(files) && ok; i++)
        ok = delete_poster_files(st, PQgetvalue(files, i, 0), err);
    out->posters = PQntuples(files);
    PQclear(files);
    if (!ok) {
        out->storage_failed = true;
        return false;
    }
    /* Then, in one transaction, its queue jobs (they carry the whole map) and the rows (printable
     * maps, print jobs and their events go with the map: ON DELETE CASCADE). */
    PGresult *del = NULL;
    ok = db_run(conn, "cannot start a transaction", "BEGIN", err) &&
         queue_delete_export_jobs(conn, id, &out->queue_jobs, err) &&
         (del = db_exec_cached(conn, "cannot delete the map", "DELETE FROM user_maps WHERE id = $1", 1, params,
                               err)) &&
         db_run(conn, "cannot commit the deletion", "COMMIT", err);
    if (del)
        out->found = atol(PQcmdTuples(del)) > 0;
    PQclear(del);
    if (!ok && PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_run(conn, "rollback", "ROLLBACK", NULL);
    return ok;
}

void api_handle_map_delete(api_request *r, const char *id)
{
    char hash[API_TOKEN_HASH_LEN + 1];
    if (!map_token_hash(r, id, hash) || !api_check_edit_token(r, hash[0] ? hash : NULL, true))
        return;
    awm_error err = {{0}};
    api_purge_result done;
    if (!api_map_purge(r->db, r->srv->storage, id, &done, &err)) {
        if (done.storage_failed) {
            awm_log(AWM_LOG_ERROR, "MAP_DELETE_STORAGE_FAILED", "{s:s, s:s, s:s}", "userMapId", id, "error",
                    err.msg, "requestId", r->request_id);
            api_respond_error(r, 503, NULL, "the map's posters cannot be deleted now (storage unavailable); "
                                            "nothing was deleted, try again");
        } else {
            api_respond_db_error(r, &err);
        }
        return;
    }
    awm_log(AWM_LOG_INFO, "MAP_DELETED", "{s:s, s:i, s:I, s:b, s:s}", "userMapId", id, "posters", done.posters,
            "queueJobs", (json_int_t)done.queue_jobs, "byOperator", api_is_operator(r), "requestId", r->request_id);
    api_respond_bytes(r, 204, NULL, "", 0);
}

/* A whole number query argument in [min, max]; answers 400 and returns false when bad. */
static bool int_arg(api_request *r, const char *name, long fallback, long min, long max, long *out)
{
    const char *s = api_query_arg(r, name);
    *out = fallback;
    if (!s)
        return true;
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        api_respond_error(r, 400, NULL, "%s must be a whole number from %ld to %ld", name, min, max);
        return false;
    }
    *out = v;
    return true;
}

/* A summary is all the operator's list shows of a family's map (never the full data). */
#define MAP_SUMMARY_JSON                                                                          \
    "json_build_object('id', m.id, 'title', m.data->>'title', 'peopleCount', "                     \
    "CASE jsonb_typeof(m.data->'people') WHEN 'array' THEN jsonb_array_length(m.data->'people') ELSE 0 END, " \
    "'locationCount', (SELECT COALESCE(sum(CASE jsonb_typeof(p->'locations') WHEN 'array' THEN "    \
    "jsonb_array_length(p->'locations') ELSE 0 END), 0) FROM jsonb_array_elements(CASE "             \
    "jsonb_typeof(m.data->'people') WHEN 'array' THEN m.data->'people' ELSE '[]' END) p), "          \
    "'created_at', m.created_at, 'updated_at', m.updated_at)"

void api_handle_maps_list(api_request *r)
{
    if (!api_check_operator(r, "listing maps"))
        return;
    long limit, offset;
    if (!int_arg(r, "limit", 50, 1, 500, &limit) || !int_arg(r, "offset", 0, 0, 1000000000L, &offset))
        return;
    if (!api_db(r))
        return;
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *params[] = {lim, off};
    awm_error err = {{0}};
    PGresult *res = api_query(r, "cannot list maps",
                              "SELECT COALESCE(json_agg(" MAP_SUMMARY_JSON " ORDER BY m.created_at DESC, "
                              "m.id DESC), '[]')::text FROM (SELECT * FROM user_maps ORDER BY created_at "
                              "DESC, id DESC LIMIT $1 OFFSET $2) m",
                              2, params, &err);
    if (!res) {
        api_respond_db_error(r, &err);
        return;
    }
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"userMaps\":%s,\"limit\":%ld,\"offset\":%ld}", PQgetvalue(res, 0, 0), limit, offset);
    PQclear(res);
    api_respond_json_text(r, 200, b.data, b.len);
    awm_buf_free(&b);
}

void api_handle_map_get(api_request *r, const char *id)
{
    if (!awm_is_uuid(id)) {
        api_respond_error(r, 404, NULL, "user map not found: %s", id);
        return;
    }
    if (!api_db(r))
        return;
    const char *params[] = {id};
    awm_error err = {{0}};
    PGresult *res = api_query(r, "cannot read the map",
                              "SELECT " USER_MAP_JSON " FROM user_maps m WHERE m.id = $1", 1, params, &err);
    if (!res) {
        api_respond_db_error(r, &err);
        return;
    }
    if (PQntuples(res) == 0)
        api_respond_error(r, 404, NULL, "user map not found: %s", id);
    else
        respond_wrapped(r, 200, "userMap", PQgetvalue(res, 0, 0));
    PQclear(res);
}

/* ---- exports ---- */

/* pdf-cmyk: the PDF converted through the worker's CMYK_PROFILE (a worker without one fails the job). */
static const char *const FORMATS[] = {"png", "pdf", "svg", "pdf-cmyk"};

static json_t *sizes_json(void)
{
    size_t n;
    const map_print_spec *specs = map_print_specs(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:i, s:i}", "key", specs[i].key, "widthInches",
                                             specs[i].trim_w_in, "heightInches", specs[i].trim_h_in,
                                             "pixelWidth", specs[i].px_w, "pixelHeight", specs[i].px_h));
    return arr;
}

/* Check the export request's own fields; every problem is appended to `details`. */
static void check_export_fields(json_t *body, json_t *details)
{
    const char *key;
    json_t *val;
    json_object_foreach(body, key, val) {
        bool known = !strcmp(key, "userMapId") || !strcmp(key, "widthInches") || !strcmp(key, "heightInches") ||
                     !strcmp(key, "paperSizeName") || !strcmp(key, "format");
        size_t n_keys;
        const char *const *keys = map_override_keys(&n_keys);
        for (size_t i = 0; i < n_keys; i++)
            known = known || !strcmp(key, keys[i]);
        if (!known)
            json_array_append_new(details, json_sprintf("%s: unknown field", key));
    }
    json_t *id = json_object_get(body, "userMapId");
    if (!id)
        json_array_append_new(details, json_string("userMapId: required (the id of a map from POST /api/maps)"));
    else if (!json_is_string(id) || !awm_is_uuid(json_string_value(id)))
        json_array_append_new(details, json_string("userMapId: must be a uuid string"));
    const char *dims[] = {"widthInches", "heightInches"};
    for (int i = 0; i < 2; i++) {
        json_t *d = json_object_get(body, dims[i]);
        if (!d)
            json_array_append_new(details, json_sprintf("%s: required (a number of inches)", dims[i]));
        else if (!json_is_number(d) || !(json_number_value(d) > 0) || json_number_value(d) > 1000)
            json_array_append_new(details, json_sprintf("%s: must be a number of inches above 0", dims[i]));
    }
    json_t *name = json_object_get(body, "paperSizeName");
    if (name && (!json_is_string(name) || json_string_length(name) == 0 || json_string_length(name) > 50))
        json_array_append_new(details, json_string("paperSizeName: must be a string of 1 to 50 characters"));
    json_t *fmt = json_object_get(body, "format");
    if (fmt) {
        bool ok = false;
        for (size_t i = 0; i < sizeof FORMATS / sizeof FORMATS[0] && json_is_string(fmt); i++)
            ok = ok || !strcmp(json_string_value(fmt), FORMATS[i]);
        if (!ok)
            json_array_append_new(details, json_string("format: must be one of png, pdf, svg, pdf-cmyk"));
    }
}

static void export_create(api_request *r, const api_idempotency *idem)
{
    json_t *body = api_body_json(r, false);
    if (!body)
        return;
    json_t *details = json_array();
    check_export_fields(body, details);
    if (json_array_size(details) > 0) {
        json_decref(body);
        api_respond_error(r, 400, json_pack("{s:o}", "details", details), "invalid export request");
        return;
    }
    char user_map_id[37];
    snprintf(user_map_id, sizeof user_map_id, "%s", json_string_value(json_object_get(body, "userMapId")));
    double w = json_number_value(json_object_get(body, "widthInches"));
    double h = json_number_value(json_object_get(body, "heightInches"));

    PGconn *conn = api_db(r);
    if (!conn) {
        json_decref(body);
        json_decref(details);
        return;
    }
    awm_error err = {{0}};
    const char *p1[] = {user_map_id};
    /* The map, and how many of its exports wait already: one map cannot fill the queue. */
    PGresult *res = api_query(r, "cannot read the map",
                              "SELECT m.data::text, (SELECT count(*) FROM printable_maps pm JOIN print_jobs j ON "
                              "j.printable_map_id = pm.id WHERE pm.user_map_id = m.id AND j.state IN "
                              "('pending_export', 'exporting')) FROM user_maps m WHERE m.id = $1",
                              1, p1, &err);
    if (!res) {
        json_decref(body);
        json_decref(details);
        api_respond_db_error(r, &err);
        return;
    }
    if (PQntuples(res) == 0 || atol(PQgetvalue(res, 0, 1)) >= r->srv->cfg.max_pending_exports) {
        bool missing = PQntuples(res) == 0;
        long waiting = missing ? 0 : atol(PQgetvalue(res, 0, 1));
        PQclear(res);
        json_decref(body);
        json_decref(details);
        if (missing) {
            api_respond_error(r, 404, NULL, "user map not found: %s", user_map_id);
        } else {
            api_response_header(r, "Retry-After", "30");
            api_respond_error(r, 429, json_pack("{s:i}", "limit", r->srv->cfg.max_pending_exports),
                              "this map already has %ld exports waiting (at most %d); try again when one is done",
                              waiting, r->srv->cfg.max_pending_exports);
        }
        return;
    }
    char *user_map_text = awm_strdup(PQgetvalue(res, 0, 0));
    json_t *user_map = json_loads(user_map_text, 0, NULL);
    PQclear(res);

    /* The effective definition (overrides win) must be valid, and the page a known size. */
    map_definition def;
    map_violations v;
    if (!map_definition_from_json_with_overrides(user_map, body, &def, &v)) { /* only the override keys count */
        json_t *vj = map_violations_json(&v);
        json_array_extend(details, vj);
        json_decref(vj);
    }
    map_definition_free(&def);
    map_violations_free(&v);
    const map_print_spec *spec = map_print_spec_match(w, h);
    json_t *extra = json_object();
    if (!spec) {
        json_array_append_new(details, json_sprintf("widthInches, heightInches: no print size matches %g × %g "
                                                    "inches; sizes: %s",
                                                    w, h, map_print_spec_list()));
        json_object_set_new(extra, "sizes", sizes_json());
    }
    if (json_array_size(details) > 0) {
        json_decref(body);
        json_decref(user_map);
        free(user_map_text);
        json_object_set_new(extra, "details", details);
        api_respond_error(r, 400, extra, spec ? "invalid export request" : "no print size matches %g × %g inches",
                          w, h);
        return;
    }
    json_decref(extra);
    json_decref(details);

    /* The printable map keeps the request minus userMapId (that is its foreign key). */
    json_t *pm_data = json_deep_copy(body);
    json_object_del(pm_data, "userMapId");
    char *pm_text = json_dumps(pm_data, JSON_COMPACT | JSON_REAL_PRECISION(15));

    const char *p2[] = {user_map_id, pm_text};
    bool ok = idem->active || api_begin(r, &err); /* with a key, its transaction is open */
    PGresult *ins = NULL;
    if (ok)
        ins = api_query(r, "cannot create the print job",
                        "WITH pm AS (INSERT INTO printable_maps (user_map_id, data) VALUES ($1, $2::jsonb) "
                        "RETURNING *), "
                        "pj AS (INSERT INTO print_jobs (printable_map_id) SELECT id FROM pm RETURNING id), "
                        "ev AS (INSERT INTO print_job_events (print_job_id, from_state, to_state, event_type) "
                        "SELECT id, NULL, 'pending_export', 'created' FROM pj) "
                        "SELECT pj.id, pm.id, json_build_object('id', pm.id, 'user_map_id', pm.user_map_id, "
                        "'data', pm.data, 'created_at', pm.created_at)::text, pm.data::text FROM pm, pj",
                        2, p2, &err);
    ok = ins != NULL;
    char job_id[QUEUE_ID_LEN] = "", queue_id[QUEUE_ID_LEN] = "";
    if (ok) {
        snprintf(job_id, sizeof job_id, "%s", PQgetvalue(ins, 0, 0));
        ok = queue_send_export(conn, job_id, PQgetvalue(ins, 0, 1), user_map_id, user_map_text,
                               PQgetvalue(ins, 0, 3), queue_id, &err);
    }
    awm_buf b = {0};
    if (ok) {
        awm_buf_printf(&b, "{\"printableMap\":%s,\"printJobId\":\"%s\",\"queueJobId\":\"%s\","
                           "\"message\":\"Export job queued\"}",
                       PQgetvalue(ins, 0, 2), job_id, queue_id);
        ok = api_idempotency_record(r, idem, 202, b.data, b.len, NULL, 0, &err);
    }
    if (ok)
        ok = db_run(conn, "cannot commit the export", "COMMIT", &err);
    if (!ok) {
        if (PQtransactionStatus(conn) != PQTRANS_IDLE)
            db_run(conn, "rollback", "ROLLBACK", NULL);
        if (err.code == AWM_ENOTFOUND) /* foreign key: the map was deleted meanwhile */
            api_respond_error(r, 404, NULL, "user map not found: %s", user_map_id);
        else
            api_respond_db_error(r, &err);
    } else {
        api_respond_json_text(r, 202, b.data, b.len);
        awm_log(AWM_LOG_INFO, "EXPORT_QUEUED", "{s:s, s:s, s:s, s:s}", "printJobId", job_id, "queueJobId",
                queue_id, "size", spec->key, "requestId", r->request_id);
    }
    awm_buf_free(&b);
    PQclear(ins);
    free(pm_text);
    json_decref(pm_data);
    json_decref(user_map);
    free(user_map_text);
    json_decref(body);
}

void api_handle_export_create(api_request *r)
{
    idempotent(r, "/api/export", export_create);
}

static json_t *hex_colour(uint32_t rgb)
{
    return json_sprintf("#%06x", (unsigned)(rgb & 0xFFFFFF));
}

/* A theme as the renderer uses it (MAPS-AND-PRINT.md §5), so no client restates the palettes. */
static json_t *theme_json(const map_theme *t)
{
    json_t *paths = json_array();
    for (int k = 0; k < MAP_PALETTE_SIZE; k++)
        json_array_append_new(paths, hex_colour(t->palette[k]));
    json_t *colours = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "canvasBackground",
                                hex_colour(t->canvas_background), "ocean", hex_colour(t->ocean), "land",
                                hex_colour(t->land), "landStroke", hex_colour(t->land_stroke), "countryBorder",
                                hex_colour(t->country_border), "graticule", hex_colour(t->graticule), "paths", paths);
    return json_pack("{s:s, s:s, s:o}", "id", t->id, "displayName", t->display_name, "colors", colours);
}

void api_handle_export_describe(api_request *r)
{
    size_t n;
    json_t *themes = json_array();
    const map_theme *t = map_themes(&n);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(themes, theme_json(&t[i]));
    json_t *projections = json_array();
    for (int k = 0; k < GEO_PROJ_COUNT; k++)
        json_array_append_new(projections, json_string(geo_projection_kind_name((geo_projection_kind)k)));
    json_t *fields = json_pack(
        "{s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s},"
        " s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s},"
        " s:{s:s, s:b, s:s}, s:{s:s, s:b, s:s}}",
        "userMapId", "type", "string (uuid)", "required", 1, "description", "id of a map created by POST /api/maps",
        "widthInches", "type", "number", "required", 1, "description",
        "trim width in inches; with heightInches it must match one of `sizes` (within 1 pt)",
        "heightInches", "type", "number", "required", 1, "description", "trim height in inches",
        "paperSizeName", "type", "string", "required", 0, "description", "a label such as \"18×24\" or \"A4\"",
        "projection", "type", "string", "required", 0, "description", "overrides the map's projection",
        "rotation", "type", "[number, number, number]", "required", 0, "description",
        "overrides the map's rotation [λ, φ, γ] in degrees",
        "zoom", "type", "number", "required", 0, "description", "overrides the map's zoom",
        "pan", "type", "[number, number]", "required", 0, "description", "overrides the map's pan in pt",
        "theme", "type", "string", "required", 0, "description", "overrides the map's theme (see `themes`)",
        "format", "type", "string", "required", 0, "description",
        "png (default), pdf, svg, or pdf-cmyk (the PDF in CMYK through the worker's CMYK_PROFILE)");
    /* The page geometry every size shares (MAPS-AND-PRINT.md §2, §3), for the web page's preview. */
    json_t *page = json_pack("{s:f, s:f, s:f, s:f}", "bleedPt", MAP_BLEED_PT, "safePt", MAP_SAFE_PT, "frameInsetPt",
                             MAP_FRAME_INSET_PT, "dpi", MAP_DPI);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:[s,s,s,s], s:{s:i, s:s, s:s, s:s}}", "method",
                            "POST", "path", "/api/export", "body", fields, "page", page, "sizes", sizes_json(),
                            "projections", projections, "themes", themes, "formats", "png", "pdf", "svg",
                            "pdf-cmyk", "response",
                            "status", 202, "printJobId", "uuid of the new print job", "message",
                            "Export job queued", "follow", "GET /api/jobs/{printJobId}");
    api_respond_json(r, 200, doc);
}

bool api_maps_list(PGconn *conn, long limit, long offset, FILE *out, awm_error *err)
{
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(off, sizeof off, "%ld", offset);
    const char *params[] = {lim, off};
    PGresult *res = db_exec(conn, "cannot list maps",
                            "SELECT (" MAP_SUMMARY_JSON ")::text FROM (SELECT * FROM user_maps ORDER BY "
                            "created_at DESC, id DESC LIMIT $1 OFFSET $2) m",
                            2, params, err);
    if (!res)
        return false;
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *j = json_loads(PQgetvalue(res, i, 0), 0, NULL);
        const char *title = json_string_value(json_object_get(j, "title"));
        fprintf(out, "%s  %3lld people %5lld places  updated %s  %s\n", json_string_value(json_object_get(j, "id")),
                (long long)json_integer_value(json_object_get(j, "peopleCount")),
                (long long)json_integer_value(json_object_get(j, "locationCount")),
                json_string_value(json_object_get(j, "updated_at")), title ? title : "");
        json_decref(j);
    }
    PQclear(res);
    return true;
}
