/* cmd_report.c - `nhiwatch report --db A.db [--db B.db ...]`; a directory
 * given as --db (analyze --shard-dir) stands for every *.db in it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyze/policy.h"
#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "../ingest/kafka.h"
#include "../reports/alerts.h"
#include "../reports/collect.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch report --db FILE|DIR [--db FILE|DIR ...] [--out DIR] [--as-of TIME] [--policy FILE]\n"
          "                       [--rules DIR] [--format LIST] [--baseline REPORT] [--record]\n"
          "                       [--alerts SINK ...] [--quiet]\n"
          "\n"
          "Write the report from one database, or from the shards that several\n"
          "`analyze` workers wrote (each holds a disjoint set of identities). A\n"
          "directory (`analyze --shard-dir DIR`) means every *.db file in it, sorted by name.\n"
          "\n"
          "  --format LIST         json,md,html,csv,remediation or all (default json,md)\n"
          "  --baseline REPORT     previous report.json (or its folder): drift in the new report\n"
          "  --record              keep this report's metrics in the (first) database: `nhiwatch trend`\n"
          "  --max-cards N         identity cards in report.html, most severe first (default 500)\n"
          NW_CLI_ALERTS_USAGE
          "With --record or --alerts the first --db is opened for writing (report history,\n"
          "alert state); the others stay read-only. That first --db must then be a file:\n"
          "a shard directory's files come and go with its partitions, so keep the history\n"
          "in a database of its own, e.g. --db history.db --db SHARD_DIR --record.\n",
          f);
}

#define MAX_SHARDS 256

int nw_cmd_report(int argc, char **argv)
{
    enum { O_DB = 256, O_OUT, O_ASOF, O_POLICY, O_RULES, O_FORMAT, O_BASELINE, O_RECORD, O_ALERTS, O_AFMT, O_BROKERS, O_MAX_CARDS };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"out", required_argument, NULL, O_OUT},
        {"as-of", required_argument, NULL, O_ASOF},
        {"quiet", no_argument, NULL, 'q'},
        {"policy", required_argument, NULL, O_POLICY},
        {"rules", required_argument, NULL, O_RULES},
        {"format", required_argument, NULL, O_FORMAT},
        {"baseline", required_argument, NULL, O_BASELINE},
        {"record", no_argument, NULL, O_RECORD},
        {"alerts", required_argument, NULL, O_ALERTS},
        {"alert-format", required_argument, NULL, O_AFMT},
        {"brokers", required_argument, NULL, O_BROKERS},
        {"max-cards", required_argument, NULL, O_MAX_CARDS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned formats = 0;
    const char *baseline = NULL;
    bool record = false;
    size_t max_cards = 0;
    nw_cli_alerts al;
    memset(&al, 0, sizeof al);
    nw_cli_dbs dbs = {NULL, 0, 0};
    const char *first_dir = NULL; /* the first --db, when it is a shard directory */
    const char *out = "nhiwatch-report", *policy_path = NULL, *rules_dir = NULL;
    int64_t as_of = 0;
    bool quiet = false;
    int c, argrc = NW_EXIT_USAGE;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qhX:F:", lo, NULL)) != -1) {
        switch (c) {
        case O_FORMAT: {
            nw_err fe;
            nw_err_clear(&fe);
            if (nw_formats_parse(optarg, &formats, &fe)) {
                nw_cli_error("--format: %s", fe.msg);
                goto out_args;
            }
            break;
        }
        case O_BASELINE:
            baseline = optarg;
            break;
        case O_MAX_CARDS: {
            uint64_t v;
            if (nw_cli_size(optarg, &v) || v == 0) {
                nw_cli_error("--max-cards needs a positive number, not '%s'", optarg);
                goto out_args;
            }
            max_cards = (size_t)v;
            break;
        }
        case O_RECORD:
            record = true;
            break;
        case O_ALERTS:
        case O_AFMT:
        case O_BROKERS:
        case 'X':
        case 'F':
            if (nw_cli_alerts_opt(&al, c == O_ALERTS ? "alerts" : c == O_AFMT ? "alert-format" : c == O_BROKERS ? "brokers"
                                       : c == 'X'    ? "X"
                                                     : "F",
                                  optarg)) {
                goto out_args;
            }
            break;
        case O_DB: {
            bool is_dir = false, first = dbs.n == 0;
            if (nw_cli_dbs_add(&dbs, optarg, MAX_SHARDS, &is_dir))
                goto out_args;
            if (first && is_dir)
                first_dir = optarg;
            break;
        }
        case O_OUT:
            out = optarg;
            break;
        case O_ASOF:
            if (nw_cli_time(optarg, &as_of)) {
                nw_cli_error("--as-of '%s' is not an RFC 3339 time", optarg);
                goto out_args;
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
            argrc = NW_EXIT_OK;
            goto out_args;
        default:
            usage(stderr);
            goto out_args;
        }
    }
    bool writer = record || al.nsinks; /* the first database keeps the history and the alert state */
    if (dbs.n == 0 || optind != argc || (writer && first_dir)) {
        if (dbs.n && optind == argc)
            nw_cli_error("report: --record and --alerts keep the report history and alert state in the first --db, "
                         "and the first --db is a shard directory: put a database file first, e.g. "
                         "--db history.db --db %s",
                         first_dir);
        usage(stderr);
        goto out_args;
    }
    size_t ndb = dbs.n;
    nw_rules *rules = NULL;
    nw_policy *policy = NULL;
    if (nw_cli_load_config(rules_dir, policy_path, &rules, &policy)) {
        nw_cli_dbs_free(&dbs);
        nw_kafka_conf_free(al.kafka);
        return NW_EXIT_ERROR;
    }
    nw_store *st[MAX_SHARDS];
    int rc = NW_EXIT_OK;
    size_t opened = 0;
    for (; opened < ndb; opened++) {
        nw_err err;
        nw_err_clear(&err);
        nw_store_opts so = {opened == 0 && writer ? 0u : NW_STORE_READONLY, 0};
        if (nw_store_open(dbs.path[opened], &so, &st[opened], &err)) {
            nw_cli_error("%s", err.msg);
            rc = NW_EXIT_ERROR;
            break;
        }
    }
    nw_alerter *alerter = NULL;
    if (rc == NW_EXIT_OK) {
        bool failed = false;
        alerter = nw_cli_alerter_open(&al, st[0], rules, &failed);
        if (failed)
            rc = NW_EXIT_ERROR;
    }
    if (rc == NW_EXIT_OK) {
        nw_cli_report r = {out,    as_of,  quiet,  rules, policy, formats, baseline, record, writer ? st[0] : NULL,
                           alerter, max_cards};
        rc = nw_cli_report_write(st, ndb, &r);
    }
    int arc = nw_cli_alerter_close(alerter, &al, quiet);
    if (rc == NW_EXIT_OK)
        rc = arc;
    for (size_t i = 0; i < opened; i++)
        nw_store_close(st[i]);
    nw_rules_free(rules);
    nw_policy_free(policy);
    nw_cli_dbs_free(&dbs);
    return rc;

out_args:
    nw_cli_dbs_free(&dbs);
    nw_kafka_conf_free(al.kafka);
    return argrc;
}
