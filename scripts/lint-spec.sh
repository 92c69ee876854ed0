#!/usr/bin/env bash
# Lints the OpenAPI spec with Redocly CLI (version pinned in scripts/package.json / scripts/package-lock.json),
# `recommended-strict` (scripts/redocly.yaml). Passes only with zero errors, zero warnings and nothing
# ignored (no .redocly.lint-ignore.yaml; a rule may only be switched off in scripts/redocly.yaml, with a
# comment saying why).
#
#   bash scripts/lint-spec.sh [SPEC]      default SPEC: openapi/dis-records.yaml
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:-openapi/dis-records.yaml}
[ -x scripts/node_modules/.bin/redocly ] || npm ci --prefix scripts --no-audit --no-fund
redocly=scripts/node_modules/.bin/redocly

# Human-readable report (file:line:column, rule, code frame).
"$redocly" lint "$spec" --config scripts/redocly.yaml --lint-config error --format codeframe || true

# The verdict, from the machine-readable totals (lint exits 0 on warnings; we do not).
json=$("$redocly" lint "$spec" --config scripts/redocly.yaml --lint-config error --format json 2>/dev/null || true)
totals=$(node -e 'const t=JSON.parse(process.argv[1]).totals;console.log(`${t.errors} ${t.warnings} ${t.ignored}`)' "$json") || {
  echo "error: redocly lint did not produce a JSON report" >&2
  exit 1
}
read -r errors warnings ignored <<<"$totals"
echo "lint summary: $spec: $errors error(s), $warnings warning(s), $ignored ignored (recommended-strict, Redocly CLI $("$redocly" --version 2>/dev/null | tail -1))"
if [ "$errors" != 0 ] || [ "$warnings" != 0 ] || [ "$ignored" != 0 ]; then
  echo "error: the spec must lint with zero errors, warnings and ignored problems" >&2
  exit 1
fi
