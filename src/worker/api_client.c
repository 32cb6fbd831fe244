/* api_client.c — the worker's calls to the API server with libcurl: JSON in and out,
 * a bearer key on every request, timeouts, and a few retries with doubling back-off for
 * answers that may succeed later (no answer, 5xx, 408, 429). */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "worker/worker_internal.h"

#define API_MAX_ANSWER_BYTES (4L * 1024 * 1024)

bool worker_http_status_is_fatal(long status)
{
    /* 401/403 say this worker's key is wrong, not that the job is: another worker (or this
     * one, fixed) can still do it, so the job is retried rather than dropped. */
    if (status == 0 || status == 401 || status == 403 || status == 408 || status == 429)
        return false;
    return status >= 400 && status < 500;
}

bool worker_seed_answer_is_fatal(long status, const char *message)
{
    static const char *const FATAL[] = {"not found", "bad request", "unprocessable entity", "validation failed",
                                        "invalid page size", "invalid dimensions", "no print specification found"};
    if (status != 400 || !message)
        return false;
    char lower[600];
    size_t n = 0;
    for (; message[n] && n < sizeof lower - 1; n++)
        lower[n] = (char)tolower((unsigned char)message[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof FATAL / sizeof *FATAL; i++)
        if (strstr(lower, FATAL[i]))
            return true;
    return false;
}

static bool retryable(long status)
{
    return status == 0 || status == 408 || status == 429 || status >= 500;
}

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    awm_buf *b = user;
    size_t len = size * n;
    if (b->len + len > (size_t)API_MAX_ANSWER_BYTES)
        return 0; /* curl reports a write error: a runaway answer is not buffered */
    awm_buf_append(b, data, len);
    return len;
}

bool worker_api_init(worker_api *api, const worker_config *cfg, awm_error *err)
{
    memset(api, 0, sizeof *api);
    api->cfg = cfg;
    api->curl = curl_easy_init();
    if (!api->curl) {
        awm_error_set(err, "could not create a libcurl handle");
        return false;
    }
    api->headers = curl_slist_append(NULL, "Content-Type: application/json");
    api->headers = curl_slist_append(api->headers, "Accept: application/json");
    if (cfg->api_key[0]) {
        char auth[600]; /* fits: api_key is at most 511 bytes */
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->api_key);
        api->headers = curl_slist_append(api->headers, auth);
    }
    return true;
}

void worker_api_cleanup(worker_api *api)
{
    if (api->curl)
        curl_easy_cleanup(api->curl);
    curl_slist_free_all(api->headers);
    memset(api, 0, sizeof *api);
}

void worker_api_result_free(worker_api_result *r)
{
    json_decref(r->body);
    r->body = NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static void call_once(worker_api *api, const char *method, const char *url, const char *body,
                      worker_api_result *r)
{
    CURL *c = api->curl;
    awm_buf answer = {0};
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, api->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, api->cfg->api_timeout_s < 10 ? (long)api->cfg->api_timeout_s : 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)api->cfg->api_timeout_s);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(c);
    r->status = 0;
    r->body = NULL;
    r->error[0] = '\0';
    if (rc != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "%s %s: %s", method, url, curl_err[0] ? curl_err : curl_easy_strerror(rc));
        awm_buf_free(&answer);
        return;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (answer.len)
        r->body = json_loadb(answer.data, answer.len, 0, NULL);
    if (r->status < 200 || r->status >= 300) {
        const char *msg = json_string_value(json_object_get(r->body, "error"));
        snprintf(r->error, sizeof r->error, "%s %s answered %ld%s%s", method, url, r->status,
                 msg ? ": " : "", msg ? msg : "");
    }
    awm_buf_free(&answer);
}

void worker_api_call(worker_api *api, const char *method, const char *path, const json_t *body,
                     int attempts, worker_api_result *r)
{
    char url[2200];
    if (snprintf(url, sizeof url, "%s%s", api->cfg->api_url, path) >= (int)sizeof url) {
        r->status = 0; /* never call a URL cut short */
        r->body = NULL;
        snprintf(r->error, sizeof r->error, "%s %.100s...: the URL is too long", method, path);
        return;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    long delay = api->cfg->api_retry_delay_ms;
    if (attempts < 1)
        attempts = 1;
    for (int attempt = 1;; attempt++) {
        call_once(api, method, url, text, r);
        if (!retryable(r->status) || attempt >= attempts)
            break;
        awm_log(AWM_LOG_WARN, "API_RETRY", "{s:s, s:i, s:i, s:s, s:i}", "path", path, "attempt", attempt,
                "status", (int)r->status, "error", r->error, "retryInMs", (int)delay);
        worker_api_result_free(r);
        sleep_ms(delay);
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
    free(text);
}
