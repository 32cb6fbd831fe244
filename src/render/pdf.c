/* pdf.c — the print-ready PDF (MAPS-AND-PRINT.md §6): cairo draws the page, libqpdf finishes it
 * into the structure of PDF/X-4 (ISO 15930-7) — MediaBox = BleedBox = the total page,
 * TrimBox = the trim, a GTS_PDFX OutputIntent carrying the colour profile, XMP metadata naming
 * PDF/X-4, Info and XMP agreeing, Trapped false, a document ID, PDF 1.6.
 *
 * Why post-process: cairo writes a good vector PDF with every font embedded, but it has no
 * page boxes besides the MediaBox, no output intents, no XMP and no CMYK; patching its bytes
 * by hand would mean rewriting the xref. qpdf's C API (qpdf-c.h) reads the file, edits objects
 * and writes a consistent file, which is all this needs: no C++ in the build.
 *
 * pdf-cmyk: every colour cairo wrote is sRGB (DeviceRGB). Each content stream (page, forms,
 * tiling patterns, Type 3 glyphs) is rewritten so its RGB colour operators (rg, RG, and
 * cs/sc/scn in /DeviceRGB) set the DeviceCMYK colour lcms2 gives through the operator's
 * profile; each RGB image is converted pixel by pixel; transparency groups blend in CMYK; the
 * OutputIntent carries that profile. Anything this cannot convert (a shading, an image in
 * another colour space) is an error, never a file with RGB left in it. */
#include "render/render_internal.h"

#include <ctype.h>
#include <qpdf/qpdf-c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zlib.h>

/* ---- content streams ---- */
typedef struct {
    size_t out_at;  /* where the token starts in the output */
    bool number;
    double value;
    bool rgb_name;  /* the name /DeviceRGB */
} operand;

#define MAX_OPERANDS 8
#define MAX_DEPTH 64 /* q/Q nesting kept for the colour-space state */

typedef struct {
    const render_cmyk *cmyk;
    awm_buf *out;
    operand ops[MAX_OPERANDS];
    int nops;
    bool fill_rgb[MAX_DEPTH], stroke_rgb[MAX_DEPTH]; /* current colour space is DeviceRGB */
    int depth;
} content_state;

bool render_pdf_available(void)
{
    return true;
}

static bool is_space(unsigned char c)
{
    return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ';
}

static bool is_delim(unsigned char c)
{
    return strchr("()<>[]{}/%", c) != NULL && c != 0;
}

