package restore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// TestSettleRule: a run settles when it is resumed, or when a restore
// appended to the account within the settle window; `mtm restore` and the
// restore flow share the rule through the Runner.
func TestSettleRule(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	cat, err := catalog.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cat.Close(); err != nil {
			t.Error(err)
		}
	})
	alice, err := cat.Account(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := cat.Account(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Catalog: cat, Clock: clk}
	req := func(acct catalog.AccountID) Request { return Request{Snapshot: catalog.Snapshot{Account: acct}} }
	check := func(what string, acct catalog.AccountID, resumed, want bool) {
		t.Helper()
		got, err := r.mustSettle(ctx, req(acct), resumed)
		if err != nil || got != want {
			t.Errorf("%s: settles %v (%v), want %v", what, got, err, want)
		}
	}
	check("nothing appended", alice, false, false)
	check("resumed", alice, true, true)
	if err := cat.RecordAppends(ctx, alice, []catalog.Appended{{Folder: "INBOX", UIDValidity: 1, UID: 7}}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(SettleWindow - time.Minute)
	check("appended within the window", alice, false, true)
	check("another account", bob, false, false)
	clk.Advance(2 * time.Minute)
	check("appended before the window", alice, false, false)
}
