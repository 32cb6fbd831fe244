/* topojson.c — TopoJSON → geo_layer, coordinate-for-coordinate what topojson-client 3.1's
 * feature() returns, so the poster's land and borders are the browser version's.
 *
 * Every arc is decoded once (delta sums, then x·kx + dx exactly as topojson-client's transform)
 * into one flat table; rings are then stitched by copying from it: joining arcs drops the last
 * point of the ring so far (it is the next arc's first), negative indices ~i copy arc i
 * backwards, and rings shorter than 4 points are padded with their first point.
 * geo_layer_load_world also keeps a binary cache of the decoded layer next to the JSON (below). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "geo/geo.h"

/* x·kx + dx must round twice like JavaScript does; a fused multiply-add would round once and
 * differ from topojson-client in the last bit. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

/* Guards against hostile inputs that are small on disk but expand enormously: a ring may
 * reference a long arc many times. 2^25 points (512 MiB) is ~50× the 10m world. */
#define MAX_LAYER_POINTS ((size_t)1 << 25)
#define MAX_COLLECTION_DEPTH 32

typedef struct {
    double *xy;    /* decoded points of every arc, interleaved x, y */
    size_t *start; /* arc i is points [start[i], start[i+1]) */
    size_t count;  /* number of arcs */
} arc_table;

typedef struct {
    const arc_table *arcs;
    size_t layer_points; /* points emitted so far, checked against MAX_LAYER_POINTS */
    awm_error *err;
} decoder;

typedef struct {
    geo_polygon *items;
    size_t count, cap;
} polygon_list;

static void arc_table_free(arc_table *t)
{
    free(t->xy);
    free(t->start);
}

static bool number_pair(const json_t *a, double *x, double *y)
{
    if (!json_is_array(a) || json_array_size(a) < 2)
        return false;
    const json_t *jx = json_array_get(a, 0), *jy = json_array_get(a, 1);
    if (!json_is_number(jx) || !json_is_number(jy))
        return false;
    *x = json_number_value(jx);
    *y = json_number_value(jy);
    return true;
}

/* transform {scale: [kx, ky], translate: [dx, dy]}, or none (coordinates stored as is). */
static bool read_transform(const json_t *root, bool *quantized, double k[2], double d[2], awm_error *err)
{
    const json_t *tr = json_object_get(root, "transform");
    *quantized = tr && !json_is_null(tr);
    if (!*quantized)
        return true;
    if (!json_is_object(tr) || !number_pair(json_object_get(tr, "scale"), &k[0], &k[1]) ||
        !number_pair(json_object_get(tr, "translate"), &d[0], &d[1])) {
        awm_error_set(err, "\"transform\" must be {\"scale\": [kx, ky], \"translate\": [dx, dy]}");
        return false;
    }
    if (!isfinite(k[0]) || !isfinite(k[1]) || !isfinite(d[0]) || !isfinite(d[1])) {
        awm_error_set(err, "\"transform\" has a non-finite scale or translate");
        return false;
    }
    return true;
}

static bool decode_arcs(const json_t *root, arc_table *t, awm_error *err)
{
    memset(t, 0, sizeof *t);
    bool quantized;
    double k[2] = {1, 1}, d[2] = {0, 0};
    if (!read_transform(root, &quantized, k, d, err))
        return false;
    const json_t *arcs = json_object_get(root, "arcs");
    if (!json_is_array(arcs)) {
        awm_error_set(err, "\"arcs\" is missing or not an array");
        return false;
    }
    t->count = json_array_size(arcs);
    size_t total = 0;
    for (size_t i = 0; i < t->count; i++) {
        const json_t *arc = json_array_get(arcs, i);
        if (!json_is_array(arc) || json_array_size(arc) == 0) {
            awm_error_set(err, "arc %zu is not a non-empty array of points", i);
            return false;
        }
        total += json_array_size(arc); /* bounded by the parsed document's size */
    }
    t->start = awm_xmalloc((t->count + 1) * sizeof *t->start);
    t->xy = awm_xmalloc((total ? total : 1) * 2 * sizeof *t->xy);
    size_t w = 0;
    for (size_t i = 0; i < t->count; i++) {
        const json_t *arc = json_array_get(arcs, i);
        size_t n = json_array_size(arc);
        t->start[i] = w;
        double x0 = 0, y0 = 0; /* topojson-client restarts the delta sums at each arc's point 0 */
        for (size_t j = 0; j < n; j++, w++) {
            double px, py;
            if (!number_pair(json_array_get(arc, j), &px, &py)) {
                awm_error_set(err, "arc %zu point %zu is not a [x, y] pair of numbers", i, j);
                arc_table_free(t);
                return false;
            }
            double x, y;
            if (quantized) {
                x = (x0 += px) * k[0] + d[0];
                y = (y0 += py) * k[1] + d[1];
            } else {
                x = px;
                y = py;
            }
            if (!isfinite(x) || !isfinite(y)) {
                awm_error_set(err, "arc %zu point %zu decodes to a non-finite coordinate", i, j);
                arc_table_free(t);
                return false;
            }
            t->xy[2 * w] = x;
            t->xy[2 * w + 1] = y;
        }
    }
    t->start[t->count] = w;
    return true;
}

