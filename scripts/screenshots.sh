#!/usr/bin/env bash
# The HTML report of the demo project, and a screenshot of each, for the README: a plain
# report, a `--compare prior_year` report and a `--grain month` report, written to
# scripts/screenshots/ (the .html files are left out of the repository; the PNGs are kept).
# The demo gets the recency × frequency grid of tests/fixtures/rfm_grid/ for the heat map.
# Needs headless Chromium (apt-get install chromium) or SEGC_TEST_CHROMIUM pointing at one.
set -euo pipefail
cd "$(dirname "$0")/.."
out="scripts/screenshots"
browser="${SEGC_TEST_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [ -z "$browser" ]; then
  echo "no Chromium found: apt-get install chromium, or set SEGC_TEST_CHROMIUM" >&2
  exit 1
fi
cargo build --release --quiet
segc="${CARGO_TARGET_DIR:-target}/release/segc"
work="$(mktemp -d /tmp/segc-screenshots.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$segc" init --demo "$work/demo" >/dev/null
cp tests/fixtures/rfm_grid/rfm_grid.yml "$work/demo/segment-defs/"
mkdir -p "$out"

shoot() {
  local name="$1" height="$2"
  shift 2
  "$segc" --project "$work/demo" run --output html --out "$work/$name.html" "$@"
  "$browser" --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size="1400,$height" \
    --screenshot="$out/$name.png" "file://$work/$name.html" >/dev/null 2>&1
  echo "$out/$name.png ($(wc -c <"$work/$name.html") bytes of HTML)"
}

shoot report 2000 --as-of 2026-10-31
shoot compare 1700 --as-of 2026-10-31 --compare prior_year
shoot month 1500 --grain month --from 2025-11 --to 2026-10
