/* test_render.c — the renderer through its interface: pixel sizes, PNG chunks, colours of
 * known places in every projection and theme, the QR code, horizon clipping of paths,
 * fonts and fallback glyphs, PDF font embedding and SVG well-formedness.
 * Most renders use a low DPI to keep the run short under ASan; one 8x10 runs at 300 DPI. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "render/render_internal.h"
#include "png_read.h"
#include "support/testkit.h"
#include "test.h"
#include "map_fixture.h"

static char g_dir[256];

static void path_in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", g_dir, name);
}

/* Renders def at `size` with `opt` into g_dir/name (its path goes to `path`); a failed render is
 * a failed check. */
static bool render_file(const map_definition *def, const char *size, const render_options *opt, const char *name,
                        char path[512], render_result *res)
{
    path_in_dir(path, 512, name);
    awm_error err = {{0}};
    bool ok = render_poster(def, map_print_spec_find(size), opt, path, res, &err);
    CHECK_MSG(ok, "render %s failed: %s", name, err.msg);
    return ok;
}

static bool render_png(const map_definition *def, const char *size, double dpi, const char *name,
                       test_png *png)
{
    char path[512];
    render_options opt;
    render_options_default(&opt);
    opt.dpi = dpi;
    render_result res;
    bool ok = render_file(def, size, &opt, name, path, &res);
    if (ok && png) {
        ok = test_png_read(path, png);
        CHECK_MSG(ok, "%s is not a readable PNG", name);
    }
    return ok;
}

/* A plain map without its closing brace, so a case can add fields: MAP_PLAIN "}" is complete. */
#define MAP_PLAIN "{\"title\": \"Plain\", \"people\": [{\"id\": \"a\", \"name\": \"A\", \"locations\": []}]"

/* ---- fonts ---- */
static void test_fonts_resolve_to_ours(void)
{
    awm_error err = {{0}};
    CHECK_MSG(render_init(&err), "%s", err.msg);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 4, 4);
    cairo_t *cr = cairo_create(surf);
    PangoLayout *layout = render_text_layout(cr, RENDER_SERIF, PANGO_WEIGHT_BOLD, 28, "Family");
    PangoLayoutLine *line = pango_layout_get_line_readonly(layout, 0);
    PangoGlyphItem *run = line && line->runs ? line->runs->data : NULL;
    CHECK(run != NULL);
    if (run) {
        PangoFontDescription *d = pango_font_describe(run->item->analysis.font);
        CHECK_STR_EQ(pango_font_description_get_family(d), RENDER_SERIF);
        CHECK_INT_EQ(pango_font_description_get_weight(d), PANGO_WEIGHT_BOLD);
        pango_font_description_free(d);
    }
    g_object_unref(layout);
    layout = render_text_layout(cr, RENDER_SANS, PANGO_WEIGHT_NORMAL, 16, "Years");
    line = pango_layout_get_line_readonly(layout, 0);
    run = line && line->runs ? line->runs->data : NULL;
    if (run) {
        PangoFontDescription *d = pango_font_describe(run->item->analysis.font);
        CHECK_STR_EQ(pango_font_description_get_family(d), RENDER_SANS);
        pango_font_description_free(d);
    }
    g_object_unref(layout);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
}

static void test_titles_in_any_script_have_glyphs(void)
{
    const char *titles[] = {"家族の旅 東京から大阪へ", "Ça déménage à Zürich, Kraków, Ðà Nẵng",
                            "Семья в Москве", "عائلتنا في القاهرة", "Our trip 🌍✈️"};
    for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) {
        int unknown = render_text_unknown_glyphs(RENDER_SERIF, PANGO_WEIGHT_BOLD, 28, titles[i]);
        CHECK_MSG(unknown == 0, "%s: %d missing glyphs", titles[i], unknown);
        unknown = render_text_unknown_glyphs(RENDER_SANS, PANGO_WEIGHT_NORMAL, 16, titles[i]);
        CHECK_MSG(unknown == 0, "%s (sans): %d missing glyphs", titles[i], unknown);
    }
    /* The counter itself sees a character no font has (a private-use code point). */
    CHECK(render_text_unknown_glyphs(RENDER_SERIF, PANGO_WEIGHT_BOLD, 28, "\xee\x80\x80") > 0);
}

