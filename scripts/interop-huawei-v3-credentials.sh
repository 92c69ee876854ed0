#!/usr/bin/env bash
# Huawei's Python v3 SDK (huaweicloudsdkcore's MetadataCredentialProvider, huaweicloudsdkdis's
# DisClient) against dis-local playing the ECS metadata service.
#
#   bash scripts/interop-huawei-v3-credentials.sh
#
# 1. Installs the SDK, pinned (scripts/interop/requirements-v3.txt), into a venv under the cargo
#    target folder (target/interop-huawei-v3/venv; reused while the pins and Python are unchanged).
# 2. Starts dis-local (`cargo build -p dis-local --bin dis-local`) with --metadata and
#    --credential-lifetime 2s: it accepts only the temporary AK/SK it issued, while they last.
# 3. scripts/interop/huawei_v3_metadata.py: the SDK's MetadataCredentialProvider, its metadata
#    endpoint (a class attribute) pointed at dis-local, obtains credentials; its DisClient sends 3
#    SendRecords of 20 records 2.5 s apart (so the SDK must refresh its credentials), every answer
#    checked and every record read back. Then dis-local's counters: 60 stored, at least 3 sets
#    issued, no request refused.
# 4. scripts/interop/huawei_v3_describe.py: a second dis-local, static AK/SK, an advanced stream
#    of 3 partitions grown to 6 after 4 s (--grow-partitions): the SDK's show_stream
#    (DescribeStream) pages through the partitions, 2 a page; kind, ids, ACTIVE, hash ranges and
#    counts checked, before and after the growth.
# Prints one line per check; exits non-zero on the first failure. Loopback only (PyPI on the
# first run); whatever it started is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
out=$CARGO_TARGET_DIR/interop-huawei-v3
venv=$out/venv
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

req=scripts/interop/requirements-v3.txt
want="$(python3 --version 2>&1) $(sha256sum "$req" | cut -d' ' -f1)"
if [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ] || [ ! -x "$venv/bin/python" ]; then
  echo "installing Huawei's Python v3 SDK into $venv ($req)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps -r "$req" </dev/null
  "$venv/bin/pip" check --disable-pip-version-check >&2
  echo "$want" >"$venv/.installed"
fi
py=$venv/bin/python
echo "ok: SDK installed: huaweicloudsdkcore $("$py" -c 'import importlib.metadata as m; print(m.version("huaweicloudsdkcore"))')"

timeout 3600 cargo build --quiet -p dis-local --bin dis-local </dev/null
log=$out/dis-local
: >"$log.stdout"
"$CARGO_TARGET_DIR/debug/dis-local" --listen 127.0.0.1:0 --metadata --credential-lifetime 2s \
  >"$log.stdout" 2>"$log.stderr" </dev/null &
pids+=($!)
url=
for _ in $(seq 1 100); do
  url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$log.stdout")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || fail "dis-local did not start"

timeout 120 "$py" scripts/interop/huawei_v3_metadata.py --url "$url" --project-id interop-project \
  --records 20 --rounds 3 --sleep 2.5 </dev/null || fail "the v3 SDK with metadata credentials"
read -r stored issued refused < <("$py" -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/local/v1/stats", timeout=10))
print(s["records_stored"], s["credentials_issued"],
      s["refused_expired_credentials"] + s["refused_unknown_credentials"])' "$url")
[ "$stored" = 60 ] && [ "$issued" -ge 3 ] && [ "$refused" = 0 ] \
  || fail "dis-local: $stored stored, $issued credential sets issued, $refused refused"
echo "ok: dis-local stored all $stored records; $issued credential sets issued, 0 refused"

# DescribeStream: the SDK's show_stream, signed with a static pair.
: >"$log-describe.stdout"
"$CARGO_TARGET_DIR/debug/dis-local" --listen 127.0.0.1:0 --ak interop-ak --sk interop-sk --no-token \
  --stream described:3:advanced --grow-partitions 4s:described:6 \
  >"$log-describe.stdout" 2>"$log-describe.stderr" </dev/null &
pids+=($!)
url=
for _ in $(seq 1 100); do
  url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$log-describe.stdout")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || fail "dis-local (describe) did not start"
timeout 120 "$py" scripts/interop/huawei_v3_describe.py --url "$url" --project-id interop-project \
  --ak interop-ak --sk interop-sk --stream described --kind ADVANCED --partitions 3 --grown 6 \
  </dev/null || fail "the v3 SDK's show_stream"
echo "interop-huawei-v3-credentials: passed"
