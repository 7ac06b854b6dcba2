/* fuzz_decode.c - one raw record through the format dispatcher and the
 * three provider decoders (ingest/decode.h), containers ({"Records": [...]}
 * and the like) split and their elements decoded, exactly as the pipeline
 * does it (nw_recdec_record). The record is given without padding (the
 * decoder copies it) or with it (parsed in place), under the default caps
 * or tight ones (2 KB records, 12 levels, 256-byte strings, 64 fields).
 *
 * Checked for every event: an identity key, a provider, every view
 * readable, and the wire round trip (fuzz_event.h): what a decoder produced
 * from attacker-shaped input must reach the analyze workers unchanged. */
#include <string.h>

#include "fuzz_event.h"
#include "pipeline.h"

static nw_recdec *rd[2];
static nw_batch *b;
static nw_wire *w;
static nw_arena *war;

static void on_bad(void *ctx, const nw_err *e)
{
    (void)ctx;
    FUZZ_CHECK(e->msg[0] != '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!b) {
        nw_err err;
        nw_err_clear(&err);
        nw_decode_limits dl0 = {0, 0, 0, 0}, dl1 = {2048, 12, 256, 64};
        nw_split_limits sl0 = {0, 0, 0, 0}, sl1 = {2048, 12, 256, 64};
        rd[0] = nw_recdec_new(&dl0, &sl0, &err);
        rd[1] = nw_recdec_new(&dl1, &sl1, &err);
        b = nw_batch_new(16);
        w = nw_wire_new(0, &err);
        war = nw_arena_new(64 * 1024);
        FUZZ_CHECK(rd[0] && rd[1] && b && w && war);
    }
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    size_t n = size - 1;
    char *padded = malloc(n + NW_JSCAN_PADDING);
    FUZZ_CHECK(padded != NULL);
    memcpy(padded, data + 1, n);
    memset(padded + n, ' ', NW_JSCAN_PADDING);
    nw_rec rec = {0};
    rec.p = (mode & 1) ? padded : (const char *)data + 1;
    rec.n = n;
    rec.cap = (mode & 1) ? n + NW_JSCAN_PADDING : n;
    rec.line = 1;
    rec.index = 1;
    rec.offset = 0;
    rec.source = "fuzz";

    nw_pipeline_result res;
    memset(&res, 0, sizeof res);
    nw_batch_clear(b);
    int added = nw_recdec_record(rd[(mode >> 1) & 1], &rec, 0, b, &res, on_bad, NULL);
    FUZZ_CHECK(added >= 0);
    FUZZ_CHECK((size_t)added == b->n);
    FUZZ_CHECK(res.events == b->n);
    free(padded); /* the events were persisted into the batch arena */
    for (size_t i = 0; i < b->n; i++) {
        const nw_event *ev = &b->ev[i];
        FUZZ_CHECK(ev->identity_key.n > 0);
        FUZZ_CHECK(ev->provider >= NW_PROV_AWS && ev->provider <= NW_PROV_GCP);
        fuzz_event_touch(ev);
        fuzz_wire_roundtrip(w, ev, war);
        nw_arena_reset(war);
    }
    return 0;
}
