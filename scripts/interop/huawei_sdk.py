#!/usr/bin/env python3
"""Huawei's hand-written Python DIS SDK (huaweicloud-sdk-python-dis) against dis-records, both ways.

Run by scripts/interop-huawei-sdk.sh in the venv it installs (scripts/interop/requirements.txt),
with PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python (its record_pb2.py predates protoc 3.19).

Subcommands:
  send     Direction A: the SDK's disclient.put_records sends records (protobuf or JSON bodies,
           V11-HMAC-SHA256 or SDK-HMAC-SHA256 signatures) to a running dis-local; every answer
           is checked, then every record is looked up on dis-local's read-back path
           (GET /local/v1/streams/{stream}/records): same data, keys, partition and sequence
           number as the SDK's answer said. With --expect-refused CODE, the SDK must instead fail
           with that DIS error code (nothing stored).
  serve    Direction B: a DIS endpoint on 127.0.0.1 that decodes every SendRecords body with the
           SDK's own generated record_pb2.PutRecordsRequest, checks it, and answers with a
           record_pb2.PutRecordsResult it encodes. Prints "listening on http://127.0.0.1:PORT",
           serves until SIGTERM; GET /summary tells what it saw.
  check-served
           Direction B's verdict: asks the server's /summary whether it saw exactly the records
           `send_records --generate N --size S` writes, and no problem.
  vectors  Signature vectors for dis-local's tests: the SDK sends real requests (each signer,
           each body format, and one with a query string) to a capturing server on 127.0.0.1;
           the requests as received (method, path, headers, body) are written as JSON.

Each subcommand prints one summary line on stdout and exits non-zero on any failure.
"""

import argparse
import base64
import http.server
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request

os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

from dis_sdk_python import disclient  # noqa: E402
from dis_sdk_python.com.huaweicloud.dis.sdk.python.models.disexception import DisException  # noqa: E402
from dis_sdk_python.com.huaweicloud.dis.sdk.python.proto import record_pb2  # noqa: E402


class Failure(Exception):
    pass


def sdk_version():
    import importlib.metadata as m

    return m.version("huaweicloud-sdk-python-dis"), m.version("protobuf")


def make_client(args, body, signer, sk=None):
    return disclient(
        endpoint=args.endpoint,
        ak=args.ak,
        sk=sk if sk is not None else args.sk,
        projectid=args.project_id,
        region=args.region,
        bodySerializeType="protobuf" if body == "protobuf" else "",
        derivationKeySwitch=(signer == "v11"),
    )


def make_records(tag, n, partitions):
    """n records with unique text data (some non-ASCII), routed by each of the four ways."""
    records = []
    for i in range(n):
        r = {"data": f"{tag}-{i:06}-" + ("ünïcødé-€-" if i % 5 == 0 else "ascii-") + "x" * (i % 7)}
        kind = i % 4
        if kind == 0:
            r["partition_key"] = f"user-{i}"
        elif kind == 1:
            r["partition_id"] = str(i % partitions)
        elif kind == 2:
            r["explicit_hash_key"] = str(i * 1234567891 % 9223372036854775807)
        records.append(r)
    return records


def read_back(endpoint, stream):
    with urllib.request.urlopen(f"{endpoint}/local/v1/streams/{stream}/records", timeout=30) as r:
        return json.load(r)


def cmd_send(args):
    records = make_records(args.tag, args.records, args.partitions)
    sk = args.wrong_sk if args.wrong_sk else None
    client = make_client(args, args.body, args.signer, sk=sk)
    label = f"{args.body}, {args.signer}"
    try:
        answer = client.put_records(args.stream, "", records)
    except DisException as e:
        text = e.errorMessage
        if args.expect_refused and args.expect_refused in text:
            stored = [x for x in read_back(args.endpoint, args.stream)
                      if base64.b64decode(x["data"]).decode().startswith(args.tag + "-")]
            if stored:
                raise Failure(f"{label}: refused, yet {len(stored)} records stored")
            print(f"ok: {label}: refused as expected ({args.expect_refused}), nothing stored")
            return
        raise Failure(f"{label}: the SDK failed: {text}")
    if args.expect_refused:
        raise Failure(f"{label}: expected {args.expect_refused}, the SDK got {answer.statusCode}")
    if answer.statusCode != 200 or int(answer.failedRecordCount) != 0:
        raise Failure(f"{label}: status {answer.statusCode}, failed {answer.failedRecordCount}")
    results = answer.recordResult
    if len(results) != len(records):
        raise Failure(f"{label}: {len(results)} results for {len(records)} records")
    stored = {(x["partition_id"], x["sequence_number"]): x for x in read_back(args.endpoint, args.stream)}
    mine = [x for x in stored.values() if base64.b64decode(x["data"]).decode().startswith(args.tag + "-")]
    if len(mine) != len(records):
        raise Failure(f"{label}: {len(mine)} records stored with tag {args.tag}, {len(records)} sent")
    for i, (rec, res) in enumerate(zip(records, results)):
        if "error_code" in res or not res.get("partition_id") or res.get("sequence_number") in (None, ""):
            raise Failure(f"{label}: record {i}: answer {res}")
        item = stored.get((res["partition_id"], res["sequence_number"]))
        if item is None:
            raise Failure(f"{label}: record {i}: nothing stored at {res}")
        if base64.b64decode(item["data"]) != rec["data"].encode("utf-8"):
            raise Failure(f"{label}: record {i}: stored data differs")
        if item.get("partition_key") != rec.get("partition_key"):
            raise Failure(f"{label}: record {i}: partition_key {item.get('partition_key')!r}")
        if item.get("explicit_hash_key") != rec.get("explicit_hash_key"):
            raise Failure(f"{label}: record {i}: explicit_hash_key {item.get('explicit_hash_key')!r}")
        if "partition_id" in rec and item["partition_id"] != f"shardId-{int(rec['partition_id']):010}":
            raise Failure(f"{label}: record {i}: partition {item['partition_id']}, asked {rec['partition_id']}")
    print(f"ok: {label}: {len(records)} records sent by the SDK, all acknowledged and read back "
          f"(data, keys, partition, sequence number)")


