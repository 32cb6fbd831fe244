/* clip.c — the spherical preclip, ported from d3-geo 3.1: clip/index.js (polygon clipping by
 * cutting rings into visible segments and rejoining them along the clip edge),
 * clip/antimeridian.js (flat maps) and clip/circle.js (the globe's horizon). */
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

static void grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    *ptr = awm_xrealloc(*ptr, n * elem);
    *cap = n;
}

static void cartesian(const double *p, double out[3])
{
    double cos_phi = cos(p[1]);
    out[0] = cos_phi * cos(p[0]);
    out[1] = cos_phi * sin(p[0]);
    out[2] = sin(p[1]);
}

static double dot(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static void spherical(const double c[3], double out[2])
{
    out[0] = atan2(c[1], c[0]);
    out[1] = geo_asin(c[2]);
}

static bool point_equal(const double *a, const double *b)
{
    return fabs(a[0] - b[0]) < GEO_EPSILON && fabs(a[1] - b[1]) < GEO_EPSILON;
}

/* ---- antimeridian (clip/antimeridian.js) ------------------------------------------ */
static double antimeridian_intersect(double lambda0, double phi0, double lambda1, double phi1)
{
    double sin_l0_l1 = sin(lambda0 - lambda1);
    if (fabs(sin_l0_l1) > GEO_EPSILON) {
        double cos_phi0 = cos(phi0), cos_phi1 = cos(phi1);
        return atan((sin(phi0) * cos_phi1 * sin(lambda1) - sin(phi1) * cos_phi0 * sin(lambda0)) /
                    (cos_phi0 * cos_phi1 * sin_l0_l1));
    }
    return (phi0 + phi1) / 2;
}

static void antimeridian_line_point(geo_clip_line *l, double lambda1, double phi1)
{
    geo_stream *s = l->out;
    double sign1 = lambda1 > 0 ? GEO_PI : -GEO_PI, delta = fabs(lambda1 - l->lambda0);
    if (fabs(delta - GEO_PI) < GEO_EPSILON) { /* the line crosses a pole */
        l->phi0 = (l->phi0 + phi1) / 2 > 0 ? GEO_HALF_PI : -GEO_HALF_PI;
        s->point(s, l->lambda0, l->phi0, 0);
        s->point(s, l->sign0, l->phi0, 0);
        s->line_end(s);
        s->line_start(s);
        s->point(s, sign1, l->phi0, 0);
        s->point(s, lambda1, l->phi0, 0);
        l->clean = 0;
    } else if (l->sign0 != sign1 && delta >= GEO_PI) { /* the line crosses the antimeridian */
        if (fabs(l->lambda0 - l->sign0) < GEO_EPSILON) l->lambda0 -= l->sign0 * GEO_EPSILON;
        if (fabs(lambda1 - sign1) < GEO_EPSILON) lambda1 -= sign1 * GEO_EPSILON;
        l->phi0 = antimeridian_intersect(l->lambda0, l->phi0, lambda1, phi1);
        s->point(s, l->sign0, l->phi0, 0);
        s->line_end(s);
        s->line_start(s);
        s->point(s, sign1, l->phi0, 0);
        l->clean = 0;
    }
    s->point(s, l->lambda0 = lambda1, l->phi0 = phi1, 0);
    l->sign0 = sign1;
}

static void antimeridian_interpolate(const double *from, const double *to, int direction, geo_stream *s)
{
    double phi;
    if (!from) {
        phi = direction * GEO_HALF_PI;
        s->point(s, -GEO_PI, phi, 0);
        s->point(s, 0, phi, 0);
        s->point(s, GEO_PI, phi, 0);
        s->point(s, GEO_PI, 0, 0);
        s->point(s, GEO_PI, -phi, 0);
        s->point(s, 0, -phi, 0);
        s->point(s, -GEO_PI, -phi, 0);
        s->point(s, -GEO_PI, 0, 0);
        s->point(s, -GEO_PI, phi, 0);
    } else if (fabs(from[0] - to[0]) > GEO_EPSILON) {
        double lambda = from[0] < to[0] ? GEO_PI : -GEO_PI;
        phi = direction * lambda / 2;
        s->point(s, -lambda, phi, 0);
        s->point(s, 0, phi, 0);
        s->point(s, lambda, phi, 0);
    } else {
        s->point(s, to[0], to[1], 0);
    }
}

/* ---- small circle (clip/circle.js) ------------------------------------------------- */
static bool circle_visible(const geo_circle_params *c, double lambda, double phi)
{
    /* The memo decides only where rounding cannot: on the circle itself d3's own rounding of
     * cos λ cos φ does, and so must ours. */
    const double *u = geo_unit_memo_get(c->memo, lambda, phi);
    if (u && fabs(u[0] - c->cr) > GEO_UNIT_MEMO_MARGIN)
        return u[0] > c->cr;
    return cos(lambda) * cos(phi) > c->cr;
}

static int circle_code(const geo_circle_params *c, double lambda, double phi)
{
    double r = c->small_radius ? c->radius : GEO_PI - c->radius;
    int code = 0;
    if (lambda < -r) code |= 1;
    else if (lambda > r) code |= 2;
    if (phi < -r) code |= 4;
    else if (phi > r) code |= 8;
    return code;
}

/* Intersects the great circle through a and b with the clip circle. Returns the number of
 * points written to q (0, 1, or 2 when `two`); d3 returns `a` itself for two polar points. */
static int circle_intersect(const geo_circle_params *c, const double *a, const double *b, bool two,
                            double q[2][2])
{
    double pa[3], pb[3], n2[3];
    cartesian(a, pa);
    cartesian(b, pb);
    cross(pa, pb, n2);
    double n1[3] = {1, 0, 0};
    double n2n2 = dot(n2, n2), n1n2 = n2[0], determinant = n2n2 - n1n2 * n1n2;

    if (!determinant) {
        if (two) return 0;
        q[0][0] = a[0];
        q[0][1] = a[1];
        return 1;
    }
    double c1 = c->cr * n2n2 / determinant, c2 = -c->cr * n1n2 / determinant;
    double u[3], A[3];
    cross(n1, n2, u);
    for (int i = 0; i < 3; i++) A[i] = n1[i] * c1 + n2[i] * c2;

    double w = dot(A, u), uu = dot(u, u), t2 = w * w - uu * (dot(A, A) - 1);
    if (t2 < 0) return 0;

    double t = sqrt(t2), qc[3];
    for (int i = 0; i < 3; i++) qc[i] = u[i] * ((-w - t) / uu) + A[i];
    spherical(qc, q[0]);
    if (!two) return 1;

    double lambda0 = a[0], lambda1 = b[0], phi0 = a[1], phi1 = b[1], z;
    if (lambda1 < lambda0) z = lambda0, lambda0 = lambda1, lambda1 = z;
    double delta = lambda1 - lambda0;
    bool polar = fabs(delta - GEO_PI) < GEO_EPSILON, meridian = polar || delta < GEO_EPSILON;
    if (!polar && phi1 < phi0) z = phi0, phi0 = phi1, phi1 = z;

    bool between;
    if (meridian) {
        if (polar)
            between = (phi0 + phi1 > 0) ^ (q[0][1] < (fabs(q[0][0] - lambda0) < GEO_EPSILON ? phi0 : phi1));
        else
            between = phi0 <= q[0][1] && q[0][1] <= phi1;
    } else {
        between = (delta > GEO_PI) ^ (lambda0 <= q[0][0] && q[0][0] <= lambda1);
    }
    if (!between) return 0;
    double q1[3];
    for (int i = 0; i < 3; i++) q1[i] = u[i] * ((-w + t) / uu) + A[i];
    spherical(q1, q[1]);
    return 2;
}

static void circle_line_point(geo_clip_line *l, double lambda, double phi)
{
    const geo_circle_params *c = l->circle;
    geo_stream *s = l->out;
    double point1[2] = {lambda, phi}, point2[2][2];
    bool v = circle_visible(c, lambda, phi);
    int code = c->small_radius ? (v ? 0 : circle_code(c, lambda, phi))
                               : (v ? circle_code(c, lambda + (lambda < 0 ? GEO_PI : -GEO_PI), phi) : 0);
    if (!l->has_p0 && (l->v00 = l->v0 = v)) s->line_start(s);
    /* (d3 also tags point1 here when the crossing is degenerate; the tag never leaves this
     * function, so it is left out.) */
    if (v != l->v0) {
        l->clean = 0;
        if (v) { /* outside going in */
            s->line_start(s);
            if (!circle_intersect(c, point1, l->p0, false, point2)) point2[0][0] = point1[0], point2[0][1] = point1[1];
            s->point(s, point2[0][0], point2[0][1], 0);
        } else { /* inside going out */
            if (!circle_intersect(c, l->p0, point1, false, point2)) point2[0][0] = point1[0], point2[0][1] = point1[1];
            s->point(s, point2[0][0], point2[0][1], 2);
            s->line_end(s);
        }
        l->p0[0] = point2[0][0];
        l->p0[1] = point2[0][1];
        l->has_p0 = true;
    } else if (c->not_hemisphere && l->has_p0 && (c->small_radius ^ v)) {
        /* The segment may cross the small circle twice. */
        if (!(code & l->c0) && circle_intersect(c, point1, l->p0, true, point2) == 2) {
            l->clean = 0;
            if (c->small_radius) {
                s->line_start(s);
                s->point(s, point2[0][0], point2[0][1], 0);
                s->point(s, point2[1][0], point2[1][1], 0);
                s->line_end(s);
            } else {
                s->point(s, point2[1][0], point2[1][1], 0);
                s->line_end(s);
                s->line_start(s);
                s->point(s, point2[0][0], point2[0][1], 3);
            }
        }
    }
    if (v && (!l->has_p0 || !point_equal(l->p0, point1))) s->point(s, point1[0], point1[1], 0);
    l->p0[0] = point1[0];
    l->p0[1] = point1[1];
    l->has_p0 = true;
    l->v0 = v;
    l->c0 = code;
}

/* ---- the clip line of either kind ------------------------------------------------------ */
static void clip_line_init(geo_clip_line *l, geo_clip_kind kind, const geo_circle_params *circle,
                           geo_stream *out)
{
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->circle = circle;
    l->out = out;
    l->lambda0 = l->phi0 = l->sign0 = NAN;
}

static void clip_line_start(geo_clip_line *l)
{
    if (l->kind == GEO_CLIP_ANTIMERIDIAN) {
        l->out->line_start(l->out);
        l->clean = 1;
    } else {
        l->v00 = l->v0 = false;
        l->clean = 1;
    }
}

static void clip_line_point(geo_clip_line *l, double lambda, double phi)
{
    if (l->kind == GEO_CLIP_ANTIMERIDIAN) antimeridian_line_point(l, lambda, phi);
    else circle_line_point(l, lambda, phi);
}

static void clip_line_end(geo_clip_line *l)
{
    if (l->kind == GEO_CLIP_ANTIMERIDIAN) {
        l->out->line_end(l->out);
        l->lambda0 = l->phi0 = NAN;
    } else {
        if (l->v0) l->out->line_end(l->out);
        l->has_p0 = false;
    }
}

/* 0: intersections or empty; 1: no intersections; 2 (bit): rejoin the first and last segments. */
static int clip_line_clean(const geo_clip_line *l)
{
    if (l->kind == GEO_CLIP_ANTIMERIDIAN) return 2 - l->clean;
    return l->clean | ((l->v00 && l->v0) << 1);
}

/* ---- clip/index.js ---------------------------------------------------------------------- */
static void clip_interpolate(void *ctx, const double *from, const double *to, int direction, geo_stream *s)
{
    geo_clip *c = ctx;
    if (c->kind == GEO_CLIP_ANTIMERIDIAN) antimeridian_interpolate(from, to, direction, s);
    else geo_circle_stream(s, c->circle.radius, 2 * GEO_RADIANS, direction, from, to);
}

/* Intersections sorted along the clip edge (the same order for both kinds). */
static int compare_intersection(void *ctx, const double *a, const double *b)
{
    (void)ctx;
    double d = (a[0] < 0 ? a[1] - GEO_HALF_PI - GEO_EPSILON : GEO_HALF_PI - a[1]) -
               (b[0] < 0 ? b[1] - GEO_HALF_PI - GEO_EPSILON : GEO_HALF_PI - b[1]);
    return d < 0 ? -1 : d > 0 ? 1 : 0;
}

bool geo_clip_visible(const geo_clip *c, double lambda, double phi)
{
    return c->kind == GEO_CLIP_ANTIMERIDIAN || circle_visible(&c->circle, lambda, phi);
}

static void clip_point(geo_stream *s, double lambda, double phi, int m)
{
    (void)m;
    geo_clip *c = (geo_clip *)s;
    if (geo_clip_visible(c, lambda, phi)) c->sink->point(c->sink, lambda, phi, 0);
}

static void clip_point_line(geo_stream *s, double lambda, double phi, int m)
{
    (void)m;
    clip_line_point(&((geo_clip *)s)->line, lambda, phi);
}

static void clip_line_start_m(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    c->base.point = clip_point_line;
    clip_line_start(&c->line);
}

static void clip_line_end_m(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    c->base.point = clip_point;
    clip_line_end(&c->line);
}

static void clip_point_ring(geo_stream *s, double lambda, double phi, int m)
{
    (void)m;
    geo_clip *c = (geo_clip *)s;
    grow((void **)&c->ring_pts, &c->ring_cap, 2 * (c->ring_npts + 1), sizeof *c->ring_pts);
    c->ring_pts[2 * c->ring_npts] = lambda;
    c->ring_pts[2 * c->ring_npts + 1] = phi;
    c->ring_npts++;
    c->rings[c->nrings - 1].count++;
    clip_line_point(&c->ring_line, lambda, phi);
}

static void clip_ring_start(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    c->ring_first_line = c->ring_buffer.nlines; /* before the line start, which may open one */
    clip_line_start(&c->ring_line);
    grow((void **)&c->rings, &c->rings_cap, c->nrings + 1, sizeof *c->rings);
    c->rings[c->nrings++] = (geo_range){c->ring_npts, 0};
}

static void clip_ring_end(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    geo_range *ring = &c->rings[c->nrings - 1];
    if (ring->count) {
        const double *p0 = c->ring_pts + 2 * ring->first;
        clip_line_point(&c->ring_line, p0[0], p0[1]); /* close the ring (d3 then pops it off again) */
    }
    clip_line_end(&c->ring_line);

    int clean = clip_line_clean(&c->ring_line);
    geo_clip_buffer *b = &c->ring_buffer;
    size_t from = c->ring_first_line, n = b->nlines - from;
    if (!n) return;

    if (clean & 1) { /* no intersections: the ring is drawn whole */
        geo_range seg = b->lines[from];
        if (seg.count > 1) {
            geo_stream *sink = c->sink;
            if (!c->polygon_started) sink->polygon_start(sink), c->polygon_started = true;
            sink->line_start(sink);
            for (size_t i = 0; i + 1 < seg.count; i++)
                sink->point(sink, b->pts[seg.first + i].x, b->pts[seg.first + i].y, 0);
            sink->line_end(sink);
        }
        b->nlines = from;
        b->npts = seg.first;
        return;
    }
    /* Rejoin connected segments: the last runs into the first. */
    if (n > 1 && (clean & 2)) geo_clip_buffer_rejoin(b, from);
    /* Keep only segments with at least two points; they stay in the buffer as the polygon's. */
    size_t kept = from;
    for (size_t i = from; i < b->nlines; i++)
        if (b->lines[i].count > 1) b->lines[kept++] = b->lines[i];
    b->nlines = kept;
}

static void clip_polygon_start(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    c->base.point = clip_point_ring;
    c->base.line_start = clip_ring_start;
    c->base.line_end = clip_ring_end;
    geo_clip_buffer_reset(&c->ring_buffer);
    c->ring_npts = 0;
    c->nrings = 0;
}

static void clip_polygon_end(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    geo_stream *sink = c->sink;
    c->base.point = clip_point;
    c->base.line_start = clip_line_start_m;
    c->base.line_end = clip_line_end_m;

    bool start_inside = geo_polygon_contains(c->ring_pts, c->rings, c->nrings, c->start[0], c->start[1]);
    if (c->ring_buffer.nlines) {
        if (!c->polygon_started) sink->polygon_start(sink), c->polygon_started = true;
        geo_rejoin(c->ring_buffer.pts, c->ring_buffer.lines, c->ring_buffer.nlines, compare_intersection,
                   start_inside, clip_interpolate, c, sink, &c->scratch);
    } else if (start_inside) {
        if (!c->polygon_started) sink->polygon_start(sink), c->polygon_started = true;
        sink->line_start(sink);
        clip_interpolate(c, NULL, NULL, 1, sink);
        sink->line_end(sink);
    }
    if (c->polygon_started) sink->polygon_end(sink), c->polygon_started = false;
    geo_clip_buffer_reset(&c->ring_buffer);
    c->ring_npts = 0;
    c->nrings = 0;
}

static void clip_sphere(geo_stream *s)
{
    geo_clip *c = (geo_clip *)s;
    geo_stream *sink = c->sink;
    sink->polygon_start(sink);
    sink->line_start(sink);
    clip_interpolate(c, NULL, NULL, 1, sink);
    sink->line_end(sink);
    sink->polygon_end(sink);
}

void geo_clip_init(geo_clip *c, geo_clip_kind kind, double radius, geo_stream *sink)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->sink = sink;
    if (kind == GEO_CLIP_CIRCLE) {
        c->circle.radius = radius;
        c->circle.cr = cos(radius);
        c->circle.small_radius = c->circle.cr > 0;
        c->circle.not_hemisphere = fabs(c->circle.cr) > GEO_EPSILON;
        if (c->circle.small_radius) c->start[0] = 0, c->start[1] = -radius;
        else c->start[0] = -GEO_PI, c->start[1] = radius - GEO_PI;
    } else {
        c->start[0] = -GEO_PI;
        c->start[1] = -GEO_HALF_PI;
    }
    geo_clip_buffer_init(&c->ring_buffer);
    clip_line_init(&c->line, kind, &c->circle, sink);
    clip_line_init(&c->ring_line, kind, &c->circle, &c->ring_buffer.base);
    c->base.point = clip_point;
    c->base.line_start = clip_line_start_m;
    c->base.line_end = clip_line_end_m;
    c->base.polygon_start = clip_polygon_start;
    c->base.polygon_end = clip_polygon_end;
    c->base.sphere = clip_sphere;
}

void geo_clip_free(geo_clip *c)
{
    geo_clip_buffer_free(&c->ring_buffer);
    free(c->ring_pts);
    free(c->rings);
    geo_rejoin_scratch_free(&c->scratch);
    c->ring_pts = NULL;
    c->rings = NULL;
}
