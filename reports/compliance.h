/* compliance.h - the compliance view: per control of a framework (from the
 * rules' compliance references), the findings that evidence it and whether
 * it passes (no finding) or fails.
 *
 *   {"frameworks": {"SOC 2": {"controls": 4, "failing": 2, "passing": 2}, ...},
 *    "controls": [{"framework": "SOC 2", "control": "CC6.2", "status": "fail",
 *                  "rules": ["NHI-DORMANT-001", ...], "findings": 35,
 *                  "identities": 33, "by_severity": {"high": 3, "low": 32},
 *                  "finding_ids": ["f-...", ...]}, ...]}
 *
 * Controls come in (framework, control) order; finding_ids lists at most
 * NW_COMPLIANCE_MAX_IDS ids in the findings' order (severity first), the
 * count is always complete. Every control that a loaded rule maps to is
 * listed, so a control with no finding shows as "pass"; a control named only
 * by a finding (rules not given) is listed too.
 */
#ifndef NW_COMPLIANCE_H
#define NW_COMPLIANCE_H

#include <jansson.h>

#include "../analyze/rules.h"
#include "../core/nw_err.h"
#include "findings.h"

#define NW_COMPLIANCE_MAX_IDS 200

/* New reference; NULL with err set when out of memory or when the findings
 * cannot be read back. rules and fs may be NULL. */
json_t *nw_compliance_build(const nw_rules *rules, const nw_findings *fs, nw_err *err);

/* The stable id of a control for alert state: "c-" + 16 hex digits of a
 * hash of framework and control. buf >= 20 bytes. */
const char *nw_control_id(const char *framework, const char *control, char *buf);

#endif
