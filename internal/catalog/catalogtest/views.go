package catalogtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

func content(s string) catalog.Content {
	return catalog.Content{Hash: sha256.Sum256([]byte(s)), Size: int64(len(s)), StoredSize: int64(len(s)), Subject: s}
}

// view renders a snapshot as folder -> uid -> "subject flags".
func view(t *testing.T, db catalog.Catalog, id catalog.SnapshotID) map[string]map[uint32]string {
	t.Helper()
	ctx := context.Background()
	s, err := db.Snapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	folders, err := db.Folders(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[uint32]string{}
	for _, f := range folders {
		msgs := map[uint32]string{}
		for _, m := range Summaries(t, db, s, f.MailboxID) {
			msgs[m.UID] = m.Subject + " " + catalog.JoinFlags(m.Flags)
		}
		if int64(len(msgs)) != f.Messages {
			t.Errorf("folder %s counts %d messages, lists %d", f.Name, f.Messages, len(msgs))
		}
		out[f.Name] = msgs
	}
	return out
}

func (cs suite) testIntervalsKeepEveryView(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 3, 28, 23, 0, 0, 0, time.UTC)) // 29 March 00:00 in Rome
	db := cs.openTest(t, clk, "test:1:a")
	acct, err := db.Account(ctx, "Alice@Example.com")
	if err != nil {
		t.Fatal(err)
	}

	// Day 1: INBOX with two messages, an unsubscribed Archive container.
	r1, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Day != "2026-03-29" {
		t.Errorf("day = %s, want 2026-03-29 (Rome)", r1.Day)
	}
	inbox, err := r1.Mailbox(ctx, "INBOX", 7)
	if err != nil {
		t.Fatal(err)
	}
	var b catalog.Batch
	b.AddMessage(inbox.ID, 1, []string{`\Seen`, `\Recent`}, clk.Now(), content("one"))
	b.AddMessage(inbox.ID, 2, nil, clk.Now(), content("two"))
	b.SetState(catalog.Mailbox{ID: inbox.ID, LastUID: 2, UIDNext: 3, HighestModSeq: 5})
	if err := r1.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := r1.StageFolders(ctx, []catalog.FolderState{
		{Name: "INBOX", MailboxID: inbox.ID, Delimiter: "/", Subscribed: true},
		{Name: "Archive", Delimiter: "/", Attributes: []string{`\Noselect`}},
	}); err != nil {
		t.Fatal(err)
	}
	s1, err := r1.Commit(ctx, catalog.RunStats{FetchedMessages: 2})
	if err != nil {
		t.Fatal(err)
	}
	if s1.Messages != 2 || s1.Folders != 2 || s1.Bytes != 6 {
		t.Errorf("snapshot 1 totals = %d msgs %d folders %d bytes", s1.Messages, s1.Folders, s1.Bytes)
	}

	// Day 2: uid 1 loses \Seen, uid 2 expunged, uid 3 arrives.
	clk.Advance(24 * time.Hour)
	r2, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	live := map[uint32]catalog.LiveEntry{}
	if err := r2.LiveEntries(ctx, inbox.ID, 1, 2, func(e catalog.LiveEntry) error { live[e.UID] = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if live[1].Flags != `\Seen` {
		t.Errorf("live flags of uid 1 = %q; \\Recent must not be stored", live[1].Flags)
	}
	b.End(live[1].ID)
	b.AddVersion(inbox.ID, 1, live[1].ContentID, nil, live[1].InternalDate)
	b.End(live[2].ID)
	b.AddMessage(inbox.ID, 3, []string{`\Flagged`}, clk.Now(), content("three"))
	b.SetState(catalog.Mailbox{ID: inbox.ID, LastUID: 3, UIDNext: 4, HighestModSeq: 9})
	if err := r2.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := r2.StageFolders(ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: inbox.ID, Delimiter: "/", Subscribed: true}}); err != nil {
		t.Fatal(err)
	}
	s2, err := r2.Commit(ctx, catalog.RunStats{})
	if err != nil {
		t.Fatal(err)
	}

	// Day 3: a run that fails changes no view, and its staging is reusable.
	clk.Advance(24 * time.Hour)
	r3, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.BeginSnapshot(ctx, acct); !errors.Is(err, catalog.ErrBusy) {
		t.Errorf("second concurrent run: err = %v, want catalog.ErrBusy", err)
	}
	b.AddMessage(inbox.ID, 4, nil, clk.Now(), content("four"))
	if err := r3.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := r3.Fail(ctx, "connection reset"); err != nil {
		t.Fatal(err)
	}

	want1 := map[string]map[uint32]string{"INBOX": {1: `one \Seen`, 2: "two "}, "Archive": {}}
	want2 := map[string]map[uint32]string{"INBOX": {1: "one ", 3: `three \Flagged`}}
	assertView(t, view(t, db, s1.ID), want1)
	assertView(t, view(t, db, s2.ID), want2)

	r4, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r4.Resumables(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res[4]; len(res) != 1 || !ok {
		t.Errorf("resumables = %v, want uid 4", res)
	}
	// The folder is deleted: committing without it closes its messages.
	if err := r4.StageFolders(ctx, nil); err != nil {
		t.Fatal(err)
	}
	s4, err := r4.Commit(ctx, catalog.RunStats{})
	if err != nil {
		t.Fatal(err)
	}
	if s4.Messages != 0 || s4.Folders != 0 {
		t.Errorf("after deleting INBOX: %d messages %d folders", s4.Messages, s4.Folders)
	}
	assertView(t, view(t, db, s4.ID), map[string]map[uint32]string{})
	assertView(t, view(t, db, s1.ID), want1)
	assertView(t, view(t, db, s2.ID), want2)

	all, err := db.Snapshots(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	states := ""
	for _, s := range all {
		states += s.State[:1]
	}
	if states != "ccfc" {
		t.Errorf("states = %s, want ccfc", states)
	}
	if all[2].Error != "connection reset" {
		t.Errorf("failed run's error = %q", all[2].Error)
	}
}

func assertView(t *testing.T, got, want map[string]map[uint32]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("view has folders %v, want %v", got, want)
		return
	}
	for f, msgs := range want {
		g := got[f]
		if len(g) != len(msgs) {
			t.Errorf("folder %s = %v, want %v", f, g, msgs)
			continue
		}
		for uid, m := range msgs {
			if g[uid] != m {
				t.Errorf("folder %s uid %d = %q, want %q", f, uid, g[uid], m)
			}
		}
	}
}

