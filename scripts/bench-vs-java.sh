#!/usr/bin/env bash
# Our producer (the `dis-records send` command) against Huawei's Java DIS SDK producer
# (huaweicloud-sdk-java-dis 1.3.21, DISProducer), same records, same endpoint process.
#
#   bash scripts/bench-vs-java.sh [--records N] [--runs R] [--warmup W]
#
# 1. Resolves the SDK and compiles the Java driver as scripts/interop-huawei-java.sh does (it
#    runs that script's build step: interop/java, Maven repository in the build cache);
#    builds, in release, dis-local and the command with body compression
#    (`cargo build --release -p dis-local --bin dis-local`,
#    `cargo build --release -p dis-records-cli --features lz4`).
# 2. Starts one dis-local process: `--stream newstream:4 --no-retain --ak .. --sk .. --no-token
#    --max-records 1000` (the Java producer's default batch.count is 1,000 records a request;
#    ours sends 500). Both clients sign with AK/SK and send JSON bodies, to that endpoint.
# 3. For each record size (100 B, 1 KiB), each body compression (none, lz4) and R runs (default
#    3), alternately, N records (default 200,000), record i = its 12-digit index then 'x' up to
#    the size, keyed `key-{i % 1000}`:
#    - Java: `interop.DisInterop bench`: the DISProducer at its defaults (linger.ms 50,
#      batch.count 1000, 50 requests in flight), putRecordAsync with a callback per record; W
#      records first (default 200,000) to warm the JVM, flushed; then the clock: records/s and
#      the process's CPU time (OperatingSystemMXBean) over the N timed records only;
#    - ours: `dis-records send --generate N --size S --keys 1000 --json` at its defaults (4
#      requests in flight, 500 records a request, linger 20 ms), the whole process timed from
#      exec to exit (start-up included): records/s = N / wall time, CPU = user + sys.
#    Each run must end with every record acknowledged (the endpoint's counters are checked:
#    exactly the records sent stored, none failed).
# 4. Prints a Markdown table: the median of each, its spread (min-max), and the ratios of the
#    medians: ours/Java records/s, ours/Java CPU per record (target: at least 1, at most 0.2).
#
# Exit status: non-zero on any error. Needs java, javac, mvn, cargo, python3; loopback only (and
# Maven Central on the first run). The machine should be otherwise idle: both clients and the
# endpoint share its cores.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

records=200000
runs=3
warmup=200000
sizes=(100 1024)
codecs=(none lz4)
while [ $# -gt 0 ]; do
  case $1 in
    --records) records=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "error: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $records =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ && $warmup =~ ^[0-9]+$ ]] \
  || { echo "error: --records, --runs and --warmup take positive integers" >&2; exit 2; }

out=$CARGO_TARGET_DIR/bench-vs-java
java_out=$CARGO_TARGET_DIR/interop-huawei-java
mkdir -p "$out"
# Fixed test credentials for the local endpoint, not secrets.
ak=BENCHACCESSKEY
sk=BENCHSECRETKEY
project=bench-project
stream=newstream
keys=1000
run_timeout=600

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAILED: $*" >&2; exit 1; }

# 1. Builds.
bash scripts/interop-huawei-java.sh --build-only >&2
echo "building dis-local and dis-records (release, --features lz4)" >&2
timeout 3600 cargo build --quiet --release -p dis-local --bin dis-local </dev/null
timeout 3600 cargo build --quiet --release -p dis-records-cli --features lz4 </dev/null
dis_local=$CARGO_TARGET_DIR/release/dis-local
ours=$CARGO_TARGET_DIR/release/dis-records
[ -x "$dis_local" ] && [ -x "$ours" ] || fail "release binaries missing"
cp="$java_out/classes:$(cat "$java_out/classpath.txt")"

# 2. The endpoint.
log=$out/dis-local
"$dis_local" --listen 127.0.0.1:0 --stream "$stream:4" --no-retain --ak "$ak" --sk "$sk" --no-token \
  --max-records 1000 >"$log.stdout" 2>"$log.stderr" </dev/null &
