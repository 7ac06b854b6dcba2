/* main.c - nhiwatch entry point: one binary, one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef NW_VERSION
#define NW_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fputs("usage: nhiwatch COMMAND [OPTIONS]\n"
          "\n"
          "Find dormant, over-privileged and suddenly active non-human identities in\n"
          "AWS CloudTrail, Azure Activity and GCP audit logs.\n"
          "\n"
          "commands:\n"
          "  run INPUT...       ingest files/folders into a database and write a report\n"
          "  report             write a report from one or more databases\n"
          "  inventory          list the identities in a database\n"
          "  stats              what was ingested: files, events, skipped, bad\n"
          "  import FILE...     import IAM exports: identities, credentials, grants\n"
          "  trend              how the recorded report metrics moved (report --record)\n"
          "  watch              after a remediation: disabled identities still needed, or safe to delete\n"
          "  version            print the version\n"
          "\n"
          "streaming mode (Kafka; see docs/streaming.md):\n"
          "  ship INPUT...      produce raw audit records to a topic, one message per event\n"
          "  ingest             worker: raw topics -> normalized events topic (nhi.events)\n"
          "  analyze            worker: normalized events -> this worker's database shard\n"
          "\n"
          "`nhiwatch COMMAND --help` describes a command.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return NW_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0)
        return nw_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return nw_cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "inventory") == 0)
        return nw_cmd_inventory(argc - 1, argv + 1);
    if (strcmp(cmd, "stats") == 0)
        return nw_cmd_stats(argc - 1, argv + 1);
    if (strcmp(cmd, "import") == 0)
        return nw_cmd_import(argc - 1, argv + 1);
    if (strcmp(cmd, "trend") == 0)
        return nw_cmd_trend(argc - 1, argv + 1);
    if (strcmp(cmd, "watch") == 0)
        return nw_cmd_watch(argc - 1, argv + 1);
    if (strcmp(cmd, "ship") == 0)
        return nw_cmd_ship(argc - 1, argv + 1);
    if (strcmp(cmd, "ingest") == 0)
        return nw_cmd_ingest(argc - 1, argv + 1);
    if (strcmp(cmd, "analyze") == 0)
        return nw_cmd_analyze(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("nhiwatch %s\n", NW_VERSION);
        return NW_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return NW_EXIT_OK;
    }
    nw_cli_error("unknown command '%s'", cmd);
    usage(stderr);
    return NW_EXIT_USAGE;
}
