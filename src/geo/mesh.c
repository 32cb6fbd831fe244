/* mesh.c — the borders between a layer's features, each shared edge once: what topojson-client's
 * mesh(topology, countries, (a, b) => a !== b) draws, so inner borders are stroked once and
 * coastlines (edges of one feature only) are left to the land layer.
 *
 * topojson's mesh picks the arcs two different geometries reference. The decoded layer keeps
 * no arc table (nor does its cache), but it does not need one: topojson.c copies every ring's
 * points from its arcs bit for bit, so two countries sharing an arc share each of its segments
 * as the same pair of doubles, and nothing else shares a segment (arcs never overlap). A
 * segment seen in two features is a border; the feature with the lower index draws it, as
 * runs of consecutive border segments along its rings — so a border comes out as one line
 * per shared stretch, in that feature's ring order, the same for every run of the program.
 * Each line keeps its points' importance (geo.h), the same in both features since it was
 * computed on the arc they share. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

/* 16 bytes: at 10m the table has 2^20 slots, and it is the largest thing a render allocates
 * while it lives (two point pointers and a ½ load factor made it 50 MB, the poster's peak). */
typedef struct {
    const geo_point *p; /* the segment p[0]–p[1] of some ring, either direction; NULL: empty */
    uint32_t owner;     /* lowest feature index that has it */
    bool shared;        /* another feature has it too */
    bool drawn;
} segment_slot;

typedef struct {
    segment_slot *slots;
    size_t mask;
} segment_table;

static bool point_less(const geo_point *p, const geo_point *q)
{
    return p->x < q->x || (p->x == q->x && p->y < q->y);
}

static bool point_same(const geo_point *p, const geo_point *q)
{
    return p->x == q->x && p->y == q->y;
}

static uint64_t mix(uint64_t h, double d)
{
    uint64_t bits;
    d += 0.0; /* -0 and +0 hash alike, as they compare equal */
    memcpy(&bits, &d, sizeof bits);
    h ^= bits;
    h *= UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 31);
}

/* The slot of the segment p[0]–p[1] (either direction; the points differ), found or claimed. */
static segment_slot *table_slot(segment_table *t, const geo_point *p)
{
    const geo_point *a = point_less(&p[0], &p[1]) ? &p[0] : &p[1], *b = a == p ? &p[1] : &p[0];
    uint64_t h = mix(mix(mix(mix(0, a->x), a->y), b->x), b->y);
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        segment_slot *s = &t->slots[i];
        if (!s->p) {
            s->p = p;
            s->owner = UINT32_MAX;
            return s;
        }
        if ((point_same(&s->p[0], a) && point_same(&s->p[1], b)) ||
            (point_same(&s->p[0], b) && point_same(&s->p[1], a)))
            return s;
    }
}

typedef struct {
    geo_line *items;
    size_t count, cap;
} line_list;

/* A line of the ring r's points pts[0 .. n), with their importance when r has it. */
static void emit_line(line_list *l, const geo_ring *r, const geo_point *const *pts, size_t n)
{
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->items = awm_xrealloc(l->items, l->cap * sizeof *l->items);
    }
    geo_line *line = &l->items[l->count++];
    line->points = awm_xmalloc(n * sizeof *line->points);
    line->count = n;
    line->importance = r->importance ? awm_xmalloc(n * sizeof *line->importance) : NULL;
    for (size_t i = 0; i < n; i++) {
        line->points[i] = *pts[i];
        if (line->importance)
            line->importance[i] = r->importance[pts[i] - r->points];
    }
}

/* Walks one ring of feature f and emits its border runs. A ring's first point repeats at its
 * end (GeoJSON), so it has count − 1 segments; a run that crosses the ring's start is joined
 * by starting the walk at a segment that is not drawn. */
