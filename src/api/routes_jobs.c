/* routes_jobs.c — print jobs: GET /api/jobs/{id}, the worker's state transitions
 * (start, complete, fail — SYSTEM.md §2) and the `awm jobs` commands.
 *
 * Each transition runs in one transaction: the job row is locked (SELECT … FOR UPDATE), the
 * decision is taken on the locked state, and the update and its event are written together,
 * so two concurrent calls can never both apply. Repeats a worker may send after a timeout
 * are answered with the job unchanged (no event). */
#include "api/api_internal.h"

#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"

const char *const API_JOB_JSON_SQL =
    "SELECT json_build_object('id', j.id, 'printable_map_id', j.printable_map_id, 'state', j.state, "
    "'export_started_at', j.export_started_at, 'export_completed_at', j.export_completed_at, "
    "'export_file_path', j.export_file_path, 'export_error', j.export_error, "
    "'export_retry_count', j.export_retry_count, 'created_at', j.created_at, 'updated_at', j.updated_at, "
    "'events', COALESCE((SELECT json_agg(json_build_object('id', e.id, 'from_state', e.from_state, "
    "'to_state', e.to_state, 'event_type', e.event_type, 'metadata', e.metadata, "
    "'error_message', e.error_message, 'created_at', e.created_at) ORDER BY e.created_at, e.id) "
    "FROM print_job_events e WHERE e.print_job_id = j.id), '[]'::json))::text, "
    "j.state, j.export_file_path FROM print_jobs j WHERE j.id = $1";

/* The job document from a row of API_JOB_JSON_SQL, with downloadUrl added when complete. */
static char *full_document(PGresult *res)
{
    const char *doc = PQgetvalue(res, 0, 0);
    if (strcmp(PQgetvalue(res, 0, 1), "export_complete") || PQgetisnull(res, 0, 2))
        return awm_strdup(doc);
    const char *path = PQgetvalue(res, 0, 2);
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    char url[1024]; /* fits: a file name is at most 255 bytes */
    snprintf(url, sizeof url, "/exports/%s", name);
    json_t *s = json_string(url);
    char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    json_decref(s);
    awm_buf b = {0};
    size_t n = strlen(doc);
    awm_buf_append(&b, doc, n - 1); /* drop the closing brace */
    awm_buf_printf(&b, ",\"downloadUrl\":%s}", quoted ? quoted : "null");
    free(quoted);
    awm_buf_append(&b, "", 1);
    return b.data;
}

/* The public view of a job document: where the worker put the file is the worker's and the
 * operator's business (SYSTEM.md §3); the public gets downloadUrl. Strips export_file_path and
 * the filePath the complete event recorded. */
static char *public_view(char *doc)
{
    json_t *j = json_loads(doc, 0, NULL);
    if (!j)
        return doc;
    json_object_del(j, "export_file_path");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e) {
        json_object_del(json_object_get(e, "metadata"), "filePath");
    }
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    if (!text)
        return doc;
    free(doc);
    return text;
}

/* The document for the caller: the internal view (worker, operator, `awm jobs`) keeps the path. */
static char *job_document(PGresult *res, bool internal)
{
    char *doc = full_document(res);
    return internal ? doc : public_view(doc);
}

void api_handle_job_get(api_request *r, const char *id)
{
    if (!awm_is_uuid(id)) {
        api_respond_error(r, 404, NULL, "print job not found: %s", id);
        return;
    }
    if (!api_db(r))
        return;
    const char *params[] = {id};
    awm_error err = {{0}};
    PGresult *res = api_query(r, "cannot read the print job", API_JOB_JSON_SQL, 1, params, &err);
    if (!res) {
        api_respond_db_error(r, &err);
        return;
    }
    if (PQntuples(res) == 0) {
        api_respond_error(r, 404, NULL, "print job not found: %s", id);
    } else {
        char *doc = job_document(res, api_is_worker(r) || api_is_operator(r));
        api_respond_json_text(r, 200, doc, strlen(doc));
        free(doc);
    }
    PQclear(res);
}

/* ---- transitions ---- */

typedef enum { T_START, T_COMPLETE, T_FAIL } transition;

static const char *transition_verb(transition t)
{
    return t == T_START ? "start" : t == T_COMPLETE ? "complete" : "fail";
}

