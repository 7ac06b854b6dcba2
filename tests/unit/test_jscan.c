/* test_jscan.c - the simdjson-backed path scanner. */
#include <stdlib.h>

#include "jscan.h"
#include "nw_test.h"

static nw_jscan *js;
static nw_arena *ar;

static int scan(const char *doc, const nw_jpaths *ps, nw_jval *v)
{
    nw_err e;
    nw_err_clear(&e);
    return nw_jscan_doc(js, doc, strlen(doc), strlen(doc), ps, v, ar, &e);
}

static int count_cb(void *ctx, size_t idx, const nw_jval *v)
{
    int *n = ctx;
    if (v[0].type == NW_J_STRING)
        (*n)++;
    (void)idx;
    return 0;
}

int main(void)
{
    nw_err e;
    nw_err_clear(&e);
    js = nw_jscan_new(1 << 20, 64);
    ar = nw_arena_new(0);
    const char *paths[] = {"userIdentity/type", "userIdentity/sessionContext/sessionIssuer/arn", "eventTime",
                           "resources", "readOnly", "n", "identity/claims/http:~1~1x~1oid", "nul"};
    nw_jpaths *ps = nw_jpaths_new(paths, 8, &e);
    CHECK(ps != NULL);
    nw_jval v[8];
    const char *doc = "{\"userIdentity\":{\"TYPE\":\"Assumed\\\"Role\",\"sessionContext\":{\"sessionIssuer\":"
                      "{\"arn\":\"arn:x\"}}},\"eventTime\":\"2020\",\"resources\":[{\"a\":1}], \"readOnly\": true, "
                      "\"n\": 12.5e3 , \"identity\":{\"claims\":{\"http://x/oid\":\"OID\"}}, \"nul\": null,"
                      "\"eventTime\":\"second\"}";
    CHECK_INT(scan(doc, ps, v), 0);
    CHECK_INT(v[0].type, NW_J_STRING);
    CHECK_STR(v[0].s, "Assumed\"Role"); /* unescaped, case-insensitive key */
    CHECK_STR(v[1].s, "arn:x");
    CHECK_STR(v[2].s, "2020"); /* first occurrence wins */
    CHECK_INT(v[3].type, NW_J_ARRAY);
    CHECK_STR(v[3].s, "[{\"a\":1}]");
    CHECK_INT(v[4].type, NW_J_BOOL);
    CHECK(v[4].b);
    CHECK_STR(v[5].s, "12.5e3");
    CHECK_STR(v[6].s, "OID");
    CHECK_INT(v[7].type, NW_J_NULL);

    /* wrong types along a path are skipped, not errors */
    CHECK_INT(scan("{\"userIdentity\": \"str\", \"eventTime\": 5}", ps, v), 0);
    CHECK_INT(v[0].type, NW_J_ABSENT);
    CHECK_INT(v[2].type, NW_J_NUMBER);

    /* malformed documents */
    CHECK_INT(scan("{\"eventTime\": }", ps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("{\"eventTime\": \"abc", ps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("[1,2]", ps, v), NW_JSCAN_E_NOT_OBJECT);
    CHECK(scan("", ps, v) < 0);

    /* conflicting paths are refused */
    const char *bad[] = {"a/b", "a"};
    CHECK(nw_jpaths_new(bad, 2, &e) == NULL);
    CHECK_INT(e.code, NW_JSCAN_E_PATH);

    /* each: elements of an array, "" path for scalars */
    const char *ep[] = {""};
    nw_jpaths *eps = nw_jpaths_new(ep, 1, &e);
    int n = 0;
    const char *arr = "[\"a\", 1, \"b\", {\"x\":1}, \"c\"]";
    CHECK_INT(nw_jscan_each(js, arr, strlen(arr), strlen(arr), eps, ar, count_cb, &n, &e), 0);
    CHECK_INT(n, 3);

    /* too large */
    nw_jscan *small = nw_jscan_new(16, 8);
    CHECK_INT(nw_jscan_doc(small, doc, strlen(doc), strlen(doc), ps, v, ar, &e), NW_JSCAN_E_TOO_LARGE);
    nw_jscan_free(small);

    nw_jpaths_free(eps);
    nw_jpaths_free(ps);
    nw_jscan_free(js);
    nw_arena_free(ar);
    return nw_test_finish();
}
