#!/usr/bin/env python3
"""Faults around `nhiwatch run`: a full disk under the database, databases
that are corrupt, truncated or another application's, damaged and empty
input files, and SIGTERM in the middle of a run.

The input is synthesized here (CloudTrail S3 objects, gzip): N_FILES files of
PER_FILE events, 200 IAM users, every event with its own eventID, so every
count below follows from these numbers. A clean run on a roomy disk gives the
reference identity table; after each fault, a rerun must give exactly that
table (de-duplication by event id: nothing counted twice).

Usage (ctest does this):  test_faults.py NHIWATCH_BINARY
The disk-full test mounts a tmpfs and needs root; it is skipped (with the
reason) otherwise.
"""
import gzip
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

NW = None
N_FILES = 60
PER_FILE = 1000
N_EVENTS = N_FILES * PER_FILE
N_USERS = 200
BATCH = 200
T0 = 1740787200  # 2025-03-01T00:00:00Z

TMP = None
INPUT = None
CLEAN = None  # identity table of a clean run


def ct_event(k):
    u = k % N_USERS
    return {"eventVersion": "1.11", "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + k * 37)),
            "eventSource": f"svc{k % 50}.amazonaws.com", "eventName": f"Action{k % 97}",
            "awsRegion": ("us-east-1", "eu-west-1", "ap-south-1")[k % 3],
            "sourceIPAddress": f"10.{k % 250}.{(k // 250) % 250}.{k % 7}",
            "userAgent": f"agent-{k % 30}/1.{k % 11}",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/bot-{u:03d}",
                             "accountId": "111122223333", "accessKeyId": f"AKIA{u:016d}",
                             "userName": f"bot-{u:03d}"},
            "eventID": f"evt-{k:08d}", "readOnly": k % 2 == 0, "eventType": "AwsApiCall",
            "recipientAccountId": "111122223333"}


def write_trail(path, first, count):
    with gzip.open(path, "wt", compresslevel=1) as f:
        json.dump({"Records": [ct_event(k) for k in range(first, first + count)]}, f)


def run(*args, timeout=300):
    return subprocess.run([NW, *args], capture_output=True, text=True, timeout=timeout)


def identities(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("select key, events, successes, failures, denied, writes, first_seen, last_seen "
                           "from identity order by key").fetchall()
    finally:
        con.close()


def scalar(db, sql):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def counters(db):
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("select name, value from counter").fetchall())
    finally:
        con.close()


def file_state(path):
    st = os.stat(path)
    with open(path, "rb") as f:
        return (hashlib.sha256(f.read()).hexdigest(), st.st_size, st.st_mtime_ns)


def setUpModule():
    global TMP, INPUT, CLEAN
    TMP = tempfile.TemporaryDirectory(prefix="nw_faults_")
    INPUT = os.path.join(TMP.name, "trail")
    os.makedirs(INPUT)
    for i in range(N_FILES):
        write_trail(os.path.join(INPUT, f"111122223333_CloudTrail_us-east-1_{i:04d}.json.gz"), i * PER_FILE, PER_FILE)
    db = os.path.join(TMP.name, "clean.db")
    p = run("run", "-q", "--db", db, "--out", os.path.join(TMP.name, "clean-out"), "--batch", str(BATCH), INPUT)
    assert p.returncode == 0, p.stderr
    CLEAN = identities(db)
    # the reference itself, against the numbers the input was built from
    assert len(CLEAN) == N_USERS, len(CLEAN)
    assert sum(r[1] for r in CLEAN) == N_EVENTS
    assert sum(r[5] for r in CLEAN) == N_EVENTS // 2  # readOnly on even k
    assert counters(db)["events_new"] == N_EVENTS


def tearDownModule():
    TMP.cleanup()


