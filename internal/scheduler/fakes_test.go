package scheduler

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/snapshot"
)

// testClock is a clock.Fake whose sleeps end the test's scheduler once
// they would pass limit.
type testClock struct {
	*clock.Fake
	limit  time.Time
	cancel context.CancelFunc
	mu     sync.Mutex
	sleeps []time.Time
}

func (c *testClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	c.sleeps = append(c.sleeps, t)
	c.mu.Unlock()
	if t.After(c.limit) {
		c.cancel()
		return ctx.Err()
	}
	return c.Fake.SleepUntil(ctx, t)
}

// engineCall is one Engine.Run: when it started and for whom.
type engineCall struct {
	at       time.Time
	accounts []string
}

// fakeEngine "snapshots" accounts one after the other on the fake clock.
type fakeEngine struct {
	clk *clock.Fake
	// took is how long an account's snapshot takes (default 1 min).
	took func(call int, address string) time.Duration
	// fail decides whether an account's attempt fails.
	fail func(call int, address string) error

	mu        sync.Mutex
	calls     []engineCall
	active    int
	maxActive int
	commits   map[string]time.Time // taken_at of each account's last success
}

func newFakeEngine(clk *clock.Fake) *fakeEngine {
	return &fakeEngine{clk: clk, commits: map[string]time.Time{}}
}

func (e *fakeEngine) Run(ctx context.Context, accounts []string) []snapshot.Result {
	e.mu.Lock()
	e.active++
	e.maxActive = max(e.maxActive, e.active)
	call := len(e.calls)
	e.calls = append(e.calls, engineCall{at: e.clk.Now(), accounts: slices.Clone(accounts)})
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.active--
		e.mu.Unlock()
	}()
	var out []snapshot.Result
	for _, a := range accounts {
		start := e.clk.Now()
		d := time.Minute
		if e.took != nil {
			d = e.took(call, a)
		}
		e.clk.Advance(d)
		var err error
		if e.fail != nil {
			err = e.fail(call, a)
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		if err == nil {
			e.mu.Lock()
			e.commits[a] = start
			e.mu.Unlock()
		}
		out = append(out, snapshot.Result{Address: a, Err: err, Duration: d,
			Snapshot: catalog.Snapshot{ID: 1, State: catalog.StateCommitted, TakenAt: start}})
	}
	return out
}

func (e *fakeEngine) callTimes() []time.Time {
	var out []time.Time
	for _, c := range e.calls {
		out = append(out, c.at)
	}
	return out
}

// fakeCatalog is a real SQLite catalog on the test's clock, so that the
// failure streaks follow the catalog's own rules, except that the last
// snapshots come from the fake engine. It notes every night recorded.
type fakeCatalog struct {
	*catalog.DB
	eng    *fakeEngine
	nights []string // "night account ok|failure" as recorded
}

func newFakeCatalog(t *testing.T, eng *fakeEngine, clk clock.Clock) *fakeCatalog {
	db, err := catalog.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"),
		catalog.Options{Clock: clk, Owner: "test:1:scheduler"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return &fakeCatalog{DB: db, eng: eng}
}

func (c *fakeCatalog) BackupStatus(context.Context) ([]catalog.AccountStatus, error) {
	c.eng.mu.Lock()
	defer c.eng.mu.Unlock()
	var out []catalog.AccountStatus
	for a, t := range c.eng.commits {
		out = append(out, catalog.AccountStatus{Address: a, LastSuccess: catalog.Snapshot{ID: 1, TakenAt: t}})
	}
	return out, nil
}

func (c *fakeCatalog) RecordNight(ctx context.Context, address, night, failure string) (catalog.FailureStreak, error) {
	c.nights = append(c.nights, night+" "+address+" "+map[bool]string{true: "ok", false: failure}[failure == ""])
	return c.DB.RecordNight(ctx, address, night, failure)
}

// streak is the account's failure streak as the catalog keeps it.
func (c *fakeCatalog) streak(t *testing.T, address string) catalog.FailureStreak {
	t.Helper()
	st, err := c.FailureStreak(context.Background(), address)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fakeAccounts is an accounts file whose content can change between nights.
type fakeAccounts struct {
	list  func(read int) []string
	reads int
}

func (a *fakeAccounts) List(context.Context) ([]string, error) {
	a.reads++
	return a.list(a.reads), nil
}

func staticAccounts(addrs ...string) *fakeAccounts {
	return &fakeAccounts{list: func(int) []string { return addrs }}
}

type fakePruner struct {
	clk   clock.Clock
	calls []time.Time
}

func (p *fakePruner) Prune(context.Context, []string) error {
	p.calls = append(p.calls, p.clk.Now())
	return nil
}

type notification struct {
	account string
	nights  []NightResult
}

type fakeNotifier struct {
	sent     []notification
	fail     int      // fail this many calls first
	nightsOK []string // "account night" of every MassDeletion call
}

func (n *fakeNotifier) MassDeletion(_ context.Context, account, night string) error {
	n.nightsOK = append(n.nightsOK, account+" "+night)
	return nil
}

func (n *fakeNotifier) AccountFailing(_ context.Context, account string, nights []NightResult) error {
	if n.fail > 0 {
		n.fail--
		return errors.New("smtp down")
	}
	n.sent = append(n.sent, notification{account, nights})
	return nil
}

// fixedRand returns the same fraction of n every time: 0 gives the shortest
// jittered delay, 1 the longest.
type fixedRand float64

func (r fixedRand) Int64N(n int64) int64 { return int64(float64(n-1) * float64(r)) }

// rig is a scheduler on fakes, run in the test's goroutine from start until
// it would sleep past limit.
type rig struct {
	t        *testing.T
	clk      *testClock
	eng      *fakeEngine
	cat      *fakeCatalog
	accounts *fakeAccounts
	pruner   *fakePruner
	notifier *fakeNotifier
	opts     Options
}

func newRig(t *testing.T, sched Schedule, start, limit time.Time, accounts *fakeAccounts) *rig {
	fake := clock.NewFake(start)
	eng := newFakeEngine(fake)
	r := &rig{t: t, clk: &testClock{Fake: fake, limit: limit}, eng: eng, cat: newFakeCatalog(t, eng, fake),
		accounts: accounts, pruner: &fakePruner{clk: fake}, notifier: &fakeNotifier{}}
	r.opts = Options{Schedule: sched, Clock: r.clk, Accounts: accounts, Engine: eng, Catalog: r.cat,
		Pruner: r.pruner, Notifier: r.notifier, Rand: fixedRand(0.5)}
	return r
}

// run runs the scheduler until the limit and checks it never overlapped.
func (r *rig) run() {
	r.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.clk.cancel = cancel
	s, err := New(r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
		r.t.Fatalf("Run returned %v, want context.Canceled at the limit", err)
	}
	if r.eng.maxActive > 1 {
		r.t.Errorf("%d engine runs overlapped", r.eng.maxActive)
	}
}

// sameTimes compares instants, printing them in loc.
func sameTimes(t *testing.T, what string, got, want []time.Time, loc *time.Location) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Equal(want[i])
	}
	if !ok {
		f := func(ts []time.Time) []string {
			var s []string
			for _, x := range ts {
				s = append(s, x.In(loc).Format("2006-01-02 15:04 MST"))
			}
			return s
		}
		t.Errorf("%s:\n got  %v\n want %v", what, f(got), f(want))
	}
}
