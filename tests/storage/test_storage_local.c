/* test_storage_local.c — storage configuration from the environment (errors name the
 * variable; the description never shows the secret), object-name checks, the local-directory
 * backend (check, atomic put across and within filesystems, open for download), presigned-URL
 * signing against AWS's published example, and S3 XML error parsing. No server needed. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"
#include "storage/storage_internal.h"
#include "support/testkit.h"
#include "test.h"

static char g_tmp[512];

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(p);
    return 0;
}

static void clear_env(void)
{
    const char *vars[] = {"STORAGE", "EXPORT_DIR", "S3_BUCKET", "S3_REGION", "S3_ENDPOINT",
                          "S3_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

static void set_s3_env(void)
{
    clear_env();
    setenv("STORAGE", "s3", 1);
    setenv("S3_BUCKET", "awm-exports", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalr-VERY-SECRET-KEY", 1);
}

/* The config error for the current environment ("" when it is accepted). */
static const char *env_error(void)
{
    static awm_error err;
    storage_config cfg;
    memset(&err, 0, sizeof err);
    if (storage_config_from_env(&cfg, &err))
        return "";
    return err.msg;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK_INT_EQ(fwrite(data, 1, len, f), len);
        fclose(f);
    }
}

static storage *local_storage(const char *dir)
{
    storage_config cfg;
    storage_config_defaults(&cfg);
    snprintf(cfg.export_dir, sizeof cfg.export_dir, "%s", dir);
    awm_error err = {{0}};
    storage *st = storage_new(&cfg, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    return st;
}

static void test_config_defaults_local(void)
{
    clear_env();
    storage_config cfg;
    awm_error err = {{0}};
    CHECK(storage_config_from_env(&cfg, &err));
    CHECK_INT_EQ(cfg.kind, STORAGE_LOCAL);
    CHECK_STR_EQ(cfg.export_dir, "/app/exports");
    setenv("EXPORT_DIR", "/data/exports///", 1);
    CHECK(storage_config_from_env(&cfg, &err));
    CHECK_STR_EQ(cfg.export_dir, "/data/exports");
}

static void test_config_errors_name_the_variable(void)
{
    clear_env();
    setenv("STORAGE", "ftp", 1);
    CHECK_MSG(strstr(env_error(), "STORAGE \"ftp\": must be local or s3"), "%s", env_error());

    set_s3_env();
    CHECK_STR_EQ(env_error(), "");
    unsetenv("S3_BUCKET");
    CHECK_STR_EQ(env_error(), "S3_BUCKET is required when STORAGE=s3");
    setenv("S3_BUCKET", "Bad_Bucket", 1);
    CHECK_MSG(strstr(env_error(), "S3_BUCKET \"Bad_Bucket\""), "%s", env_error());
    setenv("S3_BUCKET", "ab", 1);
    CHECK_MSG(strstr(env_error(), "S3_BUCKET \"ab\""), "%s", env_error());

    set_s3_env();
    unsetenv("AWS_ACCESS_KEY_ID");
    CHECK_STR_EQ(env_error(), "AWS_ACCESS_KEY_ID is required when STORAGE=s3");
    set_s3_env();
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK_STR_EQ(env_error(), "AWS_SECRET_ACCESS_KEY is required when STORAGE=s3");
    /* A malformed secret is reported without echoing it. */
    setenv("AWS_SECRET_ACCESS_KEY", "has space SECRETPART", 1);
    CHECK_MSG(strstr(env_error(), "AWS_SECRET_ACCESS_KEY contains spaces"), "%s", env_error());
    CHECK(!strstr(env_error(), "SECRETPART"));

    set_s3_env();
    setenv("S3_REGION", "us east", 1);
    CHECK_MSG(strstr(env_error(), "S3_REGION \"us east\""), "%s", env_error());
    set_s3_env();
    setenv("S3_ENDPOINT", "minio:9000", 1);
    CHECK_MSG(strstr(env_error(), "S3_ENDPOINT \"minio:9000\": must start with http"), "%s",
              env_error());
    setenv("S3_ENDPOINT", "http://minio:9000/some/path", 1);
    CHECK_MSG(strstr(env_error(), "S3_ENDPOINT"), "%s", env_error());
    setenv("S3_ENDPOINT", "http://minio:9000/", 1);
    CHECK_STR_EQ(env_error(), "");

    set_s3_env();
    setenv("S3_PREFIX", "posters/../etc", 1);
    CHECK_MSG(strstr(env_error(), "S3_PREFIX"), "%s", env_error());
    setenv("S3_PREFIX", "a b", 1);
    CHECK_MSG(strstr(env_error(), "S3_PREFIX"), "%s", env_error());
    setenv("S3_PREFIX", "/exports/2026/", 1);
    storage_config cfg;
    awm_error err = {{0}};
    CHECK(storage_config_from_env(&cfg, &err));
    CHECK_STR_EQ(cfg.prefix, "exports/2026");
    CHECK_STR_EQ(cfg.region, "us-east-1");
    clear_env();
}

static void test_describe_never_shows_secret(void)
{
    set_s3_env();
    setenv("S3_ENDPOINT", "http://127.0.0.1:9000", 1);
    setenv("S3_PREFIX", "posters", 1);
    storage_config cfg;
    awm_error err = {{0}};
    CHECK(storage_config_from_env(&cfg, &err));
    storage *st = storage_new(&cfg, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st)
        return;
    char desc[512];
    storage_describe(st, desc, sizeof desc);
    CHECK_MSG(strstr(desc, "s3 bucket awm-exports"), "%s", desc);
    CHECK_MSG(strstr(desc, "prefix posters/"), "%s", desc);
    CHECK_MSG(strstr(desc, "endpoint http://127.0.0.1:9000, path-style"), "%s", desc);
    CHECK_MSG(strstr(desc, "AKIDEXAMPLE"), "%s", desc);
    CHECK_MSG(!strstr(desc, "wJalr") && !strstr(desc, "SECRET"), "%s", desc);
    storage_free(st);

    unsetenv("S3_ENDPOINT");
    setenv("S3_REGION", "eu-west-3", 1);
    CHECK(storage_config_from_env(&cfg, &err));
    st = storage_new(&cfg, &err);
    storage_describe(st, desc, sizeof desc);
    CHECK_MSG(strstr(desc, "https://awm-exports.s3.eu-west-3.amazonaws.com, virtual-hosted"), "%s",
              desc);
    CHECK(!strstr(desc, "SECRET"));
    storage_free(st);
    clear_env();

    st = local_storage("/srv/exports");
    storage_describe(st, desc, sizeof desc);
    CHECK_STR_EQ(desc, "local directory /srv/exports");
    storage_free(st);
}

static void test_name_check(void)
{
    awm_error err = {{0}};
    CHECK(storage_name_valid("map-42_2026-11-28T10-00-00.png", &err));
    CHECK(storage_name_valid("a.b.c", &err));
    const char *bad[] = {"", "../etc/passwd", "..", ".hidden", "a/b", "a\\b", "a..b", "x%2e%2e",
                         "name with space", "caf\xc3\xa9.png", "a\nb", "/abs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(!storage_name_valid(bad[i], &err), "accepted \"%s\"", bad[i]);
    char long_name[STORAGE_NAME_MAX + 2];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK(!storage_name_valid(long_name, &err));
    CHECK_MSG(strstr(err.msg, "too long"), "%s", err.msg);
}

static void test_export_name_made_and_parsed(void)
{
    const char *id = "0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b";
    char name[STORAGE_EXPORT_NAME_LEN + 1];
    CHECK(storage_export_name(name, id, 0, "png"));
    regex_t re;
    regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b\\.png$",
            REG_EXTENDED | REG_NOSUB);
    CHECK_MSG(regexec(&re, name, 0, NULL, 0) == 0, "%s", name);
    regfree(&re);
    /* A given time (the queue job's creation): every attempt gets the same name. */
    CHECK(storage_export_name(name, id, 1764288000123LL, "pdf"));
    CHECK_STR_EQ(name, "2025-11-28T00-00-00_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b.pdf");
    char parsed_id[37], ext[5];
    CHECK(storage_export_name_parse(name, parsed_id, ext));
    CHECK_STR_EQ(parsed_id, id);
    CHECK_STR_EQ(ext, "pdf");
    CHECK(storage_export_name(name, id, 1764288000123LL, "json"));
    CHECK(storage_export_name_parse(name, NULL, ext));
    CHECK_STR_EQ(ext, "json");
    /* Only that form: no other extension, id or stamp, nothing before or after. */
    CHECK(!storage_export_name(name, "not-a-uuid", 0, "png"));
    CHECK(!storage_export_name(name, id, 0, "exe"));
    const char *bad[] = {
        "2025-11-28T00-00-00_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b.exe",
        "2025-11-28T00-00-00_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b.png.png",
        "2025-11-28T00:00:00_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b.png",
        "2025-11-28T00-00-00_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2bX.png",
        "../2025-11-28T00-00-00_0b7e4a3c-1d2e-4f50-9a8b-7c6d5e4f3a2b.png",
        "2025-11-28T00-00-00_../../../../../../../../etc/passwd.png",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_MSG(!storage_export_name_parse(bad[i], NULL, NULL), "%s", bad[i]);
}

static void test_local_check_and_put(void)
{
    char dir[600], src[700], path[800];
    snprintf(dir, sizeof dir, "%s/exports/nested", g_tmp);
    storage *st = local_storage(dir);
    awm_error err = {{0}};
    CHECK_MSG(storage_check(st, &err), "%s", err.msg); /* creates the missing directory */
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));

    snprintf(src, sizeof src, "%s/render.tmp", g_tmp);
    write_file(src, "PNG-DATA", 8);
    chmod(src, 0600);
    char *loc = storage_put_file(st, src, "poster-1.png", "image/png", &err);
    CHECK_MSG(loc != NULL, "%s", err.msg);
    snprintf(path, sizeof path, "%s/poster-1.png", dir);
    CHECK_STR_EQ(loc, path);
    free(loc);
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644 && sb.st_size == 8);
    CHECK(access(src, F_OK) != 0); /* the source was moved */

    /* Replacing an existing object. */
    write_file(src, "NEWER", 5);
    loc = storage_put_file(st, src, "poster-1.png", "image/png", &err);
    CHECK(loc != NULL);
    free(loc);
    char *data = NULL;
    size_t len = 0;
    CHECK(awm_read_file(path, &data, &len, &err) && len == 5 && !memcmp(data, "NEWER", 5));
    free(data);

    /* Downloads: open by name. */
    uint64_t size = 0;
    bool not_found = false;
    int fd = storage_open_local(st, "poster-1.png", &size, &not_found, &err);
    CHECK(fd >= 0);
    CHECK_INT_EQ(size, 5);
    if (fd >= 0)
        close(fd);
    fd = storage_open_local(st, "missing.png", &size, &not_found, &err);
    CHECK(fd < 0 && not_found);
    fd = storage_open_local(st, "../render.tmp", &size, &not_found, &err);
    CHECK(fd < 0 && not_found);
    /* A symlink planted in the directory is not followed out of it. */
    snprintf(path, sizeof path, "%s/link.png", dir);
    CHECK(symlink("/etc/passwd", path) == 0);
    fd = storage_open_local(st, "link.png", &size, &not_found, &err);
    CHECK(fd < 0 && not_found);
    /* No stray temp files. */
    snprintf(path, sizeof path, "ls -A '%s' | grep -q '^" AWM_TEMP_PREFIX "'", dir);
    CHECK(system(path) != 0);
    storage_free(st);
}

