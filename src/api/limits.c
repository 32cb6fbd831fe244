/* limits.c — limits at the edge (SYSTEM.md §3): who the client is (the connection's address,
 * or the one a trusted reverse proxy names in X-Forwarded-For) and a token bucket per client for
 * each expensive kind of request. Over the limit is 429 with Retry-After.
 *
 * Buckets live in a fixed table per kind, indexed by a keyed hash of the client's address: the
 * memory is bounded whatever the number of clients, and a hostile client cannot choose which
 * other client it shares a bucket with (the key is random per process). */
#include "api/api_internal.h"

#include <arpa/inet.h>
#include <math.h>
#include <string.h>
#include <sys/random.h>

#define BUCKETS 4096

typedef struct {
    double tokens;
    double at; /* awm_now_seconds() of the last refill; 0 = never used */
} bucket;

static struct {
    pthread_mutex_t lock;
    bucket b[BUCKETS];
} g_tables[API_LIMIT_COUNT] = {
    [0 ... API_LIMIT_COUNT - 1] = {PTHREAD_MUTEX_INITIALIZER, {{0, 0}}},
};
static uint64_t g_key[2];
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void make_key(void)
{
    if (getrandom(g_key, sizeof g_key, 0) != sizeof g_key)
        g_key[0] = (uint64_t)(uintptr_t)&g_key ^ (uint64_t)awm_wall_ms(), g_key[1] = 0x9e3779b97f4a7c15ull;
}

/* FNV-1a over the key and the text, finished with a 64-bit mix: enough to spread addresses
 * whose spelling an attacker controls only in part. */
static size_t slot_of(const char *client)
{
    pthread_once(&g_key_once, make_key);
    uint64_t h = 1469598103934665603ull ^ g_key[0];
    for (const unsigned char *p = (const unsigned char *)client; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    h ^= g_key[1];
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)(h % BUCKETS);
}

static const char *const LIMIT_NAMES[API_LIMIT_COUNT] = {
    [API_LIMIT_MAP_WRITES] = "map changes",
    [API_LIMIT_EXPORTS] = "exports",
    [API_LIMIT_RENDERS] = "renders",
    [API_LIMIT_PLACES] = "place searches",
};

bool api_rate_check(api_request *r, api_limit_class kind)
{
    double per_minute = r->srv->cfg.rate_per_minute[kind];
    if (per_minute <= 0)
        return true;
    /* A bucket holds a minute's worth: a burst that size, then the steady rate. */
    double capacity = per_minute, rate = per_minute / 60.0;
    size_t i = slot_of(r->client);
    double now = awm_now_seconds(), wait = 0;
    pthread_mutex_lock(&g_tables[kind].lock);
    bucket *b = &g_tables[kind].b[i];
    if (b->at == 0) {
        b->tokens = capacity;
    } else {
        b->tokens += (now - b->at) * rate;
        if (b->tokens > capacity)
            b->tokens = capacity;
    }
    b->at = now;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        wait = (1.0 - b->tokens) / rate;
    pthread_mutex_unlock(&g_tables[kind].lock);
    if (ok)
        return true;
    char after[32];
    snprintf(after, sizeof after, "%.0f", ceil(wait));
    api_response_header(r, "Retry-After", after);
    awm_log(AWM_LOG_WARN, "RATE_LIMITED", "{s:s, s:s, s:s}", "client", r->client, "limit", LIMIT_NAMES[kind],
            "requestId", r->request_id);
    api_respond_error(r, 429, json_pack("{s:s, s:f}", "limit", LIMIT_NAMES[kind], "perMinute", per_minute),
                      "too many %s from this client; try again in %s s", LIMIT_NAMES[kind], after);
    return false;
}

/* ---- the client's address ------------------------------------------------------------------- */

/* Whether text (an address) falls in one of the comma-separated entries of list: addresses or
 * CIDR blocks, IPv4 or IPv6. */
static bool address_in(const char *text, const char *list)
{
    unsigned char addr[16];
    int family = strchr(text, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, text, addr) != 1)
        return false;
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        char entry[64];
        snprintf(entry, sizeof entry, "%.*s", (int)(n < sizeof entry ? n : sizeof entry - 1), p);
        p += n + (p[n] == ',');
        char *e = entry;
        while (*e == ' ')
            e++;
        char *slash = strchr(e, '/');
        int bits = family == AF_INET6 ? 128 : 32;
        if (slash) {
            *slash = '\0';
            bits = atoi(slash + 1);
        }
        size_t len = strlen(e);
        while (len && e[len - 1] == ' ')
            e[--len] = '\0';
        unsigned char net[16];
        int ef = strchr(e, ':') ? AF_INET6 : AF_INET;
        if (ef != family || inet_pton(ef, e, net) != 1 || bits < 0 || bits > (family == AF_INET6 ? 128 : 32))
            continue;
        bool match = true;
        for (int k = 0; k < bits && match; k++)
            match = ((addr[k / 8] ^ net[k / 8]) & (0x80 >> (k % 8))) == 0;
        if (match)
            return true;
    }
    return false;
}

void api_client_address(api_request *r)
{
    snprintf(r->client, sizeof r->client, "%s", r->peer);
    const char *trusted = r->srv->cfg.trusted_proxies;
    if (!trusted || !address_in(r->peer, trusted))
        return;
    const char *xff = api_request_value(r, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff)
        return;
    /* Right to left: each trusted proxy appended the address it saw; the first one not trusted
     * is the client (what lies further left, the client may have written itself). */
    size_t end = strlen(xff);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char hop[64];
        size_t a = start, b = end;
        while (a < b && xff[a] == ' ')
            a++;
        while (b > a && xff[b - 1] == ' ')
            b--;
        snprintf(hop, sizeof hop, "%.*s", (int)(b - a < sizeof hop ? b - a : sizeof hop - 1), xff + a);
        unsigned char tmp[16];
        bool valid = inet_pton(strchr(hop, ':') ? AF_INET6 : AF_INET, hop, tmp) == 1;
        if (!valid)
            return; /* garbage: keep what was established so far */
        snprintf(r->client, sizeof r->client, "%s", hop);
        if (!address_in(hop, trusted))
            return;
        end = start > 0 ? start - 1 : 0;
    }
}
