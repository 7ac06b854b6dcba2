/* ocsf.c - alerts as OCSF 1.6.0 findings, and the format dispatch. See alertfmt.h. */
#include "alertfmt.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/nw_time.h"

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int nw_alert_format_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcasecmp(s, "ocsf") == 0)
        return NW_AF_OCSF;
    if (strcasecmp(s, "ecs") == 0)
        return NW_AF_ECS;
    if (strcasecmp(s, "cef") == 0)
        return NW_AF_CEF;
    if (strcasecmp(s, "json") == 0 || strcasecmp(s, "native") == 0)
        return NW_AF_NATIVE;
    return -1;
}

const char *nw_alert_format_name(int fmt)
{
    switch (fmt) {
    case NW_AF_OCSF:
        return "ocsf";
    case NW_AF_ECS:
        return "ecs";
    case NW_AF_CEF:
        return "cef";
    case NW_AF_NATIVE:
        return "json";
    }
    return "?";
}

int nw_alert_syslog_severity(const json_t *alert)
{
    const char *st = sget(alert, "state");
    if (st && strcmp(st, "resolved") == 0)
        return 5; /* notice */
    const char *s = sget(alert, "severity");
    if (!s)
        return 6;
    if (strcmp(s, "critical") == 0)
        return 2;
    if (strcmp(s, "high") == 0)
        return 3;
    if (strcmp(s, "medium") == 0)
        return 4;
    if (strcmp(s, "low") == 0)
        return 5;
    return 6;
}

char *nw_alert_encode(int fmt, const json_t *alert, const char *version)
{
    json_t *o = NULL;
    switch (fmt) {
    case NW_AF_CEF:
        return nw_cef_alert(alert, version);
    case NW_AF_ECS:
        o = nw_ecs_alert(alert, version);
        break;
    case NW_AF_NATIVE:
        o = json_incref((json_t *)alert);
        break;
    default:
        o = nw_ocsf_alert(alert, version);
    }
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* ---- OCSF ---- */

static int severity_id(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "info") == 0)
        return 1;
    if (strcmp(s, "low") == 0)
        return 2;
    if (strcmp(s, "medium") == 0)
        return 3;
    if (strcmp(s, "high") == 0)
        return 4;
    if (strcmp(s, "critical") == 0)
        return 5;
    return 99;
}

static const char *severity_caption(int id)
{
    static const char *const c[] = {"Unknown", "Informational", "Low", "Medium", "High", "Critical"};
    return id >= 0 && id <= 5 ? c[id] : "Other";
}

static int activity_id(const char *state)
{
    if (state && strcmp(state, "escalated") == 0)
        return 2;
    if (state && strcmp(state, "resolved") == 0)
        return 3;
    return 1;
}

static const char *activity_caption(int id) { return id == 2 ? "Update" : id == 3 ? "Close" : "Create"; }

/* epoch milliseconds of an RFC 3339 string; 0 when absent */
static json_int_t ms_of(const char *t)
{
    int64_t us = 0;
    if (!t || nw_time_parse(nw_str_c(t), &us))
        return 0;
    return (json_int_t)(us / 1000);
}

static bool iam_kind(const char *k)
{
    static const char *const kinds[] = {"over_privileged",  "unused_credential",    "stale_credential",
                                        "credential_expired", "credential_expiring", "multiple_active_keys",
                                        "long_lived_key_on_compute"};
    for (size_t i = 0; k && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(k, kinds[i]) == 0)
            return true;
    return false;
}

static const char *cloud_provider(const char *p)
{
    if (!p)
        return "Unknown";
    if (strcmp(p, "aws") == 0)
        return "AWS";
    if (strcmp(p, "azure") == 0)
        return "Azure";
    if (strcmp(p, "gcp") == 0)
        return "GCP";
    return p;
}

static json_t *metadata(const json_t *alert, const char *version, int act)
{
    json_t *m = json_object();
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string("nhiwatch"));
    json_object_set_new(p, "vendor_name", json_string("nhiwatch"));
    json_object_set_new(p, "version", json_string(version ? version : "0.0.0"));
    json_object_set_new(m, "product", p);
    json_object_set_new(m, "version", json_string(NW_OCSF_VERSION));
    /* one event per state change of the finding */
    char uid[160];
    snprintf(uid, sizeof uid, "%s:%d:%lld", sget(alert, "id") ? sget(alert, "id") : "-", act,
             (long long)ms_of(sget(alert, "time")));
    json_object_set_new(m, "uid", json_string(uid));
    if (sget(alert, "rule"))
        json_object_set_new(m, "event_code", json_string(sget(alert, "rule")));
    json_t *prof = json_array();
    json_array_append_new(prof, json_string("cloud"));
    json_object_set_new(m, "profiles", prof);
    return m;
}

