/* stream.h - streaming detectors: alerts the moment an event arrives.
 *
 * Installed as the store's event hook (nw_store_set_hook with
 * nw_stream_hook and the nw_stream as context), they see every new event
 * with its identity's state before the event, inside the batch that stores
 * it, and call the alert function at once:
 *   - dormancy break: a non-human identity silent for at least the
 *     reactivation gap acts again (critical when the first action changes
 *     privileges or reads a secret);
 *   - first privilege-changing action of an established non-human identity.
 * Alerts are JSON objects ("nhiwatch.alert/1") carrying the stable finding
 * id of the rule and identity, the event id and time, and the evidence.
 * These alerts are a live feed; the report's findings are computed from the
 * stored state (detect.h), whatever order the events arrived in.
 */
#ifndef NW_STREAM_H
#define NW_STREAM_H

#include <jansson.h>

#include "../core/nw_err.h"
#include "rules.h"
#include "store.h"

typedef struct nw_stream nw_stream;

/* Called with each alert (borrowed; copy what you keep). */
typedef void (*nw_alert_fn)(void *ctx, const json_t *alert);

nw_stream *nw_stream_new(const nw_rules *rules, nw_alert_fn fn, void *ctx, nw_err *err);
void nw_stream_free(nw_stream *s);
/* The store hook (ctx = the nw_stream). */
void nw_stream_hook(void *ctx, const nw_event *ev, const nw_ident_state *before);
uint64_t nw_stream_alerts(const nw_stream *s);

#endif
