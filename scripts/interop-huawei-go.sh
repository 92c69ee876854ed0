#!/usr/bin/env bash
# Huawei's Go v3 SDK (github.com/huaweicloud/huaweicloud-sdk-go-v3, services/dis/v2, pinned in
# interop/go/go.mod) against dis-local, with AK/SK.
#
#   bash scripts/interop-huawei-go.sh
#
# 1. Builds the driver (interop/go/main.go) with `go build`, its modules fetched through the Go
#    module proxy into the build cache ($CARGO_TARGET_DIR/interop-cache/go: GOMODCACHE and
#    GOCACHE), the binary in $CARGO_TARGET_DIR/interop-huawei-go. Needs go (1.26).
# 2. Builds dis-local (`cargo build -p dis-local --bin dis-local`) and starts it on 127.0.0.1:0
#    with an AK/SK pair and no tokens.
# 3. SendRecords (the SDK's `SDK-HMAC-SHA256 Access=` signature, which signs only the headers the
#    SDK sets: `user-agent;x-project-id;x-sdk-date`, not `host`), one request of varied records:
#    every answer entry checked, every keyed record in the partition Huawei's Java producer
#    computes, every record read back equal; then the SDK's error for an unknown stream (400
#    DIS.4301) and for a wrong secret key (441 DIS.4100).
#    Not checked yet: ShowStream (GET /v2/{project_id}/streams/{stream_name}); dis-local serves
#    it, and Python's v3 show_stream runs against it (interop-huawei-v3-credentials.sh).
#
# Prints one line per check and a closing "N passed, 0 failed"; exits non-zero on the first
# failure. No standard input is read; every wait is bounded; whatever it started is stopped on
# exit. Loopback only (and the Go module proxy on the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

case "${1:-}" in
  '') ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "error: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

out=$CARGO_TARGET_DIR/interop-huawei-go
cache=$CARGO_TARGET_DIR/interop-cache/go
mkdir -p "$out" "$cache"
# Fixed test credentials for the local endpoint, not secrets.
ak=INTEROPACCESSKEY
sk=INTEROPSECRETKEY
project=interop-project
stream=newstream
partitions=3
records=500

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAILED: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }

# 1. The SDK and the driver.
command -v go >/dev/null || fail "go not found (Go 1.26 is needed)"
export GOMODCACHE=$cache/mod GOCACHE=$cache/build GOFLAGS=-modcacherw GOTOOLCHAIN=local
echo "building the Go driver (interop/go) with Huawei's Go v3 SDK" >&2
(cd interop/go && timeout 1800 go build -o "$out/interop" . </dev/null) || fail "go build interop/go"
sdk=$(cd interop/go && go list -m -f '{{.Path}} {{.Version}}' github.com/huaweicloud/huaweicloud-sdk-go-v3)
versions="$sdk, $(go version | cut -d' ' -f3)"
ok "SDK fetched and driver built: $versions"

# shellcheck source=scripts/lib/start-server.sh
source scripts/lib/start-server.sh

# 2. dis-local.
echo "building dis-local" >&2
timeout 3600 cargo build --quiet -p dis-local --bin dis-local </dev/null
dis_local=$CARGO_TARGET_DIR/debug/dis-local
[ -x "$dis_local" ] || fail "no $dis_local"
start dis-local "$dis_local" --listen 127.0.0.1:0 --ak "$ak" --sk "$sk" --no-token --stream "$stream:$partitions"

# 3. SendRecords.
driver_out=$(timeout 120 "$out/interop" -endpoint "$url" -ak "$ak" -sk "$sk" -project-id "$project" \
  -stream "$stream" -partitions "$partitions" -records "$records" </dev/null) || fail "the Go driver"
echo "$driver_out"
passed=$((passed + $(grep -c '^ok: ' <<<"$driver_out")))
[ "$(grep -c '^ok: ' <<<"$driver_out")" = 3 ] || fail "the Go driver ran $(grep -c '^ok: ' <<<"$driver_out") of 3 checks"
echo "not checked here: ShowStream (GET /v2/{project_id}/streams/{stream_name}); the Python v3 SDK checks it"

echo "interop-huawei-go: $versions; took $(($(date +%s) - started)) s"
echo "interop-huawei-go: $passed passed, 0 failed"
