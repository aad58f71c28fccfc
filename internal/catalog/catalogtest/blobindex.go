package catalogtest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"mtm/internal/catalog"
	"mtm/internal/clock"
)

// testBlobIndex: a pack is reserved, then made live with its entries in
// one step; the first row of a hash wins; blobs are located, listed in hash
// order and deleted; a pack is made live once; concurrent writers each get
// their own pack id and every blob is indexed once.
func (cs suite) testBlobIndex(t *testing.T) {
	db := cs.openTest(t, clock.NewFake(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC)), "test:1:blobs")
	ctx := context.Background()
	h := func(b byte) [32]byte { return [32]byte{b, 1, 2, 3} }

	if _, err := db.LocateBlob(ctx, h(1)); !errors.Is(err, catalog.ErrNotFound) {
		t.Fatalf("locating a blob of an empty index: %v", err)
	}
	pack, err := db.NewBlobPack(ctx)
	if err != nil || pack <= 0 {
		t.Fatalf("NewBlobPack: %d, %v", pack, err)
	}
	entries := []catalog.BlobEntry{
		{Hash: h(2), Pack: pack, Offset: 0, Length: 100, Size: 180},
		{Hash: h(1), Pack: pack, Offset: 100, Length: 50, Size: 70},
		{Hash: h(1), Pack: pack, Offset: 150, Length: 50, Size: 70}, // the same blob twice: the first wins
		{Hash: h(9), Offset: 0, Length: 4 << 20, Size: 9 << 20},     // its own object
	}
	if err := db.CommitBlobs(ctx, pack, 200, entries); err != nil {
		t.Fatal(err)
	}
	if got, err := db.LocateBlob(ctx, h(1)); err != nil || got != entries[1] {
		t.Errorf("LocateBlob = %+v, %v; want %+v", got, err, entries[1])
	}
	if got, err := db.LocateBlob(ctx, h(9)); err != nil || got != entries[3] {
		t.Errorf("LocateBlob of its own object = %+v, %v; want %+v", got, err, entries[3])
	}
	// Located in one batch: the indexed ones, asked twice or once; the
	// unknown ones left out.
	if got, err := db.LocateBlobs(ctx, [][32]byte{h(9), h(7), h(1), h(9), h(2)}); err != nil ||
		len(got) != 3 || got[h(1)] != entries[1] || got[h(2)] != entries[0] || got[h(9)] != entries[3] {
		t.Errorf("LocateBlobs = %+v, %v; want %+v, %+v and %+v", got, err, entries[1], entries[0], entries[3])
	}
	if got, err := db.LocateBlobs(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("LocateBlobs of nothing = %+v, %v", got, err)
	}
	many := make([][32]byte, 20000) // more than one statement's parameters
	for i := range many {
		many[i] = [32]byte{0xee, byte(i >> 8), byte(i)}
	}
	if got, err := db.LocateBlobs(ctx, append(many, h(2))); err != nil || len(got) != 1 || got[h(2)] != entries[0] {
		t.Errorf("LocateBlobs of 20,001 hashes = %d found, %v; want h(2) alone", len(got), err)
	}
	if err := db.CommitBlobs(ctx, pack, 200, nil); err == nil {
		t.Error("a pack was made live twice")
	}
	// Another copy of a blob in a later pack does not move it.
	later, err := db.NewBlobPack(ctx)
	if err != nil || later <= pack {
		t.Fatalf("a later pack got id %d after %d: %v", later, pack, err)
	}
	if err := db.CommitBlobs(ctx, later, 60, []catalog.BlobEntry{{Hash: h(2), Pack: later, Length: 60, Size: 180}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.LocateBlob(ctx, h(2)); got.Pack != pack {
		t.Errorf("a second copy moved the blob to pack %d", got.Pack)
	}
	var listed [][32]byte
	if err := db.ListBlobs(ctx, func(e catalog.BlobEntry) error { listed = append(listed, e.Hash); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 || listed[0] != h(1) || listed[1] != h(2) || listed[2] != h(9) {
		t.Errorf("ListBlobs: %x", listed)
	}
	stop := errors.New("stop")
	if err := db.ListBlobs(ctx, func(catalog.BlobEntry) error { return stop }); err != stop {
		t.Errorf("ListBlobs returned %v, want fn's error", err)
	}
	if ok, err := db.DeleteBlob(ctx, h(1)); !ok || err != nil {
		t.Errorf("DeleteBlob: %v, %v", ok, err)
	}
	if ok, err := db.DeleteBlob(ctx, h(1)); ok || err != nil {
		t.Errorf("DeleteBlob again: %v, %v", ok, err)
	}
	if _, err := db.LocateBlob(ctx, h(1)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("a deleted blob is located: %v", err)
	}

	// Writers at once: distinct packs, one row per blob.
	const writers = 8
	var wg sync.WaitGroup
	ids := make([]int64, writers)
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ids[i], errs[i] = db.NewBlobPack(ctx); errs[i] != nil {
				return
			}
			errs[i] = db.CommitBlobs(ctx, ids[i], 10, []catalog.BlobEntry{
				{Hash: h(100), Pack: ids[i], Length: 10, Size: 20},
				{Hash: h(byte(110 + i)), Pack: ids[i], Offset: 10, Length: 10, Size: 20}})
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range writers {
		if errs[i] != nil || seen[ids[i]] {
			t.Errorf("writer %d: pack %d, %v", i, ids[i], errs[i])
		}
		seen[ids[i]] = true
	}
	n := 0
	if err := db.ListBlobs(ctx, func(catalog.BlobEntry) error { n++; return nil }); err != nil || n != 2+1+writers {
		t.Errorf("after the writers: %d blobs indexed, want %d (%v)", n, 2+1+writers, err)
	}
}

// testBlobPackRetirement: a live pack that no row names and a pack left
// uploading too long are retired; a live pack with rows and a fresh upload
// are not; retired packs come back only once their grace period is over,
// and are then dropped.
func (cs suite) testBlobPackRetirement(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC))
	db := cs.openTest(t, clk, "test:1:retire")
	ctx := context.Background()
	newPack := func(h byte) int64 {
		id, err := db.NewBlobPack(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h != 0 {
			if err := db.CommitBlobs(ctx, id, 10, []catalog.BlobEntry{{Hash: [32]byte{h}, Pack: id, Length: 10, Size: 9}}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	emptied, kept := newPack(1), newPack(2)
	stale := newPack(0) // its writer died before committing it
	if ok, err := db.DeleteBlob(ctx, [32]byte{1}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	clk.Advance(2 * time.Hour)
	fresh := newPack(0) // uploading now
	n, err := db.RetireBlobPacks(ctx, clk.Now().Add(-time.Hour))
	if err != nil || n != 2 {
		t.Errorf("RetireBlobPacks retired %d (%v), want the emptied %d and the stale %d", n, err, emptied, stale)
	}
	if ids, err := db.RetiredBlobPacks(ctx, clk.Now().Add(-time.Hour)); err != nil || len(ids) != 0 {
		t.Errorf("packs retired just now are past their grace: %v, %v", ids, err)
	}
	clk.Advance(2 * time.Hour)
	ids, err := db.RetiredBlobPacks(ctx, clk.Now().Add(-time.Hour))
	if err != nil || len(ids) != 2 || ids[0] != emptied || ids[1] != stale {
		t.Fatalf("RetiredBlobPacks = %v, %v; want [%d %d]", ids, err, emptied, stale)
	}
	for _, id := range ids {
		if err := db.DropBlobPack(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if ids, err := db.RetiredBlobPacks(ctx, clk.Now()); err != nil || len(ids) != 0 {
		t.Errorf("dropped packs are still retired: %v, %v", ids, err)
	}
	if got, err := db.LocateBlob(ctx, [32]byte{2}); err != nil || got.Pack != kept {
		t.Errorf("the blob of the kept pack: %+v, %v", got, err)
	}
	if err := db.CommitBlobs(ctx, fresh, 5, nil); err != nil {
		t.Errorf("the fresh upload was retired: %v", err)
	}
	// Usage and moves: the kept pack's blob goes to a new pack in one step.
	type usage struct{ size, live, n int64 }
	got := map[int64]usage{}
	if err := db.BlobPackUsage(ctx, func(id, size, live, n int64) error {
		got[id] = usage{size, live, n}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got[kept] != (usage{10, 10, 1}) || got[fresh] != (usage{5, 0, 0}) || len(got) != 2 {
		t.Errorf("BlobPackUsage = %v", got)
	}
	entries, err := db.PackBlobs(ctx, kept)
	if err != nil || len(entries) != 1 || entries[0].Hash != [32]byte{2} {
		t.Fatalf("PackBlobs(%d) = %+v, %v", kept, entries, err)
	}
	moved, err := db.NewBlobPack(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries[0].Offset, entries[0].Pack = 100, moved
	if err := db.MoveBlobs(ctx, moved, 200, entries); err != nil {
		t.Fatal(err)
	}
	if e, err := db.LocateBlob(ctx, [32]byte{2}); err != nil || e.Pack != moved || e.Offset != 100 {
		t.Errorf("after the move: %+v, %v", e, err)
	}
	if n, err := db.RetireBlobPacks(ctx, clk.Now().Add(-time.Hour)); err != nil || n != 2 {
		t.Errorf("retiring the emptied packs: %d, %v; want the old pack and the fresh one", n, err)
	}
	states := map[int64]string{}
	if err := db.BlobPacks(ctx, func(id int64, state string) error { states[id] = state; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(states) != 3 || states[kept] != "retired" || states[fresh] != "retired" || states[moved] != "live" {
		t.Errorf("BlobPacks: %v, want %d and %d retired, %d live", states, kept, fresh, moved)
	}
}
