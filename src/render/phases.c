/* phases.c — where a render's CPU goes, for bench/render: with AWM_RENDER_PHASES=1 each phase's
 * CPU time (summed over the band threads) is added up and logged once per poster as
 * RENDER_PHASES. Off by default: then the marks cost one branch each. */
#include "render/render_internal.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const PHASE_NAMES[RENDER_PHASE_COUNT] = {
    "setup", "scene", "ocean", "graticule", "landFill", "landStroke", "borders",
    "paths", "markers", "labels", "furniture", "pack", "deflate",
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_on;
static _Atomic uint64_t g_ns[RENDER_PHASE_COUNT];

static void read_env(void)
{
    const char *v = getenv("AWM_RENDER_PHASES");
    g_on = v && *v && strcmp(v, "0") != 0;
}

bool render_phases_on(void)
{
    pthread_once(&g_once, read_env);
    return g_on;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t render_phase_clock(bool process)
{
    return render_phases_on() ? clock_ns(process ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID) : 0;
}

void render_phase_mark(render_phase phase, bool process, uint64_t *since)
{
    if (!render_phases_on())
        return;
    uint64_t now = clock_ns(process ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID);
    atomic_fetch_add(&g_ns[phase], now - *since);
    *since = now;
}

void render_phases_log(const char *size)
{
    if (!render_phases_on())
        return;
    json_t *fields = json_object();
    uint64_t total = 0;
    for (int i = 0; i < RENDER_PHASE_COUNT; i++) {
        uint64_t ns = atomic_exchange(&g_ns[i], 0);
        total += ns;
        json_object_set_new(fields, PHASE_NAMES[i], json_integer((json_int_t)((ns + 500000) / 1000000)));
    }
    json_object_set_new(fields, "total", json_integer((json_int_t)((total + 500000) / 1000000)));
    awm_log(AWM_LOG_INFO, "RENDER_PHASES", "{s:s, s:o}", "size", size, "cpuMs", fields);
}
