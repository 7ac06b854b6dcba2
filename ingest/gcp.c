/* gcp.c - GCP Cloud Audit Logs decoder (LogEntry with an AuditLog protoPayload).
 *
 * The identity is protoPayload.authenticationInfo: principalEmail, else
 * principalSubject with its `user:` / `serviceAccount:` prefix stripped
 * (`principal://...` federation subjects are kept whole). The email pattern
 * says what the principal is (docs/log-formats.md 2.3): user-managed service
 * account, Google-managed service agent, or a person. serviceAccountDelegationInfo
 * (an array, scanned again with a path set compiled once) says who stood
 * behind a service account: the originating person or service account
 * becomes origin_key; service agents there are the platform running a
 * workload (NW_EV_VIA_SERVICE), not an origin.
 *
 * Choices not spelled out in the reference (see also the tests):
 *  - GKE audit principals (`system:serviceaccount:<ns>:<name>`,
 *    `system:node:<node>`, other `system:*`) are not Google identities and
 *    repeat in every cluster, so their key is scoped to the cluster:
 *    `gke:<project>/<location>/<cluster>/<principal>`; `system:anonymous`
 *    is skipped (an unauthenticated request has no identity to attribute).
 *  - A missing timestamp falls back to receiveTimestamp, as Logging itself
 *    does when it stores an entry.
 *  - A LogEntry that is not an audit log (another payload @type, the
 *    access_transparency log, no protoPayload) is skipped, not an error.
 *  - An audit entry that names no caller (authenticationInfo empty or
 *    absent) is skipped and counted, not an error: the proto makes the field
 *    optional and leaves it empty for anonymous and redacted callers.
 *  - The outcome comes from status alone: authorizationInfo granted:false
 *    appears on calls that succeeded (compute aggregatedList checks every
 *    zone; Elastic's sample returns 71 items with granted:false).
 *  - account is the project id; for organization / folder / billing-account
 *    logs it is the logName parent as written ("organizations/123").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_hash.h"
#include "../core/nw_time.h"
#include "provider.h"

enum {
    G_TYPE,
    G_SERVICE,
    G_METHOD,
    G_RESNAME,
    G_STATUS_CODE,
    G_EMAIL,
    G_SUBJECT,
    G_KEYNAME,
    G_DELEG,
    G_AUTHZ,
    G_CALLER_IP,
    G_UA,
    G_LOCS,
    G_LOGNAME,
    G_TS,
    G_RECV_TS,
    G_INSERT_ID,
    G_PROJECT,
    G_LOCATION,
    G_ZONE,
    G_REGION,
    G_CLUSTER,
    G_OP_ID,
    G_OP_FIRST,
    G_OP_LAST,
    G_EMAIL_ID,
    G_RESP_NAME,
    G_RESP_EMAIL,
    G_COUNT
};

static const char *const paths[G_COUNT] = {
    [G_TYPE] = "protoPayload/@type",
    [G_SERVICE] = "protoPayload/serviceName",
    [G_METHOD] = "protoPayload/methodName",
    [G_RESNAME] = "protoPayload/resourceName",
    [G_STATUS_CODE] = "protoPayload/status/code",
    [G_EMAIL] = "protoPayload/authenticationInfo/principalEmail",
    [G_SUBJECT] = "protoPayload/authenticationInfo/principalSubject",
    [G_KEYNAME] = "protoPayload/authenticationInfo/serviceAccountKeyName",
    [G_DELEG] = "protoPayload/authenticationInfo/serviceAccountDelegationInfo",
    [G_AUTHZ] = "protoPayload/authorizationInfo",
    [G_CALLER_IP] = "protoPayload/requestMetadata/callerIp",
    [G_UA] = "protoPayload/requestMetadata/callerSuppliedUserAgent",
    [G_LOCS] = "protoPayload/resourceLocation/currentLocations",
    [G_LOGNAME] = "logName",
    [G_TS] = "timestamp",
    [G_RECV_TS] = "receiveTimestamp",
    [G_INSERT_ID] = "insertId",
    [G_PROJECT] = "resource/labels/project_id",
    [G_LOCATION] = "resource/labels/location",
    [G_ZONE] = "resource/labels/zone",
    [G_REGION] = "resource/labels/region",
    [G_CLUSTER] = "resource/labels/cluster_name",
    [G_OP_ID] = "operation/id",
    [G_OP_FIRST] = "operation/first",
    [G_OP_LAST] = "operation/last",
    [G_EMAIL_ID] = "resource/labels/email_id",
    [G_RESP_NAME] = "protoPayload/response/name",
    [G_RESP_EMAIL] = "protoPayload/response/email",
};

/* serviceAccountDelegationInfo[] and authorizationInfo[] elements */
static const char *const deleg_paths[] = {"firstPartyPrincipal/principalEmail", "principalSubject"};
static const char *const authz_paths[] = {"permission", "permissionType"};