static void test_local_put_refuses_traversal(void)
{
    char dir[600], src[700];
    snprintf(dir, sizeof dir, "%s/trav/exports", g_tmp);
    storage *st = local_storage(dir);
    awm_error err = {{0}};
    CHECK(storage_check(st, &err));
    snprintf(src, sizeof src, "%s/trav/src.png", g_tmp);
    write_file(src, "x", 1);
    const char *names[] = {"../escaped.png", "..", ".htaccess", "sub/x.png", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *loc = storage_put_file(st, src, names[i], "image/png", &err);
        CHECK_MSG(loc == NULL, "stored under \"%s\"", names[i]);
        free(loc);
        CHECK_MSG(strstr(err.msg, "object name"), "%s", err.msg);
    }
    char escaped[700];
    snprintf(escaped, sizeof escaped, "%s/trav/escaped.png", g_tmp);
    CHECK(access(escaped, F_OK) != 0);
    CHECK(access(src, F_OK) == 0); /* refused: the source is untouched */
    /* A symlink as the source is refused rather than moved into EXPORT_DIR. */
    char link[700];
    snprintf(link, sizeof link, "%s/trav/link.png", g_tmp);
    CHECK(symlink(src, link) == 0);
    char *loc = storage_put_file(st, link, "linked.png", "image/png", &err);
    CHECK(loc == NULL);
    free(loc);
    CHECK_MSG(strstr(err.msg, link), "%s", err.msg);
    storage_free(st);
}

