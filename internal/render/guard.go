package render

import (
	"context"
	"fmt"
	"time"
)

// Guard parses messages for a server: at most Workers at a time, each
// within Budget. The shape check keeps the parser's time linear in the
// message; the guard is for whatever it did not foresee, so that no
// message can hold every CPU, or a request or the search indexer for
// longer than the budget.
//
// The budget is a safety timeout, like an HTTP server's, not a time the
// product measures: it runs on a real timer.
type Guard struct {
	slots  chan struct{}
	budget time.Duration
	parse  func([]byte) (*Message, error) // Parse; tests replace it
}

// DefaultBudget is how long a parse may take before the message is shown
// unparsed: the largest message parsed (MaxParse) takes well under it.
const DefaultBudget = 10 * time.Second

// NewGuard returns a guard of workers parses at a time (at least one),
// each within budget (DefaultBudget when zero).
func NewGuard(workers int, budget time.Duration) *Guard {
	if budget <= 0 {
		budget = DefaultBudget
	}
	return &Guard{slots: make(chan struct{}, max(1, workers)), budget: budget, parse: Parse}
}

// Parse parses raw as Parse does, once a worker is free. A parse that
// outlasts the budget is left to end on its worker, which stays taken
// until then, and raw comes back TooComplex: its headers and raw text,
// with the reason. The error is ctx's when ctx ends first, or Parse's.
func (g *Guard) Parse(ctx context.Context, raw []byte) (*Message, error) {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	type result struct {
		m   *Message
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-g.slots }()
		m, err := g.parse(raw)
		done <- result{m, err}
	}()
	timer := time.NewTimer(g.budget)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.m, r.err
	case <-timer.C:
		return tooComplex(raw, fmt.Sprintf("took longer than %v to read: not read", g.budget), len(raw) > MaxParse), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
