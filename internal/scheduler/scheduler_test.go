package scheduler

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestDailyFiring(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 0, Minute: 0}
	accounts := &fakeAccounts{list: func(read int) []string {
		if read >= 3 { // the accounts file gains an account before the second night
			return []string{"a@example.com", "b@example.com", "c@example.org"}
		}
		return []string{"a@example.com", "b@example.com"}
	}}
	r := newRig(t, sched, time.Date(2026, 5, 1, 10, 0, 0, 0, loc), time.Date(2026, 5, 5, 12, 0, 0, 0, loc), accounts)
	// Today's snapshots exist: nothing to catch up at start-up.
	r.eng.commits["a@example.com"] = time.Date(2026, 5, 1, 0, 3, 0, 0, loc)
	r.eng.commits["b@example.com"] = time.Date(2026, 5, 1, 0, 4, 0, 0, loc)
	r.run()

	var want []time.Time
	for d := 2; d <= 5; d++ {
		want = append(want, time.Date(2026, 5, d, 0, 0, 0, 0, loc))
	}
	sameTimes(t, "engine runs", r.eng.callTimes(), want, loc)
	if got := r.eng.calls[0].accounts; len(got) != 2 {
		t.Errorf("first night snapshotted %v, want a and b", got)
	}
	if got := r.eng.calls[1].accounts; !slices.Contains(got, "c@example.org") {
		t.Errorf("second night snapshotted %v: the accounts file was not read again", got)
	}
	if r.accounts.reads != 5 {
		t.Errorf("accounts file read %d times, want 5 (start-up and 4 nights)", r.accounts.reads)
	}
	// Prune runs after each night's snapshots (1 min per account here).
	wantPrune := []time.Time{want[0].Add(2 * time.Minute), want[1].Add(3 * time.Minute),
		want[2].Add(3 * time.Minute), want[3].Add(3 * time.Minute)}
	sameTimes(t, "prunes", r.pruner.calls, wantPrune, loc)
}

// TestDSTNights runs the scheduler over both DST changes of 2026 in Rome,
// with nights that take long enough to end after the repeated hour.
func TestDSTNights(t *testing.T) {
	loc := rome(t)
	cet, cest := time.FixedZone("CET", 3600), time.FixedZone("CEST", 7200)
	tests := []struct {
		name         string
		hour, minute int
		start, limit time.Time
		want         []time.Time
	}{
		{"02:30 spring forward", 2, 30, time.Date(2026, 3, 27, 12, 0, 0, 0, loc), time.Date(2026, 3, 30, 12, 0, 0, 0, loc),
			[]time.Time{time.Date(2026, 3, 28, 2, 30, 0, 0, cet), time.Date(2026, 3, 29, 3, 0, 0, 0, cest),
				time.Date(2026, 3, 30, 2, 30, 0, 0, cest)}},
		{"02:30 fall back", 2, 30, time.Date(2026, 10, 23, 12, 0, 0, 0, loc), time.Date(2026, 10, 26, 12, 0, 0, 0, loc),
			[]time.Time{time.Date(2026, 10, 24, 2, 30, 0, 0, cest), time.Date(2026, 10, 25, 2, 30, 0, 0, cest),
				time.Date(2026, 10, 26, 2, 30, 0, 0, cet)}},
		{"00:00 spring forward", 0, 0, time.Date(2026, 3, 27, 12, 0, 0, 0, loc), time.Date(2026, 3, 30, 12, 0, 0, 0, loc),
			[]time.Time{time.Date(2026, 3, 28, 0, 0, 0, 0, cet), time.Date(2026, 3, 29, 0, 0, 0, 0, cet),
				time.Date(2026, 3, 30, 0, 0, 0, 0, cest)}},
		{"00:00 fall back", 0, 0, time.Date(2026, 10, 23, 12, 0, 0, 0, loc), time.Date(2026, 10, 26, 12, 0, 0, 0, loc),
			[]time.Time{time.Date(2026, 10, 24, 0, 0, 0, 0, cest), time.Date(2026, 10, 25, 0, 0, 0, 0, cest),
				time.Date(2026, 10, 26, 0, 0, 0, 0, cet)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sched := Schedule{Location: loc, Hour: tt.hour, Minute: tt.minute}
			r := newRig(t, sched, tt.start, tt.limit, staticAccounts("a@example.com", "b@example.com"))
			r.eng.commits["a@example.com"] = tt.start
			r.eng.commits["b@example.com"] = tt.start
			// 35 min per account: a 02:30 CEST night ends after 02:30 CET.
			r.eng.took = func(int, string) time.Duration { return 35 * time.Minute }
			r.run()
			sameTimes(t, "engine runs", r.eng.callTimes(), tt.want, loc)
			var nights []string
			for _, c := range r.eng.calls {
				nights = append(nights, sched.Night(c.at))
			}
			if len(slices.Compact(slices.Clone(nights))) != len(nights) {
				t.Errorf("a night ran twice: %v", nights)
			}
			if len(r.pruner.calls) != len(tt.want) {
				t.Errorf("%d prunes, want one per night", len(r.pruner.calls))
			}
		})
	}
}

