/* log.c — structured logs: one JSON object per line on stderr, so a log shipper (Docker's
 * json-file driver, journald, Loki) can index every field. Lines are written with a single
 * write(2) so lines from concurrent threads never interleave. */
#include "util/util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static awm_log_level g_level = AWM_LOG_INFO;
static char g_component[32] = "awm";

static const char *level_name(awm_log_level l)
{
    switch (l) {
    case AWM_LOG_DEBUG: return "debug";
    case AWM_LOG_INFO: return "info";
    case AWM_LOG_WARN: return "warn";
    default: return "error";
    }
}

void awm_log_init(const char *component)
{
    if (component)
        snprintf(g_component, sizeof g_component, "%s", component);
    const char *lv = getenv("LOG_LEVEL");
    if (!lv || !*lv)
        return;
    if (!strcasecmp(lv, "debug")) g_level = AWM_LOG_DEBUG;
    else if (!strcasecmp(lv, "info")) g_level = AWM_LOG_INFO;
    else if (!strcasecmp(lv, "warn") || !strcasecmp(lv, "warning")) g_level = AWM_LOG_WARN;
    else if (!strcasecmp(lv, "error")) g_level = AWM_LOG_ERROR;
    else
        awm_log(AWM_LOG_WARN, "CONFIG_WARNING", "{s:s, s:s}", "variable", "LOG_LEVEL",
                "message", "unknown level (use debug, info, warn or error); using info");
}

void awm_log_set_level(awm_log_level level) { g_level = level; }
bool awm_log_enabled(awm_log_level level) { return level >= g_level; }

void awm_logv(awm_log_level level, const char *event, const char *fields_fmt, va_list ap)
{
    if (level < g_level)
        return;
    json_t *obj = NULL;
    if (fields_fmt) {
        json_error_t jerr;
        obj = json_vpack_ex(&jerr, 0, fields_fmt, ap);
        if (!obj)
            obj = json_pack("{s:s}", "logFormatError", jerr.text);
    }
    if (!obj || !json_is_object(obj)) {
        json_decref(obj);
        obj = json_object();
    }
    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
    /* Fixed keys first, so a human reading the raw stream sees time, level and event up front. */
    json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_name(level), "event",
                             event ? event : "log", "component", g_component);
    json_object_update_missing(line, obj);
    json_decref(obj);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(line);
    if (!text)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* json_dumps leaves room for its NUL; replace it and write n+1 bytes */
    const char *p = text;
    size_t left = n + 1;
    while (left > 0) {
        ssize_t w = write(STDERR_FILENO, p, left);
        if (w <= 0)
            break;
        p += w;
        left -= (size_t)w;
    }
    free(text);
}

void awm_log(awm_log_level level, const char *event, const char *fields_fmt, ...)
{
    va_list ap;
    va_start(ap, fields_fmt);
    awm_logv(level, event, fields_fmt, ap);
    va_end(ap);
}
