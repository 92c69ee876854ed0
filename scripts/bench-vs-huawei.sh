#!/usr/bin/env bash
# Huawei's Python DIS SDK against our producer (dis-records), on the same records, to the same
# local endpoint, in one table.
#
#   bash scripts/bench-vs-huawei.sh [--body json|protobuf|all] [--records N] [--runs R]
#
# 1. installs Huawei's Python SDKs, pinned (scripts/bench-requirements.txt), into
#    target/bench-vs-huawei/venv (reused while the pins and the Python version are unchanged);
# 2. builds the local endpoint (`cargo build --release -p dis-local --bin dis-local`) and our side
#    (`cargo bench --bench vs_huawei --no-run`: benches/vs_huawei.rs), then starts
#    `dis-local --listen 127.0.0.1:0 --stream newstream:4 --no-retain --ak .. --sk ..`
#    in its own process (both sides sign with AK/SK, ours also sends JSON with a token; payloads are counted, not kept), stopped on
#    exit;
# 3. for each body format and record size (100 B, 1 KiB), R times (default 3), alternately:
#    - theirs: scripts/bench_huawei_sdk.py, single-threaded, requests of 500 records built before
#      the clock. JSON: the v3 SDK huaweicloudsdkdis (send_records). Protobuf: the hand-written SDK
#      huaweicloud-sdk-python-dis (put_records, bodySerializeType='protobuf'); the v3 SDK has no
#      protobuf;
#    - ours: benches/vs_huawei.rs, the producer with 4 requests in flight, payloads made before
#      the clock; for JSON also with an IAM token instead of AK/SK (a table of its own: Huawei's
#      Python SDKs have no token mode, so theirs stays AK/SK);
#    both send the same N records (default 200,000) of the same bytes, and every answer is
#    checked; after each run the endpoint's counters must show exactly the records sent as
#    stored (warm-up included) and none failed;
# 4. prints one table: the median of the R runs of each, with their spread (min-max), and the
#    ratios of the medians within this run: ours/theirs throughput, theirs/ours CPU.
#
# --body: json (default), protobuf, or all (both). A side whose requests the endpoint refuses with
# an error answer (it does not support them yet: a body format, a path, a signature scheme) is
# `n/a` in the table, with the endpoint's answer below it; that is allowed for protobuf only.
# Exit status: non-zero on any error (a failed record, a wrong count, a JSON side n/a, a build).
# Needs: python3 (3.11) with venv, cargo; loopback only (and PyPI on the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

body=json
records=200000
runs=3
concurrency=4
sizes=(100 1024)
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --body) body=${2:?--body needs a value}; shift 2 ;;
    --body=*) body=${1#*=}; shift ;;
    --records) records=${2:?--records needs a value}; shift 2 ;;
    --records=*) records=${1#*=}; shift ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --runs=*) runs=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $body in
  json) bodies=(json) ;;
  protobuf) bodies=(protobuf) ;;
  all) bodies=(json protobuf) ;;
  *) echo "error: --body json|protobuf|all, not '$body'" >&2; exit 2 ;;
esac
[[ $records =~ ^[1-9][0-9]*$ ]] || { echo "error: --records must be a positive integer" >&2; exit 2; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "error: --runs must be a positive integer" >&2; exit 2; }

out=target/bench-vs-huawei
venv=$out/venv
mkdir -p "$out"
# Fixed test credentials for the local endpoint, not secrets.
ak=BENCHACCESSKEY
sk=BENCHSECRETKEY
project=bench-project
stream=newstream
# Bounds: no single run may take longer than this (a hung endpoint or SDK fails the script).
run_timeout=300

# 1. Huawei's SDKs.
req=scripts/bench-requirements.txt
want="$(python3 --version 2>&1) $(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/python" ]; then
  echo "installing Huawei's Python SDKs into $venv ($req)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps -r "$req"
  "$venv/bin/pip" check --disable-pip-version-check >&2
  echo "$want" >"$venv/.installed"
