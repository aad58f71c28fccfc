#!/usr/bin/env bash
# The project's test command: installs what the tests need when it is
# missing, checks formatting, go vet and staticcheck, then runs every test,
# the integration tests against a private Dovecot included (they fail
# instead of skipping when a dependency is missing), the end-to-end tests
# once more with the catalog on PostgreSQL and the mail in S3
# (MTMTEST_CATALOG=postgres MTMTEST_BLOBS=s3), and the crash and prune tests
# once more on PostgreSQL with the mail on local disk.
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
# as a provider runs it: the catalog on PostgreSQL, the mail in S3 (a real
# S3 server on loopback, a bucket per test). The contract suites already
# run every role on every back-end.
e2e='Corpus|SIGKILL|SIGTERM|Prune|BlobDeletion|Restore|Webmail|Serve|ChangesOver'
echo "== go test, end-to-end on PostgreSQL and S3" >&2
MTMTEST_CATALOG=postgres MTMTEST_BLOBS=s3 go test -shuffle=on -timeout 20m "$@" -run "$e2e" ./cmd/mtm

# A PostgreSQL catalog with the mail on local disk: what the run above does
# not cover is how the local blob store and a catalog in another process
# stay consistent through crashes, prunes and blob deletion (the reads of
# the catalog are the same as above).
echo "== go test, crashes and prunes on a PostgreSQL catalog with local mail" >&2
MTMTEST_CATALOG=postgres go test -shuffle=on -timeout 20m "$@" -run 'SIGKILL|SIGTERM|Prune|BlobDeletion|RestoreKilled' ./cmd/mtm
