#!/usr/bin/env bash
# Spec review, as CI runs it (.ci/run calls `bash scripts/spec-review.sh`); also the one command
# a developer runs after editing openapi/dis-records.yaml. Steps (openapi/REVIEW.md has details):
#   1. install: npm ci (Redocly CLI + playwright-core, pinned); Debian chromium if missing
#   2. lint:    Redocly recommended-strict, zero errors/warnings   (scripts/lint-spec.sh)
#   3. render:  self-contained offline HTML reference               (scripts/render-spec.sh)
#   4. check:   the page in headless Chromium shows every field     (scripts/check-rendered-page.mjs)
#               and the check fails on a page with fields removed   (scripts/check-rendered-page-selftest.sh)
#   5. contract: schemathesis against the local DIS endpoint        (scripts/contract-test.sh)
# Works on a fresh machine of this kind, as root, without standard input. Any failure stops it
# with a non-zero status. Generated files go to target/spec-review/ (never committed).
set -euo pipefail
cd "$(dirname "$0")/.."
export CI=${CI:-true} DEBIAN_FRONTEND=noninteractive
export NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false NPM_CONFIG_UPDATE_NOTIFIER=false
exec </dev/null

t0=$SECONDS
step() { printf '\n== spec-review: %s (%ss)\n' "$*" "$((SECONDS - t0))"; }

step "install: npm ci --prefix scripts"
npm ci --prefix scripts --no-audit --no-fund

step "install: chromium"
if [ ! -x /usr/bin/chromium ]; then
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -q
  $sudo apt-get install -y -q chromium
fi
/usr/bin/chromium --version

step "lint"
bash scripts/lint-spec.sh

step "render"
bash scripts/render-spec.sh openapi/dis-records.yaml target/spec-review/reference.html

step "check the rendered page in headless Chromium"
node scripts/check-rendered-page.mjs target/spec-review/reference.html \
  --screenshot target/spec-review/reference.png

step "the page check fails when a field is missing (selftest)"
bash scripts/check-rendered-page-selftest.sh

step "contract test (schemathesis against the local endpoint)"
bash scripts/contract-test.sh

step "done: all spec-review steps passed"
