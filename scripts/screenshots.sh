#!/usr/bin/env bash
# Takes the README's screenshots of `mtm demo` in chromium (English and
# Italian, light and dark) into docs/screenshots.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
MTMTEST_SCREENSHOTS="$PWD/docs/screenshots" go test -count=1 -run '^TestScreenshots$' -timeout 10m ./cmd/mtm
ls -l docs/screenshots
