/* html.c - report.html. See html.h. */
#include "html.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyze/rules.h"
#include "../core/nw_time.h"
#include "collect.h"
#include "csv.h"

#define MAX_LIST 200    /* rows of the drift lists */
#define MAX_CANDS 500   /* rows of the candidates table */
#define MAX_VALUE 600   /* characters of one evidence value shown */

static const char *const sevs[] = {"critical", "high", "medium", "low", "info"};
#define NSEV 5

void nw_html_esc(FILE *f, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                fputs("&#xFFFD;", f);
            else
                fputc(*p, f);
        }
    }
}

/* s escaped, at most max bytes (cut at a UTF-8 boundary, marked). */
static void esc_cut(FILE *f, const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) {
        nw_html_esc(f, s);
        return;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    char *b = malloc(max + 1);
    if (!b)
        return;
    memcpy(b, s, max);
    b[max] = '\0';
    nw_html_esc(f, b);
    free(b);
    fprintf(f, "<span class=\"more\"> … (%zu more bytes in report.json)</span>", n - max);
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long iget(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

static const char *sev_class(const char *s)
{
    for (int i = 0; i < NSEV; i++)
        if (s && strcmp(s, sevs[i]) == 0)
            return sevs[i];
    return "info";
}

static void badge(FILE *f, const char *sev)
{
    fprintf(f, "<span class=\"badge s-%s\">", sev_class(sev));
    nw_html_esc(f, sev ? sev : "info");
    fputs("</span>", f);
}

/* a value cell: text, or "-" when missing */
static void text_or_dash(FILE *f, const char *s)
{
    if (s && *s)
        nw_html_esc(f, s);
    else
        fputs("<span class=\"dim\">-</span>", f);
}

static void pct(FILE *f, const json_t *v)
{
    if (json_is_number(v))
        fprintf(f, "%.1f%%", json_number_value(v) * 100.0);
    else
        fputs("-", f);
}

static void num(FILE *f, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.4g", json_real_value(v));
    else
        fputs("-", f);
}

/* ---- style ---- */

static const char css[] =
    ":root{--fg:#1f2937;--dim:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;--accent:#1d4ed8;"
    "--crit:#991b1b;--high:#c2410c;--med:#b45309;--low:#1d4ed8;--info:#4b5563;--ok:#15803d;--bad:#b91c1c}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'Helvetica Neue',Arial,sans-serif}"
    "header{background:#0f172a;color:#f1f5f9;padding:18px 28px}"
    "header h1{margin:0;font-size:22px;font-weight:600}header p{margin:4px 0 0;color:#cbd5e1}"
    "nav{background:#1e293b;padding:6px 28px}nav a{color:#e2e8f0;margin-right:18px;text-decoration:none;font-size:13px}"
    "main{max-width:1180px;margin:0 auto;padding:8px 28px 40px}"
    "h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}"
    "h3{font-size:15px;margin:0 0 4px;word-break:break-all}h4{font-size:13px;margin:14px 0 6px;color:var(--dim);"
    "text-transform:uppercase;letter-spacing:.04em}"
    ".tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}"
    ".tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}"
    ".tile .v{font-size:26px;font-weight:650}.tile .l{color:var(--dim);font-size:12px}.tile .d{font-size:12px;"
    "margin-top:2px}"
    ".up-bad,.down-bad{color:var(--bad)}.up-good,.down-good{color:var(--ok)}.flat{color:var(--dim)}"
    "table{border-collapse:collapse;width:100%;background:var(--card);font-size:13px}"
    "th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}"
    "th{background:#f1f5f9;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.k{word-break:break-all}td.nw,th.nw{white-space:nowrap}"
    ".badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:11px;font-weight:600;color:#fff;"
    "text-transform:uppercase;letter-spacing:.03em}"
    ".s-critical{background:var(--crit)}.s-high{background:var(--high)}.s-medium{background:var(--med)}"
    ".s-low{background:var(--low)}.s-info{background:var(--info)}"
    ".pass{color:var(--ok);font-weight:600}.fail{color:var(--bad);font-weight:600}"
    ".card{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--info);border-radius:8px;"
    "padding:14px 16px;margin:14px 0}"
    ".card.s-critical{border-left-color:var(--crit);background:var(--card)}.card.s-high{border-left-color:var(--high);"
    "background:var(--card)}.card.s-medium{border-left-color:var(--med);background:var(--card)}"
    ".card.s-low{border-left-color:var(--low);background:var(--card)}.card.s-info{background:var(--card)}"
    ".meta{color:var(--dim);margin:0 0 8px}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:2px 12px;margin:6px 0}"
    "dl.facts dt{color:var(--dim)}dl.facts dd{margin:0;word-break:break-all}"
    ".finding{border-top:1px solid var(--line);padding:8px 0}"
    ".finding .t{font-weight:600}.finding code,.chip{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
    "table.ev{width:auto;min-width:50%;margin:6px 0;font-size:12px}table.ev td{padding:2px 8px}"
    "table.ev td:first-child{color:var(--dim);white-space:nowrap}table.ev td:last-child{word-break:break-all}"
    ".chip{display:inline-block;border:1px solid #cbd5e1;border-radius:4px;padding:0 5px;margin:2px 4px 2px 0;"
    "background:#f8fafc}"
    ".rec{color:#374151;font-size:13px;margin:4px 0}.dim,.more{color:var(--dim)}"
    ".bar{background:#e5e7eb;border-radius:3px;height:10px;width:220px;display:inline-block;vertical-align:middle}"
    ".bar i{display:block;height:10px;border-radius:3px;background:var(--accent)}"
    "svg{display:block;max-width:100%}svg text{font:10px system-ui,sans-serif;fill:#6b7280}"
    ".grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}"
    "@media (max-width:800px){.grid2{grid-template-columns:1fr}dl.facts{grid-template-columns:max-content 1fr}}"
    "footer{color:var(--dim);font-size:12px;margin-top:30px}";

/* ---- summary ---- */

/* delta of a metric path from drift.metrics; up: +1 up is bad, -1 up is good, 0 neither (the color) */
static void delta(FILE *f, const json_t *dm, const char *path, int up, bool as_pct)
{
    const json_t *e = json_object_get(dm, path);
    const json_t *ch = json_object_get(e, "change");
    if (!dm)
        return;
    fputs("<div class=\"d ", f);
    if (!json_is_number(ch)) {
        fputs("flat\">vs baseline: -</div>", f);
        return;
    }
    double v = json_number_value(ch);
    if (v == 0) {
        fputs("flat\">no change vs baseline</div>", f);
        return;
    }
    bool rise = v > 0;
    fprintf(f, "%s\">%s ", up == 0 ? "flat" : (rise == (up > 0)) ? "up-bad" : "up-good", rise ? "&#9650;" : "&#9660;");
    if (as_pct)
        fprintf(f, "%+.1f pts", v * 100.0);
    else if (json_is_integer(ch))
        fprintf(f, "%+lld", (long long)json_integer_value(ch));
    else
        fprintf(f, "%+.4g", v);
    fputs(" vs baseline</div>", f);
}

static void tile_start(FILE *f) { fputs("<div class=\"tile\">", f); }

static void summary(FILE *f, const json_t *doc)
{
    const json_t *met = json_object_get(doc, "metrics");
    const json_t *drift = json_object_get(doc, "drift");
    const json_t *dm = json_object_get(drift, "metrics");
    const json_t *bs = json_object_get(met, "findings_by_severity");
    fputs("<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">", f);

    tile_start(f);
    fprintf(f, "<div class=\"v\">%lld</div><div class=\"l\">non-human identities (of %lld)</div>", iget(met, "non_human"),
            iget(met, "identities"));
    delta(f, dm, "non_human", 0, false);
    fputs("</div>", f);

    tile_start(f);
    fprintf(f, "<div class=\"v\">%lld</div><div class=\"l\">findings: %lld critical, %lld high</div>",
            iget(met, "findings"), iget(bs, "critical"), iget(bs, "high"));
    delta(f, dm, "findings", 1, false);
    fputs("</div>", f);

    tile_start(f);
    fprintf(f, "<div class=\"v\">%lld</div><div class=\"l\">deprovisioning candidates</div>",
            iget(met, "deprovision_candidates"));
    delta(f, dm, "deprovision_candidates", 1, false);
    fputs("</div>", f);

    const json_t *own = json_object_get(met, "ownership");
    tile_start(f);
    fputs("<div class=\"v\">", f);
    pct(f, json_object_get(own, "with_owner_share"));
    fputs("</div><div class=\"l\">NHIs with an owner</div>", f);
    delta(f, dm, "ownership.with_owner_share", -1, true);
    fputs("</div>", f);

    const json_t *sp = json_object_get(met, "standing_privilege");
    tile_start(f);
    fprintf(f, "<div class=\"v\">%lld</div><div class=\"l\">NHIs with standing admin, ", iget(sp, "admin_nhis"));
    pct(f, json_object_get(sp, "admin_unused_share"));
    fputs(" unused</div>", f);
    delta(f, dm, "standing_privilege.admin_nhis", 1, false);
    fputs("</div>", f);

    const json_t *cr = json_object_get(met, "credentials");
    tile_start(f);
    fputs("<div class=\"v\">", f);
    if (json_is_number(json_object_get(cr, "median_age_days")))
        fprintf(f, "%.0f d", json_number_value(json_object_get(cr, "median_age_days")));
    else
        fputs("-", f);
    fprintf(f, "</div><div class=\"l\">median credential age (%lld known)</div>", iget(cr, "with_known_age"));
    delta(f, dm, "credentials.median_age_days", 1, false);
    fputs("</div>", f);

    tile_start(f);
    fputs("<div class=\"v\">", f);
    pct(f, json_object_get(cr, "long_lived_share"));
    fputs("</div><div class=\"l\">NHIs on long-lived credentials</div>", f);
    delta(f, dm, "credentials.long_lived_share", 1, true);
    fputs("</div>", f);

    const json_t *comp = json_object_get(doc, "compliance");
    long long failing = 0, total = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(comp, "controls"), i, c)
    {
        total++;
        failing += sget(c, "status") && strcmp(sget(c, "status"), "fail") == 0;
    }
    tile_start(f);
    fprintf(f, "<div class=\"v\">%lld / %lld</div><div class=\"l\">compliance controls failing</div>", failing, total);
    if (drift) {
        const json_t *fc = json_object_get(json_object_get(drift, "compliance"), "failing");
        json_t *tmp = json_object();
        json_object_set(tmp, "f", (json_t *)fc);
        delta(f, tmp, "f", 1, false);
        json_decref(tmp);
    }
    fputs("</div>", f);

    const json_t *pw = json_object_get(met, "production_access");
    tile_start(f);
    fprintf(f, "<div class=\"v\">%lld</div><div class=\"l\">NHIs with permanent production write (of %lld prod)</div>",
            iget(pw, "permanent_write"), iget(pw, "prod_tagged"));
    delta(f, dm, "production_access.permanent_write", 1, false);
    fputs("</div>", f);
    fputs("</div></section>\n", f);
}

/* ---- findings overview ---- */

/* one finding into the kind x severity table: kind -> [NSEV counts, total] */
static int count_kind(void *ctx, const json_t *x)
{
    json_t *kinds = ctx;
    const char *k = sget(x, "kind");
    if (!k)
        return 0;
    json_t *row = json_object_get(kinds, k);
    if (!row) {
        row = json_array();
        for (int s = 0; s <= NSEV; s++)
            json_array_append_new(row, json_integer(0));
        if (json_object_set_new(kinds, k, row))
            return NW_FINDINGS_E_NOMEM;
    }
    int s = 4;
    for (int q = 0; q < NSEV; q++)
        if (strcmp(sev_class(sget(x, "severity")), sevs[q]) == 0)
            s = q;
    json_array_set_new(row, (size_t)s, json_integer(json_integer_value(json_array_get(row, (size_t)s)) + 1));
    json_array_set_new(row, NSEV, json_integer(json_integer_value(json_array_get(row, NSEV)) + 1));
    return 0;
}

static int findings_overview(FILE *f, const json_t *doc, const nw_findings *fs, nw_err *err)
{
    const json_t *bs = json_object_get(json_object_get(doc, "metrics"), "findings_by_severity");
    fprintf(f, "<section id=\"findings\"><h2>Findings (%zu)</h2><div class=\"grid2\"><div>", nw_findings_count(fs));
    long long max = 1;
    for (int i = 0; i < NSEV; i++)
        if (iget(bs, sevs[i]) > max)
            max = iget(bs, sevs[i]);
    fputs("<svg width=\"440\" height=\"130\" role=\"img\" aria-label=\"findings by severity\">", f);
    static const char *const colors[] = {"#991b1b", "#c2410c", "#b45309", "#1d4ed8", "#4b5563"};
    for (int i = 0; i < NSEV; i++) {
        long long v = iget(bs, sevs[i]);
        double w = 300.0 * (double)v / (double)max;
        int y = 6 + i * 24;
        fprintf(f, "<text x=\"0\" y=\"%d\" style=\"font-size:12px;fill:#374151\">%s</text>", y + 13, sevs[i]);
        fprintf(f, "<rect x=\"70\" y=\"%d\" width=\"%.1f\" height=\"18\" rx=\"3\" fill=\"%s\"/>", y, v ? (w < 2 ? 2 : w) : 0.0,
                colors[i]);
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" style=\"font-size:12px;fill:#111827\">%lld</text>", 76 + (v ? w : 0), y + 13,
                v);
    }
    fputs("</svg></div><div>", f);
    /* kind x severity */
    json_t *kinds = json_object(); /* kind -> [5 counts] */
    int rc = nw_findings_each(fs, count_kind, kinds, err);
    if (rc) {
        json_decref(kinds);
        return rc;
    }
    fputs("<table><tr><th>kind</th>", f);
    for (int s = 0; s < NSEV; s++)
        fprintf(f, "<th class=\"n\">%s</th>", sevs[s]);
    fputs("<th class=\"n\">total</th></tr>", f);
    const char *k;
    json_t *row;
    json_object_foreach(kinds, k, row)
    {
        fputs("<tr><td>", f);
        nw_html_esc(f, k);
        fputs("</td>", f);
        for (int s = 0; s <= NSEV; s++) {
            json_int_t v = json_integer_value(json_array_get(row, (size_t)s));
            if (v)
                fprintf(f, "<td class=\"n\">%lld</td>", (long long)v);
            else
                fputs("<td class=\"n dim\">0</td>", f);
        }
        fputs("</tr>", f);
    }
    if (!json_object_size(kinds))
        fputs("<tr><td colspan=\"7\" class=\"dim\">No findings.</td></tr>", f);
    fputs("</table></div></div></section>\n", f);
    json_decref(kinds);
    return 0;
}

/* ---- drift ---- */

static void ref_table(FILE *f, const json_t *arr, const char *what)
{
    size_t n = json_array_size(arr);
    fprintf(f, "<h4>%s (%zu)</h4>", what, n);
    if (!n) {
        fputs("<p class=\"dim\">None.</p>", f);
        return;
    }
    fputs("<table><tr><th>severity</th><th>rule</th><th>kind</th><th>identity</th><th>finding</th></tr>", f);
    size_t i;
    const json_t *x;
    json_array_foreach(arr, i, x)
    {
        if (i >= MAX_LIST) {
            fprintf(f, "<tr><td colspan=\"5\" class=\"dim\">%zu more in report.json</td></tr>", n - MAX_LIST);
            break;
        }
        fputs("<tr><td>", f);
        badge(f, sget(x, "severity"));
        fputs("</td><td class=\"nw\">", f);
        nw_html_esc(f, sget(x, "rule"));
        fputs("</td><td>", f);
        nw_html_esc(f, sget(x, "kind"));
        fputs("</td><td class=\"k\">", f);
        nw_html_esc(f, sget(x, "identity"));
        fputs("</td><td class=\"nw\"><code>", f);
        nw_html_esc(f, sget(x, "id"));
        fputs("</code></td></tr>", f);
    }
    fputs("</table>", f);
}

static void drift_section(FILE *f, const json_t *doc)
{
    const json_t *d = json_object_get(doc, "drift");
    if (!d)
        return;
    const json_t *b = json_object_get(d, "baseline"), *cnt = json_object_get(d, "counts");
    fputs("<section id=\"drift\"><h2>Drift since the baseline</h2><p>Baseline as of <b>", f);
    text_or_dash(f, sget(b, "as_of"));
    fputs("</b> (", f);
    text_or_dash(f, sget(b, "path"));
    fprintf(f, "): <b>%lld new</b>, <b>%lld resolved</b>, %lld persisting, %lld escalated.</p>", iget(cnt, "new"),
            iget(cnt, "resolved"), iget(cnt, "persisting"), iget(cnt, "escalated"));
    ref_table(f, json_object_get(d, "new"), "New findings");
    ref_table(f, json_object_get(d, "resolved"), "Resolved findings");
    const json_t *dc = json_object_get(d, "compliance");
    static const char *const lists[] = {"newly_failing", "newly_passing"};
    for (int l = 0; l < 2; l++) {
        const json_t *arr = json_object_get(dc, lists[l]);
        if (!json_array_size(arr))
            continue;
        fprintf(f, "<h4>Controls %s</h4><p>", l == 0 ? "newly failing" : "passing again");
        size_t i;
        const json_t *x;
        json_array_foreach(arr, i, x)
        {
            fprintf(f, "<span class=\"chip %s\">", l == 0 ? "fail" : "pass");
            nw_html_esc(f, sget(x, "framework"));
            fputs(" ", f);
            nw_html_esc(f, sget(x, "control"));
            fputs("</span>", f);
        }
        fputs("</p>", f);
    }
    /* changed metrics */
    const json_t *dm = json_object_get(d, "metrics");
    fputs("<h4>Metrics that changed</h4><table><tr><th>metric</th><th class=\"n\">baseline</th><th class=\"n\">"
          "current</th><th class=\"n\">change</th></tr>",
          f);
    const char *k;
    json_t *e;
    int rows = 0;
    json_object_foreach((json_t *)dm, k, e)
    {
        const json_t *ch = json_object_get(e, "change");
        if (json_is_number(ch) && json_number_value(ch) == 0)
            continue;
        if (json_is_null(ch) && json_equal(json_object_get(e, "baseline"), json_object_get(e, "current")))
            continue;
        rows++;
        bool share = strstr(k, "share") != NULL;
        fputs("<tr><td>", f);
        nw_html_esc(f, k);
        fputs("</td><td class=\"n\">", f);
        (share ? pct : num)(f, json_object_get(e, "baseline"));
        fputs("</td><td class=\"n\">", f);
        (share ? pct : num)(f, json_object_get(e, "current"));
        fputs("</td><td class=\"n\">", f);
        if (share && json_is_number(ch))
            fprintf(f, "%+.1f pts", json_number_value(ch) * 100.0);
        else if (json_is_integer(ch))
            fprintf(f, "%+lld", (long long)json_integer_value(ch));
        else if (json_is_real(ch))
            fprintf(f, "%+.4g", json_real_value(ch));
        else
            fputs("-", f);
        fputs("</td></tr>", f);
    }
    if (!rows)
        fputs("<tr><td colspan=\"4\" class=\"dim\">No metric changed.</td></tr>", f);
    fputs("</table></section>\n", f);
}

/* ---- compliance ---- */

static void compliance_section(FILE *f, const json_t *doc)
{
    const json_t *comp = json_object_get(doc, "compliance");
    const json_t *ctls = json_object_get(comp, "controls");
    bool drift = json_object_get(doc, "drift") != NULL;
    fputs("<section id=\"compliance\"><h2>Compliance controls</h2><p>", f);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(comp, "frameworks"), k, v)
    {
        fputs("<span class=\"chip\">", f);
        nw_html_esc(f, k);
        fprintf(f, ": <span class=\"fail\">%lld failing</span> / <span class=\"pass\">%lld passing</span></span>",
                iget(v, "failing"), iget(v, "passing"));
    }
    fputs("</p><p class=\"dim\">A control fails when at least one finding of a rule mapped to it is open; the "
          "findings are the evidence.</p><table><tr><th>framework</th><th>control</th><th>status</th>"
          "<th class=\"n\">findings</th><th class=\"n\">identities</th><th>by severity</th><th>rules</th>",
          f);
    if (drift)
        fputs("<th>change</th>", f);
    fputs("</tr>", f);
    size_t i;
    const json_t *c;
    json_array_foreach(ctls, i, c)
    {
        bool fail = sget(c, "status") && strcmp(sget(c, "status"), "fail") == 0;
        fputs("<tr><td class=\"nw\">", f);
        nw_html_esc(f, sget(c, "framework"));
        fputs("</td><td class=\"nw\">", f);
        nw_html_esc(f, sget(c, "control"));
        fprintf(f, "</td><td class=\"%s\">%s</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td>",
                fail ? "fail" : "pass", fail ? "FAIL" : "pass", iget(c, "findings"), iget(c, "identities"));
        const json_t *bsv = json_object_get(c, "by_severity");
        for (int s = 0; s < NSEV; s++)
            if (iget(bsv, sevs[s]))
                fprintf(f, "<span class=\"chip\">%s %lld</span>", sevs[s], iget(bsv, sevs[s]));
        fputs("</td><td>", f);
        size_t j;
        const json_t *r;
        json_array_foreach(json_object_get(c, "rules"), j, r)
        {
            fputs("<span class=\"chip\">", f);
            nw_html_esc(f, json_string_value(r));
            fputs("</span>", f);
        }
        fputs("</td>", f);
        if (drift) {
            const char *ch = sget(c, "change");
            fprintf(f, "<td class=\"%s\">", ch && strcmp(ch, "newly_failing") == 0   ? "fail"
                                            : ch && strcmp(ch, "newly_passing") == 0 ? "pass"
                                                                                     : "dim");
            text_or_dash(f, ch);
            fputs("</td>", f);
        }
        fputs("</tr>", f);
    }
    if (!json_array_size(ctls))
        fputs("<tr><td colspan=\"8\" class=\"dim\">No control mapped.</td></tr>", f);
    fputs("</table></section>\n", f);
}

