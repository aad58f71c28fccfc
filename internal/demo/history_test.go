package demo

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/checker"
	"mtm/internal/clock"
)

// TestBuildHistory builds a small history against the in-memory server
// and checks its snapshots, the deleted folder and the store's integrity.
func TestBuildHistory(t *testing.T) {
	ctx := context.Background()
	srv, err := StartIMAP(Passwords())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	dir := t.TempDir()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h, err := Build(ctx, BuildOptions{DataDir: dir, Location: loc, IMAPAddr: srv.Addr(), Messages: 150, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d days, %d messages, %d bytes in %v", len(h.Days), h.Messages, h.Bytes, time.Since(start))
	today := clock.Real{}.Now().In(loc).Format(time.DateOnly)
	if len(h.Days) != 15 || h.Days[14] != today {
		t.Fatalf("days %v, want 15 ending %s", h.Days, today)
	}
	want := clock.Real{}.Now().In(loc).AddDate(0, 0, -DeletedDaysAgo).Format(time.DateOnly)
	if h.DeletedDay != want {
		t.Errorf("deleted day %s, want %s", h.DeletedDay, want)
	}

	cat, err := catalog.Open(ctx, filepath.Join(dir, "catalog.db"), catalog.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	}()
	for _, a := range Accounts() {
		checkAccount(t, ctx, cat, a.Addr, h)
	}
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := checker.Check(ctx, cat, blobs, checker.Options{ReadDataPercent: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Referenced == 0 {
		t.Errorf("integrity check: %d referenced, problems %q", rep.Referenced, rep.Problems)
	}
}

// checkAccount checks one account's snapshots: one committed a day on the
// history's days, and TripFolder only before its deletion day.
func checkAccount(t *testing.T, ctx context.Context, cat *catalog.DB, addr string, h *History) {
	t.Helper()
	id, err := cat.Account(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := cat.Snapshots(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, s := range snaps {
		if s.State != "committed" {
			t.Errorf("%s: snapshot %d is %s", addr, s.ID, s.State)
		}
		days = append(days, s.Day)
		folders, err := cat.Folders(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		has := slices.ContainsFunc(folders, func(f catalog.Folder) bool { return f.Name == TripFolder })
		if addr == Accounts()[0].Addr && has != (s.Day < h.DeletedDay) {
			t.Errorf("%s %s: %q present = %v, deleted on %s", addr, s.Day, TripFolder, has, h.DeletedDay)
		}
		if s.Messages == 0 {
			t.Errorf("%s %s: empty snapshot", addr, s.Day)
		}
	}
	if !slices.Equal(days, h.Days) {
		t.Errorf("%s: snapshot days %v, want %v", addr, days, h.Days)
	}
}
