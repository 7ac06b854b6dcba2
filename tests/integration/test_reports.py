#!/usr/bin/env python3
"""Report formats and SIEM feeds, end to end, on a generated estate.

One deterministic estate (scripts/gen-estate --small, with its IAM exports)
is analyzed several ways; every expectation is computed here from the
reports' own findings and identities (independently of nhiwatch's drift,
CSV, metrics and alert code), or written below by hand:

  A   run --format all --record --alerts FILE          (the baseline)
  A2  the same run again on the same database           (de-duplication)
  A3  the same with a policy giving owners              (resolved alerts)
  B   a fresh database: the estate + extra hostile logs + the policy,
      --baseline A                                      (drift, escaping)

Usage (ctest does this):  test_reports.py NHIWATCH_BINARY SOURCE_DIR
Needs Chromium (Debian package `chromium`, installed by scripts/setup) for
the HTML checks; they fail with a message saying so when it is missing.
"""
import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest

NW = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
SRC = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCHEMA = os.path.join(SRC, "docs", "report.schema.json")

T = None  # the shared fixture (setUpModule)


# ---------------------------------------------------------------- helpers

def run(args, check=True, timeout=300, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode not in (0,):
        raise AssertionError(f"{args[:3]}... exit {r.returncode}\nstderr: {r.stderr[-3000:]}")
    return r


def parse_time(s):
    return dt.datetime.strptime(s.replace(".000000", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def fmt_time(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def load(path):
    with open(path) as f:
        return json.load(f)


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


# ------------------------------------------ a JSON Schema subset validator
# The keywords docs/report.schema.json uses; any other keyword is refused so
# the schema cannot silently rely on something this validator ignores.

KNOWN = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "required", "properties",
         "additionalProperties", "items", "enum", "pattern", "minimum", "maximum"}


def type_ok(v, t):
    return {"object": isinstance(v, dict), "array": isinstance(v, list), "string": isinstance(v, str),
            "boolean": isinstance(v, bool), "null": v is None,
            "integer": isinstance(v, int) and not isinstance(v, bool),
            "number": isinstance(v, (int, float)) and not isinstance(v, bool)}[t]


def validate(v, schema, root, path="$", errors=None):
    if errors is None:
        errors = []
    unknown = set(schema) - KNOWN
    if unknown:
        raise AssertionError(f"schema keyword(s) {unknown} at {path}: not supported by this validator")
    if "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/$defs/"), ref
        validate(v, root["$defs"][ref[8:]], root, path, errors)
    if "type" in schema:
        ts = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(type_ok(v, t) for t in ts):
            errors.append(f"{path}: {type(v).__name__} is not {ts}")
            return errors
    if "enum" in schema and v not in schema["enum"]:
        errors.append(f"{path}: {v!r} not in {schema['enum']}")
    if "pattern" in schema and isinstance(v, str) and not re.search(schema["pattern"], v):
        errors.append(f"{path}: {v!r} does not match {schema['pattern']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in schema and v < schema["minimum"]:
            errors.append(f"{path}: {v} < {schema['minimum']}")
        if "maximum" in schema and v > schema["maximum"]:
            errors.append(f"{path}: {v} > {schema['maximum']}")
    if isinstance(v, dict):
        for k in schema.get("required", []):
            if k not in v:
                errors.append(f"{path}: '{k}' is required")
        props = schema.get("properties", {})
        for k, x in v.items():
            if k in props:
                validate(x, props[k], root, f"{path}.{k}", errors)
            elif "additionalProperties" in schema:
                ap = schema["additionalProperties"]
                if ap is False:
                    errors.append(f"{path}: '{k}' is not allowed")
                elif isinstance(ap, dict):
                    validate(x, ap, root, f"{path}.{k}", errors)
    if isinstance(v, list) and "items" in schema:
        for i, x in enumerate(v):
            validate(x, schema["items"], root, f"{path}[{i}]", errors)
    return errors


# ------------------------------------------------------------ extra inputs

def ct_event(eid, when, name, source, role_arn, error=None, agent="aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0",
             read_only=True):
    role = role_arn.split("/")[-1]
    acct = role_arn.split(":")[4]
    ident = {"type": "AssumedRole", "principalId": "AROAEXTRAROLE:job",
             "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/job", "accountId": acct,
             "accessKeyId": "ASIAEXTRA" + eid.upper().replace("-", "")[:11].ljust(11, "X"),
             "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXTRAROLE", "arn": role_arn,
                                                  "accountId": acct, "userName": role},
                                "attributes": {"creationDate": when, "mfaAuthenticated": "false"}}}
    ev = {"eventVersion": "1.11", "userIdentity": ident, "eventTime": when, "eventSource": source,
          "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.44", "userAgent": agent,
          "requestParameters": None, "eventID": eid, "readOnly": read_only, "eventType": "AwsApiCall",
          "managementEvent": True, "recipientAccountId": acct}
    if error:
        ev["errorCode"] = error
        ev["errorMessage"] = "not authorized"
    return ev


def gcp_entry(insert_id, when, email):
    pp = {"@type": "type.googleapis.com/google.cloud.audit.AuditLog", "status": {},
          "authenticationInfo": {"principalEmail": email},
          "requestMetadata": {"callerIp": "203.0.113.77", "callerSuppliedUserAgent": "google-api-go-client/0.5"},
          "serviceName": "storage.googleapis.com", "methodName": "storage.objects.get",
          "authorizationInfo": [{"permission": "storage.objects.get", "granted": True,
                                 "resource": "projects/_/buckets/b"}],
          "resourceName": "projects/_/buckets/b"}
    return {"protoPayload": pp, "insertId": insert_id, "resource": {"type": "gcs_bucket",
                                                                    "labels": {"project_id": "evil-proj"}},
            "timestamp": when, "severity": "NOTICE",
            "logName": "projects/evil-proj/logs/cloudaudit.googleapis.com%2Fdata_access", "receiveTimestamp": when}


# a role name that tries shell, HTML and comment injection (no '/': it stays the role's name)
EVIL_NAME = "evil'$(touch pwned)'`touch pwned2`<img src=x onerror=alert(1)>"
EVIL_ROLE = "arn:aws:iam::111122223333:role/" + EVIL_NAME
JOB_ROLE = "arn:aws:iam::111122223333:role/quarantined-job"
EVIL_SA = "=cmd|' /c calc'!a0@evil-proj.iam.gserviceaccount.com"


def write_extra(root, as_of):
    """Hostile and quarantine-test identities, all before as_of."""
    os.makedirs(os.path.join(root, "aws"))
    os.makedirs(os.path.join(root, "gcp"))
    day = dt.timedelta(days=1)
    evs = []
    # the hostile role: three successful days 120 days before as_of (dormant), a hostile user agent
    for i in range(3):
        evs.append(ct_event(f"evil-{i}", fmt_time(as_of - (120 - i) * day), "GetObject", "s3.amazonaws.com",
                            EVIL_ROLE, agent="<script>alert('ua')</script>"))
    # the job role: successes from 30 to 10 days before, then only refused calls (6 to 2 days before)
    for i in range(30, 9, -1):
        evs.append(ct_event(f"job-ok-{i}", fmt_time(as_of - i * day + dt.timedelta(hours=3)), "GetObject",
                            "s3.amazonaws.com", JOB_ROLE))
    for i in range(6, 1, -1):
        evs.append(ct_event(f"job-denied-{i}", fmt_time(as_of - i * day + dt.timedelta(hours=3)), "GetObject",
                            "s3.amazonaws.com", JOB_ROLE, error="AccessDenied"))
    with open(os.path.join(root, "aws", "extra.json"), "w") as f:
        json.dump({"Records": evs}, f)
    with open(os.path.join(root, "gcp", "extra.jsonl"), "w") as f:
        for i in range(3):
            f.write(json.dumps(gcp_entry(f"evil-sa-{i}", fmt_time(as_of - (115 - i) * day), EVIL_SA)) + "\n")


# ------------------------------------------------------------ the fixture

class Fixture:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nw-reports-")
        d = self.dir
        est = os.path.join(d, "estate")
        run([sys.executable, os.path.join(SRC, "scripts", "gen-estate"), "--small", "--out", est,
             "--truth", os.path.join(d, "truth.json")], timeout=600)
        self.inputs = [os.path.join(est, p) for p in ("aws", "azure", "gcp")]
        self.ents = []
        for root, _, files in os.walk(os.path.join(est, "entitlements")):
            for fn in files:
                self.ents += ["--entitlements", os.path.join(root, fn)]
        self.ents = [x for pair in sorted(zip(self.ents[::2], self.ents[1::2]), key=lambda p: p[1]) for x in pair]
        self.p = lambda *x: os.path.join(d, *x)

        # A: the baseline
        run([NW, "run", "-q", "--db", self.p("A.db"), "--out", self.p("repA"), "--format", "all", "--record",
             "--alerts", self.p("alertsA.jsonl"), *self.ents, *self.inputs])
        self.A = load(self.p("repA", "report.json"))
        self.as_of = parse_time(self.A["as_of"])
        # A2: the same again: nothing new
        run([NW, "run", "-q", "--db", self.p("A.db"), "--out", self.p("repA2"), "--record",
             "--alerts", self.p("alertsA2.jsonl"), *self.ents, *self.inputs])
        self.A2 = load(self.p("repA2", "report.json"))
        # the policy: owners (and prod tags) for the estate's AWS accounts only
        accounts = sorted({i["account"] for i in self.A["identities"] if i["provider"] == "aws" and i.get("account")})
        self.policy = {"version": 1, "identities": [
            {"match": f"arn:aws:iam::{a}:*", "owner": "platform@example.com", "rotation_days": 365,
             "expires": "2030-01-01", "tags": {"env": "prod"}} for a in accounts]}
        with open(self.p("policy.json"), "w") as f:
            json.dump(self.policy, f)
        # A3: owners given: their no_owner findings are resolved
        run([NW, "run", "-q", "--db", self.p("A.db"), "--out", self.p("repA3"), "--policy", self.p("policy.json"),
             "--alerts", self.p("alertsA3.jsonl"), *self.ents, *self.inputs])
        self.A3 = load(self.p("repA3", "report.json"))
        # B: fresh database, extra hostile logs, the policy, A as the baseline
        write_extra(self.p("extra"), self.as_of)
        run([NW, "run", "-q", "--db", self.p("B.db"), "--out", self.p("repB"), "--as-of", self.A["as_of"],
             "--format", "all", "--baseline", self.p("repA"), "--policy", self.p("policy.json"),
             *self.ents, *self.inputs, self.p("extra")])
        self.B = load(self.p("repB", "report.json"))

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global T
    if not NW or not os.access(NW, os.X_OK):
        raise SystemExit("usage: test_reports.py NHIWATCH_BINARY SOURCE_DIR")
    T = Fixture()


def tearDownModule():
    if T:
        T.close()


def ids(findings):
    return {f["id"] for f in findings}


# ------------------------------------------------------------------ tests

class SchemaTest(unittest.TestCase):
    def test_reports_validate(self):
        schema = load(SCHEMA)
        for name, rep in (("A", T.A), ("B", T.B), ("A3", T.A3)):
            errs = validate(rep, schema, schema)
            self.assertEqual(errs[:10], [], f"report {name}")
        self.assertIn("drift", T.B)

    def test_validator_catches_errors(self):
        schema = load(SCHEMA)
        bad = json.loads(json.dumps(T.A))
        del bad["findings"]
        bad["as_of"] = "yesterday"
        bad["identities"][0]["kind"] = "robot"
        bad["deprovision_candidates"][0]["confidence"] = 1.5
        errs = validate(bad, schema, schema)
        self.assertTrue(any("'findings' is required" in e for e in errs), errs)
        self.assertTrue(any("$.as_of" in e for e in errs), errs)
        self.assertTrue(any("$.identities[0].kind" in e for e in errs), errs)
        self.assertTrue(any("confidence" in e for e in errs), errs)


class CsvTest(unittest.TestCase):
    HEADER = ["identity", "provider", "type", "owner", "last_used", "last_source", "grants", "reasons",
              "confidence", "suggested_action", "severity", "credentials"]

    def rows(self, rep):
        with open(T.p(rep, "deprovision.csv"), newline="") as f:
            raw = f.read()
        self.assertTrue(raw.endswith("\r\n"))
        return list(csv.reader(io.StringIO(raw)))

    def unformula(self, s):
        return s[1:] if s[:2] in ("'=", "'+", "'-", "'@") else s

    def check(self, rep, doc):
        rows = self.rows(rep)
        self.assertEqual(rows[0], self.HEADER)
        cands = doc["deprovision_candidates"]
        self.assertEqual(len(rows) - 1, len(cands))
        by_key = {i["key"]: i for i in doc["identities"]}
        for row, c in zip(rows[1:], cands):
            r = dict(zip(self.HEADER, row))
            self.assertEqual(self.unformula(r["identity"]), c["identity"])
            self.assertEqual(r["provider"], c["provider"])
            self.assertEqual(r["type"], c["type"])
            self.assertEqual(r["owner"], c["owner"] or "")
            self.assertEqual(r["last_source"], c["last_source"] or "")
            self.assertEqual(r["reasons"], "; ".join(c["reasons"]))
            self.assertEqual(r["grants"], "; ".join(c["grants"]))
            self.assertEqual(r["confidence"], f"{c['confidence']:.1f}")
            self.assertEqual(r["severity"], c["severity"])
            self.assertTrue(r["suggested_action"])
            # last_used: newest of the last successful call and the provider-reported last use
            ident = by_key[c["identity"]]
            times = [ident.get("last_success"), (ident.get("inventory") or {}).get("provider_last_used")]
            times += [cr.get("provider_last_used") for cr in ident["credentials"]]
            times = [t for t in times if t]
            self.assertEqual(r["last_used"], max(times) if times else (c["last_seen"] or ""))
        return rows

    def test_baseline_csv(self):
        rows = self.check("repA", T.A)
        self.assertGreater(len(rows), 1)

    def test_hostile_csv(self):
        rows = self.check("repB", T.B)
        cells = [r[0] for r in rows[1:]]
        self.assertIn(EVIL_ROLE, cells)
        # the formula-looking GCP principal is neutralised with a leading quote
        self.assertIn("'" + EVIL_SA.lower(), cells)
        self.assertFalse(any(c[:1] in "=+-@" for row in rows[1:] for c in row if c), "a cell starts a formula")


class DriftTest(unittest.TestCase):
    def test_new_resolved_persisting(self):
        a, b = {f["id"]: f for f in T.A["findings"]}, {f["id"]: f for f in T.B["findings"]}
        d = T.B["drift"]
        self.assertEqual({x["id"] for x in d["new"]}, set(b) - set(a))
        self.assertEqual({x["id"] for x in d["resolved"]}, set(a) - set(b))
        self.assertEqual({x["id"] for x in d["persisting"]}, set(a) & set(b))
        self.assertEqual(d["counts"], {"new": len(set(b) - set(a)), "resolved": len(set(a) - set(b)),
                                       "persisting": len(set(a) & set(b)),
                                       "escalated": sum(1 for x in d["persisting"] if x["escalated"])})
        for x in d["new"] + d["persisting"]:
            self.assertEqual((x["rule"], x["identity"], x["severity"]),
                             (b[x["id"]]["rule"], b[x["id"]]["identity"], b[x["id"]]["severity"]))
        for x in d["resolved"]:
            self.assertEqual((x["rule"], x["identity"]), (a[x["id"]]["rule"], a[x["id"]]["identity"]))
        # what the remediation changed: owners for the AWS accounts, hostile identities added
        owned = {i["key"] for i in T.B["identities"] if i["owner"] == "platform@example.com"}
        self.assertTrue(owned)
        resolved_no_owner = {x["identity"] for x in d["resolved"] if x["rule"] == "NHI-HYG-005"}
        a_no_owner = {f["identity"] for f in T.A["findings"] if f["rule"] == "NHI-HYG-005"}
        self.assertEqual(resolved_no_owner, a_no_owner & owned)
        self.assertTrue(resolved_no_owner)
        new_idents = {x["identity"] for x in d["new"]}
        self.assertTrue({EVIL_ROLE, JOB_ROLE, EVIL_SA.lower()} <= new_idents, new_idents)

    def test_metric_changes(self):
        dm = T.B["drift"]["metrics"]
        for path in ("findings", "ownership.with_owner", "ownership.with_owner_share", "non_human",
                     "production_access.prod_tagged", "credentials.median_age_days"):
            va, vb = T.A["metrics"], T.B["metrics"]
            for k in path.split("."):
                va, vb = va[k], vb[k]
            self.assertEqual(dm[path]["baseline"], va, path)
            self.assertEqual(dm[path]["current"], vb, path)
            if va is not None and vb is not None:
                self.assertAlmostEqual(dm[path]["change"], vb - va, places=3, msg=path)

    def test_compliance_drift(self):
        def failing(rep):
            return {(c["framework"], c["control"]) for c in rep["compliance"]["controls"] if c["status"] == "fail"}
        dc = T.B["drift"]["compliance"]
        self.assertEqual({(x["framework"], x["control"]) for x in dc["newly_failing"]}, failing(T.B) - failing(T.A))
        self.assertEqual({(x["framework"], x["control"]) for x in dc["newly_passing"]}, failing(T.A) - failing(T.B))
        self.assertEqual(dc["failing"]["current"] - dc["failing"]["baseline"], len(failing(T.B)) - len(failing(T.A)))


class ComplianceTest(unittest.TestCase):
    def test_controls_from_findings(self):
        want = {}
        for f in T.A["findings"]:
            for c in f["compliance"]:
                want.setdefault((c["framework"], c["control"]), []).append(f["id"])
        got = {(c["framework"], c["control"]): c for c in T.A["compliance"]["controls"]}
        for k, fids in want.items():
            self.assertEqual(got[k]["status"], "fail")
            self.assertEqual(got[k]["findings"], len(fids))
            self.assertEqual(got[k]["finding_ids"], fids[:200])
        for k, c in got.items():
            if k not in want:
                self.assertEqual((c["status"], c["findings"]), ("pass", 0))
        # every control of the shipped rules is listed
        rules_controls = set()
        for fn in os.listdir(os.path.join(SRC, "rules")):
            doc = load(os.path.join(SRC, "rules", fn))
            for r in doc.get("rules", []) if isinstance(doc, dict) else []:
                rules_controls |= {(c["framework"], c["control"]) for c in r.get("compliance", [])}
        self.assertEqual(set(got), rules_controls | set(want))


class MetricsTest(unittest.TestCase):
    """The DESIGN.md metrics of report B, recomputed from its identities (docs/reports.md definitions)."""

    def test_metrics(self):
        m = T.B["metrics"]
        nhis = [i for i in T.B["identities"] if i["kind"] == "non_human"]
        as_of = parse_time(T.B["as_of"])
        own = m["ownership"]
        self.assertEqual(own["non_human"], len(nhis))
        self.assertEqual(own["with_owner"], sum(1 for i in nhis if i["owner"]))
        self.assertEqual(own["with_expiry"], sum(1 for i in nhis if (i.get("policy") or {}).get("expires")))
        self.assertEqual(own["with_rotation_policy"],
                         sum(1 for i in nhis if (i.get("policy") or {}).get("rotation_days") is not None))
        self.assertAlmostEqual(own["with_owner_share"], round(own["with_owner"] / len(nhis), 4))
        self.assertGreater(own["with_owner"], 0)

        def admin(i):
            return any(g.get("admin") and g.get("effect") not in ("deny", "boundary") for g in (i["granted"] or []))
        sp = m["standing_privilege"]
        self.assertEqual(sp["admin_nhis"], sum(1 for i in nhis if admin(i)))
        self.assertGreater(sp["admin_nhis"], 0)
        self.assertLessEqual(sp["admin_unused"], sp["admin_nhis"])

        long_kinds = {"aws_long_term", "gcp_sa_key", "azure_secret"}
        ages, long_nhis, short_nhis, active = [], 0, 0, 0
        for i in nhis:
            uses_long = False
            for c in i["credentials"]:
                inv = "active" in c
                lived = c["kind"] in long_kinds or (inv and c["kind"] == "azure_cert")
                if not lived or (inv and c["active"] is False):
                    continue
                uses_long = True
                if inv:
                    active += 1
                    born = max([parse_time(t) for t in (c.get("created"), c.get("rotated")) if t], default=None)
                    if born and born <= as_of:
                        ages.append((as_of - born).days)
            if uses_long:
                long_nhis += 1
            elif i["credentials"] or i["events"] > 0:
                short_nhis += 1
        cr = m["credentials"]
        self.assertEqual(cr["with_known_age"], len(ages))
        self.assertGreater(len(ages), 0)
        self.assertEqual(cr["median_age_days"], statistics.median(ages))
        self.assertEqual(cr["max_age_days"], max(ages))
        self.assertEqual(cr["long_lived_active"], active)
        self.assertEqual(cr["nhis_long_lived"], long_nhis)
        self.assertEqual(cr["nhis_short_lived_only"], short_nhis)
        buckets = {"0-30": 0, "31-90": 0, "91-180": 0, "181-365": 0, "366+": 0}
        for a in ages:
            buckets["0-30" if a <= 30 else "31-90" if a <= 90 else "91-180" if a <= 180 else
                    "181-365" if a <= 365 else "366+"] += 1
        self.assertEqual(cr["age_days"], buckets)

        prod = [i for i in nhis if ((i.get("policy") or {}).get("tags") or {}).get("env") == "prod"]
        pa = m["production_access"]
        self.assertEqual(pa["prod_tagged"], len(prod))
        self.assertGreater(len(prod), 0)
        # permanent write: prod-tagged, not JIT, with admin grants or write calls in the window
        self.assertGreaterEqual(pa["permanent_write"], sum(1 for i in prod if admin(i)))
        self.assertLessEqual(pa["permanent_write"], sum(1 for i in prod if admin(i) or i["writes"] > 0))

        by_pt = {}
        for i in nhis:
            by_pt.setdefault(i["provider"], {}).setdefault(i["type"], 0)
            by_pt[i["provider"]][i["type"]] += 1
        self.assertEqual(m["non_human_by_provider_type"], by_pt)


OCSF_CLASSES = {2003: "Compliance Finding", 2004: "Detection Finding", 2008: "IAM Analysis Finding"}
IAM_KINDS = {"over_privileged", "unused_credential", "stale_credential", "credential_expired",
             "credential_expiring", "multiple_active_keys", "long_lived_key_on_compute"}


class AlertsTest(unittest.TestCase):
    def check_ocsf(self, a):
        self.assertIn(a["class_uid"], OCSF_CLASSES)
        self.assertEqual(a["class_name"], OCSF_CLASSES[a["class_uid"]])
        self.assertEqual(a["category_uid"], 2)
        self.assertIn(a["activity_id"], (1, 2, 3))
        self.assertEqual(a["type_uid"], a["class_uid"] * 100 + a["activity_id"])
        self.assertIn(a["severity_id"], (1, 2, 3, 4, 5))
        self.assertIsInstance(a["time"], int)
        self.assertGreater(a["time"], 1_500_000_000_000)  # epoch milliseconds
        self.assertEqual(a["metadata"]["version"], "1.6.0")
        self.assertEqual(a["metadata"]["product"]["name"], "nhiwatch")
        self.assertEqual(a["metadata"]["product"]["vendor_name"], "nhiwatch")
        self.assertTrue(a["metadata"]["product"]["version"])
        self.assertTrue(a["finding_info"]["uid"])
        self.assertTrue(a["finding_info"]["title"])
        if a["class_uid"] == 2003:
            self.assertTrue(a["compliance"]["standards"])
            self.assertIn(a["compliance"]["status_id"], (1, 3))
        elif a["class_uid"] == 2008:
            self.assertTrue({"identity_activity_metrics", "permission_analysis_results"} & set(a))
            self.assertIn(a["finding_info"]["types"][0], IAM_KINDS)
        else:
            self.assertTrue(a["evidences"])
            self.assertNotIn(a["finding_info"]["types"][0], IAM_KINDS)

    def test_ocsf_fields_and_coverage(self):
        alerts = lines(T.p("alertsA.jsonl"))
        self.assertGreater(len(alerts), 0)
        for a in alerts:
            self.check_ocsf(a)
        opened = {a["finding_info"]["uid"] for a in alerts if a["class_uid"] != 2003 and a["activity_id"] in (1, 2)}
        # every finding of the report was alerted (by the stream or the report)
        self.assertEqual(ids(T.A["findings"]) - opened, set())
        closed = {a["finding_info"]["uid"] for a in alerts if a["class_uid"] != 2003 and a["activity_id"] == 3}
        # a streaming alert the report does not keep is closed at once; nothing the report keeps is closed
        self.assertEqual(closed & ids(T.A["findings"]), set())
        failing = {(c["framework"], c["control"]) for c in T.A["compliance"]["controls"] if c["status"] == "fail"}
        got = {(a["compliance"]["standards"][0], a["compliance"]["control"]) for a in alerts if a["class_uid"] == 2003}
        self.assertEqual(got, failing)

    def test_dedup_second_run_sends_nothing(self):
        self.assertEqual(lines(T.p("alertsA2.jsonl")), [])
        self.assertEqual(ids(T.A2["findings"]), ids(T.A["findings"]))

    def test_resolved_after_remediation(self):
        alerts = lines(T.p("alertsA3.jsonl"))
        for a in alerts:
            self.check_ocsf(a)
        fa = [a for a in alerts if a["class_uid"] != 2003]
        self.assertEqual({a["finding_info"]["uid"] for a in fa if a["activity_id"] == 3},
                         ids(T.A2["findings"]) - ids(T.A3["findings"]))
        self.assertEqual({a["finding_info"]["uid"] for a in fa if a["activity_id"] == 1},
                         ids(T.A3["findings"]) - ids(T.A2["findings"]))
        self.assertTrue(any(a["activity_id"] == 3 for a in fa))
        for a in fa:
            if a["activity_id"] == 3:
                self.assertEqual((a["status_id"], a["is_alert"]), (4, False))

    def test_ecs_and_cef(self):
        for fmt in ("ecs", "cef", "json"):
            db = T.p(f"B-{fmt}.db")  # a copy: B.db itself has no alert state yet, each format starts fresh
            shutil.copy(T.p("B.db"), db)
            out = T.p(f"alerts-{fmt}.txt")
            args = [NW, "report", "-q", "--db", db, "--out", T.p(f"rep-{fmt}"), "--as-of", T.A["as_of"],
                    "--policy", T.p("policy.json"), "--alerts", out, "--alert-format", fmt]
            run(args)
            with open(out) as f:
                got = [l.rstrip("\n") for l in f]
            # one alert per finding and per failing control
            failing = sum(1 for c in T.B["compliance"]["controls"] if c["status"] == "fail")
            self.assertEqual(len(got), len(T.B["findings"]) + failing)
            if fmt == "cef":
                for l in got:
                    self.assertRegex(l, r"^CEF:0\|nhiwatch\|nhiwatch\|[^|]+\|[^|]+\|.+\|(1|3|5|8|10)\|rt=\d+ ")
                self.assertTrue(any("suser=" + EVIL_ROLE.replace("=", "\\=") + " " in l for l in got))
            elif fmt == "ecs":
                for l in map(json.loads, got):
                    self.assertEqual(l["event"]["kind"], "alert")
                    self.assertIn(l["event"]["dataset"], ("nhiwatch.finding", "nhiwatch.control"))
                    self.assertTrue(l["@timestamp"].endswith("Z"))
                    self.assertEqual(l["observer"]["product"], "nhiwatch")
            else:
                for l in map(json.loads, got):
                    self.assertIn(l["schema"], ("nhiwatch.alert/1", "nhiwatch.control/1"))
                    self.assertEqual(l["state"], "new")
            run(args)  # the same report again: every finding is already alerted
            with open(out) as f:
                self.assertEqual(sum(1 for _ in f), len(got))


class SyslogTest(unittest.TestCase):
    RE = re.compile(r'^<(\d+)>1 (\S+) (\S+) nhiwatch (\d+) (OCSF|CEF) \[nhiwatch@32473 id="(\S+)" '
                    r'state="(new|escalated|resolved)"\] (.*)$', re.S)

    def fresh_run(self, name, sink, fmt):
        return run([NW, "run", "-q", "--db", T.p(name + ".db"), "--out", T.p(name), "--alert-format", fmt,
                    "--alerts", T.p(name + ".jsonl"), "--alerts", sink, *T.ents, *T.inputs])

    def check_messages(self, msgs, name, fmt):
        with open(T.p(name + ".jsonl")) as f:
            file_lines = [l.rstrip("\n") for l in f]
        self.assertGreater(len(file_lines), 0)
        self.assertEqual(len(msgs), len(file_lines))
        for m, want in zip(msgs, file_lines):
            g = self.RE.match(m)
            self.assertTrue(g, m[:200])
            pri = int(g.group(1))
            self.assertEqual(pri // 8, 20)  # local4
            self.assertIn(pri % 8, (2, 3, 4, 5, 6))
            self.assertEqual(g.group(5), fmt.upper())
            self.assertEqual(g.group(8), want)

    def test_udp(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.5)
        got, stop = [], threading.Event()

        def rx():
            while not stop.is_set():
                try:
                    got.append(sock.recv(70000).decode())
                except socket.timeout:
                    pass
        th = threading.Thread(target=rx, daemon=True)
        th.start()
        self.fresh_run("udp", f"syslog+udp://127.0.0.1:{sock.getsockname()[1]}", "cef")
        deadline = time.time() + 10
        with open(T.p("udp.jsonl")) as f:
            want = sum(1 for _ in f)
        while len(got) < want and time.time() < deadline:
            time.sleep(0.1)
        stop.set()
        th.join(5)
        sock.close()
        self.check_messages(got, "udp", "cef")

    def test_tcp_octet_counting(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        srv.settimeout(30)
        data = bytearray()

        def rx():
            try:
                c, _ = srv.accept()
            except socket.timeout:
                return
            c.settimeout(30)
            with c:
                while True:
                    try:
                        b = c.recv(65536)
                    except socket.timeout:
                        return
                    if not b:
                        return
                    data.extend(b)
        th = threading.Thread(target=rx, daemon=True)
        th.start()
        self.fresh_run("tcp", f"syslog+tcp://127.0.0.1:{srv.getsockname()[1]}", "ocsf")
        th.join(30)
        srv.close()
        msgs, i = [], 0
        while i < len(data):
            sp = data.index(b" ", i)
            n = int(data[i:sp])
            msgs.append(data[sp + 1:sp + 1 + n].decode())
            i = sp + 1 + n
        self.assertEqual(i, len(data))
        self.check_messages(msgs, "tcp", "ocsf")

    def test_bad_sinks_refused(self):
        for sink in ("syslog+udp://", "syslog+tcp://127.0.0.1:notaport", "gopher://x", "kafka://t"):
            r = run([NW, "run", "-q", "--db", T.p("bad.db"), "--out", T.p("bad"), "--alerts", sink, *T.inputs],
                    check=False)
            self.assertEqual(r.returncode, 1, sink)
            self.assertIn(sink.split(":")[0], r.stderr)


class HtmlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

    def need_browser(self):
        if not self.browser:
            self.fail("chromium not found: install the Debian package 'chromium' (scripts/setup installs it)")

    def test_escaped(self):
        with open(T.p("repB", "report.html"), encoding="utf-8") as f:
            html = f.read()
        self.assertNotIn("<img", html)
        self.assertNotIn("<script", html)
        self.assertIn("&lt;img src=x onerror=alert(1)&gt;", html)
        self.assertIn("Content-Security-Policy", html)
        self.assertNotRegex(html, r"(?i)(src|href)=\"(https?:)?//")  # nothing from the network

    def test_cards_and_sections(self):
        with open(T.p("repB", "report.html"), encoding="utf-8") as f:
            html = f.read()
        with_findings = {f["identity"] for f in T.B["findings"]}
        self.assertEqual(html.count('<article class="card'), min(len(with_findings), 500))
        for sec in ("summary", "findings", "drift", "compliance", "candidates", "metrics", "identities"):
            self.assertIn(f'<section id="{sec}">', html)
        for f in T.B["findings"]:
            self.assertIn(f'id="{f["id"]}"', html)

    def test_card_cap(self):
        out = T.p("rep-cap")
        run([NW, "report", "-q", "--db", T.p("B.db"), "--out", out, "--as-of", T.A["as_of"], "--policy",
             T.p("policy.json"), "--format", "html", "--max-cards", "5"])
        self.assertEqual(sorted(os.listdir(out)), ["report.html"])  # json not asked for: not written
        with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
            html = f.read()
        self.assertEqual(html.count('<article class="card'), 5)
        with_findings = {f["identity"] for f in T.B["findings"]}
        self.assertIn(f"<b>{len(with_findings) - 5} more</b> identities with findings", html)
        # the five kept are the most severe: their worst severity is >= every other identity's
        rank = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
        worst = {}
        for f in T.B["findings"]:
            worst[f["identity"]] = max(worst.get(f["identity"], 0), rank[f["severity"]])
        shown = re.findall(r'<article class="card s-(\w+)"', html)
        self.assertEqual(sorted((rank[s] for s in shown), reverse=True), sorted(worst.values(), reverse=True)[:5])

    def test_renders_in_chromium(self):
        self.need_browser()
        prof = tempfile.mkdtemp(dir=T.dir)
        r = subprocess.run([self.browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                            f"--user-data-dir={prof}", "--enable-logging=stderr", "--v=0", "--dump-dom",
                            "file://" + T.p("repB", "report.html")], capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        console = [l for l in r.stderr.splitlines() if "CONSOLE" in l or "Refused to" in l]
        self.assertEqual(console, [])
        dom = r.stdout
        self.assertIn("Identities with findings", dom)
        self.assertNotIn("<script", dom)
        self.assertNotIn("<img", dom)

    def test_screenshot(self):
        self.need_browser()
        out = T.p("shot.png")
        run([os.path.join(SRC, "scripts", "screenshot"), T.p("repB", "report.html"), out, "1280", "1600"],
            timeout=180)
        with open(out, "rb") as f:
            head = f.read(24)
        self.assertEqual(head[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(int.from_bytes(head[16:20], "big"), 1280)


class RemediationTest(unittest.TestCase):
    def test_scripts(self):
        d = T.p("repB", "remediation")
        stub = T.p("stubs")
        os.makedirs(stub, exist_ok=True)
        log = T.p("stub-calls")
        for tool in ("aws", "gcloud", "az"):
            with open(os.path.join(stub, tool), "w") as f:
                # one record per call: the arguments NUL-separated, then a newline-free record separator
                f.write(f"#!/usr/bin/env bash\nprintf '%s\\0' {tool} \"$@\" >> {log}\nprintf '\\036' >> {log}\n")
            os.chmod(os.path.join(stub, tool), 0o755)
        work = T.p("scriptrun")
        os.makedirs(work, exist_ok=True)
        env = dict(os.environ, PATH=stub + os.pathsep + os.environ["PATH"])
        scripts = [os.path.join(d, p + ".sh") for p in ("aws", "azure", "gcp")]
        for script in scripts:
            run(["bash", "-n", script])
            dry = run(["bash", script], cwd=work, env=env)
            self.assertFalse(os.path.exists(log), "a dry run executed a command")
            self.assertTrue(all(l.startswith("+ ") for l in dry.stdout.splitlines()), dry.stdout[:500])
        for script in scripts:
            run(["bash", script, "--apply"], cwd=work, env=env)
        self.assertFalse(os.path.exists(os.path.join(work, "pwned")))
        self.assertFalse(os.path.exists(os.path.join(work, "pwned2")))
        with open(log, encoding="utf-8") as f:
            calls = [c.split("\0")[:-1] for c in f.read().split("\x1e") if c]
        # every candidate with a reversible command was called, and the hostile name arrived as one argument
        self.assertIn(["aws", "iam", "put-role-policy", "--role-name", EVIL_NAME, "--policy-name",
                       "nhiwatch-quarantine", "--policy-document",
                       '{"Version":"2012-10-17","Statement":[{"Sid":"NhiwatchQuarantine","Effect":"Deny",'
                       '"Action":"*","Resource":"*"}]}'], calls)
        cands = T.B["deprovision_candidates"]
        roles = {c["identity"].split("/")[-1] for c in cands if c["type"] == "iam_role"
                 and set(c["reasons"]) & {"NHI-DORMANT-001", "NHI-DORMANT-002"}}
        self.assertEqual({c[4] for c in calls if c[:3] == ["aws", "iam", "put-role-policy"]}, roles)
        sas = {c["identity"] for c in cands if c["type"] == "service_account"
               and set(c["reasons"]) & {"NHI-DORMANT-001", "NHI-DORMANT-002"}}
        self.assertEqual({c[4] for c in calls if c[:4] == ["gcloud", "iam", "service-accounts", "disable"]}, sas)
        sps = {c["identity"].split("/")[-1] for c in cands if c["type"] == "service_principal"
               and set(c["reasons"]) & {"NHI-DORMANT-001", "NHI-DORMANT-002"}}
        self.assertEqual({c[5] for c in calls if c[:4] == ["az", "ad", "sp", "update"]}, sps)


class TrendTest(unittest.TestCase):
    def test_trend_json(self):
        r = run([NW, "trend", "--db", T.p("A.db"), "--format", "json"])
        t = json.loads(r.stdout)
        self.assertEqual(len(t["runs"]), 2)  # A and A2 recorded, A3 not
        self.assertEqual(t["metrics"]["findings"], [T.A["metrics"]["findings"], T.A2["metrics"]["findings"]])
        self.assertEqual(t["metrics"]["ownership.with_owner_share"],
                         [T.A["metrics"]["ownership"]["with_owner_share"]] * 2)
        self.assertEqual(t["change"]["findings"], 0)
        table = run([NW, "trend", "--db", T.p("A.db")]).stdout
        self.assertIn("2 recorded report(s)", table)
        self.assertRegex(table, r"(?m)^findings\s+%d\s+%d\s+\+0$" % (T.A["metrics"]["findings"],
                                                                    T.A2["metrics"]["findings"]))


class WatchTest(unittest.TestCase):
    def test_quarantine(self):
        day = dt.timedelta(days=1)
        as_of = T.as_of
        active = max((i for i in T.B["identities"] if i["kind"] == "non_human" and i["last_success"]),
                     key=lambda i: (i["last_success"], i["key"]))
        self.assertGreater(parse_time(active["last_success"]), as_of - 3 * day)
        q = T.p("quarantine.csv")
        with open(q, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["identity", "disabled_at", "ticket"])
            w.writerow([JOB_ROLE, fmt_time(as_of - 8 * day), "CHG-1"])
            w.writerow([active["key"], fmt_time(as_of - 3 * day), "CHG-2"])
            w.writerow([EVIL_ROLE, fmt_time(as_of - 40 * day), "CHG-3"])
            w.writerow([EVIL_SA.lower(), fmt_time(as_of - 5 * day), "CHG-4"])
        alerts = T.p("watch.jsonl")
        args = [NW, "watch", "--db", T.p("B.db"), "--quarantine", q, "--format", "json", "--alerts", alerts,
                "--alert-format", "json"]
        res = json.loads(run(args).stdout)
        st = {x["identity"]: x for x in res["identities"]}
        self.assertEqual(st[JOB_ROLE]["status"], "still_needed")
        self.assertEqual(st[JOB_ROLE]["after"]["denied"], 5)
        self.assertTrue(st[JOB_ROLE]["rollback"][0].startswith("aws iam delete-role-policy --role-name quarantined-job"))
        self.assertEqual(st[active["key"]]["status"], "active_after_disable")
        self.assertEqual(st[EVIL_ROLE]["status"], "safe_to_delete")
        self.assertEqual(st[EVIL_SA.lower()]["status"], "observing")
        self.assertEqual(st[EVIL_SA.lower()]["days_left"], 25)
        self.assertEqual(res["counts"], {"active_after_disable": 1, "still_needed": 1, "observing": 1,
                                         "safe_to_delete": 1})
        got = lines(alerts)
        self.assertEqual(sorted((a["rule"], a["identity"]) for a in got),
                         sorted([("NHI-WATCH-001", JOB_ROLE), ("NHI-WATCH-002", active["key"])]))
        run(args)  # again: already alerted
        self.assertEqual(len(lines(alerts)), 2)
        # --silent-days moves the line between observing and safe to delete
        res = json.loads(run([NW, "watch", "--db", T.p("B.db"), "--quarantine", q, "--format", "json",
                              "--silent-days", "5"]).stdout)
        self.assertEqual({x["identity"]: x["status"] for x in res["identities"]}[EVIL_SA.lower()], "safe_to_delete")

    def test_bad_quarantine(self):
        q = T.p("bad-q.csv")
        with open(q, "w") as f:
            f.write("identity,disabled_at\nx,not-a-time\n")
        r = run([NW, "watch", "--db", T.p("B.db"), "--quarantine", q], check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2", r.stderr)


class BaselineErrorsTest(unittest.TestCase):
    def test_bad_baseline(self):
        bad = T.p("not-a-report.json")
        with open(bad, "w") as f:
            f.write('{"schema": "something/1", "findings": []}')
        for b, want in ((bad, "not an nhiwatch report"), (T.p("missing.json"), "cannot read")):
            r = run([NW, "report", "--db", T.p("A.db"), "--out", T.p("rep-bad"), "--baseline", b], check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn(want, r.stderr)
            self.assertFalse(os.path.exists(T.p("rep-bad", "report.json")))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
