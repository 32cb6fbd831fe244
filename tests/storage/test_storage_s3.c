/* test_storage_s3.c — the S3 backend against a private s3rver (tests/support/s3_harness),
 * which verifies SigV4 signatures: check, streamed upload read back byte for byte with an
 * independently signed GET, errors parsed from S3's XML (wrong secret, unknown key, missing
 * bucket), presigned GET URLs (valid, tampered, expired), upload integrity (the server checks
 * the x-amz-checksum-sha256 every PUT carries: a body damaged on the way is refused; an SSE-KMS
 * answer, whose ETag is no MD5, is not taken for damage), and — against a tiny scripted HTTP
 * server in this file — retries for 5xx, none for 4xx, the checksum header as sent and signed,
 * and the ETag check. */
#include <curl/curl.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"
#include "support/s3_harness.h"
#include "support/testkit.h"
#include "test.h"

#define BUCKET "awm-test"
#define KEY_ID "AKAWMTEST0001"
#define SECRET "awm/test+secret-0001"

static s3_harness *g_s3;
static char g_tmp[512];

/* ---- helpers --------------------------------------------------------------------------------- */

static storage_config s3_config(const char *endpoint, const char *bucket, const char *secret,
                                const char *prefix)
{
    storage_config cfg;
    storage_config_defaults(&cfg);
    cfg.kind = STORAGE_S3;
    snprintf(cfg.bucket, sizeof cfg.bucket, "%s", bucket);
    snprintf(cfg.endpoint, sizeof cfg.endpoint, "%s", endpoint);
    snprintf(cfg.prefix, sizeof cfg.prefix, "%s", prefix);
    snprintf(cfg.access_key_id, sizeof cfg.access_key_id, "%s", KEY_ID);
    snprintf(cfg.secret_access_key, sizeof cfg.secret_access_key, "%s", secret);
    cfg.retry_delay_ms = 1; /* keep retry tests quick */
    return cfg;
}

static storage *s3_storage(const storage_config *cfg)
{
    awm_error err = {{0}};
    storage *st = storage_new(cfg, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    return st;
}

/* Write `len` pseudo-random bytes to a new file in g_tmp; returns its path (static buffer). */
static const char *make_file(const char *name, size_t len, unsigned seed, char **copy)
{
    static char path[700];
    snprintf(path, sizeof path, "%s/%s", g_tmp, name);
    char *data = awm_xmalloc(len ? len : 1);
    unsigned x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[i] = (char)x;
    }
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, len, f) == len);
    if (f)
        fclose(f);
    if (copy)
        *copy = data;
    else
        free(data);
    return path;
}

static size_t collect(char *d, size_t s, size_t n, void *ud)
{
    awm_buf_append(ud, d, s * n);
    return s * n;
}

