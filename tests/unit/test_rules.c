/* test_rules.c - the shipped rule set, the CloudTrail action map, the role
 * and unobservable tables, and every way a broken rules folder is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nw_test.h"
#include "rules.h"

#define RULES_FIX NW_FIXTURES_DIR "/rules"

/* ---- the shipped rules ---- */

static void test_shipped(const nw_rules *r)
{
    CHECK_INT(nw_rules_count(r), 24);
    const nw_rule *fam[16];
    CHECK_INT(nw_rules_family(r, "dormant", fam, 16), 3);
    CHECK_CSTR(fam[0]->id, "NHI-DORMANT-001");
    CHECK_CSTR(fam[2]->id, "NHI-DORMANT-003");
    CHECK_INT(nw_rules_family(r, "suddenly_active", fam, 16), 10);
    CHECK_CSTR(fam[9]->id, "NHI-ACTIVE-010");
    CHECK_INT(nw_rules_family(r, "over_privileged", fam, 16), 4);
    CHECK_CSTR(fam[3]->id, "NHI-PRIV-004");
    CHECK(nw_rule_match(fam[3], "gcp_roles", NW_STR_LIT("roles/iam.serviceAccountTokenCreator")));
    CHECK_INT(nw_rules_family(r, "hygiene", fam, 16), 7);
    CHECK_CSTR(fam[6]->id, "NHI-HYG-007");
    /* max smaller than the family: the total is still returned */
    CHECK_INT(nw_rules_family(r, "hygiene", fam, 2), 7);
    CHECK_INT(nw_rules_family(r, "nonsense", fam, 16), 0);
    CHECK(nw_rules_at(r, 24) == NULL);

    /* every rule is complete: severity, texts, compliance with framework + control, params */
    int bad = 0;
    for (size_t i = 0; i < nw_rules_count(r); i++) {
        const nw_rule *x = nw_rules_at(r, i);
        bool ok = x && nw_severity_rank(x->severity) >= 0 && x->title && *x->title && x->description &&
                  strlen(x->description) > 40 && x->remediation && strlen(x->remediation) > 40 && x->kind &&
                  json_is_object(x->params) && json_array_size(x->compliance) > 0 && x->line > 0 && x->file;
        size_t k;
        const json_t *c;
        json_array_foreach(x->compliance, k, c)
        {
            const char *fw = json_string_value(json_object_get(c, "framework"));
            const char *ctl = json_string_value(json_object_get(c, "control"));
            ok = ok && fw && *fw && ctl && *ctl;
        }
        if (!ok) {
            bad++;
            fprintf(stderr, "incomplete rule %s\n", x ? x->id : "?");
        }
    }
    CHECK_INT(bad, 0);

    /* ids, severities, kinds */
    const nw_rule *d1 = nw_rules_get(r, "NHI-DORMANT-001");
    CHECK(d1 != NULL);
    CHECK_CSTR(d1->family, "dormant");
    CHECK_CSTR(d1->severity, "high");
    CHECK_CSTR(d1->kind, "dormant");
    CHECK(d1->severity_escalated == NULL);
    CHECK_INT(d1->line, 6); /* the "id" line in rules/dormant.json */
    CHECK(strstr(d1->file, "dormant.json") != NULL);
    CHECK_CSTR(nw_rules_get(r, "NHI-PRIV-001")->severity, "critical");
    CHECK_CSTR(nw_rules_get(r, "NHI-ACTIVE-001")->severity, "high");
    CHECK_CSTR(nw_rules_get(r, "NHI-ACTIVE-001")->severity_escalated, "critical");
    CHECK_CSTR(nw_rules_get(r, "NHI-DORMANT-003")->kind, "unused_credential");
    CHECK_CSTR(nw_rules_get(r, "NHI-HYG-001")->kind, "stale_credential");
    CHECK_CSTR(nw_rules_get(r, "NHI-HYG-003")->kind, "credential_expiring");
    CHECK_CSTR(nw_rules_get(r, "NHI-HYG-005")->kind, "no_owner");
    CHECK(nw_rules_get(r, "NHI-NOPE-001") == NULL);
    CHECK(nw_rules_get(NULL, "NHI-DORMANT-001") == NULL);

    /* thresholds: the documented defaults */
    struct {
        const char *id, *name;
        double want;
    } p[] = {
        {"NHI-DORMANT-001", "dormant_days", 90},    {"NHI-DORMANT-001", "grace_days", 14},
        {"NHI-DORMANT-001", "rhythm_factor", 1.5},  {"NHI-DORMANT-001", "min_observations", 4},
        {"NHI-DORMANT-002", "window_days", 90},     {"NHI-DORMANT-002", "min_log_coverage_days", 30},
        {"NHI-DORMANT-003", "unused_days", 45},     {"NHI-DORMANT-003", "grace_days", 14},
        {"NHI-ACTIVE-001", "gap_days", 30},         {"NHI-ACTIVE-001", "rhythm_factor", 1.5},
        {"NHI-ACTIVE-001", "recent_days", 7},       {"NHI-ACTIVE-001", "escalate_window_minutes", 60},
        {"NHI-ACTIVE-002", "baseline_days", 28},    {"NHI-ACTIVE-002", "min_baseline_days", 14},
        {"NHI-ACTIVE-002", "k_mad", 6},             {"NHI-ACTIVE-002", "min_events", 50},
        {"NHI-ACTIVE-002", "min_ratio", 5},         {"NHI-ACTIVE-002", "burst_factor", 1.5},
        {"NHI-ACTIVE-003", "learning_days", 14},    {"NHI-ACTIVE-004", "learning_days", 14},
        {"NHI-ACTIVE-005", "ipv4_prefix_len", 24},  {"NHI-ACTIVE-005", "ipv6_prefix_len", 48},
        {"NHI-ACTIVE-008", "min_denied", 20},       {"NHI-ACTIVE-008", "min_share", 0.5},
        {"NHI-ACTIVE-008", "window_hours", 24},     {"NHI-PRIV-001", "max_used_services", 3},
        {"NHI-PRIV-001", "window_days", 90},        {"NHI-PRIV-002", "unused_share", 0.5},
        {"NHI-PRIV-002", "min_granted", 4},         {"NHI-PRIV-002", "window_days", 90},
        {"NHI-PRIV-003", "min_granted", 10},        {"NHI-HYG-001", "rotation_days", 90},
        {"NHI-HYG-002", "min_expired_days", 0},     {"NHI-HYG-003", "warn_days", 30},
        {"NHI-HYG-004", "max_active", 1},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        bool ok = false;
        double v = nw_rule_param(nw_rules_get(r, p[i].id), p[i].name, &ok);
        if (!ok || v != p[i].want) {
            fprintf(stderr, "%s %s = %g (ok %d), expected %g\n", p[i].id, p[i].name, v, ok, p[i].want);
            CHECK(false);
        } else {
            CHECK(true);
        }
    }
    bool ok = true;
    CHECK(nw_rule_param(d1, "no_such_param", &ok) == 0 && !ok);
    CHECK(nw_rule_param(NULL, "dormant_days", NULL) == 0);

    /* compliance references of the rules a reviewer reads first */
    const json_t *c = nw_rules_get(r, "NHI-HYG-004")->compliance;
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 0), "framework")), "CIS AWS 3.0");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 0), "control")), "1.13");
    c = nw_rules_get(r, "NHI-HYG-001")->compliance;
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 0), "control")), "1.14");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 1), "framework")), "CIS GCP 3.0");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 1), "control")), "1.7");
    c = nw_rules_get(r, "NHI-DORMANT-001")->compliance;
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 3), "framework")), "PCI DSS 4.0");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(c, 3), "control")), "8.2.6");

    /* pattern lists */
    const nw_rule *person = nw_rules_get(r, "NHI-ACTIVE-009");
    CHECK(nw_rule_match(person, "browser_user_agents",
                        NW_STR_LIT("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0")));
    CHECK(nw_rule_match(person, "browser_user_agents", NW_STR_LIT("signin.amazonaws.com")));
    CHECK(nw_rule_match(person, "browser_user_agents", NW_STR_LIT("console.ec2.amazonaws.com")));
    CHECK(!nw_rule_match(person, "browser_user_agents", NW_STR_LIT("aws-cli/2.15.0 Python/3.11.6")));
    CHECK(!nw_rule_match(person, "no_such_list", NW_STR_LIT("Mozilla/5.0")));
    const nw_rule *compute = nw_rules_get(r, "NHI-HYG-006");
    CHECK(nw_rule_match(compute, "compute_user_agents",
                        NW_STR_LIT("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10 exec-env/AWS_Lambda_python3.12")));
    CHECK(nw_rule_match(compute, "compute_user_agents",
                        NW_STR_LIT("aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21 exec-env/AWS_ECS_FARGATE")));
    CHECK(!nw_rule_match(compute, "compute_user_agents", NW_STR_LIT("aws-cli/2.15.0 Python/3.11.6")));
    CHECK(nw_rule_match(compute, "compute_sources", NW_STR_LIT("ec2.amazonaws.com")));

    /* the parameters the detectors read exist and are numbers */
    static const char *const needed[][2] = {
        {"NHI-DORMANT-001", "dormant_days"},    {"NHI-DORMANT-001", "grace_days"},
        {"NHI-DORMANT-001", "rhythm_factor"},   {"NHI-DORMANT-003", "unused_days"},
        {"NHI-ACTIVE-001", "gap_days"},         {"NHI-ACTIVE-001", "recent_days"},
        {"NHI-ACTIVE-002", "baseline_days"},    {"NHI-ACTIVE-002", "k_mad"},
        {"NHI-ACTIVE-002", "min_events"},       {"NHI-ACTIVE-002", "min_ratio"},
        {"NHI-ACTIVE-002", "burst_factor"},     {"NHI-ACTIVE-003", "learning_days"},
        {"NHI-ACTIVE-004", "learning_days"},    {"NHI-ACTIVE-008", "min_denied"},
        {"NHI-ACTIVE-008", "min_share"},        {"NHI-PRIV-001", "max_used_services"},
        {"NHI-PRIV-002", "unused_share"},       {"NHI-PRIV-002", "min_granted"},
        {"NHI-PRIV-002", "window_days"},        {"NHI-PRIV-003", "min_granted"},
        {"NHI-HYG-001", "rotation_days"},       {"NHI-HYG-003", "warn_days"},
        {"NHI-HYG-004", "max_active"},
    };
    int missing = 0;
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        bool have = false;
        nw_rule_param(nw_rules_get(r, needed[i][0]), needed[i][1], &have);
        if (!have) {
            missing++;
            fprintf(stderr, "%s lacks %s\n", needed[i][0], needed[i][1]);
        }
    }
    CHECK_INT(missing, 0);
}