/* Arc reference → arc number; false (with the error set) when not an index into the table. */
static bool arc_ref(decoder *dc, const json_t *ref, size_t *arc, bool *reversed)
{
    if (!json_is_integer(ref)) {
        awm_error_set(dc->err, "arc reference is not an integer");
        return false;
    }
    json_int_t i = json_integer_value(ref);
    *reversed = i < 0;
    json_int_t a = *reversed ? ~i : i; /* ~i is exact for every json_int_t, unlike -i - 1 */
    if ((uint64_t)a >= dc->arcs->count) {
        awm_error_set(dc->err, "arc reference %" JSON_INTEGER_FORMAT " is out of range (%zu arcs)", i,
                      dc->arcs->count);
        return false;
    }
    *arc = (size_t)a;
    return true;
}

/* A ring: a list of arc references stitched end to end (topojson-client's ring()). */
static bool decode_ring(decoder *dc, const json_t *refs, geo_ring *out)
{
    if (!json_is_array(refs) || json_array_size(refs) == 0) {
        awm_error_set(dc->err, "ring is not a non-empty array of arc references");
        return false;
    }
    const arc_table *t = dc->arcs;
    size_t nrefs = json_array_size(refs), total = 0;
    for (size_t r = 0; r < nrefs; r++) {
        size_t arc;
        bool reversed;
        if (!arc_ref(dc, json_array_get(refs, r), &arc, &reversed))
            return false;
        total += t->start[arc + 1] - t->start[arc] - (r > 0); /* every arc has >= 1 point */
        if (total > MAX_LAYER_POINTS) {
            awm_error_set(dc->err, "ring has too many points (more than %zu)", MAX_LAYER_POINTS);
            return false;
        }
    }
    size_t count = total < 4 ? 4 : total;
    if (dc->layer_points + count > MAX_LAYER_POINTS) {
        awm_error_set(dc->err, "layer has too many points (more than %zu)", MAX_LAYER_POINTS);
        return false;
    }
    dc->layer_points += count;
    geo_point *p = awm_xmalloc(count * sizeof *p);
    size_t w = 0;
    for (size_t r = 0; r < nrefs; r++) {
        size_t arc = 0;
        bool reversed = false;
        arc_ref(dc, json_array_get(refs, r), &arc, &reversed); /* validated above */
        if (w > 0)
            w--; /* the previous arc's last point is this arc's first */
        const double *xy = t->xy + 2 * t->start[arc];
        size_t n = t->start[arc + 1] - t->start[arc];
        for (size_t j = 0; j < n; j++, w++) {
            size_t s = reversed ? n - 1 - j : j;
            p[w].x = xy[2 * s];
            p[w].y = xy[2 * s + 1];
        }
    }
    while (w < count) /* an arc of two points makes a degenerate ring; pad like topojson-client */
        p[w++] = p[0];
    out->points = p;
    out->count = count;
    return true;
}

static void polygon_free(geo_polygon *poly)
{
    for (size_t i = 0; i < poly->ring_count; i++)
        free(poly->rings[i].points);
    free(poly->rings);
}

