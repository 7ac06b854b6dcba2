/* fuzz_policy.c - the ownership policy parser (analyze/policy.h) and the
 * glob matcher it and the inventory use (nw_glob_match, nw_action_match).
 *
 * Mode byte, low bit 0: the rest is a policy file for nw_policy_parse. On
 * success every entry must match its own pattern text (a glob matches
 * itself; the first match may be an earlier entry), and a few keys are
 * looked up. Low bit 1: the rest is "pattern\0subject", and the matcher is
 * compared with a plain dynamic-programming reference, case-sensitive and
 * not. */
#include <string.h>

#include "fuzz_common.h"
#include "inventory.h"
#include "policy.h"

static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* '*' any run, '?' one byte, the rest literal; O(n*m) table, small inputs */
static bool ref_glob(const char *p, size_t pn, const char *s, size_t sn, bool icase)
{
    bool *row = calloc(sn + 1, sizeof(bool)), *next = calloc(sn + 1, sizeof(bool));
    FUZZ_CHECK(row && next);
    row[0] = true; /* empty pattern vs empty prefix */
    for (size_t i = 0; i < pn; i++) {
        memset(next, 0, (sn + 1) * sizeof(bool));
        if (p[i] == '*') {
            bool any = false;
            for (size_t j = 0; j <= sn; j++) {
                any = any || row[j];
                next[j] = any;
            }
        } else {
            for (size_t j = 1; j <= sn; j++) {
                bool eq = p[i] == '?' || (icase ? lower((unsigned char)p[i]) == lower((unsigned char)s[j - 1])
                                                : p[i] == s[j - 1]);
                next[j] = row[j - 1] && eq;
            }
        }
        bool *t = row;
        row = next;
        next = t;
    }
    bool r = row[sn];
    free(row);
    free(next);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        const char *z = memchr(buf, '\0', len);
        if (!z || len > 4096)
            return 0;
        nw_str pat = nw_str_mk(buf, (size_t)(z - buf));
        nw_str sub = nw_str_mk(z + 1, len - pat.n - 1);
        for (int icase = 0; icase < 2; icase++) {
            bool got = nw_glob_match(pat, sub, icase);
            bool want = ref_glob(pat.p, pat.n, sub.p, sub.n, icase);
            if (got != want) {
                fprintf(stderr, "glob '%.*s' on '%.*s' (icase %d): %d, expected %d\n", (int)pat.n, pat.p,
                        (int)sub.n, sub.p, icase, got, want);
                FUZZ_CHECK(!"nw_glob_match agrees with the reference");
            }
        }
        /* nw_action_match: NUL-terminated pattern, case-insensitive; an
         * empty pattern matches only the empty action */
        char *cp = malloc(pat.n + 1);
        FUZZ_CHECK(cp != NULL);
        memcpy(cp, pat.p, pat.n);
        cp[pat.n] = '\0';
        bool want = pat.n ? ref_glob(pat.p, pat.n, sub.p, sub.n, true) : sub.n == 0;
        FUZZ_CHECK(nw_action_match(cp, sub) == want);
        free(cp);
        return 0;
    }
    nw_policy *p = NULL;
    nw_err err;
    nw_err_clear(&err);
    int rc = nw_policy_parse(buf, len, "fuzz-policy.json", &p, &err);
    FUZZ_CHECK(rc <= 0 && rc >= NW_POLICY_E_NOMEM);
    if (rc) {
        FUZZ_CHECK(p == NULL);
        FUZZ_CHECK(err.msg[0] != '\0');
        return 0;
    }
    FUZZ_CHECK(p != NULL);
    size_t n = nw_policy_count(p);
    for (size_t i = 0; i < n; i++) {
        const nw_policy_entry *e = nw_policy_entry_at(p, i);
        FUZZ_CHECK(e && e->match && e->index == (int)i);
        FUZZ_CHECK(e->rotation_days >= 0 && e->jit >= -1 && e->jit <= 1);
        if (e->owner)
            fuzz_touch(e->owner, strlen(e->owner));
        if (e->tags_json)
            fuzz_touch(e->tags_json, strlen(e->tags_json));
        const nw_policy_entry *m = nw_policy_match(p, e->match);
        FUZZ_CHECK(m != NULL && m->index <= e->index);
    }
    FUZZ_CHECK(nw_policy_entry_at(p, n) == NULL);
    nw_policy_match(p, "arn:aws:iam::111122223333:role/ci-deploy");
    nw_policy_match(p, "terraform@acme-prod.iam.gserviceaccount.com");
    nw_policy_match(p, "");
    nw_policy_free(p);
    return 0;
}
