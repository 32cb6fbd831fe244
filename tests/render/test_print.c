/* test_print.c — the output file as a print shop reads it (MAPS-AND-PRINT.md §4 "Fonts", §6):
 * the PNG's ICC profile is version 2 sRGB and the iCCP name is its description; the PDF's
 * PDF/X-4 structure read back by poppler (pdfinfo, pdfimages) and libqpdf (boxes, OutputIntent
 * and its profile, XMP, Info, ID); the pdf-cmyk variant through Ghostscript's default_cmyk.icc
 * with no RGB colour left; emoji embedded at 300 ppi; the same-kind Noto fallbacks. */
#include <fontconfig/fontconfig.h>
#include <lcms2.h>
#include <math.h>
#include <qpdf/qpdf-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/render_internal.h"
#include "png_read.h"
#include "support/testkit.h"
#include "test.h"

/* Debian's libgs-common ships it (scripts/packages.sh, test list). */
#define GS_CMYK "/usr/share/color/icc/ghostscript/default_cmyk.icc"

static char g_dir[256];

static void path_in_dir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", g_dir, name);
}

#define EMOJI_MAP                                                                                          \
    "{\"title\": \"Family \xF0\x9F\x8C\x8D\xF0\x9F\x8F\xA1 \xE5\xAE\xB6\xE6\x97\x8F\", \"subtitle\": \"2010\","    \
    " \"people\": [{\"id\": \"a\", \"name\": \"A\", \"color\": \"#c1666b\", \"locations\": ["                 \
    "{\"name\": \"Lisbon\", \"latitude\": 38.7, \"longitude\": -9.1},"                                     \
    "{\"name\": \"Paris\", \"latitude\": 48.9, \"longitude\": 2.35}]}]}"

/* Render `json` at 8x10 (110m geography) to g_dir/name; false (and a failed check) on error. */
static bool render_to(const char *json, render_format format, const char *cmyk, const char *name, double dpi,
                      char path[512], awm_error *err_out)
{
    map_definition def;
    map_violations v;
    bool ok = map_definition_parse(json, strlen(json), &def, &v);
    map_violations_free(&v);
    CHECK_MSG(ok, "the test's map definition was refused");
    if (!ok)
        return false;
    render_options opt;
    render_options_default(&opt);
    opt.format = format;
    opt.detail = GEO_DETAIL_110M;
    opt.cmyk_profile = cmyk;
    if (dpi > 0)
        opt.dpi = dpi;
    path_in_dir(path, 512, name);
    awm_error err = {{0}};
    render_result res;
    ok = render_poster(&def, map_print_spec_find("8x10"), &opt, path, &res, &err);
    map_definition_free(&def);
    if (err_out)
        *err_out = err;
    else
        CHECK_MSG(ok, "render %s failed: %s", name, err.msg);
    return ok;
}

/* The output of `prog args…` in `out` (a NUL-terminated malloc'd string); false when it fails. */
static bool run_capture(const char *prog, const char *const *args, char **out)
{
    char out_path[512], err_path[512];
    path_in_dir(out_path, sizeof out_path, "cmd.out");
    path_in_dir(err_path, sizeof err_path, "cmd.err");
    int rc = tk_run(prog, args, out_path, err_path);
    size_t len = 0;
    awm_error err;
    *out = NULL;
    if (!awm_read_file(out_path, out, &len, &err))
        *out = NULL;
    CHECK_MSG(rc == 0 && *out, "%s exited with %d", prog, rc);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return *out != NULL;
}

/* The description and version of an ICC profile, through lcms2. */
static bool icc_info(const void *data, size_t len, char *desc, size_t size, double *version,
                     cmsColorSpaceSignature *space)
{
    cmsHPROFILE p = cmsOpenProfileFromMem(data, (cmsUInt32Number)len);
    if (!p)
        return false;
    desc[0] = '\0';
    cmsGetProfileInfoASCII(p, cmsInfoDescription, "en", "US", desc, (cmsUInt32Number)size);
    *version = cmsGetProfileVersion(p);
    *space = cmsGetColorSpace(p);
    cmsCloseProfile(p);
    return true;
}