/* Across filesystems the file is copied to a temp name in EXPORT_DIR and renamed. */
static void test_local_put_across_filesystems(void)
{
    struct stat a, b;
    if (stat("/dev/shm", &b) != 0 || stat(g_tmp, &a) != 0 || a.st_dev == b.st_dev) {
        fprintf(stderr, "note: /dev/shm is not a separate filesystem here; copy path not run\n");
        return;
    }
    char src[] = "/dev/shm/awm-storage-test-XXXXXX";
    int fd = mkstemp(src);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    static char big[300000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 31 + 7);
    CHECK_INT_EQ(write(fd, big, sizeof big), sizeof big);
    close(fd);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/xdev", g_tmp);
    storage *st = local_storage(dir);
    awm_error err = {{0}};
    CHECK(storage_check(st, &err));
    char *loc = storage_put_file(st, src, "copied.pdf", "application/pdf", &err);
    CHECK_MSG(loc != NULL, "%s", err.msg);
    char *data = NULL;
    size_t len = 0;
    CHECK(loc && awm_read_file(loc, &data, &len, &err));
    CHECK(len == sizeof big && !memcmp(data, big, len));
    struct stat sb;
    CHECK(loc && stat(loc, &sb) == 0 && (sb.st_mode & 0777) == 0644);
    CHECK(access(src, F_OK) != 0);
    free(data);
    free(loc);
    unlink(src);
    storage_free(st);
}

