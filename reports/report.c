/* report.c - build report.json from store shards; JSON and Markdown writers. */
#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../analyze/detect.h"
#include "../analyze/inventory.h"
#include "../core/nw_time.h"
#include "collect.h"

static json_t *jtime(int64_t us)
{
    if (us <= 0)
        return json_null();
    char b[40];
    return json_string(nw_time_fmt(us, b));
}

static json_t *jstr(const char *s) { return s && *s ? json_string(s) : json_null(); }

/* ---- writing ---- */

int nw_mkdirs(const char *dir, nw_err *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return nw_err_set(err, NW_REPORT_E_WRITE, "path too long: %s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return nw_err_set(err, NW_REPORT_E_WRITE, "cannot create '%s': %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return nw_err_set(err, NW_REPORT_E_WRITE, "cannot create '%s': %s", buf, strerror(errno));
    return 0;
}

static FILE *open_tmp(const char *path, char *tmp, size_t cap, nw_err *err)
{
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        nw_err_set(err, NW_REPORT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        nw_err_set(err, NW_REPORT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
    }
    return f;
}

static int close_tmp(FILE *f, const char *tmp, const char *path, nw_err *err)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return nw_err_set(err, NW_REPORT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return nw_err_set(err, NW_REPORT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
    }
    return 0;
}

/* Markdown: escape the characters that break a table cell. */
static void md(FILE *f, const char *s)
{
    if (!s) {
        fputs("-", f);
        return;
    }
    for (; *s; s++) {
        if (*s == '|' || *s == '*' || *s == '_' || *s == '`' || *s == '<' || *s == '>' || *s == '[' || *s == ']')
            fputc('\\', f);
        if (*s == '\n' || *s == '\r')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long iget(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }


/* ---- per-identity collection ---- */

static int cred_cb(void *ctx, const nw_cred_row *r)
{
    json_t *arr = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->cred_id));
    json_object_set_new(o, "kind", json_string(r->kind));
    json_object_set_new(o, "first_seen", jtime(r->first_seen));
    json_object_set_new(o, "last_seen", jtime(r->last_seen));
    json_object_set_new(o, "events", json_integer(r->events));
    json_array_append_new(arr, o);
    return 0;
}

struct used_ctx {
    json_t *services; /* sorted unique */
    int64_t actions;
};

static int used_cb(void *ctx, const nw_used_row *r)
{
    struct used_ctx *u = ctx;
    u->actions++;
    const char *svc = r->service && *r->service ? r->service : NULL;
    if (!svc)
        return 0;
    size_t n = json_array_size(u->services);
    /* keep the array sorted and unique (actions come sorted by action, not service) */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(json_string_value(json_array_get(u->services, mid)), svc);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    json_array_insert_new(u->services, lo, json_string(svc));
    return 0;
}

static int source_cb(void *ctx, const nw_source_row *r)
{
    json_t *src = ctx;
    const char *k = strcmp(r->kind, "net") == 0 ? "networks" : strcmp(r->kind, "region") == 0 ? "regions" : "user_agents";
    json_t *a = json_object_get(src, k);
    json_array_append_new(a, json_string(r->value));
    return 0;
}

json_t *nw_report_identity(nw_store *st, const nw_ident_row *r, nw_err *err)
{
    int kind = nw_store_kind(r->type, r->key, r->human_events, r->machine_events);
    json_t *o = json_object();
    json_object_set_new(o, "key", json_string(r->key));
    json_object_set_new(o, "provider", json_string(r->provider));
    json_object_set_new(o, "kind", json_string(nw_kind_name(kind)));
    json_object_set_new(o, "type", json_string(r->type));
    json_object_set_new(o, "display_name", jstr(r->display_name));
    json_object_set_new(o, "account", jstr(r->account));
    json_object_set_new(o, "tenant", jstr(r->tenant));
    json_object_set_new(o, "first_seen", jtime(r->first_seen));
    json_object_set_new(o, "last_seen", jtime(r->last_seen));
    json_object_set_new(o, "last_success", jtime(r->last_success));
    json_object_set_new(o, "events", json_integer(r->events));
    json_object_set_new(o, "successes", json_integer(r->successes));
    json_object_set_new(o, "failures", json_integer(r->failures));
    json_object_set_new(o, "denied", json_integer(r->denied));
    json_object_set_new(o, "writes", json_integer(r->writes));
    json_object_set_new(o, "privileged", json_integer(r->privileged));
    json_t *creds = json_array();
    json_object_set_new(o, "credentials", creds);
    if (nw_store_each_credential(st, r->id, cred_cb, creds, err))
        goto out_fail;
    json_object_set_new(o, "owner", json_null());
    struct used_ctx u = {json_array(), 0};
    json_object_set_new(o, "services_used", u.services);
    if (nw_store_each_used(st, r->id, used_cb, &u, err))
        goto out_fail;
    json_object_set_new(o, "actions_used", json_integer(u.actions));
    json_t *src = json_object();
    json_object_set_new(src, "networks", json_array());
    json_object_set_new(src, "regions", json_array());
    json_object_set_new(src, "user_agents", json_array());
    json_object_set_new(o, "sources", src);
    if (nw_store_each_source(st, r->id, source_cb, src, err))
        goto out_fail;
    json_t *last = json_object();
    json_object_set_new(last, "ip", jstr(r->last_ip));
    json_object_set_new(last, "region", jstr(r->last_region));
    json_object_set_new(last, "user_agent", jstr(r->last_ua));
    json_object_set_new(last, "action", jstr(r->last_action));
    json_object_set_new(last, "event_id", jstr(r->last_event_id));
    json_object_set_new(o, "last_source", last);
    json_t *ls = json_object();
    json_object_set_new(ls, "time", jtime(r->last_success));
    json_object_set_new(ls, "ip", jstr(r->last_success_ip));
    json_object_set_new(ls, "action", jstr(r->last_success_action));
    json_object_set_new(ls, "event_id", jstr(r->last_success_event_id));
    json_object_set_new(o, "last_successful_use", ls);
    json_object_set_new(o, "origin", jstr(r->origin));
    json_object_set_new(o, "granted", json_null());
    return o;
out_fail:
    json_decref(o);
    return NULL;
}

/* ---- the streaming pass ---- */

#define MAX_TYPES 64

struct type_count {
    char *name;
    int64_t n;
};

struct metrics {
    int64_t by_kind[3];
    int64_t by_prov[4][3]; /* provider x kind */
    struct type_count types[MAX_TYPES];
    size_t ntypes;
};

static void count_type(struct metrics *m, const char *type)
{
    for (size_t i = 0; i < m->ntypes; i++)
        if (strcmp(m->types[i].name, type) == 0) {
            m->types[i].n++;
            return;
        }
    if (m->ntypes < MAX_TYPES && (m->types[m->ntypes].name = strdup(type)) != NULL)
        m->types[m->ntypes++].n = 1;
}

struct indent_out {
    FILE *f;
    int indent;
};

static int indent_cb(const char *buf, size_t size, void *data)
{
    const struct indent_out *o = data;
    const char *p = buf, *end = buf + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (fwrite(p, 1, n, o->f) != n)
            return -1;
        if (nl && fprintf(o->f, "%*s", o->indent, "") < 0)
            return -1;
        p += n;
    }
    return 0;
}

/* Write one JSON value indented by `indent` spaces beyond its own nesting,
 * straight to the file: a large array is never held as one string. */
static void dump_indented(FILE *f, const json_t *v, int indent)
{
    struct indent_out o = {f, indent};
    json_dump_callback(v, indent_cb, &o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

struct md_rows {
    json_t *rows[3]; /* per kind: the first N identities */
    int64_t total[3];
    size_t limit;
};

static void md_table(FILE *f, const struct md_rows *mr, int kind)
{
    fputs("| identity | provider | type | last seen | last success | events | denied | credentials | services |\n",
          f);
    fputs("|---|---|---|---|---|---:|---:|---|---|\n", f);
    size_t i;
    json_t *o;
    json_array_foreach(mr->rows[kind], i, o)
    {
        fputs("| ", f);
        md(f, sget(o, "key"));
        fputs(" | ", f);
        md(f, sget(o, "provider"));
        fputs(" | ", f);
        md(f, sget(o, "type"));
        fputs(" | ", f);
        md(f, sget(o, "last_seen"));
        fputs(" | ", f);
        md(f, sget(o, "last_success"));
        fprintf(f, " | %lld | %lld | ", iget(o, "events"), iget(o, "denied"));
        size_t j;
        json_t *c;
        json_t *creds = json_object_get(o, "credentials");
        if (json_array_size(creds) == 0)
            fputs("-", f);
        json_array_foreach(creds, j, c)
        {
            if (j)
                fputs(", ", f);
            md(f, sget(c, "id"));
            fputs(" (", f);
            md(f, sget(c, "kind"));
            fputs(")", f);
        }
        fputs(" | ", f);
        json_t *svcs = json_object_get(o, "services_used");
        size_t ns = json_array_size(svcs);
        for (j = 0; j < ns && j < 8; j++) {
            if (j)
                fputs(", ", f);
            md(f, json_string_value(json_array_get(svcs, j)));
        }
        if (ns > 8)
            fprintf(f, " (+%zu more)", ns - 8);
        if (ns == 0)
            fputs("-", f);
        fputs(" |\n", f);
    }
    if (mr->total[kind] == 0)
        fputs("| (none) | | | | | | | | |\n", f);
    else if ((size_t)mr->total[kind] > json_array_size(mr->rows[kind]))
        fprintf(f, "\n%lld more not shown; report.json lists them all.\n",
                (long long)(mr->total[kind] - (int64_t)json_array_size(mr->rows[kind])));
}

static int md_findings(FILE *f, const nw_findings *fs, const json_t *cands, nw_err *err)
{
    size_t n = nw_findings_count(fs);
    fprintf(f, "\n## Findings (%zu)\n\n", n);
    if (!n) {
        fputs("No findings.\n", f);
    } else {
        fputs("| severity | kind | identity | rule | title |\n|---|---|---|---|---|\n", f);
        for (size_t i = 0; i < n; i++) {
            if (i >= 500) {
                fprintf(f, "\n%zu more findings in report.json.\n", n - 500);
                break;
            }
            json_t *x = nw_findings_get(fs, i, err);
            if (!x)
                return err->code ? err->code : NW_REPORT_E_NOMEM;
            fputs("| ", f);
            md(f, sget(x, "severity"));
            fputs(" | ", f);
            md(f, sget(x, "kind"));
            fputs(" | ", f);
            md(f, sget(x, "identity"));
            fputs(" | ", f);
            md(f, sget(x, "rule"));
            fputs(" | ", f);
            md(f, sget(x, "title"));
            fputs(" |\n", f);
            json_decref(x);
        }
    }
    size_t nc = json_array_size(cands);
    fprintf(f, "\n## Deprovisioning candidates (%zu)\n\n", nc);
    if (!nc) {
        fputs("None.\n", f);
        return 0;
    }
    fputs("| identity | provider | type | last seen | confidence | reasons |\n|---|---|---|---|---:|---|\n", f);
    size_t i;
    json_t *x;
    json_array_foreach(cands, i, x)
    {
        if (i >= 500)
            break;
        fputs("| ", f);
        md(f, sget(x, "identity"));
        fputs(" | ", f);
        md(f, sget(x, "provider"));
        fputs(" | ", f);
        md(f, sget(x, "type"));
        fputs(" | ", f);
        md(f, sget(x, "last_seen"));
        fprintf(f, " | %.1f | ", json_real_value(json_object_get(x, "confidence")));
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(x, "reasons"), j, r)
        {
            if (j)
                fputs(", ", f);
            md(f, json_string_value(r));
        }
        fputs(" |\n", f);
    }
    return 0;
}

static int write_md(const char *path, const json_t *head, const struct metrics *m, const struct md_rows *mr,
                    const nw_findings *fs, const json_t *cands, const json_t *doc, nw_err *err)
{
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp, err);
    if (!f)
        return NW_REPORT_E_WRITE;
    const json_t *in = json_object_get(head, "inputs");
    fputs("# nhiwatch report\n\n", f);
    fprintf(f, "As of **%s** (window %lld days), generated %s.\n\n",
            sget(head, "as_of") ? sget(head, "as_of") : "-", iget(head, "window_days"),
            sget(head, "generated_at") ? sget(head, "generated_at") : "-");
    fprintf(f, "%lld events from %s to %s; %lld identities: **%lld non-human**, %lld human, %lld unknown.\n\n",
            iget(in, "events"), sget(in, "first_event") ? sget(in, "first_event") : "-",
            sget(in, "last_event") ? sget(in, "last_event") : "-", iget(in, "identities"),
            (long long)m->by_kind[NW_KIND_NON_HUMAN], (long long)m->by_kind[NW_KIND_HUMAN],
            (long long)m->by_kind[NW_KIND_UNKNOWN]);
    fputs("## Identities by provider\n\n| provider | non-human | human | unknown |\n|---|---:|---:|---:|\n", f);
    for (int p = 1; p < 4; p++) {
        if (!m->by_prov[p][0] && !m->by_prov[p][1] && !m->by_prov[p][2])
            continue;
        fprintf(f, "| %s | %lld | %lld | %lld |\n", nw_provider_name(p), (long long)m->by_prov[p][NW_KIND_NON_HUMAN],
                (long long)m->by_prov[p][NW_KIND_HUMAN], (long long)m->by_prov[p][NW_KIND_UNKNOWN]);
    }
    fputs("\n## Non-human identities by type\n\n| type | count |\n|---|---:|\n", f);
    for (size_t i = 0; i < m->ntypes; i++)
        fprintf(f, "| %s | %lld |\n", m->types[i].name, (long long)m->types[i].n);
    int rc = md_findings(f, fs, cands, err);
    if (rc) {
        fclose(f);
        unlink(tmp);
        return rc;
    }
    if (doc)
        nw_collect_md(doc, f); /* metrics, compliance, drift */
    fputs("\n## Non-human identities\n\n", f);
    md_table(f, mr, NW_KIND_NON_HUMAN);
    fputs("\n## Identities of unknown kind\n\n", f);
    md_table(f, mr, NW_KIND_UNKNOWN);
    fputs("\n## Human identities (inventoried, never reported as NHI findings)\n\n", f);
    md_table(f, mr, NW_KIND_HUMAN);
    return close_tmp(f, tmp, path, err);
}

/* ---- links across shards: minted sessions and identity creators ---- */

struct links {
    json_t *by_cred;    /* cred_id -> {origin, target} */
    json_t *by_origin;  /* origin key -> {target key -> {sessions, first, last}} */
    json_t *creator;    /* target key -> {identity, action, time, event_id} (earliest) */
};

/* Calls that hand the caller a session as another identity (role
 * assumption, token minting); keys created for an identity are lifecycle,
 * not chains. */
static bool session_action(const char *action)
{
    return action && (strstr(action, "AssumeRole") || strstr(action, "GenerateAccessToken") ||
                      strstr(action, "GenerateIdToken") || strstr(action, "SignJwt") || strstr(action, "SignBlob"));
}

static int issued_cb(void *ctx, const nw_issued_row *r)
{
    struct links *l = ctx;
    if (!session_action(r->action))
        return 0;
    json_t *c = json_object();
    json_object_set_new(c, "origin", json_string(r->origin_key));
    json_object_set_new(c, "target", jstr(r->target_key));
    json_object_set_new(l->by_cred, r->cred_id, c);
    if (!r->target_key)
        return 0;
    json_t *o = json_object_get(l->by_origin, r->origin_key);
    if (!o) {
        o = json_object();
        json_object_set_new(l->by_origin, r->origin_key, o);
    }
    json_t *t = json_object_get(o, r->target_key);
    if (!t) {
        t = json_object();
        json_object_set_new(t, "sessions", json_integer(0));
        json_object_set_new(t, "_first", json_integer(r->time));
        json_object_set_new(t, "_last", json_integer(r->time));
        json_object_set_new(o, r->target_key, t);
    }
    json_object_set_new(t, "sessions", json_integer(json_integer_value(json_object_get(t, "sessions")) + 1));
    if (r->time < json_integer_value(json_object_get(t, "_first")))
        json_object_set_new(t, "_first", json_integer(r->time));
    if (r->time > json_integer_value(json_object_get(t, "_last")))
        json_object_set_new(t, "_last", json_integer(r->time));
    return 0;
}

static int lifecycle_cb(void *ctx, const nw_lifecycle_row *r)
{
    struct links *l = ctx;
    json_t *c = json_object_get(l->creator, r->target_key);
    if (c) {
        json_int_t t = json_integer_value(json_object_get(c, "_t"));
        if (t < r->time || (t == r->time && strcmp(json_string_value(json_object_get(c, "identity")), r->creator_key) <= 0))
            return 0;
    }
    c = json_object();
    json_object_set_new(c, "identity", json_string(r->creator_key));
    json_object_set_new(c, "action", jstr(r->action));
    json_object_set_new(c, "time", jtime(r->time));
    json_object_set_new(c, "event_id", jstr(r->event_id));
    json_object_set_new(c, "_t", json_integer(r->time));
    json_object_set_new(l->creator, r->target_key, c);
    return 0;
}

/* Chain fields of one identity object, from the links. */
static void add_links(json_t *o, const struct links *l)
{
    const char *key = json_string_value(json_object_get(o, "key"));
    /* who assumed this role: the origins of the sessions it used */
    json_t *by = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(o, "credentials"), i, c)
    {
        json_t *link = json_object_get(l->by_cred, json_string_value(json_object_get(c, "id")));
        if (!link)
            continue;
        const char *origin = json_string_value(json_object_get(link, "origin"));
        if (!origin || strcmp(origin, key) == 0)
            continue;
        json_t *e = json_object_get(by, origin);
        if (!e) {
            e = json_object();
            json_object_set_new(e, "identity", json_string(origin));
            json_object_set_new(e, "sessions", json_integer(0));
            json_object_set_new(e, "events", json_integer(0));
            json_object_set_new(e, "last_seen", json_null());
            json_object_set_new(by, origin, e);
        }
        json_object_set_new(e, "sessions", json_integer(json_integer_value(json_object_get(e, "sessions")) + 1));
        json_object_set_new(e, "events", json_integer(json_integer_value(json_object_get(e, "events")) +
                                                      json_integer_value(json_object_get(c, "events"))));
        const char *ls = json_string_value(json_object_get(c, "last_seen"));
        const char *cur = json_string_value(json_object_get(e, "last_seen"));
        if (ls && (!cur || strcmp(ls, cur) > 0))
            json_object_set_new(e, "last_seen", json_string(ls));
    }
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    /* object iteration is insertion order (credential id order): sort by identity */
    size_t n = json_object_size(by);
    const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
    size_t m = 0;
    json_object_foreach(by, k, v)
    {
        if (keys)
            keys[m++] = k;
    }
    for (size_t a = 0; a < m; a++)
        for (size_t b = a + 1; b < m; b++)
            if (strcmp(keys[b], keys[a]) < 0) {
                const char *t = keys[a];
                keys[a] = keys[b];
                keys[b] = t;
            }
    for (size_t a = 0; a < m; a++)
        json_array_append(arr, json_object_get(by, keys[a]));
    free(keys);
    json_decref(by);
    json_object_set_new(o, "assumed_by", arr);
    /* what this identity assumed or minted tokens for */
    json_t *as = json_array();
    json_t *targets = json_object_get(l->by_origin, key);
    if (targets) {
        size_t nt = json_object_size(targets), mt = 0;
        const char **tk = nt ? malloc(nt * sizeof(*tk)) : NULL;
        json_object_foreach(targets, k, v)
        {
            if (tk)
                tk[mt++] = k;
        }
        for (size_t a = 0; a < mt; a++)
            for (size_t b = a + 1; b < mt; b++)
                if (strcmp(tk[b], tk[a]) < 0) {
                    const char *t = tk[a];
                    tk[a] = tk[b];
                    tk[b] = t;
                }
        for (size_t a = 0; a < mt; a++) {
            json_t *t = json_object_get(targets, tk[a]);
            json_t *e = json_object();
            json_object_set_new(e, "identity", json_string(tk[a]));
            json_object_set_new(e, "sessions", json_incref(json_object_get(t, "sessions")));
            json_object_set_new(e, "first", jtime(json_integer_value(json_object_get(t, "_first"))));
            json_object_set_new(e, "last", jtime(json_integer_value(json_object_get(t, "_last"))));
            json_array_append_new(as, e);
        }
        free(tk);
    }
    json_object_set_new(o, "assumes", as);
    json_t *cr = json_object_get(l->creator, key);
    if (cr) {
        json_t *p = json_deep_copy(cr);
        json_object_del(p, "_t");
        json_object_set_new(o, "created_by", p);
        if (json_is_null(json_object_get(o, "owner")))
            json_object_set_new(o, "probable_owner", json_incref(json_object_get(cr, "identity")));
    }
}