/* ---- PNG ---- */
static png_uint_32 be32(const unsigned char *p)
{
    return (png_uint_32)p[0] << 24 | (png_uint_32)p[1] << 16 | (png_uint_32)p[2] << 8 | p[3];
}

static void test_png_icc_is_v2_srgb(void)
{
    char path[512];
    if (!render_to(EMOJI_MAP, RENDER_PNG, NULL, "icc.png", 20, path, NULL))
        return;
    FILE *fp = fopen(path, "rb");
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!fp || setjmp(png_jmpbuf(png))) {
        CHECK_MSG(false, "icc.png cannot be read");
    } else {
        png_init_io(png, fp);
        png_read_info(png, info);
        png_charp name = NULL;
        int compression;
        png_bytep profile = NULL;
        png_uint_32 len = 0;
        CHECK(png_get_iCCP(png, info, &name, &compression, &profile, &len) != 0);
        char desc[256];
        double version = 0;
        cmsColorSpaceSignature space = 0;
        CHECK(profile && icc_info(profile, len, desc, sizeof desc, &version, &space));
        /* ICC version 2.x (byte 8 of the header is the major version), RGB, the standard
         * sRGB description, and the chunk named after it. */
        CHECK(profile && len > 8 && profile[8] == 2);
        CHECK_MSG(version >= 2.0 && version < 3.0, "profile version %g", version);
        CHECK(space == cmsSigRgbData);
        CHECK_STR_EQ(desc, "sRGB IEC61966-2.1");
        CHECK_STR_EQ(name ? name : "", desc);
        /* v2 tag types only: the description is a textDescriptionType ('desc'), not v4's mluc. */
        png_uint_32 tags = profile && len >= 132 ? be32(profile + 128) : 0;
        int desc_tags = 0;
        for (png_uint_32 k = 0; k < tags && 132 + 12 * (k + 1) <= len; k++) {
            const unsigned char *entry = profile + 132 + 12 * k;
            if (!memcmp(entry, "desc", 4)) {
                png_uint_32 off = be32(entry + 4);
                CHECK(off + 4 <= len && !memcmp(profile + off, "desc", 4));
                desc_tags++;
            }
        }
        CHECK_INT_EQ(desc_tags, 1);
    }
    png_destroy_read_struct(&png, &info, NULL);
    if (fp)
        fclose(fp);
}

/* ---- PDF/X-4 structure ---- */
typedef struct {
    double media[4], bleed[4], trim[4];
} pdf_boxes;

static bool box_line(const char *text, const char *label, double out[4])
{
    const char *p = strstr(text, label);
    return p && sscanf(p + strlen(label), " %lf %lf %lf %lf", &out[0], &out[1], &out[2], &out[3]) == 4;
}

static void check_box(const double got[4], double x0, double y0, double x1, double y1, const char *what)
{
    double want[4] = {x0, y0, x1, y1};
    for (int i = 0; i < 4; i++)
        CHECK_MSG(fabs(got[i] - want[i]) < 0.01, "%s[%d] = %g, want %g", what, i, got[i], want[i]);
}

