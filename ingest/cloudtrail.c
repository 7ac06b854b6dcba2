/* cloudtrail.c - AWS CloudTrail records to normalized events.
 *
 * Input is one CloudTrail event object: the dispatcher (decode.c) has
 * already taken it out of its container ({"Records":[...]}, an EventBridge
 * `detail`, a lookup-events `CloudTrailEvent` string, a CloudWatch Logs
 * `message`). Field reference: docs/log-formats.md 1.1, 2.1, 3.1, 4.1, 6.1.
 *
 * Identity keys (DESIGN.md "Identity key"), by userIdentity.type:
 *   IAMUser            its arn                     iam_user
 *   AssumedRole        sessionContext.sessionIssuer.arn (the role ARN, with
 *                      path); without an issuer, derived from the session
 *                      ARN (path unknown then)     iam_role
 *   Root               arn:<partition>:iam::<account>:root             root
 *   AWSService         invokedBy (ec2.amazonaws.com)                   aws_service
 *   FederatedUser      its arn (sts federated-user ARN)                federated_user
 *   WebIdentityUser    aws:webid:<identityProvider>:<userName>         web_identity
 *   SAMLUser           aws:saml:<identityProvider>:<userName>          saml_user
 *   IdentityCenterUser aws:idc:<onBehalfOf.identityStoreArn>:<onBehalfOf.userId>
 *                                                                      identity_center_user
 *   AWSAccount         aws:account:<accountId>                         aws_account
 *   (the type's value compared without regard to case)
 *   no type or an unknown one, with an IAM user or assumed-role session
 *   ARN: as IAMUser / AssumedRole; with another ARN: that ARN, unknown
 *   anything else, or a known type whose canonical key cannot be built
 *   from what the record carries:
 *                      aws:unknown:<account>:<principalId or userName>
 *                      (identity_type stays what the type says, or "unknown")
 * A failed console sign-in with userName HIDDEN_DUE_TO_SECURITY_REASONS
 * (the user name was not valid) is keyed aws:unknown:<account>:hidden.
 *
 * Choices where the contract is silent:
 * - An IAMUser without arn but with userName gets
 *   arn:aws:iam::<account>:user/<userName>: right for users without a path,
 *   which is all of them in the fixtures that do this.
 * - origin_key (the original principal behind a session) is
 *   "sourceidentity:<value>" when the session carries an STS source
 *   identity (it survives role chaining, so it is the best hint of who is
 *   behind a shared role); else, for a FederatedUser, the ARN of the IAM
 *   user that called GetFederationToken (sessionIssuer.arn). Role chaining
 *   itself is not resolved here: the AssumeRole event's resource is the
 *   target role (requestParameters.roleArn) and its identity is the caller,
 *   which is what the store needs to link the two.
 * - Console evidence is the top-level `sessionCredentialFromConsole`
 *   (where CloudTrail puts it, only when true), an event from
 *   signin.amazonaws.com, or a console / browser user agent.
 * - Insight records are recognised by eventType AwsCloudTrailInsight,
 *   eventCategory "Insight" or an insightDetails object.
 *
 * Hot path: no allocation except nw_cat for the action and for keys that
 * are not in the input; the resources[] array is scanned only when present.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/nw_hash.h"
#include "../core/nw_time.h"
#include "provider.h"

enum {
    P_VERSION,
    P_TIME,
    P_SOURCE,
    P_NAME,
    P_CATEGORY,
    P_INSIGHT,
    P_EVENT_TYPE,
    P_REGION,
    P_IP,
    P_AGENT,
    P_ERROR,
    P_READONLY,
    P_ID,
    P_RECIPIENT,
    P_FROM_CONSOLE,
    P_RESOURCES,
    P_ROLE_ARN,
    P_CONSOLE_LOGIN,
    P_RESP_SESSION_KEY,
    P_RESP_ACCESS_KEY,
    P_RESP_ACCESS_KEY_USER,
    P_REQ_USER,
    P_RESP_ROLE_ARN,
    P_RESP_USER_ARN,
    P_UI_TYPE,
    P_UI_ARN,
    P_UI_ACCOUNT,
    P_UI_PRINCIPAL,
    P_UI_USER,
    P_UI_KEY,
    P_UI_INVOKED_BY,
    P_UI_IDP,
    P_UI_CRED_ID,
    P_UI_OBO_USER,
    P_UI_OBO_STORE,
    P_UI_ISSUER_ARN,
    P_UI_ISSUER_NAME,
    P_UI_SOURCE_ID,
    P_COUNT
};

static const char *const paths[P_COUNT] = {
    [P_VERSION] = "eventVersion",
    [P_TIME] = "eventTime",
    [P_SOURCE] = "eventSource",
    [P_NAME] = "eventName",
    [P_CATEGORY] = "eventCategory",
    [P_INSIGHT] = "insightDetails",
    [P_EVENT_TYPE] = "eventType",
    [P_REGION] = "awsRegion",
    [P_IP] = "sourceIPAddress",
    [P_AGENT] = "userAgent",
    [P_ERROR] = "errorCode",
    [P_READONLY] = "readOnly",
    [P_ID] = "eventID",
    [P_RECIPIENT] = "recipientAccountId",
    [P_FROM_CONSOLE] = "sessionCredentialFromConsole",
    [P_RESOURCES] = "resources",
    [P_ROLE_ARN] = "requestParameters/roleArn",
    [P_CONSOLE_LOGIN] = "responseElements/ConsoleLogin",
    [P_RESP_SESSION_KEY] = "responseElements/credentials/accessKeyId",
    [P_RESP_ACCESS_KEY] = "responseElements/accessKey/accessKeyId",
    [P_RESP_ACCESS_KEY_USER] = "responseElements/accessKey/userName",
    [P_REQ_USER] = "requestParameters/userName",
    [P_RESP_ROLE_ARN] = "responseElements/role/arn",
    [P_RESP_USER_ARN] = "responseElements/user/arn",
    [P_UI_TYPE] = "userIdentity/type",
    [P_UI_ARN] = "userIdentity/arn",
    [P_UI_ACCOUNT] = "userIdentity/accountId",
    [P_UI_PRINCIPAL] = "userIdentity/principalId",
    [P_UI_USER] = "userIdentity/userName",
    [P_UI_KEY] = "userIdentity/accessKeyId",
    [P_UI_INVOKED_BY] = "userIdentity/invokedBy",
    [P_UI_IDP] = "userIdentity/identityProvider",
    [P_UI_CRED_ID] = "userIdentity/credentialId",
    [P_UI_OBO_USER] = "userIdentity/onBehalfOf/userId",
    [P_UI_OBO_STORE] = "userIdentity/onBehalfOf/identityStoreArn",
    [P_UI_ISSUER_ARN] = "userIdentity/sessionContext/sessionIssuer/arn",
    [P_UI_ISSUER_NAME] = "userIdentity/sessionContext/sessionIssuer/userName",
    [P_UI_SOURCE_ID] = "userIdentity/sessionContext/sourceIdentity",
};

/* Per-decoder state: the path set for the elements of resources[]. */
typedef struct ct_state {
    nw_jpaths *res;
} ct_state;

