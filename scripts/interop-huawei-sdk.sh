#!/usr/bin/env bash
# Huawei's hand-written Python DIS SDK (huaweicloud-sdk-python-dis) against dis-records, both ways.
#
#   bash scripts/interop-huawei-sdk.sh            # the checks below
#   bash scripts/interop-huawei-sdk.sh --vectors  # regenerate dis-local's signature test vectors
#
# 1. Installs the SDK, pinned (scripts/interop/requirements.txt), into a venv under the cargo target
#    folder (target/interop-huawei-sdk/venv; reused while the pins and the Python version are
#    unchanged). Its record_pb2.py predates protoc 3.19: PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python.
# 2. Direction A, the SDK to dis-local (`cargo build -p dis-local --bin dis-local`, started on
#    127.0.0.1:0 with an AK/SK pair and no tokens): the SDK's put_records sends records with
#    protobuf bodies and with JSON bodies, signed with each of its two schemes (V11-HMAC-SHA256,
#    its default, and SDK-HMAC-SHA256 Credential=...), to `/v2/{project_id}/records/`; every
#    answer is checked and every record read back from dis-local (data, keys, partition, sequence
#    number). Then: a wrong secret key is refused (DIS.4100); `--accept-any-signature` takes it;
#    with `--fail-records` the SDK retries the DIS.4303 records until all are stored.
# 3. Direction B, our producer to the SDK's messages: a Python server on 127.0.0.1 decodes every
#    body with the SDK's generated record_pb2.PutRecordsRequest (Python's copy marks streamName and
#    streamId required), checks it and answers with a record_pb2.PutRecordsResult; our main job
#    (`cargo run -p dis-records-cli -- send --body protobuf --generate N --size S`) must exit 0
#    and the server must have seen exactly its N records.
#
# --vectors: the SDK sends real requests (both signers, both body formats, one with a query
# string) to a capturing server; they are written to huaweicloud-sign/tests/fixtures/, where
# huaweicloud-sign's tests sign them again and verify them, and dis-local/tests/it/protobuf.rs
# replays them against dis-local.
#
# Prints one line per check; exits non-zero on the first failure. No standard input is read;
# every wait is bounded; whatever it started is stopped on exit. Needs python3 (3.11) with venv,
# cargo; loopback only (and PyPI on the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

mode=check
case "${1:-}" in
  '') ;;
  --vectors) mode=vectors ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "error: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

out=$CARGO_TARGET_DIR/interop-huawei-sdk
venv=$out/venv
mkdir -p "$out"
# Fixed test credentials for the local endpoints, not secrets.
ak=INTEROPACCESSKEY
sk=INTEROPSECRETKEY
project=interop-project
token=interop-token
stream=newstream
partitions=3
records=40          # per SDK check (one request)
generate=2000       # direction B: records our producer sends (4 requests of 500)
size=100

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAILED: $*" >&2; exit 1; }
passed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }

# 1. The SDK.
req=scripts/interop/requirements.txt
want="$(python3 --version 2>&1) $(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/python" ]; then
  echo "installing Huawei's hand-written Python DIS SDK into $venv ($req)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps -r "$req" </dev/null
  "$venv/bin/pip" check --disable-pip-version-check >&2
  echo "$want" >"$venv/.installed"
fi
py=$venv/bin/python
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python
driver=scripts/interop/huawei_sdk.py
versions=$("$py" - <<'EOF'
import importlib.metadata as m, platform
v = m.version
print(f"huaweicloud-sdk-python-dis {v('huaweicloud-sdk-python-dis')}, protobuf {v('protobuf')} "
      f"(pure Python), requests {v('requests')}, Python {platform.python_version()}")
EOF
)
ok "SDK installed: $versions"

sdk() { timeout 120 "$py" "$driver" "$@" </dev/null; }

if [ "$mode" = vectors ]; then
  sdk vectors --ak "$ak" --sk "$sk" --project-id "$project" --stream "$stream" \
    --out huaweicloud-sign/tests/fixtures/handwritten_sdk_signatures.json
  exit 0
fi

