/* job.c — one export job, start to finish (SYSTEM.md §5): API start → definition → print
 * spec → render to a temp file → verify → store → API complete → queue complete; on error
 * API fail, then the queue job is completed (fatal: never retried) or failed (transient: the
 * queue retries it with backoff). */
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "render/render.h"
#include "worker/worker_internal.h"

typedef struct {
    bool fatal;
    bool skip_api_fail;  /* the API already said the print job is gone or finished */
    bool api_down;       /* the API did not answer: reporting the failure gets one try */
    char msg[1024];
} job_error;

static bool fail_with(job_error *e, bool fatal, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_with(job_error *e, bool fatal, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->fatal = fatal;
    return false;
}

/* An API answer that was not 2xx becomes the job's error; whether it is fatal, the API's kind
 * decides (the seed's answers every error with 400 and means it by the message). */
static bool api_failure(job_error *e, const worker_config *cfg, const char *what, const worker_api_result *r)
{
    e->api_down = r->status == 0;
    bool fatal = cfg->api_flavor == WORKER_API_SEED ? worker_seed_answer_is_fatal(r->status, r->error)
                                                    : worker_http_status_is_fatal(r->status);
    return fail_with(e, fatal, "%s: %s", what, r->error);
}

static const char *orientation_of(const map_print_spec *spec)
{
    return spec->trim_w_pt > spec->trim_h_pt ? "landscape" : spec->trim_w_pt < spec->trim_h_pt ? "portrait" : "square";
}

json_t *worker_sidecar_json(const worker_sidecar_info *info, const map_print_spec *spec,
                            const map_definition *map)
{
    size_t locations = 0;
    for (size_t i = 0; i < map->person_count; i++)
        locations += map->people[i].location_count;
    map_page_boxes boxes;
    map_page_boxes_for(spec, &boxes);
    json_t *j = json_object();
    json_object_set_new(j, "queueJobId", json_string(info->queue_job_id ? info->queue_job_id : ""));
    json_object_set_new(j, "printJobId", json_string(info->print_job_id ? info->print_job_id : ""));
    json_object_set_new(j, "printableMapId", info->printable_map_id ? json_string(info->printable_map_id) : json_null());
    json_object_set_new(j, "userMapId", info->user_map_id ? json_string(info->user_map_id) : json_null());
    json_object_set_new(j, "page", json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:s, s:o}",
        "widthInches", spec->trim_w_in, "heightInches", spec->trim_h_in,
        "widthPt", spec->trim_w_pt, "heightPt", spec->trim_h_pt,
        "bleedPt", MAP_BLEED_PT, "safePt", MAP_SAFE_PT, "orientation", orientation_of(spec),
        "paperSizeName", info->paper_size_name ? json_string(info->paper_size_name) : json_null()));
    json_object_set_new(j, "printSpec", json_pack("{s:s, s:f, s:f, s:i, s:i, s:f}",
        "key", spec->key, "trimWidthInches", spec->trim_w_in, "trimHeightInches", spec->trim_h_in,
        "pixelWidth", spec->px_w, "pixelHeight", spec->px_h, "dpi", MAP_DPI));
    json_object_set_new(j, "output", json_pack("{s:s, s:i, s:i, s:f, s:f, s:f}",
        "format", info->format, "pixelWidth", info->px_w, "pixelHeight", info->px_h, "dpi", info->dpi,
        "totalWidthPt", boxes.total.w, "totalHeightPt", boxes.total.h));
    json_object_set_new(j, "map", json_pack("{s:s, s:s, s:[f,f,f], s:f, s:[f,f], s:s, s:I, s:I}",
        "title", map->title, "projection", geo_projection_kind_name(map->projection),
        "rotation", map->rotation[0], map->rotation[1], map->rotation[2], "zoom", map->zoom,
        "pan", map->pan[0], map->pan[1], "theme", map->theme ? map->theme->id : "",
        "people", (json_int_t)map->person_count, "locations", (json_int_t)locations));
    json_object_set_new(j, "file", json_pack("{s:s, s:I}", "path", info->file_path ? info->file_path : "",
        "sizeBytes", (json_int_t)info->file_size));
    json_object_set_new(j, "renderSeconds", json_real(info->render_seconds));
    if (info->preview_url)
        json_object_set_new(j, "previewUrl", json_string(info->preview_url));
    return j;
}

