/* test_gcp.c - the GCP Cloud Audit Logs decoder, driven through the dispatcher.
 *
 * Fixture files are JSON Lines (one LogEntry per line), copies of
 * shared/samples/gcp-audit (tests/fixtures/gcp/PROVENANCE.md). Expected
 * values were read by hand from those lines; the per-file counts were
 * checked with a separate Python pass over the same files. */
#include <stdio.h>
#include <stdlib.h>

#include "decode.h"
#include "jscan.h"
#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"

#define FIX NW_FIXTURES_DIR "/gcp/"

typedef struct rec {
    int rc;
    nw_event ev;
    char msg[NW_ERR_MSG_MAX];
} rec;

typedef struct recs {
    rec r[100];
    size_t n;
} recs;

static nw_decoder *dec;
static nw_arena *ar;
static char *bufs[16];
static size_t nbufs;

static char tbuf[40];
static const char *T(int64_t us) { return nw_time_fmt(us, tbuf); }
static const char *TU(int64_t us) { return nw_time_fmt_us(us, tbuf); }
static bool contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* One record per non-empty line; each line decoded in place. */
static void load_lines(const char *path, recs *rs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *b = malloc((size_t)len + 1);
    if (!b || fread(b, 1, (size_t)len, f) != (size_t)len)
        exit(2);
    fclose(f);
    b[len] = '\0';
    bufs[nbufs++] = b;
    rs->n = 0;
    for (char *p = b; *p && rs->n < sizeof(rs->r) / sizeof(rs->r[0]);) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n) {
            rec *r = &rs->r[rs->n++];
            nw_err e;
            nw_err_clear(&e);
            nw_str c;
            r->rc = nw_decode(dec, p, n, n, ar, &r->ev, &c, &e);
            snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
        }
        if (!nl)
            break;
        p = nl + 1;
    }
}

static void counts(const recs *rs, int ok, int skip, int err_identity, int err_time)
{
    int o = 0, s = 0, xi = 0, xt = 0, other = 0;
    for (size_t i = 0; i < rs->n; i++) {
        int rc = rs->r[i].rc;
        o += rc == NW_DECODE_EVENT;
        s += rc == NW_DECODE_SKIP;
        xi += rc == NW_DEC_E_IDENTITY;
        xt += rc == NW_DEC_E_TIME;
        other += rc != NW_DECODE_EVENT && rc != NW_DECODE_SKIP && rc != NW_DEC_E_IDENTITY && rc != NW_DEC_E_TIME;
    }
    CHECK_INT(o, ok);
    CHECK_INT(s, skip);
    CHECK_INT(xi, err_identity);
    CHECK_INT(xt, err_time);
    CHECK_INT(other, 0);
}

/* Events with distinct dedupe ids: the store keeps one per id. */
static int distinct(const recs *rs)
{
    int n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->r[i].rc)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = rs->r[j].rc == 0 && memcmp(rs->r[i].ev.dedupe_id, rs->r[j].ev.dedupe_id, 16) == 0;
        n += !seen;
    }
    return n;
}

static int one(const char *json, nw_event *ev, nw_err *e)
{
    nw_str c;
    nw_err_clear(e);
    return nw_decode(dec, json, strlen(json), strlen(json), ar, ev, &c, e);
}

