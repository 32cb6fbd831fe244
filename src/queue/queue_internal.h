/* queue_internal.h — shared between the queue's source files only: the table each backend
 * fills (queue.c: AWM's own tables; pgboss.c: a pg-boss 12.5.x installation, schema 26) and
 * the checks both use. backend.c implements queue.h's job functions by calling the selected
 * backend's entry, so no caller ever asks which backend it has. */
#ifndef AWM_QUEUE_INTERNAL_H
#define AWM_QUEUE_INTERNAL_H

#include "queue/queue.h"

typedef struct {
    const char *name;
    bool (*check)(PGconn *conn, awm_error *err);
    bool (*create)(PGconn *conn, const char *name, const queue_options *opts, awm_error *err);
    bool (*update)(PGconn *conn, const char *name, const queue_options *opts, awm_error *err);
    bool (*get_options)(PGconn *conn, const char *name, queue_options *out, awm_error *err);
    /* send and send_batch are always given options (backend.c fills in the defaults). */
    bool (*send)(PGconn *conn, const char *queue, const char *data_json, const queue_send_options *opts,
                 char id_out[QUEUE_ID_LEN], awm_error *err);
    bool (*send_batch)(PGconn *conn, const char *queue, const char *const *data_json, size_t n,
                       const queue_send_options *opts, size_t *sent, awm_error *err);
    bool (*fetch)(PGconn *conn, const char *queue, int batch, queue_job **jobs, size_t *n, awm_error *err);
    queue_result (*complete)(PGconn *conn, const char *id, const char *claim, const char *output_json,
                             awm_error *err);
    bool (*complete_many)(PGconn *conn, const char *const *ids, size_t n, const char *claim,
                          const char *output_json, size_t *done, awm_error *err);
    bool (*complete_and_fetch)(PGconn *conn, const char *const *done_ids, size_t n_done, const char *claim,
                               const char *output_json, size_t *done, const char *queue, int batch,
                               queue_job **jobs, size_t *n, awm_error *err);
    queue_result (*fail)(PGconn *conn, const char *id, const char *claim, const char *error_message,
                         queue_state *new_state, awm_error *err);
    queue_result (*release)(PGconn *conn, const char *id, const char *claim, awm_error *err);
    queue_result (*cancel)(PGconn *conn, const char *id, awm_error *err);
    queue_result (*resume)(PGconn *conn, const char *id, awm_error *err);
    queue_result (*retry)(PGconn *conn, const char *id, awm_error *err);
    queue_result (*get)(PGconn *conn, const char *id, queue_job *out, awm_error *err);
    bool (*counts)(PGconn *conn, const char *queue, long counts[QUEUE_STATE_COUNT], awm_error *err);
    bool (*supervise)(PGconn *conn, long *expired, awm_error *err);
    bool (*maintain)(PGconn *conn, long *deleted, awm_error *err);
    /* queue_delete_export_jobs: every export job of this user map, in any queue and state. */
    bool (*delete_export_jobs)(PGconn *conn, const char *user_map_id, long *deleted, awm_error *err);
    /* The schema of the backend's job table, where queue_export_job_state looks
     * (queue_latest_export_state). */
    const char *(*job_schema)(void);
    bool notifies;  /* sends NOTIFY on QUEUE_NOTIFY_CHANNEL; else a listener only times out */
    bool seed_export_message; /* export jobs as the seed sends them: its shape (userMapData,
                               * printableMapData) and its options on each job */
} queue_backend_ops;

extern const queue_backend_ops queue_backend_awm;
extern const queue_backend_ops queue_backend_pgboss;

/* The backend chosen by queue_backend_select (AWM's own until then). */
const queue_backend_ops *queue_backend_current(void);
/* A schema name pg-boss and we both write unquoted: a lower-case identifier (PGBOSS_SCHEMA). */
bool queue_valid_schema(const char *s, awm_error *err);
/* The pgboss backend's schema name (validated identifier). */
const char *queue_pgboss_schema(void);

queue_state queue_state_from_name(const char *s);
/* The state of the newest export-map job in <schema>.job whose message names this print job
 * (queue_export_job_state, with the backend's job_schema):
 * both backends' tables have that layout (name, data, state, created_on). */
bool queue_latest_export_state(PGconn *conn, const char *schema, const char *print_job_id, bool *found,
                               queue_state *state, awm_error *err);
/* A job from a result row whose 20 job columns start at `offset`, in the order of queue.c's
 * JOB_COLUMNS: id, claim, name, data, output, singleton_key, dead_letter, state, priority,
 * retry_limit, retry_count, retry_delay, retry_delay_max, expire_in, retry_backoff, then
 * created_on, start_after, started_on, expire_on, completed_on in ms since the epoch. */
void queue_job_from_row(const PGresult *res, int row, int offset, queue_job *j);
bool queue_valid_name(const char *name, awm_error *err);
/* What both backends refuse in a sender's options: expire_in 0, start_in outside 0…1e9 s
 * (each backend then checks the dead-letter queue by its own rule). */
bool queue_check_send_options(const char *queue, const queue_send_options *o, awm_error *err);
bool queue_valid_job_id(const char *id, awm_error *err);
/* "{id,id,…}", a uuid[] parameter for both backends' statements, into *out (freed on failure).
 * Each id is checked to be a uuid, so none holds a quote, comma or brace that could change the
 * array. */
/* A queue's settings from a one-row result with the columns retry_limit, retry_delay,
 * retry_backoff, retry_delay_max, expire_in, retention, dead_letter (both backends' tables
 * hold them, under their own names); false when there is no row. */
bool queue_options_from_result(const PGresult *res, queue_options *out);
/* A queue's settings as the text parameters of both backends' statements: $1 the name, then
 * $2…$8 retry_limit, retry_delay, retry_backoff, retry_delay_max, expire_in, retention and
 * dead_letter (NULL when there is none). Every value fits its buffer: an int in 16. */
typedef struct {
    char buf[6][16];
    const char *params[8];
} queue_option_params;
void queue_option_params_fill(queue_option_params *p, const char *name, const queue_options *o);
/* Run `sql`, an UPDATE of one queue's settings taking queue_option_params; false with
 * AWM_ENOTFOUND ("<what>: unknown queue") when no queue has that name. The caller has
 * checked the name and settings. */
bool queue_update_options(PGconn *conn, const char *what, const char *sql, const char *name,
                          const queue_options *o, awm_error *err);
/* Read one queue's settings with `sql` ($1 the name; the columns queue_options_from_result
 * reads); false with AWM_ENOTFOUND ("<what>: unknown queue") when there is no row. */
bool queue_read_options(PGconn *conn, const char *what, const char *sql, const char *name,
                        queue_options *out, awm_error *err);
/* Job counts by state from `sql` ($1 the queue; rows of state::text, count) into counts
 * (already zeroed). */
bool queue_read_counts(PGconn *conn, const char *what, const char *sql, const char *queue,
                       long counts[QUEUE_STATE_COUNT], awm_error *err);
/* One job by id from `sql` ($1 the id; the columns of queue_job_from_row at offset 0):
 * QUEUE_OK, QUEUE_NOT_FOUND when there is no row, or QUEUE_ERROR with err. */
queue_result queue_read_job(PGconn *conn, const char *what, const char *sql, const char *id, queue_job *out,
                            awm_error *err);
bool queue_uuid_array(const char *const *ids, size_t n, awm_buf *out, awm_error *err);

#endif