void api_handle_job_transition(api_request *r, const char *id, api_route which)
{
    transition t = which == ROUTE_JOB_START ? T_START : which == ROUTE_JOB_COMPLETE ? T_COMPLETE : T_FAIL;
    if (!api_check_worker_auth(r))
        return;
    if (!awm_is_uuid(id)) {
        api_respond_error(r, 404, NULL, "print job not found: %s", id);
        return;
    }
    /* start takes no body; complete needs filePath, fail needs error; metadata is optional. */
    json_t *body = api_body_json(r, t == T_START);
    if (!body)
        return;
    const char *file = NULL, *message = NULL;
    json_t *meta = json_object_get(body, "metadata");
    if (meta && !json_is_object(meta)) {
        json_decref(body);
        api_respond_error(r, 400, json_pack("{s:[s]}", "details", "metadata: must be an object"),
                          "invalid request");
        return;
    }
    if (t == T_COMPLETE) {
        json_t *f = json_object_get(body, "filePath");
        file = json_string_value(f);
        if (!file || !*file || strlen(file) > 4096) {
            json_decref(body);
            api_respond_error(r, 400,
                              json_pack("{s:[s]}", "details", "filePath: required, a string of 1 to 4096 characters"),
                              "invalid request");
            return;
        }
    } else if (t == T_FAIL) {
        json_t *e = json_object_get(body, "error");
        message = json_string_value(e);
        if (!message || !*message || strlen(message) > 10000) {
            json_decref(body);
            api_respond_error(r, 400,
                              json_pack("{s:[s]}", "details", "error: required, a string of 1 to 10000 characters"),
                              "invalid request");
            return;
        }
    }
    PGconn *conn = api_db(r);
    if (!conn) {
        json_decref(body);
        return;
    }
    awm_error err = {{0}};
    const char *pid[] = {id};
    PGresult *row = NULL, *doc = NULL;
    if (api_begin(r, &err))
        row = api_query(r, "cannot lock the print job",
                        "SELECT state, export_file_path, export_error, export_retry_count FROM print_jobs "
                        "WHERE id = $1 FOR UPDATE",
                        1, pid, &err);
    if (!row)
        goto db_failed;
    if (PQntuples(row) == 0) {
        db_run(conn, "rollback", "ROLLBACK", NULL);
        api_respond_error(r, 404, NULL, "print job not found: %s", id);
        goto done;
    }
    const char *state = PQgetvalue(row, 0, 0);
    const char *cur_file = PQgetisnull(row, 0, 1) ? NULL : PQgetvalue(row, 0, 1);
    const char *cur_error = PQgetisnull(row, 0, 2) ? NULL : PQgetvalue(row, 0, 2);

    /* Decide: to_state + event, unchanged, or conflict. */
    const char *to = NULL, *event = NULL, *sql = NULL;
    bool unchanged = false;
    if (t == T_START) {
        if (!strcmp(state, "pending_export")) {
            to = "exporting", event = "started";
        } else if (!strcmp(state, "export_failed")) {
            to = "exporting", event = "retrying";
        } else if (!strcmp(state, "exporting")) {
            unchanged = true;
        }
        sql = "UPDATE print_jobs SET state = 'exporting', export_started_at = now(), updated_at = now() "
              "WHERE id = $1";
    } else if (t == T_COMPLETE) {
        if (!strcmp(state, "exporting"))
            to = "export_complete", event = "completed";
        else if (!strcmp(state, "export_complete") && cur_file && !strcmp(cur_file, file))
            unchanged = true;
        sql = "UPDATE print_jobs SET state = 'export_complete', export_file_path = $2, "
              "export_completed_at = now(), updated_at = now() WHERE id = $1";
    } else {
        if (!strcmp(state, "exporting"))
            to = "export_failed", event = "failed";
        else if (!strcmp(state, "export_failed") && cur_error && !strcmp(cur_error, message))
            unchanged = true;
        else if (!strcmp(state, "export_failed"))
            to = "export_failed", event = "failed"; /* a new error: a real failure again */
        sql = "UPDATE print_jobs SET state = 'export_failed', export_error = $2, "
              "export_retry_count = export_retry_count + 1, updated_at = now() WHERE id = $1";
    }
    if (!to && !unchanged) {
        db_run(conn, "rollback", "ROLLBACK", NULL);
        const char *why = "";
        if (t == T_COMPLETE && !strcmp(state, "export_complete"))
            why = " with another file";
        api_respond_error(r, 409, json_pack("{s:s}", "state", state), "cannot %s a print job in state %s%s",
                          transition_verb(t), state, why);
        goto done;
    }
    if (to) {
        const char *p2[] = {id, t == T_COMPLETE ? file : message};
        PGresult *u = api_query(r, "cannot update the print job", sql, t == T_START ? 1 : 2, p2, &err);
        if (!u)
            goto db_failed;
        PQclear(u);
        json_t *m = meta ? json_deep_copy(meta) : json_object();
        if (t == T_COMPLETE)
            json_object_set_new(m, "filePath", json_string(file));
        if (t == T_FAIL)
            json_object_set_new(m, "retryCount", json_integer(atoi(PQgetvalue(row, 0, 3)) + 1));
        char *mtext = json_dumps(m, JSON_COMPACT);
        json_decref(m);
        const char *p3[] = {id, state, to, event, mtext, message};
        PGresult *e = api_query(r, "cannot record the event",
                                "INSERT INTO print_job_events (print_job_id, from_state, to_state, event_type, "
                                "metadata, error_message) VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
                                6, p3, &err);
        free(mtext);
        if (!e)
            goto db_failed;
        PQclear(e);
    }
    doc = api_query(r, "cannot read the print job", API_JOB_JSON_SQL, 1, pid, &err);
    if (!doc || !db_run(conn, "cannot commit the transition", "COMMIT", &err))
        goto db_failed;
    char *text = job_document(doc, true); /* the worker's own route */
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"success\":true,\"changed\":%s,\"job\":%s}", unchanged ? "false" : "true", text);
    api_respond_json_text(r, 200, b.data, b.len);
    awm_buf_free(&b);
    free(text);
    if (to)
        awm_log(AWM_LOG_INFO, "PRINT_JOB_TRANSITION", "{s:s, s:s, s:s, s:s, s:s}", "printJobId", id, "from", state,
                "to", to, "event", event, "requestId", r->request_id);
    goto done;

