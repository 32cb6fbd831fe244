/* test_definition.c — the map definition rules of MAPS-AND-PRINT.md §1: one case per rule, each
 * checking the exact message and JSON path; all violations at once; UTF-8; defaults; overrides;
 * the biggest definition; the sample map. */
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>

#include "map/map.h"
#include "test.h"
#include "util/util.h"

/* A valid map touching every field: person 0 has a colour, person 1 does not. */
static const char *const BASE =
    "{\"title\":\"Family\",\"subtitle\":\"Sub\",\"people\":["
    "{\"id\":\"alice\",\"name\":\"Alice\",\"color\":\"#FF6B6B\",\"locations\":["
    "{\"longitude\":-74.006,\"latitude\":40.7128,\"date\":\"2010-01-01\",\"countryCode\":\"US\",\"name\":\"New York\"},"
    "{\"longitude\":-0.1276,\"latitude\":51.5074,\"date\":\"2015-06-15\",\"countryCode\":\"GB\",\"name\":\"London\"}]},"
    "{\"id\":\"bob\",\"name\":\"Bob\",\"locations\":["
    "{\"longitude\":2.35,\"latitude\":48.85},"
    "{\"longitude\":151.2,\"latitude\":-33.87,\"date\":\"2021-11-15\"}]}]}";

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
    if (!j) {
        fprintf(stderr, "test JSON does not load: %s: %s\n", e.text, text);
        abort();
    }
    return j;
}

/* BASE with one field set (value: JSON text) or removed (value NULL). where: "" for the top
 * level, "p1" for people[1], "p0l1" for people[0].locations[1]. */
static json_t *with(const char *where, const char *key, const char *value)
{
    json_t *root = load(BASE), *obj = root;
    unsigned p, l;
    if (sscanf(where, "p%ul%u", &p, &l) == 2)
        obj = json_array_get(json_object_get(json_array_get(json_object_get(root, "people"), p), "locations"), l);
    else if (sscanf(where, "p%u", &p) == 1)
        obj = json_array_get(json_object_get(root, "people"), p);
    if (value)
        json_object_set_new(obj, key, load(value));
    else
        json_object_del(obj, key);
    return root;
}

/* Validate `root` (consumed) and check the violations are exactly the expected ones, in order. */
static void expect_at(int line, json_t *root, ...)
{
    map_definition def;
    map_violations v;
    bool ok = map_definition_from_json(root, &def, &v);
    va_list ap;
    va_start(ap, root);
    size_t n = 0;
    const char *want;
    bool same = true;
    while ((want = va_arg(ap, const char *))) {
        if (n >= v.count || strcmp(v.items[n], want)) {
            same = false;
            fprintf(stderr, "line %d: violation %zu: want \"%s\", got \"%s\"\n", line, n, want,
                    n < v.count ? v.items[n] : "(none)");
        }
        n++;
    }
    va_end(ap);
    CHECK_MSG(same && n == v.count, "line %d: want %zu violations, got %zu", line, n, v.count);
    CHECK_MSG(ok == (n == 0), "line %d: result %d", line, ok);
    if (!ok)
        CHECK_MSG(def.people == NULL && def.title == NULL, "line %d: definition not cleared", line);
    map_definition_free(&def);
    map_violations_free(&v);
    json_decref(root);
}
#define EXPECT(root, ...) expect_at(__LINE__, root, __VA_ARGS__, (const char *)NULL)
#define EXPECT_VALID(root) expect_at(__LINE__, root, (const char *)NULL)

static char *repeat(const char *unit, size_t n)
{
    size_t u = strlen(unit);
    char *s = awm_xmalloc(u * n + 3);
    s[0] = '"';
    for (size_t i = 0; i < n; i++)
        memcpy(s + 1 + i * u, unit, u);
    s[1 + u * n] = '"';
    s[2 + u * n] = '\0';
    return s;
}

/* ---- the sample and the values it parses to ---- */

static void sample_map_is_valid_and_parses_to_its_values(void)
{
    char path[4096], *text = NULL;
    size_t len;
    awm_error err;
    snprintf(path, sizeof path, "%s/assets/sample-map.json", awm_env_str("AWM_SOURCE_ROOT", "."));
    CHECK_MSG(awm_read_file(path, &text, &len, &err), "%s", err.msg);
    if (!text)
        return;
    map_definition d;
    map_violations v;
    CHECK(map_definition_parse(text, len, &d, &v));
    CHECK_INT_EQ(v.count, 0);
    CHECK_STR_EQ(d.title, "Our Family Journey");
    CHECK_STR_EQ(d.subtitle, "2010–2024");
    CHECK_INT_EQ(d.projection, GEO_PROJ_ORTHOGRAPHIC);
    CHECK(d.theme == map_theme_find("antique-parchment"));
    CHECK_INT_EQ(d.person_count, 2);
    if (d.person_count == 2) {
        map_person *a = &d.people[0], *b = &d.people[1];
        CHECK_STR_EQ(a->id, "alice");
        CHECK_STR_EQ(a->name, "Alice");
        CHECK(a->has_color && a->color == 0xFF6B6B);
        CHECK(b->has_color && b->color == 0x4ECDC4);
        CHECK_INT_EQ(a->location_count, 3);
        CHECK_INT_EQ(b->location_count, 3);
        CHECK_STR_EQ(a->locations[2].name, "Tokyo");
        CHECK_STR_EQ(a->locations[2].country_code, "JP");
        CHECK_STR_EQ(a->locations[2].date, "2020-03-20");
        CHECK_NEAR(a->locations[2].longitude, 139.6917, 0);
        CHECK_NEAR(a->locations[2].latitude, 35.6895, 0);
        CHECK_NEAR(b->locations[2].latitude, -33.8688, 0);
    }
    CHECK_NEAR(d.rotation[0], -20, 0);
    CHECK_NEAR(d.rotation[1], -30, 0);
    CHECK_NEAR(d.rotation[2], 0, 0);
    map_definition_free(&d);
    map_violations_free(&v);
    free(text);
}

