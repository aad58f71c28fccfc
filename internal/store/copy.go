package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"mtm/internal/catalog"
	"mtm/internal/clock"
	"mtm/internal/search"
)

// CopyOptions say which embedded catalog goes into which PostgreSQL
// database.
type CopyOptions struct {
	From           string // the data directory whose catalog.db is copied
	To             string // the PostgreSQL catalog's URL
	MaxConnections int
	Clock          clock.Clock
	// Progress, if set, is told of every chunk of rows copied.
	Progress func(catalog.CopyProgress)
}

// CopyResult sums up a copy.
type CopyResult struct {
	catalog.CopyStats
	Indexed int // contents put in the target's search index
}

// CopyCatalog copies the embedded catalog of the data directory From into
// the PostgreSQL catalog To (docs/design.md, "Moving a catalog to
// PostgreSQL"): it migrates the target, copies every row, then rebuilds
// the search index from the data directory's blobs, which stay where they
// are. The target must be new, or hold an interrupted copy, which is
// started over.
func CopyCatalog(ctx context.Context, o CopyOptions) (CopyResult, error) {
	var res CopyResult
	path := filepath.Join(o.From, "catalog.db")
	if _, err := os.Stat(path); err != nil {
		return res, fmt.Errorf("catalog copy: no embedded catalog in %s: %w", o.From, err)
	}
	src, err := catalog.Open(ctx, path, catalog.Options{Clock: o.Clock, Migrate: catalog.MigrateOnOpen})
	if err != nil {
		return res, err
	}
	defer src.Close() //nolint:errcheck // read only
	dst, err := catalog.OpenPostgres(ctx, o.To, o.MaxConnections,
		catalog.Options{Clock: o.Clock, Migrate: catalog.MigrateOnOpen, CopyTarget: true})
	if err != nil {
		return res, err
	}
	res.CopyStats, err = src.CopyInto(ctx, dst, o.Progress)
	if err = errors.Join(err, dst.Close()); err != nil {
		return res, err
	}
	st, err := Open(ctx, Options{DataDir: o.From, Clock: o.Clock, CatalogURL: o.To, MaxConnections: o.MaxConnections,
		Migrate: catalog.RefusePending})
	if err != nil {
		return res, err
	}
	res.Indexed, err = (&search.Indexer{Catalog: st.Catalog, Blobs: st.Blobs}).IndexAll(ctx)
	return res, errors.Join(err, st.Close())
}
