// Package clock is the only place in mtm that reads the wall clock.
//
// Everything that needs the time takes a Clock, so tests can run days,
// time zones and DST changes on a Fake without sleeping.
//
// The rule for waiting: a wait for a time or a duration that the product
// measures (until the next night, a retry's backoff, a deadline, a settle
// period, a poll before giving up) goes through the injected clock, with
// Sleep or Sleeper.SleepUntil, so that a Fake moves through it at once. A
// pace only sets how often background work runs and is never compared with
// the clock (a heartbeat's period, a progress line's refresh, the search
// indexer's poll): it may use a time.Ticker in real time.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// Fake is a settable clock for tests. The zero value starts at the zero time;
// use NewFake to start elsewhere. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake that reads t until it is changed.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set moves the fake to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

// Advance moves the fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// Shifted is the system clock moved by a fixed offset: it runs at the real
// pace from another starting point. Tests and benchmarks that run mtm as a
// process use it to take snapshots on other days.
type Shifted struct {
	Offset time.Duration
}

// ShiftedTo returns a Shifted clock that reads t now.
func ShiftedTo(t time.Time) Shifted { return Shifted{Offset: time.Until(t)} }

// Now returns the system time plus the offset.
func (s Shifted) Now() time.Time { return time.Now().Add(s.Offset) }
