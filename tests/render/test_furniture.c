/* test_furniture.c — the placement rules of MAPS-AND-PRINT.md §4 layers 5 and 8–12, checked by
 * geometry on the laid-out furniture and scene (render_internal.h), and by pixels where the
 * rule is about what is painted: the title box, legend, QR group and attribution inside the
 * safe area on all 16 sizes; the title's wrap / shrink / "…" with its warning; legend rows,
 * columns and years; place labels that cover nothing; the furniture rule on the map frame;
 * Mercator clipped to its square; borders stroked once and coastlines only by the land. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/render_internal.h"
#include "support/testkit.h"
#include "test.h"
#include "map_fixture.h"

static bool build(render_scene *s, const map_definition *def, const char *size)
{
    awm_error err = {{0}};
    bool ok = render_scene_build(s, def, map_print_spec_find(size), 1, GEO_DETAIL_110M, &err);
    CHECK_MSG(ok, "scene %s: %s", size, err.msg);
    return ok;
}

static bool within(const render_bbox *b, const map_box *area)
{
    return b->x0 >= area->x - 1e-9 && b->y0 >= area->y - 1e-9 && b->x1 <= area->x + area->w + 1e-9 &&
           b->y1 <= area->y + area->h + 1e-9;
}

static bool overlap(const render_bbox *a, const render_bbox *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* A map of n people, each with a long name and dated places; `extra` adds fields. */
static char *people_map(size_t n, const char *extra)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"title\": \"A family of %zu\", \"subtitle\": \"and their places\"%s, \"people\": [", n,
                   extra);
    for (size_t i = 0; i < n; i++)
        awm_buf_printf(&b, "%s{\"id\": \"p%zu\", \"name\": \"Person number %zu of the family tree\", "
                           "\"locations\": [{\"longitude\": %g, \"latitude\": 10, \"date\": \"1987\"}, "
                           "{\"longitude\": %g, \"latitude\": 20, \"date\": \"2024-05\"}]}",
                       i ? ", " : "", i, i, (double)i - 50, (double)i - 40);
    awm_buf_printf(&b, "]}");
    return b.data;
}

/* ---- every piece of furniture inside the safe area, on every size ---- */
static void test_furniture_inside_safe_area_on_every_size(void)
{
    char *json = people_map(12, ", \"qrUrl\": \"https://alwaysmap.com/some/longer/path\"");
    map_definition def;
    if (!parse_map(json, &def)) {
        free(json);
        return;
    }
    free(json);
    size_t n;
    const map_print_spec *specs = map_print_specs(&n);
    CHECK_INT_EQ(n, 16);
    for (size_t i = 0; i < n; i++) {
        map_page_boxes pb;
        map_page_boxes_for(&specs[i], &pb);
        render_furniture f;
        render_furniture_layout(&def, &specs[i], &f);
        CHECK(f.has_legend && f.has_qr);
        render_bbox boxes[4];
        size_t nb = render_furniture_boxes(&f, boxes);
        CHECK_INT_EQ(nb, 4);
        for (size_t k = 0; k < nb; k++) {
            CHECK_MSG(within(&boxes[k], &pb.safe), "%s: furniture box %zu (%g,%g)-(%g,%g) leaves the safe area",
                      specs[i].key, k, boxes[k].x0, boxes[k].y0, boxes[k].x1, boxes[k].y1);
            for (size_t m = k + 1; m < nb; m++)
                CHECK_MSG(!overlap(&boxes[k], &boxes[m]), "%s: furniture %zu and %zu overlap", specs[i].key, k, m);
        }
        /* title box: the safe area's top-left, 400 pt wide */
        CHECK_NEAR(f.title_box.x0, pb.safe.x, 1e-9);
        CHECK_NEAR(f.title_box.y0, pb.safe.y, 1e-9);
        CHECK_NEAR(f.title_box.x1 - f.title_box.x0, 400, 1e-9);
        /* QR group: bottom-right on the safe area's, 10 pt around the code, caption 14 pt below it */
        CHECK_NEAR(f.qr_group.x1, pb.safe.x + pb.safe.w, 1e-9);
        CHECK_NEAR(f.qr_group.y1, pb.safe.y + pb.safe.h, 1e-9);
        CHECK_NEAR(f.qr_code.x1 - f.qr_code.x0, 100, 1e-9);
        CHECK_NEAR(f.qr_code.y0 - f.qr_group.y0, 10, 1e-9);
        CHECK_NEAR(f.caption.baseline, f.qr_code.y1 + 14, 1e-9);
        CHECK(within(&f.caption.box, &(map_box){f.qr_group.x0 + 10, f.qr_group.y0 + 10,
                                                f.qr_group.x1 - f.qr_group.x0 - 20,
                                                f.qr_group.y1 - f.qr_group.y0 - 20}));
        /* legend: bottom-left at (safe.x, safe.bottom − 30); attribution under it */
        CHECK_NEAR(f.legend_box.x0, pb.safe.x, 1e-9);
        CHECK_NEAR(f.legend_box.y1, pb.safe.y + pb.safe.h - 30, 1e-9);
        CHECK_MSG(f.legend_box.y1 - f.legend_box.y0 <= 126 + 24 + 1e-9, "%s: legend %g tall", specs[i].key,
                  f.legend_box.y1 - f.legend_box.y0);
        CHECK_NEAR(f.attribution.baseline, pb.safe.y + pb.safe.h - 20, 1e-9);
        CHECK_NEAR(f.attribution.x, pb.safe.x + 20, 1e-9);
        CHECK(f.attribution.box.y0 >= f.legend_box.y1);
        render_furniture_free(&f);
    }
    map_definition_free(&def);
}

