# Everyday targets. `make test` is the README's test command.
.PHONY: fmt check test race bench

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