/* ---- inventory identities of all shards, sorted by key ---- */

struct invrow {
    nw_inv_identity r; /* strings owned (strdup) */
    nw_store *st;
};

struct invlist {
    struct invrow *v;
    size_t n, cap;
    nw_store *cur;
    bool oom;
};

static char *sdup(const char *x) { return x ? strdup(x) : NULL; }

static int inv_cb(void *ctx, const nw_inv_identity *r)
{
    struct invlist *l = ctx;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        struct invrow *nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv) {
            l->oom = true;
            return 1;
        }
        l->v = nv;
        l->cap = nc;
    }
    struct invrow *x = &l->v[l->n++];
    x->r = *r;
    x->r.key = sdup(r->key);
    x->r.provider = sdup(r->provider);
    x->r.type = sdup(r->type);
    x->r.display_name = sdup(r->display_name);
    x->r.account = sdup(r->account);
    x->r.source = sdup(r->source);
    /* the rest point into the callback's row: not kept */
    x->r.tenant = x->r.object_id = x->r.app_id = x->r.trust_json = x->r.tags_json = NULL;
    x->st = l->cur;
    return 0;
}

static int azure_key_cb(void *ctx, const nw_ident_row *r)
{
    json_t *by_oid = ctx;
    if (strncmp(r->key, "azure:", 6) != 0)
        return 0;
    const char *slash = strrchr(r->key, '/');
    if (slash && slash[1])
        json_object_set_new(by_oid, slash + 1, json_string(r->key));
    return 0;
}

