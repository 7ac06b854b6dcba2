/* test_ocsf.c - alert encodings (OCSF, ECS, CEF), syslog framing, and the
 * alerter's de-duplication against a real store. Every expected value is
 * written out below from the input alert. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../analyze/store.h"
#include "../../reports/alertfmt.h"
#include "../../reports/alerts.h"
#include "../../reports/sinks.h"
#include "nw_test.h"

static json_t *stream_alert(void)
{
    /* the shape analyze/stream.c emits */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:s, s:s}, s:[{s:s, "
                     "s:s}], s:s}",
                     "schema", "nhiwatch.alert/1", "id", "f-0123456789abcdef", "time", "2026-11-28T00:51:38Z", "kind",
                     "suddenly_active", "rule", "NHI-ACTIVE-001", "severity", "critical", "title",
                     "Non-human identity active again after a long silence", "identity",
                     "arn:aws:iam::111122223333:role/a|b=c", "provider", "aws", "identity_type", "iam_role",
                     "evidence", "silent_since", "2026-09-21T00:00:00Z", "silent_days", 67, "event_id", "ev-1",
                     "action", "iam:PutRolePolicy", "source_ip", "192.0.2.44", "credential", "ASIAEXAMPLE",
                     "compliance", "framework", "SOC 2", "control", "CC7.2", "recommendation", "Confirm\nwith the owner");
}

static void test_ocsf_detection(void)
{
    json_t *a = stream_alert();
    json_object_set_new(a, "state", json_string("new"));
    json_t *o = nw_ocsf_alert(a, "1.2.3");
    CHECK_INT(json_integer_value(json_object_get(o, "class_uid")), 2004);
    CHECK_INT(json_integer_value(json_object_get(o, "category_uid")), 2);
    CHECK_INT(json_integer_value(json_object_get(o, "activity_id")), 1);
    CHECK_INT(json_integer_value(json_object_get(o, "type_uid")), 200401);
    CHECK_INT(json_integer_value(json_object_get(o, "severity_id")), 5);
    CHECK_CSTR(json_string_value(json_object_get(o, "severity")), "Critical");
    /* 2026-11-28T00:51:38Z = 1795827098 s */
    CHECK_INT(json_integer_value(json_object_get(o, "time")), 1795827098000LL);
    CHECK_INT(json_integer_value(json_object_get(o, "status_id")), 1);
    CHECK(json_is_true(json_object_get(o, "is_alert")));
    json_t *md = json_object_get(o, "metadata");
    CHECK_CSTR(json_string_value(json_object_get(md, "version")), "1.6.0");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(md, "product"), "name")), "nhiwatch");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(md, "product"), "vendor_name")), "nhiwatch");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(md, "product"), "version")), "1.2.3");
    CHECK_CSTR(json_string_value(json_object_get(md, "uid")), "f-0123456789abcdef:1:1795827098000");
    json_t *fi = json_object_get(o, "finding_info");
    CHECK_CSTR(json_string_value(json_object_get(fi, "uid")), "f-0123456789abcdef");
    CHECK_CSTR(json_string_value(json_object_get(fi, "title")), "Non-human identity active again after a long silence");
    CHECK_CSTR(json_string_value(json_array_get(json_object_get(fi, "types"), 0)), "suddenly_active");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(fi, "analytic"), "uid")), "NHI-ACTIVE-001");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(json_object_get(fi, "related_events"), 0), "uid")),
               "ev-1");
    json_t *user = json_object_get(json_object_get(o, "actor"), "user");
    CHECK_CSTR(json_string_value(json_object_get(user, "uid")), "arn:aws:iam::111122223333:role/a|b=c");
    CHECK_CSTR(json_string_value(json_object_get(user, "credential_uid")), "ASIAEXAMPLE");
    json_t *ev = json_array_get(json_object_get(o, "evidences"), 0);
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(ev, "api"), "operation")), "iam:PutRolePolicy");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(ev, "src_endpoint"), "ip")), "192.0.2.44");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(ev, "data"), "silent_days")), 67);
    json_t *an = json_array_get(json_object_get(json_array_get(json_object_get(o, "anomaly_analyses"), 0), "anomalies"), 0);
    CHECK_CSTR(json_string_value(json_object_get(an, "observation_type")), "Time Pattern Analysis");
    CHECK_CSTR(json_string_value(json_object_get(json_array_get(json_object_get(an, "observations"), 0), "value")),
               "67");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(o, "cloud"), "provider")), "AWS");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(o, "remediation"), "desc")), "Confirm\nwith the owner");
    json_decref(o);

    /* escalated -> Update, resolved -> Close */
    json_object_set_new(a, "state", json_string("escalated"));
    o = nw_ocsf_alert(a, "1.2.3");
    CHECK_INT(json_integer_value(json_object_get(o, "type_uid")), 200402);
    json_decref(o);
    json_object_set_new(a, "state", json_string("resolved"));
    o = nw_ocsf_alert(a, "1.2.3");
    CHECK_INT(json_integer_value(json_object_get(o, "activity_id")), 3);
    CHECK_INT(json_integer_value(json_object_get(o, "status_id")), 4);
    CHECK(json_is_false(json_object_get(o, "is_alert")));
    json_decref(o);
    json_decref(a);
}

