// Package progress reports the progress of a snapshot run over many
// accounts.
//
// On a terminal it keeps one status line up to date (accounts done, folders,
// messages, bytes, rates, elapsed time), rewritten in place a few times a
// second, and replaces it with a summary at the end. Anywhere else it writes
// one log line per finished account and a final summary line.
//
// The snapshot engine calls Add from many goroutines as work happens, so Add
// only touches atomic counters; rendering happens elsewhere. Rates and
// elapsed time come from the injected clock.
package progress

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"mtm/internal/clock"
)

// Counters are the cumulative counts of a run.
type Counters struct {
	AccountsDone   int // accounts finished without error
	AccountsFailed int // accounts finished with an error
	AccountsTotal  int // accounts in the run
	Folders        int // as reported through Add
	Messages       int64
	Bytes          int64
}

// AccountStats describes one finished account, as the snapshot engine
// reports it.
type AccountStats struct {
	Folders         int
	Messages        int64 // messages in the account's snapshot
	Bytes           int64 // their raw size
	FetchedMessages int64 // message bodies downloaded by this run
	FetchedBytes    int64
	Duration        time.Duration
}

// Summary is what a run did, returned by Finish.
type Summary struct {
	Counters
	// Totals is the sum of the AccountStats of every finished account;
	// its Duration is the sum of their durations.
	Totals  AccountStats
	Failed  []string      // addresses of the failed accounts, in the order they finished
	Elapsed time.Duration // from New to Finish
}

// Reporter receives a run's progress. All its methods are safe for
// concurrent use.
type Reporter interface {
	// AccountStarted says the run began work on addr.
	AccountStarted(addr string)
	// AccountDone says the run finished addr, with err nil on success.
	AccountDone(addr string, err error, stats AccountStats)
	// Add counts work as it happens: folders examined, messages and bytes
	// downloaded. It is cheap and may be called very often.
	Add(folders int, messages int64, bytes int64)
	// Finish stops any rendering and returns the totals. Later calls return
	// the same Summary and print nothing.
	Finish() Summary
}

// defaultInterval is how often the terminal status line is redrawn.
const defaultInterval = 250 * time.Millisecond

// New returns a Reporter for a run over total accounts. When w is a terminal
// it draws a status line on w and prints the summary there; otherwise it logs
// to logger (nil discards) and writes nothing to w. A nil clk is the real
// clock.
func New(w io.Writer, logger *slog.Logger, clk clock.Clock, total int) Reporter {
	if clk == nil {
		clk = clock.Real{}
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		width, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			width = 0 // unknown: do not truncate
		}
		r := newReporter(clk, total)
		t := newTerminal(w, r, width)
		r.out = t
		t.start(defaultInterval)
		return r
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := newReporter(clk, total)
	r.out = &logOutput{logger: logger}
	return r
}

// output shows what the reporter counts.
type output interface {
	accountStarted(addr string)
	accountDone(addr string, err error, stats AccountStats)
	finish(s Summary)
}

// reporter does the counting common to every output.
type reporter struct {
	clk   clock.Clock
	start time.Time
	total int
	out   output

	folders, messages, bytes atomic.Int64

	mu      sync.Mutex
	running int
	done    int
	failed  []string
	totals  AccountStats
	summary *Summary // set by Finish
}

func newReporter(clk clock.Clock, total int) *reporter {
	return &reporter{clk: clk, start: clk.Now(), total: total}
}

func (r *reporter) AccountStarted(addr string) {
	r.mu.Lock()
	r.running++
	finished := r.summary != nil
	r.mu.Unlock()
	if !finished {
		r.out.accountStarted(addr)
	}
}

func (r *reporter) AccountDone(addr string, err error, stats AccountStats) {
	r.mu.Lock()
	r.running--
	if err != nil {
		r.failed = append(r.failed, addr)
	} else {
		r.done++
	}
	r.totals.Folders += stats.Folders
	r.totals.Messages += stats.Messages
	r.totals.Bytes += stats.Bytes
	r.totals.FetchedMessages += stats.FetchedMessages
	r.totals.FetchedBytes += stats.FetchedBytes
	r.totals.Duration += stats.Duration
	finished := r.summary != nil
	r.mu.Unlock()
	if !finished { // the output is called without r.mu, which it may take
		r.out.accountDone(addr, err, stats)
	}
}

func (r *reporter) Add(folders int, messages int64, bytes int64) {
	if folders != 0 {
		r.folders.Add(int64(folders))
	}
	if messages != 0 {
		r.messages.Add(messages)
	}
	if bytes != 0 {
		r.bytes.Add(bytes)
	}
}

func (r *reporter) Finish() Summary {
	r.mu.Lock()
	if r.summary != nil {
		s := *r.summary
		r.mu.Unlock()
		return s
	}
	s := Summary{
		Counters: r.countersLocked(),
		Totals:   r.totals,
		Failed:   append([]string(nil), r.failed...),
		Elapsed:  r.clk.Now().Sub(r.start),
	}
	r.summary = &s
	r.mu.Unlock()
	r.out.finish(s)
	return s
}

// status returns the current counters, the number of accounts in progress
// and the time since the start.
func (r *reporter) status() (c Counters, running int, elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.countersLocked(), r.running, r.clk.Now().Sub(r.start)
}

func (r *reporter) countersLocked() Counters {
	return Counters{
		AccountsDone:   r.done,
		AccountsFailed: len(r.failed),
		AccountsTotal:  r.total,
		Folders:        int(r.folders.Load()),
		Messages:       r.messages.Load(),
		Bytes:          r.bytes.Load(),
	}
}

// logOutput writes log lines, for when nobody watches a terminal.
type logOutput struct {
	logger *slog.Logger
}

func (l *logOutput) accountStarted(addr string) {
	l.logger.Debug("account started", "account", addr)
}

func (l *logOutput) accountDone(addr string, err error, s AccountStats) {
	attrs := []any{
		"account", addr,
		"folders", s.Folders,
		"messages", s.Messages,
		"bytes", s.Bytes,
		"fetched_messages", s.FetchedMessages,
		"fetched_bytes", s.FetchedBytes,
		"duration", s.Duration,
	}
	if err != nil {
		l.logger.Error("account failed", append(attrs, "err", err)...)
		return
	}
	l.logger.Info("account done", attrs...)
}

func (l *logOutput) finish(s Summary) {
	level := slog.LevelInfo
	if s.AccountsFailed > 0 {
		level = slog.LevelWarn
	}
	l.logger.Log(context.Background(), level, "snapshot run finished",
		"accounts", s.AccountsTotal,
		"done", s.AccountsDone,
		"failed", s.AccountsFailed,
		"folders", s.Totals.Folders,
		"messages", s.Totals.Messages,
		"bytes", s.Totals.Bytes,
		"fetched_messages", s.Totals.FetchedMessages,
		"fetched_bytes", s.Totals.FetchedBytes,
		"elapsed", s.Elapsed,
	)
}
