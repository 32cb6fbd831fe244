/* storage.c — configuration, object names, and the local-directory backend (see storage.h).
 * The S3 backend lives in s3.c. */
#include "storage/storage_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- configuration ------------------------------------------------------------------------ */

void storage_config_defaults(storage_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = STORAGE_LOCAL;
    snprintf(cfg->export_dir, sizeof cfg->export_dir, "/app/exports");
    snprintf(cfg->region, sizeof cfg->region, "us-east-1");
    cfg->attempts = 4;
    cfg->retry_delay_ms = 500;
    cfg->connect_timeout_s = 10;
    cfg->request_timeout_s = 900;
}

/* Copy an environment variable into a fixed field; too long is an error naming it.
 * `secret` keeps the value out of the message. */
static bool env_copy(const char *var, const char *fallback, char *dst, size_t size, bool secret,
                     awm_error *err)
{
    const char *v = awm_env_str(var, fallback);
    if (strlen(v) >= size) {
        if (secret)
            awm_error_set(err, "%s is too long (at most %zu characters)", var, size - 1);
        else
            awm_error_set(err, "%s \"%.80s...\" is too long (at most %zu characters)", var, v,
                          size - 1);
        return false;
    }
    snprintf(dst, size, "%s", v);
    return true;
}

static bool all_chars_in(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return false;
    return true;
}

/* Strip trailing '/' (keeping a lone "/"). */
static void strip_trailing_slashes(char *s)
{
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/')
        s[--n] = '\0';
}

/* S3_PREFIX: '/'-separated segments of [A-Za-z0-9._-], none empty, "." or "..";
 * leading and trailing '/' are dropped. */
static bool normalise_prefix(char *prefix, awm_error *err)
{
    char *start = prefix;
    while (*start == '/')
        start++;
    memmove(prefix, start, strlen(start) + 1);
    size_t n = strlen(prefix);
    while (n > 0 && prefix[n - 1] == '/')
        prefix[--n] = '\0';
    if (!n)
        return true;
    if (!all_chars_in(prefix, "._-/")) {
        awm_error_set(err, "S3_PREFIX \"%s\": only letters, digits, '.', '_', '-' and '/' are allowed",
                      prefix);
        return false;
    }
    for (const char *seg = prefix; seg;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2))) {
            awm_error_set(err, "S3_PREFIX \"%s\": empty, \".\" or \"..\" path segment", prefix);
            return false;
        }
        seg = slash ? slash + 1 : NULL;
    }
    return true;
}

/* S3_ENDPOINT: http[s]://host[:port] with an optional trailing '/', nothing else (no path,
 * user info or query: the bucket is appended path-style). */
static bool check_endpoint(char *endpoint, awm_error *err)
{
    strip_trailing_slashes(endpoint);
    const char *rest = NULL;
    if (!strncmp(endpoint, "http://", 7))
        rest = endpoint + 7;
    else if (!strncmp(endpoint, "https://", 8))
        rest = endpoint + 8;
    if (!rest) {
        awm_error_set(err, "S3_ENDPOINT \"%s\": must start with http:// or https://", endpoint);
        return false;
    }
    if (!*rest || !all_chars_in(rest, ".-:[]")) {
        awm_error_set(err,
                      "S3_ENDPOINT \"%s\": expected scheme://host[:port] (no path, user or query)",
                      endpoint);
        return false;
    }
    return true;
}