/* As root permission bits do not stop writes, so use places that fail for anyone. */
static void test_local_unwritable_dir_messages(void)
{
    char file[600], sub[700];
    snprintf(file, sizeof file, "%s/plain-file", g_tmp);
    write_file(file, "x", 1);
    awm_error err = {{0}};

    storage *st = local_storage(file); /* EXPORT_DIR is a regular file */
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "EXPORT_DIR") && strstr(err.msg, file) &&
                  strstr(err.msg, "not a directory"),
              "%s", err.msg);
    storage_free(st);

    snprintf(sub, sizeof sub, "%s/below", file); /* a directory below a file */
    st = local_storage(sub);
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "EXPORT_DIR") && strstr(err.msg, sub) &&
                  strstr(err.msg, strerror(ENOTDIR)),
              "%s", err.msg);
    storage_free(st);

    st = local_storage("/proc"); /* exists, is a directory, takes no new files */
    CHECK(!storage_check(st, &err));
    CHECK_MSG(strstr(err.msg, "EXPORT_DIR /proc: cannot create a file in it: "), "%s", err.msg);
    storage_free(st);

    /* put into an unusable directory: clear error, source kept. */
    char src[700];
    snprintf(src, sizeof src, "%s/keep.png", g_tmp);
    write_file(src, "k", 1);
    st = local_storage(sub);
    char *loc = storage_put_file(st, src, "x.png", "image/png", &err);
    CHECK(loc == NULL);
    CHECK_MSG(strstr(err.msg, sub), "%s", err.msg);
    CHECK(access(src, F_OK) == 0);
    storage_free(st);
}

