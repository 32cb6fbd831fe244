/* render.h — drawing a poster (MAPS-AND-PRINT.md §3–§6) with cairo + pango, no server.
 *
 * PNG is drawn and encoded band by band on several threads, so memory stays bounded for
 * every print size (the 80-megapixel ones included); it carries an sRGB ICC profile and
 * pHYs, and a file is only given its final name after it has been read back and checked.
 * PDF (fonts embedded, PDF/X-4 structure, sRGB or the operator's CMYK) and SVG use the same
 * drawing code as vectors.
 * Thread-safe: several posters may be rendered at once after render_init(). */
#ifndef AWM_RENDER_H
#define AWM_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "map/map.h"

/* RENDER_PDF_CMYK: the PDF with every colour converted to DeviceCMYK through the operator's
 * profile (render_options.cmyk_profile); its file extension is "pdf". */
typedef enum { RENDER_PNG = 0, RENDER_PDF, RENDER_SVG, RENDER_PDF_CMYK } render_format;

/* Called now and then with the fraction done (0..1), from the thread that called render_poster*. */
typedef void (*render_progress_fn)(void *user, double fraction);
/* Receives the output in order; false aborts the render. */
typedef bool (*render_write_fn)(void *user, const void *data, size_t len);

typedef struct {
    render_format format;
    double dpi;        /* PNG resolution, (0, 300]; 0 means 300 */
    int threads;       /* 0: one per online core */
    int detail;        /* -1: chosen by output size; else a geo_detail (110m/50m/10m) */
    render_progress_fn progress;
    void *progress_user;
    const char *cmyk_profile; /* ICC output profile file; required by RENDER_PDF_CMYK */
} render_options;

typedef struct {
    int px_w, px_h;       /* PNG pixel size (PDF/SVG: page size in pt, rounded) */
    uint64_t bytes;       /* size of the output */
    double seconds;       /* wall time of the render */
    geo_detail detail;    /* geography detail used */
} render_result;

/* Register the poster fonts (Cormorant Garamond, DM Sans from the assets) with fontconfig and
 * check that each face resolves to our files: a missing font is an error, never a fallback.
 * Also adds the same-kind Noto fallbacks and makes the ICC v2 sRGB profile.
 * Idempotent and thread-safe; render_poster* call it too. */
bool render_init(awm_error *err);

void render_options_default(render_options *opt); /* PNG, 300 DPI, all cores, auto detail */
bool render_format_parse(const char *name, render_format *out); /* "png", "pdf", "svg", "pdf-cmyk" */
const char *render_format_name(render_format format);        /* "png", …, "pdf-cmyk" */
const char *render_format_extension(render_format format);   /* "png", "pdf", "svg" */
/* Whether this program can write PDF: the PDF/X finishing (pdf.c, libqpdf and the C++ and
 * crypto libraries it loads) is linked into awm-server and the tests but left out of `awm`,
 * which hands PDF renders to awm-server (src/cli/meson.build); there pdf_absent.c says false. */
bool render_pdf_available(void);

/* Check a CMYK output profile the way a pdf-cmyk render will use it (readable, an ICC CMYK
 * output profile, convertible from sRGB); its description goes to `description`. For start-up
 * checks: a profile that is missing or wrong is an error before any job is taken. */
bool render_cmyk_profile_check(const char *path, char *description, size_t size, awm_error *err);

/* Render to a file, atomically: the final name appears only once the file is complete and
 * (PNG) verified; on failure or interruption nothing is left in the directory. */
bool render_poster(const map_definition *map, const map_print_spec *spec, const render_options *opt,
                   const char *out_path, render_result *result, awm_error *err);
/* Render to a stream (the HTTP /render endpoint): bytes arrive in order through `write`. */
bool render_poster_write(const map_definition *map, const map_print_spec *spec,
                         const render_options *opt, render_write_fn write, void *write_user,
                         render_result *result, awm_error *err);

/* The warnings for a valid map (map_definition_warnings, then what the poster must shorten:
 * "title: shortened to fit the title box", a legend name too long for its column): what the
 * API and `awm validate` report beside the errors. Needs the fonts (calls render_init). */
bool render_map_warnings(const map_definition *map, map_violations *warnings, awm_error *err);

/* Read a PNG back and check it is what a print service accepts: expected pixel size, 8-bit
 * RGB, an ICC profile, every chunk intact (CRCs) through IEND. */
bool render_verify_png(const char *path, int expect_w, int expect_h, awm_error *err);

#endif