struct gcp_state {
    nw_jpaths *deleg;
    nw_jpaths *authz;
};

static void state_free(void *state)
{
    struct gcp_state *st = state;
    if (!st)
        return;
    nw_jpaths_free(st->deleg);
    nw_jpaths_free(st->authz);
    free(st);
}

static void *state_new(nw_err *err)
{
    struct gcp_state *st = calloc(1, sizeof(*st));
    if (!st) {
        nw_err_set(err, NW_DEC_E_NOMEM, "out of memory creating the GCP decoder");
        return NULL;
    }
    st->deleg = nw_jpaths_new(deleg_paths, 2, err);
    st->authz = st->deleg ? nw_jpaths_new(authz_paths, 2, err) : NULL;
    if (!st->authz) {
        state_free(st);
        return NULL;
    }
    return st;
}

static bool present(const nw_jval *v) { return v->type != NW_J_ABSENT && v->type != NW_J_NULL; }

/* Any of the protoPayload paths (the object itself cannot be asked for:
 * a path may not be both a value and a prefix). */
static bool has_proto(const nw_jval *v)
{
    for (int i = G_TYPE; i <= G_LOCS; i++)
        if (v[i].type != NW_J_ABSENT)
            return true;
    return false;
}

static bool match(const nw_jval *v)
{
    return has_proto(v) || (v[G_LOGNAME].type == NW_J_STRING && (present(&v[G_INSERT_ID]) || present(&v[G_TS])));
}

/* ---- helpers ---- */

static nw_str sv(const nw_jval *v) { return nw_str_trim(nw_jv_str(v)); }

/* A zone (us-east4-c) names its region (us-east4) plus a letter: the region
 * is what "new region" means, a new zone of a known region is not. */
static nw_str zone_region(nw_str z)
{
    if (z.n >= 5 && z.p[z.n - 2] == '-' && z.p[z.n - 1] >= 'a' && z.p[z.n - 1] <= 'z' && z.p[z.n - 3] >= '0' &&
        z.p[z.n - 3] <= '9')
        return nw_str_sub(z, 0, z.n - 2);
    return z;
}

static long ifind(nw_str a, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; n && i + n <= a.n; i++)
        if (nw_str_ieqs(nw_str_mk(a.p + i, n), nw_str_mk(needle, n)))
            return (long)i;
    return -1;
}

static nw_str after(nw_str s, size_t off) { return nw_str_sub(s, off, s.n); }

static bool all_digits(nw_str s)
{
    if (!s.n)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

static bool in_list(nw_str s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nw_str_ieq(s, list[i]))
            return true;
    return false;
}

#define IN_LIST(s, list) in_list((s), (list), sizeof(list) / sizeof((list)[0]))
#define PRI(s) (int)((s).n > 120 ? 120 : (s).n), (s).p ? (s).p : ""

/* ---- principals ---- */

enum g_type {
    T_UNKNOWN,
    T_USER,
    T_SA,
    T_AGENT,
    T_WIF,
    T_WORKFORCE,
    T_K8S_SA,
    T_K8S_NODE,
    T_K8S_SYSTEM,
    T_ANONYMOUS,
};

static const char *const type_names[] = {
    [T_UNKNOWN] = "unknown",        [T_USER] = "user",         [T_SA] = "service_account",
    [T_AGENT] = "service_agent",    [T_WIF] = "workload_identity", [T_WORKFORCE] = "user",
    [T_K8S_SA] = "k8s_service_account", [T_K8S_NODE] = "k8s_node", [T_K8S_SYSTEM] = "k8s_system",
    [T_ANONYMOUS] = "unknown",
};

/* `<label>.iam.gserviceaccount.com` domains that belong to Google, not to
 * a project (docs 2.3 and the service agents reference). */
