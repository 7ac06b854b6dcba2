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

    /* one value per document: content after the root value is a syntax
     * error. simdjson refuses a root object whose last token is not '}'
     * itself; "{...}}" and "{...}{...}" (a Kafka message holding two
     * events) used to pass as the first object. */
    CHECK_INT(scan("{\"eventTime\":\"x\"}  \n\t", ps, v), 0);
    CHECK_STR(v[2].s, "x");
    CHECK_INT(scan("{\"eventTime\":\"x\"} garbage", ps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("{\"a\":1} 2", ps, v), NW_JSCAN_E_SYNTAX);
    nw_err_clear(&e);
    const char *trail = "{\"eventTime\":\"x\"}}";
    CHECK_INT(nw_jscan_doc(js, trail, strlen(trail), strlen(trail), ps, v, ar, &e), NW_JSCAN_E_SYNTAX);
    CHECK_INT(e.offset, 17);
    CHECK_CSTR(e.msg, "malformed JSON in document: content after the end at byte 17");
    CHECK_INT(scan("{\"eventTime\":\"x\"}{\"eventTime\":\"y\"}", ps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("{\"eventTime\":\"x\"} {}", ps, v), NW_JSCAN_E_SYNTAX);
    /* the same through the root path, which takes the document as a value */
    CHECK_INT(scan("{\"a\":1}", eps, v), 0);
    CHECK_STR(v[0].s, "{\"a\":1}");
    CHECK_INT(scan("{", eps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("{", ps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("{\"a\":1}{\"a\":2}", eps, v), NW_JSCAN_E_SYNTAX);
    CHECK_INT(scan("[1] [2]", eps, v), NW_JSCAN_E_SYNTAX);
    /* and after an array walked element by element */
    n = 0;
    const char *arr2 = "[\"a\", \"b\"] [\"c\"]";
    nw_err_clear(&e);
    CHECK_INT(nw_jscan_each(js, arr2, strlen(arr2), strlen(arr2), eps, ar, count_cb, &n, &e), NW_JSCAN_E_SYNTAX);
    CHECK_INT(n, 2);
    CHECK_INT(e.offset, 11);

    /* nw_jscan_measure: strings as written between the quotes, keys too */
    const char *m1 = "{\"abc\":\"0123456789\",\"k\":\"a\\\"b\\u00e9\"}";
    CHECK_INT(nw_jscan_measure(m1, strlen(m1), 10, 0, &e), NW_JSCAN_OK);
    nw_err_clear(&e);
    CHECK_INT(nw_jscan_measure(m1, strlen(m1), 9, 0, &e), NW_JSCAN_E_STRING);
    CHECK_INT(e.offset, 7);
    CHECK_CSTR(e.msg, "string of 10 bytes at byte 7 exceeds the 9-byte cap");
    /* a\"b\u00e9 is 10 bytes as written, 4 characters unescaped */
    const char *m2 = "{\"k\":\"a\\\"b\\u00e9\"}";
    CHECK_INT(nw_jscan_measure(m2, strlen(m2), 10, 0, &e), NW_JSCAN_OK);
    CHECK_INT(nw_jscan_measure(m2, strlen(m2), 9, 0, &e), NW_JSCAN_E_STRING);
    CHECK_INT(nw_jscan_measure("[\"0123456789", 12, 9, 0, &e), NW_JSCAN_E_STRING); /* never closed */
    CHECK_CSTR(e.msg, "string of at least 10 bytes at byte 1 exceeds the 9-byte cap");

    /* fields: members and elements at any depth; the document is not one */
    const char *f1 = "{\"a\":[1,2],\"b\":{},\"c\":[ ],\"d\":\"x,[{y\",\"e\":[{}]}";
    /* a, 1, 2, b, c, d, e, {} = 8 (the ',' '[' '{' in d's string are text) */
    CHECK_INT(nw_jscan_measure(f1, strlen(f1), 0, 8, &e), NW_JSCAN_OK);
    nw_err_clear(&e);
    CHECK_INT(nw_jscan_measure(f1, strlen(f1), 0, 7, &e), NW_JSCAN_E_FIELDS);
    CHECK_INT(e.offset, 43); /* the '{' inside e's array, its eighth field */
    CHECK_CSTR(e.msg, "more than 7 fields (object members and array elements): field 8 at byte 43");
    CHECK_INT(nw_jscan_measure("{}", 2, 0, 1, &e), NW_JSCAN_OK);
    CHECK_INT(nw_jscan_measure("[ \n]", 4, 0, 1, &e), NW_JSCAN_OK);
    CHECK_INT(nw_jscan_measure("[0]", 3, 0, 1, &e), NW_JSCAN_OK);
    CHECK_INT(nw_jscan_measure("[0,0]", 5, 0, 1, &e), NW_JSCAN_E_FIELDS);
    CHECK_INT(e.offset, 2);
    CHECK_INT(nw_jscan_measure(doc, strlen(doc), 0, 0, &e), NW_JSCAN_OK); /* 0: no cap */
    CHECK_INT(nw_jscan_measure("", 0, 1, 1, &e), NW_JSCAN_OK);
    CHECK_INT(nw_jscan_measure("\"\\", 2, 0, 0, &e), NW_JSCAN_OK); /* ends in a lone backslash */

    nw_jpaths_free(eps);
    nw_jpaths_free(ps);
    nw_jscan_free(js);
    nw_arena_free(ar);
    return nw_test_finish();
}
