/* path.c — the end of the pipeline (a sink building geo_path like d3's path context) and the
 * generators: the sphere, geoGraticule10 (graticule.js), features, layers and lines. */
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

/* ---- geo_path ------------------------------------------------------------------------ */
static void path_add_point(geo_path *path, double x, double y)
{
    if (path->point_count == path->point_cap) {
        path->point_cap = path->point_cap ? path->point_cap * 2 : 1024;
        path->points = awm_xrealloc(path->points, path->point_cap * sizeof *path->points);
    }
    path->points[path->point_count++] = (geo_point){x, y};
}

void geo_path_clear(geo_path *path)
{
    path->point_count = 0;
    path->subpath_count = 0;
}

void geo_path_free(geo_path *path)
{
    free(path->points);
    free(path->subpaths);
    memset(path, 0, sizeof *path);
}

double geo_path_area(const geo_path *path)
{
    /* path/area.js: each ring adds Σ (y0·x1 − x0·y1) / 2, the closing edge included. */
    double total = 0;
    for (size_t i = 0; i < path->subpath_count; i++) {
        const geo_subpath *sp = &path->subpaths[i];
        if (!sp->closed || !sp->count) continue;
        const geo_point *p = path->points + sp->first;
        double sum = 0, x0 = p[0].x, y0 = p[0].y;
        for (size_t j = 1; j <= sp->count; j++) {
            const geo_point *q = &p[j % sp->count];
            sum += y0 * q->x - x0 * q->y;
            x0 = q->x;
            y0 = q->y;
        }
        total += sum / 2;
    }
    return total;
}

/* ---- the sink (path/context.js: a line inside a polygon is closed) ----------------------- */
static void sink_point(geo_stream *s, double x, double y, int m)
{
    (void)m;
    geo_path_sink *k = (geo_path_sink *)s;
    if (!k->in_line) return; /* d3 would draw a Point marker here; no geometry of ours streams one */
    path_add_point(k->path, x, y);
    k->path->subpaths[k->path->subpath_count - 1].count++;
}

static void sink_line_start(geo_stream *s)
{
    geo_path_sink *k = (geo_path_sink *)s;
    geo_path *path = k->path;
    if (path->subpath_count == path->subpath_cap) {
        path->subpath_cap = path->subpath_cap ? path->subpath_cap * 2 : 64;
        path->subpaths = awm_xrealloc(path->subpaths, path->subpath_cap * sizeof *path->subpaths);
    }
    path->subpaths[path->subpath_count++] = (geo_subpath){path->point_count, 0, k->in_polygon};
    k->in_line = true;
}

static void sink_line_end(geo_stream *s)
{
    geo_path_sink *k = (geo_path_sink *)s;
    if (k->in_line && k->path->subpaths[k->path->subpath_count - 1].count == 0) k->path->subpath_count--;
    k->in_line = false;
}

static void sink_polygon_start(geo_stream *s) { ((geo_path_sink *)s)->in_polygon = true; }
static void sink_polygon_end(geo_stream *s) { ((geo_path_sink *)s)->in_polygon = false; }
static void sink_sphere(geo_stream *s) { (void)s; }

void geo_path_sink_init(geo_path_sink *s, geo_path *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->base.point = sink_point;
    s->base.line_start = sink_line_start;
    s->base.line_end = sink_line_end;
    s->base.polygon_start = sink_polygon_start;
    s->base.polygon_end = sink_polygon_end;
    s->base.sphere = sink_sphere;
}

/* ---- generators ------------------------------------------------------------------------- */
typedef struct {
    geo_path_sink sink;
    geo_pipeline pipeline;
} run;

static geo_stream *run_begin(run *r, const geo_projection *p, geo_path *out)
{
    geo_path_sink_init(&r->sink, out);
    geo_pipeline_init(&r->pipeline, p, &r->sink.base);
    return &r->pipeline.base;
}

void geo_path_sphere(const geo_projection *p, geo_path *out)
{
    run r;
    geo_stream *s = run_begin(&r, p, out);
    s->sphere(s);
    geo_pipeline_free(&r.pipeline);
}

void geo_path_feature(const geo_projection *p, const geo_feature *f, geo_path *out)
{
    run r;
    geo_simplifier sf;
    geo_simplifier_init(&sf, p);
    geo_stream *s = run_begin(&r, p, out);
    for (size_t i = 0; i < f->polygon_count; i++) geo_stream_polygon(s, &f->polygons[i], &sf);
    geo_pipeline_free(&r.pipeline);
}

void geo_path_layer(const geo_projection *p, const geo_layer *layer, geo_path *out)
{
    run r;
    geo_simplifier sf;
    geo_simplifier_init(&sf, p);
    geo_stream *s = run_begin(&r, p, out);
    for (size_t f = 0; f < layer->feature_count; f++)
        for (size_t i = 0; i < layer->features[f].polygon_count; i++)
            geo_stream_polygon(s, &layer->features[f].polygons[i], &sf);
    geo_pipeline_free(&r.pipeline);
}

