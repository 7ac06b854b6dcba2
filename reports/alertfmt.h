/* alertfmt.h - SIEM encodings of an alert: OCSF (default), ECS, CEF, or
 * nhiwatch's own JSON.
 *
 * The input is an alert object as alerts.c builds it:
 *   finding alerts ("schema": "nhiwatch.alert/1", as analyze/stream.h
 *   emits them, plus what the alert state adds):
 *     id (the stable finding id), time (RFC 3339), kind, rule, severity,
 *     title, identity, provider, identity_type, [credential], evidence,
 *     compliance[], recommendation, state ("new" | "escalated" | "resolved"),
 *     origin ("stream" | "report" | "watch"), [previous_severity]
 *   control alerts ("schema": "nhiwatch.control/1"):
 *     id ("c-..."), time, framework, control, status ("fail" | "pass"),
 *     state ("new" = started failing | "resolved" = passes again),
 *     severity (worst of its findings), findings (count), rules[],
 *     finding_ids[] (at most 20)
 *
 * OCSF (schema 1.6.0, category Findings):
 *   - Detection Finding (class_uid 2004) for dormant, suddenly active and
 *     ownership findings, and every streaming alert: finding_info (uid = the
 *     finding id), actor.user, resources, evidences (the event that fired
 *     it, with the evidence object as data), anomaly_analyses for sudden
 *     activity, remediation;
 *   - IAM Analysis Finding (2008, new in 1.6.0) for over-privilege and
 *     credential findings (over_privileged, unused_credential,
 *     stale_credential, credential_expired, credential_expiring,
 *     multiple_active_keys, long_lived_key_on_compute): user,
 *     identity_activity_metrics, permission_analysis_results;
 *   - Compliance Finding (2003) for control results: compliance.standards,
 *     control, status_id (Pass 1 / Fail 3).
 *   activity_id: new 1 (Create), escalated 2 (Update), resolved 3 (Close);
 *   type_uid = class_uid * 100 + activity_id; severity_id: info 1, low 2,
 *   medium 3, high 4, critical 5; time in epoch milliseconds; status_id New
 *   (1) or Resolved (4); metadata.product {name, vendor_name, version},
 *   metadata.version "1.6.0". Everything else nhiwatch knows goes to
 *   unmapped.nhiwatch.
 * ECS (8.11): @timestamp, event.{kind, category, type, action, code,
 *   severity, risk_score, id, dataset}, rule.*, user.id, cloud.provider,
 *   source.ip, observer.*, labels, and the alert itself under nhiwatch.*.
 * CEF (ArcSight CEF 0): CEF:0|nhiwatch|nhiwatch|VERSION|RULE|TITLE|SEV|ext
 *   with header '|' and '\' escaped, extension '=' '\' and newlines escaped.
 */
#ifndef NW_ALERTFMT_H
#define NW_ALERTFMT_H

#include <jansson.h>

enum nw_alert_format {
    NW_AF_OCSF = 0,
    NW_AF_ECS = 1,
    NW_AF_CEF = 2,
    NW_AF_NATIVE = 3, /* the alert object itself, compact JSON */
};

#define NW_OCSF_VERSION "1.6.0"

/* "ocsf", "ecs", "cef", "json"; -1 when unknown. */
int nw_alert_format_parse(const char *s);
const char *nw_alert_format_name(int fmt);

/* The alert as one line of text (no newline; malloc'd, the caller frees;
 * NULL when out of memory). version: nhiwatch's version for the product
 * fields. */
char *nw_alert_encode(int fmt, const json_t *alert, const char *version);

/* The objects behind the JSON formats (new references), for tests. */
json_t *nw_ocsf_alert(const json_t *alert, const char *version);
json_t *nw_ecs_alert(const json_t *alert, const char *version);
char *nw_cef_alert(const json_t *alert, const char *version);

/* Syslog severity (RFC 5424: 2 crit ... 6 info) of an alert. */
int nw_alert_syslog_severity(const json_t *alert);

#endif
