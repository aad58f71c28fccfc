# Everyday targets. `make test` is the README's test command.
.PHONY: fmt check test race bench bench-limits bench-catalogs bench-blobs bench-cluster bench-imapd

fmt:
	gofmt -w $$(git ls-files '*.go')

check:
	go vet ./...
	go tool staticcheck ./...

test:
	bash scripts/test.sh

race:
	bash scripts/test.sh -race

# The store benchmark, about 30 minutes; see docs/benchmarks.md.
bench:
	bash scripts/bench.sh

# mtm against the mail server's own limits (raw IMAP clients on one
# high-performance Dovecot), a few minutes; see docs/benchmarks.md.
bench-limits:
	bash scripts/deps.sh --bench
	MTMTEST_REQUIRE_INTEGRATION=1 go test -v -run '^$$' -bench BenchmarkLimits -benchtime 1x -timeout 60m ./internal/bench

# The catalog on SQLite against PostgreSQL (loopback, fsync on): first and
# nightly snapshots of the 50,000-message account; see docs/benchmarks.md.
bench-catalogs:
	bash scripts/deps.sh --bench
	MTMTEST_REQUIRE_INTEGRATION=1 go test -v -run '^$$' -bench BenchmarkCatalogs -benchtime 1x -timeout 60m ./internal/bench

# The local blob store against S3 (versitygw on loopback): the first
# snapshot of the 50,000-message account and the requests it makes; see
# docs/benchmarks.md.
bench-blobs:
	bash scripts/deps.sh --bench
	MTMTEST_REQUIRE_INTEGRATION=1 go test -v -run '^$$' -bench BenchmarkBlobs -benchtime 1x -timeout 60m ./internal/bench

# Nightly and first snapshots on 1, 2 and 4 mtm serve nodes (one PostgreSQL,
# one S3 server, IMAP answers delayed by a proxy); see docs/benchmarks.md.
bench-cluster:
	bash scripts/deps.sh --bench
	MTMTEST_REQUIRE_INTEGRATION=1 go test -v -run '^$$' -bench BenchmarkCluster -benchtime 1x -timeout 60m ./internal/bench

# mbsync pulling a 50,000-message day from mtm's read-only IMAP server and
# the same account from Dovecot (high-performance mode), side by side; see
# docs/benchmarks.md.
bench-imapd:
	bash scripts/deps.sh --bench
	MTMTEST_REQUIRE_INTEGRATION=1 go test -v -run '^$$' -bench BenchmarkIMAPServe -benchtime 1x -timeout 60m ./internal/bench