static void test_ocsf_iam_and_compliance(void)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:[s,s], s:i, s:s}}", "schema",
                          "nhiwatch.alert/1", "id", "f-00000000000000aa", "time", "2026-01-01T00:00:00Z", "kind",
                          "over_privileged", "rule", "NHI-PRIV-001", "severity", "low", "title", "Admin grant", "identity",
                          "sa@p.iam.gserviceaccount.com", "provider", "gcp", "state", "new", "evidence", "granted",
                          "roles/owner", "roles/editor", "unused_actions", 40, "last_successful_use",
                          "2025-12-01T00:00:00Z");
    json_t *o = nw_ocsf_alert(a, "1");
    CHECK_INT(json_integer_value(json_object_get(o, "class_uid")), 2008);
    CHECK_INT(json_integer_value(json_object_get(o, "type_uid")), 200801);
    CHECK_INT(json_integer_value(json_object_get(o, "severity_id")), 2);
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(o, "user"), "uid")), "sa@p.iam.gserviceaccount.com");
    /* 2025-12-01T00:00:00Z = 1764547200 s */
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "identity_activity_metrics"), "last_seen_time")),
              1764547200000LL);
    json_t *pa = json_array_get(json_object_get(o, "permission_analysis_results"), 0);
    CHECK_INT(json_array_size(json_object_get(pa, "granted_privileges")), 2);
    CHECK_INT(json_integer_value(json_object_get(pa, "unused_privileges_count")), 40);
    CHECK(json_object_get(o, "evidences") == NULL);
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(o, "cloud"), "provider")), "GCP");
    json_decref(o);
    json_decref(a);

    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:[s], s:[s,s]}", "schema",
                          "nhiwatch.control/1", "id", "c-0000000000000001", "time", "2026-01-01T00:00:00Z", "framework",
                          "SOC 2", "control", "CC6.2", "status", "fail", "state", "new", "severity", "high", "findings", 3,
                          "rules", "NHI-DORMANT-001", "finding_ids", "f-1", "f-2");
    o = nw_ocsf_alert(c, "1");
    CHECK_INT(json_integer_value(json_object_get(o, "class_uid")), 2003);
    CHECK_INT(json_integer_value(json_object_get(o, "type_uid")), 200301);
    json_t *comp = json_object_get(o, "compliance");
    CHECK_CSTR(json_string_value(json_array_get(json_object_get(comp, "standards"), 0)), "SOC 2");
    CHECK_CSTR(json_string_value(json_object_get(comp, "control")), "CC6.2");
    CHECK_INT(json_integer_value(json_object_get(comp, "status_id")), 3);
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(o, "finding_info"), "title")),
               "SOC 2 CC6.2: failing (3 findings)");
    CHECK_INT(json_array_size(json_object_get(json_object_get(o, "finding_info"), "related_events")), 2);
    json_decref(o);
    json_object_set_new(c, "status", json_string("pass"));
    json_object_set_new(c, "state", json_string("resolved"));
    o = nw_ocsf_alert(c, "1");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(o, "compliance"), "status_id")), 1);
    CHECK_INT(json_integer_value(json_object_get(o, "type_uid")), 200303);
    json_decref(o);
    json_decref(c);
}

