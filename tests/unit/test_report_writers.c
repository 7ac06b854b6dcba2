/* test_report_writers.c - the pieces behind the report formats: CSV fields,
 * shell quoting and remediation commands, HTML escaping, the compliance
 * view, the baseline scanner and drift, metric flattening, the format list,
 * the report history in the store, the spilled findings set. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../analyze/store.h"
#include "../../reports/collect.h"
#include "../../reports/compliance.h"
#include "../../reports/csv.h"
#include "../../reports/drift.h"
#include "../../reports/findings.h"
#include "../../reports/html.h"
#include "../../reports/remediation.h"
#include "nw_test.h"

/* run f on a memory stream, return what it wrote (static buffer) */
static const char *capture(void (*f)(FILE *, const char *), const char *arg)
{
    static char buf[4096];
    FILE *m = fmemopen(buf, sizeof buf, "w");
    f(m, arg);
    fputc('\0', m);
    fclose(m);
    return buf;
}

static void test_csv_field(void)
{
    CHECK_CSTR(capture(nw_csv_field, "plain"), "plain");
    CHECK_CSTR(capture(nw_csv_field, "a,b"), "\"a,b\"");
    CHECK_CSTR(capture(nw_csv_field, "say \"hi\""), "\"say \"\"hi\"\"\"");
    CHECK_CSTR(capture(nw_csv_field, "two\nlines"), "\"two\nlines\"");
    CHECK_CSTR(capture(nw_csv_field, "=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    CHECK_CSTR(capture(nw_csv_field, "+1"), "\"'+1\"");
    CHECK_CSTR(capture(nw_csv_field, "-2"), "\"'-2\"");
    CHECK_CSTR(capture(nw_csv_field, "@SUM(A1)"), "\"'@SUM(A1)\"");
    CHECK_CSTR(capture(nw_csv_field, "\tx"), "\"'\tx\"");
    CHECK_CSTR(capture(nw_csv_field, ""), "");
}

static void test_shell(void)
{
    CHECK_CSTR(capture(nw_sh_quote, "simple-name_1.2@x:y"), "simple-name_1.2@x:y");
    CHECK_CSTR(capture(nw_sh_quote, "it's $(rm -rf /)"), "'it'\\''s $(rm -rf /)'");
    CHECK_CSTR(capture(nw_sh_quote, "a\nb'c"), "$'a\\x0ab\\'c'");
    CHECK_CSTR(capture(nw_sh_quote, ""), "''");

    json_t *dis, *rb;
    json_t *creds = json_pack("[{s:s, s:s}, {s:s, s:s}]", "id", "AKIAEXAMPLE1", "kind", "aws_long_term", "id",
                              "ASIATEMP", "kind", "aws_temporary");
    nw_remediation_commands("aws", "iam_user", "arn:aws:iam::111122223333:user/ci/bot'x", creds, NULL, false, &dis,
                            &rb);
    CHECK_INT(json_array_size(dis), 2);
    CHECK_CSTR(json_string_value(json_array_get(dis, 0)),
               "aws iam update-access-key --user-name 'bot'\\''x' --access-key-id AKIAEXAMPLE1 --status Inactive");
    CHECK_CSTR(json_string_value(json_array_get(rb, 1)),
               "aws iam delete-user-policy --user-name 'bot'\\''x' --policy-name nhiwatch-quarantine");
    json_decref(dis);
    json_decref(rb);
    /* unused credentials only: the key, not the user */
    nw_remediation_commands("aws", "iam_user", "arn:aws:iam::111122223333:user/bot", creds, NULL, true, &dis, &rb);
    CHECK_INT(json_array_size(dis), 1);
    json_decref(dis);
    json_decref(rb);
    json_decref(creds);

    creds = json_pack("[{s:s, s:s}]", "id", "projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/abc123",
                      "kind", "gcp_sa_key");
    nw_remediation_commands("gcp", "service_account", "sa@p.iam.gserviceaccount.com", creds, NULL, false, &dis, &rb);
    CHECK_INT(json_array_size(dis), 2);
    CHECK_CSTR(json_string_value(json_array_get(dis, 0)),
               "gcloud iam service-accounts keys disable abc123 --iam-account sa@p.iam.gserviceaccount.com --project p");
    CHECK_CSTR(json_string_value(json_array_get(dis, 1)),
               "gcloud iam service-accounts disable sa@p.iam.gserviceaccount.com --project p");
    CHECK_CSTR(json_string_value(json_array_get(rb, 1)),
               "gcloud iam service-accounts enable sa@p.iam.gserviceaccount.com --project p");
    json_decref(dis);
    json_decref(rb);
    json_decref(creds);

    nw_remediation_commands("azure", "service_principal", "azure:tttt/oooo", NULL, NULL, false, &dis, &rb);
    CHECK_CSTR(json_string_value(json_array_get(dis, 0)), "az ad sp update --id oooo --set accountEnabled=false");
    CHECK_CSTR(json_string_value(json_array_get(rb, 0)), "az ad sp update --id oooo --set accountEnabled=true");
    json_decref(dis);
    json_decref(rb);
    json_t *grants = json_pack("[s]", "Contributor via role:Contributor@/subscriptions/s1/resourceGroups/rg 1");
    nw_remediation_commands("azure", "managed_identity", "azure:tttt/mi", NULL, grants, false, &dis, &rb);
    CHECK_CSTR(json_string_value(json_array_get(dis, 0)),
               "az role assignment delete --assignee mi --role Contributor --scope '/subscriptions/s1/resourceGroups/rg 1'");
    CHECK_CSTR(json_string_value(json_array_get(rb, 0)),
               "az role assignment create --assignee-object-id mi --assignee-principal-type ServicePrincipal --role "
               "Contributor --scope '/subscriptions/s1/resourceGroups/rg 1'");
    json_decref(dis);
    json_decref(rb);
    json_decref(grants);
    /* nothing reversible for these */
    nw_remediation_commands("aws", "root", "arn:aws:iam::111122223333:root", NULL, NULL, false, &dis, &rb);
    CHECK_INT(json_array_size(dis), 0);
    json_decref(dis);
    json_decref(rb);
}

static void test_html_esc(void)
{
    CHECK_CSTR(capture(nw_html_esc, "<img src=x onerror=\"alert('1')\">&"),
               "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;");
    CHECK_CSTR(capture(nw_html_esc, "a\x01z"), "a&#xFFFD;z");
}

static void test_compliance(void)
{
    json_t *findings = json_pack("[{s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}, {s:s, s:s, s:s, s:s, s:[{s:s, "
                                 "s:s}]}]",
                                 "id", "f-1", "rule", "R-1", "severity", "high", "identity", "a", "compliance",
                                 "framework", "SOC 2", "control", "CC6.2", "framework", "NIST", "control", "AC-2", "id",
                                 "f-2", "rule", "R-2", "severity", "low", "identity", "a", "compliance", "framework",
                                 "SOC 2", "control", "CC6.2");
    nw_err err;
    nw_err_clear(&err);
    nw_findings *fs = nw_findings_of(findings);
    json_t *c = nw_compliance_build(NULL, fs, &err);
    nw_findings_free(fs);
    json_t *ctl = json_object_get(c, "controls");
    CHECK_INT(json_array_size(ctl), 2);
    json_t *x = json_array_get(ctl, 0); /* NIST AC-2 sorts first */
    CHECK_CSTR(json_string_value(json_object_get(x, "framework")), "NIST");
    CHECK_INT(json_integer_value(json_object_get(x, "findings")), 1);
    x = json_array_get(ctl, 1);
    CHECK_CSTR(json_string_value(json_object_get(x, "status")), "fail");
    CHECK_INT(json_integer_value(json_object_get(x, "findings")), 2);
    CHECK_INT(json_integer_value(json_object_get(x, "identities")), 1);
    CHECK_INT(json_array_size(json_object_get(x, "rules")), 2);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(x, "by_severity"), "low")), 1);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(json_object_get(c, "frameworks"), "SOC 2"), "failing")),
              1);
    char b1[24], b2[24];
    CHECK(strcmp(nw_control_id("SOC 2", "CC6.2", b1), nw_control_id("SOC 2", "CC6.1", b2)) != 0);
    CHECK_INT(strlen(nw_control_id("SOC 2", "CC6.2", b1)), 18);
    json_decref(c);
    json_decref(findings);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void test_baseline_and_drift(void)
{
    char dir[] = "/tmp/nw_test_drift_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/report.json", dir);
    /* identities hold strings with braces, quotes and escapes the scanner must skip */
    write_file(path, "{\n \"schema\": \"nhiwatch.report/1\", \"as_of\": \"2026-01-01T00:00:00Z\",\n"
                     " \"identities\": [{\"key\": \"a}]\\\"{[\", \"x\": [1, {\"y\": \"]\"}]}],\n"
                     " \"findings\": [{\"id\": \"f-1\", \"rule\": \"R\", \"kind\": \"k\", \"identity\": \"a\", "
                     "\"severity\": \"low\"},\n  {\"id\": \"f-2\", \"rule\": \"R\", \"kind\": \"k\", \"identity\": \"b\", "
                     "\"severity\": \"low\"}],\n"
                     " \"compliance\": {\"controls\": [{\"framework\": \"F\", \"control\": \"1\", \"status\": \"fail\"}]},\n"
                     " \"metrics\": {\"findings\": 2, \"ownership\": {\"with_owner_share\": 0.25}, \"gone\": 1}\n}\n");
    json_t *base = NULL;
    nw_err err;
    nw_err_clear(&err);
    CHECK_INT(nw_baseline_load(dir, &base, &err), 0); /* the folder works too */
    CHECK(json_object_get(base, "identities") == NULL);
    CHECK_INT(json_array_size(json_object_get(base, "findings")), 2);

    json_t *doc = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}], s:{s:[{s:s, s:s, s:s}]}, "
                            "s:{s:i, s:{s:f}, s:i}}",
                            "findings", "id", "f-2", "rule", "R", "kind", "k", "identity", "b", "severity", "high", "id",
                            "f-3", "rule", "R", "kind", "k", "identity", "c", "severity", "low", "compliance", "controls",
                            "framework", "F", "control", "1", "status", "pass", "metrics", "findings", 2, "ownership",
                            "with_owner_share", 0.5, "new_metric", 7);
    nw_findings *fs = nw_findings_of(json_object_get(doc, "findings"));
    json_t *d = nw_drift_build(base, doc, fs, path, &err);
    nw_findings_free(fs);
    json_t *cnt = json_object_get(d, "counts");
    CHECK_INT(json_integer_value(json_object_get(cnt, "new")), 1);
    CHECK_INT(json_integer_value(json_object_get(cnt, "resolved")), 1);
    CHECK_INT(json_integer_value(json_object_get(cnt, "persisting")), 1);
    CHECK_INT(json_integer_value(json_object_get(cnt, "escalated")), 1);
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(json_object_get(d, "new"), 0), "id")), "f-3");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(json_object_get(d, "resolved"), 0), "id")), "f-1");
    json_t *dm = json_object_get(d, "metrics");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(dm, "findings"), "change")), 0);
    CHECK(json_real_value(json_object_get(json_object_get(dm, "ownership.with_owner_share"), "change")) == 0.25);
    CHECK(json_is_null(json_object_get(json_object_get(dm, "gone"), "current")));
    CHECK(json_is_null(json_object_get(json_object_get(dm, "new_metric"), "baseline")));
    CHECK_INT(json_array_size(json_object_get(json_object_get(d, "compliance"), "newly_passing")), 1);
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(doc, "compliance"),
                                                                                    "controls"),
                                                                0),
                                                 "change")),
               "newly_passing");
    json_decref(d);
    json_decref(doc);
    json_decref(base);

    /* not a report; truncated; missing */
    write_file(path, "{\"schema\": \"other/1\", \"findings\": []}");
    CHECK_INT(nw_baseline_load(path, &base, &err), NW_DRIFT_E_SCHEMA);
    write_file(path, "{\"schema\": \"nhiwatch.report/1\", \"findings\": [{\"id\": \"f-1\"");
    CHECK_INT(nw_baseline_load(path, &base, &err), NW_DRIFT_E_PARSE);
    CHECK(strstr(err.msg, "line 1") != NULL);
    write_file(path, "{\"schema\": \"nhiwatch.report/1\",\n\"findings\": [1,]}");
    CHECK_INT(nw_baseline_load(path, &base, &err), NW_DRIFT_E_PARSE);
    CHECK(strstr(err.msg, "line 2") != NULL);
    unlink(path);
    CHECK_INT(nw_baseline_load(path, &base, &err), NW_DRIFT_E_OPEN);
    rmdir(dir);
}

