/* cmd_watch.c - `nhiwatch watch --db FILE --quarantine FILE`: after the
 * identities of a remediation plan were disabled, which of them a workload
 * still needs and which stayed silent long enough to delete (reports/watch.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../analyze/store.h"
#include "../core/nw_time.h"
#include "../ingest/kafka.h"
#include "../reports/alerts.h"
#include "../reports/watch.h"
#include "cli.h"

#define MAX_SHARDS 256

static void usage(FILE *f)
{
    fputs("usage: nhiwatch watch --db FILE [--db FILE ...] --quarantine FILE [--as-of TIME]\n"
          "                      [--silent-days N] [--format table|json] [--alerts SINK ...]\n"
          "\n"
          "For each identity of the quarantine file (CSV with the columns identity and\n"
          "disabled_at, or JSON [{\"identity\": ..., \"disabled_at\": ...}]), what happened\n"
          "since it was disabled:\n"
          "  active_after_disable  successful calls after the disable (it did not take)  -> alert\n"
          "  still_needed          calls refused since the disable: a workload needs it  -> alert, roll back\n"
          "  observing             silent, for less than --silent-days so far\n"
          "  safe_to_delete        silent for --silent-days (default 30) or more\n"
          "\n"
          "  --as-of TIME          evaluate as of TIME (default: the newest event stored)\n"
          "  --format F            table (default) or json\n"
          NW_CLI_ALERTS_USAGE
          "With --alerts the first --db keeps the alert state (opened for writing).\n",
          f);
}

int nw_cmd_watch(int argc, char **argv)
{
    enum { O_DB = 256, O_Q, O_ASOF, O_SILENT, O_FORMAT, O_ALERTS, O_AFMT, O_BROKERS };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"quarantine", required_argument, NULL, O_Q},
        {"as-of", required_argument, NULL, O_ASOF},
        {"silent-days", required_argument, NULL, O_SILENT},
        {"format", required_argument, NULL, O_FORMAT},
        {"alerts", required_argument, NULL, O_ALERTS},
        {"alert-format", required_argument, NULL, O_AFMT},
        {"brokers", required_argument, NULL, O_BROKERS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dbs[MAX_SHARDS];
    size_t ndb = 0;
    const char *qpath = NULL;
    nw_watch_opts wo = {0, 30};
    bool json = false, quiet = false;
    nw_cli_alerts al;
    memset(&al, 0, sizeof al);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qhX:F:", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            if (ndb == MAX_SHARDS) {
                nw_cli_error("watch: at most %d databases", MAX_SHARDS);
                goto usage_err;
            }
            dbs[ndb++] = optarg;
            break;
        case O_Q:
            qpath = optarg;
            break;
        case O_ASOF:
            if (nw_cli_time(optarg, &wo.as_of)) {
                nw_cli_error("--as-of '%s' is not an RFC 3339 time", optarg);
                goto usage_err;
            }
            break;
        case O_SILENT: {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 3650) {
                nw_cli_error("--silent-days needs a number of days (1-3650), not '%s'", optarg);
                goto usage_err;
            }
            wo.silent_days = (int)v;
            break;
        }
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = true;
            else if (strcmp(optarg, "table") != 0) {
                nw_cli_error("--format '%s': table or json", optarg);
                goto usage_err;
            }
            break;
        case O_ALERTS:
        case O_AFMT:
        case O_BROKERS:
        case 'X':
        case 'F':
            if (nw_cli_alerts_opt(&al, c == O_ALERTS ? "alerts" : c == O_AFMT ? "alert-format" : c == O_BROKERS ? "brokers"
                                       : c == 'X'    ? "X"
                                                     : "F",
                                  optarg))
                goto usage_err;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            usage(stdout);
            nw_kafka_conf_free(al.kafka);
            return NW_EXIT_OK;
        default:
            usage(stderr);
            goto usage_err;
        }
    }
    if (!ndb || !qpath || optind != argc) {
        usage(stderr);
        goto usage_err;
    }
    nw_err err;
    nw_err_clear(&err);
    json_t *q = NULL, *res = NULL;
    if (nw_quarantine_load(qpath, &q, &err)) {
        nw_cli_error("%s", err.msg);
        nw_kafka_conf_free(al.kafka);
        return NW_EXIT_ERROR;
    }
    nw_store *st[MAX_SHARDS];
    size_t opened = 0;
    int rc = NW_EXIT_OK;
    for (; opened < ndb; opened++) {
        nw_store_opts so = {opened == 0 && al.nsinks ? 0u : NW_STORE_READONLY, 0};
        if (nw_store_open(dbs[opened], &so, &st[opened], &err)) {
            nw_cli_error("%s", err.msg);
            rc = NW_EXIT_ERROR;
            break;
        }
    }
    if (rc == NW_EXIT_OK && nw_watch_eval(st, ndb, q, &wo, &res, &err)) {
        nw_cli_error("%s", err.msg);
        rc = NW_EXIT_ERROR;
    }
    nw_alerter *alerter = NULL;
    if (rc == NW_EXIT_OK) {
        bool failed = false;
        alerter = nw_cli_alerter_open(&al, st[0], NULL, &failed);
        if (failed)
            rc = NW_EXIT_ERROR;
    }
    if (rc == NW_EXIT_OK && alerter) {
        json_t *alerts = nw_watch_alerts(res, (int64_t)time(NULL) * NW_US_PER_SEC);
        size_t i;
        json_t *a;
        json_array_foreach(alerts, i, a) nw_alerter_emit(alerter, a, true, &err);
        json_decref(alerts);
    }
    if (rc == NW_EXIT_OK && json) {
        json_dumpf(res, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else if (rc == NW_EXIT_OK) {
        const json_t *cnt = json_object_get(res, "counts");
        printf("As of %s, observation period %lld days: %lld active after disable, %lld still needed, %lld observing, "
               "%lld safe to delete.\n\n",
               json_string_value(json_object_get(res, "as_of")),
               (long long)json_integer_value(json_object_get(res, "silent_days")),
               (long long)json_integer_value(json_object_get(cnt, "active_after_disable")),
               (long long)json_integer_value(json_object_get(cnt, "still_needed")),
               (long long)json_integer_value(json_object_get(cnt, "observing")),
               (long long)json_integer_value(json_object_get(cnt, "safe_to_delete")));
        printf("%-22s %-20s %-20s %6s  %s\n", "status", "disabled at", "last seen", "silent", "identity");
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(res, "identities"), i, x)
        {
            const char *ls = json_string_value(json_object_get(x, "last_seen"));
            printf("%-22s %-20s %-20s %5lldd  %s%s\n", json_string_value(json_object_get(x, "status")),
                   json_string_value(json_object_get(x, "disabled_at")), ls ? ls : "-",
                   (long long)json_integer_value(json_object_get(x, "silent_days")),
                   json_string_value(json_object_get(x, "identity")),
                   json_is_true(json_object_get(x, "found")) ? "" : "  (not in the logs or exports)");
            const char *s = json_string_value(json_object_get(x, "status"));
            if (strcmp(s, "still_needed") == 0 || strcmp(s, "active_after_disable") == 0) {
                size_t j;
                json_t *cmd;
                json_array_foreach(json_object_get(x, "rollback"), j, cmd) printf("    rollback: %s\n",
                                                                                  json_string_value(cmd));
            }
        }
    }
    int arc = nw_cli_alerter_close(alerter, &al, quiet || json);
    if (rc == NW_EXIT_OK)
        rc = arc;
    for (size_t i = 0; i < opened; i++)
        nw_store_close(st[i]);
    json_decref(q);
    json_decref(res);
    return rc;
usage_err:
    nw_kafka_conf_free(al.kafka);
    return NW_EXIT_USAGE;
}
