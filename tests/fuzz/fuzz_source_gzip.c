/* fuzz_source_gzip.c - the file source (ingest/source.h) on gzip input:
 * magic detection, inflate, multi-member streams, zero padding, damage and
 * truncation, on a real file (written into the fuzz temporary folder).
 *
 * Mode byte, bit 0 clear: the rest of the input is the file as it is
 * (seeds are real .json.gz files; libFuzzer mutates the compressed bytes).
 * Bit 0 set: two parameter bytes follow and the rest is the decompressed
 * content; it is compressed here into 1 to 3 gzip members, then maybe cut
 * short or followed by zero padding or garbage, and compared with the same
 * content read as a plain file:
 *   - whole (padded or not): the same records (bytes, line, index, offset);
 *   - cut short: the records are a prefix of those, and the file is counted
 *     damaged unless the cut fell exactly between two members;
 *   - garbage after the last member: every record, file damaged. */
#include <string.h>
#include <zlib.h>

#include "nw_hash.h"
#include "fuzz_common.h"
#include "source.h"

#define MAXREC 512

struct seen {
    size_t n;
    uint64_t h[MAXREC];
};

static int on_rec(void *ctx, const nw_rec *r)
{
    struct seen *s = ctx;
    FUZZ_CHECK(r->cap >= r->n);
    fuzz_touch(r->p, r->n);
    fuzz_touch(r->p + r->cap - 1, 1); /* the readable promise reaches the end of cap */
    uint64_t pos[3] = {(uint64_t)r->line, (uint64_t)r->index, (uint64_t)r->offset};
    if (s->n < MAXREC)
        s->h[s->n] = nw_hash64(r->p, r->n, nw_hash64(pos, sizeof pos, 1));
    s->n++;
    return 0;
}

static void on_bad(void *ctx, const nw_err *e)
{
    (void)ctx;
    FUZZ_CHECK(e->msg[0] != '\0');
}

static void on_file_error(void *ctx, const nw_err *e)
{
    (void)ctx;
    FUZZ_CHECK(e->msg[0] != '\0' && e->code < 0);
}

static int read_path(const char *path, struct seen *s, nw_source_stats *st)
{
    memset(s, 0, sizeof *s);
    memset(st, 0, sizeof *st);
    nw_source_limits lim = {{0, 0, 0, 0}, 64u << 20};
    nw_source_cbs cbs = {on_rec, on_bad, NULL, on_file_error, s};
    nw_err err;
    nw_err_clear(&err);
    const char *paths[1] = {path};
    int rc = nw_source_read(paths, 1, &lim, &cbs, st, &err);
    FUZZ_CHECK(rc == 0 || rc == NW_SRC_E_GZIP || rc == NW_SRC_E_OPEN || rc == NW_SRC_E_LIMIT);
    FUZZ_CHECK(st->records == s->n);
    return rc;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(n == 0 || fwrite(p, 1, n, f) == n);
    FUZZ_CHECK(fclose(f) == 0);
}

/* append a gzip member holding in[0..n) to out; returns the new length */
static size_t gz_member(const uint8_t *in, size_t n, uint8_t *out, size_t off, size_t cap, int level)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    FUZZ_CHECK(deflateInit2(&z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out + off;
    z.avail_out = (uInt)(cap - off);
    FUZZ_CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    size_t end = off + z.total_out;
    deflateEnd(&z);
    return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char gz_path[512], plain_path[512];
    if (!gz_path[0]) {
        snprintf(gz_path, sizeof gz_path, "%s/input.json.gz", fuzz_tmpdir());
        snprintf(plain_path, sizeof plain_path, "%s/input.json", fuzz_tmpdir());
    }
    static struct seen a, b;
    nw_source_stats sa, sb;
    if (size < 1)
        return 0;
    if (!(data[0] & 1)) {
        write_file(gz_path, data + 1, size - 1);
        read_path(gz_path, &a, &sa);
        FUZZ_CHECK(sa.files + sa.files_empty + sa.files_failed == 1);
        return 0;
    }
    if (size < 3)
        return 0;
    unsigned p1 = data[1], p2 = data[2];
    const uint8_t *content = data + 3;
    size_t n = size - 3;
    if (n >= 2 && content[0] == 0x1f && content[1] == 0x8b)
        return 0; /* the "plain" copy would be read as gzip too: nothing to compare */

    /* 1 to 3 members, split at points drawn from p1 */
    size_t cap = compressBound((uLong)n) * 3 + 64 * 3 + 4096;
    uint8_t *gz = malloc(cap);
    FUZZ_CHECK(gz != NULL);
    int members = 1 + (int)(p1 % 3);
    size_t cut1 = members > 1 ? n * ((p1 >> 2) & 7) / 8 : n;
    size_t cut2 = members > 2 ? cut1 + (n - cut1) * ((p1 >> 5) & 7) / 8 : n;
    size_t len = 0, bounds[3];
    len = gz_member(content, cut1, gz, len, cap, (p2 & 1) ? 1 : 9);
    bounds[0] = len;
    if (members > 1) {
        len = gz_member(content + cut1, cut2 - cut1, gz, len, cap, 6);
        bounds[1] = len;
    }
    if (members > 2) {
        len = gz_member(content + cut2, n - cut2, gz, len, cap, 6);
        bounds[2] = len;
    }
    int tail = (p2 >> 1) & 3; /* 0 none, 1 cut short, 2 zero padding, 3 garbage */
    size_t cut_at = len;
    if (tail == 1) {
        cut_at = 10 + (size_t)(p2 >> 3) * (len - 10) / 32; /* within the stream, after the first header */
    } else if (tail == 2) {
        memset(gz + len, 0, 512);
        len += 512;
    } else if (tail == 3) {
        memcpy(gz + len, "garbage after the stream\n", 25);
        len += 25;
    }
    write_file(gz_path, gz, tail == 1 ? cut_at : len);
    write_file(plain_path, content, n);

    read_path(plain_path, &b, &sb);
    int rc = read_path(gz_path, &a, &sa);
    FUZZ_CHECK(sa.files == 1 && sa.files_gzip == 1);
    if (tail == 1) {
        bool at_boundary = false;
        for (int m = 0; m < members; m++)
            at_boundary = at_boundary || cut_at == bounds[m];
        FUZZ_CHECK(a.n <= b.n);
        for (size_t i = 0; i < a.n && i < MAXREC; i++)
            FUZZ_CHECK(a.h[i] == b.h[i]);
        if (!at_boundary) {
            FUZZ_CHECK(rc == NW_SRC_E_GZIP);
            FUZZ_CHECK(sa.files_damaged == 1);
        }
    } else {
        if (a.n != b.n) {
            fprintf(stderr, "gzip: %zu records, plain: %zu (members %d, tail %d)\n", a.n, b.n, members, tail);
            FUZZ_CHECK(!"gzip and plain give the same records");
        }
        for (size_t i = 0; i < a.n && i < MAXREC; i++)
            FUZZ_CHECK(a.h[i] == b.h[i]);
        FUZZ_CHECK(sa.bytes == n);
        if (tail == 3) {
            FUZZ_CHECK(rc == NW_SRC_E_GZIP && sa.files_damaged == 1);
        } else {
            FUZZ_CHECK(rc == 0 && sa.files_damaged == 0);
            FUZZ_CHECK(sa.bad == sb.bad);
        }
    }
    free(gz);
    return 0;
}
