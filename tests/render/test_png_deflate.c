/* test_png_deflate.c — the PNG deflate (png.c): the poster encoded with ISA-L's igzip, as the
 * renderer does, and with zlib, the reference. Both streams are inflated by zlib, which checks
 * the joined bands' Adler-32: the filtered rows (so the decoded pixels) must be identical, and
 * the ISA-L file no more than 1 % larger than zlib's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "render/render_internal.h"
#include "support/testkit.h"
#include "test.h"
#include "map_fixture.h"

static bool append(void *user, const void *data, size_t len)
{
    awm_buf_append(user, data, len);
    return true;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The IDAT chunks of `png` joined, inflated by zlib into `raw` (exactly `raw_len` bytes). */
static bool inflate_idat(const awm_buf *png, unsigned char *raw, size_t raw_len, size_t *idat_chunks)
{
    awm_buf z = {0};
    *idat_chunks = 0;
    for (size_t i = 8; i + 12 <= png->len;) {
        const unsigned char *c = (const unsigned char *)png->data + i;
        uint32_t n = be32(c);
        if (!memcmp(c + 4, "IDAT", 4)) {
            awm_buf_append(&z, c + 8, n);
            (*idat_chunks)++;
        }
        i += 12 + (size_t)n;
    }
    uLongf got = raw_len;
    int rc = uncompress(raw, &got, (const Bytef *)z.data, z.len); /* Z_DATA_ERROR on a bad Adler-32 */
    awm_buf_free(&z);
    CHECK_MSG(rc == Z_OK && got == raw_len, "inflate: rc %d, %lu of %zu bytes", rc, (unsigned long)got, raw_len);
    return rc == Z_OK && got == raw_len;
}

static void test_isal_same_pixels_as_zlib(void)
{
    map_definition def;
    if (!load_sample(&def))
        return;
    awm_error err = {{0}};

    /* 18x24 at 100 DPI: 10m geography, 19 bands of 128 rows on 2 threads. */
    const double dpi = 100;
    const map_print_spec *spec = map_print_spec_find("18x24");
    int w, h;
    map_print_spec_pixels(spec, dpi, &w, &h);
    render_scene s;
    CHECK(render_scene_build(&s, &def, spec, dpi / 72, render_detail_for_width(w), &err));
    awm_buf isal = {0}, zlib = {0};
    CHECK_MSG(render_png_write_with(&s, w, h, dpi, 2, RENDER_DEFLATE_ISAL, append, &isal, NULL, NULL, &err),
              "ISA-L: %s", err.msg);
    CHECK_MSG(render_png_write_with(&s, w, h, dpi, 2, RENDER_DEFLATE_ZLIB, append, &zlib, NULL, NULL, &err),
              "zlib: %s", err.msg);
    render_scene_free(&s);

    size_t raw_len = (size_t)h * (1 + (size_t)w * 3), chunks_isal, chunks_zlib;
    unsigned char *raw_isal = malloc(raw_len), *raw_zlib = malloc(raw_len);
    bool ok_isal = inflate_idat(&isal, raw_isal, raw_len, &chunks_isal);
    bool ok_zlib = inflate_idat(&zlib, raw_zlib, raw_len, &chunks_zlib);
    CHECK_MSG(chunks_isal > 1 && chunks_isal == chunks_zlib, "IDAT chunks: ISA-L %zu, zlib %zu", chunks_isal,
              chunks_zlib);
    CHECK_MSG(ok_isal && ok_zlib && !memcmp(raw_isal, raw_zlib, raw_len), "the decoded rows differ");
    /* Not a poster of one colour: the comparison means something. */
    size_t changes = 0;
    for (size_t i = 3; ok_zlib && i < raw_len; i += 3)
        changes += raw_zlib[i] != raw_zlib[i - 3];
    CHECK_MSG(changes > raw_len / 1000, "only %zu colour changes", changes);
    /* Two different encoders ran (else the comparison proves nothing). */
    CHECK_MSG(isal.len != zlib.len || memcmp(isal.data, zlib.data, isal.len), "the two files are identical");
    double ratio = (double)isal.len / (double)zlib.len;
    fprintf(stderr, "  %dx%d: ISA-L %zu bytes, zlib %zu bytes (%.4f)\n", w, h, isal.len, zlib.len, ratio);
    /* Not more than 1 % larger (at 100 DPI it comes out ~3 % smaller; at 300 DPI within 0.1 %). */
    CHECK_MSG(ratio < 1.01, "ISA-L's file is %.4f × zlib's", ratio);
    free(raw_isal);
    free(raw_zlib);
    awm_buf_free(&isal);
    awm_buf_free(&zlib);
    map_definition_free(&def);
}

int main(void)
{
    render_init_or_exit();
    RUN(test_isal_same_pixels_as_zlib);
    return TEST_EXIT();
}
