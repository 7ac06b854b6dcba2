/* inventory.h - identities, credentials and grants imported from IAM
 * exports, stored next to the activity in the same database.
 *
 * nw_inventory_import detects the format of a file by its content (never
 * by its name):
 *   AWS  get-account-authorization-details JSON; IAM credential report (CSV,
 *        or the get-credential-report JSON with base64 Content);
 *        list-access-keys JSON
 *   GCP  IAM policy JSON (projects / folders / organizations / service
 *        accounts: bindings, incl. deleted: members; also the
 *        search-all-iam-policies {resource, policy} shape); service-account
 *        key lists (gcloud ... keys list, or {"keys": [...]}); service-account
 *        lists; role definitions (gcloud iam roles describe / list)
 *   Azure role assignments (az role assignment list, or the REST
 *        {"value": [...]} shape); role definitions; service principal lists
 *        (az ad sp list, Graph and pre-2.37 shapes, AAD Graph 1.6 objects);
 *        app registrations (az ad app list)
 * and replaces the rows that earlier imports of the same path produced, so
 * importing a file again changes nothing. The whole file is one
 * transaction: a file that fails leaves the database as it was. Tables:
 * inv_identity, inv_credential, inv_grant, inv_role_perm (schema in
 * inventory_sql.h, created by the store's migration list). docs/entitlements.md
 * says how each format maps to rows.
 *
 * Keys are DESIGN.md's identity keys, with two placeholders for exports
 * that do not carry enough to build one:
 *   azure:*\/<objectId>        an Azure role assignment whose tenant is not
 *                              known (no --tenant, no imported SP list, not
 *                              in the logs). Readers below resolve it to
 *                              azure:<tenant>/<objectId> when the tenant
 *                              becomes known through another import.
 *   arn:aws:iam::*:user/<name> list-access-keys of a user whose ARN is not
 *                              known yet; read with the user's credentials.
 *   azure:app/<appId>          an app registration (its secrets and
 *                              certificates); folded into the service
 *                              principal with the same appId when known.
 */
#ifndef NW_INVENTORY_H
#define NW_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/nw_err.h"
#include "../core/nw_str.h"
#include "store.h"

enum nw_inv_format {
    NW_INV_UNKNOWN = 0,
    NW_INV_AWS_AUTH_DETAILS,
    NW_INV_AWS_CRED_REPORT,
    NW_INV_AWS_ACCESS_KEYS,
    NW_INV_GCP_IAM_POLICY,
    NW_INV_GCP_SA_KEYS,
    NW_INV_GCP_SA_LIST,
    NW_INV_AZURE_ROLE_ASSIGNMENTS,
    NW_INV_AZURE_ROLE_DEFINITIONS,
    NW_INV_AZURE_SP_LIST,
    NW_INV_AZURE_APP_LIST,
    NW_INV_GCP_ROLES, /* gcloud iam roles describe / list: custom role permissions */
    NW_INV_EMPTY,     /* an empty JSON array: the earlier rows of the path are removed */
};

enum nw_inv_error {
    NW_INV_E_OPEN = -1,   /* cannot read the file (or over NW_INV_MAX_FILE) */
    NW_INV_E_FORMAT = -2, /* not a format we know (err says what was seen) */
    NW_INV_E_PARSE = -3,  /* malformed: err->line and "column C" in the message for JSON syntax, the CSV
                             line, or the element path ("UserDetailList[3].Arn") for a wrong value */
    NW_INV_E_STORE = -4,  /* database error: nothing of the file was stored */
    NW_INV_E_NOMEM = -5,
};

/* Files larger than this are refused (NW_INV_E_OPEN): the importer holds
 * the whole document in memory (jansson), about 10x the file size. */
#define NW_INV_MAX_FILE (512LL * 1024 * 1024)

typedef struct nw_import_opts {
    const char *azure_tenant; /* tenant id for Azure object ids, when known (wins over any inference) */
    const char *gcp_scope;    /* resource a GCP policy file belongs to, e.g. projects/p1; else the file's
                                 "resource" field; else "unknown" */
} nw_import_opts;

typedef struct nw_import_result {
    int format; /* enum nw_inv_format */
    /* rows this file now has in the database: distinct identities,
     * credentials, grant rows (or role permissions for role definition
     * files) */
    int64_t identities, credentials, grants;
    int64_t skipped; /* elements read and deliberately not stored (SYSTEM_MANAGED keys, members of
                        an unknown kind, non-object elements ...; docs/entitlements.md per format) */
} nw_import_result;

/* Import one file. opts and res may be NULL. err (may be NULL) gets the
 * path in err->source. Returns 0 or a negative nw_inv_error. */
int nw_inventory_import(nw_store *st, const char *path, const nw_import_opts *opts, nw_import_result *res,
                        nw_err *err);
/* The same from a buffer (len bytes, need not be NUL-terminated; copied):
 * name stands for the path (rows are replaced by name, err->source is
 * name). Over NW_INV_MAX_FILE is NW_INV_E_OPEN. For tests and fuzzing. */
int nw_inventory_import_buffer(nw_store *st, const char *name, const char *buf, size_t len,
                               const nw_import_opts *opts, nw_import_result *res, nw_err *err);
const char *nw_inv_format_name(int format);
const char *nw_inv_strerror(int code);

