/* geo_internal.h — the d3-geo stream pipeline behind geo.h, shared by the geo sources and
 * by tests that drive the pipeline directly. Not part of the public interface.
 *
 * A stage is a struct whose first member is a geo_stream; like d3's stream objects, a stage
 * may swap its own method pointers while a polygon or a line is open (d3 does
 * `clip.point = pointRing` and so on), which keeps the port line-for-line comparable. */
#ifndef AWM_GEO_INTERNAL_H
#define AWM_GEO_INTERNAL_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"

/* a·b + c must round twice as in JavaScript: a fused multiply-add would round once and drift
 * from d3 in the last bit (which can flip a clip or resampling decision). */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define GEO_EPSILON 1e-6
#define GEO_EPSILON2 1e-12
#define GEO_PI 3.14159265358979323846
#define GEO_HALF_PI (GEO_PI / 2)
#define GEO_QUARTER_PI (GEO_PI / 4)
#define GEO_TAU (GEO_PI * 2)
#define GEO_DEGREES (180 / GEO_PI)
#define GEO_RADIANS (GEO_PI / 180)

/* d3's clamped inverse trigonometry (math.js). */
static inline double geo_asin(double x) { return x > 1 ? GEO_HALF_PI : x < -1 ? -GEO_HALF_PI : asin(x); }
static inline double geo_acos(double x) { return x > 1 ? 0 : x < -1 ? GEO_PI : acos(x); }
/* JavaScript Math.round: halves go towards +∞. */
static inline double geo_js_round(double x)
{
    double r = floor(x);
    return (x - r >= 0.5) ? r + 1 : r;
}

typedef struct geo_stream geo_stream;
struct geo_stream {
    void (*point)(geo_stream *s, double x, double y, int m); /* m: d3's third coordinate (clip flags) */
    void (*line_start)(geo_stream *s);
    void (*line_end)(geo_stream *s);
    void (*polygon_start)(geo_stream *s);
    void (*polygon_end)(geo_stream *s);
    void (*sphere)(geo_stream *s);
};

/* d3-array's Adder: exact floating-point sum by Shewchuk partials (used by polygonContains
 * so the winding decision is the same as d3's). */
typedef struct {
    double partials[32];
    int n;
} geo_adder;
void geo_adder_add(geo_adder *a, double x);
double geo_adder_value(const geo_adder *a);

/* A point carried through the clip buffers: x, y and d3's clip flag m (0 = none). */
typedef struct {
    double x, y;
    int m;
} geo_pt;

typedef struct {
    size_t first, count;
} geo_range;

/* clip/buffer.js: records lines (as ranges into one growing point pool). */
typedef struct {
    geo_stream base;
    geo_pt *pts;
    size_t npts, pts_cap;
    geo_range *lines;
    size_t nlines, lines_cap;
} geo_clip_buffer;
void geo_clip_buffer_init(geo_clip_buffer *b);
void geo_clip_buffer_free(geo_clip_buffer *b);
void geo_clip_buffer_reset(geo_clip_buffer *b);
/* d3 buffer.rejoin() over the lines from index `from` on: the last and first are joined. */
void geo_clip_buffer_rejoin(geo_clip_buffer *b, size_t from);
/* Removes lines[index], keeping the order. */
void geo_clip_buffer_remove_line(geo_clip_buffer *b, size_t index);

/* clip/rejoin.js. Segments are ranges into `pts` (which may be nudged like d3 does). */
typedef int (*geo_compare_fn)(void *ctx, const double *a, const double *b); /* <0, 0, >0 */
typedef void (*geo_interpolate_fn)(void *ctx, const double *from, const double *to, int direction,
                                   geo_stream *stream);
typedef struct geo_rejoin_scratch geo_rejoin_scratch;
struct geo_rejoin_scratch {
    struct geo_intersection *items;
    size_t items_cap;
    size_t *subject, *clip, *sort_tmp;
    size_t idx_cap;
};
void geo_rejoin(geo_pt *pts, const geo_range *segments, size_t nsegments, geo_compare_fn compare,
                bool start_inside, geo_interpolate_fn interpolate, void *ctx, geo_stream *stream,
                geo_rejoin_scratch *scratch);
void geo_rejoin_scratch_free(geo_rejoin_scratch *s);

/* polygonContains.js over rings of [λ, φ] radians (without their closing duplicate). */
bool geo_polygon_contains(const double *ring_pts, const geo_range *rings, size_t nrings, double lambda,
                          double phi);