/* The OutputIntent read back with libqpdf: its subtype, N and the profile's description. */
static void check_output_intent(const char *path, int want_n, const char *want_desc,
                                cmsColorSpaceSignature want_space)
{
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    CHECK(!(qpdf_read(q, path, NULL) & QPDF_ERRORS));
    qpdf_oh root = qpdf_get_root(q);
    qpdf_oh intents = qpdf_oh_get_key(q, root, "/OutputIntents");
    CHECK(qpdf_oh_is_array(q, intents) && qpdf_oh_get_array_n_items(q, intents) == 1);
    qpdf_oh intent = qpdf_oh_get_array_item(q, intents, 0);
    CHECK(qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, intent, "/S"), "/GTS_PDFX"));
    CHECK(qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, intent, "/Type"), "/OutputIntent"));
    qpdf_oh profile = qpdf_oh_get_key(q, intent, "/DestOutputProfile");
    CHECK(qpdf_oh_is_stream(q, profile));
    CHECK_INT_EQ(qpdf_oh_get_int_value(q, qpdf_oh_get_key(q, qpdf_oh_get_dict(q, profile), "/N")), want_n);
    unsigned char *data = NULL;
    size_t len = 0;
    CHECK(!(qpdf_oh_get_stream_data(q, profile, qpdf_dl_generalized, NULL, &data, &len) & QPDF_ERRORS));
    char desc[256] = "";
    double version = 0;
    cmsColorSpaceSignature space = 0;
    CHECK(data && icc_info(data, len, desc, sizeof desc, &version, &space));
    CHECK_STR_EQ(desc, want_desc);
    CHECK(space == want_space);
    CHECK_STR_EQ(qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, intent, "/OutputConditionIdentifier")), want_desc);
    free(data);
    /* Info: Trapped is the name /False, the PDF/X version is named; the trailer has an ID. */
    qpdf_oh info = qpdf_oh_get_key(q, qpdf_get_trailer(q), "/Info");
    CHECK(qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, info, "/Trapped"), "/False"));
    CHECK_STR_EQ(qpdf_oh_get_utf8_value(q, qpdf_oh_get_key(q, info, "/GTS_PDFXVersion")), "PDF/X-4");
    qpdf_oh id = qpdf_oh_get_key(q, qpdf_get_trailer(q), "/ID");
    CHECK(qpdf_oh_is_array(q, id) && qpdf_oh_get_array_n_items(q, id) == 2);
    CHECK_STR_EQ(qpdf_get_pdf_version(q), "1.6");
    qpdf_cleanup(&q);
}

/* pdfinfo (poppler) reads the boxes and the XMP. */
static void check_boxes_and_xmp(const char *path)
{
    char *out = NULL;
    const char *box_args[] = {"-box", path, NULL};
    if (run_capture("/usr/bin/pdfinfo", box_args, &out)) {
        pdf_boxes b;
        CHECK(box_line(out, "MediaBox:", b.media) && box_line(out, "BleedBox:", b.bleed) &&
              box_line(out, "TrimBox:", b.trim));
        /* 8x10: total 594 × 738 pt, trim 9 pt in from each edge. */
        check_box(b.media, 0, 0, 594, 738, "MediaBox");
        check_box(b.bleed, 0, 0, 594, 738, "BleedBox");
        check_box(b.trim, 9, 9, 585, 729, "TrimBox");
        const char *version = strstr(out, "PDF version:");
        double v = 0;
        CHECK(version && sscanf(version + 12, " %lf", &v) == 1 && fabs(v - 1.6) < 1e-9);
        free(out);
    }
    const char *meta_args[] = {"-meta", path, NULL};
    if (run_capture("/usr/bin/pdfinfo", meta_args, &out)) {
        CHECK(strstr(out, "<pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>") != NULL);
        CHECK(strstr(out, "<pdf:Trapped>False</pdf:Trapped>") != NULL);
        CHECK(strstr(out, "<xmpMM:DocumentID>uuid:") != NULL);
        CHECK(strstr(out, "<xmpMM:VersionID>") != NULL && strstr(out, "<xmpMM:RenditionClass>") != NULL);
        CHECK(strstr(out, "Family \xF0\x9F\x8C\x8D") != NULL); /* dc:title, UTF-8 */
        free(out);
    }
    const char *font_args[] = {path, NULL};
    if (run_capture("/usr/bin/pdffonts", font_args, &out)) { /* every font line says "emb yes" */
        int fonts = 0, embedded = 0;
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            if (!strncmp(line, "name", 4) || line[0] == '-')
                continue;
            fonts++;
            embedded += strstr(line, " yes yes ") != NULL || strstr(line, " yes no ") != NULL;
        }
        CHECK(fonts >= 2);
        CHECK_INT_EQ(embedded, fonts);
        free(out);
    }
}

