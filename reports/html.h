/* html.h - report.html: one self-contained page for people.
 *
 * No network at all: CSS inline, charts as inline SVG, system fonts, no
 * script; a Content-Security-Policy meta tag forbids anything else. Every
 * string that comes from the logs, the exports or the policy is escaped for
 * HTML (text and attribute contexts alike: & < > " '), so a crafted role name
 * or user agent cannot inject markup. Sections: summary (with changes against
 * the baseline), findings by severity and kind, drift, compliance,
 * deprovisioning candidates, metrics, then one card per identity with
 * findings (activity chart, evidence, compliance controls).
 */
#ifndef NW_HTML_H
#define NW_HTML_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "../core/nw_err.h"
#include "findings.h"

/* cards: array of identity cards (collect.c), most severe first;
 * cards_total: identities with findings (more than the cards when capped). */
/* fs: the report's findings, sorted (findings.h). */
int nw_html_write(const char *path, const json_t *doc, const nw_findings *fs, const json_t *cards, size_t cards_total,
                  nw_err *err);

/* Write s escaped for HTML text and attribute values (NULL writes nothing). */
void nw_html_esc(FILE *f, const char *s);

#endif
