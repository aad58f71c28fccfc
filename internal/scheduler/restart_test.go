package scheduler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// TestFailureAlertSurvivesRestart runs the scheduler in four lives over one
// SQLite catalog while an account keeps failing: the streak counts nights,
// not restarts or catch-ups, and its admins are told exactly once, even by
// a process that restarts after telling them.
func TestFailureAlertSurvivesRestart(t *testing.T) {
	loc := rome(t)
	sched := Schedule{Location: loc, Hour: 0, Minute: 0}
	path := filepath.Join(t.TempDir(), "catalog.db")
	notifier := &fakeNotifier{}
	const bad = "bad@example.com"
	failUntil := time.Date(2026, 5, 4, 0, 0, 0, 0, loc) // bad recovers on night 4, fails again from night 5

	life := func(start, limit time.Time) {
		t.Helper()
		fake := clock.NewFake(start)
		db, err := catalog.Open(context.Background(), path, catalog.Options{Clock: fake, Location: loc,
			Owner: "test:1:restart"})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		}()
		eng := newFakeEngine(fake)
		eng.fail = func(_ int, a string) error {
			now := fake.Now()
			if a == bad && (now.Before(failUntil) || now.After(failUntil.Add(time.Hour))) {
				return fmt.Errorf("refused on %s", now.In(loc).Format(time.DateOnly))
			}
			return nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s, err := New(Options{Schedule: sched, Clock: &testClock{Fake: fake, limit: limit, cancel: cancel},
			Accounts: staticAccounts("ok@example.com", bad), Engine: eng, Catalog: db, Notifier: notifier,
			Retry: Retry{Attempts: 2}, Rand: fixedRand(0)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	}
	streak := func() catalog.FailureStreak {
		t.Helper()
		db, err := catalog.Open(context.Background(), path, catalog.Options{Location: loc})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := db.Close(); err != nil {
				t.Error(err)
			}
		}()
		st, err := db.FailureStreak(context.Background(), bad)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	day := func(d, h int) time.Time { return time.Date(2026, 5, d, h, 0, 0, 0, loc) }

	life(day(1, 0), day(1, 12)) // night 1 fails
	if st := streak(); st.Nights != 1 || len(notifier.sent) != 0 {
		t.Fatalf("after night 1: %+v, %d notifications", st, len(notifier.sent))
	}
	life(day(1, 18), day(2, 6)) // catch-up of night 1 fails again (same night), night 2 fails: tell
	if st := streak(); st.Nights != 2 || st.NotifiedAt.IsZero() || len(notifier.sent) != 1 {
		t.Fatalf("after night 2: %+v, %d notifications; want 2 nights, notified once", st, len(notifier.sent))
	}
	life(day(2, 7), day(3, 6)) // catch-up of night 2 and night 3 fail: no second notification
	if st := streak(); st.Nights != 3 || len(notifier.sent) != 1 {
		t.Fatalf("after night 3: %+v, %d notifications; want 3 nights, still one", st, len(notifier.sent))
	}
	life(day(3, 7), day(6, 6)) // night 4 succeeds; nights 5 and 6 fail: a new streak, told once
	if st := streak(); st.Nights != 2 || st.FirstNight != "2026-05-05" || len(notifier.sent) != 2 {
		t.Fatalf("after night 6: %+v, %d notifications; want a new 2-night streak, two in all",
			st, len(notifier.sent))
	}
	// Only successful nights ask whether mail vanished: bad's night 4.
	if got := strings.Join(notifier.nightsOK, "|"); !strings.Contains(got, "bad@example.com 2026-05-04") ||
		strings.Contains(got, "bad@example.com 2026-05-05") || strings.Contains(got, "bad@example.com 2026-05-01") {
		t.Errorf("the vanished-mail check ran for %s", got)
	}
	want := []NightResult{{"2026-05-01", "refused on 2026-05-01"}, {"2026-05-02", "refused on 2026-05-02"}}
	if fmt.Sprint(notifier.sent[0].nights) != fmt.Sprint(want) {
		t.Errorf("first notification told %v, want %v", notifier.sent[0].nights, want)
	}
}
