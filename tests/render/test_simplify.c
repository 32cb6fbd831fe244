/* test_simplify.c — the geometry simplified to the output (geo_projection.simplify, set by
 * scene.c unless AWM_SIMPLIFY=0): the sample poster at 18x24 and 300 DPI, simplified, against
 * the same poster with every point of the 10m geography, on the globe and on each flat map.
 * The promise, with the bounds stated here and in the README:
 *   - the simplified scene projects far fewer land and border points (at most 60 % of them);
 *   - at most 0.15 % of the poster's pixels differ by more than 16 levels (of 255, in any
 *     channel), and at most 0.75 % differ at all: the edges of land and borders move by less
 *     than a device pixel, which mostly changes their anti-aliasing.
 * Measured at GEO_SIMPLIFY_PX2 = 0.5 (the globe counting its foreshortening, cos c, down to
 * GEO_SIMPLIFY_GLOBE_FLOOR): the globe keeps 31 % of the points, 0.66 % of its pixels differ,
 * 0.095 % by more than 16 levels; the flat maps keep 25-30 %, 0.51-0.70 % differ, 0.093-0.112 %
 * by more than 16 (Mercator the most). A single pixel may differ by the full contrast of a
 * coast. With the threshold 10 times coarser the globe fails both bounds (0.93 %, 0.29 %; measured
 * before the foreshortening was counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png_read.h"
#include "render/render_internal.h"
#include "support/testkit.h"
#include "test.h"
#include "map_fixture.h"

#define MAX_POINT_SHARE 0.60       /* simplified / unsimplified land + border points */
#define MAX_DIFFERING_SHARE 0.0075 /* pixels that differ at all */
#define LOUD_LEVELS 16             /* a difference one could see */
#define MAX_LOUD_SHARE 0.0015      /* pixels that differ by more than LOUD_LEVELS */

static char g_dir[512];

/* Land and border points the scene projected, with AWM_SIMPLIFY as given. */
static size_t scene_points(const map_definition *def, const char *simplify, double dpi)
{
    setenv("AWM_SIMPLIFY", simplify, 1);
    const map_print_spec *spec = map_print_spec_find("18x24");
    int w, h;
    map_print_spec_pixels(spec, dpi, &w, &h);
    render_scene s;
    awm_error err = {{0}};
    bool ok = render_scene_build(&s, def, spec, dpi / 72, render_detail_for_width(w), &err);
    CHECK_MSG(ok, "scene: %s", err.msg);
    size_t n = ok ? s.land.path.point_count + s.borders.path.point_count : 0;
    if (ok)
        render_scene_free(&s);
    unsetenv("AWM_SIMPLIFY");
    return n;
}

static bool render_sample(const map_definition *def, const char *simplify, double dpi, const char *name,
                          test_png *png)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    render_options opt;
    render_options_default(&opt);
    opt.dpi = dpi;
    render_result res;
    awm_error err = {{0}};
    setenv("AWM_SIMPLIFY", simplify, 1);
    bool ok = render_poster(def, map_print_spec_find("18x24"), &opt, path, &res, &err);
    unsetenv("AWM_SIMPLIFY");
    CHECK_MSG(ok, "render %s: %s", name, err.msg);
    if (ok) {
        ok = test_png_read(path, png) && png->rgb;
        CHECK_MSG(ok, "%s is not a readable RGB PNG", name);
    }
    remove(path);
    return ok;
}

/* The sample's poster with and without simplification, held to the bounds above. */
static void compare_posters(const map_definition *def, double dpi, const char *label)
{
    size_t all = scene_points(def, "0", dpi), kept = scene_points(def, "1", dpi);
    fprintf(stderr, "  %s, %g DPI: land + border points: %zu unsimplified, %zu simplified (%.1f %%)\n", label, dpi,
            all, kept, all ? 100.0 * (double)kept / (double)all : 0);
    CHECK_MSG(all > 50000 && (double)kept <= MAX_POINT_SHARE * (double)all, "%s: %zu of %zu points kept: not simplified",
              label, kept, all);

    test_png full, simple;
    bool ok_full = render_sample(def, "0", dpi, "full.png", &full);
    bool ok_simple = render_sample(def, "1", dpi, "simple.png", &simple);
    if (ok_full && ok_simple) {
        CHECK(full.w == simple.w && full.h == simple.h);
        size_t pixels = (size_t)full.w * (size_t)full.h, differing = 0, loud = 0;
        int worst = 0;
        for (size_t i = 0; full.w == simple.w && full.h == simple.h && i < pixels; i++) {
            int d = 0;
            for (int c = 0; c < 3; c++) {
                int e = abs((int)full.rgb[3 * i + c] - (int)simple.rgb[3 * i + c]);
                d = e > d ? e : d;
            }
            differing += d > 0;
            loud += d > LOUD_LEVELS;
            worst = d > worst ? d : worst;
        }
        fprintf(stderr, "  %s: %zu of %zu pixels differ (%.4f %%), %zu by more than %d levels (%.5f %%), at most by %d\n",
                label, differing, pixels, 100.0 * (double)differing / (double)pixels, loud, LOUD_LEVELS,
                100.0 * (double)loud / (double)pixels, worst);
        CHECK_MSG((double)differing <= MAX_DIFFERING_SHARE * (double)pixels, "%s: %zu pixels differ", label, differing);
        CHECK_MSG((double)loud <= MAX_LOUD_SHARE * (double)pixels, "%s: %zu pixels differ by more than %d levels",
                  label, loud, LOUD_LEVELS);
    }
    free(full.rgb);
    free(simple.rgb);
}

/* The sample as it prints: 18x24, 300 DPI, the globe. */
static void test_simplified_poster_matches(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    compare_posters(&def, 300, "orthographic");
    map_definition_free(&def);
}

/* The flat maps, where the simplifier allows for the magnification towards the poles
 * (Mercator's the most), and where the whole world's coasts are drawn. */
static void test_flat_maps_match(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    for (int k = 0; k < GEO_PROJ_COUNT; k++) {
        if (k == GEO_PROJ_ORTHOGRAPHIC)
            continue;
        def.projection = (geo_projection_kind)k;
        compare_posters(&def, 300, geo_projection_kind_name(def.projection));
    }
    map_definition_free(&def);
}

int main(void)
{
    awm_error err = {{0}};
    if (!render_init(&err)) {
        fprintf(stderr, "render_init: %s\n", err.msg);
        return 1;
    }
    tk_mkdtemp_or_exit(g_dir, sizeof g_dir, "simplify");
    RUN(test_simplified_poster_matches);
    RUN(test_flat_maps_match);
    tk_remove_tree(g_dir);
    return TEST_EXIT();
}
