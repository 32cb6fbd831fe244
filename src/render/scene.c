/* scene.c — projecting a map onto a page (MAPS-AND-PRINT.md §3) once per poster, and the
 * process-wide cache of the Natural Earth geography each detail level needs. */
#include "render/render_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Between the furniture and a frame reduced to keep clear of it (pt): a marker's reach. */
#define FRAME_GAP 6.0

/* ---- geography cache: each detail is loaded on first use and kept, shared read-only ---- */

static pthread_mutex_t g_geo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool loaded;
    geo_world world;
} g_geo[3];

bool render_geography(geo_detail detail, const geo_layer **land, const geo_mesh **borders,
                      awm_error *err)
{
    bool ok = true;
    pthread_mutex_lock(&g_geo_lock);
    if (!g_geo[detail].loaded) {
        geo_world *w = &g_geo[detail].world;
        ok = geo_world_load(detail, w, err);
        if (ok) {
            g_geo[detail].loaded = true;
            awm_log(AWM_LOG_DEBUG, "RENDER_GEOGRAPHY_LOADED", "{s:s, s:i, s:i}", "detail", geo_detail_name(detail),
                    "slivers", (int)w->slivers, "borderLines", (int)w->borders.line_count);
        }
    }
    pthread_mutex_unlock(&g_geo_lock);
    if (ok) {
        *land = &g_geo[detail].world.land;
        *borders = &g_geo[detail].world.borders;
    }
    return ok;
}

geo_detail render_detail_for_width(int px_w)
{
    /* 110m is ~1 pt on an A4 page; previews up to ~1000 px don't show more than 50m. */
    if (px_w >= 2000)
        return GEO_DETAIL_10M;
    if (px_w >= 700)
        return GEO_DETAIL_50M;
    return GEO_DETAIL_110M;
}

/* ---- shapes ---- */
static void shape_finish(render_shape *sh)
{
    const geo_path *p = &sh->path;
    sh->boxes = awm_xcalloc(p->subpath_count ? p->subpath_count : 1, sizeof *sh->boxes);
    for (size_t i = 0; i < p->subpath_count; i++) {
        const geo_subpath *sp = &p->subpaths[i];
        render_bbox b = {INFINITY, INFINITY, -INFINITY, -INFINITY};
        for (size_t k = sp->first; k < sp->first + sp->count; k++) {
            const geo_point *pt = &p->points[k];
            if (pt->x < b.x0) b.x0 = pt->x;
            if (pt->x > b.x1) b.x1 = pt->x;
            if (pt->y < b.y0) b.y0 = pt->y;
            if (pt->y > b.y1) b.y1 = pt->y;
        }
        sh->boxes[i] = b;
    }
}

/* Drop points closer than `tol` (pt) to the last kept one: 10m coastlines have many segments
 * shorter than a device pixel, which cost rasterisation time and cannot be seen. */
static void path_decimate(geo_path *p, double tol)
{
    double tol2 = tol * tol;
    size_t kept = 0;
    for (size_t i = 0; i < p->subpath_count; i++) {
        geo_subpath *sp = &p->subpaths[i];
        size_t first = kept;
        if (!sp->count) {
            sp->first = first;
            continue;
        }
        geo_point last = p->points[sp->first];
        p->points[kept++] = last;
        for (size_t k = 1; k < sp->count; k++) {
            geo_point c = p->points[sp->first + k];
            double dx = c.x - last.x, dy = c.y - last.y;
            if (k == sp->count - 1 || dx * dx + dy * dy >= tol2) {
                p->points[kept++] = c;
                last = c;
            }
        }
        sp->first = first;
        sp->count = kept - first;
    }
    p->point_count = kept;
    /* Give back the slack: the scene lives for the whole render, next to the band buffers. */
    if (kept && kept < p->point_cap) {
        p->points = awm_xrealloc(p->points, kept * sizeof *p->points);
        p->point_cap = kept;
    }
}