/* "Check the file": PNG read back (size, depth, ICC, data); PDF/SVG: non-empty, right header. */
static bool verify_output(const char *path, render_format format, int px_w, int px_h, job_error *e)
{
    awm_error err;
    if (format == RENDER_PNG) {
        if (!render_verify_png(path, px_w, px_h, &err))
            return fail_with(e, false, "the rendered PNG failed its check: %s", err.msg);
        return true;
    }
    FILE *f = fopen(path, "rb");
    char head[64] = "";
    size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[n] = '\0';
    bool pdf = format == RENDER_PDF || format == RENDER_PDF_CMYK;
    bool ok = pdf ? !strncmp(head, "%PDF-", 5) : (strstr(head, "<?xml") || strstr(head, "<svg"));
    if (!ok)
        return fail_with(e, false, "the rendered %s is empty or malformed", render_format_extension(format));
    return true;
}

static int render_threads(const worker_config *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long per_job = cores > 0 ? cores / cfg->concurrency : 1;
    return per_job < 1 ? 1 : (int)per_job;
}

typedef struct {
    char location[2048];
    uint64_t size;
    char sidecar_location[2048];
    double render_s, verify_s, store_s; /* phase times, logged with JOB_SUCCESS */
} job_output;

/* Everything after "start": definition, spec, render, verify, store. */
static bool export_poster(worker_thread *t, const queue_job *job, const queue_export_job *ej, job_output *out,
                          job_error *e)
{
    const worker_config *cfg = t->st->cfg;
    const char *print_job_id = ej->print_job_id;
    json_t *user_map = ej->user_map, *printable = ej->printable_map;

    map_definition map;
    map_violations v = {0};
    if (!map_definition_from_json_with_overrides(user_map, printable, &map, &v)) {
        char *all = map_violations_join(&v, "; ");
        fail_with(e, true, "invalid map data: %s", all ? all : "unknown problem");
        free(all);
        map_violations_free(&v);
        map_definition_free(&map);
        return false;
    }
    map_violations_free(&v);

    bool ok = false;
    char poster[2200] = "", sidecar[2200] = "";
    /* Both are work_dir + '/' + an export name, which always fits: */
    _Static_assert(sizeof poster > sizeof ((worker_state *)0)->work_dir + 1 + STORAGE_EXPORT_NAME_LEN,
                   "poster paths fit");
    json_t *w = json_object_get(printable, "widthInches"), *h = json_object_get(printable, "heightInches");
    const map_print_spec *spec = json_is_number(w) && json_is_number(h)
                                     ? map_print_spec_match(json_number_value(w), json_number_value(h))
                                     : NULL;
    render_options opt;
    render_options_default(&opt);
    const char *fmt = json_string_value(json_object_get(printable, "format"));
    if (!spec) {
        if (json_is_number(w) && json_is_number(h))
            fail_with(e, true, "no print spec for %gx%g inches (sizes: %s)", json_number_value(w),
                      json_number_value(h), map_print_spec_list());
        else
            fail_with(e, true, "invalid job data: printableMap.widthInches and heightInches must be numbers");
        goto done;
    }
    if (fmt && !render_format_parse(fmt, &opt.format)) {
        fail_with(e, true, "invalid job data: printableMap.format '%s' is not png, pdf, pdf-cmyk or svg", fmt);
        goto done;
    }
    if (opt.format == RENDER_PDF_CMYK && !cfg->cmyk_profile[0]) {
        fail_with(e, true, "a pdf-cmyk export needs a CMYK profile and this worker has none (set CMYK_PROFILE)");
        goto done;
    }
    opt.cmyk_profile = cfg->cmyk_profile[0] ? cfg->cmyk_profile : NULL;
    opt.dpi = opt.format == RENDER_PNG ? cfg->render_dpi : MAP_DPI;
    opt.threads = render_threads(cfg);

    const char *ext = render_format_extension(opt.format);
    char name[STORAGE_EXPORT_NAME_LEN + 1];
    if (!storage_export_name(name, print_job_id, job->created_on_ms, ext)) {
        fail_with(e, true, "invalid job data: printJobId '%s' is not a uuid", print_job_id);
        goto done;
    }
    snprintf(poster, sizeof poster, "%s/%s", t->st->work_dir, name);

    render_result rr;
    awm_error err;
    awm_log(AWM_LOG_DEBUG, "JOB_RENDER", "{s:s, s:s, s:s, s:s}", "queueJobId", job->id, "printJobId",
            print_job_id, "size", spec->key, "format", ext);
    double t0 = awm_now_seconds();
    if (!render_poster(&map, spec, &opt, poster, &rr, &err)) {
        fail_with(e, false, "render failed: %s", err.msg);
        goto done;
    }
    int px_w = rr.px_w, px_h = rr.px_h;
    if (opt.format == RENDER_PNG)
        map_print_spec_pixels(spec, opt.dpi, &px_w, &px_h);
    double t1 = awm_now_seconds();
    out->render_s = t1 - t0;
    if (!verify_output(poster, opt.format, px_w, px_h, e))
        goto done;
    double t2 = awm_now_seconds();
    out->verify_s = t2 - t1;

    char *where = storage_put_file(t->st->store, poster, name, awm_content_type(name), &err);
    if (!where) {
        fail_with(e, false, "storing %s failed: %s", name, err.msg);
        goto done;
    }
    poster[0] = '\0'; /* consumed by the storage */
    out->store_s = awm_now_seconds() - t2;
    bool fits = snprintf(out->location, sizeof out->location, "%s", where) < (int)sizeof out->location;
    free(where);
    if (!fits) { /* never report a location cut short */
        fail_with(e, false, "the stored poster's location is longer than %zu bytes", sizeof out->location - 1);
        goto done;
    }
    out->size = rr.bytes;

    if (cfg->debug_mode) {
        worker_sidecar_info info = {
            .queue_job_id = job->id, .print_job_id = print_job_id,
            .printable_map_id = ej->printable_map_id,
            .user_map_id = ej->user_map_id,
            .paper_size_name = json_string_value(json_object_get(printable, "paperSizeName")),
            .format = ext, .dpi = opt.dpi, .px_w = px_w, .px_h = px_h,
            .file_path = out->location, .file_size = rr.bytes, .render_seconds = rr.seconds};
        /* The user map as the API's render endpoint draws it (RENDER_BASE_URL's one use). */
        char preview[1400]; /* RENDER_BASE_URL (< 1024) + a uuid and a size key: always fits */
        _Static_assert(sizeof preview > sizeof cfg->render_base_url + 100, "preview URLs fit");
        if (awm_is_uuid(info.user_map_id)) {
            snprintf(preview, sizeof preview, "%s/render?mapId=%s&size=%s&format=png&dpi=72", cfg->render_base_url,
                     info.user_map_id, spec->key);
            info.preview_url = preview;
        }
        json_t *doc = worker_sidecar_json(&info, spec, &map);
        char side_name[STORAGE_EXPORT_NAME_LEN + 1];
        storage_export_name(side_name, print_job_id, job->created_on_ms, "json"); /* the poster's stem */
        snprintf(sidecar, sizeof sidecar, "%s/%s", t->st->work_dir, side_name);
        awm_atomic_file af;
        bool written = awm_atomic_open(&af, sidecar, &err);
        if (written) {
            written = json_dumpf(doc, af.fp, JSON_INDENT(2)) == 0 && fputc('\n', af.fp) != EOF;
            if (written)
                written = awm_atomic_commit(&af, &err);
            else {
                awm_atomic_abort(&af);
                awm_error_set(&err, "writing %s failed", sidecar);
            }
        }
        json_decref(doc);
        /* The sidecar is a debugging aid: losing it is logged, the poster still counts. */
        char *side_where = written ? storage_put_file(t->st->store, sidecar, side_name, "application/json", &err) : NULL;
        if (side_where && snprintf(out->sidecar_location, sizeof out->sidecar_location, "%s", side_where) >=
                              (int)sizeof out->sidecar_location) {
            out->sidecar_location[0] = '\0';
            awm_log(AWM_LOG_WARN, "SIDECAR_FAILED", "{s:s, s:s}", "printJobId", print_job_id, "error",
                    "its location is too long to report");
            sidecar[0] = '\0';
            free(side_where);
        } else if (side_where) {
            sidecar[0] = '\0';
            free(side_where);
        } else {
            awm_log(AWM_LOG_WARN, "SIDECAR_FAILED", "{s:s, s:s}", "printJobId", print_job_id, "error", err.msg);
        }
    }
    ok = true;
done:
    if (poster[0])
        unlink(poster);
    if (sidecar[0])
        unlink(sidecar);
    map_definition_free(&map);
    return ok;
}