static void base(json_t *o, int class_uid, const char *class_name, const json_t *alert, const char *version)
{
    int act = activity_id(sget(alert, "state"));
    int sev = severity_id(sget(alert, "severity"));
    json_object_set_new(o, "category_uid", json_integer(2));
    json_object_set_new(o, "category_name", json_string("Findings"));
    json_object_set_new(o, "class_uid", json_integer(class_uid));
    json_object_set_new(o, "class_name", json_string(class_name));
    json_object_set_new(o, "activity_id", json_integer(act));
    json_object_set_new(o, "activity_name", json_string(activity_caption(act)));
    json_object_set_new(o, "type_uid", json_integer((json_int_t)class_uid * 100 + act));
    char tn[96];
    snprintf(tn, sizeof tn, "%s: %s", class_name, activity_caption(act));
    json_object_set_new(o, "type_name", json_string(tn));
    json_object_set_new(o, "severity_id", json_integer(sev));
    json_object_set_new(o, "severity", json_string(severity_caption(sev)));
    json_object_set_new(o, "time", json_integer(ms_of(sget(alert, "time"))));
    json_object_set_new(o, "status_id", json_integer(act == 3 ? 4 : 1));
    json_object_set_new(o, "status", json_string(act == 3 ? "Resolved" : "New"));
    json_object_set_new(o, "is_alert", json_boolean(act != 3));
    json_object_set_new(o, "metadata", metadata(alert, version, act));
}

static json_t *user_obj(const json_t *alert)
{
    json_t *u = json_object();
    const char *key = sget(alert, "identity");
    json_object_set_new(u, "uid", json_string(key ? key : ""));
    json_object_set_new(u, "name", json_string(key ? key : ""));
    if (sget(alert, "identity_type"))
        json_object_set_new(u, "type", json_string(sget(alert, "identity_type")));
    json_object_set_new(u, "type_id", json_integer(99)); /* Other: a non-human identity */
    if (sget(alert, "credential"))
        json_object_set_new(u, "credential_uid", json_string(sget(alert, "credential")));
    else if (sget(json_object_get(alert, "evidence"), "credential"))
        json_object_set_new(u, "credential_uid", json_string(sget(json_object_get(alert, "evidence"), "credential")));
    return u;
}

static json_t *finding_info(const json_t *alert, const char *kind)
{
    json_t *fi = json_object();
    json_object_set_new(fi, "uid", json_string(sget(alert, "id") ? sget(alert, "id") : ""));
    json_object_set_new(fi, "title", json_string(sget(alert, "title") ? sget(alert, "title") : ""));
    char desc[1400];
    snprintf(desc, sizeof desc, "%s: %s (%s %s).", sget(alert, "rule") ? sget(alert, "rule") : "-",
             sget(alert, "title") ? sget(alert, "title") : "-", sget(alert, "provider") ? sget(alert, "provider") : "-",
             sget(alert, "identity") ? sget(alert, "identity") : "-");
    json_object_set_new(fi, "desc", json_string(desc));
    json_t *types = json_array();
    if (kind)
        json_array_append_new(types, json_string(kind));
    json_object_set_new(fi, "types", types);
    json_t *an = json_object();
    json_object_set_new(an, "uid", json_string(sget(alert, "rule") ? sget(alert, "rule") : ""));
    json_object_set_new(an, "name", json_string(sget(alert, "title") ? sget(alert, "title") : ""));
    json_object_set_new(an, "type_id", json_integer(1));
    json_object_set_new(an, "type", json_string("Rule"));
    json_object_set_new(fi, "analytic", an);
    const json_t *ev = json_object_get(alert, "evidence");
    if (sget(ev, "event_id")) {
        json_t *re = json_array();
        json_t *e = json_object();
        json_object_set_new(e, "uid", json_string(sget(ev, "event_id")));
        json_array_append_new(re, e);
        json_object_set_new(fi, "related_events", re);
    }
    return fi;
}

static json_t *unmapped(const json_t *alert)
{
    json_t *u = json_object(), *n = json_object();
    static const char *const keys[] = {"kind", "rule", "state", "origin", "previous_severity", "compliance",
                                       "identity_type", "as_of"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(alert, keys[i]);
        if (v)
            json_object_set(n, keys[i], v);
    }
    json_object_set_new(u, "nhiwatch", n);
    return u;
}

