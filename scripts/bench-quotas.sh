#!/usr/bin/env bash
# The producer against DIS's quotas: dis-local enforces them (`--quotas`, a common stream of 2
# partitions: 1,000 records/s or 1 MiB/s per partition, a burst of one second), and the main
# job sends 20,000 records of 1 KiB as fast as the producer takes them. Three rows from the same
# script run, each against a fresh endpoint (full buckets):
#   adaptive        the producer routes records to partitions and paces each from DIS.4303;
#   not adaptive    today's behaviour: throttled records back off and are sent again;
#   adaptive, ordered, 10 keys   ordered mode (the guarantee's cost under quotas).
# Targets (adaptive): acknowledged throughput >= 90% of the quota, DIS.4303 answers <= 10% of
# records sent, no record fails. Prints one table; exits non-zero when a run fails to run.
#
#   bash scripts/bench-quotas.sh [RECORDS]      default 20000
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

records=${1:-20000}
size=1024
partitions=2
out=target/bench-quotas
mkdir -p "$out"

cargo build --quiet --release -p dis-local --bin dis-local
cargo build --quiet --release -p dis-records-cli
dis_local=target/release/dis-local
send=target/release/dis-records

server=
stop() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=; }
trap stop EXIT

# Starts a fresh endpoint with quotas; sets $url.
start() {
  : >"$out/dis-local.stdout"
  "$dis_local" --listen 127.0.0.1:0 --stream "newstream:$partitions" --quotas --no-retain \
    >"$out/dis-local.stdout" 2>"$out/dis-local.log" &
  server=$!
  url=
  for _ in $(seq 1 100); do
    url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$out/dis-local.stdout")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "error: dis-local did not start" >&2
  cat "$out/dis-local.log" >&2
  exit 1
}

# One run: prints a table row. $1 = label, the rest = extra flags for the main job.
row() {
  local label=$1
  shift
  start
  local json
  json=$("$send" send --no-progress --endpoint "$url" --project-id bench --token bench --generate "$records" \
    --size "$size" --partitions "$partitions" --json "$@" 2>"$out/send.log" | tail -1) || true
  local stats
  stats=$(curl -s "$url/local/v1/stats")
  stop
  python3 - "$label" "$json" "$stats" "$partitions" "$size" <<'PY'
import json, sys
label, run, stats, partitions, size = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
# A common partition: 1,000 records/s or 1 MiB/s, whichever binds first.
quota = partitions * min(1000.0, 1024 * 1024 / size)
secs = run["seconds"]
acked = run["acknowledged"] / secs
throttled_share = run["throttled"] / run["sent"]
print(f"| {label} | {run['sent']} | {secs:.2f} | {acked:,.0f} | {acked / quota:.0%} | {run['throttled']:,} ({throttled_share:.1%}) | {run['failed']} | {run['requests']:,} | {stats['records_throttled']:,} |")
PY
}

echo "dis-local --quotas --stream newstream:$partitions (common: $partitions x 1,000 records/s or 1 MiB/s, 1 s burst); $records records of $size B; $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| producer | records | seconds | acknowledged/s | of the quota | DIS.4303 answers (of records sent) | failed | requests | endpoint's throttled count |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
row "adaptive"
row "not adaptive" --no-adapt
row "adaptive, ordered, 10 keys" --ordered --keys 10
