#!/usr/bin/env bash
# The store benchmark (`make bench`): installs what it needs when missing
# (Dovecot, npm for the mail corpus, mbsync), then runs BenchmarkStore of
# internal/bench, which builds its own data on a private Dovecot, runs mtm and
# mbsync side by side and prints a Markdown table (progress on stderr).
# docs/benchmarks.md records the results. It takes about half an hour on
# two cores. Extra arguments go to the benchmark binary, for smaller trial
# runs: bash scripts/bench.sh -mtm.messages=5000 -mtm.accounts=50
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --bench

export MTMTEST_REQUIRE_INTEGRATION=1
go test -v -run '^$' -bench . -benchtime 1x -timeout 60m ./internal/bench -args "$@"
