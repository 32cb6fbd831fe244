/* misc.c — clocks, stop signals, monotonic condition variables, allocation that aborts on exhaustion, a growable buffer, secret comparison, a change-detection hash. */
#include "util/util.h"

#include <ctype.h>
#include <isa-l/crc64.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double awm_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double awm_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int64_t awm_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void awm_utc_file_stamp(char *buf, size_t size)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, size, "%Y-%m-%dT%H-%M-%S", &tm);
}

void awm_block_stop_signals(sigset_t *stop)
{
    sigemptyset(stop);
    sigaddset(stop, SIGTERM);
    sigaddset(stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, stop, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void awm_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

static void out_of_memory(size_t n)
{
    fprintf(stderr, "{\"level\":\"error\",\"event\":\"OUT_OF_MEMORY\",\"bytes\":%zu}\n", n);
    abort();
}

void *awm_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *awm_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *awm_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *awm_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = awm_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

void awm_buf_append(awm_buf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = awm_xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void awm_buf_printf(awm_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    awm_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void awm_buf_vprintf(awm_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0) {
        awm_buf_append(b, "", 0);
        if (b->len + (size_t)n + 1 > b->cap) {
            size_t cap = b->cap;
            while (cap < b->len + (size_t)n + 1)
                cap *= 2;
            b->data = awm_xrealloc(b->data, cap);
            b->cap = cap;
        }
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void awm_buf_free(awm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

bool awm_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Compare over the longer length so the time depends on neither secret's content. */
    size_t n = la > lb ? la : lb;
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < la ? (unsigned char)a[i] : 0;
        unsigned char cb = i < lb ? (unsigned char)b[i] : 0;
        diff |= (unsigned char)(ca ^ cb);
    }
    return diff == 0;
}

bool awm_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

uint64_t awm_hash64(const void *data, size_t len)
{
    /* ISA-L's CRC-64 folds 16 bytes a step with carry-less multiplies: ~40 GB/s, which the
     * render's start-up, hashing ~7 MB of world-atlas JSON, notices (a multiply chain ran at 4). */
    return crc64_ecma_refl(0, data, len);
}

void awm_malloc_bound_arenas(int arenas)
{
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, arenas);
}

void awm_malloc_trim(double min_interval_s)
{
    static _Atomic double last; /* when the last trim ran (monotonic seconds) */
    double now = awm_now_seconds(), was = atomic_load(&last);
    if (min_interval_s > 0 && now - was < min_interval_s)
        return;
    if (!atomic_compare_exchange_strong(&last, &was, now))
        return; /* another thread is trimming */
    malloc_trim(0);
}
