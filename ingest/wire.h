/* wire.h - the normalized event on the wire: JSON, schema "nhiwatch.event/1".
 *
 * This is what `ingest` workers produce to the nhi.events topic and
 * `analyze` workers consume, and what other consumers (a SIEM, a data lake)
 * can read. The field list is documented in docs/event-schema.md; fields
 * with empty values are left out; unknown fields are ignored on decode, so
 * later minor versions can add fields. A major change gets a new schema
 * string and decoders refuse what they do not know.
 */
#ifndef NW_WIRE_H
#define NW_WIRE_H

#include <stddef.h>

#include "../core/nw_arena.h"
#include "../core/nw_err.h"
#include "event.h"
#include "jscan.h"

#define NW_WIRE_SCHEMA "nhiwatch.event/1"

enum nw_wire_error {
    NW_WIRE_E_JSON = -1,   /* not JSON */
    NW_WIRE_E_SCHEMA = -2, /* missing or unknown schema */
    NW_WIRE_E_FIELD = -3,  /* a required field is missing or malformed */
    NW_WIRE_E_NOMEM = -4,
    NW_WIRE_E_SPACE = -5,  /* encode: output buffer too small */
};

/* Encode ev into out (cap bytes). Returns the length written (no NUL), or
 * NW_WIRE_E_SPACE when it does not fit. */
long nw_wire_encode(const nw_event *ev, char *out, size_t cap);
/* A size that always suffices for ev. */
size_t nw_wire_size_bound(const nw_event *ev);

typedef struct nw_wire nw_wire;
nw_wire *nw_wire_new(size_t max_message, nw_err *err);
void nw_wire_free(nw_wire *w);
/* Decode one message. Strings of *ev point into buf or arena. */
int nw_wire_decode(nw_wire *w, const char *buf, size_t len, nw_arena *arena, nw_event *ev, nw_err *err);

#endif
