/* test_stream.c - the streaming detectors (stream.h) on the store's event
 * hook. NHI-ACTIVE-001 is judged on arrival: an event after at least
 * gap_days of silence since the identity's latest applied event is
 * alerted, with that event as evidence, in one batch or across batches and
 * a re-opened store; older history applied after newer events is not (it
 * would raise false alarms when logs are read region by region, the gap
 * filled by files not read yet); a short gap is not.
 */
#include <stdlib.h>
#include <unistd.h>

#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"
#include "rules.h"
#include "store.h"
#include "stream.h"

static nw_event mk(const char *key, const char *t, const char *id)
{
    nw_event e;
    memset(&e, 0, sizeof e);
    e.provider = NW_PROV_AWS;
    e.kind = NW_KIND_NON_HUMAN;
    e.identity_key = nw_str_c(key);
    e.identity_type = NW_STR_LIT("iam_role");
    e.account = NW_STR_LIT("111122223333");
    nw_time_parse(nw_str_c(t), &e.time_us);
    e.action = NW_STR_LIT("s3:GetObject");
    e.service = NW_STR_LIT("s3");
    e.outcome = NW_OUT_SUCCESS;
    e.access = NW_ACCESS_READ;
    e.source_ip = NW_STR_LIT("203.0.113.7");
    e.user_agent = NW_STR_LIT("Boto3/1.34.0 md/Botocore#1.34.0");
    e.region = NW_STR_LIT("us-east-1");
    e.event_id = nw_str_c(id);
    nw_str part = nw_str_c(id);
    nw_hash128(&part, 1, e.dedupe_id);
    return e;
}

static json_t *sent; /* every alert, copied */

static void on_alert(void *ctx, const json_t *a)
{
    (void)ctx;
    json_array_append_new(sent, json_deep_copy(a));
}