static void test_cloudevents(void)
{
    static recs rs;
    load_lines(FIX "google-cloudevents_testdata-audit-v1-LogEntryData.jsonl", &rs);
    CHECK_INT(rs.n, 3);
    counts(&rs, 3, 0, 0, 0);
    /* line 3: user-managed SA authenticated with a user-managed key */
    const nw_event *e = &rs.r[2].ev;
    CHECK_INT(e->provider, NW_PROV_GCP);
    CHECK_STR(e->identity_key, "robot@test-project.iam.gserviceaccount.com");
    CHECK_STR(e->identity_type, "service_account");
    CHECK_INT(e->kind, NW_KIND_NON_HUMAN);
    CHECK_STR(e->credential_id, "90f662482321f1ca8e82ea675b1a1c30c1fe681f");
    CHECK_INT(e->cred_kind, NW_CRED_GCP_SA_KEY);
    CHECK_STR(e->service, "pubsub.googleapis.com");
    CHECK_STR(e->action, "pubsub.googleapis.com/google.pubsub.v1.Publisher.CreateTopic");
    CHECK_STR(e->permission, "pubsub.topics.create");
    CHECK_STR(e->resource, "projects/test-project/topics/test-auditlogs-source");
    CHECK_STR(e->account, "test-project");
    CHECK_STR(e->region, "asia-east1"); /* resourceLocation.currentLocations[0] */
    CHECK_STR(e->source_ip, "192.168.0.1");
    CHECK_STR(e->user_agent, "google-cloud-sdk");
    CHECK_STR(e->event_id, "9frck8cf9j");
    CHECK_CSTR(TU(e->time_us), "2020-06-30T16:14:47.593398Z");
    CHECK_INT(e->outcome, NW_OUT_SUCCESS); /* no status at all */
    CHECK_INT(e->access, NW_ACCESS_WRITE); /* activity log */
    CHECK_INT(e->phase, NW_PHASE_COMPLETE);
    CHECK_INT(e->flags, 0);
    /* dedupe: (logName with %2F decoded, timestamp, insertId) */
    char t[32];
    snprintf(t, sizeof(t), "%lld", (long long)e->time_us);
    nw_str parts[] = {NW_STR_LIT("gcp"), NW_STR_LIT("projects/test-project/logs/cloudaudit.googleapis.com/activity"),
                      nw_str_c(t), NW_STR_LIT("9frck8cf9j")};
    uint8_t want[16];
    nw_hash128(parts, 4, want);
    CHECK(memcmp(e->dedupe_id, want, 16) == 0);
    /* line 1: legacy BigQuery payload without @type, status {} */
    CHECK_STR(rs.r[0].ev.identity_key, "robot@test-project.iam.gserviceaccount.com");
    CHECK_STR(rs.r[0].ev.action, "bigquery.googleapis.com/jobservice.jobcompleted");
    CHECK_INT(rs.r[0].ev.cred_kind, NW_CRED_NONE);
    CHECK_INT(rs.r[0].ev.outcome, NW_OUT_SUCCESS);
    /* line 2: principalSubject user:robot@... does not change the key */
    CHECK_STR(rs.r[1].ev.identity_key, "robot@test-project.iam.gserviceaccount.com");
}

static void test_user_entities(void)
{
    static recs rs;
    load_lines(FIX "elastic-integrations_gcp-audit_test-user-entities.log.jsonl", &rs);
    counts(&rs, 4, 0, 0, 0);
    const nw_event *h = &rs.r[0].ev;
    CHECK_STR(h->identity_key, "john.doe@elastic.co");
    CHECK_STR(h->identity_type, "user");
    CHECK_INT(h->kind, NW_KIND_HUMAN);
    CHECK_STR(h->action, "iam.googleapis.com/google.iam.admin.v1.CreateServiceAccount");
    CHECK_INT(h->flags, NW_EV_PRIVILEGED);
    CHECK_CSTR(T(h->time_us), "2024-11-06T10:00:00Z");
    CHECK_INT(rs.r[1].ev.flags, NW_EV_PRIVILEGED); /* PatchServiceAccount */
    CHECK_STR(rs.r[2].ev.action, "cloudresourcemanager.googleapis.com/SetIamPolicy");
    CHECK_INT(rs.r[2].ev.flags, NW_EV_PRIVILEGED);
    /* SignJwt by a service account: credential minting, not an IAM change */
    CHECK_STR(rs.r[3].ev.identity_key, "service-account@test-project.iam.gserviceaccount.com");
    CHECK_STR(rs.r[3].ev.identity_type, "service_account");
    CHECK_INT(rs.r[3].ev.flags, NW_EV_SECRET_READ);
    CHECK_STR(rs.r[3].ev.permission, "iam.serviceAccounts.actAs");
}

