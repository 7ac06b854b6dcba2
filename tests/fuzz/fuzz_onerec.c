/* fuzz_onerec.c - the one-object test (ingest/onerec.h) against the splitter.
 *
 * ingest hands a Kafka message straight to the decoder when
 * nw_onerec_find says it is exactly one object record, and splits it like
 * a file otherwise. A "no" only costs time; a wrong "yes" would decode
 * something the splitter would have refused or split differently (a
 * container, two records, a record over a cap). So whenever onerec says
 * yes, the splitter, with the same caps, must hand over exactly that
 * record (same bytes, cap, line, index, offset, source) and report nothing
 * bad. The first byte chooses the caps: the defaults, or tight ones (256
 * bytes, depth 4, strings of 16 bytes, 12 fields) that the input can pass;
 * the rest is the message, as an exact-size heap copy. */
#include <string.h>

#include "fuzz_common.h"
#include "onerec.h"
#include "source.h"

struct got {
    int nrec, nbad;
    nw_rec rec;
};

static int on_rec(void *ctx, const nw_rec *r)
{
    struct got *g = ctx;
    if (g->nrec++ == 0)
        g->rec = *r;
    return 0;
}

static void on_bad(void *ctx, const nw_err *e)
{
    (void)e;
    ((struct got *)ctx)->nbad++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    nw_split_limits lim = {0, 0, 0, 0};
    if (data[0] & 1)
        lim = (nw_split_limits){256, 4, 16, 12};
    size_t n = size - 1;
    char *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);

    nw_rec r;
    if (nw_onerec_find(buf, n, &lim, "m", &r)) {
        FUZZ_CHECK(r.p >= buf && r.n > 0 && r.p + r.n <= buf + n);
        FUZZ_CHECK(r.cap == (size_t)(buf + n - r.p));
        fuzz_touch(r.p, r.cap);
        nw_split *sp = nw_split_new(&lim);
        FUZZ_CHECK(sp != NULL);
        struct got g = {0, 0, {0}};
        nw_split_buffer(sp, "m", buf, n, on_rec, on_bad, &g);
        FUZZ_CHECK(g.nbad == 0);
        FUZZ_CHECK(g.nrec == 1);
        FUZZ_CHECK(g.rec.p == r.p && g.rec.n == r.n && g.rec.cap == r.cap);
        FUZZ_CHECK(g.rec.line == r.line && g.rec.index == r.index && g.rec.offset == r.offset);
        FUZZ_CHECK(strcmp(g.rec.source, r.source) == 0);
        nw_split_free(sp);
    }
    free(buf);
    return 0;
}
