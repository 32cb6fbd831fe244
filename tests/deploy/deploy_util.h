/* deploy_util.h — what the deployment tests share: running shell commands (openssl, ip,
 * docker-compose, scripts) and capturing their output, and paths into the source tree. */
#ifndef AWM_TESTS_DEPLOY_UTIL_H
#define AWM_TESTS_DEPLOY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util/util.h"

/* Exit status of `/bin/sh -c CMD` (-1 when it did not exit normally); output into *out
 * (caller frees) when out is non-NULL, else to our stderr. stderr is merged into stdout.
 * dt_sh_vout takes the format's arguments as a va_list (consumed). */
static inline int dt_sh_vout(char **out, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static inline int dt_sh_vout(char **out, const char *fmt, va_list ap)
{
    awm_buf cmd = {0};
    awm_buf_append(&cmd, "( ", 2);
    awm_buf_vprintf(&cmd, fmt, ap);
    awm_buf_printf(&cmd, " ) 2>&1");
    awm_buf text = {0};
    FILE *p = popen(cmd.data, "r");
    int status = -1;
    if (p) {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
            if (out)
                awm_buf_append(&text, chunk, n);
            else
                fwrite(chunk, 1, n, stderr);
        }
        int st = pclose(p);
        status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    awm_buf_append(&text, "", 1);
    if (out)
        *out = text.data;
    else
        awm_buf_free(&text);
    awm_buf_free(&cmd);
    return status;
}

static inline int dt_sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int dt_sh_out(char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int status = dt_sh_vout(out, fmt, ap);
    va_end(ap);
    return status;
}

#define dt_sh(...) dt_sh_out(NULL, __VA_ARGS__)

/* The source tree (AWM_SOURCE_ROOT, set by tests/meson.build). */
static inline const char *dt_source_root(void)
{
    return awm_env_str("AWM_SOURCE_ROOT", ".");
}

/* Contents of a file of the source tree (caller frees), or NULL. */
static inline char *dt_read_source(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dt_source_root(), rel);
    char *text = NULL;
    size_t len;
    return awm_read_file(path, &text, &len, NULL) ? text : NULL;
}

#endif
