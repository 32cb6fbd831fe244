/* test_topojson.c — TopoJSON decoding (src/geo/topojson.c).
 *
 * Without arguments: small handcrafted topologies with exact expected coordinates (delta
 * decoding, transform rounding, arc reversal, stitching, padding, holes, MultiPolygon, nested
 * GeometryCollections, no transform) and malformed inputs that must fail with a message.
 * With a reference file (made by tests/oracle/topojson-reference.mjs from topojson-client, see
 * run_atlas_oracle.sh): the world-atlas layers must match topojson-client exactly. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "geo/geo.h"
#include "support/testkit.h"
#include "test.h"

static char tmp_dir[512];

/* Writes `json` to a file in the temp dir and loads `object` from it. */
static bool load_text(const char *json, const char *object, geo_layer *out, awm_error *err)
{
    char path[256];
    snprintf(path, sizeof path, "%s/t.json", tmp_dir);
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    fputs(json, fp);
    fclose(fp);
    bool ok = geo_layer_load(path, object, out, err);
    unlink(path);
    return ok;
}

static bool point_is(const geo_ring *r, size_t i, double x, double y)
{
    return i < r->count && r->points[i].x == x && r->points[i].y == y;
}

#define CHECK_POINT(ring_, idx_, ex_, ey_)                                                        \
    CHECK_MSG(point_is((ring_), (idx_), (ex_), (ey_)), "point %d is (%.17g, %.17g), expected (%.17g, %.17g)", \
              (int)(idx_), (idx_) < (ring_)->count ? (ring_)->points[idx_].x : NAN,                 \
              (idx_) < (ring_)->count ? (ring_)->points[idx_].y : NAN, (double)(ex_), (double)(ey_))

/* Deltas accumulate along an arc and restart at each arc; x = sum·kx + dx. */
static void test_quantized_delta_arcs(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    const char *json = "{\"type\":\"Topology\",\"transform\":{\"scale\":[0.5,0.25],\"translate\":[10,20]},"
                       "\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0,1]]}},"
                       "\"arcs\":[[[0,0],[2,0],[0,4]],[[2,4],[-2,-4]]]}";
    CHECK(load_text(json, "o", &layer, &err));
    CHECK_INT_EQ(layer.feature_count, 1);
    if (layer.feature_count == 1 && layer.features[0].polygon_count == 1) {
        const geo_ring *r = &layer.features[0].polygons[0].rings[0];
        CHECK_INT_EQ(r->count, 4);
        CHECK_POINT(r, 0, 10, 20);
        CHECK_POINT(r, 1, 11, 20);
        CHECK_POINT(r, 2, 11, 21); /* arc 1's first point (restarted sum 2,4), shared */
        CHECK_POINT(r, 3, 10, 20);
        CHECK(layer.features[0].id == NULL && layer.features[0].name == NULL);
    }
    geo_layer_free(&layer);
}

/* topojson-client rounds the product and the sum separately: 7·0.1 + 0.2 is 0.9000000000000001
 * in JavaScript (a fused multiply-add would give 0.9). */
static void test_transform_rounds_like_javascript(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    const char *json = "{\"type\":\"Topology\",\"transform\":{\"scale\":[0.1,0.1],\"translate\":[0.2,0.2]},"
                       "\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0]]}},"
                       "\"arcs\":[[[7,7],[1,0],[-1,1],[0,-1]]]}";
    CHECK(load_text(json, "o", &layer, &err));
    if (layer.feature_count == 1 && layer.features[0].polygon_count == 1) {
        const geo_ring *r = &layer.features[0].polygons[0].rings[0];
        CHECK_INT_EQ(r->count, 4);
        CHECK_POINT(r, 0, 0.9000000000000001, 0.9000000000000001);
        CHECK_POINT(r, 1, 1, 0.9000000000000001);
        CHECK_POINT(r, 2, 0.9000000000000001, 1);
    }
    geo_layer_free(&layer);
}

/* ~1 (-2) walks arc 1 backwards; its first point (after reversal) joins arc 0's last. */
static void test_reversed_arcs_and_no_transform(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    const char *json = "{\"type\":\"Topology\",\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0,-2]]}},"
                       "\"arcs\":[[[0.5,0],[1,0],[1,1.25]],[[0.5,0],[0,1],[1,1.25]]]}";
    CHECK(load_text(json, "o", &layer, &err));
    if (layer.feature_count == 1 && layer.features[0].polygon_count == 1) {
        const geo_ring *r = &layer.features[0].polygons[0].rings[0];
        CHECK_INT_EQ(r->count, 5);
        CHECK_POINT(r, 0, 0.5, 0);
        CHECK_POINT(r, 1, 1, 0);
        CHECK_POINT(r, 2, 1, 1.25);
        CHECK_POINT(r, 3, 0, 1);
        CHECK_POINT(r, 4, 0.5, 0);
    }
    geo_layer_free(&layer);
}

