/* fuzz_map.c — the map definition parser and validator (map_definition_parse), and the
 * overrides path the worker and the API take (map_definition_from_json_with_overrides).
 * Input: a map definition; or "<user map JSON>\n--overrides--\n<overrides JSON>". */
#include "fuzz.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "map/map.h"

static const char SEPARATOR[] = "\n--overrides--\n";

static void check_violations(bool ok, const map_violations *v)
{
    /* Valid means no violations; invalid means at least one, each a real message. */
    if (ok != (v->count == 0))
        abort();
    for (size_t i = 0; i < v->count; i++)
        if (!v->items[i] || !v->items[i][0])
            abort();
    free(map_violations_join(v, "\n"));
    json_decref(map_violations_json(v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *sep = memmem(text, size, SEPARATOR, sizeof SEPARATOR - 1);
    map_definition def;
    map_violations v;
    if (!sep) {
        bool ok = map_definition_parse(text, size, &def, &v);
        check_violations(ok, &v);
        map_definition_free(&def);
        map_violations_free(&v);
        return 0;
    }
    size_t user_len = (size_t)(sep - text);
    const char *over = sep + sizeof SEPARATOR - 1;
    size_t over_len = size - user_len - (sizeof SEPARATOR - 1);
    json_t *user = json_loadb(text, user_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *overrides = json_loadb(over, over_len, JSON_REJECT_DUPLICATES, NULL);
    if (user && overrides) {
        bool ok = map_definition_from_json_with_overrides(user, overrides, &def, &v);
        check_violations(ok, &v);
        map_definition_free(&def);
        map_violations_free(&v);
    }
    json_decref(user);
    json_decref(overrides);
    return 0;
}
