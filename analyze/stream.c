/* stream.c - streaming detectors. See stream.h. */
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_time.h"
#include "detect.h"

struct nw_stream {
    const nw_rule *react, *priv;
    double gap_days, learning_days;
    nw_alert_fn fn;
    void *ctx;
    uint64_t alerts;
};

nw_stream *nw_stream_new(const nw_rules *rules, nw_alert_fn fn, void *ctx, nw_err *err)
{
    nw_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        nw_err_set(err, -1, "out of memory");
        return NULL;
    }
    s->fn = fn;
    s->ctx = ctx;
    s->react = nw_rules_get(rules, "NHI-ACTIVE-001");
    s->priv = nw_rules_get(rules, "NHI-ACTIVE-004");
    bool ok1 = false, ok2 = false;
    if (s->react)
        s->gap_days = nw_rule_param(s->react, "gap_days", &ok1);
    if (s->priv)
        s->learning_days = nw_rule_param(s->priv, "learning_days", &ok2);
    if (!ok1 || !ok2) {
        nw_err_set(err, -1, "the rule set lacks NHI-ACTIVE-001 gap_days or NHI-ACTIVE-004 learning_days");
        free(s);
        return NULL;
    }
    return s;
}

void nw_stream_free(nw_stream *s) { free(s); }

uint64_t nw_stream_alerts(const nw_stream *s) { return s->alerts; }

static json_t *jstr(nw_str v) { return v.n ? json_stringn(v.p, v.n) : json_null(); }

static json_t *jt(int64_t us)
{
    char b[48];
    return json_string(nw_time_fmt_us(us, b));
}

static void emit(nw_stream *s, const nw_rule *rule, const char *severity, const nw_event *ev, json_t *evidence)
{
    char key[1024], idb[24];
    nw_str_cpy(key, sizeof key, ev->identity_key);
    json_t *a = json_object();
    json_object_set_new(a, "schema", json_string("nhiwatch.alert/1"));
    json_object_set_new(a, "id", json_string(nw_finding_id(rule->id, key, NULL, idb)));
    json_object_set_new(a, "time", jt(ev->time_us));
    json_object_set_new(a, "kind", json_string("suddenly_active"));
    json_object_set_new(a, "rule", json_string(rule->id));
    json_object_set_new(a, "severity", json_string(severity));
    json_object_set_new(a, "title", json_string(rule->title));
    json_object_set_new(a, "identity", json_string(key));
    json_object_set_new(a, "provider", json_string(nw_provider_name(ev->provider)));
    json_object_set_new(a, "identity_type", jstr(ev->identity_type));
    json_object_set_new(evidence, "event_id", jstr(ev->event_id));
    json_object_set_new(evidence, "action", jstr(ev->action));
    json_object_set_new(evidence, "source_ip", jstr(ev->source_ip));
    json_object_set_new(evidence, "user_agent", jstr(ev->user_agent));
    json_object_set_new(evidence, "credential", jstr(ev->credential_id));
    json_object_set_new(evidence, "outcome", json_string(nw_outcome_name(ev->outcome)));
    json_object_set_new(a, "evidence", evidence);
    json_object_set_new(a, "compliance", rule->compliance ? json_deep_copy(rule->compliance) : json_array());
    json_object_set_new(a, "recommendation", rule->remediation ? json_string(rule->remediation) : json_null());
    s->alerts++;
    if (s->fn)
        s->fn(s->ctx, a);
    json_decref(a);
}

void nw_stream_hook(void *ctx, const nw_event *ev, const nw_ident_state *before)
{
    nw_stream *s = ctx;
    if (before->events == 0)
        return; /* a new identity: nothing to compare with */
    char type[64], key[1024];
    nw_str_cpy(type, sizeof type, ev->identity_type);
    nw_str_cpy(key, sizeof key, ev->identity_key);
    uint64_t human = before->human_events + (ev->kind == NW_KIND_HUMAN);
    uint64_t machine = before->machine_events + (ev->kind == NW_KIND_NON_HUMAN);
    if (nw_store_kind(type, key, (int64_t)human, (int64_t)machine) != NW_KIND_NON_HUMAN)
        return;
    bool priv = (ev->flags & NW_EV_PRIVILEGED) != 0;
    bool secret = (ev->flags & NW_EV_SECRET_READ) != 0;
    int64_t gap = ev->time_us - before->last_seen;
    if (before->last_seen && (double)gap >= s->gap_days * (double)NW_US_PER_DAY) {
        json_t *e = json_object();
        json_object_set_new(e, "silent_since", jt(before->last_seen));
        json_object_set_new(e, "silent_days", json_integer(gap / NW_US_PER_DAY));
        json_object_set_new(e, "privilege_changing", json_boolean(priv));
        json_object_set_new(e, "secret_read", json_boolean(secret));
        json_object_set_new(e, "gap_days_threshold", json_real(s->gap_days));
        emit(s, s->react, (priv || secret) ? "critical" : s->react->severity, ev, e);
    }
    if (priv && before->privileged == 0 && ev->outcome == NW_OUT_SUCCESS && before->first_seen &&
        (double)(ev->time_us - before->first_seen) >= s->learning_days * (double)NW_US_PER_DAY) {
        json_t *e = json_object();
        json_object_set_new(e, "active_since", jt(before->first_seen));
        json_object_set_new(e, "events_before", json_integer((json_int_t)before->events));
        emit(s, s->priv, s->priv->severity, ev, e);
    }
}
