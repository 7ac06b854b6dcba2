/* detect.c - report-time detectors. See detect.h and docs/detections.md. */
#include "detect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/nw_arena.h"
#include "../core/nw_hash.h"
#include "../core/nw_time.h"

/* ---- which rule drives which check ----
 * The ids are those of the shipped rules/ files; a --rules folder must keep
 * them (it may change everything else: thresholds, severities, texts). */
enum {
    R_DORMANT,
    R_NEVER_USED,
    R_UNUSED_CRED,
    R_REACTIVATED,
    R_SPIKE,
    R_NEW_SERVICE,
    R_FIRST_PRIV,
    R_NEW_NETWORK,
    R_NEW_REGION,
    R_NEW_UA,
    R_DENIED_BURST,
    R_PERSON_USE,
    R_ADMIN_NARROW,
    R_UNUSED_SERVICES,
    R_UNUSED_ACTIONS,
    R_ROTATION,
    R_EXPIRED,
    R_EXPIRING,
    R_MULTI_KEY,
    R_NO_OWNER,
    R_KEY_ON_COMPUTE,
    R_CONSOLE_NHI,
    R_WORKLOAD_NETWORK,
    R_COUNT
};

struct rspec {
    const char *id;
    const char *kind; /* finding kind */
};

static const struct rspec rspecs[R_COUNT] = {
    [R_DORMANT] = {"NHI-DORMANT-001", "dormant"},
    [R_NEVER_USED] = {"NHI-DORMANT-002", "dormant"},
    [R_UNUSED_CRED] = {"NHI-DORMANT-003", "unused_credential"},
    [R_REACTIVATED] = {"NHI-ACTIVE-001", "suddenly_active"},
    [R_SPIKE] = {"NHI-ACTIVE-002", "suddenly_active"},
    [R_NEW_SERVICE] = {"NHI-ACTIVE-003", "suddenly_active"},
    [R_FIRST_PRIV] = {"NHI-ACTIVE-004", "suddenly_active"},
    [R_NEW_NETWORK] = {"NHI-ACTIVE-005", "suddenly_active"},
    [R_NEW_REGION] = {"NHI-ACTIVE-006", "suddenly_active"},
    [R_NEW_UA] = {"NHI-ACTIVE-007", "suddenly_active"},
    [R_DENIED_BURST] = {"NHI-ACTIVE-008", "suddenly_active"},
    [R_PERSON_USE] = {"NHI-ACTIVE-009", "suddenly_active"},
    [R_ADMIN_NARROW] = {"NHI-PRIV-001", "over_privileged"},
    [R_UNUSED_SERVICES] = {"NHI-PRIV-002", "over_privileged"},
    [R_UNUSED_ACTIONS] = {"NHI-PRIV-003", "over_privileged"},
    [R_ROTATION] = {"NHI-HYG-001", "stale_credential"},
    [R_EXPIRED] = {"NHI-HYG-002", "credential_expired"},
    [R_EXPIRING] = {"NHI-HYG-003", "credential_expiring"},
    [R_MULTI_KEY] = {"NHI-HYG-004", "multiple_active_keys"},
    [R_NO_OWNER] = {"NHI-HYG-005", "no_owner"},
    [R_KEY_ON_COMPUTE] = {"NHI-HYG-006", "long_lived_key_on_compute"},
    [R_CONSOLE_NHI] = {"NHI-HYG-007", "nhi_console_access"},
    [R_WORKLOAD_NETWORK] = {"NHI-ACTIVE-010", "suddenly_active"},
};

struct thresholds {
    double dormant_days, grace_days, rhythm_factor;
    double unused_cred_days;
    double gap_days, recent_days;
    double baseline_days, k_mad, spike_min_events, spike_min_ratio, burst_factor;
    double learning_days;
    double denied_min, denied_share;
    double admin_max_services;
    double unused_share, min_granted_services, min_granted_actions, window_days;
    double rotation_days, warn_days, max_active_keys;
    double max_known[3]; /* network, region, user agent: above this many known values "new" means nothing */
    double min_runs_dormant, min_runs_react;
};

struct nw_detect {
    const nw_rules *rules;
    const nw_policy *policy;
    int64_t as_of, as_of_day;
    const nw_rule *r[R_COUNT];
    struct thresholds t;
    nw_arena *ar;
    json_t *candidates;
    /* per rule, shared by all its findings (json_incref): a large estate
     * has tens of thousands of findings, each would otherwise carry its own
     * copy of these texts */
    json_t *j_kind[R_COUNT], *j_rule[R_COUNT], *j_sev[R_COUNT], *j_title[R_COUNT], *j_comp[R_COUNT], *j_rec[R_COUNT];
    json_t *j_provider[4];
};

static int need(const nw_rule *rule, const char *name, double *out, nw_err *err)
{
    bool ok = false;
    double v = nw_rule_param(rule, name, &ok);
    if (!ok)
        return nw_err_set(err, NW_DETECT_E_RULES, "rule %s has no numeric parameter '%s'", rule->id, name);
    *out = v;
    return 0;
}

nw_detect *nw_detect_new(const nw_detect_opts *o, nw_err *err)
{
    nw_detect *d = calloc(1, sizeof(*d));
    if (!d) {
        nw_err_set(err, NW_DETECT_E_NOMEM, "out of memory");
        return NULL;
    }
    d->rules = o->rules;
    d->policy = o->policy;
    d->as_of = o->as_of;
    d->as_of_day = nw_time_day(o->as_of);
    d->ar = nw_arena_new(64 * 1024);
    d->candidates = json_array();
    for (int i = 0; i < R_COUNT; i++) {
        d->r[i] = nw_rules_get(o->rules, rspecs[i].id);
        if (!d->r[i]) {
            nw_err_set(err, NW_DETECT_E_RULES, "the rule set has no rule %s (%s): the detectors need it",
                       rspecs[i].id, rspecs[i].kind);
            goto out_fail;
        }
    }
    for (int i = 0; i < R_COUNT; i++) {
        const nw_rule *r = d->r[i];
        d->j_kind[i] = json_string(rspecs[i].kind);
        d->j_rule[i] = json_string(r->id);
        d->j_sev[i] = json_string(r->severity);
        d->j_title[i] = json_string(r->title);
        d->j_comp[i] = r->compliance ? json_deep_copy(r->compliance) : json_array();
        d->j_rec[i] = r->remediation ? json_string(r->remediation) : json_null();
    }
    for (int p = 0; p < 4; p++)
        d->j_provider[p] = json_string(nw_provider_name(p));
    struct thresholds *t = &d->t;
    if (need(d->r[R_DORMANT], "dormant_days", &t->dormant_days, err) ||
        need(d->r[R_DORMANT], "grace_days", &t->grace_days, err) ||
        need(d->r[R_DORMANT], "rhythm_factor", &t->rhythm_factor, err) ||
        need(d->r[R_UNUSED_CRED], "unused_days", &t->unused_cred_days, err) ||
        need(d->r[R_REACTIVATED], "gap_days", &t->gap_days, err) ||
        need(d->r[R_REACTIVATED], "recent_days", &t->recent_days, err) ||
        need(d->r[R_SPIKE], "baseline_days", &t->baseline_days, err) ||
        need(d->r[R_SPIKE], "k_mad", &t->k_mad, err) ||
        need(d->r[R_SPIKE], "min_events", &t->spike_min_events, err) ||
        need(d->r[R_SPIKE], "min_ratio", &t->spike_min_ratio, err) ||
        need(d->r[R_SPIKE], "burst_factor", &t->burst_factor, err) ||
        need(d->r[R_NEW_SERVICE], "learning_days", &t->learning_days, err) ||
        need(d->r[R_DENIED_BURST], "min_denied", &t->denied_min, err) ||
        need(d->r[R_DENIED_BURST], "min_share", &t->denied_share, err) ||
        need(d->r[R_ADMIN_NARROW], "max_used_services", &t->admin_max_services, err) ||
        need(d->r[R_UNUSED_SERVICES], "unused_share", &t->unused_share, err) ||
        need(d->r[R_UNUSED_SERVICES], "min_granted", &t->min_granted_services, err) ||
        need(d->r[R_UNUSED_SERVICES], "window_days", &t->window_days, err) ||
        need(d->r[R_UNUSED_ACTIONS], "min_granted", &t->min_granted_actions, err) ||
        need(d->r[R_ROTATION], "rotation_days", &t->rotation_days, err) ||
        need(d->r[R_EXPIRING], "warn_days", &t->warn_days, err) ||
        need(d->r[R_MULTI_KEY], "max_active", &t->max_active_keys, err) ||
        need(d->r[R_NEW_NETWORK], "max_known_values", &t->max_known[0], err) ||
        need(d->r[R_NEW_REGION], "max_known_values", &t->max_known[1], err) ||
        need(d->r[R_NEW_UA], "max_known_values", &t->max_known[2], err) ||
        need(d->r[R_DORMANT], "min_observations", &t->min_runs_dormant, err) ||
        need(d->r[R_REACTIVATED], "min_observations", &t->min_runs_react, err))
        goto out_fail;
    if (!d->ar || !d->candidates) {
        nw_err_set(err, NW_DETECT_E_NOMEM, "out of memory");
        goto out_fail;
    }
    return d;
out_fail:
    nw_detect_free(d);
    return NULL;
}

