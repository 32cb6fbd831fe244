/* cmd_validate.c — `awm validate MAP.json`: check a map definition against every rule of
 * MAPS-AND-PRINT.md §1 and list every violation, one per line; for a valid map, list the
 * warnings (what the poster will show differently, like a title shortened to fit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "map/map.h"
#include "render/render.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm validate MAP.json\n\n"
                 "Check a map definition and list every problem, one per line on stderr as\n"
                 "\"MAP.json: json.path: what is wrong\". A valid map may still have warnings,\n"
                 "listed on stderr as \"MAP.json: warning: json.path: what happens\" (a title\n"
                 "shortened to fit its box); they do not make it invalid.\n\n"
                 "exit status: 0 valid (with or without warnings), 2 invalid (or bad usage),\n"
                 "1 the file could not be read or the fonts to measure text are missing\n");
}

int cmd_validate(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        }
        if (argv[i][0] == '-' || path) {
            fprintf(stderr, "awm validate: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
        path = argv[i];
    }
    if (!path) {
        usage(stderr);
        return AWM_EXIT_INVALID;
    }

    char *text;
    size_t len;
    awm_error err;
    if (!awm_read_file(path, &text, &len, &err)) {
        fprintf(stderr, "awm validate: %s\n", err.msg);
        return AWM_EXIT_FAILURE;
    }
    map_definition def;
    map_violations violations;
    bool ok = map_definition_parse(text, len, &def, &violations);
    free(text);
    map_violations warnings = {0};
    if (ok && !render_map_warnings(&def, &warnings, &err)) {
        fprintf(stderr, "awm validate: %s\n", err.msg);
        map_definition_free(&def);
        map_violations_free(&warnings);
        return AWM_EXIT_FAILURE;
    }
    for (size_t i = 0; i < warnings.count; i++)
        fprintf(stderr, "%s: warning: %s\n", path, warnings.items[i]);
    map_violations_free(&warnings);
    if (ok) {
        size_t locations = 0;
        for (size_t i = 0; i < def.person_count; i++)
            locations += def.people[i].location_count;
        printf("%s: valid (%zu %s, %zu %s)\n", path, def.person_count,
               def.person_count == 1 ? "person" : "people", locations,
               locations == 1 ? "location" : "locations");
    } else {
        for (size_t i = 0; i < violations.count; i++)
            fprintf(stderr, "%s: %s\n", path, violations.items[i]);
    }
    map_definition_free(&def);
    map_violations_free(&violations);
    return ok ? AWM_EXIT_OK : AWM_EXIT_INVALID;
}
