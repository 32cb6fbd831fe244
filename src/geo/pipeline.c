/* pipeline.c — d3's projection.stream(): radians → rotate → preclip → resample → postclip,
 * ported from d3-geo 3.1 projection/index.js, rotation.js and projection/resample.js,
 * plus the raw projections (orthographic, equirectangular, Mercator, Natural Earth I and
 * d3-geo-projection's Robinson). */
#include <string.h>

#include "geo/geo_internal.h"

/* ---- raw projections ------------------------------------------------------------------ */
/* Robinson's table (d3-geo-projection robinson.js), y already multiplied by 1.593415793900743. */
static const double ROBINSON_K[20][2] = {
    {0.9986, -0.062 * 1.593415793900743}, {1.0000, 0.0000 * 1.593415793900743},
    {0.9986, 0.0620 * 1.593415793900743}, {0.9954, 0.1240 * 1.593415793900743},
    {0.9900, 0.1860 * 1.593415793900743}, {0.9822, 0.2480 * 1.593415793900743},
    {0.9730, 0.3100 * 1.593415793900743}, {0.9600, 0.3720 * 1.593415793900743},
    {0.9427, 0.4340 * 1.593415793900743}, {0.9216, 0.4958 * 1.593415793900743},
    {0.8962, 0.5571 * 1.593415793900743}, {0.8679, 0.6176 * 1.593415793900743},
    {0.8350, 0.6769 * 1.593415793900743}, {0.7986, 0.7346 * 1.593415793900743},
    {0.7597, 0.7903 * 1.593415793900743}, {0.7186, 0.8435 * 1.593415793900743},
    {0.6732, 0.8936 * 1.593415793900743}, {0.6213, 0.9394 * 1.593415793900743},
    {0.5722, 0.9761 * 1.593415793900743}, {0.5322, 1.0000 * 1.593415793900743},
};

static double js_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : x; /* ±0 and NaN pass through */ }

static void robinson_raw(double lambda, double phi, double *x, double *y)
{
    double i = fmin(18, fabs(phi) * 36 / GEO_PI);
    if (isnan(i)) {
        *x = *y = NAN;
        return;
    }
    int i0 = (int)floor(i);
    double di = i - i0;
    double ax = ROBINSON_K[i0][0], ay = ROBINSON_K[i0][1];
    double bx = ROBINSON_K[i0 + 1][0], by = ROBINSON_K[i0 + 1][1];
    int i2 = i0 + 2 < 19 ? i0 + 2 : 19;
    double cx = ROBINSON_K[i2][0], cy = ROBINSON_K[i2][1];
    *x = lambda * (bx + di * (cx - ax) / 2 + di * di * (cx - 2 * bx + ax) / 2);
    *y = js_sign(phi) * (by + di * (cy - ay) / 2 + di * di * (cy - 2 * by + ay) / 2);
}

void geo_raw_project(geo_projection_kind kind, double lambda, double phi, double *x, double *y)
{
    switch (kind) {
    case GEO_PROJ_ORTHOGRAPHIC:
        *x = cos(phi) * sin(lambda);
        *y = sin(phi);
        return;
    case GEO_PROJ_MERCATOR:
        *x = lambda;
        *y = log(tan((GEO_HALF_PI + phi) / 2));
        return;
    case GEO_PROJ_NATURAL_EARTH1: {
        double phi2 = phi * phi, phi4 = phi2 * phi2;
        *x = lambda * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4)));
        *y = phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)));
        return;
    }
    case GEO_PROJ_ROBINSON:
        robinson_raw(lambda, phi, x, y);
        return;
    case GEO_PROJ_EQUIRECTANGULAR:
    default:
        *x = lambda;
        *y = phi;
        return;
    }
}

/* projectionMutator's recenter() without center, angle or reflection: scaleTranslate. */
void geo_transform_init(geo_transform *t, const geo_projection *p)
{
    double cx, cy;
    t->kind = p->kind;
    t->k = p->scale;
    geo_raw_project(p->kind, 0, 0, &cx, &cy);
    t->dx = p->translate[0] - p->scale * cx;
    t->dy = p->translate[1] - (0 - p->scale * cy);
}