static void defaults_are_applied(void)
{
    map_definition d;
    map_violations v;
    const char *text = "{\"title\":\"  T  \",\"people\":[{\"id\":\"a\",\"name\":\"A\"}]}";
    CHECK(map_definition_parse(text, strlen(text), &d, &v));
    CHECK_STR_EQ(d.title, "T"); /* stored trimmed */
    CHECK_STR_EQ(d.subtitle, "");
    CHECK_INT_EQ(d.projection, GEO_PROJ_ORTHOGRAPHIC);
    CHECK(d.rotation[0] == -20 && d.rotation[1] == -30 && d.rotation[2] == 0);
    CHECK(d.zoom == 1);
    CHECK(d.pan[0] == 0 && d.pan[1] == 0);
    CHECK(d.theme == map_theme_find("antique-parchment"));
    CHECK_STR_EQ(d.qr_url, "https://alwaysmap.com");
    CHECK(d.legend);                       /* the legend is on by default */
    CHECK_INT_EQ(d.labels, MAP_LABELS_NONE); /* labels are off */
    CHECK(d.person_count == 1 && d.people[0].location_count == 0 && d.people[0].locations == NULL);
    CHECK(d.person_count == 1 && !d.people[0].has_color && d.people[0].color == 0xc1666b);
    map_definition_free(&d);
    map_violations_free(&v);

    /* null in an optional field means "not given" */
    json_t *root = with("", "zoom", "null");
    json_object_set_new(root, "subtitle", json_null());
    CHECK(map_definition_from_json(root, &d, &v));
    CHECK(d.zoom == 1);
    CHECK_STR_EQ(d.subtitle, "");
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
}

static void all_fields_parse_to_their_values(void)
{
    json_t *root = load(BASE);
    json_object_set_new(root, "projection", json_string("naturalEarth1"));
    json_object_set_new(root, "rotation", load("[10.5, -20, 5]"));
    json_object_set_new(root, "zoom", json_real(2.5));
    json_object_set_new(root, "pan", load("[-30, 40.25]"));
    json_object_set_new(root, "theme", json_string("warm-earth"));
    json_object_set_new(root, "qrUrl", json_string("http://example.com/x?y=1"));
    json_object_set_new(root, "somethingNew", load("{\"kept\": true}")); /* unknown: ignored */
    map_definition d;
    map_violations v;
    CHECK(map_definition_from_json(root, &d, &v));
    CHECK_INT_EQ(d.projection, GEO_PROJ_NATURAL_EARTH1);
    CHECK(d.rotation[0] == 10.5 && d.rotation[1] == -20 && d.rotation[2] == 5);
    CHECK(d.zoom == 2.5);
    CHECK(d.pan[0] == -30 && d.pan[1] == 40.25);
    CHECK(d.theme == map_theme_find("warm-earth"));
    CHECK_STR_EQ(d.qr_url, "http://example.com/x?y=1");
    CHECK_STR_EQ(d.subtitle, "Sub");
    CHECK(d.people[1].locations[0].name == NULL);
    CHECK_STR_EQ(d.people[1].locations[0].date, "");
    CHECK_STR_EQ(d.people[1].locations[0].country_code, "");
    CHECK(d.people[0].color == 0xFF6B6B && d.people[0].has_color);
    CHECK(d.people[1].color == 0x6a994e && !d.people[1].has_color); /* warm-earth palette[1] */
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);

    const char *projections[] = {"orthographic", "equirectangular", "mercator", "naturalEarth1", "robinson"};
    for (int k = 0; k < 5; k++) {
        char value[40];
        snprintf(value, sizeof value, "\"%s\"", projections[k]);
        root = with("", "projection", value);
        CHECK(map_definition_from_json(root, &d, &v));
        CHECK_INT_EQ(d.projection, k);
        map_definition_free(&d);
        map_violations_free(&v);
        json_decref(root);
    }
}

/* ---- one case per rule ---- */

static void title_rules(void)
{
    EXPECT(with("", "title", NULL), "title: is required");
    EXPECT(with("", "title", "null"), "title: is required");
    EXPECT(with("", "title", "5"), "title: must be a string, got number");
    EXPECT(with("", "title", "\"\""), "title: must not be empty");
    EXPECT(with("", "title", "\" \\t\\n \""), "title: must not be empty (only whitespace)");
    EXPECT(with("", "title", "\"a\\nb\""), "title: must not contain control characters (U+000A at character 2)");
    EXPECT(with("", "title", "\"a\\u007fb\""), "title: must not contain control characters (U+007F at character 2)");
    EXPECT_VALID(with("", "title", "\"\\nTitle with trailing newline\\n\""));
    char *t200 = repeat("x", 200), *t201 = repeat("x", 201);
    EXPECT_VALID(with("", "title", t200));
    EXPECT(with("", "title", t201), "title: must be at most 200 characters (got 201)");
    free(t200);
    free(t201);
    /* the limit applies after trimming: 200 characters between spaces are fine */
    char *x200 = repeat("x", 200);
    char *padded = awm_xmalloc(strlen(x200) + 8);
    sprintf(padded, "\"  %.200s \\t\"", x200 + 1);
    EXPECT_VALID(with("", "title", padded));
    free(x200);
    free(padded);
}

static void title_counts_characters_not_bytes(void)
{
    /* 200 CJK characters are 600 bytes: accepted; 201 are not. */
    char *cjk200 = repeat("地", 200), *cjk201 = repeat("地", 201);
    CHECK_INT_EQ(strlen(cjk200), 602);
    json_t *root = with("", "title", cjk200);
    map_definition d;
    map_violations v;
    CHECK(map_definition_from_json(root, &d, &v));
    CHECK(d.title && strlen(d.title) == 600);
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
    EXPECT(with("", "title", cjk201), "title: must be at most 200 characters (got 201)");
    free(cjk200);
    free(cjk201);
    /* emoji are one code point each (4 bytes) */
    char *emoji = repeat("🌍", 200);
    EXPECT_VALID(with("", "title", emoji));
    free(emoji);
    /* accents, Arabic, a multi-script title */
    EXPECT_VALID(with("", "title", "\"Familie Müller — عائلة — 家族 🌍\""));
}

static void subtitle_rules(void)
{
    char *s200 = repeat("é", 200), *s201 = repeat("é", 201);
    EXPECT_VALID(with("", "subtitle", "\"\""));
    EXPECT_VALID(with("", "subtitle", s200));
    EXPECT(with("", "subtitle", s201), "subtitle: must be at most 200 characters (got 201)");
    EXPECT(with("", "subtitle", "[]"), "subtitle: must be a string, got array");
    free(s200);
    free(s201);
}

