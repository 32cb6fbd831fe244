/* s3.c — the S3 backend: signed requests with libcurl (CURLOPT_AWS_SIGV4), retries with
 * back-off for network errors and 5xx, streamed uploads with an MD5/ETag check, S3 XML error
 * bodies turned into messages, and presigned GET URLs (SigV4 query string, computed here
 * because libcurl only signs requests it sends).
 *
 * Upload integrity: every PUT carries `x-amz-checksum-sha256` (base64 SHA-256 of the file,
 * signed with the other headers), so the server refuses a body damaged on the way (400
 * BadDigest). The ETag is compared with the MD5 of the bytes sent only where S3 defines it as
 * that MD5: not for SSE-KMS (`x-amz-server-side-encryption: aws:kms`) nor multipart ETags
 * ("…-N"), where it is opaque and the server-side checksum is the whole check. */
#include "storage/storage_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERROR_BODY_MAX 65536 /* enough for any S3 error document; more is not kept */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool s3_init_addressing(storage *st, awm_error *err)
{
    pthread_once(&g_curl_once, curl_init_once);
    const storage_config *c = &st->cfg;
    if (c->endpoint[0]) {
        snprintf(st->origin, sizeof st->origin, "%s", c->endpoint);
        snprintf(st->host, sizeof st->host, "%s", strstr(c->endpoint, "://") + 3);
        st->path_style = true;
    } else {
        /* us-east-1 also answers on the legacy global name, which AWS's own examples sign. */
        bool global = !strcmp(c->region, "us-east-1");
        /* Dotted bucket names do not match the *.s3 TLS certificate: use path style. */
        st->path_style = strchr(c->bucket, '.') != NULL;
        if (st->path_style)
            snprintf(st->host, sizeof st->host, global ? "s3.amazonaws.com" : "s3.%s.amazonaws.com",
                     c->region);
        else if (global)
            snprintf(st->host, sizeof st->host, "%s.s3.amazonaws.com", c->bucket);
        else
            snprintf(st->host, sizeof st->host, "%s.s3.%s.amazonaws.com", c->bucket, c->region);
        snprintf(st->origin, sizeof st->origin, "https://%s", st->host);
    }
    if (st->path_style)
        snprintf(st->bucket_path, sizeof st->bucket_path, "/%s", c->bucket);
    else
        st->bucket_path[0] = '\0';
    (void)err;
    return true;
}

/* ---- XML error bodies ------------------------------------------------------------------------ */

