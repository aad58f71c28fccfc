package blobstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mtm/internal/blobstore"
	"mtm/internal/blobstore/blobstoretest"
)

// putMany stores n distinct mails starting at seed and returns them.
func putMany(t *testing.T, l *blobstore.Local, seed, n int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range n {
		d := blobstoretest.Mail(uint64(seed+i), 2000+97*i)
		if _, err := l.Put(context.Background(), bytes.NewReader(d)); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	blobstoretest.Sync(t, l)
	return out
}

func deleteAll(t *testing.T, l *blobstore.Local, datas [][]byte) {
	t.Helper()
	for _, d := range datas {
		if err := l.Delete(context.Background(), blobstoretest.HashOf(d)); err != nil {
			t.Fatal(err)
		}
	}
}

func checkReadable(t *testing.T, l *blobstore.Local, datas [][]byte) {
	t.Helper()
	for _, d := range datas {
		if got := blobstoretest.ReadAll(t, l, blobstoretest.HashOf(d)); !bytes.Equal(got, d) {
			t.Fatal("blob reads other bytes after compaction")
		}
	}
}

func checkGone(t *testing.T, l *blobstore.Local, datas [][]byte) {
	t.Helper()
	for _, d := range datas {
		if has, err := l.Has(context.Background(), blobstoretest.HashOf(d)); err != nil || has {
			t.Fatalf("deleted blob: Has = %v, %v", has, err)
		}
	}
}

func packFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	return dirNames(t, filepath.Join(dataDir, "blobs", "packs"))
}

func compact(t *testing.T, l *blobstore.Local) blobstore.CompactResult {
	t.Helper()
	res, err := l.Compact(context.Background(), nil)
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	return res
}

func TestCompactRewritesAndDeletes(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	ctx := context.Background()
	datas := putMany(t, l, 100, 40)
	if err := l.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	before := packFiles(t, dataDir)

	// Under a quarter dead: left alone.
	deleteAll(t, l, datas[:5])
	if res := compact(t, l); res != (blobstore.CompactResult{}) {
		t.Fatalf("Compact with 1/8 dead = %+v, want nothing done", res)
	}
	// Half dead: rewritten into a new pack, live blobs intact.
	deleteAll(t, l, datas[5:20])
	res := compact(t, l)
	if res.PacksRewritten != 1 || res.BlobsMoved != 20 || res.BytesFreed <= 0 {
		t.Fatalf("Compact with half dead = %+v, want one pack rewritten, 20 blobs moved", res)
	}
	after := packFiles(t, dataDir)
	if len(after) != 1 || after[0] == before[0] {
		t.Fatalf("packs %v after compaction of %v, want one new pack", after, before)
	}
	checkReadable(t, l, datas[20:])
	checkGone(t, l, datas[:20])
	for _, d := range datas[20:] {
		if err := l.Verify(ctx, blobstoretest.HashOf(d)); err != nil {
			t.Fatal(err)
		}
	}
	// All dead: the pack goes.
	deleteAll(t, l, datas[20:])
	if res := compact(t, l); res.PacksDeleted != 1 {
		t.Fatalf("Compact with all dead = %+v, want one pack deleted", res)
	}
	if got := packFiles(t, dataDir); len(got) != 0 {
		t.Fatalf("packs %v left, want none", got)
	}
	// The store goes on working.
	more := putMany(t, l, 500, 3)
	checkReadable(t, l, more)
}