func TestCatchUpAfterDowntime(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 2, Minute: 30}
	start := time.Date(2026, 5, 3, 9, 0, 0, 0, loc) // down at 02:30 today
	limit := time.Date(2026, 5, 4, 12, 0, 0, 0, loc)

	t.Run("missed night runs at start-up for the accounts that missed it", func(t *testing.T) {
		r := newRig(t, sched, start, limit, staticAccounts("a@example.com", "b@example.com", "new@example.com"))
		r.eng.commits["a@example.com"] = time.Date(2026, 5, 2, 2, 31, 0, 0, loc) // yesterday's
		r.eng.commits["b@example.com"] = time.Date(2026, 5, 3, 2, 40, 0, 0, loc) // today's, taken by hand
		r.run()
		sameTimes(t, "engine runs", r.eng.callTimes(), []time.Time{start, time.Date(2026, 5, 4, 2, 30, 0, 0, loc)}, loc)
		if got := r.eng.calls[0].accounts; !slices.Equal(got, []string{"a@example.com", "new@example.com"}) {
			t.Errorf("catch-up snapshotted %v, want a and new (b has today's snapshot)", got)
		}
		if got := r.eng.calls[1].accounts; len(got) != 3 {
			t.Errorf("next night snapshotted %v, want all three", got)
		}
		if len(r.pruner.calls) != 2 || !r.pruner.calls[0].Equal(start.Add(2*time.Minute)) {
			t.Errorf("prunes at %v, want after the catch-up and after the next night", r.pruner.calls)
		}
		if !slices.Contains(r.cat.nights, "2026-05-03 b@example.com ok") {
			t.Errorf("b's night not recorded as done: %v", r.cat.nights)
		}
	})
	t.Run("nothing missed: nothing runs at start-up", func(t *testing.T) {
		r := newRig(t, sched, start, limit, staticAccounts("a@example.com"))
		r.eng.commits["a@example.com"] = time.Date(2026, 5, 3, 2, 30, 0, 0, loc)
		r.run()
		sameTimes(t, "engine runs", r.eng.callTimes(), []time.Time{time.Date(2026, 5, 4, 2, 30, 0, 0, loc)}, loc)
		if len(r.pruner.calls) != 1 {
			t.Errorf("%d prunes, want only the night's", len(r.pruner.calls))
		}
	})
}

// TestNoOverlap has a night that lasts past the next fire time: the next
// night does not start beside it, but as soon as it ends, and only for the
// accounts without a snapshot since its fire time.
func TestNoOverlap(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 0, Minute: 0}
	start := time.Date(2026, 5, 1, 23, 0, 0, 0, loc)
	r := newRig(t, sched, start, time.Date(2026, 5, 3, 12, 0, 0, 0, loc),
		staticAccounts("a@example.com", "slow@example.com", "c@example.com"))
	for _, a := range []string{"a@example.com", "slow@example.com", "c@example.com"} {
		r.eng.commits[a] = start
	}
	r.eng.took = func(call int, a string) time.Duration {
		if call == 0 && a == "slow@example.com" {
			return 25 * time.Hour
		}
		return time.Hour
	}
	r.run()
	// 00:00 a (1 h), 01:00 slow (25 h), 02:00 next day c (1 h): ends 03:00.
	overdue := time.Date(2026, 5, 3, 3, 0, 0, 0, loc)
	sameTimes(t, "engine runs", r.eng.callTimes(), []time.Time{time.Date(2026, 5, 2, 0, 0, 0, 0, loc), overdue}, loc)
	if got := r.eng.calls[1].accounts; !slices.Equal(got, []string{"a@example.com", "slow@example.com"}) {
		t.Errorf("overdue night snapshotted %v, want a and slow (c's snapshot is from after 00:00)", got)
	}
	if r.eng.maxActive != 1 {
		t.Errorf("max concurrent engine runs = %d, want 1", r.eng.maxActive)
	}
}

