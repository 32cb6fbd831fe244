/* png.c — the print PNG (MAPS-AND-PRINT.md §6): 8-bit RGB, sRGB ICC profile, pHYs.
 *
 * A poster of 80 megapixels is 240 MB of RGB, so the page is drawn and encoded in bands of
 * rows on several threads: each band is rasterised by cairo, packed to RGB rows, and
 * deflated as its own piece of one zlib stream (raw deflate ending in a sync flush, the
 * Adler-32s combined), then written in order as an IDAT chunk through libpng. Memory
 * depends on the page width and the thread count, never on the page height.
 *
 * The deflate is ISA-L's igzip (level 1, sync flush per band) and its Adler-32: on an 18x24
 * poster 3–4× faster than zlib level 1 at about the same size. zlib stays for libpng, the
 * Adler-32 combination, the read-back and as the reference encoder the tests compare with. */
#include "render/render_internal.h"

#include <png.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

/* Band height: about 2 MB of cairo surface per thread (95 rows at 18x24, 48 at 36x24), at
 * most 128 rows. The memory peak is not the pixels but cairo's polygon for a band's strokes
 * (10m coastlines), which grows with the band's share of the map: small pages, whose map is
 * densest, are the ones that need the cap. Shorter bands cost little: runs and chords keep
 * each band's path work local. */
#define BAND_BYTES (2u << 20)
#define BAND_ROWS_MIN 48
#define BAND_ROWS_MAX 128

/* ---- libpng plumbing: errors longjmp back to the encoder's thread ---- */
typedef struct {
    render_write_fn write;
    void *user;
    bool write_failed;
    uint64_t bytes;
    char msg[256];
} png_sink;

static void sink_write(png_structp png, png_bytep data, size_t len)
{
    png_sink *sink = png_get_io_ptr(png);
    if (!sink->write_failed && !sink->write(sink->user, data, len))
        sink->write_failed = true;
    if (sink->write_failed)
        png_error(png, "the output cannot be written");
    sink->bytes += len;
}

static void sink_flush(png_structp png)
{
    (void)png;
}

