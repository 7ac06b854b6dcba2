/* nw_arena.h - bump allocator for the per-batch hot path.
 *
 * Memory handed out lives until nw_arena_reset() or nw_arena_free(). Blocks
 * are chained; reset keeps the first block so a steady-state batch does not
 * touch malloc. Allocations larger than the block size get a block of their
 * own. Returns NULL only when malloc fails.
 */
#ifndef NW_ARENA_H
#define NW_ARENA_H

#include <stddef.h>

#include "nw_str.h"

typedef struct nw_arena nw_arena;

nw_arena *nw_arena_new(size_t block_size);
void nw_arena_free(nw_arena *a);
void nw_arena_reset(nw_arena *a);
void *nw_arena_alloc(nw_arena *a, size_t n);
/* Copy s into the arena (NUL-terminated as a courtesy); returns the view of
 * the copy, or NW_STR_NULL on allocation failure or empty input. */
nw_str nw_arena_dup(nw_arena *a, nw_str s);
/* Bytes currently held (for the memory bound tests). */
size_t nw_arena_held(const nw_arena *a);

#endif
