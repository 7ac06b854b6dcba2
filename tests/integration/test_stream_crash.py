#!/usr/bin/env python3
"""Workers killed with SIGKILL in the middle of a stream and restarted end
with exactly the counts of an uninterrupted run: analyze (offsets stored in
the batch's SQLite transaction: nothing lost, nothing twice) and ingest
(at-least-once: what it produces again is removed by event-id de-duplication).

    test_stream_crash.py NHIWATCH SOURCE_DIR
"""
import os
import signal
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwkafka as K  # noqa: E402


class StreamCrash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = K.Workdir("stream-crash")
        cls.procs = K.Procs(cls.w.path)
        cls.broker = K.Broker()
        b = cls.broker.brokers
        cls.sfx = K.suffix()
        cls.estate = K.gen_estate(cls.w("estate"))
        cls.logs = K.log_dirs(cls.estate)
        cls.want, cls.run_counters = K.run_report(cls.logs, cls.w.path)
        cls.raw = f"it.crash.raw.{cls.sfx}"
        K.create_topic(b, cls.raw)
        K.run(["ship", "--brokers", b, "--topic", cls.raw, *cls.logs])
        cls.total = cls.run_counters["events"]  # messages on the events topic
        cls.done = {"events_new": cls.run_counters["events_new"],
                    "events_partial": cls.run_counters.get("events_partial", 0)}

    @classmethod
    def tearDownClass(cls):
        cls.procs.close()
        cls.broker.close()

    # A killed member keeps its partitions until its session expires: the
    # broker's minimum (6 s) instead of librdkafka's 45 s keeps this short.
    FAST = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=1000"]

    def ingest(self, out, group, extra=()):
        return self.procs.start(["ingest", "--brokers", self.broker.brokers, "--group", group, "--topics", self.raw,
                                 "--out-topic", out, *self.FAST, *extra], "ingest")

    def analyze(self, topic, group, db, extra=()):
        return self.procs.start(["analyze", "--brokers", self.broker.brokers, "--group", group, "--topic", topic,
                                 "--db", db, *self.FAST, *extra], "analyze")

    def kill_when(self, victim, db, at_least, others=()):
        """SIGKILL victim once db's kafka_messages reaches at_least."""
        K.wait_counters([db], {"kafka_messages": at_least}, [victim, *others], timeout=120)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=30)
        self.assertEqual(victim.returncode, -signal.SIGKILL)

    def test_analyze_killed_and_restarted(self):
        b = self.broker.brokers
        ev = f"it.crash.ev1.{self.sfx}"
        K.create_topic(b, ev)
        ing = self.ingest(ev, f"it.crash.in1.{self.sfx}", ["--exit-on-idle", "3"])
        self.assertEqual(self.procs.wait(ing, 180), 0, K.Procs.stderr(ing)[-2000:])
        db = self.w("killed.db")
        group = f"it.crash.an1.{self.sfx}"
        # small transactions, so the kill lands between and inside them
        a1 = self.analyze(ev, group, db, ["--batch", "100"])
        self.kill_when(a1, db, self.total // 4)
        at_kill = K.counters(db)["kafka_messages"]
        K.log(f"analyze killed after {at_kill} of {self.total} messages")
        self.assertLess(at_kill, self.total, "the kill came after the end of the stream")
        a2 = self.analyze(ev, group, db)
        K.wait_counters([db], self.done, [a2])
        self.assertEqual(self.procs.term(a2), 0, K.Procs.stderr(a2)[-2000:])
        self.assertIn("(stored in", K.Procs.stderr(a2), "the restart did not resume from the shard's offsets")
        got = K.counters(db)
        # every message applied exactly once: none lost, none read twice
        self.assertEqual(got["kafka_messages"], self.total)
        self.assertEqual(got.get("events_duplicate", 0), 0)
        self.assertEqual(got["events_new"], self.run_counters["events_new"])
        doc = K.report([db], self.w("killed-report"))
        self.assertEqual(doc["identities"], self.want["identities"], K.diff_reports(doc, self.want))
        self.assertEqual(doc, self.want, K.diff_reports(doc, self.want))

    def test_ingest_killed_and_restarted(self):
        b = self.broker.brokers
        ev = f"it.crash.ev2.{self.sfx}"
        K.create_topic(b, ev)
        db = self.w("ingest-killed.db")
        an = self.analyze(ev, f"it.crash.an2.{self.sfx}", db)
        group = f"it.crash.in2.{self.sfx}"
        # one commit unit for the whole stream: everything it delivers before
        # the kill is uncommitted, so the restarted worker produces it again
        i1 = self.ingest(ev, group, ["--batch", "1000000", "--batch-ms", "600000", "--max-rate", "4000"])
        self.kill_when(i1, db, self.total // 4, [an])
        # without ingest the events topic stops growing short of the total
        time.sleep(2.0)
        before = K.counters(db).get("kafka_messages", 0)
        time.sleep(1.0)
        stalled = K.counters(db).get("kafka_messages", 0)
        K.log(f"ingest killed; analyze stalled at {stalled} of {self.total} messages")
        self.assertEqual(before, stalled)
        self.assertLess(stalled, self.total, "the kill came after the end of the stream")
        i2 = self.ingest(ev, group, ["--exit-on-idle", "3"])
        K.wait_counters([db], self.done, [an])
        self.assertEqual(self.procs.wait(i2, 180), 0, K.Procs.stderr(i2)[-2000:])
        self.assertEqual(self.procs.term(an), 0, K.Procs.stderr(an)[-2000:])
        got = K.counters(db)
        K.log(f"analyze saw {got['kafka_messages']} messages for {self.total} events: "
              f"{got.get('events_duplicate', 0)} duplicates from the re-read batch removed")
        self.assertGreaterEqual(got.get("events_duplicate", 0), stalled)
        self.assertEqual(got["kafka_messages"] - self.total, got.get("events_duplicate", 0))
        self.assertEqual(got["events_new"], self.run_counters["events_new"])
        doc = K.report([db], self.w("ingest-killed-report"))
        self.assertEqual(doc, self.want, K.diff_reports(doc, self.want))


if __name__ == "__main__":
    K.main(StreamCrash)