/* Text of the first <tag>…</tag> in body[0..len), entities decoded, into out. */
static bool xml_element_text(const char *body, size_t len, const char *tag, char *out, size_t size)
{
    out[0] = '\0';
    char open[40], close[40];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    size_t olen = strlen(open), clen = strlen(close);
    const char *start = NULL;
    for (size_t i = 0; i + olen <= len; i++)
        if (!memcmp(body + i, open, olen)) {
            start = body + i + olen;
            break;
        }
    if (!start)
        return false;
    const char *end = NULL, *limit = body + len;
    for (const char *p = start; p + clen <= limit; p++)
        if (!memcmp(p, close, clen)) {
            end = p;
            break;
        }
    if (!end)
        end = limit; /* truncated body: keep what there is */
    size_t o = 0;
    for (const char *p = start; p < end && o + 1 < size;) {
        char ch = *p;
        if (ch == '&') {
            static const struct { const char *ent; char ch; } ents[] = {
                {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
            size_t used = 0;
            for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++) {
                size_t el = strlen(ents[k].ent);
                if ((size_t)(end - p) >= el && !memcmp(p, ents[k].ent, el)) {
                    ch = ents[k].ch;
                    used = el;
                    break;
                }
            }
            if (!used && end - p >= 4 && p[1] == '#') { /* &#NN; / &#xNN; below 128 */
                const char *q = p + 2;
                int base = 10;
                if (q < end && (*q == 'x' || *q == 'X')) {
                    base = 16;
                    q++;
                }
                long v = 0;
                const char *digits = q;
                while (q < end && q - digits < 6 &&
                       (base == 16 ? g_ascii_isxdigit(*q) : g_ascii_isdigit(*q))) {
                    v = v * base + g_ascii_xdigit_value(*q);
                    q++;
                }
                if (q > digits && q < end && *q == ';' && v > 0 && v < 128) {
                    ch = (char)v;
                    used = (size_t)(q + 1 - p);
                }
            }
            p += used ? used : 1;
        } else {
            p++;
        }
        out[o++] = (unsigned char)ch < 0x20 || ch == 0x7f ? ' ' : ch;
    }
    out[o] = '\0';
    return true;
}

bool s3_parse_error_xml(const char *body, size_t len, char *code, size_t code_size, char *message,
                        size_t message_size)
{
    bool has_code = body && xml_element_text(body, len, "Code", code, code_size) && code[0];
    if (!body || !xml_element_text(body, len, "Message", message, message_size))
        message[0] = '\0';
    if (!has_code)
        code[0] = '\0';
    return has_code;
}

/* ---- one signed request, with retries ------------------------------------------------------- */

typedef struct {
    const char *method;        /* PUT (with `upload`) or DELETE */
    const char *url;
    const char *what;          /* s3://bucket/key, for messages */
    /* upload (PUT) */
    FILE *upload;
    curl_off_t upload_size;
    const char *content_type;
    const char *checksum_sha256; /* base64 SHA-256 of the file, sent as x-amz-checksum-sha256 */
    GChecksum *md5;            /* of the bytes actually sent in the last attempt */
    /* response */
    long status;
    char etag[128];
    bool sse_kms;              /* x-amz-server-side-encryption: aws:kms (or aws:kms:dsse) */
    awm_buf body;              /* error bodies (first ERROR_BODY_MAX bytes) */
    int attempts_made;
} s3_request;

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata)
{
    s3_request *rq = userdata;
    size_t n = fread(buf, 1, size * nitems, rq->upload);
    if (n == 0 && ferror(rq->upload))
        return CURL_READFUNC_ABORT;
    g_checksum_update(rq->md5, (const guchar *)buf, (gssize)n);
    return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata)
{
    s3_request *rq = userdata;
    size_t n = size * nmemb;
    if (rq->body.len < ERROR_BODY_MAX)
        awm_buf_append(&rq->body, data, rq->body.len + n > ERROR_BODY_MAX
                                             ? ERROR_BODY_MAX - rq->body.len : n);
    return n;
}

static size_t on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    s3_request *rq = userdata;
    size_t n = size * nitems;
    static const char sse[] = "x-amz-server-side-encryption:";
    if (n > sizeof sse - 1 && !strncasecmp(data, sse, sizeof sse - 1)) {
        const char *v = data + sizeof sse - 1;
        size_t vl = n - (sizeof sse - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        rq->sse_kms = vl >= 7 && !strncasecmp(v, "aws:kms", 7);
    }
    if (n > 5 && !strncasecmp(data, "ETag:", 5)) {
        const char *v = data + 5;
        size_t vl = n - 5;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl < sizeof rq->etag) {
            memcpy(rq->etag, v, vl);
            rq->etag[vl] = '\0';
        }
    }
    return n;
}