# ---- Direction B ---------------------------------------------------------------------------

class Seen:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.records = 0
        self.indices = {}
        self.sizes = set()
        self.problems = []

    def problem(self, text):
        with self.lock:
            if len(self.problems) < 20:
                self.problems.append(text)


def check_request(args, handler, body):
    """Checks one SendRecords request; returns the decoded record_pb2.PutRecordsRequest."""
    ctype = handler.headers.get("Content-Type", "")
    if ctype.split(";")[0].strip().lower() != "application/x-protobuf":
        raise Failure(f"Content-Type {ctype!r}")
    if args.token and handler.headers.get("X-Auth-Token") != args.token:
        raise Failure("missing or wrong X-Auth-Token")
    req = record_pb2.PutRecordsRequest()
    req.ParseFromString(body)  # checks Python's required fields: streamName, streamId
    if not req.IsInitialized():
        raise Failure("required fields missing")
    if req.streamName != args.stream:
        raise Failure(f"streamName {req.streamName!r}")
    if not 1 <= len(req.records) <= 500:
        raise Failure(f"{len(req.records)} records")
    return req


def make_handler(args, seen):
    prefix = f"/v2/{args.project_id}/records"

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def answer(self, status, ctype, body):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, status, text):
            body = json.dumps({"errorCode": "DIS.4200", "message": text}).encode()
            self.answer(status, "application/json", body)

        def do_GET(self):
            if self.path != "/summary":
                return self.error(404, "no such path")
            with seen.lock:
                body = json.dumps({
                    "requests": seen.requests, "records": seen.records,
                    "distinct": len(seen.indices),
                    "duplicates": sum(1 for c in seen.indices.values() if c > 1),
                    "min_index": min(seen.indices, default=None),
                    "max_index": max(seen.indices, default=None),
                    "sizes": sorted(seen.sizes), "problems": seen.problems,
                }).encode()
            self.answer(200, "application/json", body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path.split("?")[0].rstrip("/") != prefix:
                seen.problem(f"path {self.path}")
                return self.error(404, "no such path")
            try:
                req = check_request(args, self, body)
            except Exception as e:  # DecodeError, Failure
                seen.problem(f"request {seen.requests}: {type(e).__name__}: {e}")
                return self.error(400, f"{type(e).__name__}: {e}")
            result = record_pb2.PutRecordsResult()
            result.failedRecordCount = 0
            with seen.lock:
                seen.requests += 1
                for rec in req.records:
                    data = rec.data
                    head = data[:12]
                    if not head.isdigit() or data[12:] != b"x" * (len(data) - 12):
                        if len(seen.problems) < 20:
                            seen.problems.append(f"unexpected data {data[:40]!r}")
                    else:
                        i = int(head)
                        seen.indices[i] = seen.indices.get(i, 0) + 1
                    seen.sizes.add(len(data))
                    e = result.records.add()
                    e.shardId = "shardId-0000000000"
                    e.sequenceNumber = str(seen.records)
                    seen.records += 1
            self.answer(200, "application/x-protobuf", result.SerializeToString())

    return Handler


def cmd_serve(args):
    seen = Seen()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args, seen))
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def cmd_check_served(args):
    with urllib.request.urlopen(f"{args.url}/summary", timeout=30) as r:
        s = json.load(r)
    want = {"records": args.records, "distinct": args.records, "duplicates": 0,
            "min_index": 0, "max_index": args.records - 1, "sizes": [args.size], "problems": []}
    bad = {k: s[k] for k, v in want.items() if s[k] != v}
    if bad:
        raise Failure(f"the record_pb2 server saw {bad} (wanted {({k: want[k] for k in bad})})")
    print(f"ok: record_pb2 decoded {s['requests']} requests of our producer: {s['records']} records, "
          f"indices 0..{args.records - 1} once each, {args.size} bytes each, streamName {args.stream!r}")


# ---- Signature vectors ---------------------------------------------------------------------

