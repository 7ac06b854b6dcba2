#!/usr/bin/env python3
"""Data protection: secrets planted in audit records never reach the
database, the reports, the `stats` / `inventory` output or stderr; the files
nhiwatch creates are private (mode 0600).

Every planted value is a literal below. The events that carry them are valid
(each one counts as an event: the test checks the exact counts first, so a
secret cannot be "absent" only because its record was refused), and the
fields that nhiwatch stores and that can carry free text (user agents,
resource names, error codes) hold a secret in at least one event, so the
masked form "[REDACTED]" must appear in the database where the secret would
have been.

Usage (ctest does this):  test_secrets.py NHIWATCH_BINARY
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

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_SECRET_2 = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
SESSION_TOKEN = ("IQoJb3JpZ2luX2VjEPlantedSessionTokenAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                 "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB==")
PASSWORD = "Plant3d-P@ssw0rd-in-requestParameters!"
PASSWORD_UA = "hunter2-Planted-in-UA"
JWT_UA = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwbGFudGVkLXVhIiwiaWF0IjoxNTE2MjM5MDIyfQ"
          ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
JWT_ERR = ("eyJhbGciOiJSUzI1NiIsImtpZCI6InBsYW50ZWQifQ.eyJzdWIiOiJwbGFudGVkLWVycm9yIn0"
           ".dGhpc2lzYXBsYW50ZWRzaWduYXR1cmVmb3J0aGVlcnJvcm1lc3NhZ2U")
JWT_GCP = ("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJwbGFudGVkLWdjcCJ9"
           ".Z2NwcGxhbnRlZHNpZ25hdHVyZWdjcHBsYW50ZWRzaWduYXR1cmU")
JWT_AZ = ("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJwbGFudGVkLWF6dXJlIn0"
          ".YXp1cmVwbGFudGVkc2lnbmF0dXJlYXp1cmVwbGFudGVkc2ln")
PRIVATE_KEY_BODY = ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCPlantedPrivateKey"
                    "PlantedPrivateKeyPlantedPrivateKeyPlantedPrivateKeyQIDAQAB")
PRIVATE_KEY = ("-----BEGIN PRIVATE KEY-----\n" + PRIVATE_KEY_BODY[:64] + "\n" + PRIVATE_KEY_BODY[64:]
               + "\n-----END PRIVATE KEY-----\n")
AZ_CLIENT_SECRET = "Az8Q~PlantedClientSecret.zYxWvUtSrQpOnMlKjIhG"
SAS_SIG = "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01&sig=PlantedSasSignature%2Bq0e4Z9%3D"
GCS_PASSWORD = "Planted-GCS-Object-Password-77"
JWT_BAD = ("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwbGFudGVkLWJhZC1yZWNvcmQifQ"
           ".YmFkcmVjb3JkcGxhbnRlZHNpZ25hdHVyZWJhZHJlY29yZA")
DETAIL_TYPE_PASSWORD = "Planted-DetailType-Pass"

SECRETS = {
    "aws secretAccessKey (AssumeRole credentials)": AWS_SECRET,
    "aws secretAccessKey (CreateAccessKey)": AWS_SECRET_2,
    "aws sessionToken": SESSION_TOKEN,
    "password in requestParameters": PASSWORD,
    "password= in a user agent": PASSWORD_UA,
    "bearer token in a user agent": JWT_UA,
    "bearer token in an error message / code": JWT_ERR,
    "bearer token in a GCP user agent": JWT_GCP,
    "bearer token in an Azure user agent": JWT_AZ,
    "private key block (whole)": PRIVATE_KEY,
    "private key body": PRIVATE_KEY_BODY[:48],
    "private key body (second line)": PRIVATE_KEY_BODY[64:110],
    "Azure client secret": AZ_CLIENT_SECRET,
    "Azure SAS signature": "PlantedSasSignature",
    "password in a GCP resource name": GCS_PASSWORD,
    # the messages about bad and skipped records quote record values
    "bearer token in a bad record's eventTime (message quotes 64 bytes)": JWT_BAD[:40],
    "password in a skipped record's detail-type (skip reason counter)": DETAIL_TYPE_PASSWORD,
}

ROLE = "arn:aws:iam::111122223333:role/deployer"
USER = "arn:aws:iam::111122223333:user/ci-bot"
SA = "keymaker@acme-prod.iam.gserviceaccount.com"
SP = "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/5c6d7e8f-90a1-4b2c-8d3e-4f5a6b7c8d9e"

USER_ID = {"type": "IAMUser", "principalId": "AIDAEXAMPLEUSER00009", "arn": USER,
           "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLELONGKEY09", "userName": "ci-bot"}
ROLE_ID = {"type": "AssumedRole", "principalId": "AROAEXAMPLEROLEID0009:s1",
           "arn": "arn:aws:sts::111122223333:assumed-role/deployer/s1", "accountId": "111122223333",
           "accessKeyId": "ASIAEXAMPLETEMPKEY09",
           "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID0009",
                                                "arn": ROLE, "accountId": "111122223333",
                                                "userName": "deployer"},
                              "attributes": {"creationDate": "2025-03-04T09:00:00Z", "mfaAuthenticated": "false"}}}


def ct(eid, time, source, name, ident, agent="aws-cli/2.15.30 Python/3.11.8", req=None, resp=None,
       error=None, message=None):
    ev = {"eventVersion": "1.11", "userIdentity": ident, "eventTime": time, "eventSource": source,
          "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.10", "userAgent": agent,
          "requestParameters": req, "responseElements": resp, "eventID": eid, "readOnly": False,
          "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "111122223333"}
    if error:
        ev["errorCode"] = error
        ev["errorMessage"] = message
    return ev


def aws_records():
    return [
        # 1. AssumeRole: the session credentials come back in responseElements
        ct("s-1", "2025-03-04T10:00:00Z", "sts.amazonaws.com", "AssumeRole", USER_ID,
           req={"roleArn": ROLE, "roleSessionName": "s1"},
           resp={"credentials": {"accessKeyId": "ASIAEXAMPLETEMPKEY09", "secretAccessKey": AWS_SECRET,
                                 "sessionToken": SESSION_TOKEN, "expiration": "Mar 4, 2025, 11:00:00 AM"},
                 "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEROLEID0009:s1",
                                     "arn": "arn:aws:sts::111122223333:assumed-role/deployer/s1"}}),
        # 2. CreateAccessKey: the new key's secret in responseElements
        ct("s-2", "2025-03-04T10:01:00Z", "iam.amazonaws.com", "CreateAccessKey", ROLE_ID,
           req={"userName": "ci-bot"},
           resp={"accessKey": {"accessKeyId": "AKIAEXAMPLENEWKEY009", "status": "Active", "userName": "ci-bot",
                               "secretAccessKey": AWS_SECRET_2, "createDate": "Mar 4, 2025, 10:01:00 AM"}}),
        # 3. CreateLoginProfile: a password in requestParameters
        ct("s-3", "2025-03-04T10:02:00Z", "iam.amazonaws.com", "CreateLoginProfile", ROLE_ID,
           req={"userName": "ci-bot", "password": PASSWORD, "passwordResetRequired": False}),
        # 4. the caller put an Authorization header and a password into its user agent
        ct("s-4", "2025-03-04T10:05:00Z", "s3.amazonaws.com", "ListBuckets", USER_ID,
           agent="curl/8.5.0 Authorization: Bearer " + JWT_UA + " password=" + PASSWORD_UA),
        # 5. a bearer token echoed in the error message and in the error code
        ct("s-5", "2025-03-04T10:04:00Z", "s3.amazonaws.com", "GetObject", USER_ID,
           error="InvalidToken: Bearer " + JWT_ERR, message="The provided token Bearer " + JWT_ERR + " is malformed"),
    ]


def gcp_entry(iid, time, method, request=None, response=None, agent="google-api-go-client/0.5",
              resource="projects/acme-prod/serviceAccounts/" + SA):
    pp = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": {},
          "authenticationInfo": {"principalEmail": SA},
          "requestMetadata": {"callerIp": "203.0.113.7", "callerSuppliedUserAgent": agent},
          "serviceName": "iam.googleapis.com", "methodName": method, "resourceName": resource,
          "authorizationInfo": [{"permission": "iam.serviceAccountKeys.create", "granted": True,
                                 "resource": resource}]}
    if request is not None:
        pp["request"] = request
    if response is not None:
        pp["response"] = response
    return {"protoPayload": pp, "insertId": iid, "resource": {"type": "service_account",
                                                              "labels": {"project_id": "acme-prod"}},
            "timestamp": time, "severity": "NOTICE",
            "logName": "projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity"}


def gcp_entries():
    return [
        # 6. a private key in the request body (and the response) of a key upload
        gcp_entry("g-1", "2025-03-04T10:05:00Z", "google.iam.admin.v1.UploadServiceAccountKey",
                  request={"@type": "type.googleapis.com/google.iam.admin.v1.UploadServiceAccountKeyRequest",
                           "publicKeyData": PRIVATE_KEY, "privateKeyData": PRIVATE_KEY},
                  response={"privateKeyData": PRIVATE_KEY}),
        # 7. a bearer token in the caller's user agent
        gcp_entry("g-2", "2025-03-04T10:08:00Z", "google.iam.admin.v1.GetServiceAccount",
                  agent="gcloud/460.0.0 Authorization: Bearer " + JWT_GCP),
        # 8. a resource name (an object name chosen by the caller) carrying a password and a private key
        gcp_entry("g-3", "2025-03-04T10:07:00Z", "storage.objects.create",
                  resource="projects/_/buckets/b/objects/dump.sql?password=" + GCS_PASSWORD),
    ]


def azure_records():
    claims = {"appid": "11112222-bbbb-3333-cccc-4444dddd5555", "appidacr": "1", "idtyp": "app",
              "http://schemas.microsoft.com/identity/claims/objectidentifier": "5c6d7e8f-90a1-4b2c-8d3e-4f5a6b7c8d9e",
              "http://schemas.microsoft.com/identity/claims/tenantid": "aaaabbbb-0000-cccc-1111-dddd2222eeee"}

    def rec(corr, time, op, result, props, rid="/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG"):
        return {"time": time, "resourceId": rid, "operationName": op, "category": "Administrative",
                "resultType": result, "resultSignature": "Succeeded.", "callerIpAddress": "198.51.100.9",
                "correlationId": corr, "identity": {"claims": claims}, "level": "Information",
                "location": "westeurope", "properties": props}
    body = json.dumps({"passwordCredentials": [{"secretText": AZ_CLIENT_SECRET, "displayName": "ci"}],
                       "client_secret": AZ_CLIENT_SECRET})
    return [
        # 9. the request body of an app credential change carries the client secret
        rec("c-1", "2025-03-04T10:08:00.0000000Z", "MICROSOFT.WEB/SITES/CONFIG/WRITE", "Success",
            {"requestbody": body, "eventCategory": "Administrative",
             "userAgentHeader": "AzurePowershell/v9 Authorization: Bearer " + JWT_AZ + " client_secret="
             + AZ_CLIENT_SECRET}),
        # 10. a failed call whose status carries a token, on a resource id with a SAS query
        rec("c-2", "2025-03-04T10:07:00.0000000Z", "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION", "Failure",
            {"statusCode": "Unauthorized", "eventCategory": "Administrative",
             "statusMessage": json.dumps({"error": {"code": "InvalidAuthenticationToken",
                                                    "message": "token Bearer " + JWT_AZ + " expired"}})},
            rid="/SUBSCRIPTIONS/00000000-1111-2222-3333-444444444444/RESOURCEGROUPS/RG/PROVIDERS/"
                "MICROSOFT.STORAGE/STORAGEACCOUNTS/ACME?" + SAS_SIG),
    ]


def build_inputs(root):
    os.makedirs(os.path.join(root, "aws"))
    os.makedirs(os.path.join(root, "gcp"))
    os.makedirs(os.path.join(root, "azure"))
    bad = ct("s-6", "Bearer " + JWT_BAD, "s3.amazonaws.com", "ListBuckets", USER_ID)
    with gzip.open(os.path.join(root, "aws", "111122223333_CloudTrail_us-east-1_x.json.gz"), "wt") as f:
        json.dump({"Records": aws_records() + [bad]}, f)
    with open(os.path.join(root, "aws", "eventbridge.json"), "w") as f:
        json.dump({"version": "0", "detail-type": "Custom password=" + DETAIL_TYPE_PASSWORD, "source": "app",
                   "detail": {"a": 1}}, f)
    with open(os.path.join(root, "gcp", "activity.json"), "w") as f:
        for e in gcp_entries():
            f.write(json.dumps(e) + "\n")
    with open(os.path.join(root, "azure", "PT1H.json"), "w") as f:
        for r in azure_records():
            f.write(json.dumps(r) + "\n")


def run(*args):
    return subprocess.run([NW, *args], capture_output=True, timeout=120)


class Secrets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="nw_secrets_")
        cls.inp = os.path.join(cls.tmp.name, "in")
        build_inputs(cls.inp)
        cls.db = os.path.join(cls.tmp.name, "n.db")
        cls.out = os.path.join(cls.tmp.name, "out")
        old = os.umask(0o022)  # the usual umask: nhiwatch must not rely on a strict one
        try:
            cls.first = run("run", "--db", cls.db, "--out", cls.out, cls.inp)
        finally:
            os.umask(old)
        con = sqlite3.connect(cls.db)
        cls.counters = dict(con.execute("select name, value from counter").fetchall())
        cls.uas = dict(con.execute("select key, last_ua from identity").fetchall())
        cls.reasons = [r[0] for r in con.execute("select reason from bad_input")]
        cls.skips = [r[0] for r in con.execute("select name from counter where name like 'skipped: %'")]
        con.close()
        # the other commands that print what the database holds
        cls.outputs = {"run": cls.first}
        cls.outputs["stats"] = run("stats", "--db", cls.db)
        cls.outputs["stats --files"] = run("stats", "--db", cls.db, "--files")
        for fmt in ("table", "json", "csv"):
            cls.outputs["inventory " + fmt] = run("inventory", "--db", cls.db, "--format", fmt)
        cls.outputs["report"] = run("report", "--db", cls.db, "--out", os.path.join(cls.tmp.name, "out2"))
        cls.outputs["run again"] = run("run", "--db", cls.db, "--out", os.path.join(cls.tmp.name, "out3"), cls.inp)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_events_were_ingested(self):
        # the 10 planted records are events (the secrets were there to
        # leak); one bad record and one skipped record: exit status 3
        self.assertEqual(self.first.returncode, 3, self.first.stderr.decode())
        c = self.counters
        self.assertEqual((c.get("events"), c.get("events_new"), c.get("bad"), c.get("skipped")), (10, 10, 1, 1))
        self.assertIn(b"not an RFC 3339 time", self.first.stderr)
        with open(os.path.join(self.out, "report.json")) as f:
            rep = json.load(f)
        self.assertEqual(sorted(i["key"] for i in rep["identities"]), sorted([ROLE, USER, SA, SP]))
        for name, p in self.outputs.items():
            self.assertEqual(p.returncode, 3 if name.startswith("run") else 0, name + ": " + p.stderr.decode())

    def artefacts(self):
        """(name, bytes) of everything nhiwatch wrote or printed."""
        out = []
        for suffix in ("", "-wal", "-shm", "-journal"):
            p = self.db + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out.append((os.path.basename(p), f.read()))
        for d in ("out", "out2", "out3"):
            base = os.path.join(self.tmp.name, d)
            for dirpath, _, names in os.walk(base):
                for n in names:
                    with open(os.path.join(dirpath, n), "rb") as f:
                        out.append((os.path.join(d, n), f.read()))
        for name, p in self.outputs.items():
            out.append((name + " stdout", p.stdout))
            out.append((name + " stderr", p.stderr))
        return out

    def test_no_secret_anywhere(self):
        arts = self.artefacts()
        names = [n for n, _ in arts]
        self.assertIn("n.db", names)
        self.assertIn(os.path.join("out", "report.json"), names)
        self.assertIn(os.path.join("out", "report.md"), names)
        leaks = []
        for what, secret in SECRETS.items():
            forms = {secret.encode(), json.dumps(secret)[1:-1].encode()}
            for name, data in arts:
                for form in forms:
                    if form in data:
                        leaks.append(f"{what} in {name}")
        self.assertEqual(leaks, [], "\n".join(leaks))

    def test_masked_where_it_was(self):
        # the free-text fields were stored, with the secret masked: the
        # redaction ran on them (and the fields were not simply dropped)
        # (the event with the secret is each identity's newest, so its user
        # agent is the one the identity row keeps)
        self.assertEqual(self.uas[USER], "curl/8.5.0 Authorization: [REDACTED]")
        self.assertEqual(self.uas[SA], "gcloud/460.0.0 Authorization: [REDACTED]")
        self.assertEqual(self.uas[SP], "AzurePowershell/v9 Authorization: [REDACTED]")
        self.assertEqual(len(self.reasons), 1)
        self.assertIn("eventTime 'Bearer [REDACTED]' is not an RFC 3339 time", self.reasons[0])
        self.assertEqual(self.skips, ["skipped: EventBridge event 'Custom password=[REDACTED]' is not a CloudTrail record"])

    def test_file_modes(self):
        for p in (self.db, os.path.join(self.out, "report.json"), os.path.join(self.out, "report.md")):
            self.assertEqual(os.stat(p).st_mode & 0o777, 0o600, p)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.db + suffix):
                self.assertEqual(os.stat(self.db + suffix).st_mode & 0o077, 0, self.db + suffix)


if __name__ == "__main__":
    NW = sys.argv.pop(1)
    unittest.main(verbosity=2)
