#!/usr/bin/env python3
"""The caps on string length and field count (--max-string, --max-fields) in
`nhiwatch run`: a record over a cap is refused with a message naming the
file, the record and the cap, counted as bad input and kept in bad_input;
the records around it are ingested; a record exactly at a cap is accepted.
Also the defaults (768 KiB strings, 100000 fields) and the command lines of
run, ship and ingest (docs/hardening.md, "Limits").

Every input is built below, and each expected number can be checked by
reading this file. Usage (ctest does this):
    test_limits.py NHIWATCH_BINARY
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


def fields(v):
    """Object members and array elements at any depth, as nhiwatch counts them."""
    if isinstance(v, dict):
        return len(v) + sum(fields(x) for x in v.values())
    if isinstance(v, list):
        return len(v) + sum(fields(x) for x in v)
    return 0


def user(name):
    return {"type": "IAMUser", "principalId": "AIDA" + name.upper(), "accountId": "111122223333",
            "arn": "arn:aws:iam::111122223333:user/" + name, "accessKeyId": "AKIA" + name.upper()}


def ct_event(eid, name, agent="aws-cli/2.15.30", request=None):
    return {"eventVersion": "1.11", "userIdentity": user(name), "eventTime": "2025-03-04T10:15:09Z",
            "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets", "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.44", "userAgent": agent, "requestParameters": request,
            "eventID": eid, "readOnly": True, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}


def with_fields(eid, name, n):
    """An event of exactly n fields: requestParameters {"keys": [0, 0, ...]}."""
    ev = ct_event(eid, name, request={"keys": []})
    ev["requestParameters"]["keys"] = [0] * (n - fields(ev))
    assert fields(ev) == n
    return ev


def dumps(v):
    return json.dumps(v, separators=(",", ":"))


MAX_STRING, MAX_FIELDS = 1000, 100


def run(*args):
    return subprocess.run([NW, *args], capture_output=True, text=True, timeout=300)


class Limits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="nw_limits_")
        cls.inp = os.path.join(cls.tmp.name, "in")
        os.makedirs(cls.inp)
        # CloudTrail S3 object, 7 elements:
        #   1 ok            2 a 1000-byte user agent (at --max-string)   3 a 1001-byte one (over)
        #   4 ok            5 exactly 100 fields (at --max-fields)        6 101 fields (over)
        #   7 ok
        records = [ct_event("ev-1", "a"), ct_event("ev-2", "b", agent="x" * MAX_STRING),
                   ct_event("ev-3", "c", agent="y" * (MAX_STRING + 1)), ct_event("ev-4", "d"),
                   with_fields("ev-5", "e", MAX_FIELDS), with_fields("ev-6", "f", MAX_FIELDS + 1),
                   ct_event("ev-7", "g")]
        cls.body = '{"Records":[' + ",".join(dumps(r) for r in records) + "]}"
        with gzip.open(os.path.join(cls.inp, "trail.json.gz"), "wt") as f:
            f.write(cls.body)
        # lookup-events output, JSON Lines: the event is a JSON string the
        # splitter does not look into; the decoder measures it.
        #   line 1 ok   line 2 a CloudTrailEvent of 101 fields (over)   line 3 ok
        lookup = [{"EventId": "ev-8", "CloudTrailEvent": dumps(ct_event("ev-8", "h"))},
                  {"EventId": "ev-9", "CloudTrailEvent": dumps(with_fields("ev-9", "i", MAX_FIELDS + 1))},
                  {"EventId": "ev-10", "CloudTrailEvent": dumps(ct_event("ev-10", "j"))}]
        with open(os.path.join(cls.inp, "lookup.jsonl"), "w") as f:
            f.write("".join(dumps(r) + "\n" for r in lookup))
        cls.db = os.path.join(cls.tmp.name, "n.db")
        cls.first = run("run", "--db", cls.db, "--no-report", "--max-string", str(MAX_STRING),
                        "--max-fields", str(MAX_FIELDS), cls.inp)
        con = sqlite3.connect(cls.db)
        cls.counters = dict(con.execute("select name, value from counter").fetchall())
        cls.ids = sorted(r[0] for r in con.execute("select key from identity"))
        cls.bad = con.execute("select source, line, record, reason from bad_input order by seq").fetchall()
        con.close()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_messages(self):
        self.assertEqual(self.first.returncode, 3, self.first.stderr)
        err = self.first.stderr
        self.assertIn("trail.json.gz: line 1: record 3: string of 1001 bytes at byte ", err)
        self.assertIn(" of the record exceeds --max-string 1000 (record skipped)", err)
        self.assertIn("trail.json.gz: line 1: record 6: more than 100 fields (object members and array elements; "
                      "field 101 at byte ", err)
        self.assertIn("exceeds --max-fields 100 (record skipped)", err)
        self.assertIn("lookup.jsonl: line 2: record 2: the JSON in the CloudTrailEvent string: more than 100 fields "
                      "(object members and array elements): field 101 at byte ", err)
        self.assertIn("(--max-fields)", err)
        self.assertEqual(err.count("bad record:"), 3, err)

    def test_neighbours_kept(self):
        c = self.counters
        self.assertEqual(c["events"], 7)      # ev-1, 2, 4, 5, 7 of the trail; ev-8, ev-10 of the lookup file
        self.assertEqual(c["events_new"], 7)
        self.assertEqual(c["bad"], 3)         # ev-3 and ev-6 (splitter), ev-9 (decoder)
        self.assertEqual(c["bad_limit"], 1)   # ev-9: counted by the decoder as over a limit
        self.assertEqual(c["records"], 8)     # the two records the splitter refused are not records
        arn = "arn:aws:iam::111122223333:user/"
        self.assertEqual(self.ids, [arn + u for u in ("a", "b", "d", "e", "g", "h", "j")])

    def test_bad_input_kept(self):
        # files are read in sorted order: lookup.jsonl, then trail.json.gz
        self.assertEqual([(os.path.basename(s), line, rec) for s, line, rec, _ in self.bad],
                         [("lookup.jsonl", 2, 2), ("trail.json.gz", 1, 3), ("trail.json.gz", 1, 6)])
        self.assertIn("(--max-fields)", self.bad[0][3])
        self.assertIn("exceeds --max-string 1000", self.bad[1][3])
        self.assertIn("exceeds --max-fields 100", self.bad[2][3])
        r = run("stats", "--db", self.db)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_byte_positions(self):
        # the position in the message is the byte of the record where the
        # string (its opening quote) or the 101st field starts
        err = self.first.stderr
        rec3 = dumps(ct_event("ev-3", "c", agent="y" * (MAX_STRING + 1)))
        self.assertIn(f"string of 1001 bytes at byte {rec3.index(chr(34) + 'yyy')} of the record", err)
        # fields are counted in reading order: the 101st is the last member,
        # recipientAccountId (after requestParameters), at its comma
        rec6 = dumps(with_fields("ev-6", "f", MAX_FIELDS + 1))
        at = rec6.index(',"recipientAccountId"')
        self.assertIn(f"field 101 at byte {at} of the record", err)
        # the same event as a CloudTrailEvent string: the position is in the unwrapped JSON
        at = dumps(with_fields("ev-9", "i", MAX_FIELDS + 1)).index(',"recipientAccountId"')
        self.assertIn(f"CloudTrailEvent string: more than 100 fields (object members and array elements): "
                      f"field 101 at byte {at} (--max-fields)", err)

    def test_defaults(self):
        d = os.path.join(self.tmp.name, "defaults")
        os.makedirs(d)
        # 700 KiB and 800 KiB strings in records under the 1 MiB record cap;
        # 100000 fields and 100001 (default caps: 768 KiB, 100000)
        recs = [ct_event("d-1", "k", agent="z" * (700 << 10)), ct_event("d-2", "l", agent="z" * (800 << 10)),
                with_fields("d-3", "m", 100000), with_fields("d-4", "n", 100001), ct_event("d-5", "o")]
        with open(os.path.join(d, "big.jsonl"), "w") as f:
            f.write("".join(dumps(r) + "\n" for r in recs))
        db = os.path.join(self.tmp.name, "d.db")
        r = run("run", "--db", db, "--no-report", d)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("big.jsonl: line 2: record 2: string of 819200 bytes at byte ", r.stderr)
        self.assertIn("exceeds --max-string 786432 (record skipped)", r.stderr)
        self.assertIn("big.jsonl: line 4: record 4: more than 100000 fields", r.stderr)
        con = sqlite3.connect(db)
        c = dict(con.execute("select name, value from counter").fetchall())
        con.close()
        self.assertEqual((c["events"], c["bad"]), (3, 2))

    def test_command_lines(self):
        for cmd in ("run", "ship", "ingest"):
            h = run(cmd, "--help")
            self.assertEqual(h.returncode, 0, h.stderr)
            self.assertIn("--max-string SIZE", h.stdout)
            self.assertIn("(default 768K)", h.stdout)
            self.assertIn("--max-fields N", h.stdout)
            self.assertIn("(default 100000)", h.stdout)
            self.assertIn("--max-record SIZE", h.stdout)
            self.assertIn("--max-depth N", h.stdout)
        self.assertIn("--max-file SIZE", run("ship", "--help").stdout)
        self.assertIn("--max-identities N", run("run", "--help").stdout)
        self.assertNotIn("--max-file", run("ingest", "--help").stdout)
        for cmd in ("run", "ship", "ingest"):
            r = run(cmd, "--max-string", "0", self.inp)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("--max-string needs a positive number, not '0'", r.stderr)
            r = run(cmd, "--max-fields", "lots", self.inp)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("--max-fields needs a positive number, not 'lots'", r.stderr)
        r = run("run", "--max-string", "8G", self.inp)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--max-string 8G is larger than 4G", r.stderr)
        # sizes take K/M suffixes: 1K is 1024
        db = os.path.join(self.tmp.name, "k.db")
        r = run("run", "--db", db, "--no-report", "--max-string", "1K", "--max-fields", "100", self.inp)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertNotIn("exceeds --max-string", r.stderr)  # 1001 bytes is under 1024


if __name__ == "__main__":
    NW = sys.argv.pop(1)
    unittest.main(verbosity=2)
