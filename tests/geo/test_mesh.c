/* test_mesh.c — the borders mesh (src/geo/mesh.c): each edge two features share drawn once,
 * the edges of one feature only (coastlines) not at all, like topojson-client's
 * mesh(topology, object, (a, b) => a !== b).
 *
 * Without arguments: handcrafted topologies with exact expected lines. With a reference file
 * (tests/oracle/mesh-reference.mjs, see run_atlas_oracle.sh): the world-atlas country layers
 * give the same segments as topojson-client's mesh (count and coordinate sums). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo/geo.h"
#include "support/testkit.h"
#include "test.h"

static char tmp_dir[512];

static bool load_text(const char *json, geo_layer *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/t.json", tmp_dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        exit(2);
    fputs(json, fp);
    fclose(fp);
    awm_error err = {{0}};
    bool ok = geo_layer_load(path, "c", out, &err);
    CHECK_MSG(ok, "%s", err.msg);
    unlink(path);
    return ok;
}

static bool line_is(const geo_line *l, const double *xy, size_t n)
{
    if (l->count != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (l->points[i].x != xy[2 * i] || l->points[i].y != xy[2 * i + 1])
            return false;
    return true;
}

/* Two squares A | B sharing the edge x = 1, and an island C on its own:
 *   arc 0: the shared edge (1,0)→(1,1); arc 1: A's coast (1,1)→(0,1)→(0,0)→(1,0);
 *   arc 2: B's coast (1,0)→(2,0)→(2,1)→(1,1); arc 3: the island's ring. */
static const char *TWO_SQUARES =
    "{\"type\": \"Topology\", \"arcs\": ["
    "[[1,0],[1,1]], [[1,1],[0,1],[0,0],[1,0]], [[1,0],[2,0],[2,1],[1,1]], [[5,5],[6,5],[6,6],[5,5]]],"
    "\"objects\": {\"c\": {\"type\": \"GeometryCollection\", \"geometries\": ["
    "{\"type\": \"Polygon\", \"id\": \"A\", \"arcs\": [[0, 1]]},"
    "{\"type\": \"Polygon\", \"id\": \"B\", \"arcs\": [[2, -1]]},"
    "{\"type\": \"Polygon\", \"id\": \"C\", \"arcs\": [[3]]}]}}}";

static void test_shared_edge_once_and_no_coast(void)
{
    geo_layer layer;
    if (!load_text(TWO_SQUARES, &layer))
        return;
    geo_mesh m;
    geo_mesh_borders(&layer, &m);
    CHECK_INT_EQ(m.line_count, 1);
    const double shared[] = {1, 0, 1, 1};
    if (m.line_count == 1)
        CHECK_MSG(line_is(&m.lines[0], shared, 2), "the line has %zu points", m.lines[0].count);
    geo_mesh_free(&m);
    geo_layer_free(&layer);
}

/* A border that crosses a ring's first point comes out as one line, not two pieces. */
static const char *BORDER_ACROSS_RING_START =
    "{\"type\": \"Topology\", \"arcs\": ["
    "[[0,1],[0,0],[1,0]], [[1,0],[1,1],[0,1]], [[1,0],[2,0],[2,2],[0,2],[0,1]]],"
    "\"objects\": {\"c\": {\"type\": \"GeometryCollection\", \"geometries\": ["
    "{\"type\": \"Polygon\", \"id\": \"A\", \"arcs\": [[1, 0]]},"
    "{\"type\": \"Polygon\", \"id\": \"B\", \"arcs\": [[2, -2]]}]}}}";

static void test_border_across_ring_start_is_one_line(void)
{
    geo_layer layer;
    if (!load_text(BORDER_ACROSS_RING_START, &layer))
        return;
    /* A's ring starts at (1,0): (1,0) (1,1) (0,1) (0,0) (1,0); its border with B is (1,0)→(1,1)→(0,1). */
    geo_mesh m;
    geo_mesh_borders(&layer, &m);
    CHECK_INT_EQ(m.line_count, 1);
    const double border[] = {1, 0, 1, 1, 0, 1};
    if (m.line_count == 1)
        CHECK(line_is(&m.lines[0], border, 3));
    geo_mesh_free(&m);
    geo_layer_free(&layer);
}

