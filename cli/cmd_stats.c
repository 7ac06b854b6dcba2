/* cmd_stats.c - `nhiwatch stats`: what was ingested. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../analyze/store.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch stats --db FILE [--files]\n"
          "\n"
          "Counters of everything ingested into the database (files, records, events per\n"
          "provider, duplicates, skipped and bad records by reason), the files with\n"
          "problems (all files with --files), and the newest bad-input examples.\n",
          f);
}

static int counter_cb(void *ctx, const char *name, int64_t v)
{
    (void)ctx;
    printf("  %-40s %lld\n", name, (long long)v);
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

int nw_cmd_stats(int argc, char **argv)
{
    enum { O_DB = 256, O_FILES };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"files", no_argument, NULL, O_FILES},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = "nhiwatch.db";
    bool all = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            db = optarg;
            break;
        case O_FILES:
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
    nw_err err;
    nw_err_clear(&err);
    nw_store *st = NULL;
    nw_store_opts so = {NW_STORE_READONLY, 0};
    if (nw_store_open(db, &so, &st, &err)) {
        nw_cli_error("%s", err.msg);
        return NW_EXIT_ERROR;
    }
    printf("%s\ncounters:\n", db);
    int rc = nw_store_each_counter(st, counter_cb, NULL, &err);
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
        nw_cli_error("%s", err.msg);
        return NW_EXIT_ERROR;
    }
    return NW_EXIT_OK;
}
