package catalogtest

import (
	"context"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// begin starts a snapshot run of address.
func begin(t *testing.T, db catalog.Catalog, address string) *catalog.Run {
	t.Helper()
	ctx := context.Background()
	acct, err := db.Account(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// commitOne takes a snapshot of address holding one message of body, taking
// d on the clock.
func commitOne(t *testing.T, db catalog.Catalog, clk *clock.Fake, address, body string, d time.Duration) catalog.Snapshot {
	t.Helper()
	ctx := context.Background()
	r := begin(t, db, address)
	inbox, err := r.Mailbox(ctx, "INBOX", uint32(clk.Now().Unix())) // a new identity each time
	if err != nil {
		t.Fatal(err)
	}
	var b catalog.Batch
	b.AddMessage(inbox.ID, 1, nil, clk.Now(), content(body))
	if err := r.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := r.StageFolders(ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: inbox.ID, Delimiter: "/"}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(d)
	s, err := r.Commit(ctx, catalog.RunStats{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// failOne records a failed snapshot of address.
func failOne(t *testing.T, db catalog.Catalog, address, reason string) {
	t.Helper()
	ctx := context.Background()
	r := begin(t, db, address)
	if err := r.Fail(ctx, reason); err != nil {
		t.Fatal(err)
	}
}

func (cs suite) testBackupStatus(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:status")

	// ok: two good snapshots; the newest counts.
	commitOne(t, db, clk, "ok@example.com", "first", time.Minute)
	okSnap := commitOne(t, db, clk, "ok@example.com", "second message", 3*time.Minute)
	// recovered: a failure, then a success: not failing.
	failOne(t, db, "recovered@example.com", "old trouble")
	commitOne(t, db, clk, "recovered@example.com", "x", time.Second)
	// broken: a success, then a failed snapshot.
	brokenSnap := commitOne(t, db, clk, "broken@example.com", "y", time.Second)
	clk.Advance(time.Hour)
	brokenAt := clk.Now()
	failOne(t, db, "broken@example.com", "login refused")
	// never: failing for two nights and notified, never a snapshot row.
	for _, night := range []string{"2026-04-30", "2026-05-01"} {
		if _, err := db.RecordNight(ctx, "never@example.com", night, "dial tcp: refused"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.MarkNotified(ctx, "never@example.com", "2026-04-30"); err != nil {
		t.Fatal(err)
	}
	// running: a snapshot in progress, none before.
	acct, err := db.Account(ctx, "running@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginSnapshot(ctx, acct); err != nil {
		t.Fatal(err)
	}

	got, err := db.BackupStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	byAddr := map[string]catalog.AccountStatus{}
	for _, s := range got {
		order = append(order, s.Address)
		byAddr[s.Address] = s
	}
	want := []string{"never@example.com", "broken@example.com", "ok@example.com", "recovered@example.com",
		"running@example.com"}
	if len(order) != len(want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order = %v, want %v (failing first, longest streak first)", order, want)
		}
	}

	ok := byAddr["ok@example.com"]
	if ok.LastSuccess.ID != okSnap.ID || ok.Duration != 3*time.Minute || ok.LastSuccess.Messages != 1 ||
		ok.LastSuccess.Bytes != int64(len("second message")) || !ok.LastSuccess.TakenAt.Equal(okSnap.TakenAt) ||
		ok.Failing() || ok.Running {
		t.Errorf("ok = %+v, want snapshot %d, 3m, 1 message, 14 bytes, not failing", ok, okSnap.ID)
	}
	if r := byAddr["recovered@example.com"]; r.Failing() || r.LastError != "" {
		t.Errorf("recovered = %+v: an error older than the last success still shows", r)
	}
	b := byAddr["broken@example.com"]
	if b.LastError != "login refused" || !b.LastErrorAt.Equal(brokenAt) || b.LastSuccess.ID != brokenSnap.ID ||
		b.FailingNights != 0 {
		t.Errorf("broken = %+v, want error %q at %v after snapshot %d", b, "login refused", brokenAt, brokenSnap.ID)
	}
	n := byAddr["never@example.com"]
	if n.LastSuccess.ID != 0 || n.LastError != "dial tcp: refused" || n.FailingNights != 2 ||
		n.FailingSince != "2026-04-30" || n.Notified.IsZero() {
		t.Errorf("never = %+v, want no snapshot, 2 failing nights since 2026-04-30, notified", n)
	}
	if r := byAddr["running@example.com"]; !r.Running || r.Failing() || r.LastSuccess.ID != 0 {
		t.Errorf("running = %+v, want running with no snapshot", r)
	}
}

func (cs suite) testRecordNightStreaks(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 22, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	db := store(t, catalog.Options{Clock: clk, Owner: "test:1:streak"})
	const a = "Alice@Example.com"
	steps := []struct {
		night, failure string
		nights         int
		first, lastErr string
	}{
		{"2026-05-01", "boom 1", 1, "2026-05-01", "boom 1"},
		{"2026-05-01", "boom 1b", 1, "2026-05-01", "boom 1b"}, // a retry of the same night
		{"2026-05-02", "boom 2", 2, "2026-05-01", "boom 2"},
		{"2026-05-01", "late", 2, "2026-05-01", "late"}, // an older night never lengthens it
		{"2026-05-03", "", 0, "", ""},
		{"2026-05-04", "boom 4", 1, "2026-05-04", "boom 4"},
	}
	for i, s := range steps {
		st, err := db.RecordNight(ctx, a, s.night, s.failure)
		if err != nil {
			t.Fatal(err)
		}
		if st.Nights != s.nights || st.FirstNight != s.first || st.LastError != s.lastErr ||
			st.Address != "alice@example.com" {
			t.Errorf("step %d (%s %q): streak %+v, want %d nights since %q, error %q",
				i, s.night, s.failure, st, s.nights, s.first, s.lastErr)
		}
		if i == 2 {
			// Notified for the streak of 05-01; a stale mark of another
			// streak changes nothing.
			if err := db.MarkNotified(ctx, a, "2026-04-01"); err != nil {
				t.Fatal(err)
			}
			if st, _ := db.FailureStreak(ctx, a); !st.NotifiedAt.IsZero() {
				t.Errorf("marking another streak notified marked this one")
			}
			if err := db.MarkNotified(ctx, a, "2026-05-01"); err != nil {
				t.Fatal(err)
			}
		}
		if i == 3 {
			if st.NotifiedAt.IsZero() {
				t.Errorf("notification of the streak forgotten: %+v", st)
			}
		}
	}
	// The new streak is not notified, and that survives reopening.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = store(t, catalog.Options{Clock: clk, Owner: "test:2:streak"})
	st, err := db.FailureStreak(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if st.Nights != 1 || st.FirstNight != "2026-05-04" || !st.NotifiedAt.IsZero() {
		t.Errorf("after reopening: %+v, want 1 night since 2026-05-04, not notified", st)
	}
	none, err := db.FailureStreak(ctx, "nobody@example.com")
	if err != nil || none.Nights != 0 {
		t.Errorf("streak of an unknown account = %+v, %v", none, err)
	}
}