/* ---- small string helpers ---- */

static bool icontains(nw_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.n; i++)
        if (nw_str_ieqs(nw_str_mk(s.p + i, n), nw_str_mk(needle, n)))
            return true;
    return false;
}

/* The part after the last '/', or s itself. */
static nw_str after_slash(nw_str s)
{
    long i = nw_str_rchr(s, '/');
    return i < 0 ? s : nw_str_sub(s, (size_t)i + 1, s.n);
}

static bool has_text(const nw_jval *v) { return v->type == NW_J_STRING && v->s.n > 0; }

static const char *type_name(int type)
{
    static const char *const names[] = {"absent", "null", "a boolean", "a number", "a string", "an object",
                                        "an array"};
    return type >= 0 && (size_t)type < sizeof(names) / sizeof(names[0]) ? names[type] : "invalid";
}

/* ---- ARNs ---- */

typedef struct arn_parts {
    nw_str partition, service, region, account, resource;
} arn_parts;

/* "arn:partition:service:region:account:resource"; the resource keeps any
 * further ':'. */
static bool arn_split(nw_str a, arn_parts *o)
{
    if (!nw_str_starts(a, "arn:"))
        return false;
    nw_str f[5];
    size_t start = 4, k = 0;
    for (size_t i = 4; i < a.n && k < 4; i++) {
        if (a.p[i] == ':') {
            f[k++] = nw_str_sub(a, start, i - start);
            start = i + 1;
        }
    }
    if (k < 4)
        return false;
    f[4] = nw_str_sub(a, start, a.n - start);
    *o = (arn_parts){f[0], f[1], f[2], f[3], f[4]};
    return true;
}

/* A role ARN as sessionIssuer carries it: arn:<p>:iam::<acct>:role/... */
static bool is_role_arn(nw_str a)
{
    arn_parts p;
    return arn_split(a, &p) && nw_str_eq(p.service, "iam") && p.account.n && nw_str_starts(p.resource, "role/") &&
           p.resource.n > 5;
}

/* arn:<p>:sts::<acct>:assumed-role/<name>/<session> -> arn:<p>:iam::<acct>:role/<name>.
 * Lenient about the service and region fields (fixtures have swapped them)
 * and about a missing session; strict about account and role name. */