static int resolve_azure_placeholders(nw_store *const *shards, size_t n, struct invlist *l, nw_err *err)
{
    bool any = false;
    for (size_t i = 0; i < l->n && !any; i++)
        any = strncmp(l->v[i].r.key, "azure:*/", 8) == 0;
    if (!any)
        return 0;
    json_t *by_oid = json_object();
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = nw_store_each_identity(shards[i], azure_key_cb, by_oid, err);
    for (size_t i = 0; !rc && i < l->n; i++) {
        struct invrow *x = &l->v[i];
        if (strncmp(x->r.key, "azure:*/", 8) != 0)
            continue;
        const char *full = json_string_value(json_object_get(by_oid, x->r.key + 8));
        if (!full)
            continue;
        char *k = strdup(full);
        if (!k) {
            rc = nw_err_set(err, NW_REPORT_E_NOMEM, "out of memory");
            break;
        }
        free((char *)x->r.key);
        x->r.key = k;
    }
    json_decref(by_oid);
    return rc;
}

static int cmp_inv(const void *a, const void *b)
{
    return strcmp(((const struct invrow *)a)->r.key, ((const struct invrow *)b)->r.key);
}

static void invlist_free(struct invlist *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((char *)l->v[i].r.key);
        free((char *)l->v[i].r.provider);
        free((char *)l->v[i].r.type);
        free((char *)l->v[i].r.display_name);
        free((char *)l->v[i].r.account);
        free((char *)l->v[i].r.source);
    }
    free(l->v);
}