static const char *const agent_labels[] = {
    "compute-system",          "container-engine-robot", "gcf-admin-robot",
    "serverless-robot-prod",   "gs-project-accounts",    "cloud-ml.google.com",
    "dataflow-service-producer-prod", "cloudcomposer-accounts", "containerregistry",
    "dataproc-accounts",       "genomics-api.google.com", "firebase-rules",
    "sourcerepo-service-accounts", "cloud-filer",        "cloud-redis",
    "cloud-tpu",               "gae-api-prod.google.com", "cloudbuild",
};

/* service-<N>, service-org-<N>, service-folder-<N> */
static bool agent_local(nw_str local)
{
    if (!nw_str_starts(local, "service-"))
        return false;
    nw_str rest = after(local, 8);
    if (nw_str_starts(rest, "org-"))
        rest = after(rest, 4);
    else if (nw_str_starts(rest, "folder-"))
        rest = after(rest, 7);
    return all_digits(rest);
}

static int classify_email(nw_str e)
{
    if (nw_str_istarts(e, "system:anonymous") || nw_str_istarts(e, "system:unauthenticated"))
        return T_ANONYMOUS;
    if (nw_str_istarts(e, "system:serviceaccount:"))
        return T_K8S_SA;
    if (nw_str_istarts(e, "system:node:"))
        return T_K8S_NODE;
    if (nw_str_istarts(e, "system:"))
        return T_K8S_SYSTEM;
    long at = nw_str_rchr(e, '@');
    if (at <= 0)
        return nw_str_iends(e, ".gserviceaccount.com") ? T_SA : T_UNKNOWN;
    nw_str local = nw_str_sub(e, 0, (size_t)at), dom = after(e, (size_t)at + 1);
    if (nw_str_iends(dom, ".svc.id.goog"))
        return T_WIF;
    if (!nw_str_ieq(dom, "gserviceaccount.com") && !nw_str_iends(dom, ".gserviceaccount.com"))
        return T_USER;
    if (nw_str_ieq(dom, "developer.gserviceaccount.com") || nw_str_ieq(dom, "appspot.gserviceaccount.com"))
        return T_SA; /* Compute Engine / App Engine default service accounts */
    if (nw_str_iends(dom, ".iam.gserviceaccount.com")) {
        nw_str label = nw_str_sub(dom, 0, dom.n - strlen(".iam.gserviceaccount.com"));
        if (nw_str_istarts(label, "gcp-sa-") || IN_LIST(label, agent_labels) || agent_local(local))
            return T_AGENT;
        return T_SA;
    }
    /* cloudservices, cloudbuild, system and other Google-owned domains */
    return T_AGENT;
}

/* principalSubject: strip `user:` / `serviceAccount:`; federation subjects
 * stay whole. */
static nw_str strip_subject(nw_str s)
{
    if (nw_str_istarts(s, "serviceAccount:"))
        return nw_str_trim(after(s, 15));
    if (nw_str_istarts(s, "user:"))
        return nw_str_trim(after(s, 5));
    return s;
}

static int classify_subject(nw_str stripped)
{
    if (nw_str_istarts(stripped, "principal://") || nw_str_istarts(stripped, "principalSet://")) {
        if (ifind(stripped, "/workforcePools/") >= 0)
            return T_WORKFORCE;
        if (ifind(stripped, "/workloadIdentityPools/") >= 0)
            return T_WIF;
        return T_UNKNOWN;
    }
    if (ifind(stripped, ".svc.id.goog[") >= 0)
        return T_WIF; /* GKE workload identity, legacy subject format */
    return classify_email(stripped);
}

/* Federation subjects are case-sensitive; emails are not. */
static bool lower_key(nw_str s) { return !nw_str_istarts(s, "principal"); }

/* ---- nested arrays ---- */

struct deleg_ctx {
    nw_str human;  /* last person in the chain */
    nw_str other;  /* last service account / federated principal */
    bool agent;    /* a service agent ran the workload */
};

