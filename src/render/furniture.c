/* furniture.c — the poster's furniture and place labels (MAPS-AND-PRINT.md §4 layers 8–12):
 * the legend panel, the title box, the QR group and the attribution, laid out once per poster
 * and drawn the same way on every band; place labels set around their markers without
 * covering each other, the markers or the furniture; and the warnings for text the title box
 * or the legend had to shorten.
 *
 * Every piece of furniture lies inside the safe area, its stroke included: a stroked rectangle
 * is drawn half a stroke inside its box. */
#include "render/render_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* layer 10: the title box */
#define TITLE_BOX_W 400.0
#define TITLE_PAD 20.0
#define TITLE_PT 28.0
#define TITLE_MIN_PT 16.0
#define SUBTITLE_PT 16.0
#define SUBTITLE_MIN_PT 10.0
#define TITLE_FIRST_BASELINE 44.0
#define TITLE_LINE_STEP 36.0
#define SUBTITLE_BELOW 32.0 /* subtitle baseline below the last title line's */
#define TITLE_BOX_H1 100.0  /* one title line; two take one line step more */
#define SHRINK_STEP 0.5     /* pt: sizes tried between the nominal size and the floor */

/* layer 9: the legend */
#define LEGEND_PAD 12.0
#define LEGEND_ROW 18.0
#define LEGEND_ROWS 7 /* 126 pt of rows at most */
#define LEGEND_COL_MAX 260.0
#define LEGEND_COL_GAP 12.0
#define LEGEND_SAMPLE 24.0
#define LEGEND_GAP 8.0 /* sample → name → years */
#define LEGEND_ABOVE_SAFE_BOTTOM 30.0

/* layer 11: the QR group */
#define QR_SIDE 100.0
#define QR_PAD 10.0
#define QR_CAPTION_BELOW 14.0
#define QR_CAPTION "Scan to visit AlwaysMap"
#define FURNITURE_GAP 12.0 /* between the legend and the QR group */

/* layer 8: labels */
#define LABEL_PT 8.0
#define LABEL_HALO 2.0
#define LABEL_FROM_MARKER 6.0  /* marker centre → label box, left/right/above/below */
#define LABEL_DIAGONAL 5.0     /* marker centre → label box corner, diagonals */
#define MARKER_REACH 4.75      /* radius 4 + half the 1.5 pt stroke */
#define SAME_PLACE_DEG 0.01    /* visits of one name in one cell this size (~1 km) are one place */

#define ELLIPSIS "\u2026"

/* ---- text ---------------------------------------------------------------------------- */

static void set_rgb(cairo_t *cr, uint32_t rgb, double alpha)
{
    cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
                          (rgb & 0xff) / 255.0, alpha);
}

static cairo_t *scratch_context(void)
{
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(surf);
    cairo_surface_destroy(surf);
    return cr;
}

static PangoLayout *text_layout(cairo_t *cr, const render_text *t)
{
    PangoLayout *l = render_text_layout(cr, t->family, t->weight, t->size_pt, t->text);
    if (t->width > 0) {
        pango_layout_set_width(l, (int)lround(t->width * PANGO_SCALE));
        pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
        pango_layout_set_height(l, -(t->max_lines > 0 ? t->max_lines : 1));
    }
    return l;
}

