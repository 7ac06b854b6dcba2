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
    NW_WIRE_E_LIMIT = -6,  /* decode: more than NW_WIRE_MAX_FIELDS fields */
};

/* Fields (object members and array elements, counted as nw_jscan_measure
 * counts them) a message may have: about 40 today, and decoders ignore
 * unknown ones so that minor versions can add some. Strings have no cap of
 * their own beyond the message size: an event carries raw strings (user
 * agent, resource) of up to --max-string bytes. */
#define NW_WIRE_MAX_FIELDS 1000

/* Encode ev into out (cap bytes). Returns the length written (no NUL), or
 * NW_WIRE_E_SPACE when it does not fit. */
long nw_wire_encode(const nw_event *ev, char *out, size_t cap);
/* A size that always suffices for ev. */
size_t nw_wire_size_bound(const nw_event *ev);

typedef struct nw_wire nw_wire;
nw_wire *nw_wire_new(size_t max_message, nw_err *err);
void nw_wire_free(nw_wire *w);
/* Decode one message. Strings of *ev point into buf or arena. A message
 * over max_message or NW_WIRE_MAX_FIELDS is refused before it is scanned. */
int nw_wire_decode(nw_wire *w, const char *buf, size_t len, nw_arena *arena, nw_event *ev, nw_err *err);
/* Does nw_wire_decode read buf on its fast path? It does for what
 * nw_wire_encode writes (one object of known keys, strings and `true`, no
 * white space, printable ASCII without escapes); anything else takes the
 * general scanner, with the same result. For tests and benchmarks. */
bool nw_wire_is_fast(const nw_wire *w, const char *buf, size_t len);

#endif
