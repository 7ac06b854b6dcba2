/* watch.c - quarantined identities after a remediation. See watch.h. */
#include "watch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../analyze/detect.h"
#include "../analyze/inventory.h"
#include "../core/nw_time.h"
#include "remediation.h"

#define MAX_FILE (64LL * 1024 * 1024)

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int add_entry(json_t *out, const char *key, const char *when, long line, const char *path, nw_err *err)
{
    int64_t us;
    if (!key || !*key)
        return nw_err_set(err, NW_WATCH_E_PARSE, "'%s' line %ld: no identity", path, line);
    if (!when || nw_time_parse(nw_str_c(when), &us))
        return nw_err_set(err, NW_WATCH_E_PARSE, "'%s' line %ld: disabled_at '%s' is not an RFC 3339 time", path, line,
                          when ? when : "");
    char b[40];
    json_t *e = json_object();
    json_object_set_new(e, "identity", json_string(key));
    json_object_set_new(e, "disabled_at", json_string(nw_time_fmt(us, b)));
    json_object_set_new(e, "line", json_integer(line));
    json_array_append_new(out, e);
    return 0;
}

/* One CSV record from p (RFC 4180 quoting), fields into f[] (pointers into
 * the modified buffer). Returns the number of fields; *next after the
 * record; *lines the physical lines it used. */
static size_t csv_record(char *p, char **next, char **f, size_t maxf, long *lines)
{
    size_t n = 0;
    char *w = p;
    *lines = 1;
    for (;;) {
        char *start = w;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p)
                    break;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    if (*p == '\n')
                        (*lines)++;
                    *w++ = *p++;
                }
            }
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                *w++ = *p++;
        } else {
            while (*p && *p != ',' && *p != '\n' && *p != '\r')
                *w++ = *p++;
        }
        char sep = *p;
        *w++ = '\0';
        if (n < maxf)
            f[n++] = start;
        if (sep == ',') {
            p++;
            w = p;
            continue;
        }
        /* the terminator may have overwritten the separator: go by sep */
        if (sep == '\r') {
            p++;
            if (*p == '\n')
                p++;
        } else if (sep == '\n') {
            p++;
        }
        *next = p;
        return n;
    }
}

