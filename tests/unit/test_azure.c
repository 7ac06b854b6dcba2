/* test_azure.c - the Azure Activity decoder, driven through the dispatcher.
 *
 * Expected values were read by hand from the fixture files (copies of
 * shared/samples/azure-activity, see tests/fixtures/azure/PROVENANCE.md);
 * the per-file counts were checked with a separate Python pass over the
 * same files. */
#include <stdio.h>
#include <stdlib.h>

#include "decode.h"
#include "jscan.h"
#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"

#define FIX NW_FIXTURES_DIR "/azure/"

typedef struct rec {
    int rc;
    nw_event ev;
    char msg[NW_ERR_MSG_MAX];
} rec;

typedef struct recs {
    rec r[200];
    size_t n;
} recs;

static nw_decoder *dec;
static nw_arena *ar;
static nw_jscan *js;
static nw_jpaths *elem;
static char *bufs[16];
static size_t nbufs;

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    char *b = malloc((size_t)len + NW_JSCAN_PADDING);
    if (!b || fread(b, 1, (size_t)len, f) != (size_t)len)
        exit(2);
    fclose(f);
    memset(b + len, ' ', NW_JSCAN_PADDING);
    *n = (size_t)len;
    bufs[nbufs++] = b;
    return b;
}

static void push(recs *rs, const char *p, size_t n)
{
    rec *r = &rs->r[rs->n++];
    nw_err e;
    nw_err_clear(&e);
    nw_str c;
    r->rc = nw_decode(dec, p, n, n, ar, &r->ev, &c, &e);
    snprintf(r->msg, sizeof(r->msg), "%s", e.msg);
}

static int elem_cb(void *ctx, size_t idx, const nw_jval *v)
{
    recs *rs = ctx;
    (void)idx;
    if (v[0].type == NW_J_OBJECT && rs->n < sizeof(rs->r) / sizeof(rs->r[0]))
        push(rs, v[0].s.p, v[0].s.n);
    return 0;
}

static void each(nw_str arr, recs *rs)
{
    nw_err e;
    nw_err_clear(&e);
    CHECK_INT(nw_jscan_each(js, arr.p, arr.n, arr.n, elem, ar, elem_cb, rs, &e), 0);
}

/* {"records":[...]}: the dispatcher hands back the array, we split it. */
static void load_records(const char *name, recs *rs)
{
    size_t n;
    char *b = slurp(name, &n);
    nw_event ev;
    nw_str c = NW_STR_NULL;
    nw_err e;
    nw_err_clear(&e);
    rs->n = 0;
    CHECK_INT(nw_decode(dec, b, n, n + NW_JSCAN_PADDING, ar, &ev, &c, &e), NW_DECODE_CONTAINER);
    each(c, rs);
}

static void counts(const recs *rs, int ok, int skip, int err)
{
    int o = 0, s = 0, x = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (rs->r[i].rc == NW_DECODE_EVENT)
            o++;
        else if (rs->r[i].rc == NW_DECODE_SKIP)
            s++;
        else
            x++;
    }
    CHECK_INT(o, ok);
    CHECK_INT(s, skip);
    CHECK_INT(x, err);
}

static char tbuf[40];
static const char *T(int64_t us) { return nw_time_fmt(us, tbuf); }
static const char *TU(int64_t us) { return nw_time_fmt_us(us, tbuf); }

static bool contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* One hand-written record. */
static int one(const char *json, nw_event *ev, nw_err *e)
{
    nw_str c;
    nw_err_clear(e);
    return nw_decode(dec, json, strlen(json), strlen(json), ar, ev, &c, e);
}

