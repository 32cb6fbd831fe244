/* pdf_absent.c — render_pdf_finish for a program built without the PDF/X finishing: `awm`,
 * which hands PDF renders to awm-server before drawing (cmd_render.c), so this error is only
 * reached by a caller that did not ask render_pdf_available first. */
#include "render/render_internal.h"

bool render_pdf_available(void)
{
    return false;
}

bool render_pdf_finish(const void *pdf, size_t len, const map_page_boxes *boxes, const char *title,
                       const render_cmyk *cmyk, awm_buf *out, awm_error *err)
{
    (void)pdf, (void)len, (void)boxes, (void)title, (void)cmyk, (void)out;
    awm_error_set(err, "PDF output is not built into this program (awm-server writes it)");
    return false;
}