/* circle.js circleStream: points of the circle of `radius` around [0, 0], from → to. */
void geo_circle_stream(geo_stream *stream, double radius, double delta, int direction, const double *from,
                       const double *to);

/* ---- the projection pipeline -------------------------------------------------- */
typedef enum { GEO_CLIP_ANTIMERIDIAN, GEO_CLIP_CIRCLE } geo_clip_kind;

/* The point the rotation gave last and its unit vector (cos φ cos λ, cos φ sin λ, sin φ), which
 * the rotation made on the way: the preclip's visibility test and the resampler take it
 * instead of the sines and cosines of the very same λ, φ (equal to rounding). */
typedef struct {
    double lambda, phi; /* λ NaN: none */
    double unit[3];
} geo_unit_memo;
/* How far a decision must be from its threshold for the memo's vector to make it (rounding
 * moves the vector's components by ~1e-16). */
#define GEO_UNIT_MEMO_MARGIN 1e-9
/* The memo's vector if [λ, φ] is its point, else NULL (memo may be NULL). */
const double *geo_unit_memo_get(const geo_unit_memo *memo, double lambda, double phi);

typedef struct {
    double radius, cr;
    bool small_radius, not_hemisphere;
    const geo_unit_memo *memo; /* the pipeline's, or NULL */
} geo_circle_params;

/* A clip line (the clipLine of clip/circle.js or clip/antimeridian.js) writing to `out`. */
typedef struct {
    geo_stream *out;
    geo_clip_kind kind;
    const geo_circle_params *circle;
    int clean;
    /* antimeridian */
    double lambda0, phi0, sign0;
    /* circle */
    bool has_p0, v0, v00;
    double p0[2];
    int c0;
} geo_clip_line;

/* clip/index.js: the spherical preclip. */
typedef struct {
    geo_stream base;
    geo_stream *sink;
    geo_clip_kind kind;
    geo_circle_params circle;
    double start[2];
    geo_clip_line line, ring_line;
    geo_clip_buffer ring_buffer;
    size_t ring_first_line; /* first buffer line of the current ring */
    double *ring_pts;       /* the polygon's rings, for polygonContains */
    size_t ring_npts, ring_cap;
    geo_range *rings;
    size_t nrings, rings_cap;
    bool polygon_started;
    geo_rejoin_scratch scratch;
} geo_clip;
void geo_clip_init(geo_clip *c, geo_clip_kind kind, double radius, geo_stream *sink);
void geo_clip_free(geo_clip *c);
bool geo_clip_visible(const geo_clip *c, double lambda, double phi);

/* clip/rectangle.js: the planar postclip (clipExtent). */
typedef struct {
    geo_stream base;
    geo_stream *stream, *active;
    double x0, y0, x1, y1;
    geo_clip_buffer buffer;
    bool in_polygon;
    size_t ring_first_line;
    double *poly_pts;    /* projected rings for the winding test */
    size_t poly_npts, poly_cap;
    geo_range *rings;
    size_t nrings, rings_cap;
    double x__, y__, x_, y_;
    bool v__, v_, first, clean;
    geo_rejoin_scratch scratch;
} geo_clip_rect;
void geo_clip_rect_init(geo_clip_rect *r, double x0, double y0, double x1, double y1, geo_stream *stream);
void geo_clip_rect_free(geo_clip_rect *r);

/* The rotation of projection.rotate() (rotation.js), forward only. */
typedef enum { GEO_ROT_IDENTITY, GEO_ROT_LAMBDA, GEO_ROT_PHIGAMMA, GEO_ROT_BOTH } geo_rot_kind;
typedef struct {
    geo_rot_kind kind;
    double dlambda;
    double cos_phi, sin_phi, cos_gamma, sin_gamma;
} geo_rotation;
void geo_rotation_init(geo_rotation *r, double dlambda, double dphi, double dgamma); /* radians */
void geo_rotation_apply(const geo_rotation *r, double *lambda, double *phi);
void geo_rotation_invert(const geo_rotation *r, double *lambda, double *phi);

/* The raw projection followed by scale and translate (d3's projectTransform). */
typedef struct {
    geo_projection_kind kind;
    double k, dx, dy;
} geo_transform;
void geo_transform_init(geo_transform *t, const geo_projection *p);
void geo_transform_apply(const geo_transform *t, double lambda, double phi, double *x, double *y);
void geo_raw_project(geo_projection_kind kind, double lambda, double phi, double *x, double *y);

