package catalogtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// testQuickCommit: an unchanged account's snapshot is one committed row with
// the totals of the snapshot it is based on, and the same view; it is
// refused when another snapshot was committed since, while a run is
// running, and while prune holds the blob-deletion lock; concurrent quick
// commits of many accounts all land.
func (cs suite) testQuickCommit(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 22, 30, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:quick")
	base := commitOne(t, db, clk, "alice@example.com", "alice's only message", time.Minute)
	st, err := db.AccountState(ctx, "Alice@Example.com")
	if err != nil {
		t.Fatal(err)
	}
	if st.Account != base.Account || st.LastCommitted.ID != base.ID || len(st.Folders) != 1 ||
		st.Folders[0].Name != "INBOX" || st.Folders[0].Live != 1 || st.Folders[0].Mailbox.ID == 0 {
		t.Fatalf("account state: %+v", st)
	}
	clk.Advance(24 * time.Hour)
	takenAt := clk.Now()
	clk.Advance(time.Second)
	q, err := db.QuickCommit(ctx, base.Account, base.ID, takenAt)
	if err != nil {
		t.Fatal(err)
	}
	if q.State != catalog.StateCommitted || q.ID <= base.ID || !q.TakenAt.Equal(takenAt) || q.Day != "2026-05-03" ||
		q.Messages != base.Messages || q.Bytes != base.Bytes || q.Folders != base.Folders {
		t.Errorf("quick snapshot %+v, based on %+v", q, base)
	}
	assertView(t, view(t, db, q.ID), view(t, db, base.ID))
	if _, err := db.QuickCommit(ctx, base.Account, base.ID, clk.Now()); !errors.Is(err, catalog.ErrStale) {
		t.Errorf("a quick commit on a stale state: %v, want ErrStale", err)
	}
	run, err := db.BeginSnapshot(ctx, base.Account)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.QuickCommit(ctx, base.Account, q.ID, clk.Now()); !errors.Is(err, catalog.ErrBusy) {
		t.Errorf("a quick commit beside a running snapshot: %v, want ErrBusy", err)
	}
	if err := run.Fail(ctx, "given up"); err != nil {
		t.Fatal(err)
	}
	lock, err := db.LockBlobDeletion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.QuickCommit(ctx, base.Account, q.ID, clk.Now()); !errors.Is(err, catalog.ErrPruning) {
		t.Errorf("a quick commit while prune deletes blobs: %v, want ErrPruning", err)
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.QuickCommit(ctx, base.Account, q.ID, clk.Now()); err != nil {
		t.Errorf("a quick commit after a failed run and a released lock: %v", err)
	}

	// Many accounts at once: every quick commit lands, each on its own
	// account, however the group commit batches them.
	const n = 24
	bases := make([]catalog.Snapshot, n)
	for i := range bases {
		bases[i] = commitOne(t, db, clk, "user"+string(rune('a'+i))+"@example.com", "mail of "+string(rune('a'+i)), 0)
	}
	// Beside them, full commits of other accounts, which PostgreSQL may
	// not serialize with the group's transaction: every one still lands.
	var wg sync.WaitGroup
	errs := make([]error, n)
	fullErrs := make([]error, 4)
	for i := range fullErrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fullErrs[i] = commitErr(ctx, db, clk, fmt.Sprintf("full%d@example.com", i))
		}()
	}
	for i := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.QuickCommit(ctx, bases[i].Account, bases[i].ID, clk.Now())
		}()
	}
	wg.Wait()
	for i, err := range fullErrs {
		if err != nil {
			t.Errorf("full commit %d beside the quick commits: %v", i, err)
		}
	}
	for i, b := range bases {
		snaps, err := db.Snapshots(ctx, b.Account)
		if errs[i] != nil || err != nil || len(snaps) != 2 || snaps[1].State != catalog.StateCommitted {
			t.Errorf("account %d: quick commit %v, snapshots %+v %v", i, errs[i], snaps, err)
		}
	}
}

// commitErr is commitOne for goroutines: it returns its error.
func commitErr(ctx context.Context, db catalog.Catalog, clk *clock.Fake, address string) error {
	acct, err := db.Account(ctx, address)
	if err != nil {
		return err
	}
	r, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		return err
	}
	inbox, err := r.Mailbox(ctx, "INBOX", 7)
	if err != nil {
		return err
	}
	var b catalog.Batch
	b.AddMessage(inbox.ID, 1, nil, clk.Now(), content("full commit of "+address))
	if err := r.Flush(ctx, &b); err != nil {
		return err
	}
	if err := r.StageFolders(ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: inbox.ID, Delimiter: "/"}}); err != nil {
		return err
	}
	_, err = r.Commit(ctx, catalog.RunStats{})
	return err
}
