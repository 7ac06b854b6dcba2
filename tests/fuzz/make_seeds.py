#!/usr/bin/env python3
"""make_seeds.py - seed corpora for the fuzz targets from tests/fixtures.

    make_seeds.py CORPUS_ROOT [TARGET...]

Writes CORPUS_ROOT/<target>/seed-*.  Seeds are deterministic (same fixtures,
same files) and named by content hash, so running it again over a corpus
that libFuzzer has grown only adds what is missing.  Each target's input
layout (the mode bytes in front) is described in its .c file; this script
builds inputs in exactly those layouts:

  fuzz_jscan        mode byte + one record (fixture files split per record)
  fuzz_split        mode + chunk seed + a whole fixture file (cut at 64 KB)
  fuzz_onerec       caps byte + one record of the fixtures, bare or in white space
  fuzz_decode       mode + one record, plus small containers and every
                    envelope shape (EventBridge, lookup-events, CloudWatch
                    Logs, Pub/Sub push) built around real records
  fuzz_wire         nhiwatch.event/1 messages built from the schema
  fuzz_inventory    mode + an entitlement export
  fuzz_policy       mode 0 + the ownership policy; mode 1 + glob\\0subject
  fuzz_rules        slot byte + a shipped rule file (and the bad fixtures)
  fuzz_source_gzip  mode 0 + a gzip'd fixture; mode 1 + p1 p2 + content
  fuzz_redact       mode 0 + user agents, resource names, error messages of
                    the fixtures; mode 1 + prefix\0token\0suffix
"""
import base64
import gzip
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(ROOT, "tests", "fixtures")
RULES = os.path.join(ROOT, "rules")
MAX_SEED = 64 * 1024


def files_under(*parts, exts=(".json", ".jsonl", ".csv", ".log")):
    base = os.path.join(FIX, *parts)
    out = []
    for d, _, names in os.walk(base):
        for n in sorted(names):
            if n.endswith(exts) or ".json" in n:
                out.append(os.path.join(d, n))
    return sorted(out)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def records_of(data):
    """Split a fixture the way the splitter does, roughly: containers,
    arrays, JSON Lines, single documents. Returns JSON texts (bytes)."""
    text = data.decode("utf-8", "replace").strip()
    out = []
    try:
        doc = json.loads(text)
        docs = [doc]
    except ValueError:
        docs = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                docs.append(json.loads(line))
            except ValueError:
                out.append(line.encode())  # a bad line is a seed too
    for doc in docs:
        if isinstance(doc, dict):
            for k in ("Records", "records", "logEvents", "Events", "value"):
                if isinstance(doc.get(k), list):
                    out.extend(json.dumps(e).encode() for e in doc[k])
                    break
            else:
                out.append(json.dumps(doc).encode())
        elif isinstance(doc, list):
            out.extend(json.dumps(e).encode() for e in doc)
    return out


class Corpus:
    def __init__(self, root, target):
        self.dir = os.path.join(root, target)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def add(self, data):
        if len(data) > MAX_SEED:
            data = data[:MAX_SEED]
        name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
        p = os.path.join(self.dir, name)
        if not os.path.exists(p):
            with open(p, "wb") as f:
                f.write(data)
            self.n += 1


def log_records():
    recs = []
    for prov in ("aws", "azure", "gcp"):
        for p in files_under(prov):
            recs.extend(records_of(read(p)))
    # de-duplicate, keep order, and do not let one big fixture dominate
    seen, out = set(), []
    for r in recs:
        h = hashlib.sha1(r).digest()
        if h not in seen:
            seen.add(h)
            out.append(r)
    return out


def seeds_jscan(c, recs):
    for i, r in enumerate(recs):
        c.add(bytes([i % 3 | (0x20 if i % 2 else 0)]) + r)
    c.add(b"\x00" + b"[" * 200 + b"]" * 200)
    c.add(b"\x12" + b'{"a":' * 10 + b"1" + b"}" * 10)
    c.add(b"\x21" + b'{"identity":{"claims":{"http:\\/\\/schemas.microsoft.com\\/identity\\/claims\\/objectidentifier":"x"}}}')
    c.add(b"\x00" + b'[{"eventTime":"2025-01-01T00:00:00Z"},1,"s",null,true,{"Records":[]}]')


def seeds_split(c):
    for i, p in enumerate(files_under("aws") + files_under("azure") + files_under("gcp")):
        c.add(bytes([i % 8, i * 37 % 256]) + read(p))
    c.add(b"\x00\x01" + b'{"Records":[{"a":1},{"b":[1,2,{"c":"}"}]},3,"x"]}\n{"next":1}\n')
    c.add(b"\x03\x05" + b'{"a":"cut\n{"b":2}\n]]}}{"c":3}\n')
    c.add(b"\x01\x09" + b"[" * 20 + b"1" + b"]" * 20)


