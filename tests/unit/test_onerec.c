/* test_onerec.c - the one-object test (onerec.h) against the splitter.
 *
 * nw_onerec_find may say "no" to anything, but when it says "yes" the
 * splitter must find exactly that record and nothing else, and ingest must
 * produce the same wire messages and the same bad-record reports from it as
 * from the splitter's. Checked on every record of the provider fixtures (as
 * a message of its own, bare and with white space around it), on crafted
 * edge cases, and on random byte strings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "nw_test.h"
#include "onerec.h"
#include "pipeline.h"
#include "wire.h"

/* ---- what the splitter makes of a buffer ---- */

struct got {
    int nrec, nbad;
    nw_rec rec; /* the first record */
    char text[1 << 16];
};

static int got_rec(void *ctx, const nw_rec *r)
{
    struct got *g = ctx;
    if (g->nrec++ == 0)
        g->rec = *r;
    return 0;
}

static void got_bad(void *ctx, const nw_err *e)
{
    (void)e;
    ((struct got *)ctx)->nbad++;
}

/* A splitter with these caps (kept: a few combinations are tried). */
static nw_split *splitter(const nw_split_limits *lim)
{
    static struct {
        nw_split_limits lim;
        nw_split *sp;
    } cache[8];
    static int n;
    nw_split_limits l = lim ? *lim : (nw_split_limits){0};
    for (int i = 0; i < n; i++)
        if (memcmp(&cache[i].lim, &l, sizeof l) == 0)
            return cache[i].sp;
    if (n == 8)
        return NULL;
    cache[n].lim = l;
    cache[n].sp = nw_split_new(&l);
    return cache[n++].sp;
}

/* When onerec says yes, the splitter (with the same caps) agrees on
 * everything it hands over. */
static bool agree(nw_split *unused, const nw_split_limits *lim, const char *buf, size_t n)
{
    (void)unused;
    nw_split *sp = splitter(lim);
    nw_rec r;
    if (!nw_onerec_find(buf, n, lim, "t", &r))
        return true;
    static struct got g;
    g.nrec = g.nbad = 0;
    nw_split_buffer(sp, "t", buf, n, got_rec, got_bad, &g);
    bool ok = g.nrec == 1 && g.nbad == 0 && g.rec.p == r.p && g.rec.n == r.n && g.rec.cap == r.cap &&
              g.rec.line == r.line && g.rec.index == r.index && g.rec.offset == r.offset &&
              strcmp(g.rec.source, r.source) == 0;
    if (!ok)
        fprintf(stderr, "onerec and the splitter disagree on %zu bytes: '%.*s' (splitter: %d records, %d bad)\n", n,
                (int)(n > 300 ? 300 : n), buf, g.nrec, g.nbad);
    return ok;
}

/* onerec's answer; and whenever it is yes, the splitter's too */
static bool yes(const char *s, const nw_split_limits *lim)
{
    nw_rec r;
    bool y = nw_onerec_find(s, strlen(s), lim, "t", &r);
    CHECK(agree(NULL, lim, s, strlen(s)));
    return y;
}

/* ---- ingest's view: wire messages and bad reports from one message ---- */

struct out {
    nw_recdec *rd;
    nw_batch *b;
    nw_pipeline_result res;
    char *wire; /* encoded events and bad reports, one per line */
    size_t n, cap;
};

static void out_add(struct out *o, const char *p, size_t n)
{
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2;
        o->wire = realloc(o->wire, o->cap);
    }
    memcpy(o->wire + o->n, p, n);
    o->n += n;
    o->wire[o->n++] = '\n';
}

static void out_bad(void *ctx, const nw_err *e)
{
    char line[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 128];
    int k = snprintf(line, sizeof line, "bad %d %s %lld %lld %lld %s", e->code, e->source, (long long)e->line,
                     (long long)e->record, (long long)e->offset, e->msg);
    out_add(ctx, line, (size_t)k);
}

static int out_rec(void *ctx, const nw_rec *r)
{
    struct out *o = ctx;
    return nw_recdec_record(o->rd, r, 0, o->b, &o->res, out_bad, o) < 0 ? -1 : 0;
}

static void out_split_bad(void *ctx, const nw_err *e) { out_bad(ctx, e); }

/* The wire messages (and bad reports) ingest makes of buf, one way or the other. */
static void ingest_view(struct out *o, nw_split *sp, const char *buf, size_t n, bool fast)
{
    o->n = 0;
    nw_batch_clear(o->b);
    nw_rec r;
    if (fast && nw_onerec_find(buf, n, NULL, "raw/0@7", &r))
        out_rec(o, &r);
    else
        nw_split_buffer(sp, "raw/0@7", buf, n, out_rec, out_split_bad, o);
    for (size_t i = 0; i < o->b->n; i++) {
        static char w[1 << 17];
        long k = nw_wire_encode(&o->b->ev[i], w, sizeof w);
        CHECK(k > 0);
        if (k > 0)
            out_add(o, w, (size_t)k);
    }
}

