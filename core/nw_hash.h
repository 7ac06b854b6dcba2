/* nw_hash.h - non-cryptographic hashes for tables and de-duplication ids. */
#ifndef NW_HASH_H
#define NW_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "nw_str.h"

uint64_t nw_hash64(const void *p, size_t n, uint64_t seed);
/* 128-bit digest of the concatenation of parts, each length-prefixed so
 * that ("ab","c") and ("a","bc") differ. out receives 16 bytes. */
void nw_hash128(const nw_str *parts, size_t nparts, uint8_t out[16]);

#endif
