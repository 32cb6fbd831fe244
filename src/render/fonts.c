/* fonts.c — the poster fonts and text layout.
 *
 * The @fontsource files are split by unicode range (latin, latin-ext, cyrillic, …) and carry
 * odd internal family names ("Cormorant Garamond Light" for the Bold file, "DM Sans 9pt"), so
 * each file is registered as an application font and its pattern rewritten to the family,
 * style, weight and slant it is published as. Pango will not use WOFF2 files (HarfBuzz shapes
 * from the raw file, which is compressed), so each is first unpacked to a plain TrueType file
 * in a font cache by FreeType, which reads WOFF2. Start-up then checks that every face we use
 * resolves to one of our files. Characters none of them has (CJK, Arabic, emoji) fall back,
 * through pango's per-character fallback, to the Noto face of the same kind that fontconfig
 * rules added at start-up put right after each poster family (spec §4 "Fonts"). */
#include "render/render_internal.h"

#include <cairo-ft.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_TRUETYPE_TABLES_H
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *package; /* folder under @fontsource and file-name prefix */
    const char *family;  /* the name we lay text out with */
    const char *variant; /* file-name suffix: "<weight>-<normal|italic>" */
    const char *style;
    int fc_weight, fc_slant;
} font_face;

static const font_face FACES[] = {
    {"cormorant-garamond", RENDER_SERIF, "400-normal", "Regular", FC_WEIGHT_REGULAR, FC_SLANT_ROMAN},
    {"cormorant-garamond", RENDER_SERIF, "600-normal", "SemiBold", FC_WEIGHT_SEMIBOLD, FC_SLANT_ROMAN},
    {"cormorant-garamond", RENDER_SERIF, "700-normal", "Bold", FC_WEIGHT_BOLD, FC_SLANT_ROMAN},
    {"cormorant-garamond", RENDER_SERIF, "400-italic", "Italic", FC_WEIGHT_REGULAR, FC_SLANT_ITALIC},
    {"dm-sans", RENDER_SANS, "400-normal", "Regular", FC_WEIGHT_REGULAR, FC_SLANT_ROMAN},
    {"dm-sans", RENDER_SANS, "500-normal", "Medium", FC_WEIGHT_MEDIUM, FC_SLANT_ROMAN},
    {"dm-sans", RENDER_SANS, "600-normal", "SemiBold", FC_WEIGHT_SEMIBOLD, FC_SLANT_ROMAN},
};
#define FACE_COUNT (sizeof FACES / sizeof FACES[0])

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_ok;
static awm_error g_err;
/* One font map for the process, so its font matching and fallback sorting (fontconfig, ~0.7 ms a
 * font, on pango's threads) are done once and not again by every band thread's default map.
 * Pango objects are not thread-safe, so every use of them holds g_text_lock (render_text_lock);
 * recursive, since measuring can happen inside a layout. */
static PangoFontMap *g_fontmap;
static pthread_mutex_t g_text_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void render_text_lock(void)
{
    pthread_mutex_lock(&g_text_lock);
}

void render_text_unlock(void)
{
    pthread_mutex_unlock(&g_text_lock);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Give every application-font pattern from `path` the face's published names. */
static void rename_patterns(FcConfig *config, const char *path, const font_face *face)
{
    FcFontSet *set = FcConfigGetFonts(config, FcSetApplication);
    for (int i = 0; set && i < set->nfont; i++) {
        FcPattern *pat = set->fonts[i];
        FcChar8 *file = NULL;
        if (FcPatternGetString(pat, FC_FILE, 0, &file) != FcResultMatch || strcmp((char *)file, path))
            continue;
        char fullname[128];
        snprintf(fullname, sizeof fullname, "%s %s", face->family, face->style);
        FcPatternDel(pat, FC_FAMILY);
        FcPatternDel(pat, FC_FAMILYLANG);
        FcPatternDel(pat, FC_STYLE);
        FcPatternDel(pat, FC_STYLELANG);
        FcPatternDel(pat, FC_FULLNAME);
        FcPatternDel(pat, FC_FULLNAMELANG);
        FcPatternDel(pat, FC_WEIGHT);
        FcPatternDel(pat, FC_SLANT);
        FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)face->family);
        FcPatternAddString(pat, FC_FAMILYLANG, (const FcChar8 *)"en");
        FcPatternAddString(pat, FC_STYLE, (const FcChar8 *)face->style);
        FcPatternAddString(pat, FC_STYLELANG, (const FcChar8 *)"en");
        FcPatternAddString(pat, FC_FULLNAME, (const FcChar8 *)fullname);
        FcPatternAddString(pat, FC_FULLNAMELANG, (const FcChar8 *)"en");
        FcPatternAddInteger(pat, FC_WEIGHT, face->fc_weight);
        FcPatternAddInteger(pat, FC_SLANT, face->fc_slant);
    }
}


