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

/* The graticule's dash pattern (pt): this much drawn, then as much left out. */
#define RENDER_GRATICULE_DASH 2.0

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
    size_t *marker_location; /* the index in the person's locations of each marker */
    size_t marker_count;
} render_person;

/* ---- furniture and labels (§4 layers 8–12), laid out once per poster in page pt ----
 * A text is kept as what it is laid out from, and pango lays it out again on every cairo
 * context that draws it (a PNG band, the PDF, the SVG): unhinted and unrounded, it comes out
 * the same everywhere, so every band draws the same glyphs at the same places. */
typedef struct {
    const char *family;
    PangoWeight weight;
    double size_pt;
    char *text;        /* owned */
    double width;      /* > 0: wrapped to this width, at most max_lines lines, the last one
                        * ellipsized with "…" when the text needs more */
    int max_lines;
    uint32_t rgb;
    double x, baseline; /* the first line's start (align 0) or centre (0.5), and its baseline */
    double line_step;   /* baseline to baseline */
    double align;
    double halo;        /* > 0: a white halo this wide around the glyphs (place labels) */
    int lines;          /* lines it takes, as laid out */
    bool shortened;     /* it ended in "…" */
    render_bbox box;    /* its logical extents, halo included */
} render_text;

typedef struct {
    uint32_t color;
    bool more;            /* the "+ N more" row: no line sample */
    double sample_x, mid_y; /* the 24 pt line sample starts at sample_x, centred on mid_y */
    render_text name, years;
} render_legend_row;

typedef struct {
    render_bbox title_box; /* outer edge of the stroke */
    render_text title, subtitle;
    bool has_legend;
    render_bbox legend_box;
    render_legend_row *rows;
    size_t row_count;
    bool has_qr;
    render_bbox qr_group, qr_code;
    render_text caption;
    render_text attribution;
} render_furniture;

typedef struct {
    render_text text;
    double marker_x, marker_y; /* the marker it belongs to */
} render_label;

/* The furniture of `map` on `spec` (it does not depend on the projection). */
void render_furniture_layout(const map_definition *map, const map_print_spec *spec, render_furniture *out);
void render_furniture_free(render_furniture *f);
/* The furniture's boxes (title, legend, QR group, attribution) present on this poster; returns how many. */
size_t render_furniture_boxes(const render_furniture *f, render_bbox out[4]);

typedef struct {
    const map_definition *map;
    map_page_boxes boxes; /* boxes.frame: the frame after the furniture rule */
    bool frame_reduced;   /* the furniture would have covered land or a path */
    geo_projection proj;
    geo_detail detail;
    render_shape sphere, graticule, land, borders;
    /* The graticule cut into its dashes (RENDER_GRATICULE_DASH on, as much off, from each line's
     * start, as cairo dashes it): a band strokes only the dashes near it, where a cairo dash
     * would walk every line of the page in every band to keep the phase. */
    render_shape graticule_dashes;
    render_person *people;
    size_t person_count;
    render_furniture furniture;
    render_label *labels;
    size_t label_count;
    QRcode *qr; /* NULL without a QR code */
} render_scene;

/* Project everything once. `device_px_per_pt` sets the resampling precision (half a device pixel).
 * The geography is loaded and projected on a thread of its own while this one sets up the fonts
 * (render_init, whose failure is this call's) and lays out the furniture: on a CLI render both
 * are first done here, ~20 ms of two cores that would otherwise wait for each other. */
bool render_scene_build(render_scene *s, const map_definition *map, const map_print_spec *spec,
                        double device_px_per_pt, geo_detail detail, awm_error *err);
void render_scene_free(render_scene *s);
/* Draw the scene (all layers). `clip` (page pt) limits the work to what touches it; NULL = all.
 * The caller has set the pt → device transform on `cr`. */
void render_scene_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip);

/* Geography of one detail level, loaded once per process and shared read-only: land, and the
 * borders between countries as a mesh (each shared border once, no coastlines). */
bool render_geography(geo_detail detail, const geo_layer **land, const geo_mesh **borders,
                      awm_error *err);
