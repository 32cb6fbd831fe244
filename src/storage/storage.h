/* storage.h — where finished posters go: a directory (local disk, NFS, a Docker volume) or an
 * S3-compatible bucket (AWS S3, MinIO, ...; requests SigV4 signed).
 *
 *   storage_config cfg;
 *   if (!storage_config_from_env(&cfg, &err)) ...          // STORAGE, EXPORT_DIR, S3_*, AWS_*
 *   storage *st = storage_new(&cfg, &err);
 *   char desc[512]; storage_describe(st, desc, sizeof desc); // for start-up logs; no secret in it
 *   if (!storage_check(st, &err)) ...                       // writable dir / bucket reachable
 *   char *where = storage_put_file(st, "/tmp/x.png", "map-42.png", "image/png", &err);
 *   ...
 *   storage_free(st);
 *
 * Object names are plain file names: only [A-Za-z0-9._-], no leading dot, no "..", at most
 * STORAGE_NAME_MAX bytes (storage_name_valid). Every function refuses anything else, so a name
 * taken from a URL can never reach outside EXPORT_DIR or the bucket prefix.
 *
 * Locations returned by storage_put_file:
 *   local: the final path, "<EXPORT_DIR>/<name>"
 *   s3:    "s3://<bucket>/<S3_PREFIX>/<name>" (no prefix: "s3://<bucket>/<name>")
 * Either way the object's name is the location's last path component.
 *
 * S3 addressing: with S3_ENDPOINT (http[s]://host[:port], for S3-compatible servers) requests
 * go path-style to <endpoint>/<bucket>/<key>; without it, virtual-hosted AWS style to
 * https://<bucket>.s3.<region>.amazonaws.com/<key> (us-east-1: <bucket>.s3.amazonaws.com;
 * bucket names containing dots use path style on s3.<region>.amazonaws.com, as TLS
 * certificates do not cover them).
 *
 * A storage handle holds no connection and no mutable state after storage_new: its functions
 * may be called from several threads at once. */
#ifndef AWM_STORAGE_H
#define AWM_STORAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "util/util.h"

#define STORAGE_NAME_MAX 200

typedef enum { STORAGE_LOCAL = 0, STORAGE_S3 } storage_kind;

typedef struct {
    storage_kind kind;
    char export_dir[1024];        /* local: EXPORT_DIR (default /app/exports), no trailing '/' */
    /* s3 */
    char bucket[64];              /* S3_BUCKET */
    char region[64];              /* S3_REGION, default us-east-1 */
    char endpoint[512];           /* S3_ENDPOINT, "" = AWS; scheme://host[:port], no trailing '/' */
    char prefix[512];             /* S3_PREFIX, "" or "a/b" (no leading or trailing '/') */
    char access_key_id[128];      /* AWS_ACCESS_KEY_ID */
    char secret_access_key[128];  /* AWS_SECRET_ACCESS_KEY — never logged or described */
    /* S3 request policy (not from the environment; tests shorten them) */
    int attempts;                 /* tries per request for network errors and 5xx; default 4 */
    long retry_delay_ms;          /* first back-off delay, doubled per retry; default 500 */
    long connect_timeout_s;       /* default 10 */
    long request_timeout_s;       /* whole request, upload included; default 900 */
} storage_config;

/* Defaults (local, /app/exports, us-east-1, request policy). */
void storage_config_defaults(storage_config *cfg);

/* Read STORAGE (local|s3), EXPORT_DIR, S3_BUCKET, S3_REGION, S3_ENDPOINT, S3_PREFIX,
 * AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. Anything missing or malformed is an error
 * naming the variable. Variables of the other kind are ignored. */
bool storage_config_from_env(storage_config *cfg, awm_error *err);

typedef struct storage storage;

/* Validates the config again (it may not come from the environment). Does no I/O. */
storage *storage_new(const storage_config *cfg, awm_error *err);
void storage_free(storage *st);

storage_kind storage_get_kind(const storage *st);

/* One line for start-up logs, e.g. "local directory /app/exports" or
 * "s3 bucket b (prefix p/, region us-east-1, endpoint http://127.0.0.1:9000, path-style,
 * access key AKIA…)" — the access key id is shown, the secret never. */
void storage_describe(const storage *st, char *buf, size_t size);

/* Prove the storage is usable. local: EXPORT_DIR is created when missing and must be a
 * writable directory (a temp file is created and removed). s3: a small probe object is PUT
 * (signed; proves reachability, credentials and write permission) and deleted again. */
bool storage_check(storage *st, awm_error *err);

/* Store a finished local file under `name`; returns the location (see above; caller frees)
 * or NULL. On success the source file is consumed: local storage moves it into place
 * atomically (rename on the same filesystem, else copy to a temp name + fsync + rename;
 * mode 0644); S3 uploads it (streamed, ETag checked against the MD5 computed while
 * streaming) and then removes it. On failure the source is left in place. An existing object
 * of the same name is replaced. */
char *storage_put_file(storage *st, const char *local_path, const char *name,
                       const char *content_type, awm_error *err);

/* Remove the object `name` (a file in EXPORT_DIR, or the object in the bucket); one that is not
 * there is no error. Used when a family deletes its map: nothing of it may stay. */
bool storage_delete(storage *st, const char *name, awm_error *err);

/* S3 only: a presigned GET URL (SigV4 query string) valid for `expires_s` seconds
 * (1..604800). Pure computation: no request is made, so the object may not exist. */
char *storage_presign_get(const storage *st, const char *name, long expires_s, awm_error *err);
/* The same, signed as if at time `now` (tests, and AWS's published example). */
char *storage_presign_get_at(const storage *st, const char *name, long expires_s, time_t now,
                             awm_error *err);

/* Local only: open "<EXPORT_DIR>/<name>" for reading (O_NOFOLLOW, a regular file only).
 * Returns the fd (caller closes) and its size, or -1 with *not_found true when the name is
 * invalid or there is no such file (a 404), false for any other failure (a 500). */
int storage_open_local(const storage *st, const char *name, uint64_t *size, bool *not_found,
                       awm_error *err);

/* Only [A-Za-z0-9._-], 1..STORAGE_NAME_MAX bytes, no leading '.', no "..". */
bool storage_name_valid(const char *name, awm_error *err);

/* ---- export file names (MAPS-AND-PRINT.md §6) -------------------------------------------
 * A finished poster is stored as "<UTC YYYY-MM-DDTHH-MM-SS>_<printJobId>.<ext>" (the seed's
 * worker names its files the same way), ext one of png, pdf, svg (and json for the DEBUG_MODE
 * sidecar). These two functions are the only place that knows the form: the worker makes
 * names, the API's download route parses them. */
#define STORAGE_EXPORT_NAME_LEN 61 /* 19 + "_" + 36 + "." + at most 4 */
/* The name for print_job_id (a uuid) at at_ms (ms since the epoch; 0 = now). The worker passes
 * the queue job's creation time, so every attempt at a job stores under the same name: a retry
 * after a `complete` that did not get through replaces the earlier file instead of adding a
 * second poster. false when the id is not a uuid or ext not one of the four. */
bool storage_export_name(char buf[STORAGE_EXPORT_NAME_LEN + 1], const char *print_job_id, int64_t at_ms,
                         const char *ext);
/* true when name has exactly that form (nothing else — no '/', "..", NUL or encoded variant —
 * can match); the print job id and the extension (without the dot) are copied out when wanted. */
bool storage_export_name_parse(const char *name, char print_job_id[37], char ext[5]);

#endif
