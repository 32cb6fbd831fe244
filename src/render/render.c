/* render.c — render_poster*: options, geography detail, the PNG / PDF / SVG outputs, and the
 * final file (complete, checked, then named; nothing left behind otherwise). */
#include "render/render_internal.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void render_options_default(render_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->format = RENDER_PNG;
    opt->dpi = MAP_DPI;
    opt->detail = -1;
}

static const char *const FORMAT_NAMES[] = {"png", "pdf", "svg", "pdf-cmyk"};
#define FORMAT_COUNT 4

bool render_format_parse(const char *name, render_format *out)
{
    for (int i = 0; i < FORMAT_COUNT; i++) {
        if (!strcasecmp(name, FORMAT_NAMES[i])) {
            *out = (render_format)i;
            return true;
        }
    }
    return false;
}

const char *render_format_name(render_format format)
{
    return (unsigned)format < FORMAT_COUNT ? FORMAT_NAMES[format] : "unknown";
}

const char *render_format_extension(render_format format)
{
    return format == RENDER_PDF_CMYK ? "pdf" : (unsigned)format < FORMAT_COUNT ? FORMAT_NAMES[format] : "bin";
}

/* ---- output through the caller's write function, counting bytes ---- */
typedef struct {
    render_write_fn write;
    void *user;
    uint64_t bytes;
    bool failed;
} counted_sink;

static bool counted_write(void *user, const void *data, size_t len)
{
    counted_sink *c = user;
    if (c->failed || !c->write(c->user, data, len)) {
        c->failed = true;
        return false;
    }
    c->bytes += len;
    return true;
}

static cairo_status_t cairo_sink(void *closure, const unsigned char *data, unsigned int len)
{
    return counted_write(closure, data, len) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

static cairo_status_t cairo_buf_sink(void *closure, const unsigned char *data, unsigned int len)
{
    awm_buf_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

/* PDF: cairo draws into memory and render_pdf_finish (pdf.c) makes it print-ready; SVG goes
 * straight to the sink. */
static bool render_vector(const render_scene *s, render_format format, const render_cmyk *cmyk,
                          counted_sink *sink, awm_error *err)
{
    bool pdf = format != RENDER_SVG;
    double w = s->boxes.total.w, h = s->boxes.total.h;
    awm_buf cairo_pdf = {0};
    cairo_surface_t *surf;
    if (pdf) {
        surf = cairo_pdf_surface_create_for_stream(cairo_buf_sink, &cairo_pdf, w, h);
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, s->map->title);
        cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "AWM");
    } else {
        surf = cairo_svg_surface_create_for_stream(cairo_sink, sink, w, h);
        cairo_svg_surface_set_document_unit(surf, CAIRO_SVG_UNIT_PT);
    }
    /* Anything cairo has to rasterise (it should be nothing: emoji are drawn as 300 ppi
     * images by render_show_layout) is rasterised at print resolution, not at 72 ppi. */
    cairo_surface_set_fallback_resolution(surf, MAP_DPI, MAP_DPI);
    cairo_t *cr = cairo_create(surf);
    render_scene_draw(s, cr, NULL);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surf);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(surf);
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS || sink->failed) {
        awm_error_set(err, "%s output failed: %s", pdf ? "PDF" : "SVG",
                      sink->failed ? "the output cannot be written" : cairo_status_to_string(st));
        awm_buf_free(&cairo_pdf);
        return false;
    }
    if (!pdf)
        return true;
    awm_buf ready = {0};
    bool ok = render_pdf_finish(cairo_pdf.data, cairo_pdf.len, &s->boxes, s->map->title, cmyk, &ready, err);
    awm_buf_free(&cairo_pdf);
    if (ok && !counted_write(sink, ready.data, ready.len)) {
        awm_error_set(err, "PDF output failed: the output cannot be written");
        ok = false;
    }
    awm_buf_free(&ready);
    return ok;
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

