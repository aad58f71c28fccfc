#!/usr/bin/env bash
# The project's test command: installs what the tests need when it is
# missing, checks formatting, go vet and staticcheck, then runs every test,
# the integration tests against a private Dovecot included (they fail
# instead of skipping when a dependency is missing), and the end-to-end
# tests once more with the catalog on PostgreSQL (MTMTEST_CATALOG=postgres).
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

# The end-to-end tests that prove the product (the corpus byte for byte,
# SIGKILL and SIGTERM mid-snapshot and mid-restore, prune racing a snapshot,
# restores, the webmail and search over the API and in the browser) again,
# on a PostgreSQL catalog; the contract suite already runs on both.
echo "== go test, end-to-end on a PostgreSQL catalog" >&2
MTMTEST_CATALOG=postgres go test -shuffle=on -timeout 20m "$@" \
	-run 'Corpus|SIGKILL|SIGTERM|Prune|BlobDeletion|Restore|Webmail|Serve' ./cmd/mtm
