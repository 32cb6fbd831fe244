/* map.h — the product's domain model: the user's map definition (parsed and validated with
 * every violation reported by JSON path), the 16 print specifications, and the four themes.
 * Shared by `awm render`, the API server (validation of POST bodies) and the worker. */
#ifndef AWM_MAP_H
#define AWM_MAP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"

/* ---- limits (MAPS-AND-PRINT.md §1) ---- */
#define MAP_MAX_TITLE 200
#define MAP_MAX_SUBTITLE 200
#define MAP_MAX_PEOPLE 100
#define MAP_MAX_PERSON_ID 64
#define MAP_MAX_PERSON_NAME 100
#define MAP_MAX_LOCATIONS 1000 /* per person */
#define MAP_MAX_PLACE_NAME 100
#define MAP_MAX_QR_URL 2000
#define MAP_MAX_ZOOM 20.0
#define MAP_MAX_PAN 100000.0    /* |pan[i]| in pt: beyond any page, refuses absurd values */
/* The whole definition as compact JSON (as jansson writes it): 100 people x 1000 places with
 * names are 20-50 MB, more than any request should make a server parse and store. Equal to the
 * API's default body limit (MAX_BODY_BYTES), so whatever this accepts fits a default request. */
#define MAP_MAX_DEFINITION_BYTES (1024 * 1024)
#define MAP_MAX_VIOLATIONS 1000 /* listed at most; the rest are counted in one last line */

/* ---- print geometry (§2), all in pt ---- */
#define MAP_BLEED_PT 9.0
#define MAP_SAFE_PT 18.0
#define MAP_FRAME_INSET_PT 36.0 /* the map's frame is the safe area inset by this */
#define MAP_DPI 300.0

typedef struct {
    const char *key;          /* "18x24", "A2-landscape" */
    double trim_w_in, trim_h_in;
    double trim_w_pt, trim_h_pt;
    int px_w, px_h;           /* incl. bleed, at 300 DPI */
} map_print_spec;

const map_print_spec *map_print_specs(size_t *count);
const map_print_spec *map_print_spec_find(const char *key); /* case-insensitive; NULL when unknown */
/* The spec whose trim matches widthInches × heightInches within 1 pt after rounding to whole pt. */
const map_print_spec *map_print_spec_match(double width_in, double height_in);
/* "8x10, 12x16, …" for error messages. */
const char *map_print_spec_list(void);

typedef struct {
    double x, y, w, h;
} map_box;

typedef struct {
    map_box total; /* trim + bleed, origin (0,0) */
    map_box trim;  /* starts at (9, 9) */
    map_box safe;
    map_box frame; /* where the map is fitted */
} map_page_boxes;

void map_page_boxes_for(const map_print_spec *spec, map_page_boxes *out);
/* The raster size of the whole page (trim + bleed) at `dpi`: round(pt / 72 × dpi) each way, the
 * table's px_w × px_h at MAP_DPI. The one formula the renderer and the worker's check share. */
void map_print_spec_pixels(const map_print_spec *spec, double dpi, int *px_w, int *px_h);

/* ---- themes (§5) ---- */
#define MAP_PALETTE_SIZE 7
typedef struct {
    const char *id, *display_name;
    uint32_t canvas_background, ocean, land, land_stroke, country_border, graticule; /* 0xRRGGBB */
    uint32_t palette[MAP_PALETTE_SIZE];
} map_theme;

const map_theme *map_themes(size_t *count);
const map_theme *map_theme_find(const char *id);

/* ---- the map definition (§1) ---- */
typedef struct {
    double longitude, latitude;
    char date[11];         /* "YYYY", "YYYY-MM", "YYYY-MM-DD" or "" (people often know only the year) */
    char country_code[3];  /* "" when absent */
    char *name;            /* NULL when absent */
} map_location;

typedef struct {
    char *id, *name;
    uint32_t color; /* resolved: given #RRGGBB, else the theme palette by person index */
    bool has_color; /* color was given by the user */
    map_location *locations;
    size_t location_count;
} map_person;

/* Place labels (§4 layer 8). */
typedef enum { MAP_LABELS_NONE = 0, MAP_LABELS_PLACES, MAP_LABELS_PLACES_AND_YEARS } map_labels;

typedef struct {
    char *title, *subtitle; /* subtitle "" when absent */
    map_person *people;
    size_t person_count;
    geo_projection_kind projection;
    double rotation[3];
    double zoom;
    double pan[2];
    const map_theme *theme;
    char *qr_url; /* NULL: no QR code and no caption (qrUrl null or "") */
    bool legend;
    map_labels labels;
} map_definition;

/* All violations found, each "json.path: what is wrong", field by field (arrays in order). Past
 * MAP_MAX_VIOLATIONS one last item says how many more were found (hostile input stays bounded). */
typedef struct {
    char **items;
    size_t count;
} map_violations;

void map_violations_free(map_violations *v);
/* Append one item "path: message" (the shape of a violation) — for warnings found outside
 * the validator, such as the renderer's "title: shortened to fit the title box". */
__attribute__((format(printf, 3, 4))) void map_violations_add(map_violations *v, const char *path,
                                                              const char *fmt, ...);
/* Join as lines, or as a jansson array of strings (new reference). */
char *map_violations_join(const map_violations *v, const char *sep);
json_t *map_violations_json(const map_violations *v);

/* Parse text (UTF-8 JSON): invalid JSON or UTF-8 gives a violation naming the position.
 * All three entry points return true and fill *out only when there are no violations; *out and
 * *v are overwritten (zeroed first), so free both afterwards whatever the result. v may be NULL. */
bool map_definition_parse(const char *text, size_t len, map_definition *out, map_violations *v);
bool map_definition_from_json(const json_t *root, map_definition *out, map_violations *v);
/* The fields a printable map (an export request) may override: projection, rotation, zoom,
 * pan, theme. The one list: the API's export route and the function below both use it. */
const char *const *map_override_keys(size_t *count);
/* Apply a printable map's overrides (map_override_keys) on top of a user map's JSON, then
 * validate: the worker's and the API's way to the effective definition. */
bool map_definition_from_json_with_overrides(const json_t *user_map, const json_t *overrides,
                                             map_definition *out, map_violations *v);
void map_definition_free(map_definition *m);

/* Warnings are not errors: the map is valid, but the poster will show something other than
 * what was written. They use the violation shape ("json.path: what happens"). The
 * definition alone decides these (labels asked for where no place has a name); what needs
 * the fonts (a title shortened to fit its box) is added by render_map_warnings (render.h),
 * which calls this first — that is the function the API and `awm validate` use. */
void map_definition_warnings(const map_definition *m, map_violations *warnings);

/* The year of a location's date (its first four digits), 0 when undated. */
int map_location_year(const map_location *l);

#endif
