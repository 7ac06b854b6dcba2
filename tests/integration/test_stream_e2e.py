#!/usr/bin/env python3
"""ship -> ingest -> analyze -> report equals `nhiwatch run` on the same files;
two analyze workers in one group split the partitions and their shards
report the same thing.

    test_stream_e2e.py NHIWATCH SOURCE_DIR
"""
import json
import sqlite3
import os
import re
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwkafka as K  # noqa: E402


class StreamE2E(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = K.Workdir("stream-e2e")
        cls.procs = K.Procs(cls.w.path)
        cls.broker = K.Broker()
        b = cls.broker.brokers
        sfx = K.suffix()
        cls.estate = K.gen_estate(cls.w("estate"))
        cls.cfile, cls.nelem = K.container_input(cls.estate, cls.w("containers"))
        cls.logs = K.log_dirs(cls.estate)
        cls.want, cls.run_counters = K.run_report([*cls.logs, cls.cfile], cls.w.path)
        cls.raw1, cls.raw2, cls.dlq = f"it.raw1.{sfx}", f"it.raw2.{sfx}", f"it.dlq.{sfx}"
        for t in (cls.raw1, cls.raw2, cls.dlq):
            K.create_topic(b, t)
        r = K.run(["ship", "--brokers", b, "--topic", cls.raw1, *cls.logs])
        cls.ship1 = r.stderr
        r = K.run(["ship", "--brokers", b, "--topic", cls.raw2, cls.cfile])
        cls.ship2 = r.stderr
        cls.sfx = sfx

    @classmethod
    def tearDownClass(cls):
        cls.procs.close()
        cls.broker.close()

    def ingest(self, out_topic, group):
        b = self.broker.brokers
        return self.procs.start(["ingest", "--brokers", b, "--group", group, "--topics", f"{self.raw1},{self.raw2}",
                                 "--out-topic", out_topic, "--dlq-topic", self.dlq, "--exit-on-idle", "4"], "ingest")

    def want_counters(self):
        return {"events_new": self.run_counters["events_new"],
                "events_partial": self.run_counters.get("events_partial", 0)}

    def test_1_ship_splits_containers(self):
        # the array holds 6 Event Hubs bodies; every element is one message
        self.assertIn("6 containers split into %d events" % self.nelem, self.ship2)
        msgs = K.kcat_consume(self.broker.brokers, self.raw2, "%o")
        self.assertEqual(len(msgs), self.nelem)
        self.assertIn("%d messages produced" % (self.run_counters["records"] - 6), self.ship1)

    def test_2_pipeline_equals_run(self):
        b = self.broker.brokers
        ev = f"it.events.{self.sfx}"
        K.create_topic(b, ev)
        db = self.w("single.db")
        alerts = self.w("alerts.jsonl")
        an = self.procs.start(["analyze", "--brokers", b, "--group", f"it.an1.{self.sfx}", "--topic", ev,
                               "--db", db, "--stats", "1", "--alerts", alerts, "--alert-format", "json"], "analyze")
        ing = self.ingest(ev, f"it.in1.{self.sfx}")
        got = K.wait_counters([db], self.want_counters(), [an])
        self.assertEqual(self.procs.wait(ing, 120), 0, K.Procs.stderr(ing)[-2000:])
        self.assertEqual(self.procs.term(an), 0, K.Procs.stderr(an)[-2000:])
        got = K.counters(db)
        self.assertEqual(got["events_new"], self.run_counters["events_new"])
        self.assertEqual(got.get("events_partial", 0), self.run_counters.get("events_partial", 0))
        self.assertEqual(got.get("bad", 0), 0)
        # one message per decoded event (the containers' elements repeat
        # estate records: the shard removed them by event id, like run)
        self.assertEqual(got["kafka_messages"], self.run_counters["events"])
        self.assertEqual(got.get("events_duplicate", 0), self.run_counters.get("events_duplicate", 0))
        doc = K.report([db], self.w("single-report"))
        self.assertEqual(doc, self.want, K.diff_reports(doc, self.want))
        # one raw message per record: what run counts bad went to the DLQ
        self.assertEqual(len(K.kcat_consume(b, self.dlq, "%o")), self.run_counters.get("bad", 0))
        # the --stats lines are JSON with the documented keys
        with open(an.outfile) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        self.assertTrue(lines)
        last = json.loads(lines[-1])
        for k in ("ts", "events_per_s", "events", "batches", "lag", "dlq", "duplicates"):
            self.assertIn(k, last)
        self.assertEqual(last["dlq"], 0)
        self.assertEqual(last["lag"], 0)
        # streaming detectors run in analyze too: the estate's reactivated
        # identities break their silence while the stream is applied
        with open(alerts) as f:
            sent = [json.loads(ln) for ln in f if ln.strip()]
        self.assertTrue(any(a["rule"] == "NHI-ACTIVE-001" for a in sent), sent[:3])
        for a in sent:
            self.assertEqual(a["schema"], "nhiwatch.alert/1")
            self.assertTrue(a["id"].startswith("f-") and a["identity"] and a["evidence"]["event_id"])
        self.__class__.single_events = ev

    def test_2b_shard_dir_alerts(self):
        """--shard-dir with --alerts: the same alerts as one --db shard, from one
        alerter for all partition shards, each alert's state in the shard that
        holds its identity. It reads test_2's events topic: the streaming
        detectors judge each event against the identity's state at arrival,
        and only a topic already written gives both runs the same order per
        identity (ingest reads the raw partitions in whatever order the
        fetches return them)."""
        b = self.broker.brokers
        ev = getattr(self.__class__, "single_events", None)
        self.assertIsNotNone(ev, "test_2 did not fill its events topic")
        nparts = K.create_topic(b, ev)
        sd = self.w("sd")
        alerts = self.w("alerts-sd.jsonl")
        an = self.procs.start(["analyze", "--brokers", b, "--group", f"it.an-sd.{self.sfx}", "--topic", ev,
                               "--shard-dir", sd, "--alerts", alerts, "--alert-format", "json"], "analyze-sd")
        deadline = time.time() + 180
        while True:
            got = K.sum_counters(K.shard_files(sd)) if os.path.isdir(sd) else {}
            if got.get("kafka_messages", 0) >= self.run_counters["events"]:
                break
            self.assertLess(time.time(), deadline, f"applied {got} of {self.run_counters['events']}")
            self.assertIsNone(an.poll(), K.Procs.stderr(an)[-2000:])
            time.sleep(0.2)
        self.assertEqual(self.procs.term(an), 0, K.Procs.stderr(an)[-2000:])
        shards = K.shard_files(sd)
        self.assertEqual(len(shards), nparts)
        doc = K.report([sd], self.w("sd-report"))
        self.assertEqual(doc, self.want, K.diff_reports(doc, self.want))
        with open(alerts) as f:
            sent = sorted((a["id"], a["rule"], a["identity"]) for a in map(json.loads, filter(str.strip, f)))
        with open(self.w("alerts.jsonl")) as f:  # test_2's, one --db shard, same events
            want = sorted((a["id"], a["rule"], a["identity"]) for a in map(json.loads, filter(str.strip, f)))
        self.assertTrue(want)
        self.assertEqual(sent, want)
        # one state row per alert id, in the shard holding the identity
        states = 0
        for db in shards:
            with sqlite3.connect(db) as c:
                keys = {k for (k,) in c.execute("SELECT key FROM identity")}
                rows = c.execute("SELECT id, identity FROM alert_state").fetchall()
            for aid, ident in rows:
                self.assertIn(ident, keys, f"{aid}: state in {db}, identity not there")
            states += len(rows)
        self.assertEqual(states, len({a[0] for a in want}))
        self.assertIn("alerts sent as json to 1 sink(s)", K.Procs.stderr(an))

    def test_3_two_analyze_workers_split_partitions(self):
        b = self.broker.brokers
        ev = f"it.events2.{self.sfx}"
        nparts = K.create_topic(b, ev)
        self.assertEqual(nparts, 4, "kafka-local should create topics with num.partitions=4")
        group = f"it.an2.{self.sfx}"
        dbs = [self.w("shard1.db"), self.w("shard2.db")]
        ws = [self.procs.start(["analyze", "--brokers", b, "--group", group, "--topic", ev, "--db", db], f"shard{i}")
              for i, db in enumerate(dbs, 1)]
        # both members hold partitions before any event exists, so no
        # partition changes hands after data was applied
        deadline = time.time() + 90
        while True:
            owned = []
            for w in ws:
                cur = set()
                for m in re.finditer(r"(assigned|revoked) \S+ \[(\d+)\]", K.Procs.stderr(w)):
                    (cur.add if m.group(1) == "assigned" else cur.discard)(int(m.group(2)))
                owned.append(cur)
            if all(owned) and sum(len(o) for o in owned) == nparts and not (owned[0] & owned[1]):
                break
            self.assertLess(time.time(), deadline, f"no stable split: {owned}")
            for w in ws:
                self.assertIsNone(w.poll(), K.Procs.stderr(w)[-2000:])
            time.sleep(0.2)
        K.log(f"partitions: shard1 {sorted(owned[0])}, shard2 {sorted(owned[1])}")
        ing = self.ingest(ev, f"it.in2.{self.sfx}")
        K.wait_counters(dbs, self.want_counters(), ws)
        self.assertEqual(self.procs.wait(ing, 120), 0, K.Procs.stderr(ing)[-2000:])
        for w in ws:
            self.assertEqual(self.procs.term(w), 0, K.Procs.stderr(w)[-2000:])
        for db in dbs:
            self.assertGreater(K.counters(db).get("events_new", 0), 0, f"{db} is empty")
        doc = K.report(dbs, self.w("two-report"))
        self.assertEqual(doc, self.want, K.diff_reports(doc, self.want))
        # and each shard alone holds only its part
        one = K.report(dbs[:1], self.w("shard1-report"))
        self.assertLess(len(one["identities"]), len(self.want["identities"]))


if __name__ == "__main__":
    K.main(StreamE2E)