/* ---- inputs ---- */

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

struct recs {
    char **p;
    size_t *n;
    size_t cnt, cap;
};

static int keep_rec(void *ctx, const nw_rec *r)
{
    struct recs *rs = ctx;
    if (rs->cnt == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 64;
        rs->p = realloc(rs->p, rs->cap * sizeof *rs->p);
        rs->n = realloc(rs->n, rs->cap * sizeof *rs->n);
    }
    rs->p[rs->cnt] = malloc(r->n + 1);
    memcpy(rs->p[rs->cnt], r->p, r->n);
    rs->p[rs->cnt][r->n] = '\0';
    rs->n[rs->cnt++] = r->n;
    return 0;
}

static const char *const fixtures[] = {
    "aws/cloud-custodian_tests-data_cloudtrail-records.json",
    "aws/handmade-identities.json",
    "aws/panther-analysis_non-identity-rule-test-logs.json",
    "aws/stratus-red-team/aws.credential-access.ec2-steal-instance-credentials.json",
    "aws/stratus-red-team/aws.persistence.iam-backdoor-role.json",
    "aws/stratus-red-team/aws.defense-evasion.cloudtrail-delete.json",
    "azure/elastic-beats_azure-activitylogs_test_activity_log.json",
    "azure/handmade-azure.json",
    "azure/otel-collector-contrib_azurelogs_testdata_administrative_valid_1.json",
    "azure/panther-analysis_non-identity-rule-test-logs.json",
    "gcp/cloud-custodian_c7n-gcp-tests-events.jsonl",
    "gcp/elastic-integrations_gcp-audit_test-audit.log.first13.jsonl",
    "gcp/google-cloudevents_testdata-audit-v1-LogEntryData.jsonl",
    "gcp/handmade-gcp.jsonl",
    "gcp/panther-analysis_non-identity-rule-test-logs.jsonl",
};