static void record_failure(worker_thread *t, const queue_job *job, const char *print_job_id,
                           const job_error *e, double started)
{
    worker_state *st = t->st;
    const worker_config *cfg = st->cfg;
    awm_error err;
    /* Released at the shutdown deadline: the job is the queue's again, and this failure is most
     * likely the shutdown's own doing (its work folder removed), not the poster's. */
    if (atomic_load(&st->releasing)) {
        awm_log(AWM_LOG_WARN, "JOB_FAILURE_NOT_REPORTED", "{s:s, s:s?, s:s}", "queueJobId", job->id, "printJobId",
                print_job_id, "error", e->msg);
        return;
    }
    /* Tell the API first, so the print job shows the error even if the queue is unreachable. */
    if (print_job_id && !e->skip_api_fail) {
        json_t *body = json_pack("{s:s}", "error", e->msg);
        char path[128];
        snprintf(path, sizeof path, "/api/jobs/%s/fail", print_job_id);
        worker_api_result r;
        worker_api_call(&t->api, "POST", path, body, e->api_down ? 1 : cfg->api_attempts, &r);
        if (r.status != 200)
            awm_log(AWM_LOG_WARN, "API_FAIL_NOT_RECORDED", "{s:s, s:s}", "printJobId", print_job_id, "error", r.error);
        worker_api_result_free(&r);
        json_decref(body);
    }

    bool will_retry = false;
    queue_result qr;
    if (e->fatal) {
        /* Completed with the error in its output: visible, and never fetched again. */
        json_t *o = json_pack("{s:s, s:b}", "error", e->msg, "fatal", 1);
        char *text = json_dumps(o, JSON_COMPACT);
        qr = queue_complete(t->conn, job->id, job->claim, text, &err);
        free(text);
        json_decref(o);
    } else {
        queue_state ns = QUEUE_STATE_FAILED;
        qr = queue_fail(t->conn, job->id, job->claim, e->msg, &ns, &err);
        will_retry = qr == QUEUE_OK && ns == QUEUE_STATE_RETRY;
    }
    if (qr == QUEUE_CLAIM_LOST)
        awm_log(AWM_LOG_WARN, "QUEUE_CLAIM_LOST", "{s:s}", "queueJobId", job->id);
    else if (qr != QUEUE_OK)
        awm_log(AWM_LOG_ERROR, "QUEUE_UPDATE_FAILED", "{s:s, s:s}", "queueJobId", job->id, "error", err.msg);

    double seconds = awm_now_seconds() - started;
    pthread_mutex_lock(&st->metrics.lock);
    if (e->fatal)
        st->metrics.failed_fatal++;
    else
        st->metrics.failed_transient++;
    if (will_retry)
        st->metrics.retried++;
    pthread_mutex_unlock(&st->metrics.lock);
    worker_metrics_observe(&st->metrics, seconds);
    awm_log(AWM_LOG_ERROR, "JOB_FAILED", "{s:s, s:s?, s:s, s:b, s:b, s:i, s:i, s:f}", "queueJobId", job->id,
            "printJobId", print_job_id, "error", e->msg, "fatal", e->fatal, "willRetry", will_retry,
            "attempt", job->retry_count + 1, "durationMs", (int)(seconds * 1000), "durationSeconds", seconds);
}