/* ---- sizes and chunks ---- */
static void test_every_size_has_its_pixel_size(void)
{
    map_definition def;
    if (!parse_map(MAP_PLAIN "}", &def))
        return;
    size_t n;
    const map_print_spec *specs = map_print_specs(&n);
    CHECK_INT_EQ(n, 16);
    const double dpi = 12;
    for (size_t i = 0; i < n; i++) {
        map_page_boxes b;
        map_page_boxes_for(&specs[i], &b);
        /* The spec's own table, at 300 DPI: round((trim + 2 × bleed) / 72 × 300). */
        CHECK_INT_EQ(specs[i].px_w, lround(b.total.w / 72 * 300));
        CHECK_INT_EQ(specs[i].px_h, lround(b.total.h / 72 * 300));
        test_png png;
        char name[64];
        snprintf(name, sizeof name, "size-%s.png", specs[i].key);
        if (!render_png(&def, specs[i].key, dpi, name, &png))
            continue;
        CHECK_INT_EQ(png.w, lround(b.total.w / 72 * dpi));
        CHECK_INT_EQ(png.h, lround(b.total.h / 72 * dpi));
        test_png_free(&png);
    }
    map_definition_free(&def);
}

static void test_full_resolution_png_chunks(void)
{
    map_definition def;
    if (!parse_map(MAP_PLAIN "}", &def))
        return;
    test_png png;
    if (render_png(&def, "8x10", 300, "full-8x10.png", &png)) {
        CHECK_INT_EQ(png.w, 2475);
        CHECK_INT_EQ(png.h, 3075);
        CHECK_INT_EQ(png.bit_depth, 8);
        CHECK_INT_EQ(png.color_type, 2);
        CHECK(png.has_iccp);
        CHECK(png.icc_len >= 128);
        CHECK(png.has_phys);
        CHECK_INT_EQ(png.phys_x, 11811);
        CHECK_INT_EQ(png.phys_y, 11811);
        CHECK_INT_EQ(png.phys_unit, PNG_RESOLUTION_METER);
        awm_error err = {{0}};
        char path[512];
        path_in_dir(path, sizeof path, "full-8x10.png");
        CHECK_MSG(render_verify_png(path, 2475, 3075, &err), "%s", err.msg);
        /* The check refuses a wrong size. */
        CHECK(!render_verify_png(path, 2475, 3076, &err));
        test_png_free(&png);
    }
    map_definition_free(&def);
}

/* ---- colours of known places ---- */
static bool scene_point_px(const map_definition *def, const char *size, double dpi, double lon,
                           double lat, int *px, int *py)
{
    render_scene s;
    awm_error err = {{0}};
    if (!render_scene_build(&s, def, map_print_spec_find(size), dpi / 72, GEO_DETAIL_110M, &err))
        return false;
    double x, y;
    bool ok = geo_point_visible(&s.proj, lon, lat) && geo_project_point(&s.proj, lon, lat, &x, &y);
    render_scene_free(&s);
    if (!ok) /* x and y were not set */
        return false;
    *px = (int)floor(x * dpi / 72);
    *py = (int)floor(y * dpi / 72);
    return true;
}

static void check_place(const map_definition *def, const test_png *png, double dpi, double lon,
                        double lat, uint32_t want, const char *what)
{
    int x, y;
    if (!scene_point_px(def, "8x10", dpi, lon, lat, &x, &y)) {
        CHECK_MSG(false, "%s not visible", what);
        return;
    }
    uint32_t got = test_png_pixel(png, x, y);
    CHECK_MSG(got == want, "%s (%g, %g) at pixel %d,%d in %s/%s: #%06x, want #%06x", what, lon, lat, x,
              y, geo_projection_kind_name(def->projection), def->theme->id, got, want);
}