/* ---- candidates ---- */

static void candidates_section(FILE *f, const json_t *doc)
{
    const json_t *cands = json_object_get(doc, "deprovision_candidates");
    size_t n = json_array_size(cands);
    fprintf(f, "<section id=\"candidates\"><h2>Deprovisioning candidates (%zu)</h2>", n);
    if (!n) {
        fputs("<p class=\"dim\">None.</p></section>\n", f);
        return;
    }
    fputs("<p class=\"dim\">Disable first, delete after the observation period: deprovision.csv and remediation/*.sh "
          "hold the same list with the commands.</p><table><tr><th>severity</th><th>identity</th><th>provider / type"
          "</th><th>owner</th><th>last seen</th><th>last source</th><th>reasons</th><th class=\"n\">confidence</th>"
          "<th>suggested action</th></tr>",
          f);
    size_t i;
    const json_t *c;
    json_array_foreach(cands, i, c)
    {
        if (i >= MAX_CANDS) {
            fprintf(f, "<tr><td colspan=\"9\" class=\"dim\">%zu more in deprovision.csv and report.json</td></tr>",
                    n - MAX_CANDS);
            break;
        }
        fputs("<tr><td>", f);
        badge(f, sget(c, "severity"));
        fputs("</td><td class=\"k\">", f);
        nw_html_esc(f, sget(c, "identity"));
        fputs("</td><td>", f);
        nw_html_esc(f, sget(c, "provider"));
        fputs(" / ", f);
        nw_html_esc(f, sget(c, "type"));
        fputs("</td><td>", f);
        text_or_dash(f, sget(c, "owner"));
        fputs("</td><td>", f);
        text_or_dash(f, sget(c, "last_seen"));
        fputs("</td><td>", f);
        text_or_dash(f, sget(c, "last_source"));
        fputs("</td><td>", f);
        size_t j;
        const json_t *r;
        json_array_foreach(json_object_get(c, "reasons"), j, r)
        {
            fputs("<span class=\"chip\">", f);
            nw_html_esc(f, json_string_value(r));
            fputs("</span>", f);
        }
        fprintf(f, "</td><td class=\"n\">%.1f</td><td>", json_number_value(json_object_get(c, "confidence")));
        nw_html_esc(f, nw_csv_suggested_action(c));
        fputs("</td></tr>", f);
    }
    fputs("</table></section>\n", f);
}

