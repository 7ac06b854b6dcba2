/* azure.c - Azure Activity Log decoder.
 *
 * One event reaches us in three shapes (docs/log-formats.md 1.2):
 *  (a) resource-log record (diagnostic setting -> Event Hubs / storage):
 *      time, operationName (string), resultType, resultSignature,
 *      identity{claims, authorization}, properties{eventCategory ...};
 *  (b) REST EventData (az monitor activity-log list): eventTimestamp,
 *      operationName/status/subStatus/category as {value, localizedValue},
 *      caller, claims, authorization, httpRequest, eventDataId;
 *  (c) Log Analytics AzureActivity: TimeGenerated, OperationNameValue,
 *      ActivityStatusValue, Caller, Claims_d or Claims (a JSON string),
 *      EventDataId. Its TenantId is the workspace, not the Entra tenant.
 * The same Event Hub also carries resource logs of other categories: Entra
 * ID logs (skipped), Key Vault AuditEvent (identity.claim, decoded: secret
 * reads are what NW_EV_SECRET_READ is for) and Storage data-plane logs
 * (identity.requester for OAuth callers, decoded; SAS / account key calls
 * have no identity and are skipped).
 *
 * One path set covers every shape. Fields whose JSON type differs between
 * shapes (operationName, category, claims) are requested whole and scanned
 * again, with path sets compiled once in state_new, only when they hold an
 * object or a JSON string. The hot shape (a) reads its claims directly.
 *
 * Choices not spelled out in the reference (see also the tests):
 *  - ServiceHealth, ResourceHealth, Alert, Autoscale and Recommendation
 *    records are skipped whatever they carry: the platform emits them.
 *  - Without tenant+object id the key is azure:<caller>; when the record has
 *    no caller (shape a) the caller ARM would have computed is used: the UPN
 *    claim, else the unique name, else a `name` claim that is an address.
 *  - error_code prefers the ARM error code inside properties.statusMessage
 *    (e.g. AuthorizationFailed) to resultSignature ("Failed.<x>" -> "<x>").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_hash.h"
#include "../core/nw_time.h"
#include "provider.h"

/* Claims we read, in the order of both claim path lists below. */
#define AZ_CLAIM_KEYS(X)                                                                          \
    X(C_OID_URI, "http:~1~1schemas.microsoft.com~1identity~1claims~1objectidentifier")           \
    X(C_OID, "oid")                                                                               \
    X(C_TID_URI, "http:~1~1schemas.microsoft.com~1identity~1claims~1tenantid")                   \
    X(C_TID, "tid")                                                                               \
    X(C_APPID, "appid")                                                                           \
    X(C_AZP, "azp")                                                                               \
    X(C_APPIDACR, "appidacr")                                                                     \
    X(C_AZPACR, "azpacr")                                                                         \
    X(C_IDTYP, "idtyp")                                                                           \
    X(C_MIRID, "xms_mirid")                                                                       \
    X(C_UPN_URI, "http:~1~1schemas.xmlsoap.org~1ws~12005~105~1identity~1claims~1upn")            \
    X(C_UPN, "upn")                                                                               \
    X(C_UNAME_URI, "http:~1~1schemas.xmlsoap.org~1ws~12005~105~1identity~1claims~1name")         \
    X(C_UNIQUE_NAME, "unique_name")                                                               \
    X(C_NAME, "name")                                                                             \
    X(C_IPADDR, "ipaddr")

#define AZ_CLAIM_ENUM(id, key) id,
#define AZ_CLAIM_PATH(id, key) key,
#define AZ_CLAIM_EH_PATH(id, key) "identity/claims/" key,

enum { AZ_CLAIM_KEYS(AZ_CLAIM_ENUM) C_COUNT };

