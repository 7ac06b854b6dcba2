/* test_wire.c - nhiwatch.event/1 round trip and refusals. */
#include <stdlib.h>

#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"
#include "wire.h"

int main(void)
{
    nw_err err;
    nw_err_clear(&err);
    nw_arena *ar = nw_arena_new(0);
    nw_wire *w = nw_wire_new(0, &err);
    CHECK(w != NULL);

    nw_event e;
    memset(&e, 0, sizeof e);
    e.provider = NW_PROV_GCP;
    e.kind = NW_KIND_NON_HUMAN;
    e.outcome = NW_OUT_DENIED;
    e.cred_kind = NW_CRED_GCP_SA_KEY;
    e.access = NW_ACCESS_WRITE;
    e.phase = NW_PHASE_PARTIAL;
    e.flags = NW_EV_PRIVILEGED | NW_EV_SECRET_READ;
    nw_time_parse(NW_STR_LIT("2025-03-04T10:25:41.093817Z"), &e.time_us);
    e.identity_key = NW_STR_LIT("terraform@acme-prod.iam.gserviceaccount.com");
    e.identity_type = NW_STR_LIT("service_account");
    e.user_agent = NW_STR_LIT("Terraform/1.7.5 \"quoted\" back\\slash\ttab\x01");
    e.credential_id = NW_STR_LIT("4f1d3c2b");
    e.action = NW_STR_LIT("iam.googleapis.com/google.iam.admin.v1.CreateServiceAccountKey");
    e.error_code = NW_STR_LIT("7");
    nw_str id = NW_STR_LIT("insert-1");
    nw_hash128(&id, 1, e.dedupe_id);

    char buf[4096];
    long n = nw_wire_encode(&e, buf, sizeof buf);
    CHECK(n > 0);
    char small[40];
    CHECK(nw_wire_encode(&e, small, sizeof small) == NW_WIRE_E_SPACE);
    CHECK((size_t)n < nw_wire_size_bound(&e));
    nw_event d;
    CHECK_INT(nw_wire_decode(w, buf, (size_t)n, ar, &d, &err), 0);
    CHECK_INT(d.provider, NW_PROV_GCP);
    CHECK_INT(d.kind, NW_KIND_NON_HUMAN);
    CHECK_INT(d.outcome, NW_OUT_DENIED);
    CHECK_INT(d.cred_kind, NW_CRED_GCP_SA_KEY);
    CHECK_INT(d.access, NW_ACCESS_WRITE);
    CHECK_INT(d.phase, NW_PHASE_PARTIAL);
    CHECK_INT(d.flags, NW_EV_PRIVILEGED | NW_EV_SECRET_READ);
    CHECK_INT(d.time_us, e.time_us);
    CHECK_STR(d.identity_key, "terraform@acme-prod.iam.gserviceaccount.com");
    CHECK_STR(d.user_agent, "Terraform/1.7.5 \"quoted\" back\\slash\ttab\x01");
    CHECK_STR(d.error_code, "7");
    CHECK(memcmp(d.dedupe_id, e.dedupe_id, 16) == 0);
    CHECK_INT(d.region.n, 0);

    const char *bad1 = "{\"schema\":\"nhiwatch.event/2\",\"time\":\"2025-03-04T10:25:41Z\"}";
    CHECK_INT(nw_wire_decode(w, bad1, strlen(bad1), ar, &d, &err), NW_WIRE_E_SCHEMA);
    const char *bad2 = "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\"}";
    CHECK_INT(nw_wire_decode(w, bad2, strlen(bad2), ar, &d, &err), NW_WIRE_E_FIELD);
    const char *bad3 = "{\"schema\":";
    CHECK_INT(nw_wire_decode(w, bad3, strlen(bad3), ar, &d, &err), NW_WIRE_E_JSON);

    /* one message, one event: content after it is refused */
    char two[8192];
    snprintf(two, sizeof two, "%.*s%.*s", (int)n, buf, (int)n, buf);
    nw_err_clear(&err);
    CHECK_INT(nw_wire_decode(w, two, 2 * (size_t)n, ar, &d, &err), NW_WIRE_E_JSON);
    CHECK(strstr(err.msg, "content after the end") != NULL);

    /* NW_WIRE_MAX_FIELDS: schema, time, provider, identity, key, dedupe_id
     * and pad are 7 fields, the pad's elements the rest; unknown fields are
     * ignored up to the cap */
    static char many[16384];
    for (int k = 993; k <= 994; k++) {
        size_t o = (size_t)snprintf(many, sizeof many,
                                    "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\","
                                    "\"provider\":\"aws\",\"identity\":{\"key\":\"k\"},"
                                    "\"dedupe_id\":\"0123456789abcdef0123456789abcdef\",\"pad\":[");
        for (int i = 0; i < k; i++)
            o += (size_t)snprintf(many + o, sizeof many - o, "%s0", i ? "," : "");
        o += (size_t)snprintf(many + o, sizeof many - o, "]}");
        nw_err_clear(&err);
        CHECK_INT(nw_wire_decode(w, many, o, ar, &d, &err), k == 993 ? 0 : NW_WIRE_E_LIMIT);
    }
    CHECK_CSTR(err.msg, "more than 1000 fields (object members and array elements): field 1001 at byte 2138");

    nw_wire_free(w);
    nw_arena_free(ar);
    return nw_test_finish();
}
