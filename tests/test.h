/* test.h — the tiny assertion layer every C test uses. A test binary runs its cases,
 * prints one line per failed check (file:line and the values), and exits non-zero when
 * any check failed; meson counts each binary as one test. */
#ifndef AWM_TEST_H
#define AWM_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_ = 0;
static int test_checks_ = 0;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        test_checks_++;                                                                      \
        if (!(cond)) {                                                                       \
            test_failures_++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                    \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                 \
    do {                                                                                     \
        test_checks_++;                                                                      \
        if (!(cond)) {                                                                       \
            test_failures_++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                    \
            fputc('\n', stderr);                                                             \
        }                                                                                    \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                   \
    do {                                                                                     \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                \
        CHECK_MSG(va_ == vb_, "%s = %lld, %s = %lld", #a, va_, #b, vb_);                     \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                   \
    do {                                                                                     \
        const char *sa_ = (a), *sb_ = (b);                                                   \
        CHECK_MSG(sa_ && sb_ && !strcmp(sa_, sb_), "%s = \"%s\", %s = \"%s\"", #a,             \
                  sa_ ? sa_ : "(null)", #b, sb_ ? sb_ : "(null)");                           \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                \
    do {                                                                                     \
        double da_ = (double)(a), db_ = (double)(b);                                         \
        CHECK_MSG(fabs(da_ - db_) <= (tol), "%s = %.12g, %s = %.12g (tolerance %g)", #a, da_, \
                  #b, db_, (double)(tol));                                                   \
    } while (0)

/* Run a case function and report it by name. */
#define RUN(fn)                                                                              \
    do {                                                                                     \
        int before_ = test_failures_;                                                        \
        fn();                                                                                \
        fprintf(stderr, "%s %s\n", test_failures_ == before_ ? "ok  " : "FAIL", #fn);        \
    } while (0)

#define TEST_EXIT()                                                                          \
    (fprintf(stderr, "%d checks, %d failed\n", test_checks_, test_failures_),                \
     test_failures_ ? 1 : 0)

#endif
