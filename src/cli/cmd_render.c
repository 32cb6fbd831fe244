/* cmd_render.c — `awm render MAP.json OUT --size 18x24`: a print-ready poster file from a
 * map definition, without any server. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/commands.h"
#include "map/map.h"
#include "render/render.h"
#include "util/util.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: awm render MAP.json OUT --size SIZE [options]\n"
            "       awm render --sample OUT [--size SIZE] [options]\n\n"
            "Draw a poster from a map definition. The format follows OUT's extension\n"
            "(.png, .pdf, .svg) unless --format is given.\n\n"
            "options:\n"
            "  --size SIZE        print size: %s\n"
            "                     (required, except with --sample where it defaults to 18x24)\n"
            "  --format FMT       png (300 DPI, sRGB ICC), pdf (vector, fonts embedded, PDF/X-4\n"
            "                     structure, sRGB), pdf-cmyk (the same in CMYK) or svg\n"
            "  --cmyk-profile F   ICC CMYK output profile (GRACoL, FOGRA39, ...): the PDF's colours\n"
            "                     are converted to CMYK through it (implies pdf-cmyk for a PDF)\n"
            "  --dpi N            PNG resolution, at most 300 (default 300; lower for previews)\n"
            "  --theme ID         override the map's theme\n"
            "  --projection NAME  override the map's projection\n"
            "  --sample           render the bundled sample map\n"
            "  --quiet            no progress output\n\n"
            "exit status: 0 done, 2 invalid input, 1 any other failure\n",
            map_print_spec_list());
}

/* An interrupted render leaves nothing behind: drop the temp files, then die of the signal. */
static void on_fatal_signal(int sig)
{
    awm_atomic_cleanup_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void show_progress(void *user, double fraction)
{
    const char *key = user;
    fprintf(stderr, "\rrendering %s: %3d%%", key, (int)(fraction * 100 + 0.5));
    if (fraction >= 1)
        fputc('\n', stderr);
    fflush(stderr);
}

static const char *extension_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash) ? dot + 1 : NULL;
}

/* Parse (and with overrides, re-validate) the definition; prints every violation. */
static int load_definition(const char *path, const char *theme, const char *projection,
                           map_definition *def)
{
    char *text;
    size_t len;
    awm_error err;
    if (!awm_read_file(path, &text, &len, &err)) {
        fprintf(stderr, "awm render: %s\n", err.msg);
        return AWM_EXIT_FAILURE;
    }
    map_violations violations = {0};
    bool ok;
    json_t *root = (theme || projection) ? json_loadb(text, len, 0, NULL) : NULL;
    if (root) {
        json_t *overrides = json_object();
        if (theme)
            json_object_set_new(overrides, "theme", json_string(theme));
        if (projection)
            json_object_set_new(overrides, "projection", json_string(projection));
        ok = map_definition_from_json_with_overrides(root, overrides, def, &violations);
        json_decref(overrides);
        json_decref(root);
    } else {
        ok = map_definition_parse(text, len, def, &violations);
    }
    free(text);
    if (!ok) {
        for (size_t i = 0; i < violations.count; i++)
            fprintf(stderr, "%s: %s\n", path, violations.items[i]);
        map_definition_free(def);
    }
    map_violations_free(&violations);
    return ok ? AWM_EXIT_OK : AWM_EXIT_INVALID;
}

