/* cli.h - the nhiwatch subcommands and what they share. */
#ifndef NW_CLI_H
#define NW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes (documented in the README). */
#define NW_EXIT_OK 0
#define NW_EXIT_ERROR 1      /* could not do the job (database, output, memory) */
#define NW_EXIT_USAGE 2      /* bad command line */
#define NW_EXIT_BAD_INPUT 3  /* done, but some input was bad or unreadable */

int nw_cmd_run(int argc, char **argv);
int nw_cmd_report(int argc, char **argv);
int nw_cmd_inventory(int argc, char **argv);
int nw_cmd_stats(int argc, char **argv);
int nw_cmd_import(int argc, char **argv);
/* report history and remediation follow-up: docs/reports.md */
int nw_cmd_trend(int argc, char **argv);
int nw_cmd_watch(int argc, char **argv);
/* streaming mode (Kafka): docs/streaming.md */
int nw_cmd_ship(int argc, char **argv);
int nw_cmd_ingest(int argc, char **argv);
int nw_cmd_analyze(int argc, char **argv);

/* Build the report over shards and write report.json / report.md into
 * out_dir (cmd_run.c). Returns an exit code. */
struct nw_store;
struct nw_rules;
struct nw_policy;
int nw_write_reports(struct nw_store *const *shards, size_t n, const char *out_dir, int64_t as_of, bool quiet,
                     const struct nw_rules *rules, const struct nw_policy *policy);
/* What `run`, `report` and `watch` share for the report's formats and
 * its SIEM feeds (cmd_run.c; docs/reports.md). */
struct nw_alerter;
struct nw_kafka_conf;
typedef struct nw_cli_report {
    const char *out_dir;
    int64_t as_of;
    bool quiet;
    const struct nw_rules *rules;
    const struct nw_policy *policy;
    unsigned formats;             /* NW_FMT_*; 0 = json, md */
    const char *baseline;         /* previous report.json for drift, or NULL */
    bool record;                  /* store the metrics in state_st's report history */
    struct nw_store *state_st;    /* writable store for --record and the alert state, or NULL */
    struct nw_alerter *alerter;   /* alerts for new / escalated / resolved findings, or NULL */
    size_t max_cards;             /* identity cards in report.html; 0 = 500 */
} nw_cli_report;
int nw_cli_report_write(struct nw_store *const *shards, size_t n, const nw_cli_report *r);

/* The Kafka options of ship, ingest and analyze: c == brokers_opt
 * (--brokers), 'X' (-X key=value) or 'F' (-F FILE) go into kc. Returns 0
 * when c was one of them, -1 with err set when its value was refused, 1
 * when c is another option. */
struct nw_err;
int nw_cli_kafka_opt(struct nw_kafka_conf *kc, int c, int brokers_opt, const char *arg, struct nw_err *err);

/* --alerts SINK (repeatable), --alert-format, --brokers, -X, -F: gathered
 * by each command, then opened as one alerter. */
#define NW_CLI_MAX_SINKS 16
typedef struct nw_cli_alerts {
    const char *sinks[NW_CLI_MAX_SINKS];
    size_t nsinks;
    int format;                 /* enum nw_alert_format */
    struct nw_kafka_conf *kafka; /* created on the first --brokers / -X / -F */
} nw_cli_alerts;
/* Handle one of the alert options (name without dashes: "alerts",
 * "alert-format", "brokers", "X", "F"). Returns 0, or prints why and
 * returns -1. */
int nw_cli_alerts_opt(nw_cli_alerts *a, const char *name, const char *arg);
/* The alerter for the gathered options, or NULL with the reason printed
 * (*failed set). NULL and *failed false when no --alerts was given. */
struct nw_alerter *nw_cli_alerter_open(const nw_cli_alerts *a, struct nw_store *state, const struct nw_rules *rules,
                                       bool *failed);
/* Close the sinks, print what was sent (unless quiet); returns an exit code
 * (NW_EXIT_ERROR when an alert was not delivered). Frees a and its Kafka
 * configuration. */
int nw_cli_alerter_close(struct nw_alerter *al, nw_cli_alerts *a, bool quiet);
/* The usage lines of those options. */
#define NW_CLI_ALERTS_USAGE                                                                                          \
    "  --alerts SINK         send alerts (repeatable): FILE, - (stdout), syslog+udp://HOST:PORT,\n"                  \
    "                        syslog+tcp://HOST:PORT, kafka://TOPIC; each finding once per state\n"                   \
    "                        change (new, escalated, resolved), remembered in the database\n"                        \
    "  --alert-format F      ocsf (default: OCSF 1.6 findings), ecs, cef, json (nhiwatch.alert/1)\n"                 \
    "  --brokers B, -X k=v, -F FILE   Kafka client properties for kafka:// sinks\n"

/* Load the rule set (dir NULL = shipped rules) and the policy file (path
 * NULL = none); on failure print the reason and return -1. */
int nw_cli_load_config(const char *rules_dir, const char *policy_path, struct nw_rules **rules,
                       struct nw_policy **policy);

/* shared helpers (cli.c) */
void nw_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parse --as-of: RFC 3339 or a date. Returns 0 or -1. */
int nw_cli_time(const char *s, int64_t *us);
/* Parse a size like 1048576, 1M, 256K. Returns 0 or -1. */
int nw_cli_size(const char *s, uint64_t *out);
bool nw_cli_tty(void);

/* The databases a --db argument names: a directory (a --shard-dir of
 * `analyze`) stands for every *.db file in it that is not hidden, sorted by
 * name (bytewise, so the same order everywhere); anything else is one file.
 * Paths are appended to p (owned by p: nw_cli_dbs_free). *is_dir (may be
 * NULL) says which it was. Returns 0, or prints why (an unreadable
 * directory, one without *.db files, out of memory, more than max) and
 * returns -1. */
typedef struct nw_cli_dbs {
    char **path;
    size_t n, cap;
} nw_cli_dbs;
int nw_cli_dbs_add(nw_cli_dbs *p, const char *arg, size_t max, bool *is_dir);
void nw_cli_dbs_free(nw_cli_dbs *p);

#endif
