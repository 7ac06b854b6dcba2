/* test_cloudtrail.c - the CloudTrail decoder, driven through the public
 * dispatcher (nw_decode). Expected values were read by hand from the
 * fixtures in tests/fixtures/aws/ (see PROVENANCE.md there); the per-file
 * counts were checked with a Python pass over the same files. */
#include <stdlib.h>

#include "decode.h"
#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"

#define AWS_DIR NW_FIXTURES_DIR "/aws/"
#define STRATUS "stratus-red-team/aws."
#define CUSTODIAN "cloud-custodian_tests-data_cloudtrail-records.json"
#define PANTHER "panther-analysis_non-identity-rule-test-logs.json"
#define HANDMADE "handmade-identities.json"

static nw_decoder *dec;
static nw_arena *ar;
static nw_jscan *split;     /* walks container arrays; the decoder has its own scanner */
static nw_jpaths *elem;     /* {""}: each element's raw text */

/* ---- fixture files, read once and kept until the end ---- */

#define MAX_FILES 48
static struct {
    char name[160];
    char *p;
    size_t n;
} files[MAX_FILES];
static size_t nfiles;

static char *load(const char *name, size_t *len)
{
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(files[i].name, name) == 0) {
            *len = files[i].n;
            return files[i].p;
        }
    char path[512];
    snprintf(path, sizeof(path), "%s%s", AWS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *p = calloc(1, (size_t)n + NW_JSCAN_PADDING);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n || nfiles == MAX_FILES) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    snprintf(files[nfiles].name, sizeof(files[nfiles].name), "%s", name);
    files[nfiles].p = p;
    files[nfiles].n = (size_t)n;
    nfiles++;
    *len = (size_t)n;
    return p;
}

/* ---- walking {"Records":[...]} and decoding each element ---- */

#define RC_SLOTS 12
#define RC_INDEX(rc) ((rc) + 8) /* NW_DEC_E_LIMIT (-7) .. NW_DECODE_CONTAINER (2) */

typedef struct walk {
    size_t want;     /* element to keep, or SIZE_MAX */
    int rc;          /* its result */
    nw_event *ev;
    nw_err *err;
    int counts[RC_SLOTS];
    size_t total;
} walk;

static int walk_cb(void *ctx, size_t index, const nw_jval *v)
{
    walk *w = ctx;
    nw_event ev;
    nw_err e;
    nw_str c;
    nw_err_clear(&e);
    if (v[0].type != NW_J_OBJECT)
        return 1;
    int rc = nw_decode(dec, v[0].s.p, v[0].s.n, v[0].s.n, ar, &ev, &c, &e);
    if (rc >= -8 && rc < RC_SLOTS - 8)
        w->counts[RC_INDEX(rc)]++;
    w->total++;
    if (index == w->want) {
        w->rc = rc;
        *w->ev = ev;
        *w->err = e;
    }
    return 0;
}

/* Decode every element of a fixture file; fill w. Returns the number of
 * elements, or -1 when the file is not a container. */
static long walk_file(const char *name, walk *w)
{
    size_t n;
    char *buf = load(name, &n);
    if (!buf)
        return -1;
    nw_event ev;
    nw_err e;
    nw_str container;
    nw_err_clear(&e);
    int rc = nw_decode(dec, buf, n, n + NW_JSCAN_PADDING, ar, &ev, &container, &e);
    if (rc != NW_DECODE_CONTAINER)
        return -1;
    if (nw_jscan_each(split, container.p, container.n, container.n, elem, ar, walk_cb, w, &e))
        return -1;
    return (long)w->total;
}

/* Decode element `index` of a fixture file into ev. */
static int nth(const char *name, size_t index, nw_event *ev, nw_err *err)
{
    walk w = {.want = index, .rc = -100, .ev = ev, .err = err};
    nw_err_clear(err);
    memset(ev, 0, sizeof(*ev));
    if (walk_file(name, &w) < 0)
        return -101;
    return w.rc;
}

/* Decode one record given as a C string, with no spare capacity. */
static int dec_json(const char *json, nw_event *ev, nw_err *err)
{
    nw_str c;
    nw_err_clear(err);
    memset(ev, 0, sizeof(*ev));
    return nw_decode(dec, json, strlen(json), strlen(json), ar, ev, &c, err);
}

static const char *tfmt(const nw_event *ev)
{
    static char buf[40];
    return nw_time_fmt(ev->time_us, buf);
}

static int dedupe_is(const nw_event *ev, const char *event_id)
{
    uint8_t want[16];
    nw_str parts[] = {NW_STR_LIT("aws"), nw_str_c(event_id)};
    nw_hash128(parts, 2, want);
    return memcmp(ev->dedupe_id, want, 16) == 0;
}

static int dedupe_zero(const nw_event *ev)
{
    static const uint8_t zero[16];
    return memcmp(ev->dedupe_id, zero, 16) == 0;
}

/* ---- real events checked by hand ---- */

static void test_iam_user_akia(void)
{
    nw_event ev;
    nw_err e;
    /* stratus sts-federation-token #0: IAM user with an AKIA key calls GetFederationToken */
    CHECK_INT(nth(STRATUS "persistence.sts-federation-token.json", 0, &ev, &e), NW_DECODE_EVENT);
    CHECK_INT(ev.provider, NW_PROV_AWS);
    CHECK_STR(ev.identity_key, "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user");
    CHECK_STR(ev.identity_type, "iam_user");
    CHECK_STR(ev.display_name, "stratus-red-team-user-federation-user");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(ev.credential_id, "AKIA6V1GNZTT65XQH36M");
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_LONG_TERM);
    CHECK_STR(ev.service, "sts");
    CHECK_STR(ev.action, "sts:GetFederationToken");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_STR(ev.error_code, "");
    CHECK_STR(ev.region, "ap-isob-east-1r");
    CHECK_CSTR(tfmt(&ev), "2024-11-30T08:43:17Z");
    CHECK_INT(ev.access, NW_ACCESS_WRITE);
    CHECK_STR(ev.account, "742491224508");
    CHECK_STR(ev.source_ip, "255.090.254.5");
    CHECK_STR(ev.event_id, "6e882b9d-2af8-4c67-b91f-aeac6a0e5e70");
    CHECK_INT(ev.flags, NW_EV_SECRET_READ);
    CHECK_STR(ev.session_name, "");
    CHECK_STR(ev.origin_key, "");
    CHECK_STR(ev.resource, "");
    CHECK(dedupe_is(&ev, "6e882b9d-2af8-4c67-b91f-aeac6a0e5e70"));
}