/* ---- metrics ---- */

static void share_bar(FILE *f, const char *label, const json_t *v, long long n, long long of)
{
    double x = json_is_number(v) ? json_number_value(v) : 0;
    fputs("<tr><td>", f);
    nw_html_esc(f, label);
    fprintf(f, "</td><td><span class=\"bar\"><i style=\"width:%.1f%%\"></i></span></td><td class=\"n\">", x * 100.0);
    pct(f, v);
    fprintf(f, "</td><td class=\"n\">%lld / %lld</td></tr>", n, of);
}

static void metrics_section(FILE *f, const json_t *doc)
{
    const json_t *met = json_object_get(doc, "metrics");
    fputs("<section id=\"metrics\"><h2>Metrics</h2><div class=\"grid2\"><div><h4>Non-human identities by provider and "
          "type</h4><table><tr><th>provider</th><th>type</th><th class=\"n\">count</th></tr>",
          f);
    const char *p, *t;
    json_t *types, *v;
    int rows = 0;
    json_object_foreach((json_t *)json_object_get(met, "non_human_by_provider_type"), p, types)
    {
        json_object_foreach(types, t, v)
        {
            fputs("<tr><td>", f);
            nw_html_esc(f, p);
            fputs("</td><td>", f);
            nw_html_esc(f, t);
            fprintf(f, "</td><td class=\"n\">%lld</td></tr>", (long long)json_integer_value(v));
            rows++;
        }
    }
    if (!rows)
        fputs("<tr><td colspan=\"3\" class=\"dim\">None.</td></tr>", f);
    fputs("</table></div><div><h4>Ownership and lifecycle policy</h4><table>", f);
    const json_t *own = json_object_get(met, "ownership");
    long long nhi = iget(own, "non_human");
    share_bar(f, "owner", json_object_get(own, "with_owner_share"), iget(own, "with_owner"), nhi);
    share_bar(f, "expiry", json_object_get(own, "with_expiry_share"), iget(own, "with_expiry"), nhi);
    share_bar(f, "rotation policy", json_object_get(own, "with_rotation_policy_share"), iget(own, "with_rotation_policy"),
              nhi);
    const json_t *sp = json_object_get(met, "standing_privilege");
    fputs("</table><h4>Standing privilege</h4><table>", f);
    share_bar(f, "NHIs holding admin-class grants", json_object_get(sp, "admin_share"), iget(sp, "admin_nhis"), nhi);
    share_bar(f, "... unused in the window", json_object_get(sp, "admin_unused_share"), iget(sp, "admin_unused"),
              iget(sp, "admin_nhis"));
    const json_t *pw = json_object_get(met, "production_access");
    share_bar(f, "permanent production write", json_object_get(pw, "permanent_write_share"),
              iget(pw, "permanent_write"), nhi);
    fputs("</table></div></div>", f);

    const json_t *cr = json_object_get(met, "credentials");
    const json_t *ad = json_object_get(cr, "age_days");
    fputs("<div class=\"grid2\"><div><h4>Credential age (active long-lived credentials)</h4>", f);
    long long max = 1;
    const char *k;
    json_object_foreach((json_t *)ad, k, v) if (json_integer_value(v) > max) max = json_integer_value(v);
    size_t nb = json_object_size(ad);
    fprintf(f, "<svg width=\"440\" height=\"150\" role=\"img\" aria-label=\"credential age distribution\">");
    size_t b = 0;
    json_object_foreach((json_t *)ad, k, v)
    {
        long long c = json_integer_value(v);
        double h = 100.0 * (double)c / (double)max;
        double x = 20 + (double)b * (400.0 / (double)(nb ? nb : 1));
        double w = 400.0 / (double)(nb ? nb : 1) - 12;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" rx=\"2\" fill=\"%s\"/>", x, 118 - h, w, h,
                b >= 3 ? "#c2410c" : "#1d4ed8");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" style=\"fill:#111827\">%lld</text>", x + w / 2 - 6, 114 - h, c);
        fputs("<text x=\"", f);
        fprintf(f, "%.1f\" y=\"134\">", x);
        nw_html_esc(f, k);
        fputs(" d</text>", f);
        b++;
    }
    fputs("<line x1=\"15\" y1=\"118\" x2=\"425\" y2=\"118\" stroke=\"#9ca3af\"/></svg><p>", f);
    fprintf(f, "%lld credentials with a known creation or rotation date; median ", iget(cr, "with_known_age"));
    if (json_is_number(json_object_get(cr, "median_age_days")))
        fprintf(f, "<b>%.1f days</b>", json_number_value(json_object_get(cr, "median_age_days")));
    else
        fputs("-", f);
    fputs(", oldest ", f);
    num(f, json_object_get(cr, "max_age_days"));
    fputs(" days.</p></div><div><h4>Credential lifetime</h4><table>", f);
    long long ll = iget(cr, "nhis_long_lived"), sl = iget(cr, "nhis_short_lived_only");
    share_bar(f, "NHIs on long-lived credentials", json_object_get(cr, "long_lived_share"), ll, ll + sl);
    fprintf(f, "<tr><td>active long-lived credentials</td><td></td><td class=\"n\">%lld</td><td></td></tr>",
            iget(cr, "long_lived_active"));
    fprintf(f, "<tr><td>NHIs on short-lived credentials only</td><td></td><td class=\"n\">%lld</td><td></td></tr>", sl);
    fputs("</table></div></div></section>\n", f);
}