void geo_transform_apply(const geo_transform *t, double lambda, double phi, double *x, double *y)
{
    double px, py;
    geo_raw_project(t->kind, lambda, phi, &px, &py);
    *x = t->dx + t->k * px;
    *y = t->dy - t->k * py;
}

/* ---- rotation.js ------------------------------------------------------------------------ */
void geo_rotation_init(geo_rotation *r, double dlambda, double dphi, double dgamma)
{
    memset(r, 0, sizeof *r);
    dlambda = fmod(dlambda, GEO_TAU);
    r->dlambda = dlambda;
    r->cos_phi = cos(dphi);
    r->sin_phi = sin(dphi);
    r->cos_gamma = cos(dgamma);
    r->sin_gamma = sin(dgamma);
    bool pg = dphi != 0 || dgamma != 0;
    r->kind = dlambda != 0 ? (pg ? GEO_ROT_BOTH : GEO_ROT_LAMBDA) : (pg ? GEO_ROT_PHIGAMMA : GEO_ROT_IDENTITY);
}

static double wrap_lambda(double lambda)
{
    if (fabs(lambda) > GEO_PI) lambda -= geo_js_round(lambda / GEO_TAU) * GEO_TAU;
    return lambda;
}

/* The rotated point's unit vector (cos φ cos λ, cos φ sin λ, sin φ) comes out on the way; `unit`
 * (NULL: not wanted) gets it for geo_unit_memo. */
static void rotate_phi_gamma(const geo_rotation *r, double *lambda, double *phi, double unit[3])
{
    double cos_phi = cos(*phi), x = cos(*lambda) * cos_phi, y = sin(*lambda) * cos_phi, z = sin(*phi);
    double k = z * r->cos_phi + x * r->sin_phi;
    double ux = x * r->cos_phi - z * r->sin_phi, uy = y * r->cos_gamma - k * r->sin_gamma;
    double uz = k * r->cos_gamma + y * r->sin_gamma;
    *lambda = atan2(uy, ux);
    *phi = geo_asin(uz);
    if (unit)
        unit[0] = ux, unit[1] = uy, unit[2] = uz;
}

static void rotate_phi_gamma_invert(const geo_rotation *r, double *lambda, double *phi)
{
    double cos_phi = cos(*phi), x = cos(*lambda) * cos_phi, y = sin(*lambda) * cos_phi, z = sin(*phi);
    double k = z * r->cos_gamma - y * r->sin_gamma;
    *lambda = atan2(y * r->cos_gamma + z * r->sin_gamma, x * r->cos_phi + k * r->sin_phi);
    *phi = geo_asin(k * r->cos_phi - x * r->sin_phi);
}

/* rotation.js's forward and inverse: the inverse undoes the steps in reverse order
 * (λ − dλ is λ + (−dλ) bit for bit: negation is exact). */
static void rotation_run(const geo_rotation *r, double *lambda, double *phi, bool invert, geo_unit_memo *memo)
{
    double dlambda = invert ? -r->dlambda : r->dlambda;
    bool pg = r->kind == GEO_ROT_PHIGAMMA || r->kind == GEO_ROT_BOTH;
    bool shift = r->kind == GEO_ROT_LAMBDA || r->kind == GEO_ROT_BOTH;
    if (pg && invert)
        rotate_phi_gamma_invert(r, lambda, phi);
    if (shift)
        *lambda = wrap_lambda(*lambda + dlambda);
    else if (!pg)
        *lambda = wrap_lambda(*lambda);
    if (pg && !invert)
        rotate_phi_gamma(r, lambda, phi, memo ? memo->unit : NULL);
    if (memo) {
        /* Without the φ/γ turn no vector was made: a NaN matches no point. */
        memo->lambda = pg ? *lambda : NAN; /* (the inverse never takes a memo) */
        memo->phi = *phi;
    }
}

