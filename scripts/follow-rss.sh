#!/usr/bin/env bash
# Memory of `dis-records send --follow` on a 1 GiB file: the RSS of the shipper (with its
# embedded endpoint, which keeps no payloads) sampled every 0.5 s while it ships the file, and
# printed at each tenth of the file, against its RSS after the first tenth (the baseline).
#
#   scripts/follow-rss.sh [SIZE_MIB] [LINE_BYTES] [debug|release]   (default 1024 1000 release)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
line_bytes=${2:-1000}
profile=${3:-release}
flag=; [ "$profile" = release ] && flag=--release
cargo build --quiet $flag -p dis-records-cli
bin=${CARGO_TARGET_DIR:-target}/$profile/dis-records

dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
log=$dir/app.log
python3 - "$log" "$size_mib" "$line_bytes" <<'PY'
import sys
path, mib, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
line = (b"x" * (n - 1)) + b"\n"
chunk = line * max(1, (8 << 20) // n)
total = mib << 20
with open(path, "wb") as f:
    written = 0
    while written < total:
        f.write(chunk)
        written += len(chunk)
PY
bytes=$(stat -c %s "$log")
echo "file: $bytes bytes, lines of $line_bytes bytes; $profile build"
"$bin" send --follow "$log" --checkpoint "$dir/ckpt" --no-progress --json >"$dir/out" 2>"$dir/err" &
pid=$!
base=; next=1; max=0; start=$(date +%s.%N)
while kill -0 "$pid" 2>/dev/null; do
  sleep 0.5
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$max" ] && max=$rss
  off=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["settled"]["offset"])' "$dir/ckpt" 2>/dev/null || echo 0)
  while [ "$next" -le 10 ] && [ "$off" -ge $((bytes * next / 10)) ]; do
    [ -z "$base" ] && base=$rss
    printf '%3d%% shipped: RSS %6d KiB (max so far %6d KiB, %.2fx the RSS at 10%%)\n' \
      $((next * 10)) "$rss" "$max" "$(echo "$max / $base" | bc -l)"
    next=$((next + 1))
  done
  if [ "$off" -ge "$bytes" ]; then
    kill -TERM "$pid"; wait "$pid" || true; pid=
    break
  fi
done
end=$(date +%s.%N)
printf 'shipped %d bytes in %.1f s; %s\n' "$bytes" "$(echo "$end - $start" | bc -l)" "$(tail -n 1 "$dir/err")"