/* Polygon arcs: [[ring refs], [hole refs], ...]. An empty polygon draws nothing and is dropped. */
static bool decode_polygon(decoder *dc, const json_t *rings, polygon_list *out)
{
    if (!json_is_array(rings)) {
        awm_error_set(dc->err, "polygon is not an array of rings");
        return false;
    }
    size_t n = json_array_size(rings);
    if (n == 0)
        return true;
    geo_polygon poly = {awm_xcalloc(n, sizeof(geo_ring)), 0};
    for (size_t i = 0; i < n; i++) {
        if (!decode_ring(dc, json_array_get(rings, i), &poly.rings[i])) {
            awm_error_prefix(dc->err, "ring %zu", i);
            polygon_free(&poly);
            return false;
        }
        poly.ring_count++;
    }
    if (out->count == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 4;
        out->items = awm_xrealloc(out->items, out->cap * sizeof *out->items);
    }
    out->items[out->count++] = poly;
    return true;
}

/* Appends the polygons of one geometry (flattening collections); other kinds are skipped. */
static bool decode_geometry(decoder *dc, const json_t *g, polygon_list *out, int depth)
{
    if (!json_is_object(g)) {
        awm_error_set(dc->err, "geometry is not an object");
        return false;
    }
    const json_t *jtype = json_object_get(g, "type");
    if (!jtype || json_is_null(jtype))
        return true; /* a null geometry (a feature without shape) */
    const char *type = json_string_value(jtype);
    if (!type) {
        awm_error_set(dc->err, "geometry \"type\" is not a string");
        return false;
    }
    const json_t *arcs = json_object_get(g, "arcs");
    if (!strcmp(type, "Polygon")) {
        if (!decode_polygon(dc, arcs, out)) {
            awm_error_prefix(dc->err, "Polygon");
            return false;
        }
        return true;
    }
    if (!strcmp(type, "MultiPolygon")) {
        if (!json_is_array(arcs)) {
            awm_error_set(dc->err, "MultiPolygon \"arcs\" is missing or not an array of polygons");
            return false;
        }
        for (size_t i = 0; i < json_array_size(arcs); i++) {
            if (!decode_polygon(dc, json_array_get(arcs, i), out)) {
                awm_error_prefix(dc->err, "MultiPolygon polygon %zu", i);
                return false;
            }
        }
        return true;
    }
    if (!strcmp(type, "GeometryCollection")) {
        const json_t *geoms = json_object_get(g, "geometries");
        if (!json_is_array(geoms)) {
            awm_error_set(dc->err, "GeometryCollection \"geometries\" is missing or not an array");
            return false;
        }
        if (depth >= MAX_COLLECTION_DEPTH) {
            awm_error_set(dc->err, "GeometryCollections nested more than %d deep", MAX_COLLECTION_DEPTH);
            return false;
        }
        for (size_t i = 0; i < json_array_size(geoms); i++) {
            if (!decode_geometry(dc, json_array_get(geoms, i), out, depth + 1)) {
                if (depth < 4) /* deeper, the path would crowd out the message */
                    awm_error_prefix(dc->err, "GeometryCollection member %zu", i);
                return false;
            }
        }
        return true;
    }
    if (!strcmp(type, "Point") || !strcmp(type, "MultiPoint") || !strcmp(type, "LineString") ||
        !strcmp(type, "MultiLineString"))
        return true; /* no area to draw */
    awm_error_set(dc->err, "unknown geometry type \"%s\"", type);
    return false;
}

/* TopoJSON ids are strings in world-atlas ("242") but may be numbers elsewhere. */
static char *id_string(const json_t *id)
{
    char buf[64];
    if (json_is_string(id))
        return awm_strdup(json_string_value(id));
    if (json_is_integer(id)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
        return awm_strdup(buf);
    }
    if (json_is_real(id)) {
        double v = json_real_value(id);
        if (v == trunc(v) && fabs(v) < 1e15)
            snprintf(buf, sizeof buf, "%.0f", v);
        else
            snprintf(buf, sizeof buf, "%.17g", v);
        return awm_strdup(buf);
    }
    return NULL;
}

