// Package search fills the catalog's full-text index (table search_text,
// docs/workflows.md "Message lists and search"): it finds the contents that are
// not indexed yet, reads their blobs and hands the catalog the header
// summary and the decoded body text of each. The catalog answers the
// queries.
package search

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
	"mtm/internal/render"
)

// Catalog is what the indexer needs of the catalog.
type Catalog interface {
	catalog.Maintenance
}

// Blobs opens stored messages.
type Blobs interface {
	Open(ctx context.Context, h blobstore.Hash) (io.ReadCloser, error)
}

// Indexer indexes contents.
type Indexer struct {
	Catalog Catalog
	Blobs   Blobs
	Log     *slog.Logger
	Batch   int // contents per transaction; default 100
}

// IndexAll indexes every content not yet indexed and returns how many it
// indexed. A blob that cannot be read is indexed by its header summary.
func (ix *Indexer) IndexAll(ctx context.Context) (int, error) {
	batch := ix.Batch
	if batch <= 0 {
		batch = 100
	}
	var after int64
	total := 0
	for {
		todo, err := ix.Catalog.Unindexed(ctx, after, batch)
		if err != nil {
			return total, err
		}
		if len(todo) == 0 {
			return total, nil
		}
		docs := make([]catalog.SearchDoc, 0, len(todo))
		for _, u := range todo {
			docs = append(docs, ix.doc(ctx, u))
		}
		if err := ix.Catalog.AddSearchDocs(ctx, docs); err != nil {
			return total, err
		}
		total += len(docs)
		after = todo[len(todo)-1].ID
	}
}

func (ix *Indexer) doc(ctx context.Context, u catalog.Unindexed) catalog.SearchDoc {
	d := catalog.SearchDoc{ContentID: u.ID, Hash: u.Hash, From: u.From, To: u.To + " " + u.Cc, Subject: u.Subject}
	if u.Size > render.MaxParse {
		return d
	}
	raw, err := ix.read(ctx, u.Hash)
	if err != nil {
		if ix.Log != nil {
			ix.Log.Warn("search index: reading message", "hash", blobstore.Hash(u.Hash).String(), "err", err)
		}
		return d
	}
	d.Body = render.SearchText(raw)
	return d
}

func (ix *Indexer) read(ctx context.Context, h blobstore.Hash) ([]byte, error) {
	rc, err := ix.Blobs.Open(ctx, h)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(rc, render.MaxParse+1))
	return b, errors.Join(err, rc.Close())
}

// Run indexes at once and then every interval until ctx is done.
func (ix *Indexer) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		n, err := ix.IndexAll(ctx)
		if err != nil && ctx.Err() == nil && ix.Log != nil {
			ix.Log.Error("search index", "err", fmt.Errorf("indexing: %w", err))
		} else if n > 0 && ix.Log != nil {
			ix.Log.Info("search index", "indexed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
