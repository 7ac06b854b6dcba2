"""Shared plumbing for the streaming-mode integration tests (stdlib only).

Each test script is run by ctest as

    python3 test_stream_*.py NHIWATCH_BINARY SOURCE_DIR

The broker is $NW_KAFKA_BROKERS when set (scripts/test starts one), else a
private scripts/kafka-local broker on a free port that the test stops at the
end. Tests that stop and restart the broker always use a private one. Every
topic and group name carries a random suffix, so tests can share a broker
and run in parallel. Every process a test starts is tracked and killed at
the end, whatever happens.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

NW = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
SRC = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
KAFKA_LOCAL = os.path.join(SRC or ".", "scripts", "kafka-local")
GEN_ESTATE = os.path.join(SRC or ".", "scripts", "gen-estate")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def suffix():
    return secrets.token_hex(4)


def free_port_pair():
    """A port p with p and p+1 free (kafka-local uses p+1 for its controller)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p > 65000:
            continue
        try:
            with socket.socket() as s2:
                s2.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair")


class Broker:
    """The shared broker ($NW_KAFKA_BROKERS) or a private kafka-local one."""

    def __init__(self, private=False):
        self.port = None
        self.dir = None
        env = os.environ.get("NW_KAFKA_BROKERS")
        if env and not private:
            self.brokers = env
            return
        self.port = free_port_pair()
        self.dir = tempfile.mkdtemp(prefix="nw-kafka-test-")
        os.rmdir(self.dir)  # kafka-local creates it (with its marker)
        self.brokers = f"127.0.0.1:{self.port}"
        self.start()

    def _local(self, *args):
        r = subprocess.run([KAFKA_LOCAL, *args, "--port", str(self.port), "--dir", self.dir],
                           capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            raise RuntimeError(f"kafka-local {args}: {r.returncode}: {r.stderr[-1500:]}")
        return r

    def start(self):
        t = time.time()
        self._local("start")
        log(f"broker {self.brokers} up in {time.time() - t:.1f} s")

    def stop(self, keep=False):
        if self.port is None:
            return
        self._local("stop", *(["--keep"] if keep else []))

    def close(self):
        if self.port is not None:
            try:
                self.stop()
            except Exception as e:  # noqa: BLE001 - best effort at the end
                log(f"stopping the broker: {e}")
            shutil.rmtree(self.dir, ignore_errors=True)
            self.port = None


def create_topic(brokers, topic, timeout=60):
    """Create by asking for its metadata (broker auto-creation, num.partitions=4)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = subprocess.run(["kcat", "-L", "-b", brokers, "-t", topic, "-X", "allow.auto.create.topics=true"],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r'topic "%s" with (\d+) partitions' % re.escape(topic), r.stdout)
        if m and int(m.group(1)) > 0 and "Unknown topic" not in r.stdout:
            return int(m.group(1))
        time.sleep(0.3)
    raise RuntimeError(f"topic {topic} not created")


def kcat_produce(brokers, topic, messages, partition=None):
    """Produce each item of messages (bytes/str, no newlines) as one message."""
    data = b"".join((m.encode() if isinstance(m, str) else m) + b"\n" for m in messages)
    cmd = ["kcat", "-P", "-b", brokers, "-t", topic]
    if partition is not None:
        cmd += ["-p", str(partition)]
    subprocess.run(cmd, input=data, check=True, timeout=60)


def kcat_consume(brokers, topic, fmt="%s\\n"):
    """Every message of topic formatted with kcat -f (list of str, one per message)."""
    r = subprocess.run(["kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-q", "-f", fmt + "\x1e"],
                       capture_output=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"kcat -C {topic}: {r.stderr.decode(errors='replace')}")
    parts = r.stdout.decode(errors="replace").split("\x1e")
    return [p for p in parts[:-1]]


class Procs:
    """Processes started by a test; all are killed in close()."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.procs = []
        self.n = 0

    def start(self, args, name):
        self.n += 1
        err = open(os.path.join(self.workdir, f"{self.n:02d}-{name}.err"), "w+")
        out = open(os.path.join(self.workdir, f"{self.n:02d}-{name}.out"), "w+")
        p = subprocess.Popen([NW, *args], stdout=out, stderr=err)
        p.errfile, p.outfile, p.name = err.name, out.name, name
        err.close()
        out.close()
        self.procs.append(p)
        return p

    @staticmethod
    def stderr(p):
        with open(p.errfile) as f:
            return f.read()

    def wait(self, p, timeout):
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{p.name} still running after {timeout} s: {self.stderr(p)[-3000:]}")

    def term(self, p, timeout=60):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        return self.wait(p, timeout)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass


def run(args, timeout=300, check=True):
    r = subprocess.run([NW, *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode not in (0, 3):
        raise AssertionError(f"nhiwatch {' '.join(args[:2])} exited {r.returncode}: {r.stderr[-3000:]}")
    return r


def counters(db):
    """The shard's counter table ({} when the file or table is not there yet)."""
    if not os.path.exists(db):
        return {}
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
        try:
            return dict(con.execute("SELECT name, value FROM counter").fetchall())
        finally:
            con.close()
    except sqlite3.Error:
        return {}


def wait_counters(dbs, want, procs=(), timeout=180):
    """Wait until the sum over dbs of each counter in want reaches its value;
    fail early when one of procs exits."""
    deadline = time.time() + timeout
    got = {}
    while time.time() < deadline:
        got = {}
        for db in dbs:
            for k, v in counters(db).items():
                got[k] = got.get(k, 0) + v
        if all(got.get(k, 0) >= v for k, v in want.items()):
            return got
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{p.name} exited {p.returncode} early: {Procs.stderr(p)[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"counters {got} never reached {want}")


def report(dbs, outdir):
    args = ["report", "-q", "--out", outdir]
    for db in dbs:
        args += ["--db", db]
    run(args)
    with open(os.path.join(outdir, "report.json")) as f:
        doc = json.load(f)
    doc.pop("generated_at", None)
    return doc


def run_report(inputs, workdir):
    """`nhiwatch run` on inputs: its report (without generated_at) and its counters."""
    db = os.path.join(workdir, "run.db")
    out = os.path.join(workdir, "run-report")
    run(["run", "-q", "--db", db, "--out", out, *inputs])
    with open(os.path.join(out, "report.json")) as f:
        doc = json.load(f)
    doc.pop("generated_at", None)
    return doc, counters(db)


def diff_reports(a, b, limit=10):
    """A short description of how two reports differ ('' when equal)."""
    if a == b:
        return ""
    out = []
    for k in sorted(set(a) | set(b)):
        if k != "identities" and a.get(k) != b.get(k):
            out.append(f"{k}: {json.dumps(a.get(k))[:300]} != {json.dumps(b.get(k))[:300]}")
    ia = {i["key"]: i for i in a.get("identities", [])}
    ib = {i["key"]: i for i in b.get("identities", [])}
    for k in sorted(set(ia) ^ set(ib))[:limit]:
        out.append(f"identity {k} only in {'first' if k in ia else 'second'}")
    for k in sorted(set(ia) & set(ib)):
        if ia[k] != ib[k] and len(out) < limit * 2:
            fields = [f for f in ia[k] if ia[k][f] != ib[k].get(f)]
            out.append(f"identity {k}: " + ", ".join(f"{f}: {ia[k][f]!r} != {ib[k].get(f)!r}" for f in fields)[:500])
    return "\n".join(out)


def gen_estate(outdir):
    """scripts/gen-estate --small (deterministic): ~20k events, AWS + Azure + GCP."""
    r = subprocess.run([sys.executable, GEN_ESTATE, "--small", "--out", outdir], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"gen-estate: {r.stderr[-2000:]}")
    return outdir


def log_dirs(estate):
    """The estate's audit-log folders (not entitlements/ or other side files)."""
    dirs = [os.path.join(estate, p) for p in ("aws", "azure", "gcp") if os.path.isdir(os.path.join(estate, p))]
    if not dirs:
        raise RuntimeError(f"no aws/azure/gcp folder in {estate}")
    return dirs


def container_input(estate, outdir):
    """A file whose records are containers themselves: a top-level array of
    {"records":[...]} Event Hubs bodies, taken from the estate's Azure data.
    Returns (path, number of elements)."""
    bodies = []
    root = os.path.join(estate, "azure", "eventhub-capture")
    for dirpath, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            with open(os.path.join(dirpath, fn)) as f:
                bodies.append(json.load(f))
            if len(bodies) == 6:
                break
        if len(bodies) == 6:
            break
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "eventhub-bodies.json")
    with open(path, "w") as f:
        json.dump(bodies, f)
    return path, sum(len(b["records"]) for b in bodies)


class Workdir:
    def __init__(self, name):
        base = os.environ.get("NW_TEST_TMP") or None
        self.path = tempfile.mkdtemp(prefix=f"nw-{name}-", dir=base)

    def __call__(self, *parts):
        return os.path.join(self.path, *parts)

    def close(self, ok):
        if ok and not os.environ.get("NW_TEST_KEEP"):
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            log(f"work folder kept: {self.path}")


def main(*classes):
    """Run the tests; remove the classes' work folders when all passed."""
    import unittest
    prog = unittest.main(argv=sys.argv[:1], verbosity=2, exit=False)
    ok = prog.result.wasSuccessful()
    for c in classes:
        w = getattr(c, "w", None)
        if w is not None:
            w.close(ok)
    sys.exit(0 if ok else 1)


# ---- analyze --shard-dir: one shard per partition (test_stream_rebalance.py) ----

def shard_files(shard_dir):
    """The partition shards in shard_dir (*.db), sorted by name."""
    if not os.path.isdir(shard_dir):
        return []
    return sorted(os.path.join(shard_dir, f) for f in os.listdir(shard_dir)
                  if f.endswith(".db") and not f.startswith("."))


def wait_dir_counters(shard_dir, want, procs=(), timeout=180):
    """wait_counters over the shards of shard_dir as they appear."""
    deadline = time.time() + timeout
    got = {}
    while time.time() < deadline:
        got = {}
        for db in shard_files(shard_dir):
            for k, v in counters(db).items():
                got[k] = got.get(k, 0) + v
        if all(got.get(k, 0) >= v for k, v in want.items()):
            return got
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{p.name} exited {p.returncode} early: {Procs.stderr(p)[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"counters {got} of {shard_dir} never reached {want}")


def sum_counters(dbs):
    got = {}
    for db in dbs:
        for k, v in counters(db).items():
            got[k] = got.get(k, 0) + v
    return got


def owned(p):
    """The partitions an analyze worker holds now, from its stderr."""
    cur = set()
    for m in re.finditer(r"(assigned|revoked) \S+ \[(\d+)\]", Procs.stderr(p)):
        (cur.add if m.group(1) == "assigned" else cur.discard)(int(m.group(2)))
    return cur


def wait_owned(workers, nparts, timeout=90, procs=()):
    """Until the workers hold all nparts partitions between them, disjoint,
    each at least one; returns their sets."""
    deadline = time.time() + timeout
    while True:
        sets = [owned(w) for w in workers]
        if all(sets) and sum(len(s) for s in sets) == nparts and len(set().union(*sets)) == nparts:
            return sets
        if time.time() > deadline:
            raise AssertionError(f"no stable split of {nparts} partitions: {sets}")
        for w in [*workers, *procs]:
            if w.poll() is not None:
                raise AssertionError(f"{w.name} exited {w.returncode}: {Procs.stderr(w)[-3000:]}")
        time.sleep(0.2)
