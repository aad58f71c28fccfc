package blobstore_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/blobstore/blobstoretest"
	"mtm/internal/clock"
)

// openPacks lists the pack files this process has open, by the paths
// /proc gives (a removed file ends in " (deleted)").
func openPacks(t *testing.T, dataDir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	packs := filepath.Join(dataDir, "blobs", "packs") + string(filepath.Separator)
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, packs) {
			out = append(out, strings.TrimPrefix(target, packs))
		}
	}
	return out
}

// TestPacksKeptOpen: reads keep the packs read last open, at most 16 of
// them; a pack this store compacts away is closed; one another process
// compacts away is closed after 30 s unused; a pack id reused after a
// compaction by another process reads the new pack, not the old file.
func TestPacksKeptOpen(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	opts := blobstore.LocalOptions{NoSync: true, Clock: clk}
	l, dataDir := newLocal(t, opts)
	ctx := context.Background()
	seal := func(l *blobstore.Local) {
		t.Helper()
		if err := l.Seal(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 20 packs of 3 blobs each.
	var packs [][][]byte
	for i := range 20 {
		packs = append(packs, putMany(t, l, 1000+10*i, 3))
		seal(l)
	}
	for _, p := range packs {
		checkReadable(t, l, p)
	}
	if open := openPacks(t, dataDir); len(open) != 16 {
		t.Fatalf("after reading 20 packs, open: %q, want 16", open)
	}

	// Compacted away here: closed at once.
	deleteAll(t, l, packs[19])
	compact(t, l)
	for _, name := range openPacks(t, dataDir) {
		if strings.HasSuffix(name, "(deleted)") {
			t.Fatalf("a pack this store compacted away is still open: %s", name)
		}
	}
	checkGone(t, l, packs[19])

	// Compacted away by another process: the file stays valid while open,
	// is closed once unused for 30 s, and its id, reused by the other
	// process's next pack, reads that pack.
	other, err := blobstore.OpenLocal(filepath.Join(dataDir, "blobs"), opts)
	if err != nil {
		t.Fatal(err)
	}
	last := putMany(t, other, 5000, 3)
	seal(other)
	checkReadable(t, l, last[:1]) // l opens the newest pack
	before, err := l.Locate(ctx, blobstoretest.HashOf(last[0]))
	if err != nil {
		t.Fatal(err)
	}
	deleteAll(t, other, last)
	if res := compact(t, other); res.PacksDeleted != 1 {
		t.Fatalf("other's Compact = %+v, want the newest pack deleted", res)
	}
	reused := putMany(t, other, 6000, 3) // in a pack with the same id
	seal(other)
	if after, err := l.Locate(ctx, blobstoretest.HashOf(reused[0])); err != nil || after.Path != before.Path {
		t.Fatalf("new pack %+v, %v; want the id of the pack compacted away, %s", after, err, before.Path)
	}
	checkReadable(t, l, reused)
	checkReadable(t, l, packs[0])
	clk.Advance(31 * time.Second)
	checkReadable(t, l, packs[1]) // any read closes what is idle
	for _, name := range openPacks(t, dataDir) {
		if strings.HasSuffix(name, "(deleted)") {
			t.Fatalf("a pack compacted away elsewhere is open after 30 s unused: %s", name)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if open := openPacks(t, dataDir); len(open) != 0 {
		t.Fatalf("after Close, open: %q", open)
	}
}