static void test_land_and_ocean_colours_per_projection(void)
{
    const char *projections[] = {"orthographic", "equirectangular", "mercator", "naturalEarth1",
                                 "robinson"};
    const char *themes[] = {"antique-parchment", "cool-blue", "modern-gray", "warm-earth"};
    const double dpi = 60;
    for (size_t i = 0; i < 5; i++) {
        /* The globe needs turning to face each place; flat maps show both at once. */
        const char *rotations[2] = {"[-5, -25, 0]", "[145, -5, 0]"};
        int passes = i == 0 ? 2 : 1;
        for (int pass = 0; pass < passes; pass++) {
            char json[1024];
            snprintf(json, sizeof json,
                     "%s, \"projection\": \"%s\", \"theme\": \"%s\", \"rotation\": %s}", MAP_PLAIN,
                     projections[i], themes[(i + pass) % 4], i == 0 ? rotations[pass] : "[-20, -30, 0]");
            map_definition def;
            if (!parse_map(json, &def))
                continue;
            char name[64];
            snprintf(name, sizeof name, "place-%s-%d.png", projections[i], pass);
            test_png png;
            if (render_png(&def, "8x10", dpi, name, &png)) {
                if (i != 0 || pass == 0) /* the middle of the Sahara */
                    check_place(&def, &png, dpi, 5.0, 25.0, def.theme->land, "Sahara");
                if (i != 0 || pass == 1) /* the middle of the Pacific */
                    check_place(&def, &png, dpi, -145.0, 5.0, def.theme->ocean, "Pacific");
                test_png_free(&png);
            }
            map_definition_free(&def);
        }
    }
}

static void test_canvas_colour_per_theme(void)
{
    size_t n;
    const map_theme *themes = map_themes(&n);
    CHECK_INT_EQ(n, 4);
    for (size_t i = 0; i < n; i++) {
        char json[512];
        snprintf(json, sizeof json, "%s, \"theme\": \"%s\"}", MAP_PLAIN, themes[i].id);
        map_definition def;
        if (!parse_map(json, &def))
            continue;
        char name[64];
        snprintf(name, sizeof name, "theme-%s.png", themes[i].id);
        test_png png;
        if (render_png(&def, "10x8", 24, name, &png)) {
            /* Corners are in the bleed: nothing but canvas there. */
            CHECK_INT_EQ(test_png_pixel(&png, 0, 0), themes[i].canvas_background);
            CHECK_INT_EQ(test_png_pixel(&png, png.w - 1, png.h - 1), themes[i].canvas_background);
            test_png_free(&png);
        }
        map_definition_free(&def);
    }
}

/* 10m geography: world-atlas has slivers whose winding quantisation flipped; drawn as is they
 * would fill the whole globe with land. The open Atlantic must stay ocean. */
static void test_10m_globe_keeps_its_ocean(void)
{
    map_definition def;
    if (!parse_map(MAP_PLAIN "}", &def))
        return;
    render_options opt;
    render_options_default(&opt);
    opt.dpi = 30;
    opt.detail = GEO_DETAIL_10M;
    char path[512];
    render_result res;
    test_png png;
    if (render_file(&def, "8x10", &opt, "globe-10m.png", path, &res)) {
        CHECK_INT_EQ(res.detail, GEO_DETAIL_10M);
        if (test_png_read(path, &png)) {
            check_place(&def, &png, 30, -45.0, 25.0, def.theme->ocean, "mid-Atlantic");
            check_place(&def, &png, 30, 5.0, 25.0, def.theme->land, "Sahara");
            test_png_free(&png);
        } else {
            CHECK_MSG(false, "%s is not a readable PNG", path);
        }
    }
    map_definition_free(&def);
}

/* The streaming variant gives the same bytes as the file. */
static bool collect(void *user, const void *data, size_t len)
{
    awm_buf_append(user, data, len);
    return true;
}

static bool refuse(void *user, const void *data, size_t len)
{
    (void)user;
    (void)data;
    (void)len;
    return false;
}

