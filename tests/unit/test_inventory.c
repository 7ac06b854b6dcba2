/* test_inventory.c - the entitlement / inventory importers on the real
 * samples (tests/fixtures/entitlements/, see the PROVENANCE.md there) and
 * on hand-made files for the shapes the samples lack; the IAM action glob.
 *
 * Expected values were read off the files by hand (the big AWS export was
 * also cross-checked with an independent script; the counts quoted below
 * say where they come from). */
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inventory.h"
#include "nw_test.h"
#include "nw_time.h"

static nw_store *st;
static nw_err err;

#define FX NW_FIXTURES_DIR "/entitlements/"

static int imp(const char *rel, const nw_import_opts *o, nw_import_result *r)
{
    char p[1024];
    snprintf(p, sizeof p, "%s%s", FX, rel);
    nw_err_clear(&err);
    memset(r, 0, sizeof *r);
    return nw_inventory_import(st, p, o, r, &err);
}

static int64_t T(const char *s)
{
    int64_t us = 0;
    if (nw_time_parse(nw_str_c(s), &us))
        fprintf(stderr, "bad time in test: %s\n", s);
    return us;
}

static int64_t q(const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(nw_store_db(st), sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void open_fresh(char *path)
{
    strcpy(path, "/tmp/nw_test_inventory_XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    nw_err_clear(&err);
    if (nw_store_open(path, NULL, &st, &err))
        fprintf(stderr, "cannot open %s: %s\n", path, err.msg);
}

static void close_rm(const char *path)
{
    nw_store_close(st);
    st = NULL;
    char p[128];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* ---- identity snapshot ---- */

struct ident {
    int found;
    char key[256], provider[16], type[32], kind[16], display[128], account[64], tenant[64], object_id[64],
        app_id[64], trust[512], tags[256];
    int64_t created, last_used;
    int disabled, console, mfa, sources, active;
};

static const char *want_key;
static struct ident got;
static int n_idents;

#define CP(dst, src) snprintf(dst, sizeof dst, "%s", (src) ? (src) : "-")

static int find_cb(void *ctx, const nw_inv_identity *r)
{
    (void)ctx;
    n_idents++;
    if (strcmp(r->key, want_key) != 0)
        return 0;
    got.found++;
    CP(got.key, r->key);
    CP(got.provider, r->provider);
    CP(got.type, r->type);
    CP(got.kind, r->kind);
    CP(got.display, r->display_name);
    CP(got.account, r->account);
    CP(got.tenant, r->tenant);
    CP(got.object_id, r->object_id);
    CP(got.app_id, r->app_id);
    CP(got.trust, r->trust_json);
    CP(got.tags, r->tags_json);
    got.created = r->created;
    got.last_used = r->last_used;
    got.disabled = r->disabled;
    got.console = r->console;
    got.mfa = r->mfa;
    got.sources = r->sources;
    got.active = r->active_credentials;
    return 0;
}

static struct ident *ident(const char *key)
{
    memset(&got, 0, sizeof got);
    want_key = key;
    n_idents = 0;
    nw_err_clear(&err);
    if (nw_inventory_each_identity(st, find_cb, NULL, &err))
        fprintf(stderr, "each_identity: %s\n", err.msg);
    if (got.found > 1)
        fprintf(stderr, "identity %s found %d times\n", key, got.found);
    return &got;
}

static int count_identities(void)
{
    ident("");
    return n_idents;
}

/* ---- grants and credentials as lines ---- */

#define MAXL 128
struct lines {
    int n;
    char v[MAXL][600];
};
static struct lines L;

static int grant_cb(void *ctx, const nw_inv_grant *g)
{
    (void)ctx;
    if (L.n < MAXL)
        snprintf(L.v[L.n], sizeof L.v[0], "%s|%s%s|%s%s|%s|%s%s", g->effect, g->not_action ? "!" : "", g->action,
                 g->not_resource ? "!" : "", g->resource, g->via, g->conditional ? "C" : "",
                 g->admin ? "A" : "");
    L.n++;
    return 0;
}

static struct lines *grants(const char *key)
{
    memset(&L, 0, sizeof L);
    nw_err_clear(&err);
    if (nw_inventory_each_grant(st, key, grant_cb, NULL, &err))
        fprintf(stderr, "each_grant: %s\n", err.msg);
    return &L;
}

static int count_via(const struct lines *l, const char *via_prefix)
{
    int n = 0;
    for (int i = 0; i < l->n && i < MAXL; i++) {
        const char *v = strchr(strchr(strchr(l->v[i], '|') + 1, '|') + 1, '|') + 1;
        n += strncmp(v, via_prefix, strlen(via_prefix)) == 0;
    }
    return n;
}

static void tfmt(char *b, int64_t t)
{
    if (t)
        nw_time_fmt_us(t, b);
    else
        strcpy(b, "-");
}

static int cred_cb(void *ctx, const nw_inv_cred *c)
{
    (void)ctx;
    char a[40], b[40], d[40], e[40];
    tfmt(a, c->created);
    tfmt(b, c->rotated);
    tfmt(d, c->expires);
    tfmt(e, c->last_used);
    if (L.n < MAXL)
        snprintf(L.v[L.n], sizeof L.v[0], "%s|%s|%s|%s|%s|%s|%s|%s|%s|%s", c->identity_key, c->cred_id, c->kind,
                 c->active ? "active" : "inactive", a, b, d, e, c->last_used_service ? c->last_used_service : "-",
                 c->last_used_region ? c->last_used_region : "-");
    L.n++;
    return 0;
}

static struct lines *creds(const char *key)
{
    memset(&L, 0, sizeof L);
    nw_err_clear(&err);
    if (nw_inventory_each_credential(st, key, cred_cb, NULL, &err))
        fprintf(stderr, "each_credential: %s\n", err.msg);
    return &L;
}

static int perm_cb(void *ctx, const char *perm, bool not_perm)
{
    (void)ctx;
    if (L.n < MAXL)
        snprintf(L.v[L.n], sizeof L.v[0], "%s%s", not_perm ? "!" : "", perm);
    L.n++;
    return 0;
}

static int perms(const char *provider, const char *role)
{
    memset(&L, 0, sizeof L);
    nw_err_clear(&err);
    return nw_inventory_each_role_perm(st, provider, role, perm_cb, NULL, &err);
}

/* ================================================================ */

static void test_glob(void)
{
    struct {
        const char *p, *s;
        bool m;
    } c[] = {
        {"s3:Get*", "s3:GetObject", true},
        {"s3:get*", "S3:GETOBJECT", true}, /* prefix and name are case-insensitive */
        {"s3:Get*", "s3:PutObject", false},
        {"s3:Get*", "s3:Get", true}, /* '*' matches the empty run */
        {"*", "", true},
        {"*", "iam:PassRole", true},
        {"", "", true},
        {"", "s3:GetObject", false},
        {"s3:GetObject", "", false},
        {"s3:GetObject", "s3:GetObject", true},
        {"s3:GetObject", "s3:GetObjectAcl", false}, /* the whole action must match */
        {"s3:GetObjectAcl", "s3:GetObject", false},
        {"s3:*Object", "s3:GetObject", true},
        {"s3:*Object", "s3:GetObjectAcl", false},
        {"*Object", "Object", true},
        {"*:*", "s3:GetObject", true},
        {"*:*", "nocolon", false},
        {"iam:*Policy*", "iam:PutRolePolicy", true},
        {"iam:*Policy*", "iam:PolicyX", true},
        {"iam:*Policy*", "iam:PassRole", false},
        {"a*b*c", "aXbYc", true},
        {"a*b*c", "abc", true},
        {"a*b*c", "aXbY", false},
        {"a*b*c", "acb", false},
        {"**", "x", true},
        {"a**", "a", true},
        {"*a", "bbbb", false},
        {"s3:Get?bject", "s3:GetObject", true},
        {"s3:Get?", "s3:Get", false}, /* '?' is exactly one */
        {"s3:Get?", "s3:GetX", true},
        {"s3:Get?", "s3:GetXY", false},
        {"??", "ab", true},
        {"??", "a", false},
        {"?*", "", false},
        {"?*", "a", true},
        {"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
        {"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
        {"*/read", "Microsoft.Compute/virtualMachines/read", true},
        {"Microsoft.Storage/*", "microsoft.storage/storageaccounts/listkeys/action", true},
        {"storage.objects.*", "storage.objects.get", true},
        {"storage.*.get", "storage.buckets.get", true},
        {"storage.objects.get", "storage.objects.getIamPolicy", false},
        {"roles/editor", "roles/Editor", true},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        bool m = nw_action_match(c[i].p, nw_str_c(c[i].s));
        if (m != c[i].m)
            fprintf(stderr, "glob case %zu: '%s' vs '%s'\n", i, c[i].p, c[i].s);
        CHECK(m == c[i].m);
    }
    CHECK(nw_action_match(NULL, NW_STR_LIT("")));
    CHECK(!nw_action_match(NULL, NW_STR_LIT("x")));
    CHECK(!nw_glob_match(NW_STR_LIT("ABC"), NW_STR_LIT("abc"), false));
    CHECK(nw_glob_match(NW_STR_LIT("ABC"), NW_STR_LIT("abc"), true));
    /* a view that is not NUL-terminated */
    CHECK(nw_action_match("s3:Get", nw_str_mk("s3:GetObject", 6)));

    /* no exponential backtracking */
    size_t n = 200000;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = '\0';
    clock_t t0 = clock();
    CHECK(!nw_action_match("*a*a*a*a*a*a*a*b", nw_str_mk(s, n)));
    s[n - 1] = 'b';
    CHECK(nw_action_match("*a*a*a*a*a*a*a*b", nw_str_mk(s, n)));
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 1.0);
    free(s);
}

/* ---- AWS ---- */

static void test_aws_auth_details(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    const char *f = "aws/cloudsplaining_examples-files-example.account-authorization-details.json";
    CHECK_INT(imp(f, NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AWS_AUTH_DETAILS);
    CHECK_CSTR(nw_inv_format_name(r.format), "aws-authorization-details");
    /* 44 users + 78 roles; groups and policies are not identities */
    CHECK_INT(r.identities, 122);
    CHECK_INT(r.credentials, 0);
    /* one row per (action, resource) of every effective statement: 6676
     * rows, one of which repeats within the same identity and via */
    CHECK_INT(r.grants, 6675);
    CHECK_INT(r.skipped, 0);
    CHECK_INT(count_identities(), 122);

    /* a user with a group: AdministratorAccess attached directly and via group admin */
    struct ident *i = ident("arn:aws:iam::012345678901:user/obama");
    CHECK_CSTR(i->type, "iam_user");
    CHECK_CSTR(i->provider, "aws");
    CHECK_CSTR(i->account, "012345678901");
    CHECK_CSTR(i->display, "obama");
    CHECK_INT(i->created, T("2019-12-18T19:10:08Z"));
    CHECK_INT(i->console, -1); /* not in this export */
    CHECK_CSTR(i->kind, "unknown");
    struct lines *g = grants("arn:aws:iam::012345678901:user/obama");
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[0], "allow|*|*|managed:arn:aws:iam::aws:policy/AdministratorAccess|A");
    CHECK_CSTR(g->v[1], "allow|*|*|group:admin/managed:arn:aws:iam::aws:policy/AdministratorAccess|A");

    /* inline + managed + group inline + group managed */
    g = grants("arn:aws:iam::012345678901:user/biden");
    CHECK_INT(g->n, 83);
    CHECK_CSTR(g->v[0], "allow|s3:PutObject|*|inline:InsecureUserPolicy|");
    CHECK_CSTR(g->v[1], "allow|s3:PutObjectAcl|*|inline:InsecureUserPolicy|");
    CHECK_CSTR(g->v[2], "allow|s3:GetObject|*|inline:InsecureUserPolicy|");
    CHECK_CSTR(g->v[3], "allow|cloudformation:DescribeChangeSet|*|managed:arn:aws:iam::aws:policy/AWSLambdaFullAccess|");
    CHECK_INT(count_via(g, "inline:InsecureUserPolicy"), 3);
    CHECK_INT(count_via(g, "managed:arn:aws:iam::aws:policy/AWSLambdaFullAccess"), 52);
    CHECK_INT(count_via(g, "group:biden/inline:InlinePolicyForBidenGroup"), 2);
    CHECK_INT(count_via(g, "group:biden/managed:arn:aws:iam::aws:policy/AmazonRDSFullAccess"), 26);
    CHECK_CSTR(g->v[55], "allow|s3:GetObject|*|group:biden/inline:InlinePolicyForBidenGroup|");
    CHECK_CSTR(g->v[56], "allow|s3:PutObjectAcl|*|group:biden/inline:InlinePolicyForBidenGroup|");

    /* a role with an inline and a managed policy, RoleLastUsed, trust */
    i = ident("arn:aws:iam::012345678901:role/OverprivilegedEC2");
    CHECK_CSTR(i->type, "iam_role");
    CHECK_CSTR(i->kind, "non_human");
    CHECK_INT(i->created, T("2018-08-20T18:48:00Z"));
    CHECK_INT(i->last_used, T("2019-01-20T18:48:00Z"));
    CHECK_CSTR(i->object_id, "OverprivilegedEC2");
    CHECK_CSTR(i->trust, "[\"Service:ec2.amazonaws.com\"]");
    g = grants("arn:aws:iam::012345678901:role/OverprivilegedEC2");
    CHECK_INT(g->n, 5);
    CHECK_CSTR(g->v[0], "allow|secretsmanager:GetSecretValue|*|inline:SupYo|");
    CHECK_CSTR(g->v[1], "allow|s3:GetObject|*|inline:SupYo|");
    CHECK_CSTR(g->v[2], "allow|iam:CreateAccessKey|*|inline:SupYo|");
    CHECK_CSTR(g->v[3], "allow|s3:PutObject|*|managed:arn:aws:iam::012345678901:policy/InsecurePolicy|");
    CHECK_CSTR(g->v[4], "allow|s3:PutObjectAcl|*|managed:arn:aws:iam::012345678901:policy/InsecurePolicy|");

    /* NotAction that leaves iam:Put*Policy: admin-class */
    g = grants("arn:aws:iam::200611803367:role/fn4-exploitableNotAction-role");
    CHECK_INT(g->n, 3);
    CHECK_CSTR(g->v[0], "allow|!iam:Update*|*|managed:arn:aws:iam::200611803367:policy/fn4-exploitableNotAction|A");
    CHECK_CSTR(g->v[1], "allow|!iam:Create*|*|managed:arn:aws:iam::200611803367:policy/fn4-exploitableNotAction|A");
    CHECK_CSTR(g->v[2], "allow|!iam:Attach*|*|managed:arn:aws:iam::200611803367:policy/fn4-exploitableNotAction|A");
    i = ident("arn:aws:iam::200611803367:role/fn4-exploitableNotAction-role");
    CHECK_INT(i->last_used, 0); /* RoleLastUsed: {} */
    CHECK_CSTR(i->trust, "[\"AWS:arn:aws:sts::200611803367:assumed-role/AWSReservedSSO_AdministratorAccess_"
                         "dc6414f7f2ab04fc/elad@codsec.io\"]");

    /* allow and deny in one policy; deny-all in another */
    g = grants("arn:aws:iam::200611803367:role/fp1-allow-and-deny-role");
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[0], "allow|iam:*|*|managed:arn:aws:iam::200611803367:policy/fp1-allow-and-deny|A");
    CHECK_CSTR(g->v[1], "deny|iam:*|*|managed:arn:aws:iam::200611803367:policy/fp1-allow-and-deny|");
    g = grants("arn:aws:iam::200611803367:role/fp2-allow-and-deny-multiple-policies-role");
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[0], "deny|*|*|managed:arn:aws:iam::200611803367:policy/deny-all|");
    CHECK_CSTR(g->v[1], "allow|*|*|managed:arn:aws:iam::200611803367:policy/fp2-allow-all|A");

    /* SSO permission-set roles are people */
    i = ident("arn:aws:iam::200611803367:role/aws-reserved/sso.amazonaws.com/"
              "AWSReservedSSO_AdministratorAccess_dc6414f7f2ab04fc");
    CHECK_CSTR(i->kind, "human");

    CHECK_INT(q("SELECT count(DISTINCT identity_key) FROM inv_grant WHERE admin = 1"), 16);
    CHECK_INT(q("SELECT count(*) FROM inv_grant WHERE effect = 'deny'"), 6);
    CHECK_INT(q("SELECT count(*) FROM inv_grant WHERE conditional = 1"), 51);
    CHECK_INT(q("SELECT count(*) FROM inv_identity WHERE last_used IS NOT NULL"), 26); /* roles with LastUsedDate */

    /* again: nothing changes */
    CHECK_INT(imp(f, NULL, &r), 0);
    CHECK_INT(r.identities, 122);
    CHECK_INT(r.grants, 6675);
    CHECK_INT(q("SELECT count(*) FROM inv_grant"), 6675);
    CHECK_INT(q("SELECT count(*) FROM inv_identity"), 122);
    close_rm(db);
}

static void test_aws_cred_report(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    const char *f = "aws/cloud-custodian_test_account_credential_report.credential-report.csv";
    CHECK_INT(imp(f, NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AWS_CRED_REPORT);
    /* 21 rows; christopher appears twice with the same ARN */
    CHECK_INT(r.identities, 20);
    /* 14 users with an active key, andrew and kit with two */
    CHECK_INT(r.credentials, 16);
    CHECK_INT(r.grants, 0);
    CHECK_INT(r.skipped, 0);

    struct ident *i = ident("arn:aws:iam::644160558196:root");
    CHECK_CSTR(i->type, "root");
    CHECK_CSTR(i->kind, "human");
    CHECK_INT(i->console, -1); /* not_supported */
    CHECK_INT(i->mfa, 1);
    CHECK_INT(i->created, T("2016-05-16T18:13:11Z"));
    CHECK_INT(i->last_used, T("2016-10-06T15:47:11Z"));
    CHECK_INT(creds("arn:aws:iam::644160558196:root")->n, 0);

    i = ident("arn:aws:iam::644160558196:user/andrew");
    CHECK_INT(i->console, 1);
    CHECK_INT(i->mfa, 0);
    CHECK_INT(i->active, 2);
    CHECK_CSTR(i->kind, "unknown"); /* a console user with keys */
    CHECK_INT(i->last_used, T("2016-11-16T14:10:34Z")); /* password, newer than the key's use */
    struct lines *c = creds("arn:aws:iam::644160558196:user/andrew");
    CHECK_INT(c->n, 2);
    CHECK_CSTR(c->v[0], "arn:aws:iam::644160558196:user/andrew|access_key_1|aws_long_term|active|"
                        "2016-10-11T15:27:35Z|2016-10-11T15:27:35Z|-|-|-|-");
    CHECK_CSTR(c->v[1], "arn:aws:iam::644160558196:user/andrew|access_key_2|aws_long_term|active|"
                        "2016-08-30T19:05:50Z|2016-08-30T19:05:50Z|-|2016-10-20T20:27:00Z|ec2|us-east-1");

    i = ident("arn:aws:iam::644160558196:user/christopher");
    CHECK_INT(i->last_used, T("2016-11-21T18:44:00Z"));
    c = creds("arn:aws:iam::644160558196:user/christopher");
    CHECK_INT(c->n, 1);
    CHECK_CSTR(c->v[0], "arn:aws:iam::644160558196:user/christopher|access_key_1|aws_long_term|active|"
                        "2016-09-14T12:57:54Z|2016-09-14T12:57:54Z|-|2016-11-21T18:44:00Z|redshift|us-east-1");

    /* a programmatic user that never used its key */
    i = ident("arn:aws:iam::644160558196:user/c7n-iam-test");
    CHECK_INT(i->console, 0);
    CHECK_CSTR(i->kind, "non_human");
    CHECK_INT(i->last_used, 0);
    c = creds("arn:aws:iam::644160558196:user/calvin");
    CHECK_CSTR(c->v[0], "arn:aws:iam::644160558196:user/calvin|access_key_1|aws_long_term|active|"
                        "2016-11-15T18:46:51Z|2016-11-15T18:46:51Z|-|2016-11-15T21:36:00Z|s3|-");
    i = ident("arn:aws:iam::644160558196:user/Jennifer"); /* case kept */
    CHECK_INT(i->found, 1);

    CHECK_INT(imp(f, NULL, &r), 0);
    CHECK_INT(r.identities, 20);
    CHECK_INT(r.credentials, 16);
    CHECK_INT(q("SELECT count(*) FROM inv_credential"), 16);
    close_rm(db);
}

static void test_aws_handmade(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    CHECK_INT(imp("aws/handmade-authorization-details.json", NULL, &r), 0);
    CHECK_INT(r.identities, 2);
    CHECK_INT(r.grants, 17);
    CHECK_INT(r.skipped, 0);
    const char *bot = "arn:aws:iam::111122223333:user/bots/ci-bot";
    struct lines *g = grants(bot);
    CHECK_INT(g->n, 11);
    /* percent-encoded inline document with a Statement object */
    CHECK_CSTR(g->v[0], "allow|sqs:SendMessage|arn:aws:sqs:us-east-1:111122223333:builds|inline:encoded-inline|");
    /* AttachedManagedPolicies as one object; the policy is not in the file */
    CHECK_CSTR(g->v[1], "unknown|||managed:arn:aws:iam::aws:policy/ReadOnlyAccess|");
    /* permissions boundary: Allow statements restrict, Deny denies */
    CHECK_CSTR(g->v[2], "boundary|sqs:*|*|boundary:arn:aws:iam::111122223333:policy/bot-boundary|");
    CHECK_CSTR(g->v[3], "boundary|lambda:*|*|boundary:arn:aws:iam::111122223333:policy/bot-boundary|");
    CHECK_CSTR(g->v[4], "boundary|s3:Get*|*|boundary:arn:aws:iam::111122223333:policy/bot-boundary|");
    CHECK_CSTR(g->v[5], "deny|iam:*|*|boundary:arn:aws:iam::111122223333:policy/bot-boundary|");
    /* group inline document as a JSON string */
    CHECK_CSTR(g->v[6], "deny|s3:DeleteBucket|*|group:deployers/inline:string-doc|");
    CHECK_CSTR(g->v[7], "deny|s3:DeleteObject|*|group:deployers/inline:string-doc|");
    /* only the default version (v2, percent-encoded), not v1's Allow * */
    CHECK_CSTR(g->v[8], "allow|lambda:UpdateFunctionCode|*|group:deployers/managed:arn:aws:iam::111122223333:policy/"
                        "deploy|");
    CHECK_CSTR(g->v[9], "allow|lambda:Get*|*|group:deployers/managed:arn:aws:iam::111122223333:policy/deploy|");
    CHECK_CSTR(g->v[10], "unknown|||group:missing-group|");
    struct ident *i = ident(bot);
    CHECK_CSTR(i->tags, "{\"env\":\"prod\",\"owner\":\"platform@example.com\"}");
    CHECK_CSTR(i->object_id, "AIDAEXAMPLECIBOT0001");

    const char *role = "arn:aws:iam::111122223333:role/ops/admin-ish";
    g = grants(role);
    CHECK_INT(g->n, 6);
    /* NotAction that excludes all of IAM: not admin */
    CHECK_CSTR(g->v[0], "allow|!iam:*|*|inline:notaction-power|");
    CHECK_CSTR(g->v[1], "allow|!organizations:*|*|inline:notaction-power|");
    /* "*" on "*" but with a Condition: conditional, not admin */
    CHECK_CSTR(g->v[2], "allow|*|*|inline:cond-star|C");
    CHECK_CSTR(g->v[3], "allow|ec2:*|!arn:aws:ec2:*:*:instance/i-prod*|inline:cond-star|");
    CHECK_CSTR(g->v[4], "allow|ec2:*|!arn:aws:ec2:*:*:volume/*|inline:cond-star|");
    /* AdministratorAccess attached but not in the file: still admin */
    CHECK_CSTR(g->v[5], "unknown|||managed:arn:aws:iam::aws:policy/AdministratorAccess|A");
    i = ident(role);
    CHECK_CSTR(i->trust, "[\"Federated:arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com\","
                         "\"Service:lambda.amazonaws.com\",\"Service:ecs-tasks.amazonaws.com\"]");
    CHECK_INT(i->last_used, T("2025-01-15T09:30:00Z"));
    CHECK_INT(i->created, T("2022-02-02T02:02:02Z"));

    /* the credential report as get-credential-report JSON (base64, CRLF,
     * columns in another order, quoted fields) */
    CHECK_INT(imp("aws/handmade-get-credential-report.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AWS_CRED_REPORT);
    CHECK_INT(r.identities, 3);
    CHECK_INT(r.credentials, 4);
    i = ident("arn:aws:iam::111122223333:user/people/alice");
    CHECK_INT(i->console, 1);
    CHECK_INT(i->mfa, 1);
    CHECK_INT(i->last_used, 0); /* no_information */
    CHECK_CSTR(i->kind, "human");
    i = ident("arn:aws:iam::111122223333:root");
    CHECK_INT(i->active, 1); /* a root access key */
    struct lines *c = creds(bot);
    CHECK_INT(c->n, 3);
    CHECK_CSTR(c->v[0], "arn:aws:iam::111122223333:user/bots/ci-bot|access_key_1|aws_long_term|active|"
                        "2024-01-10T08:05:00Z|2024-01-10T08:05:00Z|-|2025-01-30T23:59:00Z|sqs|eu-west-1");
    CHECK_CSTR(c->v[1], "arn:aws:iam::111122223333:user/bots/ci-bot|access_key_2|aws_long_term|inactive|"
                        "2024-02-01T00:00:00Z|2024-02-01T00:00:00Z|-|-|-|-");
    CHECK_CSTR(c->v[2], "arn:aws:iam::111122223333:user/bots/ci-bot|cert_1|other|active|"
                        "2024-03-01T00:00:00Z|2024-03-01T00:00:00Z|-|-|-|-");

    /* list-access-keys: real key ids, merged with the report's slots by creation time */
    CHECK_INT(imp("aws/handmade-list-access-keys.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AWS_ACCESS_KEYS);
    CHECK_INT(r.identities, 1); /* ci-bot; ghost's ARN is not known */
    CHECK_INT(r.credentials, 3);
    c = creds(bot);
    CHECK_INT(c->n, 3);
    CHECK_CSTR(c->v[0], "arn:aws:iam::111122223333:user/bots/ci-bot|AKIAEXAMPLECIBOT0001|aws_long_term|active|"
                        "2024-01-10T08:05:00Z|2024-01-10T08:05:00Z|-|2025-01-30T23:59:00Z|sqs|eu-west-1");
    CHECK_CSTR(c->v[1], "arn:aws:iam::111122223333:user/bots/ci-bot|AKIAEXAMPLECIBOT0002|aws_long_term|inactive|"
                        "2024-02-01T00:00:00Z|2024-02-01T00:00:00Z|-|-|-|-");
    CHECK_CSTR(c->v[2], "arn:aws:iam::111122223333:user/bots/ci-bot|cert_1|other|active|"
                        "2024-03-01T00:00:00Z|2024-03-01T00:00:00Z|-|-|-|-");
    i = ident(bot);
    CHECK_INT(i->sources, 3);
    CHECK_INT(i->console, 0);
    CHECK_INT(i->mfa, 0);
    CHECK_INT(i->active, 2);
    CHECK_CSTR(i->kind, "non_human");
    CHECK_INT(i->created, T("2024-01-10T08:00:00Z"));
    CHECK_INT(i->last_used, T("2025-01-30T23:59:00Z"));
    /* the unknown user's key waits under its placeholder */
    c = creds("arn:aws:iam::999988887777:user/ghost");
    CHECK_INT(c->n, 1);
    CHECK_CSTR(c->v[0], "arn:aws:iam::*:user/ghost|AKIAEXAMPLEGHOST0001|aws_long_term|active|"
                        "2019-05-05T05:05:05Z|-|-|-|-|-");
    CHECK_INT(count_identities(), 4);
    close_rm(db);

    /* the other order: keys first (placeholder), the ARN learnt later */
    open_fresh(db);
    CHECK_INT(imp("aws/handmade-list-access-keys.json", NULL, &r), 0);
    CHECK_INT(r.identities, 0);
    CHECK_INT(imp("aws/handmade-authorization-details.json", NULL, &r), 0);
    c = creds(bot);
    CHECK_INT(c->n, 2);
    CHECK_CSTR(c->v[0], "arn:aws:iam::*:user/ci-bot|AKIAEXAMPLECIBOT0001|aws_long_term|active|"
                        "2024-01-10T08:05:00Z|-|-|-|-|-");
    CHECK_INT(ident(bot)->active, 1);
    close_rm(db);
}

/* ---- GCP ---- */

static void test_gcp(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    CHECK_INT(imp("gcp/cloud-custodian_project-custodian-test.getIamPolicy.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_IAM_POLICY);
    CHECK_INT(r.identities, 3);
    CHECK_INT(r.grants, 4);
    CHECK_INT(r.skipped, 0);
    const char *abc = "abc@testproject.iam.gserviceaccount.com";
    struct ident *i = ident(abc);
    CHECK_CSTR(i->type, "service_account");
    CHECK_CSTR(i->kind, "non_human");
    CHECK_CSTR(i->account, "testproject");
    struct lines *g = grants(abc);
    CHECK_INT(g->n, 1);
    CHECK_CSTR(g->v[0], "allow|roles/owner|unknown|binding:roles/owner@unknown|A");
    g = grants("def@testproject.iam.gserviceaccount.com");
    CHECK_INT(g->n, 1);
    CHECK_CSTR(g->v[0], "allow|roles/editor|unknown|binding:roles/editor@unknown|A");
    g = grants("abc@gmail.com");
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[0], "allow|roles/owner|unknown|binding:roles/owner@unknown|A");
    CHECK_CSTR(g->v[1], "allow|roles/viewer|unknown|binding:roles/viewer@unknown|");
    CHECK_CSTR(ident("abc@gmail.com")->kind, "human");

    /* a member without a type prefix ("abcdefg") is skipped; roles/admin is not a real role */
    CHECK_INT(imp("gcp/cloud-custodian_project-custodian-test-2.getIamPolicy.json", NULL, &r), 0);
    CHECK_INT(r.identities, 4);
    CHECK_INT(r.grants, 5);
    CHECK_INT(r.skipped, 1);
    g = grants(abc);
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[1], "allow|roles/admin|unknown|binding:roles/admin@unknown|");
    /* public and group members, with the policy's scope from the option */
    nw_import_opts o = {.gcp_scope = "projects/custodian-test-3"};
    CHECK_INT(imp("gcp/cloud-custodian_project-custodian-test-3.getIamPolicy.json", &o, &r), 0);
    CHECK_INT(r.identities, 4);
    CHECK_INT(r.grants, 5);
    i = ident("allUsers");
    CHECK_CSTR(i->type, "public");
    g = grants("allUsers");
    CHECK_INT(g->n, 1);
    CHECK_CSTR(g->v[0], "allow|roles/editor|projects/custodian-test-3|binding:roles/editor@projects/custodian-test-3|A");
    CHECK_CSTR(ident("group:dummygroup1")->type, "group");
    /* the same person in three files */
    i = ident("abc@gmail.com");
    CHECK_INT(i->sources, 3);
    CHECK_INT(grants("abc@gmail.com")->n, 6);
    /* a policy on a service account */
    CHECK_INT(imp("gcp/cloud-custodian_sa-my-sa-42dc4145.getIamPolicy.json", NULL, &r), 0);
    CHECK_INT(r.identities, 1);
    CHECK_INT(r.grants, 2);

    /* keys: the SYSTEM_MANAGED one skipped; 9999-12-31 means no expiry */
    CHECK_INT(imp("gcp/cloud-custodian_sa-test-cutodian-scc.keys.list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_SA_KEYS);
    CHECK_INT(r.identities, 1);
    CHECK_INT(r.credentials, 1);
    CHECK_INT(r.skipped, 1);
    const char *scc = "test-cutodian-scc@cloud-custodian.iam.gserviceaccount.com";
    struct lines *c = creds(scc);
    CHECK_INT(c->n, 1);
    CHECK_CSTR(c->v[0], "test-cutodian-scc@cloud-custodian.iam.gserviceaccount.com|2|gcp_sa_key|active|"
                        "2021-03-31T13:27:15Z|-|-|-|-|-");
    CHECK_INT(imp("gcp/cloud-custodian_project-cloud-custodian.serviceAccounts.list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_SA_LIST);
    CHECK_INT(r.identities, 1);
    i = ident(scc);
    CHECK_CSTR(i->display, "test-cutodian-scc");
    CHECK_CSTR(i->account, "cloud-custodian");
    CHECK_INT(i->disabled, 0);
    CHECK_INT(i->sources, 2);
    CHECK_INT(i->active, 1);
    /* 2 SAs and abc@gmail.com; zzz@gmail.com; dummygroup1, allUsers; first_last; the scc SA */
    CHECK_INT(count_identities(), 8);
    close_rm(db);
}

static void test_gcp_handmade(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    nw_import_opts o = {.gcp_scope = "projects/prod-proj"};
    CHECK_INT(imp("gcp/handmade-get-iam-policy.json", &o, &r), 0);
    CHECK_INT(r.identities, 9);
    CHECK_INT(r.grants, 10);
    CHECK_INT(r.skipped, 1); /* unknownPrefix:x */
    const char *tf = "terraform@prod-proj.iam.gserviceaccount.com"; /* lower-cased */
    struct lines *g = grants(tf);
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[0], "allow|roles/owner|projects/prod-proj|binding:roles/owner@projects/prod-proj|A");
    CHECK_CSTR(g->v[1], "allow|projects/prod-proj/roles/deployer|projects/prod-proj|"
                        "binding:projects/prod-proj/roles/deployer@projects/prod-proj|");
    /* deleted:serviceAccount: -> disabled, uid kept */
    struct ident *i = ident("old-ci@prod-proj.iam.gserviceaccount.com");
    CHECK_INT(i->disabled, 1);
    CHECK_CSTR(i->object_id, "123456789012345678901");
    CHECK_CSTR(grants("old-ci@prod-proj.iam.gserviceaccount.com")->v[0],
               "allow|roles/owner|projects/prod-proj|binding:roles/owner@projects/prod-proj|A");
    i = ident("group:old-team@example.com");
    CHECK_INT(i->disabled, 1);
    CHECK_CSTR(i->type, "group");
    /* an IAM condition */
    CHECK_CSTR(grants("domain:example.com")->v[0], "allow|roles/storage.objectViewer|projects/prod-proj|"
                                                   "binding:roles/storage.objectViewer@projects/prod-proj|C");
    CHECK_CSTR(ident("allAuthenticatedUsers")->type, "public");
    i = ident("service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com");
    CHECK_CSTR(i->type, "service_agent");
    CHECK_CSTR(i->account, "-");
    CHECK_CSTR(ident("prod-proj.svc.id.goog[default/web]")->type, "workload_identity");
    const char *wif = "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github/"
                      "subject/repo:acme/app:ref:refs/heads/main";
    i = ident(wif);
    CHECK_CSTR(i->type, "workload_identity");
    CHECK_CSTR(i->kind, "non_human");
    CHECK_CSTR(grants(wif)->v[0], "allow|roles/iam.serviceAccountTokenCreator|projects/prod-proj|"
                                  "binding:roles/iam.serviceAccountTokenCreator@projects/prod-proj|A");
    CHECK_CSTR(ident("principalSet://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/github/"
                     "attribute.repository/acme/app")
                   ->type,
               "principal_set");

    /* gcloud keys list: a bare array */
    CHECK_INT(imp("gcp/handmade-keys-list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_SA_KEYS);
    CHECK_INT(r.credentials, 2);
    CHECK_INT(r.skipped, 1);
    struct lines *c = creds(tf);
    CHECK_INT(c->n, 2);
    CHECK_CSTR(c->v[0], "terraform@prod-proj.iam.gserviceaccount.com|0123456789abcdef0123456789abcdef01234567|"
                        "gcp_sa_key|active|2023-04-01T10:00:00Z|-|-|-|-|-");
    CHECK_CSTR(c->v[1], "terraform@prod-proj.iam.gserviceaccount.com|fedcba9876543210fedcba9876543210fedcba98|"
                        "gcp_sa_key|inactive|2024-06-01T00:00:00Z|-|2025-06-01T00:00:00Z|-|-|-");
    /* gcloud iam service-accounts list: a bare array */
    CHECK_INT(imp("gcp/handmade-service-accounts-list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_SA_LIST);
    CHECK_INT(r.identities, 3);
    CHECK_INT(ident("old-batch@prod-proj.iam.gserviceaccount.com")->disabled, 1);
    CHECK_CSTR(ident("123456789012-compute@developer.gserviceaccount.com")->type, "service_account");
    i = ident(tf);
    CHECK_CSTR(i->display, "Terraform");
    CHECK_CSTR(i->object_id, "111111111111111111111");
    CHECK_INT(i->sources, 3);
    CHECK_INT(i->active, 1);
    /* a custom role's permissions */
    CHECK_INT(imp("gcp/handmade-role-describe.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_ROLES);
    CHECK_INT(r.grants, 3);
    CHECK_INT(perms("gcp", "projects/prod-proj/roles/deployer"), 3);
    CHECK_CSTR(L.v[0], "iam.serviceAccounts.actAs");
    CHECK_CSTR(L.v[2], "run.services.update");
    CHECK_INT(perms("gcp", "roles/editor"), 0);

    /* gcloud asset search-all-iam-policies: each element names its resource
     * (which wins over --gcp-scope) */
    CHECK_INT(imp("gcp/handmade-search-all-iam-policies.json", &o, &r), 0);
    CHECK_INT(r.format, NW_INV_GCP_IAM_POLICY);
    CHECK_INT(r.identities, 3);
    CHECK_INT(r.grants, 3);
    g = grants("123456789012-compute@developer.gserviceaccount.com");
    CHECK_INT(g->n, 1);
    CHECK_CSTR(g->v[0], "allow|roles/editor|//cloudresourcemanager.googleapis.com/projects/prod-proj|"
                        "binding:roles/editor@//cloudresourcemanager.googleapis.com/projects/prod-proj|A");
    CHECK_CSTR(ident("123456789012@cloudservices.gserviceaccount.com")->type, "service_agent");
    CHECK_CSTR(grants("group:ci-admins@example.com")->v[0],
               "allow|roles/iam.serviceAccountUser|//iam.googleapis.com/projects/prod-proj/serviceAccounts/"
               "terraform@prod-proj.iam.gserviceaccount.com|binding:roles/iam.serviceAccountUser@//iam.googleapis.com/"
               "projects/prod-proj/serviceAccounts/terraform@prod-proj.iam.gserviceaccount.com|");
    close_rm(db);
}

/* ---- Azure ---- */

static void test_azure(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    const char *ra = "azure/cloud-custodian_AccessControlTest.test_find_assignments_by_role.roleAssignments.list.json";
    CHECK_INT(imp(ra, NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_ROLE_ASSIGNMENTS);
    CHECK_INT(r.identities, 62); /* distinct principalIds */
    CHECK_INT(r.grants, 74);
    /* tenant unknown: placeholder keys */
    const char *u = "azure:*/139efc82-0e5b-4998-b30a-ce40b9b942db";
    struct ident *i = ident(u);
    CHECK_CSTR(i->type, "user");
    struct lines *g = grants(u);
    CHECK_INT(g->n, 4);
    CHECK_CSTR(g->v[0], "allow|Owner|/subscriptions/ea42f556-5106-4743-99b0-c129bfa71a47|"
                        "role:Owner@/subscriptions/ea42f556-5106-4743-99b0-c129bfa71a47|A");
    CHECK_CSTR(g->v[1], "allow|Owner|/providers/Microsoft.Management/managementGroups/test-custodian-group-1|"
                        "role:Owner@/providers/Microsoft.Management/managementGroups/test-custodian-group-1|A");
    /* not a built-in we know by id, no definition imported: the GUID */
    CHECK_CSTR(g->v[3], "allow|ac63b705-f282-497d-ac71-919bf39d939d|/providers/Microsoft.Management/managementGroups/"
                        "custodian-test|role:ac63b705-f282-497d-ac71-919bf39d939d@/providers/Microsoft.Management/"
                        "managementGroups/custodian-test|");
    /* Owner 20 + Contributor 43 */
    CHECK_INT(q("SELECT count(*) FROM inv_grant WHERE admin = 1"), 63);
    CHECK_CSTR(ident("azure:*/579bcd15-51fb-4085-9d23-c6e15a734175")->type, "service_principal");

    /* role definitions: then the assignments name every role */
    const char *rd = "azure/cloud-custodian_AccessControlTest.test_find_assignments_by_role.roleDefinitions.json";
    CHECK_INT(imp(rd, NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_ROLE_DEFINITIONS);
    CHECK_INT(r.grants, 22); /* actions + notActions + dataActions of the 7 roles */
    CHECK_INT(perms("azure", "Contributor"), 6);
    CHECK_CSTR(L.v[0], "*");
    CHECK_CSTR(L.v[1], "!Microsoft.Authorization/*/Delete");
    CHECK_INT(perms("azure", "B24988AC-6180-42A0-AB88-20F7382DD24C"), 6); /* by id */
    CHECK_INT(perms("azure", "Storage Blob Data Contributor"), 3); /* dataActions not returned */
    CHECK_INT(imp(ra, NULL, &r), 0);
    CHECK_INT(r.grants, 74);
    g = grants(u);
    CHECK_CSTR(g->v[3], "allow|Management Group Reader|/providers/Microsoft.Management/managementGroups/"
                        "custodian-test|role:Management Group Reader@/providers/Microsoft.Management/"
                        "managementGroups/custodian-test|");

    /* the tenant given */
    nw_import_opts o = {.azure_tenant = "54826B22-38D6-4FB2-BAD9-B7B93A3E9C5A"};
    CHECK_INT(imp(ra, &o, &r), 0);
    CHECK_INT(grants("azure:54826b22-38d6-4fb2-bad9-b7b93a3e9c5a/139efc82-0e5b-4998-b30a-ce40b9b942db")->n, 4);
    CHECK_INT(ident("azure:54826b22-38d6-4fb2-bad9-b7b93a3e9c5a/139efc82-0e5b-4998-b30a-ce40b9b942db")->found, 1);
    CHECK_INT(ident(u)->found, 0);
    close_rm(db);

    /* AAD Graph 1.6: an app registration with a secret, then its SP */
    open_fresh(db);
    const char *app = "azure/azure-cli_recording_test_create_for_rbac_with_secret_no_assignment.aadgraph-1.6.POST-"
                      "applications.response.json";
    const char *spf = "azure/azure-cli_recording_test_create_for_rbac_with_secret_no_assignment.aadgraph-1.6.POST-"
                      "servicePrincipals.response.json";
    CHECK_INT(imp(app, NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_APP_LIST);
    CHECK_INT(r.identities, 1);
    CHECK_INT(r.credentials, 1);
    i = ident("azure:app/77aa97b9-b8e0-47a1-88a1-a8f9aac1c6c7");
    CHECK_CSTR(i->type, "application");
    CHECK_CSTR(i->kind, "non_human");
    CHECK_CSTR(i->display, "cli_create_rbac_sp_minimal000001");
    CHECK_INT(i->active, 1);
    CHECK_INT(imp(spf, NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_SP_LIST);
    CHECK_INT(r.identities, 1);
    CHECK_INT(r.credentials, 0); /* the secret lives on the application object */
    const char *sp = "azure:54826b22-38d6-4fb2-bad9-b7b93a3e9c5a/2c95ed86-8713-4711-8c23-a51d99f7a6be";
    i = ident(sp);
    CHECK_CSTR(i->type, "service_principal");
    CHECK_CSTR(i->tenant, "54826b22-38d6-4fb2-bad9-b7b93a3e9c5a"); /* appOwnerTenantId of an Application SP */
    CHECK_CSTR(i->app_id, "77aa97b9-b8e0-47a1-88a1-a8f9aac1c6c7");
    CHECK_INT(i->active, 1);
    struct lines *c = creds(sp);
    CHECK_INT(c->n, 1);
    CHECK_CSTR(c->v[0], "azure:app/77aa97b9-b8e0-47a1-88a1-a8f9aac1c6c7|4b4a7238-52ff-430c-9f13-e2db543b11c2|"
                        "azure_secret|active|2019-04-14T03:47:26.051361Z|-|2020-04-14T03:47:26.051361Z|-|-|-");
    /* the application row is folded into its service principal */
    CHECK_INT(ident("azure:app/77aa97b9-b8e0-47a1-88a1-a8f9aac1c6c7")->found, 0);
    CHECK_INT(count_identities(), 1);
    close_rm(db);
}

static void test_azure_handmade(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    CHECK_INT(imp("azure/handmade-az-role-definition-list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_ROLE_DEFINITIONS);
    CHECK_INT(r.grants, 4);
    CHECK_INT(perms("azure", "11111111-2222-3333-4444-555555555555"), 3);
    CHECK_CSTR(L.v[0], "Microsoft.Storage/storageAccounts/listKeys/action");
    CHECK_CSTR(L.v[2], "!Microsoft.Storage/storageAccounts/delete");

    /* az role assignment list (CLI shape) */
    CHECK_INT(imp("azure/handmade-az-role-assignment-list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_ROLE_ASSIGNMENTS);
    CHECK_INT(r.identities, 4); /* the SP appears twice, once with an upper-case id */
    CHECK_INT(r.grants, 5);
    const char *ci_any = "azure:*/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    struct lines *g = grants(ci_any);
    CHECK_INT(g->n, 2);
    CHECK_CSTR(g->v[0], "allow|Contributor|/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-app|"
                        "role:Contributor@/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-app|A");
    /* RBAC Administrator known by id only, with a condition */
    CHECK_CSTR(g->v[1], "allow|Role Based Access Control Administrator|/subscriptions/00000000-1111-2222-3333-"
                        "444444444444|role:Role Based Access Control Administrator@/subscriptions/00000000-1111-2222-"
                        "3333-444444444444|CA");
    CHECK_CSTR(ident("azure:*/0b5e55ed-0000-4000-8000-000000000003")->type, "group");
    /* the custom role named from the imported definition */
    CHECK_CSTR(grants("azure:*/d00dfeed-0000-4000-8000-000000000005")->v[0],
               "allow|Key Reader (custom)|/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-data|"
               "role:Key Reader (custom)@/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-data|");

    /* az ad sp list (Graph shape): the tenant from the own Application SPs */
    CHECK_INT(imp("azure/handmade-az-ad-sp-list.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_SP_LIST);
    CHECK_INT(r.identities, 4);
    CHECK_INT(r.credentials, 2);
    const char *ci = "azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b";
    struct ident *i = ident(ci);
    CHECK_CSTR(i->type, "service_principal");
    CHECK_CSTR(i->display, "ci-deployer");
    CHECK_INT(i->sources, 2); /* the placeholder of the assignments resolved */
    CHECK_INT(i->active, 2);
    CHECK_INT(ident(ci_any)->found, 0);
    g = grants(ci);
    CHECK_INT(g->n, 2);
    struct lines *c = creds(ci);
    CHECK_INT(c->n, 2);
    CHECK_CSTR(c->v[0], "azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b|"
                        "aaaa1111-2222-4333-8444-555555555555|azure_secret|active|2024-03-01T00:00:00Z|-|"
                        "2025-03-01T00:00:00Z|-|-|-");
    CHECK_CSTR(c->v[1], "azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b|"
                        "bbbb1111-2222-4333-8444-555555555555|azure_cert|active|2024-01-01T00:00:00Z|-|"
                        "2026-01-01T00:00:00Z|-|-|-");
    i = ident("azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/c0ffee00-1234-4abc-9def-0123456789ab");
    CHECK_CSTR(i->type, "managed_identity"); /* the SP list beats the assignment's ServicePrincipal */
    CHECK_INT(grants("azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/c0ffee00-1234-4abc-9def-0123456789ab")->n, 1);
    CHECK_INT(ident("azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/5ca1ab1e-0000-4000-8000-00000000000b")->disabled, 1);
    CHECK_CSTR(ident("azure:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee/0d2c9a4e-0000-4000-8000-00000000000a")->display,
               "Microsoft Graph");
    /* groups and users of the assignments keep their placeholder */
    CHECK_INT(ident("azure:*/0b5e55ed-0000-4000-8000-000000000003")->found, 1);
    /* the logs' key for a caller without claims (azure:<objectId>) reads them too */
    CHECK_INT(grants("azure:0b5e55ed-0000-4000-8000-000000000003")->n, 1);
    CHECK_INT(grants("azure:alice@example.com")->n, 0);

    /* pre-2.37 shape: objectId, startDate/endDate, appOwnerTenantId */
    CHECK_INT(imp("azure/handmade-az-ad-sp-list-pre-2.37.json", NULL, &r), 0);
    CHECK_INT(r.format, NW_INV_AZURE_SP_LIST);
    c = creds("azure:12121212-3434-4565-8787-909090909090/0ddba11a-0000-4000-8000-00000000000c");
    CHECK_INT(c->n, 1);
    CHECK_CSTR(c->v[0], "azure:12121212-3434-4565-8787-909090909090/0ddba11a-0000-4000-8000-00000000000c|"
                        "cccc1111-2222-4333-8444-555555555555|azure_secret|active|2018-01-01T00:00:00Z|-|"
                        "2019-01-01T00:00:00Z|-|-|-");
    close_rm(db);

    /* --tenant wins over inference */
    open_fresh(db);
    nw_import_opts o = {.azure_tenant = "12345678-0000-4000-8000-000000000000"};
    CHECK_INT(imp("azure/handmade-az-ad-sp-list.json", &o, &r), 0);
    CHECK_INT(ident("azure:12345678-0000-4000-8000-000000000000/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b")->found, 1);
    /* assignments imported later find the tenant through the SP list */
    CHECK_INT(imp("azure/handmade-az-role-assignment-list.json", NULL, &r), 0);
    CHECK_INT(grants("azure:12345678-0000-4000-8000-000000000000/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b")->n, 2);
    CHECK_INT(q("SELECT count(*) FROM inv_grant WHERE identity_key LIKE 'azure:*/%'"), 2); /* group and user */
    close_rm(db);
}

/* ---- bad input ---- */

static void test_errors(void)
{
    char db[64];
    open_fresh(db);
    nw_import_result r;
    CHECK_INT(imp("aws/handmade-authorization-details.json", NULL, &r), 0);
    int64_t before = q("SELECT count(*) FROM inv_grant");

    CHECK_INT(imp("aws/bad-truncated-authorization-details.json", NULL, &r), NW_INV_E_PARSE);
    CHECK_INT(err.code, NW_INV_E_PARSE);
    CHECK_INT(err.line, 42);
    CHECK(strstr(err.source, "bad-truncated-authorization-details.json") != NULL);
    CHECK(strncmp(err.msg, "column 8: premature end of input", 32) == 0);
    CHECK_INT(err.offset, 1200);
    char buf[1024];
    nw_err_fmt(&err, buf, sizeof buf);
    CHECK(strstr(buf, "bad-truncated-authorization-details.json: line 42: column 8: ") != NULL);

    CHECK_INT(imp("aws/bad-missing-column.credential-report.csv", NULL, &r), NW_INV_E_PARSE);
    CHECK_INT(err.line, 1);
    CHECK_CSTR(err.msg, "the credential report header has no column 'mfa_active'");
    CHECK(strstr(err.source, "bad-missing-column.credential-report.csv") != NULL);

    CHECK_INT(imp("aws/bad-short-row.credential-report.csv", NULL, &r), NW_INV_E_PARSE);
    CHECK_INT(err.line, 3);
    CHECK_CSTR(err.msg, "12 fields, the header has 22");

    CHECK_INT(imp("aws/bad-unknown-shape.json", NULL, &r), NW_INV_E_FORMAT);
    CHECK(strstr(err.msg, "found a JSON object with keys foo, bar, Statement") != NULL);

    CHECK_INT(imp("aws/bad-wrong-type-authorization-details.json", NULL, &r), NW_INV_E_PARSE);
    CHECK_CSTR(err.msg, "UserDetailList[1].Arn: must be a non-empty string, is a number");

    CHECK_INT(imp("aws/no-such-file.json", NULL, &r), NW_INV_E_OPEN);
    CHECK_INT(imp("aws", NULL, &r), NW_INV_E_OPEN); /* a directory */

    /* nothing of the bad files was stored, the earlier import is intact */
    CHECK_INT(q("SELECT count(*) FROM inv_grant"), before);
    CHECK_INT(q("SELECT count(*) FROM inv_identity"), 2);

    /* a path that imported well and then turns bad keeps its old rows */
    char tmp[] = "/tmp/nw_test_inventory_file_XXXXXX";
    int fd = mkstemp(tmp);
    const char *good = "{\"AccessKeyMetadata\": [{\"UserName\": \"u\", \"AccessKeyId\": \"AKIAX\", \"Status\": "
                       "\"Active\", \"CreateDate\": \"2020-01-01T00:00:00Z\"}]}";
    CHECK_INT(write(fd, good, strlen(good)), (long long)strlen(good));
    close(fd);
    nw_err_clear(&err);
    CHECK_INT(nw_inventory_import(st, tmp, NULL, &r, &err), 0);
    CHECK_INT(r.credentials, 1);
    FILE *f = fopen(tmp, "w");
    fputs("{\"AccessKeyMetadata\": [{\"UserName\": \"u\"}]}", f);
    fclose(f);
    CHECK_INT(nw_inventory_import(st, tmp, NULL, &r, &err), NW_INV_E_PARSE);
    CHECK_CSTR(err.msg, "AccessKeyMetadata[0].AccessKeyId: must be a non-empty string, is missing");
    CHECK_INT(q("SELECT count(*) FROM inv_credential"), 1);
    /* an empty list is a valid export of nothing: the old rows go */
    f = fopen(tmp, "w");
    fputs("[]", f);
    fclose(f);
    CHECK_INT(nw_inventory_import(st, tmp, NULL, &r, &err), 0);
    CHECK_INT(r.format, NW_INV_EMPTY);
    CHECK_INT(q("SELECT count(*) FROM inv_credential"), 0);
    f = fopen(tmp, "w");
    fputs("  \n", f);
    fclose(f);
    CHECK_INT(nw_inventory_import(st, tmp, NULL, &r, &err), NW_INV_E_FORMAT);
    unlink(tmp);

    /* inside the caller's transaction */
    nw_err_clear(&err);
    CHECK_INT(nw_store_begin(st, &err), 0);
    CHECK_INT(imp("gcp/handmade-keys-list.json", NULL, &r), 0);
    /* fails after its savepoint: only its own work is undone */
    CHECK_INT(imp("aws/bad-wrong-type-authorization-details.json", NULL, &r), NW_INV_E_PARSE);
    CHECK_INT(nw_store_commit(st, &err), 0);
    CHECK_INT(q("SELECT count(*) FROM inv_credential"), 2);
    close_rm(db);
}

/* A file saved with a UTF-8 byte order mark imports like the file without. */
static void bom_same(const char *rel, int format)
{
    char db[64], src[1024], dst[64];
    snprintf(src, sizeof src, "%s%s", FX, rel);
    FILE *in = fopen(src, "rb");
    strcpy(dst, "/tmp/nw_test_inventory_bom_XXXXXX");
    int fd = mkstemp(dst);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    CHECK(in && out);
    if (!in || !out)
        return;
    fputs("\xef\xbb\xbf", out);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, k, out);
    fclose(in);
    fclose(out);

    nw_import_result plain, bom;
    open_fresh(db);
    CHECK_INT(imp(rel, NULL, &plain), 0);
    close_rm(db);
    open_fresh(db);
    nw_err_clear(&err);
    memset(&bom, 0, sizeof bom);
    CHECK_INT(nw_inventory_import(st, dst, NULL, &bom, &err), 0);
    CHECK_INT(bom.format, format);
    CHECK(plain.identities > 0);
    CHECK_INT(bom.identities, plain.identities);
    CHECK_INT(bom.credentials, plain.credentials);
    CHECK_INT(bom.grants, plain.grants);
    CHECK_INT(bom.skipped, plain.skipped);
    close_rm(db);
    unlink(dst);
}

static void test_bom(void)
{
    bom_same("aws/cloud-custodian_test_account_credential_report.credential-report.csv", NW_INV_AWS_CRED_REPORT);
    bom_same("aws/handmade-authorization-details.json", NW_INV_AWS_AUTH_DETAILS);
}

int main(void)
{
    test_glob();
    test_aws_auth_details();
    test_aws_cred_report();
    test_aws_handmade();
    test_gcp();
    test_gcp_handmade();
    test_azure();
    test_azure_handmade();
    test_errors();
    test_bom();
    return nw_test_finish();
}