/* ---- WOFF2 → TrueType ---- */
typedef struct {
    FT_ULong tag, length;
    unsigned char *data;
} sfnt_table;

static int table_by_tag(const void *a, const void *b)
{
    FT_ULong x = ((const sfnt_table *)a)->tag, y = ((const sfnt_table *)b)->tag;
    return x < y ? -1 : x > y;
}

static void put32(awm_buf *b, uint32_t v)
{
    unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    awm_buf_append(b, q, 4);
}

static void put16(awm_buf *b, unsigned v)
{
    unsigned char q[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    awm_buf_append(b, q, 2);
}

static uint32_t table_checksum(const unsigned char *d, FT_ULong len)
{
    uint32_t sum = 0;
    for (FT_ULong i = 0; i < len; i += 4) {
        uint32_t word = 0;
        for (FT_ULong k = 0; k < 4; k++)
            word = word << 8 | (i + k < len ? d[i + k] : 0);
        sum += word;
    }
    return sum;
}

/* Rebuild the sfnt FreeType decoded from `src` (its tables, as a TrueType/OpenType file). */
static bool unpack_font(FT_Library ft, const char *src, const char *dst, awm_error *err)
{
    FT_Face face;
    if (FT_New_Face(ft, src, 0, &face)) {
        awm_error_set(err, "font %s cannot be read", src);
        return false;
    }
    FT_UInt count = 0;
    FT_ULong tag, len;
    while (FT_Sfnt_Table_Info(face, count, &tag, &len) == 0)
        count++;
    sfnt_table *tables = awm_xcalloc(count ? count : 1, sizeof *tables);
    bool ok = count > 0, cff = false;
    for (FT_UInt i = 0; ok && i < count; i++) {
        FT_Sfnt_Table_Info(face, i, &tables[i].tag, &tables[i].length);
        tables[i].data = awm_xmalloc(tables[i].length ? tables[i].length : 1);
        FT_ULong got = tables[i].length;
        ok = FT_Load_Sfnt_Table(face, tables[i].tag, 0, tables[i].data, &got) == 0 &&
             got == tables[i].length;
        if (tables[i].tag == FT_MAKE_TAG('C', 'F', 'F', ' '))
            cff = true;
    }
    FT_Done_Face(face);
    if (ok) {
        qsort(tables, count, sizeof *tables, table_by_tag);
        awm_buf out = {0};
        unsigned pow2 = 1, log2 = 0;
        while (pow2 * 2 <= count) {
            pow2 *= 2;
            log2++;
        }
        put32(&out, cff ? 0x4F54544Fu : 0x00010000u);
        put16(&out, count);
        put16(&out, pow2 * 16);
        put16(&out, log2);
        put16(&out, count * 16 - pow2 * 16);
        uint32_t offset = 12 + 16 * count;
        for (FT_UInt i = 0; i < count; i++) {
            put32(&out, (uint32_t)tables[i].tag);
            put32(&out, table_checksum(tables[i].data, tables[i].length));
            put32(&out, offset);
            put32(&out, (uint32_t)tables[i].length);
            offset += (uint32_t)((tables[i].length + 3) & ~3u);
        }
        for (FT_UInt i = 0; i < count; i++) {
            static const unsigned char pad[3] = {0, 0, 0};
            awm_buf_append(&out, tables[i].data, tables[i].length);
            awm_buf_append(&out, pad, (4 - tables[i].length % 4) % 4);
        }
        awm_atomic_file f;
        ok = awm_atomic_open(&f, dst, err);
        if (ok && fwrite(out.data, 1, out.len, f.fp) != out.len) {
            awm_atomic_abort(&f);
            awm_error_set(err, "cannot write %s", dst);
            ok = false;
        } else if (ok) {
            ok = awm_atomic_commit(&f, err);
        }
        awm_buf_free(&out);
    } else {
        awm_error_set(err, "font %s has unreadable tables", src);
    }
    for (FT_UInt i = 0; i < count; i++)
        free(tables[i].data);
    free(tables);
    return ok;
}

/* Where unpacked fonts are kept: $AWM_FONT_CACHE, else a per-user folder in $TMPDIR. */
static bool font_cache_dir(char *buf, size_t size, awm_error *err)
{
    const char *dir = awm_env_str("AWM_FONT_CACHE", NULL);
    int n = dir ? snprintf(buf, size, "%s", dir)
                : snprintf(buf, size, "%s/awm-fonts-%u", awm_env_str("TMPDIR", "/tmp"), (unsigned)getuid());
    if (n < 0 || (size_t)n >= size) {
        awm_error_set(err, "font cache folder (%s) is too long", dir ? "AWM_FONT_CACHE" : "TMPDIR");
        return false;
    }
    if (!awm_mkdir_p(buf, err))
        return false;
    struct stat st;
    /* A shared /tmp: only trust a folder that is ours and not writable by others. */
    if (stat(buf, &st) != 0 || st.st_uid != getuid() || (st.st_mode & 022)) {
        awm_error_set(err, "font cache %s is not a private folder of this user", buf);
        return false;
    }
    return true;
}

/* The TrueType twin of a WOFF2 file in the cache, made on first use. The name carries a hash of
 * the source's content: updated assets are unpacked again, and a fresh checkout or clone of the
 * same assets (new mtimes) finds the twins already there instead of adding more. */
static bool unpacked_path(FT_Library ft, const char *cache, const char *src, const char *name,
                          char *out, size_t size, awm_error *err)
{
    const void *data;
    size_t len;
    if (!awm_map_file(src, &data, &len, err))
        return false;
    uint64_t hash = awm_hash64(data, len);
    awm_unmap_file(data, len);
    int n = snprintf(out, size, "%s/%.*s-%016llx.ttf", cache, (int)(strlen(name) - 6), name,
                     (unsigned long long)hash);
    if (n < 0 || (size_t)n >= size) {
        awm_error_set(err, "font cache path for %s is too long", name);
        return false;
    }
    if (access(out, R_OK) == 0)
        return true;
    return unpack_font(ft, src, out, err);
}

/* Register every unicode-range file of one face; the latin one must exist. */
static bool register_face(FcConfig *config, FT_Library ft, const char *cache, const char *dir,
                          const font_face *face, awm_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        awm_error_set(err, "font folder %s is missing (run scripts/setup)", dir);
        return false;
    }
    char suffix[64], latin[160];
    snprintf(suffix, sizeof suffix, "-%s.woff2", face->variant);
    snprintf(latin, sizeof latin, "%s-latin-%s.woff2", face->package, face->variant);
    bool have_latin = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, face->package, strlen(face->package)) || !ends_with(e->d_name, suffix))
            continue;
        char src[4096], path[4096];
        int n = snprintf(src, sizeof src, "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof src) {
            closedir(d);
            awm_error_set(err, "font path %s/%s is too long", dir, e->d_name);
            return false;
        }
        if (!unpacked_path(ft, cache, src, e->d_name, path, sizeof path, err)) {
            closedir(d);
            return false;
        }
        if (!FcConfigAppFontAddFile(config, (const FcChar8 *)path)) {
            closedir(d);
            awm_error_set(err, "font %s cannot be loaded", path);
            return false;
        }
        rename_patterns(config, path, face);
        if (!strcmp(e->d_name, latin))
            have_latin = true;
    }
    closedir(d);
    if (!have_latin) {
        awm_error_set(err, "font %s %s is missing: %s/%s not found (run scripts/setup)", face->family,
                      face->style, dir, latin);
        return false;
    }
    return true;
}

