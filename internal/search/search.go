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
	"strings"
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
	// Parser parses the messages (shared with the webmail, so that both
	// together parse at most its workers at a time); default one worker.
	Parser *render.Guard
}

// IndexAll indexes every content not yet indexed and returns how many it
// indexed. A blob that cannot be read is indexed by its header summary.
func (ix *Indexer) IndexAll(ctx context.Context) (int, error) {
	parser := ix.Parser
	if parser == nil {
		parser = render.NewGuard(1, 0)
	}
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
			d, err := ix.doc(ctx, parser, u)
			if err != nil { // ctx ended: what is not indexed yet stays to do
				return total, err
			}
			docs = append(docs, d)
		}
		if err := ix.Catalog.AddSearchDocs(ctx, docs); err != nil {
			return total, err
		}
		total += len(docs)
		after = todo[len(todo)-1].ID
	}
}

// doc is u's document. A message that cannot be read or parsed is
// indexed by its header summary, said in the log, and not tried again; the
// error is ctx's only.
func (ix *Indexer) doc(ctx context.Context, parser *render.Guard, u catalog.Unindexed) (catalog.SearchDoc, error) {
	d := catalog.SearchDoc{ContentID: u.ID, Hash: u.Hash, From: u.From, To: u.To + " " + u.Cc, Subject: u.Subject}
	if u.Size > render.MaxParse {
		return d, nil
	}
	raw, err := ix.read(ctx, u.Hash)
	if err == nil {
		var m *render.Message
		if m, err = parser.Parse(ctx, raw); err == nil {
			if m.TooComplex {
				ix.warn("search index: body not indexed", u.Hash, strings.Join(m.Problems, "; "))
			}
			d.Body = render.SearchText(m)
			return d, nil
		}
	}
	if ctx.Err() != nil {
		return d, ctx.Err()
	}
	ix.warn("search index: reading message", u.Hash, err.Error())
	return d, nil
}

func (ix *Indexer) warn(msg string, h blobstore.Hash, why string) {
	if ix.Log != nil {
		ix.Log.Warn(msg, "hash", h.String(), "why", why)
	}
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
