/* queue.h — a job queue in PostgreSQL with the semantics of pg-boss.
 *
 * Two backends behind this one interface (QUEUE_BACKEND, see queue_backend_from_env):
 * - `awm` (default): AWM's own tables, schema `queue`, created by db/migrations/0001_queue.sql.
 * - `pgboss`: the tables of an existing pg-boss installation at schema version 26 (pg-boss
 *   11.1 to 12.5.x; the seed's system pins 12.5.2) in schema PGBOSS_SCHEMA (default pgboss),
 *   read and written with pg-boss 12.5.2's own statements, so AWM workers take the place of
 *   pg-boss's Node workers or work beside them on one queue (pgboss.c says how each call maps).
 * Callers never ask which backend they have; the differences below are marked "pgboss:".
 *
 * Life of a job: send → `created` (or `retry`) → fetch → `active` → complete → `completed`,
 * or fail → `retry` (start_after pushed by the retry delay) until retry_limit retries were
 * used, then `failed` (and a copy goes to the dead-letter queue when one is set).
 * An `active` job whose expiry passes is failed with error "expired" by queue_supervise.
 * cancel → `cancelled`; resume → back to `created`; retry → a `failed` job gets one more try.
 *
 * Claim fence: every fetch gives the fetched jobs a fresh claim token. complete and fail
 * must present it; a worker whose job expired and was fetched again elsewhere gets
 * QUEUE_CLAIM_LOST and changes nothing. (pgboss: the claim is the job's started_on, which
 * every fetch — AWM's or pg-boss's — sets anew, so the fence holds against Node workers too.)
 *
 * Transactions: every call is one SQL statement on the caller's connection, so in
 * autocommit it is atomic by itself, and inside the caller's own BEGIN … COMMIT it commits
 * or rolls back with the caller's rows (queue_send is how the API enqueues an export in the
 * same transaction as its print job). Every statement is parameterised.
 *
 * Wake-ups: queue_send notifies channel QUEUE_NOTIFY_CHANNEL (payload: the queue name) in
 * the same transaction, so a waiter is woken when the job is committed. A queue_listener
 * holds its own LISTEN connection; workers also poll as a fallback. (pgboss: schema 26 has no
 * NOTIFY, pg-boss's own senders never notify; a listener only waits out its timeout and
 * workers poll, as pg-boss's do.)
 *
 * Threads: one PGconn per thread (libpq's rule); a queue_listener belongs to one thread.
 * Connections the server dropped are re-opened on the next call (see db_exec). */
#ifndef AWM_QUEUE_H
#define AWM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "util/util.h"

#define QUEUE_ID_LEN 37                       /* a uuid in text form + NUL */
#define QUEUE_NOTIFY_CHANNEL "awm_queue_job"  /* pg_notify channel; payload = queue name */
#define QUEUE_DEFAULT_POLL_MS 2000            /* fallback polling interval for waiters */
#define QUEUE_EXPORT "export-map"             /* the export queue, created by migration 0001 */

typedef enum {
    QUEUE_STATE_CREATED = 0,
    QUEUE_STATE_RETRY,
    QUEUE_STATE_ACTIVE,
    QUEUE_STATE_COMPLETED,
    QUEUE_STATE_CANCELLED,
    QUEUE_STATE_FAILED,
    QUEUE_STATE_COUNT
} queue_state;

const char *queue_state_name(queue_state s);

/* ---- backends ---------------------------------------------------------------------- */

#define QUEUE_PGBOSS_SCHEMA_VERSION 26        /* the only pg-boss schema version understood */
#define QUEUE_PGBOSS_DEFAULT_SCHEMA "pgboss"

typedef enum { QUEUE_BACKEND_AWM = 0, QUEUE_BACKEND_PGBOSS } queue_backend_kind;

typedef struct {
    queue_backend_kind kind;
    char pgboss_schema[64];   /* PGBOSS_SCHEMA: a lower-case SQL identifier */
} queue_backend_config;

/* Read QUEUE_BACKEND (awm|pgboss, default awm) and PGBOSS_SCHEMA (default pgboss); a bad
 * value is an error naming the variable and what is allowed. */
bool queue_backend_from_env(queue_backend_config *cfg, awm_error *err);
/* Choose the backend for the whole process: call once at start-up, before any thread uses
 * the queue. Until then the `awm` backend is used. */