static void test_elastic(void)
{
    /* Event Hub records of a service principal (appidacr 2, no upn/name)
     * calling Event Hubs listKeys: Start, then Failure */
    static recs rs;
    load_records(FIX "elastic-beats_azure-activitylogs_test_activity_log.json", &rs);
    CHECK_INT(rs.n, 2);
    counts(&rs, 2, 0, 0);
    const nw_event *a = &rs.r[0].ev, *b = &rs.r[1].ev;
    CHECK_INT(a->provider, NW_PROV_AZURE);
    CHECK_STR(a->identity_key, "azure:2a7e2503-d7e2-405a-a84c-c333b9f7cb73/2a7e2503-d7e2-405a-a84c-c333b9f7cb73");
    CHECK_STR(a->identity_type, "service_principal");
    CHECK_INT(a->kind, NW_KIND_NON_HUMAN);
    CHECK_STR(a->credential_id, "2a7e2503-d7e2-405a-a84c-c333b9f7cb73");
    CHECK_INT(a->cred_kind, NW_CRED_AZURE_CERT);
    CHECK_STR(a->tenant, "2a7e2503-d7e2-405a-a84c-c333b9f7cb73");
    CHECK_STR(a->account, "2a7e2503-d7e2-405a-a84c-c333b9f7cb73");
    /* operationName is upper-cased; the authorization action has the casing */
    CHECK_STR(a->action, "Microsoft.EventHub/namespaces/authorizationRules/listKeys/action");
    CHECK_STR(a->permission, "Microsoft.EventHub/namespaces/authorizationRules/listKeys/action");
    CHECK_STR(a->service, "Microsoft.EventHub");
    CHECK_STR(a->resource, "/SUBSCRIPTIONS/2a7e2503-d7e2-405a-a84c-c333b9f7cb73/RESOURCEGROUPS/SA-HEMANT/PROVIDERS/"
                           "MICROSOFT.EVENTHUB/NAMESPACES/AZURELSEVENTS/AUTHORIZATIONRULES/ROOTMANAGESHAREDACCESSKEY");
    CHECK_STR(a->source_ip, "51.191.161.11");
    CHECK_STR(a->region, "global");
    CHECK_CSTR(TU(a->time_us), "2019-10-04T10:38:37.515197Z");
    CHECK_INT(a->outcome, NW_OUT_SUCCESS);
    CHECK_INT(a->phase, NW_PHASE_PARTIAL); /* resultType Start */
    CHECK_INT(a->access, NW_ACCESS_WRITE);
    CHECK_INT(a->flags, NW_EV_SECRET_READ);
    CHECK_STR(a->event_id, "2a7e2503-d7e2-405a-a84c-c333b9f7cb73"); /* correlationId: no eventDataId here */
    CHECK_STR(a->op_key, "2a7e2503-d7e2-405a-a84c-c333b9f7cb73|microsoft.eventhub/namespaces/authorizationrules/"
                         "listkeys/action|/subscriptions/2a7e2503-d7e2-405a-a84c-c333b9f7cb73/resourcegroups/"
                         "sa-hemant/providers/microsoft.eventhub/namespaces/azurelsevents/authorizationrules/"
                         "rootmanagesharedaccesskey");
    /* the Failure record ends the same operation */
    CHECK_CSTR(TU(b->time_us), "2019-10-04T10:38:37.525198Z");
    CHECK_INT(b->phase, NW_PHASE_COMPLETE);
    CHECK_INT(b->outcome, NW_OUT_FAILURE); /* Failed.NotFound: not a refusal */
    CHECK_STR(b->error_code, "ParentResourceNotFound"); /* from the statusMessage JSON string */
    CHECK(nw_str_eqs(a->op_key, b->op_key));
    CHECK(memcmp(a->dedupe_id, b->dedupe_id, 16) != 0);
    CHECK_STR(b->identity_key, "azure:2a7e2503-d7e2-405a-a84c-c333b9f7cb73/2a7e2503-d7e2-405a-a84c-c333b9f7cb73");
}