void geo_rotation_apply(const geo_rotation *r, double *lambda, double *phi) { rotation_run(r, lambda, phi, false, NULL); }

void geo_rotation_invert(const geo_rotation *r, double *lambda, double *phi) { rotation_run(r, lambda, phi, true, NULL); }

const double *geo_unit_memo_get(const geo_unit_memo *memo, double lambda, double phi)
{
    return memo && lambda == memo->lambda && phi == memo->phi ? memo->unit : NULL;
}

/* ---- projection/resample.js ---------------------------------------------------------------- */
#define RESAMPLE_MAX_DEPTH 16

static const double COS_MIN_DISTANCE = 0.86602540378443871; /* cos(30°) */

static void resample_line_to(geo_resample *r, double x0, double y0, double lambda0, double a0, double b0,
                             double c0, double x1, double y1, double lambda1, double a1, double b1, double c1,
                             int depth)
{
    double dx = x1 - x0, dy = y1 - y0, d2 = dx * dx + dy * dy;
    if (d2 > 4 * r->delta2 && depth--) {
        double a = a0 + a1, b = b0 + b1, c = c0 + c1, m = sqrt(a * a + b * b + c * c);
        c /= m;
        bool pole_or_meridian = fabs(fabs(c) - 1) < GEO_EPSILON || fabs(lambda0 - lambda1) < GEO_EPSILON;
        /* orthographicRaw(atan2(b, a), asin(c)) is (b, c) / m up to rounding; most midpoints are
         * tested and dropped, so the globe takes λ only for one that is kept. */
        bool from_vector = r->t.kind == GEO_PROJ_ORTHOGRAPHIC && !pole_or_meridian;
        double lambda2 = 0, x2, y2;
        if (from_vector) {
            x2 = r->t.dx + r->t.k * (b / m);
            y2 = r->t.dy - r->t.k * c;
        } else {
            lambda2 = pole_or_meridian ? (lambda0 + lambda1) / 2 : atan2(b, a);
            geo_transform_apply(&r->t, lambda2, geo_asin(c), &x2, &y2);
        }
        double dx2 = x2 - x0, dy2 = y2 - y0, dz = dy * dx2 - dx * dy2;
        if (dz * dz / d2 > r->delta2                              /* perpendicular projected distance */
            || fabs((dx * dx2 + dy * dy2) / d2 - 0.5) > 0.3       /* midpoint close to an end */
            || a0 * a1 + b0 * b1 + c0 * c1 < COS_MIN_DISTANCE) { /* angular distance */
            if (from_vector)
                lambda2 = atan2(b, a);
            a /= m;
            b /= m;
            resample_line_to(r, x0, y0, lambda0, a0, b0, c0, x2, y2, lambda2, a, b, c, depth);
            r->stream->point(r->stream, x2, y2, 0);
            resample_line_to(r, x2, y2, lambda2, a, b, c, x1, y1, lambda1, a1, b1, c1, depth);
        }
    }
}

static void resample_point(geo_stream *s, double lambda, double phi, int m)
{
    (void)m;
    geo_resample *r = (geo_resample *)s;
    double x, y;
    geo_transform_apply(&r->t, lambda, phi, &x, &y);
    r->stream->point(r->stream, x, y, 0);
}

static void resample_line_point(geo_stream *s, double lambda, double phi, int m)
{
    (void)m;
    geo_resample *r = (geo_resample *)s;
    /* The memo's vector (the globe's only, see geo_pipeline_init), but not at a pole: there a
     * midpoint's λ is carried by the vector's tiny first two components. */
    const double *memo = geo_unit_memo_get(r->memo, lambda, phi);
    double a, b, c, x, y;
    if (memo && fabs(memo[2]) < 1 - GEO_UNIT_MEMO_MARGIN) {
        a = memo[0], b = memo[1], c = memo[2];
    } else {
        double cos_phi = cos(phi);
        a = cos_phi * cos(lambda), b = cos_phi * sin(lambda), c = sin(phi);
    }
    if (r->t.kind == GEO_PROJ_ORTHOGRAPHIC) {
        /* orthographicRaw is [cos φ sin λ, sin φ] = [b, c]. */
        x = r->t.dx + r->t.k * b;
        y = r->t.dy - r->t.k * c;
    } else {
        geo_transform_apply(&r->t, lambda, phi, &x, &y);
    }
    resample_line_to(r, r->x0, r->y0, r->lambda0, r->a0, r->b0, r->c0, x, y, lambda, a, b, c, RESAMPLE_MAX_DEPTH);
    r->x0 = x, r->y0 = y, r->lambda0 = lambda, r->a0 = a, r->b0 = b, r->c0 = c;
    r->stream->point(r->stream, x, y, 0);
}