/* ---- identity cards ---- */

static void activity_chart(FILE *f, const json_t *card, int64_t window_lo)
{
    int64_t lo = json_integer_value(json_object_get(card, "day_lo"));
    int64_t hi = json_integer_value(json_object_get(card, "day_hi"));
    const json_t *days = json_object_get(card, "days");
    int64_t nd = hi - lo + 1;
    if (nd < 1)
        nd = 1;
    long long max = 0;
    size_t i;
    const json_t *d;
    json_array_foreach(days, i, d)
    {
        long long t = json_integer_value(json_array_get(d, 1)) + json_integer_value(json_array_get(d, 2));
        if (t > max)
            max = t;
    }
    const double x0 = 44, x1 = 716, y0 = 10, y1 = 72;
    double bw = (x1 - x0) / (double)nd;
    fputs("<svg width=\"720\" height=\"92\" role=\"img\" aria-label=\"daily activity\">", f);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#9ca3af\"/>", x0, y1, x1, y1);
    fprintf(f, "<text x=\"0\" y=\"%.0f\">%lld/day</text><text x=\"0\" y=\"%.0f\">0</text>", y0 + 8, max, y1);
    if (window_lo > lo && window_lo <= hi) {
        double wx = x0 + (double)(window_lo - lo) * bw;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#94a3b8\" stroke-dasharray=\"3,3\"/>"
                "<text x=\"%.1f\" y=\"%.0f\">window</text>",
                wx, y0 - 4, wx, y1, wx + 3, y0 + 2);
    }
    json_array_foreach(days, i, d)
    {
        int64_t day = json_integer_value(json_array_get(d, 0));
        long long ok = json_integer_value(json_array_get(d, 1)), bad = json_integer_value(json_array_get(d, 2));
        if (day < lo || day > hi || ok + bad == 0 || max == 0)
            continue;
        double x = x0 + (double)(day - lo) * bw;
        double w = bw > 2 ? bw - 0.6 : bw;
        if (w < 0.8)
            w = 0.8;
        /* heights on a square-root scale: one quiet day stays visible next to a burst */
        double hok = (y1 - y0) * sqrt((double)(ok + bad) / (double)max);
        double hbad = (ok + bad) ? hok * (double)bad / (double)(ok + bad) : 0;
        char ds[16];
        nw_day_fmt(day, ds);
        fprintf(f, "<g><title>%s: %lld events, %lld failed or denied</title>", ds, ok + bad, bad);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#3b82f6\"/>", x, y1 - hok, w,
                hok - hbad);
        if (bad)
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#dc2626\"/>", x, y1 - hbad, w,
                    hbad < 1 ? 1 : hbad);
        fputs("</g>", f);
    }
    if (max == 0)
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" style=\"font-size:12px\">no activity in this period</text>",
                (x0 + x1) / 2 - 70, (y0 + y1) / 2);
    char a[16], b[16];
    nw_day_fmt(lo, a);
    nw_day_fmt(hi, b);
    fprintf(f, "<text x=\"%.0f\" y=\"86\">%s</text><text x=\"%.0f\" y=\"86\" text-anchor=\"end\">%s (as of)</text>", x0, a,
            x1, b);
    fputs("</svg><p class=\"dim\" style=\"margin:0;font-size:12px\">Daily events (square-root scale): "
          "<span style=\"color:#3b82f6\">&#9632;</span> succeeded, <span style=\"color:#dc2626\">&#9632;</span> failed or "
          "denied.</p>",
          f);
}

