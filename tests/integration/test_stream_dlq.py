#!/usr/bin/env python3
"""Malformed messages go to the dead-letter topic with their error headers,
byte for byte, and the valid messages around them flow on (exact counts),
in ingest (raw records) and in analyze (nhiwatch.event/1 messages).

    test_stream_dlq.py NHIWATCH SOURCE_DIR
"""
import json
import os
import re
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwkafka as K  # noqa: E402

HDR = re.compile(r"^nhiwatch\.error=(?P<error>.*),nhiwatch\.source\.topic=(?P<topic>[^,]*),"
                 r"nhiwatch\.source\.partition=(?P<partition>\d+),nhiwatch\.source\.offset=(?P<offset>\d+)$", re.S)


class StreamDLQ(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = K.Workdir("stream-dlq")
        cls.procs = K.Procs(cls.w.path)
        cls.broker = K.Broker()
        cls.sfx = K.suffix()
        with open(os.path.join(K.SRC, "tests", "fixtures", "aws", "handmade-identities.json")) as f:
            recs = json.load(f)["Records"]
        # #0 AWSService, #1 WebIdentityUser, #2 SAMLUser: three events
        cls.good = [json.dumps(r, separators=(",", ":")) for r in recs[:3]]
        no_ident = dict(recs[3])
        del no_ident["userIdentity"]
        # offsets 1, 3, 4 are bad: not JSON, JSON but not an object, an event
        # without identity; offset 6 is an array of two events (#5 and #7),
        # split like a file's top-level array
        pair = json.dumps([recs[5], recs[7]], separators=(",", ":"))
        cls.raw_msgs = [cls.good[0], "this is {not json", cls.good[1], "[1,2,3]",
                        json.dumps(no_ident, separators=(",", ":")), cls.good[2], pair]
        cls.raw_bad = {1: "not json", 3: "not a json object", 4: "without useridentity"}
        # what `run` makes of the same lines: 5 events, 5 bad records (the
        # array [1,2,3] is three records that are not objects)
        path = cls.w("messages.jsonl")
        with open(path, "w") as f:
            f.write("\n".join(cls.raw_msgs) + "\n")
        _, cls.run_counters = K.run_report([path], cls.w.path)

    @classmethod
    def tearDownClass(cls):
        cls.procs.close()
        cls.broker.close()

    def dlq_entries(self, topic):
        """(offset in the source, headers dict, payload) for each DLQ message."""
        out = []
        for s in K.kcat_consume(self.broker.brokers, topic, "%h\x1f%s"):
            h, payload = s.split("\x1f", 1)
            m = HDR.match(h)
            self.assertIsNotNone(m, f"DLQ headers: {h!r}")
            out.append((int(m["offset"]), m.groupdict(), payload))
        return sorted(out)

    def test_1_run_agrees_on_the_input(self):
        self.assertEqual(self.run_counters["events"], 5)
        self.assertEqual(self.run_counters["bad"], 5)

    def test_2_ingest_dead_letters_bad_records(self):
        b = self.broker.brokers
        raw, ev, dlq = f"it.dlq.raw.{self.sfx}", f"it.dlq.ev.{self.sfx}", f"it.dlq.dlq.{self.sfx}"
        for t in (raw, ev, dlq):
            K.create_topic(b, t)
        K.kcat_produce(b, raw, self.raw_msgs, partition=0)
        ing = self.procs.start(["ingest", "--brokers", b, "--group", f"it.dlq.in.{self.sfx}", "--topics", raw,
                                "--out-topic", ev, "--dlq-topic", dlq, "--exit-on-idle", "3"], "ingest")
        self.assertEqual(self.procs.wait(ing, 120), 0, K.Procs.stderr(ing)[-2000:])
        events = K.kcat_consume(b, ev, "%k\x1f%s")
        self.assertEqual(len(events), 5)
        keys = sorted(e.split("\x1f", 1)[0] for e in events)
        for e in events:
            key, val = e.split("\x1f", 1)
            doc = json.loads(val)
            self.assertEqual(doc["schema"], "nhiwatch.event/1")
            self.assertEqual(doc["identity"]["key"], key)  # keyed by identity
        self.assertEqual(len(set(keys)), 5)
        dl = self.dlq_entries(dlq)
        self.assertEqual([o for o, _, _ in dl], sorted(self.raw_bad))
        for off, h, payload in dl:
            self.assertEqual(payload, self.raw_msgs[off], "the DLQ holds the original bytes")
            self.assertEqual(h["topic"], raw)
            self.assertEqual(h["partition"], "0")
            self.assertIn(f"{raw}/0@{off}", h["error"], "the reason names the message")
            self.assertIn(self.raw_bad[off], h["error"].lower())
        self.assertIn("and 2 more bad records in this message", dl[1][1]["error"])
        self.assertIn("7 messages, 5 events produced", K.Procs.stderr(ing))
        self.assertIn("3 bad messages (3 to the DLQ)", K.Procs.stderr(ing))
        type(self).events = [e.split("\x1f", 1)[1] for e in events]

    def test_3_analyze_dead_letters_malformed_events(self):
        b = self.broker.brokers
        ev, dlq = f"it.dlq.ev2.{self.sfx}", f"it.dlq.dlq2.{self.sfx}"
        for t in (ev, dlq):
            K.create_topic(b, t)
        good = type(self).events
        no_key = ('{"schema":"nhiwatch.event/1","time":"2026-01-01T00:00:00Z","provider":"aws","identity":{},'
                  '"dedupe_id":"0123456789abcdef0123456789abcdef"}')
        msgs = [good[0], "garbage", good[1], no_key, '["not","an","object"]', good[2]]
        bad = {1: "json", 3: "identity.key", 4: "json"}
        K.kcat_produce(b, ev, msgs, partition=0)
        db = self.w("dlq.db")
        an = self.procs.start(["analyze", "--brokers", b, "--group", f"it.dlq.an.{self.sfx}", "--topic", ev, "--db",
                               db, "--dlq-topic", dlq, "--exit-on-idle", "3"], "analyze")
        self.assertEqual(self.procs.wait(an, 120), 0, K.Procs.stderr(an)[-2000:])
        got = K.counters(db)
        self.assertEqual(got.get("kafka_messages"), 6)
        self.assertEqual(got.get("events_new"), 3)
        self.assertEqual(got.get("bad"), 3)
        self.assertEqual(got.get("dlq"), 3)
        dl = self.dlq_entries(dlq)
        self.assertEqual([o for o, _, _ in dl], sorted(bad))
        for off, h, payload in dl:
            self.assertEqual(payload, msgs[off])
            self.assertEqual(h["topic"], ev)
            self.assertIn(f"{ev}/0@{off}", h["error"])
            self.assertIn(bad[off], h["error"].lower())
        # the shard stored where to resume: after the last message
        import sqlite3
        con = sqlite3.connect(db)
        self.assertEqual(con.execute("SELECT next_offset FROM kafka_offset WHERE topic=? AND partition=0",
                                     (ev,)).fetchone(), (6,))
        con.close()

        # without a DLQ topic: counted and kept as examples, exit status 3
        db2 = self.w("nodlq.db")
        an2 = self.procs.start(["analyze", "--brokers", b, "--group", f"it.dlq.an2.{self.sfx}", "--topic", ev,
                                "--db", db2, "--exit-on-idle", "3"], "analyze-nodlq")
        self.assertEqual(self.procs.wait(an2, 120), 3, K.Procs.stderr(an2)[-2000:])
        got = K.counters(db2)
        self.assertEqual((got.get("events_new"), got.get("bad"), got.get("dlq", 0)), (3, 3, 0))
        r = K.run(["stats", "--db", db2])
        self.assertIn(f"{ev}/0@3", r.stdout + r.stderr)

    def test_4_ingest_caps(self):
        # --max-string / --max-fields (docs/hardening.md, "Limits"): a message
        # with a record over a cap is dead-lettered with the cap in its
        # reason; a record exactly at the caps, and the others, flow on.
        # Of the three good events the first has the most fields (31) and
        # the second the longest string (97 bytes): the caps are exactly those.
        b = self.broker.brokers
        raw, ev, dlq = f"it.dlq.rawc.{self.sfx}", f"it.dlq.evc.{self.sfx}", f"it.dlq.dlqc.{self.sfx}"
        for t in (raw, ev, dlq):
            K.create_topic(b, t)
        with open(os.path.join(K.SRC, "tests", "fixtures", "aws", "handmade-identities.json")) as f:
            recs = json.load(f)["Records"]
        long_ua = dict(recs[2], userAgent="u" * 98, eventID="cap-string")
        def fields(v):  # object members and array elements at any depth
            if isinstance(v, dict):
                return len(v) + sum(fields(x) for x in v.values())
            return len(v) + sum(fields(x) for x in v) if isinstance(v, list) else 0
        self.assertEqual((fields(recs[0]), fields(recs[1]), fields(recs[2])), (31, 21, 21))
        many = dict(recs[1], eventID="cap-fields", requestParameters={"keys": []})
        many["requestParameters"]["keys"] = [0] * (32 - fields(many))
        self.assertEqual(fields(many), 32)
        msgs = [self.good[0], json.dumps(long_ua, separators=(",", ":")), self.good[1],
                json.dumps(many, separators=(",", ":")), self.good[2]]
        K.kcat_produce(b, raw, msgs, partition=0)
        ing = self.procs.start(["ingest", "--brokers", b, "--group", f"it.dlq.inc.{self.sfx}", "--topics", raw,
                                "--out-topic", ev, "--dlq-topic", dlq, "--max-string", "97", "--max-fields", "31",
                                "--exit-on-idle", "3"], "ingest-caps")
        self.assertEqual(self.procs.wait(ing, 120), 0, K.Procs.stderr(ing)[-2000:])
        self.assertEqual(len(K.kcat_consume(b, ev, "%s")), 3)
        dl = self.dlq_entries(dlq)
        self.assertEqual([o for o, _, _ in dl], [1, 3])
        self.assertEqual([p for _, _, p in dl], [msgs[1], msgs[3]], "the DLQ holds the original bytes")
        self.assertIn(f"{raw}/0@1", dl[0][1]["error"])
        self.assertIn("string of 98 bytes at byte ", dl[0][1]["error"])
        self.assertIn("exceeds --max-string 97 (record skipped)", dl[0][1]["error"])
        self.assertIn(f"{raw}/0@3", dl[1][1]["error"])
        self.assertIn("more than 31 fields (object members and array elements; field 32 at byte ", dl[1][1]["error"])
        self.assertIn("exceeds --max-fields 31 (record skipped)", dl[1][1]["error"])
        self.assertIn("5 messages, 3 events produced", K.Procs.stderr(ing))
        self.assertIn("2 bad messages (2 to the DLQ)", K.Procs.stderr(ing))


if __name__ == "__main__":
    K.main(StreamDLQ)