static void test_stream_output(void)
{
    map_definition def;
    if (!parse_map(MAP_PLAIN "}", &def))
        return;
    render_options opt;
    render_options_default(&opt);
    opt.dpi = 20;
    awm_buf buf = {0};
    render_result res;
    awm_error err = {{0}};
    CHECK_MSG(render_poster_write(&def, map_print_spec_find("A4"), &opt, collect, &buf, &res, &err), "%s",
              err.msg);
    CHECK_INT_EQ(res.bytes, buf.len);
    CHECK(buf.len > 8 && !memcmp(buf.data, "\x89PNG\r\n\x1a\n", 8));
    char path[512];
    render_file(&def, "A4", &opt, "stream.png", path, &res);
    char *file = NULL;
    size_t len = 0;
    if (awm_read_file(path, &file, &len, &err)) {
        CHECK(len == buf.len && !memcmp(file, buf.data, len));
        free(file);
    }
    awm_buf_free(&buf);
    /* A writer that fails stops the render with an error. */
    CHECK(!render_poster_write(&def, map_print_spec_find("A4"), &opt, refuse, NULL, &res, &err));
    CHECK(strlen(err.msg) > 0);
    map_definition_free(&def);
}

/* At a preview DPI the page ends inside its last pixel row (8x10 at 30 DPI: 307.5 rows). That
 * row is canvas only; with one thread the last band reuses the buffer of a band full of globe,
 * so a canvas painted only inside the page box would let the globe show through there. */
static void test_partial_last_row_is_canvas(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    render_options opt;
    render_options_default(&opt);
    opt.dpi = 30;
    opt.threads = 1;
    char path[512];
    render_result res;
    test_png png = {0};
    if (!render_file(&def, "8x10", &opt, "last-row.png", path, &res)) {
        map_definition_free(&def);
        return;
    }
    if (test_png_read(path, &png)) {
        CHECK_INT_EQ(png.h, 308);
        int wrong = 0;
        for (int x = 0; x < png.w; x++)
            wrong += test_png_pixel(&png, x, png.h - 1) != def.theme->canvas_background;
        CHECK_MSG(wrong == 0, "%d pixels of the last row are not the canvas colour", wrong);
        test_png_free(&png);
    } else {
        CHECK_MSG(false, "%s is not a readable PNG", path);
    }
    map_definition_free(&def);
}

/* Banding is invisible: the banded, multi-threaded PNG matches the page drawn in one pass
 * with no clip at all (whole subpaths, closed by cairo: none of the band code's runs, wraps or
 * chords). A handful of anti-aliased pixels may differ slightly where cairo tessellates a
 * stroke cut at a band edge differently; a stroke the bands lose (a ring's closing segment or
 * its join) is a line of pixels that differ a lot. */
