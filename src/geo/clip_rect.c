/* clip_rect.c — the planar postclip to a rectangle (d3 clipExtent), ported from d3-geo 3.1
 * clip/rectangle.js and clip/line.js (Liang–Barsky). Polygons are buffered, cut into
 * visible segments and rejoined along the rectangle's edge, walking its corners. */
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

#define CLIP_MAX 1e9
#define CLIP_MIN (-CLIP_MAX)

static void grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    *ptr = awm_xrealloc(*ptr, n * elem);
    *cap = n;
}

/* clip/line.js: clips the segment a–b to the rectangle in place; false when it misses. */
static bool clip_segment(double *a, double *b, double x0, double y0, double x1, double y1)
{
    double ax = a[0], ay = a[1], bx = b[0], by = b[1], t0 = 0, t1 = 1, dx = bx - ax, dy = by - ay, r;

    r = x0 - ax;
    if (!dx && r > 0) return false;
    r /= dx;
    if (dx < 0) {
        if (r < t0) return false;
        if (r < t1) t1 = r;
    } else if (dx > 0) {
        if (r > t1) return false;
        if (r > t0) t0 = r;
    }

    r = x1 - ax;
    if (!dx && r < 0) return false;
    r /= dx;
    if (dx < 0) {
        if (r > t1) return false;
        if (r > t0) t0 = r;
    } else if (dx > 0) {
        if (r < t0) return false;
        if (r < t1) t1 = r;
    }

    r = y0 - ay;
    if (!dy && r > 0) return false;
    r /= dy;
    if (dy < 0) {
        if (r < t0) return false;
        if (r < t1) t1 = r;
    } else if (dy > 0) {
        if (r > t1) return false;
        if (r > t0) t0 = r;
    }

    r = y1 - ay;
    if (!dy && r < 0) return false;
    r /= dy;
    if (dy < 0) {
        if (r > t1) return false;
        if (r > t0) t0 = r;
    } else if (dy > 0) {
        if (r < t0) return false;
        if (r < t1) t1 = r;
    }

    if (t0 > 0) a[0] = ax + t0 * dx, a[1] = ay + t0 * dy;
    if (t1 < 1) b[0] = ax + t1 * dx, b[1] = ay + t1 * dy;
    return true;
}

/* JavaScript's Math.max/min propagate NaN (C's fmax/fmin drop it). */
static double js_max(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : a > b ? a : b; }
static double js_min(double a, double b) { return (isnan(a) || isnan(b)) ? NAN : a < b ? a : b; }

static bool rect_visible(const geo_clip_rect *r, double x, double y)
{
    return r->x0 <= x && x <= r->x1 && r->y0 <= y && y <= r->y1;
}

/* Which edge a point on the boundary lies on, numbered so that walking them follows `direction`. */
static int corner(const geo_clip_rect *r, const double *p, int direction)
{
    return fabs(p[0] - r->x0) < GEO_EPSILON   ? (direction > 0 ? 0 : 3)
           : fabs(p[0] - r->x1) < GEO_EPSILON ? (direction > 0 ? 2 : 1)
           : fabs(p[1] - r->y0) < GEO_EPSILON ? (direction > 0 ? 1 : 0)
                                              : (direction > 0 ? 3 : 2);
}

static double compare_point(const geo_clip_rect *r, const double *a, const double *b)
{
    int ca = corner(r, a, 1), cb = corner(r, b, 1);
    return ca != cb ? ca - cb : ca == 0 ? b[1] - a[1] : ca == 1 ? a[0] - b[0] : ca == 2 ? a[1] - b[1] : b[0] - a[0];
}

static int compare_intersection(void *ctx, const double *a, const double *b)
{
    double d = compare_point(ctx, a, b);
    return d < 0 ? -1 : d > 0 ? 1 : 0;
}

static void interpolate(void *ctx, const double *from, const double *to, int direction, geo_stream *s)
{
    const geo_clip_rect *r = ctx;
    int a = 0, a1 = 0;
    bool walk = !from;
    if (!walk) {
        a = corner(r, from, direction);
        a1 = corner(r, to, direction);
        walk = a != a1 || ((compare_point(r, from, to) < 0) ^ (direction > 0));
    }
    if (walk) {
        do s->point(s, a == 0 || a == 3 ? r->x0 : r->x1, a > 1 ? r->y1 : r->y0, 0);
        while ((a = (a + direction + 4) % 4) != a1);
    } else {
        s->point(s, to[0], to[1], 0);
    }
}

static int polygon_inside(const geo_clip_rect *r)
{
    int winding = 0;
    for (size_t i = 0; i < r->nrings; i++) {
        const double *ring = r->poly_pts + 2 * r->rings[i].first;
        size_t m = r->rings[i].count;
        if (!m) continue;
        double b0 = ring[0], b1 = ring[1];
        for (size_t j = 1; j < m; j++) {
            double a0 = b0, a1 = b1;
            b0 = ring[2 * j];
            b1 = ring[2 * j + 1];
            if (a1 <= r->y1) {
                if (b1 > r->y1 && (b0 - a0) * (r->y1 - a1) > (b1 - a1) * (r->x0 - a0)) ++winding;
            } else {
                if (b1 <= r->y1 && (b0 - a0) * (r->y1 - a1) < (b1 - a1) * (r->x0 - a0)) --winding;
            }
        }
    }
    return winding;
}