static void test_otel(void)
{
    /* a user (idtyp user, no upn claim: the xmlsoap name claim is the UPN) */
    static recs rs;
    load_records(FIX "otel-collector-contrib_azurelogs_testdata_administrative_valid_1.json", &rs);
    counts(&rs, 1, 0, 0);
    const nw_event *e = &rs.r[0].ev;
    CHECK_STR(e->identity_key, "azure:22222222-2222-2222-2222-222222222222/bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb");
    CHECK_STR(e->identity_type, "user");
    CHECK_INT(e->kind, NW_KIND_HUMAN);
    CHECK_STR(e->display_name, "user@example.com");
    CHECK_STR(e->credential_id, "");
    CHECK_INT(e->cred_kind, NW_CRED_NONE);
    CHECK_STR(e->action, "microsoft.insights/diagnosticSettings/write");
    CHECK_STR(e->service, "microsoft.insights");
    CHECK_STR(e->account, "11111111-1111-1111-1111-111111111111");
    CHECK_STR(e->tenant, "22222222-2222-2222-2222-222222222222");
    CHECK_STR(e->source_ip, "203.0.113.10");
    CHECK_CSTR(T(e->time_us), "2025-04-15T10:16:32Z");
    CHECK_INT(e->phase, NW_PHASE_PARTIAL);
    CHECK_INT(e->outcome, NW_OUT_SUCCESS);
    CHECK_INT(e->flags, 0);
}

static void test_panther(void)
{
    static recs rs;
    load_records(FIX "panther-analysis_non-identity-rule-test-logs.json", &rs);
    CHECK_INT(rs.n, 168);
    /* 5 with identity claims; 2 Recommendation + 1 SAS storage read skipped;
     * 160 with no identity block at all */
    counts(&rs, 5, 3, 160);
    for (size_t i = 0; i < rs.n; i++)
        if (rs.r[i].rc < 0 && rs.r[i].rc != NW_DEC_E_IDENTITY)
            CHECK_INT(rs.r[i].rc, NW_DEC_E_IDENTITY);
    /* #81: claims carry only upn/name: key from the UPN, as ARM's caller */
    const nw_event *e = &rs.r[81].ev;
    CHECK_INT(rs.r[81].rc, 0);
    CHECK_STR(e->identity_key, "azure:compromised-admin@company.com");
    CHECK_STR(e->identity_type, "user");
    CHECK_INT(e->kind, NW_KIND_HUMAN);
    CHECK_STR(e->tenant, "87654321-4321-4321-4321-111111111111");
    CHECK_STR(e->action, "MICROSOFT.RECOVERYSERVICES/VAULTS/BACKUPFABRICS/PROTECTIONCONTAINERS/DELETE");
    CHECK_STR(e->service, "MICROSOFT.RECOVERYSERVICES");
    CHECK_STR(e->account, "12345678-1234-1234-1234-123456789abc");
    CHECK_CSTR(T(e->time_us), "2025-01-27T14:55:00Z");
    CHECK_INT(e->phase, NW_PHASE_COMPLETE);
    /* #109: only a `name` claim, and it is an address */
    CHECK_STR(rs.r[109].ev.identity_key, "azure:denethor@lotr.com");
    CHECK_STR(rs.r[109].ev.action, "Microsoft.Storage/storageAccounts/write");
    /* skips and errors say what the record was */
    CHECK_INT(rs.r[3].rc, NW_DECODE_SKIP);
    CHECK(contains(rs.r[3].msg, "Recommendation"));
    CHECK_INT(rs.r[127].rc, NW_DECODE_SKIP);
    CHECK(contains(rs.r[127].msg, "authenticated by SAS"));
    CHECK_INT(rs.r[0].rc, NW_DEC_E_IDENTITY);
    CHECK_CSTR(rs.r[0].msg, "Azure Administrative record 'Microsoft.Insights/actionGroups/delete' has no identity "
                            "(no usable claims, no caller)");
    CHECK_INT(rs.r[77].rc, NW_DEC_E_IDENTITY); /* Policy, no identity */
    CHECK(contains(rs.r[77].msg, "Azure Policy record"));
    CHECK_INT(rs.r[121].rc, NW_DEC_E_IDENTITY); /* storage log without category nor identity */
    CHECK(contains(rs.r[121].msg, "resource log record 'deleteblob'"));
}

