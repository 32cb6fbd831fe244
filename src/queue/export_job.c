/* export_job.c — the export job's message (queue.h): made by the API, read by the worker. */
#include "queue/queue.h"
#include "queue/queue_internal.h"

#include "db/db.h"

#include <stdlib.h>
#include <string.h>

char *queue_export_job_text(const char *print_job_id, const char *printable_map_id, const char *user_map_id,
                            const char *user_map_json, const char *printable_map_json)
{
    awm_buf b = {0};
    if (queue_backend_current()->seed_export_message)
        awm_buf_printf(&b, "{\"printJobId\":\"%s\",\"printableMapId\":\"%s\","
                           "\"userMapData\":%s,\"printableMapData\":%s}",
                       print_job_id, printable_map_id, user_map_json, printable_map_json);
    else
        awm_buf_printf(&b, "{\"printJobId\":\"%s\",\"printableMapId\":\"%s\",\"userMapId\":\"%s\","
                           "\"userMap\":%s,\"printableMap\":%s}",
                       print_job_id, printable_map_id, user_map_id, user_map_json, printable_map_json);
    return b.data;
}

bool queue_send_export(PGconn *conn, const char *print_job_id, const char *printable_map_id,
                       const char *user_map_id, const char *user_map_json, const char *printable_map_json,
                       char id_out[QUEUE_ID_LEN], awm_error *err)
{
    char *text = queue_export_job_text(print_job_id, printable_map_id, user_map_id, user_map_json,
                                       printable_map_json);
    /* AWM's export queue carries the export settings itself (migration 0001; an operator may
     * change them there). pg-boss's is created with pg-boss's defaults, and the seed's API sends
     * its options with every job: so do we, there. */
    queue_send_options so;
    if (queue_backend_current()->seed_export_message)
        queue_send_options_export(&so);
    else
        queue_send_options_init(&so);
    bool ok = queue_send(conn, QUEUE_EXPORT, text, &so, id_out, err);
    free(text);
    return ok;
}

static const char *uuid_field(json_t *root, const char *key)
{
    const char *s = json_string_value(json_object_get(root, key));
    return awm_is_uuid(s) ? s : NULL;
}

bool queue_export_job_parse(const char *text, queue_export_job *out, awm_error *err)
{
    memset(out, 0, sizeof *out);
    out->root = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(out->root)) {
        awm_error_setc(err, AWM_EINVALID, "invalid job data: not a JSON object");
        return false;
    }
    out->print_job_id = uuid_field(out->root, "printJobId");
    out->printable_map_id = uuid_field(out->root, "printableMapId");
    out->user_map_id = uuid_field(out->root, "userMapId");
    /* Ours, or the seed's keys (what its API sends to pg-boss). */
    json_t *user_map = json_object_get(out->root, "userMap");
    json_t *printable = json_object_get(out->root, "printableMap");
    if (!user_map)
        user_map = json_object_get(out->root, "userMapData");
    if (!printable)
        printable = json_object_get(out->root, "printableMapData");
    out->user_map = json_is_object(user_map) ? user_map : NULL;
    out->printable_map = json_is_object(printable) ? printable : NULL;
    if (!out->print_job_id) {
        awm_error_setc(err, AWM_EINVALID, "invalid job data: printJobId must be a uuid");
        return false;
    }
    if (!out->user_map || !out->printable_map) {
        awm_error_setc(err, AWM_EINVALID, "invalid job data: userMap and printableMap (or the seed's userMapData and "
                                          "printableMapData) must be objects");
        return false;
    }
    return true;
}

void queue_export_job_free(queue_export_job *job)
{
    json_decref(job->root);
    memset(job, 0, sizeof *job);
}

bool queue_delete_export_jobs(PGconn *conn, const char *user_map_id, long *deleted, awm_error *err)
{
    long n = 0;
    bool ok = queue_backend_current()->delete_export_jobs(conn, user_map_id, &n, err);
    if (deleted)
        *deleted = n;
    return ok;
}

bool queue_export_job_state(PGconn *conn, const char *print_job_id, bool *found, queue_state *state, awm_error *err)
{
    *found = false;
    return queue_latest_export_state(conn, queue_backend_current()->job_schema(), print_job_id, found, state, err);
}