enum {
    A_TIME,
    A_EVENT_TS,
    A_TIME_GEN,
    A_OPNAME,
    A_OPNAME_VALUE,
    A_CATEGORY,
    A_CATEGORY_VALUE,
    A_EVENT_CATEGORY,
    A_RESULT_TYPE,
    A_RESULT_SIG,
    A_STATUS,
    A_SUBSTATUS,
    A_ACT_STATUS,
    A_ACT_SUBSTATUS,
    A_PROP_STATUS_CODE,
    A_PROP_STATUS_MSG,
    A_PROP_HTTP_STATUS,
    A_PROP_OPID,
    A_PROP_UA,
    A_PROP_CLIENT_INFO,
    A_STATUS_CODE,
    A_STATUS_TEXT,
    A_OPID,
    A_RESOURCE_ID,
    A_LA_RESOURCE_ID,
    A_CORRELATION,
    A_EVENT_DATA_ID,
    A_SUBSCRIPTION,
    A_TENANT,
    A_CALLER,
    A_CALLER_IP,
    A_HTTP_IP,
    A_ID_AUTH_ACTION,
    A_ID_AUTH_SCOPE,
    A_ID_TYPE,
    A_ID_CLAIM,
    A_REQ_OID,
    A_REQ_TID,
    A_REQ_UPN,
    A_REQ_APPID,
    A_AUTH_ACTION,
    A_AUTH_SCOPE,
    A_LA_AUTH_ACTION,
    A_CLAIMS_TOP,
    A_CLAIMS_D,
    A_LOCATION,
    A_RESP_BODY,
    A_REQ_BODY,
    A_CLAIMS, /* C_COUNT claim paths under identity/claims follow */
    A_COUNT = A_CLAIMS + C_COUNT
};

/* Key matching is case-insensitive: "caller" also reads LA's "Caller",
 * "claims" LA's "Claims" string, "properties/..." nothing of LA's
 * "Properties" string (only objects are descended into). */
static const char *const paths[A_COUNT] = {
    [A_TIME] = "time",
    [A_EVENT_TS] = "eventTimestamp",
    [A_TIME_GEN] = "TimeGenerated",
    [A_OPNAME] = "operationName",
    [A_OPNAME_VALUE] = "OperationNameValue",
    [A_CATEGORY] = "category",
    [A_CATEGORY_VALUE] = "CategoryValue",
    [A_EVENT_CATEGORY] = "properties/eventCategory",
    [A_RESULT_TYPE] = "resultType",
    [A_RESULT_SIG] = "resultSignature",
    [A_STATUS] = "status/value",
    [A_SUBSTATUS] = "subStatus/value",
    [A_ACT_STATUS] = "ActivityStatusValue",
    [A_ACT_SUBSTATUS] = "ActivitySubstatusValue",
    [A_PROP_STATUS_CODE] = "properties/statusCode",
    [A_PROP_STATUS_MSG] = "properties/statusMessage",
    [A_PROP_HTTP_STATUS] = "properties/httpStatusCode",
    [A_PROP_OPID] = "properties/operationId",
    [A_PROP_UA] = "properties/userAgentHeader",
    [A_PROP_CLIENT_INFO] = "properties/clientInfo",
    [A_STATUS_CODE] = "statusCode",
    [A_STATUS_TEXT] = "statusText",
    [A_OPID] = "operationId",
    [A_RESOURCE_ID] = "resourceId",
    [A_LA_RESOURCE_ID] = "_ResourceId",
    [A_CORRELATION] = "correlationId",
    [A_EVENT_DATA_ID] = "eventDataId",
    [A_SUBSCRIPTION] = "subscriptionId",
    [A_TENANT] = "tenantId",
    [A_CALLER] = "caller",
    [A_CALLER_IP] = "callerIpAddress",
    [A_HTTP_IP] = "httpRequest/clientIpAddress",
    [A_ID_AUTH_ACTION] = "identity/authorization/action",
    [A_ID_AUTH_SCOPE] = "identity/authorization/scope",
    [A_ID_TYPE] = "identity/type",
    [A_ID_CLAIM] = "identity/claim",
    [A_REQ_OID] = "identity/requester/objectId",
    [A_REQ_TID] = "identity/requester/tenantId",
    [A_REQ_UPN] = "identity/requester/upn",
    [A_REQ_APPID] = "identity/requester/appId",
    [A_AUTH_ACTION] = "authorization/action",
    [A_AUTH_SCOPE] = "authorization/scope",
    [A_LA_AUTH_ACTION] = "Authorization_d/action",
    [A_CLAIMS_TOP] = "claims",
    [A_CLAIMS_D] = "Claims_d",
    [A_LOCATION] = "location",
    [A_RESP_BODY] = "properties/responseBody",
    [A_REQ_BODY] = "properties/requestbody",
    AZ_CLAIM_KEYS(AZ_CLAIM_EH_PATH)
};

static const char *const claim_paths[C_COUNT] = {AZ_CLAIM_KEYS(AZ_CLAIM_PATH)};
static const char *const value_paths[] = {"value"};
/* properties.statusMessage: {"error":{"code":..}} or {"Code":..} */
static const char *const errmsg_paths[] = {"error/code", "code"};
/* a role assignment's body (request or response): who receives the role */
static const char *const body_paths[] = {"properties/principalId"};

