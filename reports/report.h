/* report.h - the report document (report.json contract, DESIGN.md) and its
 * writers.
 *
 * nw_report_build reads one or more store shards (disjoint sets of
 * identities, as analyze workers write them) and builds the report as a
 * jansson document; the writers turn that document into report.json and
 * report.md. The same inputs and as_of give the same bytes, except
 * `generated_at`.
 */
#ifndef NW_REPORT_H
#define NW_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../analyze/store.h"
#include "../core/nw_err.h"

typedef struct nw_report_opts {
    int64_t as_of;       /* microseconds; 0 = the newest event time stored */
    int window_days;     /* 0 = 90 */
    int64_t generated_at; /* microseconds; 0 = now */
} nw_report_opts;

enum nw_report_error {
    NW_REPORT_E_STORE = -1,
    NW_REPORT_E_WRITE = -2,
    NW_REPORT_E_NOMEM = -3,
};

/* Build the report. *out is a new reference (json_decref it). */
int nw_report_build(nw_store *const *shards, size_t nshards, const nw_report_opts *opts, json_t **out, nw_err *err);

/* Write doc as JSON / Markdown to path (mode 0600, written to a temporary
 * file and renamed, so a reader never sees half a report). */
int nw_report_write_json(const json_t *doc, const char *path, nw_err *err);
int nw_report_write_md(const json_t *doc, const char *path, nw_err *err);

/* Create dir (and parents) when missing. */
int nw_mkdirs(const char *dir, nw_err *err);

#endif