static void people_rules(void)
{
    EXPECT(with("", "people", NULL), "people: is required");
    EXPECT(with("", "people", "{}"), "people: must be an array, got object");
    EXPECT(with("", "people", "[]"), "people: must have at least 1 entry");
    EXPECT(with("", "people", "[\"alice\"]"), "people[0]: must be an object, got string");
    EXPECT(with("p1", "id", NULL), "people[1].id: is required");
    EXPECT(with("p1", "id", "7"), "people[1].id: must be a string, got number");
    EXPECT(with("p1", "id", "\"\""), "people[1].id: must not be empty");
    char *id64 = repeat("i", 64), *id65 = repeat("i", 65);
    EXPECT_VALID(with("p1", "id", id64));
    EXPECT(with("p1", "id", id65), "people[1].id: must be at most 64 characters (got 65)");
    free(id64);
    free(id65);
    EXPECT(with("p1", "id", "\"alice\""), "people[1].id: duplicate id \"alice\" (also the id of people[0])");
    EXPECT(with("p1", "name", NULL), "people[1].name: is required");
    EXPECT(with("p1", "name", "true"), "people[1].name: must be a string, got boolean");
    EXPECT(with("p1", "name", "\"   \""), "people[1].name: must not be empty (only whitespace)");
    char *n100 = repeat("ñ", 100), *n101 = repeat("ñ", 101);
    EXPECT_VALID(with("p1", "name", n100));
    EXPECT(with("p1", "name", n101), "people[1].name: must be at most 100 characters (got 101)");
    free(n100);
    free(n101);
    EXPECT(with("p1", "locations", "{}"), "people[1].locations: must be an array, got object");
    EXPECT(with("p1", "locations", "[1]"), "people[1].locations[0]: must be an object, got number");
    EXPECT_VALID(with("p1", "locations", "[]"));
    EXPECT_VALID(with("p1", "locations", NULL));
}

static void duplicate_ids_name_both_indices(void)
{
    json_t *root = load("{\"title\":\"T\",\"people\":[{\"id\":\"x\",\"name\":\"A\"},{\"id\":\"y\",\"name\":\"B\"},"
                        "{\"id\":\"x\",\"name\":\"C\"},{\"id\":\"y\",\"name\":\"D\"},{\"id\":\"x\",\"name\":\"E\"}]}");
    EXPECT(root, "people[2].id: duplicate id \"x\" (also the id of people[0])",
           "people[3].id: duplicate id \"y\" (also the id of people[1])",
           "people[4].id: duplicate id \"x\" (also the id of people[0])");
}

static void color_rules(void)
{
    EXPECT(with("p1", "color", "\"red\""), "people[1].color: must be a color #RRGGBB (got \"red\")");
    EXPECT(with("p1", "color", "\"#12345\""), "people[1].color: must be a color #RRGGBB (got \"#12345\")");
    EXPECT(with("p1", "color", "\"#12345G\""), "people[1].color: must be a color #RRGGBB (got \"#12345G\")");
    EXPECT(with("p1", "color", "\"123456\""), "people[1].color: must be a color #RRGGBB (got \"123456\")");
    EXPECT(with("p1", "color", "255"), "people[1].color: must be a string, got number");
    /* case-insensitive hex */
    json_t *root = with("p1", "color", "\"#aBcDeF\"");
    map_definition d;
    map_violations v;
    CHECK(map_definition_from_json(root, &d, &v));
    CHECK(d.people[1].has_color && d.people[1].color == 0xABCDEF);
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
}

static void palette_cycles_by_person_index(void)
{
    json_t *root = load("{\"title\":\"T\",\"theme\":\"cool-blue\",\"people\":[]}");
    json_t *people = json_object_get(root, "people");
    for (int i = 0; i < 9; i++) {
        char id[8];
        snprintf(id, sizeof id, "p%d", i);
        json_t *p = json_pack("{s:s, s:s}", "id", id, "name", id);
        if (i == 2)
            json_object_set_new(p, "color", json_string("#010203"));
        json_array_append_new(people, p);
    }
    map_definition d;
    map_violations v;
    CHECK(map_definition_from_json(root, &d, &v));
    const map_theme *t = map_theme_find("cool-blue");
    CHECK_INT_EQ(d.person_count, 9);
    for (size_t i = 0; i < d.person_count; i++) {
        uint32_t want = i == 2 ? 0x010203 : t->palette[i % MAP_PALETTE_SIZE];
        CHECK_MSG(d.people[i].color == want, "person %zu: %06x, want %06x", i, d.people[i].color, want);
    }
    CHECK(d.people[7].color == 0xe63946); /* index 7 wraps to the first palette colour */
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
}

static void location_coordinate_rules(void)
{
    EXPECT(with("p1l0", "latitude", "91"), "people[1].locations[0].latitude: must be between -90 and 90 (got 91)");
    EXPECT(with("p1l0", "latitude", "-90.5"), "people[1].locations[0].latitude: must be between -90 and 90 (got -90.5)");
    EXPECT_VALID(with("p1l0", "latitude", "-90"));
    EXPECT_VALID(with("p1l0", "latitude", "90"));
    EXPECT(with("p0l1", "longitude", "180.0001"),
           "people[0].locations[1].longitude: must be between -180 and 180 (got 180.0001)");
    EXPECT_VALID(with("p0l1", "longitude", "-180"));
    EXPECT(with("p0l1", "longitude", NULL), "people[0].locations[1].longitude: is required");
    EXPECT(with("p0l1", "latitude", NULL), "people[0].locations[1].latitude: is required");
    EXPECT(with("p0l1", "latitude", "\"51.5\""), "people[0].locations[1].latitude: must be a number, got string");
    EXPECT(with("p0l1", "longitude", "[1]"), "people[0].locations[1].longitude: must be a number, got array");
}