static void test_cef_ecs(void)
{
    json_t *a = stream_alert();
    json_object_set_new(a, "state", json_string("new"));
    char *s = nw_cef_alert(a, "1.2.3");
    /* header '|' escaped; extension '=' escaped, newline as \n */
    const char *want_head = "CEF:0|nhiwatch|nhiwatch|1.2.3|NHI-ACTIVE-001|Non-human identity active again after a long "
                            "silence|10|rt=1795827098000 externalId=f-0123456789abcdef act=new cat=suddenly_active "
                            "suser=arn:aws:iam::111122223333:role/a|b\\=c src=192.0.2.44 ";
    CHECK(s && strncmp(s, want_head, strlen(want_head)) == 0);
    if (s && strncmp(s, want_head, strlen(want_head)) != 0)
        fprintf(stderr, "got: %s\n", s);
    CHECK(s && strstr(s, " cs3Label=compliance cs3=SOC 2 CC7.2 ") != NULL);
    CHECK(s && strchr(s, '\n') == NULL);
    free(s);
    json_t *t = json_pack("{s:s, s:s, s:s, s:s}", "schema", "nhiwatch.alert/1", "rule", "R|1\\x", "title", "a|b",
                          "severity", "medium");
    s = nw_cef_alert(t, "v");
    CHECK(s && strncmp(s, "CEF:0|nhiwatch|nhiwatch|v|R\\|1\\\\x|a\\|b|5|", 40) == 0);
    free(s);
    json_decref(t);

    json_t *e = nw_ecs_alert(a, "1.2.3");
    CHECK_CSTR(json_string_value(json_object_get(e, "@timestamp")), "2026-11-28T00:51:38Z");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(e, "event"), "kind")), "alert");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(e, "event"), "action")), "finding-new");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(e, "event"), "severity")), 99);
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(e, "rule"), "id")), "NHI-ACTIVE-001");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(e, "source"), "ip")), "192.0.2.44");
    CHECK_CSTR(json_string_value(json_object_get(json_object_get(e, "user"), "id")),
               "arn:aws:iam::111122223333:role/a|b=c");
    json_decref(e);
    CHECK_INT(nw_alert_syslog_severity(a), 2);
    CHECK_INT(nw_alert_format_parse("OCSF"), NW_AF_OCSF);
    CHECK_INT(nw_alert_format_parse("cef"), NW_AF_CEF);
    CHECK_INT(nw_alert_format_parse("xml"), -1);
    json_decref(a);
}

static void test_syslog_format(void)
{
    char buf[512];
    nw_sink_meta m = {"f-1\"]", "new", 3};
    /* 2026-11-28T00:51:38.250Z */
    size_t n = nw_syslog_format(buf, sizeof buf, 20, 3, 1795827098250000LL, "host1", 42, "OCSF", &m, "{\"a\":1}", 7);
    const char *want = "<163>1 2026-11-28T00:51:38.250Z host1 nhiwatch 42 OCSF [nhiwatch@32473 id=\"f-1\\\"\\]\" "
                       "state=\"new\"] {\"a\":1}";
    CHECK_CSTR(buf, want);
    CHECK_INT(n, strlen(want));
    CHECK_INT(nw_syslog_format(buf, 40, 20, 3, 0, "h", 1, "X", &m, "0123456789", 10), 0);
}

