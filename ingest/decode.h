/* decode.h - one raw audit record in, one normalized event out.
 *
 * The format is detected from the record's content: a CloudTrail event
 * (bare, in an EventBridge envelope, a lookup-events element or a CloudWatch
 * Logs message), an Azure Activity record (Event Hubs / storage, REST or
 * Log Analytics shape), or a GCP LogEntry (bare or in a Pub/Sub push
 * envelope). Containers ({"Records":[...]}, {"records":[...]},
 * {"logEvents":[...]}, {"Events":[...]}) are not decoded here: they are
 * returned as NW_DECODE_CONTAINER with the array's raw text, and the caller
 * splits them (source.h) and decodes each element.
 */
#ifndef NW_DECODE_H
#define NW_DECODE_H

#include <stddef.h>

#include "../core/nw_arena.h"
#include "../core/nw_err.h"
#include "event.h"
#include "provider.h"

typedef struct nw_decoder nw_decoder;

enum nw_decode_result {
    NW_DECODE_EVENT = 0,     /* *ev is filled */
    NW_DECODE_SKIP = 1,      /* not an API activity record (digest, insight, control message ...);
                                err->msg says what it was */
    NW_DECODE_CONTAINER = 2, /* *container is the raw text of the array to split */
};

/* The same caps as the splitter's (source.h, nw_split_limits), 0 for the
 * default. A record is expected to come from the splitter, which measured
 * it whole (string lengths, field count, nesting); what nw_decode measures
 * itself is what no splitter saw: the JSON it unwraps from a string (a
 * lookup-events CloudTrailEvent, a CloudWatch Logs message, a Pub/Sub
 * message.data), checked with nw_jscan_measure before it is scanned. Over a
 * cap: NW_DEC_E_LIMIT, the message naming the cap. */
typedef struct nw_decode_limits {
    size_t max_record;  /* bytes per record (default 1 MiB) */
    size_t max_depth;   /* nesting (default 128) */
    size_t max_string;  /* bytes of one string (default 768 KiB) */
    size_t max_fields;  /* members + elements of one record (default 100000) */
} nw_decode_limits;

/* limits may be NULL for defaults. Returns NULL with err set on failure. */
nw_decoder *nw_decoder_new(const nw_decode_limits *limits, nw_err *err);
void nw_decoder_free(nw_decoder *d);

/* Decode one record. buf[0..len) with cap readable bytes (see jscan.h).
 * Strings of *ev point into buf or into arena. Returns an nw_decode_result
 * or a negative nw_dec_error (provider.h) with err->msg set; position
 * fields of err are left for the caller. */
int nw_decode(nw_decoder *d, const char *buf, size_t len, size_t cap, nw_arena *arena, nw_event *ev,
              nw_str *container, nw_err *err);

/* The per-decoder counts for `stats`. */
const char *nw_dec_strerror(int code);

#endif
