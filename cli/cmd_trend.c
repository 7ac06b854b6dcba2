/* cmd_trend.c - `nhiwatch trend --db FILE`: how the recorded metrics moved
 * over the reports kept with `report --record` (schema v3 report_history). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyze/store.h"
#include "../core/nw_time.h"
#include "../reports/drift.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch trend --db FILE [--format table|json] [--last N] [--all]\n"
          "\n"
          "How each metric moved over the reports recorded with `report --record` (or\n"
          "`run --record`), oldest first by as-of time.\n"
          "\n"
          "  --format F   table (default) or json\n"
          "  --last N     the last N recorded reports (default 8 in a table, all in json)\n"
          "  --all        every metric (default in a table: the headline metrics of DESIGN.md)\n",
          f);
}

/* the headline metrics, in this order */
static const char *const headline[] = {
    "non_human",
    "findings",
    "findings_by_severity.critical",
    "findings_by_severity.high",
    "deprovision_candidates",
    "ownership.with_owner_share",
    "ownership.with_expiry_share",
    "ownership.with_rotation_policy_share",
    "standing_privilege.admin_nhis",
    "standing_privilege.admin_unused_share",
    "credentials.median_age_days",
    "credentials.long_lived_share",
    "credentials.long_lived_active",
    "production_access.permanent_write",
};

struct hist {
    json_t *runs;    /* [{seq, recorded_at, as_of}] */
    json_t *flat;    /* [{path: value}] per run */
    json_t *allkeys; /* path -> true, in first-seen order */
    bool bad;
};

static int hist_cb(void *ctx, const nw_history_row *r)
{
    struct hist *h = ctx;
    char b[40];
    json_t *run = json_object();
    json_object_set_new(run, "seq", json_integer(r->seq));
    json_object_set_new(run, "recorded_at", json_string(nw_time_fmt(r->recorded_at, b)));
    json_object_set_new(run, "as_of", r->as_of ? json_string(nw_time_fmt(r->as_of, b)) : json_null());
    json_error_t je;
    json_t *m = json_loads(r->metrics_json ? r->metrics_json : "{}", 0, &je);
    if (!m) {
        h->bad = true;
        m = json_object();
    }
    json_t *fl = nw_metrics_flatten(m);
    json_decref(m);
    const char *k;
    json_t *v;
    json_object_foreach(fl, k, v) json_object_set_new(h->allkeys, k, json_true());
    json_array_append_new(h->runs, run);
    json_array_append_new(h->flat, fl);
    return 0;
}

static void cell(const json_t *v, bool share)
{
    if (json_is_integer(v))
        printf(" %11lld", (long long)json_integer_value(v));
    else if (json_is_real(v) && share)
        printf(" %10.1f%%", json_real_value(v) * 100.0);
    else if (json_is_real(v))
        printf(" %11.1f", json_real_value(v));
    else
        printf(" %11s", "-");
}

