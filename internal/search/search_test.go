package search

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/testenv/hostile"
	"mtm/internal/testenv/mailstore"
)

func raw(subject, body string) []byte {
	return []byte(strings.ReplaceAll("From: Carol <carol@example.com>\nTo: alice@example.com\nSubject: "+subject+
		"\nContent-Type: text/html; charset=iso-8859-1\n\n"+body+"\n", "\n", "\r\n"))
}

func TestIndexerIndexesBodiesOnce(t *testing.T) {
	ctx := context.Background()
	st := mailstore.New(t, time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC), time.UTC)
	snap := st.Snapshot(t, "alice@example.com", []mailstore.Folder{{Name: "INBOX", Messages: []mailstore.Msg{
		{UID: 1, Raw: raw("lunch", "<p>Meet at the <b>caf\xe9</b> in Zanzibar</p>")},
		{UID: 2, Raw: raw("other", "<p>nothing here</p>")},
	}}})
	ix := &Indexer{Catalog: st.Cat, Blobs: st.Blobs, Batch: 1}
	n, err := ix.IndexAll(ctx)
	if err != nil || n != 2 {
		t.Fatalf("indexed %d: %v", n, err)
	}
	if n, err := ix.IndexAll(ctx); err != nil || n != 0 {
		t.Fatalf("second pass indexed %d: %v", n, err)
	}
	for q, want := range map[string]int{"zanzibar": 1, "cafe": 1, "café": 1, "body:lunch": 0, "subject:lunch": 1,
		"from:carol": 2, "to:alice": 2, "nothing zanzibar": 0} {
		ids, _, err := st.Cat.Search(ctx, snap, 0, q, catalog.SortDate, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != want {
			t.Errorf("search %q: %d hits, want %d", q, len(ids), want)
		}
	}
}

// TestIndexerMovesPastABomb: a message nested too deep to read is indexed
// by its headers, said in the log, and the indexer goes on to the next
// (it stalled on the first for every account before); a cancelled run
// records nothing it did not read.
func TestIndexerMovesPastABomb(t *testing.T) {
	ctx := context.Background()
	st := mailstore.New(t, time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC), time.UTC)
	var bomb []byte
	for _, m := range hostile.Messages() {
		if m.Name == "nesting-bomb-300" {
			bomb = m.Raw
		}
	}
	snap := st.Snapshot(t, "alice@example.com", []mailstore.Folder{{Name: "INBOX", Messages: []mailstore.Msg{
		{UID: 1, Raw: bomb},
		{UID: 2, Raw: raw("after", "<p>the zanzibar lunch</p>")},
	}}})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if n, err := (&Indexer{Catalog: st.Cat, Blobs: st.Blobs}).IndexAll(cancelled); n != 0 || err == nil {
		t.Fatalf("a cancelled run indexed %d: %v", n, err)
	}
	var logged strings.Builder
	ix := &Indexer{Catalog: st.Cat, Blobs: st.Blobs, Batch: 1, Log: slog.New(slog.NewTextHandler(&logged, nil))}
	start := time.Now()
	if n, err := ix.IndexAll(ctx); err != nil || n != 2 || time.Since(start) > 5*time.Second {
		t.Fatalf("indexed %d in %v: %v", n, time.Since(start), err)
	}
	for q, want := range map[string]int{"zanzibar": 1, "subject:nested": 1} {
		if ids, _, err := st.Cat.Search(ctx, snap, 0, q, catalog.SortDate, 1000); err != nil || len(ids) != want {
			t.Errorf("search %q: %d hits, want %d (%v)", q, len(ids), want, err)
		}
	}
	if !strings.Contains(logged.String(), "body not indexed") || !strings.Contains(logged.String(), "nested more than 32 levels") {
		t.Errorf("the log: %s", logged.String())
	}
}
