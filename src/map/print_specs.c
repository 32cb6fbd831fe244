/* print_specs.c — the 16 print products of MAPS-AND-PRINT.md §2 and the page boxes derived
 * from them. The table is written out literally (not computed) so it reads like the spec. */
#include <ctype.h>
#include <math.h>
#include <strings.h>
#include <string.h>

#include "map/map.h"

/* Pixels = round((trim_pt + 2 × bleed) / 72 × 300); tests/map check every row against it. */
static const map_print_spec SPECS[] = {
    {"8x10", 8, 10, 576, 720, 2475, 3075},
    {"12x16", 12, 16, 864, 1152, 3675, 4875},
    {"18x24", 18, 24, 1296, 1728, 5475, 7275},
    {"24x36", 24, 36, 1728, 2592, 7275, 10875},
    {"10x8", 10, 8, 720, 576, 3075, 2475},
    {"16x12", 16, 12, 1152, 864, 4875, 3675},
    {"24x18", 24, 18, 1728, 1296, 7275, 5475},
    {"36x24", 36, 24, 2592, 1728, 10875, 7275},
    {"A4", 8.27, 11.69, 595.44, 841.68, 2556, 3582},
    {"A3", 11.69, 16.54, 841.68, 1190.88, 3582, 5037},
    {"A2", 16.54, 23.38, 1190.88, 1683.36, 5037, 7089},
    {"A1", 23.38, 33.08, 1683.36, 2381.76, 7089, 9999},
    {"A4-landscape", 11.69, 8.27, 841.68, 595.44, 3582, 2556},
    {"A3-landscape", 16.54, 11.69, 1190.88, 841.68, 5037, 3582},
    {"A2-landscape", 23.38, 16.54, 1683.36, 1190.88, 7089, 5037},
    {"A1-landscape", 33.08, 23.38, 2381.76, 1683.36, 9999, 7089},
};
#define SPEC_COUNT (sizeof SPECS / sizeof SPECS[0])

const map_print_spec *map_print_specs(size_t *count)
{
    if (count)
        *count = SPEC_COUNT;
    return SPECS;
}

const map_print_spec *map_print_spec_find(const char *key)
{
    if (!key)
        return NULL;
    /* Normalise the label forms people type: "18×24" (U+00D7), "18 x 24", "18X24". */
    char norm[32];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        char c;
        if (*p == ' ')
            continue;
        if (p[0] == 0xC3 && p[1] == 0x97) { /* "×" in UTF-8 */
            c = 'x';
            p++;
        } else {
            c = (char)tolower(*p);
        }
        if (n + 1 >= sizeof norm)
            return NULL;
        norm[n++] = c;
    }
    norm[n] = '\0';
    for (size_t i = 0; i < SPEC_COUNT; i++)
        if (!strcasecmp(norm, SPECS[i].key))
            return &SPECS[i];
    return NULL;
}

const map_print_spec *map_print_spec_match(double width_in, double height_in)
{
    if (!isfinite(width_in) || !isfinite(height_in) || width_in <= 0 || height_in <= 0 ||
        width_in > 1000 || height_in > 1000)
        return NULL;
    double w = round(width_in * 72.0), h = round(height_in * 72.0);
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        if (fabs(w - round(SPECS[i].trim_w_pt)) <= 1.0 && fabs(h - round(SPECS[i].trim_h_pt)) <= 1.0)
            return &SPECS[i];
    }
    return NULL;
}

const char *map_print_spec_list(void)
{
    /* Kept in the table's order; a test checks it names every key. */
    return "8x10, 12x16, 18x24, 24x36, 10x8, 16x12, 24x18, 36x24, A4, A3, A2, A1, "
           "A4-landscape, A3-landscape, A2-landscape, A1-landscape";
}

void map_print_spec_pixels(const map_print_spec *spec, double dpi, int *px_w, int *px_h)
{
    if (dpi == MAP_DPI) { /* the table, which tests/map checks against the formula below */
        *px_w = spec->px_w;
        *px_h = spec->px_h;
        return;
    }
    map_page_boxes boxes;
    map_page_boxes_for(spec, &boxes);
    *px_w = (int)lround(boxes.total.w / 72.0 * dpi);
    *px_h = (int)lround(boxes.total.h / 72.0 * dpi);
}

void map_page_boxes_for(const map_print_spec *spec, map_page_boxes *out)
{
    const double b = MAP_BLEED_PT, s = MAP_SAFE_PT, f = MAP_FRAME_INSET_PT;
    const double w = spec->trim_w_pt, h = spec->trim_h_pt;
    out->total = (map_box){0, 0, w + 2 * b, h + 2 * b};
    out->trim = (map_box){b, b, w, h};
    out->safe = (map_box){b + s, b + s, w - 2 * s, h - 2 * s};
    out->frame = (map_box){b + s + f, b + s + f, w - 2 * (s + f), h - 2 * (s + f)};
}
