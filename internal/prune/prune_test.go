package prune

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
)

func rome(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestCutoff: today is day 1, and the boundary is a calendar date, so the
// 23- and 25-hour days of DST do not move it.
func TestCutoff(t *testing.T) {
	loc := rome(t)
	pol := Policy{Days: 15, Location: loc}
	for _, tc := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 3, 20, 12, 0, 0, 0, loc), "2026-03-06"},
		// Spring forward on 29 March: 30 March 00:30 CEST minus 14×24 h
		// is 15 March 23:30 CET, a day too early.
		{time.Date(2026, 3, 30, 0, 30, 0, 0, loc), "2026-03-16"},
		{time.Date(2026, 4, 12, 0, 0, 0, 0, loc), "2026-03-29"},
		{time.Date(2026, 4, 12, 23, 59, 59, 0, loc), "2026-03-29"},
		// Fall back on 25 October: 8 November 23:30 CET minus 14×24 h is
		// 26 October 00:30 CET, while 25 October is still in the window.
		{time.Date(2026, 11, 8, 23, 30, 0, 0, loc), "2026-10-25"},
		{time.Date(2026, 10, 25, 2, 30, 0, 0, loc), "2026-10-11"},
		// The zone decides the day: 23:30 UTC is already tomorrow in Rome.
		{time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC), "2026-06-18"},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, loc), "2026-02-15"},
	} {
		if got := pol.Cutoff(tc.now); got != tc.want {
			t.Errorf("Cutoff(%s) = %s, want %s", tc.now.In(loc), got, tc.want)
		}
	}
	if got := (Policy{Days: 1, Location: loc}).Cutoff(time.Date(2026, 5, 5, 0, 0, 1, 0, loc)); got != "2026-05-05" {
		t.Errorf("one day of retention keeps only today, cutoff %s", got)
	}
}

// TestRetentionAcrossDST takes a snapshot every midnight in Rome through
// both DST changes, with mail arriving, deleted and flagged every day, and
// prunes after each: exactly the last 15 calendar days stay, every kept
// snapshot still shows what it showed, the store checks clean, and the
// catalog holds only rows the kept snapshots see.
func TestRetentionAcrossDST(t *testing.T) {
	loc := rome(t)
	for _, start := range []time.Time{
		time.Date(2026, 3, 10, 0, 0, 0, 0, loc),
		time.Date(2026, 10, 6, 0, 0, 0, 0, loc),
	} {
		t.Run(start.Format("January"), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, start)
			const alice = "alice@example.com"
			m := w.box(alice)
			n := 0
			for range 20 {
				m.deliver(body(n))
				n++
			}
			for day := range 30 {
				midnight := time.Date(start.Year(), start.Month(), start.Day()+day, 0, 0, 0, 0, loc)
				w.clk.Set(midnight.Add(time.Minute))
				m.deliver(body(n))
				n++
				uids := m.uids()
				delete(m.msgs, uids[0])
				flagged := m.msgs[uids[len(uids)/2]]
				flagged.flags = map[string]string{"": `\Seen`, `\Seen`: ""}[flagged.flags]
				m.msgs[uids[len(uids)/2]] = flagged
				w.snapshot(alice)
				w.prune(alice)

				today := midnight.Format(time.DateOnly)
				var want []string
				for d := min(day, 14); d >= 0; d-- {
					want = append(want, time.Date(midnight.Year(), midnight.Month(), midnight.Day()-d, 0, 0, 0, 0, loc).Format(time.DateOnly))
				}
				if got := w.days(alice); !slices.Equal(got, want) {
					t.Fatalf("on %s the kept days are %v, want %v", today, got, want)
				}
			}
			w.checkKeptViews()
			// 20 messages, one in and one out a day: a snapshot's view holds
			// 20. Kept rows: the 20 of the oldest kept view plus, per later
			// day, one new message and one flag change.
			if got, max := w.rows("entries"), 20+14*2; got > max {
				t.Errorf("the catalog holds %d message versions for 15 days, want at most %d", got, max)
			}
			if got := w.rows("contents"); got != 20+14 {
				t.Errorf("the catalog holds %d contents, want %d (the messages of the 15 days)", got, 20+14)
			}
		})
	}
}