/* A number as PDF writes it: at most 4 decimals, no trailing zeros ("594", "0.2471"). */
static const char *pdf_number(char s[32], double v)
{
    snprintf(s, 32, "%.4f", v);
    char *e = s + strlen(s) - 1;
    while (e > s && *e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
    if (!strcmp(s, "-0"))
        strcpy(s, "0");
    return s;
}

static void put_number(awm_buf *b, double v)
{
    char s[32];
    awm_buf_append(b, pdf_number(s, v), strlen(pdf_number(s, v)));
}

/* Replace the last three numeric operands and the operator `op` with the CMYK colour. */
static bool replace_rgb(content_state *st, const char *op)
{
    if (st->nops < 3)
        return false;
    operand *o = &st->ops[st->nops - 3];
    for (int i = 0; i < 3; i++)
        if (!o[i].number)
            return false;
    double rgb[3] = {o[0].value, o[1].value, o[2].value}, cmyk[4];
    render_cmyk_color(st->cmyk, rgb, cmyk);
    st->out->len = o[0].out_at;
    for (int i = 0; i < 4; i++) {
        put_number(st->out, cmyk[i]);
        awm_buf_append(st->out, " ", 1);
    }
    awm_buf_append(st->out, op, strlen(op));
    return true;
}

static void push_operand(content_state *st, operand o)
{
    if (st->nops == MAX_OPERANDS) {
        memmove(st->ops, st->ops + 1, sizeof st->ops[0] * (MAX_OPERANDS - 1));
        st->nops--;
    }
    st->ops[st->nops++] = o;
}

/* An operator has been copied to the output (ending at out->len): convert it where needed. */
static bool apply_operator(content_state *st, const char *op, awm_error *err)
{
    bool *fill = &st->fill_rgb[st->depth], *stroke = &st->stroke_rgb[st->depth];
    if (!strcmp(op, "q")) {
        if (st->depth + 1 >= MAX_DEPTH) {
            awm_error_set(err, "CMYK conversion: graphics states nested deeper than %d", MAX_DEPTH);
            return false;
        }
        st->depth++;
        st->fill_rgb[st->depth] = *fill;
        st->stroke_rgb[st->depth] = *stroke;
    } else if (!strcmp(op, "Q")) {
        if (st->depth > 0)
            st->depth--;
    } else if (!strcmp(op, "rg") || !strcmp(op, "RG")) {
        bool ok = replace_rgb(st, op[0] == 'r' ? "k" : "K");
        if (!ok) {
            awm_error_set(err, "CMYK conversion: a malformed '%s' operator", op);
            return false;
        }
        *(op[0] == 'r' ? fill : stroke) = false;
    } else if (!strcmp(op, "cs") || !strcmp(op, "CS")) {
        bool rgb = st->nops >= 1 && st->ops[st->nops - 1].rgb_name;
        if (rgb) {
            st->out->len = st->ops[st->nops - 1].out_at;
            awm_buf_printf(st->out, "/DeviceCMYK %s", op);
        }
        *(op[0] == 'c' ? fill : stroke) = rgb;
    } else if (!strcmp(op, "sc") || !strcmp(op, "scn") || !strcmp(op, "SC") || !strcmp(op, "SCN")) {
        bool is_fill = op[0] == 's';
        if (*(is_fill ? fill : stroke) && !replace_rgb(st, op)) {
            awm_error_set(err, "CMYK conversion: a malformed '%s' operator", op);
            return false;
        }
    } else if (!strcmp(op, "g") || !strcmp(op, "k")) {
        *fill = false;
    } else if (!strcmp(op, "G") || !strcmp(op, "K")) {
        *stroke = false;
    }
    st->nops = 0;
    return true;
}

static bool rewrite_content(const unsigned char *in, size_t len, const render_cmyk *cmyk, awm_buf *out,
                            awm_error *err)
{
    content_state st = {.cmyk = cmyk, .out = out};
    size_t i = 0;
    while (i < len) {
        unsigned char c = in[i];
        size_t start = i;
        if (is_space(c)) {
            while (i < len && is_space(in[i]))
                i++;
            awm_buf_append(out, in + start, i - start);
            continue;
        }
        if (c == '%') {
            while (i < len && in[i] != '\n' && in[i] != '\r')
                i++;
            awm_buf_append(out, in + start, i - start);
            continue;
        }
        operand o = {.out_at = out->len};
        if (c == '(') {
            int nest = 0;
            for (; i < len; i++) {
                if (in[i] == '\\')
                    i++;
                else if (in[i] == '(')
                    nest++;
                else if (in[i] == ')' && --nest == 0)
                    break;
            }
            if (i >= len) {
                awm_error_set(err, "CMYK conversion: an unterminated string in a content stream");
                return false;
            }
            i++;
        } else if (c == '<' && i + 1 < len && in[i + 1] == '<') {
            i += 2;
        } else if (c == '>' && i + 1 < len && in[i + 1] == '>') {
            i += 2;
        } else if (c == '<') {
            while (i < len && in[i] != '>')
                i++;
            if (i >= len) {
                awm_error_set(err, "CMYK conversion: an unterminated hex string in a content stream");
                return false;
            }
            i++;
        } else if (c == '[' || c == ']' || c == '{' || c == '}') {
            i++;
        } else if (c == '/') {
            i++;
            while (i < len && !is_space(in[i]) && !is_delim(in[i]))
                i++;
            o.rgb_name = i - start == 10 && !memcmp(in + start, "/DeviceRGB", 10);
        } else {
            while (i < len && !is_space(in[i]) && !is_delim(in[i]))
                i++;
            if (i == start) { /* a stray delimiter such as ')' */
                awm_error_set(err, "CMYK conversion: unexpected '%c' in a content stream", c);
                return false;
            }
            char word[64];
            size_t n = i - start < sizeof word - 1 ? i - start : sizeof word - 1;
            memcpy(word, in + start, n);
            word[n] = '\0';
            char *end;
            double v = strtod(word, &end);
            bool number = *end == '\0' && (isdigit((unsigned char)word[0]) || word[0] == '-' ||
                                           word[0] == '+' || word[0] == '.');
            if (number) {
                o.number = true;
                o.value = v;
            } else if (strcmp(word, "true") && strcmp(word, "false") && strcmp(word, "null")) {
                awm_buf_append(out, in + start, i - start);
                if (!strcmp(word, "BI")) {
                    /* An inline image: copied as it is when it has no colour (a stencil mask). */
                    const unsigned char *id = NULL;
                    for (size_t k = i; k + 3 <= len && !id; k++)
                        if (is_space(in[k]) && in[k + 1] == 'I' && in[k + 2] == 'D' &&
                            (k + 3 == len || is_space(in[k + 3])))
                            id = in + k;
                    size_t dict_len = id ? (size_t)(id - (in + i)) : 0;
                    if (!id || memmem(in + i, dict_len, "RGB", 3)) {
                        awm_error_set(err, "CMYK conversion: an inline RGB image cannot be converted");
                        return false;
                    }
                    size_t k = (size_t)(id - in) + 4;
                    while (k + 3 <= len && !(is_space(in[k - 1]) && in[k] == 'E' && in[k + 1] == 'I' &&
                                             (k + 2 == len || is_space(in[k + 2]))))
                        k++;
                    if (k + 2 > len) {
                        awm_error_set(err, "CMYK conversion: an inline image without its end");
                        return false;
                    }
                    awm_buf_append(out, in + i, k + 2 - i);
                    i = k + 2;
                    st.nops = 0;
                    continue;
                }
                if (!apply_operator(&st, word, err))
                    return false;
                continue;
            }
        }
        awm_buf_append(out, in + start, i - start);
        push_operand(&st, o);
    }
    return true;
}

/* ---- qpdf plumbing ---- */
static bool qpdf_failed(qpdf_data q, const char *what, awm_error *err)
{
    if (!qpdf_has_error(q))
        return false;
    qpdf_error e = qpdf_get_error(q);
    awm_error_set(err, "PDF %s failed: %s", what, e ? qpdf_get_error_full_text(q, e) : "qpdf error");
    return true;
}

static void replace_with(qpdf_data q, qpdf_oh dict, const char *key, const char *object)
{
    qpdf_oh_replace_key(q, dict, key, qpdf_oh_parse(q, object));
}

/* New stream data, deflated here at level 1: the converted content of a large poster is tens
 * of MB of path operators, and qpdf's own compression (level 6) would double the CMYK
 * conversion's time for a file a few per cent smaller (the PNG encoder chose level 1 too). */
static bool replace_stream(qpdf_data q, qpdf_oh stream, const awm_buf *data)
{
    uLongf zlen = compressBound((uLong)data->len);
    unsigned char *z = awm_xmalloc(zlen);
    bool ok = compress2(z, &zlen, (const Bytef *)data->data, (uLong)data->len, 1) == Z_OK;
    if (ok)
        qpdf_oh_replace_stream_data(q, stream, z, zlen, qpdf_oh_new_name(q, "/FlateDecode"), qpdf_oh_new_null(q));
    free(z);
    return ok && !qpdf_has_error(q);
}

static bool convert_content(qpdf_data q, qpdf_oh stream, const render_cmyk *cmyk, awm_error *err)
{
    unsigned char *data = NULL;
    size_t len = 0;
    QPDF_BOOL filtered = QPDF_FALSE;
    if (qpdf_oh_get_stream_data(q, stream, qpdf_dl_generalized, &filtered, &data, &len) & QPDF_ERRORS ||
        !filtered) {
        free(data);
        if (!qpdf_failed(q, "CMYK conversion", err))
            awm_error_set(err, "CMYK conversion: a content stream cannot be decoded");
        return false;
    }
    awm_buf out = {0};
    bool ok = rewrite_content(data, len, cmyk, &out, err) && replace_stream(q, stream, &out);
    free(data);
    awm_buf_free(&out);
    return ok && !qpdf_failed(q, "CMYK conversion", err);
}

static bool convert_image(qpdf_data q, qpdf_oh image, qpdf_oh dict, const render_cmyk *cmyk, awm_error *err)
{
    qpdf_oh cs = qpdf_oh_get_key(q, dict, "/ColorSpace");
    qpdf_oh mask = qpdf_oh_get_key(q, dict, "/ImageMask");
    if (qpdf_oh_is_name_and_equals(q, cs, "/DeviceGray") || qpdf_oh_is_name_and_equals(q, cs, "/DeviceCMYK") ||
        (qpdf_oh_is_bool(q, mask) && qpdf_oh_get_bool_value(q, mask)))
        return true; /* soft masks, stencils and grey need no conversion */
    long long w = qpdf_oh_get_int_value(q, qpdf_oh_get_key(q, dict, "/Width"));
    long long h = qpdf_oh_get_int_value(q, qpdf_oh_get_key(q, dict, "/Height"));
    long long bpc = qpdf_oh_get_int_value(q, qpdf_oh_get_key(q, dict, "/BitsPerComponent"));
    if (!qpdf_oh_is_name_and_equals(q, cs, "/DeviceRGB") || bpc != 8 || w <= 0 || h <= 0 || w > 65536 ||
        h > 65536) {
        awm_error_set(err, "CMYK conversion: a %lld × %lld image in %s with %lld bits cannot be converted", w, h,
                      qpdf_oh_unparse(q, cs), bpc);
        return false;
    }
    unsigned char *data = NULL;
    size_t len = 0;
    QPDF_BOOL filtered = QPDF_FALSE;
    if (qpdf_oh_get_stream_data(q, image, qpdf_dl_generalized, &filtered, &data, &len) & QPDF_ERRORS ||
        !filtered || len != (size_t)w * (size_t)h * 3) {
        free(data);
        if (!qpdf_failed(q, "CMYK conversion", err))
            awm_error_set(err, "CMYK conversion: an RGB image cannot be decoded");
        return false;
    }
    size_t pixels = (size_t)w * (size_t)h;
    awm_buf out = {.data = awm_xmalloc(pixels * 4), .len = pixels * 4, .cap = pixels * 4};
    render_cmyk_pixels(cmyk, data, (unsigned char *)out.data, pixels);
    free(data);
    bool ok = replace_stream(q, image, &out);
    awm_buf_free(&out);
    replace_with(q, dict, "/ColorSpace", "/DeviceCMYK");
    qpdf_oh_remove_key(q, dict, "/Decode");
    return ok && !qpdf_failed(q, "CMYK conversion", err);
}

/* A transparency group blends in the output's colour space. */
static void convert_group(qpdf_data q, qpdf_oh dict)
{
    qpdf_oh group = qpdf_oh_get_key(q, dict, "/Group");
    if (qpdf_oh_is_dictionary(q, group) &&
        qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, group, "/CS"), "/DeviceRGB"))
        replace_with(q, group, "/CS", "/DeviceCMYK");
}