/* An enclave (Lesotho in South Africa): its whole ring is a border, one closed line, once. */
static const char *ENCLAVE =
    "{\"type\": \"Topology\", \"arcs\": ["
    "[[0,0],[4,0],[4,4],[0,4],[0,0]], [[1,1],[1,2],[2,2],[2,1],[1,1]]],"
    "\"objects\": {\"c\": {\"type\": \"GeometryCollection\", \"geometries\": ["
    "{\"type\": \"Polygon\", \"id\": \"ZA\", \"arcs\": [[0], [1]]},"
    "{\"type\": \"Polygon\", \"id\": \"LS\", \"arcs\": [[-2]]}]}}}";

static void test_enclave_is_one_closed_line(void)
{
    geo_layer layer;
    if (!load_text(ENCLAVE, &layer))
        return;
    geo_mesh m;
    geo_mesh_borders(&layer, &m);
    CHECK_INT_EQ(m.line_count, 1);
    if (m.line_count == 1) {
        CHECK_INT_EQ(m.lines[0].count, 5);
        CHECK(m.lines[0].points[0].x == m.lines[0].points[4].x && m.lines[0].points[0].y == m.lines[0].points[4].y);
    }
    geo_mesh_free(&m);
    geo_layer_free(&layer);
}

/* ---- against topojson-client ---- */
typedef struct {
    double ax, ay, bx, by;
} segment;

static int segment_cmp(const void *p, const void *q)
{
    const segment *s = p, *t = q;
    if (s->ax != t->ax) return s->ax < t->ax ? -1 : 1;
    if (s->ay != t->ay) return s->ay < t->ay ? -1 : 1;
    if (s->bx != t->bx) return s->bx < t->bx ? -1 : 1;
    if (s->by != t->by) return s->by < t->by ? -1 : 1;
    return 0;
}

static void compare_world(const char *reference)
{
    json_error_t e;
    json_t *ref = json_load_file(reference, 0, &e);
    CHECK_MSG(ref != NULL, "%s: %s", reference, e.text);
    const geo_detail details[] = {GEO_DETAIL_110M, GEO_DETAIL_50M, GEO_DETAIL_10M};
    for (size_t d = 0; ref && d < 3; d++) {
        json_t *r = json_array_get(ref, d);
        geo_layer layer;
        awm_error err = {{0}};
        if (!geo_layer_load_world(details[d], "countries", &layer, &err)) {
            CHECK_MSG(false, "%s", err.msg);
            continue;
        }
        geo_mesh m;
        geo_mesh_borders(&layer, &m);
        size_t n = 0;
        for (size_t i = 0; i < m.line_count; i++)
            n += m.lines[i].count - 1;
        segment *segs = malloc((n ? n : 1) * sizeof *segs);
        n = 0;
        for (size_t i = 0; i < m.line_count; i++)
            for (size_t k = 0; k + 1 < m.lines[i].count; k++) {
                geo_point a = m.lines[i].points[k], b = m.lines[i].points[k + 1];
                if (a.x == b.x && a.y == b.y)
                    continue;
                if (b.x < a.x || (b.x == a.x && b.y < a.y)) {
                    geo_point t = a;
                    a = b;
                    b = t;
                }
                segs[n++] = (segment){a.x, a.y, b.x, b.y};
            }
        qsort(segs, n, sizeof *segs, segment_cmp);
        double sx = 0, sy = 0;
        size_t dup = 0;
        for (size_t i = 0; i < n; i++) {
            sx += segs[i].ax + segs[i].bx;
            sy += segs[i].ay + segs[i].by;
            if (i && !segment_cmp(&segs[i - 1], &segs[i]))
                dup++;
        }
        const char *name = geo_detail_name(details[d]);
        CHECK_MSG(dup == 0, "%s: %zu segments drawn twice", name, dup);
        CHECK_MSG(n == (size_t)json_integer_value(json_object_get(r, "segments")), "%s: %zu segments, topojson %lld",
                  name, n, (long long)json_integer_value(json_object_get(r, "segments")));
        CHECK_NEAR(sx, json_number_value(json_object_get(r, "sumX")), 1e-6);
        CHECK_NEAR(sy, json_number_value(json_object_get(r, "sumY")), 1e-6);
        free(segs);
        geo_mesh_free(&m);
        geo_layer_free(&layer);
    }
    json_decref(ref);
}