static void value(FILE *f, const json_t *v)
{
    if (json_is_string(v)) {
        esc_cut(f, json_string_value(v), MAX_VALUE);
    } else if (json_is_null(v)) {
        fputs("<span class=\"dim\">null</span>", f);
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (s)
            esc_cut(f, s, MAX_VALUE);
        free(s);
    }
}

static void finding_block(FILE *f, const json_t *x)
{
    fputs("<div class=\"finding\" id=\"", f);
    nw_html_esc(f, sget(x, "id"));
    fputs("\">", f);
    badge(f, sget(x, "severity"));
    fputs(" <span class=\"t\">", f);
    nw_html_esc(f, sget(x, "title"));
    fputs("</span> <code>", f);
    nw_html_esc(f, sget(x, "rule"));
    fputs("</code> <code class=\"dim\">", f);
    nw_html_esc(f, sget(x, "id"));
    fputs("</code>", f);
    if (sget(x, "credential")) {
        fputs(" credential <code>", f);
        nw_html_esc(f, sget(x, "credential"));
        fputs("</code>", f);
    }
    const json_t *ev = json_object_get(x, "evidence");
    if (json_object_size(ev)) {
        fputs("<table class=\"ev\">", f);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)ev, k, v)
        {
            fputs("<tr><td>", f);
            nw_html_esc(f, k);
            fputs("</td><td>", f);
            value(f, v);
            fputs("</td></tr>", f);
        }
        fputs("</table>", f);
    }
    const json_t *comp = json_object_get(x, "compliance");
    if (json_array_size(comp)) {
        fputs("<div>", f);
        size_t i;
        const json_t *c;
        json_array_foreach(comp, i, c)
        {
            fputs("<span class=\"chip\">", f);
            nw_html_esc(f, sget(c, "framework"));
            fputs(" ", f);
            nw_html_esc(f, sget(c, "control"));
            fputs("</span>", f);
        }
        fputs("</div>", f);
    }
    if (sget(x, "recommendation")) {
        fputs("<p class=\"rec\"><b>Recommendation:</b> ", f);
        nw_html_esc(f, sget(x, "recommendation"));
        fputs("</p>", f);
    }
    fputs("</div>", f);
}