typedef struct nw_inv_identity {
    const char *key, *provider, *type, *display_name, *account;
    const char *kind;  /* non_human / human / unknown: from the type and, for IAM users, console access
                          against active access keys (nw_store_kind's names) */
    int64_t created;   /* 0 = unknown */
    int64_t last_used; /* newest provider-reported use of the identity or of one of its credentials
                          (RoleLastUsed, password_last_used, access_key_N_last_used_date); 0 = unknown/never */
    bool disabled;     /* deleted: member, accountEnabled=false, disabled SA */
    int console;       /* 1 has console/password access, 0 none, -1 unknown */
    int mfa;           /* 1/0/-1 */
    const char *source; /* the file of the most authoritative row */
    /* added */
    const char *tenant;     /* Azure tenant id, when known */
    const char *object_id;  /* Azure object id, GCP uniqueId (or the deleted: uid), AWS UserId / RoleId */
    const char *app_id;     /* Azure application (client) id */
    const char *trust_json; /* AWS role trust policy principals, a JSON array of "AWS:<arn>",
                               "Service:<svc>", "Federated:<idp>", "CanonicalUser:<id>", "*"; or NULL */
    const char *tags_json;  /* AWS tags as a JSON object {"Key": "Value"}; or NULL */
    int sources;            /* how many imported files mention it */
    int active_credentials; /* credentials with active = true (as each_credential returns them) */
} nw_inv_identity;

typedef struct nw_inv_cred {
    const char *identity_key, *cred_id, *kind; /* kind as event.h's nw_cred_kind_name */
    bool active;       /* AWS Status Active / *_active; GCP !disabled; Azure: always true (compare
                          expires with the evaluation time) */
    int64_t created, rotated, expires, last_used; /* 0 = unknown */
    const char *last_used_service, *last_used_region, *source;
} nw_inv_cred;

typedef struct nw_inv_grant {
    const char *identity_key;
    const char *effect;  /* allow / deny; "boundary" for the Allow statements of an AWS permissions
                            boundary (they restrict, they grant nothing); "unknown" for a managed
                            policy attached but not in the file (action "", admin when it is
                            AdministratorAccess) */
    const char *action;  /* pattern as granted: "s3:Get*", "*", "Microsoft.Storage/storageAccounts/read", "roles/editor",
                            "storage.objects.get"; Azure: the role name (or its GUID when unknown) */
    bool not_action;     /* NotAction / notActions: everything except the pattern */
    const char *resource; /* resource pattern or scope ("*" when the statement names none) */
    const char *via;     /* "managed:arn:...:policy/X", "inline:Name", "group:G/managed:...", "boundary:arn...",
                            "binding:roles/x@projects/p", "role:Owner@/subscriptions/..." */
    bool conditional;    /* Condition block / IAM condition present: granted with conditions */
    bool admin;          /* admin-class (docs/entitlements.md "Admin"): "*" on "*", iam:* on "*",
                            AdministratorAccess, an Allow NotAction on "*" that leaves IAM policy writes,
                            roles/owner, roles/editor, IAM-admin roles, Owner, Contributor,
                            User Access Administrator, RBAC Administrator */
    const char *source;
    /* added */
    bool not_resource;   /* NotResource: everywhere except the pattern */
    int64_t seq;         /* import order (file order within a file) */
} nw_inv_grant;

/* Iterate; row pointers valid during the callback only; return non-zero to
 * stop (that value is returned). Identities come in key order, one call per
 * key with the rows of every file merged (created: earliest; last_used:
 * newest; the other fields from the most authoritative file that states
 * them). Errors: NW_INV_E_STORE, NW_INV_E_NOMEM. */
int nw_inventory_each_identity(nw_store *st, int (*cb)(void *ctx, const nw_inv_identity *r), void *ctx, nw_err *err);
/* Credentials of an identity (including those stored under its azure:*,
 * arn:aws:iam::* or azure:app/ placeholder), by cred_id. A credential in two
 * files comes once; a credential-report key (access_key_N) whose
 * last_rotated equals a list-access-keys CreateDate is merged into that key
 * (real id, last-used data from the report). */
int nw_inventory_each_credential(nw_store *st, const char *key, int (*cb)(void *ctx, const nw_inv_cred *r),
                                 void *ctx, nw_err *err);
/* Grants of an identity (and of its azure:* placeholder), in import order. */
int nw_inventory_each_grant(nw_store *st, const char *key, int (*cb)(void *ctx, const nw_inv_grant *r), void *ctx,
                            nw_err *err);
/* Control-plane permissions of a role whose definition was imported (Azure
 * role definitions by name or GUID, GCP custom roles by full name); returns
 * the count, 0 when unknown, or a negative nw_inv_error. Azure dataActions
 * are stored but not returned here (the Activity Log cannot show their use). */
int nw_inventory_each_role_perm(nw_store *st, const char *provider, const char *role,
                                int (*cb)(void *ctx, const char *perm, bool not_perm), void *ctx, nw_err *err);

/* IAM-style action match: case-insensitive (ASCII), '*' any run (also
 * empty), '?' one character, everything else literal; the whole action must
 * match. Iterative, O(len(pattern) * len(action)) at worst, no recursion.
 * Used for AWS actions, Azure operations and GCP permissions. NULL or empty
 * pattern matches only the empty action. */
bool nw_action_match(const char *pattern, nw_str action);

/* The same matcher over two views, case-sensitive or not (policy.c). */
bool nw_glob_match(nw_str pattern, nw_str s, bool icase);

#endif