static void test_bands_match_single_pass(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    def.labels = MAP_LABELS_PLACES_AND_YEARS; /* every layer, labels and legend included */
    awm_error err = {{0}};
    const double dpi = 100;
    test_png png;
    if (!render_png(&def, "8x10", dpi, "banded.png", &png)) {
        map_definition_free(&def);
        return;
    }
    render_scene s;
    CHECK(render_scene_build(&s, &def, map_print_spec_find("8x10"), dpi / 72,
                             render_detail_for_width(png.w), &err));
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, png.w, png.h);
    cairo_t *cr = cairo_create(surf);
    cairo_scale(cr, dpi / 72, dpi / 72);
    render_scene_draw(&s, cr, NULL); /* unclipped: the vector outputs' path */
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    const unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    long differ = 0, differ_much = 0;
    int max_diff = 0;
    for (int y = 0; y < png.h; y++) {
        for (int x = 0; x < png.w; x++) {
            uint32_t a = *(const uint32_t *)(data + (size_t)y * stride + 4 * (size_t)x) & 0xffffff;
            uint32_t b = test_png_pixel(&png, x, y);
            if (a == b)
                continue;
            differ++;
            int d_px = 0;
            for (int k = 0; k < 24; k += 8) {
                int d = abs((int)((a >> k) & 255) - (int)((b >> k) & 255));
                if (d > d_px)
                    d_px = d;
            }
            differ_much += d_px > 8;
            if (d_px > max_diff)
                max_diff = d_px;
        }
    }
    fprintf(stderr, "     banded vs unclipped: %ld of %d pixels differ, %ld by more than 8, max %d\n", differ,
            png.w * png.h, differ_much, max_diff);
    /* Measured (8x10, 100 DPI, 845,625 pixels): 178 differ, 28 by more than 8, by 21 at most;
     * with the closing "wrap" of append_outline's runs dropped, 1151, 569 and 59. */
    CHECK_MSG(differ <= (long)png.w * png.h / 2000, "%ld of %d pixels differ", differ, png.w * png.h);
    CHECK_MSG(differ_much <= (long)png.w * png.h / 10000, "%ld pixels differ by more than 8", differ_much);
    CHECK_MSG(max_diff <= 40, "max channel difference %d", max_diff);
    cairo_surface_destroy(surf);
    render_scene_free(&s);
    test_png_free(&png);
    map_definition_free(&def);
}

/* ---- the QR code scans back to qrUrl ---- */
static void test_qr_code_decodes(void)
{
    const char *url = "https://alwaysmap.com/m/family-42?from=poster";
    char json[1024];
    snprintf(json, sizeof json, "%s, \"qrUrl\": \"%s\"}", MAP_PLAIN, url);
    map_definition def;
    if (!parse_map(json, &def))
        return;
    CHECK(render_png(&def, "8x10", 150, "qr.png", NULL));
    map_definition_free(&def);
    char cmd[1024], path[512];
    path_in_dir(path, sizeof path, "qr.png");
    snprintf(cmd, sizeof cmd, "zbarimg --quiet --raw '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    char line[1024] = "";
    if (p) {
        if (!fgets(line, sizeof line, p))
            line[0] = '\0';
        pclose(p);
    }
    line[strcspn(line, "\n")] = '\0';
    CHECK_STR_EQ(line, url);
}

/* ---- paths stop at the horizon ---- */
static void test_leg_behind_globe_ends_on_horizon(void)
{
    /* From the centre of the globe (0, 0) to 120°E, which is behind it: the leg must end on
     * the horizon (90°E), i.e. at distance `scale` from the centre. */
    const char *json =
        "{\"title\": \"Horizon\", \"rotation\": [0, 0, 0], \"people\": [{\"id\": \"a\", \"name\": \"A\","
        " \"color\": \"#ff0000\", \"locations\": [{\"longitude\": 0, \"latitude\": 0},"
        " {\"longitude\": 120, \"latitude\": 10}]}]}";
    map_definition def;
    if (!parse_map(json, &def))
        return;
    render_scene s;
    awm_error err = {{0}};
    if (!render_scene_build(&s, &def, map_print_spec_find("8x10"), 1, GEO_DETAIL_110M, &err)) {
        CHECK_MSG(false, "%s", err.msg);
        map_definition_free(&def);
        return;
    }
    const geo_path *legs = &s.people[0].legs.path;
    CHECK(legs->point_count >= 2);
    double cx = s.proj.translate[0], cy = s.proj.translate[1], r = s.proj.scale;
    double max_d = 0;
    for (size_t i = 0; i < legs->point_count; i++) {
        double d = hypot(legs->points[i].x - cx, legs->points[i].y - cy);
        if (d > max_d)
            max_d = d;
    }
    if (legs->point_count) {
        const geo_point *end = &legs->points[legs->point_count - 1];
        CHECK_NEAR(hypot(end->x - cx, end->y - cy), r, 1e-6 * r);
        CHECK(end->x > cx); /* on the eastern limb */
    }
    CHECK(max_d <= r * (1 + 1e-9));
    /* Only the visible location gets a marker. */
    CHECK_INT_EQ(s.people[0].marker_count, 1);
    render_scene_free(&s);
    map_definition_free(&def);
}

/* ---- vector outputs ---- */
static size_t count_occurrences(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++)
        if (!memcmp(hay + i, needle, m))
            n++;
    return n;
}