static bool id_in(const int *ids, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void add_stream_id(qpdf_data q, qpdf_oh oh, int **ids, size_t *n)
{
    if (qpdf_oh_is_stream(q, oh)) {
        *ids = awm_xrealloc(*ids, (*n + 1) * sizeof **ids);
        (*ids)[(*n)++] = qpdf_oh_get_object_id(q, oh);
    }
}

/* The streams of a page's /Contents (a stream or an array of them) or of a Type 3 font's
 * /CharProcs (a dictionary of them): one level, so a cyclic file cannot recurse. */
static void add_stream_ids(qpdf_data q, qpdf_oh oh, int **ids, size_t *n)
{
    if (qpdf_oh_is_array(q, oh)) {
        for (int i = 0; i < qpdf_oh_get_array_n_items(q, oh); i++)
            add_stream_id(q, qpdf_oh_get_array_item(q, oh, i), ids, n);
    } else if (qpdf_oh_is_dictionary(q, oh)) {
        /* Keys first: qpdf has one key iterator, which a nested call would reset. */
        char **keys = NULL;
        size_t count = 0;
        for (qpdf_oh_begin_dict_key_iter(q, oh); qpdf_oh_dict_more_keys(q);) {
            keys = awm_xrealloc(keys, (count + 1) * sizeof *keys);
            keys[count++] = awm_strdup(qpdf_oh_dict_next_key(q));
        }
        for (size_t i = 0; i < count; i++) {
            add_stream_id(q, qpdf_oh_get_key(q, oh, keys[i]), ids, n);
            free(keys[i]);
        }
        free(keys);
    } else {
        add_stream_id(q, oh, ids, n);
    }
}

/* Every colour in the file to DeviceCMYK. cairo writes each object once, generation 0. */
#define MAX_OBJECTS 1000000 /* a poster has a few hundred */

static bool convert_to_cmyk(qpdf_data q, qpdf_oh page, const render_cmyk *cmyk, awm_error *err)
{
    int size = qpdf_oh_get_int_value_as_int(q, qpdf_oh_get_key(q, qpdf_get_trailer(q), "/Size"));
    if (size < 0 || size > MAX_OBJECTS) {
        awm_error_set(err, "CMYK conversion: %d objects (at most %d)", size, MAX_OBJECTS);
        return false;
    }
    int *content = NULL;
    size_t content_n = 0;
    add_stream_ids(q, qpdf_oh_get_key(q, page, "/Contents"), &content, &content_n);
    for (int id = 1; id < size; id++) { /* Type 3 glyph procedures are content streams too */
        qpdf_oh oh = qpdf_get_object_by_id(q, id, 0);
        if (qpdf_oh_is_dictionary_of_type(q, oh, "/Font", "/Type3"))
            add_stream_ids(q, qpdf_oh_get_key(q, oh, "/CharProcs"), &content, &content_n);
    }
    convert_group(q, page);
    bool ok = true;
    for (int id = 1; ok && id < size; id++) {
        qpdf_oh oh = qpdf_get_object_by_id(q, id, 0);
        bool stream = qpdf_oh_is_stream(q, oh);
        qpdf_oh dict = stream ? qpdf_oh_get_dict(q, oh) : oh;
        if (!qpdf_oh_is_dictionary(q, dict))
            continue;
        if (qpdf_oh_has_key(q, dict, "/ShadingType") || qpdf_oh_has_key(q, dict, "/Shading")) {
            awm_error_set(err, "CMYK conversion: gradients (shadings) are not supported");
            ok = false;
        } else if (stream && qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, dict, "/Subtype"), "/Image")) {
            ok = convert_image(q, oh, dict, cmyk, err);
        } else if (stream && (id_in(content, content_n, id) ||
                              qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, dict, "/Subtype"), "/Form") ||
                              qpdf_oh_has_key(q, dict, "/PatternType"))) {
            convert_group(q, dict);
            ok = convert_content(q, oh, cmyk, err);
        }
        qpdf_oh_release_all(q); /* handles are per object; keep their number small */
    }
    free(content);
    return ok;
}

