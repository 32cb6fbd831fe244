/* clip_common.c — the pieces every clip shares, ported from d3-geo 3.1: d3-array's Adder,
 * clip/buffer.js, clip/rejoin.js, polygonContains.js and circle.js's circleStream. */
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

/* ---- Adder (d3-array fsum.js) ---------------------------------------------------- */
void geo_adder_add(geo_adder *a, double x)
{
    double *p = a->partials;
    int i = 0;
    for (int j = 0; j < a->n && j < 32; j++) {
        double y = p[j], hi = x + y, lo = fabs(x) < fabs(y) ? x - (hi - y) : y - (hi - x);
        if (lo != 0) p[i++] = lo;
        x = hi;
    }
    if (i < 32) p[i] = x; /* a Float64Array(32) ignores writes past its end */
    a->n = i + 1;
}

double geo_adder_value(const geo_adder *a)
{
    const double *p = a->partials;
    int n = a->n < 32 ? a->n : 32;
    double x, y, lo = 0, hi = 0;
    if (n > 0) {
        hi = p[--n];
        while (n > 0) {
            x = hi;
            y = p[--n];
            hi = x + y;
            lo = y - (hi - x);
            if (lo != 0) break;
        }
        if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
            y = lo * 2;
            x = hi + y;
            if (y == x - hi) hi = x;
        }
    }
    return hi;
}

/* ---- clip/buffer.js ------------------------------------------------------------- */
static void grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    *ptr = awm_xrealloc(*ptr, n * elem);
    *cap = n;
}

static void buffer_point(geo_stream *s, double x, double y, int m)
{
    geo_clip_buffer *b = (geo_clip_buffer *)s;
    if (!b->nlines) s->line_start(s); /* d3 never emits a point outside a line; stay safe anyway */
    grow((void **)&b->pts, &b->pts_cap, b->npts + 1, sizeof *b->pts);
    b->pts[b->npts++] = (geo_pt){x, y, m};
    b->lines[b->nlines - 1].count++;
}

static void buffer_line_start(geo_stream *s)
{
    geo_clip_buffer *b = (geo_clip_buffer *)s;
    grow((void **)&b->lines, &b->lines_cap, b->nlines + 1, sizeof *b->lines);
    b->lines[b->nlines++] = (geo_range){b->npts, 0};
}

static void noop(geo_stream *s) { (void)s; }

void geo_clip_buffer_init(geo_clip_buffer *b)
{
    memset(b, 0, sizeof *b);
    b->base.point = buffer_point;
    b->base.line_start = buffer_line_start;
    b->base.line_end = noop;
    b->base.polygon_start = noop;
    b->base.polygon_end = noop;
    b->base.sphere = noop;
}

void geo_clip_buffer_free(geo_clip_buffer *b)
{
    free(b->pts);
    free(b->lines);
    memset(b, 0, sizeof *b);
}

void geo_clip_buffer_reset(geo_clip_buffer *b)
{
    b->npts = 0;
    b->nlines = 0;
}

void geo_clip_buffer_remove_line(geo_clip_buffer *b, size_t index)
{
    memmove(b->lines + index, b->lines + index + 1, (b->nlines - index - 1) * sizeof *b->lines);
    b->nlines--;
}

void geo_clip_buffer_rejoin(geo_clip_buffer *b, size_t from)
{
    if (b->nlines - from <= 1) return;
    /* lines.push(lines.pop().concat(lines.shift())) */
    geo_range last = b->lines[b->nlines - 1], first = b->lines[from];
    size_t start = b->npts;
    grow((void **)&b->pts, &b->pts_cap, b->npts + last.count + first.count, sizeof *b->pts);
    memcpy(b->pts + b->npts, b->pts + last.first, last.count * sizeof *b->pts);
    b->npts += last.count;
    memcpy(b->pts + b->npts, b->pts + first.first, first.count * sizeof *b->pts);
    b->npts += first.count;
    b->lines[b->nlines - 1] = (geo_range){start, last.count + first.count};
    geo_clip_buffer_remove_line(b, from);
}

/* ---- clip/rejoin.js ------------------------------------------------------------- */
struct geo_intersection {
    double x[2];
    long z;     /* segment index, or -1 for clip-edge entries */
    size_t o;   /* the twin entry in the other list */
    size_t n, p; /* next / previous in its list */
    bool e, v;
};

static bool point_equal(const double *a, const double *b)
{
    return fabs(a[0] - b[0]) < GEO_EPSILON && fabs(a[1] - b[1]) < GEO_EPSILON;
}