/* GET `url`; signed with KEY_ID/SECRET when `sign`. Returns the status; body into *out. */
static long http_get(const char *url, bool sign, awm_buf *out, char *ctype, size_t ctype_size)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (sign) {
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
        curl_easy_setopt(c, CURLOPT_USERNAME, KEY_ID);
        curl_easy_setopt(c, CURLOPT_PASSWORD, SECRET);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (ctype) {
        char *ct = NULL;
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
        snprintf(ctype, ctype_size, "%s", ct ? ct : "");
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static void object_url(const char *key, char *url, size_t size)
{
    snprintf(url, size, "%s/%s/%s", s3_harness_endpoint(g_s3), BUCKET, key);
}

/* ---- against s3rver ------------------------------------------------------------------------- */

static void test_check_ok(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, SECRET, "");
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    CHECK_MSG(storage_check(st, &err), "%s", err.msg);
    /* The probe object was deleted again: the bucket lists no keys. */
    char url[600];
    snprintf(url, sizeof url, "%s/%s", s3_harness_endpoint(g_s3), BUCKET);
    awm_buf body = {0};
    CHECK_INT_EQ(http_get(url, true, &body, NULL, 0), 200);
    CHECK_MSG(body.data && !strstr(body.data, "<Key>"), "%s", body.data ? body.data : "");
    awm_buf_free(&body);
    storage_free(st);
}

static void test_put_roundtrip(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, SECRET, "/posters/2026/");
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    /* The last, larger than any poster, is read back the moment its PUT returns, in full as S3
     * does (the test server once answered before its file was written: this read came back cut
     * short every time, the 3 MB one once under load). */
    const size_t sizes[] = {0, 1, 3 * 1024 * 1024 + 17, 64 * 1024 * 1024 + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char name[64], *data = NULL;
        snprintf(name, sizeof name, "poster-%zu.png", i);
        const char *src = make_file("upload.tmp", sizes[i], (unsigned)i + 1, &data);
        char *loc = storage_put_file(st, src, name, "image/png", &err);
        CHECK_MSG(loc != NULL, "%s", err.msg);
        char want[200];
        snprintf(want, sizeof want, "s3://" BUCKET "/posters/2026/%s", name);
        CHECK_STR_EQ(loc, want);
        free(loc);
        CHECK(access(src, F_OK) != 0); /* consumed after the upload */

        char key[200], url[800], ctype[100];
        snprintf(key, sizeof key, "posters/2026/%s", name);
        object_url(key, url, sizeof url);
        awm_buf body = {0};
        CHECK_INT_EQ(http_get(url, true, &body, ctype, sizeof ctype), 200);
        CHECK_INT_EQ(body.len, sizes[i]);
        CHECK_MSG(body.len == sizes[i] && (!sizes[i] || !memcmp(body.data, data, sizes[i])),
                  "object %s differs from the uploaded file", key);
        CHECK_STR_EQ(ctype, "image/png");
        awm_buf_free(&body);
        free(data);
    }
    /* Replacing an object. */
    char *data = NULL;
    const char *src = make_file("upload.tmp", 1000, 99, &data);
    char *loc = storage_put_file(st, src, "poster-1.png", "image/png", &err);
    CHECK(loc != NULL);
    free(loc);
    char url[800];
    object_url("posters/2026/poster-1.png", url, sizeof url);
    awm_buf body = {0};
    CHECK_INT_EQ(http_get(url, true, &body, NULL, 0), 200);
    CHECK(body.len == 1000 && !memcmp(body.data, data, 1000));
    awm_buf_free(&body);
    free(data);
    storage_free(st);
}

/* tests/s3server flips a byte of every body under /corrupt-in-transit/ before it checks the
 * x-amz-checksum-sha256: the upload must be refused by the server (not stored, then noticed). */
static void test_corrupted_upload_refused(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, SECRET, "corrupt-in-transit");
    cfg.attempts = 2;
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    const char *src = make_file("damaged.png", 100000, 21, NULL);
    char *loc = storage_put_file(st, src, "damaged.png", "image/png", &err);
    CHECK(loc == NULL);
    free(loc);
    CHECK_STR_EQ(err.msg, "after 2 attempts: S3 PUT s3://" BUCKET "/corrupt-in-transit/damaged.png: "
                          "400 BadDigest: The SHA256 you specified did not match the calculated "
                          "checksum.");
    CHECK(access(src, F_OK) == 0); /* kept for a later attempt */
    char url[800];
    object_url("corrupt-in-transit/damaged.png", url, sizeof url);
    awm_buf body = {0};
    CHECK_INT_EQ(http_get(url, true, &body, NULL, 0), 404); /* nothing stored */
    awm_buf_free(&body);
    storage_free(st);
}

/* Under /sse-kms/ tests/s3server answers like an SSE-KMS bucket: the ETag is not the body's MD5.
 * The upload is good (the server checked its checksum) and must not be called corrupt. */
static void test_sse_kms_etag_accepted(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, SECRET, "sse-kms");
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    char *data = NULL;
    const char *src = make_file("kms.png", 70000, 22, &data);
    char *loc = storage_put_file(st, src, "kms.png", "image/png", &err);
    CHECK_MSG(loc != NULL, "%s", err.msg);
    CHECK_STR_EQ(loc ? loc : "", "s3://" BUCKET "/sse-kms/kms.png");
    free(loc);
    char url[800];
    object_url("sse-kms/kms.png", url, sizeof url);
    awm_buf body = {0};
    CHECK_INT_EQ(http_get(url, true, &body, NULL, 0), 200);
    CHECK(body.len == 70000 && !memcmp(body.data, data, 70000));
    awm_buf_free(&body);
    free(data);
    storage_free(st);
}