/* ---- CloudTrail -> IAM ---- */

static void map1(const nw_rules *r, const char *prefix, const char *name, size_t want_n, const char *a0,
                 const char *a1, int line)
{
    char out[4][128];
    memset(out, 0, sizeof out);
    size_t n = nw_rules_aws_actions(r, nw_str_c(prefix), nw_str_c(name), out, 4);
    bool ok = n == want_n && (!a0 || strcmp(out[0], a0) == 0) && (!a1 || strcmp(out[1], a1) == 0);
    if (ok) {
        nw_t_pass++;
    } else {
        nw_t_fail++;
        fprintf(stderr, "%s:%d: %s/%s -> %zu [%s, %s], expected %zu [%s, %s]\n", __FILE__, line, prefix, name, n,
                out[0], out[1], want_n, a0 ? a0 : "-", a1 ? a1 : "-");
    }
}
#define MAP(p, n, k, a0, a1) map1(r, p, n, k, a0, a1, __LINE__)

static void test_aws_map(const nw_rules *r)
{
    /* S3 */
    MAP("s3", "ListObjects", 1, "s3:ListBucket", NULL);
    MAP("s3", "ListObjectsV2", 1, "s3:ListBucket", NULL);
    MAP("s3", "HeadBucket", 1, "s3:ListBucket", NULL);
    MAP("s3", "ListBuckets", 1, "s3:ListAllMyBuckets", NULL);
    MAP("s3", "HeadObject", 1, "s3:GetObject", NULL);
    MAP("s3", "CreateMultipartUpload", 1, "s3:PutObject", NULL);
    MAP("s3", "UploadPart", 1, "s3:PutObject", NULL);
    MAP("s3", "CompleteMultipartUpload", 1, "s3:PutObject", NULL);
    MAP("s3", "CopyObject", 2, "s3:PutObject", "s3:GetObject");
    MAP("s3", "DeleteObjects", 1, "s3:DeleteObject", NULL);
    MAP("s3", "ListObjectVersions", 1, "s3:ListBucketVersions", NULL);
    MAP("s3", "ListMultipartUploads", 1, "s3:ListBucketMultipartUploads", NULL);
    MAP("s3", "ListParts", 1, "s3:ListMultipartUploadParts", NULL);
    MAP("s3", "GetBucketEncryption", 1, "s3:GetEncryptionConfiguration", NULL);
    MAP("s3", "DeleteBucketEncryption", 1, "s3:PutEncryptionConfiguration", NULL);
    MAP("s3", "PutBucketLifecycle", 1, "s3:PutLifecycleConfiguration", NULL);
    MAP("s3", "GetBucketLifecycle", 1, "s3:GetLifecycleConfiguration", NULL);
    MAP("s3", "PutBucketReplication", 2, "s3:PutReplicationConfiguration", "iam:PassRole");
    MAP("s3", "DeleteBucketReplication", 1, "s3:PutReplicationConfiguration", NULL);
    MAP("s3", "GetBucketCors", 1, "s3:GetBucketCORS", NULL);
    MAP("s3", "DeleteBucketCors", 1, "s3:PutBucketCORS", NULL);
    MAP("s3", "DeleteBucketPublicAccessBlock", 1, "s3:PutBucketPublicAccessBlock", NULL);
    MAP("s3", "GetObject", 1, "s3:GetObject", NULL);
    MAP("s3", "CreateBucket", 1, "s3:CreateBucket", NULL);
    /* KMS, Lambda */
    MAP("kms", "ReEncrypt", 2, "kms:ReEncryptFrom", "kms:ReEncryptTo");
    MAP("kms", "Decrypt", 1, "kms:Decrypt", NULL);
    MAP("lambda", "CreateFunction20150331", 1, "lambda:CreateFunction", NULL);
    MAP("lambda", "UpdateFunctionCode20150331v2", 1, "lambda:UpdateFunctionCode", NULL);
    MAP("lambda", "Invoke", 1, "lambda:InvokeFunction", NULL);
    MAP("cloudfront", "CreateDistribution2020_05_31", 1, "cloudfront:CreateDistribution", NULL);
    MAP("cloudfront", "UpdateDistribution2017_03_25", 1, "cloudfront:UpdateDistribution", NULL);
    /* no IAM action */
    MAP("sts", "GetCallerIdentity", 0, NULL, NULL);
    MAP("sts", "GetSessionToken", 0, NULL, NULL);
    MAP("sts", "AssumeRoleWithWebIdentity", 0, NULL, NULL);
    MAP("sts", "AssumeRoleWithSAML", 0, NULL, NULL);
    MAP("sts", "AssumeRole", 1, "sts:AssumeRole", NULL);
    MAP("signin", "ConsoleLogin", 0, NULL, NULL);
    MAP("signin", "SwitchRole", 0, NULL, NULL);
    /* API Gateway verbs */
    MAP("apigateway", "CreateRestApi", 1, "apigateway:POST", NULL);
    MAP("apigateway", "GetRestApis", 1, "apigateway:GET", NULL);
    MAP("apigateway", "UpdateStage", 1, "apigateway:PATCH", NULL);
    MAP("apigateway", "DeleteDeployment", 1, "apigateway:DELETE", NULL);
    MAP("apigateway", "PutIntegration", 1, "apigateway:PUT", NULL);
    MAP("apigateway", "ImportRestApi", 1, "apigateway:POST", NULL);
    MAP("apigateway", "FlushStageCache", 1, "apigateway:DELETE", NULL);
    /* source renames, applied to raw labels and whole event sources too */
    MAP("monitoring", "PutMetricData", 1, "cloudwatch:PutMetricData", NULL);
    MAP("monitoring.amazonaws.com", "GetMetricData", 1, "cloudwatch:GetMetricData", NULL);
    MAP("streams.dynamodb", "GetRecords", 1, "dynamodb:GetRecords", NULL);
    MAP("tagging", "GetResources", 1, "tag:GetResources", NULL);
    MAP("cloudwatch", "PutMetricAlarm", 1, "cloudwatch:PutMetricAlarm", NULL);
    MAP("iam.amazonaws.com", "CreateAccessKey", 1, "iam:CreateAccessKey", NULL);
    /* defaults keep names that only look versioned */
    MAP("ec2", "RunInstances", 1, "ec2:RunInstances", NULL);
    MAP("iam", "CreateAccessKey", 1, "iam:CreateAccessKey", NULL);
    MAP("ec2", "DescribeInstances2", 1, "ec2:DescribeInstances2", NULL);
    MAP("lambda", "20150331", 1, "lambda:20150331", NULL);
    /* empty input, tiny output */
    MAP("", "ListBuckets", 0, NULL, NULL);
    MAP("s3", "", 0, NULL, NULL);
    char one[1][128];
    CHECK_INT(nw_rules_aws_actions(r, NW_STR_LIT("s3"), NW_STR_LIT("CopyObject"), one, 1), 1);
    CHECK_CSTR(one[0], "s3:PutObject");

    CHECK(nw_rules_aws_type_without_action(r, NW_STR_LIT("AwsServiceEvent")));
    CHECK(nw_rules_aws_type_without_action(r, NW_STR_LIT("AwsConsoleSignIn")));
    CHECK(!nw_rules_aws_type_without_action(r, NW_STR_LIT("AwsApiCall")));
}