static void bbox_add(render_bbox *b, const geo_point *pt)
{
    if (pt->x < b->x0) b->x0 = pt->x;
    if (pt->x > b->x1) b->x1 = pt->x;
    if (pt->y < b->y0) b->y0 = pt->y;
    if (pt->y > b->y1) b->y1 = pt->y;
}

/* Cut every subpath into runs of at most RUN_SEGMENTS segments (see render_run): a band then
 * strokes only the few runs it touches instead of whole coastlines. */
#define RUN_SEGMENTS 96
static void shape_make_runs(render_shape *sh)
{
    const geo_path *p = &sh->path;
    size_t cap = 16;
    sh->runs = awm_xmalloc(cap * sizeof *sh->runs);
    sh->run_count = 0;
    sh->subpath_runs = awm_xmalloc((p->subpath_count + 1) * sizeof *sh->subpath_runs);
    for (size_t i = 0; i < p->subpath_count; i++) {
        const geo_subpath *sp = &p->subpaths[i];
        sh->subpath_runs[i] = sh->run_count;
        if (sp->count < 2)
            continue;
        const geo_point *first = &p->points[sp->first], *last = &p->points[sp->first + sp->count - 1];
        bool repeats_start = first->x == last->x && first->y == last->y;
        for (size_t start = 0; start + 1 < sp->count; start += RUN_SEGMENTS) {
            if (sh->run_count == cap) {
                cap *= 2;
                sh->runs = awm_xrealloc(sh->runs, cap * sizeof *sh->runs);
            }
            render_run *r = &sh->runs[sh->run_count++];
            r->first = sp->first + start;
            /* RUN_SEGMENTS segments of its own plus one shared with the next run (for the join). */
            r->count = sp->count - start < RUN_SEGMENTS + 2 ? sp->count - start : RUN_SEGMENTS + 2;
            bool last_run = start + r->count >= sp->count;
            r->wrap_first = sp->first;
            r->wrap_count = 0;
            if (last_run && sp->closed) {
                if (repeats_start) { /* already closed: go on to points[1] for the join */
                    r->wrap_first = sp->first + 1;
                    r->wrap_count = sp->count > 2 ? 1 : 0;
                } else { /* close back to points[0], then points[1] for the join */
                    r->wrap_count = sp->count > 2 ? 2 : 1;
                }
            }
            r->box = (render_bbox){INFINITY, INFINITY, -INFINITY, -INFINITY};
            for (size_t k = 0; k < r->count; k++)
                bbox_add(&r->box, &p->points[r->first + k]);
            for (size_t k = 0; k < r->wrap_count; k++)
                bbox_add(&r->box, &p->points[r->wrap_first + k]);
            if (last_run)
                break;
        }
    }
    sh->subpath_runs[p->subpath_count] = sh->run_count;
}

static void dash_point(geo_path *out, geo_point p)
{
    if (out->point_count == out->point_cap) {
        out->point_cap = out->point_cap ? 2 * out->point_cap : 1024;
        out->points = awm_xrealloc(out->points, out->point_cap * sizeof *out->points);
    }
    out->points[out->point_count++] = p;
    out->subpaths[out->subpath_count - 1].count++;
}

static void dash_begin(geo_path *out, geo_point p)
{
    if (out->subpath_count == out->subpath_cap) {
        out->subpath_cap = out->subpath_cap ? 2 * out->subpath_cap : 256;
        out->subpaths = awm_xrealloc(out->subpaths, out->subpath_cap * sizeof *out->subpaths);
    }
    out->subpaths[out->subpath_count++] = (geo_subpath){out->point_count, 0, false};
    dash_point(out, p);
}

/* `src` cut into open subpaths, its dashes: `on` pt drawn then `off` pt left out, starting drawn
 * at each subpath's first point (cairo_set_dash with offset 0, in user space; a closed subpath
 * goes on through its closing segment). A dash keeps the vertices inside it, so stroking the
 * dashes with butt caps draws what the dashed stroke of `src` draws. */
