/* world.c — the world a map draws at one detail level (geo.h's geo_world): the world-atlas
 * layers without their flipped slivers, and the borders between the countries, which are kept
 * in a cache file of their own since building the mesh is the largest fixed cost of a render.
 *
 * The borders cache is keyed like the layers' (topojson.c): this decoder, whose id covers the
 * sliver rule and the mesh code, and the countries JSON's size, mtime and content hash. A cache
 * that fails any check is a miss: the mesh is built again and the file rewritten.
 *
 * Layout (native byte order, every field a uint64 unless noted):
 *   header: magic, decoder id hash, source size, source mtime s, source mtime ns, source hash,
 *           lines L, points N
 *   L × point count;  N × {double x, double y};  N × float importance */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

#define BORDERS_MAGIC UINT64_C(0x3144524257414124) /* "$AWBRD1" read little-endian */
#define BORDERS_HEADER_FIELDS 8
#define BORDERS_MAX_POINTS ((uint64_t)1 << 25)

/* Quantisation in world-atlas 10m turned a few sub-kilometre slivers counter-clockwise. On
 * the sphere (d3's convention: exterior rings clockwise) such a ring means "the whole world
 * except this sliver", and d3 — so geo too — fills the entire globe for it. A land or country
 * polygon never covers more than a hemisphere, so a tiny exterior ring that is not clockwise
 * in lon/lat (a small ring contains no pole, so the planar sign is reliable) is dropped. */
static bool is_flipped_sliver(const geo_polygon *poly)
{
    if (!poly->ring_count || poly->rings[0].count < 3)
        return true;
    const geo_ring *r = &poly->rings[0];
    /* The box first, leaving as soon as it reaches a degree: nearly every ring is no sliver,
     * and this runs over the land's points on every load. */
    double x0 = r->points[0].x, x1 = x0, y0 = r->points[0].y, y1 = y0;
    for (size_t i = 1; i < r->count; i++) {
        const geo_point *a = &r->points[i];
        x0 = fmin(x0, a->x), x1 = fmax(x1, a->x), y0 = fmin(y0, a->y), y1 = fmax(y1, a->y);
        if (x1 - x0 >= 1 || y1 - y0 >= 1)
            return false;
    }
    double twice_area = 0;
    for (size_t i = 0; i < r->count; i++) {
        const geo_point *a = &r->points[i], *b = &r->points[i + 1 < r->count ? i + 1 : 0];
        twice_area += a->x * b->y - b->x * a->y;
    }
    return twice_area >= 0;
}

static size_t drop_slivers(geo_layer *layer)
{
    size_t dropped = 0;
    for (size_t f = 0; f < layer->feature_count; f++) {
        geo_feature *ft = &layer->features[f];
        size_t kept = 0;
        for (size_t k = 0; k < ft->polygon_count; k++) {
            geo_polygon *poly = &ft->polygons[k];
            if (!is_flipped_sliver(poly)) {
                ft->polygons[kept++] = *poly;
                continue;
            }
            geo_layer_polygon_free(layer, poly);
            dropped++;
        }
        ft->polygon_count = kept;
    }
    return dropped;
}

static void borders_cache_write(const char *path, const geo_cache_source *src, const geo_mesh *m)
{
    uint64_t points = 0;
    for (size_t i = 0; i < m->line_count; i++)
        points += m->lines[i].count;
    uint64_t header[BORDERS_HEADER_FIELDS];
    geo_cache_source_fields(BORDERS_MAGIC, src, header);
    header[6] = m->line_count;
    header[7] = points;
    awm_buf b = {0};
    awm_buf_append(&b, header, sizeof header);
    for (size_t i = 0; i < m->line_count; i++) {
        uint64_t n = m->lines[i].count;
        awm_buf_append(&b, &n, sizeof n);
    }
    for (size_t i = 0; i < m->line_count; i++)
        awm_buf_append(&b, m->lines[i].points, m->lines[i].count * sizeof(geo_point));
    for (size_t i = 0; i < m->line_count; i++)
        for (size_t k = 0; k < m->lines[i].count; k++) {
            float v = m->lines[i].importance ? m->lines[i].importance[k] : GEO_KEEP;
            awm_buf_append(&b, &v, sizeof v);
        }
    geo_cache_write(path, &b);
    awm_buf_free(&b);
}