static void location_date_rules(void)
{
    EXPECT(with("p1l1", "date", "\"2021-2-3\""), "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"2021-2-3\")");
    EXPECT(with("p1l1", "date", "\"15/11/2021\""), "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"15/11/2021\")");
    EXPECT(with("p1l1", "date", "\"2021-11-15T00:00:00Z\""),
           "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"2021-11-15T00:00:00Z\")");
    EXPECT(with("p1l1", "date", "20211115"), "people[1].locations[1].date: must be a string, got number");
    EXPECT(with("p1l1", "date", "\"2023-02-29\""), "people[1].locations[1].date: is not a real calendar date (got \"2023-02-29\")");
    EXPECT(with("p1l1", "date", "\"2100-02-29\""), "people[1].locations[1].date: is not a real calendar date (got \"2100-02-29\")");
    EXPECT(with("p1l1", "date", "\"2023-04-31\""), "people[1].locations[1].date: is not a real calendar date (got \"2023-04-31\")");
    EXPECT(with("p1l1", "date", "\"2023-13-01\""), "people[1].locations[1].date: is not a real calendar date (got \"2023-13-01\")");
    EXPECT(with("p1l1", "date", "\"2023-00-10\""), "people[1].locations[1].date: is not a real calendar date (got \"2023-00-10\")");
    EXPECT(with("p1l1", "date", "\"2023-01-00\""), "people[1].locations[1].date: is not a real calendar date (got \"2023-01-00\")");
    EXPECT_VALID(with("p1l1", "date", "\"2024-02-29\""));
    EXPECT_VALID(with("p1l1", "date", "\"2000-02-29\""));
    EXPECT_VALID(with("p1l1", "date", "\"2023-12-31\""));
    /* people often know only the year, or the month */
    EXPECT_VALID(with("p1l1", "date", "\"2021\""));
    EXPECT_VALID(with("p1l1", "date", "\"2021-12\""));
    EXPECT(with("p1l1", "date", "\"202\""), "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"202\")");
    EXPECT(with("p1l1", "date", "\"2021-1\""), "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"2021-1\")");
    EXPECT(with("p1l1", "date", "\"2021/12\""), "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"2021/12\")");
    EXPECT(with("p1l1", "date", "\"2021-\""), "people[1].locations[1].date: must be a date YYYY, YYYY-MM or YYYY-MM-DD (got \"2021-\")");
    EXPECT(with("p1l1", "date", "\"2021-13\""), "people[1].locations[1].date: is not a real calendar date (got \"2021-13\")");
    EXPECT(with("p1l1", "date", "\"2021-00\""), "people[1].locations[1].date: is not a real calendar date (got \"2021-00\")");
    EXPECT(with("p1l1", "date", "\"0000\""), "people[1].locations[1].date: is not a real calendar date (got \"0000\")");
    json_t *root = with("p1l1", "date", "\"1987-06\"");
    map_definition d;
    map_violations v;
    CHECK(map_definition_from_json(root, &d, &v));
    if (d.person_count == 2) {
        CHECK_STR_EQ(d.people[1].locations[1].date, "1987-06");
        CHECK_INT_EQ(map_location_year(&d.people[1].locations[1]), 1987);
        CHECK_INT_EQ(map_location_year(&d.people[1].locations[0]), 0); /* undated */
    }
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
}

static void locations_are_in_chronological_order(void)
{
    EXPECT(with("p0l1", "date", "\"2009-12-31\""),
           "people[0].locations[1].date: 2009-12-31 is before 2010-01-01, the date of locations[0]; "
           "locations must be in chronological order");
    EXPECT_VALID(with("p0l1", "date", "\"2010-01-01\"")); /* the same day is fine */
    /* an undated location in between keeps its place */
    json_t *root = with("p0", "locations", "[{\"longitude\":1,\"latitude\":1,\"date\":\"2000-01-01\"},"
                                           "{\"longitude\":2,\"latitude\":2},"
                                           "{\"longitude\":3,\"latitude\":3,\"date\":\"1999-01-01\"}]");
    EXPECT(root, "people[0].locations[2].date: 1999-01-01 is before 2000-01-01, the date of locations[0]; "
                 "locations must be in chronological order");
    /* dates of different precision compare at the precision they share */
    EXPECT_VALID(with("p0l1", "date", "\"2010\""));    /* 2010 is not before 2010-01-01 */
    EXPECT_VALID(with("p0l1", "date", "\"2010-01\""));
    EXPECT(with("p0l1", "date", "\"2009\""), "people[0].locations[1].date: 2009 is before 2010-01-01, the date of "
                                            "locations[0]; locations must be in chronological order");
    root = with("p0", "locations", "[{\"longitude\":1,\"latitude\":1,\"date\":\"2000-06\"},"
                                   "{\"longitude\":2,\"latitude\":2,\"date\":\"2000\"},"
                                   "{\"longitude\":3,\"latitude\":3,\"date\":\"2000-05-31\"}]");
    EXPECT(root, "people[0].locations[2].date: 2000-05-31 is before 2000-06, the date of locations[0]; "
                 "locations must be in chronological order");
}