static void rect_point(geo_stream *s, double x, double y, int m)
{
    (void)m;
    geo_clip_rect *r = (geo_clip_rect *)s;
    if (rect_visible(r, x, y)) r->active->point(r->active, x, y, 0);
}

static void rect_line_point(geo_stream *s, double x, double y, int m)
{
    (void)m;
    geo_clip_rect *r = (geo_clip_rect *)s;
    geo_stream *out = r->active;
    bool v = rect_visible(r, x, y);
    if (r->in_polygon) {
        grow((void **)&r->poly_pts, &r->poly_cap, 2 * (r->poly_npts + 1), sizeof *r->poly_pts);
        r->poly_pts[2 * r->poly_npts] = x;
        r->poly_pts[2 * r->poly_npts + 1] = y;
        r->poly_npts++;
        r->rings[r->nrings - 1].count++;
    }
    if (r->first) {
        r->x__ = x, r->y__ = y, r->v__ = v;
        r->first = false;
        if (v) {
            out->line_start(out);
            out->point(out, x, y, 0);
        }
    } else {
        if (v && r->v_) {
            out->point(out, x, y, 0);
        } else {
            r->x_ = js_max(CLIP_MIN, js_min(CLIP_MAX, r->x_));
            r->y_ = js_max(CLIP_MIN, js_min(CLIP_MAX, r->y_));
            x = js_max(CLIP_MIN, js_min(CLIP_MAX, x));
            y = js_max(CLIP_MIN, js_min(CLIP_MAX, y));
            double a[2] = {r->x_, r->y_}, b[2] = {x, y};
            if (clip_segment(a, b, r->x0, r->y0, r->x1, r->y1)) {
                if (!r->v_) {
                    out->line_start(out);
                    out->point(out, a[0], a[1], 0);
                }
                out->point(out, b[0], b[1], 0);
                if (!v) out->line_end(out);
                r->clean = false;
            } else if (v) {
                out->line_start(out);
                out->point(out, x, y, 0);
                r->clean = false;
            }
        }
    }
    r->x_ = x, r->y_ = y, r->v_ = v;
}

static void rect_line_start(geo_stream *s)
{
    geo_clip_rect *r = (geo_clip_rect *)s;
    r->base.point = rect_line_point;
    if (r->in_polygon) {
        grow((void **)&r->rings, &r->rings_cap, r->nrings + 1, sizeof *r->rings);
        r->rings[r->nrings++] = (geo_range){r->poly_npts, 0};
        r->ring_first_line = r->buffer.nlines;
    }
    r->first = true;
    r->v_ = false;
    r->x_ = r->y_ = NAN;
}

static void rect_line_end(geo_stream *s)
{
    geo_clip_rect *r = (geo_clip_rect *)s;
    if (r->in_polygon) {
        rect_line_point(s, r->x__, r->y__, 0);
        if (r->v__ && r->v_) geo_clip_buffer_rejoin(&r->buffer, r->ring_first_line);
    }
    r->base.point = rect_point;
    if (r->v_) r->active->line_end(r->active);
}

static void rect_polygon_start(geo_stream *s)
{
    geo_clip_rect *r = (geo_clip_rect *)s;
    r->active = &r->buffer.base;
    r->in_polygon = true;
    r->clean = true;
    geo_clip_buffer_reset(&r->buffer);
    r->poly_npts = 0;
    r->nrings = 0;
}

static void rect_polygon_end(geo_stream *s)
{
    geo_clip_rect *r = (geo_clip_rect *)s;
    geo_stream *out = r->stream;
    bool start_inside = polygon_inside(r) != 0, clean_inside = r->clean && start_inside;
    size_t visible = r->buffer.nlines;
    if (clean_inside || visible) {
        out->polygon_start(out);
        if (clean_inside) {
            out->line_start(out);
            interpolate(r, NULL, NULL, 1, out);
            out->line_end(out);
        }
        if (visible)
            geo_rejoin(r->buffer.pts, r->buffer.lines, r->buffer.nlines, compare_intersection, start_inside,
                       interpolate, r, out, &r->scratch);
        out->polygon_end(out);
    }
    r->active = r->stream;
    r->in_polygon = false;
    geo_clip_buffer_reset(&r->buffer);
    r->poly_npts = 0;
    r->nrings = 0;
}

static void rect_sphere(geo_stream *s)
{
    geo_clip_rect *r = (geo_clip_rect *)s;
    r->stream->sphere(r->stream);
}

void geo_clip_rect_init(geo_clip_rect *r, double x0, double y0, double x1, double y1, geo_stream *stream)
{
    memset(r, 0, sizeof *r);
    r->x0 = x0, r->y0 = y0, r->x1 = x1, r->y1 = y1;
    r->stream = r->active = stream;
    r->x__ = r->y__ = r->x_ = r->y_ = NAN; /* d3 starts them undefined */
    geo_clip_buffer_init(&r->buffer);
    r->base.point = rect_point;
    r->base.line_start = rect_line_start;
    r->base.line_end = rect_line_end;
    r->base.polygon_start = rect_polygon_start;
    r->base.polygon_end = rect_polygon_end;
    r->base.sphere = rect_sphere;
}

void geo_clip_rect_free(geo_clip_rect *r)
{
    geo_clip_buffer_free(&r->buffer);
    free(r->poly_pts);
    free(r->rings);
    geo_rejoin_scratch_free(&r->scratch);
    r->poly_pts = NULL;
    r->rings = NULL;
}