/* Joining drops the ring's last point even when it differs from the next arc's first (what
 * topojson-client's points.pop() does), and short rings are padded with their first point. */
static void test_stitching_pops_and_pads(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    const char *json = "{\"objects\":{\"o\":{\"type\":\"MultiPolygon\",\"arcs\":[[[0,1]],[[2]]]}},"
                       "\"arcs\":[[[0,0],[9,9]],[[1,0],[2,2]],[[5,5],[6,6]]]}";
    CHECK(load_text(json, "o", &layer, &err));
    if (layer.feature_count == 1 && layer.features[0].polygon_count == 2) {
        const geo_ring *a = &layer.features[0].polygons[0].rings[0];
        CHECK_INT_EQ(a->count, 4);
        CHECK_POINT(a, 0, 0, 0);
        CHECK_POINT(a, 1, 1, 0); /* (9, 9) was popped */
        CHECK_POINT(a, 2, 2, 2);
        CHECK_POINT(a, 3, 0, 0);
        const geo_ring *b = &layer.features[0].polygons[1].rings[0];
        CHECK_INT_EQ(b->count, 4);
        CHECK_POINT(b, 0, 5, 5);
        CHECK_POINT(b, 1, 6, 6);
        CHECK_POINT(b, 2, 5, 5);
        CHECK_POINT(b, 3, 5, 5);
    } else {
        CHECK_MSG(false, "%s", err.msg);
    }
    geo_layer_free(&layer);
}

static void test_polygon_with_hole_and_multipolygon(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    const char *json =
        "{\"transform\":{\"scale\":[1,1],\"translate\":[0,0]},\"objects\":{\"o\":{\"type\":\"GeometryCollection\","
        "\"geometries\":[{\"type\":\"Polygon\",\"arcs\":[[0],[1]],\"id\":\"A\",\"properties\":{\"name\":\"Holey\"}},"
        "{\"type\":\"MultiPolygon\",\"arcs\":[[[0]],[[2],[-2]]],\"id\":\"B\"}]}},"
        "\"arcs\":[[[0,0],[10,0],[0,10],[-10,0],[0,-10]],[[2,2],[0,2],[2,0],[0,-2],[-2,0]],"
        "[[20,0],[5,0],[0,5],[-5,-5]]]}";
    CHECK(load_text(json, "o", &layer, &err));
    CHECK_INT_EQ(layer.feature_count, 2);
    if (layer.feature_count == 2) {
        const geo_feature *a = &layer.features[0], *b = &layer.features[1];
        CHECK_STR_EQ(a->id, "A");
        CHECK_STR_EQ(a->name, "Holey");
        CHECK_INT_EQ(a->polygon_count, 1);
        if (a->polygon_count == 1) {
            CHECK_INT_EQ(a->polygons[0].ring_count, 2);
            const geo_ring *hole = &a->polygons[0].rings[1];
            CHECK_INT_EQ(hole->count, 5);
            CHECK_POINT(hole, 1, 2, 4);
            CHECK_POINT(hole, 2, 4, 4);
        }
        CHECK_STR_EQ(b->id, "B");
        CHECK(b->name == NULL);
        CHECK_INT_EQ(b->polygon_count, 2);
        if (b->polygon_count == 2) {
            CHECK_INT_EQ(b->polygons[0].ring_count, 1);
            CHECK_INT_EQ(b->polygons[1].ring_count, 2);
            const geo_ring *outer = &b->polygons[1].rings[0];
            CHECK_INT_EQ(outer->count, 4);
            CHECK_POINT(outer, 2, 25, 5);
            const geo_ring *rev = &b->polygons[1].rings[1]; /* ~1: arc 1 backwards */
            CHECK_POINT(rev, 0, 2, 2);
            CHECK_POINT(rev, 1, 4, 2);
            CHECK_POINT(rev, 2, 4, 4);
            CHECK_POINT(rev, 3, 2, 4);
        }
    }
    geo_layer_free(&layer);
}

/* Nested collections flatten into their feature; points, lines and null geometries have no
 * area and give features without polygons; numeric ids become strings. */
static void test_geometry_collection_nesting(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    const char *json =
        "{\"objects\":{\"o\":{\"type\":\"GeometryCollection\",\"geometries\":["
        "{\"type\":\"GeometryCollection\",\"id\":242,\"properties\":{\"name\":\"Fiji\"},\"geometries\":["
        "{\"type\":\"Polygon\",\"arcs\":[[0]]},"
        "{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"MultiPolygon\",\"arcs\":[[[0]],[[0]]]},"
        "{\"type\":\"LineString\",\"arcs\":[0]}]}]},"
        "{\"type\":\"Point\",\"coordinates\":[1,2],\"id\":\"P\"},"
        "{\"type\":null,\"id\":\"N\",\"properties\":{\"name\":7}},"
        "{\"type\":\"MultiLineString\",\"arcs\":[[0]]}]}},"
        "\"arcs\":[[[0,0],[1,0],[1,1],[0,0]]]}";
    CHECK(load_text(json, "o", &layer, &err));
    CHECK_INT_EQ(layer.feature_count, 4);
    if (layer.feature_count == 4) {
        CHECK_STR_EQ(layer.features[0].id, "242");
        CHECK_STR_EQ(layer.features[0].name, "Fiji");
        CHECK_INT_EQ(layer.features[0].polygon_count, 3);
        CHECK_STR_EQ(layer.features[1].id, "P");
        CHECK_INT_EQ(layer.features[1].polygon_count, 0);
        CHECK_STR_EQ(layer.features[2].id, "N");
        CHECK(layer.features[2].name == NULL); /* a non-string name is no name */
        CHECK_INT_EQ(layer.features[2].polygon_count, 0);
        CHECK_INT_EQ(layer.features[3].polygon_count, 0);
    }
    geo_layer_free(&layer);
}

