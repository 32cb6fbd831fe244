/* geo.h — the spherical geometry engine: Natural Earth geography decoded from TopoJSON,
 * rotation, the five projections, clipping (globe horizon, antimeridian, rectangle),
 * adaptive resampling, and generators for the sphere, the graticule and great-circle lines.
 *
 * It behaves like d3-geo 3.1 / d3-geo-projection 4.0 (same formulas, same stream pipeline:
 * rotate → preclip → resample+project → postclip), so posters match what the browser version
 * drew; tests/geo compares it with d3-geo itself. All functions are pure over their inputs:
 * a geo_projection is a plain value and may be used from several threads at once. */
#ifndef AWM_GEO_H
#define AWM_GEO_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

typedef struct {
    double x, y; /* longitude/latitude in degrees, or projected page coordinates in pt */
} geo_point;

/* ---- geography model (spherical, degrees) ---------------------------------- */
/* Importance, for simplifying to the output (geo_projection.simplify): what each point adds to
 * its line, Visvalingam–Whyatt's effective area in steradians (approximately: the triangle with
 * its neighbours, taken as planar at its latitude; never less than that of a point removed before
 * it). It is computed once per TopoJSON arc, so two rings sharing an arc keep the same points of
 * it and stay joined; an arc's ends, and points on a pole or the antimeridian, are GEO_KEEP. */
#define GEO_KEEP INFINITY

typedef struct {
    geo_point *points; /* closed as in GeoJSON: points[count-1] == points[0] */
    size_t count;
    float *importance; /* count values beside points, or NULL: every point is kept */
} geo_ring;

typedef struct {
    geo_ring *rings; /* rings[0] is the exterior, the rest are holes */
    size_t ring_count;
} geo_polygon;

typedef struct {
    char *id;   /* TopoJSON geometry id (ISO 3166-1 numeric for countries), or NULL */
    char *name; /* properties.name, or NULL */
    geo_polygon *polygons;
    size_t polygon_count;
} geo_feature;

typedef struct {
    geo_feature *features;
    size_t feature_count;
    /* A layer read from its cache keeps every ring's points and importance as slices of these
     * two blocks (NULL otherwise: each ring owns its arrays), freed with the layer. One block
     * is one mapping: thousands of ring-sized allocations grew a thread's heap a page at a time,
     * ~1,000 mprotect calls that stalled the other threads' page faults. */
    geo_point *point_block;
    float *importance_block;
} geo_layer;

/* An open line of lon/lat points (a border of the mesh below). */
typedef struct {
    geo_point *points;
    size_t count;
    float *importance; /* as geo_ring's, copied from the rings the line was taken from; or NULL */
} geo_line;

typedef struct {
    geo_line *lines;
    size_t line_count;
} geo_mesh;

/* The borders between the features of `layer`, each shared edge once and the edges of a single
 * feature (coastlines) not at all: topojson's mesh(topology, object, (a, b) => a !== b).
 * Deterministic: the same layer gives the same lines in the same order. */
void geo_mesh_borders(const geo_layer *layer, geo_mesh *out);
void geo_mesh_free(geo_mesh *m);

typedef enum { GEO_DETAIL_110M = 0, GEO_DETAIL_50M, GEO_DETAIL_10M } geo_detail;

/* Decode object `object_name` of a TopoJSON file (quantized, delta-encoded arcs, arc
 * reversal, Polygon/MultiPolygon with holes, GeometryCollection). Every ring gets its points'
 * importance (above), computed on the arcs. */
bool geo_layer_load(const char *topojson_path, const char *object_name, geo_layer *out, awm_error *err);
/* world-atlas from the assets: which = "land" or "countries". The decoded layer is also kept in
 * a binary cache file, <cache dir>/geo/<which>-<detail>.awmgeo (awm_cache_path: AWM_CACHE_DIR,
 * else the user's cache folder), which later loads read instead of parsing the JSON (~0.2 s a
 * 10m layer); it holds the importance too, so simplifying costs nothing at run time but the
 * comparisons. The cache is used only when its header names this decoder (geo_decoder_id) and
 * the JSON's size, mtime and content hash; otherwise, or when it is corrupt, the JSON is decoded
 * and the cache rewritten. Nothing is ever written into the assets; with no cache directory,
 * or one that cannot be written, every load decodes the JSON. */
bool geo_layer_load_world(geo_detail detail, const char *which, geo_layer *out, awm_error *err);
/* The decoder's identity: a hash of src/geo's sources, made at build time (decoder_id.sh). */
const char *geo_decoder_id(void);
/* Tests: make the cache see another decoder (`id`), or this build's again (NULL). */
void geo_decoder_id_override(const char *id);
void geo_layer_free(geo_layer *layer);
const char *geo_detail_name(geo_detail detail); /* "110m", "50m", "10m" */

/* What a map draws at one detail level: world-atlas land without the few quantisation slivers
 * that would fill the whole globe (world.c), and the borders between the countries (without
 * theirs), geo_mesh_borders. The borders are cached beside the layers, as
 * <cache dir>/geo/borders-<detail>.awmgeo, keyed like them on this decoder and the countries
 * JSON: building the mesh costs ~0.1 s at 10m, a quarter of a poster's CPU, and with the cache
 * the countries layer is not loaded at all. */
typedef struct {
    geo_layer land;
    geo_mesh borders;
    size_t slivers; /* land polygons left out */
} geo_world;
bool geo_world_load(geo_detail detail, geo_world *out, awm_error *err);
void geo_world_free(geo_world *w);