static bool decode_feature(decoder *dc, const json_t *g, geo_feature *f)
{
    memset(f, 0, sizeof *f);
    polygon_list polys = {0};
    if (!decode_geometry(dc, g, &polys, 0)) {
        for (size_t i = 0; i < polys.count; i++)
            polygon_free(&polys.items[i]);
        free(polys.items);
        return false;
    }
    f->polygons = polys.items;
    f->polygon_count = polys.count;
    f->id = id_string(json_object_get(g, "id"));
    const char *name = json_string_value(json_object_get(json_object_get(g, "properties"), "name"));
    f->name = name ? awm_strdup(name) : NULL;
    return true;
}

/* The object becomes one feature per member when it is a GeometryCollection (topojson-client's
 * FeatureCollection), else a single feature. */
static bool decode_object(const json_t *root, const char *object_name, geo_layer *out, awm_error *err)
{
    const json_t *objects = json_object_get(root, "objects");
    if (!json_is_object(objects)) {
        awm_error_set(err, "\"objects\" is missing or not an object");
        return false;
    }
    const json_t *obj = json_object_get(objects, object_name);
    if (!obj) {
        awm_buf names = {0};
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)objects, key, v) {
            (void)v;
            awm_buf_printf(&names, "%s\"%s\"", names.len ? ", " : "", key);
        }
        awm_error_set(err, "no object \"%s\" (objects: %s)", object_name, names.len ? names.data : "none");
        awm_buf_free(&names);
        return false;
    }
    if (!json_is_object(obj)) {
        awm_error_set(err, "object \"%s\" is not an object", object_name);
        return false;
    }
    arc_table arcs;
    if (!decode_arcs(root, &arcs, err))
        return false;
    decoder dc = {&arcs, 0, err};
    const json_t *geoms = NULL;
    size_t n = 1;
    if (json_is_string(json_object_get(obj, "type")) &&
        !strcmp(json_string_value(json_object_get(obj, "type")), "GeometryCollection")) {
        geoms = json_object_get(obj, "geometries");
        if (!json_is_array(geoms)) {
            awm_error_set(err, "object \"%s\": \"geometries\" is missing or not an array", object_name);
            arc_table_free(&arcs);
            return false;
        }
        n = json_array_size(geoms);
    }
    out->features = awm_xcalloc(n ? n : 1, sizeof(geo_feature));
    out->feature_count = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *g = geoms ? json_array_get(geoms, i) : obj;
        if (!decode_feature(&dc, g, &out->features[i])) {
            if (geoms)
                awm_error_prefix(err, "object \"%s\" geometry %zu", object_name, i);
            else
                awm_error_prefix(err, "object \"%s\"", object_name);
            geo_layer_free(out);
            arc_table_free(&arcs);
            return false;
        }
        out->feature_count++;
    }
    arc_table_free(&arcs);
    return true;
}

/* Decodes a TopoJSON document held in memory; errors are prefixed with `source` (a path). */
static bool decode_text(const char *text, size_t len, const char *source, const char *object_name,
                        geo_layer *out, awm_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        awm_error_set(err, "%s: not valid JSON: %s (line %d, column %d)", source, jerr.text, jerr.line, jerr.column);
        return false;
    }
    bool ok = json_is_object(root);
    if (!ok)
        awm_error_set(err, "not a TopoJSON topology (the top level is not an object)");
    else
        ok = decode_object(root, object_name, out, err);
    json_decref(root);
    if (!ok)
        awm_error_prefix(err, "%s", source);
    return ok;
}

bool geo_layer_load(const char *topojson_path, const char *object_name, geo_layer *out, awm_error *err)
{
    memset(out, 0, sizeof *out);
    char *text;
    size_t len;
    if (!awm_read_file(topojson_path, &text, &len, err))
        return false;
    bool ok = decode_text(text, len, topojson_path, object_name, out, err);
    free(text);
    return ok;
}

