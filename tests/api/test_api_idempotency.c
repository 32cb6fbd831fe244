/* test_api_idempotency.c — POST /api/maps and POST /api/export honour Idempotency-Key (SYSTEM.md
 * §3), over real HTTP against `awm serve` (argv[1]) and a private PostgreSQL: a retry with the
 * same key gets the first answer (status and body) and creates no second print job or queue job;
 * the same key with another body is 422; another caller's same key is its own; a key longer than
 * the bound is 400; two requests racing with one key make one job; an expired key (24 h) is
 * fresh again; the edit token of a map is never stored in clear. */
#include <pthread.h>

#include "api_fixture.h"

#define MAP_A                                                                                      \
    "{\"title\":\"The Silva Family\",\"people\":[{\"id\":\"ana\",\"name\":\"Ana\",\"locations\":[" \
    "{\"longitude\":-46.63,\"latitude\":-23.55,\"name\":\"São Paulo\"}]}]}"

static fx_response post_keyed(const char *path, const char *key, const char *bearer, const char *body)
{
    char key_header[1200], auth[300];
    if (*key)
        snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", key);
    else /* curl drops "Name:" with no value; "Name;" sends it empty */
        snprintf(key_header, sizeof key_header, "Idempotency-Key;");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer ? bearer : "");
    const char *headers[] = {"Content-Type: application/json", key_header, bearer ? auth : NULL, NULL};
    return fx_http_ex("POST", path, headers, body, strlen(body), false);
}

static long count_rows(const char *sql, const char *p1)
{
    char *n = fx_sql_text(sql, p1);
    long v = n ? atol(n) : -1;
    free(n);
    return v;
}

static void make_map(char id[37])
{
    fx_response r = fx_http("POST", "/api/maps", MAP_A);
    CHECK_INT_EQ(r.status, 201);
    const char *s = json_string_value(json_object_get(json_object_get(r.json, "userMap"), "id"));
    snprintf(id, 37, "%s", s ? s : "");
    fx_response_free(&r);
}

static char *export_body(const char *map_id, const char *size)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"userMapId\":\"%s\",\"widthInches\":%s,\"heightInches\":%s}", map_id,
                   !strcmp(size, "small") ? "8" : "18", !strcmp(size, "small") ? "10" : "24");
    return b.data;
}

static long jobs_of(const char *map_id)
{
    return count_rows("SELECT count(*) FROM print_jobs j JOIN printable_maps pm ON pm.id = j.printable_map_id "
                      "WHERE pm.user_map_id = $1",
                      map_id);
}

static long queue_jobs_of(const char *map_id)
{
    return count_rows("SELECT count(*) FROM queue.job WHERE data->>'userMapId' = $1", map_id);
}

static void a_retried_export_gets_the_first_answer_and_makes_one_job(void)
{
    char map[37];
    make_map(map);
    char *body = export_body(map, "big");
    fx_response a = post_keyed("/api/export", "retry-0f6c2b2e-7d1a", NULL, body);
    fx_response b = post_keyed("/api/export", "retry-0f6c2b2e-7d1a", NULL, body);
    CHECK_INT_EQ(a.status, 202);
    CHECK_INT_EQ(b.status, 202);
    CHECK_STR_EQ(a.body, b.body);
    char replayed[16];
    CHECK_STR_EQ(fx_header(&b, "Idempotent-Replayed", replayed, sizeof replayed), "true");
    CHECK_STR_EQ(fx_header(&a, "Idempotent-Replayed", replayed, sizeof replayed), "");
    CHECK_INT_EQ(jobs_of(map), 1);
    CHECK_INT_EQ(queue_jobs_of(map), 1);
    /* Without a key every request is new, as before. */
    fx_response c = fx_http("POST", "/api/export", body);
    CHECK_INT_EQ(c.status, 202);
    CHECK(strcmp(fx_str(&c, "printJobId"), fx_str(&a, "printJobId")) != 0);
    CHECK_INT_EQ(jobs_of(map), 2);
    CHECK_INT_EQ(queue_jobs_of(map), 2);
    fx_response_free(&a);
    fx_response_free(&b);
    fx_response_free(&c);
    free(body);
}

