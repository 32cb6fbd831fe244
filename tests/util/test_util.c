/* test_util.c — the shared utilities: atomic files, environment parsing, secrets, buffers. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "util/util.h"

static char tmpdir[256];

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' || strncmp(e->d_name, AWM_TEMP_PREFIX, strlen(AWM_TEMP_PREFIX)) == 0)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                n++;
    closedir(d);
    return n;
}

static void atomic_commit_publishes_whole_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/poster.png", tmpdir);
    awm_atomic_file f;
    awm_error err = {{0}};
    CHECK(awm_atomic_open(&f, path, &err));
    fputs("hello", f.fp);
    /* Before commit the final name does not exist; only the temp file does. */
    CHECK(access(path, F_OK) != 0);
    CHECK(access(f.temp_path, F_OK) == 0);
    CHECK(awm_atomic_commit(&f, &err));
    char *data;
    size_t len;
    CHECK(awm_read_file(path, &data, &len, &err));
    CHECK_INT_EQ(len, 5);
    CHECK_STR_EQ(data, "hello");
    free(data);
    CHECK_INT_EQ(count_entries(tmpdir), 1);
    unlink(path);
}

static void atomic_abort_leaves_nothing(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/aborted.png", tmpdir);
    awm_atomic_file f;
    CHECK(awm_atomic_open(&f, path, NULL));
    fputs("partial", f.fp);
    awm_atomic_abort(&f);
    CHECK(access(path, F_OK) != 0);
    CHECK_INT_EQ(count_entries(tmpdir), 0);
}

static void atomic_cleanup_all_removes_live_temps(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/interrupted.png", tmpdir);
    awm_atomic_file f;
    CHECK(awm_atomic_open(&f, path, NULL));
    awm_atomic_cleanup_all(); /* what the signal handler does */
    CHECK(access(f.temp_path, F_OK) != 0);
    fclose(f.fp);
}

static void atomic_open_in_missing_dir_names_it(void)
{
    awm_atomic_file f;
    awm_error err = {{0}};
    CHECK(!awm_atomic_open(&f, "/nonexistent-dir-awm/x.png", &err));
    CHECK_MSG(strstr(err.msg, "/nonexistent-dir-awm") != NULL, "message: %s", err.msg);
}

static void env_parsing_names_the_variable(void)
{
    long n;
    awm_error err = {{0}};
    setenv("AWM_TEST_N", "12", 1);
    CHECK(awm_env_long("AWM_TEST_N", 1, 1, 64, &n, &err) && n == 12);
    setenv("AWM_TEST_N", "12x", 1);
    CHECK(!awm_env_long("AWM_TEST_N", 1, 1, 64, &n, &err));
    CHECK(strstr(err.msg, "AWM_TEST_N") != NULL);
    setenv("AWM_TEST_N", "65", 1);
    CHECK(!awm_env_long("AWM_TEST_N", 1, 1, 64, &n, &err));
    unsetenv("AWM_TEST_N");
    CHECK(awm_env_long("AWM_TEST_N", 7, 1, 64, &n, &err) && n == 7);
    bool b;
    setenv("AWM_TEST_B", "TRUE", 1);
    CHECK(awm_env_bool("AWM_TEST_B", false, &b, &err) && b);
    setenv("AWM_TEST_B", "maybe", 1);
    CHECK(!awm_env_bool("AWM_TEST_B", false, &b, &err));
    unsetenv("AWM_TEST_B");
}

/* NAME_FILE: the file's contents are NAME's value (Docker secrets); an unreadable file or both
 * forms set is a problem naming the variable. The program's configuration is read once per
 * process and problems are kept, so each case here uses its own variable names and the
 * problem checks come last. */