static void resample_line_start(geo_stream *s)
{
    geo_resample *r = (geo_resample *)s;
    r->x0 = NAN;
    r->base.point = resample_line_point;
    r->stream->line_start(r->stream);
}

static void resample_line_end(geo_stream *s)
{
    geo_resample *r = (geo_resample *)s;
    r->base.point = resample_point;
    r->stream->line_end(r->stream);
}

static void resample_ring_point(geo_stream *s, double lambda, double phi, int m)
{
    geo_resample *r = (geo_resample *)s;
    r->lambda00 = lambda;
    resample_line_point(s, lambda, phi, m);
    r->x00 = r->x0, r->y00 = r->y0, r->a00 = r->a0, r->b00 = r->b0, r->c00 = r->c0;
    r->base.point = resample_line_point;
}

static void resample_ring_end(geo_stream *s)
{
    geo_resample *r = (geo_resample *)s;
    resample_line_to(r, r->x0, r->y0, r->lambda0, r->a0, r->b0, r->c0, r->x00, r->y00, r->lambda00, r->a00,
                     r->b00, r->c00, RESAMPLE_MAX_DEPTH);
    r->base.line_end = resample_line_end;
    resample_line_end(s);
}

static void resample_ring_start(geo_stream *s)
{
    geo_resample *r = (geo_resample *)s;
    resample_line_start(s);
    r->base.point = resample_ring_point;
    r->base.line_end = resample_ring_end;
}

static void resample_polygon_start(geo_stream *s)
{
    geo_resample *r = (geo_resample *)s;
    r->stream->polygon_start(r->stream);
    r->base.line_start = resample_ring_start;
}

static void resample_polygon_end(geo_stream *s)
{
    geo_resample *r = (geo_resample *)s;
    r->stream->polygon_end(r->stream);
    r->base.line_start = resample_line_start;
}

/* resampleNone: project each point, nothing in between. */
static void pass_line_start(geo_stream *s) { ((geo_resample *)s)->stream->line_start(((geo_resample *)s)->stream); }
static void pass_line_end(geo_stream *s) { ((geo_resample *)s)->stream->line_end(((geo_resample *)s)->stream); }
static void pass_polygon_start(geo_stream *s)
{
    ((geo_resample *)s)->stream->polygon_start(((geo_resample *)s)->stream);
}
static void pass_polygon_end(geo_stream *s) { ((geo_resample *)s)->stream->polygon_end(((geo_resample *)s)->stream); }
static void pass_sphere(geo_stream *s) { ((geo_resample *)s)->stream->sphere(((geo_resample *)s)->stream); }

void geo_resample_init(geo_resample *r, const geo_transform *t, double delta2, geo_stream *stream)
{
    memset(r, 0, sizeof *r);
    r->t = *t;
    r->delta2 = delta2;
    r->stream = stream;
    r->base.point = resample_point;
    r->base.sphere = pass_sphere;
    if (delta2 != 0) {
        r->base.line_start = resample_line_start;
        r->base.line_end = resample_line_end;
        r->base.polygon_start = resample_polygon_start;
        r->base.polygon_end = resample_polygon_end;
    } else {
        r->base.line_start = pass_line_start;
        r->base.line_end = pass_line_end;
        r->base.polygon_start = pass_polygon_start;
        r->base.polygon_end = pass_polygon_end;
    }
}

