/* provider.h - the interface every provider decoder gives the dispatcher.
 *
 * Internal to ingest/: decode.c scans each record once with the union of
 * all providers' paths, asks each provider in turn whether the record is
 * its own (match), and lets the first that says yes fill the event.
 *
 * A provider module (cloudtrail.c, azure.c, gcp.c) defines one
 * `const nw_provider_decoder` and nothing else public.
 */
#ifndef NW_PROVIDER_H
#define NW_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/nw_arena.h"
#include "../core/nw_err.h"
#include "event.h"
#include "jscan.h"

/* What a decoder may use while decoding one record. */
typedef struct nw_decctx {
    nw_jscan *js;    /* for nested documents: JSON held in strings, arrays */
    nw_arena *arena; /* strings the event points to that are not in the input */
} nw_decctx;

/* decode() results besides 0 (event filled) and negative nw_dec_error. */
#define NW_DEC_SKIP 1 /* recognised, but not an identity's API activity (err->msg says why) */

enum nw_dec_error {
    NW_DEC_E_JSON = -1,     /* not well-formed JSON */
    NW_DEC_E_FORMAT = -2,   /* not a record of any supported format */
    NW_DEC_E_IDENTITY = -3, /* an audit record with no usable identity */
    NW_DEC_E_TIME = -4,     /* event time missing or not a time */
    NW_DEC_E_FIELD = -5,    /* a required field has the wrong type */
    NW_DEC_E_NOMEM = -6,
    NW_DEC_E_LIMIT = -7,    /* over a configured size / depth cap */
};

typedef struct nw_provider_decoder {
    const char *name;
    /* Paths (jscan.h syntax) relative to the record root. v[i] in match()
     * and decode() answers paths[i]. */
    const char *const *paths;
    size_t npaths;
    /* Is this record one of ours? Cheap: look at which keys are present. */
    bool (*match)(const nw_jval *v);
    /* Per-decoder state (compiled nested path sets); may be NULL. */
    void *(*state_new)(nw_err *err);
    void (*state_free)(void *state);
    /* Fill ev (zeroed by the caller) from v. Returns 0, NW_DEC_SKIP or a
     * negative nw_dec_error with err->msg set. Must never crash on any
     * value types: a path may hold a number where a string was expected. */
    int (*decode)(void *state, nw_decctx *dc, const nw_jval *v, nw_event *ev, nw_err *err);
} nw_provider_decoder;

extern const nw_provider_decoder nw_cloudtrail_decoder;
extern const nw_provider_decoder nw_azure_decoder;
extern const nw_provider_decoder nw_gcp_decoder;

/* Helpers shared by the decoders (decode.c). */

/* The string value, or NW_STR_NULL when absent or not a string. */
nw_str nw_jv_str(const nw_jval *v);
/* String value, or the text of a number / bool ("true"/"false"). */
nw_str nw_jv_text(const nw_jval *v);
/* true for JSON true and for the strings "true"/"True" */
bool nw_jv_true(const nw_jval *v);
/* Lower-case copy into the arena (ASCII). */
nw_str nw_lower(nw_arena *a, nw_str s);
/* Concatenate parts into the arena. */
nw_str nw_cat(nw_arena *a, const nw_str *parts, size_t n);
/* Is the string an IPv4/IPv6 literal? */
bool nw_is_ip(nw_str s);

#endif