static nw_str role_from_session(nw_arena *a, nw_str session_arn)
{
    arn_parts p;
    if (!arn_split(session_arn, &p) || !p.account.n || !nw_str_starts(p.resource, "assumed-role/"))
        return NW_STR_NULL;
    nw_str rest = nw_str_sub(p.resource, 13, p.resource.n);
    long slash = nw_str_chr(rest, '/');
    nw_str role = slash < 0 ? rest : nw_str_sub(rest, 0, (size_t)slash);
    if (!role.n)
        return NW_STR_NULL;
    nw_str parts[] = {NW_STR_LIT("arn:"), p.partition.n ? p.partition : NW_STR_LIT("aws"), NW_STR_LIT(":iam::"),
                      p.account, NW_STR_LIT(":role/"), role};
    return nw_cat(a, parts, sizeof(parts) / sizeof(parts[0]));
}

/* The role session name: from assumed-role/<name>/<session>, else the part
 * of principalId (AROA...:<session>) after the first ':'. */
static nw_str session_of(nw_str session_arn, nw_str principal)
{
    arn_parts p;
    if (arn_split(session_arn, &p) && nw_str_starts(p.resource, "assumed-role/")) {
        nw_str rest = nw_str_sub(p.resource, 13, p.resource.n);
        long slash = nw_str_chr(rest, '/');
        if (slash > 0 && (size_t)slash + 1 < rest.n)
            return nw_str_sub(rest, (size_t)slash + 1, rest.n);
    }
    long colon = nw_str_chr(principal, ':');
    if (colon >= 0 && (size_t)colon + 1 < principal.n)
        return nw_str_sub(principal, (size_t)colon + 1, principal.n);
    return NW_STR_NULL;
}

static nw_str partition_of(nw_str arn)
{
    arn_parts p;
    return arn_split(arn, &p) && p.partition.n ? p.partition : NW_STR_LIT("aws");
}

/* ---- event-level evidence ---- */

static bool looks_like_email(nw_str s)
{
    long at = nw_str_chr(s, '@');
    return at > 0 && nw_str_chr(nw_str_sub(s, (size_t)at + 1, s.n), '.') > 0;
}

/* Agents of the console and of browsers. S3 data events bracket the agent
 * ("[Mozilla/5.0 ...]", "[S3Console/0.4, aws-internal/3 ...]"). */
static bool console_agent(nw_str ua)
{
    if (ua.n && ua.p[0] == '[')
        ua = nw_str_sub(ua, 1, ua.n);
    return nw_str_starts(ua, "Mozilla/") || nw_str_istarts(ua, "S3Console/") ||
           nw_str_ieq(ua, "signin.amazonaws.com") ||
           (nw_str_istarts(ua, "console.") && nw_str_iends(ua, ".amazonaws.com"));
}

/* IAM prefix of an event source: first label, with the renames of
 * docs/log-formats.md 6.1. */
static nw_str iam_prefix(nw_str src)
{
    static const struct {
        nw_str host, prefix;
    } renames[] = {
        {NW_STR_LIT("monitoring"), NW_STR_LIT("cloudwatch")},
        {NW_STR_LIT("appstream2"), NW_STR_LIT("appstream")},
        {NW_STR_LIT("models.lex"), NW_STR_LIT("lex")},
        {NW_STR_LIT("runtime.lex"), NW_STR_LIT("lex")},
        {NW_STR_LIT("mturk-requester"), NW_STR_LIT("mechanicalturk")},
        {NW_STR_LIT("streams.dynamodb"), NW_STR_LIT("dynamodb")},
        {NW_STR_LIT("tagging"), NW_STR_LIT("tag")},
    };
    nw_str host = src;
    if (nw_str_iends(host, ".amazonaws.com"))
        host.n -= sizeof(".amazonaws.com") - 1;
    for (size_t i = 0; i < sizeof(renames) / sizeof(renames[0]); i++)
        if (nw_str_eqs(host, renames[i].host))
            return renames[i].prefix;
    long dot = nw_str_chr(host, '.');
    return dot < 0 ? host : nw_str_sub(host, 0, (size_t)dot);
}

/* Flags by exact action. sts:AssumeRole* is deliberately absent: taking a
 * role is how sessions start, not a privilege change. */
