#!/usr/bin/env bash
# Photographs the console's main pages (order, exception board, case, returns desk, pack
# station) in headless Chromium into docs/screenshots/, as the README shows them. The
# browser test that takes them also runs the accessibility check; it needs Debian's
# chromium and chromium-driver and axe-core (`.ci/run` installs all three).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .ci/axe/node_modules/axe-core/axe.min.js ] || npm ci --prefix .ci/axe --no-audit --no-fund
ORDERLY_SCREENSHOTS_DIR="$PWD/docs/screenshots" \
    cargo test --locked -p orderly --test api -- --exact \
    browser::the_main_pages_have_no_serious_accessibility_violation_and_are_photographed
ls -l docs/screenshots
