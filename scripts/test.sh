#!/usr/bin/env bash
# The project's test command: installs what the tests need when it is
# missing, checks formatting, go vet and staticcheck, then runs every test,
# the integration tests against a private Dovecot included (they fail
# instead of skipping when a dependency is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

echo "== gofmt" >&2
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet" >&2
go vet ./...
echo "== staticcheck" >&2
go tool staticcheck ./...

echo "== go test" >&2
export MTMTEST_REQUIRE_INTEGRATION=1
go test -shuffle=on -timeout 20m "$@" ./...
