/* limits.c - the input-cap options shared by run, ship and ingest. */
#include "limits.h"

#include "cli.h"

static const char *opt_name(int c)
{
    switch (c) {
    case NW_CLI_O_MAX_RECORD:
        return "--max-record";
    case NW_CLI_O_MAX_DEPTH:
        return "--max-depth";
    case NW_CLI_O_MAX_STRING:
        return "--max-string";
    case NW_CLI_O_MAX_FIELDS:
        return "--max-fields";
    case NW_CLI_O_MAX_FILE:
        return "--max-file";
    case NW_CLI_O_MAX_IDENTITIES:
        return "--max-identities";
    }
    return "option";
}

bool nw_cli_limits_is_opt(int c) { return c >= NW_CLI_O_MAX_RECORD && c <= NW_CLI_O_MAX_IDENTITIES; }

int nw_cli_limits_opt(nw_cli_limits *l, int c, const char *arg)
{
    uint64_t v;
    if (nw_cli_size(arg, &v) || v == 0) {
        nw_cli_error("%s needs a positive number, not '%s'", opt_name(c), arg);
        return -1;
    }
    /* the in-memory caps are size_t and counted in 32-bit simdjson
     * offsets at most: refuse what could only wrap around */
    if (c != NW_CLI_O_MAX_FILE && c != NW_CLI_O_MAX_IDENTITIES && v > ((uint64_t)1 << 32)) {
        nw_cli_error("%s %s is larger than 4G, which no record can use", opt_name(c), arg);
        return -1;
    }
    switch (c) {
    case NW_CLI_O_MAX_RECORD:
        l->max_record = (size_t)v;
        break;
    case NW_CLI_O_MAX_DEPTH:
        l->max_depth = (size_t)v;
        break;
    case NW_CLI_O_MAX_STRING:
        l->max_string = (size_t)v;
        break;
    case NW_CLI_O_MAX_FIELDS:
        l->max_fields = (size_t)v;
        break;
    case NW_CLI_O_MAX_FILE:
        l->max_file = v;
        break;
    case NW_CLI_O_MAX_IDENTITIES:
        l->max_identities = v;
        break;
    default:
        nw_cli_error("option %d is not a limit", c);
        return -1;
    }
    return 0;
}

void nw_cli_limits_apply(const nw_cli_limits *l, nw_source_limits *src, nw_decode_limits *dec)
{
    if (src) {
        if (l->max_record)
            src->split.max_record = l->max_record;
        if (l->max_depth)
            src->split.max_depth = l->max_depth;
        if (l->max_string)
            src->split.max_string = l->max_string;
        if (l->max_fields)
            src->split.max_fields = l->max_fields;
        if (l->max_file)
            src->max_file_bytes = l->max_file;
    }
    if (dec) {
        if (l->max_record)
            dec->max_record = l->max_record;
        if (l->max_depth)
            dec->max_depth = l->max_depth;
        if (l->max_string)
            dec->max_string = l->max_string;
        if (l->max_fields)
            dec->max_fields = l->max_fields;
    }
}
