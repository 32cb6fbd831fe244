/* png_read.h — reading a rendered PNG back in the tests (render, and the demo's poster in
 * tests/deploy): its chunks as libpng sees them and its pixels. */
#ifndef AWM_TESTS_RENDER_PNG_READ_H
#define AWM_TESTS_RENDER_PNG_READ_H

#include <png.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int w, h, bit_depth, color_type;
    bool has_iccp;
    unsigned icc_len;
    bool has_phys;
    unsigned phys_x, phys_y;
    int phys_unit;
    unsigned char *rgb; /* w*h*3 when the colour type is RGB 8-bit, else NULL */
} test_png;

/* The PNG at path; its pixels too when `pixels` (RGB 8-bit only). False when it cannot be read. */
static inline bool test_png_read_with(const char *path, test_png *out, bool pixels)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return false;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile rgb = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rgb);
        out->rgb = NULL;
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        return false;
    }
    png_init_io(png, fp);
    png_read_info(png, info);
    out->w = (int)png_get_image_width(png, info);
    out->h = (int)png_get_image_height(png, info);
    out->bit_depth = png_get_bit_depth(png, info);
    out->color_type = png_get_color_type(png, info);
    png_charp name;
    int comp;
    png_bytep prof;
    png_uint_32 plen;
    if (png_get_iCCP(png, info, &name, &comp, &prof, &plen)) {
        out->has_iccp = true;
        out->icc_len = plen;
    }
    png_uint_32 rx, ry;
    int unit;
    if (png_get_pHYs(png, info, &rx, &ry, &unit)) {
        out->has_phys = true;
        out->phys_x = rx;
        out->phys_y = ry;
        out->phys_unit = unit;
    }
    if (pixels && out->bit_depth == 8 && out->color_type == PNG_COLOR_TYPE_RGB) {
        rgb = malloc((size_t)out->w * out->h * 3);
        for (int y = 0; y < out->h; y++)
            png_read_row(png, rgb + (size_t)y * out->w * 3, NULL);
        png_read_end(png, NULL);
        out->rgb = rgb;
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
    return true;
}

static inline bool test_png_read(const char *path, test_png *out)
{
    return test_png_read_with(path, out, true);
}

/* The header chunks only: a full-size poster's pixels are not read. */
static inline bool test_png_read_head(const char *path, test_png *out)
{
    return test_png_read_with(path, out, false);
}

static inline uint32_t test_png_pixel(const test_png *p, int x, int y)
{
    if (!p->rgb || x < 0 || y < 0 || x >= p->w || y >= p->h)
        return 0xffffffffu;
    const unsigned char *q = p->rgb + ((size_t)y * p->w + x) * 3;
    return (uint32_t)q[0] << 16 | (uint32_t)q[1] << 8 | q[2];
}

static inline void test_png_free(test_png *p)
{
    free(p->rgb);
    p->rgb = NULL;
}

#endif