/* The file fontconfig picks for "family:weight:slant" must be one of ours. */
static bool check_face(FcConfig *config, const char *cache, const font_face *face, awm_error *err)
{
    FcPattern *pat = FcPatternCreate();
    FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)face->family);
    FcPatternAddInteger(pat, FC_WEIGHT, face->fc_weight);
    FcPatternAddInteger(pat, FC_SLANT, face->fc_slant);
    FcConfigSubstitute(config, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult result;
    FcPattern *match = FcFontMatch(config, pat, &result);
    FcPatternDestroy(pat);
    bool ok = false;
    FcChar8 *file = NULL, *family = NULL;
    int weight = -1, slant = -1;
    if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch &&
        FcPatternGetString(match, FC_FAMILY, 0, &family) == FcResultMatch) {
        FcPatternGetInteger(match, FC_WEIGHT, 0, &weight);
        FcPatternGetInteger(match, FC_SLANT, 0, &slant);
        ok = !strncmp((char *)file, cache, strlen(cache)) && !strcmp((char *)family, face->family) &&
             weight == face->fc_weight && slant == face->fc_slant;
    }
    if (!ok)
        awm_error_set(err, "font %s %s resolves to %s instead of the poster font", face->family,
                      face->style, file ? (char *)file : "nothing");
    if (match)
        FcPatternDestroy(match);
    return ok;
}

