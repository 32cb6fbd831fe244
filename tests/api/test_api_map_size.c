/* test_api_map_size.c — the limits agree (#18 item 12): the largest definition the validator
 * accepts (MAP_MAX_DEFINITION_BYTES of compact JSON, 100 people with the longest ids and names
 * and as many places as fit) is accepted by `awm serve` (argv[1]) with its default MAX_BODY_BYTES,
 * and one byte more is refused with a 413 naming the limit. The validator's own refusal (400
 * naming the byte limit, behind a larger MAX_BODY_BYTES) is in tests/limits/test_limits.c. */
#include "api_fixture.h"
#include "map/map.h"

#define LIMIT MAP_MAX_DEFINITION_BYTES

static size_t compact_size(const json_t *j)
{
    return json_dumpb(j, NULL, 0, JSON_COMPACT);
}

/* Longest-everything people (100, ids of 64 and names of 100 characters), then places until the
 * next would pass LIMIT, then the last place's name grown to land on exactly LIMIT + extra bytes. */
static char *largest_definition(size_t extra)
{
    char id[MAP_MAX_PERSON_ID + 1], name[MAP_MAX_PERSON_NAME + 1], title[MAP_MAX_TITLE + 1];
    memset(title, 'T', MAP_MAX_TITLE);
    title[MAP_MAX_TITLE] = '\0';
    json_t *root = json_pack("{s:s, s:s, s:[]}", "title", title, "subtitle", title, "people");
    json_t *people = json_object_get(root, "people");
    for (int p = 0; p < MAP_MAX_PEOPLE; p++) {
        snprintf(id, sizeof id, "%0*d", MAP_MAX_PERSON_ID, p);
        memset(name, 'a' + p % 26, MAP_MAX_PERSON_NAME);
        name[MAP_MAX_PERSON_NAME] = '\0';
        json_array_append_new(people, json_pack("{s:s, s:s, s:s, s:[]}", "id", id, "name", name,
                                                "color", "#336699", "locations"));
    }
    /* Places go round the people; each is the same size (numbers with exact binary forms). */
    json_t *place = json_pack("{s:f, s:f, s:s, s:s, s:s}", "longitude", -122.25, "latitude", 37.75,
                              "date", "1987-06-15", "countryCode", "US", "name", "");
    size_t place_size = compact_size(place) + 1; /* and its comma */
    json_t *last = NULL;
    size_t size = compact_size(root);
    for (int k = 0;; k++) {
        json_t *locs = json_object_get(json_array_get(people, (size_t)(k % MAP_MAX_PEOPLE)), "locations");
        size_t grow = json_array_size(locs) ? place_size : place_size - 1; /* a first has no comma */
        if (size + grow > LIMIT)
            break;
        CHECK(json_array_size(locs) < MAP_MAX_LOCATIONS);
        last = json_deep_copy(place);
        json_array_append_new(locs, last);
        size += grow;
    }
    json_decref(place);
    CHECK_INT_EQ(compact_size(root), size);
    size_t pad = LIMIT + extra - compact_size(root);
    CHECK_MSG(last && pad <= MAP_MAX_PLACE_NAME, "%zu bytes to pad", pad);
    char place_name[MAP_MAX_PLACE_NAME + 1];
    memset(place_name, 'n', pad);
    place_name[pad] = '\0';
    json_object_set_new(last, "name", json_string(place_name));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    CHECK_INT_EQ(strlen(text), LIMIT + extra);
    return text;
}

static void the_largest_valid_map_fits_the_default_body_limit(void)
{
    char *text = largest_definition(0);
    fx_response r = fx_http("POST", "/api/maps", text);
    CHECK_MSG(r.status == 201, "POST /api/maps (%zu bytes): %ld %.300s", strlen(text), r.status, r.body);
    const char *id = json_string_value(json_object_get(json_object_get(r.json, "userMap"), "id"));
    char path[128];
    snprintf(path, sizeof path, "/api/maps/%s", id ? id : "none");
    fx_response_free(&r);
    /* Stored whole: read back with the same people and places. */
    r = fx_http("GET", path, NULL);
    CHECK_INT_EQ(r.status, 200);
    json_t *sent = json_loads(text, 0, NULL);
    json_t *data = json_object_get(json_object_get(r.json, "userMap"), "data");
    CHECK(sent && data && json_equal(sent, data));
    json_decref(sent);
    fx_response_free(&r);
    free(text);
}

static void one_byte_more_is_refused_naming_the_limit(void)
{
    char *text = largest_definition(1);
    fx_response r = fx_http("POST", "/api/maps", text);
    CHECK_INT_EQ(r.status, 413);
    CHECK_MSG(strstr(fx_str(&r, "error") ?: "", "larger than 1048576 bytes"), "%s", r.body);
    CHECK_INT_EQ(json_integer_value(json_object_get(r.json, "limit")), LIMIT);
    fx_response_free(&r);
    free(text);
}

int main(int argc, char **argv)
{
    fx_start(argc, argv);
    /* The fixture runs with a small MAX_BODY_BYTES; this test is about the default. */
    kill(fx_server, SIGTERM);
    CHECK_INT_EQ(tk_wait(fx_server, 20), 0);
    unsetenv("MAX_BODY_BYTES");
    fx_port = fx_free_port();
    fx_server = fx_spawn_serve(fx_port, fx_log_path);
    if (fx_server <= 0) {
        fx_cleanup();
        return 1;
    }
    RUN(the_largest_valid_map_fits_the_default_body_limit);
    RUN(one_byte_more_is_refused_naming_the_limit);
    RUN(fx_check_clean_shutdown);
    fx_cleanup();
    curl_global_cleanup();
    return TEST_EXIT();
}