void nw_detect_free(nw_detect *d)
{
    if (!d)
        return;
    nw_arena_free(d->ar);
    json_decref(d->candidates);
    for (int i = 0; i < R_COUNT; i++) {
        json_decref(d->j_kind[i]);
        json_decref(d->j_rule[i]);
        json_decref(d->j_sev[i]);
        json_decref(d->j_title[i]);
        json_decref(d->j_comp[i]);
        json_decref(d->j_rec[i]);
    }
    for (int p = 0; p < 4; p++)
        json_decref(d->j_provider[p]);
    free(d);
}

const json_t *nw_detect_candidates(const nw_detect *d) { return d->candidates; }

const char *nw_finding_id(const char *rule, const char *identity, const char *cred, char *buf)
{
    nw_str parts[3] = {nw_str_c(rule), nw_str_c(identity), nw_str_c(cred ? cred : "")};
    uint8_t h[16];
    nw_hash128(parts, 3, h);
    snprintf(buf, 20, "f-%02x%02x%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    return buf;
}

/* ---- the identity's data, loaded once per identity ---- */

struct day {
    int64_t day, events, successes, denied, privileged, first_time;
    const char *first_id;
};
struct used {
    const char *service, *action, *first_id, *last_id;
    int64_t first, last, count, successes;
    bool privileged;
};
struct src {
    const char *kind, *value, *first_id;
    int64_t first, last, count;
};
struct cred {
    const char *id, *kind;
    int64_t first, last, events;
};
struct icred {
    const char *id, *kind;
    bool active;
    int64_t created, rotated, expires, last_used;
};
struct grant {
    const char *effect, *action, *resource, *via;
    bool not_action, conditional, admin;
};

#define DVEC(T)                                                                                      \
    struct {                                                                                         \
        T *v;                                                                                        \
        size_t n, cap;                                                                               \
    }

struct subj {
    nw_detect *d;
    const char *key, *provider, *type;
    int kind;
    const nw_ident_row *act;
    const nw_inv_identity *inv;
    const nw_policy_entry *pol;
    const char *probable_owner;
    DVEC(struct day) days;
    DVEC(struct used) used;
    DVEC(struct src) srcs;
    DVEC(struct cred) creds;
    DVEC(struct icred) icreds;
    DVEC(struct grant) grants;
    bool oom;
};

#define DPUSH(s, vec, out)                                                                           \
    do {                                                                                             \
        if ((vec).n == (vec).cap) {                                                                  \
            size_t nc_ = (vec).cap ? (vec).cap * 2 : 16;                                             \
            void *nv_ = nw_arena_alloc((s)->d->ar, nc_ * sizeof(*(vec).v));                          \
            if (!nv_) {                                                                              \
                (s)->oom = true;                                                                     \
                (out) = NULL;                                                                        \
                break;                                                                               \
            }                                                                                        \
            if ((vec).n)                                                                             \
                memcpy(nv_, (vec).v, (vec).n * sizeof(*(vec).v));                                    \
            (vec).v = nv_;                                                                           \
            (vec).cap = nc_;                                                                         \
        }                                                                                            \
        (out) = &(vec).v[(vec).n++];                                                                 \
    } while (0)

static const char *dup_(struct subj *s, const char *x)
{
    if (!x)
        return NULL;
    nw_str c = nw_arena_dup(s->d->ar, nw_str_c(x));
    return c.p ? c.p : "";
}

static int cb_day(void *ctx, const nw_day_row *r)
{
    struct subj *s = ctx;
    struct day *x;
    DPUSH(s, s->days, x);
    if (!x)
        return 1;
    *x = (struct day){r->day, r->events, r->successes, r->denied, r->privileged, r->first_time,
                      dup_(s, r->first_event_id)};
    return 0;
}

static int cb_used(void *ctx, const nw_used_row *r)
{
    struct subj *s = ctx;
    struct used *x;
    DPUSH(s, s->used, x);
    if (!x)
        return 1;
    *x = (struct used){dup_(s, r->service), dup_(s, r->action), dup_(s, r->first_event_id),
                       dup_(s, r->last_event_id), r->first_seen, r->last_seen, r->count, r->successes,
                       r->privileged};
    return 0;
}

static int cb_src(void *ctx, const nw_source_row *r)
{
    struct subj *s = ctx;
    struct src *x;
    DPUSH(s, s->srcs, x);
    if (!x)
        return 1;
    *x = (struct src){dup_(s, r->kind), dup_(s, r->value), dup_(s, r->first_event_id), r->first_seen, r->last_seen,
                      r->count};
    return 0;
}

static int cb_cred(void *ctx, const nw_cred_row *r)
{
    struct subj *s = ctx;
    struct cred *x;
    DPUSH(s, s->creds, x);
    if (!x)
        return 1;
    *x = (struct cred){dup_(s, r->cred_id), dup_(s, r->kind), r->first_seen, r->last_seen, r->events};
    return 0;
}

static int cb_icred(void *ctx, const nw_inv_cred *r)
{
    struct subj *s = ctx;
    struct icred *x;
    DPUSH(s, s->icreds, x);
    if (!x)
        return 1;
    *x = (struct icred){dup_(s, r->cred_id), dup_(s, r->kind), r->active, r->created, r->rotated, r->expires,
                        r->last_used};
    return 0;
}

static int cb_grant(void *ctx, const nw_inv_grant *r)
{
    struct subj *s = ctx;
    struct grant *x;
    DPUSH(s, s->grants, x);
    if (!x)
        return 1;
    *x = (struct grant){dup_(s, r->effect), dup_(s, r->action), dup_(s, r->resource), dup_(s, r->via),
                        r->not_action, r->conditional, r->admin};
    return 0;
}

/* ---- small helpers ---- */

static json_t *jt(int64_t us)
{
    if (us <= 0)
        return json_null();
    char b[40];
    return json_string(nw_time_fmt(us, b));
}

static json_t *jday(int64_t day)
{
    char b[16];
    return json_string(nw_day_fmt(day, b));
}

static json_t *js(const char *x) { return x && *x ? json_string(x) : json_null(); }

static json_t *finding(struct subj *s, int r, const char *cred, const char *title_extra, json_t *evidence,
                       const char *severity_override)
{
    nw_detect *d = s->d;
    const nw_rule *rule = d->r[r];
    char idb[24];
    json_t *f = json_object();
    json_object_set_new(f, "id", json_string(nw_finding_id(rule->id, s->key, cred, idb)));
    json_object_set(f, "kind", d->j_kind[r]);
    json_object_set(f, "rule", d->j_rule[r]);
    if (severity_override)
        json_object_set_new(f, "severity", json_string(severity_override));
    else
        json_object_set(f, "severity", d->j_sev[r]);
    if (title_extra) {
        char t[512];
        snprintf(t, sizeof t, "%s: %s", rule->title, title_extra);
        json_object_set_new(f, "title", json_string(t));
    } else {
        json_object_set(f, "title", d->j_title[r]);
    }
    json_object_set_new(f, "identity", json_string(s->key));
    int p = nw_provider_from_name(nw_str_c(s->provider));
    if (p > 0)
        json_object_set(f, "provider", d->j_provider[p]);
    else
        json_object_set_new(f, "provider", json_string(s->provider));
    json_object_set_new(f, "identity_type", json_string(s->type));
    if (cred)
        json_object_set_new(f, "credential", json_string(cred));
    json_object_set_new(f, "evidence", evidence);
    json_object_set(f, "compliance", d->j_comp[r]);
    json_object_set(f, "recommendation", d->j_rec[r]);
    return f;
}

/* Runs of activity: consecutive active days (gaps of at most 2 days, so a
 * weekday job is one run per week) form one run; the period is the median
 * distance between run starts. Returns the period in days, 0 when the
 * identity has fewer than two runs (continuous or single burst). */
static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double period_of(const struct day *days, size_t n, int64_t until_day, double min_runs)
{
    int64_t starts[512];
    size_t ns = 0;
    int64_t prev = INT64_MIN;
    for (size_t i = 0; i < n && days[i].day <= until_day; i++) {
        if (days[i].successes <= 0)
            continue;
        if (prev == INT64_MIN || days[i].day - prev > 2) {
            if (ns < sizeof starts / sizeof starts[0])
                starts[ns++] = days[i].day;
        }
        prev = days[i].day;
    }
    if (ns < 2 || (double)ns < min_runs)
        return 0; /* too few runs to trust a rhythm */
    int64_t gaps[511];
    for (size_t i = 1; i < ns; i++)
        gaps[i - 1] = starts[i] - starts[i - 1];
    qsort(gaps, ns - 1, sizeof(int64_t), cmp_i64);
    size_t m = ns - 1;
    return m % 2 ? (double)gaps[m / 2] : (double)(gaps[m / 2 - 1] + gaps[m / 2]) / 2.0;
}

static bool holds_access(struct subj *s, json_t *ev)
{
    /* what the inventory says wins; without inventory a seen identity is
     * taken to still hold access, and the evidence says so */
    bool known = s->inv || s->grants.n || s->icreds.n;
    if (s->inv && s->inv->disabled)
        return false;
    size_t active = 0;
    for (size_t i = 0; i < s->icreds.n; i++)
        active += s->icreds.v[i].active;
    json_object_set_new(ev, "access_confirmed_by_inventory", json_boolean(known));
    json_object_set_new(ev, "grants", json_integer((json_int_t)s->grants.n));
    json_object_set_new(ev, "active_credentials", json_integer((json_int_t)active));
    if (!known)
        return true;
    if (strcmp(s->type, "iam_user") == 0 && s->icreds.n && active == 0 && s->inv && s->inv->console != 1 &&
        s->grants.n == 0)
        return false; /* keys deactivated, no password: remediated */
    if (s->grants.n == 0 && active == 0 && s->icreds.n > 0)
        return false;
    return true;
}

static int64_t newest_grace(struct subj *s)
{
    int64_t t = 0;
    for (size_t i = 0; i < s->icreds.n; i++) {
        if (s->icreds.v[i].created > t)
            t = s->icreds.v[i].created;
        if (s->icreds.v[i].rotated > t)
            t = s->icreds.v[i].rotated;
    }
    if (s->inv && s->inv->created > t)
        t = s->inv->created;
    return t;
}

static json_t *grants_summary(struct subj *s, size_t max)
{
    json_t *a = json_array();
    for (size_t i = 0; i < s->grants.n && json_array_size(a) < max; i++) {
        const struct grant *g = &s->grants.v[i];
        if (strcmp(g->effect, "allow") != 0)
            continue;
        char b[512];
        snprintf(b, sizeof b, "%s%s%s%s", g->not_action ? "NOT " : "", g->action, g->via ? " via " : "",
                 g->via ? g->via : "");
        json_array_append_new(a, json_string(b));
    }
    return a;
}

/* ---- dormant ---- */

static void detect_dormant(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    json_t *ev = json_object();
    if (!holds_access(s, ev)) {
        json_decref(ev);
        return;
    }
    int64_t last_ok = s->act ? s->act->last_success : 0;
    if (last_ok > d->as_of) {
        /* activity after as_of: use the series up to as_of */
        last_ok = 0;
        for (size_t i = 0; i < s->days.n; i++)
            if (s->days.v[i].day <= d->as_of_day && s->days.v[i].successes > 0)
                last_ok = s->days.v[i].first_time;
    }
    int64_t grace_from = newest_grace(s);
    bool in_grace = grace_from && d->as_of - grace_from < (int64_t)(t->grace_days * NW_US_PER_DAY);
    if (!last_ok) {
        /* never seen acting: a finding only when the inventory shows access
         * it could use (first-party and ownerless entries hold none) */
        size_t active = 0;
        for (size_t i = 0; i < s->icreds.n; i++)
            active += s->icreds.v[i].active;
        size_t allows = 0;
        for (size_t i = 0; i < s->grants.n; i++)
            allows += strcmp(s->grants.v[i].effect, "allow") == 0;
        if (in_grace || (!s->act && allows == 0 && active == 0 && !(s->inv && s->inv->console == 1))) {
            json_decref(ev);
            return;
        }
        json_object_set_new(ev, "last_successful_use", json_null());
        if (s->inv && s->inv->last_used) {
            json_object_set_new(ev, "provider_reported_last_use", jt(s->inv->last_used));
            if (d->as_of - s->inv->last_used < (int64_t)(t->dormant_days * NW_US_PER_DAY)) {
                json_decref(ev);
                return;
            }
        }
        json_object_set_new(ev, "events_seen", json_integer(s->act ? s->act->events : 0));
        json_object_set_new(ev, "window_days", json_real(t->dormant_days));
        json_object_set_new(ev, "created", jt(s->inv ? s->inv->created : 0));
        json_object_set_new(ev, "granted", grants_summary(s, 20));
        json_array_append_new(out, finding(s, R_NEVER_USED, NULL, NULL, ev, NULL));
        return;
    }
    double period = period_of(s->days.v, s->days.n, d->as_of_day, t->min_runs_dormant);
    double limit = t->dormant_days;
    if (period * t->rhythm_factor > limit)
        limit = period * t->rhythm_factor;
    int64_t silent_us = d->as_of - last_ok;
    double silent_days = (double)silent_us / (double)NW_US_PER_DAY;
    if (silent_days < limit || in_grace) {
        json_decref(ev);
        return;
    }
    json_object_set_new(ev, "last_successful_use", jt(last_ok));
    json_object_set_new(ev, "last_success_event_id", js(s->act->last_success_event_id));
    json_object_set_new(ev, "last_source_ip", js(s->act->last_success_ip));
    json_object_set_new(ev, "last_action", js(s->act->last_success_action));
    json_object_set_new(ev, "silent_days", json_integer((json_int_t)floor(silent_days)));
    json_object_set_new(ev, "threshold_days", json_integer((json_int_t)ceil(limit)));
    json_object_set_new(ev, "rhythm_period_days", period > 0 ? json_real(period) : json_null());
    json_object_set_new(ev, "events_total", json_integer(s->act->events));
    json_object_set_new(ev, "granted", grants_summary(s, 20));
    json_array_append_new(out, finding(s, R_DORMANT, NULL, NULL, ev, NULL));
}

static void detect_unused_creds(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    for (size_t i = 0; i < s->icreds.n; i++) {
        const struct icred *c = &s->icreds.v[i];
        if (!c->active)
            continue;
        int64_t last = c->last_used;
        for (size_t j = 0; j < s->creds.n; j++)
            if (strcmp(s->creds.v[j].id, c->id) == 0 && s->creds.v[j].last > last)
                last = s->creds.v[j].last;
        int64_t since = last ? last : (c->rotated > c->created ? c->rotated : c->created);
        if (!since || d->as_of - since < (int64_t)(d->t.unused_cred_days * NW_US_PER_DAY))
            continue;
        json_t *ev = json_object();
        json_object_set_new(ev, "credential_kind", js(c->kind));
        json_object_set_new(ev, "created", jt(c->created));
        json_object_set_new(ev, "last_used", jt(last));
        json_object_set_new(ev, "unused_days", json_integer((d->as_of - since) / NW_US_PER_DAY));
        json_object_set_new(ev, "threshold_days", json_real(d->t.unused_cred_days));
        json_array_append_new(out, finding(s, R_UNUSED_CRED, c->id, c->id, ev, NULL));
    }
}

/* ---- suddenly active ---- */

static double median(double *v, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 1; i < n; i++) { /* small n: insertion sort */
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool weekend(int64_t day)
{
    int wd = (int)(((day % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday: 0 = Sunday */
    return wd == 0 || wd == 6;
}

static void detect_reactivation(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    int64_t recent_from = d->as_of_day - (int64_t)t->recent_days + 1;
    /* the first active day in the recent window, and the active day before it */
    size_t i = 0;
    while (i < s->days.n && s->days.v[i].day < recent_from)
        i++;
    if (i == s->days.n || s->days.v[i].day > d->as_of_day || i == 0)
        return;
    const struct day *first = &s->days.v[i], *prev = &s->days.v[i - 1];
    int64_t gap = first->day - prev->day;
    double period = period_of(s->days.v, i, prev->day, t->min_runs_react);
    if ((double)gap < t->gap_days || (double)gap <= period * t->rhythm_factor)
        return;
    int64_t since = 0, priv = 0;
    for (size_t k = i; k < s->days.n && s->days.v[k].day <= d->as_of_day; k++) {
        since += s->days.v[k].events;
        priv += s->days.v[k].privileged;
    }
    json_t *ev = json_object();
    json_object_set_new(ev, "silent_from_day", jday(prev->day));
    json_object_set_new(ev, "silent_days", json_integer(gap - 1));
    json_object_set_new(ev, "reactivated_at", jt(first->first_time));
    json_object_set_new(ev, "first_event_id", js(first->first_id));
    json_object_set_new(ev, "events_since", json_integer(since));
    json_object_set_new(ev, "privileged_actions_since", json_integer(priv));
    json_object_set_new(ev, "rhythm_period_days", period > 0 ? json_real(period) : json_null());
    json_object_set_new(ev, "threshold_days", json_real(t->gap_days));
    json_array_append_new(out, finding(s, R_REACTIVATED, NULL, NULL, ev, priv ? "critical" : NULL));
}

static void detect_spike(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    int64_t recent_from = d->as_of_day - (int64_t)t->recent_days + 1;
    int64_t base_from = recent_from - (int64_t)t->baseline_days;
    /* history before the recent window: daily counts incl. zero days since first activity */
    int64_t first_day = s->days.n ? s->days.v[0].day : 0;
    if (!s->days.n || first_day > base_from)
        return; /* not enough history for a baseline */
    double hist_max = 0;
    for (size_t i = 0; i < s->days.n && s->days.v[i].day < recent_from; i++)
        if ((double)s->days.v[i].events > hist_max)
            hist_max = (double)s->days.v[i].events;
    const struct day *worst = NULL;
    double worst_ratio = 0, worst_med = 0, worst_mad = 0;
    for (size_t i = 0; i < s->days.n; i++) {
        const struct day *x = &s->days.v[i];
        if (x->day < recent_from || x->day > d->as_of_day)
            continue;
        if ((double)x->events < t->spike_min_events)
            continue;
        /* weekday-aware baseline: the same class of day (weekday / weekend) */
        double vals[128];
        size_t nv = 0;
        size_t k = 0;
        for (int64_t day = base_from; day < recent_from && nv < 128; day++) {
            if (weekend(day) != weekend(x->day))
                continue;
            while (k < s->days.n && s->days.v[k].day < day)
                k++;
            vals[nv++] = (k < s->days.n && s->days.v[k].day == day) ? (double)s->days.v[k].events : 0;
        }
        if (nv < 3)
            continue;
        double med = median(vals, nv);
        double dev[128];
        for (size_t j = 0; j < nv; j++)
            dev[j] = fabs(vals[j] - med);
        double mad = median(dev, nv);
        double ratio = (double)x->events / (med > 1 ? med : 1);
        if (ratio < t->spike_min_ratio || (double)x->events <= med + t->k_mad * (mad > 1 ? mad : 1))
            continue;
        /* regular bursts: history already holds days of similar size */
        if ((double)x->events <= t->burst_factor * hist_max)
            continue;
        if (ratio > worst_ratio) {
            worst = x;
            worst_ratio = ratio;
            worst_med = med;
            worst_mad = mad;
        }
    }
    if (!worst)
        return;
    json_t *ev = json_object();
    json_object_set_new(ev, "day", jday(worst->day));
    json_object_set_new(ev, "events", json_integer(worst->events));
    json_object_set_new(ev, "baseline_median", json_real(worst_med));
    json_object_set_new(ev, "baseline_mad", json_real(worst_mad));
    json_object_set_new(ev, "ratio", json_real(floor(worst_ratio * 10) / 10));
    json_object_set_new(ev, "previous_max_day", json_real(hist_max));
    json_object_set_new(ev, "first_event_id", js(worst->first_id));
    json_object_set_new(ev, "baseline_days", json_real(t->baseline_days));
    json_array_append_new(out, finding(s, R_SPIKE, NULL, NULL, ev, NULL));
}

static bool workload_type(const char *type)
{
    static const char *const w[] = {"iam_role", "service_account", "managed_identity", "service_principal",
                                    "k8s_service_account", "workload_identity"};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (strcmp(type, w[i]) == 0)
            return true;
    return false;
}

/* New service / network / region / user agent / first privileged action:
 * first seen inside the recent window, on an identity active for longer
 * than the learning period. One finding per rule, listing every new value. */
static void detect_new_behaviour(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    if (!s->act || !s->act->first_seen)
        return;
    int64_t recent_from_us = (d->as_of_day - (int64_t)t->recent_days + 1) * NW_US_PER_DAY;
    if (s->act->first_seen > recent_from_us - (int64_t)(t->learning_days * NW_US_PER_DAY))
        return; /* still learning this identity */

    /* services: an action's service is new when no action of that service was used before */
    json_t *svc = json_array();
    for (size_t i = 0; i < s->used.n; i++) {
        const struct used *u = &s->used.v[i];
        if (!u->service || !*u->service || u->first < recent_from_us || u->first > d->as_of)
            continue;
        bool older = false, listed = false;
        for (size_t j = 0; j < s->used.n; j++)
            if (j != i && s->used.v[j].service && strcmp(s->used.v[j].service, u->service) == 0 &&
                s->used.v[j].first < recent_from_us)
                older = true;
        size_t k;
        json_t *e;
        json_array_foreach(svc, k, e) if (strcmp(json_string_value(json_object_get(e, "service")), u->service) == 0)
        {
            listed = true;
            if (u->first < json_integer_value(json_object_get(e, "_t"))) {
                json_object_set_new(e, "first_seen", jt(u->first));
                json_object_set_new(e, "_t", json_integer(u->first));
                json_object_set_new(e, "first_action", js(u->action));
                json_object_set_new(e, "first_event_id", js(u->first_id));
            }
        }
        if (older || listed)
            continue;
        json_t *e2 = json_object();
        json_object_set_new(e2, "service", js(u->service));
        json_object_set_new(e2, "first_seen", jt(u->first));
        json_object_set_new(e2, "_t", json_integer(u->first));
        json_object_set_new(e2, "first_action", js(u->action));
        json_object_set_new(e2, "first_event_id", js(u->first_id));
        json_array_append_new(svc, e2);
    }
    size_t k;
    json_t *e;
    json_array_foreach(svc, k, e) json_object_del(e, "_t");
    if (json_array_size(svc)) {
        json_t *ev = json_object();
        json_object_set_new(ev, "new_services", svc);
        json_object_set_new(ev, "learning_days", json_real(t->learning_days));
        json_object_set_new(ev, "active_since", jt(s->act->first_seen));
        json_array_append_new(out, finding(s, R_NEW_SERVICE, NULL, NULL, ev, NULL));
    } else {
        json_decref(svc);
    }

    /* first privileged action */
    const struct used *fp = NULL;
    bool earlier_priv = false;
    for (size_t i = 0; i < s->used.n; i++) {
        const struct used *u = &s->used.v[i];
        if (!u->privileged)
            continue;
        if (u->first < recent_from_us)
            earlier_priv = true;
        else if (u->first <= d->as_of && (!fp || u->first < fp->first))
            fp = u;
    }
    if (fp && !earlier_priv) {
        json_t *ev = json_object();
        json_object_set_new(ev, "action", js(fp->action));
        json_object_set_new(ev, "first_seen", jt(fp->first));
        json_object_set_new(ev, "first_event_id", js(fp->first_id));
        json_object_set_new(ev, "count", json_integer(fp->count));
        json_object_set_new(ev, "active_since", jt(s->act->first_seen));
        json_array_append_new(out, finding(s, R_FIRST_PRIV, NULL, fp->action, ev, NULL));
    }

    /* networks, regions, user-agent families */
    static const struct {
        const char *kind;
        int rule;
        const char *field;
    } sk[] = {{"net", R_NEW_NETWORK, "new_networks"}, {"region", R_NEW_REGION, "new_regions"},
              {"ua", R_NEW_UA, "new_user_agent_families"}};
    for (size_t q = 0; q < sizeof sk / sizeof sk[0]; q++) {
        json_t *vals = json_array();
        size_t known = 0;
        for (size_t i = 0; i < s->srcs.n; i++) {
            const struct src *x = &s->srcs.v[i];
            if (strcmp(x->kind, sk[q].kind) != 0)
                continue;
            if (x->first < recent_from_us) {
                known++;
                continue;
            }
            if (x->first > d->as_of)
                continue;
            json_t *o = json_object();
            json_object_set_new(o, "value", js(x->value));
            json_object_set_new(o, "first_seen", jt(x->first));
            json_object_set_new(o, "first_event_id", js(x->first_id));
            json_object_set_new(o, "events", json_integer(x->count));
            json_array_append_new(vals, o);
        }
        /* an identity that already spreads over many values (CI runners on
         * random addresses, a multi-region job) makes "new" meaningless */
        if (json_array_size(vals) && known > 0 && (double)known <= t->max_known[q]) {
            json_t *ev = json_object();
            json_object_set_new(ev, sk[q].field, vals);
            json_object_set_new(ev, "known_values_before", json_integer((json_int_t)known));
            json_object_set_new(ev, "max_known_values", json_real(t->max_known[q]));
            json_object_set_new(ev, "learning_days", json_real(t->learning_days));
            int rule = sk[q].rule;
            if (rule == R_NEW_NETWORK && workload_type(s->type))
                rule = R_WORKLOAD_NETWORK; /* a workload's session credentials away from where it runs */
            json_array_append_new(out, finding(s, rule, NULL, NULL, ev, NULL));
        } else {
            json_decref(vals);
        }
    }
}

static void detect_denied_burst(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    int64_t recent_from = d->as_of_day - (int64_t)t->recent_days + 1;
    const struct day *worst = NULL;
    for (size_t i = 0; i < s->days.n; i++) {
        const struct day *x = &s->days.v[i];
        if (x->day < recent_from || x->day > d->as_of_day)
            continue;
        if ((double)x->denied < t->denied_min || (double)x->denied < t->denied_share * (double)x->events)
            continue;
        if (!worst || x->denied > worst->denied)
            worst = x;
    }
    if (!worst)
        return;
    json_t *ev = json_object();
    json_object_set_new(ev, "day", jday(worst->day));
    json_object_set_new(ev, "denied", json_integer(worst->denied));
    json_object_set_new(ev, "events", json_integer(worst->events));
    json_object_set_new(ev, "first_event_id", js(worst->first_id));
    json_object_set_new(ev, "min_denied", json_real(t->denied_min));
    json_array_append_new(out, finding(s, R_DENIED_BURST, NULL, NULL, ev, NULL));
}

static void detect_person_use(struct subj *s, json_t *out)
{
    if (!s->act || s->act->human_events <= 0)
        return;
    const struct src *browser = NULL;
    for (size_t i = 0; i < s->srcs.n; i++)
        if (strcmp(s->srcs.v[i].kind, "ua") == 0 && strcmp(s->srcs.v[i].value, "browser") == 0)
            browser = &s->srcs.v[i];
    const struct used *console = NULL;
    for (size_t i = 0; i < s->used.n; i++)
        if (strstr(s->used.v[i].action, "ConsoleLogin"))
            console = &s->used.v[i];
    json_t *ev = json_object();
    json_object_set_new(ev, "interactive_events", json_integer(s->act->human_events));
    json_object_set_new(ev, "programmatic_events", json_integer(s->act->machine_events));
    if (browser) {
        json_object_set_new(ev, "browser_first_seen", jt(browser->first));
        json_object_set_new(ev, "browser_first_event_id", js(browser->first_id));
    }
    if (console) {
        json_object_set_new(ev, "console_sign_in_first", jt(console->first));
        json_object_set_new(ev, "console_sign_in_event_id", js(console->first_id));
    }
    json_array_append_new(out, finding(s, R_PERSON_USE, NULL, NULL, ev, NULL));
}

/* ---- over-privileged ---- */

struct svcset {
    char v[256][96];
    size_t n;
};

static void svc_add(struct svcset *ss, const char *svc)
{
    for (size_t i = 0; i < ss->n; i++)
        if (strcasecmp(ss->v[i], svc) == 0)
            return;
    if (ss->n < 256)
        snprintf(ss->v[ss->n++], 96, "%s", svc);
}

static bool svc_has(const struct svcset *ss, const char *svc)
{
    for (size_t i = 0; i < ss->n; i++)
        if (strcasecmp(ss->v[i], svc) == 0)
            return true;
    return false;
}

/* The service of a granted pattern or used action, per provider. */
static void service_of(const char *provider, const char *action, char *out, size_t cap)
{
    const char *sep = strcmp(provider, "azure") == 0 ? "/" : ":";
    if (strcmp(provider, "gcp") == 0) {
        /* permissions are service.resource.verb; used actions are host/method */
        const char *slash = strchr(action, '/');
        if (slash) {
            snprintf(out, cap, "%.*s", (int)(slash - action), action);
            /* storage.googleapis.com -> storage */
            char *dot = strchr(out, '.');
            if (dot)
                *dot = '\0';
            return;
        }
        sep = ".";
    }
    const char *p = strstr(action, sep);
    if (!p) {
        snprintf(out, cap, "%s", action);
        return;
    }
    snprintf(out, cap, "%.*s", (int)(p - action), action);
}

/* Used IAM actions of the identity (AWS: through the action map). */
static size_t used_iam_actions(struct subj *s, char (*out)[128], size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->used.n && n < max; i++) {
        const struct used *u = &s->used.v[i];
        if (u->successes <= 0)
            continue;
        /* granted versus used over the observation window */
        if ((double)(s->d->as_of - u->last) > s->d->t.window_days * (double)NW_US_PER_DAY)
            continue;
        if (strcmp(s->provider, "aws") == 0) {
            const char *colon = strchr(u->action, ':');
            if (!colon)
                continue;
            char m[4][128];
            size_t k = nw_rules_aws_actions(s->d->rules, nw_str_mk(u->action, (size_t)(colon - u->action)),
                                            nw_str_c(colon + 1), m, 4);
            for (size_t j = 0; j < k && n < max; j++)
                snprintf(out[n++], 128, "%.127s", m[j]);
        } else {
            snprintf(out[n++], 128, "%.127s", u->action);
        }
    }
    return n;
}

struct role_ctx {
    struct svcset *svcs;
    const char *provider;
    const nw_rules *rules;
    bool all;
};

/* Role boilerplate that says nothing about which services a role is for:
 * reads everywhere, support tickets, deployments, alert rules, health. */
static bool ancillary(const char *provider, const char *action)
{
    static const char *const az[] = {"Microsoft.Support/",        "Microsoft.Resources/",
                                     "Microsoft.Insights/",       "Microsoft.ResourceHealth/",
                                     "Microsoft.Authorization/*/read", "Microsoft.Features/"};
    size_t n = strlen(action);
    if (n >= 5 && strcasecmp(action + n - 5, "/read") == 0)
        return true;
    if (strcmp(provider, "azure") != 0)
        return false;
    for (size_t i = 0; i < sizeof az / sizeof az[0]; i++)
        if (strncasecmp(action, az[i], strlen(az[i])) == 0)
            return true;
    return false;
}

static void role_action_cb(void *ctx, const char *action, bool not_action)
{
    struct role_ctx *rc = ctx;
    if (not_action)
        return;
    if (strcmp(action, "*") == 0) {
        rc->all = true;
        return;
    }
    if (ancillary(rc->provider, action))
        return;
    char svc[96];
    service_of(rc->provider, action, svc, sizeof svc);
    if (strchr(svc, '*'))
        rc->all = true;
    else if (rc->svcs)
        svc_add(rc->svcs, svc);
}

static void detect_over_privileged(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    size_t allows = 0, unknown_roles = 0;
    bool admin = false, all_services = false;
    struct svcset *granted = calloc(1, sizeof(*granted)), *usedsv = calloc(1, sizeof(*usedsv));
    char (*used)[128] = calloc(512, 128);
    if (!granted || !usedsv || !used)
        goto out;
    for (size_t i = 0; i < s->grants.n; i++) {
        const struct grant *g = &s->grants.v[i];
        if (strcmp(g->effect, "allow") != 0)
            continue;
        allows++;
        admin |= g->admin;
        if (g->not_action || strcmp(g->action, "*") == 0 || strcmp(g->action, "*:*") == 0) {
            all_services = true;
            continue;
        }
        if (strcmp(s->provider, "aws") == 0) {
            char svc[96];
            service_of("aws", g->action, svc, sizeof svc);
            if (strchr(svc, '*'))
                all_services = true;
            else
                svc_add(granted, svc);
        } else {
            /* roles: expand through the rule set's role table */
            struct role_ctx rc = {granted, s->provider, d->rules, false};
            size_t k = nw_rules_role_actions(d->rules, s->provider, g->action, role_action_cb, &rc);
            if (rc.all)
                all_services = true;
            else if (k == 0)
                unknown_roles++; /* a role we have no definition of: its services are not known */
        }
    }
    if (!allows)
        goto out;
    size_t nused = used_iam_actions(s, used, 512);
    for (size_t i = 0; i < nused; i++) {
        char svc[96];
        service_of(s->provider, used[i], svc, sizeof svc);
        svc_add(usedsv, svc);
    }
    /* admin / wildcard with narrow use */
    if (admin || all_services) {
        if ((double)usedsv->n <= t->admin_max_services) {
            json_t *ev = json_object();
            json_object_set_new(ev, "granted", grants_summary(s, 20));
            json_object_set_new(ev, "granted_services", json_string(all_services ? "*" : "admin role"));
            json_t *us = json_array();
            for (size_t i = 0; i < usedsv->n; i++)
                json_array_append_new(us, json_string(usedsv->v[i]));
            json_object_set_new(ev, "used_services", us);
            json_object_set_new(ev, "window_days", json_real(t->window_days));
            json_object_set_new(ev, "events", json_integer(s->act ? s->act->events : 0));
            if (strcmp(s->provider, "aws") == 0) {
                /* a policy document of the actions actually used */
                json_t *doc = json_object(), *st = json_object(), *acts = json_array();
                for (size_t i = 0; i < nused; i++) {
                    bool dupe = false;
                    for (size_t j = 0; j < i; j++)
                        if (strcasecmp(used[i], used[j]) == 0)
                            dupe = true;
                    if (!dupe)
                        json_array_append_new(acts, json_string(used[i]));
                }
                json_object_set_new(doc, "Version", json_string("2012-10-17"));
                json_object_set_new(st, "Effect", json_string("Allow"));
                json_object_set_new(st, "Action", acts);
                json_object_set_new(st, "Resource", json_string("*"));
                json_object_set_new(doc, "Statement", json_pack("[o]", st));
                json_object_set_new(ev, "suggested_policy", doc);
            }
            json_array_append_new(out, finding(s, R_ADMIN_NARROW, NULL, NULL, ev,
                                               usedsv->n == 0 ? "critical" : NULL));
        }
        goto out;
    }
    /* service level: share of granted services never used (AWS policies
     * name services); Azure and GCP grant roles, and a built-in role spans
     * several providers by design: there the unit is the role, used when
     * any of its services was used */
    if (strcmp(s->provider, "aws") == 0 && (double)granted->n >= t->min_granted_services) {
        size_t unused = 0;
        json_t *un = json_array(), *us = json_array();
        for (size_t i = 0; i < granted->n; i++) {
            if (svc_has(usedsv, granted->v[i])) {
                json_array_append_new(us, json_string(granted->v[i]));
            } else {
                unused++;
                json_array_append_new(un, json_string(granted->v[i]));
            }
        }
        double share = (double)unused / (double)granted->n;
        if (share >= t->unused_share) {
            json_t *ev = json_object();
            json_object_set_new(ev, "granted_services", json_integer((json_int_t)granted->n));
            json_object_set_new(ev, "used_services", us);
            json_object_set_new(ev, "unused_services", un);
            json_object_set_new(ev, "unused_share", json_real(floor(share * 100) / 100));
            json_object_set_new(ev, "window_days", json_real(t->window_days));
            json_array_append_new(out, finding(s, R_UNUSED_SERVICES, NULL, NULL, ev, NULL));
        } else {
            json_decref(un);
            json_decref(us);
        }
    } else if (strcmp(s->provider, "aws") != 0) {
        json_t *ru = json_array(), *rn = json_array(), *ro = json_array(), *rk = json_array();
        for (size_t i = 0; i < s->grants.n; i++) {
            const struct grant *g = &s->grants.v[i];
            if (strcmp(g->effect, "allow") != 0 || g->admin)
                continue;
            struct role_ctx rc = {NULL, s->provider, d->rules, false};
            struct svcset *rs = calloc(1, sizeof(*rs));
            if (!rs)
                break;
            rc.svcs = rs;
            size_t k = nw_rules_role_actions(d->rules, s->provider, g->action, role_action_cb, &rc);
            size_t kd = nw_rules_role_data_actions(d->rules, s->provider, g->action, NULL, NULL);
            json_t *name = json_string(g->action);
            if (k == 0 && kd == 0)
                json_array_append_new(rk, name); /* no definition: cannot say */
            else if (rs->n == 0 && !rc.all)
                json_array_append_new(ro, name); /* data-plane only: not in the audit log */
            else {
                bool hit = rc.all && usedsv->n > 0;
                for (size_t j = 0; j < rs->n && !hit; j++)
                    hit = svc_has(usedsv, rs->v[j]);
                json_array_append_new(hit ? ru : rn, name);
            }
            free(rs);
        }
        size_t counted = json_array_size(ru) + json_array_size(rn);
        double share = counted ? (double)json_array_size(rn) / (double)counted : 0;
        if ((double)counted >= t->min_granted_services && share >= t->unused_share) {
            json_t *ev = json_object();
            json_object_set_new(ev, "granted_roles", json_integer((json_int_t)counted));
            json_object_set_new(ev, "used_roles", ru);
            json_object_set_new(ev, "unused_roles", rn);
            json_object_set_new(ev, "unobservable_roles", ro);
            json_object_set_new(ev, "roles_without_definition", rk);
            json_t *us = json_array();
            for (size_t i = 0; i < usedsv->n; i++)
                json_array_append_new(us, json_string(usedsv->v[i]));
            json_object_set_new(ev, "used_services", us);
            json_object_set_new(ev, "unused_share", json_real(floor(share * 100) / 100));
            json_object_set_new(ev, "window_days", json_real(t->window_days));
            json_array_append_new(out, finding(s, R_UNUSED_SERVICES, NULL, NULL, ev, NULL));
        } else {
            json_decref(ru);
            json_decref(rn);
            json_decref(ro);
            json_decref(rk);
        }
    }
    /* action level, where grants list actions (AWS) */
    if (strcmp(s->provider, "aws") == 0) {
        json_t *unused = json_array(), *unobs = json_array(), *usedl = json_array();
        size_t listed = 0;
        for (size_t i = 0; i < s->grants.n; i++) {
            const struct grant *g = &s->grants.v[i];
            if (strcmp(g->effect, "allow") != 0 || g->not_action)
                continue;
            listed++;
            bool hit = false;
            for (size_t j = 0; j < nused && !hit; j++)
                hit = nw_action_match(g->action, nw_str_c(used[j]));
            if (hit)
                json_array_append_new(usedl, json_string(g->action));
            else if (nw_rules_unobservable(d->rules, "aws", nw_str_c(g->action)))
                json_array_append_new(unobs, json_string(g->action));
            else
                json_array_append_new(unused, json_string(g->action));
        }
        size_t nun = json_array_size(unused);
        if ((double)listed >= t->min_granted_actions && listed &&
            (double)nun / (double)listed >= t->unused_share) {
            json_t *ev = json_object();
            json_object_set_new(ev, "granted_actions", json_integer((json_int_t)listed));
            json_object_set_new(ev, "used", usedl);
            json_object_set_new(ev, "unused", unused);
            json_object_set_new(ev, "unobservable", unobs);
            json_object_set_new(ev, "window_days", json_real(t->window_days));
            json_array_append_new(out, finding(s, R_UNUSED_ACTIONS, NULL, NULL, ev, NULL));
        } else {
            json_decref(unused);
            json_decref(unobs);
            json_decref(usedl);
        }
    }
out:
    free(granted);
    free(usedsv);
    free(used);
}

/* ---- hygiene ---- */

static void detect_hygiene(struct subj *s, json_t *out)
{
    nw_detect *d = s->d;
    const struct thresholds *t = &d->t;
    double rot = s->pol && s->pol->rotation_days > 0 ? s->pol->rotation_days : t->rotation_days;
    size_t active = 0;
    for (size_t i = 0; i < s->icreds.n; i++) {
        const struct icred *c = &s->icreds.v[i];
        if (!c->active)
            continue;
        active++;
        int64_t since = c->rotated > c->created ? c->rotated : c->created;
        if (since && (double)(d->as_of - since) > rot * (double)NW_US_PER_DAY) {
            json_t *ev = json_object();
            json_object_set_new(ev, "credential_kind", js(c->kind));
            json_object_set_new(ev, "created_or_rotated", jt(since));
            json_object_set_new(ev, "age_days", json_integer((d->as_of - since) / NW_US_PER_DAY));
            json_object_set_new(ev, "rotation_days", json_real(rot));
            json_object_set_new(ev, "rotation_from_policy", json_boolean(s->pol && s->pol->rotation_days > 0));
            json_array_append_new(out, finding(s, R_ROTATION, c->id, c->id, ev, NULL));
        }
        if (c->expires && c->expires <= d->as_of) {
            json_t *ev = json_object();
            json_object_set_new(ev, "expired", jt(c->expires));
            json_object_set_new(ev, "credential_kind", js(c->kind));
            json_array_append_new(out, finding(s, R_EXPIRED, c->id, c->id, ev, NULL));
        } else if (c->expires && (double)(c->expires - d->as_of) <= t->warn_days * (double)NW_US_PER_DAY) {
            json_t *ev = json_object();
            json_object_set_new(ev, "expires", jt(c->expires));
            json_object_set_new(ev, "days_left", json_integer((c->expires - d->as_of) / NW_US_PER_DAY));
            json_object_set_new(ev, "credential_kind", js(c->kind));
            json_array_append_new(out, finding(s, R_EXPIRING, c->id, c->id, ev, NULL));
        }
    }
    if (strcmp(s->provider, "aws") == 0 && (double)active > t->max_active_keys) {
        json_t *ev = json_object(), *ids = json_array();
        for (size_t i = 0; i < s->icreds.n; i++)
            if (s->icreds.v[i].active)
                json_array_append_new(ids, json_string(s->icreds.v[i].id));
        json_object_set_new(ev, "active_keys", ids);
        json_object_set_new(ev, "max_active", json_real(t->max_active_keys));
        json_array_append_new(out, finding(s, R_MULTI_KEY, NULL, NULL, ev, NULL));
    }
    if (s->pol && s->pol->expires && s->pol->expires <= d->as_of) {
        json_t *ev = json_object();
        json_object_set_new(ev, "identity_expired", jt(s->pol->expires));
        json_object_set_new(ev, "policy_entry", json_integer(s->pol->index));
        json_array_append_new(out, finding(s, R_EXPIRED, NULL, "identity past its expiry", ev, NULL));
    }
    if (!s->pol || !s->pol->owner) {
        json_t *ev = json_object();
        json_object_set_new(ev, "policy_entry", s->pol ? json_integer(s->pol->index) : json_null());
        json_object_set_new(ev, "probable_owner", js(s->probable_owner));
        json_array_append_new(out, finding(s, R_NO_OWNER, NULL, NULL, ev, NULL));
    }
    /* long-lived user keys used from compute */
    if (strcmp(s->type, "iam_user") == 0) {
        const struct cred *akia = NULL;
        for (size_t i = 0; i < s->creds.n; i++)
            if (strcmp(s->creds.v[i].kind, "aws_long_term") == 0)
                akia = &s->creds.v[i];
        const struct src *compute = NULL;
        for (size_t i = 0; i < s->srcs.n && akia; i++) {
            const struct src *x = &s->srcs.v[i];
            if ((strcmp(x->kind, "net") == 0 && strstr(x->value, ".amazonaws.com")) ||
                (strcmp(x->kind, "ua") == 0 && (strstr(x->value, "lambda") || strstr(x->value, "ec2"))))
                compute = x;
        }
        if (akia && compute) {
            json_t *ev = json_object();
            json_object_set_new(ev, "access_key", js(akia->id));
            json_object_set_new(ev, "compute_source", js(compute->value));
            json_object_set_new(ev, "first_seen", jt(compute->first));
            json_object_set_new(ev, "first_event_id", js(compute->first_id));
            json_array_append_new(out, finding(s, R_KEY_ON_COMPUTE, akia->id, NULL, ev, NULL));
        }
    }
    if (s->inv && s->inv->console == 1) {
        json_t *ev = json_object();
        json_object_set_new(ev, "console_access", json_true());
        json_object_set_new(ev, "mfa", s->inv->mfa < 0 ? json_null() : json_boolean(s->inv->mfa == 1));
        json_array_append_new(out, finding(s, R_CONSOLE_NHI, NULL, NULL, ev, NULL));
    }
}

/* ---- per identity ---- */

static const char *worst_severity(json_t *fs, size_t from)
{
    int best = -1;
    const char *sev = "info";
    for (size_t i = from; i < json_array_size(fs); i++) {
        const char *x = json_string_value(json_object_get(json_array_get(fs, i), "severity"));
        int r = nw_severity_rank(x);
        if (r > best) {
            best = r;
            sev = x;
        }
    }
    return sev;
}

int nw_detect_identity(nw_detect *d, const nw_detect_subject *in, json_t *findings, int *kind_out, nw_err *err)
{
    struct subj s;
    memset(&s, 0, sizeof s);
    s.d = d;
    s.act = in->act;
    s.inv = in->inv;
    s.probable_owner = in->probable_owner;
    s.key = in->act ? in->act->key : in->inv->key;
    s.provider = in->act ? in->act->provider : in->inv->provider;
    s.type = in->act ? in->act->type : (in->inv->type ? in->inv->type : "unknown");
    if (in->act) {
        s.kind = nw_store_kind(s.type, s.key, in->act->human_events, in->act->machine_events);
    } else {
        int k = in->inv->kind ? nw_kind_from_name(nw_str_c(in->inv->kind)) : -1;
        s.kind = k >= 0 ? k : nw_store_kind(s.type, s.key, 0, 0);
    }
    if (in->inv && in->inv->console == 1 && strcmp(s.type, "iam_user") == 0 && in->inv->mfa == 1 &&
        (!in->act || in->act->human_events > 0))
        s.kind = NW_KIND_HUMAN; /* a console user with MFA who signs in is a person */
    *kind_out = s.kind;
    if (s.kind != NW_KIND_NON_HUMAN)
        return 0; /* humans (and unknowns) are inventoried, never reported as NHI findings */
    s.pol = d->policy ? nw_policy_match(d->policy, s.key) : NULL;
    nw_arena_reset(d->ar);
    int rc = 0;
    if (in->act) {
        int64_t id = in->act->id;
        if ((rc = nw_store_each_day(in->act_st, id, cb_day, &s, err)) ||
            (rc = nw_store_each_used(in->act_st, id, cb_used, &s, err)) ||
            (rc = nw_store_each_source(in->act_st, id, cb_src, &s, err)) ||
            (rc = nw_store_each_credential(in->act_st, id, cb_cred, &s, err)))
            goto out;
    }
    if (in->inv_st) {
        if ((rc = nw_inventory_each_credential(in->inv_st, s.key, cb_icred, &s, err)) ||
            (rc = nw_inventory_each_grant(in->inv_st, s.key, cb_grant, &s, err)))
            goto out;
    }
    if (s.oom) {
        rc = nw_err_set(err, NW_DETECT_E_NOMEM, "out of memory");
        goto out;
    }
    size_t before = json_array_size(findings);
    detect_dormant(&s, findings);
    detect_unused_creds(&s, findings);
    if (in->act) {
        detect_reactivation(&s, findings);
        detect_spike(&s, findings);
        detect_new_behaviour(&s, findings);
        detect_denied_burst(&s, findings);
        if (s.act->human_events > 0)
            detect_person_use(&s, findings);
    }
    detect_over_privileged(&s, findings);
    detect_hygiene(&s, findings);
    size_t added = json_array_size(findings) - before;

    /* deprovisioning candidates: dormant identities and unused credentials */
    json_t *reasons = json_array();
    double conf = 0;
    for (size_t i = before; i < json_array_size(findings); i++) {
        json_t *f = json_array_get(findings, i);
        const char *k = json_string_value(json_object_get(f, "kind"));
        if (strcmp(k, "dormant") == 0 || strcmp(k, "unused_credential") == 0) {
            json_array_append_new(reasons, json_string(json_string_value(json_object_get(f, "rule"))));
            json_t *acc = json_object_get(json_object_get(f, "evidence"), "access_confirmed_by_inventory");
            double c = json_is_true(acc) ? 0.9 : 0.6;
            if (c > conf)
                conf = c;
        }
    }
    if (json_array_size(reasons)) {
        json_t *c = json_object();
        json_object_set_new(c, "identity", json_string(s.key));
        json_object_set_new(c, "provider", json_string(s.provider));
        json_object_set_new(c, "type", json_string(s.type));
        json_object_set_new(c, "reasons", reasons);
        json_object_set_new(c, "last_seen", jt(s.act ? s.act->last_seen : 0));
        json_object_set_new(c, "last_source", js(s.act ? s.act->last_ip : NULL));
        json_object_set_new(c, "owner", js(s.pol && s.pol->owner ? s.pol->owner : NULL));
        json_object_set_new(c, "probable_owner", js(s.probable_owner));
        json_object_set_new(c, "grants", grants_summary(&s, 20));
        json_object_set_new(c, "confidence", json_real(conf));
        json_object_set_new(c, "severity", json_string(worst_severity(findings, before)));
        json_array_append_new(d->candidates, c);
    } else {
        json_decref(reasons);
    }
    rc = (int)added;
out:
    return rc;
}