/* Parses `json` and renders it as a PDF or SVG (110m geography) into g_dir/name. */
static bool render_vector(const char *json, const char *size, render_format format, const char *name, char path[512])
{
    map_definition def;
    if (!parse_map(json, &def))
        return false;
    render_options opt;
    render_options_default(&opt);
    opt.format = format;
    opt.detail = GEO_DETAIL_110M;
    render_result res;
    bool ok = render_file(&def, size, &opt, name, path, &res);
    map_definition_free(&def);
    return ok;
}

static void test_pdf_embeds_fonts(void)
{
    const char *json = "{\"title\": \"Our Family Journey\", \"subtitle\": \"2010\u20132024\","
                       " \"people\": [{\"id\": \"a\", \"name\": \"A\", \"locations\": []}]}";
    char path[512];
    if (!render_vector(json, "8x10", RENDER_PDF, "poster.pdf", path))
        return;
    char *data = NULL;
    size_t len = 0;
    awm_error err = {{0}};
    if (!awm_read_file(path, &data, &len, &err)) {
        CHECK_MSG(false, "%s", err.msg);
        return;
    }
    CHECK(len > 4 && !memcmp(data, "%PDF", 4));
    /* Page = total size incl. bleed: 8x10 is 594 × 738 pt. */
    CHECK(count_occurrences(data, len, "/MediaBox [ 0 0 594 738 ]") == 1);
    /* Every font descriptor carries its font program (FontFile2/FontFile3), and both poster
     * fonts are there. */
    size_t descriptors = count_occurrences(data, len, "/Type /FontDescriptor");
    size_t programs = count_occurrences(data, len, "/FontFile2") + count_occurrences(data, len, "/FontFile3");
    CHECK(descriptors >= 2);
    CHECK_INT_EQ(programs, descriptors);
    CHECK(count_occurrences(data, len, "CormorantGaramond") > 0);
    CHECK(count_occurrences(data, len, "DMSans") > 0);
    free(data);
}

static void test_svg_is_well_formed(void)
{
    const char *json = "{\"title\": \"Fish & <Chips>\", \"people\": [{\"id\": \"a\", \"name\": \"A\","
                       " \"locations\": [{\"longitude\": 2, \"latitude\": 48}, {\"longitude\": -74, \"latitude\": 40}]}]}";
    char path[512];
    if (!render_vector(json, "A4", RENDER_SVG, "poster.svg", path))
        return;
    char cmd[700];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
    CHECK_INT_EQ(system(cmd), 0);
    char *data = NULL;
    size_t len = 0;
    awm_error err = {{0}};
    if (awm_read_file(path, &data, &len, &err)) {
        CHECK(count_occurrences(data, len, "<svg") == 1);
        CHECK(count_occurrences(data, len, "width=\"613.44pt\"") == 1);
        free(data);
    }
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/awm-render-test-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_fonts_resolve_to_ours);
    RUN(test_titles_in_any_script_have_glyphs);
    RUN(test_every_size_has_its_pixel_size);
    RUN(test_full_resolution_png_chunks);
    RUN(test_land_and_ocean_colours_per_projection);
    RUN(test_canvas_colour_per_theme);
    RUN(test_10m_globe_keeps_its_ocean);
    RUN(test_stream_output);
    RUN(test_partial_last_row_is_canvas);
    RUN(test_bands_match_single_pass);
    RUN(test_qr_code_decodes);
    RUN(test_leg_behind_globe_ends_on_horizon);
    RUN(test_pdf_embeds_fonts);
    RUN(test_svg_is_well_formed);
    if (!getenv("AWM_KEEP_TEST_FILES"))
        tk_remove_tree(g_dir);
    else
        fprintf(stderr, "files kept in %s\n", g_dir);
    return TEST_EXIT();
}
