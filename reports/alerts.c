/* alerts.c - alert de-duplication and fan-out to the sinks. See alerts.h. */
#include "alerts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_time.h"
#include "alertfmt.h"
#include "compliance.h"
#include "sinks.h"

#define MAX_SINKS 16

struct nw_alerter {
    nw_alerter_opts o;
    nw_sink *sinks[MAX_SINKS];
    size_t nsinks;
    nw_alerter_stats st;
};

nw_alerter *nw_alerter_new(const nw_alerter_opts *o, nw_err *err)
{
    nw_alerter *a = calloc(1, sizeof(*a));
    if (!a) {
        nw_err_set(err, -1, "out of memory");
        return NULL;
    }
    a->o = *o;
    return a;
}

int nw_alerter_add_sink(nw_alerter *a, const char *uri, nw_err *err)
{
    if (a->nsinks == MAX_SINKS)
        return nw_err_set(err, NW_SINK_E_URI, "at most %d --alerts sinks", MAX_SINKS);
    static const char *const msgids[] = {"OCSF", "ECS", "CEF", "JSON"};
    nw_sink_opts so = {a->o.kafka, a->o.format >= 0 && a->o.format <= 3 ? msgids[a->o.format] : "-"};
    int rc = nw_sink_open(uri, &so, &a->sinks[a->nsinks], err);
    if (!rc)
        a->nsinks++;
    return rc;
}

size_t nw_alerter_sinks(const nw_alerter *a) { return a->nsinks; }

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* true when every sink took it (its state may then be recorded: a refused
 * alert is sent again by the next run) */
static bool send_all(nw_alerter *a, const json_t *alert)
{
    char *text = nw_alert_encode(a->o.format, alert, a->o.version);
    if (!text) {
        a->st.failed += a->nsinks;
        return false;
    }
    bool ok = true;
    nw_sink_meta m = {sget(alert, "id"), sget(alert, "state"), nw_alert_syslog_severity(alert)};
    size_t len = strlen(text);
    for (size_t i = 0; i < a->nsinks; i++) {
        nw_err e;
        nw_err_clear(&e);
        if (nw_sink_send(a->sinks[i], text, len, &m, &e)) {
            a->st.failed++;
            ok = false;
        }
    }
    free(text);
    a->st.sent++;
    const char *s = sget(alert, "state");
    if (s && strcmp(s, "escalated") == 0)
        a->st.escalated++;
    else if (s && strcmp(s, "resolved") == 0)
        a->st.resolved++;
    else
        a->st.new_++;
    return ok;
}

/* ---- state ---- */

struct prev {
    bool found;
    char severity[16], state[16];
};

static int prev_cb(void *ctx, const nw_alert_row *r)
{
    struct prev *p = ctx;
    p->found = true;
    snprintf(p->severity, sizeof p->severity, "%s", r->severity ? r->severity : "info");
    snprintf(p->state, sizeof p->state, "%s", r->state ? r->state : "open");
    return 0;
}

static int put_state(nw_alerter *a, const json_t *alert, const char *state, int64_t now, nw_err *err)
{
    nw_alert_row r = {sget(alert, "id"),       sget(alert, "kind"),     sget(alert, "rule"), sget(alert, "identity"),
                      sget(alert, "severity"), state,                   now,                 now};
    if (!r.id)
        return 0;
    int rc = nw_store_alert_put(a->o.state, &r, err);
    if (rc)
        a->st.state_errors++;
    return rc;
}

static int64_t time_of(const json_t *alert)
{
    int64_t us = 0;
    if (sget(alert, "time"))
        nw_time_parse(nw_str_c(sget(alert, "time")), &us);
    return us;
}

int nw_alerter_emit(nw_alerter *a, json_t *alert, bool dedup, nw_err *err)
{
    const char *id = sget(alert, "id");
    if (dedup && a->o.state && id) {
        struct prev p = {0};
        int rc = nw_store_alert_get(a->o.state, id, prev_cb, &p, err);
        if (rc < 0) {
            a->st.state_errors++;
        } else if (p.found && strcmp(p.state, "open") == 0) {
            if (nw_severity_rank(sget(alert, "severity")) <= nw_severity_rank(p.severity)) {
                a->st.suppressed++;
                return 0;
            }
            json_object_set_new(alert, "state", json_string("escalated"));
            json_object_set_new(alert, "previous_severity", json_string(p.severity));
        }
        if (!json_object_get(alert, "state"))
            json_object_set_new(alert, "state", json_string("new"));
        if (send_all(a, alert))
            put_state(a, alert, "open", time_of(alert), err);
        return 0;
    }
    if (!json_object_get(alert, "state"))
        json_object_set_new(alert, "state", json_string("new"));
    send_all(a, alert);
    return 0;
}

