/* compliance.c - per control, the findings that evidence it. See compliance.h. */
#include "compliance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_hash.h"
#include "../core/nw_str.h"

const char *nw_control_id(const char *framework, const char *control, char *buf)
{
    nw_str parts[3] = {nw_str_c("control"), nw_str_c(framework ? framework : ""), nw_str_c(control ? control : "")};
    uint8_t h[16];
    nw_hash128(parts, 3, h);
    snprintf(buf, 20, "c-%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    return buf;
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* controls by "framework\x1fcontrol" */
static json_t *control_of(json_t *byk, const char *fw, const char *ctl)
{
    size_t n = strlen(fw) + strlen(ctl) + 2;
    char *k = malloc(n);
    if (!k)
        return NULL;
    snprintf(k, n, "%s\x1f%s", fw, ctl);
    json_t *c = json_object_get(byk, k);
    if (!c) {
        c = json_object();
        json_object_set_new(c, "framework", json_string(fw));
        json_object_set_new(c, "control", json_string(ctl));
        json_object_set_new(c, "status", json_string("pass"));
        json_object_set_new(c, "rules", json_array());
        json_object_set_new(c, "findings", json_integer(0));
        json_object_set_new(c, "identities", json_integer(0));
        json_object_set_new(c, "by_severity", json_object());
        json_object_set_new(c, "finding_ids", json_array());
        json_object_set_new(c, "_idents", json_object());
        json_object_set_new(byk, k, c);
    }
    free(k);
    return c;
}

static void add_rule(json_t *c, const char *rule)
{
    json_t *rules = json_object_get(c, "rules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r) if (strcmp(json_string_value(r), rule) == 0) return;
    /* keep sorted */
    size_t at = 0;
    while (at < json_array_size(rules) && strcmp(json_string_value(json_array_get(rules, at)), rule) < 0)
        at++;
    json_array_insert_new(rules, at, json_string(rule));
}

static int cmp_ctl(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = strcmp(sget(x, "framework"), sget(y, "framework"));
    return r ? r : strcmp(sget(x, "control"), sget(y, "control"));
}

/* one finding: count it against each control it references */
static int add_finding(void *ctx, const json_t *f)
{
    json_t *byk = ctx;
    const char *id = sget(f, "id"), *rule = sget(f, "rule"), *sev = sget(f, "severity");
    const char *ident = sget(f, "identity");
    size_t j;
    json_t *ref;
    json_array_foreach(json_object_get(f, "compliance"), j, ref)
    {
        const char *fw = sget(ref, "framework"), *ctl = sget(ref, "control");
        if (!fw || !ctl)
            continue;
        json_t *c = control_of(byk, fw, ctl);
        if (!c)
            continue;
        if (rule)
            add_rule(c, rule);
        json_object_set_new(c, "status", json_string("fail"));
        json_object_set_new(c, "findings", json_integer(json_integer_value(json_object_get(c, "findings")) + 1));
        json_t *bs = json_object_get(c, "by_severity");
        if (sev)
            json_object_set_new(bs, sev, json_integer(json_integer_value(json_object_get(bs, sev)) + 1));
        json_t *ids = json_object_get(c, "finding_ids");
        if (id && json_array_size(ids) < NW_COMPLIANCE_MAX_IDS)
            json_array_append_new(ids, json_string(id));
        if (ident)
            json_object_set_new(json_object_get(c, "_idents"), ident, json_true());
    }
    return 0;
}

json_t *nw_compliance_build(const nw_rules *rules, const nw_findings *fs, nw_err *err)
{
    json_t *byk = json_object();
    if (!byk) {
        nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t nr = rules ? nw_rules_count(rules) : 0;
    for (size_t i = 0; i < nr; i++) {
        const nw_rule *r = nw_rules_at(rules, i);
        size_t j;
        json_t *ref;
        json_array_foreach(r->compliance, j, ref)
        {
            const char *fw = sget(ref, "framework"), *ctl = sget(ref, "control");
            if (!fw || !ctl)
                continue;
            json_t *c = control_of(byk, fw, ctl);
            if (c)
                add_rule(c, r->id);
        }
    }
    if (fs && nw_findings_each(fs, add_finding, byk, err)) {
        json_decref(byk);
        return NULL;
    }
    size_t n = json_object_size(byk), k = 0;
    json_t **v = n ? malloc(n * sizeof(*v)) : NULL;
    const char *key;
    json_t *c;
    json_object_foreach(byk, key, c)
    {
        if (v)
            v[k++] = c;
    }
    if (k > 1)
        qsort(v, k, sizeof(*v), cmp_ctl);
    json_t *out = json_object(), *ctls = json_array(), *fws = json_object();
    for (size_t q = 0; q < k; q++) {
        c = v[q];
        json_object_set_new(c, "identities", json_integer((json_int_t)json_object_size(json_object_get(c, "_idents"))));
        json_object_del(c, "_idents");
        json_array_append(ctls, c);
        const char *fw = sget(c, "framework");
        json_t *s = json_object_get(fws, fw);
        if (!s) {
            s = json_object();
            json_object_set_new(s, "controls", json_integer(0));
            json_object_set_new(s, "failing", json_integer(0));
            json_object_set_new(s, "passing", json_integer(0));
            json_object_set_new(fws, fw, s);
        }
        const char *which = strcmp(sget(c, "status"), "fail") == 0 ? "failing" : "passing";
        json_object_set_new(s, "controls", json_integer(json_integer_value(json_object_get(s, "controls")) + 1));
        json_object_set_new(s, which, json_integer(json_integer_value(json_object_get(s, which)) + 1));
    }
    free(v);
    json_decref(byk);
    json_object_set_new(out, "frameworks", fws);
    json_object_set_new(out, "controls", ctls);
    return out;
}