bool render_poster_write(const map_definition *map, const map_print_spec *spec,
                         const render_options *opt_in, render_write_fn write, void *write_user,
                         render_result *result, awm_error *err)
{
    double t0 = awm_now_seconds();
    uint64_t clk = render_phase_clock(true);
    render_options opt;
    if (opt_in)
        opt = *opt_in;
    else
        render_options_default(&opt);
    if (opt.dpi == 0)
        opt.dpi = MAP_DPI;
    if (!(opt.dpi > 0 && opt.dpi <= MAP_DPI)) {
        awm_error_set(err, "dpi must be greater than 0 and at most %g", MAP_DPI);
        return false;
    }
    if ((unsigned)opt.format >= FORMAT_COUNT) {
        awm_error_set(err, "unknown output format %d", (int)opt.format);
        return false;
    }
    if (opt.format == RENDER_PDF_CMYK && !(opt.cmyk_profile && *opt.cmyk_profile)) {
        awm_error_set(err, "pdf-cmyk needs a CMYK profile (--cmyk-profile FILE.icc, CMYK_PROFILE)");
        return false;
    }
    if (opt.detail > GEO_DETAIL_10M) {
        awm_error_set(err, "unknown geography detail %d", opt.detail);
        return false;
    }
    int px_w, px_h;
    map_print_spec_pixels(spec, opt.dpi, &px_w, &px_h);
    if (px_w < 1 || px_h < 1) {
        awm_error_set(err, "dpi %g is too low for a %s page", opt.dpi, spec->key);
        return false;
    }
    geo_detail detail;
    if (opt.detail >= 0)
        detail = (geo_detail)opt.detail;
    else if (opt.format == RENDER_PNG)
        detail = render_detail_for_width(px_w);
    else /* PDF is for print; the SVG is a preview */
        detail = opt.format == RENDER_SVG ? GEO_DETAIL_50M : GEO_DETAIL_10M;
    render_cmyk *cmyk = NULL;
    if (opt.format == RENDER_PDF_CMYK && !(cmyk = render_cmyk_open(opt.cmyk_profile, err)))
        return false;

    /* The fonts are set up inside, beside the geography's load and projection. */
    render_scene scene;
    double device_px_per_pt = (opt.format == RENDER_PNG ? opt.dpi : MAP_DPI) / 72.0;
    double t_scene = awm_now_seconds();
    render_phase_mark(RENDER_PHASE_SETUP, true, &clk);
    bool built = render_scene_build(&scene, map, spec, device_px_per_pt, detail, err);
    render_phase_mark(RENDER_PHASE_SCENE, true, &clk);
    if (!built) {
        render_cmyk_close(cmyk);
        return false;
    }
    double t_draw = awm_now_seconds();

    counted_sink sink = {.write = write, .user = write_user};
    bool ok;
    if (opt.format == RENDER_PNG) {
        int threads = opt.threads > 0 ? opt.threads : online_cores();
        ok = render_png_write(&scene, px_w, px_h, opt.dpi, threads, counted_write, &sink, opt.progress,
                              opt.progress_user, err);
    } else {
        ok = render_vector(&scene, opt.format, cmyk, &sink, err);
        map_print_spec_pixels(spec, 72, &px_w, &px_h); /* a vector page is sized in pt */
    }
    render_scene_free(&scene);
    render_cmyk_close(cmyk);
    awm_log(AWM_LOG_DEBUG, "RENDER_TIMING", "{s:s, s:s, s:f, s:f, s:f}", "size", spec->key, "detail",
            geo_detail_name(detail), "setupSeconds", t_scene - t0, "sceneSeconds", t_draw - t_scene,
            "drawSeconds", awm_now_seconds() - t_draw);
    render_phases_log(spec->key);
    if (ok && result) {
        result->px_w = px_w;
        result->px_h = px_h;
        result->bytes = sink.bytes;
        result->seconds = awm_now_seconds() - t0;
        result->detail = detail;
    }
    return ok;
}

/* ---- the output file ----
 * Preferably an unnamed file (O_TMPFILE) in the target directory: if the process is killed,
 * even with SIGKILL, the kernel drops it and nothing is left behind. It gets a name only after
 * the check passed (link to a temp name, then rename over the final name, so the swap is
 * atomic). Where O_TMPFILE is unsupported, util's named temp file + rename is used instead. */
typedef struct {
    FILE *fp;
    int fd;              /* the O_TMPFILE descriptor, or -1 when using `atomic` */
    awm_atomic_file atomic;
    char final_path[4096], dir[4096], base[1024];
    bool write_failed;
} out_file;

static bool out_write(void *user, const void *data, size_t len)
{
    out_file *o = user;
    if (!o->write_failed && fwrite(data, 1, len, o->fp) != len)
        o->write_failed = true;
    return !o->write_failed;
}