void nw_alerter_stream(void *ctx, const json_t *alert)
{
    nw_alerter *a = ctx;
    json_t *x = json_deep_copy(alert);
    if (!x) {
        a->st.failed++;
        return;
    }
    json_object_set_new(x, "origin", json_string("stream"));
    nw_err e;
    nw_err_clear(&e);
    nw_alerter_emit(a, x, true, &e);
    json_decref(x);
}

/* ---- after a report ---- */

struct states {
    json_t *by_id; /* id -> {severity, state, kind, rule, identity} */
};

static int load_cb(void *ctx, const nw_alert_row *r)
{
    struct states *s = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "severity", json_string(r->severity ? r->severity : "info"));
    json_object_set_new(o, "state", json_string(r->state ? r->state : "open"));
    if (r->kind)
        json_object_set_new(o, "kind", json_string(r->kind));
    if (r->rule)
        json_object_set_new(o, "rule", json_string(r->rule));
    if (r->identity)
        json_object_set_new(o, "identity", json_string(r->identity));
    json_object_set_new(s->by_id, r->id, o);
    return 0;
}

static void set_time(json_t *x, int64_t now)
{
    char b[40];
    json_object_set_new(x, "time", json_string(nw_time_fmt(now, b)));
}

static json_t *finding_alert(const json_t *f, const char *state, int64_t now, const json_t *doc)
{
    json_t *x = json_deep_copy(f);
    json_object_set_new(x, "schema", json_string("nhiwatch.alert/1"));
    set_time(x, now);
    json_object_set_new(x, "state", json_string(state));
    json_object_set_new(x, "origin", json_string("report"));
    if (json_object_get(doc, "as_of"))
        json_object_set(x, "as_of", json_object_get(doc, "as_of"));
    return x;
}

static json_t *control_alert(const json_t *c, const char *id, const char *state, int64_t now)
{
    json_t *x = json_object();
    json_object_set_new(x, "schema", json_string("nhiwatch.control/1"));
    json_object_set_new(x, "id", json_string(id));
    set_time(x, now);
    json_object_set(x, "framework", json_object_get(c, "framework"));
    json_object_set(x, "control", json_object_get(c, "control"));
    json_object_set(x, "status", json_object_get(c, "status"));
    json_object_set_new(x, "state", json_string(state));
    json_object_set_new(x, "kind", json_string("compliance"));
    /* the worst severity among its findings */
    const char *worst = "info";
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(c, "by_severity"), k, v)
    {
        if (json_integer_value(v) > 0 && nw_severity_rank(k) > nw_severity_rank(worst))
            worst = k;
    }
    json_object_set_new(x, "severity", json_string(worst));
    json_object_set(x, "findings", json_object_get(c, "findings"));
    json_object_set(x, "rules", json_object_get(c, "rules"));
    json_t *ids = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(c, "finding_ids"), i, f)
    {
        if (i < 20)
            json_array_append(ids, f);
    }
    json_object_set_new(x, "finding_ids", ids);
    return x;
}

/* the walk over a report's findings */
struct walk {
    nw_alerter *a;
    const json_t *doc;
    int64_t now;
    nw_err *err;
    const json_t *by_id; /* the remembered state; NULL = no state store */
    json_t *seen;        /* ids of this report's findings */
    int rc;              /* a state store error: stops the walk */
};

static int alert_finding(void *ctx, const json_t *f)
{
    struct walk *w = ctx;
    if (!w->by_id) { /* no memory of earlier runs: every finding is new */
        json_t *x = finding_alert(f, "new", w->now, w->doc);
        send_all(w->a, x);
        json_decref(x);
        return 0;
    }
    const char *id = sget(f, "id");
    if (!id)
        return 0;
    json_object_set_new(w->seen, id, json_true());
    const json_t *p = json_object_get(w->by_id, id);
    const char *state = NULL;
    bool open = p && strcmp(sget(p, "state"), "open") == 0;
    int r = nw_severity_rank(sget(f, "severity")), pr = p ? nw_severity_rank(sget(p, "severity")) : -1;
    if (!open)
        state = "new";
    else if (r > pr)
        state = "escalated";
    bool sent = true;
    if (state) {
        json_t *x = finding_alert(f, state, w->now, w->doc);
        if (!strcmp(state, "escalated"))
            json_object_set(x, "previous_severity", json_object_get(p, "severity"));
        sent = send_all(w->a, x);
        json_decref(x);
    }
    /* a lower severity is remembered silently: a later rise alerts again */
    if (sent && (state || r != pr) && (w->rc = put_state(w->a, f, "open", w->now, w->err)))
        return w->rc;
    return 0;
}

