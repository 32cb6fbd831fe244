/* util.h — shared utilities for every part of AWM: error messages, JSON-line logging,
 * files written atomically, environment configuration, clocks and asset paths.
 * Nothing here knows about maps, jobs or HTTP. */
#ifndef AWM_UTIL_H
#define AWM_UTIL_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors ---------------------------------------------------------------
 * Functions that can fail take an `awm_error *` (may be NULL) and return false / -1 / NULL.
 * The message names what was wrong and where, ready to show a user or log; the code says
 * what kind of failure it was, for callers to branch on (as SQLite keeps a result code
 * beside its message). Never decide anything on the message text. */
typedef enum {
    AWM_OK = 0,
    AWM_EFAIL,        /* a failure of no more specific kind */
    AWM_EINVALID,     /* the input is not acceptable: retrying it cannot help */
    AWM_ENOTFOUND,    /* the thing named (a row, a queue, a file, a referenced row) does not exist */
    AWM_ECONFLICT,    /* it exists, but its state does not allow the operation */
    AWM_EUNAVAILABLE, /* a service (database, API, storage) could not be reached or timed out */
    AWM_EIO,          /* a local file or device failed */
} awm_error_code;

typedef struct {
    char msg[1024];
    awm_error_code code; /* AWM_OK until an error is set */
} awm_error;

/* Set the message with a code; awm_error_set(err, fmt, ...) is the same with AWM_EFAIL. */
void awm_error_setc(awm_error *err, awm_error_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define awm_error_set(err, ...) awm_error_setc((err), AWM_EFAIL, __VA_ARGS__)
/* Prefix an existing message: "context: <old message>"; the code is kept. */
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
/* Map a whole file read-only, for large inputs read once (the geography and its caches): the
 * pages come from the page cache, with no copy into fresh memory. An empty file maps to a
 * non-NULL *data of length 0. Undo with awm_unmap_file. */
bool awm_map_file(const char *path, const void **data, size_t *len, awm_error *err);
void awm_unmap_file(const void *data, size_t len);

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
/* snprintf(buf, "<cache dir>/<rel>") for files that can be made again (the decoded geography):
 * the cache dir is $AWM_CACHE_DIR, else $XDG_CACHE_HOME/awm, else $HOME/.cache/awm. False when
 * none of them is set or the path does not fit: then there is no cache. Never the assets. */
bool awm_cache_path(char *buf, size_t size, const char *rel);
/* A cache file starts with a header of `fields` uint64 (native byte order) saying what made
 * it: [0] its format (a magic number), [1] the code that wrote it (a hash of its build-time
 * id), then what it was made from (sizes, mtimes, hashes of the sources). NULL when the data
 * holds the whole header and its first n fields are want[0 .. n); else why the cache is not
 * to be trusted: "truncated header", "another format", "written by another build" or "made
 * from other sources". The caller checks the rest (counts, size, contents). */
const char *awm_cache_header_mismatch(const void *data, size_t len, size_t fields, const uint64_t *want, size_t n);
/* Writes a cache file whole and atomically (awm_atomic_open), making its folder first. */
bool awm_cache_write(const char *path, const void *data, size_t len, awm_error *err);

/* ---- time --------------------------------------------------------------------- */
double awm_now_seconds(void);        /* monotonic */
int64_t awm_wall_ms(void);           /* wall clock, ms since the epoch */
/* "YYYY-MM-DDTHH-MM-SS" (UTC) as used in export file names; buf >= 20 bytes. */
void awm_utc_file_stamp(char *buf, size_t size);
/* The median of n timings (n >= 1; the mean of the middle two when n is even), as the
 * benchmarks report them; sorts v in place. */
double awm_median(double *v, size_t n);

/* ---- processes and threads ------------------------------------------------------------ */
/* Block SIGTERM and SIGINT in the calling thread (threads started afterwards inherit the mask),
 * so the main thread alone takes them with sigwait/sigtimedwait and stops gracefully; ignore
 * SIGPIPE (a peer hanging up must not kill the process). *stop receives the two signals. */
void awm_block_stop_signals(sigset_t *stop);
/* pthread_cond_init on CLOCK_MONOTONIC: timed waits that a wall-clock step cannot stretch. */
void awm_cond_init_monotonic(pthread_cond_t *cond);

/* Memory given back after bursts (glibc): a long-running process with many threads would otherwise
 * keep one malloc arena per thread that ever allocated (8 × cores), each holding its high-water
 * mark. awm_malloc_bound_arenas caps them (API and worker: call before any thread starts;
 * MALLOC_ARENA_MAX in the environment wins); awm_malloc_trim hands free pages back to the system,
 * at most once per min_interval_s (0: always), and is cheap enough to call when a burst ends. */
void awm_malloc_bound_arenas(int arenas);
void awm_malloc_trim(double min_interval_s);

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
/* awm_buf_printf for a function that takes its own format and arguments (ap is consumed). */
void awm_buf_vprintf(awm_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void awm_buf_free(awm_buf *b);
/* A uuid in canonical text form (8-4-4-4-12 hex digits): ids that go into SQL parameters,
 * URL paths and file names are checked with this and nothing else. */
bool awm_is_uuid(const char *s);
/* The CRC-64 (ECMA-182) of len bytes: change detection for caches (whether a source file is
 * the one a cache was made from), not security. */
uint64_t awm_hash64(const void *data, size_t len);
/* Constant-time comparison for secrets (API keys). */
bool awm_secret_equal(const char *a, const char *b);

/* ---- text ------------------------------------------------------------------------ */
/* The well-formed UTF-8 sequence at s (n bytes available): its length in bytes, with its code
 * point in *cp; 0 when malformed (bad or missing continuation byte, overlong form, surrogate,
 * above U+10FFFF), as RFC 3629 and jansson define it. The project's only UTF-8 decoder. */
size_t awm_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* Code point cp as UTF-8 into out: its length (1-4), 0 for a surrogate or a value past U+10FFFF. */
size_t awm_utf8_encode(uint32_t cp, char out[4]);
/* Replace each byte that does not start a well-formed sequence with '?', in place, so text that
 * echoes a client's bytes (or was cut mid-character) can always go into JSON. */
void awm_utf8_sanitize(char *s);
/* The Content-Type for a file name, by its extension (posters, sidecars, web files);
 * application/octet-stream for anything else. */
const char *awm_content_type(const char *name);

/* ---- Prometheus text format (version 0.0.4) --------------------------------------------
 * awm_prom_family(b, "awm_jobs_processed_total", "counter", "Jobs processed.");
 * awm_prom_sample(b, "awm_jobs_processed_total", 12, NULL);
 * awm_prom_sample(b, "awm_queue_jobs", 3, "queue", "export-map", "state", "active", NULL);
 * Labels are key/value string pairs ending with NULL (at most 8); values are escaped. */
#define AWM_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
void awm_prom_family(awm_buf *b, const char *name, const char *type, const char *help);
void awm_prom_sample(awm_buf *b, const char *name, double value, ...) __attribute__((sentinel));
/* A histogram's _bucket lines (cumulative[i] = observations <= bounds[i]; +Inf = count), _sum
 * and _count, with the same labels on each. */
void awm_prom_histogram(awm_buf *b, const char *name, const double *bounds, const uint64_t *cumulative,
                        size_t n_bounds, uint64_t count, double sum, ...) __attribute__((sentinel));

#endif
