/* limits.h - the input caps of `run`, `ship` and `ingest`: one option
 * table, one parser, one usage text (docs/hardening.md, "Limits").
 *
 * A command puts the option entries it accepts into its getopt_long table
 * (NW_CLI_LIMITS_OPTIONS for the per-record caps every reader of raw
 * records has, plus NW_CLI_LIMITS_OPTION_FILE / _IDENTITIES where they
 * apply), hands every option code for which nw_cli_limits_is_opt() holds
 * to nw_cli_limits_opt(), and once the command line is read copies the caps
 * into the library's structures with nw_cli_limits_apply(). The option
 * codes are 0x4000 and up, clear of the commands' own (256 and up).
 */
#ifndef NW_CLI_LIMITS_H
#define NW_CLI_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ingest/decode.h"
#include "../ingest/source.h"

enum nw_cli_limits_opt {
    NW_CLI_O_MAX_RECORD = 0x4000,
    NW_CLI_O_MAX_DEPTH,
    NW_CLI_O_MAX_STRING,
    NW_CLI_O_MAX_FIELDS,
    NW_CLI_O_MAX_FILE,
    NW_CLI_O_MAX_IDENTITIES,
};

/* Every cap as given on the command line; 0 = not given (the library's
 * default applies). */
typedef struct nw_cli_limits {
    size_t max_record;
    size_t max_depth;
    size_t max_string;
    size_t max_fields;
    uint64_t max_file;
    uint64_t max_identities;
} nw_cli_limits;

/* getopt_long entries (struct option initializers; needs <getopt.h>). */
#define NW_CLI_LIMITS_OPTIONS                                                                                        \
    {"max-record", required_argument, NULL, NW_CLI_O_MAX_RECORD},                                                    \
    {"max-depth", required_argument, NULL, NW_CLI_O_MAX_DEPTH},                                                      \
    {"max-string", required_argument, NULL, NW_CLI_O_MAX_STRING},                                                    \
    {"max-fields", required_argument, NULL, NW_CLI_O_MAX_FIELDS}
#define NW_CLI_LIMITS_OPTION_FILE {"max-file", required_argument, NULL, NW_CLI_O_MAX_FILE}
#define NW_CLI_LIMITS_OPTION_IDENTITIES {"max-identities", required_argument, NULL, NW_CLI_O_MAX_IDENTITIES}

/* The usage lines, matching the entries above. The defaults written here
 * are NW_MAX_*_DEFAULT (source.h) and the store's identity cap. */
#define NW_CLI_LIMITS_USAGE                                                                                          \
    "  --max-record SIZE     largest record accepted (default 1M)\n"                                                 \
    "  --max-depth N         deepest nesting accepted (default 128)\n"                                               \
    "  --max-string SIZE     longest JSON string, key or value, in a record, counted as\n"                           \
    "                        written between its quotes (default 768K)\n"                                            \
    "  --max-fields N        most object members + array elements in a record, at any\n"                             \
    "                        depth (default 100000)\n"
#define NW_CLI_LIMITS_USAGE_FILE "  --max-file SIZE       largest decompressed file (default unlimited)\n"
#define NW_CLI_LIMITS_USAGE_IDENTITIES                                                                               \
    "  --max-identities N    identities the database may hold (default 2000000)\n"

/* Is c one of the option codes above? */
bool nw_cli_limits_is_opt(int c);

/* Take option c with its argument (a positive number; sizes may end in
 * K, M or G). Returns 0, or -1 after printing what is wrong with arg. */
int nw_cli_limits_opt(nw_cli_limits *l, int c, const char *arg);

/* Copy the caps that were given into src (the splitter's and the file
 * source's) and dec (the decoder's); either may be NULL. Caps not given
 * are left as they are. */
void nw_cli_limits_apply(const nw_cli_limits *l, nw_source_limits *src, nw_decode_limits *dec);

#endif