static int rest_cb(void *ctx, size_t idx, const nw_jval *v)
{
    recs *rs = ctx;
    (void)idx;
    if (v[0].type == NW_J_ARRAY)
        each(v[0].s, rs);
    return 0;
}

static void test_rest(void)
{
    /* REST EventData, kept in its x-ms-example wrapper: responses.200.body.value[] */
    static recs rs;
    size_t n;
    char *b = slurp(FIX "azure-rest-api-specs_monitor_2015-04-01_examples_GetActivityLogsFiltered.json", &n);
    const char *p[] = {"responses/200/body/value"};
    nw_err e;
    nw_err_clear(&e);
    nw_jpaths *ps = nw_jpaths_new(p, 1, &e);
    nw_jval v[1];
    rs.n = 0;
    CHECK_INT(nw_jscan_doc(js, b, n, n + NW_JSCAN_PADDING, ps, v, ar, &e), 0);
    CHECK_INT(v[0].type, NW_J_ARRAY);
    rest_cb(&rs, 0, v);
    nw_jpaths_free(ps);
    counts(&rs, 1, 0, 0);
    const nw_event *x = &rs.r[0].ev;
    CHECK_STR(x->identity_key, "azure:1e8d8218-c5e7-4578-9acc-9abbd5d23315/2468adf0-8211-44e3-95xq-85137af64708");
    CHECK_STR(x->identity_type, "user"); /* upn present although appidacr is 2 */
    CHECK_INT(x->kind, NW_KIND_HUMAN);
    CHECK_STR(x->display_name, "admin@contoso.com");
    CHECK_INT(x->cred_kind, NW_CRED_NONE);
    CHECK_STR(x->action, "microsoft.support/supporttickets/write"); /* operationName.value */
    CHECK_STR(x->resource, "/subscriptions/089bd33f-d4ec-47fe-8ba5-0753aa5c5b33/resourceGroups/MSSupportGroup/"
                           "providers/microsoft.support/supporttickets/115012112305841");
    CHECK_STR(x->account, "089bd33f-d4ec-47fe-8ba5-0753aa5c5b33");
    CHECK_STR(x->source_ip, "192.168.35.115"); /* httpRequest.clientIpAddress */
    CHECK_STR(x->event_id, "44ade6b4-3813-45e6-ae27-7420a95fa2f8");
    CHECK_CSTR(TU(x->time_us), "2015-01-21T22:14:26.979277Z");
    CHECK_INT(x->outcome, NW_OUT_SUCCESS); /* status.value Succeeded */
    CHECK_INT(x->phase, NW_PHASE_COMPLETE);
    nw_str parts[] = {NW_STR_LIT("azure"), NW_STR_LIT("44ade6b4-3813-45e6-ae27-7420a95fa2f8")};
    uint8_t want[16];
    nw_hash128(parts, 2, want);
    CHECK(memcmp(x->dedupe_id, want, 16) == 0);
}