static const char *sget(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The alerts of rule for key, and the last of them in *last. */
static int alerts_for(const char *rule, const char *key, json_t **last)
{
    int n = 0;
    size_t i;
    json_t *a;
    json_array_foreach(sent, i, a)
    {
        if (strcmp(sget(a, "rule"), rule) == 0 && strcmp(sget(a, "identity"), key) == 0) {
            n++;
            *last = a;
        }
    }
    return n;
}

static void apply(nw_store *st, nw_event *ev, size_t n)
{
    nw_err err;
    nw_err_clear(&err);
    nw_apply_result res = {0};
    CHECK_INT(nw_store_apply(st, ev, n, NULL, NULL, 0, &res, &err), 0);
    CHECK_INT(res.applied, n);
}

int main(void)
{
    char path[] = "/tmp/nw_test_stream_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    nw_err err;
    nw_err_clear(&err);
    nw_store *st = NULL;
    nw_rules *rules = NULL;
    CHECK_INT(nw_store_open(path, NULL, &st, &err), 0);
    CHECK_INT(nw_rules_load(NULL, &rules, &err), 0);
    CHECK(st && rules);
    if (!st || !rules) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return nw_test_finish();
    }
    sent = json_array();
    nw_stream *s = nw_stream_new(rules, on_alert, NULL, &err);
    CHECK(s != NULL);
    nw_store_set_hook(st, nw_stream_hook, s);
    json_t *a = NULL;

    /* in order, two batches: the event after 59 silent days is the evidence */
    const char *r1 = "arn:aws:iam::111122223333:role/in-order";
    nw_event a1 = mk(r1, "2025-01-01T10:00:00Z", "a-old");
    nw_event a2 = mk(r1, "2025-03-01T10:00:00Z", "a-new");
    apply(st, &a1, 1);
    apply(st, &a2, 1);
    CHECK_INT(alerts_for("NHI-ACTIVE-001", r1, &a), 1);
    CHECK_CSTR(sget(a, "time"), "2025-03-01T10:00:00Z");
    json_t *ev = json_object_get(a, "evidence");
    CHECK_CSTR(sget(ev, "event_id"), "a-new");
    CHECK_CSTR(sget(ev, "silent_since"), "2025-01-01T10:00:00Z");
    CHECK_CSTR(sget(ev, "action"), "s3:GetObject");
    CHECK_INT(json_integer_value(json_object_get(ev, "silent_days")), 59);

    /* in order within one batch: the cached state moves with every event */
    const char *r5 = "arn:aws:iam::111122223333:role/one-batch";
    nw_event b[3] = {mk(r5, "2025-01-01T10:00:00Z", "b-old"), mk(r5, "2025-01-05T10:00:00Z", "b-mid"),
                     mk(r5, "2025-03-01T10:00:00Z", "b-new")};
    apply(st, b, 3);
    CHECK_INT(alerts_for("NHI-ACTIVE-001", r5, &a), 1);
    CHECK_CSTR(sget(json_object_get(a, "evidence"), "event_id"), "b-new");
    CHECK_CSTR(sget(json_object_get(a, "evidence"), "silent_since"), "2025-01-05T10:00:00Z");

    /* the second of two batches, from a re-opened store: the state comes
     * back from the database */
    const char *r3 = "arn:aws:iam::111122223333:role/reopened";
    nw_event c1 = mk(r3, "2025-02-01T08:00:00Z", "c-old");
    apply(st, &c1, 1);
    nw_store_close(st);
    st = NULL;
    CHECK_INT(nw_store_open(path, NULL, &st, &err), 0);
    if (!st)
        return nw_test_finish();
    nw_store_set_hook(st, nw_stream_hook, s);
    nw_event c2 = mk(r3, "2025-04-10T08:00:00Z", "c-new");
    apply(st, &c2, 1);
    CHECK_INT(alerts_for("NHI-ACTIVE-001", r3, &a), 1);
    CHECK_CSTR(sget(a, "time"), "2025-04-10T08:00:00Z");
    CHECK_CSTR(sget(json_object_get(a, "evidence"), "event_id"), "c-new");
    CHECK_CSTR(sget(json_object_get(a, "evidence"), "silent_since"), "2025-02-01T08:00:00Z");

    /* read region by region: a region used only lately comes first, then a
     * region with the whole history (every 20 days), oldest first. The older events
     * arrive after newer ones and the gap they seem to open is filled by
     * events still to come: no alert at any point. */
    const char *r2 = "arn:aws:iam::111122223333:role/two-regions";
    nw_event late = mk(r2, "2025-06-20T10:00:00Z", "eu-late");
    apply(st, &late, 1);
    static const char *const days[] = {"2025-01-01", "2025-01-21", "2025-02-10", "2025-03-02", "2025-03-22",
                                       "2025-04-11", "2025-05-01", "2025-05-21", "2025-06-10", "2025-06-30"};
    nw_event daily[10];
    char ids[10][16], ts[10][32];
    for (int i = 0; i < 10; i++) { /* every 20 days: under gap_days */
        snprintf(ids[i], sizeof ids[i], "us-%d", i);
        snprintf(ts[i], sizeof ts[i], "%sT10:00:00Z", days[i]);
        daily[i] = mk(r2, ts[i], ids[i]);
        daily[i].region = NW_STR_LIT("us-east-1");
    }
    apply(st, daily, 5);
    apply(st, daily + 5, 5);
    CHECK_INT(alerts_for("NHI-ACTIVE-001", r2, &a), 0);

    /* a gap under gap_days (30), in either order: no alert */
    const char *r4 = "arn:aws:iam::111122223333:role/short-gap";
    nw_event d[2] = {mk(r4, "2025-01-20T00:00:00Z", "d-new"), mk(r4, "2025-01-01T00:00:00Z", "d-old")};
    apply(st, d, 2);
    nw_event d3 = mk(r4, "2025-02-10T00:00:00Z", "d-last");
    apply(st, &d3, 1);
    CHECK_INT(alerts_for("NHI-ACTIVE-001", r4, &a), 0);

    nw_stream_free(s);
    nw_rules_free(rules);
    nw_store_close(st);
    json_decref(sent);
    char side[sizeof path + 8];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return nw_test_finish();
}