static void ring_borders(segment_table *t, const geo_ring *r, uint32_t f, line_list *out,
                         const geo_point **scratch)
{
    enum { OTHER = 0, MINE, EMPTY }; /* EMPTY: a zero-length segment, which a run passes over */
    size_t n = r->count - 1;
    unsigned char *kind = awm_xcalloc(n ? n : 1, 1);
    size_t start = n, mine_count = 0;
    for (size_t k = 0; k < n; k++) {
        const geo_point *p = &r->points[k], *q = &r->points[k + 1];
        if (point_same(p, q)) {
            kind[k] = EMPTY;
            continue;
        }
        segment_slot *s = table_slot(t, p);
        if (s->shared && s->owner == f && !s->drawn) {
            s->drawn = true;
            kind[k] = MINE;
            mine_count++;
        } else if (start == n) {
            start = k;
        }
    }
    if (mine_count && start == n) { /* the whole ring is a border (an enclave): one closed line */
        for (size_t k = 0; k <= n; k++)
            scratch[k] = &r->points[k];
        emit_line(out, r, scratch, n + 1);
    } else if (mine_count) {
        size_t len = 0;
        for (size_t i = 0; i <= n; i++) {
            size_t k = (start + i) % n;
            if (i < n && kind[k] == EMPTY)
                continue;
            if (i < n && kind[k] == MINE) {
                if (!len)
                    scratch[len++] = &r->points[k];
                scratch[len++] = &r->points[k + 1];
            } else if (len) {
                emit_line(out, r, scratch, len);
                len = 0;
            }
        }
    }
    free(kind);
}

void geo_mesh_borders(const geo_layer *layer, geo_mesh *out)
{
    memset(out, 0, sizeof *out);
    size_t segments = 0, longest = 0;
    for (size_t f = 0; f < layer->feature_count; f++)
        for (size_t p = 0; p < layer->features[f].polygon_count; p++)
            for (size_t r = 0; r < layer->features[f].polygons[p].ring_count; r++) {
                size_t n = layer->features[f].polygons[p].rings[r].count;
                segments += n;
                if (n > longest)
                    longest = n;
            }
    segment_table t = {0};
    size_t cap = 16;
    while (3 * cap < 4 * segments) /* load ≤ ¾: linear probing stays short */
        cap *= 2;
    t.slots = awm_xcalloc(cap, sizeof *t.slots);
    t.mask = cap - 1;

    /* Pass 1: which features have each segment. */
    for (size_t f = 0; f < layer->feature_count; f++) {
        const geo_feature *ft = &layer->features[f];
        for (size_t p = 0; p < ft->polygon_count; p++)
            for (size_t r = 0; r < ft->polygons[p].ring_count; r++) {
                const geo_ring *ring = &ft->polygons[p].rings[r];
                for (size_t k = 0; k + 1 < ring->count; k++) {
                    if (point_same(&ring->points[k], &ring->points[k + 1]))
                        continue;
                    segment_slot *s = table_slot(&t, &ring->points[k]);
                    if (s->owner == UINT32_MAX)
                        s->owner = (uint32_t)f;
                    else if (s->owner != f)
                        s->shared = true;
                }
            }
    }
    /* Pass 2: each owner draws its shared segments as runs. */
    line_list lines = {0};
    const geo_point **scratch = awm_xmalloc((longest + 1) * sizeof *scratch);
    for (size_t f = 0; f < layer->feature_count; f++) {
        const geo_feature *ft = &layer->features[f];
        for (size_t p = 0; p < ft->polygon_count; p++)
            for (size_t r = 0; r < ft->polygons[p].ring_count; r++)
                if (ft->polygons[p].rings[r].count >= 2)
                    ring_borders(&t, &ft->polygons[p].rings[r], (uint32_t)f, &lines, scratch);
    }
    free(scratch);
    free(t.slots);
    out->lines = lines.items;
    out->line_count = lines.count;
}

void geo_mesh_free(geo_mesh *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->line_count; i++) {
        free(m->lines[i].points);
        free(m->lines[i].importance);
    }
    free(m->lines);
    memset(m, 0, sizeof *m);
}
