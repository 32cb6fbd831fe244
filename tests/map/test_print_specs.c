/* test_print_specs.c — the 16 print specs against MAPS-AND-PRINT.md §2 (numbers copied from the
 * spec's table), the pixel formula, lookup by key and by inches, the page boxes, and themes (§5). */
#include <math.h>

#include "map/map.h"
#include "test.h"

typedef struct {
    const char *key;
    double w_in, h_in, w_pt, h_pt;
    int px_w, px_h;
    double megapixels;
} spec_row;

/* MAPS-AND-PRINT.md §2, row by row. */
static const spec_row TABLE[] = {
    {"8x10", 8, 10, 576, 720, 2475, 3075, 7.6},
    {"12x16", 12, 16, 864, 1152, 3675, 4875, 17.9},
    {"18x24", 18, 24, 1296, 1728, 5475, 7275, 39.8},
    {"24x36", 24, 36, 1728, 2592, 7275, 10875, 79.1},
    {"10x8", 10, 8, 720, 576, 3075, 2475, 7.6},
    {"16x12", 16, 12, 1152, 864, 4875, 3675, 17.9},
    {"24x18", 24, 18, 1728, 1296, 7275, 5475, 39.8},
    {"36x24", 36, 24, 2592, 1728, 10875, 7275, 79.1},
    {"A4", 8.27, 11.69, 595.44, 841.68, 2556, 3582, 9.2},
    {"A3", 11.69, 16.54, 841.68, 1190.88, 3582, 5037, 18.0},
    {"A2", 16.54, 23.38, 1190.88, 1683.36, 5037, 7089, 35.7},
    {"A1", 23.38, 33.08, 1683.36, 2381.76, 7089, 9999, 70.9},
    {"A4-landscape", 11.69, 8.27, 841.68, 595.44, 3582, 2556, 9.2},
    {"A3-landscape", 16.54, 11.69, 1190.88, 841.68, 5037, 3582, 18.0},
    {"A2-landscape", 23.38, 16.54, 1683.36, 1190.88, 7089, 5037, 35.7},
    {"A1-landscape", 33.08, 23.38, 2381.76, 1683.36, 9999, 7089, 70.9},
};
#define ROWS (sizeof TABLE / sizeof TABLE[0])

static void specs_match_the_table_and_the_pixel_formula(void)
{
    size_t n = 0;
    const map_print_spec *specs = map_print_specs(&n);
    CHECK_INT_EQ(n, 16);
    for (size_t i = 0; i < ROWS && i < n; i++) {
        const map_print_spec *s = &specs[i];
        const spec_row *r = &TABLE[i];
        CHECK_STR_EQ(s->key, r->key);
        CHECK_NEAR(s->trim_w_in, r->w_in, 1e-9);
        CHECK_NEAR(s->trim_h_in, r->h_in, 1e-9);
        CHECK_NEAR(s->trim_w_pt, r->w_pt, 1e-9);
        CHECK_NEAR(s->trim_h_pt, r->h_pt, 1e-9);
        CHECK_NEAR(s->trim_w_pt, s->trim_w_in * 72, 1e-6);
        CHECK_NEAR(s->trim_h_pt, s->trim_h_in * 72, 1e-6);
        CHECK_INT_EQ(s->px_w, r->px_w);
        CHECK_INT_EQ(s->px_h, r->px_h);
        /* pixels = round((trim_pt + 2 × 9) / 72 × 300) */
        CHECK_INT_EQ(s->px_w, lround((s->trim_w_pt + 2 * MAP_BLEED_PT) / 72.0 * MAP_DPI));
        CHECK_INT_EQ(s->px_h, lround((s->trim_h_pt + 2 * MAP_BLEED_PT) / 72.0 * MAP_DPI));
        CHECK_NEAR(s->px_w * (double)s->px_h / 1e6, r->megapixels, 0.05);
    }
}

