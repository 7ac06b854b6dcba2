/* remediation.h - remediation/aws.sh, azure.sh, gcp.sh: per deprovisioning
 * candidate, the provider CLI commands that disable it first (reversible),
 * with the matching rollback commands as comments.
 *
 * nhiwatch never runs them. Each script starts with `set -euo pipefail` and
 * is a dry run unless given --apply: every command goes through run(),
 * which prints it shell-quoted and only executes it with --apply. Every
 * value taken from the report (identity names, key ids, projects, scopes)
 * is single-quoted for the shell (' becomes '\''), and comment lines have
 * control characters replaced, so no name can break out of a quote or a
 * comment.
 *
 *   AWS   user: update-access-key --status Inactive per active key, and an
 *         inline deny-all policy (put-user-policy); role: inline deny-all
 *         (put-role-policy), which also cuts sessions already issued.
 *         Rollback: --status Active, delete-user-policy / delete-role-policy.
 *   GCP   service account: gcloud iam service-accounts disable, keys
 *         disable per active key. Rollback: enable.
 *   Azure service principal: az ad sp update --set accountEnabled=false;
 *         managed identity (cannot be disabled): az role assignment delete
 *         per known assignment. Rollback: accountEnabled=true / az role
 *         assignment create.
 */
#ifndef NW_REMEDIATION_H
#define NW_REMEDIATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "../core/nw_err.h"

/* Write dir/aws.sh, dir/azure.sh, dir/gcp.sh (dir is created). details as
 * for nw_csv_write. */
int nw_remediation_write(const char *dir, const json_t *doc, const json_t *details, nw_err *err);

/* s single-quoted for a POSIX shell. */
void nw_sh_quote(FILE *f, const char *s);

/* The disable and rollback commands for one identity, as text lines in
 * *disable / *rollback (new references: arrays of strings, each a complete
 * command line), for `watch` and tests. provider, type, key as in the
 * report; creds: array of {"id","kind"} or NULL; grants: array of grant
 * summaries ("Owner via role:Owner@/subscriptions/...") or NULL.
 * creds_only: the identity stays, only creds are disabled (a candidate for
 * unused credentials alone); Azure has no reversible command for that
 * (nothing is returned). */
void nw_remediation_commands(const char *provider, const char *type, const char *key, const json_t *creds,
                             const json_t *grants, bool creds_only, json_t **disable, json_t **rollback);

#endif