def cmd_vectors(args):
    captured = []

    class Capture(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            captured.append({"method": self.command, "target": self.path,
                             "headers": [[k, v] for k, v in self.headers.items()],
                             "body_base64": base64.b64encode(body).decode()})
            if self.headers.get("Content-Type", "").startswith("application/x-protobuf"):
                req = record_pb2.PutRecordsRequest()
                req.ParseFromString(body)
                res = record_pb2.PutRecordsResult()
                res.failedRecordCount = 0
                for i in range(len(req.records)):
                    e = res.records.add()
                    e.shardId, e.sequenceNumber = "shardId-0000000000", str(i)
                out, ctype = res.SerializeToString(), "application/x-protobuf"
            else:
                n = len(json.loads(body)["records"])
                out = json.dumps({"failed_record_count": 0, "records": [
                    {"partition_id": "shardId-0000000000", "sequence_number": str(i)} for i in range(n)]}).encode()
                ctype = "application/json"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    args.endpoint = endpoint
    vectors = []
    records = [{"data": "hello", "partition_key": "user-1"}, {"data": "ünïcødé €", "partition_id": "1"}]
    for body in ("protobuf", "json"):
        for signer in ("v11", "sdk"):
            before = len(captured)
            make_client(args, body, signer).put_records(args.stream, "", records)
            if len(captured) != before + 1:
                raise Failure(f"{body}/{signer}: {len(captured) - before} requests captured")
            vectors.append({"name": f"put_records, {body} body, {signer} signer",
                            "body_format": body, "signer": signer, **captured[-1]})
    # A query string and a path with '.', '..' and '//' segments: the SDK's put_records sends
    # neither, so this request is built and signed with the SDK's own Signer and sent the way
    # its __sendRequest sends (requests, the query as a dict).
    import requests
    from dis_sdk_python.com.huaweicloud.dis.sdk.python.models import disauth, disrequest

    for signer in ("v11", "sdk"):
        body = json.dumps({"stream_name": args.stream, "records": [{"data": "cXVlcnk="}]})
        uri = f"/v2/{args.project_id}/./x/../records/"
        req = disrequest.disRequest(method="POST", host=endpoint.split("//")[-1], uri=uri,
                                    query={"limit": "10", "name": "a b+c/ü", "empty": ""},
                                    headers={}, body=body)
        s = disauth.Signer(args.ak, args.sk, args.region)
        s.SignWithDerivationKey(req) if signer == "v11" else s.Sign(req)
        req.headers["Content-Type"] = "application/json; charset=UTF-8"
        before = len(captured)
        r = requests.request(method=req.method, url=endpoint + req.uri, params=req.query,
                             data=req.body, headers=req.headers, timeout=30)
        if r.status_code != 200 or len(captured) != before + 1:
            raise Failure(f"query/{signer}: status {r.status_code}")
        vectors.append({"name": f"Signer with a query string (dot segments, removed on the wire), {signer} signer",
                        "body_format": "json", "signer": signer, **captured[-1]})
    server.shutdown()
    version, pb = sdk_version()
    out = {
        "_comment": "Requests signed and sent by Huawei's hand-written Python DIS SDK, as a server on "
                    "127.0.0.1 received them. Generated by scripts/interop/huawei_sdk.py vectors "
                    "(bash scripts/interop-huawei-sdk.sh --vectors); do not edit by hand. The AK/SK are "
                    "test values, not secrets. Host was 127.0.0.1:PORT of the capturing server.",
        "sdk": f"huaweicloud-sdk-python-dis {version}", "protobuf": pb,
        "ak": args.ak, "sk": args.sk, "region": args.region, "project_id": args.project_id,
        "stream": args.stream, "vectors": vectors,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"ok: {len(vectors)} signature vectors from huaweicloud-sdk-python-dis {version} -> {args.out}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(q):
        q.add_argument("--ak", default="INTEROPACCESSKEY")
        q.add_argument("--sk", default="INTEROPSECRETKEY")
        q.add_argument("--project-id", default="interop-project")
        q.add_argument("--region", default="cn-north-4")
        q.add_argument("--stream", default="newstream")

    s = sub.add_parser("send")
    common(s)
    s.add_argument("--endpoint", required=True)
    s.add_argument("--body", choices=["protobuf", "json"], required=True)
    s.add_argument("--signer", choices=["v11", "sdk"], required=True)
    s.add_argument("--records", type=int, default=40)
    s.add_argument("--partitions", type=int, default=3)
    s.add_argument("--tag", required=True, help="prefix of every record's data")
    s.add_argument("--wrong-sk", help="sign with this secret key instead")
    s.add_argument("--expect-refused", metavar="CODE")

    v = sub.add_parser("serve")
    common(v)
    v.add_argument("--token", help="the X-Auth-Token every request must carry")

    c = sub.add_parser("check-served")
    c.add_argument("--url", required=True)
    c.add_argument("--records", type=int, required=True)
    c.add_argument("--size", type=int, required=True)
    c.add_argument("--stream", default="newstream")

    g = sub.add_parser("vectors")
    common(g)
    g.add_argument("--out", required=True)

    args = p.parse_args()
    try:
        {"send": cmd_send, "serve": cmd_serve, "check-served": cmd_check_served,
         "vectors": cmd_vectors}[args.cmd](args)
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