static void a_retried_map_gets_the_first_answer_and_its_token_is_not_kept(void)
{
    const char *key = "map-4b1d9e0a-55c3";
    fx_response a = post_keyed("/api/maps", key, NULL, MAP_A);
    fx_response b = post_keyed("/api/maps", key, NULL, MAP_A);
    CHECK_INT_EQ(a.status, 201);
    CHECK_INT_EQ(b.status, 201);
    CHECK_STR_EQ(a.body, b.body); /* the same map and the same edit token */
    const char *token = fx_str(&a, "editToken");
    const char *id = json_string_value(json_object_get(json_object_get(a.json, "userMap"), "id"));
    CHECK(token && strlen(token) == 43 && id);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE data->>'title' = $1", "The Silva Family") >= 1,
                 1);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM user_maps WHERE id::text = $1", id), 1);
    /* The token works (it is the one whose hash was stored) and is nowhere in clear. */
    char path[128];
    snprintf(path, sizeof path, "/api/maps/%s", id);
    fx_response put = fx_http_bearer("PUT", path, token, MAP_A);
    CHECK_INT_EQ(put.status, 200);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM idempotency_keys WHERE response LIKE '%' || $1 || '%' OR "
                            "encode(sealed_secret, 'escape') LIKE '%' || $1 || '%'",
                            token),
                 0);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM idempotency_keys WHERE response LIKE '%' || $1 || '%'", key), 0);
    fx_response_free(&put);
    fx_response_free(&a);
    fx_response_free(&b);
}

static void the_same_key_with_another_body_is_422(void)
{
    char map[37];
    make_map(map);
    char *big = export_body(map, "big"), *small = export_body(map, "small");
    fx_response a = post_keyed("/api/export", "reuse-1", NULL, big);
    fx_response b = post_keyed("/api/export", "reuse-1", NULL, small);
    fx_response c = post_keyed("/api/maps", "reuse-1", NULL, MAP_A); /* another route is another request */
    CHECK_INT_EQ(a.status, 202);
    CHECK_INT_EQ(b.status, 422);
    CHECK(fx_str(&b, "error") && strstr(fx_str(&b, "error"), "Idempotency-Key"));
    CHECK_INT_EQ(c.status, 422);
    CHECK_INT_EQ(jobs_of(map), 1);
    fx_response_free(&a);
    fx_response_free(&b);
    fx_response_free(&c);
    free(big);
    free(small);
}

static void another_callers_same_key_is_its_own(void)
{
    char map[37];
    make_map(map);
    char *body = export_body(map, "big");
    fx_response a = post_keyed("/api/export", "shared-key", NULL, body);
    fx_response b = post_keyed("/api/export", "shared-key", "caller-b-credential", body);
    fx_response c = post_keyed("/api/export", "shared-key", "caller-c-credential", body);
    fx_response b2 = post_keyed("/api/export", "shared-key", "caller-b-credential", body);
    CHECK_INT_EQ(a.status, 202);
    CHECK_INT_EQ(b.status, 202);
    CHECK_INT_EQ(c.status, 202);
    CHECK(strcmp(fx_str(&a, "printJobId"), fx_str(&b, "printJobId")) != 0);
    CHECK(strcmp(fx_str(&b, "printJobId"), fx_str(&c, "printJobId")) != 0);
    CHECK_STR_EQ(b2.body, b.body);
    CHECK_INT_EQ(jobs_of(map), 3);
    fx_response_free(&a);
    fx_response_free(&b);
    fx_response_free(&c);
    fx_response_free(&b2);
    free(body);
}