static void test_wrong_secret_is_clear(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, "not-the-secret", "");
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "S3 PUT s3://" BUCKET "/.awm-probe-") &&
                  strstr(err.msg, ": 403 SignatureDoesNotMatch: The request signature we "
                                  "calculated does not match"),
              "%s", err.msg);
    CHECK(!strstr(err.msg, "not-the-secret"));
    CHECK(!strstr(err.msg, "after")); /* a 4xx is not retried */

    const char *src = make_file("kept.png", 100, 7, NULL);
    char *loc = storage_put_file(st, src, "kept.png", "image/png", &err);
    CHECK(loc == NULL);
    CHECK_MSG(strstr(err.msg, "S3 PUT s3://" BUCKET "/kept.png: 403 SignatureDoesNotMatch"), "%s",
              err.msg);
    CHECK(access(src, F_OK) == 0); /* failed: the source stays for a retry */
    storage_free(st);

    cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, SECRET, "");
    snprintf(cfg.access_key_id, sizeof cfg.access_key_id, "AKUNKNOWN");
    st = s3_storage(&cfg);
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "403 InvalidAccessKeyId"), "%s", err.msg);
    storage_free(st);
}

static void test_missing_bucket(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), "awm-no-such-bucket", SECRET, "");
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "s3://awm-no-such-bucket/") && strstr(err.msg, "404 NoSuchBucket"),
              "%s", err.msg);
    storage_free(st);
}

static void test_presigned_get(void)
{
    storage_config cfg = s3_config(s3_harness_endpoint(g_s3), BUCKET, SECRET, "dl");
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    char *data = NULL;
    const char *src = make_file("dl.tmp", 50000, 3, &data);
    char *loc = storage_put_file(st, src, "download.pdf", "application/pdf", &err);
    CHECK_MSG(loc != NULL, "%s", err.msg);
    free(loc);

    char *url = storage_presign_get(st, "download.pdf", 300, &err);
    CHECK_MSG(url != NULL, "%s", err.msg);
    if (!url) {
        free(data);
        storage_free(st);
        return;
    }
    awm_buf body = {0};
    CHECK_INT_EQ(http_get(url, false, &body, NULL, 0), 200); /* no credentials but the URL's */
    CHECK(body.len == 50000 && !memcmp(body.data, data, 50000));
    awm_buf_free(&body);

    /* Tampered signature. */
    char *bad = awm_strdup(url);
    char *last = bad + strlen(bad) - 1;
    *last = *last == '0' ? '1' : '0';
    CHECK_INT_EQ(http_get(bad, false, &body, NULL, 0), 403);
    CHECK_MSG(body.data && strstr(body.data, "SignatureDoesNotMatch"), "%s", body.data);
    body.len = 0;
    free(bad);
    /* The same signature for another object. */
    bad = awm_strdup(url);
    memcpy(strstr(bad, "download.pdf"), "download.pdg", 12);
    CHECK_INT_EQ(http_get(bad, false, &body, NULL, 0), 403);
    body.len = 0;
    free(bad);
    /* A longer validity than signed. */
    bad = awm_strdup(url);
    memcpy(strstr(bad, "X-Amz-Expires=300"), "X-Amz-Expires=900", 17);
    CHECK_INT_EQ(http_get(bad, false, &body, NULL, 0), 403);
    body.len = 0;
    free(bad);
    free(url);

    /* Expired: signed an hour ago for 60 s. */
    url = storage_presign_get_at(st, "download.pdf", 60, time(NULL) - 3600, &err);
    CHECK_INT_EQ(http_get(url, false, &body, NULL, 0), 403);
    CHECK_MSG(body.data && strstr(body.data, "Request has expired"), "%s", body.data);
    free(url);
    awm_buf_free(&body);
    free(data);
    storage_free(st);
}

