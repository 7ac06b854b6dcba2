#!/usr/bin/env python3
"""scripts/evaluate end to end, and its arithmetic on a hand-made pair.

1. `evaluate --run --preset small`: gen-estate --small (logs and IAM exports),
   `nhiwatch run --entitlements ...`, scoring. Asserts what must hold whatever
   the detectors' scores are: no finding on a person, every non-human
   identity of the truth in the report, inventory and activity joined on one
   key for every non-human identity, and every export imported. The scores
   themselves are measured (docs/evaluation.md), not asserted here.
2. A tiny truth / report pair written below, with the exact precision,
   recall and F1 that follow from it.

Usage (ctest does this):  test_evaluate.py NHIWATCH_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

NW = None
HERE = os.path.dirname(os.path.abspath(__file__))
EVALUATE = os.path.join(HERE, "..", "..", "scripts", "evaluate")


def evaluate(*args):
    p = subprocess.run([sys.executable, EVALUATE] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    return p


class RunSmall(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="nw-eval-")
        p = evaluate("--run", "--preset", "small", "--out", cls.tmp.name, "--nhiwatch", NW, "--json")
        if p.returncode != 0:
            raise AssertionError(f"evaluate --run failed ({p.returncode}):\n{p.stderr[-3000:]}")
        cls.res = json.loads(p.stdout)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_no_findings_on_people(self):
        self.assertEqual(self.res["human_findings"], 0, json.dumps(self.res["human_findings_list"], indent=1))

    def test_no_nhi_missing(self):
        self.assertEqual(self.res["missing_nhi"], 0, json.dumps(self.res["missing_nhi_list"], indent=1))

    def test_nhi_activity_and_inventory_join(self):
        self.assertEqual(self.res["unjoined_nhi"], 0,
                         json.dumps([u for u in self.res["unjoined"] if u["kind"] == "non_human"], indent=1))

    def test_exports_imported_and_run_clean(self):
        run = self.res["run"]
        self.assertGreater(run["entitlement_files"], 0)
        self.assertEqual(run["nhiwatch_exit"], 0)     # 3 would mean an export or a log file was refused

    def test_every_kind_measured(self):
        for kind in ("dormant", "suddenly_active", "over_privileged"):
            k = self.res["kinds"][kind]
            self.assertGreater(k["positives"], 0, kind)
            self.assertEqual(k["tp"] + k["fn"], k["positives"], kind)
        self.assertGreater(self.res["truth"]["human"], 0)

    def test_table_output(self):
        d = self.res["inputs"]
        p = evaluate("--truth", d["truth"], "--report", d["report"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("suddenly_active", p.stdout)
        self.assertIn("findings on people:", p.stdout)


def ident(key, kind, labels, provider="aws", typ="iam_role"):
    return {"key": key, "provider": provider, "kind": kind, "type": typ, "profile": "p", "labels": labels,
            "events": 1, "first_event": None, "last_event": None}


def finding(key, kind, rule="R", **ev):
    return {"id": "f-" + key + rule, "kind": kind, "rule": rule, "severity": "high", "identity": key,
            "provider": "aws", "evidence": ev}


class Arithmetic(unittest.TestCase):
    """A: dormant, found (two findings: counted once)   B: never_used, missed
    C: reactivated + over_privileged, both found       D: spiking, missed, but a dormant finding (FP)
    E: healthy with a suddenly_active and an over_privileged finding (FPs)
    F: a person with a hygiene finding                  G: over_privileged, not in the report at all
    X: in the report only, with a dormant finding (FP)"""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="nw-eval-arith-")
        truth = {"schema": "nhiwatch.truth/1", "as_of": "2026-11-30T23:59:59Z", "window_days": 30, "identities": [
            ident("A", "non_human", ["dormant"]), ident("B", "non_human", ["never_used"]),
            ident("C", "non_human", ["over_privileged", "reactivated"]), ident("D", "non_human", ["spiking"]),
            ident("E", "non_human", ["healthy"]), ident("F", "human", ["vacation_gap"], typ="iam_user"),
            ident("G", "non_human", ["over_privileged"])]}
        report = {"schema": "nhiwatch.report/1", "as_of": "2026-11-30T23:00:00Z", "window_days": 90,
                  "identities": [{"key": k, "kind": "human" if k == "F" else "non_human", "events": 1}
                                 for k in ("A", "B", "C", "D", "E", "F", "X")],
                  "findings": [finding("A", "dormant", "NHI-DORMANT-001", silent_days=120),
                               finding("A", "dormant", "NHI-DORMANT-003"),
                               finding("C", "suddenly_active", "NHI-ACTIVE-001"),
                               finding("C", "over_privileged", "NHI-PRIV-001"),
                               finding("D", "dormant", "NHI-DORMANT-001"),
                               finding("E", "suddenly_active", "NHI-ACTIVE-006", new_regions=["x"]),
                               finding("E", "over_privileged", "NHI-PRIV-002"),
                               finding("E", "no_owner", "NHI-HYG-005"),
                               finding("F", "no_owner", "NHI-HYG-005"),
                               finding("X", "dormant", "NHI-DORMANT-002")]}
        self.t = os.path.join(self.tmp.name, "truth.json")
        self.r = os.path.join(self.tmp.name, "report.json")
        with open(self.t, "w") as f:
            json.dump(truth, f)
        with open(self.r, "w") as f:
            json.dump(report, f)

    def tearDown(self):
        self.tmp.cleanup()

    def test_numbers(self):
        p = evaluate("--truth", self.t, "--report", self.r, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        res = json.loads(p.stdout)
        k = res["kinds"]
        d, s, o = k["dormant"], k["suddenly_active"], k["over_privileged"]
        self.assertEqual((d["positives"], d["tp"], d["fp"], d["fn"]), (2, 1, 2, 1))
        self.assertAlmostEqual(d["precision"], 1 / 3)
        self.assertAlmostEqual(d["recall"], 1 / 2)
        self.assertAlmostEqual(d["f1"], 0.4)
        self.assertEqual((s["positives"], s["tp"], s["fp"], s["fn"]), (2, 1, 1, 1))
        self.assertAlmostEqual(s["precision"], 0.5)
        self.assertAlmostEqual(s["recall"], 0.5)
        self.assertAlmostEqual(s["f1"], 0.5)
        self.assertEqual((o["positives"], o["tp"], o["fp"], o["fn"]), (2, 1, 1, 1))
        self.assertAlmostEqual(o["precision"], 0.5)
        self.assertAlmostEqual(o["recall"], 0.5)
        self.assertEqual(sorted(x["key"] for x in d["false_positives"]), ["D", "X"])
        self.assertEqual([x["key"] for x in d["false_negatives"]], ["B"])
        self.assertFalse([x for x in d["false_positives"] if x["key"] == "X"][0]["in_truth"])
        self.assertEqual([x["key"] for x in s["false_negatives"]], ["D"])
        self.assertEqual([x["key"] for x in o["false_negatives"]], ["G"])
        self.assertEqual(s["by_label"]["reactivated"], {"positives": 1, "tp": 1, "recall": 1.0})
        self.assertEqual(s["by_label"]["spiking"], {"positives": 1, "tp": 0, "recall": 0.0})
        self.assertEqual(res["human_findings"], 1)
        self.assertEqual(res["human_identities_with_findings"], 1)
        self.assertEqual(res["missing_nhi"], 1)
        self.assertEqual(res["missing_nhi_list"][0]["key"], "G")
        self.assertEqual([x["key"] for x in res["report_only_identities"]], ["X"])

    def test_empty_report(self):
        with open(self.r, "w") as f:
            json.dump({"identities": [], "findings": []}, f)
        res = json.loads(evaluate("--truth", self.t, "--report", self.r, "--json").stdout)
        for kind in res["kinds"].values():
            self.assertEqual(kind["tp"], 0)
            self.assertIsNone(kind["precision"])     # nothing flagged: undefined, not 0
            self.assertEqual(kind["recall"], 0.0)
        self.assertEqual(res["missing_nhi"], 6)

    def test_bad_input(self):
        p = evaluate("--truth", self.t, "--report", os.path.join(self.tmp.name, "nope.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read the report", p.stderr)


if __name__ == "__main__":
    NW = sys.argv.pop(1)
    unittest.main(verbosity=2)