/* ---- roles and unobservable actions ---- */

struct collect {
    char v[64][128];
    bool neg[64];
    size_t n;
};

static void collect_cb(void *ctx, const char *action, bool not_action)
{
    struct collect *c = ctx;
    if (c->n < 64) {
        snprintf(c->v[c->n], 128, "%s", action);
        c->neg[c->n++] = not_action;
    }
}

static void collect_svc(void *ctx, const char *service) { collect_cb(ctx, service, false); }

static bool has(const struct collect *c, const char *v, bool neg)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i], v) == 0 && c->neg[i] == neg)
            return true;
    return false;
}

static void test_roles(const nw_rules *r)
{
    struct collect c = {0};
    CHECK_INT(nw_rules_role_actions(r, "azure", "Contributor", collect_cb, &c), 12);
    CHECK(has(&c, "*", false));
    CHECK(has(&c, "Microsoft.Authorization/*/Write", true));
    CHECK(has(&c, "Microsoft.Authorization/*/Delete", true));
    CHECK(has(&c, "Microsoft.Authorization/elevateAccess/Action", true));
    CHECK(!has(&c, "Microsoft.Authorization/*/Write", false));
    /* by GUID, and by the full role definition id */
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_actions(r, "azure", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", collect_cb, &c), 1);
    CHECK_CSTR(c.v[0], "*");
    CHECK_INT(nw_rules_role_actions(r, "azure",
                                    "/subscriptions/00000000-0000-0000-0000-000000000001/providers/"
                                    "Microsoft.Authorization/roleDefinitions/B24988AC-6180-42A0-AB88-20F7382DD24C",
                                    NULL, NULL),
              12);
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_actions(r, "azure", "reader", collect_cb, &c), 1);
    CHECK_CSTR(c.v[0], "*/read");
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_actions(r, "azure", "User Access Administrator", collect_cb, &c), 3);
    CHECK(has(&c, "Microsoft.Authorization/*", false));
    CHECK_INT(nw_rules_role_actions(r, "azure", "No Such Role", collect_cb, &c), 0);
    CHECK_INT(nw_rules_role_actions(r, "aws", "Owner", collect_cb, &c), 0);
    /* data actions */
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_data_actions(r, "azure", "Key Vault Secrets User", collect_cb, &c), 2);
    CHECK(has(&c, "Microsoft.KeyVault/vaults/secrets/getSecret/action", false));
    CHECK_INT(nw_rules_role_actions(r, "azure", "Key Vault Secrets User", NULL, NULL), 0);
    /* services */
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_services(r, "azure", "Storage Blob Data Reader", collect_svc, &c), 1);
    CHECK_CSTR(c.v[0], "Microsoft.Storage");
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_services(r, "azure", "Key Vault Secrets User", collect_svc, &c), 1);
    CHECK_CSTR(c.v[0], "Microsoft.KeyVault");
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_services(r, "azure", "Owner", collect_svc, &c), 1);
    CHECK_CSTR(c.v[0], "*");
    /* admin class */
    CHECK(nw_rules_role_admin(r, "azure", "Owner"));
    CHECK(nw_rules_role_admin(r, "azure", "Contributor"));
    CHECK(nw_rules_role_admin(r, "azure", "Role Based Access Control Administrator"));
    CHECK(!nw_rules_role_admin(r, "azure", "Reader"));
    CHECK(!nw_rules_role_admin(r, "azure", "Storage Blob Data Contributor"));

    /* GCP */
    CHECK(nw_rules_role_admin(r, "gcp", "roles/owner"));
    CHECK(nw_rules_role_admin(r, "gcp", "roles/editor"));
    CHECK(!nw_rules_role_admin(r, "gcp", "roles/viewer"));
    CHECK(nw_rules_role_admin(r, "gcp", "roles/resourcemanager.projectIamAdmin"));
    CHECK(!nw_rules_role_admin(r, "gcp", "roles/storage.objectViewer"));
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_services(r, "gcp", "roles/storage.admin", collect_svc, &c), 1);
    CHECK_CSTR(c.v[0], "storage.googleapis.com");
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_services(r, "gcp", "roles/compute.instanceAdmin.v1", collect_svc, &c), 1);
    CHECK_CSTR(c.v[0], "compute.googleapis.com");
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_actions(r, "gcp", "roles/storage.objectViewer", collect_cb, &c), 1);
    CHECK_CSTR(c.v[0], "storage.*");
    memset(&c, 0, sizeof c);
    CHECK_INT(nw_rules_role_actions(r, "gcp", "roles/editor", collect_cb, &c), 6);
    CHECK(has(&c, "*", false));
    CHECK(has(&c, "*.setIamPolicy", true));
    CHECK_INT(nw_rules_role_actions(r, "gcp", "roles/does.not.exist", collect_cb, &c), 0);
    CHECK_INT(nw_rules_role_data_actions(r, "gcp", "roles/owner", collect_cb, &c), 0);
}

