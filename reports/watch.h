/* watch.h - after a remediation: did the disabled identities stay silent?
 *
 * The quarantine file lists the identities that were disabled, with when:
 *   CSV with a header row naming at least `identity` and `disabled_at`
 *   (RFC 3339 or a date; other columns are ignored), or JSON: an array of
 *   {"identity": KEY, "disabled_at": TIME}, or one such object per line.
 *
 * For each, against the activity in the store(s), as of a time:
 *   active_after_disable  a successful call after disabled_at: the disable
 *                         did not take (or was undone) -> critical alert
 *   still_needed          calls after disabled_at, all refused or failed: a
 *                         workload still uses it -> high alert, roll back
 *   safe_to_delete        no call since disabled_at for >= silent_days
 *   observing             no call yet, silent for less than silent_days
 * "After disabled_at" is exact: the identity's newest call and newest
 * successful call are compared with the time; the per-day counts of the
 * days after the disable day are the evidence.
 *
 *   {"as_of", "silent_days", "counts": {status: n},
 *    "identities": [{"identity", "disabled_at", "status", "found",
 *       "provider", "type", "last_seen", "last_success", "silent_days",
 *       "days_left", "after": {"days", "events", "failures", "denied"},
 *       "rollback": ["cmd", ...], "recommendation"}]}
 */
#ifndef NW_WATCH_H
#define NW_WATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../analyze/store.h"
#include "../core/nw_err.h"

enum nw_watch_error {
    NW_WATCH_E_OPEN = -1,  /* cannot read the quarantine file */
    NW_WATCH_E_PARSE = -2, /* malformed (err: line) */
    NW_WATCH_E_STORE = -3,
};

/* Load the quarantine list: *out is an array of {"identity", "disabled_at"
 * (RFC 3339), "line"} (new reference). Files over 64 MiB are refused. */
int nw_quarantine_load(const char *path, json_t **out, nw_err *err);

typedef struct nw_watch_opts {
    int64_t as_of;   /* microseconds; 0 = the newest event stored */
    int silent_days; /* 0 = 30 */
} nw_watch_opts;

/* Evaluate; *out: the result object above (new reference). */
int nw_watch_eval(nw_store *const *shards, size_t n, const json_t *quarantine, const nw_watch_opts *o, json_t **out,
                  nw_err *err);

/* The alerts of a result: one per active_after_disable (NHI-WATCH-002,
 * critical) and still_needed (NHI-WATCH-001, high) identity; new reference,
 * an array of nhiwatch.alert/1 objects (alerts.h). now_us: alert time. */
json_t *nw_watch_alerts(const json_t *result, int64_t now_us);

#endif
