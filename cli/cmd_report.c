/* cmd_report.c - `nhiwatch report --db A.db [--db B.db ...]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyze/policy.h"
#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch report --db FILE [--db FILE ...] [--out DIR] [--as-of TIME] [--policy FILE]\n"
          "                       [--rules DIR] [--quiet]\n"
          "\n"
          "Write report.json and report.md from one database, or from the shards that\n"
          "several `analyze` workers wrote (each holds a disjoint set of identities).\n",
          f);
}

#define MAX_SHARDS 256

int nw_cmd_report(int argc, char **argv)
{
    enum { O_DB = 256, O_OUT, O_ASOF, O_POLICY, O_RULES };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},   {"out", required_argument, NULL, O_OUT},
        {"as-of", required_argument, NULL, O_ASOF}, {"quiet", no_argument, NULL, 'q'},
        {"policy", required_argument, NULL, O_POLICY}, {"rules", required_argument, NULL, O_RULES},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    const char *dbs[MAX_SHARDS];
    size_t ndb = 0;
    const char *out = "nhiwatch-report", *policy_path = NULL, *rules_dir = NULL;
    int64_t as_of = 0;
    bool quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            if (ndb == MAX_SHARDS) {
                nw_cli_error("report: at most %d databases", MAX_SHARDS);
                return NW_EXIT_USAGE;
            }
            dbs[ndb++] = optarg;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_ASOF:
            if (nw_cli_time(optarg, &as_of)) {
                nw_cli_error("--as-of '%s' is not an RFC 3339 time", optarg);
                return NW_EXIT_USAGE;
            }
            break;
        case 'q':
            quiet = true;
            break;
        case O_POLICY:
            policy_path = optarg;
            break;
        case O_RULES:
            rules_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return NW_EXIT_OK;
        default:
            usage(stderr);
            return NW_EXIT_USAGE;
        }
    }
    if (ndb == 0 || optind != argc) {
        usage(stderr);
        return NW_EXIT_USAGE;
    }
    nw_rules *rules = NULL;
    nw_policy *policy = NULL;
    if (nw_cli_load_config(rules_dir, policy_path, &rules, &policy))
        return NW_EXIT_ERROR;
    nw_store *st[MAX_SHARDS];
    nw_store_opts so = {NW_STORE_READONLY, 0};
    int rc = NW_EXIT_OK;
    size_t opened = 0;
    for (; opened < ndb; opened++) {
        nw_err err;
        nw_err_clear(&err);
        if (nw_store_open(dbs[opened], &so, &st[opened], &err)) {
            nw_cli_error("%s", err.msg);
            rc = NW_EXIT_ERROR;
            break;
        }
    }
    if (rc == NW_EXIT_OK)
        rc = nw_write_reports(st, ndb, out, as_of, quiet, rules, policy);
    for (size_t i = 0; i < opened; i++)
        nw_store_close(st[i]);
    nw_rules_free(rules);
    nw_policy_free(policy);
    return rc;
}
