/* test_source.c - the record splitter and the file source. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nw_test.h"
#include "source.h"

#define MAXR 64
struct got {
    int n, bad;
    char rec[MAXR][256];
    int64_t line[MAXR], idx[MAXR];
    char badmsg[MAXR][NW_ERR_MSG_MAX];
    int64_t badline[MAXR], badidx[MAXR];
    int file_errors;
    char file_err[512];
};

static int on_rec(void *ctx, const nw_rec *r)
{
    struct got *g = ctx;
    if (g->n < MAXR) {
        snprintf(g->rec[g->n], 256, "%.*s", (int)r->n, r->p);
        g->line[g->n] = r->line;
        g->idx[g->n] = r->index;
    }
    g->n++;
    return 0;
}

static void on_bad(void *ctx, const nw_err *e)
{
    struct got *g = ctx;
    if (g->bad < MAXR) {
        snprintf(g->badmsg[g->bad], NW_ERR_MSG_MAX, "%s", e->msg);
        g->badline[g->bad] = e->line;
        g->badidx[g->bad] = e->record;
    }
    g->bad++;
}

static void on_file_error(void *ctx, const nw_err *e)
{
    struct got *g = ctx;
    g->file_errors++;
    snprintf(g->file_err, sizeof g->file_err, "%s", e->msg);
}

/* Split text fed in chunks of `chunk` bytes. */
static void split(nw_split *sp, const char *text, size_t chunk, struct got *g)
{
    memset(g, 0, sizeof(*g));
    nw_split_reset(sp, "mem");
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += chunk) {
        size_t k = n - i < chunk ? n - i : chunk;
        nw_split_feed(sp, text + i, k, on_rec, on_bad, g);
    }
    nw_split_finish(sp, on_bad, g);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static size_t gzip_mem(const char *in, size_t n, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t o = z.total_out;
    deflateEnd(&z);
    return o;
}