def seeds_onerec(c, recs):
    # caps byte (bit 0: tight caps) + one message, as ingest receives it
    for i, r in enumerate(recs):
        c.add(bytes([i % 2]) + r)
        if i % 5 == 0:
            c.add(bytes([0]) + b"\n " + r + b" \r\n")
    c.add(b"\x00" + b'{"Records":[{"a":1}]}')
    c.add(b"\x00" + b'{"a":"x\\"}"}{"b":1}')
    c.add(b"\x01" + b'{"k":[1,2,3,4,5,6,7,8,9,10,11,12,13]}')
    c.add(b"\x00" + b'{"s":"a\nb"}')


def seeds_decode(c, recs):
    for i, r in enumerate(recs):
        c.add(bytes([i % 4]) + r)
    # containers: a few records in each shape
    ct = [r for r in recs if b'"eventSource"' in r][:3]
    az = [r for r in recs if b'"operationName"' in r][:3]
    gc = [r for r in recs if b'"protoPayload"' in r][:3]
    if ct:
        c.add(b"\x01" + b'{"Records":[' + b",".join(ct) + b"]}")
        c.add(b"\x01" + b'{"logEvents":[' + b",".join(
            json.dumps({"id": str(i), "timestamp": 1700000000000, "message": r.decode()}).encode()
            for i, r in enumerate(ct)) + b'],"messageType":"DATA_MESSAGE"}')
        c.add(b"\x00" + json.dumps({"Events": [{"EventId": "x", "CloudTrailEvent": r.decode()} for r in ct]}).encode())
        c.add(b"\x00" + json.dumps({"detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
                                     "detail": json.loads(ct[0])}).encode())
        c.add(b"\x01" + json.dumps({"CloudTrailEvent": ct[0].decode()}).encode())
        c.add(b"\x00" + json.dumps({"messageType": "CONTROL_MESSAGE", "logEvents": []}).encode())
        c.add(b"\x00" + json.dumps({"digestS3Object": "x", "digestStartTime": "2025-01-01T00:00:00Z"}).encode())
    if az:
        c.add(b"\x01" + b'{"records":[' + b",".join(az) + b"]}")
    if gc:
        c.add(b"\x00" + json.dumps({"message": {"data": base64.b64encode(gc[0]).decode(), "messageId": "1"},
                                     "subscription": "projects/p/subscriptions/s"}).encode())
        c.add(b"\x01" + b"[" + b",".join(gc) + b"]")
    c.add(b"\x02" + b'{"Records":[{"Records":[]}]}')


def wire_msgs():
    base = {
        "schema": "nhiwatch.event/1", "time": "2025-03-04T10:15:09.123456Z", "provider": "aws",
        "identity": {"key": "arn:aws:iam::111122223333:role/ci/gha-deploy", "type": "iam_role",
                     "kind": "non_human", "name": "gha-deploy", "account": "111122223333",
                     "session": "GitHubActions", "origin": "arn:aws:iam::111122223333:user/x"},
        "credential": {"id": "ASIAEXAMPLETEMPKEY01", "kind": "aws_temporary"},
        "action": {"service": "iam", "name": "iam:CreateAccessKey", "permission": "iam:CreateAccessKey",
                   "access": "write", "privileged": True, "secret_read": True},
        "outcome": {"result": "denied", "error_code": "AccessDenied"},
        "source": {"ip": "192.0.2.44", "user_agent": "aws-cli/2.15.30", "region": "us-east-1",
                   "console": True, "via_service": True},
        "resource": "arn:aws:iam::111122223333:user/x", "event_id": "ev-1",
        "dedupe_id": "00112233445566778899aabbccddeeff", "op_key": "op", "phase": "partial",
    }
    yield base
    m = json.loads(json.dumps(base))
    m["provider"] = "azure"
    m["identity"] = {"key": "azure:aaaabbbb-0000-cccc-1111-dddd2222eeee/5c6d", "type": "service_principal",
                     "kind": "non_human", "tenant": "aaaabbbb-0000-cccc-1111-dddd2222eeee", "service_agent": True}
    m["credential"] = {"id": "11112222-bbbb:2", "kind": "azure_cert"}
    del m["phase"]
    yield m
    m = json.loads(json.dumps(base))
    m["provider"] = "gcp"
    m["identity"] = {"key": "terraform@acme-prod.iam.gserviceaccount.com", "type": "service_account",
                     "name": "t\u00e9rraform \"quoted\" \\ \n\t\u0001"}
    m["time"] = "2025-03-04T10:25:41Z"
    yield m
    yield {"schema": "nhiwatch.event/1", "time": "2025-03-04T10:25:41Z", "identity": {"key": "k"},
           "dedupe_id": "0" * 32}
    yield {"schema": "nhiwatch.event/2", "time": "x"}


def seeds_wire(c):
    for m in wire_msgs():
        c.add(json.dumps(m).encode())
        c.add(json.dumps(m, separators=(",", ":")).encode())