struct az_state {
    nw_jpaths *claims;
    nw_jpaths *value;
    nw_jpaths *errmsg;
    nw_jpaths *body;
};

static void state_free(void *state)
{
    struct az_state *st = state;
    if (!st)
        return;
    nw_jpaths_free(st->claims);
    nw_jpaths_free(st->value);
    nw_jpaths_free(st->errmsg);
    nw_jpaths_free(st->body);
    free(st);
}

static void *state_new(nw_err *err)
{
    struct az_state *st = calloc(1, sizeof(*st));
    if (!st) {
        nw_err_set(err, NW_DEC_E_NOMEM, "out of memory creating the Azure decoder");
        return NULL;
    }
    st->claims = nw_jpaths_new(claim_paths, C_COUNT, err);
    st->value = st->claims ? nw_jpaths_new(value_paths, 1, err) : NULL;
    st->errmsg = st->value ? nw_jpaths_new(errmsg_paths, 2, err) : NULL;
    st->body = st->errmsg ? nw_jpaths_new(body_paths, 1, err) : NULL;
    if (!st->body) {
        state_free(st);
        return NULL;
    }
    return st;
}

static bool present(const nw_jval *v) { return v->type != NW_J_ABSENT && v->type != NW_J_NULL; }

static bool match(const nw_jval *v)
{
    if (!present(&v[A_OPNAME]) && !present(&v[A_OPNAME_VALUE]))
        return false;
    /* the time is what the reference keys on; the ids let a record whose
     * time is missing be reported as such rather than as unknown format */
    return present(&v[A_TIME]) || present(&v[A_EVENT_TS]) || present(&v[A_TIME_GEN]) ||
           present(&v[A_RESOURCE_ID]) || present(&v[A_LA_RESOURCE_ID]) || present(&v[A_EVENT_DATA_ID]) ||
           present(&v[A_CORRELATION]);
}

/* ---- small string helpers ---- */

static nw_str first_str(const nw_jval *a, const nw_jval *b, const nw_jval *c)
{
    nw_str s = nw_str_trim(nw_jv_str(a));
    if (!s.n && b)
        s = nw_str_trim(nw_jv_str(b));
    if (!s.n && c)
        s = nw_str_trim(nw_jv_str(c));
    return s;
}

static bool has_lower(nw_str s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] >= 'a' && s.p[i] <= 'z')
            return true;
    return false;
}

static long ifind(nw_str a, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= a.n; i++)
        if (nw_str_ieqs(nw_str_mk(a.p + i, n), nw_str_mk(needle, n)))
            return (long)i;
    return -1;
}

static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static bool is_guid(nw_str s)
{
    if (s.n != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s.p[i] != '-' : !is_hex(s.p[i]))
            return false;
    }
    return true;
}

/* The segment after `/<marker>/`, case-insensitive, up to the next '/'. */
static nw_str segment_after(nw_str s, const char *marker)
{
    long i = ifind(s, marker);
    if (i < 0)
        return NW_STR_NULL;
    nw_str rest = nw_str_sub(s, (size_t)i + strlen(marker), s.n);
    long j = nw_str_chr(rest, '/');
    return j < 0 ? rest : nw_str_sub(rest, 0, (size_t)j);
}

/* Storage logs write "ip:port"; keep IPv6 literals whole. */
static nw_str strip_port(nw_str ip)
{
    if (ip.n && ip.p[0] == '[') {
        long j = nw_str_chr(ip, ']');
        return j > 1 ? nw_str_sub(ip, 1, (size_t)j - 1) : ip;
    }
    long c = nw_str_chr(ip, ':');
    if (c > 0 && nw_str_rchr(ip, ':') == c && nw_str_chr(ip, '.') > 0)
        return nw_str_sub(ip, 0, (size_t)c);
    return ip;
}

/* Lower-cased concatenation into the arena, in one allocation. */
static nw_str cat_lower(nw_arena *a, const nw_str *parts, size_t n)
{
    nw_str s = nw_cat(a, parts, n);
    if (s.p) {
        char *p = (char *)s.p;
        for (size_t i = 0; i < s.n; i++)
            if (p[i] >= 'A' && p[i] <= 'Z')
                p[i] = (char)(p[i] + 32);
    }
    return s;
}