static json_t *compliance_finding(const json_t *alert, const char *version)
{
    json_t *o = json_object();
    base(o, 2003, "Compliance Finding", alert, version);
    bool fail = sget(alert, "status") && strcmp(sget(alert, "status"), "fail") == 0;
    char title[512];
    snprintf(title, sizeof title, "%s %s: %s (%lld findings)", sget(alert, "framework") ? sget(alert, "framework") : "-",
             sget(alert, "control") ? sget(alert, "control") : "-", fail ? "failing" : "passing",
             (long long)json_integer_value(json_object_get(alert, "findings")));
    json_object_set_new(o, "message", json_string(title));
    json_t *fi = json_object();
    json_object_set_new(fi, "uid", json_string(sget(alert, "id") ? sget(alert, "id") : ""));
    json_object_set_new(fi, "title", json_string(title));
    json_t *types = json_array();
    json_array_append_new(types, json_string("compliance"));
    json_object_set_new(fi, "types", types);
    json_t *re = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(alert, "finding_ids"), i, x)
    {
        json_t *e = json_object();
        json_object_set(e, "uid", x);
        json_array_append_new(re, e);
    }
    json_object_set_new(fi, "related_events", re);
    json_object_set_new(o, "finding_info", fi);
    json_t *c = json_object();
    json_t *std = json_array();
    json_array_append_new(std, json_string(sget(alert, "framework") ? sget(alert, "framework") : ""));
    json_object_set_new(c, "standards", std);
    json_object_set_new(c, "control", json_string(sget(alert, "control") ? sget(alert, "control") : ""));
    json_t *rules = json_object_get(alert, "rules");
    json_object_set_new(c, "requirements", rules ? json_incref(rules) : json_array());
    json_object_set_new(c, "status_id", json_integer(fail ? 3 : 1));
    json_object_set_new(c, "status", json_string(fail ? "Fail" : "Pass"));
    json_object_set_new(o, "compliance", c);
    json_t *u = json_object(), *n = json_object();
    json_object_set(n, "findings", json_object_get(alert, "findings"));
    json_object_set(n, "state", json_object_get(alert, "state"));
    json_object_set_new(u, "nhiwatch", n);
    json_object_set_new(o, "unmapped", u);
    return o;
}

/* The anomaly the sudden-activity rules saw, from their evidence. */
static json_t *anomaly(const json_t *alert)
{
    const json_t *ev = json_object_get(alert, "evidence");
    const char *rule = sget(alert, "rule");
    const char *type = "Behavioral Analysis", *attr = "activity", *pattern = "UNSEEN";
    char value[512] = "";
    if (json_object_get(ev, "silent_days")) {
        type = "Time Pattern Analysis";
        attr = "days since the previous activity";
        pattern = "UNUSUAL_TIME";
        snprintf(value, sizeof value, "%lld", (long long)json_integer_value(json_object_get(ev, "silent_days")));
    } else if (rule && strcmp(rule, "NHI-ACTIVE-002") == 0) {
        type = "Volume Analysis";
        attr = "events per day";
        pattern = "SURGE";
    } else if (sget(ev, "action")) {
        type = "Frequency Analysis";
        attr = "action";
        snprintf(value, sizeof value, "%s", sget(ev, "action"));
    }
    if (!*value) {
        char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        snprintf(value, sizeof value, "%s", s ? s : "");
        free(s);
    }
    json_t *aa = json_object();
    json_object_set_new(aa, "analysis_target", json_string(sget(alert, "identity") ? sget(alert, "identity") : ""));
    json_object_set_new(aa, "analysis_target_type", json_string("Identity"));
    json_t *an = json_object();
    json_object_set_new(an, "observation_type", json_string(type));
    json_object_set_new(an, "observed_attribute", json_string(attr));
    json_object_set_new(an, "observed_pattern", json_string(pattern));
    json_t *obs = json_array(), *ob = json_object();
    json_object_set_new(ob, "value", json_string(value));
    json_array_append_new(obs, ob);
    json_object_set_new(an, "observations", obs);
    json_t *ans = json_array();
    json_array_append_new(ans, an);
    json_object_set_new(aa, "anomalies", ans);
    json_t *arr = json_array();
    json_array_append_new(arr, aa);
    return arr;
}