static void test_federated_user(void)
{
    nw_event ev;
    nw_err e;
    /* #1: the federated session it minted calls GetCallerIdentity */
    CHECK_INT(nth(STRATUS "persistence.sts-federation-token.json", 1, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:sts::742491224508:federated-user/stratus_red_team");
    CHECK_STR(ev.identity_type, "federated_user");
    CHECK_STR(ev.display_name, "stratus_red_team");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.credential_id, "ASIASTJKC5GCM7ZE6LUP");
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_TEMPORARY);
    CHECK_STR(ev.action, "sts:GetCallerIdentity");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_INT(ev.access, NW_ACCESS_READ);
    CHECK_STR(ev.region, "ap-isob-east-1r");
    CHECK_CSTR(tfmt(&ev), "2024-11-30T08:43:18Z");
    CHECK_STR(ev.account, "742491224508");
    CHECK_STR(ev.origin_key, "arn:aws:iam::742491224508:user/stratus-red-team-user-federation-user");
    CHECK_INT(ev.flags, 0);
}

static void test_assumed_role(void)
{
    nw_event ev;
    nw_err e;
    /* panther #0: Identity Center permission-set role (issuer ARN with path),
     * console session, space-separated nanosecond eventTime */
    CHECK_INT(nth(PANTHER, 0, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::123123123123:role/aws-reserved/sso.amazonaws.com/us-west-2/DevAdmin");
    CHECK_STR(ev.identity_type, "iam_role");
    CHECK_STR(ev.display_name, "DevAdmin");
    CHECK_STR(ev.session_name, "dr.evil");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.credential_id, "ASIAQWERQWERQWERQWER");
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_TEMPORARY);
    CHECK_STR(ev.action, "bedrock:DeleteModelInvocationLoggingConfiguration");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_STR(ev.region, "us-west-2");
    CHECK_CSTR(tfmt(&ev), "2025-01-21T17:49:47Z");
    CHECK_INT(ev.access, NW_ACCESS_WRITE);
    CHECK_STR(ev.account, "123123123123");
    CHECK_INT(ev.flags, NW_EV_CONSOLE);

    /* stratus ec2-steal-instance-credentials #5: EC2 instance-profile session */
    CHECK_INT(nth(STRATUS "credential-access.ec2-steal-instance-credentials.json", 5, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::017622104382:role/stratus-red-team-ec2-steal-credentials-role");
    CHECK_STR(ev.identity_type, "iam_role");
    CHECK_STR(ev.session_name, "i-786a3A8B5C0d92eF4");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(ev.credential_id, "ASIAP5CT9NN8EYVU1FXV");
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_TEMPORARY);
    CHECK_STR(ev.action, "sts:GetCallerIdentity");
    CHECK_INT(ev.access, NW_ACCESS_READ);
    CHECK_CSTR(tfmt(&ev), "2024-08-02T08:23:55Z");
    CHECK_INT(ev.flags, 0);

    /* stratus ec2-serial-console #0: AWSReservedSSO_ role under the sso path;
     * the anonymised session ARN lost its '/', the session comes from principalId */
    CHECK_INT(nth(STRATUS "lateral-movement.ec2-serial-console-send-ssh-public-key.json", 0, &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::844015365555:role/aws-reserved/sso.amazonaws.com/"
                               "AWSReservedSSO_account-admin_599c9e90e350d2ff");
    CHECK_STR(ev.display_name, "AWSReservedSSO_account-admin_599c9e90e350d2ff");
    CHECK_STR(ev.session_name, "randomca0L529zwNAY@gmail.com");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.action, "ec2:EnableSerialConsoleAccess");
    CHECK_STR(ev.region, "cniso-east-3r");
    CHECK_INT(ev.flags, 0);

    /* cloud-custodian #8: sessionIssuer.arn is itself a malformed session ARN
     * (arn:aws::sts:ACCT:assumed-role/...); the role is derived from it */
    CHECK_INT(nth(CUSTODIAN, 8, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::101010101111:role/UserRole");
    CHECK_STR(ev.session_name, "userid");
    CHECK_STR(ev.credential_id, "notasecret");
    CHECK_INT(ev.cred_kind, NW_CRED_OTHER);
    CHECK_STR(ev.action, "rds:CreateDBInstance");
    CHECK_INT(ev.flags, NW_EV_VIA_SERVICE); /* invokedBy cloudformation */
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);

    /* panther #23: no sessionIssuer, session ARN without a session part */
    CHECK_INT(nth(PANTHER, 23, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:role/MakeStuffPublic");
    CHECK_STR(ev.display_name, "MakeStuffPublic");
    CHECK_STR(ev.session_name, "");
}

static void test_root(void)
{
    nw_event ev;
    nw_err e;
    /* cloud-custodian #7: root creates a bucket (no access key in the record) */
    CHECK_INT(nth(CUSTODIAN, 7, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::619193117841:root");
    CHECK_STR(ev.identity_type, "root");
    CHECK_STR(ev.display_name, "root");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.credential_id, "");
    CHECK_INT(ev.cred_kind, NW_CRED_NONE);
    CHECK_STR(ev.action, "s3:CreateBucket");
    CHECK_STR(ev.region, "us-west-2");
    CHECK_CSTR(tfmt(&ev), "2016-06-04T12:19:03Z");
    CHECK_STR(ev.account, "619193117841");

    /* cloud-custodian #17: root via autoscaling */
    CHECK_INT(nth(CUSTODIAN, 17, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::619193117841:root");
    CHECK_INT(ev.flags, NW_EV_VIA_SERVICE);

    /* panther #11: the only sample root ConsoleLogin has no eventTime */
    CHECK_INT(nth(PANTHER, 11, &ev, &e), NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "CloudTrail event without eventTime");

    /* hand-made #7: root console sign-in with MFA */
    CHECK_INT(nth(HANDMADE, 7, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:root");
    CHECK_STR(ev.identity_type, "root");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.credential_id, "");
    CHECK_INT(ev.cred_kind, NW_CRED_NONE);
    CHECK_STR(ev.action, "signin:ConsoleLogin");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_INT(ev.access, NW_ACCESS_WRITE);
    CHECK_INT(ev.flags, NW_EV_CONSOLE);
    CHECK_CSTR(tfmt(&ev), "2025-02-03T04:05:13Z");
}

static void test_errors(void)
{
    nw_event ev;
    nw_err e;
    /* stratus ec2-get-password-data #32: AssumeRole refused */
    CHECK_INT(nth(STRATUS "credential-access.ec2-get-password-data.json", 32, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::457448411975:user/christophe");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(ev.credential_id, "AKIAWOGXN38MFN92ING5");
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_LONG_TERM);
    CHECK_STR(ev.action, "sts:AssumeRole");
    CHECK_INT(ev.outcome, NW_OUT_DENIED);
    CHECK_STR(ev.error_code, "AccessDenied");
    CHECK_STR(ev.region, "apiso-northsouth-3r");
    CHECK_CSTR(tfmt(&ev), "2024-07-30T21:31:12Z");
    CHECK_INT(ev.access, NW_ACCESS_READ);
    CHECK_STR(ev.account, "457448411975");
    CHECK_STR(ev.resource, ""); /* requestParameters is null */
    CHECK_INT(ev.flags, 0);

    /* #30: the AssumeRole that worked names the role as its resource */
    CHECK_INT(nth(STRATUS "credential-access.ec2-get-password-data.json", 30, &ev, &e), NW_DECODE_EVENT);
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_STR(ev.resource, "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role");

    /* #0: the role session is refused GetPasswordData */
    CHECK_INT(nth(STRATUS "credential-access.ec2-get-password-data.json", 0, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::457448411975:role/stratus-red-team-ec2-get-password-data-role");
    CHECK_STR(ev.action, "ec2:GetPasswordData");
    CHECK_INT(ev.outcome, NW_OUT_DENIED);
    CHECK_STR(ev.error_code, "Client.UnauthorizedOperation");
    CHECK_INT(ev.flags, NW_EV_SECRET_READ);

    /* stratus iam-create-user-login-profile #1: an IAM failure that is not a refusal */
    CHECK_INT(nth(STRATUS "persistence.iam-create-user-login-profile.json", 1, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.action, "iam:DeleteLoginProfile");
    CHECK_INT(ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(ev.error_code, "EntityTemporarilyUnmodifiableException");
    CHECK_INT(ev.flags, NW_EV_PRIVILEGED);
    CHECK_INT(ev.access, NW_ACCESS_WRITE);

    /* panther #161: VpceAccessDenied from a cross-account caller */
    CHECK_INT(nth(PANTHER, 161, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "aws:account:111111111111");
    CHECK_STR(ev.identity_type, "aws_account");
    CHECK_INT(ev.kind, NW_KIND_UNKNOWN);
    CHECK_STR(ev.account, "222222222222");
    CHECK_INT(ev.outcome, NW_OUT_DENIED);
    CHECK_STR(ev.error_code, "VpceAccessDenied");
    CHECK(dedupe_zero(&ev)); /* no eventID */
}

static void test_console_login_without_mfa(void)
{
    nw_event ev;
    nw_err e;
    CHECK_INT(nth(STRATUS "initial-access.console-login-without-mfa.json", 0, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::562283505220:user/stratus-red-team-nmfalu-jfzdtsvchl");
    CHECK_STR(ev.identity_type, "iam_user");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.credential_id, "");
    CHECK_INT(ev.cred_kind, NW_CRED_NONE);
    CHECK_STR(ev.service, "signin");
    CHECK_STR(ev.action, "signin:ConsoleLogin");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_STR(ev.error_code, "");
    CHECK_STR(ev.region, "eu-west-2r");
    CHECK_CSTR(tfmt(&ev), "2024-08-02T08:53:24Z");
    CHECK_INT(ev.access, NW_ACCESS_WRITE);
    CHECK_STR(ev.account, "562283505220");
    CHECK_INT(ev.flags, NW_EV_CONSOLE);

    /* panther #8 and #9: fixture console logins without eventTime */
    CHECK_INT(nth(PANTHER, 8, &ev, &e), NW_DEC_E_TIME);
    CHECK_INT(nth(PANTHER, 9, &ev, &e), NW_DEC_E_TIME);
}

/* Wrap a sample event's raw text in an EventBridge envelope. */
struct grab {
    size_t want;
    nw_str raw;
};

static int grab_cb(void *ctx, size_t index, const nw_jval *v)
{
    struct grab *g = ctx;
    if (index == g->want)
        g->raw = v[0].s;
    return 0;
}

static void test_eventbridge(void)
{
    nw_event ev, bare;
    nw_err e;
    size_t n;
    char *buf = load(STRATUS "persistence.iam-create-admin-user.json", &n);
    CHECK(buf != NULL);
    if (!buf)
        return;
    nw_str container;
    nw_err_clear(&e);
    CHECK_INT(nw_decode(dec, buf, n, n + NW_JSCAN_PADDING, ar, &ev, &container, &e), NW_DECODE_CONTAINER);
    struct grab g = {0, NW_STR_NULL};
    CHECK_INT(nw_jscan_each(split, container.p, container.n, container.n, elem, ar, grab_cb, &g, &e), 0);
    CHECK(g.raw.n > 100);
    const char *pre = "{\"version\":\"0\",\"id\":\"x\",\"detail-type\":\"AWS API Call via CloudTrail\","
                      "\"source\":\"aws.iam\",\"detail\":";
    size_t cap = strlen(pre) + g.raw.n + 2;
    char *wrapped = malloc(cap);
    snprintf(wrapped, cap, "%s%.*s}", pre, (int)g.raw.n, g.raw.p);
    CHECK_INT(dec_json(wrapped, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::229654561268:user/christophe");
    CHECK_STR(ev.identity_type, "iam_user");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(ev.credential_id, "AKIAOZUDECYXYM4ONAN4");
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_LONG_TERM);
    CHECK_STR(ev.action, "iam:AttachUserPolicy");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_STR(ev.region, "ap-isob-central-3r");
    CHECK_CSTR(tfmt(&ev), "2024-08-01T13:33:28Z");
    CHECK_INT(ev.access, NW_ACCESS_WRITE);
    CHECK_STR(ev.account, "229654561268");
    CHECK_INT(ev.flags, NW_EV_PRIVILEGED);
    CHECK_STR(ev.event_id, "083dc4ad-e264-46bc-a407-d0dd31b58bdc"); /* not the envelope id */
    CHECK(dedupe_is(&ev, "083dc4ad-e264-46bc-a407-d0dd31b58bdc"));
    /* the same event bare decodes to the same de-duplication id */
    CHECK_INT(nth(STRATUS "persistence.iam-create-admin-user.json", 0, &bare, &e), NW_DECODE_EVENT);
    CHECK(memcmp(ev.dedupe_id, bare.dedupe_id, 16) == 0);
    free(wrapped);

    /* #1: CreateAccessKey is both privileged and a credential mint */
    CHECK_INT(nth(STRATUS "persistence.iam-create-admin-user.json", 1, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.action, "iam:CreateAccessKey");
    CHECK_INT(ev.flags, NW_EV_PRIVILEGED | NW_EV_SECRET_READ);
}

static void test_handmade_identities(void)
{
    nw_event ev;
    nw_err e;
    /* #0 AWSService: EC2 assumes an instance-profile role */
    CHECK_INT(nth(HANDMADE, 0, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "ec2.amazonaws.com");
    CHECK_STR(ev.identity_type, "aws_service");
    CHECK_STR(ev.display_name, "ec2.amazonaws.com");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_INT(ev.flags, NW_EV_SERVICE_AGENT);
    CHECK_STR(ev.credential_id, "");
    CHECK_INT(ev.cred_kind, NW_CRED_NONE);
    CHECK_STR(ev.action, "sts:AssumeRole");
    CHECK_STR(ev.resource, "arn:aws:iam::111122223333:role/app/web-server");
    CHECK_INT(ev.access, NW_ACCESS_READ);
    CHECK_STR(ev.account, "111122223333");
    CHECK_STR(ev.region, "eu-west-1");
    CHECK_STR(ev.source_ip, "ec2.amazonaws.com");
    CHECK_CSTR(tfmt(&ev), "2025-02-03T04:05:06Z");

    /* #1 WebIdentityUser (GitHub OIDC) */
    CHECK_INT(nth(HANDMADE, 1, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key,
              "aws:webid:token.actions.githubusercontent.com:repo:octo-org/octo-repo:ref:refs/heads/main");
    CHECK_STR(ev.identity_type, "web_identity");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(ev.action, "sts:AssumeRoleWithWebIdentity");
    CHECK_STR(ev.resource, "arn:aws:iam::111122223333:role/ci/gha-deploy");
    CHECK_INT(ev.flags, 0);

    /* #2 SAMLUser */
    CHECK_INT(nth(HANDMADE, 2, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "aws:saml:bdGOnTesti4+ExamplexL/jEvs=:SamlExample");
    CHECK_STR(ev.identity_type, "saml_user");
    CHECK_STR(ev.display_name, "SamlExample");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.resource, "arn:aws:iam::111122223333:role/admins/saml-admin");
    CHECK_INT(ev.flags, NW_EV_CONSOLE);

    /* #3 IdentityCenterUser: the credential is credentialId */
    CHECK_INT(nth(HANDMADE, 3, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "aws:idc:arn:aws:identitystore::111122223333:identitystore/d-9067642ac7:"
                               "544894e8-80c1-707f-60e3-3ba6510dfac1");
    CHECK_STR(ev.identity_type, "identity_center_user");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.credential_id, "EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE");
    CHECK_INT(ev.cred_kind, NW_CRED_OTHER);
    CHECK_STR(ev.action, "sso:ListAccounts");
    CHECK_INT(ev.time_us, 1738555509250000LL); /* 2025-02-03T04:05:09.250Z */

    /* #4 failed console sign-in with an unknown user name */
    CHECK_INT(nth(HANDMADE, 4, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "aws:unknown:111122223333:hidden");
    CHECK_STR(ev.identity_type, "unknown");
    CHECK_STR(ev.display_name, "");
    CHECK_INT(ev.kind, NW_KIND_UNKNOWN);
    CHECK_INT(ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(ev.error_code, "");
    CHECK_STR(ev.credential_id, "");
    CHECK_INT(ev.cred_kind, NW_CRED_NONE);
    CHECK_INT(ev.flags, NW_EV_CONSOLE);

    /* #5 role session without sessionIssuer, GovCloud partition, source identity, role chaining */
    CHECK_INT(nth(HANDMADE, 5, &ev, &e), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws-us-gov:iam::111122223333:role/deploy");
    CHECK_STR(ev.identity_type, "iam_role");
    CHECK_STR(ev.display_name, "deploy");
    CHECK_STR(ev.session_name, "alice-session");
    CHECK_STR(ev.origin_key, "sourceidentity:alice@example.com");
    CHECK_STR(ev.resource, "arn:aws-us-gov:iam::444455556666:role/cross/target");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_INT(ev.cred_kind, NW_CRED_AWS_TEMPORARY);
    CHECK_INT(ev.flags, 0);

    /* #6 Insight record */
    CHECK_INT(nth(HANDMADE, 6, &ev, &e), NW_DECODE_SKIP);
    CHECK_CSTR(e.msg, "CloudTrail Insight record");
}

/* ---- whole files ---- */

static void check_counts(const char *name, long total, int ok, int e_time, int e_identity, int skip)
{
    walk w = {.want = SIZE_MAX};
    CHECK_INT(walk_file(name, &w), total);
    CHECK_INT(w.counts[RC_INDEX(NW_DECODE_EVENT)], ok);
    CHECK_INT(w.counts[RC_INDEX(NW_DEC_E_TIME)], e_time);
    CHECK_INT(w.counts[RC_INDEX(NW_DEC_E_IDENTITY)], e_identity);
    CHECK_INT(w.counts[RC_INDEX(NW_DECODE_SKIP)], skip);
    if (w.counts[RC_INDEX(NW_DECODE_EVENT)] != ok)
        fprintf(stderr, "  in %s\n", name);
}

static void test_whole_files(void)
{
    static const struct {
        const char *name;
        int events;
    } stratus[] = {
        {"credential-access.ec2-get-password-data.json", 34},
        {"credential-access.ec2-steal-instance-credentials.json", 45},
        {"credential-access.secretsmanager-batch-retrieve-secrets.json", 5},
        {"credential-access.secretsmanager-retrieve-secrets.json", 21},
        {"credential-access.ssm-retrieve-securestring-parameters.json", 10},
        {"defense-evasion.cloudtrail-delete.json", 1},
        {"defense-evasion.cloudtrail-event-selectors.json", 1},
        {"defense-evasion.cloudtrail-stop.json", 1},
        {"defense-evasion.dns-delete-logs.json", 1},
        {"defense-evasion.organizations-leave.json", 3},
        {"defense-evasion.vpc-remove-flow-logs.json", 1},
        {"discovery.ec2-download-user-data.json", 19},
        {"execution.ec2-launch-unusual-instances.json", 3},
        {"execution.ec2-user-data.json", 35},
        {"execution.ssm-send-command.json", 56},
        {"execution.ssm-start-session.json", 29},
        {"exfiltration.ec2-security-group-open-port-22-ingress.json", 1},
        {"exfiltration.ec2-share-ami.json", 1},
        {"exfiltration.ec2-share-ebs-snapshot.json", 1},
        {"exfiltration.rds-share-snapshot.json", 1},
        {"impact.bedrock-invoke-model.json", 15},
        {"initial-access.console-login-without-mfa.json", 1},
        {"lateral-movement.ec2-instance-connect.json", 3},
        {"lateral-movement.ec2-serial-console-send-ssh-public-key.json", 4},
        {"persistence.iam-backdoor-role.json", 1},
        {"persistence.iam-backdoor-user.json", 1},
        {"persistence.iam-create-admin-user.json", 3},
        {"persistence.iam-create-backdoor-role.json", 2},
        {"persistence.iam-create-user-login-profile.json", 3},
        {"persistence.lambda-backdoor-function.json", 1},
        {"persistence.lambda-layer-extension.json", 1},
        {"persistence.lambda-overwrite-code.json", 1},
        {"persistence.rolesanywhere-create-trust-anchor.json", 2},
        {"persistence.sts-federation-token.json", 2},
        {"privilege-escalation.iam-update-user-login-profile.json", 1},
    };
    int sum = 0;
    for (size_t i = 0; i < sizeof(stratus) / sizeof(stratus[0]); i++) {
        char name[200];
        snprintf(name, sizeof(name), STRATUS "%s", stratus[i].name);
        check_counts(name, stratus[i].events, stratus[i].events, 0, 0, 0);
        sum += stratus[i].events;
    }
    CHECK_INT(sum, 310);
    check_counts(CUSTODIAN, 24, 24, 0, 0, 0);
    /* 8 fixtures without eventTime (#8 #9 #10 #11 #27 #102 #103 #166),
     * 3 without userIdentity (#28 #156 #172) */
    check_counts(PANTHER, 173, 162, 8, 3, 0);
    check_counts(HANDMADE, 8, 7, 0, 0, 1);

    nw_event ev;
    nw_err e;
    CHECK_INT(nth(PANTHER, 28, &ev, &e), NW_DEC_E_IDENTITY);
    CHECK_CSTR(e.msg, "event without userIdentity");
    /* #102: userIdentity {} and no eventTime: the time is checked first */
    CHECK_INT(nth(PANTHER, 102, &ev, &e), NW_DEC_E_TIME);
}

/* ---- malformed and edge cases ---- */

#define HEAD "{\"eventVersion\":\"1.08\",\"eventTime\":\"2024-01-02T03:04:05Z\",\"eventID\":\"id-1\","
#define USER "\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":\"arn:aws:iam::111122223333:user/x\"}"

static void test_malformed(void)
{
    nw_event ev;
    nw_err e;

    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventTime\":\"2024-01-02T03:04:05Z\",\"eventSource\":"
                       "\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"userIdentity\":\"arn:aws:iam::1:user/x\"}",
                       &ev, &e),
              NW_DEC_E_IDENTITY);
    CHECK_CSTR(e.msg, "event without userIdentity");
    CHECK_INT(e.code, NW_DEC_E_IDENTITY);

    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventTime\":1704164645,\"eventSource\":\"s3.amazonaws.com\","
                       "\"eventName\":\"ListBuckets\"," USER "}",
                       &ev, &e),
              NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "eventTime is the number 1704164645, not an RFC 3339 time");
    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventTime\":{\"t\":1}," USER "}", &ev, &e), NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "eventTime is an object, not an RFC 3339 time");
    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventTime\":\"yesterday\"," USER "}", &ev, &e), NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "eventTime 'yesterday' is not an RFC 3339 time");
    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventTime\":null," USER "}", &ev, &e), NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "CloudTrail event without eventTime");
    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventSource\":\"s3.amazonaws.com\"," USER "}", &ev, &e),
              NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "CloudTrail event without eventTime");

    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\"}", &ev, &e),
              NW_DEC_E_IDENTITY);
    CHECK_CSTR(e.msg, "event without userIdentity");
    CHECK_INT(dec_json(HEAD "\"eventName\":\"ListBuckets\",\"userIdentity\":{}}", &ev, &e), NW_DEC_E_IDENTITY);
    CHECK_CSTR(e.msg, "event without userIdentity");
    CHECK_INT(dec_json(HEAD "\"eventName\":\"ListBuckets\",\"userIdentity\":{\"type\":\"IAMUser\"}}", &ev, &e),
              NW_DEC_E_IDENTITY);
    CHECK_CSTR(e.msg, "userIdentity of type 'IAMUser' names no principal");
    CHECK_INT(dec_json(HEAD "\"eventName\":\"ListBuckets\",\"userIdentity\":{\"accessKeyId\":\"AKIAX\"}}", &ev, &e),
              NW_DEC_E_IDENTITY);
    CHECK_CSTR(e.msg, "userIdentity has no type, arn, principalId, userName or invokedBy");

    /* wrong types everywhere: decoded, wrong-typed fields treated as absent */
    CHECK_INT(dec_json("{\"eventVersion\":\"1.08\",\"eventTime\":\"2024-01-02T03:04:05Z\",\"eventSource\":7,"
                       "\"eventName\":[\"x\"],\"awsRegion\":5,\"errorCode\":{\"a\":1},\"readOnly\":\"maybe\","
                       "\"resources\":{\"ARN\":\"x\"},\"eventID\":42,\"sourceIPAddress\":true,"
                       "\"userIdentity\":{\"type\":3,\"arn\":4,\"principalId\":\"AIDAEXAMPLE\",\"accountId\":111,"
                       "\"accessKeyId\":{\"k\":1},\"sessionContext\":\"str\",\"invokedBy\":[1]}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "aws:unknown::AIDAEXAMPLE");
    CHECK_STR(ev.identity_type, "unknown");
    CHECK_INT(ev.kind, NW_KIND_UNKNOWN);
    CHECK_STR(ev.credential_id, "");
    CHECK_INT(ev.cred_kind, NW_CRED_NONE);
    CHECK_STR(ev.service, "");
    CHECK_STR(ev.action, "");
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_INT(ev.access, NW_ACCESS_UNKNOWN);
    CHECK_STR(ev.resource, "");
    CHECK_STR(ev.region, "");
    CHECK_STR(ev.source_ip, "");
    CHECK_STR(ev.event_id, "");
    CHECK_INT(ev.flags, 0);
    CHECK(dedupe_zero(&ev));

    /* a numeric errorCode is still an error */
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"errorCode\":403,"
                       USER "}", &ev, &e),
              NW_DECODE_EVENT);
    CHECK_INT(ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(ev.error_code, "403");
    /* an empty errorCode is none */
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"errorCode\":\"\","
                       USER "}", &ev, &e),
              NW_DECODE_EVENT);
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);

    /* resources: non-object elements and elements without ARN are passed over */
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"resources\":"
                       "[\"{'arn': 'x'}\",{\"type\":\"AWS::S3::Object\"},{\"ARN\":\"arn:aws:s3:::b/k\"},"
                       "{\"ARN\":\"arn:aws:s3:::b\"}]," USER "}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.resource, "arn:aws:s3:::b/k");
    CHECK_INT(ev.access, NW_ACCESS_READ); /* no readOnly: from the name */

    /* malformed JSON and foreign records are the dispatcher's errors */
    CHECK_INT(dec_json(HEAD "\"eventName\":", &ev, &e), NW_DEC_E_JSON);
    CHECK_INT(dec_json("{\"foo\":1}", &ev, &e), NW_DEC_E_FORMAT);

    /* a digest file body is skipped before any decoder sees it */
    CHECK_INT(dec_json("{\"awsAccountId\":\"111122223333\",\"digestStartTime\":\"2024-01-01T00:00:00Z\","
                       "\"digestEndTime\":\"2024-01-01T01:00:00Z\",\"digestS3Bucket\":\"b\",\"digestS3Object\":"
                       "\"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz\",\"logFiles\":[]}",
                       &ev, &e),
              NW_DECODE_SKIP);
    CHECK_CSTR(e.msg, "CloudTrail digest file");
}

static void test_outcomes_and_access(void)
{
    static const struct {
        const char *code;
        int outcome;
    } codes[] = {
        {"AccessDenied", NW_OUT_DENIED},
        {"Client.UnauthorizedOperation", NW_OUT_DENIED},
        {"AccessDeniedException", NW_OUT_DENIED},
        {"ForbiddenException", NW_OUT_DENIED},
        {"AuthorizationErrorException", NW_OUT_DENIED},
        {"NotAuthorizedException", NW_OUT_DENIED},
        {"accessdenied", NW_OUT_DENIED},
        {"Client.DryRunOperation", NW_OUT_FAILURE},
        {"ThrottlingException", NW_OUT_FAILURE},
        {"NoSuchEntity", NW_OUT_FAILURE},
    };
    char buf[600];
    nw_event ev;
    nw_err e;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        snprintf(buf, sizeof(buf),
                 HEAD "\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"GetUser\",\"errorCode\":\"%s\"," USER "}",
                 codes[i].code);
        CHECK_INT(dec_json(buf, &ev, &e), NW_DECODE_EVENT);
        CHECK_INT(ev.outcome, codes[i].outcome);
        CHECK_STR(ev.error_code, codes[i].code);
    }

    static const struct {
        const char *source, *name, *read_only; /* read_only: JSON text or NULL */
        const char *action;
        int access;
        unsigned flags;
    } cases[] = {
        {"ec2.amazonaws.com", "DescribeInstances", NULL, "ec2:DescribeInstances", NW_ACCESS_READ, 0},
        {"ec2.amazonaws.com", "RunInstances", NULL, "ec2:RunInstances", NW_ACCESS_WRITE, 0},
        {"s3.amazonaws.com", "HeadObject", NULL, "s3:HeadObject", NW_ACCESS_READ, 0},
        {"ec2.amazonaws.com", "RunInstances", "true", "ec2:RunInstances", NW_ACCESS_READ, 0},
        {"ec2.amazonaws.com", "DescribeInstances", "\"False\"", "ec2:DescribeInstances", NW_ACCESS_WRITE, 0},
        {"monitoring.amazonaws.com", "PutMetricData", NULL, "cloudwatch:PutMetricData", NW_ACCESS_WRITE, 0},
        {"streams.dynamodb.amazonaws.com", "GetRecords", NULL, "dynamodb:GetRecords", NW_ACCESS_READ, 0},
        {"models.lex.amazonaws.com", "PutBot", NULL, "lex:PutBot", NW_ACCESS_WRITE, 0},
        {"iam.amazonaws.com", "PutRolePolicy", NULL, "iam:PutRolePolicy", NW_ACCESS_WRITE, NW_EV_PRIVILEGED},
        {"iam.amazonaws.com", "UpdateAssumeRolePolicy", NULL, "iam:UpdateAssumeRolePolicy", NW_ACCESS_WRITE,
         NW_EV_PRIVILEGED},
        {"iam.amazonaws.com", "ListAccessKeys", NULL, "iam:ListAccessKeys", NW_ACCESS_READ, 0},
        {"iam.amazonaws.com", "TagRole", NULL, "iam:TagRole", NW_ACCESS_WRITE, 0},
        {"sts.amazonaws.com", "AssumeRole", NULL, "sts:AssumeRole", NW_ACCESS_WRITE, 0},
        {"sts.amazonaws.com", "GetSessionToken", NULL, "sts:GetSessionToken", NW_ACCESS_READ, NW_EV_SECRET_READ},
        {"secretsmanager.amazonaws.com", "GetSecretValue", NULL, "secretsmanager:GetSecretValue", NW_ACCESS_READ,
         NW_EV_SECRET_READ},
        {"ssm.amazonaws.com", "GetParametersByPath", NULL, "ssm:GetParametersByPath", NW_ACCESS_READ,
         NW_EV_SECRET_READ},
        {"kms.amazonaws.com", "Decrypt", NULL, "kms:Decrypt", NW_ACCESS_WRITE, NW_EV_SECRET_READ},
        {"kms.amazonaws.com", "PutKeyPolicy", NULL, "kms:PutKeyPolicy", NW_ACCESS_WRITE, NW_EV_PRIVILEGED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char ro[40] = "";
        if (cases[i].read_only)
            snprintf(ro, sizeof(ro), "\"readOnly\":%s,", cases[i].read_only);
        snprintf(buf, sizeof(buf), HEAD "\"eventSource\":\"%s\",\"eventName\":\"%s\",%s" USER "}", cases[i].source,
                 cases[i].name, ro);
        CHECK_INT(dec_json(buf, &ev, &e), NW_DECODE_EVENT);
        CHECK_STR(ev.action, cases[i].action);
        CHECK_INT(ev.access, cases[i].access);
        CHECK_INT(ev.flags, cases[i].flags);
    }
}

static void test_kind_evidence(void)
{
    nw_event ev;
    nw_err e;
    /* IAM user, AKIA key, browser agent: console evidence wins */
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"userAgent\":"
                       "\"[Mozilla/5.0 (X11)]\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":"
                       "\"arn:aws:iam::111122223333:user/x\",\"accessKeyId\":\"AKIAEXAMPLE\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_INT(ev.flags, NW_EV_CONSOLE);
    /* IAM user with an ASIA key from the CLI: nothing tells */
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"userAgent\":"
                       "\"aws-cli/2.15\",\"userIdentity\":{\"type\":\"IAMUser\",\"arn\":"
                       "\"arn:aws:iam::111122223333:user/x\",\"accessKeyId\":\"ASIAEXAMPLE\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_INT(ev.kind, NW_KIND_UNKNOWN);
    /* IAM user without arn: the ARN is built from account and name */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"ListBuckets\",\"recipientAccountId\":\"999988887777\","
                       "\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::999988887777:user/bob");
    /* role session named like an email, console flag at the top level */
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\","
                       "\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":"
                       "\"arn:aws:sts::111122223333:assumed-role/ops/jane@example.com\",\"sessionContext\":{"
                       "\"sessionIssuer\":{\"arn\":\"arn:aws:iam::111122223333:role/team/ops\"}}}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:role/team/ops");
    CHECK_STR(ev.session_name, "jane@example.com");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_INT(ev.flags, 0);
    CHECK_INT(dec_json(HEAD "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\","
                       "\"sessionCredentialFromConsole\":\"true\",\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":"
                       "\"arn:aws:sts::111122223333:assumed-role/ops/s1\",\"sessionContext\":{"
                       "\"sessionIssuer\":{\"arn\":\"arn:aws:iam::111122223333:role/team/ops\"}}}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_INT(ev.flags, NW_EV_CONSOLE);
    /* Unknown type: keyed on principalId */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"GetObject\",\"eventSource\":\"s3.amazonaws.com\",\"userIdentity\":{"
                       "\"type\":\"Unknown\",\"principalId\":\"anonymous\",\"accountId\":\"ANONYMOUS_PRINCIPAL\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "aws:unknown:ANONYMOUS_PRINCIPAL:anonymous");
    CHECK_STR(ev.identity_type, "unknown");
    CHECK_INT(ev.kind, NW_KIND_UNKNOWN);
    /* odd casing of keys and of the type's value: still an IAM user keyed by its ARN */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"GetObject\",\"eventSource\":\"s3.amazonaws.com\",\"UserIdentity\":{"
                       "\"TYPE\":\"iamuser\",\"Arn\":\"arn:aws:iam::111122223333:user/ci/deploy\","
                       "\"AccessKeyId\":\"AKIAEXAMPLE0000000001\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:user/ci/deploy");
    CHECK_STR(ev.identity_type, "iam_user");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    /* no type: the ARN says what the principal is */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"GetObject\",\"eventSource\":\"s3.amazonaws.com\",\"userIdentity\":{"
                       "\"arn\":\"arn:aws:sts::111122223333:assumed-role/app/i-0abc\",\"principalId\":\"AROAX:i-0abc\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:role/app");
    CHECK_STR(ev.identity_type, "iam_role");
    /* a type this decoder does not know, with a principal ARN: keyed by the ARN */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"GetObject\",\"eventSource\":\"s3.amazonaws.com\",\"userIdentity\":{"
                       "\"type\":\"SomeFutureType\",\"arn\":\"arn:aws:iam::111122223333:future-thing/x\","
                       "\"principalId\":\"FUTURE1\",\"accountId\":\"111122223333\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:future-thing/x");
    CHECK_STR(ev.identity_type, "unknown");
    CHECK_STR(ev.display_name, "x");
    /* ... and with an IAM role ARN: a role, keyed by that ARN */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"GetObject\",\"eventSource\":\"s3.amazonaws.com\",\"userIdentity\":{"
                       "\"type\":\"SomeFutureType\",\"arn\":\"arn:aws:iam::111122223333:role/svc/etl\","
                       "\"principalId\":\"AROAFUTURE\",\"accountId\":\"111122223333\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:role/svc/etl");
    CHECK_STR(ev.identity_type, "iam_role");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(ev.display_name, "etl");
    /* AwsServiceEvent with a type-less userIdentity: the service that acted */
    CHECK_INT(dec_json(HEAD "\"eventName\":\"CreateAccountResult\",\"eventSource\":"
                       "\"organizations.amazonaws.com\",\"readOnly\":false,\"userIdentity\":{"
                       "\"accountId\":\"111122223333\",\"invokedBy\":\"organizations.amazonaws.com\"}}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "organizations.amazonaws.com");
    CHECK_STR(ev.identity_type, "aws_service");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_INT(ev.flags, NW_EV_SERVICE_AGENT);
    CHECK_STR(ev.account, "111122223333");
}

/* A CloudWatch Logs log event holds the record as a JSON string. */
static void test_cloudwatch_message(void)
{
    nw_event ev;
    nw_err e;
    CHECK_INT(dec_json("{\"id\":\"1\",\"timestamp\":1,\"message\":\"{\\\"eventVersion\\\":\\\"1.08\\\","
                       "\\\"eventTime\\\":\\\"2024-05-06T07:08:09Z\\\",\\\"eventSource\\\":\\\"s3.amazonaws.com\\\","
                       "\\\"eventName\\\":\\\"ListBuckets\\\",\\\"userIdentity\\\":{\\\"type\\\":\\\"IAMUser\\\","
                       "\\\"arn\\\":\\\"arn:aws:iam::111122223333:user/cw\\\"}}\"}",
                       &ev, &e),
              NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "arn:aws:iam::111122223333:user/cw");
    CHECK_STR(ev.action, "s3:ListBuckets");
    CHECK_CSTR(tfmt(&ev), "2024-05-06T07:08:09Z");
}

int main(void)
{
    nw_err e;
    nw_err_clear(&e);
    dec = nw_decoder_new(NULL, &e);
    ar = nw_arena_new(0);
    split = nw_jscan_new(0, 0);
    const char *ep[] = {""};
    elem = nw_jpaths_new(ep, 1, &e);
    CHECK(dec != NULL);
    CHECK(ar != NULL && split != NULL && elem != NULL);
    if (!dec || !ar || !split || !elem) {
        fprintf(stderr, "setup failed: %s\n", e.msg);
        return nw_test_finish() | 1;
    }

    test_iam_user_akia();
    test_federated_user();
    test_assumed_role();
    test_root();
    test_errors();
    test_console_login_without_mfa();
    test_eventbridge();
    test_handmade_identities();
    test_whole_files();
    test_malformed();
    test_outcomes_and_access();
    test_kind_evidence();
    test_cloudwatch_message();

    for (size_t i = 0; i < nfiles; i++)
        free(files[i].p);
    nw_jpaths_free(elem);
    nw_jscan_free(split);
    nw_arena_free(ar);
    nw_decoder_free(dec);
    return nw_test_finish();
}
