#!/usr/bin/env python3
"""Huawei's Python v3 SDK (huaweicloudsdkcore + huaweicloudsdkdis) against dis-local's metadata
service and SendRecords, run by scripts/interop-huawei-v3-credentials.sh.

The SDK's own MetadataCredentialProvider, with MetadataAccessor._METADATA_ENDPOINT (a class
attribute) pointed at dis-local, obtains temporary AK/SK (PUT /meta-data/latest/api/token, then
GET /openstack/latest/securitykey); the SDK's DisClient then signs SendRecords with them
(SDK-HMAC-SHA256 and X-Security-Token) in ROUNDS requests, sleeping SLEEP seconds between them
(past the credentials' lifetime, so the SDK must refresh them from the metadata service). Every
answer must have failed_record_count 0, and dis-local's read-back must hold every record sent.
Prints one summary line; exits non-zero on any failure.
"""

import argparse
import base64
import json
import sys
import time
import urllib.request

from huaweicloudsdkcore.auth.internal import MetadataAccessor
from huaweicloudsdkcore.auth.provider import MetadataCredentialProvider
from huaweicloudsdkdis.v2 import DisClient, PutRecordsRequest, PutRecordsRequestEntry, SendRecordsRequest


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--project-id", required=True)
    p.add_argument("--stream", default="newstream")
    p.add_argument("--records", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sleep", type=float, default=0.0)
    a = p.parse_args()

    MetadataAccessor._METADATA_ENDPOINT = a.url
    credentials = MetadataCredentialProvider.get_basic_credential_metadata_provider().get_credentials()
    credentials.project_id = a.project_id
    client = DisClient.new_builder().with_credentials(credentials).with_endpoint(a.url).build()
    sent = []
    access_keys = set()
    for r in range(a.rounds):
        if r and a.sleep:
            time.sleep(a.sleep)
        payloads = [f"v3-sdk round {r} record {i}".encode() for i in range(a.records)]
        body = PutRecordsRequest(
            stream_name=a.stream,
            records=[PutRecordsRequestEntry(data=base64.b64encode(d).decode(), partition_key=f"k{i}")
                     for i, d in enumerate(payloads)],
        )
        resp = client.send_records(SendRecordsRequest(body=body))
        if resp.failed_record_count != 0:
            sys.exit(f"round {r}: failed_record_count {resp.failed_record_count}")
        if len(resp.records) != a.records or any(not e.sequence_number for e in resp.records):
            sys.exit(f"round {r}: answer does not acknowledge every record: {resp}")
        access_keys.add(credentials.ak)
        sent += payloads

    stored, start = [], 0
    while True:
        with urllib.request.urlopen(f"{a.url}/local/v1/streams/{a.stream}/records?from={start}", timeout=10) as r:
            page = json.load(r)
            nxt = r.headers.get("X-Next-From")
        stored += [base64.b64decode(x["data"]) for x in page]
        if not nxt:
            break
        start = int(nxt)
    missing = [d for d in sent if d not in stored]
    if missing or len(stored) != len(sent):
        sys.exit(f"dis-local stored {len(stored)} records, {len(missing)} of the {len(sent)} sent missing")
    print(f"v3 SDK: {a.rounds} SendRecords of {a.records} records signed with metadata credentials "
          f"({len(access_keys)} distinct access keys), all {len(sent)} stored")


if __name__ == "__main__":
    main()
