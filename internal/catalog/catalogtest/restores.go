package catalogtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// requestOne commits a snapshot of address and requests its restore.
func requestOne(t *testing.T, db catalog.Catalog, clk *clock.Fake, address string) (catalog.RestoreRequest, catalog.Snapshot) {
	t.Helper()
	snap := commitOne(t, db, clk, address, "restore me "+address, time.Minute)
	id, err := db.RequestRestore(context.Background(), catalog.RestoreRequest{Account: snap.Account, Snapshot: snap.ID,
		Target: "original", RequestedBy: address, Preview: json.RawMessage(`{"messages":1}`)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Restore(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r, snap
}

// testRestoreTransitionsAreCompareAndSet: a request is decided once, by
// whoever comes first; an account has one open request at a time; a
// transition whose "more" fails leaves nothing behind.
func (cs suite) testRestoreTransitionsAreCompareAndSet(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:restores")
	r, snap := requestOne(t, db, clk, "alice@example.com")
	if r.Status != catalog.RestorePending || r.Address != "alice@example.com" || r.Day != snap.Day ||
		len(r.Folders) != 0 || string(r.Preview) != `{"messages":1}` {
		t.Fatalf("the new request: %+v", r)
	}
	if _, err := db.RequestRestore(ctx, catalog.RestoreRequest{Account: snap.Account, Snapshot: snap.ID,
		Target: "original", RequestedBy: "alice@example.com"}, nil); !errors.Is(err, catalog.ErrRestoreOpen) {
		t.Errorf("a second open request: %v, want ErrRestoreOpen", err)
	}
	other, err := db.Account(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RequestRestore(ctx, catalog.RestoreRequest{Account: other, Snapshot: snap.ID,
		Target: "original", RequestedBy: "bob@example.com"}, nil); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a request of another account's snapshot: %v, want ErrNotFound", err)
	}

	boom := errors.New("boom")
	if err := db.ConfirmRestore(ctx, r.ID, "boss@example.com", func(*sql.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("confirm with a failing more: %v", err)
	}
	if got, _ := db.Restore(ctx, r.ID); got.Status != catalog.RestorePending {
		t.Fatalf("a confirmation whose more failed changed the request: %s", got.Status)
	}
	if err := db.ConfirmRestore(ctx, r.ID, "boss@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.RejectRestore(ctx, r.ID, "root@example.net", "too late", nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("reject after confirm: %v, want ErrRestoreState", err)
	}
	if err := db.ConfirmRestore(ctx, r.ID, "root@example.net", nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("a second confirmation: %v, want ErrRestoreState", err)
	}
	if err := db.HeartbeatRestore(ctx, r.ID, json.RawMessage(`{"appended":1}`)); err != nil {
		t.Errorf("heartbeat of our run: %v", err)
	}
	if err := db.FinishRestore(ctx, r.ID, json.RawMessage(`{"appended":2}`), "", nil); err != nil {
		t.Fatal(err)
	}
	done, err := db.Restore(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if done.Status != catalog.RestoreDone || done.DecidedBy != "boss@example.com" || string(done.Result) != `{"appended":2}` ||
		done.FinishedAt.IsZero() {
		t.Errorf("the finished request: %+v", done)
	}
	if err := db.FinishRestore(ctx, r.ID, nil, "again", nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("finishing twice: %v, want ErrRestoreState", err)
	}
	// Once it is over, the account may ask again; a rejection is final.
	second, err := db.RequestRestore(ctx, catalog.RestoreRequest{Account: snap.Account, Snapshot: snap.ID,
		Target: "separate", Folders: []string{"INBOX"}, RequestedBy: "alice@example.com"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.RejectRestore(ctx, second, "boss@example.com", "not needed", nil); err != nil {
		t.Fatal(err)
	}
	if err := db.ConfirmRestore(ctx, second, "root@example.net", nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("confirm after reject: %v, want ErrRestoreState", err)
	}
	all, err := db.Restores(ctx, snap.Account, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != second || all[0].Status != catalog.RestoreRejected || all[0].Reason != "not needed" ||
		len(all[0].Folders) != 1 {
		t.Errorf("the account's requests, newest first: %+v", all)
	}
	if pending, err := db.Restores(ctx, 0, catalog.RestorePending); err != nil || len(pending) != 0 {
		t.Errorf("pending requests: %+v, %v", pending, err)
	}
}

// testRestoreTakeover: a running restore whose process stopped beating is
// claimed by another process, which alone may then finish it.
func (cs suite) testRestoreTakeover(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "otherhost:1:a"})
	b := store(t, catalog.Options{Clock: clk, Owner: "thishost:2:b"})
	r, _ := requestOne(t, a, clk, "alice@example.com")
	if err := a.ConfirmRestore(ctx, r.ID, "boss@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if stale, err := b.ClaimStaleRestores(ctx); err != nil || len(stale) != 0 {
		t.Fatalf("claimed a live run: %+v, %v", stale, err)
	}
	clk.Advance(10 * time.Minute)
	stale, err := b.ClaimStaleRestores(ctx)
	if err != nil || len(stale) != 1 || stale[0].ID != r.ID || stale[0].Status != catalog.RestoreRunning {
		t.Fatalf("claiming the dead run: %+v, %v", stale, err)
	}
	if err := a.HeartbeatRestore(ctx, r.ID, nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("the old owner's heartbeat: %v, want ErrRestoreState", err)
	}
	if err := a.FinishRestore(ctx, r.ID, nil, "", nil); !errors.Is(err, catalog.ErrRestoreState) {
		t.Errorf("the old owner finished the run: %v", err)
	}
	if err := b.FinishRestore(ctx, r.ID, nil, "the server refused 1 messages", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Restore(ctx, r.ID); got.Status != catalog.RestoreFailed || got.Error != "the server refused 1 messages" {
		t.Errorf("after the new owner finished: %+v", got)
	}
}

// rejectFailsAfterEnqueueing requests a restore whose transaction enqueues
// mail and then fails: neither the request nor the mail may remain.
func rejectFailsAfterEnqueueing(t *testing.T, db catalog.Catalog, clk *clock.Fake, mail catalog.OutboxMail) {
	t.Helper()
	ctx := context.Background()
	snap := commitOne(t, db, clk, "carol@example.com", "carol's", 0)
	boom := errors.New("boom")
	_, err := db.RequestRestore(ctx, catalog.RestoreRequest{Account: snap.Account, Snapshot: snap.ID, Target: "original",
		RequestedBy: "carol@example.com"}, func(tx *sql.Tx, _ catalog.RestoreID) error {
		if _, err := db.EnqueueMailTx(ctx, tx, mail); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("tx: %v", err)
	}
	if rs, err := db.Restores(ctx, snap.Account, ""); err != nil || len(rs) != 0 {
		t.Errorf("the failed request was kept: %+v, %v", rs, err)
	}
}

// testFindSnapshot: a snapshot is named by id or by day, and only a
// committed snapshot of the account itself is found.
func (cs suite) testFindSnapshot(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:find")
	first := commitOne(t, db, clk, "alice@example.com", "one", time.Minute)
	second := commitOne(t, db, clk, "alice@example.com", "two", time.Minute) // same day, later
	bobs := commitOne(t, db, clk, "bob@example.com", "bob's", time.Minute)
	failOne(t, db, "alice@example.com", "broken")
	snaps, err := db.Snapshots(ctx, first.Account)
	if err != nil {
		t.Fatal(err)
	}
	failed := snaps[len(snaps)-1]
	for _, c := range []struct {
		ref  string
		want catalog.SnapshotID
		err  error
	}{
		{ref: itoa(first.ID), want: first.ID},
		{ref: first.Day, want: second.ID}, // the day's last committed snapshot
		{ref: "2026-04-30", err: catalog.ErrNotFound},
		{ref: itoa(bobs.ID), err: catalog.ErrNotFound}, // another account's
		{ref: itoa(failed.ID), err: catalog.ErrNotFound},
		{ref: "999999", err: catalog.ErrNotFound},
		{ref: "yesterday", err: catalog.ErrBadSnapshotRef},
		{ref: "-1", err: catalog.ErrBadSnapshotRef},
	} {
		got, err := catalog.FindSnapshot(ctx, db, "Alice@Example.com", c.ref)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("FindSnapshot(%q) = %d, %v; want %v", c.ref, got.ID, err, c.err)
			}
			continue
		}
		if err != nil || got.ID != c.want || got.State != catalog.StateCommitted {
			t.Errorf("FindSnapshot(%q) = %d, %v; want %d", c.ref, got.ID, err, c.want)
		}
	}
	if _, err := catalog.FindSnapshot(ctx, db, "nobody@example.com", itoa(first.ID)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("an unknown account: %v, want ErrNotFound", err)
	}
}
