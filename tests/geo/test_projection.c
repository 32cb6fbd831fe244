/* test_projection.c — unit tests of the projection engine that need no reference data:
 * horizon clipping of great-circle legs, point visibility, fitting, the automatic Mercator
 * extent, rotation wrap, resampling on/off and the rectangle clip. (The comparison with d3-geo
 * itself is test_projection_oracle.) */
#include <pthread.h>

#include "geo/geo.h"
#include "test.h"

#define FRAME_X0 63.0
#define FRAME_Y0 63.0
#define FRAME_W 1188.0
#define FRAME_H 1620.0

static void poster_globe(geo_projection *p, double lon, double lat)
{
    geo_projection_init(p, GEO_PROJ_ORTHOGRAPHIC);
    p->rotate[0] = -lon;
    p->rotate[1] = -lat;
    geo_projection_fit_sphere(p, FRAME_X0, FRAME_Y0, FRAME_X0 + FRAME_W, FRAME_Y0 + FRAME_H);
}

static void test_fitted_globe_radius(void)
{
    geo_projection p;
    poster_globe(&p, 10, 50);
    /* The orthographic sphere is a disc of radius = scale: it fits the narrower side. */
    CHECK_NEAR(p.scale, (FRAME_W < FRAME_H ? FRAME_W : FRAME_H) / 2, 1e-9);
    CHECK_NEAR(p.translate[0], FRAME_X0 + FRAME_W / 2, 1e-9);
    CHECK_NEAR(p.translate[1], FRAME_Y0 + FRAME_H / 2, 1e-9);
    /* The sphere's outline is that circle, drawn clockwise on the page (d3's negative area). */
    geo_path path = {0};
    geo_path_sphere(&p, &path);
    CHECK_INT_EQ(path.subpath_count, 1);
    CHECK(path.subpaths[0].closed);
    double area = geo_path_area(&path);
    CHECK_MSG(area < 0 && fabs(-area / (M_PI * p.scale * p.scale) - 1) < 1e-3, "sphere area %g", area);
    for (size_t i = 0; i < path.point_count; i++)
        CHECK_NEAR(hypot(path.points[i].x - p.translate[0], path.points[i].y - p.translate[1]), p.scale, 1e-6);
    geo_path_free(&path);
}

static void test_leg_ends_on_horizon(void)
{
    geo_projection p;
    poster_globe(&p, 10, 50); /* centred on Europe: Sydney is behind the globe */
    const geo_point leg[2] = {{-0.1278, 51.5074}, {151.2093, -33.8688}}; /* London → Sydney */
    CHECK(geo_point_visible(&p, leg[0].x, leg[0].y));
    CHECK(!geo_point_visible(&p, leg[1].x, leg[1].y));

    geo_path path = {0};
    geo_path_line(&p, leg, 2, &path);
    CHECK_INT_EQ(path.subpath_count, 1);
    const geo_subpath *sp = &path.subpaths[0];
    CHECK(!sp->closed);
    CHECK_MSG(sp->count > 2, "the leg follows the great circle (resampled): %zu points", sp->count);
    double lx, ly;
    CHECK(geo_project_point(&p, leg[0].x, leg[0].y, &lx, &ly));
    const geo_point *first = &path.points[sp->first], *last = &path.points[sp->first + sp->count - 1];
    CHECK_NEAR(first->x, lx, 1e-9);
    CHECK_NEAR(first->y, ly, 1e-9);
    /* The leg stops exactly on the horizon circle. */
    CHECK_NEAR(hypot(last->x - p.translate[0], last->y - p.translate[1]), p.scale, 1e-6);
    for (size_t i = 0; i < sp->count; i++) {
        const geo_point *q = &path.points[sp->first + i];
        CHECK(hypot(q->x - p.translate[0], q->y - p.translate[1]) <= p.scale + 1e-6);
    }
    /* The whole leg on the back of the globe draws nothing. */
    geo_path_clear(&path);
    const geo_point back[2] = {{151.2093, -33.8688}, {174.7633, -36.8485}}; /* Sydney → Auckland */
    geo_path_line(&p, back, 2, &path);
    CHECK_INT_EQ(path.subpath_count, 0);
    geo_path_free(&path);
}

