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

#include "../core/nw_time.h"

static json_t *jtime(int64_t us)
{
    if (us <= 0)
        return json_null();
    char b[40];
    return json_string(nw_time_fmt(us, b));
}

static json_t *jstr(const char *s) { return s && *s ? json_string(s) : json_null(); }

/* ---- per-identity collection ---- */

struct ictx {
    nw_store *st;
    json_t *arr;
    nw_err *err;
    int rc;
    uint64_t by_kind[3];
    json_t *by_provider; /* provider -> {kind -> n} */
    json_t *by_type;     /* type -> n (non-human only) */
    int64_t first, last;
    uint64_t events;
};

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

static void bump(json_t *obj, const char *k1, const char *k2)
{
    json_t *inner = obj;
    if (k2) {
        inner = json_object_get(obj, k1);
        if (!inner) {
            inner = json_object();
            json_object_set_new(obj, k1, inner);
        }
        k1 = k2;
    }
    json_t *v = json_object_get(inner, k1);
    json_object_set_new(inner, k1, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static int ident_cb(void *ctx, const nw_ident_row *r)
{
    struct ictx *c = ctx;
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
    if ((c->rc = nw_store_each_credential(c->st, r->id, cred_cb, creds, c->err))) {
        json_decref(creds);
        json_decref(o);
        return c->rc;
    }
    json_object_set_new(o, "credentials", creds);
    json_object_set_new(o, "owner", json_null());
    struct used_ctx u = {json_array(), 0};
    if ((c->rc = nw_store_each_used(c->st, r->id, used_cb, &u, c->err))) {
        json_decref(u.services);
        json_decref(o);
        return c->rc;
    }
    json_object_set_new(o, "services_used", u.services);
    json_object_set_new(o, "actions_used", json_integer(u.actions));
    json_t *src = json_object();
    json_object_set_new(src, "networks", json_array());
    json_object_set_new(src, "regions", json_array());
    json_object_set_new(src, "user_agents", json_array());
    if ((c->rc = nw_store_each_source(c->st, r->id, source_cb, src, c->err))) {
        json_decref(src);
        json_decref(o);
        return c->rc;
    }
    json_object_set_new(o, "sources", src);
    json_t *last = json_object();
    json_object_set_new(last, "ip", jstr(r->last_ip));
    json_object_set_new(last, "region", jstr(r->last_region));
    json_object_set_new(last, "user_agent", jstr(r->last_ua));
    json_object_set_new(last, "action", jstr(r->last_action));
    json_object_set_new(o, "last_source", last);
    json_object_set_new(o, "origin", jstr(r->origin));
    json_object_set_new(o, "granted", json_null());
    json_array_append_new(c->arr, o);
    if (r->first_seen && (!c->first || r->first_seen < c->first))
        c->first = r->first_seen;
    if (r->last_seen > c->last)
        c->last = r->last_seen;
    c->events += (uint64_t)r->events;
    return 0;
}

static int cmp_ident(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    return strcmp(json_string_value(json_object_get(x, "key")), json_string_value(json_object_get(y, "key")));
}

int nw_report_build(nw_store *const *shards, size_t nshards, const nw_report_opts *opts, json_t **out, nw_err *err)
{
    *out = NULL;
    struct ictx c;
    memset(&c, 0, sizeof c);
    c.arr = json_array();
    c.err = err;
    c.by_provider = json_object();
    c.by_type = json_object();
    int64_t max_time = 0;
    for (size_t i = 0; i < nshards; i++) {
        c.st = shards[i];
        int64_t t = nw_store_max_time(shards[i]);
        if (t > max_time)
            max_time = t;
        int rc = nw_store_each_identity(shards[i], ident_cb, &c, err);
        if (rc) {
            json_decref(c.arr);
            json_decref(c.by_provider);
            json_decref(c.by_type);
            return rc;
        }
    }
    /* shards hold disjoint identities; their union is sorted by key */
    size_t n = json_array_size(c.arr);
    json_t **v = malloc((n ? n : 1) * sizeof(*v));
    if (!v) {
        json_decref(c.arr);
        json_decref(c.by_provider);
        json_decref(c.by_type);
        return nw_err_set(err, NW_REPORT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(c.arr, i));
    qsort(v, n, sizeof(*v), cmp_ident);
    json_t *idents = json_array();
    for (size_t i = 0; i < n; i++) {
        /* metrics from the sorted list: the same bytes whatever the shard order */
        const char *kind = json_string_value(json_object_get(v[i], "kind"));
        int k = nw_kind_from_name(nw_str_c(kind));
        c.by_kind[k < 0 ? 0 : k]++;
        bump(c.by_provider, json_string_value(json_object_get(v[i], "provider")), kind);
        if (k == NW_KIND_NON_HUMAN)
            bump(c.by_type, json_string_value(json_object_get(v[i], "type")), NULL);
        json_array_append_new(idents, v[i]);
    }
    free(v);
    json_decref(c.arr);

    int64_t as_of = opts && opts->as_of ? opts->as_of : max_time;
    int window = opts && opts->window_days ? opts->window_days : 90;
    int64_t gen = opts && opts->generated_at ? opts->generated_at : (int64_t)time(NULL) * NW_US_PER_SEC;

    json_t *doc = json_object();
    json_object_set_new(doc, "schema", json_string("nhiwatch.report/1"));
    json_object_set_new(doc, "as_of", jtime(as_of));
    json_object_set_new(doc, "window_days", json_integer(window));
    json_object_set_new(doc, "generated_at", jtime(gen));
    json_t *inputs = json_object();
    json_object_set_new(inputs, "events", json_integer((json_int_t)c.events));
    json_object_set_new(inputs, "identities", json_integer((json_int_t)n));
    json_object_set_new(inputs, "first_event", jtime(c.first));
    json_object_set_new(inputs, "last_event", jtime(c.last));
    json_object_set_new(doc, "inputs", inputs);
    json_object_set_new(doc, "identities", idents);
    json_object_set_new(doc, "findings", json_array());
    json_object_set_new(doc, "deprovision_candidates", json_array());
    json_t *m = json_object();
    json_object_set_new(m, "identities", json_integer((json_int_t)n));
    json_object_set_new(m, "non_human", json_integer((json_int_t)c.by_kind[NW_KIND_NON_HUMAN]));
    json_object_set_new(m, "human", json_integer((json_int_t)c.by_kind[NW_KIND_HUMAN]));
    json_object_set_new(m, "unknown", json_integer((json_int_t)c.by_kind[NW_KIND_UNKNOWN]));
    json_object_set_new(m, "by_provider", c.by_provider);
    json_object_set_new(m, "non_human_by_type", c.by_type);
    json_object_set_new(doc, "metrics", m);
    *out = doc;
    return 0;
}

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

int nw_report_write_json(const json_t *doc, const char *path, nw_err *err)
{
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp, err);
    if (!f)
        return NW_REPORT_E_WRITE;
    json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    fputc('\n', f);
    return close_tmp(f, tmp, path, err);
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

static void md_identity_table(FILE *f, const json_t *idents, const char *kind, size_t limit)
{
    fputs("| identity | provider | type | last seen | last success | events | denied | credentials | services |\n",
          f);
    fputs("|---|---|---|---|---|---:|---:|---|---|\n", f);
    size_t i, shown = 0, total = 0;
    json_t *o;
    json_array_foreach(idents, i, o)
    {
        if (strcmp(sget(o, "kind"), kind) != 0)
            continue;
        total++;
        if (shown >= limit)
            continue;
        shown++;
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
    if (total > shown)
        fprintf(f, "\n%zu more not shown; report.json lists them all.\n", total - shown);
    if (total == 0)
        fputs("| (none) | | | | | | | | |\n", f);
}

int nw_report_write_md(const json_t *doc, const char *path, nw_err *err)
{
    char tmp[4200];
    FILE *f = open_tmp(path, tmp, sizeof tmp, err);
    if (!f)
        return NW_REPORT_E_WRITE;
    const json_t *m = json_object_get(doc, "metrics");
    const json_t *in = json_object_get(doc, "inputs");
    const json_t *idents = json_object_get(doc, "identities");
    const json_t *findings = json_object_get(doc, "findings");
    fputs("# nhiwatch report\n\n", f);
    fprintf(f, "As of **%s** (window %lld days), generated %s.\n\n", sget(doc, "as_of") ? sget(doc, "as_of") : "-",
            iget(doc, "window_days"), sget(doc, "generated_at") ? sget(doc, "generated_at") : "-");
    fprintf(f, "%lld events from %s to %s; %lld identities: **%lld non-human**, %lld human, %lld unknown.\n\n",
            iget(in, "events"), sget(in, "first_event") ? sget(in, "first_event") : "-",
            sget(in, "last_event") ? sget(in, "last_event") : "-", iget(m, "identities"), iget(m, "non_human"),
            iget(m, "human"), iget(m, "unknown"));
    fputs("## Identities by provider\n\n| provider | non-human | human | unknown |\n|---|---:|---:|---:|\n", f);
    const char *pk;
    json_t *pv;
    json_object_foreach((json_t *)json_object_get(m, "by_provider"), pk, pv)
    {
        fprintf(f, "| %s | %lld | %lld | %lld |\n", pk, iget(pv, "non_human"), iget(pv, "human"), iget(pv, "unknown"));
    }
    fputs("\n## Non-human identities by type\n\n| type | count |\n|---|---:|\n", f);
    json_object_foreach((json_t *)json_object_get(m, "non_human_by_type"), pk, pv)
    {
        fprintf(f, "| %s | %lld |\n", pk, (long long)json_integer_value(pv));
    }
    fprintf(f, "\n## Findings (%zu)\n\n", json_array_size(findings));
    size_t i;
    json_t *fd;
    if (json_array_size(findings) == 0)
        fputs("No findings.\n", f);
    json_array_foreach(findings, i, fd)
    {
        fputs("- **", f);
        md(f, sget(fd, "severity"));
        fputs("** ", f);
        md(f, sget(fd, "kind"));
        fputs(": `", f);
        fputs(sget(fd, "identity") ? sget(fd, "identity") : "-", f);
        fputs("` - ", f);
        md(f, sget(fd, "title"));
        fputs("\n", f);
    }
    fputs("\n## Non-human identities\n\n", f);
    md_identity_table(f, idents, "non_human", 200);
    fputs("\n## Identities of unknown kind\n\n", f);
    md_identity_table(f, idents, "unknown", 50);
    fputs("\n## Human identities (inventoried, never reported as NHI findings)\n\n", f);
    md_identity_table(f, idents, "human", 50);
    return close_tmp(f, tmp, path, err);
}
