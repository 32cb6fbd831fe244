/* prom.c — the Prometheus text exposition format (version 0.0.4), written one way for both
 * HTTP servers (the API's /metrics and the worker's health port). */
#include "util/util.h"

#include <stdarg.h>
#include <string.h>

void awm_prom_family(awm_buf *b, const char *name, const char *type, const char *help)
{
    awm_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are escaped as the format requires: backslash, double quote, newline. */
static void append_labels(awm_buf *b, const char *const *labels, size_t n, const char *extra_key,
                          const char *extra_value)
{
    if (n == 0 && !extra_key)
        return;
    awm_buf_append(b, "{", 1);
    for (size_t i = 0; i < n + (extra_key ? 2 : 0); i += 2) {
        const char *key = i < n ? labels[i] : extra_key;
        const char *value = i < n ? labels[i + 1] : extra_value;
        awm_buf_printf(b, "%s%s=\"", i ? "," : "", key);
        for (const char *p = value; *p; p++) {
            if (*p == '\\' || *p == '"')
                awm_buf_printf(b, "\\%c", *p);
            else if (*p == '\n')
                awm_buf_append(b, "\\n", 2);
            else
                awm_buf_append(b, p, 1);
        }
        awm_buf_append(b, "\"", 1);
    }
    awm_buf_append(b, "}", 1);
}

#define MAX_LABELS 8

static size_t collect_labels(va_list ap, const char **labels)
{
    size_t n = 0;
    for (const char *key; (key = va_arg(ap, const char *)) && n < 2 * MAX_LABELS;) {
        labels[n++] = key;
        labels[n++] = va_arg(ap, const char *);
    }
    return n;
}

void awm_prom_sample(awm_buf *b, const char *name, double value, ...)
{
    const char *labels[2 * MAX_LABELS];
    va_list ap;
    va_start(ap, value);
    size_t n = collect_labels(ap, labels);
    va_end(ap);
    awm_buf_printf(b, "%s", name);
    append_labels(b, labels, n, NULL, NULL);
    awm_buf_printf(b, " %.15g\n", value);
}

void awm_prom_histogram(awm_buf *b, const char *name, const double *bounds, const uint64_t *cumulative,
                        size_t n_bounds, uint64_t count, double sum, ...)
{
    const char *labels[2 * MAX_LABELS];
    va_list ap;
    va_start(ap, sum);
    size_t n = collect_labels(ap, labels);
    va_end(ap);
    for (size_t i = 0; i <= n_bounds; i++) {
        char le[32];
        if (i < n_bounds)
            snprintf(le, sizeof le, "%g", bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        awm_buf_printf(b, "%s_bucket", name);
        append_labels(b, labels, n, "le", le);
        awm_buf_printf(b, " %llu\n", (unsigned long long)(i < n_bounds ? cumulative[i] : count));
    }
    awm_buf_printf(b, "%s_sum", name);
    append_labels(b, labels, n, NULL, NULL);
    awm_buf_printf(b, " %.6f\n%s_count", sum, name);
    append_labels(b, labels, n, NULL, NULL);
    awm_buf_printf(b, " %llu\n", (unsigned long long)count);
}