/* Errors of the request itself (or of our file) that another attempt cannot fix. */
static bool curl_error_permanent(CURLcode rc)
{
    return rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
           rc == CURLE_READ_ERROR || rc == CURLE_ABORTED_BY_CALLBACK ||
           rc == CURLE_OUT_OF_MEMORY || rc == CURLE_NOT_BUILT_IN ||
           rc == CURLE_BAD_FUNCTION_ARGUMENT || rc == CURLE_UNKNOWN_OPTION ||
           rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

static void set_http_error(const s3_request *rq, awm_error *err)
{
    char code[128], message[512];
    const char *reason = rq->status == 404 ? "NotFound" : rq->status == 403 ? "Forbidden" : "";
    if (s3_parse_error_xml(rq->body.data, rq->body.len, code, sizeof code, message, sizeof message))
        awm_error_set(err, "S3 %s %s: %ld %s%s%s", rq->method, rq->what, rq->status, code,
                      message[0] ? ": " : "", message);
    else
        awm_error_set(err, "S3 %s %s: %ld %s", rq->method, rq->what, rq->status,
                      reason[0] ? reason : "(no error details)");
}

/* Perform rq (signed), retrying network errors, 429 and 5xx up to cfg.attempts times with a
 * doubling delay. True for a 2xx status. */
static bool s3_perform(const storage *st, s3_request *rq, awm_error *err)
{
    const storage_config *c = &st->cfg;
    CURL *curl = curl_easy_init();
    if (!curl) {
        awm_error_set(err, "S3 %s %s: cannot create a curl handle", rq->method, rq->what);
        return false;
    }
    char sigv4[128];
    snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", c->region);
    char ctype[300], checksum[80];
    struct curl_slist *headers = NULL;
    /* curl < 8 does not add the payload hash header S3 requires; UNSIGNED-PAYLOAD lets the
     * body stream from the file (its integrity is the x-amz-checksum-sha256 the server checks;
     * curl signs every header set here, that one included). */
    headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (rq->checksum_sha256) {
        snprintf(checksum, sizeof checksum, "x-amz-checksum-sha256: %s", rq->checksum_sha256);
        headers = curl_slist_append(headers, checksum);
    }
    if (rq->content_type) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s", rq->content_type);
        headers = curl_slist_append(headers, ctype);
    }
    bool ok = false;
    long delay = c->retry_delay_ms;
    for (int attempt = 1; attempt <= c->attempts; attempt++) {
        rq->attempts_made = attempt;
        rq->status = 0;
        rq->etag[0] = '\0';
        rq->sse_kms = false;
        rq->body.len = 0;
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, rq->url);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4);
        curl_easy_setopt(curl, CURLOPT_USERNAME, c->access_key_id);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, c->secret_access_key);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->request_timeout_s);
        /* A stalled transfer (under 1 KB/s for 60 s) fails long before the total timeout. */
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, rq);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, rq);
        if (rq->upload) {
            rewind(rq->upload);
            g_checksum_reset(rq->md5);
            curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, rq->upload_size);
            curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(curl, CURLOPT_READDATA, rq);
        } else {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->method);
        }
        CURLcode rc = curl_easy_perform(curl);
        bool retryable;
        if (rc != CURLE_OK) {
            if (rc == CURLE_ABORTED_BY_CALLBACK && rq->upload)
                awm_error_set(err, "S3 %s %s: cannot read the file being uploaded", rq->method,
                              rq->what);
            else
                awm_error_set(err, "S3 %s %s: %s", rq->method, rq->what, curl_easy_strerror(rc));
            retryable = !curl_error_permanent(rc);
        } else {
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rq->status);
            if (rq->status >= 200 && rq->status < 300) {
                ok = true;
                break;
            }
            set_http_error(rq, err);
            /* BadDigest: the body was damaged on the way; the next attempt re-reads the file. */
            char code[32], message[8];
            retryable = rq->status >= 500 || rq->status == 429 ||
                        (rq->status == 400 && rq->upload &&
                         s3_parse_error_xml(rq->body.data, rq->body.len, code, sizeof code, message,
                                            sizeof message) &&
                         !strcmp(code, "BadDigest"));
        }
        if (!retryable)
            break;
        if (attempt == c->attempts) {
            awm_error_prefix(err, "after %d attempts", attempt);
            break;
        }
        awm_log(AWM_LOG_WARN, "STORAGE_RETRY", "{s:s, s:i, s:i, s:s}", "object", rq->what,
                "attempt", attempt, "delayMs", (int)delay, "error", err ? err->msg : "");
        sleep_ms(delay);
        delay *= 2;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return ok;
}

/* The object's URL and its s3:// name for messages; false (with err set) when they do not fit. */
static bool object_url(const storage *st, const char *key, char *url, size_t url_size, char *what,
                       size_t what_size, awm_error *err)
{
    int u = snprintf(url, url_size, "%s%s/%s", st->origin, st->bucket_path, key);
    int w = snprintf(what, what_size, "s3://%s/%s", st->cfg.bucket, key);
    if (u < 0 || (size_t)u >= url_size || w < 0 || (size_t)w >= what_size) {
        awm_error_set(err, "S3 object key \"%.80s...\" is too long for a request URL", key);
        return false;
    }
    return true;
}

/* Base64 SHA-256 of fp's content into out (45 bytes); fp is left at its start. */
static bool file_sha256_base64(FILE *fp, char *out, size_t size)
{
    GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA256);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        g_checksum_update(sha, (const guchar *)buf, (gssize)n);
    bool ok = !ferror(fp);
    guint8 digest[32];
    gsize dlen = sizeof digest;
    g_checksum_get_digest(sha, digest, &dlen);
    g_checksum_free(sha);
    gchar *b64 = g_base64_encode(digest, dlen);
    snprintf(out, size, "%s", b64);
    g_free(b64);
    rewind(fp);
    return ok;
}

/* Whether S3 defines this ETag as the MD5 of the object: not under SSE-KMS, and not for a
 * multipart upload's "<md5 of the part MD5s>-<parts>". */
