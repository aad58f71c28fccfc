package prune

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/catalog/catalogtest"
	"mtm/internal/checker"
	"mtm/internal/clock"
)

// world is a catalog and a blob store on disk, mailboxes modelled in
// memory, and a snapshot routine that syncs the model into the store the
// way the engine syncs an IMAP account. Every committed snapshot's expected
// view is remembered, so a test can check that prune changes no kept view.
type world struct {
	t      *testing.T
	ctx    context.Context
	clk    *clock.Fake
	loc    *time.Location
	db     *catalog.DB
	blobs  *blobstore.Local
	boxes  map[string]*model
	expect map[catalog.SnapshotID]map[uint32]string
}

// model is one account's INBOX.
type model struct {
	next uint32
	msgs map[uint32]modelMsg
}

type modelMsg struct {
	body  string
	flags string
}

func newWorld(t *testing.T, start time.Time) *world {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	clk := clock.NewFake(start)
	db, err := catalog.Open(context.Background(), filepath.Join(dir, "catalog.db"),
		catalog.Options{Clock: clk, Location: loc, Owner: "test:1:prune"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	blobs, err := blobstore.OpenLocal(filepath.Join(dir, "blobs"), blobstore.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: context.Background(), clk: clk, loc: loc, db: db, blobs: blobs,
		boxes: map[string]*model{}, expect: map[catalog.SnapshotID]map[uint32]string{}}
}

// box returns the model of address, creating it empty.
func (w *world) box(address string) *model {
	m := w.boxes[address]
	if m == nil {
		m = &model{next: 1, msgs: map[uint32]modelMsg{}}
		w.boxes[address] = m
	}
	return m
}

// deliver adds a message with this body.
func (m *model) deliver(body string) uint32 {
	uid := m.next
	m.next++
	m.msgs[uid] = modelMsg{body: body}
	return uid
}

// uids returns the model's UIDs in order.
func (m *model) uids() []uint32 { return slices.Sorted(maps.Keys(m.msgs)) }

// snapshot syncs address's model into a committed snapshot and returns it.
func (w *world) snapshot(address string) catalog.Snapshot {
	w.t.Helper()
	run := w.begin(address)
	snap := w.commit(run, address)
	if err := w.blobs.Seal(w.ctx); err != nil { // as the engine does when its run ends
		w.t.Fatal(err)
	}
	return snap
}

func (w *world) begin(address string) *catalog.Run {
	w.t.Helper()
	acct, err := w.db.Account(w.ctx, address)
	if err != nil {
		w.t.Fatal(err)
	}
	run, err := w.db.BeginSnapshot(w.ctx, acct)
	if err != nil {
		w.t.Fatal(err)
	}
	return run
}

// put stores body in the blob store, as the engine does before staging.
func (w *world) put(body string) catalog.Content {
	w.t.Helper()
	info, err := w.blobs.Put(w.ctx, strings.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.blobs.Sync(w.ctx); err != nil { // blobs before references
		w.t.Fatal(err)
	}
	return catalog.Content{Hash: info.Hash, Size: info.Size, StoredSize: info.StoredSize, Subject: body}
}

// commit stages the difference between the model and the live versions, and
// commits.
func (w *world) commit(run *catalog.Run, address string) catalog.Snapshot {
	w.t.Helper()
	m := w.box(address)
	mb, err := run.Mailbox(w.ctx, "INBOX", 1)
	if err != nil {
		w.t.Fatal(err)
	}
	var b catalog.Batch
	live := map[uint32]catalog.LiveEntry{}
	if err := run.LiveEntries(w.ctx, mb.ID, 1, m.next, func(e catalog.LiveEntry) error {
		live[e.UID] = e
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	for uid, e := range live {
		msg, ok := m.msgs[uid]
		switch {
		case !ok:
			b.End(e.ID)
		case msg.flags != e.Flags:
			b.End(e.ID)
			b.AddVersion(mb.ID, uid, e.ContentID, catalog.SplitFlags(msg.flags), e.InternalDate)
		}
	}
	for _, uid := range m.uids() {
		if _, ok := live[uid]; !ok {
			b.AddMessage(mb.ID, uid, catalog.SplitFlags(m.msgs[uid].flags), w.clk.Now(), w.put(m.msgs[uid].body))
		}
	}
	b.SetState(catalog.Mailbox{ID: mb.ID, LastUID: m.next - 1, UIDNext: m.next})
	if err := run.Flush(w.ctx, &b); err != nil {
		w.t.Fatal(err)
	}
	if err := run.StageFolders(w.ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: mb.ID, Delimiter: "/"}}); err != nil {
		w.t.Fatal(err)
	}
	s, err := run.Commit(w.ctx, catalog.RunStats{})
	if err != nil {
		w.t.Fatal(err)
	}
	want := map[uint32]string{}
	for uid, msg := range m.msgs {
		want[uid] = msg.body + " " + msg.flags
	}
	w.expect[s.ID] = want
	return s
}

// view reads a snapshot's INBOX as uid -> "body flags".
func (w *world) view(id catalog.SnapshotID) map[uint32]string {
	w.t.Helper()
	s, err := w.db.Snapshot(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	folders, err := w.db.Folders(w.ctx, s)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[uint32]string{}
	for _, f := range folders {
		for _, m := range catalogtest.Summaries(w.t, w.db, s, f.MailboxID) {
			out[m.UID] = m.Subject + " " + catalog.JoinFlags(m.Flags)
		}
	}
	return out
}

// checkKeptViews checks that every snapshot still in the catalog shows what
// the model held when it was taken, and that the store passes its check
// with every blob read back.
func (w *world) checkKeptViews() {
	w.t.Helper()
	snaps, err := w.db.AllSnapshots(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range snaps {
		if s.State != catalog.StateCommitted {
			continue
		}
		if got, want := w.view(s.ID), w.expect[s.ID]; !maps.Equal(got, want) {
			w.t.Errorf("snapshot %d (%s) shows %v, want %v", s.ID, s.Day, got, want)
		}
	}
	w.check()
}

func (w *world) check() {
	w.t.Helper()
	rep, err := checker.Check(w.ctx, w.db, w.blobs, checker.Options{ReadDataPercent: 100})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range rep.Problems {
		w.t.Errorf("check: %s", p)
	}
}

// prune plans and executes a prune with the accounts listed.
func (w *world) prune(listed ...string) (*Plan, *Result) {
	w.t.Helper()
	pol := Policy{Days: 15, Location: w.loc, Listed: map[string]bool{}}
	for _, a := range listed {
		pol.Listed[a] = true
	}
	plan, err := MakePlan(w.ctx, w.db, w.blobs, pol, w.clk)
	if err != nil {
		w.t.Fatal(err)
	}
	res, err := plan.Execute(w.ctx, w.db, w.blobs, Options{Clock: w.clk})
	if err != nil {
		w.t.Fatal(err)
	}
	return plan, res
}

// days returns the days of the account's committed snapshots, oldest first.
func (w *world) days(address string) []string {
	w.t.Helper()
	snaps, err := w.db.AllSnapshots(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, s := range snaps {
		if s.Address == address && s.State == catalog.StateCommitted {
			out = append(out, s.Day)
		}
	}
	return out
}

// hasBlob tells whether the blob of body is stored.
func (w *world) hasBlob(body string) bool {
	w.t.Helper()
	ok, err := w.blobs.Has(w.ctx, sha256.Sum256([]byte(body)))
	if err != nil {
		w.t.Fatal(err)
	}
	return ok
}

// rows counts a catalog table's rows.
func (w *world) rows(table string) int {
	w.t.Helper()
	n, err := w.db.CountRows(w.ctx, table)
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func body(i int) string { return fmt.Sprintf("Subject: message %d\r\n\r\nbody %d\r\n", i, i) }
