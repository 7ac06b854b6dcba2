/* test_detect.c - the report-time detectors on hand-built histories, at and
 * around each threshold of the shipped rules (rules/). */
#include <stdlib.h>
#include <unistd.h>

#include "detect.h"
#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"
#include "store.h"

static nw_store *st;
static nw_rules *rules;
static int seq;

static int64_t T(const char *s)
{
    int64_t us = 0;
    nw_time_parse(nw_str_c(s), &us);
    return us;
}

/* n events for key on day `day` (days from 2026-01-01), 10 s apart from 08:00 */
static void add(const char *key, const char *type, int day, int n, int outcome, const char *action,
                const char *service, const char *ip, unsigned flags)
{
    static nw_event ev[4096];
    static char ids[4096][32];
    int64_t base = T("2026-01-01T08:00:00Z") + (int64_t)day * NW_US_PER_DAY;
    for (int i = 0; i < n; i++) {
        nw_event *e = &ev[i];
        memset(e, 0, sizeof *e);
        e->provider = NW_PROV_AWS;
        e->kind = NW_KIND_NON_HUMAN;
        e->identity_key = nw_str_c(key);
        e->identity_type = nw_str_c(type);
        e->time_us = base + (int64_t)i * 10 * NW_US_PER_SEC;
        e->action = nw_str_c(action);
        e->service = nw_str_c(service);
        e->outcome = (uint8_t)outcome;
        e->source_ip = nw_str_c(ip);
        e->region = NW_STR_LIT("us-east-1");
        e->user_agent = NW_STR_LIT("Boto3/1.34.0");
        e->flags = (uint16_t)flags;
        snprintf(ids[i], sizeof ids[i], "ev-%d", ++seq);
        e->event_id = nw_str_c(ids[i]);
        nw_hash128(&e->event_id, 1, e->dedupe_id);
    }
    nw_err err;
    nw_err_clear(&err);
    if (nw_store_apply(st, ev, (size_t)n, NULL, NULL, 0, NULL, &err))
        fprintf(stderr, "apply: %s\n", err.msg);
}

static void daily(const char *key, int from, int to, int n)
{
    for (int d = from; d <= to; d++)
        add(key, "iam_role", d, n, NW_OUT_SUCCESS, "s3:GetObject", "s3", "10.0.0.1", 0);
}

struct found {
    json_t *all;
};

static int ident_cb(void *ctx, const nw_ident_row *r);

static json_t *findings_as_of(const char *as_of)
{
    nw_err err;
    nw_err_clear(&err);
    nw_detect_opts o = {rules, NULL, T(as_of)};
    nw_detect *d = nw_detect_new(&o, &err);
    if (!d) {
        fprintf(stderr, "detect: %s\n", err.msg);
        return json_array();
    }
    json_t *all = json_array();
    struct {
        nw_detect *d;
        json_t *all;
    } c = {d, all};
    nw_store_each_identity(st, ident_cb, &c, &err);
    nw_detect_free(d);
    return all;
}

static int ident_cb(void *ctx, const nw_ident_row *r)
{
    struct {
        nw_detect *d;
        json_t *all;
    } *c = ctx;
    nw_err err;
    nw_err_clear(&err);
    int kind;
    nw_detect_subject s = {st, r, NULL, NULL, NULL};
    nw_detect_identity(c->d, &s, c->all, &kind, &err);
    return 0;
}

/* Count findings of a rule for an identity. */
static int has(json_t *fs, const char *key, const char *rule)
{
    int n = 0;
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "identity")), key) == 0 &&
            strcmp(json_string_value(json_object_get(f, "rule")), rule) == 0)
            n++;
    }
    return n;
}

static json_t *get(json_t *fs, const char *key, const char *rule)
{
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "identity")), key) == 0 &&
            strcmp(json_string_value(json_object_get(f, "rule")), rule) == 0)
            return json_object_get(f, "evidence");
    }
    return NULL;
}