/* projection/resample.js */
typedef struct {
    geo_stream base;
    geo_stream *stream;
    geo_transform t;
    double delta2;
    const geo_unit_memo *memo; /* the pipeline's, or NULL */
    double lambda00, x00, y00, a00, b00, c00;
    double lambda0, x0, y0, a0, b0, c0;
} geo_resample;
void geo_resample_init(geo_resample *r, const geo_transform *t, double delta2, geo_stream *stream);

/* The whole projection.stream(sink): degrees → radians → rotate → preclip → resample → postclip → sink. */
typedef struct {
    geo_stream base; /* input: lon/lat degrees */
    geo_rotation rotation;
    geo_unit_memo memo;
    geo_clip preclip;
    geo_resample resample;
    bool has_postclip;
    geo_clip_rect postclip;
} geo_pipeline;
void geo_pipeline_init(geo_pipeline *pl, const geo_projection *p, geo_stream *sink);
void geo_pipeline_free(geo_pipeline *pl);
/* The rectangle d3 clips to, if any: the user's clipExtent, or for Mercator d3's automatic
 * ±π·scale square around the projected rotation origin combined with it (mercator.js reclip). */
bool geo_projection_postclip_extent(const geo_projection *p, double extent[4]);

/* A sink appending to a geo_path (d3's path context: lines inside a polygon are closed). */
typedef struct {
    geo_stream base;
    geo_path *path;
    bool in_polygon, in_line;
} geo_path_sink;
void geo_path_sink_init(geo_path_sink *s, geo_path *path);

/* What geo_projection.simplify leaves out: a point whose importance, times the projection's
 * area magnification there (relative to its scale), is below `area`. Flat maps magnify by
 * 1 / cos^k φ (k = lat_power); the globe shrinks by cos c, c the angle from its centre (whose
 * sin φ, cos φ and λ are kept), never counted below GEO_SIMPLIFY_GLOBE_FLOOR. area 0: nothing. */
typedef struct {
    double area;
    int lat_power;     /* flat maps */
    bool globe;        /* orthographic: cos c */
    double sin_phi0, cos_phi0, lambda0;
} geo_simplifier;
void geo_simplifier_init(geo_simplifier *sf, const geo_projection *p);

/* Streams of the geometry types (stream.js). A polygon's rings are simplified by `sf` (NULL:
 * none) where they carry importance; a ring keeps at least three points. */
void geo_stream_polygon(geo_stream *s, const geo_polygon *poly, const geo_simplifier *sf);
void geo_stream_line(geo_stream *s, const geo_point *pts, size_t n);
/* A line with importance (or NULL: every point), simplified by sf. */
void geo_stream_line_simplified(geo_stream *s, const geo_point *pts, const float *importance, size_t n,
                                const geo_simplifier *sf);

/* ---- the world-atlas caches (topojson.c, world.c) ---- */
/* What a cache must have been made from: this decoder and this JSON. */
typedef struct {
    uint64_t decoder; /* hash of geo_decoder_id() */
    uint64_t size, hash;
    int64_t mtime_s, mtime_ns;
} geo_cache_source;
/* A geography cache's header starts with GEO_CACHE_SOURCE_FIELDS uint64: its format (magic),
 * then src's decoder, size, mtime s, mtime ns and hash, what awm_cache_header_mismatch checks. */
#define GEO_CACHE_SOURCE_FIELDS 6
void geo_cache_source_fields(uint64_t magic, const geo_cache_source *src, uint64_t out[GEO_CACHE_SOURCE_FIELDS]);
/* awm_cache_write, logged as GEO_CACHE_WRITTEN or GEO_CACHE_NOT_WRITTEN (a cache is optional). */
void geo_cache_write(const char *path, const awm_buf *image);
/* Whether points read from a cache are usable: finite, each importance ≥ 0 (NaN fails too). */
bool geo_cached_points_valid(const geo_point *pts, const float *importance, size_t n);
/* Frees a polygon's rings (points and importance) and its ring array. */
void geo_polygon_free(geo_polygon *poly);
/* A polygon of `layer` (its rings' arrays are the layer's when it has blocks). */
void geo_layer_polygon_free(const geo_layer *layer, geo_polygon *poly);
/* What a cache derived from world layer `which` at `detail` must have been made from (world.c's
 * borders are keyed on the countries JSON, like the countries layer's own cache). */
bool geo_world_source(geo_detail detail, const char *which, geo_cache_source *src, awm_error *err);

#endif
