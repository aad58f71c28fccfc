// Package checker owns the integrity check of a data directory: that the
// catalog keeps the invariants of docs/design.md, that every blob the
// catalog names exists with the size the catalog records, and, when asked
// to read data, that blobs decompress to bytes of their hash.
//
// The checker only reads. It reports every problem it finds, not just the
// first, so an operator sees the whole damage at once.
package checker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// Catalog is what the checker needs of the catalog.
type Catalog interface {
	catalog.Maintenance
}

// Blobs is what the checker needs of the blob store.
type Blobs interface {
	Stat(ctx context.Context, h blobstore.Hash) (blobstore.Info, error)
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

// Options say how much to check.
type Options struct {
	// ReadDataPercent is the share of referenced blobs, 0 to 100, that are
	// read back, decompressed and re-hashed. Which blobs are read is
	// decided by their hash, so repeated runs with the same percentage read
	// the same blobs and runs with 100 read all.
	ReadDataPercent int
}

// Report is what a check found.
type Report struct {
	Problems     []string
	Contents     int64 // contents rows checked
	Referenced   int64 // of those, referenced by a message version or staging
	BlobBytes    int64 // raw bytes of the referenced blobs
	BlobsRead    int64 // blobs read back and re-hashed
	BytesRead    int64
	Unreferenced int64 // contents rows no version names (prune frees them)
	// Objects in the bucket that no index row names (S3 stores only):
	// left by a writer that died, or waiting for their grace period;
	// prune removes them. Not problems; the first few keys are listed.
	UnindexedObjects, UnindexedBytes int64
	UnindexedKeys                    []string
}

// Unindexed is what the checker asks of a blob store that keeps its
// objects where its index does not list them (S3): the objects no index
// row names.
type Unindexed interface {
	Unindexed(ctx context.Context, fn func(key string, size int64, age time.Duration) error) error
}

// OK tells whether the check found no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Check checks the catalog and the blob store.
func Check(ctx context.Context, cat Catalog, blobs Blobs, opts Options) (*Report, error) {
	rep := &Report{}
	found, err := cat.Inconsistencies(ctx)
	if err != nil {
		return nil, err
	}
	rep.Problems = append(rep.Problems, found...)
	err = cat.Contents(ctx, func(c catalog.StoredContent) error {
		rep.Contents++
		if !c.Referenced {
			rep.Unreferenced++
		} else {
			rep.Referenced++
			rep.BlobBytes += c.Size
		}
		return checkBlob(ctx, blobs, c, opts, rep)
	})
	if err != nil {
		return nil, fmt.Errorf("checking blobs: %w", err)
	}
	if u, ok := blobs.(Unindexed); ok {
		err := u.Unindexed(ctx, func(key string, size int64, age time.Duration) error {
			rep.UnindexedObjects++
			rep.UnindexedBytes += size
			if len(rep.UnindexedKeys) < 10 {
				rep.UnindexedKeys = append(rep.UnindexedKeys, fmt.Sprintf("%s (%s old)", key, age.Round(time.Second)))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing the objects of the blob store: %w", err)
		}
	}
	return rep, nil
}

// checkBlob checks the blob of one contents row. Problems go to the report;
// only failures to check at all are returned.
func checkBlob(ctx context.Context, blobs Blobs, c catalog.StoredContent, opts Options, rep *Report) error {
	h := blobstore.Hash(c.Hash)
	info, err := blobs.Stat(ctx, h)
	switch {
	case errors.Is(err, blobstore.ErrNotFound):
		rep.Problems = append(rep.Problems, fmt.Sprintf("blob %s of content %d is missing", h, c.ID))
		return nil
	case errors.Is(err, blobstore.ErrCorrupt):
		rep.Problems = append(rep.Problems, fmt.Sprintf("blob %s of content %d: %v", h, c.ID, err))
		return nil
	case err != nil:
		return err
	}
	if info.Size >= 0 && info.Size != c.Size {
		rep.Problems = append(rep.Problems, fmt.Sprintf("blob %s of content %d holds %d bytes, the catalog says %d",
			h, c.ID, info.Size, c.Size))
		return nil
	}
	if !selected(h, opts.ReadDataPercent) {
		return nil
	}
	n, err := readBack(ctx, blobs, h)
	rep.BlobsRead++
	rep.BytesRead += n
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rep.Problems = append(rep.Problems, fmt.Sprintf("blob %s of content %d: %v", h, c.ID, err))
	}
	return nil
}

// selected picks percent of all hashes, by the hash's first two bytes.
func selected(h blobstore.Hash, percent int) bool {
	if percent <= 0 {
		return false
	}
	return (int(h[0])<<8|int(h[1]))*100 < percent*65536
}

// readBack reads a whole blob; the blob store's reader checks size and hash
// at EOF.
func readBack(ctx context.Context, blobs Blobs, h blobstore.Hash) (int64, error) {
	rc, err := blobs.Open(ctx, h)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, rc)
	return n, errors.Join(err, rc.Close())
}
