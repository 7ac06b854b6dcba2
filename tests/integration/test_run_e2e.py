#!/usr/bin/env python3
"""End-to-end `nhiwatch run` on a hand-built three-cloud input folder.

Every input record is written below, so each expected value in the report can
be checked against it by reading this file. Usage (ctest does this):
    test_run_e2e.py NHIWATCH_BINARY
"""
import gzip
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import unittest

NW = None

ROLE = "arn:aws:iam::111122223333:role/ci/gha-deploy"
USER = "arn:aws:iam::111122223333:user/legacy-build-bot"
SP = "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/5c6d7e8f-90a1-4b2c-8d3e-4f5a6b7c8d9e"
SA = "terraform@acme-prod.iam.gserviceaccount.com"
HUMAN = "alice@example.com"


def ct_event(eid, time, name, source, identity, key, error=None, ip="192.0.2.44",
             agent="aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0", read_only=False, request=None, response=None):
    ev = {
        "eventVersion": "1.11", "userIdentity": identity, "eventTime": time,
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": ip, "userAgent": agent, "requestParameters": request,
        "responseElements": response,
        "eventID": eid, "readOnly": read_only, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": "111122223333",
    }
    if error:
        ev["errorCode"] = error
        ev["errorMessage"] = "not authorized"
    return ev


ROLE_ID = {
    "type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID0001:GitHubActions",
    "arn": "arn:aws:sts::111122223333:assumed-role/gha-deploy/GitHubActions",
    "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLETEMPKEY01",
    "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID0001",
                                         "arn": ROLE, "accountId": "111122223333",
                                         "userName": "gha-deploy"},
                       "attributes": {"creationDate": "2025-03-04T10:15:02Z",
                                      "mfaAuthenticated": "false"}},
}
USER_ID = {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER00001", "arn": USER,
           "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLELONGKEY01",
           "userName": "legacy-build-bot"}


def azure_record(result, time, corr="6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d"):
    return {
        "time": time,
        "resourceId": "/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG-APP/PROVIDERS/MICROSOFT.STORAGE/STORAGEACCOUNTS/ACME",
        "operationName": "MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE",
        "category": "Administrative", "resultType": result,
        "resultSignature": "Started." if result == "Start" else "Succeeded.",
        "callerIpAddress": "198.51.100.23", "correlationId": corr,
        "identity": {
            "authorization": {"scope": "/subscriptions/00000000-1111-2222-3333-444444444444",
                              "action": "Microsoft.Storage/storageAccounts/write"},
            "claims": {
                "appid": "11112222-bbbb-3333-cccc-4444dddd5555", "appidacr": "2", "idtyp": "app",
                "http://schemas.microsoft.com/identity/claims/objectidentifier": "5C6D7E8F-90A1-4B2C-8D3E-4F5A6B7C8D9E",
                "http://schemas.microsoft.com/identity/claims/tenantid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
            }},
        "level": "Information", "location": "westeurope",
        "properties": {"eventCategory": "Administrative"},
    }


def gcp_entry(insert_id, time, email, method, key=None, status=None, perm="storage.objects.get"):
    auth = {"principalEmail": email}
    if key:
        auth["serviceAccountKeyName"] = ("//iam.googleapis.com/projects/acme-prod/serviceAccounts/"
                                         + email + "/keys/" + key)
    pp = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog",
          "status": status if status is not None else {},
          "authenticationInfo": auth,
          "requestMetadata": {"callerIp": "203.0.113.77",
                              "callerSuppliedUserAgent": "Terraform/1.7.5 google-api-go-client/0.5"},
          "serviceName": "storage.googleapis.com", "methodName": method,
          "authorizationInfo": [{"permission": perm, "granted": status is None,
                                 "resource": "projects/_/buckets/b"}],
          "resourceName": "projects/_/buckets/b"}
    return {"protoPayload": pp, "insertId": insert_id,
            "resource": {"type": "gcs_bucket", "labels": {"project_id": "acme-prod"}},
            "timestamp": time, "severity": "NOTICE",
            "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity",
            "receiveTimestamp": time}