/* Fallbacks of the same kind, in order, after each poster family: without them fontconfig
 * appends only "sans-serif" to a family it does not know, so a Japanese title under the serif
 * Cormorant would be set in a sans face and Arabic in DejaVu Sans. Noto Color Emoji comes
 * last so that no text character the scripts' fonts have turns into an emoji picture. */
static const char FALLBACK_RULES[] =
    "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"urn:fontconfig:fonts.dtd\">\n<fontconfig>\n"
    "<match target=\"pattern\"><test name=\"family\"><string>" RENDER_SERIF "</string></test>"
    "<edit name=\"family\" mode=\"append\" binding=\"strong\">"
    "<string>Noto Serif CJK JP</string><string>Noto Naskh Arabic</string>"
    "<string>Noto Serif Devanagari</string><string>Noto Serif Thai</string>"
    "<string>Noto Serif Hebrew</string><string>Noto Color Emoji</string><string>serif</string>"
    "</edit></match>\n"
    "<match target=\"pattern\"><test name=\"family\"><string>" RENDER_SANS "</string></test>"
    "<edit name=\"family\" mode=\"append\" binding=\"strong\">"
    "<string>Noto Sans CJK JP</string><string>Noto Sans Arabic</string>"
    "<string>Noto Sans Devanagari</string><string>Noto Sans Thai</string>"
    "<string>Noto Sans Hebrew</string><string>Noto Color Emoji</string><string>sans-serif</string>"
    "</edit></match>\n"
    "</fontconfig>\n";