static const struct {
    nw_str service, name;
    uint16_t flags;
} action_flags[] = {
    {NW_STR_LIT("secretsmanager"), NW_STR_LIT("GetSecretValue"), NW_EV_SECRET_READ},
    {NW_STR_LIT("secretsmanager"), NW_STR_LIT("BatchGetSecretValue"), NW_EV_SECRET_READ},
    {NW_STR_LIT("ssm"), NW_STR_LIT("GetParameter"), NW_EV_SECRET_READ},
    {NW_STR_LIT("ssm"), NW_STR_LIT("GetParameters"), NW_EV_SECRET_READ},
    {NW_STR_LIT("ssm"), NW_STR_LIT("GetParametersByPath"), NW_EV_SECRET_READ},
    {NW_STR_LIT("ec2"), NW_STR_LIT("GetPasswordData"), NW_EV_SECRET_READ},
    {NW_STR_LIT("kms"), NW_STR_LIT("Decrypt"), NW_EV_SECRET_READ},
    {NW_STR_LIT("sts"), NW_STR_LIT("GetSessionToken"), NW_EV_SECRET_READ},
    {NW_STR_LIT("sts"), NW_STR_LIT("GetFederationToken"), NW_EV_SECRET_READ},
    {NW_STR_LIT("iam"), NW_STR_LIT("CreateAccessKey"), NW_EV_SECRET_READ | NW_EV_PRIVILEGED},
    {NW_STR_LIT("kms"), NW_STR_LIT("PutKeyPolicy"), NW_EV_PRIVILEGED},
    {NW_STR_LIT("kms"), NW_STR_LIT("CreateGrant"), NW_EV_PRIVILEGED},
    {NW_STR_LIT("organizations"), NW_STR_LIT("AttachPolicy"), NW_EV_PRIVILEGED},
    {NW_STR_LIT("organizations"), NW_STR_LIT("DetachPolicy"), NW_EV_PRIVILEGED},
    {NW_STR_LIT("organizations"), NW_STR_LIT("UpdatePolicy"), NW_EV_PRIVILEGED},
    {NW_STR_LIT("organizations"), NW_STR_LIT("LeaveOrganization"), NW_EV_PRIVILEGED},
};

/* IAM calls that change who can do what or manage credentials
 * (docs/log-formats.md 4.1): every iam.amazonaws.com call whose name starts
 * with one of these verbs. Get/List/Generate/Simulate/Tag are not. */
static const char *const iam_write_verbs[] = {"Create", "Delete", "Attach", "Detach", "Put",
                                              "Update", "Add",    "Remove", "Set",    "Upload",
                                              "Change", "Reset",  "Enable", "Deactivate", "Resync"};

static uint16_t flags_for(nw_str service, nw_str name)
{
    uint16_t f = 0;
    for (size_t i = 0; i < sizeof(action_flags) / sizeof(action_flags[0]); i++)
        if (nw_str_eqs(name, action_flags[i].name) && nw_str_eqs(service, action_flags[i].service))
            f |= action_flags[i].flags;
    if (nw_str_eq(service, "iam"))
        for (size_t i = 0; i < sizeof(iam_write_verbs) / sizeof(iam_write_verbs[0]); i++)
            if (nw_str_starts(name, iam_write_verbs[i])) {
                f |= NW_EV_PRIVILEGED;
                break;
            }
    return f;
}

static bool denied_code(nw_str code)
{
    return icontains(code, "AccessDenied") || icontains(code, "Unauthorized") || icontains(code, "Forbidden") ||
           icontains(code, "AuthorizationError") || icontains(code, "NotAuthorized");
}

static int access_from_name(nw_str name)
{
    static const char *const reads[] = {"Get", "List", "Describe", "Head", "Lookup"};
    if (!name.n)
        return NW_ACCESS_UNKNOWN;
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
        if (nw_str_starts(name, reads[i]))
            return NW_ACCESS_READ;
    return NW_ACCESS_WRITE;
}

/* ---- resources[] ---- */

static int first_arn_cb(void *ctx, size_t index, const nw_jval *v)
{
    (void)index;
    nw_str s = nw_jv_str(&v[0]);
    if (!s.n)
        return 0;
    *(nw_str *)ctx = s;
    return 1;
}

/* First non-empty resources[].ARN. Elements that are not objects (fixtures
 * hold Python-repr strings) are passed over; a malformed array only loses
 * the resource. Returns 0 or NW_DEC_E_NOMEM. */
static int first_resource_arn(const ct_state *st, nw_decctx *dc, nw_str arr, nw_str *out)
{
    nw_err lerr;
    nw_err_clear(&lerr);
    int rc = nw_jscan_each(dc->js, arr.p, arr.n, arr.n, st->res, dc->arena, first_arn_cb, out, &lerr);
    return rc == NW_JSCAN_E_NOMEM ? NW_DEC_E_NOMEM : 0;
}

/* ---- identity ---- */

enum ct_type {
    T_UNKNOWN,
    T_IAM_USER,
    T_ROLE,
    T_ROOT,
    T_SERVICE,
    T_FEDERATED,
    T_WEBID,
    T_SAML,
    T_IDC,
    T_ACCOUNT,
};

static const struct {
    nw_str log_name;
    enum ct_type type;
    nw_str name;
} ct_types[] = {
    {NW_STR_LIT("IAMUser"), T_IAM_USER, NW_STR_LIT("iam_user")},
    {NW_STR_LIT("AssumedRole"), T_ROLE, NW_STR_LIT("iam_role")},
    {NW_STR_LIT("Root"), T_ROOT, NW_STR_LIT("root")},
    {NW_STR_LIT("AWSService"), T_SERVICE, NW_STR_LIT("aws_service")},
    {NW_STR_LIT("FederatedUser"), T_FEDERATED, NW_STR_LIT("federated_user")},
    {NW_STR_LIT("WebIdentityUser"), T_WEBID, NW_STR_LIT("web_identity")},
    {NW_STR_LIT("SAMLUser"), T_SAML, NW_STR_LIT("saml_user")},
    {NW_STR_LIT("IdentityCenterUser"), T_IDC, NW_STR_LIT("identity_center_user")},
    {NW_STR_LIT("AWSAccount"), T_ACCOUNT, NW_STR_LIT("aws_account")},
};

