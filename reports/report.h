/* report.h - report.json (DESIGN.md contract) and report.md, written in one
 * streaming pass over the identities of one or more store shards.
 *
 * Shards (as analyze workers write them) hold disjoint sets of identities;
 * their identity lists are merged in key order, so a report over N shards is
 * byte for byte the report one database with all the events would give
 * (except `generated_at`). Memory stays bounded by the largest identity, not
 * by the number of identities: each identity is built, written and freed.
 */
#ifndef NW_REPORT_H
#define NW_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../analyze/policy.h"
#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "../core/nw_err.h"
#include "findings.h"

typedef struct nw_report_opts {
    int64_t as_of;        /* microseconds; 0 = the newest event time stored */
    int window_days;      /* 0 = 90 */
    int64_t generated_at; /* microseconds; 0 = now */
    size_t md_rows;       /* identities listed per table in report.md; 0 = 200 */
    const struct nw_rules *rules;   /* NULL: no detectors run, findings[] stays empty */
    const struct nw_policy *policy; /* ownership policy, may be NULL */
    /* -- reports.md: formats, baseline, the document for alerts and history -- */
    unsigned formats;     /* NW_FMT_* of collect.h; 0 = json and md */
    const char *baseline; /* previous report.json (or its folder) for drift; NULL = none */
    size_t max_cards;     /* identity cards in report.html; 0 = 500 */
    json_t **doc_out;     /* when not NULL: receives report.json without identities[] and findings[]
                             (new reference), for alerts (alerts.h) and `report --record` */
    nw_findings **findings_out; /* when not NULL: receives the findings (findings.h; the caller frees them
                                   with nw_findings_free; their temporary file is in out_dir) */
} nw_report_opts;

typedef struct nw_report_summary {
    int64_t identities, non_human, human, unknown, findings, events;
} nw_report_summary;

enum nw_report_error {
    NW_REPORT_E_STORE = -1,
    NW_REPORT_E_WRITE = -2,
    NW_REPORT_E_NOMEM = -3,
};

/* Write out_dir/report.json and out_dir/report.md (created 0600 through a
 * temporary file and a rename, so a reader never sees half a report), or
 * the formats opts->formats asks for (report.html, deprovision.csv,
 * remediation/{aws,azure,gcp}.sh: collect.h, docs/reports.md). report.json also holds
 * `compliance`, `drift` (with opts->baseline) and the DESIGN.md metrics.
 * out_dir is created when missing. Errors: NW_REPORT_E_*, the store's, and
 * NW_COLLECT_E_* (a baseline that cannot be read fails before any output). */
int nw_report_write(nw_store *const *shards, size_t nshards, const nw_report_opts *opts, const char *out_dir,
                    nw_report_summary *sum, nw_err *err);

/* The JSON object for one identity row (new reference); exposed for tests
 * and for other writers. */
json_t *nw_report_identity(nw_store *st, const nw_ident_row *r, nw_err *err);

/* Create dir (and parents) when missing. */
int nw_mkdirs(const char *dir, nw_err *err);

#endif