static void shape_dash(const render_shape *src, double on, double off, render_shape *out)
{
    const geo_path *p = &src->path;
    geo_path *d = &out->path;
    for (size_t i = 0; i < p->subpath_count; i++) {
        const geo_subpath *sp = &p->subpaths[i];
        if (sp->count < 2)
            continue;
        const geo_point *pts = p->points + sp->first;
        size_t segments = sp->closed ? sp->count : sp->count - 1;
        bool drawing = true;
        double left = on; /* of the current dash or gap */
        dash_begin(d, pts[0]);
        for (size_t k = 0; k < segments; k++) {
            geo_point a = pts[k], b = pts[(k + 1) % sp->count];
            double len = hypot(b.x - a.x, b.y - a.y), t = 0;
            if (len == 0)
                continue;
            while (len - t > left) { /* a dash or gap ends inside this segment */
                t += left;
                geo_point m = {a.x + (b.x - a.x) * (t / len), a.y + (b.y - a.y) * (t / len)};
                if (drawing)
                    dash_point(d, m);
                else
                    dash_begin(d, m);
                drawing = !drawing;
                left = drawing ? on : off;
            }
            left -= len - t;
            if (drawing)
                dash_point(d, b);
        }
        if (drawing && d->subpaths[d->subpath_count - 1].count < 2) { /* a dash of one point */
            d->point_count -= d->subpaths[d->subpath_count - 1].count;
            d->subpath_count--;
        }
    }
    shape_finish(out);
}

static void shape_free(render_shape *sh)
{
    geo_path_free(&sh->path);
    free(sh->boxes);
    free(sh->runs);
    free(sh->subpath_runs);
    sh->boxes = NULL;
    sh->runs = NULL;
    sh->subpath_runs = NULL;
}

/* One piece of the geography's projection: some of the land's polygons, or the borders. */
typedef struct {
    const geo_projection *proj;
    const geo_layer *land; /* polygons first .. first+count−1 of it; or NULL: the borders */
    size_t first, count;
    const geo_mesh *borders;
    double tolerance;
    geo_path path;
} geography_job;

typedef struct {
    geography_job *jobs;
    size_t count;
    _Atomic size_t next;
} geography_queue;

static void *run_geography_jobs(void *arg)
{
    geography_queue *q = arg;
    for (size_t i; (i = atomic_fetch_add(&q->next, 1)) < q->count;) {
        geography_job *job = &q->jobs[i];
        if (job->land)
            geo_path_layer_part(job->proj, job->land, job->first, job->count, &job->path);
        else
            geo_path_mesh(job->proj, job->borders, &job->path);
        path_decimate(&job->path, job->tolerance);
    }
    return NULL;
}

static size_t polygon_points(const geo_polygon *poly)
{
    size_t n = 0;
    for (size_t r = 0; r < poly->ring_count; r++)
        n += poly->rings[r].count;
    return n;
}

/* The land in LAND_PARTS parts of about as many points, and the borders: projected by as many
 * threads as there are cores (geo is pure), the parts joined in order, so the shapes are the
 * ones a single pass makes. The scene is built before any band starts, so this is wall time. */
