/* color.c — colour management with lcms2 (MAPS-AND-PRINT.md §6): the ICC version 2 sRGB
 * profile that every PNG and PDF carries, and the operator's CMYK profile that the pdf-cmyk
 * output converts every colour through.
 *
 * The sRGB profile is built by lcms2 rather than read from a file (Debian's icc-profiles-free
 * sRGB.icc would do as well): nothing to install or lose at run time, and the bytes are fixed
 * by the code, so the same map gives the same PNG on every machine. lcms2 writes v2 tag types
 * (curveType, textDescriptionType) once the version is set to 2.1 before saving. */
#include "render/render_internal.h"

#include <errno.h>
#include <lcms2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- sRGB, made once ---- */
static pthread_once_t g_srgb_once = PTHREAD_ONCE_INIT;
static unsigned char *g_srgb;
static cmsUInt32Number g_srgb_len;

static void make_srgb(void)
{
    cmsHPROFILE prof = cmsCreate_sRGBProfile();
    if (!prof)
        return;
    cmsSetProfileVersion(prof, 2.1);
    cmsMLU *desc = cmsMLUalloc(NULL, 1);
    bool ok = desc && cmsMLUsetASCII(desc, "en", "US", RENDER_SRGB_DESCRIPTION) &&
              cmsWriteTag(prof, cmsSigProfileDescriptionTag, desc);
    if (desc)
        cmsMLUfree(desc);
    cmsUInt32Number len = 0;
    if (ok && cmsSaveProfileToMem(prof, NULL, &len) && len > 0) {
        g_srgb = awm_xmalloc(len);
        if (!cmsSaveProfileToMem(prof, g_srgb, &len)) {
            free(g_srgb);
            g_srgb = NULL;
            len = 0;
        }
    }
    /* lcms stamps the header with the creation time (bytes 24..35, six big-endian uint16:
     * year, month, day, h, m, s). Pin it so the same map always gives the same bytes (a v2
     * profile has no MD5 profile ID that this would invalidate). */
    if (g_srgb && len >= 36) {
        static const unsigned char fixed_date[12] = {0x07, 0xE8, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0};
        memcpy(g_srgb + 24, fixed_date, sizeof fixed_date);
    }
    g_srgb_len = len;
    cmsCloseProfile(prof);
}

bool render_srgb_profile(const unsigned char **data, size_t *len, awm_error *err)
{
    pthread_once(&g_srgb_once, make_srgb);
    if (!g_srgb) {
        awm_error_set(err, "the sRGB ICC profile cannot be created");
        return false;
    }
    *data = g_srgb;
    *len = g_srgb_len;
    return true;
}

/* ---- the operator's CMYK profile ---- */
struct render_cmyk {
    unsigned char *icc;
    size_t icc_len;
    char description[256];
    cmsHTRANSFORM rgb8, rgb16; /* sRGB → CMYK, 8 bit for images, 16 bit for vector colours */
};

/* lcms2 reports errors through a global handler; ours keeps the last message per thread. */
static _Thread_local char t_cms_msg[256];

static void cms_error(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void)ctx;
    (void)code;
    snprintf(t_cms_msg, sizeof t_cms_msg, "%s", text);
}

static pthread_once_t g_cms_once = PTHREAD_ONCE_INIT;

static void set_cms_handler(void)
{
    cmsSetLogErrorHandler(cms_error);
}