/* ---- the head: transformRadians + transformRotate ----------------------------------------- */
static geo_stream *preclip_of(geo_stream *s) { return &((geo_pipeline *)s)->preclip.base; }

static void head_point(geo_stream *s, double x, double y, int m)
{
    (void)m;
    geo_pipeline *pl = (geo_pipeline *)s;
    double lambda = x * GEO_RADIANS, phi = y * GEO_RADIANS;
    rotation_run(&pl->rotation, &lambda, &phi, false, &pl->memo);
    pl->preclip.base.point(&pl->preclip.base, lambda, phi, 0);
}
static void head_line_start(geo_stream *s) { preclip_of(s)->line_start(preclip_of(s)); }
static void head_line_end(geo_stream *s) { preclip_of(s)->line_end(preclip_of(s)); }
static void head_polygon_start(geo_stream *s) { preclip_of(s)->polygon_start(preclip_of(s)); }
static void head_polygon_end(geo_stream *s) { preclip_of(s)->polygon_end(preclip_of(s)); }
static void head_sphere(geo_stream *s) { preclip_of(s)->sphere(preclip_of(s)); }

void geo_pipeline_init(geo_pipeline *pl, const geo_projection *p, geo_stream *sink)
{
    memset(pl, 0, sizeof *pl);
    /* projection.rotate(): angles reduced modulo 360° before conversion, as d3 does. */
    geo_rotation_init(&pl->rotation, fmod(p->rotate[0], 360) * GEO_RADIANS, fmod(p->rotate[1], 360) * GEO_RADIANS,
                      fmod(p->rotate[2], 360) * GEO_RADIANS);
    geo_stream *next = sink;
    double ext[4];
    if (geo_projection_postclip_extent(p, ext)) {
        geo_clip_rect_init(&pl->postclip, ext[0], ext[1], ext[2], ext[3], sink);
        pl->has_postclip = true;
        next = &pl->postclip.base;
    }
    geo_transform t;
    geo_transform_init(&t, p);
    geo_resample_init(&pl->resample, &t, p->precision * p->precision, next);
    if (p->clip_angle != 0)
        geo_clip_init(&pl->preclip, GEO_CLIP_CIRCLE, p->clip_angle * GEO_RADIANS, &pl->resample.base);
    else
        geo_clip_init(&pl->preclip, GEO_CLIP_ANTIMERIDIAN, 0, &pl->resample.base);
    pl->memo.lambda = NAN;
    pl->preclip.circle.memo = &pl->memo;
    /* Only the globe's resampler: near a pole the memo's rounding turns a midpoint's λ about,
     * which moves it on a flat map (x = λ), as the oracle's graticules show. */
    pl->resample.memo = p->kind == GEO_PROJ_ORTHOGRAPHIC ? &pl->memo : NULL;
    pl->base.point = head_point;
    pl->base.line_start = head_line_start;
    pl->base.line_end = head_line_end;
    pl->base.polygon_start = head_polygon_start;
    pl->base.polygon_end = head_polygon_end;
    pl->base.sphere = head_sphere;
}

void geo_pipeline_free(geo_pipeline *pl)
{
    geo_clip_free(&pl->preclip);
    if (pl->has_postclip) geo_clip_rect_free(&pl->postclip);
}

/* ---- stream.js --------------------------------------------------------------------------- */
void geo_stream_line(geo_stream *s, const geo_point *pts, size_t n)
{
    s->line_start(s);
    for (size_t i = 0; i < n; i++) s->point(s, pts[i].x, pts[i].y, 0);
    s->line_end(s);
}