/* Place labels for the scene's markers, avoiding each other, the markers and the furniture. */
void render_labels_place(render_scene *s);
void render_labels_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip);
void render_furniture_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip);
/* Detail for a raster of this pixel width (10m for print sizes, coarser for small previews). */
geo_detail render_detail_for_width(int px_w);

/* ---- text ---- */
#define RENDER_SERIF "Cormorant Garamond"
#define RENDER_SANS "DM Sans"
/* A layout on `cr` with the poster's text settings (no hinting, unrounded positions, so the
 * layout is the same on every band and in vector output). */
/* Every use of pango objects (layouts, and the process's one font map behind them) holds this
 * lock; it is recursive. render_text_width and render_text_unknown_glyphs take it themselves. */
void render_text_lock(void);
void render_text_unlock(void);
PangoLayout *render_text_layout(cairo_t *cr, const char *family, PangoWeight weight, double size_pt,
                                const char *text);
/* Glyphs no font could supply (drawn as boxes) for `text` in the given face. */
int render_text_unknown_glyphs(const char *family, PangoWeight weight, double size_pt, const char *text);
/* Logical width in pt of a one-line text. */
double render_text_width(const char *family, PangoWeight weight, double size_pt, const char *text);

/* Show a layout at the current point. On vector surfaces, runs in colour-bitmap fonts (emoji)
 * are painted as images drawn at 300 pixels per inch of page, not as cairo's 72 ppi glyphs. */
void render_show_layout(cairo_t *cr, PangoLayout *layout);
/* The same for one line, drawn at the current point (its baseline origin). */
void render_show_layout_line(cairo_t *cr, PangoLayoutLine *line);

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

/* ---- PDF (pdf.c; pdf_absent.c where render_pdf_available is false) ---- */
/* cairo's one-page PDF → PDF/X-4 structure (boxes, OutputIntent, XMP, Info, ID), appended to
 * `out`; with `cmyk`, every colour converted to DeviceCMYK through it. */
bool render_pdf_finish(const void *pdf, size_t len, const map_page_boxes *boxes, const char *title,
                       const render_cmyk *cmyk, awm_buf *out, awm_error *err);

/* ---- phase timing (phases.c): AWM_RENDER_PHASES=1 logs each phase's CPU per poster ---- */
typedef enum {
    RENDER_PHASE_SETUP, RENDER_PHASE_SCENE, RENDER_PHASE_OCEAN, RENDER_PHASE_GRATICULE,
    RENDER_PHASE_LAND_FILL, RENDER_PHASE_LAND_STROKE, RENDER_PHASE_BORDERS, RENDER_PHASE_PATHS,
    RENDER_PHASE_MARKERS, RENDER_PHASE_LABELS, RENDER_PHASE_FURNITURE, RENDER_PHASE_PACK,
    RENDER_PHASE_DEFLATE, RENDER_PHASE_COUNT
} render_phase;
bool render_phases_on(void);
/* CPU ns of this thread (or, with `process`, of the whole process); 0 when off. */
uint64_t render_phase_clock(bool process);
/* Add the CPU since *since to `phase` and restart *since from now (no-op when off). */
void render_phase_mark(render_phase phase, bool process, uint64_t *since);
/* Log the sums as RENDER_PHASES and reset them (no-op when off). */
void render_phases_log(const char *size);

/* ---- PNG ---- */
/* Encode the scene as PNG px_w × px_h at `dpi`, in bands on `threads` threads. */
bool render_png_write(const render_scene *s, int px_w, int px_h, double dpi, int threads,
                      render_write_fn write, void *write_user, render_progress_fn progress,
                      void *progress_user, awm_error *err);
/* The same with a chosen deflater: ISA-L (what render_png_write uses) or zlib (the reference
 * the tests compare it with: the same pixels, about the same size). */
typedef enum { RENDER_DEFLATE_ISAL, RENDER_DEFLATE_ZLIB } render_deflate;
bool render_png_write_with(const render_scene *s, int px_w, int px_h, double dpi, int threads,
                           render_deflate codec, render_write_fn write, void *write_user,
                           render_progress_fn progress, void *progress_user, awm_error *err);

#endif