static void test_unobservable(const nw_rules *r)
{
    CHECK(nw_rules_unobservable(r, "aws", NW_STR_LIT("iam:PassRole")));
    CHECK_INT(nw_rules_unobservable_kind(r, "aws", NW_STR_LIT("iam:PassRole")), NW_UNOBS_NEVER);
    CHECK_INT(nw_rules_unobservable_kind(r, "aws", NW_STR_LIT("IAM:passrole")), NW_UNOBS_NEVER);
    CHECK_INT(nw_rules_unobservable_kind(r, "aws", NW_STR_LIT("s3:GetObject")), NW_UNOBS_DATA_LOGS);
    CHECK_INT(nw_rules_unobservable_kind(r, "aws", NW_STR_LIT("s3:PutObjectAcl")), NW_UNOBS_DATA_LOGS);
    CHECK_INT(nw_rules_unobservable_kind(r, "aws", NW_STR_LIT("lambda:InvokeFunction")), NW_UNOBS_DATA_LOGS);
    CHECK(!nw_rules_unobservable(r, "aws", NW_STR_LIT("s3:ListAllMyBuckets")));
    CHECK(!nw_rules_unobservable(r, "aws", NW_STR_LIT("iam:CreateAccessKey")));
    CHECK(!nw_rules_unobservable(r, "aws", NW_STR_LIT("iam:*")));
    CHECK_INT(nw_rules_unobservable_kind(r, "gcp", NW_STR_LIT("storage.objects.get")), NW_UNOBS_DATA_LOGS);
    CHECK_INT(nw_rules_unobservable_kind(r, "gcp", NW_STR_LIT("iam.serviceAccounts.actAs")), NW_UNOBS_NEVER);
    CHECK(!nw_rules_unobservable(r, "gcp", NW_STR_LIT("iam.serviceAccountKeys.create")));
    CHECK_INT(nw_rules_unobservable_kind(r, "azure", NW_STR_LIT("Microsoft.Compute/virtualMachines/read")),
              NW_UNOBS_NEVER);
    CHECK_INT(nw_rules_unobservable_kind(r, "azure",
                                         NW_STR_LIT("Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read")),
              NW_UNOBS_NEVER);
    CHECK(!nw_rules_unobservable(r, "azure", NW_STR_LIT("Microsoft.Compute/virtualMachines/write")));
    CHECK(!nw_rules_unobservable(r, "azure", NW_STR_LIT("Microsoft.Storage/storageAccounts/listKeys/action")));
    CHECK(!nw_rules_unobservable(r, "other", NW_STR_LIT("iam:PassRole")));
}