/* Malformed input: false, a message naming the problem, and an empty layer. */
static void expect_error(const char *json, const char *object, const char *fragment)
{
    geo_layer layer = {(geo_feature *)1, 99};
    awm_error err = {{0}};
    bool ok = load_text(json, object, &layer, &err);
    CHECK_MSG(!ok, "accepted: %s", json);
    CHECK_MSG(strstr(err.msg, fragment) != NULL, "message \"%s\" lacks \"%s\"", err.msg, fragment);
    CHECK(layer.features == NULL && layer.feature_count == 0);
    if (ok)
        geo_layer_free(&layer);
}

static void test_malformed_inputs(void)
{
    const char *arcs = "\"arcs\":[[[0,0],[1,0],[1,1],[0,0]]]";
    char json[512];
    expect_error("{\"objects\": {", "o", "not valid JSON");
    expect_error("", "o", "not valid JSON");
    expect_error("[1,2]", "o", "top level is not an object");
    expect_error("{\"arcs\":[]}", "o", "\"objects\" is missing");
    snprintf(json, sizeof json, "{\"objects\":{\"land\":{},\"sea\":{}},%s}", arcs);
    expect_error(json, "o", "no object \"o\" (objects: \"land\", \"sea\")");
    expect_error("{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0]]}}}", "o", "\"arcs\" is missing");
    expect_error("{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0]]}},\"arcs\":[[]]}", "o",
                 "arc 0 is not a non-empty array");
    expect_error("{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0]]}},\"arcs\":[[[0,0],[1]]]}", "o",
                 "arc 0 point 1 is not a [x, y] pair");
    expect_error("{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0]]}},\"arcs\":[[[0,\"x\"]]]}", "o",
                 "arc 0 point 0 is not a [x, y] pair");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[1]]}},%s}", arcs);
    expect_error(json, "o", "Polygon: ring 0: arc reference 1 is out of range (1 arcs)");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[-2]]}},%s}", arcs);
    expect_error(json, "o", "arc reference -2 is out of range");
    snprintf(json, sizeof json,
             "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[-9223372036854775808]]}},%s}", arcs);
    expect_error(json, "o", "out of range");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[9223372036854775807]]}},%s}",
             arcs);
    expect_error(json, "o", "out of range");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[99999999999999999999]]}},%s}",
             arcs);
    expect_error(json, "o", "not valid JSON"); /* beyond 64-bit integers: jansson refuses it */
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[0.5]]}},%s}", arcs);
    expect_error(json, "o", "arc reference is not an integer");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[]]}},%s}", arcs);
    expect_error(json, "o", "ring is not a non-empty array");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":\"x\"}},%s}", arcs);
    expect_error(json, "o", "polygon is not an array of rings");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"MultiPolygon\"}},%s}", arcs);
    expect_error(json, "o", "MultiPolygon \"arcs\" is missing");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"Polygn\",\"arcs\":[[0]]}},%s}", arcs);
    expect_error(json, "o", "unknown geometry type \"Polygn\"");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":3}},%s}", arcs);
    expect_error(json, "o", "\"type\" is not a string");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{\"type\":\"GeometryCollection\",\"geometries\":{}}},%s}",
             arcs);
    expect_error(json, "o", "\"geometries\" is missing or not an array");
    snprintf(json, sizeof json,
             "{\"objects\":{\"o\":{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Polygon\","
             "\"arcs\":[[0]]},7]}},%s}",
             arcs);
    expect_error(json, "o", "object \"o\" geometry 1: geometry is not an object");
    snprintf(json, sizeof json, "{\"transform\":{\"scale\":[1]},\"objects\":{\"o\":{}},%s}", arcs);
    expect_error(json, "o", "\"transform\" must be");
    snprintf(json, sizeof json, "{\"transform\":{\"scale\":[1e300,1],\"translate\":[0,0]},"
                                "\"objects\":{\"o\":{}},\"arcs\":[[[1e300,0],[1e300,0]]]}");
    expect_error(json, "o", "arc 0 point 0 decodes to a non-finite coordinate");
    snprintf(json, sizeof json, "{\"objects\":{\"o\":{}},\"arcs\":[[[1e999,0]]]}");
    expect_error(json, "o", "not valid JSON");
}

