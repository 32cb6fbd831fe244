/* projection.c — configuring projections like d3 does: defaults, Mercator's automatic clip
 * extent (mercator.js reclip), fitExtent to the sphere (projection/fit.js), and single points. */
#include <string.h>

#include "geo/geo_internal.h"

void geo_projection_simplify(geo_projection *p, double device_px_per_pt, double fraction)
{
    /* A device pixel is 1 / device_px_per_pt pt, i.e. 1 / (device_px_per_pt · scale) radians
     * where the projection's scale is exact (its centre). */
    double px_rad = 1 / (device_px_per_pt * p->scale);
    double f = fraction > 0 ? fraction : GEO_SIMPLIFY_PX2;
    p->simplify = isfinite(px_rad) && px_rad > 0 ? f * px_rad * px_rad : 0;
}

void geo_projection_init(geo_projection *p, geo_projection_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->translate[0] = 480;
    p->translate[1] = 250;
    p->precision = sqrt(0.5);
    switch (kind) {
    case GEO_PROJ_ORTHOGRAPHIC:
        p->scale = 249.5;
        p->clip_angle = 90 + GEO_EPSILON;
        break;
    case GEO_PROJ_MERCATOR:
        p->scale = 961 / GEO_TAU;
        break;
    case GEO_PROJ_NATURAL_EARTH1:
        p->scale = 175.295;
        break;
    case GEO_PROJ_EQUIRECTANGULAR:
    case GEO_PROJ_ROBINSON:
    default:
        p->scale = 152.63;
        break;
    }
}

static void rotation_of(const geo_projection *p, geo_rotation *r)
{
    geo_rotation_init(r, fmod(p->rotate[0], 360) * GEO_RADIANS, fmod(p->rotate[1], 360) * GEO_RADIANS,
                      fmod(p->rotate[2], 360) * GEO_RADIANS);
}

bool geo_project_point(const geo_projection *p, double lon, double lat, double *x, double *y)
{
    geo_rotation r;
    geo_transform t;
    rotation_of(p, &r);
    geo_transform_init(&t, p);
    double lambda = lon * GEO_RADIANS, phi = lat * GEO_RADIANS;
    geo_rotation_apply(&r, &lambda, &phi);
    geo_transform_apply(&t, lambda, phi, x, y);
    return isfinite(*x) && isfinite(*y);
}

bool geo_point_visible(const geo_projection *p, double lon, double lat)
{
    if (p->clip_angle == 0) return true; /* the antimeridian cut keeps every point */
    geo_rotation r;
    rotation_of(p, &r);
    double lambda = lon * GEO_RADIANS, phi = lat * GEO_RADIANS;
    geo_rotation_apply(&r, &lambda, &phi);
    return cos(lambda) * cos(phi) > cos(p->clip_angle * GEO_RADIANS);
}

bool geo_projection_postclip_extent(const geo_projection *p, double extent[4])
{
    if (p->kind != GEO_PROJ_MERCATOR) {
        if (!p->has_extent) return false;
        memcpy(extent, p->extent, sizeof p->extent);
        return true;
    }
    /* mercator.js reclip(): t = m(rotation(m.rotate()).invert([0, 0])), in d3's degree round trip. */
    double lambda = 0, phi = 0, tx, ty;
    geo_rotation rd;
    geo_rotation_init(&rd, fmod(p->rotate[0], 360) * GEO_RADIANS * GEO_DEGREES * GEO_RADIANS,
                      fmod(p->rotate[1], 360) * GEO_RADIANS * GEO_DEGREES * GEO_RADIANS,
                      fmod(p->rotate[2], 360) * GEO_RADIANS * GEO_DEGREES * GEO_RADIANS);
    geo_rotation_invert(&rd, &lambda, &phi);
    geo_project_point(p, lambda * GEO_DEGREES, phi * GEO_DEGREES, &tx, &ty);
    double k = GEO_PI * p->scale;
    if (!p->has_extent) {
        extent[0] = tx - k;
        extent[1] = ty - k;
        extent[2] = tx + k;
        extent[3] = ty + k;
    } else {
        extent[0] = tx - k > p->extent[0] ? tx - k : p->extent[0];
        extent[1] = p->extent[1];
        extent[2] = tx + k < p->extent[2] ? tx + k : p->extent[2];
        extent[3] = p->extent[3];
    }
    return true;
}

/* path/bounds.js */
typedef struct {
    geo_stream base;
    double x0, y0, x1, y1;
} bounds_sink;

static void bounds_point(geo_stream *s, double x, double y, int m)
{
    (void)m;
    bounds_sink *b = (bounds_sink *)s;
    if (x < b->x0) b->x0 = x;
    if (x > b->x1) b->x1 = x;
    if (y < b->y0) b->y0 = y;
    if (y > b->y1) b->y1 = y;
}

static void bounds_noop(geo_stream *s) { (void)s; }

void geo_projection_fit_sphere(geo_projection *p, double x0, double y0, double x1, double y1)
{
    /* fit.js: measure at scale 150, translate [0, 0], without the clip extent (for Mercator
     * that leaves its automatic square, exactly like d3's clipExtent(null)). */
    geo_projection q = *p;
    q.scale = 150;
    q.translate[0] = q.translate[1] = 0;
    q.has_extent = false;
    bounds_sink b = {{bounds_point, bounds_noop, bounds_noop, bounds_noop, bounds_noop, bounds_noop},
                     INFINITY, INFINITY, -INFINITY, -INFINITY};
    geo_pipeline pl;
    geo_pipeline_init(&pl, &q, &b.base);
    pl.base.sphere(&pl.base);
    geo_pipeline_free(&pl);

    double w = x1 - x0, h = y1 - y0;
    double kw = w / (b.x1 - b.x0), kh = h / (b.y1 - b.y0);
    double k = kw < kh ? kw : kh; /* Math.min */
    if (isnan(kw) || isnan(kh)) k = NAN;
    p->scale = 150 * k;
    p->translate[0] = x0 + (w - k * (b.x1 + b.x0)) / 2;
    p->translate[1] = y0 + (h - k * (b.y1 + b.y0)) / 2;
}