/* Every image in the PDF at ≥ 300 ppi, with the colour pdfimages names; returns their number. */
static int check_images(const char *path, const char *want_color)
{
    char *out = NULL;
    const char *args[] = {"-list", path, NULL};
    int images = 0;
    if (!run_capture("/usr/bin/pdfimages", args, &out))
        return 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        int page, num, w, h, comp, bpc, obj, gen, xppi, yppi;
        char type[16], color[16], enc[16], interp[8];
        if (sscanf(line, "%d %d %15s %d %d %15s %d %d %15s %7s %d %d %d %d", &page, &num, type, &w, &h, color, &comp,
                   &bpc, enc, interp, &obj, &gen, &xppi, &yppi) != 14)
            continue;
        CHECK_MSG(xppi >= 300 && yppi >= 300, "image %d at %d × %d ppi", num, xppi, yppi);
        if (!strcmp(type, "image")) {
            images++;
            CHECK_STR_EQ(color, want_color);
        }
    }
    free(out);
    return images;
}

static void test_pdf_is_pdfx4(void)
{
    char path[512];
    if (!render_to(EMOJI_MAP, RENDER_PDF, NULL, "x4.pdf", 0, path, NULL))
        return;
    check_boxes_and_xmp(path);
    check_output_intent(path, 3, "sRGB IEC61966-2.1", cmsSigRgbData);
    /* The two emoji are one image, drawn at 300 ppi of page (cairo alone gives 72). */
    CHECK_MSG(check_images(path, "rgb") >= 1, "the emoji are not an image in the PDF");
}

/* ---- CMYK ---- */
static bool has_rgb_operator(const unsigned char *data, size_t len)
{
    for (size_t i = 0; i + 2 <= len; i++) {
        bool start = i == 0 || strchr(" \t\r\n", data[i - 1]);
        bool end = i + 2 == len || strchr(" \t\r\n", data[i + 2]);
        if (start && end && (data[i] == 'r' || data[i] == 'R') && (data[i + 1] == 'g' || data[i + 1] == 'G'))
            return true;
    }
    return false;
}

static void test_cmyk_pdf_has_no_rgb(void)
{
    if (access(GS_CMYK, R_OK) != 0) {
        CHECK_MSG(false, "%s is missing (Debian libgs-common; run scripts/setup)", GS_CMYK);
        return;
    }
    char path[512];
    if (!render_to(EMOJI_MAP, RENDER_PDF_CMYK, GS_CMYK, "cmyk.pdf", 0, path, NULL))
        return;
    check_boxes_and_xmp(path);
    char gs_desc[256] = "";
    awm_error perr = {{0}};
    CHECK_MSG(render_cmyk_profile_check(GS_CMYK, gs_desc, sizeof gs_desc, &perr), "%s", perr.msg);
    check_output_intent(path, 4, gs_desc, cmsSigCmykData);
    CHECK_MSG(check_images(path, "cmyk") >= 1, "the emoji are not a CMYK image in the PDF");

    /* qpdf --qdf: every stream uncompressed; no DeviceRGB anywhere (images, groups). */
    char qdf[512];
    path_in_dir(qdf, sizeof qdf, "cmyk-qdf.pdf");
    const char *args[] = {"--qdf", "--object-streams=disable", path, qdf, NULL};
    CHECK_INT_EQ(tk_run("/usr/bin/qpdf", args, NULL, NULL), 0);
    char *data = NULL;
    size_t len = 0;
    awm_error err;
    if (awm_read_file(qdf, &data, &len, &err)) {
        CHECK_MSG(!memmem(data, len, "/DeviceRGB", 10), "DeviceRGB left in the CMYK PDF");
        CHECK(memmem(data, len, "/DeviceCMYK", 11) != NULL);
        free(data);
    }
    /* The page's content: colour set with k/K only, never rg/RG. */
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    CHECK(!(qpdf_read(q, path, NULL) & QPDF_ERRORS));
    unsigned char *content = NULL;
    size_t clen = 0;
    CHECK(!(qpdf_oh_get_page_content_data(q, qpdf_get_page_n(q, 0), &content, &clen) & QPDF_ERRORS));
    CHECK(content && clen > 1000);
    CHECK_MSG(content && !has_rgb_operator(content, clen), "an rg/RG operator is left in the CMYK page");
    CHECK(content && (memmem(content, clen, " k ", 3) || memmem(content, clen, " k\n", 3)));
    free(content);
    qpdf_cleanup(&q);
}