/* ---- broken folders ---- */

static void refused(const char *name, int want_code, const char *want_source, int want_line, const char *want_msg,
                    int line)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", RULES_FIX, name);
    nw_rules *r = (nw_rules *)1;
    nw_err e;
    nw_err_clear(&e);
    int rc = nw_rules_load(dir, &r, &e);
    char src[1200], msg[2048];
    snprintf(src, sizeof src, "%s%s%s", dir, *want_source ? "/" : "", want_source);
    snprintf(msg, sizeof msg, "%s%s", dir, want_msg);
    bool ok = rc == want_code && r == NULL && strcmp(e.source, src) == 0 && e.line == want_line &&
              strcmp(e.msg, msg) == 0;
    if (ok) {
        nw_t_pass++;
    } else {
        nw_t_fail++;
        fprintf(stderr,
                "%s:%d: folder %s: rc %d line %lld source '%s' msg '%s'\n   expected rc %d line %d source '%s' msg "
                "'%s'\n",
                __FILE__, line, name, rc, (long long)e.line, e.source, e.msg, want_code, want_line, src, msg);
    }
    nw_rules_free(r == (nw_rules *)1 ? NULL : r);
}
#define REFUSED(name, code, src, ln, msg) refused(name, code, src, ln, msg, __LINE__)