#define LAND_PARTS 4
static void build_geography(render_scene *s, const geo_layer *land, const geo_mesh *borders,
                            double tolerance)
{
    geography_job jobs[LAND_PARTS + 1];
    memset(jobs, 0, sizeof jobs);
    size_t polygons = 0, points = 0;
    for (size_t f = 0; f < land->feature_count; f++)
        for (size_t i = 0; i < land->features[f].polygon_count; i++, polygons++)
            points += polygon_points(&land->features[f].polygons[i]);
    size_t part = 0, index = 0, seen = 0;
    for (size_t f = 0; f < land->feature_count; f++)
        for (size_t i = 0; i < land->features[f].polygon_count; i++, index++) {
            seen += polygon_points(&land->features[f].polygons[i]);
            if (part + 1 < LAND_PARTS && seen * LAND_PARTS >= (part + 1) * points) {
                jobs[part].count = index + 1 - jobs[part].first;
                jobs[++part].first = index + 1;
            }
        }
    jobs[part].count = polygons - jobs[part].first;
    for (size_t i = 0; i < LAND_PARTS; i++)
        jobs[i].land = land;
    jobs[LAND_PARTS].borders = borders;
    for (size_t i = 0; i <= LAND_PARTS; i++) {
        jobs[i].proj = &s->proj;
        jobs[i].tolerance = tolerance;
    }

    geography_queue q = {jobs, LAND_PARTS + 1, 0};
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t helpers = cores > 1 ? (size_t)(cores < LAND_PARTS ? cores : LAND_PARTS) - 1 : 0, started = 0;
    pthread_t tids[LAND_PARTS];
    while (started < helpers && pthread_create(&tids[started], NULL, run_geography_jobs, &q) == 0)
        started++;
    run_geography_jobs(&q);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);

    for (size_t i = 0; i < LAND_PARTS; i++) {
        geo_path_append(&s->land.path, &jobs[i].path);
        geo_path_free(&jobs[i].path);
    }
    s->borders.path = jobs[LAND_PARTS].path;
    awm_log(AWM_LOG_DEBUG, "RENDER_GEOGRAPHY_PROJECTED", "{s:I, s:I, s:I, s:I}", "landPoints",
            (json_int_t)s->land.path.point_count, "landSubpaths", (json_int_t)s->land.path.subpath_count,
            "borderPoints", (json_int_t)s->borders.path.point_count, "borderLines",
            (json_int_t)s->borders.path.subpath_count);
    render_shape *shapes[2] = {&s->land, &s->borders};
    for (int i = 0; i < 2; i++) {
        shape_finish(shapes[i]);
        shape_make_runs(shapes[i]);
    }
}

/* The projection of `map` fitted to `frame` (§3). */
static void configure_projection(geo_projection *p, const map_definition *map, const map_box *frame,
                                 const map_box *total, double device_px_per_pt)
{
    geo_projection_init(p, map->projection);
    if (map->projection == GEO_PROJ_ORTHOGRAPHIC) {
        memcpy(p->rotate, map->rotation, sizeof p->rotate);
    } else {
        /* Flat maps only recentre on a meridian; φ and γ belong to the globe. */
        p->rotate[0] = map->rotation[0];
        p->rotate[1] = p->rotate[2] = 0;
    }
    geo_projection_fit_sphere(p, frame->x, frame->y, frame->x + frame->w, frame->y + frame->h);
    p->scale *= map->zoom;
    p->translate[0] += map->pan[0];
    p->translate[1] += map->pan[1];
    /* Half a device pixel keeps curves smooth at any resolution. */
    p->precision = 0.5 / device_px_per_pt;
    /* Land and borders leave out the points that add under half a device pixel's area as
     * drawn (geo_projection_simplify); AWM_SIMPLIFY=0 draws every point, as d3 would. */
    bool simplify;
    if (!awm_env_bool("AWM_SIMPLIFY", true, &simplify, NULL))
        simplify = true; /* not a boolean: the default */
    if (simplify)
        geo_projection_simplify(p, device_px_per_pt, 0);
    p->has_extent = true;
    p->extent[0] = total->x;
    p->extent[1] = total->y;
    p->extent[2] = total->x + total->w;
    p->extent[3] = total->y + total->h;
    if (map->projection == GEO_PROJ_MERCATOR) {
        /* Mercator is the square between ±85.0511° (k = π·scale either side of its centre, which
         * sits on translate: flat maps rotate λ only). d3 would keep the extent's full height
         * and run the map on to the page's edges; the spec clips it to the square. */
        double k = M_PI * p->scale, cy = p->translate[1];
        p->extent[1] = fmax(p->extent[1], cy - k);
        p->extent[3] = fmin(p->extent[3], cy + k);
    }
}