/* A small file whose ring references one long arc over and over must be refused, not expanded
 * into gigabytes. */
static void test_expansion_is_bounded(void)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"objects\":{\"o\":{\"type\":\"Polygon\",\"arcs\":[[");
    for (int i = 0; i < 40000; i++)
        awm_buf_printf(&b, "%s0", i ? "," : "");
    awm_buf_printf(&b, "]]}},\"arcs\":[[");
    for (int i = 0; i < 1000; i++)
        awm_buf_printf(&b, "%s[%d,0]", i ? "," : "", i);
    awm_buf_printf(&b, "]]}");
    expect_error(b.data, "o", "too many points");
    awm_buf_free(&b);
}

/* Deeply nested collections stop at a fixed depth instead of exhausting the stack. */
static void test_nesting_is_bounded(void)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"arcs\":[],\"objects\":{\"o\":");
    for (int i = 0; i < 40; i++)
        awm_buf_printf(&b, "{\"type\":\"GeometryCollection\",\"geometries\":[");
    awm_buf_printf(&b, "{\"type\":\"Polygon\",\"arcs\":[]}");
    for (int i = 0; i < 40; i++)
        awm_buf_printf(&b, "]}");
    awm_buf_printf(&b, "}}");
    expect_error(b.data, "o", "nested more than");
    awm_buf_free(&b);
}

static void test_missing_files(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    CHECK(!geo_layer_load("/nonexistent/awm/x.json", "land", &layer, &err));
    CHECK_MSG(strstr(err.msg, "/nonexistent/awm/x.json") != NULL, "%s", err.msg);

    /* The world loader points at the set-up step when the assets are not installed. */
    const char *saved = getenv("AWM_ASSETS_DIR");
    char *saved_copy = saved ? strdup(saved) : NULL;
    setenv("AWM_ASSETS_DIR", tmp_dir, 1);
    CHECK(!geo_layer_load_world(GEO_DETAIL_50M, "land", &layer, &err));
    CHECK_MSG(strstr(err.msg, "land-50m.json") && strstr(err.msg, "scripts/setup"), "%s", err.msg);
    if (saved_copy)
        setenv("AWM_ASSETS_DIR", saved_copy, 1);
    else
        unsetenv("AWM_ASSETS_DIR");
    free(saved_copy);

    CHECK(!geo_layer_load_world(GEO_DETAIL_110M, "ocean", &layer, &err));
    CHECK_MSG(strstr(err.msg, "\"ocean\"") != NULL, "%s", err.msg);
    CHECK(!geo_layer_load_world((geo_detail)7, "land", &layer, &err));
    CHECK_STR_EQ(geo_detail_name(GEO_DETAIL_110M), "110m");
    CHECK_STR_EQ(geo_detail_name(GEO_DETAIL_50M), "50m");
    CHECK_STR_EQ(geo_detail_name(GEO_DETAIL_10M), "10m");
}

/* ---- importance (simplification to the output) ------------------------------------------ */

/* Two squares sharing the edge arc 0 (0,0 → 0,10 through a bend at 0,5 of 0.01° and a sharper
 * one at 0,8 of 1°); arc 1 closes the left square, arc 2 the right one. Each point's importance
 * is Visvalingam–Whyatt's effective area, computed on the arc, so both squares carry the same
 * values for the shared points; arc ends are kept whatever the threshold. */
static void test_importance_on_shared_arcs(void)
{
    const char *json = "{\"type\":\"Topology\",\"objects\":{\"o\":{\"type\":\"GeometryCollection\","
                       "\"geometries\":[{\"type\":\"Polygon\",\"arcs\":[[0,1]]},"
                       "{\"type\":\"Polygon\",\"arcs\":[[2,-1]]}]}},"
                       "\"arcs\":[[[0,0],[0.01,5],[1,8],[0,10]],[[0,10],[-10,10],[-10,0],[0,0]],"
                       "[[0,0],[10,0],[10,10],[0,10]]]}";
    geo_layer layer;
    awm_error err = {{0}};
    CHECK_MSG(load_text(json, "o", &layer, &err), "%s", err.msg);
    if (layer.feature_count != 2)
        return;
    const geo_ring *a = &layer.features[0].polygons[0].rings[0], *b = &layer.features[1].polygons[0].rings[0];
    CHECK(a->importance && b->importance && a->count == 7 && b->count == 7);
    if (!a->importance || !b->importance || a->count != 7 || b->count != 7) {
        geo_layer_free(&layer);
        return;
    }
    /* a: arc 0 then arc 1; b: arc 2 then arc 0 backwards. */
    CHECK(isinf(a->importance[0]) && isinf(a->importance[3]) && isinf(a->importance[6]));
    CHECK(isinf(b->importance[0]) && isinf(b->importance[3]) && isinf(b->importance[6]));
    CHECK(a->points[1].y == 5 && b->points[5].y == 5 && a->importance[1] == b->importance[5]);
    CHECK(a->points[2].y == 8 && b->points[4].y == 8 && a->importance[2] == b->importance[4]);
    /* The 0.01° bend goes first: its triangle with (0,0) and (1,8), 0.5·|0.01·8 − 1·5|°² … */
    const double rad = 3.14159265358979323846 / 180;
    double bend = 0.5 * fabs(0.01 * 8 - 1 * 5) * rad * rad * cos(5 * rad);
    CHECK_MSG(fabs(a->importance[1] - bend) <= 1e-6 * bend, "importance %g, expected %g", a->importance[1], bend);
    /* … then the 1° one, at its triangle with the ends, never less than the bend's. */
    CHECK(a->importance[2] > a->importance[1]);
    /* The arcs' interior corners (-10,10), (-10,0): each is an arc's only interior point left. */
    CHECK(a->importance[4] > 0 && isfinite(a->importance[4]));
    geo_layer_free(&layer);
}