// TestPruneFreesOnlyWhatNothingUses: a message deleted by one account but
// kept by another keeps its blob; once no kept snapshot has it, its blob
// goes. The dry run's plan counts what the prune then does. An orphan blob
// (stored by a run that died before staging it) is deleted too.
func TestPruneFreesOnlyWhatNothingUses(t *testing.T) {
	loc := rome(t)
	w := newWorld(t, time.Date(2026, 5, 1, 0, 5, 0, 0, loc))
	const alice, bob = "alice@example.com", "bob@example.com"
	shared, solo := "Subject: to both\r\n\r\nhi\r\n", "Subject: alice only\r\n\r\nhi\r\n"
	a, b := w.box(alice), w.box(bob)
	sharedA, soloA := a.deliver(shared), a.deliver(solo)
	sharedB := b.deliver(shared)
	a.deliver(body(1))
	w.snapshot(alice)
	w.snapshot(bob)

	w.clk.Set(time.Date(2026, 5, 2, 0, 5, 0, 0, loc))
	delete(a.msgs, sharedA)
	delete(a.msgs, soloA)
	w.snapshot(alice)
	w.snapshot(bob)
	w.put("Subject: stored by a run that died\r\n\r\n")

	// 16 May: 1 May has left the window; 2 May is day 15.
	w.clk.Set(time.Date(2026, 5, 16, 0, 5, 0, 0, loc))
	plan, res := w.prune(alice, bob)
	if len(plan.Drop) != 2 || res.Expiry.Snapshots != 2 {
		t.Fatalf("dropped %v (%d), want the two snapshots of 1 May", plan.Drop, res.Expiry.Snapshots)
	}
	if !equalExpiry(plan.Expiry, res.Expiry) {
		t.Errorf("the plan said %+v, the prune did %+v", plan.Expiry, res.Expiry)
	}
	if n, _ := plan.Blobs(); n != 2 || res.BlobsDeleted != 2 {
		t.Errorf("planned %d blob deletions and deleted %d, want 2 (alice's own message and the orphan)", n, res.BlobsDeleted)
	}
	if w.hasBlob(solo) || w.hasBlob("Subject: stored by a run that died\r\n\r\n") {
		t.Error("an unreferenced blob survived the prune")
	}
	if !w.hasBlob(shared) {
		t.Fatal("the blob bob still has was deleted")
	}
	// 1 May's pack lost a third of its bytes: rewritten with what is kept.
	if c := res.Compacted; c.PacksRewritten != 1 || c.BlobsMoved != 2 || c.BytesFreed <= 0 {
		t.Errorf("compaction %+v, want 1 May's pack rewritten with its 2 kept blobs", c)
	}
	w.checkKeptViews()

	// Bob deletes it too; once his last snapshot with it (2 May) leaves the
	// window, it goes.
	w.clk.Set(time.Date(2026, 5, 17, 0, 5, 0, 0, loc))
	delete(b.msgs, sharedB)
	w.snapshot(bob)
	if _, res := w.prune(alice, bob); res.BlobsDeleted != 1 || w.hasBlob(shared) {
		t.Errorf("deleted %d blobs, want the shared message's; it exists: %v", res.BlobsDeleted, w.hasBlob(shared))
	}
	w.checkKeptViews()
	if got := w.rows("garbage"); got != 0 {
		t.Errorf("%d garbage rows left after a prune that held the lock", got)
	}
}

func equalExpiry(a, b catalog.Expiry) bool {
	return a.Snapshots == b.Snapshots && a.Entries == b.Entries && a.Folders == b.Folders &&
		a.Mailboxes == b.Mailboxes && a.Staged == b.Staged && a.Contents == b.Contents &&
		a.ContentBytes == b.ContentBytes
}

