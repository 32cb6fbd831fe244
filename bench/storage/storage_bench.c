/* storage_bench.c — how long storing a finished poster takes: local put by rename (same
 * filesystem) and by copy + fsync + rename (/dev/shm → $TMPDIR, when they differ), and an S3
 * upload to a private s3rver on loopback (streamed, MD5 computed while sending, ETag checked).
 * Prints the median of the runs. usage: storage_bench [megabytes=40] [runs=3] */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage.h"
#include "support/s3_harness.h"
#include "support/testkit.h"

static bool write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, len, f) == len;
    if (f)
        ok = fclose(f) == 0 && ok;
    return ok;
}

/* Median seconds of `runs` puts of data into st (the source file is rewritten each run,
 * outside the timing). */
static double time_puts(storage *st, const char *src, const char *data, size_t len, int runs)
{
    double t[64];
    for (int i = 0; i < runs; i++) {
        if (!write_file(src, data, len)) {
            fprintf(stderr, "cannot write %s\n", src);
            exit(1);
        }
        awm_error err = {{0}};
        double t0 = awm_now_seconds();
        char *loc = storage_put_file(st, src, "bench-poster.png", "image/png", &err);
        t[i] = awm_now_seconds() - t0;
        if (!loc) {
            fprintf(stderr, "put failed: %s\n", err.msg);
            exit(1);
        }
        free(loc);
    }
    return awm_median(t, (size_t)runs);
}

int main(int argc, char **argv)
{
    long mb = argc > 1 ? atol(argv[1]) : 40;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    if (mb < 1 || runs < 1 || runs > 64) {
        fprintf(stderr, "usage: storage_bench [megabytes >= 1] [runs 1..64]\n");
        return 2;
    }
    size_t len = (size_t)mb * 1024 * 1024;
    char *data = awm_xmalloc(len);
    unsigned x = 12345;
    for (size_t i = 0; i < len; i++) { /* incompressible, like a PNG */
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        data[i] = (char)x;
    }
    char dir[512], src[600], export_dir[600];
    tk_mkdtemp_or_exit(dir, sizeof dir, "storage-bench");
    snprintf(src, sizeof src, "%s/render.tmp", dir);
    snprintf(export_dir, sizeof export_dir, "%s/exports", dir);
    printf("storage bench: %ld MB file, median of %d runs\n", mb, runs);

    storage_config cfg;
    storage_config_defaults(&cfg);
    snprintf(cfg.export_dir, sizeof cfg.export_dir, "%s", export_dir);
    awm_error err = {{0}};
    storage *st = storage_new(&cfg, &err);
    if (!st || !storage_check(st, &err)) {
        fprintf(stderr, "local: %s\n", err.msg);
        return 1;
    }
    printf("local put, rename (same filesystem):   %8.4f s\n", time_puts(st, src, data, len, runs));
    struct stat a, b;
    if (stat("/dev/shm", &b) == 0 && stat(dir, &a) == 0 && a.st_dev != b.st_dev) {
        char shm_src[100];
        snprintf(shm_src, sizeof shm_src, "/dev/shm/awm-storage-bench-%d", (int)getpid());
        double s = time_puts(st, shm_src, data, len, runs);
        printf("local put, copy+fsync (other fs):      %8.4f s  (%.0f MB/s)\n", s, mb / s);
        unlink(shm_src);
    }
    storage_free(st);

    s3_harness *s3 = s3_harness_start("bench", "AKBENCH", "bench-secret", &err);
    if (!s3) {
        fprintf(stderr, "s3rver: %s\n", err.msg);
        return 1;
    }
    storage_config_defaults(&cfg);
    cfg.kind = STORAGE_S3;
    snprintf(cfg.bucket, sizeof cfg.bucket, "bench");
    snprintf(cfg.endpoint, sizeof cfg.endpoint, "%s", s3_harness_endpoint(s3));
    snprintf(cfg.access_key_id, sizeof cfg.access_key_id, "AKBENCH");
    snprintf(cfg.secret_access_key, sizeof cfg.secret_access_key, "bench-secret");
    st = storage_new(&cfg, &err);
    double s = time_puts(st, src, data, len, runs);
    printf("s3 upload to s3rver on loopback:       %8.4f s  (%.0f MB/s)\n", s, mb / s);

    double t0 = awm_now_seconds();
    int n = 20000;
    for (int i = 0; i < n; i++)
        free(storage_presign_get(st, "bench-poster.png", 3600, &err));
    printf("presigned GET URL:                     %8.2f us each\n",
           (awm_now_seconds() - t0) / n * 1e6);
    storage_free(st);
    s3_harness_destroy(s3);
    unlink(src);
    tk_remove_tree(dir);
    free(data);
    return 0;
}
