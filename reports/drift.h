/* drift.h - compare this report with a previous one (the baseline).
 *
 *   "drift": {
 *     "baseline": {"path": "...", "as_of": "...", "generated_at": "..."},
 *     "counts": {"new": 2, "resolved": 5, "persisting": 40, "escalated": 1},
 *     "new": [{"id", "rule", "kind", "identity", "severity"}, ...],
 *     "resolved": [...], "persisting": [{..., "baseline_severity", "escalated"}],
 *     "metrics": {"ownership.with_owner_share": {"baseline": 0.1, "current": 0.5, "change": 0.4}, ...},
 *     "compliance": {"newly_failing": [{"framework", "control"}], "newly_passing": [...],
 *                    "failing": {"baseline": 12, "current": 10, "change": -2}}}
 *
 * Findings are matched by their stable id (rule + identity [+ credential]).
 * Metrics are compared leaf by leaf: every number of the metrics object,
 * named by its path with '.' between the keys; a leaf missing on one side
 * has null there and no change.
 *
 * The baseline is read without loading its identities[]: the file is
 * mapped, its top-level members are delimited by a small scanner, and only
 * the members drift needs are parsed (memory: those members, not the file).
 */
#ifndef NW_DRIFT_H
#define NW_DRIFT_H

#include <jansson.h>

#include "findings.h"

#include "../core/nw_err.h"

enum nw_drift_error {
    NW_DRIFT_E_OPEN = -1,  /* cannot read the file */
    NW_DRIFT_E_PARSE = -2, /* not a JSON object, or a member is malformed (err says which, and where) */
    NW_DRIFT_E_SCHEMA = -3, /* not an nhiwatch report (schema is not nhiwatch.report/1) */
};

/* Load the top-level members schema, as_of, generated_at, window_days,
 * findings, compliance and metrics of a report.json (path may be the report
 * folder). Each finding keeps only what drift compares and lists (id, rule,
 * kind, identity, severity, credential), parsed one at a time, so a large
 * baseline stays small. *out: new reference. */
int nw_baseline_load(const char *path, json_t **out, nw_err *err);

/* The drift object of doc (whose findings are fs) against base (new
 * reference; NULL with err set when out of memory or when fs cannot be
 * read back). Adds "change" to each of doc's compliance controls
 * ("newly_failing", "newly_passing", "unchanged" or "new_control"). */
json_t *nw_drift_build(const json_t *base, json_t *doc, const nw_findings *fs, const char *base_path, nw_err *err);

/* Every numeric leaf of a metrics object as {"a.b.c": number} (new
 * reference); used by drift and by `trend`. */
json_t *nw_metrics_flatten(const json_t *metrics);

#endif