// TestLastGoodBackup: an account still listed keeps its newest committed
// snapshot however old; an account no longer listed loses everything older
// than the cutoff, its rows and its blobs.
func TestLastGoodBackup(t *testing.T) {
	loc := rome(t)
	w := newWorld(t, time.Date(2026, 1, 10, 0, 5, 0, 0, loc))
	const alice, gone = "alice@example.com", "gone@example.com"
	w.box(alice).deliver("Subject: alice\r\n\r\n")
	w.box(gone).deliver("Subject: gone\r\n\r\n")
	w.snapshot(alice)
	w.snapshot(gone)
	w.clk.Set(time.Date(2026, 1, 11, 0, 5, 0, 0, loc))
	w.snapshot(alice)
	w.snapshot(gone)
	// A failed run of alice: its staging is kept only within retention.
	run := w.begin(alice)
	if err := run.Fail(w.ctx, "connection reset"); err != nil {
		t.Fatal(err)
	}

	w.clk.Set(time.Date(2026, 3, 1, 0, 5, 0, 0, loc))
	plan, _ := w.prune(alice)
	if len(plan.LastGood) != 1 || plan.LastGood[0].Address != alice || plan.LastGood[0].Day != "2026-01-11" {
		t.Errorf("kept as last good: %+v, want alice's snapshot of 11 January", plan.LastGood)
	}
	if got := w.days(alice); !slices.Equal(got, []string{"2026-01-11"}) {
		t.Errorf("alice keeps %v, want her last good snapshot", got)
	}
	if got := w.days(gone); len(got) != 0 {
		t.Errorf("an unlisted account keeps %v", got)
	}
	if w.hasBlob("Subject: gone\r\n\r\n") || !w.hasBlob("Subject: alice\r\n\r\n") {
		t.Error("blobs: the unlisted account's must go, alice's must stay")
	}
	if got := w.rows("mailboxes"); got != 1 {
		t.Errorf("%d mailbox identities left, want alice's one", got)
	}
	w.checkKeptViews()
	if got := w.rows("snapshots"); got != 1 {
		t.Errorf("%d snapshot rows left, want 1", got)
	}
}

