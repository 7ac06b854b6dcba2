/* fuzz_split.c - the streaming record splitter (ingest/source.h).
 *
 * The input is split twice: fed whole, and fed in chunks of sizes drawn
 * from the input (1 byte up to a few KB, each chunk an exact-size heap
 * copy). The splitter promises chunk-size independence, so both runs must
 * yield the same records (bytes, line, index, offset) and the same bad
 * records (line, index, offset). Every record must fit the caps (size, and
 * string length and field count as nw_jscan_measure counts them: the
 * splitter counts in passing what jscan.cc counts in a pass of its own),
 * lie in readable memory up to rec->cap, and start where a value can start. */
#include <string.h>

#include "nw_hash.h"
#include "fuzz_common.h"
#include "jscan.h"
#include "source.h"

#define MAXREC 256

struct seen {
    size_t n, nbad;
    uint64_t h[MAXREC];
    uint64_t hb[MAXREC];
    size_t max_record, max_string, max_fields;
};

static uint64_t rec_hash(const nw_rec *r)
{
    uint64_t pos[3] = {(uint64_t)r->line, (uint64_t)r->index, (uint64_t)r->offset};
    return nw_hash64(r->p, r->n, nw_hash64(pos, sizeof pos, 1));
}

static int on_rec(void *ctx, const nw_rec *r)
{
    struct seen *s = ctx;
    FUZZ_CHECK(r->n > 0 && r->n <= s->max_record);
    FUZZ_CHECK(r->cap >= r->n);
    FUZZ_CHECK(nw_jscan_measure(r->p, r->n, s->max_string, s->max_fields, NULL) == NW_JSCAN_OK);
    fuzz_touch(r->p, r->n);
    fuzz_touch(r->p + r->cap - 1, 1); /* the readable promise reaches the end of cap */
    unsigned char c = (unsigned char)r->p[0];
    FUZZ_CHECK(c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != ',' && c != ':' && c != '}' && c != ']');
    FUZZ_CHECK(r->line >= 1 && r->index >= 1 && r->offset >= 0);
    if (s->n < MAXREC)
        s->h[s->n] = rec_hash(r);
    s->n++;
    return 0;
}

static void on_bad(void *ctx, const nw_err *e)
{
    struct seen *s = ctx;
    FUZZ_CHECK(e->msg[0] != '\0');
    FUZZ_CHECK(e->line >= 1);
    uint64_t pos[3] = {(uint64_t)e->line, (uint64_t)e->record, (uint64_t)e->offset};
    if (s->nbad < MAXREC)
        s->hb[s->nbad] = nw_hash64(pos, sizeof pos, 2);
    s->nbad++;
}

static nw_split *sp[2];
static const nw_split_limits lims[2] = {{1 << 20, 128, 768 << 10, 100000}, {512, 8, 48, 24}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sp[0]) {
        sp[0] = nw_split_new(&lims[0]);
        sp[1] = nw_split_new(&lims[1]);
        FUZZ_CHECK(sp[0] && sp[1]);
    }
    if (size < 2)
        return 0;
    unsigned mode = data[0];
    fuzz_rng rng = {(uint64_t)data[1] * 0x100000001b3ull + mode};
    const char *in = (const char *)data + 2;
    size_t n = size - 2;
    int which = mode & 1;
    nw_split *s = sp[which];

    static struct seen whole, chunked;
    memset(&whole, 0, sizeof whole);
    memset(&chunked, 0, sizeof chunked);
    whole.max_record = chunked.max_record = lims[which].max_record;
    whole.max_string = chunked.max_string = lims[which].max_string;
    whole.max_fields = chunked.max_fields = lims[which].max_fields;

    /* whole (nw_split_buffer resets and finishes) */
    FUZZ_CHECK(nw_split_buffer(s, "whole", in, n, on_rec, on_bad, &whole) == 0);
    FUZZ_CHECK((size_t)nw_split_records(s) == whole.n);
    FUZZ_CHECK((size_t)nw_split_bad(s) == whole.nbad);
    bool jsonl = nw_split_is_jsonl(s);

    /* chunked */
    nw_split_reset(s, "chunked");
    /* tiny chunks on small inputs only: a 64 KB input in 2-byte chunks is slow to fuzz */
    size_t maxchunk = ((mode & 2) && n < 4096) ? 4 : (mode & 4) ? 64 : 4096;
    size_t off = 0;
    while (off < n) {
        size_t k = 1 + (size_t)(fuzz_next(&rng) % maxchunk);
        if (k > n - off)
            k = n - off;
        char *chunk = malloc(k);
        FUZZ_CHECK(chunk != NULL);
        memcpy(chunk, in + off, k);
        FUZZ_CHECK(nw_split_feed(s, chunk, k, on_rec, on_bad, &chunked) == 0);
        free(chunk);
        off += k;
    }
    nw_split_finish(s, on_bad, &chunked);

    if (whole.n != chunked.n || whole.nbad != chunked.nbad) {
        fprintf(stderr, "records whole %zu chunked %zu, bad whole %zu chunked %zu\n", whole.n, chunked.n,
                whole.nbad, chunked.nbad);
        FUZZ_CHECK(!"chunking changed the records");
    }
    for (size_t i = 0; i < whole.n && i < MAXREC; i++)
        FUZZ_CHECK(whole.h[i] == chunked.h[i]);
    for (size_t i = 0; i < whole.nbad && i < MAXREC; i++)
        FUZZ_CHECK(whole.hb[i] == chunked.hb[i]);
    FUZZ_CHECK(nw_split_is_jsonl(s) == jsonl);
    return 0;
}