static bool etag_is_md5(const s3_request *rq)
{
    return !rq->sse_kms && !strchr(rq->etag, '-');
}

/* PUT a local file with its SHA-256 for the server to verify; on success the ETag, where it is
 * an MD5, equals "<md5 of what we sent>". */
static bool put_object(const storage *st, const char *path, const char *key,
                       const char *content_type, awm_error *err)
{
    char url[2048], what[1024];
    if (!object_url(st, key, url, sizeof url, what, sizeof what, err))
        return false;
    FILE *fp = fopen(path, "rb");
    struct stat sb;
    if (!fp || fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        awm_error_set(err, "S3 PUT %s: cannot read %s: %s", what, path,
                      fp ? "not a regular file" : strerror(errno));
        if (fp)
            fclose(fp);
        return false;
    }
    /* A single PUT takes at most 5 GiB; posters are far smaller, so no multipart upload. */
    if (sb.st_size > (off_t)5 * 1024 * 1024 * 1024) {
        awm_error_set(err, "S3 PUT %s: %s is %lld bytes, over the 5 GiB single-PUT limit", what,
                      path, (long long)sb.st_size);
        fclose(fp);
        return false;
    }
    char sha256[64];
    if (!file_sha256_base64(fp, sha256, sizeof sha256)) {
        awm_error_set(err, "S3 PUT %s: cannot read %s: %s", what, path, strerror(errno));
        fclose(fp);
        return false;
    }
    s3_request rq = {.method = "PUT", .url = url, .what = what, .upload = fp,
                     .upload_size = (curl_off_t)sb.st_size, .content_type = content_type,
                     .checksum_sha256 = sha256, .md5 = g_checksum_new(G_CHECKSUM_MD5)};
    bool ok = s3_perform(st, &rq, err);
    if (ok && etag_is_md5(&rq)) {
        char expected[40];
        snprintf(expected, sizeof expected, "\"%s\"", g_checksum_get_string(rq.md5));
        if (strcasecmp(rq.etag, expected)) {
            awm_error_set(err, "S3 PUT %s: ETag %s does not match the MD5 of the %lld bytes sent (%s)",
                          what, rq.etag[0] ? rq.etag : "(missing)", (long long)sb.st_size,
                          expected);
            ok = false;
        }
    }
    g_checksum_free(rq.md5);
    awm_buf_free(&rq.body);
    fclose(fp);
    return ok;
}

static bool delete_object(const storage *st, const char *key, awm_error *err)
{
    char url[2048], what[1024];
    if (!object_url(st, key, url, sizeof url, what, sizeof what, err))
        return false;
    s3_request rq = {.method = "DELETE", .url = url, .what = what};
    bool ok = s3_perform(st, &rq, err);
    awm_buf_free(&rq.body);
    return ok;
}

bool s3_check(storage *st, awm_error *err)
{
    char name[96], key[700];
    snprintf(name, sizeof name, ".awm-probe-%ld-%d", (long)time(NULL), (int)getpid());
    if (!storage_object_key(st, name, key, sizeof key)) {
        awm_error_set(err, "S3_PREFIX is too long");
        return false;
    }
    const char *tmpdir = getenv("TMPDIR");
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/awm-s3-probe-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (n < 0 || (size_t)n >= sizeof path) {
        awm_error_set(err, "storage check: TMPDIR is too long (%zu bytes at most)", sizeof path - 20);
        return false;
    }
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        awm_error_set(err, "storage check: cannot create a temp file %s: %s", path, strerror(errno));
        return false;
    }
    static const char probe[] = "awm storage check\n";
    bool wrote = write(fd, probe, sizeof probe - 1) == (ssize_t)(sizeof probe - 1);
    close(fd);
    bool ok = wrote && put_object(st, path, key, "text/plain", err);
    if (!wrote)
        awm_error_set(err, "storage check: cannot write %s", path);
    unlink(path);
    if (!ok)
        return false;
    /* The probe proved reachability, credentials and write access. Deleting it is tidiness:
     * a policy without s3:DeleteObject only earns a warning. */
    awm_error derr = {{0}};
    if (!delete_object(st, key, &derr))
        awm_log(AWM_LOG_WARN, "STORAGE_PROBE_LEFT", "{s:s, s:s}", "key", key, "error", derr.msg);
    return true;
}