static bool meshes_equal(const geo_mesh *a, const geo_mesh *b)
{
    if (a->line_count != b->line_count)
        return false;
    for (size_t i = 0; i < a->line_count; i++) {
        const geo_line *p = &a->lines[i], *q = &b->lines[i];
        if (p->count != q->count || memcmp(p->points, q->points, p->count * sizeof *p->points))
            return false;
        for (size_t k = 0; k < p->count; k++)
            if ((p->importance ? p->importance[k] : GEO_KEEP) != (q->importance ? q->importance[k] : GEO_KEEP))
                return false;
    }
    return true;
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* geo_world_load keeps the borders in a cache of their own, keyed on this decoder and the
 * countries JSON, and does not load the countries layer when that cache is good. */
static void test_world_borders_are_cached(void)
{
    char cache_dir[600], borders_path[700], countries_path[700];
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", tmp_dir);
    snprintf(borders_path, sizeof borders_path, "%s/geo/borders-110m.awmgeo", cache_dir);
    snprintf(countries_path, sizeof countries_path, "%s/geo/countries-110m.awmgeo", cache_dir);
    setenv("AWM_CACHE_DIR", cache_dir, 1);
    awm_error err = {{0}};
    geo_layer countries;
    geo_mesh expected;
    CHECK_MSG(geo_layer_load_world(GEO_DETAIL_110M, "countries", &countries, &err), "%s", err.msg);
    geo_mesh_borders(&countries, &expected); /* 110m has no slivers to leave out */
    geo_layer_free(&countries);
    CHECK(expected.line_count > 100);

    geo_world w;
    unlink(borders_path);
    CHECK_MSG(geo_world_load(GEO_DETAIL_110M, &w, &err), "%s", err.msg);
    CHECK(meshes_equal(&w.borders, &expected));
    CHECK(w.land.feature_count > 0);
    geo_world_free(&w);
    CHECK_MSG(file_exists(borders_path), "no borders cache at %s", borders_path);

    /* A hit: the borders come from the cache, and the countries layer is not loaded (its cache,
     * removed here, is not made again). */
    unlink(countries_path);
    CHECK(geo_world_load(GEO_DETAIL_110M, &w, &err));
    CHECK(meshes_equal(&w.borders, &expected));
    geo_world_free(&w);
    CHECK(!file_exists(countries_path));

    /* Prove it is read: a value planted in the first line's first point comes back. */
    char *image = NULL;
    size_t len = 0;
    CHECK(awm_read_file(borders_path, &image, &len, &err));
    uint64_t lines = 0;
    if (image && len >= 64)
        memcpy(&lines, image + 48, sizeof lines);
    CHECK_INT_EQ(lines, expected.line_count);
    double planted = 12.5;
    if (image && len >= 64 + 8 * lines + sizeof planted) {
        memcpy(image + 64 + 8 * lines, &planted, sizeof planted);
        CHECK(awm_cache_write(borders_path, image, len, &err));
    }
    CHECK(geo_world_load(GEO_DETAIL_110M, &w, &err));
    CHECK(w.borders.line_count > 0 && w.borders.lines[0].points[0].x == 12.5);
    geo_world_free(&w);

    /* Truncated, or written by another decoder: a miss, the mesh is built and cached again. */
    CHECK(awm_cache_write(borders_path, image, 100, &err));
    CHECK(geo_world_load(GEO_DETAIL_110M, &w, &err));
    CHECK(meshes_equal(&w.borders, &expected));
    geo_world_free(&w);
    if (image)
        CHECK(awm_cache_write(borders_path, image, len, &err)); /* the planted one again */
    geo_decoder_id_override("another decoder");
    CHECK(geo_world_load(GEO_DETAIL_110M, &w, &err));
    CHECK(meshes_equal(&w.borders, &expected));
    geo_world_free(&w);
    geo_decoder_id_override(NULL);

    free(image);
    geo_mesh_free(&expected);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
    CHECK_INT_EQ(system(cmd), 0);
    unsetenv("AWM_CACHE_DIR");
}

/* A layer projected in parts (geo_path_layer_part, as the renderer does on several threads) and
 * joined in order with geo_path_append is the path geo_path_layer makes in one pass. */
static void test_layer_in_parts_is_the_layer(void)
{
    awm_error err = {{0}};
    geo_layer land;
    if (!geo_layer_load_world(GEO_DETAIL_50M, "land", &land, &err)) {
        CHECK_MSG(false, "%s", err.msg);
        return;
    }
    size_t polygons = 0;
    for (size_t f = 0; f < land.feature_count; f++)
        polygons += land.features[f].polygon_count;
    CHECK(polygons > 100);
    const geo_projection_kind kinds[] = {GEO_PROJ_ORTHOGRAPHIC, GEO_PROJ_ROBINSON};
    for (size_t k = 0; k < 2; k++) {
        geo_projection p;
        geo_projection_init(&p, kinds[k]);
        p.rotate[0] = -20;
        p.rotate[1] = kinds[k] == GEO_PROJ_ORTHOGRAPHIC ? -30 : 0;
        geo_projection_fit_sphere(&p, 63, 63, 1251, 1683);
        geo_projection_simplify(&p, 300 / 72.0, 0);
        geo_path whole = {0}, joined = {0}, part = {0};
        geo_path_layer(&p, &land, &whole);
        const size_t cuts[] = {0, 1, polygons / 3, polygons - 2, polygons};
        for (size_t c = 0; c + 1 < sizeof cuts / sizeof *cuts; c++) {
            geo_path_clear(&part);
            geo_path_layer_part(&p, &land, cuts[c], cuts[c + 1] - cuts[c], &part);
            geo_path_append(&joined, &part);
        }
        CHECK(whole.subpath_count > 100);
        CHECK_INT_EQ(joined.point_count, whole.point_count);
        CHECK_INT_EQ(joined.subpath_count, whole.subpath_count);
        CHECK(joined.point_count == whole.point_count &&
              !memcmp(joined.points, whole.points, whole.point_count * sizeof *whole.points));
        bool same = joined.subpath_count == whole.subpath_count;
        for (size_t i = 0; same && i < whole.subpath_count; i++)
            same = joined.subpaths[i].first == whole.subpaths[i].first &&
                   joined.subpaths[i].count == whole.subpaths[i].count &&
                   joined.subpaths[i].closed == whole.subpaths[i].closed;
        CHECK(same);
        geo_path_free(&whole);
        geo_path_free(&joined);
        geo_path_free(&part);
    }
    geo_layer_free(&land);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        compare_world(argv[1]);
        return TEST_EXIT();
    }
    tk_mkdtemp_or_exit(tmp_dir, sizeof tmp_dir, "test-mesh");
    RUN(test_shared_edge_once_and_no_coast);
    RUN(test_border_across_ring_start_is_one_line);
    RUN(test_enclave_is_one_closed_line);
    RUN(test_world_borders_are_cached);
    RUN(test_layer_in_parts_is_the_layer);
    rmdir(tmp_dir);
    return TEST_EXIT();
}