/* Everything of the map itself, projected into the scene's frame. */
static void project_map(render_scene *s, const geo_layer *land, const geo_mesh *borders,
                        double device_px_per_pt)
{
    const map_definition *map = s->map;
    geo_projection *p = &s->proj;
    configure_projection(p, map, &s->boxes.frame, &s->boxes.total, device_px_per_pt);

    geo_path_sphere(p, &s->sphere.path);
    shape_finish(&s->sphere);
    shape_make_runs(&s->sphere); /* filled band by band like the land (append_fill) */
    geo_path_graticule10(p, &s->graticule.path);
    shape_finish(&s->graticule);
    shape_dash(&s->graticule, RENDER_GRATICULE_DASH, RENDER_GRATICULE_DASH, &s->graticule_dashes);
    build_geography(s, land, borders, 0.25 / device_px_per_pt);

    s->person_count = map->person_count;
    s->people = awm_xcalloc(map->person_count ? map->person_count : 1, sizeof *s->people);
    for (size_t i = 0; i < map->person_count; i++) {
        const map_person *mp = &map->people[i];
        render_person *rp = &s->people[i];
        rp->color = mp->color;
        size_t n = mp->location_count ? mp->location_count : 1;
        geo_point *lonlat = awm_xcalloc(n, sizeof *lonlat);
        rp->markers = awm_xcalloc(n, sizeof *rp->markers);
        rp->marker_location = awm_xcalloc(n, sizeof *rp->marker_location);
        for (size_t k = 0; k < mp->location_count; k++) {
            double lon = mp->locations[k].longitude, lat = mp->locations[k].latitude;
            lonlat[k] = (geo_point){lon, lat};
            double x, y;
            if (geo_point_visible(p, lon, lat) && geo_project_point(p, lon, lat, &x, &y)) {
                rp->marker_location[rp->marker_count] = k;
                rp->markers[rp->marker_count++] = (geo_point){x, y};
            }
        }
        if (mp->location_count >= 2)
            geo_path_line(p, lonlat, mp->location_count, &rp->legs.path);
        path_decimate(&rp->legs.path, 0.25 / device_px_per_pt);
        shape_finish(&rp->legs);
        shape_make_runs(&rp->legs);
        free(lonlat);
    }
}

static void free_projected(render_scene *s)
{
    shape_free(&s->sphere);
    shape_free(&s->graticule);
    shape_free(&s->graticule_dashes);
    shape_free(&s->land);
    shape_free(&s->borders);
    for (size_t i = 0; i < s->person_count; i++) {
        shape_free(&s->people[i].legs);
        free(s->people[i].markers);
        free(s->people[i].marker_location);
    }
    free(s->people);
    s->people = NULL;
    s->person_count = 0;
}

/* ---- the furniture rule: nothing the family drew under the furniture ---- */

static bool inside(const render_bbox *r, double x, double y)
{
    return x > r->x0 && x < r->x1 && y > r->y0 && y < r->y1;
}

/* Whether segment a–b passes through the open rectangle r (Liang–Barsky). */
static bool segment_crosses(const render_bbox *r, geo_point a, geo_point b)
{
    double t0 = 0, t1 = 1, dx = b.x - a.x, dy = b.y - a.y;
    double p[4] = {-dx, dx, -dy, dy}, q[4] = {a.x - r->x0, r->x1 - a.x, a.y - r->y0, r->y1 - a.y};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] <= 0)
                return false;
        } else {
            double t = q[i] / p[i];
            if (p[i] < 0) {
                if (t > t1)
                    return false;
                if (t > t0)
                    t0 = t;
            } else {
                if (t < t0)
                    return false;
                if (t < t1)
                    t1 = t;
            }
        }
    }
    return t0 < t1;
}

static bool box_meets(const render_bbox *a, const render_bbox *b)
{
    return a->x0 <= b->x1 && b->x0 <= a->x1 && a->y0 <= b->y1 && b->y0 <= a->y1;
}

