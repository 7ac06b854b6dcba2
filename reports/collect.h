/* collect.h - what the writers beyond report.json need, gathered during the
 * one streaming pass of report.c, and the writers they feed.
 *
 * report.c builds each identity's object, runs the detectors, writes the
 * object and frees it. Before it frees it, nw_collect_identity keeps what
 * the other outputs need from it, in bounded memory:
 *   - the metrics of DESIGN.md (ownership, standing privilege, credential
 *     ages, long- vs short-lived credentials, production write access):
 *     counters, plus one number per credential with a known age;
 *   - the HTML identity cards: at most `max_cards` (default 500), the most
 *     severe identities win; each card holds at most 366 days of activity;
 *   - per deprovisioning candidate, what a remediation plan needs (its
 *     active long-lived credential ids, last use).
 * After the pass, nw_collect_finish turns the findings into the compliance
 * view, compares with the baseline report (drift) and completes the
 * metrics; nw_collect_write writes report.html, deprovision.csv and the
 * remediation plans that were asked for.
 *
 * The "document" handed around after the pass is report.json without
 * identities[] and findings[]: schema, as_of, window_days, generated_at,
 * inputs, deprovision_candidates, compliance, drift (with a baseline),
 * metrics. The findings travel beside it as an nw_findings set (findings.h),
 * read back one at a time, so their number does not bound memory.
 */
#ifndef NW_COLLECT_H
#define NW_COLLECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "../core/nw_err.h"
#include "findings.h"

/* Output formats (nw_report_opts.formats). */
#define NW_FMT_JSON 0x01u
#define NW_FMT_MD 0x02u
#define NW_FMT_HTML 0x04u
#define NW_FMT_CSV 0x08u
#define NW_FMT_REMEDIATION 0x10u
#define NW_FMT_DEFAULT (NW_FMT_JSON | NW_FMT_MD)
#define NW_FMT_ALL 0x1fu

/* Parse "json,md,html,csv,remediation" or "all" into *out. Returns 0, or -1
 * with the unknown word in err. */
int nw_formats_parse(const char *s, unsigned *out, nw_err *err);

enum nw_collect_error {
    NW_COLLECT_E_BASELINE = -20, /* the baseline report cannot be read or is not a report */
    NW_COLLECT_E_WRITE = -21,
    NW_COLLECT_E_STORE = -22,
    NW_COLLECT_E_NOMEM = -23,
};

typedef struct nw_collect_opts {
    int64_t as_of;          /* microseconds */
    int window_days;
    unsigned formats;       /* NW_FMT_* */
    size_t max_cards;       /* 0 = 500 */
    const char *baseline;   /* previous report.json, or the folder holding it; NULL = none */
    const nw_rules *rules;  /* for the compliance view (every control of the rule set); may be NULL */
} nw_collect_opts;

typedef struct nw_collect nw_collect;

/* Loads the baseline (when given) at once, so a bad path fails before any
 * output is written. NULL with err set on failure. */
nw_collect *nw_collect_new(const nw_collect_opts *o, nw_err *err);
void nw_collect_free(nw_collect *c);

/* One identity of the pass, after its findings were appended.
 * o: its report.json object (borrowed); kind: enum nw_kind; act_st /
 * act_id: where its activity is (act_st NULL when only the inventory knows
 * it); tags_json: inventory tags (AWS) as a JSON object text, or NULL;
 * findings[from..]: its findings; candidate: it was added to the
 * deprovisioning candidates. */
typedef struct nw_collect_subject {
    const json_t *o;
    int kind;
    nw_store *act_st;
    int64_t act_id;
    const char *tags_json;
    const json_t *findings;
    size_t from;
    bool candidate;
} nw_collect_subject;
int nw_collect_identity(nw_collect *c, const nw_collect_subject *s, nw_err *err);

/* After the pass: add the collected metrics to `metrics` (report.c's
 * object), and build `compliance` and, with a baseline, `drift` into doc
 * (doc must already hold deprovision_candidates and metrics; fs: the
 * findings, sorted). */
int nw_collect_finish(nw_collect *c, json_t *doc, const nw_findings *fs, nw_err *err);

/* Write the extra formats asked for into out_dir: report.html,
 * deprovision.csv, remediation/{aws,azure,gcp}.sh (each through a
 * temporary file and a rename, mode 0600). */
int nw_collect_write(nw_collect *c, const json_t *doc, const nw_findings *fs, const char *out_dir, nw_err *err);

/* The Markdown sections for compliance, drift and the DESIGN.md metrics,
 * appended to report.md. */
void nw_collect_md(const json_t *doc, FILE *f);

/* Shared by the writers: open path.tmp.PID (mode 0600) / close and rename. */
FILE *nw_out_open(const char *path, char *tmp, size_t cap, nw_err *err);
int nw_out_close(FILE *f, const char *tmp, const char *path, nw_err *err);

#endif
