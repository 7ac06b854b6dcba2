/* csv.h - deprovision.csv: one row per deprovisioning candidate.
 *
 * Columns, in this order (a header row first):
 *   identity, provider, type, owner, last_used, last_source, grants,
 *   reasons, confidence, suggested_action, severity, credentials
 * RFC 4180: fields separated by ',', records by CRLF, a field holding
 * '"', ',', CR or LF is quoted with '"' doubled. Spreadsheet formula
 * injection: a field starting with '=', '+', '-', '@', TAB or CR gets a
 * leading "'" so that no cell is evaluated. Lists (grants, reasons,
 * credentials) are joined with "; ". credentials: the active long-lived
 * credentials of a dormant identity, or the unused ones when only
 * credentials are candidates (reasons NHI-DORMANT-003 alone).
 */
#ifndef NW_CSV_H
#define NW_CSV_H

#include <jansson.h>
#include <stdio.h>

#include "../core/nw_err.h"

/* details: identity key -> {"last_used", "credentials": [{"id","kind"}]} (collect.c). */
int nw_csv_write(const char *path, const json_t *doc, const json_t *details, nw_err *err);

/* One field, quoted and neutralised as above (NULL is an empty field). */
void nw_csv_field(FILE *f, const char *s);

/* The suggested first action for a candidate (static text). */
const char *nw_csv_suggested_action(const json_t *cand);

#endif