static void location_country_and_name_rules(void)
{
    EXPECT(with("p0l0", "countryCode", "\"XX\""),
           "people[0].locations[0].countryCode: must be an ISO 3166-1 alpha-2 country code, like \"US\" (got \"XX\")");
    EXPECT(with("p0l0", "countryCode", "\"XK\""),
           "people[0].locations[0].countryCode: must be an ISO 3166-1 alpha-2 country code, like \"US\" (got \"XK\")");
    EXPECT(with("p0l0", "countryCode", "\"USA\""),
           "people[0].locations[0].countryCode: must be an ISO 3166-1 alpha-2 country code, like \"US\" (got \"USA\")");
    EXPECT(with("p0l0", "countryCode", "\"us\""),
           "people[0].locations[0].countryCode: must be an ISO 3166-1 alpha-2 country code in upper case, like \"US\" (got \"us\")");
    EXPECT(with("p0l0", "countryCode", "1"), "people[0].locations[0].countryCode: must be a string, got number");
    const char *good[] = {"\"AD\"", "\"ZW\"", "\"SS\"", "\"CW\"", "\"AX\"", "\"TW\"", "\"PS\""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        EXPECT_VALID(with("p0l0", "countryCode", good[i]));
    EXPECT_VALID(with("p0l0", "name", "\"\""));
    char *n100 = repeat("ö", 100), *n101 = repeat("ö", 101);
    EXPECT_VALID(with("p0l0", "name", n100));
    EXPECT(with("p0l0", "name", n101), "people[0].locations[0].name: must be at most 100 characters (got 101)");
    free(n100);
    free(n101);
    EXPECT(with("p0l0", "name", "{}"), "people[0].locations[0].name: must be a string, got object");
}

static void projection_rules(void)
{
    EXPECT(with("", "projection", "\"globe\""),
           "projection: must be one of orthographic, equirectangular, mercator, naturalEarth1, robinson (got \"globe\")");
    EXPECT(with("", "projection", "\"Mercator\""),
           "projection: must be one of orthographic, equirectangular, mercator, naturalEarth1, robinson (got \"Mercator\")");
    EXPECT(with("", "projection", "3"), "projection: must be a string, got number");
}

static void rotation_rules(void)
{
    EXPECT(with("", "rotation", "[1, 2]"), "rotation: must have exactly 3 numbers [λ, φ, γ] (got 2)");
    EXPECT(with("", "rotation", "[1, 2, 3, 4]"), "rotation: must have exactly 3 numbers [λ, φ, γ] (got 4)");
    EXPECT(with("", "rotation", "\"0,0,0\""), "rotation: must be an array [λ, φ, γ], got string");
    EXPECT(with("", "rotation", "[1, \"2\", null]"), "rotation[1]: must be a number, got string",
           "rotation[2]: must be a number, got null");
    EXPECT_VALID(with("", "rotation", "[-720, 45.5, 1000]"));
}

static void zoom_rules(void)
{
    EXPECT(with("", "zoom", "0"), "zoom: must be greater than 0 and at most 20 (got 0)");
    EXPECT(with("", "zoom", "-1.5"), "zoom: must be greater than 0 and at most 20 (got -1.5)");
    EXPECT(with("", "zoom", "20.5"), "zoom: must be greater than 0 and at most 20 (got 20.5)");
    EXPECT(with("", "zoom", "\"2\""), "zoom: must be a number, got string");
    EXPECT_VALID(with("", "zoom", "20"));
    EXPECT_VALID(with("", "zoom", "0.01"));
}

static void pan_rules(void)
{
    EXPECT(with("", "pan", "[1]"), "pan: must have exactly 2 numbers [dx, dy] (got 1)");
    EXPECT(with("", "pan", "{\"x\":1}"), "pan: must be an array [dx, dy], got object");
    EXPECT(with("", "pan", "[true, 0]"), "pan[0]: must be a number, got boolean");
    EXPECT(with("", "pan", "[0, 100001]"), "pan[1]: must be between -100000 and 100000 pt (got 100001)");
    EXPECT(with("", "pan", "[-1e300, 0]"), "pan[0]: must be between -100000 and 100000 pt (got -1e+300)");
    EXPECT_VALID(with("", "pan", "[-100000, 250.5]"));
}

static void theme_rules(void)
{
    EXPECT(with("", "theme", "\"dark\""),
           "theme: unknown theme \"dark\"; the themes are antique-parchment, cool-blue, modern-gray, warm-earth");
    EXPECT(with("", "theme", "{}"), "theme: must be a string, got object");
    EXPECT_VALID(with("", "theme", "\"modern-gray\""));
}

static void qr_url_rules(void)
{
    EXPECT(with("", "qrUrl", "42"), "qrUrl: must be a string or null, got number");
    /* null and "" leave the QR code off; absent gives the default */
    const char *off[] = {"null", "\"\""};
    for (int k = 0; k < 2; k++) {
        json_t *root = with("", "qrUrl", off[k]);
        map_definition d;
        map_violations v;
        CHECK(map_definition_from_json(root, &d, &v));
        CHECK(d.title && d.qr_url == NULL);
        map_definition_free(&d);
        map_violations_free(&v);
        json_decref(root);
    }
    EXPECT(with("", "qrUrl", "\"ftp://example.com\""), "qrUrl: must be an http or https URL with a host (got \"ftp://example.com\")");
    EXPECT(with("", "qrUrl", "\"example.com\""), "qrUrl: must be an http or https URL with a host (got \"example.com\")");
    EXPECT(with("", "qrUrl", "\"https:///path\""), "qrUrl: must be an http or https URL with a host (got \"https:///path\")");
    EXPECT(with("", "qrUrl", "\"https://ex ample.com\""), "qrUrl: must not contain spaces or control characters (at character 11)");
    EXPECT(with("", "qrUrl", "\"https://例子.com\""), "qrUrl: must contain only ASCII characters (percent-encode others)");
    /* at most 2000 characters */
    char *u2000 = awm_xmalloc(2003), *u2001 = awm_xmalloc(2004);
    strcpy(u2000, "\"https://alwaysmap.com/");
    size_t l = strlen(u2000);
    memset(u2000 + l, 'a', 2001 - l);
    u2000[2001] = '"';
    u2000[2002] = '\0';
    strcpy(u2001, u2000);
    u2001[2001] = 'a';
    u2001[2002] = '"';
    u2001[2003] = '\0';
    EXPECT_VALID(with("", "qrUrl", u2000));
    EXPECT(with("", "qrUrl", u2001), "qrUrl: must be at most 2000 characters (got 2001)");
    free(u2000);
    free(u2001);
    EXPECT_VALID(with("", "qrUrl", "\"HTTPS://AlwaysMap.com/m/123?ref=poster#top\""));
}

static void legend_and_labels_rules(void)
{
    EXPECT(with("", "legend", "\"yes\""), "legend: must be a boolean, got string");
    EXPECT(with("", "legend", "1"), "legend: must be a boolean, got number");
    EXPECT(with("", "labels", "\"all\""), "labels: must be one of none, places, places-and-years (got \"all\")");
    EXPECT(with("", "labels", "true"), "labels: must be a string, got boolean");
    EXPECT(with("", "labels", "\"Places\""), "labels: must be one of none, places, places-and-years (got \"Places\")");
    EXPECT_VALID(with("", "legend", "null")); /* null: the default */
    struct {
        const char *key, *value;
        bool legend;
        map_labels labels;
    } cases[] = {{"legend", NULL, true, MAP_LABELS_NONE},          {"legend", "false", false, MAP_LABELS_NONE},
                 {"legend", "true", true, MAP_LABELS_NONE},        {"labels", "\"none\"", true, MAP_LABELS_NONE},
                 {"labels", "\"places\"", true, MAP_LABELS_PLACES},
                 {"labels", "\"places-and-years\"", true, MAP_LABELS_PLACES_AND_YEARS}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        json_t *root = with("", cases[k].key, cases[k].value);
        map_definition d;
        map_violations v;
        CHECK(map_definition_from_json(root, &d, &v));
        CHECK_MSG(d.legend == cases[k].legend && d.labels == cases[k].labels, "case %zu", k);
        map_definition_free(&d);
        map_violations_free(&v);
        json_decref(root);
    }
    /* every new field wrong at once, each reported with its path */
    json_t *root = load(BASE);
    json_object_set_new(root, "legend", json_string("no"));
    json_object_set_new(root, "labels", json_integer(2));
    json_object_set_new(root, "qrUrl", json_false());
    json_object_set_new(json_array_get(json_object_get(json_array_get(json_object_get(root, "people"), 0), "locations"), 0),
                        "date", json_string("2010-02-30"));
    EXPECT(root, "people[0].locations[0].date: is not a real calendar date (got \"2010-02-30\")",
           "qrUrl: must be a string or null, got boolean", "legend: must be a boolean, got string",
           "labels: must be a string, got number");
}

static void warnings_of_the_definition(void)
{
    /* labels asked for where no location has a name: a warning, not an error */
    json_t *root = with("", "labels", "\"places\"");
    json_t *people = json_object_get(root, "people");
    for (size_t i = 0; i < json_array_size(people); i++) {
        json_t *locs = json_object_get(json_array_get(people, i), "locations");
        for (size_t k = 0; k < json_array_size(locs); k++)
            json_object_del(json_array_get(locs, k), "name");
    }
    map_definition d;
    map_violations v, w = {0};
    CHECK(map_definition_from_json(root, &d, &v));
    map_definition_warnings(&d, &w);
    CHECK_INT_EQ(w.count, 1);
    if (w.count)
        CHECK_STR_EQ(w.items[0], "labels: no location has a name, so no place label is drawn");
    map_violations_free(&w);
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
    /* with a name somewhere, or labels off: none */
    root = with("", "labels", "\"places-and-years\"");
    CHECK(map_definition_from_json(root, &d, &v));
    map_definition_warnings(&d, &w);
    CHECK_INT_EQ(w.count, 0);
    map_violations_free(&w);
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(root);
}

static void root_must_be_an_object(void)
{
    EXPECT(load("[]"), "the map definition must be a JSON object, got array");
    EXPECT(load("\"map\""), "the map definition must be a JSON object, got string");
    map_definition d;
    map_violations v;
    CHECK(!map_definition_from_json(NULL, &d, &v));
    CHECK(v.count == 1 && !strcmp(v.items[0], "the map definition must be a JSON object, got nothing"));
    map_violations_free(&v);
}

static void many_violations_are_reported_at_once(void)
{
    json_t *root = load(BASE);
    json_object_set_new(root, "title", json_string(""));
    json_object_set_new(root, "zoom", json_integer(0));
    json_object_set_new(root, "theme", json_string("nope"));
    json_t *people = json_object_get(root, "people");
    json_object_set_new(json_array_get(people, 0), "color", json_string("blue"));
    json_t *loc = json_array_get(json_object_get(json_array_get(people, 1), "locations"), 0);
    json_object_set_new(loc, "latitude", json_integer(-100));
    json_object_set_new(loc, "countryCode", json_string("ZZ"));
    EXPECT(root, "title: must not be empty", "people[0].color: must be a color #RRGGBB (got \"blue\")",
           "people[1].locations[0].latitude: must be between -90 and 90 (got -100)",
           "people[1].locations[0].countryCode: must be an ISO 3166-1 alpha-2 country code, like \"US\" (got \"ZZ\")",
           "zoom: must be greater than 0 and at most 20 (got 0)",
           "theme: unknown theme \"nope\"; the themes are antique-parchment, cool-blue, modern-gray, warm-earth");
}

/* ---- text: JSON syntax, UTF-8, NUL ---- */

static void parse_expect(int line, const char *text, size_t len, const char *want)
{
    map_definition d;
    map_violations v;
    CHECK_MSG(!map_definition_parse(text, len, &d, &v), "line %d: accepted", line);
    CHECK_MSG(v.count == 1 && !strcmp(v.items[0], want), "line %d: got %zu: \"%s\", want \"%s\"", line,
              v.count, v.count ? v.items[0] : "", want);
    map_violations_free(&v);
    map_definition_free(&d);
}
#define PARSE_EXPECT(text, want) parse_expect(__LINE__, text, sizeof(text) - 1, want)

static void invalid_json_names_line_and_column(void)
{
    PARSE_EXPECT("{\"title\": \"T\",\n \"people\": [}\n", "invalid JSON at line 2, column 13: unexpected token near '}'");
    PARSE_EXPECT("", "invalid JSON at line 1, column 0: '[' or '{' expected near end of file");
    PARSE_EXPECT("{\"title\":\"T\"} x", "invalid JSON at line 1, column 15: end of file expected near 'x'");
    /* a \u0000 escape is refused (NUL is never allowed inside strings) */
    map_definition d;
    map_violations v;
    const char *nul = "{\"title\":\"a\\u0000b\",\"people\":[{\"id\":\"a\",\"name\":\"A\"}]}";
    CHECK(!map_definition_parse(nul, strlen(nul), &d, &v));
    CHECK(v.count == 1 && !strncmp(v.items[0], "invalid JSON at line 1, column ", 31) && strstr(v.items[0], "\\u0000"));
    map_violations_free(&v);
    CHECK(!map_definition_parse(NULL, 0, &d, &v));
    CHECK_INT_EQ(v.count, 1);
    map_violations_free(&v);
}

static void invalid_utf8_is_rejected(void)
{
    PARSE_EXPECT("{\"title\":\"caf\xe9\",\"people\":[]}", "invalid UTF-8 at byte offset 13 (line 1, column 14)");
    PARSE_EXPECT("{\n\"title\":\"\xc3\"}", "invalid UTF-8 at byte offset 11 (line 2, column 10)");
    PARSE_EXPECT("{\"t\":\"\xc0\xaf\"}", "invalid UTF-8 at byte offset 6 (line 1, column 7)");         /* overlong '/' */
    PARSE_EXPECT("{\"t\":\"\xed\xa0\x80\"}", "invalid UTF-8 at byte offset 6 (line 1, column 7)");     /* surrogate */
    PARSE_EXPECT("{\"t\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8 at byte offset 6 (line 1, column 7)"); /* > U+10FFFF */
    /* a BOM is not an error */
    const char *bom = "\xEF\xBB\xBF{\"title\":\"T\",\"people\":[{\"id\":\"a\",\"name\":\"A\"}]}";
    map_definition d;
    map_violations v;
    CHECK(map_definition_parse(bom, strlen(bom), &d, &v));
    map_definition_free(&d);
    map_violations_free(&v);

    /* strings built in memory bypass jansson's own checks: NUL and bad UTF-8 are still caught */
    json_t *root = load(BASE);
    json_object_set_new(root, "title", json_stringn("a\0b", 3));
    json_object_set_new(json_array_get(json_object_get(root, "people"), 0), "name",
                        json_string_nocheck("Al\xffice"));
    EXPECT(root, "title: must not contain NUL characters (at character 2)",
           "people[0].name: must be valid UTF-8 (malformed at byte offset 2)");
}

static void messages_quote_user_text_safely(void)
{
    /* a long, hostile value is cut and escaped; every message stays valid UTF-8 */
    char *longtheme = repeat("\\u0007界", 100);
    json_t *root = with("", "theme", longtheme);
    map_definition d;
    map_violations v;
    CHECK(!map_definition_from_json(root, &d, &v));
    CHECK(v.count == 1 && strlen(v.items[0]) < 400);
    CHECK(v.count == 1 && strstr(v.items[0], "\"\\u0007界\\u0007界") && strstr(v.items[0], "…\""));
    json_t *arr = map_violations_json(&v);
    CHECK(json_array_size(arr) == 1 && json_is_string(json_array_get(arr, 0)));
    json_decref(arr);
    char *joined = map_violations_join(&v, "\n");
    CHECK(joined && !strcmp(joined, v.items[0]));
    free(joined);
    map_violations_free(&v);
    json_decref(root);
    free(longtheme);
}

/* ---- overrides ---- */

static void overrides_win_and_are_validated(void)
{
    json_t *user = load(BASE);
    json_object_set_new(user, "zoom", json_real(3));
    json_object_set_new(user, "theme", json_string("cool-blue"));
    json_t *over = load("{\"projection\":\"mercator\",\"rotation\":[5,6,7],\"zoom\":1.5,\"pan\":[10,-10],"
                        "\"theme\":\"modern-gray\",\"title\":\"ignored\",\"widthInches\":18}");
    map_definition d;
    map_violations v;
    CHECK(map_definition_from_json_with_overrides(user, over, &d, &v));
    CHECK_INT_EQ(d.projection, GEO_PROJ_MERCATOR);
    CHECK(d.rotation[0] == 5 && d.rotation[1] == 6 && d.rotation[2] == 7);
    CHECK(d.zoom == 1.5);
    CHECK(d.pan[0] == 10 && d.pan[1] == -10);
    CHECK(d.theme == map_theme_find("modern-gray"));
    CHECK_STR_EQ(d.title, "Family"); /* only the five overridable fields are taken */
    CHECK(d.people[1].color == map_theme_find("modern-gray")->palette[1]);
    map_definition_free(&d);
    map_violations_free(&v);
    /* the user's map is not modified */
    CHECK(json_real_value(json_object_get(user, "zoom")) == 3);
    CHECK(!json_object_get(user, "projection"));
    json_decref(over);

    /* null overrides keep the user's values */
    over = load("{\"zoom\":null,\"theme\":null}");
    CHECK(map_definition_from_json_with_overrides(user, over, &d, &v));
    CHECK(d.zoom == 3 && d.theme == map_theme_find("cool-blue"));
    map_definition_free(&d);
    map_violations_free(&v);
    json_decref(over);
    CHECK(map_definition_from_json_with_overrides(user, NULL, &d, &v));
    map_definition_free(&d);
    map_violations_free(&v);

    /* bad overrides are reported by the field's name, with the user map's own violations */
    json_object_set_new(user, "title", json_string(""));
    over = load("{\"zoom\":0,\"theme\":\"neon\",\"rotation\":[1,2],\"projection\":\"flat\",\"pan\":[0,\"1\"]}");
    CHECK(!map_definition_from_json_with_overrides(user, over, &d, &v));
    const char *want[] = {
        "title: must not be empty",
        "projection: must be one of orthographic, equirectangular, mercator, naturalEarth1, robinson (got \"flat\")",
        "rotation: must have exactly 3 numbers [λ, φ, γ] (got 2)",
        "zoom: must be greater than 0 and at most 20 (got 0)",
        "pan[1]: must be a number, got string",
        "theme: unknown theme \"neon\"; the themes are antique-parchment, cool-blue, modern-gray, warm-earth",
    };
    CHECK_INT_EQ(v.count, 6);
    for (size_t i = 0; i < 6 && i < v.count; i++)
        CHECK_STR_EQ(v.items[i], want[i]);
    map_violations_free(&v);
    json_decref(over);

    over = load("[1]");
    CHECK(!map_definition_from_json_with_overrides(user, over, &d, &v));
    CHECK(v.count == 2 && !strcmp(v.items[0], "overrides: must be an object, got array") &&
          !strcmp(v.items[1], "title: must not be empty"));
    map_violations_free(&v);
    json_decref(over);
    json_decref(user);
}

/* ---- limits ---- */

static json_t *big_map(size_t people, size_t locations)
{
    json_t *root = json_pack("{s:s, s:[]}", "title", "Big", "people");
    json_t *arr = json_object_get(root, "people");
    for (size_t i = 0; i < people; i++) {
        char id[16];
        snprintf(id, sizeof id, "person-%zu", i);
        json_t *locs = json_array();
        for (size_t k = 0; k < locations; k++)
            json_array_append_new(locs, json_pack("{s:f, s:f, s:s, s:s, s:s}", "longitude", -179.0 + (double)(k % 358),
                                                  "latitude", -89.0 + (double)(k % 178), "date", "2020-01-01",
                                                  "countryCode", "FR", "name", "Ville"));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "id", id, "name", "Name", "locations", locs));
    }
    return root;
}