bool queue_backend_select(const queue_backend_config *cfg, awm_error *err);
/* "awm (schema queue)" or "pgboss (schema pgboss, version 26)", for start-up logs. */
void queue_backend_describe(char *buf, size_t size);
/* At start-up: is the selected backend's schema understood? pgboss: <schema>.version holds
 * 26; a missing schema or any other version is refused, naming what was found and what is
 * supported. Never changes it. awm: always true (its schema comes with `awm migrate`, which
 * may still be running; queue_get_options tells when the queue is there). */
bool queue_backend_check(PGconn *conn, awm_error *err);
/* `awm queue init --pgboss`: create pg-boss 12.5.2's own schema (version 26, exactly as its
 * start() does on an empty database) in `schema`, for installs with no Node at all. Refused
 * when the schema already exists (whatever it holds): AWM never creates over or migrates a
 * pg-boss schema. */
bool queue_pgboss_install(PGconn *conn, const char *schema, awm_error *err);

/* ---- queues ------------------------------------------------------------------------ */

/* A queue's defaults, copied into each job when it is sent. Durations in seconds. */
typedef struct {
    int retry_limit;        /* retries after the first attempt */
    int retry_delay_s;      /* wait before a retry */
    bool retry_backoff;     /* delay × 2^retry_count × (1 + random) — doubling with jitter */
    int retry_delay_max_s;  /* cap of the (backed-off) delay */
    int expire_in_s;        /* an active job not finished within this is failed as "expired" */
    int retention_s;        /* finished jobs are deleted this long after finishing */
    char dead_letter[129];  /* queue that receives a copy of failed jobs; "" = none */
} queue_options;

/* pg-boss's defaults: 2 retries, no delay, no backoff, delay cap 1 h, expiry 15 min,
 * retention 14 days, no dead-letter queue. */
void queue_options_default(queue_options *opts);

/* Create a queue (NULL opts = defaults); an existing queue is left as it is.
 * Names: 1–128 of A–Z a–z 0–9 . _ / -. The dead-letter queue must exist. */
bool queue_create(PGconn *conn, const char *name, const queue_options *opts, awm_error *err);
/* Replace an existing queue's settings (jobs sent earlier keep theirs). */
bool queue_update(PGconn *conn, const char *name, const queue_options *opts, awm_error *err);
/* Read a queue's settings; false with "unknown queue" when it does not exist. */
/* An unknown queue is an error with code AWM_ENOTFOUND. */
bool queue_get_options(PGconn *conn, const char *name, queue_options *out, awm_error *err);

/* ---- sending ----------------------------------------------------------------------- */

/* Per-job overrides; fields left at their init value take the queue's default. */
typedef struct {
    int priority;             /* higher first; default 0 */
    double start_in_s;        /* not before now + this; default 0 */
    const char *singleton_key;/* at most one queued job per key and queue; NULL = none */
    int retry_limit;          /* -1 = queue default (same for the fields below) */
    int retry_delay_s;
    int retry_backoff;        /* -1 default, 0 off, 1 on */
    int retry_delay_max_s;
    int expire_in_s;
    const char *dead_letter;  /* NULL = queue default, "" = none */
} queue_send_options;

void queue_send_options_init(queue_send_options *opts);
/* The options every export job is sent with, as the seed's API sends them: 3 retries, 60 s
 * delay with backoff, expiry 3600 s (SYSTEM.md §4). */
void queue_send_options_export(queue_send_options *opts);

/* Send one job. `data_json` is JSON text (NULL = null). id_out (may be NULL) receives the
 * new job's id, or "" when a queued job with the same singleton key exists (nothing sent).
 * An unknown queue is an error. (pgboss: as the seed's API does, a missing queue is created
 * first with pg-boss's defaults.) */
bool queue_send(PGconn *conn, const char *queue, const char *data_json,
                const queue_send_options *opts, char id_out[QUEUE_ID_LEN], awm_error *err);

/* Send n jobs in one statement with the same options; *sent (may be NULL) = how many were
 * created (fewer when singleton keys collided). Each data is checked to be JSON first.
 * Jobs of one batch are fetched in the order given (at equal priority). */
bool queue_send_batch(PGconn *conn, const char *queue, const char *const *data_json, size_t n,
                      const queue_send_options *opts, size_t *sent, awm_error *err);

/* ---- jobs -------------------------------------------------------------------------- */