static void test_handmade(void)
{
    static recs rs;
    load_records(FIX "handmade-azure.json", &rs);
    CHECK_INT(rs.n, 10);
    counts(&rs, 8, 2, 0);
    const rec *r = rs.r;
    /* #0/#1: docs 7.2 Start then Success of one role assignment */
    CHECK_INT(r[0].ev.phase, NW_PHASE_PARTIAL);
    CHECK_INT(r[1].ev.phase, NW_PHASE_COMPLETE);
    CHECK(nw_str_eqs(r[0].ev.op_key, r[1].ev.op_key));
    CHECK(memcmp(r[0].ev.dedupe_id, r[1].ev.dedupe_id, 16) != 0);
    CHECK_STR(r[1].ev.identity_key, "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/5c6d7e8f-90a1-4b2c-8d3e-4f5a6b7c8d9e");
    CHECK_STR(r[1].ev.identity_type, "service_principal");
    CHECK_STR(r[1].ev.action, "Microsoft.Authorization/roleAssignments/write");
    /* the principal the responseBody (a JSON string) grants Owner to */
    CHECK_STR(r[1].ev.target_key, "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/7e8f9a0b-1c2d-4e3f-9a4b-5c6d7e8f9a0b");
    CHECK_INT(r[1].ev.flags, NW_EV_PRIVILEGED);
    CHECK_STR(r[1].ev.credential_id, "11112222-bbbb-3333-cccc-4444dddd5555");
    CHECK_INT(r[1].ev.cred_kind, NW_CRED_AZURE_CERT);
    CHECK_CSTR(TU(r[1].ev.time_us), "2025-03-04T10:20:31.447000Z");
    /* #2: user-assigned managed identity (xms_mirid); GUIDs given upper-case */
    CHECK_STR(r[2].ev.identity_key, "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/d4c3b2a1-90f8-4e7d-6c5b-4a3928171605");
    CHECK_STR(r[2].ev.identity_type, "managed_identity");
    CHECK_INT(r[2].ev.kind, NW_KIND_NON_HUMAN);
    CHECK_STR(r[2].ev.display_name, "id-backup");
    CHECK_STR(r[2].ev.tenant, "aaaabbbb-0000-cccc-1111-dddd2222eeee");
    CHECK_STR(r[2].ev.credential_id, "99998888-aaaa-4bbb-8ccc-777766665555");
    CHECK_INT(r[2].ev.cred_kind, NW_CRED_AZURE_CERT);
    CHECK_STR(r[2].ev.action, "Microsoft.Storage/storageAccounts/listKeys/action");
    CHECK_INT(r[2].ev.flags, NW_EV_SECRET_READ);
    CHECK_STR(r[2].ev.region, "westeurope");
    /* #3: refused role assignment by a client-secret SP */
    CHECK_INT(r[3].ev.outcome, NW_OUT_DENIED);
    CHECK_STR(r[3].ev.error_code, "AuthorizationFailed");
    CHECK_INT(r[3].ev.cred_kind, NW_CRED_AZURE_SECRET);
    CHECK_STR(r[3].ev.identity_type, "service_principal"); /* no idtyp: no upn/name and appidacr 1 */
    CHECK_INT(r[3].ev.flags, NW_EV_PRIVILEGED);
    /* #4: Log Analytics row, Claims as a JSON string; TenantId is the workspace */
    const nw_event *la = &r[4].ev;
    CHECK_INT(r[4].rc, 0);
    CHECK_STR(la->identity_key, "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/31313131-4242-4353-8464-757575757575");
    CHECK_STR(la->tenant, "aaaabbbb-0000-cccc-1111-dddd2222eeee");
    CHECK_STR(la->identity_type, "service_principal");
    CHECK_INT(la->cred_kind, NW_CRED_AZURE_SECRET);
    CHECK_STR(la->action, "Microsoft.Web/sites/config/list/action"); /* from Authorization_d */
    CHECK_INT(la->flags, NW_EV_SECRET_READ);
    CHECK_STR(la->account, "00000000-1111-2222-3333-444444444444");
    CHECK_STR(la->resource, "/subscriptions/00000000-1111-2222-3333-444444444444/resourcegroups/rg-app/providers/"
                            "microsoft.web/sites/app-web");
    CHECK_STR(la->source_ip, "203.0.113.50");
    CHECK_STR(la->event_id, "E1E2E3E4-F5F6-4A7B-8C9D-0A1B2C3D4E5F");
    CHECK_CSTR(TU(la->time_us), "2025-03-05T09:10:11.123000Z");
    nw_str parts[] = {NW_STR_LIT("azure"), NW_STR_LIT("e1e2e3e4-f5f6-4a7b-8c9d-0a1b2c3d4e5f")};
    uint8_t want[16];
    nw_hash128(parts, 2, want);
    CHECK(memcmp(la->dedupe_id, want, 16) == 0);
    /* #5: Entra sign-in routed on category before `identity` (a string) */
    CHECK_INT(r[5].rc, NW_DECODE_SKIP);
    CHECK_CSTR(r[5].msg, "Entra ID SignInLogs record");
    /* #6: Key Vault SecretGet by a system-assigned MI (identity.claim, no tid claim) */
    CHECK_STR(r[6].ev.identity_key, "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/50505050-6161-4727-8383-949494949494");
    CHECK_STR(r[6].ev.identity_type, "managed_identity");
    CHECK_STR(r[6].ev.display_name, "app-web");
    CHECK_STR(r[6].ev.action, "SecretGet");
    CHECK_STR(r[6].ev.service, "MICROSOFT.KEYVAULT");
    CHECK_INT(r[6].ev.flags, NW_EV_SECRET_READ);
    CHECK_INT(r[6].ev.access, NW_ACCESS_READ);
    CHECK_STR(r[6].ev.user_agent, "azsdk-net-Security.KeyVault.Secrets/4.5.0 (.NET 8.0.1)");
    /* #7: Key Vault refusal: resultType Success, signature Forbidden, HTTP 403 */
    CHECK_INT(r[7].ev.outcome, NW_OUT_DENIED);
    CHECK_STR(r[7].ev.error_code, "Forbidden");
    CHECK_STR(r[7].ev.identity_key, "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/12121212-3434-4565-8787-909090909090");
    /* #8: Storage blob read by the same managed identity (OAuth requester) */
    CHECK(nw_str_eqs(r[8].ev.identity_key, r[2].ev.identity_key));
    CHECK_STR(r[8].ev.action, "GetBlob");
    CHECK_STR(r[8].ev.service, "Microsoft.Storage");
    CHECK_INT(r[8].ev.access, NW_ACCESS_READ);
    CHECK_STR(r[8].ev.source_ip, "10.20.30.41"); /* port stripped */
    CHECK_INT(r[8].ev.outcome, NW_OUT_SUCCESS);
    /* #9: ServiceHealth */
    CHECK_INT(r[9].rc, NW_DECODE_SKIP);
    CHECK(contains(r[9].msg, "ServiceHealth"));
}

