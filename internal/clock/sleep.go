package clock

import (
	"context"
	"time"
)

// Sleeper is a clock that can wait for a time on itself.
type Sleeper interface {
	Clock
	// SleepUntil returns nil once the clock reads t or later, or ctx's
	// error if ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// Sleep waits d as c measures it: in real time on a real or shifted
// clock, at once (moving it) on a Fake. It returns ctx's error if ctx ends
// first.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	s := SleeperOf(c)
	return s.SleepUntil(ctx, s.Now().Add(d))
}

// pollStep is the longest a real sleep waits before it reads the clock
// again, so that a wall clock that jumps (NTP, suspend, a Shifted clock)
// delays a wake-up by at most this much.
const pollStep = time.Minute

// SleeperOf returns c itself when it can sleep, and otherwise a Sleeper that
// waits in real time, reading c at least once a minute.
func SleeperOf(c Clock) Sleeper {
	if s, ok := c.(Sleeper); ok {
		return s
	}
	return polling{c}
}

// polling sleeps in real time on any clock.
type polling struct{ Clock }

func (p polling) SleepUntil(ctx context.Context, t time.Time) error {
	return sleepUntil(ctx, p.Clock, t)
}

// SleepUntil waits in real time until the system clock reads t.
func (r Real) SleepUntil(ctx context.Context, t time.Time) error { return sleepUntil(ctx, r, t) }

// SleepUntil waits in real time until the shifted clock reads t.
func (s Shifted) SleepUntil(ctx context.Context, t time.Time) error { return sleepUntil(ctx, s, t) }

func sleepUntil(ctx context.Context, c Clock, t time.Time) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := t.Sub(c.Now())
		if d <= 0 {
			return nil
		}
		timer := time.NewTimer(min(d, pollStep))
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// SleepUntil moves the fake forward to t (never backward) and returns at
// once: on a Fake, time passes only when somebody waits, so a test can run
// days of a schedule in microseconds and in a fixed order. It returns ctx's
// error, without moving, if ctx has ended.
func (f *Fake) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	return nil
}