/* Stable merge sort (JavaScript's Array.prototype.sort is stable). */
static void sort_stable(size_t *idx, size_t *tmp, size_t n, struct geo_intersection *items,
                        geo_compare_fn compare, void *ctx)
{
    if (n < 2) return;
    if (n <= 12) {
        for (size_t i = 1; i < n; i++) {
            size_t v = idx[i], j = i;
            while (j > 0 && compare(ctx, items[idx[j - 1]].x, items[v].x) > 0) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = v;
        }
        return;
    }
    size_t h = n / 2;
    sort_stable(idx, tmp, h, items, compare, ctx);
    sort_stable(idx + h, tmp, n - h, items, compare, ctx);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = compare(ctx, items[idx[j]].x, items[idx[i]].x) < 0 ? idx[j++] : idx[i++];
    while (i < h) tmp[k++] = idx[i++];
    while (j < n) tmp[k++] = idx[j++];
    memcpy(idx, tmp, n * sizeof *idx);
}

static void link_list(struct geo_intersection *items, const size_t *list, size_t n)
{
    if (!n) return;
    for (size_t i = 0; i < n; i++) {
        items[list[i]].n = list[(i + 1) % n];
        items[list[(i + 1) % n]].p = list[i];
    }
}

void geo_rejoin(geo_pt *pts, const geo_range *segments, size_t nsegments, geo_compare_fn compare,
                bool start_inside, geo_interpolate_fn interpolate, void *ctx, geo_stream *stream,
                geo_rejoin_scratch *sc)
{
    size_t nitems = 0, nsubject = 0, nclip = 0;
    size_t need = 4 * nsegments;
    grow((void **)&sc->items, &sc->items_cap, need ? need : 1, sizeof *sc->items);
    if (need > sc->idx_cap) {
        size_t cap = sc->idx_cap;
        grow((void **)&sc->subject, &cap, need, sizeof *sc->subject);
        cap = sc->idx_cap;
        grow((void **)&sc->clip, &cap, need, sizeof *sc->clip);
        cap = sc->idx_cap;
        grow((void **)&sc->sort_tmp, &cap, need, sizeof *sc->sort_tmp);
        sc->idx_cap = cap;
    }
    struct geo_intersection *it = sc->items;

    for (size_t s = 0; s < nsegments; s++) {
        if (segments[s].count < 2) continue;
        geo_pt *seg = pts + segments[s].first;
        size_t n = segments[s].count - 1;
        geo_pt *p0 = &seg[0], *p1 = &seg[n];
        double a[2] = {p0->x, p0->y}, b[2] = {p1->x, p1->y};
        if (point_equal(a, b)) {
            if (!p0->m && !p1->m) {
                stream->line_start(stream);
                for (size_t i = 0; i < n; i++) stream->point(stream, seg[i].x, seg[i].y, 0);
                stream->line_end(stream);
                continue;
            }
            p1->x += 2 * GEO_EPSILON; /* d3 handles degenerate cases by moving the point */
        }
        size_t i0 = nitems++, c0 = nitems++, i1 = nitems++, c1 = nitems++;
        it[i0] = (struct geo_intersection){{p0->x, p0->y}, (long)s, c0, 0, 0, true, false};
        it[c0] = (struct geo_intersection){{p0->x, p0->y}, -1, i0, 0, 0, false, false};
        it[i1] = (struct geo_intersection){{p1->x, p1->y}, (long)s, c1, 0, 0, false, false};
        it[c1] = (struct geo_intersection){{p1->x, p1->y}, -1, i1, 0, 0, true, false};
        sc->subject[nsubject++] = i0;
        sc->clip[nclip++] = c0;
        sc->subject[nsubject++] = i1;
        sc->clip[nclip++] = c1;
    }
    if (!nsubject) return;

    sort_stable(sc->clip, sc->sort_tmp, nclip, it, compare, ctx);
    link_list(it, sc->subject, nsubject);
    link_list(it, sc->clip, nclip);
    for (size_t i = 0; i < nclip; i++) it[sc->clip[i]].e = start_inside = !start_inside;

    size_t start = sc->subject[0];
    for (;;) {
        size_t current = start;
        bool is_subject = true;
        while (it[current].v) {
            current = it[current].n;
            if (current == start) return;
        }
        long points = it[current].z;
        stream->line_start(stream);
        do {
            it[current].v = it[it[current].o].v = true;
            if (it[current].e) {
                if (is_subject) {
                    const geo_range *r = &segments[points];
                    for (size_t i = 0; i < r->count; i++)
                        stream->point(stream, pts[r->first + i].x, pts[r->first + i].y, 0);
                } else {
                    interpolate(ctx, it[current].x, it[it[current].n].x, 1, stream);
                }
                current = it[current].n;
            } else {
                if (is_subject) {
                    points = it[it[current].p].z;
                    const geo_range *r = &segments[points];
                    for (size_t i = r->count; i-- > 0;)
                        stream->point(stream, pts[r->first + i].x, pts[r->first + i].y, 0);
                } else {
                    interpolate(ctx, it[current].x, it[it[current].p].x, -1, stream);
                }
                current = it[current].p;
            }
            current = it[current].o;
            points = it[current].z;
            is_subject = !is_subject;
        } while (!it[current].v);
        stream->line_end(stream);
    }
}