static void test_broken(void)
{
    REFUSED("syntax", NW_RULES_E_PARSE, "dormant.json", 8,
            "/dormant.json:8:16: '}' expected near '\"severity\"'");
    REFUSED("missing_severity", NW_RULES_E_INVALID, "dormant.json", 16,
            "/dormant.json:16: rule NHI-T-002: missing \"severity\"");
    REFUSED("unknown_severity", NW_RULES_E_INVALID, "hygiene.json", 12,
            "/hygiene.json:12: rule NHI-T-010: unknown severity \"urgent\" (expected info, low, medium, high or "
            "critical)");
    REFUSED("duplicate_id", NW_RULES_E_INVALID, "b_hygiene.json", 15,
            "/b_hygiene.json:15: rule NHI-T-001: duplicate id (first defined at " RULES_FIX
            "/duplicate_id/a_dormant.json:6)");
    REFUSED("non_numeric", NW_RULES_E_INVALID, "suddenly_active.json", 14,
            "/suddenly_active.json:14: rule NHI-T-020: params.gap_days is not a number (\"30\")");
    REFUSED("unknown_family", NW_RULES_E_INVALID, "misc.json", 3,
            "/misc.json:3: unknown family \"misc\" (expected dormant, suddenly_active, over_privileged or hygiene)");
    REFUSED("bad_table", NW_RULES_E_INVALID, "aws-action-map.json", 9,
            "/aws-action-map.json:9: table aws-action-map: entry s3/HeadObject: \"GetObject\" is not an IAM action "
            "(prefix:Action)");
    REFUSED("incomplete", NW_RULES_E_INVALID, "", 0, ": no rule file for family \"suddenly_active\"");

    nw_rules *r = NULL;
    nw_err e;
    nw_err_clear(&e);
    CHECK_INT(nw_rules_load(RULES_FIX "/no-such-folder", &r, &e), NW_RULES_E_OPEN);
    CHECK(r == NULL);
    CHECK(strstr(e.msg, "no-such-folder: cannot open the rules folder") != NULL);
    CHECK_CSTR(nw_rules_strerror(NW_RULES_E_PARSE), "rule file is not valid JSON");
}

