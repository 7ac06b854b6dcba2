/* nw_map.h - string-keyed hash map (open addressing, linear probing).
 *
 * Keys are copied into the map's own arena; values are a caller pointer.
 * Grows by doubling at 70% load; nw_map_clear() empties it in O(capacity)
 * and keeps the memory. Hash flooding cannot make a probe sequence longer
 * than the table, and the table is bounded by its caller's caps.
 */
#ifndef NW_MAP_H
#define NW_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "nw_str.h"

typedef struct nw_map nw_map;

nw_map *nw_map_new(size_t initial);
void nw_map_free(nw_map *m);
void nw_map_clear(nw_map *m);
size_t nw_map_count(const nw_map *m);
/* The value stored under key, or NULL. */
void *nw_map_get(const nw_map *m, nw_str key);
/* Find or insert key. Returns the slot holding the value (NULL-initialised
 * for a new key; *created tells which), or NULL on allocation failure. The
 * slot address is valid until the next insert. The map's copy of the key is
 * returned in *stored_key when not NULL. */
void **nw_map_put(nw_map *m, nw_str key, int *created, nw_str *stored_key);
/* Iterate: start with *pos = 0; returns false at the end. */
int nw_map_next(const nw_map *m, size_t *pos, nw_str *key, void **value);

#endif