static void fact(FILE *f, const char *label, const char *v)
{
    fputs("<dt>", f);
    nw_html_esc(f, label);
    fputs("</dt><dd>", f);
    text_or_dash(f, v);
    fputs("</dd>", f);
}

static void card(FILE *f, const json_t *c, const json_t *by_id, size_t n, int64_t window_lo)
{
    const json_t *fids = json_object_get(c, "findings");
    const char *worst = "info";
    int wr = -1;
    size_t i;
    const json_t *id;
    json_array_foreach(fids, i, id)
    {
        const json_t *x = json_object_get(by_id, json_string_value(id));
        int r = nw_severity_rank(sget(x, "severity"));
        if (x && r > wr) {
            wr = r;
            worst = sev_class(sget(x, "severity"));
        }
    }
    fprintf(f, "<article class=\"card s-%s\" id=\"i-%zu\"><h3>", worst, n);
    badge(f, worst);
    fputs(" ", f);
    nw_html_esc(f, sget(c, "key"));
    fputs("</h3><p class=\"meta\">", f);
    nw_html_esc(f, sget(c, "provider"));
    fputs(" · ", f);
    nw_html_esc(f, sget(c, "type"));
    if (sget(c, "display_name")) {
        fputs(" · ", f);
        nw_html_esc(f, sget(c, "display_name"));
    }
    if (sget(c, "account")) {
        fputs(" · account ", f);
        nw_html_esc(f, sget(c, "account"));
    }
    fputs(" · owner: ", f);
    if (sget(c, "owner"))
        nw_html_esc(f, sget(c, "owner"));
    else if (sget(c, "probable_owner")) {
        fputs("<i>none (probably ", f);
        nw_html_esc(f, sget(c, "probable_owner"));
        fputs(", its creator)</i>", f);
    } else
        fputs("<b>none</b>", f);
    fputs("</p><dl class=\"facts\">", f);
    fact(f, "first seen", sget(c, "first_seen"));
    fact(f, "last seen", sget(c, "last_seen"));
    fact(f, "last success", sget(c, "last_success"));
    char b[160];
    snprintf(b, sizeof b, "%lld (%lld failed, %lld denied, %lld writes, %lld privileged)", iget(c, "events"),
             iget(c, "failures"), iget(c, "denied"), iget(c, "writes"), iget(c, "privileged"));
    fact(f, "events", b);
    const json_t *ls = json_object_get(c, "last_source");
    fputs("<dt>last source</dt><dd>", f);
    text_or_dash(f, sget(ls, "ip"));
    if (sget(ls, "region")) {
        fputs(" · ", f);
        nw_html_esc(f, sget(ls, "region"));
    }
    if (sget(ls, "action")) {
        fputs(" · ", f);
        nw_html_esc(f, sget(ls, "action"));
    }
    fputs("</dd><dt>services used</dt><dd>", f);
    const json_t *sv = json_object_get(c, "services_used");
    const json_t *x;
    if (!json_array_size(sv))
        fputs("<span class=\"dim\">-</span>", f);
    json_array_foreach(sv, i, x)
    {
        if (i)
            fputs(", ", f);
        nw_html_esc(f, json_string_value(x));
    }
    if (iget(c, "services_total") > (long long)json_array_size(sv))
        fprintf(f, " (+%lld more)", iget(c, "services_total") - (long long)json_array_size(sv));
    fputs("</dd><dt>credentials</dt><dd>", f);
    const json_t *cr = json_object_get(c, "credentials");
    json_array_foreach(cr, i, x)
    {
        if (i)
            fputs(", ", f);
        fputs("<code>", f);
        nw_html_esc(f, sget(x, "id"));
        fputs("</code> ", f);
        nw_html_esc(f, sget(x, "kind"));
        if (json_is_false(json_object_get(x, "active")))
            fputs(" (inactive)", f);
    }
    long long ct = iget(c, "credentials_total");
    if (ct > (long long)json_array_size(cr))
        fprintf(f, "%s%lld in all (sessions included)", json_array_size(cr) ? "; " : "", ct);
    else if (!ct)
        fputs("<span class=\"dim\">-</span>", f);
    fputs("</dd><dt>grants</dt><dd>", f);
    const json_t *gr = json_object_get(c, "granted");
    if (!json_is_array(gr) || !json_array_size(gr))
        fputs("<span class=\"dim\">unknown (no entitlement export)</span>", f);
    json_array_foreach(gr, i, x)
    {
        if (i)
            fputs("; ", f);
        if (json_is_true(json_object_get(x, "admin")))
            fputs("<b>admin</b> ", f);
        nw_html_esc(f, sget(x, "effect"));
        fputs(" <code>", f);
        nw_html_esc(f, sget(x, "action"));
        fputs("</code>", f);
    }
    if (iget(c, "granted_total") > (long long)json_array_size(gr))
        fprintf(f, " (+%lld more)", iget(c, "granted_total") - (long long)json_array_size(gr));
    fputs("</dd></dl>", f);
    activity_chart(f, c, window_lo);
    fprintf(f, "<h4>Findings (%zu)</h4>", json_array_size(fids));
    json_array_foreach(fids, i, id)
    {
        const json_t *fx = json_object_get(by_id, json_string_value(id));
        if (fx)
            finding_block(f, fx);
    }
    fputs("</article>\n", f);
}

