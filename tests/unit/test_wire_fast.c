/* test_wire_fast.c - nhiwatch.event/1 on the hot paths: the encoder's exact
 * bytes (escapes, the hand-formatted time) and the decoder's fast path,
 * which must decode exactly as the general scanner does.
 *
 * The general scanner is reached with a leading space, which the fast path
 * never takes and JSON allows: decode(m) and decode(" " m) must agree on
 * every message, the encoder's and mutations of them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"
#include "pipeline.h"
#include "wire.h"

static bool str_eq(nw_str a, nw_str b) { return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0); }

static bool ev_eq(const nw_event *a, const nw_event *b)
{
    const nw_str *fa[] = {&a->identity_key, &a->identity_type, &a->display_name, &a->account,   &a->tenant,
                          &a->session_name, &a->credential_id, &a->service,      &a->action,    &a->permission,
                          &a->resource,     &a->error_code,    &a->source_ip,    &a->user_agent, &a->region,
                          &a->event_id,     &a->origin_key,    &a->op_key,       &a->issued_credential,
                          &a->target_key};
    const nw_str *fb[] = {&b->identity_key, &b->identity_type, &b->display_name, &b->account,   &b->tenant,
                          &b->session_name, &b->credential_id, &b->service,      &b->action,    &b->permission,
                          &b->resource,     &b->error_code,    &b->source_ip,    &b->user_agent, &b->region,
                          &b->event_id,     &b->origin_key,    &b->op_key,       &b->issued_credential,
                          &b->target_key};
    for (size_t i = 0; i < sizeof fa / sizeof fa[0]; i++)
        if (!str_eq(*fa[i], *fb[i]))
            return false;
    return a->provider == b->provider && a->kind == b->kind && a->outcome == b->outcome &&
           a->cred_kind == b->cred_kind && a->access == b->access && a->phase == b->phase && a->flags == b->flags &&
           a->time_us == b->time_us && memcmp(a->dedupe_id, b->dedupe_id, 16) == 0;
}

/* decode m on whatever path it takes, and through the general scanner */
static bool same_both_ways(nw_wire *w, nw_arena *ar, const char *m, size_t n)
{
    static char spaced[1 << 17];
    if (n + 1 > sizeof spaced)
        return true;
    spaced[0] = ' ';
    memcpy(spaced + 1, m, n);
    nw_event a, b;
    nw_err ea, eb;
    nw_err_clear(&ea);
    nw_err_clear(&eb);
    CHECK(!nw_wire_is_fast(w, spaced, n + 1));
    int ra = nw_wire_decode(w, m, n, ar, &a, &ea);
    int rb = nw_wire_decode(w, spaced, n + 1, ar, &b, &eb);
    bool ok = ra == rb && (ra != 0 || ev_eq(&a, &b));
    if (!ok)
        fprintf(stderr, "fast %d / general %d (%s / %s) on '%.*s'\n", ra, rb, ea.msg, eb.msg, (int)(n > 400 ? 400 : n),
                m);
    return ok;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)sz + 1);
    *n = fread(p, 1, (size_t)sz, f);
    fclose(f);
    return p;
}

struct dec {
    nw_recdec *rd;
    nw_batch *b;
    nw_pipeline_result res;
};

static int dec_rec(void *ctx, const nw_rec *r)
{
    struct dec *d = ctx;
    return nw_recdec_record(d->rd, r, 0, d->b, &d->res, NULL, NULL) < 0 ? -1 : 0;
}

static const char *const fixtures[] = {
    "aws/cloud-custodian_tests-data_cloudtrail-records.json",
    "aws/handmade-identities.json",
    "aws/panther-analysis_non-identity-rule-test-logs.json",
    "azure/handmade-azure.json",
    "azure/elastic-beats_azure-activitylogs_test_activity_log.json",
    "gcp/handmade-gcp.jsonl",
    "gcp/elastic-integrations_gcp-audit_test-audit.log.first13.jsonl",
};

