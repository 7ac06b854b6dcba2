/* cmd_inventory.c - `nhiwatch inventory`: the identities in a database. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyze/store.h"
#include "../core/nw_time.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch inventory --db FILE|DIR [--db ...] [--provider aws|azure|gcp]\n"
          "                          [--kind non_human|human|unknown] [--type TYPE] [--format table|json|csv]\n"
          "\n"
          "List identities (one line each) with provider, kind, type, first and last\n"
          "activity, event counts and credentials. Several databases (shards with disjoint\n"
          "identities; a directory means every *.db in it) are merged in key order.\n",
          f);
}

enum fmt { F_TABLE, F_JSON, F_CSV };

struct inv {
    nw_store *st;
    const char *provider, *kind, *type;
    enum fmt fmt;
    size_t n;
    char creds[1024];
};

static int cred_cb(void *ctx, const nw_cred_row *r)
{
    struct inv *v = ctx;
    size_t l = strlen(v->creds);
    if (l + strlen(r->cred_id) + 4 < sizeof v->creds)
        snprintf(v->creds + l, sizeof v->creds - l, "%s%s", l ? " " : "", r->cred_id);
    return 0;
}

static void csv(const char *s)
{
    if (!s)
        return;
    bool q = strpbrk(s, ",\"\n\r") != NULL;
    /* a leading = + - @ would be a formula in a spreadsheet */
    bool formula = strchr("=+-@", s[0]) != NULL && s[0];
    if (q || formula)
        putchar('"');
    if (formula)
        putchar('\'');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    if (q || formula)
        putchar('"');
}

