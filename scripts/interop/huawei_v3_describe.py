#!/usr/bin/env python3
"""Huawei's Python v3 SDK's DescribeStream (`DisClient.show_stream`, "查询通道详情") against
dis-local, run by scripts/interop-huawei-v3-credentials.sh.

The SDK signs with static AK/SK (BasicCredentials). It pages through the stream's partitions
(`limit_partitions` PAGE, `start_partition_id` the last one listed, until `has_more_partitions`
is false) and checks the answer: the stream's name and kind, PARTITIONS partitions named
shardId-0000000000.., each ACTIVE, their hash ranges covering 0..=2^63-1 without gap or overlap,
and `writable_partition_count`. With --grown N it then waits for dis-local's
`--grow-partitions` to act and checks that the stream has N partitions.
Prints one line per check; exits non-zero on any failure.
"""

import argparse
import sys
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkdis.v2 import DisClient, ShowStreamRequest

MAX_HASH = 2**63 - 1


def describe(client, stream, page):
    """Every partition of `stream`, a page at a time; the last answer."""
    partitions, after, answers = [], None, 0
    while True:
        req = ShowStreamRequest(stream_name=stream, limit_partitions=page)
        if after is not None:
            req.start_partition_id = after
        resp = client.show_stream(req)
        answers += 1
        if len(resp.partitions) > page:
            sys.exit(f"a page of {page} listed {len(resp.partitions)} partitions")
        partitions += resp.partitions
        if not resp.has_more_partitions:
            return resp, partitions, answers
        after = resp.partitions[-1].partition_id


def check(resp, partitions, stream, kind, count):
    if resp.stream_name != stream or resp.stream_type != kind or resp.status != "RUNNING":
        sys.exit(f"stream {resp.stream_name} {resp.stream_type} {resp.status}: expected {stream} {kind} RUNNING")
    ids = [p.partition_id for p in partitions]
    want = [f"shardId-{i:010d}" for i in range(count)]
    if ids != want:
        sys.exit(f"partitions {ids}, expected {want}")
    if any(p.status != "ACTIVE" for p in partitions):
        sys.exit(f"not every partition is ACTIVE: {[p.status for p in partitions]}")
    if resp.writable_partition_count != count:
        sys.exit(f"writable_partition_count {resp.writable_partition_count}, expected {count}")
    nxt = 0
    for p in partitions:
        lo, hi = (int(x) for x in p.hash_range.strip("[]").split(":"))
        if lo != nxt or hi < lo:
            sys.exit(f"{p.partition_id}: hash range {p.hash_range} does not start at {nxt}")
        nxt = hi + 1
    if nxt != MAX_HASH + 1:
        sys.exit(f"the hash ranges end at {nxt - 1}, not {MAX_HASH}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--project-id", required=True)
    p.add_argument("--ak", required=True)
    p.add_argument("--sk", required=True)
    p.add_argument("--stream", required=True)
    p.add_argument("--kind", required=True)
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--page", type=int, default=2)
    p.add_argument("--grown", type=int)
    a = p.parse_args()

    credentials = BasicCredentials(a.ak, a.sk, a.project_id)
    client = DisClient.new_builder().with_credentials(credentials).with_endpoint(a.url).build()
    resp, partitions, answers = describe(client, a.stream, a.page)
    check(resp, partitions, a.stream, a.kind, a.partitions)
    print(f"ok: show_stream: {a.stream} {a.kind}, {a.partitions} ACTIVE partitions in {answers} pages "
          f"of {a.page}, hash ranges cover 0..=2^63-1")
    if a.grown:
        for _ in range(150):
            resp, partitions, answers = describe(client, a.stream, a.page)
            if len(partitions) >= a.grown:
                break
            time.sleep(0.1)
        check(resp, partitions, a.stream, a.kind, a.grown)
        print(f"ok: show_stream after the stream grew: {a.grown} ACTIVE partitions in {answers} pages")


if __name__ == "__main__":
    main()