int main(void)
{
    nw_err err;
    nw_err_clear(&err);
    nw_arena *ar = nw_arena_new(0);
    nw_wire *w = nw_wire_new(0, &err);
    CHECK(w != NULL);

    /* ---- every field, every flag, every kind of escape ---- */
    nw_event e;
    memset(&e, 0, sizeof e);
    e.provider = NW_PROV_AZURE;
    e.kind = NW_KIND_NON_HUMAN;
    e.outcome = NW_OUT_FAILURE;
    e.cred_kind = NW_CRED_AZURE_CERT;
    e.access = NW_ACCESS_READ;
    e.phase = NW_PHASE_PARTIAL;
    e.flags = NW_EV_PRIVILEGED | NW_EV_CONSOLE | NW_EV_VIA_SERVICE | NW_EV_SECRET_READ | NW_EV_SERVICE_AGENT;
    nw_time_parse(NW_STR_LIT("2026-02-28T23:59:59.000001Z"), &e.time_us);
    e.identity_key = NW_STR_LIT("azure:sp:1111");
    e.identity_type = NW_STR_LIT("service_principal");
    e.display_name = NW_STR_LIT("ci \"deploy\"");
    e.account = NW_STR_LIT("sub-1");
    e.tenant = NW_STR_LIT("ten-1");
    e.session_name = NW_STR_LIT("s\\1");
    e.origin_key = NW_STR_LIT("o");
    e.credential_id = NW_STR_LIT("app/2");
    e.service = NW_STR_LIT("Microsoft.KeyVault");
    e.action = NW_STR_LIT("Microsoft.KeyVault/vaults/secrets/read");
    e.permission = NW_STR_LIT("p");
    e.error_code = NW_STR_LIT("Forbidden");
    e.source_ip = NW_STR_LIT("10.0.0.1");
    e.user_agent = NW_STR_LIT("a\tb\nc\rd\x01\x1f\x7f\xc3\xa9/0123456789abcdef0123456789");
    e.region = NW_STR_LIT("westeurope");
    e.resource = NW_STR_LIT("/subscriptions/sub-1/x");
    e.event_id = NW_STR_LIT("ev-1");
    e.op_key = NW_STR_LIT("op-1");
    e.issued_credential = NW_STR_LIT("ic");
    e.target_key = NW_STR_LIT("tk");
    for (int i = 0; i < 16; i++)
        e.dedupe_id[i] = (uint8_t)(i * 17);
    static char buf[1 << 17];
    long n = nw_wire_encode(&e, buf, sizeof buf);
    /* checked by hand against docs/streaming.md and JSON's escapes: the
     * field order and bytes are those of the byte-by-byte encoder before it */
    static const char want[] =
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2026-02-28T23:59:59.000001Z\",\"provider\":\"azure\","
        "\"identity\":{\"key\":\"azure:sp:1111\",\"type\":\"service_principal\",\"kind\":\"non_human\","
        "\"name\":\"ci \\\"deploy\\\"\",\"account\":\"sub-1\",\"tenant\":\"ten-1\",\"session\":\"s\\\\1\","
        "\"origin\":\"o\",\"service_agent\":true},"
        "\"credential\":{\"id\":\"app/2\",\"kind\":\"azure_cert\"},"
        "\"action\":{\"service\":\"Microsoft.KeyVault\",\"name\":\"Microsoft.KeyVault/vaults/secrets/read\","
        "\"permission\":\"p\",\"access\":\"read\",\"privileged\":true,\"secret_read\":true},"
        "\"outcome\":{\"result\":\"failure\",\"error_code\":\"Forbidden\"},"
        "\"source\":{\"ip\":\"10.0.0.1\",\"user_agent\":\"a\\tb\\nc\\rd\\u0001\\u001f\x7f\xc3\xa9/0123456789abcdef"
        "0123456789\",\"region\":\"westeurope\",\"console\":true,\"via_service\":true},"
        "\"resource\":\"/subscriptions/sub-1/x\",\"event_id\":\"ev-1\","
        "\"dedupe_id\":\"00112233445566778899aabbccddeeff\",\"op_key\":\"op-1\",\"issued_credential\":\"ic\","
        "\"target\":\"tk\",\"phase\":\"partial\"}";
    CHECK_INT(n, (long)sizeof want - 1);
    CHECK(n > 0 && memcmp(buf, want, sizeof want - 1) == 0);
    if (n > 0 && ((size_t)n != sizeof want - 1 || memcmp(buf, want, sizeof want - 1) != 0))
        fprintf(stderr, "got  %.*s\nwant %s\n", (int)n, buf, want);
    /* every prefix of the room is refused whole, never cut */
    for (long cap = 0; cap < n; cap++)
        CHECK_INT(nw_wire_encode(&e, buf, (size_t)cap), NW_WIRE_E_SPACE);
    /* escapes (and bytes >= 0x7f) send it the general way; the result is the same */
    n = nw_wire_encode(&e, buf, sizeof buf);
    CHECK(!nw_wire_is_fast(w, buf, (size_t)n));
    CHECK(same_both_ways(w, ar, buf, (size_t)n));
    nw_event d;
    CHECK_INT(nw_wire_decode(w, buf, (size_t)n, ar, &d, &err), 0);
    CHECK(ev_eq(&d, &e));

    /* ---- the time as nw_time_fmt_us writes it, over the whole range ---- */
    int64_t times[] = {0, 1, -1, 999999, 1000000, -1000000, NW_US_PER_DAY - 1, -NW_US_PER_DAY,
                       951782400LL * NW_US_PER_SEC, /* 2000-02-29 */
                       253402300799LL * NW_US_PER_SEC + 999999, /* 9999-12-31T23:59:59.999999 */
                       253402300800LL * NW_US_PER_SEC,          /* 10000-01-01: clamped by nw_time_fmt_us */
                       -62167219200LL * NW_US_PER_SEC,          /* 0000-01-01 */
                       -62167219200LL * NW_US_PER_SEC - 1, INT64_MAX / 2, INT64_MIN / 2};
    CHECK_INT(nw_days_from_civil(0, 1, 1), -719528);
    CHECK_INT(nw_days_from_civil(9999, 12, 31), 2932896);
    memset(&e, 0, sizeof e);
    e.identity_key = NW_STR_LIT("k");
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        if (i < (int)(sizeof times / sizeof times[0])) {
            e.time_us = times[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* 1900..2100, half of them on whole seconds */
            e.time_us = (int64_t)(x % (6311433600ULL * 1000000ULL)) - 2208988800LL * NW_US_PER_SEC;
            if (x >> 63)
                e.time_us -= e.time_us % NW_US_PER_SEC;
        }
        char tb[48];
        nw_time_fmt_us(e.time_us, tb);
        n = nw_wire_encode(&e, buf, sizeof buf);
        const char *t = strstr(buf, "\"time\":\"");
        CHECK(t != NULL);
        if (!t)
            continue;
        t += 8;
        size_t tl = strlen(tb);
        if (strncmp(t, tb, tl) != 0 || t[tl] != '"') {
            CHECK(false);
            fprintf(stderr, "time %lld: '%.*s', nw_time_fmt_us '%s'\n", (long long)e.time_us, (int)tl + 1, t, tb);
        }
    }

    /* ---- the encoder's messages of real events: fast, and decoded alike ---- */
    struct dec dc = {0};
    dc.rd = nw_recdec_new(NULL, NULL, &err);
    dc.b = nw_batch_new(64);
    nw_split *sp = nw_split_new(NULL);
    CHECK(dc.rd && dc.b && sp);
    size_t nev = 0, nfast = 0;
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", NW_FIXTURES_DIR, fixtures[f]);
        size_t fn;
        char *file = slurp(path, &fn);
        CHECK(file != NULL);
        if (!file)
            continue;
        nw_batch_clear(dc.b);
        nw_split_buffer(sp, path, file, fn, dec_rec, NULL, &dc);
        for (size_t i = 0; i < dc.b->n; i++) {
            n = nw_wire_encode(&dc.b->ev[i], buf, sizeof buf);
            CHECK(n > 0);
            nev++;
            nfast += nw_wire_is_fast(w, buf, (size_t)n);
            CHECK(same_both_ways(w, ar, buf, (size_t)n));
            CHECK_INT(nw_wire_decode(w, buf, (size_t)n, ar, &d, &err), 0);
            CHECK(ev_eq(&d, &dc.b->ev[i]));
        }
        free(file);
    }
    /* every one: none of these events has a string that needs an escape */
    fprintf(stderr, "wire: %zu of %zu fixture events on the fast path\n", nfast, nev);
    CHECK(nev > 200);
    CHECK_INT(nfast, nev);

    /* ---- shapes the fast path must leave to the scanner, and mutations ---- */
    static const char *const odd[] = {
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":\"k\"},"
        "\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        /* unknown field, repeated field, other case, false, a number, nested, empty object */
        "{\"schema\":\"nhiwatch.event/1\",\"x\":1,\"time\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":\"k\"},"
        "\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"time\":\"2024-01-01T00:00:00Z\","
        "\"identity\":{\"key\":\"k\"},\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{\"schema\":\"nhiwatch.event/1\",\"TIME\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":\"k\"},"
        "\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":\"k\","
        "\"service_agent\":false},\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":\"k\"},"
        "\"identity\":{\"key\":\"j\",\"name\":\"n\"},\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":{\"a\":1}},"
        "\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"identity\":\"k\","
        "\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        /* an object twice, with different members: the scanner reads both */
        "{\"schema\":\"nhiwatch.event/1\",\"time\":\"2025-03-04T10:25:41Z\",\"identity\":{\"key\":\"k\"},"
        "\"identity\":{\"name\":\"n\"},\"dedupe_id\":\"0123456789abcdef0123456789abcdef\"}",
        "{}",
        "{\"schema\":\"nhiwatch.event/1\"}",
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        CHECK(same_both_ways(w, ar, odd[i], strlen(odd[i])));
    CHECK(nw_wire_is_fast(w, odd[0], strlen(odd[0])));
    for (size_t i = 1; i < sizeof odd / sizeof odd[0] - 1; i++)
        CHECK(!nw_wire_is_fast(w, odd[i], strlen(odd[i])));

    /* every one-byte deletion and replacement of a real message */
    static const char repl[] = "{}[]\":,\\ tA0\n\x80";
    nw_batch_clear(dc.b);
    {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", NW_FIXTURES_DIR, fixtures[1]);
        size_t fn;
        char *file = slurp(path, &fn);
        if (file) {
            nw_split_buffer(sp, path, file, fn, dec_rec, NULL, &dc);
            free(file);
        }
    }
    CHECK(dc.b->n > 0);
    int bad = 0;
    static char mut[1 << 17];
    for (size_t k = 0; k < dc.b->n && k < 3 && bad < 5; k++) {
        n = nw_wire_encode(&dc.b->ev[k], buf, sizeof buf);
        for (long i = 0; i < n && bad < 5; i++) {
            memcpy(mut, buf, (size_t)i);
            memcpy(mut + i, buf + i + 1, (size_t)(n - i - 1));
            bad += !same_both_ways(w, ar, mut, (size_t)(n - 1));
            for (size_t r = 0; r < sizeof repl - 1; r++) {
                memcpy(mut, buf, (size_t)n);
                mut[i] = repl[r];
                bad += !same_both_ways(w, ar, mut, (size_t)n);
            }
            nw_arena_reset(ar);
        }
    }
    CHECK_INT(bad, 0);

    nw_split_free(sp);
    nw_recdec_free(dc.rd);
    nw_batch_free(dc.b);
    nw_pipeline_result_free(&dc.res);
    nw_wire_free(w);
    nw_arena_free(ar);
    return nw_test_finish();
}
