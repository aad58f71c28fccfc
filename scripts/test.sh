#!/usr/bin/env bash
# The project's test command: installs what the tests need when it is
# missing, checks formatting, go vet and staticcheck, then runs every test,
# the integration tests against a private Dovecot included (they fail
# instead of skipping when a dependency is missing), the end-to-end tests
# once more with the catalog on PostgreSQL (MTMTEST_CATALOG=postgres), and
# once more with the mail in S3 as well (MTMTEST_BLOBS=s3).
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
e2e='Corpus|SIGKILL|SIGTERM|Prune|BlobDeletion|Restore|Webmail|Serve|ChangesOver'
MTMTEST_CATALOG=postgres go test -shuffle=on -timeout 20m "$@" -run "$e2e" ./cmd/mtm

# And once more as a provider runs it: the catalog on PostgreSQL, the mail
# in S3 (a real S3 server on loopback, a bucket per test).
echo "== go test, end-to-end on PostgreSQL and S3" >&2
MTMTEST_CATALOG=postgres MTMTEST_BLOBS=s3 go test -shuffle=on -timeout 20m "$@" -run "$e2e" ./cmd/mtm