/* ---- simplification (geo.h, geo_projection.simplify) ------------------------------------ */
void geo_simplifier_init(geo_simplifier *sf, const geo_projection *p)
{
    memset(sf, 0, sizeof *sf);
    sf->area = p->simplify > 0 ? p->simplify : 0;
    /* How the projection's area magnification changes away from its centre (relative to its
     * scale): the orthographic globe shrinks an area by cos c, the cylindrical and
     * pseudo-cylindrical maps stretch parallels by up to 1 / cos φ, Mercator meridians too. */
    switch (p->kind) {
    case GEO_PROJ_ORTHOGRAPHIC:
        /* d3's rotate([λ, φ, γ]) brings [-λ, -φ] to the centre; γ spins about it. */
        sf->globe = true;
        sf->sin_phi0 = sin(-p->rotate[1] * GEO_RADIANS);
        sf->cos_phi0 = cos(-p->rotate[1] * GEO_RADIANS);
        sf->lambda0 = -p->rotate[0] * GEO_RADIANS;
        break;
    case GEO_PROJ_MERCATOR: sf->lat_power = 2; break;
    default: sf->lat_power = 1; break;
    }
}

static inline bool simplifier_keeps(const geo_simplifier *sf, float importance, geo_point pt)
{
    if (sf->globe) {
        if (importance < sf->area) /* the globe never magnifies */
            return false;
        if (importance >= sf->area / GEO_SIMPLIFY_GLOBE_FLOOR) /* GEO_KEEP (∞) always is */
            return true;
        double phi = pt.y * GEO_RADIANS;
        double cos_c = sin(phi) * sf->sin_phi0 + cos(phi) * sf->cos_phi0 * cos(pt.x * GEO_RADIANS - sf->lambda0);
        return importance * fmax(cos_c, GEO_SIMPLIFY_GLOBE_FLOOR) >= sf->area;
    }
    if (importance >= sf->area) /* GEO_KEEP (∞) always is */
        return true;
    double c = cos(pt.y * GEO_RADIANS);
    return importance >= sf->area * (sf->lat_power == 2 ? c * c : c);
}

/* Streams pts[0 .. n) without the points the simplifier leaves out; when fewer than `min_kept`
 * (≤ 4) would remain, the line is streamed whole instead, so a small ring never collapses. Only
 * rings that small fall back, so where a neighbour shares their arcs (and is simplified) the two
 * part by less than the threshold's area. */
static void stream_simplified(geo_stream *s, const geo_point *pts, const float *importance, size_t n,
                              const geo_simplifier *sf, size_t min_kept)
{
    size_t held[4], nheld = 0;
    bool started = false;
    for (size_t i = 0; i < n; i++) {
        if (!simplifier_keeps(sf, importance[i], pts[i]))
            continue;
        if (!started) {
            held[nheld++] = i;
            if (nheld < min_kept)
                continue;
            started = true;
            s->line_start(s);
            for (size_t k = 0; k < nheld; k++) s->point(s, pts[held[k]].x, pts[held[k]].y, 0);
            continue;
        }
        s->point(s, pts[i].x, pts[i].y, 0);
    }
    if (started)
        s->line_end(s);
    else
        geo_stream_line(s, pts, n);
}

void geo_stream_line_simplified(geo_stream *s, const geo_point *pts, const float *importance, size_t n,
                                const geo_simplifier *sf)
{
    if (!importance || sf->area <= 0) {
        geo_stream_line(s, pts, n);
        return;
    }
    /* A closed line (an enclave's border) keeps at least a triangle, like a ring. */
    bool closed = n >= 4 && pts[0].x == pts[n - 1].x && pts[0].y == pts[n - 1].y;
    stream_simplified(s, pts, importance, n, sf, closed ? 4 : 1);
}

void geo_stream_polygon(geo_stream *s, const geo_polygon *poly, const geo_simplifier *sf)
{
    s->polygon_start(s);
    for (size_t i = 0; i < poly->ring_count; i++) {
        const geo_ring *ring = &poly->rings[i];
        /* A ring streams its points without the closing duplicate. */
        size_t n = ring->count ? ring->count - 1 : 0;
        if (sf && sf->area > 0 && ring->importance)
            stream_simplified(s, ring->points, ring->importance, n, sf, 3);
        else
            geo_stream_line(s, ring->points, n);
    }
    s->polygon_end(s);
}