int main(void)
{
    nw_err err;
    nw_err_clear(&err);
    nw_split *sp = nw_split_new(NULL);
    CHECK(sp != NULL);

    /* ---- every fixture record as a message ---- */
    struct out slow = {0}, fast = {0};
    slow.rd = nw_recdec_new(NULL, NULL, &err);
    fast.rd = nw_recdec_new(NULL, NULL, &err);
    slow.b = nw_batch_new(64);
    fast.b = nw_batch_new(64);
    CHECK(slow.rd && fast.rd && slow.b && fast.b);
    size_t nmsg = 0, nyes = 0, nevents = 0;
    static char msg[1 << 20];
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", NW_FIXTURES_DIR, fixtures[f]);
        size_t n;
        char *file = slurp(path, &n);
        CHECK(file != NULL);
        if (!file)
            continue;
        CHECK(agree(sp, NULL, file, n)); /* the whole file too (a container, or several records) */
        struct recs rs = {0};
        nw_split_buffer(sp, path, file, n, keep_rec, NULL, &rs);
        CHECK(rs.cnt > 0);
        for (size_t i = 0; i < rs.cnt; i++) {
            /* bare, and with white space and lines before and after */
            for (int wrap = 0; wrap < 2; wrap++) {
                size_t m = (size_t)snprintf(msg, sizeof msg, wrap ? " \r\n\t\n%s \r\n" : "%s", rs.p[i]);
                nmsg++;
                nw_rec r;
                bool y = nw_onerec_find(msg, m, NULL, "t", &r);
                nyes += y;
                CHECK(agree(sp, NULL, msg, m));
                ingest_view(&slow, sp, msg, m, false);
                ingest_view(&fast, sp, msg, m, true);
                nevents += slow.b->n;
                CHECK(slow.n == fast.n && memcmp(slow.wire, fast.wire, slow.n) == 0);
                if (slow.n != fast.n || memcmp(slow.wire, fast.wire, slow.n) != 0)
                    fprintf(stderr, "%s record %zu: splitter:\n%.*s\nfast path:\n%.*s\n", fixtures[f], i,
                            (int)slow.n, slow.wire, (int)fast.n, fast.wire);
            }
            free(rs.p[i]);
        }
        free(rs.p);
        free(rs.n);
        free(file);
    }
    /* plain records are what the fast path is for: every fixture record is
     * one (none holds a string that reads like a container key) */
    fprintf(stderr, "onerec: %zu of %zu fixture messages on the fast path, %zu events\n", nyes, nmsg, nevents);
    CHECK_INT(nyes, nmsg);
    CHECK(nevents > 700);

    /* ---- crafted cases ---- */
    nw_split_limits lim = {0};
    CHECK(yes("{\"a\":1}", NULL));
    CHECK(yes("\n\n{\"a\":[1,{\"b\":\"}]\\\"\"}]}\r\n", NULL));
    CHECK(yes("{\"k\":\"a\\\\\",\"l\":\"\\\\\\\"\"}", NULL)); /* escaped backslash ends the string */
    CHECK(yes("{\"resources\":[{\"ARN\":\"x\"}],\"eventID\":\"1\"}", NULL));
    CHECK(!yes("", NULL));
    CHECK(!yes("   \n", NULL));
    CHECK(!yes("[{\"a\":1}]", NULL));
    CHECK(!yes("{\"a\":1}{\"a\":2}", NULL));
    CHECK(!yes("{\"a\":1}\n{\"a\":2}\n", NULL));
    CHECK(!yes("{\"a\":1} x", NULL));
    CHECK(!yes("x {\"a\":1}", NULL));
    CHECK(!yes("\f{\"a\":1}", NULL)); /* not white space to the splitter */
    CHECK(!yes("{\"Records\":[{\"a\":1}]}", NULL));
    CHECK(!yes("{\"x\":1,\"logEvents\" : [{\"a\":1}]}", NULL));
    CHECK(!yes("{\"EVENTS\":[]}", NULL));
    CHECK(!yes("{\"records\" x : [1]}", NULL)); /* broken, but a container to the splitter */
    CHECK(!yes("{\"a\":\"line\ncut\"}", NULL));
    CHECK(!yes("{\"a\":[1}", NULL));
    CHECK(!yes("{\"a\":{]}", NULL));
    CHECK(!yes("{\"a\":\"x\"", NULL));
    CHECK(!yes("{\"a\":\"x}", NULL));
    CHECK(!yes("{\"a\": \\\"x\"}", NULL)); /* a backslash outside a string */
    CHECK(!yes("{\"a\":1}}", NULL));
    lim.max_depth = 3;
    CHECK(yes("{\"a\":{\"b\":[1]}}", &lim));
    CHECK(!yes("{\"a\":{\"b\":[[1]]}}", &lim));
    lim.max_depth = 0;
    lim.max_record = 10;
    CHECK(yes("{\"a\":1234}", &lim)); /* 10 bytes: at the cap */
    CHECK(!yes("{\"a\":12345}", &lim));
    lim.max_record = 0;
    lim.max_string = 6;
    CHECK(yes("{\"a\":5}", &lim));
    CHECK(!yes("{\"abcdefg\":5}", &lim));
    lim.max_string = 0;
    lim.max_fields = 3;
    CHECK(yes("{\"a\":[1,2]}", &lim));
    CHECK(!yes("{\"a\":[1,2,3]}", &lim));
    lim.max_fields = 0;
    /* records past a 64-byte block boundary, an escape across one */
    for (int pad = 40; pad < 140; pad++) {
        size_t o = (size_t)snprintf(msg, sizeof msg, "{\"%*s\":\"a\\\"b\",\"r\":[{\"s\":\"\\\\\"}]}", pad, "k");
        CHECK(nw_onerec_find(msg, o, NULL, "t", &(nw_rec){0}));
        CHECK(agree(sp, NULL, msg, o));
    }

    /* ---- random bytes: "yes" is always the splitter's answer ---- */
    static const char alpha[] = "{}[]\"\\,: \n\rarecodsvntlgREVabc01";
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int bad = 0;
    size_t nyes_rand = 0;
    for (int it = 0; it < 300000 && bad < 5; it++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t m = 2 + (size_t)(x % 150);
        char *p = msg;
        p[0] = '{';
        for (size_t i = 1; i + 1 < m; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* mostly object-shaped text, so that "yes" happens */
            p[i] = (x >> 40) % 3 ? "\"ab\":[1,{}]\"c\"\\\"x"[(x >> 20) % 17] : alpha[(x >> 20) % (sizeof alpha - 1)];
        }
        p[m - 1] = '}';
        nw_split_limits l2 = {0};
        l2.max_depth = (x >> 50) % 2 ? 4 : 0;
        l2.max_fields = (x >> 52) % 2 ? 5 : 0;
        nyes_rand += nw_onerec_find(msg, m, &l2, "t", &(nw_rec){0});
        if (!agree(sp, &l2, msg, m))
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK(nyes_rand > 1000); /* the random cases reach the interesting side */

    nw_recdec_free(slow.rd);
    nw_recdec_free(fast.rd);
    nw_batch_free(slow.b);
    nw_batch_free(fast.b);
    nw_pipeline_result_free(&slow.res);
    nw_pipeline_result_free(&fast.res);
    free(slow.wire);
    free(fast.wire);
    nw_split_free(sp);
    return nw_test_finish();
}