void geo_path_layer_part(const geo_projection *p, const geo_layer *layer, size_t first, size_t count,
                         geo_path *out)
{
    run r;
    geo_simplifier sf;
    geo_simplifier_init(&sf, p);
    geo_stream *s = run_begin(&r, p, out);
    size_t index = 0, end = first + count;
    for (size_t f = 0; f < layer->feature_count && index < end; f++)
        for (size_t i = 0; i < layer->features[f].polygon_count && index < end; i++, index++)
            if (index >= first)
                geo_stream_polygon(s, &layer->features[f].polygons[i], &sf);
    geo_pipeline_free(&r.pipeline);
}

void geo_path_append(geo_path *dst, const geo_path *src)
{
    if (dst->point_count + src->point_count > dst->point_cap) {
        dst->point_cap = dst->point_count + src->point_count;
        dst->points = awm_xrealloc(dst->points, (dst->point_cap ? dst->point_cap : 1) * sizeof *dst->points);
    }
    if (dst->subpath_count + src->subpath_count > dst->subpath_cap) {
        dst->subpath_cap = dst->subpath_count + src->subpath_count;
        dst->subpaths = awm_xrealloc(dst->subpaths, (dst->subpath_cap ? dst->subpath_cap : 1) * sizeof *dst->subpaths);
    }
    if (src->point_count)
        memcpy(dst->points + dst->point_count, src->points, src->point_count * sizeof *src->points);
    for (size_t i = 0; i < src->subpath_count; i++) {
        geo_subpath sp = src->subpaths[i];
        sp.first += dst->point_count;
        dst->subpaths[dst->subpath_count++] = sp;
    }
    dst->point_count += src->point_count;
}

void geo_path_line(const geo_projection *p, const geo_point *lonlat, size_t n, geo_path *out)
{
    run r;
    geo_stream *s = run_begin(&r, p, out);
    geo_stream_line(s, lonlat, n);
    geo_pipeline_free(&r.pipeline);
}

void geo_path_mesh(const geo_projection *p, const geo_mesh *mesh, geo_path *out)
{
    run r;
    geo_simplifier sf;
    geo_simplifier_init(&sf, p);
    geo_stream *s = run_begin(&r, p, out);
    for (size_t i = 0; i < mesh->line_count; i++)
        geo_stream_line_simplified(s, mesh->lines[i].points, mesh->lines[i].importance, mesh->lines[i].count, &sf);
    geo_pipeline_free(&r.pipeline);
}

/* d3-array range(start, stop, step). */
static size_t js_range_count(double start, double stop, double step)
{
    double n = ceil((stop - start) / step);
    return n > 0 ? (size_t)n : 0;
}

/* graticuleX: a meridian at x from y0 to y1 in steps of dy (d3 uses 90°), y1 appended. */
static void stream_meridian(geo_stream *s, double x, double y0, double y1, double dy)
{
    size_t n = js_range_count(y0, y1 - GEO_EPSILON, dy);
    s->line_start(s);
    for (size_t i = 0; i < n; i++) s->point(s, x, y0 + i * dy, 0);
    s->point(s, x, y1, 0);
    s->line_end(s);
}

/* graticuleY: a parallel at y from x0 to x1 in steps of dx (the precision), x1 appended. */
static void stream_parallel(geo_stream *s, double y, double x0, double x1, double dx)
{
    size_t n = js_range_count(x0, x1 - GEO_EPSILON, dx);
    s->line_start(s);
    for (size_t i = 0; i < n; i++) s->point(s, x0 + i * dx, y, 0);
    s->point(s, x1, y, 0);
    s->line_end(s);
}

void geo_path_graticule10(const geo_projection *p, geo_path *out)
{
    /* geoGraticule10(): major extent ±180 × ±(90 − ε), minor ±180 × ±(80 + ε), steps 10° minor,
     * 90°/360° major, precision 2.5°, streamed as one MultiLineString in d3's line order. */
    const double X0 = -180, X1 = 180, Y0 = -90 + GEO_EPSILON, Y1 = 90 - GEO_EPSILON;
    const double x0 = -180, x1 = 180, y0 = -80 - GEO_EPSILON, y1 = 80 + GEO_EPSILON;
    const double DX = 90, DY = 360, dx = 10, dy = 10, precision = 2.5;
    run r;
    geo_stream *s = run_begin(&r, p, out);
    double start;
    size_t n;

    start = ceil(X0 / DX) * DX;
    n = js_range_count(start, X1, DX);
    for (size_t i = 0; i < n; i++) stream_meridian(s, start + i * DX, Y0, Y1, 90);

    start = ceil(Y0 / DY) * DY;
    n = js_range_count(start, Y1, DY);
    for (size_t i = 0; i < n; i++) stream_parallel(s, start + i * DY, X0, X1, precision);

    start = ceil(x0 / dx) * dx;
    n = js_range_count(start, x1, dx);
    for (size_t i = 0; i < n; i++) {
        double x = start + i * dx;
        if (fabs(fmod(x, DX)) > GEO_EPSILON) stream_meridian(s, x, y0, y1, 90);
    }

    start = ceil(y0 / dy) * dy;
    n = js_range_count(start, y1, dy);
    for (size_t i = 0; i < n; i++) {
        double y = start + i * dy;
        if (fabs(fmod(y, DY)) > GEO_EPSILON) stream_parallel(s, y, x0, x1, precision);
    }
    geo_pipeline_free(&r.pipeline);
}