typedef struct {
    double x, y;
    float importance;
} located;

static int located_cmp(const void *pa, const void *pb)
{
    const located *a = pa, *b = pb;
    return a->x < b->x ? -1 : a->x > b->x ? 1 : a->y < b->y ? -1 : a->y > b->y ? 1 : 0;
}

/* On the real countries (50m), wherever two rings pass through the same point it has the same
 * importance in both: their shared arcs are simplified alike, so neighbours stay joined at any
 * threshold. Points where arcs meet are kept. */
static void test_countries_share_importance(void)
{
    geo_layer layer;
    awm_error err = {{0}};
    CHECK_MSG(geo_layer_load_world(GEO_DETAIL_50M, "countries", &layer, &err), "%s", err.msg);
    size_t n = 0;
    for (size_t f = 0; f < layer.feature_count; f++)
        for (size_t p = 0; p < layer.features[f].polygon_count; p++)
            for (size_t r = 0; r < layer.features[f].polygons[p].ring_count; r++)
                n += layer.features[f].polygons[p].rings[r].count;
    located *all = malloc((n ? n : 1) * sizeof *all);
    size_t k = 0, finite = 0;
    bool have = true;
    for (size_t f = 0; f < layer.feature_count; f++)
        for (size_t p = 0; p < layer.features[f].polygon_count; p++)
            for (size_t r = 0; r < layer.features[f].polygons[p].ring_count; r++) {
                const geo_ring *ring = &layer.features[f].polygons[p].rings[r];
                have = have && ring->importance;
                for (size_t i = 0; ring->importance && i < ring->count; i++) {
                    all[k++] = (located){ring->points[i].x, ring->points[i].y, ring->importance[i]};
                    finite += isfinite(ring->importance[i]);
                }
            }
    CHECK(have && k == n && n > 50000);
    CHECK_MSG(finite > n / 2, "only %zu of %zu points can be left out", finite, n);
    qsort(all, k, sizeof *all, located_cmp);
    size_t shared = 0, differ = 0;
    for (size_t i = 1; i < k; i++)
        if (all[i].x == all[i - 1].x && all[i].y == all[i - 1].y) {
            shared++;
            differ += memcmp(&all[i].importance, &all[i - 1].importance, sizeof(float)) != 0;
        }
    CHECK_MSG(shared > 10000 && differ == 0, "%zu of %zu shared points differ in importance", differ, shared);
    free(all);
    geo_layer_free(&layer);
}

/* ---- the world layers' decoded cache ----------------------------------------------------- */

static bool layers_equal(const geo_layer *a, const geo_layer *b)
{
    if (a->feature_count != b->feature_count)
        return false;
    for (size_t f = 0; f < a->feature_count; f++) {
        const geo_feature *fa = &a->features[f], *fb = &b->features[f];
        if (!fa->id != !fb->id || (fa->id && strcmp(fa->id, fb->id)) || !fa->name != !fb->name ||
            (fa->name && strcmp(fa->name, fb->name)) || fa->polygon_count != fb->polygon_count)
            return false;
        for (size_t p = 0; p < fa->polygon_count; p++) {
            if (fa->polygons[p].ring_count != fb->polygons[p].ring_count)
                return false;
            for (size_t r = 0; r < fa->polygons[p].ring_count; r++) {
                const geo_ring *ra = &fa->polygons[p].rings[r], *rb = &fb->polygons[p].rings[r];
                if (ra->count != rb->count || memcmp(ra->points, rb->points, ra->count * sizeof(geo_point)))
                    return false;
                if (!ra->importance != !rb->importance ||
                    (ra->importance && memcmp(ra->importance, rb->importance, ra->count * sizeof(float))))
                    return false;
            }
        }
    }
    return true;
}

static void write_bytes(const char *path, const void *data, size_t len, const char *mode)
{
    FILE *fp = fopen(path, mode);
    CHECK_MSG(fp != NULL, "cannot write %s", path);
    if (fp) {
        CHECK(fwrite(data, 1, len, fp) == len);
        fclose(fp);
    }
}