int cmd_render(int argc, char **argv)
{
    const char *positional[2] = {NULL, NULL};
    int npos = 0;
    const char *size = NULL, *format_name = NULL, *dpi_text = NULL, *theme = NULL, *projection = NULL,
               *cmyk_profile = NULL;
    bool sample = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **value = !strcmp(a, "--size")         ? &size
                             : !strcmp(a, "--format")     ? &format_name
                             : !strcmp(a, "--dpi")        ? &dpi_text
                             : !strcmp(a, "--theme")      ? &theme
                             : !strcmp(a, "--projection") ? &projection
                             : !strcmp(a, "--cmyk-profile") ? &cmyk_profile
                                                          : NULL;
        if (value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "awm render: %s needs a value\n", a);
                return AWM_EXIT_INVALID;
            }
            *value = argv[++i];
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return AWM_EXIT_OK;
        } else if (!strcmp(a, "--sample")) {
            sample = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "awm render: unknown option '%s'\n", a);
            usage(stderr);
            return AWM_EXIT_INVALID;
        } else if (npos < 2) {
            positional[npos++] = a;
        } else {
            fprintf(stderr, "awm render: unexpected argument '%s'\n", a);
            return AWM_EXIT_INVALID;
        }
    }
    char sample_path[4096];
    const char *map_path, *out_path;
    if (sample) {
        if (npos != 1) {
            fprintf(stderr, "awm render: --sample takes one argument, the output file\n");
            return AWM_EXIT_INVALID;
        }
        if (!awm_asset_path(sample_path, sizeof sample_path, "assets/sample-map.json")) {
            fprintf(stderr, "awm render: assets path too long\n");
            return AWM_EXIT_FAILURE;
        }
        map_path = sample_path;
        out_path = positional[0];
        if (!size)
            size = "18x24";
    } else {
        if (npos != 2) {
            usage(stderr);
            return AWM_EXIT_INVALID;
        }
        map_path = positional[0];
        out_path = positional[1];
    }
    if (!size) {
        fprintf(stderr, "awm render: --size is required; sizes: %s\n", map_print_spec_list());
        return AWM_EXIT_INVALID;
    }
    const map_print_spec *spec = map_print_spec_find(size);
    if (!spec) {
        fprintf(stderr, "awm render: unknown size '%s'; sizes: %s\n", size, map_print_spec_list());
        return AWM_EXIT_INVALID;
    }

    render_options opt;
    render_options_default(&opt);
    if (!format_name)
        format_name = extension_of(out_path);
    if (!format_name || !render_format_parse(format_name, &opt.format)) {
        fprintf(stderr, "awm render: unknown format '%s' (png, pdf, pdf-cmyk or svg; from --format or OUT's "
                "extension)\n", format_name ? format_name : "");
        return AWM_EXIT_INVALID;
    }
    if (cmyk_profile && opt.format == RENDER_PDF)
        opt.format = RENDER_PDF_CMYK;
    if ((opt.format == RENDER_PDF || opt.format == RENDER_PDF_CMYK) && !render_pdf_available())
        return cli_exec_server(argc, argv); /* awm: PDF is awm-server's */
    if (cmyk_profile && opt.format != RENDER_PDF_CMYK) {
        fprintf(stderr, "awm render: --cmyk-profile applies to PDF output only\n");
        return AWM_EXIT_INVALID;
    }
    if (opt.format == RENDER_PDF_CMYK) {
        awm_error perr;
        if (!cmyk_profile) {
            fprintf(stderr, "awm render: pdf-cmyk needs --cmyk-profile FILE.icc\n");
            return AWM_EXIT_INVALID;
        }
        if (!render_cmyk_profile_check(cmyk_profile, NULL, 0, &perr)) {
            fprintf(stderr, "awm render: %s\n", perr.msg);
            return AWM_EXIT_INVALID;
        }
        opt.cmyk_profile = cmyk_profile;
    }
    if (dpi_text) {
        char *end;
        opt.dpi = strtod(dpi_text, &end);
        if (*end || end == dpi_text || !(opt.dpi >= 1 && opt.dpi <= MAP_DPI)) {
            fprintf(stderr, "awm render: --dpi must be a number from 1 to %g, got '%s'\n", MAP_DPI,
                    dpi_text);
            return AWM_EXIT_INVALID;
        }
    }

    map_definition def;
    int rc = load_definition(map_path, theme, projection, &def);
    if (rc != AWM_EXIT_OK)
        return rc;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);

    if (!quiet && isatty(STDERR_FILENO) && opt.format == RENDER_PNG) {
        opt.progress = show_progress;
        opt.progress_user = (void *)spec->key;
    }
    render_result result;
    awm_error err;
    bool ok = render_poster(&def, spec, &opt, out_path, &result, &err);
    map_definition_free(&def);
    if (!ok) {
        fprintf(stderr, "awm render: %s\n", err.msg);
        return AWM_EXIT_FAILURE;
    }
    if (!quiet)
        fprintf(stderr, "%s: %s %s, %dx%d %s, %.1f MB, %.2f s\n", out_path, spec->key,
                render_format_extension(opt.format), result.px_w, result.px_h,
                opt.format == RENDER_PNG ? "px" : "pt", result.bytes / 1e6, result.seconds);
    return AWM_EXIT_OK;
}