/* ---- the title box ---- */
static void title_layout(const char *title, const char *subtitle, render_furniture *f, map_violations *w)
{
    char json[2048];
    snprintf(json, sizeof json, "{\"title\": \"%s\", \"subtitle\": \"%s\", \"people\": [{\"id\": \"a\", "
                                "\"name\": \"A\", \"locations\": []}]}", title, subtitle);
    map_definition def;
    memset(f, 0, sizeof *f);
    if (!parse_map(json, &def))
        return;
    render_furniture_layout(&def, map_print_spec_find("8x10"), f);
    awm_error err = {{0}};
    memset(w, 0, sizeof *w);
    CHECK_MSG(render_map_warnings(&def, w, &err), "%s", err.msg);
    map_definition_free(&def);
}

static void test_title_one_line(void)
{
    render_furniture f;
    map_violations w;
    title_layout("Our Family Journey", "2010–2024", &f, &w);
    CHECK_INT_EQ(f.title.lines, 1);
    CHECK_NEAR(f.title.size_pt, 28, 0);
    CHECK_NEAR(f.title_box.y1 - f.title_box.y0, 100, 1e-9);
    CHECK_NEAR(f.title.baseline, f.title_box.y0 + 44, 1e-9);
    CHECK_NEAR(f.subtitle.baseline, f.title_box.y0 + 76, 1e-9);
    CHECK_NEAR(f.subtitle.size_pt, 16, 0);
    CHECK(!f.title.shortened && !f.subtitle.shortened);
    CHECK_INT_EQ(w.count, 0);
    map_violations_free(&w);
    render_furniture_free(&f);
}

static void test_title_wraps_to_two_lines_before_shrinking(void)
{
    render_furniture f;
    map_violations w;
    title_layout("The Oyelaran family from Lagos to Lisbon", "Four generations", &f, &w);
    CHECK_INT_EQ(f.title.lines, 2);
    CHECK_NEAR(f.title.size_pt, 28, 0); /* wrapped, not shrunk */
    CHECK_NEAR(f.title_box.y1 - f.title_box.y0, 136, 1e-9);
    CHECK_NEAR(f.title.baseline, f.title_box.y0 + 44, 1e-9);
    CHECK_NEAR(f.title.line_step, 36, 0); /* second line at y + 80 */
    CHECK_NEAR(f.subtitle.baseline, f.title_box.y0 + 80 + 32, 1e-9);
    CHECK(!f.title.shortened);
    /* Both lines inside the box, padding included. */
    CHECK(f.title.box.x0 >= f.title_box.x0 + 20 - 1e-6 && f.title.box.x1 <= f.title_box.x1 - 20 + 1e-6);
    CHECK(f.title.box.y1 < f.subtitle.box.y0 + 1e-6 && f.subtitle.box.y1 <= f.title_box.y1);
    CHECK_INT_EQ(w.count, 0);
    map_violations_free(&w);
    render_furniture_free(&f);
}