static size_t num_of(nw_str s)
{
    size_t v = 0;
    if (!s.n || s.n > 6)
        return 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return 0;
        v = v * 10 + (size_t)(s.p[i] - '0');
    }
    return v;
}

static bool ieq_any(nw_str s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nw_str_ieq(s, list[i]))
            return true;
    return false;
}

#define IEQ_ANY(s, list) ieq_any((s), (list), sizeof(list) / sizeof((list)[0]))

/* ---- nested JSON ---- */

/* Scan JSON held in v (an object, or a string holding one) with ps. A value
 * that is neither, or not well-formed, reads as absent. */
static bool scan_nested(nw_decctx *dc, const nw_jval *v, const nw_jpaths *ps, nw_jval *out)
{
    nw_str s;
    if (v->type == NW_J_OBJECT) {
        s = v->s;
    } else if (v->type == NW_J_STRING) {
        s = nw_str_trim(v->s);
        if (!s.n || s.p[0] != '{')
            return false;
    } else {
        return false;
    }
    nw_err e;
    nw_err_clear(&e);
    return nw_jscan_doc(dc->js, s.p, s.n, s.n, ps, out, dc->arena, &e) == 0;
}

/* A string, or the `value` of a {value, localizedValue} object. */
static nw_str value_of(struct az_state *st, nw_decctx *dc, const nw_jval *v)
{
    if (v->type == NW_J_STRING)
        return nw_str_trim(v->s);
    nw_jval out[1];
    if (v->type == NW_J_OBJECT && scan_nested(dc, v, st->value, out))
        return nw_str_trim(nw_jv_str(&out[0]));
    return NW_STR_NULL;
}

/* ---- identity ---- */

typedef struct az_claims {
    nw_str oid, tid, appid, acr, idtyp, mirid, upn, uname, name, ipaddr;
} az_claims;

static void claims_from(const nw_jval *c, az_claims *out)
{
    out->oid = first_str(&c[C_OID_URI], &c[C_OID], NULL);
    out->tid = first_str(&c[C_TID_URI], &c[C_TID], NULL);
    out->appid = first_str(&c[C_APPID], &c[C_AZP], NULL);
    out->acr = nw_str_trim(nw_jv_text(&c[C_APPIDACR]));
    if (!out->acr.n)
        out->acr = nw_str_trim(nw_jv_text(&c[C_AZPACR]));
    out->idtyp = first_str(&c[C_IDTYP], NULL, NULL);
    out->mirid = first_str(&c[C_MIRID], NULL, NULL);
    out->upn = first_str(&c[C_UPN_URI], &c[C_UPN], NULL);
    out->uname = first_str(&c[C_UNAME_URI], &c[C_UNIQUE_NAME], NULL);
    out->name = first_str(&c[C_NAME], NULL, NULL);
    out->ipaddr = first_str(&c[C_IPADDR], NULL, NULL);
}

static bool any_present(const nw_jval *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].type != NW_J_ABSENT)
            return true;
    return false;
}

/* Where the claims are: shape (a) in the main scan; Key Vault's
 * identity.claim, LA's Claims_d / Claims string and REST claims scanned
 * again. Returns false when a claims value was there but unreadable. */
static bool find_claims(struct az_state *st, nw_decctx *dc, const nw_jval *v, nw_jval *buf, az_claims *c)
{
    memset(c, 0, sizeof(*c));
    if (any_present(v + A_CLAIMS, C_COUNT)) {
        claims_from(v + A_CLAIMS, c);
        return true;
    }
    const nw_jval *src[] = {&v[A_ID_CLAIM], &v[A_CLAIMS_D], &v[A_CLAIMS_TOP]};
    bool seen = false;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        if (src[i]->type != NW_J_OBJECT && src[i]->type != NW_J_STRING)
            continue;
        if (src[i]->type == NW_J_STRING && !nw_str_trim(src[i]->s).n)
            continue;
        seen = true;
        if (scan_nested(dc, src[i], st->claims, buf)) {
            claims_from(buf, c);
            return true;
        }
    }
    /* Storage data-plane: identity.requester of an OAuth caller */
    c->oid = first_str(&v[A_REQ_OID], NULL, NULL);
    c->tid = first_str(&v[A_REQ_TID], NULL, NULL);
    c->upn = first_str(&v[A_REQ_UPN], NULL, NULL);
    c->appid = first_str(&v[A_REQ_APPID], NULL, NULL);
    return !seen;
}