static bool check_config(storage_config *cfg, awm_error *err)
{
    if (cfg->kind == STORAGE_LOCAL) {
        strip_trailing_slashes(cfg->export_dir);
        if (!cfg->export_dir[0]) {
            awm_error_set(err, "EXPORT_DIR is empty");
            return false;
        }
        return true;
    }
    if (cfg->kind != STORAGE_S3) {
        awm_error_set(err, "STORAGE: unknown kind %d", (int)cfg->kind);
        return false;
    }
    /* AWS bucket naming rules (the subset that matters for URLs and signing). */
    size_t blen = strlen(cfg->bucket);
    if (!blen) {
        awm_error_set(err, "S3_BUCKET is required when STORAGE=s3");
        return false;
    }
    if (blen < 3 || blen > 63 || !all_chars_in(cfg->bucket, ".-") ||
        !isalnum((unsigned char)cfg->bucket[0]) || !isalnum((unsigned char)cfg->bucket[blen - 1]) ||
        strstr(cfg->bucket, "..")) {
        awm_error_set(err,
                      "S3_BUCKET \"%s\": a bucket name is 3 to 63 lowercase letters, digits, '.' "
                      "and '-', starting and ending with a letter or digit",
                      cfg->bucket);
        return false;
    }
    for (const char *p = cfg->bucket; *p; p++)
        if (isupper((unsigned char)*p)) {
            awm_error_set(err, "S3_BUCKET \"%s\": bucket names are lowercase", cfg->bucket);
            return false;
        }
    if (!cfg->region[0] || !all_chars_in(cfg->region, "-")) {
        awm_error_set(err, "S3_REGION \"%s\": expected a region name such as us-east-1",
                      cfg->region);
        return false;
    }
    if (cfg->endpoint[0] && !check_endpoint(cfg->endpoint, err))
        return false;
    if (!normalise_prefix(cfg->prefix, err))
        return false;
    if (!cfg->access_key_id[0]) {
        awm_error_set(err, "AWS_ACCESS_KEY_ID is required when STORAGE=s3");
        return false;
    }
    if (!all_chars_in(cfg->access_key_id, "._-+/=")) {
        awm_error_set(err, "AWS_ACCESS_KEY_ID \"%s\": unexpected characters", cfg->access_key_id);
        return false;
    }
    if (!cfg->secret_access_key[0]) {
        awm_error_set(err, "AWS_SECRET_ACCESS_KEY is required when STORAGE=s3");
        return false;
    }
    for (const char *p = cfg->secret_access_key; *p; p++)
        if (!isgraph((unsigned char)*p)) {
            awm_error_set(err, "AWS_SECRET_ACCESS_KEY contains spaces or control characters");
            return false;
        }
    if (cfg->attempts < 1 || cfg->attempts > 20 || cfg->retry_delay_ms < 0 ||
        cfg->connect_timeout_s < 1 || cfg->request_timeout_s < 1) {
        awm_error_set(err, "storage: bad S3 request policy (attempts %d, delay %ld ms, timeouts %ld/%ld s)",
                      cfg->attempts, cfg->retry_delay_ms, cfg->connect_timeout_s,
                      cfg->request_timeout_s);
        return false;
    }
    return true;
}

bool storage_config_from_env(storage_config *cfg, awm_error *err)
{
    storage_config_defaults(cfg);
    const char *kind = awm_env_str("STORAGE", "local");
    if (!strcasecmp(kind, "local")) {
        cfg->kind = STORAGE_LOCAL;
        if (!env_copy("EXPORT_DIR", "/app/exports", cfg->export_dir, sizeof cfg->export_dir, false,
                      err))
            return false;
    } else if (!strcasecmp(kind, "s3")) {
        cfg->kind = STORAGE_S3;
        if (!env_copy("S3_BUCKET", "", cfg->bucket, sizeof cfg->bucket, false, err) ||
            !env_copy("S3_REGION", "us-east-1", cfg->region, sizeof cfg->region, false, err) ||
            !env_copy("S3_ENDPOINT", "", cfg->endpoint, sizeof cfg->endpoint, false, err) ||
            !env_copy("S3_PREFIX", "", cfg->prefix, sizeof cfg->prefix, false, err) ||
            !env_copy("AWS_ACCESS_KEY_ID", "", cfg->access_key_id, sizeof cfg->access_key_id,
                      false, err) ||
            !env_copy("AWS_SECRET_ACCESS_KEY", "", cfg->secret_access_key,
                      sizeof cfg->secret_access_key, true, err))
            return false;
    } else {
        awm_error_set(err, "STORAGE \"%.80s\": must be local or s3", kind);
        return false;
    }
    return check_config(cfg, err);
}

