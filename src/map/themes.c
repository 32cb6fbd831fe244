/* themes.c — the four themes of MAPS-AND-PRINT.md §5: layer colours and the path palette
 * used, cycling by person index, for people without a colour of their own. */
#include <string.h>

#include "map/map.h"

static const map_theme THEMES[] = {
    {"antique-parchment", "Antique Parchment", 0xf4ebe1, 0xd4e4e8, 0xe8dfd0, 0xc5b8a5, 0xb5a892, 0xd4cbbf,
     {0xc1666b, 0x6b9080, 0x8b7d6b, 0xa67c52, 0x7d8597, 0xb38867, 0x8e7766}},
    {"cool-blue", "Cool Blue", 0xf0f4f8, 0xa8dadc, 0xe8f1f3, 0xb8cfd4, 0x8fb9c2, 0xd0e3e8,
     {0xe63946, 0xf77f00, 0x06aed5, 0x073b4c, 0x118ab2, 0x4361ee, 0x7209b7}},
    {"modern-gray", "Modern Gray", 0xffffff, 0xe8eaed, 0xf5f5f5, 0xd1d3d6, 0xb0b3b8, 0xe3e5e8,
     {0xd32f2f, 0x1976d2, 0x388e3c, 0xf57c00, 0x7b1fa2, 0x0288d1, 0xc2185b}},
    {"warm-earth", "Warm Earth", 0xfaf7f2, 0xd8e4e3, 0xede5d8, 0xc9b896, 0xa89968, 0xe0d8c8,
     {0x9c6644, 0x6a994e, 0xbc6c25, 0x606c38, 0xbc4749, 0x8b7355, 0x718355}},
};
#define THEME_COUNT (sizeof THEMES / sizeof THEMES[0])

const map_theme *map_themes(size_t *count)
{
    if (count)
        *count = THEME_COUNT;
    return THEMES;
}

const map_theme *map_theme_find(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < THEME_COUNT; i++)
        if (!strcmp(id, THEMES[i].id))
            return &THEMES[i];
    return NULL;
}
