#!/usr/bin/env python3
"""The kafka://TOPIC alert sink against a real broker.

`nhiwatch run --alerts kafka://T --brokers B --alerts FILE` on the real
public CloudTrail samples: every alert written to the file is on the topic,
keyed by its finding id (OCSF finding_info.uid); a second run over the same
logs produces nothing. The broker is $NW_KAFKA_BROKERS when set, else a
private scripts/kafka-local one (tests/integration/nwkafka.py).

Usage (ctest does this):  test_reports_kafka.py NHIWATCH_BINARY SOURCE_DIR
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nwkafka as K  # noqa: E402


class KafkaSinkTest(unittest.TestCase):
    def test_alerts_on_topic(self):
        broker = K.Broker()
        work = K.Workdir("reports-kafka")
        ok = False
        try:
            topic = "nhi.alerts." + K.suffix()
            K.create_topic(broker.brokers, topic)
            inputs = os.path.join(K.SRC, "tests", "fixtures", "aws", "stratus-red-team")
            db, out, fa = work("a.db"), work("rep"), work("alerts.jsonl")
            args = ["run", "-q", "--db", db, "--out", out, "--alerts", "kafka://" + topic, "--brokers", broker.brokers,
                    "-X", "client.id=nhiwatch-test", "--alerts", fa, inputs]
            K.run(args)
            with open(fa) as f:
                want = [l.rstrip("\n") for l in f]
            self.assertGreater(len(want), 0)
            got = K.kcat_consume(broker.brokers, topic, fmt="%k\t%s")
            self.assertEqual(len(got), len(want))
            pairs = [g.split("\t", 1) for g in got]
            self.assertEqual(sorted(v for _, v in pairs), sorted(want))
            for k, v in pairs:
                self.assertEqual(k, json.loads(v)["finding_info"]["uid"])
            K.run(args)  # the same logs again: nothing new
            self.assertEqual(len(K.kcat_consume(broker.brokers, topic, fmt="%k\t%s")), len(want))
            # kafka:// without --brokers is refused before anything runs
            r = K.run(["run", "-q", "--db", work("b.db"), "--out", out, "--alerts", "kafka://" + topic, inputs],
                      check=False)
            self.assertEqual(r.returncode, 1)
            self.assertIn("needs --brokers", r.stderr)
            ok = True
        finally:
            broker.close()
            work.close(ok)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"])
