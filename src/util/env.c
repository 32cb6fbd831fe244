/* env.c — configuration from environment variables, with errors that name the variable. */
#include "util/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef AWM_DEFAULT_ASSETS_DIR
#define AWM_DEFAULT_ASSETS_DIR "/usr/share/awm"
#endif

const char *awm_env_str(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return (v && *v) ? v : fallback;
}

bool awm_env_long(const char *name, long fallback, long min, long max, long *out, awm_error *err)
{
    const char *v = getenv(name);
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
    const char *v = getenv(name);
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