/* ---- handle ------------------------------------------------------------------------------- */

storage *storage_new(const storage_config *cfg, awm_error *err)
{
    storage *st = awm_xcalloc(1, sizeof *st);
    st->cfg = *cfg;
    if (!check_config(&st->cfg, err) ||
        (st->cfg.kind == STORAGE_S3 && !s3_init_addressing(st, err))) {
        storage_free(st);
        return NULL;
    }
    return st;
}

void storage_free(storage *st)
{
    if (!st)
        return;
    /* The secret should not linger in freed heap memory. */
    explicit_bzero(st->cfg.secret_access_key, sizeof st->cfg.secret_access_key);
    free(st);
}

storage_kind storage_get_kind(const storage *st)
{
    return st->cfg.kind;
}

void storage_describe(const storage *st, char *buf, size_t size)
{
    const storage_config *c = &st->cfg;
    if (c->kind == STORAGE_LOCAL) {
        snprintf(buf, size, "local directory %s", c->export_dir);
        return;
    }
    snprintf(buf, size, "s3 bucket %s (prefix %s%s, region %s, %s%s, %s, access key %s)", c->bucket,
             c->prefix[0] ? c->prefix : "(none)", c->prefix[0] ? "/" : "", c->region,
             c->endpoint[0] ? "endpoint " : "AWS ", st->origin,
             st->path_style ? "path-style" : "virtual-hosted", c->access_key_id);
}

bool storage_object_key(const storage *st, const char *name, char *key, size_t size)
{
    int n = st->cfg.prefix[0] ? snprintf(key, size, "%s/%s", st->cfg.prefix, name)
                              : snprintf(key, size, "%s", name);
    return n >= 0 && (size_t)n < size;
}

/* ---- names ------------------------------------------------------------------------------- */

bool storage_name_valid(const char *name, awm_error *err)
{
    if (!name || !name[0]) {
        awm_error_set(err, "storage: empty object name");
        return false;
    }
    size_t n = strlen(name);
    if (n > STORAGE_NAME_MAX) {
        awm_error_set(err, "storage: object name is too long (%zu bytes, at most %d)", n,
                      STORAGE_NAME_MAX);
        return false;
    }
    /* Printed with %.*s over at most 60 bytes of the (possibly hostile) name, after the
     * character check so no control character reaches a log. */
    if (!all_chars_in(name, "._-")) {
        awm_error_set(err, "storage: object name has characters other than A-Z a-z 0-9 . _ -");
        return false;
    }
    if (name[0] == '.' || strstr(name, "..")) {
        awm_error_set(err, "storage: object name \"%.60s\" starts with '.' or contains \"..\"", name);
        return false;
    }
    return true;
}

/* ---- local directory ------------------------------------------------------------------------ */

static bool local_path(const storage *st, const char *name, char *path, size_t size, awm_error *err)
{
    if (snprintf(path, size, "%s/%s", st->cfg.export_dir, name) >= (int)size) {
        awm_error_set(err, "EXPORT_DIR %s: path for %s is too long", st->cfg.export_dir, name);
        return false;
    }
    return true;
}

/* After a rename the directory entry is only durable once the directory itself is synced. */
static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static bool local_check(storage *st, awm_error *err)
{
    const char *dir = st->cfg.export_dir;
    if (!awm_mkdir_p(dir, err)) {
        awm_error_prefix(err, "EXPORT_DIR %s", dir);
        return false;
    }
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/" AWM_TEMP_PREFIX "check.XXXXXX", dir);
    int fd = mkostemp(probe, O_CLOEXEC);
    if (fd < 0) {
        awm_error_set(err, "EXPORT_DIR %s: cannot create a file in it: %s", dir, strerror(errno));
        return false;
    }
    bool ok = write(fd, "x", 1) == 1;
    int saved = errno;
    close(fd);
    unlink(probe);
    if (!ok) {
        awm_error_set(err, "EXPORT_DIR %s: cannot write a file in it: %s", dir, strerror(saved));
        return false;
    }
    return true;
}

