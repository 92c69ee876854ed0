"""Huawei's Python DIS SDKs sending records to a DIS endpoint, single-threaded, in their best case:
every payload (and for the v3 SDK every request object, Base64 included) is built before the
clock starts. Run by scripts/bench-vs-huawei.sh against the local endpoint (dis-local); usable on
its own:

    python scripts/bench_huawei_sdk.py --endpoint http://127.0.0.1:PORT --records 200000 --size 100

Two SDKs (versions pinned in scripts/bench-requirements.txt):
  --sdk v3           huaweicloudsdkdis (the generated v3 SDK): DisClient.send_records with
                     SendRecordsRequest(PutRecordsRequest(records=[PutRecordsRequestEntry...])),
                     AK/SK signed (SDK-HMAC-SHA256), JSON bodies only.
  --sdk handwritten  huaweicloud-sdk-python-dis (dis_sdk_python, the hand-written SDK):
                     disclient.put_records(stream_name, stream_id, records), with
                     bodySerializeType='protobuf' for --body protobuf (its only protobuf path) or ''
                     for JSON. It takes each record's `data` as text and encodes it itself inside
                     the call (str(data) -> UTF-8 -> Base64 for JSON, raw bytes for protobuf), so
                     its payloads are pre-generated as str and its encoding is inside the clock.
                     Its generated record_pb2.py needs PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
                     with current protobuf releases (set here before it is imported).

Records go in requests of --batch records (500, the DIS maximum). Before the clock: one warm-up
request of --batch extra records (it opens the connection); it is not counted in `records` but is
reported as `warmup_records`, so that the caller can check the endpoint's counters exactly.
Every answer is checked: HTTP 200, failed_record_count 0, one result per record, each with a
partition and a sequence number.

Output: one JSON line on stdout,
  {"sdk","body","records","size","warmup_records","seconds","records_per_s","cpu_us_per_record"}
where cpu_us_per_record is the time.process_time() delta over the timed loop (user + system CPU
of this whole process, all threads) divided by `records`.

Exit status: 0 measured; 3 the endpoint refused the warm-up request with an error answer (the
endpoint does not support this SDK's request as sent, e.g. its path, signature or body format:
reported on stderr as `unsupported: ...`, nothing measured); 1 anything else, including any
failed record.
"""

import argparse
import base64
import json
import os
import sys
import time

UNSUPPORTED = 3


class Refused(Exception):
    """The endpoint answered the request with an error (an HTTP answer, not a transport failure)."""


def payload(i: int, size: int) -> bytes:
    """Unique and containing its index, like benches/vs_huawei.rs: 12 digits, then 'x' up to size."""
    d = b"%012d" % i
    return d + b"x" * (size - len(d)) if size > len(d) else d


def check_results(results, expected: int, failed_record_count) -> None:
    """One result per record, none failed. `results` are dicts or SDK model objects."""
    if failed_record_count != 0:
        raise RuntimeError(f"failed_record_count {failed_record_count} (expected 0)")
    if results is None or len(results) != expected:
        n = None if results is None else len(results)
        raise RuntimeError(f"{n} results for {expected} records")
    for r in results:
        get = r.get if isinstance(r, dict) else (lambda k, r=r: getattr(r, k, None))
        if get("error_code") or not get("sequence_number") or not get("partition_id"):
            raise RuntimeError(f"record not stored: {r}")


def v3_sender(args):
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.exceptions import exceptions
    from huaweicloudsdkcore.http.http_config import HttpConfig
    from huaweicloudsdkdis.v2 import (
        DisClient,
        PutRecordsRequest,
        PutRecordsRequestEntry,
        SendRecordsRequest,
    )

    if args.body != "json":
        raise SystemExit("the v3 SDK (huaweicloudsdkdis) sends JSON bodies only: use --sdk handwritten")
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True  # plain http on loopback: no TLS at all
    config.retry_times = 0  # the default: every request is sent once
    client = (
        DisClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials(args.ak, args.sk, args.project_id))
        .with_endpoints([args.endpoint])
        .build()
    )

    def prepare(ids):
        entries = [
            PutRecordsRequestEntry(data=base64.b64encode(payload(i, args.size)).decode("ascii"))
            for i in ids
        ]
        return SendRecordsRequest(body=PutRecordsRequest(stream_name=args.stream, records=entries))

    def send(request):
        n = len(request.body.records)
        try:
            response = client.send_records(request)
        except exceptions.ClientRequestException as e:  # an error answer (4xx, 5xx)
            raise Refused(f"HTTP {e.status_code} {e.error_code}: {e.error_msg}") from e
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}")
        check_results(response.records, n, response.failed_record_count)

    return prepare, send


def handwritten_sender(args):
    # record_pb2.py (protobuf mode) was generated by an old protoc: the C++/upb implementation of
    # current protobuf refuses it ("Descriptors cannot be created directly").
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    from dis_sdk_python import disclient
    from dis_sdk_python.com.huaweicloud.dis.sdk.python.models.disexception import DisException

    client = disclient(
        endpoint=args.endpoint,
        ak=args.ak,
        sk=args.sk,
        projectid=args.project_id,
        region=args.region,
        bodySerializeType="protobuf" if args.body == "protobuf" else "",
    )

    def prepare(ids):
        return [{"data": payload(i, args.size).decode("ascii")} for i in ids]

    def send(records):
        try:
            r = client.put_records(args.stream, "", records)
        except DisException as e:
            # It re-raises error answers without their status (respStatus 0), the DIS body as text.
            text = e.errorMessage
            if "errorCode" in text or "error_code" in text:
                raise Refused(text) from e
            raise
        if r.statusCode != 200:
            raise RuntimeError(f"HTTP {r.statusCode}")
        check_results(r.recordResult, len(records), int(r.failedRecordCount))

    return prepare, send


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="http://127.0.0.1:PORT")
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--size", type=int, default=100, help="bytes per record")
    p.add_argument("--batch", type=int, default=500, help="records per request")
    p.add_argument("--sdk", choices=["v3", "handwritten"], default="v3")
    p.add_argument("--body", choices=["json", "protobuf"], default="json")
    p.add_argument("--stream", default="newstream")
    p.add_argument("--project-id", default="bench-project")
    p.add_argument("--ak", default="BENCHACCESSKEY")
    p.add_argument("--sk", default="BENCHSECRETKEY")
    p.add_argument("--region", default="local", help="hand-written SDK: region in its signature scope")
    args = p.parse_args()
    if args.records < 1 or not 1 <= args.batch <= 500 or args.size < 1:
        p.error("--records >= 1, --batch 1..500, --size >= 1")

    prepare, send = (v3_sender if args.sdk == "v3" else handwritten_sender)(args)

    # Before the clock: every request's records (ids args.records.. are the warm-up's).
    batches = [
        prepare(range(start, min(start + args.batch, args.records)))
        for start in range(0, args.records, args.batch)
    ]
    warmup = prepare(range(args.records, args.records + args.batch))
    try:
        send(warmup)
    except Refused as e:
        print(f"unsupported: the endpoint refused the first request: {e}", file=sys.stderr)
        return UNSUPPORTED

    cpu0, t0 = time.process_time(), time.perf_counter()
    for batch in batches:
        send(batch)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0

    print(
        json.dumps(
            {
                "sdk": args.sdk,
                "body": args.body,
                "records": args.records,
                "size": args.size,
                "warmup_records": args.batch,
                "seconds": round(seconds, 6),
                "records_per_s": round(args.records / seconds, 1),
                "cpu_us_per_record": round(cpu * 1e6 / args.records, 3),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