static unsigned char *read_file(const char *path, size_t max, size_t *len, awm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        awm_error_set(err, "CMYK profile %s cannot be read: %s", path, strerror(errno));
        return NULL;
    }
    awm_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= max)
        awm_buf_append(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (bad || b.len > max) {
        awm_error_set(err, bad ? "CMYK profile %s cannot be read" : "CMYK profile %s is larger than 16 MB",
                      path);
        awm_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return (unsigned char *)b.data;
}

render_cmyk *render_cmyk_open(const char *path, awm_error *err)
{
    size_t len = 0;
    unsigned char *icc = read_file(path, 16u << 20, &len, err);
    if (!icc)
        return NULL;
    pthread_once(&g_cms_once, set_cms_handler);
    t_cms_msg[0] = '\0';
    cmsHPROFILE cmyk = cmsOpenProfileFromMem(icc, (cmsUInt32Number)len);
    if (!cmyk) {
        awm_error_set(err, "CMYK profile %s is not an ICC profile%s%s", path, t_cms_msg[0] ? ": " : "",
                      t_cms_msg);
        free(icc);
        return NULL;
    }
    if (cmsGetColorSpace(cmyk) != cmsSigCmykData || cmsGetDeviceClass(cmyk) != cmsSigOutputClass) {
        awm_error_set(err, "CMYK profile %s is not a CMYK output (printer) profile", path);
        cmsCloseProfile(cmyk);
        free(icc);
        return NULL;
    }
    render_cmyk *c = awm_xcalloc(1, sizeof *c);
    c->icc = icc;
    c->icc_len = len;
    if (!cmsGetProfileInfoASCII(cmyk, cmsInfoDescription, "en", "US", c->description, sizeof c->description) ||
        !c->description[0])
        snprintf(c->description, sizeof c->description, "CMYK");
    const unsigned char *srgb_data;
    size_t srgb_len;
    cmsHPROFILE srgb = render_srgb_profile(&srgb_data, &srgb_len, err)
                           ? cmsOpenProfileFromMem(srgb_data, (cmsUInt32Number)srgb_len)
                           : NULL;
    /* Relative colorimetric with black-point compensation: what prepress converts with. */
    cmsUInt32Number flags = cmsFLAGS_BLACKPOINTCOMPENSATION;
    if (srgb) {
        c->rgb8 = cmsCreateTransform(srgb, TYPE_RGB_8, cmyk, TYPE_CMYK_8, INTENT_RELATIVE_COLORIMETRIC, flags);
        c->rgb16 = cmsCreateTransform(srgb, TYPE_RGB_16, cmyk, TYPE_CMYK_16, INTENT_RELATIVE_COLORIMETRIC,
                                      flags | cmsFLAGS_NOCACHE);
        cmsCloseProfile(srgb);
    }
    cmsCloseProfile(cmyk);
    if (!c->rgb8 || !c->rgb16) {
        if (!srgb)
            awm_error_set(err, "the sRGB ICC profile cannot be created");
        else
            awm_error_set(err, "no sRGB to CMYK conversion through %s%s%s", path, t_cms_msg[0] ? ": " : "",
                          t_cms_msg);
        render_cmyk_close(c);
        return NULL;
    }
    return c;
}

void render_cmyk_close(render_cmyk *c)
{
    if (!c)
        return;
    if (c->rgb8)
        cmsDeleteTransform(c->rgb8);
    if (c->rgb16)
        cmsDeleteTransform(c->rgb16);
    free(c->icc);
    free(c);
}

const char *render_cmyk_description(const render_cmyk *c)
{
    return c->description;
}

const unsigned char *render_cmyk_icc(const render_cmyk *c, size_t *len)
{
    *len = c->icc_len;
    return c->icc;
}

void render_cmyk_pixels(const render_cmyk *c, const unsigned char *rgb, unsigned char *cmyk, size_t count)
{
    while (count > 0) { /* lcms takes a 32-bit count */
        cmsUInt32Number n = count > (1u << 30) ? (1u << 30) : (cmsUInt32Number)count;
        cmsDoTransform(c->rgb8, rgb, cmyk, n);
        rgb += (size_t)n * 3;
        cmyk += (size_t)n * 4;
        count -= n;
    }
}

void render_cmyk_color(const render_cmyk *c, const double rgb[3], double cmyk[4])
{
    cmsUInt16Number in[3], out[4];
    for (int i = 0; i < 3; i++) {
        double v = rgb[i] < 0 ? 0 : rgb[i] > 1 ? 1 : rgb[i];
        in[i] = (cmsUInt16Number)(v * 65535.0 + 0.5);
    }
    cmsDoTransform(c->rgb16, in, out, 1);
    for (int i = 0; i < 4; i++)
        cmyk[i] = out[i] / 65535.0;
}

bool render_cmyk_profile_check(const char *path, char *description, size_t size, awm_error *err)
{
    render_cmyk *c = render_cmyk_open(path, err);
    if (!c)
        return false;
    if (description && size)
        snprintf(description, size, "%s", c->description);
    render_cmyk_close(c);
    return true;
}