static void test_title_shrinks_then_ends_in_ellipsis_with_warning(void)
{
    /* Three lines at 28 pt: shrinks onto two, above the floor. */
    render_furniture f;
    map_violations w;
    title_layout("The Hernandez Oyelaran family across four continents and seven decades of moving", "", &f, &w);
    CHECK_INT_EQ(f.title.lines, 2);
    CHECK(f.title.size_pt < 28 && f.title.size_pt >= 16);
    CHECK(!f.title.shortened);
    CHECK_INT_EQ(w.count, 0);
    map_violations_free(&w);
    render_furniture_free(&f);

    /* 200 characters: 16 pt, two lines, ending in "…", and a warning for the title. */
    char title[201];
    for (int i = 0; i < 200; i++)
        title[i] = "Family journey "[i % 15];
    title[199] = 'x';
    title[200] = '\0';
    char sub[201];
    for (int i = 0; i < 200; i++)
        sub[i] = "and the places they lived "[i % 26];
    sub[199] = 'y';
    sub[200] = '\0';
    title_layout(title, sub, &f, &w);
    CHECK_NEAR(f.title.size_pt, 16, 0);
    CHECK_INT_EQ(f.title.lines, 2);
    CHECK(f.title.shortened);
    CHECK_NEAR(f.subtitle.size_pt, 10, 0);
    CHECK(f.subtitle.shortened);
    CHECK(f.title.box.x1 <= f.title_box.x1 - 20 + 1e-6);
    CHECK(f.subtitle.box.x1 <= f.title_box.x1 - 20 + 1e-6 && f.subtitle.box.y1 <= f.title_box.y1);
    CHECK_INT_EQ(w.count, 2);
    if (w.count == 2) {
        CHECK_STR_EQ(w.items[0], "title: shortened to fit the title box");
        CHECK_STR_EQ(w.items[1], "subtitle: shortened to fit the title box");
    }
    map_violations_free(&w);
    render_furniture_free(&f);
}

/* ---- the legend ---- */
static void test_legend_rows_and_years(void)
{
    const char *json =
        "{\"title\": \"T\", \"people\": ["
        "{\"id\": \"a\", \"name\": \"Ana\", \"locations\": [{\"longitude\": 1, \"latitude\": 1, \"date\": \"1987\"},"
        " {\"longitude\": 2, \"latitude\": 2}, {\"longitude\": 3, \"latitude\": 3, \"date\": \"2024-02-29\"}]},"
        "{\"id\": \"b\", \"name\": \"Ben\", \"locations\": [{\"longitude\": 1, \"latitude\": 1, \"date\": \"2001-05\"},"
        " {\"longitude\": 2, \"latitude\": 2, \"date\": \"2001-06-01\"}]},"
        "{\"id\": \"c\", \"name\": \"Cy\", \"locations\": [{\"longitude\": 1, \"latitude\": 1}]}]}";
    map_definition def;
    if (!parse_map(json, &def))
        return;
    render_furniture f;
    render_furniture_layout(&def, map_print_spec_find("18x24"), &f);
    CHECK(f.has_legend);
    CHECK_INT_EQ(f.row_count, 3);
    if (f.row_count == 3) {
        CHECK_STR_EQ(f.rows[0].name.text, "Ana");
        CHECK_STR_EQ(f.rows[0].years.text, "1987\u20132024");
        CHECK_STR_EQ(f.rows[1].years.text, "2001");
        CHECK_STR_EQ(f.rows[2].years.text, "");
        CHECK_INT_EQ(f.rows[0].color, def.people[0].color);
        CHECK_NEAR(f.rows[1].mid_y - f.rows[0].mid_y, 18, 1e-9); /* rows 18 pt apart */
        CHECK_NEAR(f.legend_box.y1 - f.legend_box.y0, 3 * 18 + 24, 1e-9);
    }
    render_furniture_free(&f);
    map_definition_free(&def);

    /* "legend": false — no panel. */
    CHECK(parse_map("{\"title\": \"T\", \"legend\": false, \"people\": [{\"id\": \"a\", \"name\": \"A\"}]}", &def));
    render_furniture_layout(&def, map_print_spec_find("18x24"), &f);
    CHECK(!f.has_legend);
    render_bbox boxes[4];
    CHECK_INT_EQ(render_furniture_boxes(&f, boxes), 3);
    render_furniture_free(&f);
    map_definition_free(&def);
}