func TestRetryBackoff(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 0, Minute: 0}
	fire := time.Date(2026, 5, 2, 0, 0, 0, 0, loc)
	for _, tt := range []struct {
		name   string
		rnd    fixedRand
		delays []time.Duration // Base 2m, Max 5m: 2m, 4m, 5m jittered to [d/2, d]
	}{
		{"shortest jitter", 0, []time.Duration{time.Minute, 2 * time.Minute, 150 * time.Second}},
		{"longest jitter", 1, []time.Duration{2 * time.Minute, 4 * time.Minute, 5 * time.Minute}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, sched, fire.Add(-time.Hour), fire.Add(time.Hour),
				staticAccounts("ok@example.com", "flaky@example.com", "dead@example.com"))
			for _, a := range []string{"ok@example.com", "flaky@example.com", "dead@example.com"} {
				r.eng.commits[a] = fire.Add(-time.Hour)
			}
			r.opts.Retry = Retry{Attempts: 4, Base: 2 * time.Minute, Max: 5 * time.Minute}
			r.opts.Rand = tt.rnd
			r.eng.took = func(int, string) time.Duration { return 0 }
			r.eng.fail = func(call int, a string) error {
				if a == "dead@example.com" || (a == "flaky@example.com" && call < 2) {
					return fmt.Errorf("attempt %d: login failed", call+1)
				}
				return nil
			}
			r.run()
			want := []time.Time{fire}
			for _, d := range tt.delays {
				want = append(want, want[len(want)-1].Add(d))
			}
			sameTimes(t, "attempts", r.eng.callTimes(), want, loc)
			var got [][]string
			for _, c := range r.eng.calls {
				got = append(got, c.accounts)
			}
			wantAccts := [][]string{{"ok@example.com", "flaky@example.com", "dead@example.com"},
				{"flaky@example.com", "dead@example.com"}, {"flaky@example.com", "dead@example.com"}, {"dead@example.com"}}
			if fmt.Sprint(got) != fmt.Sprint(wantAccts) {
				t.Errorf("attempts took %v, want %v", got, wantAccts)
			}
			wantNights := []string{"2026-05-02 ok@example.com ok", "2026-05-02 flaky@example.com ok",
				"2026-05-02 dead@example.com attempt 4: login failed"}
			if !slices.Equal(r.cat.nights, wantNights) {
				t.Errorf("recorded %q, want %q (one record per account and night)", r.cat.nights, wantNights)
			}
		})
	}
}

func TestRetryDelayBounds(t *testing.T) {
	p := Retry{Attempts: 10, Base: time.Minute, Max: 20 * time.Minute}
	for n := 1; n <= 8; n++ {
		d := min(time.Minute<<(n-1), 20*time.Minute)
		lo, hi := p.Delay(n, fixedRand(0)), p.Delay(n, fixedRand(1))
		if lo != d/2 || hi != d {
			t.Errorf("retry %d: delay in [%v, %v], want [%v, %v]", n, lo, hi, d/2, d)
		}
	}
}

// TestRetryNeverPastTheNextNight: a retry that could not start before the
// next night is due is not made; that night takes the account again.
func TestRetryNeverPastTheNextNight(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 0, Minute: 0}
	fire := time.Date(2026, 5, 2, 0, 0, 0, 0, loc)
	r := newRig(t, sched, fire, fire.Add(30*time.Hour), staticAccounts("dead@example.com"))
	r.eng.took = func(call int, _ string) time.Duration {
		if call == 0 {
			return 23*time.Hour + 59*time.Minute // the first retry would wake after 00:00
		}
		return time.Minute
	}
	r.eng.fail = func(int, string) error { return errors.New("refused") }
	r.run()
	next := time.Date(2026, 5, 3, 0, 0, 0, 0, loc)
	if got := r.eng.callTimes(); len(got) < 2 || !got[1].Equal(next) {
		t.Errorf("attempts at %v: want the second at the next night, %v", got, next)
	}
	for _, s := range r.clk.sleeps {
		if s.After(fire) && s.Before(next) {
			t.Errorf("slept until %v for a retry, inside the night", s)
		}
	}
}

func TestFailureAlertOncePerStreak(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 0, Minute: 0}
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, loc)
	r := newRig(t, sched, start, time.Date(2026, 5, 8, 12, 0, 0, 0, loc),
		staticAccounts("ok@example.com", "bad@example.com"))
	r.opts.Retry = Retry{Attempts: 3}
	r.notifier.fail = 1 // the first notification fails and is made again after the next failed night
	// bad fails on nights 1-3 and 5-7 (of May), succeeds on night 4 and 8.
	r.eng.fail = func(_ int, a string) error {
		day := r.clk.Now().In(loc).Day()
		if a == "bad@example.com" && day != 4 && day != 8 {
			return fmt.Errorf("night %d: quota", day)
		}
		return nil
	}
	r.run()
	want := []notification{
		{"bad@example.com", []NightResult{{"2026-05-01", "night 1: quota"}, {"2026-05-03", "night 3: quota"}}},
		{"bad@example.com", []NightResult{{"2026-05-05", "night 5: quota"}, {"2026-05-06", "night 6: quota"}}},
	}
	if fmt.Sprint(r.notifier.sent) != fmt.Sprint(want) {
		t.Errorf("notifications:\n got  %v\n want %v", r.notifier.sent, want)
	}
	if n := len(r.eng.calls); n != 6*3+2 { // 6 failing nights of 3 attempts, nights 4 and 8 of one
		t.Errorf("%d engine runs, want 20", n)
	}
	if st := r.cat.streak(t, "bad@example.com"); st.Nights != 0 {
		t.Errorf("streak after a good night = %+v", st)
	}
}

func TestRunRefusesASecondLoop(t *testing.T) {
	loc := rome(t)
	r := newRig(t, Schedule{Location: loc}, time.Date(2026, 5, 1, 12, 0, 0, 0, loc),
		time.Date(2026, 5, 2, 12, 0, 0, 0, loc), staticAccounts())
	s, err := New(r.opts)
	if err != nil {
		t.Fatal(err)
	}
	s.running.Store(true)
	if err := s.Run(t.Context()); err == nil {
		t.Fatal("a second Run started")
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("New accepted empty options")
	}
}