static bool has_user_identity(const nw_jval *v)
{
    for (int i = P_UI_TYPE; i <= P_UI_SOURCE_ID; i++)
        if (v[i].type != NW_J_ABSENT)
            return true;
    return false;
}

static nw_str prefixed(nw_arena *a, const char *prefix, nw_str x, nw_str y)
{
    nw_str parts[] = {nw_str_c(prefix), x, NW_STR_LIT(":"), y};
    return nw_cat(a, parts, 4);
}

/* Fill identity_key, identity_type, display_name, session_name, kind and
 * the identity-derived flags. Returns 0 or a negative nw_dec_error. */
static int decode_identity(const nw_jval *v, nw_arena *a, bool console, nw_event *ev, nw_err *err)
{
    nw_str tname = nw_jv_str(&v[P_UI_TYPE]);
    nw_str arn = nw_jv_str(&v[P_UI_ARN]);
    nw_str uacct = nw_jv_str(&v[P_UI_ACCOUNT]);
    nw_str principal = nw_jv_str(&v[P_UI_PRINCIPAL]);
    nw_str user = nw_jv_str(&v[P_UI_USER]);
    nw_str invoked = nw_jv_str(&v[P_UI_INVOKED_BY]);
    nw_str issuer = nw_jv_str(&v[P_UI_ISSUER_ARN]);
    /* the identity's own account; the receiving account only as a last resort */
    nw_str acct = uacct.n ? uacct : nw_jv_str(&v[P_RECIPIENT]);

    enum ct_type t = T_UNKNOWN;
    ev->identity_type = NW_STR_LIT("unknown");
    for (size_t i = 0; i < sizeof(ct_types) / sizeof(ct_types[0]); i++)
        if (nw_str_ieqs(tname, ct_types[i].log_name)) {
            t = ct_types[i].type;
            ev->identity_type = ct_types[i].name;
            break;
        }
    /* AwsServiceEvent records may carry only {accountId, invokedBy} */
    if (t == T_UNKNOWN && !tname.n && invoked.n) {
        t = T_SERVICE;
        ev->identity_type = NW_STR_LIT("aws_service");
    }
    /* no type, or one this decoder does not know: an IAM user, role or
     * assumed-role ARN still says what the principal is, and keys it as the
     * IAM exports do */
    if (t == T_UNKNOWN && nw_str_starts(arn, "arn:")) {
        if (nw_str_find(arn, ":iam::") > 0 && nw_str_find(arn, ":user/") > 0) {
            t = T_IAM_USER;
            ev->identity_type = NW_STR_LIT("iam_user");
        } else if ((nw_str_find(arn, ":sts::") > 0 && nw_str_find(arn, ":assumed-role/") > 0) ||
                   is_role_arn(arn)) {
            t = T_ROLE;
            ev->identity_type = NW_STR_LIT("iam_role");
        }
    }

    if (nw_str_eq(user, "HIDDEN_DUE_TO_SECURITY_REASONS")) {
        /* sign-in with a user name that does not exist: not an identity */
        ev->identity_type = NW_STR_LIT("unknown");
        ev->identity_key = prefixed(a, "aws:unknown:", acct, NW_STR_LIT("hidden"));
        ev->kind = NW_KIND_UNKNOWN;
        return ev->identity_key.p ? 0 : NW_DEC_E_NOMEM;
    }

    nw_str key = NW_STR_NULL, display = NW_STR_NULL;
    int kind = NW_KIND_UNKNOWN;
    switch (t) {
    case T_IAM_USER:
        if (nw_str_starts(arn, "arn:")) {
            key = arn;
        } else if (user.n && acct.n) {
            nw_str parts[] = {NW_STR_LIT("arn:aws:iam::"), acct, NW_STR_LIT(":user/"), user};
            if (!(key = nw_cat(a, parts, 4)).p)
                return NW_DEC_E_NOMEM;
        }
        display = user.n ? user : after_slash(arn);
        if (console)
            kind = NW_KIND_HUMAN;
        else if (nw_str_starts(nw_jv_str(&v[P_UI_KEY]), "AKIA"))
            kind = NW_KIND_NON_HUMAN;
        break;
    case T_ROLE: {
        if (is_role_arn(issuer)) {
            key = issuer;
        } else if (is_role_arn(arn)) {
            key = arn; /* a role named by its own ARN (a type this decoder does not know) */
        } else {
            key = role_from_session(a, arn);
            if (!key.p)
                key = role_from_session(a, issuer);
        }
        /* the role name as the key says it; sessionIssuer.userName disagrees in fixtures */
        display = key.n ? after_slash(key) : nw_jv_str(&v[P_UI_ISSUER_NAME]);
        if (!display.n)
            display = user;
        ev->session_name = session_of(arn, principal);
        if (console || nw_str_starts(display, "AWSReservedSSO_") ||
            nw_str_find(key, ":role/aws-reserved/sso.amazonaws.com/") >= 0 || looks_like_email(ev->session_name))
            kind = NW_KIND_HUMAN;
        else
            kind = NW_KIND_NON_HUMAN;
        break;
    }
    case T_ROOT:
        if (nw_str_starts(arn, "arn:") && nw_str_ends(arn, ":root")) {
            key = arn;
        } else if (acct.n) {
            nw_str parts[] = {NW_STR_LIT("arn:"), partition_of(arn), NW_STR_LIT(":iam::"), acct,
                              NW_STR_LIT(":root")};
            if (!(key = nw_cat(a, parts, 5)).p)
                return NW_DEC_E_NOMEM;
        }
        display = user.n ? user : NW_STR_LIT("root");
        kind = NW_KIND_HUMAN;
        break;
    case T_SERVICE:
        key = invoked;
        display = invoked;
        kind = NW_KIND_NON_HUMAN;
        ev->flags |= NW_EV_SERVICE_AGENT;
        break;
    case T_FEDERATED:
        if (nw_str_starts(arn, "arn:"))
            key = arn;
        display = after_slash(arn);
        kind = NW_KIND_HUMAN;
        break;
    case T_WEBID:
    case T_SAML: {
        nw_str idp = nw_jv_str(&v[P_UI_IDP]);
        if (idp.n && user.n && !(key = prefixed(a, t == T_WEBID ? "aws:webid:" : "aws:saml:", idp, user)).p)
            return NW_DEC_E_NOMEM;
        display = user;
        kind = t == T_WEBID ? NW_KIND_NON_HUMAN : NW_KIND_HUMAN;
        break;
    }
    case T_IDC: {
        nw_str store = nw_jv_str(&v[P_UI_OBO_STORE]), uid = nw_jv_str(&v[P_UI_OBO_USER]);
        if (store.n && uid.n && !(key = prefixed(a, "aws:idc:", store, uid)).p)
            return NW_DEC_E_NOMEM;
        display = user.n ? user : uid;
        kind = NW_KIND_HUMAN;
        break;
    }
    case T_ACCOUNT:
        if (uacct.n) {
            nw_str parts[] = {NW_STR_LIT("aws:account:"), uacct};
            if (!(key = nw_cat(a, parts, 2)).p)
                return NW_DEC_E_NOMEM;
        }
        display = uacct;
        break;
    case T_UNKNOWN:
        if (nw_str_starts(arn, "arn:"))
            key = arn; /* a principal ARN is stable and names itself */
        display = user.n ? user : after_slash(arn);
        if (console)
            kind = NW_KIND_HUMAN;
        break;
    }

    if (!key.n) {
        nw_str who = principal.n ? principal : user.n ? user : arn;
        if (!who.n) {
            if (!has_user_identity(v))
                return nw_err_set(err, NW_DEC_E_IDENTITY, "event without userIdentity");
            if (!tname.n)
                return nw_err_set(err, NW_DEC_E_IDENTITY,
                                  "userIdentity has no type, arn, principalId, userName or invokedBy");
            return nw_err_set(err, NW_DEC_E_IDENTITY, "userIdentity of type '%.*s' names no principal",
                              (int)(tname.n > 64 ? 64 : tname.n), tname.p);
        }
        if (!(key = prefixed(a, "aws:unknown:", acct, who)).p)
            return NW_DEC_E_NOMEM;
        if (!display.n)
            display = user.n ? user : who;
    }
    ev->identity_key = key;
    ev->display_name = display;
    ev->kind = (uint8_t)kind;

    if (invoked.n && t != T_SERVICE)
        ev->flags |= NW_EV_VIA_SERVICE;

    nw_str source_id = nw_jv_str(&v[P_UI_SOURCE_ID]);
    if (source_id.n) {
        nw_str parts[] = {NW_STR_LIT("sourceidentity:"), source_id};
        if (!(ev->origin_key = nw_cat(a, parts, 2)).p)
            return NW_DEC_E_NOMEM;
    } else if (t == T_FEDERATED && issuer.n) {
        ev->origin_key = issuer;
    }
    return 0;
}

