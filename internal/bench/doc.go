// Package bench owns the store benchmark: `make bench` (scripts/bench.sh)
// runs its one benchmark, BenchmarkStore, which builds its own data on a
// private Dovecot, runs the mtm binary and mbsync (isync) side by side as
// subprocesses, and prints a Markdown table of wall time, peak RSS and store
// size. docs/benchmarks.md records the results and the machine.
//
// The package has no tests of the product and nothing outside its _test.go
// files: `go test ./...` compiles it and runs only a few fast checks of its
// helpers, never a scenario. Run it with
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 60m ./internal/bench
//
// Scenario sizes are flags of the test binary (-mtm.messages, -mtm.accounts,
// ...; see flags in bench_test.go), for quick trial runs with small data.
//
// Scenarios, all against one Dovecot in one run so that ratios hold on a
// noisy machine:
//
//  1. first snapshot of one large account (the SpamAssassin corpus replicated
//     with distinct Message-IDs across several folders), mtm against mbsync
//     pulling the same account into a Maildir;
//  2. nightly snapshot of the unchanged account, against mbsync's
//     incremental run;
//  3. days of churn (new, deleted and re-flagged messages), one snapshot per
//     simulated day under the test clock MTMTEST_NOW, then prune; store size
//     and catalog growth per day;
//  4. peak RSS while snapshotting the large account plus one 100 MiB message;
//  5. many small accounts in one run, first and nightly.
//
// Working files live in temporary directories removed at the end: the
// Dovecot instance (see internal/testenv/dovecot), the mtm binary built once
// with go build, data directories, Maildirs and mbsync state.
package bench
