/* s3_harness.h — a private S3-compatible server (s3rver, tests/s3server) for one test process.
 *
 *   s3_harness *s3 = s3_harness_start("bucket", "AKTEST", "secret", &err); // or NULL (err says why)
 *   ... S3_ENDPOINT = s3_harness_endpoint(s3) ("http://127.0.0.1:<port>"), path-style ...
 *   s3_harness_destroy(s3);                                                // stop, remove its directory
 *
 * The server (node + @20minutes/s3rver, installed by scripts/setup's `npm ci` in tests/s3server)
 * stores objects in a fresh directory under $TMPDIR (or /tmp) named awm-s3-*, listens on
 * 127.0.0.1 on a port the kernel picks, has `bucket` created, and accepts requests signed
 * (SigV4, verified) with the given key pair or s3rver's built-in S3RVER/S3RVER.
 *
 * No server outlives its test: the server exits when its stdin closes, and the harness holds
 * the only write end of that pipe — so the server goes when destroy closes it or when the test
 * process dies in any way (SIGKILL included). Each start also removes directories left behind
 * by test processes that are gone. Not thread-safe: start and destroy from one thread. */
#ifndef AWM_TESTS_S3_HARNESS_H
#define AWM_TESTS_S3_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/util.h"

typedef struct s3_harness s3_harness;

/* Start the server; waits (up to 60 s) until it serves requests. */
s3_harness *s3_harness_start(const char *bucket, const char *access_key_id,
                             const char *secret_access_key, awm_error *err);

const char *s3_harness_endpoint(const s3_harness *s3);   /* "http://127.0.0.1:<port>" */
int s3_harness_port(const s3_harness *s3);
const char *s3_harness_dir(const s3_harness *s3);        /* the server's data directory */
pid_t s3_harness_pid(const s3_harness *s3);

/* Stop the server (closing its stdin; SIGKILL after 5 s), remove the directory, free.
 * NULL is fine. */
void s3_harness_destroy(s3_harness *s3);

#endif