/* Lines a text takes at `size_pt` wrapped to `width`, with no limit and no ellipsis. */
static int natural_lines(cairo_t *cr, const char *family, PangoWeight weight, double size_pt,
                         double width, const char *text)
{
    render_text_lock();
    PangoLayout *l = render_text_layout(cr, family, weight, size_pt, text);
    pango_layout_set_width(l, (int)lround(width * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    int n = pango_layout_get_line_count(l);
    g_object_unref(l);
    render_text_unlock();
    return n;
}

/* Fill a text's line count, "…" flag and box from a layout of it. */
static void text_measure(cairo_t *cr, render_text *t)
{
    render_text_lock();
    PangoLayout *l = text_layout(cr, t);
    t->lines = pango_layout_get_line_count(l);
    /* Shortened: the last line ends in pango's "…" run. */
    t->shortened = false;
    if (t->lines) {
        PangoLayoutLine *last = pango_layout_get_line_readonly(l, t->lines - 1);
        for (GSList *run = last->runs; run; run = run->next) {
            const PangoGlyphItem *gi = run->data;
            if (!run->next && (gi->item->analysis.flags & PANGO_ANALYSIS_FLAG_IS_ELLIPSIS))
                t->shortened = true;
        }
    }
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < t->lines; i++) {
        PangoRectangle r;
        pango_layout_line_get_extents(pango_layout_get_line_readonly(l, i), NULL, &r);
        double w = (double)r.width / PANGO_SCALE, base = t->baseline + i * t->line_step;
        double left = t->x - t->align * w + (double)r.x / PANGO_SCALE;
        x0 = fmin(x0, left);
        x1 = fmax(x1, left + w);
        y0 = fmin(y0, base + (double)r.y / PANGO_SCALE);
        y1 = fmax(y1, base + (double)(r.y + r.height) / PANGO_SCALE);
    }
    g_object_unref(l);
    render_text_unlock();
    if (!t->lines)
        x0 = x1 = t->x, y0 = y1 = t->baseline;
    t->box = (render_bbox){x0 - t->halo, y0 - t->halo, x1 + t->halo, y1 + t->halo};
}

/* A text's settings, not measured yet (set width / max_lines first, then text_measure). */
static void text_init(render_text *t, const char *family, PangoWeight weight, double size_pt, uint32_t rgb,
                      const char *text, double x, double baseline, double align)
{
    memset(t, 0, sizeof *t);
    t->family = family;
    t->weight = weight;
    t->size_pt = size_pt;
    t->rgb = rgb;
    t->text = awm_strdup(text ? text : "");
    t->x = x;
    t->baseline = baseline;
    t->align = align;
    t->line_step = TITLE_LINE_STEP;
}

/* A one-line text, measured. */
static void text_set(cairo_t *cr, render_text *t, const char *family, PangoWeight weight, double size_pt,
                     uint32_t rgb, const char *text, double x, double baseline, double align)
{
    text_init(t, family, weight, size_pt, rgb, text, x, baseline, align);
    text_measure(cr, t);
}

static double text_width(const render_text *t)
{
    return t->box.x1 - t->box.x0 - 2 * t->halo;
}

static void text_free(render_text *t)
{
    free(t->text);
    t->text = NULL;
}

static void text_draw(cairo_t *cr, const render_text *t)
{
    if (!t->text || !t->text[0])
        return;
    render_text_lock();
    PangoLayout *l = text_layout(cr, t);
    int n = pango_layout_get_line_count(l);
    for (int i = 0; i < n; i++) {
        PangoLayoutLine *line = pango_layout_get_line_readonly(l, i);
        PangoRectangle r;
        pango_layout_line_get_extents(line, NULL, &r);
        double x = t->x - t->align * (double)r.width / PANGO_SCALE, y = t->baseline + i * t->line_step;
        if (cairo_surface_get_type(cairo_get_target(cr)) == CAIRO_SURFACE_TYPE_IMAGE) {
            /* cairo's image backend puts glyphs on whole device rows (it rounds the origin).
             * A baseline that falls on a half row would round up in one band and down in
             * another, by a last-bit difference: put it on its row here, the same in every band. */
            double dx = x, dy = y;
            cairo_user_to_device(cr, &dx, &dy);
            dy = round(dy);
            cairo_device_to_user(cr, &dx, &dy);
            y = dy;
        }
        if (t->halo > 0) {
            cairo_move_to(cr, x, y);
            pango_cairo_layout_line_path(cr, line);
            cairo_set_line_width(cr, 2 * t->halo);
            cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_stroke(cr);
        }
        cairo_move_to(cr, x, y);
        set_rgb(cr, t->rgb, 1);
        render_show_layout_line(cr, line); /* emoji as 300 ppi images in a PDF */
    }
    g_object_unref(l);
    render_text_unlock();
}

/* ---- layer 10: the title box --------------------------------------------------------- */

/* The title: one line at 28 pt if it fits, else two; then smaller, down to 16 pt; then two
 * lines at 16 pt ending in "…". The subtitle: one line at 16 pt, smaller down to 10, then "…". */
static void layout_title(cairo_t *cr, const map_definition *map, const map_box *safe, render_furniture *f)
{
    double x = safe->x, y = safe->y, text_w = TITLE_BOX_W - 2 * TITLE_PAD;
    double size = TITLE_PT;
    while (size > TITLE_MIN_PT &&
           natural_lines(cr, RENDER_SERIF, PANGO_WEIGHT_BOLD, size, text_w, map->title) > 2)
        size = fmax(TITLE_MIN_PT, size - SHRINK_STEP);
    text_init(&f->title, RENDER_SERIF, PANGO_WEIGHT_BOLD, size, 0x1a1a1a, map->title, x + TITLE_PAD,
              y + TITLE_FIRST_BASELINE, 0);
    f->title.width = text_w;
    f->title.max_lines = 2;
    text_measure(cr, &f->title);
    double last_baseline = f->title.baseline + (f->title.lines > 1 ? TITLE_LINE_STEP : 0);

    const char *sub = map->subtitle ? map->subtitle : "";
    size = SUBTITLE_PT;
    while (size > SUBTITLE_MIN_PT && render_text_width(RENDER_SANS, PANGO_WEIGHT_NORMAL, size, sub) > text_w)
        size = fmax(SUBTITLE_MIN_PT, size - SHRINK_STEP);
    text_init(&f->subtitle, RENDER_SANS, PANGO_WEIGHT_NORMAL, size, 0x4a4a4a, sub, x + TITLE_PAD,
              last_baseline + SUBTITLE_BELOW, 0);
    f->subtitle.width = text_w;
    f->subtitle.max_lines = 1;
    text_measure(cr, &f->subtitle);

    double h = TITLE_BOX_H1 + (f->title.lines > 1 ? TITLE_LINE_STEP : 0);
    f->title_box = (render_bbox){x, y, x + TITLE_BOX_W, y + h};
}

/* ---- layer 9: the legend ------------------------------------------------------------- */

/* "1987–2024", "1987" when every dated location has that year, "" when none is dated. */
static void year_span(const map_person *p, char out[32])
{
    int lo = 0, hi = 0;
    for (size_t k = 0; k < p->location_count; k++) {
        int y = map_location_year(&p->locations[k]);
        if (!y)
            continue;
        if (!lo || y < lo)
            lo = y;
        if (y > hi)
            hi = y;
    }
    if (!lo)
        out[0] = '\0';
    else if (lo == hi)
        snprintf(out, 32, "%d", lo);
    else
        snprintf(out, 32, "%d\u2013%d", lo, hi);
}

/* One person's row (name ellipsized so the row stays within a column), its top-left at (x, top). */
static void legend_row(cairo_t *cr, const map_person *p, double x, double top, render_legend_row *row)
{
    memset(row, 0, sizeof *row);
    char years[32];
    year_span(p, years);
    row->color = p->color;
    row->sample_x = x;
    row->mid_y = top + LEGEND_ROW / 2;
    double baseline = row->mid_y + 4.2; /* DM Sans cap height ≈ 0.7 em: the name centred on the row */
    double name_x = x + LEGEND_SAMPLE + LEGEND_GAP;
    text_set(cr, &row->years, RENDER_SANS, PANGO_WEIGHT_NORMAL, 10, 0x666666, years, 0, baseline, 0);
    double years_w = years[0] ? text_width(&row->years) + LEGEND_GAP : 0;
    text_set(cr, &row->name, RENDER_SANS, PANGO_WEIGHT_MEDIUM, 12, 0x1a1a1a, p->name, name_x, baseline, 0);
    double max_name = LEGEND_COL_MAX - (LEGEND_SAMPLE + LEGEND_GAP) - years_w;
    if (text_width(&row->name) > max_name) {
        row->name.width = max_name;
        row->name.max_lines = 1;
        text_measure(cr, &row->name);
    }
    row->years.x = name_x + text_width(&row->name) + LEGEND_GAP;
    text_measure(cr, &row->years);
}

static double row_width(const render_legend_row *r)
{
    double right = r->years.text[0] ? r->years.box.x1 : r->name.box.x1;
    return right - r->sample_x;
}

static void legend_free_rows(render_furniture *f)
{
    for (size_t i = 0; i < f->row_count; i++) {
        text_free(&f->rows[i].name);
        text_free(&f->rows[i].years);
    }
    free(f->rows);
    f->rows = NULL;
    f->row_count = 0;
}

/* Lay the legend out in `cols` columns; returns its panel width. */
static double legend_try(cairo_t *cr, const map_definition *map, const map_box *safe, int cols,
                         render_furniture *f)
{
    size_t n = map->person_count, slots = (size_t)cols * LEGEND_ROWS;
    size_t shown = n <= slots ? n : slots - 1; /* the last slot says "+ N more" */
    size_t per_col = n < LEGEND_ROWS ? n : LEGEND_ROWS;
    double h = 2 * LEGEND_PAD + LEGEND_ROW * (double)per_col;
    double bottom = safe->y + safe->h - LEGEND_ABOVE_SAFE_BOTTOM, top = bottom - h;
    f->rows = awm_xcalloc(shown + 1, sizeof *f->rows);
    f->row_count = 0;
    double x = safe->x + LEGEND_PAD, col_w = 0;
    for (size_t i = 0; i <= shown && i < n; i++) {
        size_t row_in_col = i % LEGEND_ROWS;
        if (i && row_in_col == 0) {
            x += col_w + LEGEND_COL_GAP;
            col_w = 0;
        }
        render_legend_row *row = &f->rows[f->row_count++];
        double row_top = top + LEGEND_PAD + LEGEND_ROW * (double)row_in_col;
        if (i == shown) { /* only reached when some do not fit */
            char more[64];
            snprintf(more, sizeof more, "+ %zu more", n - shown);
            memset(row, 0, sizeof *row);
            row->more = true;
            row->sample_x = x;
            row->mid_y = row_top + LEGEND_ROW / 2;
            text_set(cr, &row->name, RENDER_SANS, PANGO_WEIGHT_MEDIUM, 12, 0x1a1a1a, more, x, row->mid_y + 4.2, 0);
            text_set(cr, &row->years, RENDER_SANS, PANGO_WEIGHT_NORMAL, 10, 0x666666, "", x, row->mid_y + 4.2, 0);
        } else {
            legend_row(cr, &map->people[i], x, row_top, row);
        }
        col_w = fmax(col_w, row_width(row));
    }
    double right = x + col_w + LEGEND_PAD;
    f->legend_box = (render_bbox){safe->x, top, right, bottom};
    return right - safe->x;
}

/* As few columns as hold everyone; where the page is too narrow for that (the QR group sits
 * beside the legend), as many as fit, the last row summing up the rest. */
static void layout_legend(cairo_t *cr, const map_definition *map, const map_box *safe, render_furniture *f)
{
    f->has_legend = map->legend && map->person_count > 0;
    if (!f->has_legend)
        return;
    double avail = safe->w - (f->has_qr ? (f->qr_group.x1 - f->qr_group.x0) + FURNITURE_GAP : 0);
    int cols = 1;
    while (map->person_count > (size_t)cols * LEGEND_ROWS) {
        double wider = legend_try(cr, map, safe, cols + 1, f);
        legend_free_rows(f);
        if (wider > avail)
            break;
        cols++;
    }
    legend_try(cr, map, safe, cols, f);
}

/* ---- layers 11 and 12: QR group, attribution ------------------------------------------ */

static void layout_qr(cairo_t *cr, const map_definition *map, const map_box *safe, render_furniture *f)
{
    f->has_qr = map->qr_url != NULL;
    if (!f->has_qr)
        return;
    text_set(cr, &f->caption, RENDER_SANS, PANGO_WEIGHT_NORMAL, 10, 0x666666, QR_CAPTION, 0, 0, 0.5);
    double caption_w = text_width(&f->caption), descent = f->caption.box.y1 - f->caption.baseline;
    double w = 2 * QR_PAD + fmax(QR_SIDE, caption_w);
    double h = 2 * QR_PAD + QR_SIDE + QR_CAPTION_BELOW + descent;
    double x1 = safe->x + safe->w, y1 = safe->y + safe->h;
    f->qr_group = (render_bbox){x1 - w, y1 - h, x1, y1};
    double cx = x1 - w / 2;
    f->qr_code = (render_bbox){cx - QR_SIDE / 2, y1 - h + QR_PAD, cx + QR_SIDE / 2, y1 - h + QR_PAD + QR_SIDE};
    f->caption.x = cx;
    f->caption.baseline = f->qr_code.y1 + QR_CAPTION_BELOW;
    text_measure(cr, &f->caption);
}

void render_furniture_layout(const map_definition *map, const map_print_spec *spec, render_furniture *f)
{
    memset(f, 0, sizeof *f);
    map_page_boxes boxes;
    map_page_boxes_for(spec, &boxes);
    const map_box *safe = &boxes.safe;
    cairo_t *cr = scratch_context();
    layout_title(cr, map, safe, f);
    layout_qr(cr, map, safe, f);
    layout_legend(cr, map, safe, f);
    /* Under the legend when there is one: its panel ends 30 pt above safe.bottom. */
    text_set(cr, &f->attribution, RENDER_SANS, PANGO_WEIGHT_NORMAL, 9, 0x999999,
             "Map data \u00a9 Natural Earth", safe->x + 20, safe->y + safe->h - 20, 0);
    cairo_destroy(cr);
}

void render_furniture_free(render_furniture *f)
{
    text_free(&f->title);
    text_free(&f->subtitle);
    text_free(&f->caption);
    text_free(&f->attribution);
    legend_free_rows(f);
}

size_t render_furniture_boxes(const render_furniture *f, render_bbox out[4])
{
    size_t n = 0;
    out[n++] = f->title_box;
    if (f->has_legend)
        out[n++] = f->legend_box;
    if (f->has_qr)
        out[n++] = f->qr_group;
    out[n++] = f->attribution.box;
    return n;
}

/* ---- drawing ---------------------------------------------------------------------------- */

static bool touches(const render_bbox *clip, const render_bbox *b)
{
    return !clip || (b->x0 <= clip->x1 && clip->x0 <= b->x1 && b->y0 <= clip->y1 && clip->y0 <= b->y1);
}

static void rounded_rect(cairo_t *cr, const render_bbox *b, double inset, double r)
{
    double x = b->x0 + inset, y = b->y0 + inset, w = b->x1 - b->x0 - 2 * inset, h = b->y1 - b->y0 - 2 * inset;
    cairo_new_sub_path(cr);
    cairo_arc(cr, x + w - r, y + r, r, -M_PI / 2, 0);
    cairo_arc(cr, x + w - r, y + h - r, r, 0, M_PI / 2);
    cairo_arc(cr, x + r, y + h - r, r, M_PI / 2, M_PI);
    cairo_arc(cr, x + r, y + r, r, M_PI, 3 * M_PI / 2);
    cairo_close_path(cr);
}

/* A white panel at 0.95 with a #333333 stroke drawn inside `b`. */
static void panel(cairo_t *cr, const render_bbox *b, double stroke)
{
    rounded_rect(cr, b, stroke / 2, 4);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.95);
    cairo_fill_preserve(cr);
    set_rgb(cr, 0x333333, 1);
    cairo_set_line_width(cr, stroke);
    cairo_stroke(cr);
}

