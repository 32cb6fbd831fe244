/* cmd_validate.c — `awm validate MAP.json`: check a map definition against every rule of
 * MAPS-AND-PRINT.md §1 and list every violation, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "map/map.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: awm validate MAP.json\n\n"
                 "Check a map definition and list every problem, one per line on stderr as\n"
                 "\"MAP.json: json.path: what is wrong\".\n\n"
                 "exit status: 0 valid, 2 invalid (or bad usage), 1 the file could not be read\n");
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
