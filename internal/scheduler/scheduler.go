package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/config"
	"mtm/internal/snapshot"
)

// Engine takes snapshots of accounts, a bounded number at a time;
// *snapshot.Engine is one.
type Engine interface {
	Run(ctx context.Context, accounts []string) []snapshot.Result
}

// Accounts lists the accounts to back up. It is asked again every night.
type Accounts interface {
	List(ctx context.Context) ([]string, error)
}

// AccountsFile is the accounts file (accounts.file), read with
// config.ReadAccounts.
type AccountsFile string

// List reads the file.
func (f AccountsFile) List(context.Context) ([]string, error) { return config.ReadAccounts(string(f)) }

// Catalog is what the scheduler needs of the catalog; *catalog.DB is one.
type Catalog interface {
	catalog.Maintenance
}

// Pruner applies retention after a night's snapshots; Prune (prune.go) is
// the one mtm uses. listed is the night's accounts file.
type Pruner interface {
	Prune(ctx context.Context, listed []string) error
}

// NightResult is one failed night of an account.
type NightResult struct {
	Night string // YYYY-MM-DD of the night's scheduled run, in timezone
	Error string // the last error of that night
}

// Notifier tells an account's domain admins that its backups fail.
type Notifier interface {
	// AccountFailing is called once per failure streak, when the account
	// has failed on two consecutive nights; nights are the streak's first
	// and latest failed nights, oldest first. An error makes the
	// scheduler call again after the next failed night. StreakKey names
	// the streak, for an outbox that enqueues each key once.
	AccountFailing(ctx context.Context, account string, nights []NightResult) error
	// MassDeletion is called after each successful night of an account: it
	// warns when the night's snapshot found many messages, or a folder
	// with messages, vanished, once per account and night.
	MassDeletion(ctx context.Context, account, night string) error
}

// StreakKey is a stable name of an account's failure streak: the same for
// every call about the same streak, different for a later streak.
func StreakKey(account string, nights []NightResult) string {
	first := ""
	if len(nights) > 0 {
		first = nights[0].Night
	}
	return "account-failing:" + account + ":" + first
}

// Observer receives what the scheduler does, for metrics. Its methods
// must return quickly.
type Observer interface {
	// Snapshot is called for every attempt at every account.
	Snapshot(r snapshot.Result, attempt int)
	// Night is called at the end of every night that ran snapshots.
	Night(r NightReport)
}

// Rand is a source of random numbers for jitter; *rand.Rand of
// math/rand/v2 is one.
type Rand interface {
	Int64N(n int64) int64
}

// Options configure a Scheduler. Schedule, Clock, Accounts, Engine and
// Catalog are required.
type Options struct {
	Schedule Schedule
	Clock    clock.Clock // waited on through clock.SleeperOf
	Accounts Accounts
	Engine   Engine
	Catalog  Catalog
	Pruner   Pruner   // nil: no prune
	Notifier Notifier // nil: failing accounts are only logged, and told once one is set
	Observer Observer // may be nil
	Logger   *slog.Logger
	Retry    Retry
	Rand     Rand // default: math/rand/v2
	// AlertAfter is how many consecutive failed nights make an alert;
	// default 2.
	AlertAfter int
}

// Scheduler runs the nights. Build it with New.
type Scheduler struct {
	sched    Schedule
	clk      clock.Sleeper
	accounts Accounts
	engine   Engine
	cat      Catalog
	pruner   Pruner
	outcomes *Outcomes
	obs      Observer
	log      *slog.Logger
	retry    Retry
	rand     Rand
	running  atomic.Bool
}

// New checks opts and returns a scheduler.
func New(opts Options) (*Scheduler, error) {
	var errs []error
	if opts.Schedule.Location == nil || opts.Schedule.Hour < 0 || opts.Schedule.Hour > 23 ||
		opts.Schedule.Minute < 0 || opts.Schedule.Minute > 59 {
		errs = append(errs, errors.New("scheduler: schedule needs a location and a time of day"))
	}
	if opts.Clock == nil || opts.Accounts == nil || opts.Engine == nil || opts.Catalog == nil {
		errs = append(errs, errors.New("scheduler: clock, accounts, engine and catalog are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Scheduler{sched: opts.Schedule, clk: clock.SleeperOf(opts.Clock), accounts: opts.Accounts,
		engine: opts.Engine, cat: opts.Catalog, pruner: opts.Pruner,
		obs: opts.Observer, log: opts.Logger, retry: opts.Retry.withDefaults(), rand: opts.Rand}
	if s.obs == nil {
		s.obs = nopObserver{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.rand == nil {
		s.rand = GlobalRand{}
	}
	s.outcomes = &Outcomes{Catalog: opts.Catalog, Notifier: opts.Notifier, AlertAfter: opts.AlertAfter, Logger: s.log}
	return s, nil
}

// Run runs nights until ctx ends, and then returns ctx's error. It first
// runs the night last due (catch-up: only accounts that missed it have
// anything to do), then sleeps until each next fire time. A night that is
// still going when the next one is due delays it: the next night starts
// as soon as it ends, for the accounts without a snapshot since the
// overdue fire time, and fire times it overran entirely are skipped.
// When ctx ends during a night, the engine abandons its runs (they are
// failed in the catalog and resumed later) and nothing is recorded for
// the night: the next start catches it up.
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("scheduler: already running")
	}
	defer s.running.Store(false)
	s.log.Info("scheduler started", "schedule", s.sched.String(), "next", s.sched.Next(s.clk.Now()))
	for {
		fire := s.sched.Prev(s.clk.Now())
		s.night(ctx, fire)
		if err := ctx.Err(); err != nil {
			return err
		}
		next := s.sched.Next(fire)
		if now := s.clk.Now(); !now.Before(next) {
			s.log.Warn("night overran the next fire time; the next night starts now",
				"night", s.sched.Night(fire), "due", next, "now", now)
		}
		if err := s.clk.SleepUntil(ctx, next); err != nil {
			return err
		}
	}
}

type nopObserver struct{}

func (nopObserver) Snapshot(snapshot.Result, int) {}
func (nopObserver) Night(NightReport)             {}

// GlobalRand is math/rand/v2's global source, safe for concurrent use.
type GlobalRand struct{}

// Int64N is rand.Int64N.
func (GlobalRand) Int64N(n int64) int64 { return rand.Int64N(n) }

// Retry is the policy for accounts that fail within a night.
type Retry struct {
	// Attempts is how many times an account is tried per night, the first
	// included; default 4. 1 disables retries.
	Attempts int
	// Base is the delay before the first retry (default 2 min); each
	// further retry doubles it, up to Max (default 30 min).
	Base, Max time.Duration
}

func (r Retry) withDefaults() Retry {
	if r.Attempts < 1 {
		r.Attempts = 4
	}
	if r.Base <= 0 {
		r.Base = 2 * time.Minute
	}
	if r.Max < r.Base {
		r.Max = max(30*time.Minute, r.Base)
	}
	return r
}

// Delay returns the wait before retry n (1 is the first retry): the
// exponential delay d = min(Max, Base·2^(n-1)) with jitter, uniformly in
// [d/2, d], so that accounts failing together do not retry in lockstep.
func (r Retry) Delay(n int, rnd Rand) time.Duration {
	r = r.withDefaults()
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	d = min(d, r.Max)
	half := d / 2
	return half + time.Duration(rnd.Int64N(int64(d-half)+1))
}