int nw_cmd_trend(int argc, char **argv)
{
    enum { O_DB = 256, O_FORMAT, O_LAST, O_ALL };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},     {"format", required_argument, NULL, O_FORMAT},
        {"last", required_argument, NULL, O_LAST}, {"all", no_argument, NULL, O_ALL},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *db = NULL;
    bool json = false, all = false;
    long last = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            db = optarg;
            break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "table") != 0) {
                nw_cli_error("--format '%s': table or json", optarg);
                return NW_EXIT_USAGE;
            }
            break;
        case O_LAST: {
            char *end;
            last = strtol(optarg, &end, 10);
            if (*end || last <= 0) {
                nw_cli_error("--last needs a positive number, not '%s'", optarg);
                return NW_EXIT_USAGE;
            }
            break;
        }
        case O_ALL:
            all = true;
            break;
        case 'h':
            usage(stdout);
            return NW_EXIT_OK;
        default:
            usage(stderr);
            return NW_EXIT_USAGE;
        }
    }
    if (!db || optind != argc) {
        usage(stderr);
        return NW_EXIT_USAGE;
    }
    nw_store *st = NULL;
    nw_err err;
    nw_err_clear(&err);
    nw_store_opts so = {NW_STORE_READONLY, 0};
    if (nw_store_open(db, &so, &st, &err)) {
        nw_cli_error("%s", err.msg);
        return NW_EXIT_ERROR;
    }
    struct hist h = {json_array(), json_array(), json_object(), false};
    int rc = nw_store_each_history(st, hist_cb, &h, &err);
    nw_store_close(st);
    if (rc) {
        nw_cli_error("%s", err.msg);
        goto out;
    }
    if (h.bad)
        nw_cli_error("warning: a recorded entry holds malformed metrics; shown as empty");
    size_t n = json_array_size(h.runs);
    if (!last && !json)
        last = 8;
    size_t from = last && (size_t)last < n ? n - (size_t)last : 0;
    if (json) {
        json_t *o = json_object(), *runs = json_array(), *met = json_object(), *chg = json_object();
        for (size_t i = from; i < n; i++)
            json_array_append(runs, json_array_get(h.runs, i));
        const char *k;
        json_t *v;
        json_object_foreach(h.allkeys, k, v)
        {
            json_t *series = json_array();
            for (size_t i = from; i < n; i++) {
                json_t *x = json_object_get(json_array_get(h.flat, i), k);
                json_array_append(series, x ? x : json_null());
            }
            const json_t *a = json_array_get(series, 0), *b = json_array_get(series, json_array_size(series) - 1);
            if (json_is_integer(a) && json_is_integer(b))
                json_object_set_new(chg, k, json_integer(json_integer_value(b) - json_integer_value(a)));
            else if (json_is_number(a) && json_is_number(b))
                json_object_set_new(chg, k, json_real(json_number_value(b) - json_number_value(a)));
            else
                json_object_set_new(chg, k, json_null());
            json_object_set_new(met, k, series);
        }
        json_object_set_new(o, "runs", runs);
        json_object_set_new(o, "metrics", met);
        json_object_set_new(o, "change", chg);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
        json_decref(o);
        goto out;
    }
    if (!n) {
        printf("No report recorded in %s yet: run `nhiwatch report --record` (or `run --record`).\n", db);
        goto out;
    }
    printf("%zu recorded report(s)%s.\n\n%-44s", n, from ? ", the last shown" : "", "metric (as of)");
    for (size_t i = from; i < n; i++) {
        const char *a = json_string_value(json_object_get(json_array_get(h.runs, i), "as_of"));
        printf(" %11.10s", a ? a : "-");
    }
    printf(" %11s\n", "change");
    const char **keys = NULL;
    size_t nk = 0;
    if (all) {
        keys = malloc(json_object_size(h.allkeys) * sizeof(*keys) + 1);
        const char *k;
        json_t *v;
        json_object_foreach(h.allkeys, k, v)
        {
            if (keys)
                keys[nk++] = k;
        }
    } else {
        keys = malloc(sizeof headline);
        for (size_t i = 0; keys && i < sizeof headline / sizeof headline[0]; i++)
            keys[nk++] = headline[i];
    }
    for (size_t k = 0; k < nk; k++) {
        bool share = strstr(keys[k], "share") != NULL;
        printf("%-44.44s", keys[k]);
        const json_t *first = NULL, *lastv = NULL;
        for (size_t i = from; i < n; i++) {
            const json_t *v = json_object_get(json_array_get(h.flat, i), keys[k]);
            if (i == from)
                first = v;
            lastv = v;
            cell(v, share);
        }
        if (json_is_integer(first) && json_is_integer(lastv))
            printf(" %+11lld", (long long)(json_integer_value(lastv) - json_integer_value(first)));
        else if (json_is_number(first) && json_is_number(lastv) && share)
            printf(" %+7.1f pts", (json_number_value(lastv) - json_number_value(first)) * 100.0);
        else if (json_is_number(first) && json_is_number(lastv))
            printf(" %+11.1f", json_number_value(lastv) - json_number_value(first));
        else
            printf(" %11s", "-");
        putchar('\n');
    }
    free(keys);
out:
    json_decref(h.runs);
    json_decref(h.flat);
    json_decref(h.allkeys);
    return rc ? NW_EXIT_ERROR : NW_EXIT_OK;
}
