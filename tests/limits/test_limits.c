/* test_limits.c — the limits hold, against a real `awm serve` (+ a worker) and PostgreSQL:
 *   - 100 people x 1000 places is over the validator's byte limit (MAP_MAX_DEFINITION_BYTES, 1 MiB
 *     of compact JSON): 400 naming it; the biggest that fits (100 people, ~230 places each) is
 *     stored through the API and exported by a worker (8x10 at a low DPI) into a valid PNG;
 *   - one above a limit (101 people; 1001 places for one person) is refused with 400 naming it;
 *     a body over MAX_BODY_BYTES with 413;
 *   - a 1 GiB Content-Length with a little data is answered 413 without the body being read;
 *   - a chunked body that never ends is cut off past the limit, and the server's memory does not
 *     grow with what was sent;
 *   - slow clients (slowloris: more connections than the server has slots, each sending a
 *     request byte by byte) do not starve another client's requests, and connections that stop
 *     sending are closed by the idle timeout.
 * The server runs with MAX_BODY_BYTES=16 MiB (so the validator, not the body limit, refuses
 * the 100 x 1000 definition), API_CONNECTION_TIMEOUT_S=3 and
 * API_MAX_CONNECTIONS=100. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "map/map.h"
#include "render/render.h"
#include "support/testkit.h"
#include "test.h"
#include "util/util.h"
#include "worker/worker_harness.h"

#define BODY_LIMIT (16L * 1024 * 1024)
#define IDLE_TIMEOUT_S 3

static wh_fixture fx;

/* A definition of `people` people with `places` places each (compact JSON; caller frees). */
static char *big_definition(int people, int places, int extra_places_for_first)
{
    json_t *root = json_pack("{s:s, s:[]}", "title", "Biggest", "people");
    json_t *list = json_object_get(root, "people");
    for (int p = 0; p < people; p++) {
        char id[16], name[32];
        snprintf(id, sizeof id, "p%d", p);
        snprintf(name, sizeof name, "Person %d", p);
        json_t *locs = json_array();
        int n = places + (p == 0 ? extra_places_for_first : 0);
        for (int k = 0; k < n; k++) {
            double lon = -179.0 + fmod(k * 7.31 + p * 3.7, 358.0), lat = -80.0 + fmod(k * 3.17 + p * 1.3, 160.0);
            json_array_append_new(locs, json_pack("{s:f, s:f}", "longitude", round(lon * 1000) / 1000,
                                                  "latitude", round(lat * 1000) / 1000));
        }
        json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "id", id, "name", name, "locations", locs));
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

static long post_map(const char *text, json_t **answer)
{
    char url[256];
    snprintf(url, sizeof url, "%s/api/maps", fx.api_url);
    return wh_http("POST", url, text, NULL, answer);
}

static bool details_mention(json_t *answer, const char *what)
{
    char *text = json_dumps(answer, JSON_COMPACT);
    bool found = text && strstr(text, what);
    free(text);
    return found;
}

static void test_biggest(void)
{
    /* 100 people x 1000 places (~4 MB even with bare coordinates) is over the validator's byte
     * limit (MAP_MAX_DEFINITION_BYTES, the default MAX_BODY_BYTES): 400 naming it, although this
     * server's body limit (16 MiB) lets it in. */
    char *text = big_definition(MAP_MAX_PEOPLE, MAP_MAX_LOCATIONS, 0);
    json_t *answer = NULL;
    CHECK_INT_EQ(post_map(text, &answer), 400);
    CHECK_MSG(details_mention(answer, "as compact JSON, at most 1048576"),
              "100 x 1000: the refusal does not name the byte limit");
    json_decref(answer);
    /* The biggest that fits: 100 people with as many places each as the byte limit holds. */
    int places = MAP_MAX_LOCATIONS;
    for (int i = 0; i < 20 && strlen(text) > MAP_MAX_DEFINITION_BYTES; i++) {
        places = (int)((double)places * MAP_MAX_DEFINITION_BYTES / (double)strlen(text)) - (i > 3);
        free(text);
        text = big_definition(MAP_MAX_PEOPLE, places, 0);
    }
    CHECK_MSG(strlen(text) <= MAP_MAX_DEFINITION_BYTES, "%zu bytes", strlen(text));
    answer = NULL;
    long status = post_map(text, &answer);
    free(text);
    const char *id = json_string_value(json_object_get(json_object_get(answer, "userMap"), "id"));
    CHECK_MSG(status == 201 && id, "POST /api/maps (100 x %d) answered %ld", places, status);
    if (status != 201 || !id) {
        json_decref(answer);
        return;
    }
    char map_id[64];
    snprintf(map_id, sizeof map_id, "%s", id);
    json_decref(answer);

    wh_proc worker;
    const char *extra[] = {"WORKER_RENDER_DPI=20", NULL};
    CHECK(wh_worker_start(&fx, &worker, "worker", extra, NULL));
    snprintf(fx.user_map_id, sizeof fx.user_map_id, "%s", map_id);
    char job[64];
    CHECK(wh_post_export(&fx, 8, 10, NULL, job));
    json_t *done = wh_wait_job_state(&fx, job, "export_complete", 600);
    CHECK_MSG(done != NULL, "the biggest map was not exported");
    const char *path = json_string_value(json_object_get(done, "export_file_path"));
    if (path) {
        const map_print_spec *spec = map_print_spec_find("8x10");
        int px_w, px_h;
        map_print_spec_pixels(spec, 20, &px_w, &px_h);
        awm_error err = {{0}};
        CHECK_MSG(render_verify_png(path, px_w, px_h, &err), "%s", err.msg);
    }
    json_decref(done);
    CHECK_INT_EQ(wh_stop(&worker, SIGTERM, 60), 0);
}