func (cs suite) testStaleRunIsReaped(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := cs.backend(t)
	a := store(t, catalog.Options{Clock: clk, Owner: "otherhost:1:x"})
	b := store(t, catalog.Options{Clock: clk, Owner: "thishost:2:y"})
	acct, err := a.Account(ctx, "x@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ra, err := a.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.BeginSnapshot(ctx, acct); !errors.Is(err, catalog.ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy while the heartbeat is fresh", err)
	}
	clk.Advance(3 * time.Minute)
	if _, err := b.BeginSnapshot(ctx, acct); err != nil {
		t.Fatalf("stale run not reaped: %v", err)
	}
	if _, err := ra.Commit(ctx, catalog.RunStats{}); !errors.Is(err, catalog.ErrLostOwnership) {
		t.Fatalf("reaped run committed: err = %v", err)
	}
}

// Summaries lists the messages of a folder's mailbox in snapshot s, in UID
// order, with their summaries (Subject, From, ...), which Messages leaves
// out.
func Summaries(t testing.TB, db catalog.Browsing, s catalog.Snapshot, mailboxID int64) []catalog.Message {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	if err := db.Messages(ctx, s, mailboxID, func(m catalog.Message) error {
		ids = append(ids, m.EntryID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	full, err := db.MessagesByID(ctx, s, ids)
	if err != nil || len(full) != len(ids) {
		t.Fatalf("MessagesByID of the %d messages listed: %d, %v", len(ids), len(full), err)
	}
	return full
}