/* ---- metadata ---- */
static void xml_escaped(awm_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': awm_buf_printf(b, "&amp;"); break;
        case '<': awm_buf_printf(b, "&lt;"); break;
        case '>': awm_buf_printf(b, "&gt;"); break;
        case '"': awm_buf_printf(b, "&quot;"); break;
        default: awm_buf_append(b, s, 1);
        }
    }
}

static void make_uuid(char out[37])
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)((ts.tv_nsec >> (i % 4 * 8)) ^ (ts.tv_sec >> (i % 8)) ^ (i * 151));
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
             r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

#define PRODUCER "AWM (cairo, qpdf)"

static void xmp_packet(awm_buf *b, const char *title, const char *iso_date)
{
    char doc_id[37], instance_id[37];
    make_uuid(doc_id);
    make_uuid(instance_id);
    awm_buf_printf(b,
                   "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                   "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                   " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
                   "  <rdf:Description rdf:about=\"\"\n"
                   "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
                   "    xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\"\n"
                   "    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\"\n"
                   "    xmlns:xmpMM=\"http://ns.adobe.com/xap/1.0/mm/\"\n"
                   "    xmlns:pdfxid=\"http://www.npes.org/pdfx/ns/id/\">\n"
                   "   <dc:format>application/pdf</dc:format>\n"
                   "   <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">");
    xml_escaped(b, title);
    awm_buf_printf(b,
                   "</rdf:li></rdf:Alt></dc:title>\n"
                   "   <xmp:CreatorTool>AWM</xmp:CreatorTool>\n"
                   "   <xmp:CreateDate>%s</xmp:CreateDate>\n"
                   "   <xmp:ModifyDate>%s</xmp:ModifyDate>\n"
                   "   <xmp:MetadataDate>%s</xmp:MetadataDate>\n"
                   "   <pdf:Producer>" PRODUCER "</pdf:Producer>\n"
                   "   <pdf:Trapped>False</pdf:Trapped>\n"
                   "   <xmpMM:DocumentID>uuid:%s</xmpMM:DocumentID>\n"
                   "   <xmpMM:InstanceID>uuid:%s</xmpMM:InstanceID>\n"
                   "   <xmpMM:VersionID>1</xmpMM:VersionID>\n"
                   "   <xmpMM:RenditionClass>default</xmpMM:RenditionClass>\n"
                   "   <pdfxid:GTS_PDFXVersion>PDF/X-4</pdfxid:GTS_PDFXVersion>\n"
                   "  </rdf:Description>\n"
                   " </rdf:RDF>\n"
                   "</x:xmpmeta>\n"
                   "<?xpacket end=\"r\"?>",
                   iso_date, iso_date, iso_date, doc_id, instance_id);
}

static void set_info(qpdf_data q, const char *title, const char *pdf_date)
{
    qpdf_oh trailer = qpdf_get_trailer(q);
    qpdf_oh info = qpdf_oh_get_key(q, trailer, "/Info");
    if (!qpdf_oh_is_dictionary(q, info)) {
        info = qpdf_make_indirect_object(q, qpdf_oh_new_dictionary(q));
        qpdf_oh_replace_key(q, trailer, "/Info", info);
    }
    qpdf_oh_replace_key(q, info, "/Title", qpdf_oh_new_unicode_string(q, title));
    qpdf_oh_replace_key(q, info, "/Creator", qpdf_oh_new_string(q, "AWM"));
    qpdf_oh_replace_key(q, info, "/Producer", qpdf_oh_new_string(q, PRODUCER));
    qpdf_oh_replace_key(q, info, "/CreationDate", qpdf_oh_new_string(q, pdf_date));
    qpdf_oh_replace_key(q, info, "/ModDate", qpdf_oh_new_string(q, pdf_date));
    qpdf_oh_replace_key(q, info, "/Trapped", qpdf_oh_new_name(q, "/False"));
    qpdf_oh_replace_key(q, info, "/GTS_PDFXVersion", qpdf_oh_new_string(q, "PDF/X-4"));
}

static qpdf_oh output_intent(qpdf_data q, const unsigned char *icc, size_t icc_len, int components,
                             const char *condition)
{
    qpdf_oh profile = qpdf_oh_new_stream(q);
    qpdf_oh_replace_stream_data(q, profile, icc, icc_len, qpdf_oh_new_null(q), qpdf_oh_new_null(q));
    qpdf_oh_replace_key(q, qpdf_oh_get_dict(q, profile), "/N", qpdf_oh_new_integer(q, components));
    qpdf_oh intent = qpdf_oh_parse(q, "<< /Type /OutputIntent /S /GTS_PDFX "
                                      "/RegistryName (http://www.color.org) >>");
    qpdf_oh_replace_key(q, intent, "/OutputConditionIdentifier", qpdf_oh_new_unicode_string(q, condition));
    qpdf_oh_replace_key(q, intent, "/OutputCondition", qpdf_oh_new_unicode_string(q, condition));
    qpdf_oh_replace_key(q, intent, "/Info", qpdf_oh_new_unicode_string(q, condition));
    qpdf_oh_replace_key(q, intent, "/DestOutputProfile", profile);
    return intent;
}

static void set_boxes(qpdf_data q, qpdf_oh page, const map_page_boxes *b)
{
    /* PDF's y axis points up: the trim box from the page's bottom-left corner. */
    char box[160], n[4][32];
    snprintf(box, sizeof box, "[0 0 %s %s]", pdf_number(n[0], b->total.w), pdf_number(n[1], b->total.h));
    replace_with(q, page, "/MediaBox", box);
    replace_with(q, page, "/BleedBox", box);
    snprintf(box, sizeof box, "[%s %s %s %s]", pdf_number(n[0], b->trim.x),
             pdf_number(n[1], b->total.h - b->trim.y - b->trim.h), pdf_number(n[2], b->trim.x + b->trim.w),
             pdf_number(n[3], b->total.h - b->trim.y));
    replace_with(q, page, "/TrimBox", box);
    qpdf_oh_remove_key(q, page, "/CropBox");
    qpdf_oh_remove_key(q, page, "/ArtBox");
}

bool render_pdf_finish(const void *pdf, size_t len, const map_page_boxes *boxes, const char *title,
                       const render_cmyk *cmyk, awm_buf *out, awm_error *err)
{
    qpdf_data q = qpdf_init();
    qpdf_silence_errors(q);
    qpdf_set_suppress_warnings(q, QPDF_TRUE);
    bool ok = !(qpdf_read_memory(q, "cairo's PDF", pdf, len, NULL) & QPDF_ERRORS);
    if (!ok)
        qpdf_failed(q, "reading", err);
    qpdf_oh page = ok ? qpdf_get_page_n(q, 0) : 0;
    if (ok && (qpdf_get_num_pages(q) != 1 || !qpdf_oh_is_dictionary(q, page))) {
        awm_error_set(err, "PDF post-processing: cairo's PDF does not have exactly one page");
        ok = false;
    }
    if (ok && cmyk) {
        ok = convert_to_cmyk(q, page, cmyk, err);
        page = qpdf_get_page_n(q, 0);
    }
    if (ok) {
        set_boxes(q, page, boxes);
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char pdf_date[32], iso_date[32];
        strftime(pdf_date, sizeof pdf_date, "D:%Y%m%d%H%M%S+00'00'", &tm);
        strftime(iso_date, sizeof iso_date, "%Y-%m-%dT%H:%M:%SZ", &tm);
        set_info(q, title ? title : "", pdf_date);

        qpdf_oh root = qpdf_get_root(q);
        awm_buf xmp = {0};
        xmp_packet(&xmp, title ? title : "", iso_date);
        qpdf_oh meta = qpdf_oh_new_stream(q);
        qpdf_oh_replace_stream_data(q, meta, (const unsigned char *)xmp.data, xmp.len, qpdf_oh_new_null(q),
                                    qpdf_oh_new_null(q));
        awm_buf_free(&xmp);
        qpdf_oh meta_dict = qpdf_oh_get_dict(q, meta);
        replace_with(q, meta_dict, "/Type", "/Metadata");
        replace_with(q, meta_dict, "/Subtype", "/XML");
        qpdf_oh_replace_key(q, root, "/Metadata", meta);

        const unsigned char *icc;
        size_t icc_len;
        qpdf_oh intent;
        if (cmyk) {
            icc = render_cmyk_icc(cmyk, &icc_len);
            intent = output_intent(q, icc, icc_len, 4, render_cmyk_description(cmyk));
        } else if (render_srgb_profile(&icc, &icc_len, err)) {
            intent = output_intent(q, icc, icc_len, 3, RENDER_SRGB_DESCRIPTION);
        } else {
            ok = false;
        }
        if (ok) {
            qpdf_oh_replace_key(q, root, "/OutputIntents", qpdf_oh_wrap_in_array(q, intent));
            ok = !qpdf_failed(q, "post-processing", err);
        }
    }
    if (ok) {
        /* PDF/X-4 is PDF 1.6; the ID is a hash of the content, so it is stable for a file. */
        qpdf_init_write_memory(q);
        qpdf_set_minimum_pdf_version(q, "1.6");
        qpdf_set_deterministic_ID(q, QPDF_TRUE);
        qpdf_set_compress_streams(q, QPDF_TRUE);
        ok = !(qpdf_write(q) & QPDF_ERRORS);
        if (!ok)
            qpdf_failed(q, "writing", err);
    }
    if (ok) {
        size_t n = qpdf_get_buffer_length(q);
        awm_buf_append(out, qpdf_get_buffer(q), n);
    }
    qpdf_cleanup(&q);
    return ok;
}