static void find_by_key_accepts_the_label_forms(void)
{
    size_t n = 0;
    const map_print_spec *specs = map_print_specs(&n);
    for (size_t i = 0; i < n; i++)
        CHECK(map_print_spec_find(specs[i].key) == &specs[i]);
    const map_print_spec *s1824 = map_print_spec_find("18x24");
    CHECK(s1824 && s1824->px_w == 5475);
    CHECK(map_print_spec_find("18×24") == s1824); /* U+00D7, as in paperSizeName */
    CHECK(map_print_spec_find("18X24") == s1824);
    CHECK(map_print_spec_find("18 × 24") == s1824);
    CHECK(map_print_spec_find("a4") == map_print_spec_find("A4"));
    CHECK(map_print_spec_find("a2-LANDSCAPE") == map_print_spec_find("A2-landscape"));
    CHECK(map_print_spec_find("A5") == NULL);
    CHECK(map_print_spec_find("18x25") == NULL);
    CHECK(map_print_spec_find("") == NULL);
    CHECK(map_print_spec_find(NULL) == NULL);
}

static void match_by_inches_within_one_point(void)
{
    const map_print_spec *s = map_print_spec_match(18, 24);
    CHECK(s && !strcmp(s->key, "18x24"));
    s = map_print_spec_match(24, 18); /* landscape: width > height */
    CHECK(s && !strcmp(s->key, "24x18"));
    s = map_print_spec_match(8.27, 11.69);
    CHECK(s && !strcmp(s->key, "A4"));
    s = map_print_spec_match(11.69, 8.27);
    CHECK(s && !strcmp(s->key, "A4-landscape"));
    s = map_print_spec_match(210 / 25.4, 297 / 25.4); /* A4 in exact millimetres */
    CHECK(s && !strcmp(s->key, "A4"));
    /* 0.5 pt off on both axes is accepted, 2 pt off is not. */
    s = map_print_spec_match(18 + 0.5 / 72, 24 - 0.5 / 72);
    CHECK(s && !strcmp(s->key, "18x24"));
    s = map_print_spec_match(33.08 + 0.5 / 72, 23.38 + 0.5 / 72);
    CHECK(s && !strcmp(s->key, "A1-landscape"));
    CHECK(map_print_spec_match(18 + 2.0 / 72, 24) == NULL);
    CHECK(map_print_spec_match(18, 24 - 2.0 / 72) == NULL);
    CHECK(map_print_spec_match(11, 17) == NULL);
    CHECK(map_print_spec_match(0, 0) == NULL);
    CHECK(map_print_spec_match(-18, -24) == NULL);
    CHECK(map_print_spec_match(NAN, 24) == NULL);
    CHECK(map_print_spec_match(18, INFINITY) == NULL);
    CHECK(map_print_spec_match(1e300, 1e300) == NULL);
}

static void spec_list_names_every_key(void)
{
    size_t n = 0;
    const map_print_spec *specs = map_print_specs(&n);
    const char *list = map_print_spec_list();
    CHECK(list != NULL);
    for (size_t i = 0; list && i < n; i++) {
        /* each key appears as a whole item */
        char item[40];
        snprintf(item, sizeof item, "%s, ", specs[i].key);
        bool found = strstr(list, item) != NULL ||
                     (strlen(list) >= strlen(specs[i].key) &&
                      !strcmp(list + strlen(list) - strlen(specs[i].key), specs[i].key));
        CHECK_MSG(found, "%s missing from \"%s\"", specs[i].key, list);
    }
}

static void page_boxes_for_18x24(void)
{
    map_page_boxes b;
    map_page_boxes_for(map_print_spec_find("18x24"), &b);
    CHECK_NEAR(b.total.x, 0, 0);
    CHECK_NEAR(b.total.y, 0, 0);
    CHECK_NEAR(b.total.w, 1314, 1e-9);
    CHECK_NEAR(b.total.h, 1746, 1e-9);
    CHECK_NEAR(b.trim.x, 9, 0);
    CHECK_NEAR(b.trim.y, 9, 0);
    CHECK_NEAR(b.trim.w, 1296, 1e-9);
    CHECK_NEAR(b.trim.h, 1728, 1e-9);
    CHECK_NEAR(b.safe.x, 27, 0);
    CHECK_NEAR(b.safe.y, 27, 0);
    CHECK_NEAR(b.safe.w, 1260, 1e-9);
    CHECK_NEAR(b.safe.h, 1692, 1e-9);
    CHECK_NEAR(b.frame.x, 63, 1e-9);
    CHECK_NEAR(b.frame.y, 63, 1e-9);
    CHECK_NEAR(b.frame.w, 1188, 1e-9);
    CHECK_NEAR(b.frame.h, 1620, 1e-9);
    /* the frame is centred on the trim */
    CHECK_NEAR(b.frame.x + b.frame.w / 2, b.trim.x + b.trim.w / 2, 1e-9);
    CHECK_NEAR(b.frame.y + b.frame.h / 2, b.trim.y + b.trim.h / 2, 1e-9);

    map_page_boxes_for(map_print_spec_find("A4"), &b);
    CHECK_NEAR(b.total.w, 613.44, 1e-9);
    CHECK_NEAR(b.safe.w, 595.44 - 36, 1e-9);
    CHECK_NEAR(b.frame.h, 841.68 - 108, 1e-9);
}