static void biggest_definition_is_accepted(void)
{
    /* 100 people x 1000 locations is over MAP_MAX_DEFINITION_BYTES (1 MiB of compact JSON, the
     * API's default body limit): refused, naming the size and the limit. */
    json_t *root = big_map(MAP_MAX_PEOPLE, MAP_MAX_LOCATIONS);
    size_t full = json_dumpb(root, NULL, 0, JSON_COMPACT);
    CHECK(full > MAP_MAX_DEFINITION_BYTES);
    char want[300];
    snprintf(want, sizeof want, "the map definition is %zu bytes as compact JSON, at most 1048576 "
             "(1 MiB): fewer places or shorter names", full);
    EXPECT(root, want); /* consumes root */
    root = NULL;

    /* 100 people with as many places each as fit, then their names grown so the text lands on
     * the limit exactly, through the text parser like the API gets it: accepted; one byte more
     * is not. */
    size_t places = MAP_MAX_LOCATIONS * MAP_MAX_DEFINITION_BYTES / full + 1, size;
    do {
        json_decref(root);
        root = big_map(MAP_MAX_PEOPLE, --places);
        size = json_dumpb(root, NULL, 0, JSON_COMPACT);
    } while (size > MAP_MAX_DEFINITION_BYTES);
    size_t room = MAP_MAX_DEFINITION_BYTES - size;
    json_t *people = json_object_get(root, "people");
    for (size_t i = 0; i < MAP_MAX_PEOPLE && room; i++) {
        size_t add = room < MAP_MAX_PERSON_NAME - 4 ? room : MAP_MAX_PERSON_NAME - 4;
        char name[MAP_MAX_PERSON_NAME + 1] = "Name";
        memset(name + 4, 'n', add);
        name[4 + add] = '\0';
        json_object_set_new(json_array_get(people, i), "name", json_string(name));
        room -= add;
    }
    CHECK_INT_EQ(room, 0);
    char *text = json_dumps(root, JSON_COMPACT);
    CHECK_INT_EQ(strlen(text), MAP_MAX_DEFINITION_BYTES);
    map_definition d;
    map_violations v;
    CHECK(map_definition_parse(text, strlen(text), &d, &v));
    CHECK_INT_EQ(v.count, 0);
    CHECK_INT_EQ(d.person_count, 100);
    CHECK(d.person_count == 100 && !strcmp(d.people[99].id, "person-99") &&
          d.people[99].location_count == places &&
          !strcmp(d.people[99].locations[places - 1].name, "Ville"));
    map_definition_free(&d);
    map_violations_free(&v);
    free(text);
    json_object_set_new(root, "subtitle", json_string("")); /* ,"subtitle":"" is 14 bytes more */
    size = json_dumpb(root, NULL, 0, JSON_COMPACT);
    snprintf(want, sizeof want, "the map definition is %zu bytes as compact JSON, at most 1048576 "
             "(1 MiB): fewer places or shorter names", size);
    CHECK(size > MAP_MAX_DEFINITION_BYTES);
    EXPECT(root, want);
}

