/* cmd_themes.c — `awm themes [--json]`: the themes of MAPS-AND-PRINT.md §5. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "map/map.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm themes [--json]\n\n"
                 "List the themes: id, display name, layer colours and the path palette.\n"
                 "  --json   one JSON array of objects instead of the table\n");
}

static void hex(char buf[8], uint32_t rgb)
{
    snprintf(buf, 8, "#%06x", (unsigned)(rgb & 0xFFFFFF));
}

int cmd_themes(int argc, char **argv)
{
    bool as_json;
    int done = cli_parse_listing_args(argc, argv, "themes", usage, &as_json);
    if (done >= 0)
        return done;
    size_t n;
    const map_theme *themes = map_themes(&n);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const map_theme *t = &themes[i];
        const struct {
            const char *name;
            uint32_t rgb;
        } layers[] = {{"canvasBackground", t->canvas_background}, {"ocean", t->ocean},
                      {"land", t->land},
                      {"landStroke", t->land_stroke},
                      {"countryBorder", t->country_border},
                      {"graticule", t->graticule}};
        char c[8];
        if (as_json) {
            json_t *colors = json_object(), *palette = json_array();
            for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++) {
                hex(c, layers[k].rgb);
                json_object_set_new(colors, layers[k].name, json_string(c));
            }
            for (size_t k = 0; k < MAP_PALETTE_SIZE; k++) {
                hex(c, t->palette[k]);
                json_array_append_new(palette, json_string(c));
            }
            json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o}", "id", t->id, "displayName",
                                                 t->display_name, "colors", colors, "palette", palette));
            continue;
        }
        printf("%s%s (%s)\n", i ? "\n" : "", t->id, t->display_name);
        for (size_t k = 0; k < sizeof layers / sizeof layers[0]; k++) {
            hex(c, layers[k].rgb);
            printf("  %-17s %s\n", layers[k].name, c);
        }
        printf("  %-17s", "palette");
        for (size_t k = 0; k < MAP_PALETTE_SIZE; k++) {
            hex(c, t->palette[k]);
            printf(" %s", c);
        }
        printf("\n");
    }
    if (as_json) {
        char *text = json_dumps(arr, JSON_INDENT(2));
        puts(text);
        free(text);
    }
    json_decref(arr);
    return AWM_EXIT_OK;
}