static void draw_legend(const render_furniture *f, cairo_t *cr, const render_bbox *clip)
{
    if (!f->has_legend || !touches(clip, &f->legend_box))
        return;
    panel(cr, &f->legend_box, 0.5);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    for (size_t i = 0; i < f->row_count; i++) {
        const render_legend_row *r = &f->rows[i];
        if (!r->more) { /* like a path: white 4 pt at 0.7 under the colour at 2.5 pt */
            cairo_move_to(cr, r->sample_x, r->mid_y);
            cairo_line_to(cr, r->sample_x + LEGEND_SAMPLE, r->mid_y);
            cairo_set_line_width(cr, 4);
            cairo_set_source_rgba(cr, 1, 1, 1, 0.7);
            cairo_stroke_preserve(cr);
            cairo_set_line_width(cr, 2.5);
            set_rgb(cr, r->color, 1);
            cairo_stroke(cr);
        }
        text_draw(cr, &r->name);
        text_draw(cr, &r->years);
    }
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
}

static void draw_title(const render_furniture *f, cairo_t *cr, const render_bbox *clip)
{
    if (!touches(clip, &f->title_box))
        return;
    panel(cr, &f->title_box, 1);
    text_draw(cr, &f->title);
    text_draw(cr, &f->subtitle);
}