/* One formula for the raster size at any DPI: the table at 300, round(pt / 72 × dpi) else. */
static void pixels_at_any_dpi(void)
{
    size_t n = 0;
    const map_print_spec *specs = map_print_specs(&n);
    for (size_t i = 0; i < n; i++) {
        int w = 0, h = 0;
        map_print_spec_pixels(&specs[i], MAP_DPI, &w, &h);
        CHECK(w == specs[i].px_w && h == specs[i].px_h);
        map_print_spec_pixels(&specs[i], 72, &w, &h); /* a vector page, in pt */
        CHECK_INT_EQ(w, lround(specs[i].trim_w_pt + 2 * MAP_BLEED_PT));
        CHECK_INT_EQ(h, lround(specs[i].trim_h_pt + 2 * MAP_BLEED_PT));
    }
    int w = 0, h = 0;
    map_print_spec_pixels(map_print_spec_find("10x8"), 20, &w, &h);
    CHECK(w == 205 && h == 165); /* 738 × 594 pt at 20 DPI */
    map_print_spec_pixels(map_print_spec_find("A4"), 150, &w, &h);
    CHECK(w == 1278 && h == 1791); /* (595.44 + 18) / 72 × 150 = 1278.0, (841.68 + 18) / 72 × 150 = 1791.0 */
}

static void themes_have_the_spec_colours(void)
{
    size_t n = 0;
    const map_theme *themes = map_themes(&n);
    CHECK_INT_EQ(n, 4);
    const map_theme *t = map_theme_find("antique-parchment");
    CHECK(t == &themes[0]);
    CHECK(t && !strcmp(t->display_name, "Antique Parchment"));
    CHECK(t && t->canvas_background == 0xf4ebe1 && t->ocean == 0xd4e4e8 && t->land == 0xe8dfd0 &&
          t->land_stroke == 0xc5b8a5 && t->country_border == 0xb5a892 && t->graticule == 0xd4cbbf);
    CHECK(t && t->palette[0] == 0xc1666b && t->palette[6] == 0x8e7766);

    t = map_theme_find("cool-blue");
    CHECK(t && !strcmp(t->display_name, "Cool Blue") && t->ocean == 0xa8dadc &&
          t->country_border == 0x8fb9c2 && t->palette[3] == 0x073b4c);
    t = map_theme_find("modern-gray");
    CHECK(t && !strcmp(t->display_name, "Modern Gray") && t->canvas_background == 0xffffff &&
          t->graticule == 0xe3e5e8 && t->palette[1] == 0x1976d2);
    t = map_theme_find("warm-earth");
    CHECK(t && !strcmp(t->display_name, "Warm Earth") && t->land == 0xede5d8 &&
          t->land_stroke == 0xc9b896 && t->palette[5] == 0x8b7355 && t->palette[6] == 0x718355);

    CHECK(map_theme_find("Cool-Blue") == NULL);
    CHECK(map_theme_find("dark") == NULL);
    CHECK(map_theme_find("") == NULL);
    CHECK(map_theme_find(NULL) == NULL);
}

int main(void)
{
    RUN(specs_match_the_table_and_the_pixel_formula);
    RUN(find_by_key_accepts_the_label_forms);
    RUN(match_by_inches_within_one_point);
    RUN(spec_list_names_every_key);
    RUN(page_boxes_for_18x24);
    RUN(pixels_at_any_dpi);
    RUN(themes_have_the_spec_colours);
    return TEST_EXIT();
}
