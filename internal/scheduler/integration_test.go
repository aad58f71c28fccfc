package scheduler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/checker"
	"mtm/internal/clock"
	"mtm/internal/snapshot"
	"mtm/internal/testenv/dovecot"
)

// recorder is an Observer that keeps everything.
type recorder struct {
	results []snapshot.Result
	nights  []NightReport
	onNight func(NightReport)
}

func (r *recorder) Snapshot(res snapshot.Result, _ int) { r.results = append(r.results, res) }
func (r *recorder) Night(n NightReport) {
	r.nights = append(r.nights, n)
	if r.onNight != nil {
		r.onNight(n)
	}
}

func mail(subject string) []byte {
	return fmt.Appendf(nil, "From: Carol <carol@example.com>\r\nTo: alice@example.com\r\nSubject: %s\r\n"+
		"Date: Sat, 24 Oct 2026 10:00:00 +0200\r\nMessage-ID: <%d@example.com>\r\n\r\n%s\r\n",
		subject, len(subject), subject)
}

// TestTwoNightsOnDovecot runs the scheduler with the real engine against a
// private Dovecot on a fake clock: the night missed before start-up (24
// October) is caught up, the next night runs at 02:30 on the day the
// clocks go back, mail that arrived in between is fetched, each night
// commits one snapshot per account, and prune after the second night drops
// the first night's snapshots (retention_days = 1).
func TestTwoNightsOnDovecot(t *testing.T) {
	ctx := context.Background()
	loc := rome(t)
	dc := dovecot.Start(t)
	const alice, bob = "alice@example.com", "bob@example.com"
	date := time.Date(2026, 10, 24, 10, 0, 0, 0, loc)
	for _, a := range []string{alice, bob} {
		dc.AddUser(t, a, "pw")
		dc.Append(t, a, "INBOX", mail("hello "+a), nil, date)
		dc.Append(t, a, "Archive/2026", mail("old news for "+a), nil, date)
	}
	dir := t.TempDir()
	accountsFile := filepath.Join(dir, "accounts.txt")
	if err := os.WriteFile(accountsFile, []byte(alice+"\n"+bob+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 10, 24, 12, 0, 0, 0, loc)
	fake := clock.NewFake(start)
	cat, err := catalog.Open(ctx, filepath.Join(dir, "catalog.db"), catalog.Options{Clock: fake, Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	eng := snapshot.New(cat, blobs, snapshot.Options{
		Server:             dc.IMAPServer(),
		ConcurrentAccounts: 2, Clock: fake,
	})
	rec := &recorder{onNight: func(n NightReport) {
		if n.Night == "2026-10-24" { // new mail for the second night
			dc.Append(t, alice, "INBOX", mail("arrived in the evening"), nil, date)
		}
	}}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := New(Options{
		Schedule: Schedule{Location: loc, Hour: 2, Minute: 30},
		Clock:    &testClock{Fake: fake, limit: time.Date(2026, 10, 25, 12, 0, 0, 0, loc), cancel: cancel},
		Accounts: AccountsFile(accountsFile), Engine: eng, Catalog: cat, Observer: rec,
		Pruner: &Prune{Catalog: cat, Blobs: blobs, Days: 1, Location: loc, Clock: fake},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(runCtx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}

	checkNights(t, rec, start, time.Date(2026, 10, 25, 2, 30, 0, 0, time.FixedZone("CEST", 7200)))
	checkAfterPrune(t, cat)
	rep, err := checker.Check(ctx, cat, blobs, checker.Options{ReadDataPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("integrity check: %q", rep.Problems)
	}
}

// checkNights checks that two nights ran at the expected times, each
// committing one snapshot per account on its day, and pruned.
func checkNights(t *testing.T, rec *recorder, first, second time.Time) {
	t.Helper()
	if len(rec.nights) != 2 {
		t.Fatalf("%d nights ran, want 2: %+v", len(rec.nights), rec.nights)
	}
	for i, want := range []time.Time{first, second} {
		n := rec.nights[i]
		if !n.Started.Equal(want) || n.Failed != 0 || n.Attempts != 1 || !n.Pruned || n.PruneErr != nil {
			t.Errorf("night %d = %+v, want started at %v, no failure, one attempt, pruned", i+1, n, want)
		}
	}
	if len(rec.results) != 4 {
		t.Fatalf("%d snapshot results, want 4 (2 accounts, 2 nights)", len(rec.results))
	}
	for i, r := range rec.results {
		wantDay := []string{"2026-10-24", "2026-10-25"}[i/2]
		if r.Err != nil || r.Snapshot.State != catalog.StateCommitted || r.Snapshot.Day != wantDay {
			t.Errorf("result %d: %s %s %s err %v, want committed on %s", i, r.Address, r.Snapshot.State,
				r.Snapshot.Day, r.Err, wantDay)
		}
	}
	for _, r := range rec.results[2:] {
		want := int64(0)
		if r.Address == "alice@example.com" {
			want = 1
		}
		if r.Snapshot.FetchedMessages != want {
			t.Errorf("second night fetched %d messages of %s, want %d", r.Snapshot.FetchedMessages, r.Address, want)
		}
	}
}

// checkAfterPrune checks that each account keeps only its second night's
// snapshot, as the Backups page shows.
func checkAfterPrune(t *testing.T, cat *catalog.DB) {
	t.Helper()
	status, err := cat.BackupStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != 2 {
		t.Fatalf("status of %d accounts, want 2", len(status))
	}
	for _, st := range status {
		if st.Failing() || st.LastSuccess.Day != "2026-10-25" {
			t.Errorf("status %+v, want a good snapshot of 2026-10-25", st)
		}
		snaps, err := cat.Snapshots(context.Background(), mustAccount(t, cat, st.Address))
		if err != nil {
			t.Fatal(err)
		}
		if len(snaps) != 1 || snaps[0].ID != st.LastSuccess.ID {
			t.Errorf("%s keeps %d snapshots after prune, want only the second night's", st.Address, len(snaps))
		}
		wantMsgs := int64(2)
		if st.Address == "alice@example.com" {
			wantMsgs = 3
		}
		if st.LastSuccess.Messages != wantMsgs {
			t.Errorf("%s: %d messages, want %d", st.Address, st.LastSuccess.Messages, wantMsgs)
		}
	}
}

func mustAccount(t *testing.T, cat *catalog.DB, address string) catalog.AccountID {
	t.Helper()
	id, err := cat.LookupAccount(context.Background(), address)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