/* AWS documentation, "Authenticating Requests: Using Query Parameters (AWS Signature Version
 * 4)", example presigned GET of examplebucket/test.txt. */
static void test_presign_aws_example(void)
{
    storage_config cfg;
    storage_config_defaults(&cfg);
    cfg.kind = STORAGE_S3;
    snprintf(cfg.bucket, sizeof cfg.bucket, "examplebucket");
    snprintf(cfg.access_key_id, sizeof cfg.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    snprintf(cfg.secret_access_key, sizeof cfg.secret_access_key,
             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    awm_error err = {{0}};
    storage *st = storage_new(&cfg, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st)
        return;
    time_t t = 1369353600; /* 2013-05-24T00:00:00Z */
    char *url = storage_presign_get_at(st, "test.txt", 86400, t, &err);
    CHECK_STR_EQ(url,
                 "https://examplebucket.s3.amazonaws.com/test.txt"
                 "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                 "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
                 "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
                 "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    free(url);
    CHECK(storage_presign_get_at(st, "../x", 60, t, &err) == NULL);
    CHECK(storage_presign_get_at(st, "test.txt", 0, t, &err) == NULL);
    CHECK(storage_presign_get_at(st, "test.txt", 604801, t, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "604800"), "%s", err.msg);
    storage_free(st);

    st = local_storage("/tmp");
    CHECK(storage_presign_get(st, "a.png", 60, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "local"), "%s", err.msg);
    storage_free(st);
}

static void test_error_xml_parsing(void)
{
    char code[64], msg[256];
    const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch"
                      "</Code><Message>The &quot;signature&quot; &lt;x&gt; &amp; &#39;y&#x27;\n"
                      "</Message><RequestId>1</RequestId></Error>";
    CHECK(s3_parse_error_xml(doc, strlen(doc), code, sizeof code, msg, sizeof msg));
    CHECK_STR_EQ(code, "SignatureDoesNotMatch");
    CHECK_STR_EQ(msg, "The \"signature\" <x> & 'y' ");
    /* Truncated, tiny buffers, no XML at all, nothing. */
    CHECK(s3_parse_error_xml(doc, 58, code, sizeof code, msg, sizeof msg));
    CHECK_STR_EQ(code, "Signat");
    CHECK_STR_EQ(msg, "");
    CHECK(s3_parse_error_xml(doc, strlen(doc), code, 5, msg, 4));
    CHECK_STR_EQ(code, "Sign");
    CHECK_STR_EQ(msg, "The");
    CHECK(!s3_parse_error_xml("Bad Gateway", 11, code, sizeof code, msg, sizeof msg));
    CHECK_STR_EQ(code, "");
    CHECK(!s3_parse_error_xml(NULL, 0, code, sizeof code, msg, sizeof msg));
    const char *odd = "<Code>&#0;&#x;&#99999999;&bogus;\x01</Code>";
    CHECK(s3_parse_error_xml(odd, strlen(odd), code, sizeof code, msg, sizeof msg));
    CHECK_STR_EQ(code, "&#0;&#x;&#99999999;&bogus; ");
}

int main(void)
{
    tk_mkdtemp_or_exit(g_tmp, sizeof g_tmp, "storage-test");
    RUN(test_config_defaults_local);
    RUN(test_config_errors_name_the_variable);
    RUN(test_describe_never_shows_secret);
    RUN(test_name_check);
    RUN(test_export_name_made_and_parsed);
    RUN(test_local_check_and_put);
    RUN(test_local_put_refuses_traversal);
    RUN(test_local_put_across_filesystems);
    RUN(test_local_unwritable_dir_messages);
    RUN(test_presign_aws_example);
    RUN(test_error_xml_parsing);
    nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return TEST_EXIT();
}