static void test_flatten_formats(void)
{
    json_t *m = json_pack("{s:i, s:{s:f, s:n, s:s}, s:[i]}", "a", 1, "b", "c", 0.5, "d", "e", "text", "arr", 3);
    json_t *f = nw_metrics_flatten(m);
    CHECK_INT(json_object_size(f), 3); /* a, b.c, b.d (null); strings and arrays are not metrics */
    CHECK_INT(json_integer_value(json_object_get(f, "a")), 1);
    CHECK(json_real_value(json_object_get(f, "b.c")) == 0.5);
    CHECK(json_is_null(json_object_get(f, "b.d")));
    json_decref(f);
    json_decref(m);

    unsigned fm = 0;
    nw_err err;
    CHECK_INT(nw_formats_parse("json,md,html", &fm, &err), 0);
    CHECK_INT(fm, NW_FMT_JSON | NW_FMT_MD | NW_FMT_HTML);
    CHECK_INT(nw_formats_parse("all", &fm, &err), 0);
    CHECK_INT(fm, NW_FMT_ALL);
    CHECK_INT(nw_formats_parse("csv,pdf", &fm, &err), -1);
    CHECK(strstr(err.msg, "'pdf'") != NULL);
}

static int hist_cb(void *ctx, const nw_history_row *r)
{
    json_t *arr = ctx;
    json_array_append_new(arr, json_pack("{s:I, s:I, s:s}", "rec", (json_int_t)r->recorded_at, "as_of",
                                         (json_int_t)r->as_of, "m", r->metrics_json));
    return 0;
}