static void png_err(png_structp png, png_const_charp msg)
{
    png_sink *sink = png_get_error_ptr(png);
    snprintf(sink->msg, sizeof sink->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* ---- bands ---- */
typedef struct {
    unsigned char *data; /* compressed */
    size_t len;
    uLong adler, raw_len;
    bool ready, failed;
} band_out;

typedef struct {
    const render_scene *scene;
    int px_w, px_h, band_rows, band_count;
    double px_per_pt;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int next_band, in_flight, max_in_flight;
    bool abort;
    render_deflate codec;
    band_out *bands;
    const unsigned char *icc; /* the sRGB profile for the iCCP chunk */
    size_t icc_len;
} band_job;

/* One band's deflater: raw deflate pieces of one stream, each ending in a sync flush (the
 * last one finishing the stream), so the pieces can be joined as they are. */
typedef struct {
    render_deflate codec;
    z_stream z;                   /* RENDER_DEFLATE_ZLIB */
    struct isal_zstream isal;     /* RENDER_DEFLATE_ISAL */
    unsigned char *isal_level_buf;
    bool ok;
} deflater;

static void deflater_init(deflater *d, render_deflate codec)
{
    memset(d, 0, sizeof *d);
    d->codec = codec;
    if (codec == RENDER_DEFLATE_ZLIB) {
        /* Level 1 on unfiltered rows: posters are mostly flat colour, which the fastest
         * matcher already finds; measured on an 18x24 poster it is both the fastest and the
         * smallest of {None, Sub, Up} × {default, RLE} (2.3 MB, 0.19 s per core for 40 MP). */
        d->ok = deflateInit2(&d->z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    } else {
        d->isal_level_buf = awm_xmalloc(ISAL_DEF_LVL1_DEFAULT);
        d->ok = true;
    }
}

static void deflater_end(deflater *d)
{
    if (d->codec == RENDER_DEFLATE_ZLIB && d->ok)
        deflateEnd(&d->z);
    free(d->isal_level_buf);
}

/* Make room for at least 64 KiB more output. */
static void out_reserve(awm_buf *out)
{
    if (out->cap - out->len < 65536) {
        out->cap = out->cap * 2 + 65536;
        out->data = awm_xrealloc(out->data, out->cap);
    }
}

static bool zlib_piece(z_stream *z, const unsigned char *in, size_t len, bool last, awm_buf *out)
{
    deflateReset(z);
    z->next_in = (unsigned char *)in;
    z->avail_in = (uInt)len;
    int flush = last ? Z_FINISH : Z_SYNC_FLUSH;
    for (;;) {
        out_reserve(out);
        z->next_out = (unsigned char *)out->data + out->len;
        z->avail_out = (uInt)(out->cap - out->len);
        int rc = deflate(z, flush);
        out->len = out->cap - z->avail_out;
        if (rc == Z_STREAM_END)
            return true;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return false;
        if (z->avail_in == 0 && z->avail_out > 0 && !last)
            return true;
    }
}

static bool isal_piece(deflater *d, const unsigned char *in, size_t len, bool last, awm_buf *out)
{
    struct isal_zstream *z = &d->isal;
    isal_deflate_init(z);
    z->level = 1;
    z->level_buf = d->isal_level_buf;
    z->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    z->gzip_flag = IGZIP_DEFLATE; /* raw: the zlib header and Adler-32 are written around the bands */
    z->flush = SYNC_FLUSH;
    z->end_of_stream = last;
    z->next_in = (uint8_t *)in;
    z->avail_in = (uint32_t)len;
    for (;;) {
        out_reserve(out);
        z->next_out = (uint8_t *)out->data + out->len;
        z->avail_out = (uint32_t)(out->cap - out->len);
        if (isal_deflate(z) != COMP_OK)
            return false;
        out->len = out->cap - z->avail_out;
        /* Done when all input is in and the flush (or the final block) is written out:
         * ZSTATE_END for the last piece, back to a new block header otherwise. */
        if (z->avail_in == 0 && z->avail_out > 0 &&
            z->internal_state.state == (last ? ZSTATE_END : ZSTATE_NEW_HDR))
            return true;
    }
}

/* Deflate `in` as one piece of the stream (the last piece finishes it); its Adler-32 to `adler`. */
static bool deflate_piece(deflater *d, const unsigned char *in, size_t len, bool last, awm_buf *out,
                          uLong *adler)
{
    if (d->codec == RENDER_DEFLATE_ZLIB) {
        *adler = adler32(adler32(0, NULL, 0), in, (uInt)len);
        return zlib_piece(&d->z, in, len, last, out);
    }
    *adler = isal_adler32(1, in, len);
    return isal_piece(d, in, len, last, out);
}

/* One row of cairo's xRGB words as R, G, B bytes: byte by byte, or with SSSE3 four pixels in
 * one shuffle (5x faster; the byte loop was a tenth of a poster's CPU). */
static void pack_rgb_bytes(const uint32_t *src, int w, unsigned char *o)
{
    for (int x = 0; x < w; x++, o += 3) {
        uint32_t px = src[x];
        o[0] = (unsigned char)(px >> 16);
        o[1] = (unsigned char)(px >> 8);
        o[2] = (unsigned char)px;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
__attribute__((target("ssse3"))) static void pack_rgb_ssse3(const uint32_t *src, int w, unsigned char *o)
{
    const __m128i rgb = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
    int x = 0;
    /* Each store writes 16 bytes for 12: the 4 beyond are the next two pixels', written after. */
    for (; x + 6 <= w; x += 4, o += 12)
        _mm_storeu_si128((__m128i *)o, _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(src + x)), rgb));
    pack_rgb_bytes(src + x, w - x, o);
}

static void pack_rgb_row(const uint32_t *src, int w, unsigned char *o)
{
    if (__builtin_cpu_supports("ssse3")) /* a read of what libgcc found at start-up */
        pack_rgb_ssse3(src, w, o);
    else
        pack_rgb_bytes(src, w, o);
}
#else
#define pack_rgb_row pack_rgb_bytes
#endif

static void *band_worker(void *arg)
{
    band_job *job = arg;
    int w = job->px_w;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, job->band_rows);
    size_t row_bytes = 1 + (size_t)w * 3;
    unsigned char *filtered = awm_xmalloc(row_bytes * job->band_rows);
    deflater d;
    deflater_init(&d, job->codec);
    bool z_ok = surf && cairo_surface_status(surf) == CAIRO_STATUS_SUCCESS && d.ok;

    for (;;) {
        pthread_mutex_lock(&job->lock);
        while (!job->abort && job->in_flight >= job->max_in_flight)
            pthread_cond_wait(&job->cond, &job->lock);
        if (job->abort || job->next_band >= job->band_count || !z_ok) {
            if (!z_ok && !job->abort) {
                job->abort = true;
                pthread_cond_broadcast(&job->cond);
            }
            pthread_mutex_unlock(&job->lock);
            break;
        }
        int b = job->next_band++;
        job->in_flight++;
        pthread_mutex_unlock(&job->lock);

        int row0 = b * job->band_rows;
        int rows = job->px_h - row0 < job->band_rows ? job->px_h - row0 : job->band_rows;

        cairo_t *cr = cairo_create(surf);
        cairo_rectangle(cr, 0, 0, w, rows);
        cairo_clip(cr);
        cairo_translate(cr, 0, -row0);
        cairo_scale(cr, job->px_per_pt, job->px_per_pt);
        render_bbox clip = {0, row0 / job->px_per_pt, w / job->px_per_pt,
                            (row0 + rows) / job->px_per_pt};
        render_scene_draw(job->scene, cr, &clip);
        cairo_destroy(cr);
        cairo_surface_flush(surf);

        /* xRGB words → filter byte 0 ("None") + RGB bytes per row. */
        uint64_t clk = render_phase_clock(false);
        const unsigned char *base = cairo_image_surface_get_data(surf);
        int stride = cairo_image_surface_get_stride(surf);
        unsigned char *o = filtered;
        for (int r = 0; r < rows; r++) {
            *o++ = 0;
            pack_rgb_row((const uint32_t *)(base + (size_t)r * stride), w, o);
            o += (size_t)w * 3;
        }
        size_t raw_len = row_bytes * rows;
        render_phase_mark(RENDER_PHASE_PACK, false, &clk);
        awm_buf out = {0};
        uLong band_adler;
        bool ok = deflate_piece(&d, filtered, raw_len, b == job->band_count - 1, &out, &band_adler);
        render_phase_mark(RENDER_PHASE_DEFLATE, false, &clk);

        pthread_mutex_lock(&job->lock);
        band_out *bo = &job->bands[b];
        bo->data = (unsigned char *)out.data;
        bo->len = out.len;
        bo->raw_len = raw_len;
        bo->adler = band_adler;
        bo->failed = !ok;
        bo->ready = true;
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&job->lock);
    }
    deflater_end(&d);
    free(filtered);
    if (surf)
        cairo_surface_destroy(surf);
    return NULL;
}

/* Runs in the caller's thread: libpng setup and the ordered writes (libpng longjmps here). */
static bool write_bands(band_job *job, png_structp png, png_infop info, png_sink *sink, double dpi,
                        render_progress_fn progress, void *progress_user, awm_error *err)
{
    if (setjmp(png_jmpbuf(png))) {
        awm_error_set(err, "PNG encoding failed: %s", sink->msg[0] ? sink->msg : "libpng error");
        return false;
    }
    png_set_IHDR(png, info, (png_uint_32)job->px_w, (png_uint_32)job->px_h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* The chunk's name is the profile's own description (RENDER_SRGB_DESCRIPTION). */
    png_set_iCCP(png, info, RENDER_SRGB_DESCRIPTION, PNG_COMPRESSION_TYPE_BASE, job->icc,
                 (png_uint_32)job->icc_len);
    png_uint_32 ppm = (png_uint_32)(dpi / 0.0254 + 0.5);
    png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    png_write_info(png, info);

    uLong adler = adler32(0, NULL, 0);
    for (int b = 0; b < job->band_count; b++) {
        pthread_mutex_lock(&job->lock);
        while (!job->bands[b].ready && !job->abort)
            pthread_cond_wait(&job->cond, &job->lock);
        bool usable = job->bands[b].ready && !job->bands[b].failed;
        pthread_mutex_unlock(&job->lock);
        if (!usable) {
            awm_error_set(err, "PNG band %d could not be rendered or compressed", b);
            return false;
        }
        band_out *bo = &job->bands[b];
        adler = adler32_combine(adler, bo->adler, (z_off_t)bo->raw_len);
        /* zlib header (deflate, 32K window, fastest) before the first piece, Adler-32 after the last. */
        if (b == 0) {
            static const unsigned char zhead[2] = {0x78, 0x01};
            awm_buf with_head = {0};
            awm_buf_append(&with_head, zhead, 2);
            awm_buf_append(&with_head, bo->data, bo->len);
            free(bo->data);
            bo->data = (unsigned char *)with_head.data;
            bo->len = with_head.len;
        }
        if (b == job->band_count - 1) {
            unsigned char tail[4] = {(unsigned char)(adler >> 24), (unsigned char)(adler >> 16),
                                     (unsigned char)(adler >> 8), (unsigned char)adler};
            awm_buf with_tail = {(char *)bo->data, bo->len, bo->len};
            awm_buf_append(&with_tail, tail, 4);
            bo->data = (unsigned char *)with_tail.data;
            bo->len = with_tail.len;
        }
        png_write_chunk(png, (png_const_bytep) "IDAT", bo->data, bo->len);
        free(bo->data);
        bo->data = NULL;

        pthread_mutex_lock(&job->lock);
        job->in_flight--;
        pthread_cond_broadcast(&job->cond);
        pthread_mutex_unlock(&job->lock);
        if (progress)
            progress(progress_user, (double)(b + 1) / job->band_count);
    }
    png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
    if (sink->write_failed) {
        awm_error_set(err, "the PNG cannot be written");
        return false;
    }
    return true;
}

bool render_png_write(const render_scene *s, int px_w, int px_h, double dpi, int threads,
                      render_write_fn write, void *write_user, render_progress_fn progress,
                      void *progress_user, awm_error *err)
{
    return render_png_write_with(s, px_w, px_h, dpi, threads, RENDER_DEFLATE_ISAL, write, write_user,
                                 progress, progress_user, err);
}

bool render_png_write_with(const render_scene *s, int px_w, int px_h, double dpi, int threads,
                           render_deflate codec, render_write_fn write, void *write_user,
                           render_progress_fn progress, void *progress_user, awm_error *err)
{
    const unsigned char *icc;
    size_t icc_len;
    if (!render_srgb_profile(&icc, &icc_len, err))
        return false;
    if (threads < 1)
        threads = 1;
    int band_rows = (int)(BAND_BYTES / ((unsigned)px_w * 4u));
    band_rows = band_rows < BAND_ROWS_MIN ? BAND_ROWS_MIN : band_rows > BAND_ROWS_MAX ? BAND_ROWS_MAX : band_rows;
    band_job job = {
        .scene = s,
        .px_w = px_w,
        .px_h = px_h,
        .band_rows = band_rows,
        .band_count = (px_h + band_rows - 1) / band_rows,
        .px_per_pt = dpi / 72.0,
        .max_in_flight = threads + 1,
        .codec = codec,
        .icc = icc,
        .icc_len = icc_len,
    };
    if (threads > job.band_count)
        threads = job.band_count;
    job.bands = awm_xcalloc((size_t)job.band_count, sizeof *job.bands);
    pthread_mutex_init(&job.lock, NULL);
    pthread_cond_init(&job.cond, NULL);

    pthread_t *tids = awm_xcalloc((size_t)threads, sizeof *tids);
    int started = 0;
    for (int i = 0; i < threads; i++)
        if (pthread_create(&tids[started], NULL, band_worker, &job) == 0)
            started++;

    png_sink sink = {.write = write, .user = write_user};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    bool ok = false;
    if (!started) {
        awm_error_set(err, "cannot start rendering threads");
    } else if (!info) {
        awm_error_set(err, "out of memory creating the PNG encoder");
    } else {
        png_set_write_fn(png, &sink, sink_write, sink_flush);
        ok = write_bands(&job, png, info, &sink, dpi, progress, progress_user, err);
    }
    if (png)
        png_destroy_write_struct(&png, info ? &info : NULL);

    pthread_mutex_lock(&job.lock);
    job.abort = true;
    pthread_cond_broadcast(&job.cond);
    pthread_mutex_unlock(&job.lock);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    for (int b = 0; b < job.band_count; b++)
        free(job.bands[b].data);
    free(job.bands);
    free(tids);
    pthread_mutex_destroy(&job.lock);
    pthread_cond_destroy(&job.cond);
    return ok;
}

/* ---- read-back check ---- */
typedef struct {
    char msg[256];
} verify_ctx;

static void verify_err(png_structp png, png_const_charp msg)
{
    verify_ctx *v = png_get_error_ptr(png);
    snprintf(v->msg, sizeof v->msg, "%s", msg);
    png_longjmp(png, 1);
}

/* Walk every chunk after the signature: each CRC must match and the file must end with IEND.
 * Catches truncation and corruption without decoding 100+ MB of pixels (the stream itself
 * is produced by the deflater; the tests decode posters fully). */
static bool check_chunks(FILE *fp, const char *path, awm_error *err)
{
    if (fseek(fp, 8, SEEK_SET) != 0) {
        awm_error_set(err, "%s cannot be read back", path);
        return false;
    }
    unsigned char *data = NULL;
    size_t cap = 0;
    bool ok = false, idat = false;
    for (;;) {
        unsigned char head[8], tail[4];
        if (fread(head, 1, 8, fp) != 8) {
            awm_error_set(err, "%s is truncated (no IEND chunk)", path);
            break;
        }
        uint32_t len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
        if (len > 0x7fffffffu) {
            awm_error_set(err, "%s has a malformed chunk", path);
            break;
        }
        if (len > cap) {
            cap = len;
            data = awm_xrealloc(data, cap);
        }
        if (fread(data, 1, len, fp) != len || fread(tail, 1, 4, fp) != 4) {
            awm_error_set(err, "%s is truncated", path);
            break;
        }
        uLong crc = crc32(crc32(0, NULL, 0), head + 4, 4);
        crc = crc32(crc, data, len);
        uint32_t want = (uint32_t)tail[0] << 24 | (uint32_t)tail[1] << 16 | (uint32_t)tail[2] << 8 | tail[3];
        if (crc != want) {
            awm_error_set(err, "%s has a corrupt %.4s chunk (CRC mismatch)", path, (char *)head + 4);
            break;
        }
        if (!memcmp(head + 4, "IDAT", 4))
            idat = true;
        if (!memcmp(head + 4, "IEND", 4)) {
            ok = idat;
            if (!ok)
                awm_error_set(err, "%s has no image data", path);
            break;
        }
    }
    free(data);
    return ok;
}

bool render_verify_png(const char *path, int expect_w, int expect_h, awm_error *err)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        awm_error_set(err, "%s cannot be opened for the check", path);
        return false;
    }
    verify_ctx v = {{0}};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &v, verify_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    volatile bool ok = false; /* volatile: set after setjmp and read after libpng's longjmp */
    if (!info) {
        awm_error_set(err, "out of memory checking %s", path);
    } else if (setjmp(png_jmpbuf(png))) {
        awm_error_set(err, "%s is not a valid PNG: %s", path, v.msg);
    } else {
        png_init_io(png, fp);
        png_read_info(png, info);
        png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
        int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
        png_charp name;
        int compression;
        png_bytep profile;
        png_uint_32 profile_len;
        if ((int)w != expect_w || (int)h != expect_h) {
            awm_error_set(err, "%s is %ux%u pixels, expected %dx%d", path, (unsigned)w, (unsigned)h,
                          expect_w, expect_h);
        } else if (depth != 8 || type != PNG_COLOR_TYPE_RGB) {
            awm_error_set(err, "%s has bit depth %d and colour type %d, expected 8-bit RGB (2)", path,
                          depth, type);
        } else if (!png_get_iCCP(png, info, &name, &compression, &profile, &profile_len) ||
                   profile_len < 128) {
            awm_error_set(err, "%s has no ICC profile", path);
        } else {
            ok = true;
        }
    }
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    if (ok)
        ok = check_chunks(fp, path, err);
    fclose(fp);
    return ok;
}
