/* cmd_sizes.c — `awm sizes [--json]`: the print specifications of MAPS-AND-PRINT.md §2. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "map/map.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm sizes [--json]\n\n"
                 "List the print sizes: key, trim in inches and points, pixels at 300 DPI\n"
                 "including the 9 pt bleed on every side, and megapixels.\n"
                 "  --json   one JSON array of objects instead of the table\n");
}

int cmd_sizes(int argc, char **argv)
{
    bool as_json;
    int done = cli_parse_listing_args(argc, argv, "sizes", usage, &as_json);
    if (done >= 0)
        return done;
    size_t n;
    const map_print_spec *specs = map_print_specs(&n);
    if (as_json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
            const map_print_spec *s = &specs[i];
            json_array_append_new(
                arr, json_pack("{s:s, s:f, s:f, s:f, s:f, s:i, s:i, s:f}", "key", s->key, "widthInches",
                               s->trim_w_in, "heightInches", s->trim_h_in, "widthPt", s->trim_w_pt,
                               "heightPt", s->trim_h_pt, "widthPx", s->px_w, "heightPx", s->px_h,
                               "megapixels", (double)s->px_w * s->px_h / 1e6));
        }
        char *text = json_dumps(arr, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        puts(text);
        free(text);
        json_decref(arr);
        return AWM_EXIT_OK;
    }
    printf("%-14s %-15s %-19s %-22s %s\n", "key", "trim (in)", "trim (pt)", "pixels (incl. bleed)", "MP");
    for (size_t i = 0; i < n; i++) {
        const map_print_spec *s = &specs[i];
        char in[32], pt[32], px[32];
        snprintf(in, sizeof in, "%g x %g", s->trim_w_in, s->trim_h_in);
        snprintf(pt, sizeof pt, "%g x %g", s->trim_w_pt, s->trim_h_pt);
        snprintf(px, sizeof px, "%d x %d", s->px_w, s->px_h);
        printf("%-14s %-15s %-19s %-22s %.1f\n", s->key, in, pt, px, (double)s->px_w * s->px_h / 1e6);
    }
    return AWM_EXIT_OK;
}