static void test_legend_columns_and_more(void)
{
    /* 12 people on 18x24: two columns of at most 7, each at most 260 pt wide. */
    char *json = people_map(12, "");
    map_definition def;
    bool ok = parse_map(json, &def);
    free(json);
    if (!ok)
        return;
    render_furniture f;
    render_furniture_layout(&def, map_print_spec_find("18x24"), &f);
    CHECK_INT_EQ(f.row_count, 12);
    for (size_t i = 0; i < f.row_count; i++) {
        double w = f.rows[i].years.box.x1 - f.rows[i].sample_x;
        CHECK_MSG(w <= 260 + 1e-6, "row %zu is %g pt wide", i, w);
        CHECK(f.rows[i].name.shortened); /* the long names are ellipsized */
        CHECK_STR_EQ(f.rows[i].years.text, "1987\u20132024");
    }
    CHECK(f.rows[7].sample_x > f.rows[6].sample_x); /* the 8th starts the second column */
    CHECK_NEAR(f.rows[7].mid_y, f.rows[0].mid_y, 1e-9);
    CHECK_NEAR(f.legend_box.y1 - f.legend_box.y0, 126 + 24, 1e-9);
    map_violations w = {0};
    awm_error err = {{0}};
    CHECK(render_map_warnings(&def, &w, &err));
    CHECK_INT_EQ(w.count, 12);
    if (w.count)
        CHECK_STR_EQ(w.items[0], "people[0].name: shortened to fit the legend");
    map_violations_free(&w);
    render_furniture_free(&f);
    map_definition_free(&def);

    /* 100 people on 8x10: as many columns as fit beside the QR group, the last row "+ N more". */
    json = people_map(100, "");
    ok = parse_map(json, &def);
    free(json);
    if (!ok)
        return;
    render_furniture_layout(&def, map_print_spec_find("8x10"), &f);
    map_page_boxes pb;
    map_page_boxes_for(map_print_spec_find("8x10"), &pb);
    CHECK(f.row_count >= 7 && f.row_count % 7 == 0);
    if (f.row_count) {
        const render_legend_row *last = &f.rows[f.row_count - 1];
        char more[32];
        snprintf(more, sizeof more, "+ %zu more", 100 - (f.row_count - 1));
        CHECK(last->more);
        CHECK_STR_EQ(last->name.text, more);
    }
    CHECK(f.legend_box.x1 <= f.qr_group.x0);
    CHECK(within(&f.legend_box, &pb.safe));
    render_furniture_free(&f);
    map_definition_free(&def);
}

/* ---- the QR group is absent with qrUrl null or "" ---- */
static void test_no_qr_group(void)
{
    const char *maps[] = {"{\"title\": \"T\", \"qrUrl\": null, \"people\": [{\"id\": \"a\", \"name\": \"A\"}]}",
                          "{\"title\": \"T\", \"qrUrl\": \"\", \"people\": [{\"id\": \"a\", \"name\": \"A\"}]}"};
    for (int i = 0; i < 2; i++) {
        map_definition def;
        if (!parse_map(maps[i], &def))
            continue;
        render_scene s;
        if (build(&s, &def, "8x10")) {
            CHECK(!s.furniture.has_qr);
            CHECK(s.qr == NULL);
            /* Nothing drawn there: the safe area's bottom-right corner is canvas. */
            cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
            cairo_t *cr = cairo_create(surf);
            cairo_translate(cr, -(s.boxes.safe.x + s.boxes.safe.w - 50), -(s.boxes.safe.y + s.boxes.safe.h - 50));
            render_scene_draw(&s, cr, NULL);
            cairo_destroy(cr);
            cairo_surface_flush(surf);
            uint32_t px = *(uint32_t *)cairo_image_surface_get_data(surf) & 0xffffff;
            CHECK_MSG(px == def.theme->canvas_background, "pixel %06x", (unsigned)px);
            cairo_surface_destroy(surf);
            render_scene_free(&s);
        }
        map_definition_free(&def);
    }
}

/* ---- place labels ---- */
static const char *const CITIES[][3] = {
    {"Lisbon", "-9.14", "38.72"},   {"Madrid", "-3.70", "40.42"},  {"Paris", "2.35", "48.86"},
    {"London", "-0.13", "51.51"},   {"Brussels", "4.35", "50.85"}, {"Amsterdam", "4.90", "52.37"},
    {"Berlin", "13.40", "52.52"},   {"Prague", "14.42", "50.08"},  {"Vienna", "16.37", "48.21"},
    {"Rome", "12.50", "41.90"},     {"Milan", "9.19", "45.46"},    {"Zurich", "8.54", "47.38"},
    {"Munich", "11.58", "48.14"},   {"Lyon", "4.84", "45.76"},     {"Barcelona", "2.17", "41.39"},
    {"Porto", "-8.61", "41.15"},    {"Dublin", "-6.26", "53.35"},  {"Copenhagen", "12.57", "55.68"},
    {"Oslo", "10.75", "59.91"},     {"Stockholm", "18.07", "59.33"}};