// TestCompactSkipsWritersPack: a pack whose writer (here another Local on
// the same directory, as another process would be) still holds it is not
// touched, even when all of it is dead, and its writer can go on
// appending.
func TestCompactSkipsWritersPack(t *testing.T) {
	writer, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	ctx := context.Background()
	datas := putMany(t, writer, 200, 10)
	pruner, err := blobstore.OpenLocal(filepath.Join(dataDir, "blobs"), blobstore.LocalOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pruner.Close()
	deleteAll(t, pruner, datas)
	if res := compact(t, pruner); res != (blobstore.CompactResult{}) {
		t.Fatalf("Compact of a pack in use = %+v, want nothing", res)
	}
	more := putMany(t, writer, 300, 5)
	checkReadable(t, pruner, more)
	if err := writer.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if res := compact(t, pruner); res.PacksRewritten != 1 || res.BlobsMoved != 5 {
		t.Fatalf("Compact after the writer sealed = %+v, want the pack rewritten with 5 blobs", res)
	}
	checkReadable(t, writer, more)
	checkGone(t, writer, datas)
}

// TestCompactStopsAtCorruption: a corrupt entry in a pack due for rewriting
// is reported by hash; the pack stays as it was and no new pack is left.
func TestCompactStopsAtCorruption(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	ctx := context.Background()
	datas := putMany(t, l, 400, 8)
	if err := l.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	deleteAll(t, l, datas[:4])
	victim := blobstoretest.HashOf(datas[6])
	loc, err := l.Locate(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(loc.Path)
	if err != nil {
		t.Fatal(err)
	}
	file[loc.Offset+loc.Length-6] ^= 0x40
	if err := os.Chmod(loc.Path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(loc.Path, file, 0o440); err != nil {
		t.Fatal(err)
	}
	before := packFiles(t, dataDir)
	_, err = l.Compact(ctx, nil)
	if !errors.Is(err, blobstore.ErrCorrupt) || !strings.Contains(err.Error(), victim.String()) {
		t.Fatalf("Compact = %v, want ErrCorrupt naming %s", err, victim)
	}
	if after := packFiles(t, dataDir); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("packs %v after a failed rewrite of %v", after, before)
	}
	checkReadable(t, l, [][]byte{datas[4], datas[5], datas[7]})
}

// TestCompactRemovesStrays: a pack file no index row names (a compaction
// that died after moving the rows) is removed; Sync-less blobs of a dead
// writer are never listed.
func TestCompactRemovesStrays(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{NoSync: true})
	datas := putMany(t, l, 600, 3)
	stray := filepath.Join(dataDir, "blobs", "packs", "00000000000000ff.pack")
	if err := os.WriteFile(stray, []byte("left by a dead compaction"), 0o440); err != nil {
		t.Fatal(err)
	}
	if res := compact(t, l); res.PacksDeleted != 1 {
		t.Fatalf("Compact = %+v, want the stray pack deleted", res)
	}
	if _, err := os.Stat(stray); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stray pack still there: %v", err)
	}
	checkReadable(t, l, datas)
}

// TestUnsyncedNotDurable: blobs put but never synced are not in the index a
// new process opens; synced ones are, without Seal.
func TestUnsyncedNotDurable(t *testing.T) {
	l, dataDir := newLocal(t, blobstore.LocalOptions{})
	ctx := context.Background()
	synced := putMany(t, l, 700, 2)
	lost := blobstoretest.Mail(800, 5000)
	if _, err := l.Put(ctx, bytes.NewReader(lost)); err != nil {
		t.Fatal(err)
	}
	other, err := blobstore.OpenLocal(filepath.Join(dataDir, "blobs"), blobstore.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	checkReadable(t, other, synced)
	checkGone(t, other, [][]byte{lost})
	if got := blobstoretest.ListAll(t, other); len(got) != 2 {
		t.Fatalf("another process lists %d blobs, want the 2 synced", len(got))
	}
}

// TestPrefetchedLocations: blobs looked up ahead read as before; a
// deleted one is gone whatever was looked up; a compaction that moved
// blobs after their look-up costs a retry, not a wrong or failed read.
func TestPrefetchedLocations(t *testing.T) {
	l, _ := newLocal(t, blobstore.LocalOptions{NoSync: true})
	ctx := context.Background()
	datas := putMany(t, l, 100, 40)
	if err := l.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	hashes := func(ds [][]byte) []blobstore.Hash {
		var hs []blobstore.Hash
		for _, d := range ds {
			hs = append(hs, blobstoretest.HashOf(d))
		}
		return append(hs, blobstoretest.HashOf([]byte("never stored")))
	}
	if err := l.Prefetch(ctx, hashes(datas)); err != nil {
		t.Fatal(err)
	}
	checkReadable(t, l, datas[:10])
	// Deleted after the look-up: gone.
	deleteAll(t, l, datas[10:30])
	checkGone(t, l, datas[10:30])
	// Looked up, then moved by a compaction (half dead): still read right.
	if err := l.Prefetch(ctx, hashes(datas[30:])); err != nil {
		t.Fatal(err)
	}
	if res := compact(t, l); res.PacksRewritten != 1 {
		t.Fatalf("Compact = %+v, want the pack rewritten", res)
	}
	checkReadable(t, l, datas[30:])
	for _, d := range datas[30:] {
		if err := l.Verify(ctx, blobstoretest.HashOf(d)); err != nil {
			t.Fatal(err)
		}
	}
}
