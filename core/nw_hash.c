#include "nw_hash.h"

#include <string.h>

/* A 64-bit multiply-mix hash in the style of wyhash/murmur finalisers: fast
 * on short keys, good avalanche. Not for adversarial-resistance: tables
 * keyed by it bound their chains instead (see nw_map). */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define P0 0xa0761d6478bd642fULL
#define P1 0xe7037ed1a0b428dbULL
#define P2 0x8ebc6af09c88c6e3ULL
#define P3 0x589965cc75374cc3ULL

uint64_t nw_hash64(const void *key, size_t len, uint64_t seed)
{
    const unsigned char *p = key;
    uint64_t a, b;
    seed ^= P0;
    if (len <= 16) {
        if (len >= 4) {
            a = (rd32(p) << 32) | rd32(p + ((len >> 3) << 2));
            b = (rd32(p + len - 4) << 32) | rd32(p + len - 4 - ((len >> 3) << 2));
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        if (i > 48) {
            uint64_t s1 = seed, s2 = seed;
            do {
                seed = mix(rd64(p) ^ P1, rd64(p + 8) ^ seed);
                s1 = mix(rd64(p + 16) ^ P2, rd64(p + 24) ^ s1);
                s2 = mix(rd64(p + 32) ^ P3, rd64(p + 40) ^ s2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= s1 ^ s2;
        }
        while (i > 16) {
            seed = mix(rd64(p) ^ P1, rd64(p + 8) ^ seed);
            i -= 16;
            p += 16;
        }
        a = rd64(p + i - 16);
        b = rd64(p + i - 8);
    }
    return mix(P1 ^ len, mix(a ^ P1, b ^ seed));
}

void nw_hash128(const nw_str *parts, size_t nparts, uint8_t out[16])
{
    uint64_t h1 = 0x243f6a8885a308d3ULL, h2 = 0x13198a2e03707344ULL;
    for (size_t i = 0; i < nparts; i++) {
        uint64_t x = nw_hash64(parts[i].p ? parts[i].p : "", parts[i].n, (uint64_t)parts[i].n + i);
        h1 = mix(h1 ^ x, P2) + i;
        h2 = mix(h2 ^ (x * P3 + P1), P0 ^ (uint64_t)parts[i].n);
    }
    h1 ^= mix(h2, P1);
    memcpy(out, &h1, 8);
    memcpy(out + 8, &h2, 8);
}
