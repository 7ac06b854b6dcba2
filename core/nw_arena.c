#include "nw_arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct blk {
    struct blk *next;
    size_t cap, used;
    _Alignas(16) unsigned char data[];
};

struct nw_arena {
    struct blk *head;
    size_t block_size;
    size_t held;
};

static struct blk *blk_new(size_t cap)
{
    struct blk *b = malloc(sizeof(*b) + cap);
    if (!b)
        return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

nw_arena *nw_arena_new(size_t block_size)
{
    nw_arena *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    return a;
}

void nw_arena_free(nw_arena *a)
{
    if (!a)
        return;
    struct blk *b = a->head;
    while (b) {
        struct blk *n = b->next;
        free(b);
        b = n;
    }
    free(a);
}

void nw_arena_reset(nw_arena *a)
{
    if (!a || !a->head)
        return;
    /* keep one normal-sized block, free the rest */
    struct blk *b = a->head, *keep = NULL;
    while (b) {
        struct blk *n = b->next;
        if (!keep && b->cap == a->block_size) {
            keep = b;
            keep->next = NULL;
        }
        else
            free(b);
        b = n;
    }
    a->head = keep;
    a->held = keep ? keep->cap : 0;
    if (keep)
        keep->used = 0;
}

void *nw_arena_alloc(nw_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct blk *b = a->head;
    if (!b || b->cap - b->used < n) {
        if (n > a->block_size) {
            /* oversized: own block, linked behind the head so the head
             * keeps serving small allocations */
            struct blk *big = blk_new(n);
            if (!big)
                return NULL;
            big->used = n;
            a->held += n;
            if (b) {
                big->next = b->next;
                b->next = big;
            } else {
                a->head = big;
            }
            return big->data;
        }
        b = blk_new(a->block_size);
        if (!b)
            return NULL;
        b->next = a->head;
        a->head = b;
        a->held += b->cap;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

nw_str nw_arena_dup(nw_arena *a, nw_str s)
{
    if (s.n == 0)
        return NW_STR_NULL;
    char *p = nw_arena_alloc(a, s.n + 1);
    if (!p)
        return NW_STR_NULL;
    memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    return nw_str_mk(p, s.n);
}

size_t nw_arena_held(const nw_arena *a) { return a ? a->held : 0; }
