#!/usr/bin/env bash
# Credentials that expire while the main job sends: a soak against dis-local.
#
#   bash scripts/soak-credentials.sh            # the three 60 s runs and the fault run
#   SOAK_SECONDS=20 bash scripts/soak-credentials.sh   # shorter runs
#
# dis-local is started with --credential-lifetime 10s, playing IAM (a password user), the ECS
# metadata service and pod identity, and answering every SendRecords after --delay-ms 100;
# the main job (`dis-records send`, --concurrency 1 --batch 10) then sends for about
# SOAK_SECONDS (default 60) with, in turn:
#   password:     DIS_IAM_USER / DIS_IAM_PASSWORD / DIS_IAM_DOMAIN, HUAWEICLOUD_SDK_IAM_ENDPOINT
#   metadata:     nothing set but DIS_METADATA_ENDPOINT: the default chain finds the metadata
#   pod identity: HC_CONTAINER_CREDENTIALS_FULL_URI + HC_CONTAINER_AUTHORIZATION_TOKEN_FILE (the
#                 metadata endpoint points at a closed port, so the chain goes on to it)
#   fault:        metadata as above, the metadata paths answering 500 for 20 s from 20 s on
# Each run must end with every record acknowledged (0 failed), dis-local storing exactly as many
# records as were sent (no duplicates), at least 5 credential sets issued, and no request refused
# for expired or unknown credentials. Prints one line of numbers per run; exits non-zero on the
# first run that misses. Loopback only; every process it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
seconds=${SOAK_SECONDS:-60}
records=$((seconds * 100))   # 10 records per request, one request per ~100 ms
project=soak-project
out=$CARGO_TARGET_DIR/soak-credentials
mkdir -p "$out"

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAILED: $*" >&2; exit 1; }

echo "building dis-local and the main job" >&2
cargo build --quiet -p dis-local --bin dis-local </dev/null
cargo build --quiet -p dis-records-cli --bin dis-records </dev/null
dis_local=$CARGO_TARGET_DIR/debug/dis-local
main_job=$CARGO_TARGET_DIR/debug/dis-records
pod_token_file=$out/pod-token
echo "soak-pod-identity-token" >"$pod_token_file"
home=$out/home   # no ~/.huaweicloud/credentials there
mkdir -p "$home"

# Starts dis-local with the given extra flags; sets $url and $dis_pid.
start_dis_local() {
  local log=$out/dis-local.$1
  : >"$log.stdout"
  shift
  "$dis_local" --listen 127.0.0.1:0 --iam-user acme:alice:soak-password \
    --iam-project "local:$project" --metadata --pod-identity-token soak-pod-identity-token \
    --credential-lifetime 10s --delay-ms 100 "$@" >"$log.stdout" 2>"$log.stderr" </dev/null &
  dis_pid=$!
  pids+=("$dis_pid")
  local i
  url=
  for i in $(seq 1 100); do
    url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$log.stdout")
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  fail "dis-local did not start"
}

stat() { # FIELD
  python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/local/v1/stats", timeout=10))[sys.argv[2]])' "$url" "$1"
}

run() { # NAME ENV...
  local name=$1
  shift
  local started rc=0
  started=$(date +%s.%N)
  env -i PATH="$PATH" HOME="$home" "$@" timeout $((seconds * 3 + 120)) "$main_job" send \
    --no-progress --endpoint "$url" --project-id "$project" --generate "$records" --size 100 \
    --concurrency 1 --batch 10 --json </dev/null >"$out/$name.stdout" 2>"$out/$name.stderr" || rc=$?
  local took
  took=$(python3 -c "import time; print(f'{time.time() - $started:.1f}')")
  local summary
  summary=$(tail -n 1 "$out/$name.stdout")
  read -r sent acked failed < <(python3 -c 'import json, sys
s = json.loads(sys.argv[1]); print(s["sent"], s["acknowledged"], s["failed"])' "$summary")
  local stored issued expired unknown
  stored=$(stat records_stored)
  issued=$(stat credentials_issued)
  expired=$(stat refused_expired_credentials)
  unknown=$(stat refused_unknown_credentials)
  echo "$name: ${took} s, exit $rc; sent $sent, acknowledged $acked, failed $failed; dis-local stored $stored; credential sets issued $issued; refused: $expired expired, $unknown unknown"
  [ "$rc" = 0 ] || { tail -n 5 "$out/$name.stderr" >&2; fail "$name: the main job exited $rc"; }
  [ "$failed" = 0 ] && [ "$acked" = "$records" ] || fail "$name: $failed failed, $acked of $records acknowledged"
  [ "$stored" = "$records" ] || fail "$name: dis-local stored $stored records for $records sent"
  [ "$issued" -ge 5 ] || fail "$name: only $issued credential sets"
  [ "$expired" = 0 ] && [ "$unknown" = 0 ] || fail "$name: requests refused for their credentials"
  grep -q "credentials" "$out/$name.stderr" && grep "credentials" "$out/$name.stderr" | tail -n 2 >&2 || true
  kill "$dis_pid" 2>/dev/null || true
  wait "$dis_pid" 2>/dev/null || true
}

start_dis_local password
run password DIS_IAM_USER=alice DIS_IAM_PASSWORD=soak-password DIS_IAM_DOMAIN=acme \
  HUAWEICLOUD_SDK_IAM_ENDPOINT="$url"

start_dis_local metadata
run metadata DIS_METADATA_ENDPOINT="$url"

start_dis_local pod
run pod-identity DIS_METADATA_ENDPOINT=http://127.0.0.1:1 \
  HC_CONTAINER_CREDENTIALS_FULL_URI="$url/pod-identity/credentials" \
  HC_CONTAINER_AUTHORIZATION_TOKEN_FILE="$pod_token_file"

start_dis_local fault --metadata-outage 20s:20s
run metadata-outage-20s DIS_METADATA_ENDPOINT="$url"

echo "soak-credentials: 4 runs passed"
