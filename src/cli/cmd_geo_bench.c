/* cmd_geo_bench.c — `awm geo-bench [--runs N] [--detail 10m|50m|110m]`: times loading the world
 * geography and projecting + clipping it for two poster views (an orthographic globe and a
 * Robinson world map, both fitted to the 18×24 in frame). Prints medians as text and as one
 * JSON line. Run it on a release build (bench/geo/run.sh). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "geo/geo.h"
#include "util/util.h"

/* The 18×24 in poster's map frame: 1188 × 1620 pt at (63, 63). */
#define FRAME_X 63.0
#define FRAME_Y 63.0
#define FRAME_W 1188.0
#define FRAME_H 1620.0

static void usage(FILE *out)
{
    fprintf(out, "usage: awm geo-bench [--runs N] [--detail 10m|50m|110m]\n\n"
                 "Time loading the world land and countries, and projecting + clipping them for an\n"
                 "orthographic globe (rotate [-20, -30, 0]) and a Robinson map, both fitted to the\n"
                 "18x24 frame. Prints the median of N runs (default 10) as text and one JSON line.\n");
}

static bool load(geo_detail detail, geo_layer *land, geo_layer *countries, awm_error *err)
{
    if (!geo_layer_load_world(detail, "land", land, err)) return false;
    if (!geo_layer_load_world(detail, "countries", countries, err)) {
        geo_layer_free(land);
        return false;
    }
    return true;
}

/* Projects both layers into `path` (reused between runs); returns seconds. */
static double project(const geo_projection *p, const geo_layer *land, const geo_layer *countries, geo_path *path)
{
    double t0 = awm_now_seconds();
    geo_path_clear(path);
    geo_path_layer(p, land, path);
    geo_path_layer(p, countries, path);
    return awm_now_seconds() - t0;
}

int cmd_geo_bench(int argc, char **argv)
{
    long runs = 10;
    geo_detail detail = GEO_DETAIL_10M;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            char *end;
            runs = strtol(argv[++i], &end, 10);
            if (*end || runs < 1 || runs > 10000) {
                fprintf(stderr, "awm geo-bench: --runs wants a number from 1 to 10000, not '%s'\n", argv[i]);
                return AWM_EXIT_INVALID;
            }
        } else if (!strcmp(argv[i], "--detail") && i + 1 < argc) {
            const char *d = argv[++i];
            if (!strcmp(d, "10m")) detail = GEO_DETAIL_10M;
            else if (!strcmp(d, "50m")) detail = GEO_DETAIL_50M;
            else if (!strcmp(d, "110m")) detail = GEO_DETAIL_110M;
            else {
                fprintf(stderr, "awm geo-bench: --detail is 10m, 50m or 110m, not '%s'\n", d);
                return AWM_EXIT_INVALID;
            }
        } else {
            fprintf(stderr, "awm geo-bench: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
    }

    geo_projection ortho, robinson;
    geo_projection_init(&ortho, GEO_PROJ_ORTHOGRAPHIC);
    ortho.rotate[0] = -20;
    ortho.rotate[1] = -30;
    geo_projection_fit_sphere(&ortho, FRAME_X, FRAME_Y, FRAME_X + FRAME_W, FRAME_Y + FRAME_H);
    geo_projection_init(&robinson, GEO_PROJ_ROBINSON);
    geo_projection_fit_sphere(&robinson, FRAME_X, FRAME_Y, FRAME_X + FRAME_W, FRAME_Y + FRAME_H);

    double *t_load = calloc((size_t)runs, sizeof *t_load), *t_ortho = calloc((size_t)runs, sizeof *t_ortho),
           *t_rob = calloc((size_t)runs, sizeof *t_rob), *t_world = calloc((size_t)runs, sizeof *t_world);
    geo_path path = {0};
    size_t input_points = 0, ortho_points = 0, robinson_points = 0;
    int status = AWM_EXIT_OK;
    for (long r = 0; r < runs; r++) {
        geo_layer land, countries;
        awm_error err = {0};
        double t0 = awm_now_seconds();
        if (!load(detail, &land, &countries, &err)) {
            fprintf(stderr, "awm geo-bench: %s\n", err.msg);
            status = AWM_EXIT_FAILURE;
            break;
        }
        t_load[r] = awm_now_seconds() - t0;
        if (r == 0) {
            const geo_layer *layers[2] = {&land, &countries};
            for (int l = 0; l < 2; l++)
                for (size_t f = 0; f < layers[l]->feature_count; f++)
                    for (size_t p = 0; p < layers[l]->features[f].polygon_count; p++)
                        for (size_t k = 0; k < layers[l]->features[f].polygons[p].ring_count; k++)
                            input_points += layers[l]->features[f].polygons[p].rings[k].count;
        }
        /* What a poster loads (land and the cached borders mesh); it also writes the borders'
         * cache, so install.sh --warm leaves every cache a render reads. */
        geo_world world;
        t0 = awm_now_seconds();
        if (!geo_world_load(detail, &world, &err)) {
            fprintf(stderr, "awm geo-bench: %s\n", err.msg);
            geo_layer_free(&land);
            geo_layer_free(&countries);
            status = AWM_EXIT_FAILURE;
            break;
        }
        t_world[r] = awm_now_seconds() - t0;
        geo_world_free(&world);
        t_ortho[r] = project(&ortho, &land, &countries, &path);
        ortho_points = path.point_count;
        t_rob[r] = project(&robinson, &land, &countries, &path);
        robinson_points = path.point_count;
        geo_layer_free(&land);
        geo_layer_free(&countries);
    }
    if (status == AWM_EXIT_OK) {
        int n = (int)runs;
        double load_ms = awm_median(t_load, (size_t)n) * 1e3, ortho_ms = awm_median(t_ortho, (size_t)n) * 1e3,
               rob_ms = awm_median(t_rob, (size_t)n) * 1e3, world_ms = awm_median(t_world, (size_t)n) * 1e3;
        printf("geo-bench: %s land + countries, %zu input points, median of %d runs\n",
               geo_detail_name(detail), input_points, n);
        printf("  load                      %9.2f ms\n", load_ms);
        printf("  poster's world (land, borders) %4.2f ms\n", world_ms);
        printf("  orthographic project+clip %9.2f ms  (%zu output points)\n", ortho_ms, ortho_points);
        printf("  robinson project+clip     %9.2f ms  (%zu output points)\n", rob_ms, robinson_points);
        json_t *j = json_pack("{s:s, s:s, s:i, s:I, s:f, s:f, s:f, s:f, s:I, s:I}", "bench", "geo", "detail",
                              geo_detail_name(detail), "runs", n, "inputPoints", (json_int_t)input_points,
                              "loadMs", load_ms, "worldMs", world_ms, "orthoMs", ortho_ms, "robinsonMs", rob_ms, "orthoPoints",
                              (json_int_t)ortho_points, "robinsonPoints", (json_int_t)robinson_points);
        char *line = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
        puts(line);
        free(line);
        json_decref(j);
    }
    geo_path_free(&path);
    free(t_load);
    free(t_ortho);
    free(t_rob);
    free(t_world);
    return status;
}
