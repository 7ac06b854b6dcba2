/* test_policy.c - the ownership policy file: matching (first entry wins,
 * globs, case rules), every field, and errors with line / column or the
 * entry index and field. */
#include <stdlib.h>
#include <time.h>

#include "nw_test.h"
#include "nw_time.h"
#include "policy.h"

static int64_t T(const char *s)
{
    int64_t us = 0;
    nw_time_parse(nw_str_c(s), &us);
    return us;
}

static nw_err err;

/* Parse a buffer that must fail; returns the code. */
static int bad(const char *json)
{
    nw_policy *p = (nw_policy *)1;
    nw_err_clear(&err);
    int rc = nw_policy_parse(json, strlen(json), "p.json", &p, &err);
    CHECK(p == NULL);
    nw_policy_free(p);
    return rc;
}

static void test_file(void)
{
    nw_policy *p = NULL;
    nw_err_clear(&err);
    CHECK_INT(nw_policy_load(NW_FIXTURES_DIR "/entitlements/policy/ownership-policy.json", &p, &err), 0);
    CHECK_INT(nw_policy_count(p), 6);

    /* an exact key before the glob that also matches it: the first wins */
    const nw_policy_entry *e = nw_policy_match(p, "arn:aws:iam::111122223333:role/ci/deploy");
    CHECK(e != NULL);
    CHECK_INT(e->index, 0);
    CHECK_CSTR(e->owner, "release@example.com");
    CHECK_INT(e->expires, T("2026-06-30T00:00:00Z"));
    CHECK_INT(e->rotation_days, 30);
    CHECK_INT(e->jit, 0);
    CHECK(e->tags_json == NULL);

    e = nw_policy_match(p, "arn:aws:iam::111122223333:role/ci/build/nightly");
    CHECK_INT(e->index, 1);
    CHECK_CSTR(e->owner, "platform@example.com");
    CHECK_INT(e->expires, 0);
    CHECK_INT(e->rotation_days, 90);
    CHECK_INT(e->jit, -1);
    CHECK_CSTR(e->tags_json, "{\"env\":\"prod\",\"team\":\"platform\"}");
    /* AWS keys are case-sensitive: this one falls through to "*" */
    e = nw_policy_match(p, "arn:aws:iam::111122223333:role/CI/deploy");
    CHECK_INT(e->index, 5);
    CHECK(e->owner == NULL);
    CHECK_INT(e->jit, 0);

    /* '?' is one character */
    CHECK_INT(nw_policy_match(p, "arn:aws:iam::111122223333:user/svc-01")->index, 2);
    CHECK_INT(nw_policy_match(p, "arn:aws:iam::111122223333:user/svc-1")->index, 5);
    CHECK_INT(nw_policy_match(p, "arn:aws:iam::111122223333:user/svc-001")->index, 5);

    /* GCP and Azure keys: case-insensitive */
    e = nw_policy_match(p, "terraform@prod-proj.iam.gserviceaccount.com");
    CHECK_INT(e->index, 3);
    CHECK_INT(e->expires, T("2027-01-01T00:00:00Z"));
    CHECK_INT(e->jit, 1);
    CHECK_INT(nw_policy_match(p, "Terraform@PROD-proj.iam.gserviceaccount.com")->index, 3);
    e = nw_policy_match(p, "azure:AAAAAAAA-bbbb-4ccc-8ddd-eeeeeeeeeeee/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b");
    CHECK_INT(e->index, 4);
    CHECK(e->owner == NULL); /* null: not stated */
    CHECK_INT(e->rotation_days, 180);
    CHECK_INT(nw_policy_match(p, "azure:*/7f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b")->index, 5);
    CHECK_INT(nw_policy_entry_at(p, 3)->index, 3);
    CHECK(nw_policy_entry_at(p, 6) == NULL);
    nw_policy_free(p);

    /* no catch-all: no match */
    const char *j = "{\"version\": 1, \"identities\": [{\"match\": \"arn:aws:iam::1:role/a\"}]}";
    CHECK_INT(nw_policy_parse(j, strlen(j), "x", &p, &err), 0);
    CHECK(nw_policy_match(p, "arn:aws:iam::1:role/b") == NULL);
    CHECK(nw_policy_match(p, "arn:aws:iam::1:role/a") != NULL);
    CHECK(nw_policy_match(p, NULL) == NULL);
    nw_policy_free(p);
    /* an empty list is a valid policy */
    j = "{\"version\": 1, \"identities\": []}";
    CHECK_INT(nw_policy_parse(j, strlen(j), "x", &p, &err), 0);
    CHECK_INT(nw_policy_count(p), 0);
    CHECK(nw_policy_match(p, "x") == NULL);
    nw_policy_free(p);
    nw_policy_free(NULL);
}