enum az_type { T_UNKNOWN, T_USER, T_SP, T_MI };

static const char *const type_names[] = {"unknown", "user", "service_principal", "managed_identity"};

/* docs 2.2 classification order */
static int classify(const az_claims *c, nw_str caller)
{
    bool human = c->upn.n || c->uname.n || c->name.n;
    if (c->mirid.n)
        return T_MI;
    if (nw_str_ieq(c->idtyp, "app"))
        return T_SP;
    if (!human && (nw_str_eq(c->acr, "1") || nw_str_eq(c->acr, "2")))
        return T_SP;
    if (human || nw_str_ieq(c->idtyp, "user"))
        return T_USER;
    if (is_guid(caller))
        return T_SP;
    if (nw_str_chr(caller, '@') > 0)
        return T_USER;
    if (c->appid.n && !caller.n)
        return T_SP; /* storage requester with an app id and no UPN */
    return T_UNKNOWN;
}

/* ---- categories ---- */

static const char *const entra_categories[] = {
    "SignInLogs",           "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs", "AuditLogs",               "ProvisioningLogs",
    "ADFSSignInLogs",       "RiskyUsers",                   "UserRiskEvents",
    "RiskyServicePrincipals", "ServicePrincipalRiskEvents", "MicrosoftGraphActivityLogs",
    "NetworkAccessTrafficLogs", "EnrichedOffice365AuditLogs", "B2CRequestLogs",
};

static const char *const platform_categories[] = {
    "ServiceHealth", "ResourceHealth", "Alert", "Autoscale", "Recommendation",
};

/* ---- outcome ---- */

static const char *const deny_words[] = {
    "Forbidden",
    "Unauthorized",
    "AuthorizationFailed",
    "LinkedAuthorizationFailed",
    "AuthorizationPermissionMismatch",
    "AuthorizationFailure",
    "InvalidAuthenticationToken",
    "AuthenticationFailed",
    "403",
    "401",
};

/* "Failed.Forbidden" -> "Forbidden" */
static nw_str after_dot(nw_str s)
{
    long d = nw_str_rchr(s, '.');
    return d >= 0 ? nw_str_sub(s, (size_t)d + 1, s.n) : s;
}

static bool is_denial(nw_str s) { return s.n && (IEQ_ANY(after_dot(s), deny_words) || IEQ_ANY(s, deny_words)); }

static const char *const partial_status[] = {"Start", "Started", "Accept", "Accepted", "InProgress"};

/* ---- flags ---- */

static const char *const privileged_prefixes[] = {
    "Microsoft.Authorization/roleAssignments/",
    "Microsoft.Authorization/roleDefinitions/",
    "Microsoft.Authorization/roleAssignmentScheduleRequests/",
    "Microsoft.Authorization/roleEligibilityScheduleRequests/",
    "Microsoft.Authorization/elevateAccess/",
    "Microsoft.ManagedIdentity/userAssignedIdentities/",
};

static const char *const privileged_suffixes[] = {
    "/federatedIdentityCredentials/write",
    "/federatedIdentityCredentials/delete",
    "/regenerateKey/action",
    "/regenerateKeys/action",
    "/regenerateAccessKey/action",
};

static const char *const secret_suffixes[] = {
    "/listKeys/action",
    "/listAccountSas/action",
    "/listServiceSas/action",
    "/config/list/action",
    "/listConnectionStrings/action",
    "/listCredentials/action",
    "/listSecrets/action",
    "/listClusterAdminCredential/action",
    "/listClusterUserCredential/action",
};

static unsigned flags_of(nw_str action)
{
    unsigned f = 0;
    bool read = nw_str_iends(action, "/read");
    for (size_t i = 0; !read && i < sizeof(privileged_prefixes) / sizeof(privileged_prefixes[0]); i++)
        if (nw_str_istarts(action, privileged_prefixes[i]))
            f |= NW_EV_PRIVILEGED;
    for (size_t i = 0; i < sizeof(privileged_suffixes) / sizeof(privileged_suffixes[0]); i++)
        if (nw_str_iends(action, privileged_suffixes[i]))
            f |= NW_EV_PRIVILEGED;
    for (size_t i = 0; i < sizeof(secret_suffixes) / sizeof(secret_suffixes[0]); i++)
        if (nw_str_iends(action, secret_suffixes[i]))
            f |= NW_EV_SECRET_READ;
    if (nw_str_ieq(action, "SecretGet")) /* Key Vault AuditEvent */
        f |= NW_EV_SECRET_READ;
    return f;
}