static char *cities_map(const char *labels, const char *projection)
{
    awm_buf b = {0};
    awm_buf_printf(&b, "{\"title\": \"Europe\", \"labels\": \"%s\", \"projection\": \"%s\", \"rotation\": [-10, -48, 0], "
                       "\"people\": [", labels, projection);
    for (int p = 0; p < 2; p++) {
        awm_buf_printf(&b, "%s{\"id\": \"p%d\", \"name\": \"P%d\", \"locations\": [", p ? ", " : "", p, p);
        for (int i = 0; i < 20; i++)
            awm_buf_printf(&b, "%s{\"name\": \"%s\", \"longitude\": %s, \"latitude\": %s, \"date\": \"%d\"}", i ? ", " : "",
                           CITIES[i][0], CITIES[i][1], CITIES[i][2], 1980 + 2 * i + p * 5);
        awm_buf_printf(&b, "]}");
    }
    awm_buf_printf(&b, "], \"zoom\": 2}");
    return b.data;
}

static void test_labels_cover_nothing(void)
{
    char *json = cities_map("places-and-years", "orthographic");
    map_definition def;
    bool ok = parse_map(json, &def);
    free(json);
    if (!ok)
        return;
    render_scene s, again;
    if (!build(&s, &def, "18x24")) {
        map_definition_free(&def);
        return;
    }
    /* Both people visit the same 20 places: each place labelled once at most. */
    CHECK_MSG(s.label_count > 5 && s.label_count <= 20, "%zu labels", s.label_count);
    render_bbox furniture[4];
    size_t nf = render_furniture_boxes(&s.furniture, furniture);
    size_t paris = 0;
    for (size_t i = 0; i < s.label_count; i++) {
        const render_bbox *b = &s.labels[i].text.box;
        CHECK(within(b, &s.boxes.safe));
        for (size_t k = i + 1; k < s.label_count; k++)
            CHECK_MSG(!overlap(b, &s.labels[k].text.box), "labels %s and %s overlap", s.labels[i].text.text,
                      s.labels[k].text.text);
        for (size_t k = 0; k < nf; k++)
            CHECK_MSG(!overlap(b, &furniture[k]), "label %s covers furniture %zu", s.labels[i].text.text, k);
        for (size_t p = 0; p < s.person_count; p++)
            for (size_t m = 0; m < s.people[p].marker_count; m++) {
                geo_point q = s.people[p].markers[m];
                render_bbox mb = {q.x - 4.75, q.y - 4.75, q.x + 4.75, q.y + 4.75};
                CHECK_MSG(!overlap(b, &mb), "label %s covers a marker", s.labels[i].text.text);
            }
        if (!strncmp(s.labels[i].text.text, "Paris", 5)) {
            paris++;
            CHECK_STR_EQ(s.labels[i].text.text, "Paris 1984, 1989"); /* both visits, one label */
        }
        /* The label sits next to its marker. */
        CHECK(fabs((b->x0 + b->x1) / 2 - s.labels[i].marker_x) < (b->x1 - b->x0) / 2 + 8);
        CHECK(fabs((b->y0 + b->y1) / 2 - s.labels[i].marker_y) < (b->y1 - b->y0) / 2 + 8);
    }
    if (getenv("AWM_TEST_VERBOSE"))
        for (size_t i = 0; i < s.label_count; i++)
            fprintf(stderr, "label %s at %g,%g\n", s.labels[i].text.text, s.labels[i].text.box.x0, s.labels[i].text.box.y0);
    CHECK_INT_EQ(paris, 1);
    /* Deterministic: the same map, the same labels. */
    if (build(&again, &def, "18x24")) {
        CHECK_INT_EQ(again.label_count, s.label_count);
        for (size_t i = 0; i < s.label_count && i < again.label_count; i++) {
            CHECK_STR_EQ(again.labels[i].text.text, s.labels[i].text.text);
            CHECK(again.labels[i].text.box.x0 == s.labels[i].text.box.x0 &&
                  again.labels[i].text.box.y0 == s.labels[i].text.box.y0);
        }
        render_scene_free(&again);
    }
    render_scene_free(&s);
    map_definition_free(&def);

    /* "places": names only; "none" (the default): no labels. */
    json = cities_map("places", "orthographic");
    ok = parse_map(json, &def);
    free(json);
    if (ok && build(&s, &def, "18x24")) {
        CHECK(s.label_count > 0);
        for (size_t i = 0; i < s.label_count; i++)
            CHECK(strspn(s.labels[i].text.text, "0123456789") == 0 && !strpbrk(s.labels[i].text.text, "0123456789"));
        render_scene_free(&s);
    }
    if (ok)
        map_definition_free(&def);
    json = cities_map("none", "orthographic");
    ok = parse_map(json, &def);
    free(json);
    if (ok && build(&s, &def, "18x24")) {
        CHECK_INT_EQ(s.label_count, 0);
        render_scene_free(&s);
    }
    if (ok)
        map_definition_free(&def);
}

