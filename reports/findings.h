/* findings.h - the findings of one report, in the report's order, without
 * holding them all in memory.
 *
 * A report over a large estate has tens of thousands of findings (mostly
 * low-severity hygiene); as jansson objects they cost about three times
 * their JSON size. A spilled set writes each finding, compact, to an
 * unlinked temporary file in the report's folder (mode 0600, gone when the
 * process ends, however it ends) and keeps only a 16-byte index entry per
 * finding; readers get one finding at a time back, parsed. A set can also
 * wrap a JSON array already in memory (tests, small documents), with the
 * same reading calls.
 *
 * Order: nw_findings_sort puts the set in the report's order: severity
 * (highest first), identity, id. A spilled set sorts by severity alone and
 * keeps insertion order within one severity, so the caller adds findings in
 * (identity, id) order (the report does: identities come in key order, and
 * each identity's findings are sorted with nw_finding_cmp before they are
 * added). An array set is sorted in full.
 */
#ifndef NW_FINDINGS_H
#define NW_FINDINGS_H

#include <jansson.h>
#include <stddef.h>

#include "../core/nw_err.h"

enum nw_findings_error {
    NW_FINDINGS_E_IO = -1,    /* the temporary file: create, write or read */
    NW_FINDINGS_E_NOMEM = -2, /* out of memory */
    NW_FINDINGS_E_PARSE = -3, /* a spilled finding did not read back */
};

typedef struct nw_findings nw_findings;

/* A spilled set whose temporary file lives in dir (which must exist).
 * NULL with err set when the file cannot be created. */
nw_findings *nw_findings_spill(const char *dir, nw_err *err);

/* A set over arr, a JSON array of finding objects (takes a new reference;
 * NULL arr = empty set). NULL when out of memory. */
nw_findings *nw_findings_of(json_t *arr);

/* Append one finding (borrowed: a spilled set writes it out, an array set
 * takes a reference). */
int nw_findings_add(nw_findings *fs, const json_t *f, nw_err *err);

/* Put the set in the report's order (see above). Call once after the last
 * add; reading before it gives insertion order. */
int nw_findings_sort(nw_findings *fs, nw_err *err);

size_t nw_findings_count(const nw_findings *fs);

/* The i-th finding in order: a new reference, NULL with err set on error. */
json_t *nw_findings_get(const nw_findings *fs, size_t i, nw_err *err);

/* Call cb for each finding in order with a borrowed object valid during the
 * call; a non-zero return from cb stops the walk and is returned. */
typedef int (*nw_findings_cb)(void *ctx, const json_t *f);
int nw_findings_each(const nw_findings *fs, nw_findings_cb cb, void *ctx, nw_err *err);

void nw_findings_free(nw_findings *fs);

/* qsort comparator over json_t* finding objects: severity (highest first),
 * identity, id. */
int nw_finding_cmp(const void *a, const void *b);

#endif
