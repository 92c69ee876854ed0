#!/usr/bin/env bash
# Refreshes docs/reference.png, the committed picture of the rendered reference page. Run it
# after a change to openapi/dis-records.yaml or scripts/redocly.yaml, then look at the picture.
#
#   bash scripts/refresh-screenshot.sh
#
# Renders the page (scripts/render-spec.sh), runs the page check, and saves a 1400-px-wide
# screenshot of the operation as a reader sees it (security details closed). Chinese text needs
# a CJK font, which Debian's chromium does not bring: fonts-wqy-microhei (5 MB) is installed
# if none is present (only here; CI checks text, not glyphs).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo

[ -x scripts/node_modules/.bin/redocly ] || npm ci --prefix scripts --no-audit --no-fund
if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  $sudo apt-get update -q
  $sudo apt-get install -y -q chromium fonts-wqy-microhei
fi
bash scripts/render-spec.sh openapi/dis-records.yaml target/spec-review/reference.html
node scripts/check-rendered-page.mjs target/spec-review/reference.html --screenshot docs/reference.png