class DiskFull(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs (run the suite as root to test a full disk)")
        self.mnt = os.path.join(TMP.name, "small")
        os.makedirs(self.mnt, exist_ok=True)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", self.mnt],
                           capture_output=True, text=True)
        if m.returncode != 0:
            self.skipTest("cannot mount a tmpfs here: " + m.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt])

    def test_full_then_roomy(self):
        db = os.path.join(self.mnt, "n.db")
        p = run("run", "-q", "--db", db, "--out", os.path.join(TMP.name, "full-out"), "--batch", str(BATCH), INPUT)
        print(f"\n  disk full: exit {p.returncode}: {p.stderr.strip()}", file=sys.stderr)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("disk or database full", p.stderr)
        self.assertIn(db, p.stderr)
        self.assertFalse(os.path.exists(os.path.join(TMP.name, "full-out", "report.json")))
        # the database opens and is consistent ...
        self.assertEqual(scalar(db, "pragma integrity_check"), "ok")
        stored = scalar(db, "select count(*) from event_seen")
        # ... and holds whole batches only: every stored event is counted
        # in its identity, and they came in whole batches of BATCH
        self.assertGreater(stored, 0)
        self.assertLess(stored, N_EVENTS)
        self.assertEqual(stored % BATCH, 0, stored)
        self.assertEqual(scalar(db, "select coalesce(sum(events), 0) from identity"), stored)
        st = run("stats", "--db", db)
        self.assertEqual(st.returncode, 0, st.stderr)

        # more room, same database: the rerun completes, nothing twice
        r = subprocess.run(["mount", "-o", "remount,size=64m", self.mnt], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        p = run("run", "-q", "--db", db, "--out", os.path.join(TMP.name, "full-out2"), "--batch", str(BATCH), INPUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(identities(db), CLEAN)
        self.assertEqual(scalar(db, "select count(*) from event_seen"), N_EVENTS)
        c = counters(db)
        self.assertEqual((c["events_new"], c["events_duplicate"]), (N_EVENTS - stored, stored))


class BadDatabase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=TMP.name)
        # a small, valid nhiwatch database to damage
        self.inp = os.path.join(self.dir, "in")
        os.makedirs(self.inp)
        write_trail(os.path.join(self.inp, "t.json.gz"), 0, 50)
        self.good = os.path.join(self.dir, "good.db")
        p = run("run", "-q", "--db", self.good, "--no-report", self.inp)
        self.assertEqual(p.returncode, 0, p.stderr)
        # fold the WAL into the main file so the copies below are the whole database
        con = sqlite3.connect(self.good)
        con.execute("pragma wal_checkpoint(TRUNCATE)")
        con.execute("pragma journal_mode=DELETE")
        con.close()

    def refused(self, db, expect):
        before = file_state(db)
        extra_before = {s for s in ("-wal", "-shm", "-journal") if os.path.exists(db + s)}
        out = os.path.join(self.dir, "out-" + os.path.basename(db))
        p = run("run", "--db", db, "--out", out, self.inp)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(expect, p.stderr)
        self.assertIn(db, p.stderr)  # names the file
        self.assertIn("use another --db path" if "not an nhiwatch" in expect else "refusing", p.stderr)
        self.assertEqual(file_state(db), before, "the file was modified")
        self.assertEqual({s for s in ("-wal", "-shm", "-journal") if os.path.exists(db + s)}, extra_before)
        self.assertFalse(os.path.exists(out))
        return p

    def test_random_header(self):
        db = os.path.join(self.dir, "header.db")
        shutil.copy(self.good, db)
        with open(db, "r+b") as f:
            f.write(bytes((i * 151 + 7) % 256 for i in range(100)))  # the 100-byte SQLite header
        self.refused(db, "is not an nhiwatch database (not SQLite, or corrupt)")

    def test_truncated(self):
        db = os.path.join(self.dir, "trunc.db")
        shutil.copy(self.good, db)
        size = os.path.getsize(db)
        self.assertGreater(size, 8192)
        with open(db, "r+b") as f:
            f.truncate(size // 2 + 100)  # not even a whole page
        self.refused(db, "is not an nhiwatch database (not SQLite, or corrupt)")

    def test_foreign(self):
        db = os.path.join(self.dir, "foreign.db")
        con = sqlite3.connect(db)
        con.execute("create table accounts(id integer primary key, name text)")
        con.execute("insert into accounts(name) values ('x')")
        con.commit()
        con.close()
        self.refused(db, "is an SQLite database of another application")


class DamagedInput(unittest.TestCase):
    def test_truncated_gzip_and_empty_file(self):
        d = tempfile.mkdtemp(dir=TMP.name)
        inp = os.path.join(d, "in")
        os.makedirs(inp)
        write_trail(os.path.join(inp, "a-whole.json.gz"), 0, 10)
        # b: 8 records, each flushed to a byte boundary, cut inside the 7th:
        # the 6 records before the cut are whole and kept
        co = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        data, cut = co.compress(b""), 0
        for k in range(100, 108):
            data += co.compress((json.dumps(ct_event(k)) + "\n").encode()) + co.flush(zlib.Z_FULL_FLUSH)
            if k == 105:
                cut = len(data)
        data += co.flush()
        with open(os.path.join(inp, "b-truncated.json.gz"), "wb") as f:
            f.write(data[:cut + 40])
        open(os.path.join(inp, "c-empty.json"), "wb").close()
        write_trail(os.path.join(inp, "d-whole.json.gz"), 200, 5)
        db = os.path.join(d, "n.db")
        p = run("run", "--db", db, "--out", os.path.join(d, "out"), inp)
        self.assertEqual(p.returncode, 3, p.stderr)  # done, some input bad
        self.assertIn("b-truncated.json.gz", p.stderr)
        self.assertIn("truncated gzip stream", p.stderr)
        self.assertIn("6 records kept", p.stderr)
        c = counters(db)
        self.assertEqual((c["files"], c["files_empty"], c["files_damaged"], c.get("files_failed", 0)), (3, 1, 1, 0))
        self.assertEqual((c["events"], c["events_new"]), (10 + 6 + 5, 21))
        con = sqlite3.connect(db)
        status = dict((os.path.basename(p), s) for p, s in con.execute("select path, status from input_file"))
        con.close()
        self.assertEqual(status, {"a-whole.json.gz": "ok", "b-truncated.json.gz": "damaged",
                                  "d-whole.json.gz": "ok"})
        self.assertEqual(sum(r[1] for r in identities(db)), 21)
        st = run("stats", "--db", db, "--files")
        self.assertEqual(st.returncode, 0, st.stderr)
        self.assertIn("damaged", st.stdout)


class Sigterm(unittest.TestCase):
    def test_sigterm_then_rerun(self):
        d = tempfile.mkdtemp(dir=TMP.name)
        db = os.path.join(d, "n.db")
        proc = subprocess.Popen([NW, "run", "-q", "--db", db, "--out", os.path.join(d, "out"), "--batch",
                                 str(BATCH), INPUT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # wait for the first committed batches, then stop it mid-run
        deadline = time.time() + 60
        stored = 0
        while time.time() < deadline and proc.poll() is None:
            try:
                stored = scalar(db, "select count(*) from event_seen")
            except sqlite3.Error:
                stored = 0
            if stored >= 2 * BATCH:
                break
            time.sleep(0.02)
        self.assertIsNone(proc.poll(), "the run ended before it could be interrupted: make the input larger")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        print(f"\n  SIGTERM after {stored} stored events: exit status {proc.returncode} {err.strip()!r}",
              file=sys.stderr)
        self.assertNotEqual(proc.returncode, 0)  # it did not pretend to have finished
        self.assertIn(proc.returncode, (-signal.SIGTERM, 1, 128 + signal.SIGTERM))
        # the database opens cleanly: whole batches only
        self.assertEqual(scalar(db, "pragma integrity_check"), "ok")
        stored = scalar(db, "select count(*) from event_seen")
        self.assertLess(stored, N_EVENTS)
        self.assertEqual(stored % BATCH, 0, stored)
        self.assertEqual(scalar(db, "select coalesce(sum(events), 0) from identity"), stored)
        st = run("stats", "--db", db)
        self.assertEqual(st.returncode, 0, st.stderr)
        # the rerun completes with exactly the clean run's counts
        p = run("run", "-q", "--db", db, "--out", os.path.join(d, "out2"), "--batch", str(BATCH), INPUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(identities(db), CLEAN)
        c = counters(db)
        self.assertEqual((c["events_new"], c["events_duplicate"]), (N_EVENTS - stored, stored))


if __name__ == "__main__":
    NW = sys.argv.pop(1)
    unittest.main(verbosity=2)