fi
py=$venv/bin/python
# The hand-written SDK's record_pb2.py predates protoc 3.19: current protobuf only loads it with
# its pure-Python implementation.
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
sdk_version() { "$py" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1"; }
v3_version=$(sdk_version huaweicloudsdkdis)
core_version=$(sdk_version huaweicloudsdkcore)
hw_version=$(sdk_version huaweicloud-sdk-python-dis)
pb_version=$(sdk_version protobuf)

# 2. Builds: executables from cargo's own report of what it built.
executable() { # TARGET_NAME: reads cargo's JSON messages on stdin
  "$py" -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1" | tail -n 1
}
echo "building dis-local and benches/vs_huawei.rs (release)" >&2
dis_local=$(cargo build --quiet --release -p dis-local --bin dis-local --message-format=json | executable dis-local)
[ -x "$dis_local" ] || { echo "error: no dis-local executable" >&2; exit 1; }
ours_bin=$(cargo bench --quiet --bench vs_huawei --no-run --message-format=json | executable vs_huawei)
[ -x "$ours_bin" ] || { echo "error: no vs_huawei bench executable" >&2; exit 1; }

: >"$out/dis-local.stdout" # empty before start: never read a previous run's address
"$dis_local" --listen 127.0.0.1:0 --stream "$stream:4" --no-retain --ak "$ak" --sk "$sk" \
  >"$out/dis-local.stdout" 2>"$out/dis-local.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
url=
for _ in $(seq 1 100); do
  url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$out/dis-local.stdout")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { echo "error: dis-local exited:" >&2; cat "$out/dis-local.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "error: dis-local did not print its address" >&2; exit 1; }
echo "local endpoint: $url (dis-local, AK/SK only, not retaining)" >&2

stats() { # prints "records_stored records_failed"
  "$py" -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/local/v1/stats", timeout=10))
print(s["records_stored"], s["records_failed"])' "$url"
}

# 3. The runs. Each result is one JSON line in $results, with the side, run and status added.
results=$out/results.jsonl
: >"$results"
errlog=$out/last-run.stderr
record() { # SIDE BODY SIZE RUN STATUS JSON_OR_REASON
  "$py" -c 'import json, sys
side, body, size, run, status, text = sys.argv[1:7]
row = json.loads(text) if status == "ok" else {"reason": text}
row.update(side=side, body=body, size=int(size), run=int(run), status=status)
print(json.dumps(row))' "$@" >>"$results"
}
last= # the status of the last measure: ok or unsupported
measure() { # SIDE BODY SIZE RUN -- COMMAND...: runs it, checks it and the endpoint's counters
  local side=$1 body=$2 size=$3 run=$4
  shift 5
  local before after line rc=0
  before=$(stats)
  line=$(timeout "$run_timeout" "$@" 2>"$errlog") || rc=$?
  after=$(stats)
  if [ "$rc" = 3 ]; then
    local reason
    reason=$(grep -m1 -o 'unsupported: .*' "$errlog" || echo unsupported)
    if [ "$body" = json ]; then
      echo "error: $side, JSON, $size B: $reason" >&2
      exit 1
    fi
    echo "  $side $body ${size} B: n/a ($reason)" >&2
    record "$side" "$body" "$size" "$run" unsupported "$reason"
    last=unsupported
    return 0
  fi
  if [ "$rc" != 0 ]; then
    echo "error: $side, $body, $size B, run $run: exit status $rc; its stderr ends:" >&2
    tail -n 20 "$errlog" >&2
    exit 1
  fi
  local sent
  sent=$("$py" -c 'import json, sys; r = json.loads(sys.argv[1]); print(r["records"] + r["warmup_records"])' "$line")
  read -r s0 f0 <<<"$before"
  read -r s1 f1 <<<"$after"
  if [ $((s1 - s0)) != "$sent" ] || [ "$f1" != "$f0" ]; then
    echo "error: $side, $body, $size B, run $run: the endpoint stored $((s1 - s0)) records and failed $((f1 - f0)); $sent were sent" >&2
    exit 1
  fi
  echo "  $side $body ${size} B run $run: $line" >&2
  record "$side" "$body" "$size" "$run" ok "$line"
  last=ok
}