static void test_history(void)
{
    char db[] = "/tmp/nw_test_hist_XXXXXX";
    int fd = mkstemp(db);
    close(fd);
    nw_store *st = NULL;
    nw_err err;
    nw_err_clear(&err);
    CHECK_INT(nw_store_open(db, NULL, &st, &err), 0);
    CHECK_INT(nw_store_history_add(st, 100, 20, "{\"findings\":3}", &err), 0);
    CHECK_INT(nw_store_history_add(st, 50, 10, "{\"findings\":5}", &err), 0);
    json_t *arr = json_array();
    CHECK_INT(nw_store_each_history(st, hist_cb, arr, &err), 0);
    CHECK_INT(json_array_size(arr), 2);
    /* ordered by as_of */
    CHECK_INT(json_integer_value(json_object_get(json_array_get(arr, 0), "as_of")), 10);
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(arr, 1), "m")), "{\"findings\":3}");
    json_decref(arr);
    nw_alert_row r = {"f-1", "k", "R", "id", "high", "open", 5, 5};
    CHECK_INT(nw_store_alert_put(st, &r, &err), 0);
    r.severity = "low";
    r.last_changed = 9;
    CHECK_INT(nw_store_alert_put(st, &r, &err), 0);
    CHECK_INT(nw_store_alert_get(st, "f-1", NULL, NULL, &err), 1);
    CHECK_INT(nw_store_alert_get(st, "f-2", NULL, NULL, &err), 0);
    nw_store_close(st);
    /* a read-only open refuses writes */
    nw_store_opts ro = {NW_STORE_READONLY, 0};
    CHECK_INT(nw_store_open(db, &ro, &st, &err), 0);
    CHECK_INT(nw_store_history_add(st, 1, 1, "{}", &err), NW_STORE_E_READONLY);
    nw_store_close(st);
    char p[64];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