static void env_values_from_files(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/secret", tmpdir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("s3cr3t:with spaces\r\n\n", f);
    fclose(f);
    awm_error err = {{0}};
    CHECK(awm_env_files_ok(&err));
    setenv("AWM_TEST_SECRET_FILE", path, 1);
    CHECK_STR_EQ(awm_env_str("AWM_TEST_SECRET", "fallback"), "s3cr3t:with spaces");
    CHECK_STR_EQ(awm_env_str("AWM_TEST_SECRET", "fallback"), "s3cr3t:with spaces"); /* cached */
    CHECK_STR_EQ(awm_env_str("AWM_TEST_UNSET", "fallback"), "fallback");
    /* Numbers and booleans too. */
    snprintf(path, sizeof path, "%s/number", tmpdir);
    f = fopen(path, "w");
    if (f) {
        fputs("42\n", f);
        fclose(f);
    }
    setenv("AWM_TEST_NUM_FILE", path, 1);
    long n = 0;
    CHECK(awm_env_long("AWM_TEST_NUM", 1, 1, 64, &n, &err) && n == 42);
    CHECK(awm_env_files_ok(&err));

    /* Both forms set: the variable wins and it is a problem (in a child: only the first
     * problem of a process is kept). */
    pid_t pid = fork();
    if (pid == 0) {
        setenv("AWM_TEST_BOTH", "direct", 1);
        setenv("AWM_TEST_BOTH_FILE", "/nonexistent-awm/both", 1);
        awm_error e = {{0}};
        bool right = !strcmp(awm_env_str("AWM_TEST_BOTH", "x"), "direct") && !awm_env_files_ok(&e) &&
                     strstr(e.msg, "AWM_TEST_BOTH and AWM_TEST_BOTH_FILE");
        _exit(right ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "both NAME and NAME_FILE set: not reported");

    /* A missing file: the fallback, and a problem naming NAME_FILE and the path. */
    setenv("AWM_TEST_MISSING_FILE", "/nonexistent-awm/secret", 1);
    CHECK_STR_EQ(awm_env_str("AWM_TEST_MISSING", "fallback"), "fallback");
    CHECK(!awm_env_files_ok(&err));
    CHECK_MSG(strstr(err.msg, "AWM_TEST_MISSING_FILE") && strstr(err.msg, "/nonexistent-awm/secret"), "message: %s",
              err.msg);
    unsetenv("AWM_TEST_SECRET_FILE");
    unsetenv("AWM_TEST_NUM_FILE");
    unsetenv("AWM_TEST_MISSING_FILE");
}

static void secrets_compare(void)
{
    CHECK(awm_secret_equal("abc", "abc"));
    CHECK(!awm_secret_equal("abc", "abd"));
    CHECK(!awm_secret_equal("abc", "abcd"));
    CHECK(!awm_secret_equal("", "a"));
}

static void uuids_in_canonical_form_only(void)
{
    CHECK(awm_is_uuid("123e4567-e89b-12d3-a456-426614174000"));
    CHECK(awm_is_uuid("123E4567-E89B-12D3-A456-426614174000"));
    CHECK(!awm_is_uuid("123e4567e89b12d3a456426614174000"));      /* no dashes */
    CHECK(!awm_is_uuid("123e4567-e89b-12d3-a456-42661417400"));   /* short */
    CHECK(!awm_is_uuid("123e4567-e89b-12d3-a456-4266141740000")); /* long */
    CHECK(!awm_is_uuid("123e4567-e89b-12d3-a456-42661417400g"));  /* not hex */
    CHECK(!awm_is_uuid("../../../../etc/passwd-aaaaaaaaaaaaaaa"));
    CHECK(!awm_is_uuid(""));
    CHECK(!awm_is_uuid(NULL));
}

static void buffer_grows(void)
{
    awm_buf b = {0};
    for (int i = 0; i < 1000; i++)
        awm_buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    CHECK(b.data[b.len] == '\0');
    awm_buf_free(&b);
}

static void mkdir_p_creates_nested(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/c", tmpdir);
    CHECK(awm_mkdir_p(path, NULL));
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    char p2[512];
    snprintf(p2, sizeof p2, "%s/a/b", tmpdir);
    rmdir(path);
    rmdir(p2);
    snprintf(p2, sizeof p2, "%s/a", tmpdir);
    rmdir(p2);
}

static void errors_carry_a_code(void)
{
    awm_error err = {{0}};
    CHECK(err.code == AWM_OK);
    awm_error_set(&err, "plain %d", 1);
    CHECK(err.code == AWM_EFAIL);
    CHECK_STR_EQ(err.msg, "plain 1");
    awm_error_setc(&err, AWM_ENOTFOUND, "queue '%s' is missing", "q");
    awm_error_prefix(&err, "reading");
    CHECK(err.code == AWM_ENOTFOUND); /* a prefix adds context, never changes the kind */
    CHECK_STR_EQ(err.msg, "reading: queue 'q' is missing");
}

static void utf8_decoded_as_rfc3629_says(void)
{
    uint32_t cp = 0;
    CHECK(awm_utf8_decode("A", 1, &cp) == 1 && cp == 'A');
    CHECK(awm_utf8_decode("\xC3\xA9", 2, &cp) == 2 && cp == 0xE9);         /* é */
    CHECK(awm_utf8_decode("\xE6\x9D\xB1", 3, &cp) == 3 && cp == 0x6771);  /* 東 */
    CHECK(awm_utf8_decode("\xF0\x9F\x98\x80", 4, &cp) == 4 && cp == 0x1F600);
    CHECK(awm_utf8_decode("\xC3\xA9", 1, &cp) == 0);         /* cut short */
    CHECK(awm_utf8_decode("\xC0\xAF", 2, &cp) == 0);         /* overlong '/' */
    CHECK(awm_utf8_decode("\xED\xA0\x80", 3, &cp) == 0);    /* a UTF-16 surrogate */
    CHECK(awm_utf8_decode("\xF4\x90\x80\x80", 4, &cp) == 0); /* past U+10FFFF */
    CHECK(awm_utf8_decode("\x80", 1, &cp) == 0);              /* a lone continuation byte */
    CHECK(awm_utf8_decode("", 0, &cp) == 0);
    char s[] = "ok \xC3 \xE6\x9D\xB1 \xFF";
    awm_utf8_sanitize(s);
    CHECK_STR_EQ(s, "ok ? \xE6\x9D\xB1 ?");
}

static void utf8_encoded_and_decoded_back(void)
{
    const uint32_t cps[] = {'A', 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0x6771, 0xFFFD, 0x10000, 0x1F600, 0x10FFFF};
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        char out[4];
        uint32_t back = 0;
        size_t n = awm_utf8_encode(cps[i], out);
        CHECK_MSG(n >= 1 && awm_utf8_decode(out, n, &back) == n && back == cps[i], "U+%04X", (unsigned)cps[i]);
    }
    char out[4];
    CHECK(awm_utf8_encode(0x6771, out) == 3 && !memcmp(out, "\xE6\x9D\xB1", 3)); /* 東 */
    CHECK(awm_utf8_encode(0xD800, out) == 0);   /* a surrogate */
    CHECK(awm_utf8_encode(0x110000, out) == 0); /* past U+10FFFF */
    /* the cache hash: same bytes, same hash; one byte more or changed, another */
    CHECK(awm_hash64("abcdefghij", 10) == awm_hash64("abcdefghij", 10));
    CHECK(awm_hash64("abcdefghij", 10) != awm_hash64("abcdefghik", 10));
    CHECK(awm_hash64("abcdefghij", 10) != awm_hash64("abcdefghij", 9));
}