pids+=($!)
url=
for _ in $(seq 1 100); do
  url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$log.stdout")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || fail "dis-local did not start"

counters() { # "stored failed"
  python3 -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/local/v1/stats", timeout=10))
print(s["records_stored"], s["records_failed"])' "$url"
}
expect_stored=0

# 3. Runs. Each result line: client size codec records_per_s cpu_us_per_record
results=$out/results.txt
: >"$results"
for size in "${sizes[@]}"; do
  for codec in "${codecs[@]}"; do
    for run in $(seq 1 "$runs"); do
      # Java.
      line=$(cd "$java_out/run" && timeout "$run_timeout" java -cp "$cp" \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=warn interop.DisInterop bench --endpoint "$url" \
        --ak "$ak" --sk "$sk" --project-id "$project" --stream "$stream" --records "$records" \
        --warmup "$warmup" --size "$size" --keys "$keys" --compress "$codec" </dev/null | tail -n 1) \
        || fail "Java producer, $size B, $codec, run $run"
      expect_stored=$((expect_stored + warmup + records))
      python3 -c 'import json, sys; r = json.loads(sys.argv[1])
print("java", sys.argv[2], sys.argv[3], r["records_per_s"], r["cpu_us_per_record"])' "$line" "$size" "$codec" >>"$results"
      # Ours.
      compress=()
      [ "$codec" = none ] || compress=(--compress "$codec")
      TIMEFORMAT='%R %U %S'
      times=$( { time HUAWEICLOUD_SDK_AK=$ak HUAWEICLOUD_SDK_SK=$sk timeout "$run_timeout" "$ours" send \
        --endpoint "$url" --project-id "$project" --stream "$stream" --generate "$records" --size "$size" \
        --keys "$keys" --json "${compress[@]}" </dev/null >"$out/ours.json" 2>"$out/ours.stderr"; } 2>&1 ) \
        || { tail -n 5 "$out/ours.stderr" >&2; fail "our producer, $size B, $codec, run $run"; }
      expect_stored=$((expect_stored + records))
      read -r wall user sys <<<"$times"
      python3 -c 'import sys; n, wall, cpu = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) + float(sys.argv[4])
print("ours", sys.argv[5], sys.argv[6], n / wall, cpu * 1e6 / n)' "$records" "$wall" "$user" "$sys" "$size" "$codec" >>"$results"
      read -r stored failed <<<"$(counters)"
      [ "$stored" = "$expect_stored" ] && [ "$failed" = 0 ] \
        || fail "the endpoint stored $stored records ($failed failed); $expect_stored were sent"
      echo "run $run, $size B, $codec: $(tail -n 2 "$results" | tr '\n' ';')" >&2
    done
  done
done

# 4. The table.
python3 - "$results" "$records" "$runs" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
def pick(client, size, codec, col):
    return [float(r[col]) for r in rows if r[0] == client and r[1] == size and r[2] == codec]
def fmt(vals, digits):
    return f"{statistics.median(vals):,.{digits}f} ({min(vals):,.{digits}f}-{max(vals):,.{digits}f})"
print(f"{sys.argv[2]} records a run, {sys.argv[3]} runs each: median (min-max)\n")
print("| Size | Body compression | Java records/s | ours records/s | ours/Java | Java CPU µs/record | ours CPU µs/record | ours/Java |")
print("|---|---|---|---|---|---|---|---|")
for size in ("100", "1024"):
    for codec in ("none", "lz4"):
        jr, orr = pick("java", size, codec, 3), pick("ours", size, codec, 3)
        jc, oc = pick("java", size, codec, 4), pick("ours", size, codec, 4)
        if not jr:
            continue
        print(f"| {size} B | {codec} | {fmt(jr, 0)} | {fmt(orr, 0)} | {statistics.median(orr) / statistics.median(jr):.2f} "
              f"| {fmt(jc, 2)} | {fmt(oc, 2)} | {statistics.median(oc) / statistics.median(jc):.2f} |")
EOF
echo "bench-vs-java: took $(($(date +%s) - started)) s" >&2