static void init_once(void)
{
    FcConfig *config = FcConfigGetCurrent();
    if (!config) {
        awm_error_set(&g_err, "fontconfig cannot be initialised");
        return;
    }
    char cache[4096];
    if (!font_cache_dir(cache, sizeof cache, &g_err))
        return;
    FT_Library ft;
    if (FT_Init_FreeType(&ft)) {
        awm_error_set(&g_err, "FreeType cannot be initialised");
        return;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < FACE_COUNT; i++) {
        char rel[256], dir[4096];
        snprintf(rel, sizeof rel, "assets/node_modules/@fontsource/%s/files", FACES[i].package);
        if (!awm_asset_path(dir, sizeof dir, rel)) {
            awm_error_set(&g_err, "assets path too long");
            ok = false;
        } else {
            ok = register_face(config, ft, cache, dir, &FACES[i], &g_err);
        }
    }
    FT_Done_FreeType(ft);
    if (ok && !FcConfigParseAndLoadFromMemory(config, (const FcChar8 *)FALLBACK_RULES, FcTrue)) {
        awm_error_set(&g_err, "the font fallback rules cannot be loaded");
        ok = false;
    }
    for (size_t i = 0; ok && i < FACE_COUNT; i++)
        ok = check_face(config, cache, &FACES[i], &g_err);
    if (ok)
        g_fontmap = pango_cairo_font_map_new();
    g_ok = ok;
}

bool render_init(awm_error *err)
{
    pthread_once(&g_once, init_once);
    if (!g_ok) {
        awm_error_set(err, "%s", g_err.msg);
        return false;
    }
    /* The sRGB profile every file carries: if it cannot be made, say so at start-up. */
    const unsigned char *icc;
    size_t icc_len;
    return render_srgb_profile(&icc, &icc_len, err);
}

PangoLayout *render_text_layout(cairo_t *cr, const char *family, PangoWeight weight, double size_pt,
                                const char *text)
{
    /* pango_cairo_create_layout, on the process's font map (the caller holds the text lock). */
    pthread_once(&g_once, init_once);
    PangoContext *ctx = g_fontmap ? pango_font_map_create_context(g_fontmap) : pango_cairo_create_context(cr);
    pango_cairo_update_context(cr, ctx);
    PangoLayout *layout = pango_layout_new(ctx);
    g_object_unref(ctx);
    ctx = pango_layout_get_context(layout);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    pango_context_set_round_glyph_positions(ctx, FALSE);
    pango_layout_context_changed(layout);

    PangoFontDescription *desc = pango_font_description_new();
    pango_font_description_set_family(desc, family);
    pango_font_description_set_weight(desc, weight);
    pango_font_description_set_absolute_size(desc, size_pt * PANGO_SCALE);
    pango_layout_set_font_description(layout, desc);
    pango_font_description_free(desc);
    pango_layout_set_single_paragraph_mode(layout, TRUE);
    pango_layout_set_text(layout, text, -1);
    return layout;
}

/* Measure on a scratch context with no transform: text metrics are unhinted, so the same
 * everywhere. */
static cairo_t *scratch_context(void)
{
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(surf);
    cairo_surface_destroy(surf);
    return cr;
}

double render_text_width(const char *family, PangoWeight weight, double size_pt, const char *text)
{
    render_text_lock();
    cairo_t *cr = scratch_context();
    PangoLayout *layout = render_text_layout(cr, family, weight, size_pt, text);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    g_object_unref(layout);
    cairo_destroy(cr);
    render_text_unlock();
    return (double)logical.width / PANGO_SCALE;
}

int render_text_unknown_glyphs(const char *family, PangoWeight weight, double size_pt, const char *text)
{
    render_text_lock();
    cairo_t *cr = scratch_context();
    PangoLayout *layout = render_text_layout(cr, family, weight, size_pt, text);
    int unknown = pango_layout_get_unknown_glyphs_count(layout);
    g_object_unref(layout);
    cairo_destroy(cr);
    render_text_unlock();
    return unknown;
}

/* ---- colour and bitmap glyphs in vector output ---- */
static bool run_is_color(const PangoLayoutRun *run)
{
    cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(run->item->analysis.font));
    if (!sf || cairo_scaled_font_get_type(sf) != CAIRO_FONT_TYPE_FT)
        return false;
    FT_Face face = cairo_ft_scaled_font_lock_face(sf);
    /* Colour glyphs (emoji) and bitmap-only fonts: both reach a PDF as pictures. */
    bool color = face && (FT_HAS_COLOR(face) || !FT_IS_SCALABLE(face));
    cairo_ft_scaled_font_unlock_face(sf);
    return color;
}

