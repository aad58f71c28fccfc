package store

import (
	"context"
	"errors"
	"fmt"

	"mtm/internal/blobstore"
)

// BlobsCopyOptions say where the local blob store of a data directory goes.
type BlobsCopyOptions struct {
	Store Options // the data directory, its catalog; S3 is the target
	Every int     // blobs between two Syncs of the target; default 500
	// Progress, if set, is told after every Sync: blobs copied, blobs that
	// were there already, blobs listed so far.
	Progress func(copied, present, seen int64)
}

// BlobsCopyResult sums up a copy.
type BlobsCopyResult struct {
	Copied, Present int64 // blobs uploaded now; blobs the target had already
	Bytes           int64 // raw bytes copied
}

// CopyBlobs copies the local blob store of a data directory into the S3
// store of o.Store.S3, its index in the data directory's catalog (docs/
// design.md, "The blob store on S3"). It is resumable: a blob the target
// already indexes is skipped, so a copy run again after an interruption
// copies what is left; what an interrupted run uploaded without indexing
// is named by no row and is removed by prune. The local store is only
// read.
func CopyBlobs(ctx context.Context, o BlobsCopyOptions) (BlobsCopyResult, error) {
	var res BlobsCopyResult
	if o.Every <= 0 {
		o.Every = 500
	}
	target := o.Store.S3
	local := o.Store
	local.S3 = S3Options{}
	src, err := Open(ctx, local)
	if err != nil {
		return res, err
	}
	defer src.Close() //nolint:errcheck // read only
	dst, err := openS3(ctx, Options{DataDir: o.Store.DataDir, S3: target, Clock: o.Store.Clock}, src.Catalog)
	if err != nil {
		return res, err
	}
	var seen int64
	pending := 0
	sync := func() error {
		if err := dst.Sync(ctx); err != nil {
			return err
		}
		pending = 0
		if o.Progress != nil {
			o.Progress(res.Copied, res.Present, seen)
		}
		return nil
	}
	err = src.Blobs.List(ctx, func(info blobstore.Info) error {
		seen++
		if ok, err := dst.Has(ctx, info.Hash); err != nil || ok {
			if ok {
				res.Present++
			}
			return err
		}
		r, err := src.Blobs.Open(ctx, info.Hash)
		if err != nil {
			return err
		}
		put, err := dst.Put(ctx, r)
		if cerr := r.Close(); err == nil && cerr != nil {
			err = cerr // the reader checks size and hash at EOF
		}
		if err != nil {
			return fmt.Errorf("blob %s: %w", info.Hash, err)
		}
		if put.Hash != info.Hash {
			return fmt.Errorf("blob %s: read back as %s", info.Hash, put.Hash)
		}
		res.Copied++
		res.Bytes += put.Size
		if pending++; pending >= o.Every {
			return sync()
		}
		return nil
	})
	if err == nil {
		err = sync()
	}
	return res, errors.Join(err, dst.Close())
}