static int deleg_cb(void *ctx, size_t idx, const nw_jval *v)
{
    struct deleg_ctx *d = ctx;
    nw_str who = sv(&v[0]);
    int t = T_UNKNOWN;
    if (who.n) {
        t = classify_email(who);
    } else {
        who = strip_subject(sv(&v[1]));
        if (who.n)
            t = classify_subject(who);
    }
    (void)idx;
    if (!who.n) /* `{}`: WIF token exchange leaves an empty element */
        return 0;
    if (t == T_AGENT)
        d->agent = true;
    else if (t == T_USER || t == T_WORKFORCE)
        d->human = who;
    else if (t != T_ANONYMOUS)
        d->other = who;
    return 0;
}

struct authz_ctx {
    nw_str permission, permission_type;
};

/* The first element that names a permission says what was checked. */
static int authz_cb(void *ctx, size_t idx, const nw_jval *v)
{
    struct authz_ctx *a = ctx;
    (void)idx;
    if (!a->permission_type.n)
        a->permission_type = sv(&v[1]);
    a->permission = sv(&v[0]);
    return a->permission.n ? 1 : 0;
}

/* First string of a JSON array of plain strings, without a scan: region
 * names need no unescaping; anything else reads as absent. */
static nw_str first_array_string(const nw_jval *v)
{
    if (v->type != NW_J_ARRAY)
        return NW_STR_NULL;
    nw_str s = nw_str_trim(v->s);
    size_t i = 1;
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\n' || s.p[i] == '\r' || s.p[i] == '\t'))
        i++;
    if (i >= s.n || s.p[i] != '"')
        return NW_STR_NULL;
    size_t b = ++i;
    while (i < s.n && s.p[i] != '"') {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return NW_STR_NULL;
        i++;
    }
    return i < s.n ? nw_str_mk(s.p + b, i - b) : NW_STR_NULL;
}

/* ---- outcome ---- */

static const char *const rpc_codes[] = {
    "OK",        "CANCELLED",           "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",     "INTERNAL", "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED",
};

static void outcome(const nw_jval *code, nw_event *ev)
{
    nw_str c = nw_str_trim(nw_jv_text(code));
    if (!c.n || nw_str_eq(c, "0") || nw_str_ieq(c, "OK"))
        return;
    if (all_digits(c)) {
        unsigned n = 0;
        for (size_t i = 0; i < c.n && n < 1000; i++)
            n = n * 10 + (unsigned)(c.p[i] - '0');
        if (n == 0)
            return;
        ev->outcome = (n == 7 || n == 16) ? NW_OUT_DENIED : NW_OUT_FAILURE;
        ev->error_code = n < sizeof(rpc_codes) / sizeof(rpc_codes[0]) ? nw_str_c(rpc_codes[n]) : c;
        return;
    }
    ev->outcome = nw_str_ieq(c, "PERMISSION_DENIED") || nw_str_ieq(c, "UNAUTHENTICATED") ? NW_OUT_DENIED
                                                                                          : NW_OUT_FAILURE;
    ev->error_code = c;
}

/* ---- action classes ---- */

/* The last dotted segment: google.iam.admin.v1.CreateServiceAccountKey -> CreateServiceAccountKey */
static nw_str method_verb(nw_str m)
{
    long d = nw_str_rchr(m, '.');
    return d >= 0 ? after(m, (size_t)d + 1) : m;
}

static bool read_verb(nw_str verb)
{
    /* CloudResourceManagerOrganizationsV3Service-SearchOrganizations */
    long dash = nw_str_rchr(verb, '-');
    if (dash >= 0)
        verb = after(verb, (size_t)dash + 1);
    static const char *const pre[] = {"get",   "list",   "search", "query", "aggregatedList", "read",  "check",
                                      "lookup", "batchGet", "test", "describe", "watch",         "fetch", "preview"};
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (nw_str_istarts(verb, pre[i]))
            return true;
    return false;
}

static unsigned flags_of(nw_str service, nw_str verb)
{
    static const char *const iam_writes[] = {"Create", "Delete", "Undelete", "Disable", "Enable",
                                             "Patch",  "Update", "Upload",   "Set"};
    static const char *const secret[] = {"GenerateAccessToken", "GenerateIdToken", "SignBlob", "SignJwt",
                                         "CreateServiceAccountKey", "AccessSecretVersion"};
    unsigned f = 0;
    if (nw_str_ieq(service, "iam.googleapis.com"))
        for (size_t i = 0; i < sizeof(iam_writes) / sizeof(iam_writes[0]); i++)
            if (nw_str_istarts(verb, iam_writes[i]))
                f |= NW_EV_PRIVILEGED;
    if (nw_str_ieq(verb, "SetIamPolicy") || nw_str_ieq(verb, "setIamPermissions"))
        f |= NW_EV_PRIVILEGED;
    if (IN_LIST(verb, secret))
        f |= NW_EV_SECRET_READ;
    return f;
}