static void test_above_limits(void)
{
    char *text = big_definition(MAP_MAX_PEOPLE + 1, 1, 0);
    json_t *answer = NULL;
    CHECK_INT_EQ(post_map(text, &answer), 400);
    CHECK_MSG(details_mention(answer, "people"), "101 people: the refusal does not name people");
    json_decref(answer);
    free(text);

    text = big_definition(2, 1, MAP_MAX_LOCATIONS); /* person 0 has 1001 places */
    answer = NULL;
    CHECK_INT_EQ(post_map(text, &answer), 400);
    CHECK_MSG(details_mention(answer, "people[0].locations"), "1001 places: the refusal does not name the list");
    json_decref(answer);
    free(text);

    /* A body just over the limit: 413 (valid JSON, so only the size can be the reason). */
    size_t n = (size_t)BODY_LIMIT + 1;
    char *body = malloc(n + 1);
    memset(body, ' ', n);
    memcpy(body, "{\"title\":\"x\"", 12);
    body[n - 1] = '}';
    body[n] = '\0';
    answer = NULL;
    CHECK_INT_EQ(post_map(body, &answer), 413);
    json_decref(answer);
    free(body);
}

/* ---- raw sockets: what curl would not send ---- */

static int connect_api(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.api_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Read what the server sends until it closes or `wait_s` passes (a guard against a hang, not
 * a timed assertion). */
static size_t read_answer(int fd, char *buf, size_t size, int wait_s)
{
    size_t got = 0;
    double end = awm_now_seconds() + wait_s;
    while (got + 1 < size && awm_now_seconds() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t n = recv(fd, buf + got, size - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memmem(buf, got, "\r\n\r\n", 4))
            break; /* the status line and headers are enough */
    }
    buf[got] = '\0';
    return got;
}

static void test_gigabyte_announced(void)
{
    int fd = connect_api();
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    const char head[] = "POST /api/maps HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Content-Length: 1073741824\r\n\r\n{\"title\":\"";
    CHECK(send_all(fd, head, sizeof head - 1));
    char buf[4096];
    read_answer(fd, buf, sizeof buf, 30);
    CHECK_MSG(!strncmp(buf, "HTTP/1.1 413", 12), "1 GiB announced: answered \"%.40s\"", buf);
    close(fd);
}

static void test_endless_chunked(void)
{
    int fd = connect_api();
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    long rss_before = tk_rss_kb(fx.api.pid);
    const char head[] = "POST /api/maps HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
    CHECK(send_all(fd, head, sizeof head - 1));
    static char chunk[64 * 1024 + 16];
    int hl = snprintf(chunk, sizeof chunk, "%x\r\n", 64 * 1024);
    memset(chunk + hl, 'a', 64 * 1024);
    memcpy(chunk + hl + 64 * 1024, "\r\n", 2);
    size_t chunk_len = (size_t)hl + 64 * 1024 + 2, sent = 0;
    const size_t give_up = 1024L * 1024 * 1024; /* 1 GiB */
    while (sent < give_up && send_all(fd, chunk, chunk_len))
        sent += chunk_len;
    long rss_after = tk_rss_kb(fx.api.pid);
    close(fd);
    printf("endless chunked body: cut off after %.1f MiB sent (limit %ld MiB); server RSS %ld -> %ld KiB\n",
           sent / 1048576.0, BODY_LIMIT / 1048576, rss_before, rss_after);
    /* Cut off past the linger bound (an oversized body is read and dropped up to 8 × the limit, so
     * clients that write it all before reading still get their 413), give or take the sockets'
     * buffers. */
    CHECK_MSG(sent < (size_t)(9 * BODY_LIMIT), "still accepting after %zu bytes", sent);
    /* Kept up to the limit, then dropped as it arrives: the server holds at most the body
     * buffer (grown by doubling, so up to twice the limit plus the copy being made). */
    CHECK_MSG(rss_after - rss_before < 3 * BODY_LIMIT / 1024, "server RSS grew from %ld to %ld KiB", rss_before,
              rss_after);
}

#define SLOW_CLIENTS 150
#define MAX_CONNECTIONS 100 /* API_MAX_CONNECTIONS here: fewer than the slow clients */

/* GET /api/health from another loopback address (127.0.0.2, a different client to the
 * server); the status, 0 when refused or closed without an answer. */
static int health_from_other_client(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in me = {.sin_family = AF_INET}, to = {.sin_family = AF_INET,
                                                           .sin_port = htons((uint16_t)fx.api_port)};
    me.sin_addr.s_addr = htonl(0x7f000002);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int status = 0;
    static const char req[] = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char buf[512];
    if (bind(fd, (struct sockaddr *)&me, sizeof me) == 0 && connect(fd, (struct sockaddr *)&to, sizeof to) == 0 &&
        send_all(fd, req, sizeof req - 1) && read_answer(fd, buf, sizeof buf, 30) > 12 && !strncmp(buf, "HTTP/1.1 ", 9))
        status = atoi(buf + 9);
    close(fd);
    return status;
}

/* Slowloris from 127.0.0.1: more connections than the server has slots, each sending its
 * headers a byte at a time. The per-address limit (API_MAX_CONNECTIONS_PER_IP, 64) leaves the
 * other slots to other clients, and the idle timeout closes the attacker's connections once
 * they fall silent. */
static void test_slowloris(void)
{
    static const char request[] = "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n";
    int fds[SLOW_CLIENTS], open_count = 0;
    for (int i = 0; i < SLOW_CLIENTS; i++)
        if ((fds[i] = connect_api()) >= 0)
            open_count++;
    CHECK_INT_EQ(open_count, SLOW_CLIENTS); /* the kernel accepts them all; the server decides */
    int normal_ok = 0, rounds = (int)sizeof request - 1, held = 0;
    /* One more byte on every slow connection per round (never finishing the headers), and one
     * normal request per round from the other client. */
    for (int round = 0; round < rounds; round++) {
        held = 0;
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (fds[i] < 0)
                continue;
            char b[64];
            ssize_t n = recv(fds[i], b, sizeof b, MSG_DONTWAIT);
            bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
            if (closed || send(fds[i], request + round, 1, MSG_NOSIGNAL) != 1) {
                close(fds[i]);
                fds[i] = -1;
                continue;
            }
            held++;
        }
        normal_ok += health_from_other_client() == 200;
        tk_sleep_ms(100);
    }
    printf("slowloris: %d slow connections, %d still held by the server at the end, %d/%d normal requests OK\n",
           SLOW_CLIENTS, held, normal_ok, rounds);
    CHECK_MSG(normal_ok == rounds, "%d of %d normal requests answered 200 during the attack", normal_ok, rounds);
    CHECK_MSG(held <= 64, "%d connections held for one address (limit 64)", held);

    /* Now the slow clients fall silent: the idle timeout closes every one of them. */
    int closed = 0;
    for (int i = 0; i < SLOW_CLIENTS; i++)
        closed += fds[i] < 0;
    double end = awm_now_seconds() + IDLE_TIMEOUT_S * 10;
    while (closed < SLOW_CLIENTS && awm_now_seconds() < end) {
        for (int i = 0; i < SLOW_CLIENTS; i++) {
            if (fds[i] < 0)
                continue;
            char b[256];
            ssize_t n = recv(fds[i], b, sizeof b, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(fds[i]);
                fds[i] = -1;
                closed++;
            }
        }
        tk_sleep_ms(200);
    }
    for (int i = 0; i < SLOW_CLIENTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    CHECK_MSG(closed == SLOW_CLIENTS, "%d of %d silent connections closed by the server", closed, SLOW_CLIENTS);
    char url[256];
    snprintf(url, sizeof url, "%s/api/health", fx.api_url);
    CHECK_INT_EQ(wh_http("GET", url, NULL, NULL, NULL), 200);
}

int main(void)
{
    awm_log_init("test_limits");
    char limit[64], timeout[64];
    snprintf(limit, sizeof limit, "%ld", BODY_LIMIT);
    snprintf(timeout, sizeof timeout, "%d", IDLE_TIMEOUT_S);
    setenv("MAX_BODY_BYTES", limit, 1);
    setenv("API_CONNECTION_TIMEOUT_S", timeout, 1);
    char max_conn[32];
    snprintf(max_conn, sizeof max_conn, "%d", MAX_CONNECTIONS);
    setenv("API_MAX_CONNECTIONS", max_conn, 1);
    setenv("API_MAX_CONNECTIONS_PER_IP", "64", 1); /* the default, stated */
    setenv("LOG_LEVEL", "warn", 1); /* thousands of requests: keep the logs small */
    /* ASan keeps freed memory in a quarantine (256 MB by default), which would show up as
     * resident memory in the server: a small one lets its RSS mean what it says. */
    char asan[512];
    snprintf(asan, sizeof asan, "%s:quarantine_size_mb=4", getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "");
    setenv("ASAN_OPTIONS", asan, 1);
    if (!wh_fixture_start(&fx))
        return wh_fixture_finish(&fx, 1);
    RUN(test_above_limits);
    RUN(test_gigabyte_announced);
    RUN(test_endless_chunked);
    RUN(test_slowloris);
    RUN(test_biggest);
    CHECK_INT_EQ(wh_stop(&fx.api, SIGTERM, 30), 0); /* still healthy enough to stop cleanly */
    return wh_fixture_finish(&fx, TEST_EXIT());
}
