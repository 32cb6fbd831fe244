/* render_internal.h — the renderer's private pieces, shared by its sources and its tests:
 * the poster "scene" (everything projected once, in page pt), the drawing of a scene onto a
 * cairo context, fonts/text helpers and the banded PNG encoder. Not part of the interface. */
#ifndef AWM_RENDER_INTERNAL_H
#define AWM_RENDER_INTERNAL_H

#include <cairo.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include "render/render.h"

typedef struct {
    double x0, y0, x1, y1;
} render_bbox;

/* A run of consecutive points of one subpath, for stroking band by band. Runs overlap by one
 * segment, and a closed ring's last run goes round past its start, so the union of the runs'
 * strokes (one cairo stroke: no double painting) equals the stroke of the whole subpath. */
typedef struct {
    size_t first, count;           /* points[first .. first+count) */
    size_t wrap_first, wrap_count; /* then points[wrap_first .. +wrap_count) (closed rings) */
    render_bbox box;
} render_run;

/* A projected path and the bounding box of each subpath, so a band replays only what it touches. */
typedef struct {
    geo_path path;
    render_bbox *boxes;
    render_run *runs; /* only for shapes with long outlines (land, borders) */
    size_t run_count;
    size_t *subpath_runs; /* runs of subpath i: [subpath_runs[i], subpath_runs[i+1]) */
} render_shape;

typedef struct {
    uint32_t color;
    render_shape legs;   /* great-circle legs, clipped at the horizon */
    geo_point *markers;  /* page pt of the visible locations */
    size_t marker_count;
} render_person;

typedef struct {
    const map_definition *map;
    map_page_boxes boxes;
    geo_projection proj;
    geo_detail detail;
    render_shape sphere, graticule, land, borders;
    render_person *people;
    size_t person_count;
    double title_pt, subtitle_pt; /* font sizes after shrink-to-fit */
    QRcode *qr;
} render_scene;

/* Project everything once. `device_px_per_pt` sets the resampling precision (half a device pixel). */
bool render_scene_build(render_scene *s, const map_definition *map, const map_print_spec *spec,
                        double device_px_per_pt, geo_detail detail, awm_error *err);
void render_scene_free(render_scene *s);
/* Draw the scene (all layers). `clip` (page pt) limits the work to what touches it; NULL = all.
 * The caller has set the pt → device transform on `cr`. */
void render_scene_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip);

/* Geography of one detail level, loaded once per process and shared read-only. */
bool render_geography(geo_detail detail, const geo_layer **land, const geo_layer **countries,
                      awm_error *err);
/* Detail for a raster of this pixel width (10m for print sizes, coarser for small previews). */
geo_detail render_detail_for_width(int px_w);

/* ---- text ---- */
#define RENDER_SERIF "Cormorant Garamond"
#define RENDER_SANS "DM Sans"
/* A layout on `cr` with the poster's text settings (no hinting, unrounded positions, so the
 * layout is the same on every band and in vector output). */
PangoLayout *render_text_layout(cairo_t *cr, const char *family, PangoWeight weight, double size_pt,
                                const char *text);
/* Glyphs no font could supply (drawn as boxes) for `text` in the given face. */
int render_text_unknown_glyphs(const char *family, PangoWeight weight, double size_pt, const char *text);
/* Logical width in pt of a one-line text. */
double render_text_width(const char *family, PangoWeight weight, double size_pt, const char *text);

/* Show a layout at the current point. On vector surfaces, runs in colour-bitmap fonts (emoji)
 * are painted as images drawn at 300 pixels per inch of page, not as cairo's 72 ppi glyphs. */
void render_show_layout(cairo_t *cr, PangoLayout *layout);

/* ---- colour (color.c) ---- */
#define RENDER_SRGB_DESCRIPTION "sRGB IEC61966-2.1"
/* The ICC version 2 sRGB profile, described RENDER_SRGB_DESCRIPTION: the same bytes always. */
bool render_srgb_profile(const unsigned char **data, size_t *len, awm_error *err);
/* The operator's CMYK output profile and the sRGB → CMYK transforms through it (relative
 * colorimetric, black-point compensation). */
typedef struct render_cmyk render_cmyk;
render_cmyk *render_cmyk_open(const char *path, awm_error *err);
void render_cmyk_close(render_cmyk *c);
const char *render_cmyk_description(const render_cmyk *c);
const unsigned char *render_cmyk_icc(const render_cmyk *c, size_t *len);
void render_cmyk_pixels(const render_cmyk *c, const unsigned char *rgb, unsigned char *cmyk, size_t count);
void render_cmyk_color(const render_cmyk *c, const double rgb[3], double cmyk[4]); /* 0..1 */

/* ---- PDF (pdf.c) ---- */
/* cairo's one-page PDF → PDF/X-4 structure (boxes, OutputIntent, XMP, Info, ID), appended to
 * `out`; with `cmyk`, every colour converted to DeviceCMYK through it. */
bool render_pdf_finish(const void *pdf, size_t len, const map_page_boxes *boxes, const char *title,
                       const render_cmyk *cmyk, awm_buf *out, awm_error *err);

/* ---- PNG ---- */
/* Encode the scene as PNG px_w × px_h at `dpi`, in bands on `threads` threads. */
bool render_png_write(const render_scene *s, int px_w, int px_h, double dpi, int threads,
                      render_write_fn write, void *write_user, render_progress_fn progress,
                      void *progress_user, awm_error *err);

#endif
