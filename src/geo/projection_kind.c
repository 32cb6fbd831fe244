/* projection_kind.c — the names of the five projections, as the map definition spells them. */
#include <string.h>

#include "geo/geo.h"

static const char *const NAMES[GEO_PROJ_COUNT] = {
    [GEO_PROJ_ORTHOGRAPHIC] = "orthographic",
    [GEO_PROJ_EQUIRECTANGULAR] = "equirectangular",
    [GEO_PROJ_MERCATOR] = "mercator",
    [GEO_PROJ_NATURAL_EARTH1] = "naturalEarth1",
    [GEO_PROJ_ROBINSON] = "robinson",
};

bool geo_projection_kind_parse(const char *name, geo_projection_kind *out)
{
    for (int k = 0; k < GEO_PROJ_COUNT; k++) {
        if (!strcmp(name, NAMES[k])) {
            *out = (geo_projection_kind)k;
            return true;
        }
    }
    return false;
}

const char *geo_projection_kind_name(geo_projection_kind kind)
{
    return (kind >= 0 && kind < GEO_PROJ_COUNT) ? NAMES[kind] : "unknown";
}
