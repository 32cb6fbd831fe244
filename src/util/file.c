/* file.c — whole-file reads and atomic file creation.
 * Temp files are registered in a small process-wide table so a SIGINT/SIGTERM handler
 * (or atexit) can remove them: an interrupted export never leaves a partial file. */
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

bool awm_read_file(const char *path, char **data, size_t *len, awm_error *err)
{
    *data = NULL;
    if (len)
        *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        awm_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    awm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        awm_buf_append(&b, chunk, n);
    bool failed = ferror(fp);
    fclose(fp);
    if (failed) {
        awm_buf_free(&b);
        awm_error_set(err, "cannot read %s", path);
        return false;
    }
    awm_buf_append(&b, "", 1);
    *data = b.data;
    if (len)
        *len = b.len - 1;
    return true;
}

bool awm_map_file(const char *path, const void **data, size_t *len, awm_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        awm_error_set(err, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        awm_error_set(err, "cannot read %s: %s", path, errno ? strerror(errno) : "not a regular file");
        close(fd);
        return false;
    }
    static const char empty[1];
    void *map = (void *)empty;
    if (st.st_size > 0) {
        /* MAP_POPULATE: the whole file is read anyway, so fault it in at once. */
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (map == MAP_FAILED) {
            awm_error_set(err, "cannot map %s: %s", path, strerror(errno));
            close(fd);
            return false;
        }
    }
    close(fd);
    *data = map;
    *len = (size_t)st.st_size;
    return true;
}

void awm_unmap_file(const void *data, size_t len)
{
    if (data && len)
        munmap((void *)data, len);
}

/* Registry of live temp paths. Fixed size: a process holds a handful at once (one per job). */
#define MAX_TEMPS 256
static pthread_mutex_t g_temps_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_temps[MAX_TEMPS][4096];

static void temps_add(const char *path)
{
    pthread_mutex_lock(&g_temps_lock);
    for (int i = 0; i < MAX_TEMPS; i++) {
        if (!g_temps[i][0]) {
            snprintf(g_temps[i], sizeof g_temps[i], "%s", path);
            break;
        }
    }
    pthread_mutex_unlock(&g_temps_lock);
}

static void temps_remove(const char *path)
{
    pthread_mutex_lock(&g_temps_lock);
    for (int i = 0; i < MAX_TEMPS; i++) {
        if (g_temps[i][0] && !strcmp(g_temps[i], path)) {
            g_temps[i][0] = '\0';
            break;
        }
    }
    pthread_mutex_unlock(&g_temps_lock);
}

void awm_atomic_cleanup_all(void)
{
    /* No lock: may run from a signal handler; unlink(2) is async-signal-safe. */
    for (int i = 0; i < MAX_TEMPS; i++)
        if (g_temps[i][0])
            unlink(g_temps[i]);
}

bool awm_atomic_open(awm_atomic_file *f, const char *final_path, awm_error *err)
{
    memset(f, 0, sizeof *f);
    if (snprintf(f->final_path, sizeof f->final_path, "%s", final_path) >= (int)sizeof f->final_path) {
        awm_error_set(err, "path too long: %.200s...", final_path);
        return false;
    }
    char dir_copy[4096], base_copy[4096];
    snprintf(dir_copy, sizeof dir_copy, "%s", final_path);
    snprintf(base_copy, sizeof base_copy, "%s", final_path);
    const char *dir = dirname(dir_copy);
    const char *base = basename(base_copy);
    if (snprintf(f->temp_path, sizeof f->temp_path, "%s/" AWM_TEMP_PREFIX "%s.XXXXXX", dir, base) >=
        (int)sizeof f->temp_path) {
        awm_error_set(err, "path too long: %.200s...", final_path);
        return false;
    }
    int fd = mkostemp(f->temp_path, O_CLOEXEC);
    if (fd < 0) {
        awm_error_set(err, "cannot create a file in %s: %s", dir, strerror(errno));
        return false;
    }
    temps_add(f->temp_path);
    fchmod(fd, 0644);
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        awm_error_set(err, "cannot open %s: %s", f->temp_path, strerror(errno));
        close(fd);
        unlink(f->temp_path);
        temps_remove(f->temp_path);
        return false;
    }
    return true;
}

bool awm_atomic_commit(awm_atomic_file *f, awm_error *err)
{
    bool ok = true;
    if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
        awm_error_set(err, "cannot write %s: %s", f->final_path, strerror(errno));
        ok = false;
    }
    if (fclose(f->fp) != 0 && ok) {
        awm_error_set(err, "cannot write %s: %s", f->final_path, strerror(errno));
        ok = false;
    }
    f->fp = NULL;
    if (ok && rename(f->temp_path, f->final_path) != 0) {
        awm_error_set(err, "cannot rename into %s: %s", f->final_path, strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(f->temp_path);
    temps_remove(f->temp_path);
    return ok;
}

void awm_atomic_abort(awm_atomic_file *f)
{
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->temp_path[0]) {
        unlink(f->temp_path);
        temps_remove(f->temp_path);
    }
}

bool awm_mkdir_p(const char *path, awm_error *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) {
        awm_error_set(err, "path too long");
        return false;
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            awm_error_set(err, "cannot create directory %s: %s", tmp, strerror(errno));
            return false;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        awm_error_set(err, "cannot create directory %s: %s", tmp, strerror(errno));
        return false;
    }
    struct stat st;
    if (stat(tmp, &st) != 0 || !S_ISDIR(st.st_mode)) {
        awm_error_set(err, "%s exists and is not a directory", tmp);
        return false;
    }
    return true;
}

/* ---- cache files (util.h) ---- */

const char *awm_cache_header_mismatch(const void *data, size_t len, size_t fields, const uint64_t *want, size_t n)
{
    if (n > fields || len / sizeof(uint64_t) < fields)
        return "truncated header";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, p + i * sizeof v, sizeof v);
        if (v != want[i])
            return i == 0 ? "another format" : i == 1 ? "written by another build" : "made from other sources";
    }
    return NULL;
}

bool awm_cache_write(const char *path, const void *data, size_t len, awm_error *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path) : -1;
    if (n < 0 || (size_t)n >= sizeof dir) {
        awm_error_set(err, "cache path %s has no folder or is too long", path);
        return false;
    }
    awm_atomic_file af;
    if (!awm_mkdir_p(dir, err) || !awm_atomic_open(&af, path, err))
        return false;
    if (fwrite(data, 1, len, af.fp) != len) {
        awm_error_set(err, "cannot write %s", path);
        awm_atomic_abort(&af);
        return false;
    }
    return awm_atomic_commit(&af, err);
}