enum { LOG_OTHER, LOG_ACTIVITY, LOG_DATA_ACCESS, LOG_SYSTEM_EVENT, LOG_POLICY, LOG_TRANSPARENCY };

static int log_type(nw_str logname)
{
    long i = ifind(logname, "cloudaudit.googleapis.com");
    if (i < 0)
        return LOG_OTHER;
    nw_str id = after(logname, (size_t)i + strlen("cloudaudit.googleapis.com"));
    if (nw_str_istarts(id, "%2F"))
        id = after(id, 3);
    else if (nw_str_starts(id, "/"))
        id = after(id, 1);
    return nw_str_ieq(id, "activity")              ? LOG_ACTIVITY
           : nw_str_ieq(id, "data_access")         ? LOG_DATA_ACCESS
           : nw_str_ieq(id, "system_event")        ? LOG_SYSTEM_EVENT
           : nw_str_ieq(id, "policy")              ? LOG_POLICY
           : nw_str_ieq(id, "access_transparency") ? LOG_TRANSPARENCY
                                                   : LOG_OTHER;
}

/* logName with %2F decoded, into buf (the raw name when it does not fit). */
static nw_str logname_canon(nw_str ln, char *buf, size_t cap)
{
    if (ln.n >= cap)
        return ln;
    size_t o = 0;
    for (size_t i = 0; i < ln.n; i++) {
        if (ln.p[i] == '%' && i + 2 < ln.n && ln.p[i + 1] == '2' && (ln.p[i + 2] == 'F' || ln.p[i + 2] == 'f')) {
            buf[o++] = '/';
            i += 2;
        } else {
            buf[o++] = ln.p[i];
        }
    }
    return nw_str_mk(buf, o);
}