static double last_y(const geo_layer *l)
{
    const geo_feature *f = &l->features[l->feature_count - 1];
    const geo_polygon *p = &f->polygons[f->polygon_count - 1];
    const geo_ring *r = &p->rings[p->ring_count - 1];
    return r->points[r->count - 1].y;
}

/* Sets or (value NULL) unsets an environment variable, returning a copy of the old value to
 * put back with env_restore. */
static char *env_swap(const char *name, const char *value)
{
    char *old = getenv(name) ? strdup(getenv(name)) : NULL;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
    return old;
}

static void env_restore(const char *name, char *old)
{
    if (old)
        setenv(name, old, 1);
    else
        unsetenv(name);
    free(old);
}

/* The first world load writes <AWM_CACHE_DIR>/geo/land-110m.awmgeo, never anything in the
 * assets; later loads read it while the JSON and the decoder are unchanged, and decode the JSON
 * again (rewriting the cache) when it is corrupt, stale, or made by another decoder. */
static void test_world_cache(void)
{
    char dir[512], json_path[600], cache_dir[600], cache_path[700], src[4096];
    snprintf(dir, sizeof dir, "%s/assets/node_modules/world-atlas", tmp_dir);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", tmp_dir);
    awm_error err = {{0}};
    CHECK(awm_mkdir_p(dir, &err));
    snprintf(json_path, sizeof json_path, "%s/land-110m.json", dir);
    snprintf(cache_path, sizeof cache_path, "%s/geo/land-110m.awmgeo", cache_dir);
    CHECK(awm_asset_path(src, sizeof src, "assets/node_modules/world-atlas/land-110m.json"));
    char *text = NULL;
    size_t len = 0;
    CHECK_MSG(awm_read_file(src, &text, &len, &err), "%s", err.msg);
    if (!text)
        return;
    write_bytes(json_path, text, len, "wb");

    char *saved_assets = env_swap("AWM_ASSETS_DIR", tmp_dir);
    char *saved_cache = env_swap("AWM_CACHE_DIR", cache_dir);
    geo_layer reference, layer;
    CHECK(geo_layer_load(json_path, "land", &reference, &err));
    struct stat st;
    CHECK(stat(cache_path, &st) != 0); /* the plain loader never writes a cache */

    CHECK_MSG(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err), "%s", err.msg);
    CHECK(layers_equal(&reference, &layer));
    geo_layer_free(&layer);
    CHECK_MSG(stat(cache_path, &st) == 0 && st.st_size > 0, "no cache at %s", cache_path);
    off_t cache_size = st.st_size;
    CHECK_INT_EQ(tk_count_files(dir, ""), 2); /* the folder and the JSON: nothing was written next to it */

    /* Prove the second load reads the cache: land-110m has no ids or names, so the cache ends
     * with the last point's y; a different value there must come back. */
    char *cache = NULL;
    size_t cache_len = 0;
    CHECK(awm_read_file(cache_path, &cache, &cache_len, &err));
    double planted = 12.5;
    if (cache && cache_len > sizeof planted) {
        memcpy(cache + cache_len - sizeof planted, &planted, sizeof planted);
        write_bytes(cache_path, cache, cache_len, "wb");
    }
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    CHECK(layer.feature_count > 0 && last_y(&layer) == 12.5);
    geo_layer_free(&layer);

    /* Another decoder (what a change to src/geo makes at build time): the planted cache is not
     * believed, the JSON is decoded and the cache rewritten under the other identity, which
     * this build's decoder then does not believe either. */
    CHECK(strlen(geo_decoder_id()) == 16);
    geo_decoder_id_override("another decoder");
    CHECK_STR_EQ(geo_decoder_id(), "another decoder");
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    CHECK(layers_equal(&reference, &layer));
    geo_layer_free(&layer);
    char *rewritten = NULL;
    size_t rewritten_len = 0;
    CHECK(awm_read_file(cache_path, &rewritten, &rewritten_len, &err));
    CHECK(rewritten && rewritten_len == cache_len && memcmp(rewritten, cache, cache_len) != 0);
    free(rewritten);
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err)); /* now a hit for it */
    CHECK(layers_equal(&reference, &layer));
    geo_layer_free(&layer);
    geo_decoder_id_override(NULL);
    if (cache) { /* the planted cache of this build's decoder, once more */
        write_bytes(cache_path, cache, cache_len, "wb");
        CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
        CHECK(layer.feature_count > 0 && last_y(&layer) == 12.5);
        geo_layer_free(&layer);
    }

    /* Corrupt (truncated) cache: ignored, the JSON is decoded and the cache rewritten. */
    if (cache)
        write_bytes(cache_path, cache, 100, "wb");
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    CHECK(layers_equal(&reference, &layer));
    geo_layer_free(&layer);
    CHECK(stat(cache_path, &st) == 0 && st.st_size == cache_size);

    /* Stale cache: once the JSON changes (same geometry, one more byte), the planted cache is
     * not believed. */
    if (cache)
        write_bytes(cache_path, cache, cache_len, "wb");
    write_bytes(json_path, " ", 1, "ab");
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    CHECK(layers_equal(&reference, &layer));
    geo_layer_free(&layer);

    /* The cache folder is AWM_CACHE_DIR, else $XDG_CACHE_HOME/awm, else $HOME/.cache/awm; with
     * none of them there is no cache, and the JSON is decoded every time. */
    char xdg[600], home[600], path[700];
    snprintf(xdg, sizeof xdg, "%s/xdg", tmp_dir);
    snprintf(home, sizeof home, "%s/home", tmp_dir);
    char *saved_xdg = env_swap("XDG_CACHE_HOME", xdg), *saved_home = env_swap("HOME", home);
    unsetenv("AWM_CACHE_DIR");
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    geo_layer_free(&layer);
    snprintf(path, sizeof path, "%s/awm/geo/land-110m.awmgeo", xdg);
    CHECK_MSG(stat(path, &st) == 0, "no cache at %s", path);
    unsetenv("XDG_CACHE_HOME");
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    geo_layer_free(&layer);
    snprintf(path, sizeof path, "%s/.cache/awm/geo/land-110m.awmgeo", home);
    CHECK_MSG(stat(path, &st) == 0, "no cache at %s", path);
    unsetenv("HOME");
    char none[16];
    CHECK(!awm_cache_path(none, sizeof none, "geo/x"));
    CHECK(geo_layer_load_world(GEO_DETAIL_110M, "land", &layer, &err));
    CHECK(layers_equal(&reference, &layer));
    geo_layer_free(&layer);
    env_restore("HOME", saved_home);
    env_restore("XDG_CACHE_HOME", saved_xdg);
    CHECK_INT_EQ(tk_count_files(dir, ""), 2);

    env_restore("AWM_CACHE_DIR", saved_cache);
    env_restore("AWM_ASSETS_DIR", saved_assets);
    free(cache);
    free(text);
    geo_layer_free(&reference);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/assets' '%s' '%s' '%s'", tmp_dir, cache_dir, xdg, home);
    CHECK_INT_EQ(system(cmd), 0);
}

