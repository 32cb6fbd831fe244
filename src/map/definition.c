/* definition.c — parse and validate a user's map definition (MAPS-AND-PRINT.md §1).
 *
 * One walk over the JSON checks every rule and fills a map_definition as it goes; every
 * violation is recorded with its JSON path, and the walk never stops at the first one. When
 * anything was wrong the partly filled definition is freed and the caller gets only the list.
 *
 * Text decisions (the spec says "1..N chars" and "UTF-8"; these make it precise):
 * - lengths count Unicode code points, not bytes, so 200 CJK characters are a valid title;
 * - title, subtitle, person names and place names are trimmed of leading/trailing whitespace
 *   (the same set as JavaScript's String.prototype.trim, which the web front end uses) and
 *   stored trimmed; ids and qrUrl are identifiers and are kept verbatim;
 * - control characters (U+0000–U+001F, U+007F–U+009F) are refused inside every text field,
 *   tabs and newlines included: each field is drawn on one line of the poster (or used as an
 *   identifier), where a control character cannot be drawn and would garble the layout.
 *   Leading/trailing whitespace controls (a pasted trailing newline) are trimmed away first;
 * - JSON null in an optional field means "not given" (front ends send nulls for empty inputs),
 *   except qrUrl, where the spec gives null (and "") a meaning of its own: no QR code at all;
 * - a date may be a year, a month or a day; "in chronological order" compares two dates at the
 *   precision they share ("2015" is neither before nor after "2015-06-15");
 * - qrUrl must be ASCII (percent-encode anything else): it is encoded byte for byte in the
 *   QR code, and MAP_MAX_QR_URL bytes still fit a version-40 code at error correction level M.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "map/country_codes.h"
#include "map/map.h"
#include "util/util.h"

static const double DEFAULT_ROTATION[3] = {-20, -30, 0};
#define DEFAULT_THEME "antique-parchment"
#define DEFAULT_QR_URL "https://alwaysmap.com"
#define QUOTE_MAX_CHARS 40 /* user text echoed in a message is cut to this many characters */

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Decode the code point at s[*i] and advance *i; false (and *i unchanged) on malformed UTF-8
 * (util's decoder is the one definition of well-formed). */
static bool utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *out)
{
    size_t n = awm_utf8_decode((const char *)s + *i, len - *i, out);
    *i += n;
    return n > 0;
}

/* JavaScript's trim() set: ASCII whitespace, NBSP, the Unicode space separators, BOM. */
static bool is_trim_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

/* ---- violations ------------------------------------------------------------------------- */

typedef struct {
    map_violations *v;
    size_t unlisted; /* found past MAP_MAX_VIOLATIONS */
} checker;

static void push_item(map_violations *v, char *item)
{
    /* Capacity is implicit: grow whenever count reaches a power of two. */
    if (v->count == 0 || (v->count & (v->count - 1)) == 0)
        v->items = awm_xrealloc(v->items, (v->count ? v->count * 2 : 1) * sizeof *v->items);
    v->items[v->count++] = item;
}

/* Push "<path>.<field>: <message>" (field may be NULL; path may be NULL for whole-text errors). */
__attribute__((format(printf, 4, 0))) static void push_message(map_violations *v, const char *path,
                                                                const char *field, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    awm_buf b = {0};
    if (path && *path)
        awm_buf_printf(&b, "%s%s%s: ", path, field ? "." : "", field ? field : "");
    else if (field)
        awm_buf_printf(&b, "%s: ", field);
    awm_buf_printf(&b, "%s", msg);
    awm_utf8_sanitize(b.data); /* messages quote jansson's text, which may cut a character */
    push_item(v, b.data);
}

