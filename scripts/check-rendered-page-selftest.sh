#!/usr/bin/env bash
# Proves that the page check can fail: renders a copy of the spec with one request field
# (PutRecordsRequestEntry.partition_key), one response field (PutRecordsResultEntry.sequence_number)
# and one constraint (stream_name maxLength 60) removed, and expects
# scripts/check-rendered-page.mjs to reject the page, naming exactly those three.
#
#   bash scripts/check-rendered-page-selftest.sh
set -euo pipefail
cd "$(dirname "$0")/.."

dir=target/spec-review/selftest
mkdir -p "$dir"
python3 - openapi/dis-records.yaml "$dir/mutated.yaml" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()

def drop_property(text, schema, prop):
    """Removes `prop` (and its indented body) from components.schemas.<schema>.properties."""
    start = text.index(f"\n    {schema}:\n")
    end = re.compile(r"\n    \S").search(text, start + 1)
    end = end.start() if end else len(text)
    block = text[start:end]
    new, n = re.subn(rf"\n        {prop}:\n(?:          .*\n|\s*\n)*?(?=        \S|$)", "\n", block + "\n", count=1)
    assert n == 1, f"{schema}.{prop} not found"
    return text[:start] + new[:-1] + text[end:]

text = drop_property(text, "PutRecordsRequestEntry", "partition_key")
text = drop_property(text, "PutRecordsResultEntry", "sequence_number")
assert text.count("          maxLength: 60\n") == 1
text = text.replace("          maxLength: 60\n", "")
open(sys.argv[2], "w", encoding="utf-8").write(text)
PY
bash scripts/render-spec.sh "$dir/mutated.yaml" "$dir/mutated.html" >/dev/null 2>&1

status=0
node scripts/check-rendered-page.mjs "$dir/mutated.html" >"$dir/check.log" 2>&1 || status=$?
cat "$dir/check.log"
[ "$status" = 1 ] || { echo "selftest: the check did not fail (exit $status)" >&2; exit 1; }
for want in 'field partition_key (t=request&path=records[]/partition_key): not visible' \
  'field sequence_number (t=response&c=200&path=records[]/sequence_number): not visible' \
  'field stream_name (t=request&path=stream_name): does not show'; do
  grep -qF "$want" "$dir/check.log" || { echo "selftest: no failure for: $want" >&2; exit 1; }
done
[ "$(grep -c '^FAIL ' "$dir/check.log")" = 3 ] || { echo "selftest: expected exactly 3 failures" >&2; exit 1; }
echo "selftest OK: the page check fails on a removed request field, response field and constraint"