int main(void)
{
    CHECK_INT(nw_severity_rank("info"), 0);
    CHECK_INT(nw_severity_rank("low"), 1);
    CHECK_INT(nw_severity_rank("medium"), 2);
    CHECK_INT(nw_severity_rank("high"), 3);
    CHECK_INT(nw_severity_rank("critical"), 4);
    CHECK_INT(nw_severity_rank("High"), -1);
    CHECK_INT(nw_severity_rank(NULL), -1);

    /* the shipped folder: NW_RULES_DIR unless $NHIWATCH_RULES says otherwise */
    unsetenv("NHIWATCH_RULES");
    const char *shipped = nw_rules_default_dir();
    CHECK(strstr(shipped, "rules") != NULL);
    nw_rules *r = NULL;
    nw_err e;
    nw_err_clear(&e);
    int rc = nw_rules_load(NULL, &r, &e);
    CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "shipped rules: %s\n", e.msg);
    if (r) {
        test_shipped(r);
        test_aws_map(r);
        test_roles(r);
        test_unobservable(r);
    }
    nw_rules_free(r);

    /* $NHIWATCH_RULES replaces the shipped folder */
    setenv("NHIWATCH_RULES", RULES_FIX "/incomplete", 1);
    CHECK_CSTR(nw_rules_default_dir(), RULES_FIX "/incomplete");
    r = NULL;
    CHECK_INT(nw_rules_load(NULL, &r, &e), NW_RULES_E_INVALID);
    CHECK_CSTR(e.source, RULES_FIX "/incomplete");
    CHECK(r == NULL);
    setenv("NHIWATCH_RULES", "", 1);
    CHECK_CSTR(nw_rules_default_dir(), shipped);
    unsetenv("NHIWATCH_RULES");

    test_broken();
    nw_rules_free(NULL);
    return nw_test_finish();
}
