/* fuzz_pdf.c — the PDF post-processing (render_pdf_finish, src/render/pdf.c) on arbitrary
 * input: qpdf parses it, the boxes, intent and metadata are added, and the CMYK pass rewrites
 * every content stream's colour operators and converts RGB images. Its input is cairo's own
 * output, but a parser is fuzzed all the same: a refusal always says why, nothing crashes,
 * hangs or leaks. The CMYK pass uses Ghostscript's default_cmyk.icc when it is installed. */
#include "fuzz.h"

#include <stdlib.h>

#include "render/render_internal.h"

static render_cmyk *g_cmyk; /* opened once, kept for the process */
static bool g_tried;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_tried) {
        g_tried = true;
        awm_error err = {{0}};
        g_cmyk = render_cmyk_open("/usr/share/color/icc/ghostscript/default_cmyk.icc", &err);
    }
    map_page_boxes boxes;
    map_page_boxes_for(map_print_spec_find("8x10"), &boxes);
    for (int pass = 0; pass < (g_cmyk ? 2 : 1); pass++) {
        awm_buf out = {0};
        awm_error err = {{0}};
        if (!render_pdf_finish(data, size, &boxes, "T", pass ? g_cmyk : NULL, &out, &err) && !err.msg[0])
            abort(); /* a refusal always says why */
        awm_buf_free(&out);
    }
    return 0;
}