/* Different filesystems: copy into a hidden temp file next to the target (awm_atomic_*,
 * mode 0644, fsync), then rename onto the final name. */
static bool local_copy(int src_fd, const char *src, const char *dest, awm_error *err)
{
    awm_atomic_file af;
    if (!awm_atomic_open(&af, dest, err))
        return false;
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(src_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            awm_error_set(err, "cannot read %s: %s", src, strerror(errno));
            awm_atomic_abort(&af);
            return false;
        }
        if (n == 0)
            break;
        if (fwrite(buf, 1, (size_t)n, af.fp) != (size_t)n) {
            awm_error_set(err, "cannot write %s: %s", af.temp_path, strerror(errno));
            awm_atomic_abort(&af);
            return false;
        }
    }
    return awm_atomic_commit(&af, err);
}

static char *local_put(storage *st, const char *src, const char *name, awm_error *err)
{
    char dest[1400];
    if (!local_path(st, name, dest, sizeof dest, err))
        return NULL;
    /* O_NOFOLLOW: rename would move a symlink itself into EXPORT_DIR, where downloads
     * (which never follow links) could not serve it. */
    int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        awm_error_set(err, "storage: cannot read %s: %s", src,
                      fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    /* The file becomes visible under its final name by rename; make its content durable
     * first, and readable by the API server (which may run as another user). */
    if (fsync(fd) != 0 || fchmod(fd, 0644) != 0) {
        awm_error_set(err, "storage: cannot sync %s: %s", src, strerror(errno));
        close(fd);
        return NULL;
    }
    if (rename(src, dest) == 0) {
        close(fd);
        fsync_dir(st->cfg.export_dir);
        return awm_strdup(dest);
    }
    if (errno != EXDEV) {
        awm_error_set(err, "storage: cannot move %s to %s: %s", src, dest, strerror(errno));
        close(fd);
        return NULL;
    }
    bool ok = local_copy(fd, src, dest, err);
    close(fd);
    if (!ok) {
        awm_error_prefix(err, "storage: EXPORT_DIR %s", st->cfg.export_dir);
        return NULL;
    }
    fsync_dir(st->cfg.export_dir);
    unlink(src);
    return awm_strdup(dest);
}

int storage_open_local(const storage *st, const char *name, uint64_t *size, bool *not_found,
                       awm_error *err)
{
    *not_found = false;
    *size = 0;
    if (st->cfg.kind != STORAGE_LOCAL) {
        awm_error_set(err, "storage_open_local: storage is s3, not local");
        return -1;
    }
    if (!storage_name_valid(name, err)) {
        *not_found = true;
        return -1;
    }
    char path[1400];
    if (!local_path(st, name, path, sizeof path, err))
        return -1;
    /* O_NONBLOCK: opening a FIFO (or a device) named like an export must not wait for a writer;
     * fstat then refuses anything but a regular file. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        *not_found = errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == ENXIO;
        awm_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        *not_found = true;
        awm_error_set(err, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    *size = (uint64_t)sb.st_size;
    return fd;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

bool storage_check(storage *st, awm_error *err)
{
    return st->cfg.kind == STORAGE_LOCAL ? local_check(st, err) : s3_check(st, err);
}

char *storage_put_file(storage *st, const char *local_path_, const char *name,
                       const char *content_type, awm_error *err)
{
    if (!storage_name_valid(name, err))
        return NULL;
    if (st->cfg.kind == STORAGE_LOCAL)
        return local_put(st, local_path_, name, err);
    return s3_put_file(st, local_path_, name, content_type ? content_type : "application/octet-stream",
                       err);
}

bool storage_delete(storage *st, const char *name, awm_error *err)
{
    if (!storage_name_valid(name, err))
        return false;
    if (st->cfg.kind == STORAGE_S3)
        return s3_delete(st, name, err);
    char path[2048];
    if (!local_path(st, name, path, sizeof path, err))
        return false;
    if (unlink(path) != 0 && errno != ENOENT) {
        awm_error_setc(err, AWM_EIO, "cannot delete %s: %s", path, strerror(errno));
        return false;
    }
    fsync_dir(st->cfg.export_dir); /* the removal survives a crash, as a put does */
    return true;
}

char *storage_presign_get_at(const storage *st, const char *name, long expires_s, time_t now,
                             awm_error *err)
{
    if (st->cfg.kind != STORAGE_S3) {
        awm_error_set(err, "storage_presign_get: storage is local, not s3");
        return NULL;
    }
    if (!storage_name_valid(name, err))
        return NULL;
    if (expires_s < 1 || expires_s > 604800) {
        awm_error_set(err, "storage_presign_get: expiry %ld s is outside 1..604800 (7 days)",
                      expires_s);
        return NULL;
    }
    return s3_presign_get_at(st, name, expires_s, now, err);
}

char *storage_presign_get(const storage *st, const char *name, long expires_s, awm_error *err)
{
    return storage_presign_get_at(st, name, expires_s, time(NULL), err);
}

/* ---- export file names ---------------------------------------------------------------------- */

static const char *const EXPORT_EXTENSIONS[] = {"png", "pdf", "svg", "json"};
#define EXPORT_STAMP_LEN 19 /* YYYY-MM-DDTHH-MM-SS */

static bool export_extension_known(const char *ext)
{
    for (size_t i = 0; i < sizeof EXPORT_EXTENSIONS / sizeof *EXPORT_EXTENSIONS; i++)
        if (!strcmp(ext, EXPORT_EXTENSIONS[i]))
            return true;
    return false;
}

bool storage_export_name(char buf[STORAGE_EXPORT_NAME_LEN + 1], const char *print_job_id, int64_t at_ms,
                         const char *ext)
{
    buf[0] = '\0';
    if (!awm_is_uuid(print_job_id) || !export_extension_known(ext))
        return false;
    time_t at = at_ms > 0 ? (time_t)(at_ms / 1000) : time(NULL);
    struct tm tm;
    gmtime_r(&at, &tm);
    char stamp[EXPORT_STAMP_LEN + 1];
    if (strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S", &tm) != EXPORT_STAMP_LEN)
        return false; /* a year past 9999 */
    snprintf(buf, STORAGE_EXPORT_NAME_LEN + 1, "%s_%s.%s", stamp, print_job_id, ext);
    return true;
}

bool storage_export_name_parse(const char *name, char print_job_id[37], char ext[5])
{
    static const char form[] = "dddd-dd-ddTdd-dd-dd_";
    size_t n = strlen(name);
    if (n < EXPORT_STAMP_LEN + 1 + 36 + 2 || n > STORAGE_EXPORT_NAME_LEN)
        return false;
    for (size_t i = 0; i < sizeof form - 1; i++) {
        char c = name[i];
        if (form[i] == 'd' ? !(c >= '0' && c <= '9') : c != form[i])
            return false;
    }
    char id[37];
    memcpy(id, name + EXPORT_STAMP_LEN + 1, 36);
    id[36] = '\0';
    const char *dot = name + EXPORT_STAMP_LEN + 1 + 36;
    if (!awm_is_uuid(id) || *dot != '.' || !export_extension_known(dot + 1))
        return false;
    if (print_job_id)
        memcpy(print_job_id, id, 37);
    if (ext)
        snprintf(ext, 5, "%s", dot + 1);
    return true;
}
