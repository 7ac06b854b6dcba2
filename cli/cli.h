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

/* Build the report over shards and write report.json / report.md into
 * out_dir (cmd_run.c). Returns an exit code. */
struct nw_store;
struct nw_rules;
struct nw_policy;
int nw_write_reports(struct nw_store *const *shards, size_t n, const char *out_dir, int64_t as_of, bool quiet,
                     const struct nw_rules *rules, const struct nw_policy *policy);
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

#endif
