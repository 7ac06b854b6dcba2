/* alerts.h - SIEM alerts with de-duplication across runs.
 *
 * An alerter encodes alerts in one format (alertfmt.h) and sends each to
 * every sink (sinks.h). With a state store (schema v3 table alert_state) it
 * alerts a condition only when its state changes:
 *   - new:       a finding (or a failing control) not open in the state;
 *   - escalated: an open finding whose severity went up;
 *   - resolved:  an open finding the report no longer has (a control that
 *                passes again).
 * The same finding (same stable id) on the same data is never alerted
 * twice, so running `run` again over the same logs sends nothing. Without a
 * state store every alert is sent (and nothing is resolved).
 *
 * Two entry points:
 *   nw_alerter_stream  the nw_alert_fn of analyze/stream.h: a streaming alert
 *                      is sent unless its finding is already open at the
 *                      same or a higher severity. Called inside the store's
 *                      batch transaction, so its state is written with the
 *                      batch (a batch rolled back re-alerts: at least once).
 *   nw_alerter_report  after a report: new and escalated findings, resolved
 *                      ones, and control state changes (compliance); the
 *                      state changes are one transaction.
 * Delivery failures never stop the caller: they are counted, and
 * nw_alerter_close reports them.
 */
#ifndef NW_ALERTS_H
#define NW_ALERTS_H

#include <jansson.h>
#include <stdint.h>

#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "../core/nw_err.h"
#include "findings.h"

struct nw_kafka_conf;

typedef struct nw_alerter_opts {
    int format;                        /* enum nw_alert_format */
    const char *version;               /* nhiwatch's version, for the product fields */
    nw_store *state;                   /* writable store holding alert_state; NULL = no de-duplication */
    const nw_rules *rules;             /* titles of resolved findings; may be NULL */
    const struct nw_kafka_conf *kafka; /* for kafka:// sinks; may be NULL */
} nw_alerter_opts;

typedef struct nw_alerter nw_alerter;

typedef struct nw_alerter_stats {
    uint64_t sent;       /* alerts encoded and handed to the sinks */
    uint64_t suppressed; /* streaming alerts of a finding already open */
    uint64_t new_, escalated, resolved;
    uint64_t failed;     /* sink deliveries that failed */
    uint64_t state_errors;
} nw_alerter_stats;

nw_alerter *nw_alerter_new(const nw_alerter_opts *o, nw_err *err);
/* Add a sink (uri as sinks.h). */
int nw_alerter_add_sink(nw_alerter *a, const char *uri, nw_err *err);
size_t nw_alerter_sinks(const nw_alerter *a);

/* nw_alert_fn for nw_stream_new (ctx = the alerter). */
void nw_alerter_stream(void *ctx, const json_t *alert);

/* Alerts for a report document (report.h doc_out) and its findings
 * (report.h findings_out; NULL = none). now_us: the alert time.
 * Returns 0, a store error or a findings read error (findings.h); the
 * state of alerts already sent is kept. */
int nw_alerter_report(nw_alerter *a, const json_t *doc, const nw_findings *fs, int64_t now_us, nw_err *err);

/* Send one alert as it is (state, origin set by the caller), de-duplicated
 * like a streaming alert when dedup is true. */
int nw_alerter_emit(nw_alerter *a, json_t *alert, bool dedup, nw_err *err);

/* Switch the store that holds alert_state (borrowed; NULL: no
 * de-duplication from now on). analyze --shard-dir keeps one alerter, and
 * so one connection per sink, for all its partition shards, and points it
 * at the shard whose batch it applies: each identity's alert state lives
 * in its partition's shard and moves with it. */
void nw_alerter_set_state(nw_alerter *a, nw_store *state);

void nw_alerter_stats_get(const nw_alerter *a, nw_alerter_stats *out);
/* Flush and close the sinks; 0, or the first sink's delivery error. */
int nw_alerter_close(nw_alerter *a, nw_err *err);
void nw_alerter_free(nw_alerter *a);

#endif