common=(--endpoint "$url" --records "$records" --stream "$stream" --project-id "$project" --ak "$ak" --sk "$sk")
for b in "${bodies[@]}"; do
  if [ "$b" = json ]; then theirs_sdk=v3; else theirs_sdk=handwritten; fi
  for size in "${sizes[@]}"; do
    theirs_na='' ours_na=''
    for run in $(seq 1 "$runs"); do
      # A side the endpoint refused is not tried again for this body and size.
      if [ -z "$theirs_na" ]; then
        measure theirs "$b" "$size" "$run" -- "$py" scripts/bench_huawei_sdk.py "${common[@]}" \
          --size "$size" --sdk "$theirs_sdk" --body "$b"
        if [ "$last" = unsupported ]; then theirs_na=1; fi
      fi
      if [ -z "$ours_na" ]; then
        measure ours "$b" "$size" "$run" -- "$ours_bin" "${common[@]}" \
          --size "$size" --concurrency "$concurrency" --body "$b"
        if [ "$last" = unsupported ]; then ours_na=1; fi
      fi
      # Ours with an IAM token too (JSON): Huawei's Python SDKs have no token mode to compare
      # with (the v3 core uses a token only to get temporary AK/SK), so theirs stays AK/SK.
      if [ "$b" = json ]; then
        measure ours-token "$b" "$size" "$run" -- "$ours_bin" "${common[@]}" \
          --size "$size" --concurrency "$concurrency" --body "$b" --token bench-token
      fi
    done
  done
done

# The hand-written SDK in JSON mode: one request, to tell whether the endpoint takes it.
rc=0
timeout "$run_timeout" "$py" scripts/bench_huawei_sdk.py "${common[@]}" --records 500 --size 100 \
  --sdk handwritten --body json >/dev/null 2>"$errlog" || rc=$?
case $rc in
  0) compat="works (one request of 500 records)" ;;
  3) compat="n/a, $(grep -m1 -o 'unsupported: .*' "$errlog")" ;;
  *) compat="error (exit status $rc): $(tail -n 1 "$errlog")" ;;
esac

# 4. The table.
cores=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
python_version=$("$py" --version 2>&1)
rustc_version=$(rustc --version)
RESULTS=$results RECORDS=$records RUNS=$runs CONCURRENCY=$concurrency COMPAT=$compat \
  CORES=$cores CPU_MODEL=$cpu_model DATE=$(date -u '+%Y-%m-%d %H:%M UTC') \
  ELAPSED=$(($(date +%s) - started)) PYTHON_VERSION=$python_version RUSTC_VERSION=$rustc_version \
  V3_VERSION=$v3_version CORE_VERSION=$core_version HW_VERSION=$hw_version PB_VERSION=$pb_version \
  "$py" - <<'EOF'
import json, os, re, statistics

e = os.environ
rows = [json.loads(line) for line in open(e["RESULTS"])]


def cell(side, body, size):
    """Records/s and CPU us/record of the side's runs (sorted), or the reason it is n/a."""
    mine = [r for r in rows if (r["side"], r["body"], r["size"]) == (side, body, size)]
    ok = [r for r in mine if r["status"] == "ok"]
    if ok:
        return (sorted(r["records_per_s"] for r in ok),
                sorted(r["cpu_us_per_record"] for r in ok), None)
    return None, None, (mine[0]["reason"] if mine else "not run")


def median(values):
    return None if not values else statistics.median(values)


def num(v, digits, suffix=""):
    return "n/a" if v is None else f"{v:,.{digits}f}{suffix}"


