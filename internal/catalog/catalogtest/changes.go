package catalogtest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// testChanges: between two days the catalog reports a deleted message, a
// move, a new message, a flag change, a copy removed from one of its two
// folders, a renamed folder (same UIDVALIDITY and UIDs, new name) whose
// messages did not change, a deleted folder with its messages, and a
// folder whose UIDVALIDITY changed as no change at all.
func (cs suite) testChanges(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:changes")
	acct, err := db.Account(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	type msg struct {
		uid   uint32
		body  string
		flags []string
	}
	type box struct {
		name string
		uidv uint32
		msgs []msg
	}
	// day writes one snapshot whose folders hold exactly boxes: every
	// live version is ended and written again, so unchanged messages get
	// new versions, as a UIDVALIDITY change would give them.
	day := func(boxes []box) catalog.Snapshot {
		t.Helper()
		r, err := db.BeginSnapshot(ctx, acct)
		if err != nil {
			t.Fatal(err)
		}
		var b catalog.Batch
		var folders []catalog.FolderState
		for _, bx := range boxes {
			mb, err := r.Mailbox(ctx, bx.name, bx.uidv)
			if err != nil {
				t.Fatal(err)
			}
			live := map[uint32]catalog.LiveEntry{}
			if err := r.LiveEntries(ctx, mb.ID, 1, 1000, func(e catalog.LiveEntry) error { live[e.UID] = e; return nil }); err != nil {
				t.Fatal(err)
			}
			for _, m := range bx.msgs {
				if e, ok := live[m.uid]; ok {
					delete(live, m.uid)
					if e.Flags == strings.Join(m.flags, " ") {
						continue
					}
					b.End(e.ID)
				}
				b.AddMessage(mb.ID, m.uid, m.flags, clk.Now(), content(m.body)) // the same bytes: the same content
			}
			for _, e := range live {
				b.End(e.ID)
			}
			b.SetState(catalog.Mailbox{ID: mb.ID, LastUID: 1000, UIDNext: 1001})
			folders = append(folders, catalog.FolderState{Name: bx.name, MailboxID: mb.ID, Delimiter: "/", Subscribed: true})
		}
		if err := r.Flush(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if err := r.StageFolders(ctx, folders); err != nil {
			t.Fatal(err)
		}
		s, err := r.Commit(ctx, catalog.RunStats{})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(24 * time.Hour)
		return s
	}
	s1 := day([]box{
		{"INBOX", 1, []msg{{1, "deleted", nil}, {2, "moved", nil}, {3, "read", nil}, {4, "copied", nil}}},
		{"Keep", 2, []msg{{1, "copied", nil}}},
		{"Projects", 3, []msg{{7, "project", []string{`\Seen`}}}},
		{"Old", 4, []msg{{1, "old one", nil}, {2, "old two", nil}}},
		{"Reset", 5, []msg{{1, "reset", []string{`\Seen`}}}},
	})
	s2 := day([]box{
		{"INBOX", 1, []msg{{3, "read", []string{`\Seen`}}, {5, "arrived", nil}}},
		{"Archive", 6, []msg{{1, "moved", nil}}},
		{"Keep", 2, []msg{{1, "copied", nil}}},
		{"Projekte", 3, []msg{{7, "project", []string{`\Seen`}}}},
		{"Reset", 9, []msg{{1, "reset", []string{`\Seen`}}}},
	})
	ch, err := db.Changes(ctx, s1, s2)
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, f := range ch.Folders {
		folders = append(folders, fmt.Sprintf("%s %s %s %d", f.Name, f.Change, f.NewName, f.Messages))
	}
	wantFolders := []string{"Archive created  0", "Old deleted  2", "Projects renamed Projekte 0"}
	if strings.Join(folders, "|") != strings.Join(wantFolders, "|") {
		t.Errorf("folders:\n got %q\nwant %q", folders, wantFolders)
	}
	var msgs []string
	for _, m := range ch.Messages {
		// The id opens the message as the row describes it: the earlier
		// day's version of what went, the later day's of what came.
		on := s2
		if m.Earlier() {
			on = s1
		}
		got, err := db.MessageInView(ctx, on, m.ID)
		if err != nil {
			t.Fatalf("%s row %d on snapshot %d: %v", m.Change, m.ID, on.ID, err)
		}
		msgs = append(msgs, fmt.Sprintf("%s %s %s>%s %v", got.Subject, m.Change, m.Folder, m.ToFolder, m.StillIn))
	}
	slices.Sort(msgs)
	want := []string{
		"arrived new INBOX> []",
		"copied removed INBOX> [Keep]",
		"deleted deleted INBOX> []",
		"moved moved INBOX>Archive []",
		"old one deleted Old> []",
		"old two deleted Old> []",
		"read flags INBOX> []",
	}
	if strings.Join(msgs, "|") != strings.Join(want, "|") {
		t.Errorf("messages:\n got %q\nwant %q", msgs, want)
	}
	// What vanished with day 2: the deleted message and the deleted
	// folder's two; not the copy still in Keep, not the moved one.
	if v, err := db.Vanished(ctx, acct); err != nil || len(v) != 1 || v[s2.ID] != 3 {
		t.Errorf("vanished by day: %v, %v; want 3 on day 2", v, err)
	}
	// What day 2 ended: the deleted, moved, re-flagged and removed copy of
	// INBOX, Old's two, the renamed folder's and the reset folder's
	// versions; the folders Projects, Old and Reset (a new mailbox).
	if m, f, err := db.EndedIn(ctx, s2); err != nil || m != 8 || f != 3 {
		t.Errorf("ended in day 2: %d messages, %d folders, %v", m, f, err)
	}
	// Nothing indexed yet: a search of day 2 may miss its 6 messages.
	if n, total, err := db.IndexProgress(ctx, s2); err != nil || n != 0 || total != 6 {
		t.Errorf("index progress of day 2 before indexing: %d of %d, %v", n, total, err)
	}
	// A search over every day finds each message once, with its versions.
	todo, err := db.Unindexed(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var docs []catalog.SearchDoc
	for _, u := range todo {
		docs = append(docs, catalog.SearchDoc{ContentID: u.ID, Hash: u.Hash, Subject: u.Subject})
	}
	if err := db.AddSearchDocs(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if n, total, err := db.IndexProgress(ctx, s2); err != nil || n != 6 || total != 6 {
		t.Errorf("index progress of day 2 after indexing: %d of %d, %v", n, total, err)
	}
	found := func(q string, max int) (string, bool) {
		t.Helper()
		hits, more, err := db.SearchDays(ctx, acct, q, max)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hits {
			var vs []string
			for _, v := range h.Versions {
				end := "-"
				if v.EndSnap != 0 {
					end = fmt.Sprint(v.EndSnap == s2.ID)
				}
				vs = append(vs, fmt.Sprintf("%s@%v..%s", v.Folder, v.FirstSnap == s2.ID, end))
				if v.Subject == "" || v.EntryID == 0 {
					t.Errorf("%q: a version without its message: %+v", q, v)
				}
			}
			out = append(out, strings.Join(vs, ","))
		}
		return strings.Join(out, "|"), more
	}
	for _, c := range []struct {
		q, want string
		max     int
		more    bool
	}{
		// @true: began on day 2; ..true: ended on day 2; ..-: still there.
		{"subject:moved", "INBOX@false..true,Archive@true..-", 10, false},
		{"copied", "INBOX@false..true,Keep@false..-", 10, false},
		{"deleted", "INBOX@false..true", 10, false},
		{"read", "INBOX@false..true,INBOX@true..-", 10, false},
		{"old", "Old@false..true|Old@false..true", 10, false},
		{"old", "Old@false..true", 1, true},
		{"nothing", "", 10, false},
		{"!!", "", 10, false},
	} {
		if got, more := found(c.q, c.max); got != c.want || more != c.more {
			t.Errorf("search of every day for %q (max %d): %q more=%v, want %q more=%v", c.q, c.max, got, more, c.want, c.more)
		}
	}
	if back, err := db.Changes(ctx, s2, s1); err == nil {
		t.Errorf("changes backwards in time: %+v", back)
	}
}