/* The images painted on a vector surface live as long as it: cairo 1.16 leaks the snapshot it
 * takes of a source surface destroyed before the PDF is finished (768 bytes per image). */
typedef struct {
    cairo_surface_t **images;
    size_t count;
} kept_images;

static const cairo_user_data_key_t KEPT_KEY;

static void free_kept(void *data)
{
    kept_images *k = data;
    for (size_t i = 0; i < k->count; i++)
        cairo_surface_destroy(k->images[i]);
    free(k->images);
    free(k);
}

static void keep_until_finished(cairo_surface_t *target, cairo_surface_t *img)
{
    kept_images *k = cairo_surface_get_user_data(target, &KEPT_KEY);
    if (!k) {
        k = awm_xcalloc(1, sizeof *k);
        if (cairo_surface_set_user_data(target, &KEPT_KEY, k, free_kept) != CAIRO_STATUS_SUCCESS) {
            free(k);
            cairo_surface_destroy(img);
            return;
        }
    }
    k->images = awm_xrealloc(k->images, (k->count + 1) * sizeof *k->images);
    k->images[k->count++] = img;
}

/* Paint one run as an image of `px_per_unit` pixels per user unit, its origin on the baseline
 * at (x, baseline). The glyphs are drawn with a font scaled to the image, so the colour
 * bitmaps are rasterised at that resolution rather than enlarged from 72 ppi ones. */
static void show_run_as_image(cairo_t *cr, const PangoLayoutRun *run, double x, double baseline,
                              double px_per_unit)
{
    PangoRectangle ink;
    pango_glyph_string_extents(run->glyphs, run->item->analysis.font, &ink, NULL);
    if (ink.width <= 0 || ink.height <= 0)
        return;
    double k = px_per_unit;
    int ix0 = (int)floor((double)ink.x / PANGO_SCALE * k) - 1;
    int iy0 = (int)floor((double)ink.y / PANGO_SCALE * k) - 1;
    int ix1 = (int)ceil((double)(ink.x + ink.width) / PANGO_SCALE * k) + 1;
    int iy1 = (int)ceil((double)(ink.y + ink.height) / PANGO_SCALE * k) + 1;
    if (ix1 - ix0 > 16384 || iy1 - iy0 > 16384)
        return;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, ix1 - ix0, iy1 - iy0);
    cairo_t *icr = cairo_create(img);
    cairo_translate(icr, -ix0, -iy0);
    cairo_scale(icr, k, k);
    cairo_scaled_font_t *sf = pango_cairo_font_get_scaled_font(PANGO_CAIRO_FONT(run->item->analysis.font));
    cairo_matrix_t font_matrix;
    cairo_scaled_font_get_font_matrix(sf, &font_matrix);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_scaled_font_get_font_options(sf, fo);
    cairo_set_font_face(icr, cairo_scaled_font_get_font_face(sf));
    cairo_set_font_matrix(icr, &font_matrix);
    cairo_set_font_options(icr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_source(icr, cairo_get_source(cr));

    const PangoGlyphString *gs = run->glyphs;
    cairo_glyph_t *glyphs = awm_xcalloc(gs->num_glyphs ? (size_t)gs->num_glyphs : 1, sizeof *glyphs);
    int n = 0, pos = 0;
    for (int i = 0; i < gs->num_glyphs; i++) {
        const PangoGlyphInfo *gi = &gs->glyphs[i];
        if (gi->glyph != PANGO_GLYPH_EMPTY && !(gi->glyph & PANGO_GLYPH_UNKNOWN_FLAG)) {
            glyphs[n].index = gi->glyph;
            glyphs[n].x = (double)(pos + gi->geometry.x_offset) / PANGO_SCALE;
            glyphs[n].y = (double)gi->geometry.y_offset / PANGO_SCALE;
            n++;
        }
        pos += gi->geometry.width;
    }
    cairo_show_glyphs(icr, glyphs, n);
    free(glyphs);
    cairo_destroy(icr);
    cairo_surface_flush(img);

    cairo_save(cr);
    cairo_translate(cr, x, baseline);
    cairo_scale(cr, 1 / k, 1 / k);
    cairo_set_source_surface(cr, img, ix0, iy0);
    cairo_paint(cr);
    cairo_restore(cr);
    keep_until_finished(cairo_get_target(cr), img);
}