void geo_rejoin_scratch_free(geo_rejoin_scratch *s)
{
    free(s->items);
    free(s->subject);
    free(s->clip);
    free(s->sort_tmp);
    memset(s, 0, sizeof *s);
}

/* ---- polygonContains.js ---------------------------------------------------------- */
static double longitude(double lambda)
{
    if (fabs(lambda) <= GEO_PI) return lambda;
    double sign = lambda > 0 ? 1 : lambda < 0 ? -1 : 0;
    return sign * (fmod(fabs(lambda) + GEO_PI, GEO_TAU) - GEO_PI);
}

static void cartesian(double lambda, double phi, double out[3])
{
    double cos_phi = cos(phi);
    out[0] = cos_phi * cos(lambda);
    out[1] = cos_phi * sin(lambda);
    out[2] = sin(phi);
}

static void cross(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static void normalize(double d[3])
{
    double l = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    d[0] /= l;
    d[1] /= l;
    d[2] /= l;
}

bool geo_polygon_contains(const double *ring_pts, const geo_range *rings, size_t nrings, double lambda_in,
                          double phi)
{
    double lambda = longitude(lambda_in), sin_phi = sin(phi);
    double normal[3] = {sin(lambda), -cos(lambda), 0};
    double angle = 0;
    int winding = 0;
    geo_adder sum = {.n = 0};

    if (sin_phi == 1) phi = GEO_HALF_PI + GEO_EPSILON;
    else if (sin_phi == -1) phi = -GEO_HALF_PI - GEO_EPSILON;

    for (size_t i = 0; i < nrings; i++) {
        size_t m = rings[i].count;
        if (!m) continue;
        const double *ring = ring_pts + 2 * rings[i].first;
        const double *point0 = ring + 2 * (m - 1);
        double lambda0 = longitude(point0[0]), phi0 = point0[1] / 2 + GEO_QUARTER_PI;
        double sin_phi0 = sin(phi0), cos_phi0 = cos(phi0);
        for (size_t j = 0; j < m; j++) {
            const double *point1 = ring + 2 * j;
            double lambda1 = longitude(point1[0]), phi1 = point1[1] / 2 + GEO_QUARTER_PI;
            double sin_phi1 = sin(phi1), cos_phi1 = cos(phi1);
            double delta = lambda1 - lambda0;
            double sign = delta >= 0 ? 1 : -1, abs_delta = sign * delta;
            bool antimeridian = abs_delta > GEO_PI;
            double k = sin_phi0 * sin_phi1;

            geo_adder_add(&sum, atan2(k * sign * sin(abs_delta), cos_phi0 * cos_phi1 + k * cos(abs_delta)));
            angle += antimeridian ? delta + sign * GEO_TAU : delta;

            if (antimeridian ^ (lambda0 >= lambda) ^ (lambda1 >= lambda)) {
                double a[3], b[3], arc[3], inter[3];
                cartesian(point0[0], point0[1], a);
                cartesian(point1[0], point1[1], b);
                cross(a, b, arc);
                normalize(arc);
                cross(normal, arc, inter);
                normalize(inter);
                double phi_arc = ((antimeridian ^ (delta >= 0)) ? -1 : 1) * geo_asin(inter[2]);
                if (phi > phi_arc || (phi == phi_arc && (arc[0] != 0 || arc[1] != 0)))
                    winding += (antimeridian ^ (delta >= 0)) ? 1 : -1;
            }
            lambda0 = lambda1;
            sin_phi0 = sin_phi1;
            cos_phi0 = cos_phi1;
            point0 = point1;
        }
    }
    double total = geo_adder_value(&sum);
    return (angle < -GEO_EPSILON || (angle < GEO_EPSILON && total < -GEO_EPSILON2)) ^ (winding & 1);
}

/* ---- circle.js circleStream ---------------------------------------------------------- */
static double circle_radius(double cos_radius, const double *point)
{
    double p[3];
    cartesian(point[0], point[1], p);
    p[0] -= cos_radius;
    normalize(p);
    double radius = geo_acos(-p[1]);
    return fmod((-p[2] < 0 ? -radius : radius) + GEO_TAU - GEO_EPSILON, GEO_TAU);
}

void geo_circle_stream(geo_stream *stream, double radius, double delta, int direction, const double *from,
                       const double *to)
{
    if (!delta) return;
    double cos_radius = cos(radius), sin_radius = sin(radius), step = direction * delta;
    double t0, t1;
    if (!from) {
        t0 = radius + direction * GEO_TAU;
        t1 = radius - step / 2;
    } else {
        t0 = circle_radius(cos_radius, from);
        t1 = circle_radius(cos_radius, to);
        if (direction > 0 ? t0 < t1 : t0 > t1) t0 += direction * GEO_TAU;
    }
    for (double t = t0; direction > 0 ? t > t1 : t < t1; t -= step) {
        double x = cos_radius, y = -sin_radius * cos(t), z = -sin_radius * sin(t);
        stream->point(stream, atan2(y, x), geo_asin(z), 0);
    }
}
