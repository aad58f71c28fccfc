package catalogtest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// oneFolder commits a snapshot of acct with one INBOX holding msgs (uid i+1).
func oneFolder(t *testing.T, db catalog.Catalog, acct catalog.AccountID, msgs ...catalog.Content) (catalog.Snapshot, int64) {
	t.Helper()
	ctx := context.Background()
	r, err := db.BeginSnapshot(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := r.Mailbox(ctx, "INBOX", 1)
	if err != nil {
		t.Fatal(err)
	}
	var b catalog.Batch
	for i, m := range msgs {
		b.AddMessage(mb.ID, uint32(i+1), nil, time.Unix(int64(1000+i), 0), m)
	}
	b.SetState(catalog.Mailbox{ID: mb.ID, LastUID: uint32(len(msgs)), UIDNext: uint32(len(msgs) + 1)})
	if err := r.Flush(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := r.StageFolders(ctx, []catalog.FolderState{{Name: "INBOX", MailboxID: mb.ID, Delimiter: "/"}}); err != nil {
		t.Fatal(err)
	}
	s, err := r.Commit(ctx, catalog.RunStats{})
	if err != nil {
		t.Fatal(err)
	}
	return s, mb.ID
}

func msg(subject, from string, size int64, date int64) catalog.Content {
	c := content(subject + from)
	c.Subject, c.From, c.Size = subject, from, size
	c.Date = time.Unix(date, 0)
	return c
}

func subjects(t *testing.T, db catalog.Catalog, s catalog.Snapshot, ids []int64) []string {
	t.Helper()
	ms, err := db.MessagesByID(context.Background(), s, ids)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

func (cs suite) testBrowseIsScopedToTheAccount(t *testing.T) {
	ctx := context.Background()
	db := cs.openTest(t, clock.NewFake(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC)), "test:1:a")
	alice, _ := db.Account(ctx, "alice@example.com")
	bob, _ := db.Account(ctx, "bob@example.com")
	shared := msg("shared budget", "carol@example.com", 50, 300)
	sa, mba := oneFolder(t, db, alice, msg("banana", "zed@example.com", 10, 200), msg("apple", "amy@example.com", 30, 100), shared)
	sb, mbb := oneFolder(t, db, bob, shared, msg("bob only budget", "dan@example.com", 5, 50))

	cases := []struct {
		sort catalog.Sort
		want []string
	}{
		{"date", []string{"apple", "banana", "shared budget"}},
		{"-date", []string{"shared budget", "banana", "apple"}},
		{"subject", []string{"apple", "banana", "shared budget"}},
		{"from", []string{"apple", "shared budget", "banana"}},
		{"-size", []string{"shared budget", "apple", "banana"}},
	}
	for _, c := range cases {
		ids, err := db.MessageOrder(ctx, sa, mba, c.sort)
		if err != nil {
			t.Fatal(err)
		}
		if got := subjects(t, db, sa, ids); !slices.Equal(got, c.want) {
			t.Errorf("sort %s: %v, want %v", c.sort, got, c.want)
		}
	}
	if _, err := db.MessageOrder(ctx, sa, mba, "colour"); !errors.Is(err, catalog.ErrBadSort) {
		t.Errorf("bad sort: %v", err)
	}

	// Bob's snapshot, mailbox and messages are not Alice's.
	if _, err := db.AccountSnapshot(ctx, alice, sb.ID); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("alice reads bob's snapshot: %v", err)
	}
	if ids, err := db.MessageOrder(ctx, sa, mbb, catalog.SortDate); err != nil || len(ids) != 0 {
		t.Errorf("alice lists bob's mailbox through her snapshot: %v %v", ids, err)
	}
	bobIDs, err := db.MessageOrder(ctx, sb, mbb, catalog.SortDate)
	if err != nil || len(bobIDs) != 2 {
		t.Fatalf("bob's ids %v %v", bobIDs, err)
	}
	for _, id := range bobIDs {
		if _, err := db.MessageInView(ctx, sa, id); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("alice opens bob's message %d: %v", id, err)
		}
	}
	if got := subjects(t, db, sa, bobIDs); len(got) != 0 {
		t.Errorf("alice reads bob's messages by id: %v", got)
	}

	indexAll(t, db)
	hits, _, err := db.Search(ctx, sa, 0, "budget", "-date", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(t, db, sa, hits); !slices.Equal(got, []string{"shared budget"}) {
		t.Errorf("alice searches budget: %v", got)
	}
	hits, _, err = db.Search(ctx, sb, mbb, "from:dan budg", "date", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := subjects(t, db, sb, hits); !slices.Equal(got, []string{"bob only budget"}) {
		t.Errorf("bob searches from:dan budg: %v", got)
	}
}

func indexAll(t *testing.T, db catalog.Catalog) {
	t.Helper()
	ctx := context.Background()
	todo, err := db.Unindexed(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var docs []catalog.SearchDoc
	for _, u := range todo {
		docs = append(docs, catalog.SearchDoc{ContentID: u.ID, Hash: u.Hash, From: u.From, To: u.To, Subject: u.Subject})
	}
	if err := db.AddSearchDocs(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if left, err := db.Unindexed(ctx, 0, 100); err != nil || len(left) != 0 {
		t.Fatalf("still unindexed: %v %v", left, err)
	}
}

func (cs suite) testSearchIndexFollowsContents(t *testing.T) {
	ctx := context.Background()
	db := cs.openTest(t, clock.NewFake(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC)), "test:1:a")
	alice, _ := db.Account(ctx, "alice@example.com")
	s, _ := oneFolder(t, db, alice, msg("kiwi", "x@example.com", 1, 1))
	todo, err := db.Unindexed(ctx, 0, 10)
	if err != nil || len(todo) != 1 {
		t.Fatalf("unindexed %v %v", todo, err)
	}
	// A doc for bytes the id no longer names is dropped.
	stale := catalog.SearchDoc{ContentID: todo[0].ID, Hash: sha256.Sum256([]byte("other")), Subject: "kiwi"}
	if err := db.AddSearchDocs(ctx, []catalog.SearchDoc{stale}); err != nil {
		t.Fatal(err)
	}
	if left, _ := db.Unindexed(ctx, 0, 10); len(left) != 1 {
		t.Fatalf("a stale doc was indexed")
	}
	indexAll(t, db)
	if hits, _, err := db.Search(ctx, s, 0, "subject:kiwi", catalog.SortDate, 100); err != nil || len(hits) != 1 {
		t.Fatalf("search kiwi: %v %v", hits, err)
	}
	// Prune expiring the content deletes its index row: stored again, the
	// same message is a new content to index, and only it is found.
	if _, err := db.Expire(ctx, []catalog.SnapshotID{s.ID}, clock.Real{}.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := db.CountRows(ctx, "contents"); err != nil || n != 0 {
		t.Fatalf("%d contents after the expiry, %v", n, err)
	}
	s2, _ := oneFolder(t, db, alice, msg("kiwi", "x@example.com", 1, 1))
	if todo, err := db.Unindexed(ctx, 0, 10); err != nil || len(todo) != 1 {
		t.Fatalf("the content stored again is not to index: %v %v", todo, err)
	}
	indexAll(t, db)
	if hits, _, err := db.Search(ctx, s2, 0, "subject:kiwi", catalog.SortDate, 100); err != nil || len(hits) != 1 {
		t.Errorf("search kiwi after storing it again: %v %v", hits, err)
	}
}

func (cs suite) testSearchStopsAtMax(t *testing.T) {
	ctx := context.Background()
	db := cs.openTest(t, clock.NewFake(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC)), "test:1:a")
	alice, _ := db.Account(ctx, "alice@example.com")
	var msgs []catalog.Content
	for i := range 5 {
		msgs = append(msgs, msg(fmt.Sprintf("common %d", i), "x@example.com", int64(10-i), int64(i)))
	}
	s, _ := oneFolder(t, db, alice, msgs...)
	indexAll(t, db)
	hits, more, err := db.Search(ctx, s, 0, "common", "size", 3)
	if err != nil {
		t.Fatal(err)
	}
	// The newest stored three (2, 3, 4), sorted by size.
	if got := subjects(t, db, s, hits); !more || !slices.Equal(got, []string{"common 4", "common 3", "common 2"}) {
		t.Errorf("capped search: %v more=%v", got, more)
	}
	if hits, more, err := db.Search(ctx, s, 0, "common", "size", 10); err != nil || more || len(hits) != 5 {
		t.Errorf("uncapped: %v %v %v", hits, more, err)
	}
}
