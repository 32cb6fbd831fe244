/* env.c — configuration from environment variables, with errors that name the variable.
 * Every variable can instead be given as a file: NAME_FILE=/run/secrets/x makes the file's
 * contents (trailing line breaks removed) the value of NAME, the convention of the official
 * postgres image, so Docker secrets and similar mounts keep passwords and keys out of the
 * environment (`docker inspect` shows only the path). */
#include "util/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef AWM_DEFAULT_ASSETS_DIR
#define AWM_DEFAULT_ASSETS_DIR "/usr/share/awm"
#endif

/* Values read from NAME_FILE, kept for the life of the process (callers hold the pointers),
 * and the first problem met reading one. Configuration is read at start-up, but a lookup may
 * come from any thread, hence the lock. */
#define ENV_FILES_MAX 64
static struct {
    char name[128];
    char *value;
} g_files[ENV_FILES_MAX];
static size_t g_nfiles;
static char g_file_problem[sizeof(((awm_error *)0)->msg)];
static pthread_mutex_t g_files_lock = PTHREAD_MUTEX_INITIALIZER;

static void file_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void file_problem(const char *fmt, ...)
{
    if (g_file_problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_file_problem, sizeof g_file_problem, fmt, ap);
    va_end(ap);
}

/* The contents of NAME_FILE's file, or NULL (unset, unreadable: the problem is recorded). */
static const char *value_from_file(const char *name)
{
    char file_var[160];
    if (snprintf(file_var, sizeof file_var, "%s_FILE", name) >= (int)sizeof file_var)
        return NULL;
    const char *path = getenv(file_var);
    if (!path || !*path)
        return NULL;
    const char *value = NULL;
    pthread_mutex_lock(&g_files_lock);
    for (size_t i = 0; i < g_nfiles && !value; i++)
        if (!strcmp(g_files[i].name, name))
            value = g_files[i].value;
    if (!value) {
        char *text = NULL;
        size_t len = 0;
        awm_error err = {{0}};
        if (!awm_read_file(path, &text, &len, &err))
            file_problem("%s: %s", file_var, err.msg);
        else if (len > AWM_ENV_FILE_MAX || memchr(text, '\0', len))
            file_problem("%s=%s: not a text file of at most %d bytes", file_var, path, AWM_ENV_FILE_MAX);
        else if (g_nfiles == ENV_FILES_MAX || strlen(name) >= sizeof g_files[0].name)
            file_problem("%s: too many variables read from files", file_var);
        else {
            while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
                text[--len] = '\0';
            snprintf(g_files[g_nfiles].name, sizeof g_files[0].name, "%s", name);
            g_files[g_nfiles++].value = text;
            value = text;
            text = NULL;
        }
        free(text);
    }
    pthread_mutex_unlock(&g_files_lock);
    return value;
}

/* NAME's value: the variable itself, else the file NAME_FILE names; NULL when neither. */
static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    if (v && *v) {
        char file_var[160];
        snprintf(file_var, sizeof file_var, "%s_FILE", name);
        const char *f = getenv(file_var);
        if (f && *f) {
            pthread_mutex_lock(&g_files_lock);
            file_problem("both %s and %s are set: set one of them", name, file_var);
            pthread_mutex_unlock(&g_files_lock);
        }
        return v;
    }
    return value_from_file(name);
}

bool awm_env_files_ok(awm_error *err)
{
    pthread_mutex_lock(&g_files_lock);
    bool ok = !g_file_problem[0];
    if (!ok)
        awm_error_set(err, "%s", g_file_problem);
    pthread_mutex_unlock(&g_files_lock);
    return ok;
}

const char *awm_env_str(const char *name, const char *fallback)
{
    const char *v = env_value(name);
    return (v && *v) ? v : fallback;
}

bool awm_env_long(const char *name, long fallback, long min, long max, long *out, awm_error *err)
{
    const char *v = env_value(name);
    if (!v || !*v) {
        *out = fallback;
        return true;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        awm_error_set(err, "%s=%s: must be a whole number from %ld to %ld", name, v, min, max);
        return false;
    }
    *out = n;
    return true;
}

bool awm_env_bool(const char *name, bool fallback, bool *out, awm_error *err)
{
    const char *v = env_value(name);
    if (!v || !*v) {
        *out = fallback;
        return true;
    }
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
        *out = false;
        return true;
    }
    awm_error_set(err, "%s=%s: must be true or false", name, v);
    return false;
}

#define ASSETS_DIR_MAX 4096

const char *awm_assets_dir(void)
{
    static char dir[ASSETS_DIR_MAX];
    const char *v = awm_env_str("AWM_ASSETS_DIR", AWM_DEFAULT_ASSETS_DIR);
    snprintf(dir, sizeof dir, "%s", v); /* cut when too long: awm_asset_path then refuses */
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    return dir;
}

bool awm_asset_path(char *buf, size_t size, const char *rel)
{
    if (strlen(awm_env_str("AWM_ASSETS_DIR", AWM_DEFAULT_ASSETS_DIR)) >= ASSETS_DIR_MAX)
        return false;
    int n = snprintf(buf, size, "%s/%s", awm_assets_dir(), rel);
    return n >= 0 && (size_t)n < size;
}

bool awm_cache_path(char *buf, size_t size, const char *rel)
{
    /* The XDG base-directory rules, with AWM_CACHE_DIR first: a service or container names a
     * writable folder of its own (its assets are read-only and its HOME may be hidden). */
    const char *dir = awm_env_str("AWM_CACHE_DIR", NULL), *xdg = awm_env_str("XDG_CACHE_HOME", NULL),
               *home = awm_env_str("HOME", NULL);
    int n;
    if (dir)
        n = snprintf(buf, size, "%s/%s", dir, rel);
    else if (xdg)
        n = snprintf(buf, size, "%s/awm/%s", xdg, rel);
    else if (home)
        n = snprintf(buf, size, "%s/.cache/awm/%s", home, rel);
    else
        return false;
    return n >= 0 && (size_t)n < size;
}