/* `per` named places for each of 100 people, many names repeated (place n always at the same
 * spot: repeated names are repeated visits). */
static void largest_map_text(awm_buf *b, int per)
{
    b->len = 0;
    awm_buf_printf(b, "{\"title\": \"Everyone\", \"labels\": \"places-and-years\", \"rotation\": [-10, -48, 0], "
                      "\"legend\": false, \"people\": [");
    unsigned seed = 12345;
    for (int p = 0; p < 100; p++) {
        awm_buf_printf(b, "%s{\"id\": \"p%d\", \"name\": \"P%d\", \"locations\": [", p ? ", " : "", p, p);
        for (int i = 0; i < per; i++) {
            seed = seed * 1103515245u + 12345u;
            int n = (int)((seed >> 8) % 3000);
            double lon = -10 + (n % 60) * 0.7, lat = 36 + (n / 60) * 0.4;
            awm_buf_printf(b, "%s{\"name\": \"Place %d\", \"longitude\": %.2f, \"latitude\": %.2f, \"date\": \"%d\"}",
                           i ? ", " : "", n, lon, lat, 1900 + i * 100 / per);
        }
        awm_buf_printf(b, "]}");
    }
    awm_buf_printf(b, "]}");
}

/* The largest map (100 people with as many named places as MAP_MAX_DEFINITION_BYTES holds, about
 * 10,000 in all, many names repeated): labels are still placed (the collision tests are
 * bucketed, the places grouped by sorting) and still cover nothing. */
static void test_labels_on_the_largest_map(void)
{
    awm_buf b = {0};
    int per = MAP_MAX_LOCATIONS;
    for (int round = 0; round < 30; round++) { /* the validator measures compact JSON */
        largest_map_text(&b, per);
        json_t *j = json_loads(b.data, 0, NULL);
        size_t size = j ? json_dumpb(j, NULL, 0, JSON_COMPACT) : 0;
        json_decref(j);
        if (size <= MAP_MAX_DEFINITION_BYTES)
            break;
        per = (int)((double)per * MAP_MAX_DEFINITION_BYTES / (double)size) - (round > 2);
    }
    map_definition def;
    bool ok = parse_map(b.data, &def);
    awm_buf_free(&b);
    if (!ok)
        return;
    render_scene s;
    if (build(&s, &def, "18x24")) {
        CHECK_MSG(s.label_count > 20, "%zu labels", s.label_count);
        render_bbox furniture[4];
        size_t nf = render_furniture_boxes(&s.furniture, furniture);
        size_t bad = 0;
        for (size_t i = 0; i < s.label_count; i++) {
            const render_bbox *lb = &s.labels[i].text.box;
            for (size_t k = i + 1; k < s.label_count; k++)
                bad += overlap(lb, &s.labels[k].text.box);
            for (size_t k = 0; k < nf; k++)
                bad += overlap(lb, &furniture[k]);
            for (size_t p = 0; p < s.person_count; p++)
                for (size_t m = 0; m < s.people[p].marker_count; m++) {
                    geo_point q = s.people[p].markers[m];
                    render_bbox mb = {q.x - 4.75, q.y - 4.75, q.x + 4.75, q.y + 4.75};
                    bad += overlap(lb, &mb);
                }
        }
        CHECK_MSG(bad == 0, "%zu overlaps", bad);
        /* A place visited more than three times shows the span of its years. */
        size_t spans = 0;
        for (size_t i = 0; i < s.label_count; i++)
            spans += strstr(s.labels[i].text.text, "\u2013") != NULL && !strchr(s.labels[i].text.text, ',');
        CHECK_MSG(spans > 0, "no label with a year span");
        render_scene_free(&s);
    }
    map_definition_free(&def);
}