/* Data-plane operation names (GetBlob, SecretGet, ListBlobs ...). */
static bool reads(nw_str op)
{
    static const char *const pre[] = {"Get", "List", "Query", "Read", "Head", "Check"};
    static const char *const suf[] = {"Get", "List", "ListVersions", "ListDeleted", "GetDeleted"};
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (nw_str_istarts(op, pre[i]))
            return true;
    for (size_t i = 0; i < sizeof(suf) / sizeof(suf[0]); i++)
        if (nw_str_iends(op, suf[i]))
            return true;
    return false;
}

#define PRI(s) (int)((s).n > 120 ? 120 : (s).n), (s).p ? (s).p : ""

static int decode(void *state, nw_decctx *dc, const nw_jval *v, nw_event *ev, nw_err *err)
{
    struct az_state *st = state;
    nw_arena *ar = dc->arena;
    bool la = present(&v[A_TIME_GEN]) || present(&v[A_OPNAME_VALUE]);

    nw_str op = value_of(st, dc, &v[A_OPNAME]);
    if (!op.n)
        op = nw_str_trim(nw_jv_str(&v[A_OPNAME_VALUE]));
    nw_str cat = nw_str_trim(nw_jv_str(&v[A_EVENT_CATEGORY]));
    if (!cat.n)
        cat = value_of(st, dc, &v[A_CATEGORY]);
    if (!cat.n)
        cat = nw_str_trim(nw_jv_str(&v[A_CATEGORY_VALUE]));

    /* route on category before touching identity (a string in Entra logs) */
    if (IEQ_ANY(cat, entra_categories)) {
        nw_err_set(err, 0, "Entra ID %.*s record", PRI(cat));
        return NW_DEC_SKIP;
    }
    if (IEQ_ANY(cat, platform_categories)) {
        nw_err_set(err, 0, "Azure Activity %.*s record '%.*s': emitted by the platform, not an identity's call",
                   PRI(cat), PRI(op));
        return NW_DEC_SKIP;
    }
    if (!op.n)
        return nw_err_set(err, NW_DEC_E_FIELD, "Azure record: operationName is not a string or {value} object");
    bool arm = nw_str_chr(op, '/') > 0;
    if (!cat.n) /* absent means Administrative for ARM operations (docs 1.2) */
        cat = arm ? NW_STR_LIT("Administrative") : NW_STR_LIT("resource log");

    /* time */
    const nw_jval *tv = present(&v[A_TIME]) ? &v[A_TIME] : present(&v[A_EVENT_TS]) ? &v[A_EVENT_TS] : &v[A_TIME_GEN];
    if (!present(tv))
        return nw_err_set(err, NW_DEC_E_TIME, "Azure record '%.*s' has no time (time, eventTimestamp, TimeGenerated)",
                          PRI(op));
    if (tv->type != NW_J_STRING || nw_time_parse(tv->s, &ev->time_us))
        return nw_err_set(err, NW_DEC_E_TIME, "Azure record '%.*s': time '%.*s' is not an RFC 3339 timestamp",
                          PRI(op), PRI(nw_jv_text(tv)));

    /* identity */
    nw_jval cbuf[C_COUNT];
    az_claims c;
    bool claims_ok = find_claims(st, dc, v, cbuf, &c);
    nw_str caller = nw_str_trim(nw_jv_str(&v[A_CALLER]));
    nw_str tenant = c.tid;
    if (!tenant.n && !la) /* LA's TenantId is the workspace */
        tenant = first_str(&v[A_TENANT], NULL, NULL);
    nw_str named = c.upn.n ? c.upn : c.uname.n ? c.uname : nw_str_chr(c.name, '@') > 0 ? c.name : NW_STR_NULL;
    int type = classify(&c, caller.n ? caller : named);

    if (c.oid.n && tenant.n) {
        nw_str parts[] = {NW_STR_LIT("azure:"), tenant, NW_STR_LIT("/"), c.oid};
        ev->identity_key = cat_lower(ar, parts, 4);
    } else if (caller.n || named.n) {
        nw_str parts[] = {NW_STR_LIT("azure:"), caller.n ? caller : named};
        ev->identity_key = cat_lower(ar, parts, 2);
    } else {
        nw_str idtype = nw_str_trim(nw_jv_str(&v[A_ID_TYPE]));
        if (!arm && idtype.n) {
            nw_err_set(err, 0, "Azure %.*s request '%.*s' authenticated by %.*s: no Entra identity to attribute",
                       PRI(cat), PRI(op), PRI(idtype));
            return NW_DEC_SKIP;
        }
        return nw_err_set(err, NW_DEC_E_IDENTITY, "Azure %.*s record '%.*s' has no identity (%s, no caller)",
                          PRI(cat), PRI(op), claims_ok ? "no usable claims" : "claims are not a JSON object");
    }
    if (!ev->identity_key.p)
        return nw_err_set(err, NW_DEC_E_NOMEM, "out of memory");

    ev->provider = NW_PROV_AZURE;
    ev->identity_type = nw_str_c(type_names[type]);
    ev->kind = type == T_USER ? NW_KIND_HUMAN : type == T_UNKNOWN ? NW_KIND_UNKNOWN : NW_KIND_NON_HUMAN;
    if (type == T_MI) {
        long s = nw_str_rchr(c.mirid, '/');
        ev->display_name = s >= 0 ? nw_str_sub(c.mirid, (size_t)s + 1, c.mirid.n) : c.mirid;
    } else if (type == T_USER) {
        ev->display_name = c.upn.n ? c.upn : c.uname.n ? c.uname : c.name.n ? c.name : caller;
    } else {
        ev->display_name = c.appid.n ? c.appid : caller;
    }
    ev->tenant = nw_lower(ar, tenant);
    if (type == T_SP || type == T_MI) {
        ev->credential_id = c.appid;
        ev->cred_kind = nw_str_eq(c.acr, "1") ? NW_CRED_AZURE_SECRET
                        : nw_str_eq(c.acr, "2") ? NW_CRED_AZURE_CERT
                                                : NW_CRED_NONE;
    }

    /* what, where */
    nw_str rid = first_str(&v[A_RESOURCE_ID], &v[A_LA_RESOURCE_ID], NULL);
    if (!rid.n) /* REST records may carry only the authorization scope */
        rid = first_str(&v[A_ID_AUTH_SCOPE], &v[A_AUTH_SCOPE], NULL);
    nw_str sub = segment_after(rid, "/subscriptions/");
    if (!sub.n)
        sub = first_str(&v[A_SUBSCRIPTION], NULL, NULL);
    ev->account = nw_lower(ar, sub);
    nw_str perm = first_str(&v[A_ID_AUTH_ACTION], &v[A_AUTH_ACTION], &v[A_LA_AUTH_ACTION]);
    ev->permission = perm;
    ev->action = (perm.n && !has_lower(op) && nw_str_ieqs(op, perm)) ? perm : op;
    if (arm) {
        ev->service = nw_str_sub(ev->action, 0, (size_t)nw_str_chr(ev->action, '/'));
        ev->access = nw_str_iends(op, "/read") ? NW_ACCESS_READ : NW_ACCESS_WRITE;
    } else {
        ev->service = segment_after(rid, "/providers/");
        ev->access = nw_str_ieq(cat, "StorageWrite") || nw_str_ieq(cat, "StorageDelete") ? NW_ACCESS_WRITE
                     : nw_str_ieq(cat, "StorageRead") || reads(op)                        ? NW_ACCESS_READ
                                                                                          : NW_ACCESS_WRITE;
    }
    ev->resource = rid;
    ev->region = first_str(&v[A_LOCATION], NULL, NULL);
    ev->source_ip = strip_port(first_str(&v[A_CALLER_IP], &v[A_HTTP_IP], NULL));
    if (!ev->source_ip.n)
        ev->source_ip = c.ipaddr;
    ev->user_agent = first_str(&v[A_PROP_UA], &v[A_PROP_CLIENT_INFO], NULL);
    ev->flags = (uint16_t)flags_of(ev->action);

    /* outcome and phase */
    nw_str status = first_str(&v[A_RESULT_TYPE], &v[A_STATUS], &v[A_ACT_STATUS]);
    nw_str substatus = nw_str_trim(nw_jv_text(&v[A_RESULT_SIG]));
    if (!substatus.n)
        substatus = first_str(&v[A_SUBSTATUS], &v[A_ACT_SUBSTATUS], NULL);
    nw_str pcode = nw_str_trim(nw_jv_text(&v[A_PROP_STATUS_CODE]));
    nw_str stext = nw_str_trim(nw_jv_str(&v[A_STATUS_TEXT]));
    nw_str http_s = num_of(pcode) ? pcode : nw_str_trim(nw_jv_text(&v[A_STATUS_CODE]));
    if (!num_of(http_s))
        http_s = nw_str_trim(nw_jv_text(&v[A_PROP_HTTP_STATUS]));
    size_t http = num_of(http_s);
    bool partial = IEQ_ANY(status, partial_status);
    ev->phase = partial ? NW_PHASE_PARTIAL : NW_PHASE_COMPLETE;
    bool fail = nw_str_istarts(status, "fail") || nw_str_istarts(status, "cancel");
    /* Key Vault and Storage say Success for a refused call and put the
     * refusal in the HTTP status / result signature */
    if (!partial && !fail && (http >= 400 || is_denial(substatus) || is_denial(pcode)))
        fail = true;
    if (fail) {
        nw_str errcode = NW_STR_NULL;
        nw_jval em[2];
        if (scan_nested(dc, &v[A_PROP_STATUS_MSG], st->errmsg, em))
            errcode = first_str(&em[0], &em[1], NULL);
        bool denied = is_denial(errcode) || is_denial(substatus) || is_denial(pcode) || is_denial(stext) ||
                      http == 401 || http == 403;
        ev->outcome = denied ? NW_OUT_DENIED : NW_OUT_FAILURE;
        ev->error_code = errcode.n ? errcode : nw_str_istarts(substatus, "Failed.") ? after_dot(substatus) : substatus;
        if (!ev->error_code.n)
            ev->error_code = stext.n ? stext : pcode.n ? pcode : http_s;
        if (!ev->error_code.n)
            ev->error_code = status;
    }

    /* a role assignment names the principal that receives the role: the
     * caller is that identity's probable owner (lifecycle, analyze/store.c) */
    if (ev->outcome == NW_OUT_SUCCESS && ev->tenant.n && nw_str_iends(op, "roleAssignments/write")) {
        const nw_jval *bv = present(&v[A_RESP_BODY]) ? &v[A_RESP_BODY] : &v[A_REQ_BODY];
        if (bv->type == NW_J_STRING || bv->type == NW_J_OBJECT) {
            nw_jval pv[1];
            nw_err berr;
            nw_err_clear(&berr);
            if (nw_jscan_doc(dc->js, bv->s.p, bv->s.n, bv->s.n, st->body, pv, ar, &berr) == 0 &&
                pv[0].type == NW_J_STRING && pv[0].s.n) {
                nw_str parts[] = {NW_STR_LIT("azure:"), nw_lower(ar, ev->tenant), NW_STR_LIT("/"),
                                  nw_lower(ar, pv[0].s)};
                ev->target_key = nw_cat(ar, parts, 4);
            }
        }
    }

    /* ids: eventDataId (REST / LA) or the documented composite */
    nw_str corr = first_str(&v[A_CORRELATION], NULL, NULL);
    nw_str edid = first_str(&v[A_EVENT_DATA_ID], NULL, NULL);
    nw_str lop = nw_lower(ar, op), lrid = nw_lower(ar, rid), lcorr = nw_lower(ar, corr);
    if ((op.n && !lop.p) || (rid.n && !lrid.p) || (corr.n && !lcorr.p))
        return nw_err_set(err, NW_DEC_E_NOMEM, "out of memory");
    if (corr.n) {
        nw_str parts[] = {lcorr, NW_STR_LIT("|"), lop, NW_STR_LIT("|"), lrid};
        ev->op_key = nw_cat(ar, parts, 5);
    }
    if (edid.n) {
        nw_str ledid = nw_lower(ar, edid);
        nw_str parts[] = {NW_STR_LIT("azure"), ledid};
        nw_hash128(parts, 2, ev->dedupe_id);
        ev->event_id = edid;
    } else {
        char tbuf[32];
        snprintf(tbuf, sizeof(tbuf), "%lld", (long long)ev->time_us);
        nw_str opid = first_str(&v[A_PROP_OPID], &v[A_OPID], NULL);
        nw_str parts[] = {NW_STR_LIT("azure"), nw_str_c(tbuf), lrid, lop, corr, opid, status};
        nw_hash128(parts, 7, ev->dedupe_id);
        ev->event_id = corr;
    }
    return 0;
}

const nw_provider_decoder nw_azure_decoder = {
    "azure", paths, A_COUNT, match, state_new, state_free, decode,
};