int main(void)
{
    char path[] = "/tmp/nw_test_detect_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    nw_err err;
    nw_err_clear(&err);
    CHECK_INT(nw_store_open(path, NULL, &st, &err), 0);
    CHECK_INT(nw_rules_load(NULL, &rules, &err), 0);
    if (!rules) {
        fprintf(stderr, "rules: %s\n", err.msg);
        return nw_test_finish();
    }

    /* day 0 = 2026-01-01; day 180 = 2026-06-30 */
    const char *dorm = "arn:aws:iam::1:role/dormant";      /* daily, days 0..59, then silence */
    const char *near = "arn:aws:iam::1:role/near-dormant"; /* daily, days 0..91 */
    const char *quarterly = "arn:aws:iam::1:role/quarterly"; /* runs on days 0, 91 */
    const char *react = "arn:aws:iam::1:role/reactivated";  /* daily 0..119, silent, back on 177 */
    const char *spiky = "arn:aws:iam::1:role/spike";        /* 60/day for 0..179, 3000 on 179 */
    const char *bursty = "arn:aws:iam::1:role/monthly-batch"; /* 3000 on the 1st of each month */
    const char *newsvc = "arn:aws:iam::1:role/new-service";
    const char *denied = "arn:aws:iam::1:role/denied";
    const char *human = "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_abc";

    daily(dorm, 0, 59, 3);
    daily(near, 0, 91, 3);
    for (int q = -273; q <= 91; q += 91) /* five quarterly runs: a rhythm of 91 days */
        add(quarterly, "iam_role", q, 5, NW_OUT_SUCCESS, "s3:PutObject", "s3", "10.0.0.2", 0);
    daily(react, 0, 119, 2);
    add(react, "iam_role", 177, 4, NW_OUT_SUCCESS, "iam:CreateAccessKey", "iam", "10.0.0.1", NW_EV_PRIVILEGED);
    daily(spiky, 0, 178, 60);
    for (int k = 0; k < 3000; k += 1000)
        add(spiky, "iam_role", 179, 1000, NW_OUT_SUCCESS, "s3:GetObject", "s3", "10.0.0.1", 0);
    static const int firsts[] = {0, 31, 59, 90, 120, 151};
    for (size_t m = 0; m < 6; m++)
        for (int k = 0; k < 3; k++)
            add(bursty, "iam_role", firsts[m], 1000, NW_OUT_SUCCESS, "s3:GetObject", "s3", "10.0.0.3", 0);
    daily(bursty, 0, 179, 1);
    daily(newsvc, 0, 179, 2);
    add(newsvc, "iam_role", 178, 3, NW_OUT_SUCCESS, "secretsmanager:GetSecretValue", "secretsmanager", "10.0.0.1",
        NW_EV_SECRET_READ);
    add(newsvc, "iam_role", 178, 1, NW_OUT_SUCCESS, "s3:GetObject", "s3", "198.51.100.7", 0);
    daily(denied, 0, 179, 10);
    add(denied, "iam_role", 178, 30, NW_OUT_DENIED, "iam:ListUsers", "iam", "10.0.0.1", 0);
    add(human, "iam_role", 0, 3, NW_OUT_SUCCESS, "s3:GetObject", "s3", "10.0.0.1", 0);
    /* a CI role that calls from a different network every day: a new one is normal */
    const char *spread = "arn:aws:iam::1:role/ci-runner";
    for (int d = 0; d <= 178; d++) {
        char ip[32];
        snprintf(ip, sizeof ip, "203.0.%d.9", d);
        add(spread, "iam_role", d, 2, NW_OUT_SUCCESS, "s3:GetObject", "s3", ip, 0);
    }

    json_t *fs = findings_as_of("2026-06-30T12:00:00Z");

    /* dormant: silent since day 59 (121 days) -> yes; near: since day 91 (89 days) -> no */
    CHECK_INT(has(fs, dorm, "NHI-DORMANT-001"), 1);
    json_t *ev = get(fs, dorm, "NHI-DORMANT-001");
    CHECK_INT(json_integer_value(json_object_get(ev, "silent_days")), 121);
    CHECK_CSTR(json_string_value(json_object_get(ev, "last_successful_use")), "2026-03-01T08:00:20Z");
    CHECK(json_string_value(json_object_get(ev, "last_success_event_id")) != NULL);
    CHECK_INT(has(fs, near, "NHI-DORMANT-001"), 0);
    /* quarterly: 90 days of silence, but its own period (91 days x 1.5) covers it */
    CHECK_INT(has(fs, quarterly, "NHI-DORMANT-001"), 0);
    /* a day later the near-dormant one crosses 90 days */
    json_t *fs2 = findings_as_of("2026-07-01T12:00:00Z");
    CHECK_INT(has(fs2, near, "NHI-DORMANT-001"), 1);
    json_decref(fs2);
    /* 109 days after its last run the quarterly job is still inside 1.5 x its rhythm */
    fs2 = findings_as_of("2026-07-20T12:00:00Z");
    CHECK_INT(has(fs2, quarterly, "NHI-DORMANT-001"), 0);
    json_decref(fs2);
    /* ... and past it at 140 days */
    fs2 = findings_as_of("2026-08-20T12:00:00Z");
    CHECK_INT(has(fs2, quarterly, "NHI-DORMANT-001"), 1);
    json_decref(fs2);

    /* reactivation: silent days 120..176 (57 days) then active; first action privileged */
    CHECK_INT(has(fs, react, "NHI-ACTIVE-001"), 1);
    ev = get(fs, react, "NHI-ACTIVE-001");
    CHECK_INT(json_integer_value(json_object_get(ev, "silent_days")), 57);
    CHECK_CSTR(json_string_value(json_object_get(ev, "reactivated_at")), "2026-06-27T08:00:00Z");
    CHECK_INT(has(fs, react, "NHI-ACTIVE-004"), 1); /* first privilege-changing action */

    /* spike: 3000 vs a 60/day baseline; the monthly batch's 3000 is its rhythm */
    CHECK_INT(has(fs, spiky, "NHI-ACTIVE-002"), 1);
    CHECK_INT(json_integer_value(json_object_get(get(fs, spiky, "NHI-ACTIVE-002"), "events")), 3000);
    CHECK_INT(has(fs, bursty, "NHI-ACTIVE-002"), 0);

    /* new service and new network on an established identity */
    CHECK_INT(has(fs, newsvc, "NHI-ACTIVE-003"), 1);
    ev = get(fs, newsvc, "NHI-ACTIVE-003");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(json_object_get(ev, "new_services"), 0), "service")),
               "secretsmanager");
    CHECK_INT(has(fs, newsvc, "NHI-ACTIVE-010"), 1); /* a role: workload session from a new network */
    CHECK_INT(has(fs, dorm, "NHI-ACTIVE-003"), 0);

    CHECK_INT(has(fs, spread, "NHI-ACTIVE-010"), 0);
    CHECK_INT(has(fs, spread, "NHI-ACTIVE-005"), 0);

    /* denied burst: 30 denied of 40 on one day */
    CHECK_INT(has(fs, denied, "NHI-ACTIVE-008"), 1);
    CHECK_INT(json_integer_value(json_object_get(get(fs, denied, "NHI-ACTIVE-008"), "denied")), 30);

    /* humans never */
    size_t i;
    json_t *f;
    int human_findings = 0;
    json_array_foreach(fs, i, f) human_findings += strcmp(json_string_value(json_object_get(f, "identity")), human) == 0;
    CHECK_INT(human_findings, 0);

    /* stable ids: same rule + identity -> same id on another run */
    json_t *fs3 = findings_as_of("2026-06-30T12:00:00Z");
    CHECK_INT(json_array_size(fs3), json_array_size(fs));
    CHECK(json_equal(fs, fs3));
    json_decref(fs3);

    json_decref(fs);
    nw_rules_free(rules);
    nw_store_close(st);
    unlink(path);
    char x[300];
    snprintf(x, sizeof x, "%s-wal", path);
    unlink(x);
    snprintf(x, sizeof x, "%s-shm", path);
    unlink(x);
    return nw_test_finish();
}