int nw_quarantine_load(const char *path, json_t **out, nw_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return nw_err_set(err, NW_WATCH_E_OPEN, "cannot read quarantine file '%s': %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
        len += r;
        if ((long long)len > MAX_FILE) {
            free(buf);
            fclose(fp);
            return nw_err_set(err, NW_WATCH_E_OPEN, "quarantine file '%s' is over 64 MiB", path);
        }
        if (len + 1 == cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    if (!buf)
        return nw_err_set(err, NW_WATCH_E_OPEN, "out of memory reading '%s'", path);
    buf[len] = '\0';
    json_t *arr = json_array();
    int rc = 0;
    char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p == '[') {
        json_error_t je;
        json_t *doc = json_loads(p, 0, &je);
        if (!doc || !json_is_array(doc)) {
            rc = nw_err_set(err, NW_WATCH_E_PARSE, "'%s' line %d: %s", path, doc ? 1 : je.line,
                            doc ? "expected an array of {identity, disabled_at}" : je.text);
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(doc, i, e)
            {
                if ((rc = add_entry(arr, sget(e, "identity"), sget(e, "disabled_at"), (long)i + 1, path, err)))
                    break;
            }
        }
        json_decref(doc);
    } else if (*p == '{') { /* JSON Lines */
        long line = 0;
        char *save = NULL;
        for (char *l = strtok_r(buf, "\n", &save); l && !rc; l = strtok_r(NULL, "\n", &save)) {
            line++;
            char *t = l;
            while (*t == ' ' || *t == '\t' || *t == '\r')
                t++;
            if (!*t)
                continue;
            json_error_t je;
            json_t *e = json_loads(t, 0, &je);
            if (!json_is_object(e))
                rc = nw_err_set(err, NW_WATCH_E_PARSE, "'%s' line %ld: %s", path, line, e ? "not an object" : je.text);
            else
                rc = add_entry(arr, sget(e, "identity"), sget(e, "disabled_at"), line, path, err);
            json_decref(e);
        }
    } else { /* CSV with a header */
        char *f[32], *next;
        long used, line = 1;
        size_t nh = csv_record(p, &next, f, 32, &used);
        int ci = -1, ct = -1;
        for (size_t i = 0; i < nh; i++) {
            char *h = f[i];
            while (*h == ' ')
                h++;
            if (strcasecmp(h, "identity") == 0 || strcasecmp(h, "identity_key") == 0 || strcasecmp(h, "key") == 0)
                ci = (int)i;
            else if (strcasecmp(h, "disabled_at") == 0)
                ct = (int)i;
        }
        if (ci < 0 || ct < 0)
            rc = nw_err_set(err, NW_WATCH_E_PARSE,
                            "'%s' line 1: the header must name the columns identity and disabled_at", path);
        line += used;
        p = next;
        while (!rc && *p) {
            long at = line;
            size_t nf = csv_record(p, &next, f, 32, &used);
            line += used;
            p = next;
            if (nf == 1 && !*f[0])
                continue; /* blank line */
            if ((size_t)ci >= nf || (size_t)ct >= nf) {
                rc = nw_err_set(err, NW_WATCH_E_PARSE, "'%s' line %ld: %zu fields, the header has %zu", path, at, nf,
                                nh);
                break;
            }
            rc = add_entry(arr, f[ci], f[ct], at, path, err);
        }
    }
    free(buf);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- evaluation ---- */

struct find {
    json_t *want; /* key -> entry object (borrowed array items) */
    nw_store *st;
};

static int ident_cb(void *ctx, const nw_ident_row *r)
{
    struct find *f = ctx;
    json_t *e = json_object_get(f->want, r->key);
    if (!e || json_object_get(e, "_id"))
        return 0;
    json_object_set_new(e, "_id", json_integer(r->id));
    json_object_set_new(e, "_st", json_integer((json_int_t)(uintptr_t)f->st));
    json_object_set_new(e, "provider", json_string(r->provider));
    json_object_set_new(e, "type", json_string(r->type));
    json_object_set_new(e, "_last_seen", json_integer(r->last_seen));
    json_object_set_new(e, "_last_success", json_integer(r->last_success));
    return 0;
}

static int inv_cb(void *ctx, const nw_inv_identity *r)
{
    struct find *f = ctx;
    json_t *e = json_object_get(f->want, r->key);
    if (!e || json_object_get(e, "provider"))
        return 0;
    json_object_set_new(e, "provider", json_string(r->provider ? r->provider : "unknown"));
    json_object_set_new(e, "type", json_string(r->type ? r->type : "unknown"));
    return 0;
}

struct after {
    int64_t from_day, to_day;
    int64_t days, events, failures, denied;
};

static int day_cb(void *ctx, const nw_day_row *r)
{
    struct after *a = ctx;
    if (r->day <= a->from_day || r->day > a->to_day)
        return 0;
    a->days++;
    a->events += r->events;
    a->failures += r->failures;
    a->denied += r->denied;
    return 0;
}

int nw_watch_eval(nw_store *const *shards, size_t n, const json_t *quarantine, const nw_watch_opts *o, json_t **out,
                  nw_err *err)
{
    *out = NULL;
    int64_t as_of = o && o->as_of ? o->as_of : 0;
    for (size_t i = 0; !(o && o->as_of) && i < n; i++)
        if (nw_store_max_time(shards[i]) > as_of)
            as_of = nw_store_max_time(shards[i]);
    int silent = o && o->silent_days > 0 ? o->silent_days : 30;
    /* the newest entry per identity wins */
    json_t *want = json_object();
    size_t i;
    json_t *q;
    json_array_foreach(quarantine, i, q)
    {
        const char *k = sget(q, "identity");
        json_t *prev = json_object_get(want, k);
        if (prev && strcmp(sget(prev, "disabled_at"), sget(q, "disabled_at")) >= 0)
            continue;
        json_t *e = json_object();
        json_object_set(e, "identity", json_object_get(q, "identity"));
        json_object_set(e, "disabled_at", json_object_get(q, "disabled_at"));
        json_object_set_new(want, k, e);
    }
    int rc = 0;
    for (size_t s = 0; s < n && !rc; s++) {
        struct find f = {want, shards[s]};
        rc = nw_store_each_identity(shards[s], ident_cb, &f, err);
        if (!rc)
            rc = nw_inventory_each_identity(shards[s], inv_cb, &f, err);
    }
    if (rc) {
        json_decref(want);
        return rc;
    }
    json_t *res = json_object(), *ids = json_array(), *counts = json_object();
    char b[40];
    json_object_set_new(res, "as_of", json_string(nw_time_fmt(as_of, b)));
    json_object_set_new(res, "silent_days", json_integer(silent));
    static const char *const statuses[] = {"active_after_disable", "still_needed", "observing", "safe_to_delete"};
    for (size_t k = 0; k < 4; k++)
        json_object_set_new(counts, statuses[k], json_integer(0));
    /* in the order of the file */
    json_array_foreach(quarantine, i, q)
    {
        json_t *e = json_object_get(want, sget(q, "identity"));
        if (!e || json_object_get(e, "_done"))
            continue;
        json_object_set_new(e, "_done", json_true());
        int64_t dis = 0;
        nw_time_parse(nw_str_c(sget(e, "disabled_at")), &dis);
        int64_t last_seen = json_integer_value(json_object_get(e, "_last_seen"));
        int64_t last_ok = json_integer_value(json_object_get(e, "_last_success"));
        bool found = json_object_get(e, "_id") != NULL;
        struct after af = {nw_time_day(dis), nw_time_day(as_of), 0, 0, 0, 0};
        if (found) {
            nw_store *st = (nw_store *)(uintptr_t)json_integer_value(json_object_get(e, "_st"));
            if ((rc = nw_store_each_day(st, json_integer_value(json_object_get(e, "_id")), day_cb, &af, err)))
                break;
        }
        /* calls after the disable up to as_of (a call after as_of does not count yet) */
        bool called = last_seen > dis && last_seen <= as_of;
        bool ok = last_ok > dis && last_ok <= as_of;
        if (!called && last_seen > as_of && af.events > 0)
            called = true;
        const char *status;
        int64_t quiet_since = called ? last_seen : dis;
        int64_t silent_for = as_of > quiet_since ? (as_of - quiet_since) / NW_US_PER_DAY : 0;
        if (ok)
            status = "active_after_disable";
        else if (called)
            status = "still_needed";
        else if ((as_of - dis) / NW_US_PER_DAY >= silent)
            status = "safe_to_delete";
        else
            status = "observing";
        json_t *x = json_object();
        json_object_set(x, "identity", json_object_get(e, "identity"));
        json_object_set(x, "disabled_at", json_object_get(e, "disabled_at"));
        json_object_set_new(x, "status", json_string(status));
        json_object_set_new(x, "found", json_boolean(found || json_object_get(e, "provider")));
        json_object_set(x, "provider", json_object_get(e, "provider") ? json_object_get(e, "provider") : json_null());
        json_object_set(x, "type", json_object_get(e, "type") ? json_object_get(e, "type") : json_null());
        json_object_set_new(x, "last_seen", last_seen ? json_string(nw_time_fmt(last_seen, b)) : json_null());
        json_object_set_new(x, "last_success", last_ok ? json_string(nw_time_fmt(last_ok, b)) : json_null());
        json_object_set_new(x, "silent_days", json_integer(silent_for));
        int64_t left = silent - (as_of - dis) / NW_US_PER_DAY;
        json_object_set_new(x, "days_left", !called && left > 0 ? json_integer(left) : json_integer(0));
        json_t *a = json_object();
        json_object_set_new(a, "days", json_integer(af.days));
        json_object_set_new(a, "events", json_integer(af.events));
        json_object_set_new(a, "failures", json_integer(af.failures));
        json_object_set_new(a, "denied", json_integer(af.denied));
        json_object_set_new(x, "after", a);
        json_t *dis_cmds = NULL, *rb = NULL;
        nw_remediation_commands(sget(e, "provider"), sget(e, "type"), sget(e, "identity"), NULL, NULL, false, &dis_cmds,
                                &rb);
        json_decref(dis_cmds);
        json_object_set_new(x, "rollback", rb);
        const char *rec = strcmp(status, "active_after_disable") == 0
                              ? "Successful calls after the disable: check that the disable took effect (or who undid "
                                "it) and whether the caller is legitimate."
                          : strcmp(status, "still_needed") == 0
                              ? "A workload still calls it and is refused since the disable: roll back (commands "
                                "below), find the owner, then plan a proper migration."
                          : strcmp(status, "safe_to_delete") == 0
                              ? "Silent since the disable for the whole observation period: safe to delete."
                              : "Silent so far: keep it disabled until the observation period ends.";
        json_object_set_new(x, "recommendation", json_string(rec));
        json_array_append_new(ids, x);
        json_object_set_new(counts, status, json_integer(json_integer_value(json_object_get(counts, status)) + 1));
    }
    json_decref(want);
    if (rc) {
        json_decref(res);
        json_decref(ids);
        json_decref(counts);
        return rc;
    }
    json_object_set_new(res, "counts", counts);
    json_object_set_new(res, "identities", ids);
    *out = res;
    return 0;
}

json_t *nw_watch_alerts(const json_t *result, int64_t now_us)
{
    json_t *out = json_array();
    size_t i;
    json_t *x;
    char b[40], idb[24];
    json_array_foreach(json_object_get(result, "identities"), i, x)
    {
        const char *st = sget(x, "status");
        bool active = strcmp(st, "active_after_disable") == 0;
        if (!active && strcmp(st, "still_needed") != 0)
            continue;
        const char *rule = active ? "NHI-WATCH-002" : "NHI-WATCH-001";
        json_t *a = json_object();
        json_object_set_new(a, "schema", json_string("nhiwatch.alert/1"));
        json_object_set_new(a, "id", json_string(nw_finding_id(rule, sget(x, "identity"), NULL, idb)));
        json_object_set_new(a, "time", json_string(nw_time_fmt(now_us, b)));
        json_object_set_new(a, "kind", json_string("quarantine"));
        json_object_set_new(a, "rule", json_string(rule));
        json_object_set_new(a, "severity", json_string(active ? "critical" : "high"));
        json_object_set_new(a, "title", json_string(active ? "Disabled identity still makes successful calls"
                                                           : "Disabled identity still in use (calls refused)"));
        json_object_set(a, "identity", json_object_get(x, "identity"));
        json_object_set(a, "provider", json_object_get(x, "provider"));
        json_object_set(a, "identity_type", json_object_get(x, "type"));
        json_t *ev = json_object();
        static const char *const keys[] = {"disabled_at", "last_seen", "last_success", "after", "rollback"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            json_object_set(ev, keys[k], json_object_get(x, keys[k]));
        json_object_set_new(a, "evidence", ev);
        json_object_set_new(a, "compliance", json_array());
        json_object_set(a, "recommendation", json_object_get(x, "recommendation"));
        json_object_set_new(a, "origin", json_string("watch"));
        json_array_append_new(out, a);
    }
    return out;
}
