/* fuzz_jscan.c - the simdjson scanner (ingest/jscan.h): nw_jscan_doc and
 * nw_jscan_each over arbitrary bytes, with path sets shaped like the
 * decoders' (nested objects, escaped keys, the root path), in place and
 * copied, under a generous and a tight depth cap; and nw_jscan_measure
 * with and without its string and field caps.
 *
 * Checked: no crash, and every value view lies in readable memory of the
 * stated length (the input is an exact-size heap copy, so ASan sees a view
 * that runs past it); object / array views scan again as JSON; a cap
 * passed is reported at a byte of the input where a string or a field
 * starts. */
#include <string.h>

#include "fuzz_common.h"
#include "jscan.h"

static const char *const set_ct[] = {
    "eventTime", "eventName", "userIdentity/type", "userIdentity/sessionContext/sessionIssuer/arn",
    "userIdentity/arn", "requestParameters", "responseElements", "Records", "errorCode", "readOnly",
    "tlsDetails/clientProvidedHostHeader", "additionalEventData",
};
static const char *const set_az[] = {
    "identity/claims/http:~1~1schemas.microsoft.com~1identity~1claims~1objectidentifier",
    "identity/claims/appid", "properties/requestbody", "claims", "time", "level", "a~0b/c",
};
static const char *const set_root[] = {""};

struct set {
    const char *const *p;
    size_t n;
};
static const struct set sets[] = {
    {set_ct, sizeof set_ct / sizeof set_ct[0]},
    {set_az, sizeof set_az / sizeof set_az[0]},
    {set_root, 1},
};
#define NSETS (sizeof sets / sizeof sets[0])

static nw_jpaths *ps[NSETS];
static nw_jscan *js_wide, *js_tight;
static nw_arena *ar;

static void init(void)
{
    if (ar)
        return;
    nw_err err;
    nw_err_clear(&err);
    for (size_t i = 0; i < NSETS; i++) {
        ps[i] = nw_jpaths_new(sets[i].p, sets[i].n, &err);
        FUZZ_CHECK(ps[i] != NULL);
    }
    js_wide = nw_jscan_new(1 << 20, 128);
    js_tight = nw_jscan_new(1 << 20, 6);
    ar = nw_arena_new(64 * 1024);
    FUZZ_CHECK(js_wide && js_tight && ar);
}

/* the document being scanned in place, when it is: a view into it must
 * end before the padding */
static const char *doc_p;
static size_t doc_n;

static unsigned check_vals(nw_jscan *js, const nw_jval *v, size_t n, int depth)
{
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(v[i].type <= NW_J_ARRAY);
        if (doc_p && v[i].s.p >= doc_p && v[i].s.p <= doc_p + doc_n + NW_JSCAN_PADDING)
            FUZZ_CHECK(v[i].s.p + v[i].s.n <= doc_p + doc_n);
        if (v[i].type == NW_J_STRING || v[i].type == NW_J_NUMBER || v[i].type == NW_J_OBJECT ||
            v[i].type == NW_J_ARRAY) {
            FUZZ_CHECK(v[i].s.n == 0 || v[i].s.p != NULL);
            s += fuzz_touch(v[i].s.p, v[i].s.n);
        }
        if (v[i].type == NW_J_NUMBER)
            FUZZ_CHECK(v[i].s.n > 0);
        if ((v[i].type == NW_J_OBJECT || v[i].type == NW_J_ARRAY) && depth < 2) {
            /* a subtree as the decoders use it: scanned again, without padding */
            FUZZ_CHECK(v[i].s.n >= 1);
            FUZZ_CHECK(v[i].s.p[0] == (v[i].type == NW_J_OBJECT ? '{' : '['));
            nw_jval sub[1];
            nw_err err;
            nw_err_clear(&err);
            int rc = nw_jscan_doc(js, v[i].s.p, v[i].s.n, v[i].s.n, ps[2], sub, ar, &err);
            /* it parsed once as part of the document: it parses alone (or is
             * over a cap that only the subtree's own scan measures) */
            FUZZ_CHECK(rc == 0 || rc == NW_JSCAN_E_TOO_DEEP || rc == NW_JSCAN_E_SYNTAX);
            if (rc == 0)
                s += check_vals(js, sub, 1, depth + 1);
        }
    }
    return s;
}

struct each_ctx {
    nw_jscan *js;
    size_t n;
    size_t calls;
};

static int each_cb(void *ctx, size_t index, const nw_jval *vals)
{
    struct each_ctx *c = ctx;
    FUZZ_CHECK(index == c->calls);
    c->calls++;
    check_vals(c->js, vals, c->n, 1);
    return c->calls > 10000; /* exercise the stop path on huge arrays */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init();
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    const char *doc = (const char *)data + 1;
    size_t len = size - 1;
    const struct set *set = &sets[mode % NSETS];
    nw_jpaths *p = ps[mode % NSETS];
    nw_jscan *js = (mode & 0x10) ? js_tight : js_wide;
    nw_jval vals[16];
    nw_err err;
    nw_err_clear(&err);

    /* in place: an exact-size buffer with the padding the scanner asks for */
    char *padded = malloc(len + NW_JSCAN_PADDING);
    FUZZ_CHECK(padded != NULL);
    memcpy(padded, doc, len);
    memset(padded + len, ' ', NW_JSCAN_PADDING);
    const char *buf = (mode & 0x20) ? padded : doc;
    size_t cap = (mode & 0x20) ? len + NW_JSCAN_PADDING : len;

    doc_p = (mode & 0x20) ? padded : NULL;
    doc_n = len;
    int rc = nw_jscan_doc(js, buf, len, cap, p, vals, ar, &err);
    FUZZ_CHECK(rc <= 0 && rc >= NW_JSCAN_E_CALLBACK && rc != NW_JSCAN_E_PATH && rc != NW_JSCAN_E_CALLBACK);
    if (rc == 0)
        check_vals(js, vals, set->n, 0);
    else
        FUZZ_CHECK(err.msg[0] != '\0');

    struct each_ctx ec = {js, set->n, 0};
    nw_err_clear(&err);
    rc = nw_jscan_each(js, buf, len, cap, p, ar, each_cb, &ec, &err);
    FUZZ_CHECK(rc <= 0 && rc >= NW_JSCAN_E_CALLBACK && rc != NW_JSCAN_E_PATH);
    FUZZ_CHECK(rc != NW_JSCAN_E_CALLBACK || ec.calls == 10001);

    /* the caps: none (always within), or tight ones */
    nw_err_clear(&err);
    FUZZ_CHECK(nw_jscan_measure(doc, len, 0, 0, &err) == NW_JSCAN_OK);
    size_t max_string = (mode & 0x40) ? 8 : 0, max_fields = (mode & 0x80) ? 6 : 0;
    rc = nw_jscan_measure(doc, len, max_string, max_fields, &err);
    FUZZ_CHECK(rc == NW_JSCAN_OK || (rc == NW_JSCAN_E_STRING && max_string) || (rc == NW_JSCAN_E_FIELDS && max_fields));
    if (rc) {
        FUZZ_CHECK(err.offset >= 0 && (size_t)err.offset < len && err.msg[0] != '\0');
        char at = doc[err.offset];
        if (rc == NW_JSCAN_E_STRING)
            FUZZ_CHECK(at == '"');
        else
            FUZZ_CHECK(at != ' ' && at != '\n' && at != '\r' && at != '\t' && at != '}' && at != ']');
    }

    free(padded);
    nw_arena_reset(ar);
    return 0;
}