static void test_network_error_retried(void)
{
    /* A port nothing listens on: bind one, note it, close it. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", ntohs(a.sin_port));
    storage_config cfg = s3_config(endpoint, BUCKET, SECRET, "");
    cfg.attempts = 2;
    storage *st = s3_storage(&cfg);
    awm_error err = {{0}};
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "after 2 attempts: S3 PUT s3://" BUCKET "/") &&
                  strstr(err.msg, "connect"),
              "%s", err.msg);
    storage_free(st);
}

/* ---- a scripted HTTP server: one canned response, counts requests ---------------------------- */

typedef struct {
    int listen_fd, port;
    int status;
    const char *reason, *body, *etag;
    char head[16384]; /* the last request's header block */
    atomic_int requests;
    atomic_bool stop;
    pthread_t thread;
} fake_server;

static void fake_handle(fake_server *fs, int c)
{
    char req[16384];
    size_t used = 0;
    char *end = NULL;
    while (!end && used + 1 < sizeof req) {
        ssize_t n = recv(c, req + used, sizeof req - 1 - used, 0);
        if (n <= 0)
            return;
        used += (size_t)n;
        req[used] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (!end)
        return;
    snprintf(fs->head, sizeof fs->head, "%.*s", (int)(end - req), req);
    atomic_fetch_add(&fs->requests, 1);
    long content_length = 0;
    const char *cl = strcasestr(req, "\r\nContent-Length:");
    if (cl)
        content_length = strtol(cl + 17, NULL, 10);
    bool expect = strcasestr(req, "\r\nExpect: 100-continue") != NULL;
    bool success = fs->status < 300;
    /* Read the body unless the reply refuses it before it is sent (Expect: 100-continue), so
     * closing the socket never resets the connection before curl reads the reply. */
    if (!expect || success) {
        if (expect)
            send(c, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
        long have = (long)(used - (size_t)(end + 4 - req));
        char buf[65536];
        while (have < content_length) {
            ssize_t n = recv(c, buf, sizeof buf, 0);
            if (n <= 0)
                return;
            have += n;
        }
    }
    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
                      "%s%s%sConnection: close\r\n\r\n",
                      fs->status, fs->reason, strlen(fs->body), fs->etag ? "ETag: " : "",
                      fs->etag ? fs->etag : "", fs->etag ? "\r\n" : "");
    send(c, head, (size_t)hl, MSG_NOSIGNAL);
    send(c, fs->body, strlen(fs->body), MSG_NOSIGNAL);
}

static void *fake_main(void *arg)
{
    fake_server *fs = arg;
    while (!atomic_load(&fs->stop)) {
        struct pollfd p = {fs->listen_fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(fs->listen_fd, NULL, NULL);
        if (c < 0)
            continue;
        fake_handle(fs, c);
        shutdown(c, SHUT_WR);
        char drain[4096];
        struct pollfd q = {c, POLLIN, 0};
        while (poll(&q, 1, 200) > 0 && recv(c, drain, sizeof drain, 0) > 0) {
        }
        close(c);
    }
    return NULL;
}

/* Starts a fake S3 server that answers every request with status/reason/body (and an ETag
 * when etag is set) and returns a storage on it that tries each upload 3 times. */
static storage *fake_start(fake_server *fs, int status, const char *reason, const char *body,
                           const char *etag)
{
    memset(fs, 0, sizeof *fs);
    fs->status = status, fs->reason = reason, fs->body = body, fs->etag = etag;
    fs->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    CHECK(bind(fs->listen_fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(fs->listen_fd, 8) == 0);
    getsockname(fs->listen_fd, (struct sockaddr *)&a, &alen);
    fs->port = ntohs(a.sin_port);
    pthread_create(&fs->thread, NULL, fake_main, fs);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", fs->port);
    storage_config cfg = s3_config(endpoint, BUCKET, SECRET, "");
    cfg.attempts = 3;
    return s3_storage(&cfg);
}

static void fake_stop(fake_server *fs)
{
    atomic_store(&fs->stop, true);
    pthread_join(fs->thread, NULL);
    close(fs->listen_fd);
}


static void test_5xx_retried(void)
{
    fake_server fs;
    storage *st = fake_start(&fs, 503, "Slow Down", "<Error><Code>SlowDown</Code><Message>Please reduce "
                                                   "your request rate.</Message></Error>", NULL);
    awm_error err = {{0}};
    const char *src = make_file("retry.png", 5000, 5, NULL);
    char *loc = storage_put_file(st, src, "retry.png", "image/png", &err);
    CHECK(loc == NULL);
    free(loc);
    CHECK_INT_EQ(atomic_load(&fs.requests), 3);
    CHECK_STR_EQ(err.msg, "after 3 attempts: S3 PUT s3://" BUCKET "/retry.png: 503 SlowDown: "
                          "Please reduce your request rate.");
    storage_free(st);
    fake_stop(&fs);
}

static void test_4xx_not_retried(void)
{
    fake_server fs;
    storage *st = fake_start(&fs, 403, "Forbidden", "<Error><Code>AccessDenied</Code><Message>Access "
                                                   "Denied</Message></Error>", NULL);
    awm_error err = {{0}};
    CHECK(!storage_check(st, &err));
    CHECK_INT_EQ(atomic_load(&fs.requests), 1);
    CHECK_MSG(strstr(err.msg, ": 403 AccessDenied: Access Denied"), "%s", err.msg);
    storage_free(st);
    fake_stop(&fs);

    /* An error without an XML body still says what happened. */
    st = fake_start(&fs, 400, "Bad Request", "", NULL);
    CHECK(!storage_check(st, &err));
    CHECK_INT_EQ(atomic_load(&fs.requests), 1);
    CHECK_MSG(strstr(err.msg, ": 400 (no error details)"), "%s", err.msg);
    storage_free(st);
    fake_stop(&fs);
}

static void test_etag_mismatch_is_an_error(void)
{
    fake_server fs;
    storage *st = fake_start(&fs, 200, "OK", "", "\"0123456789abcdef0123456789abcdef\"");
    awm_error err = {{0}};
    const char *src = make_file("etag.png", 2 * 1024 * 1024, 9, NULL); /* large: Expect path */
    char *loc = storage_put_file(st, src, "etag.png", "image/png", &err);
    CHECK(loc == NULL);
    free(loc);
    CHECK_MSG(strstr(err.msg, "S3 PUT s3://" BUCKET "/etag.png: ETag "
                              "\"0123456789abcdef0123456789abcdef\" does not match the MD5 of the "
                              "2097152 bytes sent"),
              "%s", err.msg);
    CHECK(access(src, F_OK) == 0);
    storage_free(st);
    fake_stop(&fs);

    st = fake_start(&fs, 200, "OK", "", NULL); /* no ETag at all */
    src = make_file("etag2.png", 10, 9, NULL);
    loc = storage_put_file(st, src, "etag2.png", "image/png", &err);
    CHECK(loc == NULL);
    free(loc);
    CHECK_MSG(strstr(err.msg, "ETag (missing) does not match"), "%s", err.msg);
    storage_free(st);
    fake_stop(&fs);
}

/* The PUT carries x-amz-checksum-sha256 = base64(SHA-256(file)) and signs it. */
static void test_checksum_header_sent_and_signed(void)
{
    fake_server fs;
    storage *st = fake_start(&fs, 200, "OK", "", NULL);
    awm_error err = {{0}};
    char *data = NULL;
    const char *src = make_file("sum.png", 3000, 23, &data);
    char *loc = storage_put_file(st, src, "sum.png", "image/png", &err); /* ETag missing: fails */
    free(loc);
    guint8 digest[32];
    gsize dlen = sizeof digest;
    GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(sha, (const guchar *)data, 3000);
    g_checksum_get_digest(sha, digest, &dlen);
    g_checksum_free(sha);
    gchar *b64 = g_base64_encode(digest, dlen);
    char want[100];
    snprintf(want, sizeof want, "\r\nx-amz-checksum-sha256: %s\r\n", b64);
    CHECK_MSG(strcasestr(fs.head, want), "no %s in:\n%s", want, fs.head);
    const char *signed_headers = strstr(fs.head, "SignedHeaders=");
    CHECK_MSG(signed_headers && strstr(signed_headers, "x-amz-checksum-sha256") &&
                  strstr(signed_headers, "x-amz-checksum-sha256") < strchr(signed_headers, ','),
              "x-amz-checksum-sha256 not signed:\n%s", fs.head);
    g_free(b64);
    free(data);
    storage_free(st);
    fake_stop(&fs);
}

/* A multipart-style ETag ("…-N") is not an MD5 either. */
static void test_multipart_etag_accepted(void)
{
    fake_server fs;
    storage *st = fake_start(&fs, 200, "OK", "", "\"0123456789abcdef0123456789abcdef-2\"");
    awm_error err = {{0}};
    const char *src = make_file("mp.png", 1000, 24, NULL);
    char *loc = storage_put_file(st, src, "mp.png", "image/png", &err);
    CHECK_MSG(loc != NULL, "%s", err.msg);
    free(loc);
    storage_free(st);
    fake_stop(&fs);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tk_mkdtemp_or_exit(g_tmp, sizeof g_tmp, "storage-s3");
    awm_error err = {{0}};
    g_s3 = s3_harness_start(BUCKET, KEY_ID, SECRET, &err);
    if (!g_s3) {
        fprintf(stderr, "cannot start s3rver: %s\n", err.msg);
        return 1;
    }
    RUN(test_check_ok);
    RUN(test_put_roundtrip);
    RUN(test_wrong_secret_is_clear);
    RUN(test_missing_bucket);
    RUN(test_presigned_get);
    RUN(test_network_error_retried);
    RUN(test_5xx_retried);
    RUN(test_4xx_not_retried);
    RUN(test_etag_mismatch_is_an_error);
    RUN(test_corrupted_upload_refused);
    RUN(test_sse_kms_etag_accepted);
    RUN(test_checksum_header_sent_and_signed);
    RUN(test_multipart_etag_accepted);
    s3_harness_destroy(g_s3);
    tk_remove_tree(g_tmp);
    curl_global_cleanup();
    return TEST_EXIT();
}