def build_inputs(root):
    os.makedirs(os.path.join(root, "aws"))
    os.makedirs(os.path.join(root, "azure"))
    os.makedirs(os.path.join(root, "gcp"))
    # the CI role creates the bot user's key: the role is the user's probable owner
    e1 = ct_event("ev-1", "2025-03-04T10:15:09Z", "CreateAccessKey", "iam.amazonaws.com", ROLE_ID, ROLE,
                  request={"userName": "legacy-build-bot"},
                  response={"accessKey": {"userName": "legacy-build-bot", "accessKeyId": "AKIAEXAMPLELONGKEY01",
                                          "status": "Active", "createDate": "Mar 4, 2025 10:15:09 AM"}})
    e2 = ct_event("ev-2", "2025-03-05T08:00:00Z", "GetObject", "s3.amazonaws.com", ROLE_ID, ROLE,
                  error="AccessDenied", read_only=True)
    e3 = ct_event("ev-3", "2025-03-01T00:00:00Z", "ListBuckets", "s3.amazonaws.com", USER_ID, USER,
                  read_only=True, ip="203.0.113.9", agent="Boto3/1.34.0 md/Botocore#1.34.0")
    # the bot user assumes the CI role: the session key the role then uses leads back to the user
    ea = ct_event("ev-4", "2025-03-04T10:00:00Z", "AssumeRole", "sts.amazonaws.com", USER_ID, USER,
                  request={"roleArn": ROLE, "roleSessionName": "GitHubActions"},
                  response={"credentials": {"accessKeyId": "ASIAEXAMPLETEMPKEY01",
                                            "expiration": "Mar 4, 2025 11:00:00 AM"},
                            "assumedRoleUser": {"arn": "arn:aws:sts::111122223333:assumed-role/gha-deploy/GitHubActions"}})
    # Records: three events, a duplicate of e1, a number and a malformed element
    body = ('{"Records":[' + json.dumps(e1) + "," + json.dumps(e2) + "," + json.dumps(e1) + ",42,"
            + '{"eventVersion": "1.11", "eventTime": }' + "," + json.dumps(e3) + ","
            # wrong types: userIdentity a string, eventTime a number
            + '{"eventVersion": "1.11", "userIdentity": "oops", "eventTime": 5, "eventSource": "s3.amazonaws.com",'
              ' "eventName": "GetObject", "eventID": "bad-types"}' + "," + json.dumps(ea) + "]}")
    with gzip.open(os.path.join(root, "aws", "111122223333_CloudTrail_us-east-1_20250305T0800Z_x.json.gz"), "wt") as f:
        f.write(body)
    # a digest file (skipped) and an empty file (skipped)
    with gzip.open(os.path.join(root, "aws", "digest.json.gz"), "wt") as f:
        f.write(json.dumps({"awsAccountId": "111122223333", "digestStartTime": "2025-03-04T10:00:00Z",
                            "digestEndTime": "2025-03-04T11:00:00Z", "digestS3Object": "x", "logFiles": []}))
    open(os.path.join(root, "aws", "empty.json"), "w").close()
    # Azure PT1H.json: Start + Success of one operation, then a cut line, then nothing else
    with open(os.path.join(root, "azure", "PT1H.json"), "w") as f:
        f.write(json.dumps(azure_record("Start", "2025-03-04T10:20:30.0000000Z")) + "\n")
        f.write('{"time": "2025-03-04T10:20:31Z", "resourceId": "/SUBSCRIPTIONS/X", "operationN\n')
        f.write(json.dumps(azure_record("Success", "2025-03-04T10:20:31.4470000Z")) + "\n")
    # GCP: SA with a user-managed key (2 events, one denied), a human
    with open(os.path.join(root, "gcp", "activity.json"), "w") as f:
        f.write(json.dumps(gcp_entry("g1", "2025-03-04T10:25:41.093817Z", SA, "storage.objects.get",
                                     key="4f1d3c2b1a09")) + "\n")
        f.write(json.dumps(gcp_entry("g2", "2025-03-06T11:00:00Z", SA, "storage.objects.delete",
                                     key="4f1d3c2b1a09", status={"code": 7, "message": "denied"},
                                     perm="storage.objects.delete")) + "\n")
        f.write(json.dumps(gcp_entry("g3", "2025-03-02T09:00:00Z", "Alice@Example.com",
                                     "storage.buckets.list", perm="storage.buckets.list")) + "\n")
        # a huge string field: over the 1 MiB record cap, refused alone
        huge = gcp_entry("g4", "2025-03-02T09:00:00Z", SA, "storage.objects.get")
        huge["protoPayload"]["requestMetadata"]["callerSuppliedUserAgent"] = "x" * (2 << 20)
        f.write(json.dumps(huge) + "\n")