// TestPruneRacesASnapshot: a snapshot that finds a blob already stored
// while prune is freeing it. The catalog part of prune runs beside the
// snapshot; the blob deletion waits for the lock, which a running snapshot
// holds off; the snapshot's staging rescues the blob; the blob survives and
// the store checks clean. Conversely, while prune holds the lock no
// snapshot begins.
func TestPruneRacesASnapshot(t *testing.T) {
	loc := rome(t)
	w := newWorld(t, time.Date(2026, 6, 1, 0, 5, 0, 0, loc))
	const alice, bob = "alice@example.com", "bob@example.com"
	msg := "Subject: deleted by alice, delivered to bob\r\n\r\n"
	a := w.box(alice)
	uid := a.deliver(msg)
	a.deliver(body(1))
	w.snapshot(alice)
	w.clk.Set(time.Date(2026, 6, 2, 0, 5, 0, 0, loc))
	delete(a.msgs, uid)
	w.snapshot(alice)

	// 17 June: alice's snapshot of 1 June expires, and msg with it. Bob's
	// snapshot has just stored msg again: Put found the blob there.
	w.clk.Set(time.Date(2026, 6, 17, 0, 5, 0, 0, loc))
	bobRun := w.begin(bob)
	w.box(bob).deliver(msg)
	if info, err := w.blobs.Put(w.ctx, strings.NewReader(msg)); err != nil || info.Created {
		t.Fatalf("bob's Put: created %v, err %v; want the existing blob", info.Created, err)
	}
	plan, res := w.prune(alice, bob)
	if plan.Expiry.Contents != 1 || res.Expiry.Contents != 1 {
		t.Fatalf("the expiry freed %d contents, want msg's", res.Expiry.Contents)
	}
	if !errors.Is(res.Deferred, catalog.ErrBusy) || res.BlobsDeleted != 0 {
		t.Fatalf("with bob's snapshot running: deferred = %v, deleted %d blobs", res.Deferred, res.BlobsDeleted)
	}
	if !w.hasBlob(msg) {
		t.Fatal("a blob was deleted while a snapshot was running")
	}
	w.commit(bobRun, bob) // stages msg: rescued from garbage
	if got := w.rows("garbage"); got != 0 {
		t.Errorf("%d garbage rows after bob's snapshot named the blob again", got)
	}
	if _, res := w.prune(alice, bob); res.Deferred != nil || res.BlobsDeleted != 0 {
		t.Errorf("prune after bob's commit: deferred %v, deleted %d", res.Deferred, res.BlobsDeleted)
	}
	if !w.hasBlob(msg) {
		t.Fatal("the blob of bob's committed snapshot was deleted")
	}
	w.checkKeptViews()

	// While prune holds the lock, no snapshot begins.
	lock, err := w.db.LockBlobDeletion(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := w.db.Account(w.ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.BeginSnapshot(w.ctx, acct); !errors.Is(err, catalog.ErrPruning) {
		t.Errorf("BeginSnapshot under the lock: err = %v, want ErrPruning", err)
	}
	if err := lock.Release(w.ctx); err != nil {
		t.Fatal(err)
	}
	w.snapshot(bob)
	w.checkKeptViews()
}

// TestOpenRestorePinsItsSnapshot: the snapshot of a pending restore request
// outlives retention until the request is decided.
func TestOpenRestorePinsItsSnapshot(t *testing.T) {
	loc := rome(t)
	w := newWorld(t, time.Date(2026, 2, 1, 0, 5, 0, 0, loc))
	const alice = "alice@example.com"
	uid := w.box(alice).deliver("Subject: wanted back\r\n\r\n")
	old := w.snapshot(alice)
	w.clk.Set(time.Date(2026, 2, 2, 0, 5, 0, 0, loc))
	delete(w.box(alice).msgs, uid)
	w.snapshot(alice)
	id, err := w.db.RequestRestore(w.ctx, catalog.RestoreRequest{Account: old.Account, Snapshot: old.ID,
		Target: "original", RequestedBy: alice}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.Set(time.Date(2026, 2, 20, 0, 5, 0, 0, loc))
	w.snapshot(alice)
	if plan, _ := w.prune(alice); len(plan.Drop) != 1 || plan.Drop[0].Day != "2026-02-02" {
		t.Errorf("dropped %+v, want only 2 February: 1 February is pinned by the request", plan.Drop)
	}
	if !w.hasBlob("Subject: wanted back\r\n\r\n") {
		t.Fatal("the blob of a pinned snapshot was deleted")
	}
	if err := w.db.RejectRestore(w.ctx, id, "admin@example.com", "", nil); err != nil {
		t.Fatal(err)
	}
	if plan, _ := w.prune(alice); len(plan.Drop) != 1 || plan.Drop[0].Day != "2026-02-01" {
		t.Errorf("after the rejection dropped %+v, want 1 February", plan.Drop)
	}
	if w.hasBlob("Subject: wanted back\r\n\r\n") {
		t.Error("the blob outlived its last snapshot")
	}
	w.checkKeptViews()
}

// TestRestoreRecordsExpire: the records of what restores appended go once
// they are older than the cutoff day; newer ones stay.
func TestRestoreRecordsExpire(t *testing.T) {
	loc := rome(t)
	w := newWorld(t, time.Date(2026, 4, 1, 9, 0, 0, 0, loc))
	const alice = "alice@example.com"
	w.box(alice).deliver("Subject: a\r\n\r\n")
	snap := w.snapshot(alice)
	record := func(uid uint32) {
		t.Helper()
		if err := w.db.RecordAppends(w.ctx, snap.Account, []catalog.Appended{{Folder: "INBOX", UIDValidity: 1, UID: uid}}); err != nil {
			t.Fatal(err)
		}
	}
	record(100)
	w.clk.Set(time.Date(2026, 4, 10, 9, 0, 0, 0, loc))
	record(101)
	w.clk.Set(time.Date(2026, 4, 16, 9, 0, 0, 0, loc)) // cutoff 2 April
	w.prune(alice)
	known, err := w.db.KnownUIDs(w.ctx, snap.Account, "INBOX", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, old := known[100]; old {
		t.Error("the record of 1 April outlived the cutoff")
	}
	if _, recent := known[101]; !recent {
		t.Error("the record of 10 April was deleted")
	}
}