/* ---- the furniture rule ---- */
static void test_sample_frame_unchanged_on_portrait_sizes(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    size_t n;
    const map_print_spec *specs = map_print_specs(&n);
    for (size_t i = 0; i < n; i++) {
        if (specs[i].trim_w_pt > specs[i].trim_h_pt)
            continue;
        render_scene s;
        if (!build(&s, &def, specs[i].key))
            continue;
        map_page_boxes pb;
        map_page_boxes_for(&specs[i], &pb);
        CHECK_MSG(!s.frame_reduced, "%s: the sample's frame was reduced", specs[i].key);
        CHECK(s.boxes.frame.x == pb.frame.x && s.boxes.frame.y == pb.frame.y && s.boxes.frame.w == pb.frame.w &&
              s.boxes.frame.h == pb.frame.h);
        render_scene_free(&s);
    }
    map_definition_free(&def);
}

static void test_flat_landscape_frame_leaves_furniture_free(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    def.projection = GEO_PROJ_EQUIRECTANGULAR;
    size_t n;
    const map_print_spec *specs = map_print_specs(&n);
    for (size_t i = 0; i < n; i++) {
        if (specs[i].trim_w_pt < specs[i].trim_h_pt)
            continue;
        render_scene s;
        if (!build(&s, &def, specs[i].key))
            continue;
        const char *size = specs[i].key;
        /* 10x8: the QR group would sit on Antarctica at the default frame. */
        if (!strcmp(size, "10x8"))
            CHECK_MSG(s.frame_reduced, "%s: the furniture covers land, the frame must shrink", size);
        render_bbox furniture[4];
        size_t nf = render_furniture_boxes(&s.furniture, furniture);
        /* The whole drawn world (the sphere's outline) is clear of every piece of furniture. */
        const geo_path *sp = &s.sphere.path;
        render_bbox world = {INFINITY, INFINITY, -INFINITY, -INFINITY};
        for (size_t k = 0; k < sp->point_count; k++) {
            world.x0 = fmin(world.x0, sp->points[k].x);
            world.x1 = fmax(world.x1, sp->points[k].x);
            world.y0 = fmin(world.y0, sp->points[k].y);
            world.y1 = fmax(world.y1, sp->points[k].y);
        }
        for (size_t k = 0; k < nf; k++)
            CHECK_MSG(!overlap(&world, &furniture[k]), "%s: furniture %zu over the map", size, k);
        CHECK(within(&world, &s.boxes.safe));
        render_scene_free(&s);
    }
    map_definition_free(&def);
}

/* ---- pixels ---- */
#define MAP_PLAIN_MERCATOR                                                                        \
    "{\"title\": \"Plain\", \"projection\": \"mercator\", \"legend\": false, \"qrUrl\": null, " \
    "\"people\": [{\"id\": \"a\", \"name\": \"A\"}]}"

/* The scene drawn at `dpi` (whole page). */
static cairo_surface_t *draw_page(const render_scene *s, double dpi, int *w, int *h)
{
    *w = (int)lround(s->boxes.total.w / 72 * dpi);
    *h = (int)lround(s->boxes.total.h / 72 * dpi);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, *w, *h);
    cairo_t *cr = cairo_create(surf);
    cairo_scale(cr, dpi / 72, dpi / 72);
    render_scene_draw(s, cr, NULL);
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    return surf;
}

static uint32_t pixel(cairo_surface_t *surf, int x, int y)
{
    const unsigned char *d = cairo_image_surface_get_data(surf);
    return *(const uint32_t *)(d + (size_t)y * cairo_image_surface_get_stride(surf) + 4 * (size_t)x) & 0xffffff;
}

static void test_mercator_inside_its_square(void)
{
    map_definition def;
    if (!parse_map(MAP_PLAIN_MERCATOR, &def))
        return;
    render_scene s;
    if (!build(&s, &def, "8x10")) {
        map_definition_free(&def);
        return;
    }
    /* 8x10: frame 468 × 612 pt at (63, 63); the square is 468 pt, rows 135–603 pt. */
    CHECK_NEAR(s.boxes.frame.w, 468, 1e-9);
    int w, h;
    cairo_surface_t *surf = draw_page(&s, 72, &w, &h);
    int first = -1, last = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (pixel(surf, x, y) == def.theme->ocean) {
                if (first < 0)
                    first = y;
                last = y;
            }
    CHECK_MSG(first >= 135 && last < 603, "ocean rows %d–%d", first, last);
    CHECK_MSG(first <= 137 && last >= 600, "ocean rows %d–%d: the square is not filled", first, last);
    cairo_surface_destroy(surf);
    render_scene_free(&s);
    map_definition_free(&def);
}

