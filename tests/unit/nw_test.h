/* nw_test.h - the smallest test harness that states what failed.
 *
 * Each CHECK prints file:line and the values on failure and counts it;
 * main() returns nw_test_finish(), non-zero when anything failed, and prints
 * "N passed, N failed" so ctest logs are readable. */
#ifndef NW_TEST_H
#define NW_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nw_str.h"

static int nw_t_pass, nw_t_fail;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            nw_t_pass++;                                                                \
        } else {                                                                        \
            nw_t_fail++;                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                               \
    } while (0)

#define CHECK_INT(a, b)                                                                                 \
    do {                                                                                                \
        long long _a = (long long)(a), _b = (long long)(b);                                            \
        if (_a == _b) {                                                                                 \
            nw_t_pass++;                                                                                \
        } else {                                                                                        \
            nw_t_fail++;                                                                                \
            fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, _a, #b, _b); \
        }                                                                                               \
    } while (0)

/* Compare an nw_str (or anything with .p/.n) with a C string literal. */
#define CHECK_STR(s, lit)                                                                              \
    do {                                                                                               \
        nw_str _s = (s);                                                                               \
        const char *_l = (lit);                                                                        \
        if (_s.n == strlen(_l) && (_s.n == 0 || memcmp(_s.p, _l, _s.n) == 0)) {                        \
            nw_t_pass++;                                                                               \
        } else {                                                                                       \
            nw_t_fail++;                                                                               \
            fprintf(stderr, "%s:%d: %s is \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__, #s,        \
                    (int)_s.n, _s.p ? _s.p : "", _l);                                                  \
        }                                                                                              \
    } while (0)

#define CHECK_CSTR(a, lit)                                                                             \
    do {                                                                                               \
        const char *_a = (a), *_l = (lit);                                                             \
        if (_a && strcmp(_a, _l) == 0) {                                                               \
            nw_t_pass++;                                                                               \
        } else {                                                                                       \
            nw_t_fail++;                                                                               \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a,          \
                    _a ? _a : "(null)", _l);                                                           \
        }                                                                                              \
    } while (0)

static inline int nw_test_finish(void)
{
    printf("%d passed, %d failed\n", nw_t_pass, nw_t_fail);
    return nw_t_fail ? 1 : 0;
}

/* Path of a test data file: NW_SAMPLES_DIR / NW_FIXTURES_DIR are set by CMake. */
#ifndef NW_FIXTURES_DIR
#define NW_FIXTURES_DIR "tests/fixtures"
#endif

#endif
