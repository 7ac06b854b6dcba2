/* rules.h - the rule set: rule files of rules/ (one per detector family) and
 * the data tables the detectors use (CloudTrail event -> IAM action map,
 * unobservable actions, built-in role definitions). docs/rules.md describes
 * the files, every rule and its defaults.
 *
 * Loading is all or nothing: a file that does not parse, or a rule that
 * lacks a field, has an unknown severity or a non-numeric threshold, is an
 * error naming the file and the line, and no rule set is returned.
 *
 * Ownership: every pointer a lookup returns (rules, their strings, the
 * borrowed json_t values) belongs to the rule set and lives until
 * nw_rules_free. A loaded rule set is never modified, so any number of
 * threads may read it at once.
 */
#ifndef NW_RULES_H
#define NW_RULES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "../core/nw_err.h"
#include "../core/nw_str.h"

typedef struct nw_rules nw_rules;

typedef struct nw_rule {
    const char *id, *family, *title, *severity, *description, *remediation;
    const json_t *compliance; /* array of {"framework","control"} (borrowed) */
    const json_t *params;     /* object of thresholds, every value a number (borrowed) */
    /* -- added after the first draft; all optional in the file -- */
    const char *kind;               /* finding kind ("dormant", "stale_credential" ...); the family when absent */
    const char *severity_escalated; /* severity when the rule's escalation condition holds (docs/rules.md), or NULL */
    const json_t *patterns;         /* object: name -> array of glob strings (borrowed), or NULL */
    const char *file;               /* rule file path as loaded, for messages */
    int line;                       /* line of the rule's "id" in that file */
} nw_rule;

enum nw_rules_error {
    NW_RULES_E_OPEN = -1,    /* the folder or a file cannot be read */
    NW_RULES_E_PARSE = -2,   /* a file is not valid JSON (err: file:line:col) */
    NW_RULES_E_INVALID = -3, /* a rule or table is wrong, or a family/table is missing (err: file:line) */
    NW_RULES_E_NOMEM = -4,
};

/* Load every *.json of dir in file-name order (NULL: $NHIWATCH_RULES when
 * set and not empty, else the shipped folder NW_RULES_DIR). Every rule file
 * of the four families (dormant, suddenly_active, over_privileged, hygiene)
 * and the four tables (aws-action-map, unobservable, azure-roles, gcp-roles)
 * must be present; rule ids are unique across files. On failure *out is
 * NULL and err->msg reads "<file>:<line>[:<col>]: <problem>" (err->source,
 * err->line and, for parse errors, err->offset are set too). */
int nw_rules_load(const char *dir, nw_rules **out, nw_err *err);
void nw_rules_free(nw_rules *r);
const char *nw_rules_strerror(int code);
/* The folder that nw_rules_load(NULL, ...) reads. */
const char *nw_rules_default_dir(void);

/* The rule with this id, or NULL. */
const nw_rule *nw_rules_get(const nw_rules *r, const char *id);
/* Rules of a family, in file order; returns the total count (may exceed max). */
size_t nw_rules_family(const nw_rules *r, const char *family, const nw_rule **out, size_t max);
/* All rules in load order: count, and the i-th (NULL when out of range). */
size_t nw_rules_count(const nw_rules *r);
const nw_rule *nw_rules_at(const nw_rules *r, size_t i);
/* A numeric parameter of a rule; *ok false when missing or not a number
 * (ok may be NULL; the value is then 0). */
double nw_rule_param(const nw_rule *rule, const char *name, bool *ok);
/* Does value match one of the globs of the rule's pattern list `list`
 * ('*' any run, '?' one character, case-insensitive)? false when the rule
 * has no such list. */
bool nw_rule_match(const nw_rule *rule, const char *list, nw_str value);
/* Severity rank: info 0, low 1, medium 2, high 3, critical 4; -1 unknown. */
int nw_severity_rank(const char *severity);

/* CloudTrail event -> IAM action(s). prefix is the IAM service prefix the
 * decoder derived from eventSource (s3, iam, lambda ...; the source renames
 * of the table -- monitoring -> cloudwatch ... -- are applied again, so a
 * raw first label works too), name the eventName. Fills out (up to max)
 * with action names ("s3:ListAllMyBuckets"); returns the count, 0 when the
 * event authorises no IAM action (ConsoleLogin, GetCallerIdentity,
 * AssumeRoleWithWebIdentity ...) or when prefix or name is empty. The
 * default rule "prefix:Name" with a version suffix stripped (20150331,
 * 20150331v2, 2019_03_31) applies when the table has no entry. Names
 * longer than the 128-byte slots are cut (never the case for real events). */
size_t nw_rules_aws_actions(const nw_rules *r, nw_str prefix, nw_str name, char out[][128], size_t max);
/* Does a CloudTrail eventType authorise no IAM action at all (AwsServiceEvent,
 * AwsCloudTrailInsight ...)? Callers that know the eventType skip those
 * records before mapping. */
bool nw_rules_aws_type_without_action(const nw_rules *r, nw_str event_type);

/* Actions that do not appear in the audit log under their own name.
 * provider: "aws", "azure", "gcp". */
enum nw_unobservable {
    NW_OBSERVABLE = 0,
    NW_UNOBS_NEVER = 1,     /* never logged as such (iam:PassRole, Azure reads in the Activity Log) */
    NW_UNOBS_DATA_LOGS = 2, /* logged only when data events / Data Access logs are enabled */
};
int nw_rules_unobservable_kind(const nw_rules *r, const char *provider, nw_str action);
/* kind != NW_OBSERVABLE. */
bool nw_rules_unobservable(const nw_rules *r, const char *provider, nw_str action);

/* Built-in role definition lookup (Azure role names or GUIDs, also the
 * ".../roleDefinitions/<guid>" form; GCP "roles/..." basic and predefined
 * roles): iterate its control-plane action patterns (Azure actions and
 * notActions; GCP permission patterns, service-level for predefined roles);
 * returns the count, 0 when the role is unknown. */
size_t nw_rules_role_actions(const nw_rules *r, const char *provider, const char *role,
                             void (*cb)(void *ctx, const char *action, bool not_action), void *ctx);
/* Azure dataActions / notDataActions of a built-in role (0 for GCP). */
size_t nw_rules_role_data_actions(const nw_rules *r, const char *provider, const char *role,
                                  void (*cb)(void *ctx, const char *action, bool not_action), void *ctx);
/* Services a role covers: Azure resource-provider namespaces
 * ("Microsoft.Storage"), GCP API names ("storage.googleapis.com"); "*" for
 * all. Returns the count, 0 when the role is unknown. */
size_t nw_rules_role_services(const nw_rules *r, const char *provider, const char *role,
                              void (*cb)(void *ctx, const char *service), void *ctx);
/* Is the role admin-class (Owner, Contributor, User Access Administrator,
 * RBAC Administrator, roles/owner, roles/editor, IAM/security admin roles)?
 * false when unknown. */
bool nw_rules_role_admin(const nw_rules *r, const char *provider, const char *role);

#endif
