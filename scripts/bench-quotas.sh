#!/usr/bin/env bash
# The producer against DIS's quotas, every row from the same script run,
# each run against a fresh dis-local (full buckets), RUNS runs per row (median, min-max):
#
#   matrix  dis-local --quotas; 2 and 16 partitions, common and advanced, keyed (100,000 keys)
#           and unkeyed records, 100 B and 1 KiB; about 4 s of the quota per run. Each setting
#           twice: "before" (--partitions: the producer told nothing, its rate adapted from
#           DIS.4303 alone) and "after" (--partitions --stream-kind: a token bucket at the quota).
#           Targets (after): >= 95% of the quota, <= 3% of answers DIS.4303 (of records sent),
#           0 failed.
#   shared  four processes of the main job at once against one 2-partition common stream,
#           5,000 x 1 KiB each, 100 keys. Targets (after): together >= 90% of the quota,
#           <= 5% refused (DIS.4303 answers of records sent, an upper bound of the records
#           refused at least once), 0 failed.
#   faults  dis-local --stream newstream:4 --fail-records 0.3 --fail-requests 0.05
#           --drop-before 0.02 --seed 7 (no quotas: the injected DIS.4303 are random), 5,000
#           records of 100 B, 10 keys: unpaced, paced, ordered, ordered and paced (paced both
#           ways: --partitions 4, and --partitions 4 --stream-kind common). Targets: paced
#           >= 0.8x unpaced; ordered and paced 0 expired within the default deadline and
#           >= 500 records/s.
#
#   bash scripts/bench-quotas.sh [matrix|shared|faults|all] [RUNS]     default: all 3
#   PARTITIONS=16 bash scripts/bench-quotas.sh matrix                  the matrix for 16 only
#   ROWS="unpaced" bash scripts/bench-quotas.sh faults                  one fault row, by its label
#   MODES=after bash scripts/bench-quotas.sh shared                     only "after" (matrix, shared)
set -euo pipefail
cd "$(dirname "$0")/.."
exec </dev/null

what=${1:-all}
runs=${2:-3}
out=target/bench-quotas
mkdir -p "$out"

cargo build --quiet --release -p dis-local --bin dis-local
cargo build --quiet --release -p dis-records-cli
dis_local=target/release/dis-local
send=target/release/dis-records

server=
stop() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; server=; }
trap stop EXIT