void render_show_layout(cairo_t *cr, PangoLayout *layout)
{
    cairo_surface_type_t type = cairo_surface_get_type(cairo_get_target(cr));
    bool vector =
        type == CAIRO_SURFACE_TYPE_PDF || type == CAIRO_SURFACE_TYPE_SVG || type == CAIRO_SURFACE_TYPE_PS;
    bool any_color = false;
    PangoLayoutIter *it = vector ? pango_layout_get_iter(layout) : NULL;
    if (it) {
        do {
            PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
            any_color = run && run_is_color(run);
        } while (!any_color && pango_layout_iter_next_run(it));
        pango_layout_iter_free(it);
    }
    if (!any_color) { /* raster output, or nothing in colour: as pango draws it */
        pango_cairo_show_layout(cr, layout);
        return;
    }
    /* Pixels per user unit for MAP_DPI per inch of page (vector device units are pt). */
    double dx = 1, dy = 0;
    cairo_user_to_device_distance(cr, &dx, &dy);
    double px_per_unit = MAP_DPI / 72.0 * hypot(dx, dy);
    double x0, y0;
    cairo_get_current_point(cr, &x0, &y0);
    const char *text = pango_layout_get_text(layout);
    it = pango_layout_get_iter(layout);
    do {
        PangoLayoutRun *run = pango_layout_iter_get_run_readonly(it);
        if (!run)
            continue;
        PangoRectangle logical;
        pango_layout_iter_get_run_extents(it, NULL, &logical);
        double x = x0 + (double)logical.x / PANGO_SCALE;
        double baseline = y0 + (double)pango_layout_iter_get_baseline(it) / PANGO_SCALE;
        if (run_is_color(run)) {
            show_run_as_image(cr, run, x, baseline, px_per_unit);
        } else {
            cairo_move_to(cr, x, baseline);
            pango_cairo_show_glyph_item(cr, text, run);
        }
    } while (pango_layout_iter_next_run(it));
    pango_layout_iter_free(it);
    cairo_new_path(cr);
}

void render_show_layout_line(cairo_t *cr, PangoLayoutLine *line)
{
    cairo_surface_type_t type = cairo_surface_get_type(cairo_get_target(cr));
    bool vector =
        type == CAIRO_SURFACE_TYPE_PDF || type == CAIRO_SURFACE_TYPE_SVG || type == CAIRO_SURFACE_TYPE_PS;
    bool any_color = false;
    for (GSList *l = vector ? line->runs : NULL; l && !any_color; l = l->next)
        any_color = run_is_color(l->data);
    if (!any_color) {
        pango_cairo_show_layout_line(cr, line);
        return;
    }
    /* As render_show_layout: colour glyph runs become 300 ppi images, the rest glyphs. */
    double dx = 1, dy = 0;
    cairo_user_to_device_distance(cr, &dx, &dy);
    double px_per_unit = MAP_DPI / 72.0 * hypot(dx, dy);
    double x, baseline;
    cairo_get_current_point(cr, &x, &baseline);
    const char *text = pango_layout_get_text(line->layout);
    for (GSList *l = line->runs; l; l = l->next) {
        PangoLayoutRun *run = l->data;
        PangoRectangle logical;
        pango_glyph_string_extents(run->glyphs, run->item->analysis.font, NULL, &logical);
        if (run_is_color(run)) {
            show_run_as_image(cr, run, x, baseline, px_per_unit);
        } else {
            cairo_move_to(cr, x, baseline);
            pango_cairo_show_glyph_item(cr, text, run);
        }
        x += (double)logical.width / PANGO_SCALE;
    }
    cairo_new_path(cr);
}