/* Remove a stored poster (and its sidecar) whose print job no longer exists. */
static void discard_poster(worker_thread *t, const job_output *out)
{
    const char *where[] = {out->location, out->sidecar_location};
    for (int i = 0; i < 2; i++) {
        const char *slash = strrchr(where[i], '/');
        const char *name = slash ? slash + 1 : where[i];
        awm_error err = {{0}};
        if (*name && !storage_delete(t->st->store, name, &err))
            awm_log(AWM_LOG_WARN, "POSTER_NOT_DISCARDED", "{s:s, s:s}", "name", name, "error", err.msg);
    }
}

void worker_process_job(worker_thread *t, const queue_job *job)
{
    worker_state *st = t->st;
    const worker_config *cfg = st->cfg;
    double started = awm_now_seconds();
    job_error e = {0};
    job_output out = {{0}, 0, {0}, 0, 0, 0};
    queue_export_job ej;
    awm_error data_err = {{0}};
    bool well_formed = queue_export_job_parse(job->data, &ej, &data_err);
    const char *print_job_id = ej.print_job_id;
    awm_log(AWM_LOG_INFO, "JOB_START", "{s:s, s:s?, s:s, s:i}", "queueJobId", job->id, "printJobId",
            print_job_id, "queue", job->name ? job->name : cfg->queue, "attempt", job->retry_count + 1);

    char path[128];
    worker_api_result r = {0};
    bool ok = false;
    if (!print_job_id) { /* nothing to report it against */
        fail_with(&e, true, "%s", data_err.msg);
        goto failed;
    }
    snprintf(path, sizeof path, "/api/jobs/%s/start", print_job_id);
    worker_api_call(&t->api, "POST", path, NULL, cfg->api_attempts, &r);
    if (r.status != 200) {
        e.skip_api_fail = r.status == 404 || r.status == 409;
        api_failure(&e, cfg, r.status == 404 ? "print job not found" : "starting the print job failed", &r);
        /* The seed's API refuses to start a print job in export_failed (its known fault): a queue
         * retry of a failed export can never start there, so retrying would only loop. */
        if (cfg->api_flavor == WORKER_API_SEED && r.status == 400 && strstr(r.error, "export_failed")) {
            e.fatal = true;
            e.skip_api_fail = true;
        }
        worker_api_result_free(&r);
        goto failed;
    }
    worker_api_result_free(&r);
    if (!well_formed) {
        fail_with(&e, true, "%s", data_err.msg);
        goto failed;
    }
    if (!export_poster(t, job, &ej, &out, &e))
        goto failed;

    json_t *body = json_pack("{s:s}", "filePath", out.location);
    snprintf(path, sizeof path, "/api/jobs/%s/complete", print_job_id);
    worker_api_call(&t->api, "POST", path, body, cfg->api_attempts, &r);
    json_decref(body);
    if (r.status != 200) {
        e.skip_api_fail = r.status == 404;
        if (r.status == 404) /* the family deleted its map while we drew it: keep nothing of it */
            discard_poster(t, &out);
        api_failure(&e, cfg, "completing the print job failed", &r);
        worker_api_result_free(&r);
        goto failed;
    }
    worker_api_result_free(&r);
    ok = true;

failed:
    if (!ok) {
        record_failure(t, job, print_job_id, &e, started);
        queue_export_job_free(&ej);
        return;
    }
    awm_error err;
    json_t *o = json_pack("{s:s, s:s}", "filePath", out.location, "printJobId", print_job_id);
    char *text = json_dumps(o, JSON_COMPACT);
    queue_result qr = queue_complete(t->conn, job->id, job->claim, text, &err);
    free(text);
    json_decref(o);
    if (qr == QUEUE_CLAIM_LOST)
        awm_log(AWM_LOG_WARN, "QUEUE_CLAIM_LOST", "{s:s}", "queueJobId", job->id);
    else if (qr != QUEUE_OK) /* the poster is done and the API knows; expiry will tidy the queue job */
        awm_log(AWM_LOG_ERROR, "QUEUE_UPDATE_FAILED", "{s:s, s:s}", "queueJobId", job->id, "error", err.msg);

    double seconds = awm_now_seconds() - started;
    pthread_mutex_lock(&st->metrics.lock);
    st->metrics.processed++;
    st->metrics.last_success_unix = (double)awm_wall_ms() / 1000.0;
    pthread_mutex_unlock(&st->metrics.lock);
    worker_metrics_observe(&st->metrics, seconds);
    awm_log(AWM_LOG_INFO, "JOB_SUCCESS", "{s:s, s:s, s:s, s:s?, s:I, s:i, s:f, s:i, s:i, s:i, s:i}", "queueJobId",
            job->id, "printJobId", print_job_id, "file", out.location, "sidecar",
            out.sidecar_location[0] ? out.sidecar_location : NULL, "sizeBytes", (json_int_t)out.size, "durationMs",
            (int)(seconds * 1000), "durationSeconds", seconds, "attempt", job->retry_count + 1, "renderMs",
            (int)(out.render_s * 1000), "verifyMs", (int)(out.verify_s * 1000), "storeMs", (int)(out.store_s * 1000));
    queue_export_job_free(&ej);
}