static void test_sdh(void)
{
    static recs rs;
    load_lines(FIX "elastic-integrations_gcp-audit_test-sdh-3695.log.jsonl", &rs);
    counts(&rs, 1, 0, 0, 0);
    const nw_event *e = &rs.r[0].ev;
    CHECK_STR(e->identity_key, "joel.miller@contoso.com");
    CHECK_STR(e->account, "organizations/123456789098"); /* org-level log, no project */
    CHECK_STR(e->source_ip, "private");
    CHECK_STR(e->permission, ""); /* authorizationInfo [{resourceAttributes:{}}] */
    CHECK_INT(e->outcome, NW_OUT_SUCCESS); /* status {} */
    CHECK_INT(e->access, NW_ACCESS_READ);  /* ...-SearchOrganizations */
    CHECK_STR(e->event_id, "-abcdef");
}

static void test_first13(void)
{
    static recs rs;
    load_lines(FIX "elastic-integrations_gcp-audit_test-audit.log.first13.jsonl", &rs);
    CHECK_INT(rs.n, 13);
    counts(&rs, 12, 1, 0, 0);
    /* line 2: granted:false on a call that returned 71 items: still success */
    CHECK_INT(rs.r[1].ev.outcome, NW_OUT_SUCCESS);
    /* line 4: PERMISSION_DENIED */
    const nw_event *d = &rs.r[3].ev;
    CHECK_INT(d->outcome, NW_OUT_DENIED);
    CHECK_STR(d->error_code, "PERMISSION_DENIED");
    CHECK_STR(d->identity_key, "xxx@xxx.xxx");
    CHECK_STR(d->action, "compute.googleapis.com/beta.compute.instances.aggregatedList");
    CHECK_INT(d->access, NW_ACCESS_READ);
    CHECK_STR(d->region, "global");
    /* line 5: GKE service account, key scoped to its cluster */
    const nw_event *k = &rs.r[4].ev;
    CHECK_STR(k->identity_key,
              "gke:elastic-siem/us-central1-a/analysis-cluster/"
              "system:serviceaccount:cert-manager:cert-manager-webhook");
    CHECK_STR(k->identity_type, "k8s_service_account");
    CHECK_INT(k->kind, NW_KIND_NON_HUMAN);
    CHECK_STR(k->account, "elastic-siem"); /* logName says projects/foo: resource labels win */
    CHECK_INT(k->phase, NW_PHASE_COMPLETE); /* first and last */
    CHECK_STR(k->op_key, "5555555-6349-45d2-b905-fc607e6c5d3b");
    /* lines 6/7: long-running operations, first only then last only */
    CHECK_INT(rs.r[5].ev.phase, NW_PHASE_PARTIAL);
    CHECK_STR(rs.r[5].ev.op_key, "operation-1596664766354-5ac287c395484-fa3923bd-543e018e");
    CHECK_STR(rs.r[5].ev.identity_key, "user@mycompany.com");
    CHECK_STR(rs.r[5].ev.region, "eu");
    CHECK_INT(rs.r[6].ev.phase, NW_PHASE_COMPLETE);
    CHECK_STR(rs.r[6].ev.region, "us-central1"); /* the zone us-central1-a, as its region */ /* no currentLocations: resource.labels.zone */
    /* line 10: system:anonymous */
    CHECK_INT(rs.r[9].rc, NW_DECODE_SKIP);
    CHECK_CSTR(rs.r[9].msg, "GCP unauthenticated request (system:anonymous) to 'io.k8s.get'");
    /* line 12: a key name redacted to //xxx@xxx */
    CHECK_STR(rs.r[11].ev.credential_id, "//xxx@xxx");
    CHECK_INT(rs.r[11].ev.cred_kind, NW_CRED_GCP_SA_KEY);
    CHECK_CSTR(TU(rs.r[11].ev.time_us), "2022-02-21T13:57:39.174555Z");
    /* line 13: logName "projects/project" without /logs/; the project label is there */
    CHECK_STR(rs.r[12].ev.account, "project");
}