def seeds_inventory(c):
    for i, p in enumerate(files_under("entitlements", exts=(".json", ".csv"))):
        if "/policy/" in p:
            continue
        c.add(bytes([i % 4]) + read(p))
    c.add(b"\x00[]")
    c.add(b"\x00user,arn,user_creation_time,password_enabled\n<root_account>,arn:aws:iam::1:root,N/A,not_supported\n")


def seeds_policy(c):
    for p in files_under("entitlements", "policy", exts=(".json",)):
        c.add(b"\x00" + read(p))
    c.add(b"\x00" + json.dumps({"version": 1, "identities": [
        {"match": "arn:aws:iam::111122223333:role/ci-*", "owner": "platform@example.com",
         "expires": "2027-01-01", "rotation_days": 90, "jit": False, "tags": {"env": "prod", "a": "b"}},
        {"match": "*@acme-prod.iam.gserviceaccount.com", "jit": True},
        {"match": "azure:?*/5c6d*"}]}).encode())
    for pat, s in [("s3:Get*", "s3:GetObject"), ("*a*a*a*a*b", "a" * 40), ("?", ""), ("", ""),
                   ("ARN:*:role/ci-?", "arn:aws:iam::1:role/ci-x"), ("**", "x*y")]:
        c.add(b"\x01" + pat.encode() + b"\x00" + s.encode())


def seeds_rules(c):
    names = ["aws-action-map.json", "azure-roles.json", "dormant.json", "gcp-roles.json",
             "hygiene.json", "over_privileged.json", "suddenly_active.json", "unobservable.json"]
    for k, n in enumerate(names):
        c.add(bytes([k]) + read(os.path.join(RULES, n)))
        c.add(bytes([0x80 | k]) + read(os.path.join(RULES, n)))
    for p in files_under("rules", exts=(".json",)):
        base = os.path.basename(p)
        slot = names.index(base) if base in names else 2
        c.add(bytes([slot]) + read(p))


def seeds_source_gzip(c):
    files = files_under("aws") + files_under("azure") + files_under("gcp")
    for i, p in enumerate(files):
        data = read(p)[:MAX_SEED // 2]
        c.add(b"\x00" + gzip.compress(data, mtime=0))
        c.add(bytes([1, i * 29 % 256, i * 53 % 256]) + data[:16 * 1024])
    c.add(b"\x00" + gzip.compress(b'{"Records":[{"a":1}]}', mtime=0) + gzip.compress(b'{"b":2}\n', mtime=0))
    c.add(b"\x00" + gzip.compress(b'{"Records":[{"a":1}]}', mtime=0)[:-6])


def seeds_redact(c, recs):
    texts = set()
    for r in recs:
        try:
            d = json.loads(r)
        except ValueError:
            continue
        if not isinstance(d, dict):
            continue
        pp = d.get("protoPayload") if isinstance(d.get("protoPayload"), dict) else {}
        rm = pp.get("requestMetadata") if isinstance(pp.get("requestMetadata"), dict) else {}
        props = d.get("properties") if isinstance(d.get("properties"), dict) else {}
        for v in (d.get("userAgent"), d.get("errorMessage"), d.get("errorCode"), rm.get("callerSuppliedUserAgent"),
                  pp.get("resourceName"), d.get("resourceId"), props.get("statusMessage")):
            if isinstance(v, str) and v:
                texts.add(v)
    for t in sorted(texts)[:300]:
        c.add(b"\x00" + t.encode())
    for t in ["curl/8 Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln password=x",
              '{"password":"a b c","client_secret":"s","nested":{"token":"t"}}',
              "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nafter",
              "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-password-AbCdEf",
              "https://acct.blob.core.windows.net/c/b?sv=2022&sig=abc%3D&se=1",
              "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end"]:
        c.add(b"\x00" + t.encode())
    for k in range(8):
        c.add(bytes([1 | k << 1]) + b"ua/1.0\x00PlantedToken\x00 more")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    want = set(sys.argv[2:])
    recs = None
    builders = {
        "fuzz_jscan": lambda c: seeds_jscan(c, recs),
        "fuzz_split": seeds_split,
        "fuzz_onerec": lambda c: seeds_onerec(c, recs),
        "fuzz_decode": lambda c: seeds_decode(c, recs),
        "fuzz_wire": seeds_wire,
        "fuzz_inventory": seeds_inventory,
        "fuzz_policy": seeds_policy,
        "fuzz_rules": seeds_rules,
        "fuzz_source_gzip": seeds_source_gzip,
        "fuzz_redact": lambda c: seeds_redact(c, recs),
    }
    for t, build in builders.items():
        if want and t not in want:
            continue
        if recs is None:
            recs = log_records()
        c = Corpus(root, t)
        build(c)
        total = len(os.listdir(c.dir))
        print(f"{t}: {c.n} new seeds, {total} files in {c.dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
