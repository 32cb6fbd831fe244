/* fonts.c — the poster fonts and text layout.
 *
 * The @fontsource files are split by unicode range (latin, latin-ext, cyrillic, …) and carry
 * odd internal family names ("Cormorant Garamond Light" for the Bold file, "DM Sans 9pt"), so
 * each file is registered as an application font and its pattern rewritten to the family,
 * style, weight and slant it is published as. Pango will not use WOFF2 files (HarfBuzz shapes
 * from the raw file, which is compressed), so each is first unpacked to a plain TrueType file
 * in a font cache by FreeType, which reads WOFF2. Start-up then checks that every face we use
 * resolves to one of our files. Characters none of them has (CJK, Arabic, emoji) fall back to
 * the system fonts through pango's usual per-character fallback. */
#include "render/render_internal.h"

#include <dirent.h>
#include <errno.h>
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

/* The TrueType twin of a WOFF2 file in the cache, made on first use. The name carries the
 * source's size and time, so updated assets are unpacked again. */
static bool unpacked_path(FT_Library ft, const char *cache, const char *src, const char *name,
                          char *out, size_t size, awm_error *err)
{
    struct stat st;
    if (stat(src, &st) != 0) {
        awm_error_set(err, "font %s: %s", src, strerror(errno));
        return false;
    }
    int n = snprintf(out, size, "%s/%.*s-%lld-%lld.ttf", cache, (int)(strlen(name) - 6), name,
                     (long long)st.st_size, (long long)st.st_mtime);
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
    for (size_t i = 0; ok && i < FACE_COUNT; i++)
        ok = check_face(config, cache, &FACES[i], &g_err);
    g_ok = ok;
}

bool render_init(awm_error *err)
{
    pthread_once(&g_once, init_once);
    if (!g_ok) {
        awm_error_set(err, "%s", g_err.msg);
        return false;
    }
    return true;
}

PangoLayout *render_text_layout(cairo_t *cr, const char *family, PangoWeight weight, double size_pt,
                                const char *text)
{
    /* pango_cairo_create_layout uses this thread's font map: safe on band threads. */
    PangoLayout *layout = pango_cairo_create_layout(cr);
    PangoContext *ctx = pango_layout_get_context(layout);
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
    cairo_t *cr = scratch_context();
    PangoLayout *layout = render_text_layout(cr, family, weight, size_pt, text);
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    g_object_unref(layout);
    cairo_destroy(cr);
    return (double)logical.width / PANGO_SCALE;
}

int render_text_unknown_glyphs(const char *family, PangoWeight weight, double size_pt, const char *text)
{
    cairo_t *cr = scratch_context();
    PangoLayout *layout = render_text_layout(cr, family, weight, size_pt, text);
    int unknown = pango_layout_get_unknown_glyphs_count(layout);
    g_object_unref(layout);
    cairo_destroy(cr);
    return unknown;
}