def run(*args):
    return subprocess.run([NW, *args], capture_output=True, text=True, timeout=120)


class RunE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="nw_e2e_")
        cls.inp = os.path.join(cls.tmp.name, "in")
        build_inputs(cls.inp)
        cls.db = os.path.join(cls.tmp.name, "n.db")
        cls.out = os.path.join(cls.tmp.name, "out")
        cls.first = run("run", "--db", cls.db, "--out", cls.out, cls.inp)
        with open(os.path.join(cls.out, "report.json")) as f:
            cls.report = json.load(f)
        cls.ids = {i["key"]: i for i in cls.report["identities"]}
        con = sqlite3.connect(cls.db)
        cls.counters = dict(con.execute("select name, value from counter").fetchall())
        con.close()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_exit_and_messages(self):
        # bad input present: report written, exit status 3
        self.assertEqual(self.first.returncode, 3, self.first.stderr)
        err = self.first.stderr
        self.assertIn("x.json.gz: line 1: record 5: malformed JSON", err)
        self.assertIn("PT1H.json: line 2: record 2: record cut short", err)
        self.assertIn("x.json.gz: line 1: record 4: record is not a JSON object", err)
        self.assertIn("x.json.gz: line 1: record 7: ", err)
        self.assertIn("activity.json: line 4: record 4: record larger than the 1048576-byte cap", err)
        self.assertIn("x.json.gz: line 1: record 7: eventTime is the number 5", err)

    def test_identities(self):
        self.assertEqual(sorted(self.ids), sorted([ROLE, USER, SP, SA, HUMAN]))
        r = self.ids[ROLE]
        self.assertEqual((r["provider"], r["kind"], r["type"]), ("aws", "non_human", "iam_role"))
        self.assertEqual((r["events"], r["successes"], r["denied"], r["failures"]), (2, 1, 1, 0))
        self.assertEqual((r["writes"], r["privileged"]), (1, 1))
        self.assertEqual(r["first_seen"], "2025-03-04T10:15:09Z")
        self.assertEqual(r["last_seen"], "2025-03-05T08:00:00Z")
        self.assertEqual(r["last_success"], "2025-03-04T10:15:09Z")
        self.assertEqual(r["account"], "111122223333")
        self.assertEqual([(c["id"], c["kind"], c["events"]) for c in r["credentials"]],
                         [("ASIAEXAMPLETEMPKEY01", "aws_temporary", 2)])
        self.assertEqual(r["services_used"], ["iam", "s3"])
        self.assertEqual(r["sources"]["networks"], ["192.0.2.0/24"])
        self.assertEqual(r["sources"]["user_agents"], ["aws-cli"])
        self.assertEqual(r["last_source"]["action"], "s3:GetObject")

        # role chain: the role's session key was minted by the user's AssumeRole
        self.assertEqual([(x["identity"], x["sessions"], x["events"]) for x in r["assumed_by"]], [(USER, 1, 2)])
        self.assertEqual(r["assumes"], [])

        u = self.ids[USER]
        self.assertEqual((u["kind"], u["type"], u["events"]), ("non_human", "iam_user", 2))
        self.assertEqual([(x["identity"], x["sessions"]) for x in u["assumes"]], [(ROLE, 1)])
        self.assertEqual(u["created_by"]["identity"], ROLE)
        self.assertEqual(u["created_by"]["event_id"], "ev-1")
        self.assertEqual(u["probable_owner"], ROLE)
        self.assertEqual([(c["id"], c["kind"]) for c in u["credentials"]],
                         [("AKIAEXAMPLELONGKEY01", "aws_long_term")])
        self.assertEqual((u["last_source"]["ip"], u["last_source"]["action"]), ("192.0.2.44", "sts:AssumeRole"))
        self.assertEqual(u["sources"]["user_agents"], ["aws-cli", "boto3"])
        self.assertEqual(u["services_used"], ["s3", "sts"])

        a = self.ids[SP]
        # Start + Success = one operation
        self.assertEqual((a["provider"], a["kind"], a["type"], a["events"]),
                         ("azure", "non_human", "service_principal", 1))
        self.assertEqual(a["first_seen"], "2025-03-04T10:20:31Z")
        self.assertEqual(a["account"], "00000000-1111-2222-3333-444444444444")
        self.assertEqual(a["sources"]["regions"], ["westeurope"])

        g = self.ids[SA]
        self.assertEqual((g["provider"], g["kind"], g["type"]), ("gcp", "non_human", "service_account"))
        self.assertEqual((g["events"], g["successes"], g["denied"]), (2, 1, 1))
        self.assertEqual([(c["id"], c["kind"]) for c in g["credentials"]], [("4f1d3c2b1a09", "gcp_sa_key")])
        self.assertEqual(g["services_used"], ["storage.googleapis.com"])
        self.assertEqual(g["account"], "acme-prod")

        h = self.ids[HUMAN]
        self.assertEqual((h["kind"], h["type"], h["events"]), ("human", "user", 1))

    def test_report_header(self):
        rep = self.report
        self.assertEqual(rep["schema"], "nhiwatch.report/1")
        self.assertEqual(rep["as_of"], "2025-03-06T11:00:00Z")  # newest event
        self.assertEqual(rep["window_days"], 90)
        self.assertEqual(rep["inputs"]["events"], 8)
        self.assertEqual(rep["inputs"]["identities"], 5)
        self.assertEqual(rep["metrics"]["non_human"], 4)
        self.assertEqual(rep["metrics"]["human"], 1)
        # without a policy file every NHI lacks an owner; nothing else applies
        # to five days of activity
        self.assertEqual(sorted((f["identity"], f["rule"]) for f in rep["findings"]),
                         sorted([(k, "NHI-HYG-005") for k in (ROLE, USER, SP, SA)]))
        for f in rep["findings"]:
            self.assertEqual(f["kind"], "no_owner")
            self.assertTrue(f["id"].startswith("f-") and len(f["id"]) == 18)
            self.assertTrue(f["compliance"])
        md = open(os.path.join(self.out, "report.md")).read()
        self.assertIn("**4 non-human**", md)
        self.assertEqual(os.stat(os.path.join(self.out, "report.json")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.db).st_mode & 0o777, 0o600)

    def test_stats_counters(self):
        c = self.counters  # as the first run left them
        # files: the trail object (6 elements), the digest, PT1H.json (3 lines), activity.json (3 lines)
        self.assertEqual(c["files"], 4)
        self.assertEqual(c["files_empty"], 1)
        self.assertEqual(c["records"], 14)         # 8 elements + digest + 2 Azure lines + 3 GCP (cut and huge lines are not records)
        self.assertEqual(c["events"], 10)          # 5 AWS (with the duplicate) + 2 Azure + 3 GCP
        self.assertEqual(c["events_new"], 8)
        self.assertEqual(c["events_duplicate"], 1)
        self.assertEqual(c["events_partial"], 1)   # the Azure Start record
        self.assertEqual(c["bad"], 5)              # 42, the malformed element, wrong types, the cut Azure line, the huge line
        self.assertEqual(c["bad_time"], 1)         # the wrong-types element
        self.assertEqual(c["skipped"], 1)          # the digest
        out = run("stats", "--db", self.db)
        self.assertEqual(out.returncode, 0)
        self.assertIn("bad", out.stdout)

    def test_rerun_changes_nothing(self):
        out2 = os.path.join(self.tmp.name, "out2")
        again = run("run", "--db", self.db, "--out", out2, self.inp)
        self.assertEqual(again.returncode, 3)
        self.assertIn("10 events (0 new, 10 already stored, 0 partial)", again.stderr)
        with open(os.path.join(out2, "report.json")) as f:
            rep2 = json.load(f)
        a = dict(self.report)
        b = dict(rep2)
        a.pop("generated_at")
        b.pop("generated_at")
        self.assertEqual(a, b)

    def test_inventory_filters(self):
        out = run("inventory", "--db", self.db, "--kind", "non_human", "--format", "csv")
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = out.stdout.strip().split("\n")
        self.assertEqual(rows[0].split(",")[0], "identity")
        self.assertEqual(len(rows), 5)
        out = run("inventory", "--db", self.db, "--provider", "gcp", "--format", "json")
        items = json.loads(out.stdout)
        self.assertEqual(sorted(i["key"] for i in items), [HUMAN, SA])

    def test_foreign_database_refused(self):
        bad = os.path.join(self.tmp.name, "foreign.db")
        con = sqlite3.connect(bad)
        con.execute("create table t(x)")
        con.commit()
        con.close()
        out = run("run", "--db", bad, "--out", os.path.join(self.tmp.name, "o3"), self.inp)
        self.assertEqual(out.returncode, 1)
        self.assertIn("another application", out.stderr)


if __name__ == "__main__":
    NW = sys.argv.pop(1)
    unittest.main(verbosity=2)
