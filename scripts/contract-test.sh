#!/usr/bin/env bash
# Contract test: schemathesis (pinned, PyPI) fuzzes the local DIS endpoint (the `dis-local` binary)
# against the spec, with all checks on, a fixed seed and a bounded number of examples.
#
#   bash scripts/contract-test.sh
#
# 1. installs schemathesis into target/spec-review/venv (scripts/contract-requirements.txt);
# 2. builds and starts `dis-local --listen 127.0.0.1:0 --stream newstream:4 --token local`
#    (--token: only that token is accepted, so schemathesis' ignored_auth check can see a wrong
#    token refused with 401; without it any non-empty token is accepted);
# 3. writes target/spec-review/contract-spec.yaml: the spec narrowed to the endpoint's one
#    stream and its 4 partitions (scripts/contract-spec.py says why);
# 4. runs schemathesis; reports land in target/spec-review/schemathesis/ (JUnit, NDJSON).
# Exit status: schemathesis' (non-zero on any finding).
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/spec-review
venv=$out/venv
mkdir -p "$out"

want=$(sed -n 's/^schemathesis==//p' scripts/contract-requirements.txt)
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $want"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r scripts/contract-requirements.txt
fi
"$venv/bin/schemathesis" --version

# The endpoint binary, from cargo's own report of what it built.
bin=$(cargo build --quiet -p dis-local --bin dis-local --message-format=json |
  "$venv/bin/python" -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "dis-local" and m.get("executable"):
        print(m["executable"])')
[ -x "$bin" ] || { echo "error: no dis-local executable" >&2; exit 1; }

log=$out/local_dis.log
: >"$out/local_dis.stdout" # empty before start: never read a previous run's address
"$bin" --listen 127.0.0.1:0 --stream newstream:4 --token local >"$out/local_dis.stdout" 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
url=
for _ in $(seq 1 100); do
  url=$(sed -n '1s|^listening on \(http://127\.0\.0\.1:[0-9]*\)$|\1|p' "$out/local_dis.stdout")
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { echo "error: local_dis exited:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "error: local_dis did not print its address" >&2; exit 1; }
echo "local DIS endpoint: $url"

"$venv/bin/python" scripts/contract-spec.py openapi/dis-records.yaml "$out/contract-spec.yaml" newstream 4

rm -rf "$out/schemathesis"
# Run inside target/spec-review/: schemathesis and hypothesis keep state directories
# (.schemathesis/, .hypothesis/) in the working directory. The token is a fixed test value, not
# a secret: requests are shown unfiltered so that findings can be replayed.
cd "$out"
cmd=(venv/bin/schemathesis run contract-spec.yaml
  --url "$url"
  --checks all
  --max-examples 50
  --seed 42
  --generation-database none
  --workers 1
  -H "X-Auth-Token: local"
  --output-sanitize false
  --no-color
  --report junit,ndjson --report-dir schemathesis)
echo "+ (cd $out && ${cmd[*]})"
"${cmd[@]}"