# shellcheck source=scripts/lib/start-server.sh
source scripts/lib/start-server.sh

stats() { # URL: "records_stored records_failed"
  "$py" -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/local/v1/stats", timeout=10))
print(s["records_stored"], s["records_failed"])' "$1"
}

# 2. Direction A.
echo "building dis-local" >&2
timeout 3600 cargo build --quiet -p dis-local --bin dis-local </dev/null
dis_local=$CARGO_TARGET_DIR/debug/dis-local
[ -x "$dis_local" ] || fail "no $dis_local"
common=(--stream "$stream:$partitions" --listen 127.0.0.1:0)
send=(send --ak "$ak" --sk "$sk" --project-id "$project" --stream "$stream" --partitions "$partitions"
  --records "$records")

start dis-local-verify "$dis_local" "${common[@]}" --ak "$ak" --sk "$sk" --no-token
verify_url=$url
for body in protobuf json; do
  for signer in v11 sdk; do
    sdk "${send[@]}" --endpoint "$verify_url" --body "$body" --signer "$signer" --tag "$body-$signer" \
      || fail "direction A, $body body, $signer signer"
    passed=$((passed + 1))
  done
done
read -r stored failed <<<"$(stats "$verify_url")"
[ "$stored" = $((4 * records)) ] && [ "$failed" = 0 ] \
  || fail "dis-local counted $stored records stored and $failed failed; $((4 * records)) were sent"
ok "dis-local stored exactly the $((4 * records)) records the SDK sent"
sdk "${send[@]}" --endpoint "$verify_url" --body protobuf --signer v11 --tag wrong-sk \
  --wrong-sk NOTTHESECRETKEY --expect-refused DIS.4100 || fail "a wrong secret key was not refused"
passed=$((passed + 1))

start dis-local-any "$dis_local" "${common[@]}" --accept-any-signature --no-token
sdk "${send[@]}" --endpoint "$url" --body json --signer v11 --tag any-signature \
  --wrong-sk NOTTHESECRETKEY || fail "--accept-any-signature refused a well-formed signature"
ok "--accept-any-signature: a signature with a wrong secret key accepted"

start dis-local-faults "$dis_local" "${common[@]}" --ak "$ak" --sk "$sk" --no-token \
  --fail-records 0.3 --seed 7
faults_url=$url
sdk "${send[@]}" --endpoint "$faults_url" --body protobuf --signer v11 --tag faults \
  || fail "the SDK did not store every record despite DIS.4303 answers"
read -r stored failed <<<"$(stats "$faults_url")"
[ "$stored" = "$records" ] && [ "$failed" -gt 0 ] \
  || fail "faults: $stored stored, $failed answered DIS.4303 (wanted $records stored, some DIS.4303)"
ok "faults: $failed records answered DIS.4303 in protobuf were retried by the SDK; all $records stored"

# 3. Direction B.
echo "building the main job (the dis-records command, cli/)" >&2
timeout 3600 cargo build --quiet -p dis-records-cli </dev/null
start record-pb2-server "$py" "$driver" serve --stream "$stream" --project-id "$project" --token "$token"
pb_url=$url
rc=0
timeout 300 cargo run --quiet -p dis-records-cli -- send --no-progress --endpoint "$pb_url" --project-id "$project" \
  --token "$token" --stream "$stream" --body protobuf --generate "$generate" --size "$size" \
  </dev/null >"$out/send_records.stdout" 2>"$out/send_records.stderr" || rc=$?
if [ "$rc" != 0 ]; then
  tail -n 20 "$out/send_records.stderr" >&2
  fail "direction B: send_records exited $rc against the record_pb2 server"
fi
ok "direction B: send_records --body protobuf exited 0 ($(tail -n 1 "$out/send_records.stderr"))"
sdk check-served --url "$pb_url" --records "$generate" --size "$size" --stream "$stream" \
  || fail "direction B: the record_pb2 server did not see what our producer sent"
passed=$((passed + 1))

echo "interop-huawei-sdk: $versions; took $(($(date +%s) - started)) s"
echo "interop-huawei-sdk: $passed passed, 0 failed"