static void test_cmyk_needs_a_cmyk_profile(void)
{
    char path[512];
    awm_error err = {{0}};
    CHECK(!render_to(EMOJI_MAP, RENDER_PDF_CMYK, NULL, "none.pdf", 0, path, &err));
    CHECK_MSG(strstr(err.msg, "CMYK profile") != NULL, "%s", err.msg);
    CHECK(access(path, F_OK) != 0);

    CHECK(!render_to(EMOJI_MAP, RENDER_PDF_CMYK, "/nonexistent/x.icc", "none.pdf", 0, path, &err));
    CHECK_MSG(strstr(err.msg, "/nonexistent/x.icc") != NULL, "%s", err.msg);

    /* An RGB profile is not a CMYK output profile. */
    char rgb_icc[512];
    path_in_dir(rgb_icc, sizeof rgb_icc, "srgb.icc");
    const unsigned char *icc;
    size_t icc_len;
    CHECK(render_srgb_profile(&icc, &icc_len, &err));
    FILE *f = fopen(rgb_icc, "wb");
    CHECK(f && fwrite(icc, 1, icc_len, f) == icc_len);
    if (f)
        fclose(f);
    CHECK(!render_cmyk_profile_check(rgb_icc, NULL, 0, &err));
    CHECK_MSG(strstr(err.msg, "not a CMYK output") != NULL, "%s", err.msg);
    CHECK(!render_to(EMOJI_MAP, RENDER_PDF_CMYK, rgb_icc, "none.pdf", 0, path, &err));
    CHECK(access(path, F_OK) != 0);
}

/* ---- font fallbacks of the same kind ---- */
/* The family pango sets `text` in (its first run whose font is not the poster font). */
static void fallback_family(const char *family, const char *text, char *out, size_t size)
{
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 4, 4);
    cairo_t *cr = cairo_create(surf);
    PangoLayout *layout = render_text_layout(cr, family, PANGO_WEIGHT_NORMAL, 16, text);
    PangoLayoutLine *line = pango_layout_get_line_readonly(layout, 0);
    snprintf(out, size, "(none)");
    for (GSList *l = line ? line->runs : NULL; l; l = l->next) {
        PangoGlyphItem *run = l->data;
        PangoFontDescription *d = pango_font_describe(run->item->analysis.font);
        const char *f = pango_font_description_get_family(d);
        if (f && strcmp(f, family)) {
            snprintf(out, size, "%s", f);
            pango_font_description_free(d);
            break;
        }
        pango_font_description_free(d);
    }
    g_object_unref(layout);
    cairo_destroy(cr);
    cairo_surface_destroy(surf);
}

