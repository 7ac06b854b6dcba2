#include "nw_map.h"

#include <stdlib.h>
#include <string.h>

#include "nw_arena.h"
#include "nw_hash.h"

struct slot {
    uint64_t hash; /* 0 = empty */
    nw_str key;
    void *value;
};

struct nw_map {
    struct slot *slots;
    size_t cap, count;
    nw_arena *keys;
};

static size_t pow2(size_t n)
{
    size_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

nw_map *nw_map_new(size_t initial)
{
    nw_map *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->cap = pow2(initial * 2);
    m->slots = calloc(m->cap, sizeof(struct slot));
    m->keys = nw_arena_new(64 * 1024);
    if (!m->slots || !m->keys) {
        nw_map_free(m);
        return NULL;
    }
    return m;
}

void nw_map_free(nw_map *m)
{
    if (!m)
        return;
    free(m->slots);
    nw_arena_free(m->keys);
    free(m);
}

void nw_map_clear(nw_map *m)
{
    memset(m->slots, 0, m->cap * sizeof(struct slot));
    m->count = 0;
    nw_arena_reset(m->keys);
}

size_t nw_map_count(const nw_map *m) { return m->count; }

static inline uint64_t hkey(nw_str k)
{
    uint64_t h = nw_hash64(k.p ? k.p : "", k.n, 0x9e3779b97f4a7c15ULL);
    return h ? h : 1;
}

void *nw_map_get(const nw_map *m, nw_str key)
{
    uint64_t h = hkey(key);
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct slot *s = &m->slots[i];
        if (s->hash == 0)
            return NULL;
        if (s->hash == h && nw_str_eqs(s->key, key))
            return s->value;
    }
}

static int grow(nw_map *m)
{
    size_t nc = m->cap * 2;
    struct slot *ns = calloc(nc, sizeof(struct slot));
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (!s->hash)
            continue;
        size_t j = s->hash & (nc - 1);
        while (ns[j].hash)
            j = (j + 1) & (nc - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = nc;
    return 0;
}

void **nw_map_put(nw_map *m, nw_str key, int *created, nw_str *stored_key)
{
    if ((m->count + 1) * 10 > m->cap * 7 && grow(m))
        return NULL;
    uint64_t h = hkey(key);
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    for (;; i = (i + 1) & mask) {
        struct slot *s = &m->slots[i];
        if (s->hash == 0)
            break;
        if (s->hash == h && nw_str_eqs(s->key, key)) {
            if (created)
                *created = 0;
            if (stored_key)
                *stored_key = s->key;
            return &s->value;
        }
    }
    struct slot *s = &m->slots[i];
    nw_str k = key.n ? nw_arena_dup(m->keys, key) : nw_str_mk("", 0);
    if (key.n && !k.p)
        return NULL;
    s->hash = h;
    s->key = k;
    s->value = NULL;
    m->count++;
    if (created)
        *created = 1;
    if (stored_key)
        *stored_key = k;
    return &s->value;
}

int nw_map_next(const nw_map *m, size_t *pos, nw_str *key, void **value)
{
    while (*pos < m->cap) {
        const struct slot *s = &m->slots[(*pos)++];
        if (s->hash) {
            if (key)
                *key = s->key;
            if (value)
                *value = s->value;
            return 1;
        }
    }
    return 0;
}
