#!/usr/bin/env bash
# Memory and CPU of `dis-records send --follow` (with its embedded endpoint, which keeps no
# payloads): first one file of FILES x MIB_PER_FILE / 10 MiB, the baseline, then FILES files
# that grow to MIB_PER_FILE each while the shipper follows them with one glob. For each run:
# the most RSS (sampled every 0.5 s), the shipper's CPU time (user + system) per line, and the
# ratios of the second run to the first.
#
#   scripts/follow-rss.sh [FILES] [MIB_PER_FILE] [LINE_BYTES] [debug|release]
#                                               (default 100 100 1000 release)
#
# BIN=path runs another build of the command instead of building this one; with
# LOCAL_FLAG= (empty) and ONLY_BASELINE=1, a build whose embedded endpoint needs no --local and
# that follows one file only.
set -euo pipefail
cd "$(dirname "$0")/.."
files=${1:-100}
mib=${2:-100}
line_bytes=${3:-1000}
profile=${4:-release}
if [ -z "${BIN:-}" ]; then
  flag=; [ "$profile" = release ] && flag=--release
  cargo build --quiet $flag -p dis-records-cli
  BIN=${CARGO_TARGET_DIR:-target}/$profile/dis-records
fi
tick=$(getconf CLK_TCK)

dir=$(mktemp -d)
pid=
writer=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  [ -n "$writer" ] && kill "$writer" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# grow DIR N MIB: appends lines of LINE_BYTES to N files round-robin, 1 MiB at a time, until
# each holds MIB MiB.
grow() {
  python3 - "$1" "$2" "$3" "$line_bytes" <<'PY'
import os, sys
folder, n, mib, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
line = b"x" * (size - 1) + b"\n"
chunk = line * max(1, (1 << 20) // size)
files = [open(os.path.join(folder, f"app-{i:03}.log"), "ab") for i in range(n)]
for _ in range(max(1, (mib << 20) // len(chunk))):
    for f in files:
        f.write(chunk)
        f.flush()
PY
}

# ship NAME N MIB: follows N files growing to MIB MiB each; prints its line and sets $result.
ship() {
  local name=$1 n=$2 size=$3
  local folder=$dir/$name
  mkdir -p "$folder"
  for i in $(seq 0 $((n - 1))); do : >"$folder/$(printf 'app-%03d.log' "$i")"; done
  local chunk_bytes=$(( ((1 << 20) / line_bytes) * line_bytes ))
  local total=$(( n * chunk_bytes * ((size << 20) / chunk_bytes) ))
  local follow="$folder/*.log"
  [ "$n" = 1 ] && follow="$folder/app-000.log"
  # shellcheck disable=SC2086
  "$BIN" send ${LOCAL_FLAG---local} --follow "$follow" --checkpoint "$dir/$name.ckpt" \
    --no-progress --json >"$dir/$name.out" 2>"$dir/$name.err" &
  pid=$!
  grow "$folder" "$n" "$size" &
  writer=$!
  local max=0 start
  start=$(date +%s.%N)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 0.5
    local rss
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$max" ] && max=$rss
    local off
    off=$(python3 -c 'import json,sys
c = json.load(open(sys.argv[1]))
print(sum(s["settled"]["offset"] for s in c["sources"]) if "sources" in c else c["settled"]["offset"])' "$dir/$name.ckpt" 2>/dev/null || echo 0)
    if [ "$off" -ge "$total" ]; then
      break
    fi
  done
  local ticks
  ticks=$(awk '{print $14 + $15}' /proc/$pid/stat)
  local took
  took=$(echo "$(date +%s.%N) - $start" | bc -l)
  kill -TERM "$pid"; wait "$pid" || true; pid=
  wait "$writer" || true; writer=
  local lines=$(( total / line_bytes ))
  local us_per_line
  us_per_line=$(echo "$ticks / $tick * 1000000 / $lines" | bc -l)
  printf '%-9s %3d file(s) of %5d MiB: %9d lines in %6.1f s; CPU %6.2f s, %.3f us per line; most RSS %6d KiB\n' \
    "$name" "$n" "$size" "$lines" "$took" "$(echo "$ticks / $tick" | bc -l)" "$us_per_line" "$max"
  result="$us_per_line $max"
}

echo "$BIN; lines of $line_bytes bytes"
ship baseline 1 $(( files * mib / 10 ))
read -r base_cpu base_rss <<<"$result"
[ -n "${ONLY_BASELINE:-}" ] && exit 0
ship files "$files" "$mib"
read -r cpu rss <<<"$result"
printf 'ratios, %d files to one: CPU per line %.2fx, most RSS %.2fx (%d KiB, %.1f MiB)\n' \
  "$files" "$(echo "$cpu / $base_cpu" | bc -l)" "$(echo "$rss / $base_rss" | bc -l)" "$rss" \
  "$(echo "$rss / 1024" | bc -l)"