/* Darkest value of each channel in a rectangle (pt) of the page drawn at `dpi`. */
static void darkest(const render_scene *s, double dpi, double x0, double y0, double x1, double y1, int out[3])
{
    int w = (int)lround((x1 - x0) / 72 * dpi), h = (int)lround((y1 - y0) / 72 * dpi);
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(surf);
    cairo_scale(cr, dpi / 72, dpi / 72);
    cairo_translate(cr, -x0, -y0);
    render_scene_draw(s, cr, NULL);
    cairo_destroy(cr);
    cairo_surface_flush(surf);
    out[0] = out[1] = out[2] = 255;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t p = pixel(surf, x, y);
            for (int k = 0; k < 3; k++) {
                int v = (int)((p >> (16 - 8 * k)) & 255);
                if (v < out[k])
                    out[k] = v;
            }
        }
    cairo_surface_destroy(surf);
}

static void test_borders_stroked_once(void)
{
    /* Australia (one country, no land border) and central Africa (borders, no coast) on a globe. */
    const char *json = "{\"title\": \"T\", \"legend\": false, \"qrUrl\": null, \"rotation\": [-20, 0, 0], "
                       "\"people\": [{\"id\": \"a\", \"name\": \"A\"}]}";
    map_definition def;
    if (!parse_map(json, &def))
        return;
    render_scene s;
    if (!build(&s, &def, "18x24")) {
        map_definition_free(&def);
        return;
    }
    const map_theme *t = def.theme;
    int c[3];
    /* Around the Chad–Niger–Nigeria–Cameroon borders (lon 10..20, lat 5..20), far from any coast:
     * inner borders, each painted once, are never darker than the border colour itself. */
    double x0, y0, x1, y1;
    CHECK(geo_project_point(&s.proj, 10, 20, &x0, &y0) && geo_project_point(&s.proj, 20, 8, &x1, &y1));
    darkest(&s, 300, x0, y0, x1, y1, c);
    CHECK_MSG(c[0] >= (int)(t->country_border >> 16) - 1 && c[1] >= (int)((t->country_border >> 8) & 255) - 1 &&
                  c[2] >= (int)(t->country_border & 255) - 1,
              "darkest %02x%02x%02x, border %06x", c[0], c[1], c[2], (unsigned)t->country_border);
    CHECK_MSG(c[0] <= (int)(t->country_border >> 16) + 8, "no border drawn there (darkest %02x)", c[0]);
    render_scene_free(&s);

    /* Madagascar's coast: the land's stroke only, never the (darker) country border colour. */
    def.rotation[0] = -47;
    def.rotation[1] = 19;
    if (build(&s, &def, "18x24")) {
        CHECK(geo_project_point(&s.proj, 42, -11, &x0, &y0) && geo_project_point(&s.proj, 52, -26, &x1, &y1));
        darkest(&s, 300, x0, y0, x1, y1, c);
        uint32_t ls = t->land_stroke;
        CHECK_MSG(c[0] >= (int)(ls >> 16) - 1 && c[1] >= (int)((ls >> 8) & 255) - 1 && c[2] >= (int)(ls & 255) - 1,
                  "darkest %02x%02x%02x, land stroke %06x: the coast is stroked twice", c[0], c[1], c[2],
                  (unsigned)ls);
        render_scene_free(&s);
    }
    map_definition_free(&def);
}

int main(void)
{
    render_init_or_exit();
    RUN(test_furniture_inside_safe_area_on_every_size);
    RUN(test_title_one_line);
    RUN(test_title_wraps_to_two_lines_before_shrinking);
    RUN(test_title_shrinks_then_ends_in_ellipsis_with_warning);
    RUN(test_legend_rows_and_years);
    RUN(test_legend_columns_and_more);
    RUN(test_no_qr_group);
    RUN(test_labels_cover_nothing);
    RUN(test_labels_on_the_largest_map);
    RUN(test_sample_frame_unchanged_on_portrait_sizes);
    RUN(test_flat_landscape_frame_leaves_furniture_free);
    RUN(test_mercator_inside_its_square);
    RUN(test_borders_stroked_once);
    return TEST_EXIT();
}