int main(void)
{
    nw_split *sp = nw_split_new(NULL);
    struct got g;
    static const size_t chunks[] = {1, 3, 7, 64, 100000};

    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        /* CloudTrail S3 object: elements of Records; a non-object element
         * and a malformed one are emitted / reported, the rest kept */
        split(sp, "{\"Records\":[{\"a\":1},{\"b\":[1,2,{\"c\":\"x]}\"}]}, 42, {\"d\":\"e\\\"}\"}],\"x\":1}", chunks[c], &g);
        CHECK_INT(g.n, 4);
        CHECK_INT(g.bad, 0);
        CHECK_CSTR(g.rec[0], "{\"a\":1}");
        CHECK_CSTR(g.rec[1], "{\"b\":[1,2,{\"c\":\"x]}\"}]}");
        CHECK_CSTR(g.rec[2], "42");
        CHECK_CSTR(g.rec[3], "{\"d\":\"e\\\"}\"}");
        CHECK_INT(g.idx[3], 4);

        /* JSON Lines with a line cut in the middle of a string and one cut
         * inside an object: each costs one record, no more */
        split(sp, "{\"n\":1}\n{\"n\":\"tru\n{\"n\":3}\n{\"n\":{\"m\":4}\n{\"n\":5}\n", chunks[c], &g);
        CHECK_INT(g.n, 3);
        CHECK_INT(g.bad, 2);
        CHECK_CSTR(g.rec[0], "{\"n\":1}");
        CHECK_CSTR(g.rec[1], "{\"n\":3}");
        CHECK_CSTR(g.rec[2], "{\"n\":5}");
        CHECK_INT(g.line[2], 5);
        CHECK_INT(g.badline[0], 2);
        CHECK_INT(g.badline[1], 4);

        /* a UTF-8 byte order mark before a Records object and before JSON
         * Lines (PowerShell redirection writes one) */
        split(sp, "\xef\xbb\xbf{\"Records\":[{\"a\":1},{\"b\":2}]}", chunks[c], &g);
        CHECK_INT(g.n, 2);
        CHECK_INT(g.bad, 0);
        CHECK_CSTR(g.rec[1], "{\"b\":2}");
        split(sp, "\xef\xbb\xbf{\"n\":1}\r\n{\"n\":2}\r\n", chunks[c], &g);
        CHECK_INT(g.n, 2);
        CHECK_INT(g.bad, 0);
        CHECK_CSTR(g.rec[0], "{\"n\":1}");
        CHECK_INT(g.line[1], 2);
        /* UTF-16 (Windows PowerShell 5 redirection) is named, not decoded */
        split(sp, "\xff\xfe{\0\"\0", chunks[c], &g);
        CHECK_INT(g.n, 0);
        CHECK_INT(g.bad, 1);
        CHECK_CSTR(g.badmsg[0], "not JSON: starts with a UTF-16 byte order mark (convert to UTF-8)");
        /* only at the start: the same bytes later are garbage */
        split(sp, "{\"n\":1}\n\xef\xbb\xbf{\"n\":2}\n", chunks[c], &g);
        CHECK_INT(g.n, 1);
        CHECK_INT(g.bad, 1);

        /* pretty-printed array of events (gcloud logging read) */
        split(sp, "[\n  {\n    \"a\": 1\n  },\n  {\n    \"b\": [\n 2\n ]\n  }\n]\n", chunks[c], &g);
        CHECK_INT(g.n, 2);
        CHECK_INT(g.bad, 0);
        CHECK_INT(g.line[1], 5);

        /* mismatched brackets inside one element */
        split(sp, "{\"records\":[{\"a\":[1},{\"b\":2}]}", chunks[c], &g);
        CHECK_INT(g.n, 1);
        CHECK_INT(g.bad, 1);
        CHECK_CSTR(g.rec[0], "{\"b\":2}");

        /* garbage lines among JSON Lines */
        split(sp, "{\"a\":1}\nnot json at all\n{\"a\":2}\n", chunks[c], &g);
        CHECK_INT(g.n, 2);
        CHECK_INT(g.bad, 1);
        CHECK_INT(g.badline[0], 2);

        /* truncated at the end */
        split(sp, "{\"Records\":[{\"a\":1},{\"b\":", chunks[c], &g);
        CHECK_INT(g.n, 1);
        CHECK_INT(g.bad, 1);

        /* a single event that is not a container keeps its "records"-less keys */
        split(sp, "{\"eventVersion\":\"1.08\",\"resources\":[{\"x\":1}]}", chunks[c], &g);
        CHECK_INT(g.n, 1);
        CHECK_CSTR(g.rec[0], "{\"eventVersion\":\"1.08\",\"resources\":[{\"x\":1}]}");
    }

    /* caps: record size and nesting */
    nw_split_limits lim = {32, 4, 0, 0};
    nw_split *small = nw_split_new(&lim);
    split(small, "{\"Records\":[{\"a\":\"0123456789012345678901234567890123456789\"},{\"b\":1},{\"c\":[[[[1]]]]},{\"d\":2}]}",
          5, &g);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.bad, 2);
    CHECK(strstr(g.badmsg[0], "larger than the 32-byte cap") != NULL);
    CHECK(strstr(g.badmsg[1], "nested deeper than 4") != NULL);
    nw_split_free(small);

    /* caps: string length (bytes between the quotes as written, keys too)
     * and fields (members + elements at any depth), exactly at the cap and
     * one over, fed in chunks of every size: only the record over a cap is
     * refused, with a message naming the cap, and its neighbours are kept */
    nw_split_limits tight = {0, 0, 10, 5};
    nw_split *ts = nw_split_new(&tight);
    static const char *const recs[] = {
        "{\"s\":\"0123456789\"}",            /* a 10-byte string: at the cap */
        "{\"s\":\"0123456789A\"}",           /* 11 bytes: over */
        "{\"k\":\"a\\\"b\\u00e9\"}",        /* a\"b\u00e9: 10 bytes as written */
        "{\"a\":[1,2],\"b\":{\"c\":3}}",      /* a, 1, 2, b, c: 5 fields, at the cap */
        "{\"a\":[1,2,3],\"b\":{\"c\":4}}",    /* 6 fields: over */
        "{\"x\":[],\"y\":{}}",               /* empty containers hold no field: 2 */
    };
    char trail[512], lines[512];
    snprintf(trail, sizeof trail, "{\"Records\":[%s,%s,%s,%s,%s,%s]}", recs[0], recs[1], recs[2], recs[3], recs[4],
             recs[5]);
    snprintf(lines, sizeof lines, "%s\n%s\n%s\n%s\n%s\n%s\n", recs[0], recs[1], recs[2], recs[3], recs[4], recs[5]);
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        for (int jl = 0; jl < 2; jl++) {
            split(ts, jl ? lines : trail, chunks[c], &g);
            CHECK_INT(g.n, 4);
            CHECK_INT(g.bad, 2);
            CHECK_CSTR(g.rec[0], recs[0]);
            CHECK_CSTR(g.rec[1], recs[2]);
            CHECK_CSTR(g.rec[2], recs[3]);
            CHECK_CSTR(g.rec[3], recs[5]);
            CHECK_CSTR(g.badmsg[0], "string of 11 bytes at byte 5 of the record exceeds --max-string 10 (record skipped)");
            CHECK_CSTR(g.badmsg[1], "more than 5 fields (object members and array elements; field 6 at byte 18 of the "
                                    "record) exceeds --max-fields 5 (record skipped)");
            CHECK_INT(g.badidx[0], 2);
            CHECK_INT(g.badidx[1], 5);
            CHECK_INT(g.badline[1], jl ? 5 : 1);
            CHECK_INT(g.idx[3], 6);
        }
    }
    /* pretty-printed (gcloud): white space after '{' and '[', in any chunk */
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        split(ts, "[\n  {\n    \"a\": [ 1, 2 ],\n    \"b\": { \"c\": 3 }, \"d\": [\n  ], \"e\": {\r\n\t}\n  },\n"
                  "  {\n    \"a\": [\n      1,\n      2\n    ],\n    \"b\": {\n      \"c\": 4\n    }, \"d\": [ 5 ]\n  }\n]\n",
              chunks[c], &g);
        /* the first has a, 1, 2, b, c, d, e: 7; the second a, 1, 2, b, c, d, 5 */
        CHECK_INT(g.n, 0);
        CHECK_INT(g.bad, 2);
        CHECK(strstr(g.badmsg[0], "field 6 at byte 40 of the record") != NULL);
        CHECK(strstr(g.badmsg[1], "field 6 at byte 66 of the record") != NULL);
    }

    /* a record over the size cap is reported as such, not for the long
     * string that made it so */
    nw_split_limits both = {32, 0, 10, 0};
    nw_split *bs = nw_split_new(&both);
    split(bs, "{\"s\":\"0123456789012345678901234567890123456789\"}\n{\"t\":\"01234567890\"}\n{\"u\":1}\n", 7,
          &g);
    CHECK_INT(g.n, 1);
    CHECK_INT(g.bad, 2);
    CHECK(strstr(g.badmsg[0], "record larger than the 32-byte cap") != NULL);
    CHECK(strstr(g.badmsg[1], "string of 11 bytes at byte 5") != NULL);
    nw_split_free(bs);
    /* the defaults, when 0 is given */
    split(ts, "{\"a\":\"0123456789\"}", 100000, &g);
    CHECK_INT(g.n, 1);
    nw_split_free(ts);
    /* default field cap: {"a":[99999 zeros]} has 100000 fields, one more is over */
    static char big[500000], zeros[200000];
    size_t o = 0;
    for (int i = 0; i < 99999; i++)
        o += (size_t)snprintf(zeros + o, sizeof zeros - o, "%s0", i ? "," : "");
    snprintf(big, sizeof big, "{\"a\":[%s]}\n{\"a\":[%s,0]}\n{\"b\":1}\n", zeros, zeros);
    nw_split *def = nw_split_new(NULL);
    split(def, big, 65536, &g);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.bad, 1);
    CHECK_INT(g.badline[0], 2);
    CHECK(strstr(g.badmsg[0], "more than 100000 fields (object members and array elements; field 100001 at byte") !=
          NULL);
    nw_split_free(def);

    /* files: gzip, truncated gzip, empty file, folder walk */
    char dir[] = "/tmp/nw_test_source_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[600];
    char body[4096] = "{\"Records\":[";
    for (int i = 0; i < 40; i++) {
        char one[96];
        snprintf(one, sizeof one, "%s{\"eventID\":\"id-%03d\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
                 i ? "," : "", i);
        strcat(body, one);
    }
    strcat(body, "]}");
    unsigned char gz[8192];
    size_t gzn = gzip_mem(body, strlen(body), gz, sizeof gz);
    snprintf(path, sizeof path, "%s/a.json.gz", dir);
    write_file(path, gz, gzn);
    snprintf(path, sizeof path, "%s/b-truncated.json.gz", dir);
    write_file(path, gz, gzn * 2 / 3);
    snprintf(path, sizeof path, "%s/c-empty.json", dir);
    write_file(path, "", 0);
    snprintf(path, sizeof path, "%s/sub", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/sub/d.jsonl", dir);
    write_file(path, "{\"x\":1}\n{\"x\":2}\n", 16);

    memset(&g, 0, sizeof g);
    nw_source_cbs cbs = {on_rec, on_bad, NULL, on_file_error, &g};
    nw_source_stats st = {0};
    nw_err err;
    nw_err_clear(&err);
    const char *paths[] = {dir};
    int rc = nw_source_read(paths, 1, NULL, &cbs, &st, &err);
    CHECK_INT(rc, NW_SRC_E_GZIP);
    CHECK_INT(st.files, 3);
    CHECK_INT(st.files_empty, 1);
    CHECK_INT(st.files_gzip, 2);
    CHECK_INT(st.files_damaged, 1);
    CHECK_INT(g.file_errors, 1);
    CHECK(strstr(g.file_err, "truncated gzip stream") != NULL);
    /* 40 from a.json.gz, a whole prefix of b, 2 from d.jsonl */
    int from_b = g.n - 40 - 2;
    CHECK(from_b > 10 && from_b < 40);
    CHECK_CSTR(g.rec[0], "{\"eventID\":\"id-000\",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
    /* the records kept from the truncated copy are exactly its first ones */
    CHECK(strstr(g.rec[40], "id-000") != NULL);
    CHECK_INT(st.records, (uint64_t)g.n);

    char **files = NULL;
    nw_err_clear(&err);
    long nf = nw_source_list(paths, 1, &files, &err);
    CHECK_INT(nf, 4);
    CHECK(strstr(files[0], "/a.json.gz") != NULL);
    CHECK(strstr(files[3], "/sub/d.jsonl") != NULL);
    for (long i = 0; i < nf; i++) {
        unlink(files[i]);
        free(files[i]);
    }
    free(files);
    snprintf(path, sizeof path, "%s/sub", dir);
    rmdir(path);
    rmdir(dir);

    /* a path that does not exist: reported, not fatal */
    memset(&g, 0, sizeof g);
    const char *missing[] = {"/nonexistent/nhiwatch"};
    memset(&st, 0, sizeof st);
    nw_err_clear(&err);
    rc = nw_source_read(missing, 1, NULL, &cbs, &st, &err);
    CHECK_INT(rc, NW_SRC_E_OPEN);
    CHECK_INT(g.file_errors, 1);

    nw_split_free(sp);
    return nw_test_finish();
}