db_failed:
    if (PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_run(conn, "rollback", "ROLLBACK", NULL);
    api_respond_db_error(r, &err);
done:
    PQclear(row);
    PQclear(doc);
    json_decref(body);
}

/* ---- `awm jobs` ---- */

bool api_job_status(PGconn *conn, const char *id, bool json, FILE *out, bool *found, awm_error *err)
{
    *found = false;
    if (!awm_is_uuid(id)) {
        awm_error_set(err, "print job not found: %s (not a uuid)", id);
        return false;
    }
    const char *params[] = {id};
    PGresult *res = db_exec(conn, "cannot read the print job", API_JOB_JSON_SQL, 1, params, err);
    if (!res)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
        awm_error_set(err, "print job not found: %s", id);
        return false;
    }
    *found = true;
    char *doc = job_document(res, true); /* `awm jobs status`: the operator */
    PQclear(res);
    if (json) {
        fprintf(out, "%s\n", doc);
        free(doc);
        return true;
    }
    json_t *j = json_loads(doc, 0, NULL);
    free(doc);
    const char *s;
    fprintf(out, "print job %s\n", id);
    fprintf(out, "  state:       %s\n", json_string_value(json_object_get(j, "state")));
    fprintf(out, "  retries:     %lld\n", (long long)json_integer_value(json_object_get(j, "export_retry_count")));
    fprintf(out, "  created:     %s\n", json_string_value(json_object_get(j, "created_at")));
    if ((s = json_string_value(json_object_get(j, "export_started_at"))))
        fprintf(out, "  started:     %s\n", s);
    if ((s = json_string_value(json_object_get(j, "export_completed_at"))))
        fprintf(out, "  completed:   %s\n", s);
    if ((s = json_string_value(json_object_get(j, "export_file_path"))))
        fprintf(out, "  file:        %s\n", s);
    if ((s = json_string_value(json_object_get(j, "export_error"))))
        fprintf(out, "  last error:  %s\n", s);
    fprintf(out, "  events:\n");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e) {
        const char *from = json_string_value(json_object_get(e, "from_state"));
        const char *msg = json_string_value(json_object_get(e, "error_message"));
        fprintf(out, "    %s  %-9s %s -> %s%s%s\n", json_string_value(json_object_get(e, "created_at")),
                json_string_value(json_object_get(e, "event_type")), from ? from : "(new)",
                json_string_value(json_object_get(e, "to_state")), msg ? "  error: " : "", msg ? msg : "");
    }
    json_decref(j);
    return true;
}

bool api_jobs_requeue(PGconn *conn, bool dry_run, FILE *out, int *requeued, awm_error *err)
{
    *requeued = 0;
    /* Pending jobs with no queue job that can still run: missing (deleted after retention or
     * never committed by an older version), failed or cancelled. */
    PGresult *res = db_exec(conn, "cannot find stuck print jobs",
                            "SELECT j.id, pm.id, pm.user_map_id, pm.data::text, um.data::text "
                            "FROM print_jobs j JOIN printable_maps pm ON pm.id = j.printable_map_id "
                            "JOIN user_maps um ON um.id = pm.user_map_id WHERE j.state = 'pending_export' "
                            "ORDER BY j.created_at",
                            0, NULL, err);
    if (!res)
        return false;
    int n = PQntuples(res);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        const char *job_id = PQgetvalue(res, i, 0);
        bool found = false;
        queue_state qs = QUEUE_STATE_FAILED;
        if (!queue_export_job_state(conn, job_id, &found, &qs, err)) {
            ok = false;
            break;
        }
        const char *qstate = found ? queue_state_name(qs) : NULL;
        if (found && qs != QUEUE_STATE_FAILED && qs != QUEUE_STATE_CANCELLED)
            continue; /* queued, running or completed: nothing lost */
        if (dry_run) {
            fprintf(out, "would requeue print job %s (queue job %s)\n", job_id, qstate ? qstate : "missing");
            (*requeued)++;
            continue;
        }
        char qid[QUEUE_ID_LEN];
        ok = queue_send_export(conn, job_id, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 4),
                               PQgetvalue(res, i, 3), qid, err);
        if (ok) {
            fprintf(out, "requeued print job %s (queue job was %s; new queue job %s)\n", job_id,
                    qstate ? qstate : "missing", qid);
            (*requeued)++;
        }
    }
    PQclear(res);
    return ok;
}