typedef struct {
    char id[QUEUE_ID_LEN];
    char claim[QUEUE_ID_LEN];   /* "" unless active */
    char *name;                 /* queue name */
    char *data;                 /* JSON text, NULL when null */
    char *output;               /* JSON text: complete's output or {"message": error}; NULL */
    char *singleton_key;        /* NULL when none */
    char *dead_letter;          /* NULL when none */
    queue_state state;
    int priority;
    int retry_limit, retry_count, retry_delay_s, retry_delay_max_s, expire_in_s;
    bool retry_backoff;
    /* Wall-clock times in ms since the epoch; 0 = not set. */
    int64_t created_on_ms, start_after_ms, started_on_ms, expire_on_ms, completed_on_ms;
} queue_job;

void queue_job_free(queue_job *job);           /* frees the members, not the struct */
void queue_jobs_free(queue_job *jobs, size_t n); /* frees an array from queue_fetch */

/* Fetch up to `batch` jobs of `queue` whose start_after has passed (state created or retry),
 * highest priority first then oldest, with FOR UPDATE SKIP LOCKED so concurrent fetchers
 * never get the same job. They become active with started_on = now, expire_on = now +
 * expire_in and one fresh claim token. *jobs = NULL and *n = 0 when none. */
bool queue_fetch(PGconn *conn, const char *queue, int batch, queue_job **jobs, size_t *n,
                 awm_error *err);

typedef enum {
    QUEUE_OK = 0,
    QUEUE_CLAIM_LOST,   /* not active under this claim any more: nothing was changed */
    QUEUE_NOT_FOUND,    /* no job with this id */
    QUEUE_WRONG_STATE,  /* cancel/resume/retry on a job in a state that does not allow it */
    QUEUE_ERROR         /* database error; err says which */
} queue_result;

/* Finish an active job; output_json may be NULL. */
queue_result queue_complete(PGconn *conn, const char *id, const char *claim,
                            const char *output_json, awm_error *err);
/* Finish several jobs of one fetch (same claim) in one statement; *done = jobs completed
 * (jobs whose claim was lost are skipped). */
bool queue_complete_many(PGconn *conn, const char *const *ids, size_t n, const char *claim,
                         const char *output_json, size_t *done, awm_error *err);
/* For batch workers: complete the jobs of the previous fetch (one claim) and fetch the
 * next batch in one statement — one round trip and one commit per batch instead of two.
 * *done (may be NULL) = jobs completed; the fetched jobs are as from queue_fetch. */
bool queue_complete_and_fetch(PGconn *conn, const char *const *done_ids, size_t n_done,
                              const char *claim, const char *output_json, size_t *done,
                              const char *queue, int batch, queue_job **jobs, size_t *n,
                              awm_error *err);
/* Fail an active job with a message: retry (after the delay) while retries remain, else
 * failed (+ dead-letter copy). *new_state (may be NULL) tells which. */
queue_result queue_fail(PGconn *conn, const char *id, const char *claim, const char *error_message,
                        queue_state *new_state, awm_error *err);
/* Give an active job back without charging an attempt (a worker stopping before it could
 * finish): state `created` (`retry` if it was retried before), start_after = now, retry_count
 * unchanged (pgboss: as before the fetch, so the next fetch counts the attempt once); waiters
 * are woken. Fenced like complete: QUEUE_CLAIM_LOST when the job is not
 * active under this claim (nothing changed), QUEUE_NOT_FOUND when there is no such job. */
queue_result queue_release(PGconn *conn, const char *id, const char *claim, awm_error *err);
/* created/retry/active → cancelled. */
queue_result queue_cancel(PGconn *conn, const char *id, awm_error *err);
/* cancelled → created (start now). */
queue_result queue_resume(PGconn *conn, const char *id, awm_error *err);
/* failed → retry with start_after = now: one more attempt. */
queue_result queue_retry(PGconn *conn, const char *id, awm_error *err);

/* Read a job by id; QUEUE_NOT_FOUND when absent. */
queue_result queue_get(PGconn *conn, const char *id, queue_job *out, awm_error *err);

/* Number of jobs per state in one queue, indexed by queue_state. */
bool queue_counts(PGconn *conn, const char *queue, long counts[QUEUE_STATE_COUNT], awm_error *err);

/* ---- supervision and maintenance ---------------------------------------------------- */

/* Fail every active job whose expiry has passed (error "expired"), with the usual retry and
 * dead-letter rules; *expired (may be NULL) = how many. Any number of processes may run it
 * at once: rows are taken with SKIP LOCKED, so each expired job is handled once. (pgboss:
 * every queue of the schema, pg-boss's output {"value": {"message": "job timed out"}}, under
 * pg-boss's own advisory lock per partition, so it never runs beside a Node process's
 * supervision; the queue statistics pg-boss shows are refreshed too.) */
bool queue_supervise(PGconn *conn, long *expired, awm_error *err);