/* ---- the decoder interface ---- */

static bool match(const nw_jval *v)
{
    if (v[P_VERSION].type != NW_J_ABSENT)
        return true;
    if (has_user_identity(v) && (v[P_SOURCE].type == NW_J_STRING || v[P_NAME].type == NW_J_STRING))
        return true;
    /* fixtures strip eventVersion and userIdentity; these names are CloudTrail's own */
    return v[P_NAME].type == NW_J_STRING &&
           (v[P_SOURCE].type == NW_J_STRING || v[P_RECIPIENT].type == NW_J_STRING || v[P_REGION].type == NW_J_STRING);
}

static void *state_new(nw_err *err)
{
    static const char *const res_paths[] = {"ARN"};
    ct_state *st = calloc(1, sizeof(*st));
    if (!st) {
        nw_err_set(err, NW_DEC_E_NOMEM, "out of memory creating the CloudTrail decoder");
        return NULL;
    }
    st->res = nw_jpaths_new(res_paths, 1, err);
    if (!st->res) {
        free(st);
        return NULL;
    }
    return st;
}

static void state_free(void *state)
{
    ct_state *st = state;
    if (!st)
        return;
    nw_jpaths_free(st->res);
    free(st);
}

/* Role chains and credential lifecycle: the session key an AssumeRole
 * minted (so the role's later calls with it lead back to the caller), the
 * key CreateAccessKey minted, and the identity a lifecycle call targets
 * (who created a role or a user's key is its probable owner). */