static void test_point_visible(void)
{
    geo_projection p;
    poster_globe(&p, 10, 50);
    CHECK(geo_point_visible(&p, 10, 50));      /* the centre */
    CHECK(!geo_point_visible(&p, -170, -50));  /* the antipode */
    CHECK(geo_point_visible(&p, 10, -39));     /* 89° from the centre */
    CHECK(!geo_point_visible(&p, 10, -41));    /* 91° */
    CHECK(geo_point_visible(&p, -170, 50 - 89 + 180 - 1)); /* 89° over the pole: lat 40 at -170 */
    /* Flat maps keep every point (their preclip only cuts lines at the antimeridian). */
    for (int k = GEO_PROJ_EQUIRECTANGULAR; k < GEO_PROJ_COUNT; k++) {
        geo_projection f;
        geo_projection_init(&f, (geo_projection_kind)k);
        f.rotate[0] = 123;
        CHECK(geo_point_visible(&f, -57, 0));
        CHECK(geo_point_visible(&f, 0, -89));
    }
}

static void test_defaults(void)
{
    geo_projection p;
    const double scales[GEO_PROJ_COUNT] = {249.5, 152.63, 961 / (2 * M_PI), 175.295, 152.63};
    for (int k = 0; k < GEO_PROJ_COUNT; k++) {
        geo_projection_init(&p, (geo_projection_kind)k);
        CHECK_NEAR(p.scale, scales[k], 1e-12);
        CHECK_NEAR(p.translate[0], 480, 0);
        CHECK_NEAR(p.translate[1], 250, 0);
        CHECK_NEAR(p.precision, sqrt(0.5), 1e-15);
        CHECK(p.clip_angle == (k == GEO_PROJ_ORTHOGRAPHIC ? 90 + 1e-6 : 0));
        CHECK(!p.has_extent);
    }
    /* Robinson at the pole: y = 1.5934… × scale upwards, from d3-geo-projection's table. */
    geo_projection_init(&p, GEO_PROJ_ROBINSON);
    p.scale = 1;
    p.translate[0] = p.translate[1] = 0;
    double x, y;
    CHECK(geo_project_point(&p, 0, 90, &x, &y));
    CHECK_NEAR(y, -1.593415793900743, 1e-15);
    /* Mercator's pole is at infinity. */
    geo_projection_init(&p, GEO_PROJ_MERCATOR);
    CHECK(!geo_project_point(&p, 0, -90, &x, &y));
}

static void test_rotation_wraps(void)
{
    geo_projection p;
    geo_projection_init(&p, GEO_PROJ_EQUIRECTANGULAR);
    p.rotate[0] = 200; /* λ + 200° wraps into [−180°, 180°] */
    double x1, y1, x2, y2;
    CHECK(geo_project_point(&p, 0, 10, &x1, &y1));
    CHECK_NEAR(x1, 480 + 152.63 * (-160 * M_PI / 180), 1e-9);
    p.rotate[0] = -160;
    CHECK(geo_project_point(&p, 0, 10, &x2, &y2));
    CHECK_NEAR(x1, x2, 1e-9);
    CHECK_NEAR(y1, y2, 1e-9);
}

static void test_resample_precision(void)
{
    geo_projection p;
    geo_projection_init(&p, GEO_PROJ_ORTHOGRAPHIC);
    const geo_point leg[2] = {{-60, 10}, {60, 40}};
    geo_path path = {0};
    geo_path_line(&p, leg, 2, &path);
    size_t resampled = path.point_count;
    CHECK_MSG(resampled > 10, "%zu points with precision √0.5", resampled);
    geo_path_clear(&path);
    p.precision = 0; /* resampling off: the two endpoints only */
    geo_path_line(&p, leg, 2, &path);
    CHECK_INT_EQ(path.point_count, 2);
    geo_path_free(&path);
}

static void bounds(const geo_path *path, double b[4])
{
    b[0] = b[1] = INFINITY;
    b[2] = b[3] = -INFINITY;
    for (size_t s = 0; s < path->subpath_count; s++) {
        const geo_subpath *sp = &path->subpaths[s];
        for (size_t i = sp->first; i < sp->first + sp->count; i++) {
            b[0] = fmin(b[0], path->points[i].x);
            b[1] = fmin(b[1], path->points[i].y);
            b[2] = fmax(b[2], path->points[i].x);
            b[3] = fmax(b[3], path->points[i].y);
        }
    }
}

