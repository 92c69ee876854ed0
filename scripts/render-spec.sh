#!/usr/bin/env bash
# Renders the OpenAPI spec into ONE self-contained HTML reference page that works offline.
#
#   bash scripts/render-spec.sh [SPEC] [OUT]
#   defaults: SPEC=openapi/dis-records.yaml  OUT=target/spec-review/reference.html
#
# `--inlineBundle` embeds Redoc's script in the page; without it the page loads Redoc from
# Redocly's CDN and is blank offline. Page options (schemas expanded) are in scripts/redocly.yaml.
# The output is generated, large (~2.5 MB) and lives under target/: it is never committed.
# Afterwards: `node scripts/check-rendered-page.mjs OUT` checks it in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

spec=${1:-openapi/dis-records.yaml}
out=${2:-target/spec-review/reference.html}

[ -x scripts/node_modules/.bin/redocly ] || npm ci --prefix scripts --no-audit --no-fund
mkdir -p "$(dirname "$out")"
scripts/node_modules/.bin/redocly build-docs "$spec" --config scripts/redocly.yaml --inlineBundle -o "$out"

# Static half of the offline check (the runtime half, every request the page makes, is in
# scripts/check-rendered-page.mjs): no <script src>, no <link> (stylesheet, font preload, ...)
# and no CSS url()/@import pointing at http(s).
if grep -qiE '<script[^>]*[[:space:]]src=|<link[[:space:]][^>]*href=|url\(["'\'']?https?:|@import[[:space:]]+(url\()?["'\'']?https?:' "$out"; then
  echo "error: $out references an external script, stylesheet or font:" >&2
  grep -oiE '<script[^>]*[[:space:]]src=[^>]*>|<link[[:space:]][^>]*href=[^>]*>|url\(["'\'']?https?:[^)]*\)|@import[[:space:]]+[^;]*' "$out" | head >&2
  exit 1
fi
echo "rendered $spec -> $out ($(du -k "$out" | cut -f1) KiB, self-contained: no external script/style/font reference)"