/* ---- comparison with topojson-client ---------------------------------------------------- */

static int oracle_reported = 0; /* cap the lines printed when something is systematically off */
#define ORACLE_CHECK(cond, ...)                                                                  \
    do {                                                                                         \
        if (!(cond) && oracle_reported++ < 20)                                                   \
            CHECK_MSG(cond, __VA_ARGS__);                                                        \
        else if (!(cond))                                                                        \
            test_failures_++;                                                                    \
        else                                                                                     \
            test_checks_++;                                                                      \
    } while (0)

static bool same_string(const char *a, const json_t *b)
{
    return json_is_null(b) ? a == NULL : (a && json_is_string(b) && !strcmp(a, json_string_value(b)));
}

/* via_world_loader: geo_layer_load_world (its cache, when present) rather than the plain JSON path. */
static void compare_layer(const json_t *ref, bool via_world_loader)
{
    const char *file = json_string_value(json_object_get(ref, "file"));
    const char *object = json_string_value(json_object_get(ref, "object"));
    char which[32] = "", detail_name[16] = "";
    if (!file || !object || sscanf(file, "%31[a-z]-%15[0-9m].json", which, detail_name) != 2 ||
        strcmp(which, object)) {
        CHECK_MSG(false, "unexpected reference layer %s:%s", file ? file : "?", object ? object : "?");
        return;
    }
    geo_detail detail = GEO_DETAIL_110M;
    while (detail < GEO_DETAIL_10M && strcmp(geo_detail_name(detail), detail_name))
        detail++;
    CHECK_STR_EQ(geo_detail_name(detail), detail_name);

    geo_layer layer;
    awm_error err = {{0}};
    char path[4096], rel[256];
    snprintf(rel, sizeof rel, "assets/node_modules/world-atlas/%s", file);
    CHECK(awm_asset_path(path, sizeof path, rel));
    bool loaded = via_world_loader ? geo_layer_load_world(detail, which, &layer, &err)
                                   : geo_layer_load(path, object, &layer, &err);
    if (!loaded) {
        CHECK_MSG(false, "%s", err.msg);
        return;
    }
    const json_t *features = json_object_get(ref, "features");
    CHECK_INT_EQ(layer.feature_count, json_array_size(features));
    size_t nf = layer.feature_count < json_array_size(features) ? layer.feature_count : json_array_size(features);
    double sumx = 0, sumy = 0;
    for (size_t f = 0; f < nf; f++) {
        const geo_feature *feat = &layer.features[f];
        const json_t *rf = json_array_get(features, f);
        const json_t *polys = json_object_get(rf, "rings");
        ORACLE_CHECK(same_string(feat->id, json_object_get(rf, "id")), "%s feature %zu id %s", file, f,
                     feat->id ? feat->id : "null");
        ORACLE_CHECK(same_string(feat->name, json_object_get(rf, "name")), "%s feature %zu name %s", file, f,
                     feat->name ? feat->name : "null");
        ORACLE_CHECK(feat->polygon_count == json_array_size(polys), "%s feature %zu: %zu polygons, expected %zu",
                     file, f, feat->polygon_count, json_array_size(polys));
        for (size_t p = 0; p < feat->polygon_count && p < json_array_size(polys); p++) {
            const geo_polygon *poly = &feat->polygons[p];
            const json_t *rings = json_array_get(polys, p);
            ORACLE_CHECK(poly->ring_count == json_array_size(rings), "%s feature %zu polygon %zu: %zu rings",
                         file, f, p, poly->ring_count);
            for (size_t r = 0; r < poly->ring_count && r < json_array_size(rings); r++) {
                json_int_t expected = json_integer_value(json_array_get(rings, r));
                ORACLE_CHECK((json_int_t)poly->rings[r].count == expected,
                             "%s feature %zu polygon %zu ring %zu: %zu points, expected %lld", file, f, p, r,
                             poly->rings[r].count, (long long)expected);
            }
        }
        /* Same order as the reference script, so the sums are bit-identical when the points are. */
        for (size_t p = 0; p < feat->polygon_count; p++)
            for (size_t r = 0; r < feat->polygons[p].ring_count; r++)
                for (size_t k = 0; k < feat->polygons[p].rings[r].count; k++) {
                    sumx += feat->polygons[p].rings[r].points[k].x;
                    sumy += feat->polygons[p].rings[r].points[k].y;
                }
    }
    ORACLE_CHECK(sumx == json_number_value(json_object_get(ref, "sumx")), "%s sum of x %.17g, expected %.17g",
                 file, sumx, json_number_value(json_object_get(ref, "sumx")));
    ORACLE_CHECK(sumy == json_number_value(json_object_get(ref, "sumy")), "%s sum of y %.17g, expected %.17g",
                 file, sumy, json_number_value(json_object_get(ref, "sumy")));

    const json_t *samples = json_object_get(ref, "samples");
    size_t index;
    const json_t *s;
    json_array_foreach(samples, index, s) {
        size_t f = (size_t)json_integer_value(json_array_get(s, 0)), p = (size_t)json_integer_value(json_array_get(s, 1));
        size_t r = (size_t)json_integer_value(json_array_get(s, 2)), k = (size_t)json_integer_value(json_array_get(s, 3));
        double x = json_number_value(json_array_get(s, 4)), y = json_number_value(json_array_get(s, 5));
        bool present = f < layer.feature_count && p < layer.features[f].polygon_count &&
                       r < layer.features[f].polygons[p].ring_count && k < layer.features[f].polygons[p].rings[r].count;
        const geo_point *pt = present ? &layer.features[f].polygons[p].rings[r].points[k] : NULL;
        ORACLE_CHECK(pt && pt->x == x && pt->y == y, "%s feature %zu polygon %zu ring %zu point %zu: (%.17g, %.17g), expected (%.17g, %.17g)",
                     file, f, p, r, k, pt ? pt->x : NAN, pt ? pt->y : NAN, x, y);
    }
    fprintf(stderr, "     %s:%s (%s) %zu features, %zu sampled points compared\n", file, object,
            via_world_loader ? "world loader" : "JSON", layer.feature_count, json_array_size(samples));
    geo_layer_free(&layer);
}

