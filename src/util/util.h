/* util.h — shared utilities for every part of AWM: error messages, JSON-line logging,
 * files written atomically, environment configuration, clocks and asset paths.
 * Nothing here knows about maps, jobs or HTTP. */
#ifndef AWM_UTIL_H
#define AWM_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ---------------------------------------------------------------
 * Functions that can fail take an `awm_error *` (may be NULL) and return false / -1 / NULL.
 * The message names what was wrong and where, ready to show a user or log. */
typedef struct {
    char msg[1024];
} awm_error;

void awm_error_set(awm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "context: <old message>". */
void awm_error_prefix(awm_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- logging: one JSON object per line on stderr ---------------------------
 * awm_log(AWM_LOG_INFO, "JOB_START", "{s:s, s:i}", "jobId", id, "attempt", n);
 * The format is jansson's json_pack format for the extra fields (NULL for none);
 * every line also carries "ts" (UTC, ms), "level", "event" and "component". */
typedef enum { AWM_LOG_DEBUG = 0, AWM_LOG_INFO, AWM_LOG_WARN, AWM_LOG_ERROR } awm_log_level;

void awm_log_init(const char *component); /* reads LOG_LEVEL (debug|info|warn|error) */
void awm_log_set_level(awm_log_level level);
bool awm_log_enabled(awm_log_level level);
void awm_log(awm_log_level level, const char *event, const char *fields_fmt, ...);
void awm_logv(awm_log_level level, const char *event, const char *fields_fmt, va_list ap);

/* ---- files ---------------------------------------------------------------- */
/* Read a whole file; *data is NUL-terminated (not counted in *len). Caller frees. */
bool awm_read_file(const char *path, char **data, size_t *len, awm_error *err);

/* Atomic file creation: write to a hidden temp file in the target's directory, then
 * fsync + rename onto the final name, so a reader never sees a half-written file.
 * On any failure (or abort) the temp file is removed. */
typedef struct {
    FILE *fp;
    char final_path[4096];
    char temp_path[4096];
} awm_atomic_file;

bool awm_atomic_open(awm_atomic_file *f, const char *final_path, awm_error *err);
bool awm_atomic_commit(awm_atomic_file *f, awm_error *err);
void awm_atomic_abort(awm_atomic_file *f);
/* Remove every temp file still registered in this process (called from a fatal signal
 * handler path or atexit so an interrupted render leaves nothing behind). */
void awm_atomic_cleanup_all(void);
/* The prefix temp files carry, so sweepers and tests can recognise strays. */
#define AWM_TEMP_PREFIX ".awm-tmp-"

bool awm_mkdir_p(const char *path, awm_error *err);

/* ---- environment ------------------------------------------------------------
 * Every NAME may also be given as NAME_FILE, the path of a file holding the value (Docker
 * secrets; trailing line breaks removed, at most AWM_ENV_FILE_MAX bytes). */
#define AWM_ENV_FILE_MAX 65536
/* Value of NAME (or NAME_FILE's contents), or `fallback` when unset or empty. */
const char *awm_env_str(const char *name, const char *fallback);
/* false, with the first problem, when a NAME_FILE read so far could not be read, or both NAME
 * and NAME_FILE were set. Configuration readers call it after their lookups. */
bool awm_env_files_ok(awm_error *err);
/* Integer in [min, max]; unset/empty gives `fallback`; anything else is an error naming the variable. */
bool awm_env_long(const char *name, long fallback, long min, long max, long *out, awm_error *err);
/* true|false|1|0|yes|no (case-insensitive). */
bool awm_env_bool(const char *name, bool fallback, bool *out, awm_error *err);

/* Directory holding the run-time assets (assets/node_modules/..., db/migrations, web/):
 * $AWM_ASSETS_DIR, else the build's configured default. Never ends in '/'. */
const char *awm_assets_dir(void);
/* snprintf(buf, "<assets_dir>/<rel>"); false when it does not fit. */
bool awm_asset_path(char *buf, size_t size, const char *rel);

/* ---- time --------------------------------------------------------------------- */
double awm_now_seconds(void);        /* monotonic */
int64_t awm_wall_ms(void);           /* wall clock, ms since the epoch */
/* "YYYY-MM-DDTHH-MM-SS" (UTC) as used in export file names; buf >= 20 bytes. */
void awm_utc_file_stamp(char *buf, size_t size);

/* ---- strings ------------------------------------------------------------------- */
/* strdup that aborts on out-of-memory: allocation failure of a few bytes is not recoverable. */
char *awm_strdup(const char *s);
void *awm_xmalloc(size_t n);
void *awm_xcalloc(size_t count, size_t size);
void *awm_xrealloc(void *p, size_t n);
/* Growable byte buffer. */
typedef struct {
    char *data;
    size_t len, cap;
} awm_buf;
void awm_buf_append(awm_buf *b, const void *data, size_t n);
void awm_buf_printf(awm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void awm_buf_free(awm_buf *b);
/* A uuid in canonical text form (8-4-4-4-12 hex digits): ids that go into SQL parameters,
 * URL paths and file names are checked with this and nothing else. */
bool awm_is_uuid(const char *s);
/* Constant-time comparison for secrets (API keys). */
bool awm_secret_equal(const char *a, const char *b);

#endif
