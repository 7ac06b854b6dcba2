/* cmd_import.c - `nhiwatch import`: entitlement and inventory exports into
 * the database (analyze/inventory.h, docs/entitlements.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../analyze/inventory.h"
#include "../analyze/store.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch import [--db FILE] [--tenant TENANT_ID] [--gcp-scope SCOPE] FILE...\n"
          "\n"
          "Import IAM exports: identities, credentials and grants. The format of each\n"
          "file is recognised by its content:\n"
          "  AWS    aws iam get-account-authorization-details, the IAM credential report\n"
          "         (CSV or get-credential-report JSON), aws iam list-access-keys\n"
          "  GCP    get-iam-policy (projects, folders, orgs, service accounts),\n"
          "         service-accounts list, service-accounts keys list, iam roles describe/list\n"
          "  Azure  az role assignment list, az role definition list, az ad sp list,\n"
          "         az ad app list (Graph, pre-2.37 and AAD Graph shapes)\n"
          "Importing a file again replaces what it gave before. One line per file:\n"
          "format, identities, credentials, grants, skipped elements.\n"
          "\n"
          "  --db FILE          database (default nhiwatch.db)\n"
          "  --tenant ID        Azure tenant of the role assignments and service principals\n"
          "                     (else inferred; unknown tenants are keyed azure:*/<objectId>)\n"
          "  --gcp-scope SCOPE  resource a GCP policy file belongs to, e.g. projects/my-proj\n"
          "\n"
          "exit status: 0 all imported, 3 some file could not be imported (the others\n"
          "were), 1 database error, 2 usage\n",
          f);
}

int nw_cmd_import(int argc, char **argv)
{
    enum { O_DB = 256, O_TENANT, O_SCOPE };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"tenant", required_argument, NULL, O_TENANT},
        {"gcp-scope", required_argument, NULL, O_SCOPE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = "nhiwatch.db";
    nw_import_opts opts = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_DB:
            db = optarg;
            break;
        case O_TENANT:
            opts.azure_tenant = optarg;
            break;
        case O_SCOPE:
            opts.gcp_scope = optarg;
            break;
        case 'h':
            usage(stdout);
            return NW_EXIT_OK;
        default:
            usage(stderr);
            return NW_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        nw_cli_error("import: no FILE given");
        usage(stderr);
        return NW_EXIT_USAGE;
    }
    nw_err err;
    nw_err_clear(&err);
    nw_store *st = NULL;
    if (nw_store_open(db, NULL, &st, &err)) {
        nw_cli_error("%s", err.msg);
        return NW_EXIT_ERROR;
    }
    int status = NW_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        nw_import_result res;
        nw_err_clear(&err);
        int rc = nw_inventory_import(st, argv[i], &opts, &res, &err);
        if (rc == NW_INV_E_STORE || rc == NW_INV_E_NOMEM) {
            char buf[1024];
            nw_cli_error("cannot import %s", nw_err_fmt(&err, buf, sizeof buf));
            status = NW_EXIT_ERROR;
            break;
        }
        if (rc) {
            char buf[1024];
            nw_cli_error("cannot import %s (file skipped, nothing of it stored)", nw_err_fmt(&err, buf, sizeof buf));
            status = NW_EXIT_BAD_INPUT;
            continue;
        }
        printf("%s: %s: %lld identities, %lld credentials, %lld %s, %lld skipped\n", argv[i],
               nw_inv_format_name(res.format), (long long)res.identities, (long long)res.credentials,
               (long long)res.grants,
               res.format == NW_INV_AZURE_ROLE_DEFINITIONS || res.format == NW_INV_GCP_ROLES ? "role permissions"
                                                                                               : "grants",
               (long long)res.skipped);
    }
    nw_store_close(st);
    return status;
}
