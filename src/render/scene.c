/* scene.c — projecting a map onto a page (MAPS-AND-PRINT.md §3) once per poster, and the
 * process-wide cache of the Natural Earth geography each detail level needs. */
#include "render/render_internal.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define TITLE_PT 28.0
#define SUBTITLE_PT 16.0
#define TITLE_BOX_W 400.0
#define TEXT_INSET 20.0

/* ---- geography cache: each detail is loaded on first use and kept, shared read-only ---- */
static pthread_mutex_t g_geo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool loaded;
    geo_layer land, countries;
} g_geo[3];

bool render_geography(geo_detail detail, const geo_layer **land, const geo_layer **countries,
                      awm_error *err)
{
    bool ok = true;
    pthread_mutex_lock(&g_geo_lock);
    if (!g_geo[detail].loaded) {
        geo_layer l = {0}, c = {0};
        ok = geo_layer_load_world(detail, "land", &l, err) &&
             geo_layer_load_world(detail, "countries", &c, err);
        if (ok) {
            g_geo[detail].land = l;
            g_geo[detail].countries = c;
            g_geo[detail].loaded = true;
        } else {
            geo_layer_free(&l);
            geo_layer_free(&c);
        }
    }
    pthread_mutex_unlock(&g_geo_lock);
    if (ok) {
        *land = &g_geo[detail].land;
        *countries = &g_geo[detail].countries;
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

static void shape_free(render_shape *sh)
{
    geo_path_free(&sh->path);
    free(sh->boxes);
    sh->boxes = NULL;
}

/* Largest size ≤ nominal at which `text` fits `width` on one line: shrink, never cut. */
static double fit_size(const char *family, PangoWeight weight, double nominal, double width,
                       const char *text)
{
    if (!text || !*text)
        return nominal;
    double w = render_text_width(family, weight, nominal, text);
    return w > width ? nominal * width / w * 0.999 : nominal;
}

bool render_scene_build(render_scene *s, const map_definition *map, const map_print_spec *spec,
                        double device_px_per_pt, geo_detail detail, awm_error *err)
{
    memset(s, 0, sizeof *s);
    s->map = map;
    s->detail = detail;
    map_page_boxes_for(spec, &s->boxes);

    const geo_layer *land, *countries;
    if (!render_geography(detail, &land, &countries, err))
        return false;

    geo_projection *p = &s->proj;
    geo_projection_init(p, map->projection);
    if (map->projection == GEO_PROJ_ORTHOGRAPHIC) {
        memcpy(p->rotate, map->rotation, sizeof p->rotate);
    } else {
        /* Flat maps only recentre on a meridian; φ and γ belong to the globe. */
        p->rotate[0] = map->rotation[0];
        p->rotate[1] = p->rotate[2] = 0;
    }
    const map_box *f = &s->boxes.frame;
    geo_projection_fit_sphere(p, f->x, f->y, f->x + f->w, f->y + f->h);
    p->scale *= map->zoom;
    p->translate[0] += map->pan[0];
    p->translate[1] += map->pan[1];
    /* Half a device pixel keeps curves smooth at any resolution. */
    p->precision = 0.5 / device_px_per_pt;
    p->has_extent = true;
    p->extent[0] = s->boxes.total.x;
    p->extent[1] = s->boxes.total.y;
    p->extent[2] = s->boxes.total.x + s->boxes.total.w;
    p->extent[3] = s->boxes.total.y + s->boxes.total.h;

    geo_path_sphere(p, &s->sphere.path);
    shape_finish(&s->sphere);
    geo_path_graticule10(p, &s->graticule.path);
    shape_finish(&s->graticule);
    geo_path_layer(p, land, &s->land.path);
    shape_finish(&s->land);
    geo_path_layer(p, countries, &s->borders.path);
    shape_finish(&s->borders);

    s->person_count = map->person_count;
    s->people = awm_xcalloc(map->person_count ? map->person_count : 1, sizeof *s->people);
    for (size_t i = 0; i < map->person_count; i++) {
        const map_person *mp = &map->people[i];
        render_person *rp = &s->people[i];
        rp->color = mp->color;
        geo_point *lonlat = awm_xcalloc(mp->location_count ? mp->location_count : 1, sizeof *lonlat);
        rp->markers = awm_xcalloc(mp->location_count ? mp->location_count : 1, sizeof *rp->markers);
        for (size_t k = 0; k < mp->location_count; k++) {
            double lon = mp->locations[k].longitude, lat = mp->locations[k].latitude;
            lonlat[k] = (geo_point){lon, lat};
            double x, y;
            if (geo_point_visible(p, lon, lat) && geo_project_point(p, lon, lat, &x, &y))
                rp->markers[rp->marker_count++] = (geo_point){x, y};
        }
        if (mp->location_count >= 2)
            geo_path_line(p, lonlat, mp->location_count, &rp->legs.path);
        shape_finish(&rp->legs);
        free(lonlat);
    }

    double text_w = TITLE_BOX_W - 2 * TEXT_INSET;
    s->title_pt = fit_size(RENDER_SERIF, PANGO_WEIGHT_BOLD, TITLE_PT, text_w, map->title);
    s->subtitle_pt = fit_size(RENDER_SANS, PANGO_WEIGHT_NORMAL, SUBTITLE_PT, text_w, map->subtitle);

    s->qr = QRcode_encodeString(map->qr_url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!s->qr) {
        awm_error_set(err, "qrUrl cannot be encoded as a QR code (%zu bytes)", strlen(map->qr_url));
        render_scene_free(s);
        return false;
    }
    return true;
}

void render_scene_free(render_scene *s)
{
    shape_free(&s->sphere);
    shape_free(&s->graticule);
    shape_free(&s->land);
    shape_free(&s->borders);
    for (size_t i = 0; i < s->person_count; i++) {
        shape_free(&s->people[i].legs);
        free(s->people[i].markers);
    }
    free(s->people);
    s->people = NULL;
    if (s->qr)
        QRcode_free(s->qr);
    s->qr = NULL;
}