/* ---- decoded-layer cache ---------------------------------------------------------------
 * Parsing the 10m JSON costs ~0.2 s a layer, nearly all of it jansson building and freeing
 * millions of nodes; the decoded layer itself is a few flat arrays. The world layers are
 * therefore cached next to their JSON as "<file>.<object>.awmgeo", valid while the JSON has the
 * same size, mtime and content hash and the format version matches. The cache is an
 * optimisation only: when it is missing, stale, corrupt or cannot be written, the JSON is used.
 *
 * Layout (native byte order, every field a uint64 unless noted):
 *   header: magic, version, source size, source mtime s, source mtime ns, source hash,
 *           features F, polygons P, rings R, points N, string bytes S
 *   F × {polygon count, id length, name length} (length UINT64_MAX = no string)
 *   P × ring count;  R × point count;  N × {double x, double y};  S bytes of ids and names */
#define CACHE_MAGIC UINT64_C(0x314f4547574d4124) /* "$AMWGEO1" read little-endian */
#define CACHE_VERSION 1                          /* bump whenever decoding or the layout changes */
#define CACHE_HEADER_FIELDS 11
#define CACHE_NO_STRING UINT64_MAX
#define CACHE_MAX_FEATURES ((uint64_t)1 << 20)
#define CACHE_MAX_STRING_BYTES ((uint64_t)1 << 26)

typedef struct {
    uint64_t size, hash;
    int64_t mtime_s, mtime_ns;
} cache_source;

/* Change detection, not security: a word-at-a-time multiply-rotate hash (~1 ms for 3 MB). */
static uint64_t content_hash(const char *data, size_t len)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ (unsigned char)data[i]) * UINT64_C(0x100000001b3);
    return h ^ (h >> 32);
}

static uint64_t string_length(const char *s)
{
    return s ? strlen(s) : CACHE_NO_STRING;
}

static void put_u64(awm_buf *b, uint64_t v)
{
    awm_buf_append(b, &v, sizeof v);
}

static void cache_write(const char *cache_path, const cache_source *src, const geo_layer *layer)
{
    uint64_t polygons = 0, rings = 0, points = 0, string_bytes = 0;
    for (size_t f = 0; f < layer->feature_count; f++) {
        const geo_feature *ft = &layer->features[f];
        string_bytes += (ft->id ? strlen(ft->id) : 0) + (ft->name ? strlen(ft->name) : 0);
        polygons += ft->polygon_count;
        for (size_t p = 0; p < ft->polygon_count; p++) {
            rings += ft->polygons[p].ring_count;
            for (size_t r = 0; r < ft->polygons[p].ring_count; r++)
                points += ft->polygons[p].rings[r].count;
        }
    }
    awm_buf b = {0};
    uint64_t header[CACHE_HEADER_FIELDS] = {CACHE_MAGIC, CACHE_VERSION, src->size, (uint64_t)src->mtime_s,
                                            (uint64_t)src->mtime_ns, src->hash, layer->feature_count,
                                            polygons, rings, points, string_bytes};
    awm_buf_append(&b, header, sizeof header);
    for (size_t f = 0; f < layer->feature_count; f++) {
        put_u64(&b, layer->features[f].polygon_count);
        put_u64(&b, string_length(layer->features[f].id));
        put_u64(&b, string_length(layer->features[f].name));
    }
    for (size_t f = 0; f < layer->feature_count; f++)
        for (size_t p = 0; p < layer->features[f].polygon_count; p++)
            put_u64(&b, layer->features[f].polygons[p].ring_count);
    for (size_t f = 0; f < layer->feature_count; f++)
        for (size_t p = 0; p < layer->features[f].polygon_count; p++)
            for (size_t r = 0; r < layer->features[f].polygons[p].ring_count; r++)
                put_u64(&b, layer->features[f].polygons[p].rings[r].count);
    for (size_t f = 0; f < layer->feature_count; f++)
        for (size_t p = 0; p < layer->features[f].polygon_count; p++)
            for (size_t r = 0; r < layer->features[f].polygons[p].ring_count; r++)
                awm_buf_append(&b, layer->features[f].polygons[p].rings[r].points,
                               layer->features[f].polygons[p].rings[r].count * sizeof(geo_point));
    for (size_t f = 0; f < layer->feature_count; f++) {
        if (layer->features[f].id)
            awm_buf_append(&b, layer->features[f].id, strlen(layer->features[f].id));
        if (layer->features[f].name)
            awm_buf_append(&b, layer->features[f].name, strlen(layer->features[f].name));
    }
    awm_atomic_file af;
    awm_error err = {{0}};
    bool ok = awm_atomic_open(&af, cache_path, &err);
    if (ok && fwrite(b.data, 1, b.len, af.fp) != b.len) {
        awm_error_set(&err, "cannot write %s", cache_path);
        awm_atomic_abort(&af);
        ok = false;
    }
    if (ok)
        ok = awm_atomic_commit(&af, &err);
    if (ok)
        awm_log(AWM_LOG_INFO, "GEO_CACHE_WRITTEN", "{s:s, s:I}", "path", cache_path, "bytes", (json_int_t)b.len);
    else /* a read-only asset directory is normal for an installed system */
        awm_log(AWM_LOG_DEBUG, "GEO_CACHE_NOT_WRITTEN", "{s:s, s:s}", "path", cache_path, "error", err.msg);
    awm_buf_free(&b);
}