static void test_custodian(void)
{
    static recs rs;
    load_lines(FIX "cloud-custodian_c7n-gcp-tests-events.jsonl", &rs);
    CHECK_INT(rs.n, 46);
    counts(&rs, 46, 0, 0, 0);
    int human = 0, nonhuman = 0, partial = 0;
    for (size_t i = 0; i < rs.n; i++) {
        human += rs.r[i].ev.kind == NW_KIND_HUMAN;
        nonhuman += rs.r[i].ev.kind == NW_KIND_NON_HUMAN;
        partial += rs.r[i].ev.phase == NW_PHASE_PARTIAL;
    }
    CHECK_INT(human, 44);
    CHECK_INT(nonhuman, 2);
    CHECK_INT(partial, 3); /* lines 11, 41, 42: operation.first without last */
    CHECK_INT(distinct(&rs), 45); /* lines 2 and 3 are the same entry */
    CHECK_STR(rs.r[11].ev.identity_key,
              "gke:mythic-tribute-232915/us-central1-a/standard-cluster-1/system:node:gke-standard-cluster-1-pool-1-"
              "c733eefe-xtbq");
    CHECK_STR(rs.r[11].ev.identity_type, "k8s_node");
    CHECK_STR(rs.r[9].ev.action, "iam.googleapis.com/google.iam.admin.v1.CreateRole");
    CHECK_INT(rs.r[9].ev.flags, NW_EV_PRIVILEGED);
    CHECK_INT(rs.r[16].ev.access, NW_ACCESS_READ); /* data_access v1.compute.addresses.get */
}