/* ---- projections --------------------------------------------------------------- */
typedef enum {
    GEO_PROJ_ORTHOGRAPHIC = 0,
    GEO_PROJ_EQUIRECTANGULAR,
    GEO_PROJ_MERCATOR,
    GEO_PROJ_NATURAL_EARTH1,
    GEO_PROJ_ROBINSON,
    GEO_PROJ_COUNT
} geo_projection_kind;

bool geo_projection_kind_parse(const char *name, geo_projection_kind *out); /* "naturalEarth1", … */
const char *geo_projection_kind_name(geo_projection_kind kind);

/* A configured projection, the equivalent of a d3 projection object. */
typedef struct {
    geo_projection_kind kind;
    double rotate[3];    /* d3 rotate([λ, φ, γ]), degrees */
    double scale;        /* d3 scale() */
    double translate[2]; /* d3 translate(), pt */
    double precision;    /* d3 precision(), pt; 0 turns adaptive resampling off */
    double clip_angle;   /* degrees; 0 = antimeridian cut (flat maps); the globe uses 90 + ε like d3 */
    bool has_extent;     /* post-clip to a rectangle (d3 clipExtent) */
    double extent[4];    /* x0, y0, x1, y1 */
    /* Simplification (not d3's): layers and meshes stream only the points whose importance,
     * times the projection's area magnification there, reaches this many steradians — 1 / cos^k φ
     * on flat maps (k = 1 equirectangular, Natural Earth, Robinson, 2 Mercator), cos c on the
     * globe (c from its centre, at least GEO_SIMPLIFY_GLOBE_FLOOR) — before rotation, clipping
     * and projection, so the points left out cost nothing. 0 (the default): every point,
     * exactly d3's output. Set it with geo_projection_simplify. */
    double simplify;
} geo_projection;

/* d3's defaults for `kind` (its default scale, translate [480, 250], precision √0.5, clip). */
void geo_projection_init(geo_projection *p, geo_projection_kind kind);
/* d3 fitExtent([[x0, y0], [x1, y1]], {type: "Sphere"}): largest scale at which the projected
 * sphere fits, centred (Mercator's sphere is clipped to ±85.0511° like d3's fit). */
void geo_projection_fit_sphere(geo_projection *p, double x0, double y0, double x1, double y1);
/* The simplification for output with `device_px_per_pt` device pixels per pt, at p's final
 * scale: a point is left out when the area it adds would cover less than GEO_SIMPLIFY_PX2 of a
 * device pixel, i.e. p->simplify = GEO_SIMPLIFY_PX2 / (device_px_per_pt · scale)² steradians
 * (`fraction` > 0 stands in for GEO_SIMPLIFY_PX2, to try another threshold). */
#define GEO_SIMPLIFY_PX2 0.5
/* The globe's least counted shrinking: near its rim (c → 90°) an area is seen edge-on, where
 * only the radial scale goes to 0 and a point left out would still move its line along the rim;
 * and a point behind the globe decides where its line crosses the horizon. So the threshold
 * there stays within 4 × GEO_SIMPLIFY_PX2. */
#define GEO_SIMPLIFY_GLOBE_FLOOR 0.25
void geo_projection_simplify(geo_projection *p, double device_px_per_pt, double fraction);
/* d3 projection([lon, lat]), no clipping. False when the result is not finite. */
bool geo_project_point(const geo_projection *p, double lon, double lat, double *x, double *y);
/* True when the point survives the preclip (front hemisphere of the globe; always on flat maps). */
bool geo_point_visible(const geo_projection *p, double lon, double lat);

/* ---- projected output ---------------------------------------------------------------- */
typedef struct {
    size_t first, count; /* points[first .. first+count) */
    bool closed;         /* a ring (polygon) rather than an open line */
} geo_subpath;

typedef struct {
    geo_point *points;
    size_t point_count, point_cap;
    geo_subpath *subpaths;
    size_t subpath_count, subpath_cap;
} geo_path;

void geo_path_clear(geo_path *path); /* keeps the allocations for reuse */
void geo_path_free(geo_path *path);
/* Sum of the signed areas of the closed subpaths (d3's planar polygon area sign convention). */
double geo_path_area(const geo_path *path);

/* Each generator appends to `out` what d3's geoPath(projection) would draw for: */
void geo_path_sphere(const geo_projection *p, geo_path *out);                          /* {type: Sphere} */
void geo_path_graticule10(const geo_projection *p, geo_path *out);                     /* geoGraticule10() */
void geo_path_feature(const geo_projection *p, const geo_feature *f, geo_path *out);   /* one feature */
void geo_path_layer(const geo_projection *p, const geo_layer *layer, geo_path *out);   /* every feature */
/* The polygons first .. first+count−1 of the layer, numbered across its features in order: a
 * layer projected in parts and joined in order with geo_path_append is geo_path_layer's path
 * (each polygon goes through the pipeline on its own), so parts can run on several threads. */
void geo_path_layer_part(const geo_projection *p, const geo_layer *layer, size_t first, size_t count,
                         geo_path *out);
void geo_path_append(geo_path *dst, const geo_path *src);
/* A LineString through `n` lon/lat points: each edge follows the great circle and is clipped
 * at the horizon like land is (a leg into the back of the globe stops at the horizon). */
void geo_path_line(const geo_projection *p, const geo_point *lonlat, size_t n, geo_path *out);
/* Every line of a mesh, each like geo_path_line (d3's geoPath of the mesh's MultiLineString). */
void geo_path_mesh(const geo_projection *p, const geo_mesh *mesh, geo_path *out);

#endif