static bool out_open(out_file *o, const char *path, awm_error *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    if (snprintf(o->final_path, sizeof o->final_path, "%s", path) >= (int)sizeof o->final_path) {
        awm_error_set(err, "output path too long");
        return false;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(o->dir, sizeof o->dir, "%s", dirname(tmp));
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(o->base, sizeof o->base, "%s", basename(tmp));

    int fd = access("/proc/self/fd", X_OK) == 0
                 ? open(o->dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644)
                 : (errno = EOPNOTSUPP, -1);
    if (fd >= 0) {
        fchmod(fd, 0644);
        o->fd = fd;
        o->fp = fdopen(fd, "wb");
        if (!o->fp) {
            awm_error_set(err, "cannot open a file in %s: %s", o->dir, strerror(errno));
            close(fd);
            return false;
        }
        return true;
    }
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == EROFS) {
        awm_error_set(err, "cannot create a file in %s: %s", o->dir, strerror(errno));
        return false;
    }
    if (!awm_atomic_open(&o->atomic, path, err))
        return false;
    o->fp = o->atomic.fp;
    return true;
}

static void out_abort(out_file *o)
{
    if (o->fd >= 0) {
        if (o->fp)
            fclose(o->fp);
    } else {
        awm_atomic_abort(&o->atomic);
    }
    o->fp = NULL;
}

/* Path by which the written (still unnamed) file can be read back. */
static void out_read_path(const out_file *o, char *buf, size_t size)
{
    if (o->fd >= 0)
        snprintf(buf, size, "/proc/self/fd/%d", o->fd);
    else
        snprintf(buf, size, "%s", o->atomic.temp_path);
}

static bool out_flush(out_file *o, awm_error *err)
{
    if (o->write_failed || fflush(o->fp) != 0 || fsync(fileno(o->fp)) != 0) {
        awm_error_set(err, "cannot write %s: %s", o->final_path, strerror(errno));
        return false;
    }
    return true;
}

static bool out_commit(out_file *o, awm_error *err)
{
    if (o->fd < 0) {
        bool ok = awm_atomic_commit(&o->atomic, err);
        o->fp = NULL;
        return ok;
    }
    static atomic_uint counter;
    char proc[64], temp[4096 + 1200];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", o->fd);
    bool ok = false;
    for (int attempt = 0; attempt < 100 && !ok; attempt++) {
        snprintf(temp, sizeof temp, "%s/" AWM_TEMP_PREFIX "%s.%d.%u", o->dir, o->base, (int)getpid(),
                 atomic_fetch_add(&counter, 1));
        if (linkat(AT_FDCWD, proc, AT_FDCWD, temp, AT_SYMLINK_FOLLOW) == 0)
            ok = true;
        else if (errno != EEXIST)
            break;
    }
    if (!ok) {
        awm_error_set(err, "cannot name the output %s: %s", o->final_path, strerror(errno));
    } else if (rename(temp, o->final_path) != 0) {
        awm_error_set(err, "cannot rename into %s: %s", o->final_path, strerror(errno));
        unlink(temp);
        ok = false;
    }
    fclose(o->fp);
    o->fp = NULL;
    return ok;
}

bool render_poster(const map_definition *map, const map_print_spec *spec, const render_options *opt,
                   const char *out_path, render_result *result, awm_error *err)
{
    double t0 = awm_now_seconds();
    out_file o;
    if (!out_open(&o, out_path, err))
        return false;
    render_result r;
    bool ok = render_poster_write(map, spec, opt, out_write, &o, &r, err) && out_flush(&o, err);
    if (ok && (!opt || opt->format == RENDER_PNG)) {
        char path[4200];
        out_read_path(&o, path, sizeof path);
        double t_verify = awm_now_seconds();
        ok = render_verify_png(path, r.px_w, r.px_h, err);
        awm_log(AWM_LOG_DEBUG, "RENDER_VERIFY", "{s:b, s:f}", "ok", ok, "seconds",
                awm_now_seconds() - t_verify);
        if (!ok)
            awm_error_prefix(err, "the written PNG failed its check");
    }
    if (ok) {
        ok = out_commit(&o, err);
    } else {
        out_abort(&o);
    }
    if (ok && result) {
        *result = r;
        result->seconds = awm_now_seconds() - t0; /* the check and the rename included */
    }
    return ok;
}