static void test_panther(void)
{
    static recs rs;
    load_lines(FIX "panther-analysis_non-identity-rule-test-logs.jsonl", &rs);
    CHECK_INT(rs.n, 82);
    /* 10 without authenticationInfo, 10 without any timestamp */
    counts(&rs, 62, 10, 0, 10);
    int human = 0, denied = 0, failed = 0;
    for (size_t i = 0; i < rs.n; i++) {
        if (rs.r[i].rc)
            continue;
        human += rs.r[i].ev.kind == NW_KIND_HUMAN;
        denied += rs.r[i].ev.outcome == NW_OUT_DENIED;
        failed += rs.r[i].ev.outcome == NW_OUT_FAILURE;
    }
    CHECK_INT(human, 55);
    CHECK_INT(denied, 2);
    CHECK_INT(failed, 5);
    /* the fixtures reuse insertIds (lower-cased key `insertid`, placeholder
     * "xxxxxxxxxx"): 8 pairs share (logName, timestamp, insertId) */
    CHECK_INT(distinct(&rs), 54);
    /* line 2: VPC Service Controls denial in the policy log */
    CHECK_INT(rs.r[1].ev.outcome, NW_OUT_DENIED);
    CHECK_STR(rs.r[1].ev.error_code, "PERMISSION_DENIED");
    CHECK_STR(rs.r[1].ev.account, "gcpproject");
    /* line 5: Cloud Build legacy agent, no methodName: action is the permission */
    const nw_event *a = &rs.r[4].ev;
    CHECK_STR(a->identity_key, "0000000000000@cloudbuild.gserviceaccount.com");
    CHECK_STR(a->identity_type, "service_agent");
    CHECK_INT(a->flags, NW_EV_SERVICE_AGENT);
    CHECK_STR(a->action, "cloudbuild.builds.create");
    CHECK_CSTR(TU(a->time_us), "2024-07-22T14:20:56.237323Z"); /* space-separated, no zone */
    /* line 7: ALREADY_EXISTS */
    CHECK_INT(rs.r[6].ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(rs.r[6].ev.error_code, "ALREADY_EXISTS");
    /* messages name the record */
    /* no authenticationInfo: skipped, with the reason */
    CHECK_INT(rs.r[9].rc, NW_DECODE_SKIP);
    CHECK_CSTR(rs.r[9].msg, "GCP audit entry 'v2.deploymentmanager.deployments.insert' names no caller (no "
                            "principalEmail or principalSubject: unauthenticated, redacted or a system event)");
    CHECK_INT(rs.r[23].rc, NW_DEC_E_TIME);
    CHECK_CSTR(rs.r[23].msg, "GCP audit entry 'randomservice.compute.v1.Firewall.CreateIngressRule' has no timestamp");
    /* line 78: a user-managed SA that happens to be named like the GKE agent */
    CHECK_STR(rs.r[77].ev.identity_type, "service_account");
}

static void test_handmade(void)
{
    static recs rs;
    load_lines(FIX "handmade-gcp.jsonl", &rs);
    CHECK_INT(rs.n, 9);
    counts(&rs, 6, 3, 0, 0);
    /* #0: docs 7.3, Terraform SA with a user-managed key creates a key */
    const nw_event *t = &rs.r[0].ev;
    CHECK_STR(t->identity_key, "terraform@acme-prod.iam.gserviceaccount.com");
    CHECK_STR(t->credential_id, "4f1d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b");
    CHECK_INT(t->cred_kind, NW_CRED_GCP_SA_KEY);
    CHECK_STR(t->action, "iam.googleapis.com/google.iam.admin.v1.CreateServiceAccountKey");
    CHECK_STR(t->permission, "iam.serviceAccountKeys.create");
    CHECK_INT(t->flags, NW_EV_PRIVILEGED | NW_EV_SECRET_READ);
    CHECK_INT(t->outcome, NW_OUT_SUCCESS); /* status {} */
    CHECK_CSTR(TU(t->time_us), "2025-03-04T10:25:41.093817Z");
    /* #1: workload identity federation: principalSubject only, delegation [{}] */
    const nw_event *w = &rs.r[1].ev;
    CHECK_STR(w->identity_key, "principal://iam.googleapis.com/projects/123456789012/locations/global/"
                               "workloadIdentityPools/github-pool/subject/repo:acme/infra:ref:refs/heads/main");
    CHECK_STR(w->identity_type, "workload_identity");
    CHECK_INT(w->kind, NW_KIND_NON_HUMAN);
    CHECK_STR(w->origin_key, "");
    CHECK_INT(w->flags, NW_EV_SECRET_READ);
    CHECK_INT(w->access, NW_ACCESS_READ); /* ADMIN_READ */
    CHECK_STR(w->action, "iamcredentials.googleapis.com/GenerateAccessToken");
    /* #2: a person impersonating a service account */
    CHECK_STR(rs.r[2].ev.identity_key, "deployer@acme-prod.iam.gserviceaccount.com");
    CHECK_STR(rs.r[2].ev.origin_key, "alice.admin@acme.example");
    CHECK_INT(rs.r[2].ev.flags, NW_EV_PRIVILEGED);
    /* #3: chain through a Cloud Functions agent and a CI service account */
    const nw_event *c = &rs.r[3].ev;
    CHECK_STR(c->origin_key, "ci-runner@acme-build.iam.gserviceaccount.com");
    CHECK_INT(c->flags, NW_EV_SECRET_READ | NW_EV_VIA_SERVICE);
    CHECK_INT(c->access, NW_ACCESS_READ);
    CHECK_STR(c->region, "europe-west1");
    /* #4/#5: a service agent's long-running operation, first then last */
    CHECK_STR(rs.r[4].ev.identity_type, "service_agent");
    CHECK_INT(rs.r[4].ev.flags, NW_EV_SERVICE_AGENT);
    CHECK_INT(rs.r[4].ev.phase, NW_PHASE_PARTIAL);
    CHECK_INT(rs.r[5].ev.phase, NW_PHASE_COMPLETE);
    CHECK(nw_str_eqs(rs.r[4].ev.op_key, rs.r[5].ev.op_key));
    CHECK_STR(rs.r[4].ev.region, "europe-west1"); /* zone europe-west1-b */
    /* #6: refused impersonation with an empty authenticationInfo (the
     * caller redacted): nobody to attribute it to, skipped and counted */
    CHECK_INT(rs.r[6].rc, NW_DECODE_SKIP);
    CHECK(contains(rs.r[6].msg, "'GenerateAccessToken' names no caller"));
    /* #7 Access Transparency, #8 a non-audit payload */
    CHECK_INT(rs.r[7].rc, NW_DECODE_SKIP);
    CHECK(contains(rs.r[7].msg, "Access Transparency"));
    CHECK_INT(rs.r[8].rc, NW_DECODE_SKIP);
    CHECK(contains(rs.r[8].msg, "RequestLog, not an AuditLog"));
}

/* A minimal entry with the given authenticationInfo and status. */
static int entry(const char *auth, const char *status, nw_event *ev, nw_err *e)
{
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"insertId\":\"x1\",\"logName\":\"projects/p1/logs/cloudaudit.googleapis.com%%2Factivity\","
             "\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"@type\":\"type.googleapis.com/"
             "google.cloud.audit.AuditLog\",\"serviceName\":\"compute.googleapis.com\",\"methodName\":"
             "\"v1.compute.instances.insert\",\"authenticationInfo\":%s%s%s}}",
             auth, status ? ",\"status\":" : "", status ? status : "");
    return one(buf, ev, e);
}

