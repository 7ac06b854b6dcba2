/* ecs.c - alerts as Elastic Common Schema documents. See alertfmt.h. */
#include <stdbool.h>
#include <string.h>

#include "alertfmt.h"

#define NW_ECS_VERSION "8.11.0"

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ECS event.severity is source-defined: the Elastic detection-rule scale */
static int risk(const char *sev)
{
    if (!sev)
        return 0;
    if (strcmp(sev, "critical") == 0)
        return 99;
    if (strcmp(sev, "high") == 0)
        return 73;
    if (strcmp(sev, "medium") == 0)
        return 47;
    if (strcmp(sev, "low") == 0)
        return 21;
    return 1;
}

static json_t *arr1(const char *s)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string(s));
    return a;
}

json_t *nw_ecs_alert(const json_t *alert, const char *version)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    bool control = sget(alert, "schema") && strcmp(sget(alert, "schema"), "nhiwatch.control/1") == 0;
    const char *state = sget(alert, "state") ? sget(alert, "state") : "new";
    bool closed = strcmp(state, "resolved") == 0;
    json_object_set_new(o, "@timestamp", json_string(sget(alert, "time") ? sget(alert, "time") : ""));
    json_t *ecs = json_object();
    json_object_set_new(ecs, "version", json_string(NW_ECS_VERSION));
    json_object_set_new(o, "ecs", ecs);
    char msg[1024];
    if (control)
        snprintf(msg, sizeof msg, "%s %s: %s", sget(alert, "framework") ? sget(alert, "framework") : "-",
                 sget(alert, "control") ? sget(alert, "control") : "-", closed ? "passing again" : "failing");
    else
        snprintf(msg, sizeof msg, "%s%s: %s", closed ? "resolved: " : "", sget(alert, "title") ? sget(alert, "title") : "-",
                 sget(alert, "identity") ? sget(alert, "identity") : "-");
    json_object_set_new(o, "message", json_string(msg));
    json_t *ev = json_object();
    json_object_set_new(ev, "kind", json_string("alert"));
    json_object_set_new(ev, "category", arr1(control ? "configuration" : "iam"));
    json_object_set_new(ev, "type", arr1(closed ? "end" : strcmp(state, "escalated") == 0 ? "change" : "info"));
    char action[64];
    snprintf(action, sizeof action, "%s-%s", control ? "control" : "finding", state);
    json_object_set_new(ev, "action", json_string(action));
    json_object_set_new(ev, "id", json_string(sget(alert, "id") ? sget(alert, "id") : ""));
    if (sget(alert, "rule"))
        json_object_set_new(ev, "code", json_string(sget(alert, "rule")));
    int r = risk(sget(alert, "severity"));
    json_object_set_new(ev, "severity", json_integer(r));
    json_object_set_new(ev, "risk_score", json_real((double)r));
    json_object_set_new(ev, "dataset", json_string(control ? "nhiwatch.control" : "nhiwatch.finding"));
    json_object_set_new(ev, "module", json_string("nhiwatch"));
    if (sget(alert, "provider"))
        json_object_set_new(ev, "provider", json_string(sget(alert, "provider")));
    json_object_set_new(ev, "reason", json_string(msg));
    json_object_set_new(o, "event", ev);
    json_t *rule = json_object();
    if (control) {
        json_object_set_new(rule, "id", json_string(sget(alert, "control") ? sget(alert, "control") : ""));
        json_object_set_new(rule, "ruleset", json_string(sget(alert, "framework") ? sget(alert, "framework") : ""));
        json_object_set_new(rule, "name", json_string(msg));
    } else {
        json_object_set_new(rule, "id", json_string(sget(alert, "rule") ? sget(alert, "rule") : ""));
        json_object_set_new(rule, "name", json_string(sget(alert, "title") ? sget(alert, "title") : ""));
        json_object_set_new(rule, "category", json_string(sget(alert, "kind") ? sget(alert, "kind") : ""));
        json_object_set_new(rule, "ruleset", json_string("nhiwatch"));
        json_object_set_new(rule, "uuid", json_string(sget(alert, "id") ? sget(alert, "id") : ""));
    }
    json_object_set_new(o, "rule", rule);
    if (sget(alert, "identity")) {
        json_t *u = json_object();
        json_object_set_new(u, "id", json_string(sget(alert, "identity")));
        json_object_set_new(u, "name", json_string(sget(alert, "identity")));
        json_object_set_new(o, "user", u);
    }
    if (sget(alert, "provider")) {
        json_t *c = json_object();
        json_object_set_new(c, "provider", json_string(sget(alert, "provider")));
        json_object_set_new(o, "cloud", c);
    }
    const json_t *evd = json_object_get(alert, "evidence");
    const char *ip = sget(evd, "source_ip") ? sget(evd, "source_ip") : sget(evd, "last_source_ip");
    if (ip) {
        json_t *s = json_object();
        json_object_set_new(s, "ip", json_string(ip));
        json_object_set_new(o, "source", s);
    }
    json_t *obs = json_object();
    json_object_set_new(obs, "vendor", json_string("nhiwatch"));
    json_object_set_new(obs, "product", json_string("nhiwatch"));
    json_object_set_new(obs, "version", json_string(version ? version : "0.0.0"));
    json_object_set_new(o, "observer", obs);
    json_t *labels = json_object();
    json_object_set_new(labels, "finding_id", json_string(sget(alert, "id") ? sget(alert, "id") : ""));
    json_object_set_new(labels, "state", json_string(state));
    json_object_set_new(o, "labels", labels);
    json_object_set(o, "nhiwatch", (json_t *)alert);
    return o;
}