static void jstr(const char *s)
{
    if (!s) {
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int ident_cb(void *ctx, const nw_ident_row *r)
{
    struct inv *v = ctx;
    const char *kind = nw_kind_name(nw_store_kind(r->type, r->key, r->human_events, r->machine_events));
    if (v->provider && strcmp(v->provider, r->provider) != 0)
        return 0;
    if (v->kind && strcmp(v->kind, kind) != 0)
        return 0;
    if (v->type && strcmp(v->type, r->type) != 0)
        return 0;
    v->creds[0] = '\0';
    nw_err err;
    nw_err_clear(&err);
    nw_store_each_credential(v->st, r->id, cred_cb, v, &err);
    char f[40], l[40];
    nw_time_fmt(r->first_seen, f);
    nw_time_fmt(r->last_seen, l);
    switch (v->fmt) {
    case F_TABLE:
        printf("%-64s %-6s %-10s %-18s %-20s %-20s %10lld %8lld  %s\n", r->key, r->provider, kind, r->type, f, l,
               (long long)r->events, (long long)r->denied, v->creds);
        break;
    case F_CSV:
        csv(r->key);
        printf(",%s,%s,", r->provider, kind);
        csv(r->type);
        printf(",%s,%s,%lld,%lld,%lld,", f, l, (long long)r->events, (long long)r->failures, (long long)r->denied);
        csv(v->creds);
        putchar('\n');
        break;
    case F_JSON:
        printf("%s{\"key\":", v->n ? ",\n " : "[\n ");
        jstr(r->key);
        printf(",\"provider\":\"%s\",\"kind\":\"%s\",\"type\":", r->provider, kind);
        jstr(r->type);
        printf(",\"first_seen\":\"%s\",\"last_seen\":\"%s\",\"events\":%lld,\"failures\":%lld,\"denied\":%lld,"
               "\"credentials\":",
               f, l, (long long)r->events, (long long)r->failures, (long long)r->denied);
        jstr(v->creds);
        putchar('}');
        break;
    }
    v->n++;
    return 0;
}

#define MAX_DBS 256

/* The identities of every shard in key order: a k-way merge of one cursor
 * per shard (shards hold disjoint identities; were a key in several, each
 * row is listed). */
static int merge_identities(struct inv *v, nw_store *const *st, size_t n, nw_err *err)
{
    if (n == 1) {
        v->st = st[0];
        return nw_store_each_identity(st[0], ident_cb, v, err);
    }
    nw_ident_cursor *cur[MAX_DBS] = {NULL};
    nw_ident_row row[MAX_DBS];
    int live[MAX_DBS];
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if ((rc = nw_store_ident_cursor(st[i], &cur[i], err)))
            break;
        live[i] = nw_ident_cursor_next(cur[i], &row[i], err);
        if (live[i] < 0)
            rc = live[i];
    }
    while (!rc) {
        int best = -1;
        for (size_t i = 0; i < n; i++)
            if (live[i] == 1 && (best < 0 || strcmp(row[i].key, row[best].key) < 0))
                best = (int)i;
        if (best < 0)
            break;
        v->st = st[best];
        if ((rc = ident_cb(v, &row[best])))
            break;
        live[best] = nw_ident_cursor_next(cur[best], &row[best], err);
        if (live[best] < 0)
            rc = live[best];
    }
    for (size_t i = 0; i < n; i++)
        nw_ident_cursor_close(cur[i]);
    return rc;
}

int nw_cmd_inventory(int argc, char **argv)
{
    enum { O_DB = 256, O_PROV, O_KIND, O_TYPE, O_FMT };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},     {"provider", required_argument, NULL, O_PROV},
        {"kind", required_argument, NULL, O_KIND}, {"type", required_argument, NULL, O_TYPE},
        {"format", required_argument, NULL, O_FMT}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct inv v;
    memset(&v, 0, sizeof v);
    nw_cli_dbs dbs = {NULL, 0, 0};
    nw_store *st[MAX_DBS];
    size_t opened = 0;
    int c, rc = NW_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            if (nw_cli_dbs_add(&dbs, optarg, MAX_DBS, NULL))
                goto out_free;
            break;
        case O_PROV:
            v.provider = optarg;
            break;
        case O_KIND:
            v.kind = optarg;
            if (nw_kind_from_name(nw_str_c(optarg)) < 0) {
                nw_cli_error("--kind must be non_human, human or unknown");
                goto out_free;
            }
            break;
        case O_TYPE:
            v.type = optarg;
            break;
        case O_FMT:
            if (strcmp(optarg, "table") == 0)
                v.fmt = F_TABLE;
            else if (strcmp(optarg, "json") == 0)
                v.fmt = F_JSON;
            else if (strcmp(optarg, "csv") == 0)
                v.fmt = F_CSV;
            else {
                nw_cli_error("--format must be table, json or csv");
                goto out_free;
            }
            break;
        case 'h':
            usage(stdout);
            rc = NW_EXIT_OK;
            goto out_free;
        default:
            usage(stderr);
            goto out_free;
        }
    }
    if (dbs.n == 0 && nw_cli_dbs_add(&dbs, "nhiwatch.db", MAX_DBS, NULL))
        goto out_free;
    nw_err err;
    nw_err_clear(&err);
    rc = NW_EXIT_ERROR;
    nw_store_opts so = {NW_STORE_READONLY, 0};
    for (; opened < dbs.n; opened++) {
        if (nw_store_open(dbs.path[opened], &so, &st[opened], &err)) {
            nw_cli_error("%s", err.msg);
            goto out_free;
        }
    }
    if (v.fmt == F_TABLE)
        printf("%-64s %-6s %-10s %-18s %-20s %-20s %10s %8s  %s\n", "IDENTITY", "PROV", "KIND", "TYPE", "FIRST SEEN",
               "LAST SEEN", "EVENTS", "DENIED", "CREDENTIALS");
    else if (v.fmt == F_CSV)
        puts("identity,provider,kind,type,first_seen,last_seen,events,failures,denied,credentials");
    int src = merge_identities(&v, st, opened, &err);
    if (v.fmt == F_JSON)
        puts(v.n ? "\n]" : "[]");
    if (src) {
        nw_cli_error("%s", err.msg);
        goto out_free;
    }
    rc = NW_EXIT_OK;
out_free:
    for (size_t i = 0; i < opened; i++)
        nw_store_close(st[i]);
    nw_cli_dbs_free(&dbs);
    return rc;
}