/* A cache header is believed only when it is whole and names this format, this build and
 * these sources; each mismatch says which. awm_cache_write makes the folder and the file. */
static void cache_headers_and_files(void)
{
    const uint64_t want[3] = {0x1111, 0x2222, 0x3333};
    uint64_t h[4] = {0x1111, 0x2222, 0x3333, 7};
    CHECK(awm_cache_header_mismatch(h, sizeof h, 4, want, 3) == NULL);
    CHECK_STR_EQ(awm_cache_header_mismatch(h, sizeof h - 1, 4, want, 3), "truncated header");
    h[0] = 0x1112;
    CHECK_STR_EQ(awm_cache_header_mismatch(h, sizeof h, 4, want, 3), "another format");
    h[0] = 0x1111, h[1] = 0;
    CHECK_STR_EQ(awm_cache_header_mismatch(h, sizeof h, 4, want, 3), "written by another build");
    h[1] = 0x2222, h[2] = 0;
    CHECK_STR_EQ(awm_cache_header_mismatch(h, sizeof h, 4, want, 3), "made from other sources");

    char path[512], *back = NULL;
    size_t len = 0;
    awm_error err = {{0}};
    snprintf(path, sizeof path, "%s/cache/geo/x.bin", tmpdir);
    CHECK_MSG(awm_cache_write(path, h, sizeof h, &err), "%s", err.msg);
    CHECK(awm_read_file(path, &back, &len, &err) && len == sizeof h && !memcmp(back, h, len));
    free(back);
    remove(path);
    snprintf(path, sizeof path, "%s/cache/geo", tmpdir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/cache", tmpdir);
    rmdir(path);
    CHECK(!awm_cache_write("no-folder", h, sizeof h, &err));
}

static void content_types_by_extension(void)
{
    CHECK_STR_EQ(awm_content_type("2026-01-01T00-00-00_x.png"), "image/png");
    CHECK_STR_EQ(awm_content_type("a.pdf"), "application/pdf");
    CHECK_STR_EQ(awm_content_type("a.svg"), "image/svg+xml");
    CHECK_STR_EQ(awm_content_type("app.js"), "text/javascript; charset=utf-8");
    CHECK_STR_EQ(awm_content_type("noext"), "application/octet-stream");
    CHECK_STR_EQ(awm_content_type("dir.png/file"), "application/octet-stream");
}

static void prometheus_text_format(void)
{
    awm_buf b = {0};
    awm_prom_family(&b, "awm_x_total", "counter", "Things.");
    awm_prom_sample(&b, "awm_x_total", 3, NULL);
    awm_prom_sample(&b, "awm_x_total", 2.5, "route", "/a\"b\\c\nd", "status", "200", NULL);
    const double bounds[] = {0.5, 1};
    const uint64_t cumulative[] = {1, 3};
    awm_prom_histogram(&b, "awm_d_seconds", bounds, cumulative, 2, 4, 6.25, "route", "/r", NULL);
    CHECK_STR_EQ(b.data, "# HELP awm_x_total Things.\n# TYPE awm_x_total counter\n"
                         "awm_x_total 3\n"
                         "awm_x_total{route=\"/a\\\"b\\\\c\\nd\",status=\"200\"} 2.5\n"
                         "awm_d_seconds_bucket{route=\"/r\",le=\"0.5\"} 1\n"
                         "awm_d_seconds_bucket{route=\"/r\",le=\"1\"} 3\n"
                         "awm_d_seconds_bucket{route=\"/r\",le=\"+Inf\"} 4\n"
                         "awm_d_seconds_sum{route=\"/r\"} 6.250000\n"
                         "awm_d_seconds_count{route=\"/r\"} 4\n");
    awm_buf_free(&b);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/awm-test-util-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(atomic_commit_publishes_whole_file);
    RUN(atomic_abort_leaves_nothing);
    RUN(atomic_cleanup_all_removes_live_temps);
    RUN(atomic_open_in_missing_dir_names_it);
    RUN(env_parsing_names_the_variable);
    RUN(env_values_from_files);
    RUN(secrets_compare);
    RUN(uuids_in_canonical_form_only);
    RUN(buffer_grows);
    RUN(mkdir_p_creates_nested);
    RUN(errors_carry_a_code);
    RUN(utf8_decoded_as_rfc3629_says);
    RUN(utf8_encoded_and_decoded_back);
    RUN(content_types_by_extension);
    RUN(cache_headers_and_files);
    RUN(prometheus_text_format);
    rmdir(tmpdir);
    return TEST_EXIT();
}
