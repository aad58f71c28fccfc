package search

import (
	"context"
	"strings"
	"testing"
	"time"

	"mtm/internal/catalog"
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