struct wanted {
    json_t *ids;   /* finding id -> true */
    json_t *by_id; /* finding id -> finding */
};

static int keep_wanted(void *ctx, const json_t *x)
{
    struct wanted *w = ctx;
    const char *id = sget(x, "id");
    if (id && json_object_get(w->ids, id))
        return json_object_set(w->by_id, id, (json_t *)x) ? NW_FINDINGS_E_NOMEM : 0;
    return 0;
}

int nw_html_write(const char *path, const json_t *doc, const nw_findings *fs, const json_t *cards, size_t cards_total,
                  nw_err *err)
{
    char tmp[4200];
    FILE *f = nw_out_open(path, tmp, sizeof tmp, err);
    if (!f)
        return NW_COLLECT_E_WRITE;
    const json_t *in = json_object_get(doc, "inputs");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
          "img-src data:\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"generator\" content=\"nhiwatch\">\n<title>nhiwatch report, as of ",
          f);
    text_or_dash(f, sget(doc, "as_of"));
    fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<header><h1>nhiwatch: non-human identity report</h1><p>As "
               "of <b>",
            css);
    text_or_dash(f, sget(doc, "as_of"));
    fprintf(f, "</b> · window %lld days · generated ", iget(doc, "window_days"));
    text_or_dash(f, sget(doc, "generated_at"));
    fprintf(f, " · %lld events from ", iget(in, "events"));
    text_or_dash(f, sget(in, "first_event"));
    fputs(" to ", f);
    text_or_dash(f, sget(in, "last_event"));
    fprintf(f, " · %lld identities</p></header>\n<nav><a href=\"#summary\">Summary</a><a href=\"#findings\">Findings</a>",
            iget(in, "identities"));
    if (json_object_get(doc, "drift"))
        fputs("<a href=\"#drift\">Drift</a>", f);
    fputs("<a href=\"#compliance\">Compliance</a><a href=\"#candidates\">Candidates</a><a href=\"#metrics\">Metrics</a>"
          "<a href=\"#identities\">Identities</a></nav>\n<main>\n",
          f);
    summary(f, doc);
    int rc = findings_overview(f, doc, fs, err);
    if (rc) {
        fclose(f);
        unlink(tmp);
        return rc;
    }
    drift_section(f, doc);
    compliance_section(f, doc);
    candidates_section(f, doc);
    metrics_section(f, doc);

    /* the findings the cards show, by id: only those are kept */
    struct wanted w = {json_object(), json_object()};
    size_t i;
    const json_t *x;
    json_array_foreach(cards, i, x)
    {
        size_t j;
        const json_t *id;
        json_array_foreach(json_object_get(x, "findings"), j, id)
        {
            if (json_is_string(id))
                json_object_set_new(w.ids, json_string_value(id), json_true());
        }
    }
    rc = json_object_size(w.ids) ? nw_findings_each(fs, keep_wanted, &w, err) : 0;
    json_decref(w.ids);
    json_t *by_id = w.by_id;
    if (rc) {
        json_decref(by_id);
        fclose(f);
        unlink(tmp);
        return rc;
    }
    int64_t as_of = 0;
    if (sget(doc, "as_of"))
        nw_time_parse(nw_str_c(sget(doc, "as_of")), &as_of);
    int64_t window_lo = nw_time_day(as_of) - json_integer_value(json_object_get(doc, "window_days")) + 1;
    fprintf(f, "<section id=\"identities\"><h2>Identities with findings (%zu)</h2>", cards_total);
    if (cards_total > json_array_size(cards))
        fprintf(f, "<p>The %zu most severe are shown; <b>%zu more</b> identities with findings are in report.json.</p>",
                json_array_size(cards), cards_total - json_array_size(cards));
    else if (!cards_total)
        fputs("<p class=\"dim\">None.</p>", f);
    json_array_foreach(cards, i, x) card(f, x, by_id, i, window_lo);
    json_decref(by_id);
    fputs("</section>\n<footer>Generated by nhiwatch. Every value comes from the audit logs, the IAM exports and the "
          "policy file named in report.json; this page loads nothing from the network.</footer>\n</main></body></html>\n",
          f);
    return nw_out_close(f, tmp, path, err);
}