# Starts a fresh endpoint with the given flags; sets $url.
start() {
  : >"$out/dis-local.stdout"
  "$dis_local" --listen 127.0.0.1:0 --no-retain "$@" >"$out/dis-local.stdout" 2>"$out/dis-local.log" &
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

# One process of the main job against $url: its JSON line of totals.
job() {
  # The exit status says whether a record failed: the totals say it too.
  { "$send" send --no-progress --endpoint "$url" --project-id bench --token bench --json "$@" 2>>"$out/send.log" || true; } | tail -1
}

# Prints a table row from JSON lines (one per run, each a list of processes' totals).
# $1 label, $2 quota (records/s; 0: none), then the runs' JSON.
summarize() {
  python3 - "$@" <<'PY'
import json, sys, statistics
label, quota, runs = sys.argv[1], float(sys.argv[2]), [json.loads(r) for r in sys.argv[3:]]
def stat(values, fmt):
    values = sorted(values)
    return f"{fmt(statistics.median(values))} ({fmt(values[0])}-{fmt(values[-1])})"
rates, shares, throttled, failed, expired = [], [], [], [], []
for procs in runs:
    acked = sum(p["acknowledged"] for p in procs)
    secs = max(p["seconds"] for p in procs)
    sent = sum(p["sent"] for p in procs)
    rates.append(acked / secs)
    if quota:
        shares.append(acked / secs / quota)
    throttled.append(sum(p["throttled"] for p in procs) / max(sent, 1))
    failed.append(sum(p["failed"] for p in procs))
cells = [label, stat(rates, lambda v: f"{v:,.0f}")]
if quota:
    cells.append(stat(shares, lambda v: f"{v:.1%}"))
cells += [stat(throttled, lambda v: f"{v:.2%}"), stat(failed, lambda v: f"{v:.0f}")]
print("| " + " | ".join(cells) + " |")
PY
}

matrix() {
  echo "### Against dis-local --quotas: $runs runs per row, median (min-max)"
  echo
  echo "| stream | records | producer | acknowledged/s | of the quota | DIS.4303 answers (of records sent) | failed |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  for partitions in ${PARTITIONS:-2 16}; do
    for kind in common advanced; do
      for size in 100 1024; do
        for keyed in keyed unkeyed; do
          if [ "$kind" = common ]; then rate=1000; bytes=1048576; else rate=2000; bytes=5242880; fi
          quota=$(python3 -c "print($partitions * min($rate, $bytes / $size))")
          records=$(python3 -c "print(int($quota * 4))")
          keys=()
          [ "$keyed" = keyed ] && keys=(--keys 100000)
          for mode in ${MODES:-before after}; do
            flags=(--generate "$records" --size "$size" --partitions "$partitions" "${keys[@]}")
            [ "$kind" = advanced ] && flags+=(--advanced)
            [ "$mode" = after ] && flags+=(--stream-kind "$kind")
            results=()
            for _ in $(seq 1 "$runs"); do
              start --stream "newstream:$partitions:$kind" --quotas
              results+=("[$(job "${flags[@]}")]")
              stop
            done
            summarize "$kind:$partitions | $records x $size B, $keyed | $mode" "$quota" "${results[@]}"
          done
        done
      done
    done
  done
  echo
}

shared() {
  echo "### Four processes of the main job, one 2-partition common stream (quota 2,000 records/s), 5,000 x 1 KiB each, 100 keys: $runs runs per row"
  echo
  echo "| producers | acknowledged/s together | of the quota | DIS.4303 answers (of records sent) | failed |"
  echo "| --- | --- | --- | --- | --- |"
  for mode in ${MODES:-before after}; do
    results=()
    for _ in $(seq 1 "$runs"); do
      start --stream newstream:2 --quotas
      flags=(--generate 5000 --size 1024 --partitions 2 --keys 100)
      [ "$mode" = after ] && flags+=(--stream-kind common)
      pids=()
      for p in 1 2 3 4; do
        job "${flags[@]}" >"$out/shared.$p" &
        pids+=($!)
      done
      wait "${pids[@]}" || true
      stop
      results+=("[$(cat "$out"/shared.{1,2,3,4} | paste -sd,)]")
    done
    summarize "4 x main job, $mode" 2000 "${results[@]}"
  done
  echo
}

faults() {
  echo "### Under dis-local --stream newstream:4 --fail-records 0.3 --fail-requests 0.05 --drop-before 0.02 --seed 7 (no quotas), 5,000 x 100 B, 10 keys: $runs runs per row"
  echo
  echo "| producer | records/s | DIS.4303 answers (of records sent) | failed (expired included) |"
  echo "| --- | --- | --- | --- |"
  for row in "unpaced|" "paced (--partitions 4)|--partitions 4" \
    "paced (--partitions 4 --stream-kind common)|--partitions 4 --stream-kind common" \
    "ordered|--ordered" "ordered and paced (--partitions 4)|--ordered --partitions 4" \
    "ordered and paced (--partitions 4 --stream-kind common)|--ordered --partitions 4 --stream-kind common"; do
    label=${row%%|*}
    [ -n "${ROWS:-}" ] && [ "$ROWS" != "$label" ] && continue
    read -r -a flags <<<"${row#*|}"
    results=()
    for _ in $(seq 1 "$runs"); do
      start --stream newstream:4 --fail-records 0.3 --fail-requests 0.05 --drop-before 0.02 --seed 7
      results+=("[$(job --generate 5000 --size 100 --keys 10 "${flags[@]}")]")
      stop
    done
    summarize "$label" 0 "${results[@]}"
  done
  echo
}

echo "bench-quotas: $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
case $what in
  matrix) matrix ;;
  shared) shared ;;
  faults) faults ;;
  all) matrix; shared; faults ;;
  *) echo "usage: $0 [matrix|shared|faults|all] [RUNS]" >&2; exit 2 ;;
esac