static void test_errors(void)
{
    /* syntax: line, column, offset from jansson */
    CHECK_INT(bad("{\n \"version\": 1,\n \"identities\": [\n  {\"match\": \"a\",}\n ]\n}"), NW_POLICY_E_PARSE);
    CHECK_INT(err.line, 4);
    CHECK_INT(err.offset, 51);
    CHECK_CSTR(err.msg, "column 17: string or '}' expected near '}' (not valid JSON)");
    CHECK_CSTR(err.source, "p.json");
    char buf[512];
    CHECK_CSTR(nw_err_fmt(&err, buf, sizeof buf), "p.json: line 4: column 17: string or '}' expected near '}' "
                                                  "(not valid JSON)");
    CHECK_INT(bad("{\"version\": 1, \"identities\": ["), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "column 30: ']' expected near end of file (not valid JSON)");
    CHECK_INT(bad("{\"version\":1,\"version\":2}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "column 22: duplicate object key near '\"version\"' (not valid JSON)");
    CHECK_INT(bad(""), NW_POLICY_E_PARSE);

    /* semantics: the entry index and the field */
    CHECK_INT(bad("[]"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "the policy must be a JSON object {\"version\": 1, \"identities\": [...]}, not an array");
    CHECK_INT(bad("{\"identities\": []}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "version: missing (this nhiwatch reads version 1)");
    CHECK_INT(bad("{\"version\": 2, \"identities\": []}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "version: this nhiwatch reads version 1, the file says 2");
    CHECK_INT(bad("{\"version\": \"1\", \"identities\": []}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "version: must be the number 1, not a string");
    CHECK_INT(bad("{\"version\": 1}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities: missing (an array of entries)");
    CHECK_INT(bad("{\"version\": 1, \"identities\": {}}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities: must be an array, not an object");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [], \"owners\": {}}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "unknown top-level field 'owners' (known: version, identities, description)");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\"}, {\"owner\": \"x\"}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[1].match: missing (an identity key or a glob)");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"\"}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0].match: must be a non-empty string, not an empty string");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [7]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0]: must be an object, not an integer");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"rotaton_days\": 90}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0]: unknown field 'rotaton_days' (known: match, owner, expires, rotation_days, "
                        "jit, tags, description)");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\"}, {\"match\": \"b\", \"rotation_days\": "
                  "\"90\"}]}"),
              NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[1].rotation_days: must be an integer from 0 (none) to 36500, not a string");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"rotation_days\": -1}]}"),
              NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0].rotation_days: must be an integer from 0 (none) to 36500, not out of range");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"expires\": \"next year\"}]}"),
              NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg,
               "identities[0].expires: must be a date (\"2027-01-01\") or an RFC 3339 time, not a string 'next year'");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"jit\": \"yes\"}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0].jit: must be true or false, not a string");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"owner\": 3}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0].owner: must be a non-empty string or null, not an integer");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"tags\": {\"env\": 1}}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0].tags.env: must be a string, not an integer");
    CHECK_INT(bad("{\"version\": 1, \"identities\": [{\"match\": \"a\", \"tags\": [\"env\"]}]}"), NW_POLICY_E_PARSE);
    CHECK_CSTR(err.msg, "identities[0].tags: must be an object of strings, not an array");

    nw_policy *p = (nw_policy *)1;
    nw_err_clear(&err);
    CHECK_INT(nw_policy_load(NW_FIXTURES_DIR "/entitlements/policy/no-such-policy.json", &p, &err), NW_POLICY_E_OPEN);
    CHECK(p == NULL);
    CHECK(strstr(err.source, "no-such-policy.json") != NULL);
    CHECK_INT(nw_policy_load(NW_FIXTURES_DIR "/entitlements/policy", &p, &err), NW_POLICY_E_OPEN);
    CHECK_CSTR(nw_policy_strerror(NW_POLICY_E_PARSE), "malformed policy file");
}

/* A pattern that makes a backtracking matcher take exponential time. */
static void test_pathological(void)
{
    const char *j = "{\"version\": 1, \"identities\": [{\"match\": \"*a*a*a*a*a*a*a*b\", \"owner\": \"o\"}, "
                    "{\"match\": \"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c\"}]}";
    nw_policy *p = NULL;
    nw_err_clear(&err);
    CHECK_INT(nw_policy_parse(j, strlen(j), "x", &p, &err), 0);
    size_t n = 100000;
    char *key = malloc(n + 1);
    memset(key, 'a', n);
    key[n] = '\0';
    clock_t t0 = clock();
    for (int i = 0; i < 10; i++)
        CHECK(nw_policy_match(p, key) == NULL);
    key[n - 1] = 'b';
    CHECK(nw_policy_match(p, key) != NULL);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 2.0);
    free(key);
    nw_policy_free(p);
}

int main(void)
{
    test_file();
    test_errors();
    test_pathological();
    return nw_test_finish();
}