static void test_mercator_square(void)
{
    /* d3's Mercator clips to a square of ±π·scale around the projected rotation origin. */
    geo_projection p;
    geo_projection_init(&p, GEO_PROJ_MERCATOR);
    p.rotate[0] = 30;
    geo_path path = {0};
    geo_path_sphere(&p, &path);
    double b[4], k = M_PI * p.scale;
    bounds(&path, b);
    CHECK_NEAR(b[0], 480 - k, 1e-9);
    CHECK_NEAR(b[2], 480 + k, 1e-9);
    CHECK_NEAR(b[1], 250 - k, 1e-9);
    CHECK_NEAR(b[3], 250 + k, 1e-9);
    /* With a clip extent, x is the narrower of both and y is the extent's. */
    p.has_extent = true;
    p.extent[0] = -100, p.extent[1] = 100, p.extent[2] = 2000, p.extent[3] = 300;
    geo_path_clear(&path);
    geo_path_sphere(&p, &path);
    bounds(&path, b);
    CHECK_NEAR(b[0], 480 - k, 1e-9);
    CHECK_NEAR(b[2], 480 + k, 1e-9);
    CHECK_NEAR(b[1], 100, 1e-9);
    CHECK_NEAR(b[3], 300, 1e-9);
    geo_path_free(&path);
}

static void test_clip_extent(void)
{
    /* A zoomed globe clipped to the poster frame: nothing leaves the frame, and the sphere
     * fills it entirely (the frame's own rectangle, walked around its corners). */
    geo_projection p;
    poster_globe(&p, 10, 50);
    p.scale *= 3;
    p.has_extent = true;
    p.extent[0] = FRAME_X0, p.extent[1] = FRAME_Y0;
    p.extent[2] = FRAME_X0 + FRAME_W, p.extent[3] = FRAME_Y0 + FRAME_H;
    geo_path path = {0};
    geo_path_sphere(&p, &path);
    CHECK_NEAR(fabs(geo_path_area(&path)), FRAME_W * FRAME_H, 1e-6);
    geo_path_clear(&path);
    geo_path_graticule10(&p, &path);
    CHECK(path.subpath_count > 0);
    double b[4];
    bounds(&path, b);
    CHECK(b[0] >= FRAME_X0 - 1e-9 && b[1] >= FRAME_Y0 - 1e-9);
    CHECK(b[2] <= FRAME_X0 + FRAME_W + 1e-9 && b[3] <= FRAME_Y0 + FRAME_H + 1e-9);
    geo_path_free(&path);
}

static void test_polygon_clipped_at_antimeridian(void)
{
    /* A square straddling 180° on an unrotated flat map is cut in two closed pieces whose
     * areas add up to the whole (it would span the map if the cut were missing). */
    geo_point ring[5] = {{170, -10}, {170, 10}, {-170, 10}, {-170, -10}, {170, -10}}; /* clockwise, as d3 wants */
    geo_ring r = {ring, 5};
    geo_polygon poly = {&r, 1};
    geo_feature f = {.polygons = &poly, .polygon_count = 1};
    geo_projection p;
    geo_projection_init(&p, GEO_PROJ_EQUIRECTANGULAR);
    p.precision = 0;
    geo_path path = {0};
    geo_path_feature(&p, &f, &path);
    CHECK_INT_EQ(path.subpath_count, 2);
    double k = p.scale * M_PI / 180, area = fabs(geo_path_area(&path));
    /* 20° × 20°, a little more where the edges at ±10° follow their great circles poleward. */
    CHECK_MSG(area > 20 * k * 20 * k && area < 20 * k * 21 * k, "area %g", area);
    /* One piece at each side of the map, none across it. */
    double b[4];
    bounds(&path, b);
    CHECK_NEAR(b[0], 480 - 180 * k, 1e-9);
    CHECK_NEAR(b[2], 480 + 180 * k, 1e-9);
    for (size_t i = 0; i < path.subpath_count; i++) {
        geo_path one = {.points = path.points, .point_count = path.point_count, .subpaths = &path.subpaths[i],
                        .subpath_count = 1};
        bounds(&one, b);
        CHECK_MSG(b[2] - b[0] < 11 * k, "piece %zu spans %g pt", i, b[2] - b[0]);
    }
    geo_path_free(&path);
}

/* The engine keeps no state between calls: two threads projecting at once get exactly what
 * each gets alone. */
typedef struct {
    geo_projection proj;
    const geo_feature *feature;
    geo_path path;
} thread_job;

static void *project_many(void *arg)
{
    thread_job *job = arg;
    for (int i = 0; i < 200; i++) {
        geo_path_clear(&job->path);
        geo_path_feature(&job->proj, job->feature, &job->path);
        geo_path_graticule10(&job->proj, &job->path);
    }
    return NULL;
}

/* Simplification counts the area a point adds as the projection draws it: the globe shrinks an
 * area by cos c (c from its centre), never counted below GEO_SIMPLIFY_GLOBE_FLOOR, so a bend
 * worth 1.5 thresholds is kept at the centre and left out near the rim; one worth more than
 * 1 / floor thresholds stays anywhere; a flat map magnifies, so it keeps the bend at the rim's
 * place. Each line: three points, the middle one the bend (its ends are always kept). */