static int chain_fields(const nw_jval *v, nw_arena *a, nw_str name, nw_event *ev)
{
    if (nw_str_eq(ev->service, "sts") && nw_str_starts(name, "AssumeRole")) {
        ev->issued_credential = nw_jv_str(&v[P_RESP_SESSION_KEY]);
        ev->target_key = nw_jv_str(&v[P_ROLE_ARN]);
        return 0;
    }
    if (!nw_str_eq(ev->service, "iam"))
        return 0;
    if (nw_str_eq(name, "CreateRole")) {
        ev->target_key = nw_jv_str(&v[P_RESP_ROLE_ARN]);
        return 0;
    }
    if (nw_str_eq(name, "CreateUser")) {
        ev->target_key = nw_jv_str(&v[P_RESP_USER_ARN]);
        return 0;
    }
    if (nw_str_eq(name, "CreateAccessKey") || nw_str_eq(name, "CreateLoginProfile") ||
        nw_str_eq(name, "CreateServiceSpecificCredential")) {
        ev->issued_credential = nw_jv_str(&v[P_RESP_ACCESS_KEY]);
        /* the user: named in the request, or the caller's own user */
        nw_str user = nw_jv_str(&v[P_REQ_USER]);
        if (!user.n)
            user = nw_jv_str(&v[P_RESP_ACCESS_KEY_USER]);
        if (!user.n) {
            if (nw_str_eq(ev->identity_type, "iam_user"))
                ev->target_key = ev->identity_key;
            return 0;
        }
        if (!ev->account.n)
            return 0;
        /* the user's path is not in the event: keyed without it (most users have none) */
        nw_str partition = NW_STR_LIT("aws");
        if (nw_str_starts(ev->identity_key, "arn:")) {
            nw_str rest = nw_str_sub(ev->identity_key, 4, ev->identity_key.n);
            long c = nw_str_chr(rest, ':');
            if (c > 0)
                partition = nw_str_sub(rest, 0, (size_t)c);
        }
        nw_str parts[] = {NW_STR_LIT("arn:"), partition, NW_STR_LIT(":iam::"), ev->account, NW_STR_LIT(":user/"),
                          user};
        if (!(ev->target_key = nw_cat(a, parts, 6)).p)
            return NW_DEC_E_NOMEM;
    }
    return 0;
}