struct icred_ctx {
    json_t *creds;
};

static int icred_cb(void *ctx, const nw_inv_cred *c)
{
    json_t *creds = ctx;
    json_t *e = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(creds, i, x) if (strcmp(json_string_value(json_object_get(x, "id")), c->cred_id) == 0) e = x;
    if (!e) {
        e = json_object();
        json_object_set_new(e, "id", json_string(c->cred_id));
        json_object_set_new(e, "kind", jstr(c->kind));
        json_object_set_new(e, "first_seen", json_null());
        json_object_set_new(e, "last_seen", json_null());
        json_object_set_new(e, "events", json_integer(0));
        json_array_append_new(creds, e);
    }
    json_object_set_new(e, "active", json_boolean(c->active));
    json_object_set_new(e, "created", jtime(c->created));
    json_object_set_new(e, "rotated", jtime(c->rotated));
    json_object_set_new(e, "expires", jtime(c->expires));
    json_object_set_new(e, "provider_last_used", jtime(c->last_used));
    return 0;
}

static int grant_cb(void *ctx, const nw_inv_grant *g)
{
    json_t *arr = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "effect", jstr(g->effect));
    json_object_set_new(o, "action", jstr(g->action));
    if (g->not_action)
        json_object_set_new(o, "not_action", json_true());
    json_object_set_new(o, "resource", jstr(g->resource));
    json_object_set_new(o, "via", jstr(g->via));
    if (g->conditional)
        json_object_set_new(o, "conditional", json_true());
    if (g->admin)
        json_object_set_new(o, "admin", json_true());
    json_array_append_new(arr, o);
    return 0;
}

