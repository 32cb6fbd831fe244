/* map_fixture.h — the map definitions the render tests draw: a test's own JSON, or the
 * repository's sample map; and the renderer set up for a test binary. Header-only, like
 * png_read.h; include after test.h. */
#ifndef AWM_TEST_MAP_FIXTURE_H
#define AWM_TEST_MAP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map/map.h"
#include "render/render.h"
#include "util/util.h"

/* render_init for a test's main: when the fonts cannot be set up it says why on stderr and
 * ends the test with status 1 (every case would fail the same way). */
static inline void render_init_or_exit(void)
{
    awm_error err = {{0}};
    if (!render_init(&err)) {
        fprintf(stderr, "render_init: %s\n", err.msg);
        exit(1);
    }
}

/* Parses a test's map definition; a refusal is a failed check, with every violation printed. */
static inline bool parse_map(const char *json, map_definition *def)
{
    map_violations v;
    bool ok = map_definition_parse(json, strlen(json), def, &v);
    for (size_t i = 0; !ok && i < v.count; i++)
        fprintf(stderr, "  violation: %s\n", v.items[i]);
    map_violations_free(&v);
    CHECK_MSG(ok, "the test's map definition was refused: %s", json);
    return ok;
}

/* The sample map, from the repository's assets; a failure to load it is a failed check. */
static inline bool load_sample(map_definition *def)
{
    char sample[4096];
    char *json = NULL;
    size_t len = 0;
    awm_error err = {{0}};
    bool read = awm_asset_path(sample, sizeof sample, "assets/sample-map.json") &&
                awm_read_file(sample, &json, &len, &err);
    CHECK_MSG(read, "sample map: %s", err.msg);
    bool ok = read && parse_map(json, def);
    free(json);
    return ok;
}

#endif