/* The first font fontconfig's sorted fallback list for `family` gives that covers `ch`. */
static void fontconfig_fallback(const char *family, FcChar32 ch, char *out, size_t size)
{
    FcPattern *pat = FcPatternCreate();
    FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family);
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult result;
    FcFontSet *set = FcFontSort(NULL, pat, FcFalse, NULL, &result);
    snprintf(out, size, "(none)");
    for (int i = 0; set && i < set->nfont; i++) {
        FcCharSet *cs = NULL;
        FcChar8 *name = NULL;
        if (FcPatternGetCharSet(set->fonts[i], FC_CHARSET, 0, &cs) == FcResultMatch && FcCharSetHasChar(cs, ch) &&
            FcPatternGetString(set->fonts[i], FC_FAMILY, 0, &name) == FcResultMatch) {
            snprintf(out, size, "%s", (char *)name);
            break;
        }
    }
    if (set)
        FcFontSetDestroy(set);
    FcPatternDestroy(pat);
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

static void test_fallbacks_of_the_same_kind(void)
{
    awm_error err = {{0}};
    CHECK_MSG(render_init(&err), "%s", err.msg);
    char got[128];
    struct {
        const char *family, *text, *want_prefix, *alt_prefix;
        FcChar32 ch;
    } cases[] = {
        {RENDER_SANS, "\xD8\xB9\xD8\xA7\xD8\xA6\xD9\x84\xD8\xA9", "Noto Sans Arabic", "Noto Naskh Arabic", 0x0639},
        {RENDER_SERIF, "\xD8\xB9\xD8\xA7\xD8\xA6\xD9\x84\xD8\xA9", "Noto Naskh Arabic", NULL, 0x0639},
        {RENDER_SERIF, "\xE5\xAE\xB6\xE6\x97\x8F\xE3\x81\xAE\xE6\x97\x85", "Noto Serif CJK", NULL, 0x65C5},
        {RENDER_SANS, "\xE5\xAE\xB6\xE6\x97\x8F\xE3\x81\xAE\xE6\x97\x85", "Noto Sans CJK", NULL, 0x65C5},
        {RENDER_SANS, "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", "Noto Sans Hebrew", NULL, 0x05E9},
        {RENDER_SERIF, "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D", "Noto Serif Hebrew", NULL, 0x05E9},
        {RENDER_SANS, "\xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87", "Noto Sans Devanagari",
         NULL, 0x0928},
        {RENDER_SANS, "\xE0\xB8\xAA\xE0\xB8\xA7\xE0\xB8\xB1\xE0\xB8\xAA\xE0\xB8\x94\xE0\xB8\xB5", "Noto Sans Thai",
         "Noto Looped Thai", 0x0E2A},
        {RENDER_SERIF, "\xF0\x9F\x8C\x8D", "Noto Color Emoji", NULL, 0x1F30D},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fallback_family(cases[i].family, cases[i].text, got, sizeof got);
        CHECK_MSG(starts_with(got, cases[i].want_prefix) ||
                      (cases[i].alt_prefix && starts_with(got, cases[i].alt_prefix)),
                  "%s text under %s is set in %s", cases[i].want_prefix, cases[i].family, got);
        fontconfig_fallback(cases[i].family, cases[i].ch, got, sizeof got);
        CHECK_MSG(starts_with(got, cases[i].want_prefix) ||
                      (cases[i].alt_prefix && starts_with(got, cases[i].alt_prefix)),
                  "fontconfig's fallback for U+%04X under %s is %s", (unsigned)cases[i].ch, cases[i].family, got);
    }
}

int main(void)
{
    tk_mkdtemp_or_exit(g_dir, sizeof g_dir, "print-test");
    RUN(test_png_icc_is_v2_srgb);
    RUN(test_fallbacks_of_the_same_kind);
    RUN(test_pdf_is_pdfx4);
    RUN(test_cmyk_pdf_has_no_rgb);
    RUN(test_cmyk_needs_a_cmyk_profile);
    if (!getenv("AWM_KEEP_TEST_FILES"))
        tk_remove_tree(g_dir);
    else
        fprintf(stderr, "files kept in %s\n", g_dir);
    return TEST_EXIT();
}