static int collect_ids(void *ctx, const json_t *f)
{
    json_t *ids = ctx;
    json_array_append_new(ids, json_string(json_string_value(json_object_get(f, "id"))));
    return json_array_size(ids) == 99 ? 7 : 0; /* a non-zero return stops the walk */
}

/* Findings spilled to an unlinked file come back whole, in the report's order
 * (severity, then the order they were added in), however many there are. */
static void test_findings_spill(void)
{
    char dir[] = "/tmp/nw_test_findings_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    nw_err err;
    nw_err_clear(&err);
    nw_findings *fs = nw_findings_spill(dir, &err);
    CHECK(fs != NULL);
    static const char *const sev[] = {"low", "critical", "info", "high", "medium", "bogus"};
    enum { N = 3000 };
    for (int i = 0; i < N; i++) {
        char id[32], ident[32];
        snprintf(id, sizeof id, "f-%05d", i);
        snprintf(ident, sizeof ident, "id-%05d", i);
        /* escapes and non-ASCII survive the round trip */
        json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "id", id, "severity", sev[i % 6], "identity", ident,
                              "kind", "k", "evidence", "note", "a\"b\\c\n\u00e9\u2603");
        CHECK_INT(nw_findings_add(fs, f, &err), 0);
        json_decref(f);
    }
    CHECK_INT(nw_findings_count(fs), N);
    /* the temporary file is already gone from the folder */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", dir);
    CHECK_INT(system(cmd), 0);
    CHECK_INT(nw_findings_sort(fs, &err), 0);
    int prev_rank = 99, prev_i = -1;
    for (size_t i = 0; i < N; i++) {
        json_t *f = nw_findings_get(fs, i, &err);
        CHECK(f != NULL);
        if (!f)
            break;
        int r = nw_severity_rank(json_string_value(json_object_get(f, "severity")));
        int n = atoi(json_string_value(json_object_get(f, "id")) + 2);
        CHECK(r <= prev_rank);
        if (r == prev_rank)
            CHECK(n > prev_i); /* stable within a severity */
        prev_rank = r;
        prev_i = n;
        CHECK_CSTR(json_string_value(json_object_get(json_object_get(f, "evidence"), "note")),
                   "a\"b\\c\n\u00e9\u2603");
        json_decref(f);
    }
    json_t *first = nw_findings_get(fs, 0, &err);
    CHECK_CSTR(json_string_value(json_object_get(first, "severity")), "critical");
    CHECK_CSTR(json_string_value(json_object_get(first, "id")), "f-00001");
    json_decref(first);
    json_t *last = nw_findings_get(fs, N - 1, &err);
    CHECK_CSTR(json_string_value(json_object_get(last, "severity")), "bogus"); /* unknown severity sorts last */
    json_decref(last);
    CHECK(nw_findings_get(fs, N, &err) == NULL);
    json_t *ids = json_array();
    CHECK_INT(nw_findings_each(fs, collect_ids, ids, &err), 7);
    CHECK_INT(json_array_size(ids), 99);
    CHECK_CSTR(json_string_value(json_array_get(ids, 0)), "f-00001");
    json_decref(ids);
    nw_findings_free(fs);
    CHECK_INT(rmdir(dir), 0);
    /* a folder that does not exist: a clear error, no crash */
    nw_err_clear(&err);
    CHECK(nw_findings_spill("/nonexistent-nhiwatch-dir", &err) == NULL);
    CHECK_INT(err.code, NW_FINDINGS_E_IO);
    CHECK(strstr(err.msg, "/nonexistent-nhiwatch-dir") != NULL);
    /* an array set sorts in full: severity, identity, id */
    json_t *arr = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]", "id", "f-2", "severity", "low", "identity",
                            "b", "id", "f-1", "severity", "low", "identity", "b", "id", "f-3", "severity", "high",
                            "identity", "z");
    fs = nw_findings_of(arr);
    CHECK_INT(nw_findings_sort(fs, &err), 0);
    json_t *a0 = nw_findings_get(fs, 0, &err), *a1 = nw_findings_get(fs, 1, &err);
    CHECK_CSTR(json_string_value(json_object_get(a0, "id")), "f-3");
    CHECK_CSTR(json_string_value(json_object_get(a1, "id")), "f-1");
    json_decref(a0);
    json_decref(a1);
    nw_findings_free(fs);
    json_decref(arr);
}

int main(void)
{
    test_csv_field();
    test_shell();
    test_html_esc();
    test_compliance();
    test_baseline_and_drift();
    test_flatten_formats();
    test_history();
    test_findings_spill();
    return nw_test_finish();
}
