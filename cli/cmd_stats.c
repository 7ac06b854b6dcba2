/* cmd_stats.c - `nhiwatch stats`: what was ingested. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyze/store.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch stats --db FILE|DIR [--db FILE|DIR ...] [--files]\n"
          "\n"
          "Counters of everything ingested into the database (files, records, events per\n"
          "provider, duplicates, skipped and bad records by reason), the files with\n"
          "problems (all files with --files), and the newest bad-input examples.\n"
          "A directory (`analyze --shard-dir DIR`) means every *.db file in it, sorted by\n"
          "name; with several databases each is listed, then the counters summed.\n",
          f);
}

/* counters summed over the databases, in order of first appearance */
struct totals {
    char **name;
    int64_t *v;
    size_t n, cap;
};

static int counter_cb(void *ctx, const char *name, int64_t v)
{
    struct totals *t = ctx;
    printf("  %-40s %lld\n", name, (long long)v);
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->name[i], name) == 0) {
            t->v[i] += v;
            return 0;
        }
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 32;
        char **nn = realloc(t->name, nc * sizeof(*nn));
        if (nn)
            t->name = nn;
        int64_t *nv = realloc(t->v, nc * sizeof(*nv));
        if (nv)
            t->v = nv;
        if (!nn || !nv)
            return NW_STORE_E_NOMEM;
        t->cap = nc;
    }
    if (!(t->name[t->n] = strdup(name)))
        return NW_STORE_E_NOMEM;
    t->v[t->n++] = v;
    return 0;
}

static int input_cb(void *ctx, const nw_input_info *in)
{
    bool all = *(bool *)ctx;
    if (!all && in->bad == 0 && strcmp(in->status, "ok") == 0)
        return 0;
    printf("  %-8s records %-8lld events %-8lld dup %-8lld skipped %-6lld bad %-6lld %s\n", in->status,
           (long long)in->records, (long long)in->events, (long long)in->duplicates, (long long)in->skipped,
           (long long)in->bad, in->path);
    return 0;
}

static int bad_cb(void *ctx, const char *source, int64_t line, int64_t record, const char *reason)
{
    (void)ctx;
    printf("  %s", source ? source : "?");
    if (line > 0)
        printf(": line %lld", (long long)line);
    if (record > 0)
        printf(": record %lld", (long long)record);
    printf(": %s\n", reason ? reason : "");
    return 0;
}

static int one_db(const char *db, bool all, struct totals *t)
{
    nw_err err;
    nw_err_clear(&err);
    nw_store *st = NULL;
    nw_store_opts so = {NW_STORE_READONLY, 0};
    if (nw_store_open(db, &so, &st, &err)) {
        nw_cli_error("%s", err.msg);
        return NW_EXIT_ERROR;
    }
    printf("%s\ncounters:\n", db);
    int rc = nw_store_each_counter(st, counter_cb, t, &err);
    if (!rc) {
        printf("%s:\n", all ? "files" : "files with problems");
        rc = nw_store_each_input(st, input_cb, &all, &err);
    }
    if (!rc) {
        printf("bad input (newest kept):\n");
        rc = nw_store_each_bad(st, bad_cb, NULL, &err);
    }
    nw_store_close(st);
    if (rc) {
        nw_cli_error("'%s': %s", db, rc == NW_STORE_E_NOMEM && !err.msg[0] ? "out of memory" : err.msg);
        return NW_EXIT_ERROR;
    }
    return NW_EXIT_OK;
}

#define MAX_DBS 4096

int nw_cmd_stats(int argc, char **argv)
{
    enum { O_DB = 256, O_FILES };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"files", no_argument, NULL, O_FILES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    nw_cli_dbs dbs = {NULL, 0, 0};
    bool all = false;
    int c, rc = NW_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            if (nw_cli_dbs_add(&dbs, optarg, MAX_DBS, NULL))
                goto out_free;
            break;
        case O_FILES:
            all = true;
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
    struct totals t = {NULL, NULL, 0, 0};
    rc = NW_EXIT_OK;
    for (size_t i = 0; i < dbs.n && rc == NW_EXIT_OK; i++) {
        if (i)
            putchar('\n');
        rc = one_db(dbs.path[i], all, &t);
    }
    if (rc == NW_EXIT_OK && dbs.n > 1) {
        printf("\ntotal over %zu databases\ncounters:\n", dbs.n);
        for (size_t i = 0; i < t.n; i++)
            printf("  %-40s %lld\n", t.name[i], (long long)t.v[i]);
    }
    for (size_t i = 0; i < t.n; i++)
        free(t.name[i]);
    free(t.name);
    free(t.v);
out_free:
    nw_cli_dbs_free(&dbs);
    return rc;
}
