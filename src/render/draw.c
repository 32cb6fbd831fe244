/* draw.c — the layers of a poster, bottom to top (MAPS-AND-PRINT.md §4), drawn from a
 * prepared scene onto any cairo context: a PNG band, a PDF page or an SVG document. */
#include "render/render_internal.h"

#include <math.h>

/* Strokes reach this far (pt) beyond their path: widest line 4 pt, marker r 4 + 0.75. */
#define STROKE_REACH 6.0
/* The coast's width (pt), stroked over the land's edge. */
#define COAST_WIDTH 0.5

static void set_rgb(cairo_t *cr, uint32_t rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                          (rgb & 0xff) / 255.0, alpha);
}

static bool boxes_touch(const render_bbox *a, const render_bbox *b)
{
    return a->x0 <= b->x1 && b->x0 <= a->x1 && a->y0 <= b->y1 && b->y0 <= a->y1;
}

/* Append the subpaths that can affect `clip`. Whole subpaths only, so dash phases and fills
 * are the same in every band. */
static void append_shape(cairo_t *cr, const render_shape *sh, const render_bbox *clip)
{
    const geo_path *p = &sh->path;
    for (size_t i = 0; i < p->subpath_count; i++) {
        if (clip && !boxes_touch(&sh->boxes[i], clip))
            continue;
        const geo_subpath *sp = &p->subpaths[i];
        if (!sp->count)
            continue;
        const geo_point *pts = p->points + sp->first;
        cairo_move_to(cr, pts[0].x, pts[0].y);
        for (size_t k = 1; k < sp->count; k++)
            cairo_line_to(cr, pts[k].x, pts[k].y);
        if (sp->closed)
            cairo_close_path(cr);
    }
}

/* Append the closed subpaths for a fill of the band `clip`. A run lying wholly outside the
 * band is replaced by its chord (first → last point): both ends and everything between lie
 * on the same side of the band, so the filled area inside the band is exactly the same,
 * and a continent costs a band its local points plus one point per distant run. */
static void append_fill(cairo_t *cr, const render_shape *sh, const render_bbox *clip)
{
    if (!clip || !sh->runs) {
        append_shape(cr, sh, clip);
        return;
    }
    const geo_path *p = &sh->path;
    for (size_t i = 0; i < p->subpath_count; i++) {
        const geo_subpath *sp = &p->subpaths[i];
        if (!sp->count || !boxes_touch(&sh->boxes[i], clip))
            continue;
        const geo_point *pts = p->points;
        size_t end = sp->first + sp->count; /* exclusive */
        cairo_move_to(cr, pts[sp->first].x, pts[sp->first].y);
        for (size_t k = sh->subpath_runs[i]; k < sh->subpath_runs[i + 1]; k++) {
            const render_run *r = &sh->runs[k];
            /* The run's own points: after its first (the previous run's last) up to where
             * the next run starts, or the subpath's end. */
            size_t last = k + 1 < sh->subpath_runs[i + 1] ? sh->runs[k + 1].first : end - 1;
            if (boxes_touch(&r->box, clip)) {
                for (size_t q = r->first + 1; q <= last; q++)
                    cairo_line_to(cr, pts[q].x, pts[q].y);
            } else {
                cairo_line_to(cr, pts[last].x, pts[last].y);
            }
        }
        if (sp->closed)
            cairo_close_path(cr);
    }
}

/* Append an outline for stroking: for a band, only the runs touching it; for vector output
 * (clip NULL), whole subpaths. Stroked as ONE cairo stroke, whose coverage is the union of
 * its parts like the browser's single canvas stroke: borders shared by two countries are
 * not painted twice, a translucent path does not darken where its runs meet. With butt or
 * round caps and joins the union of the runs' strokes is the stroke of the whole line. */
static void append_outline(cairo_t *cr, const render_shape *sh, const render_bbox *clip)
{
    if (!clip || !sh->runs) {
        append_shape(cr, sh, clip);
        return;
    }
    const geo_point *pts = sh->path.points;
    for (size_t i = 0; i < sh->run_count; i++) {
        const render_run *r = &sh->runs[i];
        if (!boxes_touch(&r->box, clip))
            continue;
        cairo_move_to(cr, pts[r->first].x, pts[r->first].y);
        for (size_t k = 1; k < r->count; k++)
            cairo_line_to(cr, pts[r->first + k].x, pts[r->first + k].y);
        for (size_t k = 0; k < r->wrap_count; k++)
            cairo_line_to(cr, pts[r->wrap_first + k].x, pts[r->wrap_first + k].y);
    }
}

static bool in_clip(const render_bbox *clip, double x0, double y0, double x1, double y1)
{
    render_bbox b = {x0, y0, x1, y1};
    return !clip || boxes_touch(&b, clip);
}