static size_t points_kept(geo_projection_kind kind, double lon, double lat, float bend)
{
    geo_projection p;
    if (kind == GEO_PROJ_ORTHOGRAPHIC) {
        poster_globe(&p, 0, 0);
    } else {
        geo_projection_init(&p, kind);
        geo_projection_fit_sphere(&p, FRAME_X0, FRAME_Y0, FRAME_X0 + FRAME_W, FRAME_Y0 + FRAME_H);
    }
    geo_projection_simplify(&p, 300 / 72.0, 0);
    geo_point pts[3] = {{lon - 0.5, lat}, {lon, lat + 0.01}, {lon + 0.5, lat}};
    float importance[3] = {GEO_KEEP, (float)(bend * p.simplify), GEO_KEEP};
    geo_line line = {pts, 3, importance};
    geo_mesh mesh = {&line, 1};
    geo_path out = {0};
    p.precision = 0; /* no resampling: the points streamed are the points drawn */
    geo_path_mesh(&p, &mesh, &out);
    size_t n = out.point_count;
    geo_path_free(&out);
    return n;
}

static void test_simplify_counts_foreshortening(void)
{
    CHECK_INT_EQ(points_kept(GEO_PROJ_ORTHOGRAPHIC, 0, 0, 1.5f), 3);  /* the centre: cos c = 1 */
    CHECK_INT_EQ(points_kept(GEO_PROJ_ORTHOGRAPHIC, 0, 0, 0.9f), 2);  /* under the threshold */
    CHECK_INT_EQ(points_kept(GEO_PROJ_ORTHOGRAPHIC, 70, 0, 1.5f), 2); /* cos 70° = 0.34 */
    CHECK_INT_EQ(points_kept(GEO_PROJ_ORTHOGRAPHIC, 0, 70, 3.5f), 3); /* 3.5 · 0.34 ≥ 1 */
    CHECK_INT_EQ(points_kept(GEO_PROJ_ORTHOGRAPHIC, 85, 0, 3.5f), 2); /* 3.5 · floor < 1 */
    CHECK_INT_EQ(points_kept(GEO_PROJ_ORTHOGRAPHIC, 85, 0, 1.01f / GEO_SIMPLIFY_GLOBE_FLOOR), 3);
    CHECK_INT_EQ(points_kept(GEO_PROJ_EQUIRECTANGULAR, 0, 70, 0.9f), 3); /* 1 / cos 70° magnifies */
    CHECK_INT_EQ(points_kept(GEO_PROJ_EQUIRECTANGULAR, 0, 0, 0.9f), 2);
}

static void test_threads(void)
{
    geo_point ring[6] = {{-20, 40}, {30, 60}, {100, 20}, {60, -30}, {-10, -10}, {-20, 40}};
    geo_ring r = {ring, 6};
    geo_polygon poly = {&r, 1};
    geo_feature f = {.polygons = &poly, .polygon_count = 1};
    thread_job jobs[2] = {{.feature = &f}, {.feature = &f}};
    geo_projection_init(&jobs[0].proj, GEO_PROJ_ORTHOGRAPHIC);
    jobs[0].proj.rotate[0] = -80;
    geo_projection_init(&jobs[1].proj, GEO_PROJ_ROBINSON);
    jobs[1].proj.rotate[0] = 170;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, project_many, &jobs[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        geo_path alone = {0};
        geo_path_feature(&jobs[i].proj, &f, &alone);
        geo_path_graticule10(&jobs[i].proj, &alone);
        CHECK_INT_EQ(alone.point_count, jobs[i].path.point_count);
        CHECK_INT_EQ(alone.subpath_count, jobs[i].path.subpath_count);
        CHECK(alone.point_count == jobs[i].path.point_count &&
              !memcmp(alone.points, jobs[i].path.points, alone.point_count * sizeof *alone.points));
        geo_path_free(&alone);
        geo_path_free(&jobs[i].path);
    }
}

int main(void)
{
    RUN(test_fitted_globe_radius);
    RUN(test_leg_ends_on_horizon);
    RUN(test_point_visible);
    RUN(test_defaults);
    RUN(test_rotation_wraps);
    RUN(test_resample_precision);
    RUN(test_mercator_square);
    RUN(test_clip_extent);
    RUN(test_polygon_clipped_at_antimeridian);
    RUN(test_simplify_counts_foreshortening);
    RUN(test_threads);
    return TEST_EXIT();
}