static void over_the_limits_is_rejected(void)
{
    EXPECT(big_map(MAP_MAX_PEOPLE + 1, 0), "people: must have at most 100 entries (got 101)");
    json_t *root = big_map(2, 1);
    json_t *locs = json_object_get(json_array_get(json_object_get(root, "people"), 1), "locations");
    for (int k = 1; k < MAP_MAX_LOCATIONS + 1; k++)
        json_array_append_new(locs, json_pack("{s:i, s:i}", "longitude", 0, "latitude", 0));
    EXPECT(root, "people[1].locations: must have at most 1000 entries (got 1001)");
}

static void violations_are_capped_for_hostile_input(void)
{
    json_t *root = json_pack("{s:s, s:[]}", "title", "T", "people");
    json_t *arr = json_object_get(root, "people");
    for (int i = 0; i < 5000; i++)
        json_array_append_new(arr, json_integer(i));
    map_definition d;
    map_violations v;
    CHECK(!map_definition_from_json(root, &d, &v));
    /* 1 (too many people) + 5000 (not objects) found; 1000 listed, then the count of the rest */
    CHECK_INT_EQ(v.count, MAP_MAX_VIOLATIONS + 1);
    CHECK_STR_EQ(v.items[0], "people: must have at most 100 entries (got 5000)");
    CHECK_STR_EQ(v.items[1], "people[0]: must be an object, got number");
    CHECK_STR_EQ(v.items[v.count - 1], "(4001 more violations not listed)");
    map_violations_free(&v);
    json_decref(root);
}

