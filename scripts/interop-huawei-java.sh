#!/usr/bin/env bash
# Huawei's hand-written Java DIS SDK (com.huaweicloud.dis:huaweicloud-sdk-java-dis 1.3.21, the
# newest Maven Central serves) against dis-local, with AK/SK.
#
#   bash scripts/interop-huawei-java.sh [--producer-records N]
#   bash scripts/interop-huawei-java.sh --vectors   # regenerate huaweicloud-sign's Java vectors
#   bash scripts/interop-huawei-java.sh --build-only  # step 1 only (scripts/bench-vs-java.sh)
#
# 1. Resolves the SDK (interop/java/pom.xml, `mvn dependency:build-classpath`) into a Maven
#    repository inside the build cache ($CARGO_TARGET_DIR/interop-cache/m2), and compiles the
#    driver (interop/java/src/main/java/interop/DisInterop.java) with javac into
#    $CARGO_TARGET_DIR/interop-huawei-java/classes. Needs java and javac 17 and mvn (3.8): when
#    missing, installed with apt-get (openjdk-17-jdk-headless, maven) if run as root.
# 2. Builds dis-local (`cargo build -p dis-local --bin dis-local`) and starts it on 127.0.0.1:0
#    with an AK/SK pair and no tokens (the SDK signs `SDK-HMAC-SHA256 Credential=...`), one stream
#    per check.
# 3. DISClient.putRecords, JSON and protobuf bodies, each plain and with lz4, snappy and zstd
#    body compression (body.compress.enabled): one request of varied records each (binary data,
#    partition keys, explicit hash keys, partition ids, nothing); every answer entry checked,
#    every record routed where the SDK's PartitionKeyUtils routes it, and read back equal
#    (GET /local/v1/streams/{stream}/records).
# 4. DISProducer.putRecordAsync: 100,000 records (--producer-records) with a callback each,
#    JSON bodies, keyed: all acknowledged, none failed, each stored exactly once. The producer's
#    default batch.count is 1,000 records per request, over the 500 dis-local allows by default
#    (DIS's document gives no number): this dis-local runs with --max-records 1000.
#    Not switched off: nothing. The producer asks nothing but SendRecords (DescribeStream only
#    with order.by.partition, off by default).
#
# --vectors: the SDK's putRecords (JSON and protobuf, plain and with each body compression, a
# few records each) to a capturing server (interop/java/capture.py, python3), written to
# huaweicloud-sign/tests/fixtures/java_sdk_signatures.json, which huaweicloud-sign's tests verify.
#
# Prints one line per check and a closing "N passed, 0 failed"; exits non-zero on the first
# failure. No standard input is read; every wait is bounded; whatever it started is stopped on
# exit. Loopback only (and Maven Central on the first run).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

producer_records=100000
mode=check
case "${1:-}" in
  '') ;;
  --producer-records) producer_records=${2:?--producer-records needs a value} ;;
  --vectors) mode=vectors ;;
  --build-only) mode=build ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "error: unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

out=$CARGO_TARGET_DIR/interop-huawei-java
m2=$CARGO_TARGET_DIR/interop-cache/m2
mkdir -p "$out" "$m2"
# Fixed test credentials for the local endpoint, not secrets.
ak=INTEROPACCESSKEY
sk=INTEROPSECRETKEY
project=interop-project
partitions=3
records=200 # per putRecords check (one request)

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
if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then
  # Debian's packages, where this runs as root with apt (the machines this project runs on).
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing a JDK 17 and Maven (apt-get)" >&2
    timeout 900 apt-get update -qq </dev/null >&2 || true
    timeout 900 apt-get install -y -qq openjdk-17-jdk-headless maven </dev/null >&2 \
      || fail "apt-get could not install openjdk-17-jdk-headless and maven"
  fi
fi
for tool in java javac mvn; do
  command -v "$tool" >/dev/null || fail "$tool not found (a JDK 17 and Maven 3.8 are needed)"
