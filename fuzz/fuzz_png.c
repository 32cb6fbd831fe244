/* fuzz_png.c — the PNG read-back check workers run on every poster (render_verify_png) on
 * arbitrary file contents. The expected size is taken from the input's IHDR bytes (when
 * present), so inputs get past the size check into the chunk walk. */
#include "fuzz.h"

#include <stdlib.h>

#include "render/render.h"

static int be32(const uint8_t *p) { return (int)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int w = size >= 24 ? be32(data + 16) : 1, h = size >= 24 ? be32(data + 20) : 1;
    const char *path = fuzz_memfile(data, size);
    awm_error err = {{0}};
    if (!render_verify_png(path, w, h, &err) && !err.msg[0])
        abort(); /* a refusal always says why */
    return 0;
}