int main(void)
{
    RUN(sample_map_is_valid_and_parses_to_its_values);
    RUN(defaults_are_applied);
    RUN(all_fields_parse_to_their_values);
    RUN(title_rules);
    RUN(title_counts_characters_not_bytes);
    RUN(subtitle_rules);
    RUN(people_rules);
    RUN(duplicate_ids_name_both_indices);
    RUN(color_rules);
    RUN(palette_cycles_by_person_index);
    RUN(location_coordinate_rules);
    RUN(location_date_rules);
    RUN(locations_are_in_chronological_order);
    RUN(location_country_and_name_rules);
    RUN(projection_rules);
    RUN(rotation_rules);
    RUN(zoom_rules);
    RUN(pan_rules);
    RUN(theme_rules);
    RUN(qr_url_rules);
    RUN(legend_and_labels_rules);
    RUN(warnings_of_the_definition);
    RUN(root_must_be_an_object);
    RUN(many_violations_are_reported_at_once);
    RUN(invalid_json_names_line_and_column);
    RUN(invalid_utf8_is_rejected);
    RUN(messages_quote_user_text_safely);
    RUN(overrides_win_and_are_validated);
    RUN(biggest_definition_is_accepted);
    RUN(over_the_limits_is_rejected);
    RUN(violations_are_capped_for_hostile_input);
    return TEST_EXIT();
}
