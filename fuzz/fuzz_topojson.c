/* fuzz_topojson.c — the TopoJSON decoder (geo_layer_load) on arbitrary file contents; the
 * objects "countries" and "land" are decoded, as the renderer asks for them. */
#include "fuzz.h"

#include <stdlib.h>

#include "geo/geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_memfile(data, size);
    static const char *const objects[] = {"countries", "land"};
    for (size_t i = 0; i < sizeof objects / sizeof *objects; i++) {
        geo_layer layer = {0};
        awm_error err = {{0}};
        bool ok = geo_layer_load(path, objects[i], &layer, &err);
        if (!ok && !err.msg[0])
            abort(); /* a refusal always says why */
        if (ok) { /* read every decoded point and its importance, so a wrong count shows up under ASan */
            volatile double sum = 0;
            for (size_t f = 0; f < layer.feature_count; f++)
                for (size_t p = 0; p < layer.features[f].polygon_count; p++) {
                    const geo_polygon *poly = &layer.features[f].polygons[p];
                    for (size_t r = 0; r < poly->ring_count; r++)
                        for (size_t k = 0; k < poly->rings[r].count; k++) {
                            sum += poly->rings[r].points[k].x + poly->rings[r].points[k].y;
                            if (!(poly->rings[r].importance[k] >= 0))
                                abort(); /* one per point, never NaN or negative */
                        }
                }
            (void)sum;
        }
        geo_layer_free(&layer);
    }
    return 0;
}