/* Record a violation of the definition being checked; past MAP_MAX_VIOLATIONS only counted. */
__attribute__((format(printf, 4, 5))) static void violation(checker *c, const char *path,
                                                            const char *field, const char *fmt, ...)
{
    if (c->v->count >= MAP_MAX_VIOLATIONS) {
        c->unlisted++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    push_message(c->v, path, field, fmt, ap);
    va_end(ap);
}

void map_violations_add(map_violations *v, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    push_message(v, path, NULL, fmt, ap);
    va_end(ap);
}

void map_violations_free(map_violations *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->count = 0;
}

char *map_violations_join(const map_violations *v, const char *sep)
{
    awm_buf b = {0};
    awm_buf_append(&b, "", 0);
    for (size_t i = 0; v && i < v->count; i++) {
        if (i)
            awm_buf_printf(&b, "%s", sep ? sep : "\n");
        awm_buf_printf(&b, "%s", v->items[i]);
    }
    if (!b.data)
        return awm_strdup("");
    return b.data;
}

json_t *map_violations_json(const map_violations *v)
{
    json_t *arr = json_array();
    for (size_t i = 0; v && i < v->count; i++)
        json_array_append_new(arr, json_string(v->items[i]));
    return arr;
}

/* ---- message helpers -------------------------------------------------------------------- */

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static void wrong_type(checker *c, const char *path, const char *field, const char *expected,
                       const json_t *got)
{
    violation(c, path, field, "must be %s, got %s", expected, type_name(got));
}

/* A field that must be a string: its text and length, or a violation and NULL. */
static const char *string_of(checker *c, const char *path, const char *field, const json_t *val, size_t *len)
{
    if (!json_is_string(val)) {
        wrong_type(c, path, field, "a string", val);
        return NULL;
    }
    *len = json_string_length(val);
    return json_string_value(val);
}

/* Shortest of %.15g / %.17g that reads back as d: "91.5", not "91.500000000000000". */
static const char *fmt_num(char buf[32], double d)
{
    snprintf(buf, 32, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, 32, "%.17g", d);
    return buf;
}

/* User text quoted for a message: at most QUOTE_MAX_CHARS characters, control characters
 * and invalid bytes escaped, so a hostile value cannot flood or garble the message. */
static const char *quote(char buf[256], const char *s, size_t len)
{
    size_t o = 0, i = 0, chars = 0;
    buf[o++] = '"';
    while (i < len && o < 256 - 12) {
        if (chars == QUOTE_MAX_CHARS) {
            memcpy(buf + o, "…", 3);
            o += 3;
            break;
        }
        size_t start = i;
        uint32_t cp;
        if (!utf8_next((const unsigned char *)s, len, &i, &cp)) {
            o += (size_t)snprintf(buf + o, 256 - o, "\\x%02X", (unsigned char)s[i]);
            i++;
        } else if (is_control(cp)) {
            o += (size_t)snprintf(buf + o, 256 - o, "\\u%04X", (unsigned)cp);
        } else if (cp == '"' || cp == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)cp;
        } else {
            memcpy(buf + o, s + start, i - start);
            o += i - start;
        }
        chars++;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static const char *quote_json(char buf[256], const json_t *str)
{
    return quote(buf, json_string_value(str), json_string_length(str));
}

/* The value of an optional field, NULL when absent or JSON null. */
static const json_t *optional(const json_t *obj, const char *key)
{
    const json_t *j = json_object_get(obj, key);
    return (j && !json_is_null(j)) ? j : NULL;
}

/* The value of a required field; records "is required" when absent or null. */
static const json_t *required(checker *c, const char *path, const json_t *obj, const char *key)
{
    const json_t *j = optional(obj, key);
    if (!j)
        violation(c, path, key, "is required");
    return j;
}

/* ---- field checks ----------------------------------------------------------------------- */

/* A text field: UTF-8, no control characters, min..max code points after optional trimming.
 * Returns the (trimmed) copy, or NULL when anything was wrong. */
static char *text_field(checker *c, const char *path, const char *field, const json_t *val,
                        size_t min_chars, size_t max_chars, bool trim)
{
    size_t len;
    const unsigned char *s = (const unsigned char *)string_of(c, path, field, val, &len);
    if (!s)
        return NULL;
    /* Pass 1: where the trimmed text starts and ends (bytes). */
    size_t start = 0, end = len;
    if (trim) {
        size_t i = 0;
        bool seen = false;
        start = end = 0;
        while (i < len) {
            size_t at = i;
            uint32_t cp;
            if (!utf8_next(s, len, &i, &cp)) {
                violation(c, path, field, "must be valid UTF-8 (malformed at byte offset %zu)", i);
                return NULL;
            }
            if (!is_trim_space(cp)) {
                if (!seen)
                    start = at;
                seen = true;
                end = i;
            }
        }
    }
    /* Pass 2: count characters and find control characters in the kept part. */
    size_t chars = 0, i = start;
    bool ok = true, control_reported = false;
    while (i < end) {
        uint32_t cp;
        size_t at = i;
        if (!utf8_next(s, end, &i, &cp)) {
            violation(c, path, field, "must be valid UTF-8 (malformed at byte offset %zu)", at);
            return NULL;
        }
        chars++;
        if (is_control(cp) && !control_reported) {
            if (cp == 0)
                violation(c, path, field, "must not contain NUL characters (at character %zu)", chars);
            else
                violation(c, path, field, "must not contain control characters (U+%04X at character %zu)",
                          (unsigned)cp, chars);
            control_reported = true;
            ok = false;
        }
    }
    if (chars < min_chars) {
        violation(c, path, field, "must not be empty%s", trim && len ? " (only whitespace)" : "");
        ok = false;
    } else if (chars > max_chars) {
        violation(c, path, field, "must be at most %zu characters (got %zu)", max_chars, chars);
        ok = false;
    }
    if (!ok)
        return NULL;
    char *copy = awm_xmalloc(end - start + 1);
    memcpy(copy, s + start, end - start);
    copy[end - start] = '\0';
    return copy;
}

/* A finite number; records the expected type otherwise. */
static bool number_field(checker *c, const char *path, const char *field, const json_t *val,
                         double *out)
{
    if (!json_is_number(val)) {
        wrong_type(c, path, field, "a number", val);
        return false;
    }
    double d = json_number_value(val);
    if (!isfinite(d)) {
        violation(c, path, field, "must be a finite number");
        return false;
    }
    *out = d;
    return true;
}

static bool number_in_range(checker *c, const char *path, const char *field, const json_t *val,
                            double lo, double hi, const char *unit, double *out)
{
    double d;
    if (!number_field(c, path, field, val, &d))
        return false;
    if (d < lo || d > hi) {
        char a[32], b[32], g[32];
        violation(c, path, field, "must be between %s and %s%s (got %s)", fmt_num(a, lo),
                  fmt_num(b, hi), unit, fmt_num(g, d));
        return false;
    }
    *out = d;
    return true;
}

/* An array of exactly n finite numbers, each checked against |x| <= bound (bound 0: none). */
static bool number_tuple(checker *c, const char *field, const json_t *val, size_t n, double bound,
                         const char *shape, double *out)
{
    if (!json_is_array(val)) {
        violation(c, NULL, field, "must be an array %s, got %s", shape, type_name(val));
        return false;
    }
    if (json_array_size(val) != n) {
        violation(c, NULL, field, "must have exactly %zu numbers %s (got %zu)", n, shape,
                  json_array_size(val));
        return false;
    }
    bool ok = true;
    for (size_t k = 0; k < n; k++) {
        char path[32];
        snprintf(path, sizeof path, "%s[%zu]", field, k);
        if (bound > 0)
            ok &= number_in_range(c, path, NULL, json_array_get(val, k), -bound, bound, " pt",
                                  &out[k]);
        else
            ok &= number_field(c, path, NULL, json_array_get(val, k), &out[k]);
    }
    return ok;
}

static int days_in_month(int y, int m)
{
    static const int DAYS[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : DAYS[m - 1];
}

/* "YYYY", "YYYY-MM" or "YYYY-MM-DD" that names a real year, month or day (years 0001..9999,
 * Gregorian leap years). */
static bool date_field(checker *c, const char *path, const json_t *val, char out[11])
{
    size_t len;
    const char *s = string_of(c, path, "date", val, &len);
    if (!s)
        return false;
    char q[256];
    bool shape = (len == 4 || len == 7 || len == 10) && (len < 7 || s[4] == '-') && (len < 10 || s[7] == '-');
    for (size_t k = 0; shape && k < len; k++)
        if (k != 4 && k != 7 && (s[k] < '0' || s[k] > '9'))
            shape = false;
    if (!shape) {
        violation(c, path, "date", "must be a date YYYY, YYYY-MM or YYYY-MM-DD (got %s)", quote(q, s, len));
        return false;
    }
    int y = atoi(s), m = len >= 7 ? atoi(s + 5) : 1, d = len == 10 ? atoi(s + 8) : 1;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        violation(c, path, "date", "is not a real calendar date (got %s)", quote(q, s, len));
        return false;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* <0 when a is before b at the precision both dates have; "2015" and "2015-06-15" are equal. */
static int date_compare(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return strncmp(a, b, la < lb ? la : lb);
}

int map_location_year(const map_location *l)
{
    return l->date[0] ? atoi(l->date) : 0;
}

static bool country_field(checker *c, const char *path, const json_t *val, char out[3])
{
    size_t len;
    const char *s = string_of(c, path, "countryCode", val, &len);
    if (!s)
        return false;
    if (len == 2 && map_country_code_assigned(s)) {
        memcpy(out, s, 2);
        out[2] = '\0';
        return true;
    }
    char q[256];
    bool lower = len == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
    violation(c, path, "countryCode", "must be an ISO 3166-1 alpha-2 country code%s (got %s)",
              lower ? " in upper case, like \"US\"" : ", like \"US\"", quote(q, s, len));
    return false;
}

static bool color_field(checker *c, const char *path, const json_t *val, uint32_t *out)
{
    size_t len;
    const char *s = string_of(c, path, "color", val, &len);
    if (!s)
        return false;
    bool ok = len == 7 && s[0] == '#';
    uint32_t rgb = 0;
    for (size_t k = 1; ok && k < 7; k++) {
        char h = s[k];
        int d = (h >= '0' && h <= '9') ? h - '0'
                : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                         : -1;
        if (d < 0)
            ok = false;
        rgb = (rgb << 4) | (uint32_t)(d & 0xF);
    }
    if (!ok) {
        char q[256];
        violation(c, path, "color", "must be a color #RRGGBB (got %s)", quote(q, s, len));
        return false;
    }
    *out = rgb;
    return true;
}

/* "" leaves the QR code off (*out stays NULL), like null does. */
static bool qr_url_field(checker *c, const json_t *val, char **out)
{
    if (!json_is_string(val)) {
        wrong_type(c, NULL, "qrUrl", "a string or null", val);
        return false;
    }
    const char *s = json_string_value(val);
    size_t len = json_string_length(val);
    if (len == 0)
        return true;
    for (size_t k = 0; k < len; k++) {
        unsigned char b = (unsigned char)s[k];
        if (b >= 0x80) {
            violation(c, NULL, "qrUrl", "must contain only ASCII characters (percent-encode others)");
            return false;
        }
        if (b <= 0x20 || b == 0x7F) {
            violation(c, NULL, "qrUrl", "must not contain spaces or control characters (at character %zu)",
                      k + 1);
            return false;
        }
    }
    if (len > MAP_MAX_QR_URL) {
        violation(c, NULL, "qrUrl", "must be at most %d characters (got %zu)", MAP_MAX_QR_URL, len);
        return false;
    }
    size_t scheme = !strncasecmp(s, "https://", 8) ? 8 : !strncasecmp(s, "http://", 7) ? 7 : 0;
    size_t host = scheme ? strcspn(s + scheme, "/?#") : 0;
    if (!scheme || host == 0) {
        char q[256];
        violation(c, NULL, "qrUrl", "must be an http or https URL with a host (got %s)",
                  quote(q, s, len));
        return false;
    }
    *out = awm_strdup(s);
    return true;
}

/* ---- people and locations --------------------------------------------------------------- */

static void location_free(map_location *l)
{
    free(l->name);
    l->name = NULL;
}

static void person_free(map_person *p)
{
    free(p->id);
    free(p->name);
    for (size_t k = 0; k < p->location_count; k++)
        location_free(&p->locations[k]);
    free(p->locations);
    memset(p, 0, sizeof *p);
}

/* Checks one location into *out (fields it could read); returns false when anything was wrong. */
static bool check_location(checker *c, const char *path, const json_t *lj, map_location *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(lj)) {
        wrong_type(c, path, NULL, "an object", lj);
        return false;
    }
    size_t before = c->v->count + c->unlisted;
    const json_t *j;
    if ((j = required(c, path, lj, "longitude")))
        number_in_range(c, path, "longitude", j, -180, 180, "", &out->longitude);
    if ((j = required(c, path, lj, "latitude")))
        number_in_range(c, path, "latitude", j, -90, 90, "", &out->latitude);
    if ((j = optional(lj, "date")))
        date_field(c, path, j, out->date);
    if ((j = optional(lj, "countryCode")))
        country_field(c, path, j, out->country_code);
    if ((j = optional(lj, "name")))
        out->name = text_field(c, path, "name", j, 0, MAP_MAX_PLACE_NAME, true);
    return c->v->count + c->unlisted == before;
}

/* For each person, the index of an earlier person with the same id, or SIZE_MAX. Sorting
 * keeps this O(n log n) even for a hostile array far beyond MAP_MAX_PEOPLE entries. */
typedef struct {
    const char *id;
    size_t len, index;
} id_entry;

static int id_entry_cmp(const void *a, const void *b)
{
    const id_entry *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->id, y->id, n);
    if (r)
        return r;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static size_t *find_duplicate_ids(const json_t *people)
{
    size_t n = json_array_size(people), m = 0;
    size_t *dup_of = awm_xmalloc((n ? n : 1) * sizeof *dup_of);
    id_entry *ids = awm_xmalloc((n ? n : 1) * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        dup_of[i] = SIZE_MAX;
        const json_t *id = json_object_get(json_array_get(people, i), "id");
        if (json_is_string(id))
            ids[m++] = (id_entry){json_string_value(id), json_string_length(id), i};
    }
    qsort(ids, m, sizeof *ids, id_entry_cmp);
    for (size_t k = 1; k < m; k++) {
        const id_entry *prev = &ids[k - 1], *cur = &ids[k];
        if (prev->len == cur->len && !memcmp(prev->id, cur->id, cur->len))
            dup_of[cur->index] = dup_of[prev->index] != SIZE_MAX ? dup_of[prev->index] : prev->index;
    }
    free(ids);
    return dup_of;
}

/* Checks people[i] into *out; locations are stored only when their count is within limits. */
static void check_person(checker *c, size_t i, const json_t *pj, size_t dup_of, map_person *out)
{
    char path[64];
    snprintf(path, sizeof path, "people[%zu]", i);
    memset(out, 0, sizeof *out);
    if (!json_is_object(pj)) {
        wrong_type(c, path, NULL, "an object", pj);
        return;
    }
    const json_t *j;
    if ((j = required(c, path, pj, "id"))) {
        out->id = text_field(c, path, "id", j, 1, MAP_MAX_PERSON_ID, false);
        if (out->id && dup_of != SIZE_MAX) {
            char q[256];
            violation(c, path, "id", "duplicate id %s (also the id of people[%zu])", quote_json(q, j),
                      dup_of);
        }
    }
    if ((j = required(c, path, pj, "name")))
        out->name = text_field(c, path, "name", j, 1, MAP_MAX_PERSON_NAME, true);
    if ((j = optional(pj, "color")))
        out->has_color = color_field(c, path, j, &out->color);

    const json_t *locs = optional(pj, "locations");
    if (!locs)
        return;
    if (!json_is_array(locs)) {
        wrong_type(c, path, "locations", "an array", locs);
        return;
    }
    size_t n = json_array_size(locs);
    bool keep = n <= MAP_MAX_LOCATIONS;
    if (!keep)
        violation(c, path, "locations", "must have at most %d entries (got %zu)", MAP_MAX_LOCATIONS, n);
    if (keep && n)
        out->locations = awm_xcalloc(n, sizeof *out->locations);
    char prev_date[11] = "";
    size_t prev_index = 0;
    for (size_t k = 0; k < n; k++) {
        char lpath[96];
        snprintf(lpath, sizeof lpath, "%s.locations[%zu]", path, k);
        map_location loc;
        bool ok = check_location(c, lpath, json_array_get(locs, k), &loc);
        /* "in chronological order": among the locations that carry a date, none may be
         * earlier than the one before it (undated ones keep their place in the sequence). */
        if (ok && loc.date[0]) {
            if (prev_date[0] && date_compare(loc.date, prev_date) < 0)
                violation(c, lpath, "date",
                          "%s is before %s, the date of locations[%zu]; locations must be in "
                          "chronological order",
                          loc.date, prev_date, prev_index);
            /* The bound for what follows is the latest date so far, at the finest precision
             * known: after 2000-06, "2000" is fine, but 2000-05-31 is still too early. */
            int order = date_compare(loc.date, prev_date);
            if (!prev_date[0] || order > 0 || (order == 0 && strlen(loc.date) > strlen(prev_date))) {
                memcpy(prev_date, loc.date, sizeof prev_date);
                prev_index = k;
            }
        }
        if (keep) {
            out->locations[k] = loc;
            out->location_count = k + 1;
        } else {
            location_free(&loc);
        }
    }
}

/* ---- the whole definition --------------------------------------------------------------- */

static void check_root(checker *c, const json_t *root, map_definition *out)
{
    if (!json_is_object(root)) {
        violation(c, NULL, NULL, "the map definition must be a JSON object, got %s",
                  root ? type_name(root) : "nothing");
        return;
    }
    size_t bytes = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (bytes > MAP_MAX_DEFINITION_BYTES)
        violation(c, NULL, NULL,
                  "the map definition is %zu bytes as compact JSON, at most %d (%d MiB): fewer "
                  "places or shorter names", bytes, MAP_MAX_DEFINITION_BYTES,
                  MAP_MAX_DEFINITION_BYTES >> 20);
    const json_t *j;
    if ((j = required(c, NULL, root, "title")))
        out->title = text_field(c, NULL, "title", j, 1, MAP_MAX_TITLE, true);
    if ((j = optional(root, "subtitle")))
        out->subtitle = text_field(c, NULL, "subtitle", j, 0, MAP_MAX_SUBTITLE, true);
    else
        out->subtitle = awm_strdup("");

    if ((j = required(c, NULL, root, "people"))) {
        if (!json_is_array(j)) {
            wrong_type(c, NULL, "people", "an array", j);
        } else {
            size_t n = json_array_size(j);
            bool keep = n >= 1 && n <= MAP_MAX_PEOPLE;
            if (n == 0)
                violation(c, NULL, "people", "must have at least 1 entry");
            else if (!keep)
                violation(c, NULL, "people", "must have at most %d entries (got %zu)", MAP_MAX_PEOPLE, n);
            size_t *dup_of = find_duplicate_ids(j);
            if (keep)
                out->people = awm_xcalloc(n, sizeof *out->people);
            for (size_t i = 0; i < n; i++) {
                map_person p;
                check_person(c, i, json_array_get(j, i), dup_of[i], &p);
                if (keep) {
                    out->people[i] = p;
                    out->person_count = i + 1;
                } else {
                    person_free(&p);
                }
            }
            free(dup_of);
        }
    }

    out->projection = GEO_PROJ_ORTHOGRAPHIC;
    if ((j = optional(root, "projection"))) {
        if (!json_is_string(j)) {
            wrong_type(c, NULL, "projection", "a string", j);
        } else if (!geo_projection_kind_parse(json_string_value(j), &out->projection)) {
            char q[256], names[160] = "";
            for (int k = 0; k < GEO_PROJ_COUNT; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
                         geo_projection_kind_name((geo_projection_kind)k));
            violation(c, NULL, "projection", "must be one of %s (got %s)", names, quote_json(q, j));
        }
    }

    memcpy(out->rotation, DEFAULT_ROTATION, sizeof out->rotation);
    if ((j = optional(root, "rotation")))
        number_tuple(c, "rotation", j, 3, 0, "[λ, φ, γ]", out->rotation);

    out->zoom = 1;
    if ((j = optional(root, "zoom")) && number_field(c, NULL, "zoom", j, &out->zoom) &&
        !(out->zoom > 0 && out->zoom <= MAP_MAX_ZOOM)) {
        char g[32];
        violation(c, NULL, "zoom", "must be greater than 0 and at most %g (got %s)", MAP_MAX_ZOOM,
                  fmt_num(g, out->zoom));
    }

    out->pan[0] = out->pan[1] = 0;
    if ((j = optional(root, "pan")))
        number_tuple(c, "pan", j, 2, MAP_MAX_PAN, "[dx, dy]", out->pan);

    out->theme = map_theme_find(DEFAULT_THEME);
    if ((j = optional(root, "theme"))) {
        if (!json_is_string(j)) {
            wrong_type(c, NULL, "theme", "a string", j);
        } else if (!(out->theme = map_theme_find(json_string_value(j)))) {
            size_t n;
            const map_theme *themes = map_themes(&n);
            char q[256], ids[160] = "";
            for (size_t k = 0; k < n; k++)
                snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%s", k ? ", " : "", themes[k].id);
            violation(c, NULL, "theme", "unknown theme %s; the themes are %s", quote_json(q, j), ids);
        }
    }

    if ((j = json_object_get(root, "qrUrl"))) {
        if (!json_is_null(j))
            qr_url_field(c, j, &out->qr_url);
    } else {
        out->qr_url = awm_strdup(DEFAULT_QR_URL);
    }

    out->legend = true;
    if ((j = optional(root, "legend"))) {
        if (json_is_boolean(j))
            out->legend = json_is_true(j);
        else
            wrong_type(c, NULL, "legend", "a boolean", j);
    }

    out->labels = MAP_LABELS_NONE;
    if ((j = optional(root, "labels"))) {
        static const char *const LABELS[] = {"none", "places", "places-and-years"};
        bool known = false;
        for (int k = 0; json_is_string(j) && k < 3; k++) {
            if (!strcmp(json_string_value(j), LABELS[k])) {
                out->labels = (map_labels)k;
                known = true;
            }
        }
        char q[256];
        if (!json_is_string(j))
            wrong_type(c, NULL, "labels", "a string", j);
        else if (!known)
            violation(c, NULL, "labels", "must be one of none, places, places-and-years (got %s)",
                      quote_json(q, j));
    }

    /* People without a colour take the theme's palette by their index, cycling. */
    for (size_t i = 0; out->theme && i < out->person_count; i++)
        if (!out->people[i].has_color)
            out->people[i].color = out->theme->palette[i % MAP_PALETTE_SIZE];
}

void map_definition_free(map_definition *m)
{
    if (!m)
        return;
    free(m->title);
    free(m->subtitle);
    free(m->qr_url);
    for (size_t i = 0; i < m->person_count; i++)
        person_free(&m->people[i]);
    free(m->people);
    memset(m, 0, sizeof *m);
}

void map_definition_warnings(const map_definition *m, map_violations *warnings)
{
    if (m->labels == MAP_LABELS_NONE)
        return;
    for (size_t i = 0; i < m->person_count; i++)
        for (size_t k = 0; k < m->people[i].location_count; k++)
            if (m->people[i].locations[k].name && m->people[i].locations[k].name[0])
                return;
    map_violations_add(warnings, "labels", "no location has a name, so no place label is drawn");
}

/* Common start and end of the public entry points: zeroed outputs, then the verdict. */
static void begin(checker *c, map_violations *v, map_violations *scratch, map_definition *out)
{
    c->v = v ? v : scratch;
    c->unlisted = 0;
    memset(c->v, 0, sizeof *c->v);
    memset(out, 0, sizeof *out);
}

static bool finish(checker *c, map_violations *scratch, map_definition *out)
{
    if (c->unlisted) {
        char *more = NULL;
        if (asprintf(&more, "(%zu more violations not listed)", c->unlisted) < 0)
            abort();
        push_item(c->v, more);
    }
    bool ok = c->v->count == 0;
    if (!ok)
        map_definition_free(out);
    map_violations_free(scratch);
    return ok;
}

bool map_definition_from_json(const json_t *root, map_definition *out, map_violations *v)
{
    checker c;
    map_violations scratch = {0};
    begin(&c, v, &scratch, out);
    check_root(&c, root, out);
    return finish(&c, &scratch, out);
}

static const char *const OVERRIDE_KEYS[] = {"projection", "rotation", "zoom", "pan", "theme"};

const char *const *map_override_keys(size_t *count)
{
    *count = sizeof OVERRIDE_KEYS / sizeof *OVERRIDE_KEYS;
    return OVERRIDE_KEYS;
}

bool map_definition_from_json_with_overrides(const json_t *user_map, const json_t *overrides,
                                             map_definition *out, map_violations *v)
{
    checker c;
    map_violations scratch = {0};
    begin(&c, v, &scratch, out);
    if (overrides && !json_is_null(overrides) && !json_is_object(overrides)) {
        violation(&c, NULL, "overrides", "must be an object, got %s", type_name(overrides));
        check_root(&c, user_map, out);
        return finish(&c, &scratch, out);
    }
    if (!json_is_object(user_map) || !overrides || json_is_null(overrides)) {
        check_root(&c, user_map, out);
        return finish(&c, &scratch, out);
    }
    /* Shallow copy: the override values replace the user's, so they are checked, and named in
     * messages, exactly like the user's own fields. A null override leaves the user's value. */
    json_t *merged = json_copy((json_t *)user_map);
    size_t n_keys;
    const char *const *keys = map_override_keys(&n_keys);
    for (size_t k = 0; k < n_keys; k++) {
        json_t *o = json_object_get(overrides, keys[k]);
        if (o && !json_is_null(o))
            json_object_set(merged, keys[k], o);
    }
    check_root(&c, merged, out);
    json_decref(merged);
    return finish(&c, &scratch, out);
}

bool map_definition_parse(const char *text, size_t len, map_definition *out, map_violations *v)
{
    checker c;
    map_violations scratch = {0};
    begin(&c, v, &scratch, out);
    if (!text)
        len = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { /* a BOM some editors write */
        text += 3;
        len -= 3;
    }
    /* Check UTF-8 ourselves first so the message names the exact byte, line and column. */
    size_t i = 0, line = 1, col = 1;
    while (i < len) {
        uint32_t cp;
        if (!utf8_next((const unsigned char *)text, len, &i, &cp)) {
            violation(&c, NULL, NULL, "invalid UTF-8 at byte offset %zu (line %zu, column %zu)", i, line, col);
            return finish(&c, &scratch, out);
        }
        if (cp == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    json_error_t err;
    json_t *root = json_loadb(text ? text : "", len, 0, &err);
    if (!root) {
        violation(&c, NULL, NULL, "invalid JSON at line %d, column %d: %s", err.line, err.column,
                  err.text);
        return finish(&c, &scratch, out);
    }
    check_root(&c, root, out);
    json_decref(root);
    return finish(&c, &scratch, out);
}
