package store

import (
	"context"
	"errors"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// BlobIndex is the index the S3 blob store asks for, kept by the catalog
// (its BlobIndex role) in the database every node shares.
func BlobIndex(c catalog.BlobIndex) blobstore.S3Index { return blobIndex{c} }

type blobIndex struct{ c catalog.BlobIndex }

func (b blobIndex) NewPack(ctx context.Context) (int64, error) { return b.c.NewBlobPack(ctx) }

func (b blobIndex) Commit(ctx context.Context, pack, size int64, entries []blobstore.S3Entry) error {
	return b.c.CommitBlobs(ctx, pack, size, toCatalog(entries))
}

func toCatalog(es []blobstore.S3Entry) []catalog.BlobEntry {
	rows := make([]catalog.BlobEntry, len(es))
	for i, e := range es {
		rows[i] = catalog.BlobEntry{Hash: e.Hash, Pack: e.Pack, Offset: e.Offset, Length: e.Length, Size: e.Size}
	}
	return rows
}

func (b blobIndex) Locate(ctx context.Context, h blobstore.Hash) (blobstore.S3Entry, error) {
	e, err := b.c.LocateBlob(ctx, h)
	if errors.Is(err, catalog.ErrNotFound) {
		return blobstore.S3Entry{}, blobstore.ErrNotFound
	}
	return fromCatalog(e), err
}

func (b blobIndex) LocateMany(ctx context.Context, hs []blobstore.Hash) (map[blobstore.Hash]blobstore.S3Entry, error) {
	keys := make([][32]byte, len(hs))
	for i, h := range hs {
		keys[i] = h
	}
	found, err := b.c.LocateBlobs(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[blobstore.Hash]blobstore.S3Entry, len(found))
	for h, e := range found {
		out[h] = fromCatalog(e)
	}
	return out, nil
}

func fromCatalog(e catalog.BlobEntry) blobstore.S3Entry {
	return blobstore.S3Entry{Hash: e.Hash, Pack: e.Pack, Offset: e.Offset, Length: e.Length, Size: e.Size}
}

func (b blobIndex) Delete(ctx context.Context, h blobstore.Hash) (bool, error) {
	return b.c.DeleteBlob(ctx, h)
}

func (b blobIndex) RetirePacks(ctx context.Context, staleBefore time.Time) (int, error) {
	return b.c.RetireBlobPacks(ctx, staleBefore)
}

func (b blobIndex) RetiredPacks(ctx context.Context, before time.Time) ([]int64, error) {
	return b.c.RetiredBlobPacks(ctx, before)
}

func (b blobIndex) DropPack(ctx context.Context, id int64) error { return b.c.DropBlobPack(ctx, id) }

func (b blobIndex) Usage(ctx context.Context, fn func(id, size, live, entries int64) error) error {
	return b.c.BlobPackUsage(ctx, fn)
}

func (b blobIndex) PackEntries(ctx context.Context, id int64) ([]blobstore.S3Entry, error) {
	es, err := b.c.PackBlobs(ctx, id)
	out := make([]blobstore.S3Entry, len(es))
	for i, e := range es {
		out[i] = fromCatalog(e)
	}
	return out, err
}

func (b blobIndex) Move(ctx context.Context, pack, size int64, moved []blobstore.S3Entry) error {
	return b.c.MoveBlobs(ctx, pack, size, toCatalog(moved))
}

func (b blobIndex) Packs(ctx context.Context, fn func(id int64, state string) error) error {
	return b.c.BlobPacks(ctx, fn)
}

func (b blobIndex) List(ctx context.Context, fn func(blobstore.S3Entry) error) error {
	return b.c.ListBlobs(ctx, func(e catalog.BlobEntry) error { return fn(fromCatalog(e)) })
}
