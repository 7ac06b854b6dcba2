/* test_store.c - batches, de-duplication, Azure partial records, offsets,
 * foreign and newer databases, file mode. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"
#include "store.h"

static nw_event mk(const char *key, const char *t, const char *id, const char *action, int outcome)
{
    nw_event e;
    memset(&e, 0, sizeof e);
    e.provider = NW_PROV_AWS;
    e.kind = NW_KIND_NON_HUMAN;
    e.identity_key = nw_str_c(key);
    e.identity_type = NW_STR_LIT("iam_role");
    e.account = NW_STR_LIT("111122223333");
    nw_time_parse(nw_str_c(t), &e.time_us);
    e.action = nw_str_c(action);
    e.service = NW_STR_LIT("s3");
    e.outcome = (uint8_t)outcome;
    e.access = NW_ACCESS_READ;
    e.source_ip = NW_STR_LIT("203.0.113.7");
    e.user_agent = NW_STR_LIT("Boto3/1.34.0 md/Botocore#1.34.0");
    e.region = NW_STR_LIT("us-east-1");
    e.credential_id = NW_STR_LIT("ASIAEXAMPLE");
    e.cred_kind = NW_CRED_AWS_TEMPORARY;
    nw_str part = nw_str_c(id);
    nw_hash128(&part, 1, e.dedupe_id);
    return e;
}

struct sum {
    int n;
    int64_t events, failures, denied, first, last, last_success;
    char last_ip[64], type[32];
};

static int on_ident(void *ctx, const nw_ident_row *r)
{
    struct sum *s = ctx;
    s->n++;
    s->events = r->events;
    s->failures = r->failures;
    s->denied = r->denied;
    s->first = r->first_seen;
    s->last = r->last_seen;
    s->last_success = r->last_success;
    snprintf(s->last_ip, sizeof s->last_ip, "%s", r->last_ip ? r->last_ip : "");
    snprintf(s->type, sizeof s->type, "%s", r->type);
    return 0;
}

static int n_days, n_actions, n_sources;
static int on_day(void *c, const nw_day_row *r) { (void)c; (void)r; n_days++; return 0; }
static int on_used(void *c, const nw_used_row *r) { (void)c; (void)r; n_actions++; return 0; }
static int on_src(void *c, const nw_source_row *r)
{
    (void)c;
    if (strcmp(r->kind, "net") == 0)
        CHECK_CSTR(r->value, "203.0.113.0/24");
    if (strcmp(r->kind, "ua") == 0)
        CHECK_CSTR(r->value, "boto3");
    n_sources++;
    return 0;
}

int main(void)
{
    char path[] = "/tmp/nw_test_store_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    nw_store *st = NULL;
    nw_err err;
    nw_err_clear(&err);
    CHECK_INT(nw_store_open(path, NULL, &st, &err), 0);
    struct stat sb;
    CHECK_INT(stat(path, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0600);

    const char *role = "arn:aws:iam::111122223333:role/app";
    nw_event b1[4] = {
        mk(role, "2025-03-01T10:00:00Z", "e1", "s3:GetObject", NW_OUT_SUCCESS),
        mk(role, "2025-03-02T10:00:00Z", "e2", "s3:GetObject", NW_OUT_DENIED),
        mk(role, "2025-03-02T11:00:00Z", "e3", "s3:ListBucket", NW_OUT_FAILURE),
        mk(role, "2025-03-01T10:00:00Z", "e1", "s3:GetObject", NW_OUT_SUCCESS), /* duplicate in batch */
    };
    nw_apply_result res = {0};
    CHECK_INT(nw_store_apply(st, b1, 4, NULL, NULL, 0, &res, &err), 0);
    CHECK_INT(res.applied, 3);
    CHECK_INT(res.duplicates, 1);
    CHECK_INT(res.new_identities, 1);

    /* the same batch again changes nothing */
    memset(&res, 0, sizeof res);
    nw_store_offset off = {"nhi.events", 3, 42};
    CHECK_INT(nw_store_apply(st, b1, 4, NULL, &off, 1, &res, &err), 0);
    CHECK_INT(res.applied, 0);
    CHECK_INT(res.duplicates, 4);
    CHECK_INT(nw_store_offset_get(st, "nhi.events", 3), 42);
    CHECK_INT(nw_store_offset_get(st, "nhi.events", 2), -1);

    /* an Azure-style partial record is de-duplicated but not counted */
    nw_event p = mk(role, "2025-03-03T00:00:00Z", "start-1", "s3:PutObject", NW_OUT_SUCCESS);
    p.phase = NW_PHASE_PARTIAL;
    memset(&res, 0, sizeof res);
    CHECK_INT(nw_store_apply(st, &p, 1, NULL, NULL, 0, &res, &err), 0);
    CHECK_INT(res.partial, 1);
    CHECK_INT(res.applied, 0);

    struct sum s = {0};
    CHECK_INT(nw_store_each_identity(st, on_ident, &s, &err), 0);
    CHECK_INT(s.n, 1);
    CHECK_INT(s.events, 3);
    CHECK_INT(s.failures, 1);
    CHECK_INT(s.denied, 1);
    char tb[40];
    CHECK_CSTR(nw_time_fmt(s.first, tb), "2025-03-01T10:00:00Z");
    CHECK_CSTR(nw_time_fmt(s.last, tb), "2025-03-02T11:00:00Z");
    CHECK_CSTR(nw_time_fmt(s.last_success, tb), "2025-03-01T10:00:00Z");
    CHECK_CSTR(s.last_ip, "203.0.113.7");
    CHECK_CSTR(s.type, "iam_role");
    CHECK_INT(nw_store_each_day(st, 1, on_day, NULL, &err), 0);
    CHECK_INT(n_days, 2);
    CHECK_INT(nw_store_each_used(st, 1, on_used, NULL, &err), 0);
    CHECK_INT(n_actions, 2);
    CHECK_INT(nw_store_each_source(st, 1, on_src, NULL, &err), 0);
    CHECK_INT(n_sources, 3);
    CHECK_CSTR(nw_time_fmt(nw_store_max_time(st), tb), "2025-03-02T11:00:00Z");
    nw_store_close(st);

    /* re-open: state persisted, cache rebuilt from disk */
    CHECK_INT(nw_store_open(path, NULL, &st, &err), 0);
    nw_event b2 = mk(role, "2025-03-05T00:00:00Z", "e9", "s3:GetObject", NW_OUT_SUCCESS);
    memset(&res, 0, sizeof res);
    CHECK_INT(nw_store_apply(st, &b2, 1, NULL, NULL, 0, &res, &err), 0);
    CHECK_INT(res.new_identities, 0);
    memset(&s, 0, sizeof s);
    nw_store_each_identity(st, on_ident, &s, &err);
    CHECK_INT(s.events, 4);
    nw_store_close(st);

    /* read-only open works on the existing file */
    nw_store_opts ro = {NW_STORE_READONLY, 0};
    CHECK_INT(nw_store_open(path, &ro, &st, &err), 0);
    nw_store_close(st);

    /* a file that is not a database, and a foreign SQLite database */
    char junk[] = "/tmp/nw_test_junk_XXXXXX";
    fd = mkstemp(junk);
    CHECK(write(fd, "this is not sqlite, just some text that is long enough to look like a header....\n", 82) == 82);
    close(fd);
    CHECK_INT(nw_store_open(junk, NULL, &st, &err), NW_STORE_E_FOREIGN);
    CHECK(st == NULL);
    CHECK(strstr(err.msg, "not an nhiwatch database") != NULL);
    unlink(junk);

    /* identity cap */
    unlink(path);
    nw_store_opts capped = {0, 1};
    CHECK_INT(nw_store_open(path, &capped, &st, &err), 0);
    nw_event two[2] = {mk("a", "2025-03-01T00:00:00Z", "x1", "s3:GetObject", 0),
                       mk("b", "2025-03-01T00:00:00Z", "x2", "s3:GetObject", 0)};
    CHECK_INT(nw_store_apply(st, two, 2, NULL, NULL, 0, NULL, &err), NW_STORE_E_LIMIT);
    /* rolled back: nothing stored */
    memset(&s, 0, sizeof s);
    nw_store_each_identity(st, on_ident, &s, &err);
    CHECK_INT(s.n, 0);
    nw_store_close(st);

    char buf[64];
    CHECK_CSTR(nw_ip_prefix(NW_STR_LIT("2001:db8:1234:5678::1"), buf, sizeof buf), "2001:db8:1234::/48");
    CHECK_CSTR(nw_ip_prefix(NW_STR_LIT("ec2.amazonaws.com"), buf, sizeof buf), "ec2.amazonaws.com");
    CHECK_CSTR(nw_ua_family(NW_STR_LIT("[aws-cli/2.15.30 Python/3.11.8]"), buf, sizeof buf), "aws-cli");
    CHECK_CSTR(nw_ua_family(NW_STR_LIT("Mozilla/5.0 (X11)"), buf, sizeof buf), "browser");
    CHECK_INT(nw_store_kind("iam_role", "arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_1", 0, 5),
              NW_KIND_HUMAN);
    CHECK_INT(nw_store_kind("iam_user", "arn:aws:iam::1:user/bot", 0, 5), NW_KIND_NON_HUMAN);
    CHECK_INT(nw_store_kind("iam_user", "arn:aws:iam::1:user/alice", 2, 5), NW_KIND_HUMAN);

    unlink(path);
    char wal[300];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    return nw_test_finish();
}