int nw_alerter_report(nw_alerter *a, const json_t *doc, const nw_findings *fs, int64_t now, nw_err *err)
{
    struct walk w = {a, doc, now, err, NULL, NULL, 0};
    if (!a->o.state)
        return fs ? nw_findings_each(fs, alert_finding, &w, err) : 0;
    struct states s = {json_object()};
    int rc = nw_store_each_alert(a->o.state, load_cb, &s, err);
    if (rc)
        goto out;
    if ((rc = nw_store_begin(a->o.state, err)))
        goto out;
    json_t *seen = json_object();
    w.by_id = s.by_id;
    w.seen = seen;
    size_t i;
    json_t *f;
    if (fs && nw_findings_each(fs, alert_finding, &w, err))
        rc = err->code ? err->code : -1;
    /* open findings the report no longer has, and controls */
    const char *id;
    json_t *p;
    json_object_foreach(s.by_id, id, p)
    {
        if (rc || strncmp(id, "f-", 2) != 0 || strcmp(sget(p, "state"), "open") != 0 || json_object_get(seen, id))
            continue;
        json_t *x = json_object();
        json_object_set_new(x, "schema", json_string("nhiwatch.alert/1"));
        json_object_set_new(x, "id", json_string(id));
        set_time(x, now);
        static const char *const keep[] = {"kind", "rule", "identity", "severity"};
        for (size_t k = 0; k < 4; k++)
            if (json_object_get(p, keep[k]))
                json_object_set(x, keep[k], json_object_get(p, keep[k]));
        const nw_rule *rule = a->o.rules && sget(p, "rule") ? nw_rules_get(a->o.rules, sget(p, "rule")) : NULL;
        json_object_set_new(x, "title", json_string(rule ? rule->title : "finding resolved"));
        json_object_set_new(x, "state", json_string("resolved"));
        json_object_set_new(x, "origin", json_string("report"));
        if (json_object_get(doc, "as_of"))
            json_object_set(x, "as_of", json_object_get(doc, "as_of"));
        if (send_all(a, x))
            rc = put_state(a, x, "resolved", now, err);
        json_decref(x);
    }
    json_array_foreach(json_object_get(json_object_get(doc, "compliance"), "controls"), i, f)
    {
        if (rc)
            break;
        char cid[24];
        nw_control_id(sget(f, "framework"), sget(f, "control"), cid);
        const json_t *pc = json_object_get(s.by_id, cid);
        bool open = pc && strcmp(sget(pc, "state"), "open") == 0;
        bool fail = sget(f, "status") && strcmp(sget(f, "status"), "fail") == 0;
        if (fail == open)
            continue;
        json_t *x = control_alert(f, cid, fail ? "new" : "resolved", now);
        nw_alert_row r = {cid, "compliance", sget(f, "control"), sget(f, "framework"), sget(x, "severity"),
                          fail ? "open" : "resolved", now, now};
        if (send_all(a, x) && (rc = nw_store_alert_put(a->o.state, &r, err)))
            a->st.state_errors++;
        json_decref(x);
    }
    json_decref(seen);
    /* the alerts already went out: keep the state of those that did, even after an error */
    int crc = nw_store_commit(a->o.state, rc ? NULL : err);
    if (!rc)
        rc = crc;
out:
    json_decref(s.by_id);
    return rc;
}

void nw_alerter_stats_get(const nw_alerter *a, nw_alerter_stats *out) { *out = a->st; }

void nw_alerter_set_state(nw_alerter *a, nw_store *state) { a->o.state = state; }

int nw_alerter_close(nw_alerter *a, nw_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < a->nsinks; i++) {
        nw_err e;
        nw_err_clear(&e);
        if (nw_sink_close(a->sinks[i], &e) && !rc)
            rc = nw_err_set(err, e.code, "%s", e.msg);
        a->sinks[i] = NULL;
    }
    a->nsinks = 0;
    return rc;
}

void nw_alerter_free(nw_alerter *a)
{
    if (!a)
        return;
    nw_alerter_close(a, NULL);
    free(a);
}
