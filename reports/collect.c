/* collect.c - metrics, identity cards and candidate details gathered during
 * the report pass; compliance, drift and the extra writers after it. See
 * collect.h; the metric definitions are in docs/reports.md. */
#include "collect.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../core/nw_time.h"
#include "../ingest/event.h"
#include "compliance.h"
#include "csv.h"
#include "drift.h"
#include "html.h"
#include "remediation.h"
#include "report.h"

#define MAX_CARD_DAYS 366
#define MAX_PROVIDERS 4
#define MAX_TYPES 64

/* credential age buckets, in days: [0,30], [31,90], [91,180], [181,365], 366+ */
static const struct {
    const char *name;
    int64_t max;
} age_buckets[] = {{"0-30", 30}, {"31-90", 90}, {"91-180", 180}, {"181-365", 365}, {"366+", INT64_MAX}};
#define NBUCKETS (sizeof age_buckets / sizeof age_buckets[0])

struct ptype {
    char prov[16];
    char type[48];
    int64_t n;
};

struct nw_collect {
    nw_collect_opts o;
    int64_t as_of_day;
    json_t *baseline; /* top-level members of the baseline report, or NULL */
    char *baseline_path;
    /* metrics */
    int64_t nhi, with_owner, with_expiry, with_rotation;
    int64_t admin, admin_unused;
    int64_t long_lived_nhis, short_lived_nhis, long_lived_active;
    int64_t prod_write, prod_tagged;
    int64_t *ages; /* days, one per credential with a known age */
    size_t nages, capages;
    int64_t buckets[NBUCKETS];
    struct ptype pt[MAX_TYPES];
    size_t npt;
    /* cards: the most severe identities, at most max_cards */
    json_t *cards;
    size_t cards_total;
    /* candidates: key -> details */
    json_t *details;
    bool oom;
};

int nw_formats_parse(const char *s, unsigned *out, nw_err *err)
{
    unsigned f = 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        static const struct {
            const char *name;
            unsigned bit;
        } names[] = {{"json", NW_FMT_JSON}, {"md", NW_FMT_MD}, {"markdown", NW_FMT_MD}, {"html", NW_FMT_HTML},
                     {"csv", NW_FMT_CSV},   {"remediation", NW_FMT_REMEDIATION}, {"all", NW_FMT_ALL}};
        bool ok = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == n && strncasecmp(p, names[i].name, n) == 0) {
                f |= names[i].bit;
                ok = true;
            }
        if (!ok && n)
            return nw_err_set(err, -1, "unknown format '%.*s' (known: json, md, html, csv, remediation, all)", (int)n,
                              p);
        p += n;
        if (*p == ',')
            p++;
    }
    if (!f)
        return nw_err_set(err, -1, "no format given");
    *out = f;
    return 0;
}

/* ---- output files ---- */

