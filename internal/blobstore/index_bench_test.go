package blobstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"path/filepath"
	"slices"
	"testing"
)

// BenchmarkIndexLookups looks 20,000 of 200,000 indexed blobs up, one
// query each (find, as Open without Prefetch), all at once (findMany, as
// Prefetch) and 32 at a time (findMany32, as a snapshot's PutAll of a
// batch); "ns/hash" is the cost of one blob.
//
//	go test -run '^$' -bench IndexLookups -benchtime 5x ./internal/blobstore
func BenchmarkIndexLookups(b *testing.B) {
	ctx := context.Background()
	ix, err := openIndex(ctx, filepath.Join(b.TempDir(), "index.db"), true)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.close()
	if _, err := ix.db.ExecContext(ctx, `INSERT INTO packs(id, created_at) VALUES(1, 0)`); err != nil {
		b.Fatal(err)
	}
	var batch []indexed
	var hs []Hash
	for i := range 200000 {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(i))
		h := Hash(sha256.Sum256(n[:]))
		batch = append(batch, indexed{hash: h, loc: location{pack: 1, offset: int64(i) * 100, length: 100, size: 200}})
		if i%10 == 0 {
			hs = append(hs, h)
		}
	}
	if err := ix.insert(ctx, batch); err != nil {
		b.Fatal(err)
	}
	perHash := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(hs)), "ns/hash")
	}
	b.Run("find", func(b *testing.B) {
		for b.Loop() {
			for _, h := range hs {
				if _, ok, err := ix.find(ctx, h); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		}
		perHash(b)
	})
	b.Run("findMany", func(b *testing.B) {
		for b.Loop() {
			if locs, err := ix.findMany(ctx, hs); err != nil || len(locs) != len(hs) {
				b.Fatal(len(locs), err)
			}
		}
		perHash(b)
	})
	b.Run("findMany32", func(b *testing.B) {
		for b.Loop() {
			for batch := range slices.Chunk(hs, 32) {
				if locs, err := ix.findMany(ctx, batch); err != nil || len(locs) != len(batch) {
					b.Fatal(len(locs), err)
				}
			}
		}
		perHash(b)
	})
}