/* ---- de-duplication against a real store, through a file sink ---- */

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_dedup(void)
{
    char db[] = "/tmp/nw_test_ocsf_XXXXXX";
    int fd = mkstemp(db);
    close(fd);
    char out[64];
    snprintf(out, sizeof out, "%s.alerts", db);
    nw_store *st = NULL;
    nw_err err;
    nw_err_clear(&err);
    CHECK_INT(nw_store_open(db, NULL, &st, &err), 0);
    nw_alerter_opts ao = {NW_AF_NATIVE, "t", st, NULL, NULL};
    nw_alerter *al = nw_alerter_new(&ao, &err);
    CHECK_INT(nw_alerter_add_sink(al, out, &err), 0);
    json_t *a = stream_alert();
    nw_alerter_stream(al, a); /* new */
    nw_alerter_stream(al, a); /* same: suppressed */
    json_object_set_new(a, "severity", json_string("high"));
    nw_alerter_stream(al, a); /* lower: suppressed */
    nw_alerter_stats ss;
    nw_alerter_stats_get(al, &ss);
    CHECK_INT(ss.sent, 1);
    CHECK_INT(ss.suppressed, 2);
    /* a report with one finding: the stream's (same id, now high) persists; a new one appears */
    json_t *doc = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}], s:{s:[]}}",
                            "as_of", "2026-11-30T00:00:00Z", "findings", "id", "f-0123456789abcdef", "kind",
                            "suddenly_active", "rule", "NHI-ACTIVE-001", "severity", "critical", "identity", "x", "title",
                            "t", "id", "f-00000000000000bb", "kind", "no_owner", "rule", "NHI-HYG-005", "severity", "low",
                            "identity", "y", "title", "t2", "compliance", "controls");
    nw_findings *fs = nw_findings_of(json_object_get(doc, "findings")); /* the same array: edits below show */
    CHECK(fs != NULL);
    CHECK_INT(nw_alerter_report(al, doc, fs, 1795827098000000LL, &err), 0);
    nw_alerter_stats_get(al, &ss);
    CHECK_INT(ss.sent, 2); /* only the new one */
    CHECK_INT(nw_alerter_report(al, doc, fs, 1795827098000000LL, &err), 0);
    nw_alerter_stats_get(al, &ss);
    CHECK_INT(ss.sent, 2); /* nothing changed */
    /* escalation then resolution */
    json_object_set_new(json_array_get(json_object_get(doc, "findings"), 1), "severity", json_string("high"));
    json_array_remove(json_object_get(doc, "findings"), 0);
    CHECK_INT(nw_alerter_report(al, doc, fs, 1795827098000000LL, &err), 0);
    nw_alerter_stats_get(al, &ss);
    CHECK_INT(ss.sent, 4);
    CHECK_INT(ss.escalated, 1);
    CHECK_INT(ss.resolved, 1);
    CHECK_INT(nw_alerter_close(al, &err), 0);
    nw_alerter_free(al);
    CHECK_INT(count_lines(out), 4);
    /* the state survives the process: a new alerter sends nothing for the same report */
    al = nw_alerter_new(&ao, &err);
    CHECK_INT(nw_alerter_add_sink(al, out, &err), 0);
    CHECK_INT(nw_alerter_report(al, doc, fs, 1795827098000000LL, &err), 0);
    nw_alerter_stats_get(al, &ss);
    CHECK_INT(ss.sent, 0);
    nw_alerter_free(al);
    CHECK_INT(count_lines(out), 4);
    nw_findings_free(fs);
    json_decref(doc);
    json_decref(a);
    nw_store_close(st);
    char p[96];
    unlink(db);
    unlink(out);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
}

int main(void)
{
    test_ocsf_detection();
    test_ocsf_iam_and_compliance();
    test_cef_ecs();
    test_syslog_format();
    test_dedup();
    return nw_test_finish();
}