/* Nonzero winding of the closed subpaths of `sh` around (x, y), like the fill. */
static int winding(const render_shape *sh, double x, double y)
{
    const geo_path *path = &sh->path;
    int w = 0;
    for (size_t i = 0; i < path->subpath_count; i++) {
        const geo_subpath *sp = &path->subpaths[i];
        if (!sp->closed || sp->count < 2 || y < sh->boxes[i].y0 || y > sh->boxes[i].y1 || x < sh->boxes[i].x0)
            continue; /* a ring wholly left of the point, or not across its row, adds nothing */
        const geo_point *pts = path->points + sp->first;
        for (size_t k = 0; k < sp->count; k++) {
            geo_point a = pts[k], b = pts[(k + 1) % sp->count];
            if (a.y <= y) {
                if (b.y > y && (b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y) > 0)
                    w++;
            } else if (b.y <= y && (b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y) < 0) {
                w--;
            }
        }
    }
    return w;
}

/* Whether any line of `sh` passes through r, or (filled) r lies inside its area. */
static bool shape_covers(const render_shape *sh, const render_bbox *r, bool filled)
{
    const geo_path *path = &sh->path;
    for (size_t i = 0; i < path->subpath_count; i++) {
        if (!box_meets(&sh->boxes[i], r))
            continue;
        const geo_subpath *sp = &path->subpaths[i];
        const geo_point *pts = path->points + sp->first;
        size_t segs = sp->closed ? sp->count : (sp->count ? sp->count - 1 : 0);
        if (sp->count == 1 && inside(r, pts[0].x, pts[0].y))
            return true;
        for (size_t k = 0; k < segs; k++)
            if (segment_crosses(r, pts[k], pts[(k + 1) % sp->count]))
                return true;
    }
    return filled && winding(sh, (r->x0 + r->x1) / 2, (r->y0 + r->y1) / 2) != 0;
}

/* Whether a piece of furniture would hide drawn land, a path or a marker. */
static bool furniture_covers_map(const render_scene *s)
{
    render_bbox boxes[4];
    size_t n = render_furniture_boxes(&s->furniture, boxes);
    for (size_t b = 0; b < n; b++) {
        const render_bbox *r = &boxes[b];
        render_bbox land = {r->x0 - 0.25, r->y0 - 0.25, r->x1 + 0.25, r->y1 + 0.25};
        if (shape_covers(&s->land, &land, true))
            return true;
        render_bbox leg = {r->x0 - 2, r->y0 - 2, r->x1 + 2, r->y1 + 2};
        for (size_t i = 0; i < s->person_count; i++) {
            if (shape_covers(&s->people[i].legs, &leg, false))
                return true;
            for (size_t k = 0; k < s->people[i].marker_count; k++) {
                geo_point m = s->people[i].markers[k];
                if (m.x + 4.75 > r->x0 && m.x - 4.75 < r->x1 && m.y + 4.75 > r->y0 && m.y - 4.75 < r->y1)
                    return true;
            }
        }
    }
    return false;
}

/* The largest free part of the safe area: of the rectangles whose edges are the safe area's
 * and the furniture's (FRAME_GAP away) and that touch no furniture, the one where the
 * projection's sphere fits largest; ties go to the larger area, then to the first found. */