static const char *reference_path;

static void test_world_atlas_matches_topojson_client(void)
{
    json_error_t jerr;
    json_t *ref = json_load_file(reference_path, 0, &jerr);
    CHECK_MSG(json_is_array(ref) && json_array_size(ref) > 0, "reference %s: %s", reference_path, jerr.text);
    size_t i;
    const json_t *layer;
    json_array_foreach(ref, i, layer) {
        compare_layer(layer, false);
        compare_layer(layer, true); /* twice: the first may write the cache, the second reads it */
        compare_layer(layer, true);
    }
    json_decref(ref);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        reference_path = argv[1];
        RUN(test_world_atlas_matches_topojson_client);
        return TEST_EXIT();
    }
    tk_mkdtemp_or_exit(tmp_dir, sizeof tmp_dir, "test-topojson");
    RUN(test_quantized_delta_arcs);
    RUN(test_transform_rounds_like_javascript);
    RUN(test_reversed_arcs_and_no_transform);
    RUN(test_stitching_pops_and_pads);
    RUN(test_polygon_with_hole_and_multipolygon);
    RUN(test_geometry_collection_nesting);
    RUN(test_malformed_inputs);
    RUN(test_expansion_is_bounded);
    RUN(test_nesting_is_bounded);
    RUN(test_missing_files);
    RUN(test_world_cache);
    RUN(test_importance_on_shared_arcs);
    RUN(test_countries_share_importance);
    rmdir(tmp_dir);
    return TEST_EXIT();
}