void render_scene_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip)
{
    const map_theme *t = s->map->theme;
    render_bbox reach_storage, *reach = NULL;
    if (clip) {
        reach_storage = (render_bbox){clip->x0 - STROKE_REACH, clip->y0 - STROKE_REACH,
                                      clip->x1 + STROKE_REACH, clip->y1 + STROKE_REACH};
        reach = &reach_storage;
    }
    uint64_t clk = render_phase_clock(false); /* AWM_RENDER_PHASES */
    cairo_save(cr);
    /* Nothing outside the total box (the geography is clipped there too). */
    const map_box *tot = &s->boxes.total;
    /* 1. canvas — painted before the clip: at a preview DPI the total box can end inside a
     * pixel row, and a clipped paint would blend that row over a reused band's old pixels. */
    set_rgb(cr, t->canvas_background, 1);
    cairo_paint(cr);
    cairo_rectangle(cr, tot->x, tot->y, tot->w, tot->h);
    cairo_clip(cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING); /* nonzero, like the browser */
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);

    /* 2. ocean */
    append_fill(cr, &s->sphere, reach);
    set_rgb(cr, t->ocean, 1);
    cairo_fill(cr);
    render_phase_mark(RENDER_PHASE_OCEAN, false, &clk);

    /* Thin lines use the 4×4-sample rasteriser: the same look for 0.25–0.5 pt lines at print
     * resolution, at about half the cost of full-quality coverage on 10m coastlines.
     * (Ignored by vector surfaces.) */
    cairo_antialias_t fill_aa = cairo_get_antialias(cr);

    /* 3. graticule: dashed by cairo in a vector file, from the scene's dashes in a band */
    if (clip) {
        append_shape(cr, &s->graticule_dashes, reach);
    } else {
        append_shape(cr, &s->graticule, NULL);
        double dash[2] = {RENDER_GRATICULE_DASH, RENDER_GRATICULE_DASH};
        cairo_set_dash(cr, dash, 2, 0);
    }
    cairo_set_line_width(cr, 0.25);
    set_rgb(cr, t->graticule, 1);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_FAST);
    cairo_stroke(cr);
    cairo_set_antialias(cr, fill_aa);
    cairo_set_dash(cr, NULL, 0, 0);
    render_phase_mark(RENDER_PHASE_GRATICULE, false, &clk);

    /* 4. land: its fill's edge lies under the middle of the coast stroked over it. Where that
     * stroke is at least two device pixels wide (print resolution) it covers every pixel the
     * edge passes through, so the fill is not antialiased at all (on the globe 0.003 % of the
     * pixels change, none by more than 16 levels, for 40 % of the fill's time); on a thinner
     * one (previews) the fill's antialiasing shows, and the 4×4 rasteriser does it. */
    append_fill(cr, &s->land, reach);
    set_rgb(cr, t->land, 1);
    double coast_x = COAST_WIDTH, coast_y = 0;
    cairo_user_to_device_distance(cr, &coast_x, &coast_y);
    cairo_set_antialias(cr, hypot(coast_x, coast_y) >= 2 ? CAIRO_ANTIALIAS_NONE : CAIRO_ANTIALIAS_FAST);
    cairo_fill(cr);
    cairo_set_antialias(cr, fill_aa);
    render_phase_mark(RENDER_PHASE_LAND_FILL, false, &clk);
    cairo_set_line_width(cr, COAST_WIDTH);
    set_rgb(cr, t->land_stroke, 1);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_FAST);
    append_outline(cr, &s->land, reach);
    cairo_stroke(cr);
    render_phase_mark(RENDER_PHASE_LAND_STROKE, false, &clk);

    /* 5. country borders: the mesh, each shared border once and no coastline (land has it) */
    cairo_set_line_width(cr, 0.5);
    set_rgb(cr, t->country_border, 1);
    append_outline(cr, &s->borders, reach);
    cairo_stroke(cr);
    cairo_set_antialias(cr, fill_aa);
    render_phase_mark(RENDER_PHASE_BORDERS, false, &clk);

    /* 6. migration paths */
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t i = 0; i < s->person_count; i++) {
        const render_person *p = &s->people[i];
        if (!p->legs.path.subpath_count)
            continue;
        append_outline(cr, &p->legs, reach);
        cairo_set_line_width(cr, 4);
        cairo_set_source_rgba(cr, 1, 1, 1, 0.7);
        cairo_stroke_preserve(cr);
        cairo_set_line_width(cr, 2.5);
        set_rgb(cr, p->color, 1);
        cairo_stroke(cr);
    }

    render_phase_mark(RENDER_PHASE_PATHS, false, &clk);

    /* 7. markers */
    cairo_set_line_width(cr, 1.5);
    for (size_t i = 0; i < s->person_count; i++) {
        const render_person *p = &s->people[i];
        for (size_t k = 0; k < p->marker_count; k++) {
            double x = p->markers[k].x, y = p->markers[k].y;
            if (!in_clip(reach, x, y, x, y))
                continue;
            cairo_new_sub_path(cr);
            cairo_arc(cr, x, y, 4, 0, 2 * M_PI);
            set_rgb(cr, p->color, 1);
            cairo_fill_preserve(cr);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_stroke(cr);
        }
    }
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);

    /* 8. place labels; 9–12. legend, title box, QR group, attribution (furniture.c). Tested
     * against the reach, not the band: a glyph may overhang its logical box a little. */
    render_phase_mark(RENDER_PHASE_MARKERS, false, &clk);
    render_labels_draw(s, cr, reach);
    render_phase_mark(RENDER_PHASE_LABELS, false, &clk);
    render_furniture_draw(s, cr, reach);
    cairo_restore(cr);
    render_phase_mark(RENDER_PHASE_FURNITURE, false, &clk);
}