static void a_key_beyond_the_bound_is_400(void)
{
    char map[37];
    make_map(map);
    char *body = export_body(map, "big");
    char key[300];
    memset(key, 'k', 256);
    key[256] = '\0';
    fx_response a = post_keyed("/api/export", key, NULL, body);
    CHECK_INT_EQ(a.status, 400);
    CHECK(fx_str(&a, "error") && strstr(fx_str(&a, "error"), "Idempotency-Key"));
    key[255] = '\0'; /* the bound itself is fine */
    fx_response b = post_keyed("/api/export", key, NULL, body);
    CHECK_INT_EQ(b.status, 202);
    fx_response c = post_keyed("/api/export", "", NULL, body);
    CHECK_INT_EQ(c.status, 400);
    CHECK_INT_EQ(jobs_of(map), 1);
    fx_response_free(&a);
    fx_response_free(&b);
    fx_response_free(&c);
    free(body);
}

typedef struct {
    const char *body;
    fx_response answer;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    r->answer = post_keyed("/api/export", "race-key", NULL, r->body);
    return NULL;
}

static void racing_requests_with_one_key_make_one_job(void)
{
    char map[37];
    make_map(map);
    char *body = export_body(map, "big");
    racer rs[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        rs[i].body = body;
        pthread_create(&t[i], NULL, race, &rs[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(rs[i].answer.status, 202);
        CHECK_STR_EQ(rs[i].answer.body, rs[0].answer.body);
    }
    for (int i = 0; i < 4; i++)
        fx_response_free(&rs[i].answer);
    CHECK_INT_EQ(jobs_of(map), 1);
    CHECK_INT_EQ(queue_jobs_of(map), 1);
    free(body);
}

static void an_expired_key_is_fresh_again_and_expired_rows_go(void)
{
    char map[37];
    make_map(map);
    char *big = export_body(map, "big"), *small = export_body(map, "small");
    fx_response a = post_keyed("/api/export", "old-key", NULL, big);
    CHECK_INT_EQ(a.status, 202);
    fx_response b = post_keyed("/api/export", "other-old-key", NULL, big);
    CHECK_INT_EQ(b.status, 202);
    char *aged = fx_sql_text("WITH u AS (UPDATE idempotency_keys SET created_at = now() - interval '25 hours' "
                             "WHERE response LIKE '%' || $1 || '%' RETURNING 1) SELECT count(*)::text FROM u",
                             fx_str(&b, "printJobId"));
    CHECK_STR_EQ(aged, "1");
    free(aged);
    aged = fx_sql_text("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE response LIKE "
                       "'%' || $1 || '%' RETURNING 'x'",
                       fx_str(&a, "printJobId"));
    free(aged);
    /* 24 h later the key means a new request, even with another body. */
    fx_response c = post_keyed("/api/export", "old-key", NULL, small);
    CHECK_INT_EQ(c.status, 202);
    CHECK(strcmp(fx_str(&c, "printJobId"), fx_str(&a, "printJobId")) != 0);
    CHECK_INT_EQ(jobs_of(map), 3);
    CHECK_INT_EQ(count_rows("SELECT count(*) FROM idempotency_keys WHERE created_at < now() - interval '24 hours' "
                            "AND $1::text IS NOT NULL",
                            "x"),
                 0);
    fx_response_free(&a);
    fx_response_free(&b);
    fx_response_free(&c);
    free(big);
    free(small);
}

int main(int argc, char **argv)
{
    fx_start(argc, argv);
    RUN(a_retried_export_gets_the_first_answer_and_makes_one_job);
    RUN(a_retried_map_gets_the_first_answer_and_its_token_is_not_kept);
    RUN(the_same_key_with_another_body_is_422);
    RUN(another_callers_same_key_is_its_own);
    RUN(a_key_beyond_the_bound_is_400);
    RUN(racing_requests_with_one_key_make_one_job);
    RUN(an_expired_key_is_fresh_again_and_expired_rows_go);
    RUN(fx_check_clean_shutdown);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
