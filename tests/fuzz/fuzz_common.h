/* fuzz_common.h - what every libFuzzer target of tests/fuzz shares.
 *
 * Each target is one .c file with LLVMFuzzerTestOneInput. It is linked
 * twice: with libFuzzer (-DNW_FUZZ=ON, clang) to search for crashes, and
 * with replay_main.c (any compiler, every build) so ctest replays the
 * regression inputs of tests/fuzz/regressions/<target>/ through it.
 *
 * FUZZ_CHECK is an invariant of the code under test: when it does not hold
 * the target aborts, which libFuzzer reports as a crash with the input that
 * broke it, and the replay test fails.
 */
#ifndef NW_FUZZ_COMMON_H
#define NW_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* Read every byte of a view so that AddressSanitizer sees a view that
 * reaches past its buffer; the sum keeps the compiler from dropping it. */
static inline unsigned fuzz_touch(const void *p, size_t n)
{
    const volatile unsigned char *c = (const volatile unsigned char *)p;
    unsigned s = 0;
    for (size_t i = 0; i < n; i++)
        s += c[i];
    return s;
}

/* A small deterministic generator for choices derived from the input
 * (chunk sizes, modes), so a crash replays the same way. */
typedef struct fuzz_rng {
    uint64_t s;
} fuzz_rng;

static inline uint64_t fuzz_next(fuzz_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ull;
    uint64_t z = r->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A private temporary folder for the process, removed at exit (with the
 * files the target put there: one level, no sub-folders). */
const char *fuzz_tmpdir(void);

#endif