/* Reads fields sequentially from the cache image; every read is bounds-checked by the size
 * check done up front, so the cursor never runs past the data. */
typedef struct {
    const unsigned char *p;
} cache_cursor;

static uint64_t take_u64(cache_cursor *c)
{
    uint64_t v;
    memcpy(&v, c->p, sizeof v);
    c->p += sizeof v;
    return v;
}

/* Builds the layer from a cache image; false (and nothing allocated) when the image is not a
 * complete, consistent cache of this very source. */
static bool cache_decode(const unsigned char *data, size_t len, const cache_source *src, geo_layer *out,
                         const char **why)
{
    memset(out, 0, sizeof *out);
    uint64_t h[CACHE_HEADER_FIELDS];
    if (len < sizeof h) {
        *why = "truncated header";
        return false;
    }
    memcpy(h, data, sizeof h);
    if (h[0] != CACHE_MAGIC || h[1] != CACHE_VERSION) {
        *why = "other format or version";
        return false;
    }
    if (h[2] != src->size || h[3] != (uint64_t)src->mtime_s || h[4] != (uint64_t)src->mtime_ns || h[5] != src->hash) {
        *why = "the JSON changed";
        return false;
    }
    uint64_t nf = h[6], np = h[7], nr = h[8], npt = h[9], ns = h[10];
    if (nf > CACHE_MAX_FEATURES || np > MAX_LAYER_POINTS || nr > MAX_LAYER_POINTS || npt > MAX_LAYER_POINTS ||
        ns > CACHE_MAX_STRING_BYTES) {
        *why = "implausible counts";
        return false;
    }
    /* The bounds above keep this sum far from overflowing. */
    uint64_t expected = sizeof h + 24 * nf + 8 * np + 8 * nr + sizeof(geo_point) * npt + ns;
    if (expected != len) {
        *why = "wrong size";
        return false;
    }
    cache_cursor features = {data + sizeof h};
    cache_cursor polys = {features.p + 24 * nf};
    cache_cursor rings = {polys.p + 8 * np};
    const unsigned char *points = rings.p + 8 * nr, *strings = points + sizeof(geo_point) * npt;
    uint64_t used_polys = 0, used_rings = 0, used_points = 0, used_strings = 0;
    out->features = awm_xcalloc(nf ? nf : 1, sizeof(geo_feature));
    for (uint64_t f = 0; f < nf; f++) {
        geo_feature *ft = &out->features[f];
        out->feature_count++;
        uint64_t fp = take_u64(&features), lens[2] = {take_u64(&features), take_u64(&features)};
        char **strs[2] = {&ft->id, &ft->name};
        for (int k = 0; k < 2; k++) {
            if (lens[k] == CACHE_NO_STRING)
                continue;
            if (lens[k] > ns - used_strings)
                goto corrupt;
            *strs[k] = awm_xmalloc(lens[k] + 1);
            memcpy(*strs[k], strings + used_strings, lens[k]);
            (*strs[k])[lens[k]] = '\0';
            used_strings += lens[k];
        }
        if (fp > np - used_polys)
            goto corrupt;
        used_polys += fp;
        ft->polygons = awm_xcalloc(fp ? fp : 1, sizeof(geo_polygon));
        for (uint64_t p = 0; p < fp; p++) {
            geo_polygon *poly = &ft->polygons[p];
            ft->polygon_count++;
            uint64_t pr = take_u64(&polys);
            if (pr == 0 || pr > nr - used_rings)
                goto corrupt;
            used_rings += pr;
            poly->rings = awm_xcalloc(pr, sizeof(geo_ring));
            for (uint64_t r = 0; r < pr; r++) {
                uint64_t n = take_u64(&rings);
                if (n < 4 || n > npt - used_points)
                    goto corrupt;
                geo_point *pts = awm_xmalloc(n * sizeof *pts);
                memcpy(pts, points + sizeof(geo_point) * used_points, n * sizeof *pts);
                used_points += n;
                poly->rings[r] = (geo_ring){pts, n};
                poly->ring_count++;
                for (uint64_t k = 0; k < n; k++)
                    if (!isfinite(pts[k].x) || !isfinite(pts[k].y))
                        goto corrupt;
            }
        }
    }
    if (used_polys != np || used_rings != nr || used_points != npt || used_strings != ns)
        goto corrupt;
    return true;
corrupt:
    *why = "inconsistent contents";
    geo_layer_free(out);
    return false;
}