static void draw_qr(const render_scene *s, cairo_t *cr, const render_bbox *clip)
{
    const render_furniture *f = &s->furniture;
    if (!f->has_qr || !s->qr || !touches(clip, &f->qr_group))
        return;
    rounded_rect(cr, &f->qr_group, 0, 4);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill(cr);
    /* One module of quiet zone on each side, inside the 100 pt square. */
    int n = s->qr->width;
    double module = QR_SIDE / (n + 2), x = f->qr_code.x0, y = f->qr_code.y0;
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++)
            if (s->qr->data[r * n + c] & 1)
                cairo_rectangle(cr, x + (c + 1) * module, y + (r + 1) * module, module, module);
    /* One fill of the union: no anti-aliased seams between neighbouring modules. */
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_fill(cr);
    text_draw(cr, &f->caption);
}

void render_furniture_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip)
{
    const render_furniture *f = &s->furniture;
    draw_legend(f, cr, clip);
    draw_title(f, cr, clip);
    draw_qr(s, cr, clip);
    if (touches(clip, &f->attribution.box))
        text_draw(cr, &f->attribution);
}

/* ---- layer 8: place labels -------------------------------------------------------------- */

static bool overlaps(const render_bbox *a, const render_bbox *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* (x, y) within `margin` of the area (or inside it). */
static bool inside_area(const map_box *a, double x, double y, double margin)
{
    return x >= a->x - margin && x <= a->x + a->w + margin && y >= a->y - margin && y <= a->y + a->h + margin;
}

typedef struct {
    const char *name;
    double x, y;      /* the first visit's marker */
    size_t order;     /* the first visit's place in map order */
    int years[3];     /* distinct years of the visits, ascending; more are shown as a span */
    int year_count;
    int first_year, last_year;
} place;

static void place_add_year(place *p, int y)
{
    if (!y)
        return;
    if (!p->first_year || y < p->first_year)
        p->first_year = y;
    if (y > p->last_year)
        p->last_year = y;
    if (p->year_count > 3)
        return; /* already too many to list: the span is enough */
    for (int i = 0; i < p->year_count; i++)
        if (p->years[i] == y)
            return;
    if (p->year_count < 3) {
        int i = p->year_count++;
        while (i > 0 && p->years[i - 1] > y) {
            p->years[i] = p->years[i - 1];
            i--;
        }
        p->years[i] = y;
    } else {
        p->year_count = 4; /* too many to list */
    }
}

/* "Lisbon", "Lisbon 1987", "Lisbon 1987, 2003", or "Lisbon 1987–2024" past three visits. */
static void place_text(const place *p, bool years, awm_buf *b)
{
    awm_buf_printf(b, "%s", p->name);
    if (!years || !p->first_year)
        return;
    if (p->year_count > 3) {
        awm_buf_printf(b, " %d\u2013%d", p->first_year, p->last_year);
        return;
    }
    for (int i = 0; i < p->year_count; i++)
        awm_buf_printf(b, "%s%d", i ? ", " : " ", p->years[i]);
}

/* The eight positions, in the spec's order: right, left, above, below, then the diagonals
 * above-right, above-left, below-right, below-left. (w, h: the label's box.) */
static void candidate(int k, double mx, double my, double w, double h, double *x0, double *y0)
{
    const double d = LABEL_FROM_MARKER, g = LABEL_DIAGONAL;
    switch (k) {
    case 0: *x0 = mx + d, *y0 = my - h / 2; break;
    case 1: *x0 = mx - d - w, *y0 = my - h / 2; break;
    case 2: *x0 = mx - w / 2, *y0 = my - d - h; break;
    case 3: *x0 = mx - w / 2, *y0 = my + d; break;
    case 4: *x0 = mx + g, *y0 = my - g - h; break;
    case 5: *x0 = mx - g - w, *y0 = my - g - h; break;
    case 6: *x0 = mx + g, *y0 = my + g; break;
    default: *x0 = mx - g - w, *y0 = my + g; break;
    }
}

/* A visible named location, for grouping visits into places. */
typedef struct {
    const char *name;
    long cell_lon, cell_lat; /* SAME_PLACE_DEG cells */
    size_t order;            /* map order: person by person, location by location */
    geo_point marker;
    int year;
} visit;

static int visit_cmp(const void *a, const void *b)
{
    const visit *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    if (r)
        return r;
    if (x->cell_lon != y->cell_lon)
        return x->cell_lon < y->cell_lon ? -1 : 1;
    if (x->cell_lat != y->cell_lat)
        return x->cell_lat < y->cell_lat ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int place_order_cmp(const void *a, const void *b)
{
    const place *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The places of the map in map order (of their first visit): visits with the same name in the
 * same SAME_PLACE_DEG cell of longitude and latitude are one place. Sorting keeps this
 * O(n log n) for the largest map (100 000 locations). */
static place *collect_places(const render_scene *s, size_t *count)
{
    const map_definition *map = s->map;
    size_t total = 0, n = 0;
    for (size_t i = 0; i < map->person_count; i++)
        total += map->people[i].location_count;
    visit *visits = awm_xcalloc(total ? total : 1, sizeof *visits);
    for (size_t i = 0, order = 0; i < map->person_count; i++) {
        const map_person *mp = &map->people[i];
        const render_person *rp = &s->people[i];
        for (size_t m = 0; m < rp->marker_count; m++) {
            const map_location *loc = &mp->locations[rp->marker_location[m]];
            if (!loc->name || !loc->name[0])
                continue;
            visits[n++] = (visit){loc->name, lround(floor(loc->longitude / SAME_PLACE_DEG)),
                                  lround(floor(loc->latitude / SAME_PLACE_DEG)), order++, rp->markers[m],
                                  map_location_year(loc)};
        }
    }
    qsort(visits, n, sizeof *visits, visit_cmp);
    place *places = awm_xcalloc(n ? n : 1, sizeof *places);
    size_t pc = 0;
    for (size_t k = 0; k < n; k++) {
        const visit *v = &visits[k];
        const visit *u = k ? &visits[k - 1] : NULL;
        if (!u || strcmp(u->name, v->name) || u->cell_lon != v->cell_lon || u->cell_lat != v->cell_lat)
            places[pc++] = (place){.name = v->name, .x = v->marker.x, .y = v->marker.y, .order = v->order};
        place_add_year(&places[pc - 1], v->year); /* the first of a group is its first visit */
    }
    qsort(places, pc, sizeof *places, place_order_cmp);
    free(visits);
    *count = pc;
    return places;
}

/* What labels must not cover, bucketed on a grid over the page so that a candidate is tested
 * against the few obstacles near it, not against every marker of a large map. */
#define GRID_CELL 32.0
typedef struct {
    render_bbox *boxes;
    size_t count, cap;
    size_t *next; /* per cell entry: the next entry of the same cell, SIZE_MAX at the end */
    size_t *entry_box;
    size_t entries, entries_cap;
    size_t *head; /* per cell: its first entry */
    long cols, rows;
    double x0, y0;
} obstacle_grid;

static void grid_cell_range(const obstacle_grid *g, const render_bbox *b, long *c0, long *r0, long *c1, long *r1)
{
    *c0 = lround(floor((b->x0 - g->x0) / GRID_CELL));
    *c1 = lround(floor((b->x1 - g->x0) / GRID_CELL));
    *r0 = lround(floor((b->y0 - g->y0) / GRID_CELL));
    *r1 = lround(floor((b->y1 - g->y0) / GRID_CELL));
    *c0 = *c0 < 0 ? 0 : *c0 >= g->cols ? g->cols - 1 : *c0;
    *c1 = *c1 < 0 ? 0 : *c1 >= g->cols ? g->cols - 1 : *c1;
    *r0 = *r0 < 0 ? 0 : *r0 >= g->rows ? g->rows - 1 : *r0;
    *r1 = *r1 < 0 ? 0 : *r1 >= g->rows ? g->rows - 1 : *r1;
}

static void grid_add(obstacle_grid *g, render_bbox b)
{
    if (g->count == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 256;
        g->boxes = awm_xrealloc(g->boxes, g->cap * sizeof *g->boxes);
    }
    size_t id = g->count++;
    g->boxes[id] = b;
    long c0, r0, c1, r1;
    grid_cell_range(g, &b, &c0, &r0, &c1, &r1);
    for (long r = r0; r <= r1; r++)
        for (long c = c0; c <= c1; c++) {
            if (g->entries == g->entries_cap) {
                g->entries_cap = g->entries_cap ? 2 * g->entries_cap : 256;
                g->next = awm_xrealloc(g->next, g->entries_cap * sizeof *g->next);
                g->entry_box = awm_xrealloc(g->entry_box, g->entries_cap * sizeof *g->entry_box);
            }
            size_t e = g->entries++, cell = (size_t)(r * g->cols + c);
            g->entry_box[e] = id;
            g->next[e] = g->head[cell];
            g->head[cell] = e;
        }
}

static bool grid_clear(const obstacle_grid *g, const render_bbox *b)
{
    long c0, r0, c1, r1;
    grid_cell_range(g, b, &c0, &r0, &c1, &r1);
    for (long r = r0; r <= r1; r++)
        for (long c = c0; c <= c1; c++)
            for (size_t e = g->head[r * g->cols + c]; e != SIZE_MAX; e = g->next[e])
                if (overlaps(b, &g->boxes[g->entry_box[e]]))
                    return false;
    return true;
}

void render_labels_place(render_scene *s)
{
    const map_definition *map = s->map;
    s->labels = NULL;
    s->label_count = 0;
    if (map->labels == MAP_LABELS_NONE)
        return;
    size_t place_count;
    place *places = collect_places(s, &place_count);

    /* Obstacles: the furniture and every marker; each placed label joins them. */
    const map_box *safe = &s->boxes.safe;
    obstacle_grid g = {0};
    g.x0 = safe->x;
    g.y0 = safe->y;
    g.cols = lround(ceil(safe->w / GRID_CELL)) + 1;
    g.rows = lround(ceil(safe->h / GRID_CELL)) + 1;
    g.head = awm_xmalloc((size_t)(g.cols * g.rows) * sizeof *g.head);
    for (long k = 0; k < g.cols * g.rows; k++)
        g.head[k] = SIZE_MAX;
    render_bbox furniture[4];
    size_t nf = render_furniture_boxes(&s->furniture, furniture);
    for (size_t k = 0; k < nf; k++)
        grid_add(&g, furniture[k]);
    for (size_t i = 0; i < s->person_count; i++)
        for (size_t k = 0; k < s->people[i].marker_count; k++) {
            geo_point m = s->people[i].markers[k];
            if (inside_area(safe, m.x, m.y, MARKER_REACH))
                grid_add(&g, (render_bbox){m.x - MARKER_REACH, m.y - MARKER_REACH, m.x + MARKER_REACH,
                                           m.y + MARKER_REACH});
        }

    cairo_t *cr = scratch_context();
    s->labels = awm_xcalloc(place_count ? place_count : 1, sizeof *s->labels);
    for (size_t q = 0; q < place_count; q++) {
        if (!inside_area(safe, places[q].x, places[q].y, LABEL_FROM_MARKER))
            continue; /* none of its positions could be in the safe area */
        awm_buf b = {0};
        place_text(&places[q], map->labels == MAP_LABELS_PLACES_AND_YEARS, &b);
        render_text t;
        text_set(cr, &t, RENDER_SANS, PANGO_WEIGHT_MEDIUM, LABEL_PT, 0x333333, b.data, 0, 0, 0);
        awm_buf_free(&b);
        t.halo = LABEL_HALO;
        text_measure(cr, &t);
        double w = t.box.x1 - t.box.x0, h = t.box.y1 - t.box.y0;
        double dx = t.x - t.box.x0, dy = t.baseline - t.box.y0; /* text origin inside its box */
        bool placed = false;
        for (int k = 0; k < 8 && !placed; k++) {
            double x0, y0;
            candidate(k, places[q].x, places[q].y, w, h, &x0, &y0);
            render_bbox box = {x0, y0, x0 + w, y0 + h};
            if (box.x0 < safe->x || box.y0 < safe->y || box.x1 > safe->x + safe->w || box.y1 > safe->y + safe->h ||
                !grid_clear(&g, &box))
                continue;
            t.x = x0 + dx;
            t.baseline = y0 + dy;
            t.box = box;
            render_label *l = &s->labels[s->label_count++];
            l->text = t;
            l->marker_x = places[q].x;
            l->marker_y = places[q].y;
            grid_add(&g, box);
            placed = true;
        }
        if (!placed)
            text_free(&t);
    }
    cairo_destroy(cr);
    free(g.boxes);
    free(g.next);
    free(g.entry_box);
    free(g.head);
    free(places);
}

void render_labels_draw(const render_scene *s, cairo_t *cr, const render_bbox *clip)
{
    for (size_t i = 0; i < s->label_count; i++)
        if (touches(clip, &s->labels[i].text.box))
            text_draw(cr, &s->labels[i].text);
}

/* ---- warnings ------------------------------------------------------------------------- */

bool render_map_warnings(const map_definition *map, map_violations *warnings, awm_error *err)
{
    if (!render_init(err))
        return false;
    map_definition_warnings(map, warnings);
    /* The title box and a legend row are the same on every page size. */
    render_furniture f;
    memset(&f, 0, sizeof f);
    cairo_t *cr = scratch_context();
    map_box origin = {0, 0, 1000, 1000};
    layout_title(cr, map, &origin, &f);
    if (f.title.shortened)
        map_violations_add(warnings, "title", "shortened to fit the title box");
    if (f.subtitle.shortened)
        map_violations_add(warnings, "subtitle", "shortened to fit the title box");
    for (size_t i = 0; map->legend && i < map->person_count; i++) {
        render_legend_row row;
        legend_row(cr, &map->people[i], 0, 0, &row);
        if (row.name.shortened) {
            char path[64];
            snprintf(path, sizeof path, "people[%zu].name", i);
            map_violations_add(warnings, path, "shortened to fit the legend");
        }
        text_free(&row.name);
        text_free(&row.years);
    }
    cairo_destroy(cr);
    render_furniture_free(&f);
    return true;
}