/* The identity object: activity (may be NULL) + inventory (may be NULL). */
static json_t *identity_json(nw_store *act_st, const nw_ident_row *act, const struct invrow *inv,
                             const nw_policy *policy, int kind, nw_err *err)
{
    json_t *o;
    if (act) {
        o = nw_report_identity(act_st, act, err);
        if (!o)
            return NULL;
    } else {
        const nw_inv_identity *r = &inv->r;
        o = json_object();
        json_object_set_new(o, "key", json_string(r->key));
        json_object_set_new(o, "provider", jstr(r->provider));
        json_object_set_new(o, "kind", json_string(nw_kind_name(kind)));
        json_object_set_new(o, "type", jstr(r->type ? r->type : "unknown"));
        json_object_set_new(o, "display_name", jstr(r->display_name));
        json_object_set_new(o, "account", jstr(r->account));
        json_object_set_new(o, "tenant", json_null());
        json_object_set_new(o, "first_seen", json_null());
        json_object_set_new(o, "last_seen", json_null());
        json_object_set_new(o, "last_success", json_null());
        json_object_set_new(o, "events", json_integer(0));
        json_object_set_new(o, "successes", json_integer(0));
        json_object_set_new(o, "failures", json_integer(0));
        json_object_set_new(o, "denied", json_integer(0));
        json_object_set_new(o, "writes", json_integer(0));
        json_object_set_new(o, "privileged", json_integer(0));
        json_object_set_new(o, "credentials", json_array());
        json_object_set_new(o, "owner", json_null());
        json_object_set_new(o, "services_used", json_array());
        json_object_set_new(o, "actions_used", json_integer(0));
        json_object_set_new(o, "granted", json_null());
    }
    json_object_set_new(o, "kind", json_string(nw_kind_name(kind)));
    const nw_policy_entry *pe = policy ? nw_policy_match(policy, json_string_value(json_object_get(o, "key"))) : NULL;
    if (pe && pe->owner)
        json_object_set_new(o, "owner", json_string(pe->owner));
    if (pe) {
        json_t *p = json_object();
        json_object_set_new(p, "entry", json_integer(pe->index));
        json_object_set_new(p, "expires", jtime(pe->expires));
        json_object_set_new(p, "rotation_days", pe->rotation_days ? json_integer(pe->rotation_days) : json_null());
        json_object_set_new(p, "jit", pe->jit < 0 ? json_null() : json_boolean(pe->jit));
        json_t *tags = pe->tags_json ? json_loads(pe->tags_json, 0, NULL) : NULL;
        json_object_set_new(p, "tags", tags ? tags : json_null());
        json_object_set_new(o, "policy", p);
    }
    if (inv) {
        const nw_inv_identity *r = &inv->r;
        json_t *iv = json_object();
        json_object_set_new(iv, "created", jtime(r->created));
        json_object_set_new(iv, "provider_last_used", jtime(r->last_used));
        json_object_set_new(iv, "disabled", json_boolean(r->disabled));
        json_object_set_new(iv, "console", r->console < 0 ? json_null() : json_boolean(r->console));
        json_object_set_new(iv, "mfa", r->mfa < 0 ? json_null() : json_boolean(r->mfa));
        json_object_set_new(iv, "source", jstr(r->source));
        json_object_set_new(o, "inventory", iv);
        json_t *creds = json_object_get(o, "credentials");
        if (nw_inventory_each_credential(inv->st, r->key, icred_cb, creds, err)) {
            json_decref(o);
            return NULL;
        }
        json_t *g = json_array();
        if (nw_inventory_each_grant(inv->st, r->key, grant_cb, g, err)) {
            json_decref(g);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "granted", g);
    }
    return o;
}