static const char *email_type(const char *email)
{
    static char auth[256];
    nw_event ev;
    nw_err e;
    snprintf(auth, sizeof(auth), "{\"principalEmail\":\"%s\"}", email);
    if (entry(auth, NULL, &ev, &e))
        return "error";
    return ev.identity_type.p;
}

static void test_classes(void)
{
    CHECK_CSTR(email_type("123456789012-compute@developer.gserviceaccount.com"), "service_account");
    CHECK_CSTR(email_type("acme-prod@appspot.gserviceaccount.com"), "service_account");
    CHECK_CSTR(email_type("etl@acme-prod.iam.gserviceaccount.com"), "service_account");
    CHECK_CSTR(email_type("service-abc@acme-prod.iam.gserviceaccount.com"), "service_account");
    CHECK_CSTR(email_type("service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("service-123456789012@compute-system.iam.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("service-123456789012@container-engine-robot.iam.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("service-123456789012@gcf-admin-robot.iam.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("service-123456789012@serverless-robot-prod.iam.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("service-org-998877@security-center-api.iam.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("123456789012@cloudservices.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("123456789012@cloudbuild.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("p123-4567@system.gserviceaccount.com"), "service_agent");
    CHECK_CSTR(email_type("Bob@Example.com"), "user");
    CHECK_CSTR(email_type("system:kube-scheduler"), "k8s_system");

    nw_event ev;
    nw_err e;
    /* subject only: prefixes stripped, emails lower-cased */
    CHECK_INT(entry("{\"principalSubject\":\"user:Bob@Example.com\"}", NULL, &ev, &e), 0);
    CHECK_STR(ev.identity_key, "bob@example.com");
    CHECK_STR(ev.identity_type, "user");
    CHECK_INT(entry("{\"principalSubject\":\"serviceAccount:acme-prod.svc.id.goog[ns1/ksa]\"}", NULL, &ev, &e), 0);
    CHECK_STR(ev.identity_key, "acme-prod.svc.id.goog[ns1/ksa]");
    CHECK_STR(ev.identity_type, "workload_identity");
    CHECK_INT(entry("{\"principalSubject\":\"principal://iam.googleapis.com/locations/global/workforcePools/staff/"
                    "subject/Jane\"}",
                    NULL, &ev, &e),
              0);
    CHECK_STR(ev.identity_key, "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/Jane");
    CHECK_STR(ev.identity_type, "user");
    CHECK_INT(ev.kind, NW_KIND_HUMAN);
    CHECK_STR(ev.display_name, "principal://iam.googleapis.com/locations/global/workforcePools/staff/subject/Jane");
    /* email upper-cased in the log: the key is lower-case, the name as written */
    CHECK_INT(entry("{\"principalEmail\":\"ETL@Acme-Prod.iam.gserviceaccount.com\"}", NULL, &ev, &e), 0);
    CHECK_STR(ev.identity_key, "etl@acme-prod.iam.gserviceaccount.com");
    CHECK_STR(ev.display_name, "ETL@Acme-Prod.iam.gserviceaccount.com");
    /* status variants */
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "{\"code\":5,\"message\":\"nope\"}", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(ev.error_code, "NOT_FOUND");
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "{\"code\":16}", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_DENIED);
    CHECK_STR(ev.error_code, "UNAUTHENTICATED");
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "{\"code\":\"7\"}", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_DENIED);
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "{\"code\":99}", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(ev.error_code, "99");
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "{\"code\":0}", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "\"oops\"", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_INT(entry("{\"principalEmail\":\"a@b.c\"}", "{\"code\":{\"x\":1}}", &ev, &e), 0);
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    /* no caller named (anonymous or redacted): skipped with the reason, not bad */
    CHECK_INT(entry("{}", NULL, &ev, &e), NW_DECODE_SKIP);
    CHECK(contains(e.msg, "'v1.compute.instances.insert' names no caller"));
    CHECK_INT(entry("{\"principalEmail\":\"\",\"principalSubject\":\"\"}", NULL, &ev, &e), NW_DECODE_SKIP);
    CHECK_INT(entry("{\"principalEmail\":null}", NULL, &ev, &e), NW_DECODE_SKIP);
}

static void test_malformed(void)
{
    nw_event ev;
    nw_err e;
    /* time */
    CHECK_INT(one("{\"protoPayload\":{\"methodName\":\"m\",\"authenticationInfo\":{\"principalEmail\":\"a@b.c\"}}}",
                  &ev, &e),
              NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "GCP audit entry 'm' has no timestamp");
    CHECK_INT(one("{\"timestamp\":1700000000,\"protoPayload\":{\"methodName\":\"m\",\"authenticationInfo\":"
                  "{\"principalEmail\":\"a@b.c\"}}}",
                  &ev, &e),
              NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "GCP audit entry 'm': timestamp '1700000000' is not an RFC 3339 time");
    CHECK_INT(one("{\"timestamp\":\"yesterday\",\"protoPayload\":{\"methodName\":\"m\",\"authenticationInfo\":"
                  "{\"principalEmail\":\"a@b.c\"}}}",
                  &ev, &e),
              NW_DEC_E_TIME);
    /* receiveTimestamp stands in for a missing timestamp */
    CHECK_INT(one("{\"receiveTimestamp\":\"2025-01-02T03:04:05Z\",\"protoPayload\":{\"methodName\":\"m\","
                  "\"authenticationInfo\":{\"principalEmail\":\"a@b.c\"}}}",
                  &ev, &e),
              0);
    CHECK_CSTR(T(ev.time_us), "2025-01-02T03:04:05Z");
    /* identity of the wrong type */
    CHECK_INT(one("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"methodName\":\"m\","
                  "\"authenticationInfo\":{\"principalEmail\":5,\"principalSubject\":[\"x\"]}}}",
                  &ev, &e),
              NW_DEC_E_IDENTITY);
    /* authenticationInfo that is not an object names no caller: skipped,
     * like an absent one (the scanner sees no principal under it) */
    CHECK_INT(one("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"methodName\":\"m\","
                  "\"authenticationInfo\":\"a@b.c\"}}",
                  &ev, &e),
              NW_DECODE_SKIP);
    /* nested arrays of the wrong type or with odd elements are ignored */
    CHECK_INT(one("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"methodName\":\"m\","
                  "\"authorizationInfo\":{\"permission\":\"p\"},\"resourceLocation\":{\"currentLocations\":[7]},"
                  "\"authenticationInfo\":{\"principalEmail\":\"sa@p.iam.gserviceaccount.com\","
                  "\"serviceAccountDelegationInfo\":"
                  "[1,\"x\",null,{},{\"firstPartyPrincipal\":{\"principalEmail\":3}}]},"
                  "\"operation\":\"op\"}}",
                  &ev, &e),
              0);
    CHECK_STR(ev.permission, "");
    CHECK_STR(ev.origin_key, "");
    CHECK_STR(ev.region, "");
    CHECK_STR(ev.action, "m");
    CHECK_INT(one("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"authenticationInfo\":"
                  "{\"principalEmail\":\"sa@p.iam.gserviceaccount.com\",\"serviceAccountDelegationInfo\":\"x\"},"
                  "\"authorizationInfo\":[\"x\",{\"permission\":7}]}}",
                  &ev, &e),
              NW_DEC_E_FIELD); /* no methodName, no permission to stand in for it */
    CHECK_CSTR(e.msg, "GCP audit entry by 'sa@p.iam.gserviceaccount.com' has no methodName and no permission");
    CHECK_INT(one("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"authenticationInfo\":"
                  "{\"principalEmail\":\"sa@p.iam.gserviceaccount.com\"},"
                  "\"authorizationInfo\":[\"x\",{\"resourceAttributes\":{}},{\"permission\":\"p.q.get\"},"
                  "{\"permission\":\"p.q.set\"}]}}",
                  &ev, &e),
              0);
    CHECK_STR(ev.action, "p.q.get");
    CHECK_STR(ev.permission, "p.q.get");
    /* delegation: a person wins over a service account, whatever the order */
    CHECK_INT(one("{\"timestamp\":\"2025-01-01T00:00:00Z\",\"protoPayload\":{\"methodName\":\"m\","
                  "\"authenticationInfo\":{\"principalEmail\":\"sa@p.iam.gserviceaccount.com\","
                  "\"serviceAccountDelegationInfo\":[{\"firstPartyPrincipal\":{\"principalEmail\":\"Bob@X.example\"}},"
                  "{\"firstPartyPrincipal\":{\"principalEmail\":\"mid@p.iam.gserviceaccount.com\"}}]}}}",
                  &ev, &e),
              0);
    CHECK_STR(ev.origin_key, "bob@x.example");
    /* a LogEntry that is not an audit log */
    CHECK_INT(one("{\"insertId\":\"i\",\"logName\":\"projects/p/logs/syslog\",\"textPayload\":\"hello\","
                  "\"timestamp\":\"2025-01-01T00:00:00Z\"}",
                  &ev, &e),
              NW_DECODE_SKIP);
    CHECK_CSTR(e.msg, "GCP LogEntry of log 'projects/p/logs/syslog' is not an audit log entry");
}

int main(void)
{
    nw_err e;
    nw_err_clear(&e);
    dec = nw_decoder_new(NULL, &e);
    if (!dec) {
        fprintf(stderr, "nw_decoder_new: %s\n", e.msg);
        return 1;
    }
    ar = nw_arena_new(0);
    test_cloudevents();
    test_user_entities();
    test_sdh();
    test_first13();
    test_custodian();
    test_panther();
    test_handmade();
    test_classes();
    test_malformed();
    nw_arena_free(ar);
    nw_decoder_free(dec);
    for (size_t i = 0; i < nbufs; i++)
        free(bufs[i]);
    return nw_test_finish();
}
