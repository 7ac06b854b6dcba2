/* detect.h - report-time detectors: per-identity state to findings.
 *
 * For each identity (activity from the logs and/or inventory from the IAM
 * exports) the detectors decide, as of a time, whether it is dormant,
 * suddenly active, over-privileged, or breaks a hygiene rule, and produce
 * findings of the report.json contract (docs/detections.md) with the
 * evidence that justifies each. Every threshold comes from the rule set.
 * Humans never get findings.
 *
 * The inputs are order-independent aggregates (daily counts, first use of
 * each action and source with its event id), so the findings are the same
 * whichever order the events arrived in (files or Kafka partitions).
 */
#ifndef NW_DETECT_H
#define NW_DETECT_H

#include <jansson.h>
#include <stdint.h>

#include "../core/nw_err.h"
#include "inventory.h"
#include "policy.h"
#include "rules.h"
#include "store.h"

typedef struct nw_detect nw_detect;

typedef struct nw_detect_opts {
    const nw_rules *rules;   /* required */
    const nw_policy *policy; /* may be NULL */
    int64_t as_of;           /* microseconds */
} nw_detect_opts;

enum nw_detect_error {
    NW_DETECT_E_RULES = -1, /* a rule or threshold the detectors need is missing */
    NW_DETECT_E_STORE = -2,
    NW_DETECT_E_NOMEM = -3,
};

nw_detect *nw_detect_new(const nw_detect_opts *opts, nw_err *err);
void nw_detect_free(nw_detect *d);

/* The context of one identity. act: its activity row, or NULL when only
 * the inventory knows it; inv: its inventory row, or NULL; act_st / inv_st:
 * the shards holding them. */
typedef struct nw_detect_subject {
    nw_store *act_st;
    const nw_ident_row *act;
    nw_store *inv_st;
    const nw_inv_identity *inv;
    const char *probable_owner; /* who created it, from the logs (NULL when unknown) */
} nw_detect_subject;

/* Append this identity's findings (new references) to `findings` and
 * return how many; negative nw_detect_error on failure. *kind_out receives
 * the identity's kind (enum nw_kind). */
int nw_detect_identity(nw_detect *d, const nw_detect_subject *s, json_t *findings, int *kind_out, nw_err *err);

/* Deprovisioning candidates collected so far (array of objects; borrowed). */
const json_t *nw_detect_candidates(const nw_detect *d);

/* The stable finding id: "f-" + 16 hex digits of a hash of rule, identity
 * and (optionally) credential. buf >= 20 bytes. */
const char *nw_finding_id(const char *rule, const char *identity, const char *cred, char *buf);

#endif
