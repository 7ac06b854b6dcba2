/* fuzz_rules.c - the rule loader (analyze/rules.h) on one rule file or
 * data table. nw_rules_load reads a folder, so the input is written as a
 * file into a folder of the fuzz temporary folder: either alone (parse and
 * validation only: a lone file never makes a complete rule set), or in
 * place of one of the eight shipped files next to the seven others
 * (symbolic links to rules/), so a file that validates gives a whole rule
 * set, and every lookup the detectors make is run on it.
 *
 * Mode byte: bit 7 set = alone; else (mode % 8) picks the shipped file
 * the input replaces. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "rules.h"

#ifndef NW_RULES_SRC
#error "NW_RULES_SRC (the shipped rules/ folder) must be defined"
#endif

static const char *const shipped[8] = {
    "aws-action-map.json", "azure-roles.json",     "dormant.json",         "gcp-roles.json",
    "hygiene.json",        "over_privileged.json", "suddenly_active.json", "unobservable.json",
};
static char dirs[9][512];

static void init(void)
{
    if (dirs[0][0])
        return;
    const char *t = fuzz_tmpdir();
    for (int k = 0; k < 9; k++) {
        snprintf(dirs[k], sizeof dirs[k], "%s/%s%d", t, k < 8 ? "slot" : "alone", k);
        FUZZ_CHECK(mkdir(dirs[k], 0700) == 0);
        for (int j = 0; k < 8 && j < 8; j++) {
            if (j == k)
                continue;
            char from[1024], to[1024];
            snprintf(from, sizeof from, "%s/%s", NW_RULES_SRC, shipped[j]);
            snprintf(to, sizeof to, "%s/%s", dirs[k], shipped[j]);
            FUZZ_CHECK(symlink(from, to) == 0);
        }
    }
}

static void on_action(void *ctx, const char *action, bool not_action)
{
    (void)not_action;
    (*(size_t *)ctx)++;
    FUZZ_CHECK(action != NULL);
}

static void on_service(void *ctx, const char *service)
{
    (*(size_t *)ctx)++;
    FUZZ_CHECK(service != NULL);
}

static void exercise(const nw_rules *r)
{
    size_t n = nw_rules_count(r);
    FUZZ_CHECK(n > 0);
    for (size_t i = 0; i < n; i++) {
        const nw_rule *rule = nw_rules_at(r, i);
        FUZZ_CHECK(rule && rule->id && rule->family && rule->severity && rule->title);
        FUZZ_CHECK(nw_rules_get(r, rule->id) == rule); /* ids are unique */
        FUZZ_CHECK(nw_severity_rank(rule->severity) >= 0);
        nw_rule_param(rule, "days", NULL);
        nw_rule_match(rule, "actions", nw_str_c("iam:CreateAccessKey"));
        nw_rule_match(rule, "names", nw_str_c("ci-deploy"));
    }
    FUZZ_CHECK(nw_rules_at(r, n) == NULL);
    const nw_rule *fam[8];
    nw_rules_family(r, "dormant", fam, 8);
    char out[8][128];
    static const char *const names[] = {"GetObject", "ListBuckets20150331", "CreateAccessKey", "ConsoleLogin",
                                        "Invoke2019_03_31", ""};
    static const char *const prefixes[] = {"s3", "iam", "lambda", "monitoring", "sts", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        for (size_t j = 0; j < sizeof prefixes / sizeof prefixes[0]; j++) {
            size_t k = nw_rules_aws_actions(r, nw_str_c(prefixes[j]), nw_str_c(names[i]), out, 8);
            for (size_t a = 0; a < k && a < 8; a++)
                FUZZ_CHECK(memchr(out[a], '\0', 128) != NULL);
        }
    nw_rules_aws_type_without_action(r, nw_str_c("AwsServiceEvent"));
    static const char *const provs[] = {"aws", "azure", "gcp"};
    for (int p = 0; p < 3; p++) {
        nw_rules_unobservable_kind(r, provs[p], nw_str_c("iam:PassRole"));
        nw_rules_unobservable_kind(r, provs[p], nw_str_c("storage.objects.get"));
    }
    static const char *const roles[] = {
        "Owner",
        "Contributor",
        "roles/owner",
        "roles/storage.admin",
        "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        "roles/editor",
        "",
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        for (int p = 1; p < 3; p++) {
            size_t c = 0;
            nw_rules_role_actions(r, provs[p], roles[i], on_action, &c);
            nw_rules_role_data_actions(r, provs[p], roles[i], on_action, &c);
            nw_rules_role_services(r, provs[p], roles[i], on_service, &c);
            nw_rules_role_admin(r, provs[p], roles[i]);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    int k = (mode & 0x80) ? 8 : (int)(mode % 8);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dirs[k], k < 8 ? shipped[k] : "rules.json");
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data + 1, 1, size - 1, f) == size - 1);
    FUZZ_CHECK(fclose(f) == 0);

    nw_rules *r = NULL;
    nw_err err;
    nw_err_clear(&err);
    int rc = nw_rules_load(dirs[k], &r, &err);
    FUZZ_CHECK(rc <= 0 && rc >= NW_RULES_E_NOMEM);
    if (rc) {
        FUZZ_CHECK(r == NULL);
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(k < 8 || rc != 0);
        return 0;
    }
    FUZZ_CHECK(k < 8); /* a lone file is never a whole rule set */
    exercise(r);
    nw_rules_free(r);
    return 0;
}