json_t *nw_ocsf_alert(const json_t *alert, const char *version)
{
    const char *schema = sget(alert, "schema");
    if (schema && strcmp(schema, "nhiwatch.control/1") == 0)
        return compliance_finding(alert, version);
    const char *kind = sget(alert, "kind");
    bool iam = iam_kind(kind);
    json_t *o = json_object();
    if (!o)
        return NULL;
    base(o, iam ? 2008 : 2004, iam ? "IAM Analysis Finding" : "Detection Finding", alert, version);
    json_object_set_new(o, "message", json_string(sget(alert, "title") ? sget(alert, "title") : ""));
    json_object_set_new(o, "finding_info", finding_info(alert, kind));
    json_t *cloud = json_object();
    json_object_set_new(cloud, "provider", json_string(cloud_provider(sget(alert, "provider"))));
    json_object_set_new(o, "cloud", cloud);
    const json_t *ev = json_object_get(alert, "evidence");
    json_t *res = json_array(), *r = json_object();
    json_object_set_new(r, "uid", json_string(sget(alert, "identity") ? sget(alert, "identity") : ""));
    json_object_set_new(r, "type", json_string(sget(alert, "identity_type") ? sget(alert, "identity_type") : "identity"));
    json_array_append_new(res, r);
    json_object_set_new(o, "resources", res);
    if (iam) {
        json_object_set_new(o, "user", user_obj(alert));
        json_t *m = json_object();
        const char *last = sget(ev, "last_used") ? sget(ev, "last_used")
                           : sget(ev, "last_successful_use") ? sget(ev, "last_successful_use")
                                                             : sget(ev, "last_seen");
        if (last)
            json_object_set_new(m, "last_seen_time", json_integer(ms_of(last)));
        const char *cred = sget(alert, "credential") ? sget(alert, "credential") : sget(ev, "access_key");
        if (cred)
            json_object_set_new(m, "credential_uid", json_string(cred));
        if (cred && sget(ev, "credential_last_used"))
            json_object_set_new(m, "credential_last_used_time", json_integer(ms_of(sget(ev, "credential_last_used"))));
        json_object_set_new(o, "identity_activity_metrics", m);
        json_t *pa = json_object();
        json_t *gp = json_array();
        const json_t *granted = json_object_get(ev, "granted");
        if (!json_is_array(granted))
            granted = json_object_get(ev, "granted_services");
        size_t i;
        json_t *g;
        json_array_foreach(granted, i, g)
        {
            if (json_is_string(g) && json_array_size(gp) < 100)
                json_array_append(gp, g);
        }
        json_object_set_new(pa, "granted_privileges", gp);
        static const struct {
            const char *ev, *ocsf;
        } counts[] = {{"unused_actions", "unused_privileges_count"}, {"unused_services", "unused_services_count"}};
        for (size_t k = 0; k < 2; k++) {
            const json_t *v = json_object_get(ev, counts[k].ev);
            if (json_is_integer(v))
                json_object_set(pa, counts[k].ocsf, (json_t *)v);
            else if (json_is_array(v))
                json_object_set_new(pa, counts[k].ocsf, json_integer((json_int_t)json_array_size(v)));
        }
        json_t *pol = json_object();
        json_object_set_new(pol, "name", json_string(sget(alert, "rule") ? sget(alert, "rule") : ""));
        json_object_set_new(pa, "policy", pol);
        json_t *pas = json_array();
        json_array_append_new(pas, pa);
        json_object_set_new(o, "permission_analysis_results", pas);
    } else {
        json_t *actor = json_object();
        json_object_set_new(actor, "user", user_obj(alert));
        json_object_set_new(o, "actor", actor);
        json_t *e = json_object();
        json_t *eu = json_object();
        json_object_set_new(eu, "user", user_obj(alert));
        json_object_set_new(e, "actor", eu);
        if (sget(ev, "action")) {
            json_t *api = json_object();
            json_object_set_new(api, "operation", json_string(sget(ev, "action")));
            json_object_set_new(e, "api", api);
        }
        const char *ip = sget(ev, "source_ip") ? sget(ev, "source_ip") : sget(ev, "last_source_ip");
        if (ip) {
            json_t *se = json_object();
            json_object_set_new(se, "ip", json_string(ip));
            json_object_set_new(e, "src_endpoint", se);
        }
        if (sget(ev, "event_id"))
            json_object_set_new(e, "uid", json_string(sget(ev, "event_id")));
        json_object_set_new(e, "data", ev ? json_incref((json_t *)ev) : json_object());
        json_t *evs = json_array();
        json_array_append_new(evs, e);
        json_object_set_new(o, "evidences", evs);
        if (kind && strcmp(kind, "suddenly_active") == 0)
            json_object_set_new(o, "anomaly_analyses", anomaly(alert));
    }
    if (sget(alert, "recommendation")) {
        json_t *rem = json_object();
        json_object_set_new(rem, "desc", json_string(sget(alert, "recommendation")));
        json_object_set_new(o, "remediation", rem);
    }
    json_object_set_new(o, "unmapped", unmapped(alert));
    if (iam && ev) /* 2008 has no evidences: the numbers go with the rest */
        json_object_set(json_object_get(json_object_get(o, "unmapped"), "nhiwatch"), "evidence", (json_t *)ev);
    return o;
}