done
pom=interop/java/pom.xml
src=interop/java/src/main/java/interop/DisInterop.java
want="$(java -version 2>&1 | head -n 1) $(cat "$pom" "$src" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$out/.built" 2>/dev/null)" != "$want" ]; then
  echo "resolving Huawei's Java DIS SDK into $m2 ($pom)" >&2
  rm -rf "$out/classes"
  timeout 900 mvn --batch-mode --quiet --no-transfer-progress -Dstyle.color=never -Dmaven.repo.local="$m2" -f "$pom" \
    dependency:build-classpath -Dmdep.outputFile="$out/classpath.txt" </dev/null >"$out/mvn.log" 2>&1 \
    || { tail -n 30 "$out/mvn.log" >&2; fail "mvn could not resolve $pom"; }
  mkdir -p "$out/classes"
  javac -nowarn -encoding UTF-8 --release 17 -cp "$(cat "$out/classpath.txt")" -d "$out/classes" "$src" \
    || fail "javac $src"
  echo "$want" >"$out/.built"
fi
cp="$out/classes:$(cat "$out/classpath.txt")"
sdk_jar=$(tr ':' '\n' <"$out/classpath.txt" | grep -m1 '/huaweicloud-sdk-java-dis-[0-9.]*\.jar$' || true)
[ -n "$sdk_jar" ] || fail "the SDK is not on the resolved class path"
versions="$(basename "$sdk_jar" .jar), $(java -version 2>&1 | head -n 1)"
ok "SDK resolved and driver compiled: $versions"
[ "$mode" = build ] && exit 0

# The SDK reads an optional dis.properties from the working directory: run in an empty one.
mkdir -p "$out/run"
driver() { (cd "$out/run" && timeout 900 java -cp "$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  interop.DisInterop "$@" </dev/null); }

# shellcheck source=scripts/lib/start-server.sh
source scripts/lib/start-server.sh

if [ "$mode" = vectors ]; then
  start capture python3 interop/java/capture.py "$PWD/huaweicloud-sign/tests/fixtures/java_sdk_signatures.json" \
    "$ak" "$sk" cn-north-4
  for body in json protobuf; do
    for compress in none lz4 snappy zstd; do
      # The capturing server's answer is empty: the driver's checks fail, the request is kept.
      driver put --endpoint "$url" --ak "$ak" --sk "$sk" --project-id "$project" --partitions "$partitions" \
        --stream newstream --body "$body" --compress "$compress" --records 3 >/dev/null 2>&1 || true
    done
  done
  kill "${pids[-1]}" && wait "${pids[-1]}" || true
  echo "wrote huaweicloud-sign/tests/fixtures/java_sdk_signatures.json"
  exit 0
fi

# 2. dis-local.
echo "building dis-local" >&2
timeout 3600 cargo build --quiet -p dis-local --bin dis-local </dev/null
dis_local=$CARGO_TARGET_DIR/debug/dis-local
[ -x "$dis_local" ] || fail "no $dis_local"
streams=()
for body in json protobuf; do
  for compress in none lz4 snappy zstd; do
    streams+=(--stream "$body-$compress:$partitions")
  done
done
start dis-local "$dis_local" --listen 127.0.0.1:0 --ak "$ak" --sk "$sk" --no-token "${streams[@]}" \
  --stream "producer:$partitions" --max-records 1000
common=(--endpoint "$url" --ak "$ak" --sk "$sk" --project-id "$project" --partitions "$partitions")

# 3. putRecords.
for body in json protobuf; do
  for compress in none lz4 snappy zstd; do
    driver put "${common[@]}" --stream "$body-$compress" --body "$body" --compress "$compress" \
      --records "$records" || fail "putRecords, $body body, compression $compress"
    passed=$((passed + 1))
  done
done

# 4. The asynchronous producer.
driver producer "${common[@]}" --stream producer --records "$producer_records" --size 100 --keys 1000 \
  || fail "DISProducer"
passed=$((passed + 1))

echo "interop-huawei-java: $versions; took $(($(date +%s) - started)) s"
echo "interop-huawei-java: $passed passed, 0 failed"