FILE *nw_out_open(const char *path, char *tmp, size_t cap, nw_err *err)
{
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        nw_err_set(err, NW_COLLECT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        nw_err_set(err, NW_COLLECT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
    }
    return f;
}

int nw_out_close(FILE *f, const char *tmp, const char *path, nw_err *err)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return nw_err_set(err, NW_COLLECT_E_WRITE, "cannot write '%s': %s", path, strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return nw_err_set(err, NW_COLLECT_E_WRITE, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

/* ---- lifecycle ---- */

nw_collect *nw_collect_new(const nw_collect_opts *o, nw_err *err)
{
    nw_collect *c = calloc(1, sizeof(*c));
    if (!c) {
        nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory");
        return NULL;
    }
    c->o = *o;
    if (!c->o.max_cards)
        c->o.max_cards = 500;
    if (!c->o.window_days)
        c->o.window_days = 90;
    c->as_of_day = nw_time_day(o->as_of);
    c->cards = json_array();
    c->details = json_object();
    if (!c->cards || !c->details) {
        nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory");
        goto out_free;
    }
    if (o->baseline) {
        nw_err be;
        nw_err_clear(&be);
        if (nw_baseline_load(o->baseline, &c->baseline, &be)) {
            nw_err_set(err, NW_COLLECT_E_BASELINE, "baseline: %s", be.msg);
            goto out_free;
        }
        c->baseline_path = strdup(o->baseline);
    }
    c->o.baseline = NULL; /* not kept: the caller's string */
    return c;
out_free:
    nw_collect_free(c);
    return NULL;
}

void nw_collect_free(nw_collect *c)
{
    if (!c)
        return;
    json_decref(c->baseline);
    json_decref(c->cards);
    json_decref(c->details);
    free(c->baseline_path);
    free(c->ages);
    free(c);
}

/* ---- helpers ---- */

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t tget(const json_t *o, const char *k)
{
    const char *s = sget(o, k);
    int64_t us = 0;
    if (!s || nw_time_parse(nw_str_c(s), &us))
        return 0;
    return us;
}

static bool long_lived_kind(const char *k)
{
    return k && (strcmp(k, "aws_long_term") == 0 || strcmp(k, "gcp_sa_key") == 0 || strcmp(k, "azure_secret") == 0);
}

/* An inventory credential carries "active"; log-only credentials do not. */
static bool cred_active(const json_t *cr) { return !json_is_false(json_object_get(cr, "active")); }

static bool admin_grant(const json_t *g)
{
    const char *eff = sget(g, "effect");
    return json_is_true(json_object_get(g, "admin")) && eff && strcmp(eff, "deny") != 0 && strcmp(eff, "boundary") != 0;
}

/* tags object (policy or inventory): env / environment = prod / production */
static bool prod_tags(const json_t *tags)
{
    const char *k;
    json_t *v;
    if (!json_is_object(tags))
        return false;
    json_object_foreach((json_t *)tags, k, v)
    {
        if (strcasecmp(k, "env") != 0 && strcasecmp(k, "environment") != 0)
            continue;
        const char *s = json_string_value(v);
        if (s && (strcasecmp(s, "prod") == 0 || strcasecmp(s, "production") == 0))
            return true;
    }
    return false;
}

static void count_ptype(nw_collect *c, const char *prov, const char *type)
{
    for (size_t i = 0; i < c->npt; i++)
        if (strcmp(c->pt[i].prov, prov) == 0 && strcmp(c->pt[i].type, type) == 0) {
            c->pt[i].n++;
            return;
        }
    if (c->npt == MAX_TYPES)
        return;
    snprintf(c->pt[c->npt].prov, sizeof c->pt[0].prov, "%s", prov);
    snprintf(c->pt[c->npt].type, sizeof c->pt[0].type, "%s", type);
    c->pt[c->npt++].n = 1;
}

static void add_age(nw_collect *c, int64_t days)
{
    if (c->nages == c->capages) {
        size_t nc = c->capages ? c->capages * 2 : 256;
        int64_t *na = realloc(c->ages, nc * sizeof(*na));
        if (!na) {
            c->oom = true;
            return;
        }
        c->ages = na;
        c->capages = nc;
    }
    c->ages[c->nages++] = days;
    for (size_t b = 0; b < NBUCKETS; b++)
        if (days <= age_buckets[b].max) {
            c->buckets[b]++;
            break;
        }
}

/* ---- per identity ---- */

struct days {
    int64_t lo, hi; /* day range kept */
    json_t *arr;    /* [[day, ok, bad], ...] for cards, or NULL */
    int64_t win_priv, win_writes, win_events;
    int64_t win_lo;
};

static int day_cb(void *ctx, const nw_day_row *r)
{
    struct days *d = ctx;
    if (r->day > d->hi)
        return 0;
    if (r->day >= d->win_lo) {
        d->win_priv += r->privileged;
        d->win_writes += r->writes;
        d->win_events += r->events;
    }
    if (d->arr && r->day >= d->lo) {
        int64_t bad = r->failures + r->denied;
        if (bad > r->events)
            bad = r->events;
        json_t *e = json_array();
        json_array_append_new(e, json_integer(r->day));
        json_array_append_new(e, json_integer(r->events - bad));
        json_array_append_new(e, json_integer(bad));
        json_array_append_new(d->arr, e);
    }
    return 0;
}

static int card_rank(const json_t *card) { return (int)json_integer_value(json_object_get(card, "rank")); }

/* Is card a less important than b (the one to drop first)? */
static bool card_less(const json_t *a, const json_t *b)
{
    int ra = card_rank(a), rb = card_rank(b);
    if (ra != rb)
        return ra < rb;
    json_int_t na = json_integer_value(json_object_get(a, "nfindings"));
    json_int_t nb = json_integer_value(json_object_get(b, "nfindings"));
    if (na != nb)
        return na < nb;
    return strcmp(sget(a, "key"), sget(b, "key")) > 0;
}

static json_t *first_n(const json_t *arr, size_t n)
{
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(arr) && i < n; i++)
        json_array_append(out, json_array_get(arr, i));
    return out;
}

int nw_collect_identity(nw_collect *c, const nw_collect_subject *s, nw_err *err)
{
    const json_t *o = s->o;
    if (s->kind != NW_KIND_NON_HUMAN)
        return 0;
    const char *prov = sget(o, "provider");
    const char *type = sget(o, "type");
    const char *key = sget(o, "key");
    c->nhi++;
    count_ptype(c, prov ? prov : "unknown", type ? type : "unknown");
    const json_t *pol = json_object_get(o, "policy");
    if (sget(o, "owner"))
        c->with_owner++;
    if (json_is_string(json_object_get(pol, "expires")))
        c->with_expiry++;
    if (json_is_integer(json_object_get(pol, "rotation_days")))
        c->with_rotation++;

    /* credentials: ages (inventory created/rotated of active long-lived ones), lifetime class */
    bool uses_long = false, has_cred = false;
    size_t i;
    const json_t *cr;
    json_array_foreach(json_object_get(o, "credentials"), i, cr)
    {
        const char *k = sget(cr, "kind");
        has_cred = true;
        bool inv = json_object_get(cr, "active") != NULL;
        bool lived = long_lived_kind(k) || (inv && k && strcmp(k, "azure_cert") == 0);
        if (!lived)
            continue;
        if (inv && !cred_active(cr))
            continue;
        uses_long = true;
        if (inv) {
            c->long_lived_active++;
            int64_t born = tget(cr, "rotated");
            int64_t created = tget(cr, "created");
            if (created > born)
                born = created;
            if (born && born <= c->o.as_of)
                add_age(c, (c->o.as_of - born) / NW_US_PER_DAY);
        }
    }
    if (uses_long)
        c->long_lived_nhis++;
    else if (has_cred || json_integer_value(json_object_get(o, "events")) > 0)
        c->short_lived_nhis++;

    bool admin = false;
    const json_t *g;
    json_array_foreach(json_object_get(o, "granted"), i, g) if (admin_grant(g)) admin = true;
    bool prod = prod_tags(json_object_get(pol, "tags"));
    if (!prod && s->tags_json) {
        json_t *t = json_loads(s->tags_json, 0, NULL);
        prod = prod_tags(t);
        json_decref(t);
    }
    bool jit = json_is_true(json_object_get(pol, "jit"));

    /* findings of this identity: the worst severity, for the cards */
    size_t nf = json_array_size(s->findings) - s->from;
    int worst = -1;
    for (size_t k = s->from; k < json_array_size(s->findings); k++) {
        int r = nw_severity_rank(sget(json_array_get(s->findings, k), "severity"));
        if (r > worst)
            worst = r;
    }
    bool card = false;
    size_t drop = (size_t)-1;
    if (nf) {
        c->cards_total++;
        if (json_array_size(c->cards) < c->o.max_cards) {
            card = true;
        } else {
            /* the least important card kept: replace it when this one matters more */
            for (size_t k = 0; k < json_array_size(c->cards); k++)
                if (drop == (size_t)-1 || card_less(json_array_get(c->cards, k), json_array_get(c->cards, drop)))
                    drop = k;
            json_t *probe = json_object();
            json_object_set_new(probe, "rank", json_integer(worst));
            json_object_set_new(probe, "nfindings", json_integer((json_int_t)nf));
            json_object_set_new(probe, "key", json_string(key ? key : ""));
            card = card_less(json_array_get(c->cards, drop), probe);
            json_decref(probe);
        }
    }

    struct days d = {0};
    d.hi = c->as_of_day;
    d.win_lo = c->as_of_day - c->o.window_days + 1;
    if (card) {
        int64_t first = tget(o, "first_seen");
        int64_t lo = c->as_of_day - c->o.window_days + 1;
        if (first && nw_time_day(first) < lo)
            lo = nw_time_day(first);
        if (lo < c->as_of_day - (MAX_CARD_DAYS - 1))
            lo = c->as_of_day - (MAX_CARD_DAYS - 1);
        d.lo = lo;
        d.arr = json_array();
    }
    if (s->act_st && (card || admin || prod)) {
        int rc = nw_store_each_day(s->act_st, s->act_id, day_cb, &d, err);
        if (rc) {
            json_decref(d.arr);
            return rc;
        }
    }
    if (admin) {
        c->admin++;
        if (d.win_priv == 0)
            c->admin_unused++;
    }
    if (prod) {
        c->prod_tagged++;
        if (!jit && (admin || d.win_writes > 0))
            c->prod_write++;
    }

    if (card) {
        json_t *k = json_object();
        json_object_set_new(k, "key", json_string(key ? key : ""));
        json_object_set_new(k, "rank", json_integer(worst));
        json_object_set_new(k, "nfindings", json_integer((json_int_t)nf));
        static const char *const copy[] = {"provider", "type", "display_name", "owner", "account", "first_seen",
                                           "last_seen", "last_success", "events", "failures", "denied",
                                           "writes", "privileged", "last_source", "probable_owner", "policy"};
        for (size_t q = 0; q < sizeof copy / sizeof copy[0]; q++) {
            json_t *v = json_object_get(o, copy[q]);
            if (v)
                json_object_set(k, copy[q], v);
        }
        json_object_set_new(k, "services_used", first_n(json_object_get(o, "services_used"), 16));
        json_object_set_new(k, "services_total",
                            json_integer((json_int_t)json_array_size(json_object_get(o, "services_used"))));
        json_t *creds = json_array();
        size_t ncred = 0;
        json_array_foreach(json_object_get(o, "credentials"), i, cr)
        {
            const char *ck = sget(cr, "kind");
            if (ck && strcmp(ck, "aws_temporary") == 0)
                continue; /* sessions: counted, not listed */
            if (ncred++ < 8)
                json_array_append(creds, (json_t *)cr);
        }
        json_object_set_new(k, "credentials", creds);
        json_object_set_new(k, "credentials_total", json_integer((json_int_t)json_array_size(json_object_get(o, "credentials"))));
        json_t *gr = json_array();
        size_t ng = 0;
        json_array_foreach(json_object_get(o, "granted"), i, g)
        {
            if (ng++ < 12)
                json_array_append(gr, (json_t *)g);
        }
        json_object_set_new(k, "granted", gr);
        json_object_set_new(k, "granted_total", json_integer((json_int_t)json_array_size(json_object_get(o, "granted"))));
        json_t *fids = json_array();
        for (size_t q = s->from; q < json_array_size(s->findings); q++)
            json_array_append_new(fids, json_string(sget(json_array_get(s->findings, q), "id")));
        json_object_set_new(k, "findings", fids);
        json_object_set_new(k, "day_lo", json_integer(d.lo));
        json_object_set_new(k, "day_hi", json_integer(d.hi));
        json_object_set_new(k, "days", d.arr);
        d.arr = NULL;
        if (drop != (size_t)-1 && json_array_size(c->cards) >= c->o.max_cards)
            json_array_set_new(c->cards, drop, k);
        else
            json_array_append_new(c->cards, k);
    }
    json_decref(d.arr);

    if (s->candidate && key) {
        json_t *det = json_object();
        int64_t lu = tget(o, "last_success");
        int64_t plu = tget(json_object_get(o, "inventory"), "provider_last_used");
        json_array_foreach(json_object_get(o, "credentials"), i, cr)
        {
            int64_t t = tget(cr, "provider_last_used");
            if (t > plu)
                plu = t;
        }
        if (plu > lu)
            lu = plu;
        char b[40];
        json_object_set_new(det, "last_used", lu ? json_string(nw_time_fmt(lu, b)) : json_null());
        json_t *creds = json_array();
        json_array_foreach(json_object_get(o, "credentials"), i, cr)
        {
            const char *k = sget(cr, "kind");
            bool inv = json_object_get(cr, "active") != NULL;
            if (!(long_lived_kind(k) || (inv && k && strcmp(k, "azure_cert") == 0)) || (inv && !cred_active(cr)))
                continue;
            json_t *e = json_object();
            json_object_set_new(e, "id", json_string(sget(cr, "id") ? sget(cr, "id") : ""));
            json_object_set_new(e, "kind", json_string(k));
            json_array_append_new(creds, e);
        }
        json_object_set_new(det, "credentials", creds);
        /* the credentials of its unused-credential findings */
        json_t *unused = json_array();
        for (size_t k = s->from; k < json_array_size(s->findings); k++) {
            const json_t *f = json_array_get(s->findings, k);
            const char *fk = sget(f, "kind"), *fc = sget(f, "credential");
            if (!fk || strcmp(fk, "unused_credential") != 0 || !fc)
                continue;
            const char *ck = NULL;
            json_array_foreach(json_object_get(o, "credentials"), i, cr) if (sget(cr, "id") && strcmp(sget(cr, "id"), fc) == 0) ck =
                sget(cr, "kind");
            json_t *e = json_object();
            json_object_set_new(e, "id", json_string(fc));
            json_object_set_new(e, "kind", ck ? json_string(ck) : json_null());
            json_array_append_new(unused, e);
        }
        json_object_set_new(det, "unused_credentials", unused);
        json_object_set_new(c->details, key, det);
    }
    if (c->oom)
        return nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory");
    return 0;
}

/* ---- after the pass ---- */

static json_t *share(int64_t num, int64_t den)
{
    if (den <= 0)
        return json_null();
    return json_real(round((double)num / (double)den * 10000.0) / 10000.0);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_pt(const void *a, const void *b)
{
    const struct ptype *x = a, *y = b;
    int r = strcmp(x->prov, y->prov);
    return r ? r : strcmp(x->type, y->type);
}

static int cmp_card(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    if (card_less(x, y))
        return 1;
    if (card_less(y, x))
        return -1;
    return 0;
}

static void add_metrics(nw_collect *c, json_t *met)
{
    qsort(c->pt, c->npt, sizeof c->pt[0], cmp_pt);
    json_t *bpt = json_object();
    for (size_t i = 0; i < c->npt; i++) {
        json_t *p = json_object_get(bpt, c->pt[i].prov);
        if (!p) {
            p = json_object();
            json_object_set_new(bpt, c->pt[i].prov, p);
        }
        json_object_set_new(p, c->pt[i].type, json_integer(c->pt[i].n));
    }
    json_object_set_new(met, "non_human_by_provider_type", bpt);

    json_t *own = json_object();
    json_object_set_new(own, "non_human", json_integer(c->nhi));
    json_object_set_new(own, "with_owner", json_integer(c->with_owner));
    json_object_set_new(own, "with_owner_share", share(c->with_owner, c->nhi));
    json_object_set_new(own, "with_expiry", json_integer(c->with_expiry));
    json_object_set_new(own, "with_expiry_share", share(c->with_expiry, c->nhi));
    json_object_set_new(own, "with_rotation_policy", json_integer(c->with_rotation));
    json_object_set_new(own, "with_rotation_policy_share", share(c->with_rotation, c->nhi));
    json_object_set_new(met, "ownership", own);

    json_t *sp = json_object();
    json_object_set_new(sp, "admin_nhis", json_integer(c->admin));
    json_object_set_new(sp, "admin_share", share(c->admin, c->nhi));
    json_object_set_new(sp, "admin_unused", json_integer(c->admin_unused));
    json_object_set_new(sp, "admin_unused_share", share(c->admin_unused, c->admin));
    json_object_set_new(met, "standing_privilege", sp);

    json_t *cr = json_object();
    json_object_set_new(cr, "with_known_age", json_integer((json_int_t)c->nages));
    if (c->nages) {
        qsort(c->ages, c->nages, sizeof(*c->ages), cmp_i64);
        double med = c->nages % 2 ? (double)c->ages[c->nages / 2]
                                  : ((double)c->ages[c->nages / 2 - 1] + (double)c->ages[c->nages / 2]) / 2.0;
        json_object_set_new(cr, "median_age_days", json_real(med));
        json_object_set_new(cr, "max_age_days", json_integer(c->ages[c->nages - 1]));
    } else {
        json_object_set_new(cr, "median_age_days", json_null());
        json_object_set_new(cr, "max_age_days", json_null());
    }
    json_t *ad = json_object();
    for (size_t b = 0; b < NBUCKETS; b++)
        json_object_set_new(ad, age_buckets[b].name, json_integer(c->buckets[b]));
    json_object_set_new(cr, "age_days", ad);
    json_object_set_new(cr, "long_lived_active", json_integer(c->long_lived_active));
    json_object_set_new(cr, "nhis_long_lived", json_integer(c->long_lived_nhis));
    json_object_set_new(cr, "nhis_short_lived_only", json_integer(c->short_lived_nhis));
    json_object_set_new(cr, "long_lived_share", share(c->long_lived_nhis, c->long_lived_nhis + c->short_lived_nhis));
    json_object_set_new(met, "credentials", cr);

    json_t *pw = json_object();
    json_object_set_new(pw, "prod_tagged", json_integer(c->prod_tagged));
    json_object_set_new(pw, "permanent_write", json_integer(c->prod_write));
    json_object_set_new(pw, "permanent_write_share", share(c->prod_write, c->nhi));
    json_object_set_new(met, "production_access", pw);
}

int nw_collect_finish(nw_collect *c, json_t *doc, const nw_findings *fs, nw_err *err)
{
    json_t *met = json_object_get(doc, "metrics");
    if (met)
        add_metrics(c, met);
    json_t *comp = nw_compliance_build(c->o.rules, fs, err);
    if (!comp)
        return err->code ? err->code : nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory");
    json_object_set_new(doc, "compliance", comp);
    if (c->baseline) {
        json_t *dr = nw_drift_build(c->baseline, doc, fs, c->baseline_path, err);
        if (!dr)
            return err->code ? err->code : nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory");
        json_object_set_new(doc, "drift", dr);
    }
    /* cards: most severe first */
    size_t n = json_array_size(c->cards);
    if (n > 1) {
        json_t **v = malloc(n * sizeof(*v));
        if (!v)
            return nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            v[i] = json_incref(json_array_get(c->cards, i));
        qsort(v, n, sizeof(*v), cmp_card);
        json_array_clear(c->cards);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(c->cards, v[i]);
        free(v);
    }
    return c->oom ? nw_err_set(err, NW_COLLECT_E_NOMEM, "out of memory") : 0;
}

int nw_collect_write(nw_collect *c, const json_t *doc, const nw_findings *fs, const char *out_dir, nw_err *err)
{
    char path[4096];
    int rc = 0;
    if (c->o.formats & NW_FMT_HTML) {
        snprintf(path, sizeof path, "%s/report.html", out_dir);
        if ((rc = nw_html_write(path, doc, fs, c->cards, c->cards_total, err)))
            return rc;
    }
    if (c->o.formats & NW_FMT_CSV) {
        snprintf(path, sizeof path, "%s/deprovision.csv", out_dir);
        if ((rc = nw_csv_write(path, doc, c->details, err)))
            return rc;
    }
    if (c->o.formats & NW_FMT_REMEDIATION) {
        snprintf(path, sizeof path, "%s/remediation", out_dir);
        if ((rc = nw_remediation_write(path, doc, c->details, err)))
            return rc;
    }
    return 0;
}

/* ---- Markdown sections ---- */

static void md(FILE *f, const char *s)
{
    if (!s) {
        fputs("-", f);
        return;
    }
    for (; *s; s++) {
        if (strchr("|*_`<>[]\\", *s))
            fputc('\\', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
}

static void md_num(FILE *f, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(f, "%.4g", json_real_value(v));
    else
        fputs("-", f);
}

static void md_share(FILE *f, const json_t *v)
{
    if (json_is_number(v))
        fprintf(f, "%.1f%%", json_number_value(v) * 100.0);
    else
        fputs("-", f);
}

void nw_collect_md(const json_t *doc, FILE *f)
{
    const json_t *met = json_object_get(doc, "metrics");
    const json_t *own = json_object_get(met, "ownership");
    const json_t *sp = json_object_get(met, "standing_privilege");
    const json_t *cr = json_object_get(met, "credentials");
    const json_t *pw = json_object_get(met, "production_access");
    const json_t *drift = json_object_get(doc, "drift");
    const json_t *dm = json_object_get(drift, "metrics");
    fputs("\n## Metrics\n\n| metric | value |", f);
    fputs(dm ? " change |\n|---|---:|---:|\n" : "\n|---|---:|\n", f);
    static const struct {
        const char *label, *obj, *key, *path;
        bool pct;
    } rows[] = {
        {"NHIs with an owner", "ownership", "with_owner_share", "ownership.with_owner_share", true},
        {"NHIs with an expiry", "ownership", "with_expiry_share", "ownership.with_expiry_share", true},
        {"NHIs with a rotation policy", "ownership", "with_rotation_policy_share", "ownership.with_rotation_policy_share", true},
        {"NHIs holding admin-class grants", "standing_privilege", "admin_nhis", "standing_privilege.admin_nhis", false},
        {"... of which unused (no privileged call in the window)", "standing_privilege", "admin_unused_share",
         "standing_privilege.admin_unused_share", true},
        {"credentials with a known age", "credentials", "with_known_age", "credentials.with_known_age", false},
        {"median credential age (days)", "credentials", "median_age_days", "credentials.median_age_days", false},
        {"NHIs using long-lived credentials", "credentials", "long_lived_share", "credentials.long_lived_share", true},
        {"NHIs with permanent production write access", "production_access", "permanent_write",
         "production_access.permanent_write", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const json_t *v = json_object_get(json_object_get(met, rows[i].obj), rows[i].key);
        fprintf(f, "| %s | ", rows[i].label);
        if (rows[i].pct)
            md_share(f, v);
        else
            md_num(f, v);
        if (dm) {
            const json_t *ch = json_object_get(json_object_get(dm, rows[i].path), "change");
            fputs(" | ", f);
            if (json_is_number(ch) && rows[i].pct)
                fprintf(f, "%+.1f pts", json_number_value(ch) * 100.0);
            else if (json_is_integer(ch))
                fprintf(f, "%+lld", (long long)json_integer_value(ch));
            else if (json_is_real(ch))
                fprintf(f, "%+.4g", json_real_value(ch));
            else
                fputs("-", f);
        }
        fputs(" |\n", f);
    }
    (void)own;
    (void)sp;
    (void)pw;
    const json_t *ad = json_object_get(cr, "age_days");
    if (json_object_size(ad)) {
        fputs("\nCredential ages (active long-lived credentials with a creation or rotation date): ", f);
        const char *k;
        json_t *v;
        int first = 1;
        json_object_foreach((json_t *)ad, k, v)
        {
            fprintf(f, "%s%s days: %lld", first ? "" : ", ", k, (long long)json_integer_value(v));
            first = 0;
        }
        fputs(".\n", f);
    }

    const json_t *comp = json_object_get(doc, "compliance");
    const json_t *ctl = json_object_get(comp, "controls");
    fprintf(f, "\n## Compliance (%zu controls)\n\n", json_array_size(ctl));
    if (json_array_size(ctl)) {
        fputs("| framework | control | status | findings | identities | rules |", f);
        fputs(drift ? " change |\n|---|---|---|---:|---:|---|---|\n" : "\n|---|---|---|---:|---:|---|\n", f);
        size_t i;
        const json_t *x;
        json_array_foreach(ctl, i, x)
        {
            fputs("| ", f);
            md(f, sget(x, "framework"));
            fputs(" | ", f);
            md(f, sget(x, "control"));
            fprintf(f, " | %s | %lld | %lld | ", strcmp(sget(x, "status"), "fail") == 0 ? "**FAIL**" : "pass",
                    (long long)json_integer_value(json_object_get(x, "findings")),
                    (long long)json_integer_value(json_object_get(x, "identities")));
            size_t j;
            const json_t *r;
            json_array_foreach(json_object_get(x, "rules"), j, r)
            {
                if (j)
                    fputs(", ", f);
                md(f, json_string_value(r));
            }
            if (drift) {
                fputs(" | ", f);
                md(f, sget(x, "change"));
            }
            fputs(" |\n", f);
        }
    }
    if (!drift)
        return;
    const json_t *cnt = json_object_get(drift, "counts");
    fprintf(f, "\n## Drift since the baseline\n\nBaseline as of %s: %lld new, %lld resolved, %lld persisting (%lld escalated).\n",
            sget(json_object_get(drift, "baseline"), "as_of") ? sget(json_object_get(drift, "baseline"), "as_of") : "-",
            (long long)json_integer_value(json_object_get(cnt, "new")),
            (long long)json_integer_value(json_object_get(cnt, "resolved")),
            (long long)json_integer_value(json_object_get(cnt, "persisting")),
            (long long)json_integer_value(json_object_get(cnt, "escalated")));
    static const char *const lists[] = {"new", "resolved"};
    for (size_t l = 0; l < 2; l++) {
        const json_t *arr = json_object_get(drift, lists[l]);
        if (!json_array_size(arr))
            continue;
        fprintf(f, "\n### %s findings\n\n| severity | rule | identity | id |\n|---|---|---|---|\n",
                l == 0 ? "New" : "Resolved");
        size_t i;
        const json_t *x;
        json_array_foreach(arr, i, x)
        {
            if (i >= 200) {
                fprintf(f, "\n%zu more in report.json.\n", json_array_size(arr) - 200);
                break;
            }
            fputs("| ", f);
            md(f, sget(x, "severity"));
            fputs(" | ", f);
            md(f, sget(x, "rule"));
            fputs(" | ", f);
            md(f, sget(x, "identity"));
            fputs(" | ", f);
            md(f, sget(x, "id"));
            fputs(" |\n", f);
        }
    }
}
