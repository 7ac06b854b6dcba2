#!/usr/bin/env python3
"""The broker goes away: stopped for a few seconds in the middle of a run
(workers reconnect and finish with nothing lost, exact counts), and
unreachable from the start (workers give up in bounded time, exit 1, and say
why).

    test_stream_broker.py NHIWATCH SOURCE_DIR

Always uses a private broker (it is stopped and started again).
"""
import os
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwkafka as K  # noqa: E402


class BrokerUnreachable(unittest.TestCase):
    w = None

    def test_workers_give_up_with_a_clear_message(self):
        w = K.Workdir("stream-unreachable")
        type(self).w = w
        cmds = {
            "ingest": ["ingest", "--brokers", "127.0.0.1:1", "--group", "g", "--topics", "t", "--out-topic", "o",
                       "--wait-brokers", "4"],
            "analyze": ["analyze", "--brokers", "127.0.0.1:1", "--group", "g", "--topic", "t", "--db",
                        w("unreachable.db"), "--wait-brokers", "4"],
            "ship": ["ship", "--brokers", "127.0.0.1:1", "--topic", "t", "--wait-brokers", "4",
                     os.path.join(K.SRC, "tests", "fixtures", "gcp")],
        }
        for name, args in cmds.items():
            t = time.time()
            r = K.run(args, timeout=60, check=False)
            took = time.time() - t
            K.log(f"{name}: exit {r.returncode} after {took:.1f} s")
            self.assertEqual(r.returncode, 1, f"{name}: {r.stderr}")
            self.assertLess(took, 15, f"{name} took {took:.1f} s")
            self.assertGreaterEqual(took, 3.5, f"{name} gave up before its --wait-brokers time")
            self.assertIn("cannot reach brokers 127.0.0.1:1 after", r.stderr)
        # the default wait is bounded too (30 s)
        t = time.time()
        r = K.run(cmds["analyze"][:-2], timeout=90, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertLess(time.time() - t, 45)
        self.assertIn("cannot reach brokers 127.0.0.1:1 after 3", r.stderr)
        # unknown properties are refused before anything connects
        r = K.run(cmds["ingest"] + ["-X", "no.such.property=1"], timeout=30, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn('No such configuration property: "no.such.property"', r.stderr)
        r = K.run(cmds["ingest"] + ["-X", "enable.auto.commit=true"], timeout=30, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("enable.auto.commit=false cannot be changed", r.stderr)


class BrokerRestart(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = K.Workdir("stream-broker")
        cls.procs = K.Procs(cls.w.path)
        cls.broker = K.Broker(private=True)
        cls.estate = K.gen_estate(cls.w("estate"))
        cls.logs = K.log_dirs(cls.estate)
        cls.want, cls.run_counters = K.run_report(cls.logs, cls.w.path)

    @classmethod
    def tearDownClass(cls):
        cls.procs.close()
        cls.broker.close()

    def test_broker_down_for_a_few_seconds(self):
        b = self.broker.brokers
        sfx = K.suffix()
        raw, ev, dlq = f"it.br.raw.{sfx}", f"it.br.ev.{sfx}", f"it.br.dlq.{sfx}"
        for t in (raw, ev, dlq):
            K.create_topic(b, t)
        K.run(["ship", "--brokers", b, "--topic", raw, *self.logs])
        total = self.run_counters["events"]
        db = self.w("broker.db")
        an = self.procs.start(["analyze", "--brokers", b, "--group", f"it.br.an.{sfx}", "--topic", ev, "--db", db],
                              "analyze")
        # paced, so that the stream is still flowing when the broker goes
        ing = self.procs.start(["ingest", "--brokers", b, "--group", f"it.br.in.{sfx}", "--topics", raw,
                                "--out-topic", ev, "--dlq-topic", dlq, "--max-rate", "3000"], "ingest")
        K.wait_counters([db], {"kafka_messages": total // 5}, [an, ing])
        self.broker.stop(keep=True)
        at_stop = K.counters(db).get("kafka_messages", 0)
        K.log(f"broker stopped after {at_stop} of {total} messages")
        self.assertLess(at_stop, total)
        time.sleep(3)
        for p in (an, ing):
            self.assertIsNone(p.poll(), f"{p.name} exited while the broker was down: {K.Procs.stderr(p)[-2000:]}")
        self.broker.start()
        K.wait_counters([db], {"events_new": self.run_counters["events_new"],
                               "events_partial": self.run_counters.get("events_partial", 0)}, [an, ing], timeout=300)
        self.assertEqual(self.procs.term(ing), 0, K.Procs.stderr(ing)[-2000:])
        self.assertEqual(self.procs.term(an), 0, K.Procs.stderr(an)[-2000:])
        got = K.counters(db)
        K.log(f"after the restart: {got}")
        # nothing lost; what ingest produced twice around the outage was removed
        self.assertEqual(got["events_new"], self.run_counters["events_new"])
        self.assertEqual(got["kafka_messages"] - got.get("events_duplicate", 0), total)
        self.assertEqual(got.get("bad", 0), 0)
        self.assertEqual(len(K.kcat_consume(b, dlq, "%o")), self.run_counters.get("bad", 0))
        doc = K.report([db], self.w("broker-report"))
        self.assertEqual(doc, self.want, K.diff_reports(doc, self.want))


if __name__ == "__main__":
    K.main(BrokerUnreachable, BrokerRestart)