bool s3_delete(storage *st, const char *name, awm_error *err)
{
    char key[700];
    if (!storage_object_key(st, name, key, sizeof key)) {
        awm_error_set(err, "S3 object key for %s is too long", name);
        return false;
    }
    return delete_object(st, key, err); /* S3 answers 204 for a key that is not there */
}

char *s3_put_file(storage *st, const char *local_path, const char *name, const char *content_type,
                  awm_error *err)
{
    char key[700];
    if (!storage_object_key(st, name, key, sizeof key)) {
        awm_error_set(err, "S3 object key for %s is too long", name);
        return NULL;
    }
    if (!put_object(st, local_path, key, content_type, err))
        return NULL;
    unlink(local_path);
    char *loc = awm_xmalloc(strlen(st->cfg.bucket) + strlen(key) + 8);
    sprintf(loc, "s3://%s/%s", st->cfg.bucket, key);
    return loc;
}

/* ---- presigned GET (SigV4 query-string authentication) --------------------------------------
 * AWS "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)":
 *   canonical request = GET \n <URI> \n <sorted query without X-Amz-Signature> \n
 *                       host:<host> \n \n host \n UNSIGNED-PAYLOAD
 *   string to sign    = AWS4-HMAC-SHA256 \n <YYYYMMDDTHHMMSSZ> \n <scope> \n hex(SHA256(canonical))
 *   signing key       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), "s3"), "aws4_request")
 *   signature         = hex(HMAC(signing key, string to sign))
 * Object keys are restricted to unreserved characters and '/', so the URI needs no encoding;
 * the credential (which has '/') is percent-encoded. */

static void hmac_sha256(const guint8 *key, gsize key_len, const char *data, guint8 out[32])
{
    GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, key, key_len);
    g_hmac_update(h, (const guchar *)data, (gssize)strlen(data));
    gsize n = 32;
    g_hmac_get_digest(h, out, &n);
    g_hmac_unref(h);
}

/* RFC 3986 percent-encoding of everything but unreserved characters (AWS's UriEncode). */
static void uri_encode(awm_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (g_ascii_isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
            awm_buf_append(b, s, 1);
        else
            awm_buf_printf(b, "%%%02X", ch);
    }
}

char *s3_presign_get_at(const storage *st, const char *name, long expires_s, time_t now,
                        awm_error *err)
{
    const storage_config *c = &st->cfg;
    char key[700];
    if (!storage_object_key(st, name, key, sizeof key)) {
        awm_error_set(err, "S3 object key for %s is too long", name);
        return NULL;
    }
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[20], date[10];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);

    awm_buf credential = {0}, query = {0}, canonical = {0}, to_sign = {0}, url = {0};
    awm_buf_printf(&credential, "%s/%s/%s/s3/aws4_request", c->access_key_id, date, c->region);
    /* Already in sorted order, as the canonical form requires. */
    awm_buf_printf(&query, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=");
    uri_encode(&query, credential.data);
    awm_buf_printf(&query, "&X-Amz-Date=%s&X-Amz-Expires=%ld&X-Amz-SignedHeaders=host", stamp,
                   expires_s);

    awm_buf_printf(&canonical, "GET\n%s/%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", st->bucket_path,
                   key, query.data, st->host);
    gchar *canonical_hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, canonical.data, -1);
    awm_buf_printf(&to_sign, "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", stamp, date,
                   c->region, canonical_hash);
    g_free(canonical_hash);

    char secret_key[sizeof c->secret_access_key + 8];
    snprintf(secret_key, sizeof secret_key, "AWS4%s", c->secret_access_key);
    guint8 k[32], sig[32];
    hmac_sha256((const guint8 *)secret_key, strlen(secret_key), date, k);
    explicit_bzero(secret_key, sizeof secret_key);
    hmac_sha256(k, 32, c->region, k);
    hmac_sha256(k, 32, "s3", k);
    hmac_sha256(k, 32, "aws4_request", k);
    hmac_sha256(k, 32, to_sign.data, sig);
    explicit_bzero(k, sizeof k);

    awm_buf_printf(&url, "%s%s/%s?%s&X-Amz-Signature=", st->origin, st->bucket_path, key,
                   query.data);
    for (int i = 0; i < 32; i++)
        awm_buf_printf(&url, "%02x", sig[i]);
    awm_buf_free(&credential);
    awm_buf_free(&query);
    awm_buf_free(&canonical);
    awm_buf_free(&to_sign);
    (void)err;
    return url.data;
}