/* The mesh from a cache image; false (why says what was wrong, nothing kept) unless the image
 * is a complete, consistent cache of this very source. */
static bool borders_cache_decode(const unsigned char *data, size_t len, const geo_cache_source *src, geo_mesh *out,
                                 const char **why)
{
    memset(out, 0, sizeof *out);
    uint64_t want[GEO_CACHE_SOURCE_FIELDS];
    geo_cache_source_fields(BORDERS_MAGIC, src, want);
    if ((*why = awm_cache_header_mismatch(data, len, BORDERS_HEADER_FIELDS, want, GEO_CACHE_SOURCE_FIELDS)))
        return false;
    uint64_t h[BORDERS_HEADER_FIELDS];
    memcpy(h, data, sizeof h);
    uint64_t nl = h[6], np = h[7];
    if (nl > BORDERS_MAX_POINTS || np > BORDERS_MAX_POINTS) {
        *why = "implausible counts";
        return false;
    }
    if (sizeof h + 8 * nl + (sizeof(geo_point) + sizeof(float)) * np != len) {
        *why = "wrong size";
        return false;
    }
    const unsigned char *counts = data + sizeof h, *points = counts + 8 * nl,
                        *importance = points + sizeof(geo_point) * np;
    out->lines = awm_xcalloc(nl ? nl : 1, sizeof *out->lines);
    uint64_t used = 0;
    for (uint64_t i = 0; i < nl; i++) {
        uint64_t n;
        memcpy(&n, counts + 8 * i, sizeof n);
        if (n < 2 || n > np - used)
            goto corrupt;
        geo_line *line = &out->lines[out->line_count++];
        line->count = n;
        line->points = awm_xmalloc(n * sizeof *line->points);
        line->importance = awm_xmalloc(n * sizeof *line->importance);
        memcpy(line->points, points + sizeof(geo_point) * used, n * sizeof *line->points);
        memcpy(line->importance, importance + sizeof(float) * used, n * sizeof *line->importance);
        used += n;
        if (!geo_cached_points_valid(line->points, line->importance, n))
            goto corrupt;
    }
    if (used != np)
        goto corrupt;
    return true;
corrupt:
    *why = "inconsistent contents";
    geo_mesh_free(out);
    return false;
}

/* The borders between the countries (without their slivers): from the cache when it is one of
 * this decoder and the countries JSON, else built from the countries layer and cached. On a
 * hit the countries layer is never loaded: nothing a map draws needs it but the borders. */
static bool load_borders(geo_detail detail, geo_mesh *out, awm_error *err)
{
    geo_cache_source src;
    if (!geo_world_source(detail, "countries", &src, err))
        return false;
    char name[64], path[4096];
    snprintf(name, sizeof name, "geo/borders-%s.awmgeo", geo_detail_name(detail));
    bool cached = awm_cache_path(path, sizeof path, name);
    const void *image;
    size_t len;
    const char *why = "missing";
    if (cached && awm_map_file(path, &image, &len, NULL)) {
        bool hit = borders_cache_decode(image, len, &src, out, &why);
        awm_unmap_file(image, len);
        if (hit)
            return true;
    }
    if (cached)
        awm_log(AWM_LOG_DEBUG, "GEO_CACHE_MISS", "{s:s, s:s}", "path", path, "reason", why);
    geo_layer countries;
    if (!geo_layer_load_world(detail, "countries", &countries, err))
        return false;
    drop_slivers(&countries);
    geo_mesh_borders(&countries, out);
    geo_layer_free(&countries);
    if (cached)
        borders_cache_write(path, &src, out);
    return true;
}

bool geo_world_load(geo_detail detail, geo_world *out, awm_error *err)
{
    memset(out, 0, sizeof *out);
    if (!geo_layer_load_world(detail, "land", &out->land, err))
        return false;
    out->slivers = drop_slivers(&out->land);
    if (!load_borders(detail, &out->borders, err)) {
        geo_layer_free(&out->land);
        return false;
    }
    return true;
}

void geo_world_free(geo_world *w)
{
    if (!w)
        return;
    geo_layer_free(&w->land);
    geo_mesh_free(&w->borders);
    w->slivers = 0;
}