/* Sort an array of objects by severity (highest first), identity, id. */
static void sort_by_severity(json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return;
    json_t **v = malloc(n * sizeof(*v));
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof(*v), nw_finding_cmp);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

static int cmp_type(const void *a, const void *b)
{
    return strcmp(((const struct type_count *)a)->name, ((const struct type_count *)b)->name);
}

/* Move one identity's findings (the array, emptied) into the spilled set,
 * sorted by id within the identity so the set's stable sort gives the
 * report's order. */
static int spill_identity(nw_findings *fs, json_t *arr, nw_err *err)
{
    size_t n = json_array_size(arr);
    if (!n)
        return 0;
    json_t **v = malloc(n * sizeof(*v));
    if (!v)
        return nw_err_set(err, NW_REPORT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(arr, i);
    qsort(v, n, sizeof(*v), nw_finding_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = nw_findings_add(fs, v[i], err);
    free(v);
    json_array_clear(arr);
    return rc;
}

static void count_in(json_t *o, const char *k)
{
    if (k)
        json_object_set_new(o, k, json_integer(json_integer_value(json_object_get(o, k)) + 1));
}

/* The findings array of report.json, one finding read back at a time;
 * counted by kind and severity (keys in order of first appearance) for the
 * metrics. */
static int write_findings(FILE *f, const nw_findings *fs, json_t *bykind, json_t *bysev, nw_err *err)
{
    size_t n = nw_findings_count(fs);
    fputs("  \"findings\": [", f);
    for (size_t i = 0; i < n; i++) {
        json_t *x = nw_findings_get(fs, i, err);
        if (!x)
            return err->code ? err->code : NW_REPORT_E_NOMEM;
        count_in(bykind, sget(x, "kind"));
        count_in(bysev, sget(x, "severity"));
        fputs(i ? ",\n    " : "\n    ", f);
        dump_indented(f, x, 4);
        json_decref(x);
    }
    fputs(n ? "\n  ]" : "]", f);
    return 0;
}

int nw_report_write(nw_store *const *shards, size_t n, const nw_report_opts *opts, const char *out_dir,
                    nw_report_summary *sum, nw_err *err)
{
    int rc = 0;
    struct metrics m;
    memset(&m, 0, sizeof m);
    struct md_rows mr;
    memset(&mr, 0, sizeof mr);
    mr.limit = opts && opts->md_rows ? opts->md_rows : 200;
    nw_ident_cursor **cur = calloc(n ? n : 1, sizeof(*cur));
    nw_ident_row *row = calloc(n ? n : 1, sizeof(*row));
    int *live = calloc(n ? n : 1, sizeof(int));
    json_t *head = json_object();
    json_t *findings = json_array(), *cands = NULL; /* findings: one identity's, before they are spilled */
    nw_findings *fs = NULL;
    json_t *bykind = json_object(), *bysev = json_object();
    struct invlist invl;
    memset(&invl, 0, sizeof invl);
    struct links links = {json_object(), json_object(), json_object()};
    nw_detect *det = NULL;
    nw_collect *col = NULL;
    json_t *doc = NULL;
    FILE *f = NULL;
    char path[4096], tmp[4200];
    if (!cur || !row || !live) {
        rc = nw_err_set(err, NW_REPORT_E_NOMEM, "out of memory");
        goto out;
    }
    for (int k = 0; k < 3; k++)
        mr.rows[k] = json_array();

    nw_store_totals all = {0, 0, 0, 0};
    int64_t max_time = 0;
    for (size_t i = 0; i < n; i++) {
        nw_store_totals t;
        if ((rc = nw_store_totals_get(shards[i], &t, err)))
            goto out;
        all.identities += t.identities;
        all.events += t.events;
        if (t.first_seen && (!all.first_seen || t.first_seen < all.first_seen))
            all.first_seen = t.first_seen;
        if (t.last_seen > all.last_seen)
            all.last_seen = t.last_seen;
        int64_t mt = nw_store_max_time(shards[i]);
        if (mt > max_time)
            max_time = mt;
    }
    int64_t as_of = opts && opts->as_of ? opts->as_of : max_time;
    int window = opts && opts->window_days ? opts->window_days : 90;
    int64_t gen = opts && opts->generated_at ? opts->generated_at : (int64_t)time(NULL) * NW_US_PER_SEC;
    json_object_set_new(head, "schema", json_string("nhiwatch.report/1"));
    json_object_set_new(head, "as_of", jtime(as_of));
    json_object_set_new(head, "window_days", json_integer(window));
    json_object_set_new(head, "generated_at", jtime(gen));
    json_t *inputs = json_object();
    json_object_set_new(inputs, "events", json_integer(all.events));
    json_object_set_new(inputs, "identities", json_integer(all.identities));
    json_object_set_new(inputs, "first_event", jtime(all.first_seen));
    json_object_set_new(inputs, "last_event", jtime(all.last_seen));
    json_object_set_new(head, "inputs", inputs);

    /* the other formats' collector (loads the baseline now: a bad one fails before any output) */
    unsigned formats = opts && opts->formats ? opts->formats : NW_FMT_DEFAULT;
    nw_collect_opts co = {as_of, window, formats, opts ? opts->max_cards : 0, opts ? opts->baseline : NULL,
                          opts ? opts->rules : NULL};
    if (!(col = nw_collect_new(&co, err))) {
        rc = err->code ? err->code : NW_REPORT_E_NOMEM;
        goto out;
    }
    if ((rc = nw_mkdirs(out_dir, err)))
        goto out;
    if (!(fs = nw_findings_spill(out_dir, err))) {
        rc = err->code ? err->code : NW_REPORT_E_NOMEM;
        goto out;
    }
    snprintf(path, sizeof path, "%s/report.json", out_dir);
    f = open_tmp(path, tmp, sizeof tmp, err);
    if (!f) {
        rc = NW_REPORT_E_WRITE;
        goto out;
    }
    /* the head fields, then the identities array streamed */
    fputs("{\n", f);
    const char *hk;
    json_t *hv;
    json_object_foreach(head, hk, hv)
    {
        fprintf(f, "  \"%s\": ", hk);
        dump_indented(f, hv, 2);
        fputs(",\n", f);
    }
    fputs("  \"identities\": [", f);
    for (size_t i = 0; i < n; i++) {
        if ((rc = nw_store_ident_cursor(shards[i], &cur[i], err)))
            goto out;
        live[i] = nw_ident_cursor_next(cur[i], &row[i], err);
        if (live[i] < 0) {
            rc = live[i];
            goto out;
        }
    }
    /* links (minted sessions, creators) of every shard */
    for (size_t i = 0; i < n; i++) {
        if ((rc = nw_store_each_issued(shards[i], issued_cb, &links, err)) ||
            (rc = nw_store_each_lifecycle(shards[i], lifecycle_cb, &links, err)))
            goto out;
    }
    /* inventory identities of every shard, sorted */
    for (size_t i = 0; i < n; i++) {
        invl.cur = shards[i];
        if ((rc = nw_inventory_each_identity(shards[i], inv_cb, &invl, err)))
            goto out;
        if (invl.oom) {
            rc = nw_err_set(err, NW_REPORT_E_NOMEM, "out of memory");
            goto out;
        }
    }
    /* Azure role-assignment exports carry no tenant: their placeholder keys
     * azure:*<slash><objectId> join the identity the logs know by that object id */
    if ((rc = resolve_azure_placeholders(shards, n, &invl, err)))
        goto out;
    if (invl.n)
        qsort(invl.v, invl.n, sizeof(*invl.v), cmp_inv);
    if (opts && opts->rules) {
        nw_detect_opts dopt = {opts->rules, opts->policy, as_of};
        det = nw_detect_new(&dopt, err);
        if (!det) {
            rc = err->code ? err->code : NW_REPORT_E_STORE;
            goto out;
        }
    }
    int64_t written = 0;
    size_t ii = 0;
    for (;;) {
        int best = -1;
        for (size_t i = 0; i < n; i++)
            if (live[i] == 1 && (best < 0 || strcmp(row[i].key, row[best].key) < 0))
                best = (int)i;
        const char *key = best >= 0 ? row[best].key : NULL;
        const struct invrow *inv = NULL;
        if (ii < invl.n && (!key || strcmp(invl.v[ii].r.key, key) <= 0)) {
            inv = &invl.v[ii];
            if (key && strcmp(inv->r.key, key) < 0)
                best = -1; /* inventory-only identity comes first */
            key = inv->r.key;
            ii++;
            /* the same key imported into several shards: the first wins */
            while (ii < invl.n && strcmp(invl.v[ii].r.key, key) == 0)
                ii++;
        }
        if (!key)
            break;
        const nw_ident_row *act = best >= 0 ? &row[best] : NULL;
        nw_store *act_st = best >= 0 ? shards[best] : NULL;
        int kind = act ? nw_store_kind(act->type, act->key, act->human_events, act->machine_events)
                       : (inv->r.kind && nw_kind_from_name(nw_str_c(inv->r.kind)) >= 0
                              ? nw_kind_from_name(nw_str_c(inv->r.kind))
                              : nw_store_kind(inv->r.type ? inv->r.type : "unknown", key, 0, 0));
        json_t *creator = json_object_get(links.creator, key);
        const char *prob = creator ? json_string_value(json_object_get(creator, "identity")) : NULL;
        size_t fbefore = 0; /* findings holds this identity's only */
        size_t cbefore = det ? json_array_size(nw_detect_candidates(det)) : 0;
        if (det) {
            nw_detect_subject subj = {act_st, act, inv ? inv->st : NULL, inv ? &inv->r : NULL, prob};
            int nf = nw_detect_identity(det, &subj, findings, &kind, err);
            if (nf < 0) {
                rc = nf;
                goto out;
            }
        }
        json_t *o = identity_json(act_st, act, inv, opts ? opts->policy : NULL, kind, err);
        if (!o) {
            rc = err->code ? err->code : NW_REPORT_E_STORE;
            goto out;
        }
        add_links(o, &links);
        nw_collect_subject cs = {o,        kind,    act_st, act ? act->id : 0, inv ? inv->r.tags_json : NULL,
                                 findings, fbefore, det && json_array_size(nw_detect_candidates(det)) > cbefore};
        if ((rc = nw_collect_identity(col, &cs, err)) || (rc = spill_identity(fs, findings, err))) {
            json_decref(o);
            goto out;
        }
        const char *prov_s = json_string_value(json_object_get(o, "provider"));
        const char *type_s = json_string_value(json_object_get(o, "type"));
        int prov = nw_provider_from_name(nw_str_c(prov_s ? prov_s : "unknown"));
        m.by_kind[kind]++;
        m.by_prov[prov < 0 ? 0 : prov][kind]++;
        if (kind == NW_KIND_NON_HUMAN)
            count_type(&m, type_s ? type_s : "unknown");
        mr.total[kind]++;
        if (json_array_size(mr.rows[kind]) < mr.limit)
            json_array_append(mr.rows[kind], o);
        fputs(written ? ",\n    " : "\n    ", f);
        dump_indented(f, o, 4);
        json_decref(o);
        written++;
        if (best >= 0) {
            live[best] = nw_ident_cursor_next(cur[best], &row[best], err);
            if (live[best] < 0) {
                rc = live[best];
                goto out;
            }
        }
    }
    fputs(written ? "\n  ],\n" : "],\n", f);
    if ((rc = nw_findings_sort(fs, err)) || (rc = write_findings(f, fs, bykind, bysev, err)))
        goto out;
    fputs(",\n  \"deprovision_candidates\": ", f);
    cands = det ? json_incref((json_t *)nw_detect_candidates(det)) : json_array();
    sort_by_severity(cands);
    dump_indented(f, cands, 2);
    fputs(",\n", f);
    qsort(m.types, m.ntypes, sizeof(m.types[0]), cmp_type);
    json_t *met = json_object();
    json_object_set_new(met, "identities", json_integer(written));
    json_object_set_new(met, "non_human", json_integer(m.by_kind[NW_KIND_NON_HUMAN]));
    json_object_set_new(met, "human", json_integer(m.by_kind[NW_KIND_HUMAN]));
    json_object_set_new(met, "unknown", json_integer(m.by_kind[NW_KIND_UNKNOWN]));
    json_t *bp = json_object();
    for (int p = 1; p < 4; p++) {
        if (!m.by_prov[p][0] && !m.by_prov[p][1] && !m.by_prov[p][2])
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "non_human", json_integer(m.by_prov[p][NW_KIND_NON_HUMAN]));
        json_object_set_new(o, "human", json_integer(m.by_prov[p][NW_KIND_HUMAN]));
        json_object_set_new(o, "unknown", json_integer(m.by_prov[p][NW_KIND_UNKNOWN]));
        json_object_set_new(bp, nw_provider_name(p), o);
    }
    json_object_set_new(met, "by_provider", bp);
    json_t *bt = json_object();
    for (size_t i = 0; i < m.ntypes; i++)
        json_object_set_new(bt, m.types[i].name, json_integer(m.types[i].n));
    json_object_set_new(met, "non_human_by_type", bt);
    {
        json_object_set_new(met, "findings", json_integer((json_int_t)nw_findings_count(fs)));
        json_object_set(met, "findings_by_kind", bykind);
        json_object_set(met, "findings_by_severity", bysev);
        json_object_set_new(met, "deprovision_candidates", json_integer((json_int_t)json_array_size(cands)));
    }
    /* the document without identities[]: compliance, drift, DESIGN.md metrics; other writers read it */
    doc = json_object();
    json_object_update(doc, head);
    json_object_set(doc, "deprovision_candidates", cands);
    json_object_set_new(doc, "metrics", met);
    if ((rc = nw_collect_finish(col, doc, fs, err)))
        goto out;
    fputs("  \"compliance\": ", f);
    dump_indented(f, json_object_get(doc, "compliance"), 2);
    fputs(",\n", f);
    if (json_object_get(doc, "drift")) {
        fputs("  \"drift\": ", f);
        dump_indented(f, json_object_get(doc, "drift"), 2);
        fputs(",\n", f);
    }
    fputs("  \"metrics\": ", f);
    dump_indented(f, met, 2);
    fputs("\n}\n", f);
    if (formats & NW_FMT_JSON) {
        rc = close_tmp(f, tmp, path, err);
    } else { /* built for the other formats only */
        fclose(f);
        unlink(tmp);
    }
    f = NULL;
    if (rc)
        goto out;
    snprintf(path, sizeof path, "%s/report.md", out_dir);
    if ((formats & NW_FMT_MD) && (rc = write_md(path, head, &m, &mr, fs, cands, doc, err)))
        goto out;
    if ((rc = nw_collect_write(col, doc, fs, out_dir, err)))
        goto out;
    if (opts && opts->doc_out)
        *opts->doc_out = json_incref(doc);
    int64_t nfound = (int64_t)nw_findings_count(fs);
    if (opts && opts->findings_out) {
        *opts->findings_out = fs;
        fs = NULL;
    }
    if (sum) {
        sum->identities = written;
        sum->non_human = m.by_kind[NW_KIND_NON_HUMAN];
        sum->human = m.by_kind[NW_KIND_HUMAN];
        sum->unknown = m.by_kind[NW_KIND_UNKNOWN];
        sum->findings = nfound;
        sum->events = all.events;
    }
out:
    if (f) {
        fclose(f);
        unlink(tmp);
    }
    for (size_t i = 0; cur && i < n; i++)
        nw_ident_cursor_close(cur[i]);
    free(cur);
    free(row);
    free(live);
    for (int k = 0; k < 3; k++)
        json_decref(mr.rows[k]);
    for (size_t i = 0; i < m.ntypes; i++)
        free(m.types[i].name);
    json_decref(head);
    json_decref(findings);
    nw_findings_free(fs);
    json_decref(bykind);
    json_decref(bysev);
    json_decref(cands);
    json_decref(links.by_cred);
    json_decref(links.by_origin);
    json_decref(links.creator);
    invlist_free(&invl);
    nw_detect_free(det);
    nw_collect_free(col);
    json_decref(doc);
    return rc;
}

