#!/usr/bin/env bash
# aws-sdk-kinesis (PutRecords: JSON with Base64 data, SigV4 hashing the body) against our
# producer (DIS PutRecords: JSON with Base64 data; with a token, and with AK/SK, which hashes the
# body like SigV4), client CPU per record and records/s, in one table.
#
#   bash scripts/bench-vs-kinesis.sh [--rounds R] [--records N]
#
# 1. builds bench-vs-kinesis/ (its own workspace and build cache, target/bench-vs-kinesis, so
#    the AWS SDK never enters the crate's build graph; the first build takes minutes);
# 2. starts its sink (a minimal hyper server on loopback that counts each body's records and
#    answers them all as stored, in the API's own answer shape) in its own process, stopped on
#    exit;
# 3. R rounds (default 9); in each, for 100 B and 1 KiB records, one run of each client in turn
#    (dis-token, dis-aksk, kinesis), each in a fresh process: N records (default 100,000) built
#    before the clock, 500 a request, 4 requests in flight, every answer checked;
# 4. prints the median and the spread (min-max) of each, and the ratios of the medians: ours /
#    the AWS SDK's CPU per record (goal <= 0.6), like for like (AK/SK against SigV4) and with a
#    token.
# Loopback only; crates.io on the first build.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=9
records=100000
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --records) records=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/bench-vs-kinesis"
(cd bench-vs-kinesis && cargo build --release --quiet)
bin="$CARGO_TARGET_DIR/release"

out=$(mktemp -d)
"$bin/sink" >"$out/sink.addr" &
sink=$!
trap 'kill $sink 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 50); do [ -s "$out/sink.addr" ] && break; sleep 0.1; done
endpoint=$(head -n1 "$out/sink.addr")
echo "sink at $endpoint; $rounds rounds of $records records per client and size"

for round in $(seq "$rounds"); do
  for size in 100 1024; do
    for client in dis-token dis-aksk kinesis; do
      "$bin/client" "$client" "$endpoint" "$size" "$records" >>"$out/runs.jsonl"
    done
  done
  echo "round $round done"
done

python3 - "$out/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def pick(client, size, field):
    return [r[field] for r in runs if r["client"] == client and r["size"] == size]
print()
print("| record | client | CPU us/record median (min-max) | records/s median (min-max) |")
print("| --- | --- | --- | --- |")
med = {}
for size in (100, 1024):
    for client in ("dis-token", "dis-aksk", "kinesis"):
        cpu, rps = pick(client, size, "cpu_us_per_record"), pick(client, size, "records_per_s")
        med[client, size] = statistics.median(cpu)
        print(f"| {size} B | {client} | {statistics.median(cpu):.3f} ({min(cpu):.3f}-{max(cpu):.3f}) "
              f"| {statistics.median(rps):,.0f} ({min(rps):,.0f}-{max(rps):,.0f}) |")
print()
print("| record | ours with AK/SK / AWS SDK (CPU) | ours with a token / AWS SDK (CPU) | goal |")
print("| --- | --- | --- | --- |")
for size in (100, 1024):
    k = med["kinesis", size]
    print(f"| {size} B | {med['dis-aksk', size] / k:.2f}x | {med['dis-token', size] / k:.2f}x | <= 0.6x |")
PY