/* Delete completed, cancelled and failed jobs that finished longer ago than their queue's
 * retention; never touches created, retry or active jobs. *deleted may be NULL. (pgboss:
 * pg-boss's deletion — finished jobs deletion_seconds after completing, and queued jobs past
 * their keep_until — under its advisory lock.) */
bool queue_maintain(PGconn *conn, long *deleted, awm_error *err);

/* ---- waiting for jobs --------------------------------------------------------------- */

typedef struct queue_listener queue_listener;

/* Open a dedicated LISTEN connection. */
queue_listener *queue_listener_open(const char *conninfo, awm_error *err);
void queue_listener_close(queue_listener *l);

typedef enum {
    QUEUE_WAKE_TIMEOUT = 0,   /* nothing arrived: poll anyway (the fallback) */
    QUEUE_WAKE_NOTIFIED,      /* a job was sent to `queue` (or any queue when NULL) */
    QUEUE_WAKE_RECONNECTED    /* the connection was re-opened: notices may be lost, fetch */
} queue_wake;

/* Wait up to timeout_ms for a notification about `queue` (NULL = any queue). Returns at
 * once when one is already pending. A dropped connection is re-opened and LISTENed again
 * (QUEUE_WAKE_RECONNECTED); while the server is unreachable it waits out the timeout. */
queue_wake queue_wait(queue_listener *l, const char *queue, int timeout_ms);

/* The listener's server process id (for tests that cut the connection); 0 when down. */
int queue_listener_backend_pid(const queue_listener *l);

/* ---- the export job: the message on queue `export-map` -------------------------------
 * The one definition of what POST /api/export (and `awm jobs requeue`) sends and what the
 * worker takes:
 *   {"printJobId": uuid, "printableMapId": uuid, "userMapId": uuid,
 *    "userMap": <the map definition as stored>, "printableMap": <the printable map's data>}
 * printableMap = {widthInches, heightInches, paperSizeName?, <map_override_keys>?, format?};
 * its overrides win over the user map.
 * pgboss: the message has the seed's shape, the one the seed's API sends and its Node worker
 * reads: {"printJobId", "printableMapId", "userMapData": <user map>, "printableMapData":
 * <printable map>} (no userMapId). The parser takes either shape. */
typedef struct {
    json_t *root;             /* the whole message (owned) */
    const char *print_job_id; /* a uuid, or NULL when missing or malformed */
    const char *printable_map_id, *user_map_id; /* uuids or NULL (optional fields) */
    json_t *user_map;         /* borrowed from root; objects, or NULL when missing */
    json_t *printable_map;
} queue_export_job;

/* The message text for one export; the two JSON texts are spliced in as they are stored, so the
 * worker renders exactly what the database holds. Caller frees. */
char *queue_export_job_text(const char *print_job_id, const char *printable_map_id, const char *user_map_id,
                            const char *user_map_json, const char *printable_map_json);
/* Send it: with the queue's own settings (awm), or with the seed's options per job
 * (pgboss: queue_send_options_export, as the seed's API sends them). */
bool queue_send_export(PGconn *conn, const char *print_job_id, const char *printable_map_id,
                       const char *user_map_id, const char *user_map_json, const char *printable_map_json,
                       char id_out[QUEUE_ID_LEN], awm_error *err);
/* Read a message. Always fills *out (free it with queue_export_job_free); false, with an
 * AWM_EINVALID error naming the field, when it is not JSON, has no uuid printJobId, or lacks
 * the userMap and printableMap objects (or the seed's userMapData and printableMapData)
 * (out->print_job_id is still set when it was valid, so
 * the failure can be reported against the print job). */
bool queue_export_job_parse(const char *text, queue_export_job *out, awm_error *err);
void queue_export_job_free(queue_export_job *job);
/* The state of the newest export job for this print job; *found = false when there is none
 * (deleted after its retention, or never sent). For `awm jobs requeue`. */
bool queue_export_job_state(PGconn *conn, const char *print_job_id, bool *found, queue_state *state,
                            awm_error *err);
/* Delete every export job carrying this user map, in any state and in any queue (dead letters
 * included): a family's deleted map leaves none of its data in the queue. A worker holding one
 * of them finds its claim lost. *deleted = how many (may be NULL). Runs in the caller's
 * transaction, if any. (A scan of the job table: deletions are rare, and an index on the data
 * would cost every send.) */
bool queue_delete_export_jobs(PGconn *conn, const char *user_map_id, long *deleted, awm_error *err);

#endif