static void test_malformed(void)
{
    nw_event ev;
    nw_err e;
    /* time missing, a number, not a time */
    CHECK_INT(one("{\"operationName\":\"Microsoft.Compute/virtualMachines/write\",\"resourceId\":\"/subscriptions/s\","
                  "\"caller\":\"a@b.example\"}",
                  &ev, &e),
              NW_DEC_E_TIME);
    CHECK_CSTR(e.msg, "Azure record 'Microsoft.Compute/virtualMachines/write' has no time (time, eventTimestamp, "
                      "TimeGenerated)");
    CHECK_INT(one("{\"time\":12345,\"operationName\":\"Microsoft.Compute/virtualMachines/write\",\"caller\":\"a@b.c\"}",
                  &ev, &e),
              NW_DEC_E_TIME);
    CHECK(contains(e.msg, "time '12345' is not an RFC 3339 timestamp"));
    CHECK_INT(one("{\"time\":\"1/9/2007 9:41:00 AM\",\"operationName\":\"Microsoft.Compute/virtualMachines/write\","
                  "\"caller\":\"a@b.c\"}",
                  &ev, &e),
              NW_DEC_E_TIME);
    CHECK(contains(e.msg, "'1/9/2007 9:41:00 AM'"));
    /* operationName of the wrong type */
    CHECK_INT(one("{\"time\":\"2025-01-01T00:00:00Z\",\"operationName\":5,\"resourceId\":\"/subscriptions/s\"}", &ev,
                  &e),
              NW_DEC_E_FIELD);
    CHECK_INT(one("{\"eventTimestamp\":\"2025-01-01T00:00:00Z\",\"operationName\":{\"localizedValue\":\"x\"}}",
                  &ev, &e),
              NW_DEC_E_FIELD);
    /* no identity: claims a number, identity a string, caller a number */
    CHECK_INT(one("{\"time\":\"2025-01-01T00:00:00Z\",\"operationName\":\"Microsoft.Compute/virtualMachines/write\","
                  "\"category\":\"Administrative\",\"claims\":7,\"identity\":\"someone\",\"caller\":42}",
                  &ev, &e),
              NW_DEC_E_IDENTITY);
    /* LA Claims string that is not JSON: an error without a Caller ... */
    CHECK_INT(one("{\"TimeGenerated\":\"2025-01-01T00:00:00Z\",\"OperationNameValue\":\"MICROSOFT.COMPUTE/"
                  "VIRTUALMACHINES/WRITE\",\"Claims\":\"{not json\",\"CategoryValue\":\"Administrative\"}",
                  &ev, &e),
              NW_DEC_E_IDENTITY);
    CHECK(contains(e.msg, "claims are not a JSON object"));
    /* ... and the Caller otherwise */
    CHECK_INT(one("{\"TimeGenerated\":\"2025-01-01T00:00:00Z\",\"OperationNameValue\":\"MICROSOFT.COMPUTE/"
                  "VIRTUALMACHINES/WRITE\",\"Claims\":\"{not json\",\"Caller\":\"Ops.Bot@Example.COM\"}",
                  &ev, &e),
              0);
    CHECK_STR(ev.identity_key, "azure:ops.bot@example.com");
    CHECK_STR(ev.identity_type, "user");
    CHECK_STR(ev.action, "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"); /* no authorization action to take casing from */
    /* a GUID caller without claims is a service principal */
    CHECK_INT(one("{\"eventTimestamp\":\"2025-01-01T00:00:00Z\",\"operationName\":{\"value\":\"Microsoft.Compute/"
                  "virtualMachines/write\"},\"caller\":\"0F0E0D0C-0B0A-4909-8807-060504030201\",\"status\":{\"value\":"
                  "\"Started\"},\"eventDataId\":\"ed-1\"}",
                  &ev, &e),
              0);
    CHECK_STR(ev.identity_key, "azure:0f0e0d0c-0b0a-4909-8807-060504030201");
    CHECK_STR(ev.identity_type, "service_principal");
    CHECK_INT(ev.kind, NW_KIND_NON_HUMAN);
    CHECK_INT(ev.phase, NW_PHASE_PARTIAL);
    /* wrong types elsewhere read as absent; unknown status, odd key casing */
    CHECK_INT(one("{\"TIME\":\"2025-01-01T00:00:00Z\",\"OPERATIONNAME\":\"Microsoft.Compute/virtualMachines/read\","
                  "\"resultType\":{\"x\":1},\"resultSignature\":[1],\"properties\":\"text\",\"location\":3,"
                  "\"IDENTITY\":{\"CLAIMS\":{\"OID\":\"o-1\",\"TID\":\"t-1\",\"appidacr\":2,\"idtyp\":\"APP\"}}}",
                  &ev, &e),
              0);
    CHECK_STR(ev.identity_key, "azure:t-1/o-1");
    CHECK_STR(ev.identity_type, "service_principal");
    CHECK_INT(ev.cred_kind, NW_CRED_AZURE_CERT); /* appidacr as a number */
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    CHECK_INT(ev.phase, NW_PHASE_COMPLETE);
    CHECK_INT(ev.access, NW_ACCESS_READ);
    CHECK_STR(ev.region, "");
    CHECK_INT(one("{\"time\":\"2025-01-01T00:00:00Z\",\"operationName\":\"Microsoft.Compute/virtualMachines/write\","
                  "\"resultType\":\"Weird\",\"caller\":\"a@b.c\"}",
                  &ev, &e),
              0);
    CHECK_INT(ev.outcome, NW_OUT_SUCCESS);
    /* Entra audit logs are routed away, REST category object too */
    CHECK_INT(one("{\"time\":\"2025-01-01T00:00:00Z\",\"operationName\":\"Add service principal\",\"category\":"
                  "\"AuditLogs\",\"identity\":\"Jane\"}",
                  &ev, &e),
              NW_DECODE_SKIP);
    CHECK_CSTR(e.msg, "Entra ID AuditLogs record");
    CHECK_INT(one("{\"eventTimestamp\":\"2025-01-01T00:00:00Z\",\"operationName\":{\"value\":\"Microsoft.Insights/"
                  "AlertRules/Activated/Action\"},\"category\":{\"value\":\"Alert\"}}",
                  &ev, &e),
              NW_DECODE_SKIP);
    /* a denied REST record: subStatus Forbidden */
    CHECK_INT(one("{\"eventTimestamp\":\"2025-01-01T00:00:00Z\",\"operationName\":{\"value\":\"Microsoft.Authorization/"
                  "roleAssignments/delete\"},\"status\":{\"value\":\"Failed\"},\"subStatus\":{\"value\":\"Forbidden\"},"
                  "\"caller\":\"x@y.z\",\"eventDataId\":\"ed-2\"}",
                  &ev, &e),
              0);
    CHECK_INT(ev.outcome, NW_OUT_DENIED);
    CHECK_STR(ev.error_code, "Forbidden");
    CHECK_INT(ev.flags, NW_EV_PRIVILEGED);
    /* a cancelled asynchronous operation ends it without success */
    CHECK_INT(one("{\"eventTimestamp\":\"2025-01-01T00:00:00Z\",\"operationName\":{\"value\":\"Microsoft.Resources/"
                  "deployments/write\"},\"status\":{\"value\":\"Canceled\"},\"caller\":\"x@y.z\"}",
                  &ev, &e),
              0);
    CHECK_INT(ev.outcome, NW_OUT_FAILURE);
    CHECK_STR(ev.error_code, "Canceled");
    CHECK_INT(ev.phase, NW_PHASE_COMPLETE);
    /* not an Azure record at all */
    CHECK_INT(one("{\"foo\":1}", &ev, &e), NW_DEC_E_FORMAT);
    /* the same record twice: the same dedupe id */
    const char *same = "{\"time\":\"2025-01-01T00:00:00Z\","
                       "\"operationName\":\"Microsoft.Compute/virtualMachines/write\","
                       "\"caller\":\"a@b.c\",\"correlationId\":\"C-1\",\"resourceId\":\"/SUBSCRIPTIONS/S\"}";
    uint8_t d1[16];
    CHECK_INT(one(same, &ev, &e), 0);
    memcpy(d1, ev.dedupe_id, 16);
    CHECK_STR(ev.op_key, "c-1|microsoft.compute/virtualmachines/write|/subscriptions/s");
    CHECK_STR(ev.account, "s");
    CHECK_INT(one(same, &ev, &e), 0);
    CHECK(memcmp(d1, ev.dedupe_id, 16) == 0);
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
    js = nw_jscan_new(0, 0);
    const char *ep[] = {""};
    elem = nw_jpaths_new(ep, 1, &e);
    test_elastic();
    test_otel();
    test_panther();
    test_rest();
    test_handmade();
    test_malformed();
    nw_jpaths_free(elem);
    nw_jscan_free(js);
    nw_arena_free(ar);
    nw_decoder_free(dec);
    for (size_t i = 0; i < nbufs; i++)
        free(bufs[i]);
    return nw_test_finish();
}