const char *geo_detail_name(geo_detail detail)
{
    switch (detail) {
    case GEO_DETAIL_110M: return "110m";
    case GEO_DETAIL_50M: return "50m";
    case GEO_DETAIL_10M: return "10m";
    }
    return "unknown";
}

bool geo_layer_load_world(geo_detail detail, const char *which, geo_layer *out, awm_error *err)
{
    memset(out, 0, sizeof *out);
    if (detail != GEO_DETAIL_110M && detail != GEO_DETAIL_50M && detail != GEO_DETAIL_10M) {
        awm_error_set(err, "unknown geography detail level %d", (int)detail);
        return false;
    }
    if (!which || (strcmp(which, "land") && strcmp(which, "countries"))) {
        awm_error_set(err, "unknown world layer \"%s\" (expected \"land\" or \"countries\")", which ? which : "");
        return false;
    }
    char rel[128], path[4096], cache_path[4200];
    snprintf(rel, sizeof rel, "assets/node_modules/world-atlas/%s-%s.json", which, geo_detail_name(detail));
    if (!awm_asset_path(path, sizeof path, rel)) {
        awm_error_set(err, "asset path for %s is too long (AWM_ASSETS_DIR=%s)", rel, awm_assets_dir());
        return false;
    }
    snprintf(cache_path, sizeof cache_path, "%s.%s.awmgeo", path, which);
    struct stat st;
    if (stat(path, &st) != 0) {
        awm_error_set(err, "world geography %s is missing (%s): run scripts/setup to install the assets", path,
                      strerror(errno));
        return false;
    }
    char *text;
    size_t len;
    if (!awm_read_file(path, &text, &len, err))
        return false;
    cache_source src = {len, content_hash(text, len), (int64_t)st.st_mtim.tv_sec, (int64_t)st.st_mtim.tv_nsec};

    char *cache;
    size_t cache_len;
    const char *why = "missing";
    if (awm_read_file(cache_path, &cache, &cache_len, NULL)) {
        bool hit = cache_decode((const unsigned char *)cache, cache_len, &src, out, &why);
        free(cache);
        if (hit) {
            free(text);
            return true;
        }
    }
    awm_log(AWM_LOG_DEBUG, "GEO_CACHE_MISS", "{s:s, s:s}", "path", cache_path, "reason", why);
    bool ok = decode_text(text, len, path, which, out, err);
    free(text);
    if (ok)
        cache_write(cache_path, &src, out);
    return ok;
}

void geo_layer_free(geo_layer *layer)
{
    if (!layer)
        return;
    for (size_t i = 0; i < layer->feature_count; i++) {
        geo_feature *f = &layer->features[i];
        for (size_t j = 0; j < f->polygon_count; j++)
            polygon_free(&f->polygons[j]);
        free(f->polygons);
        free(f->id);
        free(f->name);
    }
    free(layer->features);
    layer->features = NULL;
    layer->feature_count = 0;
}