static map_box free_frame(const render_scene *s)
{
    const map_box *safe = &s->boxes.safe;
    render_bbox boxes[4];
    size_t n = render_furniture_boxes(&s->furniture, boxes);
    double xs[10], ys[10];
    size_t nx = 0, ny = 0;
    xs[nx++] = safe->x;
    ys[ny++] = safe->y;
    for (size_t b = 0; b < n; b++) {
        xs[nx++] = boxes[b].x0 - FRAME_GAP;
        xs[nx++] = boxes[b].x1 + FRAME_GAP;
        ys[ny++] = boxes[b].y0 - FRAME_GAP;
        ys[ny++] = boxes[b].y1 + FRAME_GAP;
    }
    xs[nx++] = safe->x + safe->w;
    ys[ny++] = safe->y + safe->h;
    /* The fitted scale is min(per_w · w, per_h · h): measure the two factors once, each on a
     * frame so long the other side decides. */
    geo_projection p;
    map_box wide = {0, 0, 1e6, 1000}, tall = {0, 0, 1000, 1e6};
    configure_projection(&p, s->map, &wide, &s->boxes.total, 1);
    double per_h = p.scale / 1000;
    configure_projection(&p, s->map, &tall, &s->boxes.total, 1);
    double per_w = p.scale / 1000;
    map_box best = s->boxes.frame;
    double best_scale = 0, best_area = 0;
    for (size_t a = 0; a < nx; a++)
        for (size_t b = 0; b < nx; b++)
            for (size_t c = 0; c < ny; c++)
                for (size_t d = 0; d < ny; d++) {
                    double x0 = fmax(xs[a], safe->x), x1 = fmin(xs[b], safe->x + safe->w);
                    double y0 = fmax(ys[c], safe->y), y1 = fmin(ys[d], safe->y + safe->h);
                    if (x1 - x0 < 1 || y1 - y0 < 1)
                        continue;
                    render_bbox r = {x0, y0, x1, y1};
                    bool clear = true;
                    for (size_t k = 0; k < n && clear; k++)
                        clear = !(r.x0 < boxes[k].x1 && boxes[k].x0 < r.x1 && r.y0 < boxes[k].y1 &&
                                  boxes[k].y0 < r.y1);
                    if (!clear)
                        continue;
                    map_box frame = {x0, y0, x1 - x0, y1 - y0};
                    double scale = fmin(per_w * frame.w, per_h * frame.h), area = frame.w * frame.h;
                    if (scale > best_scale * (1 + 1e-9) || (scale >= best_scale * (1 - 1e-9) && area > best_area)) {
                        best_scale = scale;
                        best_area = area;
                        best = frame;
                    }
                }
    return best;
}

/* The geography and everything projected with it, on a thread of its own (render_scene_build). */
typedef struct {
    render_scene *s;
    geo_detail detail;
    double device_px_per_pt;
    bool ok;
    awm_error err;
    const geo_layer *land; /* what it projected, for a reduced frame */
    const geo_mesh *borders;
} projection_job;

static void *project_scene(void *arg)
{
    projection_job *job = arg;
    job->ok = render_geography(job->detail, &job->land, &job->borders, &job->err);
    if (job->ok)
        project_map(job->s, job->land, job->borders, job->device_px_per_pt);
    return NULL;
}

bool render_scene_build(render_scene *s, const map_definition *map, const map_print_spec *spec,
                        double device_px_per_pt, geo_detail detail, awm_error *err)
{
    memset(s, 0, sizeof *s);
    s->map = map;
    s->detail = detail;
    map_page_boxes_for(spec, &s->boxes);

    if (map->qr_url) {
        s->qr = QRcode_encodeString(map->qr_url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (!s->qr) {
            awm_error_set(err, "qrUrl cannot be encoded as a QR code (%zu bytes)", strlen(map->qr_url));
            return false;
        }
    }
    /* The projection needs only the frame; the furniture (its text) needs the fonts. Each job
     * writes its own fields of s. */
    projection_job job = {.s = s, .detail = detail, .device_px_per_pt = device_px_per_pt};
    pthread_t tid;
    bool threaded = pthread_create(&tid, NULL, project_scene, &job) == 0;
    if (!threaded)
        project_scene(&job);
    bool fonts = render_init(err);
    if (fonts)
        render_furniture_layout(map, spec, &s->furniture);
    if (threaded)
        pthread_join(tid, NULL);
    if (!fonts || !job.ok) {
        if (fonts) /* the fonts' error, when both failed */
            *err = job.err;
        render_scene_free(s);
        return false;
    }
    if (furniture_covers_map(s)) {
        s->frame_reduced = true;
        s->boxes.frame = free_frame(s);
        free_projected(s);
        project_map(s, job.land, job.borders, device_px_per_pt);
    }
    render_labels_place(s);
    return true;
}

void render_scene_free(render_scene *s)
{
    free_projected(s);
    render_furniture_free(&s->furniture);
    for (size_t i = 0; i < s->label_count; i++)
        free(s->labels[i].text.text);
    free(s->labels);
    s->labels = NULL;
    s->label_count = 0;
    if (s->qr)
        QRcode_free(s->qr);
    s->qr = NULL;
}