static int decode(void *state, nw_decctx *dc, const nw_jval *v, nw_event *ev, nw_err *err)
{
    const ct_state *st = state;
    nw_arena *a = dc->arena;
    int rc;

    if (nw_str_ieq(nw_jv_str(&v[P_CATEGORY]), "Insight") || v[P_INSIGHT].type != NW_J_ABSENT ||
        nw_str_ieq(nw_jv_str(&v[P_EVENT_TYPE]), "AwsCloudTrailInsight")) {
        nw_err_set(err, 0, "CloudTrail Insight record");
        return NW_DEC_SKIP;
    }
    /* AWS event notifications (S3 "ObjectCreated", SQS, DynamoDB stream
     * records) share Records, eventName and eventTime with CloudTrail but
     * name their source "aws:<service>", never "<service>.amazonaws.com".
     * They arrive where CloudTrail's S3 objects are announced (an S3
     * notification queue bridged to Kafka): no audit record, no identity. */
    nw_str esrc = nw_jv_str(&v[P_SOURCE]);
    if (esrc.n > 4 && nw_str_ieq(nw_str_sub(esrc, 0, 4), "aws:")) {
        nw_err_set(err, 0, "AWS event notification (eventSource %.*s), not a CloudTrail record",
                   (int)(esrc.n > 48 ? 48 : esrc.n), esrc.p);
        return NW_DEC_SKIP;
    }

    ev->provider = NW_PROV_AWS;
    const nw_jval *tv = &v[P_TIME];
    if (tv->type == NW_J_ABSENT || tv->type == NW_J_NULL)
        return nw_err_set(err, NW_DEC_E_TIME, "CloudTrail event without eventTime");
    if (tv->type == NW_J_NUMBER)
        return nw_err_set(err, NW_DEC_E_TIME, "eventTime is the number %.*s, not an RFC 3339 time",
                          (int)(tv->s.n > 64 ? 64 : tv->s.n), tv->s.p);
    if (tv->type != NW_J_STRING)
        return nw_err_set(err, NW_DEC_E_TIME, "eventTime is %s, not an RFC 3339 time", type_name(tv->type));
    if (nw_time_parse(tv->s, &ev->time_us))
        return nw_err_set(err, NW_DEC_E_TIME, "eventTime '%.*s' is not an RFC 3339 time",
                          (int)(tv->s.n > 64 ? 64 : tv->s.n), tv->s.p ? tv->s.p : "");

    nw_str source = nw_jv_str(&v[P_SOURCE]);
    nw_str name = nw_jv_str(&v[P_NAME]);
    ev->user_agent = nw_jv_str(&v[P_AGENT]);
    bool console = nw_jv_true(&v[P_FROM_CONSOLE]) || nw_str_ieq(source, "signin.amazonaws.com") ||
                   console_agent(ev->user_agent);
    if (console)
        ev->flags |= NW_EV_CONSOLE;

    rc = decode_identity(v, a, console, ev, err);
    if (rc == NW_DEC_E_NOMEM)
        return nw_err_set(err, rc, "out of memory decoding a CloudTrail event");
    if (rc)
        return rc;

    nw_str recipient = nw_jv_str(&v[P_RECIPIENT]);
    ev->account = recipient.n ? recipient : nw_jv_str(&v[P_UI_ACCOUNT]);
    ev->region = nw_jv_str(&v[P_REGION]);
    ev->source_ip = nw_jv_str(&v[P_IP]);
    ev->event_id = nw_jv_str(&v[P_ID]);

    nw_str key = nw_jv_str(&v[P_UI_KEY]);
    if (key.n) {
        ev->credential_id = key;
        ev->cred_kind = nw_str_starts(key, "AKIA")   ? NW_CRED_AWS_LONG_TERM
                        : nw_str_starts(key, "ASIA") ? NW_CRED_AWS_TEMPORARY
                                                     : NW_CRED_OTHER;
    } else if (has_text(&v[P_UI_CRED_ID])) { /* IdentityCenterUser */
        ev->credential_id = v[P_UI_CRED_ID].s;
        ev->cred_kind = NW_CRED_OTHER;
    }

    ev->service = iam_prefix(source);
    if (ev->service.n && name.n) {
        nw_str parts[] = {ev->service, NW_STR_LIT(":"), name};
        if (!(ev->action = nw_cat(a, parts, 3)).p)
            return nw_err_set(err, NW_DEC_E_NOMEM, "out of memory decoding a CloudTrail event");
    } else {
        ev->action = name;
    }
    ev->flags |= flags_for(ev->service, name);

    nw_str code = v[P_ERROR].type == NW_J_NUMBER ? v[P_ERROR].s : nw_jv_str(&v[P_ERROR]);
    if (code.n) {
        ev->error_code = code;
        ev->outcome = denied_code(code) ? NW_OUT_DENIED : NW_OUT_FAILURE;
    } else if (nw_str_ieq(nw_jv_str(&v[P_CONSOLE_LOGIN]), "Failure")) {
        ev->outcome = NW_OUT_FAILURE;
    }

    const nw_jval *ro = &v[P_READONLY];
    if (ro->type == NW_J_BOOL)
        ev->access = ro->b ? NW_ACCESS_READ : NW_ACCESS_WRITE;
    else if (nw_str_ieq(nw_jv_str(ro), "true"))
        ev->access = NW_ACCESS_READ;
    else if (nw_str_ieq(nw_jv_str(ro), "false"))
        ev->access = NW_ACCESS_WRITE;
    else
        ev->access = (uint8_t)access_from_name(name);

    if (nw_str_eq(ev->service, "sts") && nw_str_starts(name, "AssumeRole"))
        ev->resource = nw_jv_str(&v[P_ROLE_ARN]);
    else if (v[P_RESOURCES].type == NW_J_ARRAY &&
             first_resource_arn(st, dc, v[P_RESOURCES].s, &ev->resource) == NW_DEC_E_NOMEM)
        return nw_err_set(err, NW_DEC_E_NOMEM, "out of memory decoding a CloudTrail event");

    if (ev->outcome == NW_OUT_SUCCESS && (rc = chain_fields(v, a, name, ev)))
        return nw_err_set(err, rc, "out of memory decoding a CloudTrail event");

    if (ev->event_id.n) {
        nw_str parts[] = {NW_STR_LIT("aws"), ev->event_id};
        nw_hash128(parts, 2, ev->dedupe_id);
    }
    return 0;
}

const nw_provider_decoder nw_cloudtrail_decoder = {
    "cloudtrail", paths, P_COUNT, match, state_new, state_free, decode,
};