static int decode(void *state, nw_decctx *dc, const nw_jval *v, nw_event *ev, nw_err *err)
{
    struct gcp_state *st = state;
    nw_arena *ar = dc->arena;
    nw_str logname = sv(&v[G_LOGNAME]);
    int lt = log_type(logname);

    /* what the entry is */
    nw_str ptype = sv(&v[G_TYPE]);
    if (ptype.n && !nw_str_iends(ptype, "google.cloud.audit.AuditLog")) {
        nw_err_set(err, 0, "GCP LogEntry payload is %.*s, not an AuditLog", PRI(ptype));
        return NW_DEC_SKIP;
    }
    if (lt == LOG_TRANSPARENCY) {
        nw_err_set(err, 0, "GCP Access Transparency entry (Google staff access, not an identity's call)");
        return NW_DEC_SKIP;
    }
    if (!has_proto(v)) {
        nw_err_set(err, 0, "GCP LogEntry of log '%.*s' is not an audit log entry", PRI(logname));
        return NW_DEC_SKIP;
    }
    nw_str service = sv(&v[G_SERVICE]), method = sv(&v[G_METHOD]);

    /* time */
    const nw_jval *tv = present(&v[G_TS]) ? &v[G_TS] : &v[G_RECV_TS];
    if (!present(tv))
        return nw_err_set(err, NW_DEC_E_TIME, "GCP audit entry '%.*s' has no timestamp", PRI(method));
    if (tv->type != NW_J_STRING || nw_time_parse(tv->s, &ev->time_us))
        return nw_err_set(err, NW_DEC_E_TIME, "GCP audit entry '%.*s': timestamp '%.*s' is not an RFC 3339 time",
                          PRI(method), PRI(nw_jv_text(tv)));

    /* identity */
    nw_str email = sv(&v[G_EMAIL]);
    nw_str who = email;
    int type;
    if (email.n) {
        type = classify_email(email);
    } else {
        who = strip_subject(sv(&v[G_SUBJECT]));
        type = who.n ? classify_subject(who) : T_UNKNOWN;
    }
    if (!who.n && ((present(&v[G_EMAIL]) && v[G_EMAIL].type != NW_J_STRING) ||
                   (present(&v[G_SUBJECT]) && v[G_SUBJECT].type != NW_J_STRING)))
        return nw_err_set(err, NW_DEC_E_IDENTITY,
                          "GCP audit entry '%.*s': principalEmail or principalSubject is not a string", PRI(method));
    if (!who.n) {
        /* authenticationInfo is optional in the AuditLog proto: it is empty
         * or absent for unauthenticated callers (allUsers on a public
         * bucket), for callers whose identity Google redacts and for system
         * events. A valid entry with no one to attribute it to. */
        nw_err_set(err, 0, "GCP audit entry '%.*s' names no caller (no principalEmail or principalSubject: "
                           "unauthenticated, redacted or a system event)",
                   PRI(method));
        return NW_DEC_SKIP;
    }
    if (type == T_ANONYMOUS) {
        nw_err_set(err, 0, "GCP unauthenticated request (%.*s) to '%.*s'", PRI(who), PRI(method));
        return NW_DEC_SKIP;
    }
    nw_str project = sv(&v[G_PROJECT]);
    if (type == T_K8S_SA || type == T_K8S_NODE || type == T_K8S_SYSTEM) {
        nw_str parts[] = {NW_STR_LIT("gke:"), project, NW_STR_LIT("/"), sv(&v[G_LOCATION]), NW_STR_LIT("/"),
                          sv(&v[G_CLUSTER]), NW_STR_LIT("/"), who};
        ev->identity_key = nw_lower(ar, nw_cat(ar, parts, 8));
    } else {
        ev->identity_key = lower_key(who) ? nw_lower(ar, who) : who;
    }
    if (!ev->identity_key.p)
        return nw_err_set(err, NW_DEC_E_NOMEM, "out of memory");
    ev->provider = NW_PROV_GCP;
    ev->identity_type = nw_str_c(type_names[type]);
    ev->kind = (type == T_USER || type == T_WORKFORCE) ? NW_KIND_HUMAN
               : type == T_UNKNOWN                     ? NW_KIND_UNKNOWN
                                                       : NW_KIND_NON_HUMAN;
    ev->display_name = who;
    if (type == T_AGENT)
        ev->flags |= NW_EV_SERVICE_AGENT;

    nw_str keyname = sv(&v[G_KEYNAME]);
    if (keyname.n) {
        long k = ifind(keyname, "/keys/");
        ev->credential_id = k >= 0 ? after(keyname, (size_t)k + 6) : keyname;
        ev->cred_kind = NW_CRED_GCP_SA_KEY;
    }

    if (v[G_DELEG].type == NW_J_ARRAY) {
        struct deleg_ctx d = {NW_STR_NULL, NW_STR_NULL, false};
        nw_err e;
        nw_err_clear(&e);
        nw_str a = v[G_DELEG].s;
        (void)nw_jscan_each(dc->js, a.p, a.n, a.n, st->deleg, ar, deleg_cb, &d, &e);
        nw_str origin = d.human.n ? d.human : d.other;
        if (origin.n) {
            origin = nw_str_istarts(origin, "principal") ? origin : nw_lower(ar, origin);
            if (!nw_str_eqs(origin, ev->identity_key))
                ev->origin_key = origin;
        }
        if (d.agent)
            ev->flags |= NW_EV_VIA_SERVICE;
    }

    /* account: project id, else the logName parent */
    if (!project.n && nw_str_starts(logname, "projects/")) {
        nw_str rest = after(logname, 9);
        long s = nw_str_chr(rest, '/');
        project = s >= 0 ? nw_str_sub(rest, 0, (size_t)s) : rest;
    } else if (!project.n) {
        long l = ifind(logname, "/logs/");
        project = l >= 0 ? nw_str_sub(logname, 0, (size_t)l) : NW_STR_NULL;
    }
    ev->account = project;

    /* what, where */
    struct authz_ctx az = {NW_STR_NULL, NW_STR_NULL};
    if (v[G_AUTHZ].type == NW_J_ARRAY) {
        nw_err e;
        nw_err_clear(&e);
        nw_str a = v[G_AUTHZ].s;
        (void)nw_jscan_each(dc->js, a.p, a.n, a.n, st->authz, ar, authz_cb, &az, &e);
    }
    ev->permission = az.permission;
    ev->service = service;
    if (service.n && method.n) {
        nw_str parts[] = {service, NW_STR_LIT("/"), method};
        ev->action = nw_cat(ar, parts, 3);
        if (!ev->action.p)
            return nw_err_set(err, NW_DEC_E_NOMEM, "out of memory");
    } else {
        ev->action = method.n ? method : az.permission;
    }
    if (!ev->action.n)
        return nw_err_set(err, NW_DEC_E_FIELD, "GCP audit entry by '%.*s' has no methodName and no permission",
                          PRI(who));
    nw_str verb = method_verb(method);
    ev->flags |= (uint16_t)flags_of(service, verb);
    ev->resource = sv(&v[G_RESNAME]);
    /* credential lifecycle and impersonation: the service account acted on
     * and the key minted (its creator is the probable owner; a token minted
     * for it leads back to the caller) */
    if (nw_str_iends(method, "CreateServiceAccountKey") || nw_str_iends(method, "UploadServiceAccountKey")) {
        nw_str rn = sv(&v[G_RESP_NAME]);
        long k = nw_str_find(rn, "/keys/");
        if (k >= 0)
            ev->issued_credential = nw_str_sub(rn, (size_t)k + 6, rn.n);
    }
    if (nw_str_iends(method, "CreateServiceAccount"))
        ev->target_key = nw_lower(ar, sv(&v[G_RESP_EMAIL]));
    else if (nw_str_iends(method, "CreateServiceAccountKey") || nw_str_iends(method, "UploadServiceAccountKey") ||
             nw_str_iends(method, "GenerateAccessToken") || nw_str_iends(method, "GenerateIdToken") ||
             nw_str_iends(method, "SignBlob") || nw_str_iends(method, "SignJwt"))
        ev->target_key = nw_lower(ar, sv(&v[G_EMAIL_ID]));
    ev->source_ip = sv(&v[G_CALLER_IP]);
    ev->user_agent = sv(&v[G_UA]);
    ev->region = first_array_string(&v[G_LOCS]);
    if (!ev->region.n)
        ev->region = sv(&v[G_LOCATION]);
    if (!ev->region.n)
        ev->region = sv(&v[G_ZONE]);
    if (!ev->region.n)
        ev->region = sv(&v[G_REGION]);
    ev->region = zone_region(ev->region);

    bool ptread = nw_str_ieq(az.permission_type, "DATA_READ") || nw_str_ieq(az.permission_type, "ADMIN_READ");
    bool ptwrite = nw_str_ieq(az.permission_type, "DATA_WRITE") || nw_str_ieq(az.permission_type, "ADMIN_WRITE");
    if (lt == LOG_ACTIVITY || lt == LOG_SYSTEM_EVENT)
        ev->access = NW_ACCESS_WRITE;
    else if (ptread || ptwrite)
        ev->access = ptread ? NW_ACCESS_READ : NW_ACCESS_WRITE;
    else
        ev->access = read_verb(verb) ? NW_ACCESS_READ : NW_ACCESS_WRITE;

    outcome(&v[G_STATUS_CODE], ev);

    /* long-running operations: count the operation once */
    nw_str opid = sv(&v[G_OP_ID]);
    if (opid.n) {
        ev->op_key = opid;
        if (nw_jv_true(&v[G_OP_FIRST]) && !nw_jv_true(&v[G_OP_LAST]))
            ev->phase = NW_PHASE_PARTIAL;
    }

    /* dedupe: (logName, timestamp, insertId); without insertId (not written
     * by Logging, only by hand-made data) the principal, action and resource
     * stand in for it */
    nw_str insert_id = sv(&v[G_INSERT_ID]);
    ev->event_id = insert_id;
    char lbuf[512], tbuf[32];
    snprintf(tbuf, sizeof(tbuf), "%lld", (long long)ev->time_us);
    nw_str parts[] = {NW_STR_LIT("gcp"), logname_canon(logname, lbuf, sizeof(lbuf)), nw_str_c(tbuf), insert_id,
                      insert_id.n ? NW_STR_NULL : ev->identity_key, insert_id.n ? NW_STR_NULL : ev->action,
                      insert_id.n ? NW_STR_NULL : ev->resource};
    nw_hash128(parts, insert_id.n ? 4 : 7, ev->dedupe_id);
    return 0;
}

const nw_provider_decoder nw_gcp_decoder = {
    "gcp", paths, G_COUNT, match, state_new, state_free, decode,
};