def spread(values, digits):
    """The median and (min-max) of a side's runs."""
    if not values:
        return "n/a"
    return f"{num(median(values), digits)} ({num(values[0], digits)}-{num(values[-1], digits)})"


theirs_name = {
    "json": f"huaweicloudsdkdis {e['V3_VERSION']} (v3, send_records)",
    "protobuf": f"huaweicloud-sdk-python-dis {e['HW_VERSION']} (put_records, protobuf)",
}
print()
print("Huawei's Python DIS SDK vs dis-records' producer, to the local endpoint (dis-local in its own")
print(f"process, AK/SK signed, not retaining): {int(e['RECORDS']):,} records per run on both sides,")
print(f"500 per request, median (min-max) of {e['RUNS']} run(s), ratios of the medians; theirs")
print(f"single-threaded, ours {e['CONCURRENCY']} requests in flight; CPU = the client process's user + system time")
print(f"machine: {e['CORES']} cores, {e['CPU_MODEL']}; date: {e['DATE']}")
print()
print("| body | record | their SDK | theirs records/s | theirs CPU us/record | ours records/s "
      "| ours CPU us/record | throughput ours/theirs | CPU theirs/ours |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
notes = []
for body in [b for b in ("json", "protobuf") if any(r["body"] == b for r in rows)]:
    for size in sorted({r["size"] for r in rows if r["body"] == body}):
        t_rps, t_cpu, t_na = cell("theirs", body, size)
        o_rps, o_cpu, o_na = cell("ours", body, size)
        tput = median(o_rps) / median(t_rps) if o_rps and t_rps else None
        cpu = median(t_cpu) / median(o_cpu) if o_cpu and t_cpu else None
        label = f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"
        print(f"| {body} | {label} | {theirs_name[body]} | {spread(t_rps, 0)} | {spread(t_cpu, 2)} "
              f"| {spread(o_rps, 0)} | {spread(o_cpu, 2)} | {num(tput, 1, 'x')} | {num(cpu, 1, 'x')} |")
        for side, na in (("theirs", t_na), ("ours", o_na)):
            na = na and re.sub(r" \(X-Request-Id [0-9a-zA-Z-]+\)", "", na)
            if na and (side, body, na) not in notes:
                notes.append((side, body, na))
for side, body, na in notes:
    print(f"n/a ({side}, {body}): {na}")
token_sizes = sorted({r["size"] for r in rows if r["side"] == "ours-token"})
if token_sizes:
    print()
    print("Ours with an IAM token (X-Auth-Token, no signature) against theirs with AK/SK (their Python SDKs")
    print("have no token mode), same runs:")
    print()
    print("| body | record | ours (token) records/s | ours (token) CPU us/record "
          "| throughput ours/theirs | CPU theirs/ours |")
    print("| --- | --- | --- | --- | --- | --- |")
    for size in token_sizes:
        t_rps, t_cpu, _ = cell("theirs", "json", size)
        o_rps, o_cpu, _ = cell("ours-token", "json", size)
        tput = median(o_rps) / median(t_rps) if o_rps and t_rps else None
        cpu = median(t_cpu) / median(o_cpu) if o_cpu and t_cpu else None
        label = f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"
        print(f"| json | {label} | {spread(o_rps, 0)} | {spread(o_cpu, 2)} "
              f"| {num(tput, 1, 'x')} | {num(cpu, 1, 'x')} |")
print()
print(f"versions: huaweicloudsdkdis {e['V3_VERSION']}, huaweicloudsdkcore {e['CORE_VERSION']}, "
      f"huaweicloud-sdk-python-dis {e['HW_VERSION']}, protobuf {e['PB_VERSION']} (pure-Python "
      f"implementation), {e['PYTHON_VERSION']}; {e['RUSTC_VERSION']}")
print(f"huaweicloud-sdk-python-dis in JSON mode against this endpoint: {e['COMPAT']}")
print(f"took {e['ELAPSED']} s (builds included)")
EOF
